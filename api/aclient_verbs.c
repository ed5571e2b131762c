/* Request lines of the object verbs (API-SPEC.md) and helpers to read
 * their responses. Every argument is percent-encoded as one word, so a
 * name or selector can never add words or options of its own; JSON
 * bodies go last, compact (the server takes them raw). */
#include "api/aclient_int.h"
#include "lib/alloc.h"
#include "lib/json.h"
#include "lib/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void
api_word_encode(const char *s, struct sk_buf *out)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p;

    for (p = (const unsigned char *)s; *p; p++) {
        if (*p <= ' ' || *p >= 0x7f || *p == '%' || *p == '=') {
            sk_buf_putc(out, '%');
            sk_buf_putc(out, hex[*p >> 4]);
            sk_buf_putc(out, hex[*p & 15]);
        } else {
            sk_buf_putc(out, (char)*p);
        }
    }
}

static void
put_word(struct sk_buf *b, const char *s)
{
    sk_buf_putc(b, ' ');
    api_word_encode(s, b);
}

static void
put_opt(struct sk_buf *b, const char *key, const char *val)
{
    if (!val || !*val)
        return;
    sk_buf_printf(b, " %s=", key);
    api_word_encode(val, b);
}

static void
put_ns(struct sk_buf *b, const char *ns)
{
    if (ns && *ns)
        put_word(b, ns);
}

static int
put_json(struct sk_buf *b, const json_t *obj)
{
    sk_buf_putc(b, ' ');
    if (sk_json_dump_buf(obj, b) < 0)
        return -EINVAL;
    return 0;
}

/* Send b's line; NULL (logged) if it cannot be sent. */
static struct api_acall *
send_line(struct api_aclient *c, struct sk_buf *b, api_acall_fn cb, void *arg)
{
    struct api_acall *call;
    struct sk_err err;

    call = api_aclient_call(c, b->data, cb, arg, &err);
    if (!call)
        sk_warn("aclient", "request not sent: %s", err.msg);
    sk_buf_release(b);
    return call;
}

struct api_acall *
api_aclient_get(struct api_aclient *c, const char *resource, const char *ns, const char *name,
                api_acall_fn cb, void *arg)
{
    struct sk_buf b = SK_BUF_INIT;

    sk_buf_puts(&b, "get");
    put_word(&b, resource);
    put_ns(&b, ns);
    put_word(&b, name);
    return send_line(c, &b, cb, arg);
}

struct api_acall *
api_aclient_list(struct api_aclient *c, const char *resource, const char *ns, const char *selector,
                 const char *fields, size_t limit, const char *cont, api_acall_fn cb, void *arg)
{
    struct sk_buf b = SK_BUF_INIT;

    sk_buf_puts(&b, "list");
    put_word(&b, resource);
    /* All namespaces: no positional, which cluster-scoped kinds need. */
    if (ns && *ns && strcmp(ns, "*") != 0)
        put_word(&b, ns);
    put_opt(&b, "selector", selector);
    put_opt(&b, "fields", fields);
    if (limit)
        sk_buf_printf(&b, " limit=%zu", limit);
    put_opt(&b, "continue", cont);
    return send_line(c, &b, cb, arg);
}

static struct api_acall *
json_verb(struct api_aclient *c, const char *verb, const json_t *obj, api_acall_fn cb, void *arg)
{
    struct sk_buf b = SK_BUF_INIT;

    sk_buf_puts(&b, verb);
    if (put_json(&b, obj) < 0) {
        sk_warn("aclient", "%s: object cannot be encoded as JSON", verb);
        sk_buf_release(&b);
        return NULL;
    }
    return send_line(c, &b, cb, arg);
}

struct api_acall *
api_aclient_create(struct api_aclient *c, const json_t *obj, api_acall_fn cb, void *arg)
{
    return json_verb(c, "create", obj, cb, arg);
}

