/* The peer transport (API in transport.h; wire format and handshake at
 * the top of frame.c).
 *
 * A connection reads into an input buffer, takes whole frames out of it
 * and hands authenticated ones to the node; it writes from an output
 * buffer as far as the socket takes it and waits for EPOLLOUT for the
 * rest. An outbound connection that fails is redialed after a backoff
 * that doubles from 50 ms up to 2 s, reset by a successful handshake.
 *
 * SILENT PARTITIONS. Messages only flow from dialer to listener, so a
 * dialer learns nothing from the other side of its connection. When the
 * path silently drops packets, TCP retransmits with an exponential
 * backoff (RFC 6298 §5.5: 200 ms, 400, 800, 1.6 s, ...) and the
 * connection stays "up" for many minutes; once the path heals, nothing
 * moves until the next retransmission, seconds later (the 2-3 s stall
 * of a healed leader seen in t1005). So every CHECK_MS the transport
 * asks the kernel (TCP_INFO) whether an outbound connection is in
 * retransmission backoff (STALL_RETRANSMITS timeouts in a row without an
 * ACK; zero-window probing of a slow reader does not count), and if so
 * drops it and dials again at once. A dial into silence is abandoned
 * after CONNECT_MS and retried at once too, rather than waiting for the
 * SYN's own 1 s retransmission, so a healed path is used within about
 * CONNECT_MS. When the other side dials again, its old connection to us
 * (never closed: its FIN was dropped) is replaced by the new one.
 * Peer addresses are resolved with getaddrinfo() when dialing (a host
 * name blocks the loop while resolving; use IP literals). */
#include "store/transport.h"
#include "store/frame.h"

#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/sock.h"
#include "lib/sha256.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#define BACKOFF_MIN_MS    50
#define BACKOFF_MAX_MS    2000
#define HANDSHAKE_MS      5000
#define CONNECT_MS        500
#define CHECK_MS          100
#define STALL_RETRANSMITS 2
#define READ_CHUNK        (256u << 10)
#define TRANSPORT_MAX_IN  64

enum conn_state {
    C_CONNECTING = 1, /* dialer: connect(2) in progress */
    C_HELLO,          /* waiting for the other side's HELLO */
    C_AUTH,           /* waiting for the other side's AUTH */
    C_UP,
};

struct tpeer;

struct tconn {
    struct transport *t;
    struct tpeer *peer; /* dialer side: the peer dialed; NULL for accepted */
    int fd;
    enum conn_state state;
    struct sk_buf in, out;
    size_t out_off;
    struct frame_hello mine, theirs;
    uint64_t timer; /* handshake deadline */
    uint64_t started_ms;
    bool want_write;
};

struct tpeer {
    struct transport *t;
    uint64_t id;
    char addr[FRAME_ADDR_MAX + 1];
    struct tconn *conn; /* outbound, NULL while waiting to redial */
    uint64_t redial_timer;
    uint64_t backoff_ms;
    bool drain_wanted;
};

struct transport {
    struct sk_loop *loop;
    uint64_t id;
    char name[FRAME_NAME_MAX + 1];
    char addr[FRAME_ADDR_MAX + 1];
    unsigned char *secret;
    size_t secret_len;
    struct transport_ops ops;
    void *arg;
    struct sk_listener *listener;
    struct tpeer peers[16];
    size_t npeers;
    struct tconn *in[TRANSPORT_MAX_IN];
    uint64_t check_timer;
};

static void conn_on_event(struct sk_loop *loop, int fd, unsigned events, void *arg);
static void peer_dial(struct transport *t, struct tpeer *p);

static struct tpeer *
peer_find(const struct transport *t, uint64_t id)
{
    size_t i;

    for (i = 0; i < t->npeers; i++)
        if (t->peers[i].id == id)
            return (struct tpeer *)&t->peers[i];
    return NULL;
}

/* ---- connections ---- */

static void
conn_update(struct tconn *c)
{
    bool want = c->state == C_CONNECTING || c->out.len > c->out_off;

    if (want != c->want_write) {
        c->want_write = want;
        sk_loop_fd_mod(c->t->loop, c->fd, SK_EV_READ | (want ? SK_EV_WRITE : 0), NULL);
    }
}

static void
redial_cb(struct sk_loop *loop, void *arg)
{
    struct tpeer *p = arg;

    p->redial_timer = 0;
    peer_dial(p->t, p);
}

