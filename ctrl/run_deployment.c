/* The Deployment controller's I/O around the pure ctrl_deploy_reconcile:
 * the ReplicaSet writes in the decision's order (creations, conditional
 * replaces carrying the cached resourceVersion, deletions by uid,
 * adopt/release patches), then the Deployment's annotations (merge
 * patch) and its status (status subresource merge patch). Writes go out
 * pipelined on one connection, which the server applies in order. A
 * replace that lost a race (409) fails the sync, which retries with
 * back-off on a fresher cache. */

#include "ctrl/manager_int.h"

#include "lib/json.h"
#include "lib/log.h"

#include <string.h>

static int64_t
replicas_of(const json_t *rs)
{
    json_t *v = sk_json_get(rs, "spec.replicas");

    return json_is_integer(v) ? json_integer_value(v) : 1;
}

static void
scaling_event(struct ctrl_job *job, const json_t *deploy, const json_t *old, const json_t *rs)
{
    const char *name = json_string_value(sk_json_get(rs, "metadata.name"));
    int64_t to = replicas_of(rs), from = old ? replicas_of(old) : 0;

    if (from == to)
        return;
    ctrl_job_event(job, deploy, "Normal", "ScalingReplicaSet",
                   "Scaled %s replica set %s from %lld to %lld", to > from ? "up" : "down", name,
                   (long long)from, (long long)to);
}

static void
send_write(struct ctrl_job *job, const json_t *deploy, const struct ctrl_rs_write *w)
{
    const char *ns = json_string_value(sk_json_get(w->obj, "metadata.namespace"));
    const char *name = json_string_value(sk_json_get(w->obj, "metadata.name"));
    const json_t *old = api_informer_get(job->m->inf[RES_RS], ns, name);

    switch (w->op) {
    case CTRL_RS_CREATE:
        ctrl_job_create(job, w->obj, 0, NULL, NULL);
        scaling_event(job, deploy, NULL, w->obj);
        break;
    case CTRL_RS_UPDATE:
        ctrl_job_update(job, w->obj, NULL, NULL);
        scaling_event(job, deploy, old, w->obj);
        break;
    case CTRL_RS_DELETE:
        ctrl_job_delete(job, "replicasets", ns, name,
                        json_string_value(sk_json_get(w->obj, "metadata.uid")), NULL, NULL, NULL);
        break;
    case CTRL_RS_ADOPT:
    case CTRL_RS_RELEASE:
        ctrl_job_patch(job, "replicasets", ns, name, NULL, w->patch, NULL, NULL);
        break;
    }
}

static void
deploy_sync(struct ctrl_job *job)
{
    struct ctrl_manager *m = job->m;
    struct ctrl_deploy_input in = {0};
    struct ctrl_deploy_decision d;
    char ns[256], name[256];
    const json_t *deploy;
    const char *strategy;
    json_t *rss, *pods;
    struct sk_err err;
    size_t i;

    sk_err_init(&err);
    if (ctrl_key_split(job->key, ns, sizeof(ns), name, sizeof(name)) < 0)
        return;
    deploy = api_informer_get(m->inf[RES_DEPLOY], ns, name);
    if (!deploy)
        return;
    rss = ctrl_cache_list(m, RES_RS, ns);
    /* only Recreate looks at pods (the old ones must be gone first) */
    strategy = json_string_value(sk_json_get(deploy, "spec.strategy.type"));
    pods = strategy && strcmp(strategy, "Recreate") == 0 ? ctrl_cache_list(m, RES_PODS, ns) : NULL;
    in.deploy = deploy;
    in.rss = rss;
    in.pods = pods;
    in.now_ns = ctrl_now_real();
    if (ctrl_deploy_reconcile(&in, &d, &err) < 0) {
        sk_warn("ctrl", "%s", err.msg);
        goto out;
    }
    for (i = 0; i < d.nwrites; i++)
        send_write(job, deploy, &d.writes[i]);
    if (d.annotations) {
        json_t *ann =
            ctrl_merge_patch_top(sk_json_get(deploy, "metadata.annotations"), d.annotations);
        json_t *patch = json_pack("{s:{s:o}}", "metadata", "annotations", ann);

        ctrl_job_patch(job, "deployments", ns, name, NULL, patch, NULL, NULL);
        json_decref(patch);
    }
    if (d.status_changed)
        ctrl_job_status(job, "deployments", deploy, d.status);
    job->requeue_after_ns = d.requeue_after_ns;
    ctrl_deploy_decision_release(&d);
out:
    json_decref(rss);
    json_decref(pods);
}

const struct ctrl_ctl_ops ctrl_deploy_ops = {"deployment", "deployment-controller", deploy_sync};
