/* bench/proxy: the service proxy's sync time and the cost of a
 * connection through it.
 *
 *     bench/proxy [--quick] [--services S ...]
 *
 * Needs root. Runs in a private network namespace of this process (and
 * one more for the "pod" of the connection test), so the host's
 * nftables ruleset is never touched and everything vanishes on exit.
 *
 * For S services of 10 endpoints each (default 1,000 and 10,000;
 * --quick: 1,000 only): the first sync (a full table in one libnftables
 * transaction), then the median of 9 syncs that each move one endpoint
 * of one service (an incremental netlink batch, net/proxy_diff.c), and
 * the render of the full script alone. Prints "result proxy
 * sync_full_ms_s<S>", "sync_one_ms_s<S>", "render_ms_s<S>",
 * "sync_one_cpu_ms_s<S>" (the mean CPU time, user and system, of those
 * 9 syncs), and
 * "sync_{full,one}_kernel_ms_s<S>": the part of those syncs spent in
 * the kernel's transaction (send to answer; an endpoint is a map
 * element, so the one-endpoint change validates no chain, see
 * net/proxy_rules.c); for S = 1000 also "sync_ms_1000svc". The moved
 * endpoint's Endpoints object is a new object and all others are the
 * same objects in the same order, as the agent's informer hands them
 * over (net_proxy_sync).
 *
 * Connection set-up: a TCP listener in a pod netns behind a veth, and
 * 1,000 connects (SYN to established) from this netns to it through a
 * ClusterIP (DNAT by the proxy's table of 1,000 services) and directly
 * to the pod IP, interleaved; "connect_ratio_vs_direct" is the ratio of
 * the medians. kube-proxy (the anchor) is not installable here,
 * so there is no same-run peer figure. */
#include "lib/buf.h"
#include "net/net.h"
#include "net/proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* CPU time of this process, user and system (the kernel's transaction
 * runs in the sending thread): less sensitive to a loaded machine than
 * wall time. */
static double
cpu_ms(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static double
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Service i: clusterIP 10.96.x.y, port 80 -> 8080 on 10 endpoints in
 * 10.128.0.0/9; shift moves the first endpoint of the last service, the
 * last in name order too (and gives that Endpoints object a new
 * resourceVersion, as the API server would): its map is the one the
 * kernel's search by name (a walk of the table's sets) reaches last. */
static void
make_world(int s, int shift, json_t **svcs, json_t **eps)
{
    int i, j;

    *svcs = json_array();
    *eps = json_array();
    for (i = 0; i < s; i++) {
        char name[32], cip[32], ip[32];
        json_t *addrs = json_array();

        snprintf(name, sizeof(name), "svc%d", i);
        snprintf(cip, sizeof(cip), "10.96.%d.%d", (i + 1) / 256, (i + 1) % 256);
        json_array_append_new(
            *svcs, json_pack("{s:{s:s,s:s,s:s},s:{s:s,s:[{s:s,s:i,s:i}]}}", "metadata", "namespace",
                             "bench", "name", name, "resourceVersion", "1", "spec", "clusterIP",
                             cip, "ports", "name", "http", "port", 80, "targetPort", 8080));
        for (j = 0; j < 10; j++) {
            int n = i * 10 + j + (i == s - 1 && j == 0 ? shift : 0);

            snprintf(ip, sizeof(ip), "10.%d.%d.%d", 128 + n / 65536, n / 256 % 256, n % 256);
            json_array_append_new(addrs, json_pack("{s:s,s:s}", "ip", ip, "nodeName", "n1"));
        }
        json_array_append_new(*eps,
                              json_pack("{s:{s:s,s:s,s:s},s:[{s:o,s:[{s:s,s:i}]}]}", "metadata",
                                        "namespace", "bench", "name", name, "resourceVersion",
                                        i == s - 1 && shift ? "2" : "1", "subsets", "addresses",
                                        addrs, "ports", "name", "http", "port", 8080));
    }
}

/* As the agent's informer hands them over: the same objects for those
 * that did not change (only the last service's Endpoints differ), in the same
 * order (net_proxy_sync's contract: a changed object is a new one). */
static void
share_unchanged(const json_t *eps, json_t **eps2)
{
    json_t *out = json_array();
    size_t i;

    for (i = 0; i < json_array_size(eps); i++)
        json_array_append(out, json_array_get(i + 1 < json_array_size(eps) ? eps : *eps2, i));
    json_decref(*eps2);
    *eps2 = out;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double
median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return v[n / 2];
}

#define N_ONE 9

