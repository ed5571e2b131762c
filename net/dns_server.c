/* The DNS server: UDP and TCP on one address and port, on the event loop.
 *
 * A query is answered from the zone snapshot when its name is in the
 * zone (AA set). Any other name is forwarded to the configured upstreams
 * or, with none configured, REFUSED: the server never learns resolvers by
 * itself (no /etc/resolv.conf), so no query leaves the node unless the
 * operator said where it may go.
 *
 * Transport rules:
 *  - UDP answers are at most 512 bytes, or the client's EDNS payload size
 *    capped at DNS_EDNS_SIZE; larger ones go out truncated with TC set and
 *    the client retries over TCP (RFC 1035 §4.2.1, RFC 6891 §6.2.5).
 *  - TCP messages carry a 2-byte length prefix (RFC 1035 §4.2.2); queries
 *    may be pipelined and answers may come back out of order (RFC 7766
 *    §6.2.1.1, the id tells them apart). Idle connections are closed after
 *    tcp_idle_ms; beyond tcp_max_conns a new connection is closed at once.
 *  - A packet with QR set is never answered (no reflection loops); one too
 *    short for a header is dropped; any other malformed query gets FORMERR.
 *
 * Forwarding: the client's packet goes to upstream 0 over UDP from one
 * socket per address family, under a fresh random id (so a reply cannot
 * be matched by guessing the client's id) that is mapped back on the way
 * out. A reply is accepted only from the upstream it was sent to, with the
 * id and the question it was sent with. After upstream_timeout_ms without
 * a reply the next upstream is tried; when all have been tried the client
 * gets SERVFAIL. Forwarded answers go out with RA set and AA cleared.
 * NOERROR and NXDOMAIN replies are cached (direct-mapped,
 * cache_entries slots) for the smallest TTL they carry (negative answers:
 * min(SOA TTL, SOA minimum), RFC 2308 §5), TTLs aged on the way out. */
#include "net/dns.h"

#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/sock.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#define UDP_BATCH      64
#define TCP_OUT_MAX    (256 * 1024) /* stop reading a client that does not read */
#define CACHE_TTL_MAX  3600
#define FWD_MAX        4096 /* forwards in flight; beyond, SERVFAIL at once */
#define DEF_TIMEOUT_MS 2000
#define DEF_IDLE_MS    10000
#define DEF_MAX_CONNS  256

struct tcp_conn {
    struct dns_server *srv;
    int fd;
    struct sk_buf in, out;
    uint64_t idle_timer;
    unsigned pending; /* forwards this connection still waits for */
    bool eof;         /* the client shut down its side */
    bool in_batch;    /* answering what one read brought: flush after */
    struct tcp_conn *next, *prev;
};

/* Where an answer goes. */
struct client {
    bool tcp;
    struct tcp_conn *conn; /* TCP: NULL once the connection is gone */
    struct sockaddr_storage addr;
    socklen_t alen;
    size_t max; /* largest UDP answer */
};

struct fwd {
    struct dns_server *srv;
    uint16_t id, client_id;
    struct dns_question question;
    bool cd, edns_do;
    struct client c;
    uint8_t *pkt;
    size_t len;
    size_t up; /* upstream tried now */
    uint64_t timer;
};

struct upstream {
    struct sockaddr_storage addr;
    socklen_t alen;
};

struct cache_entry {
    struct dns_name key; /* lowercased */
    uint16_t type, klass;
    uint8_t bits; /* DO, CD */
    uint8_t *pkt;
    size_t len;
    size_t *ttl_off;
    size_t nttl;
    uint64_t stored_ms, expires_ms;
};

struct dns_server {
    struct sk_loop *loop;
    struct dns_zone *zone;
    struct sk_listener *listener;
    int udp_fd, up4_fd, up6_fd;
    int port;
    int timeout_ms, idle_ms, max_conns;
    struct upstream up[DNS_UPSTREAM_MAX];
    size_t nup;
    struct fwd **fwd; /* by upstream id, 65536 slots */
    size_t nfwd;
    struct tcp_conn *conns;
    size_t nconns;
    struct cache_entry *cache;
    size_t ncache;
    uint64_t rng;
    struct dns_metrics m;
    uint8_t rbuf[DNS_MSG_MAX];
    uint8_t wbuf[DNS_MSG_MAX + 2];
};

