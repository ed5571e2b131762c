#ifndef SK_NET_H
#define SK_NET_H

/* net/: pod networking.
 *
 *  - nl_*     a small rtnetlink layer over libmnl: links (veth, bridge),
 *             IPv4/IPv6 addresses and routes, each request acknowledged
 *             and its error turned into a message that names the object
 *             ("veth 'skf1a2b3c': File exists").
 *  - net_*    addresses and CIDR arithmetic, running code inside another
 *             network namespace, host checks, pod setup and node routes.
 *  - ipam_*   per-node pod address allocation persisted in a flat file.
 *  - net_masq_*  masquerade of pod traffic leaving the cluster network
 *             (nftables through libnftables, table "ip skiff-nat").
 *
 * No `ip` command is run anywhere: everything goes through netlink and
 * /proc/sys. All functions follow the error contract of lib/err.h. */

#include "lib/buf.h"
#include "lib/err.h"

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- addresses and CIDRs (net/cidr.c) ---- */

/* An IPv4 or IPv6 address in network byte order; for AF_INET only the
 * first 4 bytes of a are used, the rest are zero. */
struct net_ip {
    int family; /* AF_INET or AF_INET6 */
    uint8_t a[16];
};

/* An address with a prefix length: a network ("10.244.1.0/24") or an
 * interface address ("10.244.1.7/24"). */
struct net_cidr {
    struct net_ip ip;
    unsigned prefix;
};

/* Big enough for any formatted address or CIDR, NUL included. */
#define NET_IP_STRLEN   46
#define NET_CIDR_STRLEN 50

/* Parse "10.0.0.1" or "fd00::1". */
int net_ip_parse(const char *s, struct net_ip *out, struct sk_err *err);
/* Parse "a.b.c.d/len" or "x::/len". With host_bits false, an address
 * with bits set beyond the prefix is refused (a network was expected);
 * with true it is kept as is (an interface address). */
int net_cidr_parse(const char *s, bool host_bits, struct net_cidr *out, struct sk_err *err);
/* Format into buf (NET_IP_STRLEN / NET_CIDR_STRLEN bytes); returns buf. */
const char *net_ip_format(const struct net_ip *ip, char *buf, size_t size);
const char *net_cidr_format(const struct net_cidr *c, char *buf, size_t size);
bool net_ip_equal(const struct net_ip *a, const struct net_ip *b);
/* The network of c (host bits cleared). */
struct net_cidr net_cidr_network(const struct net_cidr *c);
bool net_cidr_contains(const struct net_cidr *net, const struct net_ip *ip);
bool net_cidr_overlaps(const struct net_cidr *a, const struct net_cidr *b);
/* The n-th address of network c (n = 0 is the network address itself);
 * -ERANGE when n is beyond the network. IPv4 only for n >= 2^32. */
int net_cidr_host(const struct net_cidr *c, uint64_t n, struct net_ip *out, struct sk_err *err);
/* The offset of ip inside network c (inverse of net_cidr_host). */
uint64_t net_cidr_offset(const struct net_cidr *c, const struct net_ip *ip);
/* The broadcast (last) address of an IPv4 network. */
struct net_ip net_cidr_broadcast(const struct net_cidr *c);
/* Check the cluster (pod) and service CIDRs of a cluster: both IPv4
 * networks without host bits, not overlapping. "cluster cidr
 * 10.96.0.0/16 overlaps service cidr 10.96.0.0/12". */
int net_cidr_check_cluster(const struct net_cidr *cluster, const struct net_cidr *service,
                           struct sk_err *err);
/* Carve the index-th subnet of length node_prefix out of cluster: the
 * control plane gives node i the podCIDR net_cidr_carve(cluster, 24, i).
 * -EINVAL when node_prefix is not longer than cluster's (or > 30 for
 * IPv4), -ERANGE when the cluster has no index-th subnet. */
int net_cidr_carve(const struct net_cidr *cluster, unsigned node_prefix, uint64_t index,
                   struct net_cidr *out, struct sk_err *err);

/* ---- rtnetlink (net/nl*.c) ---- */

