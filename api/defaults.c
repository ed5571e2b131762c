/* Defaulting, as Kubernetes v1.28's SetDefaults_* functions do for the
 * fields skiff supports (pkg/apis/core/v1/defaults.go,
 * pkg/apis/apps/v1/defaults.go). A field is only defaulted when it is
 * absent or null; values of the wrong type are left for validation. */
#include "object.h"

#include "lib/alloc.h"
#include "lib/base64.h"

#include <stdlib.h>
#include <string.h>

static json_t *
field(const json_t *obj, const char *name)
{
    json_t *v = json_object_get(obj, name);

    return json_is_null(v) ? NULL : v;
}

static void
def_str(json_t *obj, const char *name, const char *value)
{
    if (json_is_object(obj) && !field(obj, name))
        json_object_set_new(obj, name, json_string(value));
}

static void
def_int(json_t *obj, const char *name, json_int_t value)
{
    if (json_is_object(obj) && !field(obj, name))
        json_object_set_new(obj, name, json_integer(value));
}

static void
def_bool(json_t *obj, const char *name, bool value)
{
    if (json_is_object(obj) && !field(obj, name))
        json_object_set_new(obj, name, json_boolean(value));
}

/* The object at name, created empty when absent; NULL if another type. */
static json_t *
def_obj(json_t *obj, const char *name)
{
    json_t *v;

    if (!json_is_object(obj))
        return NULL;
    v = field(obj, name);
    if (!v)
        json_object_set_new(obj, name, v = json_object());
    return json_is_object(v) ? v : NULL;
}

/* ---- containers ---- */

/* Always when the image has no tag or the tag is "latest", else
 * IfNotPresent; a digest (@sha256:...) counts as a tag. */
static const char *
pull_policy_for(const char *image)
{
    const char *slash = strrchr(image, '/'), *name = slash ? slash + 1 : image;
    const char *colon = strrchr(name, ':');

    if (!*image || strchr(name, '@'))
        return "IfNotPresent"; /* unparsable: Kubernetes finds no tag "latest" */
    if (!colon || !strcmp(colon + 1, "latest"))
        return "Always";
    return "IfNotPresent";
}

/* An HTTPGetAction, of a probe or a lifecycle hook alike (Kubernetes'
 * SetDefaults_HTTPGetAction). */
static void
def_http_get(json_t *handler)
{
    json_t *h = field(handler, "httpGet");

    if (!json_is_object(h))
        return;
    def_str(h, "path", "/");
    def_str(h, "scheme", "HTTP");
}

static void
def_probe(json_t *ctr, const char *which)
{
    json_t *p = field(ctr, which);

    if (!json_is_object(p))
        return;
    def_int(p, "timeoutSeconds", 1);
    def_int(p, "periodSeconds", 10);
    def_int(p, "successThreshold", 1);
    def_int(p, "failureThreshold", 3);
    def_http_get(p);
}

static void
def_lifecycle(json_t *ctr)
{
    json_t *lc = field(ctr, "lifecycle"), *h;

    if (!json_is_object(lc))
        return;
    if (json_is_object(h = field(lc, "postStart")))
        def_http_get(h);
    if (json_is_object(h = field(lc, "preStop")))
        def_http_get(h);
}

/* requests[r] = limits[r] for every limit without a request. */
static void
def_requests(json_t *ctr)
{
    json_t *res = field(ctr, "resources"), *limits, *requests, *q;
    const char *name;

    if (!json_is_object(res) || !json_is_object(limits = field(res, "limits")) ||
        json_object_size(limits) == 0)
        return;
    requests = def_obj(res, "requests");
    if (!requests)
        return;
    json_object_foreach (limits, name, q)
        if (!field(requests, name))
            json_object_set_new(requests, name, json_deep_copy(q));
}

