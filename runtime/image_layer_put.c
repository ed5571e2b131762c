/* Putting an unpacked layer into the image store: layers/<diff_id hex>/.
 *
 * Apart from image_store.c so that only the importers link it: it is the
 * one path into image_layer.c, hence into libarchive, which with the
 * libraries it loads (libxml2, ICU, libstdc++, the compressors) is about
 * 2.7 MB of resident pages in any process that maps it. skiffd, whose
 * agent only reads the store, is linked with --as-needed and so no
 * longer loads libarchive at all (bench/README.md, "agent memory"). */
#include "runtime/image_int.h"

#include "lib/err.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