/* A netlink route socket bound to the network namespace it was opened
 * in (the kernel keeps a socket in its netns for its whole life, so one
 * opened inside a pod's netns configures that pod from any thread). */
struct nl_sock;

/* A socket serves one request at a time: use it from one thread at a
 * time. Open in the calling thread's netns. */
int nl_sock_open(struct nl_sock **out, struct sk_err *err);
/* Open inside the netns referred to by netns_fd (see net_netns_run). */
int nl_sock_open_netns(struct nl_sock **out, int netns_fd, struct sk_err *err);
void nl_sock_free(struct nl_sock *nl);

/* Request flags for the add functions. */
#define NL_F_REPLACE 0x1 /* replace an existing object instead of EEXIST */

/* One link, as dumped. */
struct nl_link {
    int index;
    char name[IF_NAMESIZE];
    char kind[16];  /* "veth", "bridge", ...; "" for a plain device */
    unsigned flags; /* IFF_UP, IFF_LOOPBACK, ... */
    unsigned mtu;
    int master; /* ifindex of the bridge it is enslaved to, or 0 */
    int link;   /* IFLA_LINK: a veth's peer index (maybe in another netns), or 0 */
    uint8_t mac[6];
    size_t mac_len;
    char alias[256]; /* IFLA_IFALIAS, "" if none */
};

/* Create a veth pair name <-> peer. With peer_netns_fd >= 0 the peer is
 * created directly in that netns (one step, nothing to move later). */
int nl_link_add_veth(struct nl_sock *nl, const char *name, const char *peer, int peer_netns_fd,
                     struct sk_err *err);
/* The same, the peer created with the MAC address peer_mac (NULL: a
 * random one, as nl_link_add_veth). */
int nl_link_add_veth_mac(struct nl_sock *nl, const char *name, const char *peer, int peer_netns_fd,
                         const uint8_t peer_mac[6], struct sk_err *err);
int nl_link_add_bridge(struct nl_sock *nl, const char *name, struct sk_err *err);
/* Delete a link (for a veth, both ends go). -ENODEV when absent. */
int nl_link_del(struct nl_sock *nl, const char *name, struct sk_err *err);
/* Move a link into the netns netns_fd. */
int nl_link_set_netns(struct nl_sock *nl, const char *name, int netns_fd, struct sk_err *err);
/* Rename; the link must be down (kernel refuses with EBUSY otherwise). */
int nl_link_rename(struct nl_sock *nl, const char *name, const char *newname, struct sk_err *err);
int nl_link_set_up(struct nl_sock *nl, const char *name, bool up, struct sk_err *err);
int nl_link_set_mtu(struct nl_sock *nl, const char *name, unsigned mtu, struct sk_err *err);
int nl_link_set_mac(struct nl_sock *nl, const char *name, const uint8_t mac[6], struct sk_err *err);
/* Enslave to bridge master; master NULL releases it. */
int nl_link_set_master(struct nl_sock *nl, const char *name, const char *master,
                       struct sk_err *err);
/* Set the interface alias (IFLA_IFALIAS); "" removes it. */
int nl_link_set_alias(struct nl_sock *nl, const char *name, const char *alias, struct sk_err *err);
/* Hairpin mode of a bridge port (IFLA_BRPORT_MODE): the bridge may send
 * a frame back out of the port it came in by, which a pod reaching its
 * own Service needs (the DNATed packet returns to the pod's port). */
int nl_link_set_hairpin(struct nl_sock *nl, const char *name, bool on, struct sk_err *err);
/* The ifindex of name (> 0), or -ENODEV ("link 'x': No such device"). */
int nl_link_index(struct nl_sock *nl, const char *name, struct sk_err *err);
/* Look up one link by name; -ENODEV when absent. */
int nl_link_get(struct nl_sock *nl, const char *name, struct nl_link *out, struct sk_err *err);
/* Every link; *out is malloc'ed (free() it), *n its length. */
int nl_link_dump(struct nl_sock *nl, struct nl_link **out, size_t *n, struct sk_err *err);

/* One interface address, as dumped. */
struct nl_addr {
    int ifindex;
    struct net_cidr local;   /* the address with its prefix length */
    struct net_ip broadcast; /* family 0 if none */
    char label[IF_NAMESIZE];
};

