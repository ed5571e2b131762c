#ifndef SK_NET_PROXY_INT_H
#define SK_NET_PROXY_INT_H

/* Private to net/proxy*.c: the parsed input (one px_port per service
 * port), the full render of it, and the incremental change between two
 * of them as a raw nf_tables netlink batch. */

#include "net/nft_int.h"
#include "net/proxy.h"

#include <libmnl/libmnl.h>

enum { PX_TCP, PX_UDP, PX_SCTP };

struct px_ep {
    struct net_ip ip;
    unsigned port;
    bool local;
};

/* One port of one service: the unit that gets chains. */
struct px_port {
    char ns[64], name[64], pname[16];
    int proto;
    unsigned port, node_port; /* node_port 0: none */
    struct net_ip cluster_ip;
    unsigned affinity; /* timeout in seconds, 0: none */
    bool local;        /* externalTrafficPolicy Local */
    struct px_ep *ep;  /* sorted, no duplicates; shared, read-only */
    size_t n_ep;
    uint64_t hash; /* of all the fields above, for px_state_hash */
};

/* Everything the input says, ports sorted by ns/name/proto/port. */
struct px_state {
    struct px_port *port;
    size_t n, cap;
};

/* What one Service (with its Endpoints) parsed to, and the
 * resourceVersions of the two objects then (eps_rv NULL: no Endpoints
 * object). */
struct px_centry {
    char ns[64], name[64];
    char *svc_rv, *eps_rv;
    json_t *svc_obj, *eps_obj; /* the objects parsed (references held; eps NULL: none) */
    struct px_port *port;
    size_t n;
};

/* An object's name and resourceVersion (NULL: none). */
struct px_ref {
    char ns[64], name[64];
    const char *rv;
    const json_t *obj;
};

/* One input array (Services or Endpoints) as the last build saw it:
 * the objects (references held, so an object passed again is known by
 * its pointer and never mistaken for a new one at a reused address),
 * their refs, and the order of the refs by name. */
struct px_refs {
    json_t **obj;
    struct px_ref *ref;
    size_t *order;
    size_t n;
    size_t *lo, *hi; /* Services: their Endpoints, [lo, hi) of the sorted refs */
};

/* The parse cache: entries sorted by ns/name, and the last input;
 * checked: that input's Services passed the checks of the whole set
 * (no port twice, no two on one map key). */
struct px_cache {
    struct px_centry *e;
    size_t n, cap;
    struct px_refs svc, eps;
    bool checked;
};

/* Parse and check services and endpoints (see net_proxy_render) into st
 * (zeroed by the caller); on failure st holds a partial state the caller
 * releases. A Service whose object and Endpoints object have the
 * resourceVersions recorded in old (may be NULL) is not parsed again;
 * next (NULL: not wanted; zeroed by the caller) records this input for
 * the next build, also when this one fails, taking over old's entries
 * (release old afterwards, and use next). Objects without a
 * resourceVersion are always parsed. */
int px_build(const json_t *services, const json_t *endpoints, const struct net_proxy_node *node,
             struct px_cache *old, struct px_cache *next, struct px_state *st, struct sk_err *err);
void px_cache_release(struct px_cache *c);
void px_state_release(struct px_state *st);
/* Render the full script of st (net_proxy_render's output). */
void px_render_state(const struct px_state *st, const struct net_proxy_node *node,
                     struct sk_buf *out, struct net_proxy_stats *stats);
/* What px_render_state would count, without rendering. */
void px_state_stats(const struct px_state *st, const struct net_proxy_node *node,
                    struct net_proxy_stats *stats);
/* FNV-1a over every field of every port: equal for equal states. */
uint64_t px_state_hash(const struct px_state *st);

/* ---- names and facts of a service port (net/proxy_port.c) ---- */

extern const char *const px_proto_name[3]; /* by px_port.proto */
/* How many of p's endpoints are on this node. */
size_t px_n_local(const struct px_port *p);
/* Does p (NULL: no) get its nodePort element in service-nodeports, that
 * is has a nodePort and endpoints (local ones for Local)? */
bool px_nodeport_served(const struct px_port *p);
/* "<prefix><ns>/<name>/<proto>/<port>", and "/<ip>/<port>" of endpoint
 * e unless NULL: the names of p's chains, sets and maps. Returns what
 * snprintf returns. */
#define PX_ID_MAX 256
int px_port_id(char *out, size_t outsz, const char *prefix, const struct px_port *p,
               const struct px_ep *e);

/* Does p pick its endpoint from a data map (eps-<id>, and for a served
 * Local nodePort eps-local-<id>) rather than from endpoint chains? All
 * ports with endpoints do, except those with ClientIP affinity. */
bool px_port_data(const struct px_port *p);

/* The slice [lo, hi] of "numgen random mod PX_SLOTS" that goes to one
 * endpoint. */
