/* The raw key-value verbs (API in kv.h; the spec is skiff-protocol(7),
 * section KEY-VALUE VERBS).
 *
 * Writes are encoded as mvcc commands and proposed with store_write();
 * the answer is written once the store acknowledges (durable on a
 * quorum and applied). Linearizable reads wait for store_read_barrier();
 * `serializable` reads are answered from local state at once.
 *
 * JSON is written by hand here rather than through jansson: the write
 * and read paths are the benchmark's hot path. */
#include "api/kv.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/quote.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define KV_WATCH_MAX_QUEUED (4u << 20)
#define KV_PROGRESS_MS      5000

struct kv_watch;

struct api_kv {
    struct store *s;
    struct sk_loop *loop;
    struct kv_watch *watches; /* live watches, detached by api_kv_free */
};

/* One request waiting for the store. */
struct kv_pending {
    struct api_req *req;
    struct api_kv *kv;
    int verb; /* enum kv_verb */
    unsigned flags;
    struct mvcc_op op; /* reads: bytes in buf */
    char *buf;
    int64_t arg;
};

enum kv_verb { KV_PUT = 1, KV_DEL, KV_GET, KV_RANGE, KV_TXN, KV_COMPACT };

/* ---- parsing ---- */

/* Keys and values are binary: %00 is a byte like any other. */
static int
decode(char *w, uint32_t *len)
{
    ssize_t n = sk_percent_decode(w, true);

    if (n < 0)
        return -1;
    *len = (uint32_t)n;
    return 0;
}

int
api_kv_split(char *args, char **argv, uint32_t *lens, int max)
{
    char *p = args;
    int n = 0;

    for (;;) {
        while (*p == ' ')
            p++;
        if (!*p)
            return n;
        if (n == max)
            return -1;
        argv[n] = p;
        p += strcspn(p, " ");
        if (*p)
            *p++ = '\0';
        if (decode(argv[n], &lens[n]) < 0)
            return -1;
        n++;
    }
}

uint32_t
api_kv_span_end(const char *key, uint32_t key_len, const char *arg, uint32_t arg_len, char *end)
{
    if (arg_len == 1 && arg[0] == '+') {
        if (!key_len) {
            end[0] = '\0';
            return 1;
        }
        return mvcc_prefix_end(key, key_len, end);
    }
    memcpy(end, arg, arg_len);
    return arg_len;
}

int
api_kv_utf8_ok(const char *str, uint32_t len)
{
    const unsigned char *p = (const unsigned char *)str, *e = p + len;
    uint32_t cp;
    int n;

    while (p < e) {
        if (*p == 0)
            return 0;
        if (*p < 0x80) {
            p++;
            continue;
        }
        if ((*p & 0xe0) == 0xc0)
            n = 1, cp = *p & 0x1f;
        else if ((*p & 0xf0) == 0xe0)
            n = 2, cp = *p & 0x0f;
        else if ((*p & 0xf8) == 0xf0)
            n = 3, cp = *p & 0x07;
        else
            return 0;
        if (e - p <= n)
            return 0;
        for (int i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i] & 0x3f);
        }
        /* overlong forms, surrogates, beyond U+10FFFF */
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
            return 0;
        p += n + 1;
    }
    return 1;
}

/* ---- output ---- */

static void
json_str(struct sk_buf *out, const char *s, uint32_t len)
{
    static const char hex[] = "0123456789abcdef";
    uint32_t i, start = 0;

    sk_buf_putc(out, '"');
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        sk_buf_append(out, s + start, i - start);
        start = i + 1;
        if (c == '"' || c == '\\') {
            sk_buf_putc(out, '\\');
            sk_buf_putc(out, (char)c);
        } else {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};

            sk_buf_append(out, esc, 6);
        }
    }
    sk_buf_append(out, s + start, len - start);
    sk_buf_putc(out, '"');
}

void
api_kv_json(struct sk_buf *out, const struct mvcc_kv *kv)
{
    sk_buf_puts(out, "{\"key\":");
    json_str(out, kv->key, kv->key_len);
    sk_buf_puts(out, ",\"value\":");
    json_str(out, kv->value ? kv->value : "", kv->value ? kv->value_len : 0);
    sk_buf_printf(out,
                  ",\"create_revision\":%" PRId64 ",\"mod_revision\":%" PRId64
                  ",\"version\":%" PRId64 "}",
                  kv->create_rev, kv->mod_rev, kv->version);
}

/* Print a key for a message: printable ASCII as is, the rest %XX. */
static void
key_text(struct sk_buf *out, const char *key, uint32_t len)
{
    uint32_t i;

    for (i = 0; i < len && i < 256; i++) {
        unsigned char c = (unsigned char)key[i];

        if (c > 0x20 && c < 0x7f && c != '%' && c != '"')
            sk_buf_putc(out, (char)c);
        else
            sk_buf_printf(out, "%%%02X", c);
    }
}

