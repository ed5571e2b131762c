/* The Namespace controller (Kubernetes' namespace lifecycle).
 *
 * Every live namespace carries the finalizer "kubernetes" in
 * metadata.finalizers (added here, since the server stores namespaces
 * as it gets them), so deleting one only marks it: deletionTimestamp
 * set, and this controller sets status.phase Terminating (the server
 * then refuses new objects in it). It then lists every namespaced kind
 * in the namespace live (not from the caches: content of every kind
 * goes, not only the kinds the manager watches) and deletes what is not
 * yet being deleted. Once a full pass finds nothing left it removes the
 * finalizer, and the server removes the namespace. Until then the sync
 * comes back every second: objects with finalizers or graceful pods
 * take their time. */

#include "ctrl/manager_int.h"

#include "api/object.h"
#include "lib/alloc.h"
#include "lib/json.h"
#include "lib/log.h"

#include <stdlib.h>
#include <string.h>

#define NS_FINALIZER "kubernetes"
#define NS_RECHECK_NS (1000 * 1000 * 1000LL)

struct ns_job {
    json_t *ns;
    size_t left; /* objects still in the namespace, over every list */
};

static void
ns_job_free(void *p)
{
    struct ns_job *n = p;

    json_decref(n->ns);
    free(n);
}

static int
has_finalizer(const json_t *obj, const char *name)
{
    json_t *list = sk_json_get(obj, "metadata.finalizers"), *f;
    size_t i;

    json_array_foreach (list, i, f)
        if (json_is_string(f) && !strcmp(json_string_value(f), name))
            return 1;
    return 0;
}

static void
add_finalizer(struct ctrl_job *job, const json_t *ns)
{
    json_t *list = sk_json_get(ns, "metadata.finalizers");
    json_t *fins = json_is_array(list) ? json_deep_copy(list) : json_array();
    json_t *patch;

    json_array_append_new(fins, json_string(NS_FINALIZER));
    patch = json_pack("{s:{s:o, s:O}}", "metadata", "finalizers", fins, "resourceVersion",
                      sk_json_get(ns, "metadata.resourceVersion"));
    ctrl_job_patch(job, "namespaces", NULL, json_string_value(sk_json_get(ns, "metadata.name")),
                   NULL, patch, NULL, NULL);
    json_decref(patch);
}

static void
listed(struct api_aclient *c, int rc, const struct api_resp *resp, const struct sk_err *err,
       void *arg)
{
    struct ctrl_job *job = ctrl_call_job(arg);
    struct ns_job *n = job->priv;
    const struct api_kind *k;
    struct sk_err perr;
    size_t i;

    for (i = 0; rc == 0 && i < resp->nlines; i++) {
        json_t *obj;

        sk_err_init(&perr);
        obj = api_resp_object(resp, i, &perr);
        if (!obj || api_kind_of(obj, &k, &perr) < 0) {
            json_decref(obj);
            continue;
        }
        n->left++;
        if (!ctrl_obj_deleting(obj))
            ctrl_job_delete(job, k->resource, json_string_value(sk_json_get(obj, "metadata.namespace")),
                            json_string_value(sk_json_get(obj, "metadata.name")),
                            json_string_value(sk_json_get(obj, "metadata.uid")), NULL, NULL, NULL);
        json_decref(obj);
    }
    ctrl_call_cb(c, rc, NULL, err, arg);
}

static void
finish(struct ctrl_job *job)
{
    struct ns_job *n = job->priv;
    json_t *patch;

    if (job->failed || n->left > 0) {
        job->requeue_after_ns = NS_RECHECK_NS;
        return;
    }
    sk_info("ctrl", "namespace '%s': empty, removing finalizer '" NS_FINALIZER "'", job->key);
    patch = json_pack("{s:{s:o, s:O}}", "metadata", "finalizers",
                      ctrl_finalizers_without(n->ns, NS_FINALIZER), "resourceVersion",
                      sk_json_get(n->ns, "metadata.resourceVersion"));
    ctrl_job_patch(job, "namespaces", NULL, job->key, NULL, patch, NULL, NULL);
    json_decref(patch);
}

static void
empty_namespace(struct ctrl_job *job, const json_t *ns)
{
    struct ns_job *n = sk_calloc(1, sizeof(*n));
    const struct api_kind *kinds;
    size_t nk, i;

    n->ns = json_incref((json_t *)ns);
    job->priv = n;
    job->priv_free = ns_job_free;
    kinds = api_kinds(&nk);
    for (i = 0; i < nk; i++) {
        struct ctrl_call *cc;

        if (!kinds[i].namespaced)
            continue;
        cc = ctrl_call_new(job, 0, NULL, NULL);
        ctrl_call_sent(cc, api_aclient_list(job->m->c, kinds[i].resource, job->key, NULL, NULL, 0,
                                            NULL, listed, cc));
    }
    job->then = finish;
}

static void
ns_sync(struct ctrl_job *job)
{
    const json_t *ns = api_informer_get(job->m->inf[RES_NS], NULL, job->key);
    const char *phase;
    json_t *patch;

    if (!ns)
        return;
    if (!ctrl_obj_deleting(ns)) {
        if (!has_finalizer(ns, NS_FINALIZER))
            add_finalizer(job, ns);
        return;
    }
    phase = json_string_value(sk_json_get(ns, "status.phase"));
    if (!phase || strcmp(phase, "Terminating")) {
        patch = json_pack("{s:{s:s}}", "status", "phase", "Terminating");
        ctrl_job_patch(job, "namespaces", NULL, job->key, "status", patch, NULL, NULL);
        json_decref(patch);
    }
    if (has_finalizer(ns, NS_FINALIZER))
        empty_namespace(job, ns);
}

const struct ctrl_ctl_ops ctrl_ns_ops = {"namespace", "namespace-controller", ns_sync};
