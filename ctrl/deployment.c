/* The Deployment controller's reconcile (Kubernetes' DeploymentController
 * .syncDeployment) as a pure function: input reading, ReplicaSet
 * claiming, the status with its Available and Progressing conditions,
 * and the dispatch between deletion, pause, scaling and rollout. The
 * strategies live in deployment_rollout.c. */

#include "ctrl/deployment_int.h"
#include "lib/alloc.h"
#include "lib/json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void
ctrl_deploy_decision_init(struct ctrl_deploy_decision *d)
{
    memset(d, 0, sizeof(*d));
}

void
ctrl_deploy_decision_release(struct ctrl_deploy_decision *d)
{
    size_t i;

    for (i = 0; i < d->nwrites; i++) {
        json_decref(d->writes[i].obj);
        json_decref(d->writes[i].patch);
    }
    free(d->writes);
    json_decref(d->annotations);
    json_decref(d->status);
    ctrl_deploy_decision_init(d);
}

static void
write_add(struct ctrl_deploy_decision *d, enum ctrl_rs_op op, json_t *obj, json_t *patch)
{
    d->writes = sk_reallocarray(d->writes, d->nwrites + 1, sizeof(*d->writes));
    d->writes[d->nwrites].op = op;
    d->writes[d->nwrites].obj = obj;
    d->writes[d->nwrites].patch = patch;
    d->nwrites++;
}

/* An int or "N%" of replicas, rounded up or down. */
static int
scaled_value(const json_t *deploy, const char *path, int64_t replicas, int up, int64_t *out,
             struct sk_err *err)
{
    json_t *v = sk_json_get(deploy, path);
    const char *s;
    char *end;
    long pct;

    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = json_integer_value(v);
        return 0;
    }
    s = json_string_value(v);
    if (!s)
        return sk_err_set(err, EINVAL, "%s: must be a non-negative integer or a percentage", path);
    pct = strtol(s, &end, 10);
    if (end == s || strcmp(end, "%") != 0 || pct < 0 || pct > 100 || s[0] == '-' || s[0] == '+')
        return sk_err_set(err, EINVAL, "%s: '%.32s': must be a percentage like '25%%'", path, s);
    *out = up ? (pct * replicas + 99) / 100 : pct * replicas / 100;
    return 0;
}

static int
literal_zero(const json_t *v)
{
    const char *s = json_string_value(v);

    return (json_is_integer(v) && json_integer_value(v) == 0) || (s && strcmp(s, "0%") == 0);
}

int
ctrl_deploy_fenceposts(const json_t *deploy, int64_t replicas, int64_t *surge, int64_t *unavailable,
                       struct sk_err *err)
{
    const char *ps = "spec.strategy.rollingUpdate.maxSurge";
    const char *pu = "spec.strategy.rollingUpdate.maxUnavailable";
    json_t *vs = sk_json_get(deploy, ps), *vu = sk_json_get(deploy, pu);
    int rc;

    if (vs && !json_is_null(vs) && vu && !json_is_null(vu) && literal_zero(vs) && literal_zero(vu))
        return sk_err_set(err, EINVAL, "%s: may not be 0 when maxSurge is 0", pu);
    *surge = (replicas * 25 + 99) / 100;
    *unavailable = replicas * 25 / 100;
    if (vs && !json_is_null(vs) && (rc = scaled_value(deploy, ps, replicas, 1, surge, err)) < 0)
        return rc;
    if (vu && !json_is_null(vu) &&
        (rc = scaled_value(deploy, pu, replicas, 0, unavailable, err)) < 0)
        return rc;
    /* Rounding down may turn a percentage into 0; Kubernetes then allows
     * one unavailable pod so the rollout can move at all. */
    if (*surge == 0 && *unavailable == 0)
        *unavailable = 1;
    return 0;
}

int64_t
dctx_max_surge(const struct dctx *c)
{
    return c->recreate ? 0 : c->surge;
}