/* Map a store or mvcc error to the protocol's codes. */
static void
reply_err(struct api_req *req, const struct sk_err *err, bool txn)
{
    switch (err->code) {
    case EAGAIN:
    case ECANCELED:
    case EIO:
        api_req_error(req, 503, "Unavailable", "%s", err->msg);
        break;
    case ETIMEDOUT:
        api_req_error(req, 504, "Timeout", "%s", err->msg);
        break;
    case MVCC_ECOMPACTED:
        api_req_error(req, 410, "Gone", "%s", err->msg);
        break;
    case EINVAL:
        if (txn)
            api_req_error(req, 409, "Conflict", "%s", err->msg);
        else
            api_req_error(req, 400, "BadRequest", "%s", err->msg);
        break;
    default:
        api_req_error(req, 400, "BadRequest", "%s", err->msg);
    }
}

static struct kv_pending *
pending_new(struct api_kv *kv, struct api_req *req, int verb)
{
    struct kv_pending *p = sk_calloc(1, sizeof(*p));

    p->req = req;
    p->kv = kv;
    p->verb = verb;
    return p;
}

static void
pending_free(struct kv_pending *p)
{
    free(p->buf);
    free(p);
}

/* ---- reads ---- */

static void
answer_range(struct kv_pending *p)
{
    struct mvcc_op_result r;
    struct sk_buf body = SK_BUF_INIT;
    struct sk_err err;
    int64_t rev = store_rev(p->kv->s);
    size_t i;

    memset(&r, 0, sizeof(r));
    sk_err_init(&err);
    if (store_range(p->kv->s, &p->op, &r, &err) < 0) {
        reply_err(p->req, &err, false);
        goto out;
    }
    if (p->verb == KV_GET) {
        if (!r.nkvs) {
            key_text(&body, p->op.key, p->op.key_len);
            api_req_error(p->req, 404, "NotFound", "key \"%s\" not found", body.data);
            goto out;
        }
        api_kv_json(&body, &r.kvs[0]);
        sk_buf_putc(&body, '\n');
        api_req_ok(p->req, 1, body.data, "rev=%" PRId64, rev);
        goto out;
    }
    for (i = 0; i < r.nkvs; i++) {
        api_kv_json(&body, &r.kvs[i]);
        sk_buf_putc(&body, '\n');
    }
    api_req_ok(p->req, r.nkvs, body.data, "rev=%" PRId64 " more=%d total=%" PRId64, rev,
               r.more ? 1 : 0, r.count);
out:
    mvcc_op_result_release(&r);
    sk_buf_release(&body);
    pending_free(p);
}

static void
on_read_barrier(void *arg, const struct sk_err *err)
{
    struct kv_pending *p = arg;

    if (err) {
        reply_err(p->req, err, false);
        pending_free(p);
        return;
    }
    answer_range(p);
}

static int
parse_uint_opt(const char *w, const char *name, int64_t *out)
{
    size_t n = strlen(name);
    char *end;

    if (strncmp(w, name, n) != 0 || w[n] != '=')
        return 0;
    errno = 0;
    *out = strtoll(w + n + 1, &end, 10);
    if (errno || *end || end == w + n + 1 || *out < 0)
        return -1;
    return 1;
}

/* kv get KEY [rev=R] [serializable]
 * kv range KEY END [rev=R] [limit=L] [serializable] [keys-only] [count-only] */
static void
kv_read(struct api_kv *kv, struct api_req *req, int verb, char **argv, uint32_t *lens, int argc)
{
    struct kv_pending *p = pending_new(kv, req, verb);
    bool serializable = false;
    int i, first_opt = verb == KV_GET ? 2 : 3, rc;

    if (argc < first_opt) {
        api_req_error(req, 400, "BadRequest", "usage: kv %s KEY%s [options]",
                      verb == KV_GET ? "get" : "range", verb == KV_GET ? "" : " END|+");
        goto out_free;
    }
    p->op.type = MVCC_OP_RANGE;
    p->buf = sk_malloc(2 * (size_t)lens[1] + (verb == KV_RANGE ? lens[2] : 0) + 2);
    memcpy(p->buf, argv[1], lens[1]);
    p->op.key = p->buf;
    p->op.key_len = lens[1];
    if (verb == KV_RANGE) {
        p->op.end = p->buf + lens[1];
        p->op.end_len = api_kv_span_end(argv[1], lens[1], argv[2], lens[2], p->buf + lens[1]);
    }
    for (i = first_opt; i < argc; i++) {
        if (strcmp(argv[i], "serializable") == 0)
            serializable = true;
        else if (verb == KV_RANGE && strcmp(argv[i], "keys-only") == 0)
            p->op.flags |= MVCC_KEYS_ONLY;
        else if (verb == KV_RANGE && strcmp(argv[i], "count-only") == 0)
            p->op.flags |= MVCC_COUNT_ONLY;
        else if ((rc = parse_uint_opt(argv[i], "rev", &p->op.rev)) != 0 ||
                 (verb == KV_RANGE && (rc = parse_uint_opt(argv[i], "limit", &p->op.limit)) != 0)) {
            if (rc < 0) {
                api_req_error(req, 400, "BadRequest", "bad option '%.64s'", argv[i]);
                goto out_free;
            }
        } else {
            api_req_error(req, 400, "BadRequest", "unknown option '%.64s'", argv[i]);
            goto out_free;
        }
    }
    if (serializable)
        answer_range(p);
    else
        store_read_barrier(kv->s, on_read_barrier, p);
    return;
out_free:
    pending_free(p);
}

