/* sched: the score plugins, their normalization to 0..100, the default
 * weights, and random but seeded tie breaks. */
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

static void
add(struct sched_cache *c, const char *text, int node)
{
    json_t *v = J(text);
    struct sk_err err;

    if (node)
        ck_assert_msg(sched_cache_node_set(c, v, &err) == 0, "%s", err.msg);
    else
        ck_assert_msg(sched_cache_pod_set(c, v, &err) == 0, "%s", err.msg);
    json_decref(v);
}

#define NODE(name, labels, spec)                                                                   \
    "{'metadata':{'name':'" name "','labels':{" labels "}},'spec':{" spec "},'status':{"           \
    "'allocatable':{'cpu':'4','memory':'8Gi','pods':'110'}}}"
#define USE(name, node, cpu, mem, labels)                                                          \
    "{'metadata':{'name':'" name "','labels':{" labels "}},'spec':{'nodeName':'" node "',"         \
    "'containers':[{'resources':{'requests':{'cpu':'" cpu "','memory':'" mem "'}}}]}}"

/* Scores of node name in res (fails if absent). */
static const struct sched_node_score *
score_of(const struct sched_result *res, const char *name)
{
    for (size_t i = 0; i < res->feasible; i++) {
        if (strcmp(res->scores[i].node, name) == 0)
            return &res->scores[i];
    }
    ck_abort_msg("no score for %s", name);
    return NULL;
}

static void
run(struct sched_cache *c, const char *pod, struct sched_result *res)
{
    struct sched_rng rng;
    struct sk_err err;
    json_t *p = J(pod);

    sched_rng_seed(&rng, 1);
    sched_result_init(res);
    res->want_scores = 1;
    ck_assert_msg(sched_schedule_one(c, p, &rng, res, &err) == 0, "%s", err.msg);
    json_decref(p);
}

START_TEST(least_allocated_and_balanced)
{
    struct sched_cache *c = sched_cache_new(0);
    struct sched_result res;
    const struct sched_node_score *a, *b;

    add(c, NODE("a", "", ""), 1);
    add(c, NODE("b", "", ""), 1);
    add(c, USE("x", "b", "2", "4Gi", ""), 0);
    run(c,
        "{'metadata':{'name':'p'},'spec':{'containers':[{'resources':{'requests':{"
        "'cpu':'1','memory':'2Gi'}}}]}}",
        &res);
    a = score_of(&res, "a");
    b = score_of(&res, "b");
    /* (4000-1000)*100/4000 = 75 for cpu and memory alike */
    ck_assert_int_eq(a->scores[SCHED_SCORE_LEAST_ALLOCATED], 75);
    ck_assert_int_eq(b->scores[SCHED_SCORE_LEAST_ALLOCATED], 25);
    ck_assert_int_eq(a->scores[SCHED_SCORE_BALANCED_ALLOCATION], 100);
    ck_assert_str_eq(res.node, "a");
    sched_result_release(&res);
    /* cpu 2/4 = 0.5, memory 1/8 = 0.125: 100 * (1 - 0.1875) = 81 */
    run(c,
        "{'metadata':{'name':'p'},'spec':{'containers':[{'resources':{'requests':{"
        "'cpu':'2','memory':'1Gi'}}}]}}",
        &res);
    ck_assert_int_eq(score_of(&res, "a")->scores[SCHED_SCORE_BALANCED_ALLOCATION], 81);
    sched_result_release(&res);
    /* Requests nothing: scored as 100m / 200Mi so it still spreads. */
    run(c, "{'metadata':{'name':'p'},'spec':{'containers':[{}]}}", &res);
    ck_assert_int_eq(score_of(&res, "a")->scores[SCHED_SCORE_LEAST_ALLOCATED], (97 + 97) / 2);
    sched_result_release(&res);
    sched_cache_free(c);
}
END_TEST

