/* net/proxy.c: keeping the proxy's table in the kernel equal to the
 * Services and Endpoints.
 *
 * Every kernel operation uses an nft context or netlink socket created
 * on a net_netns_run thread inside the proxy's netns: both bind to the
 * netns of the thread that opens them, and the caller's threads never
 * change namespace. The nft contexts never outlive the call; the
 * netlink socket of the incremental batches and generation reads is
 * kept for the proxy's life (closing one waits for an RCU grace period
 * after a commit, see net/proxy_nl.c).
 *
 * A sync parses the input into a px_state (net/proxy_rules.c; a Service
 * whose object and Endpoints object kept their resourceVersions is taken
 * from the parse cache instead of being parsed again) and compares it
 * with the state the table was built from. When the table holds that
 * state, only what differs is changed, as one nf_tables netlink batch
 * (net/proxy_diff.c, net/proxy_nl.c): one transaction, a few messages
 * for a one-endpoint change, and unchanged services keep their affinity
 * entries. The first sync, a sync after a failed one, a drift repair and
 * a refused batch replace the whole table instead: the full script
 * ("add table; delete table; table {...}") through libnftables, also one
 * transaction. libnftables is not used for the changes because it reads
 * every chain of the table back first (see net/proxy_nl.c).
 *
 * Drift (the table deleted or edited by someone else) is noticed without
 * listing the whole table on every sync: nf_tables keeps a generation id
 * per netns that every committed transaction bumps (NFT_MSG_GETGEN). If
 * it is still the one read after our last commit, nothing changed. If
 * not, someone committed something, maybe to their own table: the table
 * is listed and compared (by hash) with a listing taken at a moment it
 * was known intact; without such a listing, it is replaced whole. The
 * listing is O(table) (libnftables reads the whole table back, about a
 * minute at 10,000 services of 10 endpoints on a loaded machine), so a
 * baseline is taken only after a full replace, which costs as much
 * anyway; an incremental sync drops it rather than list the table after
 * every change, and the next foreign commit then costs a full replace.
 * Elements of the dynamic affinity sets change with traffic and are left
 * out of that comparison. (A commit by someone else between ours and the
 * read of the id would go unnoticed until the next foreign commit.) */
#include "net/proxy_int.h"

#include "lib/alloc.h"
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct net_proxy {
    int netns_fd; /* owned; -1: the creator's netns */
    char *name;
    struct net_ip *node_ip;
    struct net_proxy_node node; /* points into name and node_ip */
    bool applied;               /* the table holds state */
    struct px_state state;      /* the input of the table as last applied */
    struct px_cache cache;      /* what the last input parsed to, per Service */
    struct px_ipcount hairpin;  /* endpoints per address in state (the hairpin set) */
    struct mnl_socket *nl;      /* kept open, see net_nft_sock_open; NULL: open at next use */
    uint32_t gen;               /* nf_tables generation after our last commit */
    bool list_valid;            /* list_hash is a listing of the intact table */
    bool want_baseline;         /* take that listing (the last commit replaced the table) */
    uint64_t list_hash;
    struct net_proxy_metrics m;
};

int
net_proxy_list(int netns_fd, struct sk_buf *out, struct sk_err *err)
{
    return net_nft_run(netns_fd, "list table " NET_PROXY_FAMILY " " NET_PROXY_TABLE "\n", out, err);
}

/* Hash of a listing without the elements of dynamic sets (affinity
 * entries come and go with traffic): inside a "flags dynamic" set, skip
 * from "elements = {" to the line that closes it. */
static uint64_t
listing_hash(const char *s)
{
    uint64_t h = 0;
    bool dynamic = false, skipping = false;

    while (*s) {
        size_t n = strcspn(s, "\n");
        const char *t = s + strspn(s, "\t ");

        if (strncmp(t, "set ", 4) == 0 || strncmp(t, "map ", 4) == 0 ||
            strncmp(t, "chain ", 6) == 0)
            dynamic = false;
        if (strncmp(t, "flags dynamic", 13) == 0)
            dynamic = true;
        if (dynamic && strncmp(t, "elements = {", 12) == 0)
            skipping = true;
        if (!skipping)
            h = h * 31 + net_proxy_hash(s, n);
        if (skipping && n > 0 && s[n - 1] == '}')
            skipping = false;
        s += n + (s[n] == '\n');
    }
    return h;
}

