/* store_load: closed-loop write load against skiff's store or etcd, for
 * bench/store. One process, N client connections on one epoll loop
 * (lib/loop.h); each client has exactly one request in flight and sends
 * the next as soon as the answer arrives, so throughput is what the
 * server sustains at concurrency N, and latency is per request.
 *
 * Two backends speak to the server natively, over persistent connections:
 *
 *   --skiff SOCKET|HOST:PORT   the line protocol (man/skiff-protocol.7):
 *       request   "kv put KEY VALUE\n", KEY and VALUE percent-encoded
 *                 (space, '%' and bytes outside printable ASCII as %XX)
 *       response  "ok COUNT [words]\n" followed by COUNT body lines, or
 *                 "error CODE Reason message\n" (no body)
 *       Over TCP, "auth TOKEN" is sent first when --token is given.
 *
 *   --etcd HOST:PORT           etcd's v3 JSON gateway, HTTP/1.1 keep-alive:
 *       request   POST /v3/kv/put, body {"key":"<base64>","value":"<base64>"}
 *                 with Content-Length and Connection: keep-alive
 *       response  status line, headers, then a body delimited by
 *                 Content-Length or chunked transfer coding; 200 is
 *                 success, anything else an error.
 *
 * Modes: duration (--warmup S then --duration S; keys
 * PREFIX/cCLIENT/SEQ, never repeated) or count (--count K keys
 * PREFIX/INDEX put once each, as fast as N clients go, for loading).
 * --request LINE sends one line-protocol request (skiff only) and prints
 * the response, for scripts that need `kv status`.
 *
 * Output, one "name value" pair a line: backend, clients, ops (successes
 * in the measured window), all_ops (warm-up included), errors, elapsed_s,
 * writes_per_s, mean_ms, p50_ms, p99_ms, p999_ms, max_ms. Latencies
 * are all kept (8 bytes each) and sorted at the end. Exit status 0 if
 * any write succeeded and no connection was lost, else 1; 2 on bad
 * usage. */
#include "lib/alloc.h"
#include "lib/base64.h"
#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/line.h"
#include "lib/loop.h"
#include "lib/sock.h"

#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CLIENTS    4096
#define MAX_HEADER     65536
#define READ_CHUNK     65536
#define MAX_ERR_PRINTS 5

enum backend { BACKEND_SKIFF, BACKEND_ETCD };

struct opts {
    enum backend backend;
    const char *target;
    const char *token;
    const char *request;
    const char *key_prefix;
    int clients;
    double duration_s;
    double warmup_s;
    double timeout_s;
    size_t value_size;
    uint64_t count; /* 0: duration mode */
};

struct client {
    struct bench *b;
    int id;
    int fd;
    bool busy, authed, dead;
    bool want_write; /* SK_EV_WRITE is being watched */
    struct sk_buf out;
    size_t out_off;
    struct sk_buf in;
    int64_t sent_ns;
    uint64_t seq;
};

struct bench {
    struct opts o;
    struct sk_loop *loop;
    struct client *clients;
    char host[256]; /* etcd Host header */
    int port;
    char *value; /* value_size bytes of unreserved characters */
    int64_t t_measure, t_end;
    uint64_t next_index, completed;              /* count mode */
    uint64_t ok_ops, all_ok, errors, err_prints; /* ok_ops: in the window */
    int live;
    int64_t *lat;
    size_t nlat, lat_cap;
};

/* --- encodings --- */

/* Percent-encoding of the line protocol: space, '%' and every byte
 * outside printable ASCII become %XX. */
static void
pct_encode(struct sk_buf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c <= ' ' || c >= 0x7f || c == '%') {
            sk_buf_putc(out, '%');
            sk_buf_putc(out, hex[c >> 4]);
            sk_buf_putc(out, hex[c & 15]);
        } else {
            sk_buf_putc(out, (char)c);
        }
    }
}

static void
b64_encode(struct sk_buf *out, const char *s, size_t len)
{
    sk_buf_grow(out, SK_BASE64_LEN(len) + 1);
    sk_base64_encode(s, len, out->data + out->len);
    out->len += SK_BASE64_LEN(len);
}

/* --- response framing (pure: bytes in, length of one response out) --- */

/* One line-protocol response at the start of p[0..n): returns its length
 * once complete (status line and COUNT body lines), 0 if more bytes are
 * needed, -1 if the status line is malformed. *ok tells ok from error. */
