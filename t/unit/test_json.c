/* lib/json: parsing, single-line and pretty encoding, field paths. */
#include "lib/buf.h"
#include "lib/err.h"
#include "lib/json.h"
#include "unit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static json_t *
parse_ok(const char *text)
{
    struct sk_err err;
    json_t *v = NULL;

    sk_err_init(&err);
    ck_assert_msg(sk_json_parse(text, strlen(text), &v, &err) == 0, "parse '%s': %s", text,
                  err.msg);
    return v;
}

static void
assert_dump(const json_t *v, const char *want)
{
    char *line = sk_json_dump_line(v);

    ck_assert_ptr_nonnull(line);
    ck_assert_str_eq(line, want);
    free(line);
}

/* --- parsing ------------------------------------------------------------ */

static const struct {
    const char *text;
    const char *dump; /* the value re-encoded */
} parse_ok_cases[] = {
    {"{\"a\": 1, \"b\": [true, null, \"x\"]}", "{\"a\":1,\"b\":[true,null,\"x\"]}"},
    {"[1, \"x\"]", "[1,\"x\"]"},
    {"42", "42"},
    {"\"s\"", "\"s\""},
    {"null", "null"},
    {"true", "true"},
    {"-0.5", "-0.5"},
    {" \n{\"a\":1}\n\t ", "{\"a\":1}"},
    {"9223372036854775807", "9223372036854775807"},
    {"-9223372036854775808", "-9223372036854775808"},
    {"{\"z\":1,\"a\":2,\"m\":3}", "{\"z\":1,\"a\":2,\"m\":3}"},
    {"{\"u\":\"\\u00e9\\ud83d\\ude00\"}", "{\"u\":\"\xc3\xa9\xf0\x9f\x98\x80\"}"},
};

START_TEST(parse_accepts_any_value_and_keeps_key_order)
{
    json_t *v = parse_ok(parse_ok_cases[_i].text);

    assert_dump(v, parse_ok_cases[_i].dump);
    json_decref(v);
}
END_TEST

static const struct {
    const char *text;
    const char *prefix; /* the message starts with it */
    const char *part;   /* and contains it */
} parse_bad_cases[] = {
    {"{\"a\": 1,\n \"b\" 2}", "json: line 2 column 6: ", "':' expected"},
    {"{\"a\":1,\"a\":2}", "json: line 1 column 10: ", "duplicate object key"},
    {"{\"a\": [1, 2", "json: line 1 column 11: ", "']' expected near end of file"},
    {"{\"a\": \"x", "json: line 1 column ", "premature end of input"},
    {"", "json: line 1 column 0: ", "end of file"},
    {"   ", "json: line 1 column ", "end of file"},
    {"{\"a\":1} x", "json: line 1 column 9: ", "end of file expected"},
    {"\"a\\u0000b\"", "json: line 1 column ", "\\u0000 is not allowed"},
    {"99999999999999999999", "json: line 1 column ", "too big integer"},
    {"{'a': 1}", "json: line 1 column ", "string or '}' expected"},
    {"[1,]", "json: line 1 column ", "unexpected token"},
    {"\"\xff\"", "json: line 1 column ", "unable to decode byte 0xff"},
};

START_TEST(parse_rejects_malformed_with_line_and_column)
{
    struct sk_err err;
    json_t *v = NULL;
    const char *text = parse_bad_cases[_i].text;

    sk_err_init(&err);
    ck_assert_int_eq(sk_json_parse(text, strlen(text), &v, &err), -EINVAL);
    ck_assert_ptr_null(v);
    ck_assert_msg(sk_startswith(err.msg, parse_bad_cases[_i].prefix), "'%s' gave '%s'", text,
                  err.msg);
    ck_assert_msg(strstr(err.msg, parse_bad_cases[_i].part), "'%s' gave '%s'", text, err.msg);
}
END_TEST

