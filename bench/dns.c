/* bench/dns: queries per second of the DNS server for cluster names, over
 * UDP on loopback. The closed-loop client of this file, and the helper
 * modes the bench/dns script uses to run dnsperf against skiff and
 * unbound on the same names.
 *
 *     bench/dns [--quick] [--clients N] [--seconds S] [--services M]
 *               [--port P] [--cpu C]
 *     bench/dns --serve [--services M] [--cpu C]
 *     bench/dns --print-queries|--print-unbound [--services M]
 *     bench/dns --free-port
 *
 * The zone: M ClusterIP services (default 1000) svc-<k> in namespace
 * default, svc-<k> at 10.96.<k/250>.<k%250+1>.
 *
 * Default mode: the server runs in a child process on its own event loop,
 * pinned to CPU C (default 0) when there is more than one ("one core");
 * the clients run in the parent on the other CPUs: N connected UDP sockets
 * (default 16), each with one query outstanding at a time (a closed loop),
 * asking A for svc-<k>.default.svc.cluster.local round-robin over the
 * services. A query without an answer after 1 s is counted lost and sent
 * again. With --port the clients ask whatever server answers on
 * 127.0.0.1:P instead (unbound, in bench/dns). Before timing, a few names
 * are asked once and their addresses checked, waiting up to 10 s for the
 * server to come up: a server that answers something else fails the run.
 *
 * Prints "result dns qps X q/s", "result dns p50_ms X ms", "result dns
 * p99_ms X ms" and "result dns lost X queries". --quick: 1 s and 100
 * services; default 5 s.
 *
 * --serve: serve the zone on 127.0.0.1 (a free port), pinned to CPU C,
 * print "port P" and serve until killed or the parent exits.
 * --print-queries: the dnsperf query file for the zone ("name A" lines).
 * --print-unbound: the same names as unbound local-data lines.
 * --free-port: print a port free for UDP and TCP on 127.0.0.1 now.
 *
 * Nothing but 127.0.0.1 is used. */
#include "lib/loop.h"
#include "net/dns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HIST_US    100000 /* latency histogram: 1 us buckets up to 100 ms */
#define LOST_AFTER 1000000000LL
#define UP_WAIT_NS 10000000000LL /* how long --port waits for the server */

struct opts {
    int clients, services, port, cpu, ncpu;
    double seconds;
};

static long long
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void
die(const char *what, const struct sk_err *err)
{
    fprintf(stderr, "bench dns: %s: %s\n", what, err ? err->msg : strerror(errno));
    exit(1);
}

/* The zone's one formula: service k and its address. */
static void
svc_name(int k, char *buf, size_t size)
{
    snprintf(buf, size, "svc-%d.default.svc.cluster.local", k);
}

static void
svc_ip(int k, uint8_t ip[4])
{
    ip[0] = 10;
    ip[1] = 96;
    ip[2] = (uint8_t)(k / 250);
    ip[3] = (uint8_t)(k % 250 + 1);
}

