/* The scheduler inside skiffd (see the runner section of sched.h): the
 * I/O edge around the pure core, on one event loop.
 *
 *   informers   Pods (all namespaces) and Nodes, through api/aclient;
 *               bound pods and nodes go into the cache, pods that want
 *               a node into the queue; node and pod changes wake the
 *               parked pods they may help (sched_queue_on_event).
 *   drain       a zero-delay timer: tick the queue, then pop, schedule,
 *               assume and send a bind for up to DRAIN_BATCH pods, and
 *               run again while pods are active, so responses and watch
 *               events are read between batches. At most MAX_BINDING
 *               binds are in flight.
 *   binds       spread over BIND_CONNS clients of their own: a success
 *               confirms the assumed pod, a failure forgets it (the
 *               cache is then exactly as before the assume).
 *   events      one "Scheduled" Event per pod bound, except under a
 *               burst: from EVENT_BACKLOG Event writes in flight on the
 *               client down to EVENT_BACKLOG_LOW, the pods bound are
 *               counted instead and recorded as one Event per namespace
 *               every EVENT_COALESCE_MS (involved object: the Namespace),
 *               naming how many pods, the first and the last. This is
 *               kube-scheduler's broadcaster, which drops events when
 *               its queue is full, without the silence: the backlog
 *               stays bounded and status patches behind it are not
 *               held up by thousands of Event creates.
 *
 * Scheduling starts only when both informers have synced: before that
 * the cache lacks bound pods and would overcommit nodes.
 *
 * Timers, not sk_loop_defer, carry the drain: a runner stopped on a
 * leadership loss must cancel everything it queued on the loop. */
#include "api/events.h"
#include "api/informer.h"
#include "lib/alloc.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "sched/sched_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DRAIN_BATCH     256
#define MAX_BINDING     2048
#define IDLE_WAKE_MS    5000 /* expire assumed pods at least this often */
#define EXPIRE_EVERY_MS 1000
/* The server answers at most API_MAX_PIPELINE requests per connection
 * at a time; binds spread over a few connections so that one store
 * commit (one fsync) carries many of them. */
#define BIND_CONNS        4
#define EVENT_BACKLOG     256 /* Event writes in flight before coalescing */
#define EVENT_BACKLOG_LOW 64  /* ... and until they are down to this */
#define EVENT_COALESCE_MS 1000

/* Pods bound while the Event writes were backlogged, for one Event. */
struct coalesced {
    char *ns;
    size_t n;
    char first[320], last[320]; /* "name to node" */
};

struct bind_op {
    struct sched_runner *r;
    json_t *pod;
    char *node;
    struct bind_op *prev, *next;
};

struct sched_runner {
    struct sk_loop *loop;
    struct api_aclient *client;              /* informers, status, events */
    struct api_aclient *binders[BIND_CONNS]; /* binds, round robin */
    unsigned next_binder;
    struct api_informer *pods, *nodes;
    struct sched_cache *cache;
    struct sched_queue *queue;
    struct sched_preemptor *preempt; /* run_preempt.c */
    struct sched_config score;
    struct sched_rng rng;
    char *component;
    bool pods_synced, nodes_synced;
    uint64_t timer;    /* pending drain timer id, 0 for none */
    int64_t timer_at;  /* its deadline */
    int64_t expire_at; /* next sched_cache_expire */
    struct bind_op *binds;
    struct coalesced co;
    uint64_t co_timer;
    struct sched_runner_stats stats;
};

static const char *
str_at(const json_t *obj, const char *a, const char *b)
{
    return json_string_value(json_object_get(json_object_get(obj, a), b));
}

/* Whether a.k1[.k2] and b.k1[.k2] are equal (both absent counts). */
static bool
same_field(const json_t *a, const json_t *b, const char *k1, const char *k2)
{
    const json_t *x = json_object_get(a, k1), *y = json_object_get(b, k1);

    if (k2) {
        x = json_object_get(x, k2);
        y = json_object_get(y, k2);
    }
    return x == y || (x && y && json_equal(x, y));
}

static const char *
pod_ns(const json_t *pod)
{
    const char *ns = str_at(pod, "metadata", "namespace");

    return ns && *ns ? ns : "default";
}

static const char *
pod_name(const json_t *pod)
{
    const char *name = str_at(pod, "metadata", "name");

    return name ? name : "";
}

