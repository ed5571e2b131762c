/* Event loop core: the fd table, timers, deferred calls and signals (see
 * loop.h); the polling itself is in loop_epoll.c.
 *
 * fds: an array indexed by fd number. Each entry carries a generation,
 * bumped on every add and handed to the backend with the fd, so an event
 * fetched before a callback deleted (and maybe re-added) that fd number
 * is recognised as stale and dropped. Without it, a connection closed by
 * another callback and an accept() that reuses its number in the same
 * iteration would hand the old peer's hang-up to the new one.
 *
 * Timers: a binary min-heap of (deadline, seq) nodes; seq is a global
 * counter, so equal deadlines fire in creation order. The callback and
 * argument live in a slot array with a free list; a slot records its heap
 * index, so cancel finds and removes its node in O(log n). A timer id is
 * (slot generation << 32 | slot + 1): looking it up is an index, and an
 * id of a fired or cancelled timer no longer matches its reused slot.
 * Memory is bounded by the number of pending timers. */
#include "loop.h"
#include "alloc.h"
#include "loop_int.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#define LOOP_MAX_FIRED 256
#define SLOT_NONE      UINT32_MAX

struct loop_fd {
    sk_fd_cb cb;
    void *arg;
    unsigned events;
    uint32_t gen;
    bool used;
};

struct loop_slot {
    uint64_t id; /* 0 while free */
    sk_timer_cb cb;
    void *arg;
    size_t heap_idx;
    uint32_t gen;
    uint32_t next_free;
};

struct loop_node {
    uint64_t deadline;
    uint64_t seq;
    uint32_t slot;
};

struct loop_call {
    sk_timer_cb cb;
    void *arg;
};

struct loop_calls {
    struct loop_call *v;
    size_t n, cap;
};

struct loop_signal {
    sk_signal_cb cb;
    void *arg;
};

struct sk_loop {
    struct sk_loop_backend *be;
    struct loop_fd *fds;
    size_t nfds;
    struct loop_slot *slots;
    uint32_t nslots;
    uint32_t free_slot;
    struct loop_node *heap;
    size_t heap_len, heap_cap;
    uint64_t timer_seq;
    struct loop_calls deferred; /* queued for the next deferred round */
    struct loop_calls spare;    /* the other buffer, reused */
    struct loop_calls at_end;   /* sk_loop_at_end: end of this iteration */
    struct loop_signal signals[NSIG];
    sigset_t sigmask;
    int sigfd;
    struct sk_loop_fired fired[LOOP_MAX_FIRED];
    uint64_t now;
    bool dispatching; /* inside sk_loop_run_once: now is cached */
    bool stop;
};

static void
loop_update_now(struct sk_loop *loop)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    loop->now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
sk_loop_new(struct sk_loop **out, struct sk_err *err)
{
    struct sk_loop *loop = sk_calloc(1, sizeof(*loop));
    int rc;

    rc = sk_loop_backend_new(&loop->be, err);
    if (rc < 0) {
        free(loop);
        return rc;
    }
    loop->free_slot = SLOT_NONE;
    loop->sigfd = -1;
    sigemptyset(&loop->sigmask);
    loop_update_now(loop);
    *out = loop;
    return 0;
}

static void loop_run_deferred(struct sk_loop *loop, int *ran);

void
sk_loop_free(struct sk_loop *loop)
{
    int ran = 0;

    if (!loop)
        return;
    while (loop->deferred.n)
        loop_run_deferred(loop, &ran);
    if (loop->sigfd >= 0) {
        sk_loop_fd_del(loop, loop->sigfd);
        close(loop->sigfd);
    }
    sk_loop_backend_free(loop->be);
    free(loop->fds);
    free(loop->slots);
    free(loop->heap);
    free(loop->deferred.v);
    free(loop->spare.v);
    free(loop->at_end.v);
    free(loop);
}

/* --- fds --- */

static void
loop_fds_reserve(struct sk_loop *loop, int fd)
{
    size_t n = loop->nfds ? loop->nfds : 64;

    if ((size_t)fd < loop->nfds)
        return;
    while (n <= (size_t)fd)
        n *= 2;
    loop->fds = sk_reallocarray(loop->fds, n, sizeof(*loop->fds));
    memset(loop->fds + loop->nfds, 0, (n - loop->nfds) * sizeof(*loop->fds));
    loop->nfds = n;
}

