/* -o FORMAT: parsing the flag and dispatching to the printers; -o json,
 * -o yaml and -o custom-columns live here. */
#include "api/print_int.h"

#include "lib/alloc.h"
#include "lib/json.h"
#include "lib/yaml_emit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    enum api_print_format format;
    bool tmpl;
} formats[] = {
    {"json", API_PRINT_JSON, false},
    {"yaml", API_PRINT_YAML, false},
    {"name", API_PRINT_NAME, false},
    {"wide", API_PRINT_WIDE, false},
    {"tsv", API_PRINT_TSV, false},
    {"jsonpath", API_PRINT_JSONPATH, true},
    {"custom-columns", API_PRINT_CUSTOM, true},
    {"custom-columns-file", API_PRINT_CUSTOM_FILE, true},
};

int
api_print_format_parse(const char *arg, struct api_print_opts *o, struct sk_err *err)
{
    const char *eq = arg ? strchr(arg, '=') : NULL;
    size_t len = eq ? (size_t)(eq - arg) : (arg ? strlen(arg) : 0);

    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
        if (strlen(formats[i].name) != len || strncmp(arg, formats[i].name, len) != 0)
            continue;
        if (formats[i].tmpl && (!eq || !eq[1]))
            return sk_err_set(err, EINVAL, "output format '%s' needs a template ('%s=...')",
                              formats[i].name, formats[i].name);
        if (!formats[i].tmpl && eq)
            break;
        o->format = formats[i].format;
        o->tmpl = formats[i].tmpl ? eq + 1 : NULL;
        return 0;
    }
    return sk_err_set(err, EINVAL,
                      "unknown output format '%s' (allowed: json, yaml, name, wide, tsv, "
                      "jsonpath=TEMPLATE, custom-columns=SPEC, custom-columns-file=PATH)",
                      arg ? arg : "");
}

/* What -o json/yaml/jsonpath see: the object itself, or kubectl's List. */
static json_t *
output_root(json_t **objs, size_t n, bool as_list)
{
    json_t *list, *items;

    if (n == 1 && !as_list)
        return json_incref(objs[0]);
    items = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append(items, objs[i]);
    list = json_object();
    json_object_set_new(list, "apiVersion", json_string("v1"));
    json_object_set_new(list, "items", items);
    json_object_set_new(list, "kind", json_string("List"));
    json_object_set_new(list, "metadata", json_pack("{s:s}", "resourceVersion", ""));
    return list;
}

int
api_print_objects(const struct api_kind *kind, json_t **objs, size_t n,
                  const struct api_print_opts *o, struct sk_buf *out, struct sk_err *err)
{
    json_t *root;
    int rc = 0;

    switch (o->format) {
    case API_PRINT_TABLE:
    case API_PRINT_WIDE:
    case API_PRINT_TSV:
        api_print_table(kind, objs, n, o, out);
        return 0;
    case API_PRINT_NAME:
        api_print_names(objs, n, out);
        return 0;
    case API_PRINT_CUSTOM:
        return api_print_custom_columns(o->tmpl, objs, n, o->no_headers, out, err);
    case API_PRINT_CUSTOM_FILE:
        return sk_err_set(err, EINVAL, "custom-columns-file must be read by the caller");
    default:
        break;
    }
    root = output_root(objs, n, o->as_list);
    if (o->format == API_PRINT_JSON)
        rc = sk_json_dump_pretty(root, out) < 0 ? sk_err_set(err, EINVAL, "cannot encode json") : 0;
    else if (o->format == API_PRINT_YAML)
        sk_yaml_emit(root, out);
    else
        rc = api_print_jsonpath(o->tmpl, root, out, err);
    json_decref(root);
    return rc;
}

/* ---- custom columns ---- */

struct column {
    char *header;
    char *tmpl;
};

static void
columns_free(struct column *cols, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(cols[i].header);
        free(cols[i].tmpl);
    }
    free(cols);
}

