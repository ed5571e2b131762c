#ifndef SKIFF_SCHED_INT_H
#define SKIFF_SCHED_INT_H

/* Private to sched/: the parsed pod, the node info, the cache layout and
 * the per-attempt state the filters and scores share. */

#include "lib/selector.h"
#include "sched/sched.h"

#include <stdbool.h>

/* A string-keyed open-addressing hash map (strmap.c). Keys are copied;
 * values are a pointer or an integer. */
struct sched_map_ent {
    char *key;
    uint64_t hash;
    void *ptr;
    int64_t num;
};

struct sched_map {
    struct sched_map_ent *ents;
    size_t cap; /* a power of two, or 0 */
    size_t len;
};

void sched_map_init(struct sched_map *m);
/* Frees the keys; values are the caller's. */
void sched_map_release(struct sched_map *m);
struct sched_map_ent *sched_map_get(const struct sched_map *m, const char *key);
/* The entry for key, created with ptr NULL and num 0 when missing. */
struct sched_map_ent *sched_map_put(struct sched_map *m, const char *key);
/* Remove key; returns its old ptr (NULL if absent). */
void *sched_map_del(struct sched_map *m, const char *key);
/* Iterate: i from 0 while sched_map_next() returns an entry. */
struct sched_map_ent *sched_map_next(const struct sched_map *m, size_t *i);

enum sched_taint_effect {
    SCHED_EFFECT_NONE = 0, /* only in tolerations: every effect */
    SCHED_EFFECT_NO_SCHEDULE,
    SCHED_EFFECT_PREFER_NO_SCHEDULE,
    SCHED_EFFECT_NO_EXECUTE,
};

struct sched_taint {
    const char *key, *value; /* borrowed from the node object */
    enum sched_taint_effect effect;
};

struct sched_toleration {
    const char *key, *value; /* "" when absent */
    bool exists;             /* operator Exists (else Equal) */
    enum sched_taint_effect effect;
};

/* A hostPort: protocol TCP/UDP/SCTP, ip "0.0.0.0" when not given. */
struct sched_port {
    const char *protocol, *ip;
    int64_t port;
};

/* One nodeSelectorTerm: matchExpressions over labels, matchFields over
 * metadata.name; all must hold. */
struct sched_node_req {
    const char *key;
    enum sk_selector_op op; /* IN, NOT_IN, EXISTS, DOES_NOT_EXIST, GT, LT */
    const char **values;
    size_t nvalues;
    int64_t num;
    bool field; /* matchFields: key is metadata.name */
};

struct sched_node_term {
    struct sched_node_req *reqs;
    size_t nreqs;
};

struct sched_node_selector {
    struct sched_node_term *terms; /* ORed */
    size_t nterms;
};

/* A PodAffinityTerm. all_namespaces for namespaceSelector {}. */
struct sched_pod_term {
    struct sk_selector sel;
    const char *topology_key;
    const char **namespaces;
    size_t nnamespaces;
    bool all_namespaces; /* namespaceSelector {} */
    bool ns_selector;    /* namespaceSelector given at all */
    int64_t weight;      /* preferred terms; 1 for required ones */
};

struct sched_spread {
    int64_t max_skew;
    const char *topology_key;
    bool do_not_schedule;
    int64_t min_domains; /* 0 when unset */
    struct sk_selector sel;
};

struct sched_pod {
    json_t *obj; /* a reference */
    const char *ns, *name;
    json_t *labels;        /* borrowed from obj, may be NULL */
    const char *node_name; /* spec.nodeName, NULL when unset */
    int64_t priority;
    bool terminating;               /* metadata.deletionTimestamp set */
    bool terminal;                  /* status.phase Succeeded or Failed */
    struct sched_resources req;     /* Kubernetes' requests */
    struct sched_resources nonzero; /* with 100m / 200Mi for unset requests */
    struct sched_port *ports;
    size_t nports;
    struct sched_toleration *tols;
    size_t ntols;
    json_t *node_selector; /* spec.nodeSelector map, may be NULL */
    bool has_required_node_affinity;
    struct sched_node_selector required;
    struct sched_node_term *preferred; /* one term per preference */
    int64_t *preferred_weights;
    size_t npreferred;
    struct sched_pod_term *aff_req, *anti_req, *aff_pref, *anti_pref;
    size_t naff_req, nanti_req, naff_pref, nanti_pref;
    struct sched_spread *spread;
    size_t nspread;
};

/* Pod in the cache: bound (confirmed by the informer) or assumed. */
struct sched_cached_pod {
    struct sched_pod *pod;
    struct sched_node_info *node;
    bool assumed;
    int64_t deadline_ms; /* assumed: expire at; INT64_MAX for never */
};

