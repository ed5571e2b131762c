/* The Endpoints controller's I/O: for a Service with a selector, write
 * the Endpoints object ctrl_endpoints_compute gives when its subsets or
 * labels differ from the cached one (create, or a replace conditional
 * on the cached resourceVersion); when the Service is gone, delete its
 * Endpoints. A Service without a selector keeps hand-made Endpoints. */

#include "ctrl/manager_int.h"

#include "lib/json.h"
#include "lib/log.h"

static json_t *
subsets_of(const json_t *ep)
{
    json_t *s = json_object_get(ep, "subsets");

    return json_is_array(s) && json_array_size(s) > 0 ? json_incref(s) : json_array();
}

/* 1 when cur already says what want says. */
static int
same(const json_t *cur, const json_t *want)
{
    json_t *a = subsets_of(cur), *b = subsets_of(want);
    json_t *la = sk_json_get(cur, "metadata.labels"), *lb = sk_json_get(want, "metadata.labels");
    int eq = json_equal(a, b) &&
             (json_object_size(la) + json_object_size(lb) == 0 || json_equal(la, lb));

    json_decref(a);
    json_decref(b);
    return eq;
}

static void
write_endpoints(struct ctrl_job *job, const json_t *cur, json_t *want)
{
    json_t *obj;

    if (!cur) {
        ctrl_job_create(job, want, 0, NULL, NULL);
        return;
    }
    obj = json_deep_copy(cur);
    json_object_set(obj, "subsets", json_object_get(want, "subsets"));
    json_object_set(json_object_get(obj, "metadata"), "labels",
                    sk_json_get(want, "metadata.labels"));
    ctrl_job_update(job, obj, NULL, NULL);
    json_decref(obj);
}

static void
ep_sync(struct ctrl_job *job)
{
    struct ctrl_manager *m = job->m;
    char ns[256], name[256];
    const json_t *svc, *cur;
    json_t *pods, *want = NULL;
    struct sk_err err;
    int rc;

    sk_err_init(&err);
    if (ctrl_key_split(job->key, ns, sizeof(ns), name, sizeof(name)) < 0)
        return;
    svc = api_informer_get(m->inf[RES_SVC], ns, name);
    cur = api_informer_get(m->inf[RES_EP], ns, name);
    if (!svc) {
        if (cur)
            ctrl_job_delete(job, "endpoints", ns, name,
                            json_string_value(sk_json_get(cur, "metadata.uid")), NULL, NULL, NULL);
        return;
    }
    if (ctrl_obj_deleting(svc))
        return;
    pods = ctrl_cache_list(m, RES_PODS, ns);
    rc = ctrl_endpoints_compute(svc, pods, &want, &err);
    if (rc < 0)
        sk_warn("ctrl", "endpoints '%s': %s", job->key, err.msg);
    else if (rc == 0 && !(cur && same(cur, want)))
        write_endpoints(job, cur, want);
    json_decref(want);
    json_decref(pods);
}

const struct ctrl_ctl_ops ctrl_ep_ops = {"endpoints", "endpoint-controller", ep_sync};
