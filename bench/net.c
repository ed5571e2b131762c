/* bench/net: time to set up and tear down one pod network (netns, veth
 * pair, address, routes), N times one after another and M at once,
 * next to the same steps done by iproute2's `ip` in a shell loop.
 *
 *     bench/net [--quick] [--pods N] [--concurrent M] [--no-ip]
 *
 * Needs root. Everything happens in a private network and mount
 * namespace of this process (the `ip netns` names live on a tmpfs over
 * /run there), so the host sees nothing and all of it vanishes on exit.
 * Prints "result net <name> <value> <unit>" lines: setup_ms and teardown_ms
 * per pod one after another, concurrent_* the wall time of M at once
 * divided by M, ipam_alloc_release_ms the allocation file's share (two
 * fsync'ed rewrites; the file lives in /tmp, TMPDIR is not used), the
 * ip loop's figures and ratio_vs_ip = skiff's (setup + teardown) time
 * divided by the ip loop's. Deleting a veth waits for RCU grace periods
 * in the kernel, which dominates both teardowns. */
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

#define PODCIDR "10.244.1.0/24"

struct bench {
    struct ipam ipam;
    const char *dir;
};

/* The scratch dir, removed at exit also when die() ends the run. */
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

/* One pod: set up, and (later) torn down; times in ms. */
struct pod_run {
    struct bench *b;
    char id[32];
    int fd;
    double setup_ms, teardown_ms;
};

static void
pod_setup(struct pod_run *p, struct nl_sock *nl)
{
    struct net_pod_spec spec = {.pod_id = p->id};
    struct sk_err err;
    double t0 = now_ms();

    sk_err_init(&err);
    p->fd = make_netns();
    spec.netns_fd = p->fd;
    if (net_pod_setup(nl, &p->b->ipam, &spec, NULL, &err) < 0)
        die("setup", &err);
    p->setup_ms = now_ms() - t0;
}

static void
pod_teardown(struct pod_run *p, struct nl_sock *nl)
{
    struct sk_err err;
    double t0 = now_ms();

    sk_err_init(&err);
    if (net_pod_teardown(nl, &p->b->ipam, p->id, &err) < 0)
        die("teardown", &err);
    close(p->fd);
    p->teardown_ms = now_ms() - t0;
}

static void
run_sequential(struct bench *b, struct nl_sock *nl, int n, double *setup, double *teardown)
{
    struct pod_run p = {.b = b};
    int i;

    *setup = *teardown = 0;
    for (i = 0; i < n; i++) {
        snprintf(p.id, sizeof(p.id), "bench/seq-%d", i);
        pod_setup(&p, nl);
        *setup += p.setup_ms;
        pod_teardown(&p, nl);
        *teardown += p.teardown_ms;
    }
}

static pthread_barrier_t barrier;

/* Each thread: its own netlink socket, setup, wait for all, teardown. */
static void *
concurrent_pod(void *arg)
{
    struct pod_run *p = arg;
    struct nl_sock *nl;
    struct sk_err err;

    sk_err_init(&err);
    if (nl_sock_open(&nl, &err) < 0)
        die("netlink socket", &err);
    pthread_barrier_wait(&barrier);
    pod_setup(p, nl);
    pthread_barrier_wait(&barrier);
    pthread_barrier_wait(&barrier);
    pod_teardown(p, nl);
    nl_sock_free(nl);
    return NULL;
}

/* Wall time of m setups at once, and of m teardowns at once. */
static void
run_concurrent(struct bench *b, int m, double *setup_wall, double *teardown_wall)
{
    struct pod_run *pods = sk_calloc((size_t)m, sizeof(*pods));
    pthread_t *tids = sk_calloc((size_t)m, sizeof(*tids));
    double t0;
    int i;

    pthread_barrier_init(&barrier, NULL, (unsigned)m + 1);
    for (i = 0; i < m; i++) {
        pods[i].b = b;
        snprintf(pods[i].id, sizeof(pods[i].id), "bench/conc-%d", i);
        if (pthread_create(&tids[i], NULL, concurrent_pod, &pods[i]) != 0)
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
    *teardown_wall = now_ms() - t0;
    pthread_barrier_destroy(&barrier);
    free(pods);
    free(tids);
}

/* The allocation file alone: alloc + release, each a locked, fsync'ed
 * rewrite; this is most of a setup's time on a disk. */
static double
run_ipam(struct bench *b, int n)
{
    struct net_ip addr;
    struct sk_err err;
    double t0 = now_ms();
    int i;

    sk_err_init(&err);
    for (i = 0; i < n; i++) {
        if (ipam_alloc(&b->ipam, "bench/ipam", &addr, &err) < 0 ||
            ipam_release_owner(&b->ipam, "bench/ipam", &err) < 0)
            die("ipam", &err);
    }
    return (now_ms() - t0) / n;
}

/* ---- the same with ip(8) ---- */

static int
run_script(const char *path)
{
    int status;
    pid_t pid = fork();

    if (pid < 0)
        die("fork", NULL);
    if (pid == 0) {
        execl("/bin/sh", "sh", "-e", path, (char *)NULL);
        _exit(127);
    }
    if (waitpid(pid, &status, 0) < 0)
        die("waitpid", NULL);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "we");

    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        die(path, NULL);
}

