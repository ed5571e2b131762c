/* api/: argument splitting and response status lines of the protocol. */
#include "api/client.h"
#include "api/server.h"
#include "unit.h"

#include <errno.h>
#include <string.h>

START_TEST(args_split_on_spaces_and_percent_decode)
{
    static const struct {
        const char *in;
        int want;
        const char *words[4];
    } cases[] = {
        {"", 0, {NULL}},
        {"   ", 0, {NULL}},
        {"pods default web", 3, {"pods", "default", "web"}},
        {"  pods   default ", 2, {"pods", "default"}},
        {"selector=app%3Dweb", 1, {"selector=app=web"}},
        {"a%20b %25", 2, {"a b", "%"}},
        {"bad%2", -1, {NULL}},
        {"bad%zz", -1, {NULL}},
        {"nul%00", -1, {NULL}},
        {"a b c d e", -1, {NULL}},
    };
    char buf[128], *argv[4];
    size_t i;
    int n, j;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        strcpy(buf, cases[i].in);
        n = api_args_split(buf, argv, 4);
        ck_assert_msg(n == cases[i].want, "'%s': got %d", cases[i].in, n);
        for (j = 0; j < n; j++)
            ck_assert_str_eq(argv[j], cases[i].words[j]);
    }
}
END_TEST

START_TEST(status_lines_parse)
{
    struct api_resp resp;
    struct sk_err err;

    ck_assert_int_eq(api_resp_parse_status("ok 3 rev=42", &resp, &err), 3);
    ck_assert(resp.ok);
    ck_assert_str_eq(resp.status, "rev=42");
    api_resp_release(&resp);

    ck_assert_int_eq(api_resp_parse_status("ok 0", &resp, &err), 0);
    ck_assert_str_eq(resp.status, "");
    api_resp_release(&resp);

    ck_assert_int_eq(api_resp_parse_status("error 404 NotFound pods \"x\" not found", &resp, &err),
                     0);
    ck_assert(!resp.ok);
    ck_assert_int_eq(resp.code, 404);
    ck_assert_str_eq(resp.reason, "NotFound");
    ck_assert_str_eq(resp.status, "pods \"x\" not found");
    api_resp_release(&resp);
}
END_TEST

START_TEST(malformed_status_lines_are_protocol_errors)
{
    static const char *const bad[] = {
        "",      "ok",        "ok x", "ok -1", "ok 3x", "ok 99999999999999999999",
        "error", "error x y", "OK 1", "hello",
    };
    struct api_resp resp;
    struct sk_err err;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sk_err_init(&err);
        ck_assert_msg(api_resp_parse_status(bad[i], &resp, &err) == -EPROTO, "'%s'", bad[i]);
        ck_assert_ptr_nonnull(strstr(err.msg, "malformed status line"));
        api_resp_release(&resp);
    }
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("api_proto");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, args_split_on_spaces_and_percent_decode);
    tcase_add_test(tc, status_lines_parse);
    tcase_add_test(tc, malformed_status_lines_are_protocol_errors);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
