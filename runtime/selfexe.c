/* CVE-2019-5736: a process inside a container could re-open the
 * runtime's binary through /proc/PID/exe and overwrite it on the host.
 * The runtime therefore runs from a sealed, private memfd copy of itself
 * whenever it enters a container: the copy cannot be written (F_SEAL_*),
 * and the host binary is never the exe of a process inside.
 *
 * Cost: one copy of the loaded part of the binary (sendfile within the
 * kernel, no user-space buffer) and one execve (bench/runtime measures
 * it: under a millisecond), paid once per CLI invocation of
 * create/run/exec; the copy is then the exe of every process that
 * process forks ("cached per process"). An agent calls it once at
 * start-up. The memfd's pages are freed with the last process using it:
 * the container's init drops it at its execve, and the monitor
 * re-executes from the on-disk binary (SKIFF_RUNTIME_EXE, set here), so
 * no copy stays alive per container. */
#include "runtime/rt_int.h"

#include "lib/alloc.h"

#include <elf.h>
#include <errno.h>
#include <string.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

static int
is_sealed(void)
{
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    int seals;

    if (fd < 0)
        return 0;
    seals = fcntl(fd, F_GET_SEALS);
    close(fd);
    return seals >= 0 && (seals & SEALS) == SEALS;
}

/* envp plus SKIFF_RUNTIME_EXE=<the on-disk binary>, for the monitor
 * (see monitor.c). */
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

int
rt_selfexe_ensure_sealed(char **argv, char **envp, struct sk_err *err)
{
    char path[4096];
    ssize_t plen;
    int exe = -1, mfd = -1, rc;
    struct stat st;
    off_t left;

    if (is_sealed())
        return 0;
    exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (exe < 0 || fstat(exe, &st) < 0) {
        rc = sk_err_sys(err, errno, "open '/proc/self/exe'");
        goto out;
    }
    mfd = memfd_create("skiff-runtime", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (mfd < 0) {
        rc = sk_err_sys(err, errno, "memfd_create");
        goto out;
    }
    for (left = loaded_extent(exe, st.st_size); left > 0;) {
        /* sendfile: in-kernel copy (copy_file_range refuses tmpfs targets
         * across filesystems with EXDEV) */
        ssize_t n = sendfile(mfd, exe, NULL, (size_t)left);

        if (n <= 0) {
            rc = sk_err_sys(err, n < 0 ? errno : EIO, "copy '/proc/self/exe' to memfd");
            goto out;
        }
        left -= n;
    }
    if (fchmod(mfd, 0500) < 0 || fcntl(mfd, F_ADD_SEALS, SEALS) < 0) {
        rc = sk_err_sys(err, errno, "seal memfd");
        goto out;
    }
    plen = readlink("/proc/self/exe", path, sizeof(path) - 1);
    path[plen > 0 ? plen : 0] = '\0';
    syscall(SYS_execveat, mfd, "", argv, plen > 0 ? env_with_exe(envp, path) : envp, AT_EMPTY_PATH);
    rc = sk_err_sys(err, errno, "execveat sealed memfd");
out:
    if (exe >= 0)
        close(exe);
    if (mfd >= 0)
        close(mfd);
    return rc;
}
