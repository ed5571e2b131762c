#ifndef SK_YAML_INT_H
#define SK_YAML_INT_H

/* Private to lib/yaml.c, lib/yaml_scalar.c and lib/manifest.c. */

#include "err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Resolve one scalar node to JSON by the rules in yaml.h. tag is the
 * node's tag as libyaml reports it (NULL when it has none); plain is true
 * for an unquoted, non-block scalar. Returns 0 with a new reference in
 * *out, or -EINVAL with a message that does not say where (the caller
 * knows the position). */
int sk_yaml_scalar_resolve(const char *text, size_t len, const char *tag, bool plain, json_t **out,
                           struct sk_err *err);

/* A growable array of JSON documents, handed out as sk_yaml_to_json()'s
 * result. */
struct sk_yaml_docs {
    json_t **v;
    size_t n;
    size_t cap;
};

/* Append v (reference stolen). */
void sk_yaml_docs_push(struct sk_yaml_docs *docs, json_t *v);
/* Hand the array to the caller as (*out, *n) and empty docs. */
void sk_yaml_docs_detach(struct sk_yaml_docs *docs, json_t ***out, size_t *n);
/* Decref everything and free. */
void sk_yaml_docs_release(struct sk_yaml_docs *docs);

#endif
