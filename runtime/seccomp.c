/* seccomp: the default profile and OCI seccomp JSON, compiled with
 * libseccomp.
 *
 * The default profile is an allow-list in the spirit of Docker's: the
 * syscalls a normal service needs, EPERM for everything else. clone is
 * allowed only without namespace flags and clone3 answers ENOSYS (its
 * flags live in memory a filter cannot read, so libc falls back to
 * clone); mount, unshare, setns and friends are allowed only when the
 * container keeps CAP_SYS_ADMIN. Names unknown to this libseccomp or
 * architecture are skipped. */
#include "runtime/rt_int.h"

#include "lib/alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sched.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>

/* One string, NUL-separated: no pointer table to relocate at start-up
 * (this binary is PIE), so every skiff-runtime process, the monitor
 * included, keeps fewer dirty pages. */
static const char allow_blob[] = "accept\0"
                                 "accept4\0"
                                 "access\0"
                                 "adjtimex\0"
                                 "alarm\0"
                                 "arch_prctl\0"
                                 "bind\0"
                                 "brk\0"
                                 "cachestat\0"
                                 "capget\0"
                                 "capset\0"
                                 "chdir\0"
                                 "chmod\0"
                                 "chown\0"
                                 "chown32\0"
                                 "clock_adjtime\0"
                                 "clock_getres\0"
                                 "clock_gettime\0"
                                 "clock_nanosleep\0"
                                 "close\0"
                                 "close_range\0"
                                 "connect\0"
                                 "copy_file_range\0"
                                 "creat\0"
                                 "dup\0"
                                 "dup2\0"
                                 "dup3\0"
                                 "epoll_create\0"
                                 "epoll_create1\0"
                                 "epoll_ctl\0"
                                 "epoll_pwait\0"
                                 "epoll_pwait2\0"
                                 "epoll_wait\0"
                                 "eventfd\0"
                                 "eventfd2\0"
                                 "execve\0"
                                 "execveat\0"
                                 "exit\0"
                                 "exit_group\0"
                                 "faccessat\0"
                                 "faccessat2\0"
                                 "fadvise64\0"
                                 "fallocate\0"
                                 "fanotify_mark\0"
                                 "fchdir\0"
                                 "fchmod\0"
                                 "fchmodat\0"
                                 "fchmodat2\0"
                                 "fchown\0"
                                 "fchownat\0"
                                 "fcntl\0"
                                 "fdatasync\0"
                                 "fgetxattr\0"
                                 "flistxattr\0"
                                 "flock\0"
                                 "fork\0"
                                 "fremovexattr\0"
                                 "fsetxattr\0"
                                 "fstat\0"
                                 "fstatfs\0"
                                 "fsync\0"
                                 "ftruncate\0"
                                 "futex\0"
                                 "futex_waitv\0"
                                 "futimesat\0"
                                 "getcpu\0"
                                 "getcwd\0"
                                 "getdents\0"
                                 "getdents64\0"
                                 "getegid\0"
                                 "geteuid\0"
                                 "getgid\0"
                                 "getgroups\0"
                                 "getitimer\0"
                                 "getpeername\0"
                                 "getpgid\0"
                                 "getpgrp\0"
                                 "getpid\0"
                                 "getppid\0"
                                 "getpriority\0"
                                 "getrandom\0"
                                 "getresgid\0"
                                 "getresuid\0"
                                 "getrlimit\0"
                                 "get_robust_list\0"
                                 "getrusage\0"
                                 "getsid\0"
                                 "getsockname\0"
                                 "getsockopt\0"
                                 "get_thread_area\0"
                                 "gettid\0"
                                 "gettimeofday\0"
                                 "getuid\0"
                                 "getxattr\0"
                                 "inotify_add_watch\0"
                                 "inotify_init\0"
                                 "inotify_init1\0"
                                 "inotify_rm_watch\0"
                                 "io_cancel\0"
                                 "ioctl\0"
                                 "io_destroy\0"
                                 "io_getevents\0"
                                 "io_pgetevents\0"
                                 "ioprio_get\0"
                                 "ioprio_set\0"
                                 "io_setup\0"
                                 "io_submit\0"
                                 "ipc\0"
                                 "kill\0"
                                 "landlock_add_rule\0"
                                 "landlock_create_ruleset\0"
                                 "landlock_restrict_self\0"
                                 "lchown\0"
                                 "lgetxattr\0"
                                 "link\0"
                                 "linkat\0"
                                 "listen\0"
                                 "listxattr\0"
                                 "llistxattr\0"
                                 "lremovexattr\0"
                                 "lseek\0"
                                 "lsetxattr\0"
                                 "lstat\0"
                                 "madvise\0"
                                 "membarrier\0"
                                 "memfd_create\0"
                                 "memfd_secret\0"
                                 "mincore\0"
                                 "mkdir\0"
                                 "mkdirat\0"
                                 "mlock\0"
                                 "mlock2\0"
                                 "mlockall\0"
                                 "mmap\0"
                                 "mprotect\0"
                                 "mq_getsetattr\0"
                                 "mq_notify\0"
                                 "mq_open\0"
                                 "mq_timedreceive\0"
                                 "mq_timedsend\0"
                                 "mq_unlink\0"
                                 "mremap\0"
                                 "msgctl\0"
                                 "msgget\0"
                                 "msgrcv\0"
                                 "msgsnd\0"
                                 "msync\0"
                                 "munlock\0"
                                 "munlockall\0"
                                 "munmap\0"
                                 "name_to_handle_at\0"
                                 "nanosleep\0"
                                 "newfstatat\0"
                                 "open\0"
                                 "openat\0"
                                 "openat2\0"
                                 "pause\0"
                                 "pidfd_getfd\0"
                                 "pidfd_open\0"
                                 "pidfd_send_signal\0"
                                 "pipe\0"
                                 "pipe2\0"
                                 "pkey_alloc\0"
                                 "pkey_free\0"
                                 "pkey_mprotect\0"
                                 "poll\0"
                                 "ppoll\0"
                                 "prctl\0"
                                 "pread64\0"
                                 "preadv\0"
                                 "preadv2\0"
                                 "prlimit64\0"
                                 "process_mrelease\0"
                                 "pselect6\0"
                                 "pwrite64\0"
                                 "pwritev\0"
                                 "pwritev2\0"
                                 "read\0"
                                 "readahead\0"
                                 "readlink\0"
                                 "readlinkat\0"
                                 "readv\0"
                                 "recv\0"
                                 "recvfrom\0"
                                 "recvmmsg\0"
                                 "recvmsg\0"
                                 "remap_file_pages\0"
                                 "removexattr\0"
                                 "rename\0"
                                 "renameat\0"
                                 "renameat2\0"
                                 "restart_syscall\0"
                                 "rmdir\0"
                                 "rseq\0"
                                 "rt_sigaction\0"
                                 "rt_sigpending\0"
                                 "rt_sigprocmask\0"
                                 "rt_sigqueueinfo\0"
                                 "rt_sigreturn\0"
                                 "rt_sigsuspend\0"
                                 "rt_sigtimedwait\0"
                                 "rt_tgsigqueueinfo\0"
                                 "sched_getaffinity\0"
                                 "sched_getattr\0"
                                 "sched_getparam\0"
                                 "sched_get_priority_max\0"
                                 "sched_get_priority_min\0"
                                 "sched_getscheduler\0"
                                 "sched_rr_get_interval\0"
                                 "sched_setaffinity\0"
                                 "sched_setattr\0"
                                 "sched_setparam\0"
                                 "sched_setscheduler\0"
                                 "sched_yield\0"
                                 "seccomp\0"
                                 "select\0"
                                 "semctl\0"
                                 "semget\0"
                                 "semop\0"
                                 "semtimedop\0"
                                 "send\0"
                                 "sendfile\0"
                                 "sendmmsg\0"
                                 "sendmsg\0"
                                 "sendto\0"
                                 "setfsgid\0"
                                 "setfsuid\0"
                                 "setgid\0"
                                 "setgroups\0"
                                 "setitimer\0"
                                 "setpgid\0"
                                 "setpriority\0"
                                 "setregid\0"
                                 "setresgid\0"
                                 "setresuid\0"
                                 "setreuid\0"
                                 "setrlimit\0"
                                 "set_robust_list\0"
                                 "setsid\0"
                                 "setsockopt\0"
                                 "set_thread_area\0"
                                 "set_tid_address\0"
                                 "setuid\0"
                                 "setxattr\0"
                                 "shmat\0"
                                 "shmctl\0"
                                 "shmdt\0"
                                 "shmget\0"
                                 "shutdown\0"
                                 "sigaltstack\0"
                                 "signalfd\0"
                                 "signalfd4\0"
                                 "socket\0"
                                 "socketcall\0"
                                 "socketpair\0"
                                 "splice\0"
                                 "stat\0"
                                 "statfs\0"
                                 "statx\0"
                                 "symlink\0"
                                 "symlinkat\0"
                                 "sync\0"
                                 "sync_file_range\0"
                                 "syncfs\0"
                                 "sysinfo\0"
                                 "tee\0"
                                 "tgkill\0"
                                 "time\0"
                                 "timer_create\0"
                                 "timer_delete\0"
                                 "timer_getoverrun\0"
                                 "timer_gettime\0"
                                 "timer_settime\0"
                                 "timerfd_create\0"
                                 "timerfd_gettime\0"
                                 "timerfd_settime\0"
                                 "times\0"
                                 "tkill\0"
                                 "truncate\0"
                                 "umask\0"
                                 "uname\0"
                                 "unlink\0"
                                 "unlinkat\0"
                                 "utime\0"
                                 "utimensat\0"
                                 "utimes\0"
                                 "vfork\0"
                                 "vmsplice\0"
                                 "wait4\0"
                                 "waitid\0"
                                 "waitpid\0"
                                 "write\0"
                                 "writev\0"
                                 "chroot\0";

