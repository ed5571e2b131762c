/* api_load: load generator for bench/api, speaking the line protocol of
 * the API server (man/skiff-protocol.7) on a UNIX socket or over TCP. One
 * process, every connection on one epoll loop (lib/loop.h); each
 * connection is opened once and kept.
 *
 * Modes:
 *
 *   --ops create,get,update  (default) closed loop, N clients, one request
 *       in flight each; every op in turn for --warmup S (not counted) then
 *       --duration S. create makes pods PREFIX-cCCCC-SEQ in --namespace;
 *       get and update cycle over the pods the same client created, so
 *       those must come after create. update sends the whole pod with a
 *       new label value (a real change, so every update makes a revision).
 *
 *   --count K [--pipeline D]  create K pods PREFIX-INDEX over N clients,
 *       each with up to D requests in flight (loading for the RSS figure).
 *
 *   --watchers W --writes K [--gap-ms G]  watch fan-out: W connections
 *       each `watch pods NS`; once every watcher has its `ok watch`, one
 *       writer connection creates K pods in NS one at a time. The next
 *       write goes G ms after the previous one was acknowledged and
 *       delivered to every watcher (or after --timeout). For every
 *       (write, watcher) pair the time from the write's send and from its
 *       acknowledgement to the ADDED line being read by that watcher is
 *       kept; a delivery before the acknowledgement counts negative from
 *       the acknowledgement. Per write also: the time to the last
 *       watcher, and from the first watcher's delivery to the last.
 *
 *   --request LINE  send one request and print the response (scripts).
 *
 * Over TCP every connection first sends `auth TOKEN` (--token). Output is
 * one "name value" pair a line; latencies are all kept, sorted, and
 * quantiles are nearest-rank. The soft RLIMIT_NOFILE is raised to the
 * hard limit, for thousands of watchers. With --pid SERVER_PID, the
 * server's VmRSS (watch mode) and its CPU time per request of each op
 * (ops mode, warm-up included; 10 ms clock ticks) are reported too. Exit status 0 if the run
 * completed with every connection alive, 1 otherwise, 2 on bad usage. */
#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/line.h"
#include "lib/loop.h"
#include "lib/sock.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CLIENTS    20000
#define MAX_PIPELINE   64
#define READ_CHUNK     65536
#define MAX_ERR_PRINTS 5
#define NAME_MAX_LEN   128
#define WATCH_BATCH    200

enum op { OP_CREATE, OP_GET, OP_UPDATE, OP_AUTH, OP_WATCH, OP_COUNT };
static const char *const op_names[] = {"create", "get", "update", "auth", "watch"};

enum mode { MODE_OPS, MODE_LOAD, MODE_WATCH, MODE_REQUEST };

struct opts {
    enum mode mode;
    const char *target, *token, *request, *prefix, *ns;
    enum op ops[3];
    int nops;
    int clients, pipeline, watchers, gap_ms, server_pid;
    double duration_s, warmup_s, timeout_s;
    uint64_t count, writes;
};

/* A request on the wire, oldest first. */
struct pending {
    enum op op;
    int64_t sent_ns;
    uint64_t index; /* write index (watch writer) */
};

struct client {
    struct bench *b;
    int id, fd;
    bool dead, want_write, watcher, streaming;
    struct sk_buf out, in;
    size_t out_off;
    struct pending q[MAX_PIPELINE];
    int qhead, qlen;
    uint64_t seq, created, cursor; /* pods made; get/update cycle */
};

struct lat {
    int64_t *v;
    size_t n, cap;
};

struct bench {
    struct opts o;
    struct sk_loop *loop;
    struct client *clients; /* o.clients (ops, load) or o.watchers + 1 */
    int nclients, started, live, unauthed;
    enum op phase;
    bool phase_on;
    int64_t t_start, t_measure, t_end;
    uint64_t ok[OP_COUNT], errors[OP_COUNT], err_prints;
    struct lat lat[OP_COUNT];
    double cpu_s[OP_COUNT];         /* the server's CPU time during each phase (--pid) */
    uint64_t next_index, completed; /* load */
    /* watch */
    int watching, want_watching;
    long rss_watching_kb;
    uint64_t widx; /* writes sent */
    bool write_busy, gap_wait;
    int64_t *w_sent, *w_ack, *w_recv; /* w_recv[index * watchers + w] */
    int *w_got;
    uint64_t deliveries, strays;
};

static void
lat_add(struct lat *l, int64_t v)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4096;
        l->v = sk_reallocarray(l->v, l->cap, sizeof(*l->v));
    }
    l->v[l->n++] = v;
}

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

/* The q-quantile of sorted values in ms (nearest rank), 0 without any. */
static double
quantile_ms(const struct lat *l, double q)
{
    size_t rank;

    if (l->n == 0)
        return 0;
    rank = (size_t)(q * (double)l->n + 0.999999);
    rank = rank < 1 ? 1 : rank > l->n ? l->n : rank;
    return (double)l->v[rank - 1] / 1e6;
}

