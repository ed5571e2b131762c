/* sched: preemption (which node, which victims, who may preempt) and the
 * nominator that holds a preemptor's room. One table of clusters: nodes,
 * bound pods, the preemptor, and the node and victims expected ("n1: a
 * b", most important victim first) or "none". JSON is written with
 * single quotes; nodes default to 4 cpu, 8Gi, 110 pods, Ready. */
#include "lib/buf.h"
#include "lib/json.h"
#include "sched/sched.h"
#include "unit.h"

#include <errno.h>
#include <stdio.h>
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

static json_t *
mk_node(const char *text)
{
    json_t *n = J(text), *st;

    if (!json_object_get(n, "status"))
        json_object_set_new(n, "status", json_object());
    st = json_object_get(n, "status");
    if (!json_object_get(st, "allocatable"))
        json_object_set_new(st, "allocatable", J("{'cpu':'4','memory':'8Gi','pods':'110'}"));
    if (!json_object_get(st, "conditions"))
        json_object_set_new(st, "conditions", J("[{'type':'Ready','status':'True'}]"));
    return n;
}

#define NODE(n) "{'metadata':{'name':'" n "','labels':{'kubernetes.io/hostname':'" n "'}}}"
/* A bound pod: name, node, priority, cpu, creation hour (01..23). */
#define BOUND(name, node, prio, cpu, hour)                                                         \
    "{'metadata':{'name':'" name "','creationTimestamp':'2026-11-26T" hour                         \
    ":00:00Z'},'spec':{'nodeName':'" node "','priority':" prio ",'containers':[{'name':'c',"       \
    "'resources':{'requests':{'cpu':'" cpu "'}}}]}}"
/* The preemptor: priority, cpu, extra spec fields (ending in a comma). */
#define PREEMPTOR(prio, cpu, extra)                                                                \
    "{'metadata':{'name':'hi','labels':{'app':'web'}},'spec':{" extra "'priority':" prio           \
    ",'containers':[{'name':'c','resources':{'requests':{'cpu':'" cpu "'}}}]}}"

#define PENDING(name, prio, cpu)                                                                   \
    "{'metadata':{'name':'" name "'},'spec':{'priority':" prio ",'containers':[{'name':'c',"       \
    "'resources':{'requests':{'cpu':'" cpu "'}}}]}}"
#define STR(b) ((b).data ? (b).data : "")

struct pcase {
    const char *what;
    const char *nodes[4];
    const char *bound[6];
    const char *pod;
    const char *want; /* "n1: a b" or "none" */
};

static struct sched_cache *
mk_cache(const char *const *nodes, size_t nn, const char *const *bound, size_t nb, const char *what)
{
    struct sched_cache *cache = sched_cache_new(0);
    struct sk_err err;

    sk_err_init(&err);
    for (size_t i = 0; i < nn && nodes[i]; i++) {
        json_t *n = mk_node(nodes[i]);

        ck_assert_msg(sched_cache_node_set(cache, n, &err) == 0, "%s: node: %s", what, err.msg);
        json_decref(n);
    }
    for (size_t i = 0; i < nb && bound[i]; i++) {
        json_t *p = J(bound[i]);

        ck_assert_msg(sched_cache_pod_set(cache, p, &err) == 0, "%s: bound: %s", what, err.msg);
        json_decref(p);
    }
    return cache;
}

/* Every node's requested resources and pod count, as one string: the
 * what-if must leave the cache exactly as it found it. */
static void
snapshot(const struct sched_cache *cache, const char *const *nodes, size_t nn, struct sk_buf *out)
{
    sk_buf_reset(out);
    for (size_t i = 0; i < nn && nodes[i]; i++) {
        json_t *n = J(nodes[i]);
        const char *name =
            json_string_value(json_object_get(json_object_get(n, "metadata"), "name"));
        const struct sched_node_info *ni = sched_cache_node(cache, name);
        struct sched_resources r;

        sched_node_requested(ni, &r);
        sk_buf_printf(out, "%s %lld %lld %lld %zu %zu;", name, (long long)r.milli_cpu,
                      (long long)r.memory, (long long)r.pods, sched_node_pod_count(ni),
                      sched_node_port_count(ni));
        json_decref(n);
    }
}

