/* net/proxy.c: programming the proxy table with libnftables, and
 * connections through it.
 *
 * Root only. Each test first moves its own forked test process into a
 * new network namespace (unshare), so the host's network and firewall
 * are never touched and everything the test made disappears with the
 * process, also when a check fails half-way. Endpoint servers are forked
 * children bound to addresses on that namespace's loopback; they die
 * with the test process (PR_SET_PDEATHSIG). Every wait is bounded. */
#include "lib/buf.h"
#include "net/net.h"
#include "net/proxy.h"
#include "unit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <nftables/libnftables.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define OK(call)                                                                                   \
    do {                                                                                           \
        sk_err_init(&err);                                                                         \
        ck_assert_msg((call) >= 0, "%s: %s", #call, err.msg);                                      \
    } while (0)

static json_t *
js(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);

    ck_assert_msg(v != NULL, "bad test json: %s: %s", je.text, text);
    return v;
}

static struct net_ip node_ip[1];

static struct net_proxy_node
node(void)
{
    struct net_proxy_node n = {"n1", node_ip, 1, {{0}, 0}, 0, {{0}, 0}};

    ck_assert_int_eq(net_ip_parse("192.168.77.1", &node_ip[0], NULL), 0);
    ck_assert_int_eq(net_cidr_parse("10.244.0.0/16", false, &n.cluster_cidr, NULL), 0);
    return n;
}

