/* exec: run a new process inside a running container.
 *
 * The caller forks X, which joins the container's cgroups (while the
 * host's cgroupfs is still its view), then setns() into every namespace
 * of the container's init that differs from ours (user first, mount
 * last) and forks E, so E is inside the pid namespace too. E applies
 * the same security settings as the init (process.c) and execs. Errors
 * before execve come back over a close-on-exec pipe; the exit status of
 * E is passed through X to the caller. */
#include "runtime/rt_int.h"

#include "lib/alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static const struct {
    const char *name;
    int type;
} ns_order[] = {
    {"user", CLONE_NEWUSER}, {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS},
    {"net", CLONE_NEWNET},   {"pid", CLONE_NEWPID}, {"cgroup", CLONE_NEWCGROUP},
    {"mnt", CLONE_NEWNS},
};
#define NNS (sizeof(ns_order) / sizeof(ns_order[0]))

static int
open_namespaces(pid_t pid, int *fds, struct sk_err *err)
{
    for (size_t i = 0; i < NNS; i++) {
        char path[64], self[64];
        struct stat a, b;

        fds[i] = -1;
        snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, ns_order[i].name);
        snprintf(self, sizeof(self), "/proc/self/ns/%s", ns_order[i].name);
        if (stat(path, &a) < 0)
            return sk_err_sys(err, errno, "stat '%s'", path);
        if (stat(self, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
            continue;
        fds[i] = open(path, O_RDONLY | O_CLOEXEC);
        if (fds[i] < 0)
            return sk_err_sys(err, errno, "open '%s'", path);
    }
    return 0;
}

static _Noreturn void
exec_child(const struct rt_bpf *bpf, const struct rt_process *proc, int console, int errfd)
{
    struct sk_err err;
    char exe[4096];
    char **argv, **envp;

    sk_err_init(&err);
    rt_signals_reset();
    if ((proc->terminal && rt_console_setup(proc, console, &err) < 0) ||
        rt_process_prepare(bpf, proc, exe, sizeof(exe), &err) < 0) {
        rt_write_all(errfd, err.msg, strlen(err.msg));
        _exit(255);
    }
    argv = rt_strv_nul(proc->args, proc->nargs);
    envp = rt_strv_nul(proc->env, proc->nenv);
    syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
    execve(exe, argv, envp);
    sk_err_sys(&err, errno, "exec '%s'", exe);
    rt_write_all(errfd, err.msg, strlen(err.msg));
    _exit(127);
}

static _Noreturn void
exec_intermediate(const struct rt_bpf *bpf, const struct rt_process *proc,
                  const struct rt_cgroup *cg, const int *nsfds, int console, int errfd)
{
    struct sk_err err;
    int status;
    pid_t pid;

    sk_err_init(&err);
    if (rt_cgroup_enter(cg, getpid(), 1, &err) < 0)
        goto fail;
    for (size_t i = 0; i < NNS; i++) {
        if (nsfds[i] >= 0 && setns(nsfds[i], ns_order[i].type) < 0) {
            sk_err_sys(&err, errno, "setns %s", ns_order[i].name);
            goto fail;
        }
    }
    pid = fork();
    if (pid < 0) {
        sk_err_sys(&err, errno, "fork");
        goto fail;
    }
    if (pid == 0)
        exec_child(bpf, proc, console, errfd);
    close(errfd);
    if (console >= 0)
        close(console);
    /* Forward the usual termination signals to the process inside. */
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            _exit(255);
    if (WIFSIGNALED(status))
        _exit(128 + WTERMSIG(status));
    _exit(WEXITSTATUS(status));
fail:
    rt_write_all(errfd, err.msg, strlen(err.msg));
    _exit(255);
}

static int
load_spec(const char *dir, struct rt_spec *spec, struct sk_err *err)
{
    char path[4200];

    snprintf(path, sizeof(path), "%s/config.json", dir);
    if (access(path, F_OK) < 0) {
        rt_spec_init_default(spec);
        return 0;
    }
    return rt_spec_load_config(path, spec, err);
}

static int
collect(pid_t pid, int errfd, struct sk_err *err)
{
    char msg[SK_ERR_MSG_MAX];
    ssize_t n, len = 0;
    int status;

    while ((n = read(errfd, msg + len, sizeof(msg) - 1 - (size_t)len)) > 0)
        len += n;
    msg[len] = '\0';
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return sk_err_sys(err, errno, "waitpid");
    if (len > 0)
        return sk_err_set(err, EPERM, "%s", msg);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

/* exec --tty without a console socket: the caller's stdio is the
 * user's side of the pty, copied until X (and so E) exited. */
static void
proxy_console(pid_t x, int sock)
{
    struct sk_err err;
    int master, pfd;

    sk_err_init(&err);
    if (rt_console_recv(sock, &master, &err) < 0)
        return; /* E failed before: collect() reports why */
    pfd = (int)syscall(SYS_pidfd_open, x, 0);
    if (pfd >= 0) {
        rt_console_proxy(master, 0, 1, pfd, NULL, NULL);
        close(pfd);
    }
    close(master);
}

int
rt_container_exec(const struct rt_ctx *ctx, const char *id, const struct rt_process *proc,
                  struct sk_err *err)
{
    return rt_container_exec_console(ctx, id, proc, -1, err);
}

int
rt_container_exec_console(const struct rt_ctx *ctx, const char *id, const struct rt_process *proc,
                          int console_fd, struct sk_err *err)
{
    int nsfds[NNS], pfd[2] = {-1, -1}, sv[2] = {-1, -1}, rc;
    struct rt_bpf bpf = {NULL, 0};
    struct rt_spec spec;
    struct rt_cgroup cg;
    struct rt_state st;
    char dir[4096];
    pid_t pid;

    memset(&spec, 0, sizeof(spec));
    for (size_t i = 0; i < NNS; i++)
        nsfds[i] = -1;
    if ((rc = rt_container_state(ctx, id, &st, err)) < 0)
        return rc;
    if (st.status != RT_RUNNING) {
        rc = sk_err_set(err, ESRCH, "exec '%s': container is %s, not running", id,
                        rt_status_name(st.status));
        rt_state_release(&st);
        return rc;
    }
    rt_state_dir(ctx, id, dir, sizeof(dir), err);
    rt_cgroup_from_json(&cg, st.cgroup_paths);
    if ((rc = load_spec(dir, &spec, err)) < 0)
        goto out_cg;
    if ((rc = open_namespaces(st.pid, nsfds, err)) < 0 ||
        (rc = rt_seccomp_compile(spec.seccomp, ctx->root, &bpf, err)) < 0)
        goto out_spec;
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        rc = sk_err_sys(err, errno, "pipe");
        goto out_spec;
    }
    if (proc->terminal && console_fd < 0 &&
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        rc = sk_err_sys(err, errno, "socketpair");
        goto out_spec;
    }
    pid = fork();
    if (pid < 0) {
        rc = sk_err_sys(err, errno, "fork");
        goto out_spec;
    }
    if (pid == 0) {
        close(pfd[0]);
        exec_intermediate(&bpf, proc, &cg, nsfds, sv[1] >= 0 ? sv[1] : console_fd, pfd[1]);
    }
    close(pfd[1]);
    pfd[1] = -1;
    if (sv[1] >= 0) {
        close(sv[1]);
        sv[1] = -1;
        proxy_console(pid, sv[0]);
    }
    rc = collect(pid, pfd[0], err);
out_spec:
    for (size_t i = 0; i < NNS; i++)
        if (nsfds[i] >= 0)
            close(nsfds[i]);
    for (int i = 0; i < 2; i++) {
        if (pfd[i] >= 0)
            close(pfd[i]);
        if (sv[i] >= 0)
            close(sv[i]);
    }
    rt_spec_release(&spec);
    free(bpf.prog);
out_cg:
    rt_cgroup_release(&cg);
    rt_state_release(&st);
    if (rc < 0)
        sk_err_wrap(err, "exec '%s'", id);
    return rc;
}
