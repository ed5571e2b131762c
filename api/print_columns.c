/* kubectl's table columns per kind (pkg/printers/internalversion's
 * column definitions), one fill function each. */
#include "api/print_int.h"

#include "lib/alloc.h"
#include "lib/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SET(s)    pr_table_set(t, row, col++, (s))
#define SETF(...) pr_table_printf(t, row, col++, __VA_ARGS__)
#define FILL_ARGS                                                                                  \
    const json_t *obj, int64_t now, bool wide, struct pr_table *t, size_t row, size_t col
#define COLS(name, h, wh, fn) static const struct pr_columns name = {h, wh, fn}

static void
set_age(struct pr_table *t, size_t row, size_t col, const json_t *obj, const char *path,
        int64_t now)
{
    char age[32];

    api_print_age(sk_json_get(obj, path), now, age, sizeof(age));
    pr_table_set(t, row, col, age);
}

static void
set_count(struct pr_table *t, size_t row, size_t col, const json_t *obj, const char *path)
{
    pr_table_printf(t, row, col, "%lld", (long long)pr_int(obj, path, 0));
}

static size_t
obj_size(const json_t *obj, const char *path)
{
    json_t *v = sk_json_get(obj, path);

    return json_is_object(v) ? json_object_size(v) : json_array_size(v);
}

/* ---- generic ---- */

static void
fill_generic(FILL_ARGS)
{
    (void)wide;
    SET(pr_none(pr_str(obj, "metadata.name")));
    set_age(t, row, col, obj, "metadata.creationTimestamp", now);
}

static const char *const generic_h[] = {"NAME", "AGE", NULL};
COLS(generic_cols, generic_h, NULL, fill_generic);

/* ---- pods ---- */

static void
pod_readiness_gates(const json_t *pod, struct pr_table *t, size_t row, size_t col)
{
    json_t *gates = pr_arr(pod, "spec.readinessGates"), *g, *conds, *c;
    size_t i, j, ready = 0;

    if (json_array_size(gates) == 0) {
        pr_table_set(t, row, col, "<none>");
        return;
    }
    conds = pr_arr(pod, "status.conditions");
    json_array_foreach (gates, i, g) {
        const char *type = pr_str(g, "conditionType");

        json_array_foreach (conds, j, c) {
            const char *ct = pr_str(c, "type"), *st = pr_str(c, "status");

            if (type && ct && st && !strcmp(type, ct) && !strcmp(st, "True"))
                ready++;
        }
    }
    pr_table_printf(t, row, col, "%zu/%zu", ready, json_array_size(gates));
}

static void
fill_pod(FILL_ARGS)
{
    struct api_pod_summary s;

    api_pod_summarize(obj, now, &s);
    SET(pr_none(pr_str(obj, "metadata.name")));
    SET(s.ready);
    SET(s.status);
    SET(s.restarts);
    set_age(t, row, col++, obj, "metadata.creationTimestamp", now);
    if (!wide)
        return;
    SET(pr_none(pr_str(obj, "status.podIP")));
    SET(pr_none(pr_str(obj, "spec.nodeName")));
    SET(pr_none(pr_str(obj, "status.nominatedNodeName")));
    pod_readiness_gates(obj, t, row, col);
}

static const char *const pod_h[] = {"NAME", "READY", "STATUS", "RESTARTS", "AGE", NULL};
static const char *const pod_wh[] = {"IP", "NODE", "NOMINATED NODE", "READINESS GATES", NULL};
COLS(pod_cols, pod_h, pod_wh, fill_pod);

/* ---- nodes ---- */

