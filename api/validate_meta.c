/* metadata validation, as Kubernetes's ValidateObjectMeta. */
#include "validate_int.h"

#include "lib/alloc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define ANNOTATIONS_MAX (256 * 1024) /* TotalAnnotationSizeLimitB */

static void
v_annotations(struct vctx *v, const json_t *meta)
{
    json_t *map = v_str_map(v, meta, "annotations"), *val;
    const char *key;
    struct sk_err err;
    size_t total = 0, mark;
    char *lower;

    if (!map)
        return;
    mark = vpath_child(v, "annotations");
    json_object_foreach (map, key, val) {
        lower = sk_strdup(key);
        for (char *c = lower; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        sk_err_init(&err);
        if (ext_label_key_valid(lower, &err) < 0)
            v_err_str(v, API_FE_INVALID, NULL, key, "%s", err.msg);
        free(lower);
        total += strlen(key) + (json_is_string(val) ? json_string_length(val) : 0);
    }
    if (total > ANNOTATIONS_MAX)
        v_err(v, API_FE_TOO_LONG, NULL, NULL, "must have at most %d bytes", ANNOTATIONS_MAX);
    vpath_pop(v, mark);
}

static bool
standard_finalizer(const char *f)
{
    return !strcmp(f, "kubernetes") || !strcmp(f, "orphan") || !strcmp(f, "foregroundDeletion");
}

static void
v_finalizers(struct vctx *v, const json_t *meta)
{
    json_t *list = v_str_list(v, meta, "finalizers");
    const char *f;
    struct sk_err err;
    size_t mark;

    if (!list)
        return;
    mark = vpath_child(v, "finalizers");
    for (size_t i = 0; i < json_array_size(list); i++) {
        if (!(f = json_string_value(json_array_get(list, i))))
            continue;
        sk_err_init(&err);
        if (ext_label_key_valid(f, &err) < 0)
            v_err_str(v, API_FE_INVALID, NULL, f, "%s", err.msg);
        else if (!strchr(f, '/') && !standard_finalizer(f))
            v_err_str(v, API_FE_INVALID, NULL, f,
                      "name is neither a standard finalizer name nor is it fully qualified");
    }
    vpath_pop(v, mark);
}

static void
v_owner_reference(struct vctx *v, const json_t *ref, const char **controller)
{
    static const struct {
        const char *field, *what;
    } req[] = {{"apiVersion", "version"}, {"kind", "kind"}, {"name", "name"}, {"uid", "uid"}};
    const char *s;
    bool is_controller = false, block;

    for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
        s = v_str(v, ref, req[i].field);
        if (!s || !*s)
            v_err_str(v, API_FE_INVALID, req[i].field, "", "%s must not be empty", req[i].what);
    }
    v_bool(v, ref, "blockOwnerDeletion", &block);
    if (v_bool(v, ref, "controller", &is_controller) && is_controller) {
        s = json_string_value(json_object_get(ref, "name"));
        if (*controller)
            v_err(v, API_FE_INVALID, "controller", json_true(),
                  "Only one reference can have Controller set to true. Found \"true\" in "
                  "references for %s and %s",
                  *controller, s ? s : "");
        else
            *controller = s ? s : "";
    }
}

static void
v_owner_references(struct vctx *v, const json_t *meta)
{
    json_t *refs = v_arr(v, meta, "ownerReferences"), *ref;
    const char *controller = NULL;
    size_t mark;

    if (!refs)
        return;
    mark = vpath_child(v, "ownerReferences");
    for (size_t i = 0; i < json_array_size(refs); i++)
        if ((ref = v_elem_obj(v, refs, i)))
            v_owner_reference(v, ref, &controller);
    vpath_pop(v, mark);
}

static void
v_meta_name(struct vctx *v, const json_t *meta, const struct api_kind *k)
{
    const char *name = v_str(v, meta, "name");
    const char *gen = v_str(v, meta, "generateName");

    if (gen && *gen)
        v_name_rule(v, "generateName", gen, k->name_rule, true);
    if (!name || !*name) {
        if (!json_is_string(json_object_get(meta, "name")) && json_object_get(meta, "name") &&
            !json_is_null(json_object_get(meta, "name")))
            return; /* wrong type, already reported */
        v_err(v, API_FE_REQUIRED, "name", NULL, "name or generateName is required");
        return;
    }
    v_name_rule(v, "name", name, k->name_rule, false);
}

static void
v_meta_namespace(struct vctx *v, const json_t *meta, const struct api_kind *k)
{
    const char *ns = v_str(v, meta, "namespace");

    if (!k->namespaced) {
        if (ns && *ns)
            v_err(v, API_FE_FORBIDDEN, "namespace", NULL, "not allowed on this type");
        return;
    }
    if (!ns || !*ns)
        v_err(v, API_FE_REQUIRED, "namespace", NULL, NULL);
    else
        v_dns1123_label(v, "namespace", ns);
}

void
v_object_meta(struct vctx *v, const json_t *obj, const struct api_kind *k)
{
    json_t *meta = v_obj(v, obj, "metadata");
    json_t *empty = NULL;
    size_t mark;
    int64_t n;

    if (!meta) {
        if (json_object_get(obj, "metadata") && !json_is_null(json_object_get(obj, "metadata")))
            return; /* wrong type, already reported */
        meta = empty = json_object();
    }
    mark = vpath_child(v, "metadata");
    v_meta_name(v, meta, k);
    v_meta_namespace(v, meta, k);
    v_labels(v, meta, "labels");
    v_annotations(v, meta);
    v_finalizers(v, meta);
    v_owner_references(v, meta);
    v_str(v, meta, "uid");
    v_str(v, meta, "resourceVersion");
    v_str(v, meta, "creationTimestamp");
    v_str(v, meta, "deletionTimestamp");
    if (v_int64(v, meta, "generation", &n) && n < 0)
        v_err_int(v, API_FE_INVALID, "generation", n, "must be greater than or equal to 0");
    if (v_int64(v, meta, "deletionGracePeriodSeconds", &n) && n < 0)
        v_err_int(v, API_FE_INVALID, "deletionGracePeriodSeconds", n,
                  "must be greater than or equal to 0");
    vpath_pop(v, mark);
    json_decref(empty);
}
