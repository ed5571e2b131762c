/* net/nl_link.c: links over rtnetlink (RTM_NEWLINK/SETLINK/DELLINK/GETLINK).
 *
 * Existing links are addressed by name (IFLA_IFNAME with ifi_index 0),
 * which the kernel resolves in the socket's netns; only a rename needs
 * the index, since there IFLA_IFNAME carries the new name. */
#include "net/nl_int.h"

#include "lib/alloc.h"
#include "lib/buf.h"

#include <errno.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#define WHAT_MAX 64

static int link_echo_cb(const struct nlmsghdr *nlh, void *data);

static struct nlmsghdr *
link_msg(struct nl_sock *nl, uint16_t type, uint16_t flags, int index)
{
    struct nlmsghdr *nlh = nl_msg_start(nl, type, flags);
    struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));

    ifm->ifi_family = AF_UNSPEC;
    ifm->ifi_index = index;
    return nlh;
}

/* A RTM_SETLINK for the link called name; the caller adds attributes. */
static struct nlmsghdr *
setlink_msg(struct nl_sock *nl, const char *name, struct sk_err *err)
{
    struct nlmsghdr *nlh = link_msg(nl, RTM_SETLINK, NLM_F_ACK, 0);

    if (nl_put_name(nlh, IFLA_IFNAME, name, err) < 0)
        return NULL;
    return nlh;
}

int
nl_link_add_veth(struct nl_sock *nl, const char *name, const char *peer, int peer_netns_fd,
                 struct sk_err *err)
{
    return nl_link_add_veth_mac(nl, name, peer, peer_netns_fd, NULL, err);
}

int
nl_link_add_veth_mac(struct nl_sock *nl, const char *name, const char *peer, int peer_netns_fd,
                     const uint8_t peer_mac[6], struct sk_err *err)
{
    struct nl_veth v = {name, peer, peer_netns_fd, peer_mac, 0, 0, false, NULL};

    return nl_link_add_veth_full(nl, &v, err);
}

int
nl_link_add_veth_full(struct nl_sock *nl, const struct nl_veth *v, struct sk_err *err)
{
    struct nlmsghdr *nlh;
    struct nlattr *linkinfo, *data, *peerinfo;
    struct ifinfomsg *ifm;
    char what[WHAT_MAX];

    snprintf(what, sizeof(what), "veth '%s'", v->name);
    if (nl_check_ifname(v->peer, err) < 0)
        return sk_err_wrap(err, "%s: peer", what);
    nlh = link_msg(nl, RTM_NEWLINK,
                   NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK | (v->echo ? NLM_F_ECHO : 0), 0);
    /* Flags of a new link are applied once the pair is registered
     * (rtnl_configure_link). */
    ifm = mnl_nlmsg_get_payload(nlh);
    ifm->ifi_change = v->up ? IFF_UP : 0;
    ifm->ifi_flags = v->up ? IFF_UP : 0;
    if (nl_put_name(nlh, IFLA_IFNAME, v->name, err) < 0)
        return -EINVAL;
    if (v->mtu)
        mnl_attr_put_u32(nlh, IFLA_MTU, v->mtu);
    /* rtnl_newlink_create sets the master after registering the pair,
     * and unregisters it again if that fails: no half-made pair. */
    if (v->master > 0)
        mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)v->master);
    linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
    mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
    data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
    peerinfo = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
    /* The peer's attributes follow a struct ifinfomsg of its own, as
     * in a RTM_NEWLINK message (drivers/net/veth.c: veth_newlink). */
    mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
    mnl_attr_put_strz(nlh, IFLA_IFNAME, v->peer);
    if (v->peer_netns_fd >= 0)
        mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)v->peer_netns_fd);
    /* rtnl_create_link takes IFLA_ADDRESS and IFLA_MTU for the peer
     * too: no RTM_SETLINK (and its notifier round) afterwards. */
    if (v->peer_mac)
        mnl_attr_put(nlh, IFLA_ADDRESS, 6, v->peer_mac);
    if (v->mtu)
        mnl_attr_put_u32(nlh, IFLA_MTU, v->mtu);
    mnl_attr_nest_end(nlh, peerinfo);
    mnl_attr_nest_end(nlh, data);
    mnl_attr_nest_end(nlh, linkinfo);
    if (!v->echo)
        return nl_talk(nl, nlh, NULL, NULL, what, err);
    memset(v->echo, 0, sizeof(*v->echo));
    sk_strlcpy(v->echo->name, v->name, sizeof(v->echo->name));
    return nl_talk(nl, nlh, link_echo_cb, v->echo, what, err);
}

