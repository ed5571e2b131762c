/* kubelet/status: phase, conditions, QoS, significant changes. */
#include "kubelet/kubelet.h"
#include "lib/alloc.h"
#include "lib/json.h"
#include "unit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static json_t *
J(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);

    if (!v)
        ck_abort_msg("bad test json: %s: %s", e.text, text);
    return v;
}

static json_t *
pod2(const char *policy, bool with_init)
{
    char *t = sk_asprintf(
        "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"restartPolicy\":\"%s\","
        "%s\"containers\":[{\"name\":\"a\",\"image\":\"img:1\"},"
        "{\"name\":\"b\",\"image\":\"img:2\"}]}}",
        policy, with_init ? "\"initContainers\":[{\"name\":\"i\",\"image\":\"x\"}]," : "");
    json_t *p = J(t);

    free(t);
    return p;
}

#define RUN                                                                                        \
    {                                                                                              \
        .state = KL_CTR_RUNNING                                                                    \
    }
#define WAIT                                                                                       \
    {                                                                                              \
        .state = KL_CTR_WAITING                                                                    \
    }
#define OK0                                                                                        \
    {                                                                                              \
        .state = KL_CTR_TERMINATED, .term = {.exit_code = 0 }                                      \
    }
#define ERR1                                                                                       \
    {                                                                                              \
        .state = KL_CTR_TERMINATED, .term = {.exit_code = 1 }                                      \
    }
#define BACKOFF1                                                                                   \
    {                                                                                              \
        .state = KL_CTR_WAITING, .has_last = 1, .last = {.exit_code = 1 }                          \
    }
#define NONE                                                                                       \
    {                                                                                              \
        .state = KL_CTR_UNKNOWN                                                                    \
    }

