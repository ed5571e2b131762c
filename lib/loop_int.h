#ifndef SK_LOOP_INT_H
#define SK_LOOP_INT_H

/* Private to the event loop: the interface between loop.c (fd table,
 * timers, deferred calls, signals) and a polling backend (loop_epoll.c),
 * in the manner of redis' ae.c and ae_epoll.c. */

#include "err.h"

#include <stdint.h>

struct sk_loop_backend;

/* One ready fd as reported by the backend. gen is the value given to
 * sk_loop_backend_set() for that fd, so loop.c can drop events of an fd
 * that was deleted, and maybe re-added, before they were dispatched. */
struct sk_loop_fired {
    int fd;
    uint32_t gen;
    unsigned events; /* SK_EV_* */
};

int sk_loop_backend_new(struct sk_loop_backend **out, struct sk_err *err);
void sk_loop_backend_free(struct sk_loop_backend *be);

/* Change the interest in fd from old to events (SK_EV_READ|SK_EV_WRITE).
 * 0 means "not in the backend at all": 0 -> x adds, x -> 0 removes. */
int sk_loop_backend_set(struct sk_loop_backend *be, int fd, uint32_t gen, unsigned old,
                        unsigned events, struct sk_err *err);

/* Wait up to timeout_ms (-1: forever) and fill at most max entries of
 * fired. Returns the count (0 on timeout or EINTR), or negative. */
int sk_loop_backend_poll(struct sk_loop_backend *be, int timeout_ms, struct sk_loop_fired *fired,
                         int max, struct sk_err *err);

#endif
