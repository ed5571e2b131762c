/* net/proxy_diff.c: the change between two parsed states (px_build) as
 * a netlink batch (net/proxy_nl.c), for incremental syncs.
 *
 * The objects of a service port are those net/proxy_rules.c renders:
 * its element in one or two of the shared verdict maps, and, with
 * endpoints, the chains svc-<id> and ext-<id> (a served nodePort);
 * without affinity the endpoint maps eps-<id> (and eps-local-<id> for
 * a served Local nodePort), with ClientIP affinity instead a chain
 * ep-<id>/<ip>/<port> and a set aff-<id>/<ip>/<port> per endpoint. The
 * hairpin set is shared: an address is in it while any endpoint of any
 * port has it (counted in a px_ipcount). For a port that differs:
 *
 *   phase 1 (all ports):  delete its elements that changed (verdict
 *                         maps, and the slices of its endpoint maps
 *                         that moved); flush its svc and ext chains if
 *                         their rules change (without affinity they
 *                         name only the map, so an endpoint change
 *                         leaves them alone) and the endpoint chains
 *                         whose content changes; delete the maps,
 *                         chains and sets it no longer has.
 *   phase 2 (all ports):  add its new sets, maps and chains, the new
 *                         slices, fill the chains that were flushed or
 *                         made, add its changed verdict elements.
 *   then:                 the hairpin elements of addresses whose
 *                         count left or reached zero.
 *
 * The kernel checks references at each message of the transaction: a
 * chain or set can only be deleted once no rule or element uses it, so
 * flushes precede deletions, and a rule can only name a chain or set
 * that exists, so additions come in dependency order. All deletions
 * precede all additions because two ports may trade a map key (one
 * service deleted, another created on its clusterIP). A one-endpoint
 * change of a service without affinity is four messages: the slice's
 * element out and in, and a hairpin element out and in; no rule, so
 * the commit does not validate the table (net/proxy_rules.c). */
#include "net/proxy_int.h"

#include "lib/alloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter/nf_tables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t proto_num[] = {6, 17, 132};

#define NAME_MAX_LEN PX_ID_MAX

static bool
has_chains(const struct px_port *p)
{
    return p && p->n_ep > 0;
}

static void
name_of(char *out, const char *prefix, const struct px_port *p, const struct px_ep *e)
{
    px_port_id(out, NAME_MAX_LEN, prefix, p, e);
}

/* ---- elements ---- */

static const char *const maps[] = {"service-ips", "service-nodeports", "no-endpoint-services",
                                   "no-endpoint-nodeports"};

static void
key_ip(struct px_elem *e, const struct px_port *p)
{
    char ip[NET_IP_STRLEN];
    uint16_t port = htons((uint16_t)p->port);

    memset(e->key, 0, sizeof(e->key));
    memcpy(e->key, p->cluster_ip.a, 4);
    e->key[4] = proto_num[p->proto];
    memcpy(e->key + 8, &port, 2);
    e->key_len = 12;
    snprintf(e->text, sizeof(e->text), "%s . %s . %u",
             net_ip_format(&p->cluster_ip, ip, sizeof(ip)), px_proto_name[p->proto], p->port);
}

static void
key_node(struct px_elem *e, const struct px_port *p)
{
    uint16_t port = htons((uint16_t)p->node_port);

    memset(e->key, 0, sizeof(e->key));
    e->key[0] = proto_num[p->proto];
    memcpy(e->key + 4, &port, 2);
    e->key_len = 8;
    snprintf(e->text, sizeof(e->text), "%s . %u", px_proto_name[p->proto], p->node_port);
}

/* The element of p (NULL: none) in map m; false when it has none. */
static bool
elem_of(const struct px_port *p, size_t m, struct px_elem *e)
{
    if (!p)
        return false;
    e->chain[0] = 0;
    switch (m) {
    case 0:
        if (p->n_ep == 0)
            return false;
        key_ip(e, p);
        name_of(e->chain, "svc-", p, NULL);
        return true;
    case 1:
        if (!px_nodeport_served(p))
            return false;
        key_node(e, p);
        name_of(e->chain, "ext-", p, NULL);
        return true;
    case 2:
        if (p->n_ep > 0)
            return false;
        key_ip(e, p);
        snprintf(e->chain, sizeof(e->chain), "reject-chain");
        return true;
    default:
        if (!p->node_port || px_nodeport_served(p))
            return false;
        key_node(e, p);
        /* Local without local endpoints: dropped (see proxy_rules.c). */
        if (p->n_ep == 0)
            snprintf(e->chain, sizeof(e->chain), "reject-chain");
        return true;
    }
}

