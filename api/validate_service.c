/* Service and Endpoints validation (Kubernetes's ValidateService and
 * ValidateEndpoints). skiff is IPv4-only: clusterIP is "", "None" or an
 * IPv4 address. Whether a clusterIP or nodePort is in the configured
 * range and free is the allocator's to say (objects_alloc.c), as in
 * kube-apiserver. */
#include "validate_int.h"

#include <stdio.h>
#include <string.h>

static const char *const svc_types[] = {"ClusterIP", "ExternalName", "LoadBalancer", "NodePort",
                                        NULL};
static const char *const protocols[] = {"SCTP", "TCP", "UDP", NULL};

static void
v_service_port(struct vctx *v, const json_t *p, const char *type, size_t nports, json_t *names)
{
    const char *name = v_str(v, p, "name");
    bool node_ports = type && (!strcmp(type, "NodePort") || !strcmp(type, "LoadBalancer"));
    int64_t port;

    if (!name || !*name) {
        if (nports > 1)
            v_err(v, API_FE_REQUIRED, "name", NULL, NULL);
    } else if (!v_dns1123_label(v, "name", name)) {
        if (json_object_get(names, name))
            v_err_str(v, API_FE_DUPLICATE, "name", name, NULL);
        json_object_set_new(names, name, json_true());
    }
    if (!v_int(v, p, "port", &port)) {
        if (!json_object_get(p, "port"))
            v_err_int(v, API_FE_INVALID, "port", 0, "must be between 1 and 65535, inclusive");
    } else if (port < 1 || port > 65535) {
        v_err_int(v, API_FE_INVALID, "port", port, "must be between 1 and 65535, inclusive");
    }
    v_enum(v, p, "protocol", protocols, true);
    v_port_num_or_name(v, p, "targetPort", false);
    if (!v_int(v, p, "nodePort", &port) || port == 0)
        return;
    if (!node_ports)
        v_err(v, API_FE_FORBIDDEN, "nodePort", NULL, "may not be used when `type` is '%s'",
              type ? type : "ClusterIP");
    else if (port < 0 || port > 65535)
        v_err_int(v, API_FE_INVALID, "nodePort", port, "must be between 1 and 65535, inclusive");
}

static void
v_service_ports(struct vctx *v, const json_t *spec, const char *type, const char *cluster_ip)
{
    json_t *ports = v_arr(v, spec, "ports"), *p, *names = json_object(), *seen = json_object();
    size_t n = json_array_size(ports), mark, imark;
    char key[64];
    bool external = type && !strcmp(type, "ExternalName");

    if (n == 0 && !external && !(cluster_ip && !strcmp(cluster_ip, "None")) &&
        (!json_object_get(spec, "ports") || json_is_array(json_object_get(spec, "ports")) ||
         json_is_null(json_object_get(spec, "ports"))))
        v_err(v, API_FE_REQUIRED, "ports", NULL, NULL);
    mark = vpath_child(v, "ports");
    for (size_t i = 0; i < n; i++) {
        if (!(p = v_elem_obj(v, ports, i)))
            continue;
        imark = vpath_index(v, i);
        v_service_port(v, p, type, n, names);
        snprintf(key, sizeof(key), "%" JSON_INTEGER_FORMAT "/%s",
                 json_integer_value(json_object_get(p, "port")),
                 json_is_string(json_object_get(p, "protocol"))
                     ? json_string_value(json_object_get(p, "protocol"))
                     : "TCP");
        if (json_is_integer(json_object_get(p, "port")) && json_object_get(seen, key))
            v_err_str(v, API_FE_DUPLICATE, NULL, key, NULL);
        json_object_set_new(seen, key, json_true());
        vpath_pop(v, imark);
    }
    vpath_pop(v, mark);
    json_decref(names);
    json_decref(seen);
}

static const char *
v_cluster_ip(struct vctx *v, const json_t *spec, const char *type)
{
    const char *ip = v_str(v, spec, "clusterIP");

    if (!ip || !*ip || !strcmp(ip, "None")) {
        if (ip && !strcmp(ip, "None") && type && strcmp(type, "ClusterIP"))
            v_err_str(v, API_FE_INVALID, "clusterIP", ip,
                      "may only be set to 'None' for ClusterIP services");
        return ip;
    }
    if (type && !strcmp(type, "ExternalName"))
        v_err_str(v, API_FE_FORBIDDEN, "clusterIP", ip, "may not be set for ExternalName services");
    else if (!v_ipv4_ok(ip))
        v_err_str(v, API_FE_INVALID, "clusterIP", ip,
                  "must be a valid IPv4 address, (e.g. 10.9.8.7); skiff services are IPv4 only");
    return ip;
}

