/* The ServiceAccount controller and the token controller (Kubernetes'
 * serviceaccounts-controller and the legacy tokens controller).
 *
 * ServiceAccount controller, keyed by namespace: every namespace that is
 * not being deleted has a ServiceAccount "default"; one deleted is
 * created again.
 *
 * Token controller, keyed by "ns/name" of a ServiceAccount: it has a
 * Secret of type kubernetes.io/service-account-token named
 * <sa>-token-<5 random characters>, annotated with the ServiceAccount's
 * name and uid, with data.token (a random 256-bit token, as base64url
 * text, base64-encoded like every Secret value) and data.namespace; the
 * ServiceAccount's .secrets lists it (an update conditional on the
 * cached resourceVersion). A token Secret deleted is replaced by a new
 * one with a new token (the old token is refused from the moment the
 * deletion commits: api/sa_tokens.c); token Secrets of a ServiceAccount
 * that is gone, or of an older one of the same name (another uid), are
 * deleted. .secrets entries naming Secrets that do not exist are
 * dropped.
 *
 * A created Secret may not be in the cache yet at the next sync; the
 * sync then waits for it (sa_pending, at most PENDING_NS) instead of
 * creating a second one, as the ReplicaSet's expectations do. */

#include "ctrl/manager_int.h"

#include "lib/alloc.h"
#include "lib/base64.h"
#include "lib/clock.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/sha256.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define SA_TOKEN_TYPE "kubernetes.io/service-account-token"
#define SA_ANN_NAME   "kubernetes.io/service-account.name"
#define SA_ANN_UID    "kubernetes.io/service-account.uid"
#define PENDING_NS    (30 * 1000 * 1000 * 1000LL)
#define RECHECK_NS    (500 * 1000 * 1000LL)

static const char *
str_at(const json_t *obj, const char *path)
{
    return json_string_value(sk_json_get(obj, path));
}

static const char *
sa_of_secret(const json_t *secret)
{
    const char *type = json_string_value(json_object_get(secret, "type"));

    if (!type || strcmp(type, SA_TOKEN_TYPE))
        return NULL;
    return json_string_value(
        json_object_get(sk_json_get(secret, "metadata.annotations"), SA_ANN_NAME));
}

static int
ns_active(struct ctrl_manager *m, const char *ns)
{
    const json_t *obj = api_informer_get(m->inf[RES_NS], NULL, ns);
    const char *phase = str_at(obj, "status.phase");

    return obj && !ctrl_obj_deleting(obj) && !(phase && !strcmp(phase, "Terminating"));
}

void
ctrl_sa_observe(struct ctrl_manager *m, enum ctrl_res r, const json_t *obj)
{
    const char *ns = str_at(obj, "metadata.namespace"), *name = str_at(obj, "metadata.name");
    char key[320];

    if (!name)
        return;
    if (r == RES_NS) {
        ctrl_enqueue(m, CTL_SA, name);
        return;
    }
    if (!ns)
        return;
    if (r == RES_SECRETS && !(name = sa_of_secret(obj)))
        return;
    if (r == RES_SA)
        ctrl_enqueue(m, CTL_SA, ns);
    snprintf(key, sizeof(key), "%s/%s", ns, name);
    ctrl_enqueue(m, CTL_TOKEN, key);
}

/* ---- ServiceAccount controller ---- */

static void
sa_sync(struct ctrl_job *job)
{
    struct ctrl_manager *m = job->m;
    json_t *sa;

    if (!ns_active(m, job->key) || api_informer_get(m->inf[RES_SA], job->key, "default"))
        return;
    sa = json_pack("{ss ss s{ss ss}}", "apiVersion", "v1", "kind", "ServiceAccount", "metadata",
                   "name", "default", "namespace", job->key);
    sk_info("ctrl", "namespace '%s': creating serviceaccount 'default'", job->key);
    ctrl_job_create(job, sa, CTRL_OK_EXISTS, NULL, NULL);
    json_decref(sa);
}

/* ---- token controller ---- */

/* base64 (standard, padded) of n bytes: a new string. */
static char *
b64(const void *p, size_t n)
{
    char *out = sk_malloc(SK_BASE64_LEN(n) + 1);

    sk_base64_encode(p, n, out);
    return out;
}

