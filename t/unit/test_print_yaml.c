/* lib/yaml_emit: kubectl-style block YAML, quoting only where a YAML 1.1
 * reader would misread a string, and the round trip through
 * sk_yaml_to_json() back to the same JSON for many objects. */
#include "lib/buf.h"
#include "lib/err.h"
#include "lib/yaml.h"
#include "lib/yaml_emit.h"
#include "unit.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

static char *
emit(const json_t *v)
{
    struct sk_buf b = SK_BUF_INIT;

    sk_yaml_emit(v, &b);
    return b.data;
}

static const struct {
    const char *json, *yaml;
} cases[] = {
    {"{\"b\":1,\"a\":\"x\"}", "a: x\nb: 1\n"},
    {"{\"metadata\":{\"labels\":{\"app\":\"web\"},\"name\":\"web\"}}",
     "metadata:\n  labels:\n    app: web\n  name: web\n"},
    {"{\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx\",\"ports\":[{"
     "\"containerPort\":80}]}]}}",
     "spec:\n  containers:\n  - image: nginx\n    name: web\n    ports:\n    - containerPort: "
     "80\n"},
    {"{\"args\":[\"a\",\"b\"]}", "args:\n- a\n- b\n"},
    {"[[1,2],[3]]", "- - 1\n  - 2\n- - 3\n"},
    {"{\"a\":{},\"b\":[],\"c\":null}", "a: {}\nb: []\nc: null\n"},
    {"{\"t\":true,\"f\":false,\"i\":-3,\"r\":1.5,\"r2\":3.0,\"r3\":1e+300}",
     "f: false\ni: -3\nr: 1.5\nr2: 3.0\nr3: 1e+300\nt: true\n"},
    /* strings a YAML 1.1 reader would take for something else */
    {"[\"yes\",\"No\",\"on\",\"OFF\",\"true\",\"y\",\"n\",\"~\",\"null\",\"\"]",
     "- \"yes\"\n- \"No\"\n- \"on\"\n- \"OFF\"\n- \"true\"\n- \"y\"\n- \"n\"\n- \"~\"\n- "
     "\"null\"\n- \"\"\n"},
    {"[\"1\",\"0x1f\",\"0644\",\"-1\",\"+1\",\"1.5\",\".5\",\"1e3\",\".inf\",\"-.Inf\",\".NaN\","
     "\"12:30\",\"2026-11-25T19:30:00Z\",\"1_000\"]",
     "- \"1\"\n- \"0x1f\"\n- \"0644\"\n- \"-1\"\n- \"+1\"\n- \"1.5\"\n- \".5\"\n- \"1e3\"\n- "
     "\".inf\"\n- \"-.Inf\"\n- \".NaN\"\n- \"12:30\"\n- \"2026-11-25T19:30:00Z\"\n- "
     "\"1_000\"\n"},
    /* indicators and blanks: single quotes */
    {"[\" lead\",\"trail \",\"*\",\"&a\",\"!x\",\"- x\",\"-\",\"? x\",\": x\",\"a: b\",\"a #b\","
     "\"key:\",\"#c\",\"[x]\",\"{x}\",\"|\",\">\",\"'q'\",\"%x\",\"@x\",\"`x\",\",x\",\"---\","
     "\"...\",\"it's\"]",
     "- ' lead'\n- 'trail '\n- '*'\n- '&a'\n- '!x'\n- '- x'\n- '-'\n- '? x'\n- ': x'\n- 'a: "
     "b'\n- 'a #b'\n- 'key:'\n- '#c'\n- '[x]'\n- '{x}'\n- '|'\n- '>'\n- '''q'''\n- '%x'\n- "
     "'@x'\n- '`x'\n- ',x'\n- '---'\n- '...'\n- it's\n"},
    /* plain where kubectl prints plain */
    {"[\"nginx:1.25\",\"http://x/y\",\"a-b\",\"-x\",\"10.244.1.5\",\".dockerconfigjson\","
     "\"caf\\u00e9\",\"a#b\",\"a:b\"]",
     "- nginx:1.25\n- http://x/y\n- a-b\n- -x\n- 10.244.1.5\n- .dockerconfigjson\n- "
     "caf\xc3\xa9\n- a#b\n- a:b\n"},
    /* multi-line: literal blocks with the right chomping */
    {"{\"s\":\"a\\nb\\n\"}", "s: |\n  a\n  b\n"},
    {"{\"s\":\"a\\nb\"}", "s: |-\n  a\n  b\n"},
    {"{\"s\":\"a\\n\\n\"}", "s: |+\n  a\n\n"},
    {"{\"s\":\"a\\n\\n  b\\n\"}", "s: |\n  a\n\n    b\n"},
    {"[\"x\\ny\"]", "- |-\n  x\n  y\n"},
    /* multi-line that a literal cannot hold: double quotes */
    {"{\"s\":\" a\\nb\"}", "s: \" a\\nb\"\n"},
    {"{\"s\":\"a\\n  \\nb\"}", "s: \"a\\n  \\nb\"\n"},
    {"{\"s\":\"\\n\"}", "s: \"\\n\"\n"},
    {"{\"s\":\"tab\\there\",\"c\":\"\\u0001\\u007f\",\"u\":\"\\u2028\\u0085\\ufeff\\\"\\\\\"}",
     "c: \"\\x01\\x7f\"\ns: \"tab\\there\"\nu: \"\\L\\N\\uFEFF\\\"\\\\\"\n"},
    /* keys quote like values, never as blocks */
    {"{\"yes\":1,\"a b\":2,\"a: b\":3,\"x\\ny\":4,\"\":5,\"<<\":6}",
     "\"\": 5\n\"<<\": 6\na b: 2\n'a: b': 3\n\"x\\ny\": 4\n\"yes\": 1\n"},
    {"\"top\"", "top\n"},
    {"42", "42\n"},
    {"null", "null\n"},
    {"{\"a\":[{\"b\":[{\"c\":[]}]}]}", "a:\n- b:\n  - c: []\n"},
};

