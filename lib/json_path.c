/* Field paths into JSON values: lookup, typed getters, set, and the path
 * builder. The path grammar is in json.h. */
#include "json.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Longer than any Kubernetes key (a 253-byte prefix, '/', 63 bytes). */
#define PATH_KEY_MAX 1024

enum seg_kind {
    SEG_KEY,
    SEG_INDEX,
};

struct seg {
    enum seg_kind kind;
    size_t start; /* offset of the segment in the path: what precedes is its parent */
    size_t index;
    char key[PATH_KEY_MAX];
};

static int
path_fail(struct sk_err *err, const char *path, size_t off, const char *what)
{
    return sk_err_set(err, EINVAL, "field path '%s': %s at offset %zu", path, what, off);
}

static int
seg_name(const char *path, size_t i, size_t *pos, struct seg *seg, struct sk_err *err)
{
    size_t n = strcspn(path + i, ".[]");

    if (path[i + n] == ']')
        return path_fail(err, path, i + n, "unexpected ']'");
    if (n == 0)
        return path_fail(err, path, i, "empty name");
    if (n >= PATH_KEY_MAX)
        return path_fail(err, path, i, "name too long");
    seg->kind = SEG_KEY;
    memcpy(seg->key, path + i, n);
    seg->key[n] = '\0';
    *pos = i + n;
    return 1;
}

static int
seg_index(const char *path, size_t i, size_t *pos, struct seg *seg, struct sk_err *err)
{
    size_t v = 0;

    for (; path[i] >= '0' && path[i] <= '9'; i++) {
        if (v > (SIZE_MAX - 9) / 10)
            return path_fail(err, path, i, "index too large");
        v = v * 10 + (size_t)(path[i] - '0');
    }
    if (path[i] != ']')
        return path_fail(err, path, i, "expected ']'");
    seg->kind = SEG_INDEX;
    seg->index = v;
    *pos = i + 1;
    return 1;
}

/* A quoted key: the quote character q ends it, a backslash escapes q or
 * itself. */
static int
seg_quoted(const char *path, size_t i, size_t *pos, struct seg *seg, struct sk_err *err)
{
    char q = path[i++];
    size_t n = 0;

    for (; path[i] != q; i++) {
        if (path[i] == '\0')
            return path_fail(err, path, i, "unterminated quoted key");
        if (path[i] == '\\') {
            i++;
            if (path[i] != q && path[i] != '\\')
                return path_fail(err, path, i, "bad escape in quoted key");
        }
        if (n + 1 >= PATH_KEY_MAX)
            return path_fail(err, path, i, "quoted key too long");
        seg->key[n++] = path[i];
    }
    if (path[i + 1] != ']')
        return path_fail(err, path, i + 1, "expected ']'");
    seg->kind = SEG_KEY;
    seg->key[n] = '\0';
    *pos = i + 2;
    return 1;
}

/* Parse the segment at *pos and advance past it. Returns 1 with *seg
 * filled, 0 at the end of the path, -EINVAL when it is malformed. */
static int
seg_next(const char *path, size_t *pos, struct seg *seg, struct sk_err *err)
{
    size_t i = *pos;

    if (path[i] == '\0')
        return i == 0 ? path_fail(err, path, 0, "empty path") : 0;
    seg->start = i;
    if (path[i] == '[') {
        i++;
        if (path[i] == '"' || path[i] == '\'')
            return seg_quoted(path, i, pos, seg, err);
        if (path[i] >= '0' && path[i] <= '9')
            return seg_index(path, i, pos, seg, err);
        return path_fail(err, path, i, "expected an index or a quoted key");
    }
    if (i > 0) {
        if (path[i] != '.')
            return path_fail(err, path, i, "expected '.' or '['");
        i++;
    }
    return seg_name(path, i, pos, seg, err);
}

/* Check the whole path first, so a malformed one is reported the same way
 * whatever the data holds. */
static int
path_check(const char *path, struct sk_err *err)
{
    struct seg seg;
    size_t pos = 0;
    int rc;

    while ((rc = seg_next(path, &pos, &seg, err)) > 0)
        ;
    return rc;
}

/* cur must be an object for a key, an array for an index; the message
 * names cur by the path before seg, or "(root)". */
static int
seg_check_type(const char *path, const struct seg *seg, const json_t *cur, struct sk_err *err)
{
    int len = seg->start ? (int)seg->start : 6;
    const char *parent = seg->start ? path : "(root)";

    if (seg->kind == SEG_KEY && !json_is_object(cur))
        return sk_err_set(err, EINVAL, "%.*s: must be an object", len, parent);
    if (seg->kind == SEG_INDEX && !json_is_array(cur))
        return sk_err_set(err, EINVAL, "%.*s: must be an array", len, parent);
    return 0;
}

/* The child of cur named by seg (NULL when missing); cur has the right
 * type. An index past the end fails with -ENOENT. */
