/* net/proxy_nl.c: incremental changes to the proxy table as one raw
 * nf_tables netlink batch (libmnl), without libnftables.
 *
 * Why not libnftables for these: nftables 1.0.6 fills its cache before
 * evaluating a script, and for "add rule", "add element", "delete
 * chain" and "delete set" that cache includes every chain of every table
 * (an NFT_MSG_GETCHAIN dump), also in a long-lived context, since our
 * own commit bumps the generation id the cache is keyed on. At 10,000
 * services of 10 endpoints that is 110,000 chains read back, seconds,
 * for a one-endpoint change. A batch built here references chains and
 * sets by name only, which the kernel resolves itself, so its cost is
 * the size of the change.
 *
 * Wire format (include/uapi/linux/netfilter/nf_tables.h): a batch is
 * NFNL_MSG_BATCH_BEGIN (res_id NFNL_SUBSYS_NFTABLES), the messages, and
 * NFNL_MSG_BATCH_END, sent in one sendmsg; the kernel applies it all or
 * nothing (nfnetlink_rcv_batch, nf_tables_commit/abort). Each rule is an
 * NFTA_RULE_EXPRESSIONS list of {NFTA_EXPR_NAME, NFTA_EXPR_DATA}; the
 * expressions are the ones `nft --debug=netlink` shows libnftables
 * generating for the same rule text (net/proxy_rules.c), so a table
 * changed here lists exactly like one written whole by libnftables
 * (t/unit/test_proxy_nft.c checks that). Only the last message asks for
 * an ACK: the kernel reports every failing message anyway, in order,
 * before that ACK, so reading up to the ACK's sequence number sees all
 * errors. */
#include "net/proxy_int.h"

#include "lib/alloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

/* Room reserved before each message: the largest we build (a rule of a
 * few expressions naming two chains) is well under 2 KiB. */
#define MSG_MAX 4096

void
px_batch_init(struct px_batch *b)
{
    memset(b, 0, sizeof(*b));
    sk_buf_init(&b->msg);
    sk_buf_init(&b->trace);
}

void
px_batch_release(struct px_batch *b)
{
    sk_buf_release(&b->msg);
    sk_buf_release(&b->trace);
}

