/* The Raft log as segment files (API in segment.h).
 *
 * FILES
 *
 *   DATADIR/log/                      the log directory, flock(2)ed while open
 *   DATADIR/log/<F>.seg               a segment; F = index of its first
 *                                     record, 20 decimal digits, zero-padded
 *                                     so names sort by index
 *   DATADIR/log/<F>.seg.tmp           a segment being created; removed on open
 *
 * SEGMENT FORMAT (all integers little-endian)
 *
 *   offset size  header (32 bytes)
 *        0    8  magic "SKFSEG1\0"
 *        8    4  format version, 1
 *       12    4  reserved, 0
 *       16    8  first index F (must equal the file name)
 *       24    4  reserved, 0
 *       28    4  crc32c of bytes 0..27
 *
 *   then records back to back from offset 32 to the end of the file:
 *
 *        0    4  len: payload length (at most 256 MiB)
 *        4    4  crc32c of bytes 8 .. 25+len-1 (term through payload)
 *        8    8  term
 *       16    8  index
 *       24    1  type (opaque to this file; the Raft entry type)
 *       25  len  payload
 *
 * VALIDITY
 *
 *   A record is valid when it lies wholly inside the file and its crc
 *   matches. The k-th record of segment F must have index F + k, and
 *   terms never decrease, within a segment and across segments. The
 *   segments' index ranges must be contiguous: each segment starts right
 *   after the last record of the previous one (an empty segment is
 *   allowed; it starts where the previous one ended). A valid record with
 *   the wrong index or a lower term is an error, never a torn write.
 *
 *   A record that is not valid (short, impossible length, crc mismatch)
 *   is a torn tail only when it is in the LAST segment and no valid
 *   record starts anywhere after it; recovery then cuts the file at that
 *   record (ftruncate + fsync) and logs a warning with file and offset.
 *   Such a record was never synced, so was never acknowledged. A bad
 *   record in any other segment, or one followed by a valid record, means
 *   data that may have been acknowledged is damaged: opening fails with
 *   "segment '<path>': record at offset N: <what>", the server refuses
 *   to start, and nothing on disk is changed. (The price: after a power
 *   loss in the middle of an unsynced batch, a file system that writes
 *   pages back out of order can leave a hole followed by intact records
 *   of that same batch; this too refuses to start, and the operator cuts
 *   the file at the offset `skiffd store verify` reports. A false alarm
 *   is preferred to dropping acknowledged data silently.)
 *
 *   A bad segment header is always an error: headers are made durable
 *   before the file gets its name (see below), so a torn header cannot
 *   be seen.
 *
 * WRITE AND FSYNC ORDER
 *
 *   append:    records for a batch are encoded and written with one
 *              pwrite at the end of the last segment. They are durable
 *              only after segment_log_sync(): fdatasync(last segment).
 *              fdatasync suffices: it also flushes the file size.
 *   roll:      when a batch would take the last segment past the size
 *              limit, (1) fdatasync the current segment, so a later
 *              segment never holds records while an earlier one has a
 *              torn tail; (2) write the header to <F>.seg.tmp and
 *              fdatasync it; (3) rename to <F>.seg; (4) fsync log/.
 *   truncate:  (Raft conflict) delete later segments newest first,
 *              fsync log/ after each unlink, so a crash leaves a
 *              contiguous prefix; then ftruncate the segment holding the
 *              cut and fsync it.
 *   drop:      (compaction) delete the oldest segments oldest first,
 *              fsync log/ after each unlink, so a crash leaves a
 *              contiguous suffix. The last segment is never dropped.
 *   reset:     delete every segment newest first (fsync log/ after each),
 *              then create an empty segment starting at the new index.
 *
 * MEMORY
 *
 *   Per segment an array of u32 record offsets (4 bytes a record; a
 *   segment is kept below 4 GiB), and for the whole log a list of term
 *   runs (one per term change), so term lookups and reads need no scan. */
#include "segment.h"
#include "crc32c.h"
#include "io.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define SEG_MAGIC       "SKFSEG1" /* with its NUL: 8 bytes */
#define SEG_VERSION     1
#define SEG_NAME_DIGITS 20
#define SCAN_WINDOW     (1u << 20)
#define SEG_MAX_FILE    0xffffffffu /* record offsets are u32 */

struct segment {
    char *path;
    int fd;
    uint64_t first_index;
    uint64_t count; /* records */
    uint64_t size;  /* bytes: header + records */
    uint32_t *offs; /* offs[i]: offset of record i */
    size_t cap;
};

struct term_run {
    uint64_t index; /* first index with this term */
    uint64_t term;
};

struct segment_log {
    char *dir;
    int dirfd;
    uint64_t seg_size;
    struct segment *segs;
    size_t nsegs;
    size_t capsegs;
    uint64_t next_index; /* last + 1; with no segment, what first_index reports */
    struct term_run *runs;
    size_t nruns;
    size_t capruns;
    struct sk_buf wbuf;
    int dirty;
    int failed;
    char failmsg[SK_ERR_MSG_MAX];
};

/* ---- scanning ---- */

/* A read window over a file, so recovery reads in large sequential
 * chunks and memory stays bounded (except for one huge record). */
struct scan_reader {
    int fd;
    const char *path;
    uint64_t size;
    unsigned char *buf;
    size_t cap;
    uint64_t off; /* file offset of buf[0] */
    size_t len;
};

