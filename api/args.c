/* Request argument splitting and percent-decoding (skiff-protocol(7):
 * arguments are separated by spaces; a space, '%' or any byte outside
 * printable ASCII inside an argument is written %XX). */
#include "api/server.h"

#include "lib/quote.h"

#include <string.h>

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
        if (sk_percent_decode(argv[n - 1], false) < 0)
            return -1;
    }
}
