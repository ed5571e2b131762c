/* DNS messages: parsing and building (RFC 1035 §4, EDNS0 RFC 6891).
 *
 * Wire format (all integers big-endian):
 *
 *     header   12 bytes: id(16) flags(16) qdcount ancount nscount arcount
 *     question name, type(16), class(16)
 *     record   name, type(16), class(16), ttl(32), rdlength(16), rdata
 *
 * A name is a sequence of labels, each a length byte 1..63 then that many
 * bytes, ended by the root label (a zero byte) or by a compression pointer:
 * two bytes 11pppppp pppppppp giving the offset of the rest of the name.
 * Length bytes 01xxxxxx and 10xxxxxx are reserved and refused. The whole
 * name, length bytes and root included, is at most 255 bytes (§2.3.4).
 *
 * Validity rules of the parser (anything else fails with EBADMSG, which
 * the server answers with FORMERR):
 *  - a pointer must point strictly before the previous jump target (the
 *    pointer itself for the first jump) and past the header: every jump
 *    goes backwards, so a pointer loop cannot exist;
 *  - every count is checked against the bytes really there ("counts that
 *    lie"), at most one question, at most one OPT and only in the
 *    additional section with the root as its owner;
 *  - rdata of A (4), AAAA (16), PTR/CNAME/NS (one name), SRV (6 + name)
 *    and SOA (2 names + 20) must fill rdlength exactly;
 *  - no bytes after the last record.
 *
 * The builder compresses every owner name and the names inside
 * PTR/CNAME/NS/SOA rdata against names written before (never inside SRV,
 * RFC 2782 "target ... must not be compressed"). */
#include "net/dns.h"

#include "lib/alloc.h"
#include "lib/buf.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

/* ---- names ---- */

int
dns_name_from_str(const char *s, struct dns_name *out, struct sk_err *err)
{
    size_t pos = 0, n;
    const char *p = s, *dot;

    if (strcmp(s, ".") == 0)
        p = "";
    while (*p) {
        dot = strchr(p, '.');
        n = dot ? (size_t)(dot - p) : strlen(p);
        if (n == 0)
            return sk_err_set(err, EINVAL, "name '%s': empty label", s);
        if (n > DNS_LABEL_MAX)
            return sk_err_set(err, EINVAL, "name '%s': label longer than 63 bytes", s);
        if (pos + 1 + n + 1 > DNS_NAME_MAX)
            return sk_err_set(err, EINVAL, "name '%s': longer than 255 bytes", s);
        out->data[pos++] = (uint8_t)n;
        memcpy(out->data + pos, p, n);
        pos += n;
        p += n;
        if (*p == '.')
            p++;
    }
    out->data[pos++] = 0;
    out->len = (uint8_t)pos;
    return 0;
}

const char *
dns_name_to_str(const struct dns_name *n, char *buf, size_t size)
{
    struct sk_buf b = SK_BUF_INIT;
    size_t pos = 0, i;
    uint8_t l;

    while (pos < n->len && (l = n->data[pos]) != 0) {
        if (b.len)
            sk_buf_putc(&b, '.');
        for (i = 0; i < l; i++) {
            uint8_t c = n->data[pos + 1 + i];
            if (isalnum(c) || c == '-' || c == '_' || c == '*')
                sk_buf_putc(&b, (char)c);
            else
                sk_buf_printf(&b, "\\%03u", c);
        }
        pos += 1u + l;
    }
    sk_strlcpy(buf, b.len ? b.data : ".", size);
    sk_buf_release(&b);
    return buf;
}

static bool
bytes_equal_nocase(const uint8_t *a, const uint8_t *b, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (tolower(a[i]) != tolower(b[i]))
            return false;
    return true;
}

bool
dns_name_equal(const struct dns_name *a, const struct dns_name *b)
{
    return a->len == b->len && bytes_equal_nocase(a->data, b->data, a->len);
}

bool
dns_name_is_under(const struct dns_name *n, const struct dns_name *parent)
{
    size_t pos = 0;

    /* Walk label boundaries of n so "xcluster.local" is not under
     * "cluster.local". */
    while (pos < n->len) {
        if (n->len - pos == parent->len)
            return bytes_equal_nocase(n->data + pos, parent->data, parent->len);
        if (n->data[pos] == 0)
            break;
        pos += 1u + n->data[pos];
    }
    return false;
}

