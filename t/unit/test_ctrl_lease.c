/* ctrl: leader election's pure side (what a candidate does with the
 * Lease it read, the Lease it writes), the elector's lifecycle without
 * a server, and what the controllers' pod cache keeps of a pod. */
#include "ctrl/ctrl.h"
#include "ctrl_fixture.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "unit.h"

#include <errno.h>

#define S  NS_PER_S
#define MS (NS_PER_S / 1000)

START_TEST(decide_follows_the_holder_and_the_observed_age)
{
    static const struct {
        const char *lease; /* NULL: absent */
        int64_t observed_ns, now_ns;
        enum ctrl_lease_step want;
    } cases[] = {
        {NULL, 0, 0, CTRL_LEASE_CREATE},
        /* ours: renew, however old */
        {"{'spec':{'holderIdentity':'me','leaseDurationSeconds':15}}", 0, 100 * S,
         CTRL_LEASE_RENEW},
        /* another's, seen changing 14.999 s ago: still valid */
        {"{'spec':{'holderIdentity':'other','leaseDurationSeconds':15}}", 1 * S, 16 * S - 1 * MS,
         CTRL_LEASE_WAIT},
        /* unchanged for the whole duration: expired */
        {"{'spec':{'holderIdentity':'other','leaseDurationSeconds':15}}", 1 * S, 16 * S,
         CTRL_LEASE_TAKE},
        /* the holder's duration counts, not ours */
        {"{'spec':{'holderIdentity':'other','leaseDurationSeconds':2}}", 0, 2 * S, CTRL_LEASE_TAKE},
        /* no or junk duration: the default (10 s here) */
        {"{'spec':{'holderIdentity':'other'}}", 0, 9 * S, CTRL_LEASE_WAIT},
        {"{'spec':{'holderIdentity':'other','leaseDurationSeconds':'x'}}", 0, 10 * S,
         CTRL_LEASE_TAKE},
        {"{'spec':{'holderIdentity':'other','leaseDurationSeconds':-5}}", 0, 9 * S,
         CTRL_LEASE_WAIT},
        /* released (empty holder) or never held: take it at once */
        {"{'spec':{'holderIdentity':'','leaseDurationSeconds':15}}", 0, 0, CTRL_LEASE_TAKE},
        {"{'spec':{}}", 0, 0, CTRL_LEASE_TAKE},
        {"{}", 0, 0, CTRL_LEASE_TAKE},
        /* a holder that is not a string is nobody */
        {"{'spec':{'holderIdentity':7}}", 0, 0, CTRL_LEASE_TAKE},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        json_t *lease = cases[i].lease ? J("%s", cases[i].lease) : NULL;

        ck_assert_msg(ctrl_lease_decide(lease, "me", cases[i].observed_ns, cases[i].now_ns,
                                        10 * S) == cases[i].want,
                      "case %zu", i);
        json_decref(lease);
    }
}
END_TEST

