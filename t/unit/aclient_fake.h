#ifndef SK_T_UNIT_ACLIENT_FAKE_H
#define SK_T_UNIT_ACLIENT_FAKE_H

/* A fake API server for the event-loop client's tests: a real
 * api_server on a temporary UNIX socket, served by the test's loop, with
 * verbs that follow API-SPEC.md over an in-memory object map (one
 * resource, "pods") instead of the store, plus test verbs:
 *
 *     echo WORD...       ok 1 + the words
 *     later MS WORD      answered after MS ms: ok 1 + WORD
 *     fail CODE REASON   error CODE REASON failed on purpose
 *     half               "ok 3" and one body line, then the connection closes
 *     junk               a line that is no status line
 *
 * Every request line is logged (f->log) so tests can check what the
 * client sent. Watch streams can be cut (fake_drop_watches) or told they
 * are too slow (fake_too_slow), and revisions below f->compact answer
 * 410 Gone like a compacted store. */

#include "api/server.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/json.h"
#include "lib/loop.h"
#include "unit.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FAKE_MAX_WATCHERS 16

struct fake_watcher {
    struct api_req *req;
};

struct fake {
    struct sk_loop *loop;
    struct api_server *srv;
    char path[256];
    json_t *objs; /* "ns/name" -> object */
    json_t *hist; /* [{"type":..,"obj":..}] in revision order */
    json_t *log;  /* request lines */
    uint64_t rev;
    uint64_t compact; /* watch rev < compact: 410 Gone */
    unsigned gen;
    struct fake_watcher w[FAKE_MAX_WATCHERS];
    size_t nw;
    unsigned watches; /* watch requests served */
    unsigned lists;
    unsigned fail_lists; /* answer this many lists with 503 */
};

static inline void
fake_log(struct fake *f, const char *verb, const char *args)
{
    char *line = sk_asprintf("%s%s%s", verb, *args ? " " : "", args);

    json_array_append_new(f->log, json_string(line));
    free(line);
}

/* The last logged line starting with prefix, or NULL. */
static inline const char *
fake_last(struct fake *f, const char *prefix)
{
    size_t i = json_array_size(f->log);

    while (i-- > 0) {
        const char *s = json_string_value(json_array_get(f->log, i));

        if (strncmp(s, prefix, strlen(prefix)) == 0)
            return s;
    }
    return NULL;
}

static inline size_t
fake_count(struct fake *f, const char *prefix)
{
    size_t i, n = 0;

    for (i = 0; i < json_array_size(f->log); i++)
        if (strncmp(json_string_value(json_array_get(f->log, i)), prefix, strlen(prefix)) == 0)
            n++;
    return n;
}

static inline void
fake_key(const json_t *obj, char *out, size_t outsz)
{
    const char *ns = json_string_value(sk_json_get(obj, "metadata.namespace"));
    const char *name = json_string_value(sk_json_get(obj, "metadata.name"));

    snprintf(out, outsz, "%s/%s", ns ? ns : "", name ? name : "");
}

static inline void
fake_set_rev(json_t *obj, uint64_t rev)
{
    char buf[32];

    snprintf(buf, sizeof(buf), "%" PRIu64, rev);
    json_object_set_new(json_object_get(obj, "metadata"), "resourceVersion", json_string(buf));
}

static inline void
fake_send_to(struct api_req *req, const char *type, const json_t *obj)
{
    char *js = sk_json_dump_line(obj);
    char *line = sk_asprintf("%s %s\n", type, js);

    api_req_stream_write(req, line, strlen(line));
    free(line);
    free(js);
}

static inline void
fake_send(struct fake *f, const char *type, const json_t *obj)
{
    size_t i;

    for (i = 0; i < f->nw; i++)
        fake_send_to(f->w[i].req, type, obj);
}

/* Record a change (obj is stolen) and tell the watchers. */
static inline void
fake_event(struct fake *f, const char *type, json_t *obj)
{
    char key[256];

    fake_key(obj, key, sizeof(key));
    fake_set_rev(obj, ++f->rev);
    if (strcmp(type, "DELETED") == 0)
        json_object_del(f->objs, key);
    else
        json_object_set(f->objs, key, obj);
    json_array_append_new(f->hist, json_pack("{s:s,s:O}", "type", type, "obj", obj));
    fake_send(f, type, obj);
    json_decref(obj);
}

