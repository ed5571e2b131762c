#ifndef SKIFF_CTRL_H
#define SKIFF_CTRL_H

/* ctrl: the controller manager's pure cores (STYLE.md §5).
 *
 * Everything here takes data and returns decisions; nothing reads a
 * clock, a socket or a file. The wiring (informers, workers, API writes)
 * feeds objects in and carries the decisions out, so the decision logic
 * is tested with tables and a simulated world.
 *
 * Objects are Kubernetes-shaped JSON (v1 Pod, Service, Endpoints; apps/v1
 * ReplicaSet, Deployment) as jansson values; inputs are never modified.
 * Times are nanoseconds since the Unix epoch (now_ns), as the caller's
 * sk_clock_real_ns(); timestamps inside objects are RFC 3339.
 *
 * Hostile input (a wrong type, a missing required field) fails with
 * -EINVAL or -ENOENT and a message naming the field path, e.g.
 * "replicaset 'default/web': spec.replicas: must be an integer"..
 *
 * The wiring, per controller (what the informer/worker code does):
 *
 *   informer event -> ctrl_queue_add(key of the owner: the pod's
 *       controller ref, the Service of an Endpoints...); pod add/delete
 *       events also call ctrl_expectations_creation_observed /
 *       _deletion_observed for the owning ReplicaSet's key.
 *   worker: ctrl_queue_get -> read the objects from the informer cache
 *       -> ctrl_*_reconcile -> writes: ReplicaSet: adopt/release
 *       patches, then ctrl_expect_creations(create) and create d.pod
 *       in ctrl_slow_start_batch() batches (on a failed batch:
 *       ctrl_expectations_lower_creations(the skipped count) and pass
 *       "FailedCreate" and the error as failure_* next time), or
 *       ctrl_expect_deletions(deletes) and delete them; then the status
 *       if status_changed. Deployment: the writes in order, the
 *       annotations (if any) and the status with one status update.
 *   -> on error ctrl_queue_add_rate_limited, else ctrl_queue_forget;
 *       requeue_after_ns > 0 -> ctrl_queue_add_after; ctrl_queue_done.
 *   The reconciles are level-triggered: they read only the current
 *   objects (plus expectations), so a missed event, a restart or a new
 *   leader is repaired by the next sync of the key. */