static void
def_container(json_t *ctr, bool host_network)
{
    json_t *ports = field(ctr, "ports"), *p, *ev, *from;
    const char *image = json_string_value(field(ctr, "image"));
    size_t i;

    def_str(ctr, "imagePullPolicy", pull_policy_for(image ? image : ""));
    def_str(ctr, "terminationMessagePath", "/dev/termination-log");
    def_str(ctr, "terminationMessagePolicy", "File");
    def_obj(ctr, "resources");
    json_array_foreach (ports, i, p) {
        def_str(p, "protocol", "TCP");
        if (host_network && json_is_object(p) && field(p, "containerPort"))
            def_int(p, "hostPort", json_integer_value(field(p, "containerPort")));
    }
    json_array_foreach (field(ctr, "env"), i, ev) {
        from = field(ev, "valueFrom");
        if (json_is_object(from))
            def_str(field(from, "fieldRef"), "apiVersion", "v1");
    }
    def_requests(ctr);
    def_probe(ctr, "livenessProbe");
    def_probe(ctr, "readinessProbe");
    def_probe(ctr, "startupProbe");
    def_lifecycle(ctr);
}

static void
def_volumes(json_t *spec)
{
    json_t *vol, *src;
    size_t i;

    json_array_foreach (field(spec, "volumes"), i, vol) {
        if (json_is_object(src = field(vol, "configMap")))
            def_int(src, "defaultMode", 0644);
        if (json_is_object(src = field(vol, "secret")))
            def_int(src, "defaultMode", 0644);
        if (json_is_object(src = field(vol, "hostPath")))
            def_str(src, "type", "");
    }
}

void
api_pod_spec_default(json_t *spec)
{
    bool host_network = json_is_true(field(spec, "hostNetwork"));
    json_t *ctr;
    size_t i;

    if (!json_is_object(spec))
        return;
    def_str(spec, "restartPolicy", "Always");
    def_int(spec, "terminationGracePeriodSeconds", 30);
    def_str(spec, "dnsPolicy", "ClusterFirst");
    def_obj(spec, "securityContext");
    def_str(spec, "schedulerName", "default-scheduler");
    def_bool(spec, "enableServiceLinks", true);
    json_array_foreach (field(spec, "containers"), i, ctr)
        if (json_is_object(ctr))
            def_container(ctr, host_network);
    json_array_foreach (field(spec, "initContainers"), i, ctr)
        if (json_is_object(ctr))
            def_container(ctr, host_network);
    def_volumes(spec);
}

/* ---- workloads ---- */

static void
def_template(json_t *spec)
{
    json_t *tmpl = field(spec, "template");

    if (json_is_object(tmpl))
        api_pod_spec_default(field(tmpl, "spec"));
}

static void
def_replicaset(json_t *obj)
{
    json_t *spec = def_obj(obj, "spec");

    def_int(spec, "replicas", 1);
    def_template(spec);
}

static void
def_deployment(json_t *obj)
{
    json_t *spec = def_obj(obj, "spec"), *strategy, *ru;
    const char *type;

    if (!spec)
        return;
    def_int(spec, "replicas", 1);
    strategy = def_obj(spec, "strategy");
    def_str(strategy, "type", "RollingUpdate");
    type = json_string_value(field(strategy, "type"));
    if (type && !strcmp(type, "RollingUpdate")) {
        ru = def_obj(strategy, "rollingUpdate");
        def_str(ru, "maxUnavailable", "25%");
        def_str(ru, "maxSurge", "25%");
    }
    def_int(spec, "revisionHistoryLimit", 10);
    def_int(spec, "progressDeadlineSeconds", 600);
    def_template(spec);
}

/* ---- services ---- */

