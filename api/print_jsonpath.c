/* The JSONPath templates of `-o jsonpath=` (kubectl's subset,
 * k8s.io/client-go/util/jsonpath):
 *
 *     template  := (text | "{" action "}")*
 *     action    := "range" expr | "end" | '"' string '"' | expr
 *     expr      := ["$" | "@"] step*
 *     step      := "." name | ".*" | ".." name | "..*" | "[" sel "]"
 *                  (in a name, "\." is a dot: labels.kubernetes\.io/name)
 *     sel       := int | [int] ":" [int] | "*" | 'key' | "key"
 *                | "?(" operand [op operand] ")"
 *     operand   := "@" step* | "$" step* | 'str' | "str" | number
 *     op        := "==" | "!=" | "<" | "<=" | ">" | ">="
 *
 * Text outside braces is copied; a string action takes the escapes \t
 * \n \r \\ \". The results of one expression are joined by a space;
 * strings print raw, other values as compact JSON. A missing key prints
 * nothing (kubectl get sets allowMissingKeys). `{range EXPR}...{end}`
 * repeats its body for each result, with @ bound to it (a single array
 * result, as from `.items`, is iterated element by element).
 *
 * The whole template is parsed before anything is evaluated, so a
 * malformed one fails with its position and prints nothing. */
#include "api/print_int.h"

#include "lib/alloc.h"
#include "lib/json.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum step_type { ST_FIELD, ST_WILD, ST_RECURSE, ST_INDEX, ST_SLICE, ST_FILTER };

struct jp_expr;

struct jp_operand {
    struct jp_expr *path; /* @... or $...; or NULL for a literal */
    json_t *lit;
};

struct jp_filter {
    struct jp_operand lhs, rhs;
    char op[3]; /* "" when the filter tests existence */
};

struct jp_step {
    enum step_type type;
    char *name; /* ST_FIELD, ST_RECURSE (NULL: "..*") */
    int64_t idx, start, end;
    bool has_start, has_end;
    struct jp_filter *filter;
};

struct jp_expr {
    bool from_root;
    struct jp_step *steps;
    size_t n;
};

enum node_type { N_TEXT, N_EXPR, N_RANGE, N_END };

struct jp_node {
    enum node_type type;
    char *text;
    struct jp_expr *expr;
};

struct jp_tmpl {
    struct jp_node *nodes;
    size_t n;
};

struct parser {
    const char *s;
    size_t pos;
    struct sk_err *err;
};

static int
perr(struct parser *p, const char *what)
{
    return sk_err_set(p->err, EINVAL, "jsonpath '%s' at position %zu: %s", p->s, p->pos + 1, what);
}

static void expr_free(struct jp_expr *e);

static void
filter_free(struct jp_filter *f)
{
    if (!f)
        return;
    expr_free(f->lhs.path);
    expr_free(f->rhs.path);
    json_decref(f->lhs.lit);
    json_decref(f->rhs.lit);
    free(f);
}

static void
expr_free(struct jp_expr *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n; i++) {
        free(e->steps[i].name);
        filter_free(e->steps[i].filter);
    }
    free(e->steps);
    free(e);
}

static void
tmpl_release(struct jp_tmpl *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->nodes[i].text);
        expr_free(t->nodes[i].expr);
    }
    free(t->nodes);
}

static struct jp_step *
step_add(struct jp_expr *e, enum step_type type)
{
    e->steps = sk_reallocarray(e->steps, e->n + 1, sizeof(*e->steps));
    memset(&e->steps[e->n], 0, sizeof(e->steps[0]));
    e->steps[e->n].type = type;
    return &e->steps[e->n++];
}

static char
peek(const struct parser *p)
{
    return p->s[p->pos];
}

static void
skip_blanks(struct parser *p)
{
    while (peek(p) == ' ')
        p->pos++;
}

static bool
is_name_char(char c)
{
    return c && !strchr(".[]{}()'\"=!<>,@$ *", c);
}

/* A quoted string ('...' or "..."); *out is a new string. */
static int
parse_quoted(struct parser *p, char **out)
{
    char q = peek(p), c;
    struct sk_buf b = SK_BUF_INIT;

    p->pos++;
    for (; (c = peek(p)) != q; p->pos++) {
        if (c == '\0') {
            sk_buf_release(&b);
            return perr(p, "unterminated string");
        }
        if (c == '\\' && p->s[p->pos + 1]) {
            c = p->s[++p->pos];
            c = c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c;
        }
        sk_buf_putc(&b, c);
    }
    p->pos++;
    *out = b.data ? b.data : sk_strdup("");
    return 0;
}

