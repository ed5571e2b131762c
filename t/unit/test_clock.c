/* lib/clock: monotonic clocks and RFC 3339 timestamps. */
#include "lib/clock.h"
#include "unit.h"

#include <errno.h>

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

/* The parser takes what the formatter writes, offsets and lower case,
 * and nothing that is not a whole, in-range RFC 3339 date-time. */
START_TEST(rfc3339_parse_strict)
{
    static const struct {
        const char *in;
        int rc;
        int64_t ns;
    } cases[] = {
        {"1970-01-01T00:00:00Z", 0, 0},
        {"2026-11-25T19:30:00Z", 0, 1795635000LL * 1000000000},
        {"2026-11-25t19:30:00.5z", 0, 1795635000LL * 1000000000 + 500000000},
        {"2026-11-25T19:30:00.123456789123Z", 0, 1795635000LL * 1000000000 + 123456789},
        {"2026-11-25T20:30:00+01:00", 0, 1795635000LL * 1000000000},
        {"2026-11-25T17:00:00-02:30", 0, 1795635000LL * 1000000000},
        {"1969-12-31T23:59:59.999Z", 0, -1000000},
        {"2026-11-25T19:30:00", -EINVAL, 0},
        {"2026-11-25 19:30:00Z", -EINVAL, 0},
        {"2026-13-25T19:30:00Z", -EINVAL, 0},
        {"2026-11-00T19:30:00Z", -EINVAL, 0},
        {"2026-11-25T24:00:00Z", -EINVAL, 0},
        {"2026-11-25T19:30:00.Z", -EINVAL, 0},
        {"2026-11-25T19:30:00Zjunk", -EINVAL, 0},
        {"2026-11-25T19:30:00+5:00", -EINVAL, 0},
        {"2026-11-25T19:30:00+05:60", -EINVAL, 0},
        {"2026-1-25T19:30:00Z", -EINVAL, 0},
        {"2026-11-25T19:3", -EINVAL, 0},
        {"", -EINVAL, 0},
    };
    char out[SK_CLOCK_RFC3339_MAX];
    int64_t ns = 42;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = sk_clock_rfc3339_parse(cases[i].in, &ns);

        ck_assert_msg(rc == cases[i].rc, "'%s': %d", cases[i].in, rc);
        if (rc == 0)
            ck_assert_msg(ns == cases[i].ns, "'%s': %lld", cases[i].in, (long long)ns);
    }
    ck_assert_int_eq(sk_clock_rfc3339_parse(NULL, &ns), -EINVAL);
    sk_clock_rfc3339(1795635000LL * 1000000000 + 5, 9, out, sizeof(out));
    ck_assert_int_eq(sk_clock_rfc3339_parse(out, &ns), 0);
    ck_assert(ns == 1795635000LL * 1000000000 + 5);
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
    tcase_add_test(tc, rfc3339_parse_strict);
    tcase_add_test(tc, monotonic_clocks_do_not_go_back);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
