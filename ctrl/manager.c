/* The controller manager's loop side: the work queues' pump, worker
 * slots and jobs (a job is one sync of one key and the calls it makes).
 *
 * Workers are not threads: `workers` is how many jobs of one controller
 * may be in flight at once, each waiting for its API calls on the shared
 * loop. The queue guarantees one key is never synced by two jobs at
 * once (client-go's workqueue contract), so a controller may act on a
 * key without locking anything.
 *
 * The pump runs from one loop timer: at 0 ms after something was queued
 * or a job ended, else at the earliest due time of a parked key (a
 * back-off or a requeue_after). Nothing runs before every informer has
 * listed once: a controller that acted on a half-filled cache would
 * create pods that exist already. */

#include "ctrl/manager_int.h"

#include "api/events.h"
#include "lib/json.h"
#include "lib/alloc.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/loop.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ctrl_call {
    struct ctrl_job *job;
    unsigned ok;
    ctrl_call_fn fn;
    void *arg;
    struct api_acall *ac;
    struct ctrl_call *prev, *next;
};

static const struct ctrl_ctl_ops *const ctl_ops[CTL_N] = {
    [CTL_RS] = &ctrl_rs_ops, [CTL_DEPLOY] = &ctrl_deploy_ops, [CTL_EP] = &ctrl_ep_ops,
    [CTL_GC] = &ctrl_gc_ops, [CTL_NODE] = &ctrl_node_ops,     [CTL_IPAM] = &ctrl_ipam_ops,
    [CTL_SA] = &ctrl_sa_ops, [CTL_TOKEN] = &ctrl_token_ops,
};

int64_t
ctrl_now_real(void)
{
    return sk_clock_real_ns();
}

static void pump(struct sk_loop *loop, void *arg);

/* Arm the pump timer for due (monotonic ns), keeping an earlier one. */
static void
arm(struct ctrl_manager *m, int64_t due)
{
    int64_t now = sk_clock_mono_ns(), delay_ms;

    if (m->timer && m->timer_due <= due)
        return;
    if (m->timer)
        sk_loop_timer_cancel(m->loop, m->timer);
    delay_ms = due > now ? (due - now + 999999) / 1000000 : 0;
    m->timer_due = due;
    m->timer = sk_loop_timer_add(m->loop, (uint64_t)delay_ms, pump, m);
}

void
ctrl_kick(struct ctrl_manager *m)
{
    arm(m, sk_clock_mono_ns());
}

void
ctrl_enqueue(struct ctrl_manager *m, enum ctrl_ctl_id id, const char *key)
{
    ctrl_queue_add(m->ctl[id].q, key);
    arm(m, sk_clock_mono_ns());
}

void
ctrl_enqueue_after(struct ctrl_manager *m, enum ctrl_ctl_id id, const char *key, int64_t delay_ns)
{
    int64_t now = sk_clock_mono_ns();

    ctrl_queue_add_after(m->ctl[id].q, key, delay_ns, now);
    arm(m, delay_ns > 0 ? now + delay_ns : now);
}

static void
job_free(struct ctrl_job *job)
{
    struct ctrl_call *cc, *next;

    for (cc = job->calls; cc; cc = next) {
        next = cc->next;
        free(cc);
    }
    if (job->priv_free)
        job->priv_free(job->priv);
    free(job->key);
    free(job);
}

/* Every call answered and the sync returned: settle the key. */
static void
job_end(struct ctrl_job *job)
{
    struct ctrl_manager *m = job->m;
    struct ctrl_ctl *ctl = job->ctl;
    int64_t now = sk_clock_mono_ns();

    if (job->failed) {
        int64_t d = ctrl_queue_add_rate_limited(ctl->q, job->key, now);

        m->stats.failures++;
        sk_debug("ctrl", "%s '%s': retrying in %lld ms", ctl->ops->name, job->key,
                 (long long)(d / 1000000));
    } else {
        ctrl_queue_forget(ctl->q, job->key);
        if (job->requeue_after_ns > 0)
            ctrl_queue_add_after(ctl->q, job->key, job->requeue_after_ns, now);
    }
    ctrl_queue_done(ctl->q, job->key);
    m->stats.syncs++;
    ctl->busy--;
    if (job->prev)
        job->prev->next = job->next;
    else
        m->jobs = job->next;
    if (job->next)
        job->next->prev = job->prev;
    job_free(job);
    arm(m, now);
}

