/* ctrl: the Deployment reconcile, driven through a simulated world in
 * which the ReplicaSet reconcile manages the pods and the test decides
 * when pods start and turn ready. */
#include "ctrl/ctrl.h"
#include "ctrl_fixture.h"
#include "unit.h"

#include <errno.h>

#define D_UID "deploy-uid-1"

struct world {
    json_t *deploy;
    json_t *rss;  /* ReplicaSets */
    json_t *pods; /* pods */
    int64_t now;
    int serial;
    int graceful;       /* deleted pods linger one step as terminating */
    int ready_per_step; /* pods turned ready per step (-1: all) */
    uint32_t seed;      /* != 0: ready_per_step drawn from 0..3 each step */
    int64_t surge, unavail;
    int converged_once;    /* availability invariant checked from then on */
    const char *old_image; /* Recreate: no pod of it may overlap another */
    int violations;
};

static json_t *
deployment(int replicas, const char *surge, const char *unavail, const char *image)
{
    return J("{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web',"
             "'namespace':'prod','uid':'" D_UID "','generation':1},'spec':{'replicas':%d,"
             "'selector':{'matchLabels':{'app':'web'}},'strategy':{'type':'RollingUpdate',"
             "'rollingUpdate':{'maxSurge':%s,'maxUnavailable':%s}},'template':{'metadata':"
             "{'labels':{'app':'web'}},'spec':{'containers':[{'name':'c','image':'%s'}]}}}}",
             replicas, surge, unavail, image);
}

static void
world_init(struct world *w, json_t *deploy)
{
    memset(w, 0, sizeof(*w));
    w->deploy = deploy;
    w->rss = json_array();
    w->pods = json_array();
    w->now = T0;
    w->ready_per_step = -1;
}

static void
world_release(struct world *w)
{
    json_decref(w->deploy);
    json_decref(w->rss);
    json_decref(w->pods);
}

static int64_t
geti(const json_t *v, const char *path)
{
    return json_integer_value(sk_json_get(v, path));
}

static const char *
gets(const json_t *v, const char *path)
{
    const char *s = json_string_value(sk_json_get(v, path));

    return s ? s : "";
}

static long
find_by_name(json_t *arr, const char *name)
{
    json_t *v;
    size_t i;

    json_array_foreach (arr, i, v)
        if (!strcmp(gets(v, "metadata.name"), name))
            return (long)i;
    return -1;
}

static void
apply_patch(json_t *arr, const json_t *obj, const json_t *patch)
{
    long i = find_by_name(arr, gets(obj, "metadata.name"));

    ck_assert_int_ge(i, 0);
    json_object_set(json_object_get(json_array_get(arr, i), "metadata"), "ownerReferences",
                    sk_json_get(patch, "metadata.ownerReferences"));
}

static void
deploy_step(struct world *w)
{
    struct ctrl_deploy_input in = {w->deploy, w->rss, w->pods, w->now};
    struct ctrl_deploy_decision d;
    struct sk_err err;
    size_t i;

    sk_err_init(&err);
    ck_assert_msg(ctrl_deploy_reconcile(&in, &d, &err) == 0, "%s", err.msg);
    for (i = 0; i < d.nwrites; i++) {
        struct ctrl_rs_write *wr = &d.writes[i];
        long at_i = find_by_name(w->rss, gets(wr->obj, "metadata.name"));
        json_t *obj;

        switch (wr->op) {
        case CTRL_RS_CREATE:
            ck_assert_int_lt(at_i, 0);
            obj = json_deep_copy(wr->obj);
            sk_json_set(obj, "metadata.uid", json_sprintf("rs-uid-%d", ++w->serial), NULL);
            sk_json_set(obj, "metadata.creationTimestamp",
                        json_string(at((w->now - T0) / NS_PER_S)), NULL);
            sk_json_set(obj, "metadata.generation", json_integer(1), NULL);
            json_array_append_new(w->rss, obj);
            break;
        case CTRL_RS_UPDATE:
            ck_assert_int_ge(at_i, 0);
            obj = json_deep_copy(wr->obj);
            sk_json_set(obj, "metadata.generation",
                        json_integer(geti(obj, "metadata.generation") + 1), NULL);
            json_array_set_new(w->rss, at_i, obj);
            break;
        case CTRL_RS_DELETE:
            ck_assert_int_ge(at_i, 0);
            json_array_remove(w->rss, at_i);
            break;
        case CTRL_RS_ADOPT:
        case CTRL_RS_RELEASE:
            apply_patch(w->rss, wr->obj, wr->patch);
            break;
        }
    }
    if (d.annotations)
        json_object_set(json_object_get(w->deploy, "metadata"), "annotations", d.annotations);
    json_object_set(w->deploy, "status", d.status);
    ctrl_deploy_decision_release(&d);
}

static void
pod_create(struct world *w, const json_t *tmpl)
{
    json_t *p = json_deep_copy(tmpl);

    w->serial++;
    sk_json_set(p, "metadata.name",
                json_sprintf("%s%d", gets(p, "metadata.generateName"), w->serial), NULL);
    sk_json_set(p, "metadata.uid", json_sprintf("pod-uid-%d", w->serial), NULL);
    sk_json_set(p, "metadata.creationTimestamp", json_string(at((w->now - T0) / NS_PER_S)), NULL);
    sk_json_set(p, "status", J("{'phase':'Pending'}"), NULL);
    json_array_append_new(w->pods, p);
}

static void
pod_delete(struct world *w, const char *name)
{
    long i = find_by_name(w->pods, name);

    ck_assert_int_ge(i, 0);
    if (w->graceful)
        sk_json_set(json_array_get(w->pods, i), "metadata.deletionTimestamp",
                    json_string(at((w->now - T0) / NS_PER_S)), NULL);
    else
        json_array_remove(w->pods, i);
}

/* One ReplicaSet sync, then a second one for a fresh status (the one the
 * informer triggers on the pods' events). */
