/* Container lifecycle: create, start, state, kill, delete, wait, list.
 *
 * create: the caller (P) makes the state dir and exec.fifo, then double
 * forks: the grandchild is the monitor (M, own session), so the
 * container survives P. M creates the cgroups and clones the init (C)
 * with the new namespaces; C waits on a socketpair until M wrote the
 * uid/gid maps and put it into the cgroups, then builds the rootfs,
 * drops privileges, reports "ready" and blocks opening exec.fifo for
 * writing until `start` opens it for reading (runc's create/start
 * split). M then writes state.json and reports the pid to P over a pipe.
 * A create that starts at once (`run`, rt_create_opts.start) has no
 * exec.fifo: C executes the process right after "ready", sparing the
 * round trip M -> P -> start -> C (~0.4 ms of a 4 ms run).
 * Any failure on the way kills what was started and removes cgroups and
 * the state dir; the mounts die with C's mount namespace. */
#include "runtime/rt_int.h"

#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

struct job {
    const struct rt_ctx *ctx;
    const char *id;
    struct rt_spec *spec;
    const struct rt_create_opts *opts;
    char dir[4096];
    char rootfs[4096];
    char bundle[4096];
    int report_fd; /* M -> P */
    int fifo_fd;   /* O_PATH of exec.fifo, opened by M: the state dir is
                      not searchable from a user namespace */
    int sync_fd;   /* M <-> C */
    int log_out[2], log_err[2];
    int userns;
    int start; /* started at once: no exec.fifo */
    struct rt_bpf bpf;
    char *hook_state[2];                /* C: the state JSON (creating, created) for hooks */
    struct rt_netns_prefetch own_netns; /* P -> M (netns.c) */
    struct rt_netns_prefetch *netns;    /* own_netns or the caller's netns_early */
    int netns_fd;                       /* M, C: the new network namespace, or -1 */
    int mntns_fd;                       /* M: the container's mount namespace, or -1 */
};

/* clone3's argument (linux/sched.h clashes with sched.h). */
struct clone3_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
        set_tid_size, cgroup;
};
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

static int
msg_send(int fd, char tag, const char *text)
{
    char buf[SK_ERR_MSG_MAX + 2];
    size_t n = strlen(text);

    buf[0] = tag;
    memcpy(buf + 1, text, n);
    return rt_write_all(fd, buf, n + 1);
}

/* ---- the container's init (C) ---------------------------------------- */

