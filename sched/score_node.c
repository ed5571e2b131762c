/* The scores that look only at the pod and one node, and the
 * normalizations of the Kubernetes score plugins (each plugin's scores
 * end up in 0..100 before they are weighted). */
#include "sched/sched_int.h"

#include <math.h>
#include <string.h>

#define MAX_SCORE 100

static int64_t
least_requested(int64_t requested, int64_t capacity)
{
    if (capacity <= 0 || requested > capacity)
        return 0;
    return (capacity - requested) * MAX_SCORE / capacity;
}

/* NodeResourcesFit, strategy LeastAllocated, cpu and memory weighted 1
 * each, on the requests with the non-zero defaults (so pods that
 * request nothing still spread). */
int64_t
sched_score_least_allocated(const struct sched_pod *pod, const struct sched_node_info *ni)
{
    int64_t cpu =
        least_requested(ni->nonzero.milli_cpu + pod->nonzero.milli_cpu, ni->alloc.milli_cpu);
    int64_t mem = least_requested(ni->nonzero.memory + pod->nonzero.memory, ni->alloc.memory);

    return (cpu + mem) / 2;
}

/* NodeResourcesBalancedAllocation: 100 * (1 - standard deviation of the
 * cpu and memory fractions), on the plain requests. */
int64_t
sched_score_balanced(const struct sched_pod *pod, const struct sched_node_info *ni)
{
    double f[2];
    size_t n = 0;
    int64_t req[2] = {ni->requested.milli_cpu + pod->req.milli_cpu,
                      ni->requested.memory + pod->req.memory};
    int64_t cap[2] = {ni->alloc.milli_cpu, ni->alloc.memory};
    double sd = 0;

    for (size_t i = 0; i < 2; i++) {
        if (cap[i] <= 0)
            continue;
        f[n] = (double)req[i] / (double)cap[i];
        if (f[n] > 1)
            f[n] = 1;
        n++;
    }
    if (n == 2)
        sd = fabs((f[0] - f[1]) / 2);
    return (int64_t)((1 - sd) * MAX_SCORE);
}

/* NodeAffinity: the weights of the preferred terms the node matches. */
int64_t
sched_score_node_affinity(const struct sched_pod *pod, const struct sched_node_info *ni)
{
    int64_t s = 0;

    for (size_t i = 0; i < pod->npreferred; i++) {
        if (sched_node_term_match(&pod->preferred[i], ni))
            s += pod->preferred_weights[i];
    }
    return s;
}

/* TaintToleration: PreferNoSchedule taints the pod does not tolerate
 * (with a PreferNoSchedule or any-effect toleration). */
int64_t
sched_score_taints(const struct sched_pod *pod, const struct sched_node_info *ni)
{
    int64_t n = 0;

    for (size_t i = 0; i < ni->ntaints; i++) {
        const struct sched_taint *t = &ni->taints[i];

        if (t->effect == SCHED_EFFECT_PREFER_NO_SCHEDULE &&
            !sched_tolerates(pod->tols, pod->ntols, t->key, t->value, t->effect))
            n++;
    }
    return n;
}

/* framework/plugins/helper.DefaultNormalizeScore: scale to 0..100 by
 * the maximum; reverse turns "more is worse" into a score. All zero
 * stays zero (reverse: all 100). */
void
sched_normalize_default(int64_t *s, size_t n, bool reverse)
{
    int64_t max = 0;

    for (size_t i = 0; i < n; i++)
        max = s[i] > max ? s[i] : max;
    for (size_t i = 0; i < n; i++) {
        int64_t v = max ? MAX_SCORE * s[i] / max : 0;

        s[i] = reverse ? MAX_SCORE - v : v;
    }
}

/* InterPodAffinity: min-max scaling (scores may be negative); all equal
 * gives 0 everywhere. */
void
sched_normalize_minmax(int64_t *s, size_t n)
{
    int64_t min = INT64_MAX, max = INT64_MIN;

    for (size_t i = 0; i < n; i++) {
        min = s[i] < min ? s[i] : min;
        max = s[i] > max ? s[i] : max;
    }
    for (size_t i = 0; i < n; i++)
        s[i] = max > min ? (int64_t)((double)MAX_SCORE * (double)(s[i] - min) / (double)(max - min))
                         : 0;
}

/* PodTopologySpread: fewer is better, 100 * (max + min - s) / max over
 * the nodes that have the keys; nodes without them (-1) score 0. */
void
sched_normalize_spread(int64_t *s, size_t n)
{
    int64_t min = INT64_MAX, max = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] < 0)
            continue;
        min = s[i] < min ? s[i] : min;
        max = s[i] > max ? s[i] : max;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < 0)
            s[i] = 0;
        else if (max == 0)
            s[i] = MAX_SCORE;
        else
            s[i] = MAX_SCORE * (max + min - s[i]) / max;
    }
}
