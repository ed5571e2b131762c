/* net/dns_msg: names, parse/build round trips, compression, truncation,
 * and malformed packets (each must fail with EBADMSG, never crash). */
#include "net/dns.h"
#include "unit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static struct dns_name
mkname(const char *s)
{
    struct dns_name n;

    ck_assert_int_eq(dns_name_from_str(s, &n, NULL), 0);
    return n;
}

static const struct {
    const char *in;
    int rc;
    const char *out;
} names[] = {
    {"web.default.svc.cluster.local", 0, "web.default.svc.cluster.local"},
    {"web.default.svc.cluster.local.", 0, "web.default.svc.cluster.local"},
    {".", 0, "."},
    {"", 0, "."},
    {"a..b", -EINVAL, NULL},
    {".a", -EINVAL, NULL},
    {"a b.c", 0, "a\\032b.c"},
    {"_http._tcp.web", 0, "_http._tcp.web"},
    {"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.x", 0, NULL}, /* 63 */
    {"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.x", -EINVAL, NULL},
};

START_TEST(names_parse_and_print_table)
{
    struct dns_name n;
    char buf[DNS_NAME_STRLEN];
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_eq(dns_name_from_str(names[_i].in, &n, &err), names[_i].rc);
    if (names[_i].rc == 0 && names[_i].out)
        ck_assert_str_eq(dns_name_to_str(&n, buf, sizeof(buf)), names[_i].out);
}
END_TEST

START_TEST(names_over_255_bytes_are_refused)
{
    char s[300];
    struct dns_name n;
    struct sk_err err;

    /* 4 labels of 63 bytes: 4 * 64 + 1 = 257 wire bytes. */
    memset(s, 'a', sizeof(s));
    s[63] = s[127] = s[191] = '.';
    s[255] = '\0';
    sk_err_init(&err);
    ck_assert_int_eq(dns_name_from_str(s, &n, &err), -EINVAL);
    ck_assert(strstr(err.msg, "longer than 255") != NULL);
    s[250] = '\0'; /* 4 labels, the last 58: 252 bytes */
    ck_assert_int_eq(dns_name_from_str(s, &n, &err), 0);
    ck_assert_uint_eq(n.len, 252);
}
END_TEST

START_TEST(names_compare_case_insensitively_on_label_boundaries)
{
    struct dns_name a = mkname("Web.Default.SVC.cluster.local"),
                    b = mkname("web.default.svc.cluster.local");
    struct dns_name apex = mkname("cluster.local"), x = mkname("xcluster.local");

    ck_assert(dns_name_equal(&a, &b));
    ck_assert(dns_name_is_under(&a, &apex));
    ck_assert(dns_name_is_under(&apex, &apex));
    ck_assert(!dns_name_is_under(&x, &apex));
    ck_assert_uint_eq(dns_name_labels(&a), 5);
    ck_assert_uint_eq(dns_name_labels(&(struct dns_name){1, {0}}), 0);
}
END_TEST

static struct dns_rr
rr_base(const char *name, uint16_t type)
{
    struct dns_rr rr;

    memset(&rr, 0, sizeof(rr));
    rr.name = mkname(name);
    rr.type = type;
    rr.klass = DNS_CLASS_IN;
    rr.ttl = 30;
    return rr;
}