static void
job_unref(struct ctrl_job *job)
{
    void (*then)(struct ctrl_job *);

    if (--job->pending > 0)
        return;
    if (job->then) {
        then = job->then;
        job->then = NULL;
        job->pending++;
        then(job);
        if (--job->pending > 0)
            return;
    }
    job_end(job);
}

static void
job_start(struct ctrl_ctl *ctl, const char *key)
{
    struct ctrl_manager *m = ctl->m;
    struct ctrl_job *job = sk_calloc(1, sizeof(*job));

    job->ctl = ctl;
    job->m = m;
    job->key = sk_strdup(key);
    job->pending = 1;
    job->next = m->jobs;
    if (m->jobs)
        m->jobs->prev = job;
    m->jobs = job;
    ctl->busy++;
    ctl->ops->sync(job);
    job_unref(job);
}

static void
pump(struct sk_loop *loop, void *arg)
{
    struct ctrl_manager *m = arg;
    int64_t now = sk_clock_mono_ns(), due = -1;
    const char *key;
    size_t i;

    (void)loop;
    m->timer = 0;
    m->timer_due = 0;
    if (m->nsynced < RES_N)
        return; /* informers.c arms the timer once all have synced */
    for (i = 0; i < CTL_N; i++) {
        struct ctrl_ctl *ctl = &m->ctl[i];

        while (ctl->busy < m->workers && ctrl_queue_get(ctl->q, now, &key))
            job_start(ctl, key);
    }
    for (i = 0; i < CTL_N; i++) {
        int64_t d = ctrl_queue_next_due(m->ctl[i].q);

        if (d >= 0 && (due < 0 || d < due))
            due = d;
        if (ctrl_queue_len(m->ctl[i].q) > 0 && m->ctl[i].busy < m->workers)
            due = now;
    }
    if (due >= 0)
        arm(m, due);
}

/* ---- calls ---- */

struct ctrl_call *
ctrl_call_new(struct ctrl_job *job, unsigned ok, ctrl_call_fn fn, void *arg)
{
    struct ctrl_call *cc = sk_calloc(1, sizeof(*cc));

    cc->job = job;
    cc->ok = ok;
    cc->fn = fn;
    cc->arg = arg;
    cc->next = job->calls;
    if (job->calls)
        job->calls->prev = cc;
    job->calls = cc;
    job->pending++;
    job->m->stats.writes++;
    return cc;
}

static void
call_finish(struct ctrl_call *cc, int rc, const json_t *obj, const struct sk_err *err)
{
    struct ctrl_job *job = cc->job;

    if (rc == -ENOENT && (cc->ok & CTRL_OK_NOTFOUND))
        rc = 0;
    if (rc == -EEXIST && (cc->ok & CTRL_OK_EXISTS))
        rc = 0;
    if (rc < 0 && !(cc->ok & CTRL_OK_ANY))
        ctrl_job_fail(job, err);
    if (cc->fn)
        cc->fn(job, rc, obj, err, cc->arg);
    if (cc->prev)
        cc->prev->next = cc->next;
    else
        job->calls = cc->next;
    if (cc->next)
        cc->next->prev = cc->prev;
    free(cc);
    job_unref(job);
}

void
ctrl_call_cb(struct api_aclient *c, int rc, const struct api_resp *resp, const struct sk_err *err,
             void *arg)
{
    struct ctrl_call *cc = arg;
    json_t *obj = NULL;
    struct sk_err perr;

    (void)c;
    sk_err_init(&perr);
    /* Only a callback reads the answer: parsing every created or
     * patched pod just to free it costs CPU and heap churn. */
    if (rc == 0 && cc->fn && resp && resp->nlines > 0)
        obj = api_resp_object(resp, 0, &perr);
    call_finish(cc, rc, obj, err);
    json_decref(obj);
}

struct ctrl_job *
ctrl_call_job(const struct ctrl_call *cc)
{
    return cc->job;
}

