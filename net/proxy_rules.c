/* net/proxy_rules.c: Services and Endpoints -> the nft script of the
 * table "ip skiff-proxy". Pure: no I/O, output a function of the input
 * set only (objects are sorted, so shuffled input renders identically).
 *
 * The ruleset, modelled on kube-proxy's nftables mode:
 *
 *   filter-prerouting  (filter, prerouting, priority -110) and
 *   filter-output      (filter, output, priority -110)
 *       ct state next -> endpoints-check: the no-endpoint-services map
 *       (daddr . l4proto . dport) and no-endpoint-nodeports map (on the
 *       node IPs) send new connections to a service without ready
 *       endpoints to reject-chain (TCP reset, ICMP port unreachable
 *       otherwise) instead of black-holing them. They run before DNAT
 *       (priority -100), so daddr is still the service address.
 *   nat-prerouting (prerouting, -100), nat-output (output, -100)
 *       -> services: vmap service-ips (clusterIP . l4proto . port) to
 *       the chain svc-<ns>/<name>/<proto>/<port>, and on the node IPs
 *       vmap service-nodeports (l4proto . nodePort) to ext-<...>.
 *   svc-<...>  marks for masquerade traffic from outside the cluster
 *       CIDR (kube-proxy's masqueradeAll=false rule), then picks an
 *       endpoint at random and DNATs to it (below).
 *   ext-<...>  NodePort, externalTrafficPolicy Cluster: mark, goto svc.
 *       Local: picks among local endpoints only (map eps-local-<...>)
 *       and does not masquerade (the client address is kept); without
 *       local endpoints the nodeport is dropped in endpoints-check.
 *   nat-postrouting (postrouting, 100): hairpin first: a connection
 *       whose source is the endpoint it was DNATed to (ip saddr . ip
 *       daddr in the set hairpin, which holds "a . a" for every
 *       endpoint address a) is marked, since the reply must come back
 *       through this node; then -> masquerading: packets with the mark
 *       bit get it cleared and are masqueraded (fully-random).
 *   unallocated-prerouting, unallocated-output (filter, -90, after DNAT;
 *       only when the node's service CIDR is known): a packet whose
 *       destination is still in the service CIDR was translated by no
 *       rule, so no Service holds that address: a TCP reset, ICMP host
 *       unreachable for other protocols, failing at once as the
 *       `unreachable` route the node no longer has for that network
 *       would (see net_proxy_node.service_cidr).
 *
 * Random choice: endpoints are data, not rules. Each service port has
 * a map eps-<id>, "typeof numgen random mod 65536 : ip daddr . th
 * dport; flags interval", that splits 0-65535 into one slice per
 * endpoint (endpoint k of n gets k*65536/n to (k+1)*65536/n - 1, so the
 * choice is uniform to within n/65536), and the service chain's one
 * rule is
 *
 *     meta l4proto tcp dnat ip to numgen random mod 65536 map @eps-<id>
 *
 * An endpoint change is then only set elements: no rule, no chain, no
 * verdict. That matters because a transaction that adds a rule with an
 * expression the kernel must validate (a jump or goto, nat, lookup) or
 * an element with a jump or goto verdict makes the commit walk every
 * chain reachable from the table's base chains (nft_table_validate):
 * with a chain per endpoint that was 110,000 chains, 190 ms, at
 * 10,000 services, for one endpoint. Maps, like all sets, are found by
 * name with a linear walk of the table's sets (nft_set_lookup), so
 * there is one per service port rather than one per endpoint. (Every
 * commit still visits each chain of the netns once, to make its new
 * rules current (nf_tables_commit_chain): a few milliseconds at 10,000
 * service chains, the floor of a one-endpoint change.)
 *
 * Session affinity (ClientIP) keeps chains: one endpoint chain
 * ep-<id>/<ip>/<port> per endpoint (record the client, dnat), and one
 * dynamic set per endpoint, aff-<id>/<ip>/<port>, of client addresses
 * with the service's timeout. The endpoint chain refreshes the client's
 * entry ("update @set { ip saddr }") and the service chain sends a
 * client found in an endpoint's set straight to it, else picks with a
 * cascade, as iptables' "statistic --mode random" does:
 *
 *     numgen random mod 3 == 0 goto ep-a
 *     numgen random mod 2 == 0 goto ep-b
 *     goto ep-c
 *
 * A map from client to endpoint would break when the endpoint list
 * changes; a set per endpoint forgets only the clients of endpoints
 * that are gone. So an endpoint change of a service with affinity
 * still rewrites its chains, and the commit validates the table (now
 * a chain per service rather than per endpoint).
 *
 * Atomicity: the full script starts with "add table; delete table" and
 * then declares the whole table. libnftables sends a script as one
 * netlink batch, which the kernel commits all or nothing
 * (nf_tables_commit), so there is never a moment without rules and a
 * failed sync leaves the old ruleset. ("flush table" would keep stale
 * chains and sets of deleted services.) This full script is used for
 * the first sync and to repair drift; later syncs change only what
 * differs, as one netlink batch built by net/proxy_diff.c from the same
 * parsed state (px_build), so unchanged services keep their affinity
 * entries.
 *
 * Names in chains come from Kubernetes names, checked here to be DNS
 * labels, so nothing from an object can inject nft syntax. */
#include "net/proxy_int.h"

#include "lib/alloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const proto_k8s[] = {"TCP", "UDP", "SCTP"};

/* ---- validation helpers ---- */

/* A DNS label (RFC 1123) of at most max bytes: what Kubernetes allows in
 * namespace, service and port names, and safe inside an nft identifier. */
