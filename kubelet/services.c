/* kubelet/services.c: Services on this node: the service proxy
 * (net/proxy.h, the nftables table "ip skiff-proxy") and the cluster
 * DNS server (net/dns.h), both fed by one pair of informers.
 *
 * Informers on Services and Endpoints of every namespace schedule one
 * sync on a zero-delay timer per burst of events. Nothing is synced
 * before both have their full list: after an agent restart the table
 * the previous run left keeps serving (the kernel keeps it) until a
 * complete ruleset replaces it in one transaction. A sync hands every
 * Service and Endpoints to net_proxy_sync, which parses only those whose
 * resourceVersion moved and sends only the chains, maps and elements
 * that changed as one nf_tables batch (or nothing); the agent's sync
 * tick calls it again every second, which repairs a table edited or
 * deleted behind its back (see net/proxy.c).
 *
 * The service CIDR. connect(2) on the node looks up the route of a
 * ClusterIP before the nat output hook translates it, so an
 * `unreachable` route for the service CIDR would break every
 * connection from the node itself to a Service. The node therefore
 * keeps the unreachable route only until the first sync, then routes
 * the service CIDR to the bridge (the source address becomes the pod
 * gateway, which every pod can answer), and the proxy's
 * unallocated-* chains refuse what no rule translated, at once, as the
 * unreachable route did (net/proxy_rules.c).
 *
 * DNS runs here, in every agent, on the pod gateway address (the first
 * address of the podCIDR) port dns.port: a pod's lookups never leave
 * its node and keep working from the last known state while the API is
 * unreachable. The server starts with the first full sync, so it never
 * answers NXDOMAIN from an empty zone; each later sync swaps in a new
 * zone snapshot whole. Names outside the cluster domain go to the
 * nameservers of dns.upstream-resolv-conf (read at start), or are
 * REFUSED without one. */
#include "kubelet/agent_int.h"

#include "lib/alloc.h"
#include "lib/log.h"
#include "lib/loop.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SVC_LOG "proxy"

size_t
kl_resolv_conf_nameservers(const char *text, char (*out)[64], size_t max)
{
    size_t n = 0;

    while (text && *text && n < max) {
        size_t len = strcspn(text, "\n");
        char line[256], addr[64];
        struct net_ip ip;

        sk_snprintf(line, sizeof(line), "%.*s", (int)(len < 255 ? len : 255), text);
        text += len + (text[len] == '\n');
        if (sscanf(line, " nameserver %63s", addr) != 1 || net_ip_parse(addr, &ip, NULL) < 0)
            continue;
        sk_strlcpy(out[n++], addr, 64);
    }
    return n;
}

bool
kl_agent_proxy_metrics(const struct kl_agent *a, struct net_proxy_metrics *out)
{
    if (!a->proxy)
        return false;
    net_proxy_metrics_get(a->proxy, out);
    return true;
}

/* The node's IPv4 addresses outside loopback and the cluster network:
 * where NodePorts are served. */
static void
node_addresses(struct kl_agent *a)
{
    struct nl_addr *v = NULL;
    struct sk_err err;
    size_t i, n = 0;

    sk_err_init(&err);
    if (nl_addr_dump(a->nl, AF_INET, &v, &n, &err) < 0) {
        sk_warn(SVC_LOG, "node addresses for NodePorts: %s", err.msg);
        return;
    }
    a->node_ips = sk_reallocarray(NULL, n ? n : 1, sizeof(*a->node_ips));
    for (i = 0; i < n; i++) {
        if (v[i].local.ip.a[0] == 127 || net_cidr_contains(&a->cluster, &v[i].local.ip))
            continue;
        a->node_ips[a->n_node_ips++] = v[i].local.ip;
    }
    free(v);
}

/* ---- DNS ---- */

static int
dns_start(struct kl_agent *a, struct dns_zone *zone, struct sk_err *err)
{
    struct dns_server_config cfg = {
        .upstream_timeout_ms = a->cfg.dns_upstream_timeout_ms,
        .cache_entries = a->cfg.dns_cache_size,
    };
    char listen[NET_IP_STRLEN + 8], up[DNS_UPSTREAM_MAX][64], *text = NULL;
    size_t i;
    FILE *f;

    sk_snprintf(listen, sizeof(listen), "%s:%u", a->dns_ip, a->cfg.dns_port ? a->cfg.dns_port : 53);
    cfg.listen = listen;
    if (*a->dns_resolv_conf) {
        size_t len = 0;

        if (!(f = fopen(a->dns_resolv_conf, "re"))) {
            dns_zone_free(zone);
            return sk_err_sys(err, errno, "dns.upstream-resolv-conf '%s'", a->dns_resolv_conf);
        }
        if (getdelim(&text, &len, '\0', f) < 0) {
            free(text);
            text = NULL;
        }
        fclose(f);
        cfg.nupstream = kl_resolv_conf_nameservers(text, up, DNS_UPSTREAM_MAX);
        free(text);
        for (i = 0; i < cfg.nupstream; i++)
            cfg.upstream[i] = up[i];
        if (cfg.nupstream == 0)
            sk_warn("dns", "'%s' names no nameserver: names outside %s are refused",
                    a->dns_resolv_conf, a->dns_domain);
    }
    if (dns_server_new(a->loop, &cfg, zone, &a->dns, err) < 0)
        return -err->code;
    sk_info("dns", "serving %s on %s (udp, tcp), %zu upstream%s", a->dns_domain, listen,
            cfg.nupstream, cfg.nupstream == 1 ? "" : "s");
    return 0;
}

