/* One scheduling attempt: filter the nodes, score the feasible ones,
 * pick the best (kube-scheduler's schedulePod without extenders;
 * preemption, when nothing fits, is preempt.c). The pod is parsed once
 * and the per-attempt state of inter-pod affinity and topology spread is
 * computed once, over every node and pod, so the per-node work is a
 * handful of comparisons and map lookups.
 *
 * Node sampling, as kube-scheduler's findNodesThatPassFilters: in a
 * large cluster the filters stop once sched_nodes_to_find nodes passed
 * (10% at 5,000 nodes), starting from a node drawn at random so that
 * successive pods look at different parts of the cluster (kube-scheduler
 * rotates a start index; a draw keeps the cache const). A pod that fits
 * nowhere still has every node filtered, so its message counts all. */
#include "lib/alloc.h"
#include "sched/sched_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const int sched_score_default_weights[SCHED_SCORE_COUNT] = {1, 1, 2, 2, 2, 3};

void
sched_result_init(struct sched_result *res)
{
    memset(res, 0, sizeof(*res));
}

void
sched_result_release(struct sched_result *res)
{
    int want = res->want_scores;

    free(res->message);
    free(res->scores);
    sched_result_init(res);
    res->want_scores = want;
}

struct attempt {
    const struct sched_pod *pod;
    struct sched_interpod interpod;
    struct sched_spread_state spread;
    struct sched_explain *ex;
    unsigned failed;
};

/* Record why the node failed; returns false for the caller to pass on. */
static bool
reject(struct attempt *a, unsigned plugin, const char *reason)
{
    a->failed |= plugin;
    if (!a->ex)
        a->ex = sched_explain_new();
    sched_explain_add(a->ex, reason);
    return false;
}

/* Kubernetes' default filter order; the first plugin that fails names
 * the node's reasons. Returns true when the node passes. */
static bool
filter_node(struct attempt *a, const struct sched_node_info *ni)
{
    const struct sched_pod *pod = a->pod;
    const char *why, *many[4];
    char buf[600];
    size_t n;

    if ((why = sched_filter_unschedulable(pod, ni)))
        return reject(a, SCHED_PLUGIN_NODE_UNSCHEDULABLE, why);
    if ((why = sched_filter_ready(pod, ni)))
        return reject(a, SCHED_PLUGIN_NODE_READY, why);
    if ((why = sched_filter_node_name(pod, ni)))
        return reject(a, SCHED_PLUGIN_NODE_NAME, why);
    if ((why = sched_filter_taints(pod, ni, buf, sizeof(buf))))
        return reject(a, SCHED_PLUGIN_TAINT_TOLERATION, why);
    if ((why = sched_filter_node_affinity(pod, ni)))
        return reject(a, SCHED_PLUGIN_NODE_AFFINITY, why);
    if (pod->nports && (why = sched_filter_ports(pod, ni)))
        return reject(a, SCHED_PLUGIN_NODE_PORTS, why);
    if ((n = sched_filter_resources(pod, ni, many)) > 0) {
        for (size_t i = 1; i < n; i++)
            reject(a, SCHED_PLUGIN_NODE_RESOURCES_FIT, many[i]);
        return reject(a, SCHED_PLUGIN_NODE_RESOURCES_FIT, many[0]);
    }
    if (a->spread.n && (why = sched_filter_spread(&a->spread, pod, ni)))
        return reject(a, SCHED_PLUGIN_POD_TOPOLOGY_SPREAD, why);
    if ((why = sched_filter_interpod(&a->interpod, pod, ni)))
        return reject(a, SCHED_PLUGIN_INTER_POD_AFFINITY, why);
    return true;
}

static bool
has_schedule_anyway(const struct sched_pod *pod)
{
    for (size_t i = 0; i < pod->nspread; i++) {
        if (!pod->spread[i].do_not_schedule)
            return true;
    }
    return false;
}

/* Every plugin's normalized scores for the feasible nodes, into
 * sc[plugin][node]. */
