/* Service cluster IPs and node ports, against the store (the format of
 * the claim keys and the reasons for them are in objects.h).
 *
 * A write of a Service picks free values from the local state and claims
 * them in its txn, each claim key under a create_revision == 0 compare;
 * the values it stops holding (type changed, Service removed) are
 * deleted in the same txn. The local state may be behind the leader's
 * (a follower) or another write may claim the same value first: then
 * the compare fails, the txn changes nothing, and the write runs again
 * on the fresher state (objects_write.c). So a value is never held
 * twice, and what the answer says about a requested value ("already
 * allocated") is confirmed after a read barrier.
 *
 * Picking is kube-apiserver's: a random value, the upper part of the
 * range first. A few random probes find one while the range is mostly
 * free; after that the claims are read into a bitmap and scanned from a
 * random offset, so a full range is reported only when it is full. */
#include "api/objects_int.h"
#include "lib/alloc.h"
#include "lib/json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/random.h>
#include <sys/socket.h>

#define PROBES 32

static uint32_t
alloc_rand(void *arg)
{
    uint32_t v = 0;

    if (getrandom(&v, sizeof(v), 0) != sizeof(v))
        v = (uint32_t)rand();
    return v;
}

/* The state of one Service's allocation. */
struct alloc {
    struct obj_op *op;
    const struct api_alloc_range *r;
    bool ip;
    struct api_svc_claims held;  /* by the stored object */
    struct api_svc_claims fresh; /* picked or requested in this write */
    struct api_svc_claims asked; /* requested in this write (picks avoid them) */
    struct sk_buf key;
};

static bool
held_port(const struct api_svc_claims *c, uint32_t port)
{
    for (size_t i = 0; i < c->nports; i++)
        if (c->ports[i] == port)
            return true;
    return false;
}

/* Whether the claim key of value v exists in the local state (a read
 * error counts as taken: the write then fails rather than doubling). */
static bool
claimed(struct alloc *a, uint32_t v)
{
    struct mvcc_op_result r;
    int rc;

    sk_buf_reset(&a->key);
    if (a->ip)
        api_claim_key_ip(v, &a->key);
    else
        api_claim_key_port(v, &a->key);
    memset(&r, 0, sizeof(r));
    rc = obj_read_key(a->op->o->s, a->key.data, a->key.len, &r, NULL);
    mvcc_op_result_release(&r);
    return rc != 0;
}

static bool
taken(void *arg, uint32_t off)
{
    struct alloc *a = arg;
    uint32_t v = a->r->base + off;

    if (!a->ip && (held_port(&a->fresh, v) || held_port(&a->asked, v)))
        return true;
    return claimed(a, v);
}

/* Every claim of the range into a bitmap of offsets. */
static uint8_t *
claims_bitmap(struct alloc *a)
{
    const char *prefix = a->ip ? API_CLAIM_IP_PREFIX : API_CLAIM_PORT_PREFIX;
    uint8_t *bm = sk_calloc((size_t)a->r->size / 8 + 1, 1);
    struct mvcc_op_result r;
    uint32_t v;

    memset(&r, 0, sizeof(r));
    if (obj_range_prefix(a->op->o->s, prefix, strlen(prefix), 0, MVCC_KEYS_ONLY, &r) < 0) {
        mvcc_op_result_release(&r);
        free(bm);
        return NULL;
    }
    for (size_t i = 0; i < r.nkvs; i++)
        if (api_claim_key_parse(r.kvs[i].key, r.kvs[i].key_len, a->ip, &v) == 0 &&
            v - a->r->base < a->r->size)
            bm[(v - a->r->base) / 8] |= (uint8_t)(1u << ((v - a->r->base) % 8));
    for (size_t i = 0; !a->ip && i < a->fresh.nports + a->asked.nports; i++) {
        v = i < a->fresh.nports ? a->fresh.ports[i] : a->asked.ports[i - a->fresh.nports];
        if (v - a->r->base < a->r->size)
            bm[(v - a->r->base) / 8] |= (uint8_t)(1u << ((v - a->r->base) % 8));
    }
    mvcc_op_result_release(&r);
    return bm;
}

/* A free value, or -ENOSPC. */
static int
pick(struct alloc *a, uint32_t *out, struct sk_err *err)
{
    int64_t off = api_alloc_probe(a->r, taken, a, alloc_rand, NULL, PROBES);
    uint8_t *bm;

    if (off < 0 && (bm = claims_bitmap(a))) {
        off = api_alloc_scan(a->r, bm, alloc_rand(NULL));
        free(bm);
    }
    if (off < 0) {
        a->op->alloc_stale = true;
        return sk_err_set(err, ENOSPC,
                          "Internal error occurred: failed to allocate a %s: range is full "
                          "(%s %s)",
                          a->ip ? "serviceIP" : "nodePort",
                          a->ip ? "service-cidr" : "service-node-port-range", a->r->text);
    }
    *out = a->r->base + (uint32_t)off;
    return 0;
}