/* A random 256-bit token as base64url text without padding (43
 * characters: safe in an `auth` line and a shell variable). */
static void
token_new(char out[SK_BASE64URL_LEN(32) + 1])
{
    unsigned char r[32];

    sk_random_bytes(r, sizeof(r));
    sk_base64url_encode(r, sizeof(r), out);
}

/* Kubernetes' rand.String alphabet: no vowels, no look-alikes. */
static void
suffix_new(char out[6])
{
    static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
    unsigned char r[5];
    size_t i;

    sk_random_bytes(r, sizeof(r));
    for (i = 0; i < 5; i++)
        out[i] = alphabet[r[i] % (sizeof(alphabet) - 1)];
    out[5] = '\0';
}

static json_t *
token_secret(const json_t *sa, char *name_out, size_t n)
{
    const char *ns = str_at(sa, "metadata.namespace"), *name = str_at(sa, "metadata.name");
    char token[SK_BASE64URL_LEN(32) + 1], sfx[6], *tok64, *ns64;
    json_t *secret;

    token_new(token);
    suffix_new(sfx);
    snprintf(name_out, n, "%s-token-%s", name, sfx);
    tok64 = b64(token, strlen(token));
    ns64 = b64(ns, strlen(ns));
    secret = json_pack("{ss ss s{ss ss s{ss ss}} ss s{ss ss}}", "apiVersion", "v1", "kind",
                       "Secret", "metadata", "name", name_out, "namespace", ns, "annotations",
                       SA_ANN_NAME, name, SA_ANN_UID, str_at(sa, "metadata.uid"), "type",
                       SA_TOKEN_TYPE, "data", "token", tok64, "namespace", ns64);
    explicit_bzero(token, sizeof(token));
    free(tok64);
    free(ns64);
    return secret;
}

struct token_scan {
    const char *sa, *uid;
    json_t *valid; /* names of this ServiceAccount's token Secrets */
    json_t *stale; /* token Secrets naming it with another uid (or any, when it is gone) */
};

static void
scan_secrets(struct ctrl_manager *m, const char *ns, struct token_scan *s)
{
    json_t *all = ctrl_cache_list(m, RES_SECRETS, ns), *sec;
    size_t i;

    s->valid = json_array();
    s->stale = json_array();
    json_array_foreach (all, i, sec) {
        const char *sa = sa_of_secret(sec);
        const char *uid = json_string_value(
            json_object_get(sk_json_get(sec, "metadata.annotations"), SA_ANN_UID));

        if (!sa || strcmp(sa, s->sa) || ctrl_obj_deleting(sec))
            continue;
        if (s->uid && uid && !strcmp(uid, s->uid))
            json_array_append_new(s->valid, json_string(str_at(sec, "metadata.name")));
        else
            json_array_append(s->stale, sec);
    }
    json_decref(all);
}

/* The .secrets list sa should have: its entries whose Secret exists,
 * plus the token Secrets not listed. NULL when unchanged. */
static json_t *
secrets_wanted(struct ctrl_manager *m, const json_t *sa, const json_t *valid)
{
    const char *ns = str_at(sa, "metadata.namespace");
    json_t *cur = json_object_get(sa, "secrets"), *out = json_array(), *e, *v;
    size_t i, j;
    int changed = 0;

    json_array_foreach (cur, i, e) {
        const char *n = json_string_value(json_object_get(e, "name"));

        if (n && api_informer_get(m->inf[RES_SECRETS], ns, n))
            json_array_append(out, e);
        else
            changed = 1;
    }
    json_array_foreach (valid, i, v) {
        int listed = 0;

        json_array_foreach (out, j, e)
            listed |= json_equal(json_object_get(e, "name"), v);
        if (!listed) {
            json_array_append_new(out, json_pack("{sO}", "name", v));
            changed = 1;
        }
    }
    if (!changed) {
        json_decref(out);
        return NULL;
    }
    return out;
}