static void
rs_sync(struct world *w, size_t idx)
{
    int round;

    for (round = 0; round < 2; round++) {
        json_t *rs = json_array_get(w->rss, idx);
        struct ctrl_rs_input in = {rs, w->pods, NULL, w->now, NULL, NULL};
        struct ctrl_rs_decision d;
        struct sk_err err;
        json_t *v;
        size_t i;

        sk_err_init(&err);
        ck_assert_msg(ctrl_rs_reconcile(&in, &d, &err) == 0, "%s", err.msg);
        json_array_foreach (d.adopt, i, v)
            apply_patch(w->pods, json_object_get(v, "pod"), json_object_get(v, "patch"));
        for (i = 0; i < (size_t)d.create; i++)
            pod_create(w, d.pod);
        json_array_foreach (d.deletes, i, v)
            pod_delete(w, gets(v, "metadata.name"));
        json_object_set(rs, "status", d.status);
        ctrl_rs_decision_release(&d);
    }
}

/* Terminating pods go away; pending pods start; some turn ready. */
static void
kubelet_step(struct world *w)
{
    int budget = w->ready_per_step;

    if (w->seed) {
        w->seed = w->seed * 1103515245u + 12345u;
        budget = (int)((w->seed >> 16) % 4);
    }
    size_t i = 0;

    while (i < json_array_size(w->pods)) {
        json_t *p = json_array_get(w->pods, i);

        if (sk_json_get(p, "metadata.deletionTimestamp")) {
            json_array_remove(w->pods, i);
            continue;
        }
        if (!strcmp(gets(p, "status.phase"), "Pending")) {
            sk_json_set(p, "spec.nodeName", json_string("node-1"), NULL);
            sk_json_set(p, "status.phase", json_string("Running"), NULL);
        } else if (!geti(p, "status.ready") && budget != 0) {
            sk_json_set(p, "status.ready", json_integer(1), NULL);
            sk_json_set(p, "status.conditions",
                        J("[{'type':'Ready','status':'True','lastTransitionTime':'%s'}]",
                          at((w->now - T0) / NS_PER_S)),
                        NULL);
            if (budget > 0)
                budget--;
        }
        i++;
    }
}

static int64_t
count_pods(struct world *w, int ready_only)
{
    json_t *p;
    size_t i;
    int64_t n = 0;

    json_array_foreach (w->pods, i, p)
        if (!sk_json_get(p, "metadata.deletionTimestamp") &&
            (!ready_only || geti(p, "status.ready")) &&
            !strcmp(gets(p, "metadata.labels.app"), "web"))
            n++;
    return n;
}

static int64_t
sum_rs_replicas(struct world *w)
{
    json_t *rs;
    size_t i;
    int64_t n = 0;

    json_array_foreach (w->rss, i, rs)
        n += geti(rs, "spec.replicas");
    return n;
}

/* Surge: the ReplicaSets' sizes the controller asks for, at every step,
 * and the pods once the ReplicaSets acted (a scale-down is not done the
 * instant it is decided). Availability: at every point. */
enum { AFTER_DEPLOY, AFTER_RS, AFTER_STEP };

static void
check_invariants(struct world *w, int when)
{
    int64_t replicas = geti(w->deploy, "spec.replicas");

    if (when == AFTER_DEPLOY && sum_rs_replicas(w) > replicas + w->surge)
        w->violations++;
    if (when == AFTER_STEP && count_pods(w, 0) > replicas + w->surge)
        w->violations++;
    if (w->converged_once && count_pods(w, 1) < replicas - w->unavail)
        w->violations++;
    if (w->old_image) {
        json_t *p;
        size_t i;
        int old = 0, neu = 0;

        /* terminating pods count too: two versions never run together */
        json_array_foreach (w->pods, i, p) {
            if (!strcmp(gets(p, "spec.containers[0].image"), w->old_image))
                old++;
            else
                neu++;
        }
        if (old && neu)
            w->violations++;
    }
}

static void
step(struct world *w)
{
    size_t i;

    w->now += NS_PER_S;
    deploy_step(w);
    check_invariants(w, AFTER_DEPLOY);
    for (i = 0; i < json_array_size(w->rss); i++) {
        rs_sync(w, i);
        check_invariants(w, AFTER_RS);
    }
    kubelet_step(w);
    check_invariants(w, AFTER_STEP);
}

static const char *
condition_reason(struct world *w, const char *type)
{
    json_t *c;
    size_t i;

    json_array_foreach (sk_json_get(w->deploy, "status.conditions"), i, c)
        if (!strcmp(gets(c, "type"), type))
            return gets(c, "reason");
    return "";
}

static json_t *
status_condition(const json_t *status, const char *type)
{
    json_t *c;
    size_t i;

    json_array_foreach (json_object_get(status, "conditions"), i, c)
        if (!strcmp(gets(c, "type"), type))
            return c;
    return NULL;
}

static int
converged(struct world *w)
{
    const json_t *st = sk_json_get(w->deploy, "status");
    int64_t n = geti(w->deploy, "spec.replicas");

    return geti(st, "updatedReplicas") == n && geti(st, "replicas") == n &&
           geti(st, "availableReplicas") == n && count_pods(w, 0) == n && count_pods(w, 1) == n &&
           !strcmp(condition_reason(w, "Progressing"), "NewReplicaSetAvailable");
}

static int
run_until_converged(struct world *w, int max_steps)
{
    int i;

    for (i = 0; i < max_steps; i++) {
        step(w);
        if (converged(w)) {
            /* one more round must change nothing */
            step(w);
            w->converged_once = 1;
            return i + 1;
        }
    }
    return -1;
}

static void
set_image(struct world *w, const char *image)
{
    sk_json_set(w->deploy, "spec.template.spec.containers[0].image", json_string(image), NULL);
    sk_json_set(w->deploy, "metadata.generation",
                json_integer(geti(w->deploy, "metadata.generation") + 1), NULL);
}

