/* Parsing a Pod into what the filters and scores need, once per pod:
 * identity, resource requests as Kubernetes computes them
 * (k8s.io/component-helpers/resource PodRequests), host ports and
 * tolerations. Affinity and spread are in pod_affinity.c. Every field is
 * read through a path from the pod object, so an error names it the way
 * the API server would ("spec.containers[1].resources.requests.cpu"). */
#include "lib/alloc.h"
#include "lib/json.h"
#include "lib/quantity.h"
#include "sched/sched_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Kubernetes' defaults for a container that requests nothing, used only
 * for scoring so that such pods still spread (pkg/scheduler/util
 * DefaultMilliCPURequest, DefaultMemoryRequest). */
#define NONZERO_MILLI_CPU 100
#define NONZERO_MEMORY    (200LL * 1024 * 1024)

int
sched_path_get(const json_t *root, int kind, const void *def, void *out, struct sk_err *err,
               const char *fmt, ...)
{
    char path[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    switch (kind) {
    case SCHED_GET_OBJECT:
        return sk_json_opt_object(root, path, out, err);
    case SCHED_GET_ARRAY:
        return sk_json_opt_array(root, path, out, err);
    case SCHED_GET_STRING:
        return sk_json_opt_string(root, path, def, out, err);
    case SCHED_GET_INT:
        return sk_json_opt_int(root, path, def ? *(const int64_t *)def : 0, out, err);
    case SCHED_GET_BOOL:
        return sk_json_opt_bool(root, path, def ? *(const bool *)def : false, out, err);
    }
    SK_BUG("bad getter kind %d", kind);
}

/* One resource of a container: its request, or its limit when it has no
 * request (API defaulting does that; be robust to objects that skipped
 * it). *set tells whether either was given. */
static int
container_resource(const json_t *pod, const char *base, const char *res, int64_t *out, bool *set,
                   struct sk_err *err)
{
    static const char *const kinds[] = {"requests", "limits"};
    struct sk_quantity q;

    *out = 0;
    *set = false;
    for (size_t k = 0; k < 2; k++) {
        char path[512];
        json_t *v;

        snprintf(path, sizeof(path), "%s.resources.%s[\"%s\"]", base, kinds[k], res);
        v = sk_json_get(pod, path);
        if (!v || json_is_null(v)) {
            /* Still catch "requests": "x" (not an object). */
            json_t *o;

            if (sched_path_get(pod, SCHED_GET_OBJECT, NULL, &o, err, "%s.resources.%s", base,
                               kinds[k]) < 0)
                return -EINVAL;
            continue;
        }
        if (sk_quantity_from_json(v, &q, err) < 0)
            return sk_err_wrap(err, "%s.resources.%s.%s", base, kinds[k], res);
        if (sk_quantity_sign(&q) < 0)
            return sk_err_set(err, EINVAL, "%s.resources.%s.%s: must be non-negative", base,
                              kinds[k], res);
        *out = strcmp(res, "cpu") == 0 ? sk_quantity_milli(&q) : sk_quantity_value(&q);
        *set = true;
        return 0;
    }
    return 0;
}

/* Requests of one container (or of spec.overhead when overhead is set:
 * base is then the map itself). */
static int
container_requests(const json_t *pod, const char *base, struct sched_resources *req,
                   struct sched_resources *nz, struct sk_err *err)
{
    bool cpu_set, mem_set, eph_set;

    if (container_resource(pod, base, "cpu", &req->milli_cpu, &cpu_set, err) < 0 ||
        container_resource(pod, base, "memory", &req->memory, &mem_set, err) < 0 ||
        container_resource(pod, base, "ephemeral-storage", &req->ephemeral, &eph_set, err) < 0)
        return -EINVAL;
    *nz = *req;
    if (!cpu_set)
        nz->milli_cpu = NONZERO_MILLI_CPU;
    if (!mem_set)
        nz->memory = NONZERO_MEMORY;
    return 0;
}

static int64_t
sat_add(int64_t a, int64_t b)
{
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

static void
res_add(struct sched_resources *a, const struct sched_resources *b)
{
    a->milli_cpu = sat_add(a->milli_cpu, b->milli_cpu);
    a->memory = sat_add(a->memory, b->memory);
    a->ephemeral = sat_add(a->ephemeral, b->ephemeral);
}

static void
res_max(struct sched_resources *a, const struct sched_resources *b)
{
    if (b->milli_cpu > a->milli_cpu)
        a->milli_cpu = b->milli_cpu;
    if (b->memory > a->memory)
        a->memory = b->memory;
    if (b->ephemeral > a->ephemeral)
        a->ephemeral = b->ephemeral;
}

/* Visit the containers of spec.<list>, checking each is an object. */
static int
each_container(const json_t *pod, const char *list, size_t *n, struct sk_err *err)
{
    json_t *arr, *c;
    size_t i;

    *n = 0;
    if (sched_path_get(pod, SCHED_GET_ARRAY, NULL, &arr, err, "spec.%s", list) < 0)
        return -EINVAL;
    if (!arr)
        return 0;
    json_array_foreach (arr, i, c) {
        if (!json_is_object(c))
            return sk_err_set(err, EINVAL, "spec.%s[%zu]: must be an object", list, i);
    }
    *n = json_array_size(arr);
    return 0;
}

static int
parse_overhead(const json_t *pod, struct sched_resources *req, struct sk_err *err)
{
    static const char *const names[] = {"cpu", "memory", "ephemeral-storage"};
    int64_t *dst[] = {&req->milli_cpu, &req->memory, &req->ephemeral};
    json_t *overhead;

    if (sched_path_get(pod, SCHED_GET_OBJECT, NULL, &overhead, err, "spec.overhead") < 0)
        return -EINVAL;
    memset(req, 0, sizeof(*req));
    for (size_t i = 0; overhead && i < 3; i++) {
        json_t *v = json_object_get(overhead, names[i]);
        struct sk_quantity q;

        if (!v || json_is_null(v))
            continue;
        if (sk_quantity_from_json(v, &q, err) < 0)
            return sk_err_wrap(err, "spec.overhead.%s", names[i]);
        if (sk_quantity_sign(&q) < 0)
            return sk_err_set(err, EINVAL, "spec.overhead.%s: must be non-negative", names[i]);
        *dst[i] = i == 0 ? sk_quantity_milli(&q) : sk_quantity_value(&q);
    }
    return 0;
}

/* max(sum of app containers, each init container) + overhead, per
 * resource: init containers run one at a time before the app ones. */
static int
parse_requests(struct sched_pod *p, struct sk_err *err)
{
    struct sched_resources r, nz, ov;
    size_t n, i;

    memset(&p->req, 0, sizeof(p->req));
    memset(&p->nonzero, 0, sizeof(p->nonzero));
    if (each_container(p->obj, "containers", &n, err) < 0)
        return -EINVAL;
    for (i = 0; i < n; i++) {
        char base[64];

        snprintf(base, sizeof(base), "spec.containers[%zu]", i);
        if (container_requests(p->obj, base, &r, &nz, err) < 0)
            return -EINVAL;
        res_add(&p->req, &r);
        res_add(&p->nonzero, &nz);
    }
    if (each_container(p->obj, "initContainers", &n, err) < 0)
        return -EINVAL;
    for (i = 0; i < n; i++) {
        char base[64];

        snprintf(base, sizeof(base), "spec.initContainers[%zu]", i);
        if (container_requests(p->obj, base, &r, &nz, err) < 0)
            return -EINVAL;
        res_max(&p->req, &r);
        res_max(&p->nonzero, &nz);
    }
    if (parse_overhead(p->obj, &ov, err) < 0)
        return -EINVAL;
    res_add(&p->req, &ov);
    res_add(&p->nonzero, &ov);
    p->req.pods = 1;
    p->nonzero.pods = 1;
    return 0;
}

static int
parse_port(struct sched_pod *p, size_t ci, size_t pi, struct sk_err *err)
{
    static const int64_t zero = 0;
    struct sched_port port;
    const char *proto, *ip;

    if (sched_path_get(p->obj, SCHED_GET_INT, &zero, &port.port, err,
                       "spec.containers[%zu].ports[%zu].hostPort", ci, pi) < 0 ||
        sched_path_get(p->obj, SCHED_GET_STRING, "TCP", &proto, err,
                       "spec.containers[%zu].ports[%zu].protocol", ci, pi) < 0 ||
        sched_path_get(p->obj, SCHED_GET_STRING, "", &ip, err,
                       "spec.containers[%zu].ports[%zu].hostIP", ci, pi) < 0)
        return -EINVAL;
    if (port.port < 0 || port.port > 65535)
        return sk_err_set(err, EINVAL, "spec.containers[%zu].ports[%zu].hostPort: must be 0-65535",
                          ci, pi);
    if (port.port == 0)
        return 0;
    port.protocol = *proto ? proto : "TCP";
    port.ip = *ip ? ip : "0.0.0.0";
    p->ports = sk_reallocarray(p->ports, p->nports + 1, sizeof(*p->ports));
    p->ports[p->nports++] = port;
    return 0;
}

static int
parse_ports(struct sched_pod *p, struct sk_err *err)
{
    size_t n;

    if (each_container(p->obj, "containers", &n, err) < 0)
        return -EINVAL;
    for (size_t ci = 0; ci < n; ci++) {
        json_t *ports, *v;
        size_t pi;

        if (sched_path_get(p->obj, SCHED_GET_ARRAY, NULL, &ports, err, "spec.containers[%zu].ports",
                           ci) < 0)
            return -EINVAL;
        json_array_foreach (ports, pi, v) {
            if (parse_port(p, ci, pi, err) < 0)
                return -EINVAL;
        }
    }
    return 0;
}

int
sched_effect_parse(const char *s, enum sched_taint_effect *out)
{
    if (strcmp(s, "") == 0)
        *out = SCHED_EFFECT_NONE;
    else if (strcmp(s, "NoSchedule") == 0)
        *out = SCHED_EFFECT_NO_SCHEDULE;
    else if (strcmp(s, "PreferNoSchedule") == 0)
        *out = SCHED_EFFECT_PREFER_NO_SCHEDULE;
    else if (strcmp(s, "NoExecute") == 0)
        *out = SCHED_EFFECT_NO_EXECUTE;
    else
        return -1;
    return 0;
}

static int
parse_toleration(struct sched_pod *p, size_t i, struct sk_err *err)
{
    struct sched_toleration *t = &p->tols[i];
    const char *op, *effect;

    if (!json_is_object(json_array_get(sk_json_get(p->obj, "spec.tolerations"), i)))
        return sk_err_set(err, EINVAL, "spec.tolerations[%zu]: must be an object", i);
    if (sched_path_get(p->obj, SCHED_GET_STRING, "", &t->key, err, "spec.tolerations[%zu].key", i) <
            0 ||
        sched_path_get(p->obj, SCHED_GET_STRING, "", &t->value, err, "spec.tolerations[%zu].value",
                       i) < 0 ||
        sched_path_get(p->obj, SCHED_GET_STRING, "", &op, err, "spec.tolerations[%zu].operator",
                       i) < 0 ||
        sched_path_get(p->obj, SCHED_GET_STRING, "", &effect, err, "spec.tolerations[%zu].effect",
                       i) < 0)
        return -EINVAL;
    if (strcmp(op, "Exists") == 0)
        t->exists = true;
    else if (strcmp(op, "Equal") == 0 || strcmp(op, "") == 0)
        t->exists = false;
    else
        return sk_err_set(err, EINVAL,
                          "spec.tolerations[%zu].operator: unsupported value '%s' (Equal, Exists)",
                          i, op);
    if (sched_effect_parse(effect, &t->effect) < 0)
        return sk_err_set(err, EINVAL,
                          "spec.tolerations[%zu].effect: unsupported value '%s' (NoSchedule, "
                          "PreferNoSchedule, NoExecute)",
                          i, effect);
    return 0;
}

static int
parse_tolerations(struct sched_pod *p, struct sk_err *err)
{
    json_t *arr;

    if (sched_path_get(p->obj, SCHED_GET_ARRAY, NULL, &arr, err, "spec.tolerations") < 0)
        return -EINVAL;
    if (!arr || json_array_size(arr) == 0)
        return 0;
    p->tols = sk_calloc(json_array_size(arr), sizeof(*p->tols));
    p->ntols = json_array_size(arr);
    for (size_t i = 0; i < p->ntols; i++) {
        if (parse_toleration(p, i, err) < 0)
            return -EINVAL;
    }
    return 0;
}

static int
parse_identity(struct sched_pod *p, struct sk_err *err)
{
    static const int64_t zero = 0;
    json_t *del, *sel;
    const char *phase;

    if (!json_is_object(p->obj))
        return sk_err_set(err, EINVAL, "pod: must be an object");
    if (sk_json_get_string(p->obj, "metadata.name", &p->name, err) < 0 ||
        sk_json_opt_string(p->obj, "metadata.namespace", "default", &p->ns, err) < 0 ||
        sk_json_opt_object(p->obj, "metadata.labels", &p->labels, err) < 0 ||
        sk_json_opt_string(p->obj, "spec.nodeName", NULL, &p->node_name, err) < 0 ||
        sk_json_opt_int(p->obj, "spec.priority", zero, &p->priority, err) < 0 ||
        sk_json_opt_string(p->obj, "status.phase", "", &phase, err) < 0 ||
        sk_json_opt_object(p->obj, "spec.nodeSelector", &sel, err) < 0)
        return -EINVAL;
    if (!*p->ns)
        p->ns = "default";
    if (p->node_name && !*p->node_name)
        p->node_name = NULL;
    p->node_selector = sel;
    p->terminal = strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0;
    del = sk_json_get(p->obj, "metadata.deletionTimestamp");
    p->terminating = del && !json_is_null(del);
    if (sel) {
        const char *k;
        json_t *v;

        json_object_foreach (sel, k, v) {
            if (!json_is_string(v))
                return sk_err_set(err, EINVAL, "spec.nodeSelector[\"%s\"]: must be a string", k);
        }
    }
    return 0;
}

int
sched_pod_parse(const json_t *obj, struct sched_pod **out, struct sk_err *err)
{
    struct sched_pod *p = sk_calloc(1, sizeof(*p));

    p->obj = json_incref((json_t *)obj);
    if (parse_identity(p, err) < 0 || parse_requests(p, err) < 0 || parse_ports(p, err) < 0 ||
        parse_tolerations(p, err) < 0 || sched_pod_parse_affinity(p, err) < 0 ||
        sched_pod_parse_spread(p, err) < 0) {
        sched_pod_free(p);
        return -EINVAL;
    }
    *out = p;
    return 0;
}

void
sched_pod_free(struct sched_pod *p)
{
    if (!p)
        return;
    sched_pod_release_affinity(p);
    free(p->ports);
    free(p->tols);
    json_decref(p->obj);
    free(p);
}

void
sched_pod_requests(const struct sched_pod *pod, struct sched_resources *out)
{
    *out = pod->req;
}

const char *
sched_pod_key(char *buf, size_t size, const char *ns, const char *name)
{
    snprintf(buf, size, "%s/%s", ns, name);
    return buf;
}
