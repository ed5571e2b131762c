/* ctrl: the controller manager's pure helpers (status merge patches,
 * finalizer removal) and its lifecycle without a server: a bad
 * configuration is refused, an unreachable server is retried without
 * any sync running, and freeing mid-retry leaks nothing. */
#include "ctrl/ctrl.h"
#include "ctrl_fixture.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "unit.h"

#include <errno.h>

static int
json_eq_text(const json_t *v, const char *want)
{
    json_t *w = J("%s", want);
    int eq = json_equal(v, w);

    json_decref(w);
    return eq;
}

START_TEST(status_patch_nulls_what_only_the_old_status_has)
{
    static const struct {
        const char *old; /* NULL: absent */
        const char *new_st;
        const char *want;
    } cases[] = {
        {NULL, "{'replicas':3}", "{'replicas':3}"},
        {"{}", "{'replicas':3}", "{'replicas':3}"},
        {"{'replicas':3,'readyReplicas':2}", "{'replicas':1}",
         "{'replicas':1,'readyReplicas':null}"},
        {"{'conditions':[{'type':'A'}]}", "{'conditions':[]}", "{'conditions':[]}"},
        /* nested objects are replaced whole: the patch carries them */
        {"{'a':{'x':1,'y':2}}", "{'a':{'x':1}}", "{'a':{'x':1}}"},
        {"{'a':1}", "{}", "{'a':null}"},
        /* junk old status: just the new one */
        {"[1,2]", "{'b':2}", "{'b':2}"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        json_t *old = cases[i].old ? J("%s", cases[i].old) : NULL;
        json_t *nst = J("%s", cases[i].new_st);
        json_t *p = ctrl_merge_patch_top(old, nst);
        char *s = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);

        ck_assert_msg(json_eq_text(p, cases[i].want), "case %zu: got %s", i, s);
        free(s);
        json_decref(p);
        json_decref(old);
        json_decref(nst);
    }
    /* a non-object new status gives an empty patch, never a crash */
    {
        json_t *p = ctrl_merge_patch_top(NULL, json_null());

        ck_assert(json_is_object(p) && json_object_size(p) == 0);
        json_decref(p);
    }
}
END_TEST

START_TEST(finalizer_removal_keeps_the_others_and_ends_in_null)
{
    static const struct {
        const char *obj;
        const char *want;
    } cases[] = {
        {"{'metadata':{'finalizers':['foregroundDeletion']}}", "null"},
        {"{'metadata':{'finalizers':['a','foregroundDeletion','b']}}", "['a','b']"},
        {"{'metadata':{'finalizers':['a']}}", "['a']"},
        {"{'metadata':{}}", "null"},
        {"{}", "null"},
        /* twice the same finalizer: both go */
        {"{'metadata':{'finalizers':['orphan','orphan']}}", "null"},
        /* junk entries are kept as they are (not ours to judge) */
        {"{'metadata':{'finalizers':[1,'orphan']}}", "[1]"},
        {"{'metadata':{'finalizers':'orphan'}}", "null"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        json_t *obj = J("%s", cases[i].obj);
        const char *fin = strstr(cases[i].obj, "foreground") ? "foregroundDeletion" : "orphan";
        json_t *v = ctrl_finalizers_without(obj, fin);

        ck_assert_msg(json_eq_text(v, cases[i].want), "case %zu", i);
        json_decref(v);
        json_decref(obj);
    }
}
END_TEST

START_TEST(start_refuses_a_missing_server_address)
{
    struct ctrl_manager_config cfg = {0};
    struct ctrl_manager *m = (struct ctrl_manager *)1;
    struct sk_loop *loop;
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_eq(sk_loop_new(&loop, &err), 0);
    ck_assert_int_eq(ctrl_manager_start(loop, &cfg, &m, &err), -EINVAL);
    ck_assert_ptr_null(m);
    ck_assert_msg(strstr(err.msg, "no API server address"), "%s", err.msg);
    cfg.server = "";
    ck_assert_int_eq(ctrl_manager_start(loop, &cfg, &m, &err), -EINVAL);
    ctrl_manager_free(NULL);
    sk_loop_free(loop);
}
END_TEST

START_TEST(unreachable_server_means_no_sync_and_a_clean_free)
{
    struct ctrl_manager_config cfg = {.workers = 2, .resync_ms = 50};
    struct ctrl_manager_stats st;
    struct ctrl_manager *m;
    struct sk_loop *loop;
    struct sk_err err;
    char path[512];
    int i;

    sk_log_set_level(SK_LOG_ERROR); /* the informers' retries warn */
    snprintf(path, sizeof(path), "%s/nobody.sock", unit_tmpdir());
    cfg.server = path;
    sk_err_init(&err);
    ck_assert_int_eq(sk_loop_new(&loop, &err), 0);
    ck_assert_int_eq(ctrl_manager_start(loop, &cfg, &m, &err), 0);
    for (i = 0; i < 20; i++)
        sk_loop_run_once(loop, 10, NULL);
    ctrl_manager_stats(m, &st);
    ck_assert_int_eq(st.synced, 0);
    ck_assert_uint_eq(st.syncs, 0);
    ck_assert_uint_eq(st.writes, 0);
    ctrl_manager_free(m);
    /* nothing of the manager may fire after the free */
    for (i = 0; i < 5; i++)
        sk_loop_run_once(loop, 5, NULL);
    sk_loop_free(loop);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("ctrl_manager");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, status_patch_nulls_what_only_the_old_status_has);
    tcase_add_test(tc, finalizer_removal_keeps_the_others_and_ends_in_null);
    tcase_add_test(tc, start_refuses_a_missing_server_address);
    tcase_add_test(tc, unreachable_server_means_no_sync_and_a_clean_free);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
