/* api/objects_args.c and the continue tokens: the arguments of the
 * object verbs (skiff-protocol(7), OBJECT VERBS). */
#include "api/objects.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "unit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

static int
parse(enum api_obj_verb verb, const char *text, struct api_obj_args *a, char **buf,
      struct sk_err *err)
{
    *buf = strdup(text);
    sk_err_init(err);
    return api_obj_args_parse(verb, *buf, a, err);
}

static const struct {
    enum api_obj_verb verb;
    const char *args;
    const char *kind, *ns, *name;
} good[] = {
    {API_OBJ_GET, "pods default web", "Pod", "default", "web"},
    {API_OBJ_GET, "po default web rev=0", "Pod", "default", "web"},
    {API_OBJ_GET, "nodes n1", "Node", "", "n1"},
    {API_OBJ_GET, "Namespace kube-system", "Namespace", "", "kube-system"},
    {API_OBJ_LIST, "pods", "Pod", "", ""},
    {API_OBJ_LIST, "pods *", "Pod", "", ""},
    {API_OBJ_LIST, "pods default selector=app%3Dweb limit=5", "Pod", "default", ""},
    {API_OBJ_LIST, "nodes *", "Node", "", ""},
    {API_OBJ_WATCH, "deploy * rev=42 bookmarks", "Deployment", "", ""},
    {API_OBJ_DELETE, "pods default web grace=0 propagation=Orphan", "Pod", "default", "web"},
    {API_OBJ_SCALE, "rs default r 3 rev=9", "ReplicaSet", "default", "r"},
    {API_OBJ_BIND, "default web node-1 uid=u1", "Pod", "default", "web"},
    {API_OBJ_PATCH, "cm default c subresource=status {\"data\":{\"a b\":\"%\"}}", "ConfigMap",
     "default", "c"},
};

START_TEST(good_requests_fill_kind_namespace_and_name)
{
    struct api_obj_args a;
    struct sk_err err;
    char *buf;

    for (size_t i = 0; i < N(good); i++) {
        ck_assert_msg(parse(good[i].verb, good[i].args, &a, &buf, &err) == 0, "%s: %s",
                      good[i].args, err.msg);
        ck_assert_str_eq(a.kind->kind, good[i].kind);
        ck_assert_str_eq(a.ns, good[i].ns);
        ck_assert_str_eq(a.name, good[i].name);
        free(buf);
    }
}
END_TEST

START_TEST(options_are_decoded)
{
    struct api_obj_args a;
    struct sk_err err;
    char *buf;

    ck_assert_int_eq(parse(API_OBJ_LIST,
                           "pods * selector=app%20in%20(a,b) fields=spec.nodeName%3Dn1 limit=2 "
                           "continue=abc rev=0",
                           &a, &buf, &err),
                     0);
    ck_assert_str_eq(a.selector, "app in (a,b)");
    ck_assert_str_eq(a.fields, "spec.nodeName=n1");
    ck_assert_str_eq(a.cont, "abc");
    ck_assert_int_eq(a.limit, 2);
    ck_assert_int_eq(a.rev, 0);
    free(buf);
    ck_assert_int_eq(parse(API_OBJ_DELETE, "pods ns p grace=5 propagation=Foreground uid=u rev=7",
                           &a, &buf, &err),
                     0);
    ck_assert_int_eq(a.grace, 5);
    ck_assert_int_eq(a.propagation, API_PROPAGATE_FOREGROUND);
    ck_assert_str_eq(a.uid, "u");
    ck_assert_int_eq(a.rev, 7);
    free(buf);
    ck_assert_int_eq(parse(API_OBJ_WATCH, "pods", &a, &buf, &err), 0);
    ck_assert_int_eq(a.rev, -1);
    ck_assert(!a.bookmarks);
    free(buf);
}
END_TEST

