/* net/nl*.c: decoding netlink replies (fabricated buffers), and links,
 * addresses and routes against the kernel inside a private netns.
 *
 * The kernel tests run only as root; each one first moves its own
 * forked test process into a new network namespace (unshare), so the
 * host's network is never touched, and everything it creates vanishes
 * with that namespace when the process exits, also on failure. */
#include "lib/alloc.h"
#include "lib/buf.h"
#include "net/net.h"
#include "net/nl_int.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- fabricated replies ---- */

#define SEQ  42
#define PORT 7

/* Build an NLMSG_ERROR with errno code; echo_len bytes of echoed
 * request payload (when not capped) and an optional extack message. */
static size_t
make_error(char *buf, size_t size, int code, bool capped, size_t echo_len, const char *ext,
           bool ext_nul)
{
    struct nlmsghdr *nlh;
    struct nlmsgerr *e;

    memset(buf, 0, size);
    nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = NLMSG_ERROR;
    nlh->nlmsg_seq = SEQ;
    nlh->nlmsg_pid = PORT;
    e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
    e->error = -code;
    e->msg.nlmsg_len = (uint32_t)(sizeof(struct nlmsghdr) + echo_len);
    e->msg.nlmsg_type = RTM_NEWLINK;
    e->msg.nlmsg_seq = SEQ;
    if (capped)
        nlh->nlmsg_flags |= NLM_F_CAPPED;
    else
        mnl_nlmsg_put_extra_header(nlh, echo_len); /* the echoed request body */
    if (ext) {
        nlh->nlmsg_flags |= NLM_F_ACK_TLVS;
        if (ext_nul)
            mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, ext);
        else
            mnl_attr_put(nlh, NLMSGERR_ATTR_MSG, strlen(ext), ext);
    }
    return nlh->nlmsg_len;
}

START_TEST(ack_completes_the_exchange)
{
    char buf[512];
    size_t len = make_error(buf, sizeof(buf), 0, true, 0, NULL, false);

    ck_assert_int_eq(nl_reply_run(buf, len, SEQ, PORT, NULL, NULL, "x", NULL), 0);
}
END_TEST

static const struct {
    int code;
    bool capped;
    size_t echo;
    const char *ext;
    bool ext_nul;
    const char *want;
} error_cases[] = {
    {EEXIST, true, 0, NULL, false, "veth 'skf1a2b3c': File exists"},
    {EEXIST, false, 32, NULL, false, "veth 'skf1a2b3c': File exists"},
    {EINVAL, true, 0, "Nexthop has invalid gateway", true,
     "veth 'skf1a2b3c': Invalid argument: Nexthop has invalid gateway"},
    {EINVAL, false, 36, "Nexthop has invalid gateway", true,
     "veth 'skf1a2b3c': Invalid argument: Nexthop has invalid gateway"},
    /* a hint that is not NUL-terminated is dropped; the errno stays */
    {EBUSY, true, 0, "garbled", false, "veth 'skf1a2b3c': Device or resource busy"},
};

START_TEST(error_reply_names_the_object)
{
    struct sk_err err;
    char buf[512];
    size_t i, len;

    for (i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
        len = make_error(buf, sizeof(buf), error_cases[i].code, error_cases[i].capped,
                         error_cases[i].echo, error_cases[i].ext, error_cases[i].ext_nul);
        sk_err_init(&err);
        ck_assert_int_eq(nl_reply_run(buf, len, SEQ, PORT, NULL, NULL, "veth 'skf1a2b3c'", &err),
                         -error_cases[i].code);
        ck_assert_int_eq(err.code, error_cases[i].code);
        ck_assert_str_eq(err.msg, error_cases[i].want);
    }
}
END_TEST

