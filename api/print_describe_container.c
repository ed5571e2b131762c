/* describe: the Containers, Volumes and QoS blocks of pods and pod
 * templates, as kubectl's describeContainers and describeVolumes print
 * them. */
#include "api/print_int.h"

#include "lib/alloc.h"
#include "lib/json.h"
#include "lib/quantity.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const json_t *
status_of(const json_t *statuses, const char *name)
{
    json_t *s;
    size_t i;

    json_array_foreach ((json_t *)(json_is_array(statuses) ? statuses : NULL), i, s) {
        const char *n = pr_str(s, "name");

        if (n && name && !strcmp(n, name))
            return s;
    }
    return NULL;
}

static void
dw_time(struct sk_buf *b, int level, const char *title, const json_t *obj, const char *path)
{
    char t[64];

    pr_time_long(pr_str(obj, path), t, sizeof(t));
    pr_dw(b, level, "%s:\t%s\n", title, t);
}

static void
dw_state(struct sk_buf *b, int level, const char *title, const json_t *st)
{
    json_t *term = pr_obj(st, "terminated");

    if (pr_obj(st, "running")) {
        pr_dw(b, level, "%s:\tRunning\n", title);
        dw_time(b, level + 1, "Started", st, "running.startedAt");
    } else if (pr_obj(st, "waiting")) {
        pr_dw(b, level, "%s:\tWaiting\n", title);
        if (pr_str(st, "waiting.reason"))
            pr_dw(b, level + 1, "Reason:\t%s\n", pr_str(st, "waiting.reason"));
    } else if (term) {
        pr_dw(b, level, "%s:\tTerminated\n", title);
        if (pr_str(term, "reason"))
            pr_dw(b, level + 1, "Reason:\t%s\n", pr_str(term, "reason"));
        if (pr_str(term, "message"))
            pr_dw(b, level + 1, "Message:\t%s\n", pr_str(term, "message"));
        pr_dw(b, level + 1, "Exit Code:\t%lld\n", (long long)pr_int(term, "exitCode", 0));
        if (pr_int(term, "signal", 0))
            pr_dw(b, level + 1, "Signal:\t%lld\n", (long long)pr_int(term, "signal", 0));
        dw_time(b, level + 1, "Started", term, "startedAt");
        dw_time(b, level + 1, "Finished", term, "finishedAt");
    } else {
        pr_dw(b, level, "%s:\tWaiting\n", title);
    }
}

static void
dw_ports(struct sk_buf *b, int level, const json_t *c)
{
    json_t *ports = pr_arr(c, "ports"), *p;
    size_t i, n = json_array_size(ports);
    struct sk_buf cp = SK_BUF_INIT, hp = SK_BUF_INIT;

    json_array_foreach (ports, i, p) {
        const char *proto = pr_str(p, "protocol") ? pr_str(p, "protocol") : "TCP";

        sk_buf_printf(&cp, "%s%lld/%s", i ? ", " : "", (long long)pr_int(p, "containerPort", 0),
                      proto);
        sk_buf_printf(&hp, "%s%lld/%s", i ? ", " : "", (long long)pr_int(p, "hostPort", 0), proto);
    }
    pr_dw(b, level, "%s:\t%s\n", n > 1 ? "Ports" : "Port", pr_none(cp.data));
    if (n)
        pr_dw(b, level, "%s:\t%s\n", n > 1 ? "Host Ports" : "Host Port", hp.data);
    sk_buf_release(&cp);
    sk_buf_release(&hp);
}

static void
dw_strings(struct sk_buf *b, int level, const char *title, const json_t *arr)
{
    json_t *v;
    size_t i;

    if (json_array_size(arr) == 0)
        return;
    pr_dw(b, level, "%s:\n", title);
    json_array_foreach ((json_t *)arr, i, v) {
        pr_dw(b, level + 1, "%s\n", json_is_string(v) ? json_string_value(v) : "");
    }
}

static void
dw_resources(struct sk_buf *b, int level, const char *title, const json_t *res)
{
    const char *key;
    json_t *v;
    char q[SK_QUANTITY_STR_MAX];
    struct sk_quantity qq;

    if (!json_is_object(res) || json_object_size(res) == 0)
        return;
    pr_dw(b, level, "%s:\n", title);
    json_object_foreach ((json_t *)res, key, v) {
        if (sk_quantity_from_json(v, &qq, NULL) < 0 || sk_quantity_format(&qq, q, sizeof(q)) < 0)
            sk_strlcpy(q, "<invalid>", sizeof(q));
        pr_dw(b, level + 1, "%s:\t%s\n", key, q);
    }
}

