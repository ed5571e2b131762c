/* kubelet/nodeinfo: meminfo parsing, allocatable, conditions, Node. */
#include "kubelet/kubelet.h"
#include "lib/json.h"
#include "unit.h"

#include <errno.h>
#include <string.h>

static const char meminfo[] = "MemTotal:       16314248 kB\n"
                              "MemFree:         1234567 kB\n"
                              "MemAvailable:    8000000 kB\n"
                              "Buffers:          100000 kB\n"
                              "Cached:          2000000 kB\n"
                              "HugePages_Total:       0\n";

START_TEST(meminfo_is_parsed_in_bytes)
{
    int64_t total, avail;

    ck_assert_int_eq(kl_meminfo_parse(meminfo, &total, &avail, NULL), 0);
    ck_assert_int_eq(total, 16314248LL * 1024);
    ck_assert_int_eq(avail, 8000000LL * 1024);
}
END_TEST

START_TEST(meminfo_without_available_estimates_free_plus_cached)
{
    int64_t total, avail;

    ck_assert_int_eq(
        kl_meminfo_parse("MemTotal: 100 kB\nMemFree: 10 kB\nCached: 5 kB\n", &total, &avail, NULL),
        0);
    ck_assert_int_eq(avail, 15 * 1024);
}
END_TEST

START_TEST(malformed_meminfo_is_an_error)
{
    static const char *const bad[] = {"",
                                      "MemFree: 1 kB\n",
                                      "MemTotal: lots\n",
                                      "MemTotal: -5 kB\n",
                                      "MemTotal: 99999999999999999999 kB\n",
                                      "MemTotal: 1 kB\nMemAvailable: x kB\n"};
    int64_t total, avail;
    struct sk_err err;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sk_err_init(&err);
        ck_assert_msg(kl_meminfo_parse(bad[i], &total, &avail, &err) < 0, "case %zu", i);
        ck_assert_ptr_nonnull(strstr(err.msg, "meminfo: Mem"));
    }
}
END_TEST

START_TEST(os_release_pretty_name)
{
    char out[64];

    kl_os_release_pretty("NAME=Debian\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n",
                         out, sizeof(out));
    ck_assert_str_eq(out, "Debian GNU/Linux 12 (bookworm)");
    kl_os_release_pretty("PRETTY_NAME=Alpine\n", out, sizeof(out));
    ck_assert_str_eq(out, "Alpine");
    kl_os_release_pretty("ID=x\n", out, sizeof(out));
    ck_assert_str_eq(out, "Linux");
}
END_TEST

static struct kl_node_facts
facts(void)
{
    struct kl_node_facts f;

    memset(&f, 0, sizeof(f));
    f.mem_total = 8LL << 30;
    f.mem_available = 4LL << 30;
    f.ncpu = 4;
    f.disk_total = 1000;
    f.disk_avail = 500;
    f.pid_max = 1000;
    f.pids = 100;
    strcpy(f.kernel, "6.1.0-test");
    strcpy(f.os_image, "Debian GNU/Linux 12 (bookworm)");
    strcpy(f.arch, "x86_64");
    strcpy(f.hostname, "node-1");
    return f;
}

START_TEST(allocatable_is_capacity_minus_reserved)
{
    struct kl_node_facts f = facts();
    struct kl_node_config c;
    int64_t cpu, mem, pods;

    kl_node_config_defaults(&c);
    c.reserved_cpu_m = 500;
    c.reserved_mem = 1LL << 30;
    kl_node_allocatable(&f, &c, &cpu, &mem, &pods);
    ck_assert_int_eq(cpu, 3500);
    ck_assert_int_eq(mem, 7LL << 30);
    ck_assert_int_eq(pods, 110);
    c.reserved_cpu_m = 10000;
    c.reserved_mem = 100LL << 30;
    kl_node_allocatable(&f, &c, &cpu, &mem, &pods);
    ck_assert_int_eq(cpu, 0);
    ck_assert_int_eq(mem, 0);
}
END_TEST

START_TEST(pressure_conditions_table)
{
    static const struct {
        int64_t avail, disk_avail, pids;
        bool mem, disk, pid;
    } t[] = {
        {4LL << 30, 500, 100, false, false, false},
        {(100LL << 20) - 1, 500, 100, true, false, false},
        {100LL << 20, 500, 100, false, false, false},
        {4LL << 30, 99, 100, false, true, false},
        {4LL << 30, 100, 100, false, false, false},
        {4LL << 30, 500, 901, false, false, true},
        {4LL << 30, 500, 900, false, false, false},
    };
    struct kl_node_config c;

    kl_node_config_defaults(&c);
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct kl_node_facts f = facts();
        f.mem_available = t[i].avail;
        f.disk_avail = t[i].disk_avail;
        f.pids = t[i].pids;
        ck_assert_msg(kl_node_memory_pressure(&f, &c) == t[i].mem, "case %zu", i);
        ck_assert_msg(kl_node_disk_pressure(&f, &c) == t[i].disk, "case %zu", i);
        ck_assert_msg(kl_node_pid_pressure(&f, &c) == t[i].pid, "case %zu", i);
    }
}
END_TEST

/* the Ready condition of a node built with or without its pod network */
static const char *
ready_of(bool network_not_ready, const char **reason)
{
    static char st[8];
    struct kl_node_facts f = facts();
    struct kl_node_config c;
    json_t *n, *cond;
    size_t i;

    kl_node_config_defaults(&c);
    c.network_not_ready = network_not_ready;
    n = kl_node_build(&f, &c, NULL, "2026-01-01T00:00:00Z");
    st[0] = '\0';
    json_array_foreach (sk_json_get(n, "status.conditions"), i, cond)
        if (!strcmp(json_string_value(json_object_get(cond, "type")), "Ready")) {
            snprintf(st, sizeof(st), "%s", json_string_value(json_object_get(cond, "status")));
            *reason = strcmp(json_string_value(json_object_get(cond, "reason")), "KubeletReady")
                          ? "KubeletNotReady"
                          : "KubeletReady";
        }
    json_decref(n);
    return st;
}