static void tcp_close(struct tcp_conn *c);
static bool tcp_flush(struct tcp_conn *c);
static void tcp_send(struct tcp_conn *c, const uint8_t *p, size_t len);

/* ---- helpers ---- */

static uint16_t
rnd16(struct dns_server *s)
{
    /* xorshift64*, seeded from getrandom(2): upstream ids must not be
     * guessable (RFC 5452 §9.2). */
    s->rng ^= s->rng >> 12;
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    return (uint16_t)((s->rng * 0x2545F4914F6CDD1DULL) >> 48);
}

static int
parse_addr(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len,
           struct sk_err *err)
{
    struct addrinfo hints = {0}, *ai;

    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_NUMERICHOST; /* never resolve: this is the resolver */
    if (!host || !*host || strcmp(host, "*") == 0)
        host = "0.0.0.0";
    else if (strcmp(host, "localhost") == 0)
        host = "127.0.0.1";
    if (getaddrinfo(host, NULL, &hints, &ai) != 0)
        return sk_err_set(err, EINVAL, "'%s' is not an IP address", host);
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *len = ai->ai_addrlen;
    freeaddrinfo(ai);
    if (ss->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
    return 0;
}

/* "IP", "IP:PORT", "[IPv6]:PORT" or a bare IPv6 literal; port 53. */
static int
parse_upstream(const char *s, struct upstream *u, struct sk_err *err)
{
    char host[128];
    int port = 53;
    const char *colon = strchr(s, ':');

    if (!colon || (s[0] != '[' && strchr(colon + 1, ':')))
        sk_strlcpy(host, s, sizeof(host));
    else if (sk_sock_parse_hostport(s, host, sizeof(host), &port, err) < 0)
        return sk_err_wrap(err, "upstream '%s'", s);
    if (port == 0 || parse_addr(host, port, &u->addr, &u->alen, err) < 0) {
        if (port == 0)
            sk_err_set(err, EINVAL, "port 0");
        return sk_err_wrap(err, "upstream '%s'", s);
    }
    return 0;
}

static bool
addr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
    return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
}

static int
udp_socket(const struct sockaddr_storage *bind_to, socklen_t len, struct sk_err *err)
{
    int fd = socket(bind_to->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return sk_err_sys(err, errno, "udp socket");
    if (bind(fd, (const struct sockaddr *)bind_to, len) < 0) {
        int e = errno;
        close(fd);
        return sk_err_sys(err, e, "bind udp");
    }
    return fd;
}

/* ---- answering ---- */

static void
count_rcode(struct dns_server *s, const uint8_t *p)
{
    s->m.rcode[p[3] & 15]++;
    if (p[2] & (DNS_F_TC >> 8))
        s->m.truncated++;
}

static void
deliver(struct dns_server *s, const struct client *c, const uint8_t *p, size_t len)
{
    count_rcode(s, p);
    if (c->tcp) {
        if (!c->conn)
            return;
        tcp_send(c->conn, p, len);
        return;
    }
    /* A full socket buffer drops the answer, as the network could: the
     * client retries. */
    (void)sendto(s->udp_fd, p, len, MSG_DONTWAIT, (const struct sockaddr *)&c->addr, c->alen);
}

static void
send_msg(struct dns_server *s, const struct client *c, struct dns_msg *r)
{
    int len;

    if (s->nup)
        r->flags |= DNS_F_RA;
    len = dns_msg_build(r, s->wbuf, sizeof(s->wbuf), c->tcp ? DNS_MSG_MAX : c->max, NULL);
    if (len < 0) {
        /* A question too long for 512 bytes with an OPT: drop the OPT. */
        r->edns = false;
        len = dns_msg_build(r, s->wbuf, sizeof(s->wbuf), c->tcp ? DNS_MSG_MAX : c->max, NULL);
    }
    if (len >= DNS_HEADER_LEN)
        deliver(s, c, s->wbuf, (size_t)len);
}

static void
send_rcode(struct dns_server *s, const struct client *c, const struct dns_msg *q, unsigned rcode)
{
    struct dns_msg r;

    dns_msg_init(&r);
    dns_msg_reply_to(q, rcode, &r);
    send_msg(s, c, &r);
    dns_msg_release(&r);
}

/* An answer that went through this server as a forwarder: recursion was
 * available (RA), and it is not authoritative data of this server (AA
 * cleared, as a recursive resolver does). */
static void
set_forwarded_flags(uint8_t *p)
{
    p[2] &= (uint8_t) ~(DNS_F_AA >> 8);
    p[3] |= (uint8_t)DNS_F_RA;
}

/* Send an upstream or cached answer p (already carrying the client's id);
 * too big for the client's UDP size, it goes out as header and question
 * with TC. */
static void
deliver_raw(struct dns_server *s, const struct client *c, uint8_t *p, size_t len,
            const struct dns_question *q)
{
    struct dns_msg r;

    if (c->tcp || len <= c->max) {
        deliver(s, c, p, len);
        return;
    }
    dns_msg_init(&r);
    r.id = (uint16_t)(p[0] << 8 | p[1]);
    r.flags = (uint16_t)((p[2] << 8 | p[3]) | DNS_F_TC);
    r.has_question = true;
    r.question = *q;
    send_msg(s, c, &r);
    dns_msg_release(&r);
}

/* ---- the cache of forwarded answers ---- */

static size_t
cache_slot(const struct dns_server *s, const struct dns_name *key, uint16_t type, uint8_t bits)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    size_t i;

    for (i = 0; i < key->len; i++)
        h = (h ^ key->data[i]) * 1099511628211ULL;
    h = (h ^ type) * 1099511628211ULL;
    h = (h ^ bits) * 1099511628211ULL;
    return (size_t)(h % s->ncache);
}

