/* The pure part of Service cluster IP and node port allocation (API in
 * objects.h): the ranges, picking a free value, the claim keys, what a
 * Service holds, and the update rules for what the server allocated.
 * objects_alloc.c reads the store and writes the claims. */
#include "api/objects.h"
#include "lib/config.h"
#include "net/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* ---- ranges ---- */

/* KEP-3070/KEP-3668: the lower band is min(max(lo, size / step), hi)
 * values, none in a range smaller than lo. */
static uint32_t
band_size(uint32_t size, uint32_t lo, uint32_t hi, uint32_t step)
{
    uint32_t n = size / step;

    if (size < lo)
        return 0;
    return n < lo ? lo : n > hi ? hi : n;
}

int
api_alloc_ip_range_parse(const char *cidr, struct api_alloc_range *r, struct sk_err *err)
{
    struct net_cidr c;
    uint32_t net;

    memset(r, 0, sizeof(*r));
    if (net_cidr_parse(cidr, false, &c, err) < 0)
        return sk_err_wrap(err, "service-cidr");
    if (c.ip.family != AF_INET || c.prefix < 12 || c.prefix > 30)
        return sk_err_set(err, EINVAL, "service-cidr '%.64s' must be an IPv4 /12 to /30", cidr);
    memcpy(&net, c.ip.a, 4);
    r->base = ntohl(net);
    r->size = 1u << (32 - c.prefix);
    r->first = 1;          /* the network address is never a cluster IP */
    r->last = r->size - 2; /* nor the broadcast address */
    r->dyn_first = 2;      /* the first address is the kubernetes service's */
    r->band = r->first + band_size(r->size, 16, 256, 16);
    if (r->band < r->dyn_first)
        r->band = r->dyn_first;
    if (r->band > r->last + 1)
        r->band = r->last + 1;
    net_cidr_format(&c, r->text, sizeof(r->text));
    return 0;
}

int
api_alloc_port_range_parse(const char *s, struct api_alloc_range *r, struct sk_err *err)
{
    unsigned lo, hi;

    memset(r, 0, sizeof(*r));
    if (sk_config_port_range_parse(s, &lo, &hi, err) < 0)
        return sk_err_wrap(err, "service-node-port-range");
    r->base = lo;
    r->size = hi - lo + 1;
    r->first = 0;
    r->last = r->size - 1;
    r->dyn_first = 0;
    r->band = band_size(r->size, 16, 128, 32);
    if (r->band > r->last + 1)
        r->band = r->last + 1;
    snprintf(r->text, sizeof(r->text), "%u-%u", lo, hi);
    return 0;
}

/* ---- picking ---- */

int64_t
api_alloc_probe(const struct api_alloc_range *r, api_alloc_taken_fn taken, void *arg,
                uint32_t (*rnd)(void *), void *rnd_arg, unsigned probes)
{
    uint32_t lo = r->band > r->last ? r->dyn_first : r->band, n, v;

    if (r->size == 0 || lo > r->last)
        return -1;
    n = r->last - lo + 1;
    for (unsigned i = 0; i < probes; i++) {
        v = lo + rnd(rnd_arg) % n;
        if (!taken(arg, v))
            return v;
    }
    return -1;
}

static bool
bit_set(const uint8_t *bitmap, uint32_t v)
{
    return bitmap[v / 8] & (1u << (v % 8));
}

/* The first clear bit in lo .. hi (inclusive), from lo + start % n on,
 * wrapping; -1 when all are set. */
static int64_t
scan_part(const uint8_t *bitmap, uint32_t lo, uint32_t hi, uint32_t start)
{
    uint32_t n, v;

    if (lo > hi)
        return -1;
    n = hi - lo + 1;
    v = start % n;
    for (uint32_t i = 0; i < n; i++) {
        if (!bit_set(bitmap, lo + v))
            return lo + v;
        if (++v == n)
            v = 0;
    }
    return -1;
}

int64_t
api_alloc_scan(const struct api_alloc_range *r, const uint8_t *bitmap, uint32_t start)
{
    uint32_t band = r->band < r->dyn_first ? r->dyn_first : r->band;
    int64_t v;

    if (r->size == 0 || r->dyn_first > r->last)
        return -1;
    v = scan_part(bitmap, band, r->last, start);
    if (v < 0 && band > r->dyn_first)
        v = scan_part(bitmap, r->dyn_first, band - 1, start);
    return v;
}

/* ---- claim keys ---- */

void
api_claim_key_ip(uint32_t ip, struct sk_buf *out)
{
    sk_buf_printf(out, API_CLAIM_IP_PREFIX "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff,
                  (ip >> 8) & 0xff, ip & 0xff);
}

void
api_claim_key_port(uint32_t port, struct sk_buf *out)
{
    sk_buf_printf(out, API_CLAIM_PORT_PREFIX "%u", port);
}

int
api_claim_key_parse(const char *key, size_t len, bool ip, uint32_t *value)
{
    const char *prefix = ip ? API_CLAIM_IP_PREFIX : API_CLAIM_PORT_PREFIX;
    size_t plen = strlen(prefix);
    struct sk_buf canon = SK_BUF_INIT;
    char text[24];
    struct in_addr in;
    unsigned long port;
    char *end;
    int rc = -1;

    if (len <= plen || len - plen >= sizeof(text) || memcmp(key, prefix, plen))
        return -1;
    memcpy(text, key + plen, len - plen);
    text[len - plen] = '\0';
    if (ip && inet_pton(AF_INET, text, &in) == 1) {
        *value = ntohl(in.s_addr);
        api_claim_key_ip(*value, &canon);
    } else if (!ip && text[0] >= '1' && text[0] <= '9') {
        port = strtoul(text, &end, 10);
        if (*end || port > 65535)
            return -1;
        *value = (uint32_t)port;
        api_claim_key_port(*value, &canon);
    }
    /* one key per value: "010.96.0.1" would dodge the compare */
    if (canon.len == len && !memcmp(canon.data, key, len))
        rc = 0;
    sk_buf_release(&canon);
    return rc;
}

