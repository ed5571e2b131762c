/* bench/net: time to set up and tear down one pod network (netns, veth
 * pair, address, routes), N pods one after another and M at once, next
 * to the same steps done by iproute2's `ip` from a bash loop.
 *
 *     bench/net [--quick] [--pods N] [--concurrent M] [--no-ip]
 *               [--ipam-dir DIR]
 *
 * Needs root. Everything happens in a private network and mount
 * namespace of this process (a tmpfs over /run there holds the `ip
 * netns` names), so the host sees nothing and all of it vanishes on exit.
 *
 * What is timed, per pod:
 *
 *  - skiff setup: a new netns (unshare; `ip netns add` on the other
 *    side) and net_pod_setup: address from the allocation file, veth
 *    pair created with eth0 in the netns (its MAC; the host end in the
 *    bridge and up), address, lo and eth0 up, default route, alias,
 *    hairpin, two sysctls. No process is started (the calling thread
 *    enters the netns for its socket, a short thread writes the
 *    sysctls).
 *  - skiff teardown: the pod's netns is dropped (its fd closed, as the
 *    sandbox's last process exiting does) and the address released;
 *    the kernel deletes the veth pair with the netns. The time includes
 *    waiting until every host end is gone (net_pod_wait_gone, bounded),
 *    so nothing is left behind when the clock stops.
 *  - teardown_dellink_ms: the other way, net_pod_teardown's RTM_DELLINK
 *    of the host end while the netns lives (what the agent does today).
 *    unregister_netdevice waits for RCU in synchronize_net and then in
 *    rcu_barrier (netdev_run_todo), once per request: tens of ms on a
 *    loaded machine. A dying netns is cleaned up in a kernel work item
 *    that takes every netns dead by then in one batch (cleanup_net),
 *    paying those waits once per batch.
 *    setup_alone_ms: the setups of that run, with no netns cleanup of
 *    an earlier pod running in the background (it holds rtnl_lock
 *    across RCU waits, which setups queue behind).
 *  - teardown_gone_latency_ms: one pod's netns dropped and waited for
 *    until its host end is gone, before the next pod: the latency of
 *    the kernel's cleanup of one netns, where teardown_ms is the
 *    throughput of pods torn down one after another (the cleanup of one
 *    runs in a kernel worker while the next pod is set up, so part of
 *    its cost lands in setup_ms; the sum is what compares).
 *  - ip: the same pods with `ip netns add`, `ip link add ... type veth
 *    peer name eth0 netns`, `ip -n addr add`, `ip -n link set lo up`,
 *    `ip -n link set eth0 up`, `ip -n route add default`, `ip link set
 *    master up` (7 execs of ip) and `ip netns del` (1 exec), timed with
 *    bash's $EPOCHREALTIME (no process for the clock) and followed by
 *    the same wait until the host ends are gone. One bash runs the whole
 *    sequential loop; M subshells run the concurrent one. With FULL
 *    set (ratio_vs_ip, the concurrent loop) it does skiff's steps: the
 *    MAC at creation, the alias with the master, then `ip link set type
 *    bridge_slave hairpin on` and `ip netns exec sysctl -qw` of the two
 *    sysctls (9 execs); only the address allocation has no counterpart.
 *    Without (ratio_vs_ip_bare) it is the 7-exec loop above.
 *
 * The allocation file goes to DIR (default: the private tmpfs): its two
 * fsync'ed rewrites per pod cost what the disk costs, which the ip loop
 * does not pay; ipam_disk_alloc_release_ms gives that cost on /tmp.
 *
 * Prints "result net <name> <value> <unit>": setup_ms (and of it
 * setup_netns_create_ms, the unshare(CLONE_NEWNET)), teardown_ms,
 * teardown_dellink_ms, concurrent_*, ip_*, setup_ratio_vs_ip (skiff
 * setup / ip setup), ratio_vs_ip (skiff setup + teardown over the ip
 * loop's, sequential), ratio_vs_ip_bare (the same over the bare loop)
 * and concurrent_ratio_vs_ip. */
