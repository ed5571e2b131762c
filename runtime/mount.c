/* The container's mount tree: options, mounts below the rootfs,
 * pivot_root, masked and read-only paths.
 *
 * Targets are resolved inside the rootfs with openat2(RESOLVE_IN_ROOT),
 * so a symlink in an image cannot redirect a mount onto the host; the
 * mount then goes onto /proc/self/fd/N of that resolved fd. */
#include "runtime/rt_int.h"

#include "lib/alloc.h"
#include "lib/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

static const struct {
    const char *name;
    unsigned long set, clear;
    int kind; /* 0 flag, 1 propagation, 2 bind, 3 rbind */
} mount_opts[] = {
    {"ro", MS_RDONLY, 0, 0},
    {"rw", 0, MS_RDONLY, 0},
    {"nosuid", MS_NOSUID, 0, 0},
    {"suid", 0, MS_NOSUID, 0},
    {"nodev", MS_NODEV, 0, 0},
    {"dev", 0, MS_NODEV, 0},
    {"noexec", MS_NOEXEC, 0, 0},
    {"exec", 0, MS_NOEXEC, 0},
    {"sync", MS_SYNCHRONOUS, 0, 0},
    {"async", 0, MS_SYNCHRONOUS, 0},
    {"dirsync", MS_DIRSYNC, 0, 0},
    {"mand", MS_MANDLOCK, 0, 0},
    {"nomand", 0, MS_MANDLOCK, 0},
    {"atime", 0, MS_NOATIME, 0},
    {"noatime", MS_NOATIME, 0, 0},
    {"diratime", 0, MS_NODIRATIME, 0},
    {"nodiratime", MS_NODIRATIME, 0, 0},
    {"relatime", MS_RELATIME, 0, 0},
    {"norelatime", 0, MS_RELATIME, 0},
    {"strictatime", MS_STRICTATIME, 0, 0},
    {"nostrictatime", 0, MS_STRICTATIME, 0},
    {"private", MS_PRIVATE, 0, 1},
    {"rprivate", MS_PRIVATE | MS_REC, 0, 1},
    {"shared", MS_SHARED, 0, 1},
    {"rshared", MS_SHARED | MS_REC, 0, 1},
    {"slave", MS_SLAVE, 0, 1},
    {"rslave", MS_SLAVE | MS_REC, 0, 1},
    {"unbindable", MS_UNBINDABLE, 0, 1},
    {"runbindable", MS_UNBINDABLE | MS_REC, 0, 1},
    {"bind", 0, 0, 2},
    {"rbind", 0, 0, 3},
};

/* Known option: fold it into m. Returns 0 and sets *data to opt when the
 * option is for the filesystem itself (size=, mode=). -1 for options that
 * skiff cannot honour (tmpcopyup, idmap, recursive ro ...). */
int
rt_mount_options_parse(const char *opt, struct rt_mount *m, char **data)
{
    *data = NULL;
    for (size_t i = 0; i < sizeof(mount_opts) / sizeof(mount_opts[0]); i++) {
        if (strcmp(mount_opts[i].name, opt) != 0)
            continue;
        switch (mount_opts[i].kind) {
        case 0:
            m->flags = (m->flags | mount_opts[i].set) & ~mount_opts[i].clear;
            break;
        case 1:
            m->propagation = mount_opts[i].set;
            break;
        default:
            m->bind = mount_opts[i].kind == 3 ? 2 : 1;
        }
        return 0;
    }
    if (strcmp(opt, "tmpcopyup") == 0 || strcmp(opt, "idmap") == 0 || strcmp(opt, "ridmap") == 0 ||
        strcmp(opt, "rro") == 0 || strcmp(opt, "rnosuid") == 0 || strcmp(opt, "rnodev") == 0 ||
        strcmp(opt, "rnoexec") == 0 || strcmp(opt, "remount") == 0 || strchr(opt, '"'))
        return -1;
    *data = (char *)opt;
    return 0;
}

static int
open_in_root(int rootfd, const char *path, int flags)
{
    struct open_how how = {.flags = (uint64_t)flags | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};

    return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
}

/* mkdir -p of path inside rootfd (the last component a file when
 * is_file); returns an O_PATH fd of the target. */