void
ctrl_call_sent(struct ctrl_call *cc, struct api_acall *ac)
{
    struct sk_err err;

    cc->ac = ac;
    if (ac)
        return;
    sk_err_init(&err);
    sk_err_set(&err, EINVAL, "request refused by the client");
    call_finish(cc, -EINVAL, NULL, &err);
}

void
ctrl_job_fail(struct ctrl_job *job, const struct sk_err *err)
{
    /* A conflict is the normal outcome of acting on a cache a write
     * behind the store: no reason to shout. */
    if (!job->failed) {
        if (err && (err->code == ESTALE || err->code == EEXIST || err->code == ENOENT))
            sk_debug("ctrl", "%s '%s': %s", job->ctl->ops->name, job->key, err->msg);
        else
            sk_warn("ctrl", "%s '%s': %s", job->ctl->ops->name, job->key,
                    err ? err->msg : "failed");
    }
    job->failed = 1;
}

void
ctrl_job_event(struct ctrl_job *job, const json_t *obj, const char *type, const char *reason,
               const char *fmt, ...)
{
    char msg[512];
    struct sk_err err;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    sk_err_init(&err);
    if (api_event_record(job->m->c, obj, type, reason, msg, job->ctl->ops->component, &err) < 0)
        sk_debug("ctrl", "event %s: %s", reason, err.msg);
}

/* ---- the common writes ---- */

void
ctrl_job_create(struct ctrl_job *job, const json_t *obj, unsigned ok, ctrl_call_fn fn, void *arg)
{
    struct ctrl_call *cc = ctrl_call_new(job, ok, fn, arg);

    ctrl_call_sent(cc, api_aclient_create(job->m->c, obj, ctrl_call_cb, cc));
}

void
ctrl_job_update(struct ctrl_job *job, const json_t *obj, ctrl_call_fn fn, void *arg)
{
    struct ctrl_call *cc = ctrl_call_new(job, 0, fn, arg);

    ctrl_call_sent(cc, api_aclient_update(job->m->c, obj, ctrl_call_cb, cc));
}

void
ctrl_job_patch(struct ctrl_job *job, const char *resource, const char *ns, const char *name,
               const char *sub, const json_t *patch, ctrl_call_fn fn, void *arg)
{
    struct ctrl_call *cc = ctrl_call_new(job, 0, fn, arg);

    ctrl_call_sent(cc,
                   api_aclient_patch(job->m->c, resource, ns, name, sub, patch, ctrl_call_cb, cc));
}

void
ctrl_job_delete(struct ctrl_job *job, const char *resource, const char *ns, const char *name,
                const char *uid, const char *propagation, ctrl_call_fn fn, void *arg)
{
    struct api_delete_args a = {.grace = -1, .propagation = propagation, .uid = uid};
    struct ctrl_call *cc = ctrl_call_new(job, CTRL_OK_NOTFOUND, fn, arg);

    ctrl_call_sent(cc, api_aclient_delete(job->m->c, resource, ns, name, &a, ctrl_call_cb, cc));
}

void
ctrl_job_status(struct ctrl_job *job, const char *resource, const json_t *obj,
                const json_t *new_status)
{
    json_t *st = ctrl_merge_patch_top(json_object_get(obj, "status"), new_status);
    json_t *patch = json_pack("{s:o}", "status", st);

    ctrl_job_patch(job, resource, json_string_value(sk_json_get(obj, "metadata.namespace")),
                   json_string_value(sk_json_get(obj, "metadata.name")), "status", patch, NULL,
                   NULL);
    json_decref(patch);
}

int
ctrl_key_split(const char *key, char *ns, size_t nsz, char *name, size_t namesz)
{
    const char *slash = strchr(key, '/');

    if (!slash) {
        if (nsz)
            ns[0] = '\0';
        return snprintf(name, namesz, "%s", key) < (int)namesz ? 0 : -1;
    }
    if ((size_t)(slash - key) >= nsz)
        return -1;
    memcpy(ns, key, (size_t)(slash - key));
    ns[slash - key] = '\0';
    return snprintf(name, namesz, "%s", slash + 1) < (int)namesz ? 0 : -1;
}

/* ---- start and stop ---- */