static int
seg_child(const char *path, size_t pos, const struct seg *seg, const json_t *cur, json_t **child,
          struct sk_err *err)
{
    if (seg->kind == SEG_KEY) {
        *child = json_object_get(cur, seg->key);
        return 0;
    }
    if (seg->index >= json_array_size(cur))
        return sk_err_set(err, ENOENT, "%.*s: index out of range (%zu items)", (int)pos, path,
                          json_array_size(cur));
    *child = json_array_get(cur, seg->index);
    return 0;
}

/* Walk path from root. Returns 0 with *out set (possibly JSON null);
 * -ENOENT when a value on the way is missing or null or an index is out
 * of range; -EINVAL for a wrong type on the way or a malformed path. */
static int
path_lookup(const json_t *root, const char *path, json_t **out, struct sk_err *err)
{
    json_t *cur = (json_t *)root;
    struct seg seg;
    size_t pos = 0;
    int rc;

    rc = path_check(path, err);
    if (rc < 0)
        return rc;
    while (seg_next(path, &pos, &seg, err) > 0) {
        if (!cur || json_is_null(cur))
            return sk_err_set(err, ENOENT, "%s: required", path);
        rc = seg_check_type(path, &seg, cur, err);
        if (rc == 0)
            rc = seg_child(path, pos, &seg, cur, &cur, err);
        if (rc < 0)
            return rc;
    }
    if (!cur)
        return sk_err_set(err, ENOENT, "%s: required", path);
    *out = cur;
    return 0;
}

json_t *
sk_json_get(const json_t *root, const char *path)
{
    json_t *v = NULL;

    return path_lookup(root, path, &v, NULL) < 0 ? NULL : v;
}

enum want {
    WANT_STRING,
    WANT_INT,
    WANT_BOOL,
    WANT_OBJECT,
    WANT_ARRAY,
};

static const char *const want_name[] = {
    [WANT_STRING] = "a string",  [WANT_INT] = "an integer", [WANT_BOOL] = "a boolean",
    [WANT_OBJECT] = "an object", [WANT_ARRAY] = "an array",
};

static bool
want_ok(const json_t *v, enum want w)
{
    switch (w) {
    case WANT_STRING:
        return json_is_string(v);
    case WANT_INT:
        return json_is_number(v);
    case WANT_BOOL:
        return json_is_boolean(v);
    case WANT_OBJECT:
        return json_is_object(v);
    case WANT_ARRAY:
        return json_is_array(v);
    }
    return false;
}

static int
get_value(const json_t *root, const char *path, enum want w, json_t **out, struct sk_err *err)
{
    json_t *v = NULL;
    int rc;

    rc = path_lookup(root, path, &v, err);
    if (rc < 0)
        return rc;
    if (json_is_null(v))
        return sk_err_set(err, ENOENT, "%s: required", path);
    if (!want_ok(v, w))
        return sk_err_set(err, EINVAL, "%s: must be %s", path, want_name[w]);
    *out = v;
    return 0;
}

/* Like get_value(), but missing is success: *out = NULL and 1. */
static int
opt_value(const json_t *root, const char *path, enum want w, json_t **out, struct sk_err *err)
{
    struct sk_err tmp;
    int rc;

    sk_err_init(&tmp);
    rc = get_value(root, path, w, out, &tmp);
    if (rc == -ENOENT) {
        *out = NULL;
        return 1;
    }
    if (rc < 0)
        return sk_err_copy(err, &tmp);
    return 0;
}

/* 2^63 is exact in a double; [-2^63, 2^63) is the int64 range. */
static int
number_to_int64(const char *path, const json_t *v, int64_t *out, struct sk_err *err)
{
    double d;

    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    d = json_real_value(v);
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
        return sk_err_set(err, EINVAL, "%s: integer out of range", path);
    if ((double)(int64_t)d != d)
        return sk_err_set(err, EINVAL, "%s: must be an integer", path);
    *out = (int64_t)d;
    return 0;
}

int
sk_json_get_string(const json_t *root, const char *path, const char **out, struct sk_err *err)
{
    json_t *v = NULL;
    int rc = get_value(root, path, WANT_STRING, &v, err);

    if (rc == 0)
        *out = json_string_value(v);
    return rc;
}

int
sk_json_get_int(const json_t *root, const char *path, int64_t *out, struct sk_err *err)
{
    json_t *v = NULL;
    int rc = get_value(root, path, WANT_INT, &v, err);

    return rc < 0 ? rc : number_to_int64(path, v, out, err);
}

int
sk_json_get_bool(const json_t *root, const char *path, bool *out, struct sk_err *err)
{
    json_t *v = NULL;
    int rc = get_value(root, path, WANT_BOOL, &v, err);

    if (rc == 0)
        *out = json_is_true(v);
    return rc;
}

int
sk_json_get_object(const json_t *root, const char *path, json_t **out, struct sk_err *err)
{
    return get_value(root, path, WANT_OBJECT, out, err);
}

int
sk_json_get_array(const json_t *root, const char *path, json_t **out, struct sk_err *err)
{
    return get_value(root, path, WANT_ARRAY, out, err);
}

