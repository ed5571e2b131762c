/* ctrl: the ReplicaSet reconcile. */
#include "ctrl/ctrl.h"
#include "ctrl_fixture.h"
#include "unit.h"

#include <errno.h>

#define RS_UID "rs-uid-1"

static json_t *
rs(int replicas, int min_ready)
{
    return J("{'apiVersion':'apps/v1','kind':'ReplicaSet','metadata':{'name':'web',"
             "'namespace':'prod','uid':'" RS_UID "','generation':4},"
             "'spec':{'replicas':%d,'minReadySeconds':%d,'selector':{'matchLabels':{'app':'web'}},"
             "'template':{'metadata':{'labels':{'app':'web','tier':'fe'}},"
             "'spec':{'containers':[{'name':'c','image':'nginx'}]}}}}",
             replicas, min_ready);
}

struct podspec {
    const char *name;
    const char *owner; /* controller uid, NULL: orphan */
    const char *app;   /* label app */
    const char *phase;
    const char *node;
    int ready;
    int64_t ready_at; /* seconds after T0 */
    int restarts;
    int64_t created; /* seconds after T0 */
    int deleting;
};

static json_t *
pod(const struct podspec *p)
{
    json_t *v = J("{'apiVersion':'v1','kind':'Pod','metadata':{'name':'%s','namespace':'prod',"
                  "'uid':'uid-%s','labels':{'app':'%s','tier':'fe'},'creationTimestamp':'%s'},"
                  "'spec':{'nodeName':'%s'},'status':{'phase':'%s','conditions':[{'type':'Ready',"
                  "'status':'%s','lastTransitionTime':'%s'}],'containerStatuses':[{'name':'c',"
                  "'restartCount':%d}]}}",
                  p->name, p->name, p->app ? p->app : "web", at(p->created), p->node ? p->node : "",
                  p->phase ? p->phase : "Running", p->ready ? "True" : "False", at(p->ready_at),
                  p->restarts);

    if (p->owner)
        json_object_set_new(json_object_get(v, "metadata"), "ownerReferences",
                            J("[{'apiVersion':'apps/v1','kind':'ReplicaSet','name':'x','uid':'%s',"
                              "'controller':true}]",
                              p->owner));
    if (p->deleting)
        json_object_set_new(json_object_get(v, "metadata"), "deletionTimestamp",
                            json_string(at(0)));
    return v;
}

static json_t *
pods_of(const struct podspec *ps, size_t n)
{
    json_t *a = json_array();
    size_t i;

    for (i = 0; i < n; i++)
        json_array_append_new(a, pod(&ps[i]));
    return a;
}

static void
reconcile(json_t *r, json_t *pods, const struct ctrl_expectations *exp, int64_t now,
          struct ctrl_rs_decision *d)
{
    struct ctrl_rs_input in = {r, pods, exp, now, NULL, NULL};
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_msg(ctrl_rs_reconcile(&in, d, &err) == 0, "%s", err.msg);
}

static int64_t
status_int(const struct ctrl_rs_decision *d, const char *key)
{
    return json_integer_value(json_object_get(d->status, key));
}

START_TEST(scale_up_creates_from_template_with_controller_ref)
{
    json_t *r = rs(3, 0), *pods = json_array();
    struct ctrl_rs_decision d;

    reconcile(r, pods, NULL, T0, &d);
    ck_assert_str_eq(d.key, "prod/web");
    ck_assert_int_eq(d.create, 3);
    ck_assert_str_eq(json_string_value(sk_json_get(d.pod, "metadata.generateName")), "web-");
    ck_assert_str_eq(json_string_value(sk_json_get(d.pod, "metadata.namespace")), "prod");
    ck_assert_str_eq(json_string_value(sk_json_get(d.pod, "metadata.labels.tier")), "fe");
    ck_assert_str_eq(json_string_value(sk_json_get(d.pod, "metadata.ownerReferences[0].uid")),
                     RS_UID);
    ck_assert(json_is_true(sk_json_get(d.pod, "metadata.ownerReferences[0].controller")));
    ck_assert(json_is_true(sk_json_get(d.pod, "metadata.ownerReferences[0].blockOwnerDeletion")));
    ck_assert_str_eq(json_string_value(sk_json_get(d.pod, "metadata.ownerReferences[0].kind")),
                     "ReplicaSet");
    ck_assert_str_eq(json_string_value(sk_json_get(d.pod, "spec.containers[0].image")), "nginx");
    ck_assert_uint_eq(json_array_size(d.deletes), 0);
    ck_assert_int_eq(status_int(&d, "replicas"), 0);
    ck_assert_int_eq(status_int(&d, "observedGeneration"), 4);
    ck_assert(d.status_changed);
    ctrl_rs_decision_release(&d);
    json_decref(r);
    json_decref(pods);
}
END_TEST

