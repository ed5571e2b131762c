/* The node lifecycle controller's I/O around ctrl_node_decide and
 * ctrl_pod_evict_at: a node that went silent gets its conditions set
 * to Unknown (status patch) and its taints (a patch conditional on the
 * node's resourceVersion, since the node agent and users write taints
 * too); then every pod bound to it is checked against its NoExecute
 * taints and deleted when its toleration has run out
 * (TaintManagerEviction), or the node is synced again when the first
 * one will.
 *
 * Evictions are rate-limited (a token bucket, EVICT_QPS per second,
 * EVICT_BURST at once) and stop altogether while the unhealthy nodes
 * look like a disruption of the controller's own view (every node, or
 * more than 55% of at least 3: ctrl_nodes_disrupted), as Kubernetes
 * stops evicting in a zone in full disruption: a network blip must not
 * empty the cluster. */

#include "ctrl/manager_int.h"

#include "lib/clock.h"
#include "lib/json.h"
#include "lib/log.h"

#include <errno.h>
#include <string.h>

#define EVICT_QPS      10.0
#define EVICT_BURST    20.0
#define EVICT_RETRY_NS (100 * 1000 * 1000LL)

static int
node_unhealthy(const json_t *node)
{
    const json_t *ready = ctrl_cond_find(sk_json_get(node, "status.conditions"), "Ready");

    return !ready || strcmp(json_string_value(json_object_get(ready, "status")) ?: "", "True");
}

/* The informer's Node events keep the counts behind disrupted(): a
 * recount over every node at each node's sync (every heartbeat queues
 * one) made the controller quadratic in the nodes. */
void
ctrl_nodes_observe(struct ctrl_manager *m, const json_t *old, const json_t *obj, int deleted)
{
    if (deleted) {
        m->nodes_total--;
        m->nodes_unhealthy -= (size_t)node_unhealthy(obj);
        return;
    }
    if (!old)
        m->nodes_total++;
    else
        m->nodes_unhealthy -= (size_t)node_unhealthy(old);
    m->nodes_unhealthy += (size_t)node_unhealthy(obj);
}

/* Whether the unhealthy nodes look like a disruption. */
static int
disrupted(struct ctrl_manager *m)
{
    return ctrl_nodes_disrupted(m->nodes_unhealthy, m->nodes_total);
}

/* Take one eviction token; 0 when none is left now. */
static int
evict_token(struct ctrl_manager *m)
{
    int64_t now = sk_clock_mono_ns();

    if (m->evict_at_ns == 0)
        m->evict_tokens = EVICT_BURST;
    else
        m->evict_tokens += (double)(now - m->evict_at_ns) / 1e9 * EVICT_QPS;
    if (m->evict_tokens > EVICT_BURST)
        m->evict_tokens = EVICT_BURST;
    m->evict_at_ns = now;
    if (m->evict_tokens < 1.0)
        return 0;
    m->evict_tokens -= 1.0;
    return 1;
}

static void
requeue_at(struct ctrl_job *job, int64_t delay)
{
    if (delay > 0 && (job->requeue_after_ns <= 0 || delay < job->requeue_after_ns))
        job->requeue_after_ns = delay;
}

struct evict_ctx {
    struct ctrl_job *job;
    const json_t *taints;
    int64_t now;
    int disrupted;
};

static int
evict_one(const json_t *pod, void *arg)
{
    struct evict_ctx *c = arg;
    int64_t at;

    if (ctrl_obj_deleting(pod))
        return 0;
    at = ctrl_pod_evict_at(pod, c->taints, c->now);
    if (at < 0)
        return 0;
    if (at > c->now) {
        requeue_at(c->job, at - c->now);
        return 0;
    }
    if (c->disrupted) {
        requeue_at(c->job, 1000 * 1000 * 1000LL); /* look again once it may be over */
        return 0;
    }
    if (!evict_token(c->job->m)) {
        requeue_at(c->job, EVICT_RETRY_NS);
        return 0;
    }
    ctrl_job_event(c->job, pod, "Normal", "TaintManagerEviction", "Marking for deletion Pod %s/%s",
                   json_string_value(sk_json_get(pod, "metadata.namespace")),
                   json_string_value(sk_json_get(pod, "metadata.name")));
    ctrl_job_delete(c->job, "pods", json_string_value(sk_json_get(pod, "metadata.namespace")),
                    json_string_value(sk_json_get(pod, "metadata.name")),
                    json_string_value(sk_json_get(pod, "metadata.uid")), NULL, NULL, NULL);
    return 0;
}

