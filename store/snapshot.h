#ifndef SK_STORE_SNAPSHOT_H
#define SK_STORE_SNAPSHOT_H

/* Snapshot files DATADIR/snap/<term>-<index>.snap (Raft §7): a header
 * with the last included term and index and the membership
 * configuration, an opaque payload (the state machine, see
 * mvcc_snapshot_save), and a trailing crc32c. The format and fsync order
 * are documented at the top of snapshot.c.
 *
 * Writing streams: begin / write... / commit (or abort), because a
 * follower receives InstallSnapshot in chunks and the state machine is
 * serialized piece by piece. Nothing is visible under the final name
 * until commit has made the whole file durable. */

#include "lib/err.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SNAPSHOT_KEEP_DEFAULT 2
/* Largest membership configuration blob. */
#define SNAPSHOT_CONF_MAX (1u << 20)

/* Flags for snapshot_open / snapshot_open_newest. */
enum {
    /* Check header, configuration and size only; the payload crc is then
     * checked when the payload has been read sequentially to its end. */
    SNAPSHOT_NO_VERIFY = 1,
    /* For recovery tools: when the newest snapshot is damaged, log a
     * warning naming it and fall back to the next older one. */
    SNAPSHOT_SKIP_INVALID = 2,
};

struct snapshot_info {
    uint64_t term;
    uint64_t index;
    uint64_t payload_len;
    const void *conf; /* membership configuration, owned by the reader */
    uint32_t conf_len;
    const char *path;
};

/* Flags for snapshot_writer_open. */
enum {
    /* Write over the oldest kept snapshot's file when there are
     * SNAPSHOT_KEEP_DEFAULT or more, instead of a new file (it is
     * removed at begin; see RECYCLING in snapshot.c). Only when nothing
     * reads that snapshot meanwhile. */
    SNAPSHOT_WRITE_RECYCLE = 1,
    /* Pause after each chunk of writeback as long as waiting for it
     * took (see WRITEBACK in snapshot.c): for a writer that may sleep,
     * never the event loop. */
    SNAPSHOT_WRITE_PACED = 2,
};

struct snapshot_id {
    uint64_t term;
    uint64_t index;
};

struct snapshot_writer;
struct snapshot_reader;

/* Start writing the snapshot (term, index) with configuration conf (may
 * be NULL when conf_len is 0) into a temporary file. */
int snapshot_writer_begin(struct snapshot_writer **out, const char *datadir, uint64_t term,
                          uint64_t index, const void *conf, size_t conf_len, struct sk_err *err);
/* snapshot_writer_begin with SNAPSHOT_WRITE_* flags. */
int snapshot_writer_open(struct snapshot_writer **out, const char *datadir, uint64_t term,
                         uint64_t index, const void *conf, size_t conf_len, unsigned flags,
                         struct sk_err *err);
/* Append payload bytes. */
int snapshot_writer_write(struct snapshot_writer *w, const void *buf, size_t len,
                          struct sk_err *err);
/* Payload bytes written so far (to check InstallSnapshot chunk offsets). */
uint64_t snapshot_writer_size(const struct snapshot_writer *w);
/* Finish: header, trailer, fsync, rename into place, fsync snap/. Frees
 * w whatever the outcome; on failure the temporary file is removed. */
int snapshot_writer_commit(struct snapshot_writer *w, struct sk_err *err);
/* Drop an unfinished snapshot (removes the temporary file); frees w.
 * NULL is allowed. */
void snapshot_writer_abort(struct snapshot_writer *w);
/* snapshot_writer_write with a void * first argument, to hand to
 * mvcc_snapshot_save as its sink. */
int snapshot_writer_sink(void *w, const void *buf, size_t len, struct sk_err *err);

/* The snapshots in DATADIR/snap, oldest first (by term, then index, the
 * order of their names). A missing directory is an empty list. */
int snapshot_list(const char *datadir, struct snapshot_id **ids, size_t *n, struct sk_err *err);

/* Open a snapshot file and check it (the whole file, including the
 * payload crc, unless SNAPSHOT_NO_VERIFY). Errors name the file and the
 * offset of what is wrong. */
int snapshot_open(struct snapshot_reader **out, const char *path, unsigned flags,
                  struct sk_err *err);
/* Open the newest snapshot of DATADIR. Returns 1 when one was opened, 0
 * when there is none, <0 when the newest one is damaged (naming it) —
 * unless SNAPSHOT_SKIP_INVALID is given. */
int snapshot_open_newest(struct snapshot_reader **out, const char *datadir, unsigned flags,
                         struct sk_err *err);
const struct snapshot_info *snapshot_reader_info(const struct snapshot_reader *r);
/* Read the payload sequentially; returns bytes read, 0 at the end. When
 * the end is reached the trailer crc is checked against everything read
 * (an error then means the payload must be thrown away). */
ssize_t snapshot_reader_read(struct snapshot_reader *r, void *buf, size_t len, struct sk_err *err);
/* snapshot_reader_read with a void * first argument, to hand to
 * mvcc_snapshot_restore as its source. */
ssize_t snapshot_reader_source(void *r, void *buf, size_t len, struct sk_err *err);
/* Read payload bytes at offset off (a leader sending chunks); no crc. */
ssize_t snapshot_reader_pread(struct snapshot_reader *r, void *buf, size_t len, uint64_t off,
                              struct sk_err *err);
void snapshot_reader_free(struct snapshot_reader *r);

/* Delete all but the newest keep snapshots (0: SNAPSHOT_KEEP_DEFAULT). */
int snapshot_retain(const char *datadir, size_t keep, struct sk_err *err);
/* Remove temporary files left by writers interrupted by a crash; call at
 * start-up, before any writer begins. */
int snapshot_remove_tmp(const char *datadir, struct sk_err *err);

/* "DATADIR/snap/<term>-<index>.snap"; free() the result. */
char *snapshot_path(const char *datadir, uint64_t term, uint64_t index);

#endif
