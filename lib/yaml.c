/* YAML to JSON over libyaml's event parser; the rules are in yaml.h,
 * scalars are resolved in yaml_scalar.c.
 *
 * The reader keeps a stack of the mappings and sequences being built.
 * Each finished node is attached to the collection on top of the stack,
 * or becomes the document's root. Anchored nodes are remembered with
 * their size in nodes and their height, so that an alias is checked
 * against the limits before anything is copied: a "billion laughs"
 * document fails at its first oversized alias, in microseconds. */
#include "yaml.h"
#include "alloc.h"
#include "buf.h"
#include "yaml_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define TAG_PREFIX "tag:yaml.org,2002:"

struct anchor {
    json_t *value; /* the anchored node (a reference) */
    char *text;    /* a scalar's text, for an alias used as a key; else NULL */
    size_t nodes;  /* nodes in value, aliases expanded */
    size_t height; /* 0 for a scalar, 1 + the tallest child for a collection */
};

struct frame {
    json_t *value;     /* the mapping or sequence being built */
    bool is_map;       /* which of the two */
    char *anchor;      /* its anchor, registered once it is complete */
    yaml_mark_t mark;  /* where it starts */
    char *key;         /* mapping: the key awaiting its value, or NULL */
    bool key_is_merge; /* that key is the merge key "<<" */
    yaml_mark_t key_mark;
    json_t *merges;      /* mapping: the "<<" sources in order, or NULL */
    size_t nodes_before; /* the reader's node count before this node */
    size_t height;       /* the tallest child so far */
};

struct reader {
    const char *text; /* the input, to place libyaml's reader errors */
    size_t len;
    struct frame *stack;
    size_t depth;
    size_t stack_cap;
    struct anchor *anchors;
    size_t nanchors;
    size_t anchors_cap;
    json_t *anchor_index; /* anchor name -> index into anchors */
    size_t nodes;         /* nodes made in this document, aliases expanded */
    size_t alias_nodes;   /* nodes copied for aliases in the whole stream */
    size_t alias_limit;   /* most alias_nodes may grow to */
    json_t *root;         /* the current document's root once complete */
    struct sk_yaml_docs docs;
    struct sk_err *err;
};

static json_t *
json_checked(json_t *v)
{
    if (!v)
        SK_BUG("yaml: out of memory");
    return v;
}

__attribute__((format(printf, 3, 4))) static int
reader_fail(struct reader *r, yaml_mark_t mark, const char *fmt, ...)
{
    char msg[SK_ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return sk_err_set(r->err, EINVAL, "yaml: line %zu column %zu: %s", mark.line + 1,
                      mark.column + 1, msg);
}

static int
reader_wrap(struct reader *r, yaml_mark_t mark)
{
    return sk_err_wrap(r->err, "yaml: line %zu column %zu", mark.line + 1, mark.column + 1);
}

/* libyaml's reader errors (bad UTF-8, control characters) carry a byte
 * offset only; turn it into a line and a column in characters. */
static yaml_mark_t
mark_at_offset(const char *text, size_t len, size_t offset)
{
    yaml_mark_t mark = {0, 0, 0};

    for (size_t i = 0; i < offset && i < len; i++) {
        if (text[i] == '\n') {
            mark.line++;
            mark.column = 0;
        } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
            mark.column++;
        }
    }
    return mark;
}

static int
reader_parser_fail(struct reader *r, const yaml_parser_t *p)
{
    yaml_mark_t mark = p->problem_mark;

    if (p->error == YAML_MEMORY_ERROR)
        SK_BUG("yaml: out of memory");
    if (p->error == YAML_READER_ERROR)
        mark = mark_at_offset(r->text, r->len, p->problem_offset);
    if (p->context)
        return reader_fail(r, mark, "%s (%s at line %zu column %zu)", p->problem, p->context,
                           p->context_mark.line + 1, p->context_mark.column + 1);
    return reader_fail(r, mark, "%s", p->problem ? p->problem : "parse error");
}

static void
anchors_reset(struct reader *r)
{
    for (size_t i = 0; i < r->nanchors; i++) {
        json_decref(r->anchors[i].value);
        free(r->anchors[i].text);
    }
    r->nanchors = 0;
    json_object_clear(r->anchor_index);
}