static void trace(struct px_batch *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
trace(struct px_batch *b, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    sk_buf_vprintf(&b->trace, fmt, ap);
    va_end(ap);
    sk_buf_putc(&b->trace, '\n');
}

static struct nlmsghdr *
msg_begin(struct px_batch *b, int type, int flags)
{
    struct nlmsghdr *nlh;
    struct nfgenmsg *nfg;

    sk_buf_grow(&b->msg, MSG_MAX);
    nlh = mnl_nlmsg_put_header(b->msg.data + b->msg.len);
    nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | type;
    nlh->nlmsg_flags = NLM_F_REQUEST | flags;
    nlh->nlmsg_seq = ++b->seq;
    nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
    nfg->nfgen_family = NFPROTO_IPV4;
    nfg->version = NFNETLINK_V0;
    nfg->res_id = 0;
    return nlh;
}

static void
msg_end(struct px_batch *b, struct nlmsghdr *nlh)
{
    b->msg.len += NLMSG_ALIGN(nlh->nlmsg_len);
    b->n++;
}

/* ---- objects ---- */

void
px_nl_chain(struct px_batch *b, enum px_op op, const char *name)
{
    static const int type[] = {
        [PX_ADD] = NFT_MSG_NEWCHAIN, [PX_DEL] = NFT_MSG_DELCHAIN, [PX_FLUSH] = NFT_MSG_DELRULE};
    static const char *const verb[] = {"add chain", "delete chain", "flush chain"};
    struct nlmsghdr *nlh = msg_begin(b, type[op], op == PX_ADD ? NLM_F_CREATE : 0);

    /* A DELRULE naming the chain and no handle flushes the chain; one
     * without NFTA_RULE_CHAIN would flush every chain of the table. */
    mnl_attr_put_strz(nlh, op == PX_FLUSH ? NFTA_RULE_TABLE : NFTA_CHAIN_TABLE, NET_PROXY_TABLE);
    mnl_attr_put_strz(nlh, op == PX_FLUSH ? NFTA_RULE_CHAIN : NFTA_CHAIN_NAME, name);
    msg_end(b, nlh);
    trace(b, "%s %s", verb[op], name);
}

/* An affinity set: "type ipv4_addr; flags dynamic,timeout; timeout Ns". */
void
px_nl_affinity_set(struct px_batch *b, enum px_op op, const char *name, unsigned timeout_s)
{
    /* libnftables' user data: NFTNL_UDATA_SET_KEYBYTEORDER (0), 4 bytes,
     * BYTEORDER_BIG_ENDIAN (2) in host order; `nft list` reads it. */
    uint8_t udata[6] = {0, 4};
    uint32_t order = 2;
    struct nlmsghdr *nlh;

    if (op != PX_ADD) {
        nlh = msg_begin(b, NFT_MSG_DELSET, 0);
        mnl_attr_put_strz(nlh, NFTA_SET_TABLE, NET_PROXY_TABLE);
        mnl_attr_put_strz(nlh, NFTA_SET_NAME, name);
        msg_end(b, nlh);
        trace(b, "delete set %s", name);
        return;
    }
    memcpy(udata + 2, &order, 4);
    nlh = msg_begin(b, NFT_MSG_NEWSET, NLM_F_CREATE);
    mnl_attr_put_strz(nlh, NFTA_SET_TABLE, NET_PROXY_TABLE);
    mnl_attr_put_strz(nlh, NFTA_SET_NAME, name);
    mnl_attr_put_u32(nlh, NFTA_SET_FLAGS, htonl(NFT_SET_TIMEOUT | NFT_SET_EVAL));
    mnl_attr_put_u32(nlh, NFTA_SET_KEY_TYPE, htonl(7)); /* nft's TYPE_IPADDR */
    mnl_attr_put_u32(nlh, NFTA_SET_KEY_LEN, htonl(4));
    mnl_attr_put_u32(nlh, NFTA_SET_ID, htonl(++b->set_id));
    mnl_attr_put_u64(nlh, NFTA_SET_TIMEOUT, htobe64((uint64_t)timeout_s * 1000));
    mnl_attr_put(nlh, NFTA_SET_USERDATA, sizeof(udata), udata);
    msg_end(b, nlh);
    trace(b, "add set %s timeout %us", name, timeout_s);
}

static void
put_verdict(struct nlmsghdr *nlh, int attr, int code, const char *chain)
{
    struct nlattr *data = mnl_attr_nest_start(nlh, attr);
    struct nlattr *v = mnl_attr_nest_start(nlh, NFTA_DATA_VERDICT);

    mnl_attr_put_u32(nlh, NFTA_VERDICT_CODE, htonl((uint32_t)code));
    if (chain)
        mnl_attr_put_strz(nlh, NFTA_VERDICT_CHAIN, chain);
    mnl_attr_nest_end(nlh, v);
    mnl_attr_nest_end(nlh, data);
}

static void
put_value(struct nlmsghdr *nlh, int attr, const void *data, size_t len)
{
    struct nlattr *nest = mnl_attr_nest_start(nlh, attr);

    mnl_attr_put(nlh, NFTA_DATA_VALUE, len, data);
    mnl_attr_nest_end(nlh, nest);
}

void
px_nl_element(struct px_batch *b, enum px_op op, const char *map, const struct px_elem *e)
{
    struct nlmsghdr *nlh = msg_begin(b, op == PX_ADD ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM,
                                     op == PX_ADD ? NLM_F_CREATE : 0);
    struct nlattr *list, *elem;

    mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, NET_PROXY_TABLE);
    mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, map);
    list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
    elem = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
    put_value(nlh, NFTA_SET_ELEM_KEY, e->key, e->key_len);
    if (op == PX_ADD)
        put_verdict(nlh, NFTA_SET_ELEM_DATA, e->chain[0] ? NFT_GOTO : NF_DROP,
                    e->chain[0] ? e->chain : NULL);
    mnl_attr_nest_end(nlh, elem);
    mnl_attr_nest_end(nlh, list);
    msg_end(b, nlh);
    trace(b, "%s element %s %s : %s", op == PX_ADD ? "add" : "delete", map, e->text,
          e->chain[0] ? e->chain : "drop");
}

