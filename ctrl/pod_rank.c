/* Which pods a ReplicaSet deletes first (Kubernetes' controller.ActivePods
 * Less): the least valuable pod goes first, so scaling down removes pods
 * that serve nothing before pods that serve traffic. */

#include "ctrl/ctrl_int.h"
#include "lib/alloc.h"
#include "lib/json.h"

#include <stdlib.h>
#include <string.h>

struct rank {
    json_t *pod;
    int assigned;
    int phase; /* Pending 0, Unknown 1, Running 2 (others as Pending) */
    int ready;
    int64_t ready_since;
    int64_t restarts;
    int64_t created;
    const char *name;
};

static int64_t
time_at(const json_t *obj, const char *path)
{
    int64_t ns = 0;

    if (ctrl_time_parse(json_string_value(sk_json_get(obj, path)), &ns, NULL) < 0)
        return 0;
    return ns;
}

static void
rank_fill(struct rank *r, json_t *pod)
{
    const char *node = json_string_value(sk_json_get(pod, "spec.nodeName"));
    const char *phase = json_string_value(sk_json_get(pod, "status.phase"));
    json_t *cs = sk_json_get(pod, "status.containerStatuses"), *c;
    json_t *cond = ctrl_cond_find(sk_json_get(pod, "status.conditions"), "Ready");
    size_t i;

    r->pod = pod;
    r->assigned = node && *node;
    r->phase = phase && strcmp(phase, "Running") == 0   ? 2
               : phase && strcmp(phase, "Unknown") == 0 ? 1
                                                        : 0;
    r->ready = ctrl_pod_ready(pod);
    r->ready_since = r->ready ? time_at(cond, "lastTransitionTime") : 0;
    r->restarts = 0;
    json_array_foreach (cs, i, c) {
        json_int_t n = json_integer_value(json_object_get(c, "restartCount"));

        if (n > r->restarts)
            r->restarts = n;
    }
    r->created = time_at(pod, "metadata.creationTimestamp");
    r->name = json_string_value(sk_json_get(pod, "metadata.name"));
    if (!r->name)
        r->name = "";
}

static int
cmp_i64(int64_t a, int64_t b)
{
    return a < b ? -1 : a > b;
}

static int
rank_cmp(const void *pa, const void *pb)
{
    const struct rank *a = pa, *b = pb;

    if (a->assigned != b->assigned)
        return a->assigned - b->assigned;
    if (a->phase != b->phase)
        return a->phase - b->phase;
    if (a->ready != b->ready)
        return a->ready - b->ready;
    /* Both ready: the one ready for a shorter time (later) goes first. */
    if (a->ready && a->ready_since != b->ready_since)
        return -cmp_i64(a->ready_since, b->ready_since);
    if (a->restarts != b->restarts)
        return -cmp_i64(a->restarts, b->restarts);
    if (a->created != b->created)
        return -cmp_i64(a->created, b->created);
    return strcmp(a->name, b->name);
}

void
ctrl_pods_sort_for_deletion(json_t *pods)
{
    size_t n = json_array_size(pods), i;
    struct rank *r;

    if (n < 2)
        return;
    r = sk_calloc(n, sizeof(*r));
    for (i = 0; i < n; i++)
        rank_fill(&r[i], json_incref(json_array_get(pods, i)));
    qsort(r, n, sizeof(*r), rank_cmp);
    json_array_clear(pods);
    for (i = 0; i < n; i++)
        json_array_append_new(pods, r[i].pod);
    free(r);
}
