/* The read verbs: get, list (selectors, pages), api-resources, whoami.
 *
 * Reads are linearizable by default: they wait for store_read_barrier()
 * (ReadIndex) and then read the local state; rev=0 reads the local state
 * at once (serializable, possibly stale), as Kubernetes's
 * resourceVersion=0. Stored objects are rendered without being parsed
 * (api_obj_render) unless a selector needs their fields. */
#include "api/objects_int.h"
#include "lib/alloc.h"
#include "lib/json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_CHUNK 256

struct obj_read {
    struct api_objects *o;
    struct api_req *req;
    const struct api_kind *k;
    enum api_obj_verb verb;
    char *ns, *name;
    struct sk_buf key;   /* get: the key; list: the prefix */
    struct sk_buf start; /* list: the first key to read */
    int64_t rev;         /* list: read at this revision (continue), or 0 */
    int64_t limit;
    struct api_obj_filter filter;
};

static void
read_free(struct obj_read *rd)
{
    free(rd->ns);
    free(rd->name);
    sk_buf_release(&rd->key);
    sk_buf_release(&rd->start);
    api_obj_filter_release(&rd->filter);
    free(rd);
}

static struct obj_read *
read_new(struct api_objects *o, struct api_req *req, const struct api_obj_args *a)
{
    struct obj_read *rd = sk_calloc(1, sizeof(*rd));

    rd->o = o;
    rd->req = req;
    rd->k = a->kind;
    rd->verb = a->verb;
    rd->ns = sk_strdup(a->ns);
    rd->name = sk_strdup(a->name);
    rd->limit = a->limit;
    sk_selector_init(&rd->filter.labels);
    return rd;
}

int
obj_read_key(struct store *s, const char *key, size_t len, struct mvcc_op_result *r,
             struct sk_err *err)
{
    struct mvcc_op op;

    memset(&op, 0, sizeof(op));
    op.type = MVCC_OP_RANGE;
    op.key = key;
    op.key_len = (uint32_t)len;
    if (store_range(s, &op, r, err) < 0)
        return -1;
    return r->nkvs > 0;
}

/* Append a stored object with its resourceVersion; an object stored
 * without metadata (not written by this module) goes through jansson. */
static void
render_kv(const struct mvcc_kv *kv, struct sk_buf *out)
{
    json_t *obj = NULL;

    if (api_obj_render(kv->value, kv->value_len, kv->mod_rev, out) == 0)
        return;
    if (sk_json_parse(kv->value, kv->value_len, &obj, NULL) == 0 && json_is_object(obj)) {
        if (!json_is_object(json_object_get(obj, "metadata")))
            json_object_set_new(obj, "metadata", json_object());
        api_meta_set_revision(obj, (uint64_t)kv->mod_rev);
        sk_json_dump_buf(obj, out);
    } else {
        sk_buf_puts(out, "{}");
    }
    json_decref(obj);
}

/* ---- get ---- */

static void
get_answer(struct obj_read *rd)
{
    struct mvcc_op_result r;
    struct sk_buf body = SK_BUF_INIT;
    struct sk_err err;
    int64_t rev = store_rev(rd->o->s);
    int rc;

    memset(&r, 0, sizeof(r));
    sk_err_init(&err);
    rc = obj_read_key(rd->o->s, rd->key.data, rd->key.len, &r, &err);
    if (rc < 0) {
        obj_reply_store_err(rd->req, &err);
    } else if (rc == 0) {
        obj_not_found(rd->k, rd->ns, rd->name, &err);
        obj_reply_err(rd->req, &err);
    } else {
        render_kv(&r.kvs[0], &body);
        sk_buf_putc(&body, '\n');
        api_req_ok(rd->req, 1, body.data, "rev=%" PRId64, rev);
    }
    mvcc_op_result_release(&r);
    sk_buf_release(&body);
    read_free(rd);
}

static void list_answer(struct obj_read *rd);

