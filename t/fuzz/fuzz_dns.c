/* Fuzz target: a DNS packet as the cluster DNS server gets it off a
 * socket (net/dns.h). The bytes are parsed; a message that parses must
 * build again and the built bytes parse to the same question, flags and
 * records (or, when the rebuilt form no longer fits 64 KiB, to a
 * truncated reply). A query is then answered from a small zone with
 * every kind of name (ClusterIP, headless, named ports, ExternalName,
 * pods, reverse names) as the server does, and the answer built for a
 * 512-byte UDP client and for TCP: both must build and parse back. */
#include "net/dns.h"
#include "t/fuzz/fuzz.h"

#include <stdlib.h>
#include <string.h>

static struct dns_zone *zone;

static const char zone_json[] =
    "[{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},"
    "\"spec\":{\"clusterIP\":\"10.96.0.10\",\"ports\":[{\"name\":\"http\",\"port\":80}]}},"
    "{\"metadata\":{\"name\":\"db\",\"namespace\":\"prod\"},"
    "\"spec\":{\"clusterIP\":\"None\",\"ports\":[{\"name\":\"pg\",\"port\":5432,"
    "\"protocol\":\"TCP\"}]}},"
    "{\"metadata\":{\"name\":\"ext\",\"namespace\":\"default\"},"
    "\"spec\":{\"type\":\"ExternalName\",\"externalName\":\"example.org\"}}]";

static const char eps_json[] =
    "[{\"metadata\":{\"name\":\"db\",\"namespace\":\"prod\"},\"subsets\":[{"
    "\"addresses\":[{\"ip\":\"10.1.0.5\",\"hostname\":\"db-0\"},{\"ip\":\"10.1.0.6\"}],"
    "\"ports\":[{\"name\":\"pg\",\"port\":5432}]}]}]";

static struct dns_zone *
the_zone(void)
{
    json_t *svcs, *eps;

    if (zone)
        return zone;
    svcs = json_loads(zone_json, 0, NULL);
    eps = json_loads(eps_json, 0, NULL);
    if (!svcs || !eps || dns_zone_build(NULL, svcs, eps, &zone, NULL) < 0)
        abort();
    json_decref(svcs);
    json_decref(eps);
    return zone;
}

static bool
same_records(const struct dns_msg *a, const struct dns_msg *b)
{
    unsigned s;
    size_t i;

    for (s = 0; s < DNS_SEC_COUNT; s++) {
        /* Additional records that do not fit are left out without TC. */
        if (s == DNS_SEC_ADDITIONAL ? b->nrr[s] > a->nrr[s] : a->nrr[s] != b->nrr[s])
            return false;
        for (i = 0; i < b->nrr[s]; i++) {
            const struct dns_rr *x = &a->rr[s][i], *y = &b->rr[s][i];
            if (!dns_name_equal(&x->name, &y->name) || x->type != y->type || x->klass != y->klass ||
                x->ttl != y->ttl)
                return false;
        }
    }
    return true;
}

/* Build m into at most max bytes and parse it back: both must work. */
static void
build_and_reparse(const struct dns_msg *m, uint8_t *buf, size_t max, bool must_match)
{
    struct dns_msg back;
    int len = dns_msg_build(m, buf, DNS_MSG_MAX, max, NULL);

    if (len < 0)
        return; /* only a question that does not fit max: checked by callers */
    if ((size_t)len > max || len < DNS_HEADER_LEN)
        abort();
    dns_msg_init(&back);
    if (dns_msg_parse(buf, (size_t)len, &back, NULL) < 0)
        abort(); /* what the builder writes must parse */
    if (back.id != m->id || back.has_question != m->has_question || back.edns != m->edns ||
        (m->has_question && !dns_name_equal(&back.question.name, &m->question.name)))
        abort();
    if (must_match && !(back.flags & DNS_F_TC) && !same_records(m, &back))
        abort();
    dns_msg_release(&back);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t buf[DNS_MSG_MAX];
    char text[DNS_NAME_STRLEN];
    struct dns_msg m, r;

    dns_msg_init(&m);
    dns_msg_init(&r);
    if (dns_msg_parse(data, size, &m, NULL) < 0)
        goto out;
    if (m.has_question && strlen(dns_name_to_str(&m.question.name, text, sizeof(text))) == 0)
        abort();
    build_and_reparse(&m, buf, DNS_MSG_MAX, true);
    if (dns_zone_lookup(the_zone(), &m, &r) == DNS_ZONE_ANSWERED) {
        /* A question is at most 12 + 255 + 4 bytes and an OPT 11: any
         * answer fits 512 bytes, if only as a truncated one. */
        if (dns_msg_build(&r, buf, sizeof(buf), DNS_UDP_MIN, NULL) < 0)
            abort();
        build_and_reparse(&r, buf, DNS_UDP_MIN, false);
        build_and_reparse(&r, buf, DNS_MSG_MAX, true);
    }
out:
    dns_msg_release(&m);
    dns_msg_release(&r);
    return 0;
}