static int
make_target(int rootfd, const char *root, const char *path, int is_file, struct sk_err *err)
{
    char *copy = sk_strdup(path), *p = copy;
    int fd = -1;

    for (;;) {
        char *slash;
        int last;

        while (*p == '/')
            p++;
        slash = strchr(p, '/');
        last = !slash || !slash[strspn(slash, "/")];
        if (slash)
            *slash = '\0';
        fd = open_in_root(rootfd, copy, O_PATH);
        if (fd < 0 && errno == ENOENT) {
            int dfd;
            char *base = strrchr(copy, '/');

            *base = '\0';
            dfd = open_in_root(rootfd, *copy ? copy : "/", O_PATH | O_DIRECTORY);
            *base = '/';
            if (dfd >= 0) {
                if (last && is_file) {
                    int f =
                        openat(dfd, base + 1, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
                    if (f >= 0)
                        close(f);
                } else {
                    mkdirat(dfd, base + 1, 0755);
                }
                close(dfd);
            }
            fd = open_in_root(rootfd, copy, O_PATH);
        }
        if (fd < 0 || last)
            break;
        close(fd);
        fd = -1;
        *slash = '/';
        p = slash + 1;
    }
    if (fd < 0)
        sk_err_sys(err, errno, "create mount point '%s%s'", root, path);
    free(copy);
    return fd;
}

static int
do_mount(const char *src, int fd, const char *type, unsigned long flags, const char *data)
{
    char target[64];

    snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
    return mount(src, target, type, flags, data);
}

static int
mount_one(int rootfd, const char *root, const struct rt_mount *m, struct sk_err *err)
{
    const char *type = m->type;
    unsigned long flags = m->flags;
    struct stat st;
    int fd, rc = 0;

    if (m->bind && stat(m->source, &st) < 0)
        return sk_err_sys(err, errno, "bind source '%s'", m->source);
    fd = make_target(rootfd, root, m->destination, m->bind && !S_ISDIR(st.st_mode), err);
    if (fd < 0)
        return -errno;
    if (strcmp(type, "sysfs") == 0)
        flags |= MS_RDONLY; /* the host's devices and firmware stay read-only */
    if (strcmp(type, "cgroup") == 0)
        type = "cgroup2"; /* the container sees its v2 view (see skiff-runtime(8)) */
    if (m->bind) {
        rc = do_mount(m->source, fd, NULL, MS_BIND | (m->bind == 2 ? MS_REC : 0), NULL);
        if (rc == 0 && (m->propagation || (flags & ~MS_REC))) {
            /* fd still names the covered mount point, not the new
             * mount: a remount through it fails with EINVAL ("not a
             * mount"). Look the path up again to land on the bind. */
            int nfd = open_in_root(rootfd, m->destination, O_PATH);
            if (nfd < 0) {
                rc = -1;
            } else {
                close(fd);
                fd = nfd;
            }
        }
        if (rc == 0 && (flags & ~MS_REC))
            rc = do_mount(NULL, fd, NULL, MS_REMOUNT | MS_BIND | flags, NULL);
    } else {
        rc = do_mount(m->source, fd, type, flags, m->data);
    }
    if (rc == 0 && m->propagation)
        rc = do_mount(NULL, fd, NULL, m->propagation, NULL);
    if (rc < 0)
        rc = sk_err_sys(err, errno, "mount '%s' on '%s%s'", m->source, root, m->destination);
    close(fd);
    return rc;
}

static unsigned long kept_flags(const char *path);

static int
has_mount(const struct rt_spec *spec, const char *dest)
{
    for (size_t i = 0; i < spec->nmounts; i++)
        if (strcmp(spec->mounts[i].destination, dest) == 0)
            return 1;
    return 0;
}

static int
pivot(const char *rootfs, struct sk_err *err)
{
    /* pivot_root(".", "."): the old root ends up on top of the new one
     * and is detached right away, so no host path stays reachable. */
    if (chdir(rootfs) < 0)
        return sk_err_sys(err, errno, "chdir '%s'", rootfs);
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        return sk_err_sys(err, errno, "pivot_root '%s'", rootfs);
    if (umount2(".", MNT_DETACH) < 0)
        return sk_err_sys(err, errno, "umount old root");
    if (chdir("/") < 0)
        return sk_err_sys(err, errno, "chdir '/'");
    return 0;
}

int
rt_rootfs_setup(const struct rt_spec *spec, const char *rootfs, int userns, struct sk_err *err)
{
    static const struct rt_mount devtmp = {
        "/dev", "tmpfs", "tmpfs", "mode=755,size=65536k", MS_NOSUID | MS_STRICTATIME, 0, 0};
    int rootfd, rc = 0;

    if (mount(NULL, "/", NULL, spec->rootfs_propagation, NULL) < 0)
        return sk_err_sys(err, errno, "make mount tree private");
    if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
        return sk_err_sys(err, errno, "bind rootfs '%s'", rootfs);
    /* nodev: device nodes shipped in an image are unusable; the only
     * nodes are the ones dev.c makes on the /dev tmpfs. */
    if (mount(NULL, rootfs, NULL, MS_REMOUNT | MS_BIND | MS_NODEV | kept_flags(rootfs), NULL) < 0)
        return sk_err_sys(err, errno, "remount rootfs '%s' nodev", rootfs);
    rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return sk_err_sys(err, errno, "open rootfs '%s'", rootfs);
    if (!has_mount(spec, "/dev"))
        rc = mount_one(rootfd, rootfs, &devtmp, err);
    for (size_t i = 0; rc == 0 && i < spec->nmounts; i++)
        rc = mount_one(rootfd, rootfs, &spec->mounts[i], err);
    if (rc == 0)
        rc = rt_dev_setup(rootfs, userns, err);
    close(rootfd);
    return rc;
}

int
rt_rootfs_pivot(const char *rootfs, struct sk_err *err)
{
    return pivot(rootfs, err);
}

static unsigned long
kept_flags(const char *path)
{
    struct statvfs sv;
    unsigned long f = 0;

    if (statvfs(path, &sv) < 0)
        return 0;
    /* In a user namespace these flags are locked: a remount must keep
     * them or the kernel refuses it. */
    f |= sv.f_flag & ST_NOSUID ? MS_NOSUID : 0;
    f |= sv.f_flag & ST_NODEV ? MS_NODEV : 0;
    f |= sv.f_flag & ST_NOEXEC ? MS_NOEXEC : 0;
    return f;
}

static int
make_readonly(const char *path, int bind_first, struct sk_err *err)
{
    if (bind_first && mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) {
        if (errno == ENOENT)
            return 0;
        return sk_err_sys(err, errno, "bind '%s' read-only", path);
    }
    if (mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | kept_flags(path), NULL) < 0)
        return sk_err_sys(err, errno, "remount '%s' read-only", path);
    return 0;
}

