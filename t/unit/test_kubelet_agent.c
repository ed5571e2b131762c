/* kubelet/: the pure pieces of the running agent: run ids, the grace
 * period of a deleted pod, when the node's conditions must be written,
 * and the agent refusing a bad configuration. */
#include "kubelet/kubelet.h"
#include "lib/loop.h"
#include "unit.h"

#include <errno.h>
#include <string.h>

START_TEST(run_id_round_trips)
{
    char id[128], uid[64], name[64];
    int attempt = 0;

    ck_assert_int_eq(
        kl_run_id_format("0b5c1d2e-1111-2222-3333-444455556666", "web-server", 12, id, sizeof(id)),
        0);
    ck_assert_str_eq(id, "0b5c1d2e-1111-2222-3333-444455556666_web-server_12");
    ck_assert(kl_run_id_parse(id, uid, sizeof(uid), name, sizeof(name), &attempt));
    ck_assert_str_eq(uid, "0b5c1d2e-1111-2222-3333-444455556666");
    ck_assert_str_eq(name, "web-server");
    ck_assert_int_eq(attempt, 12);
}
END_TEST

START_TEST(run_id_parse_refuses_other_shapes)
{
    static const char *const bad[] = {
        "",
        "plain",
        "uid_name",
        "uid_name_",
        "uid_name_0",
        "uid_name_-1",
        "uid_name_x",
        "_name_1",
        "uid__1",
        "uid_name_1x",
        "uid_name_ 1",
        "uid_name_+1",
        "seccomp-c50249881ac16798.bpf",
    };
    char uid[64], name[64];
    int attempt = 7;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(!kl_run_id_parse(bad[i], uid, sizeof(uid), name, sizeof(name), &attempt),
                      "'%s' parsed", bad[i]);
        ck_assert_int_eq(attempt, 7);
    }
}
END_TEST

START_TEST(run_id_parse_respects_buffer_sizes)
{
    char uid[4], name[64];
    int attempt;

    ck_assert(!kl_run_id_parse("abcd_web_1", uid, sizeof(uid), name, sizeof(name), &attempt));
    ck_assert(kl_run_id_parse("abc_web_1", uid, sizeof(uid), name, sizeof(name), &attempt));
    ck_assert_int_eq(kl_run_id_format("u", "n", 1, uid, 4), -1);
}
END_TEST

START_TEST(grace_period_table)
{
    static const struct {
        const char *pod;
        int64_t want_ms;
    } t[] = {
        {"{}", 30000},
        {"{\"spec\":{\"terminationGracePeriodSeconds\":5}}", 5000},
        {"{\"spec\":{\"terminationGracePeriodSeconds\":0}}", 0},
        {"{\"metadata\":{\"deletionGracePeriodSeconds\":2},"
         "\"spec\":{\"terminationGracePeriodSeconds\":60}}",
         2000},
        {"{\"spec\":{\"terminationGracePeriodSeconds\":-3}}", 30000},
        {"{\"spec\":{\"terminationGracePeriodSeconds\":\"5\"}}", 30000},
        {"{\"metadata\":{\"deletionGracePeriodSeconds\":null}}", 30000},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        json_t *pod = json_loads(t[i].pod, 0, NULL);
        ck_assert_ptr_nonnull(pod);
        ck_assert_msg(kl_pod_grace_ms(pod) == t[i].want_ms, "case %zu", i);
        json_decref(pod);
    }
    ck_assert_int_eq(kl_pod_grace_ms(NULL), 30000);
}
END_TEST

static json_t *
node_with(const char *conds)
{
    char text[512];
    json_t *n;

    snprintf(text, sizeof(text), "{\"status\":{\"conditions\":%s}}", conds);
    n = json_loads(text, 0, NULL);
    ck_assert_ptr_nonnull(n);
    return n;
}

