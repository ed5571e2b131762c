/* lib/yaml: YAML to JSON with kubectl's scalar rules, anchors and limits;
 * manifest reading (JSON or YAML, lists flattened). */
#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "lib/json.h"
#include "lib/yaml.h"
#include "unit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Convert text and return all documents encoded, one per line. */
static char *
yaml_dump(const char *text)
{
    struct sk_buf out = SK_BUF_INIT;
    struct sk_err err;
    json_t **docs;
    size_t n, i;

    sk_err_init(&err);
    ck_assert_msg(sk_yaml_to_json(text, strlen(text), &docs, &n, &err) == 0, "'%s': %s", text,
                  err.msg);
    for (i = 0; i < n; i++) {
        if (i)
            sk_buf_putc(&out, '\n');
        ck_assert_int_eq(sk_json_dump_buf(docs[i], &out), 0);
    }
    sk_json_docs_free(docs, n);
    return sk_buf_detach(&out, NULL);
}

static void
assert_yaml(const char *text, const char *want)
{
    char *got = yaml_dump(text);

    ck_assert_msg(strcmp(got, want) == 0, "'%s' gave '%s', want '%s'", text, got, want);
    free(got);
}

static void
assert_yaml_error(const char *text, size_t len, const char *want)
{
    struct sk_err err;
    json_t **docs = (json_t **)&err;
    size_t n = 99;

    sk_err_init(&err);
    ck_assert_msg(sk_yaml_to_json(text, len, &docs, &n, &err) == -EINVAL, "'%s' parsed", text);
    ck_assert_ptr_null(docs);
    ck_assert_uint_eq(n, 0);
    ck_assert_msg(strstr(err.msg, want), "'%s' gave '%s', want '%s'", text, err.msg, want);
    ck_assert_msg(sk_startswith(err.msg, "yaml: line "), "'%s' gave '%s'", text, err.msg);
}

/* --- scalars ------------------------------------------------------------ */

static const struct {
    const char *yaml; /* the value of key v */
    const char *json; /* what it becomes */
} scalar_cases[] = {
    /* YAML 1.1 booleans, as kubectl reads them */
    {"true", "true"},
    {"True", "true"},
    {"TRUE", "true"},
    {"false", "false"},
    {"False", "false"},
    {"FALSE", "false"},
    {"yes", "true"},
    {"Yes", "true"},
    {"YES", "true"},
    {"no", "false"},
    {"No", "false"},
    {"NO", "false"},
    {"on", "true"},
    {"On", "true"},
    {"ON", "true"},
    {"off", "false"},
    {"Off", "false"},
    {"OFF", "false"},
    {"tRUE", "\"tRUE\""},
    {"y", "\"y\""},
    {"n", "\"n\""},
    {"Y", "\"Y\""},
    {"yES", "\"yES\""},
    /* nulls */
    {"null", "null"},
    {"Null", "null"},
    {"NULL", "null"},
    {"~", "null"},
    {"", "null"},
    {"nULL", "\"nULL\""},
    /* integers */
    {"0", "0"},
    {"-0", "0"},
    {"42", "42"},
    {"+42", "42"},
    {"-42", "-42"},
    {"0x1F", "31"},
    {"0x1f", "31"},
    {"-0x10", "-16"},
    {"0o17", "15"},
    {"0644", "420"},
    {"00", "0"},
    {"0b101", "5"},
    {"08", "8"},
    {"0999", "999"},
    {"9223372036854775807", "9223372036854775807"},
    {"-9223372036854775808", "-9223372036854775808"},
    {"0x7fffffffffffffff", "9223372036854775807"},
    {"-0x8000000000000000", "-9223372036854775808"},
    /* a decimal beyond int64 becomes a real */
    {"9223372036854775808", "9.22337203685478e18"},
    {"123456789012345678901234567890", "1.23456789012346e29"},
    /* reals */
    {"1.5", "1.5"},
    {"-0.25", "-0.25"},
    {".5", "0.5"},
    {"1.", "1.0"},
    {"1e3", "1000.0"},
    {"1.5E-3", "0.0015"},
    {"+2.0", "2.0"},
    {"0.1", "0.1"},
    /* strings */
    {"hello world", "\"hello world\""},
    {"1.2.3", "\"1.2.3\""},
    {"0x", "\"0x\""},
    {"0xZZ", "\"0xZZ\""},
    {"0o8", "\"0o8\""},
    {"1_000", "\"1_000\""},
    {"12:30", "\"12:30\""},
    {"2024-01-01", "\"2024-01-01\""},
    {"--", "\"--\""},
    {"[-]", "[\"-\"]"},
    {".", "\".\""},
    {"1e", "\"1e\""},
    {"e3", "\"e3\""},
    {"-.nan", "\"-.nan\""},
    {"yes please", "\"yes please\""},
    {"h\xc3\xa9llo", "\"h\xc3\xa9llo\""},
    {"nginx:1.25", "\"nginx:1.25\""},
    /* quoted scalars are strings, verbatim */
    {"'yes'", "\"yes\""},
    {"\"true\"", "\"true\""},
    {"'42'", "\"42\""},
    {"''", "\"\""},
    {"\"\"", "\"\""},
    {"'~'", "\"~\""},
    {"'null'", "\"null\""},
    {"\"0x1F\"", "\"0x1F\""},
    {"'.inf'", "\".inf\""},
    {"'it''s'", "\"it's\""},
    {"\"tab\\there\"", "\"tab\\there\""},
    {"\"\\u00e9\"", "\"\xc3\xa9\""},
    {"\"a\\nb\"", "\"a\\nb\""},
    /* block scalars are strings */
    {"|\n  a\n  b\n", "\"a\\nb\\n\""},
    {">\n  a\n  b\n", "\"a b\\n\""},
    {"|-\n  yes\n", "\"yes\""},
    {"|\n  #!/bin/sh\n  echo 42\n", "\"#!/bin/sh\\necho 42\\n\""},
    /* explicit tags */
    {"!!str true", "\"true\""},
    {"!!str 42", "\"42\""},
    {"!!str", "\"\""},
    {"!!int '42'", "42"},
    {"!!int 0x10", "16"},
    {"!!float 1", "1.0"},
    {"!!float '2.5'", "2.5"},
    {"!!bool yes", "true"},
    {"!!bool 'off'", "false"},
    {"!!null ~", "null"},
    {"!!null ''", "null"},
    {"! true", "\"true\""},
    {"! 42", "\"42\""},
    {"!!map {a: 1}", "{\"a\":1}"},
    {"!!seq [a]", "[\"a\"]"},
    /* flow collections resolve their scalars the same way */
    {"[1, yes, 'no', ~, 1.5]", "[1,true,\"no\",null,1.5]"},
    {"{a: 1, 'b': on}", "{\"a\":1,\"b\":true}"},
    {"[]", "[]"},
    {"{}", "{}"},
};

