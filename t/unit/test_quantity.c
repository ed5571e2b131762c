/* lib/quantity: Kubernetes resource quantities, exact. Expected values
 * follow Kubernetes' own quantity_test.go where it has the case. */
#include "lib/quantity.h"
#include "unit.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define NANO 1000000000

static struct sk_quantity
must_parse(const char *s)
{
    struct sk_quantity q;
    struct sk_err err;

    sk_err_init(&err);
    if (sk_quantity_parse(s, &q, &err) < 0)
        ck_abort_msg("parse '%s': %s", s, err.msg);
    return q;
}

static const char *
canon(const struct sk_quantity *q, char *buf)
{
    ck_assert_int_ge(sk_quantity_format(q, buf, SK_QUANTITY_STR_MAX), 0);
    return buf;
}

/* Exact value as nanos, to compare with independent computations. */
static __int128
nanos(const struct sk_quantity *q)
{
    return (__int128)q->units * NANO + q->nanos;
}

static const struct {
    const char *in;
    int64_t value;
    int64_t milli;
    const char *canon;
} good[] = {
    /* The well-known ones. */
    {"0", 0, 0, "0"},
    {"100m", 1, 100, "100m"},
    {"250m", 1, 250, "250m"},
    {"0.1", 1, 100, "100m"},
    {"0.5", 1, 500, "500m"},
    {"1", 1, 1000, "1"},
    {"1k", 1000, 1000000, "1k"},
    {"1Ki", 1024, 1024000, "1Ki"},
    {"1.5Gi", 1610612736, 1610612736000, "1536Mi"},
    {"1536Mi", 1610612736, 1610612736000, "1536Mi"},
    {"128Mi", 134217728, 134217728000, "128Mi"},
    {"1e3", 1000, 1000000, "1e3"},
    {"1E-3", 1, 1, "1e-3"},
    {"12e6", 12000000, 12000000000, "12e6"},
    {"5Gi", 5368709120, 5368709120000, "5Gi"},
    {"-1", -1, -1000, "-1"},
    {"1.0001", 2, 1001, "1000100u"},
    {"0.0001", 1, 1, "100u"},
    {"9223372036854775807", INT64_MAX, INT64_MAX, "9223372036854775807"},
    {"7Ei", 8070450532247928832, INT64_MAX, "7Ei"},
    {"1000m", 1, 1000, "1"},
    {"1500000", 1500000, 1500000000, "1500k"},
    /* Canonical forms (TestQuantityParseEmit, TestQuantityString). */
    {"1Mi", 1048576, 1048576000, "1Mi"},
    {"1Gi", 1073741824, 1073741824000, "1Gi"},
    {"1024Mi", 1073741824, 1073741824000, "1Gi"},
    {"300Mi", 314572800, 314572800000, "300Mi"},
    {"307200Ki", 314572800, 314572800000, "300Mi"},
    {"1001Gi", 1074815565824, 1074815565824000, "1001Gi"},
    {"1024Gi", 1099511627776, 1099511627776000, "1Ti"},
    {"1025Ki", 1049600, 1049600000, "1025Ki"},
    {"1024Pi", 1152921504606846976, INT64_MAX, "1Ei"},
    {"1000M", 1000000000, 1000000000000, "1G"},
    {"1000000k", 1000000000, 1000000000000, "1G"},
    {"1000000000", 1000000000, 1000000000000, "1G"},
    {"0.001T", 1000000000, 1000000000000, "1G"},
    {"1000u", 1, 1, "1m"},
    {"80m", 1, 80, "80m"},
    {"1080m", 2, 1080, "1080m"},
    {"1.08", 2, 1080, "1080m"},
    {"1080000000n", 2, 1080, "1080m"},
    {"300M", 300000000, 300000000000, "300M"},
    {"1T", 1000000000000, 1000000000000000, "1T"},
    {"1P", 1000000000000000, 1000000000000000000, "1P"},
    {"1E", 1000000000000000000, INT64_MAX, "1E"},
    {"9E", 9000000000000000000, INT64_MAX, "9E"},
    {"1234567M", 1234567000000, 1234567000000000, "1234567M"},
    {"3k", 3000, 3000000, "3k"},
    {"1024", 1024, 1024000, "1024"},
    {"1n", 1, 1, "1n"},
    {"80n", 1, 1, "80n"},
    {"1080n", 1, 1, "1080n"},
    {"1u", 1, 1, "1u"},
    {"1m", 1, 1, "1m"},
    {"-1m", -1, -1, "-1m"},
    {"-1k", -1000, -1000000, "-1k"},
    {"-1Ki", -1024, -1024000, "-1Ki"},
    {"-1.5", -2, -1500, "-1500m"},
    /* Decimal exponents keep their form. */
    {"1e9", 1000000000, 1000000000000, "1e9"},
    {"1e-9", 1, 1, "1e-9"},
    {"80e-3", 1, 80, "80e-3"},
    {"300e6", 300000000, 300000000000, "300e6"},
    {"1e12", 1000000000000, 1000000000000000, "1e12"},
    {"3e3", 3000, 3000000, "3e3"},
    {"-1e3", -1000, -1000000, "-1e3"},
    {"1e+3", 1000, 1000000, "1e3"},
    {"1E3", 1000, 1000000, "1e3"},
    {"1e0", 1, 1000, "1"},
    {"1e1", 10, 10000, "10"},
    {"1e-1", 1, 100, "100e-3"},
    {"1.5e3", 1500, 1500000, "1500"},
    {"1500e-3", 2, 1500, "1500e-3"},
    {"0e5", 0, 0, "0"},
    {"1e18", 1000000000000000000, INT64_MAX, "1e18"},
    /* Rounding up to the nano (the "things that saturate/round" cases). */
    {"3.001n", 1, 1, "4n"},
    {"1.1E-9", 1, 1, "2e-9"},
    {"0.0000000001", 1, 1, "1n"},
    {"0.0000000005", 1, 1, "1n"},
    {"0.00000000050", 1, 1, "1n"},
    {"0.5e-9", 1, 1, "1e-9"},
    {"0.9n", 1, 1, "1n"},
    {"0.00000012345", 1, 1, "124n"},
    {"0.00000012354", 1, 1, "124n"},
    {"-0.0000000001", -1, -1, "-1n"},
    {"1e-1000000000000", 1, 1, "1e-9"},
    /* Fractional binary values. */
    {"100.035Ki", 102436, 102435840, "102435840m"},
    {"0.5Mi", 524288, 524288000, "512Ki"},
    {"0.05Gi", 53687092, 53687091200, "53687091200m"},
    {"0.025Ti", 27487790695, 27487790694400, "27487790694400m"},
    {".001Ki", 2, 1024, "1024m"},
    {".000001Ki", 1, 2, "1024u"},
    {".000000001Ki", 1, 1, "1024n"},
    {".000000000001Ki", 1, 1, "2n"},
    {"0.5Ki", 512, 512000, "512"},
    {"1.5Ki", 1536, 1536000, "1536"},
    {"-0.5Ki", -512, -512000, "-512"},
    {"0.1Ki", 103, 102400, "102400m"},
    /* Odd but valid spellings (the "written by trolls" cases). */
    {".001", 1, 1, "1m"},
    {".0001k", 1, 100, "100m"},
    {"1.", 1, 1000, "1"},
    {"1.G", 1000000000, 1000000000000, "1G"},
    {"+5", 5, 5000, "5"},
    {"-0", 0, 0, "0"},
    {"00001", 1, 1000, "1"},
    {"1.000", 1, 1000, "1"},
    {"0.000", 0, 0, "0"},
    {"0Ki", 0, 0, "0"},
    {"000000000000000000000000000000000000000001", 1, 1000, "1"},
    {"1.0000000000000000000000000000000000000000000", 1, 1000, "1"},
    {"0.000000000000000000000000000000000000000000001", 1, 1, "1n"},
    {"100000000000000000000000000000e-20", 1000000000, 1000000000000, "1e9"},
    {"0e1000000000000", 0, 0, "0"},
    /* The edges of the range. */
    {"-9223372036854775808", INT64_MIN, INT64_MIN, "-9223372036854775808"},
    {"-8Ei", INT64_MIN, INT64_MIN, "-8Ei"},
    {"9.223372036854775807e18", INT64_MAX, INT64_MAX, "9223372036854775807"},
    {"9223372036854775806.5", INT64_MAX, INT64_MAX, "9223372036854775806500m"},
    {"-9223372036854775807.5", INT64_MIN, INT64_MIN, "-9223372036854775807500m"},
    {"9223372036854775.807", 9223372036854776, INT64_MAX, "9223372036854775807m"},
    {"9223372036854775.808", 9223372036854776, INT64_MAX, "9223372036854775808m"},
    {"-9223372036854775.808", -9223372036854776, INT64_MIN, "-9223372036854775808m"},
    {"-9223372036854775.809", -9223372036854776, INT64_MIN, "-9223372036854775809m"},
};