static void
run_case(const struct pcase *c)
{
    struct sched_cache *cache = mk_cache(c->nodes, 4, c->bound, 6, c->what);
    struct sk_buf before, after, got;
    struct sched_preemption pre;
    struct sched_result res;
    struct sched_rng rng;
    struct sk_err err;
    json_t *pod = J(c->pod);
    int rc;

    sk_err_init(&err);
    sk_buf_init(&before);
    sk_buf_init(&after);
    sk_buf_init(&got);
    sched_rng_seed(&rng, 1);
    sched_result_init(&res);
    ck_assert_msg(sched_schedule_one(cache, pod, &rng, &res, &err) == 1,
                  "%s: the preemptor fits without preempting", c->what);
    snapshot(cache, c->nodes, 4, &before);
    sched_preemption_init(&pre);
    rc = sched_preempt(cache, pod, NULL, &pre, &err);
    ck_assert_msg(rc >= 0, "%s: %s", c->what, err.msg);
    if (rc == 0) {
        sk_buf_printf(&got, "%s:", pre.node);
        for (size_t i = 0; i < pre.nvictims; i++)
            sk_buf_printf(&got, " %s", pre.victims[i].name);
    } else {
        ck_assert_ptr_null(pre.node);
        sk_buf_printf(&got, "none");
    }
    ck_assert_msg(strcmp(STR(got), c->want) == 0, "%s: got '%s', want '%s'", c->what, STR(got),
                  c->want);
    snapshot(cache, c->nodes, 4, &after);
    ck_assert_str_eq(STR(before), STR(after));
    /* And still unschedulable for the same reasons. */
    sched_result_release(&res);
    ck_assert_int_eq(sched_schedule_one(cache, pod, &rng, &res, &err), 1);
    sched_preemption_release(&pre);
    sched_result_release(&res);
    sk_buf_release(&before);
    sk_buf_release(&after);
    sk_buf_release(&got);
    json_decref(pod);
    sched_cache_free(cache);
}

#define RUN(t)                                                                                     \
    for (size_t i_ = 0; i_ < sizeof(t) / sizeof(t[0]); i_++)                                       \
    run_case(&t[i_])

static const struct pcase victims[] = {
    {"only as many as needed go, the newest of equal priority first",
     {NODE("n1")},
     {BOUND("a", "n1", "1", "1", "01"), BOUND("b", "n1", "1", "1", "02"),
      BOUND("c", "n1", "1", "1", "03"), BOUND("d", "n1", "1", "1", "04")},
     PREEMPTOR("10", "2", ""),
     "n1: c d"},
    {"the lowest priority goes before an older pod of higher priority",
     {NODE("n1")},
     {BOUND("a", "n1", "5", "2", "04"), BOUND("b", "n1", "1", "2", "01")},
     PREEMPTOR("10", "2", ""),
     "n1: b"},
    {"reprieve keeps a small pod that still leaves room",
     {NODE("n1")},
     {BOUND("big", "n1", "1", "3", "01"), BOUND("small", "n1", "1", "500m", "02")},
     PREEMPTOR("10", "3", ""),
     "n1: big"},
    {"equal priority does not preempt",
     {NODE("n1")},
     {BOUND("a", "n1", "10", "4", "01")},
     PREEMPTOR("10", "1", ""),
     "none"},
    {"higher-priority pods are never victims, even when that leaves no room",
     {NODE("n1")},
     {BOUND("vip", "n1", "20", "3", "01"), BOUND("low", "n1", "1", "1", "02")},
     PREEMPTOR("10", "2", ""),
     "none"},
    {"preemptionPolicy Never does not preempt",
     {NODE("n1")},
     {BOUND("a", "n1", "1", "4", "01")},
     PREEMPTOR("10", "1", "'preemptionPolicy':'Never',"),
     "none"},
    {"preemptionPolicy PreemptLowerPriority preempts",
     {NODE("n1")},
     {BOUND("a", "n1", "1", "4", "01")},
     PREEMPTOR("10", "1", "'preemptionPolicy':'PreemptLowerPriority',"),
     "n1: a"},
    {"a pod bigger than the node finds no victims",
     {NODE("n1")},
     {BOUND("a", "n1", "1", "1", "01")},
     PREEMPTOR("10", "5", ""),
     "none"},
    {"negative priorities are lower too",
     {NODE("n1")},
     {BOUND("a", "n1", "-5", "4", "01")},
     PREEMPTOR("0", "1", ""),
     "n1: a"},
};

