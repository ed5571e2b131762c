/* net/cidr.c: IPv4/IPv6 addresses and CIDR arithmetic, pure functions.
 *
 * Addresses are kept as big-endian byte arrays, so the same code serves
 * both families; offsets inside a network are limited to 64 bits, far
 * beyond any pool skiff hands out. */
#include "net/net.h"

#include "lib/buf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* Input is quoted in messages up to this many bytes. */
#define SHOW "%.64s"

static size_t
family_len(int family)
{
    return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

int
net_ip_parse(const char *s, struct net_ip *out, struct sk_err *err)
{
    memset(out, 0, sizeof(*out));
    out->family = strchr(s, ':') ? AF_INET6 : AF_INET;
    if (inet_pton(out->family, s, out->a) != 1) {
        out->family = 0;
        return sk_err_set(err, EINVAL, "bad IP address '" SHOW "'", s);
    }
    return 0;
}

static int
parse_prefix(const char *p, unsigned max, unsigned *out)
{
    unsigned v = 0;
    size_t n = 0;

    for (; isdigit((unsigned char)p[n]); n++)
        v = v * 10 + (unsigned)(p[n] - '0');
    if (n == 0 || n > 3 || p[n] || v > max || (n > 1 && p[0] == '0'))
        return -1;
    *out = v;
    return 0;
}

/* Is any bit at position >= prefix set? */
static bool
has_host_bits(const struct net_ip *ip, unsigned prefix)
{
    size_t i, len = family_len(ip->family);

    for (i = 0; i < len; i++) {
        unsigned keep = prefix >= 8 * (i + 1) ? 8 : prefix > 8 * i ? prefix - 8 * (unsigned)i : 0;
        uint8_t mask = (uint8_t)(keep ? 0xff << (8 - keep) : 0);

        if (ip->a[i] & ~mask)
            return true;
    }
    return false;
}

int
net_cidr_parse(const char *s, bool host_bits, struct net_cidr *out, struct sk_err *err)
{
    const char *slash = strchr(s, '/');
    char addr[NET_IP_STRLEN], show[NET_CIDR_STRLEN];
    struct net_cidr net;

    memset(out, 0, sizeof(*out));
    if (!slash)
        return sk_err_set(err, EINVAL, "missing prefix length in '" SHOW "' (e.g. 10.244.0.0/16)",
                          s);
    if ((size_t)(slash - s) >= sizeof(addr))
        return sk_err_set(err, EINVAL, "bad IP address in '" SHOW "'", s);
    memcpy(addr, s, (size_t)(slash - s));
    addr[slash - s] = '\0';
    if (net_ip_parse(addr, &out->ip, NULL) < 0)
        return sk_err_set(err, EINVAL, "bad IP address in '" SHOW "'", s);
    if (parse_prefix(slash + 1, (unsigned)family_len(out->ip.family) * 8, &out->prefix) < 0) {
        memset(out, 0, sizeof(*out));
        return sk_err_set(err, EINVAL, "bad prefix length in '" SHOW "'", s);
    }
    if (!host_bits && has_host_bits(&out->ip, out->prefix)) {
        net = net_cidr_network(out);
        memset(out, 0, sizeof(*out));
        return sk_err_set(err, EINVAL, "'" SHOW "' has host bits set (the network is %s)", s,
                          net_cidr_format(&net, show, sizeof(show)));
    }
    return 0;
}

const char *
net_ip_format(const struct net_ip *ip, char *buf, size_t size)
{
    if (!inet_ntop(ip->family, ip->a, buf, (socklen_t)size))
        sk_strlcpy(buf, "?", size);
    return buf;
}

const char *
net_cidr_format(const struct net_cidr *c, char *buf, size_t size)
{
    char ip[NET_IP_STRLEN];

    sk_snprintf(buf, size, "%s/%u", net_ip_format(&c->ip, ip, sizeof(ip)), c->prefix);
    return buf;
}

bool
net_ip_equal(const struct net_ip *a, const struct net_ip *b)
{
    return a->family == b->family && !memcmp(a->a, b->a, family_len(a->family));
}

struct net_cidr
net_cidr_network(const struct net_cidr *c)
{
    struct net_cidr n = *c;
    size_t i, len = family_len(c->ip.family);

    for (i = 0; i < len; i++) {
        unsigned keep = c->prefix >= 8 * (i + 1) ? 8 : c->prefix > 8 * i ? c->prefix - 8 * i : 0;

        n.ip.a[i] &= (uint8_t)(keep ? 0xff << (8 - keep) : 0);
    }
    return n;
}

/* Do the first prefix bits of a and b agree? */
static bool
same_prefix(const struct net_ip *a, const struct net_ip *b, unsigned prefix)
{
    struct net_cidr x = {*a, prefix}, y = {*b, prefix};

    x = net_cidr_network(&x);
    y = net_cidr_network(&y);
    return net_ip_equal(&x.ip, &y.ip);
}

bool
net_cidr_contains(const struct net_cidr *net, const struct net_ip *ip)
{
    return net->ip.family == ip->family && same_prefix(&net->ip, ip, net->prefix);
}

bool
net_cidr_overlaps(const struct net_cidr *a, const struct net_cidr *b)
{
    return a->ip.family == b->ip.family &&
           same_prefix(&a->ip, &b->ip, a->prefix < b->prefix ? a->prefix : b->prefix);
}

/* Add 2^bit to the big-endian number a of len bytes (wrapping). */
static void
add_bit(uint8_t *a, size_t len, unsigned bit)
{
    size_t i = len - 1 - bit / 8;
    unsigned carry = 1u << (bit % 8), sum;

    for (;;) {
        sum = a[i] + carry;
        a[i] = (uint8_t)sum;
        carry = sum >> 8;
        if (!carry || i == 0)
            break;
        i--;
    }
}

/* a += v << shift */
static void
add_shifted(uint8_t *a, size_t len, uint64_t v, unsigned shift)
{
    unsigned k;

    for (k = 0; k < 64; k++) {
        if ((v >> k & 1) && shift + k < len * 8)
            add_bit(a, len, shift + k);
    }
}

int
net_cidr_host(const struct net_cidr *c, uint64_t n, struct net_ip *out, struct sk_err *err)
{
    size_t len = family_len(c->ip.family);
    unsigned hostbits = (unsigned)len * 8 - c->prefix;
    struct net_cidr net = net_cidr_network(c);
    char show[NET_CIDR_STRLEN];

    if (!len || c->prefix > len * 8)
        return sk_err_set(err, EINVAL, "bad network");
    if (hostbits < 64 && n >> hostbits)
        return sk_err_set(err, ERANGE, "address #%llu is outside %s", (unsigned long long)n,
                          net_cidr_format(&net, show, sizeof(show)));
    *out = net.ip;
    add_shifted(out->a, len, n, 0);
    return 0;
}

uint64_t
net_cidr_offset(const struct net_cidr *c, const struct net_ip *ip)
{
    size_t len = family_len(c->ip.family);
    unsigned hostbits = (unsigned)len * 8 - c->prefix, bit;
    uint64_t off = 0;

    for (bit = 0; bit < hostbits && bit < 64; bit++) {
        if (ip->a[len - 1 - bit / 8] >> (bit % 8) & 1)
            off |= (uint64_t)1 << bit;
    }
    return off;
}

struct net_ip
net_cidr_broadcast(const struct net_cidr *c)
{
    struct net_cidr n = net_cidr_network(c);
    size_t i, len = family_len(c->ip.family);

    for (i = 0; i < len; i++) {
        unsigned keep = c->prefix >= 8 * (i + 1) ? 8 : c->prefix > 8 * i ? c->prefix - 8 * i : 0;

        n.ip.a[i] |= (uint8_t)(keep ? ~(0xff << (8 - keep)) : 0xff);
    }
    return n.ip;
}

int
net_cidr_check_cluster(const struct net_cidr *cluster, const struct net_cidr *service,
                       struct sk_err *err)
{
    const struct {
        const struct net_cidr *c;
        const char *what;
    } nets[] = {{cluster, "cluster"}, {service, "service"}};
    char a[NET_CIDR_STRLEN], b[NET_CIDR_STRLEN];
    size_t i;

    for (i = 0; i < 2; i++) {
        net_cidr_format(nets[i].c, a, sizeof(a));
        if (nets[i].c->ip.family != AF_INET)
            return sk_err_set(err, EAFNOSUPPORT, "%s cidr %s: only IPv4 is supported", nets[i].what,
                              a);
        if (has_host_bits(&nets[i].c->ip, nets[i].c->prefix))
            return sk_err_set(err, EINVAL, "%s cidr %s has host bits set", nets[i].what, a);
    }
    if (net_cidr_overlaps(cluster, service))
        return sk_err_set(err, EINVAL, "cluster cidr %s overlaps service cidr %s",
                          net_cidr_format(cluster, a, sizeof(a)),
                          net_cidr_format(service, b, sizeof(b)));
    return 0;
}

int
net_cidr_carve(const struct net_cidr *cluster, unsigned node_prefix, uint64_t index,
               struct net_cidr *out, struct sk_err *err)
{
    size_t len = family_len(cluster->ip.family);
    unsigned bits, max = cluster->ip.family == AF_INET ? 30 : 126;
    char show[NET_CIDR_STRLEN];

    if (!len)
        return sk_err_set(err, EAFNOSUPPORT, "cluster cidr: unknown address family");
    net_cidr_format(cluster, show, sizeof(show));
    if (node_prefix <= cluster->prefix || node_prefix > max)
        return sk_err_set(err, EINVAL, "node prefix /%u does not fit in cluster cidr %s",
                          node_prefix, show);
    bits = node_prefix - cluster->prefix;
    if (bits < 64 && index >> bits)
        return sk_err_set(
            err, ERANGE, "cluster cidr %s has only %llu /%u node ranges; index %llu is beyond",
            show, (unsigned long long)1 << bits, node_prefix, (unsigned long long)index);
    *out = net_cidr_network(cluster);
    out->prefix = node_prefix;
    add_shifted(out->ip.a, len, index, (unsigned)len * 8 - node_prefix);
    return 0;
}
