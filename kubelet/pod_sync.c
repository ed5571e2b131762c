/* kubelet/pod_sync.c: converge one pod towards its spec.
 *
 * Level-triggered and idempotent, called on every informer event of the
 * pod and on every sync tick:
 *
 *   deleting (deletionTimestamp, or gone from the API)
 *       the preStop hook of every running container (hook_run.c), then
 *       SIGTERM to it once the hook is done, SIGKILL at the end of
 *       the grace period (metadata.deletionGracePeriodSeconds, else
 *       spec.terminationGracePeriodSeconds, else 30 s); once nothing
 *       runs: remove the runs, the sandbox, the network and the address,
 *       then `delete pods NS NAME grace=0 uid=UID` (not for a pod that is
 *       already gone).
 *   otherwise
 *       sandbox; init containers one at a time, in order, each to
 *       success; then every app container: started when it never ran,
 *       restarted per restartPolicy with the CrashLoopBackOff schedule
 *       of restart.c, probed while it runs; then the status, written
 *       only when it changed in substance (pod_status.c). */
#include "kubelet/agent_int.h"

#include "lib/alloc.h"
#include "lib/clock.h"
#include "lib/log.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static const char *
restart_policy(const struct kl_apod *p)
{
    const char *s =
        json_string_value(json_object_get(json_object_get(p->obj, "spec"), "restartPolicy"));
    return s ? s : "Always";
}

int
kl_pod_setup_ctrs(struct kl_apod *p, struct sk_err *err)
{
    static const char *const keys[] = {"initContainers", "containers"};
    const json_t *spec = json_object_get(p->obj, "spec"), *c;
    size_t i, n = 0;

    for (int k = 0; k < 2; k++)
        n += json_array_size(json_object_get(spec, keys[k]));
    p->ctrs = sk_calloc(n ? n : 1, sizeof(*p->ctrs));
    for (int k = 0; k < 2; k++) {
        json_array_foreach (json_object_get(spec, keys[k]), i, c) {
            const char *name = json_string_value(json_object_get(c, "name"));
            struct kl_actr *a = &p->ctrs[p->nctrs++];

            sk_strlcpy(a->name, name ? name : "", sizeof(a->name));
            a->init = k == 0;
            a->index = i;
            a->state = KL_CTR_WAITING;
            sk_strlcpy(a->reason, "ContainerCreating", sizeof(a->reason));
        }
    }
    if (p->nctrs == 0)
        return sk_err_set(err, EINVAL, "spec.containers: required");
    return 0;
}

void
kl_pod_free(struct kl_apod *p)
{
    if (!p)
        return;
    json_decref(p->obj);
    json_decref(p->written);
    for (size_t i = 0; i < p->nctrs; i++) {
        kl_hook_abandon(&p->ctrs[i]);
        json_decref(p->ctrs[i].probe_pod);
        free(p->ctrs[i].message);
    }
    free(p->sandbox_error);
    free(p->volume_error);
    kl_pod_refs_release(p);
    free(p->ctrs);
    free(p->dir);
    free(p);
}

int64_t
kl_pod_grace_ms(const json_t *pod)
{
    const json_t *g =
        json_object_get(json_object_get(pod, "metadata"), "deletionGracePeriodSeconds");

    if (!json_is_integer(g))
        g = json_object_get(json_object_get(pod, "spec"), "terminationGracePeriodSeconds");
    if (json_is_integer(g) && json_integer_value(g) >= 0)
        return json_integer_value(g) * 1000;
    return 30000;
}

static void
on_deleted(struct api_aclient *c, int rc, const struct api_resp *resp, const struct sk_err *err,
           void *arg)
{
    if (rc < 0 && rc != -ENOENT)
        sk_warn("kubelet", "deleting pod: %s", err->msg);
}

/* The first look at a pod being deleted: every running container gets
 * its preStop hook, or SIGTERM at once when it has none (or no grace is
 * left to run one in); a postStart hook still running is given up. */
static void
terminate_begin(struct kl_agent *a, struct kl_apod *p, int64_t now)
{
    int64_t grace = kl_pod_grace_ms(p->obj);

    p->terminating = true;
    p->kill_at_ms = now + grace;
    for (size_t i = 0; i < p->nctrs; i++) {
        struct kl_actr *c = &p->ctrs[i];

        kl_ctr_observe(a, p, c);
        if (c->state != KL_CTR_RUNNING)
            continue;
        kl_pod_event(a, p, API_EVENT_NORMAL, "Killing", "Stopping container %s", c->name);
        kl_hook_abandon(c);
        if (grace > 0 && kl_hook_start(a, p, c, KL_HOOK_PRE_STOP, p->kill_at_ms) > 0)
            continue; /* SIGTERM once the hook is done */
        kl_ctr_signal(a, c, SIGTERM);
    }
}

