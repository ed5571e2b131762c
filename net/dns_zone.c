/* The cluster zone: names of Services, their endpoints and pods, built
 * once from Service and Endpoints objects into an immutable snapshot.
 *
 * Names answered (Kubernetes DNS specification, "cluster.local" shown):
 *
 *   <svc>.<ns>.svc.cluster.local               A/AAAA: each of the cluster
 *                                              IPs (spec.clusterIPs, else
 *                                              spec.clusterIP); headless:
 *                                              each ready address
 *   <host>.<svc>.<ns>.svc.cluster.local        A: a headless endpoint, by
 *                                              its hostname or dashed IP
 *   _<port>._<proto>.<svc>.<ns>.svc.cluster.local
 *                                              SRV per named port, target
 *                                              the service (or, headless,
 *                                              each endpoint) name; the
 *                                              targets' A in additional
 *   <svc>.<ns>.svc.cluster.local (ExternalName) CNAME spec.externalName
 *   <a-b-c-d>.<ns>.pod.cluster.local           A a.b.c.d ("pods insecure":
 *                                              any namespace, not checked)
 *   d.c.b.a.in-addr.arpa, <32 nibbles>.ip6.arpa
 *                                              PTR for cluster IPs and
 *                                              headless endpoint addresses
 *   cluster.local                              SOA
 *
 * Every ancestor of an owner name down to the apex exists as an empty
 * non-terminal, so "svc.cluster.local" or "_tcp.web.default.svc..." get
 * NODATA, not NXDOMAIN (RFC 8020). Storage: every name once in an arena
 * of wire bytes (owners lowercased); records of 36 bytes refer to it by
 * offset and are sorted by owner; nodes (owners and empty non-terminals,
 * the latter suffixes of owners in the arena) are sorted the same way and
 * point at their run of records. A lookup is one binary search. 10,000
 * headless services of 10 endpoints take 28 MB and 0.3 s to build. */
#include "net/dns.h"
#include "net/net.h"

#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/log.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define SOA_REFRESH 7200
#define SOA_RETRY   1800
#define SOA_EXPIRE  86400

/* A name in the arena: wire bytes at off, len long. A suffix of a name
 * is a name too (off + 1 + first label), so empty non-terminals cost no
 * arena space. */
struct zref {
    uint32_t off;
    uint8_t len;
};

/* One record in 36 bytes rather than a struct dns_rr's ~800, which
 * matters with a copy of the zone on every node of a big cluster. */
struct zrec {
    struct zref owner;  /* lowercased */
    struct zref target; /* PTR, CNAME, SRV: as given */
    uint16_t type, port, weight;
    uint8_t addr[16];
};

struct znode {
    struct zref name;
    uint32_t first, n; /* records[first .. first+n) */
};

#define RECENT 8

struct dns_zone {
    struct dns_name apex;     /* lowercased */
    struct dns_name pod_apex; /* pod.<apex> */
    struct dns_name arpa;     /* in-addr.arpa */
    struct dns_name arpa6;    /* ip6.arpa */
    uint32_t ttl;
    struct dns_rr soa;
    uint8_t *arena; /* every owner and target name, back to back */
    size_t alen, acap;
    struct zref recent[RECENT]; /* while building: names just added */
    size_t nrecent;
    struct zrec *rec;
    size_t nrec, caprec;
    struct znode *node;
    size_t nnode, capnode;
};

static void
name_lower(struct dns_name *n)
{
    size_t i;

    for (i = 0; i < n->len; i++)
        n->data[i] = (uint8_t)tolower(n->data[i]);
}

/* Join "label" in front of parent; false when the result is not a name
 * (a label over 63 bytes or the name over 255). */
static bool
name_prepend(const char *label, const struct dns_name *parent, struct dns_name *out)
{
    size_t n = strlen(label);

    if (n == 0 || n > DNS_LABEL_MAX || n + 1 + parent->len > DNS_NAME_MAX || strchr(label, '.'))
        return false;
    out->data[0] = (uint8_t)n;
    memcpy(out->data + 1, label, n);
    memcpy(out->data + 1 + n, parent->data, parent->len);
    out->len = (uint8_t)(1 + n + parent->len);
    return true;
}

