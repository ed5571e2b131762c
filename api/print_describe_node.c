/* describe for Nodes, after kubectl's NodeDescriber: conditions,
 * addresses, capacity, system info, and the pods bound to the node with
 * their share of its allocatable cpu and memory. */
#include "api/print_int.h"

#include "lib/json.h"
#include "lib/quantity.h"

#include <stdio.h>
#include <string.h>

static void
dw_taints(struct sk_buf *b, const json_t *node)
{
    json_t *taints = pr_arr(node, "spec.taints"), *t;
    size_t i;

    if (json_array_size(taints) == 0) {
        pr_dw(b, 0, "Taints:\t<none>\n");
        return;
    }
    json_array_foreach (taints, i, t) {
        const char *val = pr_str(t, "value");

        pr_dw(b, 0, "%s\t%s", i ? "" : "Taints:", pr_none(pr_str(t, "key")));
        if (val && *val)
            sk_buf_printf(b, "=%s", val);
        sk_buf_printf(b, ":%s\n", pr_none(pr_str(t, "effect")));
    }
}

static void
dw_node_conditions(struct sk_buf *b, const json_t *node)
{
    json_t *c;
    size_t i;
    char hb[64], tr[64];

    pr_dw(b, 0, "Conditions:\n");
    pr_dw(b, 1, "Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage\n");
    pr_dw(b, 1, "----\t------\t-----------------\t------------------\t------\t-------\n");
    json_array_foreach (pr_arr(node, "status.conditions"), i, c) {
        pr_time_long(pr_str(c, "lastHeartbeatTime"), hb, sizeof(hb));
        pr_time_long(pr_str(c, "lastTransitionTime"), tr, sizeof(tr));
        pr_dw(b, 1, "%s \t%s \t%s \t%s \t%s \t%s\n", pr_none(pr_str(c, "type")),
              pr_none(pr_str(c, "status")), hb, tr, pr_str(c, "reason") ? pr_str(c, "reason") : "",
              pr_str(c, "message") ? pr_str(c, "message") : "");
    }
}

static void
dw_resource_list(struct sk_buf *b, const char *title, const json_t *res)
{
    const char *key;
    json_t *v;

    if (!json_is_object(res))
        return;
    pr_dw(b, 0, "%s:\n", title);
    json_object_foreach ((json_t *)res, key, v) {
        pr_dw(b, 1, "%s:\t%s\n", key, json_is_string(v) ? json_string_value(v) : "<invalid>");
    }
}

static void
dw_system_info(struct sk_buf *b, const json_t *node)
{
    static const char *const rows[][2] = {
        {"Machine ID", "machineID"},
        {"System UUID", "systemUUID"},
        {"Boot ID", "bootID"},
        {"Kernel Version", "kernelVersion"},
        {"OS Image", "osImage"},
        {"Operating System", "operatingSystem"},
        {"Architecture", "architecture"},
        {"Container Runtime Version", "containerRuntimeVersion"},
        {"Kubelet Version", "kubeletVersion"},
        {"Kube-Proxy Version", "kubeProxyVersion"},
    };
    json_t *info = pr_obj(node, "status.nodeInfo");

    pr_dw(b, 0, "System Info:\n");
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const char *v = pr_str(info, rows[i][1]);

        pr_dw(b, 1, "%s:\t%s\n", rows[i][0], v ? v : "");
    }
}

/* Sums of requests and limits (milli-cpu, memory bytes). */
struct usage {
    int64_t cpu_req, cpu_lim, mem_req, mem_lim;
};

static int64_t
res_value(const json_t *c, const char *path, bool milli)
{
    struct sk_quantity q;

    if (sk_quantity_from_json(sk_json_get(c, path), &q, NULL) < 0)
        return 0;
    return milli ? sk_quantity_milli(&q) : sk_quantity_value(&q);
}

static void
pod_usage(const json_t *pod, struct usage *u)
{
    json_t *c;
    size_t i;

    memset(u, 0, sizeof(*u));
    json_array_foreach (pr_arr(pod, "spec.containers"), i, c) {
        u->cpu_req += res_value(c, "resources.requests.cpu", true);
        u->cpu_lim += res_value(c, "resources.limits.cpu", true);
        u->mem_req += res_value(c, "resources.requests.memory", false);
        u->mem_lim += res_value(c, "resources.limits.memory", false);
    }
}

static void
fmt_share(int64_t v, int64_t total, bool milli, char *out, size_t outsz)
{
    struct sk_quantity q = milli ? sk_quantity_from_milli(v) : sk_quantity_from_value(v, 1);
    char s[SK_QUANTITY_STR_MAX];

    if (sk_quantity_format(&q, s, sizeof(s)) < 0)
        snprintf(s, sizeof(s), "%lld", (long long)v);
    snprintf(out, outsz, "%s (%lld%%)", s, (long long)(total > 0 ? v * 100 / total : 0));
}

static bool
pod_on_node(const json_t *pod, const char *node)
{
    const char *k = pr_str(pod, "kind"), *n = pr_str(pod, "spec.nodeName");
    const char *phase = pr_str(pod, "status.phase");

    if (!k || strcmp(k, "Pod") != 0 || !n || !node || strcmp(n, node) != 0)
        return false;
    return !phase || (strcmp(phase, "Succeeded") != 0 && strcmp(phase, "Failed") != 0);
}