/* ---- writes ---- */

static void
answer_prev(struct kv_pending *p, const struct mvcc_result *res, const char *extra)
{
    struct sk_buf body = SK_BUF_INIT;
    const struct mvcc_op_result *op = res->nops ? &res->ops[0] : NULL;
    size_t i, n = 0;

    if (p->flags & MVCC_PREV_KV && op) {
        for (i = 0; i < op->nkvs; i++, n++) {
            api_kv_json(&body, &op->kvs[i]);
            sk_buf_putc(&body, '\n');
        }
    }
    api_req_ok(p->req, n, body.data, "rev=%" PRId64 "%s", res->rev, extra);
    sk_buf_release(&body);
}

static void txn_answer(struct kv_pending *p, const struct mvcc_result *res);

static void
on_write_done(void *arg, const struct mvcc_result *res, const struct sk_err *err)
{
    struct kv_pending *p = arg;
    char extra[64];

    if (err) {
        reply_err(p->req, err, p->verb == KV_TXN);
        pending_free(p);
        return;
    }
    switch (p->verb) {
    case KV_PUT:
        answer_prev(p, res, "");
        break;
    case KV_DEL:
        snprintf(extra, sizeof(extra), " deleted=%" PRId64, res->nops ? res->ops[0].count : 0);
        answer_prev(p, res, extra);
        break;
    case KV_COMPACT:
        api_req_ok(p->req, 0, NULL, "rev=%" PRId64 " compacted=%" PRId64, res->rev, p->arg);
        break;
    case KV_TXN:
        txn_answer(p, res);
        break;
    }
    pending_free(p);
}

static void
propose(struct api_kv *kv, struct kv_pending *p, struct sk_buf *cmd)
{
    store_write(kv->s, cmd->data, cmd->len, on_write_done, p);
}

/* kv put KEY VALUE [prev] */
static void
kv_put(struct api_kv *kv, struct api_req *req, char **argv, uint32_t *lens, int argc)
{
    struct sk_buf cmd = SK_BUF_INIT;
    struct kv_pending *p;
    unsigned flags = 0;

    if (argc == 4 && strcmp(argv[3], "prev") == 0)
        flags = MVCC_PREV_KV;
    else if (argc != 3) {
        api_req_error(req, 400, "BadRequest", "usage: kv put KEY VALUE [prev]");
        return;
    }
    if (!lens[1] || !api_kv_utf8_ok(argv[1], lens[1]) || !api_kv_utf8_ok(argv[2], lens[2])) {
        api_req_error(req, 400, "BadRequest",
                      lens[1] ? "keys and values must be valid UTF-8" : "empty key");
        return;
    }
    p = pending_new(kv, req, KV_PUT);
    p->flags = flags;
    mvcc_cmd_encode_put(&cmd, argv[1], lens[1], argv[2], lens[2], flags);
    propose(kv, p, &cmd);
    sk_buf_release(&cmd);
}

/* kv del KEY [END|+] [prev] */
static void
kv_del(struct api_kv *kv, struct api_req *req, char **argv, uint32_t *lens, int argc)
{
    struct sk_buf cmd = SK_BUF_INIT;
    struct kv_pending *p;
    unsigned flags = 0;
    char *end = NULL;
    uint32_t end_len = 0;

    if (argc > 2 && strcmp(argv[argc - 1], "prev") == 0) {
        flags = MVCC_PREV_KV;
        argc--;
    }
    if (argc < 2 || argc > 3 || !lens[1]) {
        api_req_error(req, 400, "BadRequest", "usage: kv del KEY [END|+] [prev]");
        return;
    }
    if (argc == 3) {
        end = sk_malloc((size_t)lens[1] + lens[2] + 1);
        end_len = api_kv_span_end(argv[1], lens[1], argv[2], lens[2], end);
    }
    p = pending_new(kv, req, KV_DEL);
    p->flags = flags;
    mvcc_cmd_encode_delete(&cmd, argv[1], lens[1], end, end_len, flags);
    free(end);
    propose(kv, p, &cmd);
    sk_buf_release(&cmd);
}