static void
def_service(json_t *obj)
{
    json_t *spec = def_obj(obj, "spec"), *p, *ip;
    const char *type;
    size_t i;

    if (!spec)
        return;
    def_str(spec, "type", "ClusterIP");
    def_str(spec, "sessionAffinity", "None");
    type = json_string_value(field(spec, "type"));
    json_array_foreach (field(spec, "ports"), i, p) {
        def_str(p, "protocol", "TCP");
        if (json_is_object(p) && json_is_integer(field(p, "port")) && !field(p, "targetPort"))
            json_object_set(p, "targetPort", field(p, "port"));
    }
    if (!type || strcmp(type, "ExternalName")) {
        def_str(spec, "internalTrafficPolicy", "Cluster");
        if (json_is_string(ip = field(spec, "clusterIP")) && !field(spec, "clusterIPs") &&
            json_string_length(ip))
            json_object_set_new(spec, "clusterIPs", json_pack("[O]", ip));
        if (!field(spec, "ipFamilies"))
            json_object_set_new(spec, "ipFamilies", json_pack("[s]", "IPv4"));
        def_str(spec, "ipFamilyPolicy", "SingleStack");
    }
    if (type && (!strcmp(type, "NodePort") || !strcmp(type, "LoadBalancer")))
        def_str(spec, "externalTrafficPolicy", "Cluster");
    if (type && !strcmp(type, "LoadBalancer"))
        def_bool(spec, "allocateLoadBalancerNodePorts", true);
    if (json_is_string(field(spec, "sessionAffinity")) &&
        !strcmp(json_string_value(field(spec, "sessionAffinity")), "ClientIP"))
        def_int(def_obj(def_obj(spec, "sessionAffinityConfig"), "clientIP"), "timeoutSeconds",
                10800);
}

static void
def_endpoints(json_t *obj)
{
    json_t *subset, *p;
    size_t i, j;

    json_array_foreach (field(obj, "subsets"), i, subset)
        json_array_foreach (field(subset, "ports"), j, p)
            def_str(p, "protocol", "TCP");
}

/* ---- config ---- */

static char *
base64_encode(const char *s, size_t n)
{
    char *out = sk_malloc(SK_BASE64_LEN(n) + 1);

    sk_base64_encode(s, n, out);
    return out;
}

/* stringData is write-only: its entries replace data's, base64-encoded
 * (Kubernetes does this when converting to the internal version). */
static void
def_secret(json_t *obj)
{
    json_t *sd = field(obj, "stringData"), *data, *val;
    const char *key;
    char *enc;

    def_str(obj, "type", "Opaque");
    if (!json_is_object(sd))
        return;
    data = def_obj(obj, "data");
    if (!data)
        return;
    json_object_foreach (sd, key, val) {
        if (!json_is_string(val))
            return; /* leave it for validation to report */
    }
    json_object_foreach (sd, key, val) {
        enc = base64_encode(json_string_value(val), json_string_length(val));
        json_object_set_new(data, key, json_string(enc));
        free(enc);
    }
    json_object_del(obj, "stringData");
}

static void
def_node(json_t *obj)
{
    json_t *status = field(obj, "status"), *cap;

    if (json_is_object(status) && json_is_object(cap = field(status, "capacity")) &&
        !field(status, "allocatable"))
        json_object_set_new(status, "allocatable", json_deep_copy(cap));
}

static void
def_role_binding(json_t *obj)
{
    json_t *s;
    const char *kind;
    size_t i;

    json_array_foreach (field(obj, "subjects"), i, s) {
        kind = json_string_value(field(s, "kind"));
        if (kind && (!strcmp(kind, "User") || !strcmp(kind, "Group")))
            def_str(s, "apiGroup", "rbac.authorization.k8s.io");
        else if (kind && !strcmp(kind, "ServiceAccount"))
            def_str(s, "apiGroup", "");
    }
}

static void
def_namespace(json_t *obj)
{
    def_str(def_obj(obj, "status"), "phase", "Active");
}

static void
def_pod(json_t *obj)
{
    api_pod_spec_default(def_obj(obj, "spec"));
}

void
api_object_default(json_t *obj, const struct api_kind *k)
{
    static const struct {
        const char *kind;
        void (*fn)(json_t *);
    } table[] = {
        {"Pod", def_pod},
        {"ReplicaSet", def_replicaset},
        {"Deployment", def_deployment},
        {"Service", def_service},
        {"Endpoints", def_endpoints},
        {"Secret", def_secret},
        {"Node", def_node},
        {"Namespace", def_namespace},
        {"RoleBinding", def_role_binding},
        {"ClusterRoleBinding", def_role_binding},
    };

    if (!json_is_object(obj))
        return;
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (!strcmp(table[i].kind, k->kind))
            table[i].fn(obj);
}
