/* The informer: list (in pages) + watch into a cache keyed by
 * "namespace/name" (or "name" for cluster-scoped kinds), with indexes
 * and handlers (see informer.h).
 *
 * States: LISTING (pages come in and pile up in inf->pending) -> the
 * last page replaces the cache contents -> WATCHING from the list's
 * revision. A watch that reports GONE (its revision compacted) sends the
 * informer back to LISTING; the cache stays as it was meanwhile, so
 * lookups keep working, and the relist turns the difference into
 * add/update/delete calls.
 *
 * Handlers may free the informer: every loop that calls handlers checks
 * inf->dead after each call, and the memory is released from a deferred
 * call, after the handler's caller has unwound. */
#include "api/informer.h"
#include "api/aclient_int.h"
#include "api/object.h"
#include "lib/alloc.h"
#include "lib/json.h"
#include "lib/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum inf_state {
    INF_STOPPED,
    INF_LISTING,
    INF_WATCHING,
};

struct inf_entry {
    json_t *obj;
    uint64_t rev;
    uint64_t gen; /* the list that last saw it (relist) */
};

struct inf_set { /* the entries of one index value */
    struct inf_entry **ents;
    size_t n, cap;
};

struct inf_index {
    char *name;
    api_index_fn fn;
    struct api_map values; /* value -> struct inf_set */
};

struct inf_handlers {
    const struct api_informer_handlers *h;
    void *arg;
};

struct api_informer {
    struct api_aclient *c;
    char *resource, *ns, *selector, *fields;
    uint32_t resync_ms;
    size_t page_size;
    void (*transform)(json_t *obj);
    enum inf_state state;
    bool synced;
    bool dead;
    uint64_t rev;
    uint64_t gen;
    unsigned lists;
    struct api_map cache; /* key -> struct inf_entry */
    struct inf_index *indexes;
    size_t nindexes;
    struct inf_handlers *handlers;
    size_t nhandlers;
    json_t *pending; /* objects of the list in progress */
    struct api_acall *call;
    struct api_awatch *watch;
    struct api_backoff backoff;
    uint64_t retry_timer;
    uint64_t resync_timer;
};

/* ---- keys and indexes ---- */

static void
obj_key(const json_t *obj, struct sk_buf *out)
{
    const char *ns = api_meta_namespace(obj);

    sk_buf_reset(out);
    if (*ns)
        sk_buf_printf(out, "%s/", ns);
    sk_buf_puts(out, api_meta_name(obj));
}

size_t
api_index_namespace(const json_t *obj, const char **values, size_t max)
{
    const char *ns = api_meta_namespace(obj);

    if (!*ns || max == 0)
        return 0;
    values[0] = ns;
    return 1;
}

size_t
api_index_pod_node(const json_t *obj, const char **values, size_t max)
{
    const char *node = json_string_value(sk_json_get(obj, "spec.nodeName"));

    if (!node || !*node || max == 0)
        return 0;
    values[0] = node;
    return 1;
}

static void
index_add(struct inf_index *ix, struct inf_entry *e)
{
    const char *vals[API_INDEX_MAX_VALUES];
    struct inf_set *set;
    size_t n = ix->fn(e->obj, vals, API_INDEX_MAX_VALUES), i;

    for (i = 0; i < n && i < API_INDEX_MAX_VALUES; i++) {
        set = api_map_get(&ix->values, vals[i]);
        if (!set) {
            set = sk_calloc(1, sizeof(*set));
            api_map_put(&ix->values, vals[i], set);
        }
        if (set->n == set->cap) {
            set->cap = set->cap ? set->cap * 2 : 4;
            set->ents = sk_reallocarray(set->ents, set->cap, sizeof(*set->ents));
        }
        set->ents[set->n++] = e;
    }
}

static void
index_remove(struct inf_index *ix, struct inf_entry *e)
{
    const char *vals[API_INDEX_MAX_VALUES];
    struct inf_set *set;
    size_t n = ix->fn(e->obj, vals, API_INDEX_MAX_VALUES), i, j;

    for (i = 0; i < n && i < API_INDEX_MAX_VALUES; i++) {
        set = api_map_get(&ix->values, vals[i]);
        for (j = 0; set && j < set->n; j++)
            if (set->ents[j] == e) {
                set->ents[j] = set->ents[--set->n];
                break;
            }
        if (set && set->n == 0) {
            api_map_del(&ix->values, vals[i]);
            free(set->ents);
            free(set);
        }
    }
}

