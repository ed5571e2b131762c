/* skiff-runtime launcher: what bin/skiff-runtime is on x86_64 and
 * aarch64 when the runtime is linked statically (Makefile RUNTIME_LAUNCHER).
 *
 * Why: every `skiff-runtime create/run/exec` executes two images of the
 * runtime, the one the caller started and the re-execution from a
 * read-only view of the binary that closes CVE-2019-5736 (selfexe.c).
 * Each start of a glibc program probes the processor: init_cpu_features
 * and dl_init_cacheinfo issue ~65 CPUID instructions, and on a virtual
 * machine every CPUID traps to the hypervisor (8.3 us each on the
 * development VM): ~0.55 ms of CPU per image, a static no-op glibc
 * program costs 0.59 ms of task-clock against 0.02 ms for one without
 * libc. The first image does nothing but re-execute, so it may as well
 * be this file: no libc, no CPUID, a few syscalls. It makes the same
 * detached read-only bind mount of the real binary (open_tree(2)
 * OPEN_TREE_CLONE, mount_setattr(2) MOUNT_ATTR_RDONLY) and execveat(2)s
 * it with SKIFF_RUNTIME_EXE set to the launcher's own path, so the real
 * binary finds itself protected (is_protected() in selfexe.c: its exe
 * is on a read-only mount that is not the mount of SKIFF_RUNTIME_EXE)
 * and finds its siblings (skiff-monitor, skiff-image) next to the
 * launcher. When open_tree or mount_setattr fail (kernel < 5.12, no
 * CAP_SYS_ADMIN) or SKIFF_RUNTIME_SELFEXE=memfd asks for the fallback,
 * it execve(2)s the real binary by path, which then protects itself as
 * it does today (the sealed memfd). The launcher's own file is never
 * the exe of a process that enters a container: it is replaced by the
 * exec before anything else runs.
 *
 * Measured (150 runs each, interleaved per run, chrt -f 50, loaded
 * machine): `run` of /bin/true 5.69 ms median without it, 4.89 ms
 * through it.
 *
 * Built by the Makefile with -static -nostdlib -fno-stack-protector
 * -fno-builtin as $(B)/bin/skiff-runtime, the runtime itself then being
 * $(B)/libexec/skiff-runtime (REAL below, relative to the launcher's
 * directory; `make install` keeps that layout: sbin/ and libexec/). */

#ifndef REAL
#define REAL "../libexec/skiff-runtime"
#endif

#define AT_FDCWD_          (-100)
#define AT_EMPTY_PATH_     0x1000
#define OPEN_TREE_CLONE_   1
#define OPEN_TREE_CLOEXEC_ 02000000
#define MOUNT_ATTR_RDONLY_ 0x1
#define MOUNT_ATTR_NOSUID_ 0x2
#define MOUNT_ATTR_NODEV_  0x4

struct mount_attr_ {
    unsigned long long attr_set, attr_clr, propagation, userns_fd;
};

#if defined(__x86_64__)
enum { NR_READLINK = 89, NR_WRITE = 1, NR_EXECVE = 59, NR_EXIT = 60, NR_EXECVEAT = 322 };
static long
sys6(long n, long a, long b, long c, long d, long e)
{
    long r;
    register long r10 __asm__("r10") = d, r8 __asm__("r8") = e;

    __asm__ volatile("syscall"
                     : "=a"(r)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
                     : "rcx", "r11", "memory");
    return r;
}
__asm__(".text\n.globl _start\n_start:\n xor %rbp,%rbp\n mov %rsp,%rdi\n and $-16,%rsp\n"
        " call launch\n hlt\n");
#elif defined(__aarch64__)
enum { NR_READLINKAT = 78, NR_WRITE = 64, NR_EXECVE = 221, NR_EXIT = 93, NR_EXECVEAT = 281 };
static long
sys6(long n, long a, long b, long c, long d, long e)
{
    register long x8 __asm__("x8") = n, x0 __asm__("x0") = a, x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c, x3 __asm__("x3") = d, x4 __asm__("x4") = e;

    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4) : "memory");
    return x0;
}
__asm__(".text\n.globl _start\n_start:\n mov x0, sp\n and sp, x0, #-16\n bl launch\n brk #0\n");
#else
#error "the launcher knows x86_64 and aarch64 only: build skiff-runtime without it"
#endif