/* ---- rules ---- */

void
px_nl_rule_begin(struct px_batch *b, const char *chain)
{
    b->rule = msg_begin(b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND);
    mnl_attr_put_strz(b->rule, NFTA_RULE_TABLE, NET_PROXY_TABLE);
    mnl_attr_put_strz(b->rule, NFTA_RULE_CHAIN, chain);
    b->exprs = mnl_attr_nest_start(b->rule, NFTA_RULE_EXPRESSIONS);
    sk_buf_printf(&b->trace, "add rule %s:", chain);
}

void
px_nl_rule_end(struct px_batch *b)
{
    mnl_attr_nest_end(b->rule, b->exprs);
    msg_end(b, b->rule);
    b->rule = NULL;
    sk_buf_putc(&b->trace, '\n');
}

static struct nlattr *
expr_begin(struct px_batch *b, const char *name)
{
    struct nlattr *e = mnl_attr_nest_start(b->rule, NFTA_LIST_ELEM);

    mnl_attr_put_strz(b->rule, NFTA_EXPR_NAME, name);
    b->data = mnl_attr_nest_start(b->rule, NFTA_EXPR_DATA);
    sk_buf_printf(&b->trace, " %s", name);
    return e;
}

static void
expr_end(struct px_batch *b, struct nlattr *e)
{
    mnl_attr_nest_end(b->rule, b->data);
    mnl_attr_nest_end(b->rule, e);
}

static void
put_be32(struct px_batch *b, int attr, uint32_t v)
{
    mnl_attr_put_u32(b->rule, attr, htonl(v));
}

