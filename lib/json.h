#ifndef SK_JSON_H
#define SK_JSON_H

/* JSON glue over jansson: parsing with positions in the error, the
 * single-line encoding of the line protocol, the pretty encoding of
 * `-o json`, and typed access to fields by path.
 *
 * Field paths name a value inside an object the way Kubernetes error
 * messages do:
 *
 *     metadata.name
 *     spec.containers[0].image
 *     metadata.annotations["kubernetes.io/name"]     (or ['...'])
 *
 * Grammar: a path is one or more segments; the first is a bare name or a
 * bracket, later ones are ".name" or a bracket. A bare name is any run of
 * characters other than '.', '[' and ']'. A bracket holds either a
 * decimal index ("[2]", into an array) or a quoted key ("[\"a.b\"]" or
 * "['a.b']", into an object) in which a backslash escapes the quote and
 * itself; keys that contain '.', '[' or ']' (annotation and label keys
 * like "kubernetes.io/name") must be quoted. The empty path is malformed.
 * A malformed path is reported as -EINVAL "field path '<path>': ...".
 *
 * JSON null counts as missing everywhere below, as Kubernetes treats it. */

#include "buf.h"
#include "err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parse text[0..len) as one JSON value of any type (object, array or
 * scalar); text need not be NUL-terminated. Duplicate object keys,
 * trailing data, "\u0000" in strings and nesting deeper than jansson's
 * limit (2048) are refused. Integers beyond int64 are refused rather than
 * rounded. On success *out is a new reference the caller decrefs. On
 * failure returns -EINVAL with "json: line L column C: <jansson text>". */
int sk_json_parse(const char *text, size_t len, json_t **out, struct sk_err *err);

/* Encode v as compact single-line JSON for the line protocol: no spaces,
 * object keys in insertion order, reals with 15 significant digits (every
 * decimal a user writes with up to 15 digits reads back unchanged, and
 * re-encoding is stable), non-ASCII left as UTF-8. Control characters in
 * strings are escaped, so the result never holds a raw newline. Returns a
 * string the caller free()s, or NULL when jansson cannot encode v (NULL
 * or a reference cycle); out of memory aborts. */
char *sk_json_dump_line(const json_t *v);

/* Append the single-line encoding of v (as above) to out, without a
 * newline. Returns 0, or -EINVAL (out unchanged) when v cannot be
 * encoded. */
int sk_json_dump_buf(const json_t *v, struct sk_buf *out);

/* Append the `-o json` encoding of v to out: indented by 4 spaces like
 * `kubectl get -o json` (Go's json.MarshalIndent), keys in insertion
 * order, ending with a newline. Returns 0 or -EINVAL as above. */
int sk_json_dump_pretty(const json_t *v, struct sk_buf *out);

/* The value at path inside root (a borrowed reference, possibly JSON
 * null), or NULL when it is missing, an index is out of range, a value
 * on the way has the wrong type, or the path is malformed. */
json_t *sk_json_get(const json_t *root, const char *path);

/* Typed getters. Each stores a borrowed value in *out and returns 0. A
 * missing or null value (or an index past the end) returns -ENOENT with
 * "<path>: required" ("<path>: index out of range (N items)" for an
 * index); a value of the wrong type, here or on the way, returns -EINVAL
 * with "<path>: must be a string" (an integer, a boolean, an object, an
 * array). Strings live as long as root is not changed. */
int sk_json_get_string(const json_t *root, const char *path, const char **out, struct sk_err *err);
/* Integers are int64. A real with an integral value in range (3.0, 1e3:
 * YAML and other encoders produce them) is accepted; any other real is
 * "must be an integer", one outside int64 "out of range". */
int sk_json_get_int(const json_t *root, const char *path, int64_t *out, struct sk_err *err);
int sk_json_get_bool(const json_t *root, const char *path, bool *out, struct sk_err *err);
int sk_json_get_object(const json_t *root, const char *path, json_t **out, struct sk_err *err);
int sk_json_get_array(const json_t *root, const char *path, json_t **out, struct sk_err *err);

/* Optional getters: like the above, but a missing or null value stores
 * def (NULL for objects and arrays) and returns 1. A wrong type or a
 * malformed path is still an error. */
int sk_json_opt_string(const json_t *root, const char *path, const char *def, const char **out,
                       struct sk_err *err);
int sk_json_opt_int(const json_t *root, const char *path, int64_t def, int64_t *out,
                    struct sk_err *err);
int sk_json_opt_bool(const json_t *root, const char *path, bool def, bool *out, struct sk_err *err);
int sk_json_opt_object(const json_t *root, const char *path, json_t **out, struct sk_err *err);
int sk_json_opt_array(const json_t *root, const char *path, json_t **out, struct sk_err *err);

/* Store value at path inside root, creating missing (or null)
 * intermediate objects; arrays are never created, an index must name an
 * existing element, which is replaced. Steals the reference to value,
 * also on failure. Fails with -EINVAL "<prefix>: must be an object" (an
 * array) when a value on the way has another type, -ENOENT when an array
 * on the way is missing or an index is out of range. */
int sk_json_set(json_t *root, const char *path, json_t *value, struct sk_err *err);

/* A path under construction, for validators that walk an object and
 * report where a problem is ("spec.containers[2].ports[0].containerPort").
 * Each push returns a mark; pop(mark) goes back to the path before that
 * push. Keys that need it are quoted, so the result is a valid field
 * path. Lifecycle: sk_json_path_init (no allocation), _release. */
struct sk_json_path {
    struct sk_buf buf;
};

void sk_json_path_init(struct sk_json_path *p);
void sk_json_path_release(struct sk_json_path *p);
size_t sk_json_path_push_key(struct sk_json_path *p, const char *key);
size_t sk_json_path_push_index(struct sk_json_path *p, size_t index);
void sk_json_path_pop(struct sk_json_path *p, size_t mark);
/* The path so far; "" when empty. Valid until the next push or pop. */
const char *sk_json_path_str(const struct sk_json_path *p);

#endif
