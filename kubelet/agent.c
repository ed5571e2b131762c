/* kubelet/agent.c: the running agent's lifecycle.
 *
 * One event loop: an API client, an informer of the pods whose
 * spec.nodeName is this node, the node heartbeat timer and a sync timer.
 * Every pod is converged level-triggered: on each informer event for it
 * and on every sync tick (container exits and probes are observed by
 * polling the runtime's state, which also works for containers started
 * by an earlier agent process). */
#include "kubelet/agent_int.h"

#include "lib/alloc.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

void
kl_agent_now(char *out, size_t outsz)
{
    sk_clock_rfc3339(sk_clock_real_ns(), 0, out, outsz);
}

int64_t
kl_agent_now_s(void)
{
    return sk_clock_real_ns() / 1000000000LL;
}

struct kl_apod *
kl_agent_pod_find(struct kl_agent *a, const char *uid)
{
    for (size_t i = 0; i < a->npods; i++) {
        if (strcmp(a->pods[i]->uid, uid) == 0)
            return a->pods[i];
    }
    return NULL;
}

static const char *
meta_str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(json_object_get(obj, "metadata"), key));
    return s ? s : "";
}

/* Once the watch brings back the status last written, keep a reference
 * to the cached object's copy instead of a second tree of the same
 * status per pod (7 KiB of jansson tree for a one-container pod; issue
 * 7). The watch event may come before the write's answer (status_busy):
 * p->written is already what was sent then. p->written is never changed
 * in place (pod_status.c replaces it), so sharing is safe. */
static void
share_status(struct kl_apod *p)
{
    json_t *st = json_object_get(p->obj, "status");

    if (p->written && st && p->written != st && json_equal(p->written, st)) {
        json_decref(p->written);
        p->written = json_incref(st);
    }
}

static struct kl_apod *
pod_add(struct kl_agent *a, const json_t *obj)
{
    struct kl_apod *p = sk_calloc(1, sizeof(*p));
    struct sk_err err;

    sk_strlcpy(p->uid, meta_str(obj, "uid"), sizeof(p->uid));
    sk_strlcpy(p->ns, meta_str(obj, "namespace"), sizeof(p->ns));
    sk_strlcpy(p->name, meta_str(obj, "name"), sizeof(p->name));
    p->dir = sk_asprintf("%s/%s", a->pods_root, p->uid);
    p->obj = json_incref((json_t *)obj);
    p->written = json_incref(json_object_get(obj, "status"));
    sk_err_init(&err);
    if (kl_pod_setup_ctrs(p, &err) < 0)
        sk_warn("kubelet", "pod '%s/%s': %s", p->ns, p->name, err.msg);
    if (a->npods == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 16;
        a->pods = sk_realloc(a->pods, a->cap * sizeof(*a->pods));
    }
    a->pods[a->npods++] = p;
    kl_adopt_pod(a, p);
    return p;
}

static void
on_pod(struct kl_agent *a, const json_t *obj, bool gone)
{
    const char *uid = meta_str(obj, "uid");
    struct kl_apod *p;

    if (!*uid || strcmp(meta_str(obj, "name"), "") == 0)
        return;
    p = kl_agent_pod_find(a, uid);
    if (!p) {
        if (gone)
            return;
        p = pod_add(a, obj);
    } else if (!gone) {
        json_decref(p->obj);
        p->obj = json_incref((json_t *)obj);
        share_status(p);
    }
    if (gone)
        p->gone = true;
    kl_pod_sync(a, p);
}

static void
inf_add(struct api_informer *inf, const json_t *obj, void *arg)
{
    on_pod(arg, obj, false);
}

static void
inf_update(struct api_informer *inf, const json_t *old, const json_t *obj, void *arg)
{
    on_pod(arg, obj, false);
}

static void
inf_delete(struct api_informer *inf, const json_t *obj, void *arg)
{
    on_pod(arg, obj, true);
}

static void
inf_synced(struct api_informer *inf, void *arg)
{
    struct kl_agent *a = arg;

    sk_info("kubelet", "node '%s': %zu pods bound here", a->node_name, a->npods);
}

static const struct api_informer_handlers pod_handlers = {
    .on_add = inf_add,
    .on_update = inf_update,
    .on_delete = inf_delete,
    .on_synced = inf_synced,
};

