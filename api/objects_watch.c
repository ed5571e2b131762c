/* The watch verb: a stream of ADDED / MODIFIED / DELETED / BOOKMARK
 * lines for one kind (one namespace or all), optionally filtered by
 * label and field selectors.
 *
 * Each watcher is a store watch over the kind's key prefix. A store
 * event is delivered to every watcher of its span one after the other
 * within one apply, so the lines of an event are encoded once into
 * api_objects.cache (keyed by the event's revision and position) and
 * shared by all watchers: an object is parsed (only when some watcher
 * filters) and rendered once per event, however many watch it.
 *
 * Revisions: rev=R streams every change with revision > R (Kubernetes's
 * exclusive resourceVersion); without rev the watcher first gets an
 * ADDED line for every matching object as of the current revision N
 * (after a read barrier), then the changes after N. A watcher whose
 * peer reads too slowly (more than 4 MiB queued) is cut at a revision
 * boundary with `error 410 Gone watcher too slow, resume rev=N`, N being
 * the last revision it fully received, so resuming from N neither loses
 * nor repeats an event. */
#include "api/objects_int.h"
#include "lib/alloc.h"
#include "lib/json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WATCH_MAX_QUEUED  (4u << 20)
#define WATCH_BOOKMARK_MS 5000

struct obj_watch {
    struct api_objects *o; /* NULL once detached */
    struct api_req *req;   /* NULL until the stream began */
    struct store_watch *w;
    const struct api_kind *k;
    struct api_obj_filter filter;
    bool all; /* the filter selects everything */
    struct sk_buf prefix;
    struct sk_buf pre; /* lines produced before the stream began */
    int64_t start_rev; /* events up to it are not sent */
    int64_t last_rev;  /* every event up to it was handled */
    bool cut, sent, bookmarks, initial;
    uint64_t timer;
    struct obj_watch *prev, *next;
};

/* ---- the shared event cache ---- */

void
obj_event_cache_release(struct obj_event_cache *c)
{
    json_decref(c->cur);
    json_decref(c->prev);
    c->cur = c->prev = NULL;
    c->cur_parsed = c->prev_parsed = false;
    for (int i = 0; i < OBJ_LINE_N; i++)
        sk_buf_release(&c->line[i]);
    c->valid = false;
}

static void
cache_load(struct obj_event_cache *c, const struct mvcc_event *ev)
{
    if (c->valid && c->rev == ev->rev && c->sub == ev->sub)
        return;
    json_decref(c->cur);
    json_decref(c->prev);
    c->cur = c->prev = NULL;
    c->cur_parsed = c->prev_parsed = false;
    for (int i = 0; i < OBJ_LINE_N; i++)
        sk_buf_reset(&c->line[i]);
    c->valid = true;
    c->rev = ev->rev;
    c->sub = ev->sub;
}

static const json_t *
cache_json(struct obj_event_cache *c, const struct mvcc_event *ev, bool prev)
{
    const struct mvcc_kv *kv = prev ? &ev->prev : &ev->kv;
    json_t **slot = prev ? &c->prev : &c->cur;
    bool *parsed = prev ? &c->prev_parsed : &c->cur_parsed;

    if (!*parsed) {
        *parsed = true;
        if (kv->value)
            sk_json_parse(kv->value, kv->value_len, slot, NULL);
    }
    return *slot;
}

static void
render(const struct mvcc_kv *kv, int64_t rev, struct sk_buf *out)
{
    json_t *obj = NULL;

    if (api_obj_render(kv->value, kv->value_len, rev, out) == 0)
        return;
    if (sk_json_parse(kv->value, kv->value_len, &obj, NULL) == 0 && json_is_object(obj)) {
        if (!json_is_object(json_object_get(obj, "metadata")))
            json_object_set_new(obj, "metadata", json_object());
        api_meta_set_revision(obj, (uint64_t)rev);
        sk_json_dump_buf(obj, out);
    } else {
        sk_buf_puts(out, "{}");
    }
    json_decref(obj);
}

static const struct sk_buf *
cache_line(struct obj_event_cache *c, const struct mvcc_event *ev, enum obj_line which)
{
    static const char *const names[] = {"ADDED ", "MODIFIED ", "DELETED ", "DELETED "};
    struct sk_buf *b = &c->line[which];

    if (b->len)
        return b;
    sk_buf_puts(b, names[which]);
    if (which == OBJ_LINE_DELETED_PREV)
        render(&ev->prev, ev->rev, b); /* the last state, at the deleting revision */
    else
        render(&ev->kv, ev->kv.mod_rev, b);
    sk_buf_putc(b, '\n');
    return b;
}

/* ---- watchers ---- */