/* Remember value (borrowed) under name; a later anchor of the same name
 * replaces it for the aliases that follow, as YAML says. */
static void
anchor_add(struct reader *r, const char *name, json_t *value, const char *text, size_t len,
           size_t nodes, size_t height)
{
    struct anchor *a;

    if (r->nanchors == r->anchors_cap) {
        r->anchors_cap = r->anchors_cap ? 2 * r->anchors_cap : 16;
        r->anchors = sk_reallocarray(r->anchors, r->anchors_cap, sizeof(*r->anchors));
    }
    a = &r->anchors[r->nanchors];
    a->value = json_incref(value);
    a->text = text && !memchr(text, '\0', len) ? sk_strndup(text, len) : NULL;
    a->nodes = nodes;
    a->height = height;
    if (json_object_set_new(r->anchor_index, name,
                            json_checked(json_integer((json_int_t)r->nanchors))) < 0)
        SK_BUG("yaml: cannot index anchor '%s'", name);
    r->nanchors++;
}

static struct anchor *
anchor_find(struct reader *r, const char *name)
{
    json_t *i = json_object_get(r->anchor_index, name);

    return i ? &r->anchors[json_integer_value(i)] : NULL;
}

static struct frame *
reader_top(struct reader *r)
{
    return r->depth ? &r->stack[r->depth - 1] : NULL;
}

static bool
expecting_key(const struct frame *top)
{
    return top && top->is_map && !top->key;
}

static void
frame_release(struct frame *f)
{
    json_decref(f->value);
    json_decref(f->merges);
    free(f->anchor);
    free(f->key);
}

/* A scalar (or an alias of one) in key position. Keys are strings of the
 * scalar's text; "<<" written plain and untagged is the merge key. */
static int
frame_set_key(struct reader *r, struct frame *top, const char *text, size_t len, bool merge_ok,
              yaml_mark_t mark)
{
    if (memchr(text, '\0', len))
        return reader_fail(r, mark, "mapping key contains a NUL character");
    if (json_object_get(top->value, text))
        return reader_fail(r, mark, "duplicate key '%.128s'", text);
    top->key = sk_strndup(text, len);
    top->key_is_merge = merge_ok && strcmp(text, "<<") == 0;
    top->key_mark = mark;
    return 0;
}

/* The value of "<<" (stolen): a mapping, or a list of mappings. */
static int
frame_add_merge(struct reader *r, struct frame *top, json_t *v, yaml_mark_t mark)
{
    size_t i;

    if (!top->merges)
        top->merges = json_checked(json_array());
    if (json_is_object(v)) {
        if (json_array_append_new(top->merges, v) < 0)
            SK_BUG("yaml: out of memory");
        return 0;
    }
    if (json_is_array(v)) {
        for (i = 0; i < json_array_size(v) && json_is_object(json_array_get(v, i)); i++)
            ;
        if (i == json_array_size(v)) {
            json_array_extend(top->merges, v);
            json_decref(v);
            return 0;
        }
    }
    json_decref(v);
    return reader_fail(r, mark, "merge key '<<' needs a mapping or a list of mappings");
}

/* Keys written in the mapping win over merged ones, and earlier sources
 * over later ones: a merged key is only added when still absent. */
static void
frame_apply_merges(struct frame *f)
{
    json_t *src, *val;
    const char *key;
    void *it;

    for (size_t i = 0; i < json_array_size(f->merges); i++) {
        src = json_array_get(f->merges, i);
        for (it = json_object_iter(src); it; it = json_object_iter_next(src, it)) {
            key = json_object_iter_key(it);
            val = json_object_iter_value(it);
            if (!json_object_get(f->value, key) && json_object_set(f->value, key, val) < 0)
                SK_BUG("yaml: out of memory");
        }
    }
}

/* Attach a finished node v (stolen) of the given height to the collection
 * on top, or make it the document's root. */
static int
reader_attach(struct reader *r, json_t *v, size_t height, yaml_mark_t mark)
{
    struct frame *top = reader_top(r);
    char *key;
    int rc = 0;

    if (!top) {
        r->root = v;
        return 0;
    }
    if (height > top->height)
        top->height = height;
    if (!top->is_map) {
        if (json_array_append_new(top->value, v) < 0)
            SK_BUG("yaml: out of memory");
        return 0;
    }
    key = top->key;
    top->key = NULL;
    if (top->key_is_merge)
        rc = frame_add_merge(r, top, v, mark);
    else if (json_object_set_new(top->value, key, v) < 0)
        rc = reader_fail(r, top->key_mark, "mapping key is not valid UTF-8");
    free(key);
    return rc;
}

