/* lib/selector: Kubernetes label selectors, string and structured forms.
 * Expected results follow Kubernetes' labels/selector_test.go and
 * metav1 validation where it has the case. */
#include "lib/selector.h"
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static json_t *
must_json(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);

    if (!v)
        ck_abort_msg("bad test json '%s': %s", text, jerr.text);
    return v;
}

/* The canonical string of sel (static buffer, fine for tests). */
static const char *
fmt(const struct sk_selector *sel)
{
    static char out[4096];
    struct sk_buf buf = SK_BUF_INIT;

    ck_assert_int_eq(sk_selector_format(sel, &buf), 0);
    ck_assert_ptr_nonnull(buf.data);
    snprintf(out, sizeof(out), "%s", buf.data);
    sk_buf_release(&buf);
    return out;
}

static const struct {
    const char *in, *canon;
} good[] = {
    {"", ""},
    {"   ", ""},
    {" \t\r\n", ""},
    {"x=a", "x=a"},
    {"x==a", "x==a"},
    {"x!=a", "x!=a"},
    {"x = a", "x=a"},
    {" x == a ", "x==a"},
    {"x", "x"},
    {"!x", "!x"},
    {" ! x ", "!x"},
    {"x in (a,b)", "x in (a,b)"},
    {"x in (b,a)", "x in (a,b)"},
    {"x in (b, a, b)", "x in (a,b)"},
    {"x in(a)", "x in (a)"},
    {"x notin (a)", "x notin (a)"},
    {"x notin(b,a)", "x notin (a,b)"},
    {"x in ()", "x in ()"},
    {"x in (,)", "x in ()"},
    {"x in (,a)", "x in (,a)"},
    {"x in (a,)", "x in (,a)"},
    {"x in (a,,b)", "x in (,a,b)"},
    {"x in (a,,,b)", "x in (,a,b)"},
    {"x>5", "x>5"},
    {"x<5", "x<5"},
    {"x > 10", "x>10"},
    {"x>007", "x>007"},
    {"x>9223372036854775807", "x>9223372036854775807"},
    {"x=", "x="},
    {"x==", "x=="},
    {"x!=", "x!="},
    {"x=,y", "x=,y"},
    {"x!=,y", "x!=,y"},
    {"z,y,x", "x,y,z"},
    {"b=1,a=2", "a=2,b=1"},
    {"a=2,a=1", "a=2,a=1"},
    {"a==2,a=1,a", "a==2,a=1,a"},
    {"x=a,!y,z in (c,d),w notin (e)", "w notin (e),x=a,!y,z in (c,d)"},
    {"x=a , y=b", "x=a,y=b"},
    {"in in (in,notin)", "in in (in,notin)"},
    {"notin notin (notin)", "notin notin (notin)"},
    {"x=in", "x=in"},
    {"x==notin", "x==notin"},
    {"in", "in"},
    {"!notin", "!notin"},
    {"example.com/app=web", "example.com/app=web"},
    {"app.kubernetes.io/name in (web,api)", "app.kubernetes.io/name in (api,web)"},
    {"a.b-c_d=e.f-g_h", "a.b-c_d=e.f-g_h"},
    {"A=B", "A=B"},
    {"0=1", "0=1"},
    {"x\tin\r\n(a)", "x in (a)"},
    {"Z=1,a=1,B=1", "B=1,Z=1,a=1"},
    {"environment=production,tier!=frontend", "environment=production,tier!=frontend"},
    {"environment in (production, qa),tier notin (frontend, backend),partition",
     "environment in (production,qa),partition,tier notin (backend,frontend)"},
};

START_TEST(parse_then_format_gives_the_canonical_form)
{
    struct sk_selector sel, again;
    struct sk_err err;
    char first[4096];

    sk_err_init(&err);
    ck_assert_msg(sk_selector_parse(good[_i].in, &sel, &err) == 0, "'%s': %s", good[_i].in,
                  err.msg);
    snprintf(first, sizeof(first), "%s", fmt(&sel));
    ck_assert_msg(strcmp(first, good[_i].canon) == 0, "'%s' formats as '%s', not '%s'", good[_i].in,
                  first, good[_i].canon);
    ck_assert_int_eq(sk_selector_empty(&sel), good[_i].canon[0] == '\0');
    /* The canonical form is a fixed point. */
    ck_assert_int_eq(sk_selector_parse(first, &again, &err), 0);
    ck_assert_str_eq(fmt(&again), first);
    sk_selector_release(&again);
    sk_selector_release(&sel);
    ck_assert_int_eq(sk_selector_empty(&sel), 1);
}
END_TEST

