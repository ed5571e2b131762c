/* api/objects_filter.c: label and field selectors on objects, the
 * watch event decision, rendering with a resourceVersion. */
#include "api/objects.h"
#include "lib/json.h"
#include "unit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char pod_json[] =
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\",\"namespace\":"
    "\"default\",\"labels\":{\"app\":\"web\",\"tier\":\"fe\"}},\"spec\":{\"nodeName\":\"n1\","
    "\"containers\":[]},\"status\":{\"phase\":\"Running\"}}";

static const struct {
    const char *labels, *fields;
    bool match;
} pod_cases[] = {
    {"", "", true},
    {"app=web", "", true},
    {"app=db", "", false},
    {"app in (db,web),tier!=be", "", true},
    {"!app", "", false},
    {"x", "", false},
    {"", "spec.nodeName=n1", true},
    {"", "spec.nodeName==n1", true},
    {"", "spec.nodeName!=n1", false},
    {"", "spec.nodeName=", false},
    {"", "spec.nodeName=n1,status.phase!=Running", false},
    {"", "status.phase!=Pending,metadata.namespace=default", true},
    {"", "metadata.name=web", true},
    {"", "status.podIP=", true}, /* absent reads as "" */
    {"app=web", "spec.nodeName=n2", false},
};

START_TEST(selectors_on_a_pod)
{
    const struct api_kind *k = api_kind_lookup("pods");
    json_t *pod = NULL;

    ck_assert_int_eq(sk_json_parse(pod_json, strlen(pod_json), &pod, NULL), 0);
    for (size_t i = 0; i < N(pod_cases); i++) {
        struct api_obj_filter f;
        struct sk_err err;

        sk_err_init(&err);
        ck_assert_msg(api_obj_filter_parse(&f, k, pod_cases[i].labels, pod_cases[i].fields, &err) ==
                          0,
                      "%zu: %s", i, err.msg);
        ck_assert_msg(api_obj_filter_match(&f, pod) == pod_cases[i].match, "case %zu", i);
        ck_assert(api_obj_filter_all(&f) == (!*pod_cases[i].labels && !*pod_cases[i].fields));
        api_obj_filter_release(&f);
    }
    json_decref(pod);
}
END_TEST

START_TEST(field_selector_values_may_escape_commas)
{
    const struct api_kind *k = api_kind_lookup("pods");
    struct api_obj_filter f;
    json_t *pod =
        json_pack("{s:{s:s},s:{s:s}}", "metadata", "name", "a,b", "spec", "nodeName", "x");

    ck_assert_int_eq(api_obj_filter_parse(&f, k, NULL, "metadata.name=a\\,b", NULL), 0);
    ck_assert_uint_eq(f.nterms, 1);
    ck_assert_str_eq(f.terms[0].value, "a,b");
    ck_assert(api_obj_filter_match(&f, pod));
    api_obj_filter_release(&f);
    json_decref(pod);
}
END_TEST

static const struct {
    const char *kind, *labels, *fields, *msg;
} bad_cases[] = {
    {"pods", "app in (", "", "selector"},
    {"pods", "", "spec.frob=x", "field label not supported: spec.frob"},
    {"pods", "", "nodeName", "expected key=value"},
    {"configmaps", "", "spec.nodeName=n1", "field label not supported"},
    {"nodes", "", "spec.unschedulable=true,x=y", "field label not supported: x"},
};

START_TEST(bad_selectors_are_bad_requests)
{
    for (size_t i = 0; i < N(bad_cases); i++) {
        struct api_obj_filter f;
        struct sk_err err;

        sk_err_init(&err);
        ck_assert_int_eq(api_obj_filter_parse(&f, api_kind_lookup(bad_cases[i].kind),
                                              bad_cases[i].labels, bad_cases[i].fields, &err),
                         -EBADMSG);
        ck_assert_int_eq(err.code, EBADMSG);
        ck_assert_msg(strstr(err.msg, bad_cases[i].msg), "%zu: %s", i, err.msg);
        api_obj_filter_release(&f);
    }
}
END_TEST

/* deleted, had_prev, prev_match, cur_match -> event */
static const struct {
    bool deleted, had_prev, prev_match, cur_match;
    enum api_watch_event want;
} ev_cases[] = {
    {false, false, false, true, API_WATCH_ADDED},  /* created, matches */
    {false, false, false, false, API_WATCH_NONE},  /* created, filtered out */
    {false, true, true, true, API_WATCH_MODIFIED}, /* changed, still matches */
    {false, true, false, true, API_WATCH_ADDED},   /* starts matching */
    {false, true, true, false, API_WATCH_DELETED}, /* stops matching */
    {false, true, false, false, API_WATCH_NONE},   /* never matched */
    {true, true, true, false, API_WATCH_DELETED},  /* deleted while matching */
    {true, true, false, false, API_WATCH_NONE},    /* deleted, was filtered out */
    {true, false, true, true, API_WATCH_NONE},     /* a delete without prev */
    {false, false, true, true, API_WATCH_ADDED},   /* recreated after a delete */
};

START_TEST(watch_event_decisions)
{
    for (size_t i = 0; i < N(ev_cases); i++)
        ck_assert_msg(api_watch_event_type(ev_cases[i].deleted, ev_cases[i].had_prev,
                                           ev_cases[i].prev_match,
                                           ev_cases[i].cur_match) == ev_cases[i].want,
                      "case %zu", i);
    ck_assert_str_eq(api_watch_event_name(API_WATCH_ADDED), "ADDED");
    ck_assert_str_eq(api_watch_event_name(API_WATCH_MODIFIED), "MODIFIED");
    ck_assert_str_eq(api_watch_event_name(API_WATCH_DELETED), "DELETED");
}
END_TEST

static const struct {
    const char *in, *out;
} render_cases[] = {
    {"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"}}",
     "{\"kind\":\"Pod\",\"metadata\":{\"resourceVersion\":\"7\",\"name\":\"a\"}}"},
    {"{\"metadata\":{}}", "{\"metadata\":{\"resourceVersion\":\"7\"}}"},
    /* a nested "metadata" (a template's) and one inside a string come first */
    {"{\"spec\":{\"template\":{\"metadata\":{\"x\":1}}},\"s\":\"\\\"metadata\\\":{\","
     "\"metadata\":{\"name\":\"d\"}}",
     "{\"spec\":{\"template\":{\"metadata\":{\"x\":1}}},\"s\":\"\\\"metadata\\\":{\","
     "\"metadata\":{\"resourceVersion\":\"7\",\"name\":\"d\"}}"},
};

START_TEST(render_inserts_the_resource_version_at_top_level)
{
    struct sk_buf out = SK_BUF_INIT;

    for (size_t i = 0; i < N(render_cases); i++) {
        sk_buf_reset(&out);
        ck_assert_int_eq(api_obj_render(render_cases[i].in, strlen(render_cases[i].in), 7, &out),
                         0);
        ck_assert_str_eq(out.data, render_cases[i].out);
    }
    sk_buf_reset(&out);
    ck_assert_int_eq(api_obj_render("{\"a\":{\"metadata\":{}}}", 21, 7, &out), -EBADMSG);
    ck_assert_int_eq(api_obj_render("[]", 2, 7, &out), -EBADMSG);
    ck_assert_uint_eq(out.len, 0);
    sk_buf_release(&out);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("api_filter");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, selectors_on_a_pod);
    tcase_add_test(tc, field_selector_values_may_escape_commas);
    tcase_add_test(tc, bad_selectors_are_bad_requests);
    tcase_add_test(tc, watch_event_decisions);
    tcase_add_test(tc, render_inserts_the_resource_version_at_top_level);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