static int
run_ip_loop(struct bench *b, int n, double *setup, double *teardown)
{
    struct sk_buf up = SK_BUF_INIT, down = SK_BUF_INIT;
    char *sup = sk_asprintf("%s/up.sh", b->dir), *sdown = sk_asprintf("%s/down.sh", b->dir);
    double t0;
    int i, rc;

    for (i = 0; i < n; i++) {
        sk_buf_printf(&up,
                      "ip netns add ipb%d\n"
                      "ip link add ipv%d type veth peer name eth0 netns ipb%d\n"
                      "ip -n ipb%d addr add 10.244.1.%d/24 brd 10.244.1.255 dev eth0\n"
                      "ip -n ipb%d link set lo up\n"
                      "ip -n ipb%d link set eth0 up\n"
                      "ip -n ipb%d route add default via 10.244.1.1\n"
                      "ip link set ipv%d master " NET_BRIDGE_DEFAULT " up\n",
                      i, i, i, i, 2 + i % 250, i, i, i, i);
        sk_buf_printf(&down, "ip link del ipv%d\nip netns del ipb%d\n", i, i);
    }
    write_file(sup, up.data);
    write_file(sdown, down.data);
    t0 = now_ms();
    rc = run_script(sup);
    *setup = now_ms() - t0;
    t0 = now_ms();
    if (rc == 0)
        rc = run_script(sdown);
    *teardown = now_ms() - t0;
    sk_buf_release(&up);
    sk_buf_release(&down);
    free(sup);
    free(sdown);
    return rc;
}

/* ---- set-up of the bench's private node ---- */

static void
enter_private_node(struct bench *b, struct nl_sock **nl)
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
    path = sk_asprintf("%s/ipam", b->dir);
    if (ipam_init(&b->ipam, path, &pool, &err) < 0)
        die("ipam", &err);
    free(path);
}

int
main(int argc, char **argv)
{
    double s, t, cs, ct, is = 0, it = 0;
    int i, n = 200, m = 50, ip = 1;
    struct nl_sock *nl;
    struct bench b;

    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--pods") && i + 1 < argc)
            n = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--concurrent") && i + 1 < argc)
            m = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--quick")) {
            n = 50;
            m = 20;
        } else if (!strcmp(argv[i], "--no-ip"))
            ip = 0;
        else {
            fprintf(stderr, "usage: %s [--quick] [--pods N] [--concurrent M] [--no-ip]\n", argv[0]);
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
    if (ip && access("/usr/sbin/ip", X_OK) < 0 && access("/sbin/ip", X_OK) < 0 &&
        access("/usr/bin/ip", X_OK) < 0 && access("/bin/ip", X_OK) < 0) {
        printf("# ip(8) not found: no comparison\n");
        ip = 0;
    }
    enter_private_node(&b, &nl);
    run_sequential(&b, nl, n, &s, &t);
    run_concurrent(&b, m, &cs, &ct);
    printf("result net setup_ms %.3f ms\n", s / n);
    printf("result net teardown_ms %.3f ms\n", t / n);
    printf("result net concurrent_setup_ms %.3f ms\n", cs / m);
    printf("result net concurrent_teardown_ms %.3f ms\n", ct / m);
    printf("result net ipam_alloc_release_ms %.3f ms\n", run_ipam(&b, n));
    if (ip && run_ip_loop(&b, n, &is, &it) != 0) {
        fprintf(stderr, "bench net: the ip loop failed\n");
        ip = 0;
    }
    if (ip) {
        printf("result net ip_setup_ms %.3f ms\n", is / n);
        printf("result net ip_teardown_ms %.3f ms\n", it / n);
        printf("result net ratio_vs_ip %.4f x\n", (s + t) / (is + it));
    }
    nl_sock_free(nl);
    ipam_release(&b.ipam);
    return 0;
}