static const struct {
    const char *in, *msg;
} bad[] = {
    {"env in (a,b", "selector 'env in (a,b': expected ')' at position 11"},
    {",", "selector ',': expected a label key or '!', found ',' at position 0"},
    {")", "selector ')': expected a label key or '!', found ')' at position 0"},
    {"=a", "selector '=a': expected a label key or '!', found '=' at position 0"},
    {"x,", "selector 'x,': expected a label key or '!' after ',' at position 2"},
    {"x,,", "selector 'x,,': expected a label key or '!' after ',', found ',' at position 2"},
    {"x, =", "selector 'x, =': expected a label key or '!' after ',', found '=' at position 3"},
    {"x y", "selector 'x y': expected an operator (=, ==, !=, in, notin, >, <), found 'y' at "
            "position 2"},
    {"x)", "selector 'x)': expected an operator (=, ==, !=, in, notin, >, <), found ')' at "
           "position 1"},
    {"x!a", "selector 'x!a': expected an operator (=, ==, !=, in, notin, >, <), found '!' at "
            "position 1"},
    {"x=a b", "selector 'x=a b': expected ',' or end of selector, found 'b' at position 4"},
    {"x=a=b", "selector 'x=a=b': expected ',' or end of selector, found '=' at position 3"},
    {"x in (a))", "selector 'x in (a))': expected ',' or end of selector, found ')' at "
                  "position 8"},
    {"x===a", "selector 'x===a': expected a value, found '=' at position 3"},
    {"x=(", "selector 'x=(': expected a value, found '(' at position 2"},
    {"x!=!", "selector 'x!=!': expected a value, found '!' at position 3"},
    {"!x=a", "selector '!x=a': expected ',' or end of selector, found '=' at position 2"},
    {"!x in (a)", "selector '!x in (a)': expected ',' or end of selector, found 'in' at "
                  "position 3"},
    {"!", "selector '!': expected a label key at position 1"},
    {"!!x", "selector '!!x': expected a label key, found '!' at position 1"},
    {"! =", "selector '! =': expected a label key, found '=' at position 2"},
    {"x in a", "selector 'x in a': expected '(', found 'a' at position 5"},
    {"x in", "selector 'x in': expected '(' at position 4"},
    {"x notin", "selector 'x notin': expected '(' at position 7"},
    {"x in in", "selector 'x in in': expected '(', found 'in' at position 5"},
    {"x in (", "selector 'x in (': expected a value or ')' at position 6"},
    {"x in (a", "selector 'x in (a': expected ')' at position 7"},
    {"x in (a,", "selector 'x in (a,': expected a value or ')' at position 8"},
    {"x in (a b)", "selector 'x in (a b)': expected ',' or ')', found 'b' at position 8"},
    {"x in (a=)", "selector 'x in (a=)': expected ',' or ')', found '=' at position 7"},
    {"x in (a,,)", "selector 'x in (a,,)': expected a value, found ')' at position 9"},
    {"x in (,,)", "selector 'x in (,,)': expected a value, found ')' at position 8"},
    {"x in (=)", "selector 'x in (=)': expected a value, ',' or ')', found '=' at position 6"},
    {"x in ((a))", "selector 'x in ((a))': expected a value, ',' or ')', found '(' at "
                   "position 6"},
    {"x>", "selector 'x>': invalid value '' at position 2: must be an integer for '>'"},
    {"x>a", "selector 'x>a': invalid value 'a' at position 2: must be an integer for '>'"},
    {"x<1.5", "selector 'x<1.5': invalid value '1.5' at position 2: must be an integer for '<'"},
    {"x < 1e3", "selector 'x < 1e3': invalid value '1e3' at position 4: must be an integer "
                "for '<'"},
    {"x>9223372036854775808", "selector 'x>9223372036854775808': invalid value "
                              "'9223372036854775808' at position 2: must be an integer for '>'"},
    {"x>-1", "selector 'x>-1': invalid label value '-1' at position 2: must begin and end "
             "with an alphanumeric character"},
    {"x=-a", "selector 'x=-a': invalid label value '-a' at position 2: must begin and end "
             "with an alphanumeric character"},
    {"x=a$", "selector 'x=a$': invalid label value 'a$' at position 2: may contain only "
             "alphanumerics, '-', '_' and '.'"},
    {"x=a/b", "selector 'x=a/b': invalid label value 'a/b' at position 2: may contain only "
              "alphanumerics, '-', '_' and '.'"},
    {"x in (a,-b)", "selector 'x in (a,-b)': invalid label value '-b' at position 8: must "
                    "begin and end with an alphanumeric character"},
    {"x=a\x01", "selector 'x=a\\x01': invalid label value 'a\\x01' at position 2: may contain "
                "only alphanumerics, '-', '_' and '.'"},
    {"a/b/c", "selector 'a/b/c': invalid label key 'a/b/c' at position 0: may contain at most "
              "one '/'"},
    {"/a", "selector '/a': invalid label key '/a' at position 0: prefix part must not be "
           "empty"},
    {"a/", "selector 'a/': invalid label key 'a/' at position 0: name part must not be empty"},
    {"x=1,Example.com/a", "selector 'x=1,Example.com/a': invalid label key 'Example.com/a' at "
                          "position 4: prefix part must be a DNS subdomain (lowercase "
                          "alphanumerics, '-' and '.', every part beginning and ending with "
                          "an alphanumeric)"},
    {"-a", "selector '-a': invalid label key '-a' at position 0: name part must begin and end "
           "with an alphanumeric character"},
    {"B=1,a=1,_", "selector 'B=1,a=1,_': invalid label key '_' at position 8: name part must "
                  "begin and end with an alphanumeric character"},
    {"\xc3\xa9=1", "selector '\\xc3\\xa9=1': invalid label key '\\xc3\\xa9' at position 0: "
                   "name part may contain only alphanumerics, '-', '_' and '.'"},
    {"a'b", "selector 'a\\'b': invalid label key 'a\\'b' at position 0: name part may contain "
            "only alphanumerics, '-', '_' and '.'"},
};