int64_t
dctx_max_unavailable(const struct dctx *c)
{
    if (c->recreate || c->replicas == 0)
        return 0;
    return c->unavail > c->replicas ? c->replicas : c->unavail;
}

static int
read_spec(struct dctx *c, struct sk_err *err)
{
    const json_t *dp = c->deploy;
    const char *type;
    json_t *selector, *labels;
    bool paused;
    int rc;

    if ((rc = ctrl_get_count(dp, "spec.replicas", 1, &c->replicas, err)) < 0 ||
        (rc = ctrl_get_count(dp, "spec.minReadySeconds", 0, &c->min_ready, err)) < 0 ||
        (rc = ctrl_get_count(dp, "spec.revisionHistoryLimit", 10, &c->rev_limit, err)) < 0 ||
        (rc = ctrl_get_count(dp, "spec.progressDeadlineSeconds", 600, &c->deadline, err)) < 0 ||
        (rc = sk_json_opt_int(dp, "metadata.generation", 0, &c->generation, err)) < 0 ||
        (rc = sk_json_opt_int(dp, "status.collisionCount", -1, &c->collision, err)) < 0 ||
        (rc = sk_json_opt_bool(dp, "spec.paused", false, &paused, err)) < 0 ||
        (rc = sk_json_opt_string(dp, "spec.strategy.type", "RollingUpdate", &type, err)) < 0 ||
        (rc = sk_json_get_object(dp, "spec.template", &c->tmpl, err)) < 0 ||
        (rc = sk_json_opt_object(dp, "spec.template.metadata.labels", &labels, err)) < 0 ||
        (rc = sk_json_get_object(dp, "spec.selector", &selector, err)) < 0 ||
        (rc = sk_selector_from_json(selector, &c->sel, "spec.selector", err)) < 0)
        return rc;
    if (sk_selector_empty(&c->sel))
        return sk_err_set(err, EINVAL, "spec.selector: must not be empty");
    if (c->collision > INT32_MAX ||
        (c->collision < 0 && !json_is_null(sk_json_get(dp, "status.collisionCount")) &&
         sk_json_get(dp, "status.collisionCount")))
        return sk_err_set(err, EINVAL, "status.collisionCount: must be between 0 and %d",
                          INT32_MAX);
    c->paused = paused;
    if (c->deadline == INT32_MAX)
        c->deadline = -1;
    if (strcmp(type, "Recreate") == 0)
        c->recreate = 1;
    else if (strcmp(type, "RollingUpdate") != 0)
        return sk_err_set(err, EINVAL,
                          "spec.strategy.type: '%.32s': must be RollingUpdate or "
                          "Recreate",
                          type);
    if (!c->recreate)
        return ctrl_deploy_fenceposts(dp, c->replicas, &c->surge, &c->unavail, err);
    return 0;
}

static int
drs_read(struct drs *r, json_t *obj, struct sk_err *err)
{
    const char *ts = json_string_value(sk_json_get(obj, "metadata.creationTimestamp"));
    int rc;

    memset(r, 0, sizeof(*r));
    r->obj = obj;
    r->name = json_string_value(sk_json_get(obj, "metadata.name"));
    if ((rc = ctrl_get_count(obj, "spec.replicas", 1, &r->replicas, err)) < 0 ||
        (rc = ctrl_get_count(obj, "status.replicas", 0, &r->st_replicas, err)) < 0 ||
        (rc = ctrl_get_count(obj, "status.readyReplicas", 0, &r->st_ready, err)) < 0 ||
        (rc = ctrl_get_count(obj, "status.availableReplicas", 0, &r->st_avail, err)) < 0)
        return rc;
    if (!json_is_object(sk_json_get(obj, "spec.template")))
        return sk_err_set(err, EINVAL, "spec.template: must be an object");
    r->revision = ctrl_ann_int(obj, "metadata.annotations[\"" CTRL_ANN_REVISION "\"]", 0);
    if (ts && ctrl_time_parse(ts, &r->created, NULL) < 0)
        r->created = 0;
    return 0;
}

