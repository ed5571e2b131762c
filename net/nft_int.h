/* net/nft_int.h: nf_tables netlink sockets (net/nft.c), for the proxy's
 * batches (proxy_nl.c) and the generation checks. */
#ifndef SKIFF_NET_NFT_INT_H
#define SKIFF_NET_NFT_INT_H

#include "lib/err.h"

#include <stdint.h>

struct mnl_socket;

/* An nf_tables netlink socket in netns_fd (-1: the caller's), for
 * px_batch_commit and net_nft_sock_genid from any thread. After a
 * failure of either, close it (answers may be left unread). */
int net_nft_sock_open(int netns_fd, struct mnl_socket **out, struct sk_err *err);
void net_nft_sock_close(struct mnl_socket *nl);
/* The ruleset generation id (NFT_MSG_GETGEN). */
int net_nft_sock_genid(struct mnl_socket *nl, uint32_t *gen, struct sk_err *err);

#endif