static void
lat_print(const char *name, struct lat *l)
{
    if (l->n > 1)
        qsort(l->v, l->n, sizeof(*l->v), cmp_i64);
    printf("%s_samples %zu\n", name, l->n);
    printf("%s_p50_ms %.3f\n", name, quantile_ms(l, 0.50));
    printf("%s_p99_ms %.3f\n", name, quantile_ms(l, 0.99));
    printf("%s_max_ms %.3f\n", name, quantile_ms(l, 1.0));
}

/* --- requests --- */

static void
pod_json(struct sk_buf *out, const char *ns, const char *name, uint64_t version)
{
    sk_buf_printf(out,
                  "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\","
                  "\"namespace\":\"%s\",\"labels\":{\"app\":\"bench\",\"v\":\"%llu\"}},"
                  "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}\n",
                  name, ns, (unsigned long long)version);
}

static void client_kill(struct client *c, const char *why);

/* Write as much of c->out as the socket takes; watch for writability for
 * the rest. */
static void
client_flush(struct client *c)
{
    while (c->out_off < c->out.len) {
        ssize_t w = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!c->want_write)
                sk_loop_fd_mod(c->b->loop, c->fd, SK_EV_READ | SK_EV_WRITE, NULL);
            c->want_write = true;
            return;
        }
        if (w < 0) {
            client_kill(c, strerror(errno));
            return;
        }
        c->out_off += (size_t)w;
    }
    sk_buf_reset(&c->out);
    c->out_off = 0;
    if (c->want_write)
        sk_loop_fd_mod(c->b->loop, c->fd, SK_EV_READ, NULL);
    c->want_write = false;
}

/* Queue one request of kind op (its line already appended to c->out). */
static void
client_sent(struct client *c, enum op op, uint64_t index)
{
    struct pending *p = &c->q[(c->qhead + c->qlen) % MAX_PIPELINE];

    *p = (struct pending){.op = op, .sent_ns = sk_clock_mono_ns(), .index = index};
    c->qlen++;
}

static void
pod_name(const struct bench *b, const struct client *c, uint64_t seq, char *out, size_t outsz)
{
    if (b->o.mode == MODE_OPS)
        snprintf(out, outsz, "%s-c%04d-%06llu", b->o.prefix, c->id, (unsigned long long)seq);
    else
        snprintf(out, outsz, "%s-%06llu", b->o.prefix, (unsigned long long)seq);
}

/* One request of the current phase (ops mode). */
static void
client_issue_op(struct client *c)
{
    struct bench *b = c->b;
    char name[NAME_MAX_LEN];
    uint64_t seq;

    switch (b->phase) {
    case OP_CREATE:
        pod_name(b, c, c->seq++, name, sizeof(name));
        sk_buf_puts(&c->out, "create ");
        pod_json(&c->out, b->o.ns, name, 0);
        break;
    case OP_GET:
    case OP_UPDATE:
        seq = c->created ? c->cursor++ % c->created : 0;
        pod_name(b, c, seq, name, sizeof(name));
        if (b->phase == OP_GET) {
            sk_buf_printf(&c->out, "get pods %s %s\n", b->o.ns, name);
        } else {
            sk_buf_puts(&c->out, "update ");
            pod_json(&c->out, b->o.ns, name, c->cursor);
        }
        break;
    default:
        SK_BUG("op %d in ops mode", (int)b->phase);
    }
    client_sent(c, b->phase, 0);
}

/* Fill the connection's pipeline with what the mode wants next. */
static void
client_issue(struct client *c)
{
    struct bench *b = c->b;
    char name[NAME_MAX_LEN];

    if (c->dead || c->watcher || c->qlen > 0 || c->streaming)
        goto flush; /* watcher / auth pending: nothing more */
    if (b->o.mode == MODE_OPS && b->phase_on && sk_clock_mono_ns() < b->t_end)
        client_issue_op(c);
flush:
    while (!c->dead && b->o.mode == MODE_LOAD && b->t_start && c->qlen < b->o.pipeline &&
           b->next_index < b->o.count) {
        uint64_t i = b->next_index++;

        pod_name(b, c, i, name, sizeof(name));
        sk_buf_puts(&c->out, "create ");
        pod_json(&c->out, b->o.ns, name, 0);
        client_sent(c, OP_CREATE, i);
    }
    if (!c->dead && c->out.len > c->out_off)
        client_flush(c);
}

static void
client_kill(struct client *c, const char *why)
{
    if (c->dead)
        return;
    fprintf(stderr, "api_load: connection %d: %s\n", c->id, why);
    sk_loop_fd_del(c->b->loop, c->fd);
    close(c->fd);
    c->fd = -1;
    c->dead = true;
    c->b->live--;
    if (c->b->o.mode == MODE_LOAD) {
        c->b->completed += (uint64_t)c->qlen;
        c->b->errors[OP_CREATE] += (uint64_t)c->qlen;
    }
    c->qlen = 0;
}

