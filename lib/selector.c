/* Label selectors: see selector.h for the syntax and semantics, which are
 * those of Kubernetes' labels.Parse (lexer, parser and Requirement) and
 * metav1.LabelSelectorAsSelector.
 *
 * The parser is a hand-written recursive descent over a one-token
 * lookahead, the same shape as Kubernetes' so that the odd corners agree:
 * "in"/"notin" are keywords only where an operator may stand, "==" and
 * "!=" are read greedily ("a===b" is "a==" then "=b", an error), and a
 * value list keeps empty values for stray commas ("(a,,b)" holds "").
 *
 * Errors carry the byte offset of the token they stop at. */
#include "selector.h"
#include "alloc.h"
#include "quote.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUOTE_MAX      64
#define NAME_MAX_LEN   63
#define PREFIX_MAX_LEN 253

/* ---- keys and values ---- */

static int
is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* What is wrong with s[0..len) as a label value or a key's name part
 * (Kubernetes' qualified name: ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]),
 * or NULL. Emptiness is the caller's business. */
static const char *
name_problem(const char *s, size_t len)
{
    size_t i;

    if (len > NAME_MAX_LEN)
        return "must be at most 63 characters";
    for (i = 0; i < len; i++) {
        if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
            return "may contain only alphanumerics, '-', '_' and '.'";
    }
    if (len > 0 && (!is_alnum(s[0]) || !is_alnum(s[len - 1])))
        return "must begin and end with an alphanumeric character";
    return NULL;
}

/* Whether s[0..len) is a DNS-1123 subdomain: dot-separated labels of
 * lowercase alphanumerics and '-', each beginning and ending with an
 * alphanumeric, at most 253 bytes in all. */
static int
dns_subdomain_ok(const char *s, size_t len)
{
    size_t i, start = 0;

    if (len == 0 || len > PREFIX_MAX_LEN)
        return 0;
    for (i = 0; i <= len; i++) {
        if (i == len || s[i] == '.') {
            if (i == start || s[start] == '-' || s[i - 1] == '-')
                return 0;
            start = i + 1;
        } else if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-')) {
            return 0;
        }
    }
    return 1;
}

/* What is wrong with key[0..len) as a label key, or NULL. The text is
 * static or written into buf. */
static const char *
key_problem(const char *key, size_t len, char *buf, size_t bufsz)
{
    const char *slash = memchr(key, '/', len);
    const char *name = key, *why;
    size_t nlen = len;

    if (slash) {
        name = slash + 1;
        nlen = len - (size_t)(name - key);
        if (memchr(name, '/', nlen))
            return "may contain at most one '/'";
        if (slash == key)
            return "prefix part must not be empty";
        if ((size_t)(slash - key) > PREFIX_MAX_LEN)
            return "prefix part must be at most 253 characters";
        if (!dns_subdomain_ok(key, (size_t)(slash - key)))
            return "prefix part must be a DNS subdomain (lowercase alphanumerics, '-' and '.', "
                   "every part beginning and ending with an alphanumeric)";
    }
    if (nlen == 0)
        return "name part must not be empty";
    why = name_problem(name, nlen);
    if (!why)
        return NULL;
    snprintf(buf, bufsz, "name part %s", why);
    return buf;
}

/* "label key 'k': why" into err, if key[0..len) is not valid. */
static int
key_check(const char *key, size_t len, struct sk_err *err)
{
    char q[SK_QUOTE_SIZE(QUOTE_MAX)], buf[128];
    const char *why = key_problem(key, len, buf, sizeof(buf));

    if (!why)
        return 0;
    sk_quote_input(q, sizeof(q), key, len, QUOTE_MAX);
    return sk_err_set(err, EINVAL, "label key '%s': %s", q, why);
}

/* "label value 'v': why" into err, if value[0..len) is not valid. */
static int
value_check(const char *value, size_t len, struct sk_err *err)
{
    char q[SK_QUOTE_SIZE(QUOTE_MAX)];
    const char *why = name_problem(value, len);

    if (!why)
        return 0;
    sk_quote_input(q, sizeof(q), value, len, QUOTE_MAX);
    return sk_err_set(err, EINVAL, "label value '%s': %s", q, why);
}