static void
sa_update_secrets(struct ctrl_job *job, const json_t *sa, json_t *list)
{
    json_t *obj = json_deep_copy(sa);

    json_object_set_new(obj, "secrets", list);
    ctrl_job_update(job, obj, NULL, NULL);
    json_decref(obj);
}

/* The Secret was created: list it in the ServiceAccount now. */
static void
on_token_created(struct ctrl_job *job, int rc, const json_t *obj, const struct sk_err *err,
                 void *arg)
{
    json_t *pending = json_object_get(job->m->sa_pending, job->key), *valid, *list;
    char ns[256], name[256];
    const json_t *sa;

    (void)obj;
    (void)err;
    (void)arg;
    if (rc < 0) {
        json_object_del(job->m->sa_pending, job->key); /* retried with back-off */
        return;
    }
    if (!pending || ctrl_key_split(job->key, ns, sizeof(ns), name, sizeof(name)) < 0)
        return;
    sa = api_informer_get(job->m->inf[RES_SA], ns, name);
    if (!sa)
        return;
    valid = json_pack("[O]", json_object_get(pending, "secret"));
    list = secrets_wanted(job->m, sa, valid);
    if (list)
        sa_update_secrets(job, sa, list);
    json_decref(valid);
}

/* 1 while a Secret created earlier has not reached the cache. */
static int
waiting_for_created(struct ctrl_job *job, const json_t *valid)
{
    json_t *p = json_object_get(job->m->sa_pending, job->key), *v;
    const char *want = json_string_value(json_object_get(p, "secret"));
    size_t i;

    if (!p)
        return 0;
    json_array_foreach (valid, i, v)
        if (want && !strcmp(json_string_value(v), want)) {
            json_object_del(job->m->sa_pending, job->key);
            return 0;
        }
    if (sk_clock_mono_ns() - json_integer_value(json_object_get(p, "at")) > PENDING_NS) {
        json_object_del(job->m->sa_pending, job->key);
        return 0;
    }
    job->requeue_after_ns = RECHECK_NS;
    return 1;
}

static void
delete_stale(struct ctrl_job *job, const json_t *stale)
{
    json_t *sec;
    size_t i;

    json_array_foreach (stale, i, sec)
        ctrl_job_delete(job, "secrets", str_at(sec, "metadata.namespace"),
                        str_at(sec, "metadata.name"), str_at(sec, "metadata.uid"), NULL, NULL,
                        NULL);
}

static void
token_sync(struct ctrl_job *job)
{
    struct ctrl_manager *m = job->m;
    char ns[256], name[256], secret_name[320];
    struct token_scan s = {0};
    const json_t *sa;
    json_t *secret, *list;

    if (ctrl_key_split(job->key, ns, sizeof(ns), name, sizeof(name)) < 0)
        return;
    sa = api_informer_get(m->inf[RES_SA], ns, name);
    s.sa = name;
    s.uid = sa && !ctrl_obj_deleting(sa) ? str_at(sa, "metadata.uid") : NULL;
    scan_secrets(m, ns, &s);
    delete_stale(job, s.stale);
    if (!s.uid) {
        json_object_del(m->sa_pending, job->key);
        goto out;
    }
    if (waiting_for_created(job, s.valid))
        goto out;
    if (json_array_size(s.valid) == 0) {
        if (!ns_active(m, ns))
            goto out;
        secret = token_secret(sa, secret_name, sizeof(secret_name));
        json_object_set_new(
            m->sa_pending, job->key,
            json_pack("{ss sI}", "secret", secret_name, "at", (json_int_t)sk_clock_mono_ns()));
        sk_info("ctrl", "serviceaccount '%s': creating token secret '%s'", job->key, secret_name);
        ctrl_job_create(job, secret, 0, on_token_created, NULL);
        json_decref(secret);
        goto out;
    }
    list = secrets_wanted(m, sa, s.valid);
    if (list)
        sa_update_secrets(job, sa, list);
out:
    json_decref(s.valid);
    json_decref(s.stale);
}

const struct ctrl_ctl_ops ctrl_sa_ops = {"serviceaccount", "service-account-controller", sa_sync};
const struct ctrl_ctl_ops ctrl_token_ops = {"serviceaccount-token", "tokens-controller",
                                            token_sync};
