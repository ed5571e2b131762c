/* api/rbac.c and api/authz.c: the RBAC evaluator, the bootstrap policy,
 * NodeRestriction and the authorizer's hooks. */
#include "api/authz.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "unit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define RBAC_V1 "\"apiVersion\":\"rbac.authorization.k8s.io/v1\""

/* The policy of the evaluator tests, one object a line. */
static const char *const fixture[] = {
    "{" RBAC_V1 ",\"kind\":\"Role\",\"metadata\":{\"name\":\"pod-reader\",\"namespace\":\"dev\"},"
    "\"rules\":[{\"apiGroups\":[\"\"],\"resources\":[\"pods\"],\"verbs\":[\"get\",\"list\","
    "\"watch\"]}]}",
    "{" RBAC_V1 ",\"kind\":\"RoleBinding\",\"metadata\":{\"name\":\"read-pods\",\"namespace\":"
    "\"dev\"},\"roleRef\":{\"kind\":\"Role\",\"name\":\"pod-reader\"},\"subjects\":[{\"kind\":"
    "\"User\",\"name\":\"alice\"},{\"kind\":\"ServiceAccount\",\"name\":\"builder\"}]}",
    /* a binding in qa to a Role that exists only in dev grants nothing */
    "{" RBAC_V1 ",\"kind\":\"RoleBinding\",\"metadata\":{\"name\":\"read-pods\",\"namespace\":"
    "\"qa\"},\"roleRef\":{\"kind\":\"Role\",\"name\":\"pod-reader\"},\"subjects\":[{\"kind\":"
    "\"User\",\"name\":\"alice\"}]}",
    "{" RBAC_V1 ",\"kind\":\"ClusterRole\",\"metadata\":{\"name\":\"secret-reader\"},\"rules\":"
    "[{\"apiGroups\":[\"\"],\"resources\":[\"secrets\"],\"verbs\":[\"get\"],\"resourceNames\":"
    "[\"db-pass\"]}]}",
    /* a ClusterRole through a RoleBinding: only in prod */
    "{" RBAC_V1 ",\"kind\":\"RoleBinding\",\"metadata\":{\"name\":\"ops-secrets\",\"namespace\":"
    "\"prod\"},\"roleRef\":{\"kind\":\"ClusterRole\",\"name\":\"secret-reader\"},\"subjects\":"
    "[{\"kind\":\"Group\",\"name\":\"ops\"}]}",
    "{" RBAC_V1 ",\"kind\":\"ClusterRole\",\"metadata\":{\"name\":\"deploy-admin\"},\"rules\":"
    "[{\"apiGroups\":[\"apps\"],\"resources\":[\"deployments\"],\"verbs\":[\"*\"]},"
    "{\"apiGroups\":[\"apps\"],\"resources\":[\"*/scale\"],\"verbs\":[\"update\"]}]}",
    "{" RBAC_V1 ",\"kind\":\"ClusterRoleBinding\",\"metadata\":{\"name\":\"carol-deploy\"},"
    "\"roleRef\":{\"kind\":\"ClusterRole\",\"name\":\"deploy-admin\"},\"subjects\":[{\"kind\":"
    "\"User\",\"name\":\"carol\"},{\"kind\":\"ServiceAccount\",\"namespace\":\"ci\",\"name\":"
    "\"deployer\"}]}",
    "{" RBAC_V1 ",\"kind\":\"ClusterRole\",\"metadata\":{\"name\":\"status-writer\"},\"rules\":"
    "[{\"apiGroups\":[\"\"],\"resources\":[\"pods/status\"],\"verbs\":[\"update\",\"patch\"]}]}",
    "{" RBAC_V1 ",\"kind\":\"ClusterRoleBinding\",\"metadata\":{\"name\":\"status\"},"
    "\"roleRef\":{\"kind\":\"ClusterRole\",\"name\":\"status-writer\"},\"subjects\":[{\"kind\":"
    "\"Group\",\"name\":\"writers\"}]}",
    "{" RBAC_V1 ",\"kind\":\"ClusterRole\",\"metadata\":{\"name\":\"core-viewer\"},\"rules\":"
    "[{\"apiGroups\":[\"\"],\"resources\":[\"*\"],\"verbs\":[\"get\"]}]}",
    "{" RBAC_V1 ",\"kind\":\"ClusterRoleBinding\",\"metadata\":{\"name\":\"viewers\"},"
    "\"roleRef\":{\"kind\":\"ClusterRole\",\"name\":\"core-viewer\"},\"subjects\":[{\"kind\":"
    "\"Group\",\"name\":\"viewers\"}]}",
    /* a ClusterRoleBinding may not reference a Role: grants nothing */
    "{" RBAC_V1 ",\"kind\":\"ClusterRoleBinding\",\"metadata\":{\"name\":\"bad-ref\"},"
    "\"roleRef\":{\"kind\":\"Role\",\"name\":\"pod-reader\"},\"subjects\":[{\"kind\":\"User\","
    "\"name\":\"mallory\"}]}",
    /* malformed objects grant nothing and crash nothing */
    "{" RBAC_V1 ",\"kind\":\"ClusterRoleBinding\",\"metadata\":{\"name\":\"junk1\"},"
    "\"roleRef\":\"core-viewer\",\"subjects\":{\"kind\":\"User\",\"name\":\"mallory\"}}",
    "{" RBAC_V1 ",\"kind\":\"ClusterRole\",\"metadata\":{\"name\":\"junk2\"},\"rules\":"
    "[7,{\"apiGroups\":\"*\",\"resources\":[1],\"verbs\":[null]}]}",
    "{" RBAC_V1 ",\"kind\":\"ClusterRoleBinding\",\"metadata\":{\"name\":\"junk3\"},"
    "\"roleRef\":{\"kind\":\"ClusterRole\",\"name\":\"junk2\"},\"subjects\":[3,{\"kind\":\"User\"},"
    "{\"kind\":\"User\",\"name\":\"mallory\"}]}",
};