START_TEST(preferred_node_affinity_normalized_by_the_max)
{
    struct sched_cache *c = sched_cache_new(0);
    struct sched_result res;

    add(c, NODE("n1", "'disk':'ssd','zone':'a'", ""), 1);
    add(c, NODE("n2", "'zone':'a'", ""), 1);
    add(c, NODE("n3", "", ""), 1);
    run(c,
        "{'metadata':{'name':'p'},'spec':{'affinity':{'nodeAffinity':{"
        "'preferredDuringSchedulingIgnoredDuringExecution':["
        "{'weight':60,'preference':{'matchExpressions':[{'key':'disk','operator':'In','values':["
        "'ssd']}]}},"
        "{'weight':20,'preference':{'matchExpressions':[{'key':'zone','operator':'Exists'}]}}]}}}}",
        &res);
    ck_assert_int_eq(score_of(&res, "n1")->scores[SCHED_SCORE_NODE_AFFINITY], 100);
    ck_assert_int_eq(score_of(&res, "n2")->scores[SCHED_SCORE_NODE_AFFINITY], 25);
    ck_assert_int_eq(score_of(&res, "n3")->scores[SCHED_SCORE_NODE_AFFINITY], 0);
    ck_assert_str_eq(res.node, "n1");
    sched_result_release(&res);
    sched_cache_free(c);
}
END_TEST

#define PREFER(k) "{'key':'" k "','effect':'PreferNoSchedule'}"

START_TEST(prefer_no_schedule_taints_reversed)
{
    struct sched_cache *c = sched_cache_new(0);
    struct sched_result res;

    add(c, NODE("n0", "", ""), 1);
    add(c, NODE("n1", "", "'taints':[" PREFER("a") "]"), 1);
    add(c, NODE("n2", "", "'taints':[" PREFER("a") "," PREFER("b") "]"), 1);
    run(c, "{'metadata':{'name':'p'}}", &res);
    ck_assert_int_eq(score_of(&res, "n0")->scores[SCHED_SCORE_TAINT_TOLERATION], 100);
    ck_assert_int_eq(score_of(&res, "n1")->scores[SCHED_SCORE_TAINT_TOLERATION], 50);
    ck_assert_int_eq(score_of(&res, "n2")->scores[SCHED_SCORE_TAINT_TOLERATION], 0);
    ck_assert_str_eq(res.node, "n0");
    sched_result_release(&res);
    /* Tolerated taints do not count; none left means 100 everywhere. */
    run(c, "{'metadata':{'name':'p'},'spec':{'tolerations':[{'operator':'Exists'}]}}", &res);
    ck_assert_int_eq(score_of(&res, "n2")->scores[SCHED_SCORE_TAINT_TOLERATION], 100);
    sched_result_release(&res);
    sched_cache_free(c);
}
END_TEST

#define HOST(n) NODE(n, "'kubernetes.io/hostname':'" n "'", "")

