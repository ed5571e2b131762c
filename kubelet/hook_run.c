/* kubelet/hook_run.c: running postStart and preStop hooks without
 * blocking the agent's loop.
 *
 * A hook runs in a child of the agent (its own process group, every
 * inherited descriptor but its message pipe closed, so a hook that
 * hangs holds neither the API connection nor the endpoint's port). The
 * child runs the handler with the executors of probe_exec.c, bounded by
 * the hook's deadline, writes at most 1 KiB of message into the pipe
 * (less than a pipe's buffer: the child never blocks on it) and exits 0
 * for success. The agent watches a pidfd of the child on its loop, so
 * a preStop that ends lets the SIGTERM go at once, and a timer for the
 * nearest deadline; it looks at the child (waitid WNOWAIT: a look, not
 * a reap) on every sync. Without pidfds (Linux < 5.3) the timer ticks
 * every 50 ms instead.
 *
 * An exec hook's process runs inside the container's pid namespace, so
 * the container's SIGKILL at the end of the grace period ends it too:
 * the grace period bounds the hook as in Kubernetes. */
#include "kubelet/agent_int.h"

#include "lib/clock.h"
#include "lib/log.h"
#include "lib/loop.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HOOK_TICK_MS  50
#define HOOK_SLACK_MS 2000 /* after the deadline, the child is killed */
#define HOOK_MSG_MAX  1024

static const json_t *
ctr_json(const struct kl_apod *p, const struct kl_actr *c)
{
    const json_t *arr =
        json_object_get(json_object_get(p->obj, "spec"), c->init ? "initContainers" : "containers");
    return json_array_get(arr, c->index);
}

