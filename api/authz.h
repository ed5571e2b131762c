#ifndef SK_API_AUTHZ_H
#define SK_API_AUTHZ_H

/* Authorization: Kubernetes RBAC (rbac.authorization.k8s.io/v1) and
 * the NodeRestriction admission rule.
 *
 * RBAC semantics, as in Kubernetes: Roles and ClusterRoles hold rules
 * (apiGroups x resources x verbs, optionally resourceNames); bindings
 * grant a role's rules to subjects (User, Group, ServiceAccount, the
 * latter being user "system:serviceaccount:NS:NAME"). A
 * ClusterRoleBinding grants a ClusterRole everywhere (every namespace
 * and the cluster scope); a RoleBinding grants a Role of its namespace
 * or a ClusterRole, in its namespace only. Permissions only add up:
 * there are no deny rules, and a request is allowed when any rule of
 * any role bound to the user or one of its groups matches it.
 *
 * Rule matching: "*" matches any verb, group or resource; a resource
 * "pods" does not match the subresource "pods/status", which needs
 * "pods/status" or "*" or "* /status" (without the blank); resourceNames,
 * when set, allow only requests for those names (so never list, watch
 * or create without a name). Aggregated ClusterRoles and
 * nonResourceURLs are not supported (ignored).
 *
 * The bootstrap policy is built in and always in force, on top of what
 * the store holds (stored objects of the same names add to it):
 *   cluster-admin                    everything; bound to group
 *                                    system:masters
 *   system:node                      what a node agent reads and writes;
 *                                    bound to group system:nodes
 *   system:kube-scheduler            read pods and nodes, bind, pod
 *                                    status, events; bound to user
 *                                    system:kube-scheduler
 *   system:kube-controller-manager   read everything, write workloads,
 *                                    pods, endpoints, events, namespaces;
 *                                    bound to user
 *                                    system:kube-controller-manager
 * skiff-protocol(7) lists their rules. */

#include "api/object.h"
#include "api/server.h"
#include "lib/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* ---- the pure evaluator (rbac.c) ---- */

/* One request as RBAC sees it. */
struct api_rbac_request {
    const char *user;
    const char *groups;      /* comma-separated */
    const char *verb;        /* get list watch create update patch delete ... */
    const char *api_group;   /* "" (core), "apps", "rbac.authorization.k8s.io" */
    const char *resource;    /* "pods" */
    const char *subresource; /* "" or "status", "binding", "scale" */
    const char *ns;          /* "": cluster scope (or all namespaces) */
    const char *name;        /* "": list, watch, create without a name */
};

/* A policy is a JSON object that maps "KIND/NAMESPACE/NAME" to a Role,
 * ClusterRole, RoleBinding or ClusterRoleBinding object (namespace empty
 * for the cluster-scoped kinds). Put obj (copied) into it, replacing one
 * of the same key; -EINVAL for other kinds or a missing name. */
int api_rbac_policy_put(json_t *policy, const json_t *obj, struct sk_err *err);
/* Remove an object; nothing when absent. */
void api_rbac_policy_remove(json_t *policy, const char *kind, const char *ns, const char *name);

/* True when any binding in any of the n policies grants rq through a
 * role found in any of them. Malformed objects grant nothing. */
bool api_rbac_allows(const json_t *const *policies, size_t n, const struct api_rbac_request *rq);

/* Kubernetes's forbidden message into err (code EPERM); returns -EPERM:
 *   pods "web" is forbidden: User "alice" cannot delete resource "pods"
 *   in API group "" in the namespace "default"
 *   deployments.apps is forbidden: User "bob" cannot list resource
 *   "deployments" in API group "apps" at the cluster scope */
int api_rbac_forbidden(const struct api_rbac_request *rq, struct sk_err *err);

/* The built-in bootstrap policy (see above), parsed once; owned by the
 * module, never freed. */
const json_t *api_rbac_bootstrap(void);

/* ---- admission (rbac.c) ---- */

/* NodeRestriction: a peer whose user is "system:node:NAME" and who is in
 * group system:nodes may write only its own Node (old and new named
 * NAME) and Pods whose spec.nodeName is NAME (old and new). Other peers
 * and other kinds pass. 0, or -EPERM with a message. */
int api_node_restriction(const struct api_peer *peer, const char *verb, const struct api_kind *k,
                         const json_t *old, const json_t *new_obj, struct sk_err *err);

/* ---- the authorizer (authz.c) ---- */

/* Holds the RBAC objects of the store in memory, plus the bootstrap
 * policy. The caller keeps it current (a watch of the four RBAC kinds
 * calls api_authz_update for ADDED/MODIFIED and api_authz_remove for
 * DELETED). */
struct api_authz;

struct api_authz *api_authz_new(void);
void api_authz_free(struct api_authz *a);

/* Add or replace a Role, ClusterRole, RoleBinding or ClusterRoleBinding
 * (copied). Other kinds: -EINVAL. */
int api_authz_update(struct api_authz *a, const json_t *obj, struct sk_err *err);
/* Forget one (kind "Role", "ClusterRole", ...; ns "" for cluster
 * kinds). */
void api_authz_remove(struct api_authz *a, const char *kind, const char *ns, const char *name);
/* How many stored objects it holds (not counting the bootstrap ones). */
size_t api_authz_count(const struct api_authz *a);

/* The hooks of the objects module; arg is the struct api_authz. The
 * authorize hook maps the protocol's verbs to Kubernetes's before
 * asking RBAC: bind on pods is create on pods/binding, scale is update
 * on RESOURCE/scale, status is update on RESOURCE/status, apply is
 * patch; the API group comes from api_kind_lookup(resource). */
int api_authz_authorize(void *arg, const struct api_peer *peer, const char *verb,
                        const char *resource, const char *subresource, const char *ns,
                        const char *name, struct sk_err *err);
int api_authz_admit(void *arg, const struct api_peer *peer, const char *verb,
                    const struct api_kind *k, const json_t *old, const json_t *new_obj,
                    struct sk_err *err);

/* Keep a's stored RBAC objects current from store s (authz_feed.c):
 * loads every Role, ClusterRole, RoleBinding and ClusterRoleBinding now
 * and follows their changes. NULL with err on failure. */
struct store;
struct api_authz_feed;
struct api_authz_feed *api_authz_feed_start(struct api_authz *a, struct store *s,
                                            struct sk_err *err);
void api_authz_feed_stop(struct api_authz_feed *f);

#endif
