/* sched: pod requests as Kubernetes computes them, and the assumed-pod
 * cache: assume, forget (exact rollback), confirm, expire. */
#include "sched/sched.h"
#include "unit.h"

#include <errno.h>
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

#define MI (1024LL * 1024)

static const struct {
    const char *what, *spec;
    int64_t cpu, mem, eph;
} requests[] = {
    {"no containers", "{}", 0, 0, 0},
    {"sum of app containers",
     "{'containers':[{'resources':{'requests':{'cpu':'100m','memory':'1Gi'}}},"
     "{'resources':{'requests':{'cpu':'200m','memory':'512Mi','ephemeral-storage':'1Gi'}}}]}",
     300, 1536 * MI, 1024 * MI},
    {"an init container larger than the sum wins",
     "{'initContainers':[{'resources':{'requests':{'cpu':'1'}}}],"
     "'containers':[{'resources':{'requests':{'cpu':'100m'}}},{'resources':{'requests':{'cpu':"
     "'200m'}}}]}",
     1000, 0, 0},
    {"max is taken per resource",
     "{'initContainers':[{'resources':{'requests':{'cpu':'50m','memory':'2Gi'}}},"
     "{'resources':{'requests':{'cpu':'150m','memory':'1Gi'}}}],"
     "'containers':[{'resources':{'requests':{'cpu':'300m','memory':'1Gi'}}}]}",
     300, 2048 * MI, 0},
    {"overhead is added after the max",
     "{'overhead':{'cpu':'250m','memory':'120Mi'},"
     "'initContainers':[{'resources':{'requests':{'cpu':'1'}}}],"
     "'containers':[{'resources':{'requests':{'cpu':'100m','memory':'1Mi'}}}]}",
     1250, 121 * MI, 0},
    {"limits stand in for missing requests",
     "{'containers':[{'resources':{'limits':{'cpu':'2','memory':'1Gi'},'requests':{'cpu':'1'}}}]}",
     1000, 1024 * MI, 0},
    {"numbers are quantities",
     "{'containers':[{'resources':{'requests':{'cpu':0.5,'memory':1000}}}]}", 500, 1000, 0},
    {"tiny cpu rounds up to a milli", "{'containers':[{'resources':{'requests':{'cpu':'1n'}}}]}", 1,
     0, 0},
};

START_TEST(requests_as_kubernetes_computes_them)
{
    for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++) {
        char text[2048];
        struct sched_resources r;
        struct sched_pod *pod;
        struct sk_err err;
        json_t *obj;

        snprintf(text, sizeof(text), "{'metadata':{'name':'p'},'spec':%s}", requests[i].spec);
        obj = J(text);
        ck_assert_msg(sched_pod_parse(obj, &pod, &err) == 0, "%s: %s", requests[i].what, err.msg);
        sched_pod_requests(pod, &r);
        ck_assert_msg(r.milli_cpu == requests[i].cpu, "%s: cpu %lld", requests[i].what,
                      (long long)r.milli_cpu);
        ck_assert_msg(r.memory == requests[i].mem, "%s: memory %lld", requests[i].what,
                      (long long)r.memory);
        ck_assert_msg(r.ephemeral == requests[i].eph, "%s: ephemeral %lld", requests[i].what,
                      (long long)r.ephemeral);
        ck_assert_int_eq(r.pods, 1);
        sched_pod_free(pod);
        json_decref(obj);
    }
}
END_TEST

static struct sched_cache *
cluster(int64_t ttl)
{
    struct sched_cache *c = sched_cache_new(ttl);
    const char *nodes[] = {
        "{'metadata':{'name':'n1'},'status':{'allocatable':{'cpu':'2','memory':'4Gi','pods':'10'}}"
        "}",
        "{'metadata':{'name':'n2'},'status':{'allocatable':{'cpu':'2','memory':'4Gi','pods':'10'}}"
        "}",
    };

    for (size_t i = 0; i < 2; i++) {
        json_t *n = J(nodes[i]);

        ck_assert_int_eq(sched_cache_node_set(c, n, NULL), 0);
        json_decref(n);
    }
    return c;
}

#define BIG_POD(name, node)                                                                        \
    "{'metadata':{'name':'" name "','namespace':'ns'},'spec':{'nodeName':'" node "',"              \
    "'containers':[{'resources':{'requests':{'cpu':'1500m','memory':'1Gi'}},'ports':[{"            \
    "'hostPort':8080}]}]}}"

