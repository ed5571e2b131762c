/* net/podnet.c: pod networks on a simulated node, and two simulated
 * nodes routing to each other's pods (host-gw).
 *
 * Root only. Each test moves its own forked test process into a new
 * network namespace first (unshare), and every "node" and "pod" netns
 * is held by an fd of that process only, so the host network is never
 * touched and everything disappears when the process exits, also when a
 * check fails half-way. Pings use busybox; TCP checks use sockets made
 * inside the pod namespaces (a socket keeps the netns it was created
 * in). */
#include "lib/alloc.h"
#include "lib/buf.h"
#include "net/net.h"
#include "unit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
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

static struct net_ip
ip(const char *s)
{
    struct net_ip a;

    ck_assert_int_eq(net_ip_parse(s, &a, NULL), 0);
    return a;
}

static const char *
fmt_ip(const struct net_ip *a)
{
    static char buf[4][NET_IP_STRLEN];
    static int i;

    return net_ip_format(a, buf[i++ % 4], NET_IP_STRLEN);
}

/* busybox ping from inside netns_fd; returns its exit status, its
 * output in out. */
static int
ping_from(int netns_fd, const char *dst, char *out, size_t size)
{
    int pipefd[2], status;
    size_t len;
    ssize_t n;
    pid_t pid;

    ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (setns(netns_fd, CLONE_NEWNET) < 0)
            _exit(126);
        dup2(pipefd[1], 1);
        dup2(pipefd[1], 2);
        execlp("busybox", "busybox", "ping", "-c", "1", "-W", "2", dst, (char *)NULL);
        _exit(127);
    }
    close(pipefd[1]);
    len = 0;
    while (len + 1 < size && (n = read(pipefd[0], out + len, size - 1 - len)) > 0)
        len += (size_t)n;
    out[len] = '\0';
    close(pipefd[0]);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) != 127, "busybox not found");
    return WEXITSTATUS(status);
}

static void
assert_ping(int netns_fd, const struct net_ip *dst)
{
    char out[512];

    ck_assert_msg(ping_from(netns_fd, fmt_ip(dst), out, sizeof(out)) == 0, "ping %s: %s",
                  fmt_ip(dst), out);
}

/* A socket of type made inside netns_fd. */
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

/* Connect from pod src to dst:port; returns 0 or the errno, within
 * 3 s. */
static int
tcp_connect(int src_netns, const struct net_ip *dst, int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct pollfd pfd;
    socklen_t len = sizeof(int);
    int fd = socket_in(src_netns, SOCK_STREAM | SOCK_NONBLOCK), e = 0;

    memcpy(&sa.sin_addr, dst->a, 4);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
        e = errno;
        goto out;
    }
    pfd.fd = fd;
    pfd.events = POLLOUT;
    if (poll(&pfd, 1, 3000) != 1) {
        e = ETIMEDOUT;
        goto out;
    }
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len);
out:
    close(fd);
    return e;
}

/* A TCP round trip from pod src to a listener in pod dst. */
static void
assert_tcp(int src_netns, int dst_netns, const struct net_ip *dst)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(8080)};
    int lfd = socket_in(dst_netns, SOCK_STREAM), one = 1, e, afd;

    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memcpy(&sa.sin_addr, dst->a, 4);
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(lfd, 4), 0);
    e = tcp_connect(src_netns, dst, 8080);
    ck_assert_msg(e == 0, "tcp to %s: %s", fmt_ip(dst), strerror(e));
    afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    ck_assert_int_ge(afd, 0);
    close(afd);
    close(lfd);
}

/* ---- one node ---- */

struct node {
    int netns; /* -1: the test process's own */
    struct nl_sock *nl;
    struct ipam ipam;
    struct net_cidr podcidr;
    char *ipam_path;
};

static void
node_init(struct node *n, int netns, const char *podcidr)
{
    static int count;
    struct sk_err err;

    n->netns = netns;
    n->podcidr = cidr(podcidr);
    n->ipam_path = sk_asprintf("%s/ipam-%d-%d", unit_tmpdir(), (int)getpid(), count++);
    OK(nl_sock_open_netns(&n->nl, netns, &err));
    OK(ipam_init(&n->ipam, n->ipam_path, &n->podcidr, &err));
    OK(net_sysctl_set(netns, "net.ipv4.ip_forward", "1", &err));
    OK(net_host_check(netns, &err));
    OK(net_bridge_ensure(n->nl, NET_BRIDGE_DEFAULT, &n->podcidr, &err));
}