START_TEST(scalars_resolve_like_kubectl)
{
    char *text = sk_asprintf("v: %s\n", scalar_cases[_i].yaml);
    char *want = sk_asprintf("{\"v\":%s}", scalar_cases[_i].json);

    assert_yaml(text, want);
    free(text);
    free(want);
}
END_TEST

static const struct {
    const char *yaml;
    const char *msg;
} scalar_bad_cases[] = {
    {".inf", "yaml: line 1 column 4: '.inf' cannot be represented in JSON"},
    {"-.inf", "'-.inf' cannot be represented in JSON"},
    {"+.Inf", "'+.Inf' cannot be represented in JSON"},
    {".NaN", "'.NaN' cannot be represented in JSON"},
    {".nan", "'.nan' cannot be represented in JSON"},
    {"!!float .inf", "'.inf' cannot be represented in JSON"},
    {"1e999", "yaml: line 1 column 4: number '1e999' out of range"},
    {"0x8000000000000000", "integer '0x8000000000000000' out of range"},
    {"-0x8000000000000001", "integer '-0x8000000000000001' out of range"},
    {"!!int 99999999999999999999", "integer '99999999999999999999' out of range"},
    {"!!int abc", "cannot read 'abc' as !!int"},
    {"!!int 1.5", "cannot read '1.5' as !!int"},
    {"!!float x", "cannot read 'x' as !!float"},
    {"!!bool maybe", "cannot read 'maybe' as !!bool"},
    {"!!null x", "cannot read 'x' as !!null"},
    {"!!binary aGk=", "unsupported tag '!!binary'"},
    {"!!timestamp 2001-12-14", "unsupported tag '!!timestamp'"},
    {"!foo x", "unsupported tag '!foo'"},
    {"!!set {a: 1}", "unsupported tag '!!set'"},
    {"!!map [a]", "unsupported tag '!!map'"},
    {"!!seq {a: 1}", "unsupported tag '!!seq'"},
    {"\"a\\0b\"", "string contains a NUL character"},
};

START_TEST(scalars_that_json_cannot_hold_are_refused)
{
    char *text = sk_asprintf("v: %s\n", scalar_bad_cases[_i].yaml);

    assert_yaml_error(text, strlen(text), scalar_bad_cases[_i].msg);
    free(text);
}
END_TEST

/* --- keys --------------------------------------------------------------- */

static const struct {
    const char *yaml;
    const char *json;
} key_cases[] = {
    {"yes: 1", "{\"yes\":1}"},
    {"on: 1\noff: 2", "{\"on\":1,\"off\":2}"},
    {"1: a", "{\"1\":\"a\"}"},
    {"0x10: a", "{\"0x10\":\"a\"}"},
    {"1: x\n0x1: y", "{\"1\":\"x\",\"0x1\":\"y\"}"},
    {"~: a", "{\"~\":\"a\"}"},
    {"null: a", "{\"null\":\"a\"}"},
    {"1.5: a", "{\"1.5\":\"a\"}"},
    {".inf: a", "{\".inf\":\"a\"}"},
    {"'quoted key': 1", "{\"quoted key\":1}"},
    {"\"kubernetes.io/name\": x", "{\"kubernetes.io/name\":\"x\"}"},
    {"? explicit\n: 1", "{\"explicit\":1}"},
    {"'<<': 1", "{\"<<\":1}"},
    {"a: {b: {c: [1, {d: e}]}}", "{\"a\":{\"b\":{\"c\":[1,{\"d\":\"e\"}]}}}"},
};

START_TEST(keys_are_their_text)
{
    assert_yaml(key_cases[_i].yaml, key_cases[_i].json);
}
END_TEST