#include "lib/alloc.h"
#include "lib/buf.h"
#include "net/net.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PODCIDR    "10.244.1.0/24"
#define GONE_BOUND 30000 /* ms a teardown may take until the veths are gone */

struct bench {
    struct ipam ipam;
    const char *dir; /* scratch: scripts, the on-disk allocation file */
};

/* The scratch dir in /tmp, removed at exit also when die() ends the run. */
static char scratch[64];
static pid_t scratch_owner;

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void
remove_scratch(void)
{
    if (scratch[0] && scratch_owner == getpid())
        nftw(scratch, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static double
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void
die(const char *what, const struct sk_err *err)
{
    fprintf(stderr, "bench net: %s: %s\n", what, err ? err->msg : strerror(errno));
    exit(1);
}

/* A new netns for the calling thread's pod, held by the fd only. */
static int
make_netns(void)
{
    int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC), fd;

    if (self < 0 || unshare(CLONE_NEWNET) < 0)
        die("new netns", NULL);
    fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(self, CLONE_NEWNET) < 0)
        die("back to the node netns", NULL);
    close(self);
    return fd;
}

/* ---- skiff ---- */

struct pods {
    struct bench *b;
    int n;
    char (*id)[32];
    const char **ids; /* into id, for net_pod_wait_gone */
    int *fd;
    double netns_ms; /* of which creating the netns (sequential runs only) */
};

static void
pods_init(struct pods *p, struct bench *b, int n, const char *prefix)
{
    p->b = b;
    p->n = n;
    p->id = sk_calloc((size_t)n, sizeof(*p->id));
    p->ids = sk_calloc((size_t)n, sizeof(*p->ids));
    p->fd = sk_calloc((size_t)n, sizeof(*p->fd));
    for (int i = 0; i < n; i++) {
        snprintf(p->id[i], sizeof(p->id[i]), "bench/%s-%d", prefix, i);
        p->ids[i] = p->id[i];
        p->fd[i] = -1;
    }
}

static void
pods_release(struct pods *p)
{
    free(p->id);
    free(p->ids);
    free(p->fd);
}

static double
pod_setup(struct pods *p, int i, struct nl_sock *nl, bool accumulate)
{
    struct net_pod_spec spec = {.pod_id = p->id[i]};
    struct sk_err err;
    double t0 = now_ms();

    sk_err_init(&err);
    p->fd[i] = spec.netns_fd = make_netns();
    if (accumulate)
        p->netns_ms += now_ms() - t0;
    if (net_pod_setup(nl, &p->b->ipam, &spec, NULL, &err) < 0)
        die("setup", &err);
    return now_ms() - t0;
}

/* Drop the pod's netns and free its address; the kernel takes the veth
 * pair (pods_wait_gone). */
static double
pod_release(struct pods *p, int i)
{
    struct sk_err err;
    double t0 = now_ms();

    sk_err_init(&err);
    close(p->fd[i]);
    p->fd[i] = -1;
    if (ipam_release_owner(&p->b->ipam, p->id[i], &err) < 0)
        die("release", &err);
    return now_ms() - t0;
}

static double
pods_wait_gone(struct pods *p, struct nl_sock *nl)
{
    struct sk_err err;
    double t0 = now_ms();

    sk_err_init(&err);
    if (net_pod_wait_gone(nl, p->ids, (size_t)p->n, GONE_BOUND, &err) < 0)
        die("teardown", &err);
    return now_ms() - t0;
}

/* One pod after another: set up, torn down; then wait for the kernel. */
static void
run_sequential(struct bench *b, struct nl_sock *nl, int n, double *setup, double *teardown,
               double *netns)
{
    struct pods p;

    pods_init(&p, b, n, "seq");
    *setup = *teardown = 0;
    for (int i = 0; i < n; i++) {
        *setup += pod_setup(&p, i, nl, true);
        *teardown += pod_release(&p, i);
    }
    *teardown += pods_wait_gone(&p, nl);
    *netns = p.netns_ms;
    pods_release(&p);
}

