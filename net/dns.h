#ifndef SK_NET_DNS_H
#define SK_NET_DNS_H

/* net/dns*: the cluster DNS server (CoreDNS's role).
 *
 *  - dns_msg_*    RFC 1035 messages (+ the EDNS0 OPT record, RFC 6891):
 *                 strict parsing, building with name compression and
 *                 truncation. Pure functions (net/dns_msg.c).
 *  - dns_name_*   domain names in wire form.
 *  - dns_zone_*   the cluster zone, an immutable in-memory snapshot built
 *                 from Services and Endpoints, and its lookup (pure,
 *                 net/dns_zone.c).
 *  - dns_server_* a UDP and TCP server on lib/loop.h answering the zone
 *                 authoritatively and forwarding other names only to
 *                 upstreams it was configured with (net/dns_server.c).
 *
 * Nothing here reads /etc/resolv.conf or sends a packet anywhere it was
 * not told to. All fallible functions follow lib/err.h. */

#include "lib/err.h"
#include "lib/loop.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- names ---- */

#define DNS_NAME_MAX  255 /* wire length, root label included (RFC 1035 §2.3.4) */
#define DNS_LABEL_MAX 63
/* Presentation form: every byte may become "\DDD", plus dots and NUL. */
#define DNS_NAME_STRLEN 1024

/* A name in uncompressed wire form: length-prefixed labels ending in the
 * empty root label, len bytes in total (1 for the root). */
struct dns_name {
    uint8_t len;
    uint8_t data[DNS_NAME_MAX];
};

/* "svc.ns.svc.cluster.local" or with a trailing dot; "." or "" is the
 * root. No escapes are read: a label is any bytes but '.'. Fails with
 * EINVAL on an empty label, a label over 63 bytes or a name over 255. */
int dns_name_from_str(const char *s, struct dns_name *out, struct sk_err *err);
/* Presentation form without the trailing dot ("." for the root); bytes
 * other than letters, digits, '-', '_' and '*' are written "\DDD" so a
 * hostile name can never forge a dot or a control character in a log. */
const char *dns_name_to_str(const struct dns_name *n, char *buf, size_t size);
/* ASCII case-insensitive equality (RFC 4343). */
bool dns_name_equal(const struct dns_name *a, const struct dns_name *b);
/* True if n equals parent or lies below it (case-insensitive, on label
 * boundaries: "xcluster.local" is not below "cluster.local"). */
bool dns_name_is_under(const struct dns_name *n, const struct dns_name *parent);
/* Number of labels, the root not counted. */
unsigned dns_name_labels(const struct dns_name *n);

/* ---- messages ---- */

enum {
    DNS_TYPE_A = 1,
    DNS_TYPE_NS = 2,
    DNS_TYPE_CNAME = 5,
    DNS_TYPE_SOA = 6,
    DNS_TYPE_PTR = 12,
    DNS_TYPE_TXT = 16,
    DNS_TYPE_AAAA = 28,
    DNS_TYPE_SRV = 33,
    DNS_TYPE_OPT = 41,
    DNS_TYPE_IXFR = 251,
    DNS_TYPE_AXFR = 252,
    DNS_TYPE_ANY = 255,
};
#define DNS_CLASS_IN  1
#define DNS_CLASS_ANY 255

enum {
    DNS_RCODE_NOERROR = 0,
    DNS_RCODE_FORMERR = 1,
    DNS_RCODE_SERVFAIL = 2,
    DNS_RCODE_NXDOMAIN = 3,
    DNS_RCODE_NOTIMP = 4,
    DNS_RCODE_REFUSED = 5,
    DNS_RCODE_BADVERS = 16, /* extended, in the OPT record (RFC 6891 §6.1.3) */
};

/* Header flag bits (RFC 1035 §4.1.1); the opcode is (flags >> 11) & 15
 * and the rcode flags & 15. */
#define DNS_F_QR 0x8000
#define DNS_F_AA 0x0400
#define DNS_F_TC 0x0200
#define DNS_F_RD 0x0100
#define DNS_F_RA 0x0080
#define DNS_F_AD 0x0020
#define DNS_F_CD 0x0010

