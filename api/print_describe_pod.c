/* describe for Pods, following kubectl's describePod block by block,
 * plus one line kubectl lacks: a pod the scheduler could not place shows
 * the scheduler's reason and message (the PodScheduled condition) right
 * under its status, so "Pending" never stands alone (moby#33807). */
#include "api/print_int.h"

#include "lib/json.h"

#include <stdio.h>
#include <string.h>

static const json_t *
condition(const json_t *obj, const char *type)
{
    json_t *c;
    size_t i;

    json_array_foreach (pr_arr(obj, "status.conditions"), i, c) {
        const char *t = pr_str(c, "type");

        if (t && !strcmp(t, type))
            return c;
    }
    return NULL;
}

static void
dw_controller(struct sk_buf *b, const json_t *obj)
{
    json_t *o;
    size_t i;

    json_array_foreach (pr_arr(obj, "metadata.ownerReferences"), i, o) {
        if (pr_bool(o, "controller")) {
            pr_dw(b, 0, "Controlled By:\t%s/%s\n", pr_none(pr_str(o, "kind")),
                  pr_none(pr_str(o, "name")));
            return;
        }
    }
}

static void
dw_ips(struct sk_buf *b, const json_t *pod)
{
    json_t *ips = pr_arr(pod, "status.podIPs"), *ip;
    size_t i;

    pr_dw(b, 0, "IP:\t%s\n", pr_str(pod, "status.podIP") ? pr_str(pod, "status.podIP") : "");
    if (json_array_size(ips) == 0) {
        pr_dw(b, 0, "IPs:\t<none>\n");
        return;
    }
    pr_dw(b, 0, "IPs:\n");
    json_array_foreach (ips, i, ip) {
        pr_dw(b, 1, "IP:\t%s\n", pr_none(pr_str(ip, "ip")));
    }
}

/* status, reason and message; an unschedulable pod gets the scheduler's
 * word from its PodScheduled condition. */
static void
dw_status(struct sk_buf *b, const json_t *pod, int64_t now)
{
    const json_t *sched = condition(pod, "PodScheduled");
    const char *st = pr_str(sched, "status");
    int64_t del = pr_time(pod, "metadata.deletionTimestamp");
    char d[32];

    if (del >= 0) {
        api_print_duration(del - now < 0 ? 0 : del - now, d, sizeof(d));
        pr_dw(b, 0, "Status:\tTerminating (lasts %s)\n", d);
        pr_dw(b, 0, "Termination Grace Period:\t%llds\n",
              (long long)pr_int(pod, "metadata.deletionGracePeriodSeconds", 0));
    } else {
        pr_dw(b, 0, "Status:\t%s\n", pr_none(pr_str(pod, "status.phase")));
    }
    if (pr_str(pod, "status.reason"))
        pr_dw(b, 0, "Reason:\t%s\n", pr_str(pod, "status.reason"));
    if (pr_str(pod, "status.message"))
        pr_dw(b, 0, "Message:\t%s\n", pr_str(pod, "status.message"));
    if (!pr_str(pod, "status.message") && st && !strcmp(st, "False") && pr_str(sched, "message")) {
        pr_dw(b, 0, "Reason:\t%s\n", pr_none(pr_str(sched, "reason")));
        pr_dw(b, 0, "Message:\t%s\n", pr_str(sched, "message"));
    }
}

static void
dw_conditions(struct sk_buf *b, const json_t *pod)
{
    json_t *conds = pr_arr(pod, "status.conditions"), *c;
    size_t i;

    if (json_array_size(conds) == 0)
        return;
    pr_dw(b, 0, "Conditions:\n");
    pr_dw(b, 1, "Type\tStatus\n");
    json_array_foreach (conds, i, c) {
        pr_dw(b, 1, "%s \t%s \n", pr_none(pr_str(c, "type")), pr_none(pr_str(c, "status")));
    }
}