/* ---- lifecycle ---- */

static uint64_t
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int
net_proxy_remove(struct net_proxy *p, struct sk_err *err)
{
    /* "add" first makes the delete succeed when the table is absent;
     * both go in one transaction. */
    static const char cmd[] = "add table " NET_PROXY_FAMILY " " NET_PROXY_TABLE "\n"
                              "delete table " NET_PROXY_FAMILY " " NET_PROXY_TABLE "\n";

    p->applied = false;
    if (net_nft_run(p->netns_fd, cmd, NULL, err) < 0)
        return sk_err_wrap(err, "remove table '%s'", NET_PROXY_TABLE);
    return 0;
}

int
net_proxy_new(struct net_proxy **out, int netns_fd, const struct net_proxy_node *node,
              struct sk_err *err)
{
    struct net_proxy *p = sk_calloc(1, sizeof(*p));
    int rc;

    p->netns_fd = -1;
    if (netns_fd >= 0) {
        p->netns_fd = fcntl(netns_fd, F_DUPFD_CLOEXEC, 0);
        if (p->netns_fd < 0) {
            rc = sk_err_sys(err, errno, "proxy: duplicate the netns fd");
            goto out_free;
        }
    }
    p->node = *node;
    p->name = node->name ? sk_strdup(node->name) : NULL;
    p->node.name = p->name;
    if (node->n_node_ip) {
        p->node_ip = sk_reallocarray(NULL, node->n_node_ip, sizeof(*p->node_ip));
        memcpy(p->node_ip, node->node_ip, node->n_node_ip * sizeof(*p->node_ip));
    }
    p->node.node_ip = p->node_ip;
    /* A table left by an earlier run stays until the first sync replaces
     * it in one transaction: an agent restart never leaves services
     * without rules. */
    *out = p;
    return 0;
out_free:
    net_proxy_free(p);
    return rc;
}

void
net_proxy_free(struct net_proxy *p)
{
    if (!p)
        return;
    if (p->netns_fd >= 0)
        close(p->netns_fd);
    free(p->name);
    free(p->node_ip);
    px_state_release(&p->state);
    px_cache_release(&p->cache);
    px_ipcount_release(&p->hairpin);
    net_nft_sock_close(p->nl);
    free(p);
}

void
net_proxy_metrics_get(const struct net_proxy *p, struct net_proxy_metrics *out)
{
    *out = p->m;
}

/* The proxy's netlink socket, opened at first use. */
static int
sock(struct net_proxy *p, struct sk_err *err)
{
    if (p->nl)
        return 0;
    return net_nft_sock_open(p->netns_fd, &p->nl, err);
}

/* After a failure answers may be left unread: start afresh next time. */
static void
sock_drop(struct net_proxy *p)
{
    net_nft_sock_close(p->nl);
    p->nl = NULL;
}

static int
read_gen(struct net_proxy *p, uint32_t *gen, struct sk_err *err)
{
    if (sock(p, err) < 0)
        return -EIO;
    if (net_nft_sock_genid(p->nl, gen, err) < 0) {
        sock_drop(p);
        return -EIO;
    }
    return 0;
}

/* ---- sync ---- */

/* Is the table in the kernel still the one last applied? 1 yes, 0 no. */
static int
table_intact(struct net_proxy *p, struct sk_err *err)
{
    struct sk_buf list;
    uint32_t gen = 0;
    uint64_t h;
    int rc;

    if (read_gen(p, &gen, err) < 0)
        return -EIO;
    if (gen == p->gen && (p->list_valid || !p->want_baseline))
        return 1;
    if (gen != p->gen && !p->list_valid) {
        sk_debug("proxy", "a foreign nftables commit and no listing to compare with");
        return 0;
    }
    /* Either someone committed since, or there is no baseline listing
     * yet after a full replace (taken now, while the table is known to
     * be ours alone). */
    sk_buf_init(&list);
    rc = net_proxy_list(p->netns_fd, &list, err);
    if (rc == -ENOENT) {
        rc = 0;
        goto out_release;
    }
    if (rc < 0)
        goto out_release;
    h = listing_hash(list.data ? list.data : "");
    if (gen == p->gen) {
        p->list_hash = h;
        p->list_valid = true;
        p->want_baseline = false;
        rc = 1;
    } else {
        rc = p->list_valid && h == p->list_hash;
        if (rc == 1)
            p->gen = gen;
    }
out_release:
    sk_buf_release(&list);
    return rc;
}

