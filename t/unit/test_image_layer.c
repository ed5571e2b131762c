/* runtime/image: unpacking layer archives (written here with libarchive)
 * into overlayfs lowerdirs, and refusing hostile ones. */
#include "lib/alloc.h"
#include "lib/err.h"
#include "runtime/image_int.h"
#include "unit.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

/* Entry tables name only the fields that matter for each case. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

enum { F_NONE, F_GZIP, F_ZSTD };

/* One archive entry: type f(ile) d(ir) l(symlink) h(ardlink) c(har)
 * b(lock) p(fifo); arg is the data or the link target. */
struct tent {
    char type;
    const char *path;
    const char *arg;
    int mode;
    unsigned major, minor;
    const char *xname;
    const char *xval;
    size_t xlen;
};

#define MTIME 1000000

/* security.capability v2 granting CAP_NET_BIND_SERVICE (bit 10). */
static const char fcap[20] = {0x00, 0x00, 0x00, 0x02, 0x00, 0x04};

static char *
case_dir(const char *name)
{
    char *dir = sk_asprintf("%s/%s", unit_tmpdir(), name);

    ck_assert_int_eq(mkdir(dir, 0755), 0);
    return dir;
}

static struct archive_entry *
tent_entry(const struct tent *t, size_t i)
{
    struct archive_entry *e = archive_entry_new();
    static const struct {
        char c;
        unsigned type;
    } types[] = {{'f', AE_IFREG}, {'d', AE_IFDIR}, {'l', AE_IFLNK}, {'h', AE_IFREG},
                 {'c', AE_IFCHR}, {'b', AE_IFBLK}, {'p', AE_IFIFO}};
    size_t k;

    archive_entry_set_pathname(e, t->path);
    for (k = 0; k < sizeof(types) / sizeof(types[0]); k++)
        if (types[k].c == t->type)
            archive_entry_set_filetype(e, types[k].type);
    archive_entry_set_perm(e, t->mode ? (mode_t)t->mode : t->type == 'd' ? 0755 : 0644);
    archive_entry_set_uid(e, 1000);
    archive_entry_set_gid(e, 2000);
    archive_entry_set_mtime(e, MTIME + (time_t)i, 0);
    if (t->type == 'l')
        archive_entry_set_symlink(e, t->arg);
    if (t->type == 'h')
        archive_entry_set_hardlink(e, t->arg);
    if (t->type == 'c' || t->type == 'b')
        archive_entry_set_rdev(e, makedev(t->major, t->minor));
    if (t->type == 'f')
        archive_entry_set_size(e, t->arg ? (la_int64_t)strlen(t->arg) : 0);
    if (t->xname)
        archive_entry_xattr_add_entry(e, t->xname, t->xval, t->xlen);
    return e;
}

/* Write ents as a pax tar to path; returns 0, or -1 if the filter is
 * not available in this libarchive. */