START_TEST(syntax_errors_name_the_position)
{
    struct sk_selector sel;
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_msg(sk_selector_parse(bad[_i].in, &sel, &err) == -EINVAL, "'%s' parsed", bad[_i].in);
    ck_assert_int_eq(err.code, EINVAL);
    ck_assert_str_eq(err.msg, bad[_i].msg);
    /* A failed parse leaves an empty selector behind. */
    ck_assert_int_eq(sk_selector_empty(&sel), 1);
    sk_selector_release(&sel);
}
END_TEST

START_TEST(long_keys_and_values_are_checked)
{
    char name63[64], name64[65], prefix253[254], prefix254[255], in[1024], want[1024];
    struct sk_selector sel;
    struct sk_err err;
    size_t i;

    memset(name63, 'n', 63);
    name63[63] = '\0';
    memset(name64, 'n', 64);
    name64[64] = '\0';
    /* "aaa.aaa. ... aaa": parts of 3 with dots, 253 and 254 bytes. */
    for (i = 0; i < 253; i++)
        prefix253[i] = i % 4 == 3 ? '.' : 'a';
    prefix253[253] = '\0';
    memcpy(prefix254, prefix253, 253);
    prefix254[253] = 'a';
    prefix254[254] = '\0';

    snprintf(in, sizeof(in), "%s/%s=%s", prefix253, name63, name63);
    ck_assert_msg(sk_selector_parse(in, &sel, &err) == 0, "%s", err.msg);
    ck_assert_str_eq(fmt(&sel), in);
    sk_selector_release(&sel);

    snprintf(in, sizeof(in), "%s", name64);
    ck_assert_int_eq(sk_selector_parse(in, &sel, &err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, ": name part must be at most 63 characters"));
    snprintf(in, sizeof(in), "%s/a", prefix254);
    ck_assert_int_eq(sk_selector_parse(in, &sel, &err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, ": prefix part must be at most 253 characters"));
    snprintf(in, sizeof(in), "a=%s", name64);
    ck_assert_int_eq(sk_selector_parse(in, &sel, &err), -EINVAL);
    snprintf(want, sizeof(want),
             "selector 'a=%.62s...': invalid label value '%s' at position 2: must be at "
             "most 63 characters",
             name64, name64);
    ck_assert_str_eq(err.msg, want);
}
END_TEST

#define NOT_DNS                                                                                    \
    "prefix part must be a DNS subdomain (lowercase alphanumerics, '-' and '.', every part "       \
    "beginning and ending with an alphanumeric)"

static const struct {
    const char *key;
    const char *msg; /* NULL: valid */
} keys[] = {
    {"a", NULL},
    {"A", NULL},
    {"0", NULL},
    {"a.b", NULL},
    {"a-b", NULL},
    {"a_b", NULL},
    {"A-_.z", NULL},
    {"app.kubernetes.io/name", NULL},
    {"k8s.io/x", NULL},
    {"a-b.c-d/X", NULL},
    {"", "label key '': name part must not be empty"},
    {"/", "label key '/': prefix part must not be empty"},
    {"a/", "label key 'a/': name part must not be empty"},
    {"-a", "label key '-a': name part must begin and end with an alphanumeric character"},
    {"a-", "label key 'a-': name part must begin and end with an alphanumeric character"},
    {".a", "label key '.a': name part must begin and end with an alphanumeric character"},
    {"a b", "label key 'a b': name part may contain only alphanumerics, '-', '_' and '.'"},
    {"a/b/c", "label key 'a/b/c': may contain at most one '/'"},
    {"A.com/x", "label key 'A.com/x': " NOT_DNS},
    {"a..b/x", "label key 'a..b/x': " NOT_DNS},
    {"-a.com/x", "label key '-a.com/x': " NOT_DNS},
    {"a-.com/x", "label key 'a-.com/x': " NOT_DNS},
    {"a.com./x", "label key 'a.com./x': " NOT_DNS},
    {".a.com/x", "label key '.a.com/x': " NOT_DNS},
    {"a_b.com/x", "label key 'a_b.com/x': " NOT_DNS},
    {"a-b.c/-x", "label key 'a-b.c/-x': name part must begin and end with an alphanumeric "
                 "character"},
};

