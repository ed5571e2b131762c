/* kubelet/: field access with full paths, string vectors, base64. */
#include "kubelet/kl_int.h"

#include "lib/alloc.h"
#include "lib/base64.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void
kl_strv_push(struct kl_strv *s, char *owned)
{
    if (s->n + 1 >= s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->v = sk_reallocarray(s->v, s->cap, sizeof(char *));
    }
    s->v[s->n++] = owned;
    s->v[s->n] = NULL;
}

void
kl_msg_set(char **dst, const char *src)
{
    free(*dst);
    *dst = src && *src ? sk_strndup(src, KL_MSG_MAX - 1) : NULL;
}

const char *
kl_msg(const char *msg)
{
    return msg ? msg : "";
}

void
kl_strv_release(struct kl_strv *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof(*s));
}

static const json_t *
member(const json_t *obj, const char *key)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

    return json_is_null(v) ? NULL : v;
}

static int
wrong(const char *base, const char *key, const char *what, struct sk_err *err)
{
    return sk_err_set(err, EINVAL, "%s%s%s: must be %s", base, *base ? "." : "", key, what);
}

int
kl_opt_str(const json_t *obj, const char *base, const char *key, const char **out,
           struct sk_err *err)
{
    const json_t *v = member(obj, key);

    *out = NULL;
    if (!v)
        return 1;
    if (!json_is_string(v))
        return wrong(base, key, "a string", err);
    *out = json_string_value(v);
    return 0;
}

int
kl_req_str(const json_t *obj, const char *base, const char *key, const char **out,
           struct sk_err *err)
{
    int rc = kl_opt_str(obj, base, key, out, err);

    if (rc == 1)
        return sk_err_set(err, ENOENT, "%s%s%s: required", base, *base ? "." : "", key);
    return rc;
}

int
kl_opt_int(const json_t *obj, const char *base, const char *key, int64_t def, int64_t *out,
           struct sk_err *err)
{
    const json_t *v = member(obj, key);

    *out = def;
    if (!v)
        return 1;
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d == (double)(int64_t)d && d > -9e18 && d < 9e18) {
            *out = (int64_t)d;
            return 0;
        }
    }
    return wrong(base, key, "an integer", err);
}

int
kl_opt_bool(const json_t *obj, const char *base, const char *key, int def, int *out,
            struct sk_err *err)
{
    const json_t *v = member(obj, key);

    *out = def;
    if (!v)
        return 1;
    if (!json_is_boolean(v))
        return wrong(base, key, "a boolean", err);
    *out = json_is_true(v);
    return 0;
}

int
kl_opt_obj(const json_t *obj, const char *base, const char *key, const json_t **out,
           struct sk_err *err)
{
    const json_t *v = member(obj, key);

    *out = NULL;
    if (!v)
        return 1;
    if (!json_is_object(v))
        return wrong(base, key, "an object", err);
    *out = v;
    return 0;
}

int
kl_opt_arr(const json_t *obj, const char *base, const char *key, const json_t **out,
           struct sk_err *err)
{
    const json_t *v = member(obj, key);

    *out = NULL;
    if (!v)
        return 1;
    if (!json_is_array(v))
        return wrong(base, key, "an array", err);
    *out = v;
    return 0;
}

int
kl_pod_container(const json_t *pod, int init, size_t index, const json_t **ctr, char *path,
                 size_t pathsz, struct sk_err *err)
{
    const char *list = init ? "initContainers" : "containers";
    const json_t *spec, *arr, *c;
    int rc;

    if (!json_is_object(pod))
        return sk_err_set(err, EINVAL, "pod: must be an object");
    rc = kl_opt_obj(pod, "", "spec", &spec, err);
    if (rc < 0)
        return rc;
    if (!spec)
        return sk_err_set(err, ENOENT, "spec: required");
    rc = kl_opt_arr(spec, "spec", list, &arr, err);
    if (rc < 0)
        return rc;
    if (!arr || index >= json_array_size(arr))
        return sk_err_set(err, ENOENT, "spec.%s[%zu]: index out of range", list, index);
    c = json_array_get(arr, index);
    if (!json_is_object(c))
        return sk_err_set(err, EINVAL, "spec.%s[%zu]: must be an object", list, index);
    *ctr = c;
    sk_snprintf(path, pathsz, "spec.%s[%zu]", list, index);
    return 0;
}

const json_t *
kl_find_named(const json_t *arr, const char *name)
{
    size_t i;
    json_t *o;

    if (!json_is_array(arr) || !name)
        return NULL;
    json_array_foreach (arr, i, o) {
        const char *n = json_string_value(json_object_get(json_object_get(o, "metadata"), "name"));
        if (n && strcmp(n, name) == 0)
            return o;
    }
    return NULL;
}

int
kl_base64_decode(const char *in, char **out, size_t *len)
{
    size_t n = strlen(in), m = n;
    char *padded = sk_malloc(n + 4), *buf;
    ssize_t got;

    /* padding optional here: lib's decoder wants whole quads */
    memcpy(padded, in, n);
    while (m % 4)
        padded[m++] = '=';
    buf = sk_malloc(m / 4 * 3 + 1);
    got = sk_base64_decode(padded, m, (unsigned char *)buf);
    free(padded);
    if (got < 0) {
        free(buf);
        return -EINVAL;
    }
    buf[got] = '\0';
    *out = buf;
    *len = (size_t)got;
    return 0;
}