static const struct {
    const char *yaml;
    const char *msg;
} key_bad_cases[] = {
    {"a: 1\nb: 2\na: 3\n", "yaml: line 3 column 1: duplicate key 'a'"},
    {"a: 1\n'a': 2\n", "yaml: line 2 column 1: duplicate key 'a'"},
    {"m:\n  x: 1\n  x: 1\n", "yaml: line 3 column 3: duplicate key 'x'"},
    {"{a: 1, a: 2}", "yaml: line 1 column 8: duplicate key 'a'"},
    {"? [a, b]\n: 1\n", "yaml: line 1 column 3: mapping keys must be scalars"},
    {"? {a: 1}\n: 1\n", "yaml: line 1 column 3: mapping keys must be scalars"},
    {"\"a\\0b\": 1\n", "yaml: line 1 column 1: mapping key contains a NUL character"},
    {"a: &x [1]\n*x : 2\n", "yaml: line 2 column 1: mapping keys must be scalars"},
};

START_TEST(bad_keys_are_refused_with_line)
{
    const char *text = key_bad_cases[_i].yaml;

    assert_yaml_error(text, strlen(text), key_bad_cases[_i].msg);
}
END_TEST

/* --- documents ---------------------------------------------------------- */

static const struct {
    const char *yaml;
    const char *json; /* one document per line */
} doc_cases[] = {
    {"a: 1\n---\nb: 2\n", "{\"a\":1}\n{\"b\":2}"},
    {"---\na: 1\n", "{\"a\":1}"},
    {"", ""},
    {"\n\n  \n", ""},
    {"# only a comment\n", ""},
    {"---\n---\n---\n", ""},
    {"--- ~\n--- null\n---\n", ""},
    {"---\n# c\n...\n---\na: 1\n...\n", "{\"a\":1}"},
    {"a: 1\n---\n---\nb: 2\n---\n", "{\"a\":1}\n{\"b\":2}"},
    {"--- 42\n", "42"},
    {"- a\n- b\n", "[\"a\",\"b\"]"},
    {"%YAML 1.1\n---\na: 1\n", "{\"a\":1}"},
    {"{\"a\": [1, 2.5, \"x\"], \"b\": null}", "{\"a\":[1,2.5,\"x\"],\"b\":null}"},
};

START_TEST(streams_give_one_value_per_non_empty_document)
{
    assert_yaml(doc_cases[_i].yaml, doc_cases[_i].json);
}
END_TEST

/* --- anchors, aliases, merge keys ---------------------------------------- */

static const struct {
    const char *yaml;
    const char *json;
} anchor_cases[] = {
    {"a: &x 1\nb: *x\n", "{\"a\":1,\"b\":1}"},
    {"a: &x yes\nb: *x\n", "{\"a\":true,\"b\":true}"},
    {"base: &b {x: 1, y: [1, 2]}\ncopy: *b\n",
     "{\"base\":{\"x\":1,\"y\":[1,2]},\"copy\":{\"x\":1,\"y\":[1,2]}}"},
    {"a: &x 1\nb: &x 2\nc: *x\n", "{\"a\":1,\"b\":2,\"c\":2}"},
    {"k: &k name\n*k : v\n", "{\"k\":\"name\",\"name\":\"v\"}"},
    {"&k key: 1\nother: *k\n", "{\"key\":1,\"other\":\"key\"}"},
    {"a: &e\nb: *e\n", "{\"a\":null,\"b\":null}"},
    {"l: &l [a, b]\nm: [*l, *l]\n", "{\"l\":[\"a\",\"b\"],\"m\":[[\"a\",\"b\"],[\"a\",\"b\"]]}"},
    /* merge keys: written keys win, wherever "<<" stands */
    {"base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\n",
     "{\"base\":{\"x\":1,\"y\":2},\"m\":{\"y\":3,\"x\":1}}"},
    {"base: &b {x: 1, y: 2}\nm:\n  y: 3\n  <<: *b\n",
     "{\"base\":{\"x\":1,\"y\":2},\"m\":{\"y\":3,\"x\":1}}"},
    /* earlier mappings in the list win */
    {"a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\nm:\n  <<: [*a, *b]\n  z: 3\n",
     "{\"a\":{\"x\":1,\"y\":1},\"b\":{\"y\":2,\"z\":2},\"m\":{\"z\":3,\"x\":1,\"y\":1}}"},
    {"m:\n  <<: {x: 1}\n  y: 2\n", "{\"m\":{\"y\":2,\"x\":1}}"},
    {"<<: &b {x: 1}\nc: *b\n", "{\"c\":{\"x\":1},\"x\":1}"},
    {"m: {<<: {a: 1}, <<: {b: 2}}\n", "{\"m\":{\"a\":1,\"b\":2}}"},
    /* a realistic use: shared container settings */
    {"defaults: &d\n  imagePullPolicy: IfNotPresent\n  resources: {limits: {cpu: 500m}}\n"
     "containers:\n- <<: *d\n  name: web\n  image: nginx\n- <<: *d\n  name: side\n"
     "  imagePullPolicy: Always\n",
     "{\"defaults\":{\"imagePullPolicy\":\"IfNotPresent\",\"resources\":{\"limits\":{\"cpu\":"
     "\"500m\"}}},\"containers\":[{\"name\":\"web\",\"image\":\"nginx\",\"imagePullPolicy\":"
     "\"IfNotPresent\",\"resources\":{\"limits\":{\"cpu\":\"500m\"}}},{\"name\":\"side\","
     "\"imagePullPolicy\":\"Always\",\"resources\":{\"limits\":{\"cpu\":\"500m\"}}}]}"},
};

