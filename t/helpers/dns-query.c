/* dns-query: a small dig for integration tests, with no resolver library
 * in between (it never reads /etc/resolv.conf: the server is given).
 *
 *     dns-query [--tcp] [--edns SIZE] [--timeout MS] IP:PORT NAME [TYPE]
 *
 * TYPE is A (default), AAAA, SRV, PTR, SOA, CNAME, TXT, ANY or a number.
 * Prints one line with the rcode and the header flags, then one line per
 * record:
 *
 *     rcode NOERROR flags qr aa rd
 *     answer web.default.svc.cluster.local 30 A 10.96.0.10
 *     authority cluster.local 30 SOA ns.dns.cluster.local hostmaster... 1 ...
 *
 * A truncated UDP answer is printed as it came (flag tc), not retried.
 * Exit status 0 when an answer came, 1 on a timeout or a bad answer,
 * 2 on usage errors. */
#include "lib/sock.h"
#include "net/dns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static const struct {
    const char *name;
    uint16_t type;
} types[] = {
    {"A", DNS_TYPE_A},       {"NS", DNS_TYPE_NS},   {"CNAME", DNS_TYPE_CNAME},
    {"SOA", DNS_TYPE_SOA},   {"PTR", DNS_TYPE_PTR}, {"TXT", DNS_TYPE_TXT},
    {"AAAA", DNS_TYPE_AAAA}, {"SRV", DNS_TYPE_SRV}, {"AXFR", DNS_TYPE_AXFR},
    {"ANY", DNS_TYPE_ANY},
};
static const char *rcodes[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"};

static const char *
type_name(uint16_t t, char *buf, size_t size)
{
    size_t i;

    for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (types[i].type == t)
            return types[i].name;
    snprintf(buf, size, "TYPE%u", t);
    return buf;
}

static void
print_rr(const char *section, const struct dns_rr *rr)
{
    char n[DNS_NAME_STRLEN], t[DNS_NAME_STRLEN], u[DNS_NAME_STRLEN], tb[16], ip[64];

    printf("%s %s %u %s", section, dns_name_to_str(&rr->name, n, sizeof(n)), rr->ttl,
           type_name(rr->type, tb, sizeof(tb)));
    switch (rr->type) {
    case DNS_TYPE_A:
        printf(" %s\n", inet_ntop(AF_INET, rr->rd.a, ip, sizeof(ip)));
        break;
    case DNS_TYPE_AAAA:
        printf(" %s\n", inet_ntop(AF_INET6, rr->rd.aaaa, ip, sizeof(ip)));
        break;
    case DNS_TYPE_PTR:
    case DNS_TYPE_CNAME:
    case DNS_TYPE_NS:
        printf(" %s\n", dns_name_to_str(&rr->rd.target, t, sizeof(t)));
        break;
    case DNS_TYPE_SRV:
        printf(" %u %u %u %s\n", rr->rd.srv.priority, rr->rd.srv.weight, rr->rd.srv.port,
               dns_name_to_str(&rr->rd.srv.target, t, sizeof(t)));
        break;
    case DNS_TYPE_SOA:
        printf(" %s %s %u %u %u %u %u\n", dns_name_to_str(&rr->rd.soa.mname, t, sizeof(t)),
               dns_name_to_str(&rr->rd.soa.rname, u, sizeof(u)), rr->rd.soa.serial,
               rr->rd.soa.refresh, rr->rd.soa.retry, rr->rd.soa.expire, rr->rd.soa.minimum);
        break;
    default:
        printf(" (%u bytes)\n", rr->rawlen);
    }
}

static void
print_msg(const struct dns_msg *m)
{
    static const char *secs[] = {"answer", "authority", "additional"};
    static const struct {
        uint16_t bit;
        const char *name;
    } flags[] = {
        {DNS_F_QR, "qr"}, {DNS_F_AA, "aa"}, {DNS_F_TC, "tc"}, {DNS_F_RD, "rd"}, {DNS_F_RA, "ra"}};
    unsigned rc = dns_msg_rcode(m), s;
    size_t i;

    if (rc < sizeof(rcodes) / sizeof(rcodes[0]))
        printf("rcode %s flags", rcodes[rc]);
    else
        printf("rcode %u flags", rc);
    for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        if (m->flags & flags[i].bit)
            printf(" %s", flags[i].name);
    printf("\n");
    for (s = 0; s < DNS_SEC_COUNT; s++)
        for (i = 0; i < m->nrr[s]; i++)
            print_rr(secs[s], &m->rr[s][i]);
}

/* Send q and read one answer into buf; returns its length or -1. */
static ssize_t
exchange(const struct sockaddr_storage *ss, socklen_t alen, bool tcp, const uint8_t *q, size_t qlen,
         uint8_t *buf, size_t size, int timeout_ms)
{
    int fd = socket(ss->ss_family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
    struct pollfd pfd = {fd, POLLIN, 0};
    uint8_t pre[2] = {(uint8_t)(qlen >> 8), (uint8_t)qlen};
    size_t have = 0, want = tcp ? 2 : 1;
    ssize_t n = -1;

    if (fd < 0 || connect(fd, (const struct sockaddr *)ss, alen) < 0)
        goto out;
    if ((tcp && write(fd, pre, 2) != 2) || write(fd, q, qlen) != (ssize_t)qlen)
        goto out;
    while (have < want) {
        if (poll(&pfd, 1, timeout_ms) <= 0)
            goto out_fail;
        n = read(fd, buf + have, size - have);
        if (n <= 0)
            goto out_fail;
        have += (size_t)n;
        if (!tcp)
            break;
        if (have >= 2)
            want = 2 + (size_t)(buf[0] << 8 | buf[1]);
    }
    if (tcp)
        memmove(buf, buf + 2, have - 2);
    n = (ssize_t)(tcp ? have - 2 : have);
    goto out;
out_fail:
    n = -1;
out:
    if (fd >= 0)
        close(fd);
    return n;
}

int
main(int argc, char **argv)
{
    static uint8_t q[DNS_MSG_MAX], buf[DNS_MSG_MAX + 2];
    int i = 1, timeout = 2000, port, len;
    struct sockaddr_storage ss;
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    struct dns_msg m, r;
    bool tcp = false;
    char host[128];
    ssize_t n;
    size_t k;

    dns_msg_init(&m);
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--tcp") == 0)
            tcp = true;
        else if (strcmp(argv[i], "--edns") == 0 && i + 1 < argc) {
            m.edns = true;
            m.edns_size = (uint16_t)atoi(argv[++i]);
        } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
            timeout = atoi(argv[++i]);
        else
            goto usage;
    }
    if (argc - i < 2 || argc - i > 3 ||
        sk_sock_parse_hostport(argv[i], host, sizeof(host), &port, NULL) < 0 ||
        dns_name_from_str(argv[i + 1], &m.question.name, NULL) < 0)
        goto usage;
    memset(&ss, 0, sizeof(ss));
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
    } else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
    } else {
        goto usage;
    }
    m.question.type = DNS_TYPE_A;
    if (argc - i == 3) {
        m.question.type = (uint16_t)atoi(argv[i + 2]);
        for (k = 0; k < sizeof(types) / sizeof(types[0]); k++)
            if (strcasecmp(argv[i + 2], types[k].name) == 0)
                m.question.type = types[k].type;
        if (m.question.type == 0)
            goto usage;
    }
    m.id = (uint16_t)getpid();
    m.flags = DNS_F_RD;
    m.has_question = true;
    m.question.klass = DNS_CLASS_IN;
    len = dns_msg_build(&m, q, sizeof(q), sizeof(q), NULL);
    n = exchange(&ss, ss.ss_family == AF_INET ? sizeof(*s4) : sizeof(*s6), tcp, q, (size_t)len, buf,
                 sizeof(buf), timeout);
    if (n < 0) {
        fprintf(stderr, "dns-query: no answer from %s\n", argv[i]);
        return 1;
    }
    dns_msg_init(&r);
    if (dns_msg_parse(buf, (size_t)n, &r, NULL) < 0 || r.id != m.id) {
        fprintf(stderr, "dns-query: bad answer from %s\n", argv[i]);
        return 1;
    }
    print_msg(&r);
    dns_msg_release(&r);
    return 0;
usage:
    fprintf(stderr, "usage: dns-query [--tcp] [--edns SIZE] [--timeout MS] IP:PORT NAME [TYPE]\n");
    return 2;
}
