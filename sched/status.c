/* Pure helpers of the runner: which pods are ours, the PodScheduled
 * condition patch, which node changes matter. */
#include "lib/json.h"
#include "sched/sched_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *
str_at(const json_t *obj, const char *a, const char *b)
{
    return json_string_value(json_object_get(json_object_get(obj, a), b));
}

bool
sched_pod_wants_node(const json_t *pod)
{
    const char *node = str_at(pod, "spec", "nodeName");
    const char *sched = str_at(pod, "spec", "schedulerName");
    const char *phase = str_at(pod, "status", "phase");

    if (!json_is_object(pod) || (node && *node))
        return false;
    if (sched && *sched && strcmp(sched, "default-scheduler") && strcmp(sched, "skiff"))
        return false;
    if (json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp"))
        return false;
    return !phase || (strcmp(phase, "Succeeded") && strcmp(phase, "Failed"));
}

static bool
same_str(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* The condition as the scheduler writes it; lastTransitionTime is kept
 * from old when the status does not change (Kubernetes' rule). */
static json_t *
condition_new(const json_t *old, const char *status, const char *reason, const char *message,
              const char *now)
{
    const char *since = now;
    json_t *c = json_object();

    if (old && same_str(json_string_value(json_object_get(old, "status")), status) &&
        json_string_value(json_object_get(old, "lastTransitionTime")))
        since = json_string_value(json_object_get(old, "lastTransitionTime"));
    json_object_set_new(c, "type", json_string("PodScheduled"));
    json_object_set_new(c, "status", json_string(status));
    json_object_set_new(c, "lastProbeTime", json_null());
    json_object_set_new(c, "lastTransitionTime", json_string(since));
    if (reason)
        json_object_set_new(c, "reason", json_string(reason));
    if (message)
        json_object_set_new(c, "message", json_string(message));
    return c;
}

json_t *
sched_condition_patch(const json_t *pod, const char *status, const char *reason,
                      const char *message, const char *now)
{
    json_t *conds = json_object_get(json_object_get(pod, "status"), "conditions");
    json_t *out = json_array(), *c, *old = NULL;
    size_t i;

    json_array_foreach (conds, i, c) {
        if (same_str(json_string_value(json_object_get(c, "type")), "PodScheduled")) {
            old = c;
            continue;
        }
        json_array_append(out, c);
    }
    if (old && same_str(json_string_value(json_object_get(old, "status")), status) &&
        same_str(json_string_value(json_object_get(old, "reason")), reason) &&
        same_str(json_string_value(json_object_get(old, "message")), message)) {
        json_decref(out);
        return NULL;
    }
    json_array_append_new(out, condition_new(old, status, reason, message, now));
    return json_pack("{s:{s:o}}", "status", "conditions", out);
}

static const json_t *
ready_status(const json_t *node)
{
    json_t *conds = json_object_get(json_object_get(node, "status"), "conditions"), *c;
    size_t i;

    json_array_foreach (conds, i, c)
        if (same_str(json_string_value(json_object_get(c, "type")), "Ready"))
            return json_object_get(c, "status");
    return NULL;
}

static bool
same_at(const json_t *a, const json_t *b, const char *k1, const char *k2)
{
    const json_t *x = json_object_get(json_object_get(a, k1), k2);
    const json_t *y = json_object_get(json_object_get(b, k1), k2);

    return x == y || (x && y && json_equal(x, y));
}

bool
sched_node_changed(const json_t *old, const json_t *new_obj)
{
    const json_t *ra = ready_status(old), *rb = ready_status(new_obj);
    const json_t *sa = json_object_get(old, "spec"), *sb = json_object_get(new_obj, "spec");

    if (!old || !new_obj)
        return true;
    if (!same_at(old, new_obj, "metadata", "labels") ||
        !same_at(old, new_obj, "status", "allocatable") ||
        !same_at(old, new_obj, "status", "capacity"))
        return true;
    if (!(sa == sb || (sa && sb && json_equal(sa, sb))))
        return true;
    return !(ra == rb || (ra && rb && json_equal(ra, rb)));
}
