/* The authenticator: tokens for TCP peers, uid/gid mappings for local
 * ones (rules in authn.h). */
#include "api/authn.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/log.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct local_user {
    uid_t uid;
    char user[64];
    char groups[256]; /* with system:authenticated */
};

struct local_group {
    gid_t gid;
    char groups[256]; /* with system:authenticated */
};

struct api_authn {
    uid_t self;
    struct api_tokens *tokens;
    const struct api_sa_tokens *sa_tokens;
    struct local_user *users;
    size_t nusers;
    struct local_group *groups;
    size_t ngroups;
};

struct api_authn *
api_authn_new(uid_t self)
{
    struct api_authn *a = sk_calloc(1, sizeof(*a));

    a->self = self;
    return a;
}

void
api_authn_free(struct api_authn *a)
{
    if (!a)
        return;
    api_tokens_free(a->tokens);
    free(a->users);
    free(a->groups);
    free(a);
}

void
api_authn_set_tokens(struct api_authn *a, struct api_tokens *t)
{
    api_tokens_free(a->tokens);
    a->tokens = t;
}

void
api_authn_set_sa_tokens(struct api_authn *a, const struct api_sa_tokens *t)
{
    a->sa_tokens = t;
}

/* An id as written in [auth]: a number, or a name looked up now. */
static int
resolve_id(const char *id, bool user, unsigned long *out)
{
    char *end;
    struct passwd *pw;
    struct group *gr;

    errno = 0;
    *out = strtoul(id, &end, 10);
    if (!*end && errno == 0 && *out < (unsigned long)(uid_t)-1)
        return 0;
    if (user) {
        pw = getpwnam(id);
        if (!pw)
            return -ENOENT;
        *out = pw->pw_uid;
    } else {
        gr = getgrnam(id);
        if (!gr)
            return -ENOENT;
        *out = gr->gr_gid;
    }
    return 0;
}

static void
groups_with_authed(const char *groups, char *out, size_t outsz)
{
    /* sk_config_idmap keeps groups short enough for this to fit. */
    if (sk_snprintf(out, outsz, "%s%s%s", groups, *groups ? "," : "", API_GROUP_AUTHED) < 0)
        SK_BUG("local groups too long");
}

int
api_authn_set_local(struct api_authn *a, const char *local_users, const char *local_groups,
                    struct sk_err *err)
{
    struct sk_config_idmap *uv = NULL, *gv = NULL;
    struct local_user *users;
    struct local_group *groups;
    size_t nu = 0, ng = 0, i, ku = 0, kg = 0;
    unsigned long id;

    if (sk_config_idmap_parse(local_users, true, &uv, &nu, err) < 0)
        return sk_err_wrap(err, "auth.local-users");
    if (sk_config_idmap_parse(local_groups, false, &gv, &ng, err) < 0) {
        free(uv);
        return sk_err_wrap(err, "auth.local-groups");
    }
    users = sk_calloc(nu + 1, sizeof(*users));
    groups = sk_calloc(ng + 1, sizeof(*groups));
    for (i = 0; i < nu; i++) {
        if (resolve_id(uv[i].id, true, &id) < 0) {
            sk_warn("api", "auth.local-users: no user '%s'; entry skipped", uv[i].id);
            continue;
        }
        users[ku].uid = (uid_t)id;
        sk_strlcpy(users[ku].user, uv[i].user, sizeof(users[ku].user));
        groups_with_authed(uv[i].groups, users[ku].groups, sizeof(users[ku].groups));
        ku++;
    }
    for (i = 0; i < ng; i++) {
        if (resolve_id(gv[i].id, false, &id) < 0) {
            sk_warn("api", "auth.local-groups: no group '%s'; entry skipped", gv[i].id);
            continue;
        }
        groups[kg].gid = (gid_t)id;
        groups_with_authed(gv[i].groups, groups[kg].groups, sizeof(groups[kg].groups));
        kg++;
    }
    free(uv);
    free(gv);
    free(a->users);
    free(a->groups);
    a->users = users;
    a->nusers = ku;
    a->groups = groups;
    a->ngroups = kg;
    return 0;
}

int
api_authn_token(const char *token, struct api_peer *peer, void *arg)
{
    struct api_authn *a = arg;

    if (api_tokens_lookup(a->tokens, token, peer) == 0)
        return 0;
    return api_sa_tokens_lookup(a->sa_tokens, token, peer);
}

void
api_authn_local(struct api_peer *peer, void *arg)
{
    struct api_authn *a = arg;
    size_t i;

    /* Root can read the data directory and ptrace skiffd anyway, and so
     * can skiffd's own user: they get cluster-admin. */
    if (peer->uid == 0 || peer->uid == a->self) {
        sk_strlcpy(peer->user, API_USER_ADMIN, sizeof(peer->user));
        sk_strlcpy(peer->groups, API_GROUP_MASTERS "," API_GROUP_AUTHED, sizeof(peer->groups));
        return;
    }
    for (i = 0; i < a->nusers; i++) {
        if (a->users[i].uid == peer->uid) {
            sk_strlcpy(peer->user, a->users[i].user, sizeof(peer->user));
            sk_strlcpy(peer->groups, a->users[i].groups, sizeof(peer->groups));
            return;
        }
    }
    for (i = 0; i < a->ngroups; i++) {
        if (a->groups[i].gid == peer->gid) {
            snprintf(peer->user, sizeof(peer->user), "uid:%u", (unsigned)peer->uid);
            sk_strlcpy(peer->groups, a->groups[i].groups, sizeof(peer->groups));
            return;
        }
    }
    sk_strlcpy(peer->user, API_USER_ANONYMOUS, sizeof(peer->user));
    sk_strlcpy(peer->groups, API_GROUP_UNAUTHED, sizeof(peer->groups));
}

void
api_authn_attach(struct api_authn *a, struct api_server *srv)
{
    api_server_set_auth(srv, api_authn_token, a);
    api_server_set_local_auth(srv, api_authn_local, a);
}
