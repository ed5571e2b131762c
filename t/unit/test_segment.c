/* store/segment: the Raft log on disk, its recovery rules and fsync'd
 * mutations. Every test reopens the log to check what is on disk. */
#include "lib/alloc.h"
#include "lib/err.h"
#include "lib/log.h"
#include "store/crc32c.h"
#include "store/io.h"
#include "store/segment.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A fresh data dir per call. */
static char *
fresh_datadir(const char *name)
{
    static int seq;
    /* Check forks each test: the pid keeps names apart across tests. */
    char *dir = sk_asprintf("%s/%s-%d-%d", unit_tmpdir(), name, (int)getpid(), seq++);

    ck_assert_int_eq(mkdir(dir, 0700), 0);
    return dir;
}

static char *
seg_file(const char *datadir, uint64_t first)
{
    char *logdir = sk_asprintf("%s/log", datadir);
    char *p = segment_path(logdir, first);

    free(logdir);
    return p;
}

/* Payload of entry i: variable length so offsets are irregular. */
static size_t
payload_for(uint64_t index, char *buf, size_t bufsz)
{
    size_t len = (size_t)snprintf(buf, bufsz, "entry-%llu-", (unsigned long long)index);

    while (len < 8 + index % 23 && len + 1 < bufsz)
        buf[len++] = (char)('a' + index % 26);
    buf[len] = '\0';
    return len;
}

static uint64_t
term_for(uint64_t index)
{
    return 1 + index / 10;
}

static struct segment_log *
open_log(const char *datadir, uint64_t seg_size)
{
    struct segment_log_opts opts = {seg_size};
    struct segment_log *log = NULL;
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_msg(segment_log_open(&log, datadir, &opts, &err) == 0, "open: %s", err.msg);
    return log;
}

/* Append [lo, hi) in batches of `batch`, syncing after each batch. */
static void
append_range(struct segment_log *log, uint64_t lo, uint64_t hi, size_t batch)
{
    struct segment_entry ents[64];
    char bufs[64][64];
    struct sk_err err;
    size_t n;

    ck_assert_uint_le(batch, 64);
    sk_err_init(&err);
    while (lo < hi) {
        for (n = 0; n < batch && lo + n < hi; n++) {
            ents[n].index = lo + n;
            ents[n].term = term_for(lo + n);
            ents[n].type = (uint8_t)((lo + n) % 3);
            ents[n].len = (uint32_t)payload_for(lo + n, bufs[n], sizeof(bufs[n]));
            ents[n].data = bufs[n];
        }
        ck_assert_msg(segment_log_append(log, ents, n, &err) == 0, "append: %s", err.msg);
        ck_assert_msg(segment_log_sync(log, &err) == 0, "sync: %s", err.msg);
        lo += n;
    }
}

/* Check that [lo, hi) reads back exactly as append_range wrote it. */
static void
check_range(struct segment_log *log, uint64_t lo, uint64_t hi)
{
    struct segment_batch b = SEGMENT_BATCH_INIT;
    struct sk_err err;
    char want[64];
    size_t i, len;
    uint64_t term;

    sk_err_init(&err);
    ck_assert_msg(segment_log_read(log, lo, hi, 0, &b, &err) == 0, "read: %s", err.msg);
    ck_assert_uint_eq(b.n, hi - lo);
    for (i = 0; i < b.n; i++) {
        len = payload_for(lo + i, want, sizeof(want));
        ck_assert_uint_eq(b.ents[i].index, lo + i);
        ck_assert_uint_eq(b.ents[i].term, term_for(lo + i));
        ck_assert_uint_eq(b.ents[i].type, (lo + i) % 3);
        ck_assert_uint_eq(b.ents[i].len, len);
        ck_assert(memcmp(b.ents[i].data, want, len) == 0);
        ck_assert_int_eq(segment_log_term(log, lo + i, &term, &err), 0);
        ck_assert_uint_eq(term, term_for(lo + i));
    }
    segment_batch_release(&b);
}

static uint64_t
file_size(const char *path)
{
    struct stat st;

    ck_assert_int_eq(stat(path, &st), 0);
    return (uint64_t)st.st_size;
}