static void
node_release(struct node *n)
{
    nl_sock_free(n->nl);
    ipam_release(&n->ipam);
    free(n->ipam_path);
}

static void
pod_setup(struct node *n, const char *id, int netns, struct net_pod_result *res)
{
    struct net_pod_spec spec = {.pod_id = id, .netns_fd = netns};
    struct sk_err err;

    OK(net_pod_setup(n->nl, &n->ipam, &spec, res, &err));
}

/* Links, IPv4 addresses and routes of a netns as text, for before and
 * after (IPv6 link-local addresses appear asynchronously, after DAD,
 * and would make the comparison racy). */
static char *
snapshot(struct nl_sock *nl)
{
    char a[NET_CIDR_STRLEN], b[NET_IP_STRLEN];
    struct sk_buf out = SK_BUF_INIT;
    struct nl_link *l;
    struct nl_addr *ad;
    struct nl_route *r;
    struct sk_err err;
    size_t n, i;

    OK(nl_link_dump(nl, &l, &n, &err));
    for (i = 0; i < n; i++)
        sk_buf_printf(&out, "link %s %s master=%d\n", l[i].name, l[i].kind, l[i].master);
    free(l);
    OK(nl_addr_dump(nl, AF_INET, &ad, &n, &err));
    for (i = 0; i < n; i++)
        sk_buf_printf(&out, "addr %d %s\n", ad[i].ifindex, net_cidr_format(&ad[i].local, a, 50));
    free(ad);
    OK(nl_route_dump(nl, AF_INET, &r, &n, &err));
    for (i = 0; i < n; i++)
        sk_buf_printf(&out, "route t%u %d %s via %s dev %d proto %u\n", r[i].table, r[i].type,
                      net_cidr_format(&r[i].dst, a, sizeof(a)),
                      r[i].gw.family ? net_ip_format(&r[i].gw, b, sizeof(b)) : "-", r[i].ifindex,
                      r[i].protocol);
    free(r);
    return sk_buf_detach(&out, NULL);
}

static bool
link_exists(struct nl_sock *nl, const char *name)
{
    struct nl_link l;

    return nl_link_get(nl, name, &l, NULL) == 0;
}

static size_t
ipam_count(struct ipam *ipam)
{
    struct ipam_entry *e;
    struct sk_err err;
    size_t n;

    OK(ipam_list(ipam, &e, &n, &err));
    ipam_entries_free(e, n);
    return n;
}

START_TEST(host_check_names_what_to_change)
{
    struct sk_err err;

    if (!unit_enter_private_netns("host_check_names_what_to_change"))
        return;
    sk_err_init(&err);
    ck_assert_int_eq(net_host_check(-1, &err), -EOPNOTSUPP);
    ck_assert_msg(strstr(err.msg, "net.ipv4.ip_forward = 0") &&
                      strstr(err.msg, "sysctl -w net.ipv4.ip_forward=1"),
                  "%s", err.msg);
    OK(net_sysctl_set(-1, "net.ipv4.ip_forward", "1", &err));
    OK(net_host_check(-1, &err));
}
END_TEST

