/* kubelet/: the pod's status, computed from what the agent observed.
 *
 * Pure: spec and the previous status (for condition transition times)
 * in, a new status object out. The rules are Kubernetes' (kubelet
 * getPhase, generateAPIPodStatus, pkg/apis/core/v1/helper/qos):
 *
 *   phase   init containers not all done -> Pending (Failed if one failed
 *           and restartPolicy is Never); a waiting container that never
 *           ran -> Pending; one running -> Running; all terminated ->
 *           Running under Always (they restart), Succeeded if all exited
 *           0, Failed under Never, Running under OnFailure; a container
 *           the runtime does not know -> Pending / Unknown as Kubernetes.
 *   conditions  PodScheduled, Initialized, ContainersReady, Ready, in that
 *           order; lastTransitionTime is kept while status stays the same.
 *   qosClass    Guaranteed: every container has cpu and memory limits and
 *           requests equal limits; BestEffort: no cpu/memory request or
 *           limit anywhere; otherwise Burstable. */
#include "kubelet/kl_int.h"

#include "lib/alloc.h"
#include "lib/quantity.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct kl_ctr_obs *
find_obs(const struct kl_ctr_obs *v, size_t n, const char *name)
{
    for (size_t i = 0; name && i < n; i++) {
        if (v[i].name && strcmp(v[i].name, name) == 0)
            return &v[i];
    }
    return NULL;
}

static const json_t *
spec_list(const json_t *pod, const char *key)
{
    const json_t *a = json_object_get(json_object_get(pod, "spec"), key);

    return json_is_array(a) ? a : NULL;
}

static const char *
ctr_name(const json_t *c)
{
    return json_string_value(json_object_get(c, "name"));
}

static const char *
policy_of(const json_t *pod)
{
    const char *p =
        json_string_value(json_object_get(json_object_get(pod, "spec"), "restartPolicy"));
    return p ? p : "Always";
}

/* Init containers: 0 all done, 1 pending, 2 failed (under Never). */
static int
init_state(const struct kl_status_in *in, struct sk_buf *pending)
{
    const json_t *list = spec_list(in->pod, "initContainers");
    int failed = 0, waiting = 0;
    size_t i;
    json_t *c;

    json_array_foreach ((json_t *)list, i, c) {
        const struct kl_ctr_obs *o = find_obs(in->init_ctrs, in->ninit, ctr_name(c));
        bool done = o && o->state == KL_CTR_TERMINATED && o->term.exit_code == 0;

        if (o && o->state == KL_CTR_TERMINATED && o->term.exit_code != 0)
            failed++;
        else if (o && o->state == KL_CTR_WAITING && o->has_last && o->last.exit_code != 0)
            failed++;
        else if (o && o->state == KL_CTR_WAITING && o->has_last && o->last.exit_code == 0)
            done = true;
        if (!done) {
            waiting++;
            if (pending)
                sk_buf_printf(pending, "%s%s", pending->len ? " " : "", ctr_name(c));
        }
    }
    if (failed && strcmp(policy_of(in->pod), "Never") == 0)
        return 2;
    return waiting ? 1 : 0;
}

const char *
kl_status_phase(const struct kl_status_in *in)
{
    const json_t *list = spec_list(in->pod, "containers");
    int running = 0, waiting = 0, stopped = 0, succeeded = 0, unknown = 0;
    const char *policy = policy_of(in->pod);
    size_t i;
    json_t *c;

    switch (init_state(in, NULL)) {
    case 2:
        return "Failed";
    case 1:
        return "Pending";
    }
    json_array_foreach ((json_t *)list, i, c) {
        const struct kl_ctr_obs *o = find_obs(in->ctrs, in->nctrs, ctr_name(c));

        if (!o || o->state == KL_CTR_UNKNOWN)
            unknown++;
        else if (o->state == KL_CTR_RUNNING)
            running++;
        else if (o->state == KL_CTR_TERMINATED) {
            stopped++;
            succeeded += o->term.exit_code == 0;
        } else if (o->has_last) {
            stopped++;
            succeeded += o->last.exit_code == 0;
        } else
            waiting++;
    }
    if (waiting > 0)
        return "Pending";
    if (running > 0 && unknown == 0)
        return "Running";
    if (running == 0 && stopped > 0 && unknown == 0) {
        if (strcmp(policy, "Always") == 0)
            return "Running";
        if (stopped == succeeded)
            return "Succeeded";
        if (strcmp(policy, "Never") == 0)
            return "Failed";
        return "Running";
    }
    return "Pending";
}