#define DNS_UDP_MIN    512   /* RFC 1035 §4.2.1, without EDNS */
#define DNS_EDNS_SIZE  1232  /* what this server advertises (DNS flag day 2020) */
#define DNS_MSG_MAX    65535 /* the TCP length prefix is 16 bits */
#define DNS_HEADER_LEN 12

struct dns_question {
    struct dns_name name;
    uint16_t type;
    uint16_t klass;
};

/* One resource record. Known types are decoded into the union; any other
 * type keeps its rdata in raw/rawlen, which for a parsed message points
 * into the parsed packet (keep the packet while the message is used). */
struct dns_rr {
    struct dns_name name;
    uint16_t type;
    uint16_t klass;
    uint32_t ttl;
    size_t ttl_off; /* parsed messages: offset of the TTL in the packet */
    union {
        uint8_t a[4];
        uint8_t aaaa[16];
        struct dns_name target; /* PTR, CNAME, NS */
        struct {
            uint16_t priority, weight, port;
            struct dns_name target;
        } srv;
        struct {
            struct dns_name mname, rname;
            uint32_t serial, refresh, retry, expire, minimum;
        } soa;
    } rd;
    const uint8_t *raw;
    uint16_t rawlen;
};

enum { DNS_SEC_ANSWER, DNS_SEC_AUTHORITY, DNS_SEC_ADDITIONAL, DNS_SEC_COUNT };

/* A whole message. The OPT pseudo-record is not kept among the records:
 * it is edns/edns_size/edns_do. Lifecycle: dns_msg_init, dns_msg_release. */
struct dns_msg {
    uint16_t id;
    uint16_t flags;
    bool has_question;
    struct dns_question question;
    struct dns_rr *rr[DNS_SEC_COUNT];
    size_t nrr[DNS_SEC_COUNT];
    size_t cap[DNS_SEC_COUNT];
    bool edns;
    uint16_t edns_size; /* requester's UDP payload size, >= 512 */
    uint8_t edns_version;
    uint8_t edns_ext_rcode; /* upper 8 bits of a 12-bit rcode (BADVERS: 1) */
    bool edns_do;
};

void dns_msg_init(struct dns_msg *m);
void dns_msg_release(struct dns_msg *m);
/* Append a copy of rr to a section. */
void dns_msg_add_rr(struct dns_msg *m, unsigned section, const struct dns_rr *rr);
static inline unsigned
dns_msg_rcode(const struct dns_msg *m)
{
    return m->flags & 15;
}
static inline unsigned
dns_msg_opcode(const struct dns_msg *m)
{
    return (m->flags >> 11) & 15;
}

/* Parse a packet into m (dns_msg_init'ed). Strict: any name, record or
 * count that runs past the end, a compression pointer that does not point
 * strictly backwards (so no loop is possible), a label over 63 bytes or
 * with the reserved 0x40/0x80 bits, a name over 255 bytes, more than one
 * question or OPT record, an rdata whose length disagrees with its type,
 * or trailing bytes fails with EBADMSG and a message saying what and at
 * which offset. On failure m holds whatever was parsed (release it); the
 * id and flags are valid whenever len >= 12, so a FORMERR can be sent. */
int dns_msg_parse(const uint8_t *p, size_t len, struct dns_msg *m, struct sk_err *err);

/* Build m into buf (cap bytes) without exceeding max bytes: the header,
 * the question and the records with names compressed (never inside SRV
 * rdata, RFC 2782), then an OPT record when m->edns. If the answer or
 * authority section does not fit, both are dropped and TC is set (RFC
 * 2181 §9); additional records that do not fit are left out without TC.
 * The header counts always match what was written. Returns the length,
 * or -EMSGSIZE when not even the header and question fit. */
int dns_msg_build(const struct dns_msg *m, uint8_t *buf, size_t cap, size_t max,
                  struct sk_err *err);

/* Start a reply to query q in r (dns_msg_init'ed): same id, opcode, RD
 * and CD, the question copied, QR set, rcode given; EDNS echoed (with
 * DNS_EDNS_SIZE) when the query had it. */