static void
sample_msg(struct dns_msg *m)
{
    struct dns_rr rr;

    dns_msg_init(m);
    m->id = 0xbeef;
    m->flags = DNS_F_QR | DNS_F_AA | DNS_F_RD;
    m->has_question = true;
    m->question.name = mkname("_http._tcp.web.default.svc.cluster.local");
    m->question.type = DNS_TYPE_SRV;
    m->question.klass = DNS_CLASS_IN;
    rr = rr_base("_http._tcp.web.default.svc.cluster.local", DNS_TYPE_SRV);
    rr.rd.srv.priority = 0;
    rr.rd.srv.weight = 100;
    rr.rd.srv.port = 8080;
    rr.rd.srv.target = mkname("web.default.svc.cluster.local");
    dns_msg_add_rr(m, DNS_SEC_ANSWER, &rr);
    rr = rr_base("cluster.local", DNS_TYPE_SOA);
    rr.rd.soa.mname = mkname("ns.dns.cluster.local");
    rr.rd.soa.rname = mkname("hostmaster.cluster.local");
    rr.rd.soa.serial = 7;
    rr.rd.soa.refresh = 7200;
    rr.rd.soa.retry = 1800;
    rr.rd.soa.expire = 86400;
    rr.rd.soa.minimum = 30;
    dns_msg_add_rr(m, DNS_SEC_AUTHORITY, &rr);
    rr = rr_base("web.default.svc.cluster.local", DNS_TYPE_A);
    memcpy(rr.rd.a, "\x0a\x60\x00\x0a", 4);
    dns_msg_add_rr(m, DNS_SEC_ADDITIONAL, &rr);
    rr = rr_base("web.default.svc.cluster.local", DNS_TYPE_AAAA);
    memcpy(rr.rd.aaaa, "\xfd\x00\0\0\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
    dns_msg_add_rr(m, DNS_SEC_ADDITIONAL, &rr);
    rr = rr_base("10.0.96.10.in-addr.arpa", DNS_TYPE_PTR);
    rr.rd.target = mkname("web.default.svc.cluster.local");
    dns_msg_add_rr(m, DNS_SEC_ADDITIONAL, &rr);
    rr = rr_base("alias.default.svc.cluster.local", DNS_TYPE_CNAME);
    rr.rd.target = mkname("example.org");
    dns_msg_add_rr(m, DNS_SEC_ADDITIONAL, &rr);
    rr = rr_base("txt.cluster.local", DNS_TYPE_TXT);
    rr.raw = (const uint8_t *)"\x05hello";
    rr.rawlen = 6;
    dns_msg_add_rr(m, DNS_SEC_ADDITIONAL, &rr);
    m->edns = true;
    m->edns_size = 1232;
    m->edns_do = true;
}

static void
assert_rr_equal(const struct dns_rr *a, const struct dns_rr *b)
{
    ck_assert(dns_name_equal(&a->name, &b->name));
    ck_assert_uint_eq(a->type, b->type);
    ck_assert_uint_eq(a->klass, b->klass);
    ck_assert_uint_eq(a->ttl, b->ttl);
    switch (a->type) {
    case DNS_TYPE_A:
        ck_assert(memcmp(a->rd.a, b->rd.a, 4) == 0);
        break;
    case DNS_TYPE_AAAA:
        ck_assert(memcmp(a->rd.aaaa, b->rd.aaaa, 16) == 0);
        break;
    case DNS_TYPE_PTR:
    case DNS_TYPE_CNAME:
        ck_assert(dns_name_equal(&a->rd.target, &b->rd.target));
        break;
    case DNS_TYPE_SRV:
        ck_assert_uint_eq(a->rd.srv.port, b->rd.srv.port);
        ck_assert_uint_eq(a->rd.srv.weight, b->rd.srv.weight);
        ck_assert(dns_name_equal(&a->rd.srv.target, &b->rd.srv.target));
        break;
    case DNS_TYPE_SOA:
        ck_assert(dns_name_equal(&a->rd.soa.mname, &b->rd.soa.mname));
        ck_assert(dns_name_equal(&a->rd.soa.rname, &b->rd.soa.rname));
        ck_assert_uint_eq(a->rd.soa.serial, b->rd.soa.serial);
        ck_assert_uint_eq(a->rd.soa.minimum, b->rd.soa.minimum);
        break;
    default:
        ck_assert_uint_eq(a->rawlen, b->rawlen);
        ck_assert(memcmp(a->raw, b->raw, a->rawlen) == 0);
    }
}

START_TEST(build_then_parse_round_trips_every_record_type)
{
    struct dns_msg m, p;
    uint8_t buf[DNS_MSG_MAX];
    struct sk_err err;
    unsigned s;
    size_t i;
    int len;

    sample_msg(&m);
    dns_msg_init(&p);
    sk_err_init(&err);
    len = dns_msg_build(&m, buf, sizeof(buf), DNS_MSG_MAX, &err);
    ck_assert_int_gt(len, DNS_HEADER_LEN);
    ck_assert_msg(dns_msg_parse(buf, (size_t)len, &p, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(p.id, 0xbeef);
    ck_assert_uint_eq(p.flags, m.flags);
    ck_assert(p.has_question && dns_name_equal(&p.question.name, &m.question.name));
    ck_assert_uint_eq(p.question.type, DNS_TYPE_SRV);
    ck_assert(p.edns && p.edns_do);
    ck_assert_uint_eq(p.edns_size, 1232);
    for (s = 0; s < DNS_SEC_COUNT; s++) {
        ck_assert_uint_eq(p.nrr[s], m.nrr[s]);
        for (i = 0; i < m.nrr[s]; i++)
            assert_rr_equal(&m.rr[s][i], &p.rr[s][i]);
    }
    /* The parser records where each TTL sits, for the cache to age it. */
    ck_assert_uint_eq(buf[p.rr[0][0].ttl_off + 3], 30);
    dns_msg_release(&m);
    dns_msg_release(&p);
}
END_TEST

START_TEST(names_are_compressed_but_never_inside_srv)
{
    struct dns_msg m;
    uint8_t buf[DNS_MSG_MAX];
    static const uint8_t target[] = "\x03web\x07"
                                    "default\x03svc\x07"
                                    "cluster\x05local";
    int len;

    sample_msg(&m);
    len = dns_msg_build(&m, buf, sizeof(buf), DNS_MSG_MAX, NULL);
    /* The SRV owner equals the question: a pointer to offset 12. */
    ck_assert_uint_eq(buf[12 + m.question.name.len], 0x00);
    ck_assert_uint_eq(buf[12 + m.question.name.len + 4], 0xc0);
    ck_assert_uint_eq(buf[12 + m.question.name.len + 5], 12);
    /* The SRV target is spelled out in full (RFC 2782). */
    ck_assert(memmem(buf, (size_t)len, target, sizeof(target) - 1) != NULL);
    /* And the rest is compressed: far less than every name in full. */
    ck_assert_int_lt(len, 350);
    dns_msg_release(&m);
}
END_TEST

START_TEST(oversized_answer_is_truncated_with_tc)
{
    struct dns_msg m, p;
    uint8_t buf[DNS_MSG_MAX];
    struct dns_rr rr;
    int len, i;

    dns_msg_init(&m);
    dns_msg_init(&p);
    m.flags = DNS_F_QR;
    m.has_question = true;
    m.question.name = mkname("big.default.svc.cluster.local");
    m.question.type = DNS_TYPE_A;
    m.question.klass = DNS_CLASS_IN;
    for (i = 0; i < 60; i++) {
        rr = rr_base("big.default.svc.cluster.local", DNS_TYPE_A);
        rr.rd.a[3] = (uint8_t)i;
        dns_msg_add_rr(&m, DNS_SEC_ANSWER, &rr);
    }
    len = dns_msg_build(&m, buf, sizeof(buf), DNS_UDP_MIN, NULL);
    ck_assert_int_le(len, DNS_UDP_MIN);
    ck_assert(buf[2] & (DNS_F_TC >> 8));
    ck_assert_int_eq(dns_msg_parse(buf, (size_t)len, &p, NULL), 0);
    ck_assert_uint_eq(p.nrr[DNS_SEC_ANSWER], 0);
    ck_assert(p.has_question);
    dns_msg_release(&p);
    /* 60 A records fit in 1232 bytes with compression (16 bytes each). */
    len = dns_msg_build(&m, buf, sizeof(buf), DNS_EDNS_SIZE, NULL);
    ck_assert(!(buf[2] & (DNS_F_TC >> 8)));
    dns_msg_release(&m);
}
END_TEST

START_TEST(additional_records_that_do_not_fit_are_dropped_without_tc)
{
    struct dns_msg m, p;
    uint8_t buf[DNS_MSG_MAX];
    struct dns_rr rr;
    int len, i;

    dns_msg_init(&m);
    dns_msg_init(&p);
    m.flags = DNS_F_QR;
    m.has_question = true;
    m.question.name = mkname("web.default.svc.cluster.local");
    m.question.type = DNS_TYPE_A;
    m.question.klass = DNS_CLASS_IN;
    m.edns = true;
    m.edns_size = 1232;
    rr = rr_base("web.default.svc.cluster.local", DNS_TYPE_A);
    dns_msg_add_rr(&m, DNS_SEC_ANSWER, &rr);
    for (i = 0; i < 100; i++) {
        char s[64];
        snprintf(s, sizeof(s), "host-%d.web.default.svc.cluster.local", i);
        rr = rr_base(s, DNS_TYPE_A);
        dns_msg_add_rr(&m, DNS_SEC_ADDITIONAL, &rr);
    }
    len = dns_msg_build(&m, buf, sizeof(buf), DNS_UDP_MIN, NULL);
    ck_assert_int_le(len, DNS_UDP_MIN);
    ck_assert(!(buf[2] & (DNS_F_TC >> 8)));
    ck_assert_int_eq(dns_msg_parse(buf, (size_t)len, &p, NULL), 0);
    ck_assert_uint_eq(p.nrr[DNS_SEC_ANSWER], 1);
    ck_assert_uint_gt(p.nrr[DNS_SEC_ADDITIONAL], 5);
    ck_assert_uint_lt(p.nrr[DNS_SEC_ADDITIONAL], 100);
    ck_assert(p.edns); /* the OPT always has room */
    dns_msg_release(&p);
    dns_msg_release(&m);
}
END_TEST

START_TEST(reply_to_copies_id_question_and_flags)
{
    struct dns_msg q, r;

    dns_msg_init(&q);
    dns_msg_init(&r);
    q.id = 77;
    q.flags = DNS_F_RD | DNS_F_CD;
    q.has_question = true;
    q.question.name = mkname("x.cluster.local");
    q.edns = true;
    q.edns_size = 4096;
    dns_msg_reply_to(&q, DNS_RCODE_NXDOMAIN, &r);
    ck_assert_uint_eq(r.id, 77);
    ck_assert_uint_eq(r.flags, DNS_F_QR | DNS_F_RD | DNS_F_CD | DNS_RCODE_NXDOMAIN);
    ck_assert(r.edns);
    ck_assert_uint_eq(r.edns_size, DNS_EDNS_SIZE);
    ck_assert(dns_name_equal(&r.question.name, &q.question.name));
}
END_TEST

/* Malformed packets. H is a header with the given counts. */
#define H(qd, an, ns, ar) 0x12, 0x34, 0x01, 0x00, 0, qd, 0, an, 0, ns, 0, ar
#define Q_A               0, 1, 0, 1 /* type A class IN */

static const struct bad {
    const char *what;
    uint8_t p[80];
    size_t len;
    const char *msg;
} bad[] = {
    {"short header", {0x12, 0x34, 0x01}, 3, "shorter than a header"},
    {"two questions", {H(2, 0, 0, 0), 0, Q_A, 0, Q_A}, 22, "2 questions"},
    {"question count lies", {H(1, 0, 0, 0)}, 12, "truncated"},
    {"label runs past the end", {H(1, 0, 0, 0), 5, 'a', 'b'}, 15, "truncated"},
    {"question without type", {H(1, 0, 0, 0), 1, 'a', 0, 0}, 16, "truncated"},
    {"label type 01 (64+ length)", {H(1, 0, 0, 0), 0x40, 'a', 0, Q_A}, 19, "reserved label"},
    {"label type 10", {H(1, 0, 0, 0), 0x80, 0, Q_A}, 18, "reserved label"},
    {"pointer to itself", {H(1, 0, 0, 0), 0xc0, 12, Q_A}, 18, "does not point backwards"},
    {"pointer forwards", {H(1, 0, 0, 0), 0xc0, 16, Q_A, 0}, 19, "does not point backwards"},
    {"pointer into the header", {H(1, 0, 0, 0), 0xc0, 4, Q_A}, 18, "does not point backwards"},
    {"pointer to a pointer after it (loop)",
     {H(1, 1, 0, 0), 1, 'a', 0xc0, 18, Q_A, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0},
     30,
     "does not point backwards"},
    {"pointer cut in half", {H(1, 0, 0, 0), 1, 'a', 0xc0}, 15, "truncated"},
    {"answer count lies", {H(1, 1, 0, 0), 0, Q_A}, 17, "truncated"},
    {"record header cut", {H(1, 1, 0, 0), 0, Q_A, 0, 0, 1, 0}, 21, "truncated"},
    {"rdlength past the end",
     {H(1, 1, 0, 0), 0, Q_A, 0, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 10, 0},
     31,
     "truncated"},
    {"A with 5 bytes",
     {H(1, 1, 0, 0), 0, Q_A, 0, 0, 1, 0, 1, 0, 0, 0, 30, 0, 5, 10, 0, 0, 1, 9},
     34,
     "rdata length"},
    {"SRV shorter than its fixed part",
     {H(1, 1, 0, 0), 0, Q_A, 0, 0, 33, 0, 1, 0, 0, 0, 30, 0, 3, 0, 0, 0},
     32,
     "rdata length"},
    {"PTR name longer than rdata",
     {H(1, 1, 0, 0), 0, Q_A, 0, 0, 12, 0, 1, 0, 0, 0, 30, 0, 2, 1, 'x', 0},
     32,
     "rdata length"},
    {"SOA missing its numbers",
     {H(1, 1, 0, 0), 0, Q_A, 0, 0, 6, 0, 1, 0, 0, 0, 30, 0, 6, 0, 0, 1, 2, 3, 4},
     35,
     "rdata length"},
    {"OPT in the answer section",
     {H(1, 1, 0, 0), 0, Q_A, 0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0},
     28,
     "OPT record outside"},
    {"two OPT records",
     {H(1, 0, 0, 2), 0, Q_A, 0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 41,
      0x10,          0, 0,   0, 0, 0,  0,    0},
     39,
     "more than one OPT"},
    {"OPT not owned by the root",
     {H(1, 0, 0, 1), 0, Q_A, 1, 'a', 0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0},
     30,
     "not the root"},
    {"OPT option cut short",
     {H(1, 0, 0, 1), 0, Q_A, 0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 6, 0, 8, 0, 9, 1, 2},
     34,
     "option truncated"},
    {"bytes after the last record", {H(1, 0, 0, 0), 0, Q_A, 0xff}, 18, "after the last record"},
};

START_TEST(malformed_packets_fail_with_ebadmsg)
{
    const struct bad *b = &bad[_i];
    struct dns_msg m;
    struct sk_err err;

    dns_msg_init(&m);
    sk_err_init(&err);
    ck_assert_msg(dns_msg_parse(b->p, b->len, &m, &err) == -EBADMSG, "%s: parsed", b->what);
    ck_assert_msg(strstr(err.msg, b->msg) != NULL, "%s: '%s'", b->what, err.msg);
    if (b->len >= DNS_HEADER_LEN)
        ck_assert_uint_eq(m.id, 0x1234); /* enough to send FORMERR */
    dns_msg_release(&m);
}
END_TEST

START_TEST(name_over_255_bytes_through_pointers_is_refused)
{
    uint8_t p[400];
    size_t len = 0, i, prev = 0, rdlen_at;
    struct dns_msg m;
    struct sk_err err;

    /* Question: the root, A IN. Answer 1: a TXT whose rdata holds four
     * names of one 63-byte label, each ending in a pointer to the one
     * before; answer 2's owner points at the last, which spells
     * 4 * 64 + 1 = 257 bytes. Every pointer is backwards. */
    memset(p, 0, sizeof(p));
    p[0] = 0x12;
    p[1] = 0x34;
    p[5] = 1;
    p[7] = 2;
    len = DNS_HEADER_LEN;
    memcpy(p + len, "\0\0\1\0\1", 5);
    len += 5;
    memcpy(p + len, "\0\0\x10\0\1\0\0\0\x1e", 9);
    len += 9;
    rdlen_at = len;
    len += 2;
    for (i = 0; i < 4; i++) {
        size_t start = len;
        p[len++] = 63;
        memset(p + len, 'a', 63);
        len += 63;
        if (i == 0) {
            p[len++] = 0;
        } else {
            p[len++] = (uint8_t)(0xc0 | prev >> 8);
            p[len++] = (uint8_t)prev;
        }
        prev = start;
    }
    p[rdlen_at] = (uint8_t)((len - rdlen_at - 2) >> 8);
    p[rdlen_at + 1] = (uint8_t)(len - rdlen_at - 2);
    p[len++] = (uint8_t)(0xc0 | prev >> 8);
    p[len++] = (uint8_t)prev;
    memcpy(p + len, "\0\1\0\1\0\0\0\x1e\0\4\1\2\3\4", 14);
    len += 14;
    dns_msg_init(&m);
    sk_err_init(&err);
    ck_assert_int_eq(dns_msg_parse(p, len, &m, &err), -EBADMSG);
    ck_assert_msg(strstr(err.msg, "longer than 255") != NULL, "%s", err.msg);
    dns_msg_release(&m);
    /* Aimed at the third name instead (193 bytes), it parses. */
    p[len - 15] = (uint8_t)(prev - 66);
    dns_msg_init(&m);
    ck_assert_msg(dns_msg_parse(p, len, &m, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(m.rr[DNS_SEC_ANSWER][1].name.len, 3 * 64 + 1);
    dns_msg_release(&m);
}
END_TEST

/* Parse must never crash; whatever parses must build and parse again. */
static void
parse_anything(const uint8_t *p, size_t len, unsigned *ok)
{
    static uint8_t out[DNS_MSG_MAX];
    struct dns_msg m, again;
    int rc, blen;

    dns_msg_init(&m);
    rc = dns_msg_parse(p, len, &m, NULL);
    ck_assert_msg(rc == 0 || rc == -EBADMSG, "rc %d", rc);
    if (rc == 0) {
        (*ok)++;
        blen = dns_msg_build(&m, out, sizeof(out), DNS_MSG_MAX, NULL);
        ck_assert_int_ge(blen, DNS_HEADER_LEN);
        dns_msg_init(&again);
        ck_assert_int_eq(dns_msg_parse(out, (size_t)blen, &again, NULL), 0);
        ck_assert_uint_eq(again.nrr[DNS_SEC_ANSWER], m.nrr[DNS_SEC_ANSWER]);
        dns_msg_release(&again);
    }
    dns_msg_release(&m);
}

START_TEST(fuzz_random_and_mutated_packets)
{
    uint8_t seed[DNS_MSG_MAX], p[DNS_MSG_MAX];
    struct dns_msg m;
    unsigned ok = 0, i, k, n;
    size_t seedlen, len;
    int blen;

    srandom(20261125); /* fixed: a failure reproduces */
    sample_msg(&m);
    blen = dns_msg_build(&m, seed, sizeof(seed), DNS_MSG_MAX, NULL);
    dns_msg_release(&m);
    seedlen = (size_t)blen;
    parse_anything(seed, seedlen, &ok);
    ck_assert_uint_eq(ok, 1);
    for (i = 0; i < 100000; i++) {
        if (i % 4 == 0) {
            /* random bytes behind a plausible header */
            len = (size_t)random() % 300;
            for (k = 0; k < len; k++)
                p[k] = (uint8_t)random();
            if (len >= 12) {
                p[4] = 0;
                p[5] = (uint8_t)(random() % 2);
                p[6] = p[8] = p[10] = 0;
            }
        } else {
            /* the valid message with a few bytes changed, cut or grown */
            memcpy(p, seed, seedlen);
            len = seedlen;
            n = 1 + (unsigned)random() % 4;
            for (k = 0; k < n; k++) {
                size_t at = (size_t)random() % len;
                switch (random() % 4) {
                case 0:
                    p[at] = (uint8_t)random();
                    break;
                case 1:
                    p[at] = (uint8_t)(0xc0 | (random() & 1));
                    break;
                case 2:
                    len = at > 0 ? at : 1;
                    break;
                default:
                    p[at] ^= (uint8_t)(1u << (random() % 8));
                }
            }
        }
        parse_anything(p, len, &ok);
    }
    /* Some mutants (a flipped TTL byte, say) stay valid: both paths ran. */
    ck_assert_uint_gt(ok, 100);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("dns_msg");
    TCase *tn = tcase_create("names");
    TCase *tb = tcase_create("build");
    TCase *tp = tcase_create("malformed");

    tcase_add_loop_test(tn, names_parse_and_print_table, 0, sizeof(names) / sizeof(names[0]));
    tcase_add_test(tn, names_over_255_bytes_are_refused);
    tcase_add_test(tn, names_compare_case_insensitively_on_label_boundaries);
    suite_add_tcase(s, tn);
    tcase_add_test(tb, build_then_parse_round_trips_every_record_type);
    tcase_add_test(tb, names_are_compressed_but_never_inside_srv);
    tcase_add_test(tb, oversized_answer_is_truncated_with_tc);
    tcase_add_test(tb, additional_records_that_do_not_fit_are_dropped_without_tc);
    tcase_add_test(tb, reply_to_copies_id_question_and_flags);
    suite_add_tcase(s, tb);
    tcase_add_loop_test(tp, malformed_packets_fail_with_ebadmsg, 0, sizeof(bad) / sizeof(bad[0]));
    tcase_add_test(tp, name_over_255_bytes_through_pointers_is_refused);
    tcase_add_test(tp, fuzz_random_and_mutated_packets);
    tcase_set_timeout(tp, 60);
    suite_add_tcase(s, tp);
    return unit_main(s);
}
