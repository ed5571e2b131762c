/* Writing into the image store: blobs (hashed while copied) and
 * unpacked layers, layers/<diff_id hex>/.
 *
 * Apart from image_store.c so that only the importers link it. It is
 * the one path into image_layer.c, hence into libarchive, which with
 * the libraries it loads (libxml2, ICU, libstdc++, the compressors) is
 * about 2.7 MB of resident pages in any process that maps it; and into
 * the bulk hashing of image_digest.c, OpenSSL's (about 1.4 MB more).
 * skiffd, whose agent only reads the store, is linked with --as-needed
 * and so loads neither (bench/README.md, "agent memory"). */
#include "runtime/image_int.h"

#include "lib/err.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* --- blobs ------------------------------------------------------------- */

/* Copy src into a temp file, hashing; returns the temp file's fd. */
static int
blob_copy(struct rt_image_store *s, int src_fd, const void *data, size_t len, char *tmpname,
          size_t tmpsz, char *got, int64_t *size, struct sk_err *err)
{
    struct rt_image_sha256 *h = rt_image_sha256_new();
    char path[PATH_MAX], buf[65536];
    int64_t total = 0;
    ssize_t n = 0;
    int fd;

    snprintf(path, sizeof(path), "%s/tmp/blob-XXXXXX", s->root);
    fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0) {
        rt_image_sha256_free(h);
        return sk_err_sys(err, errno, "create '%s'", path);
    }
    snprintf(tmpname, tmpsz, "%s", path + strlen(s->root) + 1);
    for (;;) {
        const char *p = data ? (const char *)data + total : buf;

        n = data ? (ssize_t)(len - (size_t)total) : read(src_fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        rt_image_sha256_update(h, p, (size_t)n);
        if (write(fd, p, (size_t)n) != n) {
            n = -1;
            break;
        }
        total += n;
    }
    if (n < 0 || fsync(fd) < 0) {
        sk_err_sys(err, errno ? errno : EIO, "copy blob");
        rt_image_sha256_free(h);
        close(fd);
        unlinkat(s->root_fd, tmpname, 0);
        return -1;
    }
    rt_image_sha256_final(h, got);
    if (size)
        *size = total;
    return fd;
}

static int
blob_put(struct rt_image_store *s, int src_fd, const void *data, size_t len, const char *want,
         char *got, int64_t *size, struct sk_err *err)
{
    char tmp[PATH_MAX], dst[128], digest[RT_IMAGE_DIGEST_LEN];
    int fd, rc = 0;

    fd = blob_copy(s, src_fd, data, len, tmp, sizeof(tmp), digest, size, err);
    if (fd < 0)
        return -1;
    close(fd);
    if (want && strcmp(want, digest) != 0) {
        rc = sk_err_set(err, EBADMSG, "digest mismatch: content is '%s', expected '%s'", digest,
                        want);
        goto out_unlink;
    }
    if (got)
        memcpy(got, digest, RT_IMAGE_DIGEST_LEN);
    if (rt_image_blob_exists(s, digest))
        goto out_unlink;
    rt_image_blob_path(digest, dst, sizeof(dst));
    if (renameat(s->root_fd, tmp, s->root_fd, dst) < 0) {
        rc = sk_err_sys(err, errno, "rename blob into '%s'", dst);
        goto out_unlink;
    }
    return rt_image_fsync_dir_at(s->root_fd, "blobs/sha256", err);
out_unlink:
    unlinkat(s->root_fd, tmp, 0);
    return rc;
}

int
rt_image_blob_put_fd(struct rt_image_store *s, int src_fd, const char *want, char *got,
                     int64_t *size, struct sk_err *err)
{
    struct stat st;

    /* Already verified when it was stored: no need to read it again. */
    if (want && rt_image_blob_exists(s, want)) {
        if (got)
            memcpy(got, want, RT_IMAGE_DIGEST_LEN);
        if (size)
            *size = fstat(src_fd, &st) == 0 ? st.st_size : 0;
        return 0;
    }
    return blob_put(s, src_fd, NULL, 0, want, got, size, err);
}

int
rt_image_blob_put_buf(struct rt_image_store *s, const void *data, size_t len, char *got,
                      struct sk_err *err)
{
    return blob_put(s, -1, data, len, NULL, got, NULL, err);
}

/* --- layers ------------------------------------------------------------ */

static int
layer_unpack_tmp(struct rt_image_store *s, const char *blob, const char *tmp, char *got,
                 struct sk_err *err)
{
    int dfd, bfd, rc = -1;

    dfd = openat(s->root_fd, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return sk_err_sys(err, errno, "open '%s'", tmp);
    bfd = rt_image_blob_open(s, blob, err);
    if (bfd < 0)
        goto out_close_dfd;
    /* mkdtemp made it 0700; a layer without a "./" entry keeps this. */
    if (fchmod(dfd, 0755) < 0) {
        sk_err_sys(err, errno, "chmod '%s'", tmp);
        goto out_close_bfd;
    }
    if (rt_image_unpack(bfd, dfd, RT_IMAGE_UNPACK_LAYER, got, err) < 0)
        goto out_close_bfd;
    if (syncfs(dfd) < 0) {
        sk_err_sys(err, errno, "syncfs '%s'", tmp);
        goto out_close_bfd;
    }
    rc = 0;
out_close_bfd:
    close(bfd);
out_close_dfd:
    close(dfd);
    return rc;
}

int
rt_image_layer_put(struct rt_image_store *s, const char *blob, const char *diffid,
                   struct sk_err *err)
{
    char tmp[PATH_MAX], dst[128], got[RT_IMAGE_DIGEST_LEN];
    struct sk_err ignore;

    snprintf(dst, sizeof(dst), "layers/%s", rt_image_digest_hex(diffid));
    if (faccessat(s->root_fd, dst, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
        return 0;
    if (rt_image_tmpdir(s, "layer", tmp, sizeof(tmp), err) < 0)
        return -1;
    if (layer_unpack_tmp(s, blob, tmp, got, err) < 0)
        goto fail;
    if (strcmp(got, diffid) != 0) {
        sk_err_set(err, EBADMSG, "uncompressed digest is '%s', config's diff_id is '%s'", got,
                   diffid);
        goto fail;
    }
    if (renameat(s->root_fd, tmp, s->root_fd, dst) < 0) {
        /* Another import finished the same layer first: same content. */
        if (errno == EEXIST || errno == ENOTEMPTY) {
            rt_image_rmtree(s->root_fd, tmp, &ignore);
            return 0;
        }
        sk_err_sys(err, errno, "rename into '%s'", dst);
        goto fail;
    }
    return rt_image_fsync_dir_at(s->root_fd, "layers", err);
fail:
    rt_image_rmtree(s->root_fd, tmp, &ignore);
    return sk_err_wrap(err, "layer '%s'", blob);
}
