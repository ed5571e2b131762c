/* base64, RFC 4648 section 4: in lib so that skiffd's service-account
 * tokens need no libcrypto (see lib/sha256.c for why). */
#include "lib/base64.h"

static const char ALPHABET[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char URL_ALPHABET[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Both encodings; a partial last group is padded with '=' or left short. */
static void
encode(const void *in, size_t n, char *out, const char *alphabet, int pad)
{
    const unsigned char *p = in;
    size_t i;

    for (i = 0; i + 2 < n; i += 3) {
        unsigned long v = (unsigned long)p[i] << 16 | (unsigned long)p[i + 1] << 8 | p[i + 2];

        *out++ = alphabet[v >> 18];
        *out++ = alphabet[(v >> 12) & 63];
        *out++ = alphabet[(v >> 6) & 63];
        *out++ = alphabet[v & 63];
    }
    if (i < n) {
        unsigned long v =
            (unsigned long)p[i] << 16 | (i + 1 < n ? (unsigned long)p[i + 1] << 8 : 0);

        *out++ = alphabet[v >> 18];
        *out++ = alphabet[(v >> 12) & 63];
        if (i + 1 < n)
            *out++ = alphabet[(v >> 6) & 63];
        else if (pad)
            *out++ = '=';
        if (pad)
            *out++ = '=';
    }
    *out = '\0';
}

void
sk_base64_encode(const void *in, size_t n, char *out)
{
    encode(in, n, out, ALPHABET, 1);
}

void
sk_base64url_encode(const void *in, size_t n, char *out)
{
    encode(in, n, out, URL_ALPHABET, 0);
}

static int
value_in(char c, const char *alphabet)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c && c == alphabet[62])
        return 62;
    if (c && c == alphabet[63])
        return 63;
    return -1;
}

static int
value_of(char c)
{
    return value_in(c, ALPHABET);
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

ssize_t
sk_base64url_decode(const char *in, size_t len, unsigned char *out)
{
    unsigned long acc = 0;
    size_t n = 0;
    int bits = 0;

    if (len % 4 == 1)
        return -1;
    for (size_t i = 0; i < len; i++) {
        int v = value_in(in[i], URL_ALPHABET);

        if (v < 0)
            return -1;
        acc = (acc << 6 | (unsigned long)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
        }
    }
    return (ssize_t)n;
}
