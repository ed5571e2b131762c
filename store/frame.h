#ifndef SK_STORE_FRAME_H
#define SK_STORE_FRAME_H

/* Private to store/: the peer protocol's frames and their payloads (the
 * wire format is documented at the top of frame.c), and the handshake's
 * HMAC. Pure functions, no I/O: transport.c moves the bytes. */

#include "store/raft.h"

#include "lib/buf.h"
#include "lib/err.h"

#include <stddef.h>
#include <stdint.h>

#define FRAME_HEADER_SIZE 16
#define FRAME_VERSION     1
#define FRAME_MAX_PAYLOAD (64u << 20)
#define FRAME_NONCE_SIZE  32
#define FRAME_MAC_SIZE    32
#define FRAME_NAME_MAX    63
#define FRAME_ADDR_MAX    127

enum frame_type {
    FRAME_HELLO = 1,          /* handshake: who I am and my nonce */
    FRAME_AUTH = 2,           /* handshake: proof of the cluster secret */
    FRAME_RAFT = 3,           /* one struct raft_msg */
    FRAME_FWD_WRITE = 4,      /* a follower forwards a command to the leader */
    FRAME_FWD_WRITE_RESP = 5, /* the leader's ticket for it (or an error) */
    FRAME_FWD_READ = 6,       /* a follower asks the leader for a read index */
    FRAME_FWD_READ_RESP = 7,  /* */
    FRAME_SNAP_CHUNK = 8,     /* a piece of a snapshot file (InstallSnapshot) */
    FRAME_FWD_STATUS = 9,     /* a follower asks the leader for its progress table */
    FRAME_FWD_STATUS_RESP = 10,
    FRAME_TYPE_MAX = 10,
};

/* Fill the 16-byte header for a payload. */
void frame_header_encode(unsigned char *hdr, uint8_t type, const void *payload, uint32_t len);
/* Check magic, version, type and length; *len gets the payload length. */
int frame_header_decode(const unsigned char *hdr, uint8_t *type, uint32_t *len, uint32_t *crc,
                        struct sk_err *err);
/* Check the payload against the header's crc. */
int frame_payload_check(const void *payload, uint32_t len, uint32_t crc, struct sk_err *err);

/* HELLO: u64 id | nonce | u8 name_len | name | u8 addr_len | addr */
struct frame_hello {
    uint64_t id;
    unsigned char nonce[FRAME_NONCE_SIZE];
    char name[FRAME_NAME_MAX + 1];
    char addr[FRAME_ADDR_MAX + 1]; /* the sender's peer-listen address */
};

void frame_hello_encode(struct sk_buf *out, const struct frame_hello *h);
int frame_hello_decode(const unsigned char *p, size_t len, struct frame_hello *h,
                       struct sk_err *err);

/* The handshake proof: HMAC-SHA256 with the cluster secret over
 * "skiff-peer-1" | role ('C' dialer, 'S' listener) | dialer nonce |
 * listener nonce | dialer id | listener id. Role and both nonces make a
 * proof useless for any other connection or direction. */
void frame_auth_mac(const void *secret, size_t secret_len, char role,
                    const struct frame_hello *dialer, const struct frame_hello *listener,
                    unsigned char mac[FRAME_MAC_SIZE]);
/* Constant-time comparison of two MACs: 1 if equal. */
int frame_mac_equal(const unsigned char *a, const unsigned char *b);

/* RAFT: the message, entries and snapshot metadata included. */
void frame_msg_encode(struct sk_buf *out, const struct raft_msg *m);
/* Decode into m; m->entries is allocated (data points into p: valid as
 * long as p is). Release with frame_msg_release. */
int frame_msg_decode(const unsigned char *p, size_t len, struct raft_msg *m, struct sk_err *err);
void frame_msg_release(struct raft_msg *m);

#endif