/* [ payload load len b @ network header + off => reg 1 ] */
void
px_nl_payload(struct px_batch *b, unsigned off, unsigned len)
{
    struct nlattr *e = expr_begin(b, "payload");

    put_be32(b, NFTA_PAYLOAD_DREG, NFT_REG_1);
    put_be32(b, NFTA_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
    put_be32(b, NFTA_PAYLOAD_OFFSET, off);
    put_be32(b, NFTA_PAYLOAD_LEN, len);
    expr_end(b, e);
}

/* [ cmp eq|neq reg 1 data ] */
void
px_nl_cmp(struct px_batch *b, bool eq, const void *data, size_t len)
{
    struct nlattr *e = expr_begin(b, "cmp");

    put_be32(b, NFTA_CMP_SREG, NFT_REG_1);
    put_be32(b, NFTA_CMP_OP, eq ? NFT_CMP_EQ : NFT_CMP_NEQ);
    put_value(b->rule, NFTA_CMP_DATA, data, len);
    expr_end(b, e);
}

/* [ bitwise reg 1 = ( reg 1 & mask ) ^ 0 ] on 4 bytes */
void
px_nl_mask(struct px_batch *b, const uint8_t mask[4])
{
    static const uint8_t zero[4];
    struct nlattr *e = expr_begin(b, "bitwise");

    put_be32(b, NFTA_BITWISE_SREG, NFT_REG_1);
    put_be32(b, NFTA_BITWISE_DREG, NFT_REG_1);
    put_be32(b, NFTA_BITWISE_LEN, 4);
    put_value(b->rule, NFTA_BITWISE_MASK, mask, 4);
    put_value(b->rule, NFTA_BITWISE_XOR, zero, 4);
    expr_end(b, e);
}

/* [ immediate reg 0 jump|goto -> chain ] */
void
px_nl_verdict(struct px_batch *b, bool go, const char *chain)
{
    struct nlattr *e = expr_begin(b, "immediate");

    put_be32(b, NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
    put_verdict(b->rule, NFTA_IMMEDIATE_DATA, go ? NFT_GOTO : NFT_JUMP, chain);
    expr_end(b, e);
    sk_buf_printf(&b->trace, " %s %s", go ? "goto" : "jump", chain);
}

/* [ immediate reg N data ] */
void
px_nl_immediate(struct px_batch *b, unsigned reg, const void *data, size_t len)
{
    struct nlattr *e = expr_begin(b, "immediate");

    put_be32(b, NFTA_IMMEDIATE_DREG, reg);
    put_value(b->rule, NFTA_IMMEDIATE_DATA, data, len);
    expr_end(b, e);
}

/* [ lookup reg 1 set name ] */
void
px_nl_lookup(struct px_batch *b, const char *set)
{
    struct nlattr *e = expr_begin(b, "lookup");

    mnl_attr_put_strz(b->rule, NFTA_LOOKUP_SET, set);
    put_be32(b, NFTA_LOOKUP_SREG, NFT_REG_1);
    expr_end(b, e);
}

/* [ dynset update reg_key 1 set name ] */
void
px_nl_dynset_update(struct px_batch *b, const char *set)
{
    struct nlattr *e = expr_begin(b, "dynset");

    mnl_attr_put_strz(b->rule, NFTA_DYNSET_SET_NAME, set);
    put_be32(b, NFTA_DYNSET_OP, NFT_DYNSET_OP_UPDATE);
    put_be32(b, NFTA_DYNSET_SREG_KEY, NFT_REG_1);
    expr_end(b, e);
}

/* [ numgen reg 1 = random mod n ] */
void
px_nl_numgen(struct px_batch *b, unsigned mod)
{
    struct nlattr *e = expr_begin(b, "numgen");

    put_be32(b, NFTA_NG_DREG, NFT_REG_1);
    put_be32(b, NFTA_NG_MODULUS, mod);
    put_be32(b, NFTA_NG_TYPE, NFT_NG_RANDOM);
    expr_end(b, e);
}

/* [ meta load l4proto => reg 1 ] */
void
px_nl_meta_l4proto(struct px_batch *b)
{
    struct nlattr *e = expr_begin(b, "meta");

    put_be32(b, NFTA_META_DREG, NFT_REG_1);
    put_be32(b, NFTA_META_KEY, NFT_META_L4PROTO);
    expr_end(b, e);
}

/* [ nat dnat ip addr_min reg 1 proto_min reg 2 flags 0x2 ] */
void
px_nl_dnat(struct px_batch *b)
{
    struct nlattr *e = expr_begin(b, "nat");

    put_be32(b, NFTA_NAT_TYPE, NFT_NAT_DNAT);
    put_be32(b, NFTA_NAT_FAMILY, NFPROTO_IPV4);
    put_be32(b, NFTA_NAT_REG_ADDR_MIN, NFT_REG_1);
    put_be32(b, NFTA_NAT_REG_PROTO_MIN, NFT_REG_2);
    put_be32(b, NFTA_NAT_FLAGS, NF_NAT_RANGE_PROTO_SPECIFIED);
    expr_end(b, e);
}

/* ---- sending (on the netns thread) ---- */

/* The kernel's answers up to the ACK of message last: the first error. */
static int
read_acks(struct mnl_socket *nl, uint32_t last, struct sk_err *err)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    int first = 0;

    for (;;) {
        ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
        const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
        int len = (int)n;

        if (n < 0)
            return sk_err_sys(err, errno, "nftables: read the batch's answer");
        for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
            const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

            if (nlh->nlmsg_type != NLMSG_ERROR)
                continue;
            if (e->error && !first)
                first = e->error;
            /* BATCH_BEGIN/END refused (no permission, no nf_tables):
             * nothing after it will be answered. */
            if (e->error && (nlh->nlmsg_seq == 0 || nlh->nlmsg_seq > last))
                return sk_err_sys(err, -e->error, "nftables: batch refused");
            if (nlh->nlmsg_seq == last)
                return first ? sk_err_sys(err, -first, "nftables: batch refused") : 0;
        }
    }
}