static int
on_scalar(struct reader *r, const yaml_event_t *ev)
{
    const char *text = (const char *)ev->data.scalar.value;
    const char *tag = (const char *)ev->data.scalar.tag;
    const char *anchor = (const char *)ev->data.scalar.anchor;
    size_t len = ev->data.scalar.length;
    bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    struct frame *top = reader_top(r);
    json_t *v = NULL;

    /* A key needs resolving only for its anchor: an alias of it may be
     * used as a value later. */
    if (anchor || !expecting_key(top)) {
        if (sk_yaml_scalar_resolve(text, len, tag, plain, &v, r->err) < 0)
            return reader_wrap(r, ev->start_mark);
        r->nodes++;
        if (anchor)
            anchor_add(r, anchor, v, text, len, 1, 0);
    }
    if (expecting_key(top)) {
        json_decref(v);
        return frame_set_key(r, top, text, len, plain && !tag, ev->start_mark);
    }
    return reader_attach(r, v, 0, ev->start_mark);
}

static int
on_alias(struct reader *r, const yaml_event_t *ev)
{
    const char *name = (const char *)ev->data.alias.anchor;
    struct anchor *a = anchor_find(r, name);
    struct frame *top = reader_top(r);
    json_t *copy;

    if (!a)
        return reader_fail(r, ev->start_mark, "undefined alias '*%s'", name);
    if (expecting_key(top)) {
        if (!a->text)
            return reader_fail(r, ev->start_mark, "mapping keys must be scalars");
        return frame_set_key(r, top, a->text, strlen(a->text), false, ev->start_mark);
    }
    if (a->nodes > r->alias_limit - r->alias_nodes)
        return reader_fail(r, ev->start_mark, "alias '*%s' expands past %zu nodes in total", name,
                           r->alias_limit);
    if (r->depth + a->height > SK_YAML_MAX_DEPTH)
        return reader_fail(r, ev->start_mark, "alias '*%s' nests deeper than %d levels", name,
                           SK_YAML_MAX_DEPTH);
    copy = json_checked(json_deep_copy(a->value));
    r->alias_nodes += a->nodes;
    r->nodes += a->nodes;
    return reader_attach(r, copy, a->height, ev->start_mark);
}

static bool
collection_tag_ok(const char *tag, bool is_map)
{
    return !tag || strcmp(tag, "!") == 0 ||
           strcmp(tag, is_map ? TAG_PREFIX "map" : TAG_PREFIX "seq") == 0;
}

static int
on_collection_start(struct reader *r, const yaml_event_t *ev)
{
    bool is_map = ev->type == YAML_MAPPING_START_EVENT;
    const char *tag =
        (const char *)(is_map ? ev->data.mapping_start.tag : ev->data.sequence_start.tag);
    const char *anchor =
        (const char *)(is_map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor);
    struct frame *f;

    if (expecting_key(reader_top(r)))
        return reader_fail(r, ev->start_mark, "mapping keys must be scalars");
    if (!collection_tag_ok(tag, is_map) && sk_startswith(tag, TAG_PREFIX))
        return reader_fail(r, ev->start_mark, "unsupported tag '!!%.64s'",
                           tag + strlen(TAG_PREFIX));
    if (!collection_tag_ok(tag, is_map))
        return reader_fail(r, ev->start_mark, "unsupported tag '%.64s'", tag);
    if (r->depth >= SK_YAML_MAX_DEPTH)
        return reader_fail(r, ev->start_mark, "nesting deeper than %d levels", SK_YAML_MAX_DEPTH);
    if (r->depth == r->stack_cap) {
        r->stack_cap = r->stack_cap ? 2 * r->stack_cap : 16;
        r->stack = sk_reallocarray(r->stack, r->stack_cap, sizeof(*r->stack));
    }
    f = &r->stack[r->depth++];
    memset(f, 0, sizeof(*f));
    f->value = json_checked(is_map ? json_object() : json_array());
    f->is_map = is_map;
    f->anchor = anchor ? sk_strdup(anchor) : NULL;
    f->mark = ev->start_mark;
    f->nodes_before = r->nodes++;
    return 0;
}

