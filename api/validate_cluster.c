/* Namespace, Node and Event validation. */
#include "validate_int.h"

#include "lib/alloc.h"
#include "lib/conf.h"

#include <stdlib.h>
#include <string.h>

void
v_namespace(struct vctx *v, const json_t *obj)
{
    json_t *spec = v_obj(v, obj, "spec"), *status = v_obj(v, obj, "status");
    size_t mark;

    if (spec) {
        mark = vpath_child(v, "spec");
        v_str_list(v, spec, "finalizers");
        vpath_pop(v, mark);
    }
    if (status) {
        mark = vpath_child(v, "status");
        v_enum(v, status, "phase", (const char *const[]){"Active", "Terminating", NULL}, false);
        vpath_pop(v, mark);
    }
}

static void
v_taint(struct vctx *v, const json_t *t, json_t *seen)
{
    static const char *const effects[] = {"NoSchedule", "PreferNoSchedule", "NoExecute", NULL};
    const char *key = v_str(v, t, "key"), *value = v_str(v, t, "value"), *effect;
    struct sk_err err;
    char *pair;

    sk_err_init(&err);
    if (!key || !*key)
        v_err(v, API_FE_REQUIRED, "key", NULL, NULL);
    else if (ext_label_key_valid(key, &err) < 0)
        v_err_str(v, API_FE_INVALID, "key", key, "%s", err.msg);
    if (value && ext_label_value_valid(value, &err) < 0)
        v_err_str(v, API_FE_INVALID, "value", value, "%s", err.msg);
    effect = v_enum(v, t, "effect", effects, true);
    if (!key || !effect)
        return;
    pair = sk_asprintf("%s:%s", key, effect);
    if (json_object_get(seen, pair))
        v_err(v, API_FE_DUPLICATE, NULL, t, "taints must be unique by key and effect pair");
    json_object_set_new(seen, pair, json_true());
    free(pair);
}

static void
v_node_spec(struct vctx *v, const json_t *spec)
{
    json_t *cidrs = v_str_list(v, spec, "podCIDRs"), *taints = v_arr(v, spec, "taints"), *t;
    json_t *seen = json_object();
    const char *cidr = v_str(v, spec, "podCIDR");
    struct sk_err err;
    size_t mark;

    sk_err_init(&err);
    if (cidr && *cidr && sk_conf_check_cidr(cidr, &err) < 0)
        v_err_str(v, API_FE_INVALID, "podCIDR", cidr, "%s", err.msg);
    mark = vpath_child(v, "podCIDRs");
    for (size_t i = 0; i < json_array_size(cidrs); i++) {
        const char *c = json_string_value(json_array_get(cidrs, i));
        size_t imark = vpath_index(v, i);

        if (c && sk_conf_check_cidr(c, &err) < 0)
            v_err_str(v, API_FE_INVALID, NULL, c, "%s", err.msg);
        vpath_pop(v, imark);
    }
    vpath_pop(v, mark);
    if (cidr && *cidr && json_array_size(cidrs) && json_is_string(json_array_get(cidrs, 0)) &&
        strcmp(cidr, json_string_value(json_array_get(cidrs, 0))))
        v_err(v, API_FE_INVALID, "podCIDRs", cidrs, "first entry must match spec.podCIDR");
    v_bool(v, spec, "unschedulable", &(bool){false});
    v_str(v, spec, "providerID");
    mark = vpath_child(v, "taints");
    for (size_t i = 0; i < json_array_size(taints); i++) {
        if (!(t = v_elem_obj(v, taints, i)))
            continue;
        size_t imark = vpath_index(v, i);

        v_taint(v, t, seen);
        vpath_pop(v, imark);
    }
    vpath_pop(v, mark);
    json_decref(seen);
}

static void
v_node_resources(struct vctx *v, const json_t *status, const char *field)
{
    json_t *map = v_obj(v, status, field), *q;
    const char *name;
    struct sk_err err;
    int64_t milli;
    size_t mark = vpath_child(v, field), kmark;

    json_object_foreach (map, name, q) {
        sk_err_init(&err);
        kmark = vpath_key(v, name);
        if (ext_quantity_milli(q, &milli, &err) < 0)
            v_err(v, API_FE_INVALID, NULL, q, "%s", err.msg);
        else if (milli < 0)
            v_err(v, API_FE_INVALID, NULL, q, "must be greater than or equal to 0");
        vpath_pop(v, kmark);
    }
    vpath_pop(v, mark);
}

void
v_node(struct vctx *v, const json_t *obj)
{
    json_t *spec = v_obj(v, obj, "spec"), *status = v_obj(v, obj, "status");
    size_t mark;

    if (spec) {
        mark = vpath_child(v, "spec");
        v_node_spec(v, spec);
        vpath_pop(v, mark);
    }
    if (status) {
        mark = vpath_child(v, "status");
        v_node_resources(v, status, "capacity");
        v_node_resources(v, status, "allocatable");
        v_arr(v, status, "conditions");
        v_arr(v, status, "addresses");
        vpath_pop(v, mark);
    }
}

/* Kubernetes's legacy (core/v1) event rules plus what `describe` needs:
 * an involvedObject with a kind and a name. */
void
v_event(struct vctx *v, const json_t *obj)
{
    json_t *inv = v_obj(v, obj, "involvedObject");
    const char *ns =
        json_string_value(json_object_get(json_object_get(obj, "metadata"), "namespace"));
    const char *s, *ins;
    size_t mark;

    if (!inv) {
        if (!json_object_get(obj, "involvedObject"))
            v_err(v, API_FE_REQUIRED, "involvedObject", NULL, NULL);
    } else {
        mark = vpath_child(v, "involvedObject");
        if (!(s = v_str(v, inv, "kind")) || !*s)
            v_err(v, API_FE_REQUIRED, "kind", NULL, NULL);
        if (!(s = v_str(v, inv, "name")) || !*s)
            v_err(v, API_FE_REQUIRED, "name", NULL, NULL);
        ins = v_str(v, inv, "namespace");
        if (ins && *ins && ns && strcmp(ns, ins))
            v_err_str(v, API_FE_INVALID, "namespace", ins, "does not match event.namespace");
        vpath_pop(v, mark);
    }
    v_enum(v, obj, "type", (const char *const[]){"Normal", "Warning", NULL}, false);
    v_nonneg(v, obj, "count");
    v_str(v, obj, "reason");
    v_str(v, obj, "message");
    v_obj(v, obj, "source");
}

/* coordination.k8s.io/v1 Lease: the spec's fields typed, the duration
 * positive (Kubernetes's ValidateLeaseSpec). */
void
v_lease(struct vctx *v, const json_t *obj)
{
    json_t *spec = v_obj(v, obj, "spec");
    int64_t n;
    size_t mark;

    if (!spec)
        return;
    mark = vpath_child(v, "spec");
    v_str(v, spec, "holderIdentity");
    if (v_int(v, spec, "leaseDurationSeconds", &n) && n <= 0)
        v_err_int(v, API_FE_INVALID, "leaseDurationSeconds", n, "must be greater than 0");
    v_nonneg(v, spec, "leaseTransitions");
    v_str(v, spec, "acquireTime");
    v_str(v, spec, "renewTime");
    vpath_pop(v, mark);
}