/* A bad range turns node IPAM off, not the other controllers. */
static void
ipam_start(struct ctrl_manager *m, const struct ctrl_manager_config *cfg)
{
    unsigned mask = cfg->node_cidr_mask ? cfg->node_cidr_mask : 24;
    struct sk_err err;

    if (!cfg->cluster_cidr || !*cfg->cluster_cidr)
        return;
    sk_err_init(&err);
    if (ctrl_cidr_set_new(cfg->cluster_cidr, mask, &m->ipam, &err) < 0)
        sk_error("ctrl", "node IPAM off: %s", err.msg);
}

int
ctrl_manager_start(struct sk_loop *loop, const struct ctrl_manager_config *cfg,
                   struct ctrl_manager **out, struct sk_err *err)
{
    struct api_aclient_config acfg = {.server = cfg->server, .token = cfg->token};
    struct ctrl_manager *m;
    int64_t now = sk_clock_mono_ns();
    size_t i;
    int rc;

    *out = NULL;
    if (!cfg->server || !*cfg->server)
        return sk_err_set(err, EINVAL, "controller manager: no API server address");
    m = sk_calloc(1, sizeof(*m));
    m->loop = loop;
    m->workers = cfg->workers ? cfg->workers : 5;
    m->node_grace_ns =
        cfg->node_grace_ms ? (int64_t)cfg->node_grace_ms * 1000000 : CTRL_NODE_GRACE_NS;
    rc = api_aclient_new(loop, &acfg, &m->c, err);
    if (rc < 0)
        goto out_free;
    ipam_start(m, cfg);
    m->rs_exp = ctrl_expectations_new();
    m->rs_failures = json_object();
    m->gc_gone = json_object();
    m->nodes_missing = json_object();
    m->sa_pending = json_object();
    for (i = 0; i < CTL_N; i++) {
        m->ctl[i].ops = ctl_ops[i];
        m->ctl[i].m = m;
        m->ctl[i].q = ctrl_queue_new(now);
    }
    rc = ctrl_informers_start(m, cfg->resync_ms ? cfg->resync_ms : 30000, err);
    if (rc < 0)
        goto out_free;
    sk_info("ctrl", "controller manager started (%u workers per controller)", m->workers);
    *out = m;
    return 0;
out_free:
    ctrl_manager_free(m);
    return sk_err_wrap(err, "controller manager");
}

void
ctrl_manager_free(struct ctrl_manager *m)
{
    struct ctrl_job *job, *next;
    size_t i;

    if (!m)
        return;
    if (m->timer)
        sk_loop_timer_cancel(m->loop, m->timer);
    /* Informers first (they live on the client), then the client: its
     * calls' callbacks never run again, so the jobs can go. */
    ctrl_informers_free(m);
    api_aclient_free(m->c);
    for (job = m->jobs; job; job = next) {
        next = job->next;
        job_free(job);
    }
    for (i = 0; i < CTL_N; i++)
        ctrl_queue_free(m->ctl[i].q);
    ctrl_expectations_free(m->rs_exp);
    ctrl_cidr_set_free(m->ipam);
    json_decref(m->rs_failures);
    json_decref(m->gc_gone);
    json_decref(m->nodes_missing);
    json_decref(m->sa_pending);
    free(m);
}

void
ctrl_manager_stats(const struct ctrl_manager *m, struct ctrl_manager_stats *out)
{
    *out = m->stats;
    out->synced = m->nsynced >= RES_N;
}

/* ---- pure helpers ---- */

json_t *
ctrl_merge_patch_top(const json_t *old, const json_t *new_obj)
{
    json_t *patch = json_is_object(new_obj) ? json_deep_copy(new_obj) : json_object();
    const char *k;
    json_t *v;

    if (json_is_object(old))
        json_object_foreach ((json_t *)old, k, v)
            if (!json_object_get(patch, k))
                json_object_set_new(patch, k, json_null());
    return patch;
}

json_t *
ctrl_finalizers_without(const json_t *obj, const char *name)
{
    json_t *list = sk_json_get(obj, "metadata.finalizers"), *out = json_array(), *f;
    size_t i;

    json_array_foreach (list, i, f)
        if (!json_is_string(f) || strcmp(json_string_value(f), name))
            json_array_append(out, f);
    if (json_array_size(out) == 0) {
        json_decref(out);
        return json_null();
    }
    return out;
}