static int
join_namespaces(const struct rt_spec *spec, struct sk_err *err)
{
    for (size_t i = 0; i < spec->nnamespaces; i++) {
        const struct rt_namespace *ns = &spec->namespaces[i];
        int fd;

        if (!ns->path || ns->type == CLONE_NEWPID) /* joined by the monitor */
            continue;
        fd = open(ns->path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return sk_err_sys(err, errno, "open namespace '%s'", ns->path);
        if (setns(fd, ns->type) < 0) {
            close(fd);
            return sk_err_sys(err, errno, "setns '%s'", ns->path);
        }
        close(fd);
    }
    return 0;
}

static int
setup_stdio(const struct job *j, struct sk_err *err)
{
    int fds[3] = {j->opts->stdio[0], j->opts->stdio[1], j->opts->stdio[2]};
    int null = -1;

    if (j->log_out[1] >= 0) {
        fds[0] = -1;
        fds[1] = j->log_out[1];
        fds[2] = j->log_err[1];
    }
    for (int i = 0; i < 3; i++) {
        if (fds[i] < 0) {
            if (null < 0)
                null = open("/dev/null", O_RDWR | O_CLOEXEC);
            fds[i] = null;
        }
        if (fds[i] != i && dup2(fds[i], i) < 0)
            return sk_err_sys(err, errno, "dup2 stdio %d", i);
    }
    return 0;
}

static int
early_hooks(const struct rt_spec *spec)
{
    for (int k = RT_HOOK_PRESTART; k <= RT_HOOK_START_CONTAINER; k++)
        if (spec->hooks.n[k])
            return 1;
    return 0;
}

/* Mounts are done, pivot_root is not: the monitor runs the prestart
 * and createRuntime hooks now ('H'), and answers 'G' with the state
 * JSON for ours ("creating" NUL "created"). Then createContainer, here
 * in the container's namespaces. */
static int
container_hooks(struct job *j, struct sk_err *err)
{
    size_t max = 256 * 1024;
    char *buf = malloc(max);
    ssize_t n;

    if (!buf || msg_send(j->sync_fd, 'H', "") < 0) {
        free(buf);
        return sk_err_set(err, EIO, "hooks: the monitor is gone");
    }
    n = read(j->sync_fd, buf, max - 1);
    if (n < 2 || buf[0] != 'G') {
        free(buf);
        return sk_err_set(err, EIO, "hooks: the monitor gave up");
    }
    buf[n] = '\0';
    j->hook_state[0] = strdup(buf + 1);
    j->hook_state[1] = strdup(buf + 2 + strlen(buf + 1) < buf + n ? buf + 2 + strlen(buf + 1) : "");
    free(buf);
    if (!j->hook_state[0] || !j->hook_state[1])
        return sk_err_set(err, ENOMEM, "hooks: out of memory");
    return rt_hooks_run(&j->spec->hooks, RT_HOOK_CREATE_CONTAINER, j->hook_state[0], err);
}

static int
init_setup(struct job *j, char *exe, size_t exesz, struct sk_err *err)
{
    struct rt_spec *spec = j->spec;

    if (j->userns && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
        return sk_err_sys(err, errno, "become root in the user namespace");
    if (j->netns_fd >= 0) {
        if (setns(j->netns_fd, CLONE_NEWNET) < 0)
            return sk_err_sys(err, errno, "setns the new network namespace");
        close(j->netns_fd);
        j->netns_fd = -1;
    }
    if (join_namespaces(spec, err) < 0 || setup_stdio(j, err) < 0)
        return -1;
    umask(0);
    if (rt_rootfs_setup(spec, j->rootfs, j->userns, err) < 0)
        return -1;
    if (early_hooks(spec) && container_hooks(j, err) < 0)
        return -1;
    if (rt_rootfs_pivot(j->rootfs, err) < 0)
        return -1;
    if (spec->hostname && sethostname(spec->hostname, strlen(spec->hostname)) < 0)
        return sk_err_sys(err, errno, "sethostname '%s'", spec->hostname);
    if (rt_rootfs_finish(spec, err) < 0)
        return -1;
    if (spec->process.terminal && rt_console_setup(&spec->process, j->opts->console_fd, err) < 0)
        return -1;
    return rt_process_prepare(&j->bpf, &spec->process, exe, exesz, err);
}

static _Noreturn void
init_main(struct job *j)
{
    struct sk_err err;
    char exe[4096], go, path[64];
    int fd;
    char **argv, **envp;

    sk_err_init(&err);
    rt_signals_reset();
    close(j->report_fd);
    if (j->opts->exit_fd >= 0)
        close(j->opts->exit_fd);
    if (j->log_out[0] >= 0) {
        close(j->log_out[0]);
        close(j->log_err[0]);
    }
    if (read(j->sync_fd, &go, 1) != 1)
        _exit(1); /* the monitor gave up */
    if (init_setup(j, exe, sizeof(exe), &err) < 0) {
        msg_send(j->sync_fd, 'E', err.msg);
        _exit(1);
    }
    argv = rt_strv_nul(j->spec->process.args, j->spec->process.nargs);
    envp = rt_strv_nul(j->spec->process.env, j->spec->process.nenv);
    msg_send(j->sync_fd, 'R', "");
    if (j->fifo_fd < 0)
        goto exec; /* started at once */
    /* Blocks until `start` opens the fifo for reading. */
    snprintf(path, sizeof(path), "/proc/self/fd/%d", j->fifo_fd);
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        _exit(1);
    /* 'H': start waits for the startContainer hooks' verdict. */
    if (j->spec->hooks.n[RT_HOOK_START_CONTAINER] &&
        (write(fd, "H", 1) != 1 ||
         rt_hooks_run(&j->spec->hooks, RT_HOOK_START_CONTAINER, j->hook_state[1], &err) < 0)) {
        msg_send(fd, 'E', err.msg);
        _exit(1);
    }
    if (write(fd, "0", 1) != 1)
        _exit(1);
exec:
    syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
    execve(exe, argv, envp);
    dprintf(2, "skiff-runtime: exec '%s': %s\n", exe, strerror(errno));
    _exit(127);
}

/* ---- the monitor (M) ----------------------------------------------------- */

static int
write_idmap(pid_t pid, const char *file, const struct rt_idmap *m, size_t n, struct sk_err *err)
{
    struct sk_buf b = SK_BUF_INIT;
    char path[64];
    int fd, rc = 0;

    for (size_t i = 0; i < n; i++)
        sk_buf_printf(&b, "%u %u %u\n", m[i].container_id, m[i].host_id, m[i].size);
    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, b.data, b.len) < 0)
        rc = sk_err_sys(err, errno, "write '%s'", path);
    if (fd >= 0)
        close(fd);
    sk_buf_release(&b);
    return rc;
}

static int
clone_flags(const struct rt_spec *spec)
{
    int flags = 0;

    for (size_t i = 0; i < spec->nnamespaces; i++)
        if (!spec->namespaces[i].path)
            flags |= spec->namespaces[i].type;
    return flags;
}

/* Wait for C's verdict: 'R' ready, 'E' + message, or EOF (it died). */
static int
wait_ready(int fd, struct sk_err *err)
{
    char buf[SK_ERR_MSG_MAX + 2];
    ssize_t n = read(fd, buf, sizeof(buf) - 1);

    if (n <= 0)
        return sk_err_set(err, EIO, "container init died during setup");
    buf[n] = '\0';
    if (buf[0] == 'R')
        return 0;
    if (buf[0] == 'H')
        return 1;
    return sk_err_set(err, EPERM, "%s", buf + 1);
}