START_TEST(victims_on_one_node)
{
    RUN(victims);
}
END_TEST

static const struct pcase pick[] = {
    {"the node whose most important victim has the lowest priority",
     {NODE("n1"), NODE("n2")},
     {BOUND("a", "n1", "5", "4", "01"), BOUND("b", "n2", "3", "4", "01")},
     PREEMPTOR("10", "2", ""),
     "n2: b"},
    {"then the smallest sum of victim priorities",
     {NODE("n1"), NODE("n2")},
     {BOUND("a1", "n1", "2", "2", "01"), BOUND("a2", "n1", "2", "2", "01"),
      BOUND("b1", "n2", "2", "2", "01"), BOUND("b2", "n2", "1", "2", "01")},
     PREEMPTOR("10", "4", ""),
     "n2: b1 b2"},
    {"then the fewest victims (sums equal: the lowest int32 adds nothing)",
     {NODE("n1"), NODE("n2")},
     {BOUND("b1", "n2", "0", "2", "01"), BOUND("b2", "n2", "-2147483648", "2", "01"),
      BOUND("a", "n1", "0", "4", "01")},
     PREEMPTOR("10", "4", ""),
     "n1: a"},
    {"then the latest start of the most important victims",
     {NODE("n1"), NODE("n2"), NODE("n3")},
     {BOUND("a", "n1", "1", "4", "01"), BOUND("b", "n2", "1", "4", "03"),
      BOUND("c", "n3", "1", "4", "02")},
     PREEMPTOR("10", "2", ""),
     "n2: b"},
    {"status.startTime counts before creationTimestamp",
     {NODE("n1"), NODE("n2")},
     {"{'metadata':{'name':'a','creationTimestamp':'2026-11-26T01:00:00Z'},'status':{"
      "'startTime':'2026-11-26T05:00:00Z'},'spec':{'nodeName':'n1','priority':1,'containers':[{"
      "'name':'c','resources':{'requests':{'cpu':'4'}}}]}}",
      BOUND("b", "n2", "1", "4", "03")},
     PREEMPTOR("10", "2", ""),
     "n1: a"},
    {"one big victim beats two small ones of the same priority (a smaller sum)",
     {NODE("n1"), NODE("n2")},
     {BOUND("a1", "n1", "1", "2", "01"), BOUND("a2", "n1", "1", "2", "01"),
      BOUND("b1", "n2", "1", "3", "01"), BOUND("b2", "n2", "1", "1", "01")},
     PREEMPTOR("10", "3", ""),
     "n2: b1"},
};

START_TEST(node_choice)
{
    RUN(pick);
}
END_TEST

