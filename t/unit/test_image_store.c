/* runtime/image: the store end to end. Images are built from Debian's
 * busybox-static with t/mkimage (no network), imported as an OCI
 * directory, an OCI tar and a docker save tar, resolved, mounted with
 * overlayfs in a private mount namespace, removed and collected. Also
 * drives rt_image_cli() as `skiff-runtime image` would. */
#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "runtime/image_int.h"
#include "unit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

static char fx[256]; /* fixtures, built once in main() */

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    int rc;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    rc = system(cmd);
    ck_assert_msg(rc == 0, "command failed (%d): %s", rc, cmd);
}

/* Layers: rootfs (busybox, plus /var/lowerfile and /etc/group), top
 * (a file, a whiteout of /etc/group, /var made opaque), top2. Images:
 * busybox:base [rootfs], app:1 [rootfs top] zstd, other:1 [rootfs top2]. */
static int
build_fixtures(void)
{
    const char *srcdir = getenv("SKIFF_SRCDIR") ? getenv("SKIFF_SRCDIR") : ".";
    char cmd[8192], src[4096];

    if (!realpath(srcdir, src))
        return -1;
    if (access("/bin/busybox", X_OK) != 0) {
        printf(
            "note: /bin/busybox missing (apt-get install busybox-static); store tests skipped\n");
        return -1;
    }
    snprintf(fx, sizeof(fx), "%s/fx", unit_tmpdir());
    snprintf(cmd, sizeof(cmd),
             "set -e; mk=%s/t/mkimage; mkdir -p %s && cd %s && "
             "$mk busybox-rootfs rootfs && echo low > rootfs/var/lowerfile && "
             "mkdir -p top/etc top/var && echo 'hello from top' > top/hello && "
             ": > top/etc/.wh.group && : > top/var/.wh..wh..opq && echo new > top/var/new && "
             "mkdir top2 && echo two > top2/two && "
             "$mk -t busybox:base -o base-oci --oci-tar base.tar --docker-tar base-docker.tar "
             "  --cmd '[\"sh\"]' --env PATH=/bin:/usr/bin --workdir / rootfs >/dev/null && "
             "$mk -t app:1 -z zstd -o app-oci --docker-tar app-docker.tar --entrypoint "
             "'[\"/bin/sh\",\"-c\"]' "
             "  --cmd '[\"echo hi\"]' --env A=1 --env 'B=two words' --user nobody --workdir /var "
             "  --label org.example.team=infra rootfs top >/dev/null && "
             "$mk -t other:1 -o other-oci rootfs top2 >/dev/null && "
             "mkdir -p bad/dev && mknod bad/dev/sda b 8 0 && "
             "$mk -t bad:1 -o bad-oci bad >/dev/null",
             src, fx, fx);
    return system(cmd) == 0 ? 0 : -1;
}

static char *
new_root(const char *name)
{
    return sk_asprintf("%s/store-%s", unit_tmpdir(), name);
}

static void
open_store(struct rt_image_store *s, const char *name)
{
    struct sk_err err;
    char *root = new_root(name);

    sk_err_init(&err);
    ck_assert_msg(rt_image_store_open(s, root, &err) == 0, "%s", err.msg);
    free(root);
}

static void
import_ok(struct rt_image_store *s, const char *file, const char *name)
{
    struct sk_err err;
    char *path = sk_asprintf("%s/%s", fx, file);

    sk_err_init(&err);
    ck_assert_msg(rt_image_import(s, path, name, NULL, &err) == 0, "%s: %s", file, err.msg);
    free(path);
}

static size_t
count_dir(struct rt_image_store *s, const char *dir)
{
    char *path = sk_asprintf("%s/%s", s->root, dir);
    DIR *d = opendir(path);
    struct dirent *de;
    size_t n = 0;

    ck_assert_ptr_nonnull(d);
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, ".."))
            n++;
    closedir(d);
    free(path);
    return n;
}

static void
resolve_ok(struct rt_image_store *s, const char *ref, struct rt_image_info *info)
{
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_msg(rt_image_resolve(s, ref, info, &err) == 0, "%s: %s", ref, err.msg);
}

