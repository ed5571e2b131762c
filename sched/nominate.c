/* Nominated pods (see the nominator in sched.h): preemptors waiting for
 * their victims to leave. Holding their room is what keeps a pod of
 * lower priority, tried while the victims terminate, from taking the
 * room they free, and so from making the preemption futile (kube-
 * scheduler's nominator and addNominatedPods). Holding assumes each
 * nominated pod in the cache for the length of one attempt and forgets
 * it after, which the cache undoes exactly. */
#include "lib/alloc.h"
#include "lib/json.h"
#include "sched/sched_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct nomination {
    json_t *pod;
    char *node;
    int64_t priority;
    bool held; /* assumed in the cache by the current hold */
};

struct sched_nominator {
    struct sched_map by_key; /* "ns/name" -> struct nomination */
};

struct sched_nominator *
sched_nominator_new(void)
{
    struct sched_nominator *n = sk_calloc(1, sizeof(*n));

    sched_map_init(&n->by_key);
    return n;
}

static void
nomination_free(struct nomination *nm)
{
    json_decref(nm->pod);
    free(nm->node);
    free(nm);
}

void
sched_nominator_free(struct sched_nominator *n)
{
    struct sched_map_ent *e;
    size_t i = 0;

    if (!n)
        return;
    while ((e = sched_map_next(&n->by_key, &i)))
        nomination_free(e->ptr);
    sched_map_release(&n->by_key);
    free(n);
}

/* namespace, name and priority of a pod object. */
static int
identify(const json_t *pod, const char **ns, const char **name, int64_t *prio, struct sk_err *err)
{
    if (sk_json_get_string(pod, "metadata.name", name, err) < 0 ||
        sk_json_opt_string(pod, "metadata.namespace", "default", ns, err) < 0 ||
        sk_json_opt_int(pod, "spec.priority", 0, prio, err) < 0)
        return -EINVAL;
    if (!**ns)
        *ns = "default";
    return 0;
}

int
sched_nominator_set(struct sched_nominator *n, const json_t *pod, const char *node,
                    struct sk_err *err)
{
    const char *ns, *name;
    char key[SCHED_KEY_MAX];
    struct sched_map_ent *e;
    struct nomination *nm;
    int64_t prio;

    if (identify(pod, &ns, &name, &prio, err) < 0) {
        if (err)
            err->code = EINVAL;
        return -EINVAL;
    }
    e = sched_map_put(&n->by_key, sched_pod_key(key, sizeof(key), ns, name));
    if (!e->ptr)
        e->ptr = sk_calloc(1, sizeof(struct nomination));
    nm = e->ptr;
    json_incref((json_t *)pod);
    json_decref(nm->pod);
    free(nm->node);
    nm->pod = (json_t *)pod;
    nm->node = sk_strdup(node);
    nm->priority = prio;
    return 0;
}

int
sched_nominator_remove(struct sched_nominator *n, const char *ns, const char *name)
{
    char key[SCHED_KEY_MAX];
    struct nomination *nm = sched_map_del(&n->by_key, sched_pod_key(key, sizeof(key), ns, name));

    if (!nm)
        return -ENOENT;
    nomination_free(nm);
    return 0;
}

const char *
sched_nominator_node(const struct sched_nominator *n, const char *ns, const char *name)
{
    char key[SCHED_KEY_MAX];
    struct sched_map_ent *e = sched_map_get(&n->by_key, sched_pod_key(key, sizeof(key), ns, name));

    return e ? ((struct nomination *)e->ptr)->node : NULL;
}

size_t
sched_nominator_len(const struct sched_nominator *n)
{
    return n->by_key.len;
}

size_t
sched_nominator_prune(struct sched_nominator *n,
                      const json_t *(*latest)(void *ctx, const char *ns, const char *name),
                      void *ctx)
{
    char **gone = NULL;
    struct sched_map_ent *e;
    size_t i = 0, ngone = 0;

    while ((e = sched_map_next(&n->by_key, &i))) {
        struct nomination *nm = e->ptr;
        const char *ns = NULL, *name = NULL;
        const json_t *cur;
        int64_t prio;

        if (identify(nm->pod, &ns, &name, &prio, NULL) < 0 || !(cur = latest(ctx, ns, name))) {
            gone = sk_reallocarray(gone, ngone + 1, sizeof(*gone));
            gone[ngone++] = sk_strdup(e->key);
            continue;
        }
        if (cur != nm->pod && identify(cur, &ns, &name, &prio, NULL) == 0) {
            json_incref((json_t *)cur);
            json_decref(nm->pod);
            nm->pod = (json_t *)cur;
            nm->priority = prio;
        }
    }
    /* Deleting while iterating would move entries under the cursor. */
    for (i = 0; i < ngone; i++) {
        nomination_free(sched_map_del(&n->by_key, gone[i]));
        free(gone[i]);
    }
    free(gone);
    return ngone;
}

size_t
sched_nominator_clear_lower(struct sched_nominator *n, const char *node, int64_t prio,
                            void (*fn)(void *ctx, const json_t *pod), void *ctx)
{
    char **gone = NULL;
    struct sched_map_ent *e;
    size_t i = 0, ngone = 0;

    while ((e = sched_map_next(&n->by_key, &i))) {
        struct nomination *nm = e->ptr;

        if (nm->priority >= prio || strcmp(nm->node, node) != 0)
            continue;
        if (fn)
            fn(ctx, nm->pod);
        gone = sk_reallocarray(gone, ngone + 1, sizeof(*gone));
        gone[ngone++] = sk_strdup(e->key);
    }
    for (i = 0; i < ngone; i++) {
        nomination_free(sched_map_del(&n->by_key, gone[i]));
        free(gone[i]);
    }
    free(gone);
    return ngone;
}

size_t
sched_nominator_hold(struct sched_nominator *n, struct sched_cache *cache, const json_t *pod)
{
    const char *ns, *name;
    char key[SCHED_KEY_MAX];
    struct sched_map_ent *e;
    size_t i = 0, held = 0;
    int64_t prio;

    if (n->by_key.len == 0 || identify(pod, &ns, &name, &prio, NULL) < 0)
        return 0;
    sched_pod_key(key, sizeof(key), ns, name);
    while ((e = sched_map_next(&n->by_key, &i))) {
        struct nomination *nm = e->ptr;

        /* Only pods at least as important keep their room from this
         * one; an assume fails for a pod already in the cache (its
         * bind in flight) or a node that is gone: nothing to hold. */
        if (nm->priority < prio || strcmp(e->key, key) == 0)
            continue;
        if (sched_cache_assume(cache, nm->pod, nm->node, 0, NULL) == 0) {
            nm->held = true;
            held++;
        }
    }
    return held;
}

void
sched_nominator_unhold(struct sched_nominator *n, struct sched_cache *cache)
{
    struct sched_map_ent *e;
    size_t i = 0;

    while ((e = sched_map_next(&n->by_key, &i))) {
        struct nomination *nm = e->ptr;
        const char *ns, *name;
        int64_t prio;

        if (!nm->held)
            continue;
        nm->held = false;
        if (identify(nm->pod, &ns, &name, &prio, NULL) == 0)
            sched_cache_forget(cache, ns, name, NULL);
    }
}
