/* Name rules with Kubernetes's exact messages
 * (k8s.io/apimachinery/pkg/util/validation): RFC 1123 labels and
 * subdomains, RFC 1035 labels, path segments, IANA port names, and the
 * labels/selector shapes built on them. */
#include "validate_int.h"

#include "lib/alloc.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#define DNS1123_LABEL_MAX     63
#define DNS1123_SUBDOMAIN_MAX 253
#define PORT_NAME_MAX         15

#define LABEL_FMT     "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
#define SUBDOMAIN_FMT LABEL_FMT "(\\." LABEL_FMT ")*"

static const char label_msg[] =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used "
    "for validation is '" LABEL_FMT "')";
static const char subdomain_msg[] =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '" SUBDOMAIN_FMT "')";
static const char dns1035_msg[] =
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
    "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

static bool
lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* [a-z0-9]([-a-z0-9]*[a-z0-9])? over s[0..n) */
static bool
label_ok(const char *s, size_t n)
{
    if (n == 0 || !lower_alnum(s[0]) || !lower_alnum(s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!lower_alnum(s[i]) && s[i] != '-')
            return false;
    return true;
}

static bool
subdomain_ok(const char *s)
{
    const char *dot;

    for (;;) {
        dot = strchr(s, '.');
        if (!label_ok(s, dot ? (size_t)(dot - s) : strlen(s)))
            return false;
        if (!dot)
            return true;
        s = dot + 1;
    }
}

static size_t
v_len_err(struct vctx *v, const char *child, const char *value, size_t max)
{
    if (strlen(value) <= max)
        return 0;
    v_err_str(v, API_FE_INVALID, child, value, "must be no more than %zu characters", max);
    return 1;
}

size_t
v_dns1123_label(struct vctx *v, const char *child, const char *value)
{
    size_t n = v_len_err(v, child, value, DNS1123_LABEL_MAX);

    if (!label_ok(value, strlen(value))) {
        v_err_str(v, API_FE_INVALID, child, value, "%s", label_msg);
        n++;
    }
    return n;
}

size_t
v_dns1123_subdomain(struct vctx *v, const char *child, const char *value)
{
    size_t n = v_len_err(v, child, value, DNS1123_SUBDOMAIN_MAX);

    if (!subdomain_ok(value)) {
        v_err_str(v, API_FE_INVALID, child, value, "%s", subdomain_msg);
        n++;
    }
    return n;
}

size_t
v_dns1035_label(struct vctx *v, const char *child, const char *value)
{
    size_t n = v_len_err(v, child, value, DNS1123_LABEL_MAX);

    if (!label_ok(value, strlen(value)) || !(value[0] >= 'a' && value[0] <= 'z')) {
        v_err_str(v, API_FE_INVALID, child, value, "%s", dns1035_msg);
        n++;
    }
    return n;
}

static size_t
v_path_segment(struct vctx *v, const char *child, const char *value, const char *shown)
{
    size_t n = 0;

    if (!strcmp(value, ".") || !strcmp(value, "..")) {
        v_err_str(v, API_FE_INVALID, child, shown, "may not be '%s'", value);
        return 1;
    }
    if (strchr(value, '/')) {
        v_err_str(v, API_FE_INVALID, child, shown, "may not contain '/'");
        n++;
    }
    if (strchr(value, '%')) {
        v_err_str(v, API_FE_INVALID, child, shown, "may not contain '%%'");
        n++;
    }
    return n;
}

/* With prefix (generateName), a trailing '-' is allowed: Kubernetes
 * masks it before checking, since random characters follow it. */
size_t
v_name_rule(struct vctx *v, const char *child, const char *value, enum api_name_rule rule,
            bool prefix)
{
    char *masked = sk_strdup(value);
    size_t n = strlen(masked), errs = 0;

    if (prefix && n && masked[n - 1] == '-')
        masked[n - 1] = 'a';
    /* the error shows what the user wrote, the check sees the masked form */
    switch (rule) {
    case API_NAME_SUBDOMAIN:
        if (strlen(value) > DNS1123_SUBDOMAIN_MAX)
            errs += v_len_err(v, child, value, DNS1123_SUBDOMAIN_MAX);
        if (!subdomain_ok(masked))
            v_err_str(v, API_FE_INVALID, child, value, "%s", subdomain_msg), errs++;
        break;
    case API_NAME_LABEL:
        errs += v_len_err(v, child, value, DNS1123_LABEL_MAX);
        if (!label_ok(masked, n))
            v_err_str(v, API_FE_INVALID, child, value, "%s", label_msg), errs++;
        break;
    case API_NAME_DNS1035:
        errs += v_len_err(v, child, value, DNS1123_LABEL_MAX);
        if (!label_ok(masked, n) || !(masked[0] >= 'a' && masked[0] <= 'z'))
            v_err_str(v, API_FE_INVALID, child, value, "%s", dns1035_msg), errs++;
        break;
    case API_NAME_PATH_SEGMENT:
        errs += v_path_segment(v, child, prefix ? masked : value, value);
        break;
    }
    free(masked);
    return errs;
}

/* IANA_SVC_NAME (RFC 6335): what Kubernetes's IsValidPortName checks. */
size_t
v_port_name(struct vctx *v, const char *child, const char *value)
{
    size_t n = strlen(value), errs = 0;
    bool letter = false, charset = true;

    for (size_t i = 0; i < n; i++) {
        letter |= value[i] >= 'a' && value[i] <= 'z';
        charset &= lower_alnum(value[i]) || value[i] == '-';
    }
    if (n > PORT_NAME_MAX)
        v_err_str(v, API_FE_INVALID, child, value, "must be no more than 15 characters"), errs++;
    if (!charset)
        v_err_str(v, API_FE_INVALID, child, value,
                  "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"),
            errs++;
    if (!letter)
        v_err_str(v, API_FE_INVALID, child, value, "must contain at least one letter (a-z)"),
            errs++;
    if (strstr(value, "--"))
        v_err_str(v, API_FE_INVALID, child, value, "must not contain consecutive hyphens"), errs++;
    if (n && (value[0] == '-' || value[n - 1] == '-'))
        v_err_str(v, API_FE_INVALID, child, value, "must not begin or end with a hyphen"), errs++;
    return errs;
}

void
v_port_num_or_name(struct vctx *v, const json_t *obj, const char *field, bool required)
{
    json_t *j = json_object_get(obj, field);
    int64_t port;

    if (!j || json_is_null(j)) {
        if (required)
            v_err(v, API_FE_REQUIRED, field, NULL, NULL);
        return;
    }
    if (json_is_string(j)) {
        if (!*json_string_value(j))
            v_err(v, API_FE_REQUIRED, field, NULL, NULL);
        else
            v_port_name(v, field, json_string_value(j));
        return;
    }
    if (v_int(v, obj, field, &port) && (port < 1 || port > 65535))
        v_err_int(v, API_FE_INVALID, field, port, "must be between 1 and 65535, inclusive");
}

void
v_labels(struct vctx *v, const json_t *obj, const char *field)
{
    json_t *map = v_str_map(v, obj, field), *val;
    const char *key;
    struct sk_err err;
    size_t mark;

    if (!map)
        return;
    mark = vpath_child(v, field);
    json_object_foreach (map, key, val) {
        sk_err_init(&err);
        if (ext_label_key_valid(key, &err) < 0)
            v_err_str(v, API_FE_INVALID, NULL, key, "%s", err.msg);
        if (json_is_string(val) && ext_label_value_valid(json_string_value(val), &err) < 0)
            v_err_str(v, API_FE_INVALID, NULL, json_string_value(val), "%s", err.msg);
    }
    vpath_pop(v, mark);
}

static void
v_selector_requirement(struct vctx *v, const json_t *req)
{
    static const char *const set_ops[] = {"In", "NotIn", NULL};
    static const char *const exist_ops[] = {"Exists", "DoesNotExist", NULL};
    const char *key = v_str(v, req, "key"), *op = v_str(v, req, "operator");
    json_t *values = v_str_list(v, req, "values");
    struct sk_err err;

    sk_err_init(&err);
    if (!key || !*key)
        v_err(v, API_FE_REQUIRED, "key", NULL, NULL);
    else if (ext_label_key_valid(key, &err) < 0)
        v_err_str(v, API_FE_INVALID, "key", key, "%s", err.msg);
    if (!op || !*op) {
        v_err(v, API_FE_REQUIRED, "operator", NULL, NULL);
    } else if (!strcmp(op, set_ops[0]) || !strcmp(op, set_ops[1])) {
        if (json_array_size(values) == 0)
            v_err(v, API_FE_REQUIRED, "values", NULL,
                  "must be specified when `operator` is 'In' or 'NotIn'");
    } else if (!strcmp(op, exist_ops[0]) || !strcmp(op, exist_ops[1])) {
        if (json_array_size(values) > 0)
            v_err(v, API_FE_FORBIDDEN, "values", NULL,
                  "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
    } else {
        v_err_str(v, API_FE_INVALID, "operator", op, "not a valid selector operator");
    }
}

/* metav1.LabelSelector, as ValidateLabelSelector checks it. */
void
v_label_selector(struct vctx *v, const json_t *obj, const char *field)
{
    json_t *sel = v_obj(v, obj, field), *exprs, *req;
    size_t mark, imark;

    if (!sel)
        return;
    mark = vpath_child(v, field);
    v_labels(v, sel, "matchLabels");
    exprs = v_arr(v, sel, "matchExpressions");
    vpath_child(v, "matchExpressions");
    for (size_t i = 0; i < json_array_size(exprs); i++) {
        if (!(req = v_elem_obj(v, exprs, i)))
            continue;
        imark = vpath_index(v, i);
        v_selector_requirement(v, req);
        vpath_pop(v, imark);
    }
    vpath_pop(v, mark);
}

bool
v_ipv4_ok(const char *s)
{
    struct in_addr a;

    return inet_pton(AF_INET, s, &a) == 1;
}