START_TEST(emits_kubectl_style)
{
    json_t *v = json_loads(cases[_i].json, JSON_DECODE_ANY, NULL);
    char *got;

    ck_assert_msg(v != NULL, "bad test json %s", cases[_i].json);
    got = emit(v);
    ck_assert_msg(strcmp(got, cases[_i].yaml) == 0, "%s:\n--- got\n%s--- want\n%s", cases[_i].json,
                  got, cases[_i].yaml);
    free(got);
    json_decref(v);
}
END_TEST

static void
assert_round_trip(const json_t *v, const char *what)
{
    char *y = emit(v);
    json_t **docs = NULL;
    size_t n = 0;
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_msg(sk_yaml_to_json(y, strlen(y), &docs, &n, &err) == 0, "%s: %s\n%s", what, err.msg,
                  y);
    if (json_is_null(v)) {
        ck_assert_uint_eq(n, 0);
    } else {
        ck_assert_msg(n == 1 && json_equal(docs[0], (json_t *)v), "%s: differs after:\n%s", what,
                      y);
    }
    sk_json_docs_free(docs, n);
    free(y);
}

START_TEST(emitter_cases_round_trip)
{
    json_t *v = json_loads(cases[_i].json, JSON_DECODE_ANY, NULL);

    assert_round_trip(v, cases[_i].json);
    json_decref(v);
}
END_TEST

