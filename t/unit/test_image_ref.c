/* runtime/image: references, digests, entry paths, whiteout names and
 * the index file. */
#include "lib/err.h"
#include "runtime/image_int.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const struct {
    const char *in, *name, *tag, *digest;
} good_refs[] = {
    {"busybox", "busybox", "latest", ""},
    {"busybox:1.36", "busybox", "1.36", ""},
    {"library/busybox:stable-glibc", "library/busybox", "stable-glibc", ""},
    {"localhost:5000/team/app:v2", "localhost:5000/team/app", "v2", ""},
    {"localhost:5000/app", "localhost:5000/app", "latest", ""},
    {"Registry.Example.org/a/b_c.d-e:V_1.0", "Registry.Example.org/a/b_c.d-e", "V_1.0", ""},
    {"app@sha256:" HEX64, "app", "", "sha256:" HEX64},
    {"sha256:" HEX64, "", "", "sha256:" HEX64},
};

START_TEST(ref_parse_accepts_docker_style_references)
{
    struct rt_image_ref ref;
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_msg(rt_image_ref_parse(good_refs[_i].in, &ref, &err) == 0, "%s: %s", good_refs[_i].in,
                  err.msg);
    ck_assert_str_eq(ref.name, good_refs[_i].name);
    ck_assert_str_eq(ref.tag, good_refs[_i].tag);
    ck_assert_str_eq(ref.digest, good_refs[_i].digest);
}
END_TEST

static const struct {
    const char *in, *msg;
} bad_refs[] = {
    {"", "bad name"},
    {"Busybox", "bad name 'Busybox'"},
    {"busybox:", "bad tag ''"},
    {"busybox:-x", "bad tag"},
    {"bad name:1", "bad name"},
    {"a//b", "bad name"},
    {"a/:b", "bad name"},
    {"-a", "bad name"},
    {"a/../b", "bad name"},
    {"app@sha256:abc", "bad digest"},
    {"app@md5:" HEX64, "bad digest"},
    {"sha256:" HEX64 "0", "bad digest"},
    {"sha256:"
     "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
     "bad digest"},
    {"a\nb:1", "bad name"},
    {"a:b c", "bad tag"},
};

START_TEST(ref_parse_refuses_malformed_references)
{
    struct rt_image_ref ref;
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_eq(rt_image_ref_parse(bad_refs[_i].in, &ref, &err), -EINVAL);
    ck_assert_msg(strstr(err.msg, "reference '") != NULL, "%s", err.msg);
    ck_assert_msg(strstr(err.msg, bad_refs[_i].msg) != NULL || strcmp(bad_refs[_i].in, "") == 0,
                  "'%s': %s", bad_refs[_i].in, err.msg);
}
END_TEST