static bool
has_upper(const struct dns_name *n)
{
    size_t i;

    for (i = 0; i < n->len; i++)
        if (isupper(n->data[i]))
            return true;
    return false;
}

static struct zref
arena_add(struct dns_zone *z, const struct dns_name *n, bool lower)
{
    struct zref r = {(uint32_t)z->alen, n->len};
    size_t i;

    /* The same names come back within a few records (a service name for
     * each of its endpoints, an endpoint name as owner, PTR and SRV
     * target): reuse a recent copy rather than store it again. */
    for (i = 0; i < RECENT; i++) {
        struct zref c = z->recent[i];
        if (c.len == n->len && memcmp(z->arena + c.off, n->data, n->len) == 0 &&
            (!lower || !has_upper(n)))
            return c;
    }
    z->recent[z->nrecent++ % RECENT] = r;

    if (z->alen + n->len > z->acap) {
        z->acap = z->acap ? 2 * z->acap : 4096;
        z->arena = sk_realloc(z->arena, z->acap);
    }
    memcpy(z->arena + z->alen, n->data, n->len);
    for (i = 0; lower && i < n->len; i++)
        z->arena[z->alen + i] = (uint8_t)tolower(z->arena[z->alen + i]);
    z->alen += n->len;
    return r;
}

static void
arena_name(const struct dns_zone *z, struct zref r, struct dns_name *out)
{
    out->len = r.len;
    memcpy(out->data, z->arena + r.off, r.len);
}

static int
ref_cmp(const struct dns_zone *z, struct zref a, struct zref b)
{
    int c = memcmp(z->arena + a.off, z->arena + b.off, a.len < b.len ? a.len : b.len);

    return c ? c : (int)a.len - (int)b.len;
}

static int
ref_key_cmp(const struct dns_zone *z, struct zref a, const struct dns_name *key)
{
    int c = memcmp(z->arena + a.off, key->data, a.len < key->len ? a.len : key->len);

    return c ? c : (int)a.len - (int)key->len;
}

static void
add_node(struct dns_zone *z, struct zref name)
{
    if (z->nnode == z->capnode) {
        z->capnode = z->capnode ? 2 * z->capnode : 64;
        z->node = sk_reallocarray(z->node, z->capnode, sizeof(*z->node));
    }
    z->node[z->nnode].name = name;
    z->node[z->nnode].first = z->node[z->nnode].n = 0;
    z->nnode++;
}

static void
add_rec(struct dns_zone *z, const struct dns_rr *rr)
{
    struct zrec *r;

    if (z->nrec == z->caprec) {
        z->caprec = z->caprec ? 2 * z->caprec : 64;
        z->rec = sk_reallocarray(z->rec, z->caprec, sizeof(*z->rec));
    }
    r = &z->rec[z->nrec++];
    memset(r, 0, sizeof(*r));
    r->owner = arena_add(z, &rr->name, true);
    r->type = rr->type;
    switch (rr->type) {
    case DNS_TYPE_A:
        memcpy(r->addr, rr->rd.a, 4);
        break;
    case DNS_TYPE_AAAA:
        memcpy(r->addr, rr->rd.aaaa, 16);
        break;
    case DNS_TYPE_PTR:
    case DNS_TYPE_CNAME:
        r->target = arena_add(z, &rr->rd.target, false);
        break;
    case DNS_TYPE_SRV:
        r->port = rr->rd.srv.port;
        r->weight = rr->rd.srv.weight;
        r->target = arena_add(z, &rr->rd.srv.target, false);
        break;
    default: /* SOA: z->soa */
        break;
    }
}