static void
dns_update(struct kl_agent *a, const json_t *svcs, const json_t *eps)
{
    struct dns_zone_options opt = {
        .domain = a->dns_domain,
        .ttl = a->cfg.dns_ttl_s,
        .serial = (uint32_t)api_informer_rev(a->svc_inf) ^ (uint32_t)api_informer_rev(a->ep_inf),
    };
    struct dns_zone *z = NULL;
    struct sk_err err;

    if (!*a->dns_ip)
        return;
    sk_err_init(&err);
    if (dns_zone_build(&opt, svcs, eps, &z, &err) < 0) {
        sk_error("dns", "zone %s: %s", a->dns_domain, err.msg);
        return;
    }
    if (a->dns) {
        dns_server_set_zone(a->dns, z);
        return;
    }
    if (dns_start(a, z, &err) < 0) {
        /* Kept off until the next start; the pods' lookups fail fast
         * (ICMP port unreachable) rather than hang. */
        sk_error("dns", "%s", err.msg);
        a->dns_ip[0] = '\0';
    }
}

/* ---- the proxy ---- */

/* The services that render on their own: a malformed one (which the
 * API server should have refused) must not take every other service's
 * rules down with it. A new array of references. */
static json_t *
services_renderable(struct kl_agent *a, const json_t *svcs, const json_t *eps)
{
    struct net_proxy_node node = {a->node_name, a->node_ips, a->n_node_ips,
                                  a->cluster,   0,           a->service};
    json_t *ok = json_array(), *one;
    struct sk_buf b = SK_BUF_INIT;
    struct sk_err err;
    size_t i;

    for (i = 0; i < json_array_size(svcs); i++) {
        one = json_pack("[O]", json_array_get(svcs, i));
        sk_buf_reset(&b);
        sk_err_init(&err);
        if (net_proxy_render(one, eps, &node, &b, NULL, &err) == 0)
            json_array_append(ok, json_array_get(svcs, i));
        else
            sk_debug(SVC_LOG, "skipping %s", err.msg);
        json_decref(one);
    }
    sk_buf_release(&b);
    return ok;
}

/* Route the service CIDR to the bridge, replacing the unreachable route
 * (see the top of the file). */
static void
service_route(struct kl_agent *a)
{
    struct nl_route r = {.dst = a->service, .type = NL_ROUTE_UNICAST};
    char c[NET_CIDR_STRLEN];
    struct sk_err err;

    if (a->svc_route || a->service.ip.family != AF_INET)
        return;
    sk_strlcpy(r.dev, a->bridge, sizeof(r.dev));
    sk_err_init(&err);
    if (nl_route_add(a->nl, &r, NL_F_REPLACE, &err) < 0) {
        sk_warn(SVC_LOG, "route for the service network %s: %s",
                net_cidr_format(&a->service, c, sizeof(c)), err.msg);
        return;
    }
    a->svc_route = true;
}

/* Log msg unless it is the one logged last (a broken object would
 * otherwise be reported on every tick). */
static void
report(struct kl_agent *a, bool warn, const char *msg)
{
    if (strcmp(a->svc_error, msg) == 0)
        return;
    sk_strlcpy(a->svc_error, msg, sizeof(a->svc_error));
    if (warn)
        sk_warn(SVC_LOG, "%s; the other services are synced", msg);
    else
        sk_error(SVC_LOG, "%s", msg);
}

static int
proxy_sync(struct kl_agent *a, const json_t *svcs, const json_t *eps, struct sk_err *err)
{
    json_t *good;
    int rc;

    rc = net_proxy_sync(a->proxy, svcs, eps, err);
    if (rc != -EINVAL)
        return rc;
    report(a, true, err->msg);
    good = services_renderable(a, svcs, eps);
    sk_err_init(err);
    rc = net_proxy_sync(a->proxy, good, eps, err);
    json_decref(good);
    return rc;
}

static int
append_obj(const json_t *obj, void *arg)
{
    json_array_append((json_t *)arg, (json_t *)obj);
    return 0;
}