/* Only with CAP_SYS_ADMIN: they change namespaces or the mount table. */
static const char *const admin_names[] = {
    "mount",           "umount2",        "unshare",
    "setns",           "pivot_root",     "sethostname",
    "setdomainname",   "fsopen",         "fsconfig",
    "fsmount",         "fspick",         "move_mount",
    "open_tree",       "mount_setattr",  "quotactl",
    "syslog",          "fanotify_init",  "bpf",
    "perf_event_open", "lookup_dcookie", "open_by_handle_at",
};

#define NS_FLAGS                                                                                   \
    ((uint64_t)(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |         \
                CLONE_NEWNET | CLONE_NEWCGROUP | CLONE_NEWTIME))

static void
add_rule(struct rt_seccomp *sc, const char *const *names, size_t n, uint32_t action,
         const struct rt_seccomp_arg *args, size_t nargs)
{
    struct rt_seccomp_rule *r;

    sc->rules = sk_reallocarray(sc->rules, sc->nrules + 1, sizeof(*r));
    r = &sc->rules[sc->nrules++];
    r->names = sk_calloc(n, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        r->names[i] = sk_strdup(names[i]);
    r->nnames = n;
    r->action = action;
    r->args = NULL;
    r->nargs = nargs;
    if (nargs) {
        r->args = sk_calloc(nargs, sizeof(*args));
        memcpy(r->args, args, nargs * sizeof(*args));
    }
}

static void
add_blob_rule(struct rt_seccomp *sc, const char *blob, uint32_t action)
{
    const char *names[512];
    size_t n = 0;

    for (const char *p = blob; *p && n < 512; p += strlen(p) + 1)
        names[n++] = p;
    add_rule(sc, names, n, action, NULL, 0);
}

struct rt_seccomp *
rt_seccomp_default(uint64_t caps)
{
    static const char *const clone_name[] = {"clone"};
    static const char *const clone3_name[] = {"clone3"};
    static const char *const pers[] = {"personality"};
    static const uint64_t pers_ok[] = {0, 8, 0x20000, 0x20008, 0xffffffff};
    static const uint64_t node_ok[] = {0, S_IFREG, S_IFIFO, S_IFSOCK};
    static const char *const mknod[] = {"mknod"};
    static const char *const mknodat[] = {"mknodat"};
    struct rt_seccomp *sc = sk_calloc(1, sizeof(*sc));
    int admin = (caps >> CAP_SYS_ADMIN) & 1;

    sc->default_action = SCMP_ACT_ERRNO(EPERM);
    sc->arches = sk_calloc(2, sizeof(uint32_t));
    sc->arches[sc->narches++] = SCMP_ARCH_NATIVE;
#if defined(__x86_64__)
    /* i386 binaries keep working, as under Docker's profile. x32 is left
     * out, unlike Docker's: its calls share AUDIT_ARCH_X86_64, so
     * libseccomp repeats the whole allow-list for it (a third of the
     * program), and the kernel checks and JITs the program on every
     * container start (~0.2 ms of a 4 ms run, bench/runtime). Kernels
     * mostly boot with x32 off (Debian: syscall.x32=n) and few binaries
     * use it; an x32 call now meets the bad-architecture action (the
     * thread is killed) instead of the allow-list. */
    sc->arches[sc->narches++] = SCMP_ARCH_X86;
#endif
    add_blob_rule(sc, allow_blob, SCMP_ACT_ALLOW);
    /* mknod only of fifos, sockets and files: device nodes (kept out of
     * the rootfs by nodev, too) could reach the host's disks even without
     * a device cgroup. */
    for (size_t i = 0; i < sizeof(node_ok) / sizeof(node_ok[0]); i++) {
        struct rt_seccomp_arg a1 = {1, S_IFMT, node_ok[i], SCMP_CMP_MASKED_EQ};
        struct rt_seccomp_arg a2 = {2, S_IFMT, node_ok[i], SCMP_CMP_MASKED_EQ};

        add_rule(sc, mknod, 1, SCMP_ACT_ALLOW, &a1, 1);
        add_rule(sc, mknodat, 1, SCMP_ACT_ALLOW, &a2, 1);
    }
    for (size_t i = 0; i < sizeof(pers_ok) / sizeof(pers_ok[0]); i++) {
        struct rt_seccomp_arg a = {0, pers_ok[i], 0, SCMP_CMP_EQ};

        add_rule(sc, pers, 1, SCMP_ACT_ALLOW, &a, 1);
    }
    if (admin) {
        add_rule(sc, admin_names, sizeof(admin_names) / sizeof(admin_names[0]), SCMP_ACT_ALLOW,
                 NULL, 0);
        add_rule(sc, clone_name, 1, SCMP_ACT_ALLOW, NULL, 0);
        add_rule(sc, clone3_name, 1, SCMP_ACT_ALLOW, NULL, 0);
    } else {
        struct rt_seccomp_arg a = {0, NS_FLAGS, 0, SCMP_CMP_MASKED_EQ};

        add_rule(sc, clone_name, 1, SCMP_ACT_ALLOW, &a, 1);
        add_rule(sc, clone3_name, 1, SCMP_ACT_ERRNO(ENOSYS), NULL, 0);
    }
    return sc;
}

void
rt_seccomp_free(struct rt_seccomp *sc)
{
    if (!sc)
        return;
    for (size_t i = 0; i < sc->nrules; i++) {
        for (size_t j = 0; j < sc->rules[i].nnames; j++)
            free(sc->rules[i].names[j]);
        free(sc->rules[i].names);
        free(sc->rules[i].args);
    }
    free(sc->rules);
    free(sc->arches);
    free(sc);
}

int
rt_seccomp_action_parse(const char *name, uint32_t errno_ret, uint32_t *out)
{
    if (strcmp(name, "SCMP_ACT_ALLOW") == 0)
        *out = SCMP_ACT_ALLOW;
    else if (strcmp(name, "SCMP_ACT_ERRNO") == 0)
        *out = SCMP_ACT_ERRNO(errno_ret);
    else if (strcmp(name, "SCMP_ACT_KILL") == 0 || strcmp(name, "SCMP_ACT_KILL_THREAD") == 0)
        *out = SCMP_ACT_KILL_THREAD;
    else if (strcmp(name, "SCMP_ACT_KILL_PROCESS") == 0)
        *out = SCMP_ACT_KILL_PROCESS;
    else if (strcmp(name, "SCMP_ACT_TRAP") == 0)
        *out = SCMP_ACT_TRAP;
    else if (strcmp(name, "SCMP_ACT_TRACE") == 0)
        *out = SCMP_ACT_TRACE(errno_ret);
    else if (strcmp(name, "SCMP_ACT_LOG") == 0)
        *out = SCMP_ACT_LOG;
    else
        return -1; /* SCMP_ACT_NOTIFY needs a listener: not supported */
    return 0;
}

int
rt_seccomp_op_parse(const char *name, int *out)
{
    static const struct {
        const char *name;
        int op;
    } ops[] = {{"SCMP_CMP_NE", SCMP_CMP_NE},
               {"SCMP_CMP_LT", SCMP_CMP_LT},
               {"SCMP_CMP_LE", SCMP_CMP_LE},
               {"SCMP_CMP_EQ", SCMP_CMP_EQ},
               {"SCMP_CMP_GE", SCMP_CMP_GE},
               {"SCMP_CMP_GT", SCMP_CMP_GT},
               {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ}};

    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (strcmp(ops[i].name, name) == 0) {
            *out = ops[i].op;
            return 0;
        }
    return -1;
}

int
rt_seccomp_arch_parse(const char *name, uint32_t *out)
{
    char lower[32];
    size_t i;

    if (strncmp(name, "SCMP_ARCH_", 10) != 0 || strlen(name + 10) >= sizeof(lower))
        return -1;
    for (i = 0; name[10 + i]; i++)
        lower[i] =
            (char)(name[10 + i] >= 'A' && name[10 + i] <= 'Z' ? name[10 + i] + 32 : name[10 + i]);
    lower[i] = '\0';
    if (strcmp(lower, "x86_64") == 0)
        strcpy(lower, "x86_64");
    *out = seccomp_arch_resolve_name(lower);
    return *out ? 0 : -1;
}

static int
add_one(scmp_filter_ctx ctx, const struct rt_seccomp_rule *r, int nr, struct sk_err *err)
{
    struct scmp_arg_cmp cmp[6];
    int rc;

    for (size_t i = 0; i < r->nargs && i < 6; i++)
        cmp[i] = (struct scmp_arg_cmp){r->args[i].index, (enum scmp_compare)r->args[i].op,
                                       r->args[i].value, r->args[i].value_two};
    rc = seccomp_rule_add_array(ctx, r->action, nr, (unsigned)r->nargs, cmp);
    if (rc == -EEXIST || rc == -EACCES)
        return 0; /* same action as the default, or a duplicate */
    if (rc < 0)
        return sk_err_sys(err, -rc, "seccomp rule for syscall %d", nr);
    return 1;
}

static int
build(const struct rt_seccomp *sc, scmp_filter_ctx *out, struct sk_err *err)
{
    scmp_filter_ctx ctx = seccomp_init(sc->default_action);
    int added = 0, rc;

    if (!ctx)
        return sk_err_set(err, EINVAL, "seccomp_init: invalid default action");
    /* A binary tree of syscall numbers instead of a linear list: loading
     * the filter makes the kernel emulate it for every syscall number to
     * build its cache of always-allowed calls (seccomp_cache_prepare),
     * which costs ~0.7 ms for the ~930-instruction linear default
     * profile. libseccomp < 2.5 lacks the attribute: linear then. */
    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    for (size_t i = 0; i < sc->narches; i++) {
        rc = seccomp_arch_add(ctx, sc->arches[i]);
        if (rc < 0 && rc != -EEXIST) {
            seccomp_release(ctx);
            return sk_err_sys(err, -rc, "seccomp architecture %zu", i);
        }
    }
    for (size_t i = 0; i < sc->nrules; i++) {
        const struct rt_seccomp_rule *r = &sc->rules[i];

        for (size_t j = 0; j < r->nnames; j++) {
            int nr = seccomp_syscall_resolve_name(r->names[j]);

            if (nr == __NR_SCMP_ERROR)
                continue;
            rc = add_one(ctx, r, nr, err);
            if (rc < 0) {
                seccomp_release(ctx);
                return sk_err_wrap(err, "'%s'", r->names[j]);
            }
            added += rc;
        }
    }
    *out = ctx;
    return added;
}

int
rt_seccomp_check(const struct rt_seccomp *sc, struct sk_err *err)
{
    scmp_filter_ctx ctx;
    int rc = build(sc, &ctx, err);

    if (rc >= 0)
        seccomp_release(ctx);
    return rc;
}

/* FNV-1a over a canonical dump of the profile: the cache key. */
static void
hash_bytes(uint64_t *h, const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++)
        *h = (*h ^ b[i]) * 1099511628211ULL;
}

