/* kubelet/node_status.c: the agent's Node object.
 *
 * Registration: get the Node; create it when absent (kl_node_build),
 * else keep its spec and labels and write the status. Heartbeat: the
 * host's facts are read every second (cheap: /proc/meminfo, statvfs,
 * /proc/loadavg) and the status is written when a condition changed,
 * or when heartbeat-interval has passed since the last write (that
 * write is the heartbeat: lastHeartbeatTime moves).
 *
 * podCIDR: the controller manager's node IPAM controller assigns
 * spec.podCIDR (ctrl/run_nodeipam.c), as in Kubernetes; the agent reads
 * its Node every tick until it has one, and only then sets up the pod
 * network. With agent.pod-cidr-claim (clusters without controllers, or
 * with their own way of giving out podCIDRs) it claims the lowest free
 * /24 of the cluster CIDR itself instead: it creates the ConfigMap
 * kube-node-lease/skiff-podcidr-<index> holding its node name. Creation
 * is atomic in the store (409 AlreadyExists), so two agents registering
 * at once cannot take the same /24; a claim already holding this node's
 * name is this node's (a re-registration). The podCIDR is then written
 * into the Node's spec (allowed once, from "" to a value). The claims do
 * not know of node IPAM's subnets: use one or the other in a cluster.
 * The bootstrap system:node role may not create ConfigMaps, so with
 * RBAC enforced the claim needs a wider role. */
#include "kubelet/agent_int.h"

#include "lib/alloc.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/loop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CLAIM_NS "kube-node-lease"

static void claim_next(struct kl_agent *a, uint64_t index);

static bool
node_is(const char *s, const char *name)
{
    return s && strcmp(s, name) == 0;
}

static const char *
node_pod_cidr(const json_t *node)
{
    return json_string_value(json_object_get(json_object_get(node, "spec"), "podCIDR"));
}

/* The first IPv4 address of the node's netns outside loopback and the
 * cluster CIDR (the bridge carries a pod gateway address). */
static void
detect_address(struct kl_agent *a, char *out, size_t outsz)
{
    struct nl_addr *v = NULL;
    struct sk_err err;
    size_t n = 0;

    out[0] = '\0';
    sk_err_init(&err);
    if (nl_addr_dump(a->nl, AF_INET, &v, &n, &err) < 0)
        return;
    for (size_t i = 0; i < n; i++) {
        if (v[i].local.ip.a[0] == 127 || net_cidr_contains(&a->cluster, &v[i].local.ip))
            continue;
        net_ip_format(&v[i].local.ip, out, outsz);
        break;
    }
    free(v);
}

static json_t *
build_node(struct kl_agent *a)
{
    struct kl_node_facts f;
    struct kl_node_config c;
    struct sk_err err;
    char now[40], addr[NET_IP_STRLEN];

    kl_node_config_defaults(&c);
    c.name = a->node_name;
    if (*a->address)
        sk_strlcpy(addr, a->address, sizeof(addr));
    else
        detect_address(a, addr, sizeof(addr));
    c.address = addr;
    sk_strlcpy(a->host_ip, addr, sizeof(a->host_ip));
    c.max_pods = a->cfg.max_pods > 0 ? a->cfg.max_pods : 110;
    c.reserved_cpu_m = a->cfg.reserved_cpu_m;
    c.reserved_mem = a->cfg.reserved_mem;
    c.endpoint_port = kl_ep_port(a->ep);
    c.network_not_ready = !a->net_ready;
    sk_err_init(&err);
    memset(&f, 0, sizeof(f));
    if (kl_node_facts_read(a->runtime_root, &f, &err) < 0)
        sk_warn("kubelet", "node facts: %s", err.msg);
    kl_agent_now(now, sizeof(now));
    return kl_node_build(&f, &c, a->node, now);
}

bool
kl_node_conditions_changed(const json_t *old, const json_t *new_node)
{
    const json_t *oc = json_object_get(json_object_get(old, "status"), "conditions");
    const json_t *nc = json_object_get(json_object_get(new_node, "status"), "conditions");
    size_t i, j;
    json_t *c, *d;

    if (json_array_size(oc) != json_array_size(nc))
        return true;
    json_array_foreach ((json_t *)nc, i, c) {
        bool same = false;
        json_array_foreach ((json_t *)oc, j, d) {
            if (json_equal(json_object_get(c, "type"), json_object_get(d, "type")) &&
                json_equal(json_object_get(c, "status"), json_object_get(d, "status")))
                same = true;
        }
        if (!same)
            return true;
    }
    return false;
}

