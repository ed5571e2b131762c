/* The authorizer object: the store's RBAC objects plus the bootstrap
 * policy, and the objects module's two hooks (authz.h). */
#include "api/authz.h"
#include "lib/alloc.h"
#include "lib/log.h"

#include <errno.h>
#include <string.h>

struct api_authz {
    json_t *policy; /* the store's RBAC objects, api_rbac_policy_put keys */
};

struct api_authz *
api_authz_new(void)
{
    struct api_authz *a = sk_calloc(1, sizeof(*a));

    a->policy = json_object();
    if (!a->policy)
        SK_BUG("out of memory");
    api_rbac_bootstrap(); /* parse now, not on the first request */
    return a;
}

void
api_authz_free(struct api_authz *a)
{
    if (!a)
        return;
    json_decref(a->policy);
    free(a);
}

int
api_authz_update(struct api_authz *a, const json_t *obj, struct sk_err *err)
{
    return api_rbac_policy_put(a->policy, obj, err);
}

void
api_authz_remove(struct api_authz *a, const char *kind, const char *ns, const char *name)
{
    api_rbac_policy_remove(a->policy, kind, ns, name);
}

size_t
api_authz_count(const struct api_authz *a)
{
    return json_object_size(a->policy);
}

/* "apps" from "apps/v1", "" from "v1" or an unknown kind. */
static void
api_group_of(const struct api_kind *k, char *out, size_t outsz)
{
    const char *slash = k ? strchr(k->api_version, '/') : NULL;
    size_t n = slash ? (size_t)(slash - k->api_version) : 0;

    if (n >= outsz)
        n = outsz - 1;
    memcpy(out, slash ? k->api_version : "", n);
    out[n] = '\0';
}

int
api_authz_authorize(void *arg, const struct api_peer *peer, const char *verb, const char *resource,
                    const char *subresource, const char *ns, const char *name, struct sk_err *err)
{
    struct api_authz *a = arg;
    const json_t *policies[2] = {api_rbac_bootstrap(), a->policy};
    const struct api_kind *k = api_kind_lookup(resource);
    char group[64];
    struct api_rbac_request rq = {
        .user = peer->user,
        .groups = peer->groups,
        .verb = verb,
        /* RBAC rules name resources by their plural: "po" is "pods". */
        .resource = k ? k->resource : resource,
        .subresource = subresource ? subresource : "",
        .ns = ns ? ns : "",
        .name = name ? name : "",
    };

    /* The protocol's verbs that are subresource writes in Kubernetes. */
    if (strcmp(verb, "bind") == 0 && strcmp(rq.resource, "pods") == 0) {
        rq.verb = "create";
        rq.subresource = "binding";
    } else if (strcmp(verb, "scale") == 0) {
        rq.verb = "update";
        rq.subresource = "scale";
    } else if (strcmp(verb, "status") == 0) {
        rq.verb = "update";
        rq.subresource = "status";
    } else if (strcmp(verb, "apply") == 0) {
        rq.verb = "patch";
    }
    api_group_of(k, group, sizeof(group));
    rq.api_group = group;
    if (!peer->authenticated) {
        rq.user = "system:anonymous";
        rq.groups = "system:unauthenticated";
    }
    if (api_rbac_allows(policies, 2, &rq))
        return 0;
    sk_debug("authz", "denied: user '%s' groups '%s' %s %s%s%s ns '%s' name '%s'", rq.user,
             rq.groups, rq.verb, rq.resource, *rq.subresource ? "/" : "", rq.subresource, rq.ns,
             rq.name);
    return api_rbac_forbidden(&rq, err);
}

int
api_authz_admit(void *arg, const struct api_peer *peer, const char *verb, const struct api_kind *k,
                const json_t *old, const json_t *new_obj, struct sk_err *err)
{
    (void)arg;
    return api_node_restriction(peer, verb, k, old, new_obj, err);
}
