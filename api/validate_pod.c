/* Pod and pod spec validation, following Kubernetes's ValidatePodSpec
 * (pkg/apis/core/validation) for the fields skiff supports. */
#include "validate_int.h"

#include <stdlib.h>
#include <string.h>

/* Context of one pod spec: the names seen so far (jansson objects used as
 * hash sets, so a pod with 100k containers stays linear). */
struct podv {
    json_t *volumes;   /* volume names */
    json_t *ctr_names; /* container names across init and regular */
};

static const char *const pull_policies[] = {"Always", "IfNotPresent", "Never", NULL};
static const char *const protocols[] = {"SCTP", "TCP", "UDP", NULL};
static const char *const restart_policies[] = {"Always", "OnFailure", "Never", NULL};
static const char *const preemption_policies[] = {"PreemptLowerPriority", "Never", NULL};
static const char *const dns_policies[] = {"ClusterFirstWithHostNet", "ClusterFirst", "Default",
                                           "None", NULL};
static const char *const term_msg_policies[] = {"File", "FallbackToLogsOnError", NULL};

/* ---- ports ---- */

static void
v_port_range(struct vctx *v, const json_t *obj, const char *field, bool required)
{
    int64_t port;

    if (!v_int(v, obj, field, &port)) {
        if (required && !json_object_get(obj, field))
            v_err(v, API_FE_REQUIRED, field, NULL, NULL);
        return;
    }
    if (required && port == 0)
        v_err(v, API_FE_REQUIRED, field, NULL, NULL);
    else if ((port != 0 || required) && (port < 1 || port > 65535))
        v_err_int(v, API_FE_INVALID, field, port, "must be between 1 and 65535, inclusive");
}

static void
v_container_ports(struct vctx *v, const json_t *ctr)
{
    json_t *ports = v_arr(v, ctr, "ports"), *p, *names = json_object();
    const char *name;
    size_t mark, imark;

    mark = vpath_child(v, "ports");
    for (size_t i = 0; i < json_array_size(ports); i++) {
        if (!(p = v_elem_obj(v, ports, i)))
            continue;
        imark = vpath_index(v, i);
        name = v_str(v, p, "name");
        if (name && *name) {
            if (!v_port_name(v, "name", name) && json_object_get(names, name))
                v_err_str(v, API_FE_DUPLICATE, "name", name, NULL);
            json_object_set_new(names, name, json_true());
        }
        v_port_range(v, p, "containerPort", true);
        v_port_range(v, p, "hostPort", false);
        v_enum(v, p, "protocol", protocols, true);
        if (v_str(v, p, "hostIP") && *json_string_value(json_object_get(p, "hostIP")) &&
            !v_ipv4_ok(json_string_value(json_object_get(p, "hostIP"))))
            v_err(v, API_FE_INVALID, "hostIP", json_object_get(p, "hostIP"),
                  "must be a valid IP address");
        vpath_pop(v, imark);
    }
    vpath_pop(v, mark);
    json_decref(names);
}

/* ---- env ---- */

/* [-._a-zA-Z][-._a-zA-Z0-9]* and not "." / ".." / "..*" */
static void
v_env_name(struct vctx *v, const char *name)
{
    bool ok = !(name[0] >= '0' && name[0] <= '9');

    for (const char *c = name; *c && ok; c++)
        ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
             strchr("-._", *c);
    if (!ok)
        v_err_str(v, API_FE_INVALID, "name", name,
                  "a valid environment variable name must consist of alphabetic characters, "
                  "digits, '_', '-', or '.', and must not start with a digit (e.g. "
                  "'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation "
                  "is '[-._a-zA-Z][-._a-zA-Z0-9]*')");
    if (!strcmp(name, ".") || !strcmp(name, ".."))
        v_err_str(v, API_FE_INVALID, "name", name, "must not be '%s'", name);
    else if (sk_startswith(name, ".."))
        v_err_str(v, API_FE_INVALID, "name", name, "must not start with '..'");
}

