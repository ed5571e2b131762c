/* The ReplicaSet controller's I/O (Kubernetes' syncReplicaSet and
 * manageReplicas around the pure ctrl_rs_reconcile).
 *
 * Order of a sync: adopt and release patches; then either creations
 * (expectations recorded first, sent in slow-start batches: 1, 2, 4...
 * stopping at the first batch with a failure) or deletions (each pod
 * expected gone by uid precondition); then the status, as a merge patch
 * of the status subresource. A creation that fails is counted as
 * observed (it will never show up in the cache) and the skipped rest
 * lowers the expectations, so the next sync is not blocked for the 5
 * minute expectations timeout. */

#include "ctrl/manager_int.h"

#include "lib/alloc.h"
#include "lib/json.h"
#include "lib/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rs_job {
    json_t *rs;
    json_t *pod;      /* the template pod */
    int64_t left;     /* creations not yet sent */
    size_t batch;     /* index of the next slow-start batch */
    int64_t total;    /* creations asked for */
    json_t *pod_keys; /* "ns/name" of the pods being deleted (the calls' args) */
    int batch_failed;
};

static void
rs_job_free(void *p)
{
    struct rs_job *r = p;

    json_decref(r->rs);
    json_decref(r->pod);
    json_decref(r->pod_keys);
    free(r);
}

static void
record_failure(struct ctrl_job *job, const char *reason, const struct sk_err *err)
{
    json_object_set_new(job->m->rs_failures, job->key,
                        json_pack("{s:s, s:s}", "reason", reason, "message",
                                  err && err->msg[0] ? err->msg : "failed"));
}

static void
created(struct ctrl_job *job, int rc, const json_t *obj, const struct sk_err *err, void *arg)
{
    struct rs_job *r = job->priv;

    (void)arg;
    if (rc < 0) {
        /* Never to be observed: do not wait for it. */
        ctrl_expectations_creation_observed(job->m->rs_exp, job->key);
        r->batch_failed = 1;
        ctrl_job_fail(job, err);
        record_failure(job, "FailedCreate", err);
        ctrl_job_event(job, r->rs, "Warning", "FailedCreate", "Error creating: %s",
                       err ? err->msg : "failed");
        return;
    }
    ctrl_job_event(job, r->rs, "Normal", "SuccessfulCreate", "Created pod: %s",
                   json_string_value(sk_json_get(obj, "metadata.name")));
}

static void next_batch(struct ctrl_job *job);

static void
send_batch(struct ctrl_job *job)
{
    struct rs_job *r = job->priv;
    size_t n = ctrl_slow_start_batch((size_t)r->total, r->batch++), i;

    if ((int64_t)n > r->left)
        n = (size_t)r->left;
    r->left -= (int64_t)n;
    for (i = 0; i < n; i++)
        ctrl_job_create(job, r->pod, CTRL_OK_ANY, created, NULL);
    if (r->left > 0)
        job->then = next_batch;
}

static void
next_batch(struct ctrl_job *job)
{
    struct rs_job *r = job->priv;

    if (r->batch_failed) {
        ctrl_expectations_lower_creations(job->m->rs_exp, job->key, r->left);
        return;
    }
    send_batch(job);
}

static void
deleted(struct ctrl_job *job, int rc, const json_t *obj, const struct sk_err *err, void *arg)
{
    struct rs_job *r = job->priv;
    const char *pod_key = arg;

    (void)obj;
    if (rc < 0) {
        ctrl_expectations_deletion_observed(job->m->rs_exp, job->key, pod_key);
        record_failure(job, "FailedDelete", err);
        ctrl_job_event(job, r->rs, "Warning", "FailedDelete", "Error deleting: %s",
                       err ? err->msg : "failed");
    } else {
        ctrl_job_event(job, r->rs, "Normal", "SuccessfulDelete", "Deleted pod: %s",
                       strchr(pod_key, '/') + 1);
    }
}