/* Test-side writes. */
static inline void
fake_put(struct fake *f, const char *ns, const char *name, const char *node)
{
    char key[256];
    json_t *obj;
    bool exists;

    snprintf(key, sizeof(key), "%s/%s", ns, name);
    exists = json_object_get(f->objs, key) != NULL;
    obj = json_pack("{s:s,s:s,s:{s:s,s:s},s:{}}", "apiVersion", "v1", "kind", "Pod", "metadata",
                    "name", name, "namespace", ns, "spec");
    if (node)
        json_object_set_new(json_object_get(obj, "spec"), "nodeName", json_string(node));
    fake_event(f, exists ? "MODIFIED" : "ADDED", obj);
}

static inline void
fake_del(struct fake *f, const char *ns, const char *name)
{
    char key[256];
    json_t *obj;

    snprintf(key, sizeof(key), "%s/%s", ns, name);
    obj = json_object_get(f->objs, key);
    ck_assert_ptr_nonnull(obj);
    fake_event(f, "DELETED", json_deep_copy(obj));
}

static inline void
fake_drop_watches(struct fake *f)
{
    size_t i;

    for (i = 0; i < f->nw; i++)
        api_req_stream_end(f->w[i].req);
    f->nw = 0;
}

static inline void
fake_too_slow(struct fake *f)
{
    char line[128];
    size_t i;

    snprintf(line, sizeof(line), "error 410 Gone watcher too slow, resume rev=%" PRIu64 "\n",
             f->rev);
    for (i = 0; i < f->nw; i++) {
        api_req_stream_write(f->w[i].req, line, strlen(line));
        api_req_stream_end(f->w[i].req);
    }
    f->nw = 0;
}

/* ---- verbs ---- */

static inline void
fv_echo(struct api_req *req, char *args, void *arg)
{
    char *body = sk_asprintf("%s\n", args);

    fake_log(arg, "echo", args);
    api_req_ok(req, 1, body, "rev=7");
    free(body);
}

struct fake_later {
    struct api_req *req;
    char word[64];
};

static inline void
fake_later_fire(struct sk_loop *loop, void *arg)
{
    struct fake_later *l = arg;
    char body[80];

    snprintf(body, sizeof(body), "%s\n", l->word);
    api_req_ok(l->req, 1, body, "later");
    free(l);
}

static inline void
fv_later(struct api_req *req, char *args, void *arg)
{
    struct fake *f = arg;
    struct fake_later *l = sk_calloc(1, sizeof(*l));
    unsigned ms = 0;

    fake_log(f, "later", args);
    sscanf(args, "%u %63s", &ms, l->word);
    l->req = req;
    sk_loop_timer_add(f->loop, ms, fake_later_fire, l);
}

static inline void
fv_fail(struct api_req *req, char *args, void *arg)
{
    char reason[64] = "";
    int code = 500;

    fake_log(arg, "fail", args);
    sscanf(args, "%d %63s", &code, reason);
    api_req_error(req, code, reason, "failed on purpose");
}

static inline void
fake_stream_closed(struct api_req *req, void *arg)
{
    struct fake *f = arg;
    size_t i;

    for (i = 0; i < f->nw; i++)
        if (f->w[i].req == req) {
            f->w[i] = f->w[--f->nw];
            break;
        }
}

static inline void
fake_half_closed(struct api_req *req, void *arg)
{
}

static inline void
fv_half(struct api_req *req, char *args, void *arg)
{
    static const char text[] = "ok 3\n{\"a\":1}\n";

    fake_log(arg, "half", args);
    api_req_stream_begin(req, text, strlen(text), fake_half_closed, arg);
    api_req_stream_end(req);
}

static inline void
fv_junk(struct api_req *req, char *args, void *arg)
{
    fake_log(arg, "junk", args);
    api_req_reply(req, "garbage\n", 8);
}

/* Send a raw line to every watcher. */
static inline void
fake_send_raw(struct fake *f, const char *line)
{
    size_t i;

    for (i = 0; i < f->nw; i++)
        api_req_stream_write(f->w[i].req, line, strlen(line));
}

/* The options of argv (key=value) and the positionals after argv[0]. */
static inline const char *
fake_opt(char **argv, int argc, const char *key)
{
    size_t kl = strlen(key);
    int i;

    for (i = 0; i < argc; i++)
        if (strncmp(argv[i], key, kl) == 0 && argv[i][kl] == '=')
            return argv[i] + kl + 1;
    return NULL;
}

static inline bool
fake_in_ns(const json_t *obj, const char *ns)
{
    const char *ons = json_string_value(sk_json_get(obj, "metadata.namespace"));

    return !ns || strcmp(ns, "*") == 0 || (ons && strcmp(ons, ns) == 0);
}