static void
copy_file_prefix(const char *from, const char *to, uint64_t len)
{
    char *buf = sk_malloc((size_t)len);
    int in, out;

    in = open(from, O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(in, 0);
    ck_assert_int_eq(pread(in, buf, (size_t)len, 0), (ssize_t)len);
    close(in);
    out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ck_assert_int_ge(out, 0);
    ck_assert_int_eq(write(out, buf, (size_t)len), (ssize_t)len);
    close(out);
    free(buf);
}

static void
flip_bit(const char *path, uint64_t off, unsigned bit)
{
    unsigned char c;
    int fd = open(path, O_RDWR | O_CLOEXEC);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, &c, 1, (off_t)off), 1);
    c ^= (unsigned char)(1u << bit);
    ck_assert_int_eq(pwrite(fd, &c, 1, (off_t)off), 1);
    close(fd);
}

/* Record offsets of segment `path` (scanned as a non-last segment). */
static size_t
record_offsets(const char *path, uint64_t first, uint64_t *offs, size_t max)
{
    uint64_t off = SEGMENT_HEADER_SIZE, size = file_size(path);
    unsigned char h[4];
    size_t n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    ck_assert_int_ge(fd, 0);
    while (off < size && n < max) {
        ck_assert_int_eq(pread(fd, h, 4, (off_t)off), 4);
        offs[n++] = off;
        off += SEGMENT_RECORD_HEADER + store_le32_get(h);
    }
    close(fd);
    return n;
}

static int
open_expect_error(const char *datadir, struct sk_err *err)
{
    struct segment_log *log = NULL;
    int rc;

    sk_err_init(err);
    rc = segment_log_open(&log, datadir, NULL, err);
    segment_log_free(log);
    return rc;
}

START_TEST(append_read_round_trip_survives_reopen)
{
    char *dir = fresh_datadir("roundtrip");
    struct segment_log *log = open_log(dir, 0);
    char *seg1 = seg_file(dir, 1);

    ck_assert_uint_eq(segment_log_first_index(log), 1);
    ck_assert_uint_eq(segment_log_last_index(log), 0);
    ck_assert_uint_eq(segment_log_last_term(log), 0);
    append_range(log, 1, 201, 17);
    check_range(log, 1, 201);
    check_range(log, 50, 51);
    ck_assert_uint_eq(segment_log_last_term(log), term_for(200));
    segment_log_free(log);
    ck_assert_uint_gt(file_size(seg1), SEGMENT_HEADER_SIZE);

    log = open_log(dir, 0);
    ck_assert_uint_eq(segment_log_first_index(log), 1);
    ck_assert_uint_eq(segment_log_last_index(log), 200);
    ck_assert_uint_eq(segment_log_nsegments(log), 1);
    check_range(log, 1, 201);
    append_range(log, 201, 260, 64);
    segment_log_free(log);
    log = open_log(dir, 0);
    check_range(log, 1, 260);
    segment_log_free(log);
    free(seg1);
    free(dir);
}
END_TEST

START_TEST(read_honours_max_bytes_but_returns_one_entry)
{
    char *dir = fresh_datadir("maxbytes");
    struct segment_log *log = open_log(dir, 0);
    struct segment_batch b = SEGMENT_BATCH_INIT;
    struct sk_err err;
    uint64_t total = 0;
    size_t i;

    sk_err_init(&err);
    append_range(log, 1, 101, 10);
    ck_assert_int_eq(segment_log_read(log, 1, 101, 200, &b, &err), 0);
    ck_assert_uint_gt(b.n, 1);
    ck_assert_uint_lt(b.n, 100);
    for (i = 0; i < b.n; i++)
        total += SEGMENT_RECORD_HEADER + b.ents[i].len;
    ck_assert_uint_le(total, 200);
    ck_assert_int_eq(segment_log_read(log, 5, 101, 1, &b, &err), 0);
    ck_assert_uint_eq(b.n, 1);
    ck_assert_uint_eq(b.ents[0].index, 5);
    ck_assert_int_eq(segment_log_read(log, 7, 7, 0, &b, &err), 0);
    ck_assert_uint_eq(b.n, 0);
    ck_assert_int_eq(segment_log_read(log, 0, 5, 0, &b, &err), -ENOENT);
    ck_assert_int_eq(segment_log_read(log, 90, 102, 0, &b, &err), -ENOENT);
    segment_batch_release(&b);
    segment_log_free(log);
    free(dir);
}
END_TEST