static bool
dns_label(const char *s, size_t max)
{
    size_t i, n = strlen(s);

    if (n == 0 || n > max || s[0] == '-' || s[n - 1] == '-')
        return false;
    for (i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return false;
    return true;
}

static int
get_str(const json_t *obj, const char *key, const char **out, bool required, const char *where,
        struct sk_err *err)
{
    json_t *v = json_object_get(obj, key);

    *out = NULL;
    if (!v || json_is_null(v)) {
        if (required)
            return sk_err_set(err, EINVAL, "%s%s: missing", where, key);
        return 0;
    }
    if (!json_is_string(v))
        return sk_err_set(err, EINVAL, "%s%s: not a string", where, key);
    *out = json_string_value(v);
    return 0;
}

/* An integer in [lo, hi]; *out = 0 when absent and not required. */
static int
get_int(const json_t *obj, const char *key, long long lo, long long hi, unsigned *out,
        bool required, const char *where, struct sk_err *err)
{
    json_t *v = json_object_get(obj, key);
    long long x;

    *out = 0;
    if (!v || json_is_null(v)) {
        if (required)
            return sk_err_set(err, EINVAL, "%s%s: missing", where, key);
        return 0;
    }
    if (!json_is_integer(v))
        return sk_err_set(err, EINVAL, "%s%s: not an integer", where, key);
    x = json_integer_value(v);
    if (x < lo || x > hi)
        return sk_err_set(err, EINVAL, "%s%s: %lld is out of range (%lld-%lld)", where, key, x, lo,
                          hi);
    *out = (unsigned)x;
    return 0;
}

static int
get_proto(const json_t *obj, int *out, const char *where, struct sk_err *err)
{
    const char *s;
    int i;

    if (get_str(obj, "protocol", &s, false, where, err) < 0)
        return -EINVAL;
    *out = PX_TCP; /* the Kubernetes default */
    if (!s)
        return 0;
    for (i = 0; i < 3; i++)
        if (strcmp(s, proto_k8s[i]) == 0) {
            *out = i;
            return 0;
        }
    return sk_err_set(err, EINVAL, "%sprotocol: '%.16s' is not TCP, UDP or SCTP", where, s);
}

static int
get_ipv4(const json_t *obj, const char *key, struct net_ip *out, const char *where,
         struct sk_err *err)
{
    const char *s;

    if (get_str(obj, key, &s, true, where, err) < 0)
        return -EINVAL;
    if (net_ip_parse(s, out, NULL) < 0 || out->family != AF_INET)
        return sk_err_set(err, EINVAL, "%s%s: '%.64s' is not an IPv4 address", where, key, s);
    return 0;
}

/* metadata.namespace (default "default") and metadata.name. */
static int
get_meta_rv(const json_t *obj, char ns[64], char name[64], const char **rv, struct sk_err *err)
{
    const json_t *md = json_object_get(obj, "metadata");
    const char *n, *s;

    if (!json_is_object(obj))
        return sk_err_set(err, EINVAL, "not an object");
    if (!json_is_object(md))
        return sk_err_set(err, EINVAL, "metadata: missing or not an object");
    if (get_str(md, "name", &n, true, "metadata.", err) < 0 ||
        get_str(md, "namespace", &s, false, "metadata.", err) < 0)
        return -EINVAL;
    if (!s)
        s = "default";
    if (!dns_label(s, 63))
        return sk_err_set(err, EINVAL, "metadata.namespace: '%.64s' is not a DNS label", s);
    if (!dns_label(n, 63))
        return sk_err_set(err, EINVAL, "metadata.name: '%.64s' is not a DNS label", n);
    sk_strlcpy(ns, s, 64);
    sk_strlcpy(name, n, 64);
    /* Any resourceVersion that is not a non-empty string counts as none. */
    *rv = json_string_value(json_object_get(md, "resourceVersion"));
    if (*rv && !**rv)
        *rv = NULL;
    return 0;
}

/* ---- services ---- */

static int
parse_affinity(const json_t *spec, unsigned *out, struct sk_err *err)
{
    const json_t *cfg;
    const char *aff;

    *out = 0;
    if (get_str(spec, "sessionAffinity", &aff, false, "spec.", err) < 0)
        return -EINVAL;
    if (!aff || strcmp(aff, "None") == 0)
        return 0;
    if (strcmp(aff, "ClientIP") != 0)
        return sk_err_set(err, EINVAL, "spec.sessionAffinity: '%.32s' is not None or ClientIP",
                          aff);
    cfg = json_object_get(json_object_get(spec, "sessionAffinityConfig"), "clientIP");
    if (cfg && !json_is_object(cfg))
        return sk_err_set(err, EINVAL, "spec.sessionAffinityConfig.clientIP: not an object");
    if (get_int(cfg, "timeoutSeconds", 1, NET_PROXY_AFFINITY_MAX, out, false,
                "spec.sessionAffinityConfig.clientIP.", err) < 0)
        return -EINVAL;
    if (*out == 0)
        *out = 10800; /* the Kubernetes default, 3 hours */
    return 0;
}

static int
parse_port(const json_t *jp, size_t i, bool nodeport, struct px_port *p, struct sk_err *err)
{
    char where[48];
    const char *pname;
    json_t *tp;
    unsigned x;

    snprintf(where, sizeof(where), "spec.ports[%zu].", i);
    if (!json_is_object(jp))
        return sk_err_set(err, EINVAL, "spec.ports[%zu]: not an object", i);
    if (get_str(jp, "name", &pname, false, where, err) < 0 || get_proto(jp, &p->proto, where, err))
        return -EINVAL;
    if (pname && *pname && !dns_label(pname, 15))
        return sk_err_set(err, EINVAL, "%sname: '%.64s' is not a port name", where, pname);
    sk_strlcpy(p->pname, pname ? pname : "", sizeof(p->pname));
    if (get_int(jp, "port", 1, 65535, &p->port, true, where, err) < 0)
        return -EINVAL;
    /* targetPort is resolved into Endpoints by the endpoints controller;
     * still refuse nonsense so a broken object is noticed. */
    tp = json_object_get(jp, "targetPort");
    if (tp && !json_is_null(tp) && !json_is_string(tp) &&
        get_int(jp, "targetPort", 1, 65535, &x, false, where, err) < 0)
        return -EINVAL;
    return get_int(jp, "nodePort", 1, 65535, &p->node_port, nodeport, where, err);
}

static int parse_service_spec(const json_t *spec, struct px_state *st, struct px_port *basep,
                              struct sk_err *err);

/* Append one px_port per spec.ports[] of service svc, named ns/name;
 * headless: none. */
static int
parse_service(const json_t *svc, const char *ns, const char *name, struct px_state *st,
              struct sk_err *err)
{
    const json_t *spec = json_object_get(svc, "spec");
    struct px_port base = {0};

    sk_strlcpy(base.ns, ns, sizeof(base.ns));
    sk_strlcpy(base.name, name, sizeof(base.name));
    if (parse_service_spec(spec, st, &base, err) < 0)
        return sk_err_wrap(err, "service '%s/%s'", base.ns, base.name);
    return 0;
}

static int
parse_service_spec(const json_t *spec, struct px_state *st, struct px_port *basep,
                   struct sk_err *err)
{
    struct px_port base = *basep;
    const json_t *ports;
    const char *cip, *type, *etp;
    bool nodeport;
    size_t i;

    if (!json_is_object(spec))
        return sk_err_set(err, EINVAL, "spec: missing or not an object");
    if (get_str(spec, "clusterIP", &cip, true, "spec.", err) < 0 ||
        get_str(spec, "type", &type, false, "spec.", err) < 0 ||
        get_str(spec, "externalTrafficPolicy", &etp, false, "spec.", err) < 0)
        return -EINVAL;
    if (strcmp(cip, "None") == 0)
        return 0; /* headless: DNS only */
    if (get_ipv4(spec, "clusterIP", &base.cluster_ip, "spec.", err) < 0)
        return -EINVAL;
    if (type && strcmp(type, "ClusterIP") != 0 && strcmp(type, "NodePort") != 0)
        return sk_err_set(err, EINVAL, "spec.type: '%.32s' is not ClusterIP or NodePort", type);
    nodeport = type && strcmp(type, "NodePort") == 0;
    if (etp && strcmp(etp, "Local") != 0 && strcmp(etp, "Cluster") != 0)
        return sk_err_set(err, EINVAL,
                          "spec.externalTrafficPolicy: '%.32s' is not Cluster or Local", etp);
    base.local = etp && strcmp(etp, "Local") == 0;
    if (parse_affinity(spec, &base.affinity, err) < 0)
        return -EINVAL;
    ports = json_object_get(spec, "ports");
    if (!json_is_array(ports) || json_array_size(ports) == 0)
        return sk_err_set(err, EINVAL, "spec.ports: missing or not a non-empty array");
    for (i = 0; i < json_array_size(ports); i++) {
        struct px_port p = base;

        if (parse_port(json_array_get(ports, i), i, nodeport, &p, err) < 0)
            return -EINVAL;
        if (!nodeport)
            p.node_port = 0;
        if (st->n == st->cap) {
            st->cap = st->cap ? 2 * st->cap : 16;
            st->port = sk_reallocarray(st->port, st->cap, sizeof(*st->port));
        }
        st->port[st->n++] = p;
    }
    return 0;
}

/* ---- endpoints ---- */

/* Endpoint arrays are shared, read-only once parsed, by the parse cache
 * and every state built from it (the one the table holds included): a
 * count of users sits before the array. Copying 10,000 arrays per sync
 * was a fifth of a one-endpoint change at 10,000 services. */
struct ep_block {
    size_t refs, cap;
    struct px_ep ep[];
};

static struct ep_block *
block_of(struct px_ep *ep)
{
    return (struct ep_block *)(void *)((char *)ep - offsetof(struct ep_block, ep));
}

static struct px_ep *
ep_ref(struct px_ep *ep)
{
    if (ep)
        block_of(ep)->refs++;
    return ep;
}

static void
ep_unref(struct px_ep *ep)
{
    if (ep && --block_of(ep)->refs == 0)
        free(block_of(ep));
}

static int
ep_add(struct px_port *p, const struct net_ip *ip, unsigned port, bool local)
{
    struct ep_block *b = p->ep ? block_of(p->ep) : NULL;

    /* Only while parsing, when the array has one user. */
    if (!b || p->n_ep == b->cap) {
        size_t cap = b ? 2 * b->cap : 4;

        b = sk_realloc(b, sizeof(*b) + cap * sizeof(b->ep[0]));
        if (!p->ep)
            b->refs = 1;
        b->cap = cap;
        p->ep = b->ep;
    }
    p->ep[p->n_ep].ip = *ip;
    p->ep[p->n_ep].port = port;
    p->ep[p->n_ep].local = local;
    p->n_ep++;
    return 0;
}

/* The endpoint port of subset ss serving p (same name and protocol);
 * 0 when the subset has none. */
static int
subset_port(const json_t *ss, size_t si, const struct px_port *p, unsigned *out, struct sk_err *err)
{
    const json_t *ports = json_object_get(ss, "ports");
    char where[64];
    size_t i;

    *out = 0;
    if (ports && !json_is_array(ports))
        return sk_err_set(err, EINVAL, "subsets[%zu].ports: not an array", si);
    for (i = 0; i < json_array_size(ports); i++) {
        const json_t *jp = json_array_get(ports, i);
        const char *name;
        unsigned port;
        int proto;

        snprintf(where, sizeof(where), "subsets[%zu].ports[%zu].", si, i);
        if (!json_is_object(jp))
            return sk_err_set(err, EINVAL, "subsets[%zu].ports[%zu]: not an object", si, i);
        if (get_str(jp, "name", &name, false, where, err) < 0 ||
            get_proto(jp, &proto, where, err) < 0 ||
            get_int(jp, "port", 1, 65535, &port, true, where, err) < 0)
            return -EINVAL;
        if (proto == p->proto && strcmp(name ? name : "", p->pname) == 0)
            *out = port;
    }
    return 0;
}

static int
subset_addresses(const json_t *ss, size_t si, struct px_port *p, unsigned port,
                 const struct net_proxy_node *node, struct sk_err *err)
{
    const json_t *addrs = json_object_get(ss, "addresses");
    char where[64];
    size_t i;

    if (addrs && !json_is_array(addrs))
        return sk_err_set(err, EINVAL, "subsets[%zu].addresses: not an array", si);
    for (i = 0; i < json_array_size(addrs); i++) {
        const json_t *a = json_array_get(addrs, i);
        const char *nodename;
        struct net_ip ip;

        if (!json_is_object(a))
            return sk_err_set(err, EINVAL, "subsets[%zu].addresses[%zu]: not an object", si, i);
        if (get_ipv4(a, "ip", &ip, "", err) < 0 ||
            get_str(a, "nodeName", &nodename, false, "", err) < 0) {
            /* Again, naming the position: formatting it up front for
             * each of 100,000 addresses was a tenth of a sync. */
            snprintf(where, sizeof(where), "subsets[%zu].addresses[%zu].", si, i);
            if (get_ipv4(a, "ip", &ip, where, err) == 0)
                get_str(a, "nodeName", &nodename, false, where, err);
            return -EINVAL;
        }
        if (port)
            ep_add(p, &ip, port, nodename && node->name && strcmp(nodename, node->name) == 0);
    }
    /* notReadyAddresses get no traffic; only their shape is checked. */
    addrs = json_object_get(ss, "notReadyAddresses");
    if (addrs && !json_is_array(addrs))
        return sk_err_set(err, EINVAL, "subsets[%zu].notReadyAddresses: not an array", si);
    return 0;
}

static int
parse_endpoints(const json_t *eps, struct px_port *p, const struct net_proxy_node *node,
                struct sk_err *err)
{
    const json_t *subsets = json_object_get(eps, "subsets");
    size_t i;

    if (subsets && !json_is_null(subsets) && !json_is_array(subsets))
        return sk_err_set(err, EINVAL, "subsets: not an array");
    for (i = 0; i < json_array_size(subsets); i++) {
        const json_t *ss = json_array_get(subsets, i);
        unsigned port;

        if (!json_is_object(ss))
            return sk_err_set(err, EINVAL, "subsets[%zu]: not an object", i);
        if (subset_port(ss, i, p, &port, err) < 0 ||
            subset_addresses(ss, i, p, port, node, err) < 0)
            return -EINVAL;
    }
    return 0;
}

/* ---- ordering ---- */

static int
ep_cmp(const void *a, const void *b)
{
    const struct px_ep *x = a, *y = b;
    int c = memcmp(x->ip.a, y->ip.a, 4);

    if (c)
        return c;
    return (x->port > y->port) - (x->port < y->port);
}

static int
port_cmp(const void *a, const void *b)
{
    const struct px_port *x = a, *y = b;
    int c;

    if ((c = strcmp(x->ns, y->ns)) || (c = strcmp(x->name, y->name)))
        return c;
    if (x->proto != y->proto)
        return x->proto - y->proto;
    return (x->port > y->port) - (x->port < y->port);
}

/* Sort endpoints and drop duplicates (an address listed twice). */
static void
ep_normalize(struct px_port *p)
{
    size_t i, n = 0;

    if (p->n_ep == 0)
        return;
    qsort(p->ep, p->n_ep, sizeof(*p->ep), ep_cmp);
    for (i = 1; i < p->n_ep; i++)
        if (ep_cmp(&p->ep[n], &p->ep[i]) != 0)
            p->ep[++n] = p->ep[i];
    p->n_ep = n + 1;
}

void
px_state_release(struct px_state *st)
{
    size_t i;

    for (i = 0; i < st->n; i++)
        ep_unref(st->port[i].ep);
    free(st->port);
    memset(st, 0, sizeof(*st));
}

/* The key of p in service-ips (node: in service-nodeports) as bytes. */
static void
conflict_key(const struct px_port *p, bool node, uint8_t key[8])
{
    memset(key, 0, 8);
    if (!node)
        memcpy(key, p->cluster_ip.a, 4);
    key[4] = (uint8_t)p->proto;
    key[5] = (uint8_t)((node ? p->node_port : p->port) >> 8);
    key[6] = (uint8_t)(node ? p->node_port : p->port);
}

/* The first port before st->port[i] with i's key, or SIZE_MAX; slot
 * is a hash table of port indexes (SIZE_MAX: empty) of mask + 1 slots. */
static size_t
conflict_probe(const struct px_state *st, size_t *slot, size_t mask, size_t i, bool node)
{
    uint8_t key[8], other[8];
    size_t h;

    conflict_key(&st->port[i], node, key);
    h = (size_t)net_proxy_hash(key, 8) & mask;
    for (; slot[h] != SIZE_MAX; h = (h + 1) & mask) {
        conflict_key(&st->port[slot[h]], node, other);
        if (memcmp(key, other, 8) == 0)
            return slot[h];
    }
    slot[h] = i;
    return SIZE_MAX;
}

/* Two services on the same clusterIP:port or nodePort would give one
 * map two elements with the same key, and the kernel would refuse the
 * whole transaction: every later sync would fail. The API server
 * prevents it; refuse it here too, naming both. A hash table per map
 * key, not a sort: this runs on every sync. */
static int
check_conflicts(const struct px_state *st, struct sk_err *err)
{
    size_t cap = 16, i, j, pass, *slot;
    char ip[NET_IP_STRLEN];
    int rc = 0;

    while (cap < 2 * st->n)
        cap *= 2;
    slot = sk_reallocarray(NULL, cap, sizeof(*slot));
    for (pass = 0; pass < 2 && rc == 0; pass++) {
        memset(slot, 0xff, cap * sizeof(*slot));
        for (i = 0; i < st->n && rc == 0; i++) {
            const struct px_port *p = &st->port[i];

            if (pass == 1 && !p->node_port)
                continue;
            j = conflict_probe(st, slot, cap - 1, i, pass == 1);
            if (j == SIZE_MAX)
                continue;
            if (pass == 0)
                rc = sk_err_set(err, EINVAL, "services '%s/%s' and '%s/%s' both use %s %s/%u",
                                st->port[j].ns, st->port[j].name, p->ns, p->name,
                                net_ip_format(&p->cluster_ip, ip, sizeof(ip)), proto_k8s[p->proto],
                                p->port);
            else
                rc = sk_err_set(err, EINVAL, "services '%s/%s' and '%s/%s' both use nodePort %s/%u",
                                st->port[j].ns, st->port[j].name, p->ns, p->name,
                                proto_k8s[p->proto], p->node_port);
        }
    }
    free(slot);
    return rc;
}

/* ---- building the state, with the parse cache ---- */

/* Sort v unless it already is: the informers hand the objects over in
 * the same order every sync, and at 10,000 services a qsort of the
 * refs, ports and cache entries was most of a one-endpoint sync. */
static void
sort_unless_sorted(void *v, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    const char *p = v;
    size_t i;

    for (i = 1; i < n; i++)
        if (cmp(p + (i - 1) * size, p + i * size) > 0) {
            qsort(v, n, size, cmp);
            return;
        }
}

static int
ref_cmp(const void *a, const void *b)
{
    const struct px_ref *x = a, *y = b;
    int c = strcmp(x->ns, y->ns);

    return c ? c : strcmp(x->name, y->name);
}

static int
ref_ptr_cmp(const void *a, const void *b)
{
    return ref_cmp(*(const struct px_ref *const *)a, *(const struct px_ref *const *)b);
}

static bool
rv_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void
refs_release(struct px_refs *r)
{
    size_t i;

    /* json_decref(NULL) is a no-op: slots not filled yet are NULL. */
    for (i = 0; i < r->n; i++)
        json_decref(r->obj[i]);
    free(r->obj);
    free(r->ref);
    free(r->order);
    free(r->lo);
    free(r->hi);
    memset(r, 0, sizeof(*r));
}

/* Pointers to r's refs in name order: r->order when the names are
 * where they were (same; the order came with the arrays refs_of took
 * over), else sorted. */
static const struct px_ref **
refs_sorted(struct px_refs *r, bool same)
{
    const struct px_ref **p = sk_reallocarray(NULL, r->n ? r->n : 1, sizeof(*p));
    size_t i;

    if (same && r->order) {
        for (i = 0; i < r->n; i++)
            p[i] = &r->ref[r->order[i]];
        return p;
    }
    free(r->order);
    r->order = sk_reallocarray(NULL, r->n ? r->n : 1, sizeof(*r->order));
    for (i = 0; i < r->n; i++)
        p[i] = &r->ref[i];
    sort_unless_sorted(p, r->n, sizeof(*p), ref_ptr_cmp);
    for (i = 0; i < r->n; i++)
        r->order[i] = (size_t)(p[i] - r->ref);
    return p;
}

static int
centry_key_cmp(const struct px_centry *e, const struct px_ref *key)
{
    int r = strcmp(e->ns, key->ns);

    return r ? r : strcmp(e->name, key->name);
}

/* The cache entry of service key->ns/name, when its Service and
 * Endpoints are the objects parsed then or have the resourceVersions
 * they had then. Services come in the cache's order, so the entry
 * after the last one found (*hint) is tried first, by pointer. */
static struct px_centry *
cache_find(struct px_cache *c, const struct px_ref *key, const struct px_ref *eps, size_t *hint)
{
    const char *eps_rv = eps ? eps->rv : NULL;
    size_t lo = 0, hi = c ? c->n : 0;
    struct px_centry *e = NULL;

    if (*hint < hi && c->e[*hint].svc_obj == key->obj &&
        c->e[*hint].eps_obj == (eps ? eps->obj : NULL)) {
        e = &c->e[(*hint)++];
        return e;
    }
    /* Entries taken over already are zeroed: their empty name sorts
     * first, and they lie before the services still to come. */
    while (!e && lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = centry_key_cmp(&c->e[mid], key);

        if (r == 0 && c->e[mid].svc_rv)
            e = &c->e[mid];
        else if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (!e)
        return NULL;
    *hint = (size_t)(e - c->e) + 1;
    return strcmp(e->svc_rv, key->rv) == 0 && rv_eq(e->eps_rv, eps_rv) ? e : NULL;
}

static struct px_port *
ports_dup(const struct px_port *p, size_t n)
{
    struct px_port *out = sk_reallocarray(NULL, n ? n : 1, sizeof(*out));
    size_t i;

    memcpy(out, p, n * sizeof(*out));
    for (i = 0; i < n; i++)
        ep_ref(out[i].ep);
    return out;
}

/* Append p[0..n) to st (sharing their endpoint arrays). */
static void
state_append(struct px_state *st, const struct px_port *p, size_t n)
{
    size_t i;

    if (st->n + n > st->cap) {
        st->cap = st->n + n > 2 * st->cap ? st->n + n : 2 * st->cap;
        st->port = sk_reallocarray(st->port, st->cap, sizeof(*st->port));
    }
    memcpy(st->port + st->n, p, n * sizeof(*p));
    for (i = 0; i < n; i++, st->n++)
        ep_ref(st->port[st->n].ep);
}

static int
centry_cmp(const void *a, const void *b)
{
    const struct px_centry *x = a, *y = b;
    int c = strcmp(x->ns, y->ns);

    return c ? c : strcmp(x->name, y->name);
}

void
px_cache_release(struct px_cache *c)
{
    size_t i, j;

    for (i = 0; c && i < c->n; i++) {
        for (j = 0; j < c->e[i].n; j++)
            ep_unref(c->e[i].port[j].ep);
        free(c->e[i].port);
        free(c->e[i].svc_rv);
        free(c->e[i].eps_rv);
        json_decref(c->e[i].svc_obj);
        json_decref(c->e[i].eps_obj);
    }
    if (c) {
        free(c->e);
        refs_release(&c->svc);
        refs_release(&c->eps);
        memset(c, 0, sizeof(*c));
    }
}

static struct px_centry *
cache_push(struct px_cache *c)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 64;
        c->e = sk_reallocarray(c->e, c->cap, sizeof(*c->e));
    }
    return &c->e[c->n++];
}