static int
mask_path(const char *path, struct sk_err *err)
{
    struct stat st;

    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : sk_err_sys(err, errno, "mask '%s'", path);
    if (S_ISDIR(st.st_mode)) {
        if (mount("tmpfs", path, "tmpfs", MS_RDONLY, "size=0") < 0)
            return sk_err_sys(err, errno, "mask '%s'", path);
    } else if (mount("/dev/null", path, NULL, MS_BIND, NULL) < 0) {
        return sk_err_sys(err, errno, "mask '%s'", path);
    }
    return 0;
}

static int
write_sysctl(const struct rt_kv *kv, struct sk_err *err)
{
    char path[512];
    int fd, rc = 0;

    if (strstr(kv->key, "..") || sk_snprintf(path, sizeof(path), "/proc/sys/%s", kv->key) < 0)
        return sk_err_set(err, EINVAL, "sysctl '%s': bad name", kv->key);
    for (char *p = path + 10; *p; p++)
        if (*p == '.')
            *p = '/';
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return sk_err_sys(err, errno, "sysctl '%s'", kv->key);
    if (rt_write_all(fd, kv->value, strlen(kv->value)) < 0)
        rc = sk_err_sys(err, errno, "sysctl '%s'", kv->key);
    close(fd);
    return rc;
}

/* After pivot_root: paths are the container's own. */
int
rt_rootfs_finish(const struct rt_spec *spec, struct sk_err *err)
{
    for (size_t i = 0; i < spec->nsysctl; i++)
        if (write_sysctl(&spec->sysctl[i], err) < 0)
            return -EPERM;
    for (size_t i = 0; i < spec->nreadonly_paths; i++)
        if (make_readonly(spec->readonly_paths[i], 1, err) < 0)
            return -EPERM;
    for (size_t i = 0; i < spec->nmasked_paths; i++)
        if (mask_path(spec->masked_paths[i], err) < 0)
            return -EPERM;
    if (spec->root_readonly && make_readonly("/", 0, err) < 0)
        return -EPERM;
    return 0;
}