static int64_t
now_ms(struct sched_runner *r)
{
    return (int64_t)sk_loop_now_ms(r->loop);
}

static void drain(struct sk_loop *loop, void *arg);

/* Run the drain delay_ms from now, unless it is due earlier already. */
static void
wake(struct sched_runner *r, int64_t delay_ms)
{
    int64_t at = now_ms(r) + delay_ms;

    if (r->timer && r->timer_at <= at)
        return;
    if (r->timer)
        sk_loop_timer_cancel(r->loop, r->timer);
    r->timer_at = at;
    r->timer = sk_loop_timer_add(r->loop, (uint64_t)delay_ms, drain, r);
}

static bool
synced(const struct sched_runner *r)
{
    return r->pods_synced && r->nodes_synced;
}

/* ---- informer handlers ---- */

static void
kick(struct sched_runner *r)
{
    if (synced(r))
        wake(r, 0);
}

static void
node_set(struct sched_runner *r, const json_t *old, const json_t *obj)
{
    struct sk_err err;

    sk_err_init(&err);
    if (sched_cache_node_set(r->cache, obj, &err) < 0) {
        sk_warn("sched", "node '%s': %s", str_at(obj, "metadata", "name"), err.msg);
        return;
    }
    if (old && !sched_node_changed(old, obj))
        return;
    sched_queue_on_event(r->queue, old ? SCHED_EVENT_NODE_UPDATE : SCHED_EVENT_NODE_ADD, now_ms(r));
    kick(r);
}

static void
on_node_add(struct api_informer *inf, const json_t *obj, void *arg)
{
    (void)inf;
    node_set(arg, NULL, obj);
}

static void
on_node_update(struct api_informer *inf, const json_t *old, const json_t *obj, void *arg)
{
    (void)inf;
    node_set(arg, old, obj);
}

static void
on_node_delete(struct api_informer *inf, const json_t *obj, void *arg)
{
    struct sched_runner *r = arg;

    (void)inf;
    sched_cache_node_remove(r->cache, str_at(obj, "metadata", "name"));
}

/* A pod with spec.nodeName: counts against its node (confirming our
 * assumption if it was ours); parked pods that may now fit or stop
 * fitting wake up. */
static void
pod_bound(struct sched_runner *r, const json_t *old, const json_t *obj)
{
    const char *ns = pod_ns(obj), *name = pod_name(obj);
    int before = sched_cache_pod_state(r->cache, ns, name), after;
    enum sched_event ev;
    struct sk_err err;

    sk_err_init(&err);
    sched_queue_delete(r->queue, ns, name);
    if (sched_cache_pod_set(r->cache, obj, &err) < 0) {
        sk_warn("sched", "pod '%s/%s': %s", ns, name, err.msg);
        return;
    }
    after = sched_cache_pod_state(r->cache, ns, name);
    if (before && !after)
        ev = SCHED_EVENT_POD_DELETE; /* terminal: its resources are free */
    else if (!before && after)
        ev = SCHED_EVENT_POD_ADD;
    else if (old && after && !same_field(old, obj, "metadata", "labels"))
        ev = SCHED_EVENT_POD_UPDATE;
    else
        return;
    sched_queue_on_event(r->queue, ev, now_ms(r));
    kick(r);
}

static void
pod_changed(struct sched_runner *r, const json_t *old, const json_t *obj)
{
    const char *node = str_at(obj, "spec", "nodeName");
    struct sk_err err;

    if (node && *node) {
        pod_bound(r, old, obj);
        return;
    }
    /* Unbound: an assumed pod stays assumed until its bind answers
     * (sched_cache_pod_set would drop the assumption). */
    if (!sched_pod_wants_node(obj)) {
        sched_queue_delete(r->queue, pod_ns(obj), pod_name(obj));
        return;
    }
    /* A status-only change (our own PodScheduled patch, say) cannot make
     * a pod fit: leave it where it waits, as kube-scheduler does. */
    if (old && sched_pod_wants_node(old) && same_field(old, obj, "spec", NULL) &&
        same_field(old, obj, "metadata", "labels"))
        return;
    sk_err_init(&err);
    if (sched_queue_add(r->queue, obj, now_ms(r), &err) < 0) {
        sk_warn("sched", "%s", err.msg);
        return;
    }
    kick(r);
}

