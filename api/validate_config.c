/* ConfigMap, Secret and ServiceAccount validation: key names, base64
 * data, the 1 MiB size limit and the types of Secret Kubernetes checks. */
#include "validate_int.h"

#include <string.h>

#define DATA_MAX (1024 * 1024) /* MaxSecretSize, also ConfigMaps */

/* IsConfigMapKey: [-._a-zA-Z0-9]+, <= 253, not "." / ".." / "..*" */
static void
v_data_key(struct vctx *v, const char *key)
{
    size_t n = strlen(key);
    bool ok = n > 0;

    for (const char *c = key; *c && ok; c++)
        ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
             strchr("-._", *c);
    if (n > 253)
        v_err_str(v, API_FE_INVALID, NULL, key, "must be no more than 253 characters");
    if (!ok)
        v_err_str(v, API_FE_INVALID, NULL, key,
                  "a valid config key must consist of alphanumeric characters, '-', '_' or '.' "
                  "(e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation "
                  "is '[-._a-zA-Z0-9]+')");
    if (!strcmp(key, ".") || !strcmp(key, ".."))
        v_err_str(v, API_FE_INVALID, NULL, key, "must not be '%s'", key);
    else if (sk_startswith(key, ".."))
        v_err_str(v, API_FE_INVALID, NULL, key, "must not start with '..'");
}

static bool
b64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

/* Go's base64.StdEncoding: padded, no white space. Returns the decoded
 * length, or -1 - (offset of the first bad byte). */
static long
b64_decoded_len(const char *s)
{
    size_t n = strlen(s), pad = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] == '=' && i >= n - 2 && i % 4 >= 2) {
            pad++;
            continue;
        }
        if (!b64_char(s[i]) || pad)
            return -1 - (long)i;
    }
    if (n % 4)
        return -1 - (long)(n - n % 4);
    if (pad == 1 && s[n - 1] != '=')
        return -1 - (long)(n - 1);
    return (long)(n / 4 * 3 - pad);
}

/* The data maps; base64 for Secret data and any binaryData. Returns the
 * total decoded size. */
static size_t
v_data_map(struct vctx *v, const json_t *obj, const char *field, bool base64, const json_t *other)
{
    json_t *map = v_str_map(v, obj, field), *val;
    const char *key;
    size_t total = 0, mark = vpath_child(v, field), kmark;
    long len;

    json_object_foreach (map, key, val) {
        kmark = vpath_key(v, key);
        v_data_key(v, key);
        if (other && json_object_get(other, key))
            v_err_str(v, API_FE_INVALID, NULL, key, "duplicate of key present in %s",
                      !strcmp(field, "data") ? "binaryData" : "data");
        if (json_is_string(val) && base64) {
            len = b64_decoded_len(json_string_value(val));
            if (len < 0)
                v_err(v, API_FE_INVALID, NULL, NULL, "illegal base64 data at input byte %ld",
                      -1 - len);
            else
                total += (size_t)len;
        } else if (json_is_string(val)) {
            total += json_string_length(val);
        }
        vpath_pop(v, kmark);
    }
    vpath_pop(v, mark);
    return total;
}

void
v_configmap(struct vctx *v, const json_t *obj)
{
    json_t *bin = json_object_get(obj, "binaryData");
    size_t total;

    total = v_data_map(v, obj, "data", false, json_is_object(bin) ? bin : NULL);
    total += v_data_map(v, obj, "binaryData", true, NULL);
    if (total > DATA_MAX)
        v_err(v, API_FE_TOO_LONG, "data", NULL, "must have at most %d bytes", DATA_MAX);
    v_bool(v, obj, "immutable", &(bool){false});
}

static void
v_secret_requires(struct vctx *v, const json_t *data, const char *const *keys, bool any)
{
    size_t found = 0, mark = vpath_child(v, "data"), kmark;

    for (size_t i = 0; keys[i]; i++)
        found += json_object_get(data, keys[i]) != NULL;
    for (size_t i = 0; keys[i] && !(any && found); i++) {
        if (json_object_get(data, keys[i]))
            continue;
        kmark = vpath_key(v, keys[i]);
        v_err(v, API_FE_REQUIRED, NULL, NULL, NULL);
        vpath_pop(v, kmark);
    }
    vpath_pop(v, mark);
}

static void
v_secret_type(struct vctx *v, const json_t *obj, const char *type)
{
    json_t *data = json_object_get(obj, "data");

    if (!strcmp(type, "kubernetes.io/tls"))
        v_secret_requires(v, data, (const char *const[]){"tls.crt", "tls.key", NULL}, false);
    else if (!strcmp(type, "kubernetes.io/basic-auth"))
        v_secret_requires(v, data, (const char *const[]){"username", "password", NULL}, true);
    else if (!strcmp(type, "kubernetes.io/ssh-auth"))
        v_secret_requires(v, data, (const char *const[]){"ssh-privatekey", NULL}, false);
    else if (!strcmp(type, "kubernetes.io/dockerconfigjson"))
        v_secret_requires(v, data, (const char *const[]){".dockerconfigjson", NULL}, false);
    else if (!strcmp(type, "kubernetes.io/dockercfg"))
        v_secret_requires(v, data, (const char *const[]){".dockercfg", NULL}, false);
}

void
v_secret(struct vctx *v, const json_t *obj)
{
    const char *type = v_str(v, obj, "type");
    size_t total;

    total = v_data_map(v, obj, "data", true, NULL);
    v_str_map(v, obj, "stringData");
    if (total > DATA_MAX)
        v_err(v, API_FE_TOO_LONG, "data", NULL, "must have at most %d bytes", DATA_MAX);
    if (!type || !*type)
        v_err(v, API_FE_REQUIRED, "type", NULL, NULL);
    else
        v_secret_type(v, obj, type);
    v_bool(v, obj, "immutable", &(bool){false});
}

void
v_service_account(struct vctx *v, const json_t *obj)
{
    json_t *list = v_arr(v, obj, "secrets"), *s;
    size_t mark = vpath_child(v, "secrets");

    for (size_t i = 0; i < json_array_size(list); i++)
        if ((s = v_elem_obj(v, list, i))) {
            size_t imark = vpath_index(v, i);

            v_str(v, s, "name");
            vpath_pop(v, imark);
        }
    vpath_pop(v, mark);
    v_arr(v, obj, "imagePullSecrets");
    v_bool(v, obj, "automountServiceAccountToken", &(bool){false});
}
