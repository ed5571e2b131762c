/* The per-container monitor.
 *
 * A double-forked process in its own session: it is the parent of the
 * container's init and a child subreaper, waits for the init to exit,
 * and writes the exit status (code or signal, OOMKilled from the memory
 * cgroup) to <state>/exit.json. With a CRI log it also reads the
 * container's stdout/stderr pipes and writes the log lines itself (see
 * log.c); otherwise the container writes straight to the fds it was
 * given and the monitor only waits.
 *
 * It must stay tiny (under 256 KiB private memory, measured in
 * bench/runtime): the code path is plain syscalls and fixed stack
 * buffers. The CLI re-executes the monitor from the on-disk binary
 * (verb "_monitor", rt_ctx.monitor_exe) once the container is created
 * (not for a foreground `run`, whose caller stays alive anyway),
 * so it keeps neither the creator's heap nor the read-only view (or
 * the fallback's memfd copy, ~450 KiB of RAM) of the binary; a library
 * caller without monitor_exe gets a fork whose heap is freed and
 * trimmed (container.c). */
#include "runtime/rt_int.h"

#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 4096

struct stream {
    int fd;
    const char *name;
    char buf[CHUNK];
    size_t len;
};

struct crilog {
    int fd;
    const char *path;
    long long size, max;
};

