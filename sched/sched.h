#ifndef SKIFF_SCHED_H
#define SKIFF_SCHED_H

/* The scheduler's pure core: the node snapshot with its assumed-pod
 * cache, the filters and scores that pick a node for one pod, the
 * explanation of an unschedulable pod, and the scheduling queue.
 *
 * Nothing here does I/O or reads a clock (STYLE.md §5), except the
 * runner at the end of this header, which is the I/O edge: the caller feeds
 * Node and Pod objects from its informers (Kubernetes v1 JSON, jansson
 * values), passes the time in, binds through the API and reports the
 * outcome back (confirm / forget). Semantics follow kube-scheduler's
 * default plugins; skiff-scheduler(8) describes them for users.
 *
 * Objects handed to the cache or the queue are kept by reference
 * (json_incref), not copied: the caller must not modify them afterwards,
 * which informers never do (an update is a new object). */

#include "lib/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Amounts of the resources the scheduler counts: cpu in thousandths of a
 * core, memory and ephemeral-storage in bytes, pods as a number. */
struct sched_resources {
    int64_t milli_cpu;
    int64_t memory;
    int64_t ephemeral;
    int64_t pods;
};

/* A pod as the scheduler sees it, parsed once (opaque; sched_int.h). */
struct sched_pod;

/* Parse a Pod object: resource requests, ports, tolerations, node
 * selector and affinity, pod (anti-)affinity, spread constraints,
 * priority. A malformed field fails with -EINVAL naming it
 * ("spec.containers[0].resources.requests.cpu: quantity 'x': ...").
 * On success *out is a new pod (sched_pod_free) holding a reference to
 * the object. */
int sched_pod_parse(const json_t *obj, struct sched_pod **out, struct sk_err *err);
void sched_pod_free(struct sched_pod *pod);

/* What the pod asks for, as Kubernetes computes it: per resource the
 * larger of the sum of the app containers and each init container, plus
 * spec.overhead; a container without a request but with a limit uses the
 * limit. pods is 1. */
void sched_pod_requests(const struct sched_pod *pod, struct sched_resources *out);

/* The node snapshot and the assumed-pod cache (see cache.c). */
struct sched_cache;

/* One node of the snapshot. Read-only outside the cache. */
struct sched_node_info;

/* A new, empty cache. An assumed pod that is not confirmed within ttl_ms
 * after it was assumed is dropped by sched_cache_expire() (kube-scheduler
 * uses 30 s from the end of binding; 0 means never). */
struct sched_cache *sched_cache_new(int64_t assume_ttl_ms);
void sched_cache_free(struct sched_cache *cache);

/* Add or replace a Node (by metadata.name). Fails with -EINVAL naming
 * the field for a malformed node; the cache is then unchanged. */
int sched_cache_node_set(struct sched_cache *cache, const json_t *node, struct sk_err *err);
/* Remove a node; pods still bound to it stay counted until removed, as
 * their deletions follow. Returns 0, or -ENOENT for an unknown node. */
int sched_cache_node_remove(struct sched_cache *cache, const char *name);

/* The informer saw a pod (add or update). A pod with spec.nodeName that
 * is not terminal (status.phase Succeeded/Failed) counts against that
 * node; if it was assumed, this confirms it (on whichever node the API
 * says). A pod without nodeName, or a terminal one, is removed from the
 * cache if present. */
int sched_cache_pod_set(struct sched_cache *cache, const json_t *pod, struct sk_err *err);
/* The informer saw a pod deleted. Returns 0, or -ENOENT if unknown. */
int sched_cache_pod_remove(struct sched_cache *cache, const char *ns, const char *name);

/* Count pod against node_name before the binding is confirmed, so the
 * next pod sees the node's resources as taken. now_ms starts the TTL.
 * Fails with -EEXIST if the pod is already in the cache, -ENOENT if the
 * node is unknown, -EINVAL for a malformed pod. */