/* Every object of inf in the informer's own order, not sorted: neither
 * the proxy nor the DNS zone needs an order, and api_informer_list's
 * sort by namespace and name reads each object's metadata some thirty
 * times, 0.2 s per list at 10,000 Services, on every event. The order
 * stays the same while the set of objects does (a changed object takes
 * the place of the old one), which lets net_proxy_sync pass over the
 * unchanged ones without reading them. */
static json_t *
objects_of(const struct api_informer *inf)
{
    json_t *out = json_array();

    api_informer_foreach(inf, append_obj, out);
    return out;
}

/* Sync the proxy and, with zone (a Service or Endpoints changed), the
 * DNS zone; the tick's drift check needs no new zone. */
static void
services_sync(struct kl_agent *a, bool zone)
{
    json_t *svcs, *eps;
    struct net_proxy_metrics m;
    struct sk_err err;
    int rc;

    if (!a->proxy || !api_informer_synced(a->svc_inf) || !api_informer_synced(a->ep_inf))
        return;
    svcs = objects_of(a->svc_inf);
    eps = objects_of(a->ep_inf);
    sk_err_init(&err);
    rc = proxy_sync(a, svcs, eps, &err);
    if (rc < 0) {
        report(a, false, err.msg);
    } else {
        net_proxy_metrics_get(a->proxy, &m);
        if (rc == 1 || !a->svc_synced)
            sk_info(SVC_LOG, "synced %zu services: %llu rules in %.1f ms (%llu syncs)",
                    json_array_size(svcs), (unsigned long long)m.rules, m.last_sync_ns / 1e6,
                    (unsigned long long)m.syncs);
        a->svc_synced = true;
        service_route(a);
    }
    if (zone || (*a->dns_ip && !a->dns))
        dns_update(a, svcs, eps);
    json_decref(svcs);
    json_decref(eps);
}

static void
on_svc_timer(struct sk_loop *loop, void *arg)
{
    struct kl_agent *a = arg;

    a->svc_timer = 0;
    services_sync(a, true);
}

static void
schedule(struct kl_agent *a)
{
    if (!a->svc_timer)
        a->svc_timer = sk_loop_timer_add(a->loop, 0, on_svc_timer, a);
}

static void
h_add(struct api_informer *inf, const json_t *obj, void *arg)
{
    schedule(arg);
}

static void
h_update(struct api_informer *inf, const json_t *old, const json_t *obj, void *arg)
{
    /* A resync (old == obj) changes nothing the tick would not see. */
    if (old != obj)
        schedule(arg);
}

static void
h_delete(struct api_informer *inf, const json_t *obj, void *arg)
{
    schedule(arg);
}

static void
h_synced(struct api_informer *inf, void *arg)
{
    schedule(arg);
}

static const struct api_informer_handlers handlers = {
    .on_add = h_add,
    .on_update = h_update,
    .on_delete = h_delete,
    .on_synced = h_synced,
};

void
kl_services_tick(struct kl_agent *a)
{
    /* Also retries a first sync that failed (services_sync waits for
     * the informers' lists itself). */
    if (!a->svc_timer)
        services_sync(a, false);
}

int
kl_services_start(struct kl_agent *a, struct sk_err *err)
{
    struct api_informer_config scfg = {.resource = "services"};
    struct api_informer_config ecfg = {.resource = "endpoints"};
    struct net_proxy_node node = {a->node_name, NULL, 0, a->cluster, 0, a->service};
    struct net_ip gw;

    node_addresses(a);
    node.node_ip = a->node_ips;
    node.n_node_ip = a->n_node_ips;
    if (net_proxy_new(&a->proxy, -1, &node, err) < 0)
        return sk_err_wrap(err, "service proxy");
    if (a->cfg.dns_enabled) {
        gw = ipam_gateway(&a->ipam);
        net_ip_format(&gw, a->dns_ip, sizeof(a->dns_ip));
    }
    if (api_informer_new(a->client, &scfg, &a->svc_inf, err) < 0 ||
        api_informer_new(a->client, &ecfg, &a->ep_inf, err) < 0)
        return sk_err_wrap(err, "service informers");
    api_informer_add_handlers(a->svc_inf, &handlers, a);
    api_informer_add_handlers(a->ep_inf, &handlers, a);
    api_informer_start(a->svc_inf);
    api_informer_start(a->ep_inf);
    return 0;
}

void
kl_services_stop(struct kl_agent *a)
{
    if (a->svc_timer)
        sk_loop_timer_cancel(a->loop, a->svc_timer);
    a->svc_timer = 0;
    api_informer_free(a->svc_inf);
    api_informer_free(a->ep_inf);
    a->svc_inf = a->ep_inf = NULL;
    /* The rules stay: a stopped or restarting agent must not break the
     * node's service traffic (net_proxy_free). */
    net_proxy_free(a->proxy);
    a->proxy = NULL;
    dns_server_free(a->dns);
    a->dns = NULL;
    free(a->node_ips);
    a->node_ips = NULL;
    a->n_node_ips = 0;
}
