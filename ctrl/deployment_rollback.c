/* `skiff rollout undo [--to-revision N]`: the template of an earlier
 * revision of a Deployment (Kubernetes' kubectl rollback for apps/v1:
 * the ReplicaSet annotated with that revision gives its template back,
 * and the Deployment controller then reuses that ReplicaSet as the new
 * one and raises its revision). */

#include "ctrl/deployment_int.h"
#include "lib/json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ReplicaSets controlled by deploy (all of them when it has no uid). */
static int
controlled(const json_t *deploy, const json_t *rs)
{
    const char *uid = json_string_value(sk_json_get(deploy, "metadata.uid"));
    const json_t *ref = ctrl_owner_controller_ref(rs);
    const char *ruid = json_string_value(json_object_get(ref, "uid"));

    return !uid || (ruid && strcmp(uid, ruid) == 0);
}

static int64_t
rs_revision(const json_t *rs)
{
    return ctrl_ann_int(rs, "metadata.annotations[\"" CTRL_ANN_REVISION "\"]", 0);
}

int
ctrl_deployment_rollback(const json_t *deploy, const json_t *rss, int64_t to_revision,
                         json_t **template, struct sk_err *err)
{
    int64_t max = 0, second = 0;
    const json_t *cur = sk_json_get(deploy, "spec.template");
    json_t *rs, *found = NULL;
    size_t i;

    *template = NULL;
    if (!json_is_array(rss))
        return sk_err_set(err, EINVAL, "replicasets: must be an array");
    if (!json_is_object(cur))
        return sk_err_set(err, EINVAL, "spec.template: must be an object");
    if (to_revision < 0)
        return sk_err_set(err, EINVAL, "revision %lld: must not be negative",
                          (long long)to_revision);
    json_array_foreach (rss, i, rs) {
        int64_t rev = rs_revision(rs);

        if (!controlled(deploy, rs))
            continue;
        if (rev > max) {
            second = max;
            max = rev;
        } else if (rev > second && rev < max) {
            second = rev;
        }
    }
    if (to_revision == 0 && (to_revision = second) == 0)
        return sk_err_set(err, ENOENT, "no rollout history found");
    json_array_foreach (rss, i, rs)
        if (controlled(deploy, rs) && rs_revision(rs) == to_revision)
            found = rs;
    if (!found || !json_is_object(sk_json_get(found, "spec.template")))
        return sk_err_set(err, ENOENT, "revision %lld not found", (long long)to_revision);
    *template = json_deep_copy(sk_json_get(found, "spec.template"));
    json_object_del(sk_json_get(*template, "metadata.labels"), CTRL_LABEL_HASH);
    return ctrl_template_equal(*template, cur) ? 1 : 0;
}