static int
write_archive(const char *path, const struct tent *ents, size_t n, int filter)
{
    struct archive *a = archive_write_new();
    size_t i;

    archive_write_set_format_pax(a);
    if (filter == F_GZIP)
        ck_assert_int_eq(archive_write_add_filter_gzip(a), ARCHIVE_OK);
    if (filter == F_ZSTD && archive_write_add_filter_zstd(a) != ARCHIVE_OK) {
        archive_write_free(a);
        return -1;
    }
    ck_assert_int_eq(archive_write_open_filename(a, path), ARCHIVE_OK);
    for (i = 0; i < n; i++) {
        struct archive_entry *e = tent_entry(&ents[i], i);

        ck_assert_int_eq(archive_write_header(a, e), ARCHIVE_OK);
        if (ents[i].type == 'f' && ents[i].arg)
            archive_write_data(a, ents[i].arg, strlen(ents[i].arg));
        archive_entry_free(e);
    }
    ck_assert_int_eq(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    return 0;
}

/* Unpack archive file into dir/root (created); returns the rc. */
static int
unpack_into(const char *archive, const char *dir, unsigned flags, char *diffid, struct sk_err *err)
{
    char *root = sk_asprintf("%s/root", dir);
    int fd, dfd, rc;

    ck_assert_int_eq(mkdir(root, 0755), 0);
    fd = open(archive, O_RDONLY | O_CLOEXEC);
    dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_ge(dfd, 0);
    sk_err_init(err);
    rc = rt_image_unpack(fd, dfd, flags, diffid, err);
    close(fd);
    close(dfd);
    free(root);
    return rc;
}

static void
file_digest(const char *path, char *out)
{
    char buf[1 << 16];
    struct rt_image_sha256 *h = rt_image_sha256_new();
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    ck_assert_int_ge(fd, 0);
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        rt_image_sha256_update(h, buf, (size_t)n);
    close(fd);
    rt_image_sha256_final(h, out);
}

static void
lstat_in(const char *dir, const char *rel, struct stat *st)
{
    char *p = sk_asprintf("%s/root/%s", dir, rel);

    ck_assert_msg(lstat(p, st) == 0, "lstat '%s': %s", p, strerror(errno));
    free(p);
}

static void
assert_content(const char *dir, const char *rel, const char *want)
{
    char *p = sk_asprintf("%s/root/%s", dir, rel), buf[256];
    int fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    ssize_t n;

    ck_assert_msg(fd >= 0, "open '%s'", p);
    n = read(fd, buf, sizeof(buf) - 1);
    ck_assert_int_ge(n, 0);
    buf[n] = '\0';
    ck_assert_str_eq(buf, want);
    close(fd);
    free(p);
}

static const struct tent content[] = {
    {'d', "./", NULL, 0755},
    {'d', "d/", NULL, 0750},
    {'f', "d/f", "hello", 04755},
    {'h', "d/hl", "d/f"},
    {'l', "abs", "/etc/passwd"},
    {'l', "rel", "../../../x"},
    {'p', "fifo", NULL, 0600},
    {'f', "missing/parent/file", "deep"},
    {'f', "./dotted", "dot"},
    {'f', "dup", "first"},
    {'f', "dup", "second"},
    {'c', "overlay-wh", NULL, 0, 0, 0},
    {'f', "cap", "bin", 0755, 0, 0, "security.capability", fcap, sizeof(fcap)},
    {'f', "note", "n", 0644, 0, 0, "user.note", "kept", 4},
};

START_TEST(unpack_keeps_files_links_modes_owners_and_times)
{
    char *dir = case_dir("content"), *tar = sk_asprintf("%s/l.tar", dir);
    char diffid[RT_IMAGE_DIGEST_LEN], want[RT_IMAGE_DIGEST_LEN], link[64], *p;
    struct sk_err err;
    struct stat st, st2;
    ssize_t n;

    write_archive(tar, content, sizeof(content) / sizeof(content[0]), F_NONE);
    ck_assert_msg(unpack_into(tar, dir, RT_IMAGE_UNPACK_LAYER, diffid, &err) == 0, "%s", err.msg);
    file_digest(tar, want);
    ck_assert_str_eq(diffid, want);

    lstat_in(dir, "d/f", &st);
    ck_assert(S_ISREG(st.st_mode));
    ck_assert_int_eq(st.st_mode & 07777, 04755); /* setuid survives the chown */
    ck_assert_int_eq(st.st_uid, 1000);
    ck_assert_int_eq(st.st_gid, 2000);
    ck_assert_int_eq(st.st_mtime, MTIME + 2);
    assert_content(dir, "d/f", "hello");
    lstat_in(dir, "d/hl", &st2);
    ck_assert_uint_eq(st.st_ino, st2.st_ino);
    ck_assert_uint_eq(st2.st_nlink, 2);

    lstat_in(dir, "d", &st);
    ck_assert_int_eq(st.st_mode & 07777, 0750);
    ck_assert_int_eq(st.st_mtime, MTIME + 1); /* set after its children */
    lstat_in(dir, ".", &st);
    ck_assert_int_eq(st.st_mtime, MTIME);

    p = sk_asprintf("%s/root/abs", dir);
    n = readlink(p, link, sizeof(link) - 1);
    ck_assert_int_gt(n, 0);
    link[n] = '\0';
    ck_assert_str_eq(link, "/etc/passwd");
    free(p);
    lstat_in(dir, "abs", &st);
    ck_assert(S_ISLNK(st.st_mode));
    ck_assert_int_eq(st.st_uid, 1000);
    lstat_in(dir, "rel", &st);
    ck_assert(S_ISLNK(st.st_mode));
    lstat_in(dir, "fifo", &st);
    ck_assert(S_ISFIFO(st.st_mode));
    assert_content(dir, "missing/parent/file", "deep");
    assert_content(dir, "dotted", "dot");
    assert_content(dir, "dup", "second");
    lstat_in(dir, "overlay-wh", &st);
    ck_assert(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
    free(tar);
    free(dir);
}
END_TEST

START_TEST(unpack_keeps_xattrs_including_file_capabilities)
{
    char *dir = case_dir("xattr"), *tar = sk_asprintf("%s/l.tar", dir), *p, buf[64];
    struct sk_err err;
    ssize_t n;

    write_archive(tar, content, sizeof(content) / sizeof(content[0]), F_NONE);
    ck_assert_msg(unpack_into(tar, dir, RT_IMAGE_UNPACK_LAYER, NULL, &err) == 0, "%s", err.msg);
    p = sk_asprintf("%s/root/cap", dir);
    n = getxattr(p, "security.capability", buf, sizeof(buf));
    ck_assert_int_eq(n, sizeof(fcap));
    ck_assert(memcmp(buf, fcap, sizeof(fcap)) == 0);
    free(p);
    p = sk_asprintf("%s/root/note", dir);
    n = getxattr(p, "user.note", buf, sizeof(buf));
    ck_assert_int_eq(n, 4);
    ck_assert(memcmp(buf, "kept", 4) == 0);
    free(p);
    free(tar);
    free(dir);
}
END_TEST

static const struct tent whiteout_layer[] = {
    {'d', "etc/", NULL},       {'f', "etc/.wh.passwd", ""},      {'f', ".wh..profile", ""},
    {'d', "opaque/", NULL},    {'f', "opaque/.wh..wh..opq", ""}, {'f', "opaque/new", "n"},
    {'f', ".wh..wh.plnk", ""},
};

START_TEST(unpack_converts_oci_whiteouts_to_overlay_form)
{
    char *dir = case_dir("whiteout"), *tar = sk_asprintf("%s/l.tar", dir), *p, v[8];
    struct sk_err err;
    struct stat st;

    write_archive(tar, whiteout_layer, sizeof(whiteout_layer) / sizeof(whiteout_layer[0]), F_NONE);
    ck_assert_msg(unpack_into(tar, dir, RT_IMAGE_UNPACK_LAYER, NULL, &err) == 0, "%s", err.msg);
    lstat_in(dir, "etc/passwd", &st);
    ck_assert(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
    lstat_in(dir, ".profile", &st);
    ck_assert(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
    p = sk_asprintf("%s/root/opaque", dir);
    ck_assert_int_eq(getxattr(p, "trusted.overlay.opaque", v, sizeof(v)), 1);
    ck_assert_int_eq(v[0], 'y');
    free(p);
    p = sk_asprintf("%s/root/etc/.wh.passwd", dir);
    ck_assert_int_eq(lstat(p, &st), -1);
    free(p);
    p = sk_asprintf("%s/root/.wh..wh.plnk", dir);
    ck_assert_int_eq(lstat(p, &st), -1);
    free(p);
    assert_content(dir, "opaque/new", "n");
    free(tar);
    free(dir);
}
END_TEST

START_TEST(unpack_gzip_and_zstd_hash_the_uncompressed_stream)
{
    char *dir = case_dir("filters"), *plain = sk_asprintf("%s/l.tar", dir);
    char *gz = sk_asprintf("%s/l.tar.gz", dir), *zst = sk_asprintf("%s/l.tar.zst", dir);
    char *sub, want[RT_IMAGE_DIGEST_LEN], got[RT_IMAGE_DIGEST_LEN];
    size_t n = sizeof(whiteout_layer) / sizeof(whiteout_layer[0]);
    struct sk_err err;

    write_archive(plain, whiteout_layer, n, F_NONE);
    write_archive(gz, whiteout_layer, n, F_GZIP);
    file_digest(plain, want);
    sub = sk_asprintf("%s/gz", dir);
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    ck_assert_msg(unpack_into(gz, sub, RT_IMAGE_UNPACK_LAYER, got, &err) == 0, "%s", err.msg);
    ck_assert_str_eq(got, want);
    assert_content(sub, "opaque/new", "n");
    free(sub);
    if (write_archive(zst, whiteout_layer, n, F_ZSTD) < 0) {
        printf("note: libarchive cannot write zstd here; zstd case skipped\n");
    } else {
        sub = sk_asprintf("%s/zst", dir);
        ck_assert_int_eq(mkdir(sub, 0755), 0);
        ck_assert_msg(unpack_into(zst, sub, RT_IMAGE_UNPACK_LAYER, got, &err) == 0, "%s", err.msg);
        ck_assert_str_eq(got, want);
        assert_content(sub, "opaque/new", "n");
        free(sub);
    }
    free(plain);
    free(gz);
    free(zst);
    free(dir);
}
END_TEST

/* Hostile layers: each must fail with an error naming the entry and
 * must not create the canary path (relative to the case dir). */
struct hostile {
    const char *name;
    struct tent ents[3];
    size_t n;
    const char *msg;
    const char *canary;
};

static const struct hostile hostile[] = {
    {"dotdot", {{'f', "../escape", "x"}}, 1, "entry '../escape': '..' component", "escape"},
    {"dotdot-deep",
     {{'f', "a/../../escape", "x"}},
     1,
     "entry 'a/../../escape': '..' component",
     "escape"},
    {"absolute", {{'f', "/abs-escape", "x"}}, 1, "entry '/abs-escape': absolute path", NULL},
    {"through-symlink",
     {{'l', "evil", "@OUT@"}, {'f', "evil/pwned", "x"}},
     2,
     "entry 'evil/pwned': 'evil' is a symlink",
     "outside/pwned"},
    {"through-relative-symlink",
     {{'l', "evil", "../outside"}, {'d', "evil/sub/", NULL}},
     2,
     "entry 'evil/sub/': 'evil' is a symlink",
     "outside/sub"},
    {"hardlink-dotdot",
     {{'h', "h", "../outside/secret"}},
     1,
     "entry 'h': hard link target '../outside/secret': '..' component",
     NULL},
    {"hardlink-absolute", {{'h', "h", "@OUT@/secret"}}, 1, "entry 'h': hard link target", NULL},
    {"hardlink-through-symlink",
     {{'l', "evil", "@OUT@"}, {'h', "h", "evil/secret"}},
     2,
     "entry 'h': hard link target 'evil/secret': 'evil' is a symlink",
     NULL},
    {"char-device",
     {{'c', "dev/mem", NULL, 0600, 1, 1}},
     1,
     "entry 'dev/mem': character device 1:1 not allowed",
     NULL},
    {"block-device",
     {{'b', "sda", NULL, 0600, 8, 0}},
     1,
     "entry 'sda': block device 8:0 not allowed",
     NULL},
    {"overlay-xattr",
     {{'d', "d/", NULL, 0755, 0, 0, "trusted.overlay.redirect", "/x", 2}},
     1,
     "entry 'd/': xattr 'trusted.overlay.redirect' is reserved",
     NULL},
    {"empty-whiteout", {{'f', ".wh.", ""}}, 1, "entry '.wh.': whiteout '.wh.' names no file", NULL},
    {"dotdot-whiteout", {{'f', "a/.wh..", ""}}, 1, "names no file", NULL},
};

/* Replace @OUT@ in s by the absolute path of the case's outside dir. */
static const char *
subst_out(const char *s, const char *out, char *buf, size_t bufsz)
{
    const char *at = s ? strstr(s, "@OUT@") : NULL;

    if (!at)
        return s;
    snprintf(buf, bufsz, "%.*s%s%s", (int)(at - s), s, out, at + 5);
    return buf;
}

START_TEST(unpack_refuses_hostile_entries)
{
    const struct hostile *h = &hostile[_i];
    char *dir = case_dir(h->name), *tar = sk_asprintf("%s/l.tar", dir);
    char *out = sk_asprintf("%s/outside", dir), *secret, *canary, bufs[3][512];
    struct tent ents[3];
    struct sk_err err;
    struct stat st;
    size_t i;

    ck_assert_int_eq(mkdir(out, 0755), 0);
    secret = sk_asprintf("%s/secret", out);
    close(open(secret, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    for (i = 0; i < h->n; i++) {
        ents[i] = h->ents[i];
        ents[i].arg = subst_out(ents[i].arg, out, bufs[i], sizeof(bufs[i]));
    }
    write_archive(tar, ents, h->n, F_NONE);
    ck_assert_int_lt(unpack_into(tar, dir, RT_IMAGE_UNPACK_LAYER, NULL, &err), 0);
    ck_assert_msg(strstr(err.msg, h->msg) != NULL, "%s: got \"%s\"", h->name, err.msg);
    if (h->canary) {
        canary = sk_asprintf("%s/%s", dir, h->canary);
        ck_assert_msg(lstat(canary, &st) < 0, "%s: '%s' was created", h->name, canary);
        free(canary);
    }
    ck_assert_int_eq(lstat(secret, &st), 0);
    ck_assert_uint_eq(st.st_nlink, 1);
    free(secret);
    free(out);
    free(tar);
    free(dir);
}
END_TEST

START_TEST(unpack_replaces_a_symlink_instead_of_writing_through_it)
{
    char *dir = case_dir("replace-symlink"), *tar = sk_asprintf("%s/l.tar", dir);
    char *out = sk_asprintf("%s/target", dir), *p, buf[16];
    struct tent ents[] = {
        {'l', "x", out},
        {'h', "hl", "x"},
        {'f', "x", "inside"},
    };
    struct sk_err err;
    struct stat st;
    int fd;

    fd = open(out, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    ck_assert_int_eq(write(fd, "orig", 4), 4);
    close(fd);
    write_archive(tar, ents, 3, F_NONE);
    ck_assert_msg(unpack_into(tar, dir, RT_IMAGE_UNPACK_LAYER, NULL, &err) == 0, "%s", err.msg);
    assert_content(dir, "x", "inside");
    lstat_in(dir, "hl", &st); /* a link to the symlink, not to its target */
    ck_assert(S_ISLNK(st.st_mode));
    fd = open(out, O_RDONLY | O_CLOEXEC);
    ck_assert_int_eq(read(fd, buf, sizeof(buf)), 4);
    close(fd);
    ck_assert(memcmp(buf, "orig", 4) == 0);
    p = sk_asprintf("%s/root/x", dir);
    free(p);
    free(out);
    free(tar);
    free(dir);
}
END_TEST

START_TEST(unpack_refuses_a_truncated_archive)
{
    char big[65536 + 1], *dir = case_dir("truncated"), *tar = sk_asprintf("%s/l.tar", dir);
    char *gz = sk_asprintf("%s/l.tar.gz", dir), *sub;
    struct tent ents[] = {{'f', "big", big}};
    struct sk_err err;
    struct stat st;

    memset(big, 'b', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    write_archive(tar, ents, 1, F_NONE);
    write_archive(gz, ents, 1, F_GZIP);
    ck_assert_int_eq(stat(tar, &st), 0);
    ck_assert_int_eq(truncate(tar, 512 + 20000), 0);
    ck_assert_int_lt(unpack_into(tar, dir, RT_IMAGE_UNPACK_LAYER, NULL, &err), 0);
    ck_assert_msg(strstr(err.msg, "entry 'big'") != NULL, "%s", err.msg);
    ck_assert_int_eq(stat(gz, &st), 0);
    ck_assert_int_eq(truncate(gz, st.st_size / 2), 0);
    sub = sk_asprintf("%s/gz", dir);
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    ck_assert_int_lt(unpack_into(gz, sub, RT_IMAGE_UNPACK_LAYER, NULL, &err), 0);
    free(sub);
    free(gz);
    free(tar);
    free(dir);
}
END_TEST

START_TEST(unpack_refuses_garbage)
{
    char *dir = case_dir("garbage"), *f = sk_asprintf("%s/junk", dir);
    struct sk_err err;
    int fd = open(f, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

    ck_assert_int_eq(write(fd, "this is not a tar archive at all", 32), 32);
    close(fd);
    ck_assert_int_lt(unpack_into(f, dir, RT_IMAGE_UNPACK_LAYER, NULL, &err), 0);
    ck_assert(err.msg[0]);
    free(f);
    free(dir);
}
END_TEST

START_TEST(staging_mode_takes_only_plain_files)
{
    static const struct tent ents[] = {
        {'f', "blobs/sha256/.wh.x", "kept as is"},
        {'p', "fifo", NULL},
    };
    char *dir = case_dir("staging"), *tar = sk_asprintf("%s/l.tar", dir);
    struct sk_err err;

    write_archive(tar, ents, 2, F_NONE);
    ck_assert_int_lt(unpack_into(tar, dir, 0, NULL, &err), 0);
    ck_assert_msg(strstr(err.msg, "entry 'fifo'") != NULL, "%s", err.msg);
    assert_content(dir, "blobs/sha256/.wh.x", "kept as is");
    free(tar);
    free(dir);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("image_layer");
    TCase *tc = tcase_create("core");

    if (geteuid() != 0) {
        printf("note: image layer tests need root (mknod, chown, trusted xattrs); skipped\n");
        return 0;
    }
    tcase_add_test(tc, unpack_keeps_files_links_modes_owners_and_times);
    tcase_add_test(tc, unpack_keeps_xattrs_including_file_capabilities);
    tcase_add_test(tc, unpack_converts_oci_whiteouts_to_overlay_form);
    tcase_add_test(tc, unpack_gzip_and_zstd_hash_the_uncompressed_stream);
    tcase_add_loop_test(tc, unpack_refuses_hostile_entries, 0,
                        sizeof(hostile) / sizeof(hostile[0]));
    tcase_add_test(tc, unpack_replaces_a_symlink_instead_of_writing_through_it);
    tcase_add_test(tc, unpack_refuses_a_truncated_archive);
    tcase_add_test(tc, unpack_refuses_garbage);
    tcase_add_test(tc, staging_mode_takes_only_plain_files);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
