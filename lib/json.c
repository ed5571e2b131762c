/* JSON parsing and encoding over jansson: see json.h. Field paths are in
 * json_path.c. */
#include "json.h"
#include "alloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* jansson keeps insertion order since 2.8 (JSON_PRESERVE_ORDER is kept
 * for older versions). 15 significant digits: see json.h. */
#define JSON_LINE_FLAGS                                                                            \
    (JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15))
#define JSON_PRETTY_FLAGS                                                                          \
    (JSON_INDENT(4) | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15))

_Static_assert(sizeof(json_int_t) == sizeof(int64_t), "jansson integers must be 64-bit");

int
sk_json_parse(const char *text, size_t len, json_t **out, struct sk_err *err)
{
    json_error_t jerr;

    *out = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!*out)
        return sk_err_set(err, EINVAL, "json: line %d column %d: %s", jerr.line, jerr.column,
                          jerr.text);
    return 0;
}

static int
json_buf_append(const char *data, size_t size, void *arg)
{
    sk_buf_append(arg, data, size);
    return 0;
}

static int
json_dump_flags(const json_t *v, struct sk_buf *out, size_t flags)
{
    size_t start = out->len;

    if (!v || json_dump_callback(v, json_buf_append, out, flags) < 0) {
        sk_buf_truncate(out, start);
        return -EINVAL;
    }
    return 0;
}

int
sk_json_dump_buf(const json_t *v, struct sk_buf *out)
{
    return json_dump_flags(v, out, JSON_LINE_FLAGS);
}

int
sk_json_dump_pretty(const json_t *v, struct sk_buf *out)
{
    if (json_dump_flags(v, out, JSON_PRETTY_FLAGS) < 0)
        return -EINVAL;
    sk_buf_putc(out, '\n');
    return 0;
}

char *
sk_json_dump_line(const json_t *v)
{
    struct sk_buf buf = SK_BUF_INIT;
    char *line;

    if (sk_json_dump_buf(v, &buf) < 0) {
        sk_buf_release(&buf);
        return NULL;
    }
    line = sk_buf_detach(&buf, NULL);
    /* The line protocol frames on '\n'; jansson escapes control
     * characters in compact mode, so this is a broken invariant. */
    if (strchr(line, '\n'))
        SK_BUG("json: compact encoding holds a newline");
    return line;
}
