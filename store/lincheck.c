/* Histories for the linearizability checker: building them in C, and
 * the history file format, parsed and written here.
 *
 * History file format
 * -------------------
 * Text, one record a line. Fields are separated by spaces or tabs. A line
 * that is empty or whose first non-blank character is `#` is ignored.
 *
 *     init KEY VALUE
 *         KEY starts with VALUE instead of absent. Only before the first
 *         operation; at most once per key.
 *
 *     CLIENT INVOKE RETURN OP KEY [ARG...] -> RESULT
 *         CLIENT  any token naming the client; one client's operations
 *                 must not overlap in time (each waits for its answer).
 *         INVOKE  decimal ns when the request was sent (>= 0; any epoch,
 *                 but one clock for all clients: CLOCK_MONOTONIC on one
 *                 machine).
 *         RETURN  decimal ns when the answer arrived, >= INVOKE; or `-`
 *                 when there was none (RESULT `?` only). A `?` op may also
 *                 carry the time its client gave up: that only frees the
 *                 client for its next op, the op itself may still take
 *                 effect later.
 *         OP, its arguments and RESULTs:
 *           put KEY VALUE     -> ok | fail | ?
 *           get KEY           -> VALUE | <nil> | fail | ?
 *           del KEY           -> ok | fail | ?
 *           cas KEY OLD NEW   -> ok | cmpfail | fail | ?
 *
 * Results: `ok` the write was acknowledged (a get's result is the value
 * read, `<nil>` when the key was absent); `fail` an error after which the
 * op is known not to have been applied (e.g. refused before it was
 * proposed); `?` unknown (timeout, lost connection): applied at some
 * instant after INVOKE, or never; `cmpfail` a cas whose compare did not
 * hold, a valid observation that the value differed from OLD. Gets that
 * `fail` or are `?` observe nothing and are ignored, as are writes that
 * `fail`. A cas OLD of `<nil>` expects the key absent (create-if-absent);
 * a NEW of `<nil>` deletes it. A del of an absent key is `ok`.
 *
 * Tokens (CLIENT, KEY, VALUE, OLD, NEW) are percent-encoded: `%XX` (two
 * hex digits) stands for that byte, so `%20` is a space and `%25` a
 * percent sign; %00 is not allowed. Written literally, `<nil>` means
 * absent and `<empty>` the empty string; the words `->`, `fail`, `?` and
 * `cmpfail` are results where a result is expected. A value spelled like
 * one of these is written with an escape (`%3Cnil%3E`, `%66ail`), as
 * lincheck_op_format() does.
 *
 * Example:
 *
 *     init x 1
 *     c1 100 250 put x 2 -> ok
 *     c2 120 300 get x -> 1          # concurrent with the put: fine
 *     c2 310 -   cas x 2 3 -> ?      # timed out
 *     c3 400 420 get x -> 3          # so the cas did take effect
 */
#include "store/lincheck.h"

#include "lib/alloc.h"
#include "lib/quote.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NIL_TOKEN   "<nil>"
#define EMPTY_TOKEN "<empty>"

void
lincheck_history_init(struct lincheck_history *h)
{
    memset(h, 0, sizeof(*h));
}

static void
op_free_strings(struct lincheck_op *op)
{
    free((char *)op->client);
    free((char *)op->key);
    free((char *)op->value);
    free((char *)op->old);
}

void
lincheck_history_release(struct lincheck_history *h)
{
    size_t i;

    for (i = 0; i < h->nops; i++)
        op_free_strings(&h->ops[i]);
    for (i = 0; i < h->ninits; i++) {
        free(h->inits[i].key);
        free(h->inits[i].value);
    }
    free(h->ops);
    free(h->inits);
    lincheck_history_init(h);
}

static char *
dup_or_null(const char *s)
{
    return s ? sk_strdup(s) : NULL;
}

