/* The RBAC evaluator, the bootstrap policy and NodeRestriction
 * (authz.h). Pure functions of their inputs: no I/O, no clock.
 *
 * Evaluation follows Kubernetes's RBAC authorizer (VisitRulesFor): every
 * ClusterRoleBinding, and every RoleBinding of the request's namespace,
 * whose subjects include the user or one of its groups contributes the
 * rules of the role it references; the first matching rule allows. A
 * policy is a JSON object keyed "KIND/NS/NAME", so a binding's role is
 * found by key, in any of the policies given. */
#include "api/authz.h"
#include "lib/alloc.h"
#include "lib/buf.h"

#include <errno.h>
#include <string.h>

#define RBAC_GROUP "rbac.authorization.k8s.io"

/* ---- policies ---- */

static bool
rbac_kind(const char *kind)
{
    return strcmp(kind, "Role") == 0 || strcmp(kind, "ClusterRole") == 0 ||
           strcmp(kind, "RoleBinding") == 0 || strcmp(kind, "ClusterRoleBinding") == 0;
}

static void
policy_key(const char *kind, const char *ns, const char *name, struct sk_buf *out)
{
    sk_buf_printf(out, "%s/%s/%s", kind, ns ? ns : "", name);
}

static const char *
str_at(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));

    return s ? s : "";
}

int
api_rbac_policy_put(json_t *policy, const json_t *obj, struct sk_err *err)
{
    const char *kind = str_at(obj, "kind"), *name = api_meta_name(obj);
    struct sk_buf key = SK_BUF_INIT;

    if (!json_is_object(obj) || !rbac_kind(kind))
        return sk_err_set(err, EINVAL, "not an RBAC object: kind '%.64s'", kind);
    if (!*name)
        return sk_err_set(err, EINVAL, "%s without a name", kind);
    policy_key(kind, api_meta_namespace(obj), name, &key);
    json_object_set_new(policy, key.data, json_deep_copy(obj));
    sk_buf_release(&key);
    return 0;
}

void
api_rbac_policy_remove(json_t *policy, const char *kind, const char *ns, const char *name)
{
    struct sk_buf key = SK_BUF_INIT;

    policy_key(kind, ns, name, &key);
    json_object_del(policy, key.data);
    sk_buf_release(&key);
}

/* ---- matching ---- */

/* s is one of the comma-separated items of list. */
static bool
in_list(const char *list, const char *s)
{
    size_t n = strlen(s);
    const char *p = list;

    while (p && *p) {
        if (strncmp(p, s, n) == 0 && (p[n] == ',' || p[n] == '\0'))
            return true;
        p = strchr(p, ',');
        if (p)
            p++;
    }
    return false;
}

/* A JSON array of strings holds "*" or s. */
static bool
array_has(const json_t *arr, const char *s, bool wildcard)
{
    const json_t *v;
    size_t i;

    json_array_foreach (arr, i, v) {
        const char *t = json_string_value(v);

        if (t && (strcmp(t, s) == 0 || (wildcard && strcmp(t, "*") == 0)))
            return true;
    }
    return false;
}

/* Kubernetes's ResourceMatches: "*", the combined "res/sub", or
 * "* /sub" for any resource's subresource sub. */
static bool
resource_matches(const json_t *arr, const struct api_rbac_request *rq)
{
    const json_t *v;
    size_t i, rlen = strlen(rq->resource);
    const char *sub = rq->subresource ? rq->subresource : "";

    json_array_foreach (arr, i, v) {
        const char *t = json_string_value(v);

        if (!t)
            continue;
        if (strcmp(t, "*") == 0)
            return true;
        if (!*sub) {
            if (strcmp(t, rq->resource) == 0)
                return true;
            continue;
        }
        if (strncmp(t, rq->resource, rlen) == 0 && t[rlen] == '/' && strcmp(t + rlen + 1, sub) == 0)
            return true;
        if (t[0] == '*' && t[1] == '/' && strcmp(t + 2, sub) == 0)
            return true;
    }
    return false;
}

static bool
rule_allows(const json_t *rule, const struct api_rbac_request *rq)
{
    const json_t *names = json_object_get(rule, "resourceNames");

    if (!array_has(json_object_get(rule, "verbs"), rq->verb, true) ||
        !array_has(json_object_get(rule, "apiGroups"), rq->api_group, true) ||
        !resource_matches(json_object_get(rule, "resources"), rq))
        return false;
    if (json_array_size(names) == 0)
        return true;
    return *rq->name && array_has(names, rq->name, false);
}

