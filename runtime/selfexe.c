/* CVE-2019-5736: a process inside a container could re-open the
 * runtime's binary through /proc/PID/exe (of the runtime's init or exec
 * process while it is in the container's PID namespace, or of a
 * container process started as /proc/self/exe) and overwrite the host's
 * binary, at once or later through an O_PATH fd it kept.
 *
 * The guarantee: no process that enters a container has a writable
 * path to the runtime's host binary. Every verb that enters a container
 * (create, run, exec) therefore re-executes once, before anything else,
 * from a read-only view of its own binary; the init and exec processes
 * are forks of that process and inherit its exe:
 *
 * - first choice (runc >= 1.2 does the same with an overlayfs): a
 *   detached bind mount of the binary, made read-only. open_tree(2)
 *   with OPEN_TREE_CLONE gives an fd of a new mount that is attached
 *   nowhere, so no path of any mount namespace reaches it and nobody
 *   without CAP_SYS_ADMIN can change its flags; mount_setattr(2) sets
 *   MOUNT_ATTR_RDONLY; execveat(2) runs the binary from that fd.
 *   /proc/PID/exe then names the file on the read-only mount: opening
 *   it for writing, directly or by re-opening an O_PATH fd through
 *   /proc/self/fd/N, fails with EROFS (do_dentry_open() ->
 *   mnt_get_write_access()), also after the runtime exited. Nothing is
 *   copied: it costs two syscalls and the execve. The mount goes away
 *   with its last user (the exe of the last process running from it).
 * - fallback (kernel < 5.12, or no CAP_SYS_ADMIN): a sealed memfd copy
 *   of the loaded part of the binary (F_SEAL_WRITE: writes fail with
 *   EPERM), as before; costs a copy of the binary per invocation.
 *
 * A process whose exe is already such a view (sealed memfd, or a
 * read-only mount other than the one the on-disk path is on) does not
 * re-execute: that is how the re-executed process knows it is done.
 * The on-disk path is passed on in SKIFF_RUNTIME_EXE for the monitor
 * and the sibling programs (skiff-monitor, skiff-image). */
#include "runtime/rt_int.h"

#include "lib/alloc.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

static unsigned long long
mount_id(int dfd, const char *path, int flags)
{
    struct statx stx;

    if (statx(dfd, path, flags, STATX_MNT_ID, &stx) < 0 || !(stx.stx_mask & STATX_MNT_ID))
        return 0;
    return stx.stx_mnt_id;
}

/* The exe is a sealed memfd, or on a read-only mount that is not the
 * mount of the on-disk binary (so not one the host may remount). */
static int
is_protected(void)
{
    const char *disk = getenv("SKIFF_RUNTIME_EXE");
    struct statvfs vfs;
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    int seals, rc = 0;
    unsigned long long id;

    if (fd < 0)
        return 0;
    seals = fcntl(fd, F_GET_SEALS);
    if (seals >= 0 && (seals & SEALS) == SEALS)
        rc = 1;
    else if (disk && fstatvfs(fd, &vfs) == 0 && (vfs.f_flag & ST_RDONLY) &&
             (id = mount_id(fd, "", AT_EMPTY_PATH)) != 0 && id != mount_id(AT_FDCWD, disk, 0))
        rc = 1;
    close(fd);
    return rc;
}

/* envp plus SKIFF_RUNTIME_EXE=<the on-disk binary>. */
static char **
env_with_exe(char **envp, const char *exe)
{
    size_t n = 0, k = 0;
    char **out;

    while (envp[n])
        n++;
    out = sk_calloc(n + 2, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        if (strncmp(envp[i], "SKIFF_RUNTIME_EXE=", 18) != 0)
            out[k++] = envp[i];
    out[k] = sk_asprintf("SKIFF_RUNTIME_EXE=%s", exe);
    return out;
}

/* An O_PATH fd of a detached, read-only bind mount of our binary. */
static int
readonly_view(void)
{
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV};
    int fd = (int)syscall(SYS_open_tree, AT_FDCWD, "/proc/self/exe",
                          OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);

    if (fd < 0)
        return -1;
    if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Only the part of the file the kernel and ld.so load (the PT_LOAD
 * segments) is copied; debug sections at the end are skipped, which
 * halves the copy of a -g build. Falls back to the whole file. */
static off_t
loaded_extent(int fd, off_t size)
{
    Elf64_Ehdr eh;
    off_t end = 0;

    if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
        memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
        eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 64)
        return size;
    end = (off_t)(eh.e_phoff + (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr));
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;

        if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) != (ssize_t)sizeof(ph))
            return size;
        if ((off_t)(ph.p_offset + ph.p_filesz) > end)
            end = (off_t)(ph.p_offset + ph.p_filesz);
    }
    return end > 0 && end <= size ? end : size;
}

/* The fallback: a sealed memfd copy of the binary. */
static int
sealed_copy(struct sk_err *err)
{
    int exe = -1, mfd = -1;
    struct stat st;
    off_t left;

    exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (exe < 0 || fstat(exe, &st) < 0) {
        sk_err_sys(err, errno, "open '/proc/self/exe'");
        goto fail;
    }
    mfd = memfd_create("skiff-runtime", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (mfd < 0) {
        sk_err_sys(err, errno, "memfd_create");
        goto fail;
    }
    for (left = loaded_extent(exe, st.st_size); left > 0;) {
        /* sendfile: in-kernel copy (copy_file_range refuses tmpfs targets
         * across filesystems with EXDEV) */
        ssize_t n = sendfile(mfd, exe, NULL, (size_t)left);

        if (n <= 0) {
            sk_err_sys(err, n < 0 ? errno : EIO, "copy '/proc/self/exe' to memfd");
            goto fail;
        }
        left -= n;
    }
    if (fchmod(mfd, 0500) < 0 || fcntl(mfd, F_ADD_SEALS, SEALS) < 0) {
        sk_err_sys(err, errno, "seal memfd");
        goto fail;
    }
    close(exe);
    return mfd;
fail:
    if (exe >= 0)
        close(exe);
    if (mfd >= 0)
        close(mfd);
    return -1;
}

int
rt_selfexe_protect(char **argv, char **envp, struct sk_err *err)
{
    char path[4096];
    ssize_t plen;
    int fd;

    if (is_protected())
        return 0;
    plen = readlink("/proc/self/exe", path, sizeof(path) - 1);
    if (plen <= 0 || path[0] != '/')
        return sk_err_sys(err, plen < 0 ? errno : EINVAL, "readlink '/proc/self/exe'");
    path[plen] = '\0';
    /* SKIFF_RUNTIME_SELFEXE=memfd forces the fallback, for its tests:
     * whoever sets our environment can run us with any binary anyway. */
    fd = -1;
    if (!getenv("SKIFF_RUNTIME_SELFEXE") || strcmp(getenv("SKIFF_RUNTIME_SELFEXE"), "memfd") != 0)
        fd = readonly_view();
    if (fd < 0 && (fd = sealed_copy(err)) < 0)
        return -1;
    syscall(SYS_execveat, fd, "", argv, env_with_exe(envp, path), AT_EMPTY_PATH);
    sk_err_sys(err, errno, "execveat a read-only view of '%s'", path);
    close(fd);
    return -1;
}