static void
fill_state(const struct job *j, pid_t pid, const struct rt_cgroup *cg, struct rt_state *st)
{
    const struct rt_hooks *h = &j->spec->hooks;
    struct timespec ts;

    memset(st, 0, sizeof(*st));
    sk_strlcpy(st->id, j->id, sizeof(st->id));
    sk_strlcpy(st->bundle, j->bundle, sizeof(st->bundle));
    sk_strlcpy(st->rootfs, j->rootfs, sizeof(st->rootfs));
    st->pid = pid;
    st->pid_start = rt_proc_start_time(pid);
    st->monitor_pid = getpid();
    st->owner = getuid();
    clock_gettime(CLOCK_REALTIME, &ts);
    rt_time_rfc3339(st->created, sizeof(st->created), &ts);
    st->annotations = j->spec->annotations;
    st->nannotations = j->spec->nannotations;
    st->cgroup_paths = rt_cgroup_to_json(cg);
    st->hooks = h->n[RT_HOOK_POSTSTART] || h->n[RT_HOOK_POSTSTOP];
}

static int
stage_state(const struct job *j, pid_t pid, const struct rt_cgroup *cg, struct sk_err *err)
{
    struct rt_state st;
    int rc;

    fill_state(j, pid, cg, &st);
    rc = rt_state_stage(j->dir, &st, err);
    free(st.cgroup_paths);
    return rc;
}

/* The init asked for the hooks of the runtime namespace ('H'): run
 * prestart and createRuntime, then send it the state for its own. */
static int
runtime_hooks(const struct job *j, pid_t pid, const struct rt_cgroup *cg, int fd,
              struct sk_err *err)
{
    struct sk_buf b = SK_BUF_INIT;
    struct rt_state st;
    char *creating, *created;
    int rc;

    fill_state(j, pid, cg, &st);
    st.status = RT_CREATING;
    creating = rt_state_to_json(&st);
    st.status = RT_CREATED;
    created = rt_state_to_json(&st);
    free(st.cgroup_paths);
    rc = rt_hooks_run(&j->spec->hooks, RT_HOOK_PRESTART, creating, err);
    if (rc == 0)
        rc = rt_hooks_run(&j->spec->hooks, RT_HOOK_CREATE_RUNTIME, creating, err);
    if (rc == 0) {
        sk_buf_putc(&b, 'G');
        sk_buf_puts(&b, creating);
        sk_buf_putc(&b, '\0');
        sk_buf_puts(&b, created);
        if (write(fd, b.data, b.len) != (ssize_t)b.len)
            rc = sk_err_sys(err, errno, "send the state to the container's init");
    }
    sk_buf_release(&b);
    free(creating);
    free(created);
    return rc;
}

static int
wait_ready_hooks(const struct job *j, pid_t pid, const struct rt_cgroup *cg, int fd,
                 struct sk_err *err)
{
    int rc = wait_ready(fd, err);

    if (rc != 1)
        return rc;
    if (runtime_hooks(j, pid, cg, fd, err) < 0)
        return -1;
    rc = wait_ready(fd, err);
    return rc == 1 ? sk_err_set(err, EPROTO, "container init asked for hooks twice") : rc;
}

/* Born into the v2 cgroup with CLONE_INTO_CGROUP: moving a process
 * between cgroups afterwards takes the global cgroup_threadgroup_rwsem
 * for writing, which costs an RCU grace period (~10 ms). v1 hierarchies
 * still need the move; it runs while the init builds its rootfs. */
/* setns(CLONE_NEWPID) only moves the caller's future children: the
 * monitor joins a given pid namespace itself, so that the init it
 * clones is born inside it (a pod sharing its process namespace). */
