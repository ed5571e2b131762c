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

struct nl_sock {
    struct mnl_socket *mnl;
    unsigned portid;
    unsigned seq;
    char *sbuf; /* NL_SEND_SIZE, owned */
    char *rbuf; /* NL_RECV_SIZE, owned */
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

/* The length in bytes of an address of family (4 or 16), 0 if unknown. */
size_t nl_family_len(int family);

#endif