static void
keep_node(struct kl_agent *a, const struct api_resp *resp)
{
    struct sk_err err;
    json_t *obj;

    sk_err_init(&err);
    if (!(obj = api_resp_object(resp, 0, &err)))
        return;
    json_decref(a->node);
    a->node = obj;
}

static void
net_ready(struct kl_agent *a, const char *cidr)
{
    struct net_cidr pc;
    char path[PATH_MAX];
    struct sk_err err;

    sk_err_init(&err);
    sk_snprintf(path, sizeof(path), "%s/ipam", a->runtime_root);
    if (net_cidr_parse(cidr, false, &pc, &err) < 0 || ipam_init(&a->ipam, path, &pc, &err) < 0 ||
        net_bridge_ensure(a->nl, a->bridge, &pc, &err) < 0) {
        sk_error("kubelet", "pod network on '%s' (podCIDR %s): %s", a->bridge, cidr, err.msg);
        if (a->ipam.path)
            ipam_release(&a->ipam);
        memset(&a->ipam, 0, sizeof(a->ipam));
        return;
    }
    sk_strlcpy(a->pod_cidr, cidr, sizeof(a->pod_cidr));
    a->net_ready = true;
    sk_info("kubelet", "node '%s': podCIDR %s on bridge '%s'", a->node_name, cidr, a->bridge);
}

static void
on_cidr_patched(struct api_aclient *c, int rc, const struct api_resp *resp,
                const struct sk_err *err, void *arg)
{
    struct kl_agent *a = arg;
    const char *cidr;

    if (rc < 0) {
        sk_warn("kubelet", "node '%s': setting spec.podCIDR: %s", a->node_name, err->msg);
        a->node_busy = false;
        return;
    }
    keep_node(a, resp);
    a->node_busy = false;
    if ((cidr = node_pod_cidr(a->node)))
        net_ready(a, cidr);
}

static void
cidr_take(struct kl_agent *a, const char *cidr)
{
    json_t *patch = json_pack("{s{ss s[s]}}", "spec", "podCIDR", cidr, "podCIDRs", cidr);

    api_aclient_patch(a->client, "nodes", NULL, a->node_name, NULL, patch, on_cidr_patched, a);
    json_decref(patch);
}

struct claim {
    struct kl_agent *a;
    uint64_t index;
    char cidr[NET_CIDR_STRLEN];
};

static void
on_claim_get(struct api_aclient *c, int rc, const struct api_resp *resp, const struct sk_err *err,
             void *arg)
{
    struct claim *cl = arg;
    struct sk_err e;
    json_t *obj;

    sk_err_init(&e);
    obj = rc == 0 ? api_resp_object(resp, 0, &e) : NULL;
    if (obj && node_is(json_string_value(json_object_get(json_object_get(obj, "data"), "node")),
                       cl->a->node_name))
        cidr_take(cl->a, cl->cidr);
    else if (rc == 0 || rc == -ENOENT)
        claim_next(cl->a, cl->index + 1);
    else
        cl->a->node_busy = false;
    json_decref(obj);
    free(cl);
}

static void
on_claim_create(struct api_aclient *c, int rc, const struct api_resp *resp,
                const struct sk_err *err, void *arg)
{
    struct claim *cl = arg;
    char name[64];

    if (rc == 0) {
        cidr_take(cl->a, cl->cidr);
    } else if (rc == -EEXIST) {
        sk_snprintf(name, sizeof(name), "skiff-podcidr-%llu", (unsigned long long)cl->index);
        api_aclient_get(c, "configmaps", CLAIM_NS, name, on_claim_get, cl);
        return;
    } else {
        sk_warn("kubelet", "node '%s': claiming podCIDR %s: %s", cl->a->node_name, cl->cidr,
                err->msg);
        cl->a->node_busy = false;
    }
    free(cl);
}

static void
claim_next(struct kl_agent *a, uint64_t index)
{
    struct claim *cl = sk_calloc(1, sizeof(*cl));
    struct net_cidr sub;
    struct sk_err err;
    char name[64];
    json_t *cm;

    sk_err_init(&err);
    if (net_cidr_carve(&a->cluster, 24, index, &sub, &err) < 0) {
        sk_error("kubelet", "node '%s': no free podCIDR left in %s: %s", a->node_name,
                 a->cfg.cluster_cidr, err.msg);
        a->node_busy = false;
        free(cl);
        return;
    }
    cl->a = a;
    cl->index = index;
    net_cidr_format(&sub, cl->cidr, sizeof(cl->cidr));
    sk_snprintf(name, sizeof(name), "skiff-podcidr-%llu", (unsigned long long)index);
    cm = json_pack("{ss ss s{ss ss} s{ss ss}}", "apiVersion", "v1", "kind", "ConfigMap", "metadata",
                   "name", name, "namespace", CLAIM_NS, "data", "node", a->node_name, "podCIDR",
                   cl->cidr);
    api_aclient_create(a->client, cm, on_claim_create, cl);
    json_decref(cm);
}