START_TEST(phase_follows_kubernetes_getphase)
{
    static const struct {
        const char *policy;
        struct kl_ctr_obs a, b;
        const char *want;
    } t[] = {
        {"Always", WAIT, WAIT, "Pending"},    {"Always", RUN, WAIT, "Pending"},
        {"Always", RUN, RUN, "Running"},      {"Always", RUN, OK0, "Running"},
        {"Always", OK0, OK0, "Running"}, /* they restart */
        {"Always", BACKOFF1, RUN, "Running"}, {"OnFailure", OK0, OK0, "Succeeded"},
        {"OnFailure", OK0, ERR1, "Running"},  {"OnFailure", OK0, BACKOFF1, "Running"},
        {"Never", OK0, OK0, "Succeeded"},     {"Never", OK0, ERR1, "Failed"},
        {"Never", RUN, ERR1, "Running"},      {"Never", NONE, RUN, "Pending"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        json_t *pod = pod2(t[i].policy, false);
        struct kl_ctr_obs obs[2] = {t[i].a, t[i].b};
        struct kl_status_in in = {.pod = pod, .ctrs = obs, .nctrs = 2};

        obs[0].name = "a";
        obs[1].name = "b";
        ck_assert_msg(strcmp(kl_status_phase(&in), t[i].want) == 0, "case %zu: %s, want %s", i,
                      kl_status_phase(&in), t[i].want);
        json_decref(pod);
    }
}
END_TEST

START_TEST(init_containers_gate_the_phase)
{
    static const struct {
        const char *policy;
        struct kl_ctr_obs init;
        const char *want;
    } t[] = {
        {"Always", RUN, "Pending"},  {"Always", NONE, "Pending"},
        {"Always", ERR1, "Pending"}, {"OnFailure", BACKOFF1, "Pending"},
        {"Never", ERR1, "Failed"},   {"Always", OK0, "Running"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        json_t *pod = pod2(t[i].policy, true);
        struct kl_ctr_obs init = t[i].init, obs[2] = {RUN, RUN};
        struct kl_status_in in = {
            .pod = pod, .init_ctrs = &init, .ninit = 1, .ctrs = obs, .nctrs = 2};

        init.name = "i";
        obs[0].name = "a";
        obs[1].name = "b";
        ck_assert_msg(strcmp(kl_status_phase(&in), t[i].want) == 0, "case %zu: %s", i,
                      kl_status_phase(&in));
        json_decref(pod);
    }
}
END_TEST

START_TEST(qos_class_table)
{
    static const struct {
        const char *ctrs, *want;
    } t[] = {
        {"[{\"name\":\"a\"}]", "BestEffort"},
        {"[{\"name\":\"a\",\"resources\":{\"requests\":{\"cpu\":\"0\"}}}]", "BestEffort"},
        {"[{\"name\":\"a\",\"resources\":{\"limits\":{\"cpu\":\"1\",\"memory\":\"1Gi\"}}}]",
         "Guaranteed"},
        {"[{\"name\":\"a\",\"resources\":{\"limits\":{\"cpu\":\"1\",\"memory\":\"1Gi\"},"
         "\"requests\":{\"cpu\":\"1000m\",\"memory\":\"1024Mi\"}}}]",
         "Guaranteed"},
        {"[{\"name\":\"a\",\"resources\":{\"limits\":{\"cpu\":\"1\",\"memory\":\"1Gi\"},"
         "\"requests\":{\"cpu\":\"500m\"}}}]",
         "Burstable"},
        {"[{\"name\":\"a\",\"resources\":{\"limits\":{\"cpu\":\"1\"}}}]", "Burstable"},
        {"[{\"name\":\"a\",\"resources\":{\"limits\":{\"cpu\":\"1\",\"memory\":\"1Gi\"}}},"
         "{\"name\":\"b\"}]",
         "Burstable"},
        {"[{\"name\":\"a\",\"resources\":{\"requests\":{\"memory\":\"10Mi\"}}}]", "Burstable"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        char *txt = sk_asprintf("{\"spec\":{\"containers\":%s}}", t[i].ctrs);
        json_t *pod = J(txt);
        const char *q = NULL;

        ck_assert_int_eq(kl_status_qos(pod, &q, NULL), 0);
        ck_assert_msg(strcmp(q, t[i].want) == 0, "case %zu: %s", i, q);
        json_decref(pod);
        free(txt);
    }
}
END_TEST

START_TEST(qos_bad_quantity_names_the_field)
{
    json_t *pod = J("{\"spec\":{\"containers\":[{\"name\":\"a\",\"resources\":{\"limits\":"
                    "{\"memory\":\"1 Gi\"}}}]}}");
    struct sk_err err;
    const char *q;

    sk_err_init(&err);
    ck_assert_int_lt(kl_status_qos(pod, &q, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "spec.containers[0].resources.limits.memory"));
    json_decref(pod);
}
END_TEST

static const json_t *
cond(const json_t *st, const char *type)
{
    size_t i;
    json_t *c;

    json_array_foreach (json_object_get(st, "conditions"), i, c) {
        if (strcmp(json_string_value(json_object_get(c, "type")), type) == 0)
            return c;
    }
    return NULL;
}

START_TEST(status_object_has_conditions_and_container_statuses)
{
    json_t *pod = pod2("Always", false), *st = NULL;
    struct kl_ctr_obs obs[2] = {
        {.name = "a",
         .state = KL_CTR_RUNNING,
         .started_at = "2026-01-01T00:00:00Z",
         .ready = true,
         .started = true,
         .container_id = "abc",
         .image_id = "sha256:1",
         .restart_count = 2,
         .has_last = 1,
         .last = {.exit_code = 137,
                  .signal = 9,
                  .reason = "OOMKilled",
                  .started_at = "2025-12-31T23:00:00Z",
                  .finished_at = "2025-12-31T23:59:00Z"}},
        {.name = "b",
         .state = KL_CTR_WAITING,
         .reason = "CrashLoopBackOff",
         .message = "back-off 10s restarting failed container=b pod=p_default(u)"},
    };
    struct kl_status_in in = {.pod = pod,
                              .ctrs = obs,
                              .nctrs = 2,
                              .pod_ip = "10.0.0.5",
                              .host_ip = "192.168.0.1",
                              .start_time = "2026-01-01T00:00:00Z",
                              .now = "2026-01-01T00:01:00Z"};
    const json_t *a, *b, *c;
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_eq(kl_status_build(&in, &st, &err), 0);
    ck_assert_str_eq(json_string_value(json_object_get(st, "phase")), "Pending");
    ck_assert_str_eq(json_string_value(json_object_get(st, "podIP")), "10.0.0.5");
    ck_assert_str_eq(json_string_value(sk_json_get(st, "podIPs[0].ip")), "10.0.0.5");
    ck_assert_str_eq(json_string_value(json_object_get(st, "qosClass")), "BestEffort");
    a = json_array_get(json_object_get(st, "containerStatuses"), 0);
    b = json_array_get(json_object_get(st, "containerStatuses"), 1);
    ck_assert_str_eq(json_string_value(json_object_get(a, "containerID")), "skiff://abc");
    ck_assert(json_is_true(json_object_get(a, "ready")));
    ck_assert_int_eq(json_integer_value(json_object_get(a, "restartCount")), 2);
    ck_assert_str_eq(json_string_value(json_object_get(a, "image")), "img:1");
    ck_assert_str_eq(json_string_value(sk_json_get(a, "lastState.terminated.reason")), "OOMKilled");
    ck_assert_int_eq(json_integer_value(sk_json_get(a, "lastState.terminated.signal")), 9);
    ck_assert_str_eq(json_string_value(sk_json_get(b, "state.waiting.reason")), "CrashLoopBackOff");
    c = cond(st, "Ready");
    ck_assert_str_eq(json_string_value(json_object_get(c, "status")), "False");
    ck_assert_str_eq(json_string_value(json_object_get(c, "message")),
                     "containers with unready status: [b]");
    ck_assert_str_eq(json_string_value(json_object_get(cond(st, "Initialized"), "status")), "True");
    ck_assert_str_eq(json_string_value(json_object_get(cond(st, "PodScheduled"), "status")),
                     "True");
    json_decref(st);
    json_decref(pod);
}
END_TEST

START_TEST(transition_time_kept_while_status_unchanged)
{
    json_t *pod = pod2("Always", false), *st1 = NULL, *st2 = NULL, *st3 = NULL;
    struct kl_ctr_obs obs[2] = {{.name = "a", .state = KL_CTR_RUNNING, .ready = true},
                                {.name = "b", .state = KL_CTR_RUNNING, .ready = true}};
    struct kl_status_in in = {.pod = pod, .ctrs = obs, .nctrs = 2, .now = "2026-01-01T00:00:00Z"};

    ck_assert_int_eq(kl_status_build(&in, &st1, NULL), 0);
    json_object_set(pod, "status", st1);
    in.now = "2026-01-01T00:05:00Z";
    ck_assert_int_eq(kl_status_build(&in, &st2, NULL), 0);
    ck_assert_str_eq(json_string_value(json_object_get(cond(st2, "Ready"), "lastTransitionTime")),
                     "2026-01-01T00:00:00Z");
    ck_assert(!kl_status_significant(st1, st2));
    obs[1].ready = false;
    ck_assert_int_eq(kl_status_build(&in, &st3, NULL), 0);
    ck_assert_str_eq(json_string_value(json_object_get(cond(st3, "Ready"), "lastTransitionTime")),
                     "2026-01-01T00:05:00Z");
    ck_assert(kl_status_significant(st2, st3));
    json_decref(st1);
    json_decref(st2);
    json_decref(st3);
    json_decref(pod);
}
END_TEST

START_TEST(significant_change_ignores_equal_instants_and_probe_times)
{
    static const struct {
        const char *a, *b;
        bool want;
    } t[] = {
        {"{\"phase\":\"Running\"}", "{\"phase\":\"Running\"}", false},
        {"{\"phase\":\"Running\"}", "{\"phase\":\"Pending\"}", true},
        {"{\"startTime\":\"2026-01-01T00:00:00Z\"}", "{\"startTime\":\"2026-01-01T00:00:00.000Z\"}",
         false},
        {"{\"startTime\":\"2026-01-01T01:00:00+01:00\"}",
         "{\"startTime\":\"2026-01-01T00:00:00Z\"}", false},
        {"{\"startTime\":\"2026-01-01T00:00:01Z\"}", "{\"startTime\":\"2026-01-01T00:00:00Z\"}",
         true},
        {"{\"conditions\":[{\"type\":\"Ready\",\"lastProbeTime\":\"2026-01-01T00:00:00Z\"}]}",
         "{\"conditions\":[{\"type\":\"Ready\",\"lastProbeTime\":null}]}", false},
        {"{\"conditions\":[{\"type\":\"Ready\"}]}", "{\"conditions\":[]}", true},
        {"{\"podIP\":null}", "{}", false},
        {"{}", "{\"podIP\":\"10.0.0.1\"}", true},
        {"{\"a\":[1,2]}", "{\"a\":[1,3]}", true},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        json_t *a = J(t[i].a), *b = J(t[i].b);
        ck_assert_msg(kl_status_significant(a, b) == t[i].want, "case %zu", i);
        json_decref(a);
        json_decref(b);
    }
}
END_TEST

START_TEST(hostile_status_input_is_an_error)
{
    static const char *const pods[] = {"{}", "{\"spec\":[]}", "{\"spec\":{\"containers\":{}}}",
                                       "{\"spec\":{\"containers\":[],\"initContainers\":7}}",
                                       "{\"spec\":{\"containers\":[7]}}"};
    for (size_t i = 0; i < sizeof(pods) / sizeof(pods[0]); i++) {
        json_t *pod = J(pods[i]), *st = NULL;
        struct kl_status_in in = {.pod = pod, .now = "2026-01-01T00:00:00Z"};
        struct sk_err err;

        sk_err_init(&err);
        ck_assert_msg(kl_status_build(&in, &st, &err) < 0, "case %zu", i);
        json_decref(pod);
    }
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("kubelet_status");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, phase_follows_kubernetes_getphase);
    tcase_add_test(tc, init_containers_gate_the_phase);
    tcase_add_test(tc, qos_class_table);
    tcase_add_test(tc, qos_bad_quantity_names_the_field);
    tcase_add_test(tc, status_object_has_conditions_and_container_statuses);
    tcase_add_test(tc, transition_time_kept_while_status_unchanged);
    tcase_add_test(tc, significant_change_ignores_equal_instants_and_probe_times);
    tcase_add_test(tc, hostile_status_input_is_an_error);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