#define PX_SLOTS 65536u
struct px_range {
    unsigned lo, hi;
    const struct px_ep *ep;
};

/* The ranges of p's eligible endpoints (local ones only when
 * local_only), in endpoint order, into out (room for p->n_ep); returns
 * how many. */
size_t px_port_ranges(const struct px_port *p, bool local_only, struct px_range *out);

/* How many endpoints (of all ports) have each address: the hairpin set
 * holds "a . a" for every address counted here. */
struct px_ipcount {
    uint64_t *key; /* 1 << 32 | the address (network order); 0: empty slot */
    unsigned *count;
    size_t cap, n;
};

void px_ipcount_release(struct px_ipcount *c);
/* Count the endpoints of st from scratch. */
void px_ipcount_build(struct px_ipcount *c, const struct px_state *st);
/* Add delta to ip's count; returns the count before. */
unsigned px_ipcount_add(struct px_ipcount *c, const struct net_ip *ip, int delta);
unsigned px_ipcount_get(const struct px_ipcount *c, const struct net_ip *ip);

/* ---- the netlink batch (net/proxy_nl.c) ---- */

enum px_op { PX_ADD, PX_DEL, PX_FLUSH };

struct px_batch {
    struct sk_buf msg;   /* the messages, without BATCH_BEGIN/END */
    struct sk_buf trace; /* one line per message, nft-like, for tests and logs */
    size_t n;            /* messages */
    uint32_t seq, set_id;
    size_t last_off;
    struct nlmsghdr *rule; /* the rule being built */
    struct nlattr *exprs, *data;
};

/* An element of one of the shared verdict maps: key bytes as nf_tables
 * lays out a concatenation (each field padded to 4 bytes), and the
 * chain it goes to ("": drop). */
struct px_elem {
    uint8_t key[12];
    size_t key_len;
    char chain[256];
    char text[64]; /* the key as nft prints it, for the trace */
};

void px_batch_init(struct px_batch *b);
void px_batch_release(struct px_batch *b);
/* Send b as one transaction and wait for the kernel's answer. */
int px_batch_commit(struct px_batch *b, struct mnl_socket *nl, struct sk_err *err);
void px_nl_chain(struct px_batch *b, enum px_op op, const char *name);
void px_nl_affinity_set(struct px_batch *b, enum px_op op, const char *name, unsigned timeout_s);
void px_nl_element(struct px_batch *b, enum px_op op, const char *map, const struct px_elem *e);
void px_nl_rule_begin(struct px_batch *b, const char *chain);
void px_nl_rule_end(struct px_batch *b);
void px_nl_payload(struct px_batch *b, unsigned off, unsigned len);
void px_nl_cmp(struct px_batch *b, bool eq, const void *data, size_t len);
void px_nl_mask(struct px_batch *b, const uint8_t mask[4]);
void px_nl_verdict(struct px_batch *b, bool go, const char *chain);
void px_nl_immediate(struct px_batch *b, unsigned reg, const void *data, size_t len);
void px_nl_lookup(struct px_batch *b, const char *set);
void px_nl_dynset_update(struct px_batch *b, const char *set);
void px_nl_numgen(struct px_batch *b, unsigned mod);
void px_nl_meta_l4proto(struct px_batch *b);
void px_nl_dnat(struct px_batch *b);
/* An endpoint map "typeof numgen random mod PX_SLOTS : ip daddr . th
 * dport; flags interval" (op PX_ADD or PX_DEL). */
void px_nl_eps_map(struct px_batch *b, enum px_op op, const char *name);
/* Add or delete the elements of ranges r[0..n) of endpoint map map. */
void px_nl_ranges(struct px_batch *b, enum px_op op, const char *map, const struct px_range *r,
                  size_t n);
/* Add or delete "ip . ip" in the hairpin set. */
void px_nl_hairpin(struct px_batch *b, enum px_op op, const struct net_ip *ip);
/* [ numgen random mod PX_SLOTS ] [ byteorder hton ] [ lookup map dreg 1 ]
 * [ nat dnat addr reg 1 proto reg 9 ]: "dnat to numgen random mod
 * 65536 map @map". */
void px_nl_dnat_map(struct px_batch *b, const char *map);

/* Append to b the changes that turn the table of old into that of next
 * (both built for node): per service port that differs, the elements,
 * sets and chains that changed, deletions of all ports before additions
 * (two ports may trade a map key), and the hairpin elements whose
 * address count in hp (the counts of old; updated to those of next)
 * leaves or reaches zero. Returns how many ports differ (0: nothing
 * appended). -EINVAL when a change cannot be expressed here (a cluster
 * CIDR of prefix length 0); the caller then replaces the table whole
 * (and hp is to be rebuilt). b NULL: only count (hp unused). */
int px_state_diff(const struct px_state *old, const struct px_state *next,
                  const struct net_proxy_node *node, struct px_ipcount *hp, struct px_batch *b);

#endif