int sched_cache_assume(struct sched_cache *cache, const json_t *pod, const char *node_name,
                       int64_t now_ms, struct sk_err *err);
/* The same for a pod already parsed (sched_pod_parse): on success the
 * cache owns p, on failure the caller still does. Saves the second parse
 * the scheduler loop paid per pod. */
int sched_cache_assume_parsed(struct sched_cache *cache, struct sched_pod *p, const char *node_name,
                              int64_t now_ms, struct sk_err *err);
/* The bind failed: undo an assumed pod exactly. -ENOENT if the pod is
 * unknown, -EINVAL if it is not assumed (a bound pod is not forgotten). */
int sched_cache_forget(struct sched_cache *cache, const char *ns, const char *name,
                       struct sk_err *err);
/* The bind of an assumed pod succeeded: its TTL now runs from now_ms,
 * and the informer's event confirms it (kube-scheduler's
 * FinishBinding). Returns 0, or -ENOENT if the pod is not assumed. */
int sched_cache_finish_binding(struct sched_cache *cache, const char *ns, const char *name,
                               int64_t now_ms);
/* Drop assumed pods whose TTL ran out at now_ms; returns how many. */
size_t sched_cache_expire(struct sched_cache *cache, int64_t now_ms);

/* Lookups, mostly for tests and for `describe`. */
size_t sched_cache_node_count(const struct sched_cache *cache);
const struct sched_node_info *sched_cache_node(const struct sched_cache *cache, const char *name);
/* 1 assumed, 2 bound, 0 not in the cache. */
int sched_cache_pod_state(const struct sched_cache *cache, const char *ns, const char *name);
void sched_node_allocatable(const struct sched_node_info *ni, struct sched_resources *out);
/* Sum of the requests of the pods bound or assumed on the node. */
void sched_node_requested(const struct sched_node_info *ni, struct sched_resources *out);
size_t sched_node_pod_count(const struct sched_node_info *ni);
/* Host ports in use, as (protocol, ip, port) triples. */
size_t sched_node_port_count(const struct sched_node_info *ni);

/* A small deterministic PRNG (xorshift64*), owned by the caller, so that
 * tie breaks are reproducible from a seed in tests and simulations. */
struct sched_rng {
    uint64_t state;
};

void sched_rng_seed(struct sched_rng *rng, uint64_t seed);
/* Uniform in [0, n); n > 0. */
uint64_t sched_rng_below(struct sched_rng *rng, uint64_t n);

/* Filter plugins, as bits: which ones rejected at least one node, so the
 * queue knows which events can make the pod schedulable. */
enum sched_plugin {
    SCHED_PLUGIN_NODE_UNSCHEDULABLE = 1u << 0,
    SCHED_PLUGIN_NODE_READY = 1u << 1,
    SCHED_PLUGIN_NODE_NAME = 1u << 2,
    SCHED_PLUGIN_TAINT_TOLERATION = 1u << 3,
    SCHED_PLUGIN_NODE_AFFINITY = 1u << 4,
    SCHED_PLUGIN_NODE_PORTS = 1u << 5,
    SCHED_PLUGIN_NODE_RESOURCES_FIT = 1u << 6,
    SCHED_PLUGIN_POD_TOPOLOGY_SPREAD = 1u << 7,
    SCHED_PLUGIN_INTER_POD_AFFINITY = 1u << 8,
};

/* Score plugins, the index into sched_node_score.scores. */
enum sched_score {
    SCHED_SCORE_LEAST_ALLOCATED,
    SCHED_SCORE_BALANCED_ALLOCATION,
    SCHED_SCORE_NODE_AFFINITY,
    SCHED_SCORE_INTER_POD_AFFINITY,
    SCHED_SCORE_TOPOLOGY_SPREAD,
    SCHED_SCORE_TAINT_TOLERATION,
    SCHED_SCORE_COUNT,
};