static void
score_nodes(struct attempt *a, const struct sched_cache *cache, struct sched_node_info **feas,
            size_t n, int64_t *sc[SCHED_SCORE_COUNT])
{
    const struct sched_pod *pod = a->pod;

    sched_interpod_prepare_score(&a->interpod, cache, pod);
    for (size_t i = 0; i < n; i++) {
        sc[SCHED_SCORE_LEAST_ALLOCATED][i] = sched_score_least_allocated(pod, feas[i]);
        sc[SCHED_SCORE_BALANCED_ALLOCATION][i] = sched_score_balanced(pod, feas[i]);
        sc[SCHED_SCORE_NODE_AFFINITY][i] = sched_score_node_affinity(pod, feas[i]);
        sc[SCHED_SCORE_INTER_POD_AFFINITY][i] = sched_score_interpod(&a->interpod, feas[i]);
        sc[SCHED_SCORE_TAINT_TOLERATION][i] = sched_score_taints(pod, feas[i]);
        sc[SCHED_SCORE_TOPOLOGY_SPREAD][i] = 0;
    }
    sched_normalize_default(sc[SCHED_SCORE_NODE_AFFINITY], n, false);
    sched_normalize_minmax(sc[SCHED_SCORE_INTER_POD_AFFINITY], n);
    sched_normalize_default(sc[SCHED_SCORE_TAINT_TOLERATION], n, true);
    if (has_schedule_anyway(pod)) {
        struct sched_spread_state st;

        sched_spread_prepare_score(&st, cache, pod, feas, n);
        sched_spread_score(&st, pod, feas, n, sc[SCHED_SCORE_TOPOLOGY_SPREAD]);
        sched_normalize_spread(sc[SCHED_SCORE_TOPOLOGY_SPREAD], n);
        sched_spread_release(&st);
    }
}

/* The highest total wins; among equal ones each is equally likely
 * (reservoir sampling, as kube-scheduler's selectHost). */
static size_t
pick(const int64_t *total, size_t n, struct sched_rng *rng)
{
    size_t best = 0, ties = 1;

    for (size_t i = 1; i < n; i++) {
        if (total[i] > total[best]) {
            best = i;
            ties = 1;
        } else if (total[i] == total[best] && sched_rng_below(rng, ++ties) == 0) {
            best = i;
        }
    }
    return best;
}

static void
choose(struct attempt *a, const struct sched_cache *cache, const int *w,
       struct sched_node_info **feas, size_t n, struct sched_rng *rng, struct sched_result *res)
{
    /* score_nodes sets every score: only the totals start at zero. */
    int64_t *buf = sk_reallocarray(NULL, (SCHED_SCORE_COUNT + 1) * n, sizeof(*buf));
    int64_t *sc[SCHED_SCORE_COUNT], *total = buf + SCHED_SCORE_COUNT * n;

    memset(total, 0, n * sizeof(*total));
    for (size_t p = 0; p < SCHED_SCORE_COUNT; p++)
        sc[p] = buf + p * n;
    score_nodes(a, cache, feas, n, sc);
    for (size_t i = 0; i < n; i++) {
        for (size_t p = 0; p < SCHED_SCORE_COUNT; p++)
            total[i] += w[p] * sc[p][i];
    }
    res->node = feas[pick(total, n, rng)]->name;
    if (res->want_scores) {
        res->scores = sk_calloc(n, sizeof(*res->scores));
        for (size_t i = 0; i < n; i++) {
            res->scores[i].node = feas[i]->name;
            for (size_t p = 0; p < SCHED_SCORE_COUNT; p++)
                res->scores[i].scores[p] = sc[p][i];
            res->scores[i].total = total[i];
        }
    }
    free(buf);
}

/* kube-scheduler's minFeasibleNodesToFind and
 * minFeasibleNodesPercentageToFind. */
#define MIN_FEASIBLE         100
#define MIN_FEASIBLE_PERCENT 5