static void
dw_pods(struct sk_buf *b, const json_t *node, const json_t *related, int64_t now)
{
    const char *name = pr_str(node, "metadata.name");
    int64_t cpu = res_value(node, "status.allocatable.cpu", true);
    int64_t mem = res_value(node, "status.allocatable.memory", false);
    struct usage u, sum = {0};
    size_t i, n = 0;
    json_t *p;
    char a[64], c1[64], c2[64], m1[64], m2[64];

    json_array_foreach ((json_t *)(json_is_array(related) ? related : NULL), i, p) {
        n += pod_on_node(p, name);
    }
    pr_dw(b, 0, "Non-terminated Pods:\t(%zu in total)\n", n);
    if (n > 0) {
        pr_dw(b, 1,
              "Namespace\tName\tCPU Requests\tCPU Limits\tMemory Requests\tMemory "
              "Limits\tAge\n");
        pr_dw(b, 1,
              "---------\t----\t------------\t----------\t---------------\t-------------\t---\n");
    }
    json_array_foreach ((json_t *)(json_is_array(related) ? related : NULL), i, p) {
        if (!pod_on_node(p, name))
            continue;
        pod_usage(p, &u);
        sum.cpu_req += u.cpu_req, sum.cpu_lim += u.cpu_lim;
        sum.mem_req += u.mem_req, sum.mem_lim += u.mem_lim;
        fmt_share(u.cpu_req, cpu, true, c1, sizeof(c1));
        fmt_share(u.cpu_lim, cpu, true, c2, sizeof(c2));
        fmt_share(u.mem_req, mem, false, m1, sizeof(m1));
        fmt_share(u.mem_lim, mem, false, m2, sizeof(m2));
        api_print_age(sk_json_get(p, "metadata.creationTimestamp"), now, a, sizeof(a));
        pr_dw(b, 1, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", pr_none(pr_str(p, "metadata.namespace")),
              pr_none(pr_str(p, "metadata.name")), c1, c2, m1, m2, a);
    }
    pr_dw(b, 0, "Allocated resources:\n");
    pr_dw(b, 1, "(Total limits may be over 100 percent, i.e., overcommitted.)\n");
    pr_dw(b, 1, "Resource\tRequests\tLimits\n");
    pr_dw(b, 1, "--------\t--------\t------\n");
    fmt_share(sum.cpu_req, cpu, true, c1, sizeof(c1));
    fmt_share(sum.cpu_lim, cpu, true, c2, sizeof(c2));
    fmt_share(sum.mem_req, mem, false, m1, sizeof(m1));
    fmt_share(sum.mem_lim, mem, false, m2, sizeof(m2));
    pr_dw(b, 1, "cpu\t%s\t%s\n", c1, c2);
    pr_dw(b, 1, "memory\t%s\t%s\n", m1, m2);
}

static void
node_roles_line(struct sk_buf *b, const json_t *node)
{
    const char *key;
    json_t *v;
    size_t mark;

    pr_dw(b, 0, "Roles:\t");
    mark = b->len;
    json_object_foreach (pr_obj(node, "metadata.labels"), key, v) {
        if (sk_startswith(key, "node-role.kubernetes.io/") && key[24])
            sk_buf_printf(b, "%s%s", b->len > mark ? "," : "", key + 24);
    }
    sk_buf_puts(b, b->len > mark ? "\n" : "<none>\n");
}

void
pr_describe_node(const json_t *node, const json_t *events, const json_t *related, int64_t now,
                 struct sk_buf *b)
{
    json_t *a, *cidr;
    size_t i;
    char t[64];

    pr_dw(b, 0, "Name:\t%s\n", pr_none(pr_str(node, "metadata.name")));
    node_roles_line(b, node);
    pr_dw_map(b, 0, "Labels", pr_obj(node, "metadata.labels"), "=");
    pr_dw_map(b, 0, "Annotations", pr_obj(node, "metadata.annotations"), ": ");
    pr_time_long(pr_str(node, "metadata.creationTimestamp"), t, sizeof(t));
    pr_dw(b, 0, "CreationTimestamp:\t%s\n", t);
    dw_taints(b, node);
    pr_dw(b, 0, "Unschedulable:\t%s\n", pr_bool(node, "spec.unschedulable") ? "true" : "false");
    dw_node_conditions(b, node);
    pr_dw(b, 0, "Addresses:\n");
    json_array_foreach (pr_arr(node, "status.addresses"), i, a) {
        pr_dw(b, 1, "%s:\t%s\n", pr_none(pr_str(a, "type")), pr_none(pr_str(a, "address")));
    }
    dw_resource_list(b, "Capacity", pr_obj(node, "status.capacity"));
    dw_resource_list(b, "Allocatable", pr_obj(node, "status.allocatable"));
    dw_system_info(b, node);
    pr_dw(b, 0, "PodCIDR:\t%s\n", pr_none(pr_str(node, "spec.podCIDR")));
    pr_dw(b, 0, "PodCIDRs:\t");
    json_array_foreach (pr_arr(node, "spec.podCIDRs"), i, cidr) {
        sk_buf_printf(b, "%s%s", i ? "," : "", json_is_string(cidr) ? json_string_value(cidr) : "");
    }
    sk_buf_puts(b, json_array_size(pr_arr(node, "spec.podCIDRs")) ? "\n" : "<none>\n");
    dw_pods(b, node, related, now);
    pr_dw_events(b, events, now);
}
