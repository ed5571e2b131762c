#ifndef SKIFF_CTRL_MANAGER_INT_H
#define SKIFF_CTRL_MANAGER_INT_H

/* The controller manager's private framework, shared by manager.c (the
 * loop side: queues, workers, jobs), informers.c (the shared caches and
 * their event routing) and run_*.c (one file per controller's I/O).
 *
 * A controller is a work queue plus a sync function. The manager's pump
 * hands a due key to a free worker slot as a job; the sync reads the
 * informer caches, decides (the pure cores in ctrl.h) and sends its
 * writes through ctrl_job_* calls. The job ends when the sync has
 * returned and every call it made has been answered: then the key is
 * forgotten (success) or re-queued with its back-off (any call failed),
 * and requeue_after_ns, when set, parks it for a later sync. */

#include "api/aclient.h"
#include "api/informer.h"
#include "ctrl/ctrl_int.h"

#include <stdbool.h>

enum ctrl_res {
    RES_PODS,
    RES_RS,
    RES_DEPLOY,
    RES_SVC,
    RES_EP,
    RES_NODES,
    RES_NS,
    RES_SA,
    RES_SECRETS,
    RES_N
};
enum ctrl_ctl_id {
    CTL_RS,
    CTL_DEPLOY,
    CTL_EP,
    CTL_GC,
    CTL_NODE,
    CTL_IPAM,
    CTL_SA,    /* key: a namespace */
    CTL_TOKEN, /* key: "ns/name" of a ServiceAccount */
    CTL_N
};

struct ctrl_job;

struct ctrl_ctl_ops {
    const char *name;      /* "replicaset" */
    const char *component; /* Event source: "replicaset-controller" */
    void (*sync)(struct ctrl_job *job);
};

struct ctrl_ctl {
    const struct ctrl_ctl_ops *ops;
    struct ctrl_manager *m;
    struct ctrl_queue *q;
    unsigned busy;
};

struct ctrl_res_arg {
    struct ctrl_manager *m;
    enum ctrl_res r;
};

struct ctrl_manager {
    struct sk_loop *loop;
    struct ctrl_res_arg res_arg[RES_N];
    struct api_aclient *c;
    struct api_informer *inf[RES_N];
    struct ctrl_ctl ctl[CTL_N];
    struct ctrl_expectations *rs_exp;
    json_t *rs_failures;   /* ReplicaSet key -> {reason, message} of the last failed manage */
    json_t *gc_gone;       /* uid -> true: owners confirmed gone by a live read */
    json_t *nodes_missing; /* node name -> monotonic ns it was first found missing */
    json_t *sa_pending;    /* ServiceAccount key -> {secret, at}: a token Secret created */
    struct ctrl_job *jobs;
    uint64_t timer;
    int64_t timer_due; /* monotonic ns; 0: no timer */
    unsigned workers;
    unsigned nsynced;
    int64_t node_grace_ns;
    struct ctrl_cidr_set *ipam; /* node IPAM's allocation map; NULL: off */
    double evict_tokens;        /* the eviction rate limiter (run_node.c) */
    int64_t evict_at_ns;
    size_t nodes_total;     /* the Nodes cached, kept by ctrl_nodes_observe */
    size_t nodes_unhealthy; /* of them not Ready=True (run_node.c) */
    struct ctrl_manager_stats stats;
};

/* Completion of one call of a job: rc 0 or the errno-like failure (the
 * call's ok flags already applied), obj the parsed response object
 * (borrowed, may be NULL). */
typedef void (*ctrl_call_fn)(struct ctrl_job *job, int rc, const json_t *obj,
                             const struct sk_err *err, void *arg);

/* Failures a call treats as success. */
#define CTRL_OK_NOTFOUND 1u /* the object is already gone */
#define CTRL_OK_EXISTS   2u
/* A failure of the call does not fail the job (fn decides). */
#define CTRL_OK_ANY 4u

struct ctrl_call;

struct ctrl_job {
    struct ctrl_ctl *ctl;
    struct ctrl_manager *m;
    char *key;
    int pending; /* calls in flight, +1 while the sync runs */
    int failed;
    int64_t requeue_after_ns;
    /* Runs once when pending drops to 0, before the job ends; it may
     * send more calls (the next slow-start batch). Cleared before it
     * runs: set it again to be called again. */
    void (*then)(struct ctrl_job *job);
    void *priv;
    void (*priv_free)(void *priv);
    struct ctrl_call *calls;
    struct ctrl_job *prev, *next;
};