static inline void
fv_list(struct api_req *req, char *args, void *arg)
{
    struct fake *f = arg;
    char *argv[16], word[32] = "";
    const char *ns, *key, *lim, *cont;
    struct sk_buf body = SK_BUF_INIT;
    json_t *all, *obj;
    size_t n = 0, limit, skip, i;
    int argc;

    fake_log(f, "list", args);
    f->lists++;
    if (f->fail_lists) {
        f->fail_lists--;
        api_req_error(req, 503, "Unavailable", "no leader");
        return;
    }
    argc = api_args_split(args, argv, 16);
    ns = argc > 1 && !strchr(argv[1], '=') ? argv[1] : "*";
    all = json_array();
    lim = fake_opt(argv, argc, "limit");
    cont = fake_opt(argv, argc, "continue");
    limit = lim ? strtoul(lim, NULL, 10) : 0;
    skip = cont ? strtoul(cont, NULL, 10) : 0;
    /* jansson keeps insertion order; tests insert in key order. */
    json_object_foreach (f->objs, key, obj)
        if (fake_in_ns(obj, ns))
            json_array_append(all, obj);
    for (i = skip; i < json_array_size(all) && (!limit || n < limit); i++, n++) {
        sk_json_dump_buf(json_array_get(all, i), &body);
        sk_buf_putc(&body, '\n');
    }
    if (i < json_array_size(all))
        snprintf(word, sizeof(word), " continue=%zu", i);
    api_req_ok(req, n, body.data, "rev=%" PRIu64 "%s", f->rev, word);
    sk_buf_release(&body);
    json_decref(all);
}

static inline void
fake_reply_obj(struct fake *f, struct api_req *req, const json_t *obj, const char *word)
{
    char *js = sk_json_dump_line(obj);
    char *body = sk_asprintf("%s\n", js);

    api_req_ok(req, 1, body, "rev=%" PRIu64 "%s%s", f->rev, word ? " " : "", word ? word : "");
    free(body);
    free(js);
}

static inline void
fv_get(struct api_req *req, char *args, void *arg)
{
    struct fake *f = arg;
    char *argv[8], key[256];
    json_t *obj;
    int argc;

    fake_log(f, "get", args);
    argc = api_args_split(args, argv, 8);
    if (argc < 3) {
        api_req_error(req, 400, "BadRequest", "get needs RESOURCE NS NAME");
        return;
    }
    snprintf(key, sizeof(key), "%s/%s", argv[1], argv[2]);
    obj = json_object_get(f->objs, key);
    if (!obj) {
        api_req_error(req, 404, "NotFound", "pods \"%s\" not found in namespace \"%s\"", argv[2],
                      argv[1]);
        return;
    }
    fake_reply_obj(f, req, obj, NULL);
}

static inline void
fv_create(struct api_req *req, char *args, void *arg)
{
    struct fake *f = arg;
    const char *gen, *name;
    char key[256], nm[300];
    json_t *obj;

    fake_log(f, "create", args);
    if (sk_json_parse(args, strlen(args), &obj, NULL) < 0 || !json_is_object(obj)) {
        json_decref(obj);
        api_req_error(req, 400, "BadRequest", "not JSON");
        return;
    }
    name = json_string_value(sk_json_get(obj, "metadata.name"));
    gen = json_string_value(sk_json_get(obj, "metadata.generateName"));
    if (!name && gen) {
        snprintf(nm, sizeof(nm), "%sx%u", gen, ++f->gen);
        json_object_set_new(json_object_get(obj, "metadata"), "name", json_string(nm));
    }
    fake_key(obj, key, sizeof(key));
    if (json_object_get(f->objs, key)) {
        api_req_error(req, 409, "AlreadyExists", "pods \"%s\" already exists",
                      json_string_value(sk_json_get(obj, "metadata.name")));
        json_decref(obj);
        return;
    }
    fake_event(f, "ADDED", json_incref(obj));
    fake_reply_obj(f, req, obj, "created");
    json_decref(obj);
}

/* RFC 7386 merge patch. */
static inline void
fake_merge(json_t *dst, const json_t *patch)
{
    const char *k;
    json_t *v;

    json_object_foreach ((json_t *)patch, k, v) {
        if (json_is_null(v))
            json_object_del(dst, k);
        else if (json_is_object(v) && json_is_object(json_object_get(dst, k)))
            fake_merge(json_object_get(dst, k), v);
        else
            json_object_set(dst, k, v);
    }
}