static int64_t
rs_replicas_with_image(struct world *w, const char *image)
{
    json_t *rs;
    size_t i;

    json_array_foreach (w->rss, i, rs)
        if (!strcmp(gets(rs, "spec.template.spec.containers[0].image"), image))
            return geti(rs, "spec.replicas");
    return -1;
}

static const char *
rs_annotation_with_image(struct world *w, const char *image, const char *key)
{
    char path[128];
    json_t *rs;
    size_t i;

    snprintf(path, sizeof(path), "metadata.annotations[\"%s\"]", key);
    json_array_foreach (w->rss, i, rs)
        if (!strcmp(gets(rs, "spec.template.spec.containers[0].image"), image))
            return gets(rs, path);
    return "";
}

START_TEST(rolling_update_never_violates_surge_or_unavailable)
{
    static const struct {
        int replicas;
        const char *surge, *unavail;
        int64_t want_surge, want_unavail;
        int ready_per_step;
    } cases[] = {
        {10, "3", "2", 3, 2, -1},       {10, "3", "2", 3, 2, 1}, {10, "'25%'", "'25%'", 3, 2, 2},
        {10, "0", "1", 0, 1, 1},        {10, "1", "0", 1, 0, 1}, {5, "'10%'", "'10%'", 1, 0, 1},
        {3, "'0%'", "'10%'", 0, 1, -1}, {1, "1", "0", 1, 0, -1}, {7, "'100%'", "0", 7, 0, 3},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        struct world w;
        int n;

        world_init(&w, deployment(cases[i].replicas, cases[i].surge, cases[i].unavail, "v1"));
        w.surge = cases[i].want_surge;
        w.unavail = cases[i].want_unavail;
        n = run_until_converged(&w, 200);
        ck_assert_msg(n > 0, "case %zu: initial rollout did not converge", i);
        ck_assert_str_eq(gets(w.deploy, "metadata.annotations[\"" CTRL_ANN_REVISION "\"]"), "1");
        w.ready_per_step = cases[i].ready_per_step;
        set_image(&w, "v2");
        n = run_until_converged(&w, 200);
        ck_assert_msg(n > 0, "case %zu: update did not converge", i);
        ck_assert_msg(w.violations == 0, "case %zu: %d invariant violations", i, w.violations);
        ck_assert_int_eq(rs_replicas_with_image(&w, "v2"), cases[i].replicas);
        ck_assert_int_eq(rs_replicas_with_image(&w, "v1"), 0);
        ck_assert_str_eq(rs_annotation_with_image(&w, "v2", CTRL_ANN_REVISION), "2");
        ck_assert_str_eq(gets(w.deploy, "metadata.annotations[\"" CTRL_ANN_REVISION "\"]"), "2");
        ck_assert_int_eq(geti(w.deploy, "status.observedGeneration"), 2);
        ck_assert_int_eq(geti(w.deploy, "status.unavailableReplicas"), 0);
        ck_assert_str_eq(condition_reason(&w, "Available"), "MinimumReplicasAvailable");
        world_release(&w);
    }
}
END_TEST

/* Seeded worlds: random sizes and fenceposts, pods turning ready at a
 * random pace, and a second update arriving mid-rollout. */
START_TEST(random_rollouts_with_mid_rollout_updates_keep_invariants)
{
    static const char *surges[] = {"0", "1", "2", "'25%'", "'50%'"};
    static const char *unavails[] = {"0", "1", "'25%'", "'30%'"};
    uint32_t seed;

    for (seed = 1; seed <= 300; seed++) {
        uint32_t r = seed * 2654435761u;
        int replicas = 1 + (int)(r % 12), k;
        const char *su = surges[(r >> 8) % 5], *un = unavails[(r >> 12) % 4];
        struct world w;

        if (!strcmp(su, "0") && !strcmp(un, "0"))
            un = "1";
        world_init(&w, deployment(replicas, su, un, "v1"));
        ck_assert_int_eq(ctrl_deploy_fenceposts(w.deploy, replicas, &w.surge, &w.unavail, NULL), 0);
        if (w.unavail > replicas)
            w.unavail = replicas;
        w.graceful = (int)((r >> 16) & 1);
        ck_assert_msg(run_until_converged(&w, 100) > 0, "seed %u: initial", seed);
        w.seed = seed;
        set_image(&w, "v2");
        for (k = 0; k < (int)((r >> 20) % 6); k++)
            step(&w);
        set_image(&w, "v3");
        ck_assert_msg(run_until_converged(&w, 400) > 0, "seed %u: no convergence", seed);
        ck_assert_msg(w.violations == 0, "seed %u (%d, %s, %s): %d violations", seed, replicas, su,
                      un, w.violations);
        ck_assert_int_eq(rs_replicas_with_image(&w, "v3"), replicas);
        world_release(&w);
    }
}
END_TEST

START_TEST(scale_to_zero_mid_rollout_and_back)
{
    struct world w;

    world_init(&w, deployment(5, "2", "1", "v1"));
    w.surge = 2;
    w.unavail = 1;
    ck_assert_int_gt(run_until_converged(&w, 50), 0);
    w.ready_per_step = 0;
    set_image(&w, "v2");
    step(&w);
    step(&w);
    w.converged_once = 0;
    w.ready_per_step = -1;
    sk_json_set(w.deploy, "spec.replicas", json_integer(0), NULL);
    step(&w);
    ck_assert_int_eq(rs_replicas_with_image(&w, "v1"), 0);
    ck_assert_int_eq(rs_replicas_with_image(&w, "v2"), 0);
    ck_assert_int_gt(run_until_converged(&w, 50), 0);
    ck_assert_int_eq(count_pods(&w, 0), 0);
    w.converged_once = 0; /* scaling up starts from no available pod */
    sk_json_set(w.deploy, "spec.replicas", json_integer(3), NULL);
    ck_assert_int_gt(run_until_converged(&w, 50), 0);
    ck_assert_int_eq(rs_replicas_with_image(&w, "v2"), 3);
    ck_assert_int_eq(w.violations, 0);
    world_release(&w);
}
END_TEST

