/* The ReplicaSet controller's reconcile (Kubernetes'
 * ReplicaSetController.syncReplicaSet, manageReplicas, calculateStatus),
 * as a pure function of the ReplicaSet, its namespace's pods, the
 * expectations and the time.
 *
 * Steps: drop pods that do not count (terminating, Succeeded, Failed);
 * claim the rest (owned, adopt, release, ignore); if the expectations are
 * satisfied and the ReplicaSet is not being deleted, create or delete the
 * difference to spec.replicas, at most 500 per sync; compute the status
 * over the claimed pods. */

#include "ctrl/ctrl_int.h"
#include "lib/json.h"
#include "lib/selector.h"

#include <errno.h>
#include <string.h>

void
ctrl_rs_decision_init(struct ctrl_rs_decision *d)
{
    memset(d, 0, sizeof(*d));
}

void
ctrl_rs_decision_release(struct ctrl_rs_decision *d)
{
    json_decref(d->pod);
    json_decref(d->deletes);
    json_decref(d->adopt);
    json_decref(d->release);
    json_decref(d->status);
    ctrl_rs_decision_init(d);
}

struct rs_spec {
    int64_t replicas, min_ready, generation;
    json_t *template;
    struct sk_selector sel;
};

static int
rs_spec_read(const json_t *rs, struct rs_spec *s, struct sk_err *err)
{
    json_t *selector;
    int rc;

    rc = ctrl_get_count(rs, "spec.replicas", 1, &s->replicas, err);
    if (rc >= 0)
        rc = ctrl_get_count(rs, "spec.minReadySeconds", 0, &s->min_ready, err);
    if (rc >= 0)
        rc = sk_json_opt_int(rs, "metadata.generation", 0, &s->generation, err);
    if (rc >= 0)
        rc = sk_json_get_object(rs, "spec.template", &s->template, err);
    if (rc >= 0)
        rc = sk_json_get_object(rs, "spec.selector", &selector, err);
    if (rc >= 0)
        rc = sk_selector_from_json(selector, &s->sel, "spec.selector", err);
    if (rc >= 0 && sk_selector_empty(&s->sel))
        rc = sk_err_set(err, EINVAL, "spec.selector: must not be empty");
    return rc < 0 ? rc : 0;
}

/* The pod created from the template (Kubernetes' GetPodFromTemplate). */
static int
rs_pod_build(const json_t *rs, const struct rs_spec *s, json_t **out, struct sk_err *err)
{
    const char *name, *ns;
    json_t *ref, *pod, *meta, *v;
    int rc;

    rc = ctrl_owner_ref_build(rs, "apps/v1", "ReplicaSet", &ref, err);
    if (rc < 0)
        return rc;
    name = json_string_value(sk_json_get(rs, "metadata.name"));
    ns = json_string_value(sk_json_get(rs, "metadata.namespace"));
    meta = json_object();
    json_object_set_new(meta, "generateName", json_sprintf("%s-", name));
    json_object_set_new(meta, "namespace", json_string(ns ? ns : "default"));
    v = sk_json_get(s->template, "metadata.labels");
    json_object_set_new(meta, "labels", json_is_object(v) ? json_deep_copy(v) : json_object());
    v = sk_json_get(s->template, "metadata.annotations");
    if (json_is_object(v))
        json_object_set_new(meta, "annotations", json_deep_copy(v));
    v = sk_json_get(s->template, "metadata.finalizers");
    if (json_is_array(v))
        json_object_set_new(meta, "finalizers", json_deep_copy(v));
    json_object_set_new(meta, "ownerReferences", json_pack("[o]", ref));
    v = sk_json_get(s->template, "spec");
    pod = json_pack("{s:s, s:s, s:o, s:o}", "apiVersion", "v1", "kind", "Pod", "metadata", meta,
                    "spec", json_is_object(v) ? json_deep_copy(v) : json_object());
    *out = pod;
    return 0;
}

/* Sort pods into owned (and adopted), adopt and release lists. */
static int
rs_claim(const json_t *rs, const struct rs_spec *s, const json_t *pods, json_t *owned,
         struct ctrl_rs_decision *d, struct sk_err *err)
{
    const char *uid = json_string_value(sk_json_get(rs, "metadata.uid"));
    json_t *pod, *ref = NULL;
    size_t i;
    int rc = 0;

    json_array_foreach (pods, i, pod) {
        enum ctrl_claim c;

        if (!json_is_object(pod) || !json_is_object(json_object_get(pod, "metadata")))
            return sk_err_set(err, EINVAL, "pods[%zu].metadata: must be an object", i);
        if (!ctrl_pod_active(pod))
            continue;
        c = ctrl_owner_claim(rs, &s->sel, pod);
        if (c == CTRL_CLAIM_OWNED) {
            json_array_append(owned, pod);
        } else if (c == CTRL_CLAIM_ADOPT) {
            if (!ref && (rc = ctrl_owner_ref_build(rs, "apps/v1", "ReplicaSet", &ref, err)) < 0)
                return rc;
            json_array_append(owned, pod);
            json_array_append_new(d->adopt, json_pack("{s:O, s:o}", "pod", pod, "patch",
                                                      ctrl_owner_adopt_patch(pod, ref)));
        } else if (c == CTRL_CLAIM_RELEASE) {
            json_array_append_new(d->release, json_pack("{s:O, s:o}", "pod", pod, "patch",
                                                        ctrl_owner_release_patch(pod, uid)));
        }
    }
    json_decref(ref);
    return 0;
}