static int
bench_one(int s)
{
    struct net_proxy_node node = {"n1", NULL, 0, {{0}, 0}, 0, {{0}, 0}};
    json_t *svcs, *eps, *eps2;
    struct net_proxy *p;
    struct sk_buf b = SK_BUF_INIT;
    struct sk_err err;
    double t0, c0, full, full_k, one[N_ONE], one_k[N_ONE], one_cpu, render;
    struct net_proxy_metrics m;
    int i;

    sk_err_init(&err);
    net_cidr_parse("10.128.0.0/9", false, &node.cluster_cidr, NULL);
    make_world(s, 7777, &svcs, &eps2);
    json_decref(svcs);
    make_world(s, 0, &svcs, &eps);
    share_unchanged(eps, &eps2);
    if (net_proxy_new(&p, -1, &node, &err) < 0)
        goto out_fail;
    t0 = now_ms();
    if (net_proxy_render(svcs, eps, &node, &b, NULL, &err) < 0)
        goto out_fail;
    render = now_ms() - t0;
    t0 = now_ms();
    if (net_proxy_sync(p, svcs, eps, &err) < 0)
        goto out_fail;
    full = now_ms() - t0;
    net_proxy_metrics_get(p, &m);
    full_k = m.last_commit_ns / 1e6;
    /* Move the last service's first endpoint back and forth. */
    c0 = cpu_ms();
    for (i = 0; i < N_ONE; i++) {
        t0 = now_ms();
        if (net_proxy_sync(p, svcs, i % 2 ? eps : eps2, &err) != 1)
            goto out_fail;
        one[i] = now_ms() - t0;
        net_proxy_metrics_get(p, &m);
        one_k[i] = m.last_commit_ns / 1e6;
    }
    one_cpu = (cpu_ms() - c0) / N_ONE;
    printf("# %d services x 10 endpoints: script %zu bytes\n", s, b.len);
    if (getenv("BENCH_PROXY_DUMP")) {
        FILE *f = fopen(getenv("BENCH_PROXY_DUMP"), "w");

        if (f) {
            fputs(b.data, f);
            fclose(f);
        }
    }
    printf("result proxy render_ms_s%d %.1f ms\n", s, render);
    printf("result proxy sync_full_ms_s%d %.1f ms\n", s, full);
    printf("result proxy sync_one_ms_s%d %.1f ms\n", s, median(one, N_ONE));
    printf("result proxy sync_full_kernel_ms_s%d %.1f ms\n", s, full_k);
    printf("result proxy sync_one_kernel_ms_s%d %.1f ms\n", s, median(one_k, N_ONE));
    printf("result proxy sync_one_cpu_ms_s%d %.2f ms\n", s, one_cpu);
    if (s == 1000)
        printf("result proxy sync_ms_1000svc %.1f ms\n", full);
    fflush(stdout);
    net_proxy_remove(p, &err);
    net_proxy_free(p);
    sk_buf_release(&b);
    json_decref(svcs);
    json_decref(eps);
    json_decref(eps2);
    return 0;
out_fail:
    fprintf(stderr, "bench/proxy: %s\n", err.msg[0] ? err.msg : "sync applied nothing");
    return 1;
}

/* ---- connection set-up through a ClusterIP ---- */

#define POD_IP  "10.244.1.2"
#define NODE_IP "10.244.1.1"
#define SVC_IP  "10.96.200.1"
#define N_CONN  1000

static int
listen_fn(void *arg, struct sk_err *err)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(8080)};
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return sk_err_sys(err, errno, "socket");
    inet_pton(AF_INET, POD_IP, &sa.sin_addr);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 512) < 0) {
        sk_err_sys(err, errno, "listen on %s:8080", POD_IP);
        close(fd);
        return -1;
    }
    *(int *)arg = fd;
    return 0;
}

/* The pod: netns pod_fd with eth0 POD_IP/24 (peer veth0 NODE_IP here),
 * default route via the node, and a forked acceptor. */
static int
setup_pod(int pod_fd, pid_t *srv, struct sk_err *err)
{
    struct nl_route r = {0};
    struct nl_sock *nl = NULL, *pnl = NULL;
    struct net_cidr a;
    int lfd = -1, rc;

    if ((rc = nl_sock_open(&nl, err)) < 0 || (rc = nl_sock_open_netns(&pnl, pod_fd, err)) < 0)
        goto out;
    net_cidr_parse(NODE_IP "/24", true, &a, NULL);
    if ((rc = nl_link_set_up(nl, "lo", true, err)) < 0 ||
        (rc = nl_link_add_veth(nl, "veth0", "eth0", pod_fd, err)) < 0 ||
        (rc = nl_addr_add(nl, "veth0", &a, NULL, 0, err)) < 0 ||
        (rc = nl_link_set_up(nl, "veth0", true, err)) < 0)
        goto out;
    /* The service CIDR via the pod link, so a connect() to a ClusterIP
     * reaches the output hook. */
    net_cidr_parse("10.96.0.0/12", false, &r.dst, NULL);
    sk_strlcpy(r.dev, "veth0", sizeof(r.dev));
    if ((rc = nl_route_add(nl, &r, 0, err)) < 0)
        goto out;
    net_cidr_parse(POD_IP "/24", true, &a, NULL);
    memset(&r, 0, sizeof(r));
    r.dst.ip.family = AF_INET; /* prefix 0: the default route */
    net_ip_parse(NODE_IP, &r.gw, NULL);
    if ((rc = nl_link_set_up(pnl, "lo", true, err)) < 0 ||
        (rc = nl_addr_add(pnl, "eth0", &a, NULL, 0, err)) < 0 ||
        (rc = nl_link_set_up(pnl, "eth0", true, err)) < 0 ||
        (rc = nl_route_add(pnl, &r, 0, err)) < 0 ||
        (rc = net_netns_run(pod_fd, listen_fn, &lfd, err)) < 0)
        goto out;
    *srv = fork();
    if (*srv == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        for (;;) {
            int c = accept(lfd, NULL, NULL);

            if (c >= 0)
                close(c);
        }
    }
    rc = *srv < 0 ? sk_err_sys(err, errno, "fork") : 0;
out:
    if (lfd >= 0)
        close(lfd);
    nl_sock_free(nl);
    nl_sock_free(pnl);
    return rc;
}

