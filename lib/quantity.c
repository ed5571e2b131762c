/* Resource quantities with Kubernetes' resource.Quantity semantics: see
 * quantity.h for the grammar, the representation and the deviations.
 *
 * Internally a quantity is one signed 128-bit count of nanos (10^-9):
 * INT64_MAX units are about 9.2e27 nanos, far inside the 1.7e38 an
 * __int128 holds, so sums, differences and the canonical form need no
 * overflow care beyond the range check. Parsing is exact for any number of
 * digits: the significant digits are kept as a decimal digit string,
 * multiplied by the binary suffix digit by digit, and only then cut to
 * nanos, rounding away from zero when anything non-zero was cut. */
#include "quantity.h"
#include "alloc.h"
#include "quote.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef __int128 nanos_t;
typedef unsigned __int128 unanos_t;

#define NANO 1000000000
/* INT64_MAX and -INT64_MIN in nanos: the bounds of the range. */
#define MAX_NANOS     ((unanos_t)INT64_MAX * NANO)
#define MIN_NANOS_MAG (((unanos_t)INT64_MAX + 1) * NANO)
/* Digits of MIN_NANOS_MAG (9223372036854775808000000000): a longer digit
 * string is out of range without computing it. */
#define NANOS_DIGITS 28
/* How many input bytes an error message quotes. */
#define QUOTE_MAX 64

struct suffix {
    const char *name;
    int exp;
    enum sk_quantity_fmt fmt;
};

/* Kubernetes' suffixer tables (apimachinery resource/suffix.go). A binary
 * entry's exp is a power of two, a decimal one a power of ten. Note "E" is
 * exa while "E3" and "e3" are exponents, and "K" is not a suffix. */
static const struct suffix suffixes[] = {
    {"", 0, SK_QUANTITY_DECIMAL_SI},   {"n", -9, SK_QUANTITY_DECIMAL_SI},
    {"u", -6, SK_QUANTITY_DECIMAL_SI}, {"m", -3, SK_QUANTITY_DECIMAL_SI},
    {"k", 3, SK_QUANTITY_DECIMAL_SI},  {"M", 6, SK_QUANTITY_DECIMAL_SI},
    {"G", 9, SK_QUANTITY_DECIMAL_SI},  {"T", 12, SK_QUANTITY_DECIMAL_SI},
    {"P", 15, SK_QUANTITY_DECIMAL_SI}, {"E", 18, SK_QUANTITY_DECIMAL_SI},
    {"Ki", 10, SK_QUANTITY_BINARY_SI}, {"Mi", 20, SK_QUANTITY_BINARY_SI},
    {"Gi", 30, SK_QUANTITY_BINARY_SI}, {"Ti", 40, SK_QUANTITY_BINARY_SI},
    {"Pi", 50, SK_QUANTITY_BINARY_SI}, {"Ei", 60, SK_QUANTITY_BINARY_SI},
};

/* A split-up quantity string; offsets index the input. */
struct qtext {
    const char *s;
    size_t len;
    int neg;
    size_t int_start, int_end;   /* digits before the point */
    size_t frac_start, frac_end; /* digits after it */
    size_t suf_start, suf_end;
    int bin_exp;   /* power of two of a binary suffix */
    int64_t exp10; /* power of ten of a decimal suffix or exponent */
    enum sk_quantity_fmt fmt;
};

static nanos_t
q_nanos(const struct sk_quantity *q)
{
    return (nanos_t)q->units * NANO + q->nanos;
}

/* Store n, which the caller has range-checked. */
static void
q_set(struct sk_quantity *q, nanos_t n, enum sk_quantity_fmt fmt)
{
    q->units = (int64_t)(n / NANO);
    q->nanos = (int32_t)(n % NANO);
    q->fmt = fmt;
}

static int
nanos_in_range(nanos_t n)
{
    return n >= -(nanos_t)MIN_NANOS_MAG && n <= (nanos_t)MAX_NANOS;
}

static int
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int
is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

