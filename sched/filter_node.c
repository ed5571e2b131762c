/* The filters that look only at the pod and one node: NodeUnschedulable,
 * node readiness, NodeName, TaintToleration, NodeAffinity, NodePorts and
 * NodeResourcesFit. Reasons are Kubernetes' own strings, so an
 * explanation reads the same as kube-scheduler's. */
#include "lib/buf.h"
#include "sched/sched_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define TAINT_UNSCHEDULABLE "node.kubernetes.io/unschedulable"
#define TAINT_NOT_READY     "node.kubernetes.io/not-ready"
#define TAINT_UNREACHABLE   "node.kubernetes.io/unreachable"

/* v1.Toleration.ToleratesTaint: an empty effect matches every effect,
 * an empty key (operator Exists) every key. */
bool
sched_tolerates(const struct sched_toleration *tols, size_t n, const char *key, const char *value,
                enum sched_taint_effect effect)
{
    for (size_t i = 0; i < n; i++) {
        const struct sched_toleration *t = &tols[i];

        if (t->effect != SCHED_EFFECT_NONE && t->effect != effect)
            continue;
        if (*t->key && strcmp(t->key, key) != 0)
            continue;
        if (t->exists || strcmp(t->value, value) == 0)
            return true;
    }
    return false;
}

/* A cordoned node takes only pods that tolerate the unschedulable taint
 * (DaemonSet pods do), as the NodeUnschedulable plugin. */
const char *
sched_filter_unschedulable(const struct sched_pod *pod, const struct sched_node_info *ni)
{
    if (!ni->unschedulable ||
        sched_tolerates(pod->tols, pod->ntols, TAINT_UNSCHEDULABLE, "", SCHED_EFFECT_NO_SCHEDULE))
        return NULL;
    return "node(s) were unschedulable";
}

static bool
has_taint(const struct sched_node_info *ni, const char *key)
{
    for (size_t i = 0; i < ni->ntaints; i++) {
        if (strcmp(ni->taints[i].key, key) == 0)
            return true;
    }
    return false;
}

/* Kubernetes' scheduler sees a node's readiness only through the
 * not-ready / unreachable taints the node lifecycle controller sets. A
 * node whose Ready condition is not True but that carries neither taint
 * yet (no such controller, or it has not run) is refused here, unless
 * the pod tolerates the not-ready taint; with a taint, TaintToleration
 * decides and reports it. */
const char *
sched_filter_ready(const struct sched_pod *pod, const struct sched_node_info *ni)
{
    if (!ni->not_ready || has_taint(ni, TAINT_NOT_READY) || has_taint(ni, TAINT_UNREACHABLE))
        return NULL;
    if (sched_tolerates(pod->tols, pod->ntols, TAINT_NOT_READY, "", SCHED_EFFECT_NO_SCHEDULE))
        return NULL;
    return "node(s) were not ready";
}

const char *
sched_filter_node_name(const struct sched_pod *pod, const struct sched_node_info *ni)
{
    if (!pod->node_name || strcmp(pod->node_name, ni->name) == 0)
        return NULL;
    return "node(s) didn't match the requested node name";
}

/* The first NoSchedule / NoExecute taint the pod does not tolerate, in
 * the node's order, as Kubernetes reports only that one. */
const char *
sched_filter_taints(const struct sched_pod *pod, const struct sched_node_info *ni, char *buf,
                    size_t size)
{
    for (size_t i = 0; i < ni->ntaints; i++) {
        const struct sched_taint *t = &ni->taints[i];

        if (t->effect == SCHED_EFFECT_PREFER_NO_SCHEDULE)
            continue;
        if (sched_tolerates(pod->tols, pod->ntols, t->key, t->value, t->effect))
            continue;
        sk_snprintf(buf, size, "node(s) had untolerated taint {%s: %s}", t->key, t->value);
        return buf;
    }
    return NULL;
}

static bool
in_values(const struct sched_node_req *r, const char *v)
{
    for (size_t i = 0; i < r->nvalues; i++) {
        if (strcmp(r->values[i], v) == 0)
            return true;
    }
    return false;
}

