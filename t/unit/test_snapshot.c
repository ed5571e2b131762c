/* store/snapshot: streamed snapshot files, their checks and retention. */
#include "lib/alloc.h"
#include "lib/err.h"
#include "lib/log.h"
#include "store/snapshot.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONF "members=a@10.0.0.1:7000,b@10.0.0.2:7000,c@10.0.0.3:7000"

static char *
fresh_datadir(const char *name)
{
    static int seq;
    char *dir = sk_asprintf("%s/%s-%d-%d", unit_tmpdir(), name, (int)getpid(), seq++);

    ck_assert_int_eq(mkdir(dir, 0700), 0);
    return dir;
}

static unsigned char *
make_payload(size_t len, uint64_t seed)
{
    unsigned char *p = sk_malloc(len);
    size_t i;

    for (i = 0; i < len; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        p[i] = (unsigned char)(seed >> 56);
    }
    return p;
}

/* Write a snapshot, feeding the payload in chunks of the given sizes
 * (cycled); chunk 0 means all at once. */
static void
write_snapshot(const char *dir, uint64_t term, uint64_t index, const unsigned char *payload,
               size_t len, const size_t *chunks, size_t nchunks)
{
    struct snapshot_writer *w;
    struct sk_err err;
    size_t off = 0, c = 0, n;

    sk_err_init(&err);
    ck_assert_msg(snapshot_writer_begin(&w, dir, term, index, CONF, strlen(CONF), &err) == 0,
                  "begin: %s", err.msg);
    while (off < len) {
        n = nchunks ? chunks[c++ % nchunks] : len;
        if (n > len - off)
            n = len - off;
        ck_assert_int_eq(snapshot_writer_write(w, payload + off, n, &err), 0);
        off += n;
        ck_assert_uint_eq(snapshot_writer_size(w), off);
    }
    ck_assert_msg(snapshot_writer_commit(w, &err) == 0, "commit: %s", err.msg);
}

static void
check_payload(struct snapshot_reader *r, const unsigned char *want, size_t len, size_t chunk)
{
    unsigned char *got = sk_malloc(len + 1);
    size_t off = 0;
    ssize_t n;
    struct sk_err err;

    sk_err_init(&err);
    do {
        n = snapshot_reader_read(r, got + off, chunk, &err);
        ck_assert_msg(n >= 0, "read: %s", err.msg);
        off += (size_t)n;
    } while (n > 0);
    ck_assert_uint_eq(off, len);
    ck_assert(memcmp(got, want, len) == 0);
    free(got);
}

