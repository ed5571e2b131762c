/* YAML scalar resolution: the table at the top of yaml.h. kubectl reads
 * YAML with a YAML 1.1 resolver (go-yaml v2 under sigs.k8s.io/yaml), so
 * unquoted yes/no/on/off are booleans and "0644" is octal; manifests
 * written for it must mean the same here. */
#include "yaml_int.h"
#include "alloc.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TAG_PREFIX "tag:yaml.org,2002:"
/* Scalars quoted in messages are cut to this many bytes. */
#define SHOWN_MAX 64

static const char *const null_words[] = {"", "~", "null", "Null", "NULL"};
static const char *const true_words[] = {"true", "True", "TRUE", "yes", "Yes",
                                         "YES",  "on",   "On",   "ON"};
static const char *const false_words[] = {"false", "False", "FALSE", "no", "No",
                                          "NO",    "off",   "Off",   "OFF"};
static const char *const inf_words[] = {".inf", ".Inf", ".INF"};
static const char *const nan_words[] = {".nan", ".NaN", ".NAN"};

#define WORD_IN(s, len, words) word_in(s, len, words, sizeof(words) / sizeof(words[0]))

static bool
word_in(const char *s, size_t len, const char *const *words, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(words[i]) == len && memcmp(s, words[i], len) == 0)
            return true;
    return false;
}

static int
shown(size_t len)
{
    return len > SHOWN_MAX ? SHOWN_MAX : (int)len;
}

static json_t *
json_checked(json_t *v)
{
    if (!v)
        SK_BUG("yaml: out of memory");
    return v;
}

static unsigned
digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return (unsigned)(c - '0');
    if (c >= 'a' && c <= 'f')
        return (unsigned)(c - 'a' + 10);
    if (c >= 'A' && c <= 'F')
        return (unsigned)(c - 'A' + 10);
    return 99;
}

/* s[0..len) as digits in base: -EINVAL on none or a bad digit, -ERANGE
 * beyond uint64. */
static int
parse_digits(const char *s, size_t len, unsigned base, uint64_t *out)
{
    bool over = false;
    uint64_t v = 0;

    if (len == 0)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        unsigned d = digit_value(s[i]);

        if (d >= base)
            return -EINVAL;
        if (v > (UINT64_MAX - d) / base)
            over = true;
        else
            v = v * base + d;
    }
    *out = v;
    return over ? -ERANGE : 0;
}

static unsigned
prefix_base(char c)
{
    switch (c) {
    case 'x':
    case 'X':
        return 16;
    case 'o':
    case 'O':
        return 8;
    case 'b':
    case 'B':
        return 2;
    }
    return 0;
}

static bool
all_octal(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '7')
            return false;
    return true;
}

/* An integer in one of the forms of yaml.h. Returns 0 with *out, -EINVAL
 * when s is no integer, -ERANGE when it is one beyond int64 (*decimal
 * then says whether it was written in base 10). */