static void
node_status(const json_t *node, struct sk_buf *b)
{
    json_t *conds = pr_arr(node, "status.conditions"), *c;
    size_t i;

    json_array_foreach (conds, i, c) {
        const char *type = pr_str(c, "type"), *st = pr_str(c, "status");

        if (!type || strcmp(type, "Ready") != 0)
            continue;
        sk_buf_puts(b, st && !strcmp(st, "True") ? "Ready" : "NotReady");
        break;
    }
    if (b->len == 0)
        sk_buf_puts(b, "Unknown");
    if (pr_bool(node, "spec.unschedulable"))
        sk_buf_puts(b, ",SchedulingDisabled");
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Roles come from labels "node-role.kubernetes.io/<role>" and the older
 * "kubernetes.io/role=<role>", sorted and comma-joined. */
static void
node_roles(const json_t *node, struct sk_buf *b)
{
    json_t *labels = pr_obj(node, "metadata.labels"), *v;
    const char *key, **roles = sk_calloc(json_object_size(labels) + 1, sizeof(char *));
    size_t n = 0;

    json_object_foreach (labels, key, v) {
        if (sk_startswith(key, "node-role.kubernetes.io/") && key[24])
            roles[n++] = key + 24;
        else if (!strcmp(key, "kubernetes.io/role") && json_is_string(v) && *json_string_value(v))
            roles[n++] = json_string_value(v);
    }
    qsort(roles, n, sizeof(*roles), cmp_str);
    for (size_t i = 0; i < n; i++)
        if (i == 0 || strcmp(roles[i], roles[i - 1]) != 0)
            sk_buf_printf(b, "%s%s", b->len ? "," : "", roles[i]);
    if (b->len == 0)
        sk_buf_puts(b, "<none>");
    free(roles);
}

static const char *
node_address(const json_t *node, const char *type)
{
    json_t *addrs = pr_arr(node, "status.addresses"), *a;
    size_t i;

    json_array_foreach (addrs, i, a) {
        const char *ty = pr_str(a, "type");

        if (ty && !strcmp(ty, type))
            return pr_str(a, "address");
    }
    return NULL;
}

static void
fill_node(FILL_ARGS)
{
    struct sk_buf b = SK_BUF_INIT;

    SET(pr_none(pr_str(obj, "metadata.name")));
    node_status(obj, &b);
    SET(b.data);
    sk_buf_reset(&b);
    node_roles(obj, &b);
    SET(b.data);
    sk_buf_release(&b);
    set_age(t, row, col++, obj, "metadata.creationTimestamp", now);
    SET(pr_none(pr_str(obj, "status.nodeInfo.kubeletVersion")));
    if (!wide)
        return;
    SET(pr_none(node_address(obj, "InternalIP")));
    SET(pr_none(node_address(obj, "ExternalIP")));
    SET(pr_none(pr_str(obj, "status.nodeInfo.osImage")));
    SET(pr_none(pr_str(obj, "status.nodeInfo.kernelVersion")));
    SET(pr_none(pr_str(obj, "status.nodeInfo.containerRuntimeVersion")));
}

static const char *const node_h[] = {"NAME", "STATUS", "ROLES", "AGE", "VERSION", NULL};
static const char *const node_wh[] = {"INTERNAL-IP",    "EXTERNAL-IP",       "OS-IMAGE",
                                      "KERNEL-VERSION", "CONTAINER-RUNTIME", NULL};
COLS(node_cols, node_h, node_wh, fill_node);

/* ---- workloads ---- */

/* CONTAINERS IMAGES SELECTOR of -o wide for deployments and replica sets. */
static void
workload_wide(const json_t *obj, struct pr_table *t, size_t row, size_t col)
{
    json_t *cs = pr_arr(obj, "spec.template.spec.containers"), *c;
    json_t *sel = pr_obj(obj, "spec.selector.matchLabels");
    struct sk_buf names = SK_BUF_INIT, images = SK_BUF_INIT, s = SK_BUF_INIT;
    size_t i;

    json_array_foreach (cs, i, c) {
        sk_buf_printf(&names, "%s%s", i ? "," : "", pr_none(pr_str(c, "name")));
        sk_buf_printf(&images, "%s%s", i ? "," : "", pr_none(pr_str(c, "image")));
    }
    pr_labels(sel, &s);
    SET(pr_none(names.data));
    SET(pr_none(images.data));
    SET(s.data);
    sk_buf_release(&names);
    sk_buf_release(&images);
    sk_buf_release(&s);
}

static void
fill_deployment(FILL_ARGS)
{
    SET(pr_none(pr_str(obj, "metadata.name")));
    SETF("%lld/%lld", (long long)pr_int(obj, "status.readyReplicas", 0),
         (long long)pr_int(obj, "spec.replicas", 1));
    set_count(t, row, col++, obj, "status.updatedReplicas");
    set_count(t, row, col++, obj, "status.availableReplicas");
    set_age(t, row, col++, obj, "metadata.creationTimestamp", now);
    if (wide)
        workload_wide(obj, t, row, col);
}

static const char *const deploy_h[] = {"NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", NULL};
static const char *const workload_wh[] = {"CONTAINERS", "IMAGES", "SELECTOR", NULL};
COLS(deploy_cols, deploy_h, workload_wh, fill_deployment);

static void
fill_replicaset(FILL_ARGS)
{
    SET(pr_none(pr_str(obj, "metadata.name")));
    SETF("%lld", (long long)pr_int(obj, "spec.replicas", 1));
    set_count(t, row, col++, obj, "status.replicas");
    set_count(t, row, col++, obj, "status.readyReplicas");
    set_age(t, row, col++, obj, "metadata.creationTimestamp", now);
    if (wide)
        workload_wide(obj, t, row, col);
}

static const char *const rs_h[] = {"NAME", "DESIRED", "CURRENT", "READY", "AGE", NULL};
COLS(rs_cols, rs_h, workload_wh, fill_replicaset);

/* ---- services and endpoints ---- */

static void
service_external_ip(const json_t *svc, struct sk_buf *b)
{
    const char *type = pr_str(svc, "spec.type");
    json_t *ips = pr_arr(svc, "spec.externalIPs"), *ing, *v;
    size_t i;

    if (type && !strcmp(type, "ExternalName")) {
        sk_buf_puts(b, pr_none(pr_str(svc, "spec.externalName")));
        return;
    }
    json_array_foreach (ips, i, v) {
        if (json_is_string(v))
            sk_buf_printf(b, "%s%s", b->len ? "," : "", json_string_value(v));
    }
    if (type && !strcmp(type, "LoadBalancer")) {
        ing = pr_arr(svc, "status.loadBalancer.ingress");
        json_array_foreach (ing, i, v) {
            const char *ip = pr_str(v, "ip") ? pr_str(v, "ip") : pr_str(v, "hostname");

            if (ip)
                sk_buf_printf(b, "%s%s", b->len ? "," : "", ip);
        }
        if (b->len == 0)
            sk_buf_puts(b, "<pending>");
    }
    if (b->len == 0)
        sk_buf_puts(b, "<none>");
}

static void
service_ports(const json_t *svc, struct sk_buf *b)
{
    json_t *ports = pr_arr(svc, "spec.ports"), *p;
    size_t i;

    json_array_foreach (ports, i, p) {
        const char *proto = pr_str(p, "protocol");
        int64_t np = pr_int(p, "nodePort", 0);

        sk_buf_printf(b, "%s%lld", i ? "," : "", (long long)pr_int(p, "port", 0));
        if (np > 0)
            sk_buf_printf(b, ":%lld", (long long)np);
        sk_buf_printf(b, "/%s", proto ? proto : "TCP");
    }
    if (b->len == 0)
        sk_buf_puts(b, "<none>");
}

static void
fill_service(FILL_ARGS)
{
    struct sk_buf b = SK_BUF_INIT;

    SET(pr_none(pr_str(obj, "metadata.name")));
    SET(pr_str(obj, "spec.type") ? pr_str(obj, "spec.type") : "ClusterIP");
    SET(pr_none(pr_str(obj, "spec.clusterIP")));
    service_external_ip(obj, &b);
    SET(b.data);
    sk_buf_reset(&b);
    service_ports(obj, &b);
    SET(b.data);
    sk_buf_reset(&b);
    set_age(t, row, col++, obj, "metadata.creationTimestamp", now);
    if (wide) {
        pr_labels(pr_obj(obj, "spec.selector"), &b);
        SET(b.data);
    }
    sk_buf_release(&b);
}

static const char *const svc_h[] = {"NAME",    "TYPE", "CLUSTER-IP", "EXTERNAL-IP",
                                    "PORT(S)", "AGE",  NULL};
static const char *const svc_wh[] = {"SELECTOR", NULL};
COLS(svc_cols, svc_h, svc_wh, fill_service);

#define EP_SHOWN 3

/* kubectl's formatEndpoints: host:port for every address under every
 * port of every subset (addresses alone when a subset has no ports), the
 * first three shown and the rest counted. */
static void
endpoints_add(struct sk_buf *b, size_t *count, const json_t *addr, const json_t *port)
{
    const char *ip = pr_none(pr_str(addr, "ip"));

    if ((*count)++ >= EP_SHOWN)
        return;
    sk_buf_puts(b, b->len ? "," : "");
    if (!port)
        sk_buf_puts(b, ip);
    else if (strchr(ip, ':'))
        sk_buf_printf(b, "[%s]:%lld", ip, (long long)pr_int(port, "port", 0));
    else
        sk_buf_printf(b, "%s:%lld", ip, (long long)pr_int(port, "port", 0));
}

static void
endpoints_list(const json_t *ep, struct sk_buf *b)
{
    json_t *subsets = pr_arr(ep, "subsets"), *ss, *a, *p;
    size_t i, j, k, count = 0;

    json_array_foreach (subsets, i, ss) {
        json_t *addrs = pr_arr(ss, "addresses"), *ports = pr_arr(ss, "ports");

        if (json_array_size(ports) == 0) {
            json_array_foreach (addrs, j, a) {
                endpoints_add(b, &count, a, NULL);
            }
        }
        json_array_foreach (ports, k, p) {
            json_array_foreach (addrs, j, a) {
                endpoints_add(b, &count, a, p);
            }
        }
    }
    if (count > EP_SHOWN)
        sk_buf_printf(b, " + %zu more...", count - EP_SHOWN);
    if (b->len == 0)
        sk_buf_puts(b, "<none>");
}

static void
fill_endpoints(FILL_ARGS)
{
    struct sk_buf b = SK_BUF_INIT;

    (void)wide;
    SET(pr_none(pr_str(obj, "metadata.name")));
    endpoints_list(obj, &b);
    SET(b.data);
    sk_buf_release(&b);
    set_age(t, row, col, obj, "metadata.creationTimestamp", now);
}

static const char *const ep_h[] = {"NAME", "ENDPOINTS", "AGE", NULL};
COLS(ep_cols, ep_h, NULL, fill_endpoints);

/* ---- small kinds ---- */

static void
fill_namespace(FILL_ARGS)
{
    (void)wide;
    SET(pr_none(pr_str(obj, "metadata.name")));
    SET(pr_none(pr_str(obj, "status.phase")));
    set_age(t, row, col, obj, "metadata.creationTimestamp", now);
}

static const char *const ns_h[] = {"NAME", "STATUS", "AGE", NULL};
COLS(ns_cols, ns_h, NULL, fill_namespace);

static void
fill_configmap(FILL_ARGS)
{
    (void)wide;
    SET(pr_none(pr_str(obj, "metadata.name")));
    SETF("%zu", obj_size(obj, "data") + obj_size(obj, "binaryData"));
    set_age(t, row, col, obj, "metadata.creationTimestamp", now);
}

static const char *const cm_h[] = {"NAME", "DATA", "AGE", NULL};
COLS(cm_cols, cm_h, NULL, fill_configmap);

static void
fill_secret(FILL_ARGS)
{
    (void)wide;
    SET(pr_none(pr_str(obj, "metadata.name")));
    SET(pr_none(pr_str(obj, "type")));
    SETF("%zu", obj_size(obj, "data"));
    set_age(t, row, col, obj, "metadata.creationTimestamp", now);
}

static const char *const secret_h[] = {"NAME", "TYPE", "DATA", "AGE", NULL};
COLS(secret_cols, secret_h, NULL, fill_secret);

static void
fill_serviceaccount(FILL_ARGS)
{
    (void)wide;
    SET(pr_none(pr_str(obj, "metadata.name")));
    SETF("%zu", obj_size(obj, "secrets"));
    set_age(t, row, col, obj, "metadata.creationTimestamp", now);
}

static const char *const sa_h[] = {"NAME", "SECRETS", "AGE", NULL};
COLS(sa_cols, sa_h, NULL, fill_serviceaccount);

static void
subjects_of(const json_t *rb, const char *kind, struct sk_buf *b)
{
    json_t *subs = pr_arr(rb, "subjects"), *s;
    size_t i;

    json_array_foreach (subs, i, s) {
        const char *k = pr_str(s, "kind"), *ns = pr_str(s, "namespace");

        if (!k || strcmp(k, kind) != 0)
            continue;
        sk_buf_puts(b, b->len ? "," : "");
        if (!strcmp(kind, "ServiceAccount"))
            sk_buf_printf(b, "%s/", ns ? ns : "");
        sk_buf_puts(b, pr_none(pr_str(s, "name")));
    }
}

static void
fill_rolebinding(FILL_ARGS)
{
    static const char *const kinds[] = {"User", "Group", "ServiceAccount"};
    struct sk_buf b = SK_BUF_INIT;

    SET(pr_none(pr_str(obj, "metadata.name")));
    SETF("%s/%s", pr_none(pr_str(obj, "roleRef.kind")), pr_none(pr_str(obj, "roleRef.name")));
    set_age(t, row, col++, obj, "metadata.creationTimestamp", now);
    for (size_t i = 0; wide && i < 3; i++) {
        sk_buf_reset(&b);
        subjects_of(obj, kinds[i], &b);
        SET(pr_none(b.data));
    }
    sk_buf_release(&b);
}

static const char *const rb_h[] = {"NAME", "ROLE", "AGE", NULL};
static const char *const rb_wh[] = {"USERS", "GROUPS", "SERVICEACCOUNTS", NULL};
COLS(rb_cols, rb_h, rb_wh, fill_rolebinding);

/* ---- events ---- */

/* "5m", or "5m (x3 over 10m)" for an event seen several times. */
static void
event_last_seen(const json_t *ev, int64_t now, struct pr_table *t, size_t row, size_t col)
{
    int64_t last = pr_event_time(ev), first = pr_time(ev, "firstTimestamp");
    int64_t count = pr_int(ev, "count", 1);
    char a[32], b[32];

    if (last < 0)
        snprintf(a, sizeof(a), "<unknown>");
    else
        api_print_duration(now - last, a, sizeof(a));
    if (count <= 1 || first < 0) {
        pr_table_set(t, row, col, a);
        return;
    }
    api_print_duration(now - first, b, sizeof(b));
    pr_table_printf(t, row, col, "%s (x%lld over %s)", a, (long long)count, b);
}

static void
fill_event(FILL_ARGS)
{
    char obj_name[API_PRINT_CELL_MAX];

    (void)wide;
    event_last_seen(obj, now, t, row, col++);
    SET(pr_none(pr_str(obj, "type")));
    SET(pr_none(pr_str(obj, "reason")));
    pr_event_object(obj, obj_name, sizeof(obj_name));
    SET(obj_name);
    SET(pr_str(obj, "message") ? pr_str(obj, "message") : "");
}

static const char *const ev_h[] = {"LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE", NULL};
COLS(ev_cols, ev_h, NULL, fill_event);

const struct pr_columns *
pr_columns_of(const struct api_kind *kind)
{
    static const struct {
        const char *kind;
        const struct pr_columns *cols;
    } map[] = {
        {"Pod", &pod_cols},
        {"Node", &node_cols},
        {"Deployment", &deploy_cols},
        {"ReplicaSet", &rs_cols},
        {"Service", &svc_cols},
        {"Endpoints", &ep_cols},
        {"Namespace", &ns_cols},
        {"ConfigMap", &cm_cols},
        {"Secret", &secret_cols},
        {"ServiceAccount", &sa_cols},
        {"Event", &ev_cols},
        {"RoleBinding", &rb_cols},
        {"ClusterRoleBinding", &rb_cols},
    };

    for (size_t i = 0; kind && i < sizeof(map) / sizeof(map[0]); i++)
        if (!strcmp(kind->kind, map[i].kind))
            return map[i].cols;
    return &generic_cols;
}

void
pr_labels(const json_t *labels, struct sk_buf *out)
{
    const char *key, **keys;
    size_t n = 0;
    json_t *v;

    if (!json_is_object(labels) || json_object_size(labels) == 0) {
        sk_buf_puts(out, "<none>");
        return;
    }
    keys = sk_calloc(json_object_size(labels), sizeof(*keys));
    json_object_foreach ((json_t *)labels, key, v) {
        keys[n++] = key;
    }
    qsort(keys, n, sizeof(*keys), cmp_str);
    for (size_t i = 0; i < n; i++) {
        v = json_object_get(labels, keys[i]);
        sk_buf_printf(out, "%s%s=%s", i ? "," : "", keys[i],
                      json_is_string(v) ? json_string_value(v) : "");
    }
    free(keys);
}