static void
log_open(struct crilog *l)
{
    l->fd = open(l->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    l->size = l->fd >= 0 ? lseek(l->fd, 0, SEEK_END) : 0;
}

static void
log_emit(struct crilog *l, const char *stream, int partial, const char *line, size_t len)
{
    char out[CHUNK + 96];
    struct timespec ts;
    size_t n;

    clock_gettime(CLOCK_REALTIME, &ts);
    n = rt_cri_format(out, sizeof(out), &ts, stream, partial, line, len);
    if (l->fd < 0 || n == 0)
        return;
    if (l->max > 0 && l->size + (long long)n > l->max && l->size > 0) {
        char old[4200];

        snprintf(old, sizeof(old), "%s.1", l->path);
        close(l->fd);
        rename(l->path, old);
        log_open(l);
        if (l->fd < 0)
            return;
    }
    if (rt_write_all(l->fd, out, n) == 0)
        l->size += (long long)n;
}

/* Emit the complete lines in s->buf; a full buffer without a newline
 * becomes a partial (P) chunk. At eof the rest is flushed as F. */
static void
stream_flush(struct stream *s, struct crilog *l, int eof)
{
    size_t start = 0;

    for (size_t i = 0; i < s->len; i++) {
        if (s->buf[i] != '\n')
            continue;
        log_emit(l, s->name, 0, s->buf + start, i - start);
        start = i + 1;
    }
    memmove(s->buf, s->buf + start, s->len - start);
    s->len -= start;
    if (s->len == sizeof(s->buf) || (eof && s->len)) {
        log_emit(l, s->name, !eof, s->buf, s->len);
        s->len = 0;
    }
}

static void
copy_logs(const struct rt_monitor_args *a)
{
    static struct stream st[2];
    struct crilog l = {-1, a->cri_log, 0, a->cri_log_max};
    int open_streams = 2;

    st[0].fd = a->out_fd;
    st[0].name = "stdout";
    st[1].fd = a->err_fd;
    st[1].name = "stderr";
    log_open(&l);
    while (open_streams > 0) {
        struct pollfd p[2] = {{st[0].fd, POLLIN, 0}, {st[1].fd, POLLIN, 0}};

        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int i = 0; i < 2; i++) {
            ssize_t n;

            if (st[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            n = read(st[i].fd, st[i].buf + st[i].len, sizeof(st[i].buf) - st[i].len);
            if (n > 0) {
                st[i].len += (size_t)n;
                stream_flush(&st[i], &l, 0);
            } else if (n == 0 || errno != EINTR) {
                stream_flush(&st[i], &l, 1);
                close(st[i].fd);
                st[i].fd = -1;
                open_streams--;
            }
        }
    }
    if (l.fd >= 0)
        close(l.fd);
}

/* Only SIGKILL may end the monitor: a stray TERM (pkill, a shutdown
 * script) must not lose the container's exit status. */
static void
ignore_signals(void)
{
    static const int sigs[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGPIPE, SIGUSR1, SIGUSR2};

    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        signal(sigs[i], SIG_IGN);
}

static int
oom_killed(const struct rt_monitor_args *a)
{
    struct rt_cgroup cg;
    struct rt_state st;
    int oom;

    if (a->cg)
        return rt_cgroup_oom_killed(a->cg);
    /* exec'd monitor: the cgroups are in state.json */
    memset(&st, 0, sizeof(st));
    if (rt_state_read(a->dir, &st, NULL) < 0)
        return 0;
    rt_cgroup_from_json(&cg, st.cgroup_paths);
    oom = rt_cgroup_oom_killed(&cg);
    rt_cgroup_release(&cg);
    rt_state_release(&st);
    return oom;
}

/* What `delete --force` would do, for a foreground run whose caller
 * only waits for the status: it saves the caller reading the state
 * back. Leftovers of a pid namespace not the container's own are
 * killed; once SIGCHLD is ignored they need no reaping. */
static int
remove_container(const struct rt_monitor_args *a)
{
    struct sk_err err;

    sk_err_init(&err);
    signal(SIGCHLD, SIG_IGN);
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    if (rt_cgroup_destroy(a->cg, &err) < 0) {
        sk_warn("runtime", "remove: %s", err.msg);
        return 0;
    }
    return rt_rmtree(a->dir) == 0;
}

_Noreturn void
rt_monitor_run(const struct rt_monitor_args *a)
{
    struct rt_exit ex = {0};
    struct timespec ts;
    int status = 0, removed = 0;
    pid_t pid;

    prctl(PR_SET_CHILD_SUBREAPER, 1);
    ignore_signals();
    if (a->out_fd >= 0)
        copy_logs(a);
    /* Reap everything (we are a subreaper) until the init is gone. */
    while ((pid = waitpid(-1, &status, 0)) != a->child)
        if (pid < 0 && errno != EINTR)
            break;
    ex.exited = 1;
    if (WIFSIGNALED(status)) {
        ex.signal = WTERMSIG(status);
        ex.code = 128 + ex.signal;
    } else {
        ex.code = WEXITSTATUS(status);
    }
    ex.oom_killed = oom_killed(a);
    clock_gettime(CLOCK_REALTIME, &ts);
    rt_time_rfc3339(ex.finished, sizeof(ex.finished), &ts);
    if (a->remove && a->cg)
        removed = remove_container(a);
    if (!removed)
        rt_exit_write(a->dir, &ex);
    if (a->exit_fd >= 0) {
        char line[64];
        int n = snprintf(line, sizeof(line), "%d %d %d %d\n", ex.code, ex.signal, ex.oom_killed,
                         removed);

        rt_write_all(a->exit_fd, line, (size_t)n);
    }
    _exit(0);
}

int
rt_monitor_exec_main(int argc, char **argv)
{
    struct rt_monitor_args a = {0};

    if (argc != 8)
        return 1;
    /* Nothing in a container may open our exe through /proc. */
    prctl(PR_SET_DUMPABLE, 0);
    a.dir = argv[1];
    a.child = (pid_t)atoi(argv[2]);
    a.out_fd = atoi(argv[3]);
    a.err_fd = atoi(argv[4]);
    a.exit_fd = atoi(argv[5]);
    a.mntns_fd = -1;
    a.remove = 0;
    a.cri_log_max = atoll(argv[6]);
    a.cri_log = strcmp(argv[7], "-") ? argv[7] : NULL;
    for (int fd = 0; fd < 3; fd++)
        fcntl(fd, F_SETFD, 0);
    if (a.child <= 0)
        return 1;
    rt_monitor_run(&a);
}