START_TEST(longest_names_fit_the_key)
{
    json_t *r = rs(1, 0), *pods = json_array();
    struct ctrl_rs_decision d;
    char name[254], key[400];

    memset(name, 'n', 253);
    name[253] = '\0';
    sk_json_set(r, "metadata.name", json_string(name), NULL);
    reconcile(r, pods, NULL, T0, &d);
    snprintf(key, sizeof(key), "prod/%s", name);
    ck_assert_str_eq(d.key, key);
    ctrl_rs_decision_release(&d);
    json_decref(r);
    json_decref(pods);
}
END_TEST

START_TEST(burst_limits_creations_to_500_per_sync)
{
    json_t *r = rs(1200, 0), *pods = json_array();
    struct ctrl_rs_decision d;

    reconcile(r, pods, NULL, T0, &d);
    ck_assert_int_eq(d.create, CTRL_RS_BURST);
    ctrl_rs_decision_release(&d);
    json_decref(r);
    json_decref(pods);
}
END_TEST

START_TEST(scale_down_deletes_least_valuable_first)
{
    static const struct podspec ps[] = {
        {.name = "old-ready",
         .owner = RS_UID,
         .node = "n1",
         .ready = 1,
         .ready_at = -500,
         .created = -1000},
        {.name = "pending", .owner = RS_UID, .phase = "Pending", .node = "n1", .created = -900},
        {.name = "unassigned", .owner = RS_UID, .phase = "Pending", .created = -800},
        {.name = "new-ready",
         .owner = RS_UID,
         .node = "n1",
         .ready = 1,
         .ready_at = -10,
         .created = -700},
        {.name = "not-ready", .owner = RS_UID, .node = "n1", .created = -600},
    };
    json_t *r = rs(2, 0), *pods = pods_of(ps, 5);
    struct ctrl_rs_decision d;

    reconcile(r, pods, NULL, T0, &d);
    ck_assert_int_eq(d.create, 0);
    ck_assert_uint_eq(json_array_size(d.deletes), 3);
    ck_assert_str_eq(json_string_value(sk_json_get(d.deletes, "[0].metadata.name")), "unassigned");
    ck_assert_str_eq(json_string_value(sk_json_get(d.deletes, "[1].metadata.name")), "pending");
    ck_assert_str_eq(json_string_value(sk_json_get(d.deletes, "[2].metadata.name")), "not-ready");
    ck_assert_int_eq(status_int(&d, "replicas"), 5);
    ck_assert_int_eq(status_int(&d, "readyReplicas"), 2);
    ctrl_rs_decision_release(&d);
    json_decref(r);
    json_decref(pods);
}
END_TEST

START_TEST(deletion_ranking_follows_active_pods_order)
{
    /* Each row: two pods, the first must sort before (be deleted first). */
    static const struct {
        const char *why;
        struct podspec first, second;
    } cases[] = {
        {"unassigned before assigned",
         {.name = "a", .phase = "Running"},
         {.name = "b", .node = "n", .phase = "Running"}},
        {"pending before unknown",
         {.name = "b", .node = "n", .phase = "Pending"},
         {.name = "a", .node = "n", .phase = "Unknown"}},
        {"unknown before running",
         {.name = "b", .node = "n", .phase = "Unknown"},
         {.name = "a", .node = "n", .phase = "Running"}},
        {"not ready before ready",
         {.name = "b", .node = "n"},
         {.name = "a", .node = "n", .ready = 1}},
        {"ready for shorter time first",
         {.name = "b", .node = "n", .ready = 1, .ready_at = -5},
         {.name = "a", .node = "n", .ready = 1, .ready_at = -50}},
        {"more restarts first",
         {.name = "b", .node = "n", .restarts = 7},
         {.name = "a", .node = "n", .restarts = 1}},
        {"newer first",
         {.name = "b", .node = "n", .created = -1},
         {.name = "a", .node = "n", .created = -100}},
        {"then by name", {.name = "a", .node = "n"}, {.name = "b", .node = "n"}},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        json_t *a = json_array();

        json_array_append_new(a, pod(&cases[i].second));
        json_array_append_new(a, pod(&cases[i].first));
        ctrl_pods_sort_for_deletion(a);
        ck_assert_msg(
            !strcmp(json_string_value(sk_json_get(a, "[0].metadata.name")), cases[i].first.name),
            "%s", cases[i].why);
        json_decref(a);
    }
}
END_TEST