static int
join_pid_namespace(const struct rt_spec *spec, struct sk_err *err)
{
    for (size_t i = 0; i < spec->nnamespaces; i++) {
        const struct rt_namespace *ns = &spec->namespaces[i];
        int fd, rc = 0;

        if (ns->type != CLONE_NEWPID || !ns->path)
            continue;
        fd = open(ns->path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return sk_err_sys(err, errno, "open namespace '%s'", ns->path);
        if (setns(fd, CLONE_NEWPID) < 0)
            rc = sk_err_sys(err, errno, "setns '%s'", ns->path);
        close(fd);
        return rc;
    }
    return 0;
}

static pid_t
clone_init(const struct job *j, const struct rt_cgroup *cg, int *in_v2)
{
    struct clone3_args args = {0};
    int flags = clone_flags(j->spec), cgfd = -1;
    pid_t pid;

    if (j->netns_fd >= 0) /* made beside create (netns.c) */
        flags &= ~CLONE_NEWNET;

    *in_v2 = 0;
    if (cg->path[RT_CG_UNIFIED])
        cgfd = open(cg->path[RT_CG_UNIFIED], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cgfd >= 0) {
        args.flags = (uint64_t)(unsigned)flags | CLONE_INTO_CGROUP;
        args.exit_signal = SIGCHLD;
        args.cgroup = (uint64_t)cgfd;
        pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
        close(cgfd);
        if (pid >= 0) {
            *in_v2 = 1;
            return pid;
        }
    }
    return (pid_t)syscall(SYS_clone, (unsigned long)flags | SIGCHLD, NULL, NULL, NULL, NULL);
}

/* The last reference to the container's mount namespace would be
 * dropped by its init's exit, and tearing its mounts down waits for an
 * RCU grace period (namespace_unlock(): synchronize_rcu_expedited, 1-2
 * ms) before the exit is reported to us. Holding the namespace moves
 * that wait to our own exit, after the exit is reported. Opened while
 * the init sets up, off the path to "ready". Close-on-exec: a
 * re-executed monitor does not keep it. -1 if it cannot be had. */
static int
hold_mntns(pid_t pid)
{
    char path[64];

    snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
    return open(path, O_RDONLY | O_CLOEXEC);
}

static pid_t
launch(struct job *j, const struct rt_cgroup *cg, struct sk_err *err)
{
    char path[4200];
    int sv[2], in_v2;
    pid_t pid;

    snprintf(path, sizeof(path), "%s/exec.fifo", j->dir);
    j->fifo_fd = j->start ? -1 : open(path, O_PATH | O_CLOEXEC);
    if (!j->start && j->fifo_fd < 0)
        return sk_err_sys(err, errno, "open '%s'", path);
    if (join_pid_namespace(j->spec, err) < 0)
        return -1;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return sk_err_sys(err, errno, "socketpair");
    j->netns_fd = rt_netns_prefetch_take(j->netns);
    pid = clone_init(j, cg, &in_v2);
    if (j->netns_fd >= 0 && pid != 0) {
        close(j->netns_fd);
        j->netns_fd = -1;
    }
    if (pid < 0) {
        close(sv[0]);
        close(sv[1]);
        return sk_err_sys(err, errno, "clone");
    }
    if (pid == 0) {
        close(sv[0]);
        j->sync_fd = sv[1];
        init_main(j);
    }
    close(sv[1]);
    if (j->fifo_fd >= 0)
        close(j->fifo_fd);
    j->mntns_fd = hold_mntns(pid);
    if ((j->userns &&
         (write_idmap(pid, "uid_map", j->spec->uid_maps, j->spec->nuid_maps, err) < 0 ||
          write_idmap(pid, "gid_map", j->spec->gid_maps, j->spec->ngid_maps, err) < 0)) ||
        write(sv[0], "G", 1) != 1 || rt_cgroup_enter(cg, pid, !in_v2, err) < 0 ||
        stage_state(j, pid, cg, err) < 0 || wait_ready_hooks(j, pid, cg, sv[0], err) < 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        close(sv[0]);
        if (j->mntns_fd >= 0)
            close(j->mntns_fd);
        j->mntns_fd = -1;
        return -1;
    }
    close(sv[0]);
    return pid;
}

/* The monitor keeps only what it needs: whatever the caller's shell
 * left open (pipes of a $(...) capture...) must not stay open for the
 * lifetime of the container. close_range(2) between the kept fds: the
 * fcntl loop over every possible fd it replaces cost ~65536 syscalls
 * (several ms) on the path from the container's exit to its reaping. */
static void
close_other_fds(const struct rt_monitor_args *a)
{
    enum { NKEEP = 4 };
    int keep[NKEEP] = {a->out_fd, a->err_fd, a->exit_fd, a->mntns_fd};
    int lo = 3, maxfd;

    for (int i = 0; i < NKEEP; i++) /* sort them */
        for (int k = i + 1; k < NKEEP; k++)
            if (keep[k] < keep[i]) {
                int t = keep[i];

                keep[i] = keep[k];
                keep[k] = t;
            }
    for (int i = 0; i < NKEEP; i++) {
        if (keep[i] < lo)
            continue;
        if (keep[i] > lo && syscall(SYS_close_range, lo, keep[i] - 1, 0) < 0)
            goto fallback;
        lo = keep[i] + 1;
    }
    if (syscall(SYS_close_range, lo, ~0U, 0) == 0)
        return;
fallback: /* kernel < 5.9 */
    maxfd = (int)sysconf(_SC_OPEN_MAX);
    for (int fd = 3; fd < maxfd && fd < 65536; fd++) {
        int kept = 0;

        for (int i = 0; i < NKEEP; i++)
            kept |= fd == keep[i];
        if (!kept && fcntl(fd, F_GETFD) >= 0)
            close(fd);
    }
}

static void
detach_stdio(void)
{
    int null = open("/dev/null", O_RDWR);

    if (null < 0)
        return;
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    if (null > 2)
        close(null);
}

/* Become a fresh process of the on-disk binary: the monitor then holds
 * no copy of the creator's heap, relocations or view of the binary
 * (selfexe.c). Only fds the
 * monitor needs survive the exec. */
static void
exec_monitor(const char *exe, const struct rt_monitor_args *a)
{
    char pid[16], out[16], errfd[16], ex[16], max[32];
    int fds[3] = {a->out_fd, a->err_fd, a->exit_fd};

    syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
    for (int i = 0; i < 3; i++)
        if (fds[i] >= 0)
            fcntl(fds[i], F_SETFD, 0);
    snprintf(pid, sizeof(pid), "%d", (int)a->child);
    snprintf(out, sizeof(out), "%d", a->out_fd);
    snprintf(errfd, sizeof(errfd), "%d", a->err_fd);
    snprintf(ex, sizeof(ex), "%d", a->exit_fd);
    snprintf(max, sizeof(max), "%lld", a->cri_log_max);
    execl(exe, "skiff-runtime", "_monitor", a->dir, pid, out, errfd, ex, max,
          a->cri_log ? a->cri_log : "-", (char *)NULL);
    for (int i = 0; i < 3; i++)
        if (fds[i] >= 0)
            fcntl(fds[i], F_SETFD, FD_CLOEXEC);
}

static _Noreturn void
monitor_main(struct job *j)
{
    struct rt_monitor_args a = {0};
    static struct rt_cgroup cg;
    struct sk_err err;
    char ok[64];
    pid_t pid;

    sk_err_init(&err);
    signal(SIGPIPE, SIG_IGN);
    rt_netns_prefetch_forked(j->netns);
    if (rt_cgroup_create(&cg, j->ctx->cgroup_root,
                         j->spec->cgroups_path ? j->spec->cgroups_path : j->id, &j->spec->resources,
                         j->spec->seccomp == NULL, &err) < 0)
        goto fail;
    pid = launch(j, &cg, &err);
    if (pid < 0 || rt_state_commit(j->dir, &err) < 0) {
        if (pid > 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
        }
        rt_cgroup_destroy(&cg, NULL);
        goto fail;
    }
    a.mntns_fd = j->mntns_fd;
    snprintf(ok, sizeof(ok), "O%d", (int)pid);
    rt_write_all(j->report_fd, ok, strlen(ok));
    close(j->report_fd);
    a.dir = sk_strdup(j->dir);
    a.cg = &cg;
    a.child = pid;
    a.out_fd = j->log_out[0];
    a.err_fd = j->log_err[0];
    a.cri_log = j->opts->cri_log ? sk_strdup(j->opts->cri_log) : NULL;
    a.cri_log_max = j->opts->cri_log_max;
    a.exit_fd = j->opts->exit_fd;
    a.remove = a.exit_fd >= 0 && j->opts->remove && !j->spec->hooks.n[RT_HOOK_POSTSTOP];
    if (j->log_out[1] >= 0) {
        close(j->log_out[1]);
        close(j->log_err[1]);
    }
    /* The creator's memory is ours now: give back what we do not need. */
    rt_spec_release(j->spec);
    free(j->bpf.prog);
    malloc_trim(0);
    detach_stdio();
    /* A foreground run keeps its caller (and so its binary's view)
     * alive anyway: the exec would only cost time there. */
    if (j->ctx->monitor_exe && a.exit_fd < 0)
        exec_monitor(j->ctx->monitor_exe, &a);
    close_other_fds(&a);
    rt_monitor_run(&a);
fail:
    msg_send(j->report_fd, 'E', err.msg);
    _exit(1);
}

/* ---- the caller (P) -------------------------------------------------------- */

static int
read_report(int fd, pid_t *pid, struct sk_err *err)
{
    char buf[SK_ERR_MSG_MAX + 2];
    size_t len = 0;
    ssize_t n;

    while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return sk_err_sys(err, errno, "read from monitor");
        len += (size_t)n;
    }
    buf[len] = '\0';
    if (len && buf[0] == 'O') {
        *pid = (pid_t)atoi(buf + 1);
        return 0;
    }
    if (len && buf[0] == 'E')
        return sk_err_set(err, EPERM, "%s", buf + 1);
    return sk_err_set(err, EIO, "monitor died during create");
}