static void
on_pod_add(struct api_informer *inf, const json_t *obj, void *arg)
{
    (void)inf;
    pod_changed(arg, NULL, obj);
}

static void
on_pod_update(struct api_informer *inf, const json_t *old, const json_t *obj, void *arg)
{
    (void)inf;
    pod_changed(arg, old, obj);
}

static void
on_pod_delete(struct api_informer *inf, const json_t *obj, void *arg)
{
    struct sched_runner *r = arg;
    const char *ns = pod_ns(obj), *name = pod_name(obj);

    (void)inf;
    sched_queue_delete(r->queue, ns, name);
    if (sched_cache_pod_state(r->cache, ns, name) == 2) {
        sched_cache_pod_remove(r->cache, ns, name);
        sched_queue_on_event(r->queue, SCHED_EVENT_POD_DELETE, now_ms(r));
        kick(r);
    }
}

static void
on_synced(struct api_informer *inf, void *arg)
{
    struct sched_runner *r = arg;

    if (inf == r->pods)
        r->pods_synced = true;
    else
        r->nodes_synced = true;
    if (synced(r)) {
        sk_info("sched", "caches synced: %zu nodes, %zu pods; scheduling",
                api_informer_len(r->nodes), api_informer_len(r->pods));
        kick(r);
    }
}

static const struct api_informer_handlers node_handlers = {
    .on_add = on_node_add,
    .on_update = on_node_update,
    .on_delete = on_node_delete,
    .on_synced = on_synced,
};

static const struct api_informer_handlers pod_handlers = {
    .on_add = on_pod_add,
    .on_update = on_pod_update,
    .on_delete = on_pod_delete,
    .on_synced = on_synced,
};

/* ---- status and events ---- */

static void
on_status_done(struct api_aclient *c, int rc, const struct api_resp *resp, const struct sk_err *err,
               void *arg)
{
    (void)c;
    (void)arg;
    /* 409: the pod changed since we looked; its next attempt writes
     * the condition again if it still applies. */
    if (rc < 0 && rc != -ESTALE && rc != -ENOENT)
        sk_warn("sched", "pod status: %s", err->msg);
    (void)resp;
}

/* Write PodScheduled on cur, the latest state of the pod we know,
 * conditional on its resourceVersion so that a pod that changed
 * meanwhile (bound by another scheduler, say) is never marked. */
static void
set_condition(struct sched_runner *r, const json_t *cur, const char *status, const char *reason,
              const char *message)
{
    const char *rv;
    char now[SK_CLOCK_RFC3339_MAX];
    json_t *patch;

    if (!cur)
        return;
    sk_clock_rfc3339(sk_clock_real_ns(), 0, now, sizeof(now));
    patch = sched_condition_patch(cur, status, reason, message, now);
    if (!patch)
        return;
    rv = str_at(cur, "metadata", "resourceVersion");
    if (rv)
        json_object_set_new(patch, "metadata", json_pack("{s:s}", "resourceVersion", rv));
    api_aclient_patch(r->client, "pods", pod_ns(cur), pod_name(cur), "status", patch,
                      on_status_done, r);
    json_decref(patch);
}

static void
record(struct sched_runner *r, const json_t *pod, const char *type, const char *reason,
       const char *message)
{
    struct sk_err err;

    sk_err_init(&err);
    if (api_event_record(r->client, pod, type, reason, message, r->component, &err) < 0)
        sk_warn("sched", "event about pod '%s/%s': %s", pod_ns(pod), pod_name(pod), err.msg);
}

static void
unschedulable(struct sched_runner *r, const json_t *pod, const char *message, unsigned failed)
{
    sk_debug("sched", "pod '%s/%s': %s", pod_ns(pod), pod_name(pod), message);
    r->stats.unschedulable++;
    sched_queue_unschedulable(r->queue, pod_ns(pod), pod_name(pod), failed, now_ms(r));
    set_condition(r, api_informer_get(r->pods, pod_ns(pod), pod_name(pod)), "False",
                  "Unschedulable", message);
    record(r, pod, API_EVENT_WARNING, "FailedScheduling", message);
}

/* ---- binding ---- */