/* Kubernetes' default weights: 1 1 2 2 2 3, in enum sched_score order. */
extern const int sched_score_default_weights[SCHED_SCORE_COUNT];

/* One feasible node's normalized (0-100) score per plugin and the
 * weighted total. */
struct sched_node_score {
    const char *node; /* borrowed from the cache */
    int64_t scores[SCHED_SCORE_COUNT];
    int64_t total;
};

/* The outcome of one scheduling attempt. Set want_scores before the call
 * to get every feasible node's scores (tests, debugging). */
struct sched_result {
    int want_scores;
    const char *node;                /* chosen node (borrowed from the cache), NULL if none */
    size_t nodes;                    /* nodes considered */
    size_t feasible;                 /* nodes that passed every filter */
    unsigned failed;                 /* enum sched_plugin bits that rejected a node */
    char *message;                   /* when none is feasible: "0/5 nodes are available: ..." */
    struct sched_node_score *scores; /* want_scores: one per feasible node */
};

void sched_result_init(struct sched_result *res);
void sched_result_release(struct sched_result *res);

/* Weights of the score plugins (NULL: the defaults), and how many nodes
 * to look at: kube-scheduler's percentageOfNodesToScore, 0 for its
 * adaptive default (see sched_nodes_to_find), 100 for every node. */
struct sched_config {
    int weights[SCHED_SCORE_COUNT];
    unsigned percentage_of_nodes_to_score;
};

/* How many feasible nodes an attempt looks for among nodes before it
 * stops filtering (kube-scheduler's numFeasibleNodesToFind): every node
 * below 100 nodes; else percentage of them (0: adaptive, 50% minus 1%
 * per 125 nodes, at least 5%), never fewer than 100. */
size_t sched_nodes_to_find(unsigned percentage, size_t nodes);

/* Choose a node for pod: run every filter on the nodes of the cache,
 * from a node drawn from rng on, until sched_nodes_to_find of them are
 * feasible or every node was tried; score the feasible ones, take the
 * highest total, breaking ties uniformly at random from rng. Returns 0 with res->node set, 1 when
 * no node is feasible (res->message explains, in Kubernetes' words), or -EINVAL for a malformed
 * pod. The cache is not changed: the caller assumes the pod on res->node and binds. */
int sched_schedule_one(const struct sched_cache *cache, const json_t *pod, struct sched_rng *rng,
                       struct sched_result *res, struct sk_err *err);
/* The same with explicit weights and an already parsed pod. */
int sched_schedule_parsed(const struct sched_cache *cache, const struct sched_pod *pod,
                          const struct sched_config *cfg, struct sched_rng *rng,
                          struct sched_result *res, struct sk_err *err);

/* A histogram of per-node reasons, rendered as Kubernetes does for an
 * unschedulable pod: "0/5 nodes are available: 3 Insufficient cpu, 2
 * node(s) had untolerated taint {dedicated: gpu}." (counts descending,
 * then reasons in byte order). */
struct sched_explain;

struct sched_explain *sched_explain_new(void);
void sched_explain_free(struct sched_explain *ex);
/* Count one node rejected for reason (copied). */
void sched_explain_add(struct sched_explain *ex, const char *reason);
/* The message for nodes nodes in total; the caller free()s it. */
char *sched_explain_message(const struct sched_explain *ex, size_t nodes);

/* The scheduling queue (queue.c): pods waiting for a node.
 *   active          ready to be tried, highest spec.priority first, then
 *                   in arrival order;
 *   backoff         failed recently, waiting out an exponential delay
 *                   (initial, doubled per failed attempt, capped at max);
 *   unschedulable   parked until an event that may help them, or until
 *                   they waited unschedulable_max_ms.
 * Pods are keyed by namespace/name: adding a queued pod again updates it.
 * Time is passed in as milliseconds of a monotonic clock. */
struct sched_queue;