START_TEST(preferred_pod_affinity_min_max)
{
    struct sched_cache *c = sched_cache_new(0);
    struct sched_result res;

    add(c, HOST("n1"), 1);
    add(c, HOST("n2"), 1);
    add(c, HOST("n3"), 1);
    add(c, USE("d1", "n1", "0", "0", "'app':'db'"), 0);
    add(c, USE("d2", "n1", "0", "0", "'app':'db'"), 0);
    add(c, USE("d3", "n2", "0", "0", "'app':'db'"), 0);
    add(c, USE("w1", "n3", "0", "0", "'app':'web'"), 0);
    run(c,
        "{'metadata':{'name':'p','labels':{'app':'web'}},'spec':{'affinity':{'podAffinity':{"
        "'preferredDuringSchedulingIgnoredDuringExecution':[{'weight':10,'podAffinityTerm':{"
        "'labelSelector':{'matchLabels':{'app':'db'}},'topologyKey':'kubernetes.io/hostname'}}]},"
        "'podAntiAffinity':{'preferredDuringSchedulingIgnoredDuringExecution':[{'weight':5,"
        "'podAffinityTerm':{'labelSelector':{'matchLabels':{'app':'web'}},"
        "'topologyKey':'kubernetes.io/hostname'}}]}}}}",
        &res);
    /* raw: n1 +20, n2 +10, n3 -5 -> (s - min) * 100 / (max - min) */
    ck_assert_int_eq(score_of(&res, "n1")->scores[SCHED_SCORE_INTER_POD_AFFINITY], 100);
    ck_assert_int_eq(score_of(&res, "n2")->scores[SCHED_SCORE_INTER_POD_AFFINITY], 60);
    ck_assert_int_eq(score_of(&res, "n3")->scores[SCHED_SCORE_INTER_POD_AFFINITY], 0);
    sched_result_release(&res);
    /* Symmetry: an existing pod's preferred affinity attracts the pod. */
    add(c,
        "{'metadata':{'name':'fan','labels':{}},'spec':{'nodeName':'n3','affinity':{'podAffinity':{"
        "'preferredDuringSchedulingIgnoredDuringExecution':[{'weight':50,'podAffinityTerm':{"
        "'labelSelector':{'matchLabels':{'app':'x'}},'topologyKey':'kubernetes.io/hostname'}}]}}}}",
        0);
    run(c, "{'metadata':{'name':'p','labels':{'app':'x'}}}", &res);
    ck_assert_int_eq(score_of(&res, "n3")->scores[SCHED_SCORE_INTER_POD_AFFINITY], 100);
    ck_assert_int_eq(score_of(&res, "n1")->scores[SCHED_SCORE_INTER_POD_AFFINITY], 0);
    sched_result_release(&res);
    sched_cache_free(c);
}
END_TEST

START_TEST(schedule_anyway_spread_prefers_the_emptier_zone)
{
    struct sched_cache *c = sched_cache_new(0);
    struct sched_result res;

    add(c, NODE("a1", "'zone':'a'", ""), 1);
    add(c, NODE("b1", "'zone':'b'", ""), 1);
    add(c, NODE("x1", "", ""), 1);
    add(c, USE("w1", "a1", "0", "0", "'app':'web'"), 0);
    add(c, USE("w2", "a1", "0", "0", "'app':'web'"), 0);
    run(c,
        "{'metadata':{'name':'p','labels':{'app':'web'}},'spec':{'topologySpreadConstraints':[{"
        "'maxSkew':1,'topologyKey':'zone','whenUnsatisfiable':'ScheduleAnyway','labelSelector':{"
        "'matchLabels':{'app':'web'}}}]}}",
        &res);
    /* raw a = round(2 * log(2 + 2)) = 3, b = 0: 100 * (3 + 0 - s) / 3 */
    ck_assert_int_eq(score_of(&res, "a1")->scores[SCHED_SCORE_TOPOLOGY_SPREAD], 0);
    ck_assert_int_eq(score_of(&res, "b1")->scores[SCHED_SCORE_TOPOLOGY_SPREAD], 100);
    ck_assert_int_eq(score_of(&res, "x1")->scores[SCHED_SCORE_TOPOLOGY_SPREAD], 0);
    ck_assert_str_eq(res.node, "b1");
    sched_result_release(&res);
    sched_cache_free(c);
}
END_TEST