static bool
subject_applies(const json_t *s, const struct api_rbac_request *rq, const char *binding_ns)
{
    const char *kind = str_at(s, "kind"), *name = str_at(s, "name"), *ns;
    size_t plen;

    if (!*name)
        return false;
    if (strcmp(kind, "User") == 0)
        return strcmp(name, rq->user) == 0;
    if (strcmp(kind, "Group") == 0)
        return in_list(rq->groups, name);
    if (strcmp(kind, "ServiceAccount") != 0)
        return false;
    /* system:serviceaccount:NS:NAME, NS defaulting to the binding's */
    ns = str_at(s, "namespace");
    if (!*ns)
        ns = binding_ns;
    if (!sk_startswith(rq->user, "system:serviceaccount:"))
        return false;
    plen = strlen("system:serviceaccount:");
    return strncmp(rq->user + plen, ns, strlen(ns)) == 0 && rq->user[plen + strlen(ns)] == ':' &&
           strcmp(rq->user + plen + strlen(ns) + 1, name) == 0;
}

static bool
role_allows(const json_t *const *policies, size_t n, const char *key,
            const struct api_rbac_request *rq)
{
    const json_t *role, *rule;
    size_t i, j;

    for (i = 0; i < n; i++) {
        role = json_object_get(policies[i], key);
        json_array_foreach (json_object_get(role, "rules"), j, rule) {
            if (json_is_object(rule) && rule_allows(rule, rq))
                return true;
        }
    }
    return false;
}

/* Whether binding b (a RoleBinding or ClusterRoleBinding) grants rq. */
static bool
binding_allows(const json_t *const *policies, size_t n, const json_t *b,
               const struct api_rbac_request *rq)
{
    const char *kind = str_at(b, "kind"), *ns = api_meta_namespace(b);
    const json_t *ref = json_object_get(b, "roleRef"), *s;
    const char *rkind = str_at(ref, "kind"), *rname = str_at(ref, "name");
    struct sk_buf key = SK_BUF_INIT;
    bool cluster = strcmp(kind, "ClusterRoleBinding") == 0, applies = false, ok;
    size_t i;

    if (!cluster && (strcmp(kind, "RoleBinding") != 0 || !*rq->ns || strcmp(ns, rq->ns) != 0))
        return false;
    if (!*rname || (strcmp(rkind, "ClusterRole") != 0 && (cluster || strcmp(rkind, "Role") != 0)))
        return false;
    json_array_foreach (json_object_get(b, "subjects"), i, s) {
        if (json_is_object(s) && subject_applies(s, rq, ns)) {
            applies = true;
            break;
        }
    }
    if (!applies)
        return false;
    policy_key(rkind, strcmp(rkind, "Role") == 0 ? ns : "", rname, &key);
    ok = role_allows(policies, n, key.data, rq);
    sk_buf_release(&key);
    return ok;
}

bool
api_rbac_allows(const json_t *const *policies, size_t n, const struct api_rbac_request *rq)
{
    const char *key;
    const json_t *obj;
    size_t i;

    for (i = 0; i < n; i++) {
        json_object_foreach ((json_t *)policies[i], key, obj) {
            if (binding_allows(policies, n, obj, rq))
                return true;
        }
    }
    return false;
}

int
api_rbac_forbidden(const struct api_rbac_request *rq, struct sk_err *err)
{
    struct sk_buf res = SK_BUF_INIT, where = SK_BUF_INIT;
    const char *group = rq->api_group ? rq->api_group : "";
    const char *sub = rq->subresource ? rq->subresource : "";
    int rc;

    sk_buf_printf(&res, "%s%s%s", rq->resource, *group ? "." : "", group);
    if (*rq->name)
        sk_buf_printf(&res, " \"%s\"", rq->name);
    if (*rq->ns)
        sk_buf_printf(&where, "in the namespace \"%s\"", rq->ns);
    else
        sk_buf_puts(&where, "at the cluster scope");
    rc = sk_err_set(err, EPERM,
                    "%s is forbidden: User \"%s\" cannot %s resource \"%s%s%s\" in API group "
                    "\"%s\" %s",
                    res.data, rq->user, rq->verb, rq->resource, *sub ? "/" : "", sub, group,
                    where.data);
    sk_buf_release(&res);
    sk_buf_release(&where);
    return rc;
}

/* ---- the bootstrap policy ---- */

#define CR(name, rules)                                                                            \
    "\"ClusterRole//" name "\":{\"apiVersion\":\"rbac.authorization.k8s.io/v1\","                  \
    "\"kind\":\"ClusterRole\",\"metadata\":{\"name\":\"" name "\"},\"rules\":[" rules "]}"
#define CRB(name, skind, sname)                                                                    \
    "\"ClusterRoleBinding//" name "\":{\"apiVersion\":\"rbac.authorization.k8s.io/v1\","           \
    "\"kind\":\"ClusterRoleBinding\",\"metadata\":{\"name\":\"" name "\"},"                        \
    "\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\","            \
    "\"name\":\"" name "\"},\"subjects\":[{\"apiGroup\":\"rbac.authorization.k8s.io\","            \
    "\"kind\":\"" skind "\",\"name\":\"" sname "\"}]}"
#define RULE(groups, resources, verbs)                                                             \
    "{\"apiGroups\":[" groups "],\"resources\":[" resources "],\"verbs\":[" verbs "]}"
