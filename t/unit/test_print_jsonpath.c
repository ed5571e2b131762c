/* api/print: kubectl's JSONPath templates (-o jsonpath=), their results
 * on a pod list, and malformed templates reported with their position. */
#include "api/print.h"
#include "unit.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char list_json[] =
    "{\"kind\":\"List\",\"items\":["
    "{\"metadata\":{\"name\":\"web\",\"labels\":{\"app\":\"web\",\"kubernetes.io/name\":\"w\"}},"
    "\"spec\":{\"containers\":[{\"name\":\"nginx\",\"image\":\"nginx:1.25\"},{\"name\":\"side\","
    "\"image\":\"busybox\"}]},\"status\":{\"phase\":\"Running\",\"restarts\":3,\"conditions\":["
    "{\"type\":\"Initialized\",\"status\":\"True\"},{\"type\":\"Ready\",\"status\":\"True\"}]}},"
    "{\"metadata\":{\"name\":\"db\"},\"spec\":{\"containers\":[{\"name\":\"pg\",\"image\":"
    "\"postgres\"}]},\"status\":{\"phase\":\"Pending\",\"restarts\":0,\"conditions\":[{\"type\":"
    "\"Ready\",\"status\":\"False\"}]}}]}";

static const struct {
    const char *tmpl, *want;
} cases[] = {
    {"{.kind}", "List"},
    {"{$.kind}", "List"},
    {"{.items[0].metadata.name}", "web"},
    {"{.items[*].metadata.name}", "web db"},
    {"{.items[0].spec.containers[0].image}", "nginx:1.25"},
    {"{.items[0].spec.containers[-1].name}", "side"},
    {"{.items[0].spec.containers[*].image}", "nginx:1.25 busybox"},
    {"{.items[1:].metadata.name}", "db"},
    {"{.items[:1].metadata.name}", "web"},
    {"{.items[0:5].metadata.name}", "web db"},
    {"{range .items[*]}{.metadata.name}{\"\\t\"}{.status.phase}{\"\\n\"}{end}",
     "web\tRunning\ndb\tPending\n"},
    {"{range .items}{.metadata.name},{end}", "web,db,"},
    {"{range .items[*]}[{range .spec.containers[*]}{.name};{end}]{end}", "[nginx;side;][pg;]"},
    {"{.items[0].status.conditions[?(@.type==\"Ready\")].status}", "True"},
    {"{.items[*].status.conditions[?(@.type=='Ready')].status}", "True False"},
    {"{.items[?(@.status.phase!=\"Running\")].metadata.name}", "db"},
    {"{.items[?(@.status.restarts>1)].metadata.name}", "web"},
    {"{.items[?(@.status.restarts<=0)].metadata.name}", "db"},
    {"{.items[?(@.metadata.labels)].metadata.name}", "web"},
    {"{.items[0].metadata.labels.app}", "web"},
    {"{.items[0].metadata.labels['kubernetes.io/name']}", "w"},
    {"{.items[0].metadata.labels.kubernetes\\.io/name}", "w"},
    {"{..image}", "nginx:1.25 busybox postgres"},
    {"{.items[1]..name}", "db pg"},
    {"{.items[0].status.restarts}", "3"},
    {"{.items[0].metadata.labels}", "{\"app\":\"web\",\"kubernetes.io/name\":\"w\"}"},
    {"{.items[0].spec.containers[*]['name']}", "nginx side"},
    {"{.items[1].spec.containers[0].*}", "pg postgres"},
    {"name: {.items[0].metadata.name}!", "name: web!"},
    {"no braces at all", "no braces at all"},
    {"{.missing}", ""},
    {"{.items[7].metadata.name}", ""},
    {"{.kind.deeper}", ""},
    {"{.items[0].metadata.name.x[3]}", ""},
    {"{ .kind }", "List"},
    {"{\"a\\\"b\"}", "a\"b"},
    {"", ""},
};

START_TEST(template_evaluates_like_kubectl)
{
    json_t *root = json_loads(list_json, 0, NULL);
    struct sk_buf b = SK_BUF_INIT;
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_ptr_nonnull(root);
    ck_assert_msg(api_print_jsonpath(cases[_i].tmpl, root, &b, &err) == 0, "%s: %s", cases[_i].tmpl,
                  err.msg);
    ck_assert_msg(strcmp(b.data ? b.data : "", cases[_i].want) == 0, "%s: got '%s', want '%s'",
                  cases[_i].tmpl, b.data ? b.data : "", cases[_i].want);
    sk_buf_release(&b);
    json_decref(root);
}
END_TEST

static const struct {
    const char *tmpl, *msg;
} bad[] = {
    {"{.metadata.name", "at position 16: unclosed action"},
    {"{", "at position 2: "},
    {"{}", "at position 2: empty action"},
    {"{.a[}", "at position 5: expected an index"},
    {"{.a[0}", "at position 6: expected ']'"},
    {"{.a[x]}", "at position 5: expected an index"},
    {"{.a[?(@.b==)]}", "at position 12: expected @, $, a string or a number"},
    {"{.a[?(@.b=='x']}", "at position 15: expected ')'"},
    {"{\"unterminated}", "unterminated string"},
    {"{range .items[*]}{.a}", "{range} without {end}"},
    {"{end}", "at position 2: {end} without {range}"},
    {"{.a b}", "at position 5: unexpected character"},
    {"{.}x{.a..}", "at position 10: expected a field name"},
    {"{.a[99999999999999999999]}", "expected an integer"},
};

START_TEST(malformed_template_names_position)
{
    json_t *root = json_loads(list_json, 0, NULL);
    struct sk_buf b = SK_BUF_INIT;
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_lt(api_print_jsonpath(bad[_i].tmpl, root, &b, &err), 0);
    ck_assert_msg(strstr(err.msg, bad[_i].msg) != NULL, "%s: '%s' lacks '%s'", bad[_i].tmpl,
                  err.msg, bad[_i].msg);
    ck_assert_msg(strncmp(err.msg, "jsonpath '", 10) == 0, "%s", err.msg);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_int_lt(api_print_jsonpath_check(bad[_i].tmpl, &err), 0);
    sk_buf_release(&b);
    json_decref(root);
}
END_TEST

START_TEST(hostile_roots_never_crash)
{
    const char *roots[] = {"null", "1", "\"s\"", "[]", "[[[[1]]]]", "{\"items\":7}"};
    const char *tmpls[] = {"{.items[*].a}",  "{range .items[*]}{.x}{end}",
                           "{..a}",          "{.items[?(@.a==1)]}",
                           "{.items[-9:9]}", "{$}"};

    for (size_t r = 0; r < N(roots); r++)
        for (size_t t = 0; t < N(tmpls); t++) {
            json_t *root = json_loads(roots[r], JSON_DECODE_ANY, NULL);
            struct sk_buf b = SK_BUF_INIT;
            struct sk_err err;

            sk_err_init(&err);
            ck_assert_int_eq(api_print_jsonpath(tmpls[t], root, &b, &err), 0);
            sk_buf_release(&b);
            json_decref(root);
        }
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("print_jsonpath");
    TCase *tc = tcase_create("jsonpath");

    tcase_add_loop_test(tc, template_evaluates_like_kubectl, 0, N(cases));
    tcase_add_loop_test(tc, malformed_template_names_position, 0, N(bad));
    tcase_add_test(tc, hostile_roots_never_crash);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