static void
watch_detach(struct obj_watch *ow)
{
    if (!ow->o)
        return;
    if (ow->timer)
        sk_loop_timer_cancel(ow->o->loop, ow->timer);
    ow->timer = 0;
    store_watch_cancel(ow->w);
    ow->w = NULL;
    if (ow->prev)
        ow->prev->next = ow->next;
    else
        ow->o->watches = ow->next;
    if (ow->next)
        ow->next->prev = ow->prev;
    ow->o = NULL;
}

static void
watch_free(struct obj_watch *ow)
{
    watch_detach(ow);
    api_obj_filter_release(&ow->filter);
    sk_buf_release(&ow->prefix);
    sk_buf_release(&ow->pre);
    free(ow);
}

void
obj_watches_detach(struct api_objects *o)
{
    while (o->watches)
        watch_detach(o->watches);
}

static void
watch_emit(struct obj_watch *ow, const char *text, size_t len)
{
    if (!ow->req) {
        sk_buf_append(&ow->pre, text, len);
        return;
    }
    ow->sent = true;
    api_req_stream_write(ow->req, text, len);
}

/* What this watcher sees of ev. */
static enum obj_line
watch_classify(struct obj_watch *ow, const struct mvcc_event *ev, bool *skip)
{
    struct obj_event_cache *c = &ow->o->cache;
    bool deleted = ev->type == MVCC_EVENT_DELETE, prev_match = true, cur_match = true;
    enum api_watch_event t;

    if (!ow->all) {
        prev_match = ev->has_prev && api_obj_filter_match(&ow->filter, cache_json(c, ev, true));
        cur_match = !deleted && api_obj_filter_match(&ow->filter, cache_json(c, ev, false));
    }
    t = api_watch_event_type(deleted, ev->has_prev, prev_match, cur_match);
    *skip = t == API_WATCH_NONE;
    if (t == API_WATCH_ADDED)
        return OBJ_LINE_ADDED;
    if (t == API_WATCH_MODIFIED)
        return OBJ_LINE_MODIFIED;
    return deleted ? OBJ_LINE_DELETED_PREV : OBJ_LINE_DELETED_CUR;
}

static int
on_event(void *arg, const struct mvcc_event *ev)
{
    struct obj_watch *ow = arg;
    const struct sk_buf *line;
    enum obj_line which;
    char msg[128];
    bool skip;
    int n;

    if (ow->cut || !ow->o)
        return 1;
    if (ev->rev <= ow->start_rev)
        return 0; /* resumed from a revision this member has not reached */
    /* Cut a slow reader at a revision boundary (see the top). */
    if (ow->req && ev->rev != ow->last_rev && api_req_stream_pending(ow->req) > WATCH_MAX_QUEUED) {
        n = snprintf(msg, sizeof(msg), "error 410 Gone watcher too slow, resume rev=%" PRId64 "\n",
                     ow->last_rev);
        api_req_stream_write(ow->req, msg, (size_t)n);
        ow->cut = true;
        api_req_stream_end(ow->req);
        ow->req = NULL;
        watch_free(ow);
        return 1;
    }
    cache_load(&ow->o->cache, ev);
    which = watch_classify(ow, ev, &skip);
    /* last_rev: the previous revision is complete once a later one
     * starts; one revision's events arrive together */
    ow->last_rev = ev->rev;
    if (skip)
        return 0;
    line = cache_line(&ow->o->cache, ev, which);
    watch_emit(ow, line->data, line->len);
    return 0;
}

static void
on_bookmark(struct sk_loop *loop, void *arg)
{
    struct obj_watch *ow = arg;
    int64_t rev = store_rev(ow->o->s);
    char msg[64];
    int n;

    ow->timer = sk_loop_timer_add(loop, WATCH_BOOKMARK_MS, on_bookmark, ow);
    if (rev < ow->start_rev)
        rev = ow->start_rev;
    if (!ow->sent && ow->bookmarks) {
        n = snprintf(msg, sizeof(msg), "BOOKMARK rev=%" PRId64 "\n", rev);
        api_req_stream_write(ow->req, msg, (size_t)n);
    }
    ow->sent = false;
}

static void
on_close(struct api_req *req, void *arg)
{
    watch_free(arg);
}

