/* The image store on disk.
 *
 * Layout under the root (default /var/lib/skiff/images):
 *
 *     lock                  flock(2)ed: LOCK_EX by gc (the only deleter)
 *                           and by the cleaning of tmp/; LOCK_SH by all
 *                           others, so only gc waits
 *     index.lock            flock(2)ed LOCK_EX around each read-modify-
 *                           write of index (import, rm)
 *     index                 the references (below)
 *     blobs/sha256/<hex>    content-addressed blobs exactly as imported:
 *                           manifests, configs, (compressed) layer tars.
 *                           A blob's name is the sha256 of its bytes.
 *     layers/<hex>/         one unpacked layer, named by its diff_id (the
 *                           sha256 of the uncompressed tar), in overlayfs
 *                           form; shared by every image that uses it
 *     pins/<id>             a manifest digest kept alive for a user (a
 *                           container) even after its reference is gone
 *     tmp/                  work in progress; emptied by the first writer
 *                           that opens the store
 *
 * Manifests are OCI image manifests (a `docker save` archive gets one
 * written for it on import); an image is named by its manifest digest.
 *
 * index is text, one reference a line, sorted, '#' starts a comment:
 *
 *     # skiff image index v1
 *     <name> <tag> sha256:<hex>
 *
 * Validity: name and tag as in image_ref.c (no spaces), the digest names
 * a manifest in blobs/. index is replaced atomically: written to
 * index.tmp, fsync'd, renamed over index, then the root directory is
 * fsync'd. A blob is written to tmp/, fsync'd, checked against its
 * digest and renamed into blobs/sha256/. A layer is unpacked into a
 * directory in tmp/, synced (syncfs) and renamed to layers/<hex> only
 * when complete and its diff_id checked, so a crash never leaves a half
 * layer that looks complete. Two imports may unpack the same layer at
 * once; the second rename finds the first one's directory and drops its
 * own copy. Blobs and layers are written before the index names them,
 * and gc deletes only what no index line and no pin reaches, under the
 * exclusive lock, so every reference always resolves. */
#include "runtime/image_int.h"

#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/err.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define JSON_BLOB_MAX (16 * 1024 * 1024)

static int
store_mkdirs(const char *path, struct sk_err *err)
{
    char buf[PATH_MAX], *p;

    if (sk_strlcpy(buf, path, sizeof(buf)) < 0)
        return sk_err_set(err, ENAMETOOLONG, "path '%s' too long", path);
    for (p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;

        *p = '\0';
        if (mkdir(buf, 0700) < 0 && errno != EEXIST)
            return sk_err_sys(err, errno, "mkdir '%s'", buf);
        *p = c;
        if (!c)
            return 0;
    }
}

int
rt_image_fsync_dir_at(int root_fd, const char *dir, struct sk_err *err)
{
    int fd = openat(root_fd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;

    if (fd < 0)
        return sk_err_sys(err, errno, "open '%s'", dir);
    if (fsync(fd) < 0)
        rc = sk_err_sys(err, errno, "fsync '%s'", dir);
    close(fd);
    return rc;
}

int
rt_image_rmtree(int dirfd, const char *path, struct sk_err *err)
{
    struct dirent *de;
    struct stat st;
    DIR *dir;
    int fd, rc = 0;

    if (fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : sk_err_sys(err, errno, "stat '%s'", path);
    if (!S_ISDIR(st.st_mode)) {
        if (unlinkat(dirfd, path, 0) < 0 && errno != ENOENT)
            return sk_err_sys(err, errno, "remove '%s'", path);
        return 0;
    }
    fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return sk_err_sys(err, errno, "open '%s'", path);
    dir = fdopendir(fd);
    if (!dir) {
        close(fd);
        return sk_err_sys(err, errno, "open '%s'", path);
    }
    while (rc == 0 && (de = readdir(dir))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        rc = rt_image_rmtree(fd, de->d_name, err);
    }
    closedir(dir);
    if (rc < 0)
        return sk_err_wrap(err, "'%s'", path);
    if (unlinkat(dirfd, path, AT_REMOVEDIR) < 0 && errno != ENOENT)
        return sk_err_sys(err, errno, "remove '%s'", path);
    return 0;
}

/* Remove everything in tmp/: only called with the lock held
 * exclusively, so nothing there belongs to a live import. */
static int
store_clean_tmp(struct rt_image_store *s, struct sk_err *err)
{
    if (rt_image_rmtree(s->root_fd, "tmp", err) < 0)
        return -1;
    if (mkdirat(s->root_fd, "tmp", 0700) < 0 && errno != EEXIST)
        return sk_err_sys(err, errno, "mkdir 'tmp'");
    return 0;
}

int
rt_image_store_open(struct rt_image_store *s, const char *root, struct sk_err *err)
{
    static const char *const dirs[] = {"blobs", "blobs/sha256", "layers", "pins", "tmp"};
    size_t i;

    s->root = NULL;
    s->root_fd = s->lock_fd = s->index_lock_fd = -1;
    if (!root || root[0] != '/')
        return sk_err_set(err, EINVAL, "image store root '%s' is not absolute", root ? root : "");
    if (store_mkdirs(root, err) < 0)
        goto fail;
    s->root = sk_strdup(root);
    s->root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (s->root_fd < 0) {
        sk_err_sys(err, errno, "open '%s'", root);
        goto fail;
    }
    for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
        if (mkdirat(s->root_fd, dirs[i], 0700) < 0 && errno != EEXIST) {
            sk_err_sys(err, errno, "mkdir '%s/%s'", root, dirs[i]);
            goto fail;
        }
    s->lock_fd = openat(s->root_fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->lock_fd < 0) {
        sk_err_sys(err, errno, "open '%s/lock'", root);
        goto fail;
    }
    s->index_lock_fd = openat(s->root_fd, "index.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->index_lock_fd < 0) {
        sk_err_sys(err, errno, "open '%s/index.lock'", root);
        goto fail;
    }
    /* Leftovers of a crashed import; skip if another process works. */
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) == 0) {
        int rc = store_clean_tmp(s, err);

        flock(s->lock_fd, LOCK_UN);
        if (rc < 0)
            goto fail;
    }
    return 0;
fail:
    rt_image_store_release(s);
    return sk_err_wrap(err, "image store '%s'", root);
}