int
sk_label_key_valid(const char *key, struct sk_err *err)
{
    return key_check(key, strlen(key), err);
}

int
sk_label_value_valid(const char *value, struct sk_err *err)
{
    return value_check(value, strlen(value), err);
}

/* Go's strconv.ParseInt(s, 10, 64): optional sign, at least one decimal
 * digit, nothing else, in range. Returns 0 and *out, or -1. */
static int
parse_int64(const char *s, int64_t *out)
{
    uint64_t v = 0, limit;
    int neg = 0;

    if (*s == '+' || *s == '-')
        neg = *s++ == '-';
    if (!*s)
        return -1;
    limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        if (v > (limit - (uint64_t)(*s - '0')) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    /* -(v - 1) - 1 reaches INT64_MIN without overflowing. */
    *out = (!neg || v == 0) ? (int64_t)v : -(int64_t)(v - 1) - 1;
    return 0;
}

/* ---- the selector object ---- */

void
sk_selector_init(struct sk_selector *sel)
{
    sel->reqs = NULL;
    sel->nreqs = 0;
    sel->nothing = 0;
}

static void
req_release(struct sk_selector_req *r)
{
    size_t i;

    for (i = 0; i < r->nvalues; i++)
        free(r->values[i]);
    free(r->values);
    free(r->key);
    memset(r, 0, sizeof(*r));
}

void
sk_selector_release(struct sk_selector *sel)
{
    size_t i;

    for (i = 0; i < sel->nreqs; i++)
        req_release(&sel->reqs[i]);
    free(sel->reqs);
    sk_selector_init(sel);
}

/* Room for element n of an array whose capacity is implied by its length
 * (the next power of two, at least 4), so the structs need no cap field. */
static void *
grow_array(void *arr, size_t n, size_t size)
{
    if (n >= 4 && (n & (n - 1)) != 0)
        return arr;
    return sk_reallocarray(arr, n < 4 ? 4 : n * 2, size);
}

static void
req_add_value(struct sk_selector_req *r, const char *v, size_t len)
{
    r->values = grow_array(r->values, r->nvalues, sizeof(*r->values));
    r->values[r->nvalues++] = sk_strndup(v, len);
}

static int
value_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort the values (Kubernetes prints them sorted) and, for a parsed
 * selector, drop duplicates (it holds them in a set there). */
static void
req_sort_values(struct sk_selector_req *r, int dedupe)
{
    size_t i, n = 0;

    if (r->nvalues > 1)
        qsort(r->values, r->nvalues, sizeof(*r->values), value_cmp);
    if (!dedupe || r->nvalues == 0)
        return;
    for (i = 1; i < r->nvalues; i++) {
        if (strcmp(r->values[i], r->values[n]) == 0)
            free(r->values[i]);
        else
            r->values[++n] = r->values[i];
    }
    r->nvalues = n + 1;
}

/* Move r into sel (r is left empty). */
static void
sel_push(struct sk_selector *sel, struct sk_selector_req *r)
{
    sel->reqs = grow_array(sel->reqs, sel->nreqs, sizeof(*sel->reqs));
    sel->reqs[sel->nreqs++] = *r;
    memset(r, 0, sizeof(*r));
}

struct req_slot {
    struct sk_selector_req req;
    size_t idx;
};

static int
req_slot_cmp(const void *a, const void *b)
{
    const struct req_slot *x = a, *y = b;
    int c = strcmp(x->req.key, y->req.key);

    if (c)
        return c;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

/* Sort by key as Kubernetes does after parsing, keeping the order of
 * equal keys (Kubernetes' sort is not stable; a stable one is a valid
 * outcome of it and makes the canonical form deterministic). */
static void
sel_sort(struct sk_selector *sel)
{
    struct req_slot *tmp;
    size_t i;

    if (sel->nreqs < 2)
        return;
    tmp = sk_reallocarray(NULL, sel->nreqs, sizeof(*tmp));
    for (i = 0; i < sel->nreqs; i++) {
        tmp[i].req = sel->reqs[i];
        tmp[i].idx = i;
    }
    qsort(tmp, sel->nreqs, sizeof(*tmp), req_slot_cmp);
    for (i = 0; i < sel->nreqs; i++)
        sel->reqs[i] = tmp[i].req;
    free(tmp);
}

int
sk_selector_empty(const struct sk_selector *sel)
{
    return sel->nreqs == 0 && !sel->nothing;
}

/* ---- the lexer ---- */

enum tok_kind {
    T_EOS,
    T_IDENT,
    T_IN,
    T_NOTIN,
    T_LPAREN,
    T_RPAREN,
    T_COMMA,
    T_NOT,
    T_EQ,
    T_DEQ,
    T_NEQ,
    T_GT,
    T_LT,
};

struct token {
    enum tok_kind kind;
    size_t pos, len;
};

static int
is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int
is_special(char c)
{
    return c && strchr("=!(),><", c) != NULL;
}

static enum tok_kind
special_kind(char c)
{
    switch (c) {
    case '=':
        return T_EQ;
    case '!':
        return T_NOT;
    case '(':
        return T_LPAREN;
    case ')':
        return T_RPAREN;
    case ',':
        return T_COMMA;
    case '>':
        return T_GT;
    default:
        return T_LT;
    }
}

/* Read the token at *pos (after blanks) and move *pos past it. A word is
 * everything up to a blank or a special character; "in" and "notin" come
 * out as keywords, which callers turn back into words in value position. */
static void
lex(const char *s, size_t *pos, struct token *t)
{
    size_t p = *pos, q;

    while (is_blank(s[p]))
        p++;
    t->pos = p;
    t->len = 1;
    if (!s[p]) {
        t->kind = T_EOS;
        t->len = 0;
    } else if ((s[p] == '!' || s[p] == '=') && s[p + 1] == '=') {
        t->kind = s[p] == '!' ? T_NEQ : T_DEQ;
        t->len = 2;
    } else if (is_special(s[p])) {
        t->kind = special_kind(s[p]);
    } else {
        for (q = p; s[q] && !is_blank(s[q]) && !is_special(s[q]); q++)
            ;
        t->len = q - p;
        t->kind = T_IDENT;
        if (t->len == 2 && memcmp(s + p, "in", 2) == 0)
            t->kind = T_IN;
        else if (t->len == 5 && memcmp(s + p, "notin", 5) == 0)
            t->kind = T_NOTIN;
    }
    *pos = p + t->len;
}

/* A token's kind where a key or a value may stand. */
static enum tok_kind
as_word(enum tok_kind k)
{
    return k == T_IN || k == T_NOTIN ? T_IDENT : k;
}

/* ---- the parser ---- */

struct parser {
    const char *s;
    size_t next;       /* where the token after look starts */
    struct token look; /* the lookahead */
    struct sk_err *err;
};

static void
advance(struct parser *p)
{
    lex(p->s, &p->next, &p->look);
}

__attribute__((format(printf, 2, 3))) static int
p_fail(struct parser *p, const char *fmt, ...)
{
    char in[SK_QUOTE_SIZE(QUOTE_MAX)];
    char what[4 * SK_QUOTE_SIZE(QUOTE_MAX)];
    va_list ap;

    sk_quote_input(in, sizeof(in), p->s, strlen(p->s), QUOTE_MAX);
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return sk_err_set(p->err, EINVAL, "selector '%s': %s", in, what);
}

/* "expected <what>, found '<lookahead>' at position N" (no "found" at
 * the end of the input). */
static int
p_expected(struct parser *p, const char *what)
{
    char tok[SK_QUOTE_SIZE(QUOTE_MAX)];

    if (p->look.kind == T_EOS)
        return p_fail(p, "expected %s at position %zu", what, p->look.pos);
    sk_quote_input(tok, sizeof(tok), p->s + p->look.pos, p->look.len, QUOTE_MAX);
    return p_fail(p, "expected %s, found '%s' at position %zu", what, tok, p->look.pos);
}

/* Take the lookahead word as a value of r (checked), and move on. */
static int
p_value(struct parser *p, struct sk_selector_req *r)
{
    const char *v = p->s + p->look.pos;
    char q[SK_QUOTE_SIZE(QUOTE_MAX)];
    const char *why = name_problem(v, p->look.len);

    if (why) {
        sk_quote_input(q, sizeof(q), v, p->look.len, QUOTE_MAX);
        return p_fail(p, "invalid label value '%s' at position %zu: %s", q, p->look.pos, why);
    }
    req_add_value(r, v, p->look.len);
    advance(p);
    return 0;
}

/* The list after "in (": Kubernetes' parseIdentifiersList, commas and all
 * ("(,a)", "(a,)" and "(a,,b)" hold the empty value; "(a,,)" is an
 * error). Returns with the lookahead on ')'. */
static int
p_value_list(struct parser *p, struct sk_selector_req *r)
{
    enum tok_kind k;

    for (;;) {
        k = as_word(p->look.kind);
        if (k == T_IDENT) {
            if (p_value(p, r) < 0)
                return -EINVAL;
            k = as_word(p->look.kind);
            if (k == T_RPAREN)
                return 0;
            if (k == T_EOS)
                return p_fail(p, "expected ')' at position %zu", p->look.pos);
            if (k != T_COMMA)
                return p_expected(p, "',' or ')'");
        } else if (k == T_COMMA) {
            advance(p);
            if (r->nvalues == 0)
                req_add_value(r, "", 0);
            k = as_word(p->look.kind);
            if (k == T_RPAREN) {
                req_add_value(r, "", 0);
                return 0;
            }
            if (k == T_COMMA) {
                advance(p);
                req_add_value(r, "", 0);
            }
        } else {
            return p_expected(p, k == T_EOS ? "a value or ')'" : "a value");
        }
    }
}

/* "(" list ")" after in / notin; "()" is the set of the empty value. */
static int
p_value_set(struct parser *p, struct sk_selector_req *r)
{
    enum tok_kind k;

    if (p->look.kind != T_LPAREN)
        return p_expected(p, "'('");
    advance(p);
    k = as_word(p->look.kind);
    if (k == T_RPAREN) {
        req_add_value(r, "", 0);
    } else if (k == T_IDENT || k == T_COMMA) {
        if (p_value_list(p, r) < 0)
            return -EINVAL;
    } else {
        return p_expected(p, k == T_EOS ? "a value or ')'" : "a value, ',' or ')'");
    }
    advance(p); /* the ')' */
    return 0;
}

/* The one value after =, ==, !=, >, <; none at all is the empty value. */
static int
p_exact_value(struct parser *p, struct sk_selector_req *r)
{
    enum tok_kind k = as_word(p->look.kind);

    if (k == T_EOS || k == T_COMMA) {
        req_add_value(r, "", 0);
        return 0;
    }
    if (k != T_IDENT)
        return p_expected(p, "a value");
    return p_value(p, r);
}

static int
p_operator(struct parser *p, enum sk_selector_op *op)
{
    switch (p->look.kind) {
    case T_IN:
        *op = SK_SELECTOR_IN;
        break;
    case T_NOTIN:
        *op = SK_SELECTOR_NOT_IN;
        break;
    case T_EQ:
        *op = SK_SELECTOR_EQUALS;
        break;
    case T_DEQ:
        *op = SK_SELECTOR_DOUBLE_EQUALS;
        break;
    case T_NEQ:
        *op = SK_SELECTOR_NOT_EQUALS;
        break;
    case T_GT:
        *op = SK_SELECTOR_GT;
        break;
    case T_LT:
        *op = SK_SELECTOR_LT;
        break;
    default:
        return p_expected(p, "an operator (=, ==, !=, in, notin, >, <)");
    }
    advance(p);
    return 0;
}

/* The key at the lookahead, checked, into r->key. */
static int
p_key(struct parser *p, struct sk_selector_req *r)
{
    const char *key = p->s + p->look.pos;
    char q[SK_QUOTE_SIZE(QUOTE_MAX)], buf[128];
    const char *why;

    if (as_word(p->look.kind) != T_IDENT)
        return p_expected(p, "a label key");
    why = key_problem(key, p->look.len, buf, sizeof(buf));
    if (why) {
        sk_quote_input(q, sizeof(q), key, p->look.len, QUOTE_MAX);
        return p_fail(p, "invalid label key '%s' at position %zu: %s", q, p->look.pos, why);
    }
    r->key = sk_strndup(key, p->look.len);
    advance(p);
    return 0;
}

/* The operand of > and <, which Kubernetes requires to be an integer. */
static int
p_check_number(struct parser *p, struct sk_selector_req *r, size_t pos)
{
    char q[SK_QUOTE_SIZE(QUOTE_MAX)];

    if (parse_int64(r->values[0], &r->num) == 0)
        return 0;
    sk_quote_input(q, sizeof(q), r->values[0], strlen(r->values[0]), QUOTE_MAX);
    return p_fail(p, "invalid value '%s' at position %zu: must be an integer for '%c'", q, pos,
                  r->op == SK_SELECTOR_GT ? '>' : '<');
}

/* One requirement; on success it is added to sel. */
static int
p_requirement(struct parser *p, struct sk_selector *sel)
{
    struct sk_selector_req r;
    size_t vpos;
    int rc, dne = p->look.kind == T_NOT;

    memset(&r, 0, sizeof(r));
    if (dne)
        advance(p);
    rc = p_key(p, &r);
    if (rc < 0)
        goto out_release;
    if (dne || p->look.kind == T_EOS || p->look.kind == T_COMMA) {
        /* "!key" ends here even before an operator: "!a=b" then fails
         * on '=' where ',' was expected, as in Kubernetes. */
        r.op = dne ? SK_SELECTOR_DOES_NOT_EXIST : SK_SELECTOR_EXISTS;
        goto out_push;
    }
    rc = p_operator(p, &r.op);
    if (rc < 0)
        goto out_release;
    vpos = p->look.pos;
    if (r.op == SK_SELECTOR_IN || r.op == SK_SELECTOR_NOT_IN)
        rc = p_value_set(p, &r);
    else
        rc = p_exact_value(p, &r);
    if (rc == 0 && (r.op == SK_SELECTOR_GT || r.op == SK_SELECTOR_LT))
        rc = p_check_number(p, &r, vpos);
    if (rc < 0)
        goto out_release;
    req_sort_values(&r, 1);
out_push:
    sel_push(sel, &r);
    return 0;
out_release:
    req_release(&r);
    return rc;
}

int
sk_selector_parse(const char *s, struct sk_selector *sel, struct sk_err *err)
{
    struct parser p;
    enum tok_kind k;
    int rc = 0;

    sk_selector_init(sel);
    p.s = s ? s : "";
    p.next = 0;
    p.err = err;
    advance(&p);
    for (;;) {
        k = as_word(p.look.kind);
        if (k == T_EOS)
            break;
        if (k != T_IDENT && k != T_NOT) {
            rc = p_expected(&p, "a label key or '!'");
            goto out_fail;
        }
        rc = p_requirement(&p, sel);
        if (rc < 0)
            goto out_fail;
        if (p.look.kind == T_EOS)
            break;
        if (p.look.kind != T_COMMA) {
            rc = p_expected(&p, "',' or end of selector");
            goto out_fail;
        }
        advance(&p);
        k = as_word(p.look.kind);
        if (k != T_IDENT && k != T_NOT) {
            rc = p_expected(&p, "a label key or '!' after ','");
            goto out_fail;
        }
    }
    sel_sort(sel);
    return 0;
out_fail:
    sk_selector_release(sel);
    return rc;
}

/* ---- matching and printing ---- */

static int
value_key_cmp(const void *key, const void *elem)
{
    return strcmp(key, *(char *const *)elem);
}

static int
req_has_value(const struct sk_selector_req *r, const char *v)
{
    return bsearch(v, r->values, r->nvalues, sizeof(*r->values), value_key_cmp) != NULL;
}

static int
req_matches(const struct sk_selector_req *r, const char *v)
{
    int64_t n;

    switch (r->op) {
    case SK_SELECTOR_IN:
    case SK_SELECTOR_EQUALS:
    case SK_SELECTOR_DOUBLE_EQUALS:
        return v && req_has_value(r, v);
    case SK_SELECTOR_NOT_IN:
    case SK_SELECTOR_NOT_EQUALS:
        return !v || !req_has_value(r, v);
    case SK_SELECTOR_EXISTS:
        return v != NULL;
    case SK_SELECTOR_DOES_NOT_EXIST:
        return v == NULL;
    case SK_SELECTOR_GT:
        return v && parse_int64(v, &n) == 0 && n > r->num;
    case SK_SELECTOR_LT:
        return v && parse_int64(v, &n) == 0 && n < r->num;
    }
    return 0;
}

int
sk_selector_matches(const struct sk_selector *sel,
                    const char *(*lookup)(void *ctx, const char *key), void *ctx)
{
    size_t i;

    if (sel->nothing)
        return 0;
    for (i = 0; i < sel->nreqs; i++) {
        if (!req_matches(&sel->reqs[i], lookup(ctx, sel->reqs[i].key)))
            return 0;
    }
    return 1;
}

static const char *
json_label(void *ctx, const char *key)
{
    const json_t *labels = ctx;

    if (!json_is_object(labels))
        return NULL;
    return json_string_value(json_object_get(labels, key));
}

int
sk_selector_matches_json(const struct sk_selector *sel, const json_t *labels)
{
    return sk_selector_matches(sel, json_label, (void *)labels);
}

static const char *
op_text(enum sk_selector_op op)
{
    switch (op) {
    case SK_SELECTOR_IN:
        return " in (";
    case SK_SELECTOR_NOT_IN:
        return " notin (";
    case SK_SELECTOR_EQUALS:
        return "=";
    case SK_SELECTOR_DOUBLE_EQUALS:
        return "==";
    case SK_SELECTOR_NOT_EQUALS:
        return "!=";
    case SK_SELECTOR_GT:
        return ">";
    case SK_SELECTOR_LT:
        return "<";
    case SK_SELECTOR_EXISTS:
    case SK_SELECTOR_DOES_NOT_EXIST:
        break;
    }
    return "";
}

int
sk_selector_format(const struct sk_selector *sel, struct sk_buf *out)
{
    const struct sk_selector_req *r;
    size_t i, j;

    sk_buf_append(out, "", 0); /* out->data is a string even if sel is empty */
    for (i = 0; i < sel->nreqs; i++) {
        r = &sel->reqs[i];
        if (i > 0)
            sk_buf_putc(out, ',');
        if (r->op == SK_SELECTOR_DOES_NOT_EXIST)
            sk_buf_putc(out, '!');
        sk_buf_puts(out, r->key);
        sk_buf_puts(out, op_text(r->op));
        for (j = 0; j < r->nvalues; j++) {
            if (j > 0)
                sk_buf_putc(out, ',');
            sk_buf_puts(out, r->values[j]);
        }
        if (r->op == SK_SELECTOR_IN || r->op == SK_SELECTOR_NOT_IN)
            sk_buf_putc(out, ')');
    }
    return 0;
}

/* ---- the structured forms ---- */

static const char *
json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        break;
    }
    return "null";
}

