/* Update rules: which fields may not change once an object exists, with
 * Kubernetes's messages (ValidateObjectMetaUpdate, ValidatePodUpdate,
 * ValidateDeploymentUpdate, ValidateServiceUpdate, ...). */
#include "validate_int.h"

#include <string.h>

#define POD_UPDATE_MSG                                                                             \
    "pod updates may not change fields other than `spec.containers[*].image`,"                     \
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only "        \
    "additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set " \
    "to 1 if it was previously negative)"

static const json_t *
at(const json_t *obj, const char *a, const char *b)
{
    const json_t *v = json_object_get(obj, a);

    return b ? json_object_get(v, b) : v;
}

static bool
external_name(const json_t *svc)
{
    const json_t *t = at(svc, "spec", "type");

    return json_is_string(t) && !strcmp(json_string_value(t), "ExternalName");
}

/* "<path>: Invalid value: <new>: field is immutable" when it changed. */
static void
v_same(struct vctx *v, const char *path, const json_t *old, const json_t *new)
{
    if (!api_json_same(old, new))
        v_err(v, API_FE_INVALID, path, new ? new : json_null(), "field is immutable");
}

static void
v_meta_update(struct vctx *v, const json_t *old, const json_t *obj)
{
    const json_t *ofin = at(old, "metadata", "finalizers"), *f;
    size_t i;

    v_same(v, "metadata.name", at(old, "metadata", "name"), at(obj, "metadata", "name"));
    v_same(v, "metadata.namespace", at(old, "metadata", "namespace"),
           at(obj, "metadata", "namespace"));
    v_same(v, "metadata.uid", at(old, "metadata", "uid"), at(obj, "metadata", "uid"));
    if (!at(old, "metadata", "deletionTimestamp"))
        return;
    /* Kubernetes: "no new finalizers can be added if the object is being deleted" */
    json_array_foreach (at(obj, "metadata", "finalizers"), i, f) {
        bool known = false;
        size_t j;
        json_t *g;

        json_array_foreach (ofin, j, g)
            known |= json_equal(f, g);
        if (!known) {
            v_err(v, API_FE_FORBIDDEN, "metadata.finalizers", NULL,
                  "no new finalizers can be added if the object is being deleted, found new "
                  "finalizers [%s]",
                  json_is_string(f) ? json_string_value(f) : "?");
            return;
        }
    }
}

/* Copy the mutable fields of new's containers into a copy of old's spec;
 * what remains different is a forbidden change. */
static void
munge_images(json_t *spec, const json_t *nspec, const char *field)
{
    json_t *ctrs = json_object_get(spec, field), *nctrs = json_object_get(nspec, field);
    json_t *c, *img;
    size_t i;

    json_array_foreach (ctrs, i, c) {
        img = json_object_get(json_array_get(nctrs, i), "image");
        if (json_is_object(c) && img)
            json_object_set(c, "image", img);
    }
}

static void
v_pod_tolerations(struct vctx *v, const json_t *ospec, const json_t *nspec)
{
    json_t *old = json_object_get(ospec, "tolerations"),
           *new = json_object_get(nspec, "tolerations");
    json_t *t, *u;
    size_t i, j;

    json_array_foreach (old, i, t) {
        bool kept = false;

        json_array_foreach (new, j, u)
            kept |= json_equal(t, u);
        if (!kept) {
            v_err(v, API_FE_FORBIDDEN, "spec.tolerations", NULL,
                  "existing toleration can not be modified except its tolerationSeconds");
            return;
        }
    }
}

/* Everything but images, activeDeadlineSeconds and tolerations (checked
 * on their own) must stay as it was. */
static void
v_pod_spec_rest(struct vctx *v, const json_t *ospec, const json_t *nspec)
{
    json_t *munged = json_deep_copy(ospec), *cmp = json_deep_copy(nspec);

    munge_images(munged, nspec, "containers");
    munge_images(munged, nspec, "initContainers");
    json_object_del(munged, "activeDeadlineSeconds");
    json_object_del(munged, "tolerations");
    json_object_del(cmp, "activeDeadlineSeconds");
    json_object_del(cmp, "tolerations");
    if (!json_equal(munged, cmp))
        v_err(v, API_FE_FORBIDDEN, "spec", NULL, POD_UPDATE_MSG);
    json_decref(cmp);
    json_decref(munged);
}

