/* PodTopologySpread: spec.topologySpreadConstraints. For each constraint
 * the pods matching its selector (in the pod's namespace, not being
 * deleted) are counted per domain, a domain being a value of the
 * topologyKey label among the nodes the pod may use (node selector and
 * required node affinity honoured, nodes lacking a key left out).
 *
 * DoNotSchedule (filter): placing the pod on a node must keep
 *     count(node's domain) + self - min(count over domains) <= maxSkew
 * where self is 1 if the pod matches its own selector, and the minimum
 * is taken as 0 while there are fewer domains than minDomains.
 * ScheduleAnyway (score): fewer matching pods in the domain is better,
 * each constraint weighted by log(domains + 2), as kube-scheduler's
 * pkg/scheduler/framework/plugins/podtopologyspread. */
#include "lib/alloc.h"
#include "sched/sched_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool
relevant(const struct sched_spread *c, bool filtering)
{
    return c->do_not_schedule == filtering;
}

/* The node can hold a domain: it is a node the pod may use and has
 * every relevant constraint's key. */
static bool
eligible(const struct sched_pod *pod, const struct sched_node_info *ni, bool filtering)
{
    if (!ni->obj || !sched_node_affinity_match(pod, ni))
        return false;
    for (size_t i = 0; i < pod->nspread; i++) {
        if (relevant(&pod->spread[i], filtering) &&
            !sched_node_label(ni, pod->spread[i].topology_key))
            return false;
    }
    return true;
}

struct counting {
    struct sched_map *counts;
    const struct sched_spread *c;
    const struct sched_pod *pod;
    bool filtering;
    bool known_only; /* count only in domains already in counts */
};

/* One more matching pod in its node's domain, if that node counts. */
static void
count_pod(void *ctx, struct sched_cached_pod *cp)
{
    struct counting *k = ctx;
    const struct sched_pod *ep = cp->pod;

    if (ep->terminating || strcmp(ep->ns, k->pod->ns) != 0 ||
        !sk_selector_matches_json(&k->c->sel, ep->labels) ||
        !eligible(k->pod, cp->node, k->filtering))
        return;
    if (k->known_only) {
        struct sched_map_ent *e =
            sched_map_get(k->counts, sched_node_label(cp->node, k->c->topology_key));

        if (e)
            e->num++;
        return;
    }
    sched_map_put(k->counts, sched_node_label(cp->node, k->c->topology_key))->num++;
}

/* Matching pods per domain for constraint i; every domain of an
 * eligible node is present, with 0 when it holds no matching pod. */
static void
count_constraint(struct sched_spread_state *st, size_t i, const struct sched_cache *cache,
                 const struct sched_pod *pod, bool filtering)
{
    struct counting k = {&st->counts[i], &pod->spread[i], pod, filtering, false};

    for (size_t n = 0; n < cache->nnodes; n++) {
        const struct sched_node_info *ni = cache->nodes[n];

        if (eligible(pod, ni, filtering))
            sched_map_put(&st->counts[i], sched_node_label(ni, k.c->topology_key));
    }
    sched_cache_each_pod(cache, pod->ns, &k.c->sel, count_pod, &k);
}

void
sched_spread_prepare(struct sched_spread_state *st, const struct sched_cache *cache,
                     const struct sched_pod *pod, bool filtering)
{
    st->n = pod->nspread;
    st->counts = st->n ? sk_calloc(st->n, sizeof(*st->counts)) : NULL;
    st->min = st->n ? sk_calloc(st->n, sizeof(*st->min)) : NULL;
    st->weight = st->n ? sk_calloc(st->n, sizeof(*st->weight)) : NULL;
    for (size_t i = 0; i < st->n; i++) {
        sched_map_init(&st->counts[i]);
        if (relevant(&pod->spread[i], filtering))
            count_constraint(st, i, cache, pod, filtering);
    }
    for (size_t i = 0; i < st->n; i++) {
        struct sched_map_ent *e;
        size_t it = 0;

        st->min[i] = st->counts[i].len ? INT64_MAX : 0;
        while ((e = sched_map_next(&st->counts[i], &it)))
            st->min[i] = e->num < st->min[i] ? e->num : st->min[i];
        if ((int64_t)st->counts[i].len < pod->spread[i].min_domains)
            st->min[i] = 0;
    }
}