/* BATCH_BEGIN or BATCH_END (type) with seq at out's end. */
static void
put_batch_mark(struct sk_buf *out, int type, uint32_t seq)
{
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(out->data + out->len);
    struct nfgenmsg *nfg;

    nlh->nlmsg_type = (uint16_t)type;
    nlh->nlmsg_flags = NLM_F_REQUEST;
    nlh->nlmsg_seq = seq;
    nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
    nfg->nfgen_family = AF_UNSPEC;
    nfg->version = NFNETLINK_V0;
    nfg->res_id = htons(NFNL_SUBSYS_NFTABLES);
    out->len += NLMSG_ALIGN(nlh->nlmsg_len);
}

/* The datagram: b's messages between the batch marks, the last one
 * asking for an ACK (see the top of the file). */
static void
frame_batch(const struct px_batch *b, struct sk_buf *out)
{
    sk_buf_grow(out, b->msg.len + 2 * MSG_MAX);
    put_batch_mark(out, NFNL_MSG_BATCH_BEGIN, 0);
    memcpy(out->data + out->len, b->msg.data, b->msg.len);
    ((struct nlmsghdr *)(out->data + out->len + b->last_off))->nlmsg_flags |= NLM_F_ACK;
    out->len += b->msg.len;
    put_batch_mark(out, NFNL_MSG_BATCH_END, b->seq + 1);
}

int
px_batch_commit(struct px_batch *b, struct mnl_socket *nl, struct sk_err *err)
{
    const char *p = b->msg.data, *last = NULL;
    struct sk_buf out = SK_BUF_INIT;
    size_t off = 0;
    int size, rc;

    if (b->n == 0)
        return 0;
    /* Find the last message (they are not all the same size). */
    while (off < b->msg.len) {
        const struct nlmsghdr *nlh = (const void *)(p + off);

        last = p + off;
        off += NLMSG_ALIGN(nlh->nlmsg_len);
    }
    b->last_off = (size_t)(last - p);
    frame_batch(b, &out);
    /* A big change is one big datagram: make the socket take it (root
     * may exceed net.core.wmem_max). */
    size = (int)out.len + 65536;
    if (out.len > 65536)
        setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size));
    if (mnl_socket_sendto(nl, out.data, out.len) < 0)
        rc = sk_err_sys(err, errno, "nftables: send a batch of %zu messages", b->n);
    else
        rc = read_acks(nl, b->seq, err);
    sk_buf_release(&out);
    return rc;
}

/* ---- endpoint maps and the hairpin set ---- */

/* libnftables' set user data is a list of TLVs {u8 type, u8 len,
 * value}, integers in host order (libnftnl's nftnl_udata). */
static size_t
udata_u32(uint8_t *p, uint8_t type, uint32_t v)
{
    p[0] = type;
    p[1] = 4;
    memcpy(p + 2, &v, 4);
    return 6;
}

/* Wrap the n bytes written at p + 2 as a TLV of type. */
static size_t
udata_nest(uint8_t *p, uint8_t type, size_t n)
{
    p[0] = type;
    p[1] = (uint8_t)n;
    return n + 2;
}

/* A payload field as "typeof" records it: expression 7 (payload), its
 * protocol description and field. */
static size_t
udata_payload(uint8_t *p, uint8_t type, uint32_t desc, uint32_t field)
{
    size_t n = udata_u32(p + 2, 0, 7), m;

    m = udata_u32(p + 4 + n, 0, desc);
    m += udata_u32(p + 4 + n + m, 1, field);
    n += udata_nest(p + 2 + n, 1, m);
    return udata_nest(p, type, n);
}

/* The user data libnftables 1.0.6 writes for "typeof numgen random mod
 * 65536 : ip daddr . th dport; flags interval" (read with `nft
 * --debug=mnl`): key in host order, the key's typeof (numgen: type
 * random, modulus, offset 0) and the data's (a concatenation of the
 * payload fields ip daddr and th dport); `nft list` prints from it. */