START_TEST(total_is_the_weighted_sum)
{
    struct sched_cache *c = sched_cache_new(0);
    struct sched_result res;

    add(c, NODE("n1", "'disk':'ssd'", "'taints':[" PREFER("a") "]"), 1);
    add(c, NODE("n2", "", ""), 1);
    add(c, USE("x", "n2", "1", "1Gi", ""), 0);
    run(c,
        "{'metadata':{'name':'p'},'spec':{'affinity':{'nodeAffinity':{"
        "'preferredDuringSchedulingIgnoredDuringExecution':[{'weight':1,'preference':{"
        "'matchExpressions':[{'key':'disk','operator':'Exists'}]}}]}}}}",
        &res);
    for (size_t i = 0; i < res.feasible; i++) {
        int64_t sum = 0;

        for (int p = 0; p < SCHED_SCORE_COUNT; p++) {
            ck_assert_int_ge(res.scores[i].scores[p], 0);
            ck_assert_int_le(res.scores[i].scores[p], 100);
            sum += sched_score_default_weights[p] * res.scores[i].scores[p];
        }
        ck_assert_int_eq(res.scores[i].total, sum);
    }
    ck_assert_int_eq(sched_score_default_weights[SCHED_SCORE_TAINT_TOLERATION], 3);
    ck_assert_int_eq(sched_score_default_weights[SCHED_SCORE_NODE_AFFINITY], 2);
    /* n1: affinity 2*100 but taint 3*0; n2: taint 3*100 wins. */
    ck_assert_str_eq(res.node, "n2");
    sched_result_release(&res);
    sched_cache_free(c);
}
END_TEST

static struct sched_cache *
equal_nodes(int n)
{
    struct sched_cache *c = sched_cache_new(0);

    for (int i = 0; i < n; i++) {
        char text[256];

        snprintf(text, sizeof(text),
                 "{'metadata':{'name':'n%d'},'status':{'allocatable':{'cpu':'4','memory':'8Gi',"
                 "'pods':'1000'}}}",
                 i);
        add(c, text, 1);
    }
    return c;
}

/* The picks for a seed, as a string of node numbers. */
static void
picks(struct sched_cache *c, uint64_t seed, char *out, size_t n)
{
    struct sched_rng rng;
    struct sched_result res;
    json_t *p = J("{'metadata':{'name':'p'}}");

    sched_rng_seed(&rng, seed);
    sched_result_init(&res);
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(sched_schedule_one(c, p, &rng, &res, NULL), 0);
        out[i] = res.node[1];
    }
    out[n] = '\0';
    sched_result_release(&res);
    json_decref(p);
}

START_TEST(ties_are_random_but_seeded)
{
    struct sched_cache *c = equal_nodes(10);
    char a[65], b[65], d[65];
    int counts[10] = {0};
    struct sched_rng rng;
    struct sched_result res;
    json_t *p = J("{'metadata':{'name':'p'}}");

    picks(c, 42, a, 64);
    picks(c, 42, b, 64);
    picks(c, 43, d, 64);
    ck_assert_str_eq(a, b);
    ck_assert_str_ne(a, d);
    /* Uniform: 10000 picks among 10 equal nodes, none far from 1000. */
    sched_rng_seed(&rng, 5);
    sched_result_init(&res);
    for (int i = 0; i < 10000; i++) {
        ck_assert_int_eq(sched_schedule_one(c, p, &rng, &res, NULL), 0);
        counts[res.node[1] - '0']++;
    }
    for (int i = 0; i < 10; i++)
        ck_assert_msg(counts[i] > 850 && counts[i] < 1150, "node %d got %d", i, counts[i]);
    sched_result_release(&res);
    json_decref(p);
    sched_cache_free(c);
}
END_TEST

START_TEST(equal_nodes_fill_evenly)
{
    struct sched_cache *c = equal_nodes(8);
    struct sched_rng rng;
    struct sched_result res;

    sched_rng_seed(&rng, 9);
    sched_result_init(&res);
    /* Each pod lowers a node's score by at least a point, so the pick
     * always goes to a least loaded node: exactly even. */
    for (int i = 0; i < 200; i++) {
        char text[256];
        json_t *p;

        snprintf(text, sizeof(text),
                 "{'metadata':{'name':'p%d'},'spec':{'containers':[{'resources':{'requests':{"
                 "'cpu':'100m','memory':'128Mi'}}}]}}",
                 i);
        p = J(text);
        ck_assert_int_eq(sched_schedule_one(c, p, &rng, &res, NULL), 0);
        ck_assert_int_eq(sched_cache_assume(c, p, res.node, 0, NULL), 0);
        json_decref(p);
    }
    for (int i = 0; i < 8; i++) {
        char name[8];

        snprintf(name, sizeof(name), "n%d", i);
        ck_assert_uint_eq(sched_node_pod_count(sched_cache_node(c, name)), 25);
    }
    sched_result_release(&res);
    sched_cache_free(c);
}
END_TEST