/* The record as it goes out, owned by name. */
static void
expand(const struct dns_zone *z, const struct zrec *r, const struct dns_name *name,
       struct dns_rr *rr)
{
    if (r->type == DNS_TYPE_SOA) {
        *rr = z->soa;
        rr->name = *name;
        return;
    }
    memset(rr, 0, sizeof(*rr));
    rr->name = *name;
    rr->type = r->type;
    rr->klass = DNS_CLASS_IN;
    rr->ttl = z->ttl;
    switch (r->type) {
    case DNS_TYPE_A:
        memcpy(rr->rd.a, r->addr, 4);
        break;
    case DNS_TYPE_AAAA:
        memcpy(rr->rd.aaaa, r->addr, 16);
        break;
    case DNS_TYPE_SRV:
        rr->rd.srv.priority = 0;
        rr->rd.srv.weight = r->weight;
        rr->rd.srv.port = r->port;
        arena_name(z, r->target, &rr->rd.srv.target);
        break;
    default:
        arena_name(z, r->target, &rr->rd.target);
    }
}

static void
add_addr(struct dns_zone *z, const struct dns_name *owner, const struct net_ip *ip)
{
    struct dns_rr rr;

    memset(&rr, 0, sizeof(rr));
    rr.name = *owner;
    rr.klass = DNS_CLASS_IN;
    rr.ttl = z->ttl;
    if (ip->family == AF_INET) {
        rr.type = DNS_TYPE_A;
        memcpy(rr.rd.a, ip->a, 4);
    } else {
        rr.type = DNS_TYPE_AAAA;
        memcpy(rr.rd.aaaa, ip->a, 16);
    }
    add_rec(z, &rr);
}

static void
add_target(struct dns_zone *z, uint16_t type, const struct dns_name *owner,
           const struct dns_name *target)
{
    struct dns_rr rr;

    memset(&rr, 0, sizeof(rr));
    rr.name = *owner;
    rr.type = type;
    rr.klass = DNS_CLASS_IN;
    rr.ttl = z->ttl;
    rr.rd.target = *target;
    add_rec(z, &rr);
}

/* PTR d.c.b.a.in-addr.arpa, or the 32 nibbles of an IPv6 address
 * lowest first under ip6.arpa (RFC 3596 §2.5), -> target. */
static void
add_ptr(struct dns_zone *z, const struct net_ip *ip, const struct dns_name *target)
{
    static const char hex[] = "0123456789abcdef";
    char s[80];
    struct dns_name owner;
    size_t i, n = 0;

    if (ip->family == AF_INET) {
        snprintf(s, sizeof(s), "%u.%u.%u.%u.in-addr.arpa", ip->a[3], ip->a[2], ip->a[1], ip->a[0]);
    } else {
        for (i = 16; i-- > 0;) {
            s[n++] = hex[ip->a[i] & 15];
            s[n++] = '.';
            s[n++] = hex[ip->a[i] >> 4];
            s[n++] = '.';
        }
        sk_strlcpy(s + n, "ip6.arpa", sizeof(s) - n);
    }
    if (dns_name_from_str(s, &owner, NULL) == 0)
        add_target(z, DNS_TYPE_PTR, &owner, target);
}

static void
add_srv(struct dns_zone *z, const struct dns_name *svc, const char *port, const char *proto,
        uint16_t number, uint16_t weight, const struct dns_name *target)
{
    char lp[80], lpr[80];
    struct dns_name mid, owner;
    struct dns_rr rr;
    size_t i;

    snprintf(lp, sizeof(lp), "_%s", port);
    snprintf(lpr, sizeof(lpr), "_%s", proto);
    for (i = 0; lpr[i]; i++)
        lpr[i] = (char)tolower((unsigned char)lpr[i]);
    if (!name_prepend(lpr, svc, &mid) || !name_prepend(lp, &mid, &owner))
        return;
    memset(&rr, 0, sizeof(rr));
    rr.name = owner;
    rr.type = DNS_TYPE_SRV;
    rr.klass = DNS_CLASS_IN;
    rr.ttl = z->ttl;
    rr.rd.srv.priority = 0;
    rr.rd.srv.weight = weight;
    rr.rd.srv.port = number;
    rr.rd.srv.target = *target;
    add_rec(z, &rr);
}