START_TEST(oci_dir_oci_tar_and_docker_tar_import_and_share_one_layer)
{
    struct rt_image_info a, b, c;
    struct rt_image_list l;
    struct rt_image_store s;

    open_store(&s, "formats");
    import_ok(&s, "base-oci", NULL);
    import_ok(&s, "base.tar", "bb:tar");
    import_ok(&s, "base-docker.tar", "bb:docker");
    ck_assert_int_eq(rt_image_list(&s, &l, NULL), 0);
    ck_assert_uint_eq(l.n, 3);
    ck_assert_str_eq(l.items[0].name, "bb");
    ck_assert_str_eq(l.items[0].tag, "docker");
    ck_assert_str_eq(l.items[2].name, "busybox");
    ck_assert_int_gt(l.items[2].size, 100000);
    ck_assert_int_gt(l.items[2].created, 1600000000);
    rt_image_list_release(&l);
    resolve_ok(&s, "busybox:base", &a);
    resolve_ok(&s, "bb:tar", &b);
    resolve_ok(&s, "bb:docker", &c);
    ck_assert_str_eq(a.digest, b.digest); /* the same manifest */
    ck_assert_uint_eq(c.n_layers, 1);
    ck_assert_str_eq(a.layers[0], c.layers[0]); /* docker's layer is the same diff */
    ck_assert_uint_eq(count_dir(&s, "layers"), 1);
    ck_assert_uint_eq(count_dir(&s, "tmp"), 0);
    rt_image_info_release(&a);
    rt_image_info_release(&b);
    rt_image_info_release(&c);
    rt_image_store_release(&s);
}
END_TEST

static int
strv_has(char **v, const char *want)
{
    size_t i;

    for (i = 0; v && v[i]; i++)
        if (strcmp(v[i], want) == 0)
            return 1;
    return 0;
}

START_TEST(resolve_gives_config_defaults_and_layers_top_first)
{
    struct rt_image_info base, app;
    struct rt_image_store s;
    struct sk_err err;

    open_store(&s, "resolve");
    import_ok(&s, "base-oci", NULL);
    import_ok(&s, "app-oci", NULL);
    sk_err_init(&err);
    ck_assert_int_eq(rt_image_resolve(&s, "busybox", &base, &err), -ENOENT);
    ck_assert_msg(strstr(err.msg, "'busybox:latest' not found") != NULL, "%s", err.msg);
    resolve_ok(&s, "busybox:base", &base);
    resolve_ok(&s, "app:1", &app);
    ck_assert_uint_eq(app.n_layers, 2);
    ck_assert_str_eq(app.layers[1], base.layers[0]);
    ck_assert_str_ne(app.layers[0], base.layers[0]);
    ck_assert_ptr_nonnull(app.entrypoint);
    ck_assert_str_eq(app.entrypoint[0], "/bin/sh");
    ck_assert_str_eq(app.entrypoint[1], "-c");
    ck_assert_ptr_null(app.entrypoint[2]);
    ck_assert_str_eq(app.cmd[0], "echo hi");
    ck_assert(strv_has(app.env, "A=1") && strv_has(app.env, "B=two words"));
    ck_assert_str_eq(app.working_dir, "/var");
    ck_assert_str_eq(app.user, "nobody");
    ck_assert_uint_eq(app.n_labels, 1);
    ck_assert_str_eq(app.labels[0].key, "org.example.team");
    ck_assert_str_eq(app.labels[0].value, "infra");
    ck_assert_str_eq(app.os, "linux");
    ck_assert_ptr_null(base.entrypoint); /* unset, not empty */
    ck_assert_str_eq(base.cmd[0], "sh");
    ck_assert_ptr_null(base.user);
    rt_image_info_release(&app);
    /* by digest, with and without a name */
    {
        char *ref = sk_asprintf("app@%s", base.digest);

        resolve_ok(&s, base.digest, &app);
        ck_assert_str_eq(app.digest, base.digest);
        rt_image_info_release(&app);
        resolve_ok(&s, ref, &app);
        rt_image_info_release(&app);
        free(ref);
    }
    rt_image_info_release(&base);
    rt_image_store_release(&s);
}
END_TEST

