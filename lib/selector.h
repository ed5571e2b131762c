#ifndef SK_SELECTOR_H
#define SK_SELECTOR_H

/* Label selectors with the semantics of Kubernetes' labels.Parse and
 * metav1.LabelSelector (k8s.io/apimachinery/pkg/labels): the API filters
 * lists and watches with them, controllers find their pods with them, the
 * scheduler evaluates affinity with them, the CLI sends them with -l.
 *
 * String syntax: requirements separated by ',' (all must hold):
 *
 *     key=value  key==value  key!=value       equality, inequality
 *     key in (v1,v2)  key notin (v1,v2)       set membership
 *     key  !key                               exists, does not exist
 *     key>5  key<5                            integer comparison
 *
 * Blanks (space, tab, CR, LF) may surround any token. A value may be empty
 * ("key=", "key in (a,)"; "key in ()" is the set of the empty value).
 * Where a key or a value stands, "in" and "notin" are plain words ("in in
 * (in,notin)" is valid). An empty string selects everything.
 *
 * Keys: an optional prefix (a DNS subdomain: lowercase alphanumerics, '-'
 * and '.', at most 253 bytes) and '/', then a name of 1 to 63 bytes of
 * [A-Za-z0-9-_.] beginning and ending with [A-Za-z0-9]. Values: 0 to 63
 * bytes, same rule as a name. Gt/Lt values must be decimal integers.
 *
 * Matching, as Kubernetes: "=", "==" and "in" need the label present with
 * one of the values; "!=" and "notin" hold when the label is absent or has
 * none of the values; ">" and "<" need the label present and its value an
 * int64 (optional sign, decimal digits) greater / less than the operand.
 *
 * Canonical form (sk_selector_format), as Kubernetes' String(): the
 * requirements sorted by key (byte order; equal keys keep their order),
 * "!key", "key", "key=v", "key==v", "key!=v", "key>v", "key<v",
 * "key in (a,b)", "key notin (a,b)" with the values sorted, joined by ','.
 * Parsing also drops duplicate values, as Kubernetes keeps them in a set.
 *
 * Error messages quote the input and name the byte position (0-based) of
 * the offending token: "selector 'env in (a,b': expected ')' at position
 * 11". Untrusted text in messages is escaped (see quote.h). */

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"
#include "err.h"

enum sk_selector_op {
    SK_SELECTOR_IN,
    SK_SELECTOR_NOT_IN,
    SK_SELECTOR_EQUALS,        /* "=" */
    SK_SELECTOR_DOUBLE_EQUALS, /* "==", same meaning, kept for printing */
    SK_SELECTOR_NOT_EQUALS,
    SK_SELECTOR_EXISTS,
    SK_SELECTOR_DOES_NOT_EXIST,
    SK_SELECTOR_GT,
    SK_SELECTOR_LT,
};

/* One requirement. values are sorted (byte order); Exists and
 * DoesNotExist have none, the others at least one; for Gt/Lt num is the
 * one value as a number. */
struct sk_selector_req {
    char *key;
    enum sk_selector_op op;
    char **values;
    size_t nvalues;
    int64_t num;
};

/* A selector owns its requirements and their strings. nothing is set for
 * the selector of a null LabelSelector, which matches no object at all. */
struct sk_selector {
    struct sk_selector_req *reqs;
    size_t nreqs;
    int nothing;
};

/* Make sel the empty selector (matches everything); allocates nothing. */
void sk_selector_init(struct sk_selector *sel);

/* Free what sel owns and make it empty again. */
void sk_selector_release(struct sk_selector *sel);

/* Parse the string syntax into sel, which is overwritten without being
 * released. On failure sel is left empty (releasing it is harmless) and
 * -EINVAL returned with a message naming the position. */
int sk_selector_parse(const char *s, struct sk_selector *sel, struct sk_err *err);

/* Build sel from a metav1.LabelSelector object:
 *     {"matchLabels": {"k": "v"},
 *      "matchExpressions": [{"key": "k", "operator": "In|NotIn|Exists|DoesNotExist",
 *                            "values": ["v"]}]}
 * matchLabels entries become "k=v"; everything is ANDed. A NULL or JSON
 * null selector matches nothing and {} matches everything, as Kubernetes'
 * LabelSelectorAsSelector. Validation as Kubernetes': In/NotIn need
 * values, Exists/DoesNotExist must have none, keys and values are checked,
 * and unknown fields are errors (Kubernetes' decoder drops them or only
 * warns), as a misspelt "matchLabel" would otherwise select every object,
 * and the JSON types are checked (a string for each value). Errors name
 * the field under path (NULL: "selector"): "spec.selector.matchExpressions
 * [0].values: must be empty for operator Exists". sel is overwritten; on
 * failure it is left empty and -EINVAL returned. */
int sk_selector_from_json(const json_t *label_selector, struct sk_selector *sel, const char *path,
                          struct sk_err *err);

/* Build sel from a Service-style map {"k": "v", ...}: every entry becomes
 * "k=v". NULL, JSON null and {} give the empty selector (everything, as
 * Kubernetes' SelectorFromSet; a caller for which "no selector" means
 * "select nothing" must check that itself). Errors as above, e.g.
 * "spec.selector[app]: label value '-x': must ...". */
int sk_selector_from_map(const json_t *map, struct sk_selector *sel, const char *path,
                         struct sk_err *err);

/* Whether the labels of one object satisfy sel. lookup(ctx, key) returns
 * the label's value or NULL when the object has no such label. Pure; never
 * fails. */
int sk_selector_matches(const struct sk_selector *sel,
                        const char *(*lookup)(void *ctx, const char *key), void *ctx);

/* sk_selector_matches() on a JSON labels object (metadata.labels); NULL
 * or a non-object means no labels, a non-string value counts as absent. */
int sk_selector_matches_json(const struct sk_selector *sel, const json_t *labels);

/* Append the canonical string of sel to out (see above). The empty and
 * the nothing selector both print as "" (as in Kubernetes); tell them
 * apart with sk_selector_empty(). Returns 0; cannot fail. */
int sk_selector_format(const struct sk_selector *sel, struct sk_buf *out);

/* True if sel has no requirement and so matches everything (false for the
 * nothing selector). */
int sk_selector_empty(const struct sk_selector *sel);

/* Check a label key / value (metadata.labels, selectors). On failure
 * -EINVAL and "label key 'a/b/c': ..." / "label value '-x': ...". */
int sk_label_key_valid(const char *key, struct sk_err *err);
int sk_label_value_valid(const char *value, struct sk_err *err);

#endif