static int
prepare_dir(struct job *j, struct sk_err *err)
{
    char path[4200];

    if (mkdir(j->ctx->root, 0700) < 0 && errno != EEXIST)
        return sk_err_sys(err, errno, "mkdir '%s'", j->ctx->root);
    if (mkdir(j->dir, 0700) < 0) {
        if (errno == EEXIST)
            return sk_err_set(err, EEXIST, "container '%s' already exists", j->id);
        return sk_err_sys(err, errno, "mkdir '%s'", j->dir);
    }
    snprintf(path, sizeof(path), "%s/exec.fifo", j->dir);
    /* 0622: the init opens it after switching to the container's user */
    if (!j->start && (mkfifo(path, 0622) < 0 || chmod(path, 0622) < 0))
        return sk_err_sys(err, errno, "mkfifo '%s'", path);
    if (j->opts->config_json) {
        int fd;

        snprintf(path, sizeof(path), "%s/config.json", j->dir);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 || rt_write_all(fd, j->opts->config_json, strlen(j->opts->config_json)) < 0) {
            if (fd >= 0)
                close(fd);
            return sk_err_sys(err, errno, "write '%s'", path);
        }
        close(fd);
    }
    return 0;
}

static int
resolve_paths(struct job *j, struct sk_err *err)
{
    char tmp[8200];
    struct stat st;

    if (!realpath(j->opts->bundle ? j->opts->bundle : ".", j->bundle))
        return sk_err_sys(err, errno, "bundle '%s'", j->opts->bundle ? j->opts->bundle : ".");
    if (j->spec->root_path[0] == '/')
        sk_strlcpy(tmp, j->spec->root_path, sizeof(tmp));
    else
        snprintf(tmp, sizeof(tmp), "%s/%s", j->bundle, j->spec->root_path);
    if (!realpath(tmp, j->rootfs))
        return sk_err_sys(err, errno, "rootfs '%s'", tmp);
    if (stat(j->rootfs, &st) < 0 || !S_ISDIR(st.st_mode))
        return sk_err_set(err, ENOTDIR, "rootfs '%s': not a directory", j->rootfs);
    if (strcmp(j->rootfs, "/") == 0)
        return sk_err_set(err, EINVAL, "rootfs '%s': must not be the host's root", tmp);
    return 0;
}

