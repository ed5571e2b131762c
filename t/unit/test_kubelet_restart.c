/* kubelet/restart: restartPolicy and the CrashLoopBackOff schedule. */
#include "kubelet/kubelet.h"
#include "unit.h"

#include <string.h>

START_TEST(restart_policy_table)
{
    static const struct {
        const char *policy;
        bool init;
        int code;
        bool want;
    } t[] = {
        {"Always", false, 0, true},    {"Always", false, 1, true}, {"OnFailure", false, 0, false},
        {"OnFailure", false, 2, true}, {"Never", false, 0, false}, {"Never", false, 1, false},
        {"Always", true, 0, false},    {"Always", true, 1, true},  {"OnFailure", true, 1, true},
        {"Never", true, 1, false},     {NULL, false, 0, true},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        ck_assert_msg(kl_restart_wanted(t[i].policy, t[i].init, t[i].code) == t[i].want, "case %zu",
                      i);
}
END_TEST

static struct kl_restart_in
crash(int64_t started, int64_t finished, int64_t now)
{
    struct kl_restart_in in = {.policy = "Always",
                               .exit_code = 1,
                               .started_s = started,
                               .finished_s = finished,
                               .now_s = now,
                               .pod_name = "web-abc",
                               .pod_ns = "default",
                               .pod_uid = "u-1",
                               .container = "web"};
    return in;
}

START_TEST(backoff_doubles_from_10s_to_5min)
{
    static const int64_t want[] = {10, 20, 40, 80, 160, 300, 300};
    struct kl_backoff bo = {0};
    struct kl_restart_out out;
    struct kl_restart_in in;
    int64_t t = 0;

    /* the first crash restarts at once */
    in = crash(0, 1, 1);
    kl_restart_decide(&in, &bo, &out);
    ck_assert_int_eq(out.action, KL_RESTART_NOW);
    t = 1;
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        in = crash(t, t + 1, t + 1);
        kl_restart_decide(&in, &bo, &out);
        ck_assert_int_eq(out.action, KL_RESTART_WAIT);
        ck_assert_int_eq(out.wait_until_s, t + 1 + want[i]);
        ck_assert_str_eq(out.reason, "CrashLoopBackOff");
        /* one second too early: still waiting */
        in.now_s = out.wait_until_s - 1;
        kl_restart_decide(&in, &bo, &out);
        ck_assert_int_eq(out.action, KL_RESTART_WAIT);
        in.now_s += 1;
        kl_restart_decide(&in, &bo, &out);
        ck_assert_int_eq(out.action, KL_RESTART_NOW);
        t = in.now_s;
    }
}
END_TEST

START_TEST(backoff_message_matches_kubernetes)
{
    struct kl_backoff bo = {.delay_s = 40};
    struct kl_restart_in in = crash(100, 101, 105);
    struct kl_restart_out out;

    kl_restart_decide(&in, &bo, &out);
    ck_assert_int_eq(out.action, KL_RESTART_WAIT);
    ck_assert_str_eq(out.message,
                     "back-off 40s restarting failed container=web pod=web-abc_default(u-1)");
}
END_TEST

START_TEST(backoff_resets_after_ten_minutes_of_running)
{
    struct kl_backoff bo = {.delay_s = 300};
    struct kl_restart_in in = crash(1000, 1000 + 600, 1600);
    struct kl_restart_out out;

    kl_restart_decide(&in, &bo, &out);
    ck_assert_int_eq(out.action, KL_RESTART_NOW);
    ck_assert_int_eq(bo.delay_s, 10);
    /* 9 minutes 59 s is not enough */
    bo.delay_s = 300;
    in = crash(1000, 1000 + 599, 1599);
    kl_restart_decide(&in, &bo, &out);
    ck_assert_int_eq(out.action, KL_RESTART_WAIT);
}
END_TEST

START_TEST(never_and_success_under_on_failure_stay_terminated)
{
    struct kl_backoff bo = {0};
    struct kl_restart_in in = crash(0, 1, 100);
    struct kl_restart_out out;

    in.policy = "Never";
    kl_restart_decide(&in, &bo, &out);
    ck_assert_int_eq(out.action, KL_RESTART_NONE);
    in.policy = "OnFailure";
    in.exit_code = 0;
    kl_restart_decide(&in, &bo, &out);
    ck_assert_int_eq(out.action, KL_RESTART_NONE);
    ck_assert_int_eq(bo.delay_s, 0);
}
END_TEST

START_TEST(table_keys_by_pod_uid_and_container_and_gcs)
{
    struct kl_backoff_table t;
    struct kl_backoff *a, *b;

    kl_backoff_table_init(&t);
    a = kl_backoff_get(&t, "u1", "web");
    a->delay_s = 40;
    a->last_s = 100;
    b = kl_backoff_get(&t, "u2", "web");
    b->last_s = 1000;
    ck_assert_int_eq(kl_backoff_get(&t, "u1", "web")->delay_s, 40);
    ck_assert_uint_eq(t.n, 2);
    kl_backoff_table_gc(&t, 100 + 2 * KL_BACKOFF_MAX_S + 1);
    ck_assert_uint_eq(t.n, 1);
    ck_assert_int_eq(kl_backoff_get(&t, "u1", "web")->delay_s, 0);
    kl_backoff_table_release(&t);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("kubelet_restart");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, restart_policy_table);
    tcase_add_test(tc, backoff_doubles_from_10s_to_5min);
    tcase_add_test(tc, backoff_message_matches_kubernetes);
    tcase_add_test(tc, backoff_resets_after_ten_minutes_of_running);
    tcase_add_test(tc, never_and_success_under_on_failure_stay_terminated);
    tcase_add_test(tc, table_keys_by_pod_uid_and_container_and_gcs);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
