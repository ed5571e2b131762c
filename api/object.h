#ifndef API_OBJECT_H
#define API_OBJECT_H

/* The object model of the API server: Kubernetes-shaped JSON objects
 * (jansson json_t), the registry of kinds, server-managed metadata,
 * defaulting, validation and update rules. Everything here is a pure
 * function of its inputs (no I/O, no clock, no randomness of its own):
 * the caller supplies the time, the uid, the store revision and a random
 * source, so every rule can be tested with tables.
 *
 * The order of a write, as in Kubernetes:
 *
 *     create: api_kind_of -> api_object_default -> api_meta_prepare_create
 *             -> api_object_validate
 *     update: api_kind_of -> api_object_default -> api_meta_prepare_update
 *             -> api_object_validate_update
 *     delete: api_meta_prepare_delete (remove now, or store the object
 *             with deletionTimestamp and wait for its finalizers)
 *
 * api_object_prepare_create()/_update() run those steps in that order.
 * Unknown fields are accepted and stored verbatim (kubectl's default is
 * to warn about them, not to refuse); they are never validated.
 *
 * Errors: functions that can fail for more than one reason at once
 * (validation) collect every problem into struct api_errors, each naming
 * its field path as Kubernetes does ("spec.containers[0].image: Required
 * value"). Failures map to the protocol's status codes with
 * api_status_of(): -EINVAL 422 Invalid, -EBADMSG 400 BadRequest (not an
 * object, unknown kind), -ESTALE 409 Conflict (stale resourceVersion),
 * -EPERM 403 Forbidden. */

#include "lib/buf.h"
#include "lib/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- kinds ---- */

/* How a kind's metadata.name is checked (Kubernetes's NameIsDNS*). */
enum api_name_rule {
    API_NAME_SUBDOMAIN,    /* RFC 1123 subdomain, <= 253 (pods, most kinds) */
    API_NAME_LABEL,        /* RFC 1123 label, <= 63 (namespaces) */
    API_NAME_DNS1035,      /* RFC 1035 label, <= 63, starts with a letter (services) */
    API_NAME_PATH_SEGMENT, /* not "." or "..", no '/' or '%' (RBAC kinds) */
};

#define API_KIND_MAX_SHORT 2
#define API_KIND_MAX_SUB   4

struct api_kind {
    const char *kind;        /* "Pod" */
    const char *api_version; /* "v1", "apps/v1", "rbac.authorization.k8s.io/v1" */
    const char *resource;    /* "pods": the plural, used in store keys */
    const char *singular;    /* "pod" */
    const char *short_names[API_KIND_MAX_SHORT]; /* "po"; unused slots NULL */
    const char *subresources[API_KIND_MAX_SUB];  /* "status", "binding", ... */
    bool namespaced;
    bool has_spec;   /* generation is tracked (bumped when spec changes) */
    bool has_status; /* a status subresource: main updates keep status */
    enum api_name_rule name_rule;
};

/* Every registered kind, in a fixed order; *n receives the count. */
const struct api_kind *api_kinds(size_t *n);

/* Look a kind up by any of its names as a user types them on the
 * command line: kind, resource, singular or short name, compared
 * case-insensitively ("Pod", "pods", "po", "PODS"). NULL when unknown. */
const struct api_kind *api_kind_lookup(const char *name);

/* The kind of an object from its apiVersion and kind fields, compared
 * exactly (as the API server does). Fails with -EBADMSG: "object 'kind'
 * is missing", "object 'apiVersion' is missing", "no kind \"Pod\" is
 * registered for version \"apps/v1\"", or when obj is not an object. */
int api_kind_of(const json_t *obj, const struct api_kind **out, struct sk_err *err);

/* True when the kind has the named subresource ("status"). */
bool api_kind_has_subresource(const struct api_kind *k, const char *sub);

/* Append the store key of an object to out:
 * "/registry/<resource>/<namespace>/<name>" for namespaced kinds,
 * "/registry/<resource>/<name>" for cluster-scoped ones. The namespace
 * must be given for namespaced kinds and NULL/"" for cluster-scoped
 * ones; name must be non-empty; neither may contain '/' or be "." or
 * "..". Fails with -EINVAL (out unchanged). */
