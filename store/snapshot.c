/* Snapshot files (API in snapshot.h).
 *
 * FILES
 *
 *   DATADIR/snap/<T>-<I>.snap      T = last included term, I = last
 *                                  included index, both 20 decimal
 *                                  digits, zero-padded so that names sort
 *                                  in (term, index) order, which for
 *                                  snapshots of one Raft log is also
 *                                  index order
 *   DATADIR/snap/<T>-<I>.snap.tmp  being written; never read
 *
 * FORMAT (little-endian)
 *
 *   offset      size  field
 *        0         8  magic "SKFSNAP\0"
 *        8         4  format version, 1
 *       12         4  conf_len, at most 1 MiB
 *       16         8  term of the last included entry
 *       24         8  index of the last included entry
 *       32         8  payload_len
 *       40         4  header crc: crc32c of bytes 0..39 then the conf blob
 *       44         4  reserved, 0
 *       48  conf_len  membership configuration (opaque here)
 *       48+c   pay..  payload (opaque here: the state machine)
 *     size-4       4  crc32c of every byte before it
 *
 * VALIDITY: the file size must be exactly 48 + conf_len + payload_len + 4,
 * both crcs must match, term and index must match the file name. The
 * header crc lets a listing trust term, index and configuration without
 * reading the payload; the trailer covers everything.
 *
 * WRITE AND FSYNC ORDER: (1) the header (with payload_len 0) and conf
 * are written to <name>.tmp, then the payload as it streams in; (2) at
 * commit the final header is written over the first one and the trailer
 * appended; its crc is crc32c_combine(crc(final header || conf),
 * crc(payload), payload_len), so the payload is never read back;
 * (3) fsync the file; (4) rename to <name>; (5) fsync snap/. Only after
 * (5) may the log be compacted behind the snapshot.
 *
 * WRITEBACK. A snapshot of a large state is tens of MiB. Left to the
 * final fsync, all of it would be allocated and written at once; on
 * ext4 (data=ordered) the journal commit that carries the Raft log's
 * next fdatasync must then wait for those data blocks, and the log's
 * latency jumps by the time the disk needs for the whole file. So the
 * writer starts writeback every SNAP_SYNC_CHUNK bytes
 * (sync_file_range(2) SYNC_FILE_RANGE_WRITE) and waits for the chunk
 * before it (WAIT_BEFORE | WRITE | WAIT_AFTER): at most two chunks are
 * in flight, the writer goes at the disk's pace, and the final fsync has
 * little left to flush. A paced writer (SNAPSHOT_WRITE_PACED) then
 * pauses as long as that wait took: on an idle disk the wait is nil and
 * so is the pause, on a busy one the writer leaves the disk idle for
 * other I/O at least half the time it keeps it busy, and a log
 * fdatasync queues behind at most two chunks of it. The written pages are dropped from the page
 * cache (posix_fadvise DONTNEED): nothing reads them back soon. None of
 * this replaces step (3): sync_file_range makes nothing durable (no
 * metadata, no disk cache flush).
 *
 * RECYCLING (SNAPSHOT_WRITE_RECYCLE). Once the new snapshot is
 * committed, the oldest of SNAPSHOT_KEEP_DEFAULT kept ones is deleted.
 * Deleting a file of tens of MiB and allocating as many again for the
 * next one both go through the journal (block bitmaps, extents; with
 * the "discard" mount option also a TRIM of every freed extent before
 * the commit completes), and a freshly allocated file is written back
 * under data=ordered by the very journal commit the log's fdatasync
 * waits for. So a writer asked to recycle renames that oldest snapshot
 * to its temporary name at begin and writes over its blocks in place;
 * commit cuts the file to its new size (ftruncate) before the fsync.
 * The old snapshot is gone from begin on instead of from commit on,
 * which loses nothing: it is older than the newest one, which the log
 * was compacted behind and which stays. The caller must know that
 * nobody reads the oldest snapshot meanwhile (a leader streaming it to
 * a follower). A crash leaves only a <name>.snap.tmp, removed at start.
 *
 * A damaged newest snapshot is an error, not a silent fall back to an
 * older one: the log behind it may already have been compacted, so an
 * older snapshot plus the log may no longer reach the committed state.
 * Recovery tools can ask to skip it explicitly (SNAPSHOT_SKIP_INVALID). */