/* ---- QoS ---- */

struct qos_sum {
    struct sk_quantity v[2]; /* cpu, memory */
    bool set[2];
};

/* Add map[name] (a quantity) to sum->v[r]; 1 when absent or zero. */
static int
qos_add(const json_t *map, const char *path, int r, struct qos_sum *sum, struct sk_err *err)
{
    const char *name = r ? "memory" : "cpu";
    const json_t *v = json_object_get(map, name);
    struct sk_quantity q;

    if (!v || json_is_null(v))
        return 1;
    if (sk_quantity_from_json(v, &q, err) < 0)
        return sk_err_wrap(err, "%s.%s", path, name);
    if (sk_quantity_sign(&q) == 0)
        return 1;
    if (sk_quantity_add(&sum->v[r], &q, err) < 0)
        return sk_err_wrap(err, "%s.%s", path, name);
    sum->set[r] = true;
    return 0;
}

static int
qos_container(const json_t *c, const char *path, struct qos_sum *req, struct qos_sum *lim,
              bool *guaranteed, struct sk_err *err)
{
    const json_t *res, *rq, *lm;
    char sub[256], rpath[256], lpath[256];
    int rc;

    if ((rc = kl_opt_obj(c, path, "resources", &res, err)) < 0)
        return rc;
    sk_snprintf(sub, sizeof(sub), "%s.resources", path);
    if ((rc = kl_opt_obj(res, sub, "requests", &rq, err)) < 0 ||
        (rc = kl_opt_obj(res, sub, "limits", &lm, err)) < 0)
        return rc;
    sk_snprintf(rpath, sizeof(rpath), "%s.requests", sub);
    sk_snprintf(lpath, sizeof(lpath), "%s.limits", sub);
    for (int r = 0; r < 2; r++) {
        const char *name = r ? "memory" : "cpu";
        const json_t *rv = json_object_get(rq, name);
        /* API defaulting: a missing request takes the limit */
        bool req_missing = !rv || json_is_null(rv);

        if ((rc = qos_add(lm, lpath, r, lim, err)) < 0)
            return rc;
        if (rc == 1)
            *guaranteed = false;
        if ((rc = qos_add(req_missing ? lm : rq, req_missing ? lpath : rpath, r, req, err)) < 0)
            return rc;
    }
    return 0;
}

int
kl_status_qos(const json_t *pod, const char **out, struct sk_err *err)
{
    static const char *const lists[] = {"initContainers", "containers"};
    struct qos_sum req = {0}, lim = {0};
    bool guaranteed = true;
    char path[128];
    size_t i;
    json_t *c;
    int rc;

    for (int l = 0; l < 2; l++) {
        json_array_foreach ((json_t *)spec_list(pod, lists[l]), i, c) {
            sk_snprintf(path, sizeof(path), "spec.%s[%zu]", lists[l], i);
            if (!json_is_object(c))
                return sk_err_set(err, EINVAL, "%s: must be an object", path);
            if ((rc = qos_container(c, path, &req, &lim, &guaranteed, err)) < 0)
                return rc;
        }
    }
    if (!req.set[0] && !req.set[1] && !lim.set[0] && !lim.set[1])
        *out = "BestEffort";
    else if (guaranteed && req.set[0] == lim.set[0] && req.set[1] == lim.set[1] &&
             sk_quantity_cmp(&req.v[0], &lim.v[0]) == 0 &&
             sk_quantity_cmp(&req.v[1], &lim.v[1]) == 0)
        *out = "Guaranteed";
    else
        *out = "Burstable";
    return 0;
}