static int
parse_int(struct parser *p, int64_t *v)
{
    char *end;
    long long x;

    errno = 0;
    x = strtoll(p->s + p->pos, &end, 10);
    if (end == p->s + p->pos || errno)
        return perr(p, "expected an integer");
    p->pos = (size_t)(end - p->s);
    *v = x;
    return 0;
}

static int parse_expr(struct parser *p, struct jp_expr **out);

static int
parse_operand(struct parser *p, struct jp_operand *o)
{
    char c = peek(p), *s, *end;
    double d;

    if (c == '@' || c == '$')
        return parse_expr(p, &o->path);
    if (c == '\'' || c == '"') {
        if (parse_quoted(p, &s) < 0)
            return -EINVAL;
        o->lit = json_string(s);
        free(s);
        return o->lit ? 0 : perr(p, "string is not UTF-8");
    }
    d = strtod(p->s + p->pos, &end);
    if (end == p->s + p->pos)
        return perr(p, "expected @, $, a string or a number in filter");
    p->pos = (size_t)(end - p->s);
    o->lit = json_real(d);
    return 0;
}

static int
parse_filter(struct parser *p, struct jp_step *st)
{
    static const char *const ops[] = {"==", "!=", "<=", ">=", "<", ">"};
    struct jp_filter *f = sk_calloc(1, sizeof(*f));

    st->filter = f;
    p->pos += 2; /* "?(" */
    skip_blanks(p);
    if (parse_operand(p, &f->lhs) < 0)
        return -EINVAL;
    skip_blanks(p);
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (strncmp(p->s + p->pos, ops[i], strlen(ops[i])) == 0) {
            sk_strlcpy(f->op, ops[i], sizeof(f->op));
            p->pos += strlen(ops[i]);
            skip_blanks(p);
            if (parse_operand(p, &f->rhs) < 0)
                return -EINVAL;
            skip_blanks(p);
            break;
        }
    if (peek(p) != ')')
        return perr(p, "expected ')' to close the filter");
    p->pos++;
    return 0;
}

static int
parse_index_or_slice(struct parser *p, struct jp_expr *e)
{
    struct jp_step *st = step_add(e, ST_INDEX);

    if (peek(p) != ':') {
        if (parse_int(p, &st->idx) < 0)
            return -EINVAL;
        st->has_start = true;
        st->start = st->idx;
    }
    skip_blanks(p);
    if (peek(p) != ':')
        return 0;
    st->type = ST_SLICE;
    p->pos++;
    skip_blanks(p);
    if (peek(p) != ']') {
        if (parse_int(p, &st->end) < 0)
            return -EINVAL;
        st->has_end = true;
    }
    return 0;
}

static int
parse_bracket(struct parser *p, struct jp_expr *e)
{
    char c;
    int rc = 0;

    p->pos++;
    skip_blanks(p);
    c = peek(p);
    if (c == '*') {
        step_add(e, ST_WILD);
        p->pos++;
    } else if (c == '\'' || c == '"') {
        struct jp_step *st = step_add(e, ST_FIELD);

        rc = parse_quoted(p, &st->name);
    } else if (c == '?' && p->s[p->pos + 1] == '(') {
        rc = parse_filter(p, step_add(e, ST_FILTER));
    } else if (c == '-' || c == ':' || isdigit((unsigned char)c)) {
        rc = parse_index_or_slice(p, e);
    } else {
        return perr(p, "expected an index, '*', a quoted key or a filter in '[...]'");
    }
    if (rc < 0)
        return rc;
    skip_blanks(p);
    if (peek(p) != ']')
        return perr(p, "expected ']'");
    p->pos++;
    return 0;
}

/* kubectl lets "\." stand for a dot inside a name:
 * {.metadata.labels.kubernetes\.io/name}. */
static char *
unescape_name(const char *s, size_t len)
{
    char *out = sk_malloc(len + 1), *o = out;

    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\\' && i + 1 < len && s[i + 1] == '.')
            i++;
        *o++ = s[i];
    }
    *o = '\0';
    return out;
}