START_TEST(parse_refuses_deep_nesting)
{
    size_t n = 5000;
    char *text = malloc(n);
    struct sk_err err;
    json_t *v = NULL;

    memset(text, '[', n);
    sk_err_init(&err);
    ck_assert_int_eq(sk_json_parse(text, n, &v, &err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "maximum parsing depth"));
    free(text);
}
END_TEST

START_TEST(parse_reads_only_len_bytes)
{
    const char *text = "{\"a\":1}GARBAGE";
    struct sk_err err;
    json_t *v = NULL;

    ck_assert_int_eq(sk_json_parse(text, 7, &v, &err), 0);
    assert_dump(v, "{\"a\":1}");
    json_decref(v);
}
END_TEST

/* --- encoding ----------------------------------------------------------- */

START_TEST(dump_line_escapes_newlines_and_control_characters)
{
    char raw[40];
    json_t *v;
    char *line;
    int i;

    for (i = 1; i < 32; i++)
        raw[i - 1] = (char)i;
    raw[31] = '\0';
    v = json_pack("{s:s, s:s, s:s}", "msg", "line one\nline two\r\n", "ctl", raw, "sep",
                  "\xe2\x80\xa8");
    line = sk_json_dump_line(v);
    ck_assert_ptr_nonnull(line);
    ck_assert_ptr_null(strchr(line, '\n'));
    ck_assert_ptr_null(strchr(line, '\r'));
    ck_assert(sk_startswith(line, "{\"msg\":\"line one\\nline two\\r\\n\",\"ctl\":\"\\u0001"));
    json_decref(v);
    free(line);
}
END_TEST

START_TEST(dump_line_is_compact_ordered_and_utf8)
{
    json_t *v = json_pack("{s:i, s:[f, f, f, f], s:b, s:n, s:s, s:{}}", "zeta", 1, "reals", 0.1,
                          1.0, 2.5e-7, 1e300, "alpha", 1, "nil", "u", "h\xc3\xa9", "empty");

    assert_dump(v, "{\"zeta\":1,\"reals\":[0.1,1.0,2.5e-7,1e300],\"alpha\":true,\"nil\":null,"
                   "\"u\":\"h\xc3\xa9\",\"empty\":{}}");
    json_decref(v);
}
END_TEST

START_TEST(dump_line_round_trips_and_scalars_encode)
{
    const char *text = "{\"a\":[1,-2,3.25,\"x\\\"y\\\\z\"],\"b\":{\"c\":false}}";
    json_t *v = parse_ok(text);
    json_t *s = json_string("plain");

    assert_dump(v, text);
    assert_dump(s, "\"plain\"");
    ck_assert_ptr_null(sk_json_dump_line(NULL));
    json_decref(v);
    json_decref(s);
}
END_TEST

START_TEST(dump_buf_appends_and_keeps_buffer_on_failure)
{
    struct sk_buf buf = SK_BUF_INIT;
    json_t *v = json_pack("{s:[i,i]}", "a", 1, 2);

    sk_buf_puts(&buf, "ok 1 rev=3\n");
    ck_assert_int_eq(sk_json_dump_buf(v, &buf), 0);
    ck_assert_str_eq(buf.data, "ok 1 rev=3\n{\"a\":[1,2]}");
    ck_assert_int_eq(sk_json_dump_buf(NULL, &buf), -EINVAL);
    ck_assert_str_eq(buf.data, "ok 1 rev=3\n{\"a\":[1,2]}");
    sk_buf_release(&buf);
    json_decref(v);
}
END_TEST

START_TEST(dump_pretty_indents_like_kubectl)
{
    struct sk_buf buf = SK_BUF_INIT;
    json_t *v = json_pack("{s:s, s:{s:i}, s:[], s:[s]}", "a", "x\ny", "b", "c", 1, "d", "e", "f");

    ck_assert_int_eq(sk_json_dump_pretty(v, &buf), 0);
    ck_assert_str_eq(buf.data, "{\n"
                               "    \"a\": \"x\\ny\",\n"
                               "    \"b\": {\n"
                               "        \"c\": 1\n"
                               "    },\n"
                               "    \"d\": [],\n"
                               "    \"e\": [\n"
                               "        \"f\"\n"
                               "    ]\n"
                               "}\n");
    sk_buf_release(&buf);
    json_decref(v);
}
END_TEST

