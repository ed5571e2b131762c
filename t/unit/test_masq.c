/* net/masq.c: the egress masquerade table, rendered, applied, repaired
 * and removed, and connections through it.
 *
 * The render tests are pure. The kernel tests are root only: each moves
 * its own forked test process into a new network namespace first
 * (unshare), and every "node", "pod" and "outside" netns is held by an
 * fd of that process only, so the host's network and firewall are never
 * touched and everything disappears with the process, also when a check
 * fails half-way. Connections use sockets made inside the namespaces (a
 * socket keeps the netns it was created in); every wait is bounded. */
#include "lib/alloc.h"
#include "lib/buf.h"
#include "net/net.h"
#include "unit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <nftables/libnftables.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define OK(call)                                                                                   \
    do {                                                                                           \
        sk_err_init(&err);                                                                         \
        ck_assert_msg((call) >= 0, "%s: %s", #call, err.msg);                                      \
    } while (0)

static struct net_cidr
cidr(const char *s)
{
    struct net_cidr c;

    ck_assert_int_eq(net_cidr_parse(s, true, &c, NULL), 0);
    return c;
}

static struct net_masq_config
config(void)
{
    struct net_masq_config c = {cidr("10.244.0.0/16"), cidr("10.96.0.0/12"), NULL};

    return c;
}

/* ---- rendering ---- */

START_TEST(render_masquerades_cluster_sources_leaving_the_cluster)
{
    struct net_masq_config c = config();
    struct sk_buf b = SK_BUF_INIT;
    struct sk_err err;

    OK(net_masq_render(&c, &b, &err));
    ck_assert_ptr_nonnull(strstr(b.data, "add table ip skiff-nat\ndelete table ip skiff-nat\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "type nat hook postrouting priority srcnat + 10;"));
    ck_assert_ptr_nonnull(strstr(b.data, "ip saddr 10.244.0.0/16 ip daddr != 10.244.0.0/16 "
                                         "ip daddr != 10.96.0.0/12 oifname != \"skiff0\" "
                                         "counter masquerade fully-random\n"));
    sk_buf_release(&b);
}
END_TEST

START_TEST(render_without_service_network_or_with_host_bits)
{
    struct net_masq_config c = config();
    struct sk_buf b = SK_BUF_INIT;
    struct sk_err err;

    c.service.ip.family = 0;
    c.cluster = cidr("10.244.3.9/16"); /* host bits are dropped */
    c.bridge = "br-pods";
    OK(net_masq_render(&c, &b, &err));
    ck_assert_ptr_nonnull(strstr(b.data, "ip saddr 10.244.0.0/16 ip daddr != 10.244.0.0/16 "
                                         "oifname != \"br-pods\" counter"));
    ck_assert_ptr_null(strstr(b.data, "10.96"));
    sk_buf_release(&b);
}
END_TEST

static const struct {
    const char *cluster, *service, *bridge, *msg;
} bad_configs[] = {
    {"fd00::/64", NULL, NULL, "cluster network must be IPv4"},
    {NULL, NULL, NULL, "cluster network must be IPv4"},
    {"10.244.0.0/16", "fd00:1::/112", NULL, "service network must be IPv4"},
    {"10.244.0.0/16", NULL, "br\"; flush ruleset", "is not an interface name"},
    {"10.244.0.0/16", NULL, "", "is not an interface name"},
    {"10.244.0.0/16", NULL, "a-name-too-long-for-linux", "is not an interface name"},
    {"10.244.0.0/16", NULL, "eth*", "is not an interface name"},
};

START_TEST(render_refuses_bad_configs)
{
    struct net_masq_config c = {{{0}, 0}, {{0}, 0}, bad_configs[_i].bridge};
    struct sk_buf b = SK_BUF_INIT;
    struct net_masq *m = NULL;
    struct sk_err err;

    if (bad_configs[_i].cluster)
        c.cluster = cidr(bad_configs[_i].cluster);
    if (bad_configs[_i].service)
        c.service = cidr(bad_configs[_i].service);
    sk_err_init(&err);
    ck_assert_int_eq(net_masq_render(&c, &b, &err), -EINVAL);
    ck_assert_msg(strstr(err.msg, bad_configs[_i].msg), "%s", err.msg);
    sk_err_init(&err);
    ck_assert_int_eq(net_masq_new(&m, -1, &c, &err), -EINVAL);
    ck_assert_ptr_null(m);
    sk_buf_release(&b);
}
END_TEST

/* ---- kernel ---- */

/* Run an nft script as an outsider would (another owner, or someone
 * editing our table by hand). */
static int
raw_nft_fn(void *arg, struct sk_err *err)
{
    struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
    int rc;

    nft_ctx_buffer_output(ctx);
    nft_ctx_buffer_error(ctx);
    rc = nft_run_cmd_from_buffer(ctx, arg);
    if (rc != 0)
        sk_err_set(err, EINVAL, "%s", nft_ctx_get_error_buffer(ctx));
    nft_ctx_free(ctx);
    return rc != 0 ? -EINVAL : 0;
}

static void
raw_nft(int netns_fd, const char *script)
{
    struct sk_err err;

    OK(net_netns_run(netns_fd, raw_nft_fn, (void *)script, &err));
}

static int
table_state(int netns_fd, struct sk_buf *out)
{
    struct sk_err err;

    sk_buf_reset(out);
    sk_err_init(&err);
    return net_masq_list(netns_fd, out, &err);
}

START_TEST(table_is_applied_kept_repaired_and_removed)
{
    struct net_masq_config c = config();
    struct sk_buf b = SK_BUF_INIT;
    struct net_masq *m;
    struct sk_err err;
    uint64_t syncs, drifts;

    if (!unit_enter_private_netns("table_is_applied_kept_repaired_and_removed"))
        return;
    OK(net_masq_new(&m, -1, &c, &err));
    ck_assert_int_eq(table_state(-1, &b), -ENOENT); /* no kernel call before a sync */
    sk_err_init(&err);
    ck_assert_int_eq(net_masq_sync(m, &err), 1);
    ck_assert_int_eq(table_state(-1, &b), 0);
    ck_assert_ptr_nonnull(strstr(b.data, "masquerade fully-random"));
    ck_assert_ptr_nonnull(strstr(b.data, "oifname != \"skiff0\""));
    ck_assert_int_eq(net_masq_sync(m, &err), 0);
    /* Another owner's commit moves the generation: ours is compared and
     * found intact, and their table is left alone. */
    raw_nft(-1, "add table ip someone-else\n");
    ck_assert_int_eq(net_masq_sync(m, &err), 0);
    /* Deleted, then edited behind our back: put back whole. */
    raw_nft(-1, "delete table ip skiff-nat\n");
    ck_assert_int_eq(net_masq_sync(m, &err), 2);
    ck_assert_int_eq(table_state(-1, &b), 0);
    raw_nft(-1, "add rule ip skiff-nat postrouting counter accept\n");
    ck_assert_int_eq(net_masq_sync(m, &err), 2);
    ck_assert_int_eq(table_state(-1, &b), 0);
    ck_assert_ptr_null(strstr(b.data, "accept\n"));
    net_masq_counts(m, &syncs, &drifts);
    ck_assert_uint_eq(syncs, 3);
    ck_assert_uint_eq(drifts, 2);
    /* free keeps the table; remove deletes only ours, twice is fine */
    net_masq_free(m);
    ck_assert_int_eq(table_state(-1, &b), 0);
    OK(net_masq_remove(-1, &err));
    OK(net_masq_remove(-1, &err));
    ck_assert_int_eq(table_state(-1, &b), -ENOENT);
    raw_nft(-1, "list table ip someone-else\n");
    sk_buf_release(&b);
}
END_TEST

/* A socket made inside netns_fd. */
struct sock_job {
    int type;
    int fd;
};

static int
sock_fn(void *arg, struct sk_err *err)
{
    struct sock_job *job = arg;

    job->fd = socket(AF_INET, job->type | SOCK_CLOEXEC, 0);
    return job->fd < 0 ? sk_err_sys(err, errno, "socket") : 0;
}

static int
socket_in(int netns_fd, int type)
{
    struct sock_job job = {type, -1};
    struct sk_err err;

    OK(net_netns_run(netns_fd, sock_fn, &job, &err));
    return job.fd;
}

/* Connect from netns src to a listener made in netns dst on addr:8080;
 * the address the listener sees, formatted into out. */
static const char *
peer_seen(int src, int dst, const char *addr, char *out, size_t size)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(8080)}, peer;
    socklen_t len = sizeof(peer);
    int lfd = socket_in(dst, SOCK_STREAM), cfd = socket_in(src, SOCK_STREAM | SOCK_NONBLOCK);
    int one = 1, afd, e = 0;
    struct pollfd pfd = {.fd = cfd, .events = POLLOUT};

    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    ck_assert_int_eq(inet_pton(AF_INET, addr, &sa.sin_addr), 1);
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(lfd, 4), 0);
    if (connect(cfd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        ck_assert_int_eq(errno, EINPROGRESS);
    ck_assert_msg(poll(&pfd, 1, 3000) == 1, "connect to %s: no answer in 3 s", addr);
    len = sizeof(e);
    getsockopt(cfd, SOL_SOCKET, SO_ERROR, &e, &len);
    ck_assert_msg(e == 0, "connect to %s: %s", addr, strerror(e));
    len = sizeof(peer);
    afd = accept4(lfd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
    ck_assert_int_ge(afd, 0);
    inet_ntop(AF_INET, &peer.sin_addr, out, (socklen_t)size);
    close(afd);
    close(cfd);
    close(lfd);
    return out;
}

static void
link_pair(struct nl_sock *a, const char *name, int b_netns, struct nl_sock *b, const char *a_addr,
          const char *b_addr)
{
    struct net_cidr ca = cidr(a_addr), cb = cidr(b_addr);
    struct sk_err err;

    OK(nl_link_add_veth(a, name, name, b_netns, &err));
    OK(nl_addr_add(a, name, &ca, NULL, 0, &err));
    OK(nl_addr_add(b, name, &cb, NULL, 0, &err));
    OK(nl_link_set_up(a, name, true, &err));
    OK(nl_link_set_up(b, name, true, &err));
    OK(nl_link_set_up(b, "lo", true, &err));
}

struct node {
    int netns;
    struct nl_sock *nl;
    struct ipam ipam;
    char *path;
};

static void
node_init(struct node *n, const char *podcidr)
{
    static int count;
    struct net_cidr pool = cidr(podcidr), cluster = cidr("10.244.0.0/16");
    struct sk_err err;

    n->netns = unit_make_netns();
    n->path = sk_asprintf("%s/ipam-%d-%d", unit_tmpdir(), (int)getpid(), count++);
    OK(nl_sock_open_netns(&n->nl, n->netns, &err));
    OK(ipam_init(&n->ipam, n->path, &pool, &err));
    OK(net_sysctl_set(n->netns, "net.ipv4.ip_forward", "1", &err));
    OK(nl_link_set_up(n->nl, "lo", true, &err));
    OK(net_bridge_ensure(n->nl, NET_BRIDGE_DEFAULT, &pool, &err));
    OK(net_route_unreachable_add(n->nl, &cluster, &err));
}

static void
node_release(struct node *n)
{
    nl_sock_free(n->nl);
    ipam_release(&n->ipam);
    free(n->path);
    close(n->netns);
}

static void
route(struct nl_sock *nl, const char *dst, const char *gw)
{
    struct nl_route r = {.dst = cidr(dst), .type = NL_ROUTE_UNICAST};
    struct sk_err err;

    ck_assert_int_eq(net_ip_parse(gw, &r.gw, NULL), 0);
    OK(nl_route_add(nl, &r, NL_F_REPLACE, &err));
}

/* Node a (podCIDR 10.244.1.0/24) and node b (10.244.2.0/24) share a
 * wire (192.168.77.0/24) with host-gw routes; an outside host hangs off
 * node a (198.51.100.0/24) and routes the cluster network back to it, so
 * that without masquerade it would see (and answer) pod addresses. */
START_TEST(egress_leaves_with_the_node_address_pod_to_pod_keeps_the_pod_address)
{
    struct net_masq_config c = config();
    struct net_pod_result ra, rb;
    struct net_pod_spec sa = {.pod_id = "a/p1"}, sb = {.pod_id = "b/p1"};
    struct node a, b;
    struct nl_sock *onl;
    struct net_masq *m;
    struct sk_err err;
    char pa[NET_IP_STRLEN], pb[NET_IP_STRLEN], seen[64];
    int outside, pod_a, pod_b;

    if (!unit_enter_private_netns("egress_leaves_with_the_node_address"))
        return;
    node_init(&a, "10.244.1.0/24");
    node_init(&b, "10.244.2.0/24");
    outside = unit_make_netns();
    OK(nl_sock_open_netns(&onl, outside, &err));
    link_pair(a.nl, "eth1", b.netns, b.nl, "192.168.77.1/24", "192.168.77.2/24");
    link_pair(a.nl, "eth2", outside, onl, "198.51.100.1/24", "198.51.100.2/24");
    route(a.nl, "10.244.2.0/24", "192.168.77.2");
    route(b.nl, "10.244.1.0/24", "192.168.77.1");
    route(onl, "10.244.0.0/16", "198.51.100.1");
    sa.netns_fd = pod_a = unit_make_netns();
    sb.netns_fd = pod_b = unit_make_netns();
    OK(net_pod_setup(a.nl, &a.ipam, &sa, &ra, &err));
    OK(net_pod_setup(b.nl, &b.ipam, &sb, &rb, &err));
    net_ip_format(&ra.addr.ip, pa, sizeof(pa));
    net_ip_format(&rb.addr.ip, pb, sizeof(pb));

    /* Without the table the outside host sees the pod. */
    ck_assert_str_eq(peer_seen(pod_a, outside, "198.51.100.2", seen, sizeof(seen)), pa);
    OK(net_masq_new(&m, a.netns, &c, &err));
    sk_err_init(&err);
    ck_assert_int_eq(net_masq_sync(m, &err), 1);
    /* With it: the node's address on the way out; pod to pod across
     * nodes keeps the pod address both ways; a node address outside the
     * cluster network is egress too. */
    ck_assert_str_eq(peer_seen(pod_a, outside, "198.51.100.2", seen, sizeof(seen)), "198.51.100.1");
    ck_assert_str_eq(peer_seen(pod_a, pod_b, pb, seen, sizeof(seen)), pa);
    ck_assert_str_eq(peer_seen(pod_b, pod_a, pa, seen, sizeof(seen)), pb);
    ck_assert_str_eq(peer_seen(pod_a, b.netns, "192.168.77.2", seen, sizeof(seen)), "192.168.77.1");
    /* The node's own traffic is not the pods': it keeps its address. */
    ck_assert_str_eq(peer_seen(a.netns, outside, "198.51.100.2", seen, sizeof(seen)),
                     "198.51.100.1");
    /* Counters moved with that traffic; the listing compared after a
     * foreign commit leaves them out, so the table is still intact. */
    raw_nft(a.netns, "add table ip someone-else\n");
    sk_err_init(&err);
    ck_assert_int_eq(net_masq_sync(m, &err), 0);
    /* Removed: pods are seen as themselves again. */
    OK(net_masq_remove(a.netns, &err));
    ck_assert_str_eq(peer_seen(pod_a, outside, "198.51.100.2", seen, sizeof(seen)), pa);
    net_masq_free(m);
    nl_sock_free(onl);
    close(outside);
    close(pod_a);
    close(pod_b);
    node_release(&a);
    node_release(&b);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("masq");
    TCase *tr = tcase_create("render"), *tk = tcase_create("kernel");

    tcase_add_test(tr, render_masquerades_cluster_sources_leaving_the_cluster);
    tcase_add_test(tr, render_without_service_network_or_with_host_bits);
    tcase_add_loop_test(tr, render_refuses_bad_configs, 0,
                        (int)(sizeof(bad_configs) / sizeof(bad_configs[0])));
    suite_add_tcase(s, tr);
    tcase_set_timeout(tk, 30);
    tcase_add_test(tk, table_is_applied_kept_repaired_and_removed);
    tcase_add_test(tk, egress_leaves_with_the_node_address_pod_to_pod_keeps_the_pod_address);
    suite_add_tcase(s, tk);
    return unit_main(s);
}
