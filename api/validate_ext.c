/* The one place where api/ touches quantities, label keys/values and
 * label selectors.
 *
 * MERGE: lib/quantity.h and lib/selector.h are written on another
 * branch. Until they land, each wrapper below carries a minimal local
 * implementation; at merge the lead replaces each body with the call
 * named in its "MERGE:" comment and deletes the local helpers. Nothing
 * else in api/ needs to change. */
#include "validate_int.h"

#include "lib/alloc.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- quantities ---- */

static const struct {
    const char *suffix;
    long double factor;
} suffixes[] = {
    {"Ki", 1024.0L},
    {"Mi", 1048576.0L},
    {"Gi", 1073741824.0L},
    {"Ti", 1099511627776.0L},
    {"Pi", 1125899906842624.0L},
    {"Ei", 1152921504606846976.0L},
    {"n", 1e-9L},
    {"u", 1e-6L},
    {"m", 1e-3L},
    {"", 1.0L},
    {"k", 1e3L},
    {"M", 1e6L},
    {"G", 1e9L},
    {"T", 1e12L},
    {"P", 1e15L},
    {"E", 1e18L},
};

static int
quantity_bad(const char *s, struct sk_err *err)
{
    (void)s;
    return sk_err_set(err, EINVAL,
                      "quantities must match the regular expression "
                      "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
}

/* The factor of a suffix: one from the table, or a decimal exponent
 * "e3", "E-2". Returns false when the suffix is malformed. */
static bool
suffix_factor(const char *p, long double *factor)
{
    const char *d;

    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        if (!strcmp(p, suffixes[i].suffix)) {
            *factor = suffixes[i].factor;
            return true;
        }
    }
    if (*p != 'e' && *p != 'E')
        return false;
    d = p + 1 + (p[1] == '+' || p[1] == '-');
    if (!*d || strspn(d, "0123456789") != strlen(d) || strlen(d) > 2)
        return false;
    *factor = powl(10.0L, (long double)strtol(p + 1, NULL, 10));
    return true;
}

/* Local stand-in for sk_quantity_parse + sk_quantity_milli. */
static int
local_quantity_milli(const char *s, int64_t *milli, struct sk_err *err)
{
    const char *p = s;
    size_t ndig = 0, ndot = 0;
    long double v, factor;
    char num[64];

    if (*p == '+' || *p == '-')
        p++;
    for (; isdigit((unsigned char)*p) || *p == '.'; p++) {
        ndig += *p != '.';
        ndot += *p == '.';
    }
    if (!ndig || ndot > 1 || (size_t)(p - s) >= sizeof(num) || !suffix_factor(p, &factor))
        return quantity_bad(s, err);
    memcpy(num, s, (size_t)(p - s));
    num[p - s] = '\0';
    v = strtold(num, NULL) * factor;
    v = ceill(v * 1000.0L); /* Kubernetes's MilliValue rounds up */
    if (v >= 9.2e18L)
        *milli = INT64_MAX;
    else if (v <= -9.2e18L)
        *milli = INT64_MIN;
    else
        *milli = (int64_t)v;
    return 0;
}

/* YAML turns "cpu: 1" and "cpu: 0.5" into numbers; Kubernetes accepts
 * them as quantities, so they are read through their decimal text. */
int
ext_quantity_milli(const json_t *q, int64_t *milli, struct sk_err *err)
{
    char num[64];
    const char *text = num;

    if (json_is_integer(q))
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(q));
    else if (json_is_real(q))
        snprintf(num, sizeof(num), "%.15g", json_real_value(q));
    else if (json_is_string(q))
        text = json_string_value(q);
    else
        return sk_err_set(err, EINVAL, "must be a string or a number");
    /* MERGE: struct sk_quantity x; if (sk_quantity_parse(text, &x, err) < 0) return
     * -EINVAL; *milli = sk_quantity_milli(&x); return 0; */
    return local_quantity_milli(text, milli, err);
}

/* ---- label keys and values ---- */

#define QUALIFIED_FMT "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
#define QUALIFIED_MSG                                                                              \
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "    \
    "alphanumeric character"

