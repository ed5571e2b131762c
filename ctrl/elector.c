/* Leader election over the API (ctrl.h "Leader election"): one read of
 * the Lease per retry period, then at most one write, on a client of
 * its own so that the controllers' backlog never delays a renewal.
 *
 * Timing, from the lease duration L (client-go's defaults are L 15 s,
 * renew deadline 10 s, retry 2 s): retry every 2L/15, give up leading
 * when no renewal succeeded for 2L/3. A request not answered within L/3
 * fails, so a hung server cannot hold the loop of reads up. The renew
 * deadline counts from when the last successful write was *sent*: the
 * others' L counts from when they saw it, which is later. */

#include "ctrl/ctrl.h"

#include "api/aclient.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/loop.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define RELEASE_WAIT_MS 2000

struct ctrl_elector {
    struct sk_loop *loop;
    struct api_aclient *c;
    char *identity;
    char *server;
    int64_t lease_ms, deadline_ms, retry_ms;
    void (*on_change)(void *arg, int leading);
    void *arg;
    int leading;
    int64_t sent_ns, renewed_ns; /* monotonic: last write sent / last success's send */
    char *observed;              /* "rv holder renewTime" of the record last seen */
    int64_t observed_ns;         /* monotonic: when it last changed */
    json_t *last;                /* the Lease as our last successful write left it */
    struct api_acall *call;
    uint64_t timer, deadline_timer, release_timer;
    int unreachable;   /* the failure to reach the server was reported */
    char refused[256]; /* the server's last refusal, reported once */
    void (*done)(void *arg);
    void *done_arg;
};

static void tick(struct sk_loop *loop, void *arg);

static void
schedule(struct ctrl_elector *e)
{
    if (!e->timer && !e->done)
        e->timer = sk_loop_timer_add(e->loop, (uint64_t)e->retry_ms, tick, e);
}

static void
set_leading(struct ctrl_elector *e, int leading, const char *why)
{
    if (e->leading == leading)
        return;
    e->leading = leading;
    if (leading)
        sk_info("ctrl", "lease '%s/%s' acquired by '%s': leading", CTRL_LEASE_NAMESPACE,
                CTRL_LEASE_NAME, e->identity);
    else
        sk_warn("ctrl", "lease '%s/%s' lost by '%s': %s", CTRL_LEASE_NAMESPACE, CTRL_LEASE_NAME,
                e->identity, why);
    if (e->on_change)
        e->on_change(e->arg, leading);
}

static void
on_deadline(struct sk_loop *loop, void *arg)
{
    struct ctrl_elector *e = arg;

    (void)loop;
    e->deadline_timer = 0;
    if (e->leading && sk_clock_mono_ns() - e->renewed_ns >= e->deadline_ms * 1000000)
        set_leading(e, 0, "not renewed within the renew deadline");
}

/* A write succeeded. The deadline counts from when it was sent: an
 * answer read late (the process was stopped, the loop was busy) may
 * come when others already consider the lease expired. */
static void
renewed(struct ctrl_elector *e)
{
    int64_t left_ms = (e->sent_ns - sk_clock_mono_ns()) / 1000000 + e->deadline_ms;

    if (e->deadline_timer)
        sk_loop_timer_cancel(e->loop, e->deadline_timer);
    e->deadline_timer = 0;
    if (left_ms <= 0) {
        set_leading(e, 0, "renewal answered after the renew deadline");
        return;
    }
    e->renewed_ns = e->sent_ns;
    e->deadline_timer = sk_loop_timer_add(e->loop, (uint64_t)left_ms, on_deadline, e);
    set_leading(e, 1, NULL);
}

/* A failure to talk to the server, or a refusal (403, a missing
 * namespace): each said once until a call succeeds, not every retry. */
static void
report(struct ctrl_elector *e, int rc, const struct api_resp *resp, const struct sk_err *err)
{
    const char *msg = err && *err->msg ? err->msg : "failed";

    if (resp) {
        if (strcmp(e->refused, msg))
            sk_warn("ctrl", "lease '%s/%s': %s", CTRL_LEASE_NAMESPACE, CTRL_LEASE_NAME, msg);
        sk_strlcpy(e->refused, msg, sizeof(e->refused));
        return;
    }
    if (!e->unreachable)
        sk_error("ctrl", "cannot reach the API server '%s': %s; retrying", e->server,
                 err && *err->msg ? err->msg : strerror(-rc));
    e->unreachable = 1;
}

