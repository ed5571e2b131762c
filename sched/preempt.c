/* Preemption (the preemption section of sched.h): which pods of lower
 * priority to delete, and from which node, so that a pod that fits
 * nowhere fits. Semantics follow kube-scheduler's DefaultPreemption
 * plugin (pkg/scheduler/framework/plugins/defaultpreemption and
 * framework/preemption) without PodDisruptionBudgets and without its
 * sampling of candidate nodes: every node is tried.
 *
 * The what-if runs on the real cache: the lower-priority pods are taken
 * off the node with sched_cache_pod_unplace(), which keeps the label and
 * anti-affinity indexes right, so the filters (inter-pod anti-affinity
 * and spread included) see the node as it would be; every pod is placed
 * back before the next node. */
#include "lib/alloc.h"
#include "lib/json.h"
#include "sched/sched_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
sched_preemption_init(struct sched_preemption *p)
{
    memset(p, 0, sizeof(*p));
}

void
sched_preemption_release(struct sched_preemption *p)
{
    for (size_t i = 0; i < p->nvictims; i++)
        json_decref(p->victims[i].pod);
    free(p->victims);
    free(p->node);
    sched_preemption_init(p);
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static int64_t
days_from_civil(int64_t y, int64_t m, int64_t d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* When the pod started, in seconds since the epoch: status.startTime,
 * or metadata.creationTimestamp for a pod no kubelet has started yet.
 * A pod with neither (or a malformed one) counts as just started, as
 * kube-scheduler's GetPodStartTime does. */
static int64_t
start_time(const struct sched_pod *p)
{
    const char *s = json_string_value(sk_json_get(p->obj, "status.startTime"));
    int y, mo, d, h, mi, sec;

    if (!s)
        s = json_string_value(sk_json_get(p->obj, "metadata.creationTimestamp"));
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec) != 6 || mo < 1 ||
        mo > 12 || d < 1 || d > 31)
        return INT64_MAX;
    return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
}

/* A potential victim with what ordering needs. */
struct pv {
    struct sched_cached_pod *cp;
    int64_t start;
};

/* kube-scheduler's MoreImportantPod: higher priority, then started
 * earlier; as a qsort order, the most important first. */
static int
more_important_first(const void *x, const void *y)
{
    const struct pv *a = x, *b = y;

    if (a->cp->pod->priority != b->cp->pod->priority)
        return a->cp->pod->priority > b->cp->pod->priority ? -1 : 1;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    return strcmp(a->cp->pod->name, b->cp->pod->name);
}

/* One node where preemption helps. */
struct cand {
    struct sched_node_info *ni;
    struct pv *victims; /* most important first */
    size_t n;
    int64_t top;   /* priority of the most important victim */
    int64_t sum;   /* of priority + 2^31, so that every term is positive */
    int64_t start; /* earliest start among victims of priority top */
};

static void
cand_summarize(struct cand *c)
{
    c->top = INT64_MIN;
    c->sum = 0;
    c->start = INT64_MAX;
    for (size_t i = 0; i < c->n; i++) {
        int64_t prio = c->victims[i].cp->pod->priority;

        c->sum += prio + ((int64_t)1 << 31);
        if (i == 0)
            c->top = prio;
        if (prio == c->top && c->victims[i].start < c->start)
            c->start = c->victims[i].start;
    }
}

/* Whether a is a better node to preempt on than b
 * (pickOneNodeForPreemption without its PDB criterion). */
static bool
cand_better(const struct cand *a, const struct cand *b)
{
    if (a->top != b->top)
        return a->top < b->top;
    if (a->sum != b->sum)
        return a->sum < b->sum;
    if (a->n != b->n)
        return a->n < b->n;
    return a->start > b->start;
}

/* Filters that removing pods cannot change: a node failing one of them
 * is no candidate (nodesWherePreemptionMightHelp). */
static bool
unresolvable(const struct sched_pod *pod, const struct sched_node_info *ni)
{
    char buf[600];

    return sched_filter_unschedulable(pod, ni) || sched_filter_ready(pod, ni) ||
           sched_filter_node_name(pod, ni) || sched_filter_taints(pod, ni, buf, sizeof(buf)) ||
           sched_filter_node_affinity(pod, ni);
}

/* The lower-priority, bound pods of ni, taken off the node. */
static size_t
take_lower(struct sched_cache *cache, const struct sched_pod *pod, struct sched_node_info *ni,
           struct pv **out)
{
    struct pv *v = sk_calloc(ni->npods + 1, sizeof(*v));
    size_t n = 0;

