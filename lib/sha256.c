/* SHA-256 as FIPS 180-4 section 6.2 describes it, HMAC as RFC 2104.
 *
 * Why not libcrypto: skiffd used libcrypto only for these few small
 * hashes and MACs, base64 and random bytes, and merely loading
 * libcrypto.so.3 costs about 1.4 MB of resident pages (its relocations
 * and its CPU-feature set-up), 3.4 MB once a digest goes through EVP and
 * its providers: a third of the node agent's memory (bench/README.md,
 * "agent memory"). Checked against OpenSSL and the FIPS 180-2 / RFC 4231
 * vectors in t/unit/test_sha256.c. */
#include "lib/sha256.h"

#include "lib/err.h"

#include <errno.h>
#include <sys/random.h>

#include <string.h>

/* FIPS 180-4 4.2.2: the first 32 bits of the fractional parts of the
 * cube roots of the first 64 primes. */
static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t
ror(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

static uint32_t
load_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
store_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* FIPS 180-4 6.2.2, steps 1 to 4, on one 64-byte block. */
static void
compress(uint32_t h[8], const unsigned char *p)
{
    uint32_t w[64], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    int t;

    for (t = 0; t < 16; t++)
        w[t] = load_be32(p + 4 * t);
    for (t = 16; t < 64; t++) {
        uint32_t s0 = ror(w[t - 15], 7) ^ ror(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = ror(w[t - 2], 17) ^ ror(w[t - 2], 19) ^ (w[t - 2] >> 10);

        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    for (t = 0; t < 64; t++) {
        uint32_t t1 =
            hh + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K[t] + w[t];
        uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));

        hh = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
}

void
sk_sha256_init(struct sk_sha256 *c)
{
    /* FIPS 180-4 5.3.3 */
    static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

    memcpy(c->h, h0, sizeof(h0));
    c->bytes = 0;
    c->used = 0;
}

void
sk_sha256_update(struct sk_sha256 *c, const void *data, size_t len)
{
    const unsigned char *p = data;

    c->bytes += len;
    if (c->used > 0) {
        size_t take = SK_SHA256_BLOCK - c->used < len ? SK_SHA256_BLOCK - c->used : len;

        memcpy(c->block + c->used, p, take);
        c->used += take;
        p += take;
        len -= take;
        if (c->used < SK_SHA256_BLOCK)
            return;
        compress(c->h, c->block);
        c->used = 0;
    }
    for (; len >= SK_SHA256_BLOCK; p += SK_SHA256_BLOCK, len -= SK_SHA256_BLOCK)
        compress(c->h, p);
    if (len > 0)
        memcpy(c->block, p, len);
    c->used = len;
}

void
sk_sha256_final(struct sk_sha256 *c, unsigned char out[SK_SHA256_LEN])
{
    /* FIPS 180-4 5.1.1: a 1 bit, zeros, the length in bits (64, big
     * endian) ending a block. */
    uint64_t bits = c->bytes * 8;
    int i;

    c->block[c->used++] = 0x80;
    if (c->used > SK_SHA256_BLOCK - 8) {
        memset(c->block + c->used, 0, SK_SHA256_BLOCK - c->used);
        compress(c->h, c->block);
        c->used = 0;
    }
    memset(c->block + c->used, 0, SK_SHA256_BLOCK - 8 - c->used);
    store_be32(c->block + 56, (uint32_t)(bits >> 32));
    store_be32(c->block + 60, (uint32_t)bits);
    compress(c->h, c->block);
    for (i = 0; i < 8; i++)
        store_be32(out + 4 * i, c->h[i]);
    explicit_bzero(c, sizeof(*c));
}

void
sk_sha256(const void *data, size_t len, unsigned char out[SK_SHA256_LEN])
{
    struct sk_sha256 c;

    sk_sha256_init(&c);
    sk_sha256_update(&c, data, len);
    sk_sha256_final(&c, out);
}

/* RFC 2104 section 2: H(K ^ opad, H(K ^ ipad, text)), a key longer than
 * a block hashed first. */
void
sk_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t len,
               unsigned char out[SK_SHA256_LEN])
{
    unsigned char k[SK_SHA256_BLOCK] = {0}, pad[SK_SHA256_BLOCK], inner[SK_SHA256_LEN];
    struct sk_sha256 c;
    size_t i;

    if (keylen > SK_SHA256_BLOCK)
        sk_sha256(key, keylen, k);
    else if (keylen > 0)
        memcpy(k, key, keylen);
    for (i = 0; i < SK_SHA256_BLOCK; i++)
        pad[i] = k[i] ^ 0x36;
    sk_sha256_init(&c);
    sk_sha256_update(&c, pad, sizeof(pad));
    sk_sha256_update(&c, msg, len);
    sk_sha256_final(&c, inner);
    for (i = 0; i < SK_SHA256_BLOCK; i++)
        pad[i] = k[i] ^ 0x5c;
    sk_sha256_init(&c);
    sk_sha256_update(&c, pad, sizeof(pad));
    sk_sha256_update(&c, inner, sizeof(inner));
    sk_sha256_final(&c, out);
    explicit_bzero(k, sizeof(k));
    explicit_bzero(pad, sizeof(pad));
    explicit_bzero(inner, sizeof(inner));
}

int
sk_mem_equal_ct(const void *a, const void *b, size_t n)
{
    const volatile unsigned char *x = a, *y = b;
    unsigned char diff = 0;
    size_t i;

    for (i = 0; i < n; i++)
        diff |= x[i] ^ y[i];
    return diff == 0;
}

void
sk_hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

void
sk_random_bytes(void *p, size_t n)
{
    unsigned char *q = p;

    while (n > 0) {
        ssize_t got = getrandom(q, n, 0);

        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            SK_BUG("getrandom failed");
        q += got;
        n -= (size_t)got;
    }
}