/* kv compact REV */
static void
kv_compact(struct api_kv *kv, struct api_req *req, char **argv, int argc)
{
    struct sk_buf cmd = SK_BUF_INIT;
    struct kv_pending *p;
    char *end;
    long long rev;

    errno = 0;
    rev = argc == 2 ? strtoll(argv[1], &end, 10) : 0;
    if (argc != 2 || errno || *end || rev <= 0) {
        api_req_error(req, 400, "BadRequest", "usage: kv compact REV (a revision > 0)");
        return;
    }
    p = pending_new(kv, req, KV_COMPACT);
    p->arg = rev;
    mvcc_cmd_encode_compact(&cmd, rev);
    propose(kv, p, &cmd);
    sk_buf_release(&cmd);
}

/* ---- txn ---- */

struct txn_parse {
    struct mvcc_cmp cmps[64];
    struct mvcc_op ops[2][128];
    size_t ncmps, nops[2];
    char *ends; /* room for every end of a "+" span */
    size_t ends_used;
    struct sk_err err;
};

static int
txn_str(json_t *o, const char *name, bool required, const char **s, uint32_t *len,
        struct txn_parse *tp)
{
    json_t *v = json_object_get(o, name);

    if (!v) {
        *s = "";
        *len = 0;
        return required ? sk_err_set(&tp->err, EINVAL, "\"%s\" missing", name) : 0;
    }
    if (!json_is_string(v))
        return sk_err_set(&tp->err, EINVAL, "\"%s\" must be a string", name);
    *s = json_string_value(v);
    *len = (uint32_t)json_string_length(v);
    return 0;
}

static int
txn_span(json_t *o, const char **key, uint32_t *klen, const char **end, uint32_t *elen,
         struct txn_parse *tp)
{
    const char *e;
    uint32_t el;

    if (txn_str(o, "key", true, key, klen, tp) < 0 || txn_str(o, "end", false, &e, &el, tp) < 0)
        return -1;
    if (el == 1 && e[0] == '+') {
        char *dst = tp->ends + tp->ends_used;

        el = api_kv_span_end(*key, *klen, e, el, dst);
        tp->ends_used += *klen + 1;
        e = dst;
    }
    *end = e;
    *elen = el;
    return 0;
}

static int
txn_cmp(json_t *c, struct mvcc_cmp *cmp, struct txn_parse *tp)
{
    static const char *const targets[] = {NULL, "version", "create", "mod", "value"};
    static const char *const ops[] = {NULL, "=", "!=", "<", ">"};
    const char *target = json_string_value(json_object_get(c, "target"));
    const char *op = json_string_value(json_object_get(c, "op"));
    json_t *v = json_object_get(c, "value");
    int i;

    memset(cmp, 0, sizeof(*cmp));
    if (!json_is_object(c) ||
        txn_span(c, &cmp->key, &cmp->key_len, &cmp->end, &cmp->end_len, tp) < 0)
        return sk_err_wrap(&tp->err, "compare");
    for (i = 1; i <= 4; i++) {
        if (target && strcmp(target, targets[i]) == 0)
            cmp->target = (enum mvcc_cmp_target)i;
        if (op && strcmp(op, ops[i]) == 0)
            cmp->result = (enum mvcc_cmp_result)i;
    }
    if (!cmp->target || !cmp->result)
        return sk_err_set(&tp->err, EINVAL, "compare: bad \"target\" or \"op\"");
    if (cmp->target == MVCC_CMP_VALUE) {
        if (!json_is_string(v))
            return sk_err_set(&tp->err, EINVAL, "compare: \"value\" must be a string");
        cmp->value = json_string_value(v);
        cmp->value_len = (uint32_t)json_string_length(v);
    } else {
        if (!json_is_integer(v))
            return sk_err_set(&tp->err, EINVAL, "compare: \"value\" must be an integer");
        cmp->num = json_integer_value(v);
    }
    return 0;
}

static int
txn_op(json_t *o, struct mvcc_op *op, struct txn_parse *tp)
{
    const char *kind;
    json_t *body;
    void *it;

    memset(op, 0, sizeof(*op));
    it = json_is_object(o) && json_object_size(o) == 1 ? json_object_iter(o) : NULL;
    if (!it)
        return sk_err_set(&tp->err, EINVAL, "each operation is one of put, get, del, range");
    kind = json_object_iter_key(it);
    body = json_object_iter_value(it);
    if (!json_is_object(body))
        return sk_err_set(&tp->err, EINVAL, "operation \"%s\" must be an object", kind);
    if (strcmp(kind, "put") == 0) {
        op->type = MVCC_OP_PUT;
        if (txn_str(body, "key", true, &op->key, &op->key_len, tp) < 0 ||
            txn_str(body, "value", true, &op->value, &op->value_len, tp) < 0)
            return -1;
        return 0;
    }
    if (strcmp(kind, "get") == 0 || strcmp(kind, "range") == 0)
        op->type = MVCC_OP_RANGE;
    else if (strcmp(kind, "del") == 0)
        op->type = MVCC_OP_DELETE;
    else
        return sk_err_set(&tp->err, EINVAL, "unknown operation \"%s\"", kind);
    if (txn_span(body, &op->key, &op->key_len, &op->end, &op->end_len, tp) < 0)
        return -1;
    if (op->type == MVCC_OP_RANGE && json_is_integer(json_object_get(body, "limit")))
        op->limit = json_integer_value(json_object_get(body, "limit"));
    return 0;
}