START_TEST(build_creates_renews_and_takes_over)
{
    json_t *created, *renewed, *taken, *other;
    const json_t *spec;

    created = ctrl_lease_build(NULL, CTRL_LEASE_CREATE, "me", 15, T0);
    ck_assert_str_eq(json_string_value(json_object_get(created, "kind")), "Lease");
    ck_assert_str_eq(json_string_value(json_object_get(created, "apiVersion")),
                     "coordination.k8s.io/v1");
    ck_assert_str_eq(json_string_value(sk_json_get(created, "metadata.namespace")), "kube-system");
    ck_assert_str_eq(json_string_value(sk_json_get(created, "metadata.name")), "skiff-controllers");
    spec = json_object_get(created, "spec");
    ck_assert_str_eq(json_string_value(json_object_get(spec, "holderIdentity")), "me");
    ck_assert_int_eq(json_integer_value(json_object_get(spec, "leaseDurationSeconds")), 15);
    ck_assert_int_eq(json_integer_value(json_object_get(spec, "leaseTransitions")), 0);
    ck_assert_str_eq(json_string_value(json_object_get(spec, "acquireTime")),
                     "2026-11-25T12:00:00.000Z");
    ck_assert_str_eq(json_string_value(json_object_get(spec, "renewTime")),
                     "2026-11-25T12:00:00.000Z");

    /* renewing keeps acquireTime, the count and the resourceVersion */
    json_object_set_new(json_object_get(created, "metadata"), "resourceVersion", json_string("7"));
    renewed = ctrl_lease_build(created, CTRL_LEASE_RENEW, "me", 15, T0 + 2 * S);
    spec = json_object_get(renewed, "spec");
    ck_assert_str_eq(json_string_value(json_object_get(spec, "acquireTime")),
                     "2026-11-25T12:00:00.000Z");
    ck_assert_str_eq(json_string_value(json_object_get(spec, "renewTime")),
                     "2026-11-25T12:00:02.000Z");
    ck_assert_int_eq(json_integer_value(json_object_get(spec, "leaseTransitions")), 0);
    ck_assert_str_eq(json_string_value(sk_json_get(renewed, "metadata.resourceVersion")), "7");
    /* the input is never modified */
    ck_assert_str_eq(json_string_value(sk_json_get(created, "spec.renewTime")),
                     "2026-11-25T12:00:00.000Z");

    /* another takes over: a transition, a new acquireTime, its duration */
    taken = ctrl_lease_build(renewed, CTRL_LEASE_TAKE, "you", 3, T0 + 20 * S);
    spec = json_object_get(taken, "spec");
    ck_assert_str_eq(json_string_value(json_object_get(spec, "holderIdentity")), "you");
    ck_assert_int_eq(json_integer_value(json_object_get(spec, "leaseTransitions")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(spec, "leaseDurationSeconds")), 3);
    ck_assert_str_eq(json_string_value(json_object_get(spec, "acquireTime")),
                     "2026-11-25T12:00:20.000Z");
    ck_assert_str_eq(json_string_value(sk_json_get(taken, "metadata.resourceVersion")), "7");

    /* a released lease (empty holder) taken over is no transition; a
     * Lease without a spec gets one */
    other = J("{'metadata':{'name':'skiff-controllers'},'spec':{'holderIdentity':'',"
              "'leaseTransitions':4}}");
    json_decref(taken);
    taken = ctrl_lease_build(other, CTRL_LEASE_TAKE, "me", 15, T0);
    ck_assert_int_eq(json_integer_value(sk_json_get(taken, "spec.leaseTransitions")), 4);
    json_decref(taken);
    json_decref(other);
    other = J("{'metadata':{'name':'skiff-controllers'},'spec':[1]}");
    taken = ctrl_lease_build(other, CTRL_LEASE_TAKE, "me", 15, T0);
    ck_assert_str_eq(json_string_value(sk_json_get(taken, "spec.holderIdentity")), "me");

    json_decref(other);
    json_decref(taken);
    json_decref(renewed);
    json_decref(created);
}
END_TEST

static void
never_called(void *arg, int leading)
{
    (void)arg;
    (void)leading;
    ck_abort_msg("on_change called without a server");
}

START_TEST(elector_refuses_a_bad_configuration)
{
    struct ctrl_elector_config cfg = {.identity = "me"};
    struct ctrl_elector *e = (struct ctrl_elector *)1;
    struct sk_loop *loop;
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_eq(sk_loop_new(&loop, &err), 0);
    ck_assert_int_eq(ctrl_elector_start(loop, &cfg, &e, &err), -EINVAL);
    ck_assert_ptr_null(e);
    ck_assert_msg(strstr(err.msg, "no API server address"), "%s", err.msg);
    cfg.server = "/x.sock";
    cfg.identity = "";
    sk_err_init(&err);
    ck_assert_int_eq(ctrl_elector_start(loop, &cfg, &e, &err), -EINVAL);
    ck_assert_msg(strstr(err.msg, "no identity"), "%s", err.msg);
    ctrl_elector_free(NULL);
    ck_assert_int_eq(ctrl_elector_leading(NULL), 0);
    sk_loop_free(loop);
}
END_TEST

static void
count_done(void *arg)
{
    (*(int *)arg)++;
}

