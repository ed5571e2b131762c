/* ctrl: the work queue, expectations and slow start. */
#include "ctrl/ctrl.h"
#include "unit.h"

#include <stdio.h>
#include <string.h>

#define MS (1000 * 1000LL)
#define S  (1000 * MS)

static const char *
get(struct ctrl_queue *q, int64_t now)
{
    const char *key = NULL;

    return ctrl_queue_get(q, now, &key) ? key : NULL;
}

START_TEST(add_deduplicates_queued_keys_in_fifo_order)
{
    struct ctrl_queue *q = ctrl_queue_new(0);

    ctrl_queue_add(q, "ns/a");
    ctrl_queue_add(q, "ns/b");
    ctrl_queue_add(q, "ns/a");
    ck_assert_uint_eq(ctrl_queue_len(q), 2);
    ck_assert_str_eq(get(q, 0), "ns/a");
    ck_assert_str_eq(get(q, 0), "ns/b");
    ck_assert_ptr_null(get(q, 0));
    ctrl_queue_free(q);
}
END_TEST

START_TEST(key_added_while_processing_is_requeued_on_done_only)
{
    struct ctrl_queue *q = ctrl_queue_new(0);
    const char *k;

    ctrl_queue_add(q, "ns/a");
    k = get(q, 0);
    ck_assert_str_eq(k, "ns/a");
    ctrl_queue_add(q, "ns/a");
    ctrl_queue_add(q, "ns/a");
    /* never handed to a second worker while the first holds it */
    ck_assert_ptr_null(get(q, 0));
    ck_assert_uint_eq(ctrl_queue_len(q), 0);
    ctrl_queue_done(q, "ns/a");
    ck_assert_uint_eq(ctrl_queue_len(q), 1);
    ck_assert_str_eq(get(q, 0), "ns/a");
    ctrl_queue_done(q, "ns/a");
    ck_assert_ptr_null(get(q, 0));
    ctrl_queue_free(q);
}
END_TEST

START_TEST(add_after_parks_until_due_and_keeps_earliest)
{
    struct ctrl_queue *q = ctrl_queue_new(0);

    ctrl_queue_add_after(q, "ns/a", 100 * MS, 0);
    ctrl_queue_add_after(q, "ns/a", 50 * MS, 0);
    ctrl_queue_add_after(q, "ns/b", 200 * MS, 0);
    ctrl_queue_add_after(q, "ns/c", 0, 0);
    ck_assert_int_eq(ctrl_queue_next_due(q), 50 * MS);
    ck_assert_str_eq(get(q, 0), "ns/c");
    ck_assert_ptr_null(get(q, 49 * MS));
    ck_assert_str_eq(get(q, 50 * MS), "ns/a");
    ck_assert_int_eq(ctrl_queue_next_due(q), 200 * MS);
    ck_assert_ptr_null(get(q, 199 * MS));
    ck_assert_str_eq(get(q, 250 * MS), "ns/b");
    ck_assert_int_eq(ctrl_queue_next_due(q), -1);
    ctrl_queue_free(q);
}
END_TEST

START_TEST(backoff_doubles_from_5ms_to_1000s_and_forget_resets)
{
    static const int64_t want[] = {5 * MS, 10 * MS, 20 * MS, 40 * MS, 80 * MS, 160 * MS};
    struct ctrl_queue *q = ctrl_queue_new(0);
    int64_t now = 0, d = 0;
    size_t i;

    for (i = 0; i < sizeof(want) / sizeof(*want); i++) {
        /* one failure per second keeps the token bucket out of it */
        now += S;
        ck_assert_int_eq(ctrl_queue_add_rate_limited(q, "ns/a", now), want[i]);
        ck_assert_int_eq(ctrl_queue_num_requeues(q, "ns/a"), (int)i + 1);
    }
    for (i = 0; i < 40; i++) {
        now += S;
        d = ctrl_queue_add_rate_limited(q, "ns/a", now);
    }
    ck_assert_int_eq(d, CTRL_QUEUE_MAX_DELAY_NS);
    ctrl_queue_forget(q, "ns/a");
    ck_assert_int_eq(ctrl_queue_num_requeues(q, "ns/a"), 0);
    ck_assert_int_eq(ctrl_queue_add_rate_limited(q, "ns/a", now + S), 5 * MS);
    ctrl_queue_free(q);
}
END_TEST

START_TEST(token_bucket_allows_burst_100_then_10_per_second)
{
    struct ctrl_queue *q = ctrl_queue_new(0);
    char key[32];
    int i;

    /* distinct keys: each has no failures, so only the bucket delays */
    for (i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "ns/k%d", i);
        ck_assert_int_eq(ctrl_queue_add_rate_limited(q, key, 0), 5 * MS);
    }
    ck_assert_int_eq(ctrl_queue_add_rate_limited(q, "ns/x101", 0), 100 * MS);
    ck_assert_int_eq(ctrl_queue_add_rate_limited(q, "ns/x102", 0), 200 * MS);
    /* a second later ten tokens are back, two of them owed already */
    ck_assert_int_eq(ctrl_queue_add_rate_limited(q, "ns/x103", S), 5 * MS);
    ctrl_queue_free(q);
}
END_TEST

