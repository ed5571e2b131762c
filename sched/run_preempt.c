/* The runner's side of preemption (the I/O around preempt.c and
 * nominate.c), kept out of runner.c: one call per attempt does
 *
 *   1. drop nominations of pods that are gone, bound or being deleted
 *      (the pod informer says), so that held room does not outlive them;
 *   2. hold the room of the nominated pods at least as important as this
 *      one on their nodes;
 *   3. try the pod's own nominated node first (kube-scheduler's
 *      evaluateNominatedNode), then every node as usual;
 *   4. when nothing fits, preempt: delete the victims gracefully (a
 *      normal delete with the uid as precondition, so each pod's own
 *      terminationGracePeriodSeconds applies, and a replacement of the
 *      same name is never hit), record a "Preempted" Event on each and
 *      a "Preempting" Event on the preemptor, and set the preemptor's
 *      status.nominatedNodeName (with PodScheduled=False Unschedulable,
 *      the condition the runner would write, in the same patch), and
 *      take the nomination to that node away from pods of lower priority;
 *   5. unhold.
 *
 * The preemptor then waits parked like any unschedulable pod: each victim
 * that disappears from the informer is a pod deletion, which wakes it,
 * and its next attempt binds it on the nominated node. While its victims
 * are still terminating it does not preempt again. */
#include "api/events.h"
#include "api/informer.h"
#include "lib/alloc.h"
#include "lib/clock.h"
#include "lib/json.h"
#include "lib/log.h"
#include "sched/sched_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sched_preemptor {
    struct api_aclient *client;
    struct api_informer *pods;
    const char *component; /* the runner's */
    struct sched_nominator *nom;
    uint64_t preemptions, victims;
};

struct sched_preemptor *
sched_preemptor_new(struct api_aclient *client, struct api_informer *pods, const char *component)
{
    struct sched_preemptor *pr = sk_calloc(1, sizeof(*pr));

    pr->client = client;
    pr->pods = pods;
    pr->component = component;
    pr->nom = sched_nominator_new();
    return pr;
}

void
sched_preemptor_free(struct sched_preemptor *pr)
{
    if (!pr)
        return;
    if (pr->preemptions)
        sk_info("sched", "%llu preemptions evicted %llu pods", (unsigned long long)pr->preemptions,
                (unsigned long long)pr->victims);
    sched_nominator_free(pr->nom);
    free(pr);
}

static const char *
str_at(const json_t *obj, const char *path)
{
    return json_string_value(sk_json_get(obj, path));
}

/* A nomination outlives the pod's wait only until the informer shows
 * it bound, gone or being deleted. */
static const json_t *
still_pending(void *ctx, const char *ns, const char *name)
{
    struct sched_preemptor *pr = ctx;
    const json_t *cur = api_informer_get(pr->pods, ns, name);

    return cur && sched_pod_wants_node(cur) ? cur : NULL;
}

static void
on_deleted(struct api_aclient *c, int rc, const struct api_resp *resp, const struct sk_err *err,
           void *arg)
{
    (void)c;
    (void)resp;
    (void)arg;
    /* 404: gone already; 409: the uid differs, a new pod of that name. */
    if (rc < 0 && rc != -ENOENT && rc != -ESTALE)
        sk_warn("sched", "preemption: delete: %s", err->msg);
}

static void
on_nominated(struct api_aclient *c, int rc, const struct api_resp *resp, const struct sk_err *err,
             void *arg)
{
    (void)c;
    (void)resp;
    (void)arg;
    /* 409: the pod changed since we looked (the second patch below
     * still nominates it); 404: it is gone. */
    if (rc < 0 && rc != -ESTALE && rc != -ENOENT)
        sk_warn("sched", "preemption: nominatedNodeName: %s", err->msg);
}

/* status.nominatedNodeName and PodScheduled=False on cur, conditional
 * on its resourceVersion as the runner's condition patch is; then the
 * nomination alone, unconditionally, in case the first lost a race: a
 * no-op after it, and right whatever changed (a pod bound meanwhile
 * ignores it). Two fire-and-forget patches rather than a retry from the
 * callback, which would need state that outlives a stopped runner. */
static void
nominate(struct sched_preemptor *pr, const json_t *cur, const char *ns, const char *name,
         const char *node, const char *message)
{
    char now[SK_CLOCK_RFC3339_MAX];
    const char *rv = str_at(cur, "metadata.resourceVersion");
    json_t *patch;

    sk_clock_rfc3339(sk_clock_real_ns(), 0, now, sizeof(now));
    patch = sched_condition_patch(cur, "False", "Unschedulable", message, now);
    if (!patch)
        patch = json_pack("{s:{}}", "status");
    json_object_set_new(json_object_get(patch, "status"), "nominatedNodeName", json_string(node));
    if (rv)
        json_object_set_new(patch, "metadata", json_pack("{s:s}", "resourceVersion", rv));
    api_aclient_patch(pr->client, "pods", ns, name, "status", patch, on_nominated, NULL);
    json_decref(patch);
    patch = json_pack("{s:{s:s}}", "status", "nominatedNodeName", node);
    api_aclient_patch(pr->client, "pods", ns, name, "status", patch, on_nominated, NULL);
    json_decref(patch);
}