static size_t
eps_map_udata(uint8_t *p)
{
    size_t n = 0, m, k;

    n += udata_u32(p + n, 0, 1);     /* NFTNL_UDATA_SET_KEYBYTEORDER: host */
    n += udata_u32(p + n, 1, 0);     /* ..._DATABYTEORDER */
    m = udata_u32(p + n + 2, 0, 23); /* numgen */
    k = udata_u32(p + n + 4 + m, 0, NFT_NG_RANDOM);
    k += udata_u32(p + n + 4 + m + k, 1, PX_SLOTS);
    k += udata_u32(p + n + 4 + m + k, 2, 0);
    m += udata_nest(p + n + 2 + m, 1, k);
    n += udata_nest(p + n, 3, m);                    /* ..._KEY_TYPEOF */
    m = udata_u32(p + n + 2, 0, 13);                 /* concat */
    k = udata_payload(p + n + 4 + m, 0, 12, 12);     /* ip daddr */
    k += udata_payload(p + n + 4 + m + k, 1, 11, 2); /* th dport */
    m += udata_nest(p + n + 2 + m, 1, k);
    n += udata_nest(p + n, 4, m); /* ..._DATA_TYPEOF */
    n += udata_u32(p + n, 6, 0);
    return n;
}

void
px_nl_eps_map(struct px_batch *b, enum px_op op, const char *name)
{
    uint8_t udata[128];
    struct nlmsghdr *nlh;

    if (op != PX_ADD) {
        nlh = msg_begin(b, NFT_MSG_DELSET, 0);
        mnl_attr_put_strz(nlh, NFTA_SET_TABLE, NET_PROXY_TABLE);
        mnl_attr_put_strz(nlh, NFTA_SET_NAME, name);
        msg_end(b, nlh);
        trace(b, "delete map %s", name);
        return;
    }
    nlh = msg_begin(b, NFT_MSG_NEWSET, NLM_F_CREATE);
    mnl_attr_put_strz(nlh, NFTA_SET_TABLE, NET_PROXY_TABLE);
    mnl_attr_put_strz(nlh, NFTA_SET_NAME, name);
    mnl_attr_put_u32(nlh, NFTA_SET_FLAGS, htonl(NFT_SET_MAP | NFT_SET_INTERVAL));
    mnl_attr_put_u32(nlh, NFTA_SET_KEY_TYPE, htonl(4)); /* nft's TYPE_INTEGER */
    mnl_attr_put_u32(nlh, NFTA_SET_KEY_LEN, htonl(4));
    /* nft's concatenated type: TYPE_IPADDR (7) << 6 | TYPE_INET_SERVICE (13) */
    mnl_attr_put_u32(nlh, NFTA_SET_DATA_TYPE, htonl(7 << 6 | 13));
    mnl_attr_put_u32(nlh, NFTA_SET_DATA_LEN, htonl(8));
    mnl_attr_put_u32(nlh, NFTA_SET_ID, htonl(++b->set_id));
    mnl_attr_put(nlh, NFTA_SET_USERDATA, eps_map_udata(udata), udata);
    msg_end(b, nlh);
    trace(b, "add map %s", name);
}

/* A key of 4 bytes: the slice bound in network order, as the rule's
 * byteorder expression turns numgen's result before the lookup. */
static void
put_range_elem(struct nlmsghdr *nlh, enum px_op op, uint32_t key, const struct px_ep *ep)
{
    struct nlattr *elem = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
    uint8_t data[8] = {0};
    uint16_t port;

    key = htonl(key);
    if (!ep)
        mnl_attr_put_u32(nlh, NFTA_SET_ELEM_FLAGS, htonl(NFT_SET_ELEM_INTERVAL_END));
    put_value(nlh, NFTA_SET_ELEM_KEY, &key, 4);
    if (ep && op == PX_ADD) {
        port = htons((uint16_t)ep->port);
        memcpy(data, ep->ip.a, 4);
        memcpy(data + 4, &port, 2);
        put_value(nlh, NFTA_SET_ELEM_DATA, data, 8);
    }
    mnl_attr_nest_end(nlh, elem);
}

/* Ranges per message: each is two elements of under 64 bytes, so a
 * message stays well inside MSG_MAX. */
#define RANGES_PER_MSG 24