static void
dw_tolerations(struct sk_buf *b, const json_t *pod)
{
    json_t *tols = pr_arr(pod, "spec.tolerations"), *t;
    size_t i;

    if (json_array_size(tols) == 0) {
        pr_dw(b, 0, "Tolerations:\t<none>\n");
        return;
    }
    json_array_foreach (tols, i, t) {
        const char *key = pr_str(t, "key"), *val = pr_str(t, "value"), *eff = pr_str(t, "effect");
        const char *op = pr_str(t, "operator");
        size_t mark;

        pr_dw(b, 0, "%s\t", i ? "" : "Tolerations:");
        mark = b->len;
        sk_buf_puts(b, key ? key : "");
        if (val && *val)
            sk_buf_printf(b, "=%s", val);
        if (eff && *eff)
            sk_buf_printf(b, ":%s", eff);
        if (op && !strcmp(op, "Exists"))
            sk_buf_puts(b, b->len > mark ? " op=Exists" : "op=Exists");
        if (json_is_integer(sk_json_get(t, "tolerationSeconds")))
            sk_buf_printf(b, " for %llds", (long long)pr_int(t, "tolerationSeconds", 0));
        sk_buf_putc(b, '\n');
    }
}

static void
dw_header(struct sk_buf *b, const json_t *pod)
{
    const char *node = pr_str(pod, "spec.nodeName");
    char t[64];

    pr_dw(b, 0, "Name:\t%s\n", pr_none(pr_str(pod, "metadata.name")));
    pr_dw(b, 0, "Namespace:\t%s\n", pr_none(pr_str(pod, "metadata.namespace")));
    if (json_is_integer(sk_json_get(pod, "spec.priority")))
        pr_dw(b, 0, "Priority:\t%lld\n", (long long)pr_int(pod, "spec.priority", 0));
    if (pr_str(pod, "spec.priorityClassName"))
        pr_dw(b, 0, "Priority Class Name:\t%s\n", pr_str(pod, "spec.priorityClassName"));
    pr_dw(b, 0, "Service Account:\t%s\n",
          pr_str(pod, "spec.serviceAccountName") ? pr_str(pod, "spec.serviceAccountName") : "");
    if (node && *node)
        pr_dw(b, 0, "Node:\t%s/%s\n", node,
              pr_str(pod, "status.hostIP") ? pr_str(pod, "status.hostIP") : "");
    else
        pr_dw(b, 0, "Node:\t<none>\n");
    if (pr_str(pod, "status.startTime")) {
        pr_time_long(pr_str(pod, "status.startTime"), t, sizeof(t));
        pr_dw(b, 0, "Start Time:\t%s\n", t);
    }
    pr_dw_map(b, 0, "Labels", pr_obj(pod, "metadata.labels"), "=");
    pr_dw_map(b, 0, "Annotations", pr_obj(pod, "metadata.annotations"), ": ");
}

void
pr_describe_pod(const json_t *pod, const json_t *events, int64_t now, struct sk_buf *b)
{
    dw_header(b, pod);
    dw_status(b, pod, now);
    dw_ips(b, pod);
    dw_controller(b, pod);
    if (pr_str(pod, "status.nominatedNodeName"))
        pr_dw(b, 0, "NominatedNodeName:\t%s\n", pr_str(pod, "status.nominatedNodeName"));
    if (json_array_size(pr_arr(pod, "spec.initContainers")))
        pr_dw_containers(b, 0, "Init Containers", pr_arr(pod, "spec.initContainers"),
                         pr_arr(pod, "status.initContainerStatuses"), now);
    pr_dw_containers(b, 0, "Containers", pr_arr(pod, "spec.containers"),
                     pr_arr(pod, "status.containerStatuses"), now);
    dw_conditions(b, pod);
    pr_dw_volumes(b, 0, pr_arr(pod, "spec.volumes"));
    pr_dw(b, 0, "QoS Class:\t%s\n", pr_pod_qos(pod));
    pr_dw_map(b, 0, "Node-Selectors", pr_obj(pod, "spec.nodeSelector"), "=");
    dw_tolerations(b, pod);
    pr_dw_events(b, events, now);
}