void
v_service(struct vctx *v, const json_t *obj)
{
    json_t *spec = v_obj(v, obj, "spec"), *empty = NULL;
    const char *type, *ip, *ext;
    size_t mark;

    if (!spec && json_object_get(obj, "spec") && !json_is_null(json_object_get(obj, "spec")))
        return;
    if (!spec)
        spec = empty = json_object();
    mark = vpath_child(v, "spec");
    type = v_enum(v, spec, "type", svc_types, true);
    ip = v_cluster_ip(v, spec, type);
    v_service_ports(v, spec, type, ip);
    v_enum(v, spec, "sessionAffinity", (const char *const[]){"ClientIP", "None", NULL}, true);
    v_labels(v, spec, "selector");
    ext = v_str(v, spec, "externalName");
    if (type && !strcmp(type, "ExternalName")) {
        if (!ext || !*ext)
            v_err(v, API_FE_REQUIRED, "externalName", NULL, NULL);
        else
            v_dns1123_subdomain(v, "externalName", ext);
    }
    v_enum(v, spec, "externalTrafficPolicy", (const char *const[]){"Cluster", "Local", NULL},
           false);
    v_enum(v, spec, "internalTrafficPolicy", (const char *const[]){"Cluster", "Local", NULL},
           false);
    vpath_pop(v, mark);
    json_decref(empty);
}

/* ---- Endpoints ---- */

static void
v_endpoint_addresses(struct vctx *v, const json_t *subset, const char *field)
{
    json_t *addrs = v_arr(v, subset, field), *a;
    const char *ip;
    size_t mark = vpath_child(v, field), imark;

    for (size_t i = 0; i < json_array_size(addrs); i++) {
        if (!(a = v_elem_obj(v, addrs, i)))
            continue;
        imark = vpath_index(v, i);
        ip = v_str(v, a, "ip");
        if (!ip || !*ip)
            v_err(v, API_FE_REQUIRED, "ip", NULL, NULL);
        else if (!v_ipv4_ok(ip))
            v_err_str(v, API_FE_INVALID, "ip", ip, "must be a valid IP address");
        if ((ip = v_str(v, a, "nodeName")) && *ip)
            v_dns1123_subdomain(v, "nodeName", ip);
        if ((ip = v_str(v, a, "hostname")) && *ip)
            v_dns1123_label(v, "hostname", ip);
        v_obj(v, a, "targetRef");
        vpath_pop(v, imark);
    }
    vpath_pop(v, mark);
}

static void
v_endpoint_ports(struct vctx *v, const json_t *subset)
{
    json_t *ports = v_arr(v, subset, "ports"), *p;
    size_t n = json_array_size(ports), mark = vpath_child(v, "ports"), imark;
    const char *name;
    int64_t port;

    for (size_t i = 0; i < n; i++) {
        if (!(p = v_elem_obj(v, ports, i)))
            continue;
        imark = vpath_index(v, i);
        name = v_str(v, p, "name");
        if (name && *name)
            v_dns1123_label(v, "name", name);
        else if (n > 1)
            v_err(v, API_FE_REQUIRED, "name", NULL, NULL);
        if (v_int(v, p, "port", &port) && (port < 1 || port > 65535))
            v_err_int(v, API_FE_INVALID, "port", port, "must be between 1 and 65535, inclusive");
        v_enum(v, p, "protocol", protocols, true);
        vpath_pop(v, imark);
    }
    vpath_pop(v, mark);
}

void
v_endpoints(struct vctx *v, const json_t *obj)
{
    json_t *subsets = v_arr(v, obj, "subsets"), *s;
    size_t mark = vpath_child(v, "subsets"), imark;

    for (size_t i = 0; i < json_array_size(subsets); i++) {
        if (!(s = v_elem_obj(v, subsets, i)))
            continue;
        imark = vpath_index(v, i);
        v_endpoint_addresses(v, s, "addresses");
        v_endpoint_addresses(v, s, "notReadyAddresses");
        v_endpoint_ports(v, s);
        vpath_pop(v, imark);
    }
    vpath_pop(v, mark);
}
