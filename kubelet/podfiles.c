/* kubelet/: the pod's files on the host (the non-pure half of podspec).
 *
 * Projected configMap/secret volume layout (Kubernetes' AtomicWriter):
 *
 *   <dir>/..data_<random>/<path>   the files of one version
 *   <dir>/..data -> ..data_<random>   swapped with rename(2), atomic
 *   <dir>/<top> -> ..data/<top>    one link per top-level name
 *
 * so a container never sees a half-written set: it reads either the old
 * or the new version. Files are written 0600 first and chmod'ed to their
 * mode once complete. */
#include "kubelet/kl_int.h"

#include "lib/alloc.h"
#include "lib/quantity.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

int
kl_mkdir_p(const char *path, mode_t mode, struct sk_err *err)
{
    char *p = sk_strdup(path);
    int rc = 0;

    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, mode) < 0 && errno != EEXIST) {
            rc = sk_err_sys(err, errno, "mkdir '%s'", p);
            break;
        }
        *s = c;
        if (c == '\0')
            break;
    }
    free(p);
    return rc;
}

/* Write data to path atomically (tmp + rename). */
int
kl_write_file(const char *path, const void *data, size_t len, mode_t mode, struct sk_err *err)
{
    char *tmp = sk_asprintf("%s.tmp", path);
    int fd, rc = 0;

    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        rc = sk_err_sys(err, errno, "open '%s'", tmp);
        goto out_free;
    }
    if (write(fd, data, len) != (ssize_t)len || fchmod(fd, mode) < 0) {
        rc = sk_err_sys(err, errno ? errno : EIO, "write '%s'", tmp);
        close(fd);
        unlink(tmp);
        goto out_free;
    }
    close(fd);
    if (rename(tmp, path) < 0) {
        rc = sk_err_sys(err, errno, "rename '%s'", tmp);
        unlink(tmp);
    }
out_free:
    free(tmp);
    return rc;
}

/* Fallback without openat2: walk component by component refusing every
 * symlink (stricter than Kubernetes, never looser). */
static int
walk_nofollow(int rootfd, const char *sub, struct sk_err *err)
{
    char *copy = sk_strdup(sub), *save = NULL;
    int fd = dup(rootfd);

    for (char *c = strtok_r(copy, "/", &save); c && fd >= 0; c = strtok_r(NULL, "/", &save)) {
        int next = openat(fd, c, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;
        if (next >= 0 && fstat(next, &st) == 0 && S_ISLNK(st.st_mode)) {
            close(next);
            next = -1;
            errno = ELOOP;
        }
        int e = errno;
        close(fd);
        fd = next;
        errno = e;
    }
    free(copy);
    if (fd < 0)
        return sk_err_sys(err, errno, "subPath '%s'", sub);
    return fd;
}

int
kl_subpath_resolve(const char *root, const char *subpath, char **out, struct sk_err *err)
{
    struct open_how how = {.flags = O_PATH | O_CLOEXEC,
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
    char link[64], real[4096];
    int rootfd, fd, rc = 0;
    ssize_t n;

    if (!kl_path_clean(subpath, false))
        return sk_err_set(err, EINVAL, "subPath '%s': must be relative without '..'", subpath);
    rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return sk_err_sys(err, errno, "open volume '%s'", root);
    fd = (int)syscall(SYS_openat2, rootfd, subpath, &how, sizeof(how));
    if (fd < 0 && (errno == ENOSYS || errno == E2BIG))
        fd = walk_nofollow(rootfd, subpath, err);
    else if (fd < 0 && errno == EXDEV)
        fd = sk_err_set(err, EXDEV, "subPath '%s': leads outside the volume", subpath);
    else if (fd < 0)
        fd = sk_err_sys(err, errno, "subPath '%s'", subpath);
    close(rootfd);
    if (fd < 0)
        return fd;
    /* the canonical path of what was opened beneath root */
    sk_snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    n = readlink(link, real, sizeof(real) - 1);
    if (n < 0)
        rc = sk_err_sys(err, errno, "readlink '%s'", link);
    else {
        real[n] = '\0';
        *out = sk_strdup(real);
    }
    close(fd);
    return rc;
}

int
kl_hostpath_check(const char *path, const char *type, struct sk_err *err)
{
    static const struct {
        const char *type, *what;
        mode_t fmt;
    } kinds[] = {
        {"Directory", "a directory", S_IFDIR},
        {"DirectoryOrCreate", "a directory", S_IFDIR},
        {"File", "a file", S_IFREG},
        {"FileOrCreate", "a file", S_IFREG},
        {"Socket", "a socket", S_IFSOCK},
        {"CharDevice", "a character device", S_IFCHR},
        {"BlockDevice", "a block device", S_IFBLK},
    };
    struct stat st;

    if (!type || !*type)
        return 0;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (strcmp(type, kinds[i].type) != 0)
            continue;
        int rc = strcmp(type, "DirectoryOrCreate") == 0 ? kl_mkdir_p(path, 0755, err) : 0;
        if (rc < 0)
            return rc;
        if (strcmp(type, "FileOrCreate") == 0 && stat(path, &st) < 0 && errno == ENOENT) {
            int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
            if (fd < 0 && errno != EEXIST)
                return sk_err_sys(err, errno, "hostPath '%s': create", path);
            if (fd >= 0)
                close(fd);
        }
        if (stat(path, &st) < 0)
            return sk_err_sys(err, errno, "hostPath type check failed: '%s'", path);
        if ((st.st_mode & S_IFMT) != kinds[i].fmt)
            return sk_err_set(err, ENOTDIR, "hostPath type check failed: '%s' is not %s", path,
                              kinds[i].what);
        return 0;
    }
    return sk_err_set(err, EINVAL, "hostPath '%s': unknown type '%s'", path, type);
}

int
kl_volume_emptydir(const json_t *vol, const char *path, const char *dir, struct sk_err *err)
{
    const json_t *ed = json_object_get(vol, "emptyDir"), *lim;
    struct sk_quantity q;
    const char *medium;
    struct statfs sfs;
    char opts[64] = "mode=0777";
    int rc;

    if ((rc = kl_opt_str(ed, path, "medium", &medium, err)) < 0)
        return rc;
    if ((rc = kl_mkdir_p(dir, 0777, err)) < 0)
        return rc;
    if (chmod(dir, 0777) < 0) /* the umask narrowed it; containers of any user write here */
        return sk_err_sys(err, errno, "chmod '%s'", dir);
    if (!medium || !*medium)
        return 0;
    if (strcmp(medium, "Memory") != 0)
        return sk_err_set(err, EINVAL, "%s.emptyDir.medium: unsupported '%s'", path, medium);
    if (statfs(dir, &sfs) == 0 && sfs.f_type == TMPFS_MAGIC)
        return 0; /* mounted by an earlier sync */
    lim = json_object_get(ed, "sizeLimit");
    if (lim && !json_is_null(lim)) {
        if (sk_quantity_from_json(lim, &q, err) < 0)
            return sk_err_wrap(err, "%s.emptyDir.sizeLimit", path);
        sk_snprintf(opts, sizeof(opts), "mode=0777,size=%lld", (long long)sk_quantity_value(&q));
    }
    if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
        return sk_err_sys(err, errno, "mount tmpfs on '%s'", dir);
    return 0;
}
