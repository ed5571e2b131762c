/* Allocation wrappers: abort on out-of-memory so callers stay simple. */
#include "alloc.h"
#include "err.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *
sk_malloc(size_t size)
{
    void *p = malloc(size ? size : 1);

    if (!p)
        SK_BUG("out of memory allocating %zu bytes", size);
    return p;
}

void *
sk_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);

    if (!p)
        SK_BUG("out of memory allocating %zu x %zu bytes", n, size);
    return p;
}

void *
sk_realloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);

    if (!p)
        SK_BUG("out of memory reallocating to %zu bytes", size);
    return p;
}

void *
sk_reallocarray(void *ptr, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        SK_BUG("allocation of %zu x %zu bytes overflows", n, size);
    return sk_realloc(ptr, n * size);
}

char *
sk_strdup(const char *s)
{
    return sk_strndup(s, strlen(s));
}

char *
sk_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = sk_malloc(len + 1);

    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *
sk_asprintf(const char *fmt, ...)
{
    va_list ap;
    char *s;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        SK_BUG("out of memory formatting a string");
    return s;
}