static void
cache_add(struct px_cache *c, const struct px_ref *svc, const struct px_ref *eps,
          const struct px_port *p, size_t n)
{
    struct px_centry *e = cache_push(c);

    memcpy(e->ns, svc->ns, sizeof(e->ns));
    memcpy(e->name, svc->name, sizeof(e->name));
    e->svc_rv = sk_strdup(svc->rv);
    e->eps_rv = eps ? sk_strdup(eps->rv) : NULL;
    e->svc_obj = json_incref((json_t *)svc->obj);
    e->eps_obj = eps ? json_incref((json_t *)eps->obj) : NULL;
    e->port = ports_dup(p, n);
    e->n = n;
}

/* The ports of one service with their endpoints, from the cache or
 * parsed, appended to st (and recorded in next). */
static uint64_t port_hash(const struct px_port *p);

static int
build_service(const struct px_ref *svc, const struct px_ref *const *eps, size_t n_eps,
              const struct net_proxy_node *node, struct px_cache *old, size_t *hint,
              struct px_cache *next, struct px_state *st, struct sk_err *err)
{
    /* Cacheable: both objects versioned (or no Endpoints at all). */
    bool cacheable = svc->rv && (n_eps == 0 || (n_eps == 1 && eps[0]->rv));
    const struct px_ref *eps0 = n_eps ? eps[0] : NULL;
    struct px_centry *hit = cacheable ? cache_find(old, svc, eps0, hint) : NULL;
    size_t start = st->n, i, j;