/* A value the client asked for: in range and free. */
static void
check_requested(struct alloc *a, uint32_t v, const char *field, const json_t *shown,
                struct api_errors *errs)
{
    char detail[128];

    if (v - a->r->base < a->r->first || v - a->r->base > a->r->last) {
        snprintf(detail, sizeof(detail),
                 "provided %s is not in the valid range. The range of valid %s is %s",
                 a->ip ? "IP" : "port", a->ip ? "IPs" : "ports", a->r->text);
        api_errors_add(errs, API_FE_INVALID, field, shown, detail);
    } else if (claimed(a, v)) {
        a->op->alloc_stale = true;
        api_errors_add(errs, API_FE_INVALID, field, shown,
                       a->ip ? "provided IP is already allocated"
                             : "provided port is already allocated");
    }
}

static const char *
spec_str(const json_t *spec, const char *field, const char *def)
{
    const char *s = json_string_value(json_object_get(spec, field));

    return s ? s : def;
}

static int
alloc_cluster_ip(struct alloc *a, json_t *spec, struct api_errors *errs, struct sk_err *err)
{
    const char *ip = spec_str(spec, "clusterIP", "");
    struct in_addr in;
    char text[16];
    uint32_t v;

    if (!strcmp(spec_str(spec, "type", "ClusterIP"), "ExternalName") || !strcmp(ip, "None"))
        return 0;
    a->ip = true;
    a->r = &a->op->o->cfg.service_ips;
    if (*ip) {
        /* validation let only IPv4 addresses through */
        if (inet_pton(AF_INET, ip, &in) != 1)
            return 0;
        v = ntohl(in.s_addr);
        if (!a->held.has_ip || a->held.ip != v)
            check_requested(a, v, "spec.clusterIP", json_object_get(spec, "clusterIP"), errs);
        return 0;
    }
    if (pick(a, &v, err) < 0)
        return -1;
    snprintf(text, sizeof(text), "%u.%u.%u.%u", v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff,
             v & 0xff);
    json_object_set_new(spec, "clusterIP", json_string(text));
    json_object_set_new(spec, "clusterIPs", json_pack("[s]", text));
    return 0;
}

static const char *
port_proto(const json_t *p)
{
    const char *proto = json_string_value(json_object_get(p, "protocol"));

    return proto ? proto : "TCP";
}

/* The node port of an earlier port of the Service: the same node port
 * with the same protocol (a duplicate; by_port false), or any node port
 * of the same port number (by_port: TCP and UDP of one port share their
 * node port, as in Kubernetes). */
static json_int_t
earlier_node_port(const json_t *ports, size_t i, const json_t *p, bool by_port)
{
    const json_t *q;
    json_int_t np = json_integer_value(json_object_get(p, "nodePort"));

    for (size_t j = 0; j < i; j++) {
        json_int_t qnp;

        q = json_array_get(ports, j);
        qnp = json_integer_value(json_object_get(q, "nodePort"));
        if (qnp <= 0)
            continue;
        if (by_port && json_equal(json_object_get(q, "port"), json_object_get(p, "port")))
            return qnp;
        if (!by_port && qnp == np && !strcmp(port_proto(q), port_proto(p)))
            return qnp;
    }
    return 0;
}

static void
fresh_add(struct alloc *a, uint32_t v)
{
    if (a->fresh.nports < API_SVC_MAX_CLAIMS && !held_port(&a->fresh, v))
        a->fresh.ports[a->fresh.nports++] = v;
}

static int
alloc_node_port(struct alloc *a, json_t *ports, size_t i, json_t *p, bool dynamic,
                struct api_errors *errs, struct sk_err *err)
{
    json_int_t np = json_integer_value(json_object_get(p, "nodePort")), shared;
    char field[48];
    uint32_t v;

    snprintf(field, sizeof(field), "spec.ports[%zu].nodePort", i);
    if (np > 0) {
        if (earlier_node_port(ports, i, p, false))
            api_errors_add(errs, API_FE_DUPLICATE, field, json_object_get(p, "nodePort"), NULL);
        else if (!held_port(&a->held, (uint32_t)np) && !held_port(&a->fresh, (uint32_t)np))
            check_requested(a, (uint32_t)np, field, json_object_get(p, "nodePort"), errs);
        fresh_add(a, (uint32_t)np);
        return 0;
    }
    if (!dynamic)
        return 0;
    if ((shared = earlier_node_port(ports, i, p, true)) > 0) {
        json_object_set_new(p, "nodePort", json_integer(shared));
        return 0;
    }
    if (pick(a, &v, err) < 0)
        return -1;
    fresh_add(a, v);
    json_object_set_new(p, "nodePort", json_integer(v));
    return 0;
}