START_TEST(ref_parse_refuses_overlong_names)
{
    char name[RT_IMAGE_NAME_MAX + 10];
    struct rt_image_ref ref;

    memset(name, 'a', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    ck_assert_int_eq(rt_image_ref_parse(name, &ref, NULL), -EINVAL);
}
END_TEST

START_TEST(sha256_matches_known_vectors)
{
    char d[RT_IMAGE_DIGEST_LEN];
    struct rt_image_sha256 *h;

    rt_image_sha256_buf("", 0, d);
    ck_assert_str_eq(d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    h = rt_image_sha256_new();
    rt_image_sha256_update(h, "a", 1);
    rt_image_sha256_update(h, "bc", 2);
    rt_image_sha256_final(h, d);
    ck_assert_str_eq(d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ck_assert(rt_image_digest_valid(d));
    ck_assert_str_eq(rt_image_digest_hex(d),
                     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ck_assert(!rt_image_digest_valid("sha512:" HEX64));
    ck_assert(!rt_image_digest_valid("sha256:" HEX64 "a"));
    ck_assert(!rt_image_digest_valid(NULL));
}
END_TEST

static const struct {
    const char *in, *out; /* out NULL: refused */
} paths[] = {
    {"a", "a"},       {"./a/b/", "a/b"},     {"a//b/./c", "a/b/c"}, {".", "."},
    {"./", "."},      {"...", "..."},        {"a/..b", "a/..b"},    {"..a", "..a"},
    {"..", NULL},     {"../a", NULL},        {"a/../../b", NULL},   {"a/..", NULL},
    {"./../a", NULL}, {"/etc/passwd", NULL}, {"//x", NULL},         {"", NULL},
};

START_TEST(path_clean_table)
{
    char out[64];
    struct sk_err err;
    int rc;

    sk_err_init(&err);
    rc = rt_image_path_clean(paths[_i].in, out, sizeof(out), &err);
    if (paths[_i].out) {
        ck_assert_msg(rc == 0, "'%s': %s", paths[_i].in, err.msg);
        ck_assert_str_eq(out, paths[_i].out);
    } else {
        ck_assert_msg(rc < 0, "'%s' accepted as '%s'", paths[_i].in, out);
        ck_assert(err.msg[0]);
    }
}
END_TEST

START_TEST(path_clean_refuses_overflow)
{
    char out[4];

    ck_assert_int_eq(rt_image_path_clean("abcdef", out, sizeof(out), NULL), -ENAMETOOLONG);
}
END_TEST

static const struct {
    const char *base, *name;
    int kind;
} whiteouts[] = {
    {"file", NULL, RT_WH_NONE},
    {".whfile", NULL, RT_WH_NONE},
    {".wh.file", "file", RT_WH_FILE},
    {".wh..hidden", ".hidden", RT_WH_FILE},
    {".wh..wh..opq", NULL, RT_WH_OPAQUE},
    {".wh..wh.plnk", NULL, RT_WH_SKIP},
    {".wh.", NULL, -EINVAL},
    {".wh..", NULL, -EINVAL},
    {".wh...", NULL, -EINVAL},
};

START_TEST(whiteout_names_convert_to_overlay_form)
{
    const char *name = "x";

    ck_assert_int_eq(rt_image_whiteout_kind(whiteouts[_i].base, &name, NULL), whiteouts[_i].kind);
    if (whiteouts[_i].name)
        ck_assert_str_eq(name, whiteouts[_i].name);
    else
        ck_assert_ptr_null(name);
}
END_TEST

static int
tmp_root(const char *name)
{
    char path[256];

    snprintf(path, sizeof(path), "%s/%s", unit_tmpdir(), name);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    return open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

START_TEST(index_round_trips_sorted)
{
    struct rt_image_index idx = {NULL, 0}, back;
    struct sk_err err;
    int fd = tmp_root("index-rt");

    sk_err_init(&err);
    ck_assert_int_eq(rt_image_index_read(fd, &back, &err), 0);
    ck_assert_uint_eq(back.n, 0);
    rt_image_index_set(&idx, "zeta", "1", "sha256:" HEX64);
    rt_image_index_set(&idx, "localhost:5000/a", "v1", "sha256:" HEX64);
    rt_image_index_set(&idx, "alpha", "latest", "sha256:" HEX64);
    rt_image_index_set(&idx, "zeta", "1",
                       "sha256:1111111111111111111111111111111111111111111111111111111111111111");
    ck_assert_int_eq(rt_image_index_write(fd, &idx, &err), 0);
    ck_assert_int_eq(rt_image_index_read(fd, &back, &err), 0);
    ck_assert_uint_eq(back.n, 3);
    ck_assert_str_eq(back.items[0].name, "alpha");
    ck_assert_str_eq(back.items[1].name, "localhost:5000/a");
    ck_assert_str_eq(back.items[1].tag, "v1");
    ck_assert_str_eq(back.items[2].name, "zeta");
    ck_assert_str_eq(back.items[2].digest,
                     "sha256:1111111111111111111111111111111111111111111111111111111111111111");
    ck_assert_int_eq(faccessat(fd, "index.tmp", F_OK, 0), -1);
    rt_image_index_release(&idx);
    rt_image_index_release(&back);
    close(fd);
}
END_TEST

static const char *const bad_index[] = {
    "busybox latest\n",
    "busybox latest sha256:abc\n",
    "busybox latest sha256:" HEX64 " extra\n",
    "Bad latest sha256:" HEX64 "\n",
    "# ok\n\nbusybox latest sha256:" HEX64 "\nbusybox bad/tag sha256:" HEX64 "\n",
};

START_TEST(index_refuses_corrupt_lines_naming_the_line)
{
    struct rt_image_index idx;
    struct sk_err err;
    char name[32];
    int fd, wfd;

    snprintf(name, sizeof(name), "index-bad-%d", _i);
    fd = tmp_root(name);
    wfd = openat(fd, "index", O_WRONLY | O_CREAT, 0600);
    ck_assert_int_ge(wfd, 0);
    ck_assert_int_eq(write(wfd, bad_index[_i], strlen(bad_index[_i])),
                     (ssize_t)strlen(bad_index[_i]));
    close(wfd);
    sk_err_init(&err);
    ck_assert_int_eq(rt_image_index_read(fd, &idx, &err), -EBADMSG);
    ck_assert_msg(strstr(err.msg, "index line ") != NULL, "%s", err.msg);
    ck_assert_ptr_null(idx.items);
    close(fd);
}
END_TEST

START_TEST(time_parse_handles_rfc3339_forms)
{
    ck_assert_int_eq(rt_image_time_parse("1970-01-02T00:00:00Z"), 86400);
    ck_assert_int_eq(rt_image_time_parse("1970-01-02T00:00:00.123456789Z"), 86400);
    ck_assert_int_eq(rt_image_time_parse("1970-01-02T01:00:00+01:00"), 86400);
    ck_assert_int_eq(rt_image_time_parse("1970-01-01T23:00:00-01:00"), 86400);
    ck_assert_int_eq(rt_image_time_parse("yesterday"), 0);
    ck_assert_int_eq(rt_image_time_parse(NULL), 0);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("image_ref");
    TCase *tc = tcase_create("core");

    tcase_add_loop_test(tc, ref_parse_accepts_docker_style_references, 0,
                        sizeof(good_refs) / sizeof(good_refs[0]));
    tcase_add_loop_test(tc, ref_parse_refuses_malformed_references, 0,
                        sizeof(bad_refs) / sizeof(bad_refs[0]));
    tcase_add_test(tc, ref_parse_refuses_overlong_names);
    tcase_add_test(tc, sha256_matches_known_vectors);
    tcase_add_loop_test(tc, path_clean_table, 0, sizeof(paths) / sizeof(paths[0]));
    tcase_add_test(tc, path_clean_refuses_overflow);
    tcase_add_loop_test(tc, whiteout_names_convert_to_overlay_form, 0,
                        sizeof(whiteouts) / sizeof(whiteouts[0]));
    tcase_add_test(tc, index_round_trips_sorted);
    tcase_add_loop_test(tc, index_refuses_corrupt_lines_naming_the_line, 0,
                        sizeof(bad_index) / sizeof(bad_index[0]));
    tcase_add_test(tc, time_parse_handles_rfc3339_forms);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