static int
parse_dot(struct parser *p, struct jp_expr *e)
{
    enum step_type type = ST_FIELD;
    size_t start;

    p->pos++;
    if (peek(p) == '.') {
        type = ST_RECURSE;
        p->pos++;
    }
    if (peek(p) == '*') {
        p->pos++;
        step_add(e, type == ST_RECURSE ? ST_RECURSE : ST_WILD);
        return 0;
    }
    if (peek(p) == '[' && type == ST_RECURSE) {
        step_add(e, ST_RECURSE);
        return 0;
    }
    start = p->pos;
    while (is_name_char(peek(p)) || (peek(p) == '\\' && p->s[p->pos + 1] == '.'))
        p->pos += peek(p) == '\\' ? 2 : 1;
    if (p->pos == start) {
        /* "{.}" names the current object, as in kubectl */
        if (type == ST_FIELD && (peek(p) == '}' || peek(p) == '\0' || peek(p) == ' ' ||
                                 peek(p) == ')' || peek(p) == '['))
            return 0;
        return perr(p, "expected a field name");
    }
    step_add(e, type)->name = unescape_name(p->s + start, p->pos - start);
    return 0;
}

/* Parse steps until a character that cannot continue the expression. */
static int
parse_expr(struct parser *p, struct jp_expr **out)
{
    struct jp_expr *e = sk_calloc(1, sizeof(*e));
    size_t start;
    int rc = 0;

    *out = e;
    if (peek(p) == '$' || peek(p) == '@') {
        e->from_root = peek(p) == '$';
        p->pos++;
    }
    if (is_name_char(peek(p))) { /* "{metadata.name}": a leading dot is optional */
        start = p->pos;
        while (is_name_char(peek(p)))
            p->pos++;
        step_add(e, ST_FIELD)->name = sk_strndup(p->s + start, p->pos - start);
    }
    while (rc == 0) {
        if (peek(p) == '.')
            rc = parse_dot(p, e);
        else if (peek(p) == '[')
            rc = parse_bracket(p, e);
        else
            break;
    }
    return rc;
}

static struct jp_node *
node_add(struct jp_tmpl *t, enum node_type type)
{
    t->nodes = sk_reallocarray(t->nodes, t->n + 1, sizeof(*t->nodes));
    memset(&t->nodes[t->n], 0, sizeof(t->nodes[0]));
    t->nodes[t->n].type = type;
    return &t->nodes[t->n++];
}

static int
parse_action(struct parser *p, struct jp_tmpl *t, int *depth)
{
    skip_blanks(p);
    if (strncmp(p->s + p->pos, "range ", 6) == 0) {
        p->pos += 6;
        skip_blanks(p);
        ++*depth;
        if (parse_expr(p, &node_add(t, N_RANGE)->expr) < 0)
            return -EINVAL;
    } else if (strncmp(p->s + p->pos, "end", 3) == 0 && !is_name_char(p->s[p->pos + 3])) {
        if (--*depth < 0)
            return perr(p, "{end} without {range}");
        node_add(t, N_END);
        p->pos += 3;
    } else if (peek(p) == '"' || peek(p) == '\'') {
        if (parse_quoted(p, &node_add(t, N_TEXT)->text) < 0)
            return -EINVAL;
    } else if (peek(p) == '}') {
        return perr(p, "empty action");
    } else if (parse_expr(p, &node_add(t, N_EXPR)->expr) < 0) {
        return -EINVAL;
    }
    skip_blanks(p);
    if (peek(p) == '\0')
        return perr(p, "unclosed action: expected '}'");
    if (peek(p) != '}')
        return perr(p, "unexpected character in action");
    p->pos++;
    return 0;
}

static int
tmpl_parse(const char *s, struct jp_tmpl *t, struct sk_err *err)
{
    struct parser p = {.s = s ? s : "", .pos = 0, .err = err};
    int depth = 0;

    memset(t, 0, sizeof(*t));
    while (peek(&p)) {
        size_t start = p.pos;

        while (peek(&p) && peek(&p) != '{')
            p.pos++;
        if (p.pos > start)
            node_add(t, N_TEXT)->text = sk_strndup(p.s + start, p.pos - start);
        if (peek(&p) == '{') {
            p.pos++;
            if (parse_action(&p, t, &depth) < 0)
                goto out_fail;
        }
    }
    if (depth > 0) {
        perr(&p, "{range} without {end}");
        goto out_fail;
    }
    return 0;
out_fail:
    tmpl_release(t);
    memset(t, 0, sizeof(*t));
    return -EINVAL;
}

/* ---- evaluation ---- */

struct vals {
    json_t **v;
    size_t n, cap;
};

