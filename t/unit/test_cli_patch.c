/* skiff(1)'s pure decisions: merge patches for label/annotate and
 * rollback, taint arguments, drain's pod filter, rollout status. */
#include "api/cli_int.h"
#include "lib/json.h"
#include "unit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static json_t *
js(const char *text)
{
    json_t *v = NULL;

    ck_assert_int_eq(sk_json_parse(text, strlen(text), &v, NULL), 0);
    return v;
}

static void
assert_json(const json_t *got, const char *want)
{
    json_t *w = js(want);
    char *g = sk_json_dump_line(got);

    ck_assert_msg(json_equal(got, w), "got %s, want %s", g, want);
    free(g);
    json_decref(w);
}

/* ---- merge patch diff ---- */

static const struct {
    const char *from, *to, *patch;
} diffs[] = {
    {"{}", "{}", "{}"},
    {"{\"a\":1}", "{\"a\":1}", "{}"},
    {"{\"a\":1}", "{\"a\":2}", "{\"a\":2}"},
    {"{\"a\":1,\"b\":2}", "{\"a\":1}", "{\"b\":null}"},
    {"{\"m\":{\"x\":1,\"y\":2}}", "{\"m\":{\"x\":1,\"z\":3}}", "{\"m\":{\"y\":null,\"z\":3}}"},
    {"{\"l\":[1,2]}", "{\"l\":[1,3]}", "{\"l\":[1,3]}"},
    {"{\"o\":{\"a\":1}}", "{\"o\":\"s\"}", "{\"o\":\"s\"}"},
    {"{\"o\":\"s\"}", "{\"o\":{\"a\":1}}", "{\"o\":{\"a\":1}}"},
};

START_TEST(merge_patch_diff_table)
{
    json_t *from = js(diffs[_i].from), *to = js(diffs[_i].to);
    json_t *patch = cli_merge_patch_diff(from, to);

    assert_json(patch, diffs[_i].patch);
    json_decref(patch);
    json_decref(from);
    json_decref(to);
}
END_TEST

/* ---- label / annotate ---- */

static int
meta_patch(const char *obj_text, const char *field, const char *args_line, bool overwrite,
           json_t **patch, bool *changed, struct sk_buf *warn, struct sk_err *err)
{
    char buf[256], *args[8];
    json_t *obj = js(obj_text);
    int n = 0, rc;

    snprintf(buf, sizeof(buf), "%s", args_line);
    for (char *t = strtok(buf, " "); t && n < 8; t = strtok(NULL, " "))
        args[n++] = t;
    rc = cli_meta_patch_build(obj, field, n, args, overwrite, patch, changed, warn, err);
    json_decref(obj);
    return rc;
}

START_TEST(label_sets_and_removes)
{
    struct sk_buf warn = SK_BUF_INIT;
    json_t *patch;
    bool changed;

    ck_assert_int_eq(meta_patch("{\"metadata\":{\"labels\":{\"app\":\"web\",\"old\":\"x\"}}}",
                                "labels", "tier=front old- gone-", false, &patch, &changed, &warn,
                                NULL),
                     0);
    ck_assert(changed);
    assert_json(patch, "{\"metadata\":{\"labels\":{\"tier\":\"front\",\"old\":null}}}");
    ck_assert_str_eq(warn.data, "label \"gone\" not found.\n");
    json_decref(patch);
    sk_buf_release(&warn);
}
END_TEST

START_TEST(label_same_value_is_no_change)
{
    json_t *patch;
    bool changed;

    ck_assert_int_eq(meta_patch("{\"metadata\":{\"labels\":{\"app\":\"web\"}}}", "labels",
                                "app=web", false, &patch, &changed, NULL, NULL),
                     0);
    ck_assert(!changed);
    json_decref(patch);
}
END_TEST

START_TEST(label_change_needs_overwrite)
{
    struct sk_err err;
    json_t *patch;
    bool changed;

    sk_err_init(&err);
    ck_assert_int_eq(meta_patch("{\"metadata\":{\"labels\":{\"app\":\"web\"}}}", "labels", "app=db",
                                false, &patch, &changed, NULL, &err),
                     -EEXIST);
    ck_assert_str_eq(err.msg, "'app' already has a value (web), and --overwrite is false");
    ck_assert_ptr_null(patch);
    ck_assert_int_eq(meta_patch("{\"metadata\":{\"labels\":{\"app\":\"web\"}}}", "labels", "app=db",
                                true, &patch, &changed, NULL, &err),
                     0);
    assert_json(patch, "{\"metadata\":{\"labels\":{\"app\":\"db\"}}}");
    json_decref(patch);
}
END_TEST