START_TEST(anchors_and_merge_keys_expand)
{
    assert_yaml(anchor_cases[_i].yaml, anchor_cases[_i].json);
}
END_TEST

static const struct {
    const char *yaml;
    const char *msg;
} anchor_bad_cases[] = {
    {"a: *nope\n", "yaml: line 1 column 4: undefined alias '*nope'"},
    {"a: &x 1\n---\nb: *x\n", "yaml: line 3 column 4: undefined alias '*x'"},
    {"a: &x [1, *x]\n", "yaml: line 1 column 11: undefined alias '*x'"},
    {"<<: 1\n", "yaml: line 1 column 5: merge key '<<' needs a mapping or a list of mappings"},
    {"<<: [{a: 1}, 2]\n", "merge key '<<' needs a mapping or a list of mappings"},
    {"a: &a [1]\nm:\n  <<: *a\n",
     "yaml: line 3 column 7: merge key '<<' needs a mapping or a list of mappings"},
    {"a: *\n", "did not find expected alphabetic or numeric character"},
};

START_TEST(bad_aliases_are_refused_with_line)
{
    const char *text = anchor_bad_cases[_i].yaml;

    assert_yaml_error(text, strlen(text), anchor_bad_cases[_i].msg);
}
END_TEST

START_TEST(aliases_are_independent_copies)
{
    const char *text = "a: &x {k: [1]}\nb: *x\n";
    struct sk_err err;
    json_t **docs;
    json_t *a, *b;
    size_t n;

    ck_assert_int_eq(sk_yaml_to_json(text, strlen(text), &docs, &n, &err), 0);
    a = sk_json_get(docs[0], "a");
    b = sk_json_get(docs[0], "b");
    ck_assert_ptr_ne(a, b);
    ck_assert_ptr_ne(sk_json_get(a, "k"), sk_json_get(b, "k"));
    ck_assert_int_eq(a->refcount, 1);
    ck_assert_int_eq(b->refcount, 1);
    json_array_append_new(sk_json_get(b, "k"), json_integer(2));
    ck_assert_uint_eq(json_array_size(sk_json_get(a, "k")), 1);
    sk_json_docs_free(docs, n);
}
END_TEST

/* CPU time of this process, not wall time: a loaded machine (or a
 * sanitizer build) stretches the wall clock, while an alias bomb that is
 * expanded costs minutes of CPU, far past the bound below either way. */
static double
now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define BOMB_CPU_MAX_S 10.0

/* The classic "billion laughs": ten levels of nine aliases each, 10^9
 * nodes when expanded. */
static char *
billion_laughs(bool maps)
{
    struct sk_buf b = SK_BUF_INIT;
    int level, i;

    sk_buf_puts(&b, maps ? "l0: &l0 {a: lol, b: lol, c: lol, d: lol, e: lol, f: lol, g: lol, "
                           "h: lol, i: lol}\n"
                         : "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for (level = 1; level < 10; level++) {
        sk_buf_printf(&b, "l%d: &l%d %c", level, level, maps ? '{' : '[');
        for (i = 0; i < 9; i++) {
            if (maps)
                sk_buf_printf(&b, "%s%c: *l%d", i ? ", " : "", 'a' + i, level - 1);
            else
                sk_buf_printf(&b, "%s*l%d", i ? ", " : "", level - 1);
        }
        sk_buf_puts(&b, maps ? "}\n" : "]\n");
    }
    return sk_buf_detach(&b, NULL);
}

START_TEST(alias_bomb_is_refused_quickly)
{
    char *text = billion_laughs(_i == 1);
    double start = now();

    char *limit = sk_asprintf("expands past %zu nodes in total", strlen(text) * 100);

    assert_yaml_error(text, strlen(text), limit);
    ck_assert_msg(now() - start < BOMB_CPU_MAX_S, "took %.3f s of CPU", now() - start);
    free(limit);
    free(text);
}
END_TEST

/* One big anchor aliased many times: each alias is cheap to write. */
START_TEST(wide_alias_bomb_is_refused_quickly)
{
    struct sk_buf b = SK_BUF_INIT;
    double start;
    char *text;
    int i;

    sk_buf_puts(&b, "big: &big [");
    for (i = 0; i < 100000; i++)
        sk_buf_puts(&b, i ? ",1" : "1");
    sk_buf_puts(&b, "]\nuse: [");
    for (i = 0; i < 10000; i++)
        sk_buf_puts(&b, i ? ",*big" : "*big");
    sk_buf_puts(&b, "]\n");
    text = sk_buf_detach(&b, NULL);
    start = now();
    assert_yaml_error(text, strlen(text), "alias '*big' expands past 1000000 nodes in total");
    ck_assert_msg(now() - start < BOMB_CPU_MAX_S, "took %.3f s of CPU", now() - start);
    free(text);
}
END_TEST

/* Generous sharing stays well inside the limit: 100 items used 50 times
 * by a 600-byte document, and 1000 items used 200 times. */