static void
node_state(const struct sched_cache *c, const char *name, struct sched_resources *req, size_t *pods,
           size_t *ports)
{
    const struct sched_node_info *ni = sched_cache_node(c, name);

    ck_assert_ptr_nonnull(ni);
    sched_node_requested(ni, req);
    *pods = sched_node_pod_count(ni);
    *ports = sched_node_port_count(ni);
}

START_TEST(forget_rolls_back_exactly)
{
    struct sched_cache *c = cluster(0);
    struct sched_resources before, during, after;
    size_t pods0, ports0, pods1, ports1, pods2, ports2;
    json_t *bound = J(BIG_POD("a", "n1")), *pod = J(BIG_POD("b", ""));
    struct sk_err err;

    ck_assert_int_eq(sched_cache_pod_set(c, bound, &err), 0);
    node_state(c, "n2", &before, &pods0, &ports0);
    ck_assert_int_eq(sched_cache_assume(c, pod, "n2", 0, &err), 0);
    ck_assert_int_eq(sched_cache_pod_state(c, "ns", "b"), 1);
    node_state(c, "n2", &during, &pods1, &ports1);
    ck_assert_int_eq(during.milli_cpu, before.milli_cpu + 1500);
    ck_assert_int_eq(during.memory, before.memory + 1024 * MI);
    ck_assert_uint_eq(pods1, pods0 + 1);
    ck_assert_uint_eq(ports1, ports0 + 1);
    ck_assert_int_eq(sched_cache_forget(c, "ns", "b", &err), 0);
    node_state(c, "n2", &after, &pods2, &ports2);
    ck_assert_mem_eq(&after, &before, sizeof(before));
    ck_assert_uint_eq(pods2, pods0);
    ck_assert_uint_eq(ports2, ports0);
    ck_assert_int_eq(sched_cache_pod_state(c, "ns", "b"), 0);
    ck_assert_int_eq(sched_cache_forget(c, "ns", "b", &err), -ENOENT);
    ck_assert_int_eq(sched_cache_forget(c, "ns", "a", &err), -EINVAL);
    json_decref(bound);
    json_decref(pod);
    sched_cache_free(c);
}
END_TEST

START_TEST(assumed_pod_counts_for_the_next_attempt)
{
    struct sched_cache *c = cluster(0);
    json_t *p1 = J(BIG_POD("a", "")), *p2 = J(BIG_POD("b", "")), *p3 = J(BIG_POD("c", ""));
    struct sched_result res;
    struct sched_rng rng;
    struct sk_err err;
    char first[16];

    sched_rng_seed(&rng, 7);
    sched_result_init(&res);
    ck_assert_int_eq(sched_schedule_one(c, p1, &rng, &res, &err), 0);
    snprintf(first, sizeof(first), "%s", res.node);
    ck_assert_int_eq(sched_cache_assume(c, p1, first, 0, &err), 0);
    ck_assert_int_eq(sched_schedule_one(c, p2, &rng, &res, &err), 0);
    ck_assert_str_ne(res.node, first);
    ck_assert_int_eq(sched_cache_assume(c, p2, res.node, 0, &err), 0);
    ck_assert_int_eq(sched_schedule_one(c, p3, &rng, &res, &err), 1);
    ck_assert_str_eq(res.message, "0/2 nodes are available: 2 node(s) didn't have free ports for "
                                  "the requested pod ports.");
    /* A failed bind frees the node again. */
    ck_assert_int_eq(sched_cache_forget(c, "ns", "a", &err), 0);
    ck_assert_int_eq(sched_schedule_one(c, p3, &rng, &res, &err), 0);
    ck_assert_str_eq(res.node, first);
    sched_result_release(&res);
    json_decref(p1);
    json_decref(p2);
    json_decref(p3);
    sched_cache_free(c);
}
END_TEST