int api_key_build(const struct api_kind *k, const char *ns, const char *name, struct sk_buf *out,
                  struct sk_err *err);

/* Append the key prefix under which list/watch find a kind's objects,
 * ending in '/': "/registry/pods/" (all namespaces, ns NULL or "" or
 * "*"), "/registry/pods/default/". */
void api_key_prefix(const struct api_kind *k, const char *ns, struct sk_buf *out);

/* ---- field errors ---- */

/* Kubernetes's field.ErrorType; the string is what messages print. */
enum api_field_error_type {
    API_FE_REQUIRED,      /* "Required value" */
    API_FE_INVALID,       /* "Invalid value" */
    API_FE_NOT_SUPPORTED, /* "Unsupported value" */
    API_FE_DUPLICATE,     /* "Duplicate value" */
    API_FE_NOT_FOUND,     /* "Not found" */
    API_FE_FORBIDDEN,     /* "Forbidden" */
    API_FE_TOO_LONG,      /* "Too long" */
    API_FE_TOO_MANY,      /* "Too many" */
};

struct api_field_error {
    enum api_field_error_type type;
    char *field;  /* "spec.containers[0].image" */
    char *value;  /* the bad value as printed ("\"Web_1\"", "-1"), or NULL */
    char *detail; /* or NULL */
};

/* At most this many errors are kept; the rest are only counted, so a
 * hostile object with a million bad entries yields a bounded message. */
#define API_ERRORS_MAX 100

struct api_errors {
    struct api_field_error *items;
    size_t n;
    size_t cap;
    size_t dropped; /* errors beyond API_ERRORS_MAX */
};

void api_errors_init(struct api_errors *errs);
void api_errors_release(struct api_errors *errs);
/* Add an error. value is the bad value (NULL: none printed; a string is
 * printed quoted, numbers and booleans bare, objects and arrays as
 * compact JSON; long values are cut at 256 bytes). detail may be NULL. */
void api_errors_add(struct api_errors *errs, enum api_field_error_type type, const char *field,
                    const json_t *value, const char *detail);
/* "Required value", "Invalid value", ... */
const char *api_field_error_type_str(enum api_field_error_type type);
/* Append one error: "spec.replicas: Invalid value: -1: must be greater
 * than or equal to 0". */
void api_field_error_format(const struct api_field_error *e, struct sk_buf *out);
/* Append the one-line form Kubernetes returns: `Pod "web" is invalid:
 * <error>` for one error, `Pod "web" is invalid: [<e1>, <e2>]` for
 * several (plus ", and N more errors" when some were dropped). */
void api_errors_format(const struct api_errors *errs, const char *kind, const char *name,
                       struct sk_buf *out);
/* When errs is not empty, fill err with the one-line form (cut to
 * SK_ERR_MSG_MAX) and return -EINVAL; else return 0. */
int api_errors_to_err(const struct api_errors *errs, const char *kind, const char *name,
                      struct sk_err *err);

/* The protocol status for a negative return of this module:
 * -EINVAL 422 "Invalid", -EBADMSG 400 "BadRequest", -ESTALE 409
 * "Conflict", -EPERM 403 "Forbidden", anything else 500
 * "InternalError". Returns the code and stores the reason. */
int api_status_of(int rc, const char **reason);

/* ---- defaulting ---- */

/* Fill in defaults exactly as Kubernetes v1.28 does for the fields skiff
 * supports (see skiff-objects(5)): Pod restartPolicy Always, imagePull
 * Policy, ports' protocol TCP, requests from limits, probe timings, ...;
 * Deployment strategy and limits; Service type, targetPort; Secret type
 * Opaque and stringData folded into data; Namespace phase Active. Values
 * of the wrong type are left alone for validation to report; never fails. */
void api_object_default(json_t *obj, const struct api_kind *k);

/* Default a pod spec (also used for templates). */
void api_pod_spec_default(json_t *spec);

/* ---- validation ---- */

/* Validate a (defaulted) object of kind k, as created: apiVersion/kind,
 * metadata (name rule of the kind, namespace, labels, annotations,
 * finalizers, ownerReferences) and the kind's spec. Appends every
 * problem to errs; returns the number of errors added. */
size_t api_object_validate(const json_t *obj, const struct api_kind *k, struct api_errors *errs);

