/* The shared informers of the controller manager and the routing of
 * their events to the controllers' queues (client-go's
 * SharedInformerFactory plus each controller's event handlers).
 *
 * One informer per resource, shared by every controller, each with three
 * indexes: "namespace", "uid" (owner lookups by uid) and "owner" (the
 * uids in metadata.ownerReferences: a dependent found from its owner).
 * A handler only enqueues keys; what to do is decided at sync time from
 * the caches, so a burst of events on one object costs one sync. */

#include "ctrl/manager_int.h"

#include "lib/json.h"

#include <stdio.h>
#include <string.h>

static const char *const res_names[RES_N] = {
    [RES_PODS] = "pods",     [RES_RS] = "replicasets",     [RES_DEPLOY] = "deployments",
    [RES_SVC] = "services",  [RES_EP] = "endpoints",       [RES_NODES] = "nodes",
    [RES_NS] = "namespaces", [RES_SA] = "serviceaccounts", [RES_SECRETS] = "secrets",
};

static const char *const res_kinds[RES_N] = {
    [RES_PODS] = "Pod",     [RES_RS] = "ReplicaSet",     [RES_DEPLOY] = "Deployment",
    [RES_SVC] = "Service",  [RES_EP] = "Endpoints",      [RES_NODES] = "Node",
    [RES_NS] = "Namespace", [RES_SA] = "ServiceAccount", [RES_SECRETS] = "Secret",
};

const char *
ctrl_res_name(enum ctrl_res r)
{
    return r < RES_N ? res_names[r] : "?";
}

enum ctrl_res
ctrl_res_of_kind(const char *kind)
{
    size_t i;

    for (i = 0; kind && i < RES_N; i++)
        if (!strcmp(res_kinds[i], kind))
            return (enum ctrl_res)i;
    return RES_N;
}

static size_t
index_uid(const json_t *obj, const char **values, size_t max)
{
    const char *uid = json_string_value(sk_json_get(obj, "metadata.uid"));

    if (!uid || !max)
        return 0;
    values[0] = uid;
    return 1;
}

static size_t
index_owner(const json_t *obj, const char **values, size_t max)
{
    json_t *refs = sk_json_get(obj, "metadata.ownerReferences"), *ref;
    size_t i, n = 0;

    json_array_foreach (refs, i, ref) {
        const char *uid = json_string_value(json_object_get(ref, "uid"));

        if (uid && n < max)
            values[n++] = uid;
    }
    return n;
}

/* "orphan": the namespace of an object with no controller, the ones a
 * controller may adopt; others are not in the index. */
static size_t
index_orphan(const json_t *obj, const char **values, size_t max)
{
    const char *ns = json_string_value(sk_json_get(obj, "metadata.namespace"));

    if (!ns || !max || ctrl_owner_controller_ref(obj))
        return 0;
    values[0] = ns;
    return 1;
}

/* ---- routing ---- */

static void
obj_key(const json_t *obj, char *key, size_t n)
{
    const char *ns = json_string_value(sk_json_get(obj, "metadata.namespace"));
    const char *name = json_string_value(sk_json_get(obj, "metadata.name"));

    if (ns && *ns)
        snprintf(key, n, "%s/%s", ns, name ? name : "");
    else
        snprintf(key, n, "%s", name ? name : "");
}

/* The name of obj's controller if it is of kind, or NULL. */
static const char *
controller_of_kind(const json_t *obj, const char *kind)
{
    const json_t *ref = obj ? ctrl_owner_controller_ref(obj) : NULL;
    const char *k = json_string_value(json_object_get(ref, "kind"));

    if (!k || strcmp(k, kind))
        return NULL;
    return json_string_value(json_object_get(ref, "name"));
}

struct ns_enqueue {
    struct ctrl_manager *m;
    enum ctrl_ctl_id id;
};

static int
enqueue_each(const json_t *obj, void *arg)
{
    struct ns_enqueue *e = arg;
    char key[320];

    obj_key(obj, key, sizeof(key));
    ctrl_enqueue(e->m, e->id, key);
    return 0;
}

/* Enqueue every object of resource r in ns on controller id. */
static void
enqueue_ns(struct ctrl_manager *m, enum ctrl_res r, const char *ns, enum ctrl_ctl_id id)
{
    struct ns_enqueue e = {m, id};

    api_informer_index_foreach(m->inf[r], "namespace", ns, enqueue_each, &e);
}

static void
enqueue_owner(struct ctrl_manager *m, const char *ns, const char *name, enum ctrl_ctl_id id)
{
    char key[320];

    snprintf(key, sizeof(key), "%s/%s", ns, name);
    ctrl_enqueue(m, id, key);
}

