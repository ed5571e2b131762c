/* nftables through libnftables, nf_tables netlink sockets and the
 * ruleset generation id, run on a thread inside a network namespace
 * (net_netns_run); shared by the service proxy (proxy.c, proxy_nl.c)
 * and the masquerade table (masq.c). */
#include "net/net.h"
#include "net/nft_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <nftables/libnftables.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

struct nft_job {
    const char *cmd; /* an nft script */
    struct sk_buf *out;
};

static int
nft_job_fn(void *arg, struct sk_err *err)
{
    struct nft_job *job = arg;
    struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
    const char *msg;
    int rc = 0;

    if (!ctx)
        return sk_err_set(err, ENOMEM, "nftables: cannot create a context");
    nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_STATELESS);
    if (nft_ctx_buffer_output(ctx) < 0 || nft_ctx_buffer_error(ctx) < 0) {
        rc = sk_err_set(err, ENOMEM, "nftables: cannot buffer output");
        goto out_free;
    }
    if (nft_run_cmd_from_buffer(ctx, job->cmd) != 0) {
        msg = nft_ctx_get_error_buffer(ctx);
        /* The first line of libnftables' message says what failed. */
        rc = sk_err_set(err, strstr(msg, "No such file") ? ENOENT : EINVAL, "nftables: %.*s",
                        (int)strcspn(msg, "\n"), msg);
        goto out_free;
    }
    if (job->out)
        sk_buf_puts(job->out, nft_ctx_get_output_buffer(ctx));
out_free:
    nft_ctx_free(ctx);
    return rc;
}

int
net_nft_run(int netns_fd, const char *cmd, struct sk_buf *out, struct sk_err *err)
{
    struct nft_job job = {cmd, out};

    return net_netns_run(netns_fd, nft_job_fn, &job, err);
}

/* The socket is opened on a thread inside the netns (a netlink socket
 * belongs to the netns it was created in) and then used from any
 * thread. It is kept for the proxy's life: closing an nf_tables socket
 * waits for the release of the objects the last commit dropped
 * (nft_rcv_nl_event flushes the destroy work, an RCU grace period),
 * which was 4 ms per close, most of a one-endpoint change. */
static int
open_fn(void *arg, struct sk_err *err)
{
    struct timeval tv = {10, 0};
    struct mnl_socket *nl;
    int one = 1;

    nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
    if (!nl)
        return sk_err_sys(err, errno, "nftables: open netlink socket");
    if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
        sk_err_sys(err, errno, "nftables: bind netlink socket");
        mnl_socket_close(nl);
        return -EIO;
    }
    /* Errors without the request echoed; a bound wait for the answer. */
    mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));
    setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    *(struct mnl_socket **)arg = nl;
    return 0;
}

int
net_nft_sock_open(int netns_fd, struct mnl_socket **out, struct sk_err *err)
{
    *out = NULL;
    return net_netns_run(netns_fd, open_fn, out, err);
}

void
net_nft_sock_close(struct mnl_socket *nl)
{
    if (nl)
        mnl_socket_close(nl);
}

static int
gen_cb(const struct nlmsghdr *nlh, void *data)
{
    struct nlattr *attr;

    mnl_attr_for_each(attr, nlh, sizeof(struct nfgenmsg))
    {
        if (mnl_attr_get_type(attr) == NFTA_GEN_ID && mnl_attr_validate(attr, MNL_TYPE_U32) >= 0)
            *(uint32_t *)data = ntohl(mnl_attr_get_u32(attr));
    }
    return MNL_CB_OK;
}

int
net_nft_sock_genid(struct mnl_socket *nl, uint32_t *gen, struct sk_err *err)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    struct nfgenmsg *nfg;
    ssize_t n;

    nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN;
    nlh->nlmsg_flags = NLM_F_REQUEST;
    nlh->nlmsg_seq = 1;
    nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
    nfg->nfgen_family = AF_UNSPEC;
    nfg->version = NFNETLINK_V0;
    nfg->res_id = 0;
    if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
        return sk_err_sys(err, errno, "nftables: ask for the ruleset generation");
    n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
    if (n < 0 || mnl_cb_run(buf, (size_t)n, 1, mnl_socket_get_portid(nl), gen_cb, gen) < 0)
        return sk_err_sys(err, errno, "nftables: read the ruleset generation");
    return 0;
}

static int
gen_fn(void *arg, struct sk_err *err)
{
    struct mnl_socket *nl = NULL;
    int rc;

    if (open_fn(&nl, err) < 0)
        return -EIO;
    rc = net_nft_sock_genid(nl, arg, err);
    net_nft_sock_close(nl);
    return rc;
}

int
net_nft_genid(int netns_fd, uint32_t *gen, struct sk_err *err)
{
    return net_netns_run(netns_fd, gen_fn, gen, err);
}
