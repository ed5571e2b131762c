#ifndef SK_API_OBJECTS_H
#define SK_API_OBJECTS_H

/* The object verbs of the API server (skiff-protocol(7), OBJECT VERBS):
 * get, list, create, apply, update, status, patch, bind, scale, delete,
 * watch, api-resources, whoami (logs and exec answer 501 until the node
 * agent relays them). Objects live in the store as compact JSON under
 * api_key_build() keys; their resourceVersion is the key's mod_revision,
 * set whenever an object is read. Writes run the pure pipeline of
 * api/object.h and commit with a store txn that compares the revision
 * they read (optimistic concurrency, as Kubernetes's GuaranteedUpdate).
 *
 * The rest of this header is the pure part (request parsing, merge
 * patch, selectors on objects, continue tokens, watch event decisions),
 * exported for the unit tests. */

#include "api/object.h"
#include "api/server.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "lib/loop.h"
#include "lib/selector.h"
#include "store/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct api_objects;

struct api_objects_config {
    api_authorize_fn authorize; /* NULL: every request is allowed */
    void *authorize_arg;
    api_admit_fn admit; /* NULL: every write is admitted */
    void *admit_arg;
    bool no_bootstrap; /* do not create the default namespaces (tests) */
};

/* Register the object verbs on srv, serving store s. cfg may be NULL
 * (allow everything). At start the default namespaces (default,
 * kube-system, kube-public, kube-node-lease) are created in the
 * background, retried until a leader accepts them. Free with
 * api_objects_free after api_server_stop and before store_close. */
struct api_objects *api_objects_register(struct api_server *srv, struct sk_loop *loop,
                                         struct store *s, const struct api_objects_config *cfg);
void api_objects_free(struct api_objects *o);

/* ---- request parsing (objects_args.c) ---- */

enum api_obj_verb {
    API_OBJ_GET,
    API_OBJ_LIST,
    API_OBJ_WATCH,
    API_OBJ_CREATE,
    API_OBJ_APPLY,
    API_OBJ_UPDATE,
    API_OBJ_STATUS,
    API_OBJ_PATCH,
    API_OBJ_BIND,
    API_OBJ_SCALE,
    API_OBJ_DELETE,
};

/* The arguments of one object request. Strings point into the argument
 * text given to api_obj_args_parse (decoded in place). */
struct api_obj_args {
    enum api_obj_verb verb;
    const struct api_kind *kind; /* NULL for bodies (create ... status) */
    const char *ns;              /* "" cluster-scoped, or all namespaces */
    const char *name;            /* "" when not given */
    const char *node;            /* bind */
    const char *body;            /* the JSON text, raw; NULL when none */
    size_t body_len;
    const char *selector; /* "" when not given */
    const char *fields;
    const char *cont;
    const char *subresource; /* "" or "status" (patch) */
    const char *uid;         /* bind, delete precondition; NULL */
    int64_t rev;             /* rev=; -1 when not given */
    int64_t limit;           /* 0: none */
    int64_t grace;           /* -1: the object's default */
    enum api_propagation propagation;
    int64_t replicas; /* scale */
    bool bookmarks;   /* watch */
};

/* Parse the arguments of verb (the text after the verb; modified in
 * place). Words before the first one starting with '{' are split on
 * spaces and percent-decoded; `key=value` words are options, the others
 * positionals; the rest of the line from that '{' on is the JSON body,
 * taken raw. Fails with -EBADMSG (400: usage, bad option) or -ENOENT
 * (404: the server has no such resource type). */
int api_obj_args_parse(enum api_obj_verb verb, char *args, struct api_obj_args *a,
                       struct sk_err *err);

/* ---- merge patch (objects_patch.c) ---- */

/* RFC 7386 JSON merge patch: a new reference to target with patch
 * applied (target is not changed; NULL target is null). A patch that is
 * not an object replaces the target; null members delete. */
json_t *api_merge_patch(const json_t *target, const json_t *patch);

/* ---- selectors on objects (objects_filter.c) ---- */

/* One field selector term: label (op) value. */
struct api_field_term {
    char *label;
    char *value;
    bool negate; /* != */
};

struct api_obj_filter {
    const struct api_kind *kind;
    struct sk_selector labels;
    struct api_field_term *terms;
    size_t nterms;
};

/* Parse a label selector (lib/selector.h syntax) and a field selector
 * (`spec.nodeName=n1,status.phase!=Running`; `==` as `=`; a backslash
 * escapes ',', '=', '!' and itself in values) for objects of kind k.
 * NULL or "" selects everything. Field labels the kind does not support
 * fail with -EBADMSG "field label not supported: <label>". f must be
 * released with api_obj_filter_release, also after a failure. */
int api_obj_filter_parse(struct api_obj_filter *f, const struct api_kind *k, const char *labels,
                         const char *fields, struct sk_err *err);
void api_obj_filter_release(struct api_obj_filter *f);
/* True when the filter selects everything (no need to parse objects). */
bool api_obj_filter_all(const struct api_obj_filter *f);
/* Whether obj (a parsed object of the filter's kind) is selected. */
bool api_obj_filter_match(const struct api_obj_filter *f, const json_t *obj);

/* ---- continue tokens (objects_filter.c) ---- */

/* A list's continue token: the list's revision and the key to resume
 * after, relative to the list's key prefix, base64url-encoded (no
 * characters that need percent-encoding). */
void api_obj_continue_encode(int64_t rev, const char *rel_key, size_t len, struct sk_buf *out);
/* Decode a token into *rev and rel_key (appended). -EBADMSG when
 * malformed. */
int api_obj_continue_decode(const char *token, int64_t *rev, struct sk_buf *rel_key,
                            struct sk_err *err);

/* ---- watch events (objects_filter.c) ---- */

enum api_watch_event {
    API_WATCH_NONE,
    API_WATCH_ADDED,
    API_WATCH_MODIFIED,
    API_WATCH_DELETED,
};

/* What a watcher sees of one store event: deleted (a delete, else a
 * put), had_prev (the key existed before), prev_match and cur_match
 * (the filter selects the previous / the new object; cur_match is
 * ignored for a delete). An object that starts matching is ADDED, one
 * that stops matching is DELETED, as Kubernetes's watch cache does. */
enum api_watch_event api_watch_event_type(bool deleted, bool had_prev, bool prev_match,
                                          bool cur_match);
/* "ADDED", "MODIFIED", "DELETED". */
const char *api_watch_event_name(enum api_watch_event t);

/* ---- rendering (objects_filter.c) ---- */

/* Append the stored object text (compact JSON) to out with
 * metadata.resourceVersion set to rev, without parsing it: the field is
 * inserted at the start of the top-level "metadata" object (any stored
 * resourceVersion is assumed absent). Returns 0, or -EBADMSG (out
 * unchanged) when the text has no top-level metadata object. */
int api_obj_render(const char *json, size_t len, int64_t rev, struct sk_buf *out);

#endif