START_TEST(parse_gives_value_milli_and_canonical_form)
{
    char buf[SK_QUANTITY_STR_MAX];
    struct sk_quantity q, back;
    const char *in = good[_i].in;

    q = must_parse(in);
    ck_assert_msg(sk_quantity_value(&q) == good[_i].value, "'%s': value %" PRId64 " != %" PRId64,
                  in, sk_quantity_value(&q), good[_i].value);
    ck_assert_msg(sk_quantity_milli(&q) == good[_i].milli, "'%s': milli %" PRId64 " != %" PRId64,
                  in, sk_quantity_milli(&q), good[_i].milli);
    ck_assert_msg(strcmp(canon(&q, buf), good[_i].canon) == 0, "'%s': canonical '%s' != '%s'", in,
                  buf, good[_i].canon);
    /* The canonical form is a fixed point and means the same value. */
    back = must_parse(buf);
    ck_assert_int_eq(sk_quantity_cmp(&q, &back), 0);
    ck_assert_str_eq(canon(&back, buf), good[_i].canon);
}
END_TEST

static const struct {
    const char *in;
    int code;
    const char *msg;
} bad[] = {
    {"", EINVAL, "quantity '': empty"},
    {" ", EINVAL, "quantity ' ': unexpected ' ' at position 0"},
    {" 1", EINVAL, "quantity ' 1': unexpected ' ' at position 0"},
    {"1 ", EINVAL, "quantity '1 ': unexpected ' ' at position 1"},
    {"1 Gi", EINVAL, "quantity '1 Gi': unexpected ' ' at position 1"},
    {"1Gi ", EINVAL, "quantity '1Gi ': unexpected ' ' at position 3"},
    {"1\tGi", EINVAL, "quantity '1\\x09Gi': unexpected '\\x09' at position 1"},
    {"1\n", EINVAL, "quantity '1\\x0a': unexpected '\\x0a' at position 1"},
    {"--1", EINVAL, "quantity '--1': unexpected '-' at position 1"},
    {"+-1", EINVAL, "quantity '+-1': unexpected '-' at position 1"},
    {"1.2.3", EINVAL, "quantity '1.2.3': unexpected '.' at position 3"},
    {"1.5.Gi", EINVAL, "quantity '1.5.Gi': unexpected '.' at position 3"},
    {"1,5", EINVAL, "quantity '1,5': unexpected ',' at position 1"},
    {"1_000", EINVAL, "quantity '1_000': unexpected '_' at position 1"},
    {"Gi", EINVAL, "quantity 'Gi': expected a number"},
    {"-", EINVAL, "quantity '-': expected a number"},
    {"+", EINVAL, "quantity '+': expected a number"},
    {".", EINVAL, "quantity '.': expected a number"},
    {"-.Ki", EINVAL, "quantity '-.Ki': expected a number"},
    {"e3", EINVAL, "quantity 'e3': expected a number"},
    {"12Mb", EINVAL, "quantity '12Mb': unknown suffix 'Mb'"},
    {"1K", EINVAL, "quantity '1K': unknown suffix 'K'"},
    {"1ki", EINVAL, "quantity '1ki': unknown suffix 'ki'"},
    {"1KI", EINVAL, "quantity '1KI': unknown suffix 'KI'"},
    {"1Gix", EINVAL, "quantity '1Gix': unknown suffix 'Gix'"},
    {"1mi", EINVAL, "quantity '1mi': unknown suffix 'mi'"},
    {"1Ee3", EINVAL, "quantity '1Ee3': unknown suffix 'Ee'"},
    {"0x10", EINVAL, "quantity '0x10': unknown suffix 'x'"},
    {"1e", EINVAL, "quantity '1e': unknown suffix 'e'"},
    {"1e+", EINVAL, "quantity '1e+': unknown suffix 'e+'"},
    {"1e-", EINVAL, "quantity '1e-': unknown suffix 'e-'"},
    {"1E+", EINVAL, "quantity '1E+': unknown suffix 'E+'"},
    {"1e3.5", EINVAL, "quantity '1e3.5': unexpected '.' at position 3"},
    {"1Ki2", EINVAL, "quantity '1Ki2': unexpected '2' at position 3"},
    {"1e3e3", EINVAL, "quantity '1e3e3': unexpected 'e' at position 3"},
    {"a'b", EINVAL, "quantity 'a\\'b': expected a number"},
    {"\xe2\x88\x9e", EINVAL, "quantity '\\xe2\\x88\\x9e': unexpected '\\xe2' at position 0"},
    {"8Ei", ERANGE, "quantity '8Ei': too large"},
    {"9Ei", ERANGE, "quantity '9Ei': too large"},
    {"12E", ERANGE, "quantity '12E': too large"},
    {"10E", ERANGE, "quantity '10E': too large"},
    {"1e19", ERANGE, "quantity '1e19': too large"},
    {"1e1000000000000", ERANGE, "quantity '1e1000000000000': too large"},
    {"9223372036854775808", ERANGE, "quantity '9223372036854775808': too large"},
    {"-9223372036854775809", ERANGE, "quantity '-9223372036854775809': too large"},
    {"9223372036854775807.000000001", ERANGE,
     "quantity '9223372036854775807.000000001': too large"},
    {"9223372036854775807.0000000000001", ERANGE,
     "quantity '9223372036854775807.0000000000001': too large"},
    {"-8Ei1", EINVAL, "quantity '-8Ei1': unexpected '1' at position 4"},
    {"9223372036854775807Ki", ERANGE, "quantity '9223372036854775807Ki': too large"},
};

