#ifndef SK_ERR_H
#define SK_ERR_H

/* The one error contract of the tree (see STYLE.md §3).
 *
 * A fallible function returns int: 0 or positive on success, a negative
 * errno-style value on failure, and fills the struct sk_err passed as its
 * last argument. Callers add context on the way up with sk_err_wrap(), so
 * the final message reads outermost-first:
 *
 *     store: segment 'log/42.seg': record at offset 8192: crc mismatch
 *
 * Messages are lowercase and name the object in quotes. A NULL err is
 * allowed everywhere and simply records nothing. */

#include <stdarg.h>
#include <stddef.h>

#define SK_ERR_MSG_MAX 1024

struct sk_err {
    int code;                 /* positive errno value, 0 when unset */
    char msg[SK_ERR_MSG_MAX]; /* human message, never ends in '\n' */
};

/* Reset to "no error". */
void sk_err_init(struct sk_err *err);

/* Record code (a positive errno value) and a formatted message; returns
 * -code so callers can write `return sk_err_set(err, EINVAL, ...)`. */
int sk_err_set(struct sk_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like sk_err_set(), appending ": <strerror(errnum)>". */
int sk_err_sys(struct sk_err *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix the existing message with formatted context and ": ". The code
 * is kept (EIO if none was set). Returns -code. */
int sk_err_wrap(struct sk_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Copy src into dst (dst may be NULL). Returns -src->code. */
int sk_err_copy(struct sk_err *dst, const struct sk_err *src);

/* Abort with a message: only for broken invariants and out of memory. */
#define SK_BUG(...) sk_bug(__FILE__, __LINE__, __VA_ARGS__)
_Noreturn void sk_bug(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