struct sched_queue_config {
    int64_t backoff_initial_ms;   /* 1000 */
    int64_t backoff_max_ms;       /* 10000 */
    int64_t unschedulable_max_ms; /* 60000 */
};

/* What happened in the cluster, for sched_queue_on_event(). */
enum sched_event {
    SCHED_EVENT_NODE_ADD,
    SCHED_EVENT_NODE_UPDATE, /* labels, taints, allocatable, unschedulable */
    SCHED_EVENT_POD_DELETE,  /* an assigned pod went away (frees resources) */
    SCHED_EVENT_POD_ADD,     /* an assigned pod appeared (affinity, spread) */
    SCHED_EVENT_POD_UPDATE,  /* an assigned pod changed (labels) */
};

/* NULL cfg: the defaults above. */
struct sched_queue *sched_queue_new(const struct sched_queue_config *cfg);
void sched_queue_free(struct sched_queue *q);

/* A pending pod (no spec.nodeName: the caller filters bound ones out)
 * was added or updated. A pod not queued yet goes to the
 * active queue; a queued one gets the new object, and a parked one is
 * given another chance (to backoff or active). A pod being scheduled
 * (popped, not yet reported back) keeps its place and the new object is
 * what the next attempt sees. -EINVAL for a pod without a name. */
int sched_queue_add(struct sched_queue *q, const json_t *pod, int64_t now_ms, struct sk_err *err);
/* The pod was deleted or bound by someone else: forget it. Returns 0,
 * or -ENOENT if it was not queued. */
int sched_queue_delete(struct sched_queue *q, const char *ns, const char *name);

/* Move pods whose back-off ended to active and flush pods parked longer
 * than unschedulable_max_ms. Call before pop. */
void sched_queue_tick(struct sched_queue *q, int64_t now_ms);
/* The next pod to schedule (a new reference), or NULL when the active
 * queue is empty. The pod is in flight until reported back with
 * sched_queue_done/_unschedulable/_error, or deleted. */
json_t *sched_queue_pop(struct sched_queue *q, int64_t now_ms);
/* The popped pod was bound: it leaves the queue. */
void sched_queue_done(struct sched_queue *q, const char *ns, const char *name);
/* The popped pod fit nowhere; failed holds the plugins that rejected
 * nodes (sched_result.failed). It is parked, unless an event that
 * concerns those plugins arrived while it was in flight: then it goes
 * to back-off straight away. */
void sched_queue_unschedulable(struct sched_queue *q, const char *ns, const char *name,
                               unsigned failed, int64_t now_ms);
/* The attempt failed for another reason (bind error): back-off. */
void sched_queue_error(struct sched_queue *q, const char *ns, const char *name, int64_t now_ms);
/* Move parked pods that kind may help to back-off (or active if their
 * back-off is over). Returns how many moved. */
size_t sched_queue_on_event(struct sched_queue *q, enum sched_event kind, int64_t now_ms);

/* Counts per sub-queue (in flight pods are in none). */
size_t sched_queue_active_len(const struct sched_queue *q);
size_t sched_queue_backoff_len(const struct sched_queue *q);
size_t sched_queue_unschedulable_len(const struct sched_queue *q);
/* The earliest time at which tick would move something (back-off end or
 * parking limit), or INT64_MAX if nothing waits. */
int64_t sched_queue_next_ms(const struct sched_queue *q);

/* ---- preemption (preempt.c) ----
 *
 * kube-scheduler's DefaultPreemption: a pod that fits nowhere may have
 * pods of lower spec.priority deleted from one node so that it fits
 * there. Only nodes that failed on something removing pods can fix are
 * candidates (resources, pod count, host ports, inter-pod
 * anti-affinity, spread): node name, selector and affinity, taints,
 * unschedulable and not-ready nodes are passed over by the first
 * filters. On each candidate every bound lower-priority pod is taken
 * off; if the pod then fits, they are put back one at a time, the most
 * important first (higher priority, then earlier start), and each that
 * leaves the pod fitting is spared ("reprieved"). The rest are the
 * node's victims. Among candidates the node is picked by, in order:
 * the lowest priority of its most important victim, the smallest sum of
 * victim priorities, the fewest victims, the latest start of its most
 * important victims, then node order. PodDisruptionBudgets are not
 * considered (skiff has none). Assumed pods (bind in flight) are never
 * victims. */

