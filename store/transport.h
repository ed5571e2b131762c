#ifndef SK_STORE_TRANSPORT_H
#define SK_STORE_TRANSPORT_H

/* Private to store/: the peer transport. TCP connections to the other
 * members, frames as in frame.c, a handshake proving the cluster secret
 * on both sides, reconnect with exponential backoff.
 *
 * Every member dials every other member and SENDS only on the
 * connections it dialed; connections it accepted are only read. So each
 * direction between two members is one TCP stream: frames from A to B
 * arrive in the order A queued them.
 *
 * Each peer has a bounded outbound queue: transport_send() fails with
 * ENOBUFS rather than grow it, and with ENOTCONN while the peer is not
 * connected (Raft tolerates lost messages; callers retry what matters).
 * A slow or dead peer therefore never blocks the others nor eats memory.
 * Everything is non-blocking on the loop. */

#include "lib/err.h"
#include "lib/loop.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TRANSPORT_QUEUE_MAX (16u << 20)

struct transport;

struct transport_ops {
    /* An authenticated frame from peer id. */
    void (*on_frame)(void *arg, uint64_t from, uint8_t type, const unsigned char *p, size_t len);
    /* A peer proved the secret on a connection it dialed: its name and
     * peer address (learned, for members added later). */
    void (*on_peer_hello)(void *arg, uint64_t id, const char *name, const char *addr);
    /* Our connection to id went down (Raft: report unreachable). */
    void (*on_peer_down)(void *arg, uint64_t id);
    /* The outbound queue to id drained below a quarter of its limit. */
    void (*on_drain)(void *arg, uint64_t id);
};

/* Listen on listen_addr (host:port) and serve. The secret is copied. */
int transport_new(struct sk_loop *loop, uint64_t self_id, const char *self_name,
                  const char *listen_addr, const void *secret, size_t secret_len,
                  const struct transport_ops *ops, void *arg, struct transport **out,
                  struct sk_err *err);
void transport_free(struct transport *t);

/* Dial peer id at addr (and keep redialing); again with a new address
 * replaces it. */
void transport_add_peer(struct transport *t, uint64_t id, const char *addr);
void transport_remove_peer(struct transport *t, uint64_t id);

/* Queue one frame to id: 0, -ENOTCONN, -ENOBUFS, -ENOENT (unknown). */
int transport_send(struct transport *t, uint64_t id, uint8_t type, const void *payload, size_t len);
/* Bytes queued to id, not yet written. */
size_t transport_queued(const struct transport *t, uint64_t id);
bool transport_connected(const struct transport *t, uint64_t id);

#endif