/* Same numbers on both (the unified syscall table). */
enum { NR_OPEN_TREE = 428, NR_MOUNT_SETATTR = 442 };

static char self[4096], real[4200], envexe[4300];
static char *env[1024];

static unsigned long
put(char *dst, unsigned long at, unsigned long max, const char *s)
{
    while (*s && at + 1 < max)
        dst[at++] = *s++;
    dst[at] = '\0';
    return at;
}

static int
starts(const char *s, const char *prefix)
{
    while (*prefix)
        if (*s++ != *prefix++)
            return 0;
    return 1;
}

/* "skiff-runtime: <what> <path>: error <errno>" on stderr, exit 127 as a
 * shell does for a command it cannot execute. No strerror without libc:
 * the number is the errno(3) value. */
static _Noreturn void
die(const char *what, const char *path, long rc)
{
    char msg[4600], num[24];
    unsigned long at = put(msg, 0, sizeof(msg), "skiff-runtime: ");
    int i = (int)sizeof(num) - 1;
    unsigned long e = rc < 0 ? (unsigned long)-rc : 0;

    at = put(msg, put(msg, at, sizeof(msg), what), sizeof(msg), path);
    num[i] = '\0';
    do
        num[--i] = (char)('0' + e % 10);
    while ((e /= 10) && i > 0);
    at = put(msg, put(msg, at, sizeof(msg), ": error "), sizeof(msg), num + i);
    at = put(msg, at, sizeof(msg), "\n");
    sys6(NR_WRITE, 2, (long)msg, (long)at, 0, 0);
    for (;;)
        sys6(NR_EXIT, 127, 0, 0, 0, 0);
}

/* argc, argv..., NULL, envp..., NULL, auxv on the initial stack */
__attribute__((used)) _Noreturn void launch(long *sp);

_Noreturn void
launch(long *sp)
{
    char **argv = (char **)(sp + 1), **envp = argv + sp[0] + 1;
    struct mount_attr_ attr = {MOUNT_ATTR_RDONLY_ | MOUNT_ATTR_NOSUID_ | MOUNT_ATTR_NODEV_, 0, 0,
                               0};
    unsigned long n = 0, dir;
    int memfd = 0;
    long len, fd;

#if defined(__x86_64__)
    len = sys6(NR_READLINK, (long)"/proc/self/exe", (long)self, sizeof(self) - 1, 0, 0);
#else
    len = sys6(NR_READLINKAT, AT_FDCWD_, (long)"/proc/self/exe", (long)self, sizeof(self) - 1, 0);
#endif
    if (len <= 0 || self[0] != '/')
        die("cannot read ", "/proc/self/exe", len);
    self[len] = '\0';
    for (dir = (unsigned long)len; dir > 0 && self[dir - 1] != '/'; dir--)
        ;
    for (unsigned long i = 0; i < dir; i++)
        real[i] = self[i];
    put(real, dir, sizeof(real), REAL);
    put(envexe, put(envexe, 0, sizeof(envexe), "SKIFF_RUNTIME_EXE="), sizeof(envexe), self);
    for (char **e = envp; *e && n < sizeof(env) / sizeof(env[0]) - 2; e++) {
        if (starts(*e, "SKIFF_RUNTIME_SELFEXE=memfd"))
            memfd = 1;
        if (!starts(*e, "SKIFF_RUNTIME_EXE="))
            env[n++] = *e;
    }
    env[n++] = envexe;
    env[n] = 0;
    fd = memfd ? -1
               : sys6(NR_OPEN_TREE, AT_FDCWD_, (long)real, OPEN_TREE_CLONE_ | OPEN_TREE_CLOEXEC_, 0,
                      0);
    if (fd >= 0 &&
        sys6(NR_MOUNT_SETATTR, fd, (long)"", AT_EMPTY_PATH_, (long)&attr, sizeof(attr)) == 0)
        sys6(NR_EXECVEAT, fd, (long)"", (long)argv, (long)env, AT_EMPTY_PATH_);
    /* the real binary re-executes itself from a sealed copy */
    die("cannot execute ", real, sys6(NR_EXECVE, (long)real, (long)argv, (long)env, 0, 0));
}