/* Labels of pod include every label of the template (fullyLabeled). */
static int
fully_labeled(const json_t *pod, const json_t *tlabels)
{
    json_t *labels = sk_json_get(pod, "metadata.labels"), *v;
    const char *k;

    json_object_foreach ((json_t *)tlabels, k, v) {
        if (!json_is_string(v) || !json_equal(json_object_get(labels, k), v))
            return 0;
    }
    return 1;
}

static void
rs_status(const json_t *rs, const struct rs_spec *s, const json_t *owned,
          const struct ctrl_rs_input *in, struct ctrl_rs_decision *d)
{
    json_t *tlabels = sk_json_get(s->template, "metadata.labels"), *pod, *conds, *old;
    int64_t full = 0, ready = 0, avail = 0;
    size_t i;

    json_array_foreach (owned, i, pod) {
        if (!json_is_object(tlabels) || fully_labeled(pod, tlabels))
            full++;
        if (ctrl_pod_ready(pod))
            ready++;
        if (ctrl_pod_available(pod, s->min_ready, in->now_ns))
            avail++;
    }
    old = sk_json_get(rs, "status.conditions");
    conds = json_is_array(old) ? json_deep_copy(old) : json_array();
    if (in->failure_reason && !ctrl_cond_find(conds, "ReplicaFailure"))
        ctrl_cond_set(conds, "ReplicaFailure", "True", in->failure_reason,
                      in->failure_message ? in->failure_message : "", in->now_ns, 0);
    else if (!in->failure_reason)
        ctrl_cond_remove(conds, "ReplicaFailure");
    d->status = json_pack("{s:I, s:I, s:I, s:I, s:I}", "replicas",
                          (json_int_t)json_array_size(owned), "fullyLabeledReplicas",
                          (json_int_t)full, "readyReplicas", (json_int_t)ready, "availableReplicas",
                          (json_int_t)avail, "observedGeneration", (json_int_t)s->generation);
    if (json_array_size(conds) > 0)
        json_object_set(d->status, "conditions", conds);
    json_decref(conds);
    d->status_changed = !json_equal(d->status, sk_json_get(rs, "status"));
    /* Pods become available minReadySeconds after turning ready, with no
     * event to say so: look again then (as Kubernetes does). */
    if (s->min_ready > 0 && ready == s->replicas && avail != s->replicas)
        d->requeue_after_ns = s->min_ready * 1000000000LL;
}

static int
rs_manage(const json_t *rs, const struct rs_spec *s, json_t *owned, struct ctrl_rs_decision *d,
          struct sk_err *err)
{
    int64_t diff = (int64_t)json_array_size(owned) - s->replicas;
    size_t i;

    if (diff < 0) {
        d->create = -diff < CTRL_RS_BURST ? -diff : CTRL_RS_BURST;
        return rs_pod_build(rs, s, &d->pod, err);
    }
    if (diff > CTRL_RS_BURST)
        diff = CTRL_RS_BURST;
    if (diff > 0) {
        json_t *sorted = json_copy(owned);

        ctrl_pods_sort_for_deletion(sorted);
        for (i = 0; i < (size_t)diff; i++)
            json_array_append(d->deletes, json_array_get(sorted, i));
        json_decref(sorted);
    }
    return 0;
}

int
ctrl_rs_reconcile(const struct ctrl_rs_input *in, struct ctrl_rs_decision *d, struct sk_err *err)
{
    struct rs_spec s = {0};
    json_t *owned = json_array();
    int rc;

    ctrl_rs_decision_init(d);
    d->deletes = json_array();
    d->adopt = json_array();
    d->release = json_array();
    sk_selector_init(&s.sel);
    rc = ctrl_obj_key(in->rs, d->key, sizeof(d->key), err);
    if (rc < 0) {
        sk_err_wrap(err, "replicaset");
        goto out;
    }
    rc = rs_spec_read(in->rs, &s, err);
    if (rc >= 0 && !json_is_array(in->pods))
        rc = sk_err_set(err, EINVAL, "pods: must be an array");
    if (rc >= 0)
        rc = rs_claim(in->rs, &s, in->pods, owned, d, err);
    d->satisfied = ctrl_expectations_satisfied(in->exp, d->key, in->now_ns);
    if (rc >= 0 && d->satisfied && !ctrl_obj_deleting(in->rs))
        rc = rs_manage(in->rs, &s, owned, d, err);
    if (rc >= 0)
        rs_status(in->rs, &s, owned, in, d);
    if (rc < 0)
        sk_err_wrap(err, "replicaset '%s'", d->key);
out:
    if (rc < 0)
        ctrl_rs_decision_release(d);
    json_decref(owned);
    sk_selector_release(&s.sel);
    return rc < 0 ? rc : 0;
}