/* A checked JSON string (with its length, so an embedded NUL byte is
 * caught by the character check rather than cutting the string short). */
static int
json_label_value(const json_t *v, struct sk_selector_req *r, const char *path, struct sk_err *err)
{
    if (!json_is_string(v))
        return sk_err_set(err, EINVAL, "%s: must be a string, not %s", path, json_type_name(v));
    if (value_check(json_string_value(v), json_string_length(v), err) < 0)
        return sk_err_wrap(err, "%s", path);
    req_add_value(r, json_string_value(v), json_string_length(v));
    return 0;
}

/* {k: v, ...} into "k=v" requirements. path names the map itself. */
static int
map_to_reqs(const json_t *map, struct sk_selector *sel, const char *path, struct sk_err *err)
{
    char vpath[512];
    struct sk_selector_req r;
    const char *key;
    json_t *v;

    if (!json_is_object(map))
        return sk_err_set(err, EINVAL, "%s: must be an object, not %s", path, json_type_name(map));
    json_object_foreach ((json_t *)map, key, v) {
        memset(&r, 0, sizeof(r));
        if (key_check(key, strlen(key), err) < 0)
            return sk_err_wrap(err, "%s", path);
        /* The key is valid, hence printable, from here on. */
        sk_snprintf(vpath, sizeof(vpath), "%s[%s]", path, key);
        if (json_label_value(v, &r, vpath, err) < 0) {
            req_release(&r);
            return -EINVAL;
        }
        r.key = sk_strdup(key);
        r.op = SK_SELECTOR_EQUALS;
        sel_push(sel, &r);
    }
    return 0;
}

