/* The garbage collector's decision for one object (Kubernetes'
 * attemptToDeleteItem, background propagation): an object whose every
 * owner is gone is deleted; one with some owners left loses only the
 * dangling references; one with no ownerReferences is never touched.
 * An owner counts as gone when no object has its uid: a new object
 * under the same name is another owner. Foreground deletion
 * (blockOwnerDeletion, waiting for dependents) is the caller's part. */

#include "ctrl/ctrl.h"
#include "lib/json.h"

#include <errno.h>

int
ctrl_gc_decide(const json_t *obj, int (*owner_exists)(void *ctx, const char *uid), void *ctx,
               enum ctrl_gc_action *action, json_t **patch, struct sk_err *err)
{
    json_t *refs, *ref, *keep;
    size_t i;
    int rc;

    *action = CTRL_GC_KEEP;
    *patch = NULL;
    rc = sk_json_opt_array(obj, "metadata.ownerReferences", &refs, err);
    if (rc < 0 || !refs || json_array_size(refs) == 0)
        return rc < 0 ? rc : 0;
    keep = json_array();
    json_array_foreach (refs, i, ref) {
        const char *uid = json_string_value(json_object_get(ref, "uid"));

        if (!json_is_object(ref) || !uid || !*uid) {
            json_decref(keep);
            return sk_err_set(err, EINVAL, "metadata.ownerReferences[%zu].uid: required", i);
        }
        if (owner_exists(ctx, uid))
            json_array_append(keep, ref);
    }
    if (json_array_size(keep) == 0)
        *action = CTRL_GC_DELETE;
    else if (json_array_size(keep) < json_array_size(refs)) {
        *action = CTRL_GC_STRIP;
        *patch = json_pack("{s:{s:O, s:O}}", "metadata", "ownerReferences", keep, "uid",
                           sk_json_get(obj, "metadata.uid") ? sk_json_get(obj, "metadata.uid")
                                                            : json_null());
    }
    json_decref(keep);
    return 0;
}
