/* skiff(1): the session's connection, request words, objects and watch
 * streams (the object verbs of skiff-protocol(7)). */
#include "api/cli_int.h"
#include "lib/alloc.h"
#include "lib/json.h"
#include "lib/yaml.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CLI_TIMEOUT_MS 30000
/* Objects per list page: big lists come in pages so no answer exceeds
 * the server's limits, and the client never holds two pages' lines. */
#define CLI_LIST_PAGE "500"

int64_t
cli_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
cli_exit_of(int rc)
{
    switch (-rc) {
    case 0:
        return SKIFF_EXIT_OK;
    case ENOENT:
        return SKIFF_EXIT_NOT_FOUND;
    case EACCES:
    case EPERM:
        return SKIFF_EXIT_DENIED;
    case ETIMEDOUT:
        return SKIFF_EXIT_TIMEOUT;
    case EHOSTUNREACH:
        return SKIFF_EXIT_UNREACHABLE;
    case EINVAL:
        return SKIFF_EXIT_USAGE;
    default:
        return SKIFF_EXIT_ERROR;
    }
}

int
cli_report(int rc, const struct sk_err *err)
{
    fprintf(stderr, "skiff: %s\n", err->msg[0] ? err->msg : "failed");
    return cli_exit_of(rc);
}

int
cli_resp_error(const struct api_resp *resp, struct sk_err *err)
{
    int code;

    switch (resp->code) {
    case 404:
        code = ENOENT;
        break;
    case 401:
    case 403:
        code = EACCES;
        break;
    case 408:
    case 504:
        code = ETIMEDOUT;
        break;
    case 409:
        code = EEXIST;
        break;
    case 410:
        code = ESTALE;
        break;
    case 400:
    case 422:
        code = EBADMSG;
        break;
    case 501:
        code = ENOSYS;
        break;
    default:
        code = EREMOTEIO;
        break;
    }
    return sk_err_set(err, code, "%s", resp->status ? resp->status : resp->reason);
}

/* A connection failure as the CLI reports it: the server could not be
 * reached (4), except a refused token (5) and a timeout (6). */
static int
transport_error(const struct cli *c, int rc, struct sk_err *err)
{
    if (rc == -EACCES || rc == -ETIMEDOUT)
        return rc;
    sk_err_wrap(err, "server '%s'", c->server);
    err->code = EHOSTUNREACH;
    return -EHOSTUNREACH;
}

static int
cli_connect(struct cli *c, struct sk_err *err)
{
    int rc;

    if (c->connected)
        return 0;
    rc = api_client_connect(&c->cl, c->server, c->token, CLI_TIMEOUT_MS, err);
    if (rc < 0)
        return transport_error(c, rc, err);
    c->cl.verbose = c->verbose;
    c->connected = true;
    return 0;
}

void
cli_close(struct cli *c)
{
    if (c->connected)
        api_client_close(&c->cl);
    c->connected = false;
}

int
cli_do(struct cli *c, const char *line, struct api_resp *resp, struct sk_err *err)
{
    int rc;

    memset(resp, 0, sizeof(*resp));
    rc = cli_connect(c, err);
    if (rc < 0)
        return rc;
    rc = api_client_call(&c->cl, line, resp, err);
    if (rc < 0) {
        /* The connection is unusable after a broken answer. */
        cli_close(c);
        return transport_error(c, rc, err);
    }
    if (!resp->ok) {
        rc = cli_resp_error(resp, err);
        api_resp_release(resp);
        return rc;
    }
    return 0;
}

/* ---- request words ---- */

static void
put_encoded(struct sk_buf *line, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p > 0x20 && *p < 0x7f && *p != '%')
            sk_buf_putc(line, (char)*p);
        else
            sk_buf_printf(line, "%%%02X", *p);
    }
}

void
cli_put_word(struct sk_buf *line, const char *word)
{
    sk_buf_putc(line, ' ');
    put_encoded(line, word);
}

void
cli_put_opt(struct sk_buf *line, const char *key, const char *value)
{
    sk_buf_printf(line, " %s=", key);
    put_encoded(line, value);
}

int
cli_put_json(struct sk_buf *line, const json_t *v, struct sk_err *err)
{
    sk_buf_putc(line, ' ');
    if (sk_json_dump_buf(v, line) < 0)
        return sk_err_set(err, EINVAL, "cannot encode the object as json");
    return 0;
}

void
cli_put_target(struct sk_buf *line, const struct api_kind *k, const char *ns)
{
    cli_put_word(line, k->resource);
    if (k->namespaced)
        cli_put_word(line, ns && *ns ? ns : "*");
}

