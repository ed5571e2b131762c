/* The write verbs: create, apply, update, status, patch, bind, scale,
 * delete.
 *
 * Every write is a read-modify-write with optimistic concurrency, as
 * Kubernetes's GuaranteedUpdate over etcd: read the stored object from
 * the local state, compute the new one with the pure pipeline of
 * api/object.h (a "mutation"), and commit with one store txn whose
 * compare is the revision that was read (create_revision == 0 when the
 * object was absent; for a create in a namespace, also the namespace's
 * mod_revision, so an object never lands in a namespace deleted
 * meanwhile). When the compare fails, someone else wrote first: the
 * txn's callback runs after it was applied here, so the local state is
 * fresh and the mutation runs again. A client's stale resourceVersion
 * fails inside the mutation (409 Conflict), never by retrying.
 *
 * A result that depends on the state (not found, already exists,
 * conflict) read from a follower's possibly stale local state is
 * confirmed once after store_read_barrier() before it is answered.
 *
 * A Service's write also creates the claim keys of the cluster IP and
 * node ports it newly holds (each under a create_revision == 0 compare)
 * and deletes those it no longer holds, in the same txn
 * (objects_alloc.c).
 *
 * Objects are stored without metadata.resourceVersion (it is the key's
 * mod_revision, set when read). A write that would not change the stored
 * object makes no new revision. */
#include "api/objects_int.h"
#include "lib/alloc.h"
#include "lib/json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ATTEMPTS 64

static void
op_free(struct obj_op *op)
{
    if (op->o) {
        if (op->prev)
            op->prev->next = op->next;
        else
            op->o->ops = op->next;
        if (op->next)
            op->next->prev = op->prev;
    }
    free(op->ns);
    free(op->name);
    free(op->node);
    free(op->uid_pre);
    sk_buf_release(&op->key);
    sk_buf_release(&op->ns_key);
    sk_buf_release(&op->value);
    obj_claims_free(op->claims);
    json_decref(op->body);
    json_decref(op->old);
    free(op);
}

static struct obj_op *
op_new(struct api_objects *o, struct api_req *req, enum api_obj_verb verb)
{
    struct obj_op *op = sk_calloc(1, sizeof(*op));

    op->o = o;
    op->req = req;
    op->verb = verb;
    op->rev_pre = -1;
    op->grace = -1;
    op->next = o->ops;
    if (o->ops)
        o->ops->prev = op;
    o->ops = op;
    return op;
}

void
obj_ops_detach(struct api_objects *o)
{
    struct obj_op *op;

    while ((op = o->ops)) {
        o->ops = op->next;
        op->prev = op->next = NULL;
        op->o = NULL;
    }
}

/* Answer the request (or tell the internal caller) and free the op. */
static void
op_fail(struct obj_op *op, const struct sk_err *err, bool store)
{
    if (op->req) {
        if (store)
            obj_reply_store_err(op->req, err);
        else
            obj_reply_err(op->req, err);
    } else if (op->o && op->done) {
        op->done(op->o, err);
    }
    op_free(op);
}

static void
op_answer(struct obj_op *op, int64_t rev)
{
    struct sk_buf body = SK_BUF_INIT;
    const char *word = op->word ? op->word : "";

    if (op->o && op->verb == API_OBJ_DELETE && op->word && !strcmp(op->word, "terminating") &&
        !strcmp(op->k->kind, "Namespace"))
        obj_ns_sweep_soon(op->o);
    if (!op->req) {
        if (op->o && op->done)
            op->done(op->o, NULL);
        op_free(op);
        return;
    }
    if (op->action != OBJ_ACT_PUT) {
        /* the stored object as it was: same rendering as a read */
        json_object_del(json_object_get(op->old, "metadata"), "resourceVersion");
        sk_buf_reset(&op->value);
        sk_json_dump_buf(op->old, &op->value);
    }
    api_obj_render(op->value.data, op->value.len, rev, &body);
    sk_buf_putc(&body, '\n');
    api_req_ok(op->req, 1, body.data, "rev=%" PRId64 "%s%s%s", rev, op->dry_run ? " dry-run" : "",
               *word ? " " : "", word);
    sk_buf_release(&body);
    op_free(op);
}