static const char *
jstr(const json_t *o, const char *k1, const char *k2)
{
    const json_t *v = json_object_get(o, k1);

    if (k2)
        v = json_object_get(v, k2);
    return json_string_value(v);
}

static const json_t *
items_of(const json_t *list)
{
    if (json_is_object(list))
        return json_object_get(list, "items");
    return list;
}

/* Endpoints by "namespace/name", so pairing them with Services is not
 * quadratic (10,000 services would otherwise take seconds). */
static json_t *
index_endpoints(const json_t *endpoints)
{
    json_t *idx = json_object(), *ep;
    const char *name, *ns;
    char key[512];
    size_t i;

    json_array_foreach (items_of(endpoints), i, ep) {
        name = jstr(ep, "metadata", "name");
        ns = jstr(ep, "metadata", "namespace");
        if (name && sk_snprintf(key, sizeof(key), "%s/%s", ns ? ns : "default", name) == 0)
            json_object_set(idx, key, ep);
    }
    return idx;
}

static const json_t *
find_endpoints(const json_t *idx, const char *name, const char *ns)
{
    char key[512];

    if (sk_snprintf(key, sizeof(key), "%s/%s", ns, name) < 0)
        return NULL;
    return json_object_get(idx, key);
}

/* The port number of the endpoint port named like the service port, else
 * the service's integer targetPort, else its port. */
static uint16_t
endpoint_port(const json_t *subset, const json_t *sport)
{
    const char *name = jstr(sport, "name", NULL);
    const json_t *p;
    size_t i;

    json_array_foreach (json_object_get(subset, "ports"), i, p) {
        const char *pn = jstr(p, "name", NULL);
        if (strcmp(pn ? pn : "", name ? name : "") == 0)
            return (uint16_t)json_integer_value(json_object_get(p, "port"));
    }
    if (json_is_integer(json_object_get(sport, "targetPort")))
        return (uint16_t)json_integer_value(json_object_get(sport, "targetPort"));
    return (uint16_t)json_integer_value(json_object_get(sport, "port"));
}

static void
add_headless_address(struct dns_zone *z, const struct dns_name *svc, const json_t *svcobj,
                     const json_t *subset, const json_t *addr, size_t nready)
{
    const char *ips = jstr(addr, "ip", NULL), *host = jstr(addr, "hostname", NULL);
    char dashed[NET_IP_STRLEN], *c;
    struct dns_name hname;
    const json_t *sport;
    struct net_ip ip;
    size_t i;

    if (!ips || net_ip_parse(ips, &ip, NULL) < 0) {
        sk_warn("dns", "service '%s': endpoint address '%s' is not an IP; skipped",
                jstr(svcobj, "metadata", "name"), ips ? ips : "");
        return;
    }
    add_addr(z, svc, &ip);
    if (!host || !*host) {
        sk_strlcpy(dashed, ips, sizeof(dashed));
        for (c = dashed; *c; c++)
            if (*c == '.' || *c == ':')
                *c = '-';
        host = dashed;
    }
    if (!name_prepend(host, svc, &hname))
        return;
    add_addr(z, &hname, &ip);
    add_ptr(z, &ip, &hname);
    json_array_foreach (json_object_get(json_object_get(svcobj, "spec"), "ports"), i, sport) {
        const char *pname = jstr(sport, "name", NULL), *proto = jstr(sport, "protocol", NULL);
        if (pname && *pname)
            add_srv(z, svc, pname, proto ? proto : "TCP", endpoint_port(subset, sport),
                    (uint16_t)(nready ? (100 + nready - 1) / nready : 100), &hname);
    }
}

static void
add_headless(struct dns_zone *z, const struct dns_name *svc, const json_t *svcobj, const json_t *ep)
{
    const json_t *subset, *addr;
    size_t i, j, nready = 0;

    json_array_foreach (json_object_get(ep, "subsets"), i, subset) {
        json_array_foreach (json_object_get(subset, "addresses"), j, addr) {
            struct net_ip ip;
            const char *ips = jstr(addr, "ip", NULL);
            nready += ips && net_ip_parse(ips, &ip, NULL) == 0;
        }
    }
    /* Only "addresses" are ready; "notReadyAddresses" are never published. */
    json_array_foreach (json_object_get(ep, "subsets"), i, subset) {
        json_array_foreach (json_object_get(subset, "addresses"), j, addr)
            add_headless_address(z, svc, svcobj, subset, addr, nready);
    }
}

