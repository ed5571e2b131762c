/* The garbage collector's I/O (Kubernetes' garbagecollector, over the
 * manager's informers rather than a graph of every kind).
 *
 * Queue keys are "resource/namespace/name" of cached objects. A sync of
 * an object:
 *   - being deleted with the "orphan" finalizer: strip the reference to
 *     it from every dependent, then remove the finalizer;
 *   - being deleted with "foregroundDeletion": delete every dependent
 *     (in the foreground too when its reference has blockOwnerDeletion,
 *     so a chain waits bottom-up) and remove the finalizer once no
 *     dependent is left in the caches;
 *   - otherwise, with ownerReferences: ctrl_gc_decide, deleting it
 *     (background) when every owner is gone, or dropping the dangling
 *     references.
 * "Gone" is never concluded from the cache alone, which may simply not
 * have seen a new owner yet: an owner absent from the cache is read
 * live (get by name, uid compared) and only a 404 or another uid puts
 * its uid in the gone set, after which the object is synced again. Uids
 * are never reused, so the set needs no invalidation. Dependents are
 * only those the informers hold (pods, replicasets, deployments,
 * services, endpoints); owners may be of any kind. */

#include "ctrl/manager_int.h"

#include "api/object.h"
#include "lib/json.h"
#include "lib/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define GC_GONE_MAX 16384

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
gc_key(enum ctrl_res r, const char *ns, const char *name, char *key, size_t n)
{
    snprintf(key, n, "%s/%s/%s", ctrl_res_name(r), ns ? ns : "", name ? name : "");
}

static void
enqueue_obj(struct ctrl_manager *m, enum ctrl_res r, const json_t *obj)
{
    char key[400];

    gc_key(r, json_string_value(sk_json_get(obj, "metadata.namespace")),
           json_string_value(sk_json_get(obj, "metadata.name")), key, sizeof(key));
    ctrl_enqueue(m, CTL_GC, key);
}

static void
enqueue_dep(enum ctrl_res r, const json_t *obj, void *arg)
{
    enqueue_obj(arg, r, obj);
}

void
ctrl_gc_observe(struct ctrl_manager *m, enum ctrl_res r, const json_t *obj, int deleted)
{
    const char *uid = json_string_value(sk_json_get(obj, "metadata.uid"));
    json_t *refs = sk_json_get(obj, "metadata.ownerReferences"), *ref;
    size_t i;

    if (!deleted) {
        if (json_array_size(refs) > 0 ||
            (ctrl_obj_deleting(obj) &&
             (has_finalizer(obj, "orphan") || has_finalizer(obj, "foregroundDeletion"))))
            enqueue_obj(m, r, obj);
        return;
    }
    /* Its dependents lost an owner; its owners may wait for it. */
    if (uid)
        ctrl_cache_dependents(m, uid, enqueue_dep, m);
    json_array_foreach (refs, i, ref) {
        enum ctrl_res or = ctrl_res_of_kind(json_string_value(json_object_get(ref, "kind")));
        char key[400];

        if (or == RES_N)
            continue;
        gc_key(or, json_string_value(sk_json_get(obj, "metadata.namespace")),
               json_string_value(json_object_get(ref, "name")), key, sizeof(key));
        ctrl_enqueue(m, CTL_GC, key);
    }
}

/* ---- finalizers of owners being deleted ---- */

static void
remove_finalizer(struct ctrl_job *job, enum ctrl_res r, const json_t *obj, const char *fin)
{
    json_t *patch =
        json_pack("{s:{s:o, s:O}}", "metadata", "finalizers", ctrl_finalizers_without(obj, fin),
                  "resourceVersion", sk_json_get(obj, "metadata.resourceVersion"));

    ctrl_job_patch(job, ctrl_res_name(r), json_string_value(sk_json_get(obj, "metadata.namespace")),
                   json_string_value(sk_json_get(obj, "metadata.name")), NULL, patch, NULL, NULL);
    json_decref(patch);
}

struct dep_ctx {
    struct ctrl_job *job;
    const char *owner_uid;
    int orphan;
};

static const json_t *
ref_to(const json_t *obj, const char *uid)
{
    json_t *refs = sk_json_get(obj, "metadata.ownerReferences"), *ref;
    size_t i;

    json_array_foreach (refs, i, ref)
        if (!strcmp(json_string_value(json_object_get(ref, "uid")) ?: "", uid))
            return ref;
    return NULL;
}

static void
handle_dep(enum ctrl_res r, const json_t *dep, void *arg)
{
    struct dep_ctx *c = arg;
    const char *ns = json_string_value(sk_json_get(dep, "metadata.namespace"));
    const char *name = json_string_value(sk_json_get(dep, "metadata.name"));
    json_t *patch;

    if (c->orphan) {
        patch = ctrl_owner_release_patch(dep, c->owner_uid);
        ctrl_job_patch(c->job, ctrl_res_name(r), ns, name, NULL, patch, NULL, NULL);
        json_decref(patch);
        return;
    }
    if (ctrl_obj_deleting(dep))
        return;
    ctrl_job_delete(c->job, ctrl_res_name(r), ns, name,
                    json_string_value(sk_json_get(dep, "metadata.uid")),
                    json_is_true(json_object_get(ref_to(dep, c->owner_uid), "blockOwnerDeletion"))
                        ? "Foreground"
                        : "Background",
                    NULL, NULL);
}