#define Q(s)  "\"" s "\""
#define READ  Q("get") "," Q("list") "," Q("watch")
#define WRITE Q("create") "," Q("update") "," Q("patch")
#define CORE  Q("")

/* Modelled on Kubernetes's plugin/pkg/auth/authorizer/rbac/bootstrappolicy,
 * cut to the kinds skiff has. system:node: a node agent reads what its
 * pods need and reports status; NodeRestriction narrows its writes to
 * its own Node and pods. The controller manager runs every controller
 * under one identity, the garbage collector and the namespace
 * controller included: those update and delete any kind. It creates
 * what its controllers create: pods, ReplicaSets, Endpoints, Events,
 * ServiceAccounts and their token Secrets (as Kubernetes's role), and
 * the Lease of `skiffd controllers`' leader election. */
/* clang-format off */
static const char bootstrap_text[] = "{"
    CR("cluster-admin", RULE(Q("*"), Q("*"), Q("*"))) ","
    CR("system:node",
       RULE(CORE, Q("pods") "," Q("services") "," Q("endpoints") "," Q("nodes") ","
                  Q("configmaps") "," Q("secrets") "," Q("namespaces"), READ) ","
       RULE(CORE, Q("nodes") "," Q("nodes/status"), WRITE) ","
       RULE(CORE, Q("pods/status"), Q("update") "," Q("patch")) ","
       RULE(CORE, Q("pods"), Q("delete")) ","
       RULE(CORE, Q("events"), WRITE)) ","
    CR("system:kube-scheduler",
       RULE(CORE, Q("pods") "," Q("nodes") "," Q("namespaces") "," Q("services"), READ) ","
       RULE(Q("apps"), Q("replicasets"), READ) ","
       RULE(CORE, Q("pods/binding"), Q("create")) ","
       RULE(CORE, Q("pods/status"), Q("update") "," Q("patch")) ","
       RULE(CORE, Q("pods"), Q("delete")) ","
       RULE(CORE, Q("events"), WRITE)) ","
    CR("system:kube-controller-manager",
       RULE(Q("*"), Q("*"), READ "," Q("update") "," Q("patch") "," Q("delete")) ","
       RULE(CORE, Q("pods") "," Q("endpoints") "," Q("events") "," Q("serviceaccounts") ","
                  Q("secrets") "," Q("configmaps"), Q("create")) ","
       RULE(Q("apps"), Q("deployments") "," Q("replicasets"), Q("create")) ","
       RULE(Q("coordination.k8s.io"), Q("leases"), Q("create"))) ","
    CRB("cluster-admin", "Group", "system:masters") ","
    CRB("system:node", "Group", "system:nodes") ","
    CRB("system:kube-scheduler", "User", "system:kube-scheduler") ","
    CRB("system:kube-controller-manager", "User", "system:kube-controller-manager")
    "}";
/* clang-format on */

const json_t *
api_rbac_bootstrap(void)
{
    /* Parsed once and kept for the process's life (the text is constant;
     * everything runs on one loop thread). */
    static json_t *policy;
    json_error_t jerr;

    if (!policy) {
        policy = json_loads(bootstrap_text, 0, &jerr);
        if (!policy)
            SK_BUG("bootstrap policy: %s at %d", jerr.text, jerr.position);
    }
    return policy;
}

/* ---- NodeRestriction ---- */

static const char *
pod_node(const json_t *pod)
{
    return str_at(json_object_get(pod, "spec"), "nodeName");
}

static bool
named(const json_t *obj, const char *node)
{
    return !obj || strcmp(api_meta_name(obj), node) == 0;
}

static bool
on_node(const json_t *pod, const char *node)
{
    return !pod || strcmp(pod_node(pod), node) == 0;
}

int
api_node_restriction(const struct api_peer *peer, const char *verb, const struct api_kind *k,
                     const json_t *old, const json_t *new_obj, struct sk_err *err)
{
    const json_t *obj = new_obj ? new_obj : old;
    const char *node;

    /* Kubernetes's NodeRestriction knows a node by both: its user name
     * and membership in system:nodes. */
    if (!k || !sk_startswith(peer->user, "system:node:") ||
        !api_peer_in_group(peer, "system:nodes"))
        return 0;
    node = peer->user + strlen("system:node:");
    if (strcmp(k->kind, "Node") == 0) {
        if (*node && named(old, node) && named(new_obj, node))
            return 0;
        return sk_err_set(err, EPERM, "node \"%s\" is not allowed to %s node \"%s\"", node, verb,
                          api_meta_name(obj));
    }
    if (strcmp(k->kind, "Pod") == 0) {
        if (*node && on_node(old, node) && on_node(new_obj, node))
            return 0;
        return sk_err_set(err, EPERM,
                          "pods \"%s\" is forbidden: node \"%s\" can only %s pods with "
                          "spec.nodeName set to itself",
                          api_meta_name(obj), node, verb);
    }
    return 0;
}