int
nl_link_add_bridge(struct nl_sock *nl, const char *name, struct sk_err *err)
{
    struct nlmsghdr *nlh;
    struct nlattr *linkinfo;
    char what[WHAT_MAX];

    snprintf(what, sizeof(what), "bridge '%s'", name);
    nlh = link_msg(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, 0);
    if (nl_put_name(nlh, IFLA_IFNAME, name, err) < 0)
        return -EINVAL;
    linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
    mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
    mnl_attr_nest_end(nlh, linkinfo);
    return nl_talk(nl, nlh, NULL, NULL, what, err);
}

int
nl_link_del(struct nl_sock *nl, const char *name, struct sk_err *err)
{
    struct nlmsghdr *nlh = link_msg(nl, RTM_DELLINK, NLM_F_ACK, 0);
    char what[WHAT_MAX];

    snprintf(what, sizeof(what), "delete link '%s'", name);
    if (nl_put_name(nlh, IFLA_IFNAME, name, err) < 0)
        return -EINVAL;
    return nl_talk(nl, nlh, NULL, NULL, what, err);
}

static int
setlink_u32(struct nl_sock *nl, const char *name, uint16_t type, uint32_t value, const char *verb,
            struct sk_err *err)
{
    struct nlmsghdr *nlh = setlink_msg(nl, name, err);
    char what[WHAT_MAX + 32];

    if (!nlh)
        return -EINVAL;
    snprintf(what, sizeof(what), "link '%s': %s", name, verb);
    mnl_attr_put_u32(nlh, type, value);
    return nl_talk(nl, nlh, NULL, NULL, what, err);
}

int
nl_link_set_netns(struct nl_sock *nl, const char *name, int netns_fd, struct sk_err *err)
{
    if (netns_fd < 0)
        return sk_err_set(err, EBADF, "link '%s': move to netns: bad netns fd", name);
    return setlink_u32(nl, name, IFLA_NET_NS_FD, (uint32_t)netns_fd, "move to netns", err);
}

int
nl_link_set_mtu(struct nl_sock *nl, const char *name, unsigned mtu, struct sk_err *err)
{
    return setlink_u32(nl, name, IFLA_MTU, mtu, "set mtu", err);
}

int
nl_link_set_master(struct nl_sock *nl, const char *name, const char *master, struct sk_err *err)
{
    int index = 0;

    if (master) {
        index = nl_link_index(nl, master, err);
        if (index < 0)
            return sk_err_wrap(err, "link '%s': set master", name);
    }
    return setlink_u32(nl, name, IFLA_MASTER, (uint32_t)index, master ? "set master" : "nomaster",
                       err);
}

int
nl_link_rename(struct nl_sock *nl, const char *name, const char *newname, struct sk_err *err)
{
    struct nlmsghdr *nlh;
    char what[WHAT_MAX + 32];
    int index;

    index = nl_link_index(nl, name, err);
    if (index < 0)
        return index;
    snprintf(what, sizeof(what), "link '%s': rename to '%s'", name, newname);
    nlh = link_msg(nl, RTM_SETLINK, NLM_F_ACK, index);
    if (nl_put_name(nlh, IFLA_IFNAME, newname, err) < 0)
        return sk_err_wrap(err, "link '%s': rename", name);
    return nl_talk(nl, nlh, NULL, NULL, what, err);
}

int
nl_link_set_up(struct nl_sock *nl, const char *name, bool up, struct sk_err *err)
{
    struct nlmsghdr *nlh = link_msg(nl, RTM_SETLINK, NLM_F_ACK, 0);
    struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
    char what[WHAT_MAX + 32];

    ifm->ifi_change = IFF_UP;
    ifm->ifi_flags = up ? IFF_UP : 0;
    if (nl_put_name(nlh, IFLA_IFNAME, name, err) < 0)
        return -EINVAL;
    snprintf(what, sizeof(what), "link '%s': set %s", name, up ? "up" : "down");
    return nl_talk(nl, nlh, NULL, NULL, what, err);
}

int
nl_link_set_mac(struct nl_sock *nl, const char *name, const uint8_t mac[6], struct sk_err *err)
{
    struct nlmsghdr *nlh = setlink_msg(nl, name, err);
    char what[WHAT_MAX + 32];

    if (!nlh)
        return -EINVAL;
    snprintf(what, sizeof(what), "link '%s': set mac %02x:%02x:%02x:%02x:%02x:%02x", name, mac[0],
             mac[1], mac[2], mac[3], mac[4], mac[5]);
    mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
    return nl_talk(nl, nlh, NULL, NULL, what, err);
}