static void
bind_op_free(struct bind_op *op)
{
    struct sched_runner *r = op->r;

    if (op->prev)
        op->prev->next = op->next;
    else
        r->binds = op->next;
    if (op->next)
        op->next->prev = op->prev;
    r->stats.binding--;
    json_decref(op->pod);
    free(op->node);
    free(op);
}

static bool
scheduled_false(const json_t *pod)
{
    json_t *conds = json_object_get(json_object_get(pod, "status"), "conditions"), *c;
    const char *type, *status;
    size_t i;

    json_array_foreach (conds, i, c) {
        type = json_string_value(json_object_get(c, "type"));
        status = json_string_value(json_object_get(c, "status"));
        if (type && !strcmp(type, "PodScheduled"))
            return !status || strcmp(status, "True");
    }
    return false;
}

/* Whether the object a bind returned may carry a PodScheduled condition
 * that is not True: a substring test, so that the common answer is not
 * parsed (the bind verb sets PodScheduled True itself, as Kubernetes's
 * binding handler does; the check stays for a server that does not). */
static bool
may_have_condition(const struct api_resp *resp)
{
    const char *line = resp->nlines > 0 ? resp->lines[0] : "";

    return strstr(line, "\"PodScheduled\"") &&
           (strstr(line, "\"False\"") || strstr(line, "\"Unknown\"") || !strstr(line, "\"True\""));
}

/* Record the Event standing for the coalesced pods, if any. */
static void
coalesced_flush(struct sched_runner *r)
{
    struct coalesced *co = &r->co;
    char msg[1024];
    json_t *ns;

    if (!co->n)
        return;
    snprintf(msg, sizeof(msg),
             "Successfully assigned %zu pods in namespace %s, first %s, last %s (one Event for "
             "them: the Event writes were backlogged)",
             co->n, co->ns, co->first, co->last);
    ns = json_pack("{s:s,s:s,s:{s:s,s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata",
                   "name", co->ns, "namespace", co->ns);
    record(r, ns, API_EVENT_NORMAL, "Scheduled", msg);
    json_decref(ns);
    free(co->ns);
    co->ns = NULL;
    co->n = 0;
}

static void
coalesced_timer(struct sk_loop *loop, void *arg)
{
    struct sched_runner *r = arg;

    (void)loop;
    r->co_timer = 0;
    coalesced_flush(r);
}

/* The Scheduled Event of a pod bound to node (see the top of the file). */
static void
record_scheduled(struct sched_runner *r, const json_t *pod, const char *node)
{
    const char *ns = pod_ns(pod), *name = pod_name(pod);
    struct api_event_stats st;
    char msg[1024];

    api_event_stats(r->client, &st);
    if (st.in_flight < (r->co.n ? EVENT_BACKLOG_LOW : EVENT_BACKLOG)) {
        coalesced_flush(r);
        snprintf(msg, sizeof(msg), "Successfully assigned %s/%s to %s", ns, name, node);
        record(r, pod, API_EVENT_NORMAL, "Scheduled", msg);
        return;
    }
    sk_debug("sched", "pod '%s/%s' assigned to '%s' (Scheduled event coalesced)", ns, name, node);
    if (r->co.n && strcmp(r->co.ns, ns) != 0)
        coalesced_flush(r);
    if (!r->co.n) {
        r->co.ns = sk_strdup(ns);
        snprintf(r->co.first, sizeof(r->co.first), "%.150s to %.150s", name, node);
    }
    snprintf(r->co.last, sizeof(r->co.last), "%.150s to %.150s", name, node);
    r->co.n++;
    if (!r->co_timer)
        r->co_timer = sk_loop_timer_add(r->loop, EVENT_COALESCE_MS, coalesced_timer, r);
}

static void
bind_succeeded(struct sched_runner *r, struct bind_op *op, const struct api_resp *resp)
{
    const char *ns = pod_ns(op->pod), *name = pod_name(op->pod);
    json_t *bound;

    r->stats.bound++;
    sched_queue_done(r->queue, ns, name);
    /* The pod informer's event confirms the assumption (it may have
     * come first: then the pod is bound in the cache already); until
     * then it stays assumed, its TTL from now, as kube-scheduler's
     * FinishBinding. Confirming from the answer would parse every pod
     * twice more. */
    sched_cache_finish_binding(r->cache, ns, name, now_ms(r));
    record_scheduled(r, op->pod, op->node);
    /* The bind verb does not touch conditions: undo our Unschedulable
     * (on the object the bind returned, the newest there is). */
    if (!may_have_condition(resp))
        return;
    bound = api_resp_object(resp, 0, NULL);
    if (scheduled_false(bound))
        set_condition(r, bound, "True", NULL, NULL);
    json_decref(bound);
}