static void
event(struct sched_preemptor *pr, const json_t *obj, const char *reason, const char *message)
{
    struct sk_err err;

    sk_err_init(&err);
    if (api_event_record(pr->client, obj, API_EVENT_NORMAL, reason, message, pr->component, &err) <
        0)
        sk_warn("sched", "event about pod '%s/%s': %s", str_at(obj, "metadata.namespace"),
                str_at(obj, "metadata.name"), err.msg);
}

static void
evict(struct sched_preemptor *pr, const struct sched_victim *v, const char *by, const char *node)
{
    struct api_delete_args args = {.grace = -1, .uid = str_at(v->pod, "metadata.uid")};
    char msg[1024];

    if (v->terminating)
        return; /* its room is on the way already */
    sk_info("sched", "preempting pod '%s/%s' (priority %lld) on node '%s' for '%s'", v->ns, v->name,
            (long long)v->priority, node, by);
    api_aclient_delete(pr->client, "pods", v->ns, v->name, &args, on_deleted, NULL);
    snprintf(msg, sizeof(msg), "Preempted by %s on node %s", by, node);
    event(pr, v->pod, "Preempted", msg);
    pr->victims++;
}

/* A pod of lower priority nominated to the node preempted on loses its
 * nomination, in the API too (null removes the field: RFC 7386). */
static void
unnominate(void *ctx, const json_t *pod)
{
    struct sched_preemptor *pr = ctx;
    const char *ns = str_at(pod, "metadata.namespace"), *name = str_at(pod, "metadata.name");
    json_t *patch = json_pack("{s:{s:n}}", "status", "nominatedNodeName");

    api_aclient_patch(pr->client, "pods", ns && *ns ? ns : "default", name, "status", patch,
                      on_nominated, NULL);
    json_decref(patch);
}

static void
act(struct sched_preemptor *pr, const struct sched_pod *sp, const json_t *pod,
    const struct sched_preemption *pre, const char *message)
{
    const char *ns = str_at(pod, "metadata.namespace"), *name = str_at(pod, "metadata.name");
    const json_t *cur;
    char by[SCHED_KEY_MAX], msg[1024];
    struct sk_err err;

    ns = ns && *ns ? ns : "default";
    cur = api_informer_get(pr->pods, ns, name);
    sched_pod_key(by, sizeof(by), ns, name);
    for (size_t i = 0; i < pre->nvictims; i++)
        evict(pr, &pre->victims[i], by, pre->node);
    sched_nominator_clear_lower(pr->nom, pre->node, sp->priority, unnominate, pr);
    sk_err_init(&err);
    if (sched_nominator_set(pr->nom, cur ? cur : pod, pre->node, &err) < 0)
        sk_warn("sched", "pod '%s': nomination: %s", by, err.msg);
    if (cur)
        nominate(pr, cur, ns, name, pre->node, message);
    snprintf(msg, sizeof(msg), "Preempting %zu pod(s) on node %s", pre->nvictims, pre->node);
    event(pr, pod, "Preempting", msg);
    pr->preemptions++;
}

/* The node the pod is nominated to: ours, or the one the API shows (a
 * nomination by an earlier leader). */
static const char *
nominated_node(struct sched_preemptor *pr, const char *ns, const char *name)
{
    const char *node = sched_nominator_node(pr->nom, ns, name);
    const json_t *cur;

    if (node)
        return node;
    cur = api_informer_get(pr->pods, ns, name);
    node = cur ? str_at(cur, "status.nominatedNodeName") : NULL;
    return node && *node ? node : NULL;
}

int
sched_preemptor_schedule(struct sched_preemptor *pr, struct sched_cache *cache,
                         const struct sched_pod *sp, const json_t *pod,
                         const struct sched_config *cfg, struct sched_rng *rng,
                         struct sched_result *res, struct sk_err *err)
{
    const struct sched_node_info *ni;
    struct sched_preemption pre;
    const char *nominated;
    int rc;

    sched_result_release(res);
    if (sched_nominator_len(pr->nom))
        sched_nominator_prune(pr->nom, still_pending, pr);
    nominated = nominated_node(pr, sp->ns, sp->name);
    ni = nominated ? sched_cache_node(cache, nominated) : NULL;
    sched_nominator_hold(pr->nom, cache, pod);
    if (ni && ni->obj && sched_fits_node(cache, sp, ni)) {
        res->node = ni->name;
        res->nodes = res->feasible = 1;
        rc = 0;
        goto out;
    }
    rc = sched_schedule_parsed(cache, sp, cfg, rng, res, err);
    if (rc != 1)
        goto out;
    sched_preemption_init(&pre);
    if (sched_preempt(cache, pod, nominated, &pre, NULL) == 0)
        act(pr, sp, pod, &pre, res->message);
    sched_preemption_release(&pre);
out:
    sched_nominator_unhold(pr->nom, cache);
    return rc;
}
