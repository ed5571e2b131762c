/* bench/store_load: response framing of both backends (line protocol,
 * HTTP/1.1) and the request encodings. The load generator is a program,
 * not a module, so its static functions are compiled in here, its main()
 * renamed. */
int store_load_main(int argc, char **argv);
#define main store_load_main
#include "bench/store_load.c"
#undef main

#include "unit.h"

/* Every proper prefix of a complete response asks for more bytes, the
 * whole response is taken, and bytes of a next response after it are
 * left alone. */
static void
check_line_framing(const char *resp, bool want_ok)
{
    size_t len = strlen(resp), i;
    char *two = sk_asprintf("%sok 0 rev=1\n", resp);
    bool ok = !want_ok;

    for (i = 0; i < len; i++)
        ck_assert_msg(parse_line_resp(resp, i, &ok) == 0, "prefix %zu of '%s'", i, resp);
    ck_assert_int_eq(parse_line_resp(resp, len, &ok), (long)len);
    ck_assert_int_eq(ok, want_ok);
    ck_assert_int_eq(parse_line_resp(two, strlen(two), &ok), (long)len);
    free(two);
}

START_TEST(line_responses_are_framed_by_status_and_count)
{
    check_line_framing("ok 0 rev=5\n", true);
    check_line_framing("ok 0 rev=5\r\n", true);
    check_line_framing("ok 1 rev=5\n{\"key\":\"k\"}\n", true);
    check_line_framing("ok 2 rev=9 more=0\n{}\n{}\n", true);
    check_line_framing("error 503 Unavailable no leader\n", false);
    check_line_framing("error 413 RequestTooLarge line longer than 1048576 bytes\n", false);
}
END_TEST

START_TEST(malformed_line_responses_are_refused)
{
    static const char *const bad[] = {
        "ok\n", "ok x rev=1\n", "ok 1x\n", "OK 0\n", "HTTP/1.1 200 OK\n", "\n", "pong\n",
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        bool ok;

        ck_assert_msg(parse_line_resp(bad[i], strlen(bad[i]), &ok) == -1, "'%s'", bad[i]);
    }
}
END_TEST

static void
check_http_framing(const char *resp, int want_status)
{
    size_t len = strlen(resp), i;
    char *two = sk_asprintf("%sHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", resp);
    int status = 0;

    for (i = 0; i < len; i++)
        ck_assert_msg(parse_http_resp(resp, i, &status) == 0, "prefix %zu of '%s'", i, resp);
    ck_assert_int_eq(parse_http_resp(resp, len, &status), (long)len);
    ck_assert_int_eq(status, want_status);
    ck_assert_int_eq(parse_http_resp(two, strlen(two), &status), (long)len);
    free(two);
}

START_TEST(http_responses_are_framed_by_length_or_chunks)
{
    check_http_framing("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                       "Content-Length: 27\r\n\r\n{\"header\":{\"revision\":\"5\"}}",
                       200);
    check_http_framing("HTTP/1.1 200 OK\r\ncontent-length:2\r\n\r\n{}", 200);
    check_http_framing("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 5\r\n\r\nbusy!", 503);
    check_http_framing("HTTP/1.1 204 No Content\r\n\r\n", 204);
    check_http_framing("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "2\r\n{}\r\n0\r\n\r\n",
                       200);
    check_http_framing("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
                       "a;name=v\r\n0123456789\r\n3\r\nabc\r\n0\r\nX-Trailer: y\r\n\r\n",
                       200);
}
END_TEST

START_TEST(malformed_http_responses_are_refused)
{
    static const char *const bad[] = {
        /* a body that only ends when the connection closes */
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n",
        "HTTP/1.1 abc OK\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 99 Low\r\nContent-Length: 0\r\n\r\n",
        "SSH-2.0-OpenSSH_9.2\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n",
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int status;

        ck_assert_msg(parse_http_resp(bad[i], strlen(bad[i]), &status) == -1, "'%s'", bad[i]);
    }
}
END_TEST

START_TEST(http_header_without_end_is_refused_past_the_limit)
{
    size_t n = MAX_HEADER + 100;
    char *big = sk_malloc(n);
    int status;

    memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
    memset(big + 20, 'x', n - 20);
    ck_assert_int_eq(parse_http_resp(big, MAX_HEADER, &status), 0);
    ck_assert_int_eq(parse_http_resp(big, n, &status), -1);
    free(big);
}
END_TEST

START_TEST(percent_encoding_escapes_space_percent_and_non_ascii)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"abc-._~/09", "abc-._~/09"}, {"a b", "a%20b"},       {"100%", "100%25"},
        {"\x01\x7f", "%01%7F"},       {"\xc3\xa9", "%C3%A9"}, {"", ""},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sk_buf out = SK_BUF_INIT;

        pct_encode(&out, cases[i].in, strlen(cases[i].in));
        ck_assert_str_eq(out.data ? out.data : "", cases[i].out);
        sk_buf_release(&out);
    }
}
END_TEST

START_TEST(base64_matches_rfc4648_vectors)
{
    static const char *const vec[][2] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    size_t i;

    for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
        struct sk_buf out = SK_BUF_INIT;

        b64_encode(&out, vec[i][0], strlen(vec[i][0]));
        ck_assert_str_eq(out.data ? out.data : "", vec[i][1]);
        sk_buf_release(&out);
    }
}
END_TEST

START_TEST(quantiles_use_the_nearest_rank)
{
    int64_t lat[100];
    size_t i;

    for (i = 0; i < 100; i++)
        lat[i] = (int64_t)(i + 1) * 1000000; /* 1..100 ms */
    ck_assert(quantile_ms(lat, 100, 0.50) == 50.0);
    ck_assert(quantile_ms(lat, 100, 0.99) == 99.0);
    ck_assert(quantile_ms(lat, 100, 1.0) == 100.0);
    ck_assert(quantile_ms(lat, 1, 0.99) == 1.0);
    ck_assert(quantile_ms(lat, 0, 0.99) == 0.0);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("store_load");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, line_responses_are_framed_by_status_and_count);
    tcase_add_test(tc, malformed_line_responses_are_refused);
    tcase_add_test(tc, http_responses_are_framed_by_length_or_chunks);
    tcase_add_test(tc, malformed_http_responses_are_refused);
    tcase_add_test(tc, http_header_without_end_is_refused_past_the_limit);
    tcase_add_test(tc, percent_encoding_escapes_space_percent_and_non_ascii);
    tcase_add_test(tc, base64_matches_rfc4648_vectors);
    tcase_add_test(tc, quantiles_use_the_nearest_rank);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