START_TEST(new_replicaset_is_named_by_template_hash_and_labelled)
{
    struct world w;
    char hash[CTRL_HASH_MAX], name[64];
    json_t *rs;

    world_init(&w, deployment(2, "1", "1", "v1"));
    step(&w);
    ck_assert_uint_eq(json_array_size(w.rss), 1);
    rs = json_array_get(w.rss, 0);
    ck_assert_int_eq(ctrl_pod_template_hash(sk_json_get(w.deploy, "spec.template"), -1, hash, NULL),
                     0);
    snprintf(name, sizeof(name), "web-%s", hash);
    ck_assert_str_eq(gets(rs, "metadata.name"), name);
    ck_assert_str_eq(gets(rs, "spec.selector.matchLabels[\"pod-template-hash\"]"), hash);
    ck_assert_str_eq(gets(rs, "spec.template.metadata.labels[\"pod-template-hash\"]"), hash);
    ck_assert_str_eq(gets(rs, "metadata.labels[\"pod-template-hash\"]"), hash);
    ck_assert_str_eq(gets(rs, "metadata.ownerReferences[0].uid"), D_UID);
    ck_assert_str_eq(gets(rs, "metadata.ownerReferences[0].kind"), "Deployment");
    ck_assert_str_eq(gets(rs, "metadata.annotations[\"" CTRL_ANN_DESIRED "\"]"), "2");
    ck_assert_str_eq(gets(rs, "metadata.annotations[\"" CTRL_ANN_MAX "\"]"), "3");
    ck_assert_str_eq(condition_reason(&w, "Progressing"), "NewReplicaSetCreated");
    world_release(&w);
}
END_TEST

START_TEST(recreate_waits_for_old_pods_to_be_gone)
{
    struct world w;

    world_init(&w, deployment(3, "1", "1", "v1"));
    sk_json_set(w.deploy, "spec.strategy", J("{'type':'Recreate'}"), NULL);
    w.graceful = 1;
    w.surge = 0;
    w.unavail = 3;
    ck_assert_int_gt(run_until_converged(&w, 50), 0);
    w.old_image = "v1";
    set_image(&w, "v2");
    ck_assert_int_gt(run_until_converged(&w, 50), 0);
    ck_assert_int_eq(w.violations, 0);
    ck_assert_int_eq(rs_replicas_with_image(&w, "v2"), 3);
    ck_assert_int_eq(rs_replicas_with_image(&w, "v1"), 0);
    world_release(&w);
}
END_TEST

START_TEST(scaling_mid_rollout_is_proportional)
{
    struct world w;
    int64_t a, b;

    world_init(&w, deployment(10, "3", "2", "v1"));
    w.surge = 3;
    w.unavail = 2;
    ck_assert_int_gt(run_until_converged(&w, 50), 0);
    w.ready_per_step = 0; /* the new pods never turn ready: stuck mid-way */
    set_image(&w, "v2");
    step(&w);
    step(&w);
    step(&w);
    a = rs_replicas_with_image(&w, "v1");
    b = rs_replicas_with_image(&w, "v2");
    ck_assert_int_eq(a, 8);
    ck_assert_int_eq(b, 5);
    /* scale 10 -> 20: the 10 extra pods (13 -> 23 with surge) are split
     * by the old sizes over max-replicas 13: v1 8*23/13=14, v2 5*23/13=9 */
    sk_json_set(w.deploy, "spec.replicas", json_integer(20), NULL);
    step(&w);
    a = rs_replicas_with_image(&w, "v1");
    b = rs_replicas_with_image(&w, "v2");
    ck_assert_int_eq(a + b, 23);
    ck_assert_int_eq(a, 14);
    ck_assert_int_eq(b, 9);
    ck_assert_str_eq(rs_annotation_with_image(&w, "v1", CTRL_ANN_DESIRED), "20");
    ck_assert_str_eq(rs_annotation_with_image(&w, "v2", CTRL_ANN_MAX), "23");
    /* and down to 4: 23 -> 7 allowed */
    sk_json_set(w.deploy, "spec.replicas", json_integer(4), NULL);
    step(&w);
    a = rs_replicas_with_image(&w, "v1");
    b = rs_replicas_with_image(&w, "v2");
    ck_assert_int_eq(a + b, 7);
    ck_assert_int_ge(a, 0);
    ck_assert_int_ge(b, 0);
    w.ready_per_step = -1;
    w.converged_once = 0;
    ck_assert_int_gt(run_until_converged(&w, 100), 0);
    ck_assert_int_eq(rs_replicas_with_image(&w, "v2"), 4);
    world_release(&w);
}
END_TEST

START_TEST(paused_deployment_scales_but_does_not_roll_out)
{
    struct world w;

    world_init(&w, deployment(4, "1", "1", "v1"));
    w.surge = 1;
    w.unavail = 1;
    ck_assert_int_gt(run_until_converged(&w, 50), 0);
    sk_json_set(w.deploy, "spec.paused", json_true(), NULL);
    step(&w);
    ck_assert_str_eq(condition_reason(&w, "Progressing"), "DeploymentPaused");
    /* scaling goes on while paused (new pods are not a rollout fault) */
    w.converged_once = 0;
    sk_json_set(w.deploy, "spec.replicas", json_integer(6), NULL);
    step(&w);
    step(&w);
    step(&w);
    ck_assert_int_eq(rs_replicas_with_image(&w, "v1"), 6);
    ck_assert_int_eq(count_pods(&w, 1), 6);
    w.converged_once = 1;
    set_image(&w, "v2");
    step(&w);
    step(&w);
    ck_assert_uint_eq(json_array_size(w.rss), 1);
    ck_assert_str_eq(condition_reason(&w, "Progressing"), "DeploymentPaused");
    sk_json_set(w.deploy, "spec.paused", json_false(), NULL);
    step(&w);
    ck_assert_uint_eq(json_array_size(w.rss), 2);
    ck_assert_int_gt(run_until_converged(&w, 100), 0);
    ck_assert_int_eq(rs_replicas_with_image(&w, "v2"), 6);
    ck_assert_int_eq(w.violations, 0);
    world_release(&w);
}
END_TEST