START_TEST(malformed_replies_are_errors_not_crashes)
{
    struct nlmsghdr *nlh;
    struct nlmsgerr *e;
    struct sk_err err;
    char buf[512];
    size_t len;

    /* an error message too short to hold struct nlmsgerr */
    memset(buf, 0, sizeof(buf));
    nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = NLMSG_ERROR;
    nlh->nlmsg_seq = SEQ;
    mnl_nlmsg_put_extra_header(nlh, 4);
    sk_err_init(&err);
    ck_assert_int_eq(nl_reply_run(buf, nlh->nlmsg_len, SEQ, PORT, NULL, NULL, "link 'a'", &err),
                     -EBADMSG);
    ck_assert_str_eq(err.msg, "link 'a': bad netlink reply: Bad message");
    /* a positive "errno" */
    len = make_error(buf, sizeof(buf), 0, true, 0, NULL, false);
    e = mnl_nlmsg_get_payload((struct nlmsghdr *)buf);
    e->error = 5;
    ck_assert_int_eq(nl_reply_run(buf, len, SEQ, PORT, NULL, NULL, "link 'a'", &err), -EBADMSG);
    /* an echoed length pointing past the message: the hint is ignored */
    len = make_error(buf, sizeof(buf), ENOENT, false, 8, "hint", true);
    e = mnl_nlmsg_get_payload((struct nlmsghdr *)buf);
    e->msg.nlmsg_len = 100000;
    sk_err_init(&err);
    ck_assert_int_eq(nl_reply_run(buf, len, SEQ, PORT, NULL, NULL, "link 'a'", &err), -ENOENT);
    ck_assert_str_eq(err.msg, "link 'a': No such file or directory");
    /* a length field larger than the datagram */
    len = make_error(buf, sizeof(buf), 0, true, 0, NULL, false);
    ((struct nlmsghdr *)buf)->nlmsg_len = 4000;
    sk_err_init(&err);
    ck_assert_int_lt(nl_reply_run(buf, len, SEQ, PORT, NULL, NULL, "link 'a'", &err), 0);
    ck_assert_str_eq(err.msg, "link 'a': bad netlink reply: truncated message");
}
END_TEST

START_TEST(stale_datagram_of_an_earlier_request_is_skipped)
{
    char buf[512];
    size_t len = make_error(buf, sizeof(buf), EEXIST, true, 0, NULL, false);

    ck_assert_int_eq(nl_reply_run(buf, len, SEQ + 1, PORT, NULL, NULL, "x", NULL), 1);
}
END_TEST

START_TEST(failed_dump_reports_done_error)
{
    struct nlmsghdr *nlh;
    struct sk_err err;
    char buf[256];
    int code = -EINTR;

    memset(buf, 0, sizeof(buf));
    nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = NLMSG_DONE;
    nlh->nlmsg_seq = SEQ;
    memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(code)), &code, sizeof(code));
    sk_err_init(&err);
    ck_assert_int_eq(nl_reply_run(buf, nlh->nlmsg_len, SEQ, PORT, NULL, NULL, "dump links", &err),
                     -EINTR);
    ck_assert_str_eq(err.msg, "dump links: Interrupted system call");
}
END_TEST

static int
count_cb(const struct nlmsghdr *nlh, void *data)
{
    (*(int *)data)++;
    return MNL_CB_OK;
}

static int
refuse_cb(const struct nlmsghdr *nlh, void *data)
{
    errno = EPROTO;
    return MNL_CB_ERROR;
}

START_TEST(data_messages_reach_the_callback)
{
    struct nlmsghdr *nlh;
    struct sk_err err;
    char buf[512];
    size_t len;
    int n = 0;

    memset(buf, 0, sizeof(buf));
    nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_NEWLINK;
    nlh->nlmsg_seq = SEQ;
    nlh->nlmsg_flags = NLM_F_MULTI;
    mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
    len = nlh->nlmsg_len;
    ck_assert_int_eq(nl_reply_run(buf, len, SEQ, PORT, count_cb, &n, "x", NULL), 1);
    ck_assert_int_eq(n, 1);
    sk_err_init(&err);
    ck_assert_int_eq(nl_reply_run(buf, len, SEQ, PORT, refuse_cb, NULL, "dump links", &err),
                     -EPROTO);
    ck_assert_str_eq(err.msg, "dump links: bad reply from the kernel: Protocol error");
    /* a dump that raced with changes is to be started again */
    nlh->nlmsg_flags |= NLM_F_DUMP_INTR;
    sk_err_init(&err);
    ck_assert_int_eq(nl_reply_run(buf, len, SEQ, PORT, count_cb, &n, "dump links", &err), -EAGAIN);
    ck_assert_str_eq(err.msg, "dump links: dump interrupted by concurrent changes");
}
END_TEST

/* ---- against the kernel, in a private netns ---- */

static struct nl_sock *
open_nl(void)
{
    struct nl_sock *nl;
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_msg(nl_sock_open(&nl, &err) == 0, "%s", err.msg);
    return nl;
}