/* Validate an update: everything api_object_validate checks on obj,
 * plus the immutable fields against old (metadata.name/namespace/uid,
 * pod spec except images, activeDeadlineSeconds and added tolerations,
 * workload selectors, Service clusterIP, Secret type, immutable
 * ConfigMaps and Secrets, RoleBinding roleRef, Node podCIDR, no new
 * finalizers while deleting). Returns the number of errors added. */
size_t api_object_validate_update(const json_t *old, const json_t *obj, const struct api_kind *k,
                                  struct api_errors *errs);

/* ---- server-managed metadata ---- */

/* What the server knows at the time of a write; the caller provides it
 * so these functions stay pure. */
struct api_meta_ctx {
    int64_t now;     /* unix seconds */
    const char *uid; /* a fresh uid for a created object */
    uint64_t rev;    /* the store revision this write gets */
    /* Random source for generateName: returns a uniformly random
     * 32-bit value each call. */
    uint32_t (*rand)(void *arg);
    void *rand_arg;
};

/* Format unix seconds as RFC 3339 UTC, "2026-11-25T19:30:00Z", into out
 * (at least API_TIME_LEN bytes). */
#define API_TIME_LEN 21
void api_time_format(int64_t t, char *out);
/* Parse that format back; -EINVAL when malformed. */
int api_time_parse(const char *s, int64_t *t, struct sk_err *err);

/* Set the server-managed metadata of an object about to be created:
 * metadata.name from generateName (its first 58 bytes plus 5 random
 * characters from Kubernetes's alphabet "bcdfghjklmnpqrstvwxz2456789")
 * when name is absent; namespace defaulted to "default" for namespaced
 * kinds; uid, creationTimestamp, resourceVersion (ctx->rev as a string),
 * generation 1 for kinds with a spec; deletionTimestamp,
 * deletionGracePeriodSeconds and managed fields a client sent are
 * dropped. Status starts empty for Pods ({"phase":"Pending"}), Services,
 * ReplicaSets and Deployments, as Kubernetes's strategies reset it.
 * Errors (-EINVAL, field-error form, also added to errs when given): no
 * name nor generateName, a namespace on a cluster-scoped kind, a
 * resourceVersion set by the client, metadata not an object. */
int api_meta_prepare_create(json_t *obj, const struct api_kind *k, const struct api_meta_ctx *ctx,
                            struct api_errors *errs, struct sk_err *err);

enum api_update_mode {
    API_UPDATE_MAIN,   /* the main resource: status changes are ignored */
    API_UPDATE_STATUS, /* the status subresource: only status changes */
};

/* Prepare obj (the client's new version) to replace old (the stored
 * one, unchanged). A resourceVersion in obj other than old's fails with
 * -ESTALE and Kubernetes's message: `Operation cannot be fulfilled on
 * pods "web": the object has been modified; please apply your changes to
 * the latest version and try again`; no resourceVersion is an
 * unconditional update. A body without a namespace takes old's. Then:
 * uid, creationTimestamp, deletionTimestamp,
 * deletionGracePeriodSeconds and generation come from old; for
 * API_UPDATE_MAIN on a kind with a status subresource, status comes from
 * old; for API_UPDATE_STATUS everything but status comes from old. The
 * generation is bumped when spec changed. resourceVersion becomes
 * ctx->rev. A status update of a kind without a status subresource fails
 * with -EBADMSG. Returns 1 when the object must now be removed from the
 * store (it was being deleted, grace period over, and its finalizers are
 * now empty), else 0. */
int api_meta_prepare_update(const json_t *old, json_t *obj, const struct api_kind *k,
                            enum api_update_mode mode, const struct api_meta_ctx *ctx,
                            struct sk_err *err);

enum api_propagation {
    API_PROPAGATE_DEFAULT,    /* the kind's default: background */
    API_PROPAGATE_BACKGROUND, /* delete now, the garbage collector follows */
    API_PROPAGATE_FOREGROUND, /* finalizer "foregroundDeletion" */
    API_PROPAGATE_ORPHAN,     /* finalizer "orphan" */
};