unsigned
dns_name_labels(const struct dns_name *n)
{
    unsigned count = 0;
    size_t pos = 0;

    while (pos < n->len && n->data[pos] != 0) {
        count++;
        pos += 1u + n->data[pos];
    }
    return count;
}

/* ---- messages ---- */

void
dns_msg_init(struct dns_msg *m)
{
    memset(m, 0, sizeof(*m));
}

void
dns_msg_release(struct dns_msg *m)
{
    unsigned s;

    for (s = 0; s < DNS_SEC_COUNT; s++)
        free(m->rr[s]);
    dns_msg_init(m);
}

void
dns_msg_add_rr(struct dns_msg *m, unsigned section, const struct dns_rr *rr)
{
    if (section >= DNS_SEC_COUNT)
        SK_BUG("dns section %u", section);
    if (m->nrr[section] == m->cap[section]) {
        m->cap[section] = m->cap[section] ? 2 * m->cap[section] : 4;
        m->rr[section] = sk_reallocarray(m->rr[section], m->cap[section], sizeof(*rr));
    }
    m->rr[section][m->nrr[section]++] = *rr;
}

void
dns_msg_reply_to(const struct dns_msg *q, unsigned rcode, struct dns_msg *r)
{
    r->id = q->id;
    r->flags = (uint16_t)(DNS_F_QR | (q->flags & (0x7800 | DNS_F_RD | DNS_F_CD)) | (rcode & 15));
    r->has_question = q->has_question;
    r->question = q->question;
    r->edns = q->edns;
    r->edns_size = DNS_EDNS_SIZE;
    r->edns_version = 0;
    r->edns_ext_rcode = 0;
    r->edns_do = q->edns_do;
}

/* ---- parsing ---- */

struct rd {
    const uint8_t *p;
    size_t len;
    size_t off;
};

static uint16_t
get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int
need(const struct rd *r, size_t n, const char *what, struct sk_err *err)
{
    if (r->len - r->off < n)
        return sk_err_set(err, EBADMSG, "%s at offset %zu: truncated", what, r->off);
    return 0;
}

static int
parse_name(struct rd *r, struct dns_name *out, struct sk_err *err)
{
    size_t pos = r->off, limit = r->off, start = r->off, after = 0;
    bool jumped = false;
    uint8_t c;

    out->len = 0;
    for (;;) {
        if (pos >= r->len)
            return sk_err_set(err, EBADMSG, "name at offset %zu: truncated", start);
        c = r->p[pos];
        if ((c & 0xc0) == 0xc0) {
            size_t ptr;
            if (pos + 1 >= r->len)
                return sk_err_set(err, EBADMSG, "name at offset %zu: truncated", start);
            ptr = (size_t)(c & 0x3f) << 8 | r->p[pos + 1];
            if (ptr >= limit || ptr < DNS_HEADER_LEN)
                return sk_err_set(err, EBADMSG,
                                  "name at offset %zu: compression pointer to %zu does not point "
                                  "backwards",
                                  start, ptr);
            if (!jumped)
                after = pos + 2;
            jumped = true;
            limit = ptr;
            pos = ptr;
            continue;
        }
        if (c & 0xc0)
            return sk_err_set(err, EBADMSG, "name at offset %zu: reserved label type 0x%02x", start,
                              c & 0xc0);
        if (c == 0)
            break;
        if (pos + 1 + c > r->len)
            return sk_err_set(err, EBADMSG, "name at offset %zu: truncated", start);
        if ((size_t)out->len + 1 + c + 1 > DNS_NAME_MAX)
            return sk_err_set(err, EBADMSG, "name at offset %zu: longer than 255 bytes", start);
        memcpy(out->data + out->len, r->p + pos, 1u + c);
        out->len = (uint8_t)(out->len + 1 + c);
        pos += 1u + c;
    }
    out->data[out->len++] = 0;
    r->off = jumped ? after : pos + 1;
    return 0;
}