/* Remember when the record last changed, in our own clock. */
static void
observe(struct ctrl_elector *e, const json_t *lease)
{
    const json_t *spec = json_object_get(lease, "spec");
    const char *rv = json_string_value(sk_json_get(lease, "metadata.resourceVersion"));
    const char *h = json_string_value(json_object_get(spec, "holderIdentity"));
    const char *t = json_string_value(json_object_get(spec, "renewTime"));
    char *now = sk_asprintf("%s %s %s", rv ? rv : "", h ? h : "", t ? t : "");

    if (!e->observed || strcmp(e->observed, now)) {
        free(e->observed);
        e->observed = now;
        e->observed_ns = sk_clock_mono_ns();
        if (h && *h && strcmp(h, e->identity))
            sk_debug("ctrl", "lease held by '%s'", h);
        return;
    }
    free(now);
}

static void
on_write(struct api_aclient *c, int rc, const struct api_resp *resp, const struct sk_err *err,
         void *arg)
{
    struct ctrl_elector *e = arg;

    (void)c;
    e->call = NULL;
    if (rc == 0) {
        e->unreachable = 0;
        e->refused[0] = '\0';
        json_decref(e->last);
        e->last = api_resp_object(resp, 0, NULL);
        renewed(e);
    } else if (rc == -ESTALE || rc == -EEXIST) {
        /* another candidate wrote first: read again next time */
        sk_debug("ctrl", "lease: %s", err ? err->msg : "conflict");
    } else {
        report(e, rc, resp, err);
    }
    schedule(e);
}

static void
write_lease(struct ctrl_elector *e, const json_t *lease, enum ctrl_lease_step step)
{
    json_t *obj =
        ctrl_lease_build(lease, step, e->identity, (e->lease_ms + 999) / 1000, sk_clock_real_ns());

    e->sent_ns = sk_clock_mono_ns();
    if (step == CTRL_LEASE_CREATE)
        e->call = api_aclient_create(e->c, obj, on_write, e);
    else
        e->call = api_aclient_update(e->c, obj, on_write, e);
    json_decref(obj);
    if (!e->call)
        schedule(e);
}

static void
on_read(struct api_aclient *c, int rc, const struct api_resp *resp, const struct sk_err *err,
        void *arg)
{
    struct ctrl_elector *e = arg;
    json_t *lease = NULL;
    enum ctrl_lease_step step;

    (void)c;
    e->call = NULL;
    if (rc < 0 && !(rc == -ENOENT && resp)) {
        report(e, rc, resp, err);
        schedule(e);
        return;
    }
    e->unreachable = 0;
    if (rc == 0 && !(lease = api_resp_object(resp, 0, NULL))) {
        schedule(e);
        return;
    }
    if (lease)
        observe(e, lease);
    step = ctrl_lease_decide(lease, e->identity, e->observed_ns, sk_clock_mono_ns(),
                             e->lease_ms * 1000000);
    if (step == CTRL_LEASE_WAIT) {
        set_leading(e, 0, "held by another candidate");
        schedule(e);
    } else {
        write_lease(e, lease, step);
    }
    json_decref(lease);
}

static void
tick(struct sk_loop *loop, void *arg)
{
    struct ctrl_elector *e = arg;

    (void)loop;
    e->timer = 0;
    if (e->call)
        return;
    e->call = api_aclient_get(e->c, "leases", CTRL_LEASE_NAMESPACE, CTRL_LEASE_NAME, on_read, e);
    if (!e->call)
        schedule(e);
}

int
ctrl_elector_start(struct sk_loop *loop, const struct ctrl_elector_config *cfg,
                   struct ctrl_elector **out, struct sk_err *err)
{
    struct ctrl_elector *e;
    struct api_aclient_config acfg = {.server = cfg->server, .token = cfg->token};
    int rc;

