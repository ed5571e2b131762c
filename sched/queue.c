/* The scheduling queue, kube-scheduler's PriorityQueue as a pure data
 * structure (pkg/scheduler/internal/queue):
 *
 *   active         binary heap: spec.priority descending, then the order
 *                  in which pods entered the heap;
 *   backoff        binary heap by the end of each pod's back-off:
 *                  initial * 2^(attempts-1), capped at max;
 *   unschedulable  an unordered set of parked pods, left when an event
 *                  that concerns a plugin that rejected them arrives,
 *                  or when they have been parked for unschedulable_max;
 *   in flight      popped and being scheduled; events that arrive then
 *                  are remembered, so a pod that failed on old data is
 *                  not parked past the event that could have helped it.
 *
 * Every pod is in exactly one of these, found by "namespace/name". */
#include "lib/alloc.h"
#include "lib/json.h"
#include "sched/sched_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum where { Q_ACTIVE, Q_BACKOFF, Q_UNSCHED, Q_INFLIGHT };

struct qpod {
    json_t *obj;
    char *key;
    int64_t priority;
    uint64_t seq;
    enum where where;
    size_t idx; /* in its heap or list */
    unsigned attempts;
    int64_t backoff_until;
    int64_t parked_at;
    unsigned failed; /* parked: the plugins that rejected it */
    unsigned events; /* in flight: plugins concerned by events since pop */
};

struct qheap {
    struct qpod **v;
    size_t n, cap;
    bool (*less)(const struct qpod *a, const struct qpod *b);
};

struct sched_queue {
    struct sched_queue_config cfg;
    struct sched_map by_key;
    struct qheap active, backoff;
    struct qheap unsched, inflight; /* plain lists, less unused */
    uint64_t seq;
};

static bool
active_less(const struct qpod *a, const struct qpod *b)
{
    if (a->priority != b->priority)
        return a->priority > b->priority;
    return a->seq < b->seq;
}

static bool
backoff_less(const struct qpod *a, const struct qpod *b)
{
    if (a->backoff_until != b->backoff_until)
        return a->backoff_until < b->backoff_until;
    return a->seq < b->seq;
}

static void
heap_set(struct qheap *h, size_t i, struct qpod *p)
{
    h->v[i] = p;
    p->idx = i;
}