/* kubectl's DescribeProbe: "http-get http://:8080/healthz delay=0s
 * timeout=1s period=10s #success=1 #failure=3". */
static void
dw_probe(struct sk_buf *b, int level, const char *title, const json_t *p)
{
    json_t *cmd = pr_arr(p, "exec.command"), *v, *port;
    size_t i;

    if (!json_is_object(p))
        return;
    pr_dw(b, level, "%s:\t", title);
    if (cmd) {
        sk_buf_puts(b, "exec [");
        json_array_foreach (cmd, i, v) {
            sk_buf_printf(b, "%s%s", i ? " " : "", json_is_string(v) ? json_string_value(v) : "");
        }
        sk_buf_puts(b, "]");
    } else if (pr_obj(p, "httpGet")) {
        const char *scheme = pr_str(p, "httpGet.scheme");

        port = sk_json_get(p, "httpGet.port");
        sk_buf_printf(b, "http-get %s://%s:", scheme && !strcmp(scheme, "HTTPS") ? "https" : "http",
                      pr_str(p, "httpGet.host") ? pr_str(p, "httpGet.host") : "");
        if (json_is_string(port))
            sk_buf_puts(b, json_string_value(port));
        else
            sk_buf_printf(b, "%lld", (long long)json_integer_value(port));
        sk_buf_puts(b, pr_str(p, "httpGet.path") ? pr_str(p, "httpGet.path") : "");
    } else if (pr_obj(p, "tcpSocket")) {
        port = sk_json_get(p, "tcpSocket.port");
        sk_buf_printf(
            b, "tcp-socket %s:", pr_str(p, "tcpSocket.host") ? pr_str(p, "tcpSocket.host") : "");
        if (json_is_string(port))
            sk_buf_puts(b, json_string_value(port));
        else
            sk_buf_printf(b, "%lld", (long long)json_integer_value(port));
    } else {
        sk_buf_puts(b, "unknown");
    }
    sk_buf_printf(
        b, " delay=%llds timeout=%llds period=%llds #success=%lld #failure=%lld\n",
        (long long)pr_int(p, "initialDelaySeconds", 0), (long long)pr_int(p, "timeoutSeconds", 1),
        (long long)pr_int(p, "periodSeconds", 10), (long long)pr_int(p, "successThreshold", 1),
        (long long)pr_int(p, "failureThreshold", 3));
}

static void
dw_env_from(struct sk_buf *b, int level, const json_t *e)
{
    const char *name = pr_none(pr_str(e, "name"));
    const char *opt = pr_bool(e, "valueFrom.secretKeyRef.optional") ||
                              pr_bool(e, "valueFrom.configMapKeyRef.optional")
                          ? "true"
                          : "false";

    if (pr_obj(e, "valueFrom.secretKeyRef"))
        pr_dw(b, level, "%s:\t<set to the key '%s' in secret '%s'>\tOptional: %s\n", name,
              pr_none(pr_str(e, "valueFrom.secretKeyRef.key")),
              pr_none(pr_str(e, "valueFrom.secretKeyRef.name")), opt);
    else if (pr_obj(e, "valueFrom.configMapKeyRef"))
        pr_dw(b, level, "%s:\t<set to the key '%s' of config map '%s'>\tOptional: %s\n", name,
              pr_none(pr_str(e, "valueFrom.configMapKeyRef.key")),
              pr_none(pr_str(e, "valueFrom.configMapKeyRef.name")), opt);
    else if (pr_obj(e, "valueFrom.fieldRef"))
        pr_dw(b, level, "%s:\t (%s:%s)\n", name,
              pr_str(e, "valueFrom.fieldRef.apiVersion")
                  ? pr_str(e, "valueFrom.fieldRef.apiVersion")
                  : "v1",
              pr_none(pr_str(e, "valueFrom.fieldRef.fieldPath")));
    else if (pr_obj(e, "valueFrom.resourceFieldRef"))
        pr_dw(b, level, "%s:\t (%s)\n", name,
              pr_none(pr_str(e, "valueFrom.resourceFieldRef.resource")));
    else
        pr_dw(b, level, "%s:\t%s\n", name, pr_str(e, "value") ? pr_str(e, "value") : "");
}

