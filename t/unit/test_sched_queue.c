/* sched: the scheduling queue: priority order, back-off, parking until a
 * relevant event, the periodic flush, de-duplication. Time is passed in
 * (milliseconds), so nothing here sleeps. */
#include "lib/json.h"
#include "sched/sched.h"
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *
pod(const char *name, int prio)
{
    json_t *p = json_pack("{s:{s:s,s:s},s:{s:i}}", "metadata", "name", name, "namespace", "ns",
                          "spec", "priority", prio);

    ck_assert_ptr_nonnull(p);
    return p;
}

static void
add(struct sched_queue *q, const char *name, int prio, int64_t now)
{
    json_t *p = pod(name, prio);
    struct sk_err err;

    ck_assert_msg(sched_queue_add(q, p, now, &err) == 0, "%s", err.msg);
    json_decref(p);
}

/* Pop and return the name (static buffer), "" when empty. */
static const char *
pop(struct sched_queue *q, int64_t now)
{
    static char name[64];
    json_t *p;

    sched_queue_tick(q, now);
    p = sched_queue_pop(q, now);
    if (!p)
        return "";
    snprintf(name, sizeof(name), "%s", json_string_value(sk_json_get(p, "metadata.name")));
    json_decref(p);
    return name;
}

START_TEST(priority_then_arrival)
{
    struct sched_queue *q = sched_queue_new(NULL);

    add(q, "a", 0, 0);
    add(q, "b", 10, 0);
    add(q, "c", 0, 0);
    add(q, "d", 10, 0);
    add(q, "e", -5, 0);
    add(q, "f", 1000000000, 0);
    ck_assert_uint_eq(sched_queue_active_len(q), 6);
    ck_assert_str_eq(pop(q, 0), "f");
    ck_assert_str_eq(pop(q, 0), "b");
    ck_assert_str_eq(pop(q, 0), "d");
    ck_assert_str_eq(pop(q, 0), "a");
    ck_assert_str_eq(pop(q, 0), "c");
    ck_assert_str_eq(pop(q, 0), "e");
    ck_assert_str_eq(pop(q, 0), "");
    sched_queue_free(q);
}
END_TEST

START_TEST(adding_again_updates_not_duplicates)
{
    struct sched_queue *q = sched_queue_new(NULL);

    add(q, "a", 0, 0);
    add(q, "b", 5, 0);
    add(q, "a", 0, 0);
    ck_assert_uint_eq(sched_queue_active_len(q), 2);
    add(q, "a", 9, 0); /* priority raised: now first */
    ck_assert_str_eq(pop(q, 0), "a");
    add(q, "a", 9, 0); /* in flight: stays in flight */
    ck_assert_uint_eq(sched_queue_active_len(q), 1);
    ck_assert_str_eq(pop(q, 0), "b");
    ck_assert_str_eq(pop(q, 0), "");
    sched_queue_free(q);
}
END_TEST

START_TEST(backoff_doubles_up_to_ten_seconds)
{
    struct sched_queue *q = sched_queue_new(NULL);
    const int64_t want[] = {1000, 2000, 4000, 8000, 10000, 10000};
    int64_t now = 0;

    add(q, "a", 0, 0);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        ck_assert_str_eq(pop(q, now), "a");
        sched_queue_error(q, "ns", "a", now);
        ck_assert_uint_eq(sched_queue_backoff_len(q), 1);
        ck_assert_int_eq(sched_queue_next_ms(q), now + want[i]);
        ck_assert_str_eq(pop(q, now + want[i] - 1), "");
        now += want[i];
    }
    ck_assert_str_eq(pop(q, now), "a");
    sched_queue_done(q, "ns", "a");
    ck_assert_int_eq(sched_queue_delete(q, "ns", "a"), -ENOENT);
    ck_assert_int_eq(sched_queue_next_ms(q), INT64_MAX);
    sched_queue_free(q);
}
END_TEST

START_TEST(parked_until_a_relevant_event)
{
    struct sched_queue *q = sched_queue_new(NULL);

    add(q, "a", 0, 0);
    ck_assert_str_eq(pop(q, 0), "a");
    sched_queue_unschedulable(q, "ns", "a", SCHED_PLUGIN_NODE_RESOURCES_FIT, 0);
    ck_assert_uint_eq(sched_queue_unschedulable_len(q), 1);
    ck_assert_str_eq(pop(q, 5000), "");
    /* A new pod elsewhere cannot free resources. */
    ck_assert_uint_eq(sched_queue_on_event(q, SCHED_EVENT_POD_ADD, 5000), 0);
    ck_assert_uint_eq(sched_queue_unschedulable_len(q), 1);
    /* A deleted pod can; the back-off (1 s) is over, so straight to active. */
    ck_assert_uint_eq(sched_queue_on_event(q, SCHED_EVENT_POD_DELETE, 5000), 1);
    ck_assert_uint_eq(sched_queue_active_len(q), 1);
    ck_assert_str_eq(pop(q, 5000), "a");
    /* Second failure, event before the back-off (2 s) ends: backoff. */
    sched_queue_unschedulable(q, "ns", "a", SCHED_PLUGIN_NODE_AFFINITY, 6000);
    ck_assert_uint_eq(sched_queue_on_event(q, SCHED_EVENT_POD_DELETE, 6100), 0);
    ck_assert_uint_eq(sched_queue_on_event(q, SCHED_EVENT_NODE_UPDATE, 6100), 1);
    ck_assert_uint_eq(sched_queue_backoff_len(q), 1);
    ck_assert_str_eq(pop(q, 7999), "");
    ck_assert_str_eq(pop(q, 8000), "a");
    sched_queue_free(q);
}
END_TEST