int
nl_link_set_alias(struct nl_sock *nl, const char *name, const char *alias, struct sk_err *err)
{
    struct nlmsghdr *nlh = setlink_msg(nl, name, err);
    char what[WHAT_MAX + 32];

    if (!nlh)
        return -EINVAL;
    if (strlen(alias) >= sizeof(((struct nl_link *)0)->alias))
        return sk_err_set(err, EINVAL, "link '%s': alias is longer than 255 bytes", name);
    snprintf(what, sizeof(what), "link '%s': set alias", name);
    /* Length 0 removes the alias (net/core/dev.c: dev_set_alias). */
    mnl_attr_put(nlh, IFLA_IFALIAS, strlen(alias), alias);
    return nl_talk(nl, nlh, NULL, NULL, what, err);
}

int
nl_link_set_hairpin(struct nl_sock *nl, const char *name, bool on, struct sk_err *err)
{
    int index;

    index = nl_link_index(nl, name, err);
    if (index < 0)
        return sk_err_wrap(err, "link '%s': set hairpin", name);
    return nl_link_set_hairpin_index(nl, name, index, on, err);
}

int
nl_link_set_hairpin_index(struct nl_sock *nl, const char *name, int index, bool on,
                          struct sk_err *err)
{
    struct nlmsghdr *nlh;
    struct ifinfomsg *ifm;
    struct nlattr *info;
    char what[WHAT_MAX + 32];

    snprintf(what, sizeof(what), "link '%s': set hairpin %s", name, on ? "on" : "off");
    /* The bridge's own RTM_SETLINK (PF_BRIDGE, br_setlink): port
     * attributes nested in IFLA_PROTINFO, which must carry
     * NLA_F_NESTED or the kernel reads it as the old one-byte STP
     * state. */
    nlh = link_msg(nl, RTM_SETLINK, NLM_F_ACK, index);
    ifm = mnl_nlmsg_get_payload(nlh);
    ifm->ifi_family = AF_BRIDGE;
    info = mnl_attr_nest_start(nlh, IFLA_PROTINFO | NLA_F_NESTED);
    mnl_attr_put_u8(nlh, IFLA_BRPORT_MODE, on ? 1 : 0);
    mnl_attr_nest_end(nlh, info);
    return nl_talk(nl, nlh, NULL, NULL, what, err);
}

/* ---- parsing RTM_NEWLINK messages ---- */

static int
linkinfo_attr_cb(const struct nlattr *attr, void *data)
{
    const struct nlattr **tb = data;
    int type = mnl_attr_get_type(attr);

    if (mnl_attr_type_valid(attr, IFLA_INFO_MAX) < 0)
        return MNL_CB_OK;
    if (type == IFLA_INFO_KIND && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
        return MNL_CB_ERROR;
    tb[type] = attr;
    return MNL_CB_OK;
}

static int
link_attr_cb(const struct nlattr *attr, void *data)
{
    const struct nlattr **tb = data;
    int type = mnl_attr_get_type(attr), rc = 0;

    if (mnl_attr_type_valid(attr, IFLA_MAX) < 0)
        return MNL_CB_OK;
    switch (type) {
    case IFLA_IFNAME:
    case IFLA_IFALIAS:
        rc = mnl_attr_validate(attr, MNL_TYPE_NUL_STRING);
        break;
    case IFLA_MTU:
    case IFLA_MASTER:
    case IFLA_LINK:
        rc = mnl_attr_validate(attr, MNL_TYPE_U32);
        break;
    case IFLA_LINKINFO:
        rc = mnl_attr_validate(attr, MNL_TYPE_NESTED);
        break;
    case IFLA_ADDRESS:
        rc = mnl_attr_validate(attr, MNL_TYPE_BINARY);
        break;
    default:
        return MNL_CB_OK; /* not used: not stored, so never read unvalidated */
    }
    if (rc < 0)
        return MNL_CB_ERROR;
    tb[type] = attr;
    return MNL_CB_OK;
}

static int
link_parse(const struct nlmsghdr *nlh, struct nl_link *out)
{
    const struct nlattr *tb[IFLA_MAX + 1] = {0}, *info[IFLA_INFO_MAX + 1] = {0};
    const struct ifinfomsg *ifm;

    if (nlh->nlmsg_type != RTM_NEWLINK || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifm)) {
        errno = EBADMSG;
        return MNL_CB_ERROR;
    }
    ifm = mnl_nlmsg_get_payload(nlh);
    if (mnl_attr_parse(nlh, sizeof(*ifm), link_attr_cb, tb) < 0)
        return MNL_CB_ERROR;
    memset(out, 0, sizeof(*out));
    out->index = ifm->ifi_index;
    out->flags = ifm->ifi_flags;
    if (!tb[IFLA_IFNAME]) {
        errno = EBADMSG;
        return MNL_CB_ERROR;
    }
    sk_strlcpy(out->name, mnl_attr_get_str(tb[IFLA_IFNAME]), sizeof(out->name));
    if (tb[IFLA_IFALIAS])
        sk_strlcpy(out->alias, mnl_attr_get_str(tb[IFLA_IFALIAS]), sizeof(out->alias));
    if (tb[IFLA_MTU])
        out->mtu = mnl_attr_get_u32(tb[IFLA_MTU]);
    if (tb[IFLA_MASTER])
        out->master = (int)mnl_attr_get_u32(tb[IFLA_MASTER]);
    if (tb[IFLA_LINK])
        out->link = (int)mnl_attr_get_u32(tb[IFLA_LINK]);
    if (tb[IFLA_ADDRESS] && mnl_attr_get_payload_len(tb[IFLA_ADDRESS]) <= sizeof(out->mac)) {
        out->mac_len = mnl_attr_get_payload_len(tb[IFLA_ADDRESS]);
        memcpy(out->mac, mnl_attr_get_payload(tb[IFLA_ADDRESS]), out->mac_len);
    }
    if (tb[IFLA_LINKINFO]) {
        if (mnl_attr_parse_nested(tb[IFLA_LINKINFO], linkinfo_attr_cb, info) < 0)
            return MNL_CB_ERROR;
        if (info[IFLA_INFO_KIND])
            sk_strlcpy(out->kind, mnl_attr_get_str(info[IFLA_INFO_KIND]), sizeof(out->kind));
    }
    return MNL_CB_OK;
}

