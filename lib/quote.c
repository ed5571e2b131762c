/* Quoting untrusted input for error messages: see quote.h. */
#include "quote.h"

#include <stdio.h>

/* Append one byte's rendering at *pos if it fits whole; returns 0, or -1
 * when out is full (the rendering is then left out entirely, so a cut
 * never leaves half an escape behind). */
static int
quote_byte(char *out, size_t outsz, size_t *pos, unsigned char c)
{
    char tmp[5];
    size_t n, i;

    if (c == '\\' || c == '\'') {
        tmp[0] = '\\';
        tmp[1] = (char)c;
        n = 2;
    } else if (c >= 0x20 && c < 0x7f) {
        tmp[0] = (char)c;
        n = 1;
    } else {
        snprintf(tmp, sizeof(tmp), "\\x%02x", c);
        n = 4;
    }
    if (*pos + n >= outsz)
        return -1;
    for (i = 0; i < n; i++)
        out[(*pos)++] = tmp[i];
    return 0;
}

const char *
sk_quote_input(char *out, size_t outsz, const char *s, size_t len, size_t maxlen)
{
    size_t pos = 0, i;
    int cut = len > maxlen;

    if (outsz == 0)
        return out;
    if (cut)
        len = maxlen;
    for (i = 0; i < len; i++) {
        if (quote_byte(out, outsz, &pos, (unsigned char)s[i]) < 0) {
            cut = 1;
            break;
        }
    }
    if (cut && pos + 3 < outsz) {
        out[pos++] = '.';
        out[pos++] = '.';
        out[pos++] = '.';
    }
    out[pos] = '\0';
    return out;
}

static int
hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

ssize_t
sk_percent_decode(char *s, bool nul_ok)
{
    char *r = s, *w = s;
    int hi, lo;

    while (*r) {
        if (*r != '%') {
            *w++ = *r++;
            continue;
        }
        /* r[1] is NUL at the end: hex_value fails before r[2] is read */
        hi = hex_value(r[1]);
        lo = hi < 0 ? -1 : hex_value(r[2]);
        if (lo < 0)
            return SK_PCT_MALFORMED;
        if (hi == 0 && lo == 0 && !nul_ok)
            return SK_PCT_NUL;
        *w++ = (char)(hi << 4 | lo);
        r += 3;
    }
    *w = '\0';
    return w - s;
}