static int
alloc_node_ports(struct alloc *a, json_t *spec, struct api_errors *errs, struct sk_err *err)
{
    const char *type = spec_str(spec, "type", "ClusterIP");
    json_t *ports = json_object_get(spec, "ports"), *p;
    bool dynamic;
    size_t i;

    if (strcmp(type, "NodePort") && strcmp(type, "LoadBalancer"))
        return 0;
    /* a LoadBalancer may do without node ports, as Kubernetes's */
    dynamic = !json_is_false(json_object_get(spec, "allocateLoadBalancerNodePorts")) ||
              strcmp(type, "LoadBalancer");
    a->ip = false;
    a->r = &a->op->o->cfg.node_ports;
    json_array_foreach (ports, i, p) {
        if (!json_is_object(p))
            continue;
        if (alloc_node_port(a, ports, i, p, dynamic, errs, err) < 0)
            return -1;
    }
    return 0;
}

static void
claim_key(const struct api_svc_claims *c, size_t i, char out[OBJ_CLAIM_KEY_MAX])
{
    struct sk_buf key = SK_BUF_INIT;

    if (i == c->nports)
        api_claim_key_ip(c->ip, &key);
    else
        api_claim_key_port(c->ports[i], &key);
    sk_strlcpy(out, key.data, OBJ_CLAIM_KEY_MAX);
    sk_buf_release(&key);
}

/* Whether c holds value i of d (index d->nports: the cluster IP). */
static bool
holds(const struct api_svc_claims *c, const struct api_svc_claims *d, size_t i)
{
    if (i == d->nports)
        return c->has_ip && c->ip == d->ip;
    return held_port(c, d->ports[i]);
}

/* The claims in a and not in b into keys. */
static size_t
claims_diff(const struct api_svc_claims *a, const struct api_svc_claims *b,
            char keys[][OBJ_CLAIM_KEY_MAX])
{
    size_t n = 0;

    for (size_t i = 0; i <= a->nports; i++) {
        if (i == a->nports && !a->has_ip)
            break;
        if (!holds(b, a, i))
            claim_key(a, i, keys[n++]);
    }
    return n;
}

static void
claims_set(struct obj_op *op, const struct api_svc_claims *held, const json_t *obj)
{
    struct obj_claims *c = op->claims;
    struct api_svc_claims want;
    const char *uid = json_string_value(json_object_get(json_object_get(obj, "metadata"), "uid"));
    json_t *who;

    api_svc_claims_of(obj, &want);
    c->nadd = claims_diff(&want, held, c->add);
    c->ndel = claims_diff(held, &want, c->del);
    sk_buf_reset(&c->value);
    if (!uid)
        uid = "";
    who = json_pack("{s:s,s:s,s:s,s:s}", "kind", "Service", "namespace", op->ns, "name", op->name,
                    "uid", uid);
    sk_json_dump_buf(who, &c->value);
    json_decref(who);
}

void
obj_claims_free(struct obj_claims *c)
{
    if (!c)
        return;
    sk_buf_release(&c->value);
    free(c);
}

/* Services with more node ports than a txn takes claims for. */
static int
check_overflow(const json_t *obj, struct api_errors *errs, struct obj_op *op, struct sk_err *err)
{
    struct api_svc_claims c;
    char detail[64];

    api_svc_claims_of(obj, &c);
    if (c.overflow) {
        snprintf(detail, sizeof(detail), "must have at most %d distinct node ports",
                 API_SVC_MAX_CLAIMS);
        api_errors_add(errs, API_FE_TOO_MANY, "spec.ports", NULL, detail);
    }
    return api_errors_to_err(errs, op->k->kind, op->name, err);
}

int
obj_alloc_claims(struct obj_op *op, json_t *obj, struct sk_err *err)
{
    struct alloc a;
    struct api_errors errs;
    json_t *spec = json_object_get(obj, "spec");
    int rc = 0;

    op->alloc_stale = false;
    if (strcmp(op->k->kind, "Service"))
        return 0;
    if (!op->claims)
        op->claims = sk_calloc(1, sizeof(*op->claims));
    memset(&a, 0, sizeof(a));
    a.op = op;
    api_svc_claims_of(op->old, &a.held);
    if (obj && json_is_object(spec)) {
        api_errors_init(&errs);
        api_svc_claims_of(obj, &a.asked);
        rc = alloc_cluster_ip(&a, spec, &errs, err);
        if (rc == 0)
            rc = alloc_node_ports(&a, spec, &errs, err);
        if (rc == 0)
            rc = check_overflow(obj, &errs, op, err);
        api_errors_release(&errs);
    }
    sk_buf_release(&a.key);
    if (rc < 0)
        return rc;
    claims_set(op, &a.held, obj);
    return 0;
}
