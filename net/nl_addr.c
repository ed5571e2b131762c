/* net/nl_addr.c: interface addresses over rtnetlink (RTM_*ADDR). */
#include "net/nl_int.h"

#include "lib/alloc.h"
#include "lib/buf.h"

#include <errno.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define WHAT_MAX (NET_CIDR_STRLEN + IF_NAMESIZE + 32)

static int
addr_check(const struct net_cidr *addr, const char *dev, struct sk_err *err)
{
    size_t len = nl_family_len(addr->ip.family);

    if (!len)
        return sk_err_set(err, EAFNOSUPPORT, "address on '%s': unknown address family %d", dev,
                          addr->ip.family);
    if (addr->prefix > len * 8)
        return sk_err_set(err, EINVAL, "address on '%s': prefix length %u is too long", dev,
                          addr->prefix);
    return 0;
}

static struct nlmsghdr *
addr_msg(struct nl_sock *nl, uint16_t type, uint16_t flags, int index, const struct net_cidr *addr)
{
    struct nlmsghdr *nlh = nl_msg_start(nl, type, flags);
    struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
    size_t len = nl_family_len(addr->ip.family);

    ifa->ifa_family = (uint8_t)addr->ip.family;
    ifa->ifa_prefixlen = (uint8_t)addr->prefix;
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    ifa->ifa_index = (unsigned)index;
    /* IFA_LOCAL is the interface's own address, IFA_ADDRESS the peer
     * (point-to-point) or the same again: set both, as iproute2 does. */
    mnl_attr_put(nlh, IFA_LOCAL, len, addr->ip.a);
    mnl_attr_put(nlh, IFA_ADDRESS, len, addr->ip.a);
    return nlh;
}

int
nl_addr_add(struct nl_sock *nl, const char *dev, const struct net_cidr *addr,
            const struct net_ip *brd, unsigned flags, struct sk_err *err)
{
    char cidr[NET_CIDR_STRLEN];
    int index, rc;

    rc = addr_check(addr, dev, err);
    if (rc < 0)
        return rc;
    index = nl_link_index(nl, dev, err);
    if (index < 0)
        return sk_err_wrap(err, "add address %s on '%s'", net_cidr_format(addr, cidr, sizeof(cidr)),
                           dev);
    return nl_addr_add_index(nl, dev, index, addr, brd, flags, err);
}

int
nl_addr_add_index(struct nl_sock *nl, const char *dev, int index, const struct net_cidr *addr,
                  const struct net_ip *brd, unsigned flags, struct sk_err *err)
{
    char what[WHAT_MAX], cidr[NET_CIDR_STRLEN];
    struct nlmsghdr *nlh;
    int rc;

    rc = addr_check(addr, dev, err);
    if (rc < 0)
        return rc;
    snprintf(what, sizeof(what), "address %s on '%s'", net_cidr_format(addr, cidr, sizeof(cidr)),
             dev);
    nlh = addr_msg(nl, RTM_NEWADDR,
                   NLM_F_ACK | NLM_F_CREATE | (flags & NL_F_REPLACE ? NLM_F_REPLACE : NLM_F_EXCL),
                   index, addr);
    if (brd && brd->family == AF_INET && addr->ip.family == AF_INET)
        mnl_attr_put(nlh, IFA_BROADCAST, 4, brd->a);
    return nl_talk(nl, nlh, NULL, NULL, what, err);
}

int
nl_addr_del(struct nl_sock *nl, const char *dev, const struct net_cidr *addr, struct sk_err *err)
{
    char what[WHAT_MAX], cidr[NET_CIDR_STRLEN];
    struct nlmsghdr *nlh;
    int index, rc;

    rc = addr_check(addr, dev, err);
    if (rc < 0)
        return rc;
    snprintf(what, sizeof(what), "delete address %s on '%s'",
             net_cidr_format(addr, cidr, sizeof(cidr)), dev);
    index = nl_link_index(nl, dev, err);
    if (index < 0)
        return sk_err_wrap(err, "%s", what);
    nlh = addr_msg(nl, RTM_DELADDR, NLM_F_ACK, index, addr);
    return nl_talk(nl, nlh, NULL, NULL, what, err);
}

/* ---- dump ---- */

struct addr_attrs {
    const struct nlattr *tb[IFA_MAX + 1];
    size_t alen;
};

static int
addr_attr_cb(const struct nlattr *attr, void *data)
{
    struct addr_attrs *a = data;
    int type = mnl_attr_get_type(attr);

    if (mnl_attr_type_valid(attr, IFA_MAX) < 0)
        return MNL_CB_OK;
    switch (type) {
    case IFA_ADDRESS:
    case IFA_LOCAL:
    case IFA_BROADCAST:
        if (mnl_attr_validate2(attr, MNL_TYPE_BINARY, a->alen) < 0)
            return MNL_CB_ERROR;
        break;
    case IFA_LABEL:
        if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
            return MNL_CB_ERROR;
        break;
    default:
        return MNL_CB_OK;
    }
    a->tb[type] = attr;
    return MNL_CB_OK;
}

struct addr_list {
    struct nl_addr *v;
    size_t n, cap;
};

static void
put_ip(struct net_ip *ip, int family, const struct nlattr *attr, size_t len)
{
    memset(ip, 0, sizeof(*ip));
    ip->family = family;
    memcpy(ip->a, mnl_attr_get_payload(attr), len);
}

static int
addr_dump_cb(const struct nlmsghdr *nlh, void *data)
{
    struct addr_list *l = data;
    struct addr_attrs a;
    const struct ifaddrmsg *ifa;
    const struct nlattr *local;
    struct nl_addr *e;

    if (nlh->nlmsg_type != RTM_NEWADDR || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa)) {
        errno = EBADMSG;
        return MNL_CB_ERROR;
    }
    ifa = mnl_nlmsg_get_payload(nlh);
    memset(&a, 0, sizeof(a));
    a.alen = nl_family_len(ifa->ifa_family);
    if (!a.alen)
        return MNL_CB_OK; /* a family we do not know: skipped */
    if (mnl_attr_parse(nlh, sizeof(*ifa), addr_attr_cb, &a) < 0)
        return MNL_CB_ERROR;
    local = a.tb[IFA_LOCAL] ? a.tb[IFA_LOCAL] : a.tb[IFA_ADDRESS];
    if (!local)
        return MNL_CB_OK;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->v = sk_reallocarray(l->v, l->cap, sizeof(*l->v));
    }
    e = &l->v[l->n++];
    memset(e, 0, sizeof(*e));
    e->ifindex = (int)ifa->ifa_index;
    put_ip(&e->local.ip, ifa->ifa_family, local, a.alen);
    e->local.prefix = ifa->ifa_prefixlen;
    if (a.tb[IFA_BROADCAST])
        put_ip(&e->broadcast, ifa->ifa_family, a.tb[IFA_BROADCAST], a.alen);
    if (a.tb[IFA_LABEL])
        sk_strlcpy(e->label, mnl_attr_get_str(a.tb[IFA_LABEL]), sizeof(e->label));
    return MNL_CB_OK;
}

int
nl_addr_dump(struct nl_sock *nl, int family, struct nl_addr **out, size_t *n, struct sk_err *err)
{
    struct addr_list l = {0};
    int rc;

    rc = nl_dump(nl, RTM_GETADDR, (uint8_t)family, sizeof(struct ifaddrmsg), addr_dump_cb, &l, &l.n,
                 "dump addresses", err);
    if (rc < 0) {
        free(l.v);
        l.v = NULL;
        l.n = 0;
    }
    *out = l.v;
    *n = l.n;
    return rc;
}