/* manager.c */
/* Run the pump soon (informers.c, once the caches have synced). */
void ctrl_kick(struct ctrl_manager *m);
void ctrl_enqueue(struct ctrl_manager *m, enum ctrl_ctl_id id, const char *key);
void ctrl_enqueue_after(struct ctrl_manager *m, enum ctrl_ctl_id id, const char *key,
                        int64_t delay_ns);
/* A new call context of job (fn may be NULL); pass it as the arg of an
 * api_aclient_* call with ctrl_call_cb, then hand the returned acall to
 * ctrl_call_sent (NULL: the line was refused, the call fails now). */
struct ctrl_call *ctrl_call_new(struct ctrl_job *job, unsigned ok, ctrl_call_fn fn, void *arg);
void ctrl_call_cb(struct api_aclient *c, int rc, const struct api_resp *resp,
                  const struct sk_err *err, void *arg);
void ctrl_call_sent(struct ctrl_call *cc, struct api_acall *ac);
struct ctrl_job *ctrl_call_job(const struct ctrl_call *cc);
/* Record a failure of the job (logged once, re-queued with back-off). */
void ctrl_job_fail(struct ctrl_job *job, const struct sk_err *err);
/* An Event about obj from the job's controller (best effort). */
void ctrl_job_event(struct ctrl_job *job, const json_t *obj, const char *type, const char *reason,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The common writes. */
void ctrl_job_create(struct ctrl_job *job, const json_t *obj, unsigned ok, ctrl_call_fn fn,
                     void *arg);
void ctrl_job_update(struct ctrl_job *job, const json_t *obj, ctrl_call_fn fn, void *arg);
void ctrl_job_patch(struct ctrl_job *job, const char *resource, const char *ns, const char *name,
                    const char *sub, const json_t *patch, ctrl_call_fn fn, void *arg);
void ctrl_job_delete(struct ctrl_job *job, const char *resource, const char *ns, const char *name,
                     const char *uid, const char *propagation, ctrl_call_fn fn, void *arg);
/* Patch the top level of status from old_status to new_status. */
void ctrl_job_status(struct ctrl_job *job, const char *resource, const json_t *obj,
                     const json_t *new_status);

/* Split "ns/name" (a queue key) into ns and name buffers. */
int ctrl_key_split(const char *key, char *ns, size_t nsz, char *name, size_t namesz);
int64_t ctrl_now_real(void);

/* informers.c */
int ctrl_informers_start(struct ctrl_manager *m, uint32_t resync_ms, struct sk_err *err);
void ctrl_informers_free(struct ctrl_manager *m);
const char *ctrl_res_name(enum ctrl_res r);
/* The informer for a kind ("Pod", "ReplicaSet"...), or RES_N. */
enum ctrl_res ctrl_res_of_kind(const char *kind);
/* The objects of resource r in namespace ns, sorted (new array). */
json_t *ctrl_cache_list(struct ctrl_manager *m, enum ctrl_res r, const char *ns);
/* What a controller with this uid may own in namespace ns (pods only):
 * the objects it controls and the orphans it may adopt, not the whole
 * namespace, so a sync costs its own pods, not everyone's. */
json_t *ctrl_cache_claimable(struct ctrl_manager *m, enum ctrl_res r, const char *ns,
                             const char *uid);
/* Objects whose ownerReferences name uid, over every informer: calls fn
 * with the resource of each; returns the count. */
size_t ctrl_cache_dependents(struct ctrl_manager *m, const char *uid,
                             void (*fn)(enum ctrl_res r, const json_t *obj, void *arg), void *arg);
/* 1 when some cached object of resource r has uid. */
int ctrl_cache_has_uid(struct ctrl_manager *m, enum ctrl_res r, const char *uid);

/* run_*.c: the controllers. */
extern const struct ctrl_ctl_ops ctrl_rs_ops, ctrl_deploy_ops, ctrl_ep_ops, ctrl_gc_ops,
    ctrl_node_ops, ctrl_ipam_ops, ctrl_sa_ops, ctrl_token_ops;
/* The GC's share of informer events: enqueue what the change concerns. */
void ctrl_gc_observe(struct ctrl_manager *m, enum ctrl_res r, const json_t *obj, int deleted);
/* Node IPAM's share of node events: occupy a podCIDR seen, release a
 * deleted Node's, enqueue Nodes still without one. */
void ctrl_ipam_observe(struct ctrl_manager *m, const json_t *node, int deleted);
/* run_node.c: a Node added, changed or deleted (the disruption counts). */
void ctrl_nodes_observe(struct ctrl_manager *m, const json_t *old, const json_t *obj, int deleted);
/* The ServiceAccount and token controllers' share of namespace,
 * ServiceAccount and Secret events (run_serviceaccount.c). */
void ctrl_sa_observe(struct ctrl_manager *m, enum ctrl_res r, const json_t *obj);

#endif