START_TEST(label_keys_are_validated)
{
    struct sk_err err;
    int rc;

    sk_err_init(&err);
    rc = sk_label_key_valid(keys[_i].key, &err);
    if (keys[_i].msg) {
        ck_assert_int_eq(rc, -EINVAL);
        ck_assert_str_eq(err.msg, keys[_i].msg);
    } else {
        ck_assert_msg(rc == 0, "'%s': %s", keys[_i].key, err.msg);
    }
}
END_TEST

START_TEST(label_values_are_validated)
{
    static const struct {
        const char *value, *msg;
    } values[] = {
        {"", NULL},
        {"a", NULL},
        {"a-b_c.d", NULL},
        {"0", NULL},
        {"-a", "label value '-a': must begin and end with an alphanumeric character"},
        {"a.", "label value 'a.': must begin and end with an alphanumeric character"},
        {" a", "label value ' a': may contain only alphanumerics, '-', '_' and '.'"},
        {"a/b", "label value 'a/b': may contain only alphanumerics, '-', '_' and '.'"},
        {"a\nb", "label value 'a\\x0ab': may contain only alphanumerics, '-', '_' and '.'"},
    };
    char v63[64], v64[65];
    struct sk_err err;
    size_t i;

    for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        sk_err_init(&err);
        if (!values[i].msg) {
            ck_assert_msg(sk_label_value_valid(values[i].value, &err) == 0, "'%s': %s",
                          values[i].value, err.msg);
            continue;
        }
        ck_assert_int_eq(sk_label_value_valid(values[i].value, &err), -EINVAL);
        ck_assert_str_eq(err.msg, values[i].msg);
    }
    memset(v63, 'v', 63);
    v63[63] = '\0';
    memset(v64, 'v', 64);
    v64[64] = '\0';
    ck_assert_int_eq(sk_label_value_valid(v63, NULL), 0);
    ck_assert_int_eq(sk_label_value_valid(v64, &err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "': must be at most 63 characters"));
}
END_TEST

static const struct {
    const char *sel, *labels; /* labels: JSON, or NULL for no object */
    int match;
} matches[] = {
    {"", "{}", 1},
    {"", "{\"a\":\"b\"}", 1},
    {"", NULL, 1},
    {"a=b", "{\"a\":\"b\"}", 1},
    {"a=b", "{\"a\":\"c\"}", 0},
    {"a=b", "{}", 0},
    {"a=b", NULL, 0},
    {"a==b", "{\"a\":\"b\"}", 1},
    {"a==b", "{\"a\":\"bb\"}", 0},
    {"a!=b", "{\"a\":\"b\"}", 0},
    {"a!=b", "{\"a\":\"c\"}", 1},
    {"a!=b", "{}", 1}, /* absent label: != holds, as in Kubernetes */
    {"a!=b", NULL, 1},
    {"a in (b,c)", "{\"a\":\"c\"}", 1},
    {"a in (b,c)", "{\"a\":\"d\"}", 0},
    {"a in (b,c)", "{}", 0},
    {"a notin (b,c)", "{\"a\":\"c\"}", 0},
    {"a notin (b,c)", "{\"a\":\"d\"}", 1},
    {"a notin (b,c)", "{}", 1}, /* absent label: notin holds, as in Kubernetes */
    {"a", "{\"a\":\"\"}", 1},
    {"a", "{\"b\":\"a\"}", 0},
    {"!a", "{}", 1},
    {"!a", "{\"a\":\"\"}", 0},
    {"!a", NULL, 1},
    {"a>5", "{\"a\":\"6\"}", 1},
    {"a>5", "{\"a\":\"5\"}", 0},
    {"a>5", "{\"a\":\"+6\"}", 1},
    {"a>5", "{\"a\":\"-7\"}", 0},
    {"a>5", "{\"a\":\"x\"}", 0},
    {"a>5", "{\"a\":\"\"}", 0},
    {"a>5", "{\"a\":\"6.5\"}", 0},
    {"a>5", "{\"a\":\" 6\"}", 0},
    {"a>5", "{\"a\":\"99999999999999999999\"}", 0},
    {"a>5", "{}", 0},
    {"a<5", "{\"a\":\"-7\"}", 1},
    {"a<5", "{\"a\":\"4\"}", 1},
    {"a<5", "{\"a\":\"5\"}", 0},
    {"a<5", "{\"a\":\"-9223372036854775808\"}", 1},
    {"a<5", "{\"a\":\"-9223372036854775809\"}", 0},
    {"a<5", "{}", 0},
    {"a>007", "{\"a\":\"8\"}", 1},
    {"a>0", "{\"a\":\"-0\"}", 0},
    {"a=", "{\"a\":\"\"}", 1},
    {"a=", "{}", 0},
    {"a!=", "{}", 1},
    {"a in ()", "{\"a\":\"\"}", 1},
    {"a in ()", "{\"a\":\"x\"}", 0},
    {"a in (,x)", "{\"a\":\"\"}", 1},
    {"x=a,y!=b", "{\"x\":\"a\"}", 1},
    {"x=a,y!=b", "{\"x\":\"a\",\"y\":\"b\"}", 0},
    {"x=a,y!=b", "{\"x\":\"a\",\"y\":\"c\"}", 1},
    {"x,!y,z in (1,2)", "{\"x\":\"\",\"z\":\"2\"}", 1},
    {"x,!y,z in (1,2)", "{\"x\":\"\",\"y\":\"\",\"z\":\"2\"}", 0},
    {"a=1", "{\"a\":1}", 0}, /* a non-string label counts as absent */
    {"a!=1", "{\"a\":1}", 1},
    {"a", "[\"a\"]", 0}, /* not an object: no labels */
    {"!a", "[\"a\"]", 1},
    {"in in (in)", "{\"in\":\"in\"}", 1},
};