START_TEST(resume_sets_resumed_condition)
{
    struct world w;

    world_init(&w, deployment(4, "1", "1", "v1"));
    ck_assert_int_gt(run_until_converged(&w, 50), 0);
    /* stuck mid-rollout: the new pods never turn ready */
    w.ready_per_step = 0;
    set_image(&w, "v2");
    step(&w);
    step(&w);
    step(&w);
    sk_json_set(w.deploy, "spec.paused", json_true(), NULL);
    step(&w);
    ck_assert_str_eq(condition_reason(&w, "Progressing"), "DeploymentPaused");
    sk_json_set(w.deploy, "spec.paused", json_false(), NULL);
    step(&w);
    ck_assert_str_eq(condition_reason(&w, "Progressing"), "DeploymentResumed");
    w.ready_per_step = -1;
    ck_assert_int_gt(run_until_converged(&w, 50), 0);
    world_release(&w);
}
END_TEST

START_TEST(rollback_restores_an_old_template_as_a_new_revision)
{
    struct world w;
    json_t *tmpl = NULL;
    struct sk_err err;

    world_init(&w, deployment(3, "1", "1", "v1"));
    w.surge = 1;
    w.unavail = 1;
    ck_assert_int_gt(run_until_converged(&w, 50), 0);
    set_image(&w, "v2");
    ck_assert_int_gt(run_until_converged(&w, 100), 0);
    set_image(&w, "v3");
    ck_assert_int_gt(run_until_converged(&w, 100), 0);

    sk_err_init(&err);
    /* 0: the previous revision (2) */
    ck_assert_int_eq(ctrl_deployment_rollback(w.deploy, w.rss, 0, &tmpl, &err), 0);
    ck_assert_str_eq(gets(tmpl, "spec.containers[0].image"), "v2");
    ck_assert_ptr_null(sk_json_get(tmpl, "metadata.labels[\"pod-template-hash\"]"));
    json_decref(tmpl);
    ck_assert_int_eq(ctrl_deployment_rollback(w.deploy, w.rss, 1, &tmpl, &err), 0);
    ck_assert_str_eq(gets(tmpl, "spec.containers[0].image"), "v1");
    sk_json_set(w.deploy, "spec.template", tmpl, NULL);
    sk_json_set(w.deploy, "metadata.generation", json_integer(9), NULL);
    ck_assert_int_gt(run_until_converged(&w, 100), 0);
    /* the revision-1 ReplicaSet is reused and becomes revision 4 */
    ck_assert_uint_eq(json_array_size(w.rss), 3);
    ck_assert_str_eq(rs_annotation_with_image(&w, "v1", CTRL_ANN_REVISION), "4");
    ck_assert_str_eq(gets(w.deploy, "metadata.annotations[\"" CTRL_ANN_REVISION "\"]"), "4");
    ck_assert_int_eq(rs_replicas_with_image(&w, "v1"), 3);
    ck_assert_int_eq(w.violations, 0);

    ck_assert_int_eq(ctrl_deployment_rollback(w.deploy, w.rss, 4, &tmpl, &err), 1);
    json_decref(tmpl);
    ck_assert_int_eq(ctrl_deployment_rollback(w.deploy, w.rss, 1, &tmpl, &err), -ENOENT);
    ck_assert_str_eq(err.msg, "revision 1 not found");
    ck_assert_ptr_null(tmpl);
    ck_assert_int_eq(ctrl_deployment_rollback(w.deploy, w.rss, -2, &tmpl, &err), -EINVAL);
    world_release(&w);
}
END_TEST

START_TEST(rollback_without_history_fails)
{
    struct world w;
    json_t *tmpl;
    struct sk_err err;

    world_init(&w, deployment(1, "1", "1", "v1"));
    ck_assert_int_gt(run_until_converged(&w, 50), 0);
    sk_err_init(&err);
    ck_assert_int_eq(ctrl_deployment_rollback(w.deploy, w.rss, 0, &tmpl, &err), -ENOENT);
    ck_assert_str_eq(err.msg, "no rollout history found");
    world_release(&w);
}
END_TEST

START_TEST(history_beyond_limit_is_deleted_oldest_first)
{
    struct world w;
    char image[16];
    int i;

    world_init(&w, deployment(2, "1", "1", "v0"));
    sk_json_set(w.deploy, "spec.revisionHistoryLimit", json_integer(2), NULL);
    w.surge = 1;
    w.unavail = 1;
    ck_assert_int_gt(run_until_converged(&w, 50), 0);
    for (i = 1; i <= 5; i++) {
        snprintf(image, sizeof(image), "v%d", i);
        set_image(&w, image);
        ck_assert_int_gt(run_until_converged(&w, 100), 0);
    }
    /* the new one plus two old revisions: 4 and 5 remain with 6 */
    ck_assert_uint_eq(json_array_size(w.rss), 3);
    ck_assert_int_eq(rs_replicas_with_image(&w, "v0"), -1);
    ck_assert_int_eq(rs_replicas_with_image(&w, "v2"), -1);
    ck_assert_str_eq(rs_annotation_with_image(&w, "v3", CTRL_ANN_REVISION), "4");
    ck_assert_str_eq(rs_annotation_with_image(&w, "v4", CTRL_ANN_REVISION), "5");
    ck_assert_str_eq(rs_annotation_with_image(&w, "v5", CTRL_ANN_REVISION), "6");
    world_release(&w);
}
END_TEST