static bool
elem_eq(const struct px_elem *a, const struct px_elem *b)
{
    return a->key_len == b->key_len && memcmp(a->key, b->key, a->key_len) == 0 &&
           strcmp(a->chain, b->chain) == 0;
}

/* ---- rules ---- */

/* "ip saddr != <cluster cidr> jump mark-for-masquerade": a byte-aligned
 * prefix is a shorter load, any other one a mask, as nft generates. */
static int
rule_masq_outside(struct px_batch *b, const char *chain, const struct net_cidr *c)
{
    uint8_t mask[4] = {0}, net[4];
    unsigned i;

    if (c->prefix == 0 || c->prefix > 32)
        return -EINVAL;
    for (i = 0; i < c->prefix; i++)
        mask[i / 8] |= (uint8_t)(0x80 >> (i % 8));
    for (i = 0; i < 4; i++)
        net[i] = c->ip.a[i] & mask[i];
    px_nl_rule_begin(b, chain);
    if (c->prefix % 8 == 0) {
        px_nl_payload(b, 12, c->prefix / 8);
        px_nl_cmp(b, false, net, c->prefix / 8);
    } else {
        px_nl_payload(b, 12, 4);
        px_nl_mask(b, mask);
        px_nl_cmp(b, false, net, 4);
    }
    px_nl_verdict(b, false, "mark-for-masquerade");
    px_nl_rule_end(b);
    return 0;
}

/* put_pick of net/proxy_rules.c (ports with affinity). */
static void
rules_pick(struct px_batch *b, const char *chain, const struct px_port *p, bool local_only)
{
    char set[NAME_MAX_LEN], ep[NAME_MAX_LEN];
    static const uint8_t zero[4];
    size_t i, k, n = 0;

    for (i = 0; i < p->n_ep; i++)
        n += !local_only || p->ep[i].local;
    for (i = 0; i < p->n_ep; i++) {
        if (local_only && !p->ep[i].local)
            continue;
        name_of(set, "aff-", p, &p->ep[i]);
        name_of(ep, "ep-", p, &p->ep[i]);
        px_nl_rule_begin(b, chain);
        px_nl_payload(b, 12, 4);
        px_nl_lookup(b, set);
        px_nl_verdict(b, true, ep);
        px_nl_rule_end(b);
    }
    for (i = 0, k = 0; i < p->n_ep; i++) {
        if (local_only && !p->ep[i].local)
            continue;
        name_of(ep, "ep-", p, &p->ep[i]);
        px_nl_rule_begin(b, chain);
        if (k + 1 < n) {
            px_nl_numgen(b, (unsigned)(n - k));
            px_nl_cmp(b, true, zero, 4);
        }
        px_nl_verdict(b, true, ep);
        px_nl_rule_end(b);
        k++;
    }
}

/* put_dnat_map of net/proxy_rules.c. */
static void
rule_dnat_map(struct px_batch *b, const char *chain, const struct px_port *p, const char *prefix)
{
    char map[NAME_MAX_LEN];

    name_of(map, prefix, p, NULL);
    px_nl_rule_begin(b, chain);
    px_nl_meta_l4proto(b);
    px_nl_cmp(b, true, &proto_num[p->proto], 1);
    px_nl_dnat_map(b, map);
    px_nl_rule_end(b);
}

static int
rules_svc(struct px_batch *b, const struct px_port *p, const struct net_proxy_node *node)
{
    char svc[NAME_MAX_LEN];

    name_of(svc, "svc-", p, NULL);
    if (node->cluster_cidr.ip.family == AF_INET &&
        rule_masq_outside(b, svc, &node->cluster_cidr) < 0)
        return -EINVAL;
    if (p->affinity)
        rules_pick(b, svc, p, false);
    else
        rule_dnat_map(b, svc, p, "eps-");
    return 0;
}