static int
parse_question(struct rd *r, struct dns_question *q, struct sk_err *err)
{
    if (parse_name(r, &q->name, err) < 0 || need(r, 4, "question", err) < 0)
        return -EBADMSG;
    q->type = get16(r->p + r->off);
    q->klass = get16(r->p + r->off + 2);
    r->off += 4;
    return 0;
}

static int
parse_rdata(struct rd *r, struct dns_rr *rr, size_t end, struct sk_err *err)
{
    size_t fixed = 0;
    const uint8_t *p;

    switch (rr->type) {
    case DNS_TYPE_A:
    case DNS_TYPE_AAAA:
        fixed = rr->type == DNS_TYPE_A ? 4 : 16;
        if (end - r->off != fixed)
            goto bad_len;
        memcpy(rr->type == DNS_TYPE_A ? rr->rd.a : rr->rd.aaaa, r->p + r->off, fixed);
        r->off = end;
        return 0;
    case DNS_TYPE_PTR:
    case DNS_TYPE_CNAME:
    case DNS_TYPE_NS:
        if (parse_name(r, &rr->rd.target, err) < 0)
            return -EBADMSG;
        break;
    case DNS_TYPE_SRV:
        if (end - r->off < 6)
            goto bad_len;
        p = r->p + r->off;
        rr->rd.srv.priority = get16(p);
        rr->rd.srv.weight = get16(p + 2);
        rr->rd.srv.port = get16(p + 4);
        r->off += 6;
        if (parse_name(r, &rr->rd.srv.target, err) < 0)
            return -EBADMSG;
        break;
    case DNS_TYPE_SOA:
        if (parse_name(r, &rr->rd.soa.mname, err) < 0 || parse_name(r, &rr->rd.soa.rname, err) < 0)
            return -EBADMSG;
        if (r->off > end || end - r->off != 20)
            goto bad_len;
        p = r->p + r->off;
        rr->rd.soa.serial = get32(p);
        rr->rd.soa.refresh = get32(p + 4);
        rr->rd.soa.retry = get32(p + 8);
        rr->rd.soa.expire = get32(p + 12);
        rr->rd.soa.minimum = get32(p + 16);
        r->off = end;
        return 0;
    default:
        r->off = end;
        return 0;
    }
    if (r->off != end)
        goto bad_len;
    return 0;
bad_len:
    return sk_err_set(err, EBADMSG, "record type %u at offset %zu: rdata length %u is wrong",
                      rr->type, rr->ttl_off - 4, rr->rawlen);
}

static int
parse_opt(struct dns_msg *m, const struct dns_rr *rr, struct sk_err *err)
{
    size_t pos = 0;

    if (m->edns)
        return sk_err_set(err, EBADMSG, "more than one OPT record");
    if (rr->name.len != 1)
        return sk_err_set(err, EBADMSG, "OPT record owner is not the root");
    /* RFC 6891 §6.2.3: values below 512 are treated as 512. */
    m->edns = true;
    m->edns_size = rr->klass < DNS_UDP_MIN ? DNS_UDP_MIN : rr->klass;
    m->edns_ext_rcode = (uint8_t)(rr->ttl >> 24);
    m->edns_version = (uint8_t)(rr->ttl >> 16);
    m->edns_do = (rr->ttl & 0x8000) != 0;
    while (pos < rr->rawlen) {
        if (rr->rawlen - pos < 4 || rr->rawlen - pos - 4 < get16(rr->raw + pos + 2))
            return sk_err_set(err, EBADMSG, "OPT record: option truncated");
        pos += 4u + get16(rr->raw + pos + 2);
    }
    return 0;
}

static int
parse_rr(struct rd *r, struct dns_msg *m, unsigned section, struct sk_err *err)
{
    struct dns_rr rr;
    size_t end;

    memset(&rr, 0, sizeof(rr));
    if (parse_name(r, &rr.name, err) < 0 || need(r, 10, "record", err) < 0)
        return -EBADMSG;
    rr.type = get16(r->p + r->off);
    rr.klass = get16(r->p + r->off + 2);
    rr.ttl_off = r->off + 4;
    rr.ttl = get32(r->p + r->off + 4);
    rr.rawlen = get16(r->p + r->off + 8);
    r->off += 10;
    if (need(r, rr.rawlen, "rdata", err) < 0)
        return -EBADMSG;
    rr.raw = r->p + r->off;
    end = r->off + rr.rawlen;
    if (rr.type == DNS_TYPE_OPT) {
        if (section != DNS_SEC_ADDITIONAL)
            return sk_err_set(err, EBADMSG, "OPT record outside the additional section");
        r->off = end;
        return parse_opt(m, &rr, err);
    }
    if (parse_rdata(r, &rr, end, err) < 0)
        return -EBADMSG;
    dns_msg_add_rr(m, section, &rr);
    return 0;
}