START_TEST(rm_and_gc_remove_only_what_nothing_references)
{
    struct rt_image_gc_stats st;
    struct rt_image_info info;
    struct rt_image_store s;
    struct sk_err err;

    open_store(&s, "gc");
    import_ok(&s, "base-oci", NULL);
    import_ok(&s, "app-oci", NULL);
    import_ok(&s, "other-oci", NULL);
    ck_assert_uint_eq(count_dir(&s, "layers"), 3);
    sk_err_init(&err);
    ck_assert_int_eq(rt_image_gc(&s, &st, &err), 0);
    ck_assert_uint_eq(st.blobs_removed + st.layers_removed, 0);
    ck_assert_int_eq(rt_image_remove(&s, "app:1", &err), 0);
    ck_assert_int_eq(rt_image_remove(&s, "app:1", &err), -ENOENT);
    ck_assert_int_eq(rt_image_gc(&s, &st, &err), 0);
    ck_assert_uint_eq(st.layers_removed, 1);
    /* manifest, config and both layer blobs (zstd, where busybox:base has
     * gzip), while the base layer's directory stays shared */
    ck_assert_uint_eq(st.blobs_removed, 4);
    ck_assert_int_gt(st.bytes_freed, 0);
    ck_assert_uint_eq(count_dir(&s, "layers"), 2);
    resolve_ok(&s, "busybox:base", &info);
    rt_image_info_release(&info);
    resolve_ok(&s, "other:1", &info);
    rt_image_info_release(&info);
    ck_assert_int_eq(rt_image_remove(&s, "other:1", &err), 0);
    ck_assert_int_eq(rt_image_remove(&s, "busybox:base", &err), 0);
    ck_assert_int_eq(rt_image_gc(&s, &st, &err), 0);
    ck_assert_uint_eq(count_dir(&s, "layers"), 0);
    ck_assert_uint_eq(count_dir(&s, "blobs/sha256"), 0);
    rt_image_store_release(&s);
}
END_TEST