/* The table now holds st: keep it (st is emptied), the figures, and
 * the generation id our commit produced. */
static int
remember(struct net_proxy *p, struct px_state *st, struct sk_err *err)
{
    struct net_proxy_stats stats;

    px_state_stats(st, &p->node, &stats);
    p->m.rules = stats.rules;
    p->m.ruleset_hash = px_state_hash(st);
    px_state_release(&p->state);
    p->state = *st;
    memset(st, 0, sizeof(*st));
    p->applied = true;
    p->list_valid = false;
    p->want_baseline = false;
    return read_gen(p, &p->gen, err);
}

/* Replace the whole table with the one of st, in one libnftables
 * transaction, then remember st as the table's content. */
static int
apply_full(struct net_proxy *p, struct px_state *st, struct sk_err *err)
{
    struct sk_buf script = SK_BUF_INIT;
    uint64_t t0;
    int rc;

    p->applied = false;
    px_render_state(st, &p->node, &script, NULL);
    px_ipcount_build(&p->hairpin, st);
    t0 = now_ns();
    rc = net_nft_run(p->netns_fd, script.data, NULL, err);
    p->m.last_commit_ns = now_ns() - t0;
    sk_buf_release(&script);
    if (rc < 0)
        return rc;
    rc = remember(p, st, err);
    p->want_baseline = true; /* see the top of the file */
    return rc;
}

/* Commit b, the changes from the table last applied to st (ports
 * service ports; net/proxy_diff.c, net/proxy_nl.c); on failure (the
 * table was changed under us) replace the whole table instead. */
static int
apply_changes(struct net_proxy *p, struct px_batch *b, int ports, struct px_state *st,
              struct sk_err *err)
{
    uint64_t t0 = now_ns();
    int rc;

    sk_debug("proxy", "incremental sync: %d service ports, %zu messages", ports, b->n);
    rc = sock(p, err);
    if (rc == 0 && (rc = px_batch_commit(b, p->nl, err)) < 0)
        sock_drop(p);
    p->m.last_commit_ns = now_ns() - t0;
    if (rc >= 0) {
        p->m.syncs_incremental++;
        return remember(p, st, err);
    }
    sk_warn("proxy", "incremental update failed (%s); replacing table '%s'", err ? err->msg : "",
            NET_PROXY_TABLE);
    sk_err_init(err);
    return apply_full(p, st, err);
}

int
net_proxy_sync(struct net_proxy *p, const json_t *services, const json_t *endpoints,
               struct sk_err *err)
{
    uint64_t start = now_ns();
    struct px_cache cache = {0};
    struct px_state st = {0};
    struct px_batch b;
    int rc;

    px_batch_init(&b);
    rc = px_build(services, endpoints, &p->node, &p->cache, &cache, &st, err);
    /* The parse cache stays good after a refused input too. */
    px_cache_release(&p->cache);
    p->cache = cache;
    if (rc < 0)
        goto out_fail;
    /* The changes, computed once; none: the table may need nothing. */
    rc = p->applied ? px_state_diff(&p->state, &st, &p->node, &p->hairpin, &b) : 1;
    if (rc == 0) {
        rc = table_intact(p, err);
        if (rc < 0)
            goto out_fail;
        if (rc == 1) {
            p->m.syncs_skipped++;
            rc = 0;
            goto out_release;
        }
        sk_warn("proxy", "table '%s' changed behind the proxy's back; replacing it",
                NET_PROXY_TABLE);
        p->m.drift_repairs++;
        p->applied = false;
    }
    /* -EINVAL: not expressible as a batch (see px_state_diff). */
    if (p->applied && rc > 0)
        rc = apply_changes(p, &b, rc, &st, err);
    else
        rc = apply_full(p, &st, err);
    if (rc < 0)
        goto out_fail;
    p->m.syncs++;
    p->m.last_sync_ns = now_ns() - start;
    rc = 1;
    goto out_release;
out_fail:
    p->m.sync_errors++;
    sk_err_wrap(err, "proxy sync");
out_release:
    px_batch_release(&b);
    px_state_release(&st);
    return rc;
}
