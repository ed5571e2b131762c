/* ctrl: the garbage collector's decision and ownerReference helpers. */
#include "ctrl/ctrl.h"
#include "ctrl_fixture.h"
#include "lib/selector.h"
#include "unit.h"

#include <errno.h>

/* ctx: a NULL-terminated list of existing uids */
static int
exists(void *ctx, const char *uid)
{
    const char *const *u;

    for (u = ctx; *u; u++)
        if (!strcmp(*u, uid))
            return 1;
    return 0;
}

START_TEST(decision_by_which_owners_remain)
{
    static const char *none[] = {NULL};
    static const char *one[] = {"a", NULL};
    static const char *both[] = {"a", "b", NULL};
    static const struct {
        const char *refs; /* JSON ownerReferences, NULL: absent */
        const char **existing;
        enum ctrl_gc_action want;
        size_t kept;
    } cases[] = {
        {NULL, none, CTRL_GC_KEEP, 0},
        {"[]", none, CTRL_GC_KEEP, 0},
        {"null", none, CTRL_GC_KEEP, 0},
        {"[{'uid':'a'}]", one, CTRL_GC_KEEP, 0},
        {"[{'uid':'a'}]", none, CTRL_GC_DELETE, 0},
        {"[{'uid':'a'},{'uid':'b'}]", none, CTRL_GC_DELETE, 0},
        {"[{'uid':'a'},{'uid':'b'}]", one, CTRL_GC_STRIP, 1},
        {"[{'uid':'a'},{'uid':'b'}]", both, CTRL_GC_KEEP, 0},
        /* a new owner with the old name has another uid: still gone */
        {"[{'uid':'old','name':'a'}]", one, CTRL_GC_DELETE, 0},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        json_t *obj = J("{'metadata':{'name':'x','uid':'self'}}"), *patch = NULL;
        enum ctrl_gc_action act;
        struct sk_err err;

        if (cases[i].refs)
            json_object_set_new(json_object_get(obj, "metadata"), "ownerReferences",
                                J("%s", cases[i].refs));
        sk_err_init(&err);
        ck_assert_int_eq(ctrl_gc_decide(obj, exists, cases[i].existing, &act, &patch, &err), 0);
        ck_assert_msg(act == cases[i].want, "case %zu: action %d", i, act);
        if (act == CTRL_GC_STRIP) {
            ck_assert_uint_eq(json_array_size(sk_json_get(patch, "metadata.ownerReferences")),
                              cases[i].kept);
            ck_assert_str_eq(json_string_value(sk_json_get(patch, "metadata.uid")), "self");
        } else {
            ck_assert_ptr_null(patch);
        }
        json_decref(patch);
        json_decref(obj);
    }
}
END_TEST

START_TEST(malformed_owner_references_are_errors)
{
    static const char *bad[] = {"{}", "[3]", "[{}]", "[{'uid':''}]", "[{'uid':5}]"};
    static const char *none[] = {NULL};
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        json_t *obj = J("{'metadata':{'ownerReferences':%s}}", bad[i]), *patch = NULL;
        enum ctrl_gc_action act;
        struct sk_err err;

        sk_err_init(&err);
        ck_assert_int_eq(ctrl_gc_decide(obj, exists, none, &act, &patch, &err), -EINVAL);
        ck_assert_msg(strstr(err.msg, "metadata.ownerReferences") == err.msg, "%s", err.msg);
        ck_assert_int_eq(act, CTRL_GC_KEEP);
        ck_assert_ptr_null(patch);
        json_decref(obj);
    }
}
END_TEST

START_TEST(controller_ref_and_built_ref)
{
    json_t *obj = J("{'metadata':{'ownerReferences':[{'uid':'x'},{'uid':'y','controller':true}]}}");
    json_t *owner = J("{'metadata':{'name':'web','uid':'u1'}}"), *ref = NULL;
    json_t *want = J("{'apiVersion':'apps/v1','kind':'ReplicaSet','name':'web','uid':'u1',"
                     "'controller':true,'blockOwnerDeletion':true}");
    struct sk_err err;

    ck_assert_str_eq(json_string_value(json_object_get(ctrl_owner_controller_ref(obj), "uid")),
                     "y");
    ck_assert_int_eq(ctrl_owner_ref_build(owner, "apps/v1", "ReplicaSet", &ref, &err), 0);
    ck_assert(json_equal(ref, want));
    json_decref(ref);
    json_decref(want);
    json_object_del(json_object_get(owner, "metadata"), "uid");
    sk_err_init(&err);
    ck_assert_int_eq(ctrl_owner_ref_build(owner, "apps/v1", "ReplicaSet", &ref, &err), -ENOENT);
    ck_assert_str_eq(err.msg, "metadata.uid: required");
    json_decref(obj);
    json_decref(owner);
}
END_TEST

