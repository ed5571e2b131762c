/* Field labels (what `--field-selector` can name) and the pod binding
 * subresource: small pure helpers the server applies to stored objects. */
#include "validate_int.h"

#include "lib/alloc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Kubernetes's per-kind field label conversion functions, for the kinds
 * skiff has; metadata.name and metadata.namespace work for every kind. */
static const struct {
    const char *kind;
    const char *label;
} field_labels[] = {
    {"Pod", "spec.nodeName"},
    {"Pod", "spec.restartPolicy"},
    {"Pod", "spec.schedulerName"},
    {"Pod", "spec.serviceAccountName"},
    {"Pod", "status.phase"},
    {"Pod", "status.podIP"},
    {"Pod", "status.nominatedNodeName"},
    {"Node", "spec.unschedulable"},
    {"Namespace", "status.phase"},
    {"Secret", "type"},
    {"ReplicaSet", "status.replicas"},
    {"Event", "involvedObject.kind"},
    {"Event", "involvedObject.namespace"},
    {"Event", "involvedObject.name"},
    {"Event", "involvedObject.uid"},
    {"Event", "involvedObject.apiVersion"},
    {"Event", "involvedObject.resourceVersion"},
    {"Event", "involvedObject.fieldPath"},
    {"Event", "reason"},
    {"Event", "reportingComponent"},
    {"Event", "source"},
    {"Event", "type"},
};

static bool
label_supported(const struct api_kind *k, const char *label)
{
    if (!strcmp(label, "metadata.name") || !strcmp(label, "metadata.namespace"))
        return true;
    for (size_t i = 0; i < sizeof(field_labels) / sizeof(field_labels[0]); i++)
        if (!strcmp(field_labels[i].kind, k->kind) && !strcmp(field_labels[i].label, label))
            return true;
    return false;
}

/* Walk a dotted path of object keys. */
static const json_t *
dotted_get(const json_t *obj, const char *label)
{
    const char *p = label, *dot;
    char key[64];

    while (obj && (dot = strchr(p, '.'))) {
        if ((size_t)(dot - p) >= sizeof(key))
            return NULL;
        memcpy(key, p, (size_t)(dot - p));
        key[dot - p] = '\0';
        obj = json_object_get(obj, key);
        p = dot + 1;
    }
    return json_object_get(obj, p);
}

int
api_field_label_value(const json_t *obj, const struct api_kind *k, const char *label, char *out,
                      size_t outsz, struct sk_err *err)
{
    const json_t *v;

    if (!label_supported(k, label))
        return sk_err_set(err, EINVAL, "field label not supported: %s", label);
    /* Event "source" is the component that reported it */
    v = strcmp(label, "source") ? dotted_get(obj, label) : dotted_get(obj, "source.component");
    if (json_is_string(v))
        snprintf(out, outsz, "%s", json_string_value(v));
    else if (json_is_boolean(v))
        snprintf(out, outsz, "%s", json_is_true(v) ? "true" : "false");
    else if (json_is_integer(v))
        snprintf(out, outsz, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else
        snprintf(out, outsz, "%s", !strcmp(label, "spec.unschedulable") ? "false" : "");
    return 0;
}

/* Kubernetes's binding REST handler marks the pod PodScheduled=True in
 * the same write that sets spec.nodeName, so the condition never lags
 * the binding (a scheduler that said False before need not patch). */
static void
set_scheduled_condition(json_t *pod, int64_t now)
{
    json_t *status = json_object_get(pod, "status"), *conds, *c;
    char ts[API_TIME_LEN];
    size_t i;

    if (!json_is_object(status)) {
        status = json_object();
        json_object_set_new(pod, "status", status);
    }
    conds = json_object_get(status, "conditions");
    if (!json_is_array(conds)) {
        conds = json_array();
        json_object_set_new(status, "conditions", conds);
    }
    api_time_format(now, ts);
    json_array_foreach (conds, i, c) {
        const char *type = json_string_value(json_object_get(c, "type"));

        if (!json_is_object(c) || !type || strcmp(type, "PodScheduled"))
            continue;
        if (!json_is_string(json_object_get(c, "status")) ||
            strcmp(json_string_value(json_object_get(c, "status")), "True")) {
            json_object_set_new(c, "status", json_string("True"));
            json_object_set_new(c, "lastTransitionTime", json_string(ts));
        }
        json_object_del(c, "reason");
        json_object_del(c, "message");
        return;
    }
    json_array_append_new(conds, json_pack("{s:s,s:s,s:n,s:s}", "type", "PodScheduled", "status",
                                           "True", "lastProbeTime", "lastTransitionTime", ts));
}

int
api_pod_bind(json_t *pod, const json_t *binding, int64_t now, struct sk_err *err)
{
    const char *name = api_meta_name(pod), *node, *kind, *bound;
    json_t *spec = json_object_get(pod, "spec"), *target;

    target = json_object_get(binding, "target");
    node = json_string_value(json_object_get(target, "name"));
    kind = json_string_value(json_object_get(target, "kind"));
    if (!json_is_object(binding) || !node || !*node)
        return sk_err_set(err, EINVAL, "Binding \"%s\" is invalid: target.name: Required value",
                          name);
    if (kind && *kind && strcmp(kind, "Node"))
        return sk_err_set(err, EINVAL,
                          "Binding \"%s\" is invalid: target.kind: Unsupported value: \"%s\": "
                          "supported values: \"Node\"",
                          name, kind);
    if (!json_is_object(spec))
        return sk_err_set(err, EINVAL, "pod \"%s\" has no spec", name);
    if (json_object_get(api_meta_obj(pod), "deletionTimestamp"))
        return sk_err_set(err, ESTALE,
                          "Operation cannot be fulfilled on pods/binding \"%s\": pod %s is being "
                          "deleted, cannot be assigned to a host",
                          name, name);
    bound = json_string_value(json_object_get(spec, "nodeName"));
    if (bound && *bound)
        return sk_err_set(err, ESTALE,
                          "Operation cannot be fulfilled on pods/binding \"%s\": pod %s is "
                          "already assigned to node \"%s\"",
                          name, name, bound);
    json_object_set_new(spec, "nodeName", json_string(node));
    set_scheduled_condition(pod, now);
    return 0;
}
