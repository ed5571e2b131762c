/* The scheduler cache: every node with the pods counted against it,
 * whether the API confirmed them (bound) or the scheduler only assumed
 * them while their binding is in flight.
 *
 * Pod lifecycle, as kube-scheduler's cache (pkg/scheduler/internal/cache):
 *
 *     assume --(informer sees it bound)--> bound --(deleted)--> gone
 *       |  \--(bind failed: forget)--> gone
 *       \--(ttl passed unconfirmed: expire)--> gone
 *
 * Assuming is what lets many pods be placed per second without waiting
 * for each bind to round-trip: the next attempt already sees the node's
 * resources, ports and pods as taken. forget subtracts exactly what
 * assume added (sums are integers), so a failed bind leaves no trace. */
#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/json.h"
#include "sched/sched_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define INDEX_KEY_MAX 1024

/* A bucket of the anti-affinity term index (below). */
struct term_ref {
    struct sched_cached_pod *cp;
    size_t term;
};

struct sched_term_list {
    struct term_ref *v;
    size_t n, cap;
};

/* A bucket of the label index (below). */
struct pod_list {
    struct sched_cached_pod **v;
    size_t n, cap;
};

struct sched_cache *
sched_cache_new(int64_t assume_ttl_ms)
{
    struct sched_cache *c = sk_calloc(1, sizeof(*c));

    sched_map_init(&c->node_by_name);
    sched_map_init(&c->pod_by_key);
    sched_map_init(&c->label_index);
    sched_map_init(&c->anti_index);
    c->anti_scan = sk_calloc(1, sizeof(*c->anti_scan));
    c->ttl_ms = assume_ttl_ms;
    return c;
}

static void
free_cached_pod(struct sched_cached_pod *cp)
{
    sched_pod_free(cp->pod);
    free(cp);
}

void
sched_cache_free(struct sched_cache *c)
{
    struct sched_map_ent *e;
    size_t i = 0;

    if (!c)
        return;
    while ((e = sched_map_next(&c->pod_by_key, &i)))
        free_cached_pod(e->ptr);
    i = 0;
    while ((e = sched_map_next(&c->label_index, &i))) {
        struct pod_list *l = e->ptr;

        free(l->v);
        free(l);
    }
    sched_map_release(&c->label_index);
    i = 0;
    while ((e = sched_map_next(&c->anti_index, &i))) {
        struct sched_term_list *l = e->ptr;

        free(l->v);
        free(l);
    }
    sched_map_release(&c->anti_index);
    free(c->anti_scan->v);
    free(c->anti_scan);
    for (i = 0; i < c->nnodes; i++) {
        struct sched_node_info *ni = c->nodes[i];

        sched_node_info_clear(ni);
        free(ni->pods);
        free(ni->ports);
        free(ni->name);
    }
    while (c->slabs) {
        struct sched_node_slab *next = c->slabs->next;

        free(c->slabs);
        c->slabs = next;
    }
    free(c->nodes);
    sched_map_release(&c->node_by_name);
    sched_map_release(&c->pod_by_key);
    free(c);
}

static struct sched_node_info *
find_node(const struct sched_cache *c, const char *name)
{
    struct sched_map_ent *e = sched_map_get(&c->node_by_name, name);

    return e ? e->ptr : NULL;
}

/* Node infos live side by side in slabs rather than each in its own
 * allocation among the JSON of the objects: a scheduling attempt walks
 * hundreds of them, and at 5,000 nodes scattered infos made the filter
 * loop wait on a cache (and TLB) miss for nearly every node. */
static struct sched_node_info *
node_alloc(struct sched_cache *c)
{
    struct sched_node_info *ni = c->free_nodes;

    if (ni) {
        c->free_nodes = ni->free_next;
    } else {
        if (!c->slabs || c->slabs->used == SCHED_NODE_SLAB) {
            struct sched_node_slab *s = sk_malloc(sizeof(*s));

            s->next = c->slabs;
            s->used = 0;
            c->slabs = s;
        }
        ni = &c->slabs->v[c->slabs->used++];
    }
    memset(ni, 0, sizeof(*ni));
    return ni;
}