static int
txn_parse(json_t *root, struct txn_parse *tp)
{
    static const char *const branches[] = {"success", "failure"};
    json_t *arr = json_object_get(root, "compare"), *v;
    size_t i, b;

    if (!json_is_object(root))
        return sk_err_set(&tp->err, EINVAL, "txn must be a JSON object");
    if (arr && !json_is_array(arr))
        return sk_err_set(&tp->err, EINVAL, "\"compare\" must be an array");
    if (json_array_size(arr) > 64)
        return sk_err_set(&tp->err, EINVAL, "at most 64 compares");
    json_array_foreach (arr, i, v)
        if (txn_cmp(v, &tp->cmps[tp->ncmps++], tp) < 0)
            return -1;
    for (b = 0; b < 2; b++) {
        arr = json_object_get(root, branches[b]);
        if (arr && !json_is_array(arr))
            return sk_err_set(&tp->err, EINVAL, "\"%s\" must be an array", branches[b]);
        if (json_array_size(arr) > 128)
            return sk_err_set(&tp->err, EINVAL, "at most 128 operations in \"%s\"", branches[b]);
        json_array_foreach (arr, i, v)
            if (txn_op(v, &tp->ops[b][tp->nops[b]++], tp) < 0)
                return -1;
    }
    return 0;
}

/* kv txn JSON */
static void
kv_txn(struct api_kv *kv, struct api_req *req, char *json, uint32_t len)
{
    struct txn_parse *tp = sk_calloc(1, sizeof(*tp));
    struct sk_buf cmd = SK_BUF_INIT;
    struct mvcc_txn txn;
    json_t *root = NULL;

    sk_err_init(&tp->err);
    tp->ends = sk_malloc((size_t)len + 1024);
    if (sk_json_parse(json, len, &root, &tp->err) < 0 || txn_parse(root, tp) < 0) {
        api_req_error(req, 400, "BadRequest", "txn: %s", tp->err.msg);
        goto out;
    }
    txn = (struct mvcc_txn){tp->cmps, tp->ncmps, tp->ops[0], tp->nops[0], tp->ops[1], tp->nops[1]};
    mvcc_cmd_encode_txn(&cmd, &txn);
    propose(kv, pending_new(kv, req, KV_TXN), &cmd);
out:
    json_decref(root);
    sk_buf_release(&cmd);
    free(tp->ends);
    free(tp);
}

static void
txn_answer(struct kv_pending *p, const struct mvcc_result *res)
{
    struct sk_buf body = SK_BUF_INIT;
    size_t i, k;

    sk_buf_printf(&body, "{\"succeeded\":%s,\"revision\":%" PRId64 ",\"responses\":[",
                  res->succeeded ? "true" : "false", res->rev);
    for (i = 0; i < res->nops; i++) {
        const struct mvcc_op_result *op = &res->ops[i];

        if (i)
            sk_buf_putc(&body, ',');
        if (op->type == MVCC_OP_PUT) {
            sk_buf_puts(&body, "{\"put\":{}}");
        } else if (op->type == MVCC_OP_DELETE) {
            sk_buf_printf(&body, "{\"del\":{\"deleted\":%" PRId64 "}}", op->count);
        } else {
            sk_buf_puts(&body, "{\"range\":{\"kvs\":[");
            for (k = 0; k < op->nkvs; k++) {
                if (k)
                    sk_buf_putc(&body, ',');
                api_kv_json(&body, &op->kvs[k]);
            }
            sk_buf_printf(&body, "],\"more\":%s}}", op->more ? "true" : "false");
        }
    }
    sk_buf_puts(&body, "]}\n");
    api_req_ok(p->req, 1, body.data, "rev=%" PRId64 " succeeded=%s", res->rev,
               res->succeeded ? "true" : "false");
    sk_buf_release(&body);
}

/* ---- status and members ---- */