void
rt_image_store_release(struct rt_image_store *s)
{
    if (s->index_lock_fd >= 0)
        close(s->index_lock_fd);
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    if (s->root_fd >= 0)
        close(s->root_fd);
    free(s->root);
    s->root = NULL;
    s->root_fd = s->lock_fd = s->index_lock_fd = -1;
}

int
rt_image_lock(struct rt_image_store *s, int how, struct sk_err *err)
{
    while (flock(s->lock_fd, how) < 0)
        if (errno != EINTR)
            return sk_err_sys(err, errno, "lock '%s/lock'", s->root);
    return 0;
}

void
rt_image_unlock(struct rt_image_store *s)
{
    flock(s->lock_fd, LOCK_UN);
}

int
rt_image_index_lock(struct rt_image_store *s, struct sk_err *err)
{
    while (flock(s->index_lock_fd, LOCK_EX) < 0)
        if (errno != EINTR)
            return sk_err_sys(err, errno, "lock '%s/index.lock'", s->root);
    return 0;
}

void
rt_image_index_unlock(struct rt_image_store *s)
{
    flock(s->index_lock_fd, LOCK_UN);
}

int
rt_image_tmpdir(struct rt_image_store *s, const char *prefix, char *out, size_t outsz,
                struct sk_err *err)
{
    char path[PATH_MAX];

    snprintf(path, sizeof(path), "%s/tmp/%s-XXXXXX", s->root, prefix);
    if (!mkdtemp(path))
        return sk_err_sys(err, errno, "mkdtemp '%s'", path);
    snprintf(out, outsz, "%s", path + strlen(s->root) + 1);
    return 0;
}

/* --- blobs ------------------------------------------------------------- */

void
rt_image_blob_path(const char *digest, char *out, size_t outsz)
{
    snprintf(out, outsz, "blobs/sha256/%s", rt_image_digest_hex(digest));
}