    if (hit) {
        state_append(st, hit->port, hit->n);
        if (next) {
            /* Moved, not copied: old is released after the build. */
            *cache_push(next) = *hit;
            memset(hit, 0, sizeof(*hit));
        }
        return 0;
    }
    if (parse_service(svc->obj, svc->ns, svc->name, st, err) < 0)
        return -EINVAL;
    for (i = 0; i < n_eps; i++)
        for (j = start; j < st->n; j++)
            if (parse_endpoints(eps[i]->obj, &st->port[j], node, err) < 0)
                return sk_err_wrap(err, "endpoints '%s/%s'", eps[i]->ns, eps[i]->name);
    for (j = start; j < st->n; j++) {
        ep_normalize(&st->port[j]);
        st->port[j].hash = port_hash(&st->port[j]);
    }
    /* Ports in state order, so services taken in name order give a
     * sorted state without sorting it. */
    qsort(st->port + start, st->n - start, sizeof(*st->port), port_cmp);
    if (cacheable && next)
        cache_add(next, svc, eps0, st->port + start, st->n - start);
    return 0;
}

/* Make next the cache for the next build, also after a failed one (rc
 * < 0): then the entries of old not taken over (the build stopped
 * half-way) join it. After a complete build they are of services gone
 * or changed, and are dropped. */