struct api_delete_opts {
    int64_t grace_seconds; /* -1: the object's default */
    enum api_propagation propagation;
    const char *precondition_uid;     /* or NULL */
    const char *precondition_version; /* resourceVersion, or NULL */
};

#define API_DELETE_NOW      0 /* remove the object from the store */
#define API_DELETE_DEFERRED 1 /* store obj as modified; removal comes later */

/* Decide what a delete does to obj (the stored object, modified in place
 * when deferred). Pods bound to a node and not finished are deleted
 * gracefully: deletionTimestamp = now + grace and
 * deletionGracePeriodSeconds = grace (default
 * spec.terminationGracePeriodSeconds), and the kubelet deletes again
 * with grace 0 once the containers stopped. An object with finalizers
 * (after adding the propagation one) gets deletionTimestamp = now and
 * waits for them. A second delete can only shorten the grace period.
 * Preconditions that do not hold fail with -ESTALE. Returns
 * API_DELETE_NOW or API_DELETE_DEFERRED. */
int api_meta_prepare_delete(json_t *obj, const struct api_kind *k,
                            const struct api_delete_opts *opts, const struct api_meta_ctx *ctx,
                            struct sk_err *err);

/* True when obj is being deleted and nothing holds it any more: a
 * deletionTimestamp, no finalizers and a grace period of 0 (or none). */
bool api_meta_should_remove(const json_t *obj);

/* Add or remove one finalizer on obj (metadata.finalizers); both are
 * idempotent. Return 1 when obj changed, 0 when not. */
int api_meta_finalizer_add(json_t *obj, const char *finalizer);
int api_meta_finalizer_remove(json_t *obj, const char *finalizer);

/* Set metadata.resourceVersion to rev (a decimal string). */
void api_meta_set_revision(json_t *obj, uint64_t rev);

/* Borrowed metadata.name / metadata.namespace, or "" when absent. */
const char *api_meta_name(const json_t *obj);
const char *api_meta_namespace(const json_t *obj);

/* ---- field labels and bindings (fields.c) ---- */

/* The value of a field label of obj, as `--field-selector` compares it:
 * metadata.name and metadata.namespace for every kind; for pods
 * spec.nodeName, spec.restartPolicy, spec.schedulerName,
 * spec.serviceAccountName, status.phase, status.podIP,
 * status.nominatedNodeName; nodes spec.unschedulable ("true"/"false");
 * namespaces status.phase; secrets type; replicasets status.replicas;
 * events involvedObject.{kind,namespace,name,uid,apiVersion,
 * resourceVersion,fieldPath}, reason, reportingComponent, source, type.
 * An absent field reads as "". Writes into out (cut to outsz). Fails
 * with -EINVAL "field label not supported: <label>" for other labels. */
int api_field_label_value(const json_t *obj, const struct api_kind *k, const char *label, char *out,
                          size_t outsz, struct sk_err *err);

/* The pods/binding subresource (the scheduler's bind): set
 * spec.nodeName of pod (the stored Pod, changed in place) from a Binding
 * object ({"target":{"kind":"Node","name":"node-1"}}). Fails with
 * -EINVAL for a Binding without target.name or with another target
 * kind, and -ESTALE (409) when the pod is already bound ("pod web is
 * already assigned to node \"node-1\"") or is being deleted. The
 * caller then writes the pod with api_meta_set_revision(). The pod's
 * PodScheduled condition becomes True (transition time now, unix
 * seconds, when it was not True), as Kubernetes's binding does. */
int api_pod_bind(json_t *pod, const json_t *binding, int64_t now, struct sk_err *err);

/* ---- whole pipelines ---- */

/* Create: kind from obj (-EBADMSG), defaulting, metadata, validation
 * (-EINVAL with the one-line message in err and the list in errs). *kind
 * receives the kind when found. */
int api_object_prepare_create(json_t *obj, const struct api_meta_ctx *ctx,
                              const struct api_kind **kind, struct api_errors *errs,
                              struct sk_err *err);

/* Update of old by obj: both must be of the same kind; returns as
 * api_meta_prepare_update (1: remove now) or negative as above. */
int api_object_prepare_update(const json_t *old, json_t *obj, enum api_update_mode mode,
                              const struct api_meta_ctx *ctx, struct api_errors *errs,
                              struct sk_err *err);

#endif
