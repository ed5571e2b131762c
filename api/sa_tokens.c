/* ServiceAccount tokens: the index the authenticator looks a bearer
 * token up in, fed from the store like the authorizer's RBAC objects
 * (store_feed.c): a range of /registry/secrets/ and
 * /registry/serviceaccounts/, then a watch of each from that moment, in
 * process. A request never reads the store.
 *
 * A Secret of type kubernetes.io/service-account-token holds the token
 * base64-encoded in data.token (as every Secret value), and names its
 * ServiceAccount in the annotations kubernetes.io/service-account.name
 * and kubernetes.io/service-account.uid. The token (the decoded bytes)
 * authenticates as "system:serviceaccount:<ns>:<name>", groups
 * system:serviceaccounts, system:serviceaccounts:<ns> and
 * system:authenticated, while both the Secret and the ServiceAccount
 * (with that uid, when the annotation gives one) exist: deleting either
 * refuses the token from the next `auth` on, since the watch applies
 * the deletion as the store commits it.
 *
 * Only SHA-256 digests of the tokens are kept (hex, as map keys), never
 * the tokens. The lookup is a hash-table probe on the digest: its
 * timing tells at most something about a digest, not about a token. */
#include "api/authn.h"
#include "api/object.h"
#include "api/store_feed.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/base64.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/sha256.h"
#include "store/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SA_TOKEN_TYPE "kubernetes.io/service-account-token"
#define SA_ANN_NAME   "kubernetes.io/service-account.name"
#define SA_ANN_UID    "kubernetes.io/service-account.uid"

struct api_sa_tokens {
    json_t *by_digest; /* hex digest -> {"ns", "sa", "uid"} */
    json_t *by_secret; /* "ns/name" of the Secret -> hex digest */
    json_t *sas;       /* "ns/name" of the ServiceAccount -> uid */
    struct api_store_feed feeds[2];
};

struct api_sa_tokens *
api_sa_tokens_new(void)
{
    struct api_sa_tokens *t = sk_calloc(1, sizeof(*t));

    t->by_digest = json_object();
    t->by_secret = json_object();
    t->sas = json_object();
    return t;
}

void
api_sa_tokens_free(struct api_sa_tokens *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < 2; i++)
        api_store_feed_stop(&t->feeds[i]);
    json_decref(t->by_digest);
    json_decref(t->by_secret);
    json_decref(t->sas);
    free(t);
}

static void
hex_digest(const void *s, size_t len, char out[SK_SHA256_HEX])
{
    unsigned char d[SK_SHA256_LEN];

    sk_sha256(s, len, d);
    sk_hex(d, sizeof(d), out);
}

/* Decode base64 text into a NUL-terminated token; -1 when it is not
 * base64, decodes to nothing, holds a NUL or is longer than a token. */
static int
token_decode(const char *b64, char out[API_TOKEN_MAX + 1])
{
    size_t len = strlen(b64);
    unsigned char *buf;
    ssize_t n;
    int rc = -1;

    if (len == 0 || len % 4 || len / 4 * 3 > API_TOKEN_MAX + 2)
        return -1;
    buf = sk_malloc(len / 4 * 3 + 1);
    n = sk_base64_decode(b64, len, buf);
    if (n > 0 && n <= API_TOKEN_MAX && !memchr(buf, '\0', (size_t)n)) {
        memcpy(out, buf, (size_t)n);
        out[n] = '\0';
        rc = 0;
    }
    free(buf);
    return rc;
}

static void
key_of(const char *ns, const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", ns ? ns : "", name ? name : "");
}

static void
secret_forget(struct api_sa_tokens *t, const char *key)
{
    const char *hex = json_string_value(json_object_get(t->by_secret, key));

    if (hex)
        json_object_del(t->by_digest, hex);
    json_object_del(t->by_secret, key);
}