static void
cache_entry_clear(struct cache_entry *e)
{
    free(e->pkt);
    free(e->ttl_off);
    memset(e, 0, sizeof(*e));
}

static uint8_t
cache_bits(bool edns_do, bool cd)
{
    return (uint8_t)((edns_do ? 1 : 0) | (cd ? 2 : 0));
}

static void
lower(struct dns_name *n)
{
    size_t i;

    for (i = 0; i < n->len; i++)
        n->data[i] = (uint8_t)tolower(n->data[i]);
}

/* The TTL to cache a reply for, 0 for "do not". */
static uint32_t
cache_ttl(const struct dns_msg *m)
{
    uint32_t ttl = CACHE_TTL_MAX, t;
    size_t n = 0, i;
    unsigned sec;

    if ((m->flags & DNS_F_TC) ||
        (dns_msg_rcode(m) != DNS_RCODE_NOERROR && dns_msg_rcode(m) != DNS_RCODE_NXDOMAIN))
        return 0;
    for (sec = 0; sec < DNS_SEC_COUNT; sec++) {
        for (i = 0; i < m->nrr[sec]; i++, n++) {
            t = m->rr[sec][i].ttl;
            if (m->rr[sec][i].type == DNS_TYPE_SOA && m->rr[sec][i].rd.soa.minimum < t)
                t = m->rr[sec][i].rd.soa.minimum;
            ttl = t < ttl ? t : ttl;
        }
    }
    return n ? ttl : 0;
}

static void
cache_put(struct dns_server *s, const struct fwd *f, const uint8_t *p, size_t len,
          const struct dns_msg *m)
{
    uint32_t ttl = s->ncache ? cache_ttl(m) : 0;
    struct cache_entry *e;
    size_t i, n = 0;
    unsigned sec;

    if (ttl == 0)
        return;
    e = &s->cache[cache_slot(s, &f->question.name, f->question.type,
                             cache_bits(f->edns_do, f->cd))];
    cache_entry_clear(e);
    e->key = f->question.name;
    e->type = f->question.type;
    e->klass = f->question.klass;
    e->bits = cache_bits(f->edns_do, f->cd);
    e->pkt = sk_malloc(len);
    memcpy(e->pkt, p, len);
    e->len = len;
    for (sec = 0; sec < DNS_SEC_COUNT; sec++)
        n += m->nrr[sec];
    e->ttl_off = sk_calloc(n, sizeof(*e->ttl_off));
    for (sec = 0; sec < DNS_SEC_COUNT; sec++)
        for (i = 0; i < m->nrr[sec]; i++)
            e->ttl_off[e->nttl++] = m->rr[sec][i].ttl_off;
    e->stored_ms = sk_loop_now_ms(s->loop);
    e->expires_ms = e->stored_ms + (uint64_t)ttl * 1000;
}