START_TEST(malformed_input_fails_with_a_message_naming_it)
{
    struct sk_quantity q = sk_quantity_from_value(42, 0), before = q;
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_eq(sk_quantity_parse(bad[_i].in, &q, &err), -bad[_i].code);
    ck_assert_int_eq(err.code, bad[_i].code);
    ck_assert_str_eq(err.msg, bad[_i].msg);
    ck_assert(memcmp(&q, &before, sizeof(q)) == 0);
}
END_TEST

START_TEST(long_input_is_cut_in_the_message)
{
    char in[200], want[128];
    struct sk_quantity q;
    struct sk_err err;

    memset(in, '1', sizeof(in) - 1);
    in[sizeof(in) - 1] = '\0';
    snprintf(want, sizeof(want), "quantity '%.64s...': too large", in);
    ck_assert_int_eq(sk_quantity_parse(in, &q, &err), -ERANGE);
    ck_assert_str_eq(err.msg, want);
    ck_assert_int_eq(sk_quantity_parse(NULL, &q, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "quantity '': empty");
}
END_TEST

static const struct {
    const char *a, *b;
    int sign;
} cmps[] = {
    {"1Gi", "1G", 1},
    {"1G", "1Gi", -1},
    {"1000m", "1", 0},
    {"1Ki", "1024", 0},
    {"1Ki", "1k", 1},
    {"1.5Gi", "1536Mi", 0},
    {"1e3", "1k", 0},
    {"1E", "1e18", 0},
    {"1E-3", "1m", 0},
    {"0.1Ki", "102.4", 0},
    {"1n", "0", 1},
    {"-1n", "0", -1},
    {"-1", "0", -1},
    {"-1Ki", "-1k", -1},
    {"0", "-0", 0},
    {"0Ki", "0m", 0},
    {"100m", "0.1", 0},
    {"999999999n", "1", -1},
    {"1.000000001", "1", 1},
    {"7Ei", "8070450532247928832", 0},
    {"9223372036854775807", "9223372036854775806.999999999", 1},
    {"-9223372036854775808", "-9223372036854775807.999999999", -1},
    {"128974848", "129e6", -1},
    {"129M", "129e6", 0},
    {"123Mi", "128974848", 0},
    {"128974848000m", "128974848", 0},
};

START_TEST(comparison_is_by_value_across_suffixes)
{
    struct sk_quantity a = must_parse(cmps[_i].a), b = must_parse(cmps[_i].b);

    ck_assert_msg(sk_quantity_cmp(&a, &b) == cmps[_i].sign, "cmp('%s', '%s') != %d", cmps[_i].a,
                  cmps[_i].b, cmps[_i].sign);
    ck_assert_int_eq(sk_quantity_cmp(&b, &a), -cmps[_i].sign);
    ck_assert_int_eq(sk_quantity_cmp(&a, &a), 0);
}
END_TEST

START_TEST(decimal_arithmetic_is_exact)
{
    struct sk_quantity sum = must_parse("0.1"), y = must_parse("0.2"), want = must_parse("0.3");
    struct sk_quantity tenth = must_parse("100m"), one = must_parse("1");
    char buf[SK_QUANTITY_STR_MAX];
    int i;

    ck_assert_int_eq(sk_quantity_add(&sum, &y, NULL), 0);
    ck_assert_int_eq(sk_quantity_cmp(&sum, &want), 0);
    ck_assert_str_eq(canon(&sum, buf), "300m");
    sum = sk_quantity_from_value(0, 0);
    for (i = 0; i < 10; i++)
        ck_assert_int_eq(sk_quantity_add(&sum, &tenth, NULL), 0);
    ck_assert_int_eq(sk_quantity_cmp(&sum, &one), 0);
    ck_assert_str_eq(canon(&sum, buf), "1");
    for (i = 0; i < 10; i++)
        ck_assert_int_eq(sk_quantity_sub(&sum, &tenth, NULL), 0);
    ck_assert_int_eq(sk_quantity_sign(&sum), 0);
    ck_assert_str_eq(canon(&sum, buf), "0");
    sum = must_parse("1n");
    y = must_parse("-1n");
    ck_assert_int_eq(sk_quantity_add(&sum, &y, NULL), 0);
    ck_assert_int_eq(sk_quantity_sign(&sum), 0);
}
END_TEST

static const struct {
    const char *a;
    char op;
    const char *b;
    const char *want; /* NULL: out of range */
} sums[] = {
    {"7Ei", '+', "1Ei", NULL},
    {"7Ei", '+', "1023Pi", "8191Pi"},
    {"9223372036854775807", '+', "1n", NULL},
    {"9223372036854775806", '+', "1", "9223372036854775807"},
    {"-8Ei", '-', "1n", NULL},
    {"-8Ei", '+', "1", "-9223372036854775807"},
    {"0", '-', "-8Ei", NULL},
    {"0", '-', "8191Pi", "-8191Pi"},
    {"-9223372036854775807", '-', "1", "-9223372036854775808"},
    {"-1", '+', "-9223372036854775807", "-9223372036854775808"},
    {"4E", '+', "4E", "8E"},
    {"5E", '+', "5E", NULL},
    {"-5E", '-', "5E", NULL},
    {"1Ki", '+', "1Ki", "2Ki"},
    {"1Ki", '+', "0.5", "1024500m"},
    {"0", '+', "1Ki", "1Ki"},
    {"0Ki", '+', "1k", "1k"},
    {"1", '+', "1023Ki", "1047553"},
    {"1Mi", '-', "1Ki", "1023Ki"},
    {"1e3", '+', "1k", "2e3"},
    {"1k", '+', "1e3", "2k"},
    {"1.5", '-', "1.5", "0"},
    {"250m", '+', "750m", "1"},
};

START_TEST(add_and_sub_follow_kubernetes_and_fail_out_of_range)
{
    struct sk_quantity q = must_parse(sums[_i].a), y = must_parse(sums[_i].b), before = q;
    char buf[SK_QUANTITY_STR_MAX], a[SK_QUANTITY_STR_MAX], b[SK_QUANTITY_STR_MAX];
    char want[256];
    struct sk_err err;
    int rc;

    sk_err_init(&err);
    rc = sums[_i].op == '+' ? sk_quantity_add(&q, &y, &err) : sk_quantity_sub(&q, &y, &err);
    if (sums[_i].want) {
        ck_assert_msg(rc == 0, "%s %c %s: %s", sums[_i].a, sums[_i].op, sums[_i].b, err.msg);
        ck_assert_str_eq(canon(&q, buf), sums[_i].want);
        return;
    }
    ck_assert_int_eq(rc, -ERANGE);
    ck_assert(memcmp(&q, &before, sizeof(q)) == 0);
    snprintf(want, sizeof(want), "quantity '%s' %c '%s': too large", canon(&q, a), sums[_i].op,
             canon(&y, b));
    ck_assert_str_eq(err.msg, want);
}
END_TEST

START_TEST(constructors_from_integers)
{
    char buf[SK_QUANTITY_STR_MAX];
    struct sk_quantity q;

    q = sk_quantity_from_value(1024, 1);
    ck_assert_str_eq(canon(&q, buf), "1Ki");
    q = sk_quantity_from_value(1024, 0);
    ck_assert_str_eq(canon(&q, buf), "1024");
    q = sk_quantity_from_value(1000, 0);
    ck_assert_str_eq(canon(&q, buf), "1k");
    /* Binary below 1024 prints as decimal SI, as in Kubernetes. */
    q = sk_quantity_from_value(1000, 1);
    ck_assert_str_eq(canon(&q, buf), "1k");
    q = sk_quantity_from_value(INT64_MIN, 1);
    ck_assert_str_eq(canon(&q, buf), "-8Ei");
    ck_assert(sk_quantity_value(&q) == INT64_MIN);
    q = sk_quantity_from_value(INT64_MAX, 0);
    ck_assert(sk_quantity_value(&q) == INT64_MAX);
    ck_assert(sk_quantity_milli(&q) == INT64_MAX);
    ck_assert_str_eq(canon(&q, buf), "9223372036854775807");
    q = sk_quantity_from_milli(250);
    ck_assert_str_eq(canon(&q, buf), "250m");
    ck_assert(sk_quantity_milli(&q) == 250);
    ck_assert(sk_quantity_value(&q) == 1);
    q = sk_quantity_from_milli(1500);
    ck_assert_str_eq(canon(&q, buf), "1500m");
    q = sk_quantity_from_milli(-1000);
    ck_assert_str_eq(canon(&q, buf), "-1");
    q = sk_quantity_from_milli(INT64_MIN);
    ck_assert(sk_quantity_milli(&q) == INT64_MIN);
    ck_assert(sk_quantity_value(&q) == -9223372036854776);
    ck_assert_str_eq(canon(&q, buf), "-9223372036854775808m");
    q = sk_quantity_from_milli(0);
    ck_assert_str_eq(canon(&q, buf), "0");
    ck_assert_int_eq(sk_quantity_sign(&q), 0);
}
END_TEST

START_TEST(zeroed_struct_is_zero)
{
    struct sk_quantity q;
    char buf[SK_QUANTITY_STR_MAX];

    memset(&q, 0, sizeof(q));
    ck_assert_str_eq(canon(&q, buf), "0");
    ck_assert(sk_quantity_value(&q) == 0);
}
END_TEST

START_TEST(format_reports_a_short_buffer)
{
    struct sk_quantity q = must_parse("1536Mi");
    char buf[SK_QUANTITY_STR_MAX];

    ck_assert_int_eq(sk_quantity_format(&q, buf, 7), 6);
    ck_assert_str_eq(buf, "1536Mi");
    ck_assert_int_eq(sk_quantity_format(&q, buf, 6), -1);
    ck_assert_str_eq(buf, "1536M");
    ck_assert_int_eq(sk_quantity_format(&q, NULL, 0), -1);
    /* The longest canonical forms fit SK_QUANTITY_STR_MAX. */
    q = must_parse("-9223372036854775807.999999999");
    ck_assert_int_ge(sk_quantity_format(&q, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "-9223372036854775807999999999n");
    q = must_parse("-9223372036854775807.999999999e0");
    ck_assert_int_ge(sk_quantity_format(&q, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "-9223372036854775807999999999e-9");
}
END_TEST

START_TEST(from_json_takes_strings_and_numbers)
{
    static const struct {
        const char *json;
        const char *canon; /* NULL: error */
        const char *msg;
    } cases[] = {
        {"\"250m\"", "250m", NULL},
        {"2", "2", NULL},
        {"-3", "-3", NULL},
        {"1024", "1024", NULL},
        {"0.5", "500m", NULL},
        {"0.1", "100m", NULL},
        {"1.5e3", "1500", NULL},
        {"1e-3", "1m", NULL},
        {"129e6", "129M", NULL},
        {"1e-7", "100e-9", NULL},
        {"1e21", NULL, "quantity '1e+21': too large"},
        {"1e300", NULL, "quantity '1e+300': too large"},
        {"\"12Mb\"", NULL, "quantity '12Mb': unknown suffix 'Mb'"},
        {"true", NULL, "quantity: must be a string or a number"},
        {"null", NULL, "quantity: must be a string or a number"},
        {"{}", NULL, "quantity: must be a string or a number"},
    };
    char buf[SK_QUANTITY_STR_MAX];
    struct sk_quantity q;
    struct sk_err err;
    json_t *v;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        v = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
        ck_assert_ptr_nonnull(v);
        sk_err_init(&err);
        if (cases[i].canon) {
            ck_assert_msg(sk_quantity_from_json(v, &q, &err) == 0, "%s: %s", cases[i].json,
                          err.msg);
            ck_assert_str_eq(canon(&q, buf), cases[i].canon);
        } else {
            ck_assert_int_lt(sk_quantity_from_json(v, &q, &err), 0);
            ck_assert_str_eq(err.msg, cases[i].msg);
        }
        json_decref(v);
    }
    v = json_stringn("1\0k", 3);
    ck_assert_int_eq(sk_quantity_from_json(v, &q, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "quantity: contains a NUL byte");
    json_decref(v);
    ck_assert_int_eq(sk_quantity_from_json(NULL, &q, &err), -EINVAL);
}
END_TEST

/* A small fixed-seed generator, so failures reproduce everywhere. */
static uint64_t
rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

static uint64_t
rng_below(uint64_t *s, uint64_t n)
{
    return rng_next(s) % n;
}

#define LIMIT_POS ((unsigned __int128)INT64_MAX * NANO)
#define LIMIT_NEG (((unsigned __int128)INT64_MAX + 1) * NANO)

/* digits * 10^shift rounded up to an integer, or -1 past limit. */
static int
ref_scale(unsigned __int128 *mag, int shift, unsigned __int128 limit)
{
    unsigned __int128 div = 1, m = *mag;

    for (; shift > 0; shift--) {
        if (m > limit)
            return -1;
        m *= 10;
    }
    for (; shift < 0; shift++)
        div *= 10;
    *mag = m / div + (m % div != 0);
    return *mag > limit ? -1 : 0;
}

/* Random "[-]int[.frac]suffix" strings checked against an independent
 * computation of their exact value in nanos. */
START_TEST(random_numbers_parse_exactly)
{
    static const char *const si[] = {"n", "u", "m", "", "k", "M", "G", "T", "P", "E"};
    static const char *const bin[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
    uint64_t seed = 0x5eed0001;
    char in[128], frac[32], suffix[16];
    unsigned __int128 mag;
    struct sk_quantity q;
    struct sk_err err;
    int i, j, kind, fl, e10, b, neg, rc, too_large;
    uint64_t ip;

    for (i = 0; i < 20000; i++) {
        kind = (int)rng_below(&seed, 3);
        neg = (int)rng_below(&seed, 2);
        fl = (int)rng_below(&seed, 16);
        b = 0;
        e10 = 0;
        if (kind == 0) {
            j = (int)rng_below(&seed, 10);
            e10 = 3 * j - 9;
            snprintf(suffix, sizeof(suffix), "%s", si[j]);
            ip = rng_below(&seed, 1000000000);
        } else if (kind == 1) {
            j = (int)rng_below(&seed, 7);
            b = 10 * j;
            snprintf(suffix, sizeof(suffix), "%s", bin[j]);
            ip = rng_below(&seed, 1000);
        } else {
            e10 = (int)rng_below(&seed, 41) - 20;
            snprintf(suffix, sizeof(suffix), "%ce%d", rng_below(&seed, 2) ? 'e' : 'E', e10);
            memmove(suffix, suffix + 1, strlen(suffix));
            ip = rng_below(&seed, 1000000000);
        }
        mag = ip;
        for (j = 0; j < fl; j++) {
            frac[j] = (char)('0' + rng_below(&seed, 10));
            mag = mag * 10 + (unsigned)(frac[j] - '0');
        }
        frac[fl] = '\0';
        snprintf(in, sizeof(in), "%s%" PRIu64 "%s%s%s", neg ? "-" : "", ip, fl ? "." : "", frac,
                 suffix);
        mag <<= b;
        too_large = ref_scale(&mag, e10 + 9 - fl, neg ? LIMIT_NEG : LIMIT_POS) < 0;
        sk_err_init(&err);
        rc = sk_quantity_parse(in, &q, &err);
        if (too_large) {
            ck_assert_msg(rc == -ERANGE, "'%s' should be too large", in);
            continue;
        }
        ck_assert_msg(rc == 0, "'%s': %s", in, err.msg);
        ck_assert_msg(nanos(&q) == (neg ? -(__int128)mag : (__int128)mag), "'%s' inexact", in);
    }
}
END_TEST

/* n / d rounded away from zero, for checking value() and milli(). */
static __int128
away(__int128 n, __int128 d)
{
    return n / d + (n % d > 0) - (n % d < 0);
}

static void
check_invariants(const struct sk_quantity *q, const char *what)
{
    char buf[SK_QUANTITY_STR_MAX], again[SK_QUANTITY_STR_MAX];
    struct sk_quantity back;
    struct sk_err err;
    __int128 m = away(nanos(q), 1000000);

    ck_assert_msg(sk_quantity_value(q) == (int64_t)away(nanos(q), NANO), "%s: value", what);
    if (m > INT64_MAX)
        m = INT64_MAX;
    if (m < INT64_MIN)
        m = INT64_MIN;
    ck_assert_msg(sk_quantity_milli(q) == (int64_t)m, "%s: milli", what);
    ck_assert_int_ge(sk_quantity_format(q, buf, sizeof(buf)), 0);
    ck_assert_msg(sk_quantity_parse(buf, &back, &err) == 0, "%s: '%s': %s", what, buf, err.msg);
    ck_assert_msg(sk_quantity_cmp(q, &back) == 0, "%s: '%s' changes the value", what, buf);
    ck_assert_int_ge(sk_quantity_format(&back, again, sizeof(again)), 0);
    /* A binary value that 1024 does not divide prints as plain digits,
     * which read back as decimal and may then print differently (binary
     * 1000000 prints as "1000000", which reads back as "1M", in Kubernetes
     * too); from there on the form is stable. */
    if (q->fmt != SK_QUANTITY_BINARY_SI)
        ck_assert_msg(strcmp(buf, again) == 0, "%s: '%s' reprints as '%s'", what, buf, again);
    ck_assert_int_eq(sk_quantity_parse(again, &back, &err), 0);
    ck_assert_int_ge(sk_quantity_format(&back, buf, sizeof(buf)), 0);
    ck_assert_msg(strcmp(buf, again) == 0, "%s: '%s' reprints as '%s'", what, again, buf);
}

/* Any representable value prints in a form that parses back to it, and
 * prints the same way again. */
START_TEST(canonical_form_round_trips_for_random_values)
{
    static const int64_t pow10[] = {1,      10,      100,      1000,      10000,
                                    100000, 1000000, 10000000, 100000000, 1000000000};
    uint64_t seed = 0x5eed0002;
    struct sk_quantity q;
    char what[64];
    int64_t u;
    int32_t n;
    int i;

    for (i = 0; i < 20000; i++) {
        /* Magnitudes of every size, with runs of trailing zeros. */
        u = (int64_t)(rng_next(&seed) >> rng_below(&seed, 64));
        u -= u % pow10[rng_below(&seed, 10)];
        n = (int32_t)rng_below(&seed, NANO);
        n -= n % (int32_t)pow10[rng_below(&seed, 10)];
        if (rng_below(&seed, 4) == 0)
            n = 0;
        if (rng_below(&seed, 2)) {
            u = u == INT64_MIN ? INT64_MIN : -u;
            n = -n;
        }
        if (u == INT64_MAX || u == INT64_MIN)
            n = 0;
        q.units = u;
        q.nanos = n;
        q.fmt = (enum sk_quantity_fmt)rng_below(&seed, 3);
        snprintf(what, sizeof(what), "%" PRId64 " + %" PRId32 "n fmt %d", u, n, (int)q.fmt);
        check_invariants(&q, what);
        q = sk_quantity_from_value(u, (int)rng_below(&seed, 2));
        check_invariants(&q, what);
        q = sk_quantity_from_milli(u);
        check_invariants(&q, what);
    }
}
END_TEST

/* Every message is one printable line. */
static void
check_message(const struct sk_err *err)
{
    const char *p;

    ck_assert(err->code == EINVAL || err->code == ERANGE);
    ck_assert(strncmp(err->msg, "quantity '", 10) == 0);
    for (p = err->msg; *p; p++)
        ck_assert_msg(*p >= 0x20 && *p < 0x7f, "unprintable byte in '%s'", err->msg);
}

static void
fuzz_one(const char *in)
{
    struct sk_quantity q;
    struct sk_err err;

    sk_err_init(&err);
    if (sk_quantity_parse(in, &q, &err) == 0)
        check_invariants(&q, in);
    else
        check_message(&err);
}

/* Random bytes and random runs of the grammar's own characters: never a
 * crash (ASan/UBSan builds watch), every result consistent. */
START_TEST(random_input_never_crashes)
{
    static const char alphabet[] = "0123456789.+-eEKkMGTPinum \t";
    uint64_t seed = 0x5eed0003;
    char in[64];
    int i, j, len;

    for (i = 0; i < 30000; i++) {
        len = (int)rng_below(&seed, sizeof(in));
        for (j = 0; j < len; j++) {
            if (i % 2)
                in[j] = (char)(1 + rng_below(&seed, 255));
            else
                in[j] = alphabet[rng_below(&seed, sizeof(alphabet) - 1)];
        }
        in[len] = '\0';
        fuzz_one(in);
    }
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("quantity");
    TCase *tc = tcase_create("core");

    tcase_add_loop_test(tc, parse_gives_value_milli_and_canonical_form, 0,
                        sizeof(good) / sizeof(good[0]));
    tcase_add_loop_test(tc, malformed_input_fails_with_a_message_naming_it, 0,
                        sizeof(bad) / sizeof(bad[0]));
    tcase_add_test(tc, long_input_is_cut_in_the_message);
    tcase_add_loop_test(tc, comparison_is_by_value_across_suffixes, 0,
                        sizeof(cmps) / sizeof(cmps[0]));
    tcase_add_test(tc, decimal_arithmetic_is_exact);
    tcase_add_loop_test(tc, add_and_sub_follow_kubernetes_and_fail_out_of_range, 0,
                        sizeof(sums) / sizeof(sums[0]));
    tcase_add_test(tc, constructors_from_integers);
    tcase_add_test(tc, zeroed_struct_is_zero);
    tcase_add_test(tc, format_reports_a_short_buffer);
    tcase_add_test(tc, from_json_takes_strings_and_numbers);
    suite_add_tcase(s, tc);

    tc = tcase_create("random");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, random_numbers_parse_exactly);
    tcase_add_test(tc, canonical_form_round_trips_for_random_values);
    tcase_add_test(tc, random_input_never_crashes);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
