/* OCI image manifests and configs (image-spec manifest.md, config.md):
 * what the store checks in them and what it hands to the runtime. */
#include "runtime/image_int.h"

#include "lib/alloc.h"
#include "lib/clock.h"
#include "lib/buf.h"
#include "lib/err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int
desc_parse(json_t *d, const char *what, char *digest, int64_t *size, struct sk_err *err)
{
    json_t *dg = json_object_get(d, "digest"), *sz = json_object_get(d, "size");

    if (!json_is_object(d))
        return sk_err_set(err, EBADMSG, "%s: not an object", what);
    if (!json_is_string(dg) || !rt_image_digest_valid(json_string_value(dg)))
        return sk_err_set(err, EBADMSG, "%s: missing or unsupported digest", what);
    if (!json_is_integer(sz) || json_integer_value(sz) < 0)
        return sk_err_set(err, EBADMSG, "%s: missing or bad size", what);
    sk_strlcpy(digest, json_string_value(dg), RT_IMAGE_DIGEST_LEN);
    *size = json_integer_value(sz);
    return 0;
}

/* Layers are tars, optionally compressed; encrypted or foreign layers
 * (and artifacts that are not images) are refused by name. */
static int
layer_media_type_ok(const char *mt)
{
    return mt && strstr(mt, "tar") && !strstr(mt, "encrypted");
}

static int
manifest_layers(json_t *layers, struct rt_image_manifest *out, struct sk_err *err)
{
    size_t i;
    json_t *l;
    char what[64];
    int rc;

    if (!json_is_array(layers))
        return sk_err_set(err, EBADMSG, "manifest: 'layers' is not an array");
    out->n_layers = json_array_size(layers);
    out->layers = sk_calloc(out->n_layers + 1, sizeof(*out->layers));
    out->layer_sizes = sk_calloc(out->n_layers + 1, sizeof(*out->layer_sizes));
    json_array_foreach (layers, i, l) {
        const char *mt = json_string_value(json_object_get(l, "mediaType"));

        snprintf(what, sizeof(what), "manifest: layer %zu", i);
        rc = desc_parse(l, what, out->layers[i], &out->layer_sizes[i], err);
        if (rc < 0)
            return rc;
        if (!layer_media_type_ok(mt))
            return sk_err_set(err, EBADMSG, "%s: unsupported media type '%s'", what, mt ? mt : "");
        out->size += out->layer_sizes[i];
    }
    return 0;
}

int
rt_image_manifest_parse(json_t *m, struct rt_image_manifest *out, struct sk_err *err)
{
    const char *mt = json_string_value(json_object_get(m, "mediaType"));
    int64_t csize;
    int rc;

    memset(out, 0, sizeof(*out));
    if (!json_is_object(m))
        return sk_err_set(err, EBADMSG, "manifest: not a JSON object");
    if (json_integer_value(json_object_get(m, "schemaVersion")) != 2)
        return sk_err_set(err, EBADMSG, "manifest: schemaVersion is not 2");
    if (mt && strcmp(mt, "application/vnd.oci.image.manifest.v1+json") != 0 &&
        strcmp(mt, "application/vnd.docker.distribution.manifest.v2+json") != 0)
        return sk_err_set(err, EBADMSG, "manifest: unsupported media type '%s'", mt);
    rc = desc_parse(json_object_get(m, "config"), "manifest: config", out->config, &csize, err);
    if (rc < 0)
        return rc;
    out->config_size = csize;
    out->size = csize;
    rc = manifest_layers(json_object_get(m, "layers"), out, err);
    if (rc < 0)
        rt_image_manifest_release(out);
    return rc < 0 ? rc : 0;
}

void
rt_image_manifest_release(struct rt_image_manifest *m)
{
    free(m->layers);
    free(m->layer_sizes);
    m->layers = NULL;
    m->layer_sizes = NULL;
    m->n_layers = 0;
}

int
rt_image_config_diffids(json_t *config, char (**out)[RT_IMAGE_DIGEST_LEN], size_t *n,
                        struct sk_err *err)
{
    json_t *rootfs = json_object_get(config, "rootfs"), *ids, *d;
    const char *type = json_string_value(json_object_get(rootfs, "type"));
    size_t i;

    *out = NULL;
    *n = 0;
    if (!json_is_object(rootfs) || !type || strcmp(type, "layers") != 0)
        return sk_err_set(err, EBADMSG, "config: rootfs.type is not \"layers\"");
    ids = json_object_get(rootfs, "diff_ids");
    if (!json_is_array(ids))
        return sk_err_set(err, EBADMSG, "config: rootfs.diff_ids is not an array");
    *out = sk_calloc(json_array_size(ids) + 1, sizeof(**out));
    json_array_foreach (ids, i, d) {
        if (!rt_image_digest_valid(json_string_value(d))) {
            free(*out);
            *out = NULL;
            return sk_err_set(err, EBADMSG, "config: rootfs.diff_ids[%zu]: bad digest", i);
        }
        sk_strlcpy((*out)[i], json_string_value(d), RT_IMAGE_DIGEST_LEN);
    }
    *n = json_array_size(ids);
    return 0;
}