static struct dns_zone *
make_zone(int services)
{
    json_t *svcs = json_array();
    struct dns_zone *z = NULL;
    struct sk_err err;
    char name[32], ip[32];
    uint8_t a[4];
    int i;

    for (i = 0; i < services; i++) {
        snprintf(name, sizeof(name), "svc-%d", i);
        svc_ip(i, a);
        snprintf(ip, sizeof(ip), "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
        json_array_append_new(svcs,
                              json_pack("{s:{s:s,s:s},s:{s:s,s:[{s:s,s:i}]}}", "metadata", "name",
                                        name, "namespace", "default", "spec", "clusterIP", ip,
                                        "ports", "name", "http", "port", 80));
    }
    sk_err_init(&err);
    if (dns_zone_build(NULL, svcs, NULL, &z, &err) < 0)
        die("zone", &err);
    json_decref(svcs);
    return z;
}

static void
print_zone(int services, bool unbound)
{
    char name[64];
    uint8_t a[4];
    int i;

    for (i = 0; i < services; i++) {
        svc_name(i, name, sizeof(name));
        svc_ip(i, a);
        if (unbound)
            printf("    local-data: \"%s. %d IN A %u.%u.%u.%u\"\n", name, DNS_DEFAULT_TTL, a[0],
                   a[1], a[2], a[3]);
        else
            printf("%s A\n", name);
    }
}

static void
pin(int cpu_from, int cpu_to)
{
    cpu_set_t set;
    int c;

    CPU_ZERO(&set);
    for (c = cpu_from; c <= cpu_to; c++)
        CPU_SET(c, &set);
    (void)sched_setaffinity(0, sizeof(set), &set);
}

/* Every CPU but the server's. */
static void
pin_clients(const struct opts *o)
{
    cpu_set_t set;
    int c;

    if (o->ncpu < 2)
        return;
    CPU_ZERO(&set);
    for (c = 0; c < o->ncpu; c++)
        if (c != o->cpu)
            CPU_SET(c, &set);
    (void)sched_setaffinity(0, sizeof(set), &set);
}

/* Serve until killed; the port goes to port_fd ("port P\n" with text). */
static void
serve(const struct opts *o, int port_fd, bool text)
{
    struct dns_server_config cfg = {0};
    struct dns_server *srv;
    struct sk_loop *loop;
    struct sk_err err;
    char line[32];
    int port, n;

    /* Never outlive the benchmark, whatever happens to it. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1)
        _exit(1);
    if (o->ncpu > 1)
        pin(o->cpu, o->cpu);
    sk_err_init(&err);
    if (sk_loop_new(&loop, &err) < 0)
        die("loop", &err);
    cfg.listen = "127.0.0.1:0";
    if (dns_server_new(loop, &cfg, make_zone(o->services), &srv, &err) < 0)
        die("server", &err);
    port = dns_server_port(srv);
    if (text) {
        n = snprintf(line, sizeof(line), "port %d\n", port);
        if (write(port_fd, line, (size_t)n) != n)
            die("write port", NULL);
    } else if (write(port_fd, &port, sizeof(port)) != sizeof(port)) {
        die("pipe", NULL);
    }
    if (port_fd != STDOUT_FILENO)
        close(port_fd);
    sk_loop_run(loop, &err);
    _exit(0);
}

/* Fork the server; returns its pid, *port the port it answers on. The
 * server is created in the child so that no socket or epoll instance is
 * shared between the two processes. */
static pid_t
start_server(const struct opts *o, int *port)
{
    int p[2];
    pid_t pid;

    if (pipe2(p, O_CLOEXEC) < 0)
        die("pipe", NULL);
    pid = fork();
    if (pid < 0)
        die("fork", NULL);
    if (pid == 0) {
        close(p[0]);
        serve(o, p[1], false);
    }
    close(p[1]);
    if (read(p[0], port, sizeof(*port)) != sizeof(*port))
        die("server did not start", NULL);
    close(p[0]);
    return pid;
}

/* A port both UDP and TCP can bind on 127.0.0.1 right now. */
static int
free_port(void)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    socklen_t alen = sizeof(sin);
    int u, t, tries, port = -1;

    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (tries = 0; tries < 32 && port < 0; tries++) {
        u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sin.sin_port = 0;
        if (u < 0 || t < 0 || bind(u, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
            getsockname(u, (struct sockaddr *)&sin, &alen) < 0)
            die("socket", NULL);
        if (bind(t, (struct sockaddr *)&sin, sizeof(sin)) == 0)
            port = ntohs(sin.sin_port);
        close(u);
        close(t);
    }
    if (port < 0)
        die("no free port", NULL);
    return port;
}

struct client {
    int fd;
    uint16_t id;
    long long sent;
};

struct run {
    struct client *c;
    int n, services;
    uint8_t (*pkt)[512];
    size_t *len;
    unsigned long long answers, lost, next;
    unsigned long long hist[HIST_US + 1];
};

static void
send_next(struct run *r, struct client *c)
{
    size_t k = r->next++ % (size_t)r->services;
    uint8_t *p = r->pkt[k];

    c->id = (uint16_t)(c->id + 1);
    p[0] = (uint8_t)(c->id >> 8);
    p[1] = (uint8_t)c->id;
    c->sent = now_ns();
    if (send(c->fd, p, r->len[k], 0) < 0)
        die("send", NULL);
}

static void
receive(struct run *r, struct client *c)
{
    uint8_t buf[1500];
    ssize_t n;
    long long us;

    while ((n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT)) >= 12) {
        if ((uint16_t)(buf[0] << 8 | buf[1]) != c->id || (buf[3] & 15) != 0)
            continue; /* a late answer to a query counted lost */
        us = (now_ns() - c->sent) / 1000;
        r->hist[us < HIST_US ? us : HIST_US]++;
        r->answers++;
        send_next(r, c);
    }
}

static double
percentile_ms(const struct run *r, double p)
{
    unsigned long long want = (unsigned long long)(p * (double)r->answers), seen = 0;
    int us;

    for (us = 0; us <= HIST_US; us++) {
        seen += r->hist[us];
        if (seen > want)
            return us / 1000.0;
    }
    return HIST_US / 1000.0;
}

static void
prepare(struct run *r, int port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct dns_msg q;
    int i, len;

    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    r->pkt = calloc((size_t)r->services, sizeof(*r->pkt));
    r->len = calloc((size_t)r->services, sizeof(*r->len));
    for (i = 0; i < r->services; i++) {
        char name[64];
        dns_msg_init(&q);
        q.flags = DNS_F_RD;
        q.has_question = true;
        svc_name(i, name, sizeof(name));
        dns_name_from_str(name, &q.question.name, NULL);
        q.question.type = DNS_TYPE_A;
        q.question.klass = DNS_CLASS_IN;
        len = dns_msg_build(&q, r->pkt[i], sizeof(r->pkt[i]), sizeof(r->pkt[i]), NULL);
        r->len[i] = (size_t)len;
    }
    r->c = calloc((size_t)r->n, sizeof(*r->c));
    for (i = 0; i < r->n; i++) {
        r->c[i].fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (r->c[i].fd < 0 || connect(r->c[i].fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
            die("client socket", NULL);
    }
}

/* Ask for service k once (resending every 100 ms until deadline) and
 * check the answer is its address: 0 if right, -1 if not or no answer. */
static int
check_one(struct run *r, int k, long long deadline)
{
    struct client *c = &r->c[0];
    struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
    uint8_t buf[1500], want[4];
    struct dns_msg m;
    ssize_t n;
    int ok = -1;

    svc_ip(k, want);
    r->next = (unsigned long long)k;
    send_next(r, c);
    while (ok < 0 && now_ns() < deadline) {
        if (poll(&pfd, 1, 100) <= 0) {
            r->next = (unsigned long long)k;
            send_next(r, c);
            continue;
        }
        n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n < 12 || (uint16_t)(buf[0] << 8 | buf[1]) != c->id)
            continue;
        dns_msg_init(&m);
        if (dns_msg_parse(buf, (size_t)n, &m, NULL) == 0 && dns_msg_rcode(&m) == 0 &&
            m.nrr[DNS_SEC_ANSWER] == 1 && m.rr[DNS_SEC_ANSWER][0].type == DNS_TYPE_A &&
            memcmp(m.rr[DNS_SEC_ANSWER][0].rd.a, want, 4) == 0)
            ok = 0;
        else
            deadline = 0; /* an answer, the wrong one */
        dns_msg_release(&m);
    }
    return ok;
}

static void
check_answers(struct run *r, int port)
{
    int ks[3] = {0, r->services / 2, r->services - 1}, i;
    long long deadline = now_ns() + UP_WAIT_NS;

    for (i = 0; i < 3; i++) {
        if (check_one(r, ks[i], deadline) < 0) {
            fprintf(stderr, "bench dns: 127.0.0.1:%d: no answer or a wrong one for svc-%d\n", port,
                    ks[i]);
            exit(1);
        }
    }
    r->next = 0;
}

static void
run_clients(struct run *r, double seconds)
{
    struct pollfd *pfd = calloc((size_t)r->n, sizeof(*pfd));
    long long end = now_ns() + (long long)(seconds * 1e9), t;
    int i;

    for (i = 0; i < r->n; i++) {
        pfd[i].fd = r->c[i].fd;
        pfd[i].events = POLLIN;
        send_next(r, &r->c[i]);
    }
    while ((t = now_ns()) < end) {
        if (poll(pfd, (nfds_t)r->n, 100) < 0 && errno != EINTR)
            die("poll", NULL);
        t = now_ns();
        for (i = 0; i < r->n; i++) {
            if (pfd[i].revents & POLLIN)
                receive(r, &r->c[i]);
            if (t - r->c[i].sent > LOST_AFTER) {
                r->lost++;
                send_next(r, &r->c[i]);
            }
        }
    }
    free(pfd);
}

static void
usage(void)
{
    fprintf(stderr, "usage: bench/dns [--quick] [--clients N] [--seconds S] [--services M] "
                    "[--port P] [--cpu C]\n"
                    "       bench/dns --serve|--print-queries|--print-unbound [--services M] "
                    "[--cpu C]\n"
                    "       bench/dns --free-port\n");
    exit(2);
}

static void
bench(struct opts *o)
{
    struct run *r = calloc(1, sizeof(*r));
    pid_t pid = -1;
    long long t0;
    double seconds;
    int i, port = o->port;

    if (!port)
        pid = start_server(o, &port);
    pin_clients(o);
    r->n = o->clients;
    r->services = o->services;
    prepare(r, port);
    check_answers(r, port);
    printf("# dns: %d services, %d clients, %.0f s, server on 127.0.0.1:%d%s\n", o->services,
           o->clients, o->seconds, port, o->port ? "" : (o->ncpu > 1 ? " pinned to one cpu" : ""));
    t0 = now_ns();
    run_clients(r, o->seconds);
    seconds = (double)(now_ns() - t0) / 1e9;
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    printf("result dns qps %.0f q/s\n", (double)r->answers / seconds);
    printf("result dns p50_ms %.3f ms\n", percentile_ms(r, 0.50));
    printf("result dns p99_ms %.3f ms\n", percentile_ms(r, 0.99));
    printf("result dns lost %llu queries\n", r->lost);
    for (i = 0; i < r->n; i++)
        close(r->c[i].fd);
    free(r->c);
    free(r->pkt);
    free(r->len);
    free(r);
}

int
main(int argc, char **argv)
{
    struct opts o = {.clients = 16, .services = 1000, .seconds = 5};
    const char *mode = NULL;
    int i;

    o.ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            o.seconds = 1;
            o.services = 100;
        } else if (strcmp(argv[i], "--serve") == 0 || strcmp(argv[i], "--print-queries") == 0 ||
                   strcmp(argv[i], "--print-unbound") == 0 || strcmp(argv[i], "--free-port") == 0) {
            mode = argv[i];
        } else if (strcmp(argv[i], "--clients") == 0 && i + 1 < argc) {
            o.clients = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            o.seconds = atof(argv[++i]);
        } else if (strcmp(argv[i], "--services") == 0 && i + 1 < argc) {
            o.services = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            o.port = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--cpu") == 0 && i + 1 < argc) {
            o.cpu = atoi(argv[++i]);
        } else {
            usage();
        }
    }
    if (o.clients < 1 || o.services < 1 || o.services > 60000 || o.seconds <= 0 || o.port < 0 ||
        o.port > 65535 || o.cpu < 0 || (o.ncpu > 1 && o.cpu >= o.ncpu)) {
        fprintf(stderr, "bench dns: bad arguments\n");
        return 2;
    }
    if (!mode) {
        bench(&o);
    } else if (strcmp(mode, "--serve") == 0) {
        setvbuf(stdout, NULL, _IONBF, 0);
        serve(&o, STDOUT_FILENO, true);
    } else if (strcmp(mode, "--free-port") == 0) {
        printf("%d\n", free_port());
    } else {
        print_zone(o.services, strcmp(mode, "--print-unbound") == 0);
    }
    return 0;
}
