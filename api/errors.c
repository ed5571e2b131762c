/* Field errors, formatted as Kubernetes's apimachinery field.Error:
 *
 *     <field>: <type>[: <value>][: <detail>]
 *
 * Required, Forbidden and Too long print no value; the others print the
 * bad value, strings quoted, numbers bare. A list of several errors is
 * joined as Go's utilerrors aggregate does: "[e1, e2]". */
#include "object.h"

#include "lib/alloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A value longer than this is cut, so one huge string cannot blow up a
 * message (Kubernetes >= 1.30 truncates too). */
#define VALUE_MAX 256

void
api_errors_init(struct api_errors *errs)
{
    memset(errs, 0, sizeof(*errs));
}

void
api_errors_release(struct api_errors *errs)
{
    for (size_t i = 0; i < errs->n; i++) {
        free(errs->items[i].field);
        free(errs->items[i].value);
        free(errs->items[i].detail);
    }
    free(errs->items);
    api_errors_init(errs);
}

const char *
api_field_error_type_str(enum api_field_error_type type)
{
    static const char *const names[] = {
        [API_FE_REQUIRED] = "Required value",
        [API_FE_INVALID] = "Invalid value",
        [API_FE_NOT_SUPPORTED] = "Unsupported value",
        [API_FE_DUPLICATE] = "Duplicate value",
        [API_FE_NOT_FOUND] = "Not found",
        [API_FE_FORBIDDEN] = "Forbidden",
        [API_FE_TOO_LONG] = "Too long",
        [API_FE_TOO_MANY] = "Too many",
    };
    return names[type];
}

static bool
type_prints_value(enum api_field_error_type type)
{
    return type != API_FE_REQUIRED && type != API_FE_FORBIDDEN && type != API_FE_TOO_LONG;
}

static char *
value_render(const json_t *value)
{
    char *s = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);

    if (!s)
        return sk_strdup("<unprintable>");
    if (strlen(s) > VALUE_MAX) {
        char *cut = sk_asprintf("%.*s...", VALUE_MAX, s);

        free(s);
        return cut;
    }
    return s;
}

void
api_errors_add(struct api_errors *errs, enum api_field_error_type type, const char *field,
               const json_t *value, const char *detail)
{
    struct api_field_error *e;

    if (errs->n >= API_ERRORS_MAX) {
        errs->dropped++;
        return;
    }
    if (errs->n == errs->cap) {
        errs->cap = errs->cap ? errs->cap * 2 : 8;
        errs->items = sk_reallocarray(errs->items, errs->cap, sizeof(*errs->items));
    }
    e = &errs->items[errs->n++];
    e->type = type;
    e->field = sk_strdup(field);
    e->value = value && type_prints_value(type) ? value_render(value) : NULL;
    e->detail = detail && *detail ? sk_strdup(detail) : NULL;
}

void
api_field_error_format(const struct api_field_error *e, struct sk_buf *out)
{
    sk_buf_printf(out, "%s: %s", e->field, api_field_error_type_str(e->type));
    if (e->value)
        sk_buf_printf(out, ": %s", e->value);
    if (e->detail)
        sk_buf_printf(out, ": %s", e->detail);
}

void
api_errors_format(const struct api_errors *errs, const char *kind, const char *name,
                  struct sk_buf *out)
{
    bool list = errs->n + errs->dropped > 1;

    sk_buf_printf(out, "%s \"%s\" is invalid: ", kind, name ? name : "");
    if (list)
        sk_buf_putc(out, '[');
    for (size_t i = 0; i < errs->n; i++) {
        if (i)
            sk_buf_puts(out, ", ");
        api_field_error_format(&errs->items[i], out);
    }
    if (errs->dropped)
        sk_buf_printf(out, ", and %zu more errors", errs->dropped);
    if (list)
        sk_buf_putc(out, ']');
}

int
api_errors_to_err(const struct api_errors *errs, const char *kind, const char *name,
                  struct sk_err *err)
{
    struct sk_buf buf = SK_BUF_INIT;
    int rc;

    if (!errs->n && !errs->dropped)
        return 0;
    api_errors_format(errs, kind, name, &buf);
    rc = sk_err_set(err, EINVAL, "%s", buf.data);
    sk_buf_release(&buf);
    return rc;
}