struct sched_node_info {
    char *name;
    json_t *obj; /* NULL for a node known only from its pods */
    json_t *labels;
    const char *hostname; /* its kubernetes.io/hostname label, borrowed */
    bool unschedulable;
    bool not_ready; /* Ready condition False or Unknown */
    struct sched_taint *taints;
    size_t ntaints;
    struct sched_resources alloc;
    struct sched_resources requested;
    struct sched_resources nonzero;
    struct sched_port *ports; /* borrowed from the pods' objects */
    size_t nports, ports_cap;
    struct sched_cached_pod **pods;
    size_t npods, pods_cap;
    size_t naffinity;                  /* pods with affinity or preferred anti-affinity */
    size_t nanti;                      /* pods with required anti-affinity */
    size_t index;                      /* in cache->nodes */
    struct sched_node_info *free_next; /* on the cache's free list */
};

/* Node infos come from slabs of this many (cache.c). */
#define SCHED_NODE_SLAB 64
struct sched_node_slab {
    struct sched_node_slab *next;
    size_t used;
    struct sched_node_info v[SCHED_NODE_SLAB];
};

struct sched_cache {
    struct sched_node_info **nodes; /* with and without objects */
    size_t nnodes, nodes_cap;
    size_t nlive; /* nodes with an object */
    struct sched_node_slab *slabs;
    struct sched_node_info *free_nodes;
    struct sched_map node_by_name;
    struct sched_map pod_by_key;       /* "ns/name" -> sched_cached_pod */
    struct sched_map label_index;      /* "ns\x01key\x01value" -> pods (cache.c) */
    struct sched_map anti_index;       /* same key -> anti-affinity terms selecting it */
    struct sched_term_list *anti_scan; /* anti-affinity terms not indexable */
    size_t naffinity;                  /* sum of the nodes' naffinity */
    int64_t ttl_ms;
};

/* Optional getters by a formatted path (pod.c), a missing value gives
 * def (a const char * for strings, an int64_t * or bool * otherwise). */
enum { SCHED_GET_OBJECT, SCHED_GET_ARRAY, SCHED_GET_STRING, SCHED_GET_INT, SCHED_GET_BOOL };
int sched_path_get(const json_t *root, int kind, const void *def, void *out, struct sk_err *err,
                   const char *fmt, ...) __attribute__((format(printf, 6, 7)));
int sched_effect_parse(const char *s, enum sched_taint_effect *out);
/* pod_affinity.c: spec.affinity and spec.topologySpreadConstraints. */
int sched_pod_parse_affinity(struct sched_pod *p, struct sk_err *err);
int sched_pod_parse_spread(struct sched_pod *p, struct sk_err *err);
void sched_pod_release_affinity(struct sched_pod *p);

/* Call fn for every pod on a node with an object that may be in
 * namespace ns (NULL: any) and match sel: a superset, fn checks. Uses
 * the label index when ns is given and sel has an equality or "in". */
void sched_cache_each_pod(const struct sched_cache *c, const char *ns,
                          const struct sk_selector *sel,
                          void (*fn)(void *ctx, struct sched_cached_pod *cp), void *ctx);

/* Call fn for every required anti-affinity term of a pod on a node with
 * an object that may select pod (a superset, fn checks): terms indexed
 * under one of pod's labels, and those the index cannot hold. */
void sched_cache_each_anti_term(const struct sched_cache *c, const struct sched_pod *pod,
                                void (*fn)(void *ctx, struct sched_cached_pod *cp, size_t term),
                                void *ctx);
/* The single namespace a term can match, for the label index; NULL
 * when it may match several. */
const char *sched_pod_term_namespace(const struct sched_pod_term *t, const struct sched_pod *owner);

/* Take a cached pod off its node (and the label and anti-affinity
 * indexes) and put it back: preemption's what-if (cache.c). */
void sched_cache_pod_unplace(struct sched_cache *c, struct sched_cached_pod *cp);
void sched_cache_pod_place(struct sched_cache *c, struct sched_node_info *ni,
                           struct sched_cached_pod *cp);

/* Whether pod passes every filter on ni, the per-attempt state of
 * inter-pod affinity and spread computed against the cache as it is now
 * (schedule.c; preemption calls it after taking pods off a node). */
bool sched_fits_node(const struct sched_cache *cache, const struct sched_pod *pod,
                     const struct sched_node_info *ni);

/* The runner's preemption (run_preempt.c): nominations, holding their
 * room, the nominated node first, and on failure preempting through
 * client. pods is the runner's pod informer (latest objects); component
 * is borrowed. */
struct api_aclient;
struct api_informer;
struct sched_preemptor;

struct sched_preemptor *sched_preemptor_new(struct api_aclient *client, struct api_informer *pods,
                                            const char *component);
void sched_preemptor_free(struct sched_preemptor *pr);
/* sched_schedule_parsed() with the above around it; pod is sp's object.
 * Same results: 0 with res->node, 1 unschedulable (victims, if any,
 * are being deleted and the pod nominated), < 0 error. */
int sched_preemptor_schedule(struct sched_preemptor *pr, struct sched_cache *cache,
                             const struct sched_pod *sp, const json_t *pod,
                             const struct sched_config *cfg, struct sched_rng *rng,
                             struct sched_result *res, struct sk_err *err);

/* "ns/name" into buf; returns buf. */
const char *sched_pod_key(char *buf, size_t size, const char *ns, const char *name);
#define SCHED_KEY_MAX 512

