/* The node IPAM allocator (Kubernetes' cidrset): the cluster CIDR cut
 * into subnets of the node mask size, one bit each.
 *
 * Allocation goes round-robin from the subnet after the last one handed
 * out, as Kubernetes does, so a subnet just released (a deleted node,
 * whose routes may still linger on its peers for a moment) is the last
 * to be handed out again. Nothing is persisted: the controller rebuilds
 * the set from every Node's spec.podCIDR at start, so after a restart
 * or a change of leader no subnet is handed out twice. IPv4 only, as
 * the rest of skiff's pod network. */
#include "ctrl/ctrl.h"

#include "lib/alloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ctrl_cidr_set {
    uint32_t base;   /* cluster network, host order */
    unsigned prefix; /* of the cluster CIDR */
    unsigned mask;   /* node subnet size */
    size_t n;        /* subnets: 2^(mask - prefix) */
    size_t used;
    size_t next; /* where the next search starts */
    unsigned char *bits;
};

/* "a.b.c.d/len" into host-order address and prefix length. */
static int
cidr_parse(const char *s, uint32_t *addr, unsigned *len, struct sk_err *err)
{
    char ip[INET_ADDRSTRLEN];
    const char *slash = s ? strchr(s, '/') : NULL;
    struct in_addr in;
    char *end;
    long l;

    if (!slash || (size_t)(slash - s) >= sizeof(ip))
        return sk_err_set(err, EINVAL, "'%s': not an IPv4 CIDR", s ? s : "");
    memcpy(ip, s, (size_t)(slash - s));
    ip[slash - s] = '\0';
    l = strtol(slash + 1, &end, 10);
    if (inet_pton(AF_INET, ip, &in) != 1 || !slash[1] || *end || l < 0 || l > 32)
        return sk_err_set(err, EINVAL, "'%s': not an IPv4 CIDR", s);
    *addr = ntohl(in.s_addr);
    *len = (unsigned)l;
    return 0;
}

static uint32_t
netmask(unsigned len)
{
    return len == 0 ? 0 : 0xffffffffu << (32 - len);
}

int
ctrl_cidr_set_new(const char *cluster_cidr, unsigned mask, struct ctrl_cidr_set **out,
                  struct sk_err *err)
{
    struct ctrl_cidr_set *s;
    uint32_t addr;
    unsigned prefix;

    *out = NULL;
    if (cidr_parse(cluster_cidr, &addr, &prefix, err) < 0)
        return sk_err_wrap(err, "cluster CIDR");
    if (mask < prefix || mask > 30)
        return sk_err_set(err, EINVAL,
                          "node CIDR mask size /%u: must be between the cluster CIDR's /%u and /30",
                          mask, prefix);
    if (mask - prefix > CTRL_CIDR_MAX_BITS)
        return sk_err_set(err, EINVAL,
                          "node CIDR mask size /%u: more than 2^%d subnets of cluster CIDR '%s'",
                          mask, CTRL_CIDR_MAX_BITS, cluster_cidr);
    s = sk_calloc(1, sizeof(*s));
    s->base = addr & netmask(prefix);
    s->prefix = prefix;
    s->mask = mask;
    s->n = (size_t)1 << (mask - prefix);
    s->bits = sk_calloc((s->n + 7) / 8, 1);
    *out = s;
    return 0;
}

void
ctrl_cidr_set_free(struct ctrl_cidr_set *s)
{
    if (!s)
        return;
    free(s->bits);
    free(s);
}

static int
bit_get(const struct ctrl_cidr_set *s, size_t i)
{
    return (s->bits[i / 8] >> (i % 8)) & 1;
}

static void
bit_put(struct ctrl_cidr_set *s, size_t i, int on)
{
    if (bit_get(s, i) == on)
        return;
    s->bits[i / 8] ^= (unsigned char)(1u << (i % 8));
    if (on)
        s->used++;
    else
        s->used--;
}

/* The subnets [*first, *first + *count) that cidr covers (a shorter
 * prefix covers several; a longer one lies in one). -ERANGE when cidr
 * is outside the cluster CIDR. */
static int
cidr_range(const struct ctrl_cidr_set *s, const char *cidr, size_t *first, size_t *count,
           struct sk_err *err)
{
    uint32_t addr;
    unsigned len;

    if (cidr_parse(cidr, &addr, &len, err) < 0)
        return -EINVAL;
    /* a host address inside a subnet is not that subnet */
    if (len < 32 && (addr & ~netmask(len)))
        return sk_err_set(err, EINVAL, "'%s': host bits set", cidr);
    if (len < s->prefix || ((addr ^ s->base) & netmask(s->prefix)))
        return sk_err_set(err, ERANGE, "'%s': outside the cluster CIDR", cidr);
    *first = (size_t)(((addr & netmask(s->mask)) - s->base) >> (32 - s->mask));
    *count = len >= s->mask ? 1 : (size_t)1 << (s->mask - len);
    return 0;
}

static int
mark(struct ctrl_cidr_set *s, const char *cidr, int on, struct sk_err *err)
{
    size_t first = 0, count = 0, i;
    int was = 1, rc = cidr_range(s, cidr, &first, &count, err);

    if (rc < 0)
        return rc;
    for (i = first; i < first + count && i < s->n; i++) {
        was &= bit_get(s, i);
        bit_put(s, i, on);
    }
    return on ? was : 0;
}

int
ctrl_cidr_set_occupy(struct ctrl_cidr_set *s, const char *cidr, struct sk_err *err)
{
    return mark(s, cidr, 1, err);
}

int
ctrl_cidr_set_release(struct ctrl_cidr_set *s, const char *cidr, struct sk_err *err)
{
    return mark(s, cidr, 0, err);
}

void
ctrl_cidr_set_unallocate(struct ctrl_cidr_set *s, const char *cidr)
{
    size_t first = 0, count = 0;
    struct sk_err err;

    sk_err_init(&err);
    if (cidr_range(s, cidr, &first, &count, &err) < 0 || first >= s->n)
        return;
    bit_put(s, first, 0);
    if ((first + 1) % s->n == s->next)
        s->next = first;
}

int
ctrl_cidr_set_allocate(struct ctrl_cidr_set *s, char out[CTRL_CIDR_STRLEN], struct sk_err *err)
{
    struct in_addr in;
    char ip[INET_ADDRSTRLEN];
    size_t k, i;

    for (k = 0; k < s->n; k++) {
        i = (s->next + k) % s->n;
        if (bit_get(s, i))
            continue;
        bit_put(s, i, 1);
        s->next = (i + 1) % s->n;
        in.s_addr = htonl(s->base + (uint32_t)(i << (32 - s->mask)));
        inet_ntop(AF_INET, &in, ip, sizeof(ip));
        snprintf(out, CTRL_CIDR_STRLEN, "%s/%u", ip, s->mask);
        return 0;
    }
    return sk_err_set(err, ENOSPC, "no free /%u left in the cluster CIDR (%zu in use)", s->mask,
                      s->used);
}

size_t
ctrl_cidr_set_used(const struct ctrl_cidr_set *s)
{
    return s->used;
}

size_t
ctrl_cidr_set_size(const struct ctrl_cidr_set *s)
{
    return s->n;
}
