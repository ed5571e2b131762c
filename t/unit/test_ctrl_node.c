/* ctrl: node lifecycle decisions (heartbeat grace, Unknown conditions,
 * not-ready / unreachable taints), toleration matching, eviction times
 * and the disruption rule. */
#include "ctrl/ctrl.h"
#include "ctrl_fixture.h"
#include "unit.h"

#include <errno.h>

#define GRACE (40 * NS_PER_S)

/* a node whose Ready condition has status st and a heartbeat at T0+hb s */
static json_t *
node(const char *st, int64_t hb, const char *taints)
{
    return J("{'metadata':{'name':'n1','creationTimestamp':'%s'},'spec':{'taints':%s},"
             "'status':{'conditions':[{'type':'MemoryPressure','status':'False',"
             "'lastHeartbeatTime':'%s'},{'type':'Ready','status':'%s','lastHeartbeatTime':'%s',"
             "'lastTransitionTime':'%s'}]}}",
             at(-1000), taints, at(hb), st, at(hb), at(-1000));
}

static const char *
taint_keys(const json_t *taints)
{
    static char buf[512];
    json_t *t;
    size_t i;

    buf[0] = '\0';
    json_array_foreach (taints, i, t)
        snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s:%s", i ? "," : "",
                 json_string_value(json_object_get(t, "key")),
                 json_string_value(json_object_get(t, "effect")));
    return buf;
}

START_TEST(decisions_by_heartbeat_and_ready)
{
    static const struct {
        const char *ready;
        int64_t hb, now; /* seconds after T0 */
        const char *taints;
        const char *want_ready;
        int status_written;
        const char *want_taints; /* NULL: unchanged */
        int64_t requeue_s;       /* -1: none */
    } cases[] = {
        /* fresh and Ready: nothing to do, look again when it would go stale */
        {"True", 0, 10, "[]", "True", 0, NULL, 30},
        {"True", 0, 40, "[]", "True", 0, NULL, 0},
        /* silent past the grace period: Unknown, unreachable taints */
        {"True", 0, 41, "[]", "Unknown", 1,
         "node.kubernetes.io/unreachable:NoSchedule,node.kubernetes.io/unreachable:NoExecute", -1},
        /* already handled: no writes */
        {"Unknown", 0, 60,
         "[{'key':'node.kubernetes.io/unreachable','effect':'NoSchedule'},"
         "{'key':'node.kubernetes.io/"
         "unreachable','effect':'NoExecute','timeAdded':'2026-11-25T12:00:41Z'}]",
         "Unknown", 0, NULL, -1},
        /* the agent says NotReady: not-ready taints */
        {"False", 0, 5, "[]", "False", 0,
         "node.kubernetes.io/not-ready:NoSchedule,node.kubernetes.io/not-ready:NoExecute", 35},
        /* back: the lifecycle taints go, the user's stay */
        {"True", 100, 101,
         "[{'key':'dedicated','value':'db','effect':'NoSchedule'},"
         "{'key':'node.kubernetes.io/unreachable','effect':'NoExecute'}]",
         "True", 0, "dedicated:NoSchedule", 39},
        /* Unknown -> False: unreachable replaced by not-ready */
        {"False", 100, 101, "[{'key':'node.kubernetes.io/unreachable','effect':'NoExecute'}]",
         "False", 0,
         "node.kubernetes.io/not-ready:NoSchedule,node.kubernetes.io/not-ready:NoExecute", 39},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        json_t *n = node(cases[i].ready, cases[i].hb, cases[i].taints);
        struct ctrl_node_decision d;
        struct sk_err err;

        sk_err_init(&err);
        ck_assert_int_eq(ctrl_node_decide(n, T0 + cases[i].now * NS_PER_S, GRACE, &d, &err), 0);
        ck_assert_msg(!strcmp(d.ready, cases[i].want_ready), "case %zu: ready %s", i, d.ready);
        ck_assert_msg(!!d.status == cases[i].status_written, "case %zu: status", i);
        if (d.status) {
            json_t *c;
            size_t j;

            json_array_foreach (json_object_get(d.status, "conditions"), j, c) {
                ck_assert_str_eq(json_string_value(json_object_get(c, "status")), "Unknown");
                ck_assert_str_eq(json_string_value(json_object_get(c, "reason")),
                                 "NodeStatusUnknown");
            }
            ck_assert_int_eq(json_array_size(json_object_get(d.status, "conditions")), 2);
        }
        if (cases[i].want_taints)
            ck_assert_msg(d.taints && !strcmp(taint_keys(d.taints), cases[i].want_taints),
                          "case %zu: taints %s", i, d.taints ? taint_keys(d.taints) : "(same)");
        else
            ck_assert_msg(!d.taints, "case %zu: taints changed to %s", i, taint_keys(d.taints));
        if (cases[i].requeue_s >= 0)
            ck_assert_msg(d.requeue_after_ns / NS_PER_S == cases[i].requeue_s, "case %zu: %lld", i,
                          (long long)d.requeue_after_ns);
        else
            ck_assert_int_eq(d.requeue_after_ns, 0);
        ctrl_node_decision_release(&d);
        json_decref(n);
    }
}
END_TEST