/* Answer q from the cache: true if it was. */
static bool
cache_answer(struct dns_server *s, const struct client *c, const struct dns_msg *q)
{
    struct dns_name key = q->question.name;
    uint8_t bits = cache_bits(q->edns_do, q->flags & DNS_F_CD);
    uint64_t now = sk_loop_now_ms(s->loop);
    struct cache_entry *e;
    uint32_t age, ttl;
    uint8_t *p;
    size_t i;

    if (!s->ncache)
        return false;
    lower(&key);
    e = &s->cache[cache_slot(s, &key, q->question.type, bits)];
    if (!e->pkt || e->type != q->question.type || e->klass != q->question.klass ||
        e->bits != bits || !dns_name_equal(&e->key, &key))
        return false;
    if (now >= e->expires_ms) {
        cache_entry_clear(e);
        return false;
    }
    age = (uint32_t)((now - e->stored_ms) / 1000);
    p = s->rbuf; /* the query has been parsed: its buffer is free */
    memcpy(p, e->pkt, e->len);
    p[0] = (uint8_t)(q->id >> 8);
    p[1] = (uint8_t)q->id;
    /* The question sits uncompressed at offset 12 (nothing precedes it to
     * point to): give it back in this query's spelling, which resolvers
     * using 0x20 case randomization check. */
    memcpy(p + DNS_HEADER_LEN, q->question.name.data, q->question.name.len);
    set_forwarded_flags(p);
    for (i = 0; i < e->nttl; i++) {
        uint8_t *t = p + e->ttl_off[i];
        ttl = (uint32_t)t[0] << 24 | (uint32_t)t[1] << 16 | (uint32_t)t[2] << 8 | t[3];
        ttl = ttl > age ? ttl - age : 0;
        t[0] = (uint8_t)(ttl >> 24);
        t[1] = (uint8_t)(ttl >> 16);
        t[2] = (uint8_t)(ttl >> 8);
        t[3] = (uint8_t)ttl;
    }
    s->m.cache_hits++;
    deliver_raw(s, c, p, e->len, &q->question);
    return true;
}

/* ---- forwarding ---- */

static void
fwd_free(struct dns_server *s, struct fwd *f)
{
    struct tcp_conn *c = f->c.conn;

    s->fwd[f->id] = NULL;
    s->nfwd--;
    if (f->timer)
        sk_loop_timer_cancel(s->loop, f->timer);
    free(f->pkt);
    free(f);
    /* The last answer a half-closed connection waited for: done. */
    if (c && --c->pending == 0 && !c->in_batch)
        (void)tcp_flush(c);
}

static void fwd_timeout(struct sk_loop *loop, void *arg);

static void
fwd_send(struct dns_server *s, struct fwd *f)
{
    const struct upstream *u = &s->up[f->up];
    int fd = u->addr.ss_family == AF_INET6 ? s->up6_fd : s->up4_fd;

    /* A failed send (no route, no socket) is not retried at once: the
     * timer moves on to the next upstream like for a lost packet. */
    if (fd >= 0)
        (void)sendto(fd, f->pkt, f->len, MSG_DONTWAIT, (const struct sockaddr *)&u->addr, u->alen);
    f->timer = sk_loop_timer_add(s->loop, (uint64_t)s->timeout_ms, fwd_timeout, f);
}

static void
fwd_timeout(struct sk_loop *loop, void *arg)
{
    struct fwd *f = arg;
    struct dns_server *s = f->srv;
    struct dns_msg q;

    (void)loop;
    f->timer = 0;
    s->m.upstream_timeouts++;
    if (++f->up < s->nup) {
        fwd_send(s, f);
        return;
    }
    dns_msg_init(&q);
    q.id = f->client_id;
    q.flags = (uint16_t)(f->pkt[2] << 8 | f->pkt[3]);
    q.has_question = true;
    q.question = f->question;
    q.edns = false;
    if (!f->c.tcp || f->c.conn)
        send_rcode(s, &f->c, &q, DNS_RCODE_SERVFAIL);
    fwd_free(s, f);
}

