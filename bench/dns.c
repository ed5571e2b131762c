/* bench/dns: queries per second of the DNS server for cluster names, over
 * UDP on loopback.
 *
 *     bench/dns [--quick] [--clients N] [--seconds S] [--services M]
 *
 * The server (a zone of M ClusterIP services, default 1000) runs in a
 * child process on its own event loop, pinned to CPU 0 when there is more
 * than one ("one core"); the clients run in the parent on the other CPUs:
 * N connected UDP sockets (default 16), each with one query outstanding
 * at a time (a closed loop), asking A for svc-<k>.default.svc.cluster.local
 * round-robin over the services. A query without an answer after 1 s is
 * counted lost and sent again. Nothing but 127.0.0.1 is used.
 *
 * Prints "result dns qps X q/s", "result dns p50_ms X ms", "result dns
 * p99_ms X ms" and "result dns lost X queries". --quick: 1 s and 100
 * services; default 5 s. */
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

static struct dns_zone *
make_zone(int services)
{
    json_t *svcs = json_array();
    struct dns_zone *z = NULL;
    struct sk_err err;
    char name[32], ip[32];
    int i;

    for (i = 0; i < services; i++) {
        snprintf(name, sizeof(name), "svc-%d", i);
        snprintf(ip, sizeof(ip), "10.96.%d.%d", i / 250, i % 250 + 1);
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
pin(int cpu_from, int cpu_to)
{
    cpu_set_t set;
    int c;

    CPU_ZERO(&set);
    for (c = cpu_from; c <= cpu_to; c++)
        CPU_SET(c, &set);
    (void)sched_setaffinity(0, sizeof(set), &set);
}

/* The child: serve until killed; the port goes up the pipe. */
static void
serve(int services, int ncpu, int pipe_fd)
{
    struct dns_server_config cfg = {0};
    struct dns_server *srv;
    struct sk_loop *loop;
    struct sk_err err;
    int port;

    /* Never outlive the benchmark, whatever happens to it. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1)
        _exit(1);
    if (ncpu > 1)
        pin(0, 0);
    sk_err_init(&err);
    if (sk_loop_new(&loop, &err) < 0)
        die("loop", &err);
    cfg.listen = "127.0.0.1:0";
    if (dns_server_new(loop, &cfg, make_zone(services), &srv, &err) < 0)
        die("server", &err);
    port = dns_server_port(srv);
    if (write(pipe_fd, &port, sizeof(port)) != sizeof(port))
        die("pipe", NULL);
    close(pipe_fd);
    sk_loop_run(loop, &err);
    _exit(0);
}

/* Fork the server; returns its pid, *port the port it answers on. The
 * server is created in the child so that no socket or epoll instance is
 * shared between the two processes. */
static pid_t
start_server(int services, int ncpu, int *port)
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
        serve(services, ncpu, p[1]);
    }
    close(p[1]);
    if (read(p[0], port, sizeof(*port)) != sizeof(*port))
        die("server did not start", NULL);
    close(p[0]);
    if (ncpu > 1)
        pin(1, ncpu - 1);
    return pid;
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
        snprintf(name, sizeof(name), "svc-%d.default.svc.cluster.local", i);
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

int
main(int argc, char **argv)
{
    int clients = 16, services = 1000, port, i, ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
    double seconds = 5;
    struct run *r = calloc(1, sizeof(*r));
    long long t0;
    pid_t pid;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            seconds = 1;
            services = 100;
        } else if (strcmp(argv[i], "--clients") == 0 && i + 1 < argc) {
            clients = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = atof(argv[++i]);
        } else if (strcmp(argv[i], "--services") == 0 && i + 1 < argc) {
            services = atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: bench/dns [--quick] [--clients N] [--seconds S] "
                            "[--services M]\n");
            return 2;
        }
    }
    if (clients < 1 || services < 1 || services > 60000 || seconds <= 0) {
        fprintf(stderr, "bench dns: bad arguments\n");
        return 2;
    }
    pid = start_server(services, ncpu, &port);
    r->n = clients;
    r->services = services;
    prepare(r, port);
    printf("# dns: %d services, %d clients, %.0f s, server on 127.0.0.1:%d%s\n", services, clients,
           seconds, port, ncpu > 1 ? " pinned to cpu 0" : "");
    t0 = now_ns();
    run_clients(r, seconds);
    seconds = (double)(now_ns() - t0) / 1e9;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
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
    return 0;
}