/* Add addr on dev, with an IPv4 broadcast address when brd is not NULL.
 * flags: NL_F_REPLACE to accept (and update) an existing address. */
int nl_addr_add(struct nl_sock *nl, const char *dev, const struct net_cidr *addr,
                const struct net_ip *brd, unsigned flags, struct sk_err *err);
int nl_addr_del(struct nl_sock *nl, const char *dev, const struct net_cidr *addr,
                struct sk_err *err);
/* Addresses of one family (AF_INET, AF_INET6, or AF_UNSPEC for all). */
int nl_addr_dump(struct nl_sock *nl, int family, struct nl_addr **out, size_t *n,
                 struct sk_err *err);

/* rtm_protocol of every route skiff installs, so its routes can be told
 * apart from the administrator's and cleaned up after a crash. Values
 * above RTPROT_STATIC (4) are not interpreted by the kernel; 201 is not
 * taken by any routing daemon listed in iproute2's rt_protos. */
#define NET_RTPROT_SKIFF 201

enum nl_route_type {
    NL_ROUTE_UNICAST = 0,
    NL_ROUTE_UNREACHABLE,
    NL_ROUTE_BLACKHOLE,
};

/* One route. For add/del set dst, and gw and/or dev/ifindex for unicast;
 * table 0 means main, protocol 0 means NET_RTPROT_SKIFF. */
struct nl_route {
    struct net_cidr dst;   /* prefix 0 = default route */
    struct net_ip gw;      /* family 0 = no gateway */
    int ifindex;           /* output device; 0 = none (or use dev) */
    char dev[IF_NAMESIZE]; /* resolved to ifindex when ifindex is 0 */
    enum nl_route_type type;
    bool onlink; /* gateway is on the link even without a covering address */
    unsigned table;
    unsigned protocol;
    unsigned scope; /* filled by dump; computed on add */
};

/* Add a route; flags: NL_F_REPLACE to replace the route to the same dst. */
int nl_route_add(struct nl_sock *nl, const struct nl_route *r, unsigned flags, struct sk_err *err);
/* Delete the route to r->dst with r's table, type and protocol. */
int nl_route_del(struct nl_sock *nl, const struct nl_route *r, struct sk_err *err);
/* Routes of one family (or AF_UNSPEC) in every table, callers filter
 * on table and protocol. Only unicast, unreachable and blackhole routes
 * are returned; local, broadcast and multicast ones are skipped. */
int nl_route_dump(struct nl_sock *nl, int family, struct nl_route **out, size_t *n,
                  struct sk_err *err);

/* ---- network namespaces (net/netns.c) ---- */

/* Run fn(arg, err) on a short-lived thread that entered the netns
 * netns_fd (setns(2) changes only the calling thread's netns, so the
 * caller's threads never change namespace). fn must not create threads
 * or rely on thread-local state of the caller. Returns fn's result. */
int net_netns_run(int netns_fd, int (*fn)(void *arg, struct sk_err *err), void *arg,
                  struct sk_err *err);
/* Run the nft script cmd through libnftables in netns_fd, in one
 * transaction; its output (a listing) is appended to out when not NULL.
 * Errors carry the first line of libnftables' message (-ENOENT for a
 * missing table or chain). */
int net_nft_run(int netns_fd, const char *cmd, struct sk_buf *out, struct sk_err *err);
/* The nf_tables ruleset generation id of netns_fd (NFT_MSG_GETGEN): it
 * moves with every commit, anyone's. */
int net_nft_genid(int netns_fd, uint32_t *gen, struct sk_err *err);
/* Open a netns reference: a path such as /var/run/netns/X or
 * /proc/PID/ns/net; returns an O_CLOEXEC fd. */
int net_netns_open(const char *path, struct sk_err *err);
/* Write value to the sysctl key ("net.ipv4.ip_forward") in netns_fd
 * (-1: the caller's). Only net.* keys are accepted. */
int net_sysctl_set(int netns_fd, const char *key, const char *value, struct sk_err *err);
/* Read a sysctl, trailing newline dropped. */
int net_sysctl_get(int netns_fd, const char *key, char *buf, size_t size, struct sk_err *err);

