/* Deployment scaling and strategies on the working state of
 * deployment.c, after Kubernetes' pkg/controller/deployment (sync.go
 * scale, rolling.go, recreate.go, cleanupDeployment).
 *
 * Invariants of a RollingUpdate step, which the tests check at every
 * step of a simulated rollout: the sum of spec.replicas never exceeds
 * replicas + maxSurge, and old ReplicaSets are only scaled down by as
 * many pods as keep replicas - maxUnavailable available. */

#include "ctrl/deployment_int.h"
#include "lib/alloc.h"
#include "lib/json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* How many pods r gains (loses) when the Deployment grows by to_add,
 * proportionally to its share (Kubernetes' GetProportion). */
static int64_t
proportion(struct dctx *c, struct drs *r, int64_t to_add, int64_t added)
{
    int64_t total = c->replicas + dctx_max_surge(c), annotated, size, allowed = to_add - added;

    if (r->replicas == 0 || to_add == 0 || to_add == added)
        return 0;
    if (c->replicas == 0) {
        size = -r->replicas;
    } else {
        annotated = ctrl_ann_int(r->obj, "metadata.annotations[\"" CTRL_ANN_MAX "\"]", -1);
        if (annotated < 0)
            sk_json_opt_int(c->deploy, "status.replicas", 0, &annotated, NULL);
        if (annotated <= 0)
            return 0;
        /* math.Round of replicas * total / annotated, all non-negative */
        size = (2 * r->replicas * total + annotated) / (2 * annotated) - r->replicas;
    }
    if (to_add > 0)
        return size < allowed ? size : allowed;
    return size > allowed ? size : allowed;
}

static int
age_newer(const struct drs *a, const struct drs *b)
{
    if (a->created != b->created)
        return a->created > b->created;
    return strcmp(a->name, b->name) > 0;
}

static int
size_cmp(struct dctx *c, size_t a, size_t b, int newer_first)
{
    if (c->rs[a].replicas != c->rs[b].replicas)
        return c->rs[a].replicas > c->rs[b].replicas ? -1 : 1;
    if (c->rs[a].created != c->rs[b].created)
        return (c->rs[a].created > c->rs[b].created) == newer_first ? -1 : 1;
    return strcmp(c->rs[a].name, c->rs[b].name);
}

static void
proportional(struct dctx *c, size_t *idx, size_t n)
{
    int64_t allowed = c->replicas > 0 ? c->replicas + dctx_max_surge(c) : 0;
    int64_t to_add = allowed - drs_sum(c, SUM_SPEC, 1), added = 0;
    int64_t *size = sk_calloc(n + 1, sizeof(*size));
    size_t i, j;

    for (i = 1; i < n; i++) {
        size_t v = idx[i];

        for (j = i; j > 0 && size_cmp(c, idx[j - 1], v, to_add > 0) > 0; j--)
            idx[j] = idx[j - 1];
        idx[j] = v;
    }
    for (i = 0; i < n; i++) {
        int64_t p = proportion(c, &c->rs[idx[i]], to_add, added);

        size[i] = c->rs[idx[i]].replicas + p;
        added += p;
    }
    /* Leftovers from rounding go to the largest ReplicaSet. */
    if (n > 0 && to_add != 0) {
        size[0] += to_add - added;
        if (size[0] < 0)
            size[0] = 0;
    }
    for (i = 0; i < n; i++)
        drs_scale(c, &c->rs[idx[i]], size[i], 1);
    free(size);
}

static int
saturated(struct dctx *c)
{
    struct drs *r = c->newi >= 0 ? &c->rs[c->newi] : NULL;

    return r && r->replicas == c->replicas && r->st_avail == c->replicas &&
           ctrl_ann_int(r->obj, "metadata.annotations[\"" CTRL_ANN_DESIRED "\"]", -1) ==
               c->replicas;
}

/* Kubernetes' scale(): one active (or the latest) ReplicaSet takes the
 * whole count; a saturated new one ends the old ones; otherwise the
 * difference is spread proportionally (RollingUpdate only). */
int
dctx_scale(struct dctx *c)
{
    size_t *idx = sk_calloc(c->nrs + 1, sizeof(*idx)), n = 0, i;
    long target = -1;

    for (i = 0; i < c->nrs; i++)
        if (!c->rs[i].del && c->rs[i].replicas > 0)
            idx[n++] = i;
    if (n == 1)
        target = (long)idx[0];
    if (n == 0 && c->newi >= 0)
        target = c->newi;
    for (i = 0; n == 0 && c->newi < 0 && i < c->nrs; i++)
        if (!c->rs[i].del && (target < 0 || age_newer(&c->rs[i], &c->rs[target])))
            target = (long)i;
    if (n <= 1) {
        if (target >= 0)
            drs_scale(c, &c->rs[target], c->replicas, 0);
    } else if (saturated(c)) {
        for (i = 0; i < n; i++)
            if ((long)idx[i] != c->newi)
                drs_scale(c, &c->rs[idx[i]], 0, 1);
    } else if (!c->recreate) {
        proportional(c, idx, n);
    }
    free(idx);
    return 0;
}

/* Indexes of the live old ReplicaSets with replicas, oldest first. */
static size_t
active_old(struct dctx *c, size_t *idx)
{
    size_t i, n = 0;

    for (i = 0; i < c->nrs; i++)
        if (!c->rs[i].del && (long)i != c->newi && c->rs[i].replicas > 0)
            idx[n++] = i;
    dctx_sort_by_age(c, idx, n);
    return n;
}

/* Scale down old ReplicaSets' unavailable pods first: they serve nothing
 * and would otherwise block the rollout (cleanupUnhealthyReplicas). */
static int64_t
cleanup_unhealthy(struct dctx *c, size_t *idx, size_t n, int64_t max)
{
    int64_t total = 0;
    size_t i;

    for (i = 0; i < n && total < max; i++) {
        struct drs *r = &c->rs[idx[i]];
        int64_t k = r->replicas - r->st_avail;

        if (r->replicas == 0 || k <= 0)
            continue;
        if (k > max - total)
            k = max - total;
        drs_scale(c, r, r->replicas - k, 0);
        total += k;
    }
    return total;
}

static int64_t
scale_down_old(struct dctx *c, size_t *idx, size_t n)
{
    int64_t min_avail = c->replicas - dctx_max_unavailable(c);
    int64_t avail = drs_sum(c, SUM_AVAIL, 1), want, total = 0;
    size_t i;

    if (avail <= min_avail)
        return 0;
    want = avail - min_avail;
    for (i = 0; i < n && total < want; i++) {
        struct drs *r = &c->rs[idx[i]];
        int64_t k = r->replicas < want - total ? r->replicas : want - total;

        if (r->replicas == 0)
            continue;
        drs_scale(c, r, r->replicas - k, 0);
        total += k;
    }
    return total;
}

/* reconcileOldReplicaSets: 1 if anything was scaled down. */
static int
reconcile_old(struct dctx *c)
{
    struct drs *nr = &c->rs[c->newi];
    size_t *idx = sk_calloc(c->nrs + 1, sizeof(*idx)), n = active_old(c, idx);
    int64_t min_avail = c->replicas - dctx_max_unavailable(c), max_down, done = 0;

    max_down = drs_sum(c, SUM_SPEC, 1) - min_avail - (nr->replicas - nr->st_avail);
    if (drs_sum(c, SUM_SPEC, 0) > 0 && max_down > 0) {
        done = cleanup_unhealthy(c, idx, n, max_down);
        done += scale_down_old(c, idx, n);
    }
    free(idx);
    return done > 0;
}

static int
complete(struct dctx *c, const json_t *st)
{
    int64_t upd = 0, rep = 0, avail = 0, gen = 0;

    sk_json_opt_int(st, "updatedReplicas", 0, &upd, NULL);
    sk_json_opt_int(st, "replicas", 0, &rep, NULL);
    sk_json_opt_int(st, "availableReplicas", 0, &avail, NULL);
    sk_json_opt_int(st, "observedGeneration", 0, &gen, NULL);
    return upd == c->replicas && rep == c->replicas && avail == c->replicas && gen >= c->generation;
}

int
dctx_complete(struct dctx *c, const json_t *status)
{
    return complete(c, status);
}

int
dctx_rolling(struct dctx *c, struct sk_err *err)
{
    struct drs *nr;
    int rc = dctx_new_rs(c, 1, err);

    if (rc < 0 || c->newi < 0)
        return rc;
    nr = &c->rs[c->newi];
    if (nr->replicas > c->replicas && drs_scale(c, nr, c->replicas, 0))
        return 0;
    if (nr->replicas < c->replicas && drs_scale(c, nr, dctx_new_rs_replicas(c, nr), 0))
        return 0;
    if (reconcile_old(c))
        return 0;
    if (complete(c, c->status))
        dctx_cleanup(c);
    return 0;
}

/* Recreate waits for every pod of an old ReplicaSet to be gone, also
 * terminating ones: two versions must never run side by side. */
static int
old_pods_running(struct dctx *c)
{
    json_t *pod;
    size_t i, j;

    if (drs_sum(c, SUM_STATUS, 0) > 0)
        return 1;
    json_array_foreach (c->pods, i, pod) {
        const json_t *ref = ctrl_owner_controller_ref(pod);
        const char *uid = json_string_value(json_object_get(ref, "uid"));
        const char *phase = json_string_value(sk_json_get(pod, "status.phase"));

        if (!uid || (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))))
            continue;
        for (j = 0; j < c->nrs; j++) {
            const char *ruid = json_string_value(sk_json_get(c->rs[j].obj, "metadata.uid"));

            if ((long)j != c->newi && ruid && strcmp(ruid, uid) == 0)
                return 1;
        }
    }
    return 0;
}