/* Point *out at bytes [off, off + n) of the file, or set it to NULL when
 * the file ends first. */
static int
reader_get(struct scan_reader *r, uint64_t off, size_t n, const unsigned char **out,
           struct sk_err *err)
{
    size_t want;
    ssize_t got;

    *out = NULL;
    if (off > r->size || n > r->size - off)
        return 0;
    if (off >= r->off && off + n <= r->off + r->len) {
        *out = r->buf + (off - r->off);
        return 0;
    }
    want = n > SCAN_WINDOW ? n : SCAN_WINDOW;
    if (want > r->size - off)
        want = (size_t)(r->size - off);
    if (want > r->cap) {
        free(r->buf);
        r->buf = sk_malloc(want);
        r->cap = want;
    }
    r->len = 0;
    got = store_io_pread_all(r->fd, r->buf, want, (off_t)off, r->path, err);
    if (got < 0)
        return (int)got;
    if ((size_t)got < n)
        return sk_err_set(err, EIO, "file shrank while reading at offset %llu",
                          (unsigned long long)off);
    r->off = off;
    r->len = (size_t)got;
    *out = r->buf;
    return 0;
}

struct rec_view {
    uint64_t term;
    uint64_t index;
    uint8_t type;
    uint32_t len;
    const unsigned char *payload;
};

enum { REC_OK = 0, REC_BAD = 1 };

/* Decode the record at off: REC_OK, REC_BAD (why says what is wrong), or
 * <0 on an I/O error. */
static int
record_read(struct scan_reader *r, uint64_t off, struct rec_view *rv, char *why, size_t whysz,
            struct sk_err *err)
{
    const unsigned char *p;
    uint32_t len;
    int rc;

    rc = reader_get(r, off, SEGMENT_RECORD_HEADER, &p, err);
    if (rc < 0)
        return rc;
    if (!p) {
        snprintf(why, whysz, "truncated record header");
        return REC_BAD;
    }
    len = store_le32_get(p);
    if (len > SEGMENT_MAX_PAYLOAD) {
        snprintf(why, whysz, "impossible length %u", len);
        return REC_BAD;
    }
    rc = reader_get(r, off, SEGMENT_RECORD_HEADER + (size_t)len, &p, err);
    if (rc < 0)
        return rc;
    if (!p) {
        snprintf(why, whysz, "record of %u bytes runs past end of file", len);
        return REC_BAD;
    }
    if (crc32c(p + 8, SEGMENT_RECORD_HEADER - 8 + (size_t)len) != store_le32_get(p + 4)) {
        snprintf(why, whysz, "crc mismatch");
        return REC_BAD;
    }
    rv->len = len;
    rv->term = store_le64_get(p + 8);
    rv->index = store_le64_get(p + 16);
    rv->type = p[24];
    rv->payload = p + SEGMENT_RECORD_HEADER;
    return REC_OK;
}

/* After a bad record at bad_off, look for any valid record starting
 * later whose index could belong to this log (>= expect). One existing
 * means the bad record is not a torn tail but damage in the middle. */
static int
scan_valid_after(struct scan_reader *r, uint64_t bad_off, uint64_t expect, uint64_t min_term,
                 uint64_t *found, struct sk_err *err)
{
    const unsigned char *p;
    uint64_t off, idx, span;
    uint32_t len;
    int rc;

    span = (r->size - bad_off) / SEGMENT_RECORD_HEADER + 1;
    for (off = bad_off + 1; off + SEGMENT_RECORD_HEADER <= r->size; off++) {
        rc = reader_get(r, off, SEGMENT_RECORD_HEADER, &p, err);
        if (rc < 0)
            return rc;
        len = store_le32_get(p);
        idx = store_le64_get(p + 16);
        /* Cheap filters first, the crc only for plausible headers. */
        if (len > SEGMENT_MAX_PAYLOAD || len > r->size - off - SEGMENT_RECORD_HEADER)
            continue;
        if (idx < expect || idx - expect > span || store_le64_get(p + 8) < min_term)
            continue;
        rc = reader_get(r, off, SEGMENT_RECORD_HEADER + (size_t)len, &p, err);
        if (rc < 0)
            return rc;
        if (crc32c(p + 8, SEGMENT_RECORD_HEADER - 8 + (size_t)len) == store_le32_get(p + 4)) {
            *found = off;
            return 1;
        }
    }
    return 0;
}

static int
scan_header(struct segment_scan *sc, struct scan_reader *r, struct sk_err *err)
{
    const unsigned char *p;
    uint64_t first;
    int rc;

    rc = reader_get(r, 0, SEGMENT_HEADER_SIZE, &p, err);
    if (rc < 0)
        return rc;
    if (!p)
        return sk_err_set(err, EBADMSG, "header at offset 0: file too short (%llu bytes)",
                          (unsigned long long)r->size);
    if (memcmp(p, SEG_MAGIC, 8) != 0)
        return sk_err_set(err, EBADMSG, "header at offset 0: bad magic, not a skiff segment");
    if (crc32c(p, 28) != store_le32_get(p + 28))
        return sk_err_set(err, EBADMSG, "header at offset 0: crc mismatch");
    if (store_le32_get(p + 8) != SEG_VERSION)
        return sk_err_set(err, EBADMSG, "header at offset 0: unsupported version %u",
                          store_le32_get(p + 8));
    first = store_le64_get(p + 16);
    if (first != sc->first_index)
        return sk_err_set(err, EBADMSG,
                          "header at offset 0: first index %llu does not match file name",
                          (unsigned long long)first);
    return 0;
}