/* The initial ADDED lines: every matching object as of rev. */
static int
watch_initial(struct obj_watch *ow, int64_t rev, struct sk_err *err)
{
    char end[512];
    struct mvcc_op op;
    struct mvcc_op_result r;
    int rc;

    memset(&op, 0, sizeof(op));
    memset(&r, 0, sizeof(r));
    op.type = MVCC_OP_RANGE;
    op.key = ow->prefix.data;
    op.key_len = (uint32_t)ow->prefix.len;
    op.end = end;
    op.end_len = mvcc_prefix_end(ow->prefix.data, (uint32_t)ow->prefix.len, end);
    op.rev = rev;
    rc = store_range(ow->o->s, &op, &r, err);
    for (size_t i = 0; rc == 0 && i < r.nkvs; i++) {
        json_t *obj = NULL;
        bool take = ow->all;

        if (!take) {
            take = sk_json_parse(r.kvs[i].value, r.kvs[i].value_len, &obj, NULL) == 0 &&
                   api_obj_filter_match(&ow->filter, obj);
            json_decref(obj);
        }
        if (!take)
            continue;
        sk_buf_puts(&ow->pre, "ADDED ");
        render(&r.kvs[i], r.kvs[i].mod_rev, &ow->pre);
        sk_buf_putc(&ow->pre, '\n');
    }
    mvcc_op_result_release(&r);
    return rc;
}

static void
watch_begin(struct obj_watch *ow, struct api_req *req)
{
    struct api_objects *o = ow->o;
    struct sk_buf head = SK_BUF_INIT;
    struct sk_err err;
    int64_t rev = ow->start_rev, resume = 0;
    char end[512];
    uint32_t end_len;

    sk_err_init(&err);
    if (ow->initial) {
        rev = store_rev(o->s);
        ow->start_rev = rev;
        if (watch_initial(ow, rev, &err) < 0) {
            obj_reply_store_err(req, &err);
            watch_free(ow);
            return;
        }
    }
    ow->last_rev = rev;
    end_len = mvcc_prefix_end(ow->prefix.data, (uint32_t)ow->prefix.len, end);
    if (store_watch_start(o->s, ow->prefix.data, (uint32_t)ow->prefix.len, end, end_len, rev + 1,
                          on_event, ow, &ow->w, &resume, &err) < 0) {
        if (err.code == MVCC_ECOMPACTED)
            api_req_error(req, 410, "Gone", "too old resource version: %" PRId64 " (%" PRId64 ")",
                          rev, resume - 1);
        else
            obj_reply_store_err(req, &err);
        watch_free(ow);
        return;
    }
    sk_buf_printf(&head, "ok watch rev=%" PRId64 "\n",
                  store_rev(o->s) > rev ? store_rev(o->s) : rev);
    sk_buf_append(&head, ow->pre.data, ow->pre.len);
    sk_buf_release(&ow->pre);
    ow->req = req;
    ow->timer = sk_loop_timer_add(o->loop, WATCH_BOOKMARK_MS, on_bookmark, ow);
    api_req_stream_begin(req, head.data, head.len, on_close, ow);
    sk_buf_release(&head);
}

struct watch_wait {
    struct obj_watch *ow;
    struct api_req *req;
};

static void
on_watch_barrier(void *arg, const struct sk_err *err)
{
    struct watch_wait *ww = arg;
    struct obj_watch *ow = ww->ow;
    struct api_req *req = ww->req;

    free(ww);
    if (err || !ow->o) {
        struct sk_err e;

        sk_err_init(&e);
        obj_reply_store_err(req, err ? err : (sk_err_set(&e, ECANCELED, "server stopping"), &e));
        watch_free(ow);
        return;
    }
    watch_begin(ow, req);
}

void
obj_watch(struct api_objects *o, struct api_req *req, struct api_obj_args *a)
{
    struct obj_watch *ow;
    struct watch_wait *ww;
    struct sk_err err;

    if (obj_authorize(o, req, "watch", a->kind, "", a->ns, "") < 0)
        return;
    ow = sk_calloc(1, sizeof(*ow));
    ow->o = o;
    ow->k = a->kind;
    ow->bookmarks = a->bookmarks;
    sk_err_init(&err);
    if (api_obj_filter_parse(&ow->filter, a->kind, a->selector, a->fields, &err) < 0) {
        obj_reply_err(req, &err);
        api_obj_filter_release(&ow->filter);
        free(ow);
        return;
    }
    ow->all = api_obj_filter_all(&ow->filter);
    api_key_prefix(a->kind, a->ns, &ow->prefix);
    ow->initial = a->rev <= 0;
    ow->start_rev = a->rev > 0 ? a->rev : 0;
    ow->next = o->watches;
    if (o->watches)
        o->watches->prev = ow;
    o->watches = ow;
    if (!ow->initial) {
        watch_begin(ow, req);
        return;
    }
    /* the initial list is linearizable, like a list */
    ww = sk_malloc(sizeof(*ww));
    ww->ow = ow;
    ww->req = req;
    store_read_barrier(o->s, on_watch_barrier, ww);
}