static void
cache_finish(struct px_cache *old, struct px_cache *next, int rc)
{
    size_t i;

    if (!next)
        return;
    for (i = 0; rc < 0 && old && i < old->n; i++) {
        if (old->e[i].svc_rv) {
            *cache_push(next) = old->e[i];
            memset(&old->e[i], 0, sizeof(old->e[i]));
        }
    }
    sort_unless_sorted(next->e, next->n, sizeof(*next->e), centry_cmp);
}

/* Name and version of every object of arr into r, taking over prev's
 * arrays when arr has as many objects (prev is then emptied). An object
 * at the same position as before keeps its ref: the informer hands
 * over the same objects in the same order, and replaces an object
 * rather than change it (net_proxy_sync's contract), while reading and
 * checking the names of 20,000 objects (memory-bound json lookups) was
 * most of a one-endpoint sync. *same: every name is where it was;
 * *reread: how many objects were read. */
static int
refs_of(const json_t *arr, const char *what, struct px_refs *prev, struct px_refs *r, bool *same,
        size_t *reread, struct sk_err *err)
{
    size_t i, n = json_array_size(arr);

    *reread = 0;
    *same = prev && prev->n == n;
    if (*same) {
        *r = *prev;
        memset(prev, 0, sizeof(*prev));
    } else {
        r->obj = sk_calloc(n ? n : 1, sizeof(*r->obj));
        r->ref = sk_calloc(n ? n : 1, sizeof(*r->ref));
        r->n = n;
    }
    for (i = 0; i < n; i++) {
        json_t *obj = json_array_get(arr, i);
        struct px_ref *ref = &r->ref[i], was;

        if (*same && r->obj[i] == obj)
            continue;
        was = *ref;
        (*reread)++;
        json_decref(r->obj[i]);
        r->obj[i] = json_incref(obj);
        ref->obj = obj;
        if (get_meta_rv(obj, ref->ns, ref->name, &ref->rv, err) < 0)
            return sk_err_wrap(err, "%s[%zu]", what, i);
        if (*same && ref_cmp(ref, &was) != 0)
            *same = false;
    }
    return 0;
}

static int
check_input(const json_t *services, const json_t *endpoints, const struct net_proxy_node *node,
            struct sk_err *err)
{
    size_t i;

    for (i = 0; i < node->n_node_ip; i++)
        if (node->node_ip[i].family != AF_INET)
            return sk_err_set(err, EINVAL, "node ip #%zu: not an IPv4 address", i);
    if (node->cluster_cidr.ip.family != 0 && node->cluster_cidr.ip.family != AF_INET)
        return sk_err_set(err, EINVAL, "cluster cidr: not an IPv4 network");
    if (node->service_cidr.ip.family != 0 && node->service_cidr.ip.family != AF_INET)
        return sk_err_set(err, EINVAL, "service cidr: not an IPv4 network");
    if (services && !json_is_array(services))
        return sk_err_set(err, EINVAL, "services: not an array");
    if (endpoints && !json_is_array(endpoints))
        return sk_err_set(err, EINVAL, "endpoints: not an array");
    return 0;
}

/* The checks of the whole set of ports: sorted (ports of two services
 * of one name would not be), none twice, no two on one map key. */
static int
check_ports(struct px_state *st, struct sk_err *err)
{
    size_t i;

    sort_unless_sorted(st->port, st->n, sizeof(*st->port), port_cmp);
    for (i = 1; i < st->n; i++)
        if (port_cmp(&st->port[i - 1], &st->port[i]) == 0)
            return sk_err_set(err, EINVAL, "service '%s/%s': port %s/%u listed twice",
                              st->port[i].ns, st->port[i].name, proto_k8s[st->port[i].proto],
                              st->port[i].port);
    return check_conflicts(st, err);
}

/* Parse everything into st: ports sorted, each with its sorted ready
 * endpoints. Endpoints objects are matched by namespace/name. A
 * Service whose object and Endpoints object carry the resourceVersions
 * recorded in old reuses the ports parsed then, so a sync parses only
 * the objects that changed; next (when not NULL) records this build
 * (see px_build in net/proxy_int.h). */
int
px_build(const json_t *services, const json_t *endpoints, const struct net_proxy_node *node,
         struct px_cache *old, struct px_cache *next, struct px_state *st, struct sk_err *err)
{
    struct px_refs svc = {0}, eps = {0};
    const struct px_ref **sv = NULL, **ev = NULL;
    size_t i, j = 0, k, hint = 0, svc_read, eps_read;
    bool same_svc, same_eps, checked;
    int rc;