static void
fwd_start(struct dns_server *s, const struct client *c, const struct dns_msg *q, const uint8_t *p,
          size_t len)
{
    struct fwd *f;
    unsigned tries;
    uint16_t id = 0;

    if (s->nfwd >= FWD_MAX) {
        send_rcode(s, c, q, DNS_RCODE_SERVFAIL);
        return;
    }
    for (tries = 0; tries < 64; tries++)
        if (!s->fwd[id = rnd16(s)])
            break;
    if (s->fwd[id]) {
        send_rcode(s, c, q, DNS_RCODE_SERVFAIL);
        return;
    }
    f = sk_calloc(1, sizeof(*f));
    f->srv = s;
    f->id = id;
    f->client_id = q->id;
    f->question = q->question;
    lower(&f->question.name);
    f->cd = q->flags & DNS_F_CD;
    f->edns_do = q->edns_do;
    f->c = *c;
    f->pkt = sk_malloc(len);
    memcpy(f->pkt, p, len);
    f->len = len;
    f->pkt[0] = (uint8_t)(id >> 8);
    f->pkt[1] = (uint8_t)id;
    s->fwd[id] = f;
    s->nfwd++;
    if (c->tcp)
        c->conn->pending++;
    s->m.forwarded++;
    fwd_send(s, f);
}

static void
upstream_reply(struct dns_server *s, const uint8_t *p, size_t len,
               const struct sockaddr_storage *from)
{
    struct fwd *f = len >= DNS_HEADER_LEN ? s->fwd[p[0] << 8 | p[1]] : NULL;
    struct dns_name qn;
    struct dns_msg m;

    if (!f || !addr_equal(from, &s->up[f->up].addr))
        return;
    dns_msg_init(&m);
    if (dns_msg_parse(p, len, &m, NULL) < 0 || !(m.flags & DNS_F_QR) || !m.has_question ||
        m.question.type != f->question.type || m.question.klass != f->question.klass)
        goto out_release; /* not the answer: keep waiting */
    qn = m.question.name;
    lower(&qn);
    if (!dns_name_equal(&qn, &f->question.name))
        goto out_release;
    cache_put(s, f, p, len, &m);
    memcpy(s->wbuf, p, len);
    s->wbuf[0] = (uint8_t)(f->client_id >> 8);
    s->wbuf[1] = (uint8_t)f->client_id;
    set_forwarded_flags(s->wbuf);
    if (!f->c.tcp || f->c.conn)
        deliver_raw(s, &f->c, s->wbuf, len, &m.question);
    fwd_free(s, f);
out_release:
    dns_msg_release(&m);
}

static void
upstream_readable(struct sk_loop *loop, int fd, unsigned events, void *arg)
{
    struct dns_server *s = arg;
    struct sockaddr_storage from;
    socklen_t alen;
    ssize_t n;
    int i;

    (void)loop;
    (void)events;
    for (i = 0; i < UDP_BATCH; i++) {
        alen = sizeof(from);
        n = recvfrom(fd, s->rbuf, sizeof(s->rbuf), 0, (struct sockaddr *)&from, &alen);
        if (n < 0)
            return;
        upstream_reply(s, s->rbuf, (size_t)n, &from);
    }
}

/* ---- one query, from either transport ---- */

static void
handle_query(struct dns_server *s, const struct client *cl, const uint8_t *p, size_t len)
{
    struct client c = *cl;
    struct dns_msg q, r;
    struct sk_err err;

    dns_msg_init(&q);
    dns_msg_init(&r);
    sk_err_init(&err);
    if (len < DNS_HEADER_LEN || (p[2] & (DNS_F_QR >> 8))) {
        s->m.dropped++;
        goto out;
    }
    if (dns_msg_parse(p, len, &q, &err) < 0) {
        sk_debug("dns", "query %u: %s", q.id, err.msg);
        r.id = q.id;
        r.flags = (uint16_t)(DNS_F_QR | (q.flags & (0x7800 | DNS_F_RD)) | DNS_RCODE_FORMERR);
        send_msg(s, &c, &r);
        goto out;
    }
    if (!c.tcp && q.edns)
        c.max = q.edns_size < DNS_EDNS_SIZE ? q.edns_size : DNS_EDNS_SIZE;
    if (q.edns && q.edns_version > 0) {
        /* RFC 6891 §6.1.3: only EDNS version 0 is spoken here. */
        dns_msg_reply_to(&q, DNS_RCODE_NOERROR, &r);
        r.edns_ext_rcode = DNS_RCODE_BADVERS >> 4;
        send_msg(s, &c, &r);
    } else if (dns_msg_opcode(&q) != 0)
        send_rcode(s, &c, &q, DNS_RCODE_NOTIMP);
    else if (!q.has_question)
        send_rcode(s, &c, &q, DNS_RCODE_FORMERR);
    else if (dns_zone_lookup(s->zone, &q, &r) == DNS_ZONE_ANSWERED)
        send_msg(s, &c, &r);
    else if (s->nup == 0)
        send_rcode(s, &c, &q, DNS_RCODE_REFUSED);
    else if (!cache_answer(s, &c, &q))
        fwd_start(s, &c, &q, p, len);
out:
    dns_msg_release(&q);
    dns_msg_release(&r);
}

