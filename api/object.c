/* The create and update pipelines in Kubernetes's order: decode (kind),
 * defaulting, server-managed metadata, validation. */
#include "object.h"

#include <errno.h>
#include <string.h>

int
api_object_prepare_create(json_t *obj, const struct api_meta_ctx *ctx, const struct api_kind **kind,
                          struct api_errors *errs, struct sk_err *err)
{
    const struct api_kind *k;
    int rc;

    rc = api_kind_of(obj, &k, err);
    if (kind)
        *kind = k;
    if (rc < 0)
        return rc;
    api_object_default(obj, k);
    rc = api_meta_prepare_create(obj, k, ctx, errs, err);
    if (rc < 0)
        return rc;
    if (api_object_validate(obj, k, errs) == 0)
        return 0;
    return api_errors_to_err(errs, k->kind, api_meta_name(obj), err);
}

int
api_object_prepare_update(const json_t *old, json_t *obj, enum api_update_mode mode,
                          const struct api_meta_ctx *ctx, struct api_errors *errs,
                          struct sk_err *err)
{
    const struct api_kind *k, *ok;
    int rc, remove;

    rc = api_kind_of(obj, &k, err);
    if (rc < 0)
        return rc;
    rc = api_kind_of(old, &ok, err);
    if (rc < 0)
        return rc;
    if (k != ok)
        return sk_err_set(err, EBADMSG, "cannot change the kind of %s \"%s\" to %s", ok->kind,
                          api_meta_name(old), k->kind);
    api_object_default(obj, k);
    remove = api_meta_prepare_update(old, obj, k, mode, ctx, err);
    if (remove < 0)
        return remove;
    if (api_object_validate_update(old, obj, k, errs) == 0)
        return remove;
    return api_errors_to_err(errs, k->kind, api_meta_name(obj), err);
}