    if ((rc = check_input(services, endpoints, node, err)) < 0 ||
        (rc = refs_of(services, "services", old ? &old->svc : NULL, &svc, &same_svc, &svc_read,
                      err)) < 0 ||
        (rc = refs_of(endpoints, "endpoints", old ? &old->eps : NULL, &eps, &same_eps, &eps_read,
                      err)) < 0)
        goto out_free;
    /* The very Service objects that passed the checks of the whole set
     * last time, in the same places: the ports are what they were. */
    checked = old && old->checked && same_svc && svc_read == 0;
    /* Room for a port per service at once: growing a state of 10,000
     * ports by doubling copied it a dozen times. */
    if (st->cap < svc.n) {
        st->cap = svc.n;
        st->port = sk_reallocarray(st->port, st->cap, sizeof(*st->port));
    }
    if (next && old && next->cap < old->n) {
        next->cap = old->n;
        next->e = sk_reallocarray(next->e, next->cap, sizeof(*next->e));
    }
    /* Both in name order, matched in one pass, unless every name is
     * where it was: then so are the matches. */
    sv = refs_sorted(&svc, same_svc);
    ev = refs_sorted(&eps, same_eps);
    if (!(same_svc && same_eps && svc.lo)) {
        free(svc.lo);
        free(svc.hi);
        svc.lo = sk_reallocarray(NULL, svc.n ? svc.n : 1, sizeof(*svc.lo));
        svc.hi = sk_reallocarray(NULL, svc.n ? svc.n : 1, sizeof(*svc.hi));
        for (i = 0; i < svc.n; i++) {
            while (j < eps.n && ref_cmp(ev[j], sv[i]) < 0)
                j++;
            for (k = j; k < eps.n && ref_cmp(ev[k], sv[i]) == 0;)
                k++;
            svc.lo[i] = j;
            svc.hi[i] = k;
        }
    }
    for (i = 0; i < svc.n; i++) {
        rc = build_service(sv[i], ev + svc.lo[i], svc.hi[i] - svc.lo[i], node, old, &hint, next, st,
                           err);
        if (rc < 0)
            goto out_free;
    }
    /* Services in name order, each one's ports sorted: the state is
     * sorted already, unless two services share a name. */
    if (!checked)
        rc = check_ports(st, err);
out_free:
    free(sv);
    free(ev);
    cache_finish(old, next, rc);
    if (next)
        next->checked = rc == 0;
    /* The input is remembered only when fully read (refs_sorted ran). */
    if (next && ev) {
        refs_release(&next->svc);
        refs_release(&next->eps);
        next->svc = svc;
        next->eps = eps;
    } else {
        refs_release(&svc);
        refs_release(&eps);
    }
    return rc;
}

/* ---- rendering ---- */

struct px_out {
    struct sk_buf *b;
    const struct net_proxy_node *node;
    uint32_t mark;
    struct net_proxy_stats st;
};

/* "<ns>/<name>/<proto>/<port>": the part of every chain and set name
 * that identifies a service port. */
static void
put_id(struct px_out *o, const struct px_port *p)
{
    char id[PX_ID_MAX];

    px_port_id(id, sizeof(id), "", p, NULL);
    sk_buf_puts(o->b, id);
}

static void
put_ep_id(struct px_out *o, const struct px_port *p, const struct px_ep *e)
{
    char id[PX_ID_MAX];

    px_port_id(id, sizeof(id), "", p, e);
    sk_buf_puts(o->b, id);
}

static void
put_ip(struct px_out *o, const struct net_ip *ip)
{
    char s[NET_IP_STRLEN];

    sk_buf_puts(o->b, net_ip_format(ip, s, sizeof(s)));
}

/* "{ a, b }" of the node IPs. */
static void
put_node_ips(struct px_out *o)
{
    size_t i;

    sk_buf_puts(o->b, "{ ");
    for (i = 0; i < o->node->n_node_ip; i++) {
        if (i)
            sk_buf_puts(o->b, ", ");
        put_ip(o, &o->node->node_ip[i]);
    }
    sk_buf_puts(o->b, " }");
}

/* One verdict map; the element writer is called per port and returns
 * whether it wrote an element (and then wrote it). */
static void
put_map(struct px_out *o, const struct px_state *st, const char *name, const char *type,
        bool (*elem)(struct px_out *, const struct px_port *))
{
    size_t i, n = 0;

    sk_buf_printf(o->b, "\tmap %s {\n\t\ttype %s : verdict\n", name, type);
    for (i = 0; i < st->n; i++) {
        size_t mark = o->b->len;

        sk_buf_puts(o->b, n ? ",\n\t\t\t     " : "\t\telements = { ");
        if (elem(o, &st->port[i])) {
            n++;
            o->st.rules++;
        } else {
            sk_buf_truncate(o->b, mark);
        }
    }
    if (n)
        sk_buf_puts(o->b, " }\n");
    sk_buf_puts(o->b, "\t}\n\n");
}

static bool
elem_service_ip(struct px_out *o, const struct px_port *p)
{
    if (p->n_ep == 0)
        return false;
    put_ip(o, &p->cluster_ip);
    sk_buf_printf(o->b, " . %s . %u : goto svc-", px_proto_name[p->proto], p->port);
    put_id(o, p);
    return true;
}

static bool
elem_nodeport(struct px_out *o, const struct px_port *p)
{
    if (!px_nodeport_served(p))
        return false;
    sk_buf_printf(o->b, "%s . %u : goto ext-", px_proto_name[p->proto], p->node_port);
    put_id(o, p);
    return true;
}

static bool
elem_no_ep_service(struct px_out *o, const struct px_port *p)
{
    if (p->n_ep > 0)
        return false;
    put_ip(o, &p->cluster_ip);
    sk_buf_printf(o->b, " . %s . %u : goto reject-chain", px_proto_name[p->proto], p->port);
    return true;
}

/* A nodeport without endpoints is rejected; with externalTrafficPolicy
 * Local and endpoints only elsewhere it is dropped, as kube-proxy does,
 * so a load balancer's health check sees the node as down. */
static bool
elem_no_ep_nodeport(struct px_out *o, const struct px_port *p)
{
    if (!p->node_port || px_nodeport_served(p))
        return false;
    sk_buf_printf(o->b, "%s . %u : %s", px_proto_name[p->proto], p->node_port,
                  p->n_ep ? "drop" : "goto reject-chain");
    return true;
}

static void
put_affinity_sets(struct px_out *o, const struct px_port *p)
{
    size_t j;

    for (j = 0; p->affinity && j < p->n_ep; j++) {
        sk_buf_puts(o->b, "\tset aff-");
        put_ep_id(o, p, &p->ep[j]);
        sk_buf_printf(o->b,
                      " {\n\t\ttype ipv4_addr\n\t\tflags dynamic,timeout\n"
                      "\t\ttimeout %us\n\t}\n\n",
                      p->affinity);
    }
}

static void
put_chain(struct px_out *o, const char *name, const char *hook, const char *body)
{
    sk_buf_printf(o->b, "\tchain %s {\n", name);
    if (hook)
        sk_buf_printf(o->b, "\t\t%s; policy accept;\n", hook);
    sk_buf_puts(o->b, body);
    sk_buf_puts(o->b, "\t}\n\n");
}

