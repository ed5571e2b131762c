/* api/print: human ages as kubectl's duration.HumanDuration prints them,
 * and RFC 3339 parsing for ages (fractions, offsets, garbage). */
#include "api/print.h"
#include "unit.h"

#include <jansson.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

#define NOW 1795634400 /* 2026-11-25T19:20:00Z */

static const struct {
    int64_t secs;
    const char *want;
} durations[] = {
    {-5, "<invalid>"},
    {-1, "0s"},
    {0, "0s"},
    {45, "45s"},
    {119, "119s"},
    {120, "2m"},
    {200, "3m20s"},
    {599, "9m59s"},
    {600, "10m"},
    {659, "10m"},
    {179 * 60 + 59, "179m"},
    {3 * 3600, "3h"},
    {3 * 3600 + 20 * 60 + 5, "3h20m"},
    {8 * 3600, "8h"},
    {47 * 3600 + 59 * 60, "47h"},
    {48 * 3600, "2d"},
    {3 * 86400 + 4 * 3600, "3d4h"},
    {7 * 86400 + 23 * 3600, "7d23h"},
    {8 * 86400, "8d"},
    {23 * 86400 + 5 * 3600, "23d"},
    {729 * 86400, "729d"},
    {730 * 86400, "2y"},
    {(365 * 2 + 10) * 86400LL, "2y10d"},
    {(365 * 8) * 86400LL, "8y"},
    {(365 * 9 + 100) * 86400LL, "9y"},
};

START_TEST(duration_follows_kubectl_thresholds)
{
    char out[32];

    api_print_duration(durations[_i].secs, out, sizeof(out));
    ck_assert_msg(strcmp(out, durations[_i].want) == 0, "%lld: got '%s', want '%s'",
                  (long long)durations[_i].secs, out, durations[_i].want);
}
END_TEST

static const struct {
    const char *json; /* a JSON value: the timestamp */
    const char *want;
} ages[] = {
    {"\"2026-11-25T19:19:15Z\"", "45s"},
    {"\"2026-11-25T19:16:40Z\"", "3m20s"},
    {"\"2026-11-25T08:20:00Z\"", "11h"},
    {"\"2026-11-02T19:20:00Z\"", "23d"},
    {"\"2026-11-25T19:19:15.123456Z\"", "45s"},
    {"\"2026-11-25T20:19:15+01:00\"", "45s"},
    {"\"2026-11-25T18:19:15-01:00\"", "45s"},
    {"\"2026-11-25T19:30:00Z\"", "<invalid>"},
    {"null", "<unknown>"},
    {"42", "<unknown>"},
    {"\"yesterday\"", "<unknown>"},
    {"\"2026-11-25T19:19:15\"", "<unknown>"},
    {"\"2026-11-25T19:19:15Zjunk\"", "<unknown>"},
    {"\"2026-11-25T19:19:15.Z\"", "<unknown>"},
    {"\"\"", "<unknown>"},
};

START_TEST(age_of_timestamp)
{
    json_t *v = json_loads(ages[_i].json, JSON_DECODE_ANY, NULL);
    char out[32];

    api_print_age(v, NOW, out, sizeof(out));
    ck_assert_msg(strcmp(out, ages[_i].want) == 0, "%s: got '%s', want '%s'", ages[_i].json, out,
                  ages[_i].want);
    json_decref(v);
}
END_TEST

START_TEST(missing_timestamp_is_unknown)
{
    char out[32];

    api_print_age(NULL, NOW, out, sizeof(out));
    ck_assert_str_eq(out, "<unknown>");
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("print_age");
    TCase *tc = tcase_create("age");

    tcase_add_loop_test(tc, duration_follows_kubectl_thresholds, 0, N(durations));
    tcase_add_loop_test(tc, age_of_timestamp, 0, N(ages));
    tcase_add_test(tc, missing_timestamp_is_unknown);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