static long
parse_line_resp(const char *p, size_t n, bool *ok)
{
    const char *start = p, *end = p + n;
    const char *nl = memchr(p, '\n', n);
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

/* Case-insensitive header name match at the start of a header line. */
static const char *
header_value(const char *line, const char *eol, const char *name)
{
    size_t len = strlen(name);

    if ((size_t)(eol - line) <= len || strncasecmp(line, name, len) != 0 || line[len] != ':')
        return NULL;
    line += len + 1;
    while (line < eol && (*line == ' ' || *line == '\t'))
        line++;
    return line;
}

/* The end of a chunked body starting at p (RFC 9112 §7.1): returns the
 * offset just past the last chunk and trailer section, 0 if incomplete,
 * -1 on a bad chunk size. */
static long
chunked_end(const char *start, size_t n, size_t pos)
{
    for (;;) {
        const char *line = start + pos;
        const char *crlf = memmem(line, n - pos, "\r\n", 2);
        unsigned long size;
        char *e;

        if (!crlf)
            return 0;
        errno = 0;
        size = strtoul(line, &e, 16);
        if (errno || e == line || (e < crlf && *e != ';' && *e != ' '))
            return -1;
        pos = (size_t)(crlf - start) + 2;
        if (size == 0)
            break;
        if (size > n || pos + size + 2 > n)
            return 0;
        if (memcmp(start + pos + size, "\r\n", 2) != 0)
            return -1;
        pos += size + 2;
    }
    for (;;) { /* trailer fields, then the empty line */
        const char *crlf = memmem(start + pos, n - pos, "\r\n", 2);

        if (!crlf)
            return 0;
        if (crlf == start + pos)
            return (long)pos + 2;
        pos = (size_t)(crlf - start) + 2;
    }
}

/* One HTTP/1.1 response at the start of p[0..n): its total length once
 * complete, 0 if more bytes are needed, -1 if malformed or not delimited
 * (a body that runs to connection close cannot be used on keep-alive).
 * *status gets the status code. */
static long
parse_http_resp(const char *p, size_t n, int *status)
{
    const char *hend = memmem(p, n, "\r\n\r\n", 4);
    const char *line, *eol;
    long long clen = -1;
    bool chunked = false;
    size_t body;

    if (!hend)
        return n > MAX_HEADER ? -1 : 0;
    if (n < 12 || memcmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ')
        return -1;
    *status = atoi(p + 9);
    if (*status < 100 || *status > 999)
        return -1;
    body = (size_t)(hend - p) + 4;
    for (line = memchr(p, '\n', n) + 1; line < hend + 2; line = eol + 2) {
        const char *v;

        eol = memmem(line, (size_t)(hend + 2 - line), "\r\n", 2);
        if ((v = header_value(line, eol, "content-length")))
            clen = strtoll(v, NULL, 10);
        else if ((v = header_value(line, eol, "transfer-encoding")))
            chunked = memmem(v, (size_t)(eol - v), "chunked", 7) != NULL;
    }
    if (chunked)
        return chunked_end(p, n, body);
    if (clen < 0 && (*status == 204 || *status == 304 || *status < 200))
        clen = 0;
    if (clen < 0)
        return -1;
    return body + (size_t)clen <= n ? (long)(body + (size_t)clen) : 0;
}

/* --- requests --- */

static void
make_key(const struct bench *b, const struct client *c, uint64_t index, char *key, size_t keysz)
{
    if (b->o.count)
        snprintf(key, keysz, "%s/%010llu", b->o.key_prefix, (unsigned long long)index);
    else
        snprintf(key, keysz, "%s/c%04d/%010llu", b->o.key_prefix, c->id, (unsigned long long)index);
}

/* `kv put KEY VALUE`, both percent-encoded. */
static void
make_line_request(struct sk_buf *out, const char *key, const char *value, size_t vlen)
{
    sk_buf_puts(out, "kv put ");
    pct_encode(out, key, strlen(key));
    sk_buf_putc(out, ' ');
    pct_encode(out, value, vlen);
    sk_buf_putc(out, '\n');
}

/* POST /v3/kv/put with the key and value base64-encoded in JSON, as the
 * gateway maps the protobuf `bytes` fields. */
static void
make_http_request(struct sk_buf *out, const struct bench *b, const char *key, const char *value,
                  size_t vlen)
{
    struct sk_buf body = SK_BUF_INIT;

    sk_buf_puts(&body, "{\"key\":\"");
    b64_encode(&body, key, strlen(key));
    sk_buf_puts(&body, "\",\"value\":\"");
    b64_encode(&body, value, vlen);
    sk_buf_puts(&body, "\"}");
    sk_buf_printf(out,
                  "POST /v3/kv/put HTTP/1.1\r\nHost: %s:%d\r\n"
                  "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                  "Connection: keep-alive\r\n\r\n",
                  b->host, b->port, body.len);
    sk_buf_append(out, body.data, body.len);
    sk_buf_release(&body);
}

/* Write the request for key into c->out; the value starts with the key's
 * last 10 characters so no two values are the same. */
static void
make_request(struct bench *b, struct client *c, const char *key)
{
    size_t klen = strlen(key);
    size_t stamp = klen < 10 ? klen : 10;

    if (b->o.value_size >= stamp)
        memcpy(b->value, key + klen - stamp, stamp);
    sk_buf_reset(&c->out);
    c->out_off = 0;
    if (b->o.backend == BACKEND_SKIFF)
        make_line_request(&c->out, key, b->value, b->o.value_size);
    else
        make_http_request(&c->out, b, key, b->value, b->o.value_size);
}

static void client_kill(struct client *c, const char *why);

/* Write as much of c->out as the socket takes; wait for writability for
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
    /* Requests are small: usually written whole, so epoll is touched only
     * when the socket was full. */
    if (c->want_write)
        sk_loop_fd_mod(c->b->loop, c->fd, SK_EV_READ, NULL);
    c->want_write = false;
}

/* Send the next put, or go idle when the run is over (count reached or
 * the measured window ended). */
static void
client_issue(struct client *c)
{
    struct bench *b = c->b;
    char key[512];
    uint64_t index;

    if (b->o.count) {
        if (b->next_index >= b->o.count)
            return;
        index = b->next_index++;
    } else {
        if (sk_clock_mono_ns() >= b->t_end)
            return;
        index = c->seq++;
    }
    make_key(b, c, index, key, sizeof(key));
    make_request(b, c, key);
    c->busy = true;
    c->sent_ns = sk_clock_mono_ns();
    client_flush(c);
}

static void
client_kill(struct client *c, const char *why)
{
    if (c->dead)
        return;
    fprintf(stderr, "store_load: client %d: %s\n", c->id, why);
    sk_loop_fd_del(c->b->loop, c->fd);
    close(c->fd);
    c->fd = -1;
    c->dead = true;
    c->b->live--;
    if (c->busy && c->b->o.count) {
        c->b->completed++;
        c->b->errors++;
    }
    c->busy = false;
}

/* Show an error response on one line (HTTP headers and body included),
 * control characters as spaces. */
static void
print_error_response(const char *resp, size_t len)
{
    char shown[301];
    size_t i, n = len < sizeof(shown) - 1 ? len : sizeof(shown) - 1;

    for (i = 0; i < n; i++)
        shown[i] = (unsigned char)resp[i] < ' ' ? ' ' : resp[i];
    while (n > 0 && shown[n - 1] == ' ')
        n--;
    shown[n] = '\0';
    fprintf(stderr, "store_load: error response: %s\n", shown);
}

static void
record(struct bench *b, int64_t sent, int64_t now, bool ok, const char *resp, size_t len)
{
    if (b->o.count)
        b->completed++;
    if (!ok) {
        b->errors++;
        if (b->err_prints++ < MAX_ERR_PRINTS)
            print_error_response(resp, len);
        return;
    }
    b->all_ok++;
    if (!b->o.count && (now < b->t_measure || now > b->t_end))
        return;
    b->ok_ops++;
    if (b->nlat == b->lat_cap) {
        b->lat_cap = b->lat_cap ? b->lat_cap * 2 : 65536;
        b->lat = sk_reallocarray(b->lat, b->lat_cap, sizeof(*b->lat));
    }
    b->lat[b->nlat++] = now - sent;
}

/* Take every complete response out of c->in. */
static void
client_parse(struct client *c)
{
    struct bench *b = c->b;

    while (c->in.len > 0 && !c->dead) {
        bool ok = false;
        int status = 0;
        long n = b->o.backend == BACKEND_SKIFF ? parse_line_resp(c->in.data, c->in.len, &ok)
                                               : parse_http_resp(c->in.data, c->in.len, &status);

        if (n == 0)
            return;
        if (n < 0 || !c->busy) {
            client_kill(c, n < 0 ? "malformed response" : "response without a request");
            return;
        }
        if (b->o.backend == BACKEND_ETCD)
            ok = status == 200;
        c->busy = false;
        if (!c->authed) {
            c->authed = true;
            if (!ok) {
                client_kill(c, "auth refused");
                return;
            }
        } else {
            record(b, c->sent_ns, sk_clock_mono_ns(), ok, c->in.data, (size_t)n);
        }
        sk_buf_consume(&c->in, (size_t)n);
        client_issue(c);
    }
}

static void
on_client_event(struct sk_loop *loop, int fd, unsigned events, void *arg)
{
    struct client *c = arg;

    if (events & SK_EV_WRITE)
        client_flush(c);
    if (c->dead || !(events & (SK_EV_READ | SK_EV_ERROR)))
        return;
    sk_buf_grow(&c->in, READ_CHUNK);
    ssize_t r = read(c->fd, c->in.data + c->in.len, READ_CHUNK);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (r <= 0) {
        client_kill(c, r == 0 ? "connection closed by server" : strerror(errno));
        return;
    }
    c->in.len += (size_t)r;
    c->in.data[c->in.len] = '\0';
    client_parse(c);
}

/* --- connections --- */

static int
target_connect(const struct opts *o, char *host, size_t hostsz, int *port, struct sk_err *err)
{
    int fd, one = 1;

    if (o->backend == BACKEND_SKIFF && strchr(o->target, '/'))
        return sk_sock_connect_unix(o->target, err);
    if (sk_sock_parse_hostport(o->target, host, hostsz, port, err) < 0)
        return -1;
    fd = sk_sock_connect_tcp(host, *port, 5000, err);
    /* One small request at a time per connection: Nagle would hold the
     * body back waiting for an ACK of the headers. */
    if (fd >= 0)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static int
client_start(struct bench *b, struct client *c, struct sk_err *err)
{
    c->fd = target_connect(&b->o, b->host, sizeof(b->host), &b->port, err);
    if (c->fd < 0)
        return sk_err_wrap(err, "client %d", c->id);
    if (sk_sock_set_nonblock(c->fd, err) < 0 ||
        sk_loop_fd_add(b->loop, c->fd, SK_EV_READ, on_client_event, c, err) < 0) {
        close(c->fd);
        c->fd = -1;
        return sk_err_wrap(err, "client %d", c->id);
    }
    b->live++;
    c->authed = !(b->o.token && b->o.backend == BACKEND_SKIFF && !strchr(b->o.target, '/'));
    if (!c->authed) {
        sk_buf_printf(&c->out, "auth %s\n", b->o.token);
        c->busy = true;
        client_flush(c);
    }
    return 0;
}

/* --- the run --- */

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

/* The q-quantile in ms (nearest rank), 0 without samples. */
static double
quantile_ms(const int64_t *sorted, size_t n, double q)
{
    size_t rank;

    if (n == 0)
        return 0;
    rank = (size_t)(q * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return (double)sorted[rank - 1] / 1e6;
}

static void
report(struct bench *b, double elapsed_s)
{
    double sum = 0;
    size_t i;

    for (i = 0; i < b->nlat; i++)
        sum += (double)b->lat[i];
    if (b->nlat > 0)
        qsort(b->lat, b->nlat, sizeof(*b->lat), cmp_i64);
    printf("backend %s\n", b->o.backend == BACKEND_SKIFF ? "skiff" : "etcd");
    printf("clients %d\n", b->o.clients);
    printf("ops %llu\n", (unsigned long long)b->ok_ops);
    printf("all_ops %llu\n", (unsigned long long)b->all_ok);
    printf("errors %llu\n", (unsigned long long)b->errors);
    printf("elapsed_s %.3f\n", elapsed_s);
    printf("writes_per_s %.1f\n", elapsed_s > 0 ? (double)b->ok_ops / elapsed_s : 0.0);
    printf("mean_ms %.3f\n", b->nlat ? sum / (double)b->nlat / 1e6 : 0.0);
    printf("p50_ms %.3f\n", quantile_ms(b->lat, b->nlat, 0.50));
    printf("p99_ms %.3f\n", quantile_ms(b->lat, b->nlat, 0.99));
    printf("p999_ms %.3f\n", quantile_ms(b->lat, b->nlat, 0.999));
    printf("max_ms %.3f\n", quantile_ms(b->lat, b->nlat, 1.0));
    fflush(stdout);
}

static bool
run_finished(const struct bench *b, int64_t now)
{
    if (b->live == 0)
        return true;
    if (b->o.count)
        return b->completed >= b->o.count;
    return now >= b->t_end;
}

/* Connect every client, start them all, loop until the run is over or
 * --timeout passes. Returns the measured seconds, or <0. */
static double
bench_run(struct bench *b, struct sk_err *err)
{
    int64_t start, deadline, now;
    int i;

    for (i = 0; i < b->o.clients; i++)
        if (client_start(b, &b->clients[i], err) < 0)
            return -1;
    start = sk_clock_mono_ns();
    b->t_measure = start + (int64_t)(b->o.warmup_s * 1e9);
    b->t_end = b->t_measure + (int64_t)(b->o.duration_s * 1e9);
    deadline = start + (int64_t)(b->o.timeout_s * 1e9);
    for (i = 0; i < b->o.clients; i++)
        if (!b->clients[i].busy && !b->clients[i].dead)
            client_issue(&b->clients[i]);
    for (now = start; !run_finished(b, now); now = sk_clock_mono_ns()) {
        if (now >= deadline) {
            sk_err_set(err, ETIMEDOUT, "run not finished after %.0f s (%llu of %llu puts done)",
                       b->o.timeout_s, (unsigned long long)b->completed,
                       (unsigned long long)b->o.count);
            return -1;
        }
        if (sk_loop_run_once(b->loop, 20, err) < 0)
            return -1;
    }
    if (b->live == 0)
        return sk_err_set(err, ECONNRESET, "every connection was lost");
    if (b->o.count)
        return (double)(now - start) / 1e9;
    return b->o.duration_s;
}

static void
bench_release(struct bench *b)
{
    int i;

    for (i = 0; b->clients && i < b->o.clients; i++) {
        struct client *c = &b->clients[i];

        if (c->fd >= 0) {
            sk_loop_fd_del(b->loop, c->fd);
            close(c->fd);
        }
        sk_buf_release(&c->out);
        sk_buf_release(&c->in);
    }
    free(b->clients);
    free(b->value);
    free(b->lat);
    sk_loop_free(b->loop);
}

static int
bench_main(const struct opts *o)
{
    struct bench b;
    struct sk_err err;
    double elapsed;
    size_t i;
    int rc = 1;

    memset(&b, 0, sizeof(b));
    sk_err_init(&err);
    b.o = *o;
    b.value = sk_malloc(o->value_size + 1);
    /* Unreserved characters (RFC 3986 §2.3): nothing to encode on either
     * wire, so both servers get the same bytes. */
    for (i = 0; i < o->value_size; i++)
        b.value[i] = "abcdefghijklmnopqrstuvwxyz0123456789-._~"[i % 40];
    b.value[o->value_size] = '\0';
    b.clients = sk_calloc((size_t)o->clients, sizeof(*b.clients));
    for (i = 0; i < (size_t)o->clients; i++) {
        b.clients[i] = (struct client){.b = &b, .id = (int)i, .fd = -1};
        sk_buf_init(&b.clients[i].out);
        sk_buf_init(&b.clients[i].in);
    }
    if (sk_loop_new(&b.loop, &err) < 0)
        goto out;
    elapsed = bench_run(&b, &err);
    if (elapsed < 0)
        goto out;
    report(&b, elapsed);
    rc = b.ok_ops > 0 && b.live == o->clients ? 0 : 1;
out:
    if (err.code)
        fprintf(stderr, "store_load: %s\n", err.msg);
    bench_release(&b);
    return rc;
}

/* --- one request (--request) --- */

/* Send one line and print the response (status line and body lines).
 * 0 for "ok", 1 for "error" or a failure. */
static int
request_main(const struct opts *o)
{
    struct sk_lineclient lc;
    struct sk_err err;
    char host[256], *line;
    size_t len;
    int port, fd, timeout_ms = (int)(o->timeout_s * 1000);
    unsigned long count;
    int rc = 1;

    sk_err_init(&err);
    fd = target_connect(o, host, sizeof(host), &port, &err);
    if (fd < 0) {
        fprintf(stderr, "store_load: %s\n", err.msg);
        return 1;
    }
    sk_lineclient_init(&lc, fd, 1u << 20);
    if (o->token && !strchr(o->target, '/')) {
        char *auth = sk_asprintf("auth %s", o->token);
        int r = sk_lineclient_send(&lc, auth, &err);

        free(auth);
        if (r < 0 || sk_lineclient_recv(&lc, &line, &len, timeout_ms, &err) < 0)
            goto out;
        if (!sk_startswith(line, "ok")) {
            fprintf(stderr, "store_load: auth refused: %s\n", line);
            goto out;
        }
    }
    if (sk_lineclient_send(&lc, o->request, &err) < 0 ||
        sk_lineclient_recv(&lc, &line, &len, timeout_ms, &err) < 0)
        goto out;
    printf("%s\n", line);
    if (!sk_startswith(line, "ok ")) {
        rc = 1;
        goto out;
    }
    for (count = strtoul(line + 3, NULL, 10); count > 0; count--) {
        if (sk_lineclient_recv(&lc, &line, &len, timeout_ms, &err) < 0)
            goto out;
        printf("%s\n", line);
    }
    rc = 0;
out:
    if (err.code)
        fprintf(stderr, "store_load: '%s': %s\n", o->target, err.msg);
    sk_lineclient_release(&lc);
    return rc;
}

/* --- options --- */

static void
usage(FILE *f)
{
    fprintf(f, "usage: store_load --skiff SOCKET|HOST:PORT | --etcd HOST:PORT\n"
               "                  [--clients N] [--duration S] [--warmup S] [--count K]\n"
               "                  [--value-size B] [--key-prefix P] [--token T] [--timeout S]\n"
               "       store_load --skiff SOCKET|HOST:PORT [--token T] --request LINE\n");
}

static int
parse_num(const char *name, const char *s, double min, double max, double *out)
{
    char *e;

    errno = 0;
    *out = strtod(s, &e);
    if (errno || e == s || *e || *out < min || *out > max) {
        fprintf(stderr, "store_load: --%s '%s': expected a number from %g to %g\n", name, s, min,
                max);
        return -1;
    }
    return 0;
}

static int
parse_opts(int argc, char **argv, struct opts *o)
{
    static const struct option longopts[] = {{"skiff", required_argument, NULL, 's'},
                                             {"etcd", required_argument, NULL, 'e'},
                                             {"clients", required_argument, NULL, 'c'},
                                             {"duration", required_argument, NULL, 'd'},
                                             {"warmup", required_argument, NULL, 'w'},
                                             {"count", required_argument, NULL, 'n'},
                                             {"value-size", required_argument, NULL, 'v'},
                                             {"key-prefix", required_argument, NULL, 'p'},
                                             {"token", required_argument, NULL, 't'},
                                             {"timeout", required_argument, NULL, 'T'},
                                             {"request", required_argument, NULL, 'r'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    double v;
    int ch;

    *o = (struct opts){.clients = 1,
                       .duration_s = 10,
                       .warmup_s = 2,
                       .timeout_s = 600,
                       .value_size = 256,
                       .key_prefix = "bench"};
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 's':
        case 'e':
            o->backend = ch == 's' ? BACKEND_SKIFF : BACKEND_ETCD;
            o->target = optarg;
            break;
        case 'c':
            if (parse_num("clients", optarg, 1, MAX_CLIENTS, &v) < 0)
                return -1;
            o->clients = (int)v;
            break;
        case 'd':
            if (parse_num("duration", optarg, 0.1, 86400, &o->duration_s) < 0)
                return -1;
            break;
        case 'w':
            if (parse_num("warmup", optarg, 0, 86400, &o->warmup_s) < 0)
                return -1;
            break;
        case 'n':
            if (parse_num("count", optarg, 1, 1e12, &v) < 0)
                return -1;
            o->count = (uint64_t)v;
            break;
        case 'v':
            if (parse_num("value-size", optarg, 1, 1 << 20, &v) < 0)
                return -1;
            o->value_size = (size_t)v;
            break;
        case 'T':
            if (parse_num("timeout", optarg, 0.1, 86400, &o->timeout_s) < 0)
                return -1;
            break;
        case 'p':
            o->key_prefix = optarg;
            break;
        case 't':
            o->token = optarg;
            break;
        case 'r':
            o->request = optarg;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            return -1;
        }
    }
    if (optind != argc || !o->target) {
        fprintf(stderr, "store_load: %s\n",
                optind != argc ? "unexpected arguments" : "--skiff or --etcd is required");
        return -1;
    }
    if (o->request && o->backend != BACKEND_SKIFF) {
        fprintf(stderr, "store_load: --request needs --skiff\n");
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
    if (o.request)
        return request_main(&o);
    return bench_main(&o);
}
