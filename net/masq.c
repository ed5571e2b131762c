/* net/masq.c: masquerade of pod traffic leaving the cluster network.
 *
 * A pod address means nothing outside the cluster: a host beyond the
 * nodes has no route back to the podCIDRs. Traffic from a pod to such a
 * host therefore leaves with the node's address (the address of the
 * interface it goes out by), as flannel's and ip-masq-agent's rules do.
 * One rule in a table of its own, "table ip skiff-nat", apart from the
 * service proxy's "ip skiff-proxy" (net/proxy_rules.c), so each owner
 * replaces and deletes only its own table:
 *
 *   table ip skiff-nat {
 *       chain postrouting {
 *           type nat hook postrouting priority srcnat + 10; policy accept;
 *           ip saddr CLUSTER ip daddr != CLUSTER ip daddr != SERVICE
 *               oifname != "BRIDGE" counter masquerade fully-random
 *       }
 *   }
 *
 *  - source in the cluster CIDR: only pods' traffic; the node's own and
 *    forwarded traffic of others keep their addresses.
 *  - destination outside the cluster CIDR: pod to pod, also across
 *    nodes (host-gw routes), keeps the pod address, which
 *    NetworkPolicy-style checks and logs rely on.
 *  - destination outside the service CIDR: a ClusterIP is translated
 *    by the proxy at prerouting (dstnat), so at postrouting the
 *    destination is already the endpoint; a packet still addressed to
 *    the service CIDR is one no Service holds and is refused by the
 *    proxy, never sent on. Left out for clarity and safety.
 *  - not out by the bridge: traffic routed back to a pod of this node
 *    (a Service whose endpoint is local) is not egress.
 *  - priority srcnat + 10: after the proxy's own masquerade chain
 *    (srcnat), which masquerades marked service traffic fully-random;
 *    the first NAT chain that sets up a source mapping wins
 *    (nf_nat_inet_fn), and both would pick the same address.
 *  - fully-random: the source port too is chosen at random
 *    (NF_NAT_RANGE_PROTO_RANDOM_FULLY), which avoids the conntrack
 *    insertion race of concurrent connections from different pods that
 *    Kubernetes hit with plain MASQUERADE (kubernetes#76699).
 *  - counter: `nft list table ip skiff-nat` shows how much left.
 *
 * The script replaces the whole table in one transaction ("add table;
 * delete table; table {...}"), as the proxy does, so there is never a
 * moment without the rule. Drift (the table deleted or edited by
 * someone else) is noticed cheaply: nf_tables bumps a generation id per
 * netns on every committed transaction (NFT_MSG_GETGEN); while it is
 * the one read after our last check, nothing changed anywhere. When it
 * moved, our small table is listed and compared with the listing taken
 * right after we applied it.
 *
 * Every kernel operation runs on a net_netns_run thread inside the
 * target netns with an nft context created there (libnftables opens its
 * socket in the netns of the creating thread). No `nft` process runs. */
#include "net/net.h"

#include "lib/alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TABLE NET_MASQ_FAMILY " " NET_MASQ_TABLE

struct net_masq {
    int netns_fd; /* owned; -1: the creator's netns */
    struct net_masq_config cfg;
    char bridge[IF_NAMESIZE];
    char *script;    /* the rendered script */
    bool applied;    /* the table held list_hash after our last check */
    uint32_t gen;    /* nf_tables generation at that check */
    char *listing;   /* the table as listed right after we applied it */
    uint64_t syncs;  /* applies */
    uint64_t drifts; /* applies because the table had changed */
};

/* ---- rendering ---- */

/* An interface name that is safe inside an nft string: what the
 * config accepts for agent.bridge, minus anything nft would parse. */