START_TEST(moderate_alias_use_is_allowed)
{
    static const int cases[][2] = {{100, 50}, {1000, 200}};
    struct sk_buf b = SK_BUF_INIT;
    struct sk_err err;
    json_t **docs;
    size_t n;
    int i, c;

    for (c = 0; c < 2; c++) {
        sk_buf_reset(&b);
        sk_buf_puts(&b, "a: &a [");
        for (i = 0; i < cases[c][0]; i++)
            sk_buf_puts(&b, i ? ",1" : "1");
        sk_buf_puts(&b, "]\nb: [");
        for (i = 0; i < cases[c][1]; i++)
            sk_buf_puts(&b, i ? ",*a" : "*a");
        sk_buf_puts(&b, "]\n");
        ck_assert_msg(sk_yaml_to_json(b.data, b.len, &docs, &n, &err) == 0, "%s", err.msg);
        ck_assert_uint_eq(json_array_size(sk_json_get(docs[0], "b")), (size_t)cases[c][1]);
        sk_json_docs_free(docs, n);
    }
    sk_buf_release(&b);
}
END_TEST

static char *
nested_flow(int depth)
{
    char *text = sk_malloc(2 * (size_t)depth + 1);

    memset(text, '[', (size_t)depth);
    memset(text + depth, ']', (size_t)depth);
    text[2 * depth] = '\0';
    return text;
}

START_TEST(nesting_is_limited)
{
    char *ok = nested_flow(SK_YAML_MAX_DEPTH);
    char *deep = nested_flow(SK_YAML_MAX_DEPTH + 1);
    char *huge = nested_flow(100000);
    struct sk_err err;
    json_t **docs;
    size_t n;

    ck_assert_int_eq(sk_yaml_to_json(ok, strlen(ok), &docs, &n, &err), 0);
    sk_json_docs_free(docs, n);
    assert_yaml_error(deep, strlen(deep), "yaml: line 1 column 1001: nesting deeper than 1000");
    assert_yaml_error(huge, strlen(huge), "nesting deeper than 1000 levels");
    free(ok);
    free(deep);
    free(huge);
}
END_TEST

START_TEST(block_nesting_is_limited)
{
    struct sk_buf b = SK_BUF_INIT;
    char *text;
    int i;

    for (i = 0; i < SK_YAML_MAX_DEPTH + 5; i++)
        sk_buf_printf(&b, "%*sa:\n", i, "");
    text = sk_buf_detach(&b, NULL);
    assert_yaml_error(text, strlen(text), "yaml: line 1001 column 1001: nesting deeper than 1000");
    free(text);
}
END_TEST

/* An alias of a deep node placed deep: the copy would exceed the limit. */
START_TEST(alias_nesting_is_limited)
{
    char *inner = nested_flow(600);
    char *outer = nested_flow(500);
    char *text = sk_asprintf("a: &deep %s\nb: %.500s*deep%s\n", inner, outer, outer + 500);

    assert_yaml_error(text, strlen(text), "alias '*deep' nests deeper than 1000 levels");
    free(text);
    free(inner);
    free(outer);
}
END_TEST

/* --- malformed input ----------------------------------------------------- */

static const struct {
    const char *yaml;
    size_t len; /* 0: strlen */
    const char *msg;
} malformed_cases[] = {
    {"a: [1, 2\n", 0, "yaml: line 2 column 1: did not find expected ',' or ']'"},
    {"a: b: c\n", 0, "yaml: line 1 column 5: mapping values are not allowed in this context"},
    {"a: 'unterminated\n", 0, "found unexpected end of stream"},
    {"a: \"unterminated", 0, "found unexpected end of stream"},
    {"a:\n\tb: 1\n", 0, "yaml: line 2 column 1: found character that cannot start any token"},
    {"a: \"bad \\q escape\"\n", 0, "found unknown escape character"},
    {"- a\nb: 1\n", 0, "yaml: line 2 column 1: did not find expected '-' indicator"},
    {"a:\n  - b\n  - {c: ", 0, "yaml: line 4 column 1: did not find expected node content"},
    {"a: {b: 1\n", 0, "did not find expected ',' or '}'"},
    {"a: 1\n b: 2\n", 0, "yaml: line 2 column 3: mapping values are not allowed"},
    {"a: \xc3\x28\n", 0, "yaml: line 1 column 5: invalid trailing UTF-8 octet"},
    {"a: ok\nb: \xff\n", 0, "yaml: line 2 column 4: invalid leading UTF-8 octet"},
    {"a: \x01\n", 0, "yaml: line 1 column 4: control characters are not allowed"},
    {"a: b\0c\n", 7, "yaml: line 1 column 5: control characters are not allowed"},
    {"key: [unclosed, {x: }\n", 0, "yaml: line 2 column 1: "},
    {"&a &b x\n", 0, "did not find expected"},
};

START_TEST(malformed_yaml_reports_line_and_column)
{
    const char *text = malformed_cases[_i].yaml;
    size_t len = malformed_cases[_i].len ? malformed_cases[_i].len : strlen(text);

    assert_yaml_error(text, len, malformed_cases[_i].msg);
}
END_TEST

/* Every prefix of a valid manifest either parses or fails cleanly. */
START_TEST(truncated_input_never_crashes)
{
    const char *text = "a: &x {k: [1, 'two', \"three\"]}\n"
                       "b:\n  <<: *x\n  c: |\n    text\n---\nd: [*x]\n";
    struct sk_err err;
    json_t **docs;
    size_t n, len;

    for (len = 0; len <= strlen(text); len++) {
        int rc = sk_yaml_to_json(text, len, &docs, &n, &err);

        ck_assert(rc == 0 || rc == -EINVAL);
        if (rc == 0)
            sk_json_docs_free(docs, n);
        else
            ck_assert(sk_startswith(err.msg, "yaml: line "));
    }
}
END_TEST

