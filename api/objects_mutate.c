/* The mutations of the write verbs: from the stored object (op->old,
 * NULL when absent) compute the object to store and what to do with it
 * (objects_write.c commits it). Each runs the pure pipeline of
 * api/object.h; apply keeps what other components own. */
#include "api/objects_int.h"
#include "lib/alloc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

/* ---- helpers ---- */

static uint32_t
op_rand(void *arg)
{
    uint32_t v = 0;

    if (getrandom(&v, sizeof(v), 0) != sizeof(v))
        v = (uint32_t)rand();
    return v;
}

/* A random (version 4) UUID, as Kubernetes's uids. */
void
obj_uuid_new(char out[37])
{
    unsigned char b[16];

    if (getrandom(b, sizeof(b), 0) != sizeof(b))
        for (size_t i = 0; i < sizeof(b); i++)
            b[i] = (unsigned char)rand();
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

void
obj_meta_ctx(struct api_objects *o, struct api_meta_ctx *ctx, char *uid)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->now = (int64_t)time(NULL);
    ctx->uid = uid;
    ctx->rev = (uint64_t)store_rev(o->s) + 1;
    ctx->rand = op_rand;
}

/* ---- the mutations ---- */

static int
need_old(struct obj_op *op, struct sk_err *err)
{
    if (op->old)
        return 0;
    return obj_not_found(op->k, op->ns, op->name, err);
}

static int
mutate_create(struct obj_op *op, json_t **out, struct sk_err *err)
{
    if (op->old)
        return sk_err_set(err, EEXIST, "%s \"%s\" already exists", op->k->resource, op->name);
    *out = json_deep_copy(op->body);
    op->word = "created";
    return 0;
}

/* Fields the server or another component owns that an apply keeps when
 * the manifest leaves them out (as kubectl apply's three-way merge keeps
 * what others set). A Service's cluster IP and node ports are kept by
 * every update (prepare_update). */
static void
apply_keep(const json_t *old, json_t *obj, const struct api_kind *k)
{
    json_t *ospec = json_object_get(old, "spec"), *spec = json_object_get(obj, "spec");
    json_t *meta = json_object_get(obj, "metadata"), *ometa = json_object_get(old, "metadata");

    if (json_is_object(meta) && !json_object_get(meta, "finalizers") &&
        json_object_get(ometa, "finalizers"))
        json_object_set(meta, "finalizers", json_object_get(ometa, "finalizers"));
    if (!json_is_object(spec) || !json_is_object(ospec))
        return;
    if (!strcmp(k->kind, "Pod") && !json_object_get(spec, "nodeName") &&
        json_object_get(ospec, "nodeName"))
        json_object_set(spec, "nodeName", json_object_get(ospec, "nodeName"));
    if ((!strcmp(k->kind, "Deployment") || !strcmp(k->kind, "ReplicaSet")) &&
        !json_object_get(spec, "replicas") && json_object_get(ospec, "replicas"))
        json_object_set(spec, "replicas", json_object_get(ospec, "replicas"));
}

static int
prepare_update(struct obj_op *op, json_t *obj, enum api_update_mode mode, struct sk_err *err)
{
    struct api_errors errs;
    struct api_meta_ctx ctx;
    int rc;

    if (!strcmp(op->k->kind, "Service") && mode == API_UPDATE_MAIN)
        api_svc_keep_allocated(op->old, obj);
    api_errors_init(&errs);
    obj_meta_ctx(op->o, &ctx, NULL);
    rc = api_object_prepare_update(op->old, obj, mode, &ctx, &errs, err);
    api_errors_release(&errs);
    if (rc < 0)
        return rc;
    op->action = rc == 1 ? OBJ_ACT_DELETE : OBJ_ACT_PUT;
    return 0;
}

static int
mutate_apply(struct obj_op *op, json_t **out, struct sk_err *err)
{
    struct api_errors errs;
    struct api_meta_ctx ctx;
    char uid[37];
    int rc;

    *out = json_deep_copy(op->body);
    if (op->old) {
        apply_keep(op->old, *out, op->k);
        op->word = "configured";
        return prepare_update(op, *out, API_UPDATE_MAIN, err);
    }
    if (op->req && obj_authorize(op->o, op->req, "create", op->k, "", op->ns, op->name) < 0)
        return 1; /* answered */
    obj_uuid_new(uid);
    obj_meta_ctx(op->o, &ctx, uid);
    api_errors_init(&errs);
    rc = api_object_prepare_create(*out, &ctx, NULL, &errs, err);
    api_errors_release(&errs);
    op->word = "created";
    return rc;
}