/* The same with RTM_DELLINK per pod (net_pod_teardown). */
static double
run_dellink(struct bench *b, struct nl_sock *nl, int n, double *setup)
{
    struct pods p;
    struct sk_err err;
    double t0, sum = 0;

    pods_init(&p, b, n, "del");
    sk_err_init(&err);
    *setup = 0;
    for (int i = 0; i < n; i++) {
        *setup += pod_setup(&p, i, nl, false);
        t0 = now_ms();
        if (net_pod_teardown(nl, &b->ipam, p.id[i], &err) < 0)
            die("teardown", &err);
        close(p.fd[i]);
        sum += now_ms() - t0;
    }
    pods_release(&p);
    return sum;
}

/* Latency rather than throughput: drop one pod's netns and wait until
 * its veth is gone before the next pod, k times; mean ms. */
static double
run_gone_latency(struct bench *b, struct nl_sock *nl, int k)
{
    struct pods p;
    double sum = 0;

    pods_init(&p, b, k, "lat");
    for (int i = 0; i < k; i++) {
        pod_setup(&p, i, nl, false);
        sum += pod_release(&p, i);
        sum += pods_wait_gone(&p, nl);
    }
    pods_release(&p);
    return sum / k;
}

/* Nothing may be left on the node but lo and the bridge. */
static void
check_clean(struct nl_sock *nl)
{
    struct nl_link *links;
    struct sk_err err;
    size_t n, i;

    sk_err_init(&err);
    if (nl_link_dump(nl, &links, &n, &err) < 0)
        die("links", &err);
    for (i = 0; i < n; i++) {
        if (strcmp(links[i].name, "lo") != 0 && strcmp(links[i].name, NET_BRIDGE_DEFAULT) != 0) {
            fprintf(stderr, "bench net: link '%s' left behind\n", links[i].name);
            exit(1);
        }
    }
    free(links);
    printf("# left behind: nothing (%zu links: lo, %s)\n", n, NET_BRIDGE_DEFAULT);
}

static pthread_barrier_t barrier;

struct conc_arg {
    struct pods *p;
    int i;
};

/* Each thread: its own netlink socket, setup, wait for all, release. */
static void *
concurrent_pod(void *arg)
{
    struct conc_arg *a = arg;
    struct nl_sock *nl;
    struct sk_err err;

    sk_err_init(&err);
    if (nl_sock_open(&nl, &err) < 0)
        die("netlink socket", &err);
    pthread_barrier_wait(&barrier);
    pod_setup(a->p, a->i, nl, false);
    pthread_barrier_wait(&barrier);
    pthread_barrier_wait(&barrier);
    pod_release(a->p, a->i);
    nl_sock_free(nl);
    return NULL;
}

/* Wall time of m setups at once, and of m teardowns at once (until the
 * last host end is gone). */
static void
run_concurrent(struct bench *b, struct nl_sock *nl, int m, double *setup_wall,
               double *teardown_wall)
{
    struct conc_arg *args = sk_calloc((size_t)m, sizeof(*args));
    pthread_t *tids = sk_calloc((size_t)m, sizeof(*tids));
    struct pods p;
    double t0;
    int i;

    pods_init(&p, b, m, "conc");
    pthread_barrier_init(&barrier, NULL, (unsigned)m + 1);
    for (i = 0; i < m; i++) {
        args[i] = (struct conc_arg){&p, i};
        if (pthread_create(&tids[i], NULL, concurrent_pod, &args[i]) != 0)
            die("thread", NULL);
    }
    pthread_barrier_wait(&barrier);
    t0 = now_ms();
    pthread_barrier_wait(&barrier);
    *setup_wall = now_ms() - t0;
    t0 = now_ms();
    pthread_barrier_wait(&barrier);
    for (i = 0; i < m; i++)
        pthread_join(tids[i], NULL);
    pods_wait_gone(&p, nl);
    *teardown_wall = now_ms() - t0;
    pthread_barrier_destroy(&barrier);
    pods_release(&p);
    free(args);
    free(tids);
}

/* The allocation file alone, on disk: alloc + release, each a locked,
 * fsync'ed rewrite. */
