#ifndef SK_LIB_BASE64_H
#define SK_LIB_BASE64_H

/* Standard base64 (RFC 4648 section 4), padded, no line breaks; and
 * base64url (section 5) without padding, for tokens and URLs. */

#include <stddef.h>
#include <sys/types.h>

/* The encoded length of n bytes, without the terminating NUL. */
#define SK_BASE64_LEN(n) (4 * (((n) + 2) / 3))

/* Writes SK_BASE64_LEN(n) characters and a NUL to out. */
void sk_base64_encode(const void *in, size_t n, char *out);

/* Decodes len characters (a multiple of 4; '=' only as the last one or
 * two) into out (room for len / 4 * 3 bytes): the number of bytes, or
 * -1 for anything else. */
ssize_t sk_base64_decode(const char *in, size_t len, unsigned char *out);

/* base64url without padding: the length of n bytes encoded. */
#define SK_BASE64URL_LEN(n) (((n)*4 + 2) / 3)

/* Writes SK_BASE64URL_LEN(n) characters and a NUL to out. */
void sk_base64url_encode(const void *in, size_t n, char *out);

/* Decodes len characters of unpadded base64url into out (room for
 * len * 3 / 4 bytes): the number of bytes, or -1 for a character outside
 * the alphabet, '=', or a length no encoding has (len % 4 == 1). */
ssize_t sk_base64url_decode(const char *in, size_t len, unsigned char *out);

#endif