START_TEST(unreachable_server_never_leads_and_release_still_finishes)
{
    struct ctrl_elector_config cfg = {
        .identity = "me", .lease_ms = 1000, .on_change = never_called};
    struct ctrl_elector *e;
    struct sk_loop *loop;
    struct sk_err err;
    char path[512];
    int i, done = 0;

    sk_log_set_level(SK_LOG_ERROR); /* the "cannot reach" error is expected */
    snprintf(path, sizeof(path), "%s/nobody.sock", unit_tmpdir());
    cfg.server = path;
    sk_err_init(&err);
    ck_assert_int_eq(sk_loop_new(&loop, &err), 0);
    ck_assert_int_eq(ctrl_elector_start(loop, &cfg, &e, &err), 0);
    for (i = 0; i < 30; i++) /* several retry periods (133 ms) */
        sk_loop_run_once(loop, 20, NULL);
    ck_assert_int_eq(ctrl_elector_leading(e), 0);
    /* not leading: done runs from the loop, at once, never inside */
    ctrl_elector_release(e, count_done, &done);
    ck_assert_int_eq(done, 0);
    for (i = 0; i < 10 && !done; i++)
        sk_loop_run_once(loop, 10, NULL);
    ck_assert_int_eq(done, 1);
    ctrl_elector_free(e);
    for (i = 0; i < 5; i++)
        sk_loop_run_once(loop, 5, NULL);
    ck_assert_int_eq(done, 1);
    sk_loop_free(loop);
}
END_TEST

START_TEST(pod_cache_keeps_what_the_controllers_read)
{
    static const struct {
        const char *pod, *want;
    } cases[] = {
        /* metadata and status whole; of the spec what is read */
        {"{'kind':'Pod','metadata':{'name':'a','uid':'u','labels':{'x':'y'},"
         "'ownerReferences':[{'uid':'r','controller':true}]},"
         "'spec':{'nodeName':'n1','restartPolicy':'Never','hostname':'h','subdomain':'s',"
         "'tolerations':[{'key':'k','operator':'Exists'}],'dnsPolicy':'ClusterFirst',"
         "'schedulerName':'default-scheduler','volumes':[{'name':'v'}],"
         "'containers':[{'name':'c','image':'nginx','ports':[{'name':'http',"
         "'containerPort':80}],'resources':{'limits':{'cpu':'1'}},'env':[{'name':'A'}]},"
         "{'name':'d','image':'busybox'}]},"
         "'status':{'phase':'Running','podIP':'10.0.0.1','containerStatuses':"
         "[{'name':'c','restartCount':2,'image':'nginx'}]}}",
         "{'kind':'Pod','metadata':{'name':'a','uid':'u','labels':{'x':'y'},"
         "'ownerReferences':[{'uid':'r','controller':true}]},"
         "'spec':{'nodeName':'n1','restartPolicy':'Never','hostname':'h','subdomain':'s',"
         "'tolerations':[{'key':'k','operator':'Exists'}],"
         "'containers':[{'name':'c','ports':[{'name':'http','containerPort':80}]},"
         "{'name':'d'}]},"
         "'status':{'phase':'Running','podIP':'10.0.0.1','containerStatuses':"
         "[{'name':'c','restartCount':2,'image':'nginx'}]}}"},
        /* junk spec shapes are left alone or kept as they are */
        {"{'metadata':{'name':'a'}}", "{'metadata':{'name':'a'}}"},
        {"{'spec':[1]}", "{'spec':[1]}"},
        {"{'spec':{'containers':'x','nodeName':1,'x':2}}",
         "{'spec':{'containers':'x','nodeName':1}}"},
        {"{'spec':{'containers':[1,{'ports':7}]}}", "{'spec':{'containers':[{},{'ports':7}]}}"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        json_t *pod = J("%s", cases[i].pod), *want = J("%s", cases[i].want);
        char *got;

        ctrl_pod_slim(pod);
        got = json_dumps(pod, JSON_COMPACT | JSON_SORT_KEYS);
        ck_assert_msg(json_equal(pod, want), "case %zu: got %s", i, got);
        free(got);
        json_decref(pod);
        json_decref(want);
    }
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("ctrl_lease");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, decide_follows_the_holder_and_the_observed_age);
    tcase_add_test(tc, build_creates_renews_and_takes_over);
    tcase_add_test(tc, elector_refuses_a_bad_configuration);
    tcase_add_test(tc, unreachable_server_never_leads_and_release_still_finishes);
    tcase_add_test(tc, pod_cache_keeps_what_the_controllers_read);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