static void
on_barrier(void *arg, const struct sk_err *err)
{
    struct obj_read *rd = arg;

    if (err) {
        obj_reply_store_err(rd->req, err);
        read_free(rd);
        return;
    }
    if (rd->verb == API_OBJ_GET)
        get_answer(rd);
    else
        list_answer(rd);
}

void
obj_get(struct api_objects *o, struct api_req *req, struct api_obj_args *a)
{
    struct obj_read *rd;
    struct sk_err err;

    if (obj_authorize(o, req, "get", a->kind, "", a->ns, a->name) < 0)
        return;
    rd = read_new(o, req, a);
    sk_err_init(&err);
    if (api_key_build(a->kind, a->ns, a->name, &rd->key, &err) < 0) {
        err.code = EBADMSG;
        obj_reply_err(req, &err);
        read_free(rd);
        return;
    }
    if (a->rev == 0)
        get_answer(rd);
    else
        store_read_barrier(o->s, on_barrier, rd);
}

/* ---- list ---- */

struct list_page {
    struct sk_buf body;
    size_t count;
    bool more;
    struct sk_buf last; /* key of the last object taken */
};

/* Take the kvs of one range into the page; returns true when the page
 * is full. */
static bool
list_take(struct obj_read *rd, const struct mvcc_op_result *r, struct list_page *pg)
{
    bool all = api_obj_filter_all(&rd->filter);

    for (size_t i = 0; i < r->nkvs; i++) {
        const struct mvcc_kv *kv = &r->kvs[i];
        json_t *obj = NULL;
        bool take = all;

        if (!all) {
            take = sk_json_parse(kv->value, kv->value_len, &obj, NULL) == 0 &&
                   api_obj_filter_match(&rd->filter, obj);
            json_decref(obj);
        }
        sk_buf_reset(&pg->last);
        sk_buf_append(&pg->last, kv->key, kv->key_len);
        if (!take)
            continue;
        render_kv(kv, &pg->body);
        sk_buf_putc(&pg->body, '\n');
        pg->count++;
        if (rd->limit && pg->count == (size_t)rd->limit) {
            pg->more = i + 1 < r->nkvs || r->more;
            return true;
        }
    }
    return false;
}

static int
list_read(struct obj_read *rd, struct list_page *pg, struct sk_err *err)
{
    char end[512];
    struct mvcc_op op;
    struct mvcc_op_result r;
    int rc = 0;

    memset(&op, 0, sizeof(op));
    memset(&r, 0, sizeof(r));
    op.type = MVCC_OP_RANGE;
    op.end = end;
    op.end_len = mvcc_prefix_end(rd->key.data, (uint32_t)rd->key.len, end);
    op.rev = rd->rev;
    for (;;) {
        op.key = rd->start.data;
        op.key_len = (uint32_t)rd->start.len;
        if (rd->limit) {
            op.limit = rd->limit - (int64_t)pg->count + 1;
            if (!api_obj_filter_all(&rd->filter) && op.limit < LIST_CHUNK)
                op.limit = LIST_CHUNK;
        }
        rc = store_range(rd->o->s, &op, &r, err);
        if (rc < 0 || list_take(rd, &r, pg) || !r.more || !r.nkvs)
            break;
        /* next chunk: after the last key read */
        sk_buf_reset(&rd->start);
        sk_buf_append(&rd->start, pg->last.data, pg->last.len);
        sk_buf_putc(&rd->start, '\0');
    }
    mvcc_op_result_release(&r);
    return rc;
}

