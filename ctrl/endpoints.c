/* The Endpoints of a Service (Kubernetes' endpoints controller
 * syncService, podToEndpointAddressForService, FindPort, RepackSubsets):
 * which pods back the Service, on which ports, and whether they are
 * ready. Used by the Endpoints controller and the service proxy.
 *
 * A pod counts when it matches spec.selector, has status.podIP, is not
 * terminating (unless publishNotReadyAddresses) and can still run (not
 * Succeeded/Failed under restartPolicy Never, not Succeeded under
 * OnFailure). Each service port's targetPort (default: port) resolves to
 * a number, or by name to the pod's container port of that name and
 * protocol; a pod without the named port is left out of that port only.
 * Pods with the same resolved ports share a subset. Output order:
 * subsets by their ports, ports by name, port and protocol, addresses by
 * IP then pod name. */

#include "ctrl/ctrl_int.h"
#include "lib/alloc.h"
#include "lib/json.h"
#include "lib/selector.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *
str_or(const json_t *v, const char *def)
{
    const char *s = json_string_value(v);

    return s ? s : def;
}

/* The container port named name with protocol proto, or -1. */
static int64_t
named_port(const json_t *pod, const char *name, const char *proto)
{
    json_t *cs = sk_json_get(pod, "spec.containers"), *c, *p;
    size_t i, j;

    json_array_foreach (cs, i, c) {
        json_array_foreach (json_object_get(c, "ports"), j, p) {
            if (!strcmp(str_or(json_object_get(p, "name"), ""), name) &&
                !strcmp(str_or(json_object_get(p, "protocol"), "TCP"), proto) &&
                json_is_integer(json_object_get(p, "containerPort")))
                return json_integer_value(json_object_get(p, "containerPort"));
        }
    }
    return -1;
}

static int
port_cmp(const void *pa, const void *pb)
{
    const json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
    int r = strcmp(str_or(json_object_get(a, "name"), ""), str_or(json_object_get(b, "name"), ""));
    json_int_t x = json_integer_value(json_object_get(a, "port"));
    json_int_t y = json_integer_value(json_object_get(b, "port"));

    if (r)
        return r;
    if (x != y)
        return x < y ? -1 : 1;
    return strcmp(str_or(json_object_get(a, "protocol"), ""),
                  str_or(json_object_get(b, "protocol"), ""));
}

static int
addr_cmp(const void *pa, const void *pb)
{
    const json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
    int r = strcmp(str_or(json_object_get(a, "ip"), ""), str_or(json_object_get(b, "ip"), ""));

    if (r)
        return r;
    return strcmp(str_or(sk_json_get(a, "targetRef.name"), ""),
                  str_or(sk_json_get(b, "targetRef.name"), ""));
}

static void
array_sort(json_t *arr, int (*cmp)(const void *, const void *))
{
    size_t n = json_array_size(arr), i;
    json_t **v;

    if (n < 2)
        return;
    v = sk_calloc(n, sizeof(*v));
    for (i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(arr, i));
    qsort(v, n, sizeof(*v), cmp);
    json_array_clear(arr);
    for (i = 0; i < n; i++)
        json_array_append_new(arr, v[i]);
    free(v);
}