static const char *const tricky[] = {
    "",
    " ",
    "  ",
    "a ",
    " a",
    "yes",
    "Yes",
    "YES",
    "no",
    "y",
    "Y",
    "n",
    "N",
    "on",
    "off",
    "true",
    "False",
    "null",
    "Null",
    "NULL",
    "~",
    "0",
    "1",
    "-1",
    "+1",
    "0x1F",
    "0o17",
    "0b101",
    "0644",
    "09",
    "1.0",
    "1e3",
    "1E-3",
    ".5",
    "-.5",
    "+.5",
    ".inf",
    "-.inf",
    ".nan",
    "1_000",
    "12:30:00",
    "2026-11-25",
    "=",
    "<<",
    "-",
    "--",
    "---",
    "...",
    "?",
    ":",
    "::",
    "a:",
    "a: b",
    "a:b",
    "#",
    "a #b",
    "a#b",
    "&x",
    "*x",
    "!x",
    "!!str",
    "|",
    ">",
    "%",
    "@",
    "`",
    "'",
    "\"",
    "''",
    "\"\"",
    "[",
    "]",
    "{",
    "}",
    ",",
    "a,b",
    "[a, b]",
    "{a: b}",
    "\\",
    "\\n",
    "a\nb",
    "a\nb\n",
    "a\n\n",
    "\na",
    "a\n\n\nb",
    "a\n b",
    "a\n\tb",
    " a\nb",
    "a\n \nb",
    "a\r\nb",
    "\t",
    "a\tb",
    "\x01",
    "\x7f",
    "\xc2\x85",
    "\xe2\x80\xa8",
    "\xe2\x80\xa9",
    "\xef\xbb\xbf",
    "caf\xc3\xa9",
    "\xf0\x9f\x9a\xa2 skiff",
    "10.244.1.5",
    "10.244.1.",
    "1..2",
    "1.2.3",
    "::1",
    "fd00::1",
    "http://a:80/b?c=d#e",
    "key=value:NoSchedule",
    "${VAR}",
    "a  b",
    "-a",
    "- a",
    "-\ta",
    "? a",
    "?a",
    "% a",
    "@a",
    "x: |",
    "|-",
    "|+",
    "> a",
    "1 2",
    "0x",
    "0o",
    "+",
    ".",
    "..",
    ".a",
    "e3",
    "1e",
    "1e+",
    "+.",
    "-.",
    "a\\b",
    "'a'",
    "\"a\"",
    "a'b\"c",
};

START_TEST(tricky_strings_round_trip_as_values_and_keys)
{
    json_t *v = json_pack("{s:s,s:[s,{s:s}],s:s}", "value", tricky[_i], "list", tricky[_i], "k",
                          tricky[_i], tricky[_i], "as-key");
    char what[256];

    ck_assert_ptr_nonnull(v);
    snprintf(what, sizeof(what), "tricky[%d]", _i);
    assert_round_trip(v, what);
    json_decref(v);
    v = json_string(tricky[_i]);
    assert_round_trip(v, what);
    json_decref(v);
}
END_TEST

static const char *const objects[] = {
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\",\"namespace\":"
    "\"default\",\"labels\":{\"app\":\"web\",\"tier\":\"1\"},\"annotations\":{"
    "\"kubectl.kubernetes.io/last-applied-configuration\":\"{\\\"a\\\":1}\\n\"},"
    "\"creationTimestamp\":\"2026-11-25T19:30:00Z\",\"resourceVersion\":\"42\",\"uid\":"
    "\"0b0e-11\"},\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx:1.25\","
    "\"command\":[\"sh\",\"-c\",\"echo hi; sleep 3600\\n\"],\"env\":[{\"name\":\"DEBUG\",\"value\":"
    "\"yes\"},{\"name\":\"PORT\",\"value\":\"8080\"},{\"name\":\"EMPTY\",\"value\":\"\"}],"
    "\"ports\":[{\"containerPort\":80,\"protocol\":\"TCP\"}],\"resources\":{\"limits\":{\"cpu\":"
    "\"500m\",\"memory\":\"128Mi\"},\"requests\":{\"cpu\":0.25}}}],\"volumes\":[{\"name\":\"cfg\","
    "\"configMap\":{\"name\":\"cfg\",\"defaultMode\":420}}],\"tolerations\":[{\"operator\":"
    "\"Exists\"}],\"nodeSelector\":{}},\"status\":{\"phase\":\"Running\",\"podIP\":\"10.244.1.5\","
    "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}",
    "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"data\":{\"nginx.conf\":\"server {\\n  listen "
    "80;\\n  # comment\\n}\\n\",\"on\":\"off\",\"script.sh\":\"#!/bin/sh\\nset -e\\n\\n\\necho "
    "\\\"done\\\"\",\"empty\":\"\",\"spaces\":\"  indented\\nnot\\n\",\"crlf\":\"a\\r\\nb\"}}",
    "{\"kind\":\"List\",\"items\":[],\"metadata\":{\"resourceVersion\":\"\"},\"apiVersion\":"
    "\"v1\"}",
    "{\"a\":[[[]],[{}],[[1,[2,[3]]]],{\"b\":[{\"c\":{\"d\":[null,true,false,-0.0,1e-7,"
    "123456789012345678,-9223372036854775807,0.1,2.5e+20]}}]}]}",
    "{\"rules\":[{\"apiGroups\":[\"\"],\"resources\":[\"*\"],\"verbs\":[\"get\",\"list\","
    "\"watch\"]}]}",
    "[1,\"1\",1.0,true,\"true\",null,\"null\",{},\"{}\",[],\"[]\"]",
};