/* kubectl's RelaxedJSONPathExpression: ".a.b", "a.b" and "{.a.b}" all
 * name the same field. */
static char *
relaxed_template(const char *expr, size_t len)
{
    if (len > 0 && expr[0] == '{')
        return sk_strndup(expr, len);
    return sk_asprintf("{%s%.*s}", len && expr[0] != '.' && expr[0] != '$' ? "." : "", (int)len,
                       expr);
}

static int
columns_parse(const char *spec, struct column **out, size_t *nout, struct sk_err *err)
{
    struct column *cols = NULL;
    size_t n = 0;
    const char *p = spec ? spec : "";

    do {
        size_t len = strcspn(p, ","), hlen = strcspn(p, ":");

        if (hlen >= len || hlen == 0 || hlen + 1 == len) {
            columns_free(cols, n);
            return sk_err_set(err, EINVAL,
                              "custom-columns '%s': column %zu must be HEADER:EXPRESSION",
                              spec ? spec : "", n + 1);
        }
        cols = sk_reallocarray(cols, n + 1, sizeof(*cols));
        cols[n].header = sk_strndup(p, hlen);
        cols[n].tmpl = relaxed_template(p + hlen + 1, len - hlen - 1);
        if (api_print_jsonpath_check(cols[n++].tmpl, err) < 0) {
            columns_free(cols, n);
            return sk_err_wrap(err, "custom-columns column %zu", n);
        }
        p += len;
    } while (*p++ == ',');
    *out = cols;
    *nout = n;
    return 0;
}

int
api_print_custom_columns(const char *spec, json_t **objs, size_t n, bool no_headers,
                         struct sk_buf *out, struct sk_err *err)
{
    struct column *cols = NULL;
    struct pr_table t;
    struct sk_buf cell = SK_BUF_INIT;
    size_t ncols = 0, row;

    if (columns_parse(spec, &cols, &ncols, err) < 0)
        return -EINVAL;
    pr_table_init(&t, ncols);
    if (!no_headers) {
        row = pr_table_row(&t);
        for (size_t c = 0; c < ncols; c++)
            pr_table_set(&t, row, c, cols[c].header);
    }
    for (size_t i = 0; i < n; i++) {
        row = pr_table_row(&t);
        for (size_t c = 0; c < ncols; c++) {
            sk_buf_reset(&cell);
            pr_jsonpath_eval(cols[c].tmpl, objs[i], ",", &cell, err);
            pr_table_set(&t, row, c, pr_none(cell.data));
        }
    }
    pr_table_render(&t, false, NULL, out);
    pr_table_release(&t);
    sk_buf_release(&cell);
    columns_free(cols, ncols);
    return 0;
}

/* The next blank-separated word of *p, or NULL at the end of the line. */
static const char *
next_word(const char **p, size_t *len)
{
    const char *w;

    *p += strspn(*p, " \t\r");
    if (**p == '\0' || **p == '\n')
        return NULL;
    w = *p;
    *len = strcspn(w, " \t\r\n");
    *p += *len;
    return w;
}

static size_t
count_words(const char *line)
{
    size_t n = 0, len;

    while (next_word(&line, &len))
        n++;
    return n;
}

int
api_print_custom_columns_file(const char *text, struct sk_buf *spec, struct sk_err *err)
{
    const char *h = text ? text : "", *e = strchr(h, '\n'), *hw, *ew;
    size_t nh, ne, hl, el;

    if (!e)
        return sk_err_set(err, EINVAL,
                          "custom-columns file: expected a line of headers and a "
                          "line of expressions");
    e++;
    nh = count_words(h);
    ne = count_words(e);
    if (nh == 0 || nh != ne)
        return sk_err_set(err, EINVAL, "custom-columns file: %zu headers but %zu expressions", nh,
                          ne);
    while ((hw = next_word(&h, &hl)) && (ew = next_word(&e, &el)))
        sk_buf_printf(spec, "%s%.*s:%.*s", spec->len ? "," : "", (int)hl, hw, (int)el, ew);
    return 0;
}