static void
vals_add(struct vals *vs, json_t *v)
{
    if (!v || json_is_null(v))
        return;
    if (vs->n == vs->cap) {
        vs->cap = vs->cap ? vs->cap * 2 : 8;
        vs->v = sk_reallocarray(vs->v, vs->cap, sizeof(*vs->v));
    }
    vs->v[vs->n++] = v;
}

static void eval_expr(const struct jp_expr *e, json_t *root, json_t *cur, struct vals *out);

static void
recurse(json_t *v, const char *name, struct vals *out)
{
    const char *key;
    json_t *child;
    size_t i;

    if (json_is_object(v)) {
        json_object_foreach (v, key, child) {
            if (!name || strcmp(key, name) == 0)
                vals_add(out, child);
            recurse(child, name, out);
        }
    } else if (json_is_array(v)) {
        json_array_foreach (v, i, child) {
            if (!name)
                vals_add(out, child);
            recurse(child, name, out);
        }
    }
}

static bool
operand_value(const struct jp_operand *o, json_t *root, json_t *cur, json_t **v)
{
    struct vals vs = {0};

    if (o->lit) {
        *v = o->lit;
        return true;
    }
    eval_expr(o->path, root, cur, &vs);
    *v = vs.n ? vs.v[0] : NULL;
    free(vs.v);
    return *v != NULL;
}

static bool
compare(const char *op, const json_t *a, const json_t *b)
{
    int c;

    if (json_is_number(a) && json_is_number(b)) {
        double x = json_number_value(a), y = json_number_value(b);

        c = x < y ? -1 : x > y;
    } else if (json_is_string(a) && json_is_string(b)) {
        c = strcmp(json_string_value(a), json_string_value(b));
    } else if (!strcmp(op, "==") || !strcmp(op, "!=")) {
        c = json_equal((json_t *)a, (json_t *)b) ? 0 : 1;
    } else {
        return false;
    }
    if (!strcmp(op, "=="))
        return c == 0;
    if (!strcmp(op, "!="))
        return c != 0;
    if (!strcmp(op, "<"))
        return c < 0;
    if (!strcmp(op, "<="))
        return c <= 0;
    if (!strcmp(op, ">"))
        return c > 0;
    return c >= 0;
}

static bool
filter_match(const struct jp_filter *f, json_t *root, json_t *item)
{
    json_t *a, *b;

    if (!operand_value(&f->lhs, root, item, &a))
        return false;
    if (!f->op[0])
        return true;
    if (!operand_value(&f->rhs, root, item, &b))
        return false;
    return compare(f->op, a, b);
}

static void
slice(const struct jp_step *st, json_t *v, struct vals *out)
{
    int64_t n = (int64_t)json_array_size(v);
    int64_t s = st->has_start ? st->start : 0, e = st->has_end ? st->end : n;

    s = s < 0 ? s + n : s;
    e = e < 0 ? e + n : e;
    s = s < 0 ? 0 : s;
    e = e > n ? n : e;
    for (int64_t i = s; i < e; i++)
        vals_add(out, json_array_get(v, (size_t)i));
}

static void
apply_step(const struct jp_step *st, json_t *root, json_t *v, struct vals *out)
{
    const char *key;
    json_t *child;
    size_t i;

    switch (st->type) {
    case ST_FIELD:
        vals_add(out, json_is_object(v) ? json_object_get(v, st->name) : NULL);
        break;
    case ST_WILD:
        json_object_foreach (json_is_object(v) ? v : NULL, key, child) {
            vals_add(out, child);
        }
        json_array_foreach (json_is_array(v) ? v : NULL, i, child) {
            vals_add(out, child);
        }
        break;
    case ST_RECURSE:
        if (!st->name)
            vals_add(out, v);
        recurse(v, st->name, out);
        break;
    case ST_INDEX: {
        int64_t n = (int64_t)json_array_size(v), idx = st->idx < 0 ? st->idx + n : st->idx;

        if (json_is_array(v) && idx >= 0 && idx < n)
            vals_add(out, json_array_get(v, (size_t)idx));
        break;
    }
    case ST_SLICE:
        if (json_is_array(v))
            slice(st, v, out);
        break;
    case ST_FILTER:
        json_array_foreach (json_is_array(v) ? v : NULL, i, child) {
            if (filter_match(st->filter, root, child))
                vals_add(out, child);
        }
        break;
    }
}