__attribute__((format(printf, 4, 5))) static int
q_fail(struct sk_err *err, int code, const struct qtext *t, const char *fmt, ...)
{
    char in[SK_QUOTE_SIZE(QUOTE_MAX)];
    char what[2 * SK_QUOTE_SIZE(QUOTE_MAX)];
    va_list ap;

    sk_quote_input(in, sizeof(in), t->s, t->len, QUOTE_MAX);
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return sk_err_set(err, code, "quantity '%s': %s", in, what);
}

/* "unexpected 'c' at position p" for the byte at p. */
static int
q_unexpected(struct sk_err *err, const struct qtext *t, size_t p)
{
    char c[SK_QUOTE_SIZE(1)];

    sk_quote_input(c, sizeof(c), t->s + p, 1, 1);
    return q_fail(err, EINVAL, t, "unexpected '%s' at position %zu", c, p);
}

/* Read an exponent's digits, saturating far beyond any useful value (the
 * result is then out of range, or rounds to 1n, either way). */
static int64_t
exp_digits(const char *s, size_t from, size_t to)
{
    int64_t v = 0;

    for (; from < to; from++) {
        if (v < 1000000000000LL)
            v = v * 10 + (s[from] - '0');
    }
    return v;
}

/* Interpret the suffix text: a table entry, or an exponent e/E[sign]digits. */
static int
suffix_lookup(struct qtext *t)
{
    const char *suf = t->s + t->suf_start;
    size_t len = t->suf_end - t->suf_start, i, d;
    int neg;

    for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        if (strlen(suffixes[i].name) == len && memcmp(suffixes[i].name, suf, len) == 0) {
            t->fmt = suffixes[i].fmt;
            if (t->fmt == SK_QUANTITY_BINARY_SI)
                t->bin_exp = suffixes[i].exp;
            else
                t->exp10 = suffixes[i].exp;
            return 0;
        }
    }
    if (len < 2 || (suf[0] != 'e' && suf[0] != 'E'))
        return -1;
    neg = suf[1] == '-';
    d = (suf[1] == '-' || suf[1] == '+') ? 2 : 1;
    if (d >= len)
        return -1;
    for (i = d; i < len; i++) {
        if (!is_digit(suf[i]))
            return -1;
    }
    t->exp10 = exp_digits(suf, d, len);
    if (neg)
        t->exp10 = -t->exp10;
    t->fmt = SK_QUANTITY_DECIMAL_EXP;
    return 0;
}

/* Split s into sign, digits and suffix, and interpret the suffix. */
static int
q_scan(struct qtext *t, struct sk_err *err)
{
    char suf[SK_QUOTE_SIZE(QUOTE_MAX)];
    size_t p = 0;

    if (t->len == 0)
        return q_fail(err, EINVAL, t, "empty");
    if (t->s[p] == '+' || t->s[p] == '-')
        t->neg = t->s[p++] == '-';
    t->int_start = p;
    while (p < t->len && is_digit(t->s[p]))
        p++;
    t->int_end = t->frac_start = t->frac_end = p;
    if (p < t->len && t->s[p] == '.') {
        t->frac_start = ++p;
        while (p < t->len && is_digit(t->s[p]))
            p++;
        t->frac_end = p;
    }
    if (t->int_end == t->int_start && t->frac_end == t->frac_start) {
        if (p == t->len || is_alpha(t->s[p]))
            return q_fail(err, EINVAL, t, "expected a number");
        return q_unexpected(err, t, p);
    }
    t->suf_start = p;
    while (p < t->len && is_alpha(t->s[p]))
        p++;
    /* An exponent: "e"/"E" alone, then an optional sign and digits. */
    if (p == t->suf_start + 1 && (t->s[t->suf_start] | 0x20) == 'e' && p < t->len &&
        (t->s[p] == '+' || t->s[p] == '-' || is_digit(t->s[p]))) {
        p++;
        while (p < t->len && is_digit(t->s[p]))
            p++;
    }
    t->suf_end = p;
    if (suffix_lookup(t) < 0) {
        sk_quote_input(suf, sizeof(suf), t->s + t->suf_start, t->suf_end - t->suf_start, QUOTE_MAX);
        return q_fail(err, EINVAL, t, "unknown suffix '%s'", suf);
    }
    if (p < t->len)
        return q_unexpected(err, t, p);
    return 0;
}