/* node.c */
int sched_node_info_update(struct sched_node_info *ni, const json_t *obj, struct sk_err *err);
void sched_node_info_clear(struct sched_node_info *ni);
void sched_node_info_add_pod(struct sched_node_info *ni, struct sched_cached_pod *cp);
void sched_node_info_remove_pod(struct sched_node_info *ni, struct sched_cached_pod *cp);

/* A label of a node (NULL when absent). */
const char *sched_node_label(const struct sched_node_info *ni, const char *key);

/* Node filters (filter_node.c). Each returns NULL when the node passes,
 * or the reason; taints may format into buf. */
const char *sched_filter_unschedulable(const struct sched_pod *pod,
                                       const struct sched_node_info *ni);
const char *sched_filter_ready(const struct sched_pod *pod, const struct sched_node_info *ni);
const char *sched_filter_node_name(const struct sched_pod *pod, const struct sched_node_info *ni);
const char *sched_filter_taints(const struct sched_pod *pod, const struct sched_node_info *ni,
                                char *buf, size_t size);
const char *sched_filter_node_affinity(const struct sched_pod *pod,
                                       const struct sched_node_info *ni);
const char *sched_filter_ports(const struct sched_pod *pod, const struct sched_node_info *ni);
/* Resources can fail for several at once: fills reasons, returns count. */
size_t sched_filter_resources(const struct sched_pod *pod, const struct sched_node_info *ni,
                              const char *reasons[4]);

bool sched_tolerates(const struct sched_toleration *tols, size_t n, const char *key,
                     const char *value, enum sched_taint_effect effect);
/* Node selector + required node affinity. */
bool sched_node_affinity_match(const struct sched_pod *pod, const struct sched_node_info *ni);
bool sched_node_term_match(const struct sched_node_term *t, const struct sched_node_info *ni);

/* Whether the pod term selects pod p (namespace and labels); owner is
 * the pod that carries the term. */
bool sched_pod_term_matches(const struct sched_pod_term *t, const struct sched_pod *owner,
                            const struct sched_pod *p);

/* Inter-pod affinity state for one attempt (filter_interpod.c). Maps
 * are keyed by topology pair "key\nvalue". */
struct sched_interpod {
    struct sched_map aff;      /* pods matching all required affinity terms */
    struct sched_map anti;     /* pods matching a required anti-affinity term */
    struct sched_map existing; /* pairs existing pods' anti-affinity forbids */
    const char **existing_keys;
    size_t nexisting_keys;
    bool self_match;        /* the pod matches all its own affinity terms */
    struct sched_map score; /* preferred terms: pair -> weight sum */
    const char **score_keys;
    size_t nscore_keys;
};

void sched_interpod_prepare(struct sched_interpod *st, const struct sched_cache *cache,
                            const struct sched_pod *pod);
void sched_interpod_release(struct sched_interpod *st);
const char *sched_filter_interpod(const struct sched_interpod *st, const struct sched_pod *pod,
                                  const struct sched_node_info *ni);
/* Preferred terms; call after filtering (uses all nodes). */
void sched_interpod_prepare_score(struct sched_interpod *st, const struct sched_cache *cache,
                                  const struct sched_pod *pod);
int64_t sched_score_interpod(const struct sched_interpod *st, const struct sched_node_info *ni);

/* Topology spread state (filter_spread.c). */
struct sched_spread_state {
    struct sched_map *counts; /* per constraint: value -> matching pods */
    int64_t *min;             /* per constraint */
    double *weight;           /* per constraint, scoring */
    size_t n;
};

void sched_spread_prepare(struct sched_spread_state *st, const struct sched_cache *cache,
                          const struct sched_pod *pod, bool filtering);
/* The state for scoring: counts in the feasible nodes' domains only. */
void sched_spread_prepare_score(struct sched_spread_state *st, const struct sched_cache *cache,
                                const struct sched_pod *pod,
                                struct sched_node_info *const *feasible, size_t n);
void sched_spread_release(struct sched_spread_state *st);
const char *sched_filter_spread(const struct sched_spread_state *st, const struct sched_pod *pod,
                                const struct sched_node_info *ni);
/* Scores: raw values, -1 for nodes lacking a key (ignored). The feasible
 * nodes are given to size the normalizing weights. */
void sched_spread_score(struct sched_spread_state *st, const struct sched_pod *pod,
                        struct sched_node_info *const *feasible, size_t n, int64_t *raw);

/* Raw scores (score_*.c). */
int64_t sched_score_least_allocated(const struct sched_pod *pod, const struct sched_node_info *ni);
int64_t sched_score_balanced(const struct sched_pod *pod, const struct sched_node_info *ni);
int64_t sched_score_node_affinity(const struct sched_pod *pod, const struct sched_node_info *ni);
int64_t sched_score_taints(const struct sched_pod *pod, const struct sched_node_info *ni);

/* Normalization as the Kubernetes plugins do it. */
void sched_normalize_default(int64_t *s, size_t n, bool reverse);
void sched_normalize_minmax(int64_t *s, size_t n);
void sched_normalize_spread(int64_t *s, size_t n);

#endif