START_TEST(new_noexecute_taint_gets_time_added_and_old_one_keeps_it)
{
    json_t *n = node("True", 0,
                     "[{'key':'node.kubernetes.io/unreachable','effect':'NoExecute',"
                     "'timeAdded':'2026-11-25T11:00:00Z'}]");
    struct ctrl_node_decision d;

    ck_assert_int_eq(ctrl_node_decide(n, T0 + 50 * NS_PER_S, GRACE, &d, NULL), 0);
    ck_assert_ptr_nonnull(d.taints);
    ck_assert_str_eq(json_string_value(sk_json_get(d.taints, "[0].timeAdded")),
                     "2026-11-25T11:00:00Z");
    ck_assert_ptr_null(sk_json_get(d.taints, "[1].timeAdded"));
    ctrl_node_decision_release(&d);
    json_decref(n);

    n = node("True", 0, "[]");
    ck_assert_int_eq(ctrl_node_decide(n, T0 + 50 * NS_PER_S, GRACE, &d, NULL), 0);
    ck_assert_str_eq(json_string_value(sk_json_get(d.taints, "[1].timeAdded")), at(50));
    ctrl_node_decision_release(&d);
    json_decref(n);
}
END_TEST

START_TEST(a_new_node_gets_the_grace_period_and_absent_taints_equal_empty_ones)
{
    json_t *n = J("{'metadata':{'name':'n1','creationTimestamp':'%s'}}", at(0));
    struct ctrl_node_decision d;

    /* registered (creationTimestamp), no status posted yet: left alone
     * for the grace period, then Unknown and tainted */
    ck_assert_int_eq(ctrl_node_decide(n, T0 + 10 * NS_PER_S, GRACE, &d, NULL), 0);
    ck_assert_ptr_null(d.status);
    ck_assert_ptr_null(d.taints);
    ck_assert_int_eq(d.requeue_after_ns / NS_PER_S, 30);
    ctrl_node_decision_release(&d);
    ck_assert_int_eq(ctrl_node_decide(n, T0 + 41 * NS_PER_S, GRACE, &d, NULL), 0);
    ck_assert_str_eq(d.ready, "Unknown");
    ck_assert_ptr_nonnull(d.status);
    ck_assert_str_eq(taint_keys(d.taints), "node.kubernetes.io/unreachable:NoSchedule,"
                                           "node.kubernetes.io/unreachable:NoExecute");
    ctrl_node_decision_release(&d);
    json_decref(n);

    n = J("{'metadata':{'name':'n1','creationTimestamp':'%s'},'status':{'conditions':["
          "{'type':'Ready','status':'True','lastHeartbeatTime':'%s'}]}}",
          at(0), at(0));
    ck_assert_int_eq(ctrl_node_decide(n, T0 + 10 * NS_PER_S, GRACE, &d, NULL), 0);
    ck_assert_ptr_null(d.taints);
    ctrl_node_decision_release(&d);
    json_decref(n);
}
END_TEST

START_TEST(malformed_nodes_are_errors)
{
    static const char *const bad[] = {
        "{'metadata':{'name':'n'},'spec':{'taints':{}}}",
        "{'metadata':{'name':'n'}}", /* no heartbeat, no creationTimestamp */
        "{'metadata':{'name':'n'},'status':{'conditions':[{'type':'Ready','status':'True',"
        "'lastHeartbeatTime':'yesterday'}]}}",
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        json_t *n = J("%s", bad[i]);
        struct ctrl_node_decision d;
        struct sk_err err;

        sk_err_init(&err);
        ck_assert_msg(ctrl_node_decide(n, T0, GRACE, &d, &err) == -EINVAL, "case %zu", i);
        ck_assert_msg(err.msg[0], "case %zu: no message", i);
        json_decref(n);
    }
}
END_TEST

