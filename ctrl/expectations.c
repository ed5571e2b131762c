/* Expectations, as Kubernetes' UIDTrackingControllerExpectations
 * (pkg/controller/controller_utils.go): a controller that has just asked
 * for creations or deletions must not act again on an informer cache that
 * does not show them yet, or it would create (delete) the same pods twice.
 * Creations are counted; deletions are tracked by pod key so one pod's
 * deletion seen twice (update with deletionTimestamp, then delete) counts
 * once. A record older than 5 minutes is considered satisfied: a lost
 * watch event must not wedge the controller forever. */

#include "ctrl/ctrl.h"
#include "lib/alloc.h"

#include <stdlib.h>
#include <string.h>

struct expectation {
    char *key;
    int64_t add;
    char **dels; /* pod keys still expected to go */
    size_t ndels;
    int64_t at;
};

struct ctrl_expectations {
    struct expectation *v;
    size_t n, cap;
};

struct ctrl_expectations *
ctrl_expectations_new(void)
{
    return sk_calloc(1, sizeof(struct ctrl_expectations));
}

static void
dels_clear(struct expectation *x)
{
    size_t i;

    for (i = 0; i < x->ndels; i++)
        free(x->dels[i]);
    free(x->dels);
    x->dels = NULL;
    x->ndels = 0;
}

void
ctrl_expectations_free(struct ctrl_expectations *e)
{
    size_t i;

    if (!e)
        return;
    for (i = 0; i < e->n; i++) {
        dels_clear(&e->v[i]);
        free(e->v[i].key);
    }
    free(e->v);
    free(e);
}

static struct expectation *
find(const struct ctrl_expectations *e, const char *key)
{
    size_t i;

    for (i = 0; i < e->n; i++)
        if (strcmp(e->v[i].key, key) == 0)
            return &e->v[i];
    return NULL;
}

/* The record for key, reset to nothing expected as of now_ns. */
static struct expectation *
reset(struct ctrl_expectations *e, const char *key, int64_t now_ns)
{
    struct expectation *x = find(e, key);

    if (!x) {
        if (e->n == e->cap) {
            e->cap = e->cap ? 2 * e->cap : 16;
            e->v = sk_reallocarray(e->v, e->cap, sizeof(*e->v));
        }
        x = &e->v[e->n++];
        memset(x, 0, sizeof(*x));
        x->key = sk_strdup(key);
    }
    dels_clear(x);
    x->add = 0;
    x->at = now_ns;
    return x;
}

void
ctrl_expect_creations(struct ctrl_expectations *e, const char *key, int64_t n, int64_t now_ns)
{
    reset(e, key, now_ns)->add = n;
}

void
ctrl_expect_deletions(struct ctrl_expectations *e, const char *key, const char *const *pod_keys,
                      size_t n, int64_t now_ns)
{
    struct expectation *x = reset(e, key, now_ns);
    size_t i;

    x->dels = sk_calloc(n ? n : 1, sizeof(*x->dels));
    for (i = 0; i < n; i++)
        x->dels[x->ndels++] = sk_strdup(pod_keys[i]);
}

void
ctrl_expectations_creation_observed(struct ctrl_expectations *e, const char *key)
{
    struct expectation *x = find(e, key);

    if (x && x->add > 0)
        x->add--;
}

void
ctrl_expectations_lower_creations(struct ctrl_expectations *e, const char *key, int64_t n)
{
    struct expectation *x = find(e, key);

    if (x)
        x->add = x->add > n ? x->add - n : 0;
}

void
ctrl_expectations_deletion_observed(struct ctrl_expectations *e, const char *key,
                                    const char *pod_key)
{
    struct expectation *x = find(e, key);
    size_t i;

    if (!x)
        return;
    for (i = 0; i < x->ndels; i++) {
        if (strcmp(x->dels[i], pod_key) == 0) {
            free(x->dels[i]);
            x->dels[i] = x->dels[--x->ndels];
            return;
        }
    }
}

void
ctrl_expectations_delete(struct ctrl_expectations *e, const char *key)
{
    struct expectation *x = find(e, key);

    if (!x)
        return;
    dels_clear(x);
    free(x->key);
    *x = e->v[--e->n];
}

int
ctrl_expectations_satisfied(const struct ctrl_expectations *e, const char *key, int64_t now_ns)
{
    const struct expectation *x;

    if (!e)
        return 1;
    x = find(e, key);
    if (!x)
        return 1;
    if (x->add <= 0 && x->ndels == 0)
        return 1;
    return now_ns - x->at > CTRL_EXPECTATIONS_TTL_NS;
}

size_t
ctrl_slow_start_batch(size_t total, size_t index)
{
    size_t sent = 0, size = 1, i;

    for (i = 0; i < index && sent < total; i++) {
        sent += size;
        size *= 2;
    }
    if (sent >= total)
        return 0;
    return size < total - sent ? size : total - sent;
}
