/* The validation walker (see validate_int.h) and the entry points that
 * dispatch to each kind's validator. */
#include "validate_int.h"

#include "lib/alloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void
vctx_init(struct vctx *v, struct api_errors *errs)
{
    v->errs = errs;
    sk_buf_init(&v->path);
    sk_buf_puts(&v->path, "");
}

void
vctx_release(struct vctx *v)
{
    sk_buf_release(&v->path);
}

size_t
vpath_child(struct vctx *v, const char *name)
{
    size_t mark = v->path.len;

    if (mark)
        sk_buf_putc(&v->path, '.');
    sk_buf_puts(&v->path, name);
    return mark;
}

size_t
vpath_index(struct vctx *v, size_t i)
{
    size_t mark = v->path.len;

    sk_buf_printf(&v->path, "[%zu]", i);
    return mark;
}

size_t
vpath_key(struct vctx *v, const char *key)
{
    size_t mark = v->path.len;

    sk_buf_printf(&v->path, "[%s]", key);
    return mark;
}

void
vpath_pop(struct vctx *v, size_t mark)
{
    sk_buf_truncate(&v->path, mark);
}

const char *
vpath_str(const struct vctx *v)
{
    return v->path.data ? v->path.data : "";
}

/* A field of the wrong type was reported already; "Required value" for
 * it too would only repeat that. */
static bool
already_reported(const struct api_errors *errs, const char *field)
{
    for (size_t i = 0; i < errs->n; i++)
        if (!strcmp(errs->items[i].field, field))
            return true;
    return false;
}

