/* describe for Deployments and Services, after kubectl's
 * DeploymentDescriber and ServiceDescriber. */
#include "api/print_int.h"

#include "lib/json.h"

#include <stdio.h>
#include <string.h>

static void
dw_meta(struct sk_buf *b, const json_t *obj, bool created)
{
    char t[64];

    pr_dw(b, 0, "Name:\t%s\n", pr_none(pr_str(obj, "metadata.name")));
    pr_dw(b, 0, "Namespace:\t%s\n", pr_none(pr_str(obj, "metadata.namespace")));
    if (created) {
        pr_time_long(pr_str(obj, "metadata.creationTimestamp"), t, sizeof(t));
        pr_dw(b, 0, "CreationTimestamp:\t%s\n", t);
    }
    pr_dw_map(b, 0, "Labels", pr_obj(obj, "metadata.labels"), "=");
    pr_dw_map(b, 0, "Annotations", pr_obj(obj, "metadata.annotations"), ": ");
}

/* An IntOrString as printed: "25%" or "1". */
static void
int_or_string(const json_t *v, const char *def, char *out, size_t outsz)
{
    if (json_is_string(v))
        snprintf(out, outsz, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(out, outsz, "%lld", (long long)json_integer_value(v));
    else
        snprintf(out, outsz, "%s", def);
}

static bool
owned_by(const json_t *obj, const char *uid, const char *name)
{
    json_t *o;
    size_t i;

    json_array_foreach (pr_arr(obj, "metadata.ownerReferences"), i, o) {
        const char *ouid = pr_str(o, "uid"), *oname = pr_str(o, "name");

        if (uid && ouid && !strcmp(uid, ouid))
            return true;
        if (!uid && name && oname && !strcmp(name, oname))
            return true;
    }
    return false;
}

/* kubectl picks the new ReplicaSet by its pod template hash; the
 * controller keeps "deployment.kubernetes.io/revision" equal on the
 * deployment and its newest ReplicaSet, which is what we match. */
static void
dw_replicasets(struct sk_buf *b, const json_t *d, const json_t *related)
{
    const char *rev = pr_str(d, "metadata.annotations[\"deployment.kubernetes.io/revision\"]");
    const char *uid = pr_str(d, "metadata.uid"), *name = pr_str(d, "metadata.name");
    struct sk_buf old = SK_BUF_INIT, cur = SK_BUF_INIT;
    json_t *rs;
    size_t i;

    json_array_foreach ((json_t *)(json_is_array(related) ? related : NULL), i, rs) {
        const char *k = pr_str(rs, "kind"), *r;
        struct sk_buf *dst;

        if (!k || strcmp(k, "ReplicaSet") != 0 || !owned_by(rs, uid, name))
            continue;
        r = pr_str(rs, "metadata.annotations[\"deployment.kubernetes.io/revision\"]");
        dst = rev && r && !strcmp(rev, r) ? &cur : &old;
        if (dst == &old && pr_int(rs, "spec.replicas", 0) == 0)
            continue;
        sk_buf_printf(dst, "%s%s (%lld/%lld replicas created)", dst->len ? ", " : "",
                      pr_none(pr_str(rs, "metadata.name")),
                      (long long)pr_int(rs, "status.replicas", 0),
                      (long long)pr_int(rs, "spec.replicas", 0));
    }
    pr_dw(b, 0, "OldReplicaSets:\t%s\n", pr_none(old.data));
    pr_dw(b, 0, "NewReplicaSet:\t%s\n", pr_none(cur.data));
    sk_buf_release(&old);
    sk_buf_release(&cur);
}

static void
dw_conditions_reason(struct sk_buf *b, const json_t *obj)
{
    json_t *conds = pr_arr(obj, "status.conditions"), *c;
    size_t i;

    if (json_array_size(conds) == 0)
        return;
    pr_dw(b, 0, "Conditions:\n");
    pr_dw(b, 1, "Type\tStatus\tReason\n");
    pr_dw(b, 1, "----\t------\t------\n");
    json_array_foreach (conds, i, c) {
        pr_dw(b, 1, "%s \t%s\t%s\n", pr_none(pr_str(c, "type")), pr_none(pr_str(c, "status")),
              pr_none(pr_str(c, "reason")));
    }
}

void
pr_describe_deployment(const json_t *d, const json_t *events, const json_t *related, int64_t now,
                       struct sk_buf *b)
{
    const char *strategy = pr_str(d, "spec.strategy.type");
    int64_t want = pr_int(d, "spec.replicas", 1), avail = pr_int(d, "status.availableReplicas", 0);
    struct sk_buf sel = SK_BUF_INIT;
    char mu[32], ms[32];

    dw_meta(b, d, true);
    pr_labels(pr_obj(d, "spec.selector.matchLabels"), &sel);
    pr_dw(b, 0, "Selector:\t%s\n", sel.data);
    sk_buf_release(&sel);
    pr_dw(b, 0,
          "Replicas:\t%lld desired | %lld updated | %lld total | %lld available | %lld "
          "unavailable\n",
          (long long)want, (long long)pr_int(d, "status.updatedReplicas", 0),
          (long long)pr_int(d, "status.replicas", 0), (long long)avail,
          (long long)pr_int(d, "status.unavailableReplicas", 0));
    pr_dw(b, 0, "StrategyType:\t%s\n", strategy ? strategy : "RollingUpdate");
    pr_dw(b, 0, "MinReadySeconds:\t%lld\n", (long long)pr_int(d, "spec.minReadySeconds", 0));
    if (!strategy || !strcmp(strategy, "RollingUpdate")) {
        int_or_string(sk_json_get(d, "spec.strategy.rollingUpdate.maxUnavailable"), "25%", mu,
                      sizeof(mu));
        int_or_string(sk_json_get(d, "spec.strategy.rollingUpdate.maxSurge"), "25%", ms,
                      sizeof(ms));
        pr_dw(b, 0, "RollingUpdateStrategy:\t%s max unavailable, %s max surge\n", mu, ms);
    }
    pr_dw(b, 0, "Pod Template:\n");
    pr_dw_map(b, 1, "Labels", pr_obj(d, "spec.template.metadata.labels"), "=");
    pr_dw_containers(b, 1, "Containers", pr_arr(d, "spec.template.spec.containers"), NULL, now);
    pr_dw_volumes(b, 1, pr_arr(d, "spec.template.spec.volumes"));
    dw_conditions_reason(b, d);
    dw_replicasets(b, d, related);
    pr_dw_events(b, events, now);
}

/* ---- services ---- */

static const json_t *
endpoints_of(const json_t *svc, const json_t *related)
{
    const char *name = pr_str(svc, "metadata.name");
    json_t *o;
    size_t i;

    json_array_foreach ((json_t *)(json_is_array(related) ? related : NULL), i, o) {
        const char *k = pr_str(o, "kind"), *n = pr_str(o, "metadata.name");

        if (k && n && name && !strcmp(k, "Endpoints") && !strcmp(n, name))
            return o;
    }
    return NULL;
}

/* The addresses serving one service port: endpoint ports match by name
 * (an unnamed service port matches an unnamed endpoint port). */
static void
port_endpoints(const json_t *ep, const char *port_name, struct sk_buf *out)
{
    json_t *ss, *p, *a;
    size_t i, j, k;

    json_array_foreach (pr_arr(ep, "subsets"), i, ss) {
        json_array_foreach (pr_arr(ss, "ports"), j, p) {
            const char *n = pr_str(p, "name");

            if (strcmp(n ? n : "", port_name ? port_name : "") != 0)
                continue;
            json_array_foreach (pr_arr(ss, "addresses"), k, a) {
                sk_buf_printf(out, "%s%s:%lld", out->len ? "," : "", pr_none(pr_str(a, "ip")),
                              (long long)pr_int(p, "port", 0));
            }
        }
    }
    if (out->len == 0)
        sk_buf_puts(out, "<none>");
}

static void
dw_service_port(struct sk_buf *b, const json_t *p, const json_t *ep)
{
    const char *name = pr_str(p, "name"), *proto = pr_str(p, "protocol");
    json_t *tp = sk_json_get(p, "targetPort");
    struct sk_buf eps = SK_BUF_INIT;
    char target[64];

    proto = proto ? proto : "TCP";
    pr_dw(b, 0, "Port:\t%s\t%lld/%s\n", name && *name ? name : "<unset>",
          (long long)pr_int(p, "port", 0), proto);
    int_or_string(tp, "", target, sizeof(target));
    if (!target[0])
        snprintf(target, sizeof(target), "%lld", (long long)pr_int(p, "port", 0));
    pr_dw(b, 0, "TargetPort:\t%s/%s\n", target, proto);
    if (pr_int(p, "nodePort", 0) > 0)
        pr_dw(b, 0, "NodePort:\t%s\t%lld/%s\n", name && *name ? name : "<unset>",
              (long long)pr_int(p, "nodePort", 0), proto);
    port_endpoints(ep, name, &eps);
    pr_dw(b, 0, "Endpoints:\t%s\n", eps.data);
    sk_buf_release(&eps);
}

void
pr_describe_service(const json_t *svc, const json_t *events, const json_t *related, int64_t now,
                    struct sk_buf *b)
{
    const json_t *ep = endpoints_of(svc, related);
    const char *type = pr_str(svc, "spec.type");
    struct sk_buf s = SK_BUF_INIT;
    json_t *p, *ip;
    size_t i;

    dw_meta(b, svc, false);
    pr_labels(pr_obj(svc, "spec.selector"), &s);
    pr_dw(b, 0, "Selector:\t%s\n", s.data);
    pr_dw(b, 0, "Type:\t%s\n", type ? type : "ClusterIP");
    pr_dw(b, 0, "IP:\t%s\n", pr_none(pr_str(svc, "spec.clusterIP")));
    sk_buf_reset(&s);
    json_array_foreach (pr_arr(svc, "spec.externalIPs"), i, ip) {
        sk_buf_printf(&s, "%s%s", i ? "," : "", json_is_string(ip) ? json_string_value(ip) : "");
    }
    if (s.len)
        pr_dw(b, 0, "External IPs:\t%s\n", s.data);
    if (type && !strcmp(type, "ExternalName"))
        pr_dw(b, 0, "External Name:\t%s\n", pr_none(pr_str(svc, "spec.externalName")));
    json_array_foreach (pr_arr(svc, "spec.ports"), i, p) {
        dw_service_port(b, p, ep);
    }
    pr_dw(b, 0, "Session Affinity:\t%s\n",
          pr_str(svc, "spec.sessionAffinity") ? pr_str(svc, "spec.sessionAffinity") : "None");
    if (pr_str(svc, "spec.externalTrafficPolicy"))
        pr_dw(b, 0, "External Traffic Policy:\t%s\n", pr_str(svc, "spec.externalTrafficPolicy"));
    sk_buf_release(&s);
    pr_dw_events(b, events, now);
}