#include "lib/err.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------------
 * Work queue (client-go's rate-limited, de-duplicating work queue).
 *
 * Keys are "namespace/name" strings. A key is in the queue at most once
 * ("dirty"); a key handed out by get() is "processing" until done(): if
 * it is added meanwhile it is queued again by done(), so one key is never
 * processed by two workers at once. add_after() parks a key until a due
 * time (keeping the earliest when parked twice); get() and next_due()
 * move due keys into the queue. add_rate_limited() parks a key for the
 * larger of its per-item back-off (5 ms * 2^failures, at most 1000 s)
 * and the overall token bucket (10 per second, burst 100), as client-go's
 * DefaultControllerRateLimiter; forget() resets the per-item back-off.
 * Time is always passed in (now_ns, any monotonic origin). */

struct ctrl_queue;

#define CTRL_QUEUE_BASE_DELAY_NS (5 * 1000 * 1000LL)
#define CTRL_QUEUE_MAX_DELAY_NS  (1000 * 1000 * 1000 * 1000LL)
#define CTRL_QUEUE_QPS           10
#define CTRL_QUEUE_BURST         100

/* A new, empty queue; the token bucket starts full at now_ns. */
struct ctrl_queue *ctrl_queue_new(int64_t now_ns);
void ctrl_queue_free(struct ctrl_queue *q);

/* Queue key now (no effect if already queued; deferred to done() while
 * processing). The key is copied. */
void ctrl_queue_add(struct ctrl_queue *q, const char *key);
/* Queue key once now_ns + delay_ns is reached; delay <= 0 is add(). */
void ctrl_queue_add_after(struct ctrl_queue *q, const char *key, int64_t delay_ns, int64_t now_ns);
/* add_after() with the rate limiter's delay, which is returned. Counts as
 * one more failure of key. */
int64_t ctrl_queue_add_rate_limited(struct ctrl_queue *q, const char *key, int64_t now_ns);
/* Hand out the oldest queued key, marking it processing: returns 1 and
 * stores the key (valid until done()) in *key, or 0 when nothing is due. */
int ctrl_queue_get(struct ctrl_queue *q, int64_t now_ns, const char **key);
/* Processing of key finished; re-queues it if it was added meanwhile. */
void ctrl_queue_done(struct ctrl_queue *q, const char *key);
/* Reset key's failure count (after a successful sync). */
void ctrl_queue_forget(struct ctrl_queue *q, const char *key);
int ctrl_queue_num_requeues(const struct ctrl_queue *q, const char *key);
/* Keys queued now (parked and processing ones not counted). */
size_t ctrl_queue_len(const struct ctrl_queue *q);
/* Earliest due time of a parked key, or -1 when none is parked: the
 * caller's timer. */
int64_t ctrl_queue_next_due(const struct ctrl_queue *q);

/* ---------------------------------------------------------------------
 * Expectations (Kubernetes' ControllerExpectations with UID tracking of
 * deletions): after a controller asks for N creations or for deletions
 * of given pods it must not act again on stale cache data until it has
 * observed them (through the informer) or 5 minutes have passed. Keyed
 * by the controller's "namespace/name". */

#define CTRL_EXPECTATIONS_TTL_NS (5 * 60 * 1000 * 1000 * 1000LL)

struct ctrl_expectations;

struct ctrl_expectations *ctrl_expectations_new(void);
void ctrl_expectations_free(struct ctrl_expectations *e);
/* Expect n creations (replaces any earlier record for key). */
void ctrl_expect_creations(struct ctrl_expectations *e, const char *key, int64_t n, int64_t now_ns);
/* Expect the deletion of the pods named by pod_keys ("ns/name"). */
void ctrl_expect_deletions(struct ctrl_expectations *e, const char *key,
                           const char *const *pod_keys, size_t n, int64_t now_ns);
/* The informer saw a pod of key created / the pod pod_key deleted. */
void ctrl_expectations_creation_observed(struct ctrl_expectations *e, const char *key);
void ctrl_expectations_deletion_observed(struct ctrl_expectations *e, const char *key,
                                         const char *pod_key);
/* n creations will never happen (slow start stopped early). */
void ctrl_expectations_lower_creations(struct ctrl_expectations *e, const char *key, int64_t n);
/* Forget key (the controller object was deleted). */
void ctrl_expectations_delete(struct ctrl_expectations *e, const char *key);
/* 1 when key may sync: no record, all observed, or the record expired. */
int ctrl_expectations_satisfied(const struct ctrl_expectations *e, const char *key, int64_t now_ns);

/* Slow start (Kubernetes' slowStartBatch): creations are sent in batches
 * of 1, 2, 4, ... and stop at the first batch with a failure, so a
 * broken template costs one failed call, not 500. Returns the size of
 * batch number index (0-based) out of total, 0 past the end. */
size_t ctrl_slow_start_batch(size_t total, size_t index);

/* ---------------------------------------------------------------------
 * ownerReferences. */

/* The ownerReference with controller: true in obj, or NULL (borrowed).
 * A malformed metadata.ownerReferences counts as none. */
const json_t *ctrl_owner_controller_ref(const json_t *obj);

/* Build {apiVersion, kind, name, uid, controller: true,
 * blockOwnerDeletion: true} for owner. Errors name the missing field. */
int ctrl_owner_ref_build(const json_t *owner, const char *api_version, const char *kind,
                         json_t **out, struct sk_err *err);

/* What a controller does with an object it sees (Kubernetes'
 * ControllerRefManager): ignore it (owned by someone else, or neither
 * owned nor matching), keep it (owned and matching), adopt it (an
 * orphan that matches and is not being deleted, while the owner is not
 * being deleted) or release it (owned but no longer matching, while the
 * owner is not being deleted). */
enum ctrl_claim {
    CTRL_CLAIM_IGNORE,
    CTRL_CLAIM_OWNED,
    CTRL_CLAIM_ADOPT,
    CTRL_CLAIM_RELEASE,
};

struct sk_selector;
enum ctrl_claim ctrl_owner_claim(const json_t *owner, const struct sk_selector *sel,
                                 const json_t *obj);

/* JSON merge patches (RFC 7386) for adopting obj (its ownerReferences
 * plus ref) and for releasing it (without the reference to owner_uid).
 * Both carry metadata.uid as a precondition, as Kubernetes' patches do. */
json_t *ctrl_owner_adopt_patch(const json_t *obj, const json_t *ref);
json_t *ctrl_owner_release_patch(const json_t *obj, const char *owner_uid);

/* ---------------------------------------------------------------------
 * Pod helpers shared by the controllers. */

/* Ready condition True; available: ready for more than min_ready_s
 * seconds (by the condition's lastTransitionTime) at now_ns. */
int ctrl_pod_ready(const json_t *pod);
int ctrl_pod_available(const json_t *pod, int64_t min_ready_s, int64_t now_ns);
/* Counted by controllers: not terminating, phase neither Succeeded nor
 * Failed (Kubernetes' FilterActivePods). */
int ctrl_pod_active(const json_t *pod);

/* The controllers' pod cache keeps this much of a pod (the informer's
 * transform, in place): metadata and status whole, of the spec only
 * nodeName, tolerations, restartPolicy, hostname, subdomain and each
 * container's name and ports. A pod's spec is most of its memory and
 * the controllers read little of it. */
void ctrl_pod_slim(json_t *pod);

/* Parse an RFC 3339 timestamp into ns since the epoch. -EINVAL on junk. */
int ctrl_time_parse(const char *s, int64_t *ns, struct sk_err *err);

/* ---------------------------------------------------------------------
 * Pod template hash (the pod-template-hash label and the suffix of a
 * Deployment's ReplicaSet names).
 *
 * FNV-32a over the canonical JSON of the template (keys sorted, compact,
 * jansson's JSON_SORT_KEYS|JSON_COMPACT) followed, when collision_count
 * >= 0, by its 4 bytes little-endian; then the decimal digits of the hash
 * are mapped one by one onto "bcdfghjklmnpqrstvwxz2456789" (digit byte
 * modulo 27, as Kubernetes' rand.SafeEncodeString), giving at most 10
 * characters without vowels. The same template always gives the same
 * hash; the values differ from Kubernetes' (which hashes Go's printing). */
#define CTRL_HASH_MAX 16
int ctrl_pod_template_hash(const json_t *template, int64_t collision_count, char out[CTRL_HASH_MAX],
                           struct sk_err *err);

/* ---------------------------------------------------------------------
 * ReplicaSet reconcile. */

#define CTRL_RS_BURST 500

struct ctrl_rs_input {
    const json_t *rs;
    const json_t *pods;                  /* every pod of the namespace, array */
    const struct ctrl_expectations *exp; /* NULL: always satisfied */
    int64_t now_ns;
    /* Outcome of the previous manage step (NULL when it succeeded):
     * "FailedCreate" / "FailedDelete" and the error text. */
    const char *failure_reason;
    const char *failure_message;
};

/* All JSON members are new references owned by the decision. */
struct ctrl_rs_decision {
    char key[320];            /* "namespace/name" */
    int satisfied;            /* expectations were satisfied: creates/deletes computed */
    int64_t create;           /* pods to create from pod (0..500) */
    json_t *pod;              /* the pod to create `create` times (generateName) */
    json_t *deletes;          /* pods to delete, most deletable first */
    json_t *adopt;            /* [{"pod": pod, "patch": merge patch}] */
    json_t *release;          /* same shape */
    json_t *status;           /* the new status */
    int status_changed;       /* differs from rs.status */
    int64_t requeue_after_ns; /* > 0: sync again after (minReadySeconds) */
};

void ctrl_rs_decision_init(struct ctrl_rs_decision *d);
void ctrl_rs_decision_release(struct ctrl_rs_decision *d);
/* Compute what the ReplicaSet controller does now. The caller records
 * ctrl_expect_creations(create) / ctrl_expect_deletions(deletes) before
 * acting. Fails only on malformed input; d is then released. */
int ctrl_rs_reconcile(const struct ctrl_rs_input *in, struct ctrl_rs_decision *d,
                      struct sk_err *err);

/* Sort pods (an array, in place) most deletable first, by Kubernetes'
 * ActivePods order: unassigned before assigned; Pending, Unknown, Running;
 * not ready before ready; ready for a shorter time first; more restarts
 * first; newer first; then by name. */
void ctrl_pods_sort_for_deletion(json_t *pods);

/* ---------------------------------------------------------------------
 * Deployment reconcile. */

#define CTRL_ANN_REVISION "deployment.kubernetes.io/revision"
#define CTRL_ANN_DESIRED  "deployment.kubernetes.io/desired-replicas"
#define CTRL_ANN_MAX      "deployment.kubernetes.io/max-replicas"
#define CTRL_LABEL_HASH   "pod-template-hash"

struct ctrl_deploy_input {
    const json_t *deploy;
    const json_t *rss;  /* every ReplicaSet of the namespace, array */
    const json_t *pods; /* every pod of the namespace (Recreate), array */
    int64_t now_ns;
};

enum ctrl_rs_op {
    CTRL_RS_CREATE,
    CTRL_RS_UPDATE, /* replace with obj (spec.replicas, annotations, minReadySeconds) */
    CTRL_RS_DELETE,
    CTRL_RS_ADOPT,   /* patch */
    CTRL_RS_RELEASE, /* patch */
};

struct ctrl_rs_write {
    enum ctrl_rs_op op;
    json_t *obj;   /* the ReplicaSet (new or updated; for DELETE the current one) */
    json_t *patch; /* ADOPT / RELEASE */
};

struct ctrl_deploy_decision {
    char key[320];                /* "namespace/name" */
    struct ctrl_rs_write *writes; /* in the order to apply */
    size_t nwrites;
    json_t *annotations; /* new metadata.annotations, or NULL if unchanged */
    json_t *status;      /* the new status */
    int status_changed;
    int64_t requeue_after_ns; /* > 0: sync again after (progress deadline) */
};

void ctrl_deploy_decision_init(struct ctrl_deploy_decision *d);
void ctrl_deploy_decision_release(struct ctrl_deploy_decision *d);
/* Compute what the Deployment controller does now (Kubernetes'
 * syncDeployment): adopt/release ReplicaSets, create the new one, scale
 * per strategy or proportionally, clean up history, compute status. */
int ctrl_deploy_reconcile(const struct ctrl_deploy_input *in, struct ctrl_deploy_decision *d,
                          struct sk_err *err);

/* Resolve maxSurge / maxUnavailable (int or "N%") against replicas:
 * surge rounds up, unavailable down; when both resolve to 0,
 * unavailable becomes 1. Both given as 0 is -EINVAL. Defaults 25%. */
int ctrl_deploy_fenceposts(const json_t *deploy, int64_t replicas, int64_t *surge,
                           int64_t *unavailable, struct sk_err *err);

/* `skiff rollout undo [--to-revision N]`: the template of the
 * ReplicaSet at to_revision (0: the previous revision) without its
 * pod-template-hash label, in *template (new reference), to be written
 * into the Deployment's spec.template. Returns 0, or 1 when that is
 * already the current template. -ENOENT "revision N not found". */
int ctrl_deployment_rollback(const json_t *deploy, const json_t *rss, int64_t to_revision,
                             json_t **template, struct sk_err *err);

/* ---------------------------------------------------------------------
 * Endpoints. */

/* The Endpoints object for svc from the namespace's pods (array): pods
 * matching spec.selector with an IP; ready ones (or all, with
 * publishNotReadyAddresses) in addresses, others in notReadyAddresses;
 * ports resolved by number or by container port name; pods grouped in
 * subsets by their resolved ports; everything sorted. Returns 0 and
 * *out, or 1 with *out NULL when svc has no selector (its Endpoints are
 * managed by hand). */
int ctrl_endpoints_compute(const json_t *svc, const json_t *pods, json_t **out, struct sk_err *err);

/* ---------------------------------------------------------------------
 * Garbage collector. */

enum ctrl_gc_action {
    CTRL_GC_KEEP,   /* no owners, or all owners exist */
    CTRL_GC_DELETE, /* every owner is gone: delete (background) */
    CTRL_GC_STRIP,  /* some owners gone: remove the dangling references */
};

/* Decide for obj given owner_exists(ctx, uid) (1 when an object with that
 * uid exists). For STRIP, *patch is a merge patch keeping only the
 * references to existing owners. Malformed ownerReferences: -EINVAL. */
int ctrl_gc_decide(const json_t *obj, int (*owner_exists)(void *ctx, const char *uid), void *ctx,
                   enum ctrl_gc_action *action, json_t **patch, struct sk_err *err);

/* ---------------------------------------------------------------------
 * Node lifecycle (Kubernetes' node lifecycle controller and taint
 * manager, in small). */

#define CTRL_TAINT_NOT_READY    "node.kubernetes.io/not-ready"
#define CTRL_TAINT_UNREACHABLE  "node.kubernetes.io/unreachable"
#define CTRL_NODE_GRACE_NS      (40 * 1000 * 1000 * 1000LL)
#define CTRL_TOLERATION_DEFAULT 300 /* s, DefaultTolerationSeconds */

struct ctrl_node_decision {
    const char *ready;        /* "True", "False" or "Unknown": after this decision */
    json_t *status;           /* new status (conditions Unknown), or NULL: unchanged */
    json_t *taints;           /* new spec.taints, or NULL: unchanged */
    int64_t requeue_after_ns; /* > 0: when the heartbeat goes stale */
};

void ctrl_node_decision_release(struct ctrl_node_decision *d);

/* A node whose Ready condition's lastHeartbeatTime (else its
 * creationTimestamp) is older than grace_ns gets every condition set to
 * Unknown (reason NodeStatusUnknown, "Kubelet stopped posting node
 * status."). Its taints then follow the Ready condition: Unknown ->
 * unreachable, False -> not-ready, each as NoSchedule and NoExecute
 * (timeAdded now, kept when already there); True -> neither. Other
 * taints are kept. */
int ctrl_node_decide(const json_t *node, int64_t now_ns, int64_t grace_ns,
                     struct ctrl_node_decision *d, struct sk_err *err);

/* 1 when toleration (a v1.Toleration) tolerates taint: key equal (or the
 * toleration's key empty with operator Exists), value equal for Equal,
 * effect equal or empty. */
int ctrl_tolerates(const json_t *toleration, const json_t *taint);

/* The taint manager for pod on a node with taints: -1 when the pod may
 * stay; else the time (ns since the epoch) at which it is to be evicted:
 * at once for a NoExecute taint it does not tolerate; the earliest
 * taint timeAdded + tolerationSeconds otherwise; never when every
 * NoExecute taint is tolerated without tolerationSeconds. A pod that
 * does not tolerate the not-ready / unreachable NoExecute taints is
 * treated as tolerating them for CTRL_TOLERATION_DEFAULT seconds (what
 * Kubernetes' DefaultTolerationSeconds admission adds to every pod). */
int64_t ctrl_pod_evict_at(const json_t *pod, const json_t *taints, int64_t now_ns);

/* Whether evictions must stop because the unhealthy nodes look like a
 * disruption of the control plane's view rather than of the nodes: all
 * of them unhealthy, or more than 55% of at least 3. */
int ctrl_nodes_disrupted(size_t unhealthy, size_t total);

/* ---------------------------------------------------------------------
 * Node IPAM (Kubernetes' cidrset): the subnets of the cluster CIDR that
 * nodes get as spec.podCIDR. IPv4; "a.b.c.d/len" strings. */

#define CTRL_CIDR_STRLEN   32
#define CTRL_CIDR_MAX_BITS 16 /* at most 65536 node subnets */

struct ctrl_cidr_set;

/* The set of /mask subnets of cluster_cidr, all free. -EINVAL for a bad
 * CIDR, a mask shorter than the cluster's prefix or longer than /30, or
 * more than 2^CTRL_CIDR_MAX_BITS subnets. */
int ctrl_cidr_set_new(const char *cluster_cidr, unsigned mask, struct ctrl_cidr_set **out,
                      struct sk_err *err);
void ctrl_cidr_set_free(struct ctrl_cidr_set *s);
/* Mark cidr (any prefix length: every subnet it overlaps) used: 1 when
 * it was already, 0 when newly; -ERANGE outside the cluster CIDR,
 * -EINVAL when not a CIDR. release() frees the same way (0). */
int ctrl_cidr_set_occupy(struct ctrl_cidr_set *s, const char *cidr, struct sk_err *err);
int ctrl_cidr_set_release(struct ctrl_cidr_set *s, const char *cidr, struct sk_err *err);
/* Take the next free subnet after the last one taken (round-robin) into
 * out; -ENOSPC when every one is used. */
int ctrl_cidr_set_allocate(struct ctrl_cidr_set *s, char out[CTRL_CIDR_STRLEN], struct sk_err *err);
/* Undo the last allocate() of cidr (the write that was to record it was
 * refused): free it and, when it was the latest, hand it out next. */
void ctrl_cidr_set_unallocate(struct ctrl_cidr_set *s, const char *cidr);
size_t ctrl_cidr_set_used(const struct ctrl_cidr_set *s);
size_t ctrl_cidr_set_size(const struct ctrl_cidr_set *s);

/* ---------------------------------------------------------------------
 * The controller manager: the I/O side (ctrl/manager.c and friends).
 *
 * Runs inside skiffd on the Raft leader only: the daemon starts it when
 * its member becomes leader and frees it when leadership is lost. It
 * talks to the API server like any client (api/aclient over the
 * server's own UNIX socket), with one shared informer per resource
 * (pods, replicasets, deployments, services, endpoints, nodes,
 * namespaces, serviceaccounts, secrets) feeding every controller's work
 * queue. The controllers: ReplicaSet, Deployment, Endpoints, the garbage
 * collector, node lifecycle, node IPAM (cluster_cidr), ServiceAccount
 * and token (namespace deletion is the API server's own sweep,
 * api/objects_ns.c).
 * Each has a
 * rate-limited de-duplicating queue (above) drained by `workers`
 * concurrent syncs on the one loop; a sync reads the informer caches,
 * runs the pure reconcile and carries its writes out. Nothing is
 * remembered across a restart except what is in the store, so a new
 * leader picks up where the old one stopped (level-triggered). */

struct sk_loop;
struct ctrl_manager;

struct ctrl_manager_config {
    const char *server;       /* the API server: UNIX socket path or host:port */
    const char *token;        /* NULL: none (the local socket's peer credentials) */
    uint32_t resync_ms;       /* informer resync; 0: 30000 */
    unsigned workers;         /* concurrent syncs per controller; 0: 5 */
    uint32_t node_grace_ms;   /* heartbeat grace period; 0: 40000 */
    const char *cluster_cidr; /* node IPAM's range; NULL: node IPAM off */
    unsigned node_cidr_mask;  /* size of each node's podCIDR; 0: 24 */
};

/* Start the informers and the controllers on loop. Fails only for a bad
 * configuration (-EINVAL): an unreachable server is retried. */
int ctrl_manager_start(struct sk_loop *loop, const struct ctrl_manager_config *cfg,
                       struct ctrl_manager **out, struct sk_err *err);

/* Stop everything at once (requests in flight are abandoned; their
 * outcome is read from the store by whoever runs next) and free. NULL
 * is fine. Safe to call from any loop callback except the manager's
 * own. */
void ctrl_manager_free(struct ctrl_manager *m);

/* Counters for tests and logs. */
struct ctrl_manager_stats {
    uint64_t syncs;    /* syncs finished */
    uint64_t failures; /* syncs that failed (requeued with back-off) */
    uint64_t writes;   /* write requests sent */
    int synced;        /* every informer has listed */
};
void ctrl_manager_stats(const struct ctrl_manager *m, struct ctrl_manager_stats *out);

/* Pure helper of the manager, exposed for tests: the merge patch
 * (RFC 7386) that turns old (an object or NULL) into new_obj at the top
 * level: new_obj's members, and null for members only old has. A new
 * reference. */
json_t *ctrl_merge_patch_top(const json_t *old, const json_t *new_obj);

/* The finalizers of obj without name, as a patch value: an array, or
 * JSON null when none would remain. New reference. */
json_t *ctrl_finalizers_without(const json_t *obj, const char *name);

/* ---------------------------------------------------------------------
 * Leader election of `skiffd controllers` (skiff-controllers(8)),
 * client-go's leaderelection over a coordination.k8s.io/v1 Lease:
 *
 *   {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
 *    "metadata": {"namespace": "kube-system", "name": "skiff-controllers"},
 *    "spec": {"holderIdentity": "host_1234", "leaseDurationSeconds": 15,
 *             "acquireTime": RFC 3339, "renewTime": RFC 3339,
 *             "leaseTransitions": 0}}
 *
 * Every candidate reads the Lease each retry period. Absent, it is
 * created (the store refuses a second create: one winner); held by the
 * candidate, renewTime is updated; held by another, the candidate waits
 * until the record has not changed for leaseDurationSeconds *as seen by
 * its own monotonic clock* (so clock skew between hosts does not
 * matter), then takes it over. Updates carry the resourceVersion read,
 * so of two candidates taking over one lease only one update succeeds
 * (409 Conflict for the other). A holder that could not renew for the
 * renew deadline (< the lease duration) stops leading before anybody
 * else may start. */

#define CTRL_LEASE_NAMESPACE "kube-system"
#define CTRL_LEASE_NAME      "skiff-controllers"

enum ctrl_lease_step {
    CTRL_LEASE_CREATE, /* no Lease: create it */
    CTRL_LEASE_RENEW,  /* ours: update renewTime */
    CTRL_LEASE_TAKE,   /* another's, expired or released: take it over */
    CTRL_LEASE_WAIT,   /* another's, still valid */
};

/* What candidate identity does with lease (NULL: absent), which it has
 * seen unchanged since observed_ns (monotonic, same origin as now_ns).
 * A Lease without a positive leaseDurationSeconds uses default_ns. */
enum ctrl_lease_step ctrl_lease_decide(const json_t *lease, const char *identity,
                                       int64_t observed_ns, int64_t now_ns, int64_t default_ns);

/* The Lease to write for step (CREATE, RENEW or TAKE) at real_ns: lease
 * (NULL for CREATE) with holderIdentity, leaseDurationSeconds and
 * renewTime set, acquireTime set and leaseTransitions counted up when
 * the holder changes, metadata.resourceVersion kept as the update's
 * precondition. A new reference. */
json_t *ctrl_lease_build(const json_t *lease, enum ctrl_lease_step step, const char *identity,
                         int64_t duration_s, int64_t real_ns);

struct sk_loop;
struct ctrl_elector;

struct ctrl_elector_config {
    const char *server;   /* the API server, as ctrl_manager_config */
    const char *token;    /* NULL: none */
    const char *identity; /* this candidate, unique: "host_pid" */
    uint32_t lease_ms;    /* leaseDurationSeconds * 1000; 0: 15000 */
    /* Leading changed; leading 0 also after the renew deadline passed
     * without a renewal. Called from the loop. */
    void (*on_change)(void *arg, int leading);
    void *arg;
};

/* Start campaigning on loop. -EINVAL for a bad configuration. */
int ctrl_elector_start(struct sk_loop *loop, const struct ctrl_elector_config *cfg,
                       struct ctrl_elector **out, struct sk_err *err);
/* Stop (no callback after this); the lease is left to expire. */
void ctrl_elector_free(struct ctrl_elector *e);
int ctrl_elector_leading(const struct ctrl_elector *e);
/* Give the lease up if held (holderIdentity emptied, so another
 * candidate takes over at its next retry) and call done once that
 * write is answered, failed, or after at most 2 s. done is called from
 * the loop, never from inside this call. */
void ctrl_elector_release(struct ctrl_elector *e, void (*done)(void *arg), void *arg);

#endif
