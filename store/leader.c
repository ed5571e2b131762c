/* Leadership notifications for the components that run only on the
 * Raft leader (the scheduler and the controllers, as kube-scheduler and
 * kube-controller-manager run only on the lease holder).
 *
 * Polled from store_status() rather than hooked into the Raft core: a
 * role change is rare, and a component that acts a poll interval too
 * late or too long is harmless, because everything it writes goes
 * through the API's optimistic concurrency (a deposed leader's bind or
 * update fails with a conflict). */
#include "store/store.h"

#include "lib/alloc.h"

#include <stdlib.h>
#include <string.h>

struct store_leadership {
    struct sk_loop *loop;
    struct store *store;
    uint64_t interval_ms;
    uint64_t timer;
    bool leader;
    store_leadership_fn fn;
    void *arg;
};

static void
leadership_poll(struct sk_loop *loop, void *arg)
{
    struct store_leadership *l = arg;
    struct store_status st;
    bool now;

    (void)loop;
    l->timer = sk_loop_timer_add(l->loop, l->interval_ms, leadership_poll, l);
    store_status(l->store, &st);
    now = strcmp(st.role, "leader") == 0;
    if (now == l->leader)
        return;
    l->leader = now;
    l->fn(l->arg, now);
}

struct store_leadership *
store_leadership_watch(struct sk_loop *loop, struct store *s, uint64_t interval_ms,
                       store_leadership_fn fn, void *arg)
{
    struct store_leadership *l = sk_calloc(1, sizeof(*l));

    l->loop = loop;
    l->store = s;
    l->interval_ms = interval_ms ? interval_ms : 200;
    l->fn = fn;
    l->arg = arg;
    l->timer = sk_loop_timer_add(loop, 0, leadership_poll, l);
    return l;
}

bool
store_leadership_is_leader(const struct store_leadership *l)
{
    return l->leader;
}

void
store_leadership_stop(struct store_leadership *l)
{
    if (!l)
        return;
    sk_loop_timer_cancel(l->loop, l->timer);
    free(l);
}