/* --- realistic manifests ------------------------------------------------ */

static const char deployment_yaml[] = "# a Deployment as people write them\n"
                                      "apiVersion: apps/v1\n"
                                      "kind: Deployment\n"
                                      "metadata:\n"
                                      "  name: web\n"
                                      "  namespace: default\n"
                                      "  labels:\n"
                                      "    app: web\n"
                                      "    tier: frontend\n"
                                      "  annotations:\n"
                                      "    kubernetes.io/change-cause: \"image update to 1.25\"\n"
                                      "    deployment.kubernetes.io/revision: \"3\"\n"
                                      "spec:\n"
                                      "  replicas: 3\n"
                                      "  revisionHistoryLimit: 10\n"
                                      "  paused: no\n"
                                      "  selector:\n"
                                      "    matchLabels:\n"
                                      "      app: web\n"
                                      "  strategy:\n"
                                      "    type: RollingUpdate\n"
                                      "    rollingUpdate:\n"
                                      "      maxSurge: 25%\n"
                                      "      maxUnavailable: 0\n"
                                      "  template:\n"
                                      "    metadata:\n"
                                      "      labels:\n"
                                      "        app: web\n"
                                      "    spec:\n"
                                      "      containers:\n"
                                      "      - name: nginx\n"
                                      "        image: nginx:1.25\n"
                                      "        args: [\"--port\", \"8080\", '--verbose']\n"
                                      "        env:\n"
                                      "        - name: DEBUG\n"
                                      "          value: \"true\"\n"
                                      "        - name: WORKERS\n"
                                      "          value: '4'\n"
                                      "        ports:\n"
                                      "        - containerPort: 8080\n"
                                      "          protocol: TCP\n"
                                      "        resources:\n"
                                      "          requests:\n"
                                      "            cpu: 250m\n"
                                      "            memory: 64Mi\n"
                                      "          limits:\n"
                                      "            cpu: 1\n"
                                      "            memory: 128Mi\n"
                                      "        readinessProbe:\n"
                                      "          httpGet:\n"
                                      "            path: /healthz\n"
                                      "            port: 8080\n"
                                      "          periodSeconds: 5\n"
                                      "      volumes:\n"
                                      "      - name: config\n"
                                      "        configMap:\n"
                                      "          name: web-config\n"
                                      "          defaultMode: 0644\n";

START_TEST(deployment_manifest_converts_field_by_field)
{
    struct sk_err err;
    const char *s;
    json_t **docs;
    json_t *d, *v;
    int64_t i;
    bool b;
    size_t n;

    sk_err_init(&err);
    ck_assert_int_eq(sk_manifest_parse(deployment_yaml, strlen(deployment_yaml), &docs, &n, &err),
                     0);
    ck_assert_uint_eq(n, 1);
    d = docs[0];
#define STR(path, want)                                                                            \
    do {                                                                                           \
        ck_assert_msg(sk_json_get_string(d, path, &s, &err) == 0, "%s", err.msg);                  \
        ck_assert_str_eq(s, want);                                                                 \
    } while (0)
#define INT(path, want)                                                                            \
    do {                                                                                           \
        ck_assert_msg(sk_json_get_int(d, path, &i, &err) == 0, "%s", err.msg);                     \
        ck_assert_int_eq(i, want);                                                                 \
    } while (0)
    STR("apiVersion", "apps/v1");
    STR("kind", "Deployment");
    STR("metadata.name", "web");
    STR("metadata.namespace", "default");
    STR("metadata.labels.tier", "frontend");
    STR("metadata.annotations[\"kubernetes.io/change-cause\"]", "image update to 1.25");
    STR("metadata.annotations['deployment.kubernetes.io/revision']", "3");
    INT("spec.replicas", 3);
    INT("spec.revisionHistoryLimit", 10);
    ck_assert_int_eq(sk_json_get_bool(d, "spec.paused", &b, &err), 0);
    ck_assert(!b);
    STR("spec.selector.matchLabels.app", "web");
    STR("spec.strategy.type", "RollingUpdate");
    STR("spec.strategy.rollingUpdate.maxSurge", "25%");
    INT("spec.strategy.rollingUpdate.maxUnavailable", 0);
    STR("spec.template.metadata.labels.app", "web");
    STR("spec.template.spec.containers[0].name", "nginx");
    STR("spec.template.spec.containers[0].image", "nginx:1.25");
    STR("spec.template.spec.containers[0].args[0]", "--port");
    STR("spec.template.spec.containers[0].args[1]", "8080");
    STR("spec.template.spec.containers[0].args[2]", "--verbose");
    STR("spec.template.spec.containers[0].env[0].value", "true");
    STR("spec.template.spec.containers[0].env[1].value", "4");
    INT("spec.template.spec.containers[0].ports[0].containerPort", 8080);
    STR("spec.template.spec.containers[0].ports[0].protocol", "TCP");
    STR("spec.template.spec.containers[0].resources.requests.cpu", "250m");
    STR("spec.template.spec.containers[0].resources.requests.memory", "64Mi");
    INT("spec.template.spec.containers[0].resources.limits.cpu", 1);
    STR("spec.template.spec.containers[0].readinessProbe.httpGet.path", "/healthz");
    INT("spec.template.spec.containers[0].readinessProbe.periodSeconds", 5);
    STR("spec.template.spec.volumes[0].configMap.name", "web-config");
    INT("spec.template.spec.volumes[0].configMap.defaultMode", 0644);
    ck_assert_int_eq(sk_json_get_array(d, "spec.template.spec.containers", &v, &err), 0);
    ck_assert_uint_eq(json_array_size(v), 1);
    ck_assert_int_eq(sk_json_get_string(d, "spec.template.spec.containers[1].name", &s, &err),
                     -ENOENT);
#undef STR
#undef INT
    sk_json_docs_free(docs, n);
}
END_TEST