/* The pod's resolved ports for svc, sorted; errors name the field. */
static int
pod_ports(const json_t *svc, const json_t *pod, json_t **out, struct sk_err *err)
{
    json_t *ports = sk_json_get(svc, "spec.ports"), *sp, *res = json_array();
    size_t i;

    json_array_foreach (ports, i, sp) {
        json_t *tp = json_object_get(sp, "targetPort"), *port = json_object_get(sp, "port");
        const char *proto = str_or(json_object_get(sp, "protocol"), "TCP");
        int64_t num = -1;
        json_t *ep;

        if (!json_is_integer(port)) {
            json_decref(res);
            return sk_err_set(err, EINVAL, "spec.ports[%zu].port: must be an integer", i);
        }
        if (!tp || json_is_null(tp))
            num = json_integer_value(port);
        else if (json_is_integer(tp))
            num = json_integer_value(tp);
        else if (json_is_string(tp))
            num = named_port(pod, json_string_value(tp), proto);
        else {
            json_decref(res);
            return sk_err_set(err, EINVAL,
                              "spec.ports[%zu].targetPort: must be an integer or a "
                              "string",
                              i);
        }
        if (num <= 0)
            continue;
        ep = json_pack("{s:I, s:s}", "port", (json_int_t)num, "protocol", proto);
        /* omitted when empty, as the API server writes it */
        if (*str_or(json_object_get(sp, "name"), ""))
            json_object_set(ep, "name", json_object_get(sp, "name"));
        if (json_is_string(json_object_get(sp, "appProtocol")))
            json_object_set(ep, "appProtocol", json_object_get(sp, "appProtocol"));
        json_array_append_new(res, ep);
    }
    array_sort(res, port_cmp);
    *out = res;
    return 0;
}

static int
pod_eligible(const json_t *pod, int include_terminating)
{
    const char *ip = json_string_value(sk_json_get(pod, "status.podIP"));
    const char *rp = str_or(sk_json_get(pod, "spec.restartPolicy"), "Always");
    const char *phase = str_or(sk_json_get(pod, "status.phase"), "");

    if (!ip || !*ip || (!include_terminating && ctrl_obj_deleting(pod)))
        return 0;
    if (!strcmp(rp, "Never"))
        return strcmp(phase, "Failed") && strcmp(phase, "Succeeded");
    if (!strcmp(rp, "OnFailure"))
        return strcmp(phase, "Succeeded") != 0;
    return 1;
}

static json_t *
pod_address(const json_t *svc, const json_t *pod)
{
    const char *node = json_string_value(sk_json_get(pod, "spec.nodeName"));
    const char *host = json_string_value(sk_json_get(pod, "spec.hostname"));
    const char *sub = json_string_value(sk_json_get(pod, "spec.subdomain"));
    const char *sname = json_string_value(sk_json_get(svc, "metadata.name"));
    json_t *a = json_pack("{s:O}", "ip", sk_json_get(pod, "status.podIP")), *ref;

    /* A pod's own DNS name is published only under its subdomain. */
    if (host && *host && sub && sname && !strcmp(sub, sname))
        json_object_set_new(a, "hostname", json_string(host));
    if (node && *node)
        json_object_set_new(a, "nodeName", json_string(node));
    ref = json_pack("{s:s}", "kind", "Pod");
    json_object_set(ref, "namespace", sk_json_get(pod, "metadata.namespace"));
    json_object_set(ref, "name", sk_json_get(pod, "metadata.name"));
    if (json_is_string(sk_json_get(pod, "metadata.uid")))
        json_object_set(ref, "uid", sk_json_get(pod, "metadata.uid"));
    json_object_set_new(a, "targetRef", ref);
    return a;
}

/* Add pod to the subset keyed by its resolved ports. */
static int
add_pod(const json_t *svc, const json_t *pod, int ready, json_t *groups, struct sk_err *err)
{
    json_t *ports = NULL, *sub;
    char *key;
    int rc = pod_ports(svc, pod, &ports, err);

    if (rc < 0)
        return rc;
    /* Pods that resolve none of the ports serve nothing, unless the
     * Service is headless without ports (DNS only), as Kubernetes. */
    if (json_array_size(ports) == 0 &&
        (json_array_size(sk_json_get(svc, "spec.ports")) > 0 ||
         strcmp(str_or(sk_json_get(svc, "spec.clusterIP"), ""), "None") != 0)) {
        json_decref(ports);
        return 0;
    }
    key = sk_json_dump_line(ports);
    sub = json_object_get(groups, key);
    if (!sub) {
        sub = json_pack("{s:[], s:[], s:O}", "addresses", "notReadyAddresses", "ports", ports);
        json_object_set_new(groups, key, sub);
    }
    json_array_append_new(json_object_get(sub, ready ? "addresses" : "notReadyAddresses"),
                          pod_address(svc, pod));
    free(key);
    json_decref(ports);
    return 0;
}