START_TEST(progress_deadline_exceeded_without_progress)
{
    struct world w;
    struct ctrl_deploy_input in;
    struct ctrl_deploy_decision d;
    struct sk_err err;
    int i;

    world_init(&w, deployment(2, "1", "0", "v1"));
    sk_json_set(w.deploy, "spec.progressDeadlineSeconds", json_integer(30), NULL);
    ck_assert_int_gt(run_until_converged(&w, 50), 0);
    ck_assert_str_eq(condition_reason(&w, "Progressing"), "NewReplicaSetAvailable");
    w.ready_per_step = 0;
    set_image(&w, "broken");
    for (i = 0; i < 5; i++)
        step(&w);
    ck_assert_str_eq(condition_reason(&w, "Progressing"), "ReplicaSetUpdated");
    /* the controller asks to look again when the deadline passes */
    in = (struct ctrl_deploy_input){w.deploy, w.rss, w.pods, w.now};
    sk_err_init(&err);
    ck_assert_int_eq(ctrl_deploy_reconcile(&in, &d, &err), 0);
    ck_assert_int_gt(d.requeue_after_ns, 20 * NS_PER_S);
    ck_assert_int_le(d.requeue_after_ns, 31 * NS_PER_S);
    ctrl_deploy_decision_release(&d);
    w.now += 31 * NS_PER_S;
    step(&w);
    ck_assert_str_eq(condition_reason(&w, "Progressing"), "ProgressDeadlineExceeded");
    ck_assert_str_eq(gets(w.deploy, "status.conditions[1].status"), "False");
    /* progress after the deadline does not clear it until the rollout ends */
    w.ready_per_step = -1;
    ck_assert_int_gt(run_until_converged(&w, 50), 0);
    ck_assert_str_eq(condition_reason(&w, "Progressing"), "NewReplicaSetAvailable");
    world_release(&w);
}
END_TEST

START_TEST(progress_condition_keeps_transition_time_while_progressing)
{
    struct world w;
    char first[64];
    json_t *c;
    size_t i;

    world_init(&w, deployment(6, "1", "1", "v1"));
    ck_assert_int_gt(run_until_converged(&w, 50), 0);
    w.ready_per_step = 1;
    set_image(&w, "v2");
    step(&w);
    step(&w);
    json_array_foreach (sk_json_get(w.deploy, "status.conditions"), i, c)
        if (!strcmp(gets(c, "type"), "Progressing"))
            snprintf(first, sizeof(first), "%s", gets(c, "lastTransitionTime"));
    for (i = 0; i < 4; i++)
        step(&w);
    json_array_foreach (sk_json_get(w.deploy, "status.conditions"), i, c) {
        if (strcmp(gets(c, "type"), "Progressing"))
            continue;
        ck_assert_str_eq(gets(c, "reason"), "ReplicaSetUpdated");
        ck_assert_str_eq(gets(c, "lastTransitionTime"), first);
        ck_assert_str_ne(gets(c, "lastUpdateTime"), first);
    }
    world_release(&w);
}
END_TEST

START_TEST(available_condition_follows_min_availability)
{
    struct world w;

    world_init(&w, deployment(4, "1", "1", "v1"));
    w.ready_per_step = 0;
    step(&w);
    step(&w);
    ck_assert_str_eq(condition_reason(&w, "Available"), "MinimumReplicasUnavailable");
    ck_assert_int_eq(geti(w.deploy, "status.unavailableReplicas"), 4);
    w.ready_per_step = 3;
    step(&w); /* the kubelet marks 3 pods ready */
    step(&w); /* the ReplicaSet reports them */
    step(&w); /* the Deployment sees them */
    ck_assert_str_eq(condition_reason(&w, "Available"), "MinimumReplicasAvailable");
    ck_assert_int_eq(geti(w.deploy, "status.unavailableReplicas"), 1);
    world_release(&w);
}
END_TEST

START_TEST(replica_failure_of_a_replicaset_shows_on_the_deployment)
{
    struct world w;
    struct ctrl_deploy_input in;
    struct ctrl_deploy_decision d;
    struct sk_err err;
    json_t *c;

    world_init(&w, deployment(2, "1", "1", "v1"));
    ck_assert_int_gt(run_until_converged(&w, 50), 0);
    sk_json_set(json_array_get(w.rss, 0), "status.conditions",
                J("[{'type':'ReplicaFailure','status':'True','reason':'FailedCreate',"
                  "'message':'quota exceeded'}]"),
                NULL);
    in = (struct ctrl_deploy_input){w.deploy, w.rss, w.pods, w.now};
    sk_err_init(&err);
    ck_assert_int_eq(ctrl_deploy_reconcile(&in, &d, &err), 0);
    c = status_condition(d.status, "ReplicaFailure");
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(gets(c, "reason"), "FailedCreate");
    ck_assert_str_eq(gets(c, "message"), "quota exceeded");
    ck_assert(d.status_changed);
    ctrl_deploy_decision_release(&d);
    /* gone from the ReplicaSet: gone from the Deployment */
    json_object_del(sk_json_get(json_array_get(w.rss, 0), "status"), "conditions");
    step(&w);
    ck_assert_str_eq(condition_reason(&w, "ReplicaFailure"), "");
    world_release(&w);
}
END_TEST

