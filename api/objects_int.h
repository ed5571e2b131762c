#ifndef SK_API_OBJECTS_INT_H
#define SK_API_OBJECTS_INT_H

/* Private to objects*.c: the state of the object verbs and what the
 * files share (dispatch and errors in objects.c, reads in
 * objects_read.c, writes in objects_write.c, watches in
 * objects_watch.c). */

#include "api/objects.h"

struct obj_watch;
struct obj_op;
struct obj_repair_wait;

/* The encoded lines of the store event being delivered (revision rev,
 * position sub): each watcher of the same event reuses them, so an
 * object is parsed and encoded once per event, not once per watcher. */
enum obj_line {
    OBJ_LINE_ADDED,
    OBJ_LINE_MODIFIED,
    OBJ_LINE_DELETED_CUR,  /* a put that stopped matching: the new object */
    OBJ_LINE_DELETED_PREV, /* a delete: the last state at the deleting rev */
    OBJ_LINE_N,
};

struct obj_event_cache {
    bool valid;
    int64_t rev;
    uint32_t sub;
    json_t *cur, *prev; /* parsed on demand */
    bool cur_parsed, prev_parsed;
    struct sk_buf line[OBJ_LINE_N];
};

struct obj_verb_ctx {
    struct api_objects *o;
    enum api_obj_verb verb;
};

struct api_objects {
    struct api_server *srv;
    struct sk_loop *loop;
    struct store *s;
    struct api_objects_config cfg;
    struct obj_verb_ctx verbs[API_OBJ_DELETE + 1];
    struct obj_watch *watches;
    struct obj_op *ops; /* writes in flight, cut loose by api_objects_free */
    struct obj_event_cache cache;
    uint64_t boot_timer;
    uint64_t ns_timer;     /* the terminating-namespace sweep */
    uint64_t repair_timer; /* the repair of Service claims */
    struct obj_repair_wait *repair_wait;
    size_t boot_next; /* index of the next default namespace to ensure */
    /* The last namespace a create checked (objects_write.c): its key,
     * the revision it was stored at and whether it was terminating. */
    char ns_seen_key[128];
    int64_t ns_seen_mod;
    bool ns_seen_terminating;
};

/* ---- objects.c ---- */

/* Answer an error of the object pipeline or the store (by err->code):
 * ENOENT 404 NotFound, EEXIST 409 AlreadyExists, ESTALE 409 Conflict,
 * EINVAL 422 Invalid, EBADMSG 400 BadRequest, EPERM 403 Forbidden,
 * EOPNOTSUPP 405 MethodNotAllowed, EAGAIN/ECANCELED/EIO 503
 * Unavailable, ETIMEDOUT 504 Timeout, EOVERFLOW 410 Gone, else 500. */
void obj_reply_err(struct api_req *req, const struct sk_err *err);
/* The same for a store callback's error (MVCC_ECOMPACTED is 410). */
void obj_reply_store_err(struct api_req *req, const struct sk_err *err);

/* Ask the authorize hook; on refusal answer 403 and return -1. */
int obj_authorize(struct api_objects *o, struct api_req *req, const char *verb,
                  const struct api_kind *k, const char *sub, const char *ns, const char *name);

/* `pods "web" not found in namespace "default"` into err (ENOENT). */
int obj_not_found(const struct api_kind *k, const char *ns, const char *name, struct sk_err *err);

/* ---- objects_read.c ---- */

void obj_get(struct api_objects *o, struct api_req *req, struct api_obj_args *a);
void obj_list(struct api_objects *o, struct api_req *req, struct api_obj_args *a);
void obj_api_resources(struct api_req *req);
void obj_whoami(struct api_req *req);

/* Read one key from the local state: *kv gets the live version (its
 * bytes valid until the store changes) and 1 is returned, or 0 when
 * absent, or <0 with err. */
int obj_read_key(struct store *s, const char *key, size_t len, struct mvcc_op_result *r,
                 struct sk_err *err);

/* ---- objects_write.c, objects_mutate.c ---- */

/* One write in progress: the request, what it names, and the current
 * attempt of its read-modify-write loop. */
enum obj_action { OBJ_ACT_PUT, OBJ_ACT_DELETE, OBJ_ACT_NONE };

/* The claim keys (svc_alloc.c) a Service write creates and deletes in
 * its txn. */