/* A response line on one line, control characters as spaces. */
static void
print_error(struct bench *b, const char *resp, size_t len)
{
    const char *nl = memchr(resp, '\n', len);

    if (b->err_prints++ >= MAX_ERR_PRINTS)
        return;
    if (nl)
        len = (size_t)(nl - resp);
    fprintf(stderr, "api_load: error response: %.*s\n", (int)(len > 300 ? 300 : len), resp);
}

/* --- responses --- */

/* One response at the start of p[0..n): its length once complete (status
 * line and COUNT body lines), 0 if more bytes are needed, -1 if the
 * status line is malformed. *ok tells ok from error. */
static long
parse_resp(const char *p, size_t n, bool *ok)
{
    const char *start = p, *end = p + n, *nl = memchr(p, '\n', n);
    unsigned long count = 0;

    if (!nl)
        return 0;
    if (n >= 3 && memcmp(p, "ok ", 3) == 0) {
        char *e;

        errno = 0;
        count = strtoul(p + 3, &e, 10);
        if (errno || e == p + 3 || (*e != ' ' && *e != '\n' && *e != '\r'))
            return -1;
        *ok = true;
    } else if (n >= 6 && memcmp(p, "error ", 6) == 0) {
        *ok = false;
    } else {
        return -1;
    }
    for (p = nl + 1; count > 0; count--, p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return 0;
    }
    return (long)(p - start);
}

static void watch_next(struct bench *b);

/* A complete response to the oldest request of c. */
static void
on_response(struct client *c, bool ok, const char *resp, size_t len, int64_t now)
{
    struct bench *b = c->b;
    struct pending p = c->q[c->qhead];

    c->qhead = (c->qhead + 1) % MAX_PIPELINE;
    c->qlen--;
    if (p.op == OP_AUTH) {
        if (!ok) {
            print_error(b, resp, len);
            client_kill(c, "auth refused");
        }
        b->unauthed--;
        return;
    }
    if (b->o.mode == MODE_LOAD)
        b->completed++;
    if (!ok) {
        b->errors[p.op]++;
        print_error(b, resp, len);
    } else {
        b->ok[p.op]++;
        if (p.op == OP_CREATE && b->o.mode == MODE_OPS)
            c->created = c->seq;
    }
    if (b->o.mode == MODE_WATCH) {
        if (!ok) /* nothing to wait for: its deliveries count as missed */
            b->w_got[p.index] = b->watching;
        b->w_ack[p.index] = now;
        b->write_busy = false;
        watch_next(b);
        return;
    }
    if (ok && (b->o.mode == MODE_LOAD || (p.sent_ns >= b->t_measure && now <= b->t_end)))
        lat_add(&b->lat[p.op], now - p.sent_ns);
}

/* One line of a watch stream: "ok watch rev=N" first, then ADDED lines
 * for the writer's pods (name PREFIX-INDEX). */
static void
on_watch_line(struct client *c, const char *line, size_t len, int64_t now)
{
    struct bench *b = c->b;
    char key[NAME_MAX_LEN + 16];
    const char *at;
    unsigned long long index;
    size_t slot;

    if (!c->streaming) {
        if (len < 8 || memcmp(line, "ok watch", 8) != 0) {
            print_error(b, line, len);
            client_kill(c, "watch refused");
            return;
        }
        c->streaming = true;
        c->qlen = 0;
        b->watching++;
        return;
    }
    snprintf(key, sizeof(key), "\"name\":\"%s-", b->o.prefix);
    if (len < 6 || memcmp(line, "ADDED ", 6) != 0 || !(at = memmem(line, len, key, strlen(key)))) {
        if (len >= 6 && memcmp(line, "error ", 6) == 0) {
            print_error(b, line, len);
            client_kill(c, "watch ended with an error");
        }
        b->strays++;
        return;
    }
    index = strtoull(at + strlen(key), NULL, 10);
    if (index >= b->o.writes) {
        b->strays++;
        return;
    }
    slot = (size_t)index * (size_t)b->o.watchers + (size_t)c->id;
    if (b->w_recv[slot] == 0) {
        b->w_recv[slot] = now;
        b->deliveries++;
        if (++b->w_got[index] == b->watching)
            watch_next(b);
    }
}