#include "snapshot.h"
#include "crc32c.h"
#include "io.h"
#include "lib/alloc.h"
#include "lib/clock.h"
#include "lib/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SNAP_MAGIC        "SKFSNAP" /* with its NUL: 8 bytes */
#define SNAP_VERSION      1
#define SNAP_HEADER       48
#define SNAP_DIGITS       20
#define SNAP_WBUF         (256u << 10)
#define SNAP_VERIFY_CHUNK (1u << 20)
/* Writeback is started every SNAP_SYNC_CHUNK bytes (see WRITEBACK); a
 * paced writer pauses at most SNAP_PACE_MAX_NS after each chunk. */
#define SNAP_SYNC_CHUNK  (1u << 20)
#define SNAP_PACE_MAX_NS (100 * 1000000ll)

struct snapshot_writer {
    char *dir;
    char *path;
    char *tmp;
    int fd;
    uint64_t term;
    uint64_t index;
    unsigned char *conf;
    uint32_t conf_len;
    uint64_t payload_len;
    uint32_t payload_crc;
    unsigned char *buf; /* write buffer, flushed at SNAP_WBUF */
    size_t buflen;
    uint64_t flushed; /* file offset where buf starts */
    uint64_t synced;  /* writeback started for [0, synced) */
    uint64_t waited;  /* and completed for [0, waited) */
    bool recycled;    /* tmp is an old snapshot's file, written over */
    bool paced;       /* SNAPSHOT_WRITE_PACED */
};

struct snapshot_reader {
    struct snapshot_info info;
    char *path;
    int fd;
    unsigned char *conf;
    uint64_t payload_off;
    uint64_t pos; /* sequential read position in the payload */
    uint32_t crc; /* running crc of header, conf and payload[0, pos) */
    uint32_t trailer;
};

char *
snapshot_path(const char *datadir, uint64_t term, uint64_t index)
{
    return sk_asprintf("%s/snap/%020llu-%020llu.snap", datadir, (unsigned long long)term,
                       (unsigned long long)index);
}

static void
snap_header_encode(unsigned char *h, uint64_t term, uint64_t index, const void *conf,
                   uint32_t conf_len, uint64_t payload_len)
{
    memset(h, 0, SNAP_HEADER);
    memcpy(h, SNAP_MAGIC, 8);
    store_le32_put(h + 8, SNAP_VERSION);
    store_le32_put(h + 12, conf_len);
    store_le64_put(h + 16, term);
    store_le64_put(h + 24, index);
    store_le64_put(h + 32, payload_len);
    store_le32_put(h + 40, crc32c_extend(crc32c(h, 40), conf, conf_len));
}

/* ---- writer ---- */

/* RECYCLING: take over the oldest snapshot's file when it is due for
 * deletion; the open fd, or -1 (the caller then creates the file). */
static int
writer_recycle(struct snapshot_writer *w, const char *datadir)
{
    struct snapshot_id *ids;
    size_t n;
    char *old;
    int fd = -1;

    if (snapshot_list(datadir, &ids, &n, NULL) < 0)
        return -1;
    if (n >= SNAPSHOT_KEEP_DEFAULT && (ids[0].term != w->term || ids[0].index != w->index)) {
        old = snapshot_path(datadir, ids[0].term, ids[0].index);
        if (rename(old, w->tmp) == 0)
            fd = open(w->tmp, O_RDWR | O_CLOEXEC);
        free(old);
    }
    free(ids);
    w->recycled = fd >= 0;
    return fd;
}