/* Sync every pod; drop the ones torn down. Orphans are cleaned once the
 * informer has the full list (a pod not yet listed is not an orphan). */
static void
sync_all(struct kl_agent *a)
{
    size_t i = 0;

    if (a->pods_inf && api_informer_synced(a->pods_inf) && a->net_ready && !a->adopted) {
        kl_orphans_clean(a);
        a->adopted = true;
    }
    while (i < a->npods) {
        struct kl_apod *p = a->pods[i];

        if (!p->done)
            kl_pod_sync(a, p);
        if (p->done && !p->status_busy) {
            kl_pod_free(p);
            a->pods[i] = a->pods[--a->npods];
            continue;
        }
        i++;
    }
    kl_backoff_table_gc(&a->backoff, kl_agent_now_s());
}

static int start_informer(struct kl_agent *a, struct sk_err *err);

static void
on_sync_timer(struct sk_loop *loop, void *arg)
{
    struct kl_agent *a = arg;

    a->sync_timer = 0;
    if (a->net_ready && !a->pods_inf) {
        struct sk_err err;

        sk_err_init(&err);
        if (start_informer(a, &err) < 0)
            sk_error("kubelet", "%s", err.msg);
    }
    sync_all(a);
    kl_services_tick(a);
    kl_egress_tick(a);
    a->sync_timer = sk_loop_timer_add(loop, a->cfg.sync_ms, on_sync_timer, a);
}

static void
on_node_timer(struct sk_loop *loop, void *arg)
{
    struct kl_agent *a = arg;

    a->node_timer = 0;
    kl_node_tick(a);
    a->node_timer = sk_loop_timer_add(loop, 1000, on_node_timer, a);
}

/* The informer starts once the podCIDR is known (node_status.c calls
 * back through a->net_ready): a pod cannot get an address before. */
static int
start_informer(struct kl_agent *a, struct sk_err *err)
{
    char fields[320];
    struct api_informer_config icfg = {.resource = "pods", .fields = fields, .resync_ms = 0};

    sk_snprintf(fields, sizeof(fields), "spec.nodeName=%s", a->node_name);
    if (api_informer_new(a->client, &icfg, &a->pods_inf, err) < 0)
        return sk_err_wrap(err, "pod informer");
    api_informer_add_handlers(a->pods_inf, &pod_handlers, a);
    api_informer_start(a->pods_inf);
    if (kl_routes_start(a, err) < 0)
        sk_warn("kubelet", "routes to other nodes: %s", err->msg);
    sk_err_init(err);
    if (kl_egress_start(a, err) < 0)
        sk_error("kubelet", "egress masquerade: %s", err->msg);
    sk_err_init(err);
    if (kl_services_start(a, err) < 0)
        sk_error("kubelet", "services: %s", err->msg);
    return 0;
}

static char *
dup_or_empty(const char *s)
{
    return sk_strdup(s ? s : "");
}

static int
agent_setup(struct kl_agent *a, struct sk_err *err)
{
    struct api_aclient_config ccfg = {.server = a->server, .token = a->token};

    if (net_cidr_parse(a->cfg.cluster_cidr, false, &a->cluster, err) < 0)
        return sk_err_wrap(err, "cluster-cidr");
    if (a->cfg.service_cidr && *a->cfg.service_cidr &&
        net_cidr_parse(a->cfg.service_cidr, false, &a->service, err) < 0)
        return sk_err_wrap(err, "service-cidr");
    sk_snprintf(a->ctr_root, sizeof(a->ctr_root), "%s/containers", a->runtime_root);
    sk_snprintf(a->pods_root, sizeof(a->pods_root), "%s/pods", a->runtime_root);
    if (kl_mkdir_p(a->ctr_root, 0700, err) < 0 || kl_mkdir_p(a->pods_root, 0700, err) < 0)
        return -err->code;
    a->rt.root = a->ctr_root;
    a->rt.cgroup_root = a->cgroup_root;
    a->rt.monitor_exe = *a->monitor_exe ? a->monitor_exe : NULL;
    if (rt_image_store_open(&a->images, a->image_root, err) < 0)
        return sk_err_wrap(err, "image store");
    if (net_host_check(-1, err) < 0 || nl_sock_open(&a->nl, err) < 0)
        return -err->code;
    if (api_aclient_new(a->loop, &ccfg, &a->client, err) < 0)
        return sk_err_wrap(err, "api client for '%s'", a->server);
    return 0;
}