/* One pod to delete. */
struct sched_victim {
    json_t *pod;           /* a reference to the cached object */
    const char *ns, *name; /* valid while pod is */
    int64_t priority;
    bool terminating; /* already being deleted: no delete needed */
};

struct sched_preemption {
    char *node; /* chosen node, NULL if none */
    struct sched_victim *victims;
    size_t nvictims;
    size_t candidates; /* nodes where preemption would make the pod fit */
};

void sched_preemption_init(struct sched_preemption *p);
void sched_preemption_release(struct sched_preemption *p);

/* Whether pod may preempt at all: spec.preemptionPolicy is not "Never"
 * and, when it is nominated to a node (nominated non-NULL), no pod of
 * lower priority is still terminating there: its earlier preemption is
 * under way, and preempting again would take more victims than needed
 * (kube-scheduler's podEligibleToPreemptOthers). */
bool sched_preempt_eligible(const struct sched_cache *cache, const json_t *pod,
                            const char *nominated);

/* Find victims for pod (which fits nowhere as the cache stands). The
 * cache is changed during the call and restored exactly. Returns 0 with
 * out->node and the victims (highest priority first), 1 when pod is not
 * eligible or no node would help, -EINVAL for a malformed pod. */
int sched_preempt(struct sched_cache *cache, const json_t *pod, const char *nominated,
                  struct sched_preemption *out, struct sk_err *err);

/* Nominated pods (nominate.c): a preemptor waits for its victims to go
 * with status.nominatedNodeName set; meanwhile the room it freed must
 * not go to a pod of lower priority. The nominator remembers every
 * nomination; around each attempt, sched_nominator_hold() assumes the
 * nominated pods of priority at least the attempted pod's (itself
 * excepted) on their nominated nodes, so the filters, and preemption,
 * see their room as taken; sched_nominator_unhold() removes them
 * exactly (kube-scheduler's addNominatedPods). */
struct sched_nominator;

struct sched_nominator *sched_nominator_new(void);
void sched_nominator_free(struct sched_nominator *n);
/* Nominate pod (kept by reference; a later call replaces it) to node.
 * -EINVAL for a pod without a name or a malformed spec.priority. */
int sched_nominator_set(struct sched_nominator *n, const json_t *pod, const char *node,
                        struct sk_err *err);
/* 0, or -ENOENT if the pod was not nominated. */
int sched_nominator_remove(struct sched_nominator *n, const char *ns, const char *name);
/* The node pod is nominated to, or NULL. */
const char *sched_nominator_node(const struct sched_nominator *n, const char *ns, const char *name);
size_t sched_nominator_len(const struct sched_nominator *n);
/* Drop or refresh nominations: latest(ctx, ns, name) returns the pod's
 * current object, or NULL when it is gone or no longer waits for a
 * node (the nomination is then removed). Returns how many were removed. */
size_t sched_nominator_prune(struct sched_nominator *n,
                             const json_t *(*latest)(void *ctx, const char *ns, const char *name),
                             void *ctx);
/* Remove the nominations to node of pods of priority below prio: a
 * more important pod just preempted there and their room is no longer
 * theirs (kube-scheduler clears them too). fn, when not NULL, sees each
 * pod before it is dropped. Returns how many were removed. */
size_t sched_nominator_clear_lower(struct sched_nominator *n, const char *node, int64_t prio,
                                   void (*fn)(void *ctx, const json_t *pod), void *ctx);
