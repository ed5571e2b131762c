/* api: the ServiceAccount token index: a token authenticates as its
 * ServiceAccount while the Secret and the ServiceAccount (same uid)
 * exist; other Secrets and malformed tokens are ignored. */
#include "api/authn.h"
#include "unit.h"

#include <errno.h>
#include <string.h>

/* "c2VjcmV0LXRva2VuLTE=" is base64 of "secret-token-1" */
#define TOKEN1 "secret-token-1"
#define B64_1  "c2VjcmV0LXRva2VuLTE="

static json_t *
secret(const char *name, const char *type, const char *sa, const char *uid, const char *b64)
{
    return json_pack("{ss ss s{ss ss s{ss ss}} ss s{ss}}", "apiVersion", "v1", "kind", "Secret",
                     "metadata", "name", name, "namespace", "ns1", "annotations",
                     "kubernetes.io/service-account.name", sa, "kubernetes.io/service-account.uid",
                     uid, "type", type, "data", "token", b64);
}

static json_t *
sa(const char *name, const char *uid)
{
    return json_pack("{ss ss s{ss ss ss}}", "apiVersion", "v1", "kind", "ServiceAccount",
                     "metadata", "name", name, "namespace", "ns1", "uid", uid);
}

static void
put(struct api_sa_tokens *t, json_t *obj)
{
    api_sa_tokens_put(t, obj);
    json_decref(obj);
}

static int
lookup(struct api_sa_tokens *t, const char *token, struct api_peer *peer)
{
    memset(peer, 0, sizeof(*peer));
    return api_sa_tokens_lookup(t, token, peer);
}

START_TEST(token_authenticates_as_its_service_account_with_groups)
{
    struct api_sa_tokens *t = api_sa_tokens_new();
    struct api_peer p;

    put(t, sa("build", "u1"));
    put(t,
        secret("build-token-abcde", "kubernetes.io/service-account-token", "build", "u1", B64_1));
    ck_assert_uint_eq(api_sa_tokens_count(t), 1);
    ck_assert_int_eq(lookup(t, TOKEN1, &p), 0);
    ck_assert_str_eq(p.user, "system:serviceaccount:ns1:build");
    ck_assert_str_eq(p.groups,
                     "system:serviceaccounts,system:serviceaccounts:ns1,system:authenticated");
    ck_assert_int_eq(lookup(t, "secret-token-2", &p), -ENOENT);
    ck_assert_int_eq(lookup(t, "", &p), -ENOENT);
    ck_assert_int_eq(lookup(t, B64_1, &p), -ENOENT); /* the encoded form is not the token */
    api_sa_tokens_free(t);
}
END_TEST

START_TEST(deleting_the_secret_or_the_service_account_refuses_the_token)
{
    struct api_sa_tokens *t = api_sa_tokens_new();
    struct api_peer p;

    put(t, sa("build", "u1"));
    put(t, secret("s1", "kubernetes.io/service-account-token", "build", "u1", B64_1));
    api_sa_tokens_remove(t, "Secret", "ns1", "s1");
    ck_assert_int_eq(lookup(t, TOKEN1, &p), -ENOENT);
    ck_assert_uint_eq(api_sa_tokens_count(t), 0);

    put(t, secret("s1", "kubernetes.io/service-account-token", "build", "u1", B64_1));
    ck_assert_int_eq(lookup(t, TOKEN1, &p), 0);
    api_sa_tokens_remove(t, "ServiceAccount", "ns1", "build");
    ck_assert_int_eq(lookup(t, TOKEN1, &p), -ENOENT);
    /* a new ServiceAccount of the same name is another one */
    put(t, sa("build", "u2"));
    ck_assert_int_eq(lookup(t, TOKEN1, &p), -ENOENT);
    api_sa_tokens_free(t);
}
END_TEST

START_TEST(a_secret_changing_type_or_token_drops_the_old_token)
{
    struct api_sa_tokens *t = api_sa_tokens_new();
    struct api_peer p;

    put(t, sa("build", "u1"));
    put(t, secret("s1", "kubernetes.io/service-account-token", "build", "u1", B64_1));
    put(t, secret("s1", "kubernetes.io/service-account-token", "build", "u1",
                  "b3RoZXItdG9rZW4=")); /* other-token */
    ck_assert_int_eq(lookup(t, TOKEN1, &p), -ENOENT);
    ck_assert_int_eq(lookup(t, "other-token", &p), 0);
    put(t, secret("s1", "Opaque", "build", "u1", "b3RoZXItdG9rZW4="));
    ck_assert_int_eq(lookup(t, "other-token", &p), -ENOENT);
    api_sa_tokens_free(t);
}
END_TEST

START_TEST(malformed_secrets_are_ignored)
{
    static const char *const bad[] = {"", "!!!!", "abc", "AA==", "c2VjcmV0LXRva2VuLTE"};
    struct api_sa_tokens *t = api_sa_tokens_new();
    json_t *noann;
    size_t i;

    put(t, sa("build", "u1"));
    for (i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        put(t, secret("s1", "kubernetes.io/service-account-token", "build", "u1", bad[i]));
    ck_assert_uint_eq(api_sa_tokens_count(t), 0);
    put(t, secret("s2", "kubernetes.io/service-account-token", "", "u1", B64_1));
    ck_assert_uint_eq(api_sa_tokens_count(t), 0);
    noann = json_pack("{ss s{ss ss} ss}", "kind", "Secret", "metadata", "name", "s3", "namespace",
                      "ns1", "type", "kubernetes.io/service-account-token");
    put(t, noann);
    put(t, json_pack("{ss}", "kind", "Secret"));
    put(t, json_pack("[]"));
    ck_assert_uint_eq(api_sa_tokens_count(t), 0);
    api_sa_tokens_free(t);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("api_sa_tokens");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, token_authenticates_as_its_service_account_with_groups);
    tcase_add_test(tc, deleting_the_secret_or_the_service_account_refuses_the_token);
    tcase_add_test(tc, a_secret_changing_type_or_token_drops_the_old_token);
    tcase_add_test(tc, malformed_secrets_are_ignored);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