static void
finalize_owner(struct ctrl_job *job, enum ctrl_res r, const json_t *obj, int orphan)
{
    struct dep_ctx c = {job, json_string_value(sk_json_get(obj, "metadata.uid")), orphan};
    size_t n;

    if (!c.owner_uid)
        return;
    n = ctrl_cache_dependents(job->m, c.owner_uid, handle_dep, &c);
    if (n == 0)
        remove_finalizer(job, r, obj, orphan ? "orphan" : "foregroundDeletion");
    else if (orphan)
        job->requeue_after_ns = 50 * 1000 * 1000LL; /* until the caches show the releases */
}

/* ---- dependents whose owners may be gone ---- */

struct gc_ctx {
    struct ctrl_job *job;
    const json_t *obj;
    json_t *verify; /* refs whose owners must be read live */
};

static int
owner_exists(void *arg, const char *uid)
{
    struct gc_ctx *c = arg;
    const json_t *ref = ref_to(c->obj, uid);
    enum ctrl_res r = ctrl_res_of_kind(json_string_value(json_object_get(ref, "kind")));

    if (json_object_get(c->job->m->gc_gone, uid))
        return 0;
    if (r < RES_N && ctrl_cache_has_uid(c->job->m, r, uid))
        return 1;
    json_array_append(c->verify, (json_t *)ref);
    return 1;
}

static void
verified(struct ctrl_job *job, int rc, const json_t *obj, const struct sk_err *err, void *arg)
{
    const char *uid = arg;
    const char *now_uid = json_string_value(sk_json_get(obj, "metadata.uid"));
    json_t *gone = job->m->gc_gone;

    if (rc < 0 && rc != -ENOENT) {
        ctrl_job_fail(job, err);
        return;
    }
    if (rc == -ENOENT || !now_uid || strcmp(now_uid, uid)) {
        if (json_object_size(gone) >= GC_GONE_MAX)
            json_object_clear(gone);
        json_object_set_new(gone, uid, json_true());
        job->requeue_after_ns = 1;
    }
}

static void
verify_owners(struct ctrl_job *job, const char *ns, json_t *refs)
{
    json_t *ref;
    size_t i;

    json_array_foreach (refs, i, ref) {
        const struct api_kind *k =
            api_kind_lookup(json_string_value(json_object_get(ref, "kind")) ?: "");
        struct ctrl_call *cc;

        if (!k)
            continue; /* a kind this server does not serve: keep the object */
        cc = ctrl_call_new(job, CTRL_OK_ANY, verified,
                           (void *)json_string_value(json_object_get(ref, "uid")));
        ctrl_call_sent(cc, api_aclient_get(job->m->c, k->resource, k->namespaced ? ns : NULL,
                                           json_string_value(json_object_get(ref, "name")),
                                           ctrl_call_cb, cc));
    }
}

static void
collect(struct ctrl_job *job, enum ctrl_res r, const json_t *obj, const char *ns)
{
    struct gc_ctx c = {job, obj, json_array()};
    enum ctrl_gc_action act;
    json_t *patch = NULL;
    struct sk_err err;

    sk_err_init(&err);
    if (ctrl_gc_decide(obj, owner_exists, &c, &act, &patch, &err) < 0) {
        sk_debug("ctrl", "garbage collector '%s': %s", job->key, err.msg);
    } else if (act == CTRL_GC_DELETE) {
        ctrl_job_delete(
            job, ctrl_res_name(r), ns, json_string_value(sk_json_get(obj, "metadata.name")),
            json_string_value(sk_json_get(obj, "metadata.uid")), "Background", NULL, NULL);
    } else if (act == CTRL_GC_STRIP) {
        ctrl_job_patch(job, ctrl_res_name(r), ns,
                       json_string_value(sk_json_get(obj, "metadata.name")), NULL, patch, NULL,
                       NULL);
    } else {
        /* The refs' uids stay valid: obj is held by the job's priv. */
        verify_owners(job, ns, c.verify);
    }
    json_decref(patch);
    json_decref(c.verify);
}

static void
gc_free_obj(void *p)
{
    json_decref(p);
}

static void
gc_sync(struct ctrl_job *job)
{
    char res[64], ns[256], name[256];
    const char *slash = strchr(job->key, '/');
    const json_t *obj;
    enum ctrl_res r;

    if (!slash || (size_t)(slash - job->key) >= sizeof(res))
        return;
    memcpy(res, job->key, (size_t)(slash - job->key));
    res[slash - job->key] = '\0';
    if (ctrl_key_split(slash + 1, ns, sizeof(ns), name, sizeof(name)) < 0)
        return;
    for (r = 0; r < RES_N && strcmp(ctrl_res_name(r), res); r++)
        ;
    if (r == RES_N)
        return;
    obj = api_informer_get(job->m->inf[r], ns, name);
    if (!obj)
        return;
    job->priv = json_incref((json_t *)obj);
    job->priv_free = gc_free_obj;
    if (ctrl_obj_deleting(obj)) {
        if (has_finalizer(obj, "orphan"))
            finalize_owner(job, r, obj, 1);
        else if (has_finalizer(obj, "foregroundDeletion"))
            finalize_owner(job, r, obj, 0);
        return;
    }
    collect(job, r, obj, ns);
}

const struct ctrl_ctl_ops ctrl_gc_ops = {"garbage-collector", "garbage-collector", gc_sync};