START_TEST(two_pods_on_one_node_reach_each_other_and_the_gateway)
{
    struct net_pod_result ra, rb, again;
    struct nl_sock *pod;
    struct nl_link eth0;
    struct net_ip gw;
    struct node n;
    struct sk_err err;
    char *before, *after, buf[64];
    int pa, pb;

    if (!unit_enter_private_netns("two_pods_on_one_node_reach_each_other_and_the_gateway"))
        return;
    node_init(&n, -1, "10.244.1.0/24");
    /* the bridge is idempotent too */
    OK(net_bridge_ensure(n.nl, NET_BRIDGE_DEFAULT, &n.podcidr, &err));
    before = snapshot(n.nl);
    pa = unit_make_netns();
    pb = unit_make_netns();
    pod_setup(&n, "default/a", pa, &ra);
    /* by path, as the runtime will pass it */
    snprintf(buf, sizeof(buf), "/proc/%d/fd/%d", (int)getpid(), pb);
    {
        struct net_pod_spec spec = {.pod_id = "default/b", .netns_path = buf, .netns_fd = -1};

        OK(net_pod_setup(n.nl, &n.ipam, &spec, &rb, &err));
    }
    ck_assert_str_eq(net_cidr_format(&ra.addr, buf, sizeof(buf)), "10.244.1.2/24");
    ck_assert_str_eq(fmt_ip(&rb.addr.ip), "10.244.1.3");
    ck_assert_str_eq(fmt_ip(&ra.gateway), "10.244.1.1");
    net_pod_ifname("default/a", buf);
    ck_assert_str_eq(ra.host_if, buf);
    /* inside: eth0 up with the derived MAC, no temporary name left */
    OK(nl_sock_open_netns(&pod, pa, &err));
    OK(nl_link_get(pod, "eth0", &eth0, &err));
    ck_assert(eth0.flags & IFF_UP);
    ck_assert_uint_eq(eth0.mac[0], 0x0a);
    ck_assert_uint_eq(eth0.mac[5], 2);
    ck_assert_uint_eq(eth0.mtu, 1500);
    nl_sock_free(pod);
    OK(net_sysctl_get(pa, "net.ipv4.ip_unprivileged_port_start", buf, sizeof(buf), &err));
    ck_assert_str_eq(buf, "0");
    gw = ipam_gateway(&n.ipam);
    assert_ping(pa, &rb.addr.ip);
    assert_ping(pb, &ra.addr.ip);
    assert_ping(pa, &gw);
    assert_tcp(pa, pb, &rb.addr.ip);
    /* a re-run finds everything in place and changes nothing */
    pod_setup(&n, "default/a", pa, &again);
    ck_assert(net_ip_equal(&again.addr.ip, &ra.addr.ip));
    assert_ping(pb, &ra.addr.ip);
    /* teardown removes the veth (both ends) and releases the address */
    OK(net_pod_teardown(n.nl, &n.ipam, "default/a", &err));
    OK(net_pod_teardown(n.nl, &n.ipam, "default/a", &err)); /* idempotent */
    OK(net_pod_teardown(n.nl, &n.ipam, "default/b", &err));
    ck_assert(!link_exists(n.nl, ra.host_if));
    OK(nl_sock_open_netns(&pod, pa, &err));
    ck_assert(!link_exists(pod, "eth0"));
    nl_sock_free(pod);
    ck_assert_uint_eq(ipam_count(&n.ipam), 0);
    after = snapshot(n.nl);
    ck_assert_str_eq(after, before);
    free(before);
    free(after);
    close(pa);
    close(pb);
    node_release(&n);
}
END_TEST

START_TEST(setup_interrupted_before_rename_is_completed_by_a_rerun)
{
    char host[IF_NAMESIZE], tmp[IF_NAMESIZE];
    struct net_pod_result r;
    struct nl_sock *pod;
    struct node n;
    struct sk_err err;
    int pa, pb;

    if (!unit_enter_private_netns("setup_interrupted_before_rename_is_completed_by_a_rerun"))
        return;
    node_init(&n, -1, "10.244.1.0/24");
    pa = unit_make_netns();
    pb = unit_make_netns();
    /* what a crash right after creating the veth leaves behind: the
     * pair, the peer under its temporary name, no alias yet */
    net_pod_ifname("ns/crashed", host);
    snprintf(tmp, sizeof(tmp), "skp%s", host + 3);
    OK(nl_link_add_veth(n.nl, host, tmp, pa, &err));
    pod_setup(&n, "ns/crashed", pa, &r);
    OK(nl_sock_open_netns(&pod, pa, &err));
    ck_assert(link_exists(pod, "eth0"));
    ck_assert(!link_exists(pod, tmp));
    nl_sock_free(pod);
    pod_setup(&n, "ns/other", pb, NULL);
    assert_ping(pb, &r.addr.ip);
    close(pa);
    close(pb);
    node_release(&n);
}
END_TEST

START_TEST(setup_interrupted_before_the_alias_is_completed_by_a_rerun)
{
    char host[IF_NAMESIZE];
    struct net_pod_result r;
    struct nl_link link;
    struct node n;
    struct sk_err err;
    int pa, pb;

    if (!unit_enter_private_netns("setup_interrupted_before_the_alias_is_completed_by_a_rerun"))
        return;
    node_init(&n, -1, "10.244.1.0/24");
    pa = unit_make_netns();
    pb = unit_make_netns();
    /* what a crash right after creating the veth leaves behind: the
     * pair with eth0 in the pod netns, no alias, no master, down */
    net_pod_ifname("ns/crashed", host);
    OK(nl_link_add_veth(n.nl, host, "eth0", pa, &err));
    pod_setup(&n, "ns/crashed", pa, &r);
    OK(nl_link_get(n.nl, host, &link, &err));
    ck_assert_str_eq(link.alias, "ns/crashed");
    ck_assert_int_eq(link.master, nl_link_index(n.nl, NET_BRIDGE_DEFAULT, NULL));
    ck_assert(link.flags & IFF_UP);
    pod_setup(&n, "ns/other", pb, NULL);
    assert_ping(pb, &r.addr.ip);
    close(pa);
    close(pb);
    node_release(&n);
}
END_TEST

