/* Server-managed metadata: create, update, two-phase delete and
 * finalizers. Pure: the time, uid, revision and randomness come from
 * struct api_meta_ctx. */
#include "validate_int.h"

#include "lib/alloc.h"
#include "lib/clock.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Kubernetes's utilrand alphabet: no vowels (no words) and no 0/1/3
 * (confusable); names.SimpleNameGenerator appends 5 of them to at most
 * 58 bytes of generateName. */
static const char name_alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
#define GENERATE_SUFFIX  5
#define GENERATE_MAX_LEN (63 - GENERATE_SUFFIX)

json_t *
api_meta_obj(const json_t *obj)
{
    json_t *m = json_object_get(obj, "metadata");

    return json_is_object(m) ? m : NULL;
}

bool
api_json_same(const json_t *a, const json_t *b)
{
    if (json_is_null(a))
        a = NULL;
    if (json_is_null(b))
        b = NULL;
    if (!a || !b)
        return a == b;
    return json_equal(a, b);
}

const char *
api_meta_name(const json_t *obj)
{
    const char *s = json_string_value(json_object_get(api_meta_obj(obj), "name"));

    return s ? s : "";
}

const char *
api_meta_namespace(const json_t *obj)
{
    const char *s = json_string_value(json_object_get(api_meta_obj(obj), "namespace"));

    return s ? s : "";
}

