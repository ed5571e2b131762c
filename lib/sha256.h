#ifndef SK_LIB_SHA256_H
#define SK_LIB_SHA256_H

/* SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), in C, without
 * libcrypto: token indexes, image config digests, the agents' endpoint
 * MACs and the Raft peers' handshake. Not for bulk hashing (layer blobs
 * are hashed by OpenSSL's accelerated code in runtime/). */

#include <stddef.h>
#include <stdint.h>

#define SK_SHA256_LEN   32
#define SK_SHA256_BLOCK 64

struct sk_sha256 {
    uint32_t h[8];
    uint64_t bytes;
    unsigned char block[SK_SHA256_BLOCK];
    size_t used;
};

void sk_sha256_init(struct sk_sha256 *c);
void sk_sha256_update(struct sk_sha256 *c, const void *data, size_t len);
/* Writes the digest and wipes the context. */
void sk_sha256_final(struct sk_sha256 *c, unsigned char out[SK_SHA256_LEN]);

void sk_sha256(const void *data, size_t len, unsigned char out[SK_SHA256_LEN]);
void sk_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t len,
                    unsigned char out[SK_SHA256_LEN]);

/* Lowercase hex of the n bytes at in, NUL-terminated: out has room for
 * 2 n + 1 bytes (SK_SHA256_HEX for a digest). */
#define SK_SHA256_HEX (2 * SK_SHA256_LEN + 1)
void sk_hex(const unsigned char *in, size_t n, char *out);

/* n bytes from the kernel's CSPRNG (getrandom(2), retried on EINTR and
 * short reads; a failure is a bug: it only blocks before the pool is
 * seeded). OpenSSL's RAND_bytes would load its DRBG and providers,
 * megabytes of libcrypto pages in an idle daemon. */
void sk_random_bytes(void *p, size_t n);

/* 1 if the n bytes at a and b are equal, in a time that depends on n
 * only (for MACs and token digests). */
int sk_mem_equal_ct(const void *a, const void *b, size_t n);

#endif