static void
kv_status(struct api_kv *kv, struct api_req *req)
{
    struct store_status st;
    struct sk_buf body = SK_BUF_INIT;

    store_status(kv->s, &st);
    sk_buf_puts(&body, "{\"name\":");
    json_str(&body, st.name, (uint32_t)strlen(st.name));
    sk_buf_printf(&body, ",\"id\":\"%016" PRIx64 "\",\"leader\":", st.id);
    json_str(&body, st.leader, (uint32_t)strlen(st.leader));
    sk_buf_printf(&body,
                  ",\"term\":%" PRIu64 ",\"commit\":%" PRIu64 ",\"applied\":%" PRIu64
                  ",\"revision\":%" PRId64 ",\"compact_revision\":%" PRId64 ",\"db_size\":%" PRIu64
                  ",\"raft_log_first\":%" PRIu64 ",\"raft_log_last\":%" PRIu64
                  ",\"role\":\"%s\",\"last_error\":",
                  st.term, st.commit, st.applied, st.revision, st.compact_revision, st.db_size,
                  st.log_first, st.log_last, st.role);
    json_str(&body, st.last_error, (uint32_t)strlen(st.last_error));
    sk_buf_puts(&body, "}\n");
    api_req_ok(req, 1, body.data, "rev=%" PRId64, st.revision);
    sk_buf_release(&body);
}

static void
members_answer(void *arg, const struct store_member *m, size_t n)
{
    struct api_req *req = arg;
    struct sk_buf body = SK_BUF_INIT, head;
    size_t i;

    for (i = 0; i < n; i++) {
        sk_buf_puts(&body, "{\"name\":");
        json_str(&body, m[i].name, (uint32_t)strlen(m[i].name));
        sk_buf_printf(&body, ",\"id\":\"%016" PRIx64 "\",\"peer\":", m[i].id);
        json_str(&body, m[i].peer, (uint32_t)strlen(m[i].peer));
        sk_buf_printf(&body, ",\"voter\":%s,\"leader\":%s,\"match\":%" PRIu64,
                      m[i].voter ? "true" : "false", m[i].leader ? "true" : "false", m[i].match);
        /* Progress is the leader's view; elsewhere it is unknown. */
        if (m[i].progress)
            sk_buf_printf(&body,
                          ",\"next\":%" PRIu64 ",\"lag\":%" PRIu64
                          ",\"state\":\"%s\",\"active\":%s}\n",
                          m[i].next, m[i].lag, m[i].state, m[i].active ? "true" : "false");
        else
            sk_buf_puts(&body, ",\"next\":null,\"lag\":null,\"state\":null,\"active\":null}\n");
    }
    sk_buf_init(&head);
    sk_buf_printf(&head, "ok %zu\n", n);
    sk_buf_append(&head, body.data, body.len);
    api_req_reply(req, head.data, head.len);
    sk_buf_release(&head);
    sk_buf_release(&body);
}

/* On a follower the progress fields come from the leader. */
static void
kv_members(struct api_kv *kv, struct api_req *req)
{
    store_members_progress(kv->s, members_answer, req);
}

/* kv member-add NAME HOST:PORT | member-promote NAME | member-remove NAME */
static void
on_member_done(void *arg, const struct mvcc_result *res, const struct sk_err *err)
{
    struct api_req *req = arg;

    if (err)
        reply_err(req, err, false);
    else
        api_req_reply(req, "ok 0\n", 5);
}

static void
kv_member(struct api_kv *kv, struct api_req *req, char **argv, int argc)
{
    const char *op = argv[0] + 7;
    bool add = strcmp(op, "add") == 0;

    if ((!add && strcmp(op, "promote") != 0 && strcmp(op, "remove") != 0) ||
        argc != (add ? 3 : 2)) {
        api_req_error(req, 400, "BadRequest",
                      "usage: kv member-add NAME HOST:PORT | member-promote NAME | member-remove "
                      "NAME");
        return;
    }
    store_member_change(kv->s, op, argv[1], add ? argv[2] : "", on_member_done, req);
}

/* kv snapshot-save PATH: local administrators only, the file is
 * written on the server's file system. */
static void
kv_snapshot_save(struct api_kv *kv, struct api_req *req, char **argv, uint32_t *lens, int argc)
{
    const struct api_peer *peer = api_req_peer(req);
    struct sk_err err;
    int64_t rev;

    if (argc != 2 || argv[1][0] != '/' || strlen(argv[1]) != lens[1]) {
        api_req_error(req, 400, "BadRequest", "usage: kv snapshot-save /ABSOLUTE/PATH");
        return;
    }
    if (!peer->local) {
        api_req_error(req, 403, "Forbidden", "snapshot-save is for local administrators only");
        return;
    }
    sk_err_init(&err);
    rev = store_snapshot_save(kv->s, argv[1], &err);
    if (rev < 0) {
        api_req_error(req, 500, "InternalError", "%s", err.msg);
        return;
    }
    api_req_ok(req, 0, NULL, "rev=%" PRId64 " path=%s", rev, argv[1]);
}

/* ---- watch ---- */

struct kv_watch {
    struct api_kv *kv;
    struct api_req *req; /* NULL until the stream began */
    struct store_watch *w;
    struct sk_buf pre; /* history delivered before the stream began */
    struct sk_buf line;
    bool prev, cut, sent;
    int64_t last_rev;
    uint64_t timer;
    struct kv_watch *prev_w, *next_w; /* in api_kv.watches */
};