/* A dry run passed every step a write takes (defaulting, validation,
 * admission, conflict and allocation checks) and stops before the txn:
 * answer with the object as it would be stored, at the revision it has
 * now (a new object has none), and "dry-run" before the verb's word. */
static void
op_answer_dry_run(struct obj_op *op)
{
    struct sk_buf body = SK_BUF_INIT;
    const char *word = op->word ? op->word : "";

    if (op->action != OBJ_ACT_PUT && op->old) { /* a removal: the object as it is */
        json_object_del(json_object_get(op->old, "metadata"), "resourceVersion");
        sk_buf_reset(&op->value);
        sk_json_dump_buf(op->old, &op->value);
    }
    if (op->old)
        api_obj_render(op->value.data, op->value.len, op->old_mod, &body);
    else
        sk_buf_append(&body, op->value.data, op->value.len);
    sk_buf_putc(&body, '\n');
    api_req_ok(op->req, 1, body.data, "rev=%" PRId64 " dry-run%s%s", op->old_mod, *word ? " " : "",
               word);
    sk_buf_release(&body);
    op_free(op);
}

/* ---- the read-modify-write loop ---- */

static void op_run(struct obj_op *op);

static void
on_confirm(void *arg, const struct sk_err *err)
{
    struct obj_op *op = arg;

    if (err || !op->o) {
        struct sk_err e;

        sk_err_init(&e);
        op_fail(op, err ? err : (sk_err_set(&e, ECANCELED, "server stopping"), &e), true);
        return;
    }
    op_run(op);
}

static void
on_written(void *arg, const struct mvcc_result *res, const struct sk_err *err)
{
    struct obj_op *op = arg;
    struct sk_err e;

    sk_err_init(&e);
    if (err || !op->o) {
        op_fail(op, err ? err : (sk_err_set(&e, ECANCELED, "server stopping"), &e), true);
        return;
    }
    if (res->succeeded) {
        op_answer(op, res->rev);
        return;
    }
    /* another write came first: the local state has it now */
    if (++op->attempts >= MAX_ATTEMPTS) {
        sk_err_set(&e, ESTALE,
                   "Operation cannot be fulfilled on %s \"%s\": too many concurrent "
                   "writes, try again",
                   op->k->resource, op->name);
        op_fail(op, &e, false);
        return;
    }
    op_run(op);
}

/* Read the stored object into op->old / op->old_mod. */
static int
op_read(struct obj_op *op, struct sk_err *err)
{
    struct mvcc_op_result r;
    int rc;

    memset(&r, 0, sizeof(r));
    json_decref(op->old);
    op->old = NULL;
    op->old_mod = 0;
    rc = obj_read_key(op->o->s, op->key.data, op->key.len, &r, err);
    if (rc > 0) {
        if (sk_json_parse(r.kvs[0].value, r.kvs[0].value_len, &op->old, err) < 0 ||
            !json_is_object(json_object_get(op->old, "metadata"))) {
            rc = sk_err_set(err, EUCLEAN, "stored %s \"%s\" is damaged", op->k->resource, op->name);
        } else {
            op->old_mod = r.kvs[0].mod_rev;
            api_meta_set_revision(op->old, (uint64_t)op->old_mod);
        }
    }
    mvcc_op_result_release(&r);
    return rc < 0 ? -1 : 0;
}

/* A key's value at one mod revision never changes, so the namespace
 * parsed for the previous create answers for the next one while its
 * revision is the same: every create parsed its namespace's JSON
 * before (2% of skiffd's CPU creating pods in one namespace). */