static void
rules_ext(struct px_batch *b, const struct px_port *p)
{
    char chain[NAME_MAX_LEN], svc[NAME_MAX_LEN];

    name_of(chain, "ext-", p, NULL);
    if (p->local && p->affinity) {
        rules_pick(b, chain, p, true);
        return;
    }
    if (p->local) {
        rule_dnat_map(b, chain, p, "eps-local-");
        return;
    }
    name_of(svc, "svc-", p, NULL);
    px_nl_rule_begin(b, chain);
    px_nl_verdict(b, false, "mark-for-masquerade");
    px_nl_rule_end(b);
    px_nl_rule_begin(b, chain);
    px_nl_verdict(b, true, svc);
    px_nl_rule_end(b);
}

static void
rules_ep(struct px_batch *b, const struct px_port *p, const struct px_ep *e)
{
    char chain[NAME_MAX_LEN], set[NAME_MAX_LEN];
    uint16_t port = htons((uint16_t)e->port);

    name_of(chain, "ep-", p, e);
    name_of(set, "aff-", p, e);
    px_nl_rule_begin(b, chain);
    px_nl_payload(b, 12, 4);
    px_nl_dynset_update(b, set);
    px_nl_rule_end(b);
    px_nl_rule_begin(b, chain);
    px_nl_meta_l4proto(b);
    px_nl_cmp(b, true, &proto_num[p->proto], 1);
    px_nl_immediate(b, NFT_REG_1, e->ip.a, 4);
    px_nl_immediate(b, NFT_REG_2, &port, 2);
    px_nl_dnat(b);
    px_nl_rule_end(b);
}

/* ---- one port ---- */

/* Does q have endpoint chains (it has affinity), one of them e's? */
static bool
ep_in(const struct px_port *q, const struct px_ep *e)
{
    size_t i;

    for (i = 0; has_chains(q) && q->affinity && i < q->n_ep; i++)
        if (memcmp(q->ep[i].ip.a, e->ip.a, 4) == 0 && q->ep[i].port == e->port)
            return true;
    return false;
}

/* Do e's chain and set in p stay as they are in q? */
static bool
ep_kept(const struct px_port *p, const struct px_ep *e, const struct px_port *q)
{
    return ep_in(q, e) && q->affinity == p->affinity;
}

/* Do the rules of the svc chain of o stay in n? Without affinity they
 * do not depend on the endpoints (those are in the map). */
static bool
svc_kept(const struct px_port *o, const struct px_port *n)
{
    return has_chains(o) && has_chains(n) && !o->affinity && !n->affinity;
}

/* Those of the ext chain? Cluster: always; Local: as svc_kept. */
static bool
ext_kept(const struct px_port *o, const struct px_port *n)
{
    return px_nodeport_served(o) && px_nodeport_served(n) && o->local == n->local &&
           (!o->local || (!o->affinity && !n->affinity));
}

/* The endpoint map prefix<id> of p (NULL: none) exists (local: the
 * one of a served Local nodePort). */
static bool
has_map(const struct px_port *p, bool local)
{
    return p && px_port_data(p) && (!local || (px_nodeport_served(p) && p->local));
}

/* The same slice to the same endpoint? */
static bool
slice_eq(const struct px_range *a, const struct px_range *b)
{
    return a->lo == b->lo && a->hi == b->hi && memcmp(a->ep->ip.a, b->ep->ip.a, 4) == 0 &&
           a->ep->port == b->ep->port;
}

/* The element changes of the endpoint maps of a port present in both
 * (phase 0: deletions, 1: additions): only the slices that differ. */