START_TEST(annotation_values_keep_equals_signs)
{
    json_t *patch;
    bool changed;

    ck_assert_int_eq(meta_patch("{\"metadata\":{}}", "annotations", "note=a=b", false, &patch,
                                &changed, NULL, NULL),
                     0);
    assert_json(patch, "{\"metadata\":{\"annotations\":{\"note\":\"a=b\"}}}");
    json_decref(patch);
}
END_TEST

START_TEST(label_malformed_arguments)
{
    static const char *const bad[] = {"app", "=x", "-", ""};
    struct sk_err err;
    json_t *patch;
    bool changed;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sk_err_init(&err);
        ck_assert_int_eq(meta_patch("{}", "labels", bad[i], false, &patch, &changed, NULL, &err),
                         -EINVAL);
        ck_assert_ptr_null(patch);
    }
}
END_TEST

/* ---- taints ---- */

static int
taints(const char *have, const char *args_line, bool overwrite, json_t **out, int *added,
       int *removed, struct sk_err *err)
{
    char buf[256], *args[8];
    json_t *h = have ? js(have) : NULL;
    int n = 0, rc;

    snprintf(buf, sizeof(buf), "%s", args_line);
    for (char *t = strtok(buf, " "); t && n < 8; t = strtok(NULL, " "))
        args[n++] = t;
    rc = cli_taints_apply(h, n, args, overwrite, 1700000000, out, added, removed, err);
    json_decref(h);
    return rc;
}

START_TEST(taint_add_and_remove)
{
    json_t *out;
    int a, r;

    ck_assert_int_eq(
        taints(NULL, "dedicated=gpu:NoSchedule maint:NoExecute", false, &out, &a, &r, NULL), 0);
    ck_assert_int_eq(a, 2);
    ck_assert_int_eq(r, 0);
    assert_json(out, "[{\"key\":\"dedicated\",\"value\":\"gpu\",\"effect\":\"NoSchedule\"},"
                     "{\"key\":\"maint\",\"effect\":\"NoExecute\","
                     "\"timeAdded\":\"2023-11-14T22:13:20Z\"}]");
    json_decref(out);
    ck_assert_int_eq(taints("[{\"key\":\"a\",\"effect\":\"NoSchedule\"},"
                            "{\"key\":\"a\",\"effect\":\"NoExecute\"},"
                            "{\"key\":\"b\",\"effect\":\"NoSchedule\"}]",
                            "a:NoSchedule-", false, &out, &a, &r, NULL),
                     0);
    ck_assert_int_eq(r, 1);
    assert_json(out, "[{\"key\":\"a\",\"effect\":\"NoExecute\"},"
                     "{\"key\":\"b\",\"effect\":\"NoSchedule\"}]");
    json_decref(out);
    ck_assert_int_eq(taints("[{\"key\":\"a\",\"effect\":\"NoSchedule\"},"
                            "{\"key\":\"a\",\"effect\":\"NoExecute\"}]",
                            "a-", false, &out, &a, &r, NULL),
                     0);
    ck_assert_int_eq(r, 2);
    assert_json(out, "[]");
    json_decref(out);
}
END_TEST

START_TEST(taint_existing_needs_overwrite)
{
    struct sk_err err;
    json_t *out;
    int a, r;

    sk_err_init(&err);
    ck_assert_int_eq(taints("[{\"key\":\"a\",\"value\":\"1\",\"effect\":\"NoSchedule\"}]",
                            "a=2:NoSchedule", false, &out, &a, &r, &err),
                     -EEXIST);
    ck_assert_msg(strstr(err.msg, "--overwrite is false"), "got '%s'", err.msg);
    ck_assert_int_eq(taints("[{\"key\":\"a\",\"value\":\"1\",\"effect\":\"NoSchedule\"}]",
                            "a=2:NoSchedule", true, &out, &a, &r, &err),
                     0);
    assert_json(out, "[{\"key\":\"a\",\"value\":\"2\",\"effect\":\"NoSchedule\"}]");
    json_decref(out);
}
END_TEST

static const struct {
    const char *arg;
    int rc;
    const char *msg;
} bad_taints[] = {
    {"a=b", -EINVAL, "want key=value:Effect"},
    {"a=b:Sometimes", -EINVAL, "invalid taint effect 'Sometimes'"},
    {":NoSchedule", -EINVAL, "invalid taint key"},
    {"missing:NoSchedule-", -ENOENT, "taint \"missing:NoSchedule-\" not found"},
    {"missing-", -ENOENT, "not found"},
};

START_TEST(taint_malformed)
{
    struct sk_err err;
    json_t *out;
    int a, r;

    sk_err_init(&err);
    ck_assert_int_eq(taints("[]", bad_taints[_i].arg, false, &out, &a, &r, &err),
                     bad_taints[_i].rc);
    ck_assert_msg(strstr(err.msg, bad_taints[_i].msg), "got '%s'", err.msg);
    ck_assert_ptr_null(out);
}
END_TEST