START_TEST(round_trip_keeps_term_index_conf_and_payload)
{
    char *dir = fresh_datadir("roundtrip");
    size_t len = 300000;
    unsigned char *payload = make_payload(len, 1), buf[100];
    const struct snapshot_info *info;
    struct snapshot_reader *r;
    struct snapshot_id *ids;
    struct sk_err err;
    size_t n;

    sk_err_init(&err);
    ck_assert_int_eq(snapshot_open_newest(&r, dir, 0, &err), 0);
    ck_assert_ptr_null(r);
    write_snapshot(dir, 3, 1000, payload, len, NULL, 0);
    ck_assert_int_eq(snapshot_list(dir, &ids, &n, &err), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(ids[0].term, 3);
    ck_assert_uint_eq(ids[0].index, 1000);
    free(ids);
    ck_assert_msg(snapshot_open_newest(&r, dir, 0, &err) == 1, "%s", err.msg);
    info = snapshot_reader_info(r);
    ck_assert_uint_eq(info->term, 3);
    ck_assert_uint_eq(info->index, 1000);
    ck_assert_uint_eq(info->payload_len, len);
    ck_assert_uint_eq(info->conf_len, strlen(CONF));
    ck_assert(memcmp(info->conf, CONF, strlen(CONF)) == 0);
    ck_assert_ptr_nonnull(
        strstr(info->path, "/snap/00000000000000000003-00000000000000001000.snap"));
    ck_assert_int_eq(snapshot_reader_pread(r, buf, sizeof(buf), 12345, &err), (ssize_t)sizeof(buf));
    ck_assert(memcmp(buf, payload + 12345, sizeof(buf)) == 0);
    ck_assert_int_eq(snapshot_reader_pread(r, buf, sizeof(buf), len - 10, &err), 10);
    ck_assert_int_eq(snapshot_reader_pread(r, buf, sizeof(buf), len, &err), 0);
    check_payload(r, payload, len, 4096);
    snapshot_reader_free(r);
    free(payload);
    free(dir);
}
END_TEST

static const struct {
    const char *name;
    size_t chunks[4];
    size_t n;
} chunk_cases[] = {
    {"one byte at a time", {1}, 1},
    {"odd sizes", {7, 4093, 1, 65536}, 4},
    {"bigger than the write buffer", {700000}, 1},
};

START_TEST(chunked_writes_give_the_same_snapshot)
{
    char *dir = fresh_datadir("chunked");
    size_t len = chunk_cases[_i].chunks[0] == 1 ? 20000 : 1000000;
    unsigned char *payload = make_payload(len, 2);
    struct snapshot_reader *r;
    struct sk_err err;

    sk_err_init(&err);
    write_snapshot(dir, 2, 77, payload, len, chunk_cases[_i].chunks, chunk_cases[_i].n);
    ck_assert_msg(snapshot_open_newest(&r, dir, 0, &err) == 1, "%s: %s", chunk_cases[_i].name,
                  err.msg);
    ck_assert_uint_eq(snapshot_reader_info(r)->payload_len, len);
    check_payload(r, payload, len, 777);
    snapshot_reader_free(r);
    free(payload);
    free(dir);
}
END_TEST

START_TEST(empty_payload_and_empty_conf_are_valid)
{
    char *dir = fresh_datadir("empty");
    struct snapshot_writer *w;
    struct snapshot_reader *r;
    unsigned char b[4];
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_eq(snapshot_writer_begin(&w, dir, 1, 1, NULL, 0, &err), 0);
    ck_assert_int_eq(snapshot_writer_commit(w, &err), 0);
    ck_assert_int_eq(snapshot_open_newest(&r, dir, 0, &err), 1);
    ck_assert_uint_eq(snapshot_reader_info(r)->payload_len, 0);
    ck_assert_uint_eq(snapshot_reader_info(r)->conf_len, 0);
    ck_assert_int_eq(snapshot_reader_read(r, b, sizeof(b), &err), 0);
    snapshot_reader_free(r);
    free(dir);
}
END_TEST

static void
flip_byte(const char *path, off_t off)
{
    unsigned char c;
    int fd = open(path, O_RDWR | O_CLOEXEC);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, &c, 1, off), 1);
    c ^= 0x20;
    ck_assert_int_eq(pwrite(fd, &c, 1, off), 1);
    close(fd);
}

/* Byte offsets into a snapshot with conf CONF and a 5000-byte payload. */
static const struct {
    const char *name;
    long off; /* negative: from the end of the file */
    const char *msg;
} flip_cases[] = {
    {"magic", 1, "bad magic at offset 0"},
    {"version", 8, "unsupported version"},
    {"conf length", 13, "(offset 12, 32)"},
    {"conf length past the limit", 14, "exceeds"},
    {"term", 17, "header crc mismatch at offset 40"},
    {"index", 25, "header crc mismatch at offset 40"},
    {"payload length", 33, "(offset 12, 32)"},
    {"header crc", 41, "header crc mismatch at offset 40"},
    {"conf blob", 50, "header crc mismatch at offset 40"},
    {"first payload byte", 48 + sizeof(CONF) - 1, "crc mismatch at offset"},
    {"middle of payload", 2600, "(trailer)"},
    {"last payload byte", -5, "(trailer)"},
    {"trailer", -2, "(trailer)"},
};

START_TEST(any_damage_is_detected_and_named)
{
    char *dir = fresh_datadir("flip");
    unsigned char *payload = make_payload(5000, 3);
    char *path = snapshot_path(dir, 4, 50);
    struct snapshot_reader *r;
    struct stat st;
    struct sk_err err;
    off_t off;

    write_snapshot(dir, 4, 50, payload, 5000, NULL, 0);
    ck_assert_int_eq(stat(path, &st), 0);
    off = flip_cases[_i].off >= 0 ? flip_cases[_i].off : st.st_size + flip_cases[_i].off;
    flip_byte(path, off);
    sk_err_init(&err);
    ck_assert_int_eq(snapshot_open(&r, path, 0, &err), -EBADMSG);
    ck_assert_msg(strstr(err.msg, flip_cases[_i].msg) != NULL, "%s: %s", flip_cases[_i].name,
                  err.msg);
    ck_assert_ptr_nonnull(strstr(err.msg, path));
    ck_assert_ptr_null(r);
    free(path);
    free(payload);
    free(dir);
}
END_TEST