/* A or AAAA and PTR for one cluster IP; false if it is not an IP. */
static bool
add_one_cluster_ip(struct dns_zone *z, const struct dns_name *svc, const json_t *svcobj,
                   const char *cip)
{
    struct net_ip ip;

    if (!cip || net_ip_parse(cip, &ip, NULL) < 0) {
        sk_warn("dns", "service '%s': clusterIP '%s' is not an IP; not published",
                jstr(svcobj, "metadata", "name"), cip ? cip : "");
        return false;
    }
    add_addr(z, svc, &ip);
    add_ptr(z, &ip, svc);
    return true;
}

/* Every cluster IP: spec.clusterIPs lists one per family on a dual-stack
 * service (its first is spec.clusterIP), so a client asking AAAA gets the
 * IPv6 one; objects written without it have spec.clusterIP alone. */
static void
add_cluster_ip(struct dns_zone *z, const struct dns_name *svc, const json_t *svcobj,
               const char *cip)
{
    const json_t *ips = json_object_get(json_object_get(svcobj, "spec"), "clusterIPs"), *sport, *v;
    size_t i, n = 0;

    if (json_array_size(ips) > 0) {
        json_array_foreach (ips, i, v)
            n += add_one_cluster_ip(z, svc, svcobj, json_string_value(v));
    } else if (cip && *cip) {
        n += add_one_cluster_ip(z, svc, svcobj, cip);
    }
    if (n == 0)
        return;
    json_array_foreach (json_object_get(json_object_get(svcobj, "spec"), "ports"), i, sport) {
        const char *pname = jstr(sport, "name", NULL), *proto = jstr(sport, "protocol", NULL);
        if (pname && *pname)
            add_srv(z, svc, pname, proto ? proto : "TCP",
                    (uint16_t)json_integer_value(json_object_get(sport, "port")), 100, svc);
    }
}

static void
add_service(struct dns_zone *z, const json_t *svcobj, const json_t *endpoints)
{
    const char *name = jstr(svcobj, "metadata", "name"),
               *ns = jstr(svcobj, "metadata", "namespace");
    const json_t *spec = json_object_get(svcobj, "spec");
    const char *cip = jstr(spec, "clusterIP", NULL), *type = jstr(spec, "type", NULL);
    struct dns_name svcs, nsn, svc, ext;

    ns = ns ? ns : "default";
    if (!name || !name_prepend("svc", &z->apex, &svcs) || !name_prepend(ns, &svcs, &nsn) ||
        !name_prepend(name, &nsn, &svc)) {
        sk_warn("dns", "service '%s/%s': not a valid DNS name; skipped", ns, name ? name : "");
        return;
    }
    add_node(z, arena_add(z, &svc, true));
    if (type && strcmp(type, "ExternalName") == 0) {
        const char *en = jstr(spec, "externalName", NULL);
        if (en && dns_name_from_str(en, &ext, NULL) == 0)
            add_target(z, DNS_TYPE_CNAME, &svc, &ext);
        return;
    }
    if (cip && strcmp(cip, "None") == 0) {
        add_headless(z, &svc, svcobj, find_endpoints(endpoints, name, ns));
        return;
    }
    add_cluster_ip(z, &svc, svcobj, cip);
}

static int
zrec_cmp(const void *a, const void *b, void *arg)
{
    const struct zrec *x = a, *y = b;
    const struct dns_zone *z = arg;
    int c = ref_cmp(z, x->owner, y->owner);

    /* Records of one name keep a stable order: by type, then data. */
    if (c == 0)
        c = (int)x->type - (int)y->type;
    if (c == 0)
        c = memcmp(x->addr, y->addr, sizeof(x->addr));
    if (c == 0)
        c = (int)x->port - (int)y->port;
    if (c == 0)
        c = ref_cmp(z, x->target, y->target);
    return c;
}

