/* The kind registry and store keys.
 *
 * Store key format (DESIGN.md "Objects"):
 *
 *     /registry/<resource>/<namespace>/<name>    namespaced kinds
 *     /registry/<resource>/<name>                cluster-scoped kinds
 *
 * <resource> is the lower-case plural ("pods"), so one kind's objects
 * share a prefix that list and watch scan. Names and namespaces are
 * validated elsewhere to be DNS names or path segments; the key builder
 * still refuses '/', "." and ".." so a bad caller cannot escape a prefix. */
#include "object.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#define CORE  "v1"
#define APPS  "apps/v1"
#define RBAC  "rbac.authorization.k8s.io/v1"
#define COORD "coordination.k8s.io/v1"

static const struct api_kind kinds[] = {
    {"Namespace",
     CORE,
     "namespaces",
     "namespace",
     {"ns"},
     {"status", "finalize"},
     false,
     true,
     true,
     API_NAME_LABEL},
    {"Node", CORE, "nodes", "node", {"no"}, {"status"}, false, true, true, API_NAME_SUBDOMAIN},
    {"Pod",
     CORE,
     "pods",
     "pod",
     {"po"},
     {"status", "binding", "log", "exec"},
     true,
     true,
     true,
     API_NAME_SUBDOMAIN},
    {"ReplicaSet",
     APPS,
     "replicasets",
     "replicaset",
     {"rs"},
     {"status", "scale"},
     true,
     true,
     true,
     API_NAME_SUBDOMAIN},
    {"Deployment",
     APPS,
     "deployments",
     "deployment",
     {"deploy"},
     {"status", "scale"},
     true,
     true,
     true,
     API_NAME_SUBDOMAIN},
    {"Service",
     CORE,
     "services",
     "service",
     {"svc"},
     {"status"},
     true,
     true,
     true,
     API_NAME_DNS1035},
    {"Endpoints",
     CORE,
     "endpoints",
     "endpoints",
     {"ep"},
     {NULL},
     true,
     false,
     false,
     API_NAME_SUBDOMAIN},
    {"ServiceAccount",
     CORE,
     "serviceaccounts",
     "serviceaccount",
     {"sa"},
     {NULL},
     true,
     false,
     false,
     API_NAME_SUBDOMAIN},
    {"ConfigMap",
     CORE,
     "configmaps",
     "configmap",
     {"cm"},
     {NULL},
     true,
     false,
     false,
     API_NAME_SUBDOMAIN},
    {"Secret", CORE, "secrets", "secret", {NULL}, {NULL}, true, false, false, API_NAME_SUBDOMAIN},
    {"Event", CORE, "events", "event", {"ev"}, {NULL}, true, false, false, API_NAME_SUBDOMAIN},
    {"Role", RBAC, "roles", "role", {NULL}, {NULL}, true, false, false, API_NAME_PATH_SEGMENT},
    {"RoleBinding",
     RBAC,
     "rolebindings",
     "rolebinding",
     {NULL},
     {NULL},
     true,
     false,
     false,
     API_NAME_PATH_SEGMENT},
    {"ClusterRole",
     RBAC,
     "clusterroles",
     "clusterrole",
     {NULL},
     {NULL},
     false,
     false,
     false,
     API_NAME_PATH_SEGMENT},
    {"ClusterRoleBinding",
     RBAC,
     "clusterrolebindings",
     "clusterrolebinding",
     {NULL},
     {NULL},
     false,
     false,
     false,
     API_NAME_PATH_SEGMENT},
    /* Leader election of `skiffd controllers` (skiff-controllers(8)). */
    {"Lease", COORD, "leases", "lease", {NULL}, {NULL}, true, false, false, API_NAME_SUBDOMAIN},
};

#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

const struct api_kind *
api_kinds(size_t *n)
{
    *n = NKINDS;
    return kinds;
}

static bool
kind_named(const struct api_kind *k, const char *name)
{
    if (!strcasecmp(k->kind, name) || !strcasecmp(k->resource, name) ||
        !strcasecmp(k->singular, name))
        return true;
    for (size_t i = 0; i < API_KIND_MAX_SHORT && k->short_names[i]; i++)
        if (!strcasecmp(k->short_names[i], name))
            return true;
    return false;
}

const struct api_kind *
api_kind_lookup(const char *name)
{
    if (!name || !*name)
        return NULL;
    for (size_t i = 0; i < NKINDS; i++)
        if (kind_named(&kinds[i], name))
            return &kinds[i];
    return NULL;
}

int
api_kind_of(const json_t *obj, const struct api_kind **out, struct sk_err *err)
{
    const char *kind, *version;

    *out = NULL;
    if (!json_is_object(obj))
        return sk_err_set(err, EBADMSG, "object must be a JSON object");
    kind = json_string_value(json_object_get(obj, "kind"));
    version = json_string_value(json_object_get(obj, "apiVersion"));
    if (!kind || !*kind)
        return sk_err_set(err, EBADMSG, "object 'kind' is missing");
    if (!version || !*version)
        return sk_err_set(err, EBADMSG, "object 'apiVersion' is missing");
    for (size_t i = 0; i < NKINDS; i++) {
        if (strcmp(kinds[i].kind, kind) || strcmp(kinds[i].api_version, version))
            continue;
        *out = &kinds[i];
        return 0;
    }
    return sk_err_set(err, EBADMSG, "no kind \"%s\" is registered for version \"%s\"", kind,
                      version);
}

bool
api_kind_has_subresource(const struct api_kind *k, const char *sub)
{
    for (size_t i = 0; i < API_KIND_MAX_SUB && k->subresources[i]; i++)
        if (!strcmp(k->subresources[i], sub))
            return true;
    return false;
}

static int
key_segment_check(const char *what, const char *s, struct sk_err *err)
{
    if (!s || !*s)
        return sk_err_set(err, EINVAL, "store key: %s must not be empty", what);
    if (strchr(s, '/') || !strcmp(s, ".") || !strcmp(s, ".."))
        return sk_err_set(err, EINVAL, "store key: %s '%s' is not a path segment", what, s);
    return 0;
}

int
api_key_build(const struct api_kind *k, const char *ns, const char *name, struct sk_buf *out,
              struct sk_err *err)
{
    int rc;

    if (k->namespaced) {
        rc = key_segment_check("namespace", ns, err);
        if (rc < 0)
            return rc;
    } else if (ns && *ns) {
        return sk_err_set(err, EINVAL, "store key: %s are cluster-scoped, namespace '%s' given",
                          k->resource, ns);
    }
    rc = key_segment_check("name", name, err);
    if (rc < 0)
        return rc;
    if (k->namespaced)
        sk_buf_printf(out, "/registry/%s/%s/%s", k->resource, ns, name);
    else
        sk_buf_printf(out, "/registry/%s/%s", k->resource, name);
    return 0;
}

void
api_key_prefix(const struct api_kind *k, const char *ns, struct sk_buf *out)
{
    if (k->namespaced && ns && *ns && strcmp(ns, "*"))
        sk_buf_printf(out, "/registry/%s/%s/", k->resource, ns);
    else
        sk_buf_printf(out, "/registry/%s/", k->resource);
}

int
api_status_of(int rc, const char **reason)
{
    switch (rc) {
    case -EINVAL:
        *reason = "Invalid";
        return 422;
    case -EBADMSG:
        *reason = "BadRequest";
        return 400;
    case -ESTALE:
        *reason = "Conflict";
        return 409;
    case -EPERM:
        *reason = "Forbidden";
        return 403;
    default:
        *reason = "InternalError";
        return 500;
    }
}