START_TEST(informer_confirms_an_assumed_pod)
{
    struct sched_cache *c = cluster(1000);
    json_t *pending = J(BIG_POD("a", "")), *bound = J(BIG_POD("a", "n1"));
    json_t *elsewhere = J(BIG_POD("a", "n2"));
    struct sched_resources r;
    struct sk_err err;

    ck_assert_int_eq(sched_cache_assume(c, pending, "n1", 0, &err), 0);
    /* The informer still has the unbound version: keep the assumption. */
    ck_assert_int_eq(sched_cache_pod_set(c, pending, &err), 0);
    ck_assert_int_eq(sched_cache_pod_state(c, "ns", "a"), 1);
    ck_assert_int_eq(sched_cache_pod_set(c, bound, &err), 0);
    ck_assert_int_eq(sched_cache_pod_state(c, "ns", "a"), 2);
    ck_assert_uint_eq(sched_cache_expire(c, 5000), 0);
    ck_assert_int_eq(sched_cache_forget(c, "ns", "a", &err), -EINVAL);
    /* The API is the truth: a pod bound elsewhere moves. */
    ck_assert_int_eq(sched_cache_pod_set(c, elsewhere, &err), 0);
    sched_node_requested(sched_cache_node(c, "n1"), &r);
    ck_assert_int_eq(r.milli_cpu, 0);
    ck_assert_int_eq(r.pods, 0);
    sched_node_requested(sched_cache_node(c, "n2"), &r);
    ck_assert_int_eq(r.milli_cpu, 1500);
    ck_assert_int_eq(sched_cache_pod_remove(c, "ns", "a"), 0);
    sched_node_requested(sched_cache_node(c, "n2"), &r);
    ck_assert_int_eq(r.milli_cpu, 0);
    ck_assert_int_eq(sched_cache_pod_remove(c, "ns", "a"), -ENOENT);
    json_decref(pending);
    json_decref(bound);
    json_decref(elsewhere);
    sched_cache_free(c);
}
END_TEST

START_TEST(unconfirmed_assumption_expires_after_ttl)
{
    struct sched_cache *c = cluster(30000);
    json_t *a = J(BIG_POD("a", "")), *b = J(BIG_POD("b", ""));
    struct sched_resources r;
    struct sk_err err;

    ck_assert_int_eq(sched_cache_assume(c, a, "n1", 1000, &err), 0);
    ck_assert_int_eq(sched_cache_assume(c, b, "n2", 20000, &err), 0);
    ck_assert_uint_eq(sched_cache_expire(c, 30999), 0);
    ck_assert_uint_eq(sched_cache_expire(c, 31000), 1);
    ck_assert_int_eq(sched_cache_pod_state(c, "ns", "a"), 0);
    ck_assert_int_eq(sched_cache_pod_state(c, "ns", "b"), 1);
    sched_node_requested(sched_cache_node(c, "n1"), &r);
    ck_assert_int_eq(r.milli_cpu, 0);
    ck_assert_uint_eq(sched_node_port_count(sched_cache_node(c, "n1")), 0);
    ck_assert_uint_eq(sched_cache_expire(c, 50000), 1);
    json_decref(a);
    json_decref(b);
    sched_cache_free(c);
}
END_TEST

START_TEST(finished_binding_restarts_the_ttl)
{
    struct sched_cache *c = cluster(1000);
    json_t *a = J(BIG_POD("a", "")), *bound = J(BIG_POD("a", "n1"));
    struct sk_err err;

    ck_assert_int_eq(sched_cache_assume(c, a, "n1", 0, &err), 0);
    ck_assert_int_eq(sched_cache_finish_binding(c, "ns", "a", 900), 0);
    ck_assert_uint_eq(sched_cache_expire(c, 1500), 0);
    ck_assert_int_eq(sched_cache_pod_state(c, "ns", "a"), 1);
    ck_assert_uint_eq(sched_cache_expire(c, 1900), 1);
    ck_assert_int_eq(sched_cache_finish_binding(c, "ns", "a", 2000), -ENOENT);
    /* A bound pod has nothing to finish. */
    ck_assert_int_eq(sched_cache_pod_set(c, bound, &err), 0);
    ck_assert_int_eq(sched_cache_finish_binding(c, "ns", "a", 2000), -ENOENT);
    ck_assert_int_eq(sched_cache_pod_state(c, "ns", "a"), 2);
    json_decref(a);
    json_decref(bound);
    sched_cache_free(c);
}
END_TEST

START_TEST(assume_refuses_duplicates_and_unknown_nodes)
{
    struct sched_cache *c = cluster(0);
    json_t *a = J(BIG_POD("a", ""));
    struct sk_err err;

    ck_assert_int_eq(sched_cache_assume(c, a, "n9", 0, &err), -ENOENT);
    ck_assert_str_eq(err.msg, "node 'n9': not found");
    ck_assert_int_eq(sched_cache_assume(c, a, "n1", 0, &err), 0);
    ck_assert_int_eq(sched_cache_assume(c, a, "n2", 0, &err), -EEXIST);
    ck_assert_str_eq(err.msg, "pod 'ns/a': already in the cache");
    /* ttl 0: never expires */
    ck_assert_uint_eq(sched_cache_expire(c, INT64_MAX), 0);
    json_decref(a);
    sched_cache_free(c);
}
END_TEST