/* Check one decoded, crc-valid record against its position. */
static int
scan_check_order(struct segment_scan *sc, uint64_t off, const struct rec_view *rv, uint64_t expect,
                 struct sk_err *err)
{
    if (rv->index != expect)
        return sk_err_set(err, EBADMSG, "record at offset %llu: index %llu, expected %llu",
                          (unsigned long long)off, (unsigned long long)rv->index,
                          (unsigned long long)expect);
    if (rv->term < sc->last_term)
        return sk_err_set(err, EBADMSG,
                          "record at offset %llu: index %llu: term %llu lower than "
                          "previous term %llu",
                          (unsigned long long)off, (unsigned long long)rv->index,
                          (unsigned long long)rv->term, (unsigned long long)sc->last_term);
    return 0;
}

/* A bad record at off: a torn tail (return 0, sc->torn set) or an error. */
static int
scan_classify_bad(struct segment_scan *sc, struct scan_reader *r, uint64_t off, uint64_t expect,
                  const char *why, struct sk_err *err)
{
    uint64_t found = 0;
    int rc;

    if (!sc->last)
        return sk_err_set(err, EBADMSG, "record at offset %llu: %s", (unsigned long long)off, why);
    rc = scan_valid_after(r, off, expect, sc->last_term, &found, err);
    if (rc < 0)
        return rc;
    if (rc > 0)
        return sk_err_set(err, EBADMSG,
                          "record at offset %llu: %s, followed by a valid record at "
                          "offset %llu",
                          (unsigned long long)off, why, (unsigned long long)found);
    sc->torn = 1;
    snprintf(sc->torn_why, sizeof(sc->torn_why), "%s", why);
    return 0;
}

static int
scan_records(struct segment_scan *sc, struct scan_reader *r, struct sk_err *err)
{
    struct segment_entry ent;
    struct rec_view rv;
    uint64_t off = SEGMENT_HEADER_SIZE;
    uint64_t expect = sc->first_index;
    char why[128];
    int rc = 0;

    while (off < r->size) {
        rc = record_read(r, off, &rv, why, sizeof(why), err);
        if (rc < 0)
            return rc;
        if (rc == REC_BAD) {
            rc = scan_classify_bad(sc, r, off, expect, why, err);
            break;
        }
        rc = scan_check_order(sc, off, &rv, expect, err);
        if (rc < 0)
            return rc;
        if (sc->fn) {
            ent = (struct segment_entry){rv.term, rv.index, rv.type, rv.payload, rv.len};
            rc = sc->fn(sc->arg, off, &ent, err);
            if (rc < 0)
                return rc;
        }
        sc->count++;
        sc->last_term = rv.term;
        off += SEGMENT_RECORD_HEADER + (uint64_t)rv.len;
        expect++;
    }
    sc->end = off;
    return rc < 0 ? rc : 0;
}

int
segment_scan_file(struct segment_scan *sc, struct sk_err *err)
{
    struct scan_reader r = {sc->fd, sc->path, 0, NULL, 0, 0, 0};
    int rc;

    sc->count = 0;
    sc->last_term = sc->min_term;
    sc->end = 0;
    sc->torn = 0;
    sc->torn_why[0] = '\0';
    rc = store_io_fsize(sc->fd, sc->path, &r.size, err);
    if (rc < 0)
        return rc;
    sc->file_size = r.size;
    rc = scan_header(sc, &r, err);
    if (rc == 0)
        rc = scan_records(sc, &r, err);
    free(r.buf);
    return rc;
}

/* ---- names ---- */

char *
segment_path(const char *logdir, uint64_t first_index)
{
    return sk_asprintf("%s/%020llu.seg", logdir, (unsigned long long)first_index);
}