static int
fork_monitor(struct job *j, pid_t *pid, struct sk_err *err)
{
    int rep[2], status;
    pid_t mid;

    if (pipe2(rep, O_CLOEXEC) < 0)
        return sk_err_sys(err, errno, "pipe");
    mid = fork();
    if (mid < 0) {
        close(rep[0]);
        close(rep[1]);
        return sk_err_sys(err, errno, "fork");
    }
    if (mid == 0) {
        close(rep[0]);
        j->report_fd = rep[1];
        setsid();
        /* Double fork, so the monitor is not our child and outlives us;
         * but a foreground run's caller (exit_fd) waits for the
         * container and exits after it anyway: one fork less there. */
        if (j->opts->exit_fd < 0 && fork() != 0)
            _exit(0);
        monitor_main(j);
    }
    close(rep[1]);
    if (j->opts->exit_fd < 0)
        waitpid(mid, &status, 0);
    status = read_report(rep[0], pid, err);
    close(rep[0]);
    return status;
}

static int
check_console(const struct rt_spec *spec, const struct rt_create_opts *opts, struct sk_err *err)
{
    if (!spec->process.terminal)
        return 0;
    if (opts->console_fd < 0)
        return sk_err_set(err, EINVAL, "process.terminal: needs a console socket");
    if (opts->cri_log)
        return sk_err_set(err, EINVAL, "process.terminal: no CRI log of a terminal");
    return 0;
}

int
rt_container_create(const struct rt_ctx *ctx, const char *id, struct rt_spec *spec,
                    const struct rt_create_opts *opts, pid_t *pid, struct sk_err *err)
{
    struct job *j = sk_calloc(1, sizeof(*j));
    int rc;

    *j = (struct job){.ctx = ctx,
                      .id = id,
                      .spec = spec,
                      .opts = opts,
                      .report_fd = -1,
                      .fifo_fd = -1,
                      .sync_fd = -1,
                      .log_out = {-1, -1},
                      .log_err = {-1, -1},
                      .own_netns = {{-1, -1}, 0, 0},
                      .netns_fd = -1,
                      .mntns_fd = -1};
    for (size_t i = 0; i < spec->nnamespaces; i++)
        if (spec->namespaces[i].type == CLONE_NEWUSER)
            j->userns = 1;
    j->start = rt_container_starts_at_once(spec, opts);
    if (opts->netns_early) {
        j->netns = opts->netns_early;
        if (!rt_netns_prefetch_wanted(spec))
            rt_netns_prefetch_end(j->netns);
    } else {
        j->netns = &j->own_netns;
        rt_netns_prefetch_start(j->netns, spec);
    }
    if ((rc = rt_state_dir(ctx, id, j->dir, sizeof(j->dir), err)) < 0 ||
        (rc = check_console(spec, opts, err)) < 0 || (rc = resolve_paths(j, err)) < 0)
        goto out_free;
    if ((rc = prepare_dir(j, err)) < 0) {
        if (rc != -EEXIST)
            rt_rmtree(j->dir);
        goto out_free;
    }
    if ((rc = rt_seccomp_compile(spec->seccomp, ctx->root, &j->bpf, err)) < 0)
        goto out_rmdir;
    if (opts->cri_log && (pipe2(j->log_out, O_CLOEXEC) < 0 || pipe2(j->log_err, O_CLOEXEC) < 0)) {
        rc = sk_err_sys(err, errno, "pipe");
        goto out_rmdir;
    }
    rc = fork_monitor(j, pid, err);
out_rmdir:
    for (int i = 0; i < 2; i++) {
        if (j->log_out[i] >= 0)
            close(j->log_out[i]);
        if (j->log_err[i] >= 0)
            close(j->log_err[i]);
    }
    if (rc < 0)
        rt_rmtree(j->dir);
out_free:
    rt_netns_prefetch_end(j->netns);
    free(j->bpf.prog);
    free(j);
    if (rc < 0)
        sk_err_wrap(err, "create '%s'", id);
    return rc;
}

int
rt_container_starts_at_once(const struct rt_spec *spec, const struct rt_create_opts *opts)
{
    return opts->start && !spec->hooks.n[RT_HOOK_START_CONTAINER] &&
           !spec->hooks.n[RT_HOOK_POSTSTART];
}

/* ---- state and the verbs on an existing container --------------------- */

static int
pid_matches(pid_t pid, unsigned long long start)
{
    return pid > 0 && start && rt_proc_start_time(pid) == start;
}

/* Paused is the v2 cgroup's freezer state, never stored. */
static enum rt_status
running_or_paused(const struct rt_state *st)
{
    struct rt_cgroup cg;
    int frozen;

    rt_cgroup_from_json(&cg, st->cgroup_paths);
    frozen = rt_cgroup_frozen(&cg);
    rt_cgroup_release(&cg);
    return frozen ? RT_PAUSED : RT_RUNNING;
}

int
rt_container_state(const struct rt_ctx *ctx, const char *id, struct rt_state *st,
                   struct sk_err *err)
{
    char dir[4096], fifo[4200];
    struct stat sb;
    int rc;