static double
run_ipam_disk(struct bench *b, int n)
{
    struct net_cidr pool;
    struct net_ip addr;
    struct ipam ipam;
    struct sk_err err;
    char *path = sk_asprintf("%s/ipam", b->dir);
    double t0;
    int i;

    sk_err_init(&err);
    net_cidr_parse(PODCIDR, false, &pool, NULL);
    if (ipam_init(&ipam, path, &pool, &err) < 0)
        die("ipam", &err);
    t0 = now_ms();
    for (i = 0; i < n; i++) {
        if (ipam_alloc(&ipam, "bench/ipam", &addr, &err) < 0 ||
            ipam_release_owner(&ipam, "bench/ipam", &err) < 0)
            die("ipam", &err);
    }
    t0 = (now_ms() - t0) / n;
    ipam_release(&ipam);
    free(path);
    return t0;
}

/* ---- the same with ip(8) ---- */

/* One pod's setup and teardown as bash functions; the loops time them
 * with $EPOCHREALTIME (microseconds, a builtin: no process). */
static const char ip_funcs[] =
    "export LC_ALL=C\n"
    "up() {\n"
    "\tlocal mac=\n"
    "\t[ -z \"$FULL\" ] || printf -v mac 'address 0a:58:0a:f4:01:%02x' $((2 + $1 % 250))\n"
    "\tip netns add ipb$1\n"
    "\tip link add ipv$1 type veth peer name eth0 $mac netns ipb$1\n"
    "\tip -n ipb$1 addr add 10.244.1.$((2 + $1 % 250))/24 brd 10.244.1.255 dev eth0\n"
    "\tip -n ipb$1 link set lo up\n"
    "\tip -n ipb$1 link set eth0 up\n"
    "\tip -n ipb$1 route add default via 10.244.1.1\n"
    "\tip link set ipv$1 master " NET_BRIDGE_DEFAULT " ${FULL:+alias ipb$1} up\n"
    "\t[ -z \"$FULL\" ] && return\n"
    "\tip link set ipv$1 type bridge_slave hairpin on\n"
    "\tip netns exec ipb$1 sysctl -qw 'net.ipv4.ping_group_range=0 2147483647' "
    "net.ipv4.ip_unprivileged_port_start=0\n"
    "}\n"
    "down() { ip netns del ipb$1; }\n";

static const char ip_sequential[] =
    "set -e\n"
    "su=0 td=0\n"
    "for i in $(seq 0 $(($1 - 1))); do\n"
    "\tt0=${EPOCHREALTIME/./}; up $i; t1=${EPOCHREALTIME/./}; down $i\n"
    "\tt2=${EPOCHREALTIME/./}\n"
    "\tsu=$((su + t1 - t0)) td=$((td + t2 - t1))\n"
    "done\n"
    "echo $su $td\n";

static const char ip_concurrent[] = "set -e\n"
                                    "t0=${EPOCHREALTIME/./}\n"
                                    "for i in $(seq 0 $(($1 - 1))); do up $i & done; wait\n"
                                    "t1=${EPOCHREALTIME/./}\n"
                                    "for i in $(seq 0 $(($1 - 1))); do down $i & done; wait\n"
                                    "t2=${EPOCHREALTIME/./}\n"
                                    "echo $((t1 - t0)) $((t2 - t1))\n";

/* Run body (after ip_funcs) with bash, $1 = n; its one output line is
 * "SETUP_US TEARDOWN_US". Returns 0 when it ran through. */
static int
run_bash(struct bench *b, const char *body, int n, bool full, double *setup, double *teardown)
{
    char *path = sk_asprintf("%s/ip.sh", b->dir), cmd[512];
    long long su = 0, td = 0;
    FILE *f = fopen(path, "we");
    int rc = -1;

    if (!f || fputs(ip_funcs, f) < 0 || fputs(body, f) < 0 || fclose(f) != 0)
        die(path, NULL);
    snprintf(cmd, sizeof(cmd), "FULL=%s bash -e '%s' %d", full ? "1" : "", path, n);
    f = popen(cmd, "re");
    if (f && fscanf(f, "%lld %lld", &su, &td) == 2)
        rc = 0;
    if (!f || pclose(f) != 0)
        rc = -1;
    *setup = (double)su / 1e3;
    *teardown = (double)td / 1e3;
    free(path);
    return rc;
}