static void
watch_detach(struct kv_watch *kw)
{
    if (!kw->kv)
        return;
    if (kw->timer)
        sk_loop_timer_cancel(kw->kv->loop, kw->timer);
    kw->timer = 0;
    store_watch_cancel(kw->w);
    kw->w = NULL;
    if (kw->prev_w)
        kw->prev_w->next_w = kw->next_w;
    else
        kw->kv->watches = kw->next_w;
    if (kw->next_w)
        kw->next_w->prev_w = kw->prev_w;
    kw->kv = NULL;
}

static void
watch_free(struct kv_watch *kw)
{
    watch_detach(kw);
    sk_buf_release(&kw->pre);
    sk_buf_release(&kw->line);
    free(kw);
}

static void
watch_line(struct kv_watch *kw, const struct mvcc_event *ev)
{
    struct mvcc_kv kv = ev->kv;

    sk_buf_reset(&kw->line);
    if (ev->type == MVCC_EVENT_DELETE) {
        kv.value = NULL;
        kv.create_rev = 0;
        kv.version = 0;
        sk_buf_puts(&kw->line, "DELETE ");
    } else {
        sk_buf_puts(&kw->line, "PUT ");
    }
    api_kv_json(&kw->line, &kv);
    if (kw->prev && ev->has_prev) {
        sk_buf_putc(&kw->line, ' ');
        api_kv_json(&kw->line, &ev->prev);
    }
    sk_buf_putc(&kw->line, '\n');
}

static int
on_watch_event(void *arg, const struct mvcc_event *ev)
{
    struct kv_watch *kw = arg;
    char msg[128];
    int n;

    if (kw->cut)
        return 1;
    watch_line(kw, ev);
    if (!kw->req) {
        sk_buf_append(&kw->pre, kw->line.data, kw->line.len);
        kw->last_rev = ev->rev;
        return 0;
    }
    /* Cut a slow reader at a revision boundary, so resuming from the
     * revision named neither loses nor repeats an event. */
    if (ev->rev != kw->last_rev && api_req_stream_pending(kw->req) > KV_WATCH_MAX_QUEUED) {
        n = snprintf(msg, sizeof(msg), "error 410 Gone watcher too slow, resume rev=%" PRId64 "\n",
                     ev->rev);
        api_req_stream_write(kw->req, msg, (size_t)n);
        kw->cut = true;
        api_req_stream_end(kw->req);
        kw->req = NULL;
        watch_free(kw);
        return 1;
    }
    kw->last_rev = ev->rev;
    kw->sent = true;
    api_req_stream_write(kw->req, kw->line.data, kw->line.len);
    return 0;
}

static void
on_watch_progress(struct sk_loop *loop, void *arg)
{
    struct kv_watch *kw = arg;
    char msg[64];
    int n;

    kw->timer = sk_loop_timer_add(loop, KV_PROGRESS_MS, on_watch_progress, kw);
    if (!kw->sent) {
        n = snprintf(msg, sizeof(msg), "PROGRESS rev=%" PRId64 "\n", store_rev(kw->kv->s));
        api_req_stream_write(kw->req, msg, (size_t)n);
    }
    kw->sent = false;
}

static void
on_watch_close(struct api_req *req, void *arg)
{
    watch_free(arg);
}

/* kv watch KEY [END|+] [rev=R] [prev] */
static void
kv_watch(struct api_kv *kv, struct api_req *req, char **argv, uint32_t *lens, int argc)
{
    struct kv_watch *kw;
    struct sk_buf head = SK_BUF_INIT;
    struct sk_err err;
    int64_t rev = 0, resume = 0;
    char *end = NULL;
    uint32_t end_len = 0;
    bool prev = false;
    int i, rc;

    if (argc < 2) {
        api_req_error(req, 400, "BadRequest", "usage: kv watch KEY [END|+] [rev=R] [prev]");
        return;
    }
    end = sk_malloc((size_t)lens[1] + (argc > 2 ? lens[2] : 0) + 2);
    i = 2;
    if (argc > 2 && strcmp(argv[2], "prev") != 0 && strncmp(argv[2], "rev=", 4) != 0) {
        end_len = api_kv_span_end(argv[1], lens[1], argv[2], lens[2], end);
        i = 3;
    }
    for (; i < argc; i++) {
        if (strcmp(argv[i], "prev") == 0)
            prev = true;
        else if (parse_uint_opt(argv[i], "rev", &rev) <= 0) {
            api_req_error(req, 400, "BadRequest", "bad option '%.64s'", argv[i]);
            free(end);
            return;
        }
    }
    kw = sk_calloc(1, sizeof(*kw));
    kw->kv = kv;
    kw->prev = prev;
    kw->next_w = kv->watches;
    if (kv->watches)
        kv->watches->prev_w = kw;
    kv->watches = kw;
    sk_err_init(&err);
    rc = store_watch_start(kv->s, argv[1], lens[1], end, end_len, rev, on_watch_event, kw, &kw->w,
                           &resume, &err);
    free(end);
    if (rc < 0) {
        if (err.code == MVCC_ECOMPACTED)
            api_req_error(req, 410, "Gone", "compacted, resume from %" PRId64, resume);
        else
            reply_err(req, &err, false);
        watch_free(kw);
        return;
    }
    sk_buf_printf(&head, "ok watch rev=%" PRId64 "\n", store_rev(kv->s));
    sk_buf_append(&head, kw->pre.data, kw->pre.len);
    sk_buf_release(&kw->pre);
    kw->req = req;
    kw->timer = sk_loop_timer_add(kv->loop, KV_PROGRESS_MS, on_watch_progress, kw);
    api_req_stream_begin(req, head.data, head.len, on_watch_close, kw);
    sk_buf_release(&head);
}