static void
v_env_value_from(struct vctx *v, const json_t *ev)
{
    static const char *const sources[] = {"fieldRef", "resourceFieldRef", "configMapKeyRef",
                                          "secretKeyRef"};
    json_t *from = v_obj(v, ev, "valueFrom"), *src, *one = NULL;
    const char *value = v_str(v, ev, "value"), *key;
    size_t n = 0, mark;

    if (!from)
        return;
    mark = vpath_child(v, "valueFrom");
    for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++)
        if ((src = v_obj(v, from, sources[i])))
            n++, one = src;
    if (n == 0)
        v_err_str(v, API_FE_INVALID, NULL, "",
                  "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or "
                  "`secretKeyRef`");
    else if (n > 1)
        v_err(v, API_FE_INVALID, NULL, NULL,
              "may not have more than one field specified at a time");
    if (n == 1 && (json_object_get(from, "configMapKeyRef") == one ||
                   json_object_get(from, "secretKeyRef") == one)) {
        key = v_str(v, one, "key");
        vpath_child(v, json_object_get(from, "secretKeyRef") == one ? "secretKeyRef"
                                                                    : "configMapKeyRef");
        if (!key || !*key)
            v_err(v, API_FE_REQUIRED, "key", NULL, NULL);
    }
    vpath_pop(v, mark);
    if (value && *value)
        v_err_str(v, API_FE_INVALID, "valueFrom", "",
                  "may not be specified when `value` is not empty");
}

static void
v_env(struct vctx *v, const json_t *ctr)
{
    json_t *env = v_arr(v, ctr, "env"), *ev;
    const char *name;
    size_t mark, imark;

    mark = vpath_child(v, "env");
    for (size_t i = 0; i < json_array_size(env); i++) {
        if (!(ev = v_elem_obj(v, env, i)))
            continue;
        imark = vpath_index(v, i);
        name = v_str(v, ev, "name");
        if (!name || !*name)
            v_err(v, API_FE_REQUIRED, "name", NULL, NULL);
        else
            v_env_name(v, name);
        v_env_value_from(v, ev);
        vpath_pop(v, imark);
    }
    vpath_pop(v, mark);
}

/* ---- resources ---- */

static bool
standard_resource(const char *name)
{
    return !strcmp(name, "cpu") || !strcmp(name, "memory") || !strcmp(name, "ephemeral-storage") ||
           sk_startswith(name, "hugepages-");
}

static bool
v_quantity(struct vctx *v, const char *name, const json_t *q, int64_t *milli)
{
    struct sk_err err;
    struct sk_err kerr;
    size_t mark = vpath_key(v, name);
    bool ok = false;

    sk_err_init(&err);
    sk_err_init(&kerr);
    if (!standard_resource(name) && (!strchr(name, '/') || ext_label_key_valid(name, &kerr) < 0))
        v_err_str(v, API_FE_INVALID, NULL, name, "must be a standard resource for containers");
    else if (ext_quantity_milli(q, milli, &err) < 0)
        v_err(v, API_FE_INVALID, NULL, q, "%s", err.msg);
    else if (*milli < 0)
        v_err(v, API_FE_INVALID, NULL, q, "must be greater than or equal to 0");
    else
        ok = true;
    vpath_pop(v, mark);
    return ok;
}

static void
v_resources(struct vctx *v, const json_t *ctr)
{
    json_t *res = v_obj(v, ctr, "resources"), *limits, *requests, *q, *lim;
    const char *name, *limit_text;
    char *num = NULL;
    int64_t req_m, lim_m;
    size_t mark;

    if (!res)
        return;
    mark = vpath_child(v, "resources");
    limits = v_obj(v, res, "limits");
    requests = v_obj(v, res, "requests");
    vpath_child(v, "limits");
    json_object_foreach (limits, name, q)
        v_quantity(v, name, q, &lim_m);
    vpath_pop(v, mark);
    vpath_child(v, "resources");
    vpath_child(v, "requests");
    json_object_foreach (requests, name, q) {
        if (!v_quantity(v, name, q, &req_m))
            continue;
        lim = json_object_get(limits, name);
        if (!lim || ext_quantity_milli(lim, &lim_m, NULL) < 0 || req_m == lim_m)
            continue;
        limit_text =
            json_is_string(lim) ? json_string_value(lim) : (num = json_dumps(lim, JSON_ENCODE_ANY));
        /* extended resources and hugepages cannot be overcommitted */
        if (strchr(name, '/') || sk_startswith(name, "hugepages-"))
            v_err(v, API_FE_INVALID, NULL, q, "must be equal to %s limit of %s", name, limit_text);
        else if (req_m > lim_m)
            v_err(v, API_FE_INVALID, NULL, q, "must be less than or equal to %s limit of %s", name,
                  limit_text);
        free(num);
        num = NULL;
    }
    vpath_pop(v, mark);
}

