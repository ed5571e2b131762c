/* The peer protocol's frames (API in frame.h).
 *
 * FRAME (all integers little-endian)
 *
 *   offset size
 *        0    4  magic "SKRP"
 *        4    1  version, 1 (a peer with another version is refused)
 *        5    1  type (enum frame_type)
 *        6    2  reserved, 0
 *        8    4  payload length, at most 64 MiB
 *       12    4  crc32c of the payload (TCP's checksum is weak; a flipped
 *                bit in a Raft entry would be replicated forever)
 *       16  len  payload
 *
 * HANDSHAKE. The dialer sends HELLO; the listener answers HELLO and AUTH
 * (its proof); the dialer checks it and sends its own AUTH. Nothing but
 * HELLO and AUTH is accepted before the proof checked out, and a peer
 * whose proof is wrong is disconnected and logged. Proofs are
 * frame_auth_mac(); nonces are 32 random bytes per connection, so a
 * recorded handshake cannot be replayed.
 *
 * PAYLOADS
 *
 *   HELLO          u64 id | 32 nonce | u8 n | name | u8 n | peer address
 *   AUTH           32 mac
 *   RAFT           u8 type | u8 reject | u8 transfer | u64 from, to, term,
 *                  index, log_term, commit, hint, ctx | u32 n_entries |
 *                  n * (u64 term | u64 index | u8 type | u32 len | data) |
 *                  u64 snap index | u64 snap term | u64 snap handle |
 *                  u8 conf len | conf (raft_conf_encode)
 *   FWD_WRITE      u64 request id | command (an mvcc command)
 *   FWD_WRITE_RESP u64 request id | i32 errno (0: ok) | u64 term | u64 index
 *                  | message
 *   FWD_READ       u64 request id
 *   FWD_READ_RESP  u64 request id | i32 errno | u64 index
 *   SNAP_CHUNK     u64 term | u64 index | u64 total payload length |
 *                  u64 offset | u8 conf len | conf | data
 *   FWD_STATUS     u64 request id
 *   FWD_STATUS_RESP u64 request id | u64 leader's last log index | u8 n |
 *                  n * (u64 id | u64 match | u64 next | u8 state | u8 active)
 *                  (n 0: the receiver does not lead) */
#include "store/frame.h"
#include "store/crc32c.h"
#include "store/io.h"

#include "lib/alloc.h"
#include "lib/sha256.h"

#include <stdlib.h>
#include <string.h>

static const unsigned char frame_magic[4] = {'S', 'K', 'R', 'P'};

void
frame_header_encode(unsigned char *hdr, uint8_t type, const void *payload, uint32_t len)
{
    memcpy(hdr, frame_magic, 4);
    hdr[4] = FRAME_VERSION;
    hdr[5] = type;
    hdr[6] = hdr[7] = 0;
    store_le32_put(hdr + 8, len);
    store_le32_put(hdr + 12, crc32c(payload, len));
}

int
frame_header_decode(const unsigned char *hdr, uint8_t *type, uint32_t *len, uint32_t *crc,
                    struct sk_err *err)
{
    if (memcmp(hdr, frame_magic, 4) != 0)
        return sk_err_set(err, EPROTO, "bad frame magic");
    if (hdr[4] != FRAME_VERSION)
        return sk_err_set(err, EPROTO, "peer protocol version %u, expected %u", hdr[4],
                          FRAME_VERSION);
    if (hdr[5] == 0 || hdr[5] > FRAME_TYPE_MAX)
        return sk_err_set(err, EPROTO, "unknown frame type %u", hdr[5]);
    *type = hdr[5];
    *len = store_le32_get(hdr + 8);
    *crc = store_le32_get(hdr + 12);
    if (*len > FRAME_MAX_PAYLOAD)
        return sk_err_set(err, EPROTO, "frame of %u bytes exceeds the limit", *len);
    return 0;
}

int
frame_payload_check(const void *payload, uint32_t len, uint32_t crc, struct sk_err *err)
{
    if (crc32c(payload, len) != crc)
        return sk_err_set(err, EPROTO, "frame crc mismatch");
    return 0;
}

/* ---- a bounds-checked reader ---- */

struct rd {
    const unsigned char *p;
    size_t left;
    int bad;
};

static const unsigned char *
rd_take(struct rd *r, size_t n)
{
    const unsigned char *p = r->p;

    if (r->bad || r->left < n) {
        r->bad = 1;
        return NULL;
    }
    r->p += n;
    r->left -= n;
    return p;
}

static uint8_t
rd_u8(struct rd *r)
{
    const unsigned char *p = rd_take(r, 1);

    return p ? p[0] : 0;
}

static uint32_t
rd_u32(struct rd *r)
{
    const unsigned char *p = rd_take(r, 4);

    return p ? store_le32_get(p) : 0;
}

static uint64_t
rd_u64(struct rd *r)
{
    const unsigned char *p = rd_take(r, 8);

    return p ? store_le64_get(p) : 0;
}

static void
put_u8(struct sk_buf *b, uint8_t v)
{
    sk_buf_putc(b, (char)v);
}

static void
put_u32(struct sk_buf *b, uint32_t v)
{
    unsigned char x[4];

    store_le32_put(x, v);
    sk_buf_append(b, x, 4);
}

static void
put_u64(struct sk_buf *b, uint64_t v)
{
    unsigned char x[8];

    store_le64_put(x, v);
    sk_buf_append(b, x, 8);
}

/* ---- HELLO and AUTH ---- */

static void
put_str(struct sk_buf *b, const char *s)
{
    size_t n = strlen(s);

    put_u8(b, (uint8_t)n);
    sk_buf_append(b, s, n);
}

