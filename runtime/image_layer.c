/* Unpacking layer tar streams into overlayfs lowerdirs.
 *
 * A layer archive is hostile input. Every entry path is cleaned first
 * (relative, no ".." component), then its parent directory is opened one
 * component at a time from the layer root with O_NOFOLLOW, so nothing
 * is ever written through a symlink: a layer that plants "lib -> /etc"
 * and then "lib/passwd" is refused instead of being resolved anywhere
 * (the class of tar escapes of CVE-2018-15664 and CVE-2019-14271).
 * Symlink targets are stored as they are and never followed here; they
 * resolve inside the container's root at run time. Hard links must name
 * an earlier entry of the same layer. Device nodes are refused, except
 * the 0:0 character device that is overlayfs's own whiteout.
 *
 * OCI whiteouts become overlayfs ones while unpacking, since each layer
 * directory is later a lowerdir as it is (Documentation/filesystems/
 * overlayfs.rst, "whiteouts and opaque directories"):
 *
 *     .wh.<name>       ->  <name> as a character device 0:0
 *     .wh..wh..opq     ->  xattr trusted.overlay.opaque=y on the directory
 *
 * Ownership, modes, mtimes and xattrs are kept. chown(2) clears setuid
 * bits and security.capability, so the order per entry is data, owner,
 * mode, xattrs, times. Directory mtimes are set last, after everything
 * inside them was written. trusted.overlay.* xattrs in an archive are
 * refused: they would steer overlayfs (redirects, metacopy) from inside
 * an image.
 *
 * The uncompressed stream is hashed while it is read (its sha256 is the
 * layer's diff_id): a "raw" libarchive reader decompresses the file and
 * feeds a tar reader, and whatever the tar reader leaves after the end
 * of the archive is hashed too. */
#include "runtime/image_int.h"

#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/err.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define UNPACK_BUF (64 * 1024)

struct dir_time {
    char *path;
    struct timespec mtime;
};

struct unpack {
    struct archive *raw; /* decompressor over the file */
    struct archive *tar; /* tar reader fed from raw */
    struct rt_image_sha256 *hash;
    int dest_fd;
    unsigned flags;
    struct dir_time *dirs;
    size_t n_dirs;
    char *buf;
};

int
rt_image_path_clean(const char *path, char *out, size_t outsz, struct sk_err *err)
{
    const char *p = path, *end;
    size_t len, used = 0;

    if (!path || !*path)
        return sk_err_set(err, EINVAL, "empty path");
    if (path[0] == '/')
        return sk_err_set(err, EINVAL, "absolute path");
    while (*p) {
        end = strchrnul(p, '/');
        len = (size_t)(end - p);
        if (len == 2 && p[0] == '.' && p[1] == '.')
            return sk_err_set(err, EINVAL, "'..' component");
        if (len > 0 && !(len == 1 && p[0] == '.')) {
            if (used + len + 2 > outsz)
                return sk_err_set(err, ENAMETOOLONG, "path too long");
            if (used)
                out[used++] = '/';
            memcpy(out + used, p, len);
            used += len;
        }
        p = *end ? end + 1 : end;
    }
    if (!used) {
        if (outsz < 2)
            return sk_err_set(err, ENAMETOOLONG, "path too long");
        out[used++] = '.';
    }
    out[used] = '\0';
    return 0;
}

int
rt_image_whiteout_kind(const char *base, const char **name_out, struct sk_err *err)
{
    const char *name;

    *name_out = NULL;
    if (!sk_startswith(base, ".wh."))
        return RT_WH_NONE;
    if (strcmp(base, ".wh..wh..opq") == 0)
        return RT_WH_OPAQUE;
    if (sk_startswith(base, ".wh..wh."))
        return RT_WH_SKIP;
    name = base + 4;
    if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return sk_err_set(err, EINVAL, "whiteout '%s' names no file", base);
    *name_out = name;
    return RT_WH_FILE;
}

/* Open directory path (cleaned, relative to the layer root) without
 * following any symlink; with create, make missing directories 0755
 * (archives may leave out parent entries). */
