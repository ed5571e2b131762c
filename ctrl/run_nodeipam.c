/* The node IPAM controller (Kubernetes' range allocator): every Node
 * without spec.podCIDR gets the next free subnet of the cluster CIDR
 * (ctrl/nodeipam.c) as spec.podCIDR and spec.podCIDRs, by a Node update
 * conditional on the cached resourceVersion.
 *
 * The allocation map lives in memory and is fed by the node informer
 * (ctrl_ipam_observe): every podCIDR it sees is occupied, and a deleted
 * Node's is released. The informer lists every Node before any
 * controller runs (manager.c), so the map is complete before the first
 * allocation: after a restart or a change of leader nothing is handed
 * out twice (level-triggered; nothing but the Nodes is remembered).
 *
 * A subnet taken for a Node stays taken while the update is in flight.
 * When the server refuses the update for sure (a conflict: the cache was
 * a write behind; the Node is gone; validation, e.g. someone else set
 * the podCIDR meanwhile) it is released and the Node synced again; on
 * any other failure (a lost connection: the update may have landed) it
 * stays taken until the next leader rebuilds the map, trading one
 * leaked subnet for never handing one out twice. spec.podCIDR is
 * immutable once set (api/immutable.c), as in Kubernetes.
 *
 * A full range: Event CIDRNotAvailable on the Node, and the Node waits
 * for a deletion (which syncs every waiting Node) or a retry. */

#include "ctrl/manager_int.h"

#include "lib/alloc.h"
#include "lib/json.h"
#include "lib/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define IPAM_RETRY_NS (30 * 1000 * 1000 * 1000LL)

static const char *
pod_cidr(const json_t *node)
{
    const char *s = json_string_value(sk_json_get(node, "spec.podCIDR"));

    return s && *s ? s : NULL;
}

/* Apply f to spec.podCIDR and every spec.podCIDRs entry of node. */
static void
each_cidr(struct ctrl_manager *m, const json_t *node,
          int (*f)(struct ctrl_cidr_set *, const char *, struct sk_err *))
{
    json_t *list = sk_json_get(node, "spec.podCIDRs"), *v;
    const char *cidr = pod_cidr(node);
    struct sk_err err;
    size_t i;

    sk_err_init(&err);
    if (cidr && f(m->ipam, cidr, &err) < 0)
        sk_debug("ctrl", "node '%s': podCIDR: %s",
                 json_string_value(sk_json_get(node, "metadata.name")), err.msg);
    json_array_foreach (list, i, v)
        if (json_is_string(v) && (!cidr || strcmp(json_string_value(v), cidr)))
            f(m->ipam, json_string_value(v), &err);
}

struct in_use {
    const char *cidr;
    const char *skip; /* the deleted node */
    int found;
};

static int
uses(const json_t *node, void *arg)
{
    struct in_use *u = arg;
    const char *name = json_string_value(sk_json_get(node, "metadata.name"));
    const char *cidr = pod_cidr(node);

    u->found = cidr && !strcmp(cidr, u->cidr) && !(name && !strcmp(name, u->skip));
    return u->found;
}

static int
enqueue_waiting(const json_t *node, void *arg)
{
    struct ctrl_manager *m = arg;
    const char *name = json_string_value(sk_json_get(node, "metadata.name"));

    if (!pod_cidr(node) && name)
        ctrl_enqueue(m, CTL_IPAM, name);
    return 0;
}

void
ctrl_ipam_observe(struct ctrl_manager *m, const json_t *node, int deleted)
{
    const char *name = json_string_value(sk_json_get(node, "metadata.name"));
    const char *cidr = pod_cidr(node);
    struct in_use u = {cidr, name ? name : "", 0};

    if (!m->ipam || !name)
        return;
    if (!deleted) {
        if (cidr)
            each_cidr(m, node, ctrl_cidr_set_occupy);
        else
            ctrl_enqueue(m, CTL_IPAM, name);
        return;
    }
    /* Two Nodes given the same subnet by hand: it stays taken while
     * either is left. */
    if (!cidr)
        return;
    api_informer_foreach(m->inf[RES_NODES], uses, &u);
    if (u.found)
        return;
    each_cidr(m, node, ctrl_cidr_set_release);
    sk_info("ctrl", "node '%s' deleted: podCIDR %s released", name, cidr);
    api_informer_foreach(m->inf[RES_NODES], enqueue_waiting, m);
}

struct take {
    char cidr[CTRL_CIDR_STRLEN];
};

static void
on_updated(struct ctrl_job *job, int rc, const json_t *obj, const struct sk_err *err, void *arg)
{
    struct take *t = job->priv;

    (void)obj;
    (void)arg;
    if (rc == 0) {
        sk_info("ctrl", "node '%s': podCIDR %s", job->key, t->cidr);
        return;
    }
    if (err && (err->code == ESTALE || err->code == ENOENT || err->code == EINVAL)) {
        ctrl_cidr_set_unallocate(job->m->ipam, t->cidr);
    } else {
        sk_warn("ctrl", "node '%s': podCIDR %s kept reserved after: %s", job->key, t->cidr,
                err ? err->msg : "failure");
    }
}

static void
ipam_sync(struct ctrl_job *job)
{
    struct ctrl_manager *m = job->m;
    const json_t *node = api_informer_get(m->inf[RES_NODES], NULL, job->key);
    struct take *t;
    json_t *obj, *spec;
    struct sk_err err;

    if (!m->ipam || !node || pod_cidr(node) || ctrl_obj_deleting(node))
        return;
    t = sk_calloc(1, sizeof(*t));
    job->priv = t;
    job->priv_free = free;
    sk_err_init(&err);
    if (ctrl_cidr_set_allocate(m->ipam, t->cidr, &err) < 0) {
        sk_warn("ctrl", "node '%s': %s", job->key, err.msg);
        ctrl_job_event(job, node, "Normal", "CIDRNotAvailable",
                       "Node %s status is now: CIDRNotAvailable", job->key);
        job->requeue_after_ns = IPAM_RETRY_NS;
        return;
    }
    obj = json_deep_copy(node);
    spec = json_object_get(obj, "spec");
    if (!json_is_object(spec)) {
        spec = json_object();
        json_object_set_new(obj, "spec", spec);
    }
    json_object_set_new(spec, "podCIDR", json_string(t->cidr));
    json_object_set_new(spec, "podCIDRs", json_pack("[s]", t->cidr));
    ctrl_job_update(job, obj, on_updated, NULL);
    json_decref(obj);
}

const struct ctrl_ctl_ops ctrl_ipam_ops = {"node-ipam", "node-ipam-controller", ipam_sync};