/* What lincheck_history_add() refuses, as a message, or NULL. */
static const char *
op_problem(const struct lincheck_op *op)
{
    if (!op->client || !op->client[0])
        return "client name is empty";
    if (!op->key || !op->key[0])
        return "key is empty";
    if (op->invoke < 0 || op->invoke == LINCHECK_NO_RETURN)
        return "invoke time out of range";
    if (op->ret == LINCHECK_NO_RETURN && op->outcome != LINCHECK_UNKNOWN)
        return "only an unknown ('?') result may lack a return time";
    if (op->ret < op->invoke)
        return "returns before it is invoked";
    if (op->outcome == LINCHECK_CMPFAIL && op->kind != LINCHECK_CAS)
        return "only a cas can fail its compare";
    if (op->kind == LINCHECK_PUT && !op->value)
        return "put needs a value (use del to remove a key)";
    if (op->kind > LINCHECK_CAS || op->outcome > LINCHECK_CMPFAIL)
        return "unknown op or outcome";
    return NULL;
}

static void
op_describe(const struct lincheck_op *op, size_t index, const char *name, struct sk_buf *buf)
{
    if (op->line && name)
        sk_buf_printf(buf, "%s:%u", name, op->line);
    else if (op->line)
        sk_buf_printf(buf, "line %u", op->line);
    else
        sk_buf_printf(buf, "op #%zu", index + 1);
}

int
lincheck_history_add(struct lincheck_history *h, const struct lincheck_op *op, struct sk_err *err)
{
    const char *problem = op_problem(op);
    struct lincheck_op *copy;

    if (problem) {
        struct sk_buf where = SK_BUF_INIT;
        int rc;

        op_describe(op, h->nops, NULL, &where);
        rc = sk_err_set(err, EINVAL, "%s: %s", where.data, problem);
        sk_buf_release(&where);
        return rc;
    }
    if (h->nops == h->opcap) {
        h->opcap = h->opcap ? 2 * h->opcap : 64;
        h->ops = sk_reallocarray(h->ops, h->opcap, sizeof(*h->ops));
    }
    copy = &h->ops[h->nops++];
    *copy = *op;
    copy->client = sk_strdup(op->client);
    copy->key = sk_strdup(op->key);
    copy->value = dup_or_null(op->value);
    copy->old = dup_or_null(op->old);
    return 0;
}

int
lincheck_history_set_init(struct lincheck_history *h, const char *key, const char *value,
                          unsigned line, struct sk_err *err)
{
    struct lincheck_init *in;
    size_t i;

    if (!key || !key[0])
        return sk_err_set(err, EINVAL, "init: key is empty");
    for (i = 0; i < h->ninits; i++) {
        if (strcmp(h->inits[i].key, key) == 0)
            return sk_err_set(err, EINVAL, "init: key '%s' already has an initial value", key);
    }
    if (h->ninits == h->initcap) {
        h->initcap = h->initcap ? 2 * h->initcap : 8;
        h->inits = sk_reallocarray(h->inits, h->initcap, sizeof(*h->inits));
    }
    in = &h->inits[h->ninits++];
    in->key = sk_strdup(key);
    in->value = dup_or_null(value);
    in->line = line;
    return 0;
}

/* --- one client's ops must not overlap ------------------------------------ */

