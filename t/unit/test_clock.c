/* lib/clock: monotonic clocks and RFC 3339 timestamps. */
#include "lib/clock.h"
#include "unit.h"

START_TEST(rfc3339_in_utc_with_0_3_or_9_digits)
{
    static const struct {
        int64_t ns;
        int digits;
        const char *want;
    } cases[] = {
        {0, 0, "1970-01-01T00:00:00Z"},
        {1795635000LL * 1000000000 + 123456789, 0, "2026-11-25T19:30:00Z"},
        {1795635000LL * 1000000000 + 123456789, 3, "2026-11-25T19:30:00.123Z"},
        {1795635000LL * 1000000000 + 123456789, 9, "2026-11-25T19:30:00.123456789Z"},
        {1795635000LL * 1000000000 + 5, 9, "2026-11-25T19:30:00.000000005Z"},
        {-1, 3, "1969-12-31T23:59:59.999Z"},
    };
    char out[SK_CLOCK_RFC3339_MAX];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sk_clock_rfc3339(cases[i].ns, cases[i].digits, out, sizeof(out));
        ck_assert_str_eq(out, cases[i].want);
    }
}
END_TEST

START_TEST(monotonic_clocks_do_not_go_back)
{
    int64_t a = sk_clock_mono_ns(), b = sk_clock_mono_ns();
    int64_t ms = sk_clock_mono_ms();

    ck_assert_int_le(a, b);
    ck_assert_int_le(a / 1000000, ms);
    ck_assert_int_gt(sk_clock_real_ns(), 1700000000LL * 1000000000);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("clock");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, rfc3339_in_utc_with_0_3_or_9_digits);
    tcase_add_test(tc, monotonic_clocks_do_not_go_back);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