static struct loop_fd *
loop_fd_get(struct sk_loop *loop, int fd)
{
    if (fd < 0 || (size_t)fd >= loop->nfds || !loop->fds[fd].used)
        return NULL;
    return &loop->fds[fd];
}

int
sk_loop_fd_add(struct sk_loop *loop, int fd, unsigned events, sk_fd_cb cb, void *arg,
               struct sk_err *err)
{
    struct loop_fd *e;
    int rc;

    if (fd < 0)
        return sk_err_set(err, EBADF, "watch fd %d: bad file descriptor", fd);
    loop_fds_reserve(loop, fd);
    e = &loop->fds[fd];
    if (e->used)
        return sk_err_set(err, EEXIST, "watch fd %d: already watched", fd);
    events &= SK_EV_READ | SK_EV_WRITE;
    rc = sk_loop_backend_set(loop->be, fd, e->gen + 1, 0, events, err);
    if (rc < 0)
        return rc;
    e->gen++;
    e->used = true;
    e->events = events;
    e->cb = cb;
    e->arg = arg;
    return 0;
}

int
sk_loop_fd_mod(struct sk_loop *loop, int fd, unsigned events, struct sk_err *err)
{
    struct loop_fd *e = loop_fd_get(loop, fd);
    int rc;

    if (!e)
        return sk_err_set(err, ENOENT, "watch fd %d: not watched", fd);
    events &= SK_EV_READ | SK_EV_WRITE;
    if (events == e->events)
        return 0;
    rc = sk_loop_backend_set(loop->be, fd, e->gen, e->events, events, err);
    if (rc < 0)
        return rc;
    e->events = events;
    return 0;
}

void
sk_loop_fd_del(struct sk_loop *loop, int fd)
{
    struct loop_fd *e = loop_fd_get(loop, fd);

    if (!e)
        return;
    /* Fails only if the caller closed fd first; epoll then forgot it. */
    sk_loop_backend_set(loop->be, fd, e->gen, e->events, 0, NULL);
    e->used = false;
    e->events = 0;
    e->cb = NULL;
    e->arg = NULL;
}

static void
loop_dispatch_fds(struct sk_loop *loop, int n, int *ran)
{
    int i;

    for (i = 0; i < n; i++) {
        const struct sk_loop_fired *f = &loop->fired[i];
        /* Look the entry up again for every event: a callback may have
         * deleted it or grown (moved) the table. */
        struct loop_fd *e = loop_fd_get(loop, f->fd);
        unsigned ev;

        if (!e || e->gen != f->gen || e->events == 0)
            continue;
        ev = f->events & (e->events | SK_EV_ERROR);
        if (!ev)
            continue;
        e->cb(loop, f->fd, ev, e->arg);
        (*ran)++;
    }
}

/* --- timers --- */