/* A JSON array of strings as a NULL-terminated array; NULL when the
 * field is absent or null. */
static int
config_strv(json_t *obj, const char *key, char ***out, struct sk_err *err)
{
    json_t *a = json_object_get(obj, key), *v;
    size_t i;

    *out = NULL;
    if (!a || json_is_null(a))
        return 0;
    if (!json_is_array(a))
        return sk_err_set(err, EBADMSG, "config: '%s' is not an array", key);
    *out = sk_calloc(json_array_size(a) + 1, sizeof(char *));
    json_array_foreach (a, i, v) {
        if (!json_is_string(v))
            return sk_err_set(err, EBADMSG, "config: '%s[%zu]' is not a string", key, i);
        (*out)[i] = sk_strdup(json_string_value(v));
    }
    return 0;
}

static int
config_str(json_t *obj, const char *key, char **out, struct sk_err *err)
{
    json_t *v = json_object_get(obj, key);

    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return sk_err_set(err, EBADMSG, "config: '%s' is not a string", key);
    if (*json_string_value(v))
        *out = sk_strdup(json_string_value(v));
    return 0;
}

static int
config_ports_labels(json_t *c, struct rt_image_info *info, struct sk_err *err)
{
    json_t *ports = json_object_get(c, "ExposedPorts"), *labels = json_object_get(c, "Labels");
    const char *key;
    json_t *v;
    size_t i = 0;

    if (json_is_object(ports)) {
        info->exposed_ports = sk_calloc(json_object_size(ports) + 1, sizeof(char *));
        json_object_foreach (ports, key, v)
            info->exposed_ports[i++] = sk_strdup(key);
    } else if (ports && !json_is_null(ports)) {
        return sk_err_set(err, EBADMSG, "config: 'ExposedPorts' is not an object");
    }
    if (json_is_object(labels)) {
        info->labels = sk_calloc(json_object_size(labels) + 1, sizeof(*info->labels));
        json_object_foreach (labels, key, v) {
            if (!json_is_string(v))
                return sk_err_set(err, EBADMSG, "config: label '%s' is not a string", key);
            info->labels[info->n_labels].key = sk_strdup(key);
            info->labels[info->n_labels++].value = sk_strdup(json_string_value(v));
        }
    } else if (labels && !json_is_null(labels)) {
        return sk_err_set(err, EBADMSG, "config: 'Labels' is not an object");
    }
    return 0;
}

int
rt_image_config_fill(json_t *config, struct rt_image_info *info, struct sk_err *err)
{
    json_t *c = json_object_get(config, "config");
    int rc;

    if (!json_is_object(config))
        return sk_err_set(err, EBADMSG, "config: not a JSON object");
    if ((rc = config_str(config, "created", &info->created, err)) < 0 ||
        (rc = config_str(config, "os", &info->os, err)) < 0 ||
        (rc = config_str(config, "architecture", &info->architecture, err)) < 0)
        return rc;
    if (!c || json_is_null(c))
        return 0;
    if (!json_is_object(c))
        return sk_err_set(err, EBADMSG, "config: 'config' is not an object");
    if ((rc = config_strv(c, "Entrypoint", &info->entrypoint, err)) < 0 ||
        (rc = config_strv(c, "Cmd", &info->cmd, err)) < 0 ||
        (rc = config_strv(c, "Env", &info->env, err)) < 0 ||
        (rc = config_str(c, "WorkingDir", &info->working_dir, err)) < 0 ||
        (rc = config_str(c, "User", &info->user, err)) < 0)
        return rc;
    return config_ports_labels(c, info, err);
}

static void
strv_free(char **v)
{
    size_t i;

    for (i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

void
rt_image_info_release(struct rt_image_info *info)
{
    size_t i;

    for (i = 0; i < info->n_layers; i++)
        free(info->layers[i]);
    free(info->layers);
    strv_free(info->entrypoint);
    strv_free(info->cmd);
    strv_free(info->env);
    strv_free(info->exposed_ports);
    free(info->working_dir);
    free(info->user);
    for (i = 0; i < info->n_labels; i++) {
        free(info->labels[i].key);
        free(info->labels[i].value);
    }
    free(info->labels);
    free(info->created);
    free(info->os);
    free(info->architecture);
    memset(info, 0, sizeof(*info));
}

int64_t
rt_image_time_parse(const char *s)
{
    int64_t ns;

    return s && sk_clock_rfc3339_parse(s, &ns) == 0 ? ns / 1000000000 : 0;
}