static bool
alnum(char c)
{
    return isascii((unsigned char)c) && isalnum((unsigned char)c);
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] */
static bool
qualified_ok(const char *s)
{
    size_t n = strlen(s);

    if (!n || !alnum(s[0]) || !alnum(s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!alnum(s[i]) && !strchr("-_.", s[i]))
            return false;
    return true;
}

static bool
prefix_ok(const char *s)
{
    struct api_errors errs;
    struct vctx v;
    size_t n;

    api_errors_init(&errs);
    vctx_init(&v, &errs);
    n = v_dns1123_subdomain(&v, NULL, s);
    vctx_release(&v);
    api_errors_release(&errs);
    return n == 0;
}

/* Local stand-in for sk_label_key_valid: IsQualifiedName's first message. */
static int
local_label_key_valid(const char *key, struct sk_err *err)
{
    const char *slash = strchr(key, '/'), *name = slash ? slash + 1 : key;
    char *prefix;
    bool ok;

    if (slash && strchr(name, '/'))
        return sk_err_set(err, EINVAL,
                          "a qualified name " QUALIFIED_MSG " (e.g. 'MyName',  or 'my.name',  or "
                          "'123-abc', regex used for validation is '" QUALIFIED_FMT
                          "') with an optional DNS subdomain prefix and '/' (e.g. "
                          "'example.com/MyName')");
    if (slash) {
        if (slash == key)
            return sk_err_set(err, EINVAL, "prefix part must be non-empty");
        prefix = sk_strndup(key, (size_t)(slash - key));
        ok = prefix_ok(prefix);
        free(prefix);
        if (!ok)
            return sk_err_set(
                err, EINVAL,
                "prefix part a lowercase RFC 1123 subdomain must consist of lower "
                "case alphanumeric characters, '-' or '.', and must start and end "
                "with an alphanumeric character (e.g. 'example.com', regex used for "
                "validation is "
                "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
    }
    if (!*name)
        return sk_err_set(err, EINVAL, "name part must be non-empty");
    if (strlen(name) > 63)
        return sk_err_set(err, EINVAL, "name part must be no more than 63 characters");
    if (!qualified_ok(name))
        return sk_err_set(err, EINVAL,
                          "name part " QUALIFIED_MSG " (e.g. 'MyName',  or 'my.name',  or "
                          "'123-abc', regex used for validation is '" QUALIFIED_FMT "')");
    return 0;
}

int
ext_label_key_valid(const char *key, struct sk_err *err)
{
    /* MERGE: return sk_label_key_valid(key, err); */
    return local_label_key_valid(key, err);
}

int
ext_label_value_valid(const char *value, struct sk_err *err)
{
    /* MERGE: return sk_label_value_valid(value, err); */
    if (strlen(value) > 63)
        return sk_err_set(err, EINVAL, "must be no more than 63 characters");
    if (*value && !qualified_ok(value))
        return sk_err_set(err, EINVAL,
                          "a valid label must be an empty string or consist of alphanumeric "
                          "characters, '-', '_' or '.', and must start and end with an "
                          "alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
                          "regex used for validation is '(" QUALIFIED_FMT ")?')");
    return 0;
}

/* ---- selectors ---- */

/* MERGE: struct ext_selector { struct sk_selector sel; }; */
struct ext_selector {
    const json_t *json; /* borrowed; the validated metav1.LabelSelector */
};

struct ext_selector *
ext_selector_new(const json_t *label_selector, const char *path, struct sk_err *err)
{
    struct ext_selector *sel;

    /* MERGE: sk_selector_from_json(label_selector, &sel->sel, path, err) (free sel on
     * failure). The local version trusts v_label_selector() to have
     * checked the shape already. */
    if (!json_is_object(label_selector)) {
        sk_err_set(err, EINVAL, "%s: must be an object", path);
        return NULL;
    }
    sel = sk_malloc(sizeof(*sel));
    sel->json = label_selector;
    return sel;
}

static bool
value_in(const json_t *values, const char *s)
{
    size_t i;
    json_t *val;

    json_array_foreach (values, i, val)
        if (json_is_string(val) && !strcmp(json_string_value(val), s))
            return true;
    return false;
}

static bool
requirement_matches(const json_t *req, const json_t *labels)
{
    const char *key = json_string_value(json_object_get(req, "key"));
    const char *op = json_string_value(json_object_get(req, "operator"));
    const char *have;

    if (!key || !op)
        return false;
    have = json_string_value(json_object_get(labels, key));
    if (!strcmp(op, "Exists"))
        return have != NULL;
    if (!strcmp(op, "DoesNotExist"))
        return have == NULL;
    if (!strcmp(op, "In"))
        return have && value_in(json_object_get(req, "values"), have);
    if (!strcmp(op, "NotIn"))
        return !have || !value_in(json_object_get(req, "values"), have);
    return false;
}

bool
ext_selector_matches(const struct ext_selector *sel, const json_t *labels)
{
    /* MERGE: return sk_selector_matches_json(&sel->sel, labels); */
    json_t *ml = json_object_get(sel->json, "matchLabels"), *val, *req;
    const char *key, *have;
    size_t i;

    json_object_foreach (ml, key, val) {
        have = json_string_value(json_object_get(labels, key));
        if (!have || !json_is_string(val) || strcmp(have, json_string_value(val)))
            return false;
    }
    json_array_foreach (json_object_get(sel->json, "matchExpressions"), i, req)
        if (!requirement_matches(req, labels))
            return false;
    return true;
}

void
ext_selector_free(struct ext_selector *sel)
{
    /* MERGE: if (sel) sk_selector_release(&sel->sel); */
    free(sel);
}
