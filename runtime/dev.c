/* A minimal /dev: the standard character devices, the /dev/fd links and
 * ptmx. Nodes are created with mknod; in a user namespace (where mknod
 * is refused) the host's nodes are bind-mounted instead. */
#include "runtime/rt_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static const struct {
    const char *name;
    unsigned maj, min;
} devices[] = {
    {"null", 1, 3},   {"zero", 1, 5},    {"full", 1, 7},
    {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
};

static const struct {
    const char *name, *target;
} links[] = {
    {"fd", "/proc/self/fd"},       {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
    {"stderr", "/proc/self/fd/2"}, {"ptmx", "pts/ptmx"},
};

static int
make_node(int devfd, const char *dev, size_t i, int userns, struct sk_err *err)
{
    char host[64], target[64];
    int fd;

    if (!userns) {
        dev_t d = makedev(devices[i].maj, devices[i].min);

        /* /dev is usually the tmpfs just mounted: unlink only what is
         * in the way (one syscall per node less) */
        if (mknodat(devfd, devices[i].name, S_IFCHR | 0666, d) < 0 &&
            (errno != EEXIST || unlinkat(devfd, devices[i].name, 0) < 0 ||
             mknodat(devfd, devices[i].name, S_IFCHR | 0666, d) < 0))
            return sk_err_sys(err, errno, "mknod '%s/%s'", dev, devices[i].name);
        return 0;
    }
    unlinkat(devfd, devices[i].name, 0);
    fd = openat(devfd, devices[i].name, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0666);
    if (fd < 0)
        return sk_err_sys(err, errno, "create '%s/%s'", dev, devices[i].name);
    snprintf(host, sizeof(host), "/dev/%s", devices[i].name);
    snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
    if (mount(host, target, NULL, MS_BIND, NULL) < 0) {
        close(fd);
        return sk_err_sys(err, errno, "bind '%s' on '%s/%s'", host, dev, devices[i].name);
    }
    close(fd);
    return 0;
}

int
rt_dev_setup(const char *rootfs, int userns, struct sk_err *err)
{
    char dev[4200];
    int devfd, rc = 0;

    snprintf(dev, sizeof(dev), "%s/dev", rootfs);
    devfd = open(dev, O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (devfd < 0)
        return sk_err_sys(err, errno, "open '%s'", dev);
    for (size_t i = 0; rc == 0 && i < sizeof(devices) / sizeof(devices[0]); i++)
        rc = make_node(devfd, dev, i, userns, err);
    for (size_t i = 0; rc == 0 && i < sizeof(links) / sizeof(links[0]); i++) {
        if (symlinkat(links[i].target, devfd, links[i].name) == 0)
            continue;
        if (errno == EEXIST) {
            unlinkat(devfd, links[i].name, 0);
            if (symlinkat(links[i].target, devfd, links[i].name) == 0)
                continue;
        }
        if (errno != EEXIST)
            rc = sk_err_sys(err, errno, "symlink '%s/%s'", dev, links[i].name);
    }
    close(devfd);
    return rc;
}