static void
indexes_add(struct api_informer *inf, struct inf_entry *e)
{
    size_t i;

    for (i = 0; i < inf->nindexes; i++)
        index_add(&inf->indexes[i], e);
}

static void
indexes_remove(struct api_informer *inf, struct inf_entry *e)
{
    size_t i;

    for (i = 0; i < inf->nindexes; i++)
        index_remove(&inf->indexes[i], e);
}

/* ---- handlers ---- */

static void
notify_add(struct api_informer *inf, const json_t *obj)
{
    size_t i;

    for (i = 0; i < inf->nhandlers && !inf->dead; i++)
        if (inf->handlers[i].h->on_add)
            inf->handlers[i].h->on_add(inf, obj, inf->handlers[i].arg);
}

static void
notify_update(struct api_informer *inf, const json_t *old, const json_t *obj)
{
    size_t i;

    for (i = 0; i < inf->nhandlers && !inf->dead; i++)
        if (inf->handlers[i].h->on_update)
            inf->handlers[i].h->on_update(inf, old, obj, inf->handlers[i].arg);
}

static void
notify_delete(struct api_informer *inf, const json_t *obj)
{
    size_t i;

    for (i = 0; i < inf->nhandlers && !inf->dead; i++)
        if (inf->handlers[i].h->on_delete)
            inf->handlers[i].h->on_delete(inf, obj, inf->handlers[i].arg);
}

static void
notify_synced(struct api_informer *inf)
{
    size_t i;

    for (i = 0; i < inf->nhandlers && !inf->dead; i++)
        if (inf->handlers[i].h->on_synced)
            inf->handlers[i].h->on_synced(inf, inf->handlers[i].arg);
}

/* ---- cache changes ---- */

static uint64_t
obj_rev(const json_t *obj)
{
    const char *rv = json_string_value(sk_json_get(obj, "metadata.resourceVersion"));

    return rv ? strtoull(rv, NULL, 10) : 0;
}

/* obj (borrowed) is the object's new state: add or replace. Unchanged
 * revisions (a relist finding what the watch already delivered) are no
 * update. */
static void
cache_set(struct api_informer *inf, json_t *obj, const char *key)
{
    struct inf_entry *e = api_map_get(&inf->cache, key);
    uint64_t rev;
    json_t *old;

    if (inf->transform)
        inf->transform(obj);
    rev = obj_rev(obj);
    if (!e) {
        e = sk_calloc(1, sizeof(*e));
        e->obj = json_incref(obj);
        e->rev = rev;
        e->gen = inf->gen;
        api_map_put(&inf->cache, key, e);
        indexes_add(inf, e);
        notify_add(inf, obj);
        return;
    }
    e->gen = inf->gen;
    if (rev && rev == e->rev)
        return;
    indexes_remove(inf, e);
    old = e->obj;
    e->obj = json_incref(obj);
    e->rev = rev;
    indexes_add(inf, e);
    notify_update(inf, old, obj);
    json_decref(old);
}

/* Remove key; the handlers get last (the DELETED event's object) or,
 * when NULL, the cached one. */
static void
cache_remove(struct api_informer *inf, const char *key, json_t *last)
{
    struct inf_entry *e = api_map_del(&inf->cache, key);

    if (!e)
        return;
    indexes_remove(inf, e);
    notify_delete(inf, last ? last : e->obj);
    json_decref(e->obj);
    free(e);
}

static int
collect_stale(const char *key, void *val, void *arg)
{
    struct api_informer *inf = ((void **)arg)[0];
    json_t *stale = ((void **)arg)[1];
    struct inf_entry *e = val;

    if (e->gen != inf->gen)
        json_array_append_new(stale, json_string(key));
    return 0;
}

/* The last page is in: the list is the truth now. */
static void
list_apply(struct api_informer *inf)
{
    struct sk_buf key = SK_BUF_INIT;
    json_t *stale = json_array(), *obj;
    void *args[2] = {inf, stale};
    size_t i;

    inf->gen++;
    json_array_foreach (inf->pending, i, obj) {
        obj_key(obj, &key);
        cache_set(inf, obj, key.data);
        if (inf->dead)
            goto out;
    }
    api_map_each(&inf->cache, collect_stale, args);
    for (i = 0; i < json_array_size(stale) && !inf->dead; i++)
        cache_remove(inf, json_string_value(json_array_get(stale, i)), NULL);
out:
    json_decref(stale);
    sk_buf_release(&key);
}