START_TEST(event_while_in_flight_skips_parking)
{
    struct sched_queue *q = sched_queue_new(NULL);

    add(q, "a", 0, 0);
    ck_assert_str_eq(pop(q, 0), "a");
    sched_queue_on_event(q, SCHED_EVENT_NODE_ADD, 10);
    sched_queue_unschedulable(q, "ns", "a", SCHED_PLUGIN_NODE_RESOURCES_FIT, 20);
    ck_assert_uint_eq(sched_queue_unschedulable_len(q), 0);
    ck_assert_uint_eq(sched_queue_backoff_len(q), 1);
    ck_assert_str_eq(pop(q, 1020), "a");
    /* An unrelated event in flight still parks it. */
    sched_queue_on_event(q, SCHED_EVENT_POD_ADD, 1030);
    sched_queue_unschedulable(q, "ns", "a", SCHED_PLUGIN_NODE_RESOURCES_FIT, 1040);
    ck_assert_uint_eq(sched_queue_unschedulable_len(q), 1);
    sched_queue_free(q);
}
END_TEST

START_TEST(parked_pods_flushed_after_sixty_seconds)
{
    struct sched_queue *q = sched_queue_new(NULL);

    add(q, "a", 0, 0);
    add(q, "b", 0, 0);
    ck_assert_str_eq(pop(q, 0), "a");
    sched_queue_unschedulable(q, "ns", "a", SCHED_PLUGIN_TAINT_TOLERATION, 0);
    ck_assert_str_eq(pop(q, 10), "b");
    sched_queue_unschedulable(q, "ns", "b", SCHED_PLUGIN_TAINT_TOLERATION, 30000);
    ck_assert_int_eq(sched_queue_next_ms(q), 60000);
    ck_assert_str_eq(pop(q, 59999), "");
    ck_assert_str_eq(pop(q, 60000), "a");
    ck_assert_uint_eq(sched_queue_unschedulable_len(q), 1);
    ck_assert_str_eq(pop(q, 90000), "b");
    sched_queue_free(q);
}
END_TEST

START_TEST(update_and_delete_of_queued_pods)
{
    struct sched_queue *q = sched_queue_new(NULL);
    json_t *bad = json_pack("{s:{}}", "metadata");
    struct sk_err err;

    add(q, "a", 0, 0);
    add(q, "b", 0, 0);
    add(q, "c", 0, 0);
    ck_assert_int_eq(sched_queue_delete(q, "ns", "b"), 0);
    ck_assert_int_eq(sched_queue_delete(q, "ns", "b"), -ENOENT);
    ck_assert_str_eq(pop(q, 0), "a");
    sched_queue_unschedulable(q, "ns", "a", SCHED_PLUGIN_NODE_PORTS, 0);
    /* The pod itself changed: worth another try once its back-off ends. */
    add(q, "a", 0, 100);
    ck_assert_uint_eq(sched_queue_backoff_len(q), 1);
    ck_assert_str_eq(pop(q, 100), "c");
    ck_assert_int_eq(sched_queue_delete(q, "ns", "c"), 0); /* in flight */
    ck_assert_int_eq(sched_queue_delete(q, "ns", "a"), 0); /* in backoff */
    ck_assert_str_eq(pop(q, 5000), "");
    ck_assert_int_lt(sched_queue_add(q, bad, 0, &err), 0);
    ck_assert_str_eq(err.msg, "pod: metadata.name: required");
    json_decref(bad);
    sched_queue_free(q);
}
END_TEST

START_TEST(heap_order_holds_for_many_pods)
{
    struct sched_queue *q = sched_queue_new(NULL);
    int last_prio = 1 << 30, last_seq = -1;
    char name[32];

    srand(3);
    for (int i = 0; i < 2000; i++) {
        snprintf(name, sizeof(name), "p%05d", i);
        add(q, name, rand() % 7, 0);
    }
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof(name), "p%05d", rand() % 2000);
        sched_queue_delete(q, "ns", name);
    }
    while (sched_queue_active_len(q)) {
        json_t *p = sched_queue_pop(q, 0);
        int prio = (int)json_integer_value(sk_json_get(p, "spec.priority"));
        int seq = atoi(json_string_value(sk_json_get(p, "metadata.name")) + 1);

        ck_assert_int_le(prio, last_prio);
        if (prio == last_prio)
            ck_assert_int_gt(seq, last_seq);
        last_prio = prio;
        last_seq = seq;
        json_decref(p);
    }
    sched_queue_free(q);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("sched_queue");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, priority_then_arrival);
    tcase_add_test(tc, adding_again_updates_not_duplicates);
    tcase_add_test(tc, backoff_doubles_up_to_ten_seconds);
    tcase_add_test(tc, parked_until_a_relevant_event);
    tcase_add_test(tc, event_while_in_flight_skips_parking);
    tcase_add_test(tc, parked_pods_flushed_after_sixty_seconds);
    tcase_add_test(tc, update_and_delete_of_queued_pods);
    tcase_add_test(tc, heap_order_holds_for_many_pods);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
