/* kubelet/pod_status.c: what the agent observed -> pods/status, and the
 * pod's Events.
 *
 * The status is rebuilt on every sync (status.c, pure) and written with
 * the status verb only when kl_status_significant() says it changed
 * against the last status written (or the one the pod came with), one
 * write in flight per pod: a busy pod costs a write per real
 * transition, an idle one none. */
#include "kubelet/agent_int.h"

#include "api/events.h"
#include "lib/alloc.h"
#include "lib/log.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static void
term_obs(const struct kl_aterm *t, struct kl_term *out)
{
    memset(out, 0, sizeof(*out));
    out->exit_code = t->exit_code;
    out->signal = t->signal;
    out->reason = t->reason;
    out->started_at = t->started_at[0] ? t->started_at : NULL;
    out->finished_at = t->finished_at[0] ? t->finished_at : NULL;
    out->container_id = t->id[0] ? t->id : NULL;
}

static void
ctr_obs(const struct kl_apod *p, const struct kl_actr *c, struct kl_ctr_obs *o)
{
    const json_t *arr =
        json_object_get(json_object_get(p->obj, "spec"), c->init ? "initContainers" : "containers");

    memset(o, 0, sizeof(*o));
    o->name = c->name;
    o->image = json_string_value(json_object_get(json_array_get(arr, c->index), "image"));
    o->image_id = c->image_id[0] ? c->image_id : NULL;
    o->restart_count = c->attempt > 1 ? c->attempt - 1 : 0;
    o->has_last = c->has_last;
    if (c->has_last)
        term_obs(&c->last, &o->last);
    switch (c->state) {
    case KL_CTR_RUNNING:
        o->state = KL_CTR_RUNNING;
        o->started_at = c->started_at[0] ? c->started_at : NULL;
        o->container_id = c->id;
        o->started = kl_probes_started(&c->probes) || !c->probes_on;
        /* not ready while its postStart hook runs */
        o->ready = c->hook_pid > 0 && c->hook_kind == KL_HOOK_POST_START ? false
                   : c->probes_on ? kl_probes_ready(&c->probes)
                                  : true;
        break;
    case KL_CTR_TERMINATED:
        if (strcmp(c->reason, "CrashLoopBackOff") == 0) {
            /* waiting to restart: the run that ended is lastState */
            o->state = KL_CTR_WAITING;
            o->reason = c->reason;
            o->message = kl_msg(c->message);
            o->has_last = true;
            term_obs(&c->term, &o->last);
            break;
        }
        o->state = KL_CTR_TERMINATED;
        term_obs(&c->term, &o->term);
        o->container_id = c->term.id[0] ? c->term.id : NULL;
        break;
    default:
        o->state = KL_CTR_WAITING;
        o->reason = c->reason[0] ? c->reason : "ContainerCreating";
        o->message = c->message;
        break;
    }
}

static void
on_status_written(struct api_aclient *cl, int rc, const struct api_resp *resp,
                  const struct sk_err *err, void *arg)
{
    struct kl_apod *p = arg;

    p->status_busy = false;
    if (rc < 0) {
        sk_warn("kubelet", "pod '%s/%s': writing status: %s", p->ns, p->name, err->msg);
        /* forget what was sent: the next sync writes again */
        json_decref(p->written);
        p->written = NULL;
    }
}

void
kl_pod_status_write(struct kl_agent *a, struct kl_apod *p)
{
    struct kl_ctr_obs *init = sk_calloc(p->nctrs, sizeof(*init)),
                      *app = sk_calloc(p->nctrs, sizeof(*app));
    struct kl_status_in in = {.pod = p->obj, .init_ctrs = init, .ctrs = app};
    struct sk_err err;
    char now[40];
    json_t *st = NULL, *obj;

    if (p->status_busy || !p->obj)
        goto out;
    for (size_t i = 0; i < p->nctrs; i++) {
        if (p->ctrs[i].init)
            ctr_obs(p, &p->ctrs[i], &init[in.ninit++]);
        else
            ctr_obs(p, &p->ctrs[i], &app[in.nctrs++]);
        if (p->sandbox_error && !p->ctrs[i].id[0]) {
            struct kl_ctr_obs *o = p->ctrs[i].init ? &init[in.ninit - 1] : &app[in.nctrs - 1];
            o->reason = "ContainerCreating";
            o->message = p->sandbox_error;
        }
    }
    kl_agent_now(now, sizeof(now));
    in.pod_ip = p->ip[0] ? p->ip : NULL;
    in.host_ip = a->host_ip[0] ? a->host_ip : NULL;
    in.start_time = p->start_time[0] ? p->start_time : NULL;
    in.now = now;
    sk_err_init(&err);
    if (kl_status_build(&in, &st, &err) < 0) {
        sk_warn("kubelet", "pod '%s/%s': status: %s", p->ns, p->name, err.msg);
        goto out;
    }
    if (p->written && !kl_status_significant(p->written, st))
        goto out;
    obj = json_deep_copy(p->obj);
    json_object_del(json_object_get(obj, "metadata"), "resourceVersion");
    json_object_set(obj, "status", st);
    p->status_busy = true;
    api_aclient_status(a->client, obj, on_status_written, p);
    json_decref(obj);
    json_decref(p->written);
    p->written = json_incref(st);
out:
    json_decref(st);
    free(init);
    free(app);
}

void
kl_pod_event(struct kl_agent *a, struct kl_apod *p, const char *type, const char *reason,
             const char *fmt, ...)
{
    char msg[1024];
    struct sk_err err;
    va_list ap;

    if (!p->obj)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    sk_err_init(&err);
    if (api_event_record(a->client, p->obj, type, reason, msg, "kubelet", &err) < 0)
        sk_debug("kubelet", "event: %s", err.msg);
}
