/* A pod's STATUS, READY and RESTARTS columns, derived as kubectl's
 * printPod (pkg/printers/internalversion, v1.28) does: the raw phase
 * says little ("Pending" covers image pulls, crash loops and init
 * failures alike), so the most telling container state wins. */
#include "api/print_int.h"

#include "lib/buf.h"
#include "lib/json.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct pod_walk {
    struct api_pod_summary *s;
    int64_t restarts;
    int64_t last_restart; /* newest lastState.terminated.finishedAt, or -1 */
    int64_t sidecar_restarts;
    int64_t sidecar_last_restart;
    long ready;
    long total;
};

static void set_status(struct pod_walk *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
set_status(struct pod_walk *w, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(w->s->status, sizeof(w->s->status), fmt, ap);
    va_end(ap);
}

/* A restartable init container (a "sidecar", restartPolicy Always in an
 * init container) counts as a regular one in READY. */
static bool
is_sidecar(const json_t *pod, const char *name)
{
    json_t *inits = pr_arr(pod, "spec.initContainers"), *c;
    size_t i;

    if (!name)
        return false;
    json_array_foreach (inits, i, c) {
        const char *n = pr_str(c, "name"), *rp = pr_str(c, "restartPolicy");

        if (n && strcmp(n, name) == 0)
            return rp && strcmp(rp, "Always") == 0;
    }
    return false;
}

static bool
has_condition_true(const json_t *pod, const char *type)
{
    json_t *conds = pr_arr(pod, "status.conditions"), *c;
    size_t i;

    json_array_foreach (conds, i, c) {
        const char *t = pr_str(c, "type"), *st = pr_str(c, "status");

        if (t && st && strcmp(t, type) == 0 && strcmp(st, "True") == 0)
            return true;
    }
    return false;
}

static void
note_last_restart(const json_t *cs, int64_t *last)
{
    int64_t t = pr_time(cs, "lastState.terminated.finishedAt");

    if (t > *last)
        *last = t;
}

/* Returns true when initialisation is still going on (the status is set). */
static bool
walk_init_containers(const json_t *pod, struct pod_walk *w)
{
    json_t *st = pr_arr(pod, "status.initContainerStatuses"), *cs;
    size_t i, nspec = json_array_size(pr_arr(pod, "spec.initContainers"));

    json_array_foreach (st, i, cs) {
        bool sidecar = is_sidecar(pod, pr_str(cs, "name"));
        json_t *term = pr_obj(cs, "state.terminated");
        const char *reason;

        if (!json_is_object(cs))
            continue;
        w->restarts += pr_int(cs, "restartCount", 0);
        note_last_restart(cs, &w->last_restart);
        if (sidecar) {
            w->sidecar_restarts += pr_int(cs, "restartCount", 0);
            note_last_restart(cs, &w->sidecar_last_restart);
        }
        if (term && pr_int(term, "exitCode", 0) == 0)
            continue;
        if (sidecar && pr_bool(cs, "started")) {
            w->ready += pr_bool(cs, "ready");
            continue;
        }
        if (term) {
            reason = pr_str(term, "reason");
            if (reason && *reason)
                set_status(w, "Init:%s", reason);
            else if (pr_int(term, "signal", 0) != 0)
                set_status(w, "Init:Signal:%lld", (long long)pr_int(term, "signal", 0));
            else
                set_status(w, "Init:ExitCode:%lld", (long long)pr_int(term, "exitCode", 0));
            return true;
        }
        reason = pr_str(cs, "state.waiting.reason");
        if (reason && *reason && strcmp(reason, "PodInitializing") != 0)
            set_status(w, "Init:%s", reason);
        else
            set_status(w, "Init:%zu/%zu", i, nspec);
        return true;
    }
    return false;
}

/* Containers are walked last to first so the first container's state
 * wins, as in kubectl. */
static void
walk_containers(const json_t *pod, struct pod_walk *w)
{
    json_t *st = pr_arr(pod, "status.containerStatuses"), *cs;
    bool has_running = false;
    size_t i = json_array_size(st);

    while (i-- > 0) {
        const char *waiting, *treason;
        json_t *term;

        cs = json_array_get(st, i);
        w->restarts += pr_int(cs, "restartCount", 0);
        note_last_restart(cs, &w->last_restart);
        waiting = pr_str(cs, "state.waiting.reason");
        term = pr_obj(cs, "state.terminated");
        treason = pr_str(term, "reason");
        if (waiting && *waiting) {
            set_status(w, "%s", waiting);
        } else if (treason && *treason) {
            set_status(w, "%s", treason);
        } else if (term) {
            if (pr_int(term, "signal", 0) != 0)
                set_status(w, "Signal:%lld", (long long)pr_int(term, "signal", 0));
            else
                set_status(w, "ExitCode:%lld", (long long)pr_int(term, "exitCode", 0));
        } else if (pr_bool(cs, "ready") && pr_obj(cs, "state.running")) {
            has_running = true;
            w->ready++;
        }
    }
    /* A pod whose last container completed but another still runs is
     * not "Completed". */
    if (strcmp(w->s->status, "Completed") == 0 && has_running)
        set_status(w, "%s", has_condition_true(pod, "Ready") ? "Running" : "NotReady");
}

static void
initial_status(const json_t *pod, struct pod_walk *w)
{
    json_t *conds = pr_arr(pod, "status.conditions"), *c;
    const char *reason = pr_str(pod, "status.reason");
    size_t i;

    /* kubectl prints an empty phase as is; a blank cell would only
     * confuse, so it reads "Unknown". */
    if (!reason || !*reason)
        reason = pr_str(pod, "status.phase");
    set_status(w, "%s", reason && *reason ? reason : "Unknown");
    json_array_foreach (conds, i, c) {
        const char *t = pr_str(c, "type"), *r = pr_str(c, "reason");

        if (t && r && strcmp(t, "PodScheduled") == 0 && strcmp(r, "SchedulingGated") == 0)
            set_status(w, "SchedulingGated");
    }
}

void
api_pod_summarize(const json_t *pod, int64_t now, struct api_pod_summary *s)
{
    struct pod_walk w = {.s = s, .last_restart = -1, .sidecar_last_restart = -1};
    json_t *inits = pr_arr(pod, "spec.initContainers"), *c;
    const char *reason = pr_str(pod, "status.reason");
    size_t i;
    char age[32];

    memset(s, 0, sizeof(*s));
    w.total = (long)json_array_size(pr_arr(pod, "spec.containers"));
    json_array_foreach (inits, i, c) {
        w.total += is_sidecar(pod, pr_str(c, "name"));
    }
    initial_status(pod, &w);
    if (!walk_init_containers(pod, &w) || has_condition_true(pod, "Initialized")) {
        w.restarts = w.sidecar_restarts;
        w.last_restart = w.sidecar_last_restart;
        walk_containers(pod, &w);
    }
    if (pr_str(pod, "metadata.deletionTimestamp"))
        set_status(&w, "%s", reason && strcmp(reason, "NodeLost") == 0 ? "Unknown" : "Terminating");
    snprintf(s->ready, sizeof(s->ready), "%ld/%ld", w.ready, w.total);
    if (w.last_restart < 0) {
        snprintf(s->restarts, sizeof(s->restarts), "%lld", (long long)w.restarts);
        return;
    }
    api_print_duration(now - w.last_restart, age, sizeof(age));
    snprintf(s->restarts, sizeof(s->restarts), "%lld (%s ago)", (long long)w.restarts, age);
}