/* ---- UDP ---- */

static void
udp_readable(struct sk_loop *loop, int fd, unsigned events, void *arg)
{
    struct dns_server *s = arg;
    struct client c;
    ssize_t n;
    int i;

    (void)loop;
    (void)events;
    for (i = 0; i < UDP_BATCH; i++) {
        memset(&c, 0, sizeof(c));
        c.alen = sizeof(c.addr);
        c.max = DNS_UDP_MIN;
        n = recvfrom(fd, s->rbuf, sizeof(s->rbuf), 0, (struct sockaddr *)&c.addr, &c.alen);
        if (n < 0)
            return;
        s->m.queries_udp++;
        handle_query(s, &c, s->rbuf, (size_t)n);
    }
}

/* ---- TCP ---- */

static void tcp_event(struct sk_loop *loop, int fd, unsigned events, void *arg);
static void tcp_idle(struct sk_loop *loop, void *arg);

static void
tcp_watch(struct tcp_conn *c)
{
    unsigned ev = 0;

    if (!c->eof && c->out.len < TCP_OUT_MAX)
        ev |= SK_EV_READ;
    if (c->out.len)
        ev |= SK_EV_WRITE;
    (void)sk_loop_fd_mod(c->srv->loop, c->fd, ev, NULL);
}

static void
tcp_touch(struct tcp_conn *c)
{
    if (c->idle_timer)
        sk_loop_timer_cancel(c->srv->loop, c->idle_timer);
    c->idle_timer = sk_loop_timer_add(c->srv->loop, (uint64_t)c->srv->idle_ms, tcp_idle, c);
}

static void
tcp_close(struct tcp_conn *c)
{
    struct dns_server *s = c->srv;
    size_t i;

    sk_loop_fd_del(s->loop, c->fd);
    close(c->fd);
    c->fd = -1;
    if (c->idle_timer)
        sk_loop_timer_cancel(s->loop, c->idle_timer);
    /* Forwards still out keep running but answer nobody. */
    for (i = 0; c->pending && i < 65536; i++) {
        if (s->fwd[i] && s->fwd[i]->c.conn == c) {
            s->fwd[i]->c.conn = NULL;
            c->pending--;
        }
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    sk_buf_release(&c->in);
    sk_buf_release(&c->out);
    free(c);
}

/* Write what can be written; false if the connection was closed. */
static bool
tcp_flush(struct tcp_conn *c)
{
    ssize_t n;

    while (c->out.len) {
        /* MSG_NOSIGNAL: a client gone away is EPIPE here, not a SIGPIPE
         * that would kill the daemon. */
        n = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            tcp_close(c);
            return false;
        }
        sk_buf_consume(&c->out, (size_t)n);
    }
    if (c->eof && !c->out.len && !c->pending) {
        tcp_close(c);
        return false;
    }
    tcp_watch(c);
    return true;
}

static void
tcp_send(struct tcp_conn *c, const uint8_t *p, size_t len)
{
    uint8_t pre[2] = {(uint8_t)(len >> 8), (uint8_t)len};

    sk_buf_append(&c->out, pre, 2);
    sk_buf_append(&c->out, p, len);
    /* Answers to a batch of pipelined queries go out in one write after
     * the batch, which also keeps the connection alive while its input
     * is being walked. */
    if (!c->in_batch)
        (void)tcp_flush(c);
}

/* Answer every complete message in the input. */
static void
tcp_process(struct tcp_conn *c)
{
    struct client cl;
    size_t len;

    memset(&cl, 0, sizeof(cl));
    cl.tcp = true;
    cl.conn = c;
    while (c->in.len >= 2) {
        len = (size_t)((uint8_t)c->in.data[0] << 8 | (uint8_t)c->in.data[1]);
        if (c->in.len < 2 + len)
            break;
        c->srv->m.queries_tcp++;
        handle_query(c->srv, &cl, (const uint8_t *)c->in.data + 2, len);
        sk_buf_consume(&c->in, 2 + len);
    }
}