/* ---- what a Service holds ---- */

static int
cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

void
api_svc_claims_of(const json_t *svc, struct api_svc_claims *c)
{
    const json_t *spec = json_object_get(svc, "spec"), *p;
    const char *ip = json_string_value(json_object_get(spec, "clusterIP"));
    struct in_addr in;
    json_int_t np;
    size_t i, j;

    memset(c, 0, sizeof(*c));
    if (ip && inet_pton(AF_INET, ip, &in) == 1) {
        c->has_ip = true;
        c->ip = ntohl(in.s_addr);
    }
    json_array_foreach (json_object_get(spec, "ports"), i, p) {
        np = json_integer_value(json_object_get(p, "nodePort"));
        if (np < 1 || np > 65535)
            continue;
        for (j = 0; j < c->nports && c->ports[j] != (uint32_t)np; j++)
            ;
        if (j < c->nports)
            continue;
        if (c->nports == API_SVC_MAX_CLAIMS) {
            c->overflow = true;
            continue;
        }
        c->ports[c->nports++] = (uint32_t)np;
    }
    qsort(c->ports, c->nports, sizeof(c->ports[0]), cmp_u32);
}

/* ---- update rules ---- */

static const char *
svc_type(const json_t *spec)
{
    const char *t = json_string_value(json_object_get(spec, "type"));

    return t ? t : "ClusterIP";
}

static bool
needs_ip(const char *type)
{
    return strcmp(type, "ExternalName") != 0;
}

static bool
needs_node_ports(const char *type)
{
    return !strcmp(type, "NodePort") || !strcmp(type, "LoadBalancer");
}

static bool
unset(const json_t *v)
{
    return !v || json_is_null(v) || (json_is_string(v) && !json_string_length(v)) ||
           (json_is_integer(v) && !json_integer_value(v)) ||
           (json_is_array(v) && !json_array_size(v));
}

/* Drop spec[field] when the client sent what was stored. */
static void
drop_same(const json_t *ospec, json_t *spec, const char *field)
{
    json_t *v = json_object_get(spec, field);

    if (v && json_equal(v, json_object_get(ospec, field)))
        json_object_del(spec, field);
}

static const char *
port_proto(const json_t *p)
{
    const char *proto = json_string_value(json_object_get(p, "protocol"));

    return proto ? proto : "TCP";
}

/* The stored port with the same port number and protocol as p. */
static const json_t *
old_port(const json_t *ospec, const json_t *p)
{
    const json_t *op;
    size_t i;

    json_array_foreach (json_object_get(ospec, "ports"), i, op)
        if (json_equal(json_object_get(op, "port"), json_object_get(p, "port")) &&
            !strcmp(port_proto(op), port_proto(p)))
            return op;
    return NULL;
}

static void
keep_cluster_ip(const json_t *ospec, json_t *spec, const char *otype, const char *ntype)
{
    static const char *const dependent[] = {"clusterIP", "clusterIPs", "ipFamilies",
                                            "ipFamilyPolicy", "internalTrafficPolicy"};

    if (!needs_ip(otype))
        return;
    if (!needs_ip(ntype)) {
        for (size_t i = 0; i < sizeof(dependent) / sizeof(dependent[0]); i++)
            drop_same(ospec, spec, dependent[i]);
        return;
    }
    if (unset(json_object_get(spec, "clusterIP")) && !unset(json_object_get(ospec, "clusterIP"))) {
        json_object_set(spec, "clusterIP", json_object_get(ospec, "clusterIP"));
        if (unset(json_object_get(spec, "clusterIPs")) && json_object_get(ospec, "clusterIPs"))
            json_object_set(spec, "clusterIPs", json_object_get(ospec, "clusterIPs"));
    }
}

static void
keep_node_ports(const json_t *ospec, json_t *spec, const char *otype, const char *ntype)
{
    const json_t *op;
    json_t *p;
    size_t i;

    if (!needs_node_ports(otype))
        return;
    json_array_foreach (json_object_get(spec, "ports"), i, p) {
        if (!json_is_object(p) || !(op = old_port(ospec, p)) ||
            unset(json_object_get(op, "nodePort")))
            continue;
        if (needs_node_ports(ntype) && unset(json_object_get(p, "nodePort")))
            json_object_set(p, "nodePort", json_object_get(op, "nodePort"));
        else if (!needs_node_ports(ntype))
            drop_same(op, p, "nodePort");
    }
    if (!needs_node_ports(ntype))
        drop_same(ospec, spec, "externalTrafficPolicy");
    if (strcmp(ntype, "LoadBalancer"))
        drop_same(ospec, spec, "allocateLoadBalancerNodePorts");
}

void
api_svc_keep_allocated(const json_t *old, json_t *obj)
{
    const json_t *ospec = json_object_get(old, "spec");
    json_t *spec = json_object_get(obj, "spec");
    const char *otype, *ntype;

    if (!json_is_object(ospec) || !json_is_object(spec))
        return;
    otype = svc_type(ospec);
    ntype = svc_type(spec);
    keep_cluster_ip(ospec, spec, otype, ntype);
    keep_node_ports(ospec, spec, otype, ntype);
}
