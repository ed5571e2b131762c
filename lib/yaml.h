#ifndef SK_YAML_H
#define SK_YAML_H

/* YAML (libyaml) to JSON (jansson), and manifest reading for `apply -f`.
 *
 * Scalars resolve the way kubectl's YAML 1.1 resolver does, so manifests
 * written for Kubernetes mean the same here. A plain (unquoted) scalar is
 *
 *   null      "", ~, null, Null, NULL
 *   boolean   true/false, yes/no, on/off, each as lower, Capitalised or
 *             UPPER case ("y" and "n" stay strings)
 *   integer   [-+] then decimal, 0x hex, 0o octal, 0b binary, or a
 *             leading 0 and octal digits (YAML 1.1: "0644" is 420, as
 *             in a Secret volume's defaultMode); a decimal beyond int64
 *             becomes a real, any other base beyond int64 is an error
 *   real      [-+] digits with a '.' and/or an exponent (1.5, .5, 1e3);
 *             .inf and .nan are refused, JSON cannot hold them
 *   string    anything else ("1_000", "0x", "12:30", "2024-01-01")
 *
 * Quoted ('...', "...") and block (| and >) scalars are strings, verbatim.
 * The tags !!str, !!int, !!float, !!bool, !!null (and "!", meaning string)
 * override the resolution; !!map and !!seq are accepted on collections;
 * any other tag is refused.
 *
 * Mapping keys must be scalars and become strings of their text ("yes:"
 * is the key "yes", "0x10:" the key "0x10"). A duplicate key is an error.
 * Anchors and aliases are expanded into deep copies (so changing one copy
 * never changes another); the merge key "<<" takes a mapping or a list of
 * mappings, keys written in the mapping win over merged ones, and earlier
 * mappings in the list win over later ones. Merged keys follow the
 * mapping's own keys.
 *
 * Limits, against hostile input ("billion laughs"): nesting 1000 levels;
 * aliases in a stream expanding to 100 nodes per input byte in total
 * (but at least 10,000 and at most 1,000,000). Legitimate anchors rarely
 * expand past a few nodes per byte; a bomb needs an exponential ratio.
 * Both limits are checked before anything is copied, so a bomb is
 * refused at once, without first building up memory.
 *
 * Errors read "yaml: line L column C: <problem>", 1-based. */

#include "err.h"

#include <jansson.h>
#include <stddef.h>

#define SK_YAML_MAX_DEPTH            1000
#define SK_YAML_ALIAS_NODES_PER_BYTE 100
#define SK_YAML_MIN_ALIAS_NODES      10000
#define SK_YAML_MAX_ALIAS_NODES      1000000

/* Convert a YAML stream (text[0..len), need not be NUL-terminated) into
 * one JSON value per document, any type. Documents that are empty or
 * null (only comments, "---" alone, "~") are skipped, as kubectl does.
 * On success *docs is an array of *ndocs new references (NULL when 0)
 * the caller frees with sk_json_docs_free(). On failure returns -EINVAL
 * and sets *docs = NULL, *ndocs = 0. */
int sk_yaml_to_json(const char *text, size_t len, json_t ***docs, size_t *ndocs,
                    struct sk_err *err);

/* Read a manifest file's contents: JSON or YAML, one or more objects.
 * When the first character after white space (and a UTF-8 BOM) is '{'
 * or '[', the text is a stream of JSON values parsed by jansson (exact
 * integers, "json: line L column C: ..." errors); otherwise it is YAML.
 * A document that is an array, or an object whose kind is "List" or ends
 * in "List" (e.g. PodList from `get -o json`), stands for its items.
 * Every resulting document must be an object, else -EINVAL "document N:
 * must be a mapping/object" (N counts the non-empty documents from 1).
 * Output and ownership as for sk_yaml_to_json(). */
int sk_manifest_parse(const char *text, size_t len, json_t ***docs, size_t *ndocs,
                      struct sk_err *err);

/* Decref docs[0..n) and free the array. NULL is fine. */
void sk_json_docs_free(json_t **docs, size_t n);

#endif
