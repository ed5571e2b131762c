#ifndef SK_NET_NL_INT_H
#define SK_NET_NL_INT_H

/* Private to net/: the request/response machinery shared by nl_link.c,
 * nl_addr.c and nl_route.c. */

#include "net/net.h"

#include <libmnl/libmnl.h>
#include <linux/netlink.h>

/* Receive buffer size: a dump message from the kernel may be as large
 * as a page plus headers (netlink_dump allocates up to 32 KiB when the
 * reader's buffer allows it), and a short buffer truncates (MSG_TRUNC). */
#define NL_RECV_SIZE 32768
/* Send buffer: every request we build fits easily. */
#define NL_SEND_SIZE 8192

/* Requests one burst holds (nl_batch_begin), and the room for each
 * one's description in error messages. */
#define NL_BATCH_MAX 8
#define NL_WHAT_SIZE 192
/* A burst's requests together stay below this many bytes of sbuf, so
 * the last one still has NL_SEND_SIZE - NL_BATCH_ROOM for itself. */
#define NL_BATCH_ROOM 4096

struct nl_batch {
    bool on;       /* nl_talk queues requests instead of exchanging */
    size_t len;    /* bytes queued in sbuf */
    unsigned n;    /* requests queued */
    unsigned seq0; /* sequence number of the first */
    char what[NL_BATCH_MAX][NL_WHAT_SIZE];
};

struct nl_sock {
    struct mnl_socket *mnl;
    unsigned portid;
    unsigned seq;
    char *sbuf;             /* NL_SEND_SIZE, owned */
    char *rbuf;             /* NL_RECV_SIZE, owned */
    struct nl_batch *batch; /* owned, allocated by the first burst */
};

/* Start a request of type with flags (NLM_F_REQUEST is added) in the
 * send buffer, with a fresh sequence number; the family header follows
 * with mnl_nlmsg_put_extra_header. */
struct nlmsghdr *nl_msg_start(struct nl_sock *nl, uint16_t type, uint16_t flags);

/* Send nlh and read the answers until the ack (or NLMSG_DONE of a
 * dump), passing data messages to cb. An error reply or a failing cb
 * becomes "<what>: <strerror>[: <kernel extended ack message>]". */
int nl_talk(struct nl_sock *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data, const char *what,
            struct sk_err *err);

/* A burst: between nl_batch_begin and nl_batch_run, the nl_* calls
 * that make one request and read nothing but its ack (set up/down,
 * alias, MAC, MTU, hairpin by index, address and route add by index)
 * queue it instead of exchanging it, and return 0. nl_batch_run sends
 * them all in one sendmsg and reads every ack: the kernel handles the
 * requests in order and acks each, also after one failed
 * (netlink_rcv_skb goes on with the next message), so the first failure
 * in queue order is the error reported, "<what>: <strerror>[: ...]",
 * after all acks are read. A call that needs an answer (a lookup) in
 * a burst is a bug. nl_batch_cancel drops what was queued (a request
 * that could not be built). */
void nl_batch_begin(struct nl_sock *nl);
int nl_batch_run(struct nl_sock *nl, struct sk_err *err);
void nl_batch_cancel(struct nl_sock *nl);

/* Dump request type for family: the family header (ifinfomsg,
 * ifaddrmsg, rtmsg: all start with their family byte) of hdrlen bytes
 * is zeroed but for the family. A dump that raced with a change comes
 * back marked NLM_F_DUMP_INTR (nl_talk: -EAGAIN) and may be
 * inconsistent, so it is started again, up to three times; *count (the
 * callback's list length) is reset before each attempt. */
int nl_dump(struct nl_sock *nl, uint16_t type, uint8_t family, size_t hdrlen, mnl_cb_t cb,
            void *data, size_t *count, const char *what, struct sk_err *err);

/* Decode one buffer of replies (what nl_talk does with each recv):
 * returns 0 when the exchange is complete, 1 when more messages are
 * expected, <0 with err filled on an error reply or malformed input.
 * Exposed for tests with fabricated replies. */
int nl_reply_run(const void *buf, size_t len, unsigned seq, unsigned portid, mnl_cb_t cb,
                 void *data, const char *what, struct sk_err *err);

/* Append the attribute, failing (instead of overflowing) when the send
 * buffer is full; names are checked against IF_NAMESIZE by callers. */
int nl_put_name(struct nlmsghdr *nlh, uint16_t type, const char *name, struct sk_err *err);

/* Check an interface name: 1..IF_NAMESIZE-1 bytes, no '/', ':' or
 * white space (the kernel's dev_valid_name rules). */
int nl_check_ifname(const char *name, struct sk_err *err);

/* What a new veth pair is born with: the host end name, in the
 * socket's netns, with MTU (0: the default) and bridge master (ifindex,
 * 0: none); the peer in peer_netns_fd (-1: the same netns) with its
 * MAC (NULL: random) and the same MTU; the host end up if asked, the
 * peer down (veth_open fails with ENOTCONN while its own peer is not
 * registered yet, which is when veth_newlink configures it). One
 * RTM_NEWLINK: the kernel creates both ends or none, and unregisters
 * the pair again if the master cannot be set (rtnl_newlink_create). */
struct nl_veth {
    const char *name;
    const char *peer;
    int peer_netns_fd;
    const uint8_t *peer_mac;
    unsigned mtu;
    int master;
    bool up;
    /* If not NULL: the host end as created, from the kernel's echo of
     * the request (NLM_F_ECHO, honoured by rtnl_newlink since Linux
     * 6.3); index 0 when the kernel sent none. */
    struct nl_link *echo;
};

int nl_link_add_veth_full(struct nl_sock *nl, const struct nl_veth *v, struct sk_err *err);

/* The bridge port flag of nl_link_set_hairpin on the link with ifindex
 * (name only for messages): no lookup, so it may go in a burst. */
int nl_link_set_hairpin_index(struct nl_sock *nl, const char *name, int index, bool on,
                              struct sk_err *err);

/* nl_addr_add on the link with ifindex (dev only for messages). */
int nl_addr_add_index(struct nl_sock *nl, const char *dev, int index, const struct net_cidr *addr,
                      const struct net_ip *brd, unsigned flags, struct sk_err *err);

/* fn(arg) on a thread inside the netns of netns_fd, beside the caller:
 * net_netns_spawn starts it, net_netns_join waits for it and returns
 * its result (0 for a NULL task). For work that has to happen inside
 * the netns and that nothing waits for (sysctl writes). Every spawned
 * task must be joined. */
struct net_netns_task;

int net_netns_spawn(struct net_netns_task **out, int netns_fd,
                    int (*fn)(void *arg, struct sk_err *err), void *arg, struct sk_err *err);
int net_netns_join(struct net_netns_task *t, struct sk_err *err);

/* nl_sock_open_netns by switching the calling thread into the netns
 * and back around socket() (netns.c says why that is safe there). */
int nl_sock_open_in(struct nl_sock **out, int netns_fd, struct sk_err *err);

/* The length in bytes of an address of family (4 or 16), 0 if unknown. */
size_t nl_family_len(int family);

#endif