static int
cmp_by_client_invoke(const void *a, const void *b, void *arg)
{
    const struct lincheck_op *ops = arg;
    const struct lincheck_op *x = &ops[*(const size_t *)a], *y = &ops[*(const size_t *)b];
    int c = strcmp(x->client, y->client);

    if (c)
        return c;
    if (x->invoke != y->invoke)
        return x->invoke < y->invoke ? -1 : 1;
    return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

static int
validate(const struct lincheck_history *h, const char *name, struct sk_err *err)
{
    size_t *order, i;
    int rc = 0;

    if (h->nops < 2)
        return 0;
    order = sk_reallocarray(NULL, h->nops, sizeof(*order));
    for (i = 0; i < h->nops; i++)
        order[i] = i;
    qsort_r(order, h->nops, sizeof(*order), cmp_by_client_invoke, h->ops);
    for (i = 1; i < h->nops; i++) {
        const struct lincheck_op *a = &h->ops[order[i - 1]], *b = &h->ops[order[i]];
        struct sk_buf wa = SK_BUF_INIT, wb = SK_BUF_INIT;

        /* Back to back (b sent as a's answer came) is fine; so is
         * anything after a '?' op without a return time. */
        if (strcmp(a->client, b->client) != 0 || b->invoke >= a->ret)
            continue;
        if (a->outcome == LINCHECK_UNKNOWN && a->ret == LINCHECK_NO_RETURN)
            continue;
        op_describe(b, order[i], name, &wb);
        op_describe(a, order[i - 1], NULL, &wa);
        rc = sk_err_set(err, EINVAL, "%s: client '%s' overlaps its own op at %s", wb.data,
                        b->client, wa.data);
        sk_buf_release(&wa);
        sk_buf_release(&wb);
        break;
    }
    free(order);
    return rc;
}

int
lincheck_history_validate(const struct lincheck_history *h, struct sk_err *err)
{
    return validate(h, NULL, err);
}

/* --- parsing ----------------------------------------------------------------- */

#define MAX_FIELDS 10

struct parser {
    const char *name;
    unsigned line;
    int seen_op;
    struct lincheck_history *h;
    struct sk_err *err;
};

static int parse_fail(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
parse_fail(struct parser *p, const char *fmt, ...)
{
    char msg[SK_ERR_MSG_MAX / 2];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return sk_err_set(p->err, EINVAL, "%s:%u: %s", p->name, p->line, msg);
}

/* Decode a token in place. `<nil>` gives NULL via *is_nil when allowed. */
static int
decode_token(struct parser *p, char *tok, int nil_ok, int *is_nil)
{
    *is_nil = 0;
    if (strcmp(tok, NIL_TOKEN) == 0) {
        if (!nil_ok)
            return parse_fail(p, "%s is not allowed here", NIL_TOKEN);
        *is_nil = 1;
        return 0;
    }
    if (strcmp(tok, EMPTY_TOKEN) == 0) {
        tok[0] = '\0';
        return 0;
    }
    switch (sk_percent_decode(tok, false)) {
    case SK_PCT_MALFORMED:
        return parse_fail(p, "bad percent escape in '%s'", tok);
    case SK_PCT_NUL:
        return parse_fail(p, "%%00 is not allowed in '%s'", tok);
    default:
        return 0;
    }
}

static int
parse_time(struct parser *p, const char *tok, const char *what, int64_t *out)
{
    int64_t v = 0;
    const char *s;

    if (!*tok)
        return parse_fail(p, "%s time is empty", what);
    for (s = tok; *s; s++) {
        if (*s < '0' || *s > '9')
            return parse_fail(p, "%s time '%.40s' is not a decimal number", what, tok);
        if (v > (INT64_MAX - 1 - (*s - '0')) / 10)
            return parse_fail(p, "%s time '%.40s' is out of range", what, tok);
        v = v * 10 + (*s - '0');
    }
    *out = v;
    return 0;
}

static int
split_fields(char *line, char **fields)
{
    int n = 0;
    char *s = line;

    for (;;) {
        while (*s == ' ' || *s == '\t' || *s == '\r')
            s++;
        if (!*s || *s == '#')
            return n;
        if (n == MAX_FIELDS)
            return n + 1;
        fields[n++] = s;
        while (*s && *s != ' ' && *s != '\t' && *s != '\r')
            s++;
        if (*s)
            *s++ = '\0';
    }
}

static int
parse_init(struct parser *p, char **f, int n)
{
    int nil, rc;

    if (p->seen_op)
        return parse_fail(p, "init lines must come before the first op");
    if (n != 3)
        return parse_fail(p, "%s", "init wants: init KEY VALUE");
    rc = decode_token(p, f[1], 0, &nil);
    if (rc == 0)
        rc = decode_token(p, f[2], 1, &nil);
    if (rc < 0)
        return rc;
    if (!f[1][0])
        return parse_fail(p, "%s", "init: key is empty");
    rc = lincheck_history_set_init(p->h, f[1], nil ? NULL : f[2], p->line, p->err);
    if (rc < 0)
        return sk_err_wrap(p->err, "%s:%u", p->name, p->line);
    return 0;
}

struct op_syntax {
    const char *name;
    enum lincheck_kind kind;
    int nargs; /* after KEY */
    const char *usage;
};

static const struct op_syntax op_syntaxes[] = {
    {"put", LINCHECK_PUT, 1, "put KEY VALUE -> ok|fail|?"},
    {"get", LINCHECK_GET, 0, "get KEY -> VALUE|<nil>|fail|?"},
    {"del", LINCHECK_DEL, 0, "del KEY -> ok|fail|?"},
    {"cas", LINCHECK_CAS, 2, "cas KEY OLD NEW -> ok|cmpfail|fail|?"},
};

/* The RESULT token of an op line into op (a get's value is decoded). */
static int
parse_result(struct parser *p, const struct op_syntax *syn, char *tok, struct lincheck_op *op)
{
    int nil, rc;

    if (strcmp(tok, "?") == 0) {
        op->outcome = LINCHECK_UNKNOWN;
        return 0;
    }
    if (strcmp(tok, "fail") == 0) {
        op->outcome = LINCHECK_FAIL;
        return 0;
    }
    op->outcome = LINCHECK_OK;
    if (syn->kind == LINCHECK_GET) {
        rc = decode_token(p, tok, 1, &nil);
        op->value = nil ? NULL : tok;
        return rc;
    }
    if (syn->kind == LINCHECK_CAS && strcmp(tok, "cmpfail") == 0) {
        op->outcome = LINCHECK_CMPFAIL;
        return 0;
    }
    if (strcmp(tok, "ok") == 0)
        return 0;
    return parse_fail(p, "result '%.40s' of %s; wants: %s", tok, syn->name, syn->usage);
}

static int
parse_args(struct parser *p, const struct op_syntax *syn, char **f, struct lincheck_op *op)
{
    int nil, rc;

    rc = decode_token(p, f[0], 0, &nil); /* KEY */
    if (rc < 0)
        return rc;
    if (!f[0][0])
        return parse_fail(p, "%s", "key is empty");
    op->key = f[0];
    if (syn->kind == LINCHECK_PUT) {
        rc = decode_token(p, f[1], 0, &nil);
        op->value = f[1];
    } else if (syn->kind == LINCHECK_CAS) {
        rc = decode_token(p, f[1], 1, &nil);
        op->old = nil ? NULL : f[1];
        if (rc == 0)
            rc = decode_token(p, f[2], 1, &nil);
        op->value = nil ? NULL : f[2];
    }
    return rc;
}

static int
parse_op(struct parser *p, char **f, int n)
{
    const struct op_syntax *syn = NULL;
    const char *problem;
    struct lincheck_op op;
    size_t i;
    int nil, rc;

    if (n < 4)
        return parse_fail(p, "%s", "wants: CLIENT INVOKE RETURN|- OP KEY [ARG...] -> RESULT");
    for (i = 0; i < sizeof(op_syntaxes) / sizeof(op_syntaxes[0]); i++) {
        if (strcmp(f[3], op_syntaxes[i].name) == 0)
            syn = &op_syntaxes[i];
    }
    if (!syn)
        return parse_fail(p, "unknown op '%.40s' (put, get, del or cas)", f[3]);
    if (n != 7 + syn->nargs || strcmp(f[n - 2], "->") != 0)
        return parse_fail(p, "wants: CLIENT INVOKE RETURN|- %s", syn->usage);
    memset(&op, 0, sizeof(op));
    op.kind = syn->kind;
    op.line = p->line;
    rc = decode_token(p, f[0], 0, &nil);
    if (rc < 0)
        return rc;
    op.client = f[0];
    rc = parse_time(p, f[1], "invoke", &op.invoke);
    if (rc < 0)
        return rc;
    op.ret = LINCHECK_NO_RETURN;
    if (strcmp(f[2], "-") != 0) {
        rc = parse_time(p, f[2], "return", &op.ret);
        if (rc < 0)
            return rc;
    }
    rc = parse_args(p, syn, &f[4], &op);
    if (rc == 0)
        rc = parse_result(p, syn, f[n - 1], &op);
    if (rc < 0)
        return rc;
    problem = op_problem(&op);
    if (problem)
        return parse_fail(p, "%s", problem);
    lincheck_history_add(p->h, &op, NULL);
    p->seen_op = 1;
    return 0;
}

static int
parse_line(struct parser *p, char *line)
{
    char *f[MAX_FIELDS];
    int n = split_fields(line, f);

    if (n == 0)
        return 0;
    if (n > MAX_FIELDS)
        return parse_fail(p, "%s", "too many fields");
    if (strcmp(f[0], "init") == 0)
        return parse_init(p, f, n);
    return parse_op(p, f, n);
}

int
lincheck_parse_string(const char *text, const char *name, struct lincheck_history *h,
                      struct sk_err *err)
{
    struct parser p = {.name = name, .h = h, .err = err, .seen_op = h->nops > 0};
    const char *s = text;
    int rc = 0;

    while (*s) {
        const char *nl = strchr(s, '\n');
        size_t len = nl ? (size_t)(nl - s) : strlen(s);
        char *line = sk_strndup(s, len);

        p.line++;
        rc = parse_line(&p, line);
        free(line);
        if (rc < 0)
            return rc;
        s += len + (nl ? 1 : 0);
    }
    return validate(h, name, err);
}

int
lincheck_parse_file(const char *path, struct lincheck_history *h, struct sk_err *err)
{
    struct sk_buf text = SK_BUF_INIT;
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
    char chunk[8192];
    size_t n;
    int rc;

    if (!f)
        return sk_err_sys(err, errno, "open '%s'", path);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (memchr(chunk, '\0', n)) {
            rc = sk_err_set(err, EINVAL, "%s: contains a NUL byte", path);
            goto out_close;
        }
        sk_buf_append(&text, chunk, n);
    }
    if (ferror(f)) {
        rc = sk_err_sys(err, EIO, "read '%s'", path);
        goto out_close;
    }
    rc = lincheck_parse_string(text.data ? text.data : "", path, h, err);
out_close:
    if (f != stdin)
        fclose(f);
    sk_buf_release(&text);
    return rc;
}

/* --- writing ----------------------------------------------------------------- */

static int
is_reserved(const char *s)
{
    static const char *const words[] = {NIL_TOKEN, EMPTY_TOKEN, "->", "fail", "?",
                                        "cmpfail", "-",         "ok", "init"};
    size_t i;

    for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (strcmp(s, words[i]) == 0)
            return 1;
    }
    return 0;
}