START_TEST(unverified_open_catches_payload_damage_at_the_end_of_reading)
{
    char *dir = fresh_datadir("lazy");
    unsigned char *payload = make_payload(5000, 4), buf[1000];
    char *path = snapshot_path(dir, 4, 50);
    struct snapshot_reader *r;
    struct sk_err err;
    ssize_t n;

    write_snapshot(dir, 4, 50, payload, 5000, NULL, 0);
    flip_byte(path, 3000);
    sk_err_init(&err);
    ck_assert_int_eq(snapshot_open(&r, path, SNAPSHOT_NO_VERIFY, &err), 0);
    do
        n = snapshot_reader_read(r, buf, sizeof(buf), &err);
    while (n > 0);
    ck_assert_int_eq(n, -EBADMSG);
    ck_assert_ptr_nonnull(strstr(err.msg, "(trailer)"));
    snapshot_reader_free(r);
    free(path);
    free(payload);
    free(dir);
}
END_TEST

START_TEST(truncated_or_extended_file_is_refused)
{
    char *dir = fresh_datadir("size");
    unsigned char *payload = make_payload(5000, 5);
    char *path = snapshot_path(dir, 4, 50);
    struct snapshot_reader *r;
    struct stat st;
    struct sk_err err;
    off_t sizes[4];
    int i, fd;

    write_snapshot(dir, 4, 50, payload, 5000, NULL, 0);
    ck_assert_int_eq(stat(path, &st), 0);
    sizes[0] = st.st_size - 1;
    sizes[1] = 100;
    sizes[2] = 10;
    sizes[3] = 0;
    for (i = 0; i < 4; i++) {
        ck_assert_int_eq(truncate(path, sizes[i]), 0);
        sk_err_init(&err);
        ck_assert_int_eq(snapshot_open(&r, path, 0, &err), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(err.msg, path));
    }
    write_snapshot(dir, 4, 50, payload, 5000, NULL, 0);
    fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    ck_assert_int_eq(write(fd, "x", 1), 1);
    close(fd);
    ck_assert_int_eq(snapshot_open(&r, path, SNAPSHOT_NO_VERIFY, &err), -EBADMSG);
    ck_assert_ptr_nonnull(strstr(err.msg, "says"));
    free(path);
    free(payload);
    free(dir);
}
END_TEST

START_TEST(file_renamed_to_another_index_is_refused)
{
    char *dir = fresh_datadir("renamed");
    unsigned char *payload = make_payload(100, 6);
    char *from = snapshot_path(dir, 4, 50), *to = snapshot_path(dir, 4, 60);
    struct snapshot_reader *r;
    struct sk_err err;

    write_snapshot(dir, 4, 50, payload, 100, NULL, 0);
    ck_assert_int_eq(rename(from, to), 0);
    sk_err_init(&err);
    ck_assert_int_eq(snapshot_open_newest(&r, dir, 0, &err), -EBADMSG);
    ck_assert_ptr_nonnull(strstr(err.msg, "not the file name"));
    free(from);
    free(to);
    free(payload);
    free(dir);
}
END_TEST

START_TEST(damaged_newest_is_an_error_unless_skipping_is_asked_for)
{
    char *dir = fresh_datadir("newest");
    unsigned char *payload = make_payload(2000, 7);
    char *newest = snapshot_path(dir, 5, 300);
    struct snapshot_reader *r;
    struct sk_err err;

    write_snapshot(dir, 5, 200, payload, 2000, NULL, 0);
    write_snapshot(dir, 5, 300, payload, 1000, NULL, 0);
    flip_byte(newest, 500);
    sk_err_init(&err);
    ck_assert_int_eq(snapshot_open_newest(&r, dir, 0, &err), -EBADMSG);
    ck_assert_ptr_nonnull(strstr(err.msg, "newest snapshot is damaged"));
    ck_assert_ptr_nonnull(strstr(err.msg, newest));
    ck_assert_ptr_null(r);
    ck_assert_int_eq(snapshot_open_newest(&r, dir, SNAPSHOT_SKIP_INVALID, &err), 1);
    ck_assert_uint_eq(snapshot_reader_info(r)->index, 200);
    check_payload(r, payload, 2000, 300);
    snapshot_reader_free(r);
    free(newest);
    free(payload);
    free(dir);
}
END_TEST