/* ---- list and watch ---- */

static void inf_list_page(struct api_informer *inf, const char *cont);
static void inf_watch(struct api_informer *inf);

static void
inf_retry_timer(struct sk_loop *loop, void *arg)
{
    struct api_informer *inf = arg;

    inf->retry_timer = 0;
    inf_list_page(inf, NULL);
}

static void
inf_list_failed(struct api_informer *inf, const struct sk_err *err)
{
    uint32_t delay = api_backoff_next(&inf->backoff);

    sk_warn("informer", "list '%s': %s; retrying in %u ms", inf->resource, err->msg,
            (unsigned)delay);
    json_array_clear(inf->pending);
    inf->retry_timer = sk_loop_timer_add(api_aclient_loop(inf->c), delay, inf_retry_timer, inf);
}

static int
pending_add(struct api_informer *inf, const struct api_resp *resp, struct sk_err *err)
{
    json_t *obj;
    size_t i;

    for (i = 0; i < resp->nlines; i++) {
        obj = api_resp_object(resp, i, err);
        if (!obj)
            return -EPROTO;
        json_array_append_new(inf->pending, obj);
    }
    return 0;
}

static void
inf_list_done(struct api_informer *inf, uint64_t rev)
{
    bool first = !inf->synced;

    api_backoff_reset(&inf->backoff);
    inf->lists++;
    inf->rev = rev;
    list_apply(inf);
    json_array_clear(inf->pending);
    if (inf->dead)
        return;
    inf->synced = true;
    if (first)
        notify_synced(inf);
    if (!inf->dead)
        inf_watch(inf);
}

static void
inf_on_list(struct api_aclient *c, int rc, const struct api_resp *resp, const struct sk_err *err,
            void *arg)
{
    struct api_informer *inf = arg;
    char cont[4608]; /* the server caps tokens at 4096 */
    struct sk_err perr;

    inf->call = NULL;
    if (rc < 0) {
        inf_list_failed(inf, err);
        return;
    }
    if (pending_add(inf, resp, &perr) < 0) {
        inf_list_failed(inf, &perr);
        return;
    }
    if (api_status_word(resp->status, "continue", cont, sizeof(cont)) == 0 && *cont) {
        inf_list_page(inf, cont);
        return;
    }
    inf_list_done(inf, api_resp_rev(resp));
}

static void
inf_list_page(struct api_informer *inf, const char *cont)
{
    struct sk_err err;

    inf->state = INF_LISTING;
    if (!cont)
        json_array_clear(inf->pending);
    inf->call = api_aclient_list(inf->c, inf->resource, inf->ns, inf->selector, inf->fields,
                                 inf->page_size, cont, inf_on_list, inf);
    if (!inf->call) {
        sk_err_set(&err, EINVAL, "request could not be built");
        inf_list_failed(inf, &err);
    }
}

static void
inf_on_event(struct api_awatch *w, const struct api_watch_event *ev, void *arg)
{
    struct api_informer *inf = arg;
    struct sk_buf key = SK_BUF_INIT;

    switch (ev->type) {
    case API_WATCH_ADDED:
    case API_WATCH_MODIFIED:
        obj_key(ev->obj, &key);
        cache_set(inf, ev->obj, key.data);
        break;
    case API_WATCH_DELETED:
        obj_key(ev->obj, &key);
        cache_remove(inf, key.data, ev->obj);
        break;
    case API_WATCH_BOOKMARK:
        break;
    case API_WATCH_GONE:
        sk_info("informer", "%s; listing '%s' again", ev->err->msg, inf->resource);
        api_awatch_cancel(w);
        inf->watch = NULL;
        inf_list_page(inf, NULL);
        break;
    case API_WATCH_ERROR:
        sk_debug("informer", "%s", ev->err->msg);
        break;
    }
    if (!inf->dead && ev->rev > inf->rev && ev->type != API_WATCH_GONE &&
        ev->type != API_WATCH_ERROR)
        inf->rev = ev->rev;
    sk_buf_release(&key);
}

static void
inf_watch(struct api_informer *inf)
{
    struct api_watch_opts o = {
        .resource = inf->resource,
        .ns = inf->ns,
        .selector = inf->selector,
        .fields = inf->fields,
        .rev = inf->rev,
        .bookmarks = true,
        /* three bookmark intervals */
        .idle_timeout_ms = 15000,
    };

    inf->state = INF_WATCHING;
    inf->watch = api_aclient_watch(inf->c, &o, inf_on_event, inf);
}