static const struct pcase which_nodes[] = {
    {"tainted, cordoned and unmatched nodes are no candidates",
     {"{'metadata':{'name':'n1'},'spec':{'taints':[{'key':'k','value':'v','effect':'NoSchedule'}]}"
      "}",
      "{'metadata':{'name':'n2'},'spec':{'unschedulable':true}}",
      "{'metadata':{'name':'n3','labels':{'disk':'hdd'}}}"},
     {BOUND("a", "n1", "1", "4", "01"), BOUND("b", "n2", "1", "4", "01"),
      BOUND("c", "n3", "1", "4", "01")},
     PREEMPTOR("10", "1", "'nodeSelector':{'disk':'ssd'},"),
     "none"},
    {"a not-ready node is no candidate",
     {"{'metadata':{'name':'n1'},'status':{'conditions':[{'type':'Ready','status':'False'}]}}",
      NODE("n2")},
     {BOUND("a", "n1", "1", "4", "01"), BOUND("b", "n2", "5", "4", "01")},
     PREEMPTOR("10", "1", ""),
     "n2: b"},
    {"a host port in use is freed by its pod",
     {NODE("n1")},
     {"{'metadata':{'name':'web'},'spec':{'nodeName':'n1','priority':1,'containers':[{'name':'c',"
      "'ports':[{'containerPort':80,'hostPort':8080}]}]}}",
      BOUND("other", "n1", "1", "1", "01")},
     "{'metadata':{'name':'hi'},'spec':{'priority':10,'containers':[{'name':'c','resources':{"
     "'requests':{'cpu':'1'}},'ports':[{'containerPort':80,'hostPort':8080}]}]}}",
     "n1: web"},
    {"the pod count limit",
     {"{'metadata':{'name':'n1'},'status':{'allocatable':{'cpu':'4','memory':'8Gi','pods':'2'}}}"},
     {BOUND("a", "n1", "1", "100m", "01"), BOUND("b", "n1", "2", "100m", "02")},
     PREEMPTOR("10", "100m", ""),
     "n1: a"},
    {"an existing pod's anti-affinity is lifted by evicting it",
     {NODE("n1")},
     {"{'metadata':{'name':'loner','creationTimestamp':'2026-11-26T01:00:00Z'},'spec':{'nodeName':"
      "'n1','priority':1,'affinity':{'podAntiAffinity':{"
      "'requiredDuringSchedulingIgnoredDuringExecution':[{'labelSelector':{'matchLabels':{'app':"
      "'web'}},'topologyKey':'kubernetes.io/hostname'}]}},'containers':[{'name':'c'}]}}",
      BOUND("other", "n1", "1", "1", "01")},
     PREEMPTOR("10", "1", ""),
     "n1: loner"},
    {"the preemptor's own anti-affinity is satisfied by evicting the pod it refuses",
     {NODE("n1")},
     {"{'metadata':{'name':'db','labels':{'app':'db'}},'spec':{'nodeName':'n1','priority':1,"
      "'containers':[{'name':'c'}]}}",
      BOUND("other", "n1", "1", "1", "01")},
     PREEMPTOR("10", "1",
               "'affinity':{'podAntiAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':[{"
               "'labelSelector':{'matchLabels':{'app':'db'}},'topologyKey':'kubernetes.io/"
               "hostname'}]}},"),
     "n1: db"},
    {"anti-affinity of a higher-priority pod cannot be lifted",
     {NODE("n1")},
     {"{'metadata':{'name':'loner'},'spec':{'nodeName':'n1','priority':50,'affinity':{"
      "'podAntiAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':[{'labelSelector':{"
      "'matchLabels':{'app':'web'}},'topologyKey':'kubernetes.io/hostname'}]}},'containers':[{"
      "'name':'c'}]}}"},
     PREEMPTOR("10", "1", ""),
     "none"},
};

START_TEST(candidate_nodes)
{
    RUN(which_nodes);
}
END_TEST

/* A nominated preemptor whose victims are still terminating does not
 * preempt again; elsewhere, or without a nomination, it may. */
START_TEST(terminating_victims_make_a_nominated_pod_wait)
{
    static const char *const nodes[] = {NODE("n1"), NODE("n2")};
    static const char *const bound[] = {
        "{'metadata':{'name':'going','deletionTimestamp':'2026-11-26T01:00:00Z'},'spec':{"
        "'nodeName':'n1','priority':1,'containers':[{'name':'c','resources':{'requests':{'cpu':"
        "'4'}}}]}}",
        BOUND("b", "n2", "1", "4", "01")};
    struct sched_cache *cache = mk_cache(nodes, 2, bound, 2, "terminating");
    json_t *pod = J(PREEMPTOR("10", "2", "")), *never;
    struct sched_preemption pre;

    sched_preemption_init(&pre);
    ck_assert(!sched_preempt_eligible(cache, pod, "n1"));
    ck_assert_int_eq(sched_preempt(cache, pod, "n1", &pre, NULL), 1);
    ck_assert(sched_preempt_eligible(cache, pod, "n2"));
    ck_assert(sched_preempt_eligible(cache, pod, NULL));
    ck_assert(sched_preempt_eligible(cache, pod, "gone"));
    ck_assert_int_eq(sched_preempt(cache, pod, NULL, &pre, NULL), 0);
    /* A terminating victim is still a victim (its room counts), marked
     * so that it is not deleted twice; n1 wins on the latest start (a
     * pod without a time counts as just started). */
    ck_assert_str_eq(pre.node, "n1");
    ck_assert_uint_eq(pre.nvictims, 1);
    ck_assert(pre.victims[0].terminating);
    ck_assert_int_eq(pre.victims[0].priority, 1);
    never = J(PREEMPTOR("10", "2", "'preemptionPolicy':'Never',"));
    ck_assert(!sched_preempt_eligible(cache, never, NULL));
    sched_preemption_release(&pre);
    json_decref(never);
    json_decref(pod);
    sched_cache_free(cache);
}
END_TEST

