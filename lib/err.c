/* Error objects: see err.h for the contract. */
#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
sk_err_init(struct sk_err *err)
{
    if (!err)
        return;
    err->code = 0;
    err->msg[0] = '\0';
}

__attribute__((format(printf, 3, 0))) static int
err_vset(struct sk_err *err, int code, const char *fmt, va_list ap)
{
    if (code <= 0)
        code = EIO;
    if (err) {
        err->code = code;
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    }
    return -code;
}

int
sk_err_set(struct sk_err *err, int code, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = err_vset(err, code, fmt, ap);
    va_end(ap);
    return rc;
}

int
sk_err_sys(struct sk_err *err, int errnum, const char *fmt, ...)
{
    va_list ap;
    size_t len;
    int rc;

    va_start(ap, fmt);
    rc = err_vset(err, errnum, fmt, ap);
    va_end(ap);
    if (err) {
        len = strlen(err->msg);
        snprintf(err->msg + len, sizeof(err->msg) - len, ": %s", strerror(errnum));
    }
    return rc;
}

/* Join "prefix: old" into msg, cutting the old message if it does not fit
 * (the outermost context is the most useful part to keep). */
static void
err_join(char *msg, size_t msgsz, const char *prefix, const char *old)
{
    size_t plen = strnlen(prefix, msgsz - 1);
    size_t olen = strlen(old);

    memcpy(msg, prefix, plen);
    if (olen && plen + 2 < msgsz) {
        memcpy(msg + plen, ": ", 2);
        plen += 2;
        if (olen > msgsz - 1 - plen)
            olen = msgsz - 1 - plen;
        memcpy(msg + plen, old, olen);
        plen += olen;
    }
    msg[plen] = '\0';
}

int
sk_err_wrap(struct sk_err *err, const char *fmt, ...)
{
    char prefix[SK_ERR_MSG_MAX];
    char old[SK_ERR_MSG_MAX];
    va_list ap;

    if (!err)
        return -EIO;
    if (err->code <= 0)
        err->code = EIO;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    err_join(err->msg, sizeof(err->msg), prefix, old);
    return -err->code;
}

int
sk_err_copy(struct sk_err *dst, const struct sk_err *src)
{
    if (dst && dst != src)
        *dst = *src;
    return -(src->code > 0 ? src->code : EIO);
}

_Noreturn void
sk_bug(const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "skiff: BUG at %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}