static void sync_json(struct net_proxy *p, const char *svcs, const char *eps);
static char *sorted_listing(int ns);

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Run an nft script in netns fd with libnftables, as an outsider would
 * (another owner's table, or someone editing ours). */
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

#define SVCS_WEB(extra)                                                                            \
    "[{\"metadata\":{\"name\":\"web\"},\"spec\":{\"clusterIP\":\"10.96.0.10\","                    \
    "\"type\":\"NodePort\"," extra "\"ports\":[{\"port\":80,\"nodePort\":30080}]}}]"
#define EPS_WEB_2                                                                                  \
    "[{\"metadata\":{\"name\":\"web\"},\"subsets\":[{\"addresses\":[{\"ip\":\"10.244.1.2\"},"      \
    "{\"ip\":\"10.244.1.3\"}],\"ports\":[{\"port\":8080}]}]}]"
#define EPS_WEB_1                                                                                  \
    "[{\"metadata\":{\"name\":\"web\"},\"subsets\":[{\"addresses\":[{\"ip\":\"10.244.1.2\"}],"     \
    "\"ports\":[{\"port\":8080}]}]}]"

START_TEST(table_is_applied_read_back_updated_and_removed)
{
    struct net_proxy_node n = node();
    json_t *svcs = js(SVCS_WEB("")), *eps2 = js(EPS_WEB_2), *eps1 = js(EPS_WEB_1);
    struct net_proxy_metrics m;
    struct net_proxy *p;
    struct sk_buf list = SK_BUF_INIT, again = SK_BUF_INIT;
    struct sk_err err;
    int ns;

    if (!unit_enter_private_netns("table_is_applied_read_back_updated_and_removed"))
        return;
    ns = unit_make_netns();
    /* Another owner's table, and a stale one of ours from a crash. */
    raw_nft(ns, "table ip other { chain keep { type filter hook input priority 0; }; }\n"
                "table ip skiff-proxy { chain stale { }; }\n");
    OK(net_proxy_new(&p, ns, &n, &err));
    /* Until the first sync, what was there keeps serving. */
    OK(net_proxy_list(ns, &list, &err));
    ck_assert_ptr_nonnull(strstr(list.data, "chain stale"));
    sk_buf_reset(&list);

    OK(net_proxy_sync(p, svcs, eps2, &err));
    ck_assert_int_eq(err.code, 0);
    OK(net_proxy_list(ns, &list, &err));
    /* The endpoints are data: slices of a random number in a map. */
    ck_assert_ptr_nonnull(strstr(list.data, "map eps-default/web/tcp/80 {"));
    ck_assert_ptr_nonnull(
        strstr(list.data, "0-32767 : 10.244.1.2 . 8080, 32768-65535 : 10.244.1.3 . 8080"));
    ck_assert_ptr_nonnull(strstr(list.data, "meta l4proto tcp dnat ip to numgen random mod 65536 "
                                            "map @eps-default/web/tcp/80"));
    ck_assert_ptr_nonnull(strstr(list.data, "10.244.1.3 . 10.244.1.3")); /* hairpin */
    ck_assert_ptr_null(strstr(list.data, "stale"));

    /* Unchanged input: nothing applied. */
    sk_err_init(&err);
    ck_assert_int_eq(net_proxy_sync(p, svcs, eps2, &err), 0);
    net_proxy_metrics_get(p, &m);
    ck_assert_uint_eq(m.syncs, 1);
    ck_assert_uint_eq(m.syncs_skipped, 1);
    ck_assert_uint_gt(m.rules, 10);
    ck_assert_uint_gt(m.last_sync_ns, 0);
    /* Another owner commits to its own table: ours is compared, found
     * intact and left alone. */
    raw_nft(ns, "add chain ip other more\n");
    sk_err_init(&err);
    ck_assert_int_eq(net_proxy_sync(p, svcs, eps2, &err), 0);
    net_proxy_metrics_get(p, &m);
    ck_assert_uint_eq(m.syncs_skipped, 2);
    ck_assert_uint_eq(m.drift_repairs, 0);

    /* An endpoint goes: one transaction replaces the table. */
    sk_err_init(&err);
    ck_assert_int_eq(net_proxy_sync(p, svcs, eps1, &err), 1);
    sk_buf_reset(&list);
    OK(net_proxy_list(ns, &list, &err));
    ck_assert_ptr_null(strstr(list.data, "10.244.1.3"));
    ck_assert_ptr_nonnull(strstr(list.data, "0-65535 : 10.244.1.2 . 8080"));

    /* Drift: someone deletes a chain's rule; the next sync repairs it. */
    raw_nft(ns, "flush chain ip skiff-proxy services\n");
    sk_err_init(&err);
    ck_assert_int_eq(net_proxy_sync(p, svcs, eps1, &err), 1);
    net_proxy_metrics_get(p, &m);
    ck_assert_uint_eq(m.drift_repairs, 1);
    ck_assert_uint_eq(m.syncs, 3);
    sk_buf_reset(&list);
    OK(net_proxy_list(ns, &list, &err));
    ck_assert_ptr_nonnull(strstr(list.data, "vmap @service-ips"));
    /* ... and deleted entirely. */
    raw_nft(ns, "delete table ip skiff-proxy\n");
    sk_err_init(&err);
    ck_assert_int_eq(net_proxy_sync(p, svcs, eps1, &err), 1);

    /* A restart: the rules stay, and the new proxy's first sync (a full
     * resync) leaves the same table. */
    sk_buf_reset(&list);
    OK(net_proxy_list(ns, &list, &err));
    net_proxy_free(p);
    OK(net_proxy_new(&p, ns, &n, &err));
    sk_buf_reset(&again);
    OK(net_proxy_list(ns, &again, &err));
    ck_assert_str_eq(again.data, list.data);
    sk_err_init(&err);
    ck_assert_int_eq(net_proxy_sync(p, svcs, eps1, &err), 1);
    sk_buf_reset(&again);
    OK(net_proxy_list(ns, &again, &err));
    ck_assert_str_eq(again.data, list.data);

    OK(net_proxy_remove(p, &err));
    sk_err_init(&err);
    ck_assert_int_eq(net_proxy_list(ns, &list, &err), -ENOENT);
    OK(net_proxy_remove(p, &err)); /* idempotent */
    /* The other owner's table was never touched. */
    raw_nft(ns, "list chain ip other keep\n");
    net_proxy_free(p);
    sk_buf_release(&list);
    sk_buf_release(&again);
    json_decref(svcs);
    json_decref(eps1);
    json_decref(eps2);
    close(ns);
}
END_TEST

/* A random world: services s0..s3, each maybe NodePort (Local or
 * Cluster), maybe with affinity, TCP or UDP, 0-3 endpoints out of a
 * pool of 5 addresses, some on this node. */
static void
random_world(unsigned *seed, struct sk_buf *svcs, struct sk_buf *eps)
{
    int i, j;

    sk_buf_puts(svcs, "[");
    sk_buf_puts(eps, "[");
    for (i = 0; i < 4; i++) {
        unsigned r = (unsigned)rand_r(seed);
        bool np = r & 1, local = r & 2, aff = r & 4, udp = r & 8;
        int n = (int)((r >> 4) % 4);

        if (r & 0x100)
            continue; /* this service is absent */
        sk_buf_printf(svcs,
                      "%s{\"metadata\":{\"name\":\"s%d\"},\"spec\":{\"clusterIP\":"
                      "\"10.96.0.%d\",%s%s%s\"ports\":[{\"port\":80,\"protocol\":\"%s\"",
                      svcs->len > 1 ? "," : "", i, 10 + i, np ? "\"type\":\"NodePort\"," : "",
                      np && local ? "\"externalTrafficPolicy\":\"Local\"," : "",
                      aff ? "\"sessionAffinity\":\"ClientIP\"," : "", udp ? "UDP" : "TCP");
        if (np)
            sk_buf_printf(svcs, ",\"nodePort\":%d", 30080 + i);
        sk_buf_puts(svcs, "}]}}");
        sk_buf_printf(eps, "%s{\"metadata\":{\"name\":\"s%d\"},\"subsets\":[{\"addresses\":[",
                      eps->len > 1 ? "," : "", i);
        for (j = 0; j < n; j++) {
            int a = (int)(((r >> 8) + (unsigned)j * 3) % 5);

            sk_buf_printf(eps, "%s{\"ip\":\"10.244.1.%d\"%s}", j ? "," : "", 2 + a,
                          a % 2 ? ",\"nodeName\":\"n1\"" : "");
        }
        sk_buf_printf(eps, "],\"ports\":[{\"port\":8080,\"protocol\":\"%s\"}]}]}",
                      udp ? "UDP" : "TCP");
    }
    sk_buf_puts(svcs, "]");
    sk_buf_puts(eps, "]");
}

/* Random transitions: after each, the table changed by netlink batches
 * lists exactly like one written whole by libnftables. */
START_TEST(random_incremental_syncs_match_full_syncs)
{
    struct net_proxy_node n = node();
    struct net_proxy_metrics m;
    struct net_proxy *inc;
    unsigned seed = getenv("PROXY_SEED") ? (unsigned)atoi(getenv("PROXY_SEED")) : 42;
    struct sk_err err;
    int ns, i;

    if (!unit_enter_private_netns("random_incremental_syncs_match_full_syncs"))
        return;
    ns = unit_make_netns();
    OK(net_proxy_new(&inc, ns, &n, &err));
    for (i = 0; i < 16; i++) {
        struct sk_buf svcs = SK_BUF_INIT, eps = SK_BUF_INIT;
        int fresh_ns = unit_make_netns();
        struct net_proxy *full;
        char *a, *b;

        random_world(&seed, &svcs, &eps);
        sync_json(inc, svcs.data, eps.data);
        OK(net_proxy_new(&full, fresh_ns, &n, &err));
        sync_json(full, svcs.data, eps.data);
        a = sorted_listing(ns);
        b = sorted_listing(fresh_ns);
        ck_assert_msg(strcmp(a, b) == 0, "step %d (%s %s):\nincremental:\n%s\nfull:\n%s", i,
                      svcs.data, eps.data, a, b);
        free(a);
        free(b);
        net_proxy_free(full);
        close(fresh_ns);
        sk_buf_release(&svcs);
        sk_buf_release(&eps);
    }
    net_proxy_metrics_get(inc, &m);
    ck_assert_uint_ge(m.syncs_incremental, 8);
    net_proxy_free(inc);
    close(ns);
}
END_TEST

/* After an incremental sync there is no baseline listing (taking one is
 * O(table)): an unchanged sync trusts the generation id, and a foreign
 * commit then costs a full replace instead of a listing. */
START_TEST(foreign_commit_after_incremental_sync_replaces_the_table)
{
    struct net_proxy_node n = node();
    json_t *svcs = js(SVCS_WEB("")), *eps2 = js(EPS_WEB_2), *eps1 = js(EPS_WEB_1);
    struct net_proxy_metrics m;
    struct net_proxy *p;
    struct sk_err err;
    int ns;

    if (!unit_enter_private_netns("foreign_commit_after_incremental_sync_replaces_the_table"))
        return;
    ns = unit_make_netns();
    raw_nft(ns, "table ip other { chain keep { type filter hook input priority 0; }; }\n");
    OK(net_proxy_new(&p, ns, &n, &err));
    OK(net_proxy_sync(p, svcs, eps2, &err));
    ck_assert_int_eq(net_proxy_sync(p, svcs, eps1, &err), 1);
    ck_assert_int_eq(net_proxy_sync(p, svcs, eps1, &err), 0);
    raw_nft(ns, "add chain ip other more\n");
    ck_assert_int_eq(net_proxy_sync(p, svcs, eps1, &err), 1);
    net_proxy_metrics_get(p, &m);
    ck_assert_uint_eq(m.syncs_incremental, 1);
    ck_assert_uint_eq(m.syncs_skipped, 1);
    ck_assert_uint_eq(m.drift_repairs, 1);
    /* That replace took a baseline again: the next foreign commit is
     * compared and found harmless. */
    ck_assert_int_eq(net_proxy_sync(p, svcs, eps1, &err), 0);
    raw_nft(ns, "add chain ip other more2\n");
    ck_assert_int_eq(net_proxy_sync(p, svcs, eps1, &err), 0);
    net_proxy_metrics_get(p, &m);
    ck_assert_uint_eq(m.drift_repairs, 1);
    net_proxy_free(p);
    json_decref(svcs);
    json_decref(eps1);
    json_decref(eps2);
    close(ns);
}
END_TEST

/* The listing's lines sorted: chains created by an incremental sync are
 * listed in creation order, so only the content can be compared. */
static char *
sorted_listing(int ns)
{
    struct sk_buf list = SK_BUF_INIT, out = SK_BUF_INIT;
    struct sk_err err;
    char **line = NULL, *save = NULL, *l;
    size_t n = 0, i;

    OK(net_proxy_list(ns, &list, &err));
    for (l = strtok_r(list.data, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        line = realloc(line, (n + 1) * sizeof(*line));
        line[n++] = l;
    }
    qsort(line, n, sizeof(*line), cmp_str);
    for (i = 0; i < n; i++)
        sk_buf_printf(&out, "%s\n", line[i]);
    free(line);
    sk_buf_release(&list);
    return sk_buf_detach(&out, NULL);
}

static const char *const states[][2] = {
    {SVCS_WEB(""), EPS_WEB_2},
    {"[{\"metadata\":{\"name\":\"web\"},\"spec\":{\"clusterIP\":\"10.96.0.10\",\"ports\":"
     "[{\"port\":80}]}},{\"metadata\":{\"name\":\"db\"},\"spec\":{\"clusterIP\":\"10.96.0.20\","
     "\"ports\":[{\"port\":5432}]}}]",
     EPS_WEB_1},
    {"[{\"metadata\":{\"name\":\"web\"},\"spec\":{\"clusterIP\":\"10.96.0.10\",\"type\":"
     "\"NodePort\",\"externalTrafficPolicy\":\"Local\",\"sessionAffinity\":\"ClientIP\","
     "\"ports\":[{\"port\":80,\"nodePort\":30080}]}},{\"metadata\":{\"name\":\"db\"},\"spec\":"
     "{\"clusterIP\":\"10.96.0.20\",\"ports\":[{\"port\":5432}]}}]",
     "[{\"metadata\":{\"name\":\"web\"},\"subsets\":[{\"addresses\":[{\"ip\":\"10.244.1.2\","
     "\"nodeName\":\"n1\"},{\"ip\":\"10.244.1.3\",\"nodeName\":\"n1\"},{\"ip\":\"10.244.2.3\"}],"
     "\"ports\":[{\"port\":8080}]}]},{\"metadata\":{\"name\":\"db\"},\"subsets\":[{\"addresses\":"
     "[{\"ip\":\"10.244.1.9\"}],\"ports\":[{\"port\":5432}]}]}]"},
    {SVCS_WEB("\"sessionAffinity\":\"ClientIP\","), EPS_WEB_2},
    {"[]", "[]"},
    {SVCS_WEB(""), EPS_WEB_2},
};

START_TEST(incremental_syncs_leave_the_same_table_as_a_full_sync)
{
    struct net_proxy_node n = node();
    struct net_proxy_metrics m;
    struct net_proxy *inc;
    struct sk_err err;
    size_t i;
    int ns;

    if (!unit_enter_private_netns("incremental_syncs_leave_the_same_table_as_a_full_sync"))
        return;
    ns = unit_make_netns();
    OK(net_proxy_new(&inc, ns, &n, &err));
    for (i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
        int fresh_ns = unit_make_netns();
        struct net_proxy *full;
        char *a, *b;

        sync_json(inc, states[i][0], states[i][1]);
        OK(net_proxy_new(&full, fresh_ns, &n, &err));
        sync_json(full, states[i][0], states[i][1]);
        a = sorted_listing(ns);
        b = sorted_listing(fresh_ns);
        ck_assert_msg(strcmp(a, b) == 0, "state %zu:\nincremental:\n%s\nfull:\n%s", i, a, b);
        free(a);
        free(b);
        net_proxy_free(full);
        close(fresh_ns);
    }
    net_proxy_metrics_get(inc, &m);
    ck_assert_uint_eq(m.syncs, 6);
    ck_assert_uint_eq(m.syncs_incremental, 5);
    net_proxy_free(inc);
    close(ns);
}
END_TEST

START_TEST(malformed_input_leaves_the_applied_table)
{
    struct net_proxy_node n = node();
    json_t *svcs = js(SVCS_WEB("")), *eps = js(EPS_WEB_2);
    json_t *bad = js("[{\"metadata\":{\"name\":\"web\"},\"spec\":{\"clusterIP\":\"x\"}}]");
    struct net_proxy_metrics m;
    struct net_proxy *p;
    struct sk_buf list = SK_BUF_INIT;
    struct sk_err err;

    if (!unit_enter_private_netns("malformed_input_leaves_the_applied_table"))
        return;
    OK(net_proxy_new(&p, -1, &n, &err));
    OK(net_proxy_sync(p, svcs, eps, &err));
    sk_err_init(&err);
    ck_assert_int_eq(net_proxy_sync(p, bad, eps, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "proxy sync: service 'default/web': spec.clusterIP: 'x' is not an "
                              "IPv4 address");
    net_proxy_metrics_get(p, &m);
    ck_assert_uint_eq(m.sync_errors, 1);
    OK(net_proxy_list(-1, &list, &err));
    ck_assert_ptr_nonnull(strstr(list.data, "32768-65535 : 10.244.1.3 . 8080"));
    net_proxy_free(p);
    sk_buf_release(&list);
    json_decref(svcs);
    json_decref(eps);
    json_decref(bad);
}
END_TEST

/* ---- traffic ---- */

static struct sockaddr_in
sin_of(const char *ip, unsigned port)
{
    struct sockaddr_in sa = {0};

    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    ck_assert_int_eq(inet_pton(AF_INET, ip, &sa.sin_addr), 1);
    return sa;
}

/* A forked TCP server on ip:port that answers each connection with the
 * byte id. The socket listens before fork, so no wait is needed. */
static pid_t
serve(const char *ip, unsigned port, char id)
{
    struct sockaddr_in sa = sin_of(ip, port);
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    pid_t pid;

    ck_assert_int_ge(fd, 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(fd, 64), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        for (;;) {
            int c = accept(fd, NULL, NULL);

            if (c < 0)
                continue;
            if (write(c, &id, 1) != 1) {
                /* the client went away; nothing to do */
            }
            close(c);
        }
    }
    close(fd);
    return pid;
}

/* Connect to ip:port within 2 s and read the server's id byte. Returns
 * the byte, or -errno (-ETIMEDOUT when nothing happened in time). */
static int
fetch_id(const char *ip, unsigned port)
{
    struct sockaddr_in sa = sin_of(ip, port);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), rc, soerr = 0;
    struct pollfd pfd = {fd, POLLIN, 0};
    socklen_t len = sizeof(soerr);
    char c;

    ck_assert_int_ge(fd, 0);
    rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    if (rc < 0 && errno != EINPROGRESS) {
        rc = -errno;
        goto out_close;
    }
    /* POLLIN: the id byte, or the error of a refused connection. */
    if (poll(&pfd, 1, 2000) == 0) {
        rc = -ETIMEDOUT;
        goto out_close;
    }
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
    if (soerr) {
        rc = -soerr;
        goto out_close;
    }
    rc = read(fd, &c, 1) == 1 ? c : -EIO;
out_close:
    close(fd);
    return rc;
}

/* The test's own netns as a node: loopback up carrying the node address
 * 192.168.77.1 and the "pod" addresses 10.244.1.2 and .3, a route for
 * the service CIDR (so a connect() to a ClusterIP gets as far as the
 * output hook), and two endpoint servers. */
static void
setup_node(pid_t srv[2])
{
    struct nl_route r = {0};
    struct nl_sock *nl;
    struct net_cidr a;
    struct sk_err err;
    const char *addrs[] = {"192.168.77.1/32", "10.244.1.2/32", "10.244.1.3/32"};
    size_t i;

    OK(nl_sock_open(&nl, &err));
    OK(nl_link_set_up(nl, "lo", true, &err));
    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(net_cidr_parse(addrs[i], true, &a, NULL), 0);
        OK(nl_addr_add(nl, "lo", &a, NULL, 0, &err));
    }
    ck_assert_int_eq(net_cidr_parse("10.96.0.0/12", false, &r.dst, NULL), 0);
    sk_strlcpy(r.dev, "lo", sizeof(r.dev));
    OK(nl_route_add(nl, &r, 0, &err));
    nl_sock_free(nl);
    srv[0] = serve("10.244.1.2", 8080, 'A');
    srv[1] = serve("10.244.1.3", 8080, 'B');
}

static void
stop_servers(pid_t srv[2])
{
    int i;

    for (i = 0; i < 2; i++) {
        kill(srv[i], SIGKILL);
        waitpid(srv[i], NULL, 0);
    }
}

static void
sync_json(struct net_proxy *p, const char *svcs, const char *eps)
{
    json_t *s = js(svcs), *e = js(eps);
    struct sk_err err;

    OK(net_proxy_sync(p, s, e, &err));
    json_decref(s);
    json_decref(e);
}

/* n connections to ip:port; counts[0] for 'A', counts[1] for 'B'. */
static void
count_hits(const char *ip, unsigned port, int n, int counts[2])
{
    int i, id;

    counts[0] = counts[1] = 0;
    for (i = 0; i < n; i++) {
        id = fetch_id(ip, port);
        ck_assert_msg(id == 'A' || id == 'B', "connection %d to %s:%u: %s", i, ip, port,
                      id < 0 ? strerror(-id) : "bad reply");
        counts[id - 'A']++;
    }
}

START_TEST(clusterip_connections_balance_over_both_endpoints)
{
    struct net_proxy_node n = node();
    struct net_proxy *p;
    struct sk_err err;
    int counts[2];
    pid_t srv[2];

    if (!unit_enter_private_netns("clusterip_connections_balance_over_both_endpoints"))
        return;
    setup_node(srv);
    OK(net_proxy_new(&p, -1, &n, &err));
    sync_json(p, SVCS_WEB(""), EPS_WEB_2);
    /* 60 connections all on one side by chance: 2^-59. */
    count_hits("10.96.0.10", 80, 60, counts);
    ck_assert_msg(counts[0] > 0 && counts[1] > 0, "A %d B %d", counts[0], counts[1]);
    /* The NodePort on the node address reaches them too. */
    count_hits("192.168.77.1", 30080, 60, counts);
    ck_assert_msg(counts[0] > 0 && counts[1] > 0, "A %d B %d", counts[0], counts[1]);
    /* One endpoint left: it gets everything. */
    sync_json(p, SVCS_WEB(""), EPS_WEB_1);
    count_hits("10.96.0.10", 80, 20, counts);
    ck_assert_int_eq(counts[0], 20);
    net_proxy_free(p);
    stop_servers(srv);
}
END_TEST

START_TEST(client_ip_affinity_sticks_to_one_endpoint)
{
    struct net_proxy_node n = node();
    struct net_proxy *p;
    struct sk_err err;
    int counts[2], first;
    pid_t srv[2];

    if (!unit_enter_private_netns("client_ip_affinity_sticks_to_one_endpoint"))
        return;
    setup_node(srv);
    OK(net_proxy_new(&p, -1, &n, &err));
    sync_json(p, SVCS_WEB("\"sessionAffinity\":\"ClientIP\","), EPS_WEB_2);
    count_hits("10.96.0.10", 80, 40, counts);
    ck_assert_msg(counts[0] == 40 || counts[1] == 40, "A %d B %d", counts[0], counts[1]);
    first = counts[0] == 40 ? 0 : 1;
    /* Another service changes: this one's affinity entries stay. */
    sync_json(p,
              "[{\"metadata\":{\"name\":\"web\"},\"spec\":{\"clusterIP\":\"10.96.0.10\","
              "\"type\":\"NodePort\",\"sessionAffinity\":\"ClientIP\",\"ports\":[{\"port\":80,"
              "\"nodePort\":30080}]}},{\"metadata\":{\"name\":\"db\"},\"spec\":{\"clusterIP\":"
              "\"10.96.0.20\",\"ports\":[{\"port\":5432}]}}]",
              EPS_WEB_2);
    count_hits("10.96.0.10", 80, 20, counts);
    ck_assert_msg(counts[first] == 20, "affinity lost: A %d B %d", counts[0], counts[1]);
    net_proxy_free(p);
    stop_servers(srv);
}
END_TEST

START_TEST(local_traffic_policy_nodeport_reaches_local_endpoints_only)
{
    struct net_proxy_node n = node();
    struct net_proxy *p;
    struct sk_err err;
    int counts[2];
    pid_t srv[2];

    if (!unit_enter_private_netns("local_traffic_policy_nodeport_reaches_local_endpoints_only"))
        return;
    setup_node(srv);
    OK(net_proxy_new(&p, -1, &n, &err));
    /* A (10.244.1.2) is on this node n1, B on n2. */
    sync_json(p, SVCS_WEB("\"externalTrafficPolicy\":\"Local\","),
              "[{\"metadata\":{\"name\":\"web\"},\"subsets\":[{\"addresses\":[{\"ip\":"
              "\"10.244.1.2\",\"nodeName\":\"n1\"},{\"ip\":\"10.244.1.3\",\"nodeName\":\"n2\"}],"
              "\"ports\":[{\"port\":8080}]}]}]");
    count_hits("192.168.77.1", 30080, 30, counts);
    ck_assert_int_eq(counts[0], 30);
    /* The ClusterIP still balances over both. */
    count_hits("10.96.0.10", 80, 60, counts);
    ck_assert_msg(counts[0] > 0 && counts[1] > 0, "A %d B %d", counts[0], counts[1]);
    net_proxy_free(p);
    stop_servers(srv);
}
END_TEST

START_TEST(service_without_endpoints_refuses_at_once)
{
    struct net_proxy_node n = node();
    struct net_proxy *p;
    struct sk_err err;
    pid_t srv[2];

    if (!unit_enter_private_netns("service_without_endpoints_refuses_at_once"))
        return;
    setup_node(srv);
    OK(net_proxy_new(&p, -1, &n, &err));
    sync_json(p, SVCS_WEB(""), "[]");
    /* A reset, not a 2 s timeout (fetch_id's bound). */
    ck_assert_int_eq(fetch_id("10.96.0.10", 80), -ECONNREFUSED);
    ck_assert_int_eq(fetch_id("192.168.77.1", 30080), -ECONNREFUSED);
    /* Endpoints come back: connections work again. */
    sync_json(p, SVCS_WEB(""), EPS_WEB_1);
    ck_assert_int_eq(fetch_id("10.96.0.10", 80), 'A');
    net_proxy_free(p);
    stop_servers(srv);
}
END_TEST

START_TEST(unallocated_service_ip_is_unreachable_at_once)
{
    struct net_proxy_node n = node();
    struct net_proxy *p;
    struct sk_err err;
    pid_t srv[2];

    if (!unit_enter_private_netns("unallocated_service_ip_is_unreachable_at_once"))
        return;
    setup_node(srv);
    ck_assert_int_eq(net_cidr_parse("10.96.0.0/12", false, &n.service_cidr, NULL), 0);
    OK(net_proxy_new(&p, -1, &n, &err));
    sync_json(p, SVCS_WEB(""), EPS_WEB_1);
    /* The node routes the service CIDR (here through lo): a ClusterIP
     * works from the node itself, an address or port no Service holds
     * fails at once (a reset), as the unreachable route would make it,
     * not after fetch_id's 2 s. */
    ck_assert_int_eq(fetch_id("10.96.0.10", 80), 'A');
    ck_assert_int_eq(fetch_id("10.96.0.99", 80), -ECONNREFUSED);
    ck_assert_int_eq(fetch_id("10.96.0.10", 81), -ECONNREFUSED);
    net_proxy_free(p);
    stop_servers(srv);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("proxy_nft");
    TCase *tc = tcase_create("kernel");

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, table_is_applied_read_back_updated_and_removed);
    tcase_add_test(tc, incremental_syncs_leave_the_same_table_as_a_full_sync);
    tcase_add_test(tc, foreign_commit_after_incremental_sync_replaces_the_table);
    tcase_add_test(tc, random_incremental_syncs_match_full_syncs);
    tcase_add_test(tc, malformed_input_leaves_the_applied_table);
    tcase_add_test(tc, clusterip_connections_balance_over_both_endpoints);
    tcase_add_test(tc, client_ip_affinity_sticks_to_one_endpoint);
    tcase_add_test(tc, local_traffic_policy_nodeport_reaches_local_endpoints_only);
    tcase_add_test(tc, service_without_endpoints_refuses_at_once);
    tcase_add_test(tc, unallocated_service_ip_is_unreachable_at_once);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
