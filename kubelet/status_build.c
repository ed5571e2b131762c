/* kubelet/: the status object (containerStatuses, conditions) and the
 * "significant change" test. See status.c for the rules. */
#include "kubelet/kl_int.h"

#include "lib/alloc.h"
#include "lib/clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
set_str(json_t *o, const char *k, const char *v)
{
    if (v && *v)
        json_object_set_new(o, k, json_string(v));
}

static json_t *
terminated_json(const struct kl_term *t)
{
    json_t *o = json_object();
    char id[192];

    json_object_set_new(o, "exitCode", json_integer(t->exit_code));
    if (t->signal)
        json_object_set_new(o, "signal", json_integer(t->signal));
    set_str(o, "reason", t->reason ? t->reason : (t->exit_code ? "Error" : "Completed"));
    set_str(o, "message", t->message);
    set_str(o, "startedAt", t->started_at);
    set_str(o, "finishedAt", t->finished_at);
    if (t->container_id && *t->container_id) {
        sk_snprintf(id, sizeof(id), "skiff://%s", t->container_id);
        json_object_set_new(o, "containerID", json_string(id));
    }
    return o;
}

static json_t *
state_json(const struct kl_ctr_obs *o, const char *unknown_reason)
{
    json_t *st = json_object(), *inner = json_object();

    switch (o ? o->state : KL_CTR_UNKNOWN) {
    case KL_CTR_RUNNING:
        set_str(inner, "startedAt", o->started_at);
        json_object_set_new(st, "running", inner);
        break;
    case KL_CTR_TERMINATED:
        json_decref(inner);
        json_object_set_new(st, "terminated", terminated_json(&o->term));
        break;
    case KL_CTR_WAITING:
        set_str(inner, "reason", o->reason ? o->reason : unknown_reason);
        set_str(inner, "message", o->message);
        json_object_set_new(st, "waiting", inner);
        break;
    default:
        set_str(inner, "reason", unknown_reason);
        json_object_set_new(st, "waiting", inner);
        break;
    }
    return st;
}

static json_t *
ctr_status(const json_t *spec_ctr, const struct kl_ctr_obs *o, const char *unknown_reason)
{
    json_t *s = json_object(), *last = json_object();
    const char *name = json_string_value(json_object_get(spec_ctr, "name"));
    const char *image = json_string_value(json_object_get(spec_ctr, "image"));
    char id[192];

    json_object_set_new(s, "name", json_string(name ? name : ""));
    json_object_set_new(s, "state", state_json(o, unknown_reason));
    if (o && o->has_last)
        json_object_set_new(last, "terminated", terminated_json(&o->last));
    json_object_set_new(s, "lastState", last);
    json_object_set_new(s, "ready", json_boolean(o && o->state == KL_CTR_RUNNING && o->ready));
    json_object_set_new(s, "restartCount", json_integer(o ? o->restart_count : 0));
    json_object_set_new(s, "image", json_string(o && o->image ? o->image : image ? image : ""));
    json_object_set_new(s, "imageID", json_string(o && o->image_id ? o->image_id : ""));
    if (o && o->container_id && *o->container_id) {
        sk_snprintf(id, sizeof(id), "skiff://%s", o->container_id);
        json_object_set_new(s, "containerID", json_string(id));
    }
    json_object_set_new(s, "started", json_boolean(o && o->state == KL_CTR_RUNNING && o->started));
    return s;
}

static const struct kl_ctr_obs *
find_obs(const struct kl_ctr_obs *v, size_t n, const char *name)
{
    for (size_t i = 0; name && i < n; i++) {
        if (v[i].name && strcmp(v[i].name, name) == 0)
            return &v[i];
    }
    return NULL;
}

static json_t *
statuses(const json_t *list, const struct kl_ctr_obs *obs, size_t n, const char *unknown_reason,
         struct sk_buf *unready, struct sk_buf *incomplete)
{
    json_t *arr = json_array(), *c;
    size_t i;

    json_array_foreach ((json_t *)list, i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        const struct kl_ctr_obs *o = find_obs(obs, n, name);
        json_t *s = ctr_status(c, o, unknown_reason);

        if (unready && !json_is_true(json_object_get(s, "ready")))
            sk_buf_printf(unready, "%s%s", unready->len ? " " : "", name ? name : "");
        if (incomplete && !(o && o->state == KL_CTR_TERMINATED && o->term.exit_code == 0))
            sk_buf_printf(incomplete, "%s%s", incomplete->len ? " " : "", name ? name : "");
        json_array_append_new(arr, s);
    }
    return arr;
}

/* A condition; lastTransitionTime kept from old when status is equal. */
static json_t *
condition(const json_t *old_conds, const char *type, bool ok, const char *reason, const char *msg,
          const char *now)
{
    const char *st = ok ? "True" : "False", *ltt = now;
    json_t *c = json_object(), *o;
    size_t i;

    json_array_foreach ((json_t *)old_conds, i, o) {
        const char *t = json_string_value(json_object_get(o, "type"));
        const char *s = json_string_value(json_object_get(o, "status"));
        const char *l = json_string_value(json_object_get(o, "lastTransitionTime"));
        if (t && s && l && strcmp(t, type) == 0 && strcmp(s, st) == 0)
            ltt = l;
    }
    json_object_set_new(c, "type", json_string(type));
    json_object_set_new(c, "status", json_string(st));
    json_object_set_new(c, "lastProbeTime", json_null());
    json_object_set_new(c, "lastTransitionTime", json_string(ltt ? ltt : ""));
    if (!ok) {
        set_str(c, "reason", reason);
        set_str(c, "message", msg);
    }
    return c;
}