static void
terminate(struct kl_agent *a, struct kl_apod *p)
{
    int64_t now = sk_clock_mono_ms();
    bool running = false;

    if (!p->terminating)
        terminate_begin(a, p, now);
    for (size_t i = 0; i < p->nctrs; i++) {
        struct kl_actr *c = &p->ctrs[i];

        kl_ctr_observe(a, p, c);
        if (c->hook_pid > 0) {
            if (!kl_hook_done(a, p, c))
                running = true;
            else if (c->state == KL_CTR_RUNNING && now < p->kill_at_ms)
                kl_ctr_signal(a, c, SIGTERM);
        }
        if (c->state == KL_CTR_RUNNING) {
            running = true;
            if (now >= p->kill_at_ms)
                kl_ctr_signal(a, c, SIGKILL);
        }
    }
    if (running)
        return;
    for (size_t i = 0; i < p->nctrs; i++) {
        kl_ctr_remove(a, p->dir, p->ctrs[i].id);
        p->ctrs[i].id[0] = '\0';
    }
    kl_sandbox_teardown(a, p->uid, p->dir);
    sk_info("kubelet", "pod '%s/%s' stopped and removed", p->ns, p->name);
    if (!p->gone && !p->delete_sent) {
        struct api_delete_args da = {.grace = 0, .uid = p->uid};
        p->delete_sent = true;
        api_aclient_delete(a->client, "pods", p->ns, p->name, &da, on_deleted, NULL);
    }
    p->done = true;
}

static void
restart_or_wait(struct kl_agent *a, struct kl_apod *p, struct kl_actr *c)
{
    struct kl_restart_in in = {.policy = restart_policy(p),
                               .init = c->init,
                               .exit_code = c->term.exit_code,
                               .started_s = c->started_s,
                               .finished_s = c->term.finished_s,
                               .now_s = kl_agent_now_s(),
                               .pod_name = p->name,
                               .pod_ns = p->ns,
                               .pod_uid = p->uid,
                               .container = c->name};
    struct kl_restart_out out;
    struct sk_err err;

    if (!c->started_s)
        in.started_s = in.finished_s;
    kl_restart_decide(&in, kl_backoff_get(&a->backoff, p->uid, c->name), &out);
    if (out.action == KL_RESTART_NONE)
        return;
    if (out.action == KL_RESTART_WAIT) {
        if (strcmp(c->reason, out.reason) != 0)
            kl_pod_event(a, p, API_EVENT_WARNING, "BackOff", "%s", out.message);
        sk_strlcpy(c->reason, out.reason, sizeof(c->reason));
        kl_msg_set(&c->message, out.message);
        return;
    }
    /* the run that ended becomes lastState; its container goes */
    c->last = c->term;
    c->has_last = true;
    kl_ctr_remove(a, p->dir, c->id);
    c->id[0] = '\0';
    sk_err_init(&err);
    if (kl_ctr_start(a, p, c, &err) < 0)
        kl_pod_event(a, p, API_EVENT_WARNING, "Failed", "Error: %s", err.msg);
    else
        kl_pod_event(a, p, API_EVENT_NORMAL, "Started", "Started container %s (restart %d)",
                     c->name, c->attempt - 1);
}

/* One container towards its goal; true when it is done for the pod's
 * progress (an init container that succeeded, any app container). */