START_TEST(malformed_preemptor_is_rejected)
{
    static const char *const nodes[] = {NODE("n1")};
    struct sched_cache *cache = mk_cache(nodes, 1, NULL, 0, "malformed");
    json_t *pod = J("{'metadata':{'name':'x'},'spec':{'priority':'high'}}");
    struct sched_preemption pre;
    struct sk_err err;

    sk_err_init(&err);
    sched_preemption_init(&pre);
    ck_assert_int_eq(sched_preempt(cache, pod, NULL, &pre, &err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "spec.priority"));
    ck_assert(!sched_preempt_eligible(cache, pod, NULL));
    sched_preemption_release(&pre);
    json_decref(pod);
    sched_cache_free(cache);
}
END_TEST

/* ---- random clusters: the properties every answer must have ---- */

#define RN 4 /* nodes */
#define RP 6 /* pods per node at most */

struct rpod {
    char name[16];
    int64_t cpu; /* milli */
    int64_t prio;
};

struct rnode {
    int64_t cpu, pods;
    struct rpod p[RP];
    size_t n;
};

static uint64_t
rnd(uint64_t *s, uint64_t below)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s % below;
}

/* Whether a pod of cpu fits on node with the pods not in gone. */
static bool
rfits(const struct rnode *nd, int64_t cpu, const bool *gone)
{
    int64_t used = 0, count = 0;

    for (size_t i = 0; i < nd->n; i++) {
        if (gone[i])
            continue;
        used += nd->p[i].cpu;
        count++;
    }
    return count + 1 <= nd->pods && used + cpu <= nd->cpu;
}

static struct sched_cache *
rcluster(uint64_t *seed, struct rnode *nodes)
{
    static const int64_t sizes[] = {0, 500, 1000, 2000};
    struct sched_cache *cache = sched_cache_new(0);
    char buf[512];

    for (size_t k = 0; k < RN; k++) {
        struct rnode *nd = &nodes[k];
        json_t *obj;

        nd->cpu = rnd(seed, 2) ? 4000 : 2000;
        nd->pods = 3 + (int64_t)rnd(seed, 4);
        nd->n = 0;
        snprintf(buf, sizeof(buf),
                 "{'metadata':{'name':'n%zu'},'status':{'allocatable':{'cpu':'%lldm',"
                 "'memory':'8Gi','pods':'%lld'}}}",
                 k, (long long)nd->cpu, (long long)nd->pods);
        obj = mk_node(buf);
        ck_assert_int_eq(sched_cache_node_set(cache, obj, NULL), 0);
        json_decref(obj);
        for (size_t i = 0, want = rnd(seed, RP + 1); i < want; i++) {
            struct rpod *p = &nd->p[nd->n];
            bool none[RP] = {0};

            p->cpu = sizes[rnd(seed, 4)];
            p->prio = (int64_t)rnd(seed, 4);
            if (!rfits(nd, p->cpu, none))
                break;
            snprintf(p->name, sizeof(p->name), "p%zu-%zu", k, i);
            snprintf(buf, sizeof(buf),
                     "{'metadata':{'name':'%s','creationTimestamp':'2026-11-26T%02d:00:00Z'},"
                     "'spec':{'nodeName':'n%zu','priority':%lld,'containers':[{'name':'c',"
                     "'resources':{'requests':{'cpu':'%lldm'}}}]}}",
                     p->name, (int)rnd(seed, 24), k, (long long)p->prio, (long long)p->cpu);
            obj = J(buf);
            ck_assert_int_eq(sched_cache_pod_set(cache, obj, NULL), 0);
            json_decref(obj);
            nd->n++;
        }
    }
    return cache;
}

/* The answer's victims as flags over the chosen node's pods. */
static const struct rnode *
rvictims(const struct rnode *nodes, const struct sched_preemption *pre, int64_t prio, bool *gone)
{
    const struct rnode *nd = &nodes[pre->node[1] - '0'];

    memset(gone, 0, RP * sizeof(*gone));
    for (size_t v = 0; v < pre->nvictims; v++) {
        size_t i = 0;

        while (i < nd->n && strcmp(nd->p[i].name, pre->victims[v].name) != 0)
            i++;
        ck_assert_msg(i < nd->n, "victim %s is not on %s", pre->victims[v].name, pre->node);
        ck_assert_int_lt(nd->p[i].prio, prio);
        gone[i] = true;
    }
    return nd;
}