static void
map_elements(struct px_batch *b, const struct px_port *o, const struct px_port *n, bool local,
             int phase)
{
    const struct px_port *from = phase == 0 ? o : n, *other = phase == 0 ? n : o;
    struct px_range *rf = sk_reallocarray(NULL, from->n_ep, sizeof(*rf));
    struct px_range *ro = sk_reallocarray(NULL, other->n_ep, sizeof(*ro));
    size_t nf = px_port_ranges(from, local, rf), no = px_port_ranges(other, local, ro);
    size_t i, j = 0, k = 0;
    char name[NAME_MAX_LEN];

    name_of(name, local ? "eps-local-" : "eps-", n, NULL);
    /* A slice stays when the other side has it with the same bounds and
     * endpoint; both lists are ordered by lo. What goes (phase 0) or
     * comes (phase 1) is kept in place at the front of rf. */
    for (i = 0; i < nf; i++) {
        while (j < no && ro[j].lo < rf[i].lo)
            j++;
        if (!(j < no && slice_eq(&rf[i], &ro[j])))
            rf[k++] = rf[i];
    }
    if (k)
        px_nl_ranges(b, phase == 0 ? PX_DEL : PX_ADD, name, rf, k);
    free(rf);
    free(ro);
}

static void
phase_delete(struct px_batch *b, const struct px_port *o, const struct px_port *n)
{
    struct px_elem eo, en;
    char name[NAME_MAX_LEN];
    size_t m, i;
    int l;

    for (m = 0; m < 4; m++)
        if (elem_of(o, m, &eo) && !(elem_of(n, m, &en) && elem_eq(&eo, &en)))
            px_nl_element(b, PX_DEL, maps[m], &eo);
    if (!has_chains(o))
        return;
    name_of(name, "svc-", o, NULL);
    if (!svc_kept(o, n))
        px_nl_chain(b, PX_FLUSH, name);
    name_of(name, "ext-", o, NULL);
    if (px_nodeport_served(o) && !ext_kept(o, n))
        px_nl_chain(b, PX_FLUSH, name);
    for (i = 0; o->affinity && i < o->n_ep; i++) {
        if (ep_kept(o, &o->ep[i], n))
            continue;
        name_of(name, "ep-", o, &o->ep[i]);
        px_nl_chain(b, PX_FLUSH, name);
    }
    for (l = 0; l < 2; l++) {
        if (!has_map(o, l))
            continue;
        name_of(name, l ? "eps-local-" : "eps-", o, NULL);
        if (!has_map(n, l))
            px_nl_eps_map(b, PX_DEL, name);
        else
            map_elements(b, o, n, l, 0);
    }
    /* Nothing refers to these any more. */
    name_of(name, "ext-", o, NULL);
    if (px_nodeport_served(o) && !px_nodeport_served(n))
        px_nl_chain(b, PX_DEL, name);
    name_of(name, "svc-", o, NULL);
    if (!has_chains(n))
        px_nl_chain(b, PX_DEL, name);
    for (i = 0; o->affinity && i < o->n_ep; i++) {
        if (ep_kept(o, &o->ep[i], n))
            continue;
        name_of(name, "ep-", o, &o->ep[i]);
        if (!ep_in(n, &o->ep[i]))
            px_nl_chain(b, PX_DEL, name);
        name_of(name, "aff-", o, &o->ep[i]);
        px_nl_affinity_set(b, PX_DEL, name, 0);
    }
}

/* The maps of n that o lacks, with all their elements, and the changed
 * elements of those both have. */
static void
add_maps(struct px_batch *b, const struct px_port *o, const struct px_port *n)
{
    struct px_range *r;
    char name[NAME_MAX_LEN];
    int l;

    for (l = 0; l < 2; l++) {
        if (!has_map(n, l))
            continue;
        if (has_map(o, l)) {
            map_elements(b, o, n, l, 1);
            continue;
        }
        name_of(name, l ? "eps-local-" : "eps-", n, NULL);
        px_nl_eps_map(b, PX_ADD, name);
        r = sk_reallocarray(NULL, n->n_ep, sizeof(*r));
        px_nl_ranges(b, PX_ADD, name, r, px_port_ranges(n, l, r));
        free(r);
    }
}