START_TEST(body_is_taken_raw_from_the_first_brace)
{
    struct api_obj_args a;
    struct sk_err err;
    char *buf;

    ck_assert_int_eq(parse(API_OBJ_CREATE, "  {\"a\":\"x y %41\"}  ", &a, &buf, &err), 0);
    ck_assert_str_eq(a.body, "{\"a\":\"x y %41\"}");
    ck_assert_uint_eq(a.body_len, strlen("{\"a\":\"x y %41\"}"));
    free(buf);
    ck_assert_int_eq(parse(API_OBJ_PATCH, "pods default web {\"spec\":{}}", &a, &buf, &err), 0);
    ck_assert_str_eq(a.body, "{\"spec\":{}}");
    ck_assert_str_eq(a.name, "web");
    free(buf);
    ck_assert_int_eq(parse(API_OBJ_BIND, "default web n1", &a, &buf, &err), 0);
    ck_assert_str_eq(a.node, "n1");
    ck_assert_ptr_null(a.body);
    free(buf);
}
END_TEST

static const struct {
    enum api_obj_verb verb;
    const char *args;
    int rc;
    const char *msg; /* a substring */
} bad[] = {
    {API_OBJ_GET, "", -EBADMSG, "usage: get"},
    {API_OBJ_GET, "pods", -EBADMSG, "usage: get"},
    {API_OBJ_GET, "pods default", -EBADMSG, "usage: get"},
    {API_OBJ_GET, "pods default web extra", -EBADMSG, "usage: get"},
    {API_OBJ_GET, "nodes default web", -EBADMSG, "usage: get"},
    {API_OBJ_GET, "frobs default web", -ENOENT, "doesn't have a resource type \"frobs\""},
    {API_OBJ_GET, "pods default web rev=x", -EBADMSG, "bad rev"},
    {API_OBJ_GET, "pods default web rev=-1", -EBADMSG, "bad rev"},
    {API_OBJ_GET, "pods default web limit=1", -EBADMSG, "unknown option 'limit'"},
    {API_OBJ_GET, "pods default w%zz", -EBADMSG, "malformed percent escape"},
    {API_OBJ_LIST, "pods a b", -EBADMSG, "usage: list"},
    {API_OBJ_LIST, "nodes default", -EBADMSG, "usage: list"},
    {API_OBJ_LIST, "pods * limit=-2", -EBADMSG, "bad limit"},
    {API_OBJ_WATCH, "pods * bookmarks=1", -EBADMSG, "unknown option"},
    {API_OBJ_CREATE, "", -EBADMSG, "usage: create"},
    {API_OBJ_CREATE, "pods {}", -EBADMSG, "usage: create"},
    {API_OBJ_CREATE, "dry-run pods {}", -EBADMSG, "usage: create [dry-run] JSON"},
    {API_OBJ_APPLY, "dry-run=1 {}", -EBADMSG, "usage: apply"},
    {API_OBJ_GET, "pods default web dry-run", -EBADMSG, "unknown option 'dry-run'"},
    {API_OBJ_DELETE, "pods default web dry-run", -EBADMSG, "unknown option 'dry-run'"},
    {API_OBJ_PATCH, "pods default web dry-run=yes {}", -EBADMSG, "unknown option 'dry-run'"},
    {API_OBJ_GET, "pods default web {}", -EBADMSG, "unexpected JSON"},
    {API_OBJ_PATCH, "pods default web", -EBADMSG, "usage: patch"},
    {API_OBJ_PATCH, "pods default web subresource=scale {}", -EBADMSG, "bad subresource"},
    {API_OBJ_BIND, "default web", -EBADMSG, "usage: bind"},
    {API_OBJ_SCALE, "deploy default d", -EBADMSG, "usage: scale"},
    {API_OBJ_SCALE, "deploy default d -1", -EBADMSG, "bad replicas"},
    {API_OBJ_SCALE, "deploy default d x", -EBADMSG, "bad replicas"},
    {API_OBJ_DELETE, "pods default web propagation=Sideways", -EBADMSG, "bad propagation"},
    {API_OBJ_DELETE, "pods default web grace=-3", -EBADMSG, "bad grace"},
    {API_OBJ_DELETE, "pods default web a b c d e f g h i j k l m n o p q", -EBADMSG,
     "too many arguments"},
};