START_TEST(rm_by_digest_removes_every_reference)
{
    struct rt_image_info info;
    struct rt_image_list l;
    struct rt_image_store s;
    struct sk_err err;

    open_store(&s, "rm-digest");
    import_ok(&s, "base-oci", NULL);
    import_ok(&s, "base-oci", "again:v1");
    import_ok(&s, "other-oci", NULL);
    resolve_ok(&s, "again:v1", &info);
    sk_err_init(&err);
    ck_assert_msg(rt_image_remove(&s, info.digest, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(rt_image_list(&s, &l, NULL), 0);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_str_eq(l.items[0].name, "other");
    rt_image_list_release(&l);
    rt_image_info_release(&info);
    rt_image_store_release(&s);
}
END_TEST

START_TEST(a_pin_keeps_layers_of_a_removed_image)
{
    struct rt_image_info info, again;
    struct rt_image_store s;
    struct sk_err err;

    open_store(&s, "pin");
    import_ok(&s, "app-oci", NULL);
    resolve_ok(&s, "app:1", &info);
    sk_err_init(&err);
    ck_assert_msg(rt_image_pin(&s, "ctr-1", info.digest, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(rt_image_pin(&s, "../x", info.digest, &err), -EINVAL);
    ck_assert_int_eq(rt_image_remove(&s, "app:1", &err), 0);
    ck_assert_int_eq(rt_image_gc(&s, NULL, &err), 0);
    ck_assert_uint_eq(count_dir(&s, "layers"), 2);
    resolve_ok(&s, info.digest, &again);
    ck_assert_str_eq(again.layers[0], info.layers[0]);
    rt_image_info_release(&again);
    ck_assert_int_eq(rt_image_unpin(&s, "ctr-1", &err), 0);
    ck_assert_int_eq(rt_image_unpin(&s, "ctr-1", &err), 0);
    ck_assert_int_eq(rt_image_gc(&s, NULL, &err), 0);
    ck_assert_uint_eq(count_dir(&s, "layers"), 0);
    rt_image_info_release(&info);
    rt_image_store_release(&s);
}
END_TEST

START_TEST(resolve_pinned_pins_in_the_same_step)
{
    struct rt_image_info info;
    struct rt_image_store s;
    struct sk_err err;

    open_store(&s, "resolve-pinned");
    import_ok(&s, "app-oci", NULL);
    sk_err_init(&err);
    ck_assert_msg(rt_image_resolve_pinned(&s, "app:1", "ctr-2", &info, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(rt_image_remove(&s, "app:1", &err), 0);
    ck_assert_int_eq(rt_image_gc(&s, NULL, &err), 0);
    ck_assert_uint_eq(count_dir(&s, "layers"), 2);
    ck_assert_int_eq(access(info.layers[0], F_OK), 0);
    rt_image_info_release(&info);
    ck_assert_int_eq(rt_image_resolve_pinned(&s, "app:1", "ctr-3", &info, &err), -ENOENT);
    ck_assert_int_eq(rt_image_resolve_pinned(&s, info.digest, "bad/id", &info, &err), -EINVAL);
    rt_image_store_release(&s);
}
END_TEST

/* Child of the concurrency test: its own store handle, one operation. */
static int
race_child(int what)
{
    struct rt_image_store s;
    char name[32], *path = sk_asprintf("%s/app-oci", fx);
    struct sk_err err;
    int i, rc = 0;

    sk_err_init(&err);
    open_store(&s, "race");
    if (what == 0) {
        for (i = 0; rc == 0 && i < 5; i++)
            rc = rt_image_gc(&s, NULL, &err);
    } else {
        snprintf(name, sizeof(name), "app:race%d", what);
        rc = rt_image_import(&s, path, name, NULL, &err);
    }
    if (rc < 0)
        fprintf(stderr, "race child %d: %s\n", what, err.msg);
    rt_image_store_release(&s);
    free(path);
    return rc < 0 ? 1 : 0;
}

START_TEST(concurrent_imports_and_gc_keep_the_store_consistent)
{
    struct rt_image_info a, b;
    struct rt_image_store s;
    char *root = new_root("race");
    pid_t pids[4];
    int i, status;

    ck_assert_int_eq(mkdir(root, 0700), 0);
    for (i = 0; i < 4; i++) {
        pids[i] = fork();
        ck_assert_int_ge(pids[i], 0);
        if (pids[i] == 0)
            _exit(race_child(i % 3));
    }
    for (i = 0; i < 4; i++) {
        ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d failed", i);
    }
    open_store(&s, "race");
    resolve_ok(&s, "app:race1", &a);
    resolve_ok(&s, "app:race2", &b);
    ck_assert_str_eq(a.layers[0], b.layers[0]);
    ck_assert_uint_eq(count_dir(&s, "layers"), 2);
    ck_assert_uint_eq(count_dir(&s, "tmp"), 0);
    rt_image_info_release(&a);
    rt_image_info_release(&b);
    rt_image_store_release(&s);
    free(root);
}
END_TEST

/* In a child with its own mount namespace: mount the image's layers as
 * a read-only overlay and check what a container would see. */
static int
overlay_child(const struct rt_image_info *info, const char *mnt)
{
    struct sk_buf opts = SK_BUF_INIT;
    struct stat st;
    char buf[64];
    size_t i;
    int fd, status;
    pid_t pid;

    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return 10;
    sk_buf_puts(&opts, "lowerdir=");
    for (i = 0; i < info->n_layers; i++)
        sk_buf_printf(&opts, "%s%s", i ? ":" : "", info->layers[i]);
    if (mount("overlay", mnt, "overlay", MS_RDONLY, opts.data) < 0)
        return 11;
    if (chdir(mnt) < 0)
        return 12;
    fd = open("hello", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, buf, sizeof(buf)) != 15 || memcmp(buf, "hello from top\n", 15) != 0)
        return 13;
    close(fd);
    if (lstat("etc/group", &st) == 0 || errno != ENOENT) /* whiteout hides the lower file */
        return 14;
    if (lstat("etc/passwd", &st) < 0)
        return 15;
    if (lstat("var/lowerfile", &st) == 0 || lstat("var/new", &st) < 0) /* opaque dir */
        return 16;
    if (lstat("bin/sh", &st) < 0 || !S_ISLNK(st.st_mode))
        return 17;
    /* The busybox of the image runs in it and sees the same tree. */
    pid = fork();
    if (pid == 0) {
        if (chroot(".") == 0)
            execl("/bin/sh", "sh", "-c",
                  "test -f /hello && ! test -e /etc/group && test -f /var/new && "
                  "! test -e /var/lowerfile && test \"$(cat /hello)\" = 'hello from top'",
                  (char *)NULL);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0)
        return 18;
    sk_buf_release(&opts);
    return 0;
}

START_TEST(overlay_of_resolved_layers_applies_whiteouts_and_opaque_dirs)
{
    struct rt_image_info info;
    struct rt_image_store s;
    char *mnt = sk_asprintf("%s/mnt-overlay", unit_tmpdir());
    int status;
    pid_t pid;

    open_store(&s, "overlay");
    import_ok(&s, "app-oci", NULL);
    resolve_ok(&s, "app:1", &info);
    ck_assert_int_eq(mkdir(mnt, 0755), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(overlay_child(&info, mnt));
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "overlay check failed: %d",
                  WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    rt_image_info_release(&info);
    rt_image_store_release(&s);
    free(mnt);
}
END_TEST

/* A copy of an OCI fixture to damage. */
static char *
copy_fixture(const char *name, const char *as)
{
    char *dst = sk_asprintf("%s/%s", unit_tmpdir(), as);

    sh("cp -a %s/%s %s", fx, name, dst);
    return dst;
}

static void
assert_import_fails(struct rt_image_store *s, const char *path, const char *name, int code,
                    const char *msg)
{
    struct rt_image_list l;
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_eq(rt_image_import(s, path, name, NULL, &err), -code);
    ck_assert_msg(strstr(err.msg, msg) != NULL, "want '%s' in: %s", msg, err.msg);
    ck_assert_msg(sk_startswith(err.msg, "import '"), "%s", err.msg);
    ck_assert_int_eq(rt_image_list(s, &l, NULL), 0);
    ck_assert_uint_eq(l.n, 0);
    rt_image_list_release(&l);
    ck_assert_uint_eq(count_dir(s, "tmp"), 0);
}

START_TEST(import_refuses_a_blob_with_a_wrong_digest)
{
    struct rt_image_store s;
    char *dir = copy_fixture("app-oci", "corrupt-oci");

    /* Every blob but the index.json entry's manifest: flip the layers. */
    sh("cd %s/blobs/sha256 && for f in *; do "
       "  if zstd -t -q \"$f\" 2>/dev/null; then printf x >> \"$f\"; fi; done",
       dir);
    open_store(&s, "corrupt");
    assert_import_fails(&s, dir, NULL, EBADMSG, "digest mismatch");
    ck_assert_uint_eq(count_dir(&s, "layers"), 0);
    rt_image_store_release(&s);
    free(dir);
}
END_TEST

START_TEST(import_refuses_a_layer_whose_diff_id_differs)
{
    char *tar = sk_asprintf("%s/layer-diffid.tar", unit_tmpdir());
    char blob[RT_IMAGE_DIGEST_LEN];
    struct rt_image_store s;
    struct sk_err err;
    int fd;

    sh("tar -C %s/rootfs -cf %s ./etc", fx, tar);
    open_store(&s, "diffid");
    fd = open(tar, O_RDONLY | O_CLOEXEC);
    sk_err_init(&err);
    ck_assert_int_eq(rt_image_blob_put_fd(&s, fd, NULL, blob, NULL, &err), 0);
    close(fd);
    ck_assert_int_eq(rt_image_layer_put(
                         &s, blob,
                         "sha256:0000000000000000000000000000000000000000000000000000000000000000",
                         &err),
                     -EBADMSG);
    ck_assert_msg(strstr(err.msg, "diff_id") != NULL, "%s", err.msg);
    ck_assert_uint_eq(count_dir(&s, "layers"), 0);
    ck_assert_uint_eq(count_dir(&s, "tmp"), 0);
    /* an uncompressed layer's blob digest is its diff_id */
    ck_assert_msg(rt_image_layer_put(&s, blob, blob, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(count_dir(&s, "layers"), 1);
    rt_image_store_release(&s);
    free(tar);
}
END_TEST

START_TEST(import_of_a_hostile_layer_leaves_no_partial_layer)
{
    struct rt_image_store s;
    char *path = sk_asprintf("%s/bad-oci", fx);

    open_store(&s, "hostile");
    assert_import_fails(&s, path, NULL, EPERM, "entry './dev/sda': block device 8:0");
    ck_assert_uint_eq(count_dir(&s, "layers"), 0);
    rt_image_store_release(&s);
    free(path);
}
END_TEST

START_TEST(import_refuses_bad_sources_with_clear_errors)
{
    struct rt_image_store s;
    char *junk = sk_asprintf("%s/junk.tar", unit_tmpdir());
    char *noname = copy_fixture("base-oci", "noname-oci");
    char *missing = sk_asprintf("%s/nope", unit_tmpdir());
    char *notlayout = sk_asprintf("%s/rootfs", fx);
    char *evil = sk_asprintf("%s/evil.tar", unit_tmpdir());

    sh("head -c 3000 /dev/urandom > %s", junk);
    sh("sed -i 's/,\"annotations\":{[^}]*}//' %s/index.json", noname);
    sh("d=$(mktemp -d) && cd $d && ln -s / root && tar -cf %s root && rm -rf $d", evil);
    open_store(&s, "badsrc");
    assert_import_fails(&s, missing, NULL, ENOENT, "'");
    assert_import_fails(&s, notlayout, NULL, EINVAL, "neither an OCI image layout");
    assert_import_fails(&s, junk, NULL, EBADMSG, "unpack");
    assert_import_fails(&s, noname, NULL, EINVAL, "has no name; give one with --name");
    assert_import_fails(&s, noname, "bad name", EINVAL, "bad name");
    assert_import_fails(&s, noname,
                        "x@sha256:0000000000000000000000000000000000000000000000000000000000000000",
                        EINVAL, "a digest cannot name");
    /* A symlink in an outer tar resolves inside the staging dir only. */
    assert_import_fails(&s, evil, NULL, EINVAL, "neither an OCI image layout");
    sh("cp -a %s %s-size && sed -i 's/\"size\":[0-9]*/\"size\":1/' %s-size/index.json", noname,
       noname, noname);
    {
        char *size = sk_asprintf("%s-size", noname);

        assert_import_fails(&s, size, "x:1", EBADMSG, "size is ");
        free(size);
    }
    import_ok(&s, "../noname-oci", "named:now");
    rt_image_store_release(&s);
    free(junk);
    free(noname);
    free(missing);
    free(notlayout);
    free(evil);
}
END_TEST

static const char *const bad_manifests[] = {
    "[]",
    "{\"schemaVersion\":1}",
    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\"}",
    "{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:abc\",\"size\":1},\"layers\":[]}",
    "{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:"
    "0000000000000000000000000000000000000000000000000000000000000000\",\"size\":-1},"
    "\"layers\":[]}",
    "{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:"
    "0000000000000000000000000000000000000000000000000000000000000000\",\"size\":1},"
    "\"layers\":{}}",
    "{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:"
    "0000000000000000000000000000000000000000000000000000000000000000\",\"size\":1},"
    "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip+encrypted\","
    "\"digest\":\"sha256:0000000000000000000000000000000000000000000000000000000000000000\","
    "\"size\":1}]}",
};

START_TEST(manifest_parse_refuses_malformed_manifests)
{
    struct rt_image_manifest m;
    struct sk_err err;
    json_t *j = json_loads(bad_manifests[_i], 0, NULL);

    ck_assert_ptr_nonnull(j);
    sk_err_init(&err);
    ck_assert_int_eq(rt_image_manifest_parse(j, &m, &err), -EBADMSG);
    ck_assert_msg(sk_startswith(err.msg, "manifest: "), "%s", err.msg);
    json_decref(j);
}
END_TEST

START_TEST(config_fill_reads_every_default)
{
    const char *text =
        "{\"created\":\"2024-01-02T03:04:05Z\",\"os\":\"linux\",\"architecture\":\"amd64\","
        "\"config\":{\"Entrypoint\":[],\"Cmd\":null,\"Env\":[\"PATH=/bin\"],"
        "\"WorkingDir\":\"/srv\",\"User\":\"1000:1000\","
        "\"ExposedPorts\":{\"80/tcp\":{},\"53/udp\":{}},\"Labels\":{\"a\":\"b\"}},"
        "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";
    struct rt_image_info info;
    struct sk_err err;
    json_t *j = json_loads(text, 0, NULL);

    memset(&info, 0, sizeof(info));
    sk_err_init(&err);
    ck_assert_msg(rt_image_config_fill(j, &info, &err) == 0, "%s", err.msg);
    ck_assert_ptr_nonnull(info.entrypoint);
    ck_assert_ptr_null(info.entrypoint[0]); /* set and empty */
    ck_assert_ptr_null(info.cmd);
    ck_assert_str_eq(info.env[0], "PATH=/bin");
    ck_assert_str_eq(info.working_dir, "/srv");
    ck_assert_str_eq(info.user, "1000:1000");
    ck_assert(strv_has(info.exposed_ports, "80/tcp") && strv_has(info.exposed_ports, "53/udp"));
    ck_assert_str_eq(info.labels[0].key, "a");
    ck_assert_str_eq(info.created, "2024-01-02T03:04:05Z");
    rt_image_info_release(&info);
    json_decref(j);
    j = json_loads("{\"config\":{\"Env\":[1]}}", 0, NULL);
    ck_assert_int_eq(rt_image_config_fill(j, &info, &err), -EBADMSG);
    ck_assert_str_eq(err.msg, "config: 'Env[0]' is not a string");
    rt_image_info_release(&info);
    json_decref(j);
}
END_TEST

/* Run rt_image_cli() with stdout and stderr captured. */
static int
cli(const char *root, char **out, char **errout, int argc, char **argv)
{
    char *paths[2] = {sk_asprintf("%s/cli.out", unit_tmpdir()),
                      sk_asprintf("%s/cli.err", unit_tmpdir())};
    char **bufs[2] = {out, errout};
    int saved[2], i, rc;

    fflush(stdout);
    fflush(stderr);
    for (i = 0; i < 2; i++) {
        int fd = open(paths[i], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        saved[i] = dup(i + 1);
        dup2(fd, i + 1);
        close(fd);
    }
    rc = rt_image_cli(argc, argv, root);
    fflush(stdout);
    fflush(stderr);
    for (i = 0; i < 2; i++) {
        FILE *f;
        long n;

        dup2(saved[i], i + 1);
        close(saved[i]);
        f = fopen(paths[i], "r");
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        rewind(f);
        *bufs[i] = sk_calloc(1, (size_t)n + 1);
        ck_assert_uint_eq(fread(*bufs[i], 1, (size_t)n, f), (size_t)n);
        fclose(f);
        free(paths[i]);
    }
    return rc;
}

#define CLI(root, out, err, ...)                                                                   \
    cli(root, out, err, sizeof((char *[]){__VA_ARGS__}) / sizeof(char *), (char *[]){__VA_ARGS__})

START_TEST(cli_imports_lists_inspects_removes_and_collects)
{
    char *root = new_root("cli"), *oci = sk_asprintf("%s/base-oci", fx);
    char *docker = sk_asprintf("%s/app-docker.tar", fx), *out, *err;
    json_t *j;

    ck_assert_int_eq(CLI(root, &out, &err, "image", "import", oci), 0);
    ck_assert_msg(sk_startswith(out, "imported busybox:base sha256:"), "%s", out);
    free(out);
    free(err);
    ck_assert_int_eq(CLI(root, &out, &err, "image", "import", "--name", "web:2", docker), 0);
    ck_assert_msg(sk_startswith(out, "imported web:2 sha256:"), "%s", out);
    free(out);
    free(err);
    ck_assert_int_eq(CLI(root, &out, &err, "image", "list"), 0);
    ck_assert_msg(sk_startswith(out, "REPOSITORY   TAG    DIGEST"), "%s", out);
    ck_assert_msg(strstr(out, "\nbusybox      base   sha256:") != NULL, "%s", out);
    ck_assert(strstr(out, "SIZE") && strstr(out, "CREATED") && strstr(out, "\nweb "));
    free(out);
    free(err);
    ck_assert_int_eq(CLI(root, &out, &err, "image", "list", "-q"), 0);
    ck_assert_str_eq(out, "busybox:base\nweb:2\n");
    free(out);
    free(err);
    ck_assert_int_eq(CLI(root, &out, &err, "image", "list", "--format", "json"), 0);
    j = json_loads(out, 0, NULL);
    ck_assert_msg(json_array_size(j) == 2, "%s", out);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(j, 1), "repository")), "web");
    ck_assert(json_integer_value(json_object_get(json_array_get(j, 1), "size")) > 0);
    json_decref(j);
    free(out);
    free(err);
    ck_assert_int_eq(CLI(root, &out, &err, "image", "inspect", "web:2"), 0);
    j = json_loads(out, 0, NULL);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(j, "RepoTags"), 0)), "web:2");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "Config"), "User")),
                     "nobody");
    ck_assert_uint_eq(json_array_size(json_object_get(j, "LayerDirs")), 2);
    json_decref(j);
    free(out);
    free(err);
    ck_assert_int_eq(CLI(root, &out, &err, "image", "rm", "web:2", "nope:1"), 1);
    ck_assert_str_eq(out, "removed web:2\n");
    ck_assert_str_eq(err, "skiff-runtime: image 'nope:1' not found\n");
    free(out);
    free(err);
    ck_assert_int_eq(CLI(root, &out, &err, "image", "gc"), 0);
    ck_assert_msg(strstr(out, "and 1 layers") != NULL, "%s", out);
    free(out);
    free(err);
    ck_assert_int_eq(CLI(root, &out, &err, "image", "inspect", "web:2"), 1);
    ck_assert_msg(sk_startswith(err, "skiff-runtime: image 'web:2': "), "%s", err);
    free(out);
    free(err);
    free(oci);
    free(docker);
    free(root);
}
END_TEST

