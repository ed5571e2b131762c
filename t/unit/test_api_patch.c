/* api/objects_patch.c: JSON merge patch, with the examples of RFC 7386
 * appendix A. */
#include "api/objects.h"
#include "lib/json.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
    const char *target, *patch, *result;
} cases[] = {
    /* RFC 7386 appendix A */
    {"{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
    {"{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}"},
    {"{\"a\":\"b\"}", "{\"a\":null}", "{}"},
    {"{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}"},
    {"{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
    {"{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}"},
    {"{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}"},
    {"{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}"},
    {"[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]"},
    {"{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]"},
    {"{\"a\":\"foo\"}", "null", "null"},
    {"{\"a\":\"foo\"}", "\"bar\"", "\"bar\""},
    {"{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}"},
    {"[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}"},
    {"{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}"},
    /* objects as skiff patches them */
    {"{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"replicas\":1}}",
     "{\"metadata\":{\"labels\":{\"tier\":\"fe\",\"app\":null}}}",
     "{\"metadata\":{\"labels\":{\"tier\":\"fe\"}},\"spec\":{\"replicas\":1}}"},
};

START_TEST(rfc7386_examples)
{
    for (size_t i = 0; i < N(cases); i++) {
        json_t *t = NULL, *p = NULL, *want = NULL, *got;
        char *before, *after;

        ck_assert_int_eq(sk_json_parse(cases[i].target, strlen(cases[i].target), &t, NULL), 0);
        ck_assert_int_eq(sk_json_parse(cases[i].patch, strlen(cases[i].patch), &p, NULL), 0);
        ck_assert_int_eq(sk_json_parse(cases[i].result, strlen(cases[i].result), &want, NULL), 0);
        before = sk_json_dump_line(t);
        got = api_merge_patch(t, p);
        after = sk_json_dump_line(t);
        ck_assert_msg(json_equal(got, want), "case %zu: got %s", i, sk_json_dump_line(got));
        ck_assert_str_eq(before, after); /* the target is not changed */
        free(before);
        free(after);
        json_decref(t);
        json_decref(p);
        json_decref(want);
        json_decref(got);
    }
}
END_TEST

START_TEST(null_target_is_treated_as_absent)
{
    json_t *p = json_pack("{s:i}", "a", 1), *got = api_merge_patch(NULL, p);

    ck_assert(json_equal(got, p));
    json_decref(got);
    json_decref(p);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("api_patch");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, rfc7386_examples);
    tcase_add_test(tc, null_target_is_treated_as_absent);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