static bool
sync_ctr(struct kl_agent *a, struct kl_apod *p, struct kl_actr *c)
{
    struct sk_err err;
    bool hook_busy;

    kl_ctr_observe(a, p, c);
    /* reaped whatever the state: a run that died during its postStart
     * hook leaves the hook to end on its own */
    hook_busy = !kl_hook_done(a, p, c);
    if (!c->id[0] && c->state != KL_CTR_TERMINATED) {
        char *before = sk_strdup(kl_msg(c->message));
        bool same;

        sk_err_init(&err);
        if (kl_ctr_start(a, p, c, &err) < 0) {
            same = strcmp(before, kl_msg(c->message)) == 0;
            free(before);
            if (same)
                return !c->init; /* reported already: retried every sync */
            sk_warn("kubelet", "pod '%s/%s' container '%s': %s", p->ns, p->name, c->name, err.msg);
            kl_pod_event(a, p, API_EVENT_WARNING,
                         strcmp(c->reason, "ErrImageNeverPull") == 0 ? "ErrImageNeverPull"
                                                                     : "Failed",
                         "Error: %s", kl_msg(c->message));
            return !c->init;
        }
        free(before);
        kl_pod_event(a, p, API_EVENT_NORMAL, "Started", "Started container %s", c->name);
    } else if (c->state == KL_CTR_TERMINATED) {
        restart_or_wait(a, p, c);
    } else if (c->state == KL_CTR_RUNNING && !hook_busy) {
        kl_ctr_probe(a, p, c); /* not while its postStart hook runs */
    }
    if (c->init)
        return c->state == KL_CTR_TERMINATED && c->term.exit_code == 0;
    return true;
}

/* A ConfigMap or Secret changed under running containers: project the
 * volumes again. A failure (a required object deleted meanwhile) keeps
 * the files as they were and is reported once, as Kubernetes's
 * FailedMount event. */
static void
update_volumes(struct kl_agent *a, struct kl_apod *p)
{
    struct sk_err err;

    sk_err_init(&err);
    if (kl_pod_volumes(p, &err) == 0) {
        kl_msg_set(&p->volume_error, NULL);
        sk_debug("kubelet", "pod '%s/%s': configMap/secret volumes updated", p->ns, p->name);
        return;
    }
    p->projected_gen = p->refs_gen; /* not again until the objects change again */
    if (strcmp(kl_msg(p->volume_error), err.msg) == 0)
        return;
    kl_msg_set(&p->volume_error, err.msg);
    sk_warn("kubelet", "pod '%s/%s': %s", p->ns, p->name, err.msg);
    kl_pod_event(a, p, API_EVENT_WARNING, "FailedMount", "MountVolume.SetUp failed: %s", err.msg);
}

static bool
deleting(const struct kl_apod *p)
{
    return p->gone || p->terminating ||
           json_object_get(json_object_get(p->obj, "metadata"), "deletionTimestamp");
}

/* Finished pods (Succeeded/Failed) keep their containers' records, but
 * nothing is started again. */
static bool
finished(const struct kl_apod *p)
{
    const char *ph = json_string_value(json_object_get(json_object_get(p->obj, "status"), "phase"));
    return ph && (strcmp(ph, "Succeeded") == 0 || strcmp(ph, "Failed") == 0);
}

void
kl_pod_sync(struct kl_agent *a, struct kl_apod *p)
{
    struct sk_err err;
    bool init_failed = false;

    if (p->done || !a->net_ready)
        return;
    if (deleting(p)) {
        terminate(a, p);
        return;
    }
    if (p->nctrs == 0)
        return;
    if (finished(p)) {
        for (size_t i = 0; i < p->nctrs; i++)
            kl_ctr_observe(a, p, &p->ctrs[i]);
        kl_pod_status_write(a, p);
        return;
    }
    sk_err_init(&err);
    if (kl_sandbox_ensure(a, p, &err) < 0) {
        if (strcmp(kl_msg(p->sandbox_error), err.msg) != 0) {
            sk_warn("kubelet", "pod '%s/%s': %s", p->ns, p->name, err.msg);
            kl_pod_event(a, p, API_EVENT_WARNING, "FailedCreatePodSandBox",
                         "Failed to create pod sandbox: %s", err.msg);
        }
        kl_msg_set(&p->sandbox_error, err.msg);
        kl_pod_status_write(a, p);
        return;
    }
    kl_msg_set(&p->sandbox_error, NULL);
    if (!p->start_time[0])
        kl_agent_now(p->start_time, sizeof(p->start_time));
    kl_pod_refs_sync(a, p);
    if (!p->refs_ready) { /* nothing starts before its ConfigMaps and Secrets are known */
        kl_pod_status_write(a, p);
        return;
    }
    if (p->projected && p->projected_gen != p->refs_gen)
        update_volumes(a, p);
    for (size_t i = 0; i < p->nctrs; i++) {
        struct kl_actr *c = &p->ctrs[i];

        if (c->init && init_failed)
            break;
        if (!sync_ctr(a, p, c) && c->init) {
            init_failed = true;
            break;
        }
    }
    kl_pod_status_write(a, p);
}
