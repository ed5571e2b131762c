/* DATADIR/meta: current term and vote (API in meta.h).
 *
 * FORMAT (little-endian), file size exactly 28 + vote_len:
 *
 *   offset size
 *        0    8  magic "SKFMETA\0"
 *        8    4  format version, 1
 *       12    4  vote_len, at most 255
 *       16    8  current term
 *       24    v  vote: member id or name, vote_len bytes, no NUL; empty
 *                when the node has not voted in this term
 *     24+v    4  crc32c of bytes 0 .. 23+v
 *
 * VALIDITY: magic, version, size and crc must all be right. A missing
 * file is a fresh node; anything else that is wrong is an error naming
 * the file: resetting term and vote to zero could let the node vote a
 * second time in a term it already voted in (Raft §5.2).
 *
 * REPLACE ORDER: (1) write DATADIR/meta.tmp (O_TRUNC) and fsync it;
 * (2) rename(2) it over DATADIR/meta, atomic on POSIX file systems, so
 * a reader sees the old or the new file whole; (3) fsync DATADIR so the
 * rename itself survives a crash. Only then may the caller act on the
 * new term or vote (send the vote, accept the term). A crash before (2)
 * leaves a meta.tmp that meta_load ignores and the next store replaces. */
#include "meta.h"
#include "crc32c.h"
#include "io.h"
#include "lib/alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define META_MAGIC    "SKFMETA" /* with its NUL: 8 bytes */
#define META_VERSION  1
#define META_FIXED    28 /* header (24) + crc (4) */
#define META_MAX_SIZE (META_FIXED + META_VOTE_MAX)

static int
meta_decode(const unsigned char *p, size_t len, struct meta *m, struct sk_err *err)
{
    uint32_t vlen;

    if (len < META_FIXED)
        return sk_err_set(err, EBADMSG, "truncated: %zu bytes, need at least %d", len, META_FIXED);
    if (memcmp(p, META_MAGIC, 8) != 0)
        return sk_err_set(err, EBADMSG, "bad magic at offset 0, not a skiff meta file");
    vlen = store_le32_get(p + 12);
    if (vlen > META_VOTE_MAX)
        return sk_err_set(err, EBADMSG, "vote length %u at offset 12 exceeds %d", vlen,
                          META_VOTE_MAX);
    if (len != META_FIXED + vlen)
        return sk_err_set(err, EBADMSG, "size %zu bytes, expected %u", len, META_FIXED + vlen);
    if (crc32c(p, 24 + vlen) != store_le32_get(p + 24 + vlen))
        return sk_err_set(err, EBADMSG, "crc mismatch at offset %u", 24 + vlen);
    if (store_le32_get(p + 8) != META_VERSION)
        return sk_err_set(err, EBADMSG, "unsupported version %u", store_le32_get(p + 8));
    if (memchr(p + 24, '\0', vlen))
        return sk_err_set(err, EBADMSG, "vote at offset 24 contains a NUL byte");
    memset(m, 0, sizeof(*m));
    m->term = store_le64_get(p + 16);
    memcpy(m->vote, p + 24, vlen);
    return 0;
}

int
meta_load(const char *datadir, struct meta *m, struct sk_err *err)
{
    unsigned char buf[META_MAX_SIZE + 1];
    char *path = sk_asprintf("%s/meta", datadir);
    ssize_t n;
    int fd, rc;

    memset(m, 0, sizeof(*m));
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = errno == ENOENT ? 0 : sk_err_sys(err, errno, "open meta '%s'", path);
        goto out_free_path;
    }
    /* One byte more than the largest valid file catches trailing junk. */
    n = store_io_pread_all(fd, buf, sizeof(buf), 0, path, err);
    close(fd);
    if (n < 0) {
        rc = (int)n;
        goto out_free_path;
    }
    rc = meta_decode(buf, (size_t)n, m, err);
    if (rc < 0) {
        memset(m, 0, sizeof(*m));
        sk_err_wrap(err, "meta '%s'", path);
        goto out_free_path;
    }
    rc = 1;
out_free_path:
    free(path);
    return rc;
}

static int
meta_write_tmp(const char *tmp, const unsigned char *buf, size_t len, struct sk_err *err)
{
    int fd, rc;

    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return sk_err_sys(err, errno, "create '%s'", tmp);
    rc = store_io_pwrite_all(fd, buf, len, 0, tmp, err);
    if (rc == 0)
        rc = store_io_fsync(fd, tmp, err);
    if (close(fd) < 0 && rc == 0)
        rc = sk_err_sys(err, errno, "close '%s'", tmp);
    return rc;
}

int
meta_store(const char *datadir, const struct meta *m, struct sk_err *err)
{
    unsigned char buf[META_MAX_SIZE];
    size_t vlen = strnlen(m->vote, sizeof(m->vote));
    char *path, *tmp;
    int rc;

    if (vlen > META_VOTE_MAX)
        return sk_err_set(err, EINVAL, "vote longer than %d bytes", META_VOTE_MAX);
    rc = store_io_mkdir(datadir, err);
    if (rc < 0)
        return rc;
    memcpy(buf, META_MAGIC, 8);
    store_le32_put(buf + 8, META_VERSION);
    store_le32_put(buf + 12, (uint32_t)vlen);
    store_le64_put(buf + 16, m->term);
    memcpy(buf + 24, m->vote, vlen);
    store_le32_put(buf + 24 + vlen, crc32c(buf, 24 + vlen));
    path = sk_asprintf("%s/meta", datadir);
    tmp = sk_asprintf("%s/meta.tmp", datadir);
    rc = meta_write_tmp(tmp, buf, META_FIXED + vlen, err);
    if (rc == 0 && rename(tmp, path) < 0)
        rc = sk_err_sys(err, errno, "rename '%s' to '%s'", tmp, path);
    if (rc == 0)
        rc = store_io_fsync_dir(datadir, err);
    if (rc < 0)
        sk_err_wrap(err, "store meta '%s'", path);
    free(tmp);
    free(path);
    return rc;
}