static void
tcp_read(struct tcp_conn *c)
{
    ssize_t n;

    sk_buf_grow(&c->in, 16384);
    n = read(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len - 1);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        if (n < 0 || c->in.len) {
            tcp_close(c); /* an error, or a message cut short */
            return;
        }
        c->eof = true;
        (void)tcp_flush(c);
        return;
    }
    c->in.len += (size_t)n;
    c->in.data[c->in.len] = '\0';
    tcp_touch(c);
    c->in_batch = true;
    tcp_process(c);
    c->in_batch = false;
    (void)tcp_flush(c);
}

static void
tcp_event(struct sk_loop *loop, int fd, unsigned events, void *arg)
{
    struct tcp_conn *c = arg;

    (void)loop;
    (void)fd;
    if ((events & SK_EV_WRITE) && !tcp_flush(c))
        return;
    if (events & (SK_EV_READ | SK_EV_ERROR))
        tcp_read(c);
}

static void
tcp_idle(struct sk_loop *loop, void *arg)
{
    struct tcp_conn *c = arg;

    (void)loop;
    c->idle_timer = 0;
    tcp_close(c);
}

static void
tcp_accept(struct sk_loop *loop, int fd, void *arg)
{
    struct dns_server *s = arg;
    struct tcp_conn *c;

    if (s->nconns >= (size_t)s->max_conns) {
        s->m.tcp_refused++;
        close(fd);
        return;
    }
    c = sk_calloc(1, sizeof(*c));
    c->srv = s;
    c->fd = fd;
    sk_buf_init(&c->in);
    sk_buf_init(&c->out);
    if (sk_loop_fd_add(loop, fd, SK_EV_READ, tcp_event, c, NULL) < 0) {
        close(fd);
        free(c);
        return;
    }
    c->next = s->conns;
    if (c->next)
        c->next->prev = c;
    s->conns = c;
    s->nconns++;
    tcp_touch(c);
}

/* ---- lifecycle ---- */

static int
open_upstreams(struct dns_server *s, const struct dns_server_config *cfg, struct sk_err *err)
{
    struct sockaddr_storage any;
    socklen_t alen;
    size_t i;

    for (i = 0; i < cfg->nupstream && i < DNS_UPSTREAM_MAX; i++)
        if (parse_upstream(cfg->upstream[i], &s->up[s->nup++], err) < 0)
            return -EINVAL;
    for (i = 0; i < s->nup; i++) {
        int *fd = s->up[i].addr.ss_family == AF_INET6 ? &s->up6_fd : &s->up4_fd;
        if (*fd >= 0)
            continue;
        parse_addr(s->up[i].addr.ss_family == AF_INET6 ? "::" : "0.0.0.0", 0, &any, &alen, NULL);
        *fd = udp_socket(&any, alen, err);
        if (*fd < 0)
            return sk_err_wrap(err, "upstream socket");
        if (sk_loop_fd_add(s->loop, *fd, SK_EV_READ, upstream_readable, s, err) < 0)
            return -EIO;
    }
    return 0;
}

/* UDP first (port 0: the kernel picks), then TCP on the same port; with
 * port 0 the TCP port may be taken, so try a few times. */
static int
open_listeners(struct dns_server *s, const char *listen, struct sk_err *err)
{
    struct sockaddr_storage ss;
    char host[128];
    socklen_t alen;
    int port, tries, tfd = -1;

    if (sk_sock_parse_hostport(listen, host, sizeof(host), &port, err) < 0)
        return -EINVAL;
    if (parse_addr(host, port, &ss, &alen, err) < 0)
        return -EINVAL;
    for (tries = 0; tries < 16 && tfd < 0; tries++) {
        s->udp_fd = udp_socket(&ss, alen, err);
        if (s->udp_fd < 0)
            return -EIO;
        s->port = sk_sock_local_port(s->udp_fd);
        tfd = sk_sock_listen_tcp(host[0] && strcmp(host, "*") ? host : "0.0.0.0", s->port, err);
        if (tfd < 0 && (port != 0 || err->code != EADDRINUSE))
            return -EIO;
        if (tfd < 0) {
            close(s->udp_fd);
            s->udp_fd = -1;
        }
    }
    if (tfd < 0)
        return -EIO;
    if (sk_loop_fd_add(s->loop, s->udp_fd, SK_EV_READ, udp_readable, s, err) < 0) {
        close(tfd);
        return -EIO;
    }
    s->listener = sk_listener_new(s->loop, tfd, tcp_accept, s);
    if (!s->listener)
        return sk_err_sys(err, errno, "tcp listener");
    return 0;
}