static void
conn_free(struct tconn *c, const char *why)
{
    struct transport *t = c->t;
    struct tpeer *p = c->peer;
    size_t i;

    if (c->timer)
        sk_loop_timer_cancel(t->loop, c->timer);
    if (c->fd >= 0) {
        sk_loop_fd_del(t->loop, c->fd);
        close(c->fd);
    }
    for (i = 0; i < TRANSPORT_MAX_IN; i++)
        if (t->in[i] == c)
            t->in[i] = NULL;
    if (p) {
        bool was_up = c->state == C_UP;

        p->conn = NULL;
        if (why)
            sk_debug("store", "peer %016llx at '%s': %s", (unsigned long long)p->id, p->addr, why);
        if (was_up && t->ops.on_peer_down)
            t->ops.on_peer_down(t->arg, p->id);
        p->redial_timer = sk_loop_timer_add(t->loop, p->backoff_ms, redial_cb, p);
        p->backoff_ms = p->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : p->backoff_ms * 2;
    }
    sk_buf_release(&c->in);
    sk_buf_release(&c->out);
    free(c);
}

static void
conn_queue(struct tconn *c, uint8_t type, const void *payload, size_t len)
{
    unsigned char hdr[FRAME_HEADER_SIZE];

    frame_header_encode(hdr, type, payload, (uint32_t)len);
    sk_buf_append(&c->out, hdr, sizeof(hdr));
    sk_buf_append(&c->out, payload, len);
}

/* Write what the socket takes. Returns <0 when the conn was freed. */
static int
conn_flush(struct tconn *c)
{
    ssize_t n;

    while (c->out.len > c->out_off) {
        n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0) {
            conn_free(c, strerror(errno));
            return -1;
        }
        c->out_off += (size_t)n;
    }
    if (c->out_off == c->out.len) {
        sk_buf_reset(&c->out);
        c->out_off = 0;
    } else if (c->out_off > (1u << 20)) {
        sk_buf_consume(&c->out, c->out_off);
        c->out_off = 0;
    }
    if (c->peer && c->peer->drain_wanted && c->out.len - c->out_off < TRANSPORT_QUEUE_MAX / 4) {
        c->peer->drain_wanted = false;
        if (c->t->ops.on_drain)
            c->t->ops.on_drain(c->t->arg, c->peer->id);
    }
    conn_update(c);
    return 0;
}

static void
send_hello(struct tconn *c)
{
    struct sk_buf b = SK_BUF_INIT;

    frame_hello_encode(&b, &c->mine);
    conn_queue(c, FRAME_HELLO, b.data, b.len);
    sk_buf_release(&b);
}

static void
send_auth(struct tconn *c, char role)
{
    unsigned char mac[FRAME_MAC_SIZE];
    const struct frame_hello *dialer = c->peer ? &c->mine : &c->theirs;
    const struct frame_hello *listener = c->peer ? &c->theirs : &c->mine;

    frame_auth_mac(c->t->secret, c->t->secret_len, role, dialer, listener, mac);
    conn_queue(c, FRAME_AUTH, mac, sizeof(mac));
}

static int
check_auth(struct tconn *c, const unsigned char *p, size_t len)
{
    unsigned char mac[FRAME_MAC_SIZE];
    const struct frame_hello *dialer = c->peer ? &c->mine : &c->theirs;
    const struct frame_hello *listener = c->peer ? &c->theirs : &c->mine;

    if (len != FRAME_MAC_SIZE)
        return -1;
    frame_auth_mac(c->t->secret, c->t->secret_len, c->peer ? 'S' : 'C', dialer, listener, mac);
    return frame_mac_equal(mac, p) ? 0 : -1;
}

static void
conn_init_hello(struct tconn *c)
{
    struct transport *t = c->t;

    c->mine.id = t->id;
    sk_strlcpy(c->mine.name, t->name, sizeof(c->mine.name));
    sk_strlcpy(c->mine.addr, t->addr, sizeof(c->mine.addr));
    sk_random_bytes(c->mine.nonce, FRAME_NONCE_SIZE);
}

/* A peer dials again only after dropping its previous connection to us;
 * that one may still look open here (its FIN lost in a partition).
 * Close it, so stale connections do not pile up. */
static void
in_replace(struct tconn *c)
{
    struct transport *t = c->t;
    size_t i;

    for (i = 0; i < TRANSPORT_MAX_IN; i++)
        if (t->in[i] && t->in[i] != c && t->in[i]->state == C_UP &&
            t->in[i]->theirs.id == c->theirs.id)
            conn_free(t->in[i], "replaced by a new connection");
}

