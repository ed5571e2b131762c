/* kubelet/: a container's environment and command line, with the rules
 * Kubernetes documents ("Define a command and arguments for a
 * container", "Define dependent environment variables"):
 *
 *   - env: image Env first, then envFrom (prefix + key, in list order),
 *     then env[] in order; a later name replaces an earlier one in place.
 *     A value may refer to variables defined before it: "$(VAR)"; "$$" is
 *     a literal "$"; an undefined "$(VAR)" stays as written.
 *   - command replaces the image Entrypoint and drops its Cmd; args
 *     replaces Cmd (with the image Entrypoint kept when no command is
 *     given). Both are expanded against the final environment. */
#include "kubelet/kl_int.h"

#include "lib/alloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *
env_lookup(char *const *env, size_t nenv, const char *name, size_t nlen)
{
    for (size_t i = nenv; i-- > 0;) {
        if (strncmp(env[i], name, nlen) == 0 && env[i][nlen] == '=')
            return env[i] + nlen + 1;
    }
    return NULL;
}

char *
kl_expand(const char *in, char *const *env, size_t nenv)
{
    struct sk_buf out = SK_BUF_INIT;
    const char *p = in;

    sk_buf_puts(&out, "");
    while (*p) {
        const char *close, *val;

        if (p[0] != '$' || (p[1] != '$' && p[1] != '(')) {
            sk_buf_putc(&out, *p++);
            continue;
        }
        if (p[1] == '$') {
            sk_buf_putc(&out, '$');
            p += 2;
            continue;
        }
        close = strchr(p + 2, ')');
        if (!close) {
            /* an unterminated reference is kept literally */
            sk_buf_puts(&out, p);
            break;
        }
        val = env_lookup(env, nenv, p + 2, (size_t)(close - p - 2));
        if (val && close > p + 2)
            sk_buf_puts(&out, val);
        else
            sk_buf_append(&out, p, (size_t)(close - p + 1));
        p = close + 1;
    }
    return sk_buf_detach(&out, NULL);
}

/* Set name=value, replacing an earlier definition in place. */
static void
env_set(struct kl_strv *env, const char *name, const char *value)
{
    size_t nlen = strlen(name);
    char *kv = sk_asprintf("%s=%s", name, value);

    for (size_t i = 0; i < env->n; i++) {
        if (strncmp(env->v[i], name, nlen) == 0 && env->v[i][nlen] == '=') {
            free(env->v[i]);
            env->v[i] = kv;
            return;
        }
    }
    kl_strv_push(env, kv);
}

/* metadata.labels['x'] / metadata.annotations['x'] */
static int
field_map_key(const char *fp, const char *prefix, char *key, size_t keysz)
{
    size_t pl = strlen(prefix), fl = strlen(fp);

    if (strncmp(fp, prefix, pl) != 0 || fl < pl + 4)
        return 0;
    if ((fp[pl] != '\'' && fp[pl] != '"') || fp[fl - 1] != ']' || fp[fl - 2] != fp[pl])
        return 0;
    return sk_snprintf(key, keysz, "%.*s", (int)(fl - pl - 3), fp + pl + 1) == 0;
}

static int
field_ref(const struct kl_podspec_in *in, const json_t *ref, const char *path, char **out,
          struct sk_err *err)
{
    static const struct {
        const char *fp, *obj, *key;
    } simple[] = {
        {"metadata.name", "metadata", "name"},
        {"metadata.namespace", "metadata", "namespace"},
        {"metadata.uid", "metadata", "uid"},
        {"spec.nodeName", "spec", "nodeName"},
        {"spec.serviceAccountName", "spec", "serviceAccountName"},
    };
    const char *fp, *v = NULL;
    char key[256];
    int rc;

    rc = kl_req_str(ref, path, "fieldPath", &fp, err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
        if (strcmp(fp, simple[i].fp) == 0) {
            v = json_string_value(
                json_object_get(json_object_get(in->pod, simple[i].obj), simple[i].key));
            *out = sk_strdup(v ? v : "");
            return 0;
        }
    }
    if (strcmp(fp, "status.podIP") == 0 || strcmp(fp, "status.hostIP") == 0) {
        v = fp[7] == 'p' ? in->sandbox->pod_ip : in->sandbox->host_ip;
        *out = sk_strdup(v ? v : "");
        return 0;
    }
    if (field_map_key(fp, "metadata.labels[", key, sizeof(key)) ||
        field_map_key(fp, "metadata.annotations[", key, sizeof(key))) {
        const json_t *meta = json_object_get(in->pod, "metadata");
        const char *map = fp[9] == 'l' ? "labels" : "annotations";

        v = json_string_value(json_object_get(json_object_get(meta, map), key));
        *out = sk_strdup(v ? v : "");
        return 0;
    }
    return sk_err_set(err, EINVAL, "%s.fieldPath: unsupported field '%s'", path, fp);
}