static int
rd_str(struct rd *r, char *out, size_t max)
{
    size_t n = rd_u8(r);
    const unsigned char *p = rd_take(r, n);

    if (!p || n > max || memchr(p, '\0', n))
        return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

void
frame_hello_encode(struct sk_buf *out, const struct frame_hello *h)
{
    put_u64(out, h->id);
    sk_buf_append(out, h->nonce, FRAME_NONCE_SIZE);
    put_str(out, h->name);
    put_str(out, h->addr);
}

int
frame_hello_decode(const unsigned char *p, size_t len, struct frame_hello *h, struct sk_err *err)
{
    struct rd r = {p, len, 0};
    const unsigned char *nonce;

    memset(h, 0, sizeof(*h));
    h->id = rd_u64(&r);
    nonce = rd_take(&r, FRAME_NONCE_SIZE);
    if (nonce)
        memcpy(h->nonce, nonce, FRAME_NONCE_SIZE);
    if (r.bad || rd_str(&r, h->name, FRAME_NAME_MAX) < 0 ||
        rd_str(&r, h->addr, FRAME_ADDR_MAX) < 0 || r.left || !h->id)
        return sk_err_set(err, EPROTO, "malformed hello");
    return 0;
}

void
frame_auth_mac(const void *secret, size_t secret_len, char role, const struct frame_hello *dialer,
               const struct frame_hello *listener, unsigned char mac[FRAME_MAC_SIZE])
{
    unsigned char msg[12 + 1 + 2 * FRAME_NONCE_SIZE + 16];
    size_t n = 0;

    memcpy(msg, "skiff-peer-1", 12);
    n = 12;
    msg[n++] = (unsigned char)role;
    memcpy(msg + n, dialer->nonce, FRAME_NONCE_SIZE);
    n += FRAME_NONCE_SIZE;
    memcpy(msg + n, listener->nonce, FRAME_NONCE_SIZE);
    n += FRAME_NONCE_SIZE;
    store_le64_put(msg + n, dialer->id);
    store_le64_put(msg + n + 8, listener->id);
    n += 16;
    sk_hmac_sha256(secret, secret_len, msg, n, mac);
}

int
frame_mac_equal(const unsigned char *a, const unsigned char *b)
{
    return sk_mem_equal_ct(a, b, FRAME_MAC_SIZE);
}

/* ---- RAFT ---- */

void
frame_msg_encode(struct sk_buf *out, const struct raft_msg *m)
{
    uint8_t conf[RAFT_CONF_MAX_LEN];
    size_t conf_len = 0;
    uint32_t i;

    put_u8(out, m->type);
    put_u8(out, m->reject);
    put_u8(out, m->transfer);
    put_u64(out, m->from);
    put_u64(out, m->to);
    put_u64(out, m->term);
    put_u64(out, m->index);
    put_u64(out, m->log_term);
    put_u64(out, m->commit);
    put_u64(out, m->hint);
    put_u64(out, m->ctx);
    put_u32(out, m->n_entries);
    for (i = 0; i < m->n_entries; i++) {
        const struct raft_entry *e = &m->entries[i];

        put_u64(out, e->term);
        put_u64(out, e->index);
        put_u8(out, e->type);
        put_u32(out, e->len);
        sk_buf_append(out, e->data, e->len);
    }
    put_u64(out, m->snapshot.index);
    put_u64(out, m->snapshot.term);
    put_u64(out, m->snapshot.handle);
    if (m->snapshot.index)
        conf_len = raft_conf_encode(&m->snapshot.conf, conf);
    put_u8(out, (uint8_t)conf_len);
    sk_buf_append(out, conf, conf_len);
}

int
frame_msg_decode(const unsigned char *p, size_t len, struct raft_msg *m, struct sk_err *err)
{
    struct rd r = {p, len, 0};
    const unsigned char *conf;
    uint32_t i;
    uint8_t conf_len;

    memset(m, 0, sizeof(*m));
    m->type = rd_u8(&r);
    m->reject = rd_u8(&r);
    m->transfer = rd_u8(&r);
    m->from = rd_u64(&r);
    m->to = rd_u64(&r);
    m->term = rd_u64(&r);
    m->index = rd_u64(&r);
    m->log_term = rd_u64(&r);
    m->commit = rd_u64(&r);
    m->hint = rd_u64(&r);
    m->ctx = rd_u64(&r);
    m->n_entries = rd_u32(&r);
    /* Each entry takes at least 21 bytes: bound the allocation by the
     * bytes actually present, whatever the count claims. */
    if (r.bad || m->n_entries > r.left / 21)
        return sk_err_set(err, EPROTO, "malformed raft message");
    if (m->n_entries)
        m->entries = sk_calloc(m->n_entries, sizeof(*m->entries));
    for (i = 0; i < m->n_entries && !r.bad; i++) {
        struct raft_entry *e = &m->entries[i];

        e->term = rd_u64(&r);
        e->index = rd_u64(&r);
        e->type = rd_u8(&r);
        e->len = rd_u32(&r);
        e->data = (void *)rd_take(&r, e->len);
    }
    m->snapshot.index = rd_u64(&r);
    m->snapshot.term = rd_u64(&r);
    m->snapshot.handle = rd_u64(&r);
    conf_len = rd_u8(&r);
    conf = rd_take(&r, conf_len);
    if (!r.bad && conf_len && raft_conf_decode(conf, conf_len, &m->snapshot.conf, err) < 0)
        r.bad = 1;
    if (r.bad || r.left) {
        frame_msg_release(m);
        return sk_err_set(err, EPROTO, "malformed raft message");
    }
    return 0;
}

void
frame_msg_release(struct raft_msg *m)
{
    free(m->entries);
    m->entries = NULL;
    m->n_entries = 0;
}