static bool
node_before(const struct loop_node *a, const struct loop_node *b)
{
    return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

static void
heap_place(struct sk_loop *loop, size_t idx, struct loop_node node)
{
    loop->heap[idx] = node;
    loop->slots[node.slot].heap_idx = idx;
}

static void
heap_sift_up(struct sk_loop *loop, size_t idx)
{
    struct loop_node node = loop->heap[idx];

    while (idx > 0) {
        size_t parent = (idx - 1) / 2;

        if (!node_before(&node, &loop->heap[parent]))
            break;
        heap_place(loop, idx, loop->heap[parent]);
        idx = parent;
    }
    heap_place(loop, idx, node);
}

static void
heap_sift_down(struct sk_loop *loop, size_t idx)
{
    struct loop_node node = loop->heap[idx];

    for (;;) {
        size_t child = 2 * idx + 1;

        if (child >= loop->heap_len)
            break;
        if (child + 1 < loop->heap_len && node_before(&loop->heap[child + 1], &loop->heap[child]))
            child++;
        if (!node_before(&loop->heap[child], &node))
            break;
        heap_place(loop, idx, loop->heap[child]);
        idx = child;
    }
    heap_place(loop, idx, node);
}

static void
heap_remove(struct sk_loop *loop, size_t idx)
{
    struct loop_node last = loop->heap[--loop->heap_len];

    if (idx == loop->heap_len)
        return;
    heap_place(loop, idx, last);
    heap_sift_up(loop, idx);
    heap_sift_down(loop, loop->slots[last.slot].heap_idx);
}

static uint32_t
slot_alloc(struct sk_loop *loop)
{
    uint32_t i, n;

    if (loop->free_slot == SLOT_NONE) {
        n = loop->nslots ? loop->nslots * 2 : 64;
        if (n <= loop->nslots || n == SLOT_NONE)
            SK_BUG("too many timers");
        loop->slots = sk_reallocarray(loop->slots, n, sizeof(*loop->slots));
        memset(loop->slots + loop->nslots, 0, (n - loop->nslots) * sizeof(*loop->slots));
        for (i = n; i-- > loop->nslots;) {
            loop->slots[i].next_free = loop->free_slot;
            loop->free_slot = i;
        }
        loop->nslots = n;
    }
    i = loop->free_slot;
    loop->free_slot = loop->slots[i].next_free;
    return i;
}

static void
slot_free(struct sk_loop *loop, uint32_t i)
{
    loop->slots[i].id = 0;
    loop->slots[i].cb = NULL;
    loop->slots[i].arg = NULL;
    loop->slots[i].next_free = loop->free_slot;
    loop->free_slot = i;
}

uint64_t
sk_loop_timer_add(struct sk_loop *loop, uint64_t delay_ms, sk_timer_cb cb, void *arg)
{
    uint32_t i = slot_alloc(loop);
    struct loop_slot *s = &loop->slots[i];
    struct loop_node node;

    if (!loop->dispatching)
        loop_update_now(loop);
    s->gen++;
    s->id = ((uint64_t)s->gen << 32) | ((uint64_t)i + 1);
    s->cb = cb;
    s->arg = arg;
    node.deadline = delay_ms > UINT64_MAX - loop->now ? UINT64_MAX : loop->now + delay_ms;
    node.seq = loop->timer_seq++;
    node.slot = i;
    if (loop->heap_len == loop->heap_cap) {
        loop->heap_cap = loop->heap_cap ? loop->heap_cap * 2 : 64;
        loop->heap = sk_reallocarray(loop->heap, loop->heap_cap, sizeof(*loop->heap));
    }
    heap_place(loop, loop->heap_len++, node);
    heap_sift_up(loop, loop->heap_len - 1);
    return s->id;
}

int
sk_loop_timer_cancel(struct sk_loop *loop, uint64_t id)
{
    uint64_t low = id & 0xffffffffu;
    uint32_t i;

    if (low == 0 || low > loop->nslots)
        return -1;
    i = (uint32_t)(low - 1);
    if (loop->slots[i].id != id)
        return -1;
    heap_remove(loop, loop->slots[i].heap_idx);
    slot_free(loop, i);
    return 0;
}

/* Fire the due timers. Only timers that existed when this started are
 * considered: one re-arming itself with delay 0 waits for the next
 * iteration instead of spinning here. Within the due ones, (deadline,
 * seq) order puts every older timer before any newer one. */
static void
loop_fire_timers(struct sk_loop *loop, int *ran)
{
    uint64_t limit = loop->timer_seq;

    while (loop->heap_len && loop->heap[0].deadline <= loop->now && loop->heap[0].seq < limit) {
        uint32_t i = loop->heap[0].slot;
        sk_timer_cb cb = loop->slots[i].cb;
        void *arg = loop->slots[i].arg;

        heap_remove(loop, 0);
        slot_free(loop, i);
        cb(loop, arg);
        (*ran)++;
    }
}

/* --- deferred calls --- */

static void
calls_push(struct loop_calls *q, sk_timer_cb cb, void *arg)
{
    if (q->n == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 16;
        q->v = sk_reallocarray(q->v, q->cap, sizeof(*q->v));
    }
    q->v[q->n].cb = cb;
    q->v[q->n].arg = arg;
    q->n++;
}

void
sk_loop_defer(struct sk_loop *loop, sk_timer_cb cb, void *arg)
{
    calls_push(&loop->deferred, cb, arg);
}

bool
sk_loop_at_end(struct sk_loop *loop, sk_timer_cb cb, void *arg)
{
    if (!loop->dispatching)
        return false;
    calls_push(&loop->at_end, cb, arg);
    return true;
}

/* The end of an iteration: the sk_loop_at_end calls, outside dispatching
 * so that whatever they queue in turn is done at once or next time. */
static void
loop_run_at_end(struct sk_loop *loop, int *ran)
{
    for (size_t i = 0; i < loop->at_end.n; i++) {
        loop->at_end.v[i].cb(loop, loop->at_end.v[i].arg);
        (*ran)++;
    }
    loop->at_end.n = 0;
}

/* Run one round: the calls queued so far. The queue is swapped with the
 * spare buffer first, so calls deferred meanwhile land in the next round. */
static void
loop_run_deferred(struct sk_loop *loop, int *ran)
{
    struct loop_calls batch = loop->deferred;
    size_t i;

    loop->deferred = loop->spare;
    for (i = 0; i < batch.n; i++) {
        batch.v[i].cb(loop, batch.v[i].arg);
        (*ran)++;
    }
    batch.n = 0;
    loop->spare = batch;
}

/* --- signals --- */

static void
loop_signal_read(struct sk_loop *loop, int fd, unsigned events, void *arg)
{
    struct signalfd_siginfo si[16];
    ssize_t n;
    size_t i;

    for (;;) {
        n = read(fd, si, sizeof(si));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        for (i = 0; i < (size_t)n / sizeof(si[0]); i++) {
            const struct loop_signal *h;

            if (si[i].ssi_signo >= NSIG)
                continue;
            h = &loop->signals[si[i].ssi_signo];
            if (h->cb)
                h->cb(loop, (int)si[i].ssi_signo, h->arg);
        }
    }
}

int
sk_loop_signal_add(struct sk_loop *loop, int signo, sk_signal_cb cb, void *arg, struct sk_err *err)
{
    sigset_t one;
    int fd, rc;

    if (signo <= 0 || signo >= NSIG || signo == SIGKILL || signo == SIGSTOP)
        return sk_err_set(err, EINVAL, "signal %d cannot be handled", signo);
    sigemptyset(&one);
    sigaddset(&one, signo);
    if (sigprocmask(SIG_BLOCK, &one, NULL) < 0)
        return sk_err_sys(err, errno, "block signal %d", signo);
    sigaddset(&loop->sigmask, signo);
    fd = signalfd(loop->sigfd, &loop->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0) {
        rc = sk_err_sys(err, errno, "signalfd for signal %d", signo);
        sigdelset(&loop->sigmask, signo);
        return rc;
    }
    if (loop->sigfd < 0) {
        rc = sk_loop_fd_add(loop, fd, SK_EV_READ, loop_signal_read, NULL, err);
        if (rc < 0) {
            close(fd);
            sigdelset(&loop->sigmask, signo);
            return rc;
        }
        loop->sigfd = fd;
    }
    loop->signals[signo].cb = cb;
    loop->signals[signo].arg = arg;
    return 0;
}

/* --- running --- */

uint64_t
sk_loop_now_ms(struct sk_loop *loop)
{
    /* Outside an iteration (start-up code), the cache may be old. */
    if (!loop->dispatching)
        loop_update_now(loop);
    return loop->now;
}

/* How long to wait: not at all with deferred calls queued, otherwise at
 * most until the nearest timer and at most the caller's timeout. */
static int
loop_timeout(const struct sk_loop *loop, int timeout_ms)
{
    uint64_t wait;

    if (loop->deferred.n || loop->at_end.n) /* at_end: a nested run_once */
        return 0;
    if (!loop->heap_len)
        return timeout_ms;
    wait = loop->heap[0].deadline <= loop->now ? 0 : loop->heap[0].deadline - loop->now;
    if (wait > INT_MAX)
        wait = INT_MAX;
    if (timeout_ms >= 0 && (uint64_t)timeout_ms < wait)
        return timeout_ms;
    return (int)wait;
}

int
sk_loop_run_once(struct sk_loop *loop, int timeout_ms, struct sk_err *err)
{
    int n, ran = 0;

    loop_update_now(loop);
    n = sk_loop_backend_poll(loop->be, loop_timeout(loop, timeout_ms), loop->fired, LOOP_MAX_FIRED,
                             err);
    if (n < 0)
        return n;
    loop_update_now(loop);
    loop->dispatching = true;
    loop_dispatch_fds(loop, n, &ran);
    loop_fire_timers(loop, &ran);
    loop_run_deferred(loop, &ran);
    loop->dispatching = false;
    loop_run_at_end(loop, &ran);
    return ran;
}

int
sk_loop_run(struct sk_loop *loop, struct sk_err *err)
{
    int rc;

    loop->stop = false;
    while (!loop->stop) {
        rc = sk_loop_run_once(loop, -1, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

void
sk_loop_stop(struct sk_loop *loop)
{
    loop->stop = true;
}