/* The value of key in a ConfigMap (data, then binaryData) or Secret
 * (data, base64). 1: not found. */
static int
object_key(const json_t *obj, bool secret, const char *key, char **out)
{
    const json_t *data = json_object_get(obj, "data");
    const char *s = json_string_value(json_object_get(data, key));
    size_t len;

    if (!secret && !s)
        s = json_string_value(json_object_get(json_object_get(obj, "binaryData"), key));
    if (!s)
        return 1;
    if (!secret && json_object_get(data, key)) {
        *out = sk_strdup(s);
        return 0;
    }
    return kl_base64_decode(s, out, &len) < 0 ? -EINVAL : 0;
}

static int
key_ref(const struct kl_podspec_in *in, const json_t *ref, const char *path, bool secret,
        char **out, struct sk_err *err)
{
    const char *kind = secret ? "secret" : "configmap";
    const char *name, *key;
    const json_t *obj;
    int optional, rc;

    *out = NULL;
    if ((rc = kl_req_str(ref, path, "name", &name, err)) < 0 ||
        (rc = kl_req_str(ref, path, "key", &key, err)) < 0 ||
        (rc = kl_opt_bool(ref, path, "optional", 0, &optional, err)) < 0)
        return rc;
    obj = kl_find_named(secret ? in->refs.secrets : in->refs.configmaps, name);
    if (!obj) {
        if (optional)
            return 1;
        return sk_err_set(err, ENOENT, "%s: %s '%s' not found", path, kind, name);
    }
    rc = object_key(obj, secret, key, out);
    if (rc < 0)
        return sk_err_set(err, EINVAL, "%s: %s '%s' key '%s': bad base64", path, kind, name, key);
    if (rc == 1 && !optional)
        return sk_err_set(err, ENOENT, "%s: key '%s' not found in %s '%s'", path, key, kind, name);
    return rc;
}

static int
value_from(const struct kl_podspec_in *in, const json_t *vf, const char *path, char **out,
           struct sk_err *err)
{
    static const char *const kinds[] = {"fieldRef", "configMapKeyRef", "secretKeyRef",
                                        "resourceFieldRef"};
    char sub[512];
    const json_t *ref;
    int rc;

    for (size_t k = 0; k < 4; k++) {
        rc = kl_opt_obj(vf, path, kinds[k], &ref, err);
        if (rc < 0)
            return rc;
        if (!ref)
            continue;
        sk_snprintf(sub, sizeof(sub), "%s.%s", path, kinds[k]);
        if (k == 0)
            return field_ref(in, ref, sub, out, err);
        if (k == 3)
            return sk_err_set(err, EINVAL, "%s: not supported", sub);
        return key_ref(in, ref, sub, k == 2, out, err);
    }
    return sk_err_set(err, EINVAL, "%s: must name one source", path);
}

static int
env_one(const struct kl_podspec_in *in, const json_t *e, const char *path, struct kl_strv *env,
        struct sk_err *err)
{
    const char *name, *value;
    const json_t *vf;
    char sub[512];
    char *v = NULL;
    int rc;

    if (!json_is_object(e))
        return sk_err_set(err, EINVAL, "%s: must be an object", path);
    if ((rc = kl_req_str(e, path, "name", &name, err)) < 0 ||
        (rc = kl_opt_str(e, path, "value", &value, err)) < 0 ||
        (rc = kl_opt_obj(e, path, "valueFrom", &vf, err)) < 0)
        return rc;
    if (*name == '\0' || strchr(name, '='))
        return sk_err_set(err, EINVAL, "%s.name: invalid name '%s'", path, name);
    if (vf) {
        sk_snprintf(sub, sizeof(sub), "%s.valueFrom", path);
        rc = value_from(in, vf, sub, &v, err);
        if (rc < 0)
            return rc;
        if (rc == 1) /* optional and missing: not defined */
            return 0;
    } else {
        v = kl_expand(value ? value : "", env->v, env->n);
    }
    env_set(env, name, v);
    free(v);
    return 0;
}

static int
env_from_one(const struct kl_podspec_in *in, const json_t *ef, const char *path,
             struct kl_strv *env, struct sk_err *err)
{
    const char *prefix, *name, *key;
    const json_t *ref, *obj, *data;
    int secret, optional, rc;
    json_t *val;
    char sub[512];

