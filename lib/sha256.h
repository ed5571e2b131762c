#ifndef SK_LIB_SHA256_H
#define SK_LIB_SHA256_H

/* SHA-256 of a buffer, for the token indexes of the API server. */

#include <stddef.h>

#define SK_SHA256_LEN 32

void sk_sha256(const void *data, size_t len, unsigned char out[SK_SHA256_LEN]);

#endif