static void
rcheck(const struct rnode *nodes, const struct sched_preemption *pre, int rc, int64_t cpu,
       int64_t prio)
{
    bool gone[RP];

    if (rc == 1) {
        /* No node where evicting every lower pod would do. */
        for (size_t k = 0; k < RN; k++) {
            for (size_t i = 0; i < nodes[k].n; i++)
                gone[i] = nodes[k].p[i].prio < prio;
            ck_assert_msg(!rfits(&nodes[k], cpu, gone), "n%zu would do", k);
        }
        return;
    }
    const struct rnode *nd = rvictims(nodes, pre, prio, gone);

    ck_assert_msg(rfits(nd, cpu, gone), "the victims on %s do not make room", pre->node);
    /* Reprieve is greedy: sparing any one victim more breaks the fit. */
    for (size_t i = 0; i < nd->n; i++) {
        if (!gone[i])
            continue;
        gone[i] = false;
        ck_assert_msg(!rfits(nd, cpu, gone), "%s need not go", nd->p[i].name);
        gone[i] = true;
    }
}

static bool
fits_anywhere(const struct rnode *nodes, int64_t cpu)
{
    bool none[RP] = {0};

    for (size_t k = 0; k < RN; k++) {
        if (rfits(&nodes[k], cpu, none))
            return true;
    }
    return false;
}

START_TEST(random_clusters_keep_the_properties)
{
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    size_t preempted = 0, refused = 0;

    for (int round = 0; round < 1500; round++) {
        struct rnode nodes[RN];
        struct sched_cache *cache = rcluster(&seed, nodes);
        int64_t cpu = 500 * (1 + (int64_t)rnd(&seed, 8)), prio = (int64_t)rnd(&seed, 5);
        struct sk_buf before, after;
        struct sched_preemption pre;
        char buf[512];
        json_t *pod;
        int rc;

        if (fits_anywhere(nodes, cpu)) {
            sched_cache_free(cache);
            continue; /* preemption is for pods that fit nowhere */
        }
        snprintf(buf, sizeof(buf), PENDING("hi", "%lld", "%lldm"), (long long)prio, (long long)cpu);
        pod = J(buf);
        sk_buf_init(&before);
        sk_buf_init(&after);
        sched_preemption_init(&pre);
        snapshot(cache, (const char *const[]){NODE("n0"), NODE("n1"), NODE("n2"), NODE("n3")}, RN,
                 &before);
        rc = sched_preempt(cache, pod, NULL, &pre, NULL);
        ck_assert_int_ge(rc, 0);
        snapshot(cache, (const char *const[]){NODE("n0"), NODE("n1"), NODE("n2"), NODE("n3")}, RN,
                 &after);
        ck_assert_str_eq(STR(before), STR(after));
        rcheck(nodes, &pre, rc, cpu, prio);
        preempted += rc == 0;
        refused += rc == 1;
        sched_preemption_release(&pre);
        sk_buf_release(&before);
        sk_buf_release(&after);
        json_decref(pod);
        sched_cache_free(cache);
    }
    /* The generator reaches both outcomes. */
    ck_assert_uint_gt(preempted, 40);
    ck_assert_uint_gt(refused, 40);
}
END_TEST

/* ---- the nominator ---- */

static int
try_pod(struct sched_cache *cache, struct sched_nominator *nom, const char *text)
{
    struct sched_result res;
    struct sched_rng rng;
    json_t *pod = J(text);
    int rc;

    sched_rng_seed(&rng, 1);
    sched_result_init(&res);
    sched_nominator_hold(nom, cache, pod);
    rc = sched_schedule_one(cache, pod, &rng, &res, NULL);
    sched_nominator_unhold(nom, cache);
    sched_result_release(&res);
    json_decref(pod);
    return rc;
}