/* An upstream that is this server would forward each query to itself
 * until the table of forwards is full. */
static int
check_not_self(struct dns_server *s, struct sk_err *err)
{
    struct sockaddr_storage self;
    socklen_t alen = sizeof(self);
    char ip[INET6_ADDRSTRLEN] = "";
    size_t i;

    if (getsockname(s->udp_fd, (struct sockaddr *)&self, &alen) < 0)
        return 0;
    for (i = 0; i < s->nup; i++) {
        if (!addr_equal(&self, &s->up[i].addr))
            continue;
        if (self.ss_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)&self)->sin_addr, ip, sizeof(ip));
        return sk_err_set(err, EINVAL, "upstream %s:%d is this server itself", ip, s->port);
    }
    return 0;
}

int
dns_server_new(struct sk_loop *loop, const struct dns_server_config *cfg, struct dns_zone *zone,
               struct dns_server **out, struct sk_err *err)
{
    struct dns_server *s = sk_calloc(1, sizeof(*s));
    int rc;

    s->loop = loop;
    s->zone = zone;
    s->udp_fd = s->up4_fd = s->up6_fd = -1;
    s->timeout_ms = cfg->upstream_timeout_ms > 0 ? cfg->upstream_timeout_ms : DEF_TIMEOUT_MS;
    s->idle_ms = cfg->tcp_idle_ms > 0 ? cfg->tcp_idle_ms : DEF_IDLE_MS;
    s->max_conns = cfg->tcp_max_conns > 0 ? cfg->tcp_max_conns : DEF_MAX_CONNS;
    s->fwd = sk_calloc(65536, sizeof(*s->fwd));
    s->ncache = cfg->cache_entries;
    s->cache = sk_calloc(s->ncache ? s->ncache : 1, sizeof(*s->cache));
    if (getrandom(&s->rng, sizeof(s->rng), 0) != sizeof(s->rng) || s->rng == 0)
        s->rng = (uint64_t)(uintptr_t)s ^ sk_loop_now_ms(loop) ^ 0x9e3779b97f4a7c15ULL;
    rc = open_upstreams(s, cfg, err);
    if (rc >= 0)
        rc = open_listeners(s, cfg->listen ? cfg->listen : "127.0.0.1:53", err);
    if (rc >= 0)
        rc = check_not_self(s, err);
    if (rc < 0) {
        s->zone = NULL; /* owned by the caller again on failure */
        dns_server_free(s);
        sk_err_wrap(err, "dns server on '%s'", cfg->listen ? cfg->listen : "");
        return rc;
    }
    *out = s;
    return 0;
}

void
dns_server_set_zone(struct dns_server *s, struct dns_zone *zone)
{
    struct dns_zone *old = s->zone;

    s->zone = zone;
    dns_zone_free(old);
}

int
dns_server_port(const struct dns_server *s)
{
    return s->port;
}

void
dns_server_metrics(const struct dns_server *s, struct dns_metrics *out)
{
    *out = s->m;
}

static void
close_fd(struct dns_server *s, int *fd)
{
    if (*fd < 0)
        return;
    sk_loop_fd_del(s->loop, *fd);
    close(*fd);
    *fd = -1;
}

void
dns_server_free(struct dns_server *s)
{
    size_t i;

    if (!s)
        return;
    while (s->conns)
        tcp_close(s->conns);
    for (i = 0; i < 65536; i++)
        if (s->fwd[i])
            fwd_free(s, s->fwd[i]);
    for (i = 0; i < s->ncache; i++)
        cache_entry_clear(&s->cache[i]);
    sk_listener_free(s->listener);
    close_fd(s, &s->udp_fd);
    close_fd(s, &s->up4_fd);
    close_fd(s, &s->up6_fd);
    dns_zone_free(s->zone);
    free(s->cache);
    free(s->fwd);
    free(s);
}