static int
parse_int(const char *s, size_t len, int64_t *out, bool *decimal)
{
    unsigned base = 10;
    bool neg = false;
    size_t i = 0;
    uint64_t u;
    int rc;

    if (len > 0 && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (len - i > 2 && s[i] == '0' && prefix_base(s[i + 1])) {
        base = prefix_base(s[i + 1]);
        i += 2;
    } else if (len - i > 1 && s[i] == '0' && all_octal(s + i + 1, len - i - 1)) {
        base = 8;
        i += 1;
    }
    *decimal = base == 10;
    rc = parse_digits(s + i, len - i, base, &u);
    if (rc < 0)
        return rc;
    if (u > (uint64_t)INT64_MAX + neg)
        return -ERANGE;
    if (neg)
        *out = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
    else
        *out = (int64_t)u;
    return 0;
}

static size_t
skip_digits(const char *s, size_t len, size_t *i)
{
    size_t start = *i;

    while (*i < len && s[*i] >= '0' && s[*i] <= '9')
        (*i)++;
    return *i - start;
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? as go-yaml v2. */
static bool
is_float(const char *s, size_t len)
{
    size_t i = 0, int_digits, frac_digits = 0;

    if (i < len && (s[i] == '+' || s[i] == '-'))
        i++;
    int_digits = skip_digits(s, len, &i);
    if (i < len && s[i] == '.') {
        i++;
        frac_digits = skip_digits(s, len, &i);
    }
    if (int_digits == 0 && frac_digits == 0)
        return false;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        if (skip_digits(s, len, &i) == 0)
            return false;
    }
    return i == len;
}

static bool
is_inf_nan(const char *s, size_t len)
{
    if (len > 0 && (s[0] == '+' || s[0] == '-'))
        return WORD_IN(s + 1, len - 1, inf_words);
    return WORD_IN(s, len, inf_words) || WORD_IN(s, len, nan_words);
}

static int
make_string(const char *s, size_t len, json_t **out, struct sk_err *err)
{
    if (memchr(s, '\0', len))
        return sk_err_set(err, EINVAL, "string contains a NUL character");
    *out = json_stringn(s, len);
    if (!*out)
        return sk_err_set(err, EINVAL, "string is not valid UTF-8");
    return 0;
}

/* s has the syntax of a decimal real (or integer); strtod reads it. */
static int
make_real(const char *s, size_t len, json_t **out, struct sk_err *err)
{
    char *copy = sk_strndup(s, len);
    double d = strtod(copy, NULL);

    free(copy);
    if (!isfinite(d))
        return sk_err_set(err, EINVAL, "number '%.*s' out of range", shown(len), s);
    *out = json_checked(json_real(d));
    return 0;
}

static int
refuse_inf_nan(const char *s, size_t len, struct sk_err *err)
{
    return sk_err_set(err, EINVAL, "'%.*s' cannot be represented in JSON", shown(len), s);
}

static int
resolve_plain(const char *s, size_t len, json_t **out, struct sk_err *err)
{
    bool decimal;
    int64_t i;
    int rc;

    if (WORD_IN(s, len, null_words)) {
        *out = json_null();
        return 0;
    }
    if (WORD_IN(s, len, true_words) || WORD_IN(s, len, false_words)) {
        *out = json_boolean(WORD_IN(s, len, true_words));
        return 0;
    }
    rc = parse_int(s, len, &i, &decimal);
    if (rc == 0) {
        *out = json_checked(json_integer(i));
        return 0;
    }
    if (rc == -ERANGE && !decimal)
        return sk_err_set(err, EINVAL, "integer '%.*s' out of range", shown(len), s);
    if (rc == -ERANGE || is_float(s, len))
        return make_real(s, len, out, err);
    if (is_inf_nan(s, len))
        return refuse_inf_nan(s, len, err);
    return make_string(s, len, out, err);
}

static int
resolve_int(const char *s, size_t len, json_t **out, struct sk_err *err)
{
    bool decimal;
    int64_t i;
    int rc = parse_int(s, len, &i, &decimal);

    if (rc == -ERANGE)
        return sk_err_set(err, EINVAL, "integer '%.*s' out of range", shown(len), s);
    if (rc < 0)
        return sk_err_set(err, EINVAL, "cannot read '%.*s' as !!int", shown(len), s);
    *out = json_checked(json_integer(i));
    return 0;
}

static int
resolve_float(const char *s, size_t len, json_t **out, struct sk_err *err)
{
    bool decimal;
    int64_t i;
    int rc = parse_int(s, len, &i, &decimal);

    if (rc == 0) {
        *out = json_checked(json_real((double)i));
        return 0;
    }
    if ((rc == -ERANGE && decimal) || is_float(s, len))
        return make_real(s, len, out, err);
    if (is_inf_nan(s, len))
        return refuse_inf_nan(s, len, err);
    return sk_err_set(err, EINVAL, "cannot read '%.*s' as !!float", shown(len), s);
}

static int
resolve_words(const char *s, size_t len, const char *name, json_t **out, struct sk_err *err)
{
    if (strcmp(name, "null") == 0 && WORD_IN(s, len, null_words))
        *out = json_null();
    else if (strcmp(name, "bool") == 0 && WORD_IN(s, len, true_words))
        *out = json_true();
    else if (strcmp(name, "bool") == 0 && WORD_IN(s, len, false_words))
        *out = json_false();
    else
        return sk_err_set(err, EINVAL, "cannot read '%.*s' as !!%s", shown(len), s, name);
    return 0;
}

static int
resolve_tagged(const char *s, size_t len, const char *tag, json_t **out, struct sk_err *err)
{
    const char *name;

    if (strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)) != 0)
        return sk_err_set(err, EINVAL, "unsupported tag '%.64s'", tag);
    name = tag + strlen(TAG_PREFIX);
    if (strcmp(name, "str") == 0)
        return make_string(s, len, out, err);
    if (strcmp(name, "int") == 0)
        return resolve_int(s, len, out, err);
    if (strcmp(name, "float") == 0)
        return resolve_float(s, len, out, err);
    if (strcmp(name, "bool") == 0 || strcmp(name, "null") == 0)
        return resolve_words(s, len, name, out, err);
    return sk_err_set(err, EINVAL, "unsupported tag '!!%s'", name);
}

int
sk_yaml_scalar_resolve(const char *text, size_t len, const char *tag, bool plain, json_t **out,
                       struct sk_err *err)
{
    *out = NULL;
    /* "!" is the non-specific tag, which makes a scalar a string just as
     * quoting does. */
    if (tag && strcmp(tag, "!") != 0)
        return resolve_tagged(text, len, tag, out, err);
    if (!plain || tag)
        return make_string(text, len, out, err);
    return resolve_plain(text, len, out, err);
}
