/* InterPodAffinity: required pod affinity and anti-affinity of the
 * incoming pod, the required anti-affinity of the pods already placed
 * (the symmetric rule: an existing pod that refuses the incoming one in
 * its topology domain keeps it out), and the preferred terms as a score.
 * Topology domains are node label values of any topologyKey, hostname
 * being the common case. The counting over existing pods is done once
 * per attempt (prepare), the per-node checks are map lookups. Semantics
 * follow pkg/scheduler/framework/plugins/interpodaffinity. */
#include "lib/alloc.h"
#include "sched/sched_int.h"

#include <stdlib.h>
#include <string.h>

#define PAIR_MAX 512

/* "key\nvalue" into buf (PAIR_MAX bytes; label keys and values are far
 * shorter, a longer pair is cut). Hot: once per node and term, so no
 * printf. */
static const char *
pair(char *buf, const char *key, const char *value)
{
    size_t k = strlen(key), v = strlen(value);

    if (k > PAIR_MAX / 2 - 1)
        k = PAIR_MAX / 2 - 1;
    if (v > PAIR_MAX / 2 - 1)
        v = PAIR_MAX / 2 - 1;
    memcpy(buf, key, k);
    buf[k] = '\n';
    memcpy(buf + k + 1, value, v);
    buf[k + 1 + v] = '\0';
    return buf;
}

bool
sched_pod_term_matches(const struct sched_pod_term *t, const struct sched_pod *owner,
                       const struct sched_pod *p)
{
    bool ns_ok = t->all_namespaces;

    for (size_t i = 0; !ns_ok && i < t->nnamespaces; i++)
        ns_ok = strcmp(t->namespaces[i], p->ns) == 0;
    /* No list and no namespaceSelector: the owner's own namespace. */
    if (!ns_ok && t->nnamespaces == 0 && !t->ns_selector)
        ns_ok = strcmp(owner->ns, p->ns) == 0;
    return ns_ok && sk_selector_matches_json(&t->sel, p->labels);
}

static void
count_pair(struct sched_map *m, const char *key, const struct sched_node_info *ni, int64_t n)
{
    const char *v = sched_node_label(ni, key);
    char buf[PAIR_MAX];

    if (v)
        sched_map_put(m, pair(buf, key, v))->num += n;
}

static void
add_key(const char ***keys, size_t *n, const char *key)
{
    for (size_t i = 0; i < *n; i++) {
        if (strcmp((*keys)[i], key) == 0)
            return;
    }
    *keys = sk_reallocarray(*keys, *n + 1, sizeof(**keys));
    (*keys)[(*n)++] = key;
}

static bool
matches_all(const struct sched_pod_term *t, size_t n, const struct sched_pod *owner,
            const struct sched_pod *p)
{
    for (size_t i = 0; i < n; i++) {
        if (!sched_pod_term_matches(&t[i], owner, p))
            return false;
    }
    return true;
}

const char *
sched_pod_term_namespace(const struct sched_pod_term *t, const struct sched_pod *owner)
{
    if (t->all_namespaces)
        return NULL;
    if (t->nnamespaces == 1)
        return t->namespaces[0];
    if (t->nnamespaces == 0 && !t->ns_selector)
        return owner->ns;
    return NULL;
}

struct incoming {
    struct sched_interpod *st;
    const struct sched_pod *pod;
    size_t term;
};

/* Kubernetes counts an existing pod for affinity only when it matches
 * all of the incoming pod's affinity terms. */
static void
count_affinity(void *ctx, struct sched_cached_pod *cp)
{
    struct incoming *in = ctx;
    const struct sched_pod *pod = in->pod;

    if (!matches_all(pod->aff_req, pod->naff_req, pod, cp->pod))
        return;
    for (size_t i = 0; i < pod->naff_req; i++)
        count_pair(&in->st->aff, pod->aff_req[i].topology_key, cp->node, 1);
}

static void
count_anti(void *ctx, struct sched_cached_pod *cp)
{
    struct incoming *in = ctx;
    const struct sched_pod_term *t = &in->pod->anti_req[in->term];

    if (sched_pod_term_matches(t, in->pod, cp->pod))
        count_pair(&in->st->anti, t->topology_key, cp->node, 1);
}

static void
count_incoming(struct sched_interpod *st, const struct sched_cache *cache,
               const struct sched_pod *pod)
{
    struct incoming in = {st, pod, 0};

    if (pod->naff_req)
        sched_cache_each_pod(cache, sched_pod_term_namespace(&pod->aff_req[0], pod),
                             &pod->aff_req[0].sel, count_affinity, &in);
    for (in.term = 0; in.term < pod->nanti_req; in.term++)
        sched_cache_each_pod(cache, sched_pod_term_namespace(&pod->anti_req[in.term], pod),
                             &pod->anti_req[in.term].sel, count_anti, &in);
}

/* An existing pod's required anti-affinity term against the incoming
 * pod: its domain is closed to the pod. */
static void
count_existing(void *ctx, struct sched_cached_pod *cp, size_t term)
{
    struct incoming *in = ctx;
    const struct sched_pod_term *t = &cp->pod->anti_req[term];

    if (!sched_pod_term_matches(t, cp->pod, in->pod) ||
        !sched_node_label(cp->node, t->topology_key))
        return;
    count_pair(&in->st->existing, t->topology_key, cp->node, 1);
    add_key(&in->st->existing_keys, &in->st->nexisting_keys, t->topology_key);
}