static const struct {
    const char *name;
    enum sk_selector_op op;
} json_ops[] = {
    {"In", SK_SELECTOR_IN},
    {"NotIn", SK_SELECTOR_NOT_IN},
    {"Exists", SK_SELECTOR_EXISTS},
    {"DoesNotExist", SK_SELECTOR_DOES_NOT_EXIST},
};

/* A required string field of a matchExpressions entry. */
static const char *
expr_string(const json_t *e, const char *field, const char *path, struct sk_err *err)
{
    const json_t *v = json_object_get(e, field);

    if (!v || json_is_null(v)) {
        sk_err_set(err, EINVAL, "%s.%s: required", path, field);
        return NULL;
    }
    if (!json_is_string(v)) {
        sk_err_set(err, EINVAL, "%s.%s: must be a string, not %s", path, field, json_type_name(v));
        return NULL;
    }
    return json_string_value(v);
}

static int
expr_operator(const json_t *e, enum sk_selector_op *op, const char *path, struct sk_err *err)
{
    char q[SK_QUOTE_SIZE(QUOTE_MAX)];
    const char *name = expr_string(e, "operator", path, err);
    size_t i;

    if (!name)
        return -EINVAL;
    for (i = 0; i < sizeof(json_ops) / sizeof(json_ops[0]); i++) {
        if (strcmp(name, json_ops[i].name) == 0) {
            *op = json_ops[i].op;
            return 0;
        }
    }
    sk_quote_input(q, sizeof(q), name, strlen(name), QUOTE_MAX);
    return sk_err_set(err, EINVAL,
                      "%s.operator: unsupported value '%s': must be In, NotIn, Exists or "
                      "DoesNotExist",
                      path, q);
}

