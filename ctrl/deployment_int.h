#ifndef SKIFF_CTRL_DEPLOYMENT_INT_H
#define SKIFF_CTRL_DEPLOYMENT_INT_H

/* The Deployment controller's working state, shared by deployment.c
 * (input, claim, status) and deployment_rollout.c (strategies). The
 * reconcile runs on copies: every ReplicaSet it creates or changes is a
 * struct drs whose obj is a private copy, and the writes are read off
 * them at the end. */

#include "ctrl/ctrl_int.h"
#include "lib/selector.h"

struct drs {
    json_t *obj; /* private copy */
    const char *name;
    int64_t replicas; /* spec.replicas, kept equal to obj's */
    int64_t created;  /* creationTimestamp, ns */
    int64_t revision;
    int64_t st_replicas, st_ready, st_avail;
    int create, update, del;
};

struct dctx {
    const json_t *deploy;
    const json_t *pods;
    const json_t *rss; /* the namespace's ReplicaSets, for name collisions */
    int64_t now;
    int64_t replicas, generation, min_ready, rev_limit, deadline; /* -1: none */
    int64_t surge, unavail; /* resolved fenceposts (rolling only) */
    int64_t collision;      /* -1: none */
    int recreate, paused;
    json_t *tmpl;
    struct sk_selector sel;
    json_t *status;      /* working copy of status */
    json_t *annotations; /* working copy of metadata.annotations */
    struct drs *rs;      /* owned ReplicaSets */
    size_t nrs;
    long newi; /* index of the new ReplicaSet, -1 if none */
    struct ctrl_deploy_decision *d;
};

int64_t dctx_max_surge(const struct dctx *c);
int64_t dctx_max_unavailable(const struct dctx *c);
/* Set spec.replicas and the desired/max annotations; 1 if it changed. */
int drs_scale(struct dctx *c, struct drs *r, int64_t replicas, int always_annotate);
/* Template equality ignoring the pod-template-hash label. */
int ctrl_template_equal(const json_t *a, const json_t *b);
/* Find (or, with create, build) the new ReplicaSet; sets c->newi. */
int dctx_new_rs(struct dctx *c, int create, struct sk_err *err);
int dctx_scale(struct dctx *c);
/* NewRSNewReplicas: the new ReplicaSet's size allowed now. */
int64_t dctx_new_rs_replicas(struct dctx *c, struct drs *r);
/* DeploymentComplete against a status object. */
int dctx_complete(struct dctx *c, const json_t *status);
int dctx_rolling(struct dctx *c, struct sk_err *err);
int dctx_recreate(struct dctx *c, struct sk_err *err);
void dctx_cleanup(struct dctx *c);
/* Status: calculateStatus, then (rollout) the progress conditions. */
void dctx_status(struct dctx *c, int rollout);
/* Sort order helpers: indexes of owned ReplicaSets, oldest first. */
void dctx_sort_by_age(struct dctx *c, size_t *idx, size_t n);
int64_t drs_sum(const struct dctx *c, int which, int include_new);

enum { SUM_SPEC, SUM_STATUS, SUM_READY, SUM_AVAIL };

#endif