START_TEST(rate_limited_key_is_not_handed_out_before_its_delay)
{
    struct ctrl_queue *q = ctrl_queue_new(0);
    const char *k;

    ctrl_queue_add(q, "ns/a");
    k = get(q, 0);
    ck_assert_str_eq(k, "ns/a");
    ck_assert_int_eq(ctrl_queue_add_rate_limited(q, "ns/a", 0), 5 * MS);
    ctrl_queue_done(q, "ns/a");
    ck_assert_ptr_null(get(q, 4 * MS));
    ck_assert_str_eq(get(q, 5 * MS), "ns/a");
    ctrl_queue_done(q, "ns/a");
    ctrl_queue_forget(q, "ns/a");
    ck_assert_int_eq(ctrl_queue_num_requeues(q, "ns/a"), 0);
    ctrl_queue_free(q);
}
END_TEST

START_TEST(many_keys_survive_table_growth)
{
    struct ctrl_queue *q = ctrl_queue_new(0);
    char key[32];
    int i;

    for (i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "ns/p%d", i);
        ctrl_queue_add(q, key);
        ctrl_queue_add_after(q, key, (1000 - i) * MS, 0);
    }
    ck_assert_uint_eq(ctrl_queue_len(q), 1000);
    for (i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "ns/p%d", i);
        ck_assert_str_eq(get(q, 0), key);
        ctrl_queue_done(q, key);
    }
    /* the parked copies come back, latest-parked-first order by due */
    ck_assert_str_eq(get(q, 2000 * MS), "ns/p999");
    ctrl_queue_free(q);
}
END_TEST

START_TEST(expectations_block_until_observed_or_expired)
{
    struct ctrl_expectations *e = ctrl_expectations_new();
    const char *pods[] = {"ns/p1", "ns/p2"};

    ck_assert(ctrl_expectations_satisfied(e, "ns/rs", 0));
    ctrl_expect_creations(e, "ns/rs", 2, 0);
    ck_assert(!ctrl_expectations_satisfied(e, "ns/rs", 0));
    ctrl_expectations_creation_observed(e, "ns/rs");
    ck_assert(!ctrl_expectations_satisfied(e, "ns/rs", 0));
    ctrl_expectations_creation_observed(e, "ns/rs");
    ck_assert(ctrl_expectations_satisfied(e, "ns/rs", 0));

    ctrl_expect_deletions(e, "ns/rs", pods, 2, 0);
    ck_assert(!ctrl_expectations_satisfied(e, "ns/rs", 0));
    ctrl_expectations_deletion_observed(e, "ns/rs", "ns/p1");
    ctrl_expectations_deletion_observed(e, "ns/rs", "ns/p1"); /* twice counts once */
    ck_assert(!ctrl_expectations_satisfied(e, "ns/rs", 0));
    ck_assert(ctrl_expectations_satisfied(e, "ns/rs", CTRL_EXPECTATIONS_TTL_NS + 1));
    ctrl_expectations_deletion_observed(e, "ns/rs", "ns/p2");
    ck_assert(ctrl_expectations_satisfied(e, "ns/rs", 0));

    ctrl_expect_creations(e, "ns/rs", 5, 0);
    ctrl_expectations_lower_creations(e, "ns/rs", 5);
    ck_assert(ctrl_expectations_satisfied(e, "ns/rs", 0));
    ctrl_expect_creations(e, "ns/other", 1, 0);
    ctrl_expectations_delete(e, "ns/other");
    ck_assert(ctrl_expectations_satisfied(e, "ns/other", 0));
    ck_assert(ctrl_expectations_satisfied(NULL, "ns/x", 0));
    ctrl_expectations_free(e);
}
END_TEST

START_TEST(slow_start_batches_double)
{
    static const struct {
        size_t total;
        size_t batches[10];
    } cases[] = {
        {0, {0}},
        {1, {1, 0}},
        {3, {1, 2, 0}},
        {20, {1, 2, 4, 8, 5, 0}},
        {500, {1, 2, 4, 8, 16, 32, 64, 128, 245, 0}},
    };
    size_t i, j;

    for (i = 0; i < sizeof(cases) / sizeof(*cases); i++)
        for (j = 0; j < 10; j++) {
            ck_assert_uint_eq(ctrl_slow_start_batch(cases[i].total, j), cases[i].batches[j]);
            if (cases[i].batches[j] == 0)
                break;
        }
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("ctrl_queue");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, add_deduplicates_queued_keys_in_fifo_order);
    tcase_add_test(tc, key_added_while_processing_is_requeued_on_done_only);
    tcase_add_test(tc, add_after_parks_until_due_and_keeps_earliest);
    tcase_add_test(tc, backoff_doubles_from_5ms_to_1000s_and_forget_resets);
    tcase_add_test(tc, token_bucket_allows_burst_100_then_10_per_second);
    tcase_add_test(tc, rate_limited_key_is_not_handed_out_before_its_delay);
    tcase_add_test(tc, many_keys_survive_table_growth);
    tcase_add_test(tc, expectations_block_until_observed_or_expired);
    tcase_add_test(tc, slow_start_batches_double);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
