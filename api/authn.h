#ifndef SK_API_AUTHN_H
#define SK_API_AUTHN_H

/* Authentication: who a peer of the API is, as a Kubernetes user name
 * and groups (struct api_peer's user and groups), for the authorizer
 * (authz.h) to decide on.
 *
 * TCP peers send `auth TOKEN`; tokens come from a static token file in
 * Kubernetes's format (--token-auth-file), documented in tokens.c, or
 * are ServiceAccount tokens (sa_tokens.c).
 *
 * Peers on the UNIX socket are known by SO_PEERCRED:
 *   - uid 0 and the daemon's own uid: "system:admin", groups
 *     "system:masters,system:authenticated" (cluster-admin);
 *   - a uid listed in [auth] local-users: that user and its groups, plus
 *     "system:authenticated";
 *   - else, a primary gid listed in [auth] local-groups: user "uid:N"
 *     with those groups plus "system:authenticated";
 *   - anyone else: "system:anonymous", group "system:unauthenticated",
 *     whom no bootstrap role allows anything (ping, version and whoami
 *     need no permission).
 * Every authenticated identity gets "system:authenticated", as in
 * Kubernetes. */

#include "api/server.h"
#include "lib/config.h"
#include "lib/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define API_USER_ADMIN     "system:admin"
#define API_GROUP_MASTERS  "system:masters"
#define API_GROUP_AUTHED   "system:authenticated"
#define API_USER_ANONYMOUS "system:anonymous"
#define API_GROUP_UNAUTHED "system:unauthenticated"
#define API_TOKEN_MAX      1024

/* ---- the token file (tokens.c) ---- */

struct api_tokens;

/* Parse token file text; name stands for the file in messages. Fails
 * with -EINVAL and "NAME:LINE: message" for the first bad line (a
 * missing column, a bad quote, an empty or duplicate token, a user or
 * groups too long for struct api_peer). Never puts a token into a
 * message. */
int api_tokens_parse(const char *name, const char *text, size_t len, struct api_tokens **out,
                     struct sk_err *err);

/* Read and parse the file at path (at most 4 MiB). Logs a warning when
 * the file may be read or written by others than its owner, or is owned
 * by someone else than the daemon's user. */
int api_tokens_load(const char *path, struct api_tokens **out, struct sk_err *err);

/* True when a token file with this mode and owner is exposed: group or
 * other permission bits set, or an owner other than self. */
bool api_tokens_file_exposed(mode_t mode, uid_t owner, uid_t self);

void api_tokens_free(struct api_tokens *t);
size_t api_tokens_count(const struct api_tokens *t);

/* Look token up: fill peer->user and peer->groups (the file's groups
 * plus "system:authenticated") and return 0, or -ENOENT. Compares
 * SHA-256 digests in constant time with every entry. */
int api_tokens_lookup(const struct api_tokens *t, const char *token, struct api_peer *peer);

/* ---- ServiceAccount tokens (sa_tokens.c) ----
 *
 * The bearer tokens in Secrets of type
 * kubernetes.io/service-account-token: user
 * "system:serviceaccount:<ns>:<name>", groups system:serviceaccounts,
 * system:serviceaccounts:<ns>, system:authenticated, while the Secret
 * and its ServiceAccount exist. Only SHA-256 digests are kept. */

struct store;
struct api_sa_tokens;

struct api_sa_tokens *api_sa_tokens_new(void);
/* Cancels the watches too. NULL is fine. */
void api_sa_tokens_free(struct api_sa_tokens *t);
/* A Secret or ServiceAccount as stored (other kinds, other Secret types
 * and malformed tokens are ignored). */
void api_sa_tokens_put(struct api_sa_tokens *t, const json_t *obj);
/* kind "Secret" or "ServiceAccount" ns/name is gone. */
void api_sa_tokens_remove(struct api_sa_tokens *t, const char *kind, const char *ns,
                          const char *name);
size_t api_sa_tokens_count(const struct api_sa_tokens *t);
/* Fill peer->user and peer->groups for token and return 0, or -ENOENT
 * (unknown token, or its ServiceAccount is gone). */
int api_sa_tokens_lookup(const struct api_sa_tokens *t, const char *token, struct api_peer *peer);
/* Load every Secret and ServiceAccount of s and follow their changes
 * (a watch each, from now on) until api_sa_tokens_free. */
int api_sa_tokens_watch(struct api_sa_tokens *t, struct store *s, struct sk_err *err);

/* ---- the authenticator (authn.c) ---- */

struct api_authn;

/* An authenticator without tokens or local mappings; self is the
 * daemon's uid (geteuid()), treated like root. */
struct api_authn *api_authn_new(uid_t self);
void api_authn_free(struct api_authn *a);

/* Replace the tokens (a takes t; NULL: no tokens). */
void api_authn_set_tokens(struct api_authn *a, struct api_tokens *t);
/* The ServiceAccount tokens, looked up after the token file's (borrowed:
 * the caller frees them after a; NULL: none). */
void api_authn_set_sa_tokens(struct api_authn *a, const struct api_sa_tokens *t);

/* Replace the local mappings from the [auth] values (syntax of
 * sk_config_idmap_parse). A name instead of a number is looked up in
 * the user or group database now; an unknown one is a warning and the
 * entry is skipped. Fails with -EINVAL (nothing replaced). */
int api_authn_set_local(struct api_authn *a, const char *local_users, const char *local_groups,
                        struct sk_err *err);

/* Install both hooks on srv (api_server_set_auth, _set_local_auth). */
void api_authn_attach(struct api_authn *a, struct api_server *srv);

/* The hooks themselves (arg: the struct api_authn). */
int api_authn_token(const char *token, struct api_peer *peer, void *arg);
void api_authn_local(struct api_peer *peer, void *arg);

#endif