/* Wait until no link named ipvN is left; returns the ms waited. */
static double
ip_wait_gone(struct nl_sock *nl)
{
    double t0 = now_ms();
    struct nl_link *links;
    struct sk_err err;
    size_t n, i, left;

    sk_err_init(&err);
    do {
        if (nl_link_dump(nl, &links, &n, &err) < 0)
            die("links", &err);
        for (i = left = 0; i < n; i++)
            left += strncmp(links[i].name, "ipv", 3) == 0;
        free(links);
        if (left && now_ms() - t0 > GONE_BOUND)
            die("ip loop: veths still there", NULL);
        if (left)
            usleep(1000);
    } while (left);
    return now_ms() - t0;
}

static int
run_ip(struct bench *b, struct nl_sock *nl, const char *body, int n, bool full, double *setup,
       double *teardown)
{
    if (run_bash(b, body, n, full, setup, teardown) < 0)
        return -1;
    *teardown += ip_wait_gone(nl);
    return 0;
}

/* ---- set-up of the bench's private node ---- */

static void
enter_private_node(struct bench *b, const char *ipam_dir, struct nl_sock **nl)
{
    struct net_cidr pool;
    struct sk_err err;
    char *path;

    /* A private mount namespace with a tmpfs over /run: `ip netns add`
     * bind-mounts its namespaces there, out of the host's sight. */
    if (unshare(CLONE_NEWNS | CLONE_NEWNET) < 0 ||
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount("tmpfs", "/run", "tmpfs", 0, "mode=0755") < 0 || mkdir("/run/netns", 0755) < 0)
        die("private namespaces", NULL);
    sk_err_init(&err);
    if (net_sysctl_set(-1, "net.ipv4.ip_forward", "1", &err) < 0 || nl_sock_open(nl, &err) < 0 ||
        nl_link_set_up(*nl, "lo", true, &err) < 0)
        die("node", &err);
    net_cidr_parse(PODCIDR, false, &pool, NULL);
    if (net_bridge_ensure(*nl, NET_BRIDGE_DEFAULT, &pool, &err) < 0)
        die("bridge", &err);
    snprintf(scratch, sizeof(scratch), "/tmp/skiff-bench-net-XXXXXX");
    if (!mkdtemp(scratch))
        die("mkdtemp", NULL);
    scratch_owner = getpid();
    atexit(remove_scratch);
    b->dir = scratch;
    path = sk_asprintf("%s/ipam-%d", ipam_dir ? ipam_dir : "/run", (int)getpid());
    if (ipam_init(&b->ipam, path, &pool, &err) < 0)
        die("ipam", &err);
    free(path);
}

static void
print_load(const char *when)
{
    char buf[64] = "";
    FILE *f = fopen("/proc/loadavg", "re");

    if (f && fgets(buf, sizeof(buf), f))
        printf("# load average %s: %.*s\n", when, (int)strcspn(buf, "\n"), buf);
    if (f)
        fclose(f);
}

struct figures {
    double s, t, netns, del, del_s, lat, cs, ct; /* skiff: sums (sequential), walls (concurrent) */
    double is, it, ics, ict;                     /* ip loop, the same steps */
    double bis, bit;                             /* ip loop, bare (sequential) */
    bool ip_seq, ip_conc, ip_bare;
};