void
sched_interpod_prepare(struct sched_interpod *st, const struct sched_cache *cache,
                       const struct sched_pod *pod)
{
    struct incoming in = {st, pod, 0};

    memset(st, 0, sizeof(*st));
    sched_map_init(&st->aff);
    sched_map_init(&st->anti);
    sched_map_init(&st->existing);
    sched_map_init(&st->score);
    st->self_match = matches_all(pod->aff_req, pod->naff_req, pod, pod);
    count_incoming(st, cache, pod);
    sched_cache_each_anti_term(cache, pod, count_existing, &in);
}

void
sched_interpod_release(struct sched_interpod *st)
{
    sched_map_release(&st->aff);
    sched_map_release(&st->anti);
    sched_map_release(&st->existing);
    sched_map_release(&st->score);
    free(st->existing_keys);
    free(st->score_keys);
}

static int64_t
pair_count(const struct sched_map *m, const char *key, const struct sched_node_info *ni)
{
    const char *v = sched_node_label(ni, key);
    struct sched_map_ent *e;
    char buf[PAIR_MAX];

    if (!v)
        return -1;
    e = sched_map_get(m, pair(buf, key, v));
    return e ? e->num : 0;
}

/* Every affinity term needs a matching pod in the node's domain, except
 * for the first pod of a group: when no pod anywhere matches and the
 * pod matches its own terms, any node with the topology keys will do. */
static bool
satisfies_affinity(const struct sched_interpod *st, const struct sched_pod *pod,
                   const struct sched_node_info *ni)
{
    bool all = true;

    for (size_t i = 0; i < pod->naff_req; i++) {
        int64_t c = pair_count(&st->aff, pod->aff_req[i].topology_key, ni);

        if (c < 0)
            return false;
        if (c == 0)
            all = false;
    }
    return all || (st->aff.len == 0 && st->self_match);
}

const char *
sched_filter_interpod(const struct sched_interpod *st, const struct sched_pod *pod,
                      const struct sched_node_info *ni)
{
    if (pod->naff_req && !satisfies_affinity(st, pod, ni))
        return "node(s) didn't match pod affinity rules";
    for (size_t i = 0; st->anti.len && i < pod->nanti_req; i++) {
        if (pair_count(&st->anti, pod->anti_req[i].topology_key, ni) > 0)
            return "node(s) didn't match pod anti-affinity rules";
    }
    for (size_t i = 0; i < st->nexisting_keys; i++) {
        if (pair_count(&st->existing, st->existing_keys[i], ni) > 0)
            return "node(s) didn't satisfy existing pods anti-affinity rules";
    }
    return NULL;
}

static void
score_terms(struct sched_interpod *st, const struct sched_pod_term *t, size_t n, int sign,
            const struct sched_pod *owner, const struct sched_pod *p,
            const struct sched_node_info *ni)
{
    for (size_t i = 0; i < n; i++) {
        if (!sched_pod_term_matches(&t[i], owner, p))
            continue;
        count_pair(&st->score, t[i].topology_key, ni, sign * t[i].weight);
        add_key(&st->score_keys, &st->nscore_keys, t[i].topology_key);
    }
}

/* PreScore: the incoming pod's preferred terms against every placed pod,
 * and the placed pods' terms against the incoming one (their required
 * affinity with Kubernetes' hardPodAffinityWeight 1, their preferred
 * terms with their weights). */
void
sched_interpod_prepare_score(struct sched_interpod *st, const struct sched_cache *cache,
                             const struct sched_pod *pod)
{
    bool own = pod->naff_pref || pod->nanti_pref;

    /* Nothing to count either way: skip the walk over every node. */
    if (!own && cache->naffinity == 0)
        return;
    for (size_t n = 0; n < cache->nnodes; n++) {
        const struct sched_node_info *ni = cache->nodes[n];

        if (!ni->obj || (!own && ni->naffinity == 0))
            continue;
        for (size_t k = 0; k < ni->npods; k++) {
            const struct sched_pod *ep = ni->pods[k]->pod;

            score_terms(st, pod->aff_pref, pod->naff_pref, 1, pod, ep, ni);
            score_terms(st, pod->anti_pref, pod->nanti_pref, -1, pod, ep, ni);
            score_terms(st, ep->aff_req, ep->naff_req, 1, ep, pod, ni);
            score_terms(st, ep->aff_pref, ep->naff_pref, 1, ep, pod, ni);
            score_terms(st, ep->anti_pref, ep->nanti_pref, -1, ep, pod, ni);
        }
    }
}

int64_t
sched_score_interpod(const struct sched_interpod *st, const struct sched_node_info *ni)
{
    int64_t s = 0;

    for (size_t i = 0; i < st->nscore_keys; i++) {
        const char *v = sched_node_label(ni, st->score_keys[i]);
        struct sched_map_ent *e;
        char buf[PAIR_MAX];

        if (v && (e = sched_map_get(&st->score, pair(buf, st->score_keys[i], v))))
            s += e->num;
    }
    return s;
}