static void
list_answer(struct obj_read *rd)
{
    struct list_page pg = {SK_BUF_INIT, 0, false, SK_BUF_INIT};
    struct sk_buf tok = SK_BUF_INIT;
    struct sk_err err;
    int64_t rev = rd->rev ? rd->rev : store_rev(rd->o->s);

    sk_err_init(&err);
    if (!rd->rev)
        rd->rev = rev; /* every chunk at the same revision */
    if (list_read(rd, &pg, &err) < 0) {
        if (err.code == MVCC_ECOMPACTED && rd->start.len > rd->key.len)
            api_req_error(rd->req, 410, "Gone",
                          "The provided continue parameter is too old to display a consistent "
                          "list result. You can start a new list without the continue "
                          "parameter.");
        else
            obj_reply_store_err(rd->req, &err);
        goto out;
    }
    if (pg.more) {
        sk_buf_puts(&tok, " continue=");
        api_obj_continue_encode(rev, pg.last.data + rd->key.len, pg.last.len - rd->key.len, &tok);
    }
    api_req_ok(rd->req, pg.count, pg.body.data, "rev=%" PRId64 "%s", rev, tok.len ? tok.data : "");
out:
    sk_buf_release(&pg.body);
    sk_buf_release(&pg.last);
    sk_buf_release(&tok);
    read_free(rd);
}

void
obj_list(struct api_objects *o, struct api_req *req, struct api_obj_args *a)
{
    struct obj_read *rd;
    struct sk_err err;

    if (obj_authorize(o, req, "list", a->kind, "", a->ns, "") < 0)
        return;
    rd = read_new(o, req, a);
    sk_err_init(&err);
    if (api_obj_filter_parse(&rd->filter, a->kind, a->selector, a->fields, &err) < 0)
        goto fail;
    api_key_prefix(a->kind, a->ns, &rd->key);
    sk_buf_append(&rd->start, rd->key.data, rd->key.len);
    if (*a->cont) {
        if (api_obj_continue_decode(a->cont, &rd->rev, &rd->start, &err) < 0)
            goto fail;
        sk_buf_putc(&rd->start, '\0'); /* after that key */
    }
    if (a->rev == 0)
        list_answer(rd);
    else
        store_read_barrier(o->s, on_barrier, rd);
    return;
fail:
    obj_reply_err(req, &err);
    read_free(rd);
}

/* ---- api-resources, whoami ---- */

static json_t *
strings(const char *const *v, size_t max)
{
    json_t *a = json_array();

    for (size_t i = 0; i < max && v[i]; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

void
obj_api_resources(struct api_req *req)
{
    static const char *const verbs[] = {"create", "delete", "get",   "list",
                                        "patch",  "update", "watch", NULL};
    struct sk_buf body = SK_BUF_INIT;
    size_t n;
    const struct api_kind *k = api_kinds(&n);

    for (size_t i = 0; i < n; i++) {
        json_t *o =
            json_pack("{s:s,s:s,s:b,s:s,s:s,s:o,s:o,s:o}", "name", k[i].resource, "singularName",
                      k[i].singular, "namespaced", k[i].namespaced, "kind", k[i].kind, "apiVersion",
                      k[i].api_version, "shortNames", strings(k[i].short_names, API_KIND_MAX_SHORT),
                      "subresources", strings(k[i].subresources, API_KIND_MAX_SUB), "verbs",
                      strings(verbs, 8));

        sk_json_dump_buf(o, &body);
        sk_buf_putc(&body, '\n');
        json_decref(o);
    }
    api_req_ok(req, n, body.data, NULL);
    sk_buf_release(&body);
}

void
obj_whoami(struct api_req *req)
{
    const struct api_peer *p = api_req_peer(req);
    struct sk_buf body = SK_BUF_INIT;
    json_t *groups = json_array(), *o;
    char uid[24] = "";
    const char *g = p->groups;

    while (*g) {
        size_t n = strcspn(g, ",");

        if (n)
            json_array_append_new(groups, json_stringn(g, n));
        g += n + (g[n] == ',');
    }
    if (p->local)
        snprintf(uid, sizeof(uid), "%u", (unsigned)p->uid);
    o = json_pack("{s:s,s:s,s:o}", "user", p->user, "uid", uid, "groups", groups);
    sk_json_dump_buf(o, &body);
    sk_buf_putc(&body, '\n');
    api_req_ok(req, 1, body.data, NULL);
    json_decref(o);
    sk_buf_release(&body);
}