static void
dw_env(struct sk_buf *b, int level, const json_t *c)
{
    json_t *env = pr_arr(c, "env"), *from = pr_arr(c, "envFrom"), *e;
    size_t i;

    if (json_array_size(from)) {
        pr_dw(b, level, "Environment Variables from:\n");
        json_array_foreach (from, i, e) {
            bool cm = pr_obj(e, "configMapRef") != NULL;

            pr_dw(b, level + 1, "%s\t%s\tOptional: %s\n",
                  pr_none(pr_str(e, cm ? "configMapRef.name" : "secretRef.name")),
                  cm ? "ConfigMap" : "Secret",
                  pr_bool(e, cm ? "configMapRef.optional" : "secretRef.optional") ? "true"
                                                                                  : "false");
        }
    }
    if (json_array_size(env) == 0) {
        pr_dw(b, level, "Environment:\t<none>\n");
        return;
    }
    pr_dw(b, level, "Environment:\n");
    json_array_foreach (env, i, e) {
        dw_env_from(b, level + 1, e);
    }
}

static void
dw_mounts(struct sk_buf *b, int level, const json_t *c)
{
    json_t *mounts = pr_arr(c, "volumeMounts"), *m;
    size_t i;

    if (json_array_size(mounts) == 0) {
        pr_dw(b, level, "Mounts:\t<none>\n");
        return;
    }
    pr_dw(b, level, "Mounts:\n");
    json_array_foreach (mounts, i, m) {
        const char *sub = pr_str(m, "subPath");

        pr_dw(b, level + 1, "%s from %s (%s", pr_none(pr_str(m, "mountPath")),
              pr_none(pr_str(m, "name")), pr_bool(m, "readOnly") ? "ro" : "rw");
        if (sub && *sub)
            sk_buf_printf(b, ",path=\"%s\"", sub);
        sk_buf_puts(b, ")\n");
    }
}

static void
dw_container(struct sk_buf *b, int level, const json_t *c, const json_t *st)
{
    pr_dw(b, level, "%s:\n", pr_none(pr_str(c, "name")));
    if (st)
        pr_dw(b, level + 1, "Container ID:\t%s\n",
              pr_str(st, "containerID") ? pr_str(st, "containerID") : "");
    pr_dw(b, level + 1, "Image:\t%s\n", pr_none(pr_str(c, "image")));
    if (st)
        pr_dw(b, level + 1, "Image ID:\t%s\n", pr_str(st, "imageID") ? pr_str(st, "imageID") : "");
    dw_ports(b, level + 1, c);
    dw_strings(b, level + 1, "Command", pr_arr(c, "command"));
    dw_strings(b, level + 1, "Args", pr_arr(c, "args"));
    if (st) {
        dw_state(b, level + 1, "State", pr_obj(st, "state"));
        if (pr_obj(st, "lastState.terminated"))
            dw_state(b, level + 1, "Last State", pr_obj(st, "lastState"));
        pr_dw(b, level + 1, "Ready:\t%s\n", pr_bool(st, "ready") ? "True" : "False");
        pr_dw(b, level + 1, "Restart Count:\t%lld\n", (long long)pr_int(st, "restartCount", 0));
    }
    dw_resources(b, level + 1, "Limits", pr_obj(c, "resources.limits"));
    dw_resources(b, level + 1, "Requests", pr_obj(c, "resources.requests"));
    dw_probe(b, level + 1, "Liveness", pr_obj(c, "livenessProbe"));
    dw_probe(b, level + 1, "Readiness", pr_obj(c, "readinessProbe"));
    dw_probe(b, level + 1, "Startup", pr_obj(c, "startupProbe"));
    dw_env(b, level + 1, c);
    dw_mounts(b, level + 1, c);
}

void
pr_dw_containers(struct sk_buf *b, int level, const char *title, const json_t *containers,
                 const json_t *statuses, int64_t now)
{
    json_t *c;
    size_t i;

    (void)now;
    pr_dw(b, level, "%s:\n", title);
    json_array_foreach ((json_t *)(json_is_array(containers) ? containers : NULL), i, c) {
        dw_container(b, level + 1, c, statuses ? status_of(statuses, pr_str(c, "name")) : NULL);
    }
}