START_TEST(nominated_room_is_held_against_lower_priority)
{
    static const char *const nodes[] = {NODE("n1")};
    struct sched_cache *cache = mk_cache(nodes, 1, NULL, 0, "hold");
    struct sched_nominator *nom = sched_nominator_new();
    json_t *p = J(PENDING("pre", "10", "3"));
    const struct sched_node_info *ni;

    ck_assert_int_eq(sched_nominator_set(nom, p, "n1", NULL), 0);
    ck_assert_uint_eq(sched_nominator_len(nom), 1);
    ck_assert_str_eq(sched_nominator_node(nom, "default", "pre"), "n1");
    ck_assert_int_eq(try_pod(cache, nom, PENDING("low", "1", "2")), 1);
    ck_assert_int_eq(try_pod(cache, nom, PENDING("peer", "10", "2")), 1);
    ck_assert_int_eq(try_pod(cache, nom, PENDING("vip", "20", "2")), 0);
    ck_assert_int_eq(try_pod(cache, nom, PENDING("pre", "10", "3")), 0);
    ck_assert_int_eq(try_pod(cache, nom, PENDING("tiny", "1", "1")), 0);
    /* Nothing stays behind. */
    ni = sched_cache_node(cache, "n1");
    ck_assert_uint_eq(sched_node_pod_count(ni), 0);
    ck_assert_int_eq(sched_cache_pod_state(cache, "default", "pre"), 0);
    /* Gone nomination: the room is free again. */
    ck_assert_int_eq(sched_nominator_remove(nom, "default", "pre"), 0);
    ck_assert_int_eq(sched_nominator_remove(nom, "default", "pre"), -ENOENT);
    ck_assert_int_eq(try_pod(cache, nom, PENDING("low", "1", "2")), 0);
    json_decref(p);
    sched_nominator_free(nom);
    sched_cache_free(cache);
}
END_TEST

/* A held nominated pod is assumed: never a victim of a preemptor of
 * lower priority, and its room is not handed out by preemption either. */
START_TEST(nominated_pods_are_not_victims)
{
    static const char *const nodes[] = {NODE("n1")};
    static const char *const bound[] = {BOUND("a", "n1", "1", "2", "01")};
    struct sched_cache *cache = mk_cache(nodes, 1, bound, 1, "held victims");
    struct sched_nominator *nom = sched_nominator_new();
    json_t *p = J(PENDING("pre", "30", "2")), *mid = J(PENDING("mid", "20", "3"));
    struct sched_preemption pre;

    sched_preemption_init(&pre);
    ck_assert_int_eq(sched_nominator_set(nom, p, "n1", NULL), 0);
    ck_assert_uint_eq(sched_nominator_hold(nom, cache, mid), 1);
    ck_assert_int_eq(sched_preempt(cache, mid, NULL, &pre, NULL), 1);
    sched_nominator_unhold(nom, cache);
    ck_assert_int_eq(sched_preempt(cache, mid, NULL, &pre, NULL), 0);
    ck_assert_uint_eq(pre.nvictims, 1);
    ck_assert_str_eq(pre.victims[0].name, "a");
    sched_preemption_release(&pre);
    json_decref(p);
    json_decref(mid);
    sched_nominator_free(nom);
    sched_cache_free(cache);
}
END_TEST

static const json_t *
latest(void *ctx, const char *ns, const char *name)
{
    json_t *pods = ctx;

    (void)ns;
    return json_object_get(pods, name);
}

START_TEST(prune_drops_gone_pods_and_takes_new_objects)
{
    static const char *const nodes[] = {NODE("n1")};
    struct sched_cache *cache = mk_cache(nodes, 1, NULL, 0, "prune");
    struct sched_nominator *nom = sched_nominator_new();
    json_t *a = J(PENDING("a", "10", "3")), *b = J(PENDING("b", "10", "3"));
    json_t *pods = json_object();

    ck_assert_int_eq(sched_nominator_set(nom, a, "n1", NULL), 0);
    ck_assert_int_eq(sched_nominator_set(nom, b, "n1", NULL), 0);
    /* a now has priority 0: no longer held against priority 5. */
    json_object_set_new(pods, "a", J(PENDING("a", "0", "3")));
    ck_assert_uint_eq(sched_nominator_prune(nom, latest, pods), 1);
    ck_assert_uint_eq(sched_nominator_len(nom), 1);
    ck_assert_ptr_null(sched_nominator_node(nom, "default", "b"));
    ck_assert_int_eq(try_pod(cache, nom, PENDING("five", "5", "2")), 0);
    ck_assert_uint_eq(sched_nominator_prune(nom, latest, pods), 0);
    json_object_clear(pods);
    ck_assert_uint_eq(sched_nominator_prune(nom, latest, pods), 1);
    ck_assert_uint_eq(sched_nominator_len(nom), 0);
    json_decref(pods);
    json_decref(a);
    json_decref(b);
    sched_nominator_free(nom);
    sched_cache_free(cache);
}
END_TEST