static inline void
fv_patch(struct api_req *req, char *args, void *arg)
{
    struct fake *f = arg;
    char res[64], ns[128], name[256], key[400];
    json_t *patch, *obj;
    int off = 0;

    fake_log(f, "patch", args);
    if (sscanf(args, "%63s %127s %255s %n", res, ns, name, &off) != 3 || !off ||
        sk_json_parse(args + off, strlen(args + off), &patch, NULL) < 0) {
        api_req_error(req, 400, "BadRequest", "patch RESOURCE NS NAME JSON");
        return;
    }
    snprintf(key, sizeof(key), "%s/%s", ns, name);
    obj = json_object_get(f->objs, key);
    if (!obj) {
        json_decref(patch);
        api_req_error(req, 404, "NotFound", "%s \"%s\" not found", res, name);
        return;
    }
    obj = json_deep_copy(obj);
    fake_merge(obj, patch);
    json_decref(patch);
    fake_event(f, "MODIFIED", json_incref(obj));
    fake_reply_obj(f, req, obj, NULL);
    json_decref(obj);
}

static inline void
fv_watch(struct api_req *req, char *args, void *arg)
{
    struct fake *f = arg;
    char *argv[16], head[64];
    const char *r;
    uint64_t from;
    json_t *e, *obj;
    const char *key;
    size_t i;
    int argc;

    fake_log(f, "watch", args);
    f->watches++;
    argc = api_args_split(args, argv, 16);
    r = fake_opt(argv, argc, "rev");
    from = r ? strtoull(r, NULL, 10) : 0;
    if (from && from < f->compact) {
        api_req_error(req, 410, "Gone", "too old resource version: %" PRIu64 " (%" PRIu64 ")", from,
                      f->compact);
        return;
    }
    snprintf(head, sizeof(head), "ok watch rev=%" PRIu64 "\n", f->rev);
    api_req_stream_begin(req, head, strlen(head), fake_stream_closed, f);
    ck_assert_uint_lt(f->nw, FAKE_MAX_WATCHERS);
    f->w[f->nw++].req = req;
    if (!from) {
        json_object_foreach (f->objs, key, obj)
            fake_send_to(req, "ADDED", obj);
        return;
    }
    json_array_foreach (f->hist, i, e) {
        obj = json_object_get(e, "obj");
        if (strtoull(json_string_value(sk_json_get(obj, "metadata.resourceVersion")), NULL, 10) >
            from)
            fake_send_to(req, json_string_value(json_object_get(e, "type")), obj);
    }
}

static inline struct fake *
fake_start(struct sk_loop *loop)
{
    static unsigned n;
    struct api_server_config cfg = {.socket_mode = 0600};
    struct fake *f = sk_calloc(1, sizeof(*f));
    struct sk_err err;

    f->loop = loop;
    snprintf(f->path, sizeof(f->path), "%s/fake-%d-%u.sock", unit_tmpdir(), (int)getpid(), ++n);
    cfg.socket_path = f->path;
    ck_assert_msg(api_server_start(loop, &cfg, &f->srv, &err) == 0, "%s", err.msg);
    f->objs = json_object();
    f->hist = json_array();
    f->log = json_array();
    api_server_handle(f->srv, "echo", fv_echo, f, false);
    api_server_handle(f->srv, "later", fv_later, f, false);
    api_server_handle(f->srv, "fail", fv_fail, f, false);
    api_server_handle(f->srv, "half", fv_half, f, false);
    api_server_handle(f->srv, "junk", fv_junk, f, false);
    api_server_handle(f->srv, "list", fv_list, f, false);
    api_server_handle(f->srv, "get", fv_get, f, false);
    api_server_handle(f->srv, "create", fv_create, f, false);
    api_server_handle(f->srv, "patch", fv_patch, f, false);
    api_server_handle(f->srv, "watch", fv_watch, f, false);
    return f;
}

static inline void
fake_stop(struct fake *f)
{
    fake_drop_watches(f);
    api_server_stop(f->srv);
    json_decref(f->objs);
    json_decref(f->hist);
    json_decref(f->log);
    free(f);
}

/* Run the loop until cond(arg) holds or timeout_ms pass; returns cond. */
static inline bool
run_until(struct sk_loop *loop, bool (*cond)(void *arg), void *arg, int timeout_ms)
{
    uint64_t end = sk_loop_now_ms(loop) + (uint64_t)timeout_ms;

    while (!cond(arg) && sk_loop_now_ms(loop) < end)
        sk_loop_run_once(loop, 10, NULL);
    return cond(arg);
}

/* Run the loop for ms (lets nothing-should-happen checks settle). */
static inline void
run_for(struct sk_loop *loop, int ms)
{
    uint64_t end = sk_loop_now_ms(loop) + (uint64_t)ms;

    while (sk_loop_now_ms(loop) < end)
        sk_loop_run_once(loop, 5, NULL);
}

#endif