/* The chains every ruleset has. */
static void
put_fixed_chains(struct px_out *o)
{
    char rule[256];
    bool nodeports = o->node->n_node_ip > 0;

    put_chain(o, "filter-prerouting", "type filter hook prerouting priority -110",
              "\t\tct state new jump endpoints-check\n");
    put_chain(o, "filter-output", "type filter hook output priority -110",
              "\t\tct state new jump endpoints-check\n");
    sk_buf_puts(o->b, "\tchain endpoints-check {\n"
                      "\t\tip daddr . meta l4proto . th dport vmap @no-endpoint-services\n");
    if (nodeports) {
        sk_buf_puts(o->b, "\t\tip daddr ");
        put_node_ips(o);
        sk_buf_puts(o->b, " meta l4proto . th dport vmap @no-endpoint-nodeports\n");
    }
    sk_buf_puts(o->b, "\t}\n\n");
    put_chain(o, "reject-chain", NULL, "\t\tmeta l4proto tcp reject with tcp reset\n\t\treject\n");
    put_chain(o, "nat-prerouting", "type nat hook prerouting priority -100", "\t\tjump services\n");
    put_chain(o, "nat-output", "type nat hook output priority -100", "\t\tjump services\n");
    /* Hairpin: a pod reaching its own service must see the reply come
     * from the service, so the connection is masqueraded to the node.
     * After DNAT, only such a connection has saddr == daddr here. */
    put_chain(o, "nat-postrouting", "type nat hook postrouting priority 100",
              "\t\tip saddr . ip daddr @hairpin jump mark-for-masquerade\n"
              "\t\tjump masquerading\n");
    snprintf(rule, sizeof(rule),
             "\t\tmeta mark & 0x%x == 0 return\n\t\tmeta mark set meta mark ^ 0x%x\n"
             "\t\tmasquerade fully-random\n",
             o->mark, o->mark);
    put_chain(o, "masquerading", NULL, rule);
    if (o->node->service_cidr.ip.family == AF_INET) {
        char cidr[NET_CIDR_STRLEN];

        /* TCP gets a reset: an ICMP error for a connection the node
         * itself opens arrives while connect(2) still holds the socket,
         * and the kernel then keeps it as a soft error and retries
         * (tcp_v4_err), so only a reset fails the connect at once. */
        net_cidr_format(&o->node->service_cidr, cidr, sizeof(cidr));
        snprintf(rule, sizeof(rule),
                 "\t\tip daddr %s meta l4proto tcp reject with tcp reset\n"
                 "\t\tip daddr %s reject with icmp type host-unreachable\n",
                 cidr, cidr);
        put_chain(o, "unallocated-prerouting", "type filter hook prerouting priority -90", rule);
        put_chain(o, "unallocated-output", "type filter hook output priority -90", rule);
        o->st.rules += 4;
    }
    snprintf(rule, sizeof(rule), "\t\tmeta mark set meta mark | 0x%x\n", o->mark);
    put_chain(o, "mark-for-masquerade", NULL, rule);
    sk_buf_puts(o->b, "\tchain services {\n"
                      "\t\tip daddr . meta l4proto . th dport vmap @service-ips\n");
    if (nodeports) {
        sk_buf_puts(o->b, "\t\tip daddr ");
        put_node_ips(o);
        sk_buf_puts(o->b, " meta l4proto . th dport vmap @service-nodeports\n");
    }
    sk_buf_puts(o->b, "\t}\n\n");
    o->st.rules += 14 + 2 * nodeports;
}

static bool
ep_eligible(const struct px_ep *e, bool local_only)
{
    return !local_only || e->local;
}

/* Pick an endpoint of p (only local ones when local_only), n of them
 * eligible: affinity first, then at random. */
static void
put_pick(struct px_out *o, const struct px_port *p, bool local_only, size_t n)
{
    size_t i, k;

    for (i = 0; p->affinity && i < p->n_ep; i++) {
        if (!ep_eligible(&p->ep[i], local_only))
            continue;
        sk_buf_puts(o->b, "\t\tip saddr @aff-");
        put_ep_id(o, p, &p->ep[i]);
        sk_buf_puts(o->b, " goto ep-");
        put_ep_id(o, p, &p->ep[i]);
        sk_buf_putc(o->b, '\n');
        o->st.rules++;
    }
    /* Endpoint k of n is taken with probability 1/(n-k) among those
     * left, which makes the choice uniform; the last one is a plain
     * goto. */
    for (i = 0, k = 0; i < p->n_ep; i++) {
        if (!ep_eligible(&p->ep[i], local_only))
            continue;
        if (k + 1 < n)
            sk_buf_printf(o->b, "\t\tnumgen random mod %zu == 0 goto ep-", n - k);
        else
            sk_buf_puts(o->b, "\t\tgoto ep-");
        put_ep_id(o, p, &p->ep[i]);
        sk_buf_putc(o->b, '\n');
        o->st.rules++;
        k++;
    }
}

/* The random choice of a port without affinity: one rule whatever the
 * endpoints, which live in map prefix<id>. */
static void
put_dnat_map(struct px_out *o, const struct px_port *p, const char *prefix)
{
    sk_buf_printf(o->b, "\t\tmeta l4proto %s dnat ip to numgen random mod %u map @%s",
                  px_proto_name[p->proto], PX_SLOTS, prefix);
    put_id(o, p);
    sk_buf_putc(o->b, '\n');
    o->st.rules++;
}

static void
put_service_chains(struct px_out *o, const struct px_port *p)
{
    char cidr[NET_CIDR_STRLEN];
    size_t nl = px_n_local(p);

    sk_buf_puts(o->b, "\tchain svc-");
    put_id(o, p);
    sk_buf_puts(o->b, " {\n");
    if (o->node->cluster_cidr.ip.family == AF_INET) {
        sk_buf_printf(o->b, "\t\tip saddr != %s jump mark-for-masquerade\n",
                      net_cidr_format(&o->node->cluster_cidr, cidr, sizeof(cidr)));
        o->st.rules++;
    }
    if (p->affinity)
        put_pick(o, p, false, p->n_ep);
    else
        put_dnat_map(o, p, "eps-");
    sk_buf_puts(o->b, "\t}\n\n");
    if (!px_nodeport_served(p))
        return;
    sk_buf_puts(o->b, "\tchain ext-");
    put_id(o, p);
    sk_buf_puts(o->b, " {\n");
    if (p->local) {
        /* Local: keep the client address, so no masquerade. */
        if (p->affinity)
            put_pick(o, p, true, nl);
        else
            put_dnat_map(o, p, "eps-local-");
    } else {
        sk_buf_puts(o->b, "\t\tjump mark-for-masquerade\n\t\tgoto svc-");
        put_id(o, p);
        sk_buf_putc(o->b, '\n');
        o->st.rules += 4;
    }
    sk_buf_puts(o->b, "\t}\n\n");
}

/* Only ports with affinity have endpoint chains (see the top). */
static void
put_endpoint_chain(struct px_out *o, const struct px_port *p, const struct px_ep *e)
{
    char ip[NET_IP_STRLEN];

    net_ip_format(&e->ip, ip, sizeof(ip));
    sk_buf_puts(o->b, "\tchain ep-");
    put_ep_id(o, p, e);
    sk_buf_puts(o->b, " {\n\t\tupdate @aff-");
    put_ep_id(o, p, e);
    sk_buf_printf(o->b, " { ip saddr }\n\t\tmeta l4proto %s dnat to %s:%u\n\t}\n\n",
                  px_proto_name[p->proto], ip, e->port);
    o->st.rules += 2;
}

bool
px_port_data(const struct px_port *p)
{
    return p->n_ep > 0 && !p->affinity;
}

size_t
px_port_ranges(const struct px_port *p, bool local_only, struct px_range *out)
{
    size_t i, k = 0, n = 0;

    for (i = 0; i < p->n_ep; i++)
        n += ep_eligible(&p->ep[i], local_only);
    /* A slice each needs n <= PX_SLOTS; more endpoints than that (the
     * API server allows far fewer in one object) are left out rather
     * than given empty slices, which the kernel would refuse. */
    if (n > PX_SLOTS)
        n = PX_SLOTS;
    for (i = 0; i < p->n_ep && k < n; i++) {
        if (!ep_eligible(&p->ep[i], local_only))
            continue;
        out[k].lo = (unsigned)(k * PX_SLOTS / n);
        out[k].hi = (unsigned)((k + 1) * PX_SLOTS / n - 1);
        out[k].ep = &p->ep[i];
        k++;
    }
    return k;
}

/* "map eps-<id>" (or eps-local-<id>): slices of numgen random mod
 * PX_SLOTS to endpoint address . port. */