static void
send_claims(struct ctrl_job *job, const json_t *list)
{
    json_t *item;
    size_t i;

    json_array_foreach (list, i, item) {
        const json_t *pod = json_object_get(item, "pod");

        ctrl_job_patch(job, "pods", json_string_value(sk_json_get(pod, "metadata.namespace")),
                       json_string_value(sk_json_get(pod, "metadata.name")), NULL,
                       json_object_get(item, "patch"), NULL, NULL);
    }
}

static void
send_deletes(struct ctrl_job *job, const struct ctrl_rs_decision *d, int64_t now)
{
    struct rs_job *r = job->priv;
    size_t n = json_array_size(d->deletes), i;
    const char **keys = sk_calloc(n + 1, sizeof(*keys));
    json_t *pod;

    /* The keys live in the job (priv), so a call abandoned when the
     * manager stops leaves nothing behind. */
    r->pod_keys = json_array();
    json_array_foreach (d->deletes, i, pod) {
        json_array_append_new(
            r->pod_keys,
            json_sprintf("%s/%s", json_string_value(sk_json_get(pod, "metadata.namespace")),
                         json_string_value(sk_json_get(pod, "metadata.name"))));
        keys[i] = json_string_value(json_array_get(r->pod_keys, i));
    }
    ctrl_expect_deletions(job->m->rs_exp, job->key, keys, n, now);
    json_array_foreach (d->deletes, i, pod)
        ctrl_job_delete(job, "pods", json_string_value(sk_json_get(pod, "metadata.namespace")),
                        json_string_value(sk_json_get(pod, "metadata.name")),
                        json_string_value(sk_json_get(pod, "metadata.uid")), NULL, deleted,
                        (void *)keys[i]);
    free(keys);
}

static void
rs_sync(struct ctrl_job *job)
{
    struct ctrl_manager *m = job->m;
    struct ctrl_rs_input in = {0};
    struct ctrl_rs_decision d;
    char ns[256], name[256];
    json_t *pods, *fail;
    struct rs_job *r;
    struct sk_err err;
    const json_t *rs;

    sk_err_init(&err);
    if (ctrl_key_split(job->key, ns, sizeof(ns), name, sizeof(name)) < 0)
        return;
    rs = api_informer_get(m->inf[RES_RS], ns, name);
    if (!rs) {
        ctrl_expectations_delete(m->rs_exp, job->key);
        json_object_del(m->rs_failures, job->key);
        return;
    }
    pods =
        ctrl_cache_claimable(m, RES_PODS, ns, json_string_value(sk_json_get(rs, "metadata.uid")));
    fail = json_incref(json_object_get(m->rs_failures, job->key));
    json_object_del(m->rs_failures, job->key);
    in.rs = rs;
    in.pods = pods;
    in.exp = m->rs_exp;
    in.now_ns = ctrl_now_real();
    in.failure_reason = json_string_value(json_object_get(fail, "reason"));
    in.failure_message = json_string_value(json_object_get(fail, "message"));
    if (ctrl_rs_reconcile(&in, &d, &err) < 0) {
        /* Malformed spec: a user error that no retry will fix. */
        sk_warn("ctrl", "replicaset '%s': %s", job->key, err.msg);
        goto out;
    }
    r = sk_calloc(1, sizeof(*r));
    r->rs = json_incref((json_t *)rs);
    job->priv = r;
    job->priv_free = rs_job_free;
    send_claims(job, d.adopt);
    send_claims(job, d.release);
    if (d.satisfied && d.create > 0) {
        ctrl_expect_creations(m->rs_exp, job->key, d.create, in.now_ns);
        r->pod = json_incref(d.pod);
        r->total = r->left = d.create;
        send_batch(job);
    } else if (d.satisfied && json_array_size(d.deletes) > 0) {
        send_deletes(job, &d, in.now_ns);
    }
    if (d.status_changed)
        ctrl_job_status(job, "replicasets", rs, d.status);
    job->requeue_after_ns = d.requeue_after_ns;
    ctrl_rs_decision_release(&d);
out:
    json_decref(fail);
    json_decref(pods);
}

const struct ctrl_ctl_ops ctrl_rs_ops = {"replicaset", "replicaset-controller", rs_sync};