    if (!json_is_object(ef))
        return sk_err_set(err, EINVAL, "%s: must be an object", path);
    if ((rc = kl_opt_str(ef, path, "prefix", &prefix, err)) < 0)
        return rc;
    rc = kl_opt_obj(ef, path, "configMapRef", &ref, err);
    secret = 0;
    if (rc == 1) {
        rc = kl_opt_obj(ef, path, "secretRef", &ref, err);
        secret = 1;
    }
    if (rc < 0)
        return rc;
    if (!ref)
        return sk_err_set(err, EINVAL, "%s: must name configMapRef or secretRef", path);
    sk_snprintf(sub, sizeof(sub), "%s.%s", path, secret ? "secretRef" : "configMapRef");
    if ((rc = kl_req_str(ref, sub, "name", &name, err)) < 0 ||
        (rc = kl_opt_bool(ref, sub, "optional", 0, &optional, err)) < 0)
        return rc;
    obj = kl_find_named(secret ? in->refs.secrets : in->refs.configmaps, name);
    if (!obj) {
        if (optional)
            return 0;
        return sk_err_set(err, ENOENT, "%s: %s '%s' not found", sub,
                          secret ? "secret" : "configmap", name);
    }
    data = json_object_get(obj, "data");
    json_object_foreach ((json_t *)data, key, val) {
        char *v = NULL, *n;
        if (object_key(obj, secret, key, &v) != 0)
            continue;
        n = sk_asprintf("%s%s", prefix ? prefix : "", key);
        /* Kubernetes skips keys that are not valid variable names */
        if (!strchr(n, '=') && *n)
            env_set(env, n, v);
        free(n);
        free(v);
    }
    return 0;
}

int
kl_podspec_env(const struct kl_podspec_in *in, const json_t *ctr, const char *path, char ***envp,
               size_t *nenv, struct sk_err *err)
{
    struct kl_strv env = {0};
    const json_t *arr;
    char sub[512];
    size_t i;
    json_t *e;
    int rc = 0;

    for (i = 0; in->image && in->image->env && in->image->env[i]; i++)
        kl_strv_push(&env, sk_strdup(in->image->env[i]));
    if ((rc = kl_opt_arr(ctr, path, "envFrom", &arr, err)) < 0)
        goto out_fail;
    json_array_foreach ((json_t *)arr, i, e) {
        sk_snprintf(sub, sizeof(sub), "%s.envFrom[%zu]", path, i);
        if ((rc = env_from_one(in, e, sub, &env, err)) < 0)
            goto out_fail;
    }
    if ((rc = kl_opt_arr(ctr, path, "env", &arr, err)) < 0)
        goto out_fail;
    json_array_foreach ((json_t *)arr, i, e) {
        sk_snprintf(sub, sizeof(sub), "%s.env[%zu]", path, i);
        if ((rc = env_one(in, e, sub, &env, err)) < 0)
            goto out_fail;
    }
    if (!env.v)
        kl_strv_push(
            &env, sk_strdup("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
    *envp = env.v;
    *nenv = env.n;
    return 0;
out_fail:
    kl_strv_release(&env);
    return rc;
}

static int
push_strings(struct kl_strv *out, const json_t *arr, const char *path, const char *key,
             char *const *env, size_t nenv, struct sk_err *err)
{
    size_t i;
    json_t *s;

    json_array_foreach ((json_t *)arr, i, s) {
        if (!json_is_string(s))
            return sk_err_set(err, EINVAL, "%s.%s[%zu]: must be a string", path, key, i);
        kl_strv_push(out, kl_expand(json_string_value(s), env, nenv));
    }
    return 0;
}

int
kl_podspec_argv(const json_t *ctr, const char *path, const struct rt_image_info *image,
                char *const *env, size_t nenv, char ***argv, size_t *nargv, struct sk_err *err)
{
    struct kl_strv out = {0};
    const json_t *cmd, *args;
    int rc;

    if ((rc = kl_opt_arr(ctr, path, "command", &cmd, err)) < 0 ||
        (rc = kl_opt_arr(ctr, path, "args", &args, err)) < 0)
        return rc;
    if (cmd && json_array_size(cmd) > 0) {
        rc = push_strings(&out, cmd, path, "command", env, nenv, err);
    } else {
        for (size_t i = 0; image && image->entrypoint && image->entrypoint[i]; i++)
            kl_strv_push(&out, sk_strdup(image->entrypoint[i]));
    }
    if (rc < 0)
        goto out_fail;
    if (args && json_array_size(args) > 0) {
        rc = push_strings(&out, args, path, "args", env, nenv, err);
    } else if (!cmd || json_array_size(cmd) == 0) {
        for (size_t i = 0; image && image->cmd && image->cmd[i]; i++)
            kl_strv_push(&out, sk_strdup(image->cmd[i]));
    }
    if (rc < 0)
        goto out_fail;
    if (out.n == 0) {
        rc = sk_err_set(err, EINVAL,
                        "%s: no command: neither command/args nor an image "
                        "Entrypoint/Cmd",
                        path);
        goto out_fail;
    }
    *argv = out.v;
    *nargv = out.n;
    return 0;
out_fail:
    kl_strv_release(&out);
    return rc;
}
