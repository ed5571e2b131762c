/* net/proxy_diff.c: the change between two parsed states (px_build) as
 * a netlink batch (net/proxy_nl.c), for incremental syncs.
 *
 * The objects of a service port are those net/proxy_rules.c renders:
 * its element in one or two of the shared verdict maps, and, with
 * endpoints, the chains svc-<id>, ext-<id> (a served nodePort) and
 * ep-<id>/<ip>/<port>, plus with ClientIP affinity a set
 * aff-<id>/<ip>/<port> per endpoint. For a port that differs:
 *
 *   phase 1 (all ports):  delete its elements that changed; flush its
 *                         svc and ext chains and the endpoint chains
 *                         whose content changes; delete the chains and
 *                         sets it no longer has.
 *   phase 2 (all ports):  add its new sets and chains, fill svc, ext and
 *                         the new endpoint chains, add its changed
 *                         elements.
 *
 * The kernel checks references at each message of the transaction: a
 * chain or set can only be deleted once no rule or element uses it, so
 * flushes precede deletions, and a rule can only name a chain or set
 * that exists, so additions come in dependency order. All deletions
 * precede all additions because two ports may trade a map key (one
 * service deleted, another created on its clusterIP). An endpoint chain
 * whose name and rules stay (same address, port and affinity) is not
 * touched, so a one-endpoint change of a ten-endpoint service is about
 * a dozen messages. */
#include "net/proxy_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter/nf_tables.h>
#include <stdio.h>
#include <string.h>

static const char *const proto_name[] = {"tcp", "udp", "sctp"};
static const uint8_t proto_num[] = {6, 17, 132};

#define NAME_MAX_LEN 256

static size_t
n_local(const struct px_port *p)
{
    size_t i, n = 0;

    for (i = 0; i < p->n_ep; i++)
        n += p->ep[i].local;
    return n;
}

static bool
served(const struct px_port *p)
{
    return p && p->node_port && (p->local ? n_local(p) > 0 : p->n_ep > 0);
}

static bool
has_chains(const struct px_port *p)
{
    return p && p->n_ep > 0;
}

static void
name_of(char *out, const char *prefix, const struct px_port *p, const struct px_ep *e)
{
    char ip[NET_IP_STRLEN];
    int n = snprintf(out, NAME_MAX_LEN, "%s%s/%s/%s/%u", prefix, p->ns, p->name,
                     proto_name[p->proto], p->port);

    if (e)
        snprintf(out + n, NAME_MAX_LEN - (size_t)n, "/%s/%u", net_ip_format(&e->ip, ip, sizeof(ip)),
                 e->port);
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
             net_ip_format(&p->cluster_ip, ip, sizeof(ip)), proto_name[p->proto], p->port);
}

