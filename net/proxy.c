/* net/proxy.c: applying the proxy's ruleset with libnftables.
 *
 * Every kernel operation runs on a net_netns_run thread inside the
 * proxy's netns with an nft context created there: libnftables opens its
 * netlink socket in the netns of the thread that creates the context, so
 * the context never outlives the call and the caller's threads never
 * change namespace.
 *
 * A sync renders the script (net/proxy_rules.c) and compares its hash to
 * the last one applied. Unchanged input costs a `list table` only: the
 * listing is compared (by hash) with the one taken right after the last
 * apply, so a table deleted or edited by someone else is noticed and
 * re-applied (drift). Elements of the dynamic affinity sets change with
 * traffic and are left out of that comparison. */
#include "net/proxy.h"

#include "lib/alloc.h"
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <nftables/libnftables.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct net_proxy {
    int netns_fd; /* owned; -1: the creator's netns */
    char *name;
    struct net_ip *node_ip;
    struct net_proxy_node node; /* points into name and node_ip */
    bool applied;               /* script_hash/list_hash are valid */
    uint64_t script_hash;
    uint64_t list_hash;
    struct net_proxy_metrics m;
};

/* ---- libnftables calls (on the netns thread) ---- */

struct nft_job {
    const char *cmd; /* an nft script */
    bool list;       /* capture output into out */
    struct sk_buf *out;
};

static int
nft_job_fn(void *arg, struct sk_err *err)
{
    struct nft_job *job = arg;
    struct nft_ctx *ctx;
    const char *msg;
    int rc = 0;

    ctx = nft_ctx_new(NFT_CTX_DEFAULT);
    if (!ctx)
        return sk_err_set(err, ENOMEM, "nftables: cannot create a context");
    nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_STATELESS);
    if (nft_ctx_buffer_output(ctx) < 0 || nft_ctx_buffer_error(ctx) < 0) {
        rc = sk_err_set(err, ENOMEM, "nftables: cannot buffer output");
        goto out_free;
    }
    if (nft_run_cmd_from_buffer(ctx, job->cmd) != 0) {
        msg = nft_ctx_get_error_buffer(ctx);
        /* The first line of libnftables' message says what failed. */
        rc = sk_err_set(err, strstr(msg, "No such file") ? ENOENT : EINVAL, "nftables: %.*s",
                        (int)strcspn(msg, "\n"), msg);
        goto out_free;
    }
    if (job->out)
        sk_buf_puts(job->out, nft_ctx_get_output_buffer(ctx));
out_free:
    nft_ctx_free(ctx);
    return rc;
}

static int
nft_run(int netns_fd, const char *cmd, struct sk_buf *out, struct sk_err *err)
{
    struct nft_job job = {cmd, out != NULL, out};

    return net_netns_run(netns_fd, nft_job_fn, &job, err);
}

int
net_proxy_list(int netns_fd, struct sk_buf *out, struct sk_err *err)
{
    return nft_run(netns_fd, "list table " NET_PROXY_FAMILY " " NET_PROXY_TABLE "\n", out, err);
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
    if (nft_run(p->netns_fd, cmd, NULL, err) < 0)
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
    /* Start from nothing: whatever an earlier run left is stale. */
    rc = net_proxy_remove(p, err);
    if (rc < 0)
        goto out_free;
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
    free(p);
}

void
net_proxy_metrics_get(const struct net_proxy *p, struct net_proxy_metrics *out)
{
    *out = p->m;
}

/* ---- sync ---- */

/* Is the table in the kernel still the one last applied? */
static int
table_intact(struct net_proxy *p, struct sk_err *err)
{
    struct sk_buf list;
    int rc;

    sk_buf_init(&list);
    rc = net_proxy_list(p->netns_fd, &list, err);
    if (rc == -ENOENT) {
        rc = 0;
        goto out_release;
    }
    if (rc < 0)
        goto out_release;
    rc = listing_hash(list.data ? list.data : "") == p->list_hash;
out_release:
    sk_buf_release(&list);
    return rc;
}

static int
apply(struct net_proxy *p, const struct sk_buf *script, struct sk_err *err)
{
    struct sk_buf list;
    int rc;

    p->applied = false;
    rc = nft_run(p->netns_fd, script->data, NULL, err);
    if (rc < 0)
        return rc;
    sk_buf_init(&list);
    rc = net_proxy_list(p->netns_fd, &list, err);
    if (rc >= 0) {
        p->list_hash = listing_hash(list.data ? list.data : "");
        p->script_hash = net_proxy_hash(script->data, script->len);
        p->applied = true;
    }
    sk_buf_release(&list);
    return rc;
}

int
net_proxy_sync(struct net_proxy *p, const json_t *services, const json_t *endpoints,
               struct sk_err *err)
{
    uint64_t start = now_ns(), hash;
    struct net_proxy_stats st;
    struct sk_buf script;
    int rc;

    sk_buf_init(&script);
    rc = net_proxy_render(services, endpoints, &p->node, &script, &st, err);
    if (rc < 0)
        goto out_fail;
    hash = net_proxy_hash(script.data, script.len);
    if (p->applied && hash == p->script_hash) {
        rc = table_intact(p, err);
        if (rc < 0)
            goto out_fail;
        if (rc == 1) {
            p->m.syncs_skipped++;
            rc = 0;
            goto out_release;
        }
        sk_warn("proxy", "table '%s' changed behind the proxy's back; re-applying",
                NET_PROXY_TABLE);
        p->m.drift_repairs++;
    }
    rc = apply(p, &script, err);
    if (rc < 0)
        goto out_fail;
    p->m.syncs++;
    p->m.rules = st.rules;
    p->m.ruleset_hash = hash;
    p->m.last_sync_ns = now_ns() - start;
    rc = 1;
    goto out_release;
out_fail:
    p->m.sync_errors++;
    sk_err_wrap(err, "proxy sync");
out_release:
    sk_buf_release(&script);
    return rc;
}
