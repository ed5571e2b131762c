/* store/meta: term and vote, replaced atomically, never silently reset. */
#include "lib/alloc.h"
#include "lib/err.h"
#include "store/meta.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *
fresh_datadir(const char *name)
{
    static int seq;
    char *dir = sk_asprintf("%s/%s-%d-%d", unit_tmpdir(), name, (int)getpid(), seq++);

    ck_assert_int_eq(mkdir(dir, 0700), 0);
    return dir;
}

static void
store_ok(const char *dir, uint64_t term, const char *vote)
{
    struct meta m;
    struct sk_err err;

    memset(&m, 0, sizeof(m));
    m.term = term;
    snprintf(m.vote, sizeof(m.vote), "%s", vote);
    sk_err_init(&err);
    ck_assert_msg(meta_store(dir, &m, &err) == 0, "store: %s", err.msg);
}

static void
write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
    close(fd);
}

static size_t
read_file(const char *path, unsigned char *buf, size_t max)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    ck_assert_int_ge(fd, 0);
    n = read(fd, buf, max);
    ck_assert_int_ge(n, 0);
    close(fd);
    return (size_t)n;
}

START_TEST(missing_meta_is_a_fresh_node)
{
    char *dir = fresh_datadir("fresh");
    struct meta m;
    struct sk_err err;

    sk_err_init(&err);
    memset(&m, 0x55, sizeof(m));
    ck_assert_int_eq(meta_load(dir, &m, &err), 0);
    ck_assert_uint_eq(m.term, 0);
    ck_assert_str_eq(m.vote, "");
    free(dir);
}
END_TEST

START_TEST(store_then_load_round_trips_and_replaces)
{
    char *dir = fresh_datadir("roundtrip");
    char *tmp = sk_asprintf("%s/meta.tmp", dir);
    struct meta m;
    struct sk_err err;

    sk_err_init(&err);
    store_ok(dir, 3, "node-a");
    ck_assert_int_eq(meta_load(dir, &m, &err), 1);
    ck_assert_uint_eq(m.term, 3);
    ck_assert_str_eq(m.vote, "node-a");
    store_ok(dir, 4, "");
    ck_assert_int_eq(meta_load(dir, &m, &err), 1);
    ck_assert_uint_eq(m.term, 4);
    ck_assert_str_eq(m.vote, "");
    store_ok(dir, UINT64_MAX, "0123456789abcdef");
    ck_assert_int_eq(meta_load(dir, &m, &err), 1);
    ck_assert_uint_eq(m.term, UINT64_MAX);
    ck_assert_str_eq(m.vote, "0123456789abcdef");
    /* The temporary file is renamed away, never left behind. */
    ck_assert_int_eq(access(tmp, F_OK), -1);
    free(tmp);
    free(dir);
}
END_TEST

START_TEST(longest_vote_fits_and_longer_is_refused)
{
    char *dir = fresh_datadir("longvote");
    struct meta m;
    struct sk_err err;

    sk_err_init(&err);
    memset(&m, 0, sizeof(m));
    m.term = 9;
    memset(m.vote, 'v', META_VOTE_MAX);
    ck_assert_int_eq(meta_store(dir, &m, &err), 0);
    memset(&m, 0, sizeof(m));
    ck_assert_int_eq(meta_load(dir, &m, &err), 1);
    ck_assert_uint_eq(strlen(m.vote), META_VOTE_MAX);
    memset(m.vote, 'v', sizeof(m.vote)); /* no terminator: 256 bytes */
    ck_assert_int_eq(meta_store(dir, &m, &err), -EINVAL);
    free(dir);
}
END_TEST

START_TEST(store_creates_a_missing_datadir)
{
    char *parent = fresh_datadir("parent");
    char *dir = sk_asprintf("%s/data", parent);
    struct meta m;
    struct sk_err err;

    store_ok(dir, 1, "x");
    sk_err_init(&err);
    ck_assert_int_eq(meta_load(dir, &m, &err), 1);
    free(dir);
    free(parent);
}
END_TEST

/* Every truncation and every single-bit flip of a valid file is refused
 * with an error naming the file, and never reads as a fresh node. */