START_TEST(matching_follows_kubernetes)
{
    json_t *labels = matches[_i].labels ? must_json(matches[_i].labels) : NULL;
    struct sk_selector sel;
    struct sk_err err;

    ck_assert_msg(sk_selector_parse(matches[_i].sel, &sel, &err) == 0, "%s", err.msg);
    ck_assert_msg(sk_selector_matches_json(&sel, labels) == matches[_i].match,
                  "'%s' on %s should be %d", matches[_i].sel,
                  matches[_i].labels ? matches[_i].labels : "no labels", matches[_i].match);
    sk_selector_release(&sel);
    json_decref(labels);
}
END_TEST

/* Labels as a NULL-terminated key, value, key, value... array. */
static const char *
lookup_pairs(void *ctx, const char *key)
{
    const char *const *kv = ctx;

    for (; kv[0]; kv += 2) {
        if (strcmp(kv[0], key) == 0)
            return kv[1];
    }
    return NULL;
}

START_TEST(matching_through_a_callback)
{
    const char *pod[] = {"app", "web", "tier", "frontend", "replicas", "3", NULL};
    const char *none[] = {NULL};
    struct sk_selector sel;

    ck_assert_int_eq(sk_selector_parse("app=web,tier in (frontend),replicas>2", &sel, NULL), 0);
    ck_assert_int_eq(sk_selector_matches(&sel, lookup_pairs, pod), 1);
    ck_assert_int_eq(sk_selector_matches(&sel, lookup_pairs, none), 0);
    sk_selector_release(&sel);
    ck_assert_int_eq(sk_selector_parse("app!=db,!canary", &sel, NULL), 0);
    ck_assert_int_eq(sk_selector_matches(&sel, lookup_pairs, pod), 1);
    ck_assert_int_eq(sk_selector_matches(&sel, lookup_pairs, none), 1);
    sk_selector_release(&sel);
}
END_TEST