static void
eval_expr(const struct jp_expr *e, json_t *root, json_t *cur, struct vals *out)
{
    struct vals a = {0}, b = {0}, tmp;

    vals_add(&a, e->from_root ? root : cur);
    for (size_t s = 0; s < e->n; s++) {
        b.n = 0;
        for (size_t i = 0; i < a.n; i++)
            apply_step(&e->steps[s], root, a.v[i], &b);
        tmp = a;
        a = b;
        b = tmp;
    }
    for (size_t i = 0; i < a.n; i++)
        vals_add(out, a.v[i]);
    free(a.v);
    free(b.v);
}

static void
print_value(const json_t *v, struct sk_buf *out)
{
    if (json_is_string(v))
        sk_buf_append(out, json_string_value(v), json_string_length(v));
    else
        sk_json_dump_buf(v, out);
}

/* A range over one array (".items") walks its elements; over a list of
 * results (".items[*]") walks the results. */
static bool
expr_iterates(const struct jp_expr *e)
{
    for (size_t i = 0; i < e->n; i++)
        if (e->steps[i].type != ST_FIELD && e->steps[i].type != ST_INDEX)
            return true;
    return false;
}

static size_t eval_nodes(const struct jp_tmpl *t, size_t i, json_t *root, json_t *cur,
                         const char *sep, struct sk_buf *out);

/* Index of the {end} matching the {range} at i. */
static size_t
range_end(const struct jp_tmpl *t, size_t i)
{
    int depth = 0;

    for (; i < t->n; i++) {
        depth += t->nodes[i].type == N_RANGE;
        if (t->nodes[i].type == N_END && --depth == 0)
            return i;
    }
    return t->n;
}

static void
eval_range(const struct jp_tmpl *t, size_t i, json_t *root, json_t *cur, const char *sep,
           struct sk_buf *out)
{
    struct vals vs = {0}, items = {0};
    const struct jp_expr *e = t->nodes[i].expr;
    json_t *child;
    size_t k;

    eval_expr(e, root, cur, &vs);
    if (vs.n == 1 && json_is_array(vs.v[0]) && !expr_iterates(e)) {
        json_array_foreach (vs.v[0], k, child) {
            vals_add(&items, child);
        }
    } else {
        for (k = 0; k < vs.n; k++)
            vals_add(&items, vs.v[k]);
    }
    for (k = 0; k < items.n; k++)
        eval_nodes(t, i + 1, root, items.v[k], sep, out);
    free(vs.v);
    free(items.v);
}

/* Evaluate nodes from i up to the {end} closing the current level (or
 * the template's end); returns the index after it. */
static size_t
eval_nodes(const struct jp_tmpl *t, size_t i, json_t *root, json_t *cur, const char *sep,
           struct sk_buf *out)
{
    struct vals vs;

    for (; i < t->n; i++) {
        const struct jp_node *nd = &t->nodes[i];

        switch (nd->type) {
        case N_TEXT:
            sk_buf_puts(out, nd->text);
            break;
        case N_EXPR:
            memset(&vs, 0, sizeof(vs));
            eval_expr(nd->expr, root, cur, &vs);
            for (size_t k = 0; k < vs.n; k++) {
                sk_buf_puts(out, k ? sep : "");
                print_value(vs.v[k], out);
            }
            free(vs.v);
            break;
        case N_RANGE:
            eval_range(t, i, root, cur, sep, out);
            i = range_end(t, i);
            break;
        case N_END:
            return i + 1;
        }
    }
    return i;
}

int
api_print_jsonpath_check(const char *tmpl, struct sk_err *err)
{
    struct jp_tmpl t;

    if (tmpl_parse(tmpl, &t, err) < 0)
        return -EINVAL;
    tmpl_release(&t);
    return 0;
}

int
api_print_jsonpath(const char *tmpl, const json_t *root, struct sk_buf *out, struct sk_err *err)
{
    struct jp_tmpl t;

    if (tmpl_parse(tmpl, &t, err) < 0)
        return -EINVAL;
    eval_nodes(&t, 0, (json_t *)root, (json_t *)root, " ", out);
    tmpl_release(&t);
    return 0;
}

int
pr_jsonpath_eval(const char *tmpl, const json_t *root, const char *sep, struct sk_buf *out,
                 struct sk_err *err)
{
    struct jp_tmpl t;

    if (tmpl_parse(tmpl, &t, err) < 0)
        return -EINVAL;
    eval_nodes(&t, 0, (json_t *)root, (json_t *)root, sep, out);
    tmpl_release(&t);
    return 0;
}