static void
print_figures(const struct figures *f, int n, int m, double ipam_ms)
{
    printf("result net setup_ms %.3f ms\n", f->s / n);
    printf("result net setup_netns_create_ms %.3f ms\n", f->netns / n);
    printf("result net teardown_ms %.3f ms\n", f->t / n);
    printf("result net teardown_dellink_ms %.3f ms\n", f->del / n);
    printf("result net setup_alone_ms %.3f ms\n", f->del_s / n);
    printf("result net teardown_gone_latency_ms %.3f ms\n", f->lat);
    printf("result net concurrent_setup_ms %.3f ms\n", f->cs / m);
    printf("result net concurrent_teardown_ms %.3f ms\n", f->ct / m);
    printf("result net ipam_disk_alloc_release_ms %.3f ms\n", ipam_ms);
    if (f->ip_seq) {
        printf("result net ip_setup_ms %.3f ms\n", f->is / n);
        printf("result net ip_teardown_ms %.3f ms\n", f->it / n);
        printf("result net setup_ratio_vs_ip %.4f x\n", f->s / f->is);
        printf("result net ratio_vs_ip %.4f x\n", (f->s + f->t) / (f->is + f->it));
    }
    if (f->ip_bare) {
        printf("result net ip_bare_setup_ms %.3f ms\n", f->bis / n);
        printf("result net ip_bare_teardown_ms %.3f ms\n", f->bit / n);
        printf("result net ratio_vs_ip_bare %.4f x\n", (f->s + f->t) / (f->bis + f->bit));
    }
    if (f->ip_conc) {
        printf("result net ip_concurrent_setup_ms %.3f ms\n", f->ics / m);
        printf("result net ip_concurrent_teardown_ms %.3f ms\n", f->ict / m);
        printf("result net concurrent_ratio_vs_ip %.4f x\n", (f->cs + f->ct) / (f->ics + f->ict));
    }
}

int
main(int argc, char **argv)
{
    struct figures f = {0};
    const char *ipam_dir = NULL;
    int i, n = 200, m = 50, ip = 1;
    struct nl_sock *nl;
    struct bench b;
    double ipam_ms;

    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--pods") && i + 1 < argc)
            n = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--concurrent") && i + 1 < argc)
            m = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--ipam-dir") && i + 1 < argc)
            ipam_dir = argv[++i];
        else if (!strcmp(argv[i], "--quick")) {
            n = 50;
            m = 20;
        } else if (!strcmp(argv[i], "--no-ip"))
            ip = 0;
        else {
            fprintf(stderr,
                    "usage: %s [--quick] [--pods N] [--concurrent M] [--no-ip] [--ipam-dir DIR]\n",
                    argv[0]);
            return 2;
        }
    }
    if (n < 1 || n > 250 || m < 1 || m > 250) {
        fprintf(stderr, "bench net: --pods and --concurrent take 1..250 (one /24 pool)\n");
        return 2;
    }
    if (geteuid() != 0) {
        printf("# skip net: needs root (network namespaces)\n");
        return 0;
    }
    if (ip && system("command -v ip >/dev/null && command -v bash >/dev/null") != 0) {
        printf("# ip(8) or bash not found: no comparison\n");
        ip = 0;
    }
    enter_private_node(&b, ipam_dir, &nl);
    print_load("at start");
    printf("# %d pods one after another, %d at once; allocation file in %s\n", n, m,
           ipam_dir ? ipam_dir : "a tmpfs");
    run_sequential(&b, nl, n, &f.s, &f.t, &f.netns);
    if (ip)
        f.ip_seq = run_ip(&b, nl, ip_sequential, n, true, &f.is, &f.it) == 0;
    if (ip)
        f.ip_bare = run_ip(&b, nl, ip_sequential, n, false, &f.bis, &f.bit) == 0;
    f.del = run_dellink(&b, nl, n, &f.del_s);
    f.lat = run_gone_latency(&b, nl, n < 20 ? n : 20);
    run_concurrent(&b, nl, m, &f.cs, &f.ct);
    if (ip)
        f.ip_conc = run_ip(&b, nl, ip_concurrent, m, true, &f.ics, &f.ict) == 0;
    if (ip && (!f.ip_seq || !f.ip_conc || !f.ip_bare))
        fprintf(stderr, "bench net: the ip loop failed\n");
    ipam_ms = run_ipam_disk(&b, n < 50 ? n : 50);
    check_clean(nl);
    print_load("at end");
    print_figures(&f, n, m, ipam_ms);
    nl_sock_free(nl);
    ipam_release(&b.ipam);
    return 0;
}