int
sk_json_opt_string(const json_t *root, const char *path, const char *def, const char **out,
                   struct sk_err *err)
{
    json_t *v = NULL;
    int rc = opt_value(root, path, WANT_STRING, &v, err);

    if (rc >= 0)
        *out = v ? json_string_value(v) : def;
    return rc;
}

int
sk_json_opt_int(const json_t *root, const char *path, int64_t def, int64_t *out, struct sk_err *err)
{
    json_t *v = NULL;
    int rc = opt_value(root, path, WANT_INT, &v, err);

    if (rc < 0)
        return rc;
    if (!v) {
        *out = def;
        return 1;
    }
    return number_to_int64(path, v, out, err);
}

int
sk_json_opt_bool(const json_t *root, const char *path, bool def, bool *out, struct sk_err *err)
{
    json_t *v = NULL;
    int rc = opt_value(root, path, WANT_BOOL, &v, err);

    if (rc >= 0)
        *out = v ? json_is_true(v) : def;
    return rc;
}

int
sk_json_opt_object(const json_t *root, const char *path, json_t **out, struct sk_err *err)
{
    return opt_value(root, path, WANT_OBJECT, out, err);
}

int
sk_json_opt_array(const json_t *root, const char *path, json_t **out, struct sk_err *err)
{
    return opt_value(root, path, WANT_ARRAY, out, err);
}

/* Store v (stolen) as the child of cur named by seg; cur has the right
 * type and an index is in range. jansson refuses keys that are not
 * UTF-8. */
static int
seg_store(const char *path, const struct seg *seg, json_t *cur, json_t *v, struct sk_err *err)
{
    int rc;

    if (seg->kind == SEG_KEY)
        rc = json_object_set_new(cur, seg->key, v);
    else
        rc = json_array_set_new(cur, seg->index, v);
    if (rc < 0)
        return sk_err_set(err, EINVAL, "field path '%s': cannot store at offset %zu", path,
                          seg->start);
    return 0;
}

/* Step from *cur into the child named by seg, creating an object there
 * when it is missing or null and the next segment (starting at path[pos])
 * names a key. */
static int
set_descend(const char *path, size_t pos, const struct seg *seg, json_t **cur, struct sk_err *err)
{
    bool next_is_key = path[pos] == '.' || path[pos + 1] == '"' || path[pos + 1] == '\'';
    json_t *child;
    int rc;

    rc = seg_check_type(path, seg, *cur, err);
    if (rc == 0)
        rc = seg_child(path, pos, seg, *cur, &child, err);
    if (rc < 0)
        return rc;
    if (!child || json_is_null(child)) {
        if (!next_is_key)
            return sk_err_set(err, ENOENT, "%.*s: required", (int)pos, path);
        child = json_object();
        if (!child)
            SK_BUG("json: out of memory");
        rc = seg_store(path, seg, *cur, child, err);
        if (rc < 0)
            return rc;
    }
    *cur = child;
    return 0;
}

int
sk_json_set(json_t *root, const char *path, json_t *value, struct sk_err *err)
{
    struct seg seg;
    size_t pos = 0;
    json_t *cur = root;
    json_t *old;
    int rc;

    rc = path_check(path, err);
    if (rc < 0)
        goto out_drop_value;
    seg_next(path, &pos, &seg, err);
    while (path[pos] != '\0') {
        rc = set_descend(path, pos, &seg, &cur, err);
        if (rc < 0)
            goto out_drop_value;
        seg_next(path, &pos, &seg, err);
    }
    rc = seg_check_type(path, &seg, cur, err);
    if (rc == 0)
        rc = seg_child(path, pos, &seg, cur, &old, err);
    if (rc < 0)
        goto out_drop_value;
    return seg_store(path, &seg, cur, value, err);
out_drop_value:
    json_decref(value);
    return rc;
}

void
sk_json_path_init(struct sk_json_path *p)
{
    sk_buf_init(&p->buf);
}

void
sk_json_path_release(struct sk_json_path *p)
{
    sk_buf_release(&p->buf);
}

size_t
sk_json_path_push_key(struct sk_json_path *p, const char *key)
{
    size_t mark = p->buf.len;

    if (key[0] && !key[strcspn(key, ".[]")]) {
        if (mark)
            sk_buf_putc(&p->buf, '.');
        sk_buf_puts(&p->buf, key);
        return mark;
    }
    sk_buf_puts(&p->buf, "[\"");
    for (; *key; key++) {
        if (*key == '"' || *key == '\\')
            sk_buf_putc(&p->buf, '\\');
        sk_buf_putc(&p->buf, *key);
    }
    sk_buf_puts(&p->buf, "\"]");
    return mark;
}

size_t
sk_json_path_push_index(struct sk_json_path *p, size_t index)
{
    size_t mark = p->buf.len;

    sk_buf_printf(&p->buf, "[%zu]", index);
    return mark;
}

void
sk_json_path_pop(struct sk_json_path *p, size_t mark)
{
    sk_buf_truncate(&p->buf, mark);
}

const char *
sk_json_path_str(const struct sk_json_path *p)
{
    return p->buf.data ? p->buf.data : "";
}
