/* api/kv: parsing of the kv verbs' arguments and the KV JSON they print. */
#include "api/kv.h"
#include "lib/buf.h"
#include "unit.h"

#include <string.h>

START_TEST(split_decodes_each_word_and_keeps_lengths)
{
    char args[] = "put  a%20b x%00y prev";
    char *argv[API_KV_MAX_ARGS];
    uint32_t lens[API_KV_MAX_ARGS];

    ck_assert_int_eq(api_kv_split(args, argv, lens, API_KV_MAX_ARGS), 4);
    ck_assert_str_eq(argv[0], "put");
    ck_assert_uint_eq(lens[1], 3);
    ck_assert_mem_eq(argv[1], "a b", 3);
    ck_assert_uint_eq(lens[2], 3);
    ck_assert_mem_eq(argv[2], "x\0y", 3);
    ck_assert_str_eq(argv[3], "prev");
}
END_TEST

START_TEST(split_refuses_bad_escapes_and_too_many_words)
{
    static const char *const bad[] = {"get a%", "get a%2", "get a%zz", "get %g0",
                                      "a b c d e f g h i"};
    char *argv[API_KV_MAX_ARGS];
    uint32_t lens[API_KV_MAX_ARGS];
    char buf[64];
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        strcpy(buf, bad[i]);
        ck_assert_msg(api_kv_split(buf, argv, lens, API_KV_MAX_ARGS) == -1, "%s", bad[i]);
    }
    strcpy(buf, "   ");
    ck_assert_int_eq(api_kv_split(buf, argv, lens, API_KV_MAX_ARGS), 0);
}
END_TEST

START_TEST(span_end_plus_is_prefix_nul_is_all_else_literal)
{
    char end[16];
    uint32_t n;

    n = api_kv_span_end("app/", 4, "+", 1, end);
    ck_assert_uint_eq(n, 4);
    ck_assert_mem_eq(end, "app0", 4);
    n = api_kv_span_end("a\xff", 2, "+", 1, end);
    ck_assert_uint_eq(n, 1);
    ck_assert_mem_eq(end, "b", 1);
    n = api_kv_span_end("a", 1, "\0", 1, end);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(end[0], 0);
    n = api_kv_span_end("a", 1, "m", 1, end);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(end[0], 'm');
    n = api_kv_span_end("", 0, "+", 1, end);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(end[0], 0);
}
END_TEST

START_TEST(utf8_check_refuses_invalid_sequences)
{
    static const struct {
        const char *s;
        int ok;
    } cases[] = {
        {"plain", 1},
        {"caf\xc3\xa9", 1},
        {"\xe2\x82\xac", 1},
        {"\xf0\x9f\x98\x80", 1},
        {"\xff", 0},
        {"\xc3", 0},
        {"\xc0\xaf", 0},
        {"\xed\xa0\x80", 0},
        {"\xf4\x90\x80\x80", 0},
        {"\xe2\x82", 0},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_msg(api_kv_utf8_ok(cases[i].s, (uint32_t)strlen(cases[i].s)) == cases[i].ok,
                      "case %zu", i);
    ck_assert_int_eq(api_kv_utf8_ok("a\0b", 3), 0);
}
END_TEST

START_TEST(kv_json_escapes_quotes_and_controls)
{
    struct sk_buf out = SK_BUF_INIT;
    struct mvcc_kv kv = {"k\"1", "line\nnext\\", 3, 10, 5, 9, 2};

    api_kv_json(&out, &kv);
    ck_assert_str_eq(out.data, "{\"key\":\"k\\\"1\",\"value\":\"line\\u000anext\\\\\","
                               "\"create_revision\":5,\"mod_revision\":9,\"version\":2}");
    sk_buf_reset(&out);
    kv.value = NULL;
    api_kv_json(&out, &kv);
    ck_assert_ptr_nonnull(strstr(out.data, "\"value\":\"\""));
    sk_buf_release(&out);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("api_kv");
    TCase *tc = tcase_create("parse");

    tcase_add_test(tc, split_decodes_each_word_and_keeps_lengths);
    tcase_add_test(tc, split_refuses_bad_escapes_and_too_many_words);
    tcase_add_test(tc, span_end_plus_is_prefix_nul_is_all_else_literal);
    tcase_add_test(tc, utf8_check_refuses_invalid_sequences);
    tcase_add_test(tc, kv_json_escapes_quotes_and_controls);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