/* --- getters ------------------------------------------------------------ */

static const char object_text[] =
    "{\"metadata\":{\"name\":\"web\",\"generation\":3,\"labels\":{\"app\":\"web\"},"
    "\"annotations\":{\"kubernetes.io/name\":\"dotted\",\"a\\\"b\":\"quoted\",\"it's\":\"apos\","
    "\"x[0]\":\"brackets\",\"\":\"empty\"}},"
    "\"spec\":{\"replicas\":3,\"paused\":false,\"ratio\":2.0,\"half\":1.5,\"huge\":1e30,"
    "\"nothing\":null,\"list\":[],\"containers\":[{\"name\":\"c\",\"image\":\"nginx:1.25\","
    "\"ports\":[{\"containerPort\":80}]}]}}";

static json_t *
fixture(void)
{
    return parse_ok(object_text);
}

static const struct {
    const char *path;
    int rc;
    const char *want; /* the value, or the error message */
} string_cases[] = {
    {"metadata.name", 0, "web"},
    {"metadata.labels.app", 0, "web"},
    {"spec.containers[0].image", 0, "nginx:1.25"},
    {"metadata.annotations[\"kubernetes.io/name\"]", 0, "dotted"},
    {"metadata.annotations['kubernetes.io/name']", 0, "dotted"},
    {"metadata.annotations[\"a\\\"b\"]", 0, "quoted"},
    {"metadata.annotations['it\\'s']", 0, "apos"},
    {"metadata.annotations[\"x[0]\"]", 0, "brackets"},
    {"metadata.annotations[\"\"]", 0, "empty"},
    {"[\"metadata\"].name", 0, "web"},
    {"metadata.namespace", -ENOENT, "metadata.namespace: required"},
    {"status.phase", -ENOENT, "status.phase: required"},
    {"spec.nothing", -ENOENT, "spec.nothing: required"},
    {"spec.nothing.deeper", -ENOENT, "spec.nothing.deeper: required"},
    {"metadata.annotations.kubernetes.io/name", -ENOENT,
     "metadata.annotations.kubernetes.io/name: required"},
    {"spec.containers[1].image", -ENOENT, "spec.containers[1]: index out of range (1 items)"},
    {"spec.list[0]", -ENOENT, "spec.list[0]: index out of range (0 items)"},
    {"spec.replicas", -EINVAL, "spec.replicas: must be a string"},
    {"spec.containers", -EINVAL, "spec.containers: must be a string"},
    {"spec.containers.image", -EINVAL, "spec.containers: must be an object"},
    {"metadata.name.first", -EINVAL, "metadata.name: must be an object"},
    {"metadata.name[0]", -EINVAL, "metadata.name: must be an array"},
    {"[0]", -EINVAL, "(root): must be an array"},
};

START_TEST(get_string_by_path)
{
    json_t *root = fixture();
    const char *s = NULL;
    struct sk_err err;
    int rc;

    sk_err_init(&err);
    rc = sk_json_get_string(root, string_cases[_i].path, &s, &err);
    ck_assert_msg(rc == string_cases[_i].rc, "'%s': rc %d (%s)", string_cases[_i].path, rc,
                  err.msg);
    if (rc == 0)
        ck_assert_str_eq(s, string_cases[_i].want);
    else
        ck_assert_str_eq(err.msg, string_cases[_i].want);
    json_decref(root);
}
END_TEST

