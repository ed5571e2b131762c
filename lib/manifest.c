/* Manifests for `apply -f`: JSON or YAML streams of objects, lists
 * flattened into their items (see yaml.h). */
#include "alloc.h"
#include "yaml.h"
#include "yaml_int.h"

#include <errno.h>
#include <string.h>

#define UTF8_BOM "\xEF\xBB\xBF"

static size_t
skip_space(const char *text, size_t len, size_t i)
{
    while (i < len && strchr(" \t\r\n", text[i]) && text[i] != '\0')
        i++;
    return i;
}

/* Move a 1-based (line, column) position over text[from..to); columns
 * count characters, not bytes, as jansson's do. */
static void
advance_pos(const char *text, size_t from, size_t to, int *line, int *col)
{
    for (size_t i = from; i < to; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
            (*col)++;
        }
    }
}

/* A stream of JSON objects or arrays separated by white space, as
 * kubectl accepts. jansson stops after each value (JSON_DISABLE_EOF_CHECK)
 * and reports positions relative to where it started, which are turned
 * back into positions in the whole text. */
static int
manifest_json_stream(const char *text, size_t len, struct sk_yaml_docs *out, struct sk_err *err)
{
    size_t off = 0, next;
    int line = 1, col = 1;
    json_error_t jerr;
    json_t *v;

    for (;;) {
        next = skip_space(text, len, off);
        advance_pos(text, off, next, &line, &col);
        off = next;
        if (off == len)
            return 0;
        v = json_loadb(text + off, len - off, JSON_REJECT_DUPLICATES | JSON_DISABLE_EOF_CHECK,
                       &jerr);
        if (!v)
            return sk_err_set(err, EINVAL, "json: line %d column %d: %s", line + jerr.line - 1,
                              jerr.line == 1 ? col + jerr.column - 1 : jerr.column, jerr.text);
        sk_yaml_docs_push(out, v);
        next = off + (size_t)jerr.position;
        advance_pos(text, off, next, &line, &col);
        off = next;
    }
}

static bool
is_list_kind(const json_t *doc)
{
    const char *kind = json_string_value(json_object_get(doc, "kind"));
    size_t n = kind ? strlen(kind) : 0;

    return n >= 4 && strcmp(kind + n - 4, "List") == 0;
}

/* Add document number docno (borrowed) to out: an object as itself, an
 * array or a List as its items, each of which must be an object. */
static int
manifest_add(struct sk_yaml_docs *out, json_t *doc, size_t docno, struct sk_err *err)
{
    const char *where = "";
    json_t *items = doc;
    json_t *item;
    size_t i;

    if (json_is_object(doc) && !is_list_kind(doc)) {
        sk_yaml_docs_push(out, json_incref(doc));
        return 0;
    }
    if (json_is_object(doc)) {
        items = json_object_get(doc, "items");
        where = "items";
        if (!items || json_is_null(items))
            return 0;
        if (!json_is_array(items))
            return sk_err_set(err, EINVAL, "document %zu: items: must be an array", docno);
    } else if (!json_is_array(doc)) {
        return sk_err_set(err, EINVAL, "document %zu: must be a mapping/object", docno);
    }
    for (i = 0; i < json_array_size(items); i++) {
        item = json_array_get(items, i);
        if (!json_is_object(item))
            return sk_err_set(err, EINVAL, "document %zu: %s[%zu]: must be a mapping/object", docno,
                              where, i);
        sk_yaml_docs_push(out, json_incref(item));
    }
    return 0;
}

int
sk_manifest_parse(const char *text, size_t len, json_t ***docs, size_t *ndocs, struct sk_err *err)
{
    struct sk_yaml_docs raw = {0}, out = {0};
    size_t start = 0, first;
    int rc;

    *docs = NULL;
    *ndocs = 0;
    if (len >= 3 && memcmp(text, UTF8_BOM, 3) == 0)
        start = 3;
    first = skip_space(text, len, start);
    if (first < len && (text[first] == '{' || text[first] == '['))
        rc = manifest_json_stream(text + start, len - start, &raw, err);
    else
        rc = sk_yaml_to_json(text, len, &raw.v, &raw.n, err);
    raw.cap = raw.n;
    for (size_t i = 0; rc == 0 && i < raw.n; i++)
        rc = manifest_add(&out, raw.v[i], i + 1, err);
    sk_yaml_docs_release(&raw);
    if (rc < 0) {
        sk_yaml_docs_release(&out);
        return rc;
    }
    sk_yaml_docs_detach(&out, docs, ndocs);
    return 0;
}
