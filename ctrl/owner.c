/* ownerReferences: finding an object's controller, building the
 * reference a controller puts on what it creates or adopts, deciding
 * what to claim (Kubernetes' BaseControllerRefManager.ClaimObject) and
 * the patches that adopt and release. */

#include "ctrl/ctrl.h"
#include "lib/json.h"
#include "lib/selector.h"

#include <string.h>

const json_t *
ctrl_owner_controller_ref(const json_t *obj)
{
    json_t *refs = sk_json_get(obj, "metadata.ownerReferences");
    json_t *ref;
    size_t i;

    if (!json_is_array(refs))
        return NULL;
    json_array_foreach (refs, i, ref) {
        if (json_is_object(ref) && json_is_true(json_object_get(ref, "controller")))
            return ref;
    }
    return NULL;
}

int
ctrl_owner_ref_build(const json_t *owner, const char *api_version, const char *kind, json_t **out,
                     struct sk_err *err)
{
    const char *name, *uid;
    int rc;

    rc = sk_json_get_string(owner, "metadata.name", &name, err);
    if (rc < 0)
        return rc;
    rc = sk_json_get_string(owner, "metadata.uid", &uid, err);
    if (rc < 0)
        return rc;
    *out = json_pack("{s:s, s:s, s:s, s:s, s:b, s:b}", "apiVersion", api_version, "kind", kind,
                     "name", name, "uid", uid, "controller", 1, "blockOwnerDeletion", 1);
    return 0;
}

static int
being_deleted(const json_t *obj)
{
    json_t *ts = sk_json_get(obj, "metadata.deletionTimestamp");

    return ts && !json_is_null(ts);
}

enum ctrl_claim
ctrl_owner_claim(const json_t *owner, const struct sk_selector *sel, const json_t *obj)
{
    const json_t *ref = ctrl_owner_controller_ref(obj);
    const char *uid = json_string_value(sk_json_get(owner, "metadata.uid"));
    int match = sk_selector_matches_json(sel, sk_json_get(obj, "metadata.labels"));

    if (ref) {
        const char *ruid = json_string_value(json_object_get(ref, "uid"));

        if (!uid || !ruid || strcmp(uid, ruid) != 0)
            return CTRL_CLAIM_IGNORE;
        if (match)
            return CTRL_CLAIM_OWNED;
        /* An owner on its way out keeps what it has: releasing would
         * race with the garbage collector (Kubernetes does the same). */
        return being_deleted(owner) ? CTRL_CLAIM_IGNORE : CTRL_CLAIM_RELEASE;
    }
    if (!match || being_deleted(owner) || being_deleted(obj))
        return CTRL_CLAIM_IGNORE;
    return CTRL_CLAIM_ADOPT;
}

static json_t *
patch_with_refs(const json_t *obj, json_t *refs)
{
    json_t *uid = sk_json_get(obj, "metadata.uid");

    return json_pack("{s:{s:o, s:O}}", "metadata", "ownerReferences", refs, "uid",
                     uid ? uid : json_null());
}

json_t *
ctrl_owner_adopt_patch(const json_t *obj, const json_t *ref)
{
    json_t *old = sk_json_get(obj, "metadata.ownerReferences");
    json_t *refs = json_is_array(old) ? json_deep_copy(old) : json_array();

    json_array_append_new(refs, json_deep_copy(ref));
    return patch_with_refs(obj, refs);
}

json_t *
ctrl_owner_release_patch(const json_t *obj, const char *owner_uid)
{
    json_t *old = sk_json_get(obj, "metadata.ownerReferences");
    json_t *refs = json_array(), *ref;
    size_t i;

    if (json_is_array(old)) {
        json_array_foreach (old, i, ref) {
            const char *u = json_string_value(json_object_get(ref, "uid"));

            if (!u || strcmp(u, owner_uid) != 0)
                json_array_append(refs, ref);
        }
    }
    return patch_with_refs(obj, refs);
}