static enum kl_probe_result
hook_exec(struct kl_agent *a, struct kl_actr *c, const struct kl_hook *h, int64_t timeout_ms,
          struct sk_buf *msg)
{
    char *env[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
    struct rt_process base;

    memset(&base, 0, sizeof(base));
    base.env = env;
    base.nenv = 1;
    base.cwd = "/";
    base.umask = RT_UNSET;
    base.oom_score = RT_UNSET;
    return kl_probe_exec(&a->rt, c->id, &base, h->exec_command, timeout_ms, msg);
}

static enum kl_probe_result
hook_http(struct kl_apod *p, const struct kl_hook *h, int64_t timeout_ms, struct sk_buf *msg)
{
    const char *host = h->http_host && *h->http_host ? h->http_host : p->ip;
    enum kl_probe_result r;
    char nspath[64];
    struct sk_err err;
    int fd;

    sk_snprintf(nspath, sizeof(nspath), "/proc/%d/ns/net", (int)p->sandbox_pid);
    sk_err_init(&err);
    if ((fd = net_netns_open(nspath, &err)) < 0) {
        sk_buf_puts(msg, err.msg);
        return KL_PROBE_FAILURE;
    }
    r = kl_probe_http(fd, host, h->port, h->http_path && *h->http_path ? h->http_path : "/",
                      h->http_headers, timeout_ms, msg);
    close(fd);
    return r;
}

static void
hook_sleep(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

    while (ms > 0 && nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* In the child: never returns. */
static void
hook_child(struct kl_agent *a, struct kl_apod *p, struct kl_actr *c, const struct kl_hook *h,
           int64_t timeout_ms, int out)
{
    struct sk_buf msg = SK_BUF_INIT;
    enum kl_probe_result r = KL_PROBE_SUCCESS;

    setpgid(0, 0);
    if (out != 3) {
        dup2(out, 3);
        out = 3;
    }
    close_range(4, ~0U, 0);
    if (h->handler == KL_HOOK_EXEC) {
        r = hook_exec(a, c, h, timeout_ms, &msg);
    } else if (h->handler == KL_HOOK_HTTP) {
        r = hook_http(p, h, timeout_ms, &msg);
    } else if (h->handler == KL_HOOK_SLEEP) {
        hook_sleep(h->sleep_s * 1000 < timeout_ms ? h->sleep_s * 1000 : timeout_ms);
    }
    if (msg.len && write(out, msg.data, msg.len > HOOK_MSG_MAX ? HOOK_MSG_MAX : msg.len) < 0)
        _exit(2);
    _exit(r == KL_PROBE_SUCCESS ? 0 : 1);
}

static void hook_tick(struct sk_loop *loop, void *arg);

/* The timer for the nearest deadline of a running hook (every
 * HOOK_TICK_MS for one whose exit no pidfd reports); none when no hook
 * runs before its deadline. */
static void
arm_tick(struct kl_agent *a)
{
    int64_t now = sk_clock_mono_ms(), next = -1;

    for (size_t i = 0; i < a->npods; i++)
        for (size_t j = 0; j < a->pods[i]->nctrs; j++) {
            const struct kl_actr *c = &a->pods[i]->ctrs[j];
            int64_t at;

            if (c->hook_pid <= 0 || now >= c->hook_deadline_ms)
                continue;
            at = c->hook_pidfd >= 0 ? c->hook_deadline_ms : now + HOOK_TICK_MS;
            if (at > c->hook_deadline_ms)
                at = c->hook_deadline_ms;
            if (next < 0 || at < next)
                next = at;
        }
    if (a->hook_timer)
        sk_loop_timer_cancel(a->loop, a->hook_timer);
    a->hook_timer = 0;
    if (next >= 0)
        a->hook_timer =
            sk_loop_timer_add(a->loop, (uint64_t)(next > now ? next - now : 1), hook_tick, a);
}

static void
unwatch(struct kl_actr *c)
{
    if (c->hook_pidfd < 0)
        return;
    sk_loop_fd_del(c->hook_loop, c->hook_pidfd);
    close(c->hook_pidfd);
    c->hook_pidfd = -1;
}

/* A hook's pidfd became readable: it exited. Its pod syncs now, which
 * reaps and reports it (kl_hook_done). */
static void
on_hook_exit(struct sk_loop *loop, int fd, unsigned events, void *arg)
{
    struct kl_agent *a = arg;

    (void)events;
    for (size_t i = 0; i < a->npods; i++) {
        struct kl_apod *p = a->pods[i];

        for (size_t j = 0; j < p->nctrs; j++) {
            struct kl_actr *c = &p->ctrs[j];

            if (c->hook_pid <= 0 || c->hook_pidfd != fd)
                continue;
            unwatch(c);
            if (!p->done)
                kl_pod_sync(a, p);
            return;
        }
    }
    /* no hook owns it (cannot happen): a readable pidfd must not spin */
    sk_loop_fd_del(loop, fd);
    close(fd);
}

/* Watch the child's exit through a pidfd; -1 (the timer ticks) when
 * the kernel has none or the loop refuses it. */
static int
watch(struct kl_agent *a, pid_t pid)
{
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    struct sk_err err;

    if (fd < 0)
        return -1;
    sk_err_init(&err);
    if (sk_loop_fd_add(a->loop, fd, SK_EV_READ, on_hook_exit, a, &err) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int
kl_hook_start(struct kl_agent *a, struct kl_apod *p, struct kl_actr *c, enum kl_hook_kind kind,
              int64_t deadline_ms)
{
    int64_t timeout = deadline_ms - sk_clock_mono_ms();
    struct kl_hook h;
    struct sk_err err;
    char path[64];
    int pfd[2];
    pid_t pid;

    if (c->init || !c->id[0] || c->hook_pid > 0)
        return 0;
    sk_snprintf(path, sizeof(path), "spec.containers[%zu]", c->index);
    sk_err_init(&err);
    if (kl_hook_parse(ctr_json(p, c), path, kind, &h, &err) < 0) {
        kl_pod_event(a, p, API_EVENT_WARNING,
                     kind == KL_HOOK_PRE_STOP ? "FailedPreStopHook" : "FailedPostStartHook",
                     "%s hook for container %s: %s", kl_hook_name(kind), c->name, err.msg);
        return -EINVAL;
    }
    if (h.handler == KL_HOOK_NONE)
        return 0;
    if (timeout < 1)
        timeout = 1;
    if (pipe2(pfd, O_CLOEXEC | O_NONBLOCK) < 0)
        return sk_err_sys(&err, errno, "pipe");
    pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        hook_child(a, p, c, &h, timeout, pfd[1]);
    }
    close(pfd[1]);
    if (pid < 0) {
        close(pfd[0]);
        kl_pod_event(a, p, API_EVENT_WARNING,
                     kind == KL_HOOK_PRE_STOP ? "FailedPreStopHook" : "FailedPostStartHook",
                     "%s hook for container %s: fork: %s", kl_hook_name(kind), c->name,
                     strerror(errno));
        return -errno;
    }
    setpgid(pid, pid);
    c->hook_pid = pid;
    c->hook_fd = pfd[0];
    c->hook_loop = a->loop;
    c->hook_pidfd = watch(a, pid);
    c->hook_kind = kind;
    c->hook_deadline_ms = deadline_ms;
    sk_debug("kubelet", "pod '%s/%s' container '%s': %s hook started", p->ns, p->name, c->name,
             kl_hook_name(kind));
    arm_tick(a);
    return 1;
}

/* Reap the child (killing it first when kill), its message into msg. */
static int
hook_reap(struct kl_actr *c, bool kill_it, char *msg, size_t msgsz)
{
    ssize_t n;
    int status = 0;

    unwatch(c);
    if (kill_it)
        kill(-c->hook_pid, SIGKILL);
    while (waitpid(c->hook_pid, &status, 0) < 0 && errno == EINTR)
        ;
    n = read(c->hook_fd, msg, msgsz - 1);
    msg[n > 0 ? n : 0] = '\0';
    close(c->hook_fd);
    c->hook_fd = -1;
    c->hook_pid = 0;
    return status;
}

void
kl_hook_abandon(struct kl_actr *c)
{
    char msg[8];

    if (c->hook_pid > 0)
        hook_reap(c, true, msg, sizeof(msg));
}

static void
hook_report(struct kl_agent *a, struct kl_apod *p, struct kl_actr *c, enum kl_hook_kind kind,
            const char *msg)
{
    sk_warn("kubelet", "pod '%s/%s' container '%s': %s hook failed: %s", p->ns, p->name, c->name,
            kl_hook_name(kind), msg);
    kl_pod_event(a, p, API_EVENT_WARNING,
                 kind == KL_HOOK_PRE_STOP ? "FailedPreStopHook" : "FailedPostStartHook",
                 "%s hook for container %s failed: %s", kl_hook_name(kind), c->name,
                 *msg ? msg : "exited with a failure");
    if (kind != KL_HOOK_POST_START)
        return;
    /* Kubernetes kills a container whose postStart hook failed; the
     * restart policy decides what comes next */
    c->poststart_failed = true;
    kl_ctr_signal(a, c, SIGKILL);
}

bool
kl_hook_done(struct kl_agent *a, struct kl_apod *p, struct kl_actr *c)
{
    siginfo_t si;
    char msg[HOOK_MSG_MAX + 64];
    bool late;
    int status;

    if (c->hook_pid <= 0)
        return true;
    memset(&si, 0, sizeof(si));
    late = sk_clock_mono_ms() >= c->hook_deadline_ms + HOOK_SLACK_MS;
    if (waitid(P_PID, (id_t)c->hook_pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == 0 &&
        !late)
        return false;
    status = hook_reap(c, late && si.si_pid == 0, msg, sizeof(msg));
    if (late && si.si_pid == 0)
        sk_snprintf(msg, sizeof(msg), "did not end within its deadline");
    else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return true;
    hook_report(a, p, c, c->hook_kind, msg);
    return true;
}

/* At a deadline (or every HOOK_TICK_MS without pidfds): sync the pods
 * whose hook ended or is overdue. */
static void
hook_tick(struct sk_loop *loop, void *arg)
{
    struct kl_agent *a = arg;

    a->hook_timer = 0;
    for (size_t i = 0; i < a->npods; i++) {
        struct kl_apod *p = a->pods[i];
        bool ended = false;

        for (size_t j = 0; j < p->nctrs; j++) {
            struct kl_actr *c = &p->ctrs[j];
            siginfo_t si;

            if (c->hook_pid <= 0)
                continue;
            memset(&si, 0, sizeof(si));
            if (waitid(P_PID, (id_t)c->hook_pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 ||
                si.si_pid != 0 || sk_clock_mono_ms() >= c->hook_deadline_ms)
                ended = true;
        }
        if (ended && !p->done)
            kl_pod_sync(a, p);
    }
    arm_tick(a);
}

void
kl_hooks_stop(struct kl_agent *a)
{
    if (a->hook_timer)
        sk_loop_timer_cancel(a->loop, a->hook_timer);
    a->hook_timer = 0;
}