static void
on_cidr_get(struct api_aclient *c, int rc, const struct api_resp *resp, const struct sk_err *err,
            void *arg)
{
    struct kl_agent *a = arg;
    const char *cidr;

    a->node_busy = false;
    if (rc < 0) {
        sk_warn("kubelet", "node '%s': %s", a->node_name, err->msg);
        if (rc == -ENOENT)
            a->node_registered = false;
        return;
    }
    keep_node(a, resp);
    cidr = node_pod_cidr(a->node);
    if (cidr && *cidr) {
        a->cidr_waiting = false;
        net_ready(a, cidr);
    } else if (!a->cidr_waiting) {
        a->cidr_waiting = true;
        sk_info("kubelet", "node '%s': waiting for node IPAM to set spec.podCIDR", a->node_name);
    }
}

static void
after_register(struct kl_agent *a)
{
    const char *cidr = node_pod_cidr(a->node);

    a->node_registered = true;
    if (a->net_ready)
        a->node_busy = false;
    else if (cidr && *cidr) {
        a->node_busy = false;
        net_ready(a, cidr);
    } else if (a->cfg.pod_cidr_claim) {
        claim_next(a, 0);
    } else {
        api_aclient_get(a->client, "nodes", NULL, a->node_name, on_cidr_get, a);
    }
}

static void
on_node_written(struct api_aclient *c, int rc, const struct api_resp *resp,
                const struct sk_err *err, void *arg)
{
    struct kl_agent *a = arg;

    if (rc < 0) {
        sk_warn("kubelet", "node '%s': writing status: %s", a->node_name, err->msg);
        a->node_busy = false;
        if (rc == -ENOENT)
            a->node_registered = false; /* deleted by someone: register again */
        return;
    }
    keep_node(a, resp);
    a->node_written_ms = sk_clock_mono_ms();
    if (!a->node_registered)
        after_register(a);
    else
        a->node_busy = false;
}

/* Write the status of built onto the stored node (its metadata and spec
 * stay the server's), with our labels merged in. */
static void
write_status(struct kl_agent *a, json_t *built)
{
    json_t *obj = json_deep_copy(a->node), *labels, *meta;

    meta = json_object_get(obj, "metadata");
    json_object_del(meta, "resourceVersion");
    labels = json_object_get(meta, "labels");
    if (!json_is_object(labels)) {
        labels = json_object();
        json_object_set_new(meta, "labels", labels);
    }
    json_object_update(labels, json_object_get(json_object_get(built, "metadata"), "labels"));
    json_object_set(obj, "status", json_object_get(built, "status"));
    a->node_busy = true;
    if (!a->node_registered) {
        /* labels are metadata: the status verb keeps the stored ones */
        api_aclient_update(a->client, obj, on_node_written, a);
    } else {
        api_aclient_status(a->client, obj, on_node_written, a);
    }
    json_decref(obj);
}

static void
on_node_get(struct api_aclient *c, int rc, const struct api_resp *resp, const struct sk_err *err,
            void *arg)
{
    struct kl_agent *a = arg;
    json_t *built;

    if (rc == -ENOENT) {
        built = build_node(a);
        sk_info("kubelet", "registering node '%s'", a->node_name);
        api_aclient_create(a->client, built, on_node_written, a);
        json_decref(built);
        return;
    }
    if (rc < 0) {
        sk_warn("kubelet", "node '%s': %s", a->node_name, err->msg);
        a->node_busy = false;
        return;
    }
    keep_node(a, resp);
    built = build_node(a);
    write_status(a, built);
    json_decref(built);
}

void
kl_node_start(struct kl_agent *a)
{
    a->node_busy = true;
    api_aclient_get(a->client, "nodes", NULL, a->node_name, on_node_get, a);
}

void
kl_node_tick(struct kl_agent *a)
{
    json_t *built;
    bool due;

    if (a->node_busy)
        return;
    if (!a->node_registered || !a->node) {
        kl_node_start(a);
        return;
    }
    if (!a->net_ready) {
        a->node_busy = true;
        after_register(a);
        return;
    }
    built = build_node(a);
    due = sk_clock_mono_ms() - a->node_written_ms >= (int64_t)a->cfg.heartbeat_ms;
    if (due || kl_node_conditions_changed(a->node, built))
        write_status(a, built);
    json_decref(built);
}