static void
secret_put(struct api_sa_tokens *t, const json_t *obj, const char *key)
{
    const char *type = json_string_value(json_object_get(obj, "type"));
    const json_t *ann = sk_json_get(obj, "metadata.annotations");
    const char *sa = json_string_value(json_object_get(ann, SA_ANN_NAME));
    const char *uid = json_string_value(json_object_get(ann, SA_ANN_UID));
    const char *b64 = json_string_value(sk_json_get(obj, "data.token"));
    char token[API_TOKEN_MAX + 1], hex[SK_SHA256_HEX];

    secret_forget(t, key);
    if (!type || strcmp(type, SA_TOKEN_TYPE) || !sa || !*sa || !b64)
        return;
    if (token_decode(b64, token) < 0) {
        sk_warn("authn", "secret '%s': data.token: not a base64 token; ignored", key);
        return;
    }
    hex_digest(token, strlen(token), hex);
    explicit_bzero(token, sizeof(token));
    json_object_set_new(t->by_digest, hex,
                        json_pack("{ss ss ss}", "ns",
                                  json_string_value(sk_json_get(obj, "metadata.namespace")), "sa",
                                  sa, "uid", uid ? uid : ""));
    json_object_set_new(t->by_secret, key, json_string(hex));
}

void
api_sa_tokens_put(struct api_sa_tokens *t, const json_t *obj)
{
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    const char *ns = json_string_value(sk_json_get(obj, "metadata.namespace"));
    const char *name = json_string_value(sk_json_get(obj, "metadata.name"));
    const char *uid = json_string_value(sk_json_get(obj, "metadata.uid"));
    char key[320];

    if (!kind || !ns || !name)
        return;
    key_of(ns, name, key, sizeof(key));
    if (!strcmp(kind, "Secret"))
        secret_put(t, obj, key);
    else if (!strcmp(kind, "ServiceAccount"))
        json_object_set_new(t->sas, key, json_string(uid ? uid : ""));
}

void
api_sa_tokens_remove(struct api_sa_tokens *t, const char *kind, const char *ns, const char *name)
{
    char key[320];

    key_of(ns, name, key, sizeof(key));
    if (!strcmp(kind, "Secret"))
        secret_forget(t, key);
    else if (!strcmp(kind, "ServiceAccount"))
        json_object_del(t->sas, key);
}

size_t
api_sa_tokens_count(const struct api_sa_tokens *t)
{
    return json_object_size(t->by_digest);
}

int
api_sa_tokens_lookup(const struct api_sa_tokens *t, const char *token, struct api_peer *peer)
{
    char hex[SK_SHA256_HEX], key[320];
    const json_t *e;
    const char *ns, *sa, *uid, *have;

    if (!t || !token || !*token)
        return -ENOENT;
    hex_digest(token, strlen(token), hex);
    e = json_object_get(t->by_digest, hex);
    if (!e)
        return -ENOENT;
    ns = json_string_value(json_object_get(e, "ns"));
    sa = json_string_value(json_object_get(e, "sa"));
    uid = json_string_value(json_object_get(e, "uid"));
    key_of(ns, sa, key, sizeof(key));
    have = json_string_value(json_object_get(t->sas, key));
    if (!have || (*uid && strcmp(uid, have)))
        return -ENOENT; /* the ServiceAccount is gone (or is another one now) */
    if (sk_snprintf(peer->user, sizeof(peer->user), "system:serviceaccount:%s:%s", ns, sa) < 0 ||
        sk_snprintf(peer->groups, sizeof(peer->groups),
                    "system:serviceaccounts,system:serviceaccounts:%s," API_GROUP_AUTHED, ns) < 0) {
        sk_warn("authn", "serviceaccount '%s': name too long for a user name; token refused", key);
        return -ENOENT;
    }
    return 0;
}

/* ---- the store feed ---- */

static const char *const sa_resources[2] = {"secrets", "serviceaccounts"};

static void
feed_put(void *arg, const json_t *obj)
{
    api_sa_tokens_put(arg, obj);
}

static void
feed_deleted(void *arg, const char *kind, const char *ns, const char *name)
{
    api_sa_tokens_remove(arg, kind, ns, name);
}

static const struct api_store_feed_ops sa_feed_ops = {
    .put = feed_put, .deleted = feed_deleted, .component = "authn"};

int
api_sa_tokens_watch(struct api_sa_tokens *t, struct store *s, struct sk_err *err)
{
    for (size_t i = 0; i < 2; i++) {
        if (api_store_feed_start(&t->feeds[i], s, sa_resources[i], &sa_feed_ops, t, err) < 0)
            return -1;
    }
    return 0;
}