#define OK(call)                                                                                   \
    do {                                                                                           \
        sk_err_init(&err);                                                                         \
        ck_assert_msg((call) >= 0, "%s: %s", #call, err.msg);                                      \
    } while (0)

/* Find name in a fresh dump; returns false when absent. */
static bool
dump_find(struct nl_sock *nl, const char *name, struct nl_link *out)
{
    struct nl_link *v;
    struct sk_err err;
    size_t n, i;
    bool found = false;

    OK(nl_link_dump(nl, &v, &n, &err));
    for (i = 0; i < n; i++) {
        if (!strcmp(v[i].name, name)) {
            *out = v[i];
            found = true;
        }
    }
    free(v);
    return found;
}

START_TEST(veth_and_bridge_lifecycle)
{
    static const uint8_t mac[6] = {0x0a, 0x58, 1, 2, 3, 4};
    struct nl_link a, b, br;
    struct nl_sock *nl;
    struct sk_err err;

    if (!unit_enter_private_netns("veth_and_bridge_lifecycle"))
        return;
    nl = open_nl();
    OK(nl_link_add_veth(nl, "skf1a2b3c", "skp1a2b3c", -1, &err));
    sk_err_init(&err);
    ck_assert_int_eq(nl_link_add_veth(nl, "skf1a2b3c", "other", -1, &err), -EEXIST);
    ck_assert_str_eq(err.msg, "veth 'skf1a2b3c': File exists");
    OK(nl_link_add_bridge(nl, "br-test", &err));
    sk_err_init(&err);
    ck_assert_int_eq(nl_link_add_bridge(nl, "br-test", &err), -EEXIST);
    ck_assert_str_eq(err.msg, "bridge 'br-test': File exists");
    OK(nl_link_set_master(nl, "skf1a2b3c", "br-test", &err));
    OK(nl_link_set_mtu(nl, "skf1a2b3c", 1400, &err));
    OK(nl_link_set_mac(nl, "skf1a2b3c", mac, &err));
    OK(nl_link_set_alias(nl, "skf1a2b3c", "default/web-0", &err));
    OK(nl_link_set_up(nl, "skf1a2b3c", true, &err));
    ck_assert(dump_find(nl, "skf1a2b3c", &a));
    ck_assert(dump_find(nl, "skp1a2b3c", &b));
    ck_assert(dump_find(nl, "br-test", &br));
    ck_assert_str_eq(a.kind, "veth");
    ck_assert_str_eq(br.kind, "bridge");
    ck_assert_int_eq(a.master, br.index);
    ck_assert_int_eq(a.link, b.index);
    ck_assert_uint_eq(a.mtu, 1400);
    ck_assert(a.flags & IFF_UP);
    ck_assert_uint_eq(a.mac_len, 6);
    ck_assert(!memcmp(a.mac, mac, 6));
    ck_assert_str_eq(a.alias, "default/web-0");
    ck_assert_int_eq(nl_link_index(nl, "br-test", NULL), br.index);
    OK(nl_link_set_master(nl, "skf1a2b3c", NULL, &err));
    OK(nl_link_get(nl, "skf1a2b3c", &a, &err));
    ck_assert_int_eq(a.master, 0);
    OK(nl_link_set_up(nl, "skf1a2b3c", false, &err));
    OK(nl_link_rename(nl, "skf1a2b3c", "renamed0", &err));
    ck_assert(dump_find(nl, "renamed0", &a));
    /* deleting one end removes the pair */
    OK(nl_link_del(nl, "renamed0", &err));
    ck_assert(!dump_find(nl, "skp1a2b3c", &b));
    sk_err_init(&err);
    ck_assert_int_eq(nl_link_del(nl, "renamed0", &err), -ENODEV);
    ck_assert_str_eq(err.msg, "delete link 'renamed0': No such device");
    OK(nl_link_del(nl, "br-test", &err));
    nl_sock_free(nl);
}
END_TEST

START_TEST(bad_names_and_missing_links_are_named)
{
    struct nl_sock *nl;
    struct sk_err err;

    if (!unit_enter_private_netns("bad_names_and_missing_links_are_named"))
        return;
    nl = open_nl();
    sk_err_init(&err);
    ck_assert_int_eq(nl_link_add_bridge(nl, "a-name-that-is-too-long", &err), -EINVAL);
    ck_assert_str_eq(err.msg, "interface name 'a-name-that-is-too-long' is longer than 15 bytes");
    sk_err_init(&err);
    ck_assert_int_eq(nl_link_add_veth(nl, "ok0", "bad/name", -1, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "veth 'ok0': peer: bad interface name 'bad/name'");
    sk_err_init(&err);
    ck_assert_int_eq(nl_link_index(nl, "nope0", &err), -ENODEV);
    ck_assert_str_eq(err.msg, "link 'nope0': No such device");
    sk_err_init(&err);
    ck_assert_int_eq(nl_link_set_up(nl, "nope0", true, &err), -ENODEV);
    ck_assert_str_eq(err.msg, "link 'nope0': set up: No such device");
    sk_err_init(&err);
    ck_assert_int_lt(nl_link_set_master(nl, "lo", "nobridge", &err), 0);
    ck_assert_str_eq(err.msg, "link 'lo': set master: link 'nobridge': No such device");
    nl_sock_free(nl);
}
END_TEST

START_TEST(veth_peer_created_in_and_moved_to_other_netns)
{
    struct nl_sock *nl, *other;
    struct nl_link l;
    struct sk_err err;
    int fd;

    if (!unit_enter_private_netns("veth_peer_created_in_and_moved_to_other_netns"))
        return;
    fd = unit_make_netns();
    nl = open_nl();
    OK(nl_sock_open_netns(&other, fd, &err));
    OK(nl_link_add_veth(nl, "host0", "peer0", fd, &err));
    ck_assert(!dump_find(nl, "peer0", &l));
    ck_assert(dump_find(other, "peer0", &l));
    ck_assert_str_eq(l.kind, "veth");
    /* bridges are netns-local (NETIF_F_NETNS_LOCAL); a veth can move */
    OK(nl_link_add_veth(nl, "mv0", "mv1", -1, &err));
    OK(nl_link_set_netns(nl, "mv0", fd, &err));
    ck_assert(!dump_find(nl, "mv0", &l));
    ck_assert(dump_find(other, "mv0", &l));
    OK(nl_link_del(other, "peer0", &err));
    ck_assert(!dump_find(nl, "host0", &l));
    nl_sock_free(other);
    nl_sock_free(nl);
    close(fd);
}
END_TEST

static bool
addr_present(struct nl_sock *nl, const char *cidr, int ifindex, const char *brd)
{
    char buf[NET_CIDR_STRLEN], bbuf[NET_IP_STRLEN];
    struct nl_addr *v;
    struct sk_err err;
    size_t n, i;
    bool found = false;

    OK(nl_addr_dump(nl, AF_INET, &v, &n, &err));
    for (i = 0; i < n; i++) {
        if (v[i].ifindex == ifindex &&
            !strcmp(net_cidr_format(&v[i].local, buf, sizeof(buf)), cidr))
            found = !brd || !strcmp(net_ip_format(&v[i].broadcast, bbuf, sizeof(bbuf)), brd);
    }
    free(v);
    return found;
}

START_TEST(addresses_add_dump_replace_delete)
{
    struct net_cidr a;
    struct net_ip brd;
    struct nl_sock *nl;
    struct sk_err err;
    int idx;

    if (!unit_enter_private_netns("addresses_add_dump_replace_delete"))
        return;
    nl = open_nl();
    OK(nl_link_add_bridge(nl, "br0", &err));
    idx = nl_link_index(nl, "br0", NULL);
    ck_assert_int_eq(net_cidr_parse("10.244.1.1/24", true, &a, NULL), 0);
    brd = net_cidr_broadcast(&a);
    OK(nl_addr_add(nl, "br0", &a, &brd, 0, &err));
    ck_assert(addr_present(nl, "10.244.1.1/24", idx, "10.244.1.255"));
    sk_err_init(&err);
    ck_assert_int_eq(nl_addr_add(nl, "br0", &a, &brd, 0, &err), -EEXIST);
    /* the kernel's extended ack follows the errno */
    ck_assert_str_eq(err.msg,
                     "address 10.244.1.1/24 on 'br0': File exists: ipv4: Address already assigned");
    OK(nl_addr_add(nl, "br0", &a, &brd, NL_F_REPLACE, &err));
    sk_err_init(&err);
    ck_assert_int_eq(nl_addr_add(nl, "nope0", &a, NULL, 0, &err), -ENODEV);
    ck_assert_str_eq(err.msg, "add address 10.244.1.1/24 on 'nope0': link 'nope0': No such device");
    OK(nl_addr_del(nl, "br0", &a, &err));
    ck_assert(!addr_present(nl, "10.244.1.1/24", idx, NULL));
    sk_err_init(&err);
    ck_assert_int_lt(nl_addr_del(nl, "br0", &a, &err), 0);
    ck_assert(strstr(err.msg, "delete address 10.244.1.1/24 on 'br0': "));
    nl_sock_free(nl);
}
END_TEST

/* The route to dst in the main table, or NULL. */
static bool
route_find(struct nl_sock *nl, const char *dst, struct nl_route *out)
{
    char buf[NET_CIDR_STRLEN];
    struct nl_route *v;
    struct sk_err err;
    size_t n, i;
    bool found = false;

    OK(nl_route_dump(nl, AF_INET, &v, &n, &err));
    for (i = 0; i < n; i++) {
        if (v[i].table == RT_TABLE_MAIN &&
            !strcmp(net_cidr_format(&v[i].dst, buf, sizeof(buf)), dst)) {
            *out = v[i];
            found = true;
        }
    }
    free(v);
    return found;
}

START_TEST(routes_add_dump_replace_delete)
{
    struct nl_route r = {0}, got;
    struct net_cidr a;
    char buf[NET_IP_STRLEN];
    struct nl_sock *nl;
    struct sk_err err;

    if (!unit_enter_private_netns("routes_add_dump_replace_delete"))
        return;
    nl = open_nl();
    OK(nl_link_add_veth(nl, "wire0", "wire1", -1, &err));
    OK(nl_link_set_up(nl, "wire0", true, &err));
    OK(nl_link_set_up(nl, "wire1", true, &err));
    ck_assert_int_eq(net_cidr_parse("192.168.50.1/24", true, &a, NULL), 0);
    OK(nl_addr_add(nl, "wire0", &a, NULL, 0, &err));
    /* via a gateway on the connected /24 */
    ck_assert_int_eq(net_cidr_parse("10.244.2.0/24", false, &r.dst, NULL), 0);
    ck_assert_int_eq(net_ip_parse("192.168.50.2", &r.gw, NULL), 0);
    OK(nl_route_add(nl, &r, 0, &err));
    ck_assert(route_find(nl, "10.244.2.0/24", &got));
    ck_assert_uint_eq(got.protocol, NET_RTPROT_SKIFF);
    ck_assert_str_eq(net_ip_format(&got.gw, buf, sizeof(buf)), "192.168.50.2");
    ck_assert_int_eq(got.ifindex, nl_link_index(nl, "wire0", NULL));
    sk_err_init(&err);
    ck_assert_int_eq(nl_route_add(nl, &r, 0, &err), -EEXIST);
    ck_assert_str_eq(err.msg, "route 10.244.2.0/24 via 192.168.50.2: File exists");
    OK(nl_route_add(nl, &r, NL_F_REPLACE, &err));
    OK(nl_route_del(nl, &r, &err));
    ck_assert(!route_find(nl, "10.244.2.0/24", &got));
    sk_err_init(&err);
    ck_assert_int_eq(nl_route_del(nl, &r, &err), -ESRCH);
    ck_assert_str_eq(err.msg, "delete route 10.244.2.0/24 via 192.168.50.2: No such process");
    /* a gateway outside any connected network needs onlink */
    ck_assert_int_eq(net_ip_parse("172.16.0.9", &r.gw, NULL), 0);
    sk_err_init(&err);
    ck_assert_int_lt(nl_route_add(nl, &r, 0, &err), 0);
    ck_assert_msg(strstr(err.msg, "route 10.244.2.0/24 via 172.16.0.9: "), "%s", err.msg);
    sk_strlcpy(r.dev, "wire0", sizeof(r.dev));
    r.onlink = true;
    OK(nl_route_add(nl, &r, 0, &err));
    ck_assert(route_find(nl, "10.244.2.0/24", &got));
    ck_assert(got.onlink);
    OK(nl_route_del(nl, &r, &err));
    /* unreachable and blackhole */
    memset(&r, 0, sizeof(r));
    r.type = NL_ROUTE_UNREACHABLE;
    ck_assert_int_eq(net_cidr_parse("10.244.0.0/16", false, &r.dst, NULL), 0);
    OK(nl_route_add(nl, &r, 0, &err));
    ck_assert(route_find(nl, "10.244.0.0/16", &got));
    ck_assert_int_eq(got.type, NL_ROUTE_UNREACHABLE);
    r.type = NL_ROUTE_BLACKHOLE;
    ck_assert_int_eq(net_cidr_parse("10.96.0.0/12", false, &r.dst, NULL), 0);
    OK(nl_route_add(nl, &r, 0, &err));
    ck_assert(route_find(nl, "10.96.0.0/12", &got));
    ck_assert_int_eq(got.type, NL_ROUTE_BLACKHOLE);
    OK(nl_route_del(nl, &r, &err));
    /* a route of another protocol is not skiff's to delete */
    r.type = NL_ROUTE_UNREACHABLE;
    ck_assert_int_eq(net_cidr_parse("10.244.0.0/16", false, &r.dst, NULL), 0);
    r.protocol = RTPROT_STATIC;
    sk_err_init(&err);
    ck_assert_int_eq(nl_route_del(nl, &r, &err), -ESRCH);
    r.protocol = 0;
    OK(nl_route_del(nl, &r, &err));
    nl_sock_free(nl);
}
END_TEST

/* The same code paths with AF_INET6: the layer is family-neutral. */
START_TEST(ipv6_addresses_and_routes)
{
    char buf[NET_CIDR_STRLEN], gw[NET_IP_STRLEN];
    struct nl_route r = {0}, *v;
    struct nl_addr *a;
    struct net_cidr addr;
    struct nl_sock *nl;
    struct sk_err err;
    size_t n, i;
    bool found = false;

    if (!unit_enter_private_netns("ipv6_addresses_and_routes"))
        return;
    nl = open_nl();
    OK(nl_link_add_veth(nl, "v6a", "v6b", -1, &err));
    OK(nl_link_set_up(nl, "v6a", true, &err));
    OK(nl_link_set_up(nl, "v6b", true, &err));
    ck_assert_int_eq(net_cidr_parse("fd00:1::1/64", true, &addr, NULL), 0);
    OK(nl_addr_add(nl, "v6a", &addr, NULL, 0, &err));
    OK(nl_addr_dump(nl, AF_INET6, &a, &n, &err));
    for (i = 0; i < n; i++)
        found |= !strcmp(net_cidr_format(&a[i].local, buf, sizeof(buf)), "fd00:1::1/64");
    free(a);
    ck_assert(found);
    ck_assert_int_eq(net_cidr_parse("fd00:2::/64", false, &r.dst, NULL), 0);
    ck_assert_int_eq(net_ip_parse("fd00:1::2", &r.gw, NULL), 0);
    sk_strlcpy(r.dev, "v6a", sizeof(r.dev));
    OK(nl_route_add(nl, &r, 0, &err));
    OK(nl_route_dump(nl, AF_INET6, &v, &n, &err));
    found = false;
    for (i = 0; i < n; i++) {
        if (!strcmp(net_cidr_format(&v[i].dst, buf, sizeof(buf)), "fd00:2::/64")) {
            found = true;
            ck_assert_str_eq(net_ip_format(&v[i].gw, gw, sizeof(gw)), "fd00:1::2");
            ck_assert_uint_eq(v[i].protocol, NET_RTPROT_SKIFF);
        }
    }
    free(v);
    ck_assert(found);
    OK(nl_route_del(nl, &r, &err));
    OK(nl_addr_del(nl, "v6a", &addr, &err));
    nl_sock_free(nl);
}
END_TEST

START_TEST(bad_route_requests_are_refused_before_sending)
{
    struct nl_route r = {0};
    struct nl_sock *nl;
    struct sk_err err;

    if (!unit_enter_private_netns("bad_route_requests_are_refused_before_sending"))
        return;
    nl = open_nl();
    ck_assert_int_eq(net_cidr_parse("10.1.0.0/16", false, &r.dst, NULL), 0);
    sk_err_init(&err);
    ck_assert_int_eq(nl_route_add(nl, &r, 0, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "route 10.1.0.0/16: needs a gateway or a device");
    r.type = NL_ROUTE_UNREACHABLE;
    ck_assert_int_eq(net_ip_parse("10.0.0.1", &r.gw, NULL), 0);
    sk_err_init(&err);
    ck_assert_int_eq(nl_route_add(nl, &r, 0, &err), -EINVAL);
    ck_assert_str_eq(err.msg,
                     "route unreachable 10.1.0.0/16 via 10.0.0.1: only unicast routes take a "
                     "gateway or device");
    r.type = NL_ROUTE_UNICAST;
    ck_assert_int_eq(net_ip_parse("fd00::1", &r.gw, NULL), 0);
    sk_err_init(&err);
    ck_assert_int_eq(nl_route_add(nl, &r, 0, &err), -EAFNOSUPPORT);
    nl_sock_free(nl);
}
END_TEST

START_TEST(burst_runs_every_request_and_reports_the_first_failure)
{
    struct net_cidr a;
    struct nl_sock *nl;
    struct nl_link link;
    struct sk_err err;
    int idx;

    if (!unit_enter_private_netns("burst_runs_every_request_and_reports_the_first_failure"))
        return;
    nl = open_nl();
    OK(nl_link_add_bridge(nl, "br0", &err));
    idx = nl_link_index(nl, "br0", NULL);
    ck_assert_int_eq(net_cidr_parse("10.244.1.1/24", true, &a, NULL), 0);
    /* all fine: one sendmsg, every ack read */
    nl_batch_begin(nl);
    OK(nl_addr_add_index(nl, "br0", idx, &a, NULL, 0, &err));
    OK(nl_link_set_alias(nl, "br0", "first", &err));
    OK(nl_link_set_up(nl, "br0", true, &err));
    OK(nl_batch_run(nl, &err));
    ck_assert(addr_present(nl, "10.244.1.1/24", idx, NULL));
    OK(nl_link_get(nl, "br0", &link, &err));
    ck_assert_str_eq(link.alias, "first");
    ck_assert(link.flags & IFF_UP);
    /* the second and fourth fail: the kernel still runs the others, the
     * first failure in queue order is reported */
    nl_batch_begin(nl);
    OK(nl_link_set_up(nl, "br0", false, &err));
    OK(nl_addr_add_index(nl, "br0", idx, &a, NULL, 0, &err));
    OK(nl_link_set_alias(nl, "br0", "second", &err));
    OK(nl_link_set_up(nl, "nope0", true, &err));
    sk_err_init(&err);
    ck_assert_int_eq(nl_batch_run(nl, &err), -EEXIST);
    ck_assert_msg(strstr(err.msg, "address 10.244.1.1/24 on 'br0': File exists") == err.msg, "%s",
                  err.msg);
    OK(nl_link_get(nl, "br0", &link, &err)); /* no ack left behind */
    ck_assert_str_eq(link.alias, "second");
    ck_assert(!(link.flags & IFF_UP));
    /* an empty burst sends nothing; a cancelled one leaves the socket
     * as it was */
    nl_batch_begin(nl);
    OK(nl_batch_run(nl, &err));
    nl_batch_begin(nl);
    OK(nl_link_set_alias(nl, "br0", "third", &err));
    sk_err_init(&err);
    ck_assert_int_eq(nl_link_set_up(nl, "bad/name", true, &err), -EINVAL);
    nl_batch_cancel(nl);
    OK(nl_link_get(nl, "br0", &link, &err));
    ck_assert_str_eq(link.alias, "second");
    /* a burst holds NL_BATCH_MAX requests; one more is refused */
    nl_batch_begin(nl);
    for (int i = 0; i < NL_BATCH_MAX; i++)
        OK(nl_link_set_up(nl, "br0", true, &err));
    sk_err_init(&err);
    ck_assert_int_eq(nl_link_set_up(nl, "br0", true, &err), -EMSGSIZE);
    ck_assert_str_eq(err.msg, "link 'br0': set up: netlink burst too large");
    OK(nl_batch_run(nl, &err)); /* the ones queued still go */
    OK(nl_link_get(nl, "br0", &link, &err));
    ck_assert(link.flags & IFF_UP);
    nl_sock_free(nl);
}
END_TEST

START_TEST(veth_born_whole_reports_both_ends)
{
    struct nl_link host, peer;
    struct nl_sock *nl, *pod;
    struct sk_err err;
    uint8_t mac[6] = {0x0a, 0x58, 10, 244, 1, 9};
    struct nl_veth v = {"h0", "eth0", -1, mac, 1400, 0, true, &host};
    int ns;

    if (!unit_enter_private_netns("veth_born_whole_reports_both_ends"))
        return;
    nl = open_nl();
    OK(nl_link_add_bridge(nl, "br0", &err));
    v.master = nl_link_index(nl, "br0", NULL);
    ns = unit_make_netns();
    v.peer_netns_fd = ns;
    OK(nl_link_add_veth_full(nl, &v, &err));
    ck_assert_int_gt(host.index, 0);
    ck_assert_uint_eq(host.mtu, 1400);
    ck_assert(host.flags & IFF_UP);
    /* the echo is sent before the master is set (rtnl_newlink_create) */
    OK(nl_link_get(nl, "h0", &peer, &err));
    ck_assert_int_eq(peer.master, v.master);
    OK(nl_sock_open_netns(&pod, ns, &err));
    OK(nl_link_get(pod, "eth0", &peer, &err));
    ck_assert_int_eq(host.link, peer.index);
    ck_assert_int_eq(peer.link, host.index);
    ck_assert_uint_eq(peer.mtu, 1400);
    ck_assert(!(peer.flags & IFF_UP));
    ck_assert_int_eq(memcmp(peer.mac, mac, 6), 0);
    /* a master that is not there: no half-made pair is left */
    v.name = "h1";
    v.master = 999999;
    v.peer_netns_fd = -1;
    v.peer = "p1";
    sk_err_init(&err);
    ck_assert_int_lt(nl_link_add_veth_full(nl, &v, &err), 0);
    ck_assert(nl_link_index(nl, "h1", NULL) < 0);
    ck_assert(nl_link_index(nl, "p1", NULL) < 0);
    nl_sock_free(pod);
    close(ns);
    nl_sock_free(nl);
}
END_TEST

START_TEST(sysctls_are_per_netns)
{
    char v[32];
    struct sk_err err;
    int fd;

    if (!unit_enter_private_netns("sysctls_are_per_netns"))
        return;
    fd = unit_make_netns();
    OK(net_sysctl_set(-1, "net.ipv4.ip_forward", "1", &err));
    OK(net_sysctl_get(fd, "net.ipv4.ip_forward", v, sizeof(v), &err));
    ck_assert_str_eq(v, "0");
    OK(net_sysctl_get(-1, "net.ipv4.ip_forward", v, sizeof(v), &err));
    ck_assert_str_eq(v, "1");
    sk_err_init(&err);
    ck_assert_int_eq(net_sysctl_set(fd, "kernel.hostname", "x", &err), -EINVAL);
    ck_assert_str_eq(err.msg, "sysctl 'kernel.hostname': only net.* keys can be set");
    sk_err_init(&err);
    ck_assert_int_eq(net_sysctl_set(fd, "net.ipv4..ip_forward", "1", &err), -EINVAL);
    ck_assert_int_eq(net_sysctl_set(fd, "net.ipv4/../../x", "1", &err), -EINVAL);
    sk_err_init(&err);
    ck_assert_int_eq(net_sysctl_get(fd, "net.ipv4.no_such_key", v, sizeof(v), &err), -ENOENT);
    ck_assert_str_eq(err.msg,
                     "sysctl 'net.ipv4.no_such_key': open '/proc/sys/net/ipv4/no_such_key': "
                     "No such file or directory");
    sk_err_init(&err);
    ck_assert_int_eq(net_netns_open("/proc/self/ns/uts", &err), -EINVAL);
    ck_assert_str_eq(err.msg, "'/proc/self/ns/uts' is not a network namespace");
    close(fd);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("net_netlink");
    TCase *dec = tcase_create("decode");
    TCase *kern = tcase_create("kernel");

    tcase_add_test(dec, ack_completes_the_exchange);
    tcase_add_test(dec, error_reply_names_the_object);
    tcase_add_test(dec, malformed_replies_are_errors_not_crashes);
    tcase_add_test(dec, stale_datagram_of_an_earlier_request_is_skipped);
    tcase_add_test(dec, failed_dump_reports_done_error);
    tcase_add_test(dec, data_messages_reach_the_callback);
    tcase_add_test(kern, veth_and_bridge_lifecycle);
    tcase_add_test(kern, bad_names_and_missing_links_are_named);
    tcase_add_test(kern, veth_peer_created_in_and_moved_to_other_netns);
    tcase_add_test(kern, addresses_add_dump_replace_delete);
    tcase_add_test(kern, routes_add_dump_replace_delete);
    tcase_add_test(kern, ipv6_addresses_and_routes);
    tcase_add_test(kern, bad_route_requests_are_refused_before_sending);
    tcase_add_test(kern, sysctls_are_per_netns);
    tcase_add_test(kern, burst_runs_every_request_and_reports_the_first_failure);
    tcase_add_test(kern, veth_born_whole_reports_both_ends);
    suite_add_tcase(s, dec);
    suite_add_tcase(s, kern);
    return unit_main(s);
}