static int
znode_cmp(const void *a, const void *b, void *arg)
{
    return ref_cmp(arg, ((const struct znode *)a)->name, ((const struct znode *)b)->name);
}

/* Nodes for every ancestor of name below the apex (suffixes of it in the
 * arena: no copy). */
static void
add_ancestors(struct dns_zone *z, struct zref name)
{
    struct dns_name n;

    arena_name(z, name, &n);
    while (name.len > z->apex.len && dns_name_is_under(&n, &z->apex)) {
        uint8_t l = z->arena[name.off];
        name.off += 1u + l;
        name.len = (uint8_t)(name.len - 1 - l);
        arena_name(z, name, &n);
        if (name.len > z->apex.len)
            add_node(z, name);
    }
}

/* Sort records, drop duplicates (an address listed twice), create the
 * nodes: every owner and its ancestors down to the apex. */
static void
index_zone(struct dns_zone *z)
{
    size_t i, j, out = 0;

    qsort_r(z->rec, z->nrec, sizeof(*z->rec), zrec_cmp, z);
    for (i = 0; i < z->nrec; i++)
        if (out == 0 || zrec_cmp(&z->rec[out - 1], &z->rec[i], z) != 0)
            z->rec[out++] = z->rec[i];
    z->nrec = out;
    for (i = 0; i < z->nrec; i++)
        if (i == 0 || ref_cmp(z, z->rec[i - 1].owner, z->rec[i].owner) != 0)
            add_node(z, z->rec[i].owner);
    for (i = 0, j = z->nnode; i < j; i++)
        add_ancestors(z, z->node[i].name);
    qsort_r(z->node, z->nnode, sizeof(*z->node), znode_cmp, z);
    for (i = 0, out = 0, j = 0; i < z->nnode; i++) {
        if (out > 0 && ref_cmp(z, z->node[out - 1].name, z->node[i].name) == 0)
            continue;
        z->node[out] = z->node[i];
        while (j < z->nrec && ref_cmp(z, z->rec[j].owner, z->node[out].name) < 0)
            j++;
        z->node[out].first = (uint32_t)j;
        while (j < z->nrec && ref_cmp(z, z->rec[j].owner, z->node[out].name) == 0)
            j++;
        z->node[out].n = (uint32_t)(j - z->node[out].first);
        out++;
    }
    z->nnode = out;
    /* The snapshot lives on unchanged: give back what doubling left. */
    z->rec = sk_reallocarray(z->rec, z->nrec ? z->nrec : 1, sizeof(*z->rec));
    z->node = sk_reallocarray(z->node, z->nnode ? z->nnode : 1, sizeof(*z->node));
    z->arena = sk_realloc(z->arena, z->alen ? z->alen : 1);
}

static void
make_soa(struct dns_zone *z, uint32_t serial)
{
    struct dns_name dns;

    memset(&z->soa, 0, sizeof(z->soa));
    z->soa.name = z->apex;
    z->soa.type = DNS_TYPE_SOA;
    z->soa.klass = DNS_CLASS_IN;
    z->soa.ttl = z->ttl;
    name_prepend("dns", &z->apex, &dns);
    name_prepend("ns", &dns, &z->soa.rd.soa.mname);
    name_prepend("hostmaster", &z->apex, &z->soa.rd.soa.rname);
    z->soa.rd.soa.serial = serial ? serial : 1;
    z->soa.rd.soa.refresh = SOA_REFRESH;
    z->soa.rd.soa.retry = SOA_RETRY;
    z->soa.rd.soa.expire = SOA_EXPIRE;
    /* RFC 2308 §4: the negative-caching TTL is min(SOA TTL, minimum). */
    z->soa.rd.soa.minimum = z->ttl;
}