static void
heap_up(struct qheap *h, size_t i)
{
    struct qpod *p = h->v[i];

    while (i > 0 && h->less(p, h->v[(i - 1) / 2])) {
        heap_set(h, i, h->v[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    heap_set(h, i, p);
}

static void
heap_down(struct qheap *h, size_t i)
{
    struct qpod *p = h->v[i];

    for (;;) {
        size_t c = 2 * i + 1;

        if (c >= h->n)
            break;
        if (c + 1 < h->n && h->less(h->v[c + 1], h->v[c]))
            c++;
        if (!h->less(h->v[c], p))
            break;
        heap_set(h, i, h->v[c]);
        i = c;
    }
    heap_set(h, i, p);
}

static void
list_push(struct qheap *h, struct qpod *p)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 16;
        h->v = sk_reallocarray(h->v, h->cap, sizeof(*h->v));
    }
    heap_set(h, h->n++, p);
    if (h->less)
        heap_up(h, p->idx);
}

static void
list_remove(struct qheap *h, struct qpod *p)
{
    size_t i = p->idx;
    struct qpod *last;

    h->n--;
    if (i == h->n)
        return;
    last = h->v[h->n];
    heap_set(h, i, last);
    if (h->less) {
        heap_down(h, i);
        heap_up(h, last->idx);
    }
}

static struct qheap *
home(struct sched_queue *q, enum where w)
{
    switch (w) {
    case Q_ACTIVE:
        return &q->active;
    case Q_BACKOFF:
        return &q->backoff;
    case Q_UNSCHED:
        return &q->unsched;
    case Q_INFLIGHT:
        break;
    }
    return &q->inflight;
}

static void
move(struct sched_queue *q, struct qpod *p, enum where to)
{
    list_remove(home(q, p->where), p);
    if (to == Q_ACTIVE)
        p->seq = q->seq++;
    p->where = to;
    list_push(home(q, to), p);
}

struct sched_queue *
sched_queue_new(const struct sched_queue_config *cfg)
{
    struct sched_queue *q = sk_calloc(1, sizeof(*q));

    q->cfg.backoff_initial_ms = cfg ? cfg->backoff_initial_ms : 1000;
    q->cfg.backoff_max_ms = cfg ? cfg->backoff_max_ms : 10000;
    q->cfg.unschedulable_max_ms = cfg ? cfg->unschedulable_max_ms : 60000;
    sched_map_init(&q->by_key);
    q->active.less = active_less;
    q->backoff.less = backoff_less;
    return q;
}

static void
free_qpod(struct qpod *p)
{
    json_decref(p->obj);
    free(p->key);
    free(p);
}

void
sched_queue_free(struct sched_queue *q)
{
    struct sched_map_ent *e;
    size_t i = 0;

    if (!q)
        return;
    while ((e = sched_map_next(&q->by_key, &i)))
        free_qpod(e->ptr);
    sched_map_release(&q->by_key);
    free(q->active.v);
    free(q->backoff.v);
    free(q->unsched.v);
    free(q->inflight.v);
    free(q);
}

static struct qpod *
find(const struct sched_queue *q, const char *ns, const char *name)
{
    char key[SCHED_KEY_MAX];
    struct sched_map_ent *e = sched_map_get(&q->by_key, sched_pod_key(key, sizeof(key), ns, name));

    return e ? e->ptr : NULL;
}

/* Back to scheduling: active if the back-off is over, else backoff. */
static void
requeue(struct sched_queue *q, struct qpod *p, int64_t now_ms)
{
    move(q, p, p->backoff_until <= now_ms ? Q_ACTIVE : Q_BACKOFF);
}

int
sched_queue_add(struct sched_queue *q, const json_t *pod, int64_t now_ms, struct sk_err *err)
{
    const char *ns, *name;
    int64_t prio;
    struct qpod *p;
    char key[SCHED_KEY_MAX];

    if (sk_json_get_string(pod, "metadata.name", &name, err) < 0 ||
        sk_json_opt_string(pod, "metadata.namespace", "default", &ns, err) < 0 ||
        sk_json_opt_int(pod, "spec.priority", 0, &prio, err) < 0)
        return sk_err_wrap(err, "pod");
    p = find(q, *ns ? ns : "default", name);
    if (!p) {
        p = sk_calloc(1, sizeof(*p));
        p->key = sk_strdup(sched_pod_key(key, sizeof(key), *ns ? ns : "default", name));
        sched_map_put(&q->by_key, p->key)->ptr = p;
        p->obj = json_incref((json_t *)pod);
        p->priority = prio;
        p->seq = q->seq++;
        p->where = Q_ACTIVE;
        list_push(&q->active, p);
        return 0;
    }
    json_incref((json_t *)pod);
    json_decref(p->obj);
    p->obj = (json_t *)pod;
    if (p->where == Q_ACTIVE && prio != p->priority) {
        list_remove(&q->active, p);
        p->priority = prio;
        list_push(&q->active, p);
    }
    p->priority = prio;
    if (p->where == Q_UNSCHED)
        requeue(q, p, now_ms);
    return 0;
}

static void
drop(struct sched_queue *q, struct qpod *p)
{
    list_remove(home(q, p->where), p);
    sched_map_del(&q->by_key, p->key);
    free_qpod(p);
}

int
sched_queue_delete(struct sched_queue *q, const char *ns, const char *name)
{
    struct qpod *p = find(q, ns, name);

    if (!p)
        return -ENOENT;
    drop(q, p);
    return 0;
}

void
sched_queue_tick(struct sched_queue *q, int64_t now_ms)
{
    while (q->backoff.n && q->backoff.v[0]->backoff_until <= now_ms)
        move(q, q->backoff.v[0], Q_ACTIVE);
    for (size_t i = 0; i < q->unsched.n;) {
        struct qpod *p = q->unsched.v[i];

        if (now_ms - p->parked_at < q->cfg.unschedulable_max_ms) {
            i++;
            continue;
        }
        requeue(q, p, now_ms); /* the last element now sits at i */
    }
}

json_t *
sched_queue_pop(struct sched_queue *q, int64_t now_ms)
{
    struct qpod *p;

    if (!q->active.n)
        return NULL;
    p = q->active.v[0];
    move(q, p, Q_INFLIGHT);
    p->events = 0;
    return json_incref(p->obj);
}

void
sched_queue_done(struct sched_queue *q, const char *ns, const char *name)
{
    struct qpod *p = find(q, ns, name);

    if (p)
        drop(q, p);
}

static void
start_backoff(struct sched_queue *q, struct qpod *p, int64_t now_ms)
{
    int64_t d = q->cfg.backoff_initial_ms;

    if (p->attempts < 64)
        p->attempts++;
    for (unsigned i = 1; i < p->attempts && d < q->cfg.backoff_max_ms; i++)
        d *= 2;
    if (d > q->cfg.backoff_max_ms)
        d = q->cfg.backoff_max_ms;
    p->backoff_until = now_ms + d;
}

/* Which filter plugins an event can turn from failing to passing (the
 * queueing hints of kube-scheduler, coarsely). */
static unsigned
concerns(enum sched_event kind)
{
    switch (kind) {
    case SCHED_EVENT_NODE_ADD:
    case SCHED_EVENT_NODE_UPDATE:
        return ~0u;
    case SCHED_EVENT_POD_DELETE:
        return SCHED_PLUGIN_NODE_RESOURCES_FIT | SCHED_PLUGIN_NODE_PORTS |
               SCHED_PLUGIN_INTER_POD_AFFINITY | SCHED_PLUGIN_POD_TOPOLOGY_SPREAD;
    case SCHED_EVENT_POD_ADD:
        return SCHED_PLUGIN_INTER_POD_AFFINITY | SCHED_PLUGIN_POD_TOPOLOGY_SPREAD;
    case SCHED_EVENT_POD_UPDATE:
        return SCHED_PLUGIN_INTER_POD_AFFINITY | SCHED_PLUGIN_POD_TOPOLOGY_SPREAD |
               SCHED_PLUGIN_NODE_RESOURCES_FIT;
    }
    return ~0u;
}

void
sched_queue_unschedulable(struct sched_queue *q, const char *ns, const char *name, unsigned failed,
                          int64_t now_ms)
{
    struct qpod *p = find(q, ns, name);

    if (!p || p->where != Q_INFLIGHT)
        return;
    start_backoff(q, p, now_ms);
    /* failed == 0 (no nodes at all): anything may help. */
    if (p->events & (failed ? failed : ~0u)) {
        move(q, p, Q_BACKOFF);
        return;
    }
    p->parked_at = now_ms;
    p->failed = failed;
    move(q, p, Q_UNSCHED);
}

void
sched_queue_error(struct sched_queue *q, const char *ns, const char *name, int64_t now_ms)
{
    struct qpod *p = find(q, ns, name);

    if (!p || p->where != Q_INFLIGHT)
        return;
    start_backoff(q, p, now_ms);
    move(q, p, Q_BACKOFF);
}

size_t
sched_queue_on_event(struct sched_queue *q, enum sched_event kind, int64_t now_ms)
{
    unsigned mask = concerns(kind);
    size_t moved = 0;

    for (size_t i = 0; i < q->inflight.n; i++)
        q->inflight.v[i]->events |= mask;
    for (size_t i = 0; i < q->unsched.n;) {
        struct qpod *p = q->unsched.v[i];

        if (!(mask & (p->failed ? p->failed : ~0u))) {
            i++;
            continue;
        }
        requeue(q, p, now_ms);
        moved++;
    }
    return moved;
}

size_t
sched_queue_active_len(const struct sched_queue *q)
{
    return q->active.n;
}

size_t
sched_queue_backoff_len(const struct sched_queue *q)
{
    return q->backoff.n;
}

size_t
sched_queue_unschedulable_len(const struct sched_queue *q)
{
    return q->unsched.n;
}

int64_t
sched_queue_next_ms(const struct sched_queue *q)
{
    int64_t next = q->backoff.n ? q->backoff.v[0]->backoff_until : INT64_MAX;

    for (size_t i = 0; i < q->unsched.n; i++) {
        int64_t t = q->unsched.v[i]->parked_at + q->cfg.unschedulable_max_ms;

        next = t < next ? t : next;
    }
    return next;
}
