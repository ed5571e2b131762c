/* SHA-256 through OpenSSL's low-level SHA256_* calls, deprecated in
 * OpenSSL 3 but kept there: EVP_Digest would first set up OpenSSL's
 * providers, which touches about 2.3 MB of libcrypto, a quarter of an
 * idle API server's RSS (bench/api), for the same hash. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "lib/sha256.h"

#include "lib/err.h"

#include <openssl/sha.h>

void
sk_sha256(const void *data, size_t len, unsigned char out[SK_SHA256_LEN])
{
    SHA256_CTX ctx;

    if (!SHA256_Init(&ctx) || !SHA256_Update(&ctx, data, len) || !SHA256_Final(out, &ctx))
        SK_BUG("sha-256 failed");
}