static bool
ns_seen(const struct api_objects *o, const struct obj_op *op, bool *terminating)
{
    if (op->ns_mod != o->ns_seen_mod || strcmp(op->ns_key.data, o->ns_seen_key) != 0)
        return false;
    *terminating = o->ns_seen_terminating;
    return true;
}

static void
ns_remember(struct api_objects *o, const struct obj_op *op, bool terminating)
{
    if (op->ns_key.len >= sizeof(o->ns_seen_key))
        return;
    memcpy(o->ns_seen_key, op->ns_key.data, op->ns_key.len + 1);
    o->ns_seen_mod = op->ns_mod;
    o->ns_seen_terminating = terminating;
}

/* A namespaced object about to be created: its namespace must exist
 * and not be terminating (Kubernetes's NamespaceLifecycle admission). */
static int
op_check_namespace(struct obj_op *op, struct sk_err *err)
{
    struct api_objects *o = op->o;
    struct mvcc_op_result r;
    json_t *ns = NULL, *meta;
    bool terminating = false;
    const char *phase;
    int rc;

    op->ns_mod = 0;
    if (!op->k->namespaced)
        return 0;
    sk_buf_reset(&op->ns_key);
    sk_buf_printf(&op->ns_key, "/registry/namespaces/%s", op->ns);
    memset(&r, 0, sizeof(r));
    rc = obj_read_key(o->s, op->ns_key.data, op->ns_key.len, &r, err);
    if (rc == 0) {
        rc = sk_err_set(err, ENOENT, "namespaces \"%s\" not found", op->ns);
    } else if (rc > 0) {
        op->ns_mod = r.kvs[0].mod_rev;
        rc = 0;
        if (ns_seen(o, op, &terminating)) {
            /* the same stored namespace as the last create's */
        } else if (sk_json_parse(r.kvs[0].value, r.kvs[0].value_len, &ns, NULL) == 0) {
            meta = json_object_get(ns, "metadata");
            phase = json_string_value(json_object_get(json_object_get(ns, "status"), "phase"));
            terminating = json_object_get(meta, "deletionTimestamp") ||
                          (phase && !strcmp(phase, "Terminating"));
            ns_remember(o, op, terminating);
        }
        json_decref(ns);
        if (terminating)
            rc = sk_err_set(err, EPERM,
                            "%s \"%s\" is forbidden: unable to create new content in "
                            "namespace %s because it is being terminated",
                            op->k->resource, op->name, op->ns);
    }
    mvcc_op_result_release(&r);
    return rc;
}

static bool
state_dependent(int code)
{
    return code == ENOENT || code == EEXIST || code == ESTALE;
}

/* The new object changes nothing stored (resourceVersion aside). */
static bool
unchanged(struct obj_op *op, json_t *obj)
{
    json_t *ometa = json_object_get(op->old, "metadata");
    json_t *rv = json_incref(json_object_get(ometa, "resourceVersion"));
    bool same;

    json_object_del(ometa, "resourceVersion");
    same = json_equal(op->old, obj);
    if (rv)
        json_object_set_new(ometa, "resourceVersion", rv);
    return same;
}

static int
op_admit(struct obj_op *op, const json_t *obj, struct sk_err *err)
{
    static const char *const verbs[] = {
        [API_OBJ_CREATE] = "create", [API_OBJ_APPLY] = "patch",   [API_OBJ_UPDATE] = "update",
        [API_OBJ_STATUS] = "update", [API_OBJ_PATCH] = "patch",   [API_OBJ_BIND] = "bind",
        [API_OBJ_SCALE] = "scale",   [API_OBJ_DELETE] = "delete",
    };
    const char *verb = op->old ? verbs[op->verb] : "create";
    struct api_objects *o = op->o;

    if (!op->req || !o->cfg.admit)
        return 0;
    if (op->verb == API_OBJ_DELETE)
        obj = NULL;
    if (o->cfg.admit(o->cfg.admit_arg, api_req_peer(op->req), verb, op->k, op->old, obj, err) == 0)
        return 0;
    if (!err->code)
        sk_err_set(err, EPERM, "%s \"%s\" is forbidden", op->k->resource, op->name);
    err->code = EPERM;
    return -1;
}

