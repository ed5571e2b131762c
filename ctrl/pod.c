/* Helpers on pods and objects shared by the controllers: readiness and
 * availability (Kubernetes' podutil.IsPodReady / IsPodAvailable), active
 * pods, RFC 3339 parsing, status conditions. */

#include "ctrl/ctrl_int.h"
#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
ctrl_obj_key(const json_t *obj, char *key, size_t n, struct sk_err *err)
{
    const char *ns, *name;
    int rc;

    rc = sk_json_opt_string(obj, "metadata.namespace", "default", &ns, err);
    if (rc < 0)
        return rc;
    rc = sk_json_get_string(obj, "metadata.name", &name, err);
    if (rc < 0)
        return rc;
    if (sk_snprintf(key, n, "%s/%s", ns, name) < 0)
        return sk_err_set(err, EINVAL, "metadata.name: too long");
    return 0;
}

int
ctrl_obj_deleting(const json_t *obj)
{
    json_t *ts = sk_json_get(obj, "metadata.deletionTimestamp");

    return ts && !json_is_null(ts);
}

/* "YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)", the form Kubernetes writes. */
int
ctrl_time_parse(const char *s, int64_t *ns, struct sk_err *err)
{
    if (sk_clock_rfc3339_parse(s, ns) < 0)
        return sk_err_set(err, EINVAL, "'%.64s': not an RFC 3339 time", s ? s : "");
    return 0;
}

json_t *
ctrl_time_json(int64_t now_ns)
{
    char out[SK_CLOCK_RFC3339_MAX];

    sk_clock_rfc3339(now_ns, 0, out, sizeof(out));
    return json_string(out);
}

int
ctrl_get_count(const json_t *obj, const char *path, int64_t def, int64_t *out, struct sk_err *err)
{
    int rc = sk_json_opt_int(obj, path, def, out, err);

    if (rc < 0)
        return rc;
    if (*out < 0 || *out > INT32_MAX)
        return sk_err_set(err, EINVAL, "%s: must be between 0 and %d", path, INT32_MAX);
    return rc;
}

json_t *
ctrl_cond_find(const json_t *conds, const char *type)
{
    json_t *c;
    size_t i;

    if (!json_is_array(conds))
        return NULL;
    json_array_foreach (conds, i, c) {
        const char *t = json_string_value(json_object_get(c, "type"));

        if (t && strcmp(t, type) == 0)
            return c;
    }
    return NULL;
}

void
ctrl_cond_remove(json_t *conds, const char *type)
{
    size_t i = 0;

    while (i < json_array_size(conds)) {
        const char *t = json_string_value(json_object_get(json_array_get(conds, i), "type"));

        if (t && strcmp(t, type) == 0)
            json_array_remove(conds, i);
        else
            i++;
    }
}

static int
str_eq(const json_t *v, const char *s)
{
    const char *t = json_string_value(v);

    return t && s && strcmp(t, s) == 0;
}

void
ctrl_cond_set(json_t *conds, const char *type, const char *status, const char *reason,
              const char *message, int64_t now_ns, int with_update)
{
    json_t *cur = ctrl_cond_find(conds, type), *c, *transition = NULL;

    if (cur && str_eq(json_object_get(cur, "status"), status) &&
        str_eq(json_object_get(cur, "reason"), reason))
        return;
    if (cur && str_eq(json_object_get(cur, "status"), status))
        transition = json_incref(json_object_get(cur, "lastTransitionTime"));
    c = json_pack("{s:s, s:s}", "type", type, "status", status);
    if (with_update)
        json_object_set_new(c, "lastUpdateTime", ctrl_time_json(now_ns));
    json_object_set_new(c, "lastTransitionTime", transition ? transition : ctrl_time_json(now_ns));
    json_object_set_new(c, "reason", json_string(reason));
    json_object_set_new(c, "message", json_string(message));
    ctrl_cond_remove(conds, type);
    json_array_append_new(conds, c);
}

int
ctrl_pod_ready(const json_t *pod)
{
    json_t *c = ctrl_cond_find(sk_json_get(pod, "status.conditions"), "Ready");

    return c && str_eq(json_object_get(c, "status"), "True");
}

int
ctrl_pod_available(const json_t *pod, int64_t min_ready_s, int64_t now_ns)
{
    json_t *c = ctrl_cond_find(sk_json_get(pod, "status.conditions"), "Ready");
    const char *t;
    int64_t at;

    if (!c || !str_eq(json_object_get(c, "status"), "True"))
        return 0;
    if (min_ready_s <= 0)
        return 1;
    t = json_string_value(json_object_get(c, "lastTransitionTime"));
    if (!t || ctrl_time_parse(t, &at, NULL) < 0)
        return 0;
    return at + min_ready_s * 1000000000LL < now_ns;
}

int
ctrl_pod_active(const json_t *pod)
{
    json_t *phase = sk_json_get(pod, "status.phase");

    if (ctrl_obj_deleting(pod))
        return 0;
    return !str_eq(phase, "Succeeded") && !str_eq(phase, "Failed");
}

int64_t
ctrl_ann_int(const json_t *obj, const char *path, int64_t def)
{
    const char *s = json_string_value(sk_json_get(obj, path));
    char *end;
    long long v;

    if (!s)
        return def;
    v = strtoll(s, &end, 10);
    return end == s || *end || v < 0 ? def : v;
}

/* ---- what the controllers' pod cache keeps ---- */

/* The pod spec fields some controller reads: nodeName (ranking, the
 * taint manager, Endpoints), tolerations (the taint manager),
 * restartPolicy, hostname, subdomain (Endpoints) and each container's
 * name and ports (named target ports). Metadata and status are kept
 * whole: adopt/release patches and the node controller's status patch
 * are computed from them. No controller writes a pod's spec back, so
 * nothing dropped here can be lost on the server. */
static const char *const pod_spec_keep[] = {"nodeName", "tolerations", "restartPolicy",
                                            "hostname", "subdomain",   "containers"};

/* In place: the kept values stay where the parser put them, and what
 * is freed is reused by the next pod parsed. */
static int
kept(const char *key, const char *const *keep, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!strcmp(key, keep[i]))
            return 1;
    return 0;
}

static void
object_keep(json_t *obj, const char *const *keep, size_t n)
{
    const char *k;
    json_t *v;
    void *tmp;

    json_object_foreach_safe (obj, tmp, k, v)
        if (!kept(k, keep, n))
            json_object_del(obj, k);
}

void
ctrl_pod_slim(json_t *pod)
{
    static const char *const container_keep[] = {"name", "ports"};
    json_t *spec = json_object_get(pod, "spec"), *cs, *c;
    size_t i;

    if (!json_is_object(spec))
        return;
    cs = json_object_get(spec, "containers");
    if (json_is_array(cs)) {
        json_array_foreach (cs, i, c) {
            if (json_is_object(c))
                object_keep(c, container_keep, 2);
            else
                json_array_set_new(cs, i, json_object());
        }
    }
    object_keep(spec, pod_spec_keep, sizeof(pod_spec_keep) / sizeof(pod_spec_keep[0]));
}