int
cli_status_value(const char *status, const char *key, char *out, size_t outsz)
{
    size_t klen = strlen(key);
    const char *p = status ? status : "";

    while (*p) {
        size_t len = strcspn(p, " ");

        if (len > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
            snprintf(out, outsz, "%.*s", (int)(len - klen - 1), p + klen + 1);
            return 1;
        }
        p += len;
        p += strspn(p, " ");
    }
    return 0;
}

const char *
cli_status_last(const char *status)
{
    const char *sp;

    if (!status)
        return "";
    sp = strrchr(status, ' ');
    return sp ? sp + 1 : status;
}

/* ---- objects ---- */

void
cli_objs_release(struct cli_objs *o)
{
    sk_json_docs_free(o->items, o->n);
    memset(o, 0, sizeof(*o));
}

int
cli_objs_from_resp(const struct api_resp *resp, struct cli_objs *o, struct sk_err *err)
{
    char rev[32];

    if (cli_status_value(resp->status, "rev", rev, sizeof(rev)))
        o->rev = strtoull(rev, NULL, 10);
    for (size_t i = 0; i < resp->nlines; i++) {
        json_t *v = NULL;

        if (sk_json_parse(resp->lines[i], strlen(resp->lines[i]), &v, err) < 0 ||
            !json_is_object(v)) {
            json_decref(v);
            return sk_err_set(err, EPROTO, "answer line %zu is not a json object", i + 1);
        }
        o->items = sk_reallocarray(o->items, o->n + 1, sizeof(*o->items));
        o->items[o->n++] = v;
    }
    return 0;
}

int
cli_get(struct cli *c, const struct api_kind *k, const char *ns, const char *name, json_t **out,
        struct sk_err *err)
{
    struct sk_buf line = SK_BUF_INIT;
    struct api_resp resp;
    struct cli_objs o = {0};
    int rc;

    *out = NULL;
    sk_buf_puts(&line, "get");
    cli_put_target(&line, k, ns);
    cli_put_word(&line, name);
    rc = cli_do(c, line.data, &resp, err);
    sk_buf_release(&line);
    if (rc < 0)
        return rc;
    rc = cli_objs_from_resp(&resp, &o, err);
    if (rc == 0 && o.n != 1)
        rc = sk_err_set(err, EPROTO, "get %s \"%s\": expected one object, got %zu", k->resource,
                        name, o.n);
    if (rc == 0) {
        *out = o.items[0];
        o.items[0] = NULL;
    }
    api_resp_release(&resp);
    cli_objs_release(&o);
    return rc;
}

int
cli_list(struct cli *c, const struct api_kind *k, const char *ns, const char *selector,
         const char *fields, struct cli_objs *out, struct sk_err *err)
{
    char token[1024] = "";
    struct api_resp resp;
    int rc;

    memset(out, 0, sizeof(*out));
    do {
        struct sk_buf line = SK_BUF_INIT;

        sk_buf_puts(&line, "list");
        cli_put_target(&line, k, ns);
        if (selector && *selector)
            cli_put_opt(&line, "selector", selector);
        if (fields && *fields)
            cli_put_opt(&line, "fields", fields);
        cli_put_opt(&line, "limit", CLI_LIST_PAGE);
        if (token[0])
            sk_buf_printf(&line, " continue=%s", token);
        rc = cli_do(c, line.data, &resp, err);
        sk_buf_release(&line);
        if (rc < 0)
            goto out_fail;
        rc = cli_objs_from_resp(&resp, out, err);
        if (!cli_status_value(resp.status, "continue", token, sizeof(token)))
            token[0] = '\0';
        api_resp_release(&resp);
        if (rc < 0)
            goto out_fail;
    } while (token[0]);
    return 0;
out_fail:
    cli_objs_release(out);
    return rc;
}

const char *
cli_str(const json_t *obj, const char *path)
{
    const char *s = json_string_value(sk_json_get(obj, path));

    return s ? s : "";
}

void
cli_obj_ref(const struct api_kind *k, const json_t *obj, char *out, size_t outsz)
{
    const struct api_kind *ok = k;
    const char *kind = json_string_value(json_object_get(obj, "kind"));

    if (!ok && kind)
        ok = api_kind_lookup(kind);
    snprintf(out, outsz, "%s/%s", ok ? ok->singular : "object", api_meta_name(obj));
}

/* ---- watch streams ---- */