static int
expr_values(const json_t *e, struct sk_selector_req *r, const char *path, struct sk_err *err)
{
    const json_t *vals = json_object_get(e, "values");
    const char *opname = json_ops[0].name;
    char vpath[512];
    size_t i;

    for (i = 0; i < sizeof(json_ops) / sizeof(json_ops[0]); i++) {
        if (json_ops[i].op == r->op)
            opname = json_ops[i].name;
    }
    if (vals && !json_is_null(vals) && !json_is_array(vals))
        return sk_err_set(err, EINVAL, "%s.values: must be an array, not %s", path,
                          json_type_name(vals));
    for (i = 0; i < json_array_size(vals); i++) {
        sk_snprintf(vpath, sizeof(vpath), "%s.values[%zu]", path, i);
        if (json_label_value(json_array_get(vals, i), r, vpath, err) < 0)
            return -EINVAL;
    }
    if ((r->op == SK_SELECTOR_IN || r->op == SK_SELECTOR_NOT_IN) && r->nvalues == 0)
        return sk_err_set(err, EINVAL, "%s.values: must not be empty for operator %s", path,
                          opname);
    if ((r->op == SK_SELECTOR_EXISTS || r->op == SK_SELECTOR_DOES_NOT_EXIST) && r->nvalues > 0)
        return sk_err_set(err, EINVAL, "%s.values: must be empty for operator %s", path, opname);
    return 0;
}