static void
dw_volume(struct sk_buf *b, int level, const json_t *v)
{
    pr_dw(b, level, "%s:\n", pr_none(pr_str(v, "name")));
    level++;
    if (pr_obj(v, "emptyDir")) {
        pr_dw(b, level, "Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n");
        pr_dw(b, level, "Medium:\t%s\n",
              pr_str(v, "emptyDir.medium") ? pr_str(v, "emptyDir.medium") : "");
        pr_dw(b, level, "SizeLimit:\t%s\n",
              pr_str(v, "emptyDir.sizeLimit") ? pr_str(v, "emptyDir.sizeLimit") : "<unset>");
    } else if (pr_obj(v, "configMap")) {
        pr_dw(b, level, "Type:\tConfigMap (a volume populated by a ConfigMap)\n");
        pr_dw(b, level, "Name:\t%s\n", pr_none(pr_str(v, "configMap.name")));
        pr_dw(b, level, "Optional:\t%s\n", pr_bool(v, "configMap.optional") ? "true" : "false");
    } else if (pr_obj(v, "secret")) {
        pr_dw(b, level, "Type:\tSecret (a volume populated by a Secret)\n");
        pr_dw(b, level, "SecretName:\t%s\n", pr_none(pr_str(v, "secret.secretName")));
        pr_dw(b, level, "Optional:\t%s\n", pr_bool(v, "secret.optional") ? "true" : "false");
    } else if (pr_obj(v, "hostPath")) {
        pr_dw(b, level, "Type:\tHostPath (bare host directory volume)\n");
        pr_dw(b, level, "Path:\t%s\n", pr_none(pr_str(v, "hostPath.path")));
        pr_dw(b, level, "HostPathType:\t%s\n",
              pr_str(v, "hostPath.type") ? pr_str(v, "hostPath.type") : "");
    } else if (pr_obj(v, "persistentVolumeClaim")) {
        pr_dw(b, level,
              "Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim in "
              "the same namespace)\n");
        pr_dw(b, level, "ClaimName:\t%s\n", pr_none(pr_str(v, "persistentVolumeClaim.claimName")));
        pr_dw(b, level, "ReadOnly:\t%s\n",
              pr_bool(v, "persistentVolumeClaim.readOnly") ? "true" : "false");
    } else {
        pr_dw(b, level, "Type:\t<unknown>\n");
    }
}

void
pr_dw_volumes(struct sk_buf *b, int level, const json_t *volumes)
{
    json_t *v;
    size_t i;

    if (json_array_size(volumes) == 0) {
        pr_dw(b, level, "Volumes:\t<none>\n");
        return;
    }
    pr_dw(b, level, "Volumes:\n");
    json_array_foreach ((json_t *)volumes, i, v) {
        dw_volume(b, level + 1, v);
    }
}

/* Kubernetes's GetPodQOS: BestEffort without any cpu/memory request or
 * limit; Guaranteed when every container limits both and requests (if
 * given) equal the limits; else Burstable. */
static bool
res_get(const json_t *c, const char *kind, const char *res, struct sk_quantity *q)
{
    char path[64];

    snprintf(path, sizeof(path), "resources.%s.%s", kind, res);
    return sk_quantity_from_json(sk_json_get(c, path), q, NULL) == 0 && sk_quantity_sign(q) > 0;
}

static void
qos_container(const json_t *c, bool *any, bool *guaranteed)
{
    static const char *const res[] = {"cpu", "memory"};
    struct sk_quantity lim, req;

    for (size_t r = 0; r < 2; r++) {
        bool has_lim = res_get(c, "limits", res[r], &lim);
        bool has_req = res_get(c, "requests", res[r], &req);

        *any = *any || has_lim || has_req;
        if (!has_lim || (has_req && sk_quantity_cmp(&lim, &req) != 0))
            *guaranteed = false;
    }
}

const char *
pr_pod_qos(const json_t *pod)
{
    static const char *const lists[] = {"spec.containers", "spec.initContainers"};
    bool any = false, guaranteed = true;
    json_t *c;
    size_t i;

    if (pr_str(pod, "status.qosClass"))
        return pr_str(pod, "status.qosClass");
    for (size_t l = 0; l < 2; l++)
        json_array_foreach (pr_arr(pod, lists[l]), i, c) {
            qos_container(c, &any, &guaranteed);
        }
    if (!any)
        return "BestEffort";
    return guaranteed ? "Guaranteed" : "Burstable";
}
