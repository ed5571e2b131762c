/* sched: the explanation of an unschedulable pod, in kube-scheduler's
 * words and format. */
#include "sched/sched.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

static json_t *
J(const char *text)
{
    char *s = strdup(text);
    json_error_t jerr;
    json_t *v;

    for (char *p = s; *p; p++)
        if (*p == '\'')
            *p = '"';
    v = json_loads(s, 0, &jerr);
    if (!v)
        ck_abort_msg("bad test json '%s': %s", s, jerr.text);
    free(s);
    return v;
}

static const struct {
    const char *reasons[12];
    size_t nodes;
    const char *want;
} histograms[] = {
    {{"Insufficient cpu", "node(s) had untolerated taint {dedicated: gpu}", "Insufficient cpu",
      "node(s) had untolerated taint {dedicated: gpu}", "Insufficient cpu"},
     5,
     "0/5 nodes are available: 3 Insufficient cpu, 2 node(s) had untolerated taint {dedicated: "
     "gpu}."},
    {{"b", "a", "c", "a", "b"}, 5, "0/5 nodes are available: 2 a, 2 b, 1 c."},
    {{"x", "x", "x", "x", "x", "x", "x", "x", "x", "x", "y", "y"},
     12,
     "0/12 nodes are available: 10 x, 2 y."},
    {{"node(s) were unschedulable"}, 1, "0/1 nodes are available: 1 node(s) were unschedulable."},
    {{0}, 0, "no nodes available to schedule pods"},
};

START_TEST(histogram_counts_descending_then_reason)
{
    for (size_t i = 0; i < sizeof(histograms) / sizeof(histograms[0]); i++) {
        struct sched_explain *ex = sched_explain_new();
        char *msg;

        for (size_t k = 0; k < 12 && histograms[i].reasons[k]; k++)
            sched_explain_add(ex, histograms[i].reasons[k]);
        msg = sched_explain_message(ex, histograms[i].nodes);
        ck_assert_str_eq(msg, histograms[i].want);
        free(msg);
        sched_explain_free(ex);
    }
}
END_TEST

#define NODE(name, extra)                                                                          \
    "{'metadata':{'name':'" name "'},'spec':{" extra "},'status':{'allocatable':{'cpu':'1',"       \
    "'memory':'1Gi','pods':'10'}}}"
#define GPU "'taints':[{'key':'dedicated','value':'gpu','effect':'NoSchedule'}]"

START_TEST(five_nodes_three_short_two_tainted)
{
    const char *nodes[] = {NODE("a", ""), NODE("b", ""), NODE("c", ""), NODE("d", GPU),
                           NODE("e", GPU)};
    struct sched_cache *c = sched_cache_new(0);
    struct sched_result res;
    struct sched_rng rng;
    json_t *pod = J("{'metadata':{'name':'p'},'spec':{'containers':[{'resources':{'requests':{"
                    "'cpu':'2'}}}]}}");

    for (size_t i = 0; i < 5; i++) {
        json_t *n = J(nodes[i]);

        ck_assert_int_eq(sched_cache_node_set(c, n, NULL), 0);
        json_decref(n);
    }
    sched_rng_seed(&rng, 1);
    sched_result_init(&res);
    ck_assert_int_eq(sched_schedule_one(c, pod, &rng, &res, NULL), 1);
    ck_assert_ptr_null(res.node);
    ck_assert_uint_eq(res.nodes, 5);
    ck_assert_uint_eq(res.feasible, 0);
    ck_assert_str_eq(res.message, "0/5 nodes are available: 3 Insufficient cpu, 2 node(s) had "
                                  "untolerated taint {dedicated: gpu}.");
    ck_assert_uint_eq(res.failed, SCHED_PLUGIN_NODE_RESOURCES_FIT | SCHED_PLUGIN_TAINT_TOLERATION);
    sched_result_release(&res);
    json_decref(pod);
    sched_cache_free(c);
}
END_TEST

START_TEST(empty_cluster)
{
    struct sched_cache *c = sched_cache_new(0);
    struct sched_result res;
    struct sched_rng rng;
    json_t *pod = J("{'metadata':{'name':'p'}}");

    sched_rng_seed(&rng, 1);
    sched_result_init(&res);
    ck_assert_int_eq(sched_schedule_one(c, pod, &rng, &res, NULL), 1);
    ck_assert_str_eq(res.message, "no nodes available to schedule pods");
    ck_assert_uint_eq(res.failed, 0);
    sched_result_release(&res);
    json_decref(pod);
    sched_cache_free(c);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("sched_explain");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, histogram_counts_descending_then_reason);
    tcase_add_test(tc, five_nodes_three_short_two_tainted);
    tcase_add_test(tc, empty_cluster);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