/* The significant digits of a number, least significant first: the value
 * is d * 10^exp. */
struct digits {
    unsigned char *d;
    size_t n;
    int64_t exp;
};

/* The i-th digit of the integer and fraction digits read as one string. */
static unsigned char
text_digit(const struct qtext *t, size_t i)
{
    size_t nint = t->int_end - t->int_start;

    if (i < nint)
        return (unsigned char)(t->s[t->int_start + i] - '0');
    return (unsigned char)(t->s[t->frac_start + i - nint] - '0');
}

/* Fill g from t, dropping leading and trailing zeros. g->d must hold the
 * digit count plus 19 (what a 2^60 multiplier adds). */
static void
digits_collect(const struct qtext *t, struct digits *g)
{
    size_t nfrac = t->frac_end - t->frac_start;
    size_t hi = t->int_end - t->int_start + nfrac, lo = 0, i;

    while (lo < hi && text_digit(t, lo) == 0)
        lo++;
    g->exp = t->exp10 - (int64_t)nfrac;
    while (hi > lo && text_digit(t, hi - 1) == 0) {
        hi--;
        g->exp++;
    }
    g->n = hi - lo;
    for (i = 0; i < g->n; i++)
        g->d[i] = text_digit(t, hi - 1 - i);
}

/* g *= 2^bits, ten bits at a time (a digit times 1024 plus the carry fits
 * an unsigned easily). */
static void
digits_shift(struct digits *g, int bits)
{
    unsigned carry, v;
    size_t i;
    int k;

    for (; bits > 0; bits -= k) {
        k = bits > 10 ? 10 : bits;
        carry = 0;
        for (i = 0; i < g->n; i++) {
            v = g->d[i] * (1u << k) + carry;
            g->d[i] = (unsigned char)(v % 10);
            carry = v / 10;
        }
        for (; carry; carry /= 10)
            g->d[g->n++] = (unsigned char)(carry % 10);
    }
}

/* The magnitude of g in nanos, rounded away from zero: digits below the
 * nano place are cut and, if any was not zero, one nano is added (as
 * Kubernetes rounds with inf.RoundUp to scale 9). Returns -1 when the
 * value has more digits than any in-range value. */
static int
digits_to_nanos(const struct digits *g, unanos_t *mag)
{
    int64_t k = g->exp + 9;
    size_t first = 0, i;
    unanos_t v = 0;
    int sticky = 0;

    *mag = 0;
    if (g->n == 0)
        return 0;
    if (k < 0) {
        if ((uint64_t)-k >= g->n) {
            *mag = 1;
            return 0;
        }
        first = (size_t)-k;
        for (i = 0; i < first; i++)
            sticky |= g->d[i] != 0;
        k = 0;
    }
    if ((int64_t)(g->n - first) + k > NANOS_DIGITS)
        return -1;
    for (i = g->n; i-- > first;)
        v = v * 10 + g->d[i];
    for (; k > 0; k--)
        v *= 10;
    *mag = v + (unsigned)sticky;
    return 0;
}

/* The magnitude in nanos of a scanned quantity, or -1 if out of range. */
static int
q_magnitude(const struct qtext *t, unanos_t *mag)
{
    unsigned char small[96];
    struct digits g;
    size_t need = t->int_end - t->int_start + t->frac_end - t->frac_start + 20;
    int rc;

    g.d = need <= sizeof(small) ? small : sk_malloc(need);
    digits_collect(t, &g);
    digits_shift(&g, t->bin_exp);
    rc = digits_to_nanos(&g, mag);
    if (rc == 0 && *mag > (t->neg ? MIN_NANOS_MAG : MAX_NANOS))
        rc = -1;
    if (g.d != small)
        free(g.d);
    return rc;
}

