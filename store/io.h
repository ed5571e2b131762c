#ifndef SK_STORE_IO_H
#define SK_STORE_IO_H

/* Private to store/: file I/O that reports into struct sk_err, and the
 * little-endian codec every store file format uses. */

#include "lib/err.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* pwrite all of buf at off, retrying short writes and EINTR. path names
 * the file in the error. */
int store_io_pwrite_all(int fd, const void *buf, size_t len, off_t off, const char *path,
                        struct sk_err *err);

/* pread up to len bytes at off; returns the count read (short only at end
 * of file) or <0. */
ssize_t store_io_pread_all(int fd, void *buf, size_t len, off_t off, const char *path,
                           struct sk_err *err);

/* fdatasync(fd) / fsync(fd); the error names path. */
int store_io_fdatasync(int fd, const char *path, struct sk_err *err);
int store_io_fsync(int fd, const char *path, struct sk_err *err);

/* Open the directory path and fsync it, so a create, rename or unlink in
 * it is durable (rename(2) alone is atomic but not durable). */
int store_io_fsync_dir(const char *path, struct sk_err *err);

/* mkdir path (mode 0700) unless it exists as a directory; when it was
 * created, fsync its parent so the entry survives a crash. */
int store_io_mkdir(const char *path, struct sk_err *err);

/* Size of an open file, or <0. */
int store_io_fsize(int fd, const char *path, uint64_t *size, struct sk_err *err);

static inline void
store_le32_put(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static inline void
store_le64_put(unsigned char *p, uint64_t v)
{
    store_le32_put(p, (uint32_t)v);
    store_le32_put(p + 4, (uint32_t)(v >> 32));
}

static inline uint32_t
store_le32_get(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t
store_le64_get(const unsigned char *p)
{
    return (uint64_t)store_le32_get(p) | (uint64_t)store_le32_get(p + 4) << 32;
}

#endif