static json_t *
fixture_policy(void)
{
    json_t *policy = json_object(), *obj;
    json_error_t jerr;
    struct sk_err err;
    size_t i;

    for (i = 0; i < sizeof(fixture) / sizeof(fixture[0]); i++) {
        obj = json_loads(fixture[i], 0, &jerr);
        ck_assert_msg(obj != NULL, "fixture %zu: %s", i, jerr.text);
        sk_err_init(&err);
        ck_assert_msg(api_rbac_policy_put(policy, obj, &err) == 0, "%s", err.msg);
        json_decref(obj);
    }
    return policy;
}

static const struct rbac_case {
    const char *user, *groups, *verb, *group, *resource, *sub, *ns, *name;
    bool allowed;
} cases[] = {
    /* Role via RoleBinding: its namespace only, its verbs only */
    {"alice", "", "get", "", "pods", "", "dev", "web", true},
    {"alice", "", "list", "", "pods", "", "dev", "", true},
    {"alice", "", "watch", "", "pods", "", "dev", "", true},
    {"alice", "", "delete", "", "pods", "", "dev", "web", false},
    {"alice", "", "get", "", "pods", "", "prod", "web", false},
    {"alice", "", "list", "", "pods", "", "", "", false}, /* all namespaces */
    {"alice", "", "get", "", "pods", "", "qa", "web", false},
    {"alice", "", "get", "", "services", "", "dev", "web", false},
    {"alice", "", "get", "apps", "pods", "", "dev", "web", false},
    /* a subresource needs its own rule */
    {"alice", "", "get", "", "pods", "status", "dev", "web", false},
    /* ServiceAccount subject, namespace defaulting to the binding's */
    {"system:serviceaccount:dev:builder", "", "get", "", "pods", "", "dev", "x", true},
    {"system:serviceaccount:qa:builder", "", "get", "", "pods", "", "dev", "x", false},
    {"system:serviceaccount:dev:builder2", "", "get", "", "pods", "", "dev", "x", false},
    {"system:serviceaccount:ci:deployer", "", "create", "apps", "deployments", "", "x", "", true},
    /* ClusterRole bound in one namespace by a RoleBinding; resourceNames */
    {"bob", "dev,ops", "get", "", "secrets", "", "prod", "db-pass", true},
    {"bob", "dev,ops", "get", "", "secrets", "", "prod", "other", false},
    {"bob", "dev,ops", "list", "", "secrets", "", "prod", "", false},
    {"bob", "dev,ops", "get", "", "secrets", "", "dev", "db-pass", false},
    {"bob", "dev,ops", "get", "", "secrets", "", "", "db-pass", false},
    {"bob", "dev,opsx", "get", "", "secrets", "", "prod", "db-pass", false},
    /* ClusterRoleBinding: everywhere; "*" verbs; "* /scale" */
    {"carol", "", "delete", "apps", "deployments", "", "any", "web", true},
    {"carol", "", "list", "apps", "deployments", "", "", "", true},
    {"carol", "", "escalate", "apps", "deployments", "", "x", "web", true},
    {"carol", "", "get", "", "deployments", "", "x", "web", false}, /* group "" */
    {"carol", "", "update", "apps", "deployments", "scale", "x", "web", true},
    {"carol", "", "update", "apps", "replicasets", "scale", "x", "web", true},
    {"carol", "", "get", "apps", "replicasets", "scale", "x", "web", false},
    {"carol", "", "update", "apps", "deployments", "status", "x", "web", false},
    {"carol", "", "get", "apps", "replicasets", "", "x", "web", false},
    /* pods/status does not give pods */
    {"w", "writers", "update", "", "pods", "status", "x", "p", true},
    {"w", "writers", "patch", "", "pods", "status", "", "p", true},
    {"w", "writers", "update", "", "pods", "", "x", "p", false},
    {"w", "writers", "update", "", "nodes", "status", "", "n", false},
    /* resource "*" covers subresources and cluster-scoped kinds */
    {"v", "a,viewers,b", "get", "", "nodes", "", "", "n1", true},
    {"v", "a,viewers,b", "get", "", "pods", "log", "x", "p", true},
    {"v", "a,viewers,b", "get", "apps", "deployments", "", "x", "d", false},
    {"v", "a,viewers,b", "list", "", "pods", "", "x", "", false},
    /* the bad bindings */
    {"mallory", "", "get", "", "pods", "", "dev", "web", false},
    {"mallory", "", "get", "", "nodes", "", "", "n1", false},
    {"nobody", "", "get", "", "pods", "", "dev", "web", false},
    /* a user named like a group gets nothing from the group */
    {"ops", "", "get", "", "secrets", "", "prod", "db-pass", false},
};