/* Claim the namespace's ReplicaSets (Kubernetes' ClaimReplicaSets). */
static int
claim(struct dctx *c, const json_t *rss, struct sk_err *err)
{
    const char *uid = json_string_value(sk_json_get(c->deploy, "metadata.uid"));
    json_t *rs, *ref = NULL;
    size_t i;
    int rc = 0;

    c->rs = sk_calloc(json_array_size(rss) + 1, sizeof(*c->rs));
    json_array_foreach (rss, i, rs) {
        enum ctrl_claim cl;
        json_t *patch = NULL;

        if (!json_is_object(rs) || !json_is_string(sk_json_get(rs, "metadata.name")))
            return sk_err_set(err, EINVAL, "replicasets[%zu].metadata.name: required", i);
        cl = ctrl_owner_claim(c->deploy, &c->sel, rs);
        if (cl == CTRL_CLAIM_RELEASE)
            write_add(c->d, CTRL_RS_RELEASE, json_incref(rs), ctrl_owner_release_patch(rs, uid));
        if (cl != CTRL_CLAIM_OWNED && cl != CTRL_CLAIM_ADOPT)
            continue;
        if (cl == CTRL_CLAIM_ADOPT) {
            if (!ref &&
                (rc = ctrl_owner_ref_build(c->deploy, "apps/v1", "Deployment", &ref, err)) < 0)
                return rc;
            patch = ctrl_owner_adopt_patch(rs, ref);
            write_add(c->d, CTRL_RS_ADOPT, json_incref(rs), patch);
        }
        rc = drs_read(&c->rs[c->nrs], json_deep_copy(rs), err);
        c->nrs++;
        if (rc < 0) {
            sk_err_wrap(err, "replicaset '%s'",
                        json_string_value(sk_json_get(rs, "metadata.name")));
            break;
        }
        if (patch)
            json_object_set(json_object_get(c->rs[c->nrs - 1].obj, "metadata"), "ownerReferences",
                            sk_json_get(patch, "metadata.ownerReferences"));
    }
    json_decref(ref);
    return rc;
}

int64_t
drs_sum(const struct dctx *c, int which, int include_new)
{
    int64_t sum = 0;
    size_t i;

    for (i = 0; i < c->nrs; i++) {
        const struct drs *r = &c->rs[i];

        if (r->del || (!include_new && (long)i == c->newi))
            continue;
        sum += which == SUM_SPEC     ? r->replicas
               : which == SUM_STATUS ? r->st_replicas
               : which == SUM_READY  ? r->st_ready
                                     : r->st_avail;
    }
    return sum;
}

/* Kubernetes' checkPausedConditions. */
static void
paused_conditions(struct dctx *c)
{
    json_t *conds = json_object_get(c->status, "conditions");
    json_t *cond = ctrl_cond_find(conds, "Progressing");
    const char *reason = json_string_value(json_object_get(cond, "reason"));
    int paused_cond = reason && strcmp(reason, "DeploymentPaused") == 0;

    if (c->deadline < 0 || (reason && strcmp(reason, "ProgressDeadlineExceeded") == 0))
        return;
    if (c->paused && !paused_cond)
        ctrl_cond_set(conds, "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused",
                      c->now, 1);
    else if (!c->paused && paused_cond)
        ctrl_cond_set(conds, "Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed",
                      c->now, 1);
}

/* A ReplicaSet whose desired-replicas annotation differs from the
 * Deployment's replicas was sized for another scale: the user scaled. */