int
snapshot_writer_begin(struct snapshot_writer **out, const char *datadir, uint64_t term,
                      uint64_t index, const void *conf, size_t conf_len, struct sk_err *err)
{
    return snapshot_writer_open(out, datadir, term, index, conf, conf_len, 0, err);
}

int
snapshot_writer_open(struct snapshot_writer **out, const char *datadir, uint64_t term,
                     uint64_t index, const void *conf, size_t conf_len, unsigned flags,
                     struct sk_err *err)
{
    unsigned char h[SNAP_HEADER];
    struct snapshot_writer *w;
    int rc;

    *out = NULL;
    if (conf_len > SNAPSHOT_CONF_MAX)
        return sk_err_set(err, EINVAL, "snapshot configuration of %zu bytes exceeds %u", conf_len,
                          SNAPSHOT_CONF_MAX);
    w = sk_calloc(1, sizeof(*w));
    w->fd = -1;
    w->dir = sk_asprintf("%s/snap", datadir);
    w->path = snapshot_path(datadir, term, index);
    w->tmp = sk_asprintf("%s.tmp", w->path);
    w->term = term;
    w->index = index;
    w->conf_len = (uint32_t)conf_len;
    w->conf = sk_malloc(conf_len);
    if (conf_len)
        memcpy(w->conf, conf, conf_len);
    w->buf = sk_malloc(SNAP_WBUF);
    rc = store_io_mkdir(datadir, err);
    if (rc == 0)
        rc = store_io_mkdir(w->dir, err);
    if (rc < 0)
        goto out_abort;
    w->paced = flags & SNAPSHOT_WRITE_PACED;
    if (flags & SNAPSHOT_WRITE_RECYCLE)
        w->fd = writer_recycle(w, datadir);
    if (w->fd < 0)
        w->fd = open(w->tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (w->fd < 0) {
        rc = sk_err_sys(err, errno, "create snapshot '%s'", w->tmp);
        goto out_abort;
    }
    /* Provisional header; commit rewrites it with the payload length. */
    snap_header_encode(h, term, index, w->conf, w->conf_len, 0);
    rc = store_io_pwrite_all(w->fd, h, sizeof(h), 0, w->tmp, err);
    if (rc == 0)
        rc = store_io_pwrite_all(w->fd, w->conf, conf_len, SNAP_HEADER, w->tmp, err);
    if (rc < 0)
        goto out_abort;
    w->flushed = SNAP_HEADER + conf_len;
    *out = w;
    return 0;
out_abort:
    snapshot_writer_abort(w);
    return rc;
}

/* See WRITEBACK: start writeback of [synced, flushed) once it is a
 * chunk, after waiting for the previous chunk. Only a hint: errors
 * surface at the final fsync, so they are ignored here. */
static void
writer_writeback(struct snapshot_writer *w)
{
    const unsigned wait =
        SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER;

    if (w->flushed - w->synced < SNAP_SYNC_CHUNK)
        return;
    if (w->synced > w->waited) {
        int64_t t0 = sk_clock_mono_ns(), ns;

        (void)sync_file_range(w->fd, (off_t)w->waited, (off_t)(w->synced - w->waited), wait);
        (void)posix_fadvise(w->fd, (off_t)w->waited, (off_t)(w->synced - w->waited),
                            POSIX_FADV_DONTNEED);
        w->waited = w->synced;
        ns = sk_clock_mono_ns() - t0;
        if (w->paced && ns > 0) {
            struct timespec ts;

            ns = ns < SNAP_PACE_MAX_NS ? ns : SNAP_PACE_MAX_NS;
            ts.tv_sec = (time_t)(ns / 1000000000);
            ts.tv_nsec = (long)(ns % 1000000000);
            while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
        }
    }
    (void)sync_file_range(w->fd, (off_t)w->synced, (off_t)(w->flushed - w->synced),
                          SYNC_FILE_RANGE_WRITE);
    w->synced = w->flushed;
}

static int
writer_flush(struct snapshot_writer *w, struct sk_err *err)
{
    int rc;

    if (!w->buflen)
        return 0;
    rc = store_io_pwrite_all(w->fd, w->buf, w->buflen, (off_t)w->flushed, w->tmp, err);
    if (rc < 0)
        return rc;
    w->flushed += w->buflen;
    w->buflen = 0;
    writer_writeback(w);
    return 0;
}

int
snapshot_writer_write(struct snapshot_writer *w, const void *buf, size_t len, struct sk_err *err)
{
    const char *p = buf;
    size_t n;
    int rc;

    w->payload_crc = crc32c_extend(w->payload_crc, buf, len);
    w->payload_len += len;
    while (len) {
        if (w->buflen == SNAP_WBUF) {
            rc = writer_flush(w, err);
            if (rc < 0)
                return rc;
        }
        n = SNAP_WBUF - w->buflen < len ? SNAP_WBUF - w->buflen : len;
        memcpy(w->buf + w->buflen, p, n);
        w->buflen += n;
        p += n;
        len -= n;
    }
    return 0;
}

int
snapshot_writer_sink(void *w, const void *buf, size_t len, struct sk_err *err)
{
    return snapshot_writer_write(w, buf, len, err);
}

uint64_t
snapshot_writer_size(const struct snapshot_writer *w)
{
    return w->payload_len;
}

/* Steps (2) and (3) of the write order: final header, trailer, fsync. */
static int
writer_finish_file(struct snapshot_writer *w, struct sk_err *err)
{
    unsigned char h[SNAP_HEADER], t[4];
    uint32_t crc;
    int rc;

    rc = writer_flush(w, err);
    if (rc < 0)
        return rc;
    snap_header_encode(h, w->term, w->index, w->conf, w->conf_len, w->payload_len);
    rc = store_io_pwrite_all(w->fd, h, sizeof(h), 0, w->tmp, err);
    if (rc < 0)
        return rc;
    crc = crc32c_extend(crc32c(h, sizeof(h)), w->conf, w->conf_len);
    crc = crc32c_combine(crc, w->payload_crc, w->payload_len);
    store_le32_put(t, crc);
    rc = store_io_pwrite_all(w->fd, t, sizeof(t), (off_t)w->flushed, w->tmp, err);
    if (rc < 0)
        return rc;
    /* A recycled file may be longer than this snapshot. */
    if (w->recycled && ftruncate(w->fd, (off_t)(w->flushed + sizeof(t))) < 0)
        return sk_err_sys(err, errno, "truncate '%s'", w->tmp);
    return store_io_fsync(w->fd, w->tmp, err);
}

int
snapshot_writer_commit(struct snapshot_writer *w, struct sk_err *err)
{
    int rc;

    rc = writer_finish_file(w, err);
    if (rc == 0 && rename(w->tmp, w->path) < 0)
        rc = sk_err_sys(err, errno, "rename '%s' to '%s'", w->tmp, w->path);
    if (rc == 0)
        rc = store_io_fsync_dir(w->dir, err);
    if (rc < 0) {
        sk_err_wrap(err, "write snapshot '%s'", w->path);
        snapshot_writer_abort(w);
        return rc;
    }
    close(w->fd);
    w->fd = -1;
    free(w->tmp);
    w->tmp = NULL; /* nothing for the release below to unlink */
    snapshot_writer_abort(w);
    return 0;
}

void
snapshot_writer_abort(struct snapshot_writer *w)
{
    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    if (w->tmp)
        unlink(w->tmp);
    free(w->tmp);
    free(w->path);
    free(w->dir);
    free(w->conf);
    free(w->buf);
    free(w);
}

/* ---- listing ---- */

/* 1 if name is "<20 digits>-<20 digits><suffix>". */
static int
snap_name_parse(const char *name, const char *suffix, struct snapshot_id *id)
{
    uint64_t v[2] = {0, 0};
    const char *p = name;
    int k, i;

    for (k = 0; k < 2; k++) {
        for (i = 0; i < SNAP_DIGITS; i++, p++) {
            if (*p < '0' || *p > '9' || v[k] > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
                return 0;
            v[k] = v[k] * 10 + (uint64_t)(*p - '0');
        }
        if (k == 0 && *p++ != '-')
            return 0;
    }
    if (strcmp(p, suffix) != 0)
        return 0;
    id->term = v[0];
    id->index = v[1];
    return 1;
}

static int
cmp_id(const void *a, const void *b)
{
    const struct snapshot_id *x = a, *y = b;

    if (x->term != y->term)
        return x->term < y->term ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

int
snapshot_list(const char *datadir, struct snapshot_id **ids, size_t *n, struct sk_err *err)
{
    char *dir = sk_asprintf("%s/snap", datadir);
    struct snapshot_id id, *v = NULL;
    size_t cnt = 0, cap = 0;
    struct dirent *de;
    DIR *d;

    *ids = NULL;
    *n = 0;
    d = opendir(dir);
    if (!d) {
        int rc = errno == ENOENT ? 0 : sk_err_sys(err, errno, "open snapshot directory '%s'", dir);

        free(dir);
        return rc;
    }
    while ((de = readdir(d))) {
        if (!snap_name_parse(de->d_name, ".snap", &id))
            continue;
        if (cnt == cap) {
            cap = cap ? cap * 2 : 8;
            v = sk_reallocarray(v, cap, sizeof(*v));
        }
        v[cnt++] = id;
    }
    closedir(d);
    free(dir);
    if (cnt)
        qsort(v, cnt, sizeof(*v), cmp_id);
    *ids = v;
    *n = cnt;
    return 0;
}

/* ---- reader ---- */

static int
reader_check_header(struct snapshot_reader *r, const unsigned char *h, uint64_t size,
                    struct sk_err *err)
{
    uint64_t plen;
    uint32_t clen;

    if (size < SNAP_HEADER + 4)
        return sk_err_set(err, EBADMSG, "file too short (%llu bytes)", (unsigned long long)size);
    if (memcmp(h, SNAP_MAGIC, 8) != 0)
        return sk_err_set(err, EBADMSG, "bad magic at offset 0, not a skiff snapshot");
    if (store_le32_get(h + 8) != SNAP_VERSION)
        return sk_err_set(err, EBADMSG, "unsupported version %u at offset 8",
                          store_le32_get(h + 8));
    clen = store_le32_get(h + 12);
    plen = store_le64_get(h + 32);
    if (clen > SNAPSHOT_CONF_MAX)
        return sk_err_set(err, EBADMSG, "configuration length %u at offset 12 exceeds %u", clen,
                          SNAPSHOT_CONF_MAX);
    if (plen > size || size - SNAP_HEADER - 4 - clen != plen)
        return sk_err_set(err, EBADMSG,
                          "file is %llu bytes but the header (offset 12, 32) says %llu",
                          (unsigned long long)size,
                          (unsigned long long)(SNAP_HEADER + 4 + (uint64_t)clen + plen));
    r->info.term = store_le64_get(h + 16);
    r->info.index = store_le64_get(h + 24);
    r->info.payload_len = plen;
    r->info.conf_len = clen;
    r->payload_off = SNAP_HEADER + (uint64_t)clen;
    return 0;
}

/* Read header and conf; check sizes, the header crc and the name. */
static int
reader_load_header(struct snapshot_reader *r, struct sk_err *err)
{
    unsigned char h[SNAP_HEADER];
    const char *base = strrchr(r->path, '/');
    struct snapshot_id id;
    uint64_t size;
    ssize_t n;
    int rc;

    rc = store_io_fsize(r->fd, r->path, &size, err);
    if (rc < 0)
        return rc;
    n = store_io_pread_all(r->fd, h, sizeof(h), 0, r->path, err);
    if (n < 0)
        return (int)n;
    rc = reader_check_header(r, h, (uint64_t)n < sizeof(h) ? (uint64_t)n : size, err);
    if (rc < 0)
        return rc;
    r->conf = sk_malloc(r->info.conf_len);
    n = store_io_pread_all(r->fd, r->conf, r->info.conf_len, SNAP_HEADER, r->path, err);
    if (n < 0)
        return (int)n;
    if (crc32c_extend(crc32c(h, 40), r->conf, r->info.conf_len) != store_le32_get(h + 40))
        return sk_err_set(err, EBADMSG, "header crc mismatch at offset 40");
    if (snap_name_parse(base ? base + 1 : r->path, ".snap", &id) &&
        (id.term != r->info.term || id.index != r->info.index))
        return sk_err_set(err, EBADMSG, "header says term %llu index %llu, not the file name",
                          (unsigned long long)r->info.term, (unsigned long long)r->info.index);
    r->crc = crc32c_extend(crc32c(h, sizeof(h)), r->conf, r->info.conf_len);
    r->info.conf = r->conf;
    n = store_io_pread_all(r->fd, h, 4, (off_t)(size - 4), r->path, err);
    if (n < 0)
        return (int)n;
    r->trailer = store_le32_get(h);
    return 0;
}

/* Read the whole payload once and check the trailer crc. */
static int
reader_verify(struct snapshot_reader *r, struct sk_err *err)
{
    unsigned char *buf = sk_malloc(SNAP_VERIFY_CHUNK);
    uint64_t off = 0, want;
    uint32_t crc = r->crc;
    ssize_t n;
    int rc = 0;

    while (off < r->info.payload_len) {
        want = r->info.payload_len - off;
        if (want > SNAP_VERIFY_CHUNK)
            want = SNAP_VERIFY_CHUNK;
        n = store_io_pread_all(r->fd, buf, (size_t)want, (off_t)(r->payload_off + off), r->path,
                               err);
        if (n >= 0 && (uint64_t)n != want)
            n = sk_err_set(err, EIO, "short read at offset %llu",
                           (unsigned long long)(r->payload_off + off));
        if (n < 0) {
            rc = (int)n;
            goto out_free_buf;
        }
        crc = crc32c_extend(crc, buf, (size_t)n);
        off += want;
    }
    if (crc != r->trailer)
        rc = sk_err_set(err, EBADMSG, "crc mismatch at offset %llu (trailer)",
                        (unsigned long long)(r->payload_off + r->info.payload_len));
out_free_buf:
    free(buf);
    return rc;
}

int
snapshot_open(struct snapshot_reader **out, const char *path, unsigned flags, struct sk_err *err)
{
    struct snapshot_reader *r = sk_calloc(1, sizeof(*r));
    int rc;

    *out = NULL;
    r->path = sk_strdup(path);
    r->info.path = r->path;
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        rc = sk_err_sys(err, errno, "open snapshot '%s'", path);
        snapshot_reader_free(r);
        return rc;
    }
    rc = reader_load_header(r, err);
    if (rc == 0 && !(flags & SNAPSHOT_NO_VERIFY))
        rc = reader_verify(r, err);
    if (rc < 0) {
        sk_err_wrap(err, "snapshot '%s'", path);
        snapshot_reader_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

int
snapshot_open_newest(struct snapshot_reader **out, const char *datadir, unsigned flags,
                     struct sk_err *err)
{
    struct snapshot_id *ids;
    size_t n, i;
    char *path;
    int rc;

    *out = NULL;
    rc = snapshot_list(datadir, &ids, &n, err);
    for (i = n; rc == 0 && i > 0; i--) {
        path = snapshot_path(datadir, ids[i - 1].term, ids[i - 1].index);
        rc = snapshot_open(out, path, flags, err);
        free(path);
        if (rc == 0) {
            rc = 1;
            break;
        }
        if (!(flags & SNAPSHOT_SKIP_INVALID)) {
            sk_err_wrap(err, "newest snapshot is damaged (recovery tools can skip it)");
            break;
        }
        sk_warn("store", "skipping damaged snapshot: %s", err ? err->msg : "");
        rc = 0;
    }
    free(ids);
    return rc;
}

const struct snapshot_info *
snapshot_reader_info(const struct snapshot_reader *r)
{
    return &r->info;
}

ssize_t
snapshot_reader_pread(struct snapshot_reader *r, void *buf, size_t len, uint64_t off,
                      struct sk_err *err)
{
    if (off >= r->info.payload_len)
        return 0;
    if (len > r->info.payload_len - off)
        len = (size_t)(r->info.payload_len - off);
    return store_io_pread_all(r->fd, buf, len, (off_t)(r->payload_off + off), r->path, err);
}

ssize_t
snapshot_reader_read(struct snapshot_reader *r, void *buf, size_t len, struct sk_err *err)
{
    ssize_t n;

    n = snapshot_reader_pread(r, buf, len, r->pos, err);
    if (n <= 0)
        return n;
    r->crc = crc32c_extend(r->crc, buf, (size_t)n);
    r->pos += (uint64_t)n;
    if (r->pos == r->info.payload_len && r->crc != r->trailer)
        return sk_err_set(err, EBADMSG, "snapshot '%s': crc mismatch at offset %llu (trailer)",
                          r->path, (unsigned long long)(r->payload_off + r->pos));
    return n;
}

ssize_t
snapshot_reader_source(void *r, void *buf, size_t len, struct sk_err *err)
{
    return snapshot_reader_read(r, buf, len, err);
}

void
snapshot_reader_free(struct snapshot_reader *r)
{
    if (!r)
        return;
    if (r->fd >= 0)
        close(r->fd);
    free(r->conf);
    free(r->path);
    free(r);
}

/* ---- housekeeping ---- */

int
snapshot_retain(const char *datadir, size_t keep, struct sk_err *err)
{
    struct snapshot_id *ids;
    char *path, *dir;
    size_t n, i;
    int rc;

    if (keep == 0)
        keep = SNAPSHOT_KEEP_DEFAULT;
    rc = snapshot_list(datadir, &ids, &n, err);
    if (rc < 0 || n <= keep) {
        free(ids);
        return rc;
    }
    for (i = 0; rc == 0 && i + keep < n; i++) {
        path = snapshot_path(datadir, ids[i].term, ids[i].index);
        if (unlink(path) < 0 && errno != ENOENT)
            rc = sk_err_sys(err, errno, "delete snapshot '%s'", path);
        free(path);
    }
    free(ids);
    /* Order does not matter here: an old snapshot that reappears after a
     * crash is only deleted again next time. */
    dir = sk_asprintf("%s/snap", datadir);
    if (rc == 0)
        rc = store_io_fsync_dir(dir, err);
    free(dir);
    return rc;
}

int
snapshot_remove_tmp(const char *datadir, struct sk_err *err)
{
    char *dir = sk_asprintf("%s/snap", datadir);
    struct snapshot_id id;
    struct dirent *de;
    char *path;
    DIR *d;

    d = opendir(dir);
    if (!d) {
        int rc = errno == ENOENT ? 0 : sk_err_sys(err, errno, "open snapshot directory '%s'", dir);

        free(dir);
        return rc;
    }
    while ((de = readdir(d))) {
        if (!snap_name_parse(de->d_name, ".snap.tmp", &id))
            continue;
        path = sk_asprintf("%s/%s", dir, de->d_name);
        sk_warn("store", "snapshot '%s': removing unfinished snapshot", path);
        unlink(path);
        free(path);
    }
    closedir(d);
    free(dir);
    return 0;
}