static void v_err_va(struct vctx *v, enum api_field_error_type type, const char *child,
                     const json_t *value, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

static void
v_err_va(struct vctx *v, enum api_field_error_type type, const char *child, const json_t *value,
         const char *fmt, va_list ap)
{
    struct sk_buf detail = SK_BUF_INIT;
    size_t mark = v->path.len;

    if (child)
        vpath_child(v, child);
    if (type == API_FE_REQUIRED && already_reported(v->errs, vpath_str(v))) {
        vpath_pop(v, mark);
        return;
    }
    if (fmt)
        sk_buf_vprintf(&detail, fmt, ap);
    api_errors_add(v->errs, type, vpath_str(v), value, detail.data);
    vpath_pop(v, mark);
    sk_buf_release(&detail);
}

void
v_err(struct vctx *v, enum api_field_error_type type, const char *child, const json_t *value,
      const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    v_err_va(v, type, child, value, fmt, ap);
    va_end(ap);
}

void
v_err_str(struct vctx *v, enum api_field_error_type type, const char *child, const char *value,
          const char *fmt, ...)
{
    json_t *j = json_string(value ? value : "");
    va_list ap;

    if (!j) /* not UTF-8: print it as bytes would be misleading, show it empty */
        j = json_string("<not UTF-8>");
    va_start(ap, fmt);
    v_err_va(v, type, child, j, fmt, ap);
    va_end(ap);
    json_decref(j);
}

void
v_err_int(struct vctx *v, enum api_field_error_type type, const char *child, int64_t value,
          const char *fmt, ...)
{
    json_t *j = json_integer(value);
    va_list ap;

    va_start(ap, fmt);
    v_err_va(v, type, child, j, fmt, ap);
    va_end(ap);
    json_decref(j);
}

void
v_not_supported(struct vctx *v, const char *child, const char *value, const char *const *supported)
{
    struct sk_buf list = SK_BUF_INIT;

    for (size_t i = 0; supported[i]; i++)
        sk_buf_printf(&list, "%s\"%s\"", i ? ", " : "", supported[i]);
    v_err_str(v, API_FE_NOT_SUPPORTED, child, value, "supported values: %s", list.data);
    sk_buf_release(&list);
}

static json_t *
v_field(const json_t *obj, const char *field)
{
    json_t *j = json_is_object(obj) ? json_object_get(obj, field) : NULL;

    return json_is_null(j) ? NULL : j;
}

static void
v_type_err(struct vctx *v, const char *child, const json_t *value, const char *what)
{
    v_err(v, API_FE_INVALID, child, value, "must be %s", what);
}

const char *
v_str(struct vctx *v, const json_t *obj, const char *field)
{
    json_t *j = v_field(obj, field);

    if (j && !json_is_string(j)) {
        v_type_err(v, field, j, "a string");
        return NULL;
    }
    return json_string_value(j);
}

json_t *
v_obj(struct vctx *v, const json_t *obj, const char *field)
{
    json_t *j = v_field(obj, field);

    if (j && !json_is_object(j)) {
        v_type_err(v, field, j, "an object");
        return NULL;
    }
    return j;
}

json_t *
v_arr(struct vctx *v, const json_t *obj, const char *field)
{
    json_t *j = v_field(obj, field);

    if (j && !json_is_array(j)) {
        v_type_err(v, field, j, "an array");
        return NULL;
    }
    return j;
}

static bool
real_integral(double d)
{
    return d == floor(d) && fabs(d) < 9.2e18;
}

static bool
v_int_range(struct vctx *v, const json_t *obj, const char *field, int64_t min, int64_t max,
            int64_t *out)
{
    json_t *j = v_field(obj, field);
    double d;

    if (!j)
        return false;
    if (json_is_integer(j)) {
        *out = json_integer_value(j);
    } else if (json_is_real(j) && real_integral(json_real_value(j))) {
        d = json_real_value(j);
        *out = (int64_t)d;
    } else {
        v_type_err(v, field, j, "an integer");
        return false;
    }
    if (*out < min || *out > max) {
        v_type_err(v, field, j, min == INT32_MIN ? "a 32-bit integer" : "a 64-bit integer");
        return false;
    }
    return true;
}

bool
v_int(struct vctx *v, const json_t *obj, const char *field, int64_t *out)
{
    return v_int_range(v, obj, field, INT32_MIN, INT32_MAX, out);
}

bool
v_int64(struct vctx *v, const json_t *obj, const char *field, int64_t *out)
{
    return v_int_range(v, obj, field, INT64_MIN, INT64_MAX, out);
}

bool
v_bool(struct vctx *v, const json_t *obj, const char *field, bool *out)
{
    json_t *j = v_field(obj, field);

    if (!j)
        return false;
    if (!json_is_boolean(j)) {
        v_type_err(v, field, j, "a boolean");
        return false;
    }
    *out = json_is_true(j);
    return true;
}

json_t *
v_elem_obj(struct vctx *v, const json_t *arr, size_t i)
{
    json_t *j = json_array_get(arr, i);
    size_t mark;

    if (json_is_object(j))
        return j;
    mark = vpath_index(v, i);
    v_type_err(v, NULL, j, "an object");
    vpath_pop(v, mark);
    return NULL;
}

const char *
v_elem_str(struct vctx *v, const json_t *arr, size_t i)
{
    json_t *j = json_array_get(arr, i);
    size_t mark;

    if (json_is_string(j))
        return json_string_value(j);
    mark = vpath_index(v, i);
    v_type_err(v, NULL, j, "a string");
    vpath_pop(v, mark);
    return NULL;
}

json_t *
v_str_map(struct vctx *v, const json_t *obj, const char *field)
{
    json_t *map = v_obj(v, obj, field), *val;
    const char *key;
    size_t mark;

    if (!map)
        return NULL;
    json_object_foreach (map, key, val) {
        if (json_is_string(val))
            continue;
        mark = vpath_child(v, field);
        vpath_key(v, key);
        v_type_err(v, NULL, val, "a string");
        vpath_pop(v, mark);
    }
    return map;
}

json_t *
v_str_list(struct vctx *v, const json_t *obj, const char *field)
{
    json_t *arr = v_arr(v, obj, field);
    size_t mark;

    if (!arr)
        return NULL;
    mark = vpath_child(v, field);
    for (size_t i = 0; i < json_array_size(arr); i++)
        v_elem_str(v, arr, i);
    vpath_pop(v, mark);
    return arr;
}

const char *
v_enum(struct vctx *v, const json_t *obj, const char *field, const char *const *supported,
       bool required)
{
    const char *s = v_str(v, obj, field);

    if (!s || !*s) {
        if (required && !(v_field(obj, field) && !json_is_string(v_field(obj, field))))
            v_err(v, API_FE_REQUIRED, field, NULL, NULL);
        return NULL;
    }
    for (size_t i = 0; supported[i]; i++)
        if (!strcmp(s, supported[i]))
            return s;
    v_not_supported(v, field, s, supported);
    return NULL;
}

void
v_nonneg(struct vctx *v, const json_t *obj, const char *field)
{
    int64_t n;

    if (v_int(v, obj, field, &n) && n < 0)
        v_err_int(v, API_FE_INVALID, field, n, "must be greater than or equal to 0");
}

/* ---- entry points ---- */

static void
v_kind_spec(struct vctx *v, const json_t *obj, const struct api_kind *k)
{
    static const struct {
        const char *kind;
        void (*fn)(struct vctx *, const json_t *);
    } table[] = {
        {"Pod", v_pod},
        {"ReplicaSet", v_replicaset},
        {"Deployment", v_deployment},
        {"Service", v_service},
        {"Endpoints", v_endpoints},
        {"Namespace", v_namespace},
        {"Node", v_node},
        {"ConfigMap", v_configmap},
        {"Secret", v_secret},
        {"ServiceAccount", v_service_account},
        {"Event", v_event},
        {"Lease", v_lease},
    };

    if (!strcmp(k->kind, "Role") || !strcmp(k->kind, "ClusterRole")) {
        v_role(v, obj, k->kind[0] == 'C');
        return;
    }
    if (!strcmp(k->kind, "RoleBinding") || !strcmp(k->kind, "ClusterRoleBinding")) {
        v_role_binding(v, obj, k->kind[0] == 'C');
        return;
    }
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (!strcmp(table[i].kind, k->kind))
            table[i].fn(v, obj);
}

static void
v_type_meta(struct vctx *v, const json_t *obj, const struct api_kind *k)
{
    const char *kind = v_str(v, obj, "kind");
    const char *version = v_str(v, obj, "apiVersion");

    if (kind && strcmp(kind, k->kind))
        v_err_str(v, API_FE_INVALID, "kind", kind, "must be %s", k->kind);
    if (version && strcmp(version, k->api_version))
        v_err_str(v, API_FE_INVALID, "apiVersion", version, "must be %s", k->api_version);
}

size_t
api_object_validate(const json_t *obj, const struct api_kind *k, struct api_errors *errs)
{
    size_t before = errs->n + errs->dropped;
    struct vctx v;

    vctx_init(&v, errs);
    if (!json_is_object(obj)) {
        v_err(&v, API_FE_INVALID, "<object>", obj, "must be an object");
    } else {
        v_type_meta(&v, obj, k);
        v_object_meta(&v, obj, k);
        v_kind_spec(&v, obj, k);
    }
    vctx_release(&v);
    return errs->n + errs->dropped - before;
}

size_t
api_object_validate_update(const json_t *old, const json_t *obj, const struct api_kind *k,
                           struct api_errors *errs)
{
    size_t before = errs->n + errs->dropped;
    struct vctx v;

    api_object_validate(obj, k, errs);
    if (json_is_object(obj) && json_is_object(old)) {
        vctx_init(&v, errs);
        v_immutable(&v, old, obj, k);
        vctx_release(&v);
    }
    return errs->n + errs->dropped - before;
}
