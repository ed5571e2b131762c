/* net/nl.c: the netlink route socket and the request/ack exchange.
 *
 * Every request carries NLM_F_ACK, so the kernel answers each one with
 * an NLMSG_ERROR message (error 0 is the ack). With NETLINK_EXT_ACK the
 * kernel appends attributes after the struct nlmsgerr (flag
 * NLM_F_ACK_TLVS), NLMSGERR_ATTR_MSG being a human message such as
 * "Nexthop has invalid gateway". With NETLINK_CAP_ACK (flag
 * NLM_F_CAPPED) the echoed request is cut to its header; without it the
 * whole request is echoed and the attributes follow it. */
#include "net/nl_int.h"

#include "lib/alloc.h"
#include "lib/buf.h"

#include <ctype.h>
#include <errno.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* What one exchange learned, shared by the data and control callbacks. */
struct nl_ctx {
    mnl_cb_t cb;
    void *data;
    int code;       /* errno from an error reply, 0 if none */
    bool cb_failed; /* the data callback refused a message */
    char ext[256];  /* NLMSGERR_ATTR_MSG, "" if none */
};

int
nl_sock_open(struct nl_sock **out, struct sk_err *err)
{
    struct nl_sock *nl;
    int one = 1, rc;

    *out = NULL;
    nl = sk_calloc(1, sizeof(*nl));
    nl->mnl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
    if (!nl->mnl) {
        rc = sk_err_sys(err, errno, "open netlink route socket");
        goto out_free;
    }
    if (mnl_socket_bind(nl->mnl, 0, MNL_SOCKET_AUTOPID) < 0) {
        rc = sk_err_sys(err, errno, "bind netlink route socket");
        goto out_free;
    }
    /* Both options are best effort: older kernels simply send plain
     * errors and full echoes, which nl_reply_run handles too. */
    mnl_socket_setsockopt(nl->mnl, NETLINK_EXT_ACK, &one, sizeof(one));
    mnl_socket_setsockopt(nl->mnl, NETLINK_CAP_ACK, &one, sizeof(one));
    nl->portid = mnl_socket_get_portid(nl->mnl);
    nl->seq = (unsigned)time(NULL);
    nl->sbuf = sk_malloc(NL_SEND_SIZE);
    nl->rbuf = sk_malloc(NL_RECV_SIZE);
    *out = nl;
    return 0;
out_free:
    nl_sock_free(nl);
    return rc;
}

void
nl_sock_free(struct nl_sock *nl)
{
    if (!nl)
        return;
    if (nl->mnl)
        mnl_socket_close(nl->mnl);
    free(nl->sbuf);
    free(nl->rbuf);
    free(nl->batch);
    free(nl);
}

struct nlmsghdr *
nl_msg_start(struct nl_sock *nl, uint16_t type, uint16_t flags)
{
    size_t off = nl->batch && nl->batch->on ? nl->batch->len : 0;
    struct nlmsghdr *nlh;

    /* A burst's requests follow each other in sbuf (nl_talk keeps
     * batch->len below NL_BATCH_ROOM). */
    memset(nl->sbuf + off, 0, NL_SEND_SIZE - off);
    nlh = mnl_nlmsg_put_header(nl->sbuf + off);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST | flags;
    nlh->nlmsg_seq = ++nl->seq;
    return nlh;
}

static int
on_ext_attr(const struct nlattr *attr, void *data)
{
    struct nl_ctx *ctx = data;

    if (mnl_attr_type_valid(attr, NLMSGERR_ATTR_MAX) < 0)
        return MNL_CB_OK;
    if (mnl_attr_get_type(attr) != NLMSGERR_ATTR_MSG)
        return MNL_CB_OK;
    if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
        return MNL_CB_OK; /* a garbled hint is dropped, the errno stays */
    sk_strlcpy(ctx->ext, mnl_attr_get_str(attr), sizeof(ctx->ext));
    return MNL_CB_OK;
}