static const struct {
    const char *path;
    int rc;
    int64_t want;
    const char *msg;
} int_cases[] = {
    {"spec.replicas", 0, 3, NULL},
    {"metadata.generation", 0, 3, NULL},
    {"spec.containers[0].ports[0].containerPort", 0, 80, NULL},
    {"spec.ratio", 0, 2, NULL},
    {"spec.half", -EINVAL, 0, "spec.half: must be an integer"},
    {"spec.huge", -EINVAL, 0, "spec.huge: integer out of range"},
    {"metadata.name", -EINVAL, 0, "metadata.name: must be an integer"},
    {"spec.paused", -EINVAL, 0, "spec.paused: must be an integer"},
    {"spec.minReadySeconds", -ENOENT, 0, "spec.minReadySeconds: required"},
};

START_TEST(get_int_by_path)
{
    json_t *root = fixture();
    struct sk_err err;
    int64_t v = -1;
    int rc;

    sk_err_init(&err);
    rc = sk_json_get_int(root, int_cases[_i].path, &v, &err);
    ck_assert_msg(rc == int_cases[_i].rc, "'%s': rc %d (%s)", int_cases[_i].path, rc, err.msg);
    if (rc == 0)
        ck_assert_int_eq(v, int_cases[_i].want);
    else
        ck_assert_str_eq(err.msg, int_cases[_i].msg);
    json_decref(root);
}
END_TEST