/* ---- volume mounts ---- */

static void
v_volume_mounts(struct vctx *v, const json_t *ctr, const struct podv *pv)
{
    json_t *mounts = v_arr(v, ctr, "volumeMounts"), *m, *paths = json_object();
    const char *name, *path;
    size_t mark, imark;

    mark = vpath_child(v, "volumeMounts");
    for (size_t i = 0; i < json_array_size(mounts); i++) {
        if (!(m = v_elem_obj(v, mounts, i)))
            continue;
        imark = vpath_index(v, i);
        name = v_str(v, m, "name");
        path = v_str(v, m, "mountPath");
        if (!name || !*name)
            v_err(v, API_FE_REQUIRED, "name", NULL, NULL);
        else if (!json_object_get(pv->volumes, name))
            v_err_str(v, API_FE_NOT_FOUND, "name", name, NULL);
        if (!path || !*path)
            v_err(v, API_FE_REQUIRED, "mountPath", NULL, NULL);
        else if (json_object_get(paths, path))
            v_err_str(v, API_FE_INVALID, "mountPath", path, "must be unique");
        else
            json_object_set_new(paths, path, json_true());
        v_str(v, m, "subPath");
        v_bool(v, m, "readOnly", &(bool){false});
        vpath_pop(v, imark);
    }
    vpath_pop(v, mark);
    json_decref(paths);
}

/* ---- probes ---- */

/* The one handler of a probe or hook among names (NULL-terminated): the
 * first present, with *name set; errors for none and for more than one
 * (Kubernetes' wording). NULL when there is none. */
static const json_t *
v_one_handler(struct vctx *v, const json_t *obj, const char *const *names, const char **name)
{
    const json_t *o, *seen = NULL;

    for (size_t i = 0; names[i]; i++) {
        if (!(o = v_obj(v, obj, names[i])))
            continue;
        if (!seen) {
            seen = o, *name = names[i];
            continue;
        }
        v_err(v, API_FE_FORBIDDEN, names[i], NULL, "may not specify more than 1 handler type");
    }
    if (!seen)
        v_err(v, API_FE_REQUIRED, NULL, NULL, "must specify a handler type");
    return seen;
}

/* An exec, httpGet or tcpSocket action, at its path: the same checks for
 * probes and lifecycle hooks (Kubernetes' validateExecAction,
 * validateHTTPGetAction, validateTCPSocketAction; path and scheme are
 * defaulted before, api/defaults.c). */
static void
v_handler_action(struct vctx *v, const char *name, const json_t *action)
{
    if (!strcmp(name, "exec")) {
        if (json_array_size(v_str_list(v, action, "command")) == 0)
            v_err(v, API_FE_REQUIRED, "command", NULL, NULL);
        return;
    }
    if (!strcmp(name, "httpGet")) {
        const char *path = v_str(v, action, "path");

        if (!path || !*path)
            v_err(v, API_FE_REQUIRED, "path", NULL, NULL);
        v_str(v, action, "host");
        v_enum(v, action, "scheme", (const char *const[]){"HTTP", "HTTPS", NULL}, false);
    }
    v_port_num_or_name(v, action, "port", true);
}

static void
v_handler(struct vctx *v, const json_t *probe)
{
    static const char *const handlers[] = {"exec", "httpGet", "tcpSocket", "grpc", NULL};
    const char *seen_name = NULL;
    const json_t *seen = v_one_handler(v, probe, handlers, &seen_name);
    size_t mark;

    if (!seen)
        return;
    mark = vpath_child(v, seen_name);
    if (!strcmp(seen_name, "grpc"))
        v_port_range(v, seen, "port", true);
    else
        v_handler_action(v, seen_name, seen);
    vpath_pop(v, mark);
}