/* One frame. Returns <0 when the conn was freed. */
static int
conn_frame(struct tconn *c, uint8_t type, const unsigned char *p, size_t len)
{
    struct transport *t = c->t;
    struct sk_err err;

    if (c->state == C_HELLO) {
        if (type != FRAME_HELLO || frame_hello_decode(p, len, &c->theirs, &err) < 0) {
            sk_warn("store", "refusing peer connection: expected a valid hello");
            conn_free(c, "bad hello");
            return -1;
        }
        if (c->peer && c->theirs.id != c->peer->id) {
            sk_warn("store", "peer at '%s' is '%s' (%016llx), not the member expected",
                    c->peer->addr, c->theirs.name, (unsigned long long)c->theirs.id);
            conn_free(c, "unexpected member");
            return -1;
        }
        c->state = C_AUTH;
        if (!c->peer) { /* listener: answer hello and prove first */
            send_hello(c);
            send_auth(c, 'S');
        }
        return 0;
    }
    if (c->state == C_AUTH) {
        if (type != FRAME_AUTH || check_auth(c, p, len) < 0) {
            sk_warn("store", "refusing peer '%s' (%016llx): it does not know the cluster secret",
                    c->theirs.name, (unsigned long long)c->theirs.id);
            conn_free(c, "bad cluster secret");
            return -1;
        }
        c->state = C_UP;
        sk_loop_timer_cancel(t->loop, c->timer);
        c->timer = 0;
        if (c->peer) {
            send_auth(c, 'C');
            c->peer->backoff_ms = BACKOFF_MIN_MS;
            sk_info("store", "connected to peer '%s' at '%s'", c->theirs.name, c->peer->addr);
        } else {
            in_replace(c);
            if (t->ops.on_peer_hello)
                t->ops.on_peer_hello(t->arg, c->theirs.id, c->theirs.name, c->theirs.addr);
        }
        return 0;
    }
    if (c->peer) /* outbound connections carry nothing back after the handshake */
        return 0;
    t->ops.on_frame(t->arg, c->theirs.id, type, p, len);
    return 0;
}

/* Take whole frames out of the input buffer. */
static int
conn_parse(struct tconn *c)
{
    struct sk_err err;
    size_t off = 0;
    uint32_t len, crc;
    uint8_t type;

    while (c->in.len - off >= FRAME_HEADER_SIZE) {
        const unsigned char *h = (const unsigned char *)c->in.data + off;

        if (frame_header_decode(h, &type, &len, &crc, &err) < 0 ||
            (c->state != C_UP && len > 4096)) {
            sk_warn("store", "peer connection: %s; disconnecting",
                    err.code ? err.msg : "oversized handshake");
            conn_free(c, "protocol error");
            return -1;
        }
        if (c->in.len - off - FRAME_HEADER_SIZE < len)
            break;
        if (frame_payload_check(h + FRAME_HEADER_SIZE, len, crc, &err) < 0) {
            sk_warn("store", "peer connection: %s; disconnecting", err.msg);
            conn_free(c, "crc mismatch");
            return -1;
        }
        off += FRAME_HEADER_SIZE + len;
        if (conn_frame(c, type, h + FRAME_HEADER_SIZE, len) < 0)
            return -1;
    }
    sk_buf_consume(&c->in, off);
    return 0;
}

static void
conn_read(struct tconn *c)
{
    ssize_t n;

    sk_buf_grow(&c->in, READ_CHUNK);
    n = read(c->fd, c->in.data + c->in.len, READ_CHUNK);
    if (n == 0 && !c->peer && c->state == C_AUTH)
        sk_warn("store",
                "refusing peer '%s' (%016llx): it left the handshake (does it have the "
                "cluster secret?)",
                c->theirs.name, (unsigned long long)c->theirs.id);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR && errno != EWOULDBLOCK)) {
        conn_free(c, n == 0 ? "closed by peer" : strerror(errno));
        return;
    }
    if (n < 0)
        return;
    c->in.len += (size_t)n;
    c->in.data[c->in.len] = '\0';
    if (conn_parse(c) < 0)
        return;
    if (conn_flush(c) < 0)
        return;
}

static void
conn_connected(struct tconn *c)
{
    int soerr = 0;
    socklen_t sl = sizeof(soerr);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
        soerr = errno;
    if (soerr) {
        conn_free(c, strerror(soerr));
        return;
    }
    c->state = C_HELLO;
    send_hello(c);
    conn_flush(c);
}

static void
conn_on_event(struct sk_loop *loop, int fd, unsigned events, void *arg)
{
    struct tconn *c = arg;

    if (c->state == C_CONNECTING) {
        if (events & (SK_EV_WRITE | SK_EV_ERROR))
            conn_connected(c);
        return;
    }
    if (events & (SK_EV_READ | SK_EV_ERROR)) {
        conn_read(c);
        return; /* c may be gone; conn_read flushed */
    }
    if (events & SK_EV_WRITE)
        conn_flush(c);
}

