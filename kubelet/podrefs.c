/* kubelet/podrefs.c: the ConfigMaps and Secrets a pod needs, fetched
 * through the API.
 *
 * The agent keeps, per pod, the objects its volumes and environment
 * refer to (kl_pod_ref_names). They are fetched with `get` (a node may
 * read configmaps and secrets: skiff-protocol(7), system:node) when the
 * pod is first seen and again every KL_REFS_REFRESH_MS while it lives,
 * rather than through an informer of every Secret of the cluster: a
 * node holds only what its own pods use, as Kubernetes's node
 * authorizer intends. A round replaces the previous objects only when
 * every answer came back (an object that is absent is a valid answer:
 * 404); after a failed round the old copies stay, and before the first
 * complete round no container of the pod is started (its status says
 * ContainerCreating), so a required object is never reported missing
 * because the API was unreachable. When a round brings different
 * objects, refs_gen moves on and the configMap/secret volumes are
 * projected again (pod_worker.c, kl_pod_volumes). */
#include "kubelet/agent_int.h"

#include "lib/alloc.h"
#include "lib/clock.h"
#include "lib/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void
add_name(json_t *arr, const json_t *name)
{
    size_t i;
    json_t *v;

    if (!json_is_string(name) || !*json_string_value(name))
        return;
    json_array_foreach (arr, i, v)
        if (json_equal(v, name))
            return;
    json_array_append(arr, (json_t *)name);
}

static void
ctr_ref_names(const json_t *ctr, json_t *cms, json_t *secs)
{
    const json_t *e, *vf;
    size_t i;

    json_array_foreach (json_object_get(ctr, "env"), i, e) {
        vf = json_object_get(e, "valueFrom");
        add_name(cms, json_object_get(json_object_get(vf, "configMapKeyRef"), "name"));
        add_name(secs, json_object_get(json_object_get(vf, "secretKeyRef"), "name"));
    }
    json_array_foreach (json_object_get(ctr, "envFrom"), i, e) {
        add_name(cms, json_object_get(json_object_get(e, "configMapRef"), "name"));
        add_name(secs, json_object_get(json_object_get(e, "secretRef"), "name"));
    }
}

void
kl_pod_ref_names(const json_t *pod, json_t *cms, json_t *secs)
{
    static const char *const lists[] = {"initContainers", "containers"};
    const json_t *spec = json_object_get(pod, "spec"), *v;
    size_t i;

    json_array_foreach (json_object_get(spec, "volumes"), i, v) {
        add_name(cms, json_object_get(json_object_get(v, "configMap"), "name"));
        add_name(secs, json_object_get(json_object_get(v, "secret"), "secretName"));
    }
    for (int l = 0; l < 2; l++)
        json_array_foreach (json_object_get(spec, lists[l]), i, v)
            ctr_ref_names(v, cms, secs);
}

/* ---- fetching (the running agent) ---- */

struct kl_refcall {
    struct api_acall *call;
    struct kl_agent *a;
    struct kl_apod *p;
    size_t slot;
    bool secret;
};

static void
round_done(struct kl_agent *a, struct kl_apod *p)
{
    bool changed;

    if (p->refs_failed) {
        json_decref(p->refs_next[0]);
        json_decref(p->refs_next[1]);
        p->refs_next[0] = p->refs_next[1] = NULL;
        return;
    }
    changed = !p->refs[0] || !json_equal(p->refs[0], p->refs_next[0]) ||
              !json_equal(p->refs[1], p->refs_next[1]);
    for (int k = 0; k < 2; k++) {
        json_decref(p->refs[k]);
        p->refs[k] = p->refs_next[k];
        p->refs_next[k] = NULL;
    }
    if (changed)
        p->refs_gen++;
    if (changed || !p->refs_ready) {
        p->refs_ready = true;
        kl_pod_sync(a, p);
    }
}

static void
on_ref(struct api_aclient *c, int rc, const struct api_resp *resp, const struct sk_err *err,
       void *arg)
{
    struct kl_refcall *rq = arg;
    struct kl_apod *p = rq->p;
    struct sk_err perr;
    json_t *obj;

    p->refs_calls[rq->slot] = NULL;
    if (rc == 0) {
        sk_err_init(&perr);
        obj = api_resp_object(resp, 0, &perr);
        if (obj)
            json_array_append_new(p->refs_next[rq->secret], obj);
        else
            p->refs_failed = true;
    } else if (rc != -ENOENT) {
        sk_warn("kubelet", "pod '%s/%s': fetching its %s: %s", p->ns, p->name,
                rq->secret ? "secrets" : "configmaps", err->msg);
        p->refs_failed = true;
    }
    if (--p->refs_pending == 0)
        round_done(rq->a, p);
    free(rq);
}

static void
refs_start(struct kl_agent *a, struct kl_apod *p, json_t *names[2])
{
    size_t n = json_array_size(names[0]) + json_array_size(names[1]), slot = 0, i;
    json_t *v;

    free(p->refs_calls);
    p->refs_calls = sk_calloc(n, sizeof(*p->refs_calls));
    p->nrefs_calls = n;
    p->refs_failed = false;
    p->refs_pending = n;
    for (int k = 0; k < 2; k++) {
        p->refs_next[k] = json_array();
        json_array_foreach (names[k], i, v) {
            struct kl_refcall *rq = sk_calloc(1, sizeof(*rq));

            *rq = (struct kl_refcall){.a = a, .p = p, .slot = slot, .secret = k == 1};
            /* callbacks never run from inside the call: rq->call is
             * set before on_ref can see it */
            rq->call = api_aclient_get(a->client, k ? "secrets" : "configmaps", p->ns,
                                       json_string_value(v), on_ref, rq);
            if (!rq->call) {
                p->refs_failed = true;
                p->refs_pending--;
                free(rq);
                rq = NULL;
            }
            p->refs_calls[slot++] = rq;
        }
    }
    if (p->refs_pending == 0) /* nothing was sent: try again next time */
        round_done(a, p);
}

void
kl_pod_refs_sync(struct kl_agent *a, struct kl_apod *p)
{
    int64_t now = sk_clock_mono_ms();
    json_t *names[2];

    if (p->refs_pending || (p->refs_ready && now - p->refs_at_ms < KL_REFS_REFRESH_MS))
        return;
    names[0] = json_array();
    names[1] = json_array();
    kl_pod_ref_names(p->obj, names[0], names[1]);
    p->refs_at_ms = now;
    if (json_array_size(names[0]) + json_array_size(names[1]) == 0) {
        if (!p->refs[0]) {
            p->refs[0] = json_array();
            p->refs[1] = json_array();
        }
        p->refs_ready = true;
    } else {
        refs_start(a, p, names);
    }
    json_decref(names[0]);
    json_decref(names[1]);
}

void
kl_pod_refs_release(struct kl_apod *p)
{
    for (size_t i = 0; i < p->nrefs_calls; i++) {
        struct kl_refcall *rc = p->refs_calls[i];
        if (!rc)
            continue;
        api_acall_cancel(rc->call);
        free(rc);
    }
    free(p->refs_calls);
    p->refs_calls = NULL;
    p->nrefs_calls = 0;
    for (int k = 0; k < 2; k++) {
        json_decref(p->refs[k]);
        json_decref(p->refs_next[k]);
        p->refs[k] = p->refs_next[k] = NULL;
    }
}