int
dns_zone_build(const struct dns_zone_options *opt, const json_t *services, const json_t *endpoints,
               struct dns_zone **out, struct sk_err *err)
{
    const char *domain = opt && opt->domain ? opt->domain : DNS_DEFAULT_DOMAIN;
    struct dns_zone *z = sk_calloc(1, sizeof(*z));
    const json_t *svc;
    json_t *eps;
    size_t i;

    if (dns_name_from_str(domain, &z->apex, err) < 0 || z->apex.len == 1 ||
        !name_prepend("pod", &z->apex, &z->pod_apex)) {
        free(z);
        if (err && err->code == 0)
            sk_err_set(err, EINVAL, "cluster domain '%s': not usable", domain);
        sk_err_wrap(err, "dns zone");
        return -EINVAL;
    }
    name_lower(&z->apex);
    name_lower(&z->pod_apex);
    dns_name_from_str("in-addr.arpa", &z->arpa, NULL);
    dns_name_from_str("ip6.arpa", &z->arpa6, NULL);
    z->ttl = opt && opt->ttl ? opt->ttl : DNS_DEFAULT_TTL;
    make_soa(z, opt ? opt->serial : 0);
    add_rec(z, &z->soa);
    add_node(z, arena_add(z, &z->pod_apex, true));
    eps = index_endpoints(endpoints);
    json_array_foreach (items_of(services), i, svc)
        add_service(z, svc, eps);
    json_decref(eps);
    index_zone(z);
    *out = z;
    return 0;
}

void
dns_zone_free(struct dns_zone *z)
{
    if (!z)
        return;
    free(z->arena);
    free(z->rec);
    free(z->node);
    free(z);
}

size_t
dns_zone_names(const struct dns_zone *z)
{
    return z->nnode;
}