static const struct {
    const char *json;
    const char *canon; /* NULL: error */
    const char *msg;
} structured[] = {
    {"{}", "", NULL},
    {"{\"matchLabels\":{}}", "", NULL},
    {"{\"matchLabels\":null,\"matchExpressions\":null}", "", NULL},
    {"{\"matchExpressions\":[]}", "", NULL},
    {"{\"matchLabels\":{\"app\":\"web\"}}", "app=web", NULL},
    {"{\"matchLabels\":{\"b\":\"1\",\"a\":\"2\"}}", "a=2,b=1", NULL},
    {"{\"matchLabels\":{\"a\":\"\"}}", "a=", NULL},
    {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":[\"y\",\"x\"]}]}",
     "a in (x,y)", NULL},
    {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":[\"x\",\"x\"]}]}",
     "a in (x,x)", NULL},
    {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"NotIn\",\"values\":[\"x\"]}]}",
     "a notin (x)", NULL},
    {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\"}]}", "a", NULL},
    {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\",\"values\":[]}]}", "a", NULL},
    {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\",\"values\":null}]}", "a", NULL},
    {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"DoesNotExist\"}]}", "!a", NULL},
    {"{\"matchLabels\":{\"tier\":\"fe\"},\"matchExpressions\":[{\"key\":\"env\",\"operator\":"
     "\"In\",\"values\":[\"prod\",\"qa\"]},{\"key\":\"canary\",\"operator\":\"DoesNotExist\"}]}",
     "!canary,env in (prod,qa),tier=fe", NULL},
    {"[]", NULL, "spec.selector: must be an object, not an array"},
    {"\"app=web\"", NULL, "spec.selector: must be an object, not a string"},
    {"{\"matchLabel\":{}}", NULL, "spec.selector.matchLabel: unknown field"},
    {"{\"matchLabels\":[]}", NULL, "spec.selector.matchLabels: must be an object, not an array"},
    {"{\"matchLabels\":{\"a\":1}}", NULL,
     "spec.selector.matchLabels[a]: must be a string, not a number"},
    {"{\"matchLabels\":{\"a\":null}}", NULL,
     "spec.selector.matchLabels[a]: must be a string, not null"},
    {"{\"matchLabels\":{\"a b\":\"x\"}}", NULL,
     "spec.selector.matchLabels: label key 'a b': name part may contain only alphanumerics, "
     "'-', '_' and '.'"},
    {"{\"matchLabels\":{\"a\":\"-x\"}}", NULL,
     "spec.selector.matchLabels[a]: label value '-x': must begin and end with an alphanumeric "
     "character"},
    {"{\"matchExpressions\":{}}", NULL,
     "spec.selector.matchExpressions: must be an array, not an object"},
    {"{\"matchExpressions\":[\"x\"]}", NULL,
     "spec.selector.matchExpressions[0]: must be an object, not a string"},
    {"{\"matchExpressions\":[{\"operator\":\"Exists\"}]}", NULL,
     "spec.selector.matchExpressions[0].key: required"},
    {"{\"matchExpressions\":[{\"key\":1,\"operator\":\"Exists\"}]}", NULL,
     "spec.selector.matchExpressions[0].key: must be a string, not a number"},
    {"{\"matchExpressions\":[{\"key\":\"a/b/c\",\"operator\":\"Exists\"}]}", NULL,
     "spec.selector.matchExpressions[0].key: label key 'a/b/c': may contain at most one '/'"},
    {"{\"matchExpressions\":[{\"key\":\"\",\"operator\":\"Exists\"}]}", NULL,
     "spec.selector.matchExpressions[0].key: label key '': name part must not be empty"},
    {"{\"matchExpressions\":[{\"key\":\"a\"}]}", NULL,
     "spec.selector.matchExpressions[0].operator: required"},
    {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":true}]}", NULL,
     "spec.selector.matchExpressions[0].operator: must be a string, not a boolean"},
    {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"in\",\"values\":[\"x\"]}]}", NULL,
     "spec.selector.matchExpressions[0].operator: unsupported value 'in': must be In, NotIn, "
     "Exists or DoesNotExist"},
    {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Gt\",\"values\":[\"1\"]}]}", NULL,
     "spec.selector.matchExpressions[0].operator: unsupported value 'Gt': must be In, NotIn, "
     "Exists or DoesNotExist"},
    {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\"}]}", NULL,
     "spec.selector.matchExpressions[0].values: must not be empty for operator In"},
    {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"NotIn\",\"values\":[]}]}", NULL,
     "spec.selector.matchExpressions[0].values: must not be empty for operator NotIn"},
    {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\",\"values\":[\"x\"]}]}", NULL,
     "spec.selector.matchExpressions[0].values: must be empty for operator Exists"},
    {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"DoesNotExist\",\"values\":[\"\"]}]}",
     NULL, "spec.selector.matchExpressions[0].values: must be empty for operator DoesNotExist"},
    {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":\"x\"}]}", NULL,
     "spec.selector.matchExpressions[0].values: must be an array, not a string"},
    {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":[1]}]}", NULL,
     "spec.selector.matchExpressions[0].values[0]: must be a string, not a number"},
    {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":[\"ok\",\"-x\"]}]}",
     NULL,
     "spec.selector.matchExpressions[0].values[1]: label value '-x': must begin and end with an "
     "alphanumeric character"},
    {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":[\"x\"],\"valuez\":1}"
     "]}",
     NULL, "spec.selector.matchExpressions[0].valuez: unknown field"},
    {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\"},{\"key\":\"b\",\"operator\":"
     "\"Exists\",\"values\":[\"x\"]}]}",
     NULL, "spec.selector.matchExpressions[1].values: must be empty for operator Exists"},
};

START_TEST(structured_form_builds_and_validates)
{
    json_t *v = must_json(structured[_i].json);
    struct sk_selector sel;
    struct sk_err err;
    int rc;

    sk_err_init(&err);
    rc = sk_selector_from_json(v, &sel, "spec.selector", &err);
    if (structured[_i].canon) {
        ck_assert_msg(rc == 0, "%s: %s", structured[_i].json, err.msg);
        ck_assert_str_eq(fmt(&sel), structured[_i].canon);
        ck_assert_int_eq(sk_selector_empty(&sel), structured[_i].canon[0] == '\0');
    } else {
        ck_assert_int_eq(rc, -EINVAL);
        ck_assert_str_eq(err.msg, structured[_i].msg);
        ck_assert_int_eq(sk_selector_empty(&sel), 1);
    }
    sk_selector_release(&sel);
    json_decref(v);
}
END_TEST

