/* The container's new network namespace, created beside the rest of
 * create instead of inside the init's clone3.
 *
 * Creating a network namespace is the largest part of the kernel's
 * work for a new container: setup_net() runs every pernet init
 * (loopback registration, the ipv4/ipv6 sysctl tables, conntrack,
 * xfrm...), ~0.4 ms of CPU here, where the other five namespaces
 * together cost ~0.05 ms. Done by clone3(CLONE_NEWNET) it sits on the
 * critical path between the monitor's fork and the init's first
 * instruction. Here the caller (P) starts a thread that unshare()s a
 * network namespace of its own (namespaces are per task: only that
 * thread moves) while P writes the state dir, forks the monitor and the
 * monitor creates the cgroups; the thread sends an fd of the namespace
 * to the monitor over a socketpair (SCM_RIGHTS) and exits. The monitor
 * clones the init without CLONE_NEWNET and the init setns()es into the
 * namespace before anything else. (The other place it could run in
 * parallel, the caller right after forking the monitor, overlaps only
 * the monitor's cgroup setup: the monitor then waited ~0.3 ms for the
 * fd, against ~0.08 ms here.) The CLI starts it even earlier, before
 * it reads config.json (rt_create_opts.netns_early): the namespace takes
 * ~0.35 ms to make, longer than everything the caller and the monitor
 * do before the clone; a spec that turns out not to want one (a given
 * path, a user namespace, none) just drops it, which the kernel cleans
 * up in the background.
 *
 * The namespace is the same as the one clone3 would have made: new,
 * empty (a down loopback), owned by the caller's user namespace, and
 * referenced only by the fd in flight, the monitor's copy (closed after
 * the clone) and the init. It is done only when the spec asks for a new
 * network namespace and no new user namespace (the network namespace
 * must then be owned by the container's user namespace, which only the
 * init's clone creates). Whenever the thread cannot make one (no
 * CAP_SYS_ADMIN, no thread), the monitor receives no fd and clone3
 * creates the namespace as before: the errors stay the kernel's. */
#include "runtime/rt_int.h"

#include "lib/fdpass.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void *
prefetch_thread(void *arg)
{
    struct rt_netns_prefetch *p = arg;
    int fd = -1;

    if (unshare(CLONE_NEWNET) == 0)
        fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    /* 'N' with the fd, '-' without: the monitor then lets clone3 make
     * one. A monitor that died must not kill the caller (no SIGPIPE). */
    sk_fd_send(p->sock[1], fd, fd >= 0 ? "N" : "-", 1);
    if (fd >= 0)
        close(fd);
    return NULL;
}

int
rt_netns_prefetch_wanted(const struct rt_spec *spec)
{
    int want = 0;

    for (size_t i = 0; i < spec->nnamespaces; i++) {
        if (spec->namespaces[i].type == CLONE_NEWUSER)
            return 0;
        if (spec->namespaces[i].type == CLONE_NEWNET && !spec->namespaces[i].path)
            want = 1;
    }
    return want;
}

void
rt_netns_prefetch_begin(struct rt_netns_prefetch *p)
{
    pthread_attr_t attr;

    p->sock[0] = p->sock[1] = -1;
    p->started = 0;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p->sock) < 0)
        return;
    /* a small stack: the thread makes four syscalls */
    if (pthread_attr_init(&attr) == 0) {
        pthread_attr_setstacksize(&attr, 64 * 1024);
        p->started = pthread_create(&p->thread, &attr, prefetch_thread, p) == 0;
        pthread_attr_destroy(&attr);
    }
    if (!p->started) {
        close(p->sock[0]);
        close(p->sock[1]);
        p->sock[0] = p->sock[1] = -1;
    }
}

void
rt_netns_prefetch_start(struct rt_netns_prefetch *p, const struct rt_spec *spec)
{
    p->sock[0] = p->sock[1] = -1;
    p->started = 0;
    if (rt_netns_prefetch_wanted(spec))
        rt_netns_prefetch_begin(p);
}

/* In the monitor, right after the fork: the caller's end is not ours,
 * and holding it would keep rt_netns_prefetch_take from seeing EOF. */
void
rt_netns_prefetch_forked(struct rt_netns_prefetch *p)
{
    if (p->sock[1] >= 0)
        close(p->sock[1]);
    p->sock[1] = -1;
    p->started = 0;
}

int
rt_netns_prefetch_take(struct rt_netns_prefetch *p)
{
    char tag = 0;
    int fd = -1;

    if (p->sock[0] < 0)
        return -1;
    if (sk_fd_recv(p->sock[0], &fd, &tag, 1, 0) <= 0 || tag != 'N') {
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    close(p->sock[0]);
    p->sock[0] = -1;
    return fd;
}

void
rt_netns_prefetch_end(struct rt_netns_prefetch *p)
{
    if (p->started)
        pthread_join(p->thread, NULL);
    p->started = 0;
    for (int i = 0; i < 2; i++) {
        if (p->sock[i] >= 0)
            close(p->sock[i]);
        p->sock[i] = -1;
    }
}