static void
node_release(struct sched_cache *c, struct sched_node_info *ni)
{
    free(ni->pods);
    free(ni->ports);
    free(ni->name);
    memset(ni, 0, sizeof(*ni));
    ni->free_next = c->free_nodes;
    c->free_nodes = ni;
}

/* The info for name, created empty (no object) when missing: a pod may
 * be seen bound before its node is. */
static struct sched_node_info *
get_node(struct sched_cache *c, const char *name)
{
    struct sched_node_info *ni = find_node(c, name);

    if (ni)
        return ni;
    ni = node_alloc(c);
    ni->name = sk_strdup(name);
    if (c->nnodes == c->nodes_cap) {
        c->nodes_cap = c->nodes_cap ? c->nodes_cap * 2 : 16;
        c->nodes = sk_reallocarray(c->nodes, c->nodes_cap, sizeof(*c->nodes));
    }
    ni->index = c->nnodes;
    c->nodes[c->nnodes++] = ni;
    sched_map_put(&c->node_by_name, name)->ptr = ni;
    return ni;
}

/* Drop an info that has neither an object nor pods. */
static void
maybe_drop_node(struct sched_cache *c, struct sched_node_info *ni)
{
    if (ni->obj || ni->npods)
        return;
    sched_map_del(&c->node_by_name, ni->name);
    c->nodes[ni->index] = c->nodes[--c->nnodes];
    c->nodes[ni->index]->index = ni->index;
    node_release(c, ni);
}

int
sched_cache_node_set(struct sched_cache *c, const json_t *node, struct sk_err *err)
{
    struct sched_node_info *ni;
    const char *name;
    bool had;

    if (!json_is_object(node))
        return sk_err_set(err, EINVAL, "node: must be an object");
    if (sk_json_get_string(node, "metadata.name", &name, err) < 0) {
        sk_err_wrap(err, "node");
        if (err)
            err->code = EINVAL; /* a missing name is a malformed node */
        return -EINVAL;
    }
    if (!*name)
        return sk_err_set(err, EINVAL, "node: metadata.name: required");
    ni = get_node(c, name);
    had = ni->obj != NULL;
    if (sched_node_info_update(ni, node, err) < 0) {
        maybe_drop_node(c, ni);
        return sk_err_wrap(err, "node '%s'", name);
    }
    c->nlive += !had;
    return 0;
}

int
sched_cache_node_remove(struct sched_cache *c, const char *name)
{
    struct sched_node_info *ni = find_node(c, name);

    if (!ni || !ni->obj)
        return -ENOENT;
    sched_node_info_clear(ni);
    c->nlive--;
    maybe_drop_node(c, ni);
    return 0;
}

/* The label index: "namespace\x01key\x01value" -> the pods carrying
 * that label, so that affinity and spread count the few pods a selector
 * can match instead of every pod in the cluster. */
static const char *
index_key(char *buf, size_t size, const char *ns, const char *k, const char *v)
{
    sk_snprintf(buf, size, "%s\x01%s\x01%s", ns, k, v);
    return buf;
}

static void
index_update(struct sched_cache *c, struct sched_cached_pod *cp, bool add)
{
    const char *k;
    json_t *v;

    json_object_foreach (cp->pod->labels, k, v) {
        char key[INDEX_KEY_MAX];
        struct sched_map_ent *e;
        struct pod_list *l;

        if (!json_is_string(v))
            continue;
        index_key(key, sizeof(key), cp->pod->ns, k, json_string_value(v));
        e = add ? sched_map_put(&c->label_index, key) : sched_map_get(&c->label_index, key);
        if (!e)
            continue;
        if (!e->ptr)
            e->ptr = sk_calloc(1, sizeof(struct pod_list));
        l = e->ptr;
        if (add) {
            if (l->n == l->cap) {
                l->cap = l->cap ? l->cap * 2 : 4;
                l->v = sk_reallocarray(l->v, l->cap, sizeof(*l->v));
            }
            l->v[l->n++] = cp;
            continue;
        }
        for (size_t i = 0; i < l->n; i++) {
            if (l->v[i] == cp) {
                l->v[i] = l->v[--l->n];
                break;
            }
        }
        if (l->n == 0) {
            free(l->v);
            free(sched_map_del(&c->label_index, key));
        }
    }
}

