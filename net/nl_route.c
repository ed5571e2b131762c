/* net/nl_route.c: routes over rtnetlink (RTM_*ROUTE).
 *
 * skiff marks its routes with rtm_protocol NET_RTPROT_SKIFF (net.h), so
 * a dump tells them from the administrator's, and a delete carries the
 * protocol too: the kernel then only removes a route skiff installed
 * (net/ipv4/fib_trie.c: fib_table_delete matches fc_protocol). */
#include "net/nl_int.h"

#include "lib/alloc.h"
#include "lib/buf.h"

#include <errno.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define WHAT_MAX 160

static const unsigned char rtn_of[] = {
    [NL_ROUTE_UNICAST] = RTN_UNICAST,
    [NL_ROUTE_UNREACHABLE] = RTN_UNREACHABLE,
    [NL_ROUTE_BLACKHOLE] = RTN_BLACKHOLE,
};

static const char *const type_name[] = {
    [NL_ROUTE_UNICAST] = "",
    [NL_ROUTE_UNREACHABLE] = "unreachable ",
    [NL_ROUTE_BLACKHOLE] = "blackhole ",
};

/* "route 10.244.2.0/24 via 192.168.1.2 dev 'eth0'", as `ip route` would
 * print it, for error messages. */
static void
route_describe(const struct nl_route *r, const char *verb, char *buf, size_t size)
{
    char dst[NET_CIDR_STRLEN], gw[NET_IP_STRLEN];
    struct sk_buf b = SK_BUF_INIT;

    sk_buf_printf(&b, "%sroute %s", verb, type_name[r->type]);
    if (r->dst.prefix == 0)
        sk_buf_puts(&b, "default");
    else
        sk_buf_puts(&b, net_cidr_format(&r->dst, dst, sizeof(dst)));
    if (r->gw.family)
        sk_buf_printf(&b, " via %s", net_ip_format(&r->gw, gw, sizeof(gw)));
    if (r->dev[0])
        sk_buf_printf(&b, " dev '%s'", r->dev);
    else if (r->ifindex)
        sk_buf_printf(&b, " dev #%d", r->ifindex);
    sk_strlcpy(buf, b.data, size);
    sk_buf_release(&b);
}

static int
route_check(const struct nl_route *r, const char *what, struct sk_err *err)
{
    size_t len = nl_family_len(r->dst.ip.family);

    if ((unsigned)r->type >= sizeof(rtn_of))
        return sk_err_set(err, EINVAL, "%s: unknown route type %d", what, (int)r->type);
    if (!len)
        return sk_err_set(err, EAFNOSUPPORT, "%s: unknown address family %d", what,
                          r->dst.ip.family);
    if (r->dst.prefix > len * 8)
        return sk_err_set(err, EINVAL, "%s: prefix length %u is too long", what, r->dst.prefix);
    if (r->gw.family && r->gw.family != r->dst.ip.family)
        return sk_err_set(err, EAFNOSUPPORT, "%s: gateway of another address family", what);
    if (r->type != NL_ROUTE_UNICAST && (r->gw.family || r->ifindex || r->dev[0]))
        return sk_err_set(err, EINVAL, "%s: only unicast routes take a gateway or device", what);
    return 0;
}

static struct nlmsghdr *
route_msg(struct nl_sock *nl, uint16_t type, uint16_t flags, const struct nl_route *r, int index)
{
    struct nlmsghdr *nlh = nl_msg_start(nl, type, flags);
    struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
    size_t len = nl_family_len(r->dst.ip.family);
    unsigned table = r->table ? r->table : RT_TABLE_MAIN;

    rtm->rtm_family = (uint8_t)r->dst.ip.family;
    rtm->rtm_dst_len = (uint8_t)r->dst.prefix;
    /* Tables above 255 only fit in RTA_TABLE; send both as iproute2 does. */
    rtm->rtm_table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
    rtm->rtm_protocol = (uint8_t)(r->protocol ? r->protocol : NET_RTPROT_SKIFF);
    rtm->rtm_type = rtn_of[r->type];
    if (type == RTM_DELROUTE)
        rtm->rtm_scope = RT_SCOPE_NOWHERE; /* matches any scope */
    else if (r->type == NL_ROUTE_UNICAST && !r->gw.family)
        rtm->rtm_scope = RT_SCOPE_LINK; /* directly connected */
    else
        rtm->rtm_scope = RT_SCOPE_UNIVERSE;
    if (r->onlink)
        rtm->rtm_flags |= RTNH_F_ONLINK;
    if (r->dst.prefix)
        mnl_attr_put(nlh, RTA_DST, len, r->dst.ip.a);
    if (r->gw.family)
        mnl_attr_put(nlh, RTA_GATEWAY, len, r->gw.a);
    if (index > 0)
        mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)index);
    mnl_attr_put_u32(nlh, RTA_TABLE, table);
    return nlh;
}

static int
route_index(struct nl_sock *nl, const struct nl_route *r, const char *what, struct sk_err *err)
{
    int index;

    if (r->ifindex || !r->dev[0])
        return r->ifindex;
    index = nl_link_index(nl, r->dev, err);
    if (index < 0)
        return sk_err_wrap(err, "%s", what);
    return index;
}

