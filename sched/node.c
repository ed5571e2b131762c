/* The scheduler's view of one Node: what it offers (status.allocatable),
 * what it refuses (spec.unschedulable, spec.taints, a Ready condition
 * that is not True) and what is taken on it (the pods bound or assumed
 * there, their requests and host ports). */
#include "lib/alloc.h"
#include "lib/json.h"
#include "lib/quantity.h"
#include "sched/sched_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define HOSTNAME_KEY "kubernetes.io/hostname"

static int
parse_allocatable(const json_t *node, struct sched_resources *alloc, struct sk_err *err)
{
    static const char *const names[] = {"cpu", "memory", "ephemeral-storage", "pods"};
    int64_t *dst[] = {&alloc->milli_cpu, &alloc->memory, &alloc->ephemeral, &alloc->pods};
    json_t *obj;

    memset(alloc, 0, sizeof(*alloc));
    if (sk_json_opt_object(node, "status.allocatable", &obj, err) < 0)
        return -EINVAL;
    for (size_t i = 0; obj && i < 4; i++) {
        json_t *v = json_object_get(obj, names[i]);
        struct sk_quantity q;

        if (!v || json_is_null(v))
            continue;
        if (sk_quantity_from_json(v, &q, err) < 0)
            return sk_err_wrap(err, "status.allocatable.%s", names[i]);
        *dst[i] = i == 0 ? sk_quantity_milli(&q) : sk_quantity_value(&q);
    }
    return 0;
}

static int
parse_taints(const json_t *node, struct sched_taint **out, size_t *nout, struct sk_err *err)
{
    json_t *arr, *t;
    size_t i;

    *out = NULL;
    *nout = 0;
    if (sk_json_opt_array(node, "spec.taints", &arr, err) < 0)
        return -EINVAL;
    if (!arr || json_array_size(arr) == 0)
        return 0;
    *out = sk_calloc(json_array_size(arr), sizeof(**out));
    json_array_foreach (arr, i, t) {
        struct sched_taint *x = &(*out)[i];
        const char *effect;

        if (!json_is_object(t))
            return sk_err_set(err, EINVAL, "spec.taints[%zu]: must be an object", i);
        if (sched_path_get(node, SCHED_GET_STRING, "", &x->key, err, "spec.taints[%zu].key", i) <
                0 ||
            sched_path_get(node, SCHED_GET_STRING, "", &x->value, err, "spec.taints[%zu].value",
                           i) < 0 ||
            sched_path_get(node, SCHED_GET_STRING, "", &effect, err, "spec.taints[%zu].effect", i) <
                0)
            return -EINVAL;
        if (!*x->key)
            return sk_err_set(err, EINVAL, "spec.taints[%zu].key: required", i);
        if (sched_effect_parse(effect, &x->effect) < 0 || x->effect == SCHED_EFFECT_NONE)
            return sk_err_set(err, EINVAL,
                              "spec.taints[%zu].effect: unsupported value '%s' (NoSchedule, "
                              "PreferNoSchedule, NoExecute)",
                              i, effect);
        (*nout)++;
    }
    return 0;
}

/* Ready condition False or Unknown. A node without one counts as ready:
 * the node lifecycle controller taints such a node not-ready, and the
 * taint is what Kubernetes' scheduler looks at. */
static int
parse_ready(const json_t *node, bool *not_ready, struct sk_err *err)
{
    json_t *arr, *c;
    size_t i;

    *not_ready = false;
    if (sk_json_opt_array(node, "status.conditions", &arr, err) < 0)
        return -EINVAL;
    json_array_foreach (arr, i, c) {
        const char *type, *status;

        if (!json_is_object(c))
            return sk_err_set(err, EINVAL, "status.conditions[%zu]: must be an object", i);
        if (sched_path_get(node, SCHED_GET_STRING, "", &type, err, "status.conditions[%zu].type",
                           i) < 0 ||
            sched_path_get(node, SCHED_GET_STRING, "", &status, err,
                           "status.conditions[%zu].status", i) < 0)
            return -EINVAL;
        if (strcmp(type, "Ready") == 0)
            *not_ready = strcmp(status, "True") != 0;
    }
    return 0;
}