/* The reverse index of required anti-affinity terms: each term is filed
 * under the labels its selector requires (first "=" or "in"), so that
 * an incoming pod finds the terms that may refuse it through its own
 * labels instead of checking every such term in the cluster. */
static void
term_list_add(struct sched_term_list *l, struct sched_cached_pod *cp, size_t term)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4;
        l->v = sk_reallocarray(l->v, l->cap, sizeof(*l->v));
    }
    l->v[l->n].cp = cp;
    l->v[l->n++].term = term;
}

static void
term_list_remove(struct sched_term_list *l, struct sched_cached_pod *cp)
{
    for (size_t i = 0; i < l->n;) {
        if (l->v[i].cp == cp)
            l->v[i] = l->v[--l->n];
        else
            i++;
    }
}

static const struct sk_selector_req *index_req(const struct sk_selector *sel);

static void
anti_update(struct sched_cache *c, struct sched_cached_pod *cp, bool add)
{
    const struct sched_pod *p = cp->pod;

    for (size_t t = 0; t < p->nanti_req; t++) {
        const char *ns = sched_pod_term_namespace(&p->anti_req[t], p);
        const struct sk_selector_req *r = index_req(&p->anti_req[t].sel);

        if (p->anti_req[t].sel.nothing)
            continue;
        if (!ns || !r) {
            if (add)
                term_list_add(c->anti_scan, cp, t);
            else
                term_list_remove(c->anti_scan, cp);
            continue;
        }
        for (size_t v = 0; v < r->nvalues; v++) {
            char key[INDEX_KEY_MAX];
            struct sched_map_ent *e;

            index_key(key, sizeof(key), ns, r->key, r->values[v]);
            e = add ? sched_map_put(&c->anti_index, key) : sched_map_get(&c->anti_index, key);
            if (!e)
                continue;
            if (!e->ptr)
                e->ptr = sk_calloc(1, sizeof(struct sched_term_list));
            if (add) {
                term_list_add(e->ptr, cp, t);
                continue;
            }
            term_list_remove(e->ptr, cp);
            if (((struct sched_term_list *)e->ptr)->n == 0) {
                free(((struct sched_term_list *)e->ptr)->v);
                free(sched_map_del(&c->anti_index, key));
            }
        }
    }
}

void
sched_cache_each_anti_term(const struct sched_cache *c, const struct sched_pod *pod,
                           void (*fn)(void *ctx, struct sched_cached_pod *cp, size_t term),
                           void *ctx)
{
    const char *k;
    json_t *v;

    for (size_t i = 0; i < c->anti_scan->n; i++) {
        if (c->anti_scan->v[i].cp->node->obj)
            fn(ctx, c->anti_scan->v[i].cp, c->anti_scan->v[i].term);
    }
    if (c->anti_index.len == 0 || !pod->labels)
        return;
    json_object_foreach (pod->labels, k, v) {
        char key[INDEX_KEY_MAX];
        struct sched_map_ent *e;
        struct sched_term_list *l;

        if (!json_is_string(v))
            continue;
        e = sched_map_get(&c->anti_index,
                          index_key(key, sizeof(key), pod->ns, k, json_string_value(v)));
        l = e ? e->ptr : NULL;
        for (size_t i = 0; l && i < l->n; i++) {
            if (l->v[i].cp->node->obj)
                fn(ctx, l->v[i].cp, l->v[i].term);
        }
    }
}

static void
attach(struct sched_cache *c, struct sched_node_info *ni, struct sched_cached_pod *cp)
{
    size_t before = ni->naffinity;

    sched_node_info_add_pod(ni, cp);
    c->naffinity += ni->naffinity - before;
    if (cp->pod->labels)
        index_update(c, cp, true);
    if (cp->pod->nanti_req)
        anti_update(c, cp, true);
}

static void
detach(struct sched_cache *c, struct sched_cached_pod *cp)
{
    struct sched_node_info *ni = cp->node;
    size_t before = ni->naffinity;

    if (cp->pod->labels)
        index_update(c, cp, false);
    if (cp->pod->nanti_req)
        anti_update(c, cp, false);
    sched_node_info_remove_pod(ni, cp);
    c->naffinity -= before - ni->naffinity;
}