static int
phase_add(struct px_batch *b, const struct px_port *o, const struct px_port *n,
          const struct net_proxy_node *node)
{
    struct px_elem eo, en;
    char name[NAME_MAX_LEN];
    size_t m, i;

    if (has_chains(n)) {
        for (i = 0; n->affinity && i < n->n_ep; i++) {
            name_of(name, "aff-", n, &n->ep[i]);
            if (!ep_kept(n, &n->ep[i], o))
                px_nl_affinity_set(b, PX_ADD, name, n->affinity);
        }
        for (i = 0; n->affinity && i < n->n_ep; i++) {
            name_of(name, "ep-", n, &n->ep[i]);
            if (!ep_in(o, &n->ep[i]))
                px_nl_chain(b, PX_ADD, name);
        }
        add_maps(b, o, n);
        name_of(name, "svc-", n, NULL);
        if (!has_chains(o))
            px_nl_chain(b, PX_ADD, name);
        name_of(name, "ext-", n, NULL);
        if (px_nodeport_served(n) && !px_nodeport_served(o))
            px_nl_chain(b, PX_ADD, name);
        for (i = 0; n->affinity && i < n->n_ep; i++)
            if (!ep_kept(n, &n->ep[i], o))
                rules_ep(b, n, &n->ep[i]);
        if (!svc_kept(o, n) && rules_svc(b, n, node) < 0)
            return -EINVAL;
        if (px_nodeport_served(n) && !ext_kept(o, n))
            rules_ext(b, n);
    }
    for (m = 0; m < 4; m++)
        if (elem_of(n, m, &en) && !(elem_of(o, m, &eo) && elem_eq(&eo, &en)))
            px_nl_element(b, PX_ADD, maps[m], &en);
    return 0;
}

/* ---- the hairpin set ---- */

/* A change of the address counts: each address touched, in order, and
 * its count before that touch. */
struct hp_touch {
    struct net_ip ip;
    unsigned before;
    size_t seq;
};

struct hp_log {
    struct hp_touch *t;
    size_t n, cap;
};

static void
hp_count(struct px_ipcount *hp, struct hp_log *log, const struct px_port *p, int delta)
{
    size_t i;

    for (i = 0; p && i < p->n_ep; i++) {
        unsigned before = px_ipcount_add(hp, &p->ep[i].ip, delta);

        if (log->n == log->cap) {
            log->cap = log->cap ? 2 * log->cap : 16;
            log->t = sk_reallocarray(log->t, log->cap, sizeof(*log->t));
        }
        log->t[log->n].ip = p->ep[i].ip;
        log->t[log->n].seq = log->n;
        log->t[log->n++].before = before;
    }
}