    *out = NULL;
    if (!cfg->server || !*cfg->server)
        return sk_err_set(err, EINVAL, "leader election: no API server address");
    if (!cfg->identity || !*cfg->identity)
        return sk_err_set(err, EINVAL, "leader election: no identity");
    e = sk_calloc(1, sizeof(*e));
    e->loop = loop;
    e->lease_ms = cfg->lease_ms ? cfg->lease_ms : 15000;
    e->deadline_ms = e->lease_ms * 2 / 3;
    e->retry_ms = e->lease_ms * 2 / 15 > 0 ? e->lease_ms * 2 / 15 : 1;
    acfg.call_timeout_ms = (uint32_t)(e->lease_ms / 3);
    acfg.backoff_max_ms = (uint32_t)e->retry_ms;
    e->identity = sk_strdup(cfg->identity);
    e->server = sk_strdup(cfg->server);
    e->on_change = cfg->on_change;
    e->arg = cfg->arg;
    rc = api_aclient_new(loop, &acfg, &e->c, err);
    if (rc < 0) {
        ctrl_elector_free(e);
        return sk_err_wrap(err, "leader election");
    }
    sk_info("ctrl", "candidate '%s' for lease '%s/%s' (%" PRId64 " ms)", e->identity,
            CTRL_LEASE_NAMESPACE, CTRL_LEASE_NAME, e->lease_ms);
    e->timer = sk_loop_timer_add(loop, 0, tick, e);
    *out = e;
    return 0;
}

void
ctrl_elector_free(struct ctrl_elector *e)
{
    if (!e)
        return;
    if (e->timer)
        sk_loop_timer_cancel(e->loop, e->timer);
    if (e->deadline_timer)
        sk_loop_timer_cancel(e->loop, e->deadline_timer);
    if (e->release_timer)
        sk_loop_timer_cancel(e->loop, e->release_timer);
    api_aclient_free(e->c);
    json_decref(e->last);
    free(e->observed);
    free(e->identity);
    free(e->server);
    free(e);
}

int
ctrl_elector_leading(const struct ctrl_elector *e)
{
    return e && e->leading;
}

/* ---- release ---- */

static void
released(struct ctrl_elector *e)
{
    void (*done)(void *) = e->done;

    if (e->release_timer)
        sk_loop_timer_cancel(e->loop, e->release_timer);
    e->release_timer = 0;
    e->done = NULL;
    if (done)
        done(e->done_arg);
}

static void
on_release_timeout(struct sk_loop *loop, void *arg)
{
    struct ctrl_elector *e = arg;

    (void)loop;
    e->release_timer = 0;
    released(e);
}

static void
on_released(struct api_aclient *c, int rc, const struct api_resp *resp, const struct sk_err *err,
            void *arg)
{
    struct ctrl_elector *e = arg;

    (void)c;
    (void)resp;
    if (rc < 0)
        sk_warn("ctrl", "lease release: %s", err ? err->msg : "failed");
    else
        sk_info("ctrl", "lease '%s/%s' released", CTRL_LEASE_NAMESPACE, CTRL_LEASE_NAME);
    released(e);
}

void
ctrl_elector_release(struct ctrl_elector *e, void (*done)(void *arg), void *arg)
{
    int was = e->leading;
    json_t *obj;

    e->done = done;
    e->done_arg = arg;
    if (e->timer)
        sk_loop_timer_cancel(e->loop, e->timer);
    e->timer = 0;
    if (e->call)
        api_acall_cancel(e->call);
    e->call = NULL;
    e->leading = 0; /* the caller stops its controllers itself */
    e->release_timer =
        sk_loop_timer_add(e->loop, was && e->last ? RELEASE_WAIT_MS : 0, on_release_timeout, e);
    if (!was || !e->last)
        return;
    /* Kubernetes's ReleaseOnCancel: an empty holder, a 1 s duration. */
    obj = json_deep_copy(e->last);
    json_object_set_new(json_object_get(obj, "spec"), "holderIdentity", json_string(""));
    json_object_set_new(json_object_get(obj, "spec"), "leaseDurationSeconds", json_integer(1));
    if (!api_aclient_update(e->c, obj, on_released, e))
        sk_warn("ctrl", "lease release: request refused");
    json_decref(obj);
}