START_TEST(adopts_matching_orphans_and_releases_non_matching)
{
    static const struct podspec ps[] = {
        {.name = "orphan", .node = "n"},
        {.name = "mine-mismatch", .owner = RS_UID, .app = "other", .node = "n"},
        {.name = "foreign", .owner = "someone-else", .node = "n"},
        {.name = "orphan-dying", .node = "n", .deleting = 1},
        {.name = "orphan-other-app", .app = "db", .node = "n"},
    };
    json_t *r = rs(1, 0), *pods = pods_of(ps, 5);
    struct ctrl_rs_decision d;

    reconcile(r, pods, NULL, T0, &d);
    ck_assert_uint_eq(json_array_size(d.adopt), 1);
    ck_assert_str_eq(json_string_value(sk_json_get(d.adopt, "[0].pod.metadata.name")), "orphan");
    ck_assert_str_eq(
        json_string_value(sk_json_get(d.adopt, "[0].patch.metadata.ownerReferences[0].uid")),
        RS_UID);
    ck_assert_str_eq(json_string_value(sk_json_get(d.adopt, "[0].patch.metadata.uid")),
                     "uid-orphan");
    ck_assert_uint_eq(json_array_size(d.release), 1);
    ck_assert_str_eq(json_string_value(sk_json_get(d.release, "[0].pod.metadata.name")),
                     "mine-mismatch");
    ck_assert_uint_eq(json_array_size(sk_json_get(d.release, "[0].patch.metadata.ownerReferences")),
                      0);
    /* the adopted orphan counts: replicas 1 is met */
    ck_assert_int_eq(d.create, 0);
    ck_assert_uint_eq(json_array_size(d.deletes), 0);
    ck_assert_int_eq(status_int(&d, "replicas"), 1);
    ctrl_rs_decision_release(&d);

    /* a ReplicaSet being deleted adopts and releases nothing */
    json_object_set_new(json_object_get(r, "metadata"), "deletionTimestamp", json_string(at(0)));
    reconcile(r, pods, NULL, T0, &d);
    ck_assert_uint_eq(json_array_size(d.adopt), 0);
    ck_assert_uint_eq(json_array_size(d.release), 0);
    ck_assert_int_eq(d.create, 0);
    ctrl_rs_decision_release(&d);
    json_decref(r);
    json_decref(pods);
}
END_TEST

START_TEST(unsatisfied_expectations_block_creates_and_deletes)
{
    struct ctrl_expectations *e = ctrl_expectations_new();
    json_t *r = rs(3, 0), *pods = json_array();
    struct ctrl_rs_decision d;

    ctrl_expect_creations(e, "prod/web", 3, T0);
    reconcile(r, pods, e, T0 + NS_PER_S, &d);
    ck_assert(!d.satisfied);
    ck_assert_int_eq(d.create, 0);
    ck_assert_ptr_nonnull(d.status);
    ctrl_rs_decision_release(&d);
    /* after 5 minutes the expectations expire */
    reconcile(r, pods, e, T0 + CTRL_EXPECTATIONS_TTL_NS + NS_PER_S, &d);
    ck_assert(d.satisfied);
    ck_assert_int_eq(d.create, 3);
    ctrl_rs_decision_release(&d);
    ctrl_expectations_free(e);
    json_decref(r);
    json_decref(pods);
}
END_TEST

START_TEST(terminating_and_finished_pods_do_not_count)
{
    static const struct podspec ps[] = {
        {.name = "ok", .owner = RS_UID, .node = "n", .ready = 1},
        {.name = "dying", .owner = RS_UID, .node = "n", .ready = 1, .deleting = 1},
        {.name = "done", .owner = RS_UID, .node = "n", .phase = "Succeeded"},
        {.name = "failed", .owner = RS_UID, .node = "n", .phase = "Failed"},
    };
    json_t *r = rs(2, 0), *pods = pods_of(ps, 4);
    struct ctrl_rs_decision d;

    reconcile(r, pods, NULL, T0, &d);
    ck_assert_int_eq(d.create, 1);
    ck_assert_int_eq(status_int(&d, "replicas"), 1);
    ck_assert_int_eq(status_int(&d, "readyReplicas"), 1);
    ctrl_rs_decision_release(&d);
    json_decref(r);
    json_decref(pods);
}
END_TEST

