/* Request argument splitting and percent-decoding (skiff-protocol(7):
 * arguments are separated by spaces; a space, '%' or any byte outside
 * printable ASCII inside an argument is written %XX). */
#include "api/server.h"

#include <string.h>

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode %XX escapes in place; -1 on a malformed or NUL escape. */
static int
percent_decode(char *s)
{
    char *r = s, *w = s;
    int hi, lo;

    while (*r) {
        if (*r != '%') {
            *w++ = *r++;
            continue;
        }
        hi = hexval(r[1]);
        lo = hi < 0 ? -1 : hexval(r[2]);
        if (lo < 0 || (hi == 0 && lo == 0))
            return -1;
        *w++ = (char)(hi << 4 | lo);
        r += 3;
    }
    *w = '\0';
    return 0;
}

int
api_args_split(char *args, char **argv, int max)
{
    char *p = args;
    int n = 0;

    for (;;) {
        while (*p == ' ')
            p++;
        if (!*p)
            return n;
        if (n == max)
            return -1;
        argv[n++] = p;
        p += strcspn(p, " ");
        if (*p)
            *p++ = '\0';
        if (percent_decode(argv[n - 1]) < 0)
            return -1;
    }
}