static void
put_eps_map(struct px_out *o, const struct px_port *p, bool local_only)
{
    struct px_range *r = sk_reallocarray(NULL, p->n_ep, sizeof(*r));
    size_t i, n = px_port_ranges(p, local_only, r);

    sk_buf_puts(o->b, local_only ? "\tmap eps-local-" : "\tmap eps-");
    put_id(o, p);
    sk_buf_printf(o->b,
                  " {\n\t\ttypeof numgen random mod %u : ip daddr . th dport\n"
                  "\t\tflags interval\n\t\telements = { ",
                  PX_SLOTS);
    for (i = 0; i < n; i++) {
        sk_buf_printf(o->b, "%s%u-%u : ", i ? ",\n\t\t\t     " : "", r[i].lo, r[i].hi);
        put_ip(o, &r[i].ep->ip);
        sk_buf_printf(o->b, " . %u", r[i].ep->port);
        o->st.rules++;
    }
    sk_buf_puts(o->b, " }\n\t}\n\n");
    free(r);
}

static int
ip_cmp(const void *a, const void *b)
{
    return memcmp(a, b, 4);
}

/* "set hairpin": "a . a" for every endpoint address a. */
static void
put_hairpin_set(struct px_out *o, const struct px_state *st)
{
    struct net_ip *v = NULL;
    size_t i, j, n = 0, cap = 0;

    for (i = 0; i < st->n; i++)
        for (j = 0; j < st->port[i].n_ep; j++) {
            if (n == cap) {
                cap = cap ? 2 * cap : 64;
                v = sk_reallocarray(v, cap, sizeof(*v));
            }
            v[n++] = st->port[i].ep[j].ip;
        }
    if (n)
        qsort(v, n, sizeof(*v), ip_cmp);
    sk_buf_puts(o->b, "\tset hairpin {\n\t\ttype ipv4_addr . ipv4_addr\n");
    for (i = 0, j = 0; i < n; i++) {
        if (i && memcmp(v[i].a, v[i - 1].a, 4) == 0)
            continue;
        sk_buf_puts(o->b, j++ ? ",\n\t\t\t     " : "\t\telements = { ");
        put_ip(o, &v[i]);
        sk_buf_puts(o->b, " . ");
        put_ip(o, &v[i]);
    }
    if (j)
        sk_buf_puts(o->b, " }\n");
    sk_buf_puts(o->b, "\t}\n\n");
    free(v);
}

static void
render_state(struct px_out *o, const struct px_state *st)
{
    size_t i, j;

    sk_buf_puts(o->b, "add table " NET_PROXY_FAMILY " " NET_PROXY_TABLE "\n"
                      "delete table " NET_PROXY_FAMILY " " NET_PROXY_TABLE "\n"
                      "table " NET_PROXY_FAMILY " " NET_PROXY_TABLE " {\n");
    put_map(o, st, "service-ips", "ipv4_addr . inet_proto . inet_service", elem_service_ip);
    put_map(o, st, "service-nodeports", "inet_proto . inet_service", elem_nodeport);
    put_map(o, st, "no-endpoint-services", "ipv4_addr . inet_proto . inet_service",
            elem_no_ep_service);
    put_map(o, st, "no-endpoint-nodeports", "inet_proto . inet_service", elem_no_ep_nodeport);
    put_hairpin_set(o, st);
    put_fixed_chains(o);
    for (i = 0; i < st->n; i++) {
        const struct px_port *p = &st->port[i];

        if (p->n_ep == 0)
            continue;
        o->st.services++;
        o->st.endpoints += p->n_ep;
        put_affinity_sets(o, p);
        if (px_port_data(p)) {
            put_eps_map(o, p, false);
            if (px_nodeport_served(p) && p->local)
                put_eps_map(o, p, true);
        }
        put_service_chains(o, p);
        for (j = 0; p->affinity && j < p->n_ep; j++)
            put_endpoint_chain(o, p, &p->ep[j]);
    }
    /* No blank line before the closing brace. */
    sk_buf_truncate(o->b, o->b->len - 1);
    sk_buf_puts(o->b, "}\n");
}

void
px_render_state(const struct px_state *st, const struct net_proxy_node *node, struct sk_buf *out,
                struct net_proxy_stats *stats)
{
    struct px_out o = {out, node, node->masq_mark ? node->masq_mark : NET_PROXY_MARK_DEFAULT, {0}};

    render_state(&o, st);
    if (stats)
        *stats = o.st;
}

/* Mirrors the counting of the put_* functions above. */
void
px_state_stats(const struct px_state *st, const struct net_proxy_node *node,
               struct net_proxy_stats *stats)
{
    bool nodeports = node->n_node_ip > 0;
    size_t i;

    memset(stats, 0, sizeof(*stats));
    stats->rules = 14 + 2 * nodeports + 4 * (node->service_cidr.ip.family == AF_INET);
    for (i = 0; i < st->n; i++) {
        const struct px_port *p = &st->port[i];
        /* Only nodePorts need it: counting reads every endpoint. */
        size_t nl = p->node_port ? px_n_local(p) : 0;

        /* One element in one or two of the maps. */
        stats->rules += 1 + (p->node_port != 0);
        if (p->n_ep == 0)
            continue;
        stats->services++;
        stats->endpoints += p->n_ep;
        stats->rules += (node->cluster_cidr.ip.family == AF_INET);
        /* Affinity: a lookup and a cascade rule per endpoint, and an
         * endpoint chain of two rules; else one rule and the elements
         * of the endpoint map. */
        stats->rules += p->affinity ? 4 * p->n_ep : 1 + p->n_ep;
        if (px_nodeport_served(p))
            stats->rules += !p->local ? 4 : p->affinity ? 2 * nl : 1 + nl;
    }
}

static void
hash_mix(uint64_t *h, const void *data, size_t len)
{
    *h = *h * 31 + net_proxy_hash(data, len);
}

/* Every field of p but the hash. */
static uint64_t
port_hash(const struct px_port *p)
{
    unsigned v[6] = {(unsigned)p->proto, p->port,  p->node_port,
                     p->affinity,        p->local, (unsigned)p->n_ep};
    uint64_t h = 0;
    size_t j;

    hash_mix(&h, p->ns, strlen(p->ns) + 1);
    hash_mix(&h, p->name, strlen(p->name) + 1);
    hash_mix(&h, p->pname, strlen(p->pname) + 1);
    hash_mix(&h, p->cluster_ip.a, 4);
    hash_mix(&h, v, sizeof(v));
    for (j = 0; j < p->n_ep; j++) {
        unsigned e[2] = {p->ep[j].port, p->ep[j].local};

        hash_mix(&h, p->ep[j].ip.a, 4);
        hash_mix(&h, e, sizeof(e));
    }
    return h;
}

/* Of the ports' hashes, taken when they were parsed (build_service):
 * hashing every endpoint of 10,000 services on each sync was a tenth
 * of a one-endpoint change. */
uint64_t
px_state_hash(const struct px_state *st)
{
    uint64_t h = 0;
    size_t i;

    for (i = 0; i < st->n; i++)
        h = h * 31 + st->port[i].hash;
    return h;
}

int
net_proxy_render(const json_t *services, const json_t *endpoints, const struct net_proxy_node *node,
                 struct sk_buf *out, struct net_proxy_stats *stats, struct sk_err *err)
{
    struct px_state st = {0};
    int rc;

    rc = px_build(services, endpoints, node, NULL, NULL, &st, err);
    if (rc == 0)
        px_render_state(&st, node, out, stats);
    px_state_release(&st);
    return rc;
}

uint64_t
net_proxy_hash(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ull;
    size_t i;

    for (i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}