void
px_nl_ranges(struct px_batch *b, enum px_op op, const char *map, const struct px_range *r, size_t n)
{
    char ip[NET_IP_STRLEN];
    size_t i, j;

    for (i = 0; i < n; i += RANGES_PER_MSG) {
        struct nlmsghdr *nlh = msg_begin(b, op == PX_ADD ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM,
                                         op == PX_ADD ? NLM_F_CREATE : 0);
        struct nlattr *list;

        mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, NET_PROXY_TABLE);
        mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, map);
        list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
        sk_buf_printf(&b->trace, "%s element %s", op == PX_ADD ? "add" : "delete", map);
        for (j = i; j < n && j < i + RANGES_PER_MSG; j++) {
            /* A slice is its start and, one past its end, an end mark
             * (nft_rbtree; the next slice starts at the same key). */
            put_range_elem(nlh, op, r[j].lo, r[j].ep);
            put_range_elem(nlh, op, r[j].hi + 1, NULL);
            sk_buf_printf(&b->trace, "%s %u-%u : %s . %u", j > i ? "," : "", r[j].lo, r[j].hi,
                          net_ip_format(&r[j].ep->ip, ip, sizeof(ip)), r[j].ep->port);
        }
        sk_buf_putc(&b->trace, '\n');
        mnl_attr_nest_end(nlh, list);
        msg_end(b, nlh);
    }
}

void
px_nl_hairpin(struct px_batch *b, enum px_op op, const struct net_ip *ip)
{
    struct nlmsghdr *nlh = msg_begin(b, op == PX_ADD ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM,
                                     op == PX_ADD ? NLM_F_CREATE : 0);
    struct nlattr *list, *elem;
    char s[NET_IP_STRLEN];
    uint8_t key[8];

    memcpy(key, ip->a, 4);
    memcpy(key + 4, ip->a, 4);
    mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, NET_PROXY_TABLE);
    mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, "hairpin");
    list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
    elem = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
    put_value(nlh, NFTA_SET_ELEM_KEY, key, 8);
    mnl_attr_nest_end(nlh, elem);
    mnl_attr_nest_end(nlh, list);
    msg_end(b, nlh);
    net_ip_format(ip, s, sizeof(s));
    trace(b, "%s element hairpin %s . %s", op == PX_ADD ? "add" : "delete", s, s);
}

/* As libnftables generates "meta l4proto P dnat ip to numgen random mod
 * 65536 map @m" (after the meta and cmp the caller adds): the numgen
 * result turned to network order for the interval lookup, whose data
 * (address . port) lands in reg 1 and its second word, reg 9. */
void
px_nl_dnat_map(struct px_batch *b, const char *map)
{
    struct nlattr *e;

    e = expr_begin(b, "numgen");
    put_be32(b, NFTA_NG_DREG, NFT_REG_1);
    put_be32(b, NFTA_NG_MODULUS, PX_SLOTS);
    put_be32(b, NFTA_NG_TYPE, NFT_NG_RANDOM);
    put_be32(b, NFTA_NG_OFFSET, 0);
    expr_end(b, e);
    e = expr_begin(b, "byteorder");
    put_be32(b, NFTA_BYTEORDER_SREG, NFT_REG_1);
    put_be32(b, NFTA_BYTEORDER_DREG, NFT_REG_1);
    put_be32(b, NFTA_BYTEORDER_OP, NFT_BYTEORDER_HTON);
    put_be32(b, NFTA_BYTEORDER_LEN, 4);
    put_be32(b, NFTA_BYTEORDER_SIZE, 4);
    expr_end(b, e);
    e = expr_begin(b, "lookup");
    mnl_attr_put_strz(b->rule, NFTA_LOOKUP_SET, map);
    put_be32(b, NFTA_LOOKUP_SREG, NFT_REG_1);
    put_be32(b, NFTA_LOOKUP_DREG, NFT_REG_1);
    expr_end(b, e);
    sk_buf_printf(&b->trace, " @%s", map);
    e = expr_begin(b, "nat");
    put_be32(b, NFTA_NAT_TYPE, NFT_NAT_DNAT);
    put_be32(b, NFTA_NAT_FAMILY, NFPROTO_IPV4);
    put_be32(b, NFTA_NAT_REG_ADDR_MIN, NFT_REG_1);
    put_be32(b, NFTA_NAT_REG_PROTO_MIN, NFT_REG32_01);
    expr_end(b, e);
}
