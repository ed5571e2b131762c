/* File I/O helpers shared by the store's file formats (see io.h). */
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
store_io_pwrite_all(int fd, const void *buf, size_t len, off_t off, const char *path,
                    struct sk_err *err)
{
    const char *p = buf;
    ssize_t n;

    while (len) {
        n = pwrite(fd, p, len, off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return sk_err_sys(err, errno, "write '%s' at offset %lld", path, (long long)off);
        }
        p += n;
        off += n;
        len -= (size_t)n;
    }
    return 0;
}

ssize_t
store_io_pread_all(int fd, void *buf, size_t len, off_t off, const char *path, struct sk_err *err)
{
    char *p = buf;
    size_t done = 0;
    ssize_t n;

    while (done < len) {
        n = pread(fd, p + done, len - done, off + (off_t)done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return sk_err_sys(err, errno, "read '%s' at offset %lld", path,
                              (long long)(off + (off_t)done));
        }
        if (n == 0)
            break;
        done += (size_t)n;
    }
    return (ssize_t)done;
}

int
store_io_fdatasync(int fd, const char *path, struct sk_err *err)
{
    if (fdatasync(fd) < 0)
        return sk_err_sys(err, errno, "fdatasync '%s'", path);
    return 0;
}

int
store_io_fsync(int fd, const char *path, struct sk_err *err)
{
    if (fsync(fd) < 0)
        return sk_err_sys(err, errno, "fsync '%s'", path);
    return 0;
}

int
store_io_fsync_dir(const char *path, struct sk_err *err)
{
    int fd, rc;

    fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return sk_err_sys(err, errno, "open directory '%s'", path);
    rc = store_io_fsync(fd, path, err);
    close(fd);
    return rc;
}

int
store_io_mkdir(const char *path, struct sk_err *err)
{
    char parent[4096];
    struct stat st;
    char *slash;

    if (mkdir(path, 0700) < 0) {
        if (errno != EEXIST)
            return sk_err_sys(err, errno, "create directory '%s'", path);
        if (stat(path, &st) < 0)
            return sk_err_sys(err, errno, "stat '%s'", path);
        if (!S_ISDIR(st.st_mode))
            return sk_err_set(err, ENOTDIR, "'%s' exists and is not a directory", path);
        return 0;
    }
    if (strlen(path) >= sizeof(parent))
        return sk_err_set(err, ENAMETOOLONG, "path '%s' too long", path);
    strcpy(parent, path);
    slash = strrchr(parent, '/');
    if (!slash)
        strcpy(parent, ".");
    else if (slash == parent)
        parent[1] = '\0';
    else
        *slash = '\0';
    return store_io_fsync_dir(parent, err);
}

int
store_io_fsize(int fd, const char *path, uint64_t *size, struct sk_err *err)
{
    struct stat st;

    if (fstat(fd, &st) < 0)
        return sk_err_sys(err, errno, "stat '%s'", path);
    *size = (uint64_t)st.st_size;
    return 0;
}