    memset(st, 0, sizeof(*st));
    if ((rc = rt_state_dir(ctx, id, dir, sizeof(dir), err)) < 0)
        return rc;
    rc = rt_state_read(dir, st, err);
    if (rc == -ENOENT) {
        if (stat(dir, &sb) < 0)
            return sk_err_set(err, ENOENT, "container '%s' does not exist", id);
        sk_strlcpy(st->id, id, sizeof(st->id));
        st->status = RT_CREATING;
        return 0;
    }
    if (rc < 0)
        return rc;
    snprintf(fifo, sizeof(fifo), "%s/exec.fifo", dir);
    if (rt_exit_read(dir, &st->exit) == 0)
        st->status = RT_STOPPED;
    else if (pid_matches(st->pid, st->pid_start))
        st->status = access(fifo, F_OK) == 0 ? RT_CREATED : running_or_paused(st);
    else
        st->status = RT_STOPPED;
    return 0;
}

/* The init's verdict on exec.fifo: "0", or "H" (startContainer hooks
 * run) then "0" or "E<message>" and the end of file. */
static int
read_verdict(int fd, const char *id, struct sk_err *err)
{
    char buf[SK_ERR_MSG_MAX + 8];
    struct pollfd p = {fd, POLLIN, 0};
    size_t len = 0;
    ssize_t n;

    /* The init is blocked in open(O_WRONLY): it wakes up and writes as
     * soon as we are here. Bounded in case it died meanwhile. */
    if (poll(&p, 1, 10000) <= 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
        return sk_err_set(err, EIO, "start '%s': the container did not answer", id);
    len = (size_t)n;
    if (buf[0] == 'H') {
        /* Hooks have their own timeouts; the end of file comes with the
         * init's exec or death. */
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) != 0)
            if (n > 0)
                len += (size_t)n;
            else if (errno != EINTR)
                break;
    }
    buf[len] = '\0';
    if (len > 1 && buf[0] == 'H')
        memmove(buf, buf + 1, len--);
    if (buf[0] == '0')
        return 0;
    if (buf[0] == 'E')
        return sk_err_set(err, EIO, "start '%s': %s", id, buf + 1);
    return sk_err_set(err, EIO, "start '%s': the container died while starting", id);
}

/* Run the hooks of kind from the stored config.json, for a container
 * whose state says it has some. */
static void
late_hooks(struct rt_state *st, enum rt_hook_kind kind, enum rt_status status,
           const struct rt_spec *spec)
{
    struct sk_err err;
    char *json;

    sk_err_init(&err);
    st->status = status;
    json = rt_state_to_json(st);
    rt_hooks_run(&spec->hooks, kind, json, &err);
    free(json);
}

static int
load_stored_spec(const char *dir, struct rt_spec *spec, struct sk_err *err)
{
    char path[4200];

    snprintf(path, sizeof(path), "%s/config.json", dir);
    return rt_spec_load_config(path, spec, err);
}

int
rt_container_start(const struct rt_ctx *ctx, const char *id, struct sk_err *err)
{
    struct rt_spec spec;
    struct rt_state st;
    char dir[4096], fifo[4200];
    int fd, rc;

    if ((rc = rt_container_state(ctx, id, &st, err)) < 0)
        return rc;
    if (st.status != RT_CREATED) {
        rc = sk_err_set(err, EINVAL, "container '%s' is %s, not created", id,
                        rt_status_name(st.status));
        goto out;
    }
    rt_state_dir(ctx, id, dir, sizeof(dir), err);
    snprintf(fifo, sizeof(fifo), "%s/exec.fifo", dir);
    fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        rc = sk_err_sys(err, errno, "start '%s': open '%s'", id, fifo);
        goto out;
    }
    rc = read_verdict(fd, id, err);
    close(fd);
    if (rc < 0)
        goto out;
    unlink(fifo);
    if (st.hooks && load_stored_spec(dir, &spec, NULL) == 0) {
        late_hooks(&st, RT_HOOK_POSTSTART, RT_RUNNING, &spec);
        rt_spec_release(&spec);
    }
out:
    rt_state_release(&st);
    return rc;
}

int
rt_container_kill(const struct rt_ctx *ctx, const char *id, int sig, struct sk_err *err)
{
    struct rt_state st;
    int pfd, rc;

    if ((rc = rt_container_state(ctx, id, &st, err)) < 0)
        return rc;
    rt_state_release(&st);
    if (st.status != RT_RUNNING && st.status != RT_CREATED && st.status != RT_PAUSED)
        return sk_err_set(err, ESRCH, "container '%s' is not running", id);
    /* pidfd then re-check the start time: the signal cannot hit a
     * process that reused the pid. */
    pfd = (int)syscall(SYS_pidfd_open, st.pid, 0);
    if (pfd < 0)
        return sk_err_sys(err, errno, "kill '%s': pidfd_open %d", id, (int)st.pid);
    if (!pid_matches(st.pid, st.pid_start))
        rc = sk_err_set(err, ESRCH, "container '%s' is not running", id);
    else if (syscall(SYS_pidfd_send_signal, pfd, sig, NULL, 0) < 0)
        rc = sk_err_sys(err, errno, "kill '%s' (pid %d)", id, (int)st.pid);
    close(pfd);
    return rc;
}