/* The claim keys of a Service write (objects_alloc.c) join its txn: a
 * new claim is created only if nobody holds it (create_revision == 0),
 * released ones are deleted with the Service's removal or type change. */
static void
op_add_claims(const struct obj_op *op, struct mvcc_cmp *cmps, size_t *ncmps, struct mvcc_op *ops,
              size_t *nops)
{
    const struct obj_claims *c = op->claims;

    for (size_t i = 0; c && i < c->nadd; i++) {
        cmps[*ncmps] = (struct mvcc_cmp){.target = MVCC_CMP_CREATE,
                                         .result = MVCC_CMP_EQUAL,
                                         .key = c->add[i],
                                         .key_len = (uint32_t)strlen(c->add[i])};
        (*ncmps)++;
        ops[*nops] = (struct mvcc_op){.type = MVCC_OP_PUT,
                                      .key = c->add[i],
                                      .key_len = (uint32_t)strlen(c->add[i]),
                                      .value = c->value.data,
                                      .value_len = (uint32_t)c->value.len};
        (*nops)++;
    }
    for (size_t i = 0; c && i < c->ndel; i++) {
        ops[*nops] = (struct mvcc_op){
            .type = MVCC_OP_DELETE, .key = c->del[i], .key_len = (uint32_t)strlen(c->del[i])};
        (*nops)++;
    }
}

static void
op_propose(struct obj_op *op)
{
    size_t nclaims = op->claims ? op->claims->nadd + op->claims->ndel : 0;
    struct mvcc_cmp *cmps = sk_calloc(2 + nclaims, sizeof(*cmps));
    struct mvcc_op *ops = sk_calloc(1 + nclaims, sizeof(*ops));
    struct mvcc_txn txn;
    struct sk_buf cmd = SK_BUF_INIT;
    size_t n = 1, nops = 1;

    cmps[0].target = op->old ? MVCC_CMP_MOD : MVCC_CMP_CREATE;
    cmps[0].result = MVCC_CMP_EQUAL;
    cmps[0].key = op->key.data;
    cmps[0].key_len = (uint32_t)op->key.len;
    cmps[0].num = op->old_mod;
    if (!op->old && op->ns_mod) {
        cmps[1].target = MVCC_CMP_MOD;
        cmps[1].result = MVCC_CMP_EQUAL;
        cmps[1].key = op->ns_key.data;
        cmps[1].key_len = (uint32_t)op->ns_key.len;
        cmps[1].num = op->ns_mod;
        n = 2;
    }
    ops[0].type = op->action == OBJ_ACT_DELETE ? MVCC_OP_DELETE : MVCC_OP_PUT;
    ops[0].key = op->key.data;
    ops[0].key_len = (uint32_t)op->key.len;
    ops[0].value = op->value.data;
    ops[0].value_len = (uint32_t)op->value.len;
    op_add_claims(op, cmps, &n, ops, &nops);
    txn = (struct mvcc_txn){cmps, n, ops, nops, NULL, 0};
    mvcc_cmd_encode_txn(&cmd, &txn);
    store_write(op->o->s, cmd.data, cmd.len, on_written, op);
    sk_buf_release(&cmd);
    free(cmps);
    free(ops);
}