uint64_t
rt_seccomp_hash(const struct rt_seccomp *sc)
{
    uint64_t h = 14695981039346656037ULL;

    hash_bytes(&h, "tree", 4); /* the layout of the program (see build()) */
    hash_bytes(&h, &sc->default_action, sizeof(sc->default_action));
    hash_bytes(&h, sc->arches, sc->narches * sizeof(uint32_t));
    for (size_t i = 0; i < sc->nrules; i++) {
        const struct rt_seccomp_rule *r = &sc->rules[i];

        hash_bytes(&h, &r->action, sizeof(r->action));
        for (size_t j = 0; j < r->nnames; j++)
            hash_bytes(&h, r->names[j], strlen(r->names[j]) + 1);
        for (size_t j = 0; j < r->nargs; j++) {
            hash_bytes(&h, &r->args[j].index, sizeof(r->args[j].index));
            hash_bytes(&h, &r->args[j].value, sizeof(r->args[j].value));
            hash_bytes(&h, &r->args[j].value_two, sizeof(r->args[j].value_two));
            hash_bytes(&h, &r->args[j].op, sizeof(r->args[j].op));
        }
        hash_bytes(&h, "|", 1);
    }
    return h;
}

static int
export_bpf(const struct rt_seccomp *sc, struct rt_bpf *out, struct sk_err *err)
{
    scmp_filter_ctx ctx;
    struct stat st;
    int fd, rc = build(sc, &ctx, err);

    if (rc < 0)
        return rc;
    fd = memfd_create("seccomp", MFD_CLOEXEC);
    if (fd < 0) {
        seccomp_release(ctx);
        return sk_err_sys(err, errno, "memfd_create");
    }
    rc = seccomp_export_bpf(ctx, fd);
    seccomp_release(ctx);
    if (rc < 0 || fstat(fd, &st) < 0 || st.st_size <= 0 || st.st_size % 8) {
        close(fd);
        return sk_err_sys(err, rc < 0 ? -rc : EIO, "export seccomp filter");
    }
    out->len = (size_t)st.st_size;
    out->prog = sk_malloc(out->len);
    if (pread(fd, out->prog, out->len, 0) != (ssize_t)out->len) {
        close(fd);
        free(out->prog);
        out->prog = NULL;
        return sk_err_sys(err, errno, "read seccomp filter");
    }
    close(fd);
    return 0;
}