/* Wait (bounded) until pid is gone; the monitor reaps it. */
static int
wait_gone(pid_t pid, unsigned long long start, int ms)
{
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    struct pollfd p;
    int rc;

    if (pfd < 0)
        return errno == ESRCH ? 0 : -errno;
    if (!pid_matches(pid, start)) {
        close(pfd);
        return 0;
    }
    p = (struct pollfd){pfd, POLLIN, 0};
    rc = poll(&p, 1, ms);
    close(pfd);
    return rc > 0 ? 0 : -ETIMEDOUT;
}

static void
wait_exit_file(const char *dir, pid_t monitor, int ms)
{
    struct rt_exit ex;

    for (int i = 0; i < ms; i++) {
        struct timespec ts = {0, 1000000};

        if (rt_exit_read(dir, &ex) == 0 || (monitor > 0 && kill(monitor, 0) < 0))
            return;
        nanosleep(&ts, NULL);
    }
}

int
rt_container_delete(const struct rt_ctx *ctx, const char *id, int force, struct sk_err *err)
{
    struct rt_cgroup cg;
    struct rt_state st;
    struct rt_spec spec;
    char dir[4096];
    int rc, have_spec = 0;

    if ((rc = rt_container_state(ctx, id, &st, err)) < 0)
        return rc;
    rt_state_dir(ctx, id, dir, sizeof(dir), err);
    rt_cgroup_from_json(&cg, st.cgroup_paths);
    if ((st.status == RT_RUNNING || st.status == RT_PAUSED) && !force) {
        rc = sk_err_set(err, EBUSY, "container '%s' is %s (stop it or use --force)", id,
                        rt_status_name(st.status));
        goto out;
    }
    if (st.status == RT_RUNNING || st.status == RT_CREATED || st.status == RT_PAUSED) {
        rt_cgroup_kill(&cg);
        /* SIGKILL ends frozen tasks too; thawing lets a v1-only
         * fallback's kill be acted on at once. */
        if (st.status == RT_PAUSED)
            rt_cgroup_freeze(&cg, 0, NULL);
        if (pid_matches(st.pid, st.pid_start))
            kill(st.pid, SIGKILL);
        if (wait_gone(st.pid, st.pid_start, 5000) < 0) {
            rc = sk_err_set(err, ETIMEDOUT, "delete '%s': pid %d did not exit", id, (int)st.pid);
            goto out;
        }
        wait_exit_file(dir, st.monitor_pid, 2000);
    }
    if (rt_cgroup_destroy(&cg, err) < 0) {
        rc = sk_err_wrap(err, "delete '%s'", id);
        goto out;
    }
    if (st.hooks && load_stored_spec(dir, &spec, NULL) == 0)
        have_spec = 1;
    if ((rc = rt_rmtree(dir)) < 0)
        sk_err_sys(err, -rc, "delete '%s': remove '%s'", id, dir);
    if (have_spec) {
        late_hooks(&st, RT_HOOK_POSTSTOP, RT_STOPPED, &spec);
        rt_spec_release(&spec);
    }
out:
    rt_cgroup_release(&cg);
    rt_state_release(&st);
    return rc;
}

int
rt_container_wait(const struct rt_ctx *ctx, const char *id, struct rt_exit *ex, struct sk_err *err)
{
    struct rt_state st;
    char dir[4096];
    int rc;

    if ((rc = rt_container_state(ctx, id, &st, err)) < 0)
        return rc;
    rt_state_release(&st);
    rt_state_dir(ctx, id, dir, sizeof(dir), err);
    if (st.status == RT_RUNNING || st.status == RT_CREATED || st.status == RT_PAUSED)
        wait_gone(st.pid, st.pid_start, -1);
    wait_exit_file(dir, st.monitor_pid, 5000);
    if (rt_exit_read(dir, ex) < 0)
        return sk_err_set(err, EIO, "container '%s': exit status unknown (monitor gone)", id);
    return 0;
}

int
rt_container_list(const struct rt_ctx *ctx, char ***ids, size_t *n, struct sk_err *err)
{
    DIR *d = opendir(ctx->root);
    struct dirent *e;

    *ids = NULL;
    *n = 0;
    if (!d)
        return errno == ENOENT ? 0 : sk_err_sys(err, errno, "open '%s'", ctx->root);
    while ((e = readdir(d))) {
        if (e->d_type != DT_DIR || !rt_id_valid(e->d_name))
            continue;
        *ids = sk_reallocarray(*ids, *n + 1, sizeof(char *));
        (*ids)[(*n)++] = sk_strdup(e->d_name);
    }
    closedir(d);
    return 0;
}

int
rt_container_stats(const struct rt_ctx *ctx, const char *id, struct rt_stats *stats,
                   struct sk_err *err)
{
    struct rt_cgroup cg;
    struct rt_state st;
    int rc;

    if ((rc = rt_container_state(ctx, id, &st, err)) < 0)
        return rc;
    rt_cgroup_from_json(&cg, st.cgroup_paths);
    rc = rt_cgroup_stats(&cg, stats);
    rt_cgroup_release(&cg);
    rt_state_release(&st);
    return rc;
}