/* The requirement of sel that narrows the search most cheaply: the
 * first "=", "==" or "in" (a matching pod must carry one of its values). */
static const struct sk_selector_req *
index_req(const struct sk_selector *sel)
{
    for (size_t i = 0; i < sel->nreqs; i++) {
        enum sk_selector_op op = sel->reqs[i].op;

        if (op == SK_SELECTOR_EQUALS || op == SK_SELECTOR_DOUBLE_EQUALS || op == SK_SELECTOR_IN)
            return &sel->reqs[i];
    }
    return NULL;
}

void
sched_cache_each_pod(const struct sched_cache *c, const char *ns, const struct sk_selector *sel,
                     void (*fn)(void *ctx, struct sched_cached_pod *cp), void *ctx)
{
    const struct sk_selector_req *r = index_req(sel);

    if (sel->nothing)
        return;
    if (ns && r) {
        for (size_t i = 0; i < r->nvalues; i++) {
            char key[INDEX_KEY_MAX];
            struct sched_map_ent *e = sched_map_get(
                &c->label_index, index_key(key, sizeof(key), ns, r->key, r->values[i]));
            struct pod_list *l = e ? e->ptr : NULL;

            for (size_t k = 0; l && k < l->n; k++) {
                if (l->v[k]->node->obj)
                    fn(ctx, l->v[k]);
            }
        }
        return;
    }
    for (size_t n = 0; n < c->nnodes; n++) {
        const struct sched_node_info *ni = c->nodes[n];

        for (size_t k = 0; ni->obj && k < ni->npods; k++)
            fn(ctx, ni->pods[k]);
    }
}

static void
remove_pod(struct sched_cache *c, struct sched_cached_pod *cp)
{
    struct sched_node_info *ni = cp->node;
    char key[SCHED_KEY_MAX];

    sched_map_del(&c->pod_by_key, sched_pod_key(key, sizeof(key), cp->pod->ns, cp->pod->name));
    detach(c, cp);
    maybe_drop_node(c, ni);
    free_cached_pod(cp);
}

static struct sched_cached_pod *
find_pod(const struct sched_cache *c, const char *ns, const char *name)
{
    char key[SCHED_KEY_MAX];
    struct sched_map_ent *e =
        sched_map_get(&c->pod_by_key, sched_pod_key(key, sizeof(key), ns, name));

    return e ? e->ptr : NULL;
}

int
sched_cache_pod_set(struct sched_cache *c, const json_t *obj, struct sk_err *err)
{
    struct sched_cached_pod *cp;
    struct sched_pod *p;
    char key[SCHED_KEY_MAX];

    if (sched_pod_parse(obj, &p, err) < 0)
        return -EINVAL;
    cp = find_pod(c, p->ns, p->name);
    if (!p->node_name || p->terminal) {
        /* An unbound update of an assumed pod is the informer lagging
         * behind our bind: keep the assumption. */
        if (cp && (!cp->assumed || p->terminal))
            remove_pod(c, cp);
        sched_pod_free(p);
        return 0;
    }
    if (cp) {
        struct sched_node_info *old = cp->node;

        detach(c, cp);
        maybe_drop_node(c, old);
        sched_pod_free(cp->pod);
    } else {
        cp = sk_calloc(1, sizeof(*cp));
        sched_map_put(&c->pod_by_key, sched_pod_key(key, sizeof(key), p->ns, p->name))->ptr = cp;
    }
    cp->pod = p;
    cp->assumed = false;
    cp->deadline_ms = INT64_MAX;
    attach(c, get_node(c, p->node_name), cp);
    return 0;
}

int
sched_cache_pod_remove(struct sched_cache *c, const char *ns, const char *name)
{
    struct sched_cached_pod *cp = find_pod(c, ns, name);

    if (!cp)
        return -ENOENT;
    remove_pod(c, cp);
    return 0;
}

static int64_t
deadline(const struct sched_cache *c, int64_t now_ms)
{
    return c->ttl_ms > 0 && now_ms <= INT64_MAX - c->ttl_ms ? now_ms + c->ttl_ms : INT64_MAX;
}