START_TEST(node_removal_keeps_its_pods_counted)
{
    struct sched_cache *c = cluster(0);
    json_t *bound = J(BIG_POD("a", "n1"));
    json_t *n1 = J("{'metadata':{'name':'n1'},'status':{'allocatable':{'cpu':'2','pods':'10'}}}");
    struct sched_resources r;

    ck_assert_int_eq(sched_cache_pod_set(c, bound, NULL), 0);
    ck_assert_int_eq(sched_cache_node_remove(c, "n1"), 0);
    ck_assert_int_eq(sched_cache_node_remove(c, "n1"), -ENOENT);
    ck_assert_uint_eq(sched_cache_node_count(c), 1);
    ck_assert_int_eq(sched_cache_node_set(c, n1, NULL), 0);
    ck_assert_uint_eq(sched_cache_node_count(c), 2);
    sched_node_requested(sched_cache_node(c, "n1"), &r);
    ck_assert_int_eq(r.milli_cpu, 1500);
    /* A pod bound to a node not seen yet is counted when it appears. */
    json_decref(bound);
    bound = J(BIG_POD("z", "n7"));
    ck_assert_int_eq(sched_cache_pod_set(c, bound, NULL), 0);
    ck_assert_uint_eq(sched_cache_node_count(c), 2);
    ck_assert_int_eq(sched_cache_pod_remove(c, "ns", "z"), 0);
    ck_assert_ptr_null(sched_cache_node(c, "n7"));
    json_decref(bound);
    json_decref(n1);
    sched_cache_free(c);
}
END_TEST

START_TEST(many_pods_and_nodes_round_trip)
{
    struct sched_cache *c = sched_cache_new(0);
    char text[512];

    for (int i = 0; i < 300; i++) {
        json_t *n;

        snprintf(text, sizeof(text),
                 "{'metadata':{'name':'n%d'},'status':{'allocatable':{'cpu':'8','pods':'100'}}}",
                 i);
        n = J(text);
        ck_assert_int_eq(sched_cache_node_set(c, n, NULL), 0);
        json_decref(n);
    }
    for (int i = 0; i < 3000; i++) {
        json_t *p;

        snprintf(text, sizeof(text), "{'metadata':{'name':'p%d'},'spec':{}}", i);
        p = J(text);
        snprintf(text, sizeof(text), "n%d", i % 300);
        ck_assert_int_eq(sched_cache_assume(c, p, text, 0, NULL), 0);
        json_decref(p);
    }
    for (int i = 0; i < 1500; i++) {
        snprintf(text, sizeof(text), "p%d", i);
        ck_assert_int_eq(sched_cache_forget(c, "default", text, NULL), 0);
    }
    for (int i = 0; i < 300; i++) {
        snprintf(text, sizeof(text), "n%d", i);
        ck_assert_uint_eq(sched_node_pod_count(sched_cache_node(c, text)), 5);
        if (i % 2)
            ck_assert_int_eq(sched_cache_node_remove(c, text), 0);
    }
    ck_assert_uint_eq(sched_cache_node_count(c), 150);
    for (int i = 1500; i < 3000; i++) {
        snprintf(text, sizeof(text), "p%d", i);
        ck_assert_int_eq(sched_cache_pod_state(c, "default", text), 1);
    }
    sched_cache_free(c);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("sched_cache");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, requests_as_kubernetes_computes_them);
    tcase_add_test(tc, forget_rolls_back_exactly);
    tcase_add_test(tc, assumed_pod_counts_for_the_next_attempt);
    tcase_add_test(tc, informer_confirms_an_assumed_pod);
    tcase_add_test(tc, unconfirmed_assumption_expires_after_ttl);
    tcase_add_test(tc, finished_binding_restarts_the_ttl);
    tcase_add_test(tc, assume_refuses_duplicates_and_unknown_nodes);
    tcase_add_test(tc, node_removal_keeps_its_pods_counted);
    tcase_add_test(tc, many_pods_and_nodes_round_trip);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