START_TEST(new_sandbox_and_stale_eth0_are_replaced)
{
    char host[IF_NAMESIZE];
    struct net_pod_result r1, r2;
    struct nl_sock *pod;
    struct node n;
    struct sk_err err;
    int old, fresh, other;

    if (!unit_enter_private_netns("new_sandbox_and_stale_eth0_are_replaced"))
        return;
    node_init(&n, -1, "10.244.1.0/24");
    old = unit_make_netns();
    fresh = unit_make_netns();
    other = unit_make_netns();
    /* the pod's sandbox is recreated: same pod id, new netns */
    pod_setup(&n, "ns/re", old, &r1);
    pod_setup(&n, "ns/re", fresh, &r2);
    ck_assert(net_ip_equal(&r1.addr.ip, &r2.addr.ip));
    OK(nl_sock_open_netns(&pod, old, &err));
    ck_assert(!link_exists(pod, "eth0"));
    nl_sock_free(pod);
    pod_setup(&n, "ns/other", other, NULL);
    assert_ping(other, &r2.addr.ip);
    /* an eth0 in the pod netns paired with something else is replaced */
    OK(nl_link_add_veth(n.nl, "junk0", "eth0", old, &err));
    pod_setup(&n, "ns/stale", old, NULL);
    ck_assert(!link_exists(n.nl, "junk0"));
    net_pod_ifname("ns/stale", host);
    ck_assert(link_exists(n.nl, host));
    close(old);
    close(fresh);
    close(other);
    node_release(&n);
}
END_TEST

START_TEST(failed_setup_leaves_nothing_behind)
{
    static const char *const bad_sysctls[] = {"net.ipv4.no_such_key=1", NULL};
    char host[IF_NAMESIZE], *before, *after;
    struct net_pod_spec spec = {.netns_fd = -1};
    struct node n;
    struct sk_err err;
    int pa;

    if (!unit_enter_private_netns("failed_setup_leaves_nothing_behind"))
        return;
    node_init(&n, -1, "10.244.1.0/24");
    pa = unit_make_netns();
    before = snapshot(n.nl);
    /* a sysctl that cannot be set: rolled back, address released */
    spec.pod_id = "ns/bad-sysctl";
    spec.netns_fd = pa;
    spec.sysctls = bad_sysctls;
    sk_err_init(&err);
    ck_assert_int_lt(net_pod_setup(n.nl, &n.ipam, &spec, NULL, &err), 0);
    ck_assert_msg(strstr(err.msg, "pod 'ns/bad-sysctl': network setup: sysctl "
                                  "'net.ipv4.no_such_key'"),
                  "%s", err.msg);
    /* a netns that vanished */
    spec.pod_id = "ns/gone";
    spec.netns_fd = -1;
    spec.sysctls = NULL;
    spec.netns_path = "/run/netns/skiff-test-does-not-exist";
    sk_err_init(&err);
    ck_assert_int_eq(net_pod_setup(n.nl, &n.ipam, &spec, NULL, &err), -ENOENT);
    ck_assert_str_eq(err.msg, "pod 'ns/gone': network setup: network namespace "
                              "'/run/netns/skiff-test-does-not-exist': No such file or directory");
    /* a link with the pod's veth name that is not the pod's */
    spec.pod_id = "ns/clash";
    spec.netns_path = NULL;
    spec.netns_fd = pa;
    net_pod_ifname("ns/clash", host);
    OK(nl_link_add_bridge(n.nl, host, &err));
    sk_err_init(&err);
    ck_assert_int_eq(net_pod_setup(n.nl, &n.ipam, &spec, NULL, &err), -EEXIST);
    ck_assert_msg(strstr(err.msg, "exists and belongs to someone else"), "%s", err.msg);
    ck_assert(link_exists(n.nl, host)); /* not ours: left alone */
    OK(net_pod_teardown(n.nl, &n.ipam, "ns/clash", &err));
    ck_assert(link_exists(n.nl, host));
    OK(nl_link_del(n.nl, host, &err));
    ck_assert_uint_eq(ipam_count(&n.ipam), 0);
    after = snapshot(n.nl);
    ck_assert_str_eq(after, before);
    free(before);
    free(after);
    close(pa);
    node_release(&n);
}
END_TEST