static int
quantity_parse_n(const char *s, size_t len, struct sk_quantity *q, struct sk_err *err)
{
    struct qtext t;
    unanos_t mag;
    enum sk_quantity_fmt fmt;
    int rc;

    memset(&t, 0, sizeof(t));
    t.s = s ? s : "";
    t.len = s ? len : 0;
    rc = q_scan(&t, err);
    if (rc < 0)
        return rc;
    if (q_magnitude(&t, &mag) < 0)
        return q_fail(err, ERANGE, &t, "too large");
    /* Kubernetes turns a binary quantity below one into decimal SI, so
     * that "0.5Ki" prints as "512" and not as a rounded binary value. */
    fmt = t.fmt;
    if (fmt == SK_QUANTITY_BINARY_SI && mag < NANO)
        fmt = SK_QUANTITY_DECIMAL_SI;
    q_set(q, t.neg ? -(nanos_t)mag : (nanos_t)mag, fmt);
    return 0;
}

int
sk_quantity_parse(const char *s, struct sk_quantity *q, struct sk_err *err)
{
    return quantity_parse_n(s, s ? strlen(s) : 0, q, err);
}

/* The shortest %g rendering of d that reads back as d: what a person or a
 * YAML-to-JSON conversion most likely wrote. */
static void
real_shortest(double d, char *buf, size_t bufsz)
{
    int prec;

    for (prec = 1; prec <= 17; prec++) {
        snprintf(buf, bufsz, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            return;
    }
}

int
sk_quantity_from_json(const json_t *v, struct sk_quantity *q, struct sk_err *err)
{
    char buf[64];
    const char *s;
    size_t len;
    double d;
    int rc;

    if (json_is_string(v)) {
        s = json_string_value(v);
        len = json_string_length(v);
        if (strlen(s) != len)
            return sk_err_set(err, EINVAL, "quantity: contains a NUL byte");
        return quantity_parse_n(s, len, q, err);
    }
    if (json_is_integer(v)) {
        *q = sk_quantity_from_value((int64_t)json_integer_value(v), 0);
        return 0;
    }
    if (json_is_real(v) && isfinite(json_real_value(v))) {
        d = json_real_value(v);
        real_shortest(d, buf, sizeof(buf));
        rc = sk_quantity_parse(buf, q, err);
        if (rc < 0)
            return rc;
        /* Kubernetes sees the number as Go's encoding/json prints it: plain
         * digits from 1e-6 up to 1e21, an exponent outside. */
        if (fabs(d) >= 1e-6 && fabs(d) < 1e21)
            q->fmt = SK_QUANTITY_DECIMAL_SI;
        return 0;
    }
    return sk_err_set(err, EINVAL, "quantity: must be a string or a number");
}

struct sk_quantity
sk_quantity_from_value(int64_t value, int binary)
{
    struct sk_quantity q;

    q_set(&q, (nanos_t)value * NANO, binary ? SK_QUANTITY_BINARY_SI : SK_QUANTITY_DECIMAL_SI);
    return q;
}

struct sk_quantity
sk_quantity_from_milli(int64_t milli)
{
    struct sk_quantity q;

    q_set(&q, (nanos_t)milli * (NANO / 1000), SK_QUANTITY_DECIMAL_SI);
    return q;
}

/* n / div rounded away from zero (Kubernetes' negativeScaleInt64). */
static nanos_t
div_away(nanos_t n, nanos_t div)
{
    nanos_t r = n / div;

    if (n % div > 0)
        r++;
    else if (n % div < 0)
        r--;
    return r;
}

int64_t
sk_quantity_value(const struct sk_quantity *q)
{
    /* In range by construction: the bounds are whole numbers. */
    return (int64_t)div_away(q_nanos(q), NANO);
}

int64_t
sk_quantity_milli(const struct sk_quantity *q)
{
    nanos_t m = div_away(q_nanos(q), NANO / 1000);

    if (m > INT64_MAX)
        return INT64_MAX;
    if (m < INT64_MIN)
        return INT64_MIN;
    return (int64_t)m;
}

int
sk_quantity_sign(const struct sk_quantity *q)
{
    nanos_t n = q_nanos(q);

    return (n > 0) - (n < 0);
}

int
sk_quantity_cmp(const struct sk_quantity *a, const struct sk_quantity *b)
{
    nanos_t x = q_nanos(a), y = q_nanos(b);

    return (x > y) - (x < y);
}

static int
q_combine(struct sk_quantity *q, const struct sk_quantity *y, int sign, struct sk_err *err)
{
    char a[SK_QUANTITY_STR_MAX], b[SK_QUANTITY_STR_MAX];
    nanos_t r = q_nanos(q) + sign * q_nanos(y);

    if (!nanos_in_range(r)) {
        sk_quantity_format(q, a, sizeof(a));
        sk_quantity_format(y, b, sizeof(b));
        return sk_err_set(err, ERANGE, "quantity '%s' %c '%s': too large", a, sign > 0 ? '+' : '-',
                          b);
    }
    q_set(q, r, q_nanos(q) == 0 ? y->fmt : q->fmt);
    return 0;
}

int
sk_quantity_add(struct sk_quantity *q, const struct sk_quantity *y, struct sk_err *err)
{
    return q_combine(q, y, 1, err);
}

int
sk_quantity_sub(struct sk_quantity *q, const struct sk_quantity *y, struct sk_err *err)
{
    return q_combine(q, y, -1, err);
}

/* Decimal digits of v into buf (at least 40 bytes); returns buf. */
static const char *
u128_str(unanos_t v, char *buf, size_t bufsz)
{
    char *p = buf + bufsz;

    *--p = '\0';
    do {
        *--p = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v);
    return p;
}

/* Binary form: v (whole, >= 1024) over the largest power of 1024 that
 * divides it. */
static const char *
canon_binary(unanos_t *v)
{
    static const char *const names[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
    int e = 0;

    while (*v >= 1024 && *v % 1024 == 0) {
        *v /= 1024;
        e++;
    }
    return names[e];
}

/* Decimal form: v nanos as mantissa * 10^exp with exp a multiple of three,
 * as large as the trailing zeros allow (Kubernetes' AsCanonicalBytes). */
static int
canon_decimal(unanos_t *v)
{
    int e = -9;

    while (*v >= 10 && *v % 10 == 0) {
        *v /= 10;
        e++;
    }
    for (; (e + 9) % 3 != 0; e--)
        *v *= 10;
    return e;
}

int
sk_quantity_format(const struct sk_quantity *q, char *out, size_t outsz)
{
    static const char *const si[] = {"n", "u", "m", "", "k", "M", "G", "T", "P", "E"};
    char digits[48], suffix[8];
    nanos_t n = q_nanos(q);
    unanos_t v = n < 0 ? (unanos_t)-n : (unanos_t)n;
    enum sk_quantity_fmt fmt = q->fmt;
    int e, len;

    suffix[0] = '\0';
    if (fmt == SK_QUANTITY_BINARY_SI && (v < 1024 * (unanos_t)NANO || v % NANO != 0))
        fmt = SK_QUANTITY_DECIMAL_SI;
    if (v == 0) {
        /* Zero is "0" whatever the format. */
    } else if (fmt == SK_QUANTITY_BINARY_SI) {
        v /= NANO;
        snprintf(suffix, sizeof(suffix), "%s", canon_binary(&v));
    } else {
        e = canon_decimal(&v);
        if (fmt == SK_QUANTITY_DECIMAL_SI)
            snprintf(suffix, sizeof(suffix), "%s", si[(e + 9) / 3]);
        else if (e != 0)
            snprintf(suffix, sizeof(suffix), "e%d", e);
    }
    len = snprintf(out, outsz, "%s%s%s", n < 0 ? "-" : "", u128_str(v, digits, sizeof(digits)),
                   suffix);
    if (len < 0 || (size_t)len >= outsz)
        return -1;
    return len;
}