START_TEST(structured_form_matches_like_the_string_form)
{
    json_t *ls = must_json("{\"matchLabels\":{\"app\":\"web\"},\"matchExpressions\":["
                           "{\"key\":\"env\",\"operator\":\"NotIn\",\"values\":[\"dev\"]},"
                           "{\"key\":\"canary\",\"operator\":\"DoesNotExist\"},"
                           "{\"key\":\"tier\",\"operator\":\"Exists\"}]}");
    json_t *yes = must_json("{\"app\":\"web\",\"tier\":\"fe\"}");
    json_t *dev = must_json("{\"app\":\"web\",\"tier\":\"fe\",\"env\":\"dev\"}");
    json_t *canary = must_json("{\"app\":\"web\",\"tier\":\"fe\",\"canary\":\"1\"}");
    struct sk_selector sel, str;

    ck_assert_int_eq(sk_selector_from_json(ls, &sel, NULL, NULL), 0);
    ck_assert_int_eq(sk_selector_parse(fmt(&sel), &str, NULL), 0);
    ck_assert_int_eq(sk_selector_matches_json(&sel, yes), 1);
    ck_assert_int_eq(sk_selector_matches_json(&sel, dev), 0);
    ck_assert_int_eq(sk_selector_matches_json(&sel, canary), 0);
    ck_assert_int_eq(sk_selector_matches_json(&sel, NULL), 0);
    ck_assert_int_eq(sk_selector_matches_json(&str, yes), 1);
    ck_assert_int_eq(sk_selector_matches_json(&str, dev), 0);
    ck_assert_int_eq(sk_selector_matches_json(&str, canary), 0);
    sk_selector_release(&sel);
    sk_selector_release(&str);
    json_decref(ls);
    json_decref(yes);
    json_decref(dev);
    json_decref(canary);
}
END_TEST

START_TEST(null_label_selector_matches_nothing)
{
    json_t *null = json_null(), *labels = must_json("{\"a\":\"b\"}");
    struct sk_selector sel;
    struct sk_err err;

    ck_assert_int_eq(sk_selector_from_json(NULL, &sel, "spec.selector", &err), 0);
    ck_assert_int_eq(sk_selector_matches_json(&sel, labels), 0);
    ck_assert_int_eq(sk_selector_matches_json(&sel, NULL), 0);
    ck_assert_int_eq(sk_selector_empty(&sel), 0);
    ck_assert_str_eq(fmt(&sel), "");
    sk_selector_release(&sel);
    ck_assert_int_eq(sk_selector_empty(&sel), 1);
    ck_assert_int_eq(sk_selector_from_json(null, &sel, "spec.selector", &err), 0);
    ck_assert_int_eq(sk_selector_matches_json(&sel, labels), 0);
    sk_selector_release(&sel);
    /* Without a path, errors say "selector". */
    json_decref(labels);
    labels = must_json("[]");
    ck_assert_int_eq(sk_selector_from_json(labels, &sel, NULL, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "selector: must be an object, not an array");
    json_decref(labels);
}
END_TEST

START_TEST(service_map_selects_by_equality)
{
    static const struct {
        const char *json; /* NULL: a NULL pointer */
        const char *canon, *msg;
    } cases[] = {
        {"{\"tier\":\"fe\",\"app\":\"web\"}", "app=web,tier=fe", NULL},
        {NULL, "", NULL},
        {"null", "", NULL},
        {"{}", "", NULL},
        {"[]", NULL, "spec.selector: must be an object, not an array"},
        {"{\"a\":1}", NULL, "spec.selector[a]: must be a string, not a number"},
        {"{\"a b\":\"x\"}", NULL,
         "spec.selector: label key 'a b': name part may contain only alphanumerics, '-', '_' "
         "and '.'"},
        {"{\"a\":\"-x\"}", NULL,
         "spec.selector[a]: label value '-x': must begin and end with an alphanumeric "
         "character"},
    };
    json_t *web = must_json("{\"app\":\"web\",\"tier\":\"fe\",\"pod-template-hash\":\"x\"}");
    struct sk_selector sel;
    struct sk_err err;
    size_t i;
    json_t *v;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        v = cases[i].json ? must_json(cases[i].json) : NULL;
        sk_err_init(&err);
        if (cases[i].canon) {
            ck_assert_msg(sk_selector_from_map(v, &sel, "spec.selector", &err) == 0, "%s", err.msg);
            ck_assert_str_eq(fmt(&sel), cases[i].canon);
            ck_assert_int_eq(sk_selector_matches_json(&sel, web), 1);
        } else {
            ck_assert_int_eq(sk_selector_from_map(v, &sel, "spec.selector", &err), -EINVAL);
            ck_assert_str_eq(err.msg, cases[i].msg);
        }
        sk_selector_release(&sel);
        json_decref(v);
    }
    json_decref(web);
}
END_TEST

