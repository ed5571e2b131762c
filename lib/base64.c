/* base64, RFC 4648 section 4: in lib so that skiffd's service-account
 * tokens need no libcrypto (see lib/sha256.c for why). */
#include "lib/base64.h"

static const char ALPHABET[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void
sk_base64_encode(const void *in, size_t n, char *out)
{
    const unsigned char *p = in;
    size_t i;

    for (i = 0; i + 2 < n; i += 3) {
        unsigned long v = (unsigned long)p[i] << 16 | (unsigned long)p[i + 1] << 8 | p[i + 2];

        *out++ = ALPHABET[v >> 18];
        *out++ = ALPHABET[(v >> 12) & 63];
        *out++ = ALPHABET[(v >> 6) & 63];
        *out++ = ALPHABET[v & 63];
    }
    if (i < n) {
        unsigned long v =
            (unsigned long)p[i] << 16 | (i + 1 < n ? (unsigned long)p[i + 1] << 8 : 0);

        *out++ = ALPHABET[v >> 18];
        *out++ = ALPHABET[(v >> 12) & 63];
        *out++ = i + 1 < n ? ALPHABET[(v >> 6) & 63] : '=';
        *out++ = '=';
    }
    *out = '\0';
}

static int
value_of(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

ssize_t
sk_base64_decode(const char *in, size_t len, unsigned char *out)
{
    size_t i, pad = 0, n = 0;

    if (len % 4)
        return -1;
    if (len > 0 && in[len - 1] == '=')
        pad = len > 1 && in[len - 2] == '=' ? 2 : 1;
    for (i = 0; i < len; i += 4) {
        int v[4], k;
        unsigned long w;

        for (k = 0; k < 4; k++) {
            v[k] = value_of(in[i + k]);
            /* '=' only where pad says, the last one or two characters */
            if (v[k] < 0 && !(in[i + k] == '=' && i + k >= len - pad))
                return -1;
            if (v[k] < 0)
                v[k] = 0;
        }
        w = (unsigned long)v[0] << 18 | (unsigned long)v[1] << 12 | (unsigned long)v[2] << 6 |
            (unsigned long)v[3];
        out[n++] = (unsigned char)(w >> 16);
        if (i + 4 < len || pad < 2)
            out[n++] = (unsigned char)(w >> 8);
        if (i + 4 < len || pad < 1)
            out[n++] = (unsigned char)w;
    }
    return (ssize_t)n;
}
