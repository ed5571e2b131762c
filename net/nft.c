/* nftables through libnftables and the ruleset generation id, run on a
 * thread inside a network namespace (net_netns_run); shared by the
 * service proxy (proxy.c) and the masquerade table (masq.c). */
#include "net/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <nftables/libnftables.h>
#include <string.h>

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

/* NFT_MSG_GETGEN in the calling thread's netns. */
static int
gen_fn(void *arg, struct sk_err *err)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct mnl_socket *nl;
    struct nlmsghdr *nlh;
    struct nfgenmsg *nfg;
    unsigned portid;
    ssize_t n;
    int rc = 0;

    nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
    if (!nl)
        return sk_err_sys(err, errno, "nftables: open netlink socket");
    if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
        rc = sk_err_sys(err, errno, "nftables: bind netlink socket");
        goto out_close;
    }
    portid = mnl_socket_get_portid(nl);
    nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN;
    nlh->nlmsg_flags = NLM_F_REQUEST;
    nlh->nlmsg_seq = 1;
    nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
    nfg->nfgen_family = AF_UNSPEC;
    nfg->version = NFNETLINK_V0;
    nfg->res_id = 0;
    if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
        rc = sk_err_sys(err, errno, "nftables: ask for the ruleset generation");
        goto out_close;
    }
    n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
    if (n < 0 || mnl_cb_run(buf, (size_t)n, 1, portid, gen_cb, arg) < 0)
        rc = sk_err_sys(err, errno, "nftables: read the ruleset generation");
out_close:
    mnl_socket_close(nl);
    return rc;
}

int
net_nft_genid(int netns_fd, uint32_t *gen, struct sk_err *err)
{
    return net_netns_run(netns_fd, gen_fn, gen, err);
}