/* One matchExpressions entry (at path) into a requirement of sel. */
static int
expr_to_req(const json_t *e, struct sk_selector *sel, const char *path, struct sk_err *err)
{
    char q[SK_QUOTE_SIZE(QUOTE_MAX)];
    struct sk_selector_req r;
    const char *field, *key;
    json_t *v;
    int rc = -EINVAL;

    memset(&r, 0, sizeof(r));
    if (!json_is_object(e))
        return sk_err_set(err, EINVAL, "%s: must be an object, not %s", path, json_type_name(e));
    json_object_foreach ((json_t *)e, field, v) {
        if (strcmp(field, "key") && strcmp(field, "operator") && strcmp(field, "values")) {
            sk_quote_input(q, sizeof(q), field, strlen(field), QUOTE_MAX);
            return sk_err_set(err, EINVAL, "%s.%s: unknown field", path, q);
        }
    }
    key = expr_string(e, "key", path, err);
    if (!key)
        goto out_release;
    if (key_check(key, strlen(key), err) < 0) {
        sk_err_wrap(err, "%s.key", path);
        goto out_release;
    }
    if (expr_operator(e, &r.op, path, err) < 0 || expr_values(e, &r, path, err) < 0)
        goto out_release;
    r.key = sk_strdup(key);
    req_sort_values(&r, 0);
    sel_push(sel, &r);
    return 0;
out_release:
    req_release(&r);
    return rc;
}