    for (size_t i = 0; i < ni->npods; i++) {
        struct sched_cached_pod *cp = ni->pods[i];

        if (cp->assumed || cp->pod->priority >= pod->priority)
            continue;
        v[n].cp = cp;
        v[n++].start = start_time(cp->pod);
    }
    /* Unplace after the scan: it reorders ni->pods. */
    for (size_t i = 0; i < n; i++)
        sched_cache_pod_unplace(cache, v[i].cp);
    *out = v;
    return n;
}

/* selectVictimsOnNode: true with c filled when removing pods of lower
 * priority from ni makes pod fit. The node is as before on return. */
static bool
select_victims(struct sched_cache *cache, const struct sched_pod *pod, struct sched_node_info *ni,
               struct cand *c)
{
    struct pv *lower;
    size_t n, k = 0;
    bool fits;

    if (unresolvable(pod, ni))
        return false;
    n = take_lower(cache, pod, ni, &lower);
    fits = n > 0 && sched_fits_node(cache, pod, ni);
    if (!fits) {
        for (size_t i = 0; i < n; i++)
            sched_cache_pod_place(cache, ni, lower[i].cp);
        free(lower);
        return false;
    }
    /* Reprieve: the most important first, each put back for good when
     * the pod still fits with it. Victims keep that order. */
    qsort(lower, n, sizeof(*lower), more_important_first);
    for (size_t i = 0; i < n; i++) {
        sched_cache_pod_place(cache, ni, lower[i].cp);
        if (sched_fits_node(cache, pod, ni))
            continue;
        sched_cache_pod_unplace(cache, lower[i].cp);
        lower[k++] = lower[i];
    }
    for (size_t i = 0; i < k; i++)
        sched_cache_pod_place(cache, ni, lower[i].cp);
    c->ni = ni;
    c->victims = lower;
    c->n = k;
    cand_summarize(c);
    return true;
}

static void
fill(struct sched_preemption *out, const struct cand *c)
{
    out->node = sk_strdup(c->ni->name);
    out->victims = sk_calloc(c->n + 1, sizeof(*out->victims));
    out->nvictims = c->n;
    for (size_t i = 0; i < c->n; i++) {
        const struct sched_pod *p = c->victims[i].cp->pod;
        struct sched_victim *v = &out->victims[i];

        v->pod = json_incref(p->obj);
        v->ns = p->ns;
        v->name = p->name;
        v->priority = p->priority;
        v->terminating = p->terminating;
    }
}

static bool
policy_never(const json_t *pod)
{
    const char *policy = json_string_value(sk_json_get(pod, "spec.preemptionPolicy"));

    return policy && strcmp(policy, "Never") == 0;
}

static bool
eligible(const struct sched_cache *cache, const struct sched_pod *pod, const char *nominated)
{
    const struct sched_node_info *ni;

    if (policy_never(pod->obj))
        return false;
    ni = nominated ? sched_cache_node(cache, nominated) : NULL;
    for (size_t i = 0; ni && i < ni->npods; i++) {
        const struct sched_pod *p = ni->pods[i]->pod;

        if (p->terminating && p->priority < pod->priority)
            return false;
    }
    return true;
}

bool
sched_preempt_eligible(const struct sched_cache *cache, const json_t *obj, const char *nominated)
{
    struct sched_pod *pod;
    bool ok;

    if (sched_pod_parse(obj, &pod, NULL) < 0)
        return false;
    ok = eligible(cache, pod, nominated);
    sched_pod_free(pod);
    return ok;
}

/* Every candidate, the best kept in *best; returns how many. */
static size_t
find_best(struct sched_cache *cache, const struct sched_pod *pod, struct cand *best)
{
    size_t found = 0;

    for (size_t i = 0; i < cache->nnodes; i++) {
        struct cand c = {0};

        if (!cache->nodes[i]->obj || !select_victims(cache, pod, cache->nodes[i], &c))
            continue;
        found++;
        if (found == 1 || cand_better(&c, best)) {
            free(best->victims);
            *best = c;
        } else {
            free(c.victims);
        }
    }
    return found;
}

int
sched_preempt(struct sched_cache *cache, const json_t *obj, const char *nominated,
              struct sched_preemption *out, struct sk_err *err)
{
    struct sched_pod *pod;
    struct cand best = {0};

    sched_preemption_release(out);
    if (sched_pod_parse(obj, &pod, err) < 0)
        return -EINVAL;
    if (eligible(cache, pod, nominated))
        out->candidates = find_best(cache, pod, &best);
    if (out->candidates)
        fill(out, &best);
    free(best.victims);
    sched_pod_free(pod);
    return out->node ? 0 : 1;
}