/* The offset of the extended ack attributes from the payload start. */
static size_t
ext_ack_offset(const struct nlmsghdr *nlh, const struct nlmsgerr *e)
{
    size_t off = sizeof(*e);

    if (!(nlh->nlmsg_flags & NLM_F_CAPPED) && e->msg.nlmsg_len > sizeof(struct nlmsghdr))
        off += NLMSG_ALIGN(e->msg.nlmsg_len - sizeof(struct nlmsghdr));
    return off;
}

static int
on_error_msg(const struct nlmsghdr *nlh, void *data)
{
    struct nl_ctx *ctx = data;
    const struct nlmsgerr *e;
    size_t off;

    if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
        errno = EBADMSG;
        return MNL_CB_ERROR;
    }
    e = mnl_nlmsg_get_payload(nlh);
    if (e->error == 0)
        return MNL_CB_STOP; /* the ack */
    if (e->error > 0 || e->error < -4095) {
        errno = EBADMSG;
        return MNL_CB_ERROR;
    }
    ctx->code = -e->error;
    if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
        off = ext_ack_offset(nlh, e);
        if (mnl_nlmsg_size(off) < nlh->nlmsg_len)
            mnl_attr_parse(nlh, (unsigned)off, on_ext_attr, ctx);
    }
    errno = ctx->code;
    return MNL_CB_ERROR;
}

/* NLMSG_DONE ends a dump; its payload is an int that is negative when
 * the dump failed part-way (e.g. -EINTR). */
static int
on_done_msg(const struct nlmsghdr *nlh, void *data)
{
    struct nl_ctx *ctx = data;
    int code;

    if (mnl_nlmsg_get_payload_len(nlh) < sizeof(int))
        return MNL_CB_STOP;
    memcpy(&code, mnl_nlmsg_get_payload(nlh), sizeof(code));
    if (code >= 0)
        return MNL_CB_STOP;
    ctx->code = code < -4095 ? EBADMSG : -code;
    errno = ctx->code;
    return MNL_CB_ERROR;
}

static int
on_noop_msg(const struct nlmsghdr *nlh, void *data)
{
    return MNL_CB_OK;
}

static int
on_overrun_msg(const struct nlmsghdr *nlh, void *data)
{
    errno = ENOBUFS;
    return MNL_CB_ERROR;
}

static int
on_data_msg(const struct nlmsghdr *nlh, void *data)
{
    struct nl_ctx *ctx = data;
    int rc;

    if (!ctx->cb)
        return MNL_CB_OK;
    errno = 0;
    rc = ctx->cb(nlh, ctx->data);
    if (rc == MNL_CB_ERROR)
        ctx->cb_failed = true;
    return rc;
}

static int
report(const struct nl_ctx *ctx, int sys_errno, const char *what, struct sk_err *err)
{
    if (ctx->code && ctx->ext[0])
        return sk_err_set(err, ctx->code, "%s: %s: %s", what, strerror(ctx->code), ctx->ext);
    if (ctx->code)
        return sk_err_set(err, ctx->code, "%s: %s", what, strerror(ctx->code));
    if (ctx->cb_failed)
        return sk_err_sys(err, sys_errno ? sys_errno : EBADMSG, "%s: bad reply from the kernel",
                          what);
    return sk_err_sys(err, sys_errno ? sys_errno : EBADMSG, "%s: bad netlink reply", what);
}

