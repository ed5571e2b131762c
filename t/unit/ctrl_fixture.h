#ifndef SK_T_UNIT_CTRL_FIXTURE_H
#define SK_T_UNIT_CTRL_FIXTURE_H

/* Object builders for the ctrl suites: JSON written with single quotes
 * (turned into double quotes) and printf arguments. */

#include "lib/alloc.h"
#include "lib/json.h"

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS_PER_S 1000000000LL
/* 2026-11-25T12:00:00Z */
#define T0 (1795608000LL * NS_PER_S)

static json_t *J(const char *fmt, ...) __attribute__((format(printf, 1, 2), unused));

static json_t *
J(const char *fmt, ...)
{
    va_list ap;
    char *s;
    json_t *v = NULL;
    struct sk_err err;
    size_t i;

    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        abort();
    va_end(ap);
    for (i = 0; s[i]; i++)
        if (s[i] == '\'')
            s[i] = '"';
    sk_err_init(&err);
    if (sk_json_parse(s, strlen(s), &v, &err) < 0)
        ck_abort_msg("fixture %s: %s", s, err.msg);
    free(s);
    return v;
}

/* RFC 3339 of T0 + s seconds (static buffer rotation of 8). */
static const char *at(int64_t s) __attribute__((unused));

static const char *
at(int64_t s)
{
    static char buf[8][40];
    static int n;
    time_t t = (time_t)(T0 / NS_PER_S + s);
    struct tm tm;

    n = (n + 1) % 8;
    gmtime_r(&t, &tm);
    strftime(buf[n], sizeof(buf[n]), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf[n];
}

#endif