/* ---- IPAM (net/ipam.c) ---- */

/* The allocator of one node's podCIDR. Every operation locks, reads
 * and (when it changes anything) atomically rewrites the file, so two
 * processes may share it and a crash never leaves a torn file. */
struct ipam {
    char *path;      /* the allocation file */
    char *lock_path; /* path + ".lock" (flock(2)ed; the file itself is replaced) */
    struct net_cidr pool;
};

struct ipam_entry {
    struct net_ip ip;
    char *owner;
};

/* Set up an allocator for the IPv4 pool (a network of /16 to /30) in
 * the file path (created on first allocation). No I/O. */
int ipam_init(struct ipam *ipam, const char *path, const struct net_cidr *pool, struct sk_err *err);
void ipam_release(struct ipam *ipam);
/* The address for owner (a pod sandbox id: 1-253 bytes of
 * [A-Za-z0-9._:/-]). Returns 1 with a new address, 0 with the address
 * owner already had (so a retried setup gets the same one), or
 * -ENOSPC when the pool is exhausted. Addresses are handed out
 * round-robin after the last one allocated, so a freed address is not
 * reused at once. The network, gateway (first host) and broadcast
 * addresses are never handed out. */
int ipam_alloc(struct ipam *ipam, const char *owner, struct net_ip *out, struct sk_err *err);
/* Release by address or by owner; releasing a free one is not an error.
 * Return 1 if something was released, 0 if not. */
int ipam_release_ip(struct ipam *ipam, const struct net_ip *ip, struct sk_err *err);
int ipam_release_owner(struct ipam *ipam, const char *owner, struct sk_err *err);
/* The current allocations sorted by address; free with ipam_entries_free. */
int ipam_list(struct ipam *ipam, struct ipam_entry **out, size_t *n, struct sk_err *err);
void ipam_entries_free(struct ipam_entry *e, size_t n);
/* After a restart: release every allocation whose owner is not in live.
 * Returns how many were released. */
int ipam_reconcile(struct ipam *ipam, const char *const *live, size_t nlive, struct sk_err *err);
/* The gateway address of the pool (its first host address). */
struct net_ip ipam_gateway(const struct ipam *ipam);

/* ---- pod networks and node routes (net/podnet.c) ---- */

#define NET_BRIDGE_DEFAULT "skiff0"

/* Check that the netns netns_fd (-1: the caller's) can serve pods:
 * IPv4 forwarding on and bridges supported. The message says what to
 * change. */
int net_host_check(int netns_fd, struct sk_err *err);

/* Make sure bridge exists (created if absent; an existing link of
 * another kind is an error), carries gw/prefix of podcidr and is up. */
int net_bridge_ensure(struct nl_sock *nl, const char *bridge, const struct net_cidr *podcidr,
                      struct sk_err *err);

/* The host-side veth name for a pod: "skf" + 8 hex digits of a hash of
 * pod_id (fits IF_NAMESIZE). */
void net_pod_ifname(const char *pod_id, char out[IF_NAMESIZE]);

struct net_pod_spec {
    const char *pod_id;         /* IPAM owner, hashed into the veth name */
    const char *netns_path;     /* the sandbox netns, or NULL to use netns_fd */
    int netns_fd;               /* used when netns_path is NULL; not closed */
    const char *bridge;         /* NULL: NET_BRIDGE_DEFAULT */
    unsigned mtu;               /* 0: leave the kernel default */
    const char *const *sysctls; /* "key=value" for the pod netns, NULL-ended; may be NULL */
};

struct net_pod_result {
    struct net_cidr addr; /* the pod's address with the pool's prefix */
    struct net_ip gateway;
    char host_if[IF_NAMESIZE];
};

/* Connect the pod's netns to the node bridge on nl's netns: veth pair
 * (host end on the bridge in hairpin mode, peer "eth0" in the pod),
 * address from ipam,
 * loopback and eth0 up, default route via the gateway, sysctls. Safe
 * to re-run after a crash: existing pieces are reused. On failure what
 * this call created is removed again. */
