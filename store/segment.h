#ifndef SK_STORE_SEGMENT_H
#define SK_STORE_SEGMENT_H

/* Private to store/: the Raft log on disk, as segment files
 * DATADIR/log/<first index, 20 digits>.seg. The file format, validity
 * rules and fsync order are documented at the top of segment.c.
 *
 * The log stores opaque entries (term, index, type, payload); it knows
 * nothing about Raft beyond "indexes are consecutive and terms never go
 * down". Durability is explicit: segment_log_append() only writes,
 * segment_log_sync() makes everything appended so far durable, so the
 * driver can group-commit many appends under one fdatasync. An entry may
 * be acknowledged (to a leader, or as committed) only after the sync that
 * follows its append returned 0.
 *
 * Not thread-safe: one thread drives a log (it may be an I/O thread of
 * its own). Once a write or sync fails the log refuses further changes:
 * after a failed fsync the kernel may already have dropped the dirty
 * pages, so a retried fsync could "succeed" without the data on disk
 * (the PostgreSQL "fsyncgate" lesson). Reopen the log to recover. */

#include "lib/err.h"

#include <stddef.h>
#include <stdint.h>

#define SEGMENT_DEFAULT_SIZE (64u << 20)
/* Largest payload of one entry. */
#define SEGMENT_MAX_PAYLOAD   (256u << 20)
#define SEGMENT_HEADER_SIZE   32
#define SEGMENT_RECORD_HEADER 25

/* One log entry. Entries handed to segment_log_append() are borrowed; in
 * a struct segment_batch, data points into the batch's buffer. */
struct segment_entry {
    uint64_t term;
    uint64_t index;
    uint8_t type;
    const void *data;
    uint32_t len;
};

/* Entries read from the log; owns the payload memory. */
struct segment_batch {
    struct segment_entry *ents;
    size_t n;
    char *buf;
};

#define SEGMENT_BATCH_INIT                                                                         \
    {                                                                                              \
        NULL, 0, NULL                                                                              \
    }

void segment_batch_release(struct segment_batch *batch);

struct segment_log_opts {
    uint64_t segment_size; /* roll past this many bytes; 0: SEGMENT_DEFAULT_SIZE */
};

struct segment_log;

/* Open (creating if missing) DATADIR/log, take an exclusive flock(2) on
 * it, and recover: every segment is scanned and checked. A torn record at
 * the tail of the last segment is cut off (logged as a warning with file
 * and offset); any other damage (bad record elsewhere, gaps, indexes or
 * terms going backwards) fails with an error naming the file and offset,
 * and nothing is changed on disk. opts may be NULL. */
int segment_log_open(struct segment_log **out, const char *datadir,
                     const struct segment_log_opts *opts, struct sk_err *err);

/* Close everything (without syncing) and free; NULL is allowed. */
void segment_log_free(struct segment_log *log);

/* Index of the first entry held (or, when empty, of the next one to be
 * appended), and of the last entry held (first - 1 when empty). An empty
 * log that has no segment file at all accepts any first index. */
uint64_t segment_log_first_index(const struct segment_log *log);
uint64_t segment_log_last_index(const struct segment_log *log);
/* Term of the last entry, 0 when empty. */
uint64_t segment_log_last_term(const struct segment_log *log);
/* Number of segment files (for tests and status). */
size_t segment_log_nsegments(const struct segment_log *log);
/* Bytes of the records with index in [lo, hi) that the log holds
 * (record headers included; from memory, no I/O). Indexes outside the
 * log count nothing. */
uint64_t segment_log_bytes(const struct segment_log *log, uint64_t lo, uint64_t hi);

/* Term of the entry at index (from memory, no I/O). Fails with ENOENT if
 * index is not in [first, last]. */
int segment_log_term(const struct segment_log *log, uint64_t index, uint64_t *term,
                     struct sk_err *err);

/* Append n entries with one write(2). ents[0].index must be last + 1 and
 * indexes consecutive, terms must not decrease. Not durable until
 * segment_log_sync(). Rolls to a new segment first when the batch would
 * take the current one past the size limit. */
int segment_log_append(struct segment_log *log, const struct segment_entry *ents, size_t n,
                       struct sk_err *err);

/* fdatasync everything appended since the last sync (a no-op when
 * nothing was). */
int segment_log_sync(struct segment_log *log, struct sk_err *err);

/* Read entries [lo, hi) into batch (released first), checking each
 * record's crc. With max_bytes > 0, stop before the total of
 * (25 + payload length) passes max_bytes, but always return at least one
 * entry. Fails with ENOENT if lo < first or hi > last + 1. */
int segment_log_read(struct segment_log *log, uint64_t lo, uint64_t hi, uint64_t max_bytes,
                     struct segment_batch *batch, struct sk_err *err);

/* Raft conflict (§5.3): remove every entry after last_kept, durably.
 * Later segments are deleted, the one holding last_kept is cut. A no-op
 * when last_kept >= last; EINVAL when last_kept < first - 1. */
int segment_log_truncate_suffix(struct segment_log *log, uint64_t last_kept, struct sk_err *err);

/* Compaction behind a snapshot (§7): delete whole segments whose entries
 * are all before index. Never deletes the last segment, so the log may
 * keep entries before index. */
int segment_log_drop_prefix(struct segment_log *log, uint64_t index, struct sk_err *err);

/* Discard the whole log and make next_index the next index to append
 * (InstallSnapshot whose last entry conflicts with the log, §7). Leaves
 * one empty segment starting at next_index. */
int segment_log_reset(struct segment_log *log, uint64_t next_index, struct sk_err *err);

/* ---- scanning, shared by recovery and store/tool.c ---- */

/* Called for every valid record; a negative return stops the scan. */
typedef int (*segment_record_fn)(void *arg, uint64_t offset, const struct segment_entry *ent,
                                 struct sk_err *err);

struct segment_scan {
    /* in */
    const char *path;     /* for messages */
    int fd;               /* open for reading */
    uint64_t first_index; /* from the file name; the header must agree */
    uint64_t min_term;    /* last term of the previous segment (0 if none) */
    int last;             /* the newest segment: a bad tail may be torn */
    segment_record_fn fn; /* may be NULL */
    void *arg;
    /* out */
    uint64_t file_size;
    uint64_t count;     /* valid records */
    uint64_t last_term; /* term of the last valid record (min_term if none) */
    uint64_t end;       /* offset just past the last valid record */
    int torn;           /* bad record at `end` is a torn tail (last segment only) */
    char torn_why[128]; /* what was wrong with it */
};

/* Check the header and every record of one segment file. Returns 0 when
 * the file is valid up to sc->end; then either end == file_size, or
 * sc->torn is set and the caller may cut the file at end. Any other
 * damage fails with "record at offset N: what" (the caller adds the
 * file name). Reads only. */
int segment_scan_file(struct segment_scan *sc, struct sk_err *err);

/* Sorted first indexes of the "<20 digits>.seg" files in logdir. Other
 * names are skipped (a "*.seg.tmp" is a crashed segment creation). */
int segment_dir_list(const char *logdir, uint64_t **firsts, size_t *n, struct sk_err *err);

/* "logdir/<20 digits>.seg"; free() the result. */
char *segment_path(const char *logdir, uint64_t first_index);

#endif
