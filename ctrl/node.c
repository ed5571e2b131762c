/* Node lifecycle decisions (Kubernetes' NodeLifecycleController
 * monitorNodeHealth and its NoExecute taint manager), as pure functions
 * of the Node, the pod and the time.
 *
 * A node agent proves it is alive by rewriting its conditions with a
 * fresh lastHeartbeatTime. When that stops for longer than the grace
 * period the controller cannot tell a dead node from a cut network, so
 * it says Unknown, not False, and taints the node unreachable; a node
 * agent that reports Ready False gets not-ready. Both taints come as
 * NoSchedule (the scheduler keeps new pods away) and NoExecute (the
 * taint manager evicts the pods that do not tolerate it, after their
 * tolerationSeconds). */

#include "ctrl/ctrl_int.h"
#include "lib/json.h"

#include <errno.h>
#include <string.h>

#define NS_PER_S 1000000000LL

void
ctrl_node_decision_release(struct ctrl_node_decision *d)
{
    json_decref(d->status);
    json_decref(d->taints);
    memset(d, 0, sizeof(*d));
}

static int
str_is(const json_t *v, const char *s)
{
    return json_is_string(v) && !strcmp(json_string_value(v), s);
}

/* The heartbeat of node, in ns; -EINVAL when there is none to read. */
static int
heartbeat(const json_t *node, const json_t *ready, int64_t *at, struct sk_err *err)
{
    const char *t = json_string_value(json_object_get(ready, "lastHeartbeatTime"));

    if (!t)
        t = json_string_value(sk_json_get(node, "metadata.creationTimestamp"));
    if (!t)
        return sk_err_set(err, EINVAL, "status.conditions[Ready].lastHeartbeatTime: required");
    return ctrl_time_parse(t, at, err);
}

/* Every condition Unknown, as Kubernetes does when the kubelet is
 * silent; lastHeartbeatTime kept (it says when we last heard). */
static json_t *
status_unknown(const json_t *node, int64_t now)
{
    json_t *st = json_deep_copy(sk_json_get(node, "status"));
    json_t *conds, *c;
    size_t i;

    if (!json_is_object(st)) {
        json_decref(st);
        st = json_object();
    }
    conds = json_object_get(st, "conditions");
    if (!json_is_array(conds)) {
        conds = json_array();
        json_object_set_new(st, "conditions", conds);
    }
    if (!ctrl_cond_find(conds, "Ready"))
        json_array_append_new(conds, json_pack("{s:s}", "type", "Ready"));
    json_array_foreach (conds, i, c) {
        if (!json_is_object(c) || str_is(json_object_get(c, "status"), "Unknown"))
            continue;
        json_object_set_new(c, "status", json_string("Unknown"));
        json_object_set_new(c, "reason", json_string("NodeStatusUnknown"));
        json_object_set_new(c, "message", json_string("Kubelet stopped posting node status."));
        json_object_set_new(c, "lastTransitionTime", ctrl_time_json(now));
    }
    return st;
}

static int
lifecycle_taint(const json_t *t)
{
    return str_is(json_object_get(t, "key"), CTRL_TAINT_NOT_READY) ||
           str_is(json_object_get(t, "key"), CTRL_TAINT_UNREACHABLE);
}

static const json_t *
find_taint(const json_t *taints, const char *key, const char *effect)
{
    json_t *t;
    size_t i;

    json_array_foreach (taints, i, t)
        if (str_is(json_object_get(t, "key"), key) && str_is(json_object_get(t, "effect"), effect))
            return t;
    return NULL;
}

/* The taints a node with this Ready status should carry. */
static json_t *
taints_for(const json_t *cur, const char *ready, int64_t now)
{
    static const char *const effects[] = {"NoSchedule", "NoExecute"};
    const char *key = !strcmp(ready, "Unknown") ? CTRL_TAINT_UNREACHABLE
                      : !strcmp(ready, "True")  ? NULL
                                                : CTRL_TAINT_NOT_READY;
    json_t *out = json_array(), *t;
    size_t i;

    json_array_foreach (cur, i, t)
        if (!lifecycle_taint(t) || (key && str_is(json_object_get(t, "key"), key)))
            json_array_append(out, t);
    for (i = 0; key && i < 2; i++) {
        if (find_taint(cur, key, effects[i]))
            continue;
        t = json_pack("{s:s, s:s}", "key", key, "effect", effects[i]);
        if (i == 1)
            json_object_set_new(t, "timeAdded", ctrl_time_json(now));
        json_array_append_new(out, t);
    }
    return out;
}