static void
v_pod_update(struct vctx *v, const json_t *old, const json_t *obj)
{
    const json_t *ospec = json_object_get(old, "spec"), *nspec = json_object_get(obj, "spec");
    json_t *ads;
    int64_t o, n;

    if (!json_is_object(ospec) || !json_is_object(nspec))
        return;
    if (json_array_size(json_object_get(ospec, "containers")) !=
        json_array_size(json_object_get(nspec, "containers")))
        v_err(v, API_FE_FORBIDDEN, "spec.containers", NULL,
              "pod updates may not add or remove containers");
    ads = json_object_get(ospec, "activeDeadlineSeconds");
    if (json_is_integer(ads)) {
        o = json_integer_value(ads);
        if (!json_is_integer(json_object_get(nspec, "activeDeadlineSeconds")))
            v_err(v, API_FE_INVALID, "spec.activeDeadlineSeconds", json_null(),
                  "must not update from a positive integer to nil value");
        else if ((n = json_integer_value(json_object_get(nspec, "activeDeadlineSeconds"))) > o)
            v_err_int(v, API_FE_INVALID, "spec.activeDeadlineSeconds", n,
                      "must be less than or equal to previous value");
    }
    v_pod_tolerations(v, ospec, nspec);
    if (json_array_size(json_object_get(ospec, "containers")) ==
        json_array_size(json_object_get(nspec, "containers")))
        v_pod_spec_rest(v, ospec, nspec);
}

static void
v_data_immutable(struct vctx *v, const json_t *old, const json_t *obj)
{
    if (!json_is_true(json_object_get(old, "immutable")))
        return;
    if (!json_is_true(json_object_get(obj, "immutable")))
        v_err(v, API_FE_FORBIDDEN, "immutable", NULL, "field is immutable when `immutable` is set");
    if (!api_json_same(json_object_get(old, "data"), json_object_get(obj, "data")))
        v_err(v, API_FE_FORBIDDEN, "data", NULL, "field is immutable when `immutable` is set");
    if (!api_json_same(json_object_get(old, "binaryData"), json_object_get(obj, "binaryData")))
        v_err(v, API_FE_FORBIDDEN, "binaryData", NULL,
              "field is immutable when `immutable` is set");
}

static void
v_node_update(struct vctx *v, const json_t *old, const json_t *obj)
{
    const json_t *o = at(old, "spec", "podCIDR"), *n = at(obj, "spec", "podCIDR");

    if (json_string_length(o) && !api_json_same(o, n))
        v_err(v, API_FE_FORBIDDEN, "spec.podCIDR", NULL,
              "node updates may not change podCIDR except from \"\" to valid");
    o = at(old, "spec", "podCIDRs");
    if (json_array_size(o) && !api_json_same(o, at(obj, "spec", "podCIDRs")))
        v_err(v, API_FE_FORBIDDEN, "spec.podCIDRs", NULL,
              "node updates may not change podCIDR except from \"\" to valid");
}

void
v_immutable(struct vctx *v, const json_t *old, const json_t *obj, const struct api_kind *k)
{
    const char *kind = k->kind;
    const json_t *ip;

    v_meta_update(v, old, obj);
    if (!strcmp(kind, "Pod"))
        v_pod_update(v, old, obj);
    else if (!strcmp(kind, "Deployment") || !strcmp(kind, "ReplicaSet"))
        v_same(v, "spec.selector", at(old, "spec", "selector"), at(obj, "spec", "selector"));
    else if (!strcmp(kind, "Service")) {
        /* an ExternalName has no cluster IP: a change of type to or from
         * it drops or allocates one (api_svc_keep_allocated) */
        ip = at(old, "spec", "clusterIP");
        if (json_string_length(ip) && !external_name(old) && !external_name(obj))
            v_same(v, "spec.clusterIP", ip, at(obj, "spec", "clusterIP"));
    } else if (!strcmp(kind, "Secret")) {
        v_same(v, "type", json_object_get(old, "type"), json_object_get(obj, "type"));
        v_data_immutable(v, old, obj);
    } else if (!strcmp(kind, "ConfigMap")) {
        v_data_immutable(v, old, obj);
    } else if (!strcmp(kind, "RoleBinding") || !strcmp(kind, "ClusterRoleBinding")) {
        if (!api_json_same(json_object_get(old, "roleRef"), json_object_get(obj, "roleRef")))
            v_err(v, API_FE_INVALID, "roleRef", json_object_get(obj, "roleRef"),
                  "cannot change roleRef");
    } else if (!strcmp(kind, "Node")) {
        v_node_update(v, old, obj);
    }
}