/* 1 if name is "<20 digits><suffix>", storing the number. */
static int
segment_name_parse(const char *name, const char *suffix, uint64_t *first)
{
    uint64_t v = 0;
    int i;

    for (i = 0; i < SEG_NAME_DIGITS; i++) {
        if (name[i] < '0' || name[i] > '9')
            return 0;
        if (v > (UINT64_MAX - (uint64_t)(name[i] - '0')) / 10)
            return 0;
        v = v * 10 + (uint64_t)(name[i] - '0');
    }
    if (strcmp(name + SEG_NAME_DIGITS, suffix) != 0)
        return 0;
    *first = v;
    return 1;
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

int
segment_dir_list(const char *logdir, uint64_t **firsts, size_t *n, struct sk_err *err)
{
    struct dirent *de;
    uint64_t *v = NULL;
    size_t cnt = 0, cap = 0;
    uint64_t first;
    DIR *d;

    d = opendir(logdir);
    if (!d)
        return sk_err_sys(err, errno, "open log directory '%s'", logdir);
    while ((de = readdir(d))) {
        if (!segment_name_parse(de->d_name, ".seg", &first))
            continue;
        if (cnt == cap) {
            cap = cap ? cap * 2 : 16;
            v = sk_reallocarray(v, cap, sizeof(*v));
        }
        v[cnt++] = first;
    }
    closedir(d);
    if (cnt)
        qsort(v, cnt, sizeof(*v), cmp_u64);
    *firsts = v;
    *n = cnt;
    return 0;
}

/* ---- the open log ---- */

static struct segment *
log_active(struct segment_log *log)
{
    return log->nsegs ? &log->segs[log->nsegs - 1] : NULL;
}

static int
log_fail(struct segment_log *log, struct sk_err *err)
{
    log->failed = 1;
    snprintf(log->failmsg, sizeof(log->failmsg), "%s", err ? err->msg : "i/o error");
    return err ? -err->code : -EIO;
}

static int
log_check_usable(struct segment_log *log, struct sk_err *err)
{
    if (!log->failed)
        return 0;
    return sk_err_set(err, EIO, "log '%s' failed earlier and must be reopened: %s", log->dir,
                      log->failmsg);
}

static void
segment_release(struct segment *seg)
{
    if (seg->fd >= 0)
        close(seg->fd);
    free(seg->path);
    free(seg->offs);
    memset(seg, 0, sizeof(*seg));
    seg->fd = -1;
}

static struct segment *
log_push_segment(struct segment_log *log, uint64_t first_index)
{
    struct segment *seg;

    if (log->nsegs == log->capsegs) {
        log->capsegs = log->capsegs ? log->capsegs * 2 : 8;
        log->segs = sk_reallocarray(log->segs, log->capsegs, sizeof(*log->segs));
    }
    seg = &log->segs[log->nsegs++];
    memset(seg, 0, sizeof(*seg));
    seg->fd = -1;
    seg->path = segment_path(log->dir, first_index);
    seg->first_index = first_index;
    return seg;
}

static void
seg_push_offset(struct segment *seg, uint64_t off)
{
    if (seg->count == seg->cap) {
        seg->cap = seg->cap ? seg->cap * 2 : 256;
        seg->offs = sk_reallocarray(seg->offs, seg->cap, sizeof(*seg->offs));
    }
    seg->offs[seg->count++] = (uint32_t)off;
}

static void
log_note_term(struct segment_log *log, uint64_t index, uint64_t term)
{
    if (log->nruns && log->runs[log->nruns - 1].term == term)
        return;
    if (log->nruns == log->capruns) {
        log->capruns = log->capruns ? log->capruns * 2 : 16;
        log->runs = sk_reallocarray(log->runs, log->capruns, sizeof(*log->runs));
    }
    log->runs[log->nruns++] = (struct term_run){index, term};
}

uint64_t
segment_log_first_index(const struct segment_log *log)
{
    return log->nsegs ? log->segs[0].first_index : log->next_index;
}

uint64_t
segment_log_last_index(const struct segment_log *log)
{
    return log->next_index - 1;
}

uint64_t
segment_log_last_term(const struct segment_log *log)
{
    if (segment_log_last_index(log) < segment_log_first_index(log) || !log->nruns)
        return 0;
    return log->runs[log->nruns - 1].term;
}

size_t
segment_log_nsegments(const struct segment_log *log)
{
    return log->nsegs;
}

uint64_t
segment_log_bytes(const struct segment_log *log, uint64_t lo, uint64_t hi)
{
    uint64_t total = 0, a, b;
    size_t i;

    for (i = 0; i < log->nsegs; i++) {
        const struct segment *seg = &log->segs[i];
        uint64_t end = seg->first_index + seg->count;

        a = lo > seg->first_index ? lo : seg->first_index;
        b = hi < end ? hi : end;
        if (a >= b)
            continue;
        total += (b < end ? seg->offs[b - seg->first_index] : seg->size) -
                 seg->offs[a - seg->first_index];
    }
    return total;
}

int
segment_log_term(const struct segment_log *log, uint64_t index, uint64_t *term, struct sk_err *err)
{
    size_t lo = 0, hi = log->nruns, mid;

    if (index < segment_log_first_index(log) || index >= log->next_index || !log->nruns)
        return sk_err_set(err, ENOENT, "index %llu not in log [%llu, %llu]",
                          (unsigned long long)index,
                          (unsigned long long)segment_log_first_index(log),
                          (unsigned long long)segment_log_last_index(log));
    /* Last run starting at or before index. */
    while (hi - lo > 1) {
        mid = lo + (hi - lo) / 2;
        if (log->runs[mid].index <= index)
            lo = mid;
        else
            hi = mid;
    }
    *term = log->runs[lo].term;
    return 0;
}

/* Segment holding index (which must be in [first, next)). */
static size_t
log_find_segment(const struct segment_log *log, uint64_t index)
{
    size_t lo = 0, hi = log->nsegs, mid;

    while (hi - lo > 1) {
        mid = lo + (hi - lo) / 2;
        if (log->segs[mid].first_index <= index)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* Delete the newest segment file durably (see WRITE AND FSYNC ORDER). */
static int
log_delete_last(struct segment_log *log, struct sk_err *err)
{
    struct segment *seg = &log->segs[log->nsegs - 1];
    int rc;

    if (unlink(seg->path) < 0 && errno != ENOENT)
        return sk_err_sys(err, errno, "delete segment '%s'", seg->path);
    rc = store_io_fsync(log->dirfd, log->dir, err);
    if (rc < 0)
        return rc;
    log->next_index = seg->first_index;
    segment_release(seg);
    log->nsegs--;
    return 0;
}

static void
segment_header_encode(unsigned char *h, uint64_t first_index)
{
    memset(h, 0, SEGMENT_HEADER_SIZE);
    memcpy(h, SEG_MAGIC, 8);
    store_le32_put(h + 8, SEG_VERSION);
    store_le64_put(h + 16, first_index);
    store_le32_put(h + 28, crc32c(h, 28));
}

/* Create <first>.seg durably (header synced, then renamed into place,
 * then the directory synced) and make it the last segment. */
static int
log_create_segment(struct segment_log *log, uint64_t first_index, struct sk_err *err)
{
    unsigned char h[SEGMENT_HEADER_SIZE];
    struct segment *seg;
    char *tmp;
    int fd, rc;

    seg = log_push_segment(log, first_index);
    tmp = sk_asprintf("%s.tmp", seg->path);
    fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = sk_err_sys(err, errno, "create segment '%s'", tmp);
        goto out_pop;
    }
    segment_header_encode(h, first_index);
    rc = store_io_pwrite_all(fd, h, sizeof(h), 0, tmp, err);
    if (rc == 0)
        rc = store_io_fdatasync(fd, tmp, err);
    if (rc == 0 && rename(tmp, seg->path) < 0)
        rc = sk_err_sys(err, errno, "rename '%s' to '%s'", tmp, seg->path);
    if (rc == 0)
        rc = store_io_fsync(log->dirfd, log->dir, err);
    if (rc < 0) {
        close(fd);
        unlink(tmp);
        goto out_pop;
    }
    seg->fd = fd;
    seg->size = SEGMENT_HEADER_SIZE;
    log->next_index = first_index;
    free(tmp);
    return 0;
out_pop:
    segment_release(seg);
    log->nsegs--;
    free(tmp);
    return rc;
}

/* Seal the last segment (fdatasync it, §roll step 1) and start a new one. */
static int
log_roll(struct segment_log *log, uint64_t first_index, struct sk_err *err)
{
    struct segment *seg = log_active(log);
    int rc;

    if (seg && log->dirty) {
        rc = store_io_fdatasync(seg->fd, seg->path, err);
        if (rc < 0)
            return rc;
        log->dirty = 0;
    }
    return log_create_segment(log, first_index, err);
}

/* ---- open and recovery ---- */

/* Remove "<digits>.seg.tmp" left by a crash during segment creation: it
 * was never renamed, so never held a record. */
static int
log_remove_tmp(struct segment_log *log, struct sk_err *err)
{
    struct dirent *de;
    uint64_t first;
    char *path;
    DIR *d;

    d = opendir(log->dir);
    if (!d)
        return sk_err_sys(err, errno, "open log directory '%s'", log->dir);
    while ((de = readdir(d))) {
        if (!segment_name_parse(de->d_name, ".seg.tmp", &first))
            continue;
        path = sk_asprintf("%s/%s", log->dir, de->d_name);
        sk_warn("store", "segment '%s': removing unfinished segment creation", path);
        unlink(path);
        free(path);
    }
    closedir(d);
    return 0;
}

static int
log_scan_record(void *arg, uint64_t offset, const struct segment_entry *ent, struct sk_err *err)
{
    struct segment_log *log = arg;

    seg_push_offset(log_active(log), offset);
    log_note_term(log, ent->index, ent->term);
    return 0;
}

/* Cut a torn tail found by the scan: ftruncate, then fsync. */
static int
log_cut_torn_tail(struct segment *seg, const struct segment_scan *sc, struct sk_err *err)
{
    sk_warn("store", "segment '%s': torn record at offset %llu (%s): truncating %llu bytes",
            seg->path, (unsigned long long)sc->end, sc->torn_why,
            (unsigned long long)(sc->file_size - sc->end));
    if (ftruncate(seg->fd, (off_t)sc->end) < 0)
        return sk_err_sys(err, errno, "truncate '%s' to %llu bytes", seg->path,
                          (unsigned long long)sc->end);
    return store_io_fsync(seg->fd, seg->path, err);
}

static int
log_load_segment(struct segment_log *log, uint64_t first, int last, struct sk_err *err)
{
    struct segment_scan sc;
    struct segment *seg;
    int rc;

    if (log->nsegs && first != log->next_index)
        return sk_err_set(err, EBADMSG,
                          "segment '%s/%020llu.seg': starts at index %llu but the previous "
                          "segment ends at %llu",
                          log->dir, (unsigned long long)first, (unsigned long long)first,
                          (unsigned long long)(log->next_index - 1));
    seg = log_push_segment(log, first);
    seg->fd = open(seg->path, O_RDWR | O_CLOEXEC);
    if (seg->fd < 0)
        return sk_err_sys(err, errno, "open segment '%s'", seg->path);
    memset(&sc, 0, sizeof(sc));
    sc.path = seg->path;
    sc.fd = seg->fd;
    sc.first_index = first;
    sc.min_term = segment_log_last_term(log);
    sc.last = last;
    sc.fn = log_scan_record;
    sc.arg = log;
    rc = segment_scan_file(&sc, err);
    if (rc == 0 && sc.torn)
        rc = log_cut_torn_tail(seg, &sc, err);
    if (rc < 0)
        return sk_err_wrap(err, "segment '%s'", seg->path);
    seg->size = sc.end;
    log->next_index = first + seg->count;
    return 0;
}

static int
log_open_dir(struct segment_log *log, const char *datadir, struct sk_err *err)
{
    int rc;

    rc = store_io_mkdir(datadir, err);
    if (rc == 0)
        rc = store_io_mkdir(log->dir, err);
    if (rc < 0)
        return rc;
    log->dirfd = open(log->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (log->dirfd < 0)
        return sk_err_sys(err, errno, "open log directory '%s'", log->dir);
    /* One process per data dir: two servers appending to the same
     * segments would interleave records. */
    if (flock(log->dirfd, LOCK_EX | LOCK_NB) < 0) {
        if (errno == EWOULDBLOCK)
            return sk_err_set(err, EBUSY, "log directory '%s' is in use by another process",
                              log->dir);
        return sk_err_sys(err, errno, "lock log directory '%s'", log->dir);
    }
    return log_remove_tmp(log, err);
}

int
segment_log_open(struct segment_log **out, const char *datadir, const struct segment_log_opts *opts,
                 struct sk_err *err)
{
    struct segment_log *log = sk_calloc(1, sizeof(*log));
    uint64_t *firsts = NULL;
    size_t n = 0, i;
    int rc;

    *out = NULL;
    log->dirfd = -1;
    log->next_index = 1;
    log->seg_size = opts && opts->segment_size ? opts->segment_size : SEGMENT_DEFAULT_SIZE;
    if (log->seg_size > SEG_MAX_FILE)
        log->seg_size = SEG_MAX_FILE;
    sk_buf_init(&log->wbuf);
    log->dir = sk_asprintf("%s/log", datadir);
    rc = log_open_dir(log, datadir, err);
    if (rc == 0)
        rc = segment_dir_list(log->dir, &firsts, &n, err);
    for (i = 0; rc == 0 && i < n; i++)
        rc = log_load_segment(log, firsts[i], i + 1 == n, err);
    free(firsts);
    if (rc < 0) {
        segment_log_free(log);
        return rc;
    }
    *out = log;
    return 0;
}

void
segment_log_free(struct segment_log *log)
{
    size_t i;

    if (!log)
        return;
    for (i = 0; i < log->nsegs; i++)
        segment_release(&log->segs[i]);
    free(log->segs);
    free(log->runs);
    if (log->dirfd >= 0)
        close(log->dirfd);
    sk_buf_release(&log->wbuf);
    free(log->dir);
    free(log);
}

/* ---- append and sync ---- */

/* Check indexes and terms of a batch; *bytes = its encoded size. */
static int
log_check_batch(struct segment_log *log, const struct segment_entry *ents, size_t n,
                uint64_t *bytes, struct sk_err *err)
{
    uint64_t expect = log->nsegs ? log->next_index : ents[0].index;
    uint64_t term = log->nsegs ? segment_log_last_term(log) : 0;
    size_t i;

    *bytes = 0;
    if (expect == 0)
        return sk_err_set(err, EINVAL, "log index 0 is not valid");
    for (i = 0; i < n; i++) {
        if (ents[i].index != expect + i)
            return sk_err_set(err, EINVAL, "append index %llu, expected %llu",
                              (unsigned long long)ents[i].index, (unsigned long long)(expect + i));
        if (ents[i].term < term)
            return sk_err_set(err, EINVAL, "append index %llu: term %llu lower than %llu",
                              (unsigned long long)ents[i].index, (unsigned long long)ents[i].term,
                              (unsigned long long)term);
        if (ents[i].len > SEGMENT_MAX_PAYLOAD)
            return sk_err_set(err, EFBIG, "append index %llu: payload of %u bytes too large",
                              (unsigned long long)ents[i].index, ents[i].len);
        term = ents[i].term;
        *bytes += SEGMENT_RECORD_HEADER + (uint64_t)ents[i].len;
    }
    return 0;
}

static void
log_encode_batch(struct sk_buf *buf, const struct segment_entry *ents, size_t n)
{
    unsigned char h[SEGMENT_RECORD_HEADER];
    uint32_t crc;
    size_t i;

    sk_buf_reset(buf);
    for (i = 0; i < n; i++) {
        store_le32_put(h, ents[i].len);
        store_le64_put(h + 8, ents[i].term);
        store_le64_put(h + 16, ents[i].index);
        h[24] = ents[i].type;
        crc = crc32c(h + 8, SEGMENT_RECORD_HEADER - 8);
        crc = crc32c_extend(crc, ents[i].data, ents[i].len);
        store_le32_put(h + 4, crc);
        sk_buf_append(buf, h, sizeof(h));
        sk_buf_append(buf, ents[i].data, ents[i].len);
    }
}

/* Make sure the last segment can take `bytes` more, rolling if needed. */
static int
log_make_room(struct segment_log *log, uint64_t first_index, uint64_t bytes, struct sk_err *err)
{
    struct segment *seg = log_active(log);

    if (!seg ||
        (seg->count && (seg->size + bytes > log->seg_size || seg->size + bytes > SEG_MAX_FILE))) {
        if (log_roll(log, first_index, err) < 0)
            return log_fail(log, err);
        seg = log_active(log);
    }
    if (seg->size + bytes > SEG_MAX_FILE)
        return sk_err_set(err, EFBIG, "batch of %llu bytes does not fit in one segment",
                          (unsigned long long)bytes);
    return 0;
}

int
segment_log_append(struct segment_log *log, const struct segment_entry *ents, size_t n,
                   struct sk_err *err)
{
    struct segment *seg;
    uint64_t bytes, off;
    size_t i;
    int rc;

    if (n == 0)
        return 0;
    rc = log_check_usable(log, err);
    if (rc == 0)
        rc = log_check_batch(log, ents, n, &bytes, err);
    if (rc == 0)
        rc = log_make_room(log, ents[0].index, bytes, err);
    if (rc < 0)
        return rc;
    seg = log_active(log);
    log_encode_batch(&log->wbuf, ents, n);
    rc = store_io_pwrite_all(seg->fd, log->wbuf.data, log->wbuf.len, (off_t)seg->size, seg->path,
                             err);
    if (rc < 0) {
        /* Never leave a partial batch behind good records. */
        if (ftruncate(seg->fd, (off_t)seg->size) < 0)
            return log_fail(log, err);
        return rc;
    }
    off = seg->size;
    for (i = 0; i < n; i++) {
        seg_push_offset(seg, off);
        log_note_term(log, ents[i].index, ents[i].term);
        off += SEGMENT_RECORD_HEADER + (uint64_t)ents[i].len;
    }
    seg->size = off;
    log->next_index = ents[n - 1].index + 1;
    log->dirty = 1;
    return 0;
}

int
segment_log_sync(struct segment_log *log, struct sk_err *err)
{
    struct segment *seg = log_active(log);
    int rc;

    rc = log_check_usable(log, err);
    if (rc < 0 || !log->dirty || !seg)
        return rc;
    if (store_io_fdatasync(seg->fd, seg->path, err) < 0)
        return log_fail(log, err);
    log->dirty = 0;
    return 0;
}

/* ---- reads ---- */

static uint64_t
seg_record_size(const struct segment *seg, uint64_t i)
{
    uint64_t end = i + 1 < seg->count ? seg->offs[i + 1] : seg->size;

    return end - seg->offs[i];
}

/* How many entries from lo (below hi) fit in max_bytes, and their size. */
static size_t
log_plan_read(const struct segment_log *log, uint64_t lo, uint64_t hi, uint64_t max_bytes,
              uint64_t *bytes)
{
    size_t s = log_find_segment(log, lo), n = 0;
    const struct segment *seg;
    uint64_t idx, rsz;

    *bytes = 0;
    for (idx = lo; idx < hi; idx++) {
        while (idx >= log->segs[s].first_index + log->segs[s].count)
            s++;
        seg = &log->segs[s];
        rsz = seg_record_size(seg, idx - seg->first_index);
        if (max_bytes && n && *bytes + rsz > max_bytes)
            break;
        *bytes += rsz;
        n++;
    }
    return n;
}

/* Decode and check records [i, i + cnt) of seg, already read into p. */
static int
log_decode_records(const struct segment *seg, uint64_t i, size_t cnt, char *p,
                   struct segment_entry *ents, struct sk_err *err)
{
    const unsigned char *u;
    uint64_t rsz, off;
    uint32_t len;
    size_t k;

    for (k = 0; k < cnt; k++, i++) {
        u = (const unsigned char *)p;
        rsz = seg_record_size(seg, i);
        off = seg->offs[i];
        len = store_le32_get(u);
        if (SEGMENT_RECORD_HEADER + (uint64_t)len != rsz ||
            crc32c(u + 8, SEGMENT_RECORD_HEADER - 8 + (size_t)len) != store_le32_get(u + 4))
            return sk_err_set(err, EBADMSG, "segment '%s': record at offset %llu: crc mismatch",
                              seg->path, (unsigned long long)off);
        ents[k].term = store_le64_get(u + 8);
        ents[k].index = store_le64_get(u + 16);
        ents[k].type = u[24];
        ents[k].data = p + SEGMENT_RECORD_HEADER;
        ents[k].len = len;
        if (ents[k].index != seg->first_index + i)
            return sk_err_set(err, EBADMSG,
                              "segment '%s': record at offset %llu: index %llu, expected %llu",
                              seg->path, (unsigned long long)off, (unsigned long long)ents[k].index,
                              (unsigned long long)(seg->first_index + i));
        p += rsz;
    }
    return 0;
}

int
segment_log_read(struct segment_log *log, uint64_t lo, uint64_t hi, uint64_t max_bytes,
                 struct segment_batch *batch, struct sk_err *err)
{
    const struct segment *seg;
    uint64_t bytes, i, cnt, len, pos = 0;
    size_t n, done = 0, s;
    ssize_t got;
    int rc = 0;

    segment_batch_release(batch);
    if (lo < segment_log_first_index(log) || hi > log->next_index || lo > hi)
        return sk_err_set(err, ENOENT, "entries [%llu, %llu) not in log [%llu, %llu]",
                          (unsigned long long)lo, (unsigned long long)hi,
                          (unsigned long long)segment_log_first_index(log),
                          (unsigned long long)segment_log_last_index(log));
    if (lo == hi)
        return 0;
    n = log_plan_read(log, lo, hi, max_bytes, &bytes);
    batch->ents = sk_calloc(n, sizeof(*batch->ents));
    batch->buf = sk_malloc((size_t)bytes);
    for (s = log_find_segment(log, lo); rc == 0 && done < n; s++) {
        seg = &log->segs[s];
        i = lo + done - seg->first_index;
        cnt = seg->count - i < n - done ? seg->count - i : n - done;
        if (cnt == 0)
            continue;
        len = (i + cnt < seg->count ? seg->offs[i + cnt] : seg->size) - seg->offs[i];
        got = store_io_pread_all(seg->fd, batch->buf + pos, (size_t)len, seg->offs[i], seg->path,
                                 err);
        if (got >= 0 && (uint64_t)got != len)
            got = sk_err_set(err, EIO, "segment '%s': short read at offset %u", seg->path,
                             seg->offs[i]);
        rc = got < 0 ? (int)got
                     : log_decode_records(seg, i, (size_t)cnt, batch->buf + pos, batch->ents + done,
                                          err);
        pos += len;
        done += (size_t)cnt;
    }
    if (rc < 0) {
        segment_batch_release(batch);
        return rc;
    }
    batch->n = n;
    return 0;
}

void
segment_batch_release(struct segment_batch *batch)
{
    free(batch->ents);
    free(batch->buf);
    batch->ents = NULL;
    batch->buf = NULL;
    batch->n = 0;
}

/* ---- truncation, compaction, reset ---- */

static void
log_forget_terms_after(struct segment_log *log, uint64_t last_kept)
{
    while (log->nruns && log->runs[log->nruns - 1].index > last_kept)
        log->nruns--;
}

/* Cut seg so it keeps its first `keep` records, durably. */
static int
seg_cut(struct segment *seg, uint64_t keep, struct sk_err *err)
{
    uint64_t size = keep < seg->count ? seg->offs[keep] : seg->size;
    int rc;

    if (ftruncate(seg->fd, (off_t)size) < 0)
        return sk_err_sys(err, errno, "truncate '%s' to %llu bytes", seg->path,
                          (unsigned long long)size);
    rc = store_io_fsync(seg->fd, seg->path, err);
    if (rc < 0)
        return rc;
    seg->count = keep;
    seg->size = size;
    return 0;
}

int
segment_log_truncate_suffix(struct segment_log *log, uint64_t last_kept, struct sk_err *err)
{
    size_t k;
    uint64_t keep;
    int rc;

    rc = log_check_usable(log, err);
    if (rc < 0 || last_kept + 1 >= log->next_index)
        return rc;
    if (last_kept + 1 < segment_log_first_index(log))
        return sk_err_set(err, EINVAL, "cannot truncate log '%s' after %llu: first index is %llu",
                          log->dir, (unsigned long long)last_kept,
                          (unsigned long long)segment_log_first_index(log));
    k = log_find_segment(log, last_kept + 1);
    while (rc == 0 && log->nsegs - 1 > k)
        rc = log_delete_last(log, err);
    keep = last_kept + 1 - log->segs[k].first_index;
    if (rc == 0 && keep == 0 && k > 0)
        rc = log_delete_last(log, err);
    else if (rc == 0)
        rc = seg_cut(&log->segs[k], keep, err);
    if (rc < 0)
        return log_fail(log, err);
    log->next_index = last_kept + 1;
    log_forget_terms_after(log, last_kept);
    /* Every remaining segment is synced: earlier ones when they were
     * rolled, segs[k] by seg_cut. */
    log->dirty = 0;
    return 0;
}

int
segment_log_drop_prefix(struct segment_log *log, uint64_t index, struct sk_err *err)
{
    struct segment *seg;
    size_t r = 0;
    int rc;

    rc = log_check_usable(log, err);
    if (rc < 0)
        return rc;
    while (log->nsegs > 1 && log->segs[0].first_index + log->segs[0].count <= index) {
        seg = &log->segs[0];
        if (unlink(seg->path) < 0 && errno != ENOENT) {
            sk_err_sys(err, errno, "delete segment '%s'", seg->path);
            return log_fail(log, err);
        }
        if (store_io_fsync(log->dirfd, log->dir, err) < 0)
            return log_fail(log, err);
        segment_release(seg);
        memmove(&log->segs[0], &log->segs[1], (log->nsegs - 1) * sizeof(*log->segs));
        log->nsegs--;
    }
    /* Forget term runs that end before the new first index. */
    while (r + 1 < log->nruns && log->runs[r + 1].index <= log->segs[0].first_index)
        r++;
    if (r) {
        memmove(log->runs, log->runs + r, (log->nruns - r) * sizeof(*log->runs));
        log->nruns -= r;
    }
    return 0;
}

int
segment_log_reset(struct segment_log *log, uint64_t next_index, struct sk_err *err)
{
    int rc;

    rc = log_check_usable(log, err);
    if (rc < 0)
        return rc;
    if (next_index == 0)
        return sk_err_set(err, EINVAL, "log index 0 is not valid");
    while (rc == 0 && log->nsegs)
        rc = log_delete_last(log, err);
    if (rc == 0) {
        log->nruns = 0;
        log->dirty = 0;
        log->next_index = next_index;
        rc = log_create_segment(log, next_index, err);
    }
    return rc < 0 ? log_fail(log, err) : 0;
}
