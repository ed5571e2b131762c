/* OCI hooks (runtime spec, config.md "POSIX-platform Hooks").
 *
 * A hook is a program run with the container's state JSON on its stdin
 * (status creating, created, running or stopped as the moment has it),
 * argv = args (args[0] included, as execv), env = exactly env. Where:
 *
 *   prestart, createRuntime  the monitor, host namespaces, after the
 *                            container's namespaces and mounts exist and
 *                            before pivot_root (container.c)
 *   createContainer          the container's init, in its namespaces,
 *                            before pivot_root
 *   startContainer           the container's init, after `start`, before
 *                            the execve of the process, in its root
 *   poststart                `start`, host namespaces, after the process
 *                            was let go; a failure is only a warning
 *   poststop                 `delete`, host namespaces, after the
 *                            container's cgroups are gone; a failure is
 *                            only a warning
 *
 * A failing or timed-out hook of the first four kinds fails create or
 * start, which then tear the container down. The hook's stdout and
 * stderr are collected (the first 1 KiB) into the error message. Waits
 * are bounded polls, without pidfds or signals, so the same code runs
 * in the container's init under its seccomp profile. */
#include "runtime/rt_int.h"

#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

const char *
rt_hook_kind_name(enum rt_hook_kind kind)
{
    static const char *const names[RT_HOOK_NKINDS] = {
        "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"};

    return kind < RT_HOOK_NKINDS ? names[kind] : "unknown";
}

static void
strv_release(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void
rt_hooks_release(struct rt_hooks *hooks)
{
    for (int k = 0; k < RT_HOOK_NKINDS; k++) {
        for (size_t i = 0; i < hooks->n[k]; i++) {
            free(hooks->list[k][i].path);
            strv_release(hooks->list[k][i].args, hooks->list[k][i].nargs);
            strv_release(hooks->list[k][i].env, hooks->list[k][i].nenv);
        }
        free(hooks->list[k]);
    }
    memset(hooks, 0, sizeof(*hooks));
}

static _Noreturn void
hook_child(const struct rt_hook *h, int in, int out)
{
    char *argv0[] = {h->path, NULL}, *noenv[] = {NULL};
    char **argv = h->nargs ? rt_strv_nul(h->args, h->nargs) : argv0;
    char **envp = h->nenv ? rt_strv_nul(h->env, h->nenv) : noenv;

    rt_signals_reset();
    if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
        _exit(126);
    syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
    execve(h->path, argv, envp);
    dprintf(2, "exec: %s", strerror(errno));
    _exit(127);
}

static long long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Append what is readable on out (without blocking) to msg; 0 at its
 * end of file. */
static int
collect_output(int out, char *msg, size_t msgsz, size_t *len)
{
    struct pollfd p = {out, POLLIN, 0};
    char buf[512];
    ssize_t n;

    if (poll(&p, 1, 0) <= 0)
        return 1;
    n = read(out, buf, sizeof(buf));
    for (ssize_t i = 0; i < n && *len < msgsz - 1; i++)
        msg[(*len)++] = buf[i] == '\n' ? ' ' : buf[i];
    return n > 0;
}

/* Collect the hook's output until it exits or the deadline passes
 * (then it is killed). Returns the wait status, or -ETIMEDOUT. */
static int
wait_hook(pid_t pid, int out, long long deadline, char *msg, size_t msgsz)
{
    size_t len = 0;
    int status, open_out = 1;

    for (;;) {
        struct pollfd p = {open_out ? out : -1, POLLIN, 0};

        if (waitpid(pid, &status, WNOHANG) == pid)
            break;
        if (deadline && now_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -ETIMEDOUT;
        }
        if (poll(&p, 1, 10) > 0 && open_out)
            open_out = collect_output(out, msg, msgsz, &len);
    }
    /* What it wrote just before it exited (bounded: a child of the hook
     * may keep the pipe open). */
    for (int i = 0; open_out && i < 64; i++)
        open_out = collect_output(out, msg, msgsz, &len);
    while (len > 0 && msg[len - 1] == ' ')
        len--;
    msg[len] = '\0';
    return status;
}

int
rt_hook_run(const struct rt_hook *h, const char *state_json, struct sk_err *err)
{
    int in[2] = {-1, -1}, out[2] = {-1, -1}, status, rc = 0;
    char msg[1024] = "";
    pid_t pid;

    /* A socket for stdin: MSG_NOSIGNAL, so a hook that does not read
     * its state costs no SIGPIPE. */
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0 || pipe2(out, O_CLOEXEC) < 0) {
        rc = sk_err_sys(err, errno, "hook '%s': pipe", h->path);
        goto out;
    }
    pid = fork();
    if (pid < 0) {
        rc = sk_err_sys(err, errno, "hook '%s': fork", h->path);
        goto out;
    }
    if (pid == 0)
        hook_child(h, in[1], out[1]);
    close(in[1]);
    close(out[1]);
    in[1] = out[1] = -1;
    send(in[0], state_json, strlen(state_json), MSG_NOSIGNAL);
    shutdown(in[0], SHUT_WR);
    status =
        wait_hook(pid, out[0], h->timeout ? now_ms() + h->timeout * 1000LL : 0, msg, sizeof(msg));
    if (status == -ETIMEDOUT)
        rc = sk_err_set(err, ETIMEDOUT, "hook '%s': timed out after %d s", h->path, h->timeout);
    else if (WIFSIGNALED(status))
        rc = sk_err_set(err, EIO, "hook '%s': killed by signal %d%s%s", h->path, WTERMSIG(status),
                        *msg ? ": " : "", msg);
    else if (WEXITSTATUS(status) != 0)
        rc = sk_err_set(err, EIO, "hook '%s': exit status %d%s%s", h->path, WEXITSTATUS(status),
                        *msg ? ": " : "", msg);
out:
    for (int i = 0; i < 2; i++) {
        if (in[i] >= 0)
            close(in[i]);
        if (out[i] >= 0)
            close(out[i]);
    }
    return rc;
}

int
rt_hooks_run(const struct rt_hooks *hooks, enum rt_hook_kind kind, const char *state_json,
             struct sk_err *err)
{
    for (size_t i = 0; i < hooks->n[kind]; i++) {
        if (rt_hook_run(&hooks->list[kind][i], state_json, err) < 0) {
            if (kind == RT_HOOK_POSTSTART || kind == RT_HOOK_POSTSTOP) {
                sk_warn("runtime", "%s hook: %s", rt_hook_kind_name(kind), err->msg);
                continue;
            }
            return sk_err_wrap(err, "%s hook", rt_hook_kind_name(kind));
        }
    }
    return 0;
}