START_TEST(evaluator_table)
{
    json_t *policy = fixture_policy();
    const json_t *policies[1] = {policy};
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct rbac_case *c = &cases[i];
        struct api_rbac_request rq = {c->user,     c->groups, c->verb, c->group,
                                      c->resource, c->sub,    c->ns,   c->name};

        ck_assert_msg(api_rbac_allows(policies, 1, &rq) == c->allowed,
                      "case %zu: %s [%s] %s %s/%s/%s ns '%s' name '%s': expected %s", i, c->user,
                      c->groups, c->verb, c->group, c->resource, c->sub, c->ns, c->name,
                      c->allowed ? "allowed" : "denied");
    }
    json_decref(policy);
}
END_TEST

START_TEST(roles_are_found_across_policies_and_removal_revokes)
{
    json_t *policy = fixture_policy(), *other = json_object();
    const json_t *both[2] = {other, policy};
    struct api_rbac_request rq = {"alice", "", "get", "", "pods", "", "dev", "web"};

    /* the binding in one policy, the role in the other */
    ck_assert(api_rbac_allows(both, 2, &rq));
    api_rbac_policy_remove(policy, "Role", "dev", "pod-reader");
    ck_assert(!api_rbac_allows(both, 2, &rq));
    json_object_set_new(other, "x", json_string("not an object"));
    ck_assert(!api_rbac_allows(both, 2, &rq));
    api_rbac_policy_remove(policy, "Role", "dev", "no-such-role");
    json_decref(policy);
    json_decref(other);
}
END_TEST