START_TEST(hash_is_stable_and_sensitive)
{
    json_t *a = J("{'metadata':{'labels':{'app':'web','x':'y'}},'spec':{'containers':[{'name':'c',"
                  "'image':'v1'}]}}");
    json_t *b = J("{'spec':{'containers':[{'image':'v1','name':'c'}]},'metadata':{'labels':{'x':"
                  "'y','app':'web'}}}");
    json_t *c = J("{'metadata':{'labels':{'app':'web','x':'y'}},'spec':{'containers':[{'name':'c',"
                  "'image':'v2'}]}}");
    char ha[CTRL_HASH_MAX], hb[CTRL_HASH_MAX], hc[CTRL_HASH_MAX], h1[CTRL_HASH_MAX];
    size_t i;

    ck_assert_int_eq(ctrl_pod_template_hash(a, -1, ha, NULL), 0);
    ck_assert_int_eq(ctrl_pod_template_hash(b, -1, hb, NULL), 0);
    ck_assert_int_eq(ctrl_pod_template_hash(c, -1, hc, NULL), 0);
    ck_assert_int_eq(ctrl_pod_template_hash(a, 1, h1, NULL), 0);
    ck_assert_str_eq(ha, hb);
    ck_assert_str_ne(ha, hc);
    ck_assert_str_ne(ha, h1);
    ck_assert_uint_gt(strlen(ha), 0);
    ck_assert_uint_le(strlen(ha), 10);
    for (i = 0; ha[i]; i++)
        ck_assert_ptr_nonnull(strchr("bcdfghjklmnpqrstvwxz2456789", ha[i]));
    /* pinned: the label of existing ReplicaSets must never change */
    json_decref(c);
    c = json_object();
    ck_assert_int_eq(ctrl_pod_template_hash(c, -1, h1, NULL), 0);
    ck_assert_str_eq(h1, "5859f96865"); /* FNV-32a("{}") = 1415952421 */
    json_decref(c);
    c = json_array();
    ck_assert_int_eq(ctrl_pod_template_hash(c, -1, h1, NULL), -EINVAL);
    json_decref(a);
    json_decref(b);
    json_decref(c);
}
END_TEST

START_TEST(name_collision_bumps_collision_count)
{
    struct world w;
    char hash[CTRL_HASH_MAX];
    json_t *squatter;

    world_init(&w, deployment(1, "1", "1", "v1"));
    ck_assert_int_eq(ctrl_pod_template_hash(sk_json_get(w.deploy, "spec.template"), -1, hash, NULL),
                     0);
    /* someone else's ReplicaSet already holds the name */
    squatter = J("{'metadata':{'name':'web-%s','namespace':'prod','uid':'other',"
                 "'labels':{'app':'other'}},'spec':{'replicas':0,'selector':{'matchLabels':"
                 "{'app':'other'}},'template':{'metadata':{'labels':{'app':'other'}}}}}",
                 hash);
    json_array_append_new(w.rss, squatter);
    step(&w);
    ck_assert_int_eq(geti(w.deploy, "status.collisionCount"), 1);
    ck_assert_uint_eq(json_array_size(w.rss), 1);
    ck_assert_int_gt(run_until_converged(&w, 50), 0);
    ck_assert_uint_eq(json_array_size(w.rss), 2);
    world_release(&w);
}
END_TEST

START_TEST(orphan_replicasets_are_adopted_and_mismatching_released)
{
    struct world w;
    json_t *orphan, *stray;

    world_init(&w, deployment(2, "1", "1", "v1"));
    orphan = J("{'metadata':{'name':'web-old','namespace':'prod','uid':'o1','labels':"
               "{'app':'web'},'annotations':{'" CTRL_ANN_REVISION "':'1'}},'spec':{'replicas':2,"
               "'selector':{'matchLabels':{'app':'web'}},'template':{'metadata':{'labels':"
               "{'app':'web'}},'spec':{'containers':[{'name':'c','image':'v1'}]}}}}");
    stray = J("{'metadata':{'name':'db','namespace':'prod','uid':'s1','labels':{'app':'db'},"
              "'ownerReferences':[{'uid':'" D_UID "','controller':true,'kind':'Deployment',"
              "'name':'web','apiVersion':'apps/v1'}]},'spec':{'replicas':1,'selector':"
              "{'matchLabels':{'app':'db'}},'template':{'metadata':{'labels':{'app':'db'}}}}}");
    json_array_append_new(w.rss, orphan);
    json_array_append_new(w.rss, stray);
    ck_assert_int_gt(run_until_converged(&w, 50), 0);
    /* the orphan with the same template became the new ReplicaSet */
    ck_assert_uint_eq(json_array_size(w.rss), 2);
    ck_assert_str_eq(gets(json_array_get(w.rss, 0), "metadata.ownerReferences[0].uid"), D_UID);
    ck_assert_uint_eq(
        json_array_size(sk_json_get(json_array_get(w.rss, 1), "metadata.ownerReferences")), 0);
    world_release(&w);
}
END_TEST

START_TEST(fenceposts_round_surge_up_and_unavailable_down)
{
    static const struct {
        const char *surge, *unavail; /* JSON, NULL: absent */
        int64_t replicas;
        int64_t want_surge, want_unavail;
        int rc;
    } cases[] = {
        {NULL, NULL, 10, 3, 2, 0},
        {"'25%'", "'25%'", 1, 1, 0, 0},
        {"'10%'", "'10%'", 9, 1, 0, 0},
        {"'0%'", "'10%'", 9, 0, 1, 0}, /* both resolve to 0: unavailable 1 */
        {"0", "'10%'", 5, 0, 1, 0},
        {"5", "3", 2, 5, 3, 0},
        {"'100%'", "'100%'", 3, 3, 3, 0},
        {"0", "0", 3, 0, 0, -EINVAL},
        {"'0%'", "0", 3, 0, 0, -EINVAL},
        {"'x'", "1", 3, 0, 0, -EINVAL},
        {"'150%'", "1", 3, 0, 0, -EINVAL},
        {"-1", "1", 3, 0, 0, -EINVAL},
        {"true", "1", 3, 0, 0, -EINVAL},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        json_t *d = J("{'spec':{'strategy':{'rollingUpdate':{}}}}");
        json_t *ru = sk_json_get(d, "spec.strategy.rollingUpdate");
        int64_t s = -1, u = -1;
        struct sk_err err;

        if (cases[i].surge)
            json_object_set_new(ru, "maxSurge", J("%s", cases[i].surge));
        if (cases[i].unavail)
            json_object_set_new(ru, "maxUnavailable", J("%s", cases[i].unavail));
        sk_err_init(&err);
        ck_assert_int_eq(ctrl_deploy_fenceposts(d, cases[i].replicas, &s, &u, &err), cases[i].rc);
        if (cases[i].rc == 0) {
            ck_assert_int_eq(s, cases[i].want_surge);
            ck_assert_int_eq(u, cases[i].want_unavail);
        } else {
            ck_assert_msg(strstr(err.msg, "spec.strategy.rollingUpdate.max"), "%s", err.msg);
        }
        json_decref(d);
    }
}
END_TEST