START_TEST(append_rejects_gaps_and_decreasing_terms)
{
    char *dir = fresh_datadir("badappend");
    struct segment_log *log = open_log(dir, 0);
    struct segment_entry e = {1, 11, 0, "x", 1};
    struct sk_err err;

    sk_err_init(&err);
    append_range(log, 1, 11, 10);
    ck_assert_int_eq(segment_log_append(log, &e, 1, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "append index 11: term 1 lower than 2");
    e.term = 9;
    e.index = 13;
    ck_assert_int_eq(segment_log_append(log, &e, 1, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "append index 13, expected 11");
    check_range(log, 1, 11);
    segment_log_free(log);
    free(dir);
}
END_TEST

/* Cut the only segment at every length from the end of the header to
 * its full size: each reopen keeps exactly the records wholly before the
 * cut and removes the torn bytes. */
START_TEST(torn_tail_at_every_byte_offset_keeps_earlier_records)
{
    char *src = fresh_datadir("torn-src");
    struct segment_log *log = open_log(src, 0);
    char *srcseg = seg_file(src, 1);
    uint64_t offs[32], size, cut, want;
    size_t n, k;

    append_range(log, 1, 13, 4);
    segment_log_free(log);
    size = file_size(srcseg);
    n = record_offsets(srcseg, 1, offs, 32);
    ck_assert_uint_eq(n, 12);
    for (cut = SEGMENT_HEADER_SIZE; cut <= size; cut++) {
        char *dir = fresh_datadir("torn");
        char *logdir = sk_asprintf("%s/log", dir);
        char *dst = seg_file(dir, 1);

        ck_assert_int_eq(mkdir(logdir, 0700), 0);
        copy_file_prefix(srcseg, dst, cut);
        for (k = 0, want = 0; k < n; k++)
            if ((k + 1 < n ? offs[k + 1] : size) <= cut)
                want = k + 1;
        log = open_log(dir, 0);
        ck_assert_msg(segment_log_last_index(log) == want, "cut at %llu: last %llu, want %llu",
                      (unsigned long long)cut, (unsigned long long)segment_log_last_index(log),
                      (unsigned long long)want);
        if (want)
            check_range(log, 1, want + 1);
        ck_assert_uint_eq(file_size(dst), want ? (want < n ? offs[want] : size) : offs[0]);
        /* The log continues cleanly after the cut. */
        append_range(log, want + 1, 14, 5);
        segment_log_free(log);
        log = open_log(dir, 0);
        check_range(log, 1, 14);
        segment_log_free(log);
        free(dst);
        free(logdir);
        free(dir);
    }
    free(srcseg);
    free(src);
}
END_TEST

START_TEST(segment_shorter_than_its_header_is_refused)
{
    char *dir = fresh_datadir("shorthdr");
    struct segment_log *log = open_log(dir, 0);
    char *seg = seg_file(dir, 1);
    struct sk_err err;

    append_range(log, 1, 3, 2);
    segment_log_free(log);
    ck_assert_int_eq(truncate(seg, 20), 0);
    ck_assert_int_eq(open_expect_error(dir, &err), -EBADMSG);
    ck_assert_ptr_nonnull(strstr(err.msg, "00000000000000000001.seg"));
    ck_assert_ptr_nonnull(strstr(err.msg, "header at offset 0: file too short"));
    ck_assert_uint_eq(file_size(seg), 20);
    free(seg);
    free(dir);
}
END_TEST

/* Which byte of the 5th of 10 records to damage, and the bit. */
static const struct {
    const char *name;
    unsigned off;
    unsigned bit;
    const char *why;
} mid_flip_cases[] = {
    {"length grows past the end of file", 2, 0, "runs past end of file"},
    {"length grows past any record", 3, 6, "impossible length"},
    {"length shrinks", 0, 2, "crc mismatch"},
    {"crc", 5, 0, "crc mismatch"},
    {"term", 9, 1, "crc mismatch"},
    {"index", 16, 0, "crc mismatch"},
    {"type", 24, 7, "crc mismatch"},
    {"payload", 27, 3, "crc mismatch"},
};

START_TEST(bit_flip_in_middle_record_is_an_error_naming_file_and_offset)
{
    char *dir = fresh_datadir("midflip");
    struct segment_log *log = open_log(dir, 0);
    char *seg = seg_file(dir, 1);
    uint64_t offs[32], size;
    struct sk_err err;
    char want[128];

    append_range(log, 1, 11, 10);
    segment_log_free(log);
    size = file_size(seg);
    ck_assert_uint_eq(record_offsets(seg, 1, offs, 32), 10);
    flip_bit(seg, offs[4] + mid_flip_cases[_i].off, mid_flip_cases[_i].bit);
    ck_assert_int_eq(open_expect_error(dir, &err), -EBADMSG);
    snprintf(want, sizeof(want),
             "00000000000000000001.seg': record at offset %llu: ", (unsigned long long)offs[4]);
    ck_assert_msg(strstr(err.msg, want) != NULL, "%s: got: %s", mid_flip_cases[_i].name, err.msg);
    ck_assert_msg(strstr(err.msg, mid_flip_cases[_i].why) != NULL, "%s: got: %s",
                  mid_flip_cases[_i].name, err.msg);
    ck_assert_ptr_nonnull(strstr(err.msg, "followed by a valid record"));
    /* Refusing to start changes nothing on disk. */
    ck_assert_uint_eq(file_size(seg), size);
    free(seg);
    free(dir);
}
END_TEST

START_TEST(bit_flip_in_tail_record_is_truncated)
{
    char *dir = fresh_datadir("tailflip");
    struct segment_log *log = open_log(dir, 0);
    char *seg = seg_file(dir, 1);
    uint64_t offs[32];
    unsigned bit;

    append_range(log, 1, 11, 10);
    segment_log_free(log);
    record_offsets(seg, 1, offs, 32);
    for (bit = 0; bit < 8; bit += 3)
        flip_bit(seg, offs[9] + 12, bit); /* inside the term field */
    log = open_log(dir, 0);
    ck_assert_uint_eq(segment_log_last_index(log), 9);
    ck_assert_uint_eq(file_size(seg), offs[9]);
    check_range(log, 1, 10);
    segment_log_free(log);
    free(seg);
    free(dir);
}
END_TEST

START_TEST(bad_record_in_a_non_last_segment_is_an_error)
{
    char *dir = fresh_datadir("oldflip");
    struct segment_log *log = open_log(dir, 400);
    uint64_t offs[64], first2;
    struct sk_err err;
    char *seg, want[128];
    size_t n;

    append_range(log, 1, 61, 5);
    ck_assert_uint_gt(segment_log_nsegments(log), 2);
    segment_log_free(log);
    seg = seg_file(dir, 1);
    n = record_offsets(seg, 1, offs, 64);
    first2 = 1 + n;
    /* Even the last record of an old segment is not a torn tail. */
    flip_bit(seg, offs[n - 1] + 5, 0);
    ck_assert_int_eq(open_expect_error(dir, &err), -EBADMSG);
    snprintf(want, sizeof(want), "00000000000000000001.seg': record at offset %llu: crc mismatch",
             (unsigned long long)offs[n - 1]);
    ck_assert_msg(strstr(err.msg, want) != NULL, "got: %s", err.msg);
    ck_assert_uint_gt(first2, 1);
    free(seg);
    free(dir);
}
END_TEST

START_TEST(missing_middle_segment_is_a_gap_error)
{
    char *dir = fresh_datadir("gap");
    struct segment_log *log = open_log(dir, 300);
    char *logdir = sk_asprintf("%s/log", dir);
    uint64_t *firsts;
    struct sk_err err;
    char *victim;
    size_t n;

    append_range(log, 1, 61, 5);
    segment_log_free(log);
    sk_err_init(&err);
    ck_assert_int_eq(segment_dir_list(logdir, &firsts, &n, &err), 0);
    ck_assert_uint_ge(n, 3);
    victim = segment_path(logdir, firsts[1]);
    ck_assert_int_eq(unlink(victim), 0);
    ck_assert_int_eq(open_expect_error(dir, &err), -EBADMSG);
    ck_assert_msg(strstr(err.msg, "but the previous segment ends at") != NULL, "got: %s", err.msg);
    free(victim);
    free(firsts);
    free(logdir);
    free(dir);
}
END_TEST

/* Write a segment by hand: valid crcs, but indexes as given. */
static void
write_raw_segment(const char *path, uint64_t first, const uint64_t *idx, const uint64_t *terms,
                  size_t n)
{
    unsigned char h[SEGMENT_HEADER_SIZE], r[SEGMENT_RECORD_HEADER + 3];
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    size_t i;

    ck_assert_int_ge(fd, 0);
    memset(h, 0, sizeof(h));
    memcpy(h, "SKFSEG1", 8);
    store_le32_put(h + 8, 1);
    store_le64_put(h + 16, first);
    store_le32_put(h + 28, crc32c(h, 28));
    ck_assert_int_eq(write(fd, h, sizeof(h)), (ssize_t)sizeof(h));
    for (i = 0; i < n; i++) {
        store_le32_put(r, 3);
        store_le64_put(r + 8, terms[i]);
        store_le64_put(r + 16, idx[i]);
        r[24] = 0;
        memcpy(r + 25, "abc", 3);
        store_le32_put(r + 4, crc32c(r + 8, sizeof(r) - 8));
        ck_assert_int_eq(write(fd, r, sizeof(r)), (ssize_t)sizeof(r));
    }
    close(fd);
}

static const struct {
    const char *name;
    uint64_t idx[4];
    uint64_t terms[4];
    const char *msg;
} order_cases[] = {
    {"index going backwards",
     {1, 2, 1, 3},
     {1, 1, 1, 1},
     "record at offset 88: index 1, expected 3"},
    {"index gap", {1, 2, 4, 5}, {1, 1, 1, 1}, "record at offset 88: index 4, expected 3"},
    {"term going backwards", {1, 2, 3, 4}, {2, 2, 1, 2}, "record at offset 88: index 3: term 1"},
    {"first record not at first index", {2, 3, 4, 5}, {1, 1, 1, 1}, "record at offset 32: index 2"},
};

START_TEST(valid_records_out_of_order_are_errors_even_at_the_tail)
{
    char *dir = fresh_datadir("order");
    char *logdir = sk_asprintf("%s/log", dir);
    char *seg = seg_file(dir, 1);
    struct sk_err err;
    int i = _i;

    ck_assert_int_eq(mkdir(logdir, 0700), 0);
    write_raw_segment(seg, 1, order_cases[i].idx, order_cases[i].terms, 4);
    ck_assert_int_eq(open_expect_error(dir, &err), -EBADMSG);
    ck_assert_msg(strstr(err.msg, order_cases[i].msg) != NULL, "%s: got: %s", order_cases[i].name,
                  err.msg);
    ck_assert_ptr_nonnull(strstr(err.msg, "00000000000000000001.seg"));
    free(seg);
    free(logdir);
    free(dir);
}
END_TEST

START_TEST(header_naming_another_index_is_refused)
{
    char *dir = fresh_datadir("hdrname");
    char *logdir = sk_asprintf("%s/log", dir);
    char *seg = seg_file(dir, 7);
    uint64_t idx[1] = {5}, terms[1] = {1};
    struct sk_err err;

    ck_assert_int_eq(mkdir(logdir, 0700), 0);
    write_raw_segment(seg, 5, idx, terms, 1);
    ck_assert_int_eq(open_expect_error(dir, &err), -EBADMSG);
    ck_assert_ptr_nonnull(strstr(err.msg, "first index 5 does not match file name"));
    free(seg);
    free(logdir);
    free(dir);
}
END_TEST

START_TEST(segments_roll_past_the_size_limit)
{
    char *dir = fresh_datadir("roll");
    struct segment_log *log = open_log(dir, 512);
    char *logdir = sk_asprintf("%s/log", dir);
    uint64_t *firsts, prev_end = 0;
    struct sk_err err;
    size_t n, i;
    char *p;

    append_range(log, 1, 301, 7);
    ck_assert_uint_gt(segment_log_nsegments(log), 10);
    check_range(log, 1, 301);
    segment_log_free(log);
    sk_err_init(&err);
    ck_assert_int_eq(segment_dir_list(logdir, &firsts, &n, &err), 0);
    ck_assert_uint_eq(firsts[0], 1);
    for (i = 0; i < n; i++) {
        p = segment_path(logdir, firsts[i]);
        /* Batches never straddle segments; one batch may overshoot. */
        ck_assert_uint_le(file_size(p), 512 + 7 * 64);
        ck_assert_uint_gt(firsts[i], prev_end);
        prev_end = firsts[i];
        free(p);
    }
    log = open_log(dir, 512);
    ck_assert_uint_eq(segment_log_nsegments(log), n);
    check_range(log, 1, 301);
    check_range(log, 40, 250);
    segment_log_free(log);
    free(firsts);
    free(logdir);
    free(dir);
}
END_TEST

/* segment_log_bytes counts the records in a range, across segments,
 * and nothing outside the log. */
START_TEST(bytes_of_a_range_sum_its_records_across_segments)
{
    char *dir = fresh_datadir("bytes");
    struct segment_log *log = open_log(dir, 512);
    char buf[64];
    uint64_t want = 0, i;

    append_range(log, 1, 301, 7);
    ck_assert_uint_gt(segment_log_nsegments(log), 10);
    for (i = 40; i < 250; i++)
        want += SEGMENT_RECORD_HEADER + payload_for(i, buf, sizeof(buf));
    ck_assert_uint_eq(segment_log_bytes(log, 40, 250), want);
    for (i = 250; i < 301; i++)
        want += SEGMENT_RECORD_HEADER + payload_for(i, buf, sizeof(buf));
    ck_assert_uint_eq(segment_log_bytes(log, 40, 1000), want);
    ck_assert_uint_eq(segment_log_bytes(log, 1, 1), 0);
    ck_assert_uint_eq(segment_log_bytes(log, 250, 40), 0);
    ck_assert_uint_eq(segment_log_bytes(log, 301, 400), 0);
    ck_assert_uint_eq(segment_log_bytes(log, 0, 2),
                      SEGMENT_RECORD_HEADER + payload_for(1, buf, sizeof(buf)));
    segment_log_free(log);
    free(dir);
}
END_TEST

static const struct {
    const char *name;
    uint64_t last_kept;
} truncate_cases[] = {
    {"inside the last segment", 295},
    {"inside an older segment", 120},
    {"at a segment boundary", 0 /* computed: end of the second segment */},
    {"everything", 0},
    {"nothing", 300},
};

START_TEST(truncate_suffix_removes_later_entries_durably)
{
    char *dir = fresh_datadir("truncsuffix");
    struct segment_log *log = open_log(dir, 512);
    uint64_t keep = truncate_cases[_i].last_kept;
    struct sk_err err;
    uint64_t term;

    sk_err_init(&err);
    append_range(log, 1, 301, 7);
    if (_i == 2) {
        char *logdir = sk_asprintf("%s/log", dir);
        uint64_t *firsts;
        size_t n;

        ck_assert_int_eq(segment_dir_list(logdir, &firsts, &n, &err), 0);
        keep = firsts[2] - 1;
        free(firsts);
        free(logdir);
    }
    ck_assert_msg(segment_log_truncate_suffix(log, keep, &err) == 0, "%s: %s",
                  truncate_cases[_i].name, err.msg);
    ck_assert_uint_eq(segment_log_last_index(log), keep);
    ck_assert_int_eq(segment_log_term(log, keep + 1, &term, &err), -ENOENT);
    segment_log_free(log);

    log = open_log(dir, 512);
    ck_assert_uint_eq(segment_log_last_index(log), keep);
    ck_assert_uint_eq(segment_log_first_index(log), 1);
    if (keep)
        check_range(log, 1, keep + 1);
    /* New entries (as from a new leader) follow the cut. */
    append_range(log, keep + 1, keep + 40, 9);
    segment_log_free(log);
    log = open_log(dir, 512);
    check_range(log, 1, keep + 40);
    segment_log_free(log);
    free(dir);
}
END_TEST

START_TEST(truncate_below_first_index_is_refused)
{
    char *dir = fresh_datadir("truncbelow");
    struct segment_log *log = open_log(dir, 256);
    struct sk_err err;

    sk_err_init(&err);
    append_range(log, 1, 101, 5);
    ck_assert_int_eq(segment_log_drop_prefix(log, 50, &err), 0);
    ck_assert_uint_gt(segment_log_first_index(log), 2);
    ck_assert_int_eq(segment_log_truncate_suffix(log, 0, &err), -EINVAL);
    segment_log_free(log);
    free(dir);
}
END_TEST

START_TEST(drop_prefix_deletes_only_whole_older_segments)
{
    char *dir = fresh_datadir("dropprefix");
    struct segment_log *log = open_log(dir, 512);
    struct segment_batch b = SEGMENT_BATCH_INIT;
    struct sk_err err;
    uint64_t first, term;
    size_t before;

    sk_err_init(&err);
    append_range(log, 1, 301, 7);
    before = segment_log_nsegments(log);
    ck_assert_int_eq(segment_log_drop_prefix(log, 150, &err), 0);
    first = segment_log_first_index(log);
    ck_assert_uint_le(first, 150);
    ck_assert_uint_gt(first, 100);
    ck_assert_uint_lt(segment_log_nsegments(log), before);
    check_range(log, first, 301);
    ck_assert_int_eq(segment_log_read(log, first - 1, first + 1, 0, &b, &err), -ENOENT);
    ck_assert_int_eq(segment_log_term(log, first - 1, &term, &err), -ENOENT);
    segment_log_free(log);

    log = open_log(dir, 512);
    ck_assert_uint_eq(segment_log_first_index(log), first);
    check_range(log, first, 301);
    /* The last segment is never dropped, even past its end. */
    ck_assert_int_eq(segment_log_drop_prefix(log, 10000, &err), 0);
    ck_assert_uint_eq(segment_log_nsegments(log), 1);
    ck_assert_uint_eq(segment_log_last_index(log), 300);
    append_range(log, 301, 320, 4);
    segment_log_free(log);
    log = open_log(dir, 512);
    check_range(log, segment_log_first_index(log), 320);
    segment_log_free(log);
    free(dir);
}
END_TEST

START_TEST(reset_starts_an_empty_log_at_a_new_index)
{
    char *dir = fresh_datadir("reset");
    struct segment_log *log = open_log(dir, 512);
    struct sk_err err;

    sk_err_init(&err);
    append_range(log, 1, 101, 7);
    ck_assert_int_eq(segment_log_reset(log, 5001, &err), 0);
    ck_assert_uint_eq(segment_log_first_index(log), 5001);
    ck_assert_uint_eq(segment_log_last_index(log), 5000);
    ck_assert_uint_eq(segment_log_last_term(log), 0);
    segment_log_free(log);
    log = open_log(dir, 512);
    ck_assert_uint_eq(segment_log_nsegments(log), 1);
    ck_assert_uint_eq(segment_log_first_index(log), 5001);
    ck_assert_uint_eq(segment_log_last_index(log), 5000);
    append_range(log, 5001, 5050, 10);
    check_range(log, 5001, 5050);
    segment_log_free(log);
    free(dir);
}
END_TEST

START_TEST(empty_log_without_segments_accepts_any_first_index)
{
    char *dir = fresh_datadir("anyfirst");
    struct segment_log *log = open_log(dir, 0);

    append_range(log, 77, 90, 5);
    ck_assert_uint_eq(segment_log_first_index(log), 77);
    segment_log_free(log);
    log = open_log(dir, 0);
    ck_assert_uint_eq(segment_log_first_index(log), 77);
    check_range(log, 77, 90);
    segment_log_free(log);
    free(dir);
}
END_TEST

START_TEST(leftover_segment_tmp_is_removed_on_open)
{
    char *dir = fresh_datadir("tmpleft");
    struct segment_log *log = open_log(dir, 0);
    char *tmp = sk_asprintf("%s/log/00000000000000000100.seg.tmp", dir);
    int fd;

    append_range(log, 1, 10, 3);
    segment_log_free(log);
    fd = open(tmp, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "junk", 4), 4);
    close(fd);
    log = open_log(dir, 0);
    ck_assert_int_eq(access(tmp, F_OK), -1);
    check_range(log, 1, 10);
    segment_log_free(log);
    free(tmp);
    free(dir);
}
END_TEST

START_TEST(second_open_of_the_same_dir_is_refused)
{
    char *dir = fresh_datadir("locked");
    struct segment_log *log = open_log(dir, 0);
    struct sk_err err;

    ck_assert_int_eq(open_expect_error(dir, &err), -EBUSY);
    ck_assert_ptr_nonnull(strstr(err.msg, "in use by another process"));
    segment_log_free(log);
    log = open_log(dir, 0);
    segment_log_free(log);
    free(dir);
}
END_TEST

START_TEST(many_small_batched_appends_with_one_sync_each)
{
    char *dir = fresh_datadir("many");
    struct segment_log *log = open_log(dir, 1 << 20);

    append_range(log, 1, 20001, 50);
    check_range(log, 1, 20001);
    segment_log_free(log);
    log = open_log(dir, 1 << 20);
    ck_assert_uint_eq(segment_log_last_index(log), 20000);
    check_range(log, 19000, 20001);
    segment_log_free(log);
    free(dir);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("segment");
    TCase *tc = tcase_create("core");

    sk_log_set_level(SK_LOG_ERROR);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, append_read_round_trip_survives_reopen);
    tcase_add_test(tc, read_honours_max_bytes_but_returns_one_entry);
    tcase_add_test(tc, append_rejects_gaps_and_decreasing_terms);
    tcase_add_test(tc, torn_tail_at_every_byte_offset_keeps_earlier_records);
    tcase_add_test(tc, segment_shorter_than_its_header_is_refused);
    tcase_add_loop_test(tc, bit_flip_in_middle_record_is_an_error_naming_file_and_offset, 0,
                        (int)(sizeof(mid_flip_cases) / sizeof(mid_flip_cases[0])));
    tcase_add_test(tc, bit_flip_in_tail_record_is_truncated);
    tcase_add_test(tc, bad_record_in_a_non_last_segment_is_an_error);
    tcase_add_test(tc, missing_middle_segment_is_a_gap_error);
    tcase_add_loop_test(tc, valid_records_out_of_order_are_errors_even_at_the_tail, 0,
                        (int)(sizeof(order_cases) / sizeof(order_cases[0])));
    tcase_add_test(tc, header_naming_another_index_is_refused);
    tcase_add_test(tc, segments_roll_past_the_size_limit);
    tcase_add_test(tc, bytes_of_a_range_sum_its_records_across_segments);
    tcase_add_loop_test(tc, truncate_suffix_removes_later_entries_durably, 0,
                        (int)(sizeof(truncate_cases) / sizeof(truncate_cases[0])));
    tcase_add_test(tc, truncate_below_first_index_is_refused);
    tcase_add_test(tc, drop_prefix_deletes_only_whole_older_segments);
    tcase_add_test(tc, reset_starts_an_empty_log_at_a_new_index);
    tcase_add_test(tc, empty_log_without_segments_accepts_any_first_index);
    tcase_add_test(tc, leftover_segment_tmp_is_removed_on_open);
    tcase_add_test(tc, second_open_of_the_same_dir_is_refused);
    tcase_add_test(tc, many_small_batched_appends_with_one_sync_each);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