/* Take every complete response (or watch line) out of c->in. */
static void
client_parse(struct client *c, int64_t now)
{
    /* in.data is set whenever in.len > 0; saying so keeps GCC's
     * -Wnonnull quiet under the sanitizers' -O levels */
    while (c->in.len > 0 && c->in.data && !c->dead) {
        bool ok = false;
        long n;

        if (c->watcher && (c->streaming || (c->qlen > 0 && c->q[c->qhead].op == OP_WATCH))) {
            char *nl = memchr(c->in.data, '\n', c->in.len);

            if (!nl)
                return;
            n = nl - c->in.data + 1;
            on_watch_line(c, c->in.data, (size_t)n - 1, now);
        } else {
            n = parse_resp(c->in.data, c->in.len, &ok);
            if (n == 0)
                return;
            if (n < 0 || c->qlen == 0) {
                client_kill(c, n < 0 ? "malformed response" : "response without a request");
                return;
            }
            on_response(c, ok, c->in.data, (size_t)n, now);
        }
        if (!c->dead)
            sk_buf_consume(&c->in, (size_t)n);
    }
}

static void
on_client_event(struct sk_loop *loop, int fd, unsigned events, void *arg)
{
    struct client *c = arg;
    ssize_t r;

    (void)loop;
    (void)fd;
    if (events & SK_EV_WRITE)
        client_flush(c);
    if (c->dead || !(events & (SK_EV_READ | SK_EV_ERROR)))
        return;
    sk_buf_grow(&c->in, READ_CHUNK);
    r = read(c->fd, c->in.data + c->in.len, READ_CHUNK);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (r <= 0) {
        client_kill(c, r == 0 ? "connection closed by server" : strerror(errno));
        return;
    }
    c->in.len += (size_t)r;
    client_parse(c, sk_clock_mono_ns());
    client_issue(c);
}

/* --- connections --- */

static bool
is_unix(const struct opts *o)
{
    return strchr(o->target, '/') != NULL;
}