static void
v_probe(struct vctx *v, const json_t *ctr, const char *which, bool init)
{
    static const char *const ints[] = {"initialDelaySeconds", "timeoutSeconds", "periodSeconds",
                                       "successThreshold", "failureThreshold"};
    json_t *probe = v_obj(v, ctr, which);
    int64_t n;
    size_t mark;

    if (!probe)
        return;
    if (init) {
        v_err(v, API_FE_FORBIDDEN, which, NULL, "may not be set for init containers");
        return;
    }
    mark = vpath_child(v, which);
    v_handler(v, probe);
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
        v_nonneg(v, probe, ints[i]);
    if (strcmp(which, "readinessProbe") && v_int(v, probe, "successThreshold", &n) && n != 1)
        v_err_int(v, API_FE_INVALID, "successThreshold", n, "must be 1");
    vpath_pop(v, mark);
}

/* ---- lifecycle hooks ---- */

/* A LifecycleHandler: exactly one of exec, httpGet, tcpSocket (accepted
 * by the API as in Kubernetes, where the kubelet ignores it), sleep. */
static void
v_lifecycle_handler(struct vctx *v, const json_t *h)
{
    static const char *const kinds[] = {"exec", "httpGet", "tcpSocket", "sleep", NULL};
    const char *seen_name = NULL;
    const json_t *seen = v_one_handler(v, h, kinds, &seen_name);
    size_t mark;
    int64_t secs;

    if (!seen)
        return;
    mark = vpath_child(v, seen_name);
    if (strcmp(seen_name, "sleep") != 0)
        v_handler_action(v, seen_name, seen);
    else if (!v_int64(v, seen, "seconds", &secs))
        v_err(v, API_FE_REQUIRED, "seconds", NULL, NULL);
    else if (secs < 0)
        v_err_int(v, API_FE_INVALID, "seconds", secs, "must be greater than or equal to 0");
    vpath_pop(v, mark);
}

static void
v_lifecycle(struct vctx *v, const json_t *ctr, bool init)
{
    static const char *const hooks[] = {"postStart", "preStop"};
    json_t *lc = v_obj(v, ctr, "lifecycle"), *h;
    size_t mark, hmark;

    if (!lc)
        return;
    if (init) {
        v_err(v, API_FE_FORBIDDEN, "lifecycle", NULL, "may not be set for init containers");
        return;
    }
    mark = vpath_child(v, "lifecycle");
    for (size_t i = 0; i < 2; i++) {
        if (!(h = v_obj(v, lc, hooks[i])))
            continue;
        hmark = vpath_child(v, hooks[i]);
        v_lifecycle_handler(v, h);
        vpath_pop(v, hmark);
    }
    vpath_pop(v, mark);
}

/* ---- containers ---- */

static void
v_container_name(struct vctx *v, const json_t *ctr, struct podv *pv)
{
    const char *name = v_str(v, ctr, "name");

    if (!name || !*name) {
        v_err(v, API_FE_REQUIRED, "name", NULL, NULL);
        return;
    }
    if (v_dns1123_label(v, "name", name))
        return;
    if (json_object_get(pv->ctr_names, name))
        v_err_str(v, API_FE_DUPLICATE, "name", name, NULL);
    json_object_set_new(pv->ctr_names, name, json_true());
}

static void
v_container(struct vctx *v, const json_t *ctr, struct podv *pv, bool init)
{
    const char *image;
    size_t n;

    v_container_name(v, ctr, pv);
    image = v_str(v, ctr, "image");
    if (!image || !*image)
        v_err(v, API_FE_REQUIRED, "image", NULL, NULL);
    else if ((n = strlen(image)) &&
             (image[0] == ' ' || image[n - 1] == ' ' || image[0] == '\t' || image[n - 1] == '\t'))
        v_err_str(v, API_FE_INVALID, "image", image,
                  "must not have leading or trailing whitespace");
    v_enum(v, ctr, "imagePullPolicy", pull_policies, true);
    v_enum(v, ctr, "terminationMessagePolicy", term_msg_policies, true);
    v_str_list(v, ctr, "command");
    v_str_list(v, ctr, "args");
    v_str(v, ctr, "workingDir");
    v_str(v, ctr, "terminationMessagePath");
    v_bool(v, ctr, "stdin", &(bool){false});
    v_bool(v, ctr, "tty", &(bool){false});
    v_obj(v, ctr, "securityContext");
    v_container_ports(v, ctr);
    v_env(v, ctr);
    v_arr(v, ctr, "envFrom");
    v_resources(v, ctr);
    v_volume_mounts(v, ctr, pv);
    v_probe(v, ctr, "livenessProbe", init);
    v_probe(v, ctr, "readinessProbe", init);
    v_probe(v, ctr, "startupProbe", init);
    v_lifecycle(v, ctr, init);
}