START_TEST(bad_requests_are_usage_errors)
{
    struct api_obj_args a;
    struct sk_err err;
    char *buf;

    for (size_t i = 0; i < N(bad); i++) {
        int rc = parse(bad[i].verb, bad[i].args, &a, &buf, &err);

        ck_assert_msg(rc == bad[i].rc, "'%s': rc %d", bad[i].args, rc);
        ck_assert_msg(strstr(err.msg, bad[i].msg), "'%s': message '%s'", bad[i].args, err.msg);
        free(buf);
    }
}
END_TEST

START_TEST(dry_run_is_a_word_of_the_write_verbs_only)
{
    static const struct {
        enum api_obj_verb verb;
        const char *args;
        bool dry;
    } cases[] = {
        {API_OBJ_CREATE, "dry-run {\"a\":1}", true},
        {API_OBJ_CREATE, "{\"a\":\"dry-run\"}", false},
        {API_OBJ_APPLY, "dry-run {}", true},
        {API_OBJ_UPDATE, "dry-run dry-run {}", true},
        {API_OBJ_APPLY, "{}", false},
        {API_OBJ_PATCH, "cm default c dry-run {}", true},
        {API_OBJ_PATCH, "cm default c {}", false},
    };
    struct api_obj_args a;
    struct sk_err err;
    char *buf;

    for (size_t i = 0; i < N(cases); i++) {
        ck_assert_msg(parse(cases[i].verb, cases[i].args, &a, &buf, &err) == 0, "%s: %s",
                      cases[i].args, err.msg);
        ck_assert_msg(a.dry_run == cases[i].dry, "%s", cases[i].args);
        ck_assert_ptr_nonnull(a.body);
        ck_assert_int_eq(a.body[0], '{');
        free(buf);
    }
}
END_TEST

START_TEST(continue_token_round_trips_and_needs_no_escaping)
{
    static const char *const keys[] = {"default/web", "a", "ns/name-with.dots", "x/yz", "ab"};
    struct sk_buf tok = SK_BUF_INIT, key = SK_BUF_INIT;
    struct sk_err err;
    int64_t rev;

    for (size_t i = 0; i < N(keys); i++) {
        sk_buf_reset(&tok);
        sk_buf_reset(&key);
        api_obj_continue_encode(42 + (int64_t)i, keys[i], strlen(keys[i]), &tok);
        ck_assert_uint_eq(strspn(tok.data, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                           "0123456789-_"),
                          tok.len);
        sk_err_init(&err);
        ck_assert_int_eq(api_obj_continue_decode(tok.data, &rev, &key, &err), 0);
        ck_assert_int_eq(rev, 42 + (int64_t)i);
        ck_assert_uint_eq(key.len, strlen(keys[i]));
        ck_assert(!memcmp(key.data, keys[i], key.len));
    }
    sk_buf_release(&tok);
    sk_buf_release(&key);
}
END_TEST

START_TEST(malformed_continue_tokens_are_refused)
{
    static const char *const toks[] = {
        "",    "!!!", "a", "QUJD" /* "ABC": no colon */, "OjEy" /* ":12" */, "LTE6eA" /* "-1:x" */,
        "eDp4" /* "x:x" */};
    struct sk_buf key = SK_BUF_INIT;
    struct sk_err err;
    int64_t rev;

    for (size_t i = 0; i < N(toks); i++) {
        sk_err_init(&err);
        ck_assert_msg(api_obj_continue_decode(toks[i], &rev, &key, &err) == -EBADMSG, "'%s'",
                      toks[i]);
        ck_assert(strstr(err.msg, "continue token"));
    }
    sk_buf_release(&key);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("api_objargs");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, good_requests_fill_kind_namespace_and_name);
    tcase_add_test(tc, options_are_decoded);
    tcase_add_test(tc, body_is_taken_raw_from_the_first_brace);
    tcase_add_test(tc, bad_requests_are_usage_errors);
    tcase_add_test(tc, dry_run_is_a_word_of_the_write_verbs_only);
    tcase_add_test(tc, continue_token_round_trips_and_needs_no_escaping);
    tcase_add_test(tc, malformed_continue_tokens_are_refused);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