START_TEST(policy_put_refuses_other_kinds)
{
    json_t *policy = json_object();
    json_t *pod =
        json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "Pod", "metadata", "name", "p");
    json_t *noname = json_pack("{s:s,s:{}}", "kind", "Role", "metadata");
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_eq(api_rbac_policy_put(policy, pod, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "not an RBAC object: kind 'Pod'");
    ck_assert_int_eq(api_rbac_policy_put(policy, noname, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "Role without a name");
    json_t *str = json_string("x");

    ck_assert_int_eq(api_rbac_policy_put(policy, str, &err), -EINVAL);
    json_decref(str);
    ck_assert_uint_eq(json_object_size(policy), 0);
    json_decref(pod);
    json_decref(noname);
    json_decref(policy);
}
END_TEST

static const struct {
    struct api_rbac_request rq;
    const char *msg;
} forbidden[] = {
    {{"alice", "", "delete", "", "pods", "", "default", "web"},
     "pods \"web\" is forbidden: User \"alice\" cannot delete resource \"pods\" in API group \"\" "
     "in the namespace \"default\""},
    {{"bob", "", "list", "apps", "deployments", "", "", ""},
     "deployments.apps is forbidden: User \"bob\" cannot list resource \"deployments\" in API "
     "group \"apps\" at the cluster scope"},
    {{"system:node:n1", "", "update", "", "pods", "status", "kube-system", "dns"},
     "pods \"dns\" is forbidden: User \"system:node:n1\" cannot update resource \"pods/status\" "
     "in API group \"\" in the namespace \"kube-system\""},
    {{"dave", "", "get", "", "nodes", "", "", "n2"},
     "nodes \"n2\" is forbidden: User \"dave\" cannot get resource \"nodes\" in API group \"\" at "
     "the cluster scope"},
};

START_TEST(forbidden_messages_are_kubernetes_ones)
{
    size_t i;

    for (i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++) {
        struct sk_err err;

        sk_err_init(&err);
        ck_assert_int_eq(api_rbac_forbidden(&forbidden[i].rq, &err), -EPERM);
        ck_assert_int_eq(err.code, EPERM);
        ck_assert_str_eq(err.msg, forbidden[i].msg);
    }
}
END_TEST

/* ---- the authorizer and the bootstrap policy ---- */

static struct api_peer
peer_of(const char *user, const char *groups)
{
    struct api_peer p = {.authenticated = true};

    sk_strlcpy(p.user, user, sizeof(p.user));
    sk_strlcpy(p.groups, groups, sizeof(p.groups));
    return p;
}

static const struct boot_case {
    const char *user, *groups, *verb, *resource, *sub, *ns, *name;
    bool allowed;
} boot_cases[] = {
#define ADMIN "system:admin", "system:masters,system:authenticated"
#define NODE  "system:node:n1", "system:nodes,system:authenticated"
#define SCHED "system:kube-scheduler", "system:authenticated"
#define CM    "system:kube-controller-manager", "system:authenticated"
#define DAVE  "dave", "system:authenticated"
#define ANON  "system:anonymous", "system:unauthenticated"
    {ADMIN, "delete", "nodes", "", "", "n1", true},
    {ADMIN, "create", "clusterrolebindings", "", "", "x", true},
    {ADMIN, "list", "secrets", "", "", "", true},
    {ADMIN, "scale", "deployments", "", "default", "web", true},
    /* a node reads what its pods need */
    {NODE, "get", "secrets", "", "default", "db", true},
    {NODE, "list", "pods", "", "", "", true},
    {NODE, "watch", "services", "", "", "", true},
    {NODE, "get", "configmaps", "", "kube-system", "x", true},
    {NODE, "list", "endpoints", "", "", "", true},
    {NODE, "get", "namespaces", "", "", "default", true},
    /* and writes its node, pod status, events */
    {NODE, "create", "nodes", "", "", "n1", true},
    {NODE, "update", "nodes", "status", "", "n1", true},
    {NODE, "status", "nodes", "", "", "n1", true},
    {NODE, "patch", "nodes", "", "", "n1", true},
    {NODE, "update", "pods", "status", "default", "web", true},
    {NODE, "delete", "pods", "", "default", "web", true},
    {NODE, "create", "events", "", "default", "", true},
    /* but nothing else */
    {NODE, "create", "pods", "", "default", "", false},
    {NODE, "update", "pods", "", "default", "web", false},
    {NODE, "bind", "pods", "binding", "default", "web", false},
    {NODE, "list", "deployments", "", "", "", false},
    {NODE, "delete", "nodes", "", "", "n1", false},
    {NODE, "create", "secrets", "", "default", "", false},
    {NODE, "list", "roles", "", "", "", false},
    /* the scheduler binds */
    {SCHED, "bind", "pods", "binding", "default", "web", true},
    {SCHED, "bind", "pods", "", "default", "web", true},
    {SCHED, "list", "nodes", "", "", "", true},
    {SCHED, "watch", "pods", "", "", "", true},
    {SCHED, "patch", "pods", "status", "default", "web", true},
    {SCHED, "create", "events", "", "default", "", true},
    {SCHED, "update", "pods", "", "default", "web", false},
    {SCHED, "create", "pods", "", "default", "", false},
    {SCHED, "get", "secrets", "", "default", "x", false},
    /* the controller manager */
    {CM, "create", "replicasets", "", "default", "", true},
    {CM, "create", "deployments", "", "default", "", true},
    {CM, "status", "deployments", "", "default", "web", true},
    {CM, "scale", "replicasets", "", "default", "web", true},
    {CM, "create", "pods", "", "default", "", true},
    {CM, "update", "endpoints", "", "default", "web", true},
    {CM, "create", "endpoints", "", "default", "", true},
    {CM, "delete", "pods", "", "default", "web", true},
    {CM, "delete", "namespaces", "", "", "old", true},
    {CM, "list", "secrets", "", "", "", true},
    /* token Secrets (the ServiceAccount token controller) and its Lease */
    {CM, "create", "secrets", "", "default", "", true},
    {CM, "create", "leases", "", "kube-system", "", true},
    {CM, "update", "leases", "", "kube-system", "skiff-controllers", true},
    {SCHED, "create", "leases", "", "kube-system", "", false},
    {CM, "create", "clusterrolebindings", "", "", "", false},
    /* plain users and anonymous: nothing */
    {DAVE, "list", "secrets", "", "", "", false},
    {DAVE, "get", "pods", "", "default", "web", false},
    {ANON, "get", "pods", "", "default", "web", false},
    {ANON, "list", "namespaces", "", "", "", false},
#undef ADMIN
#undef NODE
#undef SCHED
#undef CM
#undef DAVE
#undef ANON
};

START_TEST(bootstrap_roles_table)
{
    struct api_authz *a = api_authz_new();
    size_t i;

    for (i = 0; i < sizeof(boot_cases) / sizeof(boot_cases[0]); i++) {
        const struct boot_case *c = &boot_cases[i];
        struct api_peer p = peer_of(c->user, c->groups);
        struct sk_err err;
        int rc;

        sk_err_init(&err);
        rc = api_authz_authorize(a, &p, c->verb, c->resource, c->sub, c->ns, c->name, &err);
        ck_assert_msg(rc == (c->allowed ? 0 : -EPERM), "case %zu: %s %s %s/%s ns '%s': %s", i,
                      c->user, c->verb, c->resource, c->sub, c->ns, rc == 0 ? "allowed" : err.msg);
    }
    api_authz_free(a);
}
END_TEST

START_TEST(secrets_list_is_forbidden_without_the_permission)
{
    struct api_authz *a = api_authz_new();
    struct api_peer p = peer_of("dave", "system:authenticated");
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_eq(api_authz_authorize(a, &p, "list", "secrets", "", "", "", &err), -EPERM);
    ck_assert_str_eq(err.msg, "secrets is forbidden: User \"dave\" cannot list resource "
                              "\"secrets\" in API group \"\" at the cluster scope");
    sk_err_init(&err);
    ck_assert_int_eq(api_authz_authorize(a, &p, "scale", "deploy", NULL, "default", "web", &err),
                     -EPERM);
    ck_assert_str_eq(err.msg,
                     "deployments.apps \"web\" is forbidden: User \"dave\" cannot update "
                     "resource \"deployments/scale\" in API group \"apps\" in the namespace "
                     "\"default\"");
    api_authz_free(a);
}
END_TEST

START_TEST(unauthenticated_peer_counts_as_anonymous)
{
    struct api_authz *a = api_authz_new();
    struct api_peer p = peer_of("system:admin", "system:masters");
    struct sk_err err;

    p.authenticated = false;
    sk_err_init(&err);
    ck_assert_int_eq(api_authz_authorize(a, &p, "get", "pods", "", "default", "x", &err), -EPERM);
    ck_assert_ptr_nonnull(strstr(err.msg, "User \"system:anonymous\""));
    api_authz_free(a);
}
END_TEST

START_TEST(authorizer_follows_update_and_remove)
{
    struct api_authz *a = api_authz_new();
    struct api_peer p = peer_of("erin", "system:authenticated");
    json_error_t jerr;
    json_t *role = json_loads(
        "{" RBAC_V1 ",\"kind\":\"Role\",\"metadata\":{\"name\":\"cm\",\"namespace\":\"web\"},"
        "\"rules\":[{\"apiGroups\":[\"\"],\"resources\":[\"configmaps\"],\"verbs\":[\"*\"]}]}",
        0, &jerr);
    json_t *binding = json_loads(
        "{" RBAC_V1 ",\"kind\":\"RoleBinding\",\"metadata\":{\"name\":\"erin-cm\",\"namespace\":"
        "\"web\"},\"roleRef\":{\"kind\":\"Role\",\"name\":\"cm\"},\"subjects\":[{\"kind\":"
        "\"User\",\"name\":\"erin\"}]}",
        0, &jerr);
    json_t *pod =
        json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "Pod", "metadata", "name", "p");
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_eq(api_authz_authorize(a, &p, "create", "configmaps", "", "web", "", &err),
                     -EPERM);
    ck_assert_int_eq(api_authz_update(a, role, &err), 0);
    ck_assert_int_eq(api_authz_update(a, binding, &err), 0);
    ck_assert_uint_eq(api_authz_count(a), 2);
    ck_assert_int_eq(api_authz_authorize(a, &p, "create", "configmaps", "", "web", "", &err), 0);
    ck_assert_int_eq(api_authz_authorize(a, &p, "create", "configmaps", "", "dev", "", &err),
                     -EPERM);
    /* the stored object is a copy: changing ours changes nothing */
    json_object_set_new(json_object_get(binding, "roleRef"), "name", json_string("other"));
    ck_assert_int_eq(api_authz_authorize(a, &p, "delete", "configmaps", "", "web", "x", &err), 0);
    /* an update replaces */
    ck_assert_int_eq(api_authz_update(a, binding, &err), 0);
    ck_assert_uint_eq(api_authz_count(a), 2);
    ck_assert_int_eq(api_authz_authorize(a, &p, "delete", "configmaps", "", "web", "x", &err),
                     -EPERM);
    api_authz_remove(a, "RoleBinding", "web", "erin-cm");
    api_authz_remove(a, "Role", "web", "cm");
    ck_assert_uint_eq(api_authz_count(a), 0);
    ck_assert_int_eq(api_authz_update(a, pod, &err), -EINVAL);
    json_decref(role);
    json_decref(binding);
    json_decref(pod);
    api_authz_free(a);
}
END_TEST

