/* net/dns_server: real UDP and TCP sockets on 127.0.0.1, the server and a
 * stub upstream resolver on the test's own loop. Nothing leaves loopback. */
#include "lib/clock.h"
#include "lib/loop.h"
#include "lib/sock.h"
#include "net/dns.h"
#include "unit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct sk_loop *loop;

/* ---- a stub upstream: answers "A 192.0.2.1" (TTL 60) to anything, or
 * stays silent ---- */

struct stub {
    int fd, port;
    bool silent;
    unsigned queries;
    uint16_t last_id;
};

static void
stub_readable(struct sk_loop *l, int fd, unsigned events, void *arg)
{
    struct stub *st = arg;
    uint8_t buf[1500], out[1500];
    struct sockaddr_storage from;
    socklen_t alen = sizeof(from);
    struct dns_msg q, r;
    struct dns_rr rr;
    ssize_t n;
    int len;

    n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &alen);
    if (n < 0)
        return;
    st->queries++;
    dns_msg_init(&q);
    dns_msg_init(&r);
    if (dns_msg_parse(buf, (size_t)n, &q, NULL) == 0 && !st->silent) {
        st->last_id = q.id;
        dns_msg_reply_to(&q, DNS_RCODE_NOERROR, &r);
        r.flags |= DNS_F_RA;
        memset(&rr, 0, sizeof(rr));
        rr.name = q.question.name;
        rr.type = DNS_TYPE_A;
        rr.klass = DNS_CLASS_IN;
        rr.ttl = 60;
        memcpy(rr.rd.a, "\xc0\x00\x02\x01", 4);
        dns_msg_add_rr(&r, DNS_SEC_ANSWER, &rr);
        len = dns_msg_build(&r, out, sizeof(out), sizeof(out), NULL);
        sendto(fd, out, (size_t)len, 0, (struct sockaddr *)&from, alen);
    }
    dns_msg_release(&q);
    dns_msg_release(&r);
}