static int
cache_read(const char *path, struct rt_bpf *out)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

    if (fd < 0)
        return -1;
    if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 022) || st.st_size <= 0 ||
        st.st_size % 8 || st.st_size > (1 << 20)) {
        close(fd);
        return -1;
    }
    out->len = (size_t)st.st_size;
    out->prog = sk_malloc(out->len);
    if (read(fd, out->prog, out->len) != (ssize_t)out->len) {
        free(out->prog);
        out->prog = NULL;
        close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

static void
cache_write(const char *dir, const char *path, const struct rt_bpf *bpf)
{
    char tmp[4300];
    int fd;

    mkdir(dir, 0700);
    snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    if (rt_write_all(fd, bpf->prog, bpf->len) < 0 || rename(tmp, path) < 0)
        unlink(tmp);
    close(fd);
}

/* Compiling the default profile with libseccomp takes milliseconds (3
 * architectures, ~350 syscalls); the resulting BPF is cached in
 * cache_dir (the state root, 0700) under the hash of the profile. */
int
rt_seccomp_compile(const struct rt_seccomp *sc, const char *cache_dir, struct rt_bpf *out,
                   struct sk_err *err)
{
    char path[4200];
    int rc;

    memset(out, 0, sizeof(*out));
    if (!sc)
        return 0;
    if (cache_dir) {
        snprintf(path, sizeof(path), "%s/seccomp-%016llx.bpf", cache_dir,
                 (unsigned long long)rt_seccomp_hash(sc));
        if (cache_read(path, out) == 0)
            return 0;
    }
    rc = export_bpf(sc, out, err);
    if (rc == 0 && cache_dir)
        cache_write(cache_dir, path, out);
    return rc;
}

int
rt_seccomp_install(const struct rt_bpf *bpf, struct sk_err *err)
{
    struct sock_fprog prog = {(unsigned short)(bpf->len / sizeof(struct sock_filter)),
                              (struct sock_filter *)bpf->prog};

    if (!bpf->prog)
        return 0;
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
        return sk_err_sys(err, errno, "load seccomp filter");
    return 0;
}
