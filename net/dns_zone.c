/* The cluster zone: names of Services, their endpoints and pods, built
 * once from Service and Endpoints objects into an immutable snapshot.
 *
 * Names answered (Kubernetes DNS specification, "cluster.local" shown):
 *
 *   <svc>.<ns>.svc.cluster.local               A/AAAA: the ClusterIP;
 *                                              headless: each ready address
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
 *   d.c.b.a.in-addr.arpa                       PTR for ClusterIPs and
 *                                              headless endpoint addresses
 *   cluster.local                              SOA
 *
 * Every ancestor of an owner name down to the apex exists as an empty
 * non-terminal, so "svc.cluster.local" or "_tcp.web.default.svc..." get
 * NODATA, not NXDOMAIN (RFC 8020). Storage: one array of nodes sorted by
 * lowercased wire name (binary search), each pointing at a run of records
 * in a second array sorted the same way. */
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

struct zrec {
    struct dns_name key; /* owner, lowercased */
    struct dns_rr rr;
};

struct znode {
    struct dns_name key;
    size_t first, n; /* records[first .. first+n) */
};

struct dns_zone {
    struct dns_name apex;     /* lowercased */
    struct dns_name pod_apex; /* pod.<apex> */
    struct dns_name arpa;     /* in-addr.arpa */
    uint32_t ttl;
    struct dns_rr soa;
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

static int
key_cmp(const struct dns_name *a, const struct dns_name *b)
{
    int c = memcmp(a->data, b->data, a->len < b->len ? a->len : b->len);

    return c ? c : (int)a->len - (int)b->len;
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

static void
add_node(struct dns_zone *z, const struct dns_name *key)
{
    if (z->nnode == z->capnode) {
        z->capnode = z->capnode ? 2 * z->capnode : 64;
        z->node = sk_reallocarray(z->node, z->capnode, sizeof(*z->node));
    }
    z->node[z->nnode].key = *key;
    name_lower(&z->node[z->nnode].key);
    z->node[z->nnode].first = z->node[z->nnode].n = 0;
    z->nnode++;
}

static void
add_rec(struct dns_zone *z, const struct dns_rr *rr)
{
    if (z->nrec == z->caprec) {
        z->caprec = z->caprec ? 2 * z->caprec : 64;
        z->rec = sk_reallocarray(z->rec, z->caprec, sizeof(*z->rec));
    }
    z->rec[z->nrec].rr = *rr;
    z->rec[z->nrec].key = rr->name;
    name_lower(&z->rec[z->nrec].key);
    z->nrec++;
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

/* PTR d.c.b.a.in-addr.arpa -> target (IPv4 only). */
static void
add_ptr(struct dns_zone *z, const struct net_ip *ip, const struct dns_name *target)
{
    char s[64];
    struct dns_name owner;

    if (ip->family != AF_INET)
        return;
    snprintf(s, sizeof(s), "%u.%u.%u.%u.in-addr.arpa", ip->a[3], ip->a[2], ip->a[1], ip->a[0]);
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

/* The Endpoints object of the same name and namespace, or NULL. */
static const json_t *
find_endpoints(const json_t *endpoints, const char *name, const char *ns)
{
    const json_t *ep;
    const char *en, *ens;
    size_t i;

    json_array_foreach (items_of(endpoints), i, ep) {
        en = jstr(ep, "metadata", "name");
        ens = jstr(ep, "metadata", "namespace");
        if (en && strcmp(en, name) == 0 && strcmp(ens ? ens : "default", ns) == 0)
            return ep;
    }
    return NULL;
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

static void
add_cluster_ip(struct dns_zone *z, const struct dns_name *svc, const json_t *svcobj,
               const char *cip)
{
    const json_t *sport;
    struct net_ip ip;
    size_t i;

    if (net_ip_parse(cip, &ip, NULL) < 0) {
        sk_warn("dns", "service '%s': clusterIP '%s' is not an IP; no address published",
                jstr(svcobj, "metadata", "name"), cip);
        return;
    }
    add_addr(z, svc, &ip);
    add_ptr(z, &ip, svc);
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
    add_node(z, &svc);
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
    if (cip && *cip)
        add_cluster_ip(z, &svc, svcobj, cip);
}

static int
zrec_cmp(const void *a, const void *b)
{
    const struct zrec *x = a, *y = b;
    int c = key_cmp(&x->key, &y->key);

    /* Records of one name keep a stable order: by type, then rdata. */
    if (c == 0)
        c = (int)x->rr.type - (int)y->rr.type;
    if (c == 0)
        c = memcmp(&x->rr.rd, &y->rr.rd, sizeof(x->rr.rd));
    return c;
}

static int
znode_cmp(const void *a, const void *b)
{
    return key_cmp(&((const struct znode *)a)->key, &((const struct znode *)b)->key);
}

/* Sort records, drop duplicates (an address listed twice), create the
 * nodes: every owner and its ancestors down to the apex. */
static void
index_zone(struct dns_zone *z)
{
    size_t i, j, out = 0;
    struct dns_name anc;

    qsort(z->rec, z->nrec, sizeof(*z->rec), zrec_cmp);
    for (i = 0; i < z->nrec; i++)
        if (out == 0 || zrec_cmp(&z->rec[out - 1], &z->rec[i]) != 0)
            z->rec[out++] = z->rec[i];
    z->nrec = out;
    for (i = 0; i < z->nrec; i++)
        add_node(z, &z->rec[i].key);
    for (i = 0, j = z->nnode; i < j; i++) {
        anc = z->node[i].key;
        while (dns_name_is_under(&anc, &z->apex) && anc.len > z->apex.len) {
            uint8_t l = anc.data[0];
            memmove(anc.data, anc.data + 1 + l, anc.len - 1u - l);
            anc.len = (uint8_t)(anc.len - 1 - l);
            add_node(z, &anc);
        }
    }
    qsort(z->node, z->nnode, sizeof(*z->node), znode_cmp);
    for (i = 0, out = 0, j = 0; i < z->nnode; i++) {
        if (out > 0 && key_cmp(&z->node[out - 1].key, &z->node[i].key) == 0)
            continue;
        z->node[out] = z->node[i];
        while (j < z->nrec && key_cmp(&z->rec[j].key, &z->node[out].key) < 0)
            j++;
        z->node[out].first = j;
        while (j < z->nrec && key_cmp(&z->rec[j].key, &z->node[out].key) == 0)
            j++;
        z->node[out].n = j - z->node[out].first;
        out++;
    }
    z->nnode = out;
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
    z->ttl = opt && opt->ttl ? opt->ttl : DNS_DEFAULT_TTL;
    make_soa(z, opt ? opt->serial : 0);
    add_rec(z, &z->soa);
    add_node(z, &z->pod_apex);
    json_array_foreach (items_of(services), i, svc)
        add_service(z, svc, endpoints);
    index_zone(z);
    *out = z;
    return 0;
}

void
dns_zone_free(struct dns_zone *z)
{
    if (!z)
        return;
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
        c = key_cmp(&z->node[mid].key, &key);
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
            const struct dns_rr *rr = &z->rec[t->first + k].rr;
            if (rr->type == DNS_TYPE_A || rr->type == DNS_TYPE_AAAA)
                dns_msg_add_rr(r, DNS_SEC_ADDITIONAL, rr);
        }
    }
}

static void
answer_node(const struct dns_zone *z, const struct znode *node, const struct dns_msg *q,
            struct dns_msg *r)
{
    uint16_t qtype = q->question.type;
    struct dns_rr rr;
    size_t i;

    for (i = 0; i < node->n; i++) {
        rr = z->rec[node->first + i].rr;
        /* A CNAME answers every type (RFC 1034 §3.6.2); its target is
         * outside the zone, so the resolver follows it. */
        if (!type_matches(qtype, rr.type) && rr.type != DNS_TYPE_CNAME)
            continue;
        rr.name = q->question.name; /* the query's spelling */
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
         * in-addr.arpa falls through to the forwarder, as CoreDNS's
         * "kubernetes ... in-addr.arpa { fallthrough }" does. */
        node = dns_name_is_under(qn, &z->arpa) ? find(z, qn) : NULL;
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