START_TEST(get_int_covers_int64_range)
{
    json_t *root = parse_ok("{\"max\":9223372036854775807,\"min\":-9223372036854775808,"
                            "\"two63\":9223372036854775808.0,\"negtwo63\":-9223372036854775808.0}");
    struct sk_err err;
    int64_t v;

    ck_assert_int_eq(sk_json_get_int(root, "max", &v, &err), 0);
    ck_assert_int_eq(v, INT64_MAX);
    ck_assert_int_eq(sk_json_get_int(root, "min", &v, &err), 0);
    ck_assert_int_eq(v, INT64_MIN);
    ck_assert_int_eq(sk_json_get_int(root, "negtwo63", &v, &err), 0);
    ck_assert_int_eq(v, INT64_MIN);
    ck_assert_int_eq(sk_json_get_int(root, "two63", &v, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "two63: integer out of range");
    json_decref(root);
}
END_TEST

START_TEST(get_bool_object_array_check_types)
{
    json_t *root = fixture();
    struct sk_err err;
    json_t *v = NULL;
    bool b = true;

    ck_assert_int_eq(sk_json_get_bool(root, "spec.paused", &b, &err), 0);
    ck_assert(!b);
    ck_assert_int_eq(sk_json_get_bool(root, "spec.replicas", &b, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "spec.replicas: must be a boolean");
    ck_assert_int_eq(sk_json_get_object(root, "metadata.labels", &v, &err), 0);
    ck_assert_ptr_eq(v, json_object_get(json_object_get(root, "metadata"), "labels"));
    ck_assert_int_eq(sk_json_get_object(root, "spec.containers", &v, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "spec.containers: must be an object");
    ck_assert_int_eq(sk_json_get_array(root, "spec.containers", &v, &err), 0);
    ck_assert_uint_eq(json_array_size(v), 1);
    ck_assert_int_eq(sk_json_get_array(root, "metadata.labels", &v, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "metadata.labels: must be an array");
    ck_assert_int_eq(sk_json_get_array(root, "spec.volumes", &v, &err), -ENOENT);
    ck_assert_str_eq(err.msg, "spec.volumes: required");
    json_decref(root);
}
END_TEST

START_TEST(get_returns_raw_values_or_null)
{
    json_t *root = fixture();

    ck_assert_str_eq(json_string_value(sk_json_get(root, "metadata.name")), "web");
    ck_assert(json_is_null(sk_json_get(root, "spec.nothing")));
    ck_assert_ptr_null(sk_json_get(root, "metadata.nope"));
    ck_assert_ptr_null(sk_json_get(root, "spec.containers[7]"));
    ck_assert_ptr_null(sk_json_get(root, "metadata.name.x"));
    ck_assert_ptr_null(sk_json_get(root, "metadata..name"));
    ck_assert_ptr_null(sk_json_get(NULL, "metadata"));
    json_decref(root);
}
END_TEST

START_TEST(opt_getters_default_when_missing_and_fail_on_wrong_type)
{
    json_t *root = fixture();
    const char *s = NULL;
    struct sk_err err;
    json_t *v = root;
    int64_t i = 0;
    bool b = false;

    sk_err_init(&err);
    ck_assert_int_eq(sk_json_opt_string(root, "metadata.namespace", "default", &s, &err), 1);
    ck_assert_str_eq(s, "default");
    ck_assert_int_eq(sk_json_opt_string(root, "metadata.name", "default", &s, &err), 0);
    ck_assert_str_eq(s, "web");
    ck_assert_int_eq(sk_json_opt_string(root, "spec.nothing", "d", &s, &err), 1);
    ck_assert_str_eq(s, "d");
    ck_assert_int_eq(sk_json_opt_string(root, "spec.containers[3].name", NULL, &s, &err), 1);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(sk_json_opt_int(root, "spec.minReadySeconds", 10, &i, &err), 1);
    ck_assert_int_eq(i, 10);
    ck_assert_int_eq(sk_json_opt_int(root, "spec.replicas", 1, &i, &err), 0);
    ck_assert_int_eq(i, 3);
    ck_assert_int_eq(sk_json_opt_int(root, "spec.half", 1, &i, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "spec.half: must be an integer");
    ck_assert_int_eq(sk_json_opt_bool(root, "spec.suspend", true, &b, &err), 1);
    ck_assert(b);
    ck_assert_int_eq(sk_json_opt_bool(root, "metadata.name", true, &b, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "metadata.name: must be a boolean");
    ck_assert_int_eq(sk_json_opt_object(root, "spec.selector", &v, &err), 1);
    ck_assert_ptr_null(v);
    ck_assert_int_eq(sk_json_opt_array(root, "spec.containers", &v, &err), 0);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(sk_json_opt_string(root, "metadata.name.x", "d", &s, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "metadata.name: must be an object");
    ck_assert_int_eq(sk_json_opt_object(root, "spec.replicas", &v, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "spec.replicas: must be an object");
    json_decref(root);
}
END_TEST

static const struct {
    const char *path;
    const char *msg;
} bad_path_cases[] = {
    {"", "field path '': empty path at offset 0"},
    {"a..b", "field path 'a..b': empty name at offset 2"},
    {".a", "field path '.a': empty name at offset 0"},
    {"a.", "field path 'a.': empty name at offset 2"},
    {"a[", "field path 'a[': expected an index or a quoted key at offset 2"},
    {"a[x]", "field path 'a[x]': expected an index or a quoted key at offset 2"},
    {"a[-1]", "field path 'a[-1]': expected an index or a quoted key at offset 2"},
    {"a[0", "field path 'a[0': expected ']' at offset 3"},
    {"a[0]b", "field path 'a[0]b': expected '.' or '[' at offset 4"},
    {"a]", "field path 'a]': unexpected ']' at offset 1"},
    {"a[\"x", "field path 'a[\"x': unterminated quoted key at offset 4"},
    {"a[\"x\"", "field path 'a[\"x\"': expected ']' at offset 5"},
    {"a['x\"]", "field path 'a['x\"]': unterminated quoted key at offset 6"},
    {"a[\"x\\y\"]", "field path 'a[\"x\\y\"]': bad escape in quoted key at offset 5"},
    {"a[99999999999999999999999]",
     "field path 'a[99999999999999999999999]': index too large at offset 21"},
};

START_TEST(malformed_paths_fail_clearly)
{
    json_t *root = fixture();
    const char *path = bad_path_cases[_i].path;
    const char *s;
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_ptr_null(sk_json_get(root, path));
    ck_assert_int_eq(sk_json_get_string(root, path, &s, &err), -EINVAL);
    ck_assert_str_eq(err.msg, bad_path_cases[_i].msg);
    sk_err_init(&err);
    ck_assert_int_eq(sk_json_opt_string(root, path, "d", &s, &err), -EINVAL);
    ck_assert_str_eq(err.msg, bad_path_cases[_i].msg);
    sk_err_init(&err);
    ck_assert_int_eq(sk_json_set(root, path, json_true(), &err), -EINVAL);
    ck_assert_str_eq(err.msg, bad_path_cases[_i].msg);
    json_decref(root);
}
END_TEST

/* --- set ---------------------------------------------------------------- */

static const struct {
    const char *before;
    const char *path;
    int rc;
    const char *after; /* the object afterwards, or the error message */
} set_cases[] = {
    {"{}", "metadata.labels.app", 0, "{\"metadata\":{\"labels\":{\"app\":\"v\"}}}"},
    {"{\"metadata\":{\"name\":\"a\"}}", "metadata.annotations[\"kubernetes.io/x\"]", 0,
     "{\"metadata\":{\"name\":\"a\",\"annotations\":{\"kubernetes.io/x\":\"v\"}}}"},
    {"{\"metadata\":{\"name\":\"a\"}}", "metadata.name", 0, "{\"metadata\":{\"name\":\"v\"}}"},
    {"{\"metadata\":null}", "metadata.name", 0, "{\"metadata\":{\"name\":\"v\"}}"},
    {"{\"s\":{\"c\":[{\"n\":1}]}}", "s.c[0].image", 0,
     "{\"s\":{\"c\":[{\"n\":1,\"image\":\"v\"}]}}"},
    {"{\"s\":{\"c\":[{\"n\":1}]}}", "s.c[0]", 0, "{\"s\":{\"c\":[\"v\"]}}"},
    {"{\"s\":{\"c\":[null]}}", "s.c[0].x", 0, "{\"s\":{\"c\":[{\"x\":\"v\"}]}}"},
    {"{\"s\":{\"c\":[{\"n\":1}]}}", "s.c[1].image", -ENOENT,
     "s.c[1]: index out of range (1 items)"},
    {"{\"s\":{\"c\":[]}}", "s.c[0]", -ENOENT, "s.c[0]: index out of range (0 items)"},
    {"{\"s\":{}}", "s.ports[0].x", -ENOENT, "s.ports: required"},
    {"{\"metadata\":{\"name\":\"a\"}}", "metadata.name.first", -EINVAL,
     "metadata.name: must be an object"},
    {"{\"s\":{\"c\":{}}}", "s.c[0]", -EINVAL, "s.c: must be an array"},
    {"[]", "a", -EINVAL, "(root): must be an object"},
    {"{}", "a.\xff", -EINVAL, "field path 'a.\xff': cannot store at offset 1"},
};

START_TEST(set_creates_objects_on_the_way)
{
    json_t *root = parse_ok(set_cases[_i].before);
    struct sk_err err;
    int rc;

    sk_err_init(&err);
    rc = sk_json_set(root, set_cases[_i].path, json_string("v"), &err);
    ck_assert_msg(rc == set_cases[_i].rc, "'%s': rc %d (%s)", set_cases[_i].path, rc, err.msg);
    if (rc == 0)
        assert_dump(root, set_cases[_i].after);
    else
        ck_assert_str_eq(err.msg, set_cases[_i].after);
    json_decref(root);
}
END_TEST

/* --- path builder ------------------------------------------------------- */

START_TEST(path_builder_makes_validator_paths)
{
    struct sk_json_path p;
    size_t m1, m2;

    sk_json_path_init(&p);
    ck_assert_str_eq(sk_json_path_str(&p), "");
    sk_json_path_push_key(&p, "spec");
    m1 = sk_json_path_push_key(&p, "containers");
    sk_json_path_push_index(&p, 2);
    m2 = sk_json_path_push_key(&p, "ports");
    sk_json_path_push_index(&p, 0);
    sk_json_path_push_key(&p, "containerPort");
    ck_assert_str_eq(sk_json_path_str(&p), "spec.containers[2].ports[0].containerPort");
    sk_json_path_pop(&p, m2);
    ck_assert_str_eq(sk_json_path_str(&p), "spec.containers[2]");
    sk_json_path_push_key(&p, "image");
    ck_assert_str_eq(sk_json_path_str(&p), "spec.containers[2].image");
    sk_json_path_pop(&p, m1);
    ck_assert_str_eq(sk_json_path_str(&p), "spec");
    sk_json_path_release(&p);
}
END_TEST

START_TEST(path_builder_quotes_keys_that_need_it)
{
    static const char *const keys[] = {
        "kubernetes.io/name", "a\"b", "back\\slash", "x[0]", "", "it's", "plain"};
    json_t *root = json_object();
    json_t *annotations = json_object();
    struct sk_json_path p;
    size_t i, mark;

    json_object_set_new(root, "metadata", json_pack("{s:o}", "annotations", annotations));
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        json_object_set_new(annotations, keys[i], json_integer((json_int_t)i));
    sk_json_path_init(&p);
    sk_json_path_push_key(&p, "metadata");
    sk_json_path_push_key(&p, "annotations");
    mark = sk_json_path_push_key(&p, keys[0]);
    ck_assert_str_eq(sk_json_path_str(&p), "metadata.annotations[\"kubernetes.io/name\"]");
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        sk_json_path_pop(&p, mark);
        sk_json_path_push_key(&p, keys[i]);
        ck_assert_msg(json_integer_value(sk_json_get(root, sk_json_path_str(&p))) == (int)i,
                      "key '%s' via '%s'", keys[i], sk_json_path_str(&p));
    }
    sk_json_path_release(&p);
    json_decref(root);
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

int
main(void)
{
    Suite *s = suite_create("json");
    TCase *parse = tcase_create("parse");
    TCase *dump = tcase_create("dump");
    TCase *path = tcase_create("path");

    tcase_add_loop_test(parse, parse_accepts_any_value_and_keeps_key_order, 0, N(parse_ok_cases));
    tcase_add_loop_test(parse, parse_rejects_malformed_with_line_and_column, 0, N(parse_bad_cases));
    tcase_add_test(parse, parse_refuses_deep_nesting);
    tcase_add_test(parse, parse_reads_only_len_bytes);
    suite_add_tcase(s, parse);

    tcase_add_test(dump, dump_line_escapes_newlines_and_control_characters);
    tcase_add_test(dump, dump_line_is_compact_ordered_and_utf8);
    tcase_add_test(dump, dump_line_round_trips_and_scalars_encode);
    tcase_add_test(dump, dump_buf_appends_and_keeps_buffer_on_failure);
    tcase_add_test(dump, dump_pretty_indents_like_kubectl);
    suite_add_tcase(s, dump);

    tcase_add_loop_test(path, get_string_by_path, 0, N(string_cases));
    tcase_add_loop_test(path, get_int_by_path, 0, N(int_cases));
    tcase_add_test(path, get_int_covers_int64_range);
    tcase_add_test(path, get_bool_object_array_check_types);
    tcase_add_test(path, get_returns_raw_values_or_null);
    tcase_add_test(path, opt_getters_default_when_missing_and_fail_on_wrong_type);
    tcase_add_loop_test(path, malformed_paths_fail_clearly, 0, N(bad_path_cases));
    tcase_add_loop_test(path, set_creates_objects_on_the_way, 0, N(set_cases));
    tcase_add_test(path, path_builder_makes_validator_paths);
    tcase_add_test(path, path_builder_quotes_keys_that_need_it);
    suite_add_tcase(s, path);
    return unit_main(s);
}