START_TEST(cli_reports_usage_errors)
{
    char *root = new_root("cli-usage"), *out, *err;

    ck_assert_int_eq(CLI(root, &out, &err, "image"), 1);
    ck_assert(strstr(err, "usage: skiff-runtime image import"));
    free(out);
    free(err);
    ck_assert_int_eq(CLI(root, &out, &err, "image", "frobnicate"), 1);
    ck_assert(sk_startswith(err, "skiff-runtime: image: unknown command 'frobnicate'"));
    free(out);
    free(err);
    ck_assert_int_eq(CLI(root, &out, &err, "image", "list", "--format", "yaml"), 1);
    free(out);
    free(err);
    ck_assert_int_eq(CLI(root, &out, &err, "image", "import"), 1);
    free(out);
    free(err);
    ck_assert_int_eq(CLI(root, &out, &err, "image", "import", "/nonexistent/x"), 1);
    ck_assert_msg(sk_startswith(err, "skiff-runtime: import '/nonexistent/x': "), "%s", err);
    free(out);
    free(err);
    ck_assert_int_eq(CLI("relative/root", &out, &err, "image", "list"), 1);
    ck_assert(sk_startswith(err, "skiff-runtime: image store"));
    free(out);
    free(err);
    free(root);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("image_store");
    TCase *tc = tcase_create("core");
    char cmd[300];

    if (geteuid() != 0) {
        printf("note: image store tests need root (mknod, overlayfs); skipped\n");
        return 0;
    }
    if (build_fixtures() < 0) {
        printf("note: cannot build image fixtures; skipped\n");
        snprintf(cmd, sizeof(cmd), "rm -rf %s", unit_tmpdir());
        return system(cmd) == 0 ? 0 : 1;
    }
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, oci_dir_oci_tar_and_docker_tar_import_and_share_one_layer);
    tcase_add_test(tc, resolve_gives_config_defaults_and_layers_top_first);
    tcase_add_test(tc, rm_and_gc_remove_only_what_nothing_references);
    tcase_add_test(tc, rm_by_digest_removes_every_reference);
    tcase_add_test(tc, a_pin_keeps_layers_of_a_removed_image);
    tcase_add_test(tc, resolve_pinned_pins_in_the_same_step);
    tcase_add_test(tc, concurrent_imports_and_gc_keep_the_store_consistent);
    tcase_add_test(tc, overlay_of_resolved_layers_applies_whiteouts_and_opaque_dirs);
    tcase_add_test(tc, import_refuses_a_blob_with_a_wrong_digest);
    tcase_add_test(tc, import_refuses_a_layer_whose_diff_id_differs);
    tcase_add_test(tc, import_of_a_hostile_layer_leaves_no_partial_layer);
    tcase_add_test(tc, import_refuses_bad_sources_with_clear_errors);
    tcase_add_loop_test(tc, manifest_parse_refuses_malformed_manifests, 0,
                        sizeof(bad_manifests) / sizeof(bad_manifests[0]));
    tcase_add_test(tc, config_fill_reads_every_default);
    tcase_add_test(tc, cli_imports_lists_inspects_removes_and_collects);
    tcase_add_test(tc, cli_reports_usage_errors);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