static void
op_run(struct obj_op *op)
{
    struct sk_err err;
    json_t *obj = NULL;
    int rc;

    sk_err_init(&err);
    rc = op_read(op, &err);
    if (rc == 0 && !op->old && (op->verb == API_OBJ_CREATE || op->verb == API_OBJ_APPLY))
        rc = op_check_namespace(op, &err);
    if (rc == 0)
        rc = obj_mutate(op, &obj, &err);
    if (rc > 0) { /* answered */
        json_decref(obj);
        op_free(op);
        return;
    }
    if (rc < 0) {
        json_decref(obj);
        if (!op->confirmed && state_dependent(err.code)) {
            op->confirmed = true;
            store_read_barrier(op->o->s, on_confirm, op);
            return;
        }
        op_fail(op, &err, false);
        return;
    }
    json_object_del(json_object_get(obj, "metadata"), "resourceVersion");
    if (op->old && op->action == OBJ_ACT_PUT && unchanged(op, obj)) {
        json_decref(obj);
        if (op->verb == API_OBJ_APPLY)
            op->word = "unchanged";
        op->action = OBJ_ACT_NONE;
        op_answer(op, op->old_mod);
        return;
    }
    if (op_admit(op, op->action == OBJ_ACT_DELETE ? NULL : obj, &err) < 0) {
        json_decref(obj);
        op_fail(op, &err, false);
        return;
    }
    if (obj_alloc_claims(op, op->action == OBJ_ACT_DELETE ? NULL : obj, &err) < 0) {
        json_decref(obj);
        if (!op->confirmed && op->alloc_stale) {
            op->confirmed = true;
            store_read_barrier(op->o->s, on_confirm, op);
            return;
        }
        op_fail(op, &err, false);
        return;
    }
    sk_buf_reset(&op->value);
    if (op->action == OBJ_ACT_PUT)
        sk_json_dump_buf(obj, &op->value);
    json_decref(obj);
    if (op->dry_run) {
        op_answer_dry_run(op);
        return;
    }
    op_propose(op);
}

/* ---- requests ---- */

static int
op_body(struct obj_op *op, const struct api_obj_args *a, struct sk_err *err)
{
    json_t *meta;
    const char *ns, *name;

    if (sk_json_parse(a->body, a->body_len, &op->body, err) < 0) {
        err->code = EBADMSG;
        return -1;
    }
    if (!json_is_object(op->body))
        return sk_err_set(err, EBADMSG, "the body must be a JSON object");
    if (op->k)
        return 0; /* patch */
    if (api_kind_of(op->body, &op->k, err) < 0)
        return -1;
    meta = json_object_get(op->body, "metadata");
    name = json_string_value(json_object_get(meta, "name"));
    ns = json_string_value(json_object_get(meta, "namespace"));
    if (!op->k->namespaced)
        ns = "";
    else if (!ns || !*ns)
        ns = "default";
    op->ns = sk_strdup(ns);
    op->name = sk_strdup(name ? name : "");
    if (op->verb != API_OBJ_CREATE && !*op->name)
        return sk_err_set(err, EINVAL, "%s \"\" is invalid: metadata.name: Required value",
                          op->k->kind);
    return 0;
}

/* The create pipeline runs once, before the store is read: the name
 * may come from generateName. */
static int
op_prepare_create(struct obj_op *op, struct sk_err *err)
{
    struct api_errors errs;
    struct api_meta_ctx ctx;
    char uid[37];
    int rc;

    obj_uuid_new(uid);
    obj_meta_ctx(op->o, &ctx, uid);
    api_errors_init(&errs);
    rc = api_object_prepare_create(op->body, &ctx, NULL, &errs, err);
    api_errors_release(&errs);
    if (rc < 0)
        return rc;
    free(op->name);
    op->name = sk_strdup(api_meta_name(op->body));
    return 0;
}

static const char *
op_authz_verb(enum api_obj_verb verb, const char **sub, bool status_sub)
{
    static const char *const verbs[] = {
        [API_OBJ_CREATE] = "create", [API_OBJ_APPLY] = "patch",   [API_OBJ_UPDATE] = "update",
        [API_OBJ_STATUS] = "update", [API_OBJ_PATCH] = "patch",   [API_OBJ_BIND] = "bind",
        [API_OBJ_SCALE] = "scale",   [API_OBJ_DELETE] = "delete",
    };

    *sub = "";
    if (verb == API_OBJ_STATUS || status_sub)
        *sub = "status";
    else if (verb == API_OBJ_BIND)
        *sub = "binding";
    else if (verb == API_OBJ_SCALE)
        *sub = "scale";
    return verbs[verb];
}