static int
mutate_patch(struct obj_op *op, json_t **out, struct sk_err *err)
{
    if (need_old(op, err) < 0)
        return -1;
    *out = api_merge_patch(op->old, op->body);
    if (!json_is_object(*out))
        return sk_err_set(err, EBADMSG, "a merge patch must be a JSON object");
    return prepare_update(op, *out, op->status_sub ? API_UPDATE_STATUS : API_UPDATE_MAIN, err);
}

static int
mutate_bind(struct obj_op *op, json_t **out, struct sk_err *err)
{
    const char *uid;
    json_t *binding;
    int rc;

    if (need_old(op, err) < 0)
        return -1;
    uid = json_string_value(json_object_get(json_object_get(op->old, "metadata"), "uid"));
    if (op->uid_pre && (!uid || strcmp(uid, op->uid_pre)))
        return sk_err_set(err, ESTALE,
                          "Operation cannot be fulfilled on pods/binding \"%s\": Precondition "
                          "failed: UID in precondition: %s, UID in object meta: %s",
                          op->name, op->uid_pre, uid ? uid : "");
    *out = json_deep_copy(op->old);
    binding = json_pack("{s:{s:s,s:s}}", "target", "kind", "Node", "name", op->node);
    rc = api_pod_bind(*out, binding, (int64_t)time(NULL), err);
    json_decref(binding);
    return rc;
}

static int
mutate_scale(struct obj_op *op, json_t **out, struct sk_err *err)
{
    json_t *spec;

    if (need_old(op, err) < 0)
        return -1;
    if (op->rev_pre >= 0 && op->rev_pre != op->old_mod)
        return sk_err_set(err, ESTALE,
                          "Operation cannot be fulfilled on %s.scale \"%s\": the object has been "
                          "modified; please apply your changes to the latest version and try "
                          "again",
                          op->k->resource, op->name);
    *out = json_deep_copy(op->old);
    spec = json_object_get(*out, "spec");
    if (!json_is_object(spec))
        json_object_set_new(*out, "spec", spec = json_object());
    json_object_set_new(spec, "replicas", json_integer(op->replicas));
    return prepare_update(op, *out, API_UPDATE_MAIN, err);
}

static int
mutate_delete(struct obj_op *op, json_t **out, struct sk_err *err)
{
    struct api_delete_opts opts = {op->grace, op->propagation, op->uid_pre, NULL};
    struct api_meta_ctx ctx;
    char rv[24];
    int rc;

    if (need_old(op, err) < 0)
        return -1;
    if (op->rev_pre >= 0) {
        snprintf(rv, sizeof(rv), "%" PRId64, op->rev_pre);
        opts.precondition_version = rv;
    }
    *out = json_deep_copy(op->old);
    obj_meta_ctx(op->o, &ctx, NULL);
    rc = api_meta_prepare_delete(*out, op->k, &opts, &ctx, err);
    if (rc < 0)
        return rc;
    /* a namespace goes only once empty (objects_ns.c) */
    if (!strcmp(op->k->kind, "Namespace") &&
        (rc == API_DELETE_DEFERRED || obj_ns_has_content(op->o, op->name))) {
        obj_ns_mark_terminating(*out, ctx.now);
        rc = API_DELETE_DEFERRED;
    }
    op->action = rc == API_DELETE_NOW ? OBJ_ACT_DELETE : OBJ_ACT_PUT;
    op->word = rc == API_DELETE_NOW ? "deleted" : "terminating";
    return 0;
}

/* Compute the new object into *out and op->action from op->old. Returns
 * 0, <0 with err, or 1 when the request was answered already. */
int
obj_mutate(struct obj_op *op, json_t **out, struct sk_err *err)
{
    op->action = OBJ_ACT_PUT;
    op->word = NULL;
    switch (op->verb) {
    case API_OBJ_CREATE:
        return mutate_create(op, out, err);
    case API_OBJ_APPLY:
        return mutate_apply(op, out, err);
    case API_OBJ_UPDATE:
    case API_OBJ_STATUS:
        if (need_old(op, err) < 0)
            return -1;
        *out = json_deep_copy(op->body);
        return prepare_update(
            op, *out, op->verb == API_OBJ_STATUS ? API_UPDATE_STATUS : API_UPDATE_MAIN, err);
    case API_OBJ_PATCH:
        return mutate_patch(op, out, err);
    case API_OBJ_BIND:
        return mutate_bind(op, out, err);
    case API_OBJ_SCALE:
        return mutate_scale(op, out, err);
    case API_OBJ_DELETE:
        return mutate_delete(op, out, err);
    default:
        return sk_err_set(err, EBADMSG, "not a write");
    }
}