static void
handshake_timeout(struct sk_loop *loop, void *arg)
{
    struct tconn *c = arg;

    c->timer = 0;
    sk_warn("store", "peer connection: no handshake within %d ms", HANDSHAKE_MS);
    conn_free(c, "handshake timeout");
}

static struct tconn *
conn_new(struct transport *t, int fd, struct tpeer *peer, enum conn_state state)
{
    struct tconn *c = sk_calloc(1, sizeof(*c));
    int one = 1;

    c->t = t;
    c->fd = fd;
    c->peer = peer;
    c->state = state;
    sk_buf_init(&c->in);
    sk_buf_init(&c->out);
    conn_init_hello(c);
    c->started_ms = sk_loop_now_ms(t->loop);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->want_write = state == C_CONNECTING;
    if (sk_loop_fd_add(t->loop, fd, SK_EV_READ | (c->want_write ? SK_EV_WRITE : 0), conn_on_event,
                       c, NULL) < 0) {
        close(fd);
        c->fd = -1;
    }
    c->timer = sk_loop_timer_add(t->loop, HANDSHAKE_MS, handshake_timeout, c);
    return c;
}

/* ---- dialing and accepting ---- */

static void
peer_dial(struct transport *t, struct tpeer *p)
{
    char host[256], port_s[16];
    struct addrinfo hints, *ai = NULL;
    int port, fd = -1;

    if (sk_sock_parse_hostport(p->addr, host, sizeof(host), &port, NULL) < 0)
        goto fail;
    snprintf(port_s, sizeof(port_s), "%d", port);
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    if (getaddrinfo(host[0] ? host : "127.0.0.1", port_s, &hints, &ai) != 0 || !ai)
        goto fail;
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        goto fail;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS)
        goto fail;
    freeaddrinfo(ai);
    p->conn = conn_new(t, fd, p, C_CONNECTING);
    return;
fail:
    if (ai)
        freeaddrinfo(ai);
    if (fd >= 0)
        close(fd);
    p->redial_timer = sk_loop_timer_add(t->loop, p->backoff_ms, redial_cb, p);
    p->backoff_ms = p->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : p->backoff_ms * 2;
}

static void
on_accept(struct sk_loop *loop, int fd, void *arg)
{
    struct transport *t = arg;
    size_t i;

    for (i = 0; i < TRANSPORT_MAX_IN && t->in[i]; i++)
        ;
    if (i == TRANSPORT_MAX_IN) {
        sk_warn("store", "too many peer connections; refusing one");
        close(fd);
        return;
    }
    t->in[i] = conn_new(t, fd, NULL, C_HELLO);
}

/* ---- stalled connections (SILENT PARTITIONS above) ---- */