/* ---- dispatch ---- */

/* The raw store bypasses every object rule, so only cluster
 * administrators may use it: the group that Kubernetes's bootstrap
 * policy binds to cluster-admin (local root is in it, see authn.c). */
static bool
admin_ok(const struct api_peer *peer)
{
    return peer->authenticated && api_peer_in_group(peer, "system:masters");
}

static void
kv_handle(struct api_req *req, char *args, void *arg)
{
    struct api_kv *kv = arg;
    char *argv[API_KV_MAX_ARGS];
    uint32_t lens[API_KV_MAX_ARGS];
    int argc;

    if (!admin_ok(api_req_peer(req))) {
        api_req_error(req, 403, "Forbidden",
                      "User \"%s\" cannot use the kv verbs: they are for the group system:masters",
                      api_req_peer(req)->user);
        return;
    }
    if (strncmp(args, "txn ", 4) == 0) {
        char *json = args + 4;
        uint32_t len;

        while (*json == ' ')
            json++;
        if (decode(json, &len) < 0) {
            api_req_error(req, 400, "BadRequest", "malformed percent escape");
            return;
        }
        kv_txn(kv, req, json, len);
        return;
    }
    argc = api_kv_split(args, argv, lens, API_KV_MAX_ARGS);
    if (argc < 1) {
        api_req_error(req, 400, "BadRequest",
                      argc < 0 ? "too many arguments or a malformed percent escape"
                               : "usage: kv get|put|del|range|txn|watch|compact|status|members");
        return;
    }
    if (strcmp(argv[0], "put") == 0)
        kv_put(kv, req, argv, lens, argc);
    else if (strcmp(argv[0], "get") == 0)
        kv_read(kv, req, KV_GET, argv, lens, argc);
    else if (strcmp(argv[0], "range") == 0)
        kv_read(kv, req, KV_RANGE, argv, lens, argc);
    else if (strcmp(argv[0], "del") == 0)
        kv_del(kv, req, argv, lens, argc);
    else if (strcmp(argv[0], "compact") == 0)
        kv_compact(kv, req, argv, argc);
    else if (strcmp(argv[0], "watch") == 0)
        kv_watch(kv, req, argv, lens, argc);
    else if (strcmp(argv[0], "status") == 0)
        kv_status(kv, req);
    else if (strcmp(argv[0], "members") == 0)
        kv_members(kv, req);
    else if (strncmp(argv[0], "member-", 7) == 0)
        kv_member(kv, req, argv, argc);
    else if (strcmp(argv[0], "snapshot-save") == 0)
        kv_snapshot_save(kv, req, argv, lens, argc);
    else
        api_req_error(req, 400, "BadRequest", "unknown kv verb '%.64s'", argv[0]);
}

/* Writes go through the Raft log in submission order, so one
 * connection's pipelined writes may be in flight together; reads,
 * watches and membership changes wait for what came before them. */
static bool
kv_pipelinable(const char *args)
{
    static const char *const writes[] = {"put ", "del ", "txn ", "compact "};
    size_t i;

    args += strspn(args, " ");
    for (i = 0; i < sizeof(writes) / sizeof(writes[0]); i++)
        if (strncmp(args, writes[i], strlen(writes[i])) == 0)
            return true;
    return false;
}

struct api_kv *
api_kv_register(struct api_server *srv, struct sk_loop *loop, struct store *s)
{
    struct api_kv *kv = sk_calloc(1, sizeof(*kv));

    kv->s = s;
    kv->loop = loop;
    api_server_handle(srv, "kv", kv_handle, kv, false);
    api_server_set_pipelinable(srv, "kv", kv_pipelinable);
    return kv;
}

void
api_kv_free(struct api_kv *kv)
{
    /* Connections still flushing close later, maybe after the store is
     * gone: cut their watches loose now. */
    if (!kv)
        return;
    while (kv->watches)
        watch_detach(kv->watches);
    free(kv);
}