/* The ReplicaSet expectations learn of creations and deletions here,
 * from the informer, which is what makes them trustworthy: a pod is
 * counted as created only once the cache holds it. */
static void
pod_expectations(struct ctrl_manager *m, const json_t *old, const json_t *pod, int deleted,
                 const char *rs_key, const char *pod_key)
{
    if (deleted || (old && ctrl_obj_deleting(pod) && !ctrl_obj_deleting(old)))
        ctrl_expectations_deletion_observed(m->rs_exp, rs_key, pod_key);
    else if (!old && ctrl_obj_deleting(pod))
        ctrl_expectations_deletion_observed(m->rs_exp, rs_key, pod_key);
    else if (!old)
        ctrl_expectations_creation_observed(m->rs_exp, rs_key);
}

static void
route_pod(struct ctrl_manager *m, const json_t *old, const json_t *pod, int deleted)
{
    const char *ns = json_string_value(sk_json_get(pod, "metadata.namespace"));
    const char *rs = controller_of_kind(pod, "ReplicaSet");
    const char *old_rs = controller_of_kind(old, "ReplicaSet");
    char rs_key[320], pod_key[320];
    const char *node;

    if (!ns)
        return;
    obj_key(pod, pod_key, sizeof(pod_key));
    if (rs) {
        snprintf(rs_key, sizeof(rs_key), "%s/%s", ns, rs);
        pod_expectations(m, old, pod, deleted, rs_key, pod_key);
        ctrl_enqueue(m, CTL_RS, rs_key);
        if (deleted) {
            /* Recreate waits for the old pods to be gone. */
            const json_t *rso = api_informer_get(m->inf[RES_RS], ns, rs);
            const char *dep = controller_of_kind(rso, "Deployment");

            if (dep)
                enqueue_owner(m, ns, dep, CTL_DEPLOY);
        }
    } else if (!deleted && !ctrl_obj_deleting(pod) && !ctrl_owner_controller_ref(pod)) {
        enqueue_ns(m, RES_RS, ns, CTL_RS); /* an orphan: someone may adopt it */
    }
    if (old_rs && (!rs || strcmp(old_rs, rs)))
        enqueue_owner(m, ns, old_rs, CTL_RS);
    enqueue_ns(m, RES_SVC, ns, CTL_EP);
    /* a pod bound to a tainted node is the taint manager's */
    node = json_string_value(sk_json_get(pod, "spec.nodeName"));
    if (node && *node && !deleted)
        ctrl_enqueue(m, CTL_NODE, node);
}

static void
route_rs(struct ctrl_manager *m, const json_t *old, const json_t *rs, int deleted)
{
    const char *ns = json_string_value(sk_json_get(rs, "metadata.namespace"));
    const char *dep = controller_of_kind(rs, "Deployment");
    const char *old_dep = controller_of_kind(old, "Deployment");
    char key[320];

    if (!ns)
        return;
    obj_key(rs, key, sizeof(key));
    ctrl_enqueue(m, CTL_RS, key);
    if (dep)
        enqueue_owner(m, ns, dep, CTL_DEPLOY);
    else if (!deleted && !ctrl_owner_controller_ref(rs))
        enqueue_ns(m, RES_DEPLOY, ns, CTL_DEPLOY);
    if (old_dep && (!dep || strcmp(old_dep, dep)))
        enqueue_owner(m, ns, old_dep, CTL_DEPLOY);
}

static void
route(struct ctrl_manager *m, enum ctrl_res r, const json_t *old, const json_t *obj, int deleted)
{
    char key[320];

    obj_key(obj, key, sizeof(key));
    switch (r) {
    case RES_PODS:
        route_pod(m, old, obj, deleted);
        break;
    case RES_RS:
        route_rs(m, old, obj, deleted);
        break;
    case RES_DEPLOY:
        ctrl_enqueue(m, CTL_DEPLOY, key);
        break;
    case RES_SVC:
    case RES_EP:
        ctrl_enqueue(m, CTL_EP, key);
        break;
    case RES_NODES:
        ctrl_nodes_observe(m, old, obj, deleted);
        ctrl_enqueue(m, CTL_NODE, key);
        ctrl_ipam_observe(m, obj, deleted);
        break;
    case RES_NS:
    case RES_SA:
    case RES_SECRETS:
        ctrl_sa_observe(m, r, obj);
        break;
    case RES_N:
        break;
    }
    ctrl_gc_observe(m, r, obj, deleted);
}

static void
on_add(struct api_informer *inf, const json_t *obj, void *arg)
{
    struct ctrl_res_arg *a = arg;

    (void)inf;
    route(a->m, a->r, NULL, obj, 0);
}