int
ctrl_node_decide(const json_t *node, int64_t now_ns, int64_t grace_ns, struct ctrl_node_decision *d,
                 struct sk_err *err)
{
    const json_t *ready = ctrl_cond_find(sk_json_get(node, "status.conditions"), "Ready");
    json_t *cur = sk_json_get(node, "spec.taints"), *want;
    const char *rs = json_string_value(json_object_get(ready, "status"));
    int64_t hb;
    int rc;

    memset(d, 0, sizeof(*d));
    if (cur && !json_is_array(cur))
        return sk_err_set(err, EINVAL, "spec.taints: must be an array");
    rc = heartbeat(node, ready, &hb, err);
    if (rc < 0)
        return rc;
    d->ready = rs && (!strcmp(rs, "True") || !strcmp(rs, "False")) ? rs : "Unknown";
    if (now_ns - hb > grace_ns) {
        if (!str_is(json_object_get(ready, "status"), "Unknown"))
            d->status = status_unknown(node, now_ns);
        d->ready = "Unknown";
    } else {
        d->requeue_after_ns = hb + grace_ns - now_ns + 1;
        if (!ready)
            return 0; /* registered, no status posted yet: give it the grace period */
    }
    want = taints_for(cur, d->ready, now_ns);
    /* an absent spec.taints equals an empty one */
    if ((cur && json_equal(want, cur)) || (json_array_size(want) == 0 && json_array_size(cur) == 0))
        json_decref(want);
    else
        d->taints = want;
    return 0;
}

int
ctrl_tolerates(const json_t *tol, const json_t *taint)
{
    const char *key = json_string_value(json_object_get(tol, "key"));
    const char *op = json_string_value(json_object_get(tol, "operator"));
    const char *eff = json_string_value(json_object_get(tol, "effect"));
    const json_t *tval = json_object_get(taint, "value");
    const json_t *val = json_object_get(tol, "value");
    int exists = op && !strcmp(op, "Exists");

    if (eff && *eff && !str_is(json_object_get(taint, "effect"), eff))
        return 0;
    if (!key || !*key)
        return exists;
    if (!str_is(json_object_get(taint, "key"), key))
        return 0;
    if (exists)
        return 1;
    /* Equal (the default): an absent value equals an empty one */
    return !strcmp(json_string_value(val) ? json_string_value(val) : "",
                   json_string_value(tval) ? json_string_value(tval) : "");
}

/* The smallest tolerationSeconds among pod's tolerations of taint: 0..N,
 * -1 when tolerated forever, -2 when not tolerated. */
static int64_t
tolerated_for(const json_t *tols, const json_t *taint)
{
    int64_t best = -2;
    json_t *tol, *secs;
    size_t i;

    json_array_foreach (tols, i, tol) {
        if (!ctrl_tolerates(tol, taint))
            continue;
        secs = json_object_get(tol, "tolerationSeconds");
        if (!json_is_integer(secs)) {
            if (best == -2)
                best = -1;
            continue;
        }
        if (best < 0 || json_integer_value(secs) < best)
            best = json_integer_value(secs) < 0 ? 0 : json_integer_value(secs);
    }
    /* Kubernetes' DefaultTolerationSeconds admission gives every pod
     * that does not tolerate these taints a 300 s toleration of them. */
    if (best == -2 && lifecycle_taint(taint))
        best = CTRL_TOLERATION_DEFAULT;
    return best;
}

int64_t
ctrl_pod_evict_at(const json_t *pod, const json_t *taints, int64_t now_ns)
{
    const json_t *tols = sk_json_get(pod, "spec.tolerations");
    int64_t at = -1, added, secs;
    json_t *t;
    size_t i;

    json_array_foreach (taints, i, t) {
        const char *ta = json_string_value(json_object_get(t, "timeAdded"));

        if (!str_is(json_object_get(t, "effect"), "NoExecute"))
            continue;
        secs = tolerated_for(tols, t);
        if (secs == -2)
            return now_ns;
        if (secs == -1)
            continue;
        if (!ta || ctrl_time_parse(ta, &added, NULL) < 0)
            added = now_ns;
        if (at < 0 || added + secs * NS_PER_S < at)
            at = added + secs * NS_PER_S;
    }
    return at;
}

int
ctrl_nodes_disrupted(size_t unhealthy, size_t total)
{
    if (total == 0 || unhealthy == 0)
        return 0;
    if (unhealthy == total)
        return 1;
    return total >= 3 && unhealthy * 100 > total * 55;
}