#define OBJ_CLAIM_KEY_MAX 48
struct obj_claims {
    size_t nadd, ndel;
    char add[API_SVC_MAX_CLAIMS + 1][OBJ_CLAIM_KEY_MAX];
    char del[API_SVC_MAX_CLAIMS + 1][OBJ_CLAIM_KEY_MAX];
    struct sk_buf value; /* of the added keys: who holds them */
};

struct obj_op {
    struct api_objects *o; /* NULL once cut loose by api_objects_free */
    struct api_req *req;   /* NULL: internal (bootstrap) */
    void (*done)(struct api_objects *o, const struct sk_err *err);
    struct obj_op *prev, *next;
    enum api_obj_verb verb;
    const struct api_kind *k;
    char *ns, *name, *node, *uid_pre;
    struct sk_buf key;
    json_t *body;    /* the object, the patch */
    int64_t rev_pre; /* rev= precondition, or -1 */
    int64_t grace;   /* delete */
    enum api_propagation propagation;
    int64_t replicas; /* scale */
    bool status_sub;  /* patch subresource=status */
    bool dry_run;     /* answer as if written, write nothing */
    int attempts;
    bool confirmed; /* a read barrier was taken */
    /* the current attempt */
    json_t *old; /* the stored object with its resourceVersion, or NULL */
    int64_t old_mod, ns_mod;
    struct sk_buf ns_key;
    enum obj_action action;
    const char *word;
    struct sk_buf value;       /* what is stored */
    struct obj_claims *claims; /* Services: values claimed and released */
    bool alloc_stale;          /* an allocation failed on what the local state holds */
};

/* Compute the new object into *out and op->action from op->old (the
 * stored object with its resourceVersion, or NULL). Returns 0, <0 with
 * err, or 1 when the request was answered already (a refusal). */
int obj_mutate(struct obj_op *op, json_t **out, struct sk_err *err);
/* The pure pipeline's context now: time, uid (may be NULL), revision. */
void obj_meta_ctx(struct api_objects *o, struct api_meta_ctx *ctx, char *uid);
/* A random (version 4) UUID. */
void obj_uuid_new(char out[37]);

void obj_write(struct api_objects *o, struct api_req *req, struct api_obj_args *a);

/* Create obj (owned) without a request (the bootstrap namespaces); done
 * runs with NULL or the error (EEXIST when it exists). */
void obj_create_internal(struct api_objects *o, json_t *obj,
                         void (*done)(struct api_objects *o, const struct sk_err *err));
/* Delete an object without a request (the namespace sweep); errors
 * are ignored, the sweep tries again. */
void obj_delete_internal(struct api_objects *o, const struct api_kind *k, const char *ns,
                         const char *name);
/* Cut the writes in flight loose (their callbacks then only answer). */
void obj_ops_detach(struct api_objects *o);

/* ---- objects_alloc.c ---- */

/* For a Service write: give obj (the object to store; NULL when it is
 * removed) the cluster IP and node ports it needs from the configured
 * ranges, check the ones the client asked for, and fill op->claims with
 * the claim keys to create and to delete (the difference between what
 * op->old held and what obj holds). Other kinds: no claims. Fails with
 * -EINVAL (422: a value out of range or taken, op->alloc_stale set for
 * the latter) or -ENOSPC (500: the range is full). */
int obj_alloc_claims(struct obj_op *op, json_t *obj, struct sk_err *err);
void obj_claims_free(struct obj_claims *c);

/* ---- objects_repair.c ---- */

/* Start the repair of Service claims on the loop (soon, then
 * periodically; only the leader writes). */
void obj_repair_start(struct api_objects *o);
void obj_repair_stop(struct api_objects *o);

/* ---- objects_ns.c ---- */

/* Range over every key starting with prefix in the local state. */
int obj_range_prefix(struct store *s, const char *prefix, size_t len, int64_t limit, unsigned flags,
                     struct mvcc_op_result *r);

/* Whether namespace ns holds any object (local state). */
bool obj_ns_has_content(struct api_objects *o, const char *ns);
/* Set deletionTimestamp (when absent) and status.phase Terminating. */
void obj_ns_mark_terminating(json_t *ns, int64_t now);
/* Run the sweep of terminating namespaces soon (it repeats while any). */
void obj_ns_sweep_soon(struct api_objects *o);

/* ---- objects_watch.c ---- */

void obj_watch(struct api_objects *o, struct api_req *req, struct api_obj_args *a);
void obj_watches_detach(struct api_objects *o);
void obj_event_cache_release(struct obj_event_cache *c);

#endif