START_TEST(node_conditions_changed_only_on_status)
{
    static const struct {
        const char *old, *new_;
        bool want;
    } t[] = {
        /* heartbeat and transition times alone are no change */
        {"[{\"type\":\"Ready\",\"status\":\"True\",\"lastHeartbeatTime\":\"a\"}]",
         "[{\"type\":\"Ready\",\"status\":\"True\",\"lastHeartbeatTime\":\"b\"}]", false},
        {"[{\"type\":\"Ready\",\"status\":\"True\"}]",
         "[{\"type\":\"Ready\",\"status\":\"False\"}]", true},
        {"[{\"type\":\"Ready\",\"status\":\"True\"},{\"type\":\"DiskPressure\",\"status\":"
         "\"False\"}]",
         "[{\"type\":\"DiskPressure\",\"status\":\"False\"},{\"type\":\"Ready\",\"status\":"
         "\"True\"}]",
         false},
        {"[{\"type\":\"Ready\",\"status\":\"True\"}]",
         "[{\"type\":\"Ready\",\"status\":\"True\"},{\"type\":\"PIDPressure\",\"status\":\"False\"}"
         "]",
         true},
        {"[]", "[{\"type\":\"Ready\",\"status\":\"True\"}]", true},
        {"null", "[]", false},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        json_t *o = node_with(t[i].old), *n = node_with(t[i].new_);
        ck_assert_msg(kl_node_conditions_changed(o, n) == t[i].want, "case %zu", i);
        json_decref(o);
        json_decref(n);
    }
    ck_assert(!kl_node_conditions_changed(NULL, NULL));
}
END_TEST

START_TEST(cri_log_records_to_lines)
{
    static const struct {
        const char *in;
        int64_t tail;
        const char *want;
        size_t n;
    } t[] = {
        {"2026-11-25T22:00:00.1Z stdout F hello\n2026-11-25T22:00:00.2Z stderr F world\n", -1,
         "hello\nworld\n", 2},
        {"t stdout P hel\nt stdout P l\nt stdout F o there\n", -1, "hello there\n", 1},
        {"t stdout P cut at the end", -1, "cut at the end\n", 1},
        {"garbage\nt stdout X x\nt stdout\n\nt stdout F ok\n", -1, "ok\n", 1},
        {"t stdout F a\nt stdout F b\nt stdout F c\n", 2, "b\nc\n", 2},
        {"t stdout F a\nt stdout F b\nt stdout F c\n", 0, "", 0},
        {"t stdout F a\nt stdout F b\n", 10, "a\nb\n", 2},
        {"t stdout F\nt stdout F \nt stdout F  two spaces\n", -1, "\n\n two spaces\n", 3},
        {"t stdout F no newline at the end", -1, "no newline at the end\n", 1},
        {"", -1, "", 0},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct sk_buf out = SK_BUF_INIT;
        size_t n = kl_cri_log_lines(t[i].in, strlen(t[i].in), t[i].tail, &out);

        ck_assert_msg(n == t[i].n, "case %zu: %zu lines", i, n);
        ck_assert_msg(strcmp(out.data ? out.data : "", t[i].want) == 0, "case %zu: '%s'", i,
                      out.data ? out.data : "");
        sk_buf_release(&out);
    }
}
END_TEST

START_TEST(agent_refuses_a_bad_cluster_cidr)
{
    char root[512];
    struct kl_agent_config cfg = {.server = "/nonexistent/api.sock",
                                  .node_name = "n1",
                                  .runtime_root = root,
                                  .image_root = root,
                                  .cgroup_root = "pods",
                                  .cluster_cidr = "10.244.0.1/16",
                                  .heartbeat_ms = 10000};
    struct kl_agent *a = NULL;
    struct sk_loop *loop;
    struct sk_err err;

    snprintf(root, sizeof(root), "%s/rt", unit_tmpdir());
    sk_err_init(&err);
    ck_assert_int_eq(sk_loop_new(&loop, &err), 0);
    ck_assert_int_lt(kl_agent_start(loop, &cfg, &a, &err), 0);
    ck_assert_ptr_null(a);
    ck_assert_msg(strstr(err.msg, "cluster-cidr") != NULL, "%s", err.msg);
    ck_assert_msg(strstr(err.msg, "agent 'n1'") != NULL, "%s", err.msg);
    sk_loop_free(loop);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("kubelet_agent");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, run_id_round_trips);
    tcase_add_test(tc, run_id_parse_refuses_other_shapes);
    tcase_add_test(tc, run_id_parse_respects_buffer_sizes);
    tcase_add_test(tc, grace_period_table);
    tcase_add_test(tc, node_conditions_changed_only_on_status);
    tcase_add_test(tc, cri_log_records_to_lines);
    tcase_add_test(tc, agent_refuses_a_bad_cluster_cidr);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
