/* lib/quote: rendering untrusted input, decoding percent escapes. */
#include "lib/quote.h"
#include "unit.h"

#include <string.h>

START_TEST(quote_escapes_controls_and_marks_cuts)
{
    char out[SK_QUOTE_SIZE(8)];

    ck_assert_str_eq(sk_quote_input(out, sizeof(out), "a\nb'", 4, 8), "a\\x0ab\\'");
    ck_assert_str_eq(sk_quote_input(out, sizeof(out), "0123456789", 10, 8), "01234567...");
}
END_TEST

static const struct {
    const char *in;
    bool nul_ok;
    ssize_t rc;
    const char *out;
    size_t outlen;
} pct_cases[] = {
    {"plain", false, 5, "plain", 5},
    {"a%20b%25", false, 4, "a b%", 4},
    {"%e2%82%AC", false, 3, "\xe2\x82\xac", 3},
    {"", false, 0, "", 0},
    {"k%00v", true, 3, "k\0v", 3},
    {"k%00v", false, SK_PCT_NUL, NULL, 0},
    {"50%", false, SK_PCT_MALFORMED, NULL, 0},
    {"%4", false, SK_PCT_MALFORMED, NULL, 0},
    {"%zz", true, SK_PCT_MALFORMED, NULL, 0},
    {"%%41", false, SK_PCT_MALFORMED, NULL, 0},
};

START_TEST(percent_decode_table)
{
    char buf[32];
    ssize_t rc;

    strcpy(buf, pct_cases[_i].in);
    rc = sk_percent_decode(buf, pct_cases[_i].nul_ok);
    ck_assert_msg(rc == pct_cases[_i].rc, "'%s': %zd, want %zd", pct_cases[_i].in, rc,
                  pct_cases[_i].rc);
    if (rc >= 0) {
        ck_assert_mem_eq(buf, pct_cases[_i].out, pct_cases[_i].outlen);
        ck_assert_int_eq(buf[rc], '\0');
    }
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("quote");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, quote_escapes_controls_and_marks_cuts);
    tcase_add_loop_test(tc, percent_decode_table, 0, sizeof(pct_cases) / sizeof(pct_cases[0]));
    suite_add_tcase(s, tc);
    return unit_main(s);
}