/* A label value as an integer for Gt/Lt; a non-integer never matches. */
static bool
label_int(const char *v, int64_t *out)
{
    char *end;

    if (!v || !*v)
        return false;
    errno = 0;
    *out = strtoll(v, &end, 10);
    return errno == 0 && *end == '\0';
}

static bool
req_match(const struct sched_node_req *r, const struct sched_node_info *ni)
{
    const char *v = r->field ? ni->name : sched_node_label(ni, r->key);
    int64_t n;

    switch (r->op) {
    case SK_SELECTOR_IN:
        return v && in_values(r, v);
    case SK_SELECTOR_NOT_IN:
        return !v || !in_values(r, v);
    case SK_SELECTOR_EXISTS:
        return v != NULL;
    case SK_SELECTOR_DOES_NOT_EXIST:
        return v == NULL;
    case SK_SELECTOR_GT:
        return label_int(v, &n) && n > r->num;
    case SK_SELECTOR_LT:
        return label_int(v, &n) && n < r->num;
    default:
        return false;
    }
}

/* All requirements of a term hold; a term without any matches nothing
 * (Kubernetes' nodeSelectorTerm semantics). */
bool
sched_node_term_match(const struct sched_node_term *t, const struct sched_node_info *ni)
{
    if (t->nreqs == 0)
        return false;
    for (size_t i = 0; i < t->nreqs; i++) {
        if (!req_match(&t->reqs[i], ni))
            return false;
    }
    return true;
}

bool
sched_node_affinity_match(const struct sched_pod *pod, const struct sched_node_info *ni)
{
    if (pod->node_selector) {
        const char *k;
        json_t *v;

        json_object_foreach (pod->node_selector, k, v) {
            const char *have = sched_node_label(ni, k);

            if (!have || strcmp(have, json_string_value(v)) != 0)
                return false;
        }
    }
    if (!pod->has_required_node_affinity)
        return true;
    for (size_t i = 0; i < pod->required.nterms; i++) {
        if (sched_node_term_match(&pod->required.terms[i], ni))
            return true;
    }
    return false;
}

const char *
sched_filter_node_affinity(const struct sched_pod *pod, const struct sched_node_info *ni)
{
    return sched_node_affinity_match(pod, ni) ? NULL
                                              : "node(s) didn't match Pod's node affinity/selector";
}

/* Two host ports clash on the same protocol and port when their IPs are
 * equal or either is the wildcard 0.0.0.0 (HostPortInfo.CheckConflict). */
static bool
ports_clash(const struct sched_port *a, const struct sched_port *b)
{
    if (a->port != b->port || strcmp(a->protocol, b->protocol) != 0)
        return false;
    return strcmp(a->ip, "0.0.0.0") == 0 || strcmp(b->ip, "0.0.0.0") == 0 ||
           strcmp(a->ip, b->ip) == 0;
}

const char *
sched_filter_ports(const struct sched_pod *pod, const struct sched_node_info *ni)
{
    for (size_t i = 0; i < pod->nports; i++) {
        for (size_t j = 0; j < ni->nports; j++) {
            if (ports_clash(&pod->ports[i], &ni->ports[j]))
                return "node(s) didn't have free ports for the requested pod ports";
        }
    }
    return NULL;
}

/* NodeResourcesFit's fitsRequest: the pod count always, and each resource
 * the pod asks a non-zero amount of against what is left; every
 * insufficient resource is a reason of its own. */
size_t
sched_filter_resources(const struct sched_pod *pod, const struct sched_node_info *ni,
                       const char *reasons[4])
{
    const struct sched_resources *a = &ni->alloc, *u = &ni->requested, *r = &pod->req;
    size_t n = 0;

    if (u->pods + 1 > a->pods)
        reasons[n++] = "Too many pods";
    if (r->milli_cpu > 0 && r->milli_cpu > a->milli_cpu - u->milli_cpu)
        reasons[n++] = "Insufficient cpu";
    if (r->memory > 0 && r->memory > a->memory - u->memory)
        reasons[n++] = "Insufficient memory";
    if (r->ephemeral > 0 && r->ephemeral > a->ephemeral - u->ephemeral)
        reasons[n++] = "Insufficient ephemeral-storage";
    return n;
}