struct api_acall *
api_aclient_update(struct api_aclient *c, const json_t *obj, api_acall_fn cb, void *arg)
{
    return json_verb(c, "update", obj, cb, arg);
}

struct api_acall *
api_aclient_status(struct api_aclient *c, const json_t *obj, api_acall_fn cb, void *arg)
{
    return json_verb(c, "status", obj, cb, arg);
}

struct api_acall *
api_aclient_patch(struct api_aclient *c, const char *resource, const char *ns, const char *name,
                  const char *subresource, const json_t *patch, api_acall_fn cb, void *arg)
{
    struct sk_buf b = SK_BUF_INIT;

    sk_buf_puts(&b, "patch");
    put_word(&b, resource);
    put_ns(&b, ns);
    put_word(&b, name);
    put_opt(&b, "subresource", subresource);
    if (put_json(&b, patch) < 0) {
        sk_warn("aclient", "patch: object cannot be encoded as JSON");
        sk_buf_release(&b);
        return NULL;
    }
    return send_line(c, &b, cb, arg);
}

struct api_acall *
api_aclient_bind(struct api_aclient *c, const char *ns, const char *name, const char *node,
                 const char *uid, api_acall_fn cb, void *arg)
{
    struct sk_buf b = SK_BUF_INIT;

    sk_buf_puts(&b, "bind");
    put_word(&b, ns);
    put_word(&b, name);
    put_word(&b, node);
    put_opt(&b, "uid", uid);
    return send_line(c, &b, cb, arg);
}

struct api_acall *
api_aclient_delete(struct api_aclient *c, const char *resource, const char *ns, const char *name,
                   const struct api_delete_args *opts, api_acall_fn cb, void *arg)
{
    struct sk_buf b = SK_BUF_INIT;

    sk_buf_puts(&b, "delete");
    put_word(&b, resource);
    put_ns(&b, ns);
    put_word(&b, name);
    if (opts) {
        if (opts->grace >= 0)
            sk_buf_printf(&b, " grace=%" PRId64, opts->grace);
        put_opt(&b, "propagation", opts->propagation);
        put_opt(&b, "uid", opts->uid);
        put_opt(&b, "rev", opts->rev);
    }
    return send_line(c, &b, cb, arg);
}

/* ---- responses ---- */

json_t *
api_resp_object(const struct api_resp *resp, size_t i, struct sk_err *err)
{
    json_t *obj;

    if (!resp || i >= resp->nlines) {
        sk_err_set(err, EPROTO, "response has no body line %zu", i + 1);
        return NULL;
    }
    if (sk_json_parse(resp->lines[i], strlen(resp->lines[i]), &obj, err) < 0) {
        sk_err_wrap(err, "response body line %zu", i + 1);
        if (err)
            err->code = EPROTO;
        return NULL;
    }
    if (!json_is_object(obj)) {
        json_decref(obj);
        sk_err_set(err, EPROTO, "response body line %zu is not an object", i + 1);
        return NULL;
    }
    return obj;
}

int
api_status_word(const char *status, const char *key, char *out, size_t outsz)
{
    size_t klen = strlen(key), wlen;
    const char *p = status;

    while (p && *p) {
        p += strspn(p, " ");
        wlen = strcspn(p, " ");
        if (wlen > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
            if (outsz) {
                size_t n = wlen - klen - 1;

                if (n >= outsz)
                    n = outsz - 1;
                memcpy(out, p + klen + 1, n);
                out[n] = '\0';
            }
            return 0;
        }
        p += wlen;
    }
    return -ENOENT;
}

uint64_t
api_resp_rev(const struct api_resp *resp)
{
    char buf[32], *end;
    unsigned long long v;

    if (!resp || !resp->status || api_status_word(resp->status, "rev", buf, sizeof(buf)) < 0)
        return 0;
    errno = 0;
    v = strtoull(buf, &end, 10);
    if (errno || *end)
        return 0;
    return v;
}