START_TEST(no_pod_network_yet_means_not_ready)
{
    const char *reason = NULL;

    ck_assert_str_eq(ready_of(false, &reason), "True");
    ck_assert_str_eq(reason, "KubeletReady");
    ck_assert_str_eq(ready_of(true, &reason), "False");
    ck_assert_str_eq(reason, "KubeletNotReady");
}
END_TEST

START_TEST(node_object_has_labels_resources_and_info)
{
    struct kl_node_facts f = facts();
    struct kl_node_config c;
    json_t *n, *n2;

    kl_node_config_defaults(&c);
    c.address = "192.168.1.10";
    c.reserved_cpu_m = 250;
    n = kl_node_build(&f, &c, NULL, "2026-01-01T00:00:00Z");
    ck_assert_str_eq(json_string_value(sk_json_get(n, "metadata.name")), "node-1");
    ck_assert_str_eq(
        json_string_value(sk_json_get(n, "metadata.labels[\"kubernetes.io/hostname\"]")), "node-1");
    ck_assert_str_eq(json_string_value(sk_json_get(n, "metadata.labels[\"kubernetes.io/os\"]")),
                     "linux");
    ck_assert_str_eq(json_string_value(sk_json_get(n, "metadata.labels[\"kubernetes.io/arch\"]")),
                     "amd64");
    ck_assert_str_eq(json_string_value(sk_json_get(n, "status.capacity.cpu")), "4");
    ck_assert_str_eq(json_string_value(sk_json_get(n, "status.capacity.memory")), "8388608Ki");
    ck_assert_int_eq(json_integer_value(sk_json_get(n, "status.capacity.pods")), 110);
    ck_assert_str_eq(json_string_value(sk_json_get(n, "status.allocatable.cpu")), "3750m");
    ck_assert_str_eq(json_string_value(sk_json_get(n, "status.nodeInfo.kernelVersion")),
                     "6.1.0-test");
    ck_assert_str_eq(json_string_value(sk_json_get(n, "status.nodeInfo.containerRuntimeVersion")),
                     "skiff://0.1.0");
    ck_assert_str_eq(json_string_value(sk_json_get(n, "status.addresses[0].address")),
                     "192.168.1.10");
    ck_assert_str_eq(json_string_value(sk_json_get(n, "status.conditions[3].type")), "Ready");
    ck_assert_str_eq(json_string_value(sk_json_get(n, "status.conditions[0].status")), "False");
    /* a heartbeat later: transition times kept, heartbeat moves */
    n2 = kl_node_build(&f, &c, n, "2026-01-01T00:00:10Z");
    ck_assert_str_eq(json_string_value(sk_json_get(n2, "status.conditions[0].lastTransitionTime")),
                     "2026-01-01T00:00:00Z");
    ck_assert_str_eq(json_string_value(sk_json_get(n2, "status.conditions[0].lastHeartbeatTime")),
                     "2026-01-01T00:00:10Z");
    json_decref(n);
    f.mem_available = 1;
    n = kl_node_build(&f, &c, n2, "2026-01-01T00:00:20Z");
    ck_assert_str_eq(json_string_value(sk_json_get(n, "status.conditions[0].status")), "True");
    ck_assert_str_eq(json_string_value(sk_json_get(n, "status.conditions[0].lastTransitionTime")),
                     "2026-01-01T00:00:20Z");
    json_decref(n);
    json_decref(n2);
}
END_TEST

START_TEST(the_agent_endpoint_port_is_in_daemon_endpoints)
{
    struct kl_node_facts f = facts();
    struct kl_node_config c;
    json_t *n;

    kl_node_config_defaults(&c);
    n = kl_node_build(&f, &c, NULL, "2026-01-01T00:00:00Z");
    ck_assert_ptr_null(sk_json_get(n, "status.daemonEndpoints")); /* endpoint off */
    json_decref(n);
    c.endpoint_port = 10250;
    n = kl_node_build(&f, &c, NULL, "2026-01-01T00:00:00Z");
    ck_assert_int_eq(
        json_integer_value(sk_json_get(n, "status.daemonEndpoints.kubeletEndpoint.Port")), 10250);
    json_decref(n);
}
END_TEST

START_TEST(facts_of_this_host_are_read)
{
    struct kl_node_facts f;
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_eq(kl_node_facts_read(unit_tmpdir(), &f, &err), 0);
    ck_assert_int_gt(f.mem_total, 0);
    ck_assert_int_ge(f.ncpu, 1);
    ck_assert_int_gt(f.disk_total, 0);
    ck_assert_int_gt(f.pid_max, 0);
    ck_assert_int_gt(f.pids, 0);
    ck_assert(f.kernel[0] != '\0');
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("kubelet_nodeinfo");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, meminfo_is_parsed_in_bytes);
    tcase_add_test(tc, meminfo_without_available_estimates_free_plus_cached);
    tcase_add_test(tc, malformed_meminfo_is_an_error);
    tcase_add_test(tc, os_release_pretty_name);
    tcase_add_test(tc, allocatable_is_capacity_minus_reserved);
    tcase_add_test(tc, pressure_conditions_table);
    tcase_add_test(tc, node_object_has_labels_resources_and_info);
    tcase_add_test(tc, the_agent_endpoint_port_is_in_daemon_endpoints);
    tcase_add_test(tc, facts_of_this_host_are_read);
    tcase_add_test(tc, no_pod_network_yet_means_not_ready);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
