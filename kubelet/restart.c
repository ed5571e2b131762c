/* kubelet/: restartPolicy and the CrashLoopBackOff schedule.
 *
 * Kubernetes' rules (pkg/kubelet/kuberuntime, flowcontrol.Backoff):
 *   - Always restarts every exited container; OnFailure only those that
 *     exited non-zero; Never none. Init containers are restarted only
 *     when they failed, and never under Never (the pod fails instead).
 *   - The first restart happens at once. Each restart then moves the
 *     back-off to 10 s, 20 s, 40 s, ... capped at 300 s; a restart is due
 *     once the back-off has passed since the container finished. While
 *     it has not, the container waits with reason CrashLoopBackOff and
 *     "back-off 40s restarting failed container=web pod=web-abc_default
 *     (uid)".
 *   - A container that ran for 10 minutes or more before exiting starts
 *     again from the initial back-off (the task's "reset after 10 min of
 *     running"; Kubernetes forgets entries idle for 2 * max, which the
 *     table's gc does too). */
#include "kubelet/kubelet.h"

#include "lib/alloc.h"

#include <stdlib.h>
#include <string.h>

bool
kl_restart_wanted(const char *policy, bool init, int exit_code)
{
    if (!policy || strcmp(policy, "Always") == 0)
        return !init || exit_code != 0;
    if (strcmp(policy, "OnFailure") == 0)
        return exit_code != 0;
    return false;
}

void
kl_restart_decide(const struct kl_restart_in *in, struct kl_backoff *bo, struct kl_restart_out *out)
{
    memset(out, 0, sizeof(*out));
    if (!kl_restart_wanted(in->policy, in->init, in->exit_code)) {
        out->action = KL_RESTART_NONE;
        return;
    }
    if (in->finished_s - in->started_s >= KL_BACKOFF_RESET_S)
        bo->delay_s = 0;
    if (bo->delay_s > 0 && in->now_s - in->finished_s < bo->delay_s) {
        out->action = KL_RESTART_WAIT;
        out->wait_until_s = in->finished_s + bo->delay_s;
        sk_strlcpy(out->reason, "CrashLoopBackOff", sizeof(out->reason));
        sk_snprintf(out->message, sizeof(out->message),
                    "back-off %llds restarting failed container=%s pod=%s_%s(%s)",
                    (long long)bo->delay_s, in->container ? in->container : "",
                    in->pod_name ? in->pod_name : "", in->pod_ns ? in->pod_ns : "",
                    in->pod_uid ? in->pod_uid : "");
        return;
    }
    /* Backoff.Next: the restart happens now; the next one waits longer */
    if (bo->delay_s == 0)
        bo->delay_s = KL_BACKOFF_INITIAL_S;
    else
        bo->delay_s = bo->delay_s * 2 > KL_BACKOFF_MAX_S ? KL_BACKOFF_MAX_S : bo->delay_s * 2;
    bo->last_s = in->now_s;
    out->action = KL_RESTART_NOW;
}

void
kl_backoff_table_init(struct kl_backoff_table *t)
{
    memset(t, 0, sizeof(*t));
}

void
kl_backoff_table_release(struct kl_backoff_table *t)
{
    free(t->v);
    memset(t, 0, sizeof(*t));
}

struct kl_backoff *
kl_backoff_get(struct kl_backoff_table *t, const char *uid, const char *ctr)
{
    char key[sizeof(t->v[0].key)];

    sk_snprintf(key, sizeof(key), "%s/%s", uid, ctr);
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->v[i].key, key) == 0)
            return &t->v[i];
    }
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->v = sk_reallocarray(t->v, t->cap, sizeof(*t->v));
    }
    memset(&t->v[t->n], 0, sizeof(t->v[0]));
    sk_strlcpy(t->v[t->n].key, key, sizeof(key));
    return &t->v[t->n++];
}

void
kl_backoff_table_gc(struct kl_backoff_table *t, int64_t now_s)
{
    size_t o = 0;

    for (size_t i = 0; i < t->n; i++) {
        if (now_s - t->v[i].last_s <= 2 * KL_BACKOFF_MAX_S)
            t->v[o++] = t->v[i];
    }
    t->n = o;
}