static bool
conn_stalled(const struct tconn *c)
{
    struct tcp_info ti;
    socklen_t len = sizeof(ti);

    memset(&ti, 0, sizeof(ti));
    if (getsockopt(c->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
        return false;
    return ti.tcpi_retransmits >= STALL_RETRANSMITS;
}

static void
check_cb(struct sk_loop *loop, void *arg)
{
    struct transport *t = arg;
    uint64_t now = sk_loop_now_ms(loop);
    size_t i;

    t->check_timer = sk_loop_timer_add(loop, CHECK_MS, check_cb, t);
    for (i = 0; i < t->npeers; i++) {
        struct tpeer *p = &t->peers[i];
        struct tconn *c = p->conn;

        if (!c || c->fd < 0)
            continue;
        if (c->state == C_CONNECTING && now - c->started_ms >= CONNECT_MS) {
            /* Silence, not a refusal: no reason to back off. */
            p->backoff_ms = BACKOFF_MIN_MS;
            conn_free(c, "no answer to connect");
        } else if (c->state == C_UP && conn_stalled(c)) {
            sk_info("store", "connection to peer '%s' at '%s' stalled; reconnecting",
                    c->theirs.name, p->addr);
            p->backoff_ms = BACKOFF_MIN_MS;
            conn_free(c, "stalled");
        }
    }
}

/* ---- API ---- */

int
transport_new(struct sk_loop *loop, uint64_t self_id, const char *self_name,
              const char *listen_addr, const void *secret, size_t secret_len,
              const struct transport_ops *ops, void *arg, struct transport **out,
              struct sk_err *err)
{
    struct transport *t = sk_calloc(1, sizeof(*t));
    char host[256];
    int port, fd;

    t->loop = loop;
    t->id = self_id;
    sk_strlcpy(t->name, self_name, sizeof(t->name));
    sk_strlcpy(t->addr, listen_addr, sizeof(t->addr));
    t->secret = sk_malloc(secret_len ? secret_len : 1);
    memcpy(t->secret, secret, secret_len);
    t->secret_len = secret_len;
    t->ops = *ops;
    t->arg = arg;
    if (sk_sock_parse_hostport(listen_addr, host, sizeof(host), &port, err) < 0)
        goto out_fail;
    fd = sk_sock_listen_tcp(host[0] ? host : "*", port, err);
    if (fd < 0)
        goto out_fail;
    t->listener = sk_listener_new(loop, fd, on_accept, t);
    if (!t->listener) {
        sk_err_sys(err, errno, "listen on '%s'", listen_addr);
        goto out_fail;
    }
    sk_info("store", "peer transport listening on %s", listen_addr);
    t->check_timer = sk_loop_timer_add(loop, CHECK_MS, check_cb, t);
    *out = t;
    return 0;
out_fail:
    sk_err_wrap(err, "peer listen address '%s'", listen_addr);
    transport_free(t);
    return -1;
}

void
transport_free(struct transport *t)
{
    size_t i;

    if (!t)
        return;
    if (t->check_timer)
        sk_loop_timer_cancel(t->loop, t->check_timer);
    sk_listener_free(t->listener);
    for (i = 0; i < TRANSPORT_MAX_IN; i++)
        if (t->in[i])
            conn_free(t->in[i], NULL);
    for (i = 0; i < t->npeers; i++)
        transport_remove_peer(t, t->peers[i].id);
    explicit_bzero(t->secret, t->secret_len);
    free(t->secret);
    free(t);
}

void
transport_add_peer(struct transport *t, uint64_t id, const char *addr)
{
    struct tpeer *p = peer_find(t, id);

    /* Same address and a connection on its way: keep it. Waiting out a
     * backoff: dial now (the peer just said hello, it is back). */
    if (p && strcmp(p->addr, addr) == 0 && p->conn)
        return;
    if (!p) {
        p = peer_find(t, 0); /* a removed peer's slot */
        if (!p && t->npeers == sizeof(t->peers) / sizeof(t->peers[0]))
            return;
        if (!p)
            p = &t->peers[t->npeers++];
        memset(p, 0, sizeof(*p));
        p->t = t;
        p->id = id;
    }
    sk_strlcpy(p->addr, addr, sizeof(p->addr));
    p->backoff_ms = BACKOFF_MIN_MS;
    if (p->conn) {
        struct tconn *c = p->conn;

        c->peer = NULL; /* freeing it must not schedule a redial */
        conn_free(c, NULL);
        p->conn = NULL;
    }
    if (p->redial_timer)
        sk_loop_timer_cancel(t->loop, p->redial_timer);
    p->redial_timer = 0;
    peer_dial(t, p);
}

void
transport_remove_peer(struct transport *t, uint64_t id)
{
    struct tpeer *p = peer_find(t, id);

    if (!p)
        return;
    if (p->redial_timer)
        sk_loop_timer_cancel(t->loop, p->redial_timer);
    p->redial_timer = 0;
    if (p->conn) {
        struct tconn *c = p->conn;

        c->peer = NULL;
        conn_free(c, NULL);
    }
    p->conn = NULL;
    p->id = 0;
    p->addr[0] = '\0';
}

int
transport_send(struct transport *t, uint64_t id, uint8_t type, const void *payload, size_t len)
{
    struct tpeer *p = peer_find(t, id);
    struct tconn *c;

    if (!p)
        return -ENOENT;
    c = p->conn;
    if (!c || c->state != C_UP)
        return -ENOTCONN;
    if (c->out.len - c->out_off + len > TRANSPORT_QUEUE_MAX) {
        p->drain_wanted = true;
        return -ENOBUFS;
    }
    conn_queue(c, type, payload, len);
    /* Write now if the socket was idle; otherwise EPOLLOUT continues. */
    if (!c->want_write)
        conn_flush(c);
    return 0;
}

size_t
transport_queued(const struct transport *t, uint64_t id)
{
    const struct tpeer *p = peer_find(t, id);

    return p && p->conn ? p->conn->out.len - p->conn->out_off : 0;
}

bool
transport_connected(const struct transport *t, uint64_t id)
{
    const struct tpeer *p = peer_find(t, id);

    return p && p->conn && p->conn->state == C_UP;
}