static void
key_node(struct px_elem *e, const struct px_port *p)
{
    uint16_t port = htons((uint16_t)p->node_port);

    memset(e->key, 0, sizeof(e->key));
    e->key[0] = proto_num[p->proto];
    memcpy(e->key + 4, &port, 2);
    e->key_len = 8;
    snprintf(e->text, sizeof(e->text), "%s . %u", proto_name[p->proto], p->node_port);
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
        if (!served(p))
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
        if (!p->node_port || served(p))
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

/* put_pick of net/proxy_rules.c. */
static void
rules_pick(struct px_batch *b, const char *chain, const struct px_port *p, bool local_only)
{
    char set[NAME_MAX_LEN], ep[NAME_MAX_LEN];
    static const uint8_t zero[4];
    size_t i, k, n = 0;

    for (i = 0; i < p->n_ep; i++)
        n += !local_only || p->ep[i].local;
    for (i = 0; p->affinity && i < p->n_ep; i++) {
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

static int
rules_svc(struct px_batch *b, const struct px_port *p, const struct net_proxy_node *node)
{
    char chain[NAME_MAX_LEN], svc[NAME_MAX_LEN];

    name_of(svc, "svc-", p, NULL);
    if (node->cluster_cidr.ip.family == AF_INET &&
        rule_masq_outside(b, svc, &node->cluster_cidr) < 0)
        return -EINVAL;
    rules_pick(b, svc, p, false);
    if (!served(p))
        return 0;
    name_of(chain, "ext-", p, NULL);
    if (p->local) {
        rules_pick(b, chain, p, true);
        return 0;
    }
    px_nl_rule_begin(b, chain);
    px_nl_verdict(b, false, "mark-for-masquerade");
    px_nl_rule_end(b);
    px_nl_rule_begin(b, chain);
    px_nl_verdict(b, true, svc);
    px_nl_rule_end(b);
    return 0;
}

static void
rules_ep(struct px_batch *b, const struct px_port *p, const struct px_ep *e)
{
    char chain[NAME_MAX_LEN], set[NAME_MAX_LEN];
    uint16_t port = htons((uint16_t)e->port);

    name_of(chain, "ep-", p, e);
    px_nl_rule_begin(b, chain);
    px_nl_payload(b, 12, 4);
    px_nl_cmp(b, true, e->ip.a, 4);
    px_nl_verdict(b, false, "mark-for-masquerade");
    px_nl_rule_end(b);
    if (p->affinity) {
        name_of(set, "aff-", p, e);
        px_nl_rule_begin(b, chain);
        px_nl_payload(b, 12, 4);
        px_nl_dynset_update(b, set);
        px_nl_rule_end(b);
    }
    px_nl_rule_begin(b, chain);
    px_nl_meta_l4proto(b);
    px_nl_cmp(b, true, &proto_num[p->proto], 1);
    px_nl_immediate(b, NFT_REG_1, e->ip.a, 4);
    px_nl_immediate(b, NFT_REG_2, &port, 2);
    px_nl_dnat(b);
    px_nl_rule_end(b);
}

/* ---- one port ---- */

/* Has q (with chains) an endpoint at e's address and port? */
static bool
ep_in(const struct px_port *q, const struct px_ep *e)
{
    size_t i;

    for (i = 0; has_chains(q) && i < q->n_ep; i++)
        if (memcmp(q->ep[i].ip.a, e->ip.a, 4) == 0 && q->ep[i].port == e->port)
            return true;
    return false;
}

/* Do e's chain (and set) in p stay as they are in q? */
static bool
ep_kept(const struct px_port *p, const struct px_ep *e, const struct px_port *q)
{
    return ep_in(q, e) && q->affinity == p->affinity;
}

static void
phase_delete(struct px_batch *b, const struct px_port *o, const struct px_port *n)
{
    struct px_elem eo, en;
    char name[NAME_MAX_LEN];
    size_t m, i;

    for (m = 0; m < 4; m++)
        if (elem_of(o, m, &eo) && !(elem_of(n, m, &en) && elem_eq(&eo, &en)))
            px_nl_element(b, PX_DEL, maps[m], &eo);
    if (!has_chains(o))
        return;
    name_of(name, "svc-", o, NULL);
    px_nl_chain(b, PX_FLUSH, name);
    name_of(name, "ext-", o, NULL);
    if (served(o))
        px_nl_chain(b, PX_FLUSH, name);
    for (i = 0; i < o->n_ep; i++) {
        if (ep_kept(o, &o->ep[i], n))
            continue;
        name_of(name, "ep-", o, &o->ep[i]);
        px_nl_chain(b, PX_FLUSH, name);
    }
    /* Nothing refers to these any more. */
    name_of(name, "ext-", o, NULL);
    if (served(o) && !served(n))
        px_nl_chain(b, PX_DEL, name);
    name_of(name, "svc-", o, NULL);
    if (!has_chains(n))
        px_nl_chain(b, PX_DEL, name);
    for (i = 0; i < o->n_ep; i++) {
        if (ep_kept(o, &o->ep[i], n))
            continue;
        name_of(name, "ep-", o, &o->ep[i]);
        if (!ep_in(n, &o->ep[i]))
            px_nl_chain(b, PX_DEL, name);
        name_of(name, "aff-", o, &o->ep[i]);
        if (o->affinity)
            px_nl_affinity_set(b, PX_DEL, name, 0);
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
        for (i = 0; i < n->n_ep; i++) {
            name_of(name, "ep-", n, &n->ep[i]);
            if (!ep_in(o, &n->ep[i]))
                px_nl_chain(b, PX_ADD, name);
        }
        name_of(name, "svc-", n, NULL);
        if (!has_chains(o))
            px_nl_chain(b, PX_ADD, name);
        name_of(name, "ext-", n, NULL);
        if (served(n) && !served(o))
            px_nl_chain(b, PX_ADD, name);
        for (i = 0; i < n->n_ep; i++)
            if (!ep_kept(n, &n->ep[i], o))
                rules_ep(b, n, &n->ep[i]);
        if (rules_svc(b, n, node) < 0)
            return -EINVAL;
    }
    for (m = 0; m < 4; m++)
        if (elem_of(n, m, &en) && !(elem_of(o, m, &eo) && elem_eq(&eo, &en)))
            px_nl_element(b, PX_ADD, maps[m], &en);
    return 0;
}

static bool
port_eq(const struct px_port *a, const struct px_port *b)
{
    size_t i;

    if (strcmp(a->pname, b->pname) != 0 || a->node_port != b->node_port ||
        memcmp(a->cluster_ip.a, b->cluster_ip.a, 4) != 0 || a->affinity != b->affinity ||
        a->local != b->local || a->n_ep != b->n_ep)
        return false;
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
              const struct net_proxy_node *node, struct px_batch *b)
{
    int phase, changed = 0;

    for (phase = 0; phase < (b ? 2 : 1); phase++) {
        size_t i = 0, j = 0;

        changed = 0;
        /* Both sorted by key: one merge pass per phase. */
        while (i < old->n || j < next->n) {
            const struct px_port *o = i < old->n ? &old->port[i] : NULL;
            const struct px_port *n = j < next->n ? &next->port[j] : NULL;
            int c = !o ? 1 : !n ? -1 : key_cmp(o, n);

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
            if (phase == 0)
                phase_delete(b, o, n);
            else if (phase_add(b, o, n, node) < 0)
                return -EINVAL;
        }
    }
    return changed;
}