/* ---- NodeRestriction ---- */

static json_t *
pod_on(const char *name, const char *node)
{
    json_t *pod = json_pack("{s:s,s:s,s:{s:s,s:s},s:{}}", "apiVersion", "v1", "kind", "Pod",
                            "metadata", "name", name, "namespace", "default", "spec");

    if (node)
        json_object_set_new(json_object_get(pod, "spec"), "nodeName", json_string(node));
    return pod;
}

static json_t *
node_named(const char *name)
{
    return json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "Node", "metadata", "name",
                     name);
}

START_TEST(node_restriction_table)
{
    const struct api_kind *pod_k = api_kind_lookup("pods"), *node_k = api_kind_lookup("nodes");
    const struct api_kind *cm_k = api_kind_lookup("configmaps");
    struct api_peer n1 = peer_of("system:node:n1", "system:nodes,system:authenticated");
    struct api_peer fake = peer_of("system:node:n1", "system:authenticated");
    struct api_peer alice = peer_of("alice", "system:nodes");
    struct api_peer empty = peer_of("system:node:", "system:nodes");
    json_t *p1 = pod_on("a", "n1"), *p2 = pod_on("b", "n2"), *p0 = pod_on("c", NULL);
    json_t *node1 = node_named("n1"), *node2 = node_named("n2"), *node0 = node_named("");
    json_t *cm = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap", "metadata",
                           "name", "x");
    const struct {
        const struct api_peer *peer;
        const char *verb;
        const struct api_kind *k;
        const json_t *old, *new_obj;
        bool allowed;
    } t[] = {
        {&n1, "create", node_k, NULL, node1, true},
        {&n1, "update", node_k, node1, node1, true},
        {&n1, "status", node_k, node1, node1, true},
        {&n1, "create", node_k, NULL, node2, false},
        {&n1, "update", node_k, node2, node2, false},
        {&n1, "update", node_k, node1, node2, false},
        {&n1, "delete", node_k, node2, NULL, false},
        {&n1, "create", pod_k, NULL, p1, true},
        {&n1, "status", pod_k, p1, p1, true},
        {&n1, "delete", pod_k, p1, NULL, true},
        {&n1, "create", pod_k, NULL, p2, false},
        {&n1, "create", pod_k, NULL, p0, false},
        {&n1, "status", pod_k, p2, p2, false},
        {&n1, "status", pod_k, p2, p1, false},
        {&n1, "update", pod_k, p1, p2, false},
        {&n1, "delete", pod_k, p2, NULL, false},
        {&n1, "delete", pod_k, p0, NULL, false},
        {&n1, "create", cm_k, NULL, cm, true},
        {&n1, "create", NULL, NULL, cm, true},
        /* not a node: the rule does not apply (RBAC decides) */
        {&fake, "update", node_k, node2, node2, true},
        {&alice, "status", pod_k, p2, p2, true},
        /* a node without a name writes nothing */
        {&empty, "create", pod_k, NULL, p0, false},
        {&empty, "create", node_k, NULL, node0, false},
    };
    size_t i;

    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct sk_err err;
        int rc;

        sk_err_init(&err);
        rc = api_authz_admit(NULL, t[i].peer, t[i].verb, t[i].k, t[i].old, t[i].new_obj, &err);
        ck_assert_msg(rc == (t[i].allowed ? 0 : -EPERM), "case %zu: %s", i,
                      rc == 0 ? "admitted" : err.msg);
    }
    json_decref(node0);
    json_decref(p1);
    json_decref(p2);
    json_decref(p0);
    json_decref(node1);
    json_decref(node2);
    json_decref(cm);
}
END_TEST

