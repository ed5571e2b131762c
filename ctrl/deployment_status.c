/* A Deployment's status (Kubernetes' calculateStatus, syncRolloutStatus
 * and requeueStuckDeployment in pkg/controller/deployment/progress.go):
 * counts summed over its ReplicaSets, the Available condition, and the
 * Progressing condition whose lastUpdateTime moves only when the rollout
 * makes progress, so progressDeadlineSeconds measures time without any. */

#include "ctrl/deployment_int.h"
#include "lib/json.h"

#include <stdio.h>
#include <string.h>

static int64_t
num(const json_t *st, const char *key)
{
    return json_integer_value(json_object_get(st, key));
}

static const char *
cond_str(const json_t *cond, const char *key)
{
    const char *s = json_string_value(json_object_get(cond, key));

    return s ? s : "";
}

static json_t *
calculate(struct dctx *c)
{
    int64_t avail = drs_sum(c, SUM_AVAIL, 1), unavail = drs_sum(c, SUM_SPEC, 1) - avail;
    int64_t updated = c->newi >= 0 ? c->rs[c->newi].st_replicas : 0;
    json_t *st, *conds;

    st = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "observedGeneration",
                   (json_int_t)c->generation, "replicas", (json_int_t)drs_sum(c, SUM_STATUS, 1),
                   "updatedReplicas", (json_int_t)updated, "readyReplicas",
                   (json_int_t)drs_sum(c, SUM_READY, 1), "availableReplicas", (json_int_t)avail,
                   "unavailableReplicas", (json_int_t)(unavail > 0 ? unavail : 0));
    conds = json_deep_copy(json_object_get(c->status, "conditions"));
    if (avail >= c->replicas - dctx_max_unavailable(c))
        ctrl_cond_set(conds, "Available", "True", "MinimumReplicasAvailable",
                      "Deployment has minimum availability.", c->now, 1);
    else
        ctrl_cond_set(conds, "Available", "False", "MinimumReplicasUnavailable",
                      "Deployment does not have minimum availability.", c->now, 1);
    json_object_set_new(st, "conditions", conds);
    if (c->collision >= 0)
        json_object_set_new(st, "collisionCount", json_integer(c->collision));
    return st;
}

/* Any pod more updated, ready or available, or fewer old ones. */
static int
progressing(const json_t *old, const json_t *st)
{
    return num(st, "updatedReplicas") > num(old, "updatedReplicas") ||
           num(st, "replicas") - num(st, "updatedReplicas") <
               num(old, "replicas") - num(old, "updatedReplicas") ||
           num(st, "readyReplicas") > num(old, "readyReplicas") ||
           num(st, "availableReplicas") > num(old, "availableReplicas");
}

/* ns at which the Progressing condition runs out, or -1. */
static int64_t
deadline_at(struct dctx *c, const json_t *cond)
{
    int64_t at;

    if (ctrl_time_parse(json_string_value(json_object_get(cond, "lastUpdateTime")), &at, NULL) < 0)
        return -1;
    return at + c->deadline * 1000000000LL;
}

static int
timed_out(struct dctx *c, const json_t *st)
{
    json_t *cond = ctrl_cond_find(json_object_get(st, "conditions"), "Progressing");
    int64_t at;

    if (!cond || !strcmp(cond_str(cond, "reason"), "NewReplicaSetAvailable"))
        return 0;
    if (!strcmp(cond_str(cond, "reason"), "ProgressDeadlineExceeded"))
        return 1;
    at = deadline_at(c, cond);
    return at >= 0 && at < c->now;
}

static void
progress(struct dctx *c, json_t *st)
{
    json_t *conds = json_object_get(st, "conditions");
    json_t *cur = ctrl_cond_find(json_object_get(c->status, "conditions"), "Progressing");
    const char *dname = json_string_value(sk_json_get(c->deploy, "metadata.name"));
    char msg[512];
    const char *what = c->newi >= 0 ? "ReplicaSet" : "Deployment";
    const char *name = c->newi >= 0 ? c->rs[c->newi].name : dname;

    if (num(st, "replicas") == num(st, "updatedReplicas") && cur &&
        !strcmp(cond_str(cur, "reason"), "NewReplicaSetAvailable"))
        return;
    if (dctx_complete(c, st)) {
        snprintf(msg, sizeof(msg), "%s \"%s\" has successfully progressed.", what, name);
        ctrl_cond_set(conds, "Progressing", "True", "NewReplicaSetAvailable", msg, c->now, 1);
    } else if (progressing(c->status, st)) {
        json_t *transition = NULL;

        snprintf(msg, sizeof(msg), "%s \"%s\" is progressing.", what, name);
        /* Same reason again must still move lastUpdateTime: replace. */
        if (cur && !strcmp(cond_str(cur, "status"), "True"))
            transition = json_incref(json_object_get(cur, "lastTransitionTime"));
        ctrl_cond_remove(conds, "Progressing");
        ctrl_cond_set(conds, "Progressing", "True", "ReplicaSetUpdated", msg, c->now, 1);
        if (transition)
            json_object_set_new(ctrl_cond_find(conds, "Progressing"), "lastTransitionTime",
                                transition);
    } else if (timed_out(c, st)) {
        snprintf(msg, sizeof(msg), "%s \"%s\" has timed out progressing.", what, name);
        ctrl_cond_set(conds, "Progressing", "False", "ProgressDeadlineExceeded", msg, c->now, 1);
    }
}

/* The ReplicaFailure condition of the new (else any) ReplicaSet. */
static void
replica_failure(struct dctx *c, json_t *st)
{
    json_t *conds = json_object_get(st, "conditions"), *f = NULL;
    size_t i;

    if (c->newi >= 0)
        f = ctrl_cond_find(sk_json_get(c->rs[c->newi].obj, "status.conditions"), "ReplicaFailure");
    for (i = 0; !f && i < c->nrs; i++)
        if (!c->rs[i].del)
            f = ctrl_cond_find(sk_json_get(c->rs[i].obj, "status.conditions"), "ReplicaFailure");
    if (f && !strcmp(cond_str(f, "status"), "True"))
        ctrl_cond_set(conds, "ReplicaFailure", "True", cond_str(f, "reason"),
                      cond_str(f, "message"), c->now, 1);
    else
        ctrl_cond_remove(conds, "ReplicaFailure");
}

/* Look again when the deadline would pass without progress. */
static void
requeue_stuck(struct dctx *c, const json_t *st)
{
    json_t *cond = ctrl_cond_find(json_object_get(st, "conditions"), "Progressing");
    int64_t at;

    if (c->deadline < 0 || !cond || dctx_complete(c, st) ||
        !strcmp(cond_str(cond, "reason"), "ProgressDeadlineExceeded"))
        return;
    at = deadline_at(c, cond);
    if (at < 0)
        return;
    c->d->requeue_after_ns = at - c->now < 1000000000LL ? 1 : at - c->now + 1000000000LL;
}

void
dctx_status(struct dctx *c, int rollout)
{
    json_t *st = calculate(c);

    if (rollout) {
        if (c->deadline < 0)
            ctrl_cond_remove(json_object_get(st, "conditions"), "Progressing");
        else
            progress(c, st);
        replica_failure(c, st);
        requeue_stuck(c, st);
    }
    json_decref(c->status);
    c->status = st;
}