START_TEST(retain_keeps_the_newest_k)
{
    char *dir = fresh_datadir("retain");
    unsigned char *payload = make_payload(64, 8);
    struct snapshot_id *ids;
    struct sk_err err;
    size_t n;
    uint64_t i;

    sk_err_init(&err);
    for (i = 1; i <= 5; i++)
        write_snapshot(dir, 1 + i / 3, i * 100, payload, 64, NULL, 0);
    ck_assert_int_eq(snapshot_retain(dir, 0, &err), 0);
    ck_assert_int_eq(snapshot_list(dir, &ids, &n, &err), 0);
    ck_assert_uint_eq(n, SNAPSHOT_KEEP_DEFAULT);
    ck_assert_uint_eq(ids[0].index, 400);
    ck_assert_uint_eq(ids[1].index, 500);
    free(ids);
    ck_assert_int_eq(snapshot_retain(dir, 5, &err), 0);
    ck_assert_int_eq(snapshot_retain(dir, 1, &err), 0);
    ck_assert_int_eq(snapshot_list(dir, &ids, &n, &err), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(ids[0].index, 500);
    free(ids);
    free(payload);
    free(dir);
}
END_TEST

START_TEST(unfinished_snapshots_are_never_listed)
{
    char *dir = fresh_datadir("unfinished");
    char *tmp = sk_asprintf("%s/snap/00000000000000000009-00000000000000000900.snap.tmp", dir);
    struct snapshot_writer *w;
    struct snapshot_reader *r;
    struct snapshot_id *ids;
    struct sk_err err;
    size_t n;

    sk_err_init(&err);
    ck_assert_int_eq(snapshot_writer_begin(&w, dir, 9, 900, "c", 1, &err), 0);
    ck_assert_int_eq(snapshot_writer_write(w, "data", 4, &err), 0);
    ck_assert_int_eq(access(tmp, F_OK), 0);
    ck_assert_int_eq(snapshot_list(dir, &ids, &n, &err), 0);
    ck_assert_uint_eq(n, 0);
    free(ids);
    ck_assert_int_eq(snapshot_open_newest(&r, dir, 0, &err), 0);
    snapshot_writer_abort(w);
    ck_assert_int_eq(access(tmp, F_OK), -1);

    /* A crash mid-write leaves the temporary; start-up removes it. */
    ck_assert_int_eq(snapshot_writer_begin(&w, dir, 9, 900, "c", 1, &err), 0);
    ck_assert_int_eq(snapshot_writer_write(w, "data", 4, &err), 0);
    ck_assert_int_eq(snapshot_remove_tmp(dir, &err), 0);
    ck_assert_int_eq(access(tmp, F_OK), -1);
    snapshot_writer_abort(w);
    free(tmp);
    free(dir);
}
END_TEST

static uint64_t
file_size_of(const char *dir, uint64_t term, uint64_t index)
{
    char *path = snapshot_path(dir, term, index);
    struct stat st;

    ck_assert_int_eq(stat(path, &st), 0);
    free(path);
    return (uint64_t)st.st_size;
}

/* Write (term, index) with SNAPSHOT_WRITE_RECYCLE, in 100 KiB pieces
 * (past the writer's buffer and writeback chunks for the big one). */
static void
write_recycled(const char *dir, uint64_t term, uint64_t index, const unsigned char *payload,
               size_t len)
{
    struct snapshot_writer *w;
    struct sk_err err;
    size_t off, n;

    sk_err_init(&err);
    ck_assert_int_eq(snapshot_writer_open(&w, dir, term, index, CONF, strlen(CONF),
                                          SNAPSHOT_WRITE_RECYCLE, &err),
                     0);
    for (off = 0; off < len; off += n) {
        n = len - off < (100u << 10) ? len - off : (100u << 10);
        ck_assert_int_eq(snapshot_writer_write(w, payload + off, n, &err), 0);
    }
    ck_assert_msg(snapshot_writer_commit(w, &err) == 0, "commit: %s", err.msg);
}

static void
check_snapshot(const char *dir, uint64_t term, uint64_t index, const unsigned char *payload,
               size_t len)
{
    char *path = snapshot_path(dir, term, index);
    struct snapshot_reader *r;
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_msg(snapshot_open(&r, path, 0, &err) == 0, "open: %s", err.msg);
    ck_assert_uint_eq(snapshot_reader_info(r)->payload_len, len);
    check_payload(r, payload, len, 1u << 20);
    snapshot_reader_free(r);
    free(path);
}

/* A recycling writer takes over the oldest snapshot's file once
 * SNAPSHOT_KEEP_DEFAULT exist, and the result is exactly the new
 * snapshot whether the old file was longer or shorter. */
START_TEST(recycling_writes_over_the_oldest_snapshot)
{
    char *dir = fresh_datadir("recycle");
    size_t big = (9u << 20) + 12345, small = 3000;
    unsigned char *pbig = make_payload(big, 11), *psmall = make_payload(small, 12);
    struct snapshot_id *ids;
    struct sk_err err;
    size_t n;

    sk_err_init(&err);
    /* Fewer than the kept number: a new file, nothing taken over. */
    write_recycled(dir, 1, 100, pbig, big);
    write_recycled(dir, 1, 200, psmall, small);
    ck_assert_int_eq(snapshot_list(dir, &ids, &n, &err), 0);
    ck_assert_uint_eq(n, 2);
    free(ids);
    /* 100 (big) becomes 300 (small): cut to size. */
    write_recycled(dir, 2, 300, psmall, small);
    ck_assert_int_eq(snapshot_list(dir, &ids, &n, &err), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(ids[0].index, 200);
    ck_assert_uint_eq(ids[1].index, 300);
    free(ids);
    ck_assert_uint_eq(file_size_of(dir, 2, 300), file_size_of(dir, 1, 200));
    check_snapshot(dir, 2, 300, psmall, small);
    /* 200 (small) becomes 400 (big): grows. */
    write_recycled(dir, 2, 400, pbig, big);
    check_snapshot(dir, 2, 400, pbig, big);
    check_snapshot(dir, 2, 300, psmall, small);
    ck_assert_int_eq(snapshot_list(dir, &ids, &n, &err), 0);
    ck_assert_uint_eq(n, 2);
    free(ids);
    /* An aborted recycling writer loses only the oldest snapshot. */
    {
        struct snapshot_writer *w;

        ck_assert_int_eq(
            snapshot_writer_open(&w, dir, 2, 500, CONF, strlen(CONF), SNAPSHOT_WRITE_RECYCLE, &err),
            0);
        ck_assert_int_eq(snapshot_writer_write(w, psmall, small, &err), 0);
        snapshot_writer_abort(w);
    }
    ck_assert_int_eq(snapshot_list(dir, &ids, &n, &err), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(ids[0].index, 400);
    free(ids);
    check_snapshot(dir, 2, 400, pbig, big);
    free(pbig);
    free(psmall);
    free(dir);
}
END_TEST

START_TEST(oversized_conf_is_refused)
{
    char *dir = fresh_datadir("bigconf");
    char *conf = sk_calloc(1, SNAPSHOT_CONF_MAX + 1);
    struct snapshot_writer *w;
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_eq(snapshot_writer_begin(&w, dir, 1, 1, conf, SNAPSHOT_CONF_MAX + 1, &err),
                     -EINVAL);
    ck_assert_ptr_null(w);
    free(conf);
    free(dir);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("snapshot");
    TCase *tc = tcase_create("core");

    sk_log_set_level(SK_LOG_ERROR);
    tcase_add_test(tc, round_trip_keeps_term_index_conf_and_payload);
    tcase_add_loop_test(tc, chunked_writes_give_the_same_snapshot, 0,
                        (int)(sizeof(chunk_cases) / sizeof(chunk_cases[0])));
    tcase_add_test(tc, empty_payload_and_empty_conf_are_valid);
    tcase_add_loop_test(tc, any_damage_is_detected_and_named, 0,
                        (int)(sizeof(flip_cases) / sizeof(flip_cases[0])));
    tcase_add_test(tc, unverified_open_catches_payload_damage_at_the_end_of_reading);
    tcase_add_test(tc, truncated_or_extended_file_is_refused);
    tcase_add_test(tc, file_renamed_to_another_index_is_refused);
    tcase_add_test(tc, damaged_newest_is_an_error_unless_skipping_is_asked_for);
    tcase_add_test(tc, retain_keeps_the_newest_k);
    tcase_add_test(tc, unfinished_snapshots_are_never_listed);
    tcase_add_test(tc, recycling_writes_over_the_oldest_snapshot);
    tcase_add_test(tc, oversized_conf_is_refused);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