START_TEST(toleration_matching)
{
    static const struct {
        const char *tol, *taint;
        int want;
    } cases[] = {
        {"{'key':'k','operator':'Equal','value':'v','effect':'NoExecute'}",
         "{'key':'k','value':'v','effect':'NoExecute'}", 1},
        {"{'key':'k','value':'v'}", "{'key':'k','value':'v','effect':'NoSchedule'}", 1},
        {"{'key':'k','value':'w'}", "{'key':'k','value':'v','effect':'NoSchedule'}", 0},
        {"{'key':'k','operator':'Exists'}", "{'key':'k','value':'v','effect':'NoSchedule'}", 1},
        {"{'key':'k','operator':'Exists','effect':'NoSchedule'}",
         "{'key':'k','effect':'NoExecute'}", 0},
        {"{'operator':'Exists'}", "{'key':'anything','effect':'NoExecute'}", 1},
        {"{'key':'','operator':'Equal'}", "{'key':'k','effect':'NoExecute'}", 0},
        {"{'key':'k'}", "{'key':'k','effect':'NoExecute'}", 1}, /* empty value equals none */
        {"{'key':'other','operator':'Exists'}", "{'key':'k','effect':'NoExecute'}", 0},
        {"{}", "{'key':'k','effect':'NoExecute'}", 0},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        json_t *tol = J("%s", cases[i].tol), *taint = J("%s", cases[i].taint);

        ck_assert_msg(ctrl_tolerates(tol, taint) == cases[i].want, "case %zu", i);
        json_decref(tol);
        json_decref(taint);
    }
}
END_TEST

START_TEST(eviction_times)
{
    static const char unreach[] = "[{'key':'node.kubernetes.io/unreachable','effect':'NoSchedule'},"
                                  "{'key':'node.kubernetes.io/unreachable','effect':'NoExecute',"
                                  "'timeAdded':'2026-11-25T12:00:10Z'}]";
    static const struct {
        const char *tols; /* spec.tolerations */
        const char *taints;
        int64_t want_s; /* after T0; -1 never; 1000: now */
    } cases[] = {
        /* no toleration: the default 300 s */
        {"[]", unreach, 310},
        {"[{'key':'node.kubernetes.io/unreachable','operator':'Exists','effect':'NoExecute',"
         "'tolerationSeconds':1}]",
         unreach, 11},
        /* tolerated forever */
        {"[{'key':'node.kubernetes.io/unreachable','operator':'Exists','effect':'NoExecute'}]",
         unreach, -1},
        {"[{'operator':'Exists'}]", unreach, -1},
        /* the smallest of several matching tolerations */
        {"[{'operator':'Exists','tolerationSeconds':60},"
         "{'key':'node.kubernetes.io/unreachable','operator':'Exists','tolerationSeconds':5}]",
         unreach, 15},
        /* a user NoExecute taint nobody tolerates: at once */
        {"[]", "[{'key':'dedicated','value':'db','effect':'NoExecute'}]", 1000},
        /* NoSchedule alone never evicts */
        {"[]", "[{'key':'dedicated','effect':'NoSchedule'}]", -1},
        {"[]", "[]", -1},
        /* a toleration for another effect of the same key: the default still applies */
        {"[{'key':'node.kubernetes.io/unreachable','operator':'Exists','effect':'NoSchedule'}]",
         unreach, 310},
        /* negative tolerationSeconds count as 0 */
        {"[{'key':'node.kubernetes.io/unreachable','operator':'Exists','tolerationSeconds':-5}]",
         unreach, 10},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        json_t *pod = J("{'spec':{'tolerations':%s}}", cases[i].tols);
        json_t *taints = J("%s", cases[i].taints);
        int64_t now = T0 + 1000 * NS_PER_S;
        int64_t got = ctrl_pod_evict_at(pod, taints, now);
        int64_t want = cases[i].want_s < 0 ? -1 : T0 + cases[i].want_s * NS_PER_S;

        ck_assert_msg(got == want, "case %zu: got %lld want %lld", i, (long long)got,
                      (long long)want);
        json_decref(pod);
        json_decref(taints);
    }
}
END_TEST

START_TEST(disruption_rule)
{
    static const struct {
        size_t unhealthy, total;
        int want;
    } cases[] = {
        {0, 0, 0}, {0, 5, 0}, {1, 1, 1},  {2, 2, 1},  {1, 2, 0},
        {1, 3, 0}, {2, 3, 1}, {5, 10, 0}, {6, 10, 1}, {10, 10, 1},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(*cases); i++)
        ck_assert_msg(ctrl_nodes_disrupted(cases[i].unhealthy, cases[i].total) == cases[i].want,
                      "case %zu", i);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("ctrl_node");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, decisions_by_heartbeat_and_ready);
    tcase_add_test(tc, new_noexecute_taint_gets_time_added_and_old_one_keeps_it);
    tcase_add_test(tc, a_new_node_gets_the_grace_period_and_absent_taints_equal_empty_ones);
    tcase_add_test(tc, malformed_nodes_are_errors);
    tcase_add_test(tc, toleration_matching);
    tcase_add_test(tc, eviction_times);
    tcase_add_test(tc, disruption_rule);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