static void
v_containers(struct vctx *v, const json_t *spec, const char *field, struct podv *pv)
{
    json_t *ctrs = v_arr(v, spec, field), *c;
    bool init = !strcmp(field, "initContainers");
    size_t mark, imark;

    if (!init && json_array_size(ctrs) == 0) {
        if (!json_object_get(spec, field) || json_is_array(json_object_get(spec, field)) ||
            json_is_null(json_object_get(spec, field)))
            v_err(v, API_FE_REQUIRED, field, NULL, NULL);
        return;
    }
    mark = vpath_child(v, field);
    for (size_t i = 0; i < json_array_size(ctrs); i++) {
        if (!(c = v_elem_obj(v, ctrs, i)))
            continue;
        imark = vpath_index(v, i);
        v_container(v, c, pv, init);
        vpath_pop(v, imark);
    }
    vpath_pop(v, mark);
}

/* ---- the spec ---- */

static void
v_pod_scalars(struct vctx *v, const json_t *spec)
{
    static const char *const subdomain_fields[] = {"nodeName", "serviceAccountName",
                                                   "schedulerName", "priorityClassName"};
    const char *s;
    int64_t n;

    v_enum(v, spec, "restartPolicy", restart_policies, true);
    v_enum(v, spec, "dnsPolicy", dns_policies, true);
    if (v_int64(v, spec, "terminationGracePeriodSeconds", &n) && n < 0)
        v_err_int(v, API_FE_INVALID, "terminationGracePeriodSeconds", n,
                  "must be greater than or equal to 0");
    if (v_int64(v, spec, "activeDeadlineSeconds", &n) && (n < 1 || n > INT32_MAX))
        v_err_int(v, API_FE_INVALID, "activeDeadlineSeconds", n,
                  "must be between 1 and 2147483647, inclusive");
    /* The scheduler orders and preempts by spec.priority, an int32 as in
     * Kubernetes (set directly: skiff has no PriorityClass objects). */
    v_int(v, spec, "priority", &n);
    v_enum(v, spec, "preemptionPolicy", preemption_policies, false);
    for (size_t i = 0; i < sizeof(subdomain_fields) / sizeof(subdomain_fields[0]); i++)
        if ((s = v_str(v, spec, subdomain_fields[i])) && *s)
            v_dns1123_subdomain(v, subdomain_fields[i], s);
    if ((s = v_str(v, spec, "hostname")) && *s)
        v_dns1123_label(v, "hostname", s);
    if ((s = v_str(v, spec, "subdomain")) && *s)
        v_dns1123_label(v, "subdomain", s);
    v_labels(v, spec, "nodeSelector");
    v_bool(v, spec, "hostNetwork", &(bool){false});
    v_bool(v, spec, "hostPID", &(bool){false});
    v_bool(v, spec, "hostIPC", &(bool){false});
    v_bool(v, spec, "enableServiceLinks", &(bool){false});
    v_obj(v, spec, "securityContext");
}

void
v_pod_spec(struct vctx *v, const json_t *spec)
{
    struct podv pv = {json_object(), json_object()};

    v_volumes(v, spec, pv.volumes);
    v_containers(v, spec, "initContainers", &pv);
    v_containers(v, spec, "containers", &pv);
    v_pod_scalars(v, spec);
    v_tolerations(v, spec);
    v_affinity(v, spec);
    json_decref(pv.volumes);
    json_decref(pv.ctr_names);
}

void
v_pod(struct vctx *v, const json_t *obj)
{
    json_t *spec = v_obj(v, obj, "spec"), *empty = NULL;
    size_t mark;

    if (!spec && json_object_get(obj, "spec") && !json_is_null(json_object_get(obj, "spec")))
        return;
    if (!spec)
        spec = empty = json_object();
    mark = vpath_child(v, "spec");
    v_pod_spec(v, spec);
    vpath_pop(v, mark);
    json_decref(empty);
    v_obj(v, obj, "status");
}
