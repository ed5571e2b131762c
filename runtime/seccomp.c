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

static const char *const allow_names[] = {
    "accept",
    "accept4",
    "access",
    "adjtimex",
    "alarm",
    "arch_prctl",
    "bind",
    "brk",
    "cachestat",
    "capget",
    "capset",
    "chdir",
    "chmod",
    "chown",
    "chown32",
    "clock_adjtime",
    "clock_getres",
    "clock_gettime",
    "clock_nanosleep",
    "close",
    "close_range",
    "connect",
    "copy_file_range",
    "creat",
    "dup",
    "dup2",
    "dup3",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_pwait",
    "epoll_pwait2",
    "epoll_wait",
    "eventfd",
    "eventfd2",
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "faccessat",
    "faccessat2",
    "fadvise64",
    "fallocate",
    "fanotify_mark",
    "fchdir",
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "fchown",
    "fchownat",
    "fcntl",
    "fdatasync",
    "fgetxattr",
    "flistxattr",
    "flock",
    "fork",
    "fremovexattr",
    "fsetxattr",
    "fstat",
    "fstatfs",
    "fsync",
    "ftruncate",
    "futex",
    "futex_waitv",
    "futimesat",
    "getcpu",
    "getcwd",
    "getdents",
    "getdents64",
    "getegid",
    "geteuid",
    "getgid",
    "getgroups",
    "getitimer",
    "getpeername",
    "getpgid",
    "getpgrp",
    "getpid",
    "getppid",
    "getpriority",
    "getrandom",
    "getresgid",
    "getresuid",
    "getrlimit",
    "get_robust_list",
    "getrusage",
    "getsid",
    "getsockname",
    "getsockopt",
    "get_thread_area",
    "gettid",
    "gettimeofday",
    "getuid",
    "getxattr",
    "inotify_add_watch",
    "inotify_init",
    "inotify_init1",
    "inotify_rm_watch",
    "io_cancel",
    "ioctl",
    "io_destroy",
    "io_getevents",
    "io_pgetevents",
    "ioprio_get",
    "ioprio_set",
    "io_setup",
    "io_submit",
    "ipc",
    "kill",
    "landlock_add_rule",
    "landlock_create_ruleset",
    "landlock_restrict_self",
    "lchown",
    "lgetxattr",
    "link",
    "linkat",
    "listen",
    "listxattr",
    "llistxattr",
    "lremovexattr",
    "lseek",
    "lsetxattr",
    "lstat",
    "madvise",
    "membarrier",
    "memfd_create",
    "memfd_secret",
    "mincore",
    "mkdir",
    "mkdirat",
    "mlock",
    "mlock2",
    "mlockall",
    "mmap",
    "mprotect",
    "mq_getsetattr",
    "mq_notify",
    "mq_open",
    "mq_timedreceive",
    "mq_timedsend",
    "mq_unlink",
    "mremap",
    "msgctl",
    "msgget",
    "msgrcv",
    "msgsnd",
    "msync",
    "munlock",
    "munlockall",
    "munmap",
    "name_to_handle_at",
    "nanosleep",
    "newfstatat",
    "open",
    "openat",
    "openat2",
    "pause",
    "pidfd_getfd",
    "pidfd_open",
    "pidfd_send_signal",
    "pipe",
    "pipe2",
    "pkey_alloc",
    "pkey_free",
    "pkey_mprotect",
    "poll",
    "ppoll",
    "prctl",
    "pread64",
    "preadv",
    "preadv2",
    "prlimit64",
    "process_mrelease",
    "pselect6",
    "pwrite64",
    "pwritev",
    "pwritev2",
    "read",
    "readahead",
    "readlink",
    "readlinkat",
    "readv",
    "recv",
    "recvfrom",
    "recvmmsg",
    "recvmsg",
    "remap_file_pages",
    "removexattr",
    "rename",
    "renameat",
    "renameat2",
    "restart_syscall",
    "rmdir",
    "rseq",
    "rt_sigaction",
    "rt_sigpending",
    "rt_sigprocmask",
    "rt_sigqueueinfo",
    "rt_sigreturn",
    "rt_sigsuspend",
    "rt_sigtimedwait",
    "rt_tgsigqueueinfo",
    "sched_getaffinity",
    "sched_getattr",
    "sched_getparam",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "sched_getscheduler",
    "sched_rr_get_interval",
    "sched_setaffinity",
    "sched_setattr",
    "sched_setparam",
    "sched_setscheduler",
    "sched_yield",
    "seccomp",
    "select",
    "semctl",
    "semget",
    "semop",
    "semtimedop",
    "send",
    "sendfile",
    "sendmmsg",
    "sendmsg",
    "sendto",
    "setfsgid",
    "setfsuid",
    "setgid",
    "setgroups",
    "setitimer",
    "setpgid",
    "setpriority",
    "setregid",
    "setresgid",
    "setresuid",
    "setreuid",
    "setrlimit",
    "set_robust_list",
    "setsid",
    "setsockopt",
    "set_thread_area",
    "set_tid_address",
    "setuid",
    "setxattr",
    "shmat",
    "shmctl",
    "shmdt",
    "shmget",
    "shutdown",
    "sigaltstack",
    "signalfd",
    "signalfd4",
    "socket",
    "socketcall",
    "socketpair",
    "splice",
    "stat",
    "statfs",
    "statx",
    "symlink",
    "symlinkat",
    "sync",
    "sync_file_range",
    "syncfs",
    "sysinfo",
    "tee",
    "tgkill",
    "time",
    "timer_create",
    "timer_delete",
    "timer_getoverrun",
    "timer_gettime",
    "timer_settime",
    "timerfd_create",
    "timerfd_gettime",
    "timerfd_settime",
    "times",
    "tkill",
    "truncate",
    "umask",
    "uname",
    "unlink",
    "unlinkat",
    "utime",
    "utimensat",
    "utimes",
    "vfork",
    "vmsplice",
    "wait4",
    "waitid",
    "waitpid",
    "write",
    "writev",
    "chroot",
};

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
    sc->arches = sk_calloc(3, sizeof(uint32_t));
    sc->arches[sc->narches++] = SCMP_ARCH_NATIVE;
#if defined(__x86_64__)
    sc->arches[sc->narches++] = SCMP_ARCH_X86;
    sc->arches[sc->narches++] = SCMP_ARCH_X32;
#endif
    add_rule(sc, allow_names, sizeof(allow_names) / sizeof(allow_names[0]), SCMP_ACT_ALLOW, NULL,
             0);
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
