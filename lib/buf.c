/* Growable buffers and safe string helpers. */
#include "buf.h"
#include "alloc.h"
#include "err.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
sk_buf_init(struct sk_buf *buf)
{
    buf->data = NULL;
    buf->len = 0;
    buf->cap = 0;
}

void
sk_buf_release(struct sk_buf *buf)
{
    free(buf->data);
    sk_buf_init(buf);
}

void
sk_buf_grow(struct sk_buf *buf, size_t extra)
{
    size_t need, cap;

    if (extra > SIZE_MAX - buf->len - 1)
        SK_BUG("buffer size overflow");
    need = buf->len + extra + 1;
    if (need <= buf->cap)
        return;
    cap = buf->cap ? buf->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    buf->data = sk_realloc(buf->data, cap);
    buf->cap = cap;
}

void
sk_buf_append(struct sk_buf *buf, const void *data, size_t len)
{
    sk_buf_grow(buf, len);
    if (len)
        memcpy(buf->data + buf->len, data, len);
    buf->len += len;
    buf->data[buf->len] = '\0';
}

void
sk_buf_puts(struct sk_buf *buf, const char *s)
{
    sk_buf_append(buf, s, strlen(s));
}

void
sk_buf_putc(struct sk_buf *buf, char c)
{
    sk_buf_append(buf, &c, 1);
}

void
sk_buf_vprintf(struct sk_buf *buf, const char *fmt, va_list ap)
{
    va_list cp;
    int n;

    va_copy(cp, ap);
    n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0)
        SK_BUG("bad format string '%s'", fmt);
    sk_buf_grow(buf, (size_t)n);
    vsnprintf(buf->data + buf->len, (size_t)n + 1, fmt, ap);
    buf->len += (size_t)n;
}

void
sk_buf_printf(struct sk_buf *buf, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    sk_buf_vprintf(buf, fmt, ap);
    va_end(ap);
}

void
sk_buf_consume(struct sk_buf *buf, size_t n)
{
    if (n >= buf->len) {
        sk_buf_reset(buf);
        return;
    }
    memmove(buf->data, buf->data + n, buf->len - n);
    buf->len -= n;
    buf->data[buf->len] = '\0';
}

void
sk_buf_truncate(struct sk_buf *buf, size_t n)
{
    if (n >= buf->len)
        return;
    buf->len = n;
    buf->data[n] = '\0';
}

void
sk_buf_reset(struct sk_buf *buf)
{
    buf->len = 0;
    if (buf->data)
        buf->data[0] = '\0';
}

char *
sk_buf_detach(struct sk_buf *buf, size_t *len)
{
    char *p;

    if (!buf->data)
        sk_buf_grow(buf, 0);
    buf->data[buf->len] = '\0';
    p = buf->data;
    if (len)
        *len = buf->len;
    sk_buf_init(buf);
    return p;
}

int
sk_strlcpy(char *dst, const char *src, size_t dstsz)
{
    size_t len = strlen(src);

    if (dstsz == 0)
        return -1;
    if (len >= dstsz) {
        memcpy(dst, src, dstsz - 1);
        dst[dstsz - 1] = '\0';
        return -1;
    }
    memcpy(dst, src, len + 1);
    return 0;
}

int
sk_snprintf(char *dst, size_t dstsz, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(dst, dstsz, fmt, ap);
    va_end(ap);
    return (n < 0 || (size_t)n >= dstsz) ? -1 : 0;
}

int
sk_startswith(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}