int
dctx_recreate(struct dctx *c, struct sk_err *err)
{
    size_t *idx = sk_calloc(c->nrs + 2, sizeof(*idx)), n, i;
    int rc = dctx_new_rs(c, 0, err), scaled = 0;

    n = rc < 0 ? 0 : active_old(c, idx);
    for (i = 0; i < n; i++)
        scaled |= drs_scale(c, &c->rs[idx[i]], 0, 0);
    free(idx);
    if (rc < 0 || scaled || old_pods_running(c))
        return rc;
    if (c->newi < 0 && ((rc = dctx_new_rs(c, 1, err)) < 0 || c->newi < 0))
        return rc;
    drs_scale(c, &c->rs[c->newi], c->replicas, 0);
    if (complete(c, c->status))
        dctx_cleanup(c);
    return 0;
}

static int
revision_cmp(struct dctx *c, size_t a, size_t b)
{
    if (c->rs[a].revision != c->rs[b].revision)
        return c->rs[a].revision < c->rs[b].revision ? -1 : 1;
    return c->rs[a].created < c->rs[b].created ? -1 : c->rs[a].created > c->rs[b].created;
}

/* Delete the oldest revisions beyond revisionHistoryLimit, but only
 * ReplicaSets that are fully scaled down and observed so. */
void
dctx_cleanup(struct dctx *c)
{
    size_t *idx = sk_calloc(c->nrs + 1, sizeof(*idx)), n = 0, i, j;

    for (i = 0; i < c->nrs; i++)
        if (!c->rs[i].del && !c->rs[i].create && (long)i != c->newi &&
            !ctrl_obj_deleting(c->rs[i].obj))
            idx[n++] = i;
    for (i = 1; i < n; i++) {
        size_t v = idx[i];

        for (j = i; j > 0 && revision_cmp(c, idx[j - 1], v) > 0; j--)
            idx[j] = idx[j - 1];
        idx[j] = v;
    }
    for (i = 0; (int64_t)n > c->rev_limit && i < n - (size_t)c->rev_limit; i++) {
        struct drs *r = &c->rs[idx[i]];
        int64_t gen = 0, obs = 0;

        sk_json_opt_int(r->obj, "metadata.generation", 0, &gen, NULL);
        sk_json_opt_int(r->obj, "status.observedGeneration", 0, &obs, NULL);
        if (r->st_replicas != 0 || r->replicas != 0 || gen > obs)
            continue;
        r->del = 1;
    }
    free(idx);
}