void dns_msg_reply_to(const struct dns_msg *q, unsigned rcode, struct dns_msg *r);

/* ---- the cluster zone ---- */

#define DNS_DEFAULT_DOMAIN "cluster.local"
#define DNS_DEFAULT_TTL    30

struct dns_zone_options {
    const char *domain; /* NULL: DNS_DEFAULT_DOMAIN */
    uint32_t ttl;       /* 0: DNS_DEFAULT_TTL; also the SOA minimum */
    uint32_t serial;    /* SOA serial, e.g. the store revision; 0 -> 1 */
};

/* An immutable snapshot: build a new one and swap it in. */
struct dns_zone;

/* Build a zone from Services and Endpoints: each a JSON array of
 * Kubernetes-shaped objects, or an object with "items", or NULL. A
 * Service or Endpoints object that is malformed (no name, a bad IP) is
 * skipped with a warning rather than failing the zone; only a bad domain
 * fails (EINVAL). *out is freed with dns_zone_free. */
int dns_zone_build(const struct dns_zone_options *opt, const json_t *services,
                   const json_t *endpoints, struct dns_zone **out, struct sk_err *err);
void dns_zone_free(struct dns_zone *z);

enum dns_zone_result {
    DNS_ZONE_NOT_OURS, /* outside the zone: forward or refuse */
    DNS_ZONE_ANSWERED, /* r is a complete authoritative answer */
};

/* Answer query q (a parsed query with its question) into r
 * (dns_msg_init'ed). Names below the domain, and reverse names
 * (in-addr.arpa, ip6.arpa) of the zone's addresses, are answered with AA: records,
 * NODATA (NOERROR, empty answer) when the name exists with other types,
 * NXDOMAIN when it does not, SOA in the authority section for both; the
 * answer keeps the query's spelling of the name. */
enum dns_zone_result dns_zone_lookup(const struct dns_zone *z, const struct dns_msg *q,
                                     struct dns_msg *r);
/* Number of owner names in the zone (empty non-terminals included). */
size_t dns_zone_names(const struct dns_zone *z);

/* ---- the server ---- */

#define DNS_UPSTREAM_MAX 4

struct dns_server_config {
    const char *listen; /* "HOST:PORT", IP literal; port 0 picks one */
    /* Forward names outside the zone here ("IP" or "IP:PORT", port 53 by
     * default), tried in order; none: such queries get REFUSED. */
    const char *upstream[DNS_UPSTREAM_MAX];
    size_t nupstream;
    int upstream_timeout_ms; /* per attempt; 0: 2000 */
    int tcp_idle_ms;         /* 0: 10000 (RFC 7766 §6.2.3) */
    int tcp_max_conns;       /* 0: 256 */
    size_t cache_entries;    /* forwarded answers kept; 0: none */
};

struct dns_metrics {
    uint64_t queries_udp, queries_tcp;
    uint64_t rcode[16]; /* answers sent, by rcode */
    uint64_t forwarded, upstream_timeouts, cache_hits, truncated;
    uint64_t dropped;     /* packets too short or too broken to answer */
    uint64_t tcp_refused; /* connections closed at once: over the limit */
};

struct dns_server;

/* Listen on cfg->listen, UDP and TCP on the same port, and serve zone,
 * which the server owns once this succeeds (NULL: no zone yet, every name
 * is outside it until dns_server_set_zone). A listen address should be a
 * specific IP: on a wildcard address UDP answers leave from whatever
 * source address the kernel picks. */
int dns_server_new(struct sk_loop *loop, const struct dns_server_config *cfg, struct dns_zone *zone,
                   struct dns_server **out, struct sk_err *err);
/* Swap in a new snapshot (owned from here on) and free the old one;
 * queries already answered are unaffected, the next one sees the new. */
void dns_server_set_zone(struct dns_server *s, struct dns_zone *zone);
/* The port bound (useful with port 0). */
int dns_server_port(const struct dns_server *s);
void dns_server_metrics(const struct dns_server *s, struct dns_metrics *out);
/* Close every socket and connection, drop pending forwards. NULL ok. */
void dns_server_free(struct dns_server *s);

#endif