START_TEST(claim_table)
{
    static const struct {
        const char *obj;
        int owner_deleting;
        enum ctrl_claim want;
    } cases[] = {
        {"{'metadata':{'labels':{'app':'web'}}}", 0, CTRL_CLAIM_ADOPT},
        {"{'metadata':{'labels':{'app':'db'}}}", 0, CTRL_CLAIM_IGNORE},
        {"{'metadata':{'labels':{'app':'web'}}}", 1, CTRL_CLAIM_IGNORE},
        {"{'metadata':{'labels':{'app':'web'},'deletionTimestamp':'x'}}", 0, CTRL_CLAIM_IGNORE},
        {"{'metadata':{'labels':{'app':'web'},'ownerReferences':[{'uid':'me','controller':true}]}}",
         0, CTRL_CLAIM_OWNED},
        {"{'metadata':{'labels':{'app':'db'},'ownerReferences':[{'uid':'me','controller':true}]}}",
         0, CTRL_CLAIM_RELEASE},
        {"{'metadata':{'labels':{'app':'db'},'ownerReferences':[{'uid':'me','controller':true}]}}",
         1, CTRL_CLAIM_IGNORE},
        {"{'metadata':{'labels':{'app':'web'},'ownerReferences':[{'uid':'you','controller':true}]}"
         "}",
         0, CTRL_CLAIM_IGNORE},
        /* a non-controller reference does not make it owned */
        {"{'metadata':{'labels':{'app':'web'},'ownerReferences':[{'uid':'you'}]}}", 0,
         CTRL_CLAIM_ADOPT},
    };
    struct sk_selector sel;
    size_t i;

    ck_assert_int_eq(sk_selector_parse("app=web", &sel, NULL), 0);
    for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        json_t *owner = J("{'metadata':{'name':'o','uid':'me'%s}}",
                          cases[i].owner_deleting ? ",'deletionTimestamp':'x'" : "");
        json_t *obj = J("%s", cases[i].obj);

        ck_assert_msg(ctrl_owner_claim(owner, &sel, obj) == cases[i].want, "case %zu", i);
        json_decref(owner);
        json_decref(obj);
    }
    sk_selector_release(&sel);
}
END_TEST

START_TEST(adopt_and_release_patches_keep_other_references)
{
    json_t *obj = J("{'metadata':{'uid':'p','ownerReferences':[{'uid':'other'}]}}");
    json_t *ref = J("{'uid':'me','controller':true}"), *p;

    p = ctrl_owner_adopt_patch(obj, ref);
    ck_assert_uint_eq(json_array_size(sk_json_get(p, "metadata.ownerReferences")), 2);
    ck_assert_str_eq(json_string_value(sk_json_get(p, "metadata.ownerReferences[1].uid")), "me");
    json_object_set(json_object_get(obj, "metadata"), "ownerReferences",
                    sk_json_get(p, "metadata.ownerReferences"));
    json_decref(p);
    p = ctrl_owner_release_patch(obj, "me");
    ck_assert_uint_eq(json_array_size(sk_json_get(p, "metadata.ownerReferences")), 1);
    ck_assert_str_eq(json_string_value(sk_json_get(p, "metadata.ownerReferences[0].uid")), "other");
    ck_assert_str_eq(json_string_value(sk_json_get(p, "metadata.uid")), "p");
    json_decref(p);
    json_decref(obj);
    json_decref(ref);
}
END_TEST

START_TEST(time_parse_forms)
{
    static const struct {
        const char *s;
        int64_t secs;
        int ok;
    } cases[] = {
        {"2026-11-25T12:00:00Z", 1795608000, 1},
        {"2026-11-25T12:00:00.5Z", 1795608000, 1},
        {"2026-11-25T13:30:00+01:30", 1795608000, 1},
        {"2026-11-25T10:00:00-02:00", 1795608000, 1},
        {"2026-11-25 12:00:00Z", 0, 0},
        {"2026-13-25T12:00:00Z", 0, 0},
        {"2026-11-25T12:00:00", 0, 0},
        {"junk", 0, 0},
        {"", 0, 0},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        int64_t ns = 0;
        int rc = ctrl_time_parse(cases[i].s, &ns, NULL);

        ck_assert_msg((rc == 0) == cases[i].ok, "case %zu", i);
        if (cases[i].ok)
            ck_assert_int_eq(ns / 1000000000LL, cases[i].secs);
    }
    ck_assert_int_eq(ctrl_time_parse(NULL, &(int64_t){0}, NULL), -EINVAL);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("ctrl_gc");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, decision_by_which_owners_remain);
    tcase_add_test(tc, malformed_owner_references_are_errors);
    tcase_add_test(tc, controller_ref_and_built_ref);
    tcase_add_test(tc, claim_table);
    tcase_add_test(tc, adopt_and_release_patches_keep_other_references);
    tcase_add_test(tc, time_parse_forms);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
