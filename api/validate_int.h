#ifndef API_VALIDATE_INT_H
#define API_VALIDATE_INT_H

/* Private to api/: the validation walker shared by validate_*.c.
 *
 * A struct vctx carries the error list and the field path being looked
 * at, rendered the way Kubernetes's field.Path prints it: ".child",
 * "[index]" and "[key]" for map keys (unquoted, as in
 * "spec.containers[0].resources.limits[cpu]").
 *
 * The typed getters (v_str, v_obj, ...) read a field of an object: a
 * missing or null field gives NULL/false without an error, a field of the
 * wrong type records "<path>: Invalid value: <v>: must be a string" and
 * also gives NULL/false, so a hostile object yields errors, never a crash. */

#include "object.h"

#include <stdarg.h>

struct vctx {
    struct api_errors *errs;
    struct sk_buf path;
};

void vctx_init(struct vctx *v, struct api_errors *errs);
void vctx_release(struct vctx *v);

/* Path building; each returns a mark for vpath_pop. */
size_t vpath_child(struct vctx *v, const char *name);
size_t vpath_index(struct vctx *v, size_t i);
size_t vpath_key(struct vctx *v, const char *key);
void vpath_pop(struct vctx *v, size_t mark);
const char *vpath_str(const struct vctx *v);

/* Record an error at the current path, or at path "." child when child
 * is not NULL. detail is printf-like (may be NULL for none). */
void v_err(struct vctx *v, enum api_field_error_type type, const char *child, const json_t *value,
           const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Shortcuts with a string or integer value. */
void v_err_str(struct vctx *v, enum api_field_error_type type, const char *child, const char *value,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void v_err_int(struct vctx *v, enum api_field_error_type type, const char *child, int64_t value,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* "Unsupported value: "x": supported values: "a", "b"" for a NULL
 * terminated list. */
void v_not_supported(struct vctx *v, const char *child, const char *value,
                     const char *const *supported);

/* Typed getters (see above). v_int accepts JSON integers and integral
 * reals within int32 (wide: int64); out of range is "must be a 32-bit
 * integer". */
const char *v_str(struct vctx *v, const json_t *obj, const char *field);
json_t *v_obj(struct vctx *v, const json_t *obj, const char *field);
json_t *v_arr(struct vctx *v, const json_t *obj, const char *field);
bool v_int(struct vctx *v, const json_t *obj, const char *field, int64_t *out);
bool v_int64(struct vctx *v, const json_t *obj, const char *field, int64_t *out);
bool v_bool(struct vctx *v, const json_t *obj, const char *field, bool *out);
/* Same for an array element (path "[i]" pushed by the caller or not). */
json_t *v_elem_obj(struct vctx *v, const json_t *arr, size_t i);
const char *v_elem_str(struct vctx *v, const json_t *arr, size_t i);
/* An object whose values must all be strings (labels, data): reports
 * each non-string value at "<field>[<key>]" and returns the object (NULL
 * when absent or not an object). */
json_t *v_str_map(struct vctx *v, const json_t *obj, const char *field);
/* An array whose items must all be strings. */
json_t *v_str_list(struct vctx *v, const json_t *obj, const char *field);

/* String enum check: absent is fine unless required; wrong values
 * are "Unsupported value". Returns the string or NULL. */
const char *v_enum(struct vctx *v, const json_t *obj, const char *field,
                   const char *const *supported, bool required);
/* A non-negative int32 field ("must be greater than or equal to 0"). */
void v_nonneg(struct vctx *v, const json_t *obj, const char *field);

/* ---- name and label rules (validate_names.c) ---- */

/* Each appends Kubernetes's messages for value into v at child of the
 * current path, as "Invalid value" errors; returns the count. */
size_t v_dns1123_label(struct vctx *v, const char *child, const char *value);
size_t v_dns1123_subdomain(struct vctx *v, const char *child, const char *value);
size_t v_dns1035_label(struct vctx *v, const char *child, const char *value);
size_t v_name_rule(struct vctx *v, const char *child, const char *value, enum api_name_rule rule,
                   bool prefix);
size_t v_port_name(struct vctx *v, const char *child, const char *value);
/* Port number 1-65535 or IANA port name (intOrString). */
void v_port_num_or_name(struct vctx *v, const json_t *obj, const char *field, bool required);
/* Labels map at field (metadata.labels, spec.selector, nodeSelector). */
void v_labels(struct vctx *v, const json_t *obj, const char *field);
/* A label selector object ({matchLabels, matchExpressions}). */
void v_label_selector(struct vctx *v, const json_t *obj, const char *field);
/* An IPv4 dotted quad. */
bool v_ipv4_ok(const char *s);

/* ---- quantities, label keys and selectors (validate_ext.c) ----
 * The only uses of lib/quantity.h and lib/selector.h in api/; until those
 * are merged, validate_ext.c implements minimal local versions. */

/* A quantity given as a string ("500m", "1Gi") or a JSON number; stores
 * its value in thousandths (saturated at int64 bounds). */
int ext_quantity_milli(const json_t *q, int64_t *milli, struct sk_err *err);
/* Label key (optional DNS prefix '/' name) and value; one message in err. */
int ext_label_key_valid(const char *key, struct sk_err *err);
int ext_label_value_valid(const char *value, struct sk_err *err);
/* A parsed metav1.LabelSelector; NULL with err on a bad one. */
struct ext_selector;
struct ext_selector *ext_selector_new(const json_t *label_selector, const char *path,
                                      struct sk_err *err);
bool ext_selector_matches(const struct ext_selector *sel, const json_t *labels);
void ext_selector_free(struct ext_selector *sel);

/* ---- per-kind validators; obj is the whole object ---- */

void v_object_meta(struct vctx *v, const json_t *obj, const struct api_kind *k);
void v_pod(struct vctx *v, const json_t *obj);
void v_pod_spec(struct vctx *v, const json_t *spec);
/* Pod spec parts: volumes (names collected into the set names),
 * tolerations and affinity (validate_volumes.c, validate_sched.c). */
void v_volumes(struct vctx *v, const json_t *spec, json_t *names);
void v_tolerations(struct vctx *v, const json_t *spec);
void v_affinity(struct vctx *v, const json_t *spec);
void v_pod_template(struct vctx *v, const json_t *spec, bool workload);
void v_replicaset(struct vctx *v, const json_t *obj);
void v_deployment(struct vctx *v, const json_t *obj);
void v_service(struct vctx *v, const json_t *obj);
void v_endpoints(struct vctx *v, const json_t *obj);
void v_namespace(struct vctx *v, const json_t *obj);
void v_node(struct vctx *v, const json_t *obj);
void v_configmap(struct vctx *v, const json_t *obj);
void v_secret(struct vctx *v, const json_t *obj);
void v_service_account(struct vctx *v, const json_t *obj);
void v_event(struct vctx *v, const json_t *obj);
void v_lease(struct vctx *v, const json_t *obj);
void v_role(struct vctx *v, const json_t *obj, bool cluster);
void v_role_binding(struct vctx *v, const json_t *obj, bool cluster);

/* Update rules (immutable.c). */
void v_immutable(struct vctx *v, const json_t *old, const json_t *obj, const struct api_kind *k);

/* ---- shared helpers of api/ (meta.c) ---- */

/* metadata of obj, or NULL when absent or not an object. */
json_t *api_meta_obj(const json_t *obj);
/* json_equal that treats two missing (NULL) values as equal. */
bool api_json_same(const json_t *a, const json_t *b);

#endif