START_TEST(exhausted_pool_fails_cleanly)
{
    struct node n;
    struct net_pod_spec spec = {.pod_id = "p2", .netns_fd = -1};
    char host[IF_NAMESIZE];
    struct sk_err err;
    int pa, pb;

    if (!unit_enter_private_netns("exhausted_pool_fails_cleanly"))
        return;
    node_init(&n, -1, "10.244.1.0/30"); /* one usable address: .2 */
    pa = unit_make_netns();
    pb = unit_make_netns();
    pod_setup(&n, "p1", pa, NULL);
    spec.netns_fd = pb;
    sk_err_init(&err);
    ck_assert_int_eq(net_pod_setup(n.nl, &n.ipam, &spec, NULL, &err), -ENOSPC);
    ck_assert_str_eq(err.msg, "pod 'p2': network setup: pod cidr 10.244.1.0/30 is exhausted "
                              "(1 addresses in use)");
    net_pod_ifname("p2", host);
    ck_assert(!link_exists(n.nl, host));
    ck_assert_uint_eq(ipam_count(&n.ipam), 1);
    close(pa);
    close(pb);
    node_release(&n);
}
END_TEST

/* ---- two nodes ---- */

START_TEST(pods_on_two_nodes_reach_each_other_via_host_gw_routes)
{
    static const char *const ids[4] = {"a/p1", "a/p2", "b/p1", "b/p2"};
    struct net_pod_result res[4];
    struct net_cidr wa = cidr("192.168.77.1/24"), wb = cidr("192.168.77.2/24");
    struct net_cidr cluster = cidr("10.244.0.0/16"), svc = cidr("10.96.0.0/12");
    struct node na, nb;
    struct sk_err err;
    char *before_a, *before_b, *after, out[512];
    int fa, fb, pods[4], i, j, e;
    struct timespec t0, t1;
    struct net_ip nobody = ip("10.244.9.9");

    if (!unit_enter_private_netns("pods_on_two_nodes_reach_each_other_via_host_gw_routes"))
        return;
    fa = unit_make_netns();
    fb = unit_make_netns();
    node_init(&na, fa, "10.244.1.0/24");
    node_init(&nb, fb, "10.244.2.0/24");
    /* the wire between the nodes: eth1 in each */
    OK(nl_link_add_veth(na.nl, "eth1", "eth1", fb, &err));
    OK(nl_addr_add(na.nl, "eth1", &wa, NULL, 0, &err));
    OK(nl_addr_add(nb.nl, "eth1", &wb, NULL, 0, &err));
    OK(nl_link_set_up(na.nl, "eth1", true, &err));
    OK(nl_link_set_up(nb.nl, "eth1", true, &err));
    OK(nl_link_set_up(na.nl, "lo", true, &err));
    OK(nl_link_set_up(nb.nl, "lo", true, &err));
    OK(net_route_peer_add(na.nl, &nb.podcidr, &wb.ip, &err));
    OK(net_route_peer_add(nb.nl, &na.podcidr, &wa.ip, &err));
    OK(net_route_peer_add(na.nl, &nb.podcidr, &wb.ip, &err)); /* idempotent */
    OK(net_route_unreachable_add(na.nl, &cluster, &err));
    OK(net_route_unreachable_add(na.nl, &svc, &err));
    OK(net_route_unreachable_add(nb.nl, &cluster, &err));
    OK(net_route_unreachable_add(nb.nl, &svc, &err));
    OK(net_route_unreachable_add(nb.nl, &svc, &err));
    before_a = snapshot(na.nl);
    before_b = snapshot(nb.nl);
    for (i = 0; i < 4; i++) {
        pods[i] = unit_make_netns();
        pod_setup(i < 2 ? &na : &nb, ids[i], pods[i], &res[i]);
    }
    for (i = 0; i < 4; i++) {
        for (j = 0; j < 4; j++) {
            if (i != j)
                assert_ping(pods[i], &res[j].addr.ip);
        }
    }
    assert_tcp(pods[0], pods[3], &res[3].addr.ip);
    assert_tcp(pods[2], pods[1], &res[1].addr.ip);
    /* nobody owns 10.244.9.9: the node's unreachable route answers at
     * once with an ICMP host unreachable */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    e = tcp_connect(pods[0], &nobody, 80);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ck_assert_msg(e == EHOSTUNREACH, "connect to 10.244.9.9: %s", strerror(e));
    ck_assert_int_lt(t1.tv_sec - t0.tv_sec, 10); /* a lost SYN would wait ~2 min */
    /* and on the node itself the route refuses before anything is sent */
    ck_assert_int_ne(ping_from(fa, "10.96.0.10", out, sizeof(out)), 0);
    ck_assert_msg(strstr(out, "unreachable") || strstr(out, "No route to host"), "%s", out);
    for (i = 0; i < 4; i++)
        OK(net_pod_teardown(i < 2 ? na.nl : nb.nl, i < 2 ? &na.ipam : &nb.ipam, ids[i], &err));
    after = snapshot(na.nl);
    ck_assert_str_eq(after, before_a);
    free(after);
    after = snapshot(nb.nl);
    ck_assert_str_eq(after, before_b);
    free(after);
    /* node routes go away too, and only skiff's */
    OK(net_route_peer_del(na.nl, &nb.podcidr, &err));
    OK(net_route_peer_del(na.nl, &nb.podcidr, &err));
    OK(net_route_unreachable_del(na.nl, &cluster, &err));
    OK(net_route_unreachable_del(na.nl, &svc, &err));
    OK(net_route_unreachable_del(na.nl, &svc, &err));
    after = snapshot(na.nl);
    ck_assert_msg(!strstr(after, "proto 201"), "%s", after);
    free(after);
    free(before_a);
    free(before_b);
    for (i = 0; i < 4; i++)
        close(pods[i]);
    node_release(&na);
    node_release(&nb);
    close(fa);
    close(fb);
}
END_TEST