static int
scaling_event(struct dctx *c)
{
    size_t i;

    for (i = 0; i < c->nrs; i++) {
        int64_t v =
            ctrl_ann_int(c->rs[i].obj, "metadata.annotations[\"" CTRL_ANN_DESIRED "\"]", -1);

        if (c->rs[i].replicas > 0 && v >= 0 && v != c->replicas)
            return 1;
    }
    return 0;
}

static void
emit_writes(struct dctx *c)
{
    size_t i;

    for (i = 0; i < c->nrs; i++) {
        struct drs *r = &c->rs[i];

        if (r->create)
            write_add(c->d, CTRL_RS_CREATE, json_incref(r->obj), NULL);
        else if (r->del)
            write_add(c->d, CTRL_RS_DELETE, json_incref(r->obj), NULL);
        else if (r->update)
            write_add(c->d, CTRL_RS_UPDATE, json_incref(r->obj), NULL);
    }
}

static int
dispatch(struct dctx *c, struct sk_err *err)
{
    int rc;

    if (ctrl_obj_deleting(c->deploy)) {
        rc = dctx_new_rs(c, 0, err);
        dctx_status(c, 0);
        return rc;
    }
    paused_conditions(c);
    if (c->paused || scaling_event(c)) {
        rc = dctx_new_rs(c, 0, err);
        if (rc < 0)
            return rc;
        dctx_scale(c);
        if (c->paused)
            dctx_cleanup(c);
        dctx_status(c, 0);
        return 0;
    }
    rc = c->recreate ? dctx_recreate(c, err) : dctx_rolling(c, err);
    if (rc >= 0)
        dctx_status(c, 1);
    return rc;
}

int
ctrl_deploy_reconcile(const struct ctrl_deploy_input *in, struct ctrl_deploy_decision *d,
                      struct sk_err *err)
{
    struct dctx c = {0};
    json_t *v;
    size_t i;
    int rc;

    ctrl_deploy_decision_init(d);
    c.deploy = in->deploy;
    c.pods = in->pods;
    c.rss = in->rss;
    c.now = in->now_ns;
    c.newi = -1;
    c.d = d;
    sk_selector_init(&c.sel);
    v = sk_json_get(in->deploy, "status");
    c.status = json_is_object(v) ? json_deep_copy(v) : json_object();
    if (!json_is_array(json_object_get(c.status, "conditions")))
        json_object_set_new(c.status, "conditions", json_array());
    v = sk_json_get(in->deploy, "metadata.annotations");
    c.annotations = json_is_object(v) ? json_deep_copy(v) : json_object();
    rc = ctrl_obj_key(in->deploy, d->key, sizeof(d->key), err);
    if (rc < 0) {
        sk_err_wrap(err, "deployment");
        goto out;
    }
    rc = read_spec(&c, err);
    if (rc >= 0 && !json_is_array(in->rss))
        rc = sk_err_set(err, EINVAL, "replicasets: must be an array");
    if (rc >= 0 && in->pods && !json_is_array(in->pods))
        rc = sk_err_set(err, EINVAL, "pods: must be an array");
    if (rc >= 0)
        rc = claim(&c, in->rss, err);
    if (rc >= 0)
        rc = dispatch(&c, err);
    if (rc < 0) {
        sk_err_wrap(err, "deployment '%s'", d->key);
        goto out;
    }
    emit_writes(&c);
    v = sk_json_get(in->deploy, "metadata.annotations");
    if (json_is_object(v) ? !json_equal(c.annotations, v) : json_object_size(c.annotations) > 0)
        d->annotations = json_incref(c.annotations);
    d->status = json_incref(c.status);
    d->status_changed = !json_equal(c.status, sk_json_get(in->deploy, "status"));
out:
    if (rc < 0)
        ctrl_deploy_decision_release(d);
    for (i = 0; i < c.nrs; i++)
        json_decref(c.rs[i].obj);
    free(c.rs);
    json_decref(c.status);
    json_decref(c.annotations);
    sk_selector_release(&c.sel);
    return rc < 0 ? rc : 0;
}
