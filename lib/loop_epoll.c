/* epoll backend of the event loop (see loop_int.h).
 *
 * The fd and a generation number travel in epoll_event.data.u64, so an
 * event that was already queued by the kernel for an fd that the loop has
 * since deleted and re-added is recognised as stale. */
#include "loop.h"
#include "alloc.h"
#include "loop_int.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

struct sk_loop_backend {
    int epfd;
    struct epoll_event *events;
    int nevents;
};

int
sk_loop_backend_new(struct sk_loop_backend **out, struct sk_err *err)
{
    struct sk_loop_backend *be;
    int fd;

    fd = epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0)
        return sk_err_sys(err, errno, "epoll_create1");
    be = sk_calloc(1, sizeof(*be));
    be->epfd = fd;
    *out = be;
    return 0;
}

void
sk_loop_backend_free(struct sk_loop_backend *be)
{
    if (!be)
        return;
    close(be->epfd);
    free(be->events);
    free(be);
}

static uint32_t
epoll_mask(unsigned events)
{
    uint32_t m = 0;

    if (events & SK_EV_READ)
        m |= EPOLLIN;
    if (events & SK_EV_WRITE)
        m |= EPOLLOUT;
    return m;
}

int
sk_loop_backend_set(struct sk_loop_backend *be, int fd, uint32_t gen, unsigned old, unsigned events,
                    struct sk_err *err)
{
    struct epoll_event ev = {0};
    int op;

    if (old == 0 && events == 0)
        return 0;
    if (events == 0) {
        /* EPOLL_CTL_DEL is the only way to silence EPOLLERR/EPOLLHUP,
         * which epoll reports even with an empty interest mask. */
        if (epoll_ctl(be->epfd, EPOLL_CTL_DEL, fd, &ev) < 0)
            return sk_err_sys(err, errno, "epoll_ctl del fd %d", fd);
        return 0;
    }
    op = old == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
    ev.events = epoll_mask(events);
    ev.data.u64 = ((uint64_t)gen << 32) | (uint32_t)fd;
    if (epoll_ctl(be->epfd, op, fd, &ev) < 0)
        return sk_err_sys(err, errno, "epoll_ctl %s fd %d", old == 0 ? "add" : "mod", fd);
    return 0;
}

int
sk_loop_backend_poll(struct sk_loop_backend *be, int timeout_ms, struct sk_loop_fired *fired,
                     int max, struct sk_err *err)
{
    int i, n;

    if (be->nevents < max) {
        be->events = sk_reallocarray(be->events, (size_t)max, sizeof(*be->events));
        be->nevents = max;
    }
    n = epoll_wait(be->epfd, be->events, max, timeout_ms);
    if (n < 0) {
        if (errno == EINTR)
            return 0;
        return sk_err_sys(err, errno, "epoll_wait");
    }
    for (i = 0; i < n; i++) {
        uint32_t e = be->events[i].events;
        unsigned m = 0;

        if (e & EPOLLIN)
            m |= SK_EV_READ;
        if (e & EPOLLOUT)
            m |= SK_EV_WRITE;
        if (e & (EPOLLERR | EPOLLHUP))
            m |= SK_EV_ERROR;
        fired[i].fd = (int)(uint32_t)be->events[i].data.u64;
        fired[i].gen = (uint32_t)(be->events[i].data.u64 >> 32);
        fired[i].events = m;
    }
    return n;
}