/* ---- drain ---- */

static const struct {
    const char *pod;
    bool force, ignore_ds, emptydir;
    enum cli_drain_action want;
} drains[] = {
    {"{\"metadata\":{\"ownerReferences\":[{\"kind\":\"ReplicaSet\",\"controller\":true}]}}", false,
     false, false, CLI_DRAIN_DELETE},
    {"{\"metadata\":{}}", false, false, false, CLI_DRAIN_REFUSE},
    {"{\"metadata\":{}}", true, false, false, CLI_DRAIN_WARN_DEL},
    {"{\"metadata\":{},\"status\":{\"phase\":\"Succeeded\"}}", false, false, false,
     CLI_DRAIN_DELETE},
    {"{\"metadata\":{\"ownerReferences\":[{\"kind\":\"DaemonSet\",\"controller\":true}]}}", false,
     false, false, CLI_DRAIN_REFUSE},
    {"{\"metadata\":{\"ownerReferences\":[{\"kind\":\"DaemonSet\",\"controller\":true}]}}", false,
     true, false, CLI_DRAIN_SKIP},
    {"{\"metadata\":{\"annotations\":{\"kubernetes.io/config.mirror\":\"x\"}}}", false, false,
     false, CLI_DRAIN_SKIP},
    {"{\"metadata\":{\"ownerReferences\":[{\"kind\":\"ReplicaSet\",\"controller\":true}]},"
     "\"spec\":{\"volumes\":[{\"name\":\"s\",\"emptyDir\":{}}]}}",
     false, false, false, CLI_DRAIN_REFUSE},
    {"{\"metadata\":{\"ownerReferences\":[{\"kind\":\"ReplicaSet\",\"controller\":true}]},"
     "\"spec\":{\"volumes\":[{\"name\":\"s\",\"emptyDir\":{}}]}}",
     false, false, true, CLI_DRAIN_WARN_DEL},
    {"{\"metadata\":{\"ownerReferences\":[{\"kind\":\"ReplicaSet\"}]}}", false, false, false,
     CLI_DRAIN_REFUSE},
    {"[]", false, false, false, CLI_DRAIN_REFUSE},
};

START_TEST(drain_classify_table)
{
    json_t *pod = js(drains[_i].pod);
    char reason[160];

    ck_assert_int_eq(cli_drain_classify(pod, drains[_i].force, drains[_i].ignore_ds,
                                        drains[_i].emptydir, reason, sizeof(reason)),
                     drains[_i].want);
    if (drains[_i].want == CLI_DRAIN_REFUSE)
        ck_assert_msg(strstr(reason, "(use --"), "refusal names its flag: '%s'", reason);
    json_decref(pod);
}
END_TEST

/* ---- rollout ---- */

static const struct {
    const char *deploy;
    int want;
    const char *msg;
} rollouts[] = {
    {"{\"metadata\":{\"name\":\"web\",\"generation\":2},\"status\":{\"observedGeneration\":1}}", 0,
     "Waiting for deployment spec update to be observed..."},
    {"{\"metadata\":{\"name\":\"web\",\"generation\":2},\"spec\":{\"replicas\":3},"
     "\"status\":{\"observedGeneration\":2,\"updatedReplicas\":1,\"replicas\":3}}",
     0,
     "Waiting for deployment \"web\" rollout to finish: 1 out of 3 new replicas have been "
     "updated..."},
    {"{\"metadata\":{\"name\":\"web\",\"generation\":2},\"spec\":{\"replicas\":3},"
     "\"status\":{\"observedGeneration\":2,\"updatedReplicas\":3,\"replicas\":4}}",
     0,
     "Waiting for deployment \"web\" rollout to finish: 1 old replicas are pending "
     "termination..."},
    {"{\"metadata\":{\"name\":\"web\",\"generation\":2},\"spec\":{\"replicas\":3},"
     "\"status\":{\"observedGeneration\":2,\"updatedReplicas\":3,\"replicas\":3,"
     "\"availableReplicas\":2}}",
     0,
     "Waiting for deployment \"web\" rollout to finish: 2 of 3 updated replicas are "
     "available..."},
    {"{\"metadata\":{\"name\":\"web\",\"generation\":2},\"spec\":{\"replicas\":3},"
     "\"status\":{\"observedGeneration\":2,\"updatedReplicas\":3,\"replicas\":3,"
     "\"availableReplicas\":3}}",
     1, "deployment \"web\" successfully rolled out"},
    {"{\"metadata\":{\"name\":\"web\",\"generation\":1},\"spec\":{\"replicas\":1},"
     "\"status\":{\"observedGeneration\":1,\"conditions\":[{\"type\":\"Progressing\","
     "\"reason\":\"ProgressDeadlineExceeded\"}]}}",
     -1, "deployment \"web\" exceeded its progress deadline"},
    {"\"garbage\"", 0, "0 out of 1 new replicas"},
};

