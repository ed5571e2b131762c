#ifndef SK_NET_PROXY_H
#define SK_NET_PROXY_H

/* net/proxy*: the service proxy (kube-proxy's role, nftables mode).
 *
 *  - net_proxy_render   a pure function from Services, Endpoints and the
 *                       node's facts to the complete nft script of the
 *                       one table skiff owns, "table ip skiff-proxy"
 *                       (net/proxy_rules.c documents the ruleset).
 *  - net_proxy_*        keep that table in a network namespace, one
 *                       transaction per sync: the whole script through
 *                       libnftables at first and to repair drift, later
 *                       only what changed as a raw nf_tables netlink
 *                       batch; unchanged input is skipped (net/proxy.c,
 *                       net/proxy_diff.c, net/proxy_nl.c).
 *
 * No `nft` or `iptables` process is run. Only the table NET_PROXY_TABLE
 * is ever listed, created, changed or deleted; tables of other owners
 * are never touched. All functions follow
 * the error contract of lib/err.h. */

#include "lib/buf.h"
#include "lib/err.h"
#include "net/net.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NET_PROXY_FAMILY       "ip"
#define NET_PROXY_TABLE        "skiff-proxy"
#define NET_PROXY_MARK_DEFAULT 0x4000u
#define NET_PROXY_AFFINITY_MAX 86400 /* sessionAffinityConfig timeout cap, as in Kubernetes */

/* What the proxy needs to know about the node it runs on. */
struct net_proxy_node {
    const char *name;             /* Endpoints addresses[].nodeName of local endpoints */
    const struct net_ip *node_ip; /* IPv4 addresses NodePorts are served on */
    size_t n_node_ip;
    struct net_cidr cluster_cidr; /* pod CIDR; ip.family 0: unknown (never masquerade) */
    uint32_t masq_mark;           /* fwmark bit that asks for masquerade; 0: default */
    /* The service CIDR; ip.family 0: unknown. When known, a packet to an
     * address in it that no rule translated (an IP no Service holds) is
     * refused with ICMP host unreachable, after DNAT (priority -90): the
     * node routes the service CIDR to its bridge rather than marking it
     * unreachable, since connect(2) on the node looks the route up
     * before the output hook could translate the address. */
    struct net_cidr service_cidr;
};

/* Counts of what a render produced. */
struct net_proxy_stats {
    size_t services;  /* service ports with rules */
    size_t endpoints; /* endpoint chains */
    size_t rules;     /* rules in chains plus map elements */
};

/* Render the complete nft script for services (a JSON array of Service
 * objects) and endpoints (a JSON array of Endpoints objects, matched to
 * services by metadata.namespace/name) onto out (appended). Either may be
 * NULL (no objects). The output depends only on the set of objects, not
 * on their order, so unchanged input gives a byte-identical script. The
 * script deletes and re-creates the table, so applied in one libnftables
 * call it replaces the previous ruleset atomically. A malformed object is
 * an -EINVAL error naming it and the field ("service 'default/web':
 * spec.ports[0].port: 70000 is not a port (1-65535)"); out then holds a
 * partial script the caller must not apply. stats may be NULL. */
int net_proxy_render(const json_t *services, const json_t *endpoints,
                     const struct net_proxy_node *node, struct sk_buf *out,
                     struct net_proxy_stats *stats, struct sk_err *err);

/* 64-bit FNV-1a of data[0..len): the fingerprint of a rendered script. */
uint64_t net_proxy_hash(const void *data, size_t len);

/* Figures for the metrics endpoint. */
struct net_proxy_metrics {
    uint64_t syncs;             /* syncs that applied a ruleset */
    uint64_t syncs_incremental; /* ... of them by changing only the service ports that differ */
    uint64_t syncs_skipped;     /* syncs whose input was unchanged and the table intact */
    uint64_t sync_errors;       /* failed syncs */
    uint64_t drift_repairs;     /* syncs that re-applied because the table had changed */
    uint64_t last_sync_ns;      /* wall time of the last sync (parse + diff + apply), ns */
    uint64_t last_commit_ns;    /* ... of it in the kernel transaction (send to answer), ns */
    uint64_t rules;             /* rules programmed by the last applied ruleset */
    uint64_t ruleset_hash;      /* fingerprint of the input of the table in place */
};

struct net_proxy;

/* Set up a proxy for the netns netns_fd (-1: the caller's; the fd is
 * duplicated, the caller keeps its own). node is copied. No kernel
 * call: a table NET_PROXY_TABLE left behind by an earlier run keeps
 * serving until the first sync, which replaces it whole in one
 * transaction (a full resync), so an agent restart leaves no window
 * without rules. */
int net_proxy_new(struct net_proxy **out, int netns_fd, const struct net_proxy_node *node,
                  struct sk_err *err);
/* Free the proxy; the programmed rules stay (an agent restart must not
 * break service traffic). See net_proxy_remove. */
void net_proxy_free(struct net_proxy *p);
/* Parse the input and, when it differs from what the table was built
 * from, change the table (only what differs) in one transaction; when
 * the table in the kernel no longer matches (deleted or edited by
 * hand), replace it whole. Services and Endpoints that carry
 * metadata.resourceVersion are parsed again only when it changed.
 * The proxy keeps references to the objects of the last input: an
 * object passed again (the same json_t, as an informer's list hands
 * over its cached objects, in the same order) is taken as unchanged
 * without being read, so a caller must replace an object that changes,
 * never edit one it passed before.
 * Returns 1 when the table was changed, 0 when nothing needed to
 * change. On failure the previous ruleset stays in place (the
 * transaction is all or nothing). */
int net_proxy_sync(struct net_proxy *p, const json_t *services, const json_t *endpoints,
                   struct sk_err *err);
/* Delete the table (no error when absent). */
int net_proxy_remove(struct net_proxy *p, struct sk_err *err);
void net_proxy_metrics_get(const struct net_proxy *p, struct net_proxy_metrics *out);

/* The kernel's current table as `nft list table` prints it (stateless:
 * no counters), appended to out; -ENOENT when the table is absent. For
 * tests and `skiffd` diagnostics. */
int net_proxy_list(int netns_fd, struct sk_buf *out, struct sk_err *err);

#endif