static int
on_collection_end(struct reader *r)
{
    struct frame f = r->stack[--r->depth];
    size_t height = f.height + 1;
    json_t *v = f.value;

    if (f.merges)
        frame_apply_merges(&f);
    if (f.anchor)
        anchor_add(r, f.anchor, v, NULL, 0, r->nodes - f.nodes_before, height);
    f.value = NULL;
    frame_release(&f);
    return reader_attach(r, v, height, f.mark);
}

static void
on_document_end(struct reader *r)
{
    anchors_reset(r);
    if (r->root && !json_is_null(r->root))
        sk_yaml_docs_push(&r->docs, r->root);
    else
        json_decref(r->root);
    r->root = NULL;
    r->nodes = 0;
}

static int
reader_event(struct reader *r, const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        return on_scalar(r, ev);
    case YAML_ALIAS_EVENT:
        return on_alias(r, ev);
    case YAML_MAPPING_START_EVENT:
    case YAML_SEQUENCE_START_EVENT:
        return on_collection_start(r, ev);
    case YAML_MAPPING_END_EVENT:
    case YAML_SEQUENCE_END_EVENT:
        return on_collection_end(r);
    case YAML_DOCUMENT_END_EVENT:
        on_document_end(r);
        return 0;
    default:
        return 0;
    }
}

static void
reader_release(struct reader *r)
{
    while (r->depth)
        frame_release(&r->stack[--r->depth]);
    free(r->stack);
    anchors_reset(r);
    free(r->anchors);
    json_decref(r->anchor_index);
    json_decref(r->root);
    sk_yaml_docs_release(&r->docs);
}

int
sk_yaml_to_json(const char *text, size_t len, json_t ***docs, size_t *ndocs, struct sk_err *err)
{
    struct reader r = {.text = text, .len = len, .err = err};
    yaml_parser_t parser;
    yaml_event_t ev;
    bool done = false;
    int rc = 0;

    *docs = NULL;
    *ndocs = 0;
    r.anchor_index = json_checked(json_object());
    r.alias_limit = SK_YAML_MAX_ALIAS_NODES;
    if (len < SK_YAML_MAX_ALIAS_NODES / SK_YAML_ALIAS_NODES_PER_BYTE)
        r.alias_limit = len * SK_YAML_ALIAS_NODES_PER_BYTE;
    if (r.alias_limit < SK_YAML_MIN_ALIAS_NODES)
        r.alias_limit = SK_YAML_MIN_ALIAS_NODES;
    if (!yaml_parser_initialize(&parser))
        SK_BUG("yaml: out of memory");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    while (!done && rc == 0) {
        if (!yaml_parser_parse(&parser, &ev)) {
            rc = reader_parser_fail(&r, &parser);
            break;
        }
        done = ev.type == YAML_STREAM_END_EVENT;
        rc = reader_event(&r, &ev);
        yaml_event_delete(&ev);
    }
    if (rc == 0)
        sk_yaml_docs_detach(&r.docs, docs, ndocs);
    reader_release(&r);
    yaml_parser_delete(&parser);
    return rc;
}

void
sk_yaml_docs_push(struct sk_yaml_docs *docs, json_t *v)
{
    if (docs->n == docs->cap) {
        docs->cap = docs->cap ? 2 * docs->cap : 8;
        docs->v = sk_reallocarray(docs->v, docs->cap, sizeof(*docs->v));
    }
    docs->v[docs->n++] = v;
}

void
sk_yaml_docs_detach(struct sk_yaml_docs *docs, json_t ***out, size_t *n)
{
    *out = docs->v;
    *n = docs->n;
    memset(docs, 0, sizeof(*docs));
}

void
sk_yaml_docs_release(struct sk_yaml_docs *docs)
{
    sk_json_docs_free(docs->v, docs->n);
    memset(docs, 0, sizeof(*docs));
}

void
sk_json_docs_free(json_t **docs, size_t n)
{
    for (size_t i = 0; docs && i < n; i++)
        json_decref(docs[i]);
    free(docs);
}