START_TEST(any_truncation_or_bit_flip_is_refused_naming_the_file)
{
    char *dir = fresh_datadir("corrupt");
    char *path = sk_asprintf("%s/meta", dir);
    unsigned char good[512], bad[512];
    size_t len, cut, bit;
    struct meta m;
    struct sk_err err;

    store_ok(dir, 42, "member-7");
    len = read_file(path, good, sizeof(good));
    ck_assert_uint_eq(len, 28 + 8);
    for (cut = 0; cut < len; cut++) {
        write_file(path, good, cut);
        sk_err_init(&err);
        ck_assert_int_eq(meta_load(dir, &m, &err), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(err.msg, path));
        ck_assert_uint_eq(m.term, 0);
    }
    for (bit = 0; bit < len * 8; bit++) {
        memcpy(bad, good, len);
        bad[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        write_file(path, bad, len);
        sk_err_init(&err);
        ck_assert_msg(meta_load(dir, &m, &err) == -EBADMSG, "bit %zu accepted", bit);
        ck_assert_ptr_nonnull(strstr(err.msg, path));
    }
    free(path);
    free(dir);
}
END_TEST

static const struct {
    const char *name;
    size_t extra; /* bytes appended to a valid file */
    const char *msg;
} junk_cases[] = {
    {"one trailing byte", 1, "size 37 bytes, expected 36"},
    {"a page of trailing junk", 300, "size 284 bytes, expected 36"},
};

START_TEST(trailing_bytes_are_refused)
{
    char *dir = fresh_datadir("junk");
    char *path = sk_asprintf("%s/meta", dir);
    unsigned char buf[1024];
    size_t len;
    struct meta m;
    struct sk_err err;

    store_ok(dir, 42, "member-7");
    len = read_file(path, buf, sizeof(buf));
    memset(buf + len, 'j', junk_cases[_i].extra);
    write_file(path, buf, len + junk_cases[_i].extra);
    sk_err_init(&err);
    ck_assert_int_eq(meta_load(dir, &m, &err), -EBADMSG);
    ck_assert_msg(strstr(err.msg, junk_cases[_i].msg) != NULL, "%s: %s", junk_cases[_i].name,
                  err.msg);
    free(path);
    free(dir);
}
END_TEST

START_TEST(leftover_meta_tmp_is_ignored_and_replaced)
{
    char *dir = fresh_datadir("tmpleft");
    char *tmp = sk_asprintf("%s/meta.tmp", dir);
    struct meta m;
    struct sk_err err;

    sk_err_init(&err);
    /* A crash before the rename: only the temporary exists. */
    write_file(tmp, "half-written", 12);
    ck_assert_int_eq(meta_load(dir, &m, &err), 0);
    store_ok(dir, 5, "a");
    write_file(tmp, "SKFMETA\0garbage", 15);
    ck_assert_int_eq(meta_load(dir, &m, &err), 1);
    ck_assert_uint_eq(m.term, 5);
    ck_assert_str_eq(m.vote, "a");
    store_ok(dir, 6, "b");
    ck_assert_int_eq(meta_load(dir, &m, &err), 1);
    ck_assert_uint_eq(m.term, 6);
    ck_assert_int_eq(access(tmp, F_OK), -1);
    free(tmp);
    free(dir);
}
END_TEST

START_TEST(unreadable_meta_is_an_error_not_a_fresh_node)
{
    char *dir = fresh_datadir("isdir");
    char *path = sk_asprintf("%s/meta", dir);
    struct meta m;
    struct sk_err err;

    ck_assert_int_eq(mkdir(path, 0700), 0);
    sk_err_init(&err);
    ck_assert_int_lt(meta_load(dir, &m, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, path));
    free(path);
    free(dir);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("meta");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, missing_meta_is_a_fresh_node);
    tcase_add_test(tc, store_then_load_round_trips_and_replaces);
    tcase_add_test(tc, longest_vote_fits_and_longer_is_refused);
    tcase_add_test(tc, store_creates_a_missing_datadir);
    tcase_add_test(tc, any_truncation_or_bit_flip_is_refused_naming_the_file);
    tcase_add_loop_test(tc, trailing_bytes_are_refused, 0,
                        (int)(sizeof(junk_cases) / sizeof(junk_cases[0])));
    tcase_add_test(tc, leftover_meta_tmp_is_ignored_and_replaced);
    tcase_add_test(tc, unreadable_meta_is_an_error_not_a_fresh_node);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
