/* Role, ClusterRole, RoleBinding and ClusterRoleBinding validation
 * (Kubernetes's rbac validation). */
#include "validate_int.h"

#include <string.h>

#define RBAC_GROUP "rbac.authorization.k8s.io"

static void
v_policy_rule(struct vctx *v, const json_t *rule, bool cluster)
{
    json_t *verbs = v_str_list(v, rule, "verbs"), *urls = v_str_list(v, rule, "nonResourceURLs");
    json_t *groups = v_str_list(v, rule, "apiGroups"), *res = v_str_list(v, rule, "resources");
    json_t *names = v_str_list(v, rule, "resourceNames");

    if (json_array_size(verbs) == 0)
        v_err(v, API_FE_REQUIRED, "verbs", NULL, "verbs must contain at least one value");
    if (json_array_size(urls) > 0) {
        if (!cluster)
            v_err(v, API_FE_INVALID, "nonResourceURLs", urls,
                  "namespaced rules cannot apply to non-resource URLs");
        if (json_array_size(groups) || json_array_size(res) || json_array_size(names))
            v_err(v, API_FE_INVALID, "nonResourceURLs", urls,
                  "rules cannot apply to both regular resources and non-resource URLs");
        return;
    }
    if (json_array_size(groups) == 0)
        v_err(v, API_FE_REQUIRED, "apiGroups", NULL,
              "resource rules must supply at least one api group");
    if (json_array_size(res) == 0)
        v_err(v, API_FE_REQUIRED, "resources", NULL,
              "resource rules must supply at least one resource");
}

void
v_role(struct vctx *v, const json_t *obj, bool cluster)
{
    json_t *rules = v_arr(v, obj, "rules"), *r;
    size_t mark = vpath_child(v, "rules"), imark;

    for (size_t i = 0; i < json_array_size(rules); i++) {
        if (!(r = v_elem_obj(v, rules, i)))
            continue;
        imark = vpath_index(v, i);
        v_policy_rule(v, r, cluster);
        vpath_pop(v, imark);
    }
    vpath_pop(v, mark);
}

static void
v_subject(struct vctx *v, const json_t *s, bool cluster)
{
    static const char *const kinds[] = {"ServiceAccount", "User", "Group", NULL};
    const char *kind = v_enum(v, s, "kind", kinds, true);
    const char *name = v_str(v, s, "name"), *group = v_str(v, s, "apiGroup");
    const char *ns = v_str(v, s, "namespace");

    if (!name || !*name)
        v_err(v, API_FE_REQUIRED, "name", NULL, NULL);
    if (!kind)
        return;
    if (!strcmp(kind, "ServiceAccount")) {
        if (group && *group)
            v_not_supported(v, "apiGroup", group, (const char *const[]){"", NULL});
        if (name && *name)
            v_dns1123_subdomain(v, "name", name);
        if (cluster && (!ns || !*ns))
            v_err(v, API_FE_REQUIRED, "namespace", NULL, NULL);
    } else if (!group || strcmp(group, RBAC_GROUP)) {
        v_not_supported(v, "apiGroup", group ? group : "", (const char *const[]){RBAC_GROUP, NULL});
    }
}

void
v_role_binding(struct vctx *v, const json_t *obj, bool cluster)
{
    static const char *const ns_kinds[] = {"Role", "ClusterRole", NULL};
    static const char *const cluster_kinds[] = {"ClusterRole", NULL};
    json_t *ref = v_obj(v, obj, "roleRef"), *subjects = v_arr(v, obj, "subjects"), *s;
    const char *name, *group;
    size_t mark;

    if (!ref) {
        if (!json_object_get(obj, "roleRef"))
            v_err(v, API_FE_REQUIRED, "roleRef", NULL, NULL);
    } else {
        mark = vpath_child(v, "roleRef");
        v_enum(v, ref, "kind", cluster ? cluster_kinds : ns_kinds, true);
        group = v_str(v, ref, "apiGroup");
        if (!group || strcmp(group, RBAC_GROUP))
            v_not_supported(v, "apiGroup", group ? group : "",
                            (const char *const[]){RBAC_GROUP, NULL});
        if (!(name = v_str(v, ref, "name")) || !*name)
            v_err(v, API_FE_REQUIRED, "name", NULL, NULL);
        else
            v_name_rule(v, "name", name, API_NAME_PATH_SEGMENT, false);
        vpath_pop(v, mark);
    }
    mark = vpath_child(v, "subjects");
    for (size_t i = 0; i < json_array_size(subjects); i++) {
        if (!(s = v_elem_obj(v, subjects, i)))
            continue;
        size_t imark = vpath_index(v, i);

        v_subject(v, s, cluster);
        vpath_pop(v, imark);
    }
    vpath_pop(v, mark);
}