int net_pod_setup(struct nl_sock *nl, struct ipam *ipam, const struct net_pod_spec *spec,
                  struct net_pod_result *res, struct sk_err *err);
/* Remove the pod's veth (if any) and release its address. Idempotent;
 * works when the pod netns is already gone. */
int net_pod_teardown(struct nl_sock *nl, struct ipam *ipam, const char *pod_id, struct sk_err *err);
/* The veth pair also goes when the pod's netns is destroyed (its last
 * process gone, every fd to it closed): the kernel deletes it then, in
 * one batch for every netns that dies at the same time, where
 * net_pod_teardown's RTM_DELLINK pays the kernel's RCU waits once per
 * pod (bench/README.md, "net"). Wait up to timeout_ms for the host ends
 * of the n pods (links named net_pod_ifname with the pod id as alias)
 * to be gone: 0, or -ETIMEDOUT naming one left and how many (something
 * still holds its netns; net_pod_teardown deletes it). The addresses
 * are the caller's to release (ipam_release_owner). */
int net_pod_wait_gone(struct nl_sock *nl, const char *const *pod_ids, size_t n, int timeout_ms,
                      struct sk_err *err);

/* host-gw: route the peer node's podCIDR via its node address. Replaces
 * an existing route to the same podCIDR. */
int net_route_peer_add(struct nl_sock *nl, const struct net_cidr *podcidr,
                       const struct net_ip *node_ip, struct sk_err *err);
int net_route_peer_del(struct nl_sock *nl, const struct net_cidr *podcidr, struct sk_err *err);
/* An `unreachable` route for a cluster or service CIDR, so a packet to
 * an address nobody owns fails at once instead of following a default
 * route. Idempotent. */
int net_route_unreachable_add(struct nl_sock *nl, const struct net_cidr *cidr, struct sk_err *err);
int net_route_unreachable_del(struct nl_sock *nl, const struct net_cidr *cidr, struct sk_err *err);

/* ---- egress masquerade (net/masq.c) ---- */

/* The one table this code owns; no other table is read or changed
 * (the service proxy has "ip skiff-proxy", net/proxy.h). */
#define NET_MASQ_FAMILY "ip"
#define NET_MASQ_TABLE  "skiff-nat"

struct net_masq_config {
    struct net_cidr cluster; /* pods' network: IPv4, required */
    struct net_cidr service; /* Services' network; ip.family 0: none */
    const char *bridge;      /* the pods' bridge; NULL: NET_BRIDGE_DEFAULT */
};

/* The nft script that replaces the table in one transaction: traffic
 * from the cluster network to anywhere outside the cluster and service
 * networks, not leaving by the bridge, is masqueraded (net/masq.c
 * explains each part). Appended to out; -EINVAL for a config that is
 * not IPv4 or a bridge name nft could misread. Pure. */
int net_masq_render(const struct net_masq_config *cfg, struct sk_buf *out, struct sk_err *err);

struct net_masq;

/* Set up for the netns netns_fd (-1: the caller's; the fd is
 * duplicated). Renders (and so validates) the script; no kernel call. */
int net_masq_new(struct net_masq **out, int netns_fd, const struct net_masq_config *cfg,
                 struct sk_err *err);
/* Free; the table stays (an agent restart must not cut egress). */
void net_masq_free(struct net_masq *m);
/* Apply the table unless it is still what the last sync left: 0 nothing
 * to do, 1 applied the first time, 2 re-applied because the table was
 * deleted or edited behind our back. Cheap when nothing changed: one
 * netlink request for nf_tables' generation id. */
int net_masq_sync(struct net_masq *m, struct sk_err *err);
/* Times applied, and of those the re-applications after drift. */
void net_masq_counts(const struct net_masq *m, uint64_t *syncs, uint64_t *drifts);
/* Delete the table in netns_fd (-1: the caller's); absent is fine. */
int net_masq_remove(int netns_fd, struct sk_err *err);
/* The table as `nft -s list table ip skiff-nat` prints it, appended to
 * out; -ENOENT when absent. */
int net_masq_list(int netns_fd, struct sk_buf *out, struct sk_err *err);

#endif