static int
resync_one(const char *key, void *val, void *arg)
{
    struct api_informer *inf = arg;
    struct inf_entry *e = val;

    notify_update(inf, e->obj, e->obj);
    return inf->dead;
}

static void
inf_resync(struct sk_loop *loop, void *arg)
{
    struct api_informer *inf = arg;

    inf->resync_timer = 0;
    if (inf->synced)
        api_map_each(&inf->cache, resync_one, inf);
    if (!inf->dead)
        inf->resync_timer = sk_loop_timer_add(loop, inf->resync_ms, inf_resync, inf);
}

/* ---- lifecycle ---- */

static char *
dup_opt(const char *s)
{
    return s && *s && strcmp(s, "*") != 0 ? sk_strdup(s) : NULL;
}

int
api_informer_new(struct api_aclient *c, const struct api_informer_config *cfg,
                 struct api_informer **out, struct sk_err *err)
{
    struct api_informer *inf;

    if (!cfg->resource || !*cfg->resource)
        return sk_err_set(err, EINVAL, "informer needs a resource");
    inf = sk_calloc(1, sizeof(*inf));
    inf->c = c;
    inf->resource = sk_strdup(cfg->resource);
    inf->ns = dup_opt(cfg->ns);
    inf->selector = dup_opt(cfg->selector);
    inf->fields = dup_opt(cfg->fields);
    inf->resync_ms = cfg->resync_ms;
    inf->page_size = cfg->page_size ? cfg->page_size : 500;
    inf->transform = cfg->transform;
    inf->pending = json_array();
    api_map_init(&inf->cache);
    api_backoff_init(&inf->backoff, c->backoff_initial_ms, c->backoff_max_ms,
                     api_aclient_seed_next(c));
    *out = inf;
    return 0;
}

struct replay_ctx {
    struct api_informer *inf;
    struct inf_handlers hs;
};

static int
replay_one(const char *key, void *val, void *arg)
{
    struct replay_ctx *rc = arg;
    struct inf_entry *e = val;

    rc->hs.h->on_add(rc->inf, e->obj, rc->hs.arg);
    return rc->inf->dead;
}

void
api_informer_add_handlers(struct api_informer *inf, const struct api_informer_handlers *h,
                          void *arg)
{
    struct replay_ctx rc = {inf, {h, arg}};

    inf->handlers = sk_reallocarray(inf->handlers, inf->nhandlers + 1, sizeof(*inf->handlers));
    inf->handlers[inf->nhandlers++] = rc.hs;
    if (!inf->synced)
        return;
    /* A late subscriber catches up with what the others have seen. */
    if (h->on_add)
        api_map_each(&inf->cache, replay_one, &rc);
    if (h->on_synced && !inf->dead)
        h->on_synced(inf, arg);
}

int
api_informer_add_index(struct api_informer *inf, const char *name, api_index_fn fn,
                       struct sk_err *err)
{
    struct api_map_slot *s;
    struct inf_index *ix;
    size_t i;

    for (i = 0; i < inf->nindexes; i++)
        if (strcmp(inf->indexes[i].name, name) == 0)
            return sk_err_set(err, EEXIST, "index '%s' exists", name);
    inf->indexes = sk_reallocarray(inf->indexes, inf->nindexes + 1, sizeof(*inf->indexes));
    ix = &inf->indexes[inf->nindexes++];
    ix->name = sk_strdup(name);
    ix->fn = fn;
    api_map_init(&ix->values);
    for (i = 0; i < inf->cache.nbuckets; i++)
        for (s = inf->cache.buckets[i]; s; s = s->next)
            index_add(ix, s->val);
    return 0;
}

void
api_informer_start(struct api_informer *inf)
{
    if (inf->state != INF_STOPPED || inf->dead)
        return;
    inf_list_page(inf, NULL);
    if (inf->resync_ms)
        inf->resync_timer =
            sk_loop_timer_add(api_aclient_loop(inf->c), inf->resync_ms, inf_resync, inf);
}

static int
free_entry(const char *key, void *val, void *arg)
{
    struct inf_entry *e = val;

    json_decref(e->obj);
    free(e);
    return 0;
}

static int
free_set(const char *key, void *val, void *arg)
{
    struct inf_set *set = val;

    free(set->ents);
    free(set);
    return 0;
}