/* One blocking connect to ip:port, SYN to established, in ms. */
static double
connect_ms(const char *ip, unsigned port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), rc;
    struct linger lg = {1, 0};
    double t0;

    inet_pton(AF_INET, ip, &sa.sin_addr);
    t0 = now_ms();
    rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    t0 = now_ms() - t0;
    /* A reset rather than a FIN: no TIME_WAIT piling up. */
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);
    return rc == 0 ? t0 : -1;
}

static int
bench_connect(void)
{
    struct net_proxy_node node = {"n1", NULL, 0, {{0}, 0}, 0, {{0}, 0}};
    static double via[N_CONN], direct[N_CONN];
    int self = -1, pod = -1, i, rc = 1;
    json_t *svcs = NULL, *eps = NULL;
    struct net_proxy *p = NULL;
    struct sk_err err;
    pid_t srv = -1;
    double mv, md;

    sk_err_init(&err);
    /* A netns held by pod only: enter a new one, come back. */
    self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (self < 0 || unshare(CLONE_NEWNET) < 0 ||
        (pod = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) < 0 ||
        setns(self, CLONE_NEWNET) < 0) {
        fprintf(stderr, "bench/proxy: pod netns: %s\n", strerror(errno));
        goto out;
    }
    if (setup_pod(pod, &srv, &err) < 0)
        goto out_err;
    make_world(1000, 0, &svcs, &eps);
    json_array_append_new(svcs, json_pack("{s:{s:s,s:s},s:{s:s,s:[{s:i}]}}", "metadata",
                                          "namespace", "bench", "name", "echo", "spec", "clusterIP",
                                          SVC_IP, "ports", "port", 80));
    json_array_append_new(eps, json_pack("{s:{s:s,s:s},s:[{s:[{s:s}],s:[{s:i}]}]}", "metadata",
                                         "namespace", "bench", "name", "echo", "subsets",
                                         "addresses", "ip", POD_IP, "ports", "port", 8080));
    net_cidr_parse("10.128.0.0/9", false, &node.cluster_cidr, NULL);
    if (net_proxy_new(&p, -1, &node, &err) < 0 || net_proxy_sync(p, svcs, eps, &err) < 0)
        goto out_err;
    for (i = 0; i < N_CONN; i++) {
        via[i] = connect_ms(SVC_IP, 80);
        direct[i] = connect_ms(POD_IP, 8080);
        if (via[i] < 0 || direct[i] < 0) {
            fprintf(stderr, "bench/proxy: connect %d failed (%s)\n", i, strerror(errno));
            goto out;
        }
    }
    mv = median(via, N_CONN);
    md = median(direct, N_CONN);
    printf("# %d TCP connects each, medians: via ClusterIP %.4f ms, direct %.4f ms\n", N_CONN, mv,
           md);
    printf("result proxy connect_clusterip_ms %.4f ms\n", mv);
    printf("result proxy connect_direct_ms %.4f ms\n", md);
    printf("result proxy connect_ratio_vs_direct %.3f x\n", mv / md);
    rc = 0;
    goto out;
out_err:
    fprintf(stderr, "bench/proxy: %s\n", err.msg);
out:
    if (p) {
        net_proxy_remove(p, &err);
        net_proxy_free(p);
    }
    if (srv > 0) {
        kill(srv, SIGKILL);
        waitpid(srv, NULL, 0);
    }
    json_decref(svcs);
    json_decref(eps);
    if (self >= 0)
        close(self);
    if (pod >= 0)
        close(pod);
    return rc;
}

int
main(int argc, char **argv)
{
    int sizes[8] = {1000, 10000}, n = 2, i, rc = 0;
    bool custom = false;

    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) {
            sizes[0] = 1000;
            n = 1;
        } else if (!strcmp(argv[i], "--services") && i + 1 < argc && n < 8) {
            if (!custom)
                n = 0;
            custom = true;
            sizes[n++] = atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: %s [--quick] [--services S ...]\n", argv[0]);
            return 2;
        }
    }
    if (unshare(CLONE_NEWNET) < 0) {
        fprintf(stderr, "bench/proxy: unshare(CLONE_NEWNET): %s (needs root)\n", strerror(errno));
        return 1;
    }
    for (i = 0; i < n && rc == 0; i++)
        rc = bench_one(sizes[i]);
    if (rc == 0)
        rc = bench_connect();
    return rc;
}