static int
strcmp_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static json_t *
assemble(const json_t *svc, json_t *groups)
{
    json_t *subsets = json_array(), *sub, *ep, *labels;
    const char *key, *cip = json_string_value(sk_json_get(svc, "spec.clusterIP"));
    size_t n = json_object_size(groups), i = 0;
    const char **keys = sk_calloc(n + 1, sizeof(*keys));

    json_object_foreach (groups, key, sub)
        keys[i++] = key;
    qsort(keys, n, sizeof(*keys), strcmp_ptr);
    for (i = 0; i < n; i++) {
        sub = json_object_get(groups, keys[i]);
        array_sort(json_object_get(sub, "addresses"), addr_cmp);
        array_sort(json_object_get(sub, "notReadyAddresses"), addr_cmp);
        if (json_array_size(json_object_get(sub, "addresses")) == 0)
            json_object_del(sub, "addresses");
        if (json_array_size(json_object_get(sub, "notReadyAddresses")) == 0)
            json_object_del(sub, "notReadyAddresses");
        if (json_array_size(json_object_get(sub, "ports")) == 0)
            json_object_del(sub, "ports");
        json_array_append(subsets, sub);
    }
    free(keys);
    labels = sk_json_get(svc, "metadata.labels");
    labels = json_is_object(labels) ? json_deep_copy(labels) : json_object();
    if (cip && !strcmp(cip, "None"))
        json_object_set_new(labels, "service.kubernetes.io/headless", json_string(""));
    ep = json_pack("{s:s, s:s, s:{s:O, s:s, s:o}, s:o}", "apiVersion", "v1", "kind", "Endpoints",
                   "metadata", "name", sk_json_get(svc, "metadata.name"), "namespace",
                   str_or(sk_json_get(svc, "metadata.namespace"), "default"), "labels", labels,
                   "subsets", subsets);
    return ep;
}

int
ctrl_endpoints_compute(const json_t *svc, const json_t *pods, json_t **out, struct sk_err *err)
{
    struct sk_selector sel;
    json_t *map, *ports, *groups, *pod;
    bool publish;
    const char *name, *ns;
    size_t i;
    int rc;

    *out = NULL;
    sk_selector_init(&sel);
    if ((rc = sk_json_get_string(svc, "metadata.name", &name, err)) < 0 ||
        (rc = sk_json_opt_string(svc, "metadata.namespace", "default", &ns, err)) < 0 ||
        (rc = sk_json_opt_object(svc, "spec.selector", &map, err)) < 0 ||
        (rc = sk_json_opt_array(svc, "spec.ports", &ports, err)) < 0 ||
        (rc = sk_json_opt_bool(svc, "spec.publishNotReadyAddresses", false, &publish, err)) < 0)
        return sk_err_wrap(err, "service");
    if (!map)
        return 1;
    if (!json_is_array(pods))
        return sk_err_set(err, EINVAL, "service '%s/%s': pods: must be an array", ns, name);
    rc = sk_selector_from_map(map, &sel, "spec.selector", err);
    groups = json_object();
    json_array_foreach (pods, i, pod) {
        const char *pns;

        if (rc < 0)
            break;
        if (!json_is_object(pod)) {
            rc = sk_err_set(err, EINVAL, "pods[%zu]: must be an object", i);
            break;
        }
        pns = str_or(sk_json_get(pod, "metadata.namespace"), ns);
        if (strcmp(pns, ns) ||
            !sk_selector_matches_json(&sel, sk_json_get(pod, "metadata.labels")) ||
            !pod_eligible(pod, publish))
            continue;
        rc = add_pod(svc, pod, publish || ctrl_pod_ready(pod), groups, err);
    }
    if (rc >= 0)
        *out = assemble(svc, groups);
    else
        sk_err_wrap(err, "service '%s/%s'", ns, name);
    json_decref(groups);
    sk_selector_release(&sel);
    return rc < 0 ? rc : 0;
}