static void
inf_free_deferred(struct sk_loop *loop, void *arg)
{
    struct api_informer *inf = arg;
    size_t i;

    for (i = 0; i < inf->nindexes; i++) {
        api_map_each(&inf->indexes[i].values, free_set, NULL);
        api_map_release(&inf->indexes[i].values);
        free(inf->indexes[i].name);
    }
    free(inf->indexes);
    api_map_each(&inf->cache, free_entry, NULL);
    api_map_release(&inf->cache);
    json_decref(inf->pending);
    free(inf->handlers);
    free(inf->resource);
    free(inf->ns);
    free(inf->selector);
    free(inf->fields);
    free(inf);
}

void
api_informer_free(struct api_informer *inf)
{
    struct sk_loop *loop;

    if (!inf || inf->dead)
        return;
    inf->dead = true;
    loop = api_aclient_loop(inf->c);
    if (inf->call)
        api_acall_cancel(inf->call);
    if (inf->watch)
        api_awatch_cancel(inf->watch);
    if (inf->retry_timer)
        sk_loop_timer_cancel(loop, inf->retry_timer);
    if (inf->resync_timer)
        sk_loop_timer_cancel(loop, inf->resync_timer);
    sk_loop_defer(loop, inf_free_deferred, inf);
}

/* ---- lookups ---- */

bool
api_informer_synced(const struct api_informer *inf)
{
    return inf->synced;
}

uint64_t
api_informer_rev(const struct api_informer *inf)
{
    return inf->rev;
}

unsigned
api_informer_lists(const struct api_informer *inf)
{
    return inf->lists;
}

size_t
api_informer_len(const struct api_informer *inf)
{
    return inf->cache.len;
}

const json_t *
api_informer_get(const struct api_informer *inf, const char *ns, const char *name)
{
    struct sk_buf key = SK_BUF_INIT;
    struct inf_entry *e;

    if (ns && *ns)
        sk_buf_printf(&key, "%s/", ns);
    sk_buf_puts(&key, name);
    e = api_map_get(&inf->cache, key.data);
    sk_buf_release(&key);
    return e ? e->obj : NULL;
}

struct each_ctx {
    api_informer_each_fn fn;
    void *arg;
};

static int
each_one(const char *key, void *val, void *arg)
{
    struct each_ctx *ctx = arg;

    return ctx->fn(((struct inf_entry *)val)->obj, ctx->arg);
}

size_t
api_informer_foreach(const struct api_informer *inf, api_informer_each_fn fn, void *arg)
{
    struct each_ctx ctx = {fn, arg};

    return api_map_each(&inf->cache, each_one, &ctx);
}

static const struct inf_set *
index_set(const struct api_informer *inf, const char *index, const char *value)
{
    size_t i;

    for (i = 0; i < inf->nindexes; i++)
        if (strcmp(inf->indexes[i].name, index) == 0)
            return api_map_get(&inf->indexes[i].values, value);
    return NULL;
}

size_t
api_informer_index_foreach(const struct api_informer *inf, const char *index, const char *value,
                           api_informer_each_fn fn, void *arg)
{
    const struct inf_set *set = index_set(inf, index, value);
    size_t i;

    for (i = 0; set && i < set->n; i++)
        if (fn(set->ents[i]->obj, arg))
            return i + 1;
    return set ? set->n : 0;
}

static int
append_obj(const json_t *obj, void *arg)
{
    json_array_append((json_t *)arg, (json_t *)obj);
    return 0;
}

static int
cmp_key(const void *a, const void *b)
{
    const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
    int r = strcmp(api_meta_namespace(x), api_meta_namespace(y));

    return r ? r : strcmp(api_meta_name(x), api_meta_name(y));
}

json_t *
api_informer_list(const struct api_informer *inf, const char *index, const char *value)
{
    json_t *tmp = json_array(), *out = json_array();
    const json_t **v;
    size_t i, n;

    if (index)
        api_informer_index_foreach(inf, index, value, append_obj, tmp);
    else
        api_informer_foreach(inf, append_obj, tmp);
    n = json_array_size(tmp);
    v = sk_calloc(n + 1, sizeof(*v));
    for (i = 0; i < n; i++)
        v[i] = json_array_get(tmp, i);
    qsort(v, n, sizeof(*v), cmp_key);
    for (i = 0; i < n; i++)
        json_array_append(out, (json_t *)v[i]);
    free(v);
    json_decref(tmp);
    return out;
}