static int
touch_cmp(const void *a, const void *b)
{
    const struct hp_touch *x = a, *y = b;
    int c = memcmp(x->ip.a, y->ip.a, 4);

    return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

/* An element per address whose count left or reached zero: the first
 * touch of an address has its count before the diff. */
static void
hp_emit(struct px_batch *b, const struct px_ipcount *hp, struct hp_log *log)
{
    size_t i;

    if (log->n)
        qsort(log->t, log->n, sizeof(*log->t), touch_cmp);
    for (i = 0; i < log->n; i++) {
        unsigned after;

        if (i && memcmp(log->t[i - 1].ip.a, log->t[i].ip.a, 4) == 0)
            continue;
        after = px_ipcount_get(hp, &log->t[i].ip);
        if ((log->t[i].before > 0) != (after > 0))
            px_nl_hairpin(b, after ? PX_ADD : PX_DEL, &log->t[i].ip);
    }
}

static bool
port_eq(const struct px_port *a, const struct px_port *b)
{
    size_t i;

    if (strcmp(a->pname, b->pname) != 0 || a->node_port != b->node_port ||
        memcmp(a->cluster_ip.a, b->cluster_ip.a, 4) != 0 || a->affinity != b->affinity ||
        a->local != b->local || a->n_ep != b->n_ep)
        return false;
    /* The same shared array (the service came from the parse cache). */
    if (a->ep == b->ep)
        return true;
    for (i = 0; i < a->n_ep; i++)
        if (memcmp(a->ep[i].ip.a, b->ep[i].ip.a, 4) != 0 || a->ep[i].port != b->ep[i].port ||
            a->ep[i].local != b->ep[i].local)
            return false;
    return true;
}

/* Same key as port_cmp in net/proxy_rules.c: ns, name, proto, port. */
static int
key_cmp(const struct px_port *x, const struct px_port *y)
{
    int c;

    if ((c = strcmp(x->ns, y->ns)) || (c = strcmp(x->name, y->name)))
        return c;
    if (x->proto != y->proto)
        return x->proto - y->proto;
    return (x->port > y->port) - (x->port < y->port);
}

int
px_state_diff(const struct px_state *old, const struct px_state *next,
              const struct net_proxy_node *node, struct px_ipcount *hp, struct px_batch *b)
{
    struct hp_log log = {0};
    int phase, changed = 0, rc = 0;

    for (phase = 0; phase < (b ? 2 : 1) && rc == 0; phase++) {
        size_t i = 0, j = 0;

        changed = 0;
        /* Both sorted by key: one merge pass per phase. */
        while (i < old->n || j < next->n) {
            const struct px_port *o = i < old->n ? &old->port[i] : NULL;
            const struct px_port *n = j < next->n ? &next->port[j] : NULL;
            int c;

            /* One endpoint array is only ever shared by copies of one
             * parsed port (net/proxy_rules.c): the same port. */
            if (o && n && o->ep && o->ep == n->ep) {
                i++, j++;
                continue;
            }
            c = !o ? 1 : !n ? -1 : key_cmp(o, n);

            if (c < 0)
                n = NULL, i++;
            else if (c > 0)
                o = NULL, j++;
            else
                i++, j++;
            if (o && n && port_eq(o, n))
                continue;
            changed++;
            if (!b)
                continue;
            if (phase == 0) {
                phase_delete(b, o, n);
                hp_count(hp, &log, o, -1);
                hp_count(hp, &log, n, 1);
            } else if (phase_add(b, o, n, node) < 0) {
                rc = -EINVAL;
                break;
            }
        }
    }
    if (b && rc == 0)
        hp_emit(b, hp, &log);
    free(log.t);
    return rc < 0 ? rc : changed;
}

/* ---- address counts ---- */

static size_t
ipc_slot(const struct px_ipcount *c, uint64_t key)
{
    size_t i = (size_t)(((key * 0x9e3779b97f4a7c15ull) >> 32) & (c->cap - 1));

    while (c->key[i] && c->key[i] != key)
        i = (i + 1) & (c->cap - 1);
    return i;
}

static void
ipc_grow(struct px_ipcount *c)
{
    struct px_ipcount old = *c;
    size_t i;

    c->cap = old.cap ? 2 * old.cap : 256;
    c->key = sk_calloc(c->cap, sizeof(*c->key));
    c->count = sk_calloc(c->cap, sizeof(*c->count));
    for (i = 0; i < old.cap; i++)
        if (old.key[i]) {
            size_t s = ipc_slot(c, old.key[i]);

            c->key[s] = old.key[i];
            c->count[s] = old.count[i];
        }
    free(old.key);
    free(old.count);
}

void
px_ipcount_release(struct px_ipcount *c)
{
    free(c->key);
    free(c->count);
    memset(c, 0, sizeof(*c));
}

/* 1 << 32 | the address: never 0, the empty slot. */
static uint64_t
ipc_key(const struct net_ip *ip)
{
    uint32_t a;

    memcpy(&a, ip->a, 4);
    return 1ull << 32 | a;
}

unsigned
px_ipcount_add(struct px_ipcount *c, const struct net_ip *ip, int delta)
{
    uint64_t k = ipc_key(ip);
    unsigned before;
    size_t s;

    if (2 * (c->n + 1) > c->cap)
        ipc_grow(c);
    s = ipc_slot(c, k);
    if (!c->key[s]) {
        c->key[s] = k;
        c->n++;
    }
    before = c->count[s];
    /* Entries that drop to 0 stay as tombstones of count 0, so probe
     * chains are never broken. */
    c->count[s] = (unsigned)((int)before + delta);
    return before;
}

unsigned
px_ipcount_get(const struct px_ipcount *c, const struct net_ip *ip)
{
    size_t s;

    if (!c->cap)
        return 0;
    s = ipc_slot(c, ipc_key(ip));
    return c->key[s] ? c->count[s] : 0;
}

void
px_ipcount_build(struct px_ipcount *c, const struct px_state *st)
{
    size_t i, j;

    px_ipcount_release(c);
    for (i = 0; i < st->n; i++)
        for (j = 0; j < st->port[i].n_ep; j++)
            px_ipcount_add(c, &st->port[i].ep[j].ip, 1);
}