static int
exprs_to_reqs(const json_t *exprs, struct sk_selector *sel, const char *path, struct sk_err *err)
{
    char epath[512];
    size_t i;

    if (!json_is_array(exprs))
        return sk_err_set(err, EINVAL, "%s: must be an array, not %s", path, json_type_name(exprs));
    for (i = 0; i < json_array_size(exprs); i++) {
        sk_snprintf(epath, sizeof(epath), "%s[%zu]", path, i);
        if (expr_to_req(json_array_get(exprs, i), sel, epath, err) < 0)
            return -EINVAL;
    }
    return 0;
}

/* One field of a LabelSelector object. */
static int
selector_field(const char *field, const json_t *v, struct sk_selector *sel, const char *path,
               struct sk_err *err)
{
    char fpath[512], q[SK_QUOTE_SIZE(QUOTE_MAX)];

    sk_snprintf(fpath, sizeof(fpath), "%s.%s", path, field);
    if (strcmp(field, "matchLabels") == 0)
        return json_is_null(v) ? 0 : map_to_reqs(v, sel, fpath, err);
    if (strcmp(field, "matchExpressions") == 0)
        return json_is_null(v) ? 0 : exprs_to_reqs(v, sel, fpath, err);
    sk_quote_input(q, sizeof(q), field, strlen(field), QUOTE_MAX);
    return sk_err_set(err, EINVAL, "%s.%s: unknown field", path, q);
}

int
sk_selector_from_json(const json_t *label_selector, struct sk_selector *sel, const char *path,
                      struct sk_err *err)
{
    const char *field;
    json_t *v;

    sk_selector_init(sel);
    if (!path || !*path)
        path = "selector";
    if (!label_selector || json_is_null(label_selector)) {
        sel->nothing = 1;
        return 0;
    }
    if (!json_is_object(label_selector))
        return sk_err_set(err, EINVAL, "%s: must be an object, not %s", path,
                          json_type_name(label_selector));
    json_object_foreach ((json_t *)label_selector, field, v) {
        if (selector_field(field, v, sel, path, err) < 0) {
            sk_selector_release(sel);
            return -EINVAL;
        }
    }
    sel_sort(sel);
    return 0;
}

int
sk_selector_from_map(const json_t *map, struct sk_selector *sel, const char *path,
                     struct sk_err *err)
{
    sk_selector_init(sel);
    if (!path || !*path)
        path = "selector";
    if (!map || json_is_null(map))
        return 0;
    if (map_to_reqs(map, sel, path, err) < 0) {
        sk_selector_release(sel);
        return -EINVAL;
    }
    sel_sort(sel);
    return 0;
}