int
dns_msg_parse(const uint8_t *p, size_t len, struct dns_msg *m, struct sk_err *err)
{
    struct rd r = {p, len, DNS_HEADER_LEN};
    unsigned count[DNS_SEC_COUNT], s, i, qd;

    if (len < DNS_HEADER_LEN)
        return sk_err_set(err, EBADMSG, "message of %zu bytes: shorter than a header", len);
    if (len > DNS_MSG_MAX)
        return sk_err_set(err, EBADMSG, "message of %zu bytes: too long", len);
    m->id = get16(p);
    m->flags = get16(p + 2);
    qd = get16(p + 4);
    for (s = 0; s < DNS_SEC_COUNT; s++)
        count[s] = get16(p + 6 + 2 * s);
    if (qd > 1)
        return sk_err_set(err, EBADMSG, "%u questions", qd);
    if (qd == 1) {
        if (parse_question(&r, &m->question, err) < 0)
            return -EBADMSG;
        m->has_question = true;
    }
    for (s = 0; s < DNS_SEC_COUNT; s++)
        for (i = 0; i < count[s]; i++)
            if (parse_rr(&r, m, s, err) < 0) {
                sk_err_wrap(err, "section %u record %u of %u", s + 1, i + 1, count[s]);
                return -EBADMSG;
            }
    if (r.off != len)
        return sk_err_set(err, EBADMSG, "%zu bytes after the last record", len - r.off);
    return 0;
}

/* ---- building ---- */

#define COMPRESS_MAX 128

struct wr {
    uint8_t *b;
    size_t len, lim;
    bool fail;
    size_t ntab;
    struct {
        const uint8_t *s; /* an uncompressed suffix, in a name of the message */
        uint8_t n;
        uint16_t off;
    } tab[COMPRESS_MAX];
};

static void
put(struct wr *w, const void *p, size_t n)
{
    if (w->fail || w->lim - w->len < n) {
        w->fail = true;
        return;
    }
    memcpy(w->b + w->len, p, n);
    w->len += n;
}

static void
put16(struct wr *w, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    put(w, b, 2);
}

static void
put32(struct wr *w, uint32_t v)
{
    put16(w, (uint16_t)(v >> 16));
    put16(w, (uint16_t)v);
}

static void
put_name(struct wr *w, const struct dns_name *n, bool compress)
{
    size_t pos = 0, i, rest;

    while (pos < n->len && n->data[pos] != 0) {
        rest = n->len - pos;
        for (i = 0; compress && i < w->ntab; i++) {
            if (w->tab[i].n == rest && bytes_equal_nocase(w->tab[i].s, n->data + pos, rest)) {
                put16(w, (uint16_t)(0xc000 | w->tab[i].off));
                return;
            }
        }
        /* Only offsets below 0x4000 fit a pointer (14 bits). */
        if (!w->fail && w->ntab < COMPRESS_MAX && w->len < 0x4000) {
            w->tab[w->ntab].s = n->data + pos;
            w->tab[w->ntab].n = (uint8_t)rest;
            w->tab[w->ntab].off = (uint16_t)w->len;
            w->ntab++;
        }
        put(w, n->data + pos, 1u + n->data[pos]);
        pos += 1u + n->data[pos];
    }
    put(w, "", 1);
}