/* Fill ni's node-derived fields from obj; on failure ni is unchanged. */
int
sched_node_info_update(struct sched_node_info *ni, const json_t *obj, struct sk_err *err)
{
    struct sched_resources alloc;
    struct sched_taint *taints = NULL;
    size_t ntaints = 0;
    bool unsched, not_ready;
    json_t *labels;

    if (sk_json_opt_object(obj, "metadata.labels", &labels, err) < 0 ||
        sk_json_opt_bool(obj, "spec.unschedulable", false, &unsched, err) < 0 ||
        parse_allocatable(obj, &alloc, err) < 0 || parse_ready(obj, &not_ready, err) < 0 ||
        parse_taints(obj, &taints, &ntaints, err) < 0) {
        free(taints);
        return -EINVAL;
    }
    json_incref((json_t *)obj);
    json_decref(ni->obj);
    free(ni->taints);
    ni->obj = (json_t *)obj;
    ni->labels = labels;
    ni->hostname = json_string_value(json_object_get(labels, HOSTNAME_KEY));
    ni->unschedulable = unsched;
    ni->not_ready = not_ready;
    ni->taints = taints;
    ni->ntaints = ntaints;
    ni->alloc = alloc;
    return 0;
}

/* Forget the node object; pods stay. */
void
sched_node_info_clear(struct sched_node_info *ni)
{
    json_decref(ni->obj);
    free(ni->taints);
    ni->obj = NULL;
    ni->labels = NULL;
    ni->hostname = NULL;
    ni->taints = NULL;
    ni->ntaints = 0;
    memset(&ni->alloc, 0, sizeof(ni->alloc));
}

/* The hostname is the usual topology key of inter-pod (anti-)affinity,
 * looked up per node and term: a string compare beats hashing the key
 * into the labels object (a quarter of an anti-affinity attempt). */
const char *
sched_node_label(const struct sched_node_info *ni, const char *key)
{
    json_t *v;

    if (strcmp(key, HOSTNAME_KEY) == 0)
        return ni->hostname;
    v = ni->labels ? json_object_get(ni->labels, key) : NULL;

    return json_is_string(v) ? json_string_value(v) : NULL;
}

static void
res_add(struct sched_resources *a, const struct sched_resources *b, int sign)
{
    a->milli_cpu += sign * b->milli_cpu;
    a->memory += sign * b->memory;
    a->ephemeral += sign * b->ephemeral;
    a->pods += sign * b->pods;
}

/* Pods whose terms can score an incoming pod (required anti-affinity
 * only filters, it is counted in nanti). */
static bool
has_affinity(const struct sched_pod *p)
{
    return p->naff_req || p->naff_pref || p->nanti_pref;
}

void
sched_node_info_add_pod(struct sched_node_info *ni, struct sched_cached_pod *cp)
{
    const struct sched_pod *p = cp->pod;

    if (ni->npods == ni->pods_cap) {
        ni->pods_cap = ni->pods_cap ? ni->pods_cap * 2 : 8;
        ni->pods = sk_reallocarray(ni->pods, ni->pods_cap, sizeof(*ni->pods));
    }
    ni->pods[ni->npods++] = cp;
    if (p->nports && ni->nports + p->nports > ni->ports_cap) {
        ni->ports_cap = (ni->nports + p->nports) * 2;
        ni->ports = sk_reallocarray(ni->ports, ni->ports_cap, sizeof(*ni->ports));
    }
    if (p->nports)
        memcpy(ni->ports + ni->nports, p->ports, p->nports * sizeof(*p->ports));
    ni->nports += p->nports;
    res_add(&ni->requested, &p->req, 1);
    res_add(&ni->nonzero, &p->nonzero, 1);
    ni->naffinity += has_affinity(p);
    ni->nanti += p->nanti_req > 0;
    cp->node = ni;
}

/* The exact inverse of sched_node_info_add_pod: integer sums, and the
 * pod's own port entries (same string pointers) taken out. */
void
sched_node_info_remove_pod(struct sched_node_info *ni, struct sched_cached_pod *cp)
{
    const struct sched_pod *p = cp->pod;

    for (size_t i = 0; i < ni->npods; i++) {
        if (ni->pods[i] == cp) {
            ni->pods[i] = ni->pods[--ni->npods];
            break;
        }
    }
    for (size_t k = 0; k < p->nports; k++) {
        for (size_t i = 0; i < ni->nports; i++) {
            if (ni->ports[i].protocol == p->ports[k].protocol &&
                ni->ports[i].ip == p->ports[k].ip && ni->ports[i].port == p->ports[k].port) {
                ni->ports[i] = ni->ports[--ni->nports];
                break;
            }
        }
    }
    res_add(&ni->requested, &p->req, -1);
    res_add(&ni->nonzero, &p->nonzero, -1);
    ni->naffinity -= has_affinity(p);
    ni->nanti -= p->nanti_req > 0;
    cp->node = NULL;
}

void
sched_node_allocatable(const struct sched_node_info *ni, struct sched_resources *out)
{
    *out = ni->alloc;
}

void
sched_node_requested(const struct sched_node_info *ni, struct sched_resources *out)
{
    *out = ni->requested;
}

size_t
sched_node_pod_count(const struct sched_node_info *ni)
{
    return ni->npods;
}

size_t
sched_node_port_count(const struct sched_node_info *ni)
{
    return ni->nports;
}
