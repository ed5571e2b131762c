/* kubelet/routes.c: routes to the other nodes' pods (host-gw).
 *
 * An informer of the Nodes: for every other node with a spec.podCIDR and
 * an InternalIP, a route to that podCIDR via that address (the nodes
 * share a link); the route goes when the node does. Besides, the
 * cluster network gets an `unreachable` route, so a packet for an
 * address nobody owns fails at once instead of leaving by the default
 * route; so does the service network until the service proxy takes it
 * over (services.c). All carry protocol NET_RTPROT_SKIFF. */
#include "kubelet/agent_int.h"

#include "lib/log.h"

#include <errno.h>
#include <string.h>

static bool
peer_of(struct kl_agent *a, const json_t *node, struct net_cidr *cidr, struct net_ip *ip)
{
    const char *name =
        json_string_value(json_object_get(json_object_get(node, "metadata"), "name"));
    const char *pc = json_string_value(json_object_get(json_object_get(node, "spec"), "podCIDR"));
    const json_t *addrs = json_object_get(json_object_get(node, "status"), "addresses"), *ad;
    struct sk_err err;
    size_t i;

    if (!name || !pc || strcmp(name, a->node_name) == 0)
        return false;
    sk_err_init(&err);
    if (net_cidr_parse(pc, false, cidr, &err) < 0)
        return false;
    json_array_foreach ((json_t *)addrs, i, ad) {
        const char *t = json_string_value(json_object_get(ad, "type"));
        const char *v = json_string_value(json_object_get(ad, "address"));
        if (t && v && strcmp(t, "InternalIP") == 0 && net_ip_parse(v, ip, &err) == 0 &&
            ip->family == AF_INET)
            return true;
    }
    return false;
}

static void
node_set(struct api_informer *inf, const json_t *node, void *arg)
{
    struct kl_agent *a = arg;
    char c[NET_CIDR_STRLEN], g[NET_IP_STRLEN];
    struct net_cidr cidr;
    struct net_ip ip;
    struct sk_err err;

    if (!a->net_ready || !peer_of(a, node, &cidr, &ip))
        return;
    sk_err_init(&err);
    if (net_route_peer_add(a->nl, &cidr, &ip, &err) < 0)
        sk_warn("kubelet", "route to %s via %s: %s", net_cidr_format(&cidr, c, sizeof(c)),
                net_ip_format(&ip, g, sizeof(g)), err.msg);
}

static void
node_add(struct api_informer *inf, const json_t *node, void *arg)
{
    node_set(inf, node, arg);
}

static void
node_update(struct api_informer *inf, const json_t *old, const json_t *node, void *arg)
{
    node_set(inf, node, arg);
}

static void
node_delete(struct api_informer *inf, const json_t *node, void *arg)
{
    struct kl_agent *a = arg;
    struct net_cidr cidr;
    struct net_ip ip;
    struct sk_err err;

    sk_err_init(&err);
    if (a->net_ready && peer_of(a, node, &cidr, &ip))
        net_route_peer_del(a->nl, &cidr, &err);
}

static const struct api_informer_handlers node_handlers = {
    .on_add = node_add,
    .on_update = node_update,
    .on_delete = node_delete,
};

/* The service network is unreachable until the service proxy has
 * programmed its rules and routed it to the bridge (services.c); a
 * restarted agent leaves that route alone (EEXIST), so ClusterIPs keep
 * working from the node while it starts. */
static int
service_unreachable(struct kl_agent *a, struct sk_err *err)
{
    struct nl_route r = {.dst = a->service, .type = NL_ROUTE_UNREACHABLE};
    int rc = nl_route_add(a->nl, &r, 0, err);

    if (rc == -EEXIST) {
        sk_err_init(err);
        rc = 0;
    }
    return rc;
}

int
kl_routes_start(struct kl_agent *a, struct sk_err *err)
{
    struct api_informer_config icfg = {.resource = "nodes"};

    if (net_route_unreachable_add(a->nl, &a->cluster, err) < 0)
        return sk_err_wrap(err, "cluster-cidr route");
    if (a->service.ip.family == AF_INET && service_unreachable(a, err) < 0)
        return sk_err_wrap(err, "service-cidr route");
    if (api_informer_new(a->client, &icfg, &a->nodes_inf, err) < 0)
        return sk_err_wrap(err, "node informer");
    api_informer_add_handlers(a->nodes_inf, &node_handlers, a);
    api_informer_start(a->nodes_inf);
    return 0;
}