static int
unpack_walk(struct unpack *u, const char *path, int create, int *out, struct sk_err *err)
{
    char buf[PATH_MAX], *comp, *save = NULL;
    struct stat st;
    int fd, nfd;

    fd = openat(u->dest_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return sk_err_sys(err, errno, "open layer root");
    if (strcmp(path, ".") == 0)
        goto done;
    sk_strlcpy(buf, path, sizeof(buf));
    for (comp = strtok_r(buf, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
        if (create && mkdirat(fd, comp, 0755) < 0 && errno != EEXIST) {
            sk_err_sys(err, errno, "mkdir '%s'", comp);
            goto fail;
        }
        nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (nfd < 0) {
            int e = errno;

            if (fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
                sk_err_set(err, EPERM, "'%s' is a symlink; refusing to go through it", comp);
            else if (e == ENOTDIR || e == ELOOP)
                sk_err_set(err, ENOTDIR, "'%s' is not a directory", comp);
            else
                sk_err_sys(err, e, "open '%s'", comp);
            goto fail;
        }
        close(fd);
        fd = nfd;
    }
done:
    *out = fd;
    return 0;
fail:
    close(fd);
    return -1;
}

/* Make room for a new entry called base: remove a non-directory (a later
 * tar entry replaces an earlier one) or an empty directory. An existing
 * directory is kept when keep_dir is set. Returns 1 if a directory was
 * kept. */
static int
unpack_make_room(int pfd, const char *base, int keep_dir, struct sk_err *err)
{
    struct stat st;

    if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : sk_err_sys(err, errno, "stat '%s'", base);
    if (S_ISDIR(st.st_mode)) {
        if (keep_dir)
            return 1;
        if (unlinkat(pfd, base, AT_REMOVEDIR) < 0)
            return sk_err_sys(err, errno, "replace directory '%s'", base);
        return 0;
    }
    if (unlinkat(pfd, base, 0) < 0)
        return sk_err_sys(err, errno, "replace '%s'", base);
    return 0;
}

static int
unpack_xattrs(struct unpack *u, struct archive_entry *e, int fd, const char *lpath,
              struct sk_err *err)
{
    const char *name;
    const void *value;
    size_t size;
    int rc;

    archive_entry_xattr_reset(e);
    while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
        if (sk_startswith(name, "trusted.overlay."))
            return sk_err_set(err, EPERM, "xattr '%s' is reserved for overlayfs", name);
        rc = lpath ? lsetxattr(lpath, name, value, size, 0) : fsetxattr(fd, name, value, size, 0);
        if (rc < 0)
            return sk_err_sys(err, errno, "set xattr '%s'", name);
    }
    return 0;
}

/* Owner (as root only), mode, xattrs, mtime of a file or directory open
 * as fd. */
static int
unpack_meta_fd(struct unpack *u, struct archive_entry *e, int fd, struct sk_err *err)
{
    struct timespec ts[2];
    mode_t mode = archive_entry_perm(e);

    if (u->flags & RT_IMAGE_UNPACK_LAYER) {
        if (fchown(fd, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e)) < 0 &&
            !(errno == EPERM && geteuid() != 0))
            return sk_err_sys(err, errno, "chown");
    } else {
        mode &= 0777;
    }
    if (fchmod(fd, mode & 07777) < 0)
        return sk_err_sys(err, errno, "chmod");
    if ((u->flags & RT_IMAGE_UNPACK_LAYER) && unpack_xattrs(u, e, fd, NULL, err) < 0)
        return -1;
    if (S_ISDIR(archive_entry_filetype(e)))
        return 0;
    ts[0].tv_sec = ts[1].tv_sec = archive_entry_mtime(e);
    ts[0].tv_nsec = ts[1].tv_nsec = archive_entry_mtime_nsec(e);
    if (futimens(fd, ts) < 0)
        return sk_err_sys(err, errno, "set times");
    return 0;
}

/* Owner and mtime of a symlink, fifo or device, by name in pfd. */
static int
unpack_meta_at(struct unpack *u, struct archive_entry *e, int pfd, const char *base,
               struct sk_err *err)
{
    struct timespec ts[2];
    char lpath[PATH_MAX];

    if (fchownat(pfd, base, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e),
                 AT_SYMLINK_NOFOLLOW) < 0 &&
        !(errno == EPERM && geteuid() != 0))
        return sk_err_sys(err, errno, "chown");
    if (archive_entry_filetype(e) != AE_IFLNK &&
        fchmodat(pfd, base, archive_entry_perm(e) & 07777, 0) < 0)
        return sk_err_sys(err, errno, "chmod");
    /* lsetxattr needs a path: reach the entry through our own fd of its
     * parent; the last component is not followed. */
    snprintf(lpath, sizeof(lpath), "/proc/self/fd/%d/%s", pfd, base);
    if (unpack_xattrs(u, e, -1, lpath, err) < 0)
        return -1;
    ts[0].tv_sec = ts[1].tv_sec = archive_entry_mtime(e);
    ts[0].tv_nsec = ts[1].tv_nsec = archive_entry_mtime_nsec(e);
    if (utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
        return sk_err_sys(err, errno, "set times");
    return 0;
}

static int
unpack_write_all(int fd, const char *p, size_t n, off_t off, struct sk_err *err)
{
    ssize_t w;

    while (n > 0) {
        w = pwrite(fd, p, n, off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return sk_err_sys(err, w < 0 ? errno : EIO, "write");
        p += w;
        n -= (size_t)w;
        off += w;
    }
    return 0;
}

static int
unpack_file(struct unpack *u, struct archive_entry *e, int pfd, const char *base,
            struct sk_err *err)
{
    const void *data;
    size_t size;
    la_int64_t off;
    int fd, r, rc = -1;

    if (unpack_make_room(pfd, base, 0, err) < 0)
        return -1;
    fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return sk_err_sys(err, errno, "create");
    for (;;) {
        r = archive_read_data_block(u->tar, &data, &size, &off);
        if (r == ARCHIVE_EOF)
            break;
        if (r != ARCHIVE_OK) {
            sk_err_set(err, EBADMSG, "read data: %s", archive_error_string(u->tar));
            goto out_close;
        }
        if (unpack_write_all(fd, data, size, (off_t)off, err) < 0)
            goto out_close;
    }
    /* Sparse files end in a hole that no block covers. */
    if (ftruncate(fd, (off_t)archive_entry_size(e)) < 0) {
        sk_err_sys(err, errno, "truncate");
        goto out_close;
    }
    rc = unpack_meta_fd(u, e, fd, err);
out_close:
    close(fd);
    return rc;
}

static int
unpack_dir(struct unpack *u, struct archive_entry *e, int pfd, const char *base, const char *path,
           struct sk_err *err)
{
    struct dir_time *d;
    int fd, rc;

    if (strcmp(path, ".") == 0) {
        fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    } else {
        rc = unpack_make_room(pfd, base, 1, err);
        if (rc < 0)
            return -1;
        if (rc == 0 && mkdirat(pfd, base, 0700) < 0)
            return sk_err_sys(err, errno, "mkdir");
        fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0)
        return sk_err_sys(err, errno, "open directory");
    rc = unpack_meta_fd(u, e, fd, err);
    close(fd);
    if (rc < 0)
        return -1;
    u->dirs = sk_reallocarray(u->dirs, u->n_dirs + 1, sizeof(*u->dirs));
    d = &u->dirs[u->n_dirs++];
    d->path = sk_strdup(path);
    d->mtime.tv_sec = archive_entry_mtime(e);
    d->mtime.tv_nsec = archive_entry_mtime_nsec(e);
    return 0;
}

static int
unpack_hardlink(struct unpack *u, const char *target, int pfd, const char *base, struct sk_err *err)
{
    char clean[PATH_MAX], *slash;
    const char *tbase;
    struct stat st;
    int tfd, rc = -1;

    if (rt_image_path_clean(target, clean, sizeof(clean), err) < 0)
        return sk_err_wrap(err, "hard link target '%s'", target);
    slash = strrchr(clean, '/');
    if (slash) {
        *slash = '\0';
        tbase = slash + 1;
    } else {
        tbase = clean;
    }
    if (strcmp(clean, ".") == 0 && !slash)
        return sk_err_set(err, EINVAL, "hard link to the layer root");
    if (unpack_walk(u, slash ? clean : ".", 0, &tfd, err) < 0)
        return sk_err_wrap(err, "hard link target '%s'", target);
    if (fstatat(tfd, tbase, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        sk_err_sys(err, errno, "hard link target '%s'", target);
        goto out_close;
    }
    if (S_ISDIR(st.st_mode)) {
        sk_err_set(err, EPERM, "hard link target '%s' is a directory", target);
        goto out_close;
    }
    if (unpack_make_room(pfd, base, 0, err) < 0)
        goto out_close;
    /* No AT_SYMLINK_FOLLOW: a link to a symlink links the symlink. */
    if (linkat(tfd, tbase, pfd, base, 0) < 0) {
        sk_err_sys(err, errno, "link to '%s'", target);
        goto out_close;
    }
    rc = 0;
out_close:
    close(tfd);
    return rc;
}

static int
unpack_special(struct unpack *u, struct archive_entry *e, int pfd, const char *base,
               struct sk_err *err)
{
    unsigned type = archive_entry_filetype(e);
    const char *target;

    if (unpack_make_room(pfd, base, 0, err) < 0)
        return -1;
    switch (type) {
    case AE_IFLNK:
        target = archive_entry_symlink(e);
        if (!target || !*target)
            return sk_err_set(err, EINVAL, "symlink without a target");
        if (symlinkat(target, pfd, base) < 0)
            return sk_err_sys(err, errno, "symlink");
        break;
    case AE_IFIFO:
        if (mkfifoat(pfd, base, 0600) < 0)
            return sk_err_sys(err, errno, "mkfifo");
        break;
    case AE_IFCHR:
        /* Only overlayfs's whiteout: a device 0:0 opens nothing. */
        if (archive_entry_rdev(e) != 0)
            return sk_err_set(err, EPERM, "character device %u:%u not allowed in an image",
                              (unsigned)archive_entry_rdevmajor(e),
                              (unsigned)archive_entry_rdevminor(e));
        if (mknodat(pfd, base, S_IFCHR | 0600, makedev(0, 0)) < 0)
            return sk_err_sys(err, errno, "mknod");
        break;
    default:
        SK_BUG("unpack_special: type %o", type);
    }
    if (!(u->flags & RT_IMAGE_UNPACK_LAYER))
        return 0;
    return unpack_meta_at(u, e, pfd, base, err);
}

static int
unpack_whiteout(struct unpack *u, int kind, const char *name, int pfd, struct sk_err *err)
{
    if (kind == RT_WH_SKIP)
        return 0;
    if (kind == RT_WH_OPAQUE) {
        if (fsetxattr(pfd, "trusted.overlay.opaque", "y", 1, 0) < 0)
            return sk_err_sys(err, errno, "set trusted.overlay.opaque");
        return 0;
    }
    if (unpack_make_room(pfd, name, 0, err) < 0)
        return -1;
    if (mknodat(pfd, name, S_IFCHR | 0000, makedev(0, 0)) < 0)
        return sk_err_sys(err, errno, "mknod whiteout '%s'", name);
    return 0;
}

/* Where an entry goes, by type; pfd is its (already walked) parent. */
static int
unpack_dispatch(struct unpack *u, struct archive_entry *e, int pfd, const char *base,
                const char *path, struct sk_err *err)
{
    unsigned type = archive_entry_filetype(e);
    const char *hardlink = archive_entry_hardlink(e);
    int layer = u->flags & RT_IMAGE_UNPACK_LAYER;

    if (hardlink)
        return unpack_hardlink(u, hardlink, pfd, base, err);
    switch (type) {
    case AE_IFREG:
        return unpack_file(u, e, pfd, base, err);
    case AE_IFDIR:
        return unpack_dir(u, e, pfd, base, path, err);
    case AE_IFLNK:
        return unpack_special(u, e, pfd, base, err);
    case AE_IFIFO:
    case AE_IFCHR:
        if (layer)
            return unpack_special(u, e, pfd, base, err);
        return sk_err_set(err, EPERM, "special files not allowed here");
    case AE_IFBLK:
        return sk_err_set(err, EPERM, "block device %u:%u not allowed in an image",
                          (unsigned)archive_entry_rdevmajor(e),
                          (unsigned)archive_entry_rdevminor(e));
    default:
        return sk_err_set(err, EPERM, "file type %o not allowed in an image", type);
    }
}

static int
unpack_entry(struct unpack *u, struct archive_entry *e, struct sk_err *err)
{
    const char *raw = archive_entry_pathname(e), *base, *wh_name;
    char path[PATH_MAX], parent[PATH_MAX], *slash;
    int pfd, kind = RT_WH_NONE, rc;

    if (!raw)
        return sk_err_set(err, EINVAL, "entry without a name");
    if (rt_image_path_clean(raw, path, sizeof(path), err) < 0)
        return sk_err_wrap(err, "entry '%s'", raw);
    sk_strlcpy(parent, path, sizeof(parent));
    slash = strrchr(parent, '/');
    if (slash) {
        *slash = '\0';
        base = path + (slash - parent) + 1;
    } else {
        sk_strlcpy(parent, ".", sizeof(parent));
        base = path;
    }
    if (u->flags & RT_IMAGE_UNPACK_LAYER) {
        kind = rt_image_whiteout_kind(base, &wh_name, err);
        if (kind < 0)
            return sk_err_wrap(err, "entry '%s'", raw);
    }
    if (unpack_walk(u, parent, 1, &pfd, err) < 0)
        return sk_err_wrap(err, "entry '%s'", raw);
    if (kind != RT_WH_NONE)
        rc = unpack_whiteout(u, kind, wh_name, pfd, err);
    else
        rc = unpack_dispatch(u, e, pfd, base, path, err);
    close(pfd);
    if (rc < 0)
        return sk_err_wrap(err, "entry '%s'", raw);
    return 0;
}

/* Directory mtimes last, deepest (latest) first. */
static int
unpack_dir_times(struct unpack *u, struct sk_err *err)
{
    struct timespec ts[2];
    size_t i;
    int fd;

    for (i = u->n_dirs; i-- > 0;) {
        if (unpack_walk(u, u->dirs[i].path, 0, &fd, err) < 0)
            return sk_err_wrap(err, "entry '%s'", u->dirs[i].path);
        ts[0] = ts[1] = u->dirs[i].mtime;
        if (futimens(fd, ts) < 0) {
            sk_err_sys(err, errno, "entry '%s': set times", u->dirs[i].path);
            close(fd);
            return -1;
        }
        close(fd);
    }
    return 0;
}

static la_ssize_t
unpack_read(struct archive *a, void *opaque, const void **buf)
{
    struct unpack *u = opaque;
    la_ssize_t n;

    n = archive_read_data(u->raw, u->buf, UNPACK_BUF);
    if (n < 0) {
        archive_set_error(a, archive_errno(u->raw) > 0 ? archive_errno(u->raw) : EIO, "%s",
                          archive_error_string(u->raw));
        return -1;
    }
    rt_image_sha256_update(u->hash, u->buf, (size_t)n);
    *buf = u->buf;
    return n;
}

static int
unpack_open(struct unpack *u, int fd, struct sk_err *err)
{
    struct archive_entry *e;

    u->raw = archive_read_new();
    u->tar = archive_read_new();
    if (!u->raw || !u->tar)
        SK_BUG("archive_read_new: out of memory");
    archive_read_support_filter_all(u->raw);
    archive_read_support_format_raw(u->raw);
    if (archive_read_open_fd(u->raw, fd, UNPACK_BUF) != ARCHIVE_OK ||
        archive_read_next_header(u->raw, &e) != ARCHIVE_OK)
        return sk_err_set(err, EBADMSG, "open archive: %s", archive_error_string(u->raw));
    archive_read_support_format_tar(u->tar);
    if (archive_read_open(u->tar, u, NULL, unpack_read, NULL) != ARCHIVE_OK)
        return sk_err_set(err, EBADMSG, "read tar: %s", archive_error_string(u->tar));
    return 0;
}

/* Hash what follows the tar's end-of-archive blocks, so the digest
 * covers the whole uncompressed stream. */
static int
unpack_drain(struct unpack *u, struct sk_err *err)
{
    la_ssize_t n;

    while ((n = archive_read_data(u->raw, u->buf, UNPACK_BUF)) > 0)
        rt_image_sha256_update(u->hash, u->buf, (size_t)n);
    if (n < 0)
        return sk_err_set(err, EBADMSG, "read archive: %s", archive_error_string(u->raw));
    return 0;
}

int
rt_image_unpack(int fd, int dest_fd, unsigned flags, char *diffid, struct sk_err *err)
{
    struct unpack u = {.dest_fd = dest_fd, .flags = flags};
    struct archive_entry *e;
    size_t i;
    int r, rc = -1;

    u.buf = sk_malloc(UNPACK_BUF);
    u.hash = rt_image_sha256_new();
    if (unpack_open(&u, fd, err) < 0)
        goto out;
    for (;;) {
        r = archive_read_next_header(u.tar, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
            sk_err_set(err, EBADMSG, "read tar: %s", archive_error_string(u.tar));
            goto out;
        }
        if (unpack_entry(&u, e, err) < 0)
            goto out;
    }
    if (unpack_dir_times(&u, err) < 0 || unpack_drain(&u, err) < 0)
        goto out;
    if (diffid)
        rt_image_sha256_final(u.hash, diffid);
    else
        rt_image_sha256_free(u.hash);
    u.hash = NULL;
    rc = 0;
out:
    rt_image_sha256_free(u.hash);
    archive_read_free(u.tar);
    archive_read_free(u.raw);
    for (i = 0; i < u.n_dirs; i++)
        free(u.dirs[i].path);
    free(u.dirs);
    free(u.buf);
    return rc;
}