int
sched_cache_assume(struct sched_cache *c, const json_t *obj, const char *node_name, int64_t now_ms,
                   struct sk_err *err)
{
    struct sched_node_info *ni = find_node(c, node_name);
    struct sched_pod *p;
    int rc;

    if (!ni || !ni->obj)
        return sk_err_set(err, ENOENT, "node '%s': not found", node_name);
    if (sched_pod_parse(obj, &p, err) < 0)
        return -EINVAL;
    rc = sched_cache_assume_parsed(c, p, node_name, now_ms, err);
    if (rc < 0)
        sched_pod_free(p);
    return rc;
}

int
sched_cache_assume_parsed(struct sched_cache *c, struct sched_pod *p, const char *node_name,
                          int64_t now_ms, struct sk_err *err)
{
    struct sched_node_info *ni = find_node(c, node_name);
    struct sched_cached_pod *cp;
    char key[SCHED_KEY_MAX];

    if (!ni || !ni->obj)
        return sk_err_set(err, ENOENT, "node '%s': not found", node_name);
    if (find_pod(c, p->ns, p->name))
        return sk_err_set(err, EEXIST, "pod '%s/%s': already in the cache", p->ns, p->name);
    cp = sk_calloc(1, sizeof(*cp));
    cp->pod = p;
    cp->assumed = true;
    cp->deadline_ms = deadline(c, now_ms);
    sched_map_put(&c->pod_by_key, sched_pod_key(key, sizeof(key), p->ns, p->name))->ptr = cp;
    attach(c, ni, cp);
    return 0;
}

int
sched_cache_forget(struct sched_cache *c, const char *ns, const char *name, struct sk_err *err)
{
    struct sched_cached_pod *cp = find_pod(c, ns, name);

    if (!cp)
        return sk_err_set(err, ENOENT, "pod '%s/%s': not in the cache", ns, name);
    if (!cp->assumed)
        return sk_err_set(err, EINVAL, "pod '%s/%s': bound, not assumed", ns, name);
    remove_pod(c, cp);
    return 0;
}

int
sched_cache_finish_binding(struct sched_cache *c, const char *ns, const char *name, int64_t now_ms)
{
    struct sched_cached_pod *cp = find_pod(c, ns, name);

    if (!cp || !cp->assumed)
        return -ENOENT;
    cp->deadline_ms = deadline(c, now_ms);
    return 0;
}

size_t
sched_cache_expire(struct sched_cache *c, int64_t now_ms)
{
    struct sched_cached_pod **dead = NULL;
    struct sched_map_ent *e;
    size_t i = 0, n = 0;

    while ((e = sched_map_next(&c->pod_by_key, &i))) {
        struct sched_cached_pod *cp = e->ptr;

        if (cp->assumed && cp->deadline_ms != INT64_MAX && cp->deadline_ms <= now_ms) {
            dead = sk_reallocarray(dead, n + 1, sizeof(*dead));
            dead[n++] = cp;
        }
    }
    for (i = 0; i < n; i++)
        remove_pod(c, dead[i]);
    free(dead);
    return n;
}

size_t
sched_cache_node_count(const struct sched_cache *c)
{
    return c->nlive;
}

const struct sched_node_info *
sched_cache_node(const struct sched_cache *c, const char *name)
{
    return find_node(c, name);
}

int
sched_cache_pod_state(const struct sched_cache *c, const char *ns, const char *name)
{
    struct sched_cached_pod *cp = find_pod(c, ns, name);

    return cp ? (cp->assumed ? 1 : 2) : 0;
}

/* Preemption's what-if (preempt.c): the pod leaves its node and the
 * indexes, so that the filters see the node without it, and comes back
 * exactly. It stays in pod_by_key meanwhile: nothing may look it up
 * (no informer event, no expire) until it is placed again. */
void
sched_cache_pod_unplace(struct sched_cache *c, struct sched_cached_pod *cp)
{
    detach(c, cp);
}

void
sched_cache_pod_place(struct sched_cache *c, struct sched_node_info *ni,
                      struct sched_cached_pod *cp)
{
    attach(c, ni, cp);
}