static void
on_bind_done(struct api_aclient *c, int rc, const struct api_resp *resp, const struct sk_err *err,
             void *arg)
{
    struct bind_op *op = arg;
    struct sched_runner *r = op->r;
    const char *ns = pod_ns(op->pod), *name = pod_name(op->pod);
    const json_t *cur;

    (void)c;
    if (rc == 0) {
        bind_succeeded(r, op, resp);
        goto out;
    }
    r->stats.bind_errors++;
    sched_cache_forget(r->cache, ns, name, NULL);
    cur = api_informer_get(r->pods, ns, name);
    if (rc == -ENOENT ||
        ((rc == -ESTALE || rc == -EEXIST) && !(cur && sched_pod_wants_node(cur)))) {
        /* Lost a race: the pod is gone, being deleted or bound by
         * someone else. The informer brings its new state. */
        sk_debug("sched", "bind '%s/%s' to '%s': %s", ns, name, op->node, err->msg);
        sched_queue_done(r->queue, ns, name);
    } else {
        sk_warn("sched", "bind '%s/%s' to '%s': %s", ns, name, op->node, err->msg);
        sched_queue_error(r->queue, ns, name, now_ms(r));
    }
out:
    bind_op_free(op);
    kick(r);
}

static void
bind_start(struct sched_runner *r, const json_t *pod, const char *node)
{
    struct bind_op *op = sk_calloc(1, sizeof(*op));

    op->r = r;
    op->pod = json_incref((json_t *)pod);
    op->node = sk_strdup(node);
    op->next = r->binds;
    if (r->binds)
        r->binds->prev = op;
    r->binds = op;
    r->stats.binding++;
    r->next_binder = (r->next_binder + 1) % BIND_CONNS;
    api_aclient_bind(r->binders[r->next_binder], pod_ns(pod), pod_name(pod), node,
                     str_at(pod, "metadata", "uid"), on_bind_done, op);
}

/* ---- one attempt ---- */

static void
schedule_pod(struct sched_runner *r, json_t *pod)
{
    const char *ns = pod_ns(pod), *name = pod_name(pod);
    struct sched_pod *sp = NULL;
    struct sched_result res;
    struct sk_err err;
    int rc;

    r->stats.attempts++;
    sk_err_init(&err);
    sched_result_init(&res);
    rc = sched_pod_parse(pod, &sp, &err);
    if (rc == 0)
        rc =
            sched_preemptor_schedule(r->preempt, r->cache, sp, pod, &r->score, &r->rng, &res, &err);
    if (rc == 0 && (rc = sched_cache_assume_parsed(r->cache, sp, res.node, now_ms(r), &err)) == 0)
        sp = NULL; /* the cache's now */
    if (rc == 0)
        bind_start(r, pod, res.node);
    else if (rc == 1)
        unschedulable(r, pod, res.message, res.failed);
    else if (rc == -EEXIST) /* bound meanwhile: the informer said so */
        sched_queue_done(r->queue, ns, name);
    else
        unschedulable(r, pod, err.msg, 0);
    sched_result_release(&res);
    sched_pod_free(sp);
}

static void
drain(struct sk_loop *loop, void *arg)
{
    struct sched_runner *r = arg;
    int64_t now = now_ms(r), next;
    json_t *pod;
    size_t n;

    (void)loop;
    r->timer = 0;
    /* expire walks every cached pod: not on every batch. */
    if (now >= r->expire_at) {
        sched_cache_expire(r->cache, now);
        r->expire_at = now + EXPIRE_EVERY_MS;
    }
    sched_queue_tick(r->queue, now);
    for (n = 0; n < DRAIN_BATCH && r->stats.binding < MAX_BINDING; n++) {
        pod = sched_queue_pop(r->queue, now);
        if (!pod)
            break;
        schedule_pod(r, pod);
        json_decref(pod);
    }
    if (sched_queue_active_len(r->queue) && r->stats.binding < MAX_BINDING) {
        wake(r, 0);
        return;
    }
    next = sched_queue_next_ms(r->queue);
    next = next == INT64_MAX || next - now > IDLE_WAKE_MS ? IDLE_WAKE_MS : next - now;
    wake(r, next < 0 ? 0 : next);
}