/* A pod whose netns dies takes its veth pair with it; the wait says
 * when, and names a pod whose netns something still holds. */
START_TEST(veth_goes_with_the_pod_netns_and_the_wait_is_bounded)
{
    static const char *const ids[3] = {"ns/x1", "ns/x2", "ns/held"};
    struct net_pod_result res[3];
    struct node n;
    struct sk_err err;
    struct timespec t0, t1;
    char *before, *after;
    int pods[3], i, rc;

    if (!unit_enter_private_netns("veth_goes_with_the_pod_netns_and_the_wait_is_bounded"))
        return;
    node_init(&n, -1, "10.244.1.0/24");
    before = snapshot(n.nl);
    for (i = 0; i < 3; i++) {
        pods[i] = unit_make_netns();
        pod_setup(&n, ids[i], pods[i], &res[i]);
    }
    /* x1 and x2 die (their only reference was the fd); held lives on */
    close(pods[0]);
    close(pods[1]);
    OK(net_pod_wait_gone(n.nl, ids, 2, 20000, &err));
    ck_assert(!link_exists(n.nl, res[0].host_if));
    ck_assert(!link_exists(n.nl, res[1].host_if));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    sk_err_init(&err);
    rc = net_pod_wait_gone(n.nl, ids, 3, 50, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ck_assert_int_eq(rc, -ETIMEDOUT);
    ck_assert_msg(strstr(err.msg, "pod 'ns/held': host link still there after 50 ms (1 of 3"), "%s",
                  err.msg);
    ck_assert_int_lt(t1.tv_sec - t0.tv_sec, 2);
    ck_assert(link_exists(n.nl, res[2].host_if));
    /* nothing to wait for: at once */
    OK(net_pod_wait_gone(n.nl, ids, 0, 0, &err));
    for (i = 0; i < 3; i++)
        OK(net_pod_teardown(n.nl, &n.ipam, ids[i], &err));
    close(pods[2]);
    ck_assert_uint_eq(ipam_count(&n.ipam), 0);
    after = snapshot(n.nl);
    ck_assert_str_eq(after, before);
    free(before);
    free(after);
    node_release(&n);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("podnet");
    TCase *tc = tcase_create("lab");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, host_check_names_what_to_change);
    tcase_add_test(tc, two_pods_on_one_node_reach_each_other_and_the_gateway);
    tcase_add_test(tc, setup_interrupted_before_rename_is_completed_by_a_rerun);
    tcase_add_test(tc, setup_interrupted_before_the_alias_is_completed_by_a_rerun);
    tcase_add_test(tc, new_sandbox_and_stale_eth0_are_replaced);
    tcase_add_test(tc, failed_setup_leaves_nothing_behind);
    tcase_add_test(tc, exhausted_pool_fails_cleanly);
    tcase_add_test(tc, pods_on_two_nodes_reach_each_other_via_host_gw_routes);
    tcase_add_test(tc, veth_goes_with_the_pod_netns_and_the_wait_is_bounded);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