int
rt_image_blob_exists(struct rt_image_store *s, const char *digest)
{
    char path[128];

    rt_image_blob_path(digest, path, sizeof(path));
    return faccessat(s->root_fd, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

int
rt_image_blob_open(struct rt_image_store *s, const char *digest, struct sk_err *err)
{
    char path[128];
    int fd;

    if (!rt_image_digest_valid(digest))
        return sk_err_set(err, EINVAL, "bad digest '%s'", digest);
    rt_image_blob_path(digest, path, sizeof(path));
    fd = openat(s->root_fd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return sk_err_sys(err, errno, "blob '%s'", digest);
    return fd;
}

int
rt_image_blob_json(struct rt_image_store *s, const char *digest, json_t **out, struct sk_err *err)
{
    struct sk_buf buf = SK_BUF_INIT;
    char got[RT_IMAGE_DIGEST_LEN], chunk[65536];
    json_error_t jerr;
    ssize_t n;
    int fd, rc = -1;

    fd = rt_image_blob_open(s, digest, err);
    if (fd < 0)
        return -1;
    while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
        sk_buf_append(&buf, chunk, (size_t)n);
        if (buf.len > JSON_BLOB_MAX) {
            sk_err_set(err, EFBIG, "blob '%s': larger than %d bytes", digest, JSON_BLOB_MAX);
            goto out;
        }
    }
    if (n < 0) {
        sk_err_sys(err, errno, "read blob '%s'", digest);
        goto out;
    }
    rt_image_sha256_buf(buf.data ? buf.data : "", buf.len, got);
    if (strcmp(got, digest) != 0) {
        sk_err_set(err, EBADMSG, "blob '%s': corrupt, content is '%s'", digest, got);
        goto out;
    }
    *out = json_loadb(buf.data ? buf.data : "", buf.len, 0, &jerr);
    if (!*out) {
        sk_err_set(err, EBADMSG, "blob '%s': bad JSON at line %d: %s", digest, jerr.line,
                   jerr.text);
        goto out;
    }
    rc = 0;
out:
    sk_buf_release(&buf);
    close(fd);
    return rc;
}

/* --- pins -------------------------------------------------------------- */

static int
pin_id_valid(const char *id)
{
    size_t i, len = strlen(id);

    if (len == 0 || len > 128 || id[0] == '.')
        return 0;
    for (i = 0; i < len; i++) {
        char c = id[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("_.-", c)))
            return 0;
    }
    return 1;
}

int
rt_image_pin_write(struct rt_image_store *s, const char *id, const char *digest, struct sk_err *err)
{
    char tmp[PATH_MAX], dst[PATH_MAX], line[RT_IMAGE_DIGEST_LEN + 1];
    int fd, len;

    if (!pin_id_valid(id))
        return sk_err_set(err, EINVAL, "pin '%s': bad id", id);
    snprintf(tmp, sizeof(tmp), "pins/.%s.%d.tmp", id, (int)getpid());
    snprintf(dst, sizeof(dst), "pins/%s", id);
    fd = openat(s->root_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return sk_err_sys(err, errno, "create '%s'", tmp);
    len = snprintf(line, sizeof(line), "%s\n", digest);
    if (write(fd, line, (size_t)len) != len || fsync(fd) < 0) {
        sk_err_sys(err, errno ? errno : EIO, "write '%s'", tmp);
        close(fd);
        unlinkat(s->root_fd, tmp, 0);
        return -1;
    }
    close(fd);
    if (renameat(s->root_fd, tmp, s->root_fd, dst) < 0) {
        sk_err_sys(err, errno, "rename '%s'", tmp);
        unlinkat(s->root_fd, tmp, 0);
        return -1;
    }
    return rt_image_fsync_dir_at(s->root_fd, "pins", err);
}

int
rt_image_pin(struct rt_image_store *s, const char *id, const char *digest, struct sk_err *err)
{
    int rc;

    if (!pin_id_valid(id))
        return sk_err_set(err, EINVAL, "pin '%s': bad id", id);
    if (!rt_image_digest_valid(digest))
        return sk_err_set(err, EINVAL, "pin '%s': bad digest '%s'", id, digest);
    if (rt_image_lock(s, LOCK_SH, err) < 0)
        return -1;
    if (!rt_image_blob_exists(s, digest))
        rc = sk_err_set(err, ENOENT, "pin '%s': no image '%s'", id, digest);
    else
        rc = rt_image_pin_write(s, id, digest, err);
    rt_image_unlock(s);
    return rc;
}

int
rt_image_unpin(struct rt_image_store *s, const char *id, struct sk_err *err)
{
    char path[PATH_MAX];
    int rc = 0;

    if (!pin_id_valid(id))
        return sk_err_set(err, EINVAL, "pin '%s': bad id", id);
    snprintf(path, sizeof(path), "pins/%s", id);
    if (rt_image_lock(s, LOCK_SH, err) < 0)
        return -1;
    if (unlinkat(s->root_fd, path, 0) < 0 && errno != ENOENT)
        rc = sk_err_sys(err, errno, "unpin '%s'", id);
    rt_image_unlock(s);
    return rc;
}

int
rt_image_pins_read(struct rt_image_store *s, char (**out)[RT_IMAGE_DIGEST_LEN], size_t *n,
                   struct sk_err *err)
{
    char line[RT_IMAGE_DIGEST_LEN + 8];
    struct dirent *de;
    DIR *dir;
    ssize_t len;
    int dfd, fd;

    *out = NULL;
    *n = 0;
    dfd = openat(s->root_fd, "pins", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || !(dir = fdopendir(dfd))) {
        if (dfd >= 0)
            close(dfd);
        return sk_err_sys(err, errno, "open 'pins'");
    }
    while ((de = readdir(dir))) {
        if (de->d_name[0] == '.')
            continue;
        fd = openat(dfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        len = fd < 0 ? -1 : read(fd, line, sizeof(line) - 1);
        if (fd >= 0)
            close(fd);
        if (len < 0) {
            sk_err_sys(err, errno, "read pin '%s'", de->d_name);
            goto fail;
        }
        line[len] = '\0';
        line[strcspn(line, "\n")] = '\0';
        if (!rt_image_digest_valid(line)) {
            sk_err_set(err, EBADMSG, "pin '%s': bad digest", de->d_name);
            goto fail;
        }
        *out = sk_reallocarray(*out, *n + 1, sizeof(**out));
        memcpy((*out)[(*n)++], line, RT_IMAGE_DIGEST_LEN);
    }
    closedir(dir);
    return 0;
fail:
    closedir(dir);
    free(*out);
    *out = NULL;
    *n = 0;
    return -1;
}