static const char pod_yaml[] = "apiVersion: v1\n"
                               "kind: Pod\n"
                               "metadata:\n"
                               "  name: busybox\n"
                               "  labels: {app: box, \"version\": \"1.0\"}\n"
                               "spec:\n"
                               "  restartPolicy: OnFailure\n"
                               "  terminationGracePeriodSeconds: 30\n"
                               "  hostNetwork: false\n"
                               "  nodeSelector:\n"
                               "    kubernetes.io/os: linux\n"
                               "  containers:\n"
                               "  - name: box\n"
                               "    image: busybox\n"
                               "    command:\n"
                               "    - sh\n"
                               "    - -c\n"
                               "    - |\n"
                               "      echo hello\n"
                               "      sleep 3600\n"
                               "    stdin: yes\n"
                               "    tty: On\n"
                               "    securityContext:\n"
                               "      runAsUser: 1000\n"
                               "      readOnlyRootFilesystem: true\n";

START_TEST(pod_manifest_converts_field_by_field)
{
    struct sk_err err;
    const char *s;
    json_t **docs;
    int64_t i;
    bool b;
    size_t n;

    sk_err_init(&err);
    ck_assert_int_eq(sk_manifest_parse(pod_yaml, strlen(pod_yaml), &docs, &n, &err), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(sk_json_get_string(docs[0], "kind", &s, &err), 0);
    ck_assert_str_eq(s, "Pod");
    ck_assert_int_eq(sk_json_get_string(docs[0], "metadata.labels.version", &s, &err), 0);
    ck_assert_str_eq(s, "1.0");
    ck_assert_int_eq(
        sk_json_get_string(docs[0], "spec.nodeSelector[\"kubernetes.io/os\"]", &s, &err), 0);
    ck_assert_str_eq(s, "linux");
    ck_assert_int_eq(sk_json_get_int(docs[0], "spec.terminationGracePeriodSeconds", &i, &err), 0);
    ck_assert_int_eq(i, 30);
    ck_assert_int_eq(sk_json_get_bool(docs[0], "spec.hostNetwork", &b, &err), 0);
    ck_assert(!b);
    ck_assert_int_eq(sk_json_get_string(docs[0], "spec.containers[0].command[1]", &s, &err), 0);
    ck_assert_str_eq(s, "-c");
    ck_assert_int_eq(sk_json_get_string(docs[0], "spec.containers[0].command[2]", &s, &err), 0);
    ck_assert_str_eq(s, "echo hello\nsleep 3600\n");
    ck_assert_int_eq(sk_json_get_bool(docs[0], "spec.containers[0].stdin", &b, &err), 0);
    ck_assert(b);
    ck_assert_int_eq(sk_json_get_bool(docs[0], "spec.containers[0].tty", &b, &err), 0);
    ck_assert(b);
    ck_assert_int_eq(
        sk_json_get_int(docs[0], "spec.containers[0].securityContext.runAsUser", &i, &err), 0);
    ck_assert_int_eq(i, 1000);
    ck_assert_int_eq(sk_json_get_string(docs[0], "spec.containers[0].image", &s, &err), 0);
    ck_assert_str_eq(s, "busybox");
    sk_json_docs_free(docs, n);
}
END_TEST

/* --- manifests ---------------------------------------------------------- */

static char *
manifest_dump(const char *text)
{
    struct sk_buf out = SK_BUF_INIT;
    struct sk_err err;
    json_t **docs;
    size_t n, i;

    sk_err_init(&err);
    ck_assert_msg(sk_manifest_parse(text, strlen(text), &docs, &n, &err) == 0, "'%s': %s", text,
                  err.msg);
    for (i = 0; i < n; i++) {
        ck_assert(json_is_object(docs[i]));
        if (i)
            sk_buf_putc(&out, '\n');
        sk_json_dump_buf(docs[i], &out);
    }
    sk_json_docs_free(docs, n);
    return sk_buf_detach(&out, NULL);
}

static const struct {
    const char *text;
    const char *json;
} manifest_cases[] = {
    {"{\"kind\": \"Pod\", \"big\": 9223372036854775807, \"r\": 1.0}",
     "{\"kind\":\"Pod\",\"big\":9223372036854775807,\"r\":1.0}"},
    {"\xEF\xBB\xBF  {\"kind\": \"Pod\"}", "{\"kind\":\"Pod\"}"},
    {"{\"kind\":\"A\"}\n{\"kind\":\"B\"} {\"kind\":\"C\"}",
     "{\"kind\":\"A\"}\n{\"kind\":\"B\"}\n{\"kind\":\"C\"}"},
    {"[{\"kind\":\"A\"}, {\"kind\":\"B\"}]", "{\"kind\":\"A\"}\n{\"kind\":\"B\"}"},
    {"[]", ""},
    {"{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"items\":[{\"kind\":\"Pod\"}]}",
     "{\"kind\":\"Pod\"}"},
    {"kind: List\nitems:\n- {kind: Pod}\n- kind: Service\n",
     "{\"kind\":\"Pod\"}\n{\"kind\":\"Service\"}"},
    {"kind: List\nitems: ~\n", ""},
    {"kind: List\n", ""},
    {"- {kind: A}\n- {kind: B}\n", "{\"kind\":\"A\"}\n{\"kind\":\"B\"}"},
    {"kind: A\n---\n---\nkind: B\n", "{\"kind\":\"A\"}\n{\"kind\":\"B\"}"},
    {"# comment first\n{\"kind\": \"A\"}", "{\"kind\":\"A\"}"},
    {"", ""},
    {"  \n\n", ""},
    {"kind: Listing\nitems: 1\n", "{\"kind\":\"Listing\",\"items\":1}"},
};

START_TEST(manifests_accept_json_yaml_and_lists)
{
    char *got = manifest_dump(manifest_cases[_i].text);

    ck_assert_msg(strcmp(got, manifest_cases[_i].json) == 0, "'%s' gave '%s'",
                  manifest_cases[_i].text, got);
    free(got);
}
END_TEST

static const struct {
    const char *text;
    const char *msg;
} manifest_bad_cases[] = {
    {"kind: A\n---\nhello\n", "document 2: must be a mapping/object"},
    {"---\n---\nkind: A\n---\n42\n", "document 2: must be a mapping/object"},
    {"- {kind: A}\n- 1\n", "document 1: [1]: must be a mapping/object"},
    {"kind: List\nitems: [{kind: A}, x]\n", "document 1: items[1]: must be a mapping/object"},
    {"kind: List\nitems: {kind: A}\n", "document 1: items: must be an array"},
    {"{\"kind\":\"A\"}\n{\"b\" 2}", "json: line 2 column 6: ':' expected near '2'"},
    {"{\"kind\":\"A\"} {\"b\" 2}", "json: line 1 column 19: ':' expected near '2'"},
    {"{\"a\":1} x", "json: line 1 column 9: '[' or '{' expected near 'x'"},
    {"{\"a\":1,\"a\":2}", "json: line 1 column 10: duplicate object key near '\"a\"'"},
    {"{\"a\": 99999999999999999999}", "too big integer"},
    {"{\"a\": [1, 2", "json: line 1 column 11: ']' expected near end of file"},
    {"{a: 1}", "json: line 1 column 2: string or '}' expected near 'a'"},
    {"kind: A\nkind: B\n", "yaml: line 2 column 1: duplicate key 'kind'"},
};

START_TEST(bad_manifests_name_the_document)
{
    const char *text = manifest_bad_cases[_i].text;
    struct sk_err err;
    json_t **docs = (json_t **)&err;
    size_t n = 7;

    sk_err_init(&err);
    ck_assert_int_eq(sk_manifest_parse(text, strlen(text), &docs, &n, &err), -EINVAL);
    ck_assert_ptr_null(docs);
    ck_assert_uint_eq(n, 0);
    ck_assert_msg(strstr(err.msg, manifest_bad_cases[_i].msg), "'%s' gave '%s'", text, err.msg);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("yaml");
    TCase *scalars = tcase_create("scalars");
    TCase *structure = tcase_create("structure");
    TCase *limits = tcase_create("limits");
    TCase *manifests = tcase_create("manifests");

    tcase_add_loop_test(scalars, scalars_resolve_like_kubectl, 0, N(scalar_cases));
    tcase_add_loop_test(scalars, scalars_that_json_cannot_hold_are_refused, 0, N(scalar_bad_cases));
    suite_add_tcase(s, scalars);

    tcase_add_loop_test(structure, keys_are_their_text, 0, N(key_cases));
    tcase_add_loop_test(structure, bad_keys_are_refused_with_line, 0, N(key_bad_cases));
    tcase_add_loop_test(structure, streams_give_one_value_per_non_empty_document, 0, N(doc_cases));
    tcase_add_loop_test(structure, anchors_and_merge_keys_expand, 0, N(anchor_cases));
    tcase_add_loop_test(structure, bad_aliases_are_refused_with_line, 0, N(anchor_bad_cases));
    tcase_add_test(structure, aliases_are_independent_copies);
    tcase_add_loop_test(structure, malformed_yaml_reports_line_and_column, 0, N(malformed_cases));
    tcase_add_test(structure, truncated_input_never_crashes);
    suite_add_tcase(s, structure);

    tcase_add_loop_test(limits, alias_bomb_is_refused_quickly, 0, 2);
    tcase_add_test(limits, wide_alias_bomb_is_refused_quickly);
    tcase_add_test(limits, moderate_alias_use_is_allowed);
    tcase_add_test(limits, nesting_is_limited);
    tcase_add_test(limits, block_nesting_is_limited);
    tcase_add_test(limits, alias_nesting_is_limited);
    suite_add_tcase(s, limits);

    tcase_add_test(manifests, deployment_manifest_converts_field_by_field);
    tcase_add_test(manifests, pod_manifest_converts_field_by_field);
    tcase_add_loop_test(manifests, manifests_accept_json_yaml_and_lists, 0, N(manifest_cases));
    tcase_add_loop_test(manifests, bad_manifests_name_the_document, 0, N(manifest_bad_cases));
    suite_add_tcase(s, manifests);
    return unit_main(s);
}