int
kl_agent_start(struct sk_loop *loop, const struct kl_agent_config *cfg, struct kl_agent **out,
               struct sk_err *err)
{
    struct kl_agent *a = sk_calloc(1, sizeof(*a));
    int rc;

    a->cfg = *cfg;
    if (!a->cfg.sync_ms)
        a->cfg.sync_ms = 1000;
    a->loop = loop;
    a->images.root_fd = a->images.lock_fd = a->images.index_lock_fd = -1;
    a->server = dup_or_empty(cfg->server);
    a->token = dup_or_empty(cfg->token);
    a->node_name = dup_or_empty(cfg->node_name);
    a->address = dup_or_empty(cfg->address);
    a->runtime_root = dup_or_empty(cfg->runtime_root);
    a->image_root = dup_or_empty(cfg->image_root);
    a->cgroup_root = dup_or_empty(cfg->cgroup_root);
    a->bridge = dup_or_empty(cfg->bridge && *cfg->bridge ? cfg->bridge : NET_BRIDGE_DEFAULT);
    a->monitor_exe = dup_or_empty(cfg->monitor_exe);
    a->pause_exe = dup_or_empty(cfg->pause_exe);
    a->dns_domain =
        dup_or_empty(cfg->dns_domain && *cfg->dns_domain ? cfg->dns_domain : DNS_DEFAULT_DOMAIN);
    a->dns_resolv_conf = dup_or_empty(cfg->dns_upstream_resolv_conf);
    kl_backoff_table_init(&a->backoff);
    if ((rc = agent_setup(a, err)) < 0) {
        kl_agent_free(a);
        return sk_err_wrap(err, "agent '%s'", cfg->node_name ? cfg->node_name : "");
    }
    if (cfg->endpoint_listen && *cfg->endpoint_listen) {
        if (!cfg->endpoint_key || !*cfg->endpoint_key)
            sk_warn("kubelet", "no endpoint key (agent.endpoint-key-file): logs and exec of "
                               "this node's pods are off");
        else if (kl_ep_start(a, cfg->endpoint_listen, cfg->endpoint_key, &a->ep, err) < 0) {
            /* pods matter more than their logs: run without the endpoint
             * (the Node then names no port, and the relay says so) */
            sk_error("kubelet", "%s: logs and exec of this node's pods are off", err->msg);
            sk_err_init(err);
        }
    }
    kl_node_start(a);
    kl_stats_start(a);
    a->node_timer = sk_loop_timer_add(loop, 1000, on_node_timer, a);
    a->sync_timer = sk_loop_timer_add(loop, a->cfg.sync_ms, on_sync_timer, a);
    sk_info("kubelet", "agent '%s' started (server %s, runtime root %s)", a->node_name, a->server,
            a->runtime_root);
    *out = a;
    return 0;
}

void
kl_agent_free(struct kl_agent *a)
{
    if (!a)
        return;
    if (a->node_timer)
        sk_loop_timer_cancel(a->loop, a->node_timer);
    if (a->sync_timer)
        sk_loop_timer_cancel(a->loop, a->sync_timer);
    kl_netgone_free(a);
    kl_services_stop(a);
    kl_egress_stop(a);
    kl_hooks_stop(a);
    kl_stats_stop(a);
    kl_ep_free(a->ep);
    api_informer_free(a->pods_inf);
    api_informer_free(a->nodes_inf);
    api_aclient_free(a->client);
    for (size_t i = 0; i < a->npods; i++)
        kl_pod_free(a->pods[i]);
    free(a->pods);
    json_decref(a->node);
    if (a->nl)
        nl_sock_free(a->nl);
    if (a->ipam.path)
        ipam_release(&a->ipam);
    rt_image_store_release(&a->images);
    kl_backoff_table_release(&a->backoff);
    free(a->server);
    free(a->token);
    free(a->node_name);
    free(a->address);
    free(a->runtime_root);
    free(a->image_root);
    free(a->cgroup_root);
    free(a->bridge);
    free(a->monitor_exe);
    free(a->pause_exe);
    free(a->dns_domain);
    free(a->dns_resolv_conf);
    free(a);
}

int
kl_agent_endpoint_port(const struct kl_agent *a)
{
    return kl_ep_port(a->ep);
}