static void
on_update(struct api_informer *inf, const json_t *old, const json_t *obj, void *arg)
{
    struct ctrl_res_arg *a = arg;

    (void)inf;
    route(a->m, a->r, old, obj, 0);
}

static void
on_delete(struct api_informer *inf, const json_t *obj, void *arg)
{
    struct ctrl_res_arg *a = arg;

    (void)inf;
    route(a->m, a->r, NULL, obj, 1);
}

static void
on_synced(struct api_informer *inf, void *arg)
{
    struct ctrl_res_arg *a = arg;

    (void)inf;
    if (++a->m->nsynced == RES_N)
        ctrl_kick(a->m);
}

static const struct api_informer_handlers handlers = {on_add, on_update, on_delete, on_synced};

int
ctrl_informers_start(struct ctrl_manager *m, uint32_t resync_ms, struct sk_err *err)
{
    size_t i;
    int rc;

    for (i = 0; i < RES_N; i++) {
        struct api_informer_config cfg = {.resource = res_names[i],
                                          .resync_ms = resync_ms,
                                          .transform = i == RES_PODS ? ctrl_pod_slim : NULL};

        m->res_arg[i].m = m;
        m->res_arg[i].r = (enum ctrl_res)i;
        rc = api_informer_new(m->c, &cfg, &m->inf[i], err);
        if (rc >= 0)
            rc = api_informer_add_index(m->inf[i], "namespace", api_index_namespace, err);
        if (rc >= 0)
            rc = api_informer_add_index(m->inf[i], "uid", index_uid, err);
        if (rc >= 0)
            rc = api_informer_add_index(m->inf[i], "owner", index_owner, err);
        if (rc >= 0 && i == RES_PODS)
            rc = api_informer_add_index(m->inf[i], "node", api_index_pod_node, err);
        if (rc >= 0 && i == RES_PODS)
            rc = api_informer_add_index(m->inf[i], "orphan", index_orphan, err);
        if (rc < 0)
            return sk_err_wrap(err, "informer '%s'", res_names[i]);
        api_informer_add_handlers(m->inf[i], &handlers, &m->res_arg[i]);
    }
    for (i = 0; i < RES_N; i++)
        api_informer_start(m->inf[i]);
    return 0;
}

void
ctrl_informers_free(struct ctrl_manager *m)
{
    size_t i;

    for (i = 0; i < RES_N; i++) {
        api_informer_free(m->inf[i]);
        m->inf[i] = NULL;
    }
}

/* ---- cache reads ---- */

json_t *
ctrl_cache_list(struct ctrl_manager *m, enum ctrl_res r, const char *ns)
{
    return api_informer_list(m->inf[r], "namespace", ns);
}

/* Owned ones only: an object naming the owner without being its
 * controller's is either an orphan (listed already) or another's. */
static int
append_controlled(const json_t *obj, void *arg)
{
    if (ctrl_owner_controller_ref(obj))
        json_array_append((json_t *)arg, (json_t *)obj);
    return 0;
}

json_t *
ctrl_cache_claimable(struct ctrl_manager *m, enum ctrl_res r, const char *ns, const char *uid)
{
    json_t *list = api_informer_list(m->inf[r], "orphan", ns);

    if (uid)
        api_informer_index_foreach(m->inf[r], "owner", uid, append_controlled, list);
    return list;
}

struct dep_walk {
    enum ctrl_res r;
    void (*fn)(enum ctrl_res r, const json_t *obj, void *arg);
    void *arg;
};

static int
dep_each(const json_t *obj, void *arg)
{
    struct dep_walk *w = arg;

    if (w->fn)
        w->fn(w->r, obj, w->arg);
    return 0;
}

size_t
ctrl_cache_dependents(struct ctrl_manager *m, const char *uid,
                      void (*fn)(enum ctrl_res r, const json_t *obj, void *arg), void *arg)
{
    struct dep_walk w = {RES_PODS, fn, arg};
    size_t n = 0, i;

    for (i = 0; i < RES_N; i++) {
        w.r = (enum ctrl_res)i;
        n += api_informer_index_foreach(m->inf[i], "owner", uid, dep_each, &w);
    }
    return n;
}

static int
count_each(const json_t *obj, void *arg)
{
    (void)obj;
    (void)arg;
    return 1;
}

int
ctrl_cache_has_uid(struct ctrl_manager *m, enum ctrl_res r, const char *uid)
{
    return r < RES_N && api_informer_index_foreach(m->inf[r], "uid", uid, count_each, NULL) > 0;
}