static json_t *
conditions(const struct kl_status_in *in, const char *phase, const char *incomplete,
           const char *unready)
{
    const json_t *old = json_object_get(json_object_get(in->pod, "status"), "conditions");
    json_t *arr = json_array();
    bool inited = *incomplete == '\0', ready = *unready == '\0';
    char msg[1024];
    const char *reason = "ContainersNotReady";

    if (!json_is_array(old))
        old = NULL;
    json_array_append_new(arr, condition(old, "PodScheduled", true, NULL, NULL, in->now));
    sk_snprintf(msg, sizeof(msg), "containers with incomplete status: [%s]", incomplete);
    json_array_append_new(
        arr, condition(old, "Initialized", inited, "ContainersNotInitialized", msg, in->now));
    sk_snprintf(msg, sizeof(msg), "containers with unready status: [%s]", unready);
    if (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0) {
        ready = false;
        reason = "PodCompleted";
        msg[0] = '\0';
    }
    json_array_append_new(arr, condition(old, "ContainersReady", ready, reason, msg, in->now));
    json_array_append_new(arr, condition(old, "Ready", ready, reason, msg, in->now));
    return arr;
}

int
kl_status_build(const struct kl_status_in *in, json_t **out, struct sk_err *err)
{
    const json_t *spec = json_object_get(in->pod, "spec");
    struct sk_buf unready = SK_BUF_INIT, incomplete = SK_BUF_INIT;
    const char *phase, *qos;
    json_t *st, *ips, *init_list = json_object_get(spec, "initContainers");
    int rc;

    if (!json_is_object(spec))
        return sk_err_set(err, EINVAL, "spec: must be an object");
    if (!json_is_array(json_object_get(spec, "containers")))
        return sk_err_set(err, EINVAL, "spec.containers: must be an array");
    if (init_list && !json_is_array(init_list) && !json_is_null(init_list))
        return sk_err_set(err, EINVAL, "spec.initContainers: must be an array");
    if ((rc = kl_status_qos(in->pod, &qos, err)) < 0)
        return rc;
    phase = kl_status_phase(in);
    sk_buf_puts(&unready, "");
    sk_buf_puts(&incomplete, "");
    st = json_object();
    json_object_set_new(st, "phase", json_string(phase));
    json_object_set_new(st, "conditions", json_null()); /* keeps the key order */
    set_str(st, "hostIP", in->host_ip);
    set_str(st, "podIP", in->pod_ip);
    if (in->pod_ip && *in->pod_ip) {
        ips = json_array();
        json_array_append_new(ips, json_pack("{ss}", "ip", in->pod_ip));
        json_object_set_new(st, "podIPs", ips);
    }
    set_str(st, "startTime", in->start_time);
    if (json_array_size(init_list) > 0)
        json_object_set_new(
            st, "initContainerStatuses",
            statuses(init_list, in->init_ctrs, in->ninit, "PodInitializing", NULL, &incomplete));
    json_object_set_new(st, "containerStatuses",
                        statuses(json_object_get(spec, "containers"), in->ctrs, in->nctrs,
                                 incomplete.len ? "PodInitializing" : "ContainerCreating", &unready,
                                 NULL));
    json_object_set_new(st, "qosClass", json_string(qos));
    json_object_set_new(st, "conditions", conditions(in, phase, incomplete.data, unready.data));
    sk_buf_release(&unready);
    sk_buf_release(&incomplete);
    *out = st;
    return 0;
}

/* ---- significant change ---- */

/* RFC 3339 -> ns since the epoch; false when s is not a timestamp. */
static bool
parse_time(const char *s, int64_t *ns)
{
    return sk_clock_rfc3339_parse(s, ns) == 0;
}

static bool
ignored_key(const char *k)
{
    return strcmp(k, "lastProbeTime") == 0 || strcmp(k, "lastHeartbeatTime") == 0;
}

static bool
differs(const json_t *a, const json_t *b)
{
    const char *k;
    json_t *v;
    int64_t ta, tb;

    if (json_is_string(a) && json_is_string(b)) {
        if (strcmp(json_string_value(a), json_string_value(b)) == 0)
            return false;
        return !(parse_time(json_string_value(a), &ta) && parse_time(json_string_value(b), &tb) &&
                 ta == tb);
    }
    if (json_is_object(a) && json_is_object(b)) {
        json_object_foreach ((json_t *)a, k, v) {
            if (!ignored_key(k) && differs(v, json_object_get(b, k)))
                return true;
        }
        json_object_foreach ((json_t *)b, k, v) {
            if (!ignored_key(k) && !json_object_get(a, k) && !json_is_null(v))
                return true;
        }
        return false;
    }
    if (json_is_array(a) && json_is_array(b)) {
        if (json_array_size(a) != json_array_size(b))
            return true;
        for (size_t i = 0; i < json_array_size(a); i++) {
            if (differs(json_array_get(a, i), json_array_get(b, i)))
                return true;
        }
        return false;
    }
    if ((!a || json_is_null(a)) && (!b || json_is_null(b)))
        return false;
    return !json_equal((json_t *)a, (json_t *)b);
}

bool
kl_status_significant(const json_t *old_status, const json_t *new_status)
{
    return differs(old_status, new_status);
}