START_TEST(many_requirements_parse_and_sort)
{
    struct sk_buf in = SK_BUF_INIT;
    struct sk_selector sel;
    struct sk_err err;
    char key[32];
    json_t *labels = json_object();
    int i;

    for (i = 20000; i > 0; i--) {
        sk_buf_printf(&in, "%sk%05d in (v%d,w)", i < 20000 ? "," : "", i, i);
        snprintf(key, sizeof(key), "k%05d", i);
        json_object_set_new(labels, key, json_string("w"));
    }
    ck_assert_msg(sk_selector_parse(in.data, &sel, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(sel.nreqs, 20000);
    ck_assert_str_eq(sel.reqs[0].key, "k00001");
    ck_assert_str_eq(sel.reqs[19999].key, "k20000");
    ck_assert_int_eq(sk_selector_matches_json(&sel, labels), 1);
    json_object_set_new(labels, "k12345", json_string("x"));
    ck_assert_int_eq(sk_selector_matches_json(&sel, labels), 0);
    sk_selector_release(&sel);
    sk_buf_release(&in);
    json_decref(labels);
}
END_TEST

/* A small fixed-seed generator, so failures reproduce everywhere. */
static uint64_t
rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

static void
check_message(const struct sk_err *err)
{
    const char *p;

    ck_assert_int_eq(err->code, EINVAL);
    ck_assert(strncmp(err->msg, "selector '", 10) == 0);
    ck_assert_ptr_nonnull(strstr(err->msg, " at position "));
    for (p = err->msg; *p; p++)
        ck_assert_msg(*p >= 0x20 && *p < 0x7f, "unprintable byte in '%s'", err->msg);
}

/* Random label sets over the keys and values the generator uses. */
static json_t *
random_labels(uint64_t *seed)
{
    static const char *const ks[] = {"a", "b", "in", "x.y/z"};
    static const char *const vs[] = {"", "a", "1", "-2", "in", "10"};
    json_t *labels = json_object();
    size_t i;

    for (i = 0; i < 4; i++) {
        if (rng_next(seed) % 2)
            json_object_set_new(labels, ks[i], json_string(vs[rng_next(seed) % 6]));
    }
    return labels;
}

/* A parsed selector and the parse of its canonical form print the same
 * and select the same label sets. */
static void
check_round_trip(const struct sk_selector *sel, const char *in, uint64_t *seed)
{
    struct sk_selector again;
    struct sk_err err;
    char first[4096];
    json_t *labels;
    int i;

    snprintf(first, sizeof(first), "%s", fmt(sel));
    ck_assert_msg(sk_selector_parse(first, &again, &err) == 0, "'%s' -> '%s': %s", in, first,
                  err.msg);
    ck_assert_msg(strcmp(fmt(&again), first) == 0, "'%s' -> '%s' not stable", in, first);
    for (i = 0; i < 4; i++) {
        labels = random_labels(seed);
        ck_assert_int_eq(sk_selector_matches_json(sel, labels),
                         sk_selector_matches_json(&again, labels));
        json_decref(labels);
    }
    sk_selector_release(&again);
}

/* Random bytes, and random sequences of the grammar's own tokens: never a
 * crash or a leak (ASan/UBSan builds watch), canonical forms stable,
 * errors one printable line with a position. */
START_TEST(random_input_never_crashes)
{
    static const char *const toks[] = {"a", "b", "in", "notin", "x.y/z", "1",  "-2", "10",
                                       "(", ")", ",",  "=",     "==",    "!=", "!",  ">",
                                       "<", " ", "\t", "",      "A/",    "/",  "é"};
    uint64_t seed = 0x5eed0004;
    struct sk_selector sel;
    struct sk_err err;
    char in[128];
    size_t len, n, j;
    int i, ok = 0;

    for (i = 0; i < 30000; i++) {
        len = 0;
        n = rng_next(&seed) % 12;
        for (j = 0; j < n; j++) {
            if (i % 2) {
                in[len++] = (char)(1 + rng_next(&seed) % 255);
            } else {
                const char *t = toks[rng_next(&seed) % (sizeof(toks) / sizeof(toks[0]))];

                memcpy(in + len, t, strlen(t));
                len += strlen(t);
            }
        }
        in[len] = '\0';
        sk_err_init(&err);
        if (sk_selector_parse(in, &sel, &err) == 0) {
            check_round_trip(&sel, in, &seed);
            ok++;
        } else {
            check_message(&err);
        }
        sk_selector_release(&sel);
    }
    /* The token generator must reach the valid part of the language. */
    ck_assert_int_gt(ok, 1000);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("selector");
    TCase *tc = tcase_create("string");

    tcase_add_loop_test(tc, parse_then_format_gives_the_canonical_form, 0,
                        sizeof(good) / sizeof(good[0]));
    tcase_add_loop_test(tc, syntax_errors_name_the_position, 0, sizeof(bad) / sizeof(bad[0]));
    tcase_add_test(tc, long_keys_and_values_are_checked);
    tcase_add_loop_test(tc, label_keys_are_validated, 0, sizeof(keys) / sizeof(keys[0]));
    tcase_add_test(tc, label_values_are_validated);
    tcase_add_loop_test(tc, matching_follows_kubernetes, 0, sizeof(matches) / sizeof(matches[0]));
    tcase_add_test(tc, matching_through_a_callback);
    tcase_add_test(tc, many_requirements_parse_and_sort);
    suite_add_tcase(s, tc);

    tc = tcase_create("structured");
    tcase_add_loop_test(tc, structured_form_builds_and_validates, 0,
                        sizeof(structured) / sizeof(structured[0]));
    tcase_add_test(tc, structured_form_matches_like_the_string_form);
    tcase_add_test(tc, null_label_selector_matches_nothing);
    tcase_add_test(tc, service_map_selects_by_equality);
    suite_add_tcase(s, tc);

    tc = tcase_create("random");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, random_input_never_crashes);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