static void
count_cleared(void *ctx, const json_t *pod)
{
    json_t *names = ctx;

    json_array_append(names, json_object_get(json_object_get(pod, "metadata"), "name"));
}

START_TEST(preempting_clears_lower_nominations_to_the_node)
{
    struct sched_nominator *nom = sched_nominator_new();
    json_t *a = J(PENDING("a", "5", "1")), *b = J(PENDING("b", "20", "1"));
    json_t *c = J(PENDING("c", "5", "1")), *d = J(PENDING("d", "10", "1"));
    json_t *names = json_array();

    ck_assert_int_eq(sched_nominator_set(nom, a, "n1", NULL), 0);
    ck_assert_int_eq(sched_nominator_set(nom, b, "n1", NULL), 0);
    ck_assert_int_eq(sched_nominator_set(nom, c, "n2", NULL), 0);
    ck_assert_int_eq(sched_nominator_set(nom, d, "n1", NULL), 0);
    ck_assert_uint_eq(sched_nominator_clear_lower(nom, "n1", 10, count_cleared, names), 1);
    ck_assert_uint_eq(json_array_size(names), 1);
    ck_assert_str_eq(json_string_value(json_array_get(names, 0)), "a");
    ck_assert_ptr_null(sched_nominator_node(nom, "default", "a"));
    ck_assert_str_eq(sched_nominator_node(nom, "default", "b"), "n1");
    ck_assert_str_eq(sched_nominator_node(nom, "default", "c"), "n2");
    ck_assert_str_eq(sched_nominator_node(nom, "default", "d"), "n1");
    ck_assert_uint_eq(sched_nominator_clear_lower(nom, "n3", 100, NULL, NULL), 0);
    ck_assert_uint_eq(sched_nominator_clear_lower(nom, "n1", 100, NULL, NULL), 2);
    ck_assert_uint_eq(sched_nominator_len(nom), 1);
    json_decref(names);
    json_decref(a);
    json_decref(b);
    json_decref(c);
    json_decref(d);
    sched_nominator_free(nom);
}
END_TEST

START_TEST(nominator_rejects_malformed_pods_and_unknown_nodes)
{
    static const char *const nodes[] = {NODE("n1")};
    struct sched_cache *cache = mk_cache(nodes, 1, NULL, 0, "malformed nominator");
    struct sched_nominator *nom = sched_nominator_new();
    json_t *noname = J("{'metadata':{},'spec':{}}");
    json_t *badprio = J("{'metadata':{'name':'x'},'spec':{'priority':[]}}");
    json_t *elsewhere = J(PENDING("e", "10", "3"));
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_eq(sched_nominator_set(nom, noname, "n1", &err), -EINVAL);
    ck_assert_int_eq(err.code, EINVAL);
    ck_assert_int_eq(sched_nominator_set(nom, badprio, "n1", &err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "spec.priority"));
    ck_assert_uint_eq(sched_nominator_len(nom), 0);
    /* A nomination to a node the cache does not know holds nothing. */
    ck_assert_int_eq(sched_nominator_set(nom, elsewhere, "gone", NULL), 0);
    ck_assert_int_eq(try_pod(cache, nom, PENDING("low", "1", "4")), 0);
    /* Setting again replaces. */
    ck_assert_int_eq(sched_nominator_set(nom, elsewhere, "n1", NULL), 0);
    ck_assert_uint_eq(sched_nominator_len(nom), 1);
    ck_assert_int_eq(try_pod(cache, nom, PENDING("low", "1", "4")), 1);
    json_decref(noname);
    json_decref(badprio);
    json_decref(elsewhere);
    sched_nominator_free(nom);
    sched_cache_free(cache);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("sched_preempt");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, victims_on_one_node);
    tcase_add_test(tc, node_choice);
    tcase_add_test(tc, candidate_nodes);
    tcase_add_test(tc, terminating_victims_make_a_nominated_pod_wait);
    tcase_add_test(tc, malformed_preemptor_is_rejected);
    tcase_add_test(tc, random_clusters_keep_the_properties);
    tcase_add_test(tc, nominated_room_is_held_against_lower_priority);
    tcase_add_test(tc, nominated_pods_are_not_victims);
    tcase_add_test(tc, prune_drops_gone_pods_and_takes_new_objects);
    tcase_add_test(tc, nominator_rejects_malformed_pods_and_unknown_nodes);
    tcase_add_test(tc, preempting_clears_lower_nominations_to_the_node);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