/* Scoring asks only about the domains of the feasible nodes: those
 * alone are counted, as kube-scheduler's PreScore does, rather than
 * every domain of the cluster (a hostname key has one per node, and
 * building that map for every pod cost more than the rest of the
 * attempt at 5,000 nodes). */
void
sched_spread_prepare_score(struct sched_spread_state *st, const struct sched_cache *cache,
                           const struct sched_pod *pod, struct sched_node_info *const *feasible,
                           size_t n)
{
    st->n = pod->nspread;
    st->counts = st->n ? sk_calloc(st->n, sizeof(*st->counts)) : NULL;
    st->min = st->n ? sk_calloc(st->n, sizeof(*st->min)) : NULL;
    st->weight = st->n ? sk_calloc(st->n, sizeof(*st->weight)) : NULL;
    for (size_t i = 0; i < st->n; i++) {
        struct counting k = {&st->counts[i], &pod->spread[i], pod, false, true};

        sched_map_init(&st->counts[i]);
        if (!relevant(k.c, false))
            continue;
        for (size_t f = 0; f < n; f++) {
            if (eligible(pod, feasible[f], false))
                sched_map_put(&st->counts[i], sched_node_label(feasible[f], k.c->topology_key));
        }
        sched_cache_each_pod(cache, pod->ns, &k.c->sel, count_pod, &k);
    }
}

void
sched_spread_release(struct sched_spread_state *st)
{
    for (size_t i = 0; i < st->n; i++)
        sched_map_release(&st->counts[i]);
    free(st->counts);
    free(st->min);
    free(st->weight);
    memset(st, 0, sizeof(*st));
}

static int64_t
domain_count(const struct sched_spread_state *st, size_t i, const char *value)
{
    struct sched_map_ent *e = sched_map_get(&st->counts[i], value);

    return e ? e->num : 0;
}

const char *
sched_filter_spread(const struct sched_spread_state *st, const struct sched_pod *pod,
                    const struct sched_node_info *ni)
{
    for (size_t i = 0; i < st->n; i++) {
        const struct sched_spread *c = &pod->spread[i];
        const char *v;
        int64_t self;

        if (!c->do_not_schedule)
            continue;
        v = sched_node_label(ni, c->topology_key);
        if (!v)
            return "node(s) didn't match pod topology spread constraints (missing required label)";
        self = sk_selector_matches_json(&c->sel, pod->labels) ? 1 : 0;
        if (domain_count(st, i, v) + self - st->min[i] > c->max_skew)
            return "node(s) didn't match pod topology spread constraints";
    }
    return NULL;
}

static bool
has_keys(const struct sched_pod *pod, const struct sched_node_info *ni)
{
    for (size_t i = 0; i < pod->nspread; i++) {
        if (!pod->spread[i].do_not_schedule && !sched_node_label(ni, pod->spread[i].topology_key))
            return false;
    }
    return true;
}

/* Normalizing weight per constraint: log(number of domains among the
 * feasible nodes + 2), so a key with many domains (hostname) does not
 * drown one with few (zone). */
static void
set_weights(struct sched_spread_state *st, const struct sched_pod *pod,
            struct sched_node_info *const *feasible, size_t n)
{
    for (size_t i = 0; i < st->n; i++) {
        const struct sched_spread *c = &pod->spread[i];
        struct sched_map seen;

        if (c->do_not_schedule)
            continue;
        sched_map_init(&seen);
        for (size_t k = 0; k < n; k++) {
            if (has_keys(pod, feasible[k]))
                sched_map_put(&seen, sched_node_label(feasible[k], c->topology_key));
        }
        st->weight[i] = log((double)seen.len + 2);
        sched_map_release(&seen);
    }
}

void
sched_spread_score(struct sched_spread_state *st, const struct sched_pod *pod,
                   struct sched_node_info *const *feasible, size_t n, int64_t *raw)
{
    set_weights(st, pod, feasible, n);
    for (size_t k = 0; k < n; k++) {
        double s = 0;

        if (!has_keys(pod, feasible[k])) {
            raw[k] = -1;
            continue;
        }
        for (size_t i = 0; i < st->n; i++) {
            const struct sched_spread *c = &pod->spread[i];
            const char *v = sched_node_label(feasible[k], c->topology_key);

            if (c->do_not_schedule)
                continue;
            s += (double)domain_count(st, i, v) * st->weight[i] + (double)(c->max_skew - 1);
        }
        raw[k] = (int64_t)llround(s);
    }
}