int
nl_route_add(struct nl_sock *nl, const struct nl_route *r, unsigned flags, struct sk_err *err)
{
    char what[WHAT_MAX];
    struct nlmsghdr *nlh;
    int index, rc;

    route_describe(r, "", what, sizeof(what));
    rc = route_check(r, what, err);
    if (rc < 0)
        return rc;
    if (r->type == NL_ROUTE_UNICAST && !r->gw.family && !r->ifindex && !r->dev[0])
        return sk_err_set(err, EINVAL, "%s: needs a gateway or a device", what);
    index = route_index(nl, r, what, err);
    if (index < 0)
        return index;
    nlh = route_msg(nl, RTM_NEWROUTE,
                    NLM_F_ACK | NLM_F_CREATE | (flags & NL_F_REPLACE ? NLM_F_REPLACE : NLM_F_EXCL),
                    r, index);
    return nl_talk(nl, nlh, NULL, NULL, what, err);
}

int
nl_route_del(struct nl_sock *nl, const struct nl_route *r, struct sk_err *err)
{
    char what[WHAT_MAX];
    struct nlmsghdr *nlh;
    int index, rc;

    route_describe(r, "delete ", what, sizeof(what));
    rc = route_check(r, what, err);
    if (rc < 0)
        return rc;
    index = route_index(nl, r, what, err);
    if (index < 0)
        return index;
    nlh = route_msg(nl, RTM_DELROUTE, NLM_F_ACK, r, index);
    return nl_talk(nl, nlh, NULL, NULL, what, err);
}

/* ---- dump ---- */

struct route_attrs {
    const struct nlattr *tb[RTA_MAX + 1];
    size_t alen;
};

static int
route_attr_cb(const struct nlattr *attr, void *data)
{
    struct route_attrs *a = data;
    int type = mnl_attr_get_type(attr), rc;

    if (mnl_attr_type_valid(attr, RTA_MAX) < 0)
        return MNL_CB_OK;
    switch (type) {
    case RTA_DST:
    case RTA_GATEWAY:
        rc = mnl_attr_validate2(attr, MNL_TYPE_BINARY, a->alen);
        break;
    case RTA_OIF:
    case RTA_TABLE:
        rc = mnl_attr_validate(attr, MNL_TYPE_U32);
        break;
    default:
        return MNL_CB_OK;
    }
    if (rc < 0)
        return MNL_CB_ERROR;
    a->tb[type] = attr;
    return MNL_CB_OK;
}

struct route_list {
    struct nl_route *v;
    size_t n, cap;
};

static int
route_type_of(unsigned char rtn)
{
    switch (rtn) {
    case RTN_UNICAST:
        return NL_ROUTE_UNICAST;
    case RTN_UNREACHABLE:
        return NL_ROUTE_UNREACHABLE;
    case RTN_BLACKHOLE:
        return NL_ROUTE_BLACKHOLE;
    default:
        return -1;
    }
}

static void
route_fill(struct nl_route *e, const struct rtmsg *rtm, const struct route_attrs *a)
{
    memset(e, 0, sizeof(*e));
    e->type = (enum nl_route_type)route_type_of(rtm->rtm_type);
    e->dst.ip.family = rtm->rtm_family;
    e->dst.prefix = rtm->rtm_dst_len;
    if (a->tb[RTA_DST])
        memcpy(e->dst.ip.a, mnl_attr_get_payload(a->tb[RTA_DST]), a->alen);
    if (a->tb[RTA_GATEWAY]) {
        e->gw.family = rtm->rtm_family;
        memcpy(e->gw.a, mnl_attr_get_payload(a->tb[RTA_GATEWAY]), a->alen);
    }
    if (a->tb[RTA_OIF])
        e->ifindex = (int)mnl_attr_get_u32(a->tb[RTA_OIF]);
    e->table = a->tb[RTA_TABLE] ? mnl_attr_get_u32(a->tb[RTA_TABLE]) : rtm->rtm_table;
    e->protocol = rtm->rtm_protocol;
    e->scope = rtm->rtm_scope;
    e->onlink = (rtm->rtm_flags & RTNH_F_ONLINK) != 0;
}

static int
route_dump_cb(const struct nlmsghdr *nlh, void *data)
{
    struct route_list *l = data;
    struct route_attrs a;
    const struct rtmsg *rtm;

    if (nlh->nlmsg_type != RTM_NEWROUTE || mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm)) {
        errno = EBADMSG;
        return MNL_CB_ERROR;
    }
    rtm = mnl_nlmsg_get_payload(nlh);
    memset(&a, 0, sizeof(a));
    a.alen = nl_family_len(rtm->rtm_family);
    if (!a.alen || route_type_of(rtm->rtm_type) < 0)
        return MNL_CB_OK; /* local, broadcast, multicast...: not ours to manage */
    if (mnl_attr_parse(nlh, sizeof(*rtm), route_attr_cb, &a) < 0)
        return MNL_CB_ERROR;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->v = sk_reallocarray(l->v, l->cap, sizeof(*l->v));
    }
    route_fill(&l->v[l->n++], rtm, &a);
    return MNL_CB_OK;
}

int
nl_route_dump(struct nl_sock *nl, int family, struct nl_route **out, size_t *n, struct sk_err *err)
{
    struct route_list l = {0};
    int rc;

    rc = nl_dump(nl, RTM_GETROUTE, (uint8_t)family, sizeof(struct rtmsg), route_dump_cb, &l, &l.n,
                 "dump routes", err);
    if (rc < 0) {
        free(l.v);
        l.v = NULL;
        l.n = 0;
    }
    *out = l.v;
    *n = l.n;
    return rc;
}