START_TEST(nodes_to_find_as_kube_scheduler)
{
    static const struct {
        unsigned percentage;
        size_t nodes, want;
    } cases[] = {
        {0, 50, 50},     {0, 99, 99},    {0, 100, 100},     {0, 1000, 420},
        {0, 5000, 500},  {0, 6000, 300}, {0, 100000, 5000}, {100, 1000, 1000},
        {30, 1000, 300}, {1, 1000, 100}, {250, 1000, 1000}, {0, 0, 0},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_msg(sched_nodes_to_find(cases[i].percentage, cases[i].nodes) == cases[i].want,
                      "%u%% of %zu: %zu, want %zu", cases[i].percentage, cases[i].nodes,
                      sched_nodes_to_find(cases[i].percentage, cases[i].nodes), cases[i].want);
}
END_TEST

/* At 1000 nodes an attempt stops after 420 feasible ones; 100% looks at
 * all; a pod that fits nowhere is checked against every node. */
START_TEST(large_clusters_are_sampled_unless_nothing_fits)
{
    struct sched_cache *c = equal_nodes(1000);
    struct sched_config all = {.percentage_of_nodes_to_score = 100};
    struct sched_pod *sp;
    struct sched_rng rng;
    struct sched_result res;
    json_t *p = J("{'metadata':{'name':'p'}}");
    json_t *big = J("{'metadata':{'name':'big'},'spec':{'containers':[{'resources':{'requests':{"
                    "'cpu':'64'}}}]}}");

    memcpy(all.weights, sched_score_default_weights, sizeof(all.weights));
    sched_rng_seed(&rng, 3);
    sched_result_init(&res);
    ck_assert_int_eq(sched_schedule_one(c, p, &rng, &res, NULL), 0);
    ck_assert_uint_eq(res.nodes, 420);
    ck_assert_uint_eq(res.feasible, 420);
    ck_assert_int_eq(sched_pod_parse(p, &sp, NULL), 0);
    ck_assert_int_eq(sched_schedule_parsed(c, sp, &all, &rng, &res, NULL), 0);
    ck_assert_uint_eq(res.nodes, 1000);
    sched_pod_free(sp);
    ck_assert_int_eq(sched_schedule_one(c, big, &rng, &res, NULL), 1);
    ck_assert_uint_eq(res.nodes, 1000);
    ck_assert_msg(strncmp(res.message, "0/1000 nodes are available", 26) == 0, "%s", res.message);
    sched_result_release(&res);
    json_decref(p);
    json_decref(big);
    sched_cache_free(c);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("sched_scores");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, least_allocated_and_balanced);
    tcase_add_test(tc, preferred_node_affinity_normalized_by_the_max);
    tcase_add_test(tc, prefer_no_schedule_taints_reversed);
    tcase_add_test(tc, preferred_pod_affinity_min_max);
    tcase_add_test(tc, schedule_anyway_spread_prefers_the_emptier_zone);
    tcase_add_test(tc, total_is_the_weighted_sum);
    tcase_add_test(tc, ties_are_random_but_seeded);
    tcase_add_test(tc, equal_nodes_fill_evenly);
    tcase_add_test(tc, nodes_to_find_as_kube_scheduler);
    tcase_add_test(tc, large_clusters_are_sampled_unless_nothing_fits);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