START_TEST(status_counts_available_after_min_ready_seconds)
{
    static const struct podspec ps[] = {
        {.name = "long", .owner = RS_UID, .node = "n", .ready = 1, .ready_at = -60},
        {.name = "fresh", .owner = RS_UID, .node = "n", .ready = 1, .ready_at = -5},
        {.name = "unready", .owner = RS_UID, .app = "web", .node = "n"},
    };
    json_t *r = rs(3, 30), *pods = pods_of(ps, 3);
    struct ctrl_rs_decision d;

    json_object_del(sk_json_get(json_array_get(pods, 2), "metadata.labels"), "tier");
    reconcile(r, pods, NULL, T0, &d);
    ck_assert_int_eq(status_int(&d, "replicas"), 3);
    ck_assert_int_eq(status_int(&d, "fullyLabeledReplicas"), 2);
    ck_assert_int_eq(status_int(&d, "readyReplicas"), 2);
    ck_assert_int_eq(status_int(&d, "availableReplicas"), 1);
    ctrl_rs_decision_release(&d);
    /* 26 s later "fresh" has been ready for 31 s */
    reconcile(r, pods, NULL, T0 + 26 * NS_PER_S, &d);
    ck_assert_int_eq(status_int(&d, "availableReplicas"), 2);
    ctrl_rs_decision_release(&d);
    json_decref(r);
    json_decref(pods);
}
END_TEST

START_TEST(requeues_after_min_ready_seconds_when_ready_not_available)
{
    static const struct podspec ps[] = {
        {.name = "fresh", .owner = RS_UID, .node = "n", .ready = 1, .ready_at = -5},
    };
    json_t *r = rs(1, 30), *pods = pods_of(ps, 1);
    struct ctrl_rs_decision d;

    reconcile(r, pods, NULL, T0, &d);
    ck_assert_int_eq(d.requeue_after_ns, 30 * NS_PER_S);
    ctrl_rs_decision_release(&d);
    json_decref(r);
    json_decref(pods);
}
END_TEST

START_TEST(replica_failure_condition_set_and_cleared)
{
    json_t *r = rs(1, 0), *pods = json_array();
    struct ctrl_rs_input in = {r, pods, NULL, T0, "FailedCreate", "pods \"web-x\" is forbidden"};
    struct ctrl_rs_decision d;
    struct sk_err err;

    ck_assert_int_eq(ctrl_rs_reconcile(&in, &d, &err), 0);
    ck_assert_str_eq(json_string_value(sk_json_get(d.status, "conditions[0].type")),
                     "ReplicaFailure");
    ck_assert_str_eq(json_string_value(sk_json_get(d.status, "conditions[0].reason")),
                     "FailedCreate");
    ck_assert_str_eq(json_string_value(sk_json_get(d.status, "conditions[0].lastTransitionTime")),
                     at(0));
    json_object_set(r, "status", d.status);
    ctrl_rs_decision_release(&d);
    in.failure_reason = NULL;
    in.failure_message = NULL;
    ck_assert_int_eq(ctrl_rs_reconcile(&in, &d, &err), 0);
    ck_assert_ptr_null(json_object_get(d.status, "conditions"));
    ck_assert(d.status_changed);
    ctrl_rs_decision_release(&d);
    json_decref(r);
    json_decref(pods);
}
END_TEST

START_TEST(steady_state_changes_nothing)
{
    static const struct podspec ps[] = {
        {.name = "a", .owner = RS_UID, .node = "n", .ready = 1, .ready_at = -60},
    };
    json_t *r = rs(1, 0), *pods = pods_of(ps, 1);
    struct ctrl_rs_decision d;

    reconcile(r, pods, NULL, T0, &d);
    json_object_set(r, "status", d.status);
    ctrl_rs_decision_release(&d);
    reconcile(r, pods, NULL, T0, &d);
    ck_assert(!d.status_changed);
    ck_assert_int_eq(d.create, 0);
    ck_assert_uint_eq(json_array_size(d.deletes), 0);
    ck_assert_int_eq(d.requeue_after_ns, 0);
    ctrl_rs_decision_release(&d);
    json_decref(r);
    json_decref(pods);
}
END_TEST