static int
target_connect(const struct opts *o, struct sk_err *err)
{
    char host[256];
    int fd, port, one = 1;

    if (is_unix(o))
        return sk_sock_connect_unix(o->target, err);
    if (sk_sock_parse_hostport(o->target, host, sizeof(host), &port, err) < 0)
        return -1;
    fd = sk_sock_connect_tcp(host, port, 5000, err);
    /* Small requests, one or a few at a time: Nagle would hold them. */
    if (fd >= 0)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static int
client_start(struct bench *b, struct client *c, struct sk_err *err)
{
    c->fd = target_connect(&b->o, err);
    if (c->fd < 0)
        return sk_err_wrap(err, "connection %d", c->id);
    if (sk_sock_set_nonblock(c->fd, err) < 0 ||
        sk_loop_fd_add(b->loop, c->fd, SK_EV_READ, on_client_event, c, err) < 0) {
        close(c->fd);
        c->fd = -1;
        return sk_err_wrap(err, "connection %d", c->id);
    }
    b->live++;
    b->started++;
    if (b->o.token && !is_unix(&b->o)) {
        sk_buf_printf(&c->out, "auth %s\n", b->o.token);
        client_sent(c, OP_AUTH, 0);
        b->unauthed++;
    }
    if (c->watcher) {
        sk_buf_printf(&c->out, "watch pods %s\n", b->o.ns);
        client_sent(c, OP_WATCH, 0);
    }
    client_flush(c);
    return 0;
}

/* Run the loop until done(b) or the deadline; -1 with err on timeout. */
static int
run_until(struct bench *b, bool (*done)(struct bench *), int64_t deadline, const char *what,
          struct sk_err *err)
{
    while (!done(b)) {
        if (b->live < b->started)
            return sk_err_set(err, ECONNRESET, "%s: %d of %d connections lost", what,
                              b->started - b->live, b->started);
        if (sk_clock_mono_ns() >= deadline)
            return sk_err_set(err, ETIMEDOUT, "%s: not done after %.0f s", what, b->o.timeout_s);
        if (sk_loop_run_once(b->loop, 10, err) < 0)
            return -1;
    }
    return 0;
}

static int
connect_all(struct bench *b, struct sk_err *err)
{
    int i;

    for (i = 0; i < b->nclients; i++)
        if (client_start(b, &b->clients[i], err) < 0)
            return -1;
    return 0;
}

/* --- ops mode --- */

/* User + system CPU seconds of --pid (proc(5), fields 14 and 15), -1
 * when not given or unreadable. */
static double
server_cpu_s(const struct bench *b)
{
    char path[64], buf[1024], *p;
    unsigned long long ut, st;
    ssize_t n;
    int fd;

    if (b->o.server_pid <= 0)
        return -1;
    snprintf(path, sizeof(path), "/proc/%d/stat", b->o.server_pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    /* the command name may hold spaces and parentheses: skip to the last ')' */
    p = strrchr(buf, ')');
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static bool
authed(struct bench *b)
{
    return b->unauthed == 0;
}

static bool
drained(struct bench *b)
{
    int i;

    if (sk_clock_mono_ns() < b->t_end)
        return false;
    for (i = 0; i < b->nclients; i++)
        if (b->clients[i].qlen > 0 && !b->clients[i].dead)
            return false;
    return true;
}

static int
ops_run(struct bench *b, struct sk_err *err)
{
    int64_t deadline = sk_clock_mono_ns() + (int64_t)(b->o.timeout_s * 1e9);
    int k, i;

    if (connect_all(b, err) < 0 || run_until(b, authed, deadline, "auth", err) < 0)
        return -1;
    for (k = 0; k < b->o.nops; k++) {
        b->phase = b->o.ops[k];
        b->t_start = sk_clock_mono_ns();
        b->t_measure = b->t_start + (int64_t)(b->o.warmup_s * 1e9);
        b->t_end = b->t_measure + (int64_t)(b->o.duration_s * 1e9);
        b->phase_on = true;
        b->cpu_s[b->phase] = server_cpu_s(b);
        for (i = 0; i < b->nclients; i++)
            client_issue(&b->clients[i]);
        if (run_until(b, drained, deadline, op_names[b->phase], err) < 0)
            return -1;
        b->phase_on = false;
        if (b->cpu_s[b->phase] >= 0)
            b->cpu_s[b->phase] = server_cpu_s(b) - b->cpu_s[b->phase];
    }
    return 0;
}

static void
ops_report(struct bench *b)
{
    int k;

    printf("clients %d\n", b->o.clients);
    for (k = 0; k < b->o.nops; k++) {
        enum op op = b->o.ops[k];

        printf("%s_ops %zu\n", op_names[op], b->lat[op].n);
        printf("%s_errors %llu\n", op_names[op], (unsigned long long)b->errors[op]);
        printf("%s_ops_per_s %.1f\n", op_names[op], (double)b->lat[op].n / b->o.duration_s);
        lat_print(op_names[op], &b->lat[op]);
        /* warm-up included: CPU and requests of the whole phase */
        if (b->o.server_pid > 0 && b->ok[op] + b->errors[op] > 0)
            printf("%s_server_cpu_us_per_op %.1f\n", op_names[op],
                   b->cpu_s[op] * 1e6 / (double)(b->ok[op] + b->errors[op]));
    }
}

/* --- load mode --- */

static bool
loaded(struct bench *b)
{
    return b->completed >= b->o.count;
}

static int
load_run(struct bench *b, struct sk_err *err)
{
    int64_t deadline = sk_clock_mono_ns() + (int64_t)(b->o.timeout_s * 1e9);
    int i;

    if (connect_all(b, err) < 0 || run_until(b, authed, deadline, "auth", err) < 0)
        return -1;
    b->t_start = sk_clock_mono_ns();
    for (i = 0; i < b->nclients; i++)
        client_issue(&b->clients[i]);
    if (run_until(b, loaded, deadline, "load", err) < 0)
        return -1;
    b->t_end = sk_clock_mono_ns();
    return 0;
}

static void
load_report(struct bench *b)
{
    double s = (double)(b->t_end - b->t_start) / 1e9;

    printf("clients %d\npipeline %d\n", b->o.clients, b->o.pipeline);
    printf("create_ok %llu\n", (unsigned long long)b->ok[OP_CREATE]);
    printf("create_errors %llu\n", (unsigned long long)b->errors[OP_CREATE]);
    printf("elapsed_s %.3f\n", s);
    printf("create_ops_per_s %.1f\n", s > 0 ? (double)b->ok[OP_CREATE] / s : 0.0);
    lat_print("create", &b->lat[OP_CREATE]);
}

/* --- watch mode --- */

static void
on_gap(struct sk_loop *loop, void *arg)
{
    struct bench *b = arg;
    struct client *w = &b->clients[b->o.watchers];
    char name[NAME_MAX_LEN];

    (void)loop;
    b->gap_wait = false;
    if (w->dead || b->widx >= b->o.writes)
        return;
    pod_name(b, w, b->widx, name, sizeof(name));
    sk_buf_puts(&w->out, "create ");
    pod_json(&w->out, b->o.ns, name, 0);
    b->write_busy = true;
    client_sent(w, OP_CREATE, b->widx);
    b->w_sent[b->widx] = w->q[(w->qhead + w->qlen - 1) % MAX_PIPELINE].sent_ns;
    b->widx++;
    client_flush(w);
}

/* Send the next write once the last one is acknowledged and delivered to
 * every watcher, after the gap. */
static void
watch_next(struct bench *b)
{
    uint64_t last;

    if (b->write_busy || b->gap_wait || b->widx >= b->o.writes)
        return;
    last = b->widx - 1;
    if (b->widx > 0 && b->w_got[last] < b->watching)
        return;
    b->gap_wait = true;
    sk_loop_timer_add(b->loop, (uint64_t)b->o.gap_ms, on_gap, b);
}

static bool
watching_all(struct bench *b)
{
    return b->watching >= b->want_watching;
}

/* VmRSS of --pid in kB, -1 when not given or unreadable. */
static long
server_rss_kb(const struct bench *b)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;

    if (b->o.server_pid <= 0)
        return -1;
    snprintf(path, sizeof(path), "/proc/%d/status", b->o.server_pid);
    f = fopen(path, "re");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* Start the watchers WATCH_BATCH at a time: a watch without rev waits for
 * a read barrier, and while it waits it counts against the server's
 * max-requests-inflight (400 by default), so 1,000 at once would get
 * 429s on a multi-member control plane. */
static int
watch_start_all(struct bench *b, int64_t deadline, struct sk_err *err)
{
    int i;

    for (i = 0; i < b->o.watchers; i++) {
        if (client_start(b, &b->clients[i], err) < 0)
            return -1;
        if ((i + 1) % WATCH_BATCH == 0 || i + 1 == b->o.watchers) {
            b->want_watching = i + 1;
            if (run_until(b, watching_all, deadline, "watch start", err) < 0)
                return -1;
        }
    }
    return client_start(b, &b->clients[b->o.watchers], err) < 0 ||
                   run_until(b, authed, deadline, "auth", err) < 0
               ? -1
               : 0;
}

/* Every write acknowledged, and delivered everywhere or given up on: a
 * write whose deliveries stall past 5 s lets the run go on without them
 * (they count as missed). */
static bool
watch_done(struct bench *b)
{
    static const int64_t stall_ns = 5000000000LL;
    int64_t now = sk_clock_mono_ns();

    if (!b->write_busy && !b->gap_wait && b->widx > 0 && b->w_got[b->widx - 1] < b->watching &&
        now - b->w_ack[b->widx - 1] > stall_ns) {
        fprintf(stderr, "api_load: write %llu reached %d of %d watchers in 5 s\n",
                (unsigned long long)(b->widx - 1), b->w_got[b->widx - 1], b->watching);
        b->w_got[b->widx - 1] = b->watching;
        watch_next(b);
    }
    return b->widx >= b->o.writes && !b->write_busy && b->w_got[b->o.writes - 1] >= b->watching;
}

static int
watch_run(struct bench *b, struct sk_err *err)
{
    int64_t deadline = sk_clock_mono_ns() + (int64_t)(b->o.timeout_s * 1e9);
    size_t n = (size_t)b->o.writes;

    b->w_sent = sk_calloc(n, sizeof(*b->w_sent));
    b->w_ack = sk_calloc(n, sizeof(*b->w_ack));
    b->w_got = sk_calloc(n, sizeof(*b->w_got));
    b->w_recv = sk_calloc(n * (size_t)b->o.watchers, sizeof(*b->w_recv));
    if (watch_start_all(b, deadline, err) < 0)
        return -1;
    b->rss_watching_kb = server_rss_kb(b);
    b->t_start = sk_clock_mono_ns();
    watch_next(b);
    if (run_until(b, watch_done, deadline, "watch", err) < 0)
        return -1;
    b->t_end = sk_clock_mono_ns();
    return 0;
}

static void
watch_report(struct bench *b)
{
    struct lat from_ack = {0}, from_send = {0}, all_ack = {0}, all_send = {0}, spread = {0};
    uint64_t i, before_ack = 0, missed = 0;
    int w;

    for (i = 0; i < b->o.writes; i++) {
        int64_t last = 0, first = INT64_MAX;

        for (w = 0; w < b->o.watchers; w++) {
            int64_t t = b->w_recv[i * (uint64_t)b->o.watchers + (uint64_t)w];

            if (!t) {
                missed++;
                continue;
            }
            lat_add(&from_ack, t - b->w_ack[i]);
            lat_add(&from_send, t - b->w_sent[i]);
            before_ack += t < b->w_ack[i];
            last = t > last ? t : last;
            first = t < first ? t : first;
        }
        if (last) {
            lat_add(&all_ack, last - b->w_ack[i]);
            lat_add(&all_send, last - b->w_sent[i]);
            lat_add(&spread, last - first);
        }
        lat_add(&b->lat[OP_CREATE], b->w_ack[i] - b->w_sent[i]);
    }
    printf("watchers %d\nwrites %llu\n", b->o.watchers, (unsigned long long)b->o.writes);
    printf("deliveries %llu\nmissed %llu\nstray_lines %llu\n", (unsigned long long)b->deliveries,
           (unsigned long long)missed, (unsigned long long)b->strays);
    printf("delivered_before_ack %llu\n", (unsigned long long)before_ack);
    printf("write_errors %llu\n", (unsigned long long)b->errors[OP_CREATE]);
    printf("server_rss_kb_watching %ld\nserver_rss_kb_end %ld\n", b->rss_watching_kb,
           server_rss_kb(b));
    lat_print("write", &b->lat[OP_CREATE]);
    lat_print("from_ack", &from_ack);
    lat_print("from_send", &from_send);
    lat_print("last_from_ack", &all_ack);
    lat_print("last_from_send", &all_send);
    lat_print("first_to_last", &spread);
    free(from_ack.v);
    free(from_send.v);
    free(all_ack.v);
    free(all_send.v);
    free(spread.v);
}

/* --- the run --- */

static void
raise_nofile(void)
{
    struct rlimit rl;

    /* Thousands of watchers need as many fds; the hard limit is the most
     * an unprivileged process may take. */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            fprintf(stderr, "api_load: setrlimit NOFILE: %s\n", strerror(errno));
    }
}

static void
bench_release(struct bench *b)
{
    int i, k;

    for (i = 0; b->clients && i < b->nclients; i++) {
        struct client *c = &b->clients[i];

        if (c->fd >= 0) {
            sk_loop_fd_del(b->loop, c->fd);
            close(c->fd);
        }
        sk_buf_release(&c->out);
        sk_buf_release(&c->in);
    }
    for (k = 0; k < OP_COUNT; k++)
        free(b->lat[k].v);
    free(b->clients);
    free(b->w_sent);
    free(b->w_ack);
    free(b->w_recv);
    free(b->w_got);
    sk_loop_free(b->loop);
}

static int
bench_main(const struct opts *o)
{
    struct bench b;
    struct sk_err err;
    int i, r = -1, rc = 1;

    memset(&b, 0, sizeof(b));
    sk_err_init(&err);
    b.o = *o;
    raise_nofile();
    b.nclients = o->mode == MODE_WATCH ? o->watchers + 1 : o->clients;
    b.clients = sk_calloc((size_t)b.nclients, sizeof(*b.clients));
    for (i = 0; i < b.nclients; i++) {
        b.clients[i] = (struct client){.b = &b, .id = i, .fd = -1};
        b.clients[i].watcher = o->mode == MODE_WATCH && i < o->watchers;
        sk_buf_init(&b.clients[i].out);
        sk_buf_init(&b.clients[i].in);
    }
    if (sk_loop_new(&b.loop, &err) < 0)
        goto out;
    if (o->mode == MODE_OPS)
        r = ops_run(&b, &err);
    else if (o->mode == MODE_LOAD)
        r = load_run(&b, &err);
    else
        r = watch_run(&b, &err);
    if (r < 0)
        goto out;
    if (o->mode == MODE_OPS)
        ops_report(&b);
    else if (o->mode == MODE_LOAD)
        load_report(&b);
    else
        watch_report(&b);
    fflush(stdout);
    rc = b.live == b.nclients ? 0 : 1;
out:
    if (err.code)
        fprintf(stderr, "api_load: %s\n", err.msg);
    bench_release(&b);
    return rc;
}

/* --- one request (--request) --- */

static int
request_main(const struct opts *o)
{
    struct sk_lineclient lc;
    struct sk_err err;
    char *line;
    size_t len;
    int fd, timeout_ms = (int)(o->timeout_s * 1000);
    unsigned long count;
    int rc = 1;

    sk_err_init(&err);
    fd = target_connect(o, &err);
    if (fd < 0) {
        fprintf(stderr, "api_load: %s\n", err.msg);
        return 1;
    }
    sk_lineclient_init(&lc, fd, 1u << 24);
    if (o->token && !is_unix(o)) {
        char *auth = sk_asprintf("auth %s", o->token);
        int r = sk_lineclient_send(&lc, auth, &err);

        free(auth);
        if (r < 0 || sk_lineclient_recv(&lc, &line, &len, timeout_ms, &err) < 0)
            goto out;
        if (!sk_startswith(line, "ok")) {
            fprintf(stderr, "api_load: auth refused: %s\n", line);
            goto out;
        }
    }
    if (sk_lineclient_send(&lc, o->request, &err) < 0 ||
        sk_lineclient_recv(&lc, &line, &len, timeout_ms, &err) < 0)
        goto out;
    printf("%s\n", line);
    if (!sk_startswith(line, "ok "))
        goto out;
    for (count = strtoul(line + 3, NULL, 10); count > 0; count--) {
        if (sk_lineclient_recv(&lc, &line, &len, timeout_ms, &err) < 0)
            goto out;
        printf("%s\n", line);
    }
    rc = 0;
out:
    if (err.code)
        fprintf(stderr, "api_load: '%s': %s\n", o->target, err.msg);
    sk_lineclient_release(&lc);
    return rc;
}

/* --- options --- */

static void
usage(FILE *f)
{
    fprintf(f, "usage: api_load --target SOCKET|HOST:PORT [--token T] [--namespace NS]\n"
               "                [--prefix P] [--timeout S] MODE\n"
               "modes: [--ops create,get,update] [--clients N] [--warmup S] [--duration S]\n"
               "       --count K [--clients N] [--pipeline D]\n"
               "       --watchers W --writes K [--gap-ms G] [--pid SERVER_PID]\n"
               "       --request LINE\n");
}

static int
parse_num(const char *name, const char *s, double min, double max, double *out)
{
    char *e;

    errno = 0;
    *out = strtod(s, &e);
    if (errno || e == s || *e || *out < min || *out > max) {
        fprintf(stderr, "api_load: --%s '%s': expected a number from %g to %g\n", name, s, min,
                max);
        return -1;
    }
    return 0;
}

static int
parse_ops(const char *s, struct opts *o)
{
    char copy[64], *save = NULL, *tok;
    int k;

    if (sk_strlcpy(copy, s, sizeof(copy)) < 0)
        return -1;
    o->nops = 0;
    for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        for (k = OP_CREATE; k <= OP_UPDATE; k++)
            if (strcmp(tok, op_names[k]) == 0)
                break;
        if (k > OP_UPDATE || o->nops == 3) {
            fprintf(stderr, "api_load: --ops '%s': expected create, get, update\n", s);
            return -1;
        }
        o->ops[o->nops++] = (enum op)k;
    }
    return o->nops > 0 ? 0 : -1;
}

static int
parse_opt(int ch, const char *arg, struct opts *o)
{
    double v = 0;

    switch (ch) {
    case 'a':
        o->target = arg;
        return 0;
    case 't':
        o->token = arg;
        return 0;
    case 'N':
        o->ns = arg;
        return 0;
    case 'p':
        o->prefix = arg;
        return 0;
    case 'r':
        o->request = arg;
        o->mode = MODE_REQUEST;
        return 0;
    case 'o':
        return parse_ops(arg, o);
    case 'c':
        if (parse_num("clients", arg, 1, MAX_CLIENTS, &v) < 0)
            return -1;
        o->clients = (int)v;
        return 0;
    case 'P':
        if (parse_num("pipeline", arg, 1, MAX_PIPELINE, &v) < 0)
            return -1;
        o->pipeline = (int)v;
        return 0;
    case 'W':
        if (parse_num("watchers", arg, 1, MAX_CLIENTS, &v) < 0)
            return -1;
        o->watchers = (int)v;
        o->mode = MODE_WATCH;
        return 0;
    case 'K':
        if (parse_num("writes", arg, 1, 100000, &v) < 0)
            return -1;
        o->writes = (uint64_t)v;
        return 0;
    case 'g':
        if (parse_num("gap-ms", arg, 0, 10000, &v) < 0)
            return -1;
        o->gap_ms = (int)v;
        return 0;
    case 'n':
        if (parse_num("count", arg, 1, 1e9, &v) < 0)
            return -1;
        o->count = (uint64_t)v;
        o->mode = MODE_LOAD;
        return 0;
    case 'i':
        if (parse_num("pid", arg, 1, 1 << 30, &v) < 0)
            return -1;
        o->server_pid = (int)v;
        return 0;
    case 'd':
        return parse_num("duration", arg, 0.1, 86400, &o->duration_s);
    case 'w':
        return parse_num("warmup", arg, 0, 86400, &o->warmup_s);
    case 'T':
        return parse_num("timeout", arg, 0.1, 86400, &o->timeout_s);
    default:
        return -1;
    }
}

static int
parse_opts(int argc, char **argv, struct opts *o)
{
    static const struct option longopts[] = {{"target", required_argument, NULL, 'a'},
                                             {"token", required_argument, NULL, 't'},
                                             {"namespace", required_argument, NULL, 'N'},
                                             {"prefix", required_argument, NULL, 'p'},
                                             {"request", required_argument, NULL, 'r'},
                                             {"ops", required_argument, NULL, 'o'},
                                             {"clients", required_argument, NULL, 'c'},
                                             {"pipeline", required_argument, NULL, 'P'},
                                             {"watchers", required_argument, NULL, 'W'},
                                             {"writes", required_argument, NULL, 'K'},
                                             {"gap-ms", required_argument, NULL, 'g'},
                                             {"count", required_argument, NULL, 'n'},
                                             {"duration", required_argument, NULL, 'd'},
                                             {"warmup", required_argument, NULL, 'w'},
                                             {"timeout", required_argument, NULL, 'T'},
                                             {"pid", required_argument, NULL, 'i'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int ch;

    *o = (struct opts){.mode = MODE_OPS,
                       .ops = {OP_CREATE, OP_GET, OP_UPDATE},
                       .nops = 3,
                       .clients = 1,
                       .pipeline = 1,
                       .writes = 100,
                       .gap_ms = 10,
                       .duration_s = 5,
                       .warmup_s = 1,
                       .timeout_s = 300,
                       .prefix = "bench",
                       .ns = "default"};
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (ch == 'h') {
            usage(stdout);
            exit(0);
        }
        if (parse_opt(ch, optarg, o) < 0)
            return -1;
    }
    if (optind != argc || !o->target) {
        fprintf(stderr, "api_load: %s\n",
                optind != argc ? "unexpected arguments" : "--target is required");
        return -1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    struct opts o;

    if (parse_opts(argc, argv, &o) < 0) {
        usage(stderr);
        return 2;
    }
    if (o.mode == MODE_REQUEST)
        return request_main(&o);
    return bench_main(&o);
}