static void
write_node(struct ctrl_job *job, const json_t *node, const struct ctrl_node_decision *d)
{
    json_t *patch;

    if (d->status) {
        ctrl_job_status(job, "nodes", node, d->status);
        ctrl_job_event(job, node, "Normal", "NodeNotReady", "Node %s status is now: NodeNotReady",
                       job->key);
        sk_info("ctrl", "node '%s': no heartbeat for the grace period: Ready Unknown", job->key);
    }
    if (d->taints) {
        patch = json_pack("{s:{s:O}, s:{s:O}}", "spec", "taints", d->taints, "metadata",
                          "resourceVersion", sk_json_get(node, "metadata.resourceVersion"));
        ctrl_job_patch(job, "nodes", NULL, job->key, NULL, patch, NULL, NULL);
        json_decref(patch);
    }
}

/* ---- pods bound to a node that does not exist (Kubernetes' PodGC) ----
 *
 * Nothing will ever stop or report them, so they are deleted with grace
 * 0. The cache alone is not trusted to say a node is gone (a pod may
 * be bound to a node this cache has not seen yet): the node is read live
 * and must have been missing for the grace period (Kubernetes' 40 s
 * quarantine) before its pods go. m->nodes_missing remembers since when
 * (monotonic ns) each node has been found missing. */

static int
force_delete(const json_t *pod, void *arg)
{
    struct ctrl_job *job = arg;
    struct api_delete_args a = {.grace = 0,
                                .uid = json_string_value(sk_json_get(pod, "metadata.uid"))};
    struct ctrl_call *cc = ctrl_call_new(job, CTRL_OK_NOTFOUND, NULL, NULL);

    sk_info("ctrl", "pod '%s/%s': node '%s' is gone, deleting it",
            json_string_value(sk_json_get(pod, "metadata.namespace")),
            json_string_value(sk_json_get(pod, "metadata.name")), job->key);
    ctrl_call_sent(cc, api_aclient_delete(job->m->c, "pods",
                                          json_string_value(sk_json_get(pod, "metadata.namespace")),
                                          json_string_value(sk_json_get(pod, "metadata.name")), &a,
                                          ctrl_call_cb, cc));
    return 0;
}

static void
node_read(struct ctrl_job *job, int rc, const json_t *obj, const struct sk_err *err, void *arg)
{
    json_t *missing = job->m->nodes_missing, *since;
    int64_t now = sk_clock_mono_ns(), grace = job->m->node_grace_ns;

    (void)obj;
    (void)arg;
    if (rc < 0 && rc != -ENOENT) {
        ctrl_job_fail(job, err);
        return;
    }
    if (rc == 0) {
        json_object_del(missing, job->key);
        return;
    }
    since = json_object_get(missing, job->key);
    if (!since) {
        json_object_set_new(missing, job->key, json_integer(now));
        requeue_at(job, grace + 1);
    } else if (now - json_integer_value(since) < grace) {
        requeue_at(job, json_integer_value(since) + grace - now + 1);
    } else {
        api_informer_index_foreach(job->m->inf[RES_PODS], "node", job->key, force_delete, job);
    }
}

static int
first(const json_t *pod, void *arg)
{
    (void)pod;
    (void)arg;
    return 1;
}

static void
node_gone(struct ctrl_job *job)
{
    struct ctrl_call *cc;

    if (api_informer_index_foreach(job->m->inf[RES_PODS], "node", job->key, first, NULL) == 0) {
        json_object_del(job->m->nodes_missing, job->key);
        return;
    }
    cc = ctrl_call_new(job, CTRL_OK_ANY, node_read, NULL);
    ctrl_call_sent(cc, api_aclient_get(job->m->c, "nodes", NULL, job->key, ctrl_call_cb, cc));
}

static void
node_sync(struct ctrl_job *job)
{
    struct ctrl_manager *m = job->m;
    const json_t *node = api_informer_get(m->inf[RES_NODES], NULL, job->key);
    struct ctrl_node_decision d;
    struct evict_ctx c = {job, NULL, ctrl_now_real(), 0};
    struct sk_err err;

    if (!node) {
        node_gone(job);
        return;
    }
    json_object_del(m->nodes_missing, job->key);
    sk_err_init(&err);
    if (ctrl_node_decide(node, c.now, m->node_grace_ns, &d, &err) < 0) {
        sk_warn("ctrl", "node '%s': %s", job->key, err.msg);
        return;
    }
    write_node(job, node, &d);
    requeue_at(job, d.requeue_after_ns);
    c.taints = d.taints ? d.taints : sk_json_get(node, "spec.taints");
    c.disrupted = disrupted(m);
    if (json_array_size(c.taints) > 0)
        api_informer_index_foreach(m->inf[RES_PODS], "node", job->key, evict_one, &c);
    if (c.disrupted && strcmp(d.ready, "True"))
        sk_debug("ctrl", "node '%s': evictions held back: most nodes look unhealthy", job->key);
    ctrl_node_decision_release(&d);
}

const struct ctrl_ctl_ops ctrl_node_ops = {"node-lifecycle", "node-controller", node_sync};