START_TEST(hostile_input_names_the_field)
{
    static const struct {
        const char *path;
        const char *json; /* value stored at path, "DEL" deletes the member */
        const char *msg;
    } cases[] = {
        {"spec.replicas", "'3'", "replicaset 'prod/web': spec.replicas: must be an integer"},
        {"spec.replicas", "-1", "replicaset 'prod/web': spec.replicas: must be between 0"},
        {"spec.selector", "DEL", "replicaset 'prod/web': spec.selector: required"},
        {"spec.selector", "{}", "replicaset 'prod/web': spec.selector: must not be empty"},
        {"spec.selector", "{'matchLabels':{'app':7}}", "replicaset 'prod/web': spec.selector"},
        {"spec.template", "[]", "replicaset 'prod/web': spec.template: must be an object"},
        {"spec.minReadySeconds", "true", "replicaset 'prod/web': spec.minReadySeconds: must be"},
        {"metadata.name", "DEL", "replicaset: metadata.name: required"},
        {"metadata.generation", "'x'", "replicaset 'prod/web': metadata.generation: must be"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        json_t *r = rs(1, 0), *pods = json_array();
        struct ctrl_rs_input in = {r, pods, NULL, T0, NULL, NULL};
        struct ctrl_rs_decision d;
        struct sk_err err;
        char *dot = strrchr(cases[i].path, '.');
        char parent[64];

        snprintf(parent, sizeof(parent), "%.*s", (int)(dot - cases[i].path), cases[i].path);
        if (!strcmp(cases[i].json, "DEL"))
            json_object_del(sk_json_get(r, parent), dot + 1);
        else
            json_object_set_new(sk_json_get(r, parent), dot + 1, J("%s", cases[i].json));
        sk_err_init(&err);
        ck_assert_int_lt(ctrl_rs_reconcile(&in, &d, &err), 0);
        ck_assert_msg(!strncmp(err.msg, cases[i].msg, strlen(cases[i].msg)), "case %zu: %s", i,
                      err.msg);
        json_decref(r);
        json_decref(pods);
    }
}
END_TEST

START_TEST(hostile_pods_are_errors_not_crashes)
{
    const char *bad[] = {"{}", "[1]", "['x']", "[{'metadata':3}]", "null"};
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        json_t *r = rs(1, 0), *pods = J("%s", bad[i]);
        struct ctrl_rs_input in = {r, pods, NULL, T0, NULL, NULL};
        struct ctrl_rs_decision d;
        struct sk_err err;

        sk_err_init(&err);
        ck_assert_int_lt(ctrl_rs_reconcile(&in, &d, &err), 0);
        ck_assert_msg(strstr(err.msg, "pods") != NULL, "%s", err.msg);
        json_decref(r);
        json_decref(pods);
    }
}
END_TEST

START_TEST(odd_pod_fields_do_not_crash)
{
    /* wrong types inside pods are treated as absent */
    json_t *r = rs(2, 5),
           *pods = J("[{'metadata':{'name':'p','labels':{'app':'web'},'ownerReferences':7,"
                     "'creationTimestamp':12},'spec':{'nodeName':3},'status':{'phase':[],"
                     "'conditions':[{'type':'Ready','status':'True','lastTransitionTime':'junk'}],"
                     "'containerStatuses':'x'}},{'metadata':{'name':'q','labels':{'app':'web'}},"
                     "'status':{'conditions':{}}}]");
    struct ctrl_rs_decision d;

    reconcile(r, pods, NULL, T0, &d);
    ck_assert_uint_eq(json_array_size(d.adopt), 2);
    ck_assert_int_eq(status_int(&d, "readyReplicas"), 1);
    ck_assert_int_eq(status_int(&d, "availableReplicas"), 0);
    ctrl_rs_decision_release(&d);
    json_decref(r);
    json_decref(pods);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("ctrl_replicaset");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, scale_up_creates_from_template_with_controller_ref);
    tcase_add_test(tc, longest_names_fit_the_key);
    tcase_add_test(tc, burst_limits_creations_to_500_per_sync);
    tcase_add_test(tc, scale_down_deletes_least_valuable_first);
    tcase_add_test(tc, deletion_ranking_follows_active_pods_order);
    tcase_add_test(tc, adopts_matching_orphans_and_releases_non_matching);
    tcase_add_test(tc, unsatisfied_expectations_block_creates_and_deletes);
    tcase_add_test(tc, terminating_and_finished_pods_do_not_count);
    tcase_add_test(tc, status_counts_available_after_min_ready_seconds);
    tcase_add_test(tc, requeues_after_min_ready_seconds_when_ready_not_available);
    tcase_add_test(tc, replica_failure_condition_set_and_cleared);
    tcase_add_test(tc, steady_state_changes_nothing);
    tcase_add_test(tc, hostile_input_names_the_field);
    tcase_add_test(tc, hostile_pods_are_errors_not_crashes);
    tcase_add_test(tc, odd_pod_fields_do_not_crash);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