static void
stub_start(struct stub *st, bool silent)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    socklen_t alen = sizeof(sin);

    memset(st, 0, sizeof(*st));
    st->silent = silent;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    st->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(st->fd, 0);
    ck_assert_int_eq(bind(st->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    getsockname(st->fd, (struct sockaddr *)&sin, &alen);
    st->port = ntohs(sin.sin_port);
    ck_assert_int_eq(sk_loop_fd_add(loop, st->fd, SK_EV_READ, stub_readable, st, NULL), 0);
}

static void
stub_stop(struct stub *st)
{
    sk_loop_fd_del(loop, st->fd);
    close(st->fd);
}

/* ---- the server under test ---- */

static const char *services_json =
    "[{\"metadata\": {\"name\": \"web\", \"namespace\": \"default\"},"
    "  \"spec\": {\"clusterIP\": \"10.96.0.10\", \"ports\": [{\"name\": \"http\", \"port\": "
    "80}]}},"
    " {\"metadata\": {\"name\": \"many\", \"namespace\": \"default\"},"
    "  \"spec\": {\"clusterIP\": \"None\"}}]";

/* web: a ClusterIP service at web_ip; many: headless with 60 ready
 * endpoints, whose 60 * 16 bytes of answers do not fit in 512. */
static struct dns_zone *
make_zone(const char *web_ip)
{
    json_t *svcs = json_loads(services_json, 0, NULL), *addrs = json_array(), *eps;
    struct dns_zone *z = NULL;
    char ip[32];
    int i;

    json_object_set_new(json_object_get(json_array_get(svcs, 0), "spec"), "clusterIP",
                        json_string(web_ip));
    for (i = 0; i < 60; i++) {
        snprintf(ip, sizeof(ip), "10.244.0.%d", i + 1);
        json_array_append_new(addrs, json_pack("{s:s}", "ip", ip));
    }
    eps = json_pack("[{s:{s:s,s:s},s:[{s:o}]}]", "metadata", "name", "many", "namespace", "default",
                    "subsets", "addresses", addrs);
    ck_assert_int_eq(dns_zone_build(NULL, svcs, eps, &z, NULL), 0);
    json_decref(svcs);
    json_decref(eps);
    return z;
}

static struct dns_server *
server_start(const char **upstreams, size_t n, int timeout_ms, int idle_ms, int max_conns)
{
    struct dns_server_config cfg = {0};
    struct dns_server *s = NULL;
    struct sk_err err;
    size_t i;

    cfg.listen = "127.0.0.1:0";
    for (i = 0; i < n; i++)
        cfg.upstream[i] = upstreams[i];
    cfg.nupstream = n;
    cfg.upstream_timeout_ms = timeout_ms;
    cfg.tcp_idle_ms = idle_ms;
    cfg.tcp_max_conns = max_conns;
    cfg.cache_entries = 64;
    sk_err_init(&err);
    ck_assert_msg(dns_server_new(loop, &cfg, make_zone("10.96.0.10"), &s, &err) == 0, "%s",
                  err.msg);
    ck_assert_int_gt(dns_server_port(s), 0);
    return s;
}

static void
setup(void)
{
    ck_assert_int_eq(sk_loop_new(&loop, NULL), 0);
}

static void
teardown(void)
{
    sk_loop_free(loop);
}

/* ---- clients ---- */

static size_t
query(uint8_t *buf, uint16_t id, const char *name, uint16_t type, bool edns)
{
    struct dns_msg q;
    int len;

    dns_msg_init(&q);
    q.id = id;
    q.flags = DNS_F_RD;
    q.has_question = true;
    ck_assert_int_eq(dns_name_from_str(name, &q.question.name, NULL), 0);
    q.question.type = type;
    q.question.klass = DNS_CLASS_IN;
    q.edns = edns;
    q.edns_size = 1232;
    len = dns_msg_build(&q, buf, DNS_MSG_MAX, DNS_MSG_MAX, NULL);
    ck_assert_int_gt(len, 0);
    return (size_t)len;
}

static int
udp_client(int port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    return fd;
}

/* Run the loop until fd has a datagram, at most timeout_ms. */
static ssize_t
udp_wait(int fd, uint8_t *buf, size_t size, int timeout_ms)
{
    int64_t end = sk_clock_mono_ms() + timeout_ms;
    ssize_t n;

    do {
        n = recv(fd, buf, size, MSG_DONTWAIT);
        if (n >= 0)
            return n;
        sk_loop_run_once(loop, 10, NULL);
    } while (sk_clock_mono_ms() < end);
    return -1;
}

static void
udp_ask(int port, uint8_t *q, size_t qlen, struct dns_msg *r, uint8_t *out)
{
    int fd = udp_client(port);
    ssize_t n;

    ck_assert_int_eq(send(fd, q, qlen, 0), (ssize_t)qlen);
    n = udp_wait(fd, out, DNS_MSG_MAX, 3000);
    ck_assert_int_gt(n, 0);
    dns_msg_init(r);
    ck_assert_int_eq(dns_msg_parse(out, (size_t)n, r, NULL), 0);
    close(fd);
}

static int
tcp_client(int port)
{
    struct sk_err err;
    int fd = sk_sock_connect_tcp("127.0.0.1", port, 2000, &err);

    ck_assert_msg(fd >= 0, "%s", err.msg);
    ck_assert_int_eq(sk_sock_set_nonblock(fd, NULL), 0);
    return fd;
}

static void
tcp_put(int fd, const uint8_t *q, size_t len)
{
    uint8_t pre[2] = {(uint8_t)(len >> 8), (uint8_t)len};

    ck_assert_int_eq(write(fd, pre, 2), 2);
    ck_assert_int_eq(write(fd, q, len), (ssize_t)len);
}

/* Read n length-prefixed messages into msgs; returns how many came. A
 * closed connection ends early. */
static size_t
tcp_get(int fd, struct dns_msg *msgs, size_t n, uint8_t *store, int timeout_ms, bool *closed)
{
    int64_t end = sk_clock_mono_ms() + timeout_ms;
    size_t have = 0, got = 0, off = 0, len;
    ssize_t r;

    *closed = false;
    while (got < n && sk_clock_mono_ms() < end) {
        r = recv(fd, store + have, 4 * DNS_MSG_MAX - have, MSG_DONTWAIT);
        if (r == 0) {
            *closed = true;
            break;
        }
        if (r > 0)
            have += (size_t)r;
        else
            sk_loop_run_once(loop, 10, NULL);
        while (got < n && have - off >= 2 &&
               have - off >= 2 + (len = (size_t)(store[off] << 8 | store[off + 1]))) {
            dns_msg_init(&msgs[got]);
            ck_assert_int_eq(dns_msg_parse(store + off + 2, len, &msgs[got], NULL), 0);
            got++;
            off += 2 + len;
        }
    }
    return got;
}

/* ---- tests ---- */

START_TEST(udp_query_for_a_service_is_answered_authoritatively)
{
    struct dns_server *s = server_start(NULL, 0, 0, 0, 0);
    static uint8_t q[DNS_MSG_MAX], out[DNS_MSG_MAX];
    struct dns_metrics m;
    struct dns_msg r;

    udp_ask(dns_server_port(s), q, query(q, 7, "web.default.svc.cluster.local", DNS_TYPE_A, false),
            &r, out);
    ck_assert_uint_eq(r.id, 7);
    ck_assert(r.flags & DNS_F_AA);
    ck_assert(!(r.flags & DNS_F_RA)); /* no upstream: no recursion */
    ck_assert_uint_eq(dns_msg_rcode(&r), DNS_RCODE_NOERROR);
    ck_assert_uint_eq(r.nrr[DNS_SEC_ANSWER], 1);
    ck_assert(memcmp(r.rr[0][0].rd.a, "\x0a\x60\x00\x0a", 4) == 0);
    dns_msg_release(&r);
    dns_server_metrics(s, &m);
    ck_assert_uint_eq(m.queries_udp, 1);
    ck_assert_uint_eq(m.rcode[DNS_RCODE_NOERROR], 1);
    dns_server_free(s);
}
END_TEST

START_TEST(other_names_are_refused_when_no_upstream_is_configured)
{
    struct dns_server *s = server_start(NULL, 0, 0, 0, 0);
    static uint8_t q[DNS_MSG_MAX], out[DNS_MSG_MAX];
    struct dns_metrics m;
    struct dns_msg r;

    udp_ask(dns_server_port(s), q, query(q, 8, "example.org", DNS_TYPE_A, true), &r, out);
    ck_assert_uint_eq(dns_msg_rcode(&r), DNS_RCODE_REFUSED);
    ck_assert(!(r.flags & DNS_F_AA));
    ck_assert_uint_eq(r.nrr[DNS_SEC_ANSWER], 0);
    ck_assert(r.edns);
    dns_msg_release(&r);
    dns_server_metrics(s, &m);
    ck_assert_uint_eq(m.rcode[DNS_RCODE_REFUSED], 1);
    ck_assert_uint_eq(m.forwarded, 0);
    dns_server_free(s);
}
END_TEST

START_TEST(large_udp_answer_is_truncated_and_complete_over_tcp)
{
    struct dns_server *s = server_start(NULL, 0, 0, 0, 0);
    static uint8_t q[DNS_MSG_MAX], out[DNS_MSG_MAX], store[4 * DNS_MSG_MAX];
    struct dns_metrics m;
    struct dns_msg r;
    bool closed;
    size_t qlen;
    int fd;

    qlen = query(q, 9, "many.default.svc.cluster.local", DNS_TYPE_A, false);
    udp_ask(dns_server_port(s), q, qlen, &r, out);
    ck_assert(r.flags & DNS_F_TC);
    ck_assert_uint_eq(r.nrr[DNS_SEC_ANSWER], 0);
    dns_msg_release(&r);
    /* With EDNS 1232 the 60 addresses fit. */
    udp_ask(dns_server_port(s), q, query(q, 10, "many.default.svc.cluster.local", DNS_TYPE_A, true),
            &r, out);
    ck_assert(!(r.flags & DNS_F_TC));
    ck_assert_uint_eq(r.nrr[DNS_SEC_ANSWER], 60);
    dns_msg_release(&r);
    /* The client's retry over TCP gets them all. */
    fd = tcp_client(dns_server_port(s));
    tcp_put(fd, q, query(q, 9, "many.default.svc.cluster.local", DNS_TYPE_A, false));
    ck_assert_uint_eq(tcp_get(fd, &r, 1, store, 3000, &closed), 1);
    ck_assert(!(r.flags & DNS_F_TC));
    ck_assert_uint_eq(r.nrr[DNS_SEC_ANSWER], 60);
    dns_msg_release(&r);
    close(fd);
    dns_server_metrics(s, &m);
    ck_assert_uint_eq(m.truncated, 1);
    ck_assert_uint_eq(m.queries_tcp, 1);
    dns_server_free(s);
}
END_TEST

START_TEST(pipelined_tcp_queries_are_all_answered)
{
    struct dns_server *s = server_start(NULL, 0, 0, 0, 0);
    static uint8_t q[DNS_MSG_MAX], batch[4096], store[4 * DNS_MSG_MAX];
    struct dns_msg r[5];
    size_t len = 0, qlen, i;
    bool closed;
    int fd;

    /* Five queries in one write, the last split over two writes. */
    for (i = 0; i < 5; i++) {
        qlen = query(q, (uint16_t)(100 + i),
                     i % 2 ? "web.default.svc.cluster.local" : "nosuch.default.svc.cluster.local",
                     DNS_TYPE_A, i == 4);
        batch[len++] = (uint8_t)(qlen >> 8);
        batch[len++] = (uint8_t)qlen;
        memcpy(batch + len, q, qlen);
        len += qlen;
    }
    fd = tcp_client(dns_server_port(s));
    ck_assert_int_eq(write(fd, batch, len - 7), (ssize_t)len - 7);
    for (i = 0; i < 20; i++)
        sk_loop_run_once(loop, 5, NULL);
    ck_assert_int_eq(write(fd, batch + len - 7, 7), 7);
    ck_assert_uint_eq(tcp_get(fd, r, 5, store, 3000, &closed), 5);
    for (i = 0; i < 5; i++) {
        ck_assert_uint_eq(r[i].id, 100 + i);
        ck_assert_uint_eq(dns_msg_rcode(&r[i]), i % 2 ? DNS_RCODE_NOERROR : DNS_RCODE_NXDOMAIN);
        dns_msg_release(&r[i]);
    }
    close(fd);
    dns_server_free(s);
}
END_TEST

START_TEST(client_gone_before_its_answers_is_no_harm)
{
    struct dns_server *s = server_start(NULL, 0, 0, 0, 0);
    static uint8_t q[DNS_MSG_MAX], out[DNS_MSG_MAX];
    struct dns_msg r;
    size_t qlen;
    int fd, i;

    /* 300 queries for ~1 KB answers, then a close without reading: the
     * server's writes meet a reset connection (EPIPE, never SIGPIPE). */
    qlen = query(q, 1, "many.default.svc.cluster.local", DNS_TYPE_A, false);
    fd = tcp_client(dns_server_port(s));
    for (i = 0; i < 300; i++)
        tcp_put(fd, q, qlen);
    for (i = 0; i < 10; i++)
        sk_loop_run_once(loop, 5, NULL);
    close(fd);
    for (i = 0; i < 20; i++)
        sk_loop_run_once(loop, 5, NULL);
    udp_ask(dns_server_port(s), q, query(q, 2, "web.default.svc.cluster.local", DNS_TYPE_A, false),
            &r, out);
    ck_assert_uint_eq(r.nrr[DNS_SEC_ANSWER], 1);
    dns_msg_release(&r);
    dns_server_free(s);
}
END_TEST

START_TEST(forwarded_query_gets_the_stub_answer_with_its_own_id_then_the_cache)
{
    static uint8_t q[DNS_MSG_MAX], out[DNS_MSG_MAX];
    struct dns_server *s;
    struct dns_metrics m;
    struct stub st;
    struct dns_msg r;
    char up[64];
    const char *ups[1] = {up};

    stub_start(&st, false);
    snprintf(up, sizeof(up), "127.0.0.1:%d", st.port);
    s = server_start(ups, 1, 1000, 0, 0);
    udp_ask(dns_server_port(s), q, query(q, 0x1111, "Example.ORG", DNS_TYPE_A, true), &r, out);
    ck_assert_uint_eq(r.id, 0x1111);
    ck_assert_uint_eq(dns_msg_rcode(&r), DNS_RCODE_NOERROR);
    ck_assert(!(r.flags & DNS_F_AA));
    ck_assert(r.flags & DNS_F_RA);
    ck_assert_uint_eq(r.nrr[DNS_SEC_ANSWER], 1);
    ck_assert(memcmp(r.rr[0][0].rd.a, "\xc0\x00\x02\x01", 4) == 0);
    ck_assert_uint_eq(r.rr[0][0].ttl, 60);
    dns_msg_release(&r);
    ck_assert_uint_eq(st.queries, 1);
    /* Cluster names never go upstream, and carry RA now. */
    udp_ask(dns_server_port(s), q, query(q, 1, "web.default.svc.cluster.local", DNS_TYPE_A, false),
            &r, out);
    ck_assert(r.flags & DNS_F_AA && r.flags & DNS_F_RA);
    dns_msg_release(&r);
    /* The same question again (other case) comes from the cache. */
    udp_ask(dns_server_port(s), q, query(q, 0x2222, "example.org", DNS_TYPE_A, true), &r, out);
    ck_assert_uint_eq(r.id, 0x2222);
    ck_assert_uint_eq(r.question.name.data[1], 'e'); /* this query's case */
    ck_assert_uint_eq(r.nrr[DNS_SEC_ANSWER], 1);
    ck_assert_uint_le(r.rr[0][0].ttl, 60);
    dns_msg_release(&r);
    ck_assert_uint_eq(st.queries, 1);
    dns_server_metrics(s, &m);
    ck_assert_uint_eq(m.forwarded, 1);
    ck_assert_uint_eq(m.cache_hits, 1);
    dns_server_free(s);
    stub_stop(&st);
}
END_TEST

START_TEST(forwarded_tcp_query_is_answered_over_tcp)
{
    static uint8_t q[DNS_MSG_MAX], store[4 * DNS_MSG_MAX];
    struct dns_server *s;
    struct stub st;
    struct dns_msg r;
    bool closed;
    char up[64];
    const char *ups[1] = {up};
    int fd;

    stub_start(&st, false);
    snprintf(up, sizeof(up), "127.0.0.1:%d", st.port);
    s = server_start(ups, 1, 1000, 0, 0);
    fd = tcp_client(dns_server_port(s));
    tcp_put(fd, q, query(q, 0x3333, "outside.test", DNS_TYPE_A, false));
    tcp_put(fd, q, query(q, 0x4444, "web.default.svc.cluster.local", DNS_TYPE_A, false));
    ck_assert_uint_eq(tcp_get(fd, &r, 1, store, 3000, &closed), 1);
    /* The zone answer does not wait for the forwarded one. */
    ck_assert_uint_eq(r.id, 0x4444);
    dns_msg_release(&r);
    ck_assert_uint_eq(tcp_get(fd, &r, 1, store, 3000, &closed), 1);
    ck_assert_uint_eq(r.id, 0x3333);
    ck_assert_uint_eq(r.nrr[DNS_SEC_ANSWER], 1);
    dns_msg_release(&r);
    close(fd);
    dns_server_free(s);
    stub_stop(&st);
}
END_TEST

START_TEST(silent_upstream_moves_to_the_next_then_servfail_in_bounded_time)
{
    static uint8_t q[DNS_MSG_MAX], out[DNS_MSG_MAX];
    struct dns_server *s;
    struct stub dead1, dead2, good;
    struct dns_metrics m;
    struct dns_msg r;
    char u1[64], u2[64], u3[64];
    const char *ups[3] = {u1, u2, u3};
    int64_t t0, took;

    stub_start(&dead1, true);
    stub_start(&dead2, true);
    stub_start(&good, false);
    snprintf(u1, sizeof(u1), "127.0.0.1:%d", dead1.port);
    snprintf(u2, sizeof(u2), "127.0.0.1:%d", dead2.port);
    snprintf(u3, sizeof(u3), "127.0.0.1:%d", good.port);
    /* Two dead upstreams: SERVFAIL after 2 x 100 ms. */
    s = server_start(ups, 2, 100, 0, 0);
    t0 = sk_clock_mono_ms();
    udp_ask(dns_server_port(s), q, query(q, 5, "example.org", DNS_TYPE_A, false), &r, out);
    took = sk_clock_mono_ms() - t0;
    ck_assert_uint_eq(dns_msg_rcode(&r), DNS_RCODE_SERVFAIL);
    ck_assert_uint_eq(r.id, 5);
    ck_assert_int_ge(took, 190);
    ck_assert_int_lt(took, 1500);
    ck_assert_uint_eq(dead1.queries, 1);
    ck_assert_uint_eq(dead2.queries, 1);
    dns_msg_release(&r);
    dns_server_metrics(s, &m);
    ck_assert_uint_eq(m.upstream_timeouts, 2);
    ck_assert_uint_eq(m.rcode[DNS_RCODE_SERVFAIL], 1);
    dns_server_free(s);
    /* A dead one first, a live one second: the answer comes from it. */
    s = server_start(ups + 1, 2, 100, 0, 0);
    udp_ask(dns_server_port(s), q, query(q, 6, "example.org", DNS_TYPE_A, false), &r, out);
    ck_assert_uint_eq(dns_msg_rcode(&r), DNS_RCODE_NOERROR);
    ck_assert_uint_eq(r.nrr[DNS_SEC_ANSWER], 1);
    ck_assert_uint_eq(good.queries, 1);
    dns_msg_release(&r);
    dns_server_free(s);
    stub_stop(&dead1);
    stub_stop(&dead2);
    stub_stop(&good);
}
END_TEST

START_TEST(malformed_queries_get_formerr_and_responses_are_ignored)
{
    struct dns_server *s = server_start(NULL, 0, 0, 0, 0);
    static uint8_t q[DNS_MSG_MAX], out[DNS_MSG_MAX];
    static const uint8_t loop_ptr[] = {0xab, 0xcd, 0x01, 0,    0,  1, 0, 0, 0,
                                       0,    0,    0,    0xc0, 12, 0, 1, 0, 1};
    static const uint8_t no_question[] = {0xab, 0xce, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    struct dns_metrics m;
    struct dns_msg r;
    size_t qlen;
    int fd = udp_client(dns_server_port(s));

    udp_ask(dns_server_port(s), (uint8_t *)loop_ptr, sizeof(loop_ptr), &r, out);
    ck_assert_uint_eq(r.id, 0xabcd);
    ck_assert_uint_eq(dns_msg_rcode(&r), DNS_RCODE_FORMERR);
    dns_msg_release(&r);
    udp_ask(dns_server_port(s), (uint8_t *)no_question, sizeof(no_question), &r, out);
    ck_assert_uint_eq(dns_msg_rcode(&r), DNS_RCODE_FORMERR);
    dns_msg_release(&r);
    /* EDNS version 1: BADVERS, the extended rcode 16 in the OPT record. */
    qlen = query(q, 14, "web.default.svc.cluster.local", DNS_TYPE_A, true);
    q[qlen - 11 + 6] = 1; /* the OPT record's version byte */
    udp_ask(dns_server_port(s), q, qlen, &r, out);
    ck_assert(r.edns);
    ck_assert_uint_eq((unsigned)r.edns_ext_rcode << 4 | dns_msg_rcode(&r), DNS_RCODE_BADVERS);
    ck_assert_uint_eq(r.nrr[DNS_SEC_ANSWER], 0);
    dns_msg_release(&r);
    /* A short packet and a response are dropped without a word. */
    ck_assert_int_eq(send(fd, "\x01\x02\x03", 3, 0), 3);
    query(q, 11, "web.default.svc.cluster.local", DNS_TYPE_A, false);
    q[2] |= 0x80;
    ck_assert_int_eq(send(fd, q, 47, 0), 47);
    ck_assert_int_lt(udp_wait(fd, out, sizeof(out), 200), 0);
    dns_server_metrics(s, &m);
    ck_assert_uint_eq(m.dropped, 2);
    ck_assert_uint_eq(m.rcode[DNS_RCODE_FORMERR], 2);
    close(fd);
    dns_server_free(s);
}
END_TEST

START_TEST(a_new_zone_snapshot_answers_the_next_query)
{
    struct dns_server *s = server_start(NULL, 0, 0, 0, 0);
    static uint8_t q[DNS_MSG_MAX], out[DNS_MSG_MAX];
    struct dns_msg r;

    dns_server_set_zone(s, make_zone("10.96.7.7"));
    udp_ask(dns_server_port(s), q, query(q, 12, "web.default.svc.cluster.local", DNS_TYPE_A, false),
            &r, out);
    ck_assert(memcmp(r.rr[0][0].rd.a, "\x0a\x60\x07\x07", 4) == 0);
    dns_msg_release(&r);
    dns_server_free(s);
}
END_TEST

START_TEST(idle_tcp_connections_close_and_extra_ones_are_refused)
{
    struct dns_server *s = server_start(NULL, 0, 0, 150, 1);
    static uint8_t q[DNS_MSG_MAX], store[4 * DNS_MSG_MAX];
    struct dns_metrics m;
    struct dns_msg r;
    bool closed;
    int a, b;

    a = tcp_client(dns_server_port(s));
    tcp_put(a, q, query(q, 13, "web.default.svc.cluster.local", DNS_TYPE_A, false));
    ck_assert_uint_eq(tcp_get(a, &r, 1, store, 3000, &closed), 1);
    dns_msg_release(&r);
    /* Over the limit of one connection: closed at once. */
    b = tcp_client(dns_server_port(s));
    ck_assert_uint_eq(tcp_get(b, &r, 1, store, 3000, &closed), 0);
    ck_assert(closed);
    close(b);
    /* The idle one is closed after 150 ms. */
    ck_assert_uint_eq(tcp_get(a, &r, 1, store, 3000, &closed), 0);
    ck_assert(closed);
    close(a);
    dns_server_metrics(s, &m);
    ck_assert_uint_eq(m.tcp_refused, 1);
    dns_server_free(s);
}
END_TEST

START_TEST(bad_configuration_is_reported)
{
    struct dns_server_config cfg = {0};
    char self[64];
    struct dns_server *s = NULL;
    struct sk_err err;

    sk_err_init(&err);
    cfg.listen = "nowhere:53";
    ck_assert_int_lt(dns_server_new(loop, &cfg, NULL, &s, &err), 0);
    ck_assert(strstr(err.msg, "not an IP address") != NULL);
    cfg.listen = "127.0.0.1:0";
    cfg.upstream[0] = "resolver.example:53";
    cfg.nupstream = 1;
    ck_assert_int_lt(dns_server_new(loop, &cfg, NULL, &s, &err), 0);
    ck_assert_msg(strstr(err.msg, "upstream 'resolver.example:53'") != NULL, "%s", err.msg);
    /* Forwarding to itself would loop. */
    cfg.listen = "127.0.0.1:0";
    cfg.upstream[0] = "127.0.0.1:1";
    ck_assert_int_eq(dns_server_new(loop, &cfg, NULL, &s, &err), 0);
    snprintf(self, sizeof(self), "127.0.0.1:%d", dns_server_port(s));
    dns_server_free(s);
    cfg.listen = self;
    cfg.upstream[0] = self;
    ck_assert_int_lt(dns_server_new(loop, &cfg, NULL, &s, &err), 0);
    ck_assert_msg(strstr(err.msg, "is this server itself") != NULL, "%s", err.msg);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("dns_server");
    TCase *tc = tcase_create("server");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, udp_query_for_a_service_is_answered_authoritatively);
    tcase_add_test(tc, other_names_are_refused_when_no_upstream_is_configured);
    tcase_add_test(tc, large_udp_answer_is_truncated_and_complete_over_tcp);
    tcase_add_test(tc, pipelined_tcp_queries_are_all_answered);
    tcase_add_test(tc, client_gone_before_its_answers_is_no_harm);
    tcase_add_test(tc, forwarded_query_gets_the_stub_answer_with_its_own_id_then_the_cache);
    tcase_add_test(tc, forwarded_tcp_query_is_answered_over_tcp);
    tcase_add_test(tc, silent_upstream_moves_to_the_next_then_servfail_in_bounded_time);
    tcase_add_test(tc, malformed_queries_get_formerr_and_responses_are_ignored);
    tcase_add_test(tc, a_new_zone_snapshot_answers_the_next_query);
    tcase_add_test(tc, idle_tcp_connections_close_and_extra_ones_are_refused);
    tcase_add_test(tc, bad_configuration_is_reported);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