/* ---- lifecycle ---- */

static int
informer_start(struct sched_runner *r, const char *resource, const struct api_informer_handlers *h,
               struct api_informer **out, struct sk_err *err)
{
    struct api_informer_config icfg = {.resource = resource};

    if (api_informer_new(r->client, &icfg, out, err) < 0)
        return sk_err_wrap(err, "%s informer", resource);
    api_informer_add_handlers(*out, h, r);
    api_informer_start(*out);
    return 0;
}

static void
config_apply(struct sched_runner *r, const struct sched_runner_config *cfg)
{
    struct sched_queue_config q = cfg->queue;
    bool any = false;

    for (int i = 0; i < SCHED_SCORE_COUNT; i++)
        any |= cfg->weights[i] != 0;
    memcpy(r->score.weights, any ? cfg->weights : sched_score_default_weights,
           sizeof(r->score.weights));
    q.backoff_initial_ms = q.backoff_initial_ms ? q.backoff_initial_ms : 1000;
    q.backoff_max_ms = q.backoff_max_ms ? q.backoff_max_ms : 10000;
    q.unschedulable_max_ms = q.unschedulable_max_ms ? q.unschedulable_max_ms : 60000;
    r->queue = sched_queue_new(&q);
    r->cache = sched_cache_new(cfg->assume_ttl_ms ? cfg->assume_ttl_ms : 30000);
    sched_rng_seed(&r->rng, cfg->seed ? cfg->seed : (uint64_t)sk_clock_real_ns());
    r->component = sk_strdup(cfg->component ? cfg->component : "default-scheduler");
}

int
sched_runner_start(struct sk_loop *loop, const struct sched_runner_config *cfg,
                   struct sched_runner **out, struct sk_err *err)
{
    struct api_aclient_config ccfg = {.server = cfg->server, .token = cfg->token};
    struct sched_runner *r = sk_calloc(1, sizeof(*r));

    r->loop = loop;
    config_apply(r, cfg);
    if (api_aclient_new(loop, &ccfg, &r->client, err) < 0) {
        sk_err_wrap(err, "scheduler");
        goto out_free;
    }
    for (int i = 0; i < BIND_CONNS; i++)
        if (api_aclient_new(loop, &ccfg, &r->binders[i], err) < 0)
            goto out_free;
    if (informer_start(r, "nodes", &node_handlers, &r->nodes, err) < 0 ||
        informer_start(r, "pods", &pod_handlers, &r->pods, err) < 0)
        goto out_free;
    r->preempt = sched_preemptor_new(r->client, r->pods, r->component);
    *out = r;
    return 0;
out_free:
    sched_runner_stop(r);
    return -EINVAL;
}

void
sched_runner_stop(struct sched_runner *r)
{
    if (!r)
        return;
    sk_info("sched",
            "stopping: %llu pods bound, %llu unschedulable attempts, %llu failed binds, "
            "%zu binds in flight dropped",
            (unsigned long long)r->stats.bound, (unsigned long long)r->stats.unschedulable,
            (unsigned long long)r->stats.bind_errors, r->stats.binding);
    if (r->timer)
        sk_loop_timer_cancel(r->loop, r->timer);
    if (r->co_timer)
        sk_loop_timer_cancel(r->loop, r->co_timer);
    if (r->co.n)
        sk_info("sched", "%zu pods bound since %s: their coalesced Scheduled event is dropped",
                r->co.n, r->co.first);
    free(r->co.ns);
    api_informer_free(r->pods);
    api_informer_free(r->nodes);
    api_aclient_free(r->client);
    for (int i = 0; i < BIND_CONNS; i++)
        api_aclient_free(r->binders[i]); /* drops the binds' callbacks */
    while (r->binds)
        bind_op_free(r->binds);
    sched_preemptor_free(r->preempt);
    sched_queue_free(r->queue);
    sched_cache_free(r->cache);
    free(r->component);
    free(r);
}

void
sched_runner_stats(const struct sched_runner *r, struct sched_runner_stats *out)
{
    *out = r->stats;
}