int
cli_watch_start(struct cli *c, const char *line, struct cli_watch *w, struct sk_err *err)
{
    struct api_resp resp;
    char *l;
    size_t len;
    int rc;

    memset(w, 0, sizeof(*w));
    rc = api_client_connect(&w->cl, c->server, c->token, CLI_TIMEOUT_MS, err);
    if (rc < 0)
        return transport_error(c, rc, err);
    w->open = true;
    w->cl.verbose = c->verbose;
    if (c->verbose)
        fprintf(stderr, "> %s\n", line);
    rc = sk_lineclient_send(&w->cl.lc, line, err);
    if (rc >= 0)
        rc = sk_lineclient_recv(&w->cl.lc, &l, &len, CLI_TIMEOUT_MS, err);
    if (rc < 0) {
        cli_watch_close(w);
        return transport_error(c, rc, err);
    }
    if (c->verbose)
        fprintf(stderr, "< %s\n", l);
    if (strncmp(l, "ok watch", 8) == 0)
        return 0;
    if (api_resp_parse_status(l, &resp, err) < 0 || resp.ok)
        rc = sk_err_set(err, EPROTO, "unexpected answer to watch: '%.80s'", l);
    else
        rc = cli_resp_error(&resp, err);
    api_resp_release(&resp);
    cli_watch_close(w);
    return rc;
}

/* "error 410 Gone watcher too slow, resume rev=N": where to go on. */
static int
watch_stream_error(const char *l, uint64_t *resume, struct sk_err *err)
{
    struct api_resp resp;
    const char *r;
    int rc;

    *resume = 0;
    if (api_resp_parse_status(l, &resp, err) < 0)
        return -EPROTO;
    rc = cli_resp_error(&resp, err);
    r = strstr(resp.status ? resp.status : "", "rev=");
    if (rc == -ESTALE && r)
        *resume = strtoull(r + 4, NULL, 10);
    api_resp_release(&resp);
    return rc;
}

int
cli_watch_next(struct cli_watch *w, int timeout_ms, char type[16], json_t **obj, uint64_t *resume,
               struct sk_err *err)
{
    int64_t deadline = timeout_ms < 0 ? -1 : cli_now_ms() + timeout_ms;
    char *l, *sp;
    size_t len;
    int rc, left;

    *obj = NULL;
    *resume = 0;
    for (;;) {
        left = deadline < 0 ? -1 : (int)(deadline - cli_now_ms());
        if (deadline >= 0 && left <= 0)
            return 0;
        rc = sk_lineclient_recv(&w->cl.lc, &l, &len, left, err);
        if (rc == -ETIMEDOUT)
            return 0;
        if (rc < 0)
            return rc;
        if (w->cl.verbose)
            fprintf(stderr, "< %s\n", l);
        if (strncmp(l, "error ", 6) == 0)
            return watch_stream_error(l, resume, err);
        if (strncmp(l, "BOOKMARK", 8) == 0)
            continue;
        sp = strchr(l, ' ');
        if (!sp || (size_t)(sp - l) >= 16)
            return sk_err_set(err, EPROTO, "malformed watch event '%.80s'", l);
        snprintf(type, 16, "%.*s", (int)(sp - l), l);
        if (sk_json_parse(sp + 1, strlen(sp + 1), obj, err) < 0)
            return sk_err_wrap(err, "watch event");
        return 1;
    }
}

void
cli_watch_close(struct cli_watch *w)
{
    if (w->open)
        api_client_close(&w->cl);
    w->open = false;
}

int
cli_wait_deleted(struct cli *c, const struct api_kind *k, const char *ns, const char *name,
                 const char *uid, uint64_t timeout_ms, struct sk_err *err)
{
    int64_t deadline = timeout_ms ? cli_now_ms() + (int64_t)timeout_ms : -1;
    int64_t pause_ms = 20;
    json_t *obj = NULL;
    int rc;

    /* A bounded poll, not a watch: an object may be gone before a watch
     * could start, and a get answers that directly. Back off to 500 ms. */
    for (;;) {
        rc = cli_get(c, k, ns, name, &obj, err);
        /* Another object of the same name (a new one) means ours is gone. */
        if (rc == 0 && uid && *uid && strcmp(uid, cli_str(obj, "metadata.uid")) != 0)
            rc = -ENOENT;
        json_decref(obj);
        if (rc == -ENOENT)
            return 0;
        if (rc < 0)
            return rc;
        if (deadline >= 0 && cli_now_ms() >= deadline)
            return sk_err_set(err, ETIMEDOUT, "timed out waiting for %s \"%s\" to be deleted",
                              k->resource, name);
        nanosleep(&(struct timespec){0, pause_ms * 1000000}, NULL);
        pause_ms = pause_ms * 2 > 500 ? 500 : pause_ms * 2;
    }
}