START_TEST(rollout_status_table)
{
    json_t *d = js(rollouts[_i].deploy);
    char msg[256];

    ck_assert_int_eq(cli_rollout_status_eval(d, msg, sizeof(msg)), rollouts[_i].want);
    ck_assert_msg(strstr(msg, rollouts[_i].msg), "got '%s'", msg);
    json_decref(d);
}
END_TEST

#define RS(name, rev, uid, image)                                                                  \
    "{\"kind\":\"ReplicaSet\",\"metadata\":{\"name\":\"" name "\",\"annotations\":{"               \
    "\"deployment.kubernetes.io/revision\":\"" rev "\"},\"ownerReferences\":[{\"uid\":\"" uid      \
    "\",\"controller\":true}]},\"spec\":{\"template\":{\"metadata\":{\"labels\":{\"app\":"         \
    "\"web\",\"pod-template-hash\":\"h" rev "\"}},\"spec\":{\"containers\":[{\"name\":\"c\","      \
    "\"image\":\"" image "\"}]}}}}"

START_TEST(rollback_picks_previous_or_given_revision)
{
    json_t *d = js("{\"metadata\":{\"name\":\"web\",\"uid\":\"u1\"}}");
    json_t *sets[] = {js(RS("web-3", "3", "u1", "v3")), js(RS("web-1", "1", "u1", "v1")),
                      js(RS("other", "9", "u2", "v9")), js(RS("web-2", "2", "u1", "v2"))};
    json_t *owned = cli_rs_owned(d, (const json_t *const *)sets, 4), *t;
    struct sk_err err;
    int64_t rev;

    ck_assert_uint_eq(json_array_size(owned), 3);
    ck_assert_int_eq(cli_rs_revision(json_array_get(owned, 0)), 1);
    ck_assert_int_eq(cli_rs_revision(json_array_get(owned, 2)), 3);
    t = cli_rollback_template(d, owned, 0, &rev, NULL);
    ck_assert_int_eq(rev, 2);
    assert_json(t, "{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":"
                   "[{\"name\":\"c\",\"image\":\"v2\"}]}}");
    json_decref(t);
    t = cli_rollback_template(d, owned, 1, &rev, NULL);
    ck_assert_int_eq(rev, 1);
    ck_assert_str_eq(json_string_value(sk_json_get(t, "spec.containers[0].image")), "v1");
    json_decref(t);
    sk_err_init(&err);
    ck_assert_ptr_null(cli_rollback_template(d, owned, 7, &rev, &err));
    ck_assert_str_eq(err.msg, "unable to find the specified revision 7");
    json_decref(owned);
    for (size_t i = 0; i < 4; i++)
        json_decref(sets[i]);
    json_decref(d);
}
END_TEST

START_TEST(rollback_without_history)
{
    json_t *d = js("{\"metadata\":{\"name\":\"web\",\"uid\":\"u1\"}}");
    json_t *one = js("[" RS("web-1", "1", "u1", "v1") "]");
    struct sk_err err;
    int64_t rev;

    sk_err_init(&err);
    ck_assert_ptr_null(cli_rollback_template(d, one, 0, &rev, &err));
    ck_assert_str_eq(err.msg, "no rollout history found for deployment \"web\"");
    ck_assert_int_eq(cli_rs_revision(d), -1);
    json_decref(one);
    json_decref(d);
}
END_TEST

static Suite *
suite(void)
{
    Suite *s = suite_create("cli_patch");
    TCase *tc = tcase_create("core");

    tcase_add_loop_test(tc, merge_patch_diff_table, 0, sizeof(diffs) / sizeof(diffs[0]));
    tcase_add_test(tc, label_sets_and_removes);
    tcase_add_test(tc, label_same_value_is_no_change);
    tcase_add_test(tc, label_change_needs_overwrite);
    tcase_add_test(tc, annotation_values_keep_equals_signs);
    tcase_add_test(tc, label_malformed_arguments);
    tcase_add_test(tc, taint_add_and_remove);
    tcase_add_test(tc, taint_existing_needs_overwrite);
    tcase_add_loop_test(tc, taint_malformed, 0, sizeof(bad_taints) / sizeof(bad_taints[0]));
    tcase_add_loop_test(tc, drain_classify_table, 0, sizeof(drains) / sizeof(drains[0]));
    tcase_add_loop_test(tc, rollout_status_table, 0, sizeof(rollouts) / sizeof(rollouts[0]));
    tcase_add_test(tc, rollback_picks_previous_or_given_revision);
    tcase_add_test(tc, rollback_without_history);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return unit_main(suite());
}