static int
link_get_cb(const struct nlmsghdr *nlh, void *data)
{
    return link_parse(nlh, data);
}

/* Echoes of a RTM_NEWLINK: the one for out->name (set by the caller)
 * fills out. */
static int
link_echo_cb(const struct nlmsghdr *nlh, void *data)
{
    struct nl_link *out = data, link;

    if (nlh->nlmsg_type != RTM_NEWLINK)
        return MNL_CB_OK;
    if (link_parse(nlh, &link) != MNL_CB_OK)
        return MNL_CB_ERROR;
    if (!strcmp(link.name, out->name))
        *out = link;
    return MNL_CB_OK;
}

int
nl_link_get(struct nl_sock *nl, const char *name, struct nl_link *out, struct sk_err *err)
{
    struct nlmsghdr *nlh = link_msg(nl, RTM_GETLINK, NLM_F_ACK, 0);
    char what[WHAT_MAX];

    snprintf(what, sizeof(what), "link '%s'", name);
    if (nl_put_name(nlh, IFLA_IFNAME, name, err) < 0)
        return -EINVAL;
    /* No counters: nothing here reads them, and filling them (IPv6's
     * above all) is most of the kernel's work for the answer. */
    mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
    out->index = 0;
    return nl_talk(nl, nlh, link_get_cb, out, what, err);
}

int
nl_link_index(struct nl_sock *nl, const char *name, struct sk_err *err)
{
    struct nl_link link;
    struct ifreq ifr;
    int rc;

    if (nl_check_ifname(name, err) < 0)
        return -EINVAL;
    /* SIOCGIFINDEX works on any socket, a netlink one too (sock_do_ioctl
     * hands what the protocol does not know to dev_ioctl), and resolves
     * the name in the socket's netns, under RCU: none of the RTM_NEWLINK
     * message a RTM_GETLINK would have the kernel fill. */
    memset(&ifr, 0, sizeof(ifr));
    sk_strlcpy(ifr.ifr_name, name, sizeof(ifr.ifr_name));
    if (ioctl(mnl_socket_get_fd(nl->mnl), SIOCGIFINDEX, &ifr) == 0 && ifr.ifr_ifindex > 0)
        return ifr.ifr_ifindex;
    if (errno == ENODEV)
        return sk_err_set(err, ENODEV, "link '%s': %s", name, strerror(ENODEV));
    rc = nl_link_get(nl, name, &link, err);
    if (rc < 0)
        return rc;
    if (link.index <= 0)
        return sk_err_set(err, ENODEV, "link '%s': no such link in the reply", name);
    return link.index;
}

struct link_list {
    struct nl_link *v;
    size_t n, cap;
};

static int
link_dump_cb(const struct nlmsghdr *nlh, void *data)
{
    struct link_list *l = data;

    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->v = sk_reallocarray(l->v, l->cap, sizeof(*l->v));
    }
    if (link_parse(nlh, &l->v[l->n]) != MNL_CB_OK)
        return MNL_CB_ERROR;
    l->n++;
    return MNL_CB_OK;
}

int
nl_link_dump(struct nl_sock *nl, struct nl_link **out, size_t *n, struct sk_err *err)
{
    struct link_list l = {0};
    int rc;

    rc = nl_dump(nl, RTM_GETLINK, AF_UNSPEC, sizeof(struct ifinfomsg), link_dump_cb, &l, &l.n,
                 "dump links", err);
    if (rc < 0) {
        free(l.v);
        l.v = NULL;
        l.n = 0;
    }
    *out = l.v;
    *n = l.n;
    return rc;
}