START_TEST(deleting_deployment_only_updates_status)
{
    struct world w;
    struct ctrl_deploy_input in;
    struct ctrl_deploy_decision d;
    struct sk_err err;

    world_init(&w, deployment(2, "1", "1", "v1"));
    ck_assert_int_gt(run_until_converged(&w, 50), 0);
    set_image(&w, "v2");
    sk_json_set(w.deploy, "metadata.deletionTimestamp", json_string(at(0)), NULL);
    in = (struct ctrl_deploy_input){w.deploy, w.rss, w.pods, w.now};
    ck_assert_int_eq(ctrl_deploy_reconcile(&in, &d, &err), 0);
    ck_assert_uint_eq(d.nwrites, 0);
    ck_assert_int_eq(json_integer_value(json_object_get(d.status, "observedGeneration")), 2);
    ctrl_deploy_decision_release(&d);
    world_release(&w);
}
END_TEST

START_TEST(hostile_input_names_the_field)
{
    static const struct {
        const char *path, *json, *msg;
    } cases[] = {
        {"spec.replicas", "'2'", "deployment 'prod/web': spec.replicas: must be an integer"},
        {"spec.selector", "{}", "deployment 'prod/web': spec.selector: must not be empty"},
        {"spec.template", "7", "deployment 'prod/web': spec.template: must be an object"},
        {"spec.strategy", "{'type':'Blue'}", "deployment 'prod/web': spec.strategy.type: 'Blue'"},
        {"spec.strategy", "{'rollingUpdate':{'maxSurge':0,'maxUnavailable':0}}",
         "deployment 'prod/web': spec.strategy.rollingUpdate.maxUnavailable: may not be 0"},
        {"spec.paused", "'yes'", "deployment 'prod/web': spec.paused: must be a boolean"},
        {"spec.template.metadata.labels", "'app=web'",
         "deployment 'prod/web': spec.template.metadata.labels: must be an object"},
        {"spec.revisionHistoryLimit", "-3", "deployment 'prod/web': spec.revisionHistoryLimit"},
        {"status", "{'collisionCount':'a'}", "deployment 'prod/web': status.collisionCount"},
        {"metadata", "{'namespace':'prod'}", "deployment: metadata.name: required"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        json_t *dp = deployment(2, "1", "1", "v1"), *rss = json_array();
        struct ctrl_deploy_input in = {dp, rss, NULL, T0};
        struct ctrl_deploy_decision d;
        struct sk_err err;

        sk_json_set(dp, cases[i].path, J("%s", cases[i].json), NULL);
        sk_err_init(&err);
        ck_assert_int_lt(ctrl_deploy_reconcile(&in, &d, &err), 0);
        ck_assert_msg(!strncmp(err.msg, cases[i].msg, strlen(cases[i].msg)), "case %zu: %s", i,
                      err.msg);
        ck_assert_ptr_null(d.writes);
        json_decref(dp);
        json_decref(rss);
    }
}
END_TEST

START_TEST(hostile_replicasets_are_errors_not_crashes)
{
    const char *bad[] = {
        "{}",
        "[3]",
        "[{'metadata':{'name':'x','labels':{'app':'web'}},'spec':{'replicas':'many'}}]",
        "[{'metadata':{'name':'x','labels':{'app':'web'}},'spec':{'replicas':1}}]",
        ("[{'metadata':{'name':'x','labels':{'app':'web'}},'spec':{'template':{}},"
         "'status':{'availableReplicas':-1}}]"),
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        json_t *dp = deployment(2, "1", "1", "v1"), *rss = J("%s", bad[i]);
        struct ctrl_deploy_input in = {dp, rss, NULL, T0};
        struct ctrl_deploy_decision d;
        struct sk_err err;

        sk_err_init(&err);
        ck_assert_int_lt(ctrl_deploy_reconcile(&in, &d, &err), 0);
        ck_assert_msg(strstr(err.msg, "deployment 'prod/web': ") == err.msg, "%s", err.msg);
        json_decref(dp);
        json_decref(rss);
    }
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("ctrl_deployment");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, rolling_update_never_violates_surge_or_unavailable);
    tcase_add_test(tc, random_rollouts_with_mid_rollout_updates_keep_invariants);
    tcase_add_test(tc, scale_to_zero_mid_rollout_and_back);
    tcase_add_test(tc, new_replicaset_is_named_by_template_hash_and_labelled);
    tcase_add_test(tc, recreate_waits_for_old_pods_to_be_gone);
    tcase_add_test(tc, scaling_mid_rollout_is_proportional);
    tcase_add_test(tc, paused_deployment_scales_but_does_not_roll_out);
    tcase_add_test(tc, resume_sets_resumed_condition);
    tcase_add_test(tc, rollback_restores_an_old_template_as_a_new_revision);
    tcase_add_test(tc, rollback_without_history_fails);
    tcase_add_test(tc, history_beyond_limit_is_deleted_oldest_first);
    tcase_add_test(tc, progress_deadline_exceeded_without_progress);
    tcase_add_test(tc, progress_condition_keeps_transition_time_while_progressing);
    tcase_add_test(tc, available_condition_follows_min_availability);
    tcase_add_test(tc, replica_failure_of_a_replicaset_shows_on_the_deployment);
    tcase_add_test(tc, hash_is_stable_and_sensitive);
    tcase_add_test(tc, name_collision_bumps_collision_count);
    tcase_add_test(tc, orphan_replicasets_are_adopted_and_mismatching_released);
    tcase_add_test(tc, fenceposts_round_surge_up_and_unavailable_down);
    tcase_add_test(tc, deleting_deployment_only_updates_status);
    tcase_add_test(tc, hostile_input_names_the_field);
    tcase_add_test(tc, hostile_replicasets_are_errors_not_crashes);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