static void
put_rdata(struct wr *w, const struct dns_rr *rr)
{
    switch (rr->type) {
    case DNS_TYPE_A:
        put(w, rr->rd.a, 4);
        break;
    case DNS_TYPE_AAAA:
        put(w, rr->rd.aaaa, 16);
        break;
    case DNS_TYPE_PTR:
    case DNS_TYPE_CNAME:
    case DNS_TYPE_NS:
        put_name(w, &rr->rd.target, true);
        break;
    case DNS_TYPE_SRV:
        put16(w, rr->rd.srv.priority);
        put16(w, rr->rd.srv.weight);
        put16(w, rr->rd.srv.port);
        put_name(w, &rr->rd.srv.target, false);
        break;
    case DNS_TYPE_SOA:
        put_name(w, &rr->rd.soa.mname, true);
        put_name(w, &rr->rd.soa.rname, true);
        put32(w, rr->rd.soa.serial);
        put32(w, rr->rd.soa.refresh);
        put32(w, rr->rd.soa.retry);
        put32(w, rr->rd.soa.expire);
        put32(w, rr->rd.soa.minimum);
        break;
    default:
        put(w, rr->raw, rr->rawlen);
        break;
    }
}

/* Write one record; on overflow undo it (bytes and compression entries)
 * and return false. */
static bool
put_rr(struct wr *w, const struct dns_rr *rr)
{
    size_t start = w->len, ntab = w->ntab, rdstart;

    put_name(w, &rr->name, true);
    put16(w, rr->type);
    put16(w, rr->klass);
    put32(w, rr->ttl);
    put16(w, 0);
    rdstart = w->len;
    put_rdata(w, rr);
    if (w->fail || w->len - rdstart > 0xffff) {
        w->fail = false;
        w->len = start;
        w->ntab = ntab;
        return false;
    }
    w->b[rdstart - 2] = (uint8_t)((w->len - rdstart) >> 8);
    w->b[rdstart - 1] = (uint8_t)(w->len - rdstart);
    return true;
}

static void
set16(uint8_t *p, size_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

int
dns_msg_build(const struct dns_msg *m, uint8_t *buf, size_t cap, size_t max, struct sk_err *err)
{
    struct wr *w = sk_calloc(1, sizeof(*w));
    size_t n[DNS_SEC_COUNT] = {0, 0, 0}, qend, i;
    uint16_t flags = m->flags;
    unsigned s;
    int rc;

    w->b = buf;
    w->lim = cap < max ? cap : max;
    w->lim = w->lim > DNS_MSG_MAX ? DNS_MSG_MAX : w->lim;
    /* Keep room for the OPT record (11 bytes) so it is never the one
     * that does not fit. */
    if (m->edns)
        w->lim = w->lim > 11 ? w->lim - 11 : 0;
    put16(w, m->id);
    put16(w, 0);
    put(w, "\0\0\0\0\0\0\0\0", 8);
    if (m->has_question) {
        put_name(w, &m->question.name, true);
        put16(w, m->question.type);
        put16(w, m->question.klass);
    }
    if (w->fail) {
        rc = sk_err_set(err, EMSGSIZE, "header and question do not fit in %zu bytes", max);
        goto out_free;
    }
    qend = w->len;
    for (s = 0; s < DNS_SEC_COUNT; s++) {
        for (i = 0; i < m->nrr[s]; i++) {
            if (put_rr(w, &m->rr[s][i])) {
                n[s]++;
                continue;
            }
            if (s == DNS_SEC_ADDITIONAL)
                break;
            /* RFC 2181 §9: a partial answer is useless; signal TC and let
             * the client ask again over TCP. */
            flags |= DNS_F_TC;
            w->len = qend;
            n[0] = n[1] = n[2] = 0;
            s = DNS_SEC_COUNT;
            break;
        }
    }
    if (m->edns) {
        w->lim += 11;
        put_name(w, &(struct dns_name){1, {0}}, false);
        put16(w, DNS_TYPE_OPT);
        put16(w, m->edns_size);
        put32(w, (uint32_t)m->edns_ext_rcode << 24 | (uint32_t)m->edns_version << 16 |
                     (m->edns_do ? 0x8000u : 0));
        put16(w, 0);
    }
    set16(buf + 2, flags);
    set16(buf + 4, m->has_question ? 1 : 0);
    for (s = 0; s < DNS_SEC_COUNT; s++)
        set16(buf + 6 + 2 * s, n[s] + (s == DNS_SEC_ADDITIONAL && m->edns ? 1 : 0));
    rc = (int)w->len;
out_free:
    free(w);
    return rc;
}