int
nl_reply_run(const void *buf, size_t len, unsigned seq, unsigned portid, mnl_cb_t cb, void *data,
             const char *what, struct sk_err *err)
{
    static const mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
        [NLMSG_NOOP] = on_noop_msg,
        [NLMSG_ERROR] = on_error_msg,
        [NLMSG_DONE] = on_done_msg,
        [NLMSG_OVERRUN] = on_overrun_msg,
    };
    const struct nlmsghdr *first = buf, *nlh;
    struct nl_ctx ctx = {.cb = cb, .data = data};
    int rc, left = (int)len;

    /* A datagram left over from an earlier exchange that ended early
     * (our callback refused part of a dump): skip it whole, since the
     * kernel never mixes two requests' answers in one datagram. */
    if (mnl_nlmsg_ok(first, (int)len) && first->nlmsg_seq != seq)
        return 1;
    /* mnl_cb_run2 stops quietly at a message whose length runs past the
     * datagram; a cut message is an error, not the end of a reply. */
    for (nlh = buf; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left))
        ;
    if (left != 0)
        return sk_err_set(err, EBADMSG, "%s: bad netlink reply: truncated message", what);
    rc = mnl_cb_run2(buf, len, seq, portid, on_data_msg, &ctx, (mnl_cb_t *)ctl, NLMSG_MIN_TYPE);
    if (rc != MNL_CB_ERROR)
        return rc == MNL_CB_STOP ? 0 : 1;
    /* libmnl refuses a message flagged NLM_F_DUMP_INTR (the dump raced
     * with a change and may be inconsistent) with EINTR, before any
     * callback runs: the caller starts the dump again. */
    if (errno == EINTR && !ctx.code && !ctx.cb_failed)
        return sk_err_set(err, EAGAIN, "%s: dump interrupted by concurrent changes", what);
    return report(&ctx, errno, what, err);
}

/* Queue nlh (built by nl_msg_start after the requests already queued). */
static int
batch_queue(struct nl_sock *nl, struct nlmsghdr *nlh, mnl_cb_t cb, const char *what,
            struct sk_err *err)
{
    struct nl_batch *b = nl->batch;

    if (cb)
        SK_BUG("%s: a request with an answer in a netlink burst", what);
    if (b->n == NL_BATCH_MAX || b->len + NLMSG_ALIGN(nlh->nlmsg_len) > NL_BATCH_ROOM)
        return sk_err_set(err, EMSGSIZE, "%s: netlink burst too large", what);
    if (b->n == 0)
        b->seq0 = nlh->nlmsg_seq;
    sk_strlcpy(b->what[b->n++], what, NL_WHAT_SIZE);
    b->len += NLMSG_ALIGN(nlh->nlmsg_len);
    return 0;
}

void
nl_batch_begin(struct nl_sock *nl)
{
    if (!nl->batch)
        nl->batch = sk_malloc(sizeof(*nl->batch));
    nl->batch->on = true;
    nl->batch->len = 0;
    nl->batch->n = 0;
}

void
nl_batch_cancel(struct nl_sock *nl)
{
    if (nl->batch)
        nl->batch->on = false;
}

/* One datagram of acks: each message is the answer to the request
 * whose sequence number it carries; anything else is left over from an
 * earlier exchange and skipped. The first failure in queue order wins
 * (*first: its index, *code: its errno). Returns the acks seen. */
static unsigned
batch_acks(struct nl_sock *nl, size_t len, unsigned *first, int *code, struct sk_err *err)
{
    const struct nl_batch *b = nl->batch;
    const struct nlmsghdr *nlh = (const struct nlmsghdr *)nl->rbuf;
    unsigned i, acks = 0;
    struct sk_err lerr;
    int left = (int)len;

    for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
        i = nlh->nlmsg_seq - b->seq0;
        if (i >= b->n || nlh->nlmsg_type != NLMSG_ERROR)
            continue;
        acks++;
        sk_err_init(&lerr);
        if (nl_reply_run(nlh, nlh->nlmsg_len, nlh->nlmsg_seq, nl->portid, NULL, NULL, b->what[i],
                         &lerr) < 0 &&
            i < *first) {
            *first = i;
            *code = lerr.code > 0 ? lerr.code : EIO;
            sk_err_copy(err, &lerr);
        }
    }
    return acks;
}

