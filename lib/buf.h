#ifndef SK_BUF_H
#define SK_BUF_H

/* Growable byte buffer. data is always NUL-terminated (data[len] == 0)
 * once anything was appended, so it can be used as a C string; it may
 * also hold binary data. Lifecycle: sk_buf_init (no allocation),
 * sk_buf_release (free contents, back to empty). */

#include <stdarg.h>
#include <stddef.h>

struct sk_buf {
    char *data;
    size_t len;
    size_t cap;
};

#define SK_BUF_INIT                                                                                \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

void sk_buf_init(struct sk_buf *buf);
void sk_buf_release(struct sk_buf *buf);
/* Make room for at least extra more bytes (plus the NUL). */
void sk_buf_grow(struct sk_buf *buf, size_t extra);
void sk_buf_append(struct sk_buf *buf, const void *data, size_t len);
void sk_buf_puts(struct sk_buf *buf, const char *s);
void sk_buf_putc(struct sk_buf *buf, char c);
void sk_buf_printf(struct sk_buf *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sk_buf_vprintf(struct sk_buf *buf, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Drop the first n bytes (n > len drops everything). */
void sk_buf_consume(struct sk_buf *buf, size_t n);
/* Set len to n (n <= len); keeps the allocation. */
void sk_buf_truncate(struct sk_buf *buf, size_t n);
/* Empty the buffer but keep its allocation. */
void sk_buf_reset(struct sk_buf *buf);
/* Hand the contents to the caller (free() it); the buffer becomes empty.
 * Never returns NULL. */
char *sk_buf_detach(struct sk_buf *buf, size_t *len);

/* Copy src into dst of size dstsz, always terminating. Returns -1 (and
 * still writes a truncated string) when src did not fit. */
int sk_strlcpy(char *dst, const char *src, size_t dstsz);
/* snprintf that reports truncation: returns 0, or -1 when the output did
 * not fit (dst is still terminated). */
int sk_snprintf(char *dst, size_t dstsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* True if s starts with prefix. */
int sk_startswith(const char *s, const char *prefix);

#endif