static bool
ifname_ok(const char *s)
{
    size_t i, n = strlen(s);

    if (n == 0 || n >= IF_NAMESIZE)
        return false;
    for (i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' || s[i] == '.'))
            return false;
    return true;
}

int
net_masq_render(const struct net_masq_config *cfg, struct sk_buf *out, struct sk_err *err)
{
    const char *bridge = cfg->bridge ? cfg->bridge : NET_BRIDGE_DEFAULT;
    char cluster[NET_CIDR_STRLEN], service[NET_CIDR_STRLEN + 24] = "";
    struct net_cidr net;

    if (cfg->cluster.ip.family != AF_INET)
        return sk_err_set(err, EINVAL, "masquerade: the cluster network must be IPv4");
    net = net_cidr_network(&cfg->cluster);
    net_cidr_format(&net, cluster, sizeof(cluster));
    if (cfg->service.ip.family == AF_INET) {
        net = net_cidr_network(&cfg->service);
        memcpy(service, " ip daddr != ", 13);
        net_cidr_format(&net, service + 13, sizeof(service) - 13);
    } else if (cfg->service.ip.family != 0) {
        return sk_err_set(err, EINVAL, "masquerade: the service network must be IPv4");
    }
    if (!ifname_ok(bridge))
        return sk_err_set(err, EINVAL, "masquerade: bridge '%.32s' is not an interface name",
                          bridge);
    sk_buf_printf(out,
                  "add table " TABLE "\n"
                  "delete table " TABLE "\n"
                  "table " TABLE " {\n"
                  "\tchain postrouting {\n"
                  "\t\ttype nat hook postrouting priority srcnat + 10; policy accept;\n"
                  "\t\tip saddr %s ip daddr != %s%s oifname != \"%s\" counter "
                  "masquerade fully-random\n"
                  "\t}\n"
                  "}\n",
                  cluster, cluster, service, bridge);
    return 0;
}

/* ---- the table ---- */

int
net_masq_list(int netns_fd, struct sk_buf *out, struct sk_err *err)
{
    return net_nft_run(netns_fd, "list table " TABLE "\n", out, err);
}

int
net_masq_remove(int netns_fd, struct sk_err *err)
{
    /* "add" first makes the delete succeed when the table is absent;
     * both go in one transaction. */
    if (net_nft_run(netns_fd, "add table " TABLE "\ndelete table " TABLE "\n", NULL, err) < 0)
        return sk_err_wrap(err, "remove table '%s'", NET_MASQ_TABLE);
    return 0;
}

int
net_masq_new(struct net_masq **out, int netns_fd, const struct net_masq_config *cfg,
             struct sk_err *err)
{
    struct net_masq *m = sk_calloc(1, sizeof(*m));
    struct sk_buf script = SK_BUF_INIT;
    int rc;

    m->netns_fd = -1;
    rc = net_masq_render(cfg, &script, err);
    if (rc < 0)
        goto out_free;
    m->script = sk_buf_detach(&script, NULL);
    if (netns_fd >= 0) {
        m->netns_fd = fcntl(netns_fd, F_DUPFD_CLOEXEC, 0);
        if (m->netns_fd < 0) {
            rc = sk_err_sys(err, errno, "masquerade: duplicate the netns fd");
            goto out_free;
        }
    }
    m->cfg = *cfg;
    sk_strlcpy(m->bridge, cfg->bridge ? cfg->bridge : NET_BRIDGE_DEFAULT, sizeof(m->bridge));
    m->cfg.bridge = m->bridge;
    *out = m;
    return 0;
out_free:
    sk_buf_release(&script);
    net_masq_free(m);
    return rc;
}

void
net_masq_free(struct net_masq *m)
{
    if (!m)
        return;
    if (m->netns_fd >= 0)
        close(m->netns_fd);
    free(m->script);
    free(m->listing);
    free(m);
}

/* 1 when the table is still what we applied, 0 when not. */
static int
masq_intact(struct net_masq *m, struct sk_err *err)
{
    struct sk_buf list = SK_BUF_INIT;
    uint32_t gen = 0;
    int rc;

    if (!m->applied)
        return 0;
    if (net_nft_genid(m->netns_fd, &gen, err) < 0)
        return -EIO;
    if (gen == m->gen)
        return 1;
    /* Someone committed something, maybe to a table of their own. */
    rc = net_masq_list(m->netns_fd, &list, err);
    if (rc == -ENOENT) {
        sk_err_init(err);
        rc = 0;
    } else if (rc >= 0) {
        rc = list.data && m->listing && strcmp(list.data, m->listing) == 0;
        if (rc == 1)
            m->gen = gen;
    }
    sk_buf_release(&list);
    return rc;
}

static int
masq_apply(struct net_masq *m, struct sk_err *err)
{
    struct sk_buf list = SK_BUF_INIT;
    int rc;

    m->applied = false;
    rc = net_nft_run(m->netns_fd, m->script, NULL, err);
    if (rc >= 0)
        rc = net_nft_genid(m->netns_fd, &m->gen, err);
    /* A commit by someone else between ours and this listing would be
     * taken for ours; the next foreign commit compares again. */
    if (rc >= 0)
        rc = net_masq_list(m->netns_fd, &list, err);
    if (rc < 0) {
        sk_buf_release(&list);
        return rc;
    }
    free(m->listing);
    m->listing = sk_buf_detach(&list, NULL);
    m->applied = true;
    m->syncs++;
    return 1;
}

int
net_masq_sync(struct net_masq *m, struct sk_err *err)
{
    bool had = m->applied;
    int rc = masq_intact(m, err);

    if (rc == 1)
        return 0;
    if (rc == 0) {
        m->drifts += had;
        rc = masq_apply(m, err);
    }
    if (rc < 0)
        return sk_err_wrap(err, "masquerade: table '%s'", NET_MASQ_TABLE);
    return had ? 2 : 1;
}

void
net_masq_counts(const struct net_masq *m, uint64_t *syncs, uint64_t *drifts)
{
    *syncs = m->syncs;
    *drifts = m->drifts;
}