/* Fill op from the arguments; 0, <0 with err, or 1 when answered. */
static int
op_setup(struct obj_op *op, const struct api_obj_args *a, struct sk_err *err)
{
    const char *verb, *sub;

    op->k = a->kind;
    if (a->kind) {
        op->ns = sk_strdup(a->ns);
        op->name = sk_strdup(a->name);
    }
    op->node = a->node ? sk_strdup(a->node) : NULL;
    op->uid_pre = a->uid ? sk_strdup(a->uid) : NULL;
    op->rev_pre = a->rev;
    op->grace = a->grace;
    op->propagation = a->propagation;
    op->replicas = a->replicas;
    op->status_sub = !strcmp(a->subresource, "status");
    op->dry_run = a->dry_run;
    if (a->body && op_body(op, a, err) < 0)
        return -1;
    if ((op->verb == API_OBJ_STATUS || op->status_sub) && !op->k->has_status)
        return sk_err_set(err, EOPNOTSUPP, "%s have no status subresource", op->k->resource);
    if (op->verb == API_OBJ_SCALE && !api_kind_has_subresource(op->k, "scale"))
        return sk_err_set(err, EOPNOTSUPP, "%s have no scale subresource", op->k->resource);
    /* as Kubernetes's NamespaceLifecycle admission */
    if (op->verb == API_OBJ_DELETE && !strcmp(op->k->kind, "Namespace") &&
        (!strcmp(op->name, "default") || !strcmp(op->name, "kube-system") ||
         !strcmp(op->name, "kube-public")))
        return sk_err_set(err, EPERM,
                          "namespaces \"%s\" is forbidden: this namespace may not be deleted",
                          op->name);
    verb = op_authz_verb(op->verb, &sub, op->status_sub);
    if (obj_authorize(op->o, op->req, verb, op->k, sub, op->ns, op->name) < 0)
        return 1;
    if (op->verb == API_OBJ_CREATE && op_prepare_create(op, err) < 0)
        return -1;
    if (api_key_build(op->k, op->ns, op->name, &op->key, err) < 0) {
        err->code = EBADMSG;
        return -1;
    }
    return 0;
}

void
obj_write(struct api_objects *o, struct api_req *req, struct api_obj_args *a)
{
    struct obj_op *op = op_new(o, req, a->verb);
    struct sk_err err;
    int rc;

    sk_err_init(&err);
    rc = op_setup(op, a, &err);
    if (rc > 0) {
        op_free(op);
        return;
    }
    if (rc < 0) {
        op_fail(op, &err, false);
        return;
    }
    op_run(op);
}

void
obj_create_internal(struct api_objects *o, json_t *obj,
                    void (*done)(struct api_objects *o, const struct sk_err *err))
{
    struct obj_op *op = op_new(o, NULL, API_OBJ_CREATE);
    struct sk_err err;

    sk_err_init(&err);
    op->done = done;
    op->body = obj;
    if (api_kind_of(obj, &op->k, &err) < 0 || op_prepare_create(op, &err) < 0) {
        op_fail(op, &err, false);
        return;
    }
    op->ns = sk_strdup(op->k->namespaced ? api_meta_namespace(obj) : "");
    if (api_key_build(op->k, op->ns, op->name, &op->key, &err) < 0) {
        op_fail(op, &err, false);
        return;
    }
    op_run(op);
}

void
obj_delete_internal(struct api_objects *o, const struct api_kind *k, const char *ns,
                    const char *name)
{
    struct obj_op *op = op_new(o, NULL, API_OBJ_DELETE);
    struct sk_err err;

    sk_err_init(&err);
    op->k = k;
    op->ns = sk_strdup(ns);
    op->name = sk_strdup(name);
    if (api_key_build(k, ns, name, &op->key, &err) < 0) {
        op_fail(op, &err, false);
        return;
    }
    op_run(op);
}