START_TEST(node_restriction_messages)
{
    struct api_peer n1 = peer_of("system:node:n1", "system:nodes");
    json_t *p2 = pod_on("web", "n2"), *node2 = node_named("n2");
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_eq(api_node_restriction(&n1, "delete", api_kind_lookup("pods"), p2, NULL, &err),
                     -EPERM);
    ck_assert_str_eq(err.msg, "pods \"web\" is forbidden: node \"n1\" can only delete pods with "
                              "spec.nodeName set to itself");
    ck_assert_int_eq(
        api_node_restriction(&n1, "update", api_kind_lookup("nodes"), node2, node2, &err), -EPERM);
    ck_assert_str_eq(err.msg, "node \"n1\" is not allowed to update node \"n2\"");
    json_decref(p2);
    json_decref(node2);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("api_rbac");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, evaluator_table);
    tcase_add_test(tc, roles_are_found_across_policies_and_removal_revokes);
    tcase_add_test(tc, policy_put_refuses_other_kinds);
    tcase_add_test(tc, forbidden_messages_are_kubernetes_ones);
    tcase_add_test(tc, bootstrap_roles_table);
    tcase_add_test(tc, secrets_list_is_forbidden_without_the_permission);
    tcase_add_test(tc, unauthenticated_peer_counts_as_anonymous);
    tcase_add_test(tc, authorizer_follows_update_and_remove);
    tcase_add_test(tc, node_restriction_table);
    tcase_add_test(tc, node_restriction_messages);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