void
api_time_format(int64_t t, char *out)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (!gmtime_r(&tt, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0)
        memcpy(out, "1970-01-01T00:00:00Z", API_TIME_LEN);
    else
        strftime(out, API_TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int
api_time_parse(const char *s, int64_t *t, struct sk_err *err)
{
    int64_t ns;

    /* the one form the API writes: seconds, upper-case T and Z */
    if (!s || strlen(s) != API_TIME_LEN - 1 || s[10] != 'T' || s[API_TIME_LEN - 2] != 'Z' ||
        sk_clock_rfc3339_parse(s, &ns) < 0)
        return sk_err_set(err, EINVAL, "time '%s': not RFC 3339 UTC (2006-01-02T15:04:05Z)",
                          s ? s : "");
    *t = ns / 1000000000;
    return 0;
}

void
api_meta_set_revision(json_t *obj, uint64_t rev)
{
    char buf[24];
    json_t *meta = api_meta_obj(obj);

    if (!meta)
        return;
    snprintf(buf, sizeof(buf), "%" PRIu64, rev);
    json_object_set_new(meta, "resourceVersion", json_string(buf));
}

static void
meta_set_time(json_t *meta, const char *field, int64_t t)
{
    char buf[API_TIME_LEN];

    api_time_format(t, buf);
    json_object_set_new(meta, field, json_string(buf));
}

/* ---- create ---- */

static int
meta_fail(struct api_errors *errs, struct sk_err *err, enum api_field_error_type type,
          const char *field, const char *detail, const char *kind, const char *name)
{
    struct api_errors local;
    int rc;

    api_errors_init(&local);
    api_errors_add(&local, type, field, NULL, detail);
    if (errs)
        api_errors_add(errs, type, field, NULL, detail);
    rc = api_errors_to_err(&local, kind, name, err);
    api_errors_release(&local);
    return rc;
}

static void
meta_generate_name(json_t *meta, const char *gen, const struct api_meta_ctx *ctx)
{
    size_t n = strlen(gen);
    char *name;

    if (n > GENERATE_MAX_LEN)
        n = GENERATE_MAX_LEN;
    name = sk_malloc(n + GENERATE_SUFFIX + 1);
    memcpy(name, gen, n);
    for (size_t i = 0; i < GENERATE_SUFFIX; i++)
        name[n + i] = name_alphabet[ctx->rand(ctx->rand_arg) % (sizeof(name_alphabet) - 1)];
    name[n + GENERATE_SUFFIX] = '\0';
    json_object_set_new(meta, "name", json_string(name));
    free(name);
}

/* Kubernetes's PrepareForCreate: the status a client sends is dropped
 * for kinds whose status the system owns. A namespace starts Active
 * (namespaceStrategy): one created as "Terminating" would refuse every
 * object put in it. */
static void
meta_reset_status(json_t *obj, const struct api_kind *k)
{
    if (!strcmp(k->kind, "Namespace"))
        json_object_set_new(obj, "status", json_pack("{s:s}", "phase", "Active"));
    else if (!strcmp(k->kind, "Pod"))
        json_object_set_new(obj, "status", json_pack("{s:s}", "phase", "Pending"));
    else if (!strcmp(k->kind, "ReplicaSet") || !strcmp(k->kind, "Deployment") ||
             !strcmp(k->kind, "Service"))
        json_object_set_new(obj, "status", json_object());
}

int
api_meta_prepare_create(json_t *obj, const struct api_kind *k, const struct api_meta_ctx *ctx,
                        struct api_errors *errs, struct sk_err *err)
{
    json_t *meta = json_object_get(obj, "metadata");
    const char *name, *gen, *ns;

    if (!meta || json_is_null(meta))
        json_object_set_new(obj, "metadata", meta = json_object());
    if (!json_is_object(meta))
        return meta_fail(errs, err, API_FE_INVALID, "metadata", "must be an object", k->kind, "");
    name = json_string_value(json_object_get(meta, "name"));
    gen = json_string_value(json_object_get(meta, "generateName"));
    if ((!name || !*name) && gen && *gen)
        meta_generate_name(meta, gen, ctx);
    name = api_meta_name(obj);
    if (!*name)
        return meta_fail(errs, err, API_FE_REQUIRED, "metadata.name",
                         "name or generateName is required", k->kind, "");
    ns = json_string_value(json_object_get(meta, "namespace"));
    /* a namespace of the wrong type stays for validation to report */
    if (k->namespaced && (ns ? !*ns
                             : json_is_null(json_object_get(meta, "namespace")) ||
                                   !json_object_get(meta, "namespace")))
        json_object_set_new(meta, "namespace", json_string("default"));
    if (!k->namespaced && ns && *ns)
        return meta_fail(errs, err, API_FE_FORBIDDEN, "metadata.namespace",
                         "not allowed on this type", k->kind, name);
    if (json_string_length(json_object_get(meta, "resourceVersion")) > 0)
        return meta_fail(errs, err, API_FE_INVALID, "metadata.resourceVersion",
                         "resourceVersion should not be set on objects to be created", k->kind,
                         name);
    json_object_set_new(meta, "uid", json_string(ctx->uid ? ctx->uid : ""));
    meta_set_time(meta, "creationTimestamp", ctx->now);
    api_meta_set_revision(obj, ctx->rev);
    if (k->has_spec)
        json_object_set_new(meta, "generation", json_integer(1));
    else
        json_object_del(meta, "generation");
    json_object_del(meta, "deletionTimestamp");
    json_object_del(meta, "deletionGracePeriodSeconds");
    json_object_del(meta, "managedFields");
    meta_reset_status(obj, k);
    return 0;
}

/* ---- update ---- */

static const char *const server_fields[] = {"uid", "creationTimestamp", "deletionTimestamp",
                                            "deletionGracePeriodSeconds", "generation"};

static int
meta_conflict(const struct api_kind *k, const char *name, struct sk_err *err)
{
    return sk_err_set(err, ESTALE,
                      "Operation cannot be fulfilled on %s \"%s\": the object has been modified; "
                      "please apply your changes to the latest version and try again",
                      k->resource, name);
}

static void
copy_field(json_t *dst, const json_t *src, const char *field)
{
    json_t *v = json_object_get(src, field);

    if (v)
        json_object_set_new(dst, field, json_deep_copy(v));
    else
        json_object_del(dst, field);
}

/* For a status update the result is old with the new status. */
static void
meta_keep_only_status(const json_t *old, json_t *obj)
{
    json_t *status = json_incref(json_object_get(obj, "status"));
    const char *key;
    json_t *val;
    void *tmp;

    json_object_foreach_safe (obj, tmp, key, val)
        json_object_del(obj, key);
    json_object_foreach ((json_t *)old, key, val)
        json_object_set_new(obj, key, json_deep_copy(val));
    if (status)
        json_object_set_new(obj, "status", status);
    else
        json_object_del(obj, "status");
}

int
api_meta_prepare_update(const json_t *old, json_t *obj, const struct api_kind *k,
                        enum api_update_mode mode, const struct api_meta_ctx *ctx,
                        struct sk_err *err)
{
    json_t *ometa = api_meta_obj(old), *meta;
    const char *rv, *orv;
    int64_t gen;

    if (!ometa)
        return sk_err_set(err, EINVAL, "stored %s has no metadata", k->kind);
    if (mode == API_UPDATE_STATUS && !k->has_status)
        return sk_err_set(err, EBADMSG, "%s have no status subresource", k->resource);
    if (!json_is_object(json_object_get(obj, "metadata")))
        return sk_err_set(err, EINVAL, "%s \"%s\" is invalid: metadata: Required value", k->kind,
                          api_meta_name(old));
    rv = json_string_value(json_object_get(api_meta_obj(obj), "resourceVersion"));
    orv = json_string_value(json_object_get(ometa, "resourceVersion"));
    if (rv && *rv && (!orv || strcmp(rv, orv)))
        return meta_conflict(k, api_meta_name(old), err);
    /* the namespace comes from the request when the body has none, as
     * Kubernetes fills it from the URL */
    if (!json_string_length(json_object_get(api_meta_obj(obj), "namespace")))
        copy_field(api_meta_obj(obj), ometa, "namespace");
    if (mode == API_UPDATE_STATUS)
        meta_keep_only_status(old, obj);
    else if (k->has_status)
        copy_field(obj, old, "status");
    meta = api_meta_obj(obj);
    for (size_t i = 0; i < sizeof(server_fields) / sizeof(server_fields[0]); i++)
        copy_field(meta, ometa, server_fields[i]);
    json_object_del(meta, "managedFields");
    if (k->has_spec && !api_json_same(json_object_get(old, "spec"), json_object_get(obj, "spec"))) {
        gen = json_integer_value(json_object_get(ometa, "generation"));
        json_object_set_new(meta, "generation", json_integer(gen + 1));
    }
    api_meta_set_revision(obj, ctx->rev);
    return json_object_get(ometa, "deletionTimestamp") && api_meta_should_remove(obj) ? 1 : 0;
}

/* ---- finalizers and delete ---- */

int
api_meta_finalizer_add(json_t *obj, const char *finalizer)
{
    json_t *meta = api_meta_obj(obj), *list, *f;
    size_t i;

    if (!meta)
        return 0;
    list = json_object_get(meta, "finalizers");
    if (!json_is_array(list))
        json_object_set_new(meta, "finalizers", list = json_array());
    json_array_foreach (list, i, f)
        if (json_is_string(f) && !strcmp(json_string_value(f), finalizer))
            return 0;
    json_array_append_new(list, json_string(finalizer));
    return 1;
}

int
api_meta_finalizer_remove(json_t *obj, const char *finalizer)
{
    json_t *meta = api_meta_obj(obj), *list = json_object_get(meta, "finalizers");
    int changed = 0;

    for (size_t i = 0; i < json_array_size(list);) {
        const char *f = json_string_value(json_array_get(list, i));

        if (f && !strcmp(f, finalizer)) {
            json_array_remove(list, i);
            changed = 1;
        } else {
            i++;
        }
    }
    if (changed && json_array_size(list) == 0)
        json_object_del(meta, "finalizers");
    return changed;
}

bool
api_meta_should_remove(const json_t *obj)
{
    json_t *meta = api_meta_obj(obj), *grace;

    if (!meta || !json_object_get(meta, "deletionTimestamp") ||
        json_is_null(json_object_get(meta, "deletionTimestamp")))
        return false;
    if (json_array_size(json_object_get(meta, "finalizers")) > 0)
        return false;
    grace = json_object_get(meta, "deletionGracePeriodSeconds");
    return !grace || json_is_null(grace) || json_integer_value(grace) == 0;
}

static int
delete_preconditions(const json_t *meta, const struct api_kind *k, const char *name,
                     const struct api_delete_opts *opts, struct sk_err *err)
{
    const char *uid = json_string_value(json_object_get(meta, "uid"));
    const char *rv = json_string_value(json_object_get(meta, "resourceVersion"));

    if (opts->precondition_uid && (!uid || strcmp(uid, opts->precondition_uid)))
        return sk_err_set(err, ESTALE,
                          "Operation cannot be fulfilled on %s \"%s\": Precondition failed: "
                          "UID in precondition: %s, UID in object meta: %s",
                          k->resource, name, opts->precondition_uid, uid ? uid : "");
    if (opts->precondition_version && (!rv || strcmp(rv, opts->precondition_version)))
        return sk_err_set(err, ESTALE,
                          "Operation cannot be fulfilled on %s \"%s\": Precondition failed: "
                          "ResourceVersion in precondition: %s, ResourceVersion in object meta: "
                          "%s",
                          k->resource, name, opts->precondition_version, rv ? rv : "");
    return 0;
}

/* The grace period of a delete, or -1 when the object is not deleted
 * gracefully: only pods bound to a node that have not finished
 * (Kubernetes's podStrategy.CheckGracefulDelete). */
static int64_t
delete_grace(const json_t *obj, const struct api_kind *k, const struct api_delete_opts *opts)
{
    json_t *spec = json_object_get(obj, "spec");
    const char *phase = json_string_value(json_object_get(json_object_get(obj, "status"), "phase"));
    json_t *tgp = json_object_get(spec, "terminationGracePeriodSeconds");
    int64_t grace = json_is_integer(tgp) ? json_integer_value(tgp) : 30;

    if (strcmp(k->kind, "Pod"))
        return -1;
    if (opts->grace_seconds >= 0)
        grace = opts->grace_seconds;
    if (grace < 0)
        grace = 1; /* a negative period from an old client means "soon", as Kubernetes does */
    if (!json_string_length(json_object_get(spec, "nodeName")))
        return 0; /* never scheduled: nothing to stop */
    if (phase && (!strcmp(phase, "Failed") || !strcmp(phase, "Succeeded")))
        return 0;
    return grace;
}

static void
delete_mark(json_t *meta, const struct api_meta_ctx *ctx, int64_t grace)
{
    meta_set_time(meta, "deletionTimestamp", ctx->now + grace);
    json_object_set_new(meta, "deletionGracePeriodSeconds", json_integer(grace));
}

int
api_meta_prepare_delete(json_t *obj, const struct api_kind *k, const struct api_delete_opts *opts,
                        const struct api_meta_ctx *ctx, struct sk_err *err)
{
    json_t *meta = api_meta_obj(obj), *cur;
    int64_t grace;
    int rc;

    if (!meta)
        return API_DELETE_NOW;
    rc = delete_preconditions(meta, k, api_meta_name(obj), opts, err);
    if (rc < 0)
        return rc;
    grace = delete_grace(obj, k, opts);
    if (json_object_get(meta, "deletionTimestamp")) {
        /* already being deleted: a delete may only shorten the grace period */
        cur = json_object_get(meta, "deletionGracePeriodSeconds");
        if (grace >= 0 && (!json_is_integer(cur) || grace < json_integer_value(cur)))
            delete_mark(meta, ctx, grace);
        return api_meta_should_remove(obj) ? API_DELETE_NOW : API_DELETE_DEFERRED;
    }
    if (opts->propagation == API_PROPAGATE_FOREGROUND)
        api_meta_finalizer_add(obj, "foregroundDeletion");
    else if (opts->propagation == API_PROPAGATE_ORPHAN)
        api_meta_finalizer_add(obj, "orphan");
    if (grace > 0) {
        delete_mark(meta, ctx, grace);
        return API_DELETE_DEFERRED;
    }
    if (json_array_size(json_object_get(meta, "finalizers")) == 0)
        return API_DELETE_NOW;
    delete_mark(meta, ctx, 0);
    return API_DELETE_DEFERRED;
}