/* Hold the room of nominated pods against pod (see above); returns how
 * many were placed. Calls must pair with unhold before the cache sees
 * any other change. */
size_t sched_nominator_hold(struct sched_nominator *n, struct sched_cache *cache,
                            const json_t *pod);
void sched_nominator_unhold(struct sched_nominator *n, struct sched_cache *cache);

/* ---- helpers of the runner (pure; status.c) ---- */

/* Whether this scheduler should place pod: no spec.nodeName,
 * spec.schedulerName absent, "default-scheduler" or "skiff", not being
 * deleted, and not terminal (status.phase Succeeded or Failed). */
bool sched_pod_wants_node(const json_t *pod);

/* The merge patch for pod's status that sets condition PodScheduled to
 * status ("False" or "True") with reason and message (NULL: none),
 * keeping the pod's other conditions (a merge patch replaces arrays
 * whole) and the transition time when the status stays the same. now is
 * an RFC 3339 time. Returns a new object, or NULL when the pod already
 * has exactly that condition (nothing to write). */
json_t *sched_condition_patch(const json_t *pod, const char *status, const char *reason,
                              const char *message, const char *now);

/* Whether a Node update can change a scheduling decision: labels,
 * spec (taints, unschedulable), status.allocatable or capacity, or the
 * Ready condition's status. A heartbeat that touches nothing else is false,
 * so it does not wake every parked pod. */
bool sched_node_changed(const json_t *old, const json_t *new_obj);

/* ---- the runner (runner.c): the scheduler inside skiffd ----
 *
 * The I/O edge of this module. It talks to the API server only through
 * an event-loop client (api/aclient.h): informers on Pods (all of them:
 * bound pods fill the cache) and Nodes feed the cache and the queue;
 * each popped pod is scheduled, assumed on its node and bound with the
 * `bind` verb without waiting for the answer, so many binds are in
 * flight at once. A bind that succeeds confirms the pod (and records a
 * "Scheduled" Event); one that fails is forgotten in the cache exactly
 * and the pod goes back to the queue, unless it is gone (404) or someone
 * else bound it (409). A pod that fits nowhere gets PodScheduled=False
 * with reason Unschedulable and the explanation, and a Warning Event
 * "FailedScheduling", and waits parked for a node or pod change.
 *
 * skiffd starts a runner when its store member becomes the Raft leader
 * and frees it when it stops leading. */
struct sk_loop;
struct sched_runner;

struct sched_runner_config {
    const char *server;              /* API UNIX socket path or host:port */
    const char *token;               /* NULL: none (UNIX socket peers are known) */
    const char *component;           /* Event source; NULL: "default-scheduler" */
    struct sched_queue_config queue; /* 0 fields: the defaults */
    int weights[SCHED_SCORE_COUNT];  /* all 0: the defaults */
    int64_t assume_ttl_ms;           /* 0: 30000 */
    uint64_t seed;                   /* tie breaks; 0: from the clock */
};

/* Start the client and the informers on loop; scheduling begins once
 * both informers have synced. Fails with -EINVAL for a bad server
 * address. */
int sched_runner_start(struct sk_loop *loop, const struct sched_runner_config *cfg,
                       struct sched_runner **out, struct sk_err *err);
/* Stop at once: close the connections and free everything. Binds in
 * flight are not waited for (their outcome is seen by the next leader's
 * informers). NULL is a no-op. */
void sched_runner_stop(struct sched_runner *r);

struct sched_runner_stats {
    uint64_t attempts;      /* pods tried */
    uint64_t bound;         /* binds that succeeded */
    uint64_t unschedulable; /* attempts that found no node */
    uint64_t bind_errors;   /* binds that failed (conflicts included) */
    size_t binding;         /* binds in flight */
};
void sched_runner_stats(const struct sched_runner *r, struct sched_runner_stats *out);

#endif