static const struct znode *
find(const struct dns_zone *z, const struct dns_name *name)
{
    struct dns_name key = *name;
    size_t lo = 0, hi = z->nnode, mid;
    int c;

    name_lower(&key);
    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        c = ref_key_cmp(z, z->node[mid].name, &key);
        if (c == 0)
            return &z->node[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static bool
type_matches(uint16_t qtype, uint16_t type)
{
    return qtype == type || qtype == DNS_TYPE_ANY;
}

/* Add the addresses of every SRV target in the answer (RFC 2782). */
static void
add_srv_additional(const struct dns_zone *z, struct dns_msg *r)
{
    const struct znode *t;
    size_t i, k;

    for (i = 0; i < r->nrr[DNS_SEC_ANSWER]; i++) {
        if (r->rr[DNS_SEC_ANSWER][i].type != DNS_TYPE_SRV)
            continue;
        t = find(z, &r->rr[DNS_SEC_ANSWER][i].rd.srv.target);
        for (k = 0; t && k < t->n; k++) {
            const struct zrec *zr = &z->rec[t->first + k];
            struct dns_rr rr;
            if (zr->type != DNS_TYPE_A && zr->type != DNS_TYPE_AAAA)
                continue;
            expand(z, zr, &r->rr[DNS_SEC_ANSWER][i].rd.srv.target, &rr);
            dns_msg_add_rr(r, DNS_SEC_ADDITIONAL, &rr);
        }
    }
}

static void
answer_node(const struct dns_zone *z, const struct znode *node, const struct dns_msg *q,
            struct dns_msg *r)
{
    uint16_t qtype = q->question.type;
    const struct zrec *zr;
    struct dns_rr rr;
    size_t i;

    for (i = 0; i < node->n; i++) {
        zr = &z->rec[node->first + i];
        /* A CNAME answers every type (RFC 1034 §3.6.2); its target is
         * outside the zone, so the resolver follows it. */
        if (!type_matches(qtype, zr->type) && zr->type != DNS_TYPE_CNAME)
            continue;
        expand(z, zr, &q->question.name, &rr); /* the query's spelling */
        dns_msg_add_rr(r, DNS_SEC_ANSWER, &rr);
    }
    add_srv_additional(z, r);
}

/* "<a-b-c-d>.<ns>.pod.<domain>": 1 if an IPv4 was decoded, 0 for another
 * existing name (the pod apex or a namespace under it), -1 if absent. */
static int
pod_name(const struct dns_zone *z, const struct dns_name *qn, struct net_ip *ip)
{
    unsigned below = dns_name_labels(qn) - dns_name_labels(&z->pod_apex), i;
    char label[DNS_LABEL_MAX + 1];
    uint8_t l = qn->data[0];

    if (below == 1)
        return 0;
    if (below != 2)
        return -1;
    memcpy(label, qn->data + 1, l);
    label[l] = '\0';
    for (i = 0; i < l; i++) {
        if (label[i] == '-')
            label[i] = '.';
        else if (!isdigit((unsigned char)label[i]))
            return -1;
    }
    return inet_pton(AF_INET, label, ip->a) == 1 ? (ip->family = AF_INET, 1) : -1;
}

static void
answer_pod(const struct dns_zone *z, const struct dns_msg *q, struct dns_msg *r)
{
    struct net_ip ip;
    struct dns_rr rr;
    int rc;

    memset(&ip, 0, sizeof(ip));
    rc = pod_name(z, &q->question.name, &ip);
    if (rc < 0) {
        r->flags |= DNS_RCODE_NXDOMAIN;
        return;
    }
    if (rc == 0 || !type_matches(q->question.type, DNS_TYPE_A))
        return;
    memset(&rr, 0, sizeof(rr));
    rr.name = q->question.name;
    rr.type = DNS_TYPE_A;
    rr.klass = DNS_CLASS_IN;
    rr.ttl = z->ttl;
    memcpy(rr.rd.a, ip.a, 4);
    dns_msg_add_rr(r, DNS_SEC_ANSWER, &rr);
}

enum dns_zone_result
dns_zone_lookup(const struct dns_zone *z, const struct dns_msg *q, struct dns_msg *r)
{
    const struct dns_name *qn = &q->question.name;
    const struct znode *node;
    uint16_t qtype = q->question.type;

    if (!z || !q->has_question)
        return DNS_ZONE_NOT_OURS;
    if (!dns_name_is_under(qn, &z->apex)) {
        /* Reverse names: only the PTRs the zone holds; the rest of
         * in-addr.arpa and ip6.arpa falls through to the forwarder, as CoreDNS's
         * "kubernetes ... in-addr.arpa { fallthrough }" does. */
        node = dns_name_is_under(qn, &z->arpa) || dns_name_is_under(qn, &z->arpa6) ? find(z, qn)
                                                                                   : NULL;
        if (!node || !type_matches(qtype, DNS_TYPE_PTR) || q->question.klass != DNS_CLASS_IN)
            return DNS_ZONE_NOT_OURS;
        dns_msg_reply_to(q, DNS_RCODE_NOERROR, r);
        r->flags |= DNS_F_AA;
        answer_node(z, node, q, r);
        return DNS_ZONE_ANSWERED;
    }
    dns_msg_reply_to(q, DNS_RCODE_NOERROR, r);
    if ((q->question.klass != DNS_CLASS_IN && q->question.klass != DNS_CLASS_ANY) ||
        qtype == DNS_TYPE_AXFR || qtype == DNS_TYPE_IXFR) {
        /* No zone transfers, no other classes. */
        r->flags |= DNS_RCODE_REFUSED;
        return DNS_ZONE_ANSWERED;
    }
    r->flags |= DNS_F_AA;
    if (dns_name_is_under(qn, &z->pod_apex) && !dns_name_equal(qn, &z->pod_apex))
        answer_pod(z, q, r);
    else if ((node = find(z, qn)) != NULL)
        answer_node(z, node, q, r);
    else
        r->flags |= DNS_RCODE_NXDOMAIN;
    /* RFC 2308 §3: negative answers (NXDOMAIN and NODATA) carry the SOA. */
    if (r->nrr[DNS_SEC_ANSWER] == 0)
        dns_msg_add_rr(r, DNS_SEC_AUTHORITY, &z->soa);
    return DNS_ZONE_ANSWERED;
}