START_TEST(objects_round_trip)
{
    json_t *v = json_loads(objects[_i], JSON_DECODE_ANY, NULL);

    ck_assert_msg(v != NULL, "bad test json %d", _i);
    assert_round_trip(v, objects[_i]);
    json_decref(v);
}
END_TEST

/* Random JSON built from the tricky strings: structure and scalars of
 * every kind, a few hundred shapes, all must come back equal. */
static json_t *
random_value(unsigned *seed, int depth)
{
    unsigned r = (*seed = *seed * 1103515245u + 12345u) >> 16;
    json_t *v;

    switch (depth > 4 ? r % 5 : r % 7) {
    case 0:
        return json_string(tricky[r % N(tricky)]);
    case 1:
        return json_integer((json_int_t)r - 20000);
    case 2:
        return json_real((double)r / 7.0);
    case 3:
        return json_boolean(r & 1);
    case 4:
        return json_null();
    case 5:
        v = json_array();
        for (unsigned i = 0; i < r % 4; i++)
            json_array_append_new(v, random_value(seed, depth + 1));
        return v;
    default:
        v = json_object();
        for (unsigned i = 0; i < r % 4; i++)
            json_object_set_new(v, tricky[(r + i * 7) % N(tricky)], random_value(seed, depth + 1));
        return v;
    }
}

START_TEST(random_documents_round_trip)
{
    for (unsigned s = 1; s <= 300; s++) {
        unsigned seed = s;
        json_t *v = json_object();
        char what[32];

        json_object_set_new(v, "root", random_value(&seed, 0));
        snprintf(what, sizeof(what), "seed %u", s);
        assert_round_trip(v, what);
        json_decref(v);
    }
}
END_TEST

/* libyaml refuses implicit keys over 1024 characters; long keys are
 * written explicitly and must still read back, whatever their value. */
START_TEST(long_keys_round_trip)
{
    char key[1500];
    json_t *v;
    char *y;

    memset(key, 'k', sizeof(key) - 1);
    key[sizeof(key) - 1] = '\0';
    v = json_pack("{s:i,s:{s:{s:[s,[i,i]],s:s}},s:[{s:s}]}", key, 1, "nest", key, "a", "x", 1, 2,
                  "b", "multi\nline\n", "list", key, "yes");
    ck_assert_ptr_nonnull(v);
    assert_round_trip(v, "long keys");
    y = emit(v);
    ck_assert_ptr_nonnull(strstr(y, "? kkk"));
    free(y);
    json_decref(v);
    key[300] = '\0'; /* 300 control bytes escape to 1200 characters */
    memset(key, '\x01', 300);
    v = json_pack("{s:s}", key, "v");
    assert_round_trip(v, "long escaped key");
    json_decref(v);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("print_yaml");
    TCase *tc = tcase_create("emit");

    tcase_add_loop_test(tc, emits_kubectl_style, 0, N(cases));
    tcase_add_loop_test(tc, emitter_cases_round_trip, 0, N(cases));
    tcase_add_loop_test(tc, tricky_strings_round_trip_as_values_and_keys, 0, N(tricky));
    tcase_add_loop_test(tc, objects_round_trip, 0, N(objects));
    tcase_add_test(tc, random_documents_round_trip);
    tcase_add_test(tc, long_keys_round_trip);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