void
lincheck_token_format(const char *s, struct sk_buf *buf)
{
    const unsigned char *c;
    int escape_first;

    if (!s) {
        sk_buf_puts(buf, NIL_TOKEN);
        return;
    }
    if (!s[0]) {
        sk_buf_puts(buf, EMPTY_TOKEN);
        return;
    }
    /* A value spelled like a reserved word gets its first byte escaped
     * so it reads as data; so does a leading '#', which starts a comment. */
    escape_first = is_reserved(s) || s[0] == '#';
    for (c = (const unsigned char *)s; *c; c++) {
        if (*c <= 0x20 || *c >= 0x7f || *c == '%' || (escape_first && c == (const void *)s))
            sk_buf_printf(buf, "%%%02X", *c);
        else
            sk_buf_putc(buf, (char)*c);
    }
}

static const char *const kind_names[] = {"put", "get", "del", "cas"};

void
lincheck_op_format(const struct lincheck_op *op, struct sk_buf *buf)
{
    lincheck_token_format(op->client, buf);
    sk_buf_printf(buf, " %lld ", (long long)op->invoke);
    if (op->ret == LINCHECK_NO_RETURN)
        sk_buf_putc(buf, '-');
    else
        sk_buf_printf(buf, "%lld", (long long)op->ret);
    sk_buf_printf(buf, " %s ", kind_names[op->kind]);
    lincheck_token_format(op->key, buf);
    if (op->kind == LINCHECK_PUT) {
        sk_buf_putc(buf, ' ');
        lincheck_token_format(op->value, buf);
    } else if (op->kind == LINCHECK_CAS) {
        sk_buf_putc(buf, ' ');
        lincheck_token_format(op->old, buf);
        sk_buf_putc(buf, ' ');
        lincheck_token_format(op->value, buf);
    }
    sk_buf_puts(buf, " -> ");
    switch (op->outcome) {
    case LINCHECK_FAIL:
        sk_buf_puts(buf, "fail");
        break;
    case LINCHECK_UNKNOWN:
        sk_buf_puts(buf, "?");
        break;
    case LINCHECK_CMPFAIL:
        sk_buf_puts(buf, "cmpfail");
        break;
    case LINCHECK_OK:
        if (op->kind == LINCHECK_GET)
            lincheck_token_format(op->value, buf);
        else
            sk_buf_puts(buf, "ok");
        break;
    }
}