size_t
sched_nodes_to_find(unsigned percentage, size_t nodes)
{
    size_t want;

    if (nodes < MIN_FEASIBLE || percentage >= 100)
        return nodes;
    if (percentage == 0) {
        percentage = nodes / 125 >= 50 - MIN_FEASIBLE_PERCENT ? MIN_FEASIBLE_PERCENT
                                                              : 50 - (unsigned)(nodes / 125);
    }
    want = nodes * percentage / 100;
    return want < MIN_FEASIBLE ? MIN_FEASIBLE : want;
}

/* The node infos are separate allocations all over the heap: at 5,000
 * nodes the filter loop spent most of its time waiting for the first
 * touch of each one (a cache miss per node, 500 per pod). Asking for
 * the node PREFETCH_AHEAD places further on overlaps those misses; the
 * filters read its first cache lines (flags, taints, allocatable,
 * requested). The prefetch is written in the loop itself: GCC 12 finds
 * a helper holding only __builtin_prefetch pure and deletes the call. */
#define PREFETCH_AHEAD 12

int
sched_schedule_parsed(const struct sched_cache *cache, const struct sched_pod *pod,
                      const struct sched_config *cfg, struct sched_rng *rng,
                      struct sched_result *res, struct sk_err *err)
{
    const int *w = cfg ? cfg->weights : sched_score_default_weights;
    size_t want = sched_nodes_to_find(cfg ? cfg->percentage_of_nodes_to_score : 0, cache->nnodes);
    /* The loop stops at want feasible nodes; not zeroed, only feas[0..n) is read. */
    struct sched_node_info **feas = sk_reallocarray(NULL, want + 1, sizeof(*feas));
    struct attempt a = {.pod = pod};
    size_t n = 0, start = 0, j;

    sched_result_release(res);
    sched_interpod_prepare(&a.interpod, cache, pod);
    sched_spread_prepare(&a.spread, cache, pod, true);
    if (want < cache->nnodes)
        start = (size_t)sched_rng_below(rng, cache->nnodes);
    j = cache->nnodes ? (start + PREFETCH_AHEAD) % cache->nnodes : 0;
    for (size_t k = 0, i = start; k < cache->nnodes && n < want; k++) {
        struct sched_node_info *ni = cache->nodes[i];
        const struct sched_node_info *ahead = cache->nodes[j];

        __builtin_prefetch(ahead);
        __builtin_prefetch(&ahead->requested);
        if (++i == cache->nnodes)
            i = 0;
        if (++j == cache->nnodes)
            j = 0;
        if (!ni->obj)
            continue;
        res->nodes++;
        if (filter_node(&a, ni))
            feas[n++] = ni;
    }
    res->feasible = n;
    res->failed = a.failed;
    if (n == 0)
        res->message = sched_explain_message(a.ex, res->nodes);
    else if (n == 1 && !res->want_scores)
        res->node = feas[0]->name; /* nothing to compare, as kube-scheduler */
    else
        choose(&a, cache, w, feas, n, rng, res);
    sched_explain_free(a.ex);
    sched_spread_release(&a.spread);
    sched_interpod_release(&a.interpod);
    free(feas);
    return n == 0 ? 1 : 0;
}

bool
sched_fits_node(const struct sched_cache *cache, const struct sched_pod *pod,
                const struct sched_node_info *ni)
{
    struct attempt a = {.pod = pod};
    bool ok;

    sched_interpod_prepare(&a.interpod, cache, pod);
    sched_spread_prepare(&a.spread, cache, pod, true);
    ok = ni->obj && filter_node(&a, ni);
    sched_explain_free(a.ex);
    sched_spread_release(&a.spread);
    sched_interpod_release(&a.interpod);
    return ok;
}

int
sched_schedule_one(const struct sched_cache *cache, const json_t *obj, struct sched_rng *rng,
                   struct sched_result *res, struct sk_err *err)
{
    struct sched_pod *pod;
    int rc;

    if (sched_pod_parse(obj, &pod, err) < 0)
        return -EINVAL;
    rc = sched_schedule_parsed(cache, pod, NULL, rng, res, err);
    sched_pod_free(pod);
    return rc;
}