int
nl_batch_run(struct nl_sock *nl, struct sk_err *err)
{
    struct nl_batch *b = nl->batch;
    unsigned acks = 0, first;
    int code = 0;
    ssize_t n;

    if (!b || !b->on)
        SK_BUG("nl_batch_run without nl_batch_begin");
    b->on = false;
    first = b->n;
    if (b->n == 0)
        return 0;
    if (mnl_socket_sendto(nl->mnl, nl->sbuf, b->len) < 0)
        return sk_err_sys(err, errno, "%s: send netlink requests", b->what[0]);
    while (acks < b->n) {
        n = mnl_socket_recvfrom(nl->mnl, nl->rbuf, NL_RECV_SIZE);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return sk_err_sys(err, errno, "%s: receive netlink reply", b->what[acks]);
        acks += batch_acks(nl, (size_t)n, &first, &code, err);
    }
    return first < b->n ? -code : 0;
}

int
nl_talk(struct nl_sock *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data, const char *what,
        struct sk_err *err)
{
    ssize_t n;
    int rc;

    if (nl->batch && nl->batch->on)
        return batch_queue(nl, nlh, cb, what, err);
    if (mnl_socket_sendto(nl->mnl, nlh, nlh->nlmsg_len) < 0)
        return sk_err_sys(err, errno, "%s: send netlink request", what);
    for (;;) {
        n = mnl_socket_recvfrom(nl->mnl, nl->rbuf, NL_RECV_SIZE);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return sk_err_sys(err, errno, "%s: receive netlink reply", what);
        rc = nl_reply_run(nl->rbuf, (size_t)n, nlh->nlmsg_seq, nl->portid, cb, data, what, err);
        if (rc <= 0)
            return rc;
    }
}

int
nl_check_ifname(const char *name, struct sk_err *err)
{
    size_t i, len = strlen(name);

    if (len == 0)
        return sk_err_set(err, EINVAL, "empty interface name");
    if (len >= IF_NAMESIZE)
        return sk_err_set(err, EINVAL, "interface name '%s' is longer than %d bytes", name,
                          IF_NAMESIZE - 1);
    if (!strcmp(name, ".") || !strcmp(name, ".."))
        return sk_err_set(err, EINVAL, "bad interface name '%s'", name);
    for (i = 0; i < len; i++) {
        if (name[i] == '/' || name[i] == ':' || isspace((unsigned char)name[i]))
            return sk_err_set(err, EINVAL, "bad interface name '%s'", name);
    }
    return 0;
}

int
nl_put_name(struct nlmsghdr *nlh, uint16_t type, const char *name, struct sk_err *err)
{
    if (nl_check_ifname(name, err) < 0)
        return -EINVAL;
    if (!mnl_attr_put_strz_check(nlh, NL_SEND_SIZE, type, name))
        return sk_err_set(err, EMSGSIZE, "netlink request too large");
    return 0;
}

size_t
nl_family_len(int family)
{
    if (family == AF_INET)
        return 4;
    if (family == AF_INET6)
        return 16;
    return 0;
}

int
nl_dump(struct nl_sock *nl, uint16_t type, uint8_t family, size_t hdrlen, mnl_cb_t cb, void *data,
        size_t *count, const char *what, struct sk_err *err)
{
    struct nlmsghdr *nlh;
    uint8_t *hdr;
    int rc = -EAGAIN, attempt;

    for (attempt = 0; attempt < 3 && rc == -EAGAIN; attempt++) {
        *count = 0;
        nlh = nl_msg_start(nl, type, NLM_F_DUMP);
        hdr = mnl_nlmsg_put_extra_header(nlh, hdrlen);
        hdr[0] = family;
        /* Links without their counters (nothing reads them): a
         * fraction of the kernel's work and of the reply. */
        if (type == RTM_GETLINK)
            mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
        rc = nl_talk(nl, nlh, cb, data, what, err);
    }
    return rc;
}
