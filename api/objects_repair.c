/* The repair of Service claims (objects.h), as kube-apiserver's
 * repair loops for service IPs and node ports: on the store's leader,
 * soon after start and then every few minutes, the claims are compared
 * with what the Services hold.
 *
 * A write of a Service changes its claims in the same txn, so the two
 * agree by construction; what the repair finds comes from outside that
 * path: Services stored by a skiffd that did not allocate (they hold
 * values without claims) and claims written or Services deleted by hand
 * with the raw kv verbs. A value held without a claim is claimed, if the
 * Service is unchanged and nobody claimed the value meanwhile; a claim
 * whose Service is gone, has another uid or no longer holds the value is
 * deleted, if neither changed meanwhile. Two Services holding one value
 * (only possible for values stored before claims existed) are reported,
 * not changed: one of them has to be recreated, as in Kubernetes. */
#include "api/objects_int.h"
#include "lib/alloc.h"
#include "lib/json.h"
#include "lib/log.h"

#include <string.h>

#define REPAIR_RETRY_MS  1000   /* until a leader is known */
#define REPAIR_PERIOD_MS 180000 /* kube-apiserver's default repair interval */
#define REPAIR_MAX_OPS   256    /* writes started per run */
#define SVC_PREFIX       "/registry/services/"

static void
on_repaired(void *arg, const struct mvcc_result *res, const struct sk_err *err)
{
    char *what = arg;

    if (err)
        sk_debug("api", "claim repair: %s: %s", what, err->msg);
    else if (res->succeeded)
        sk_info("api", "claim repair: %s", what);
    else
        sk_debug("api", "claim repair: %s: changed meanwhile, next run", what);
    free(what);
}

/* Propose a txn of cmps and one op; what (owned) names it in the log. */
static void
propose(struct api_objects *o, const struct mvcc_cmp *cmps, size_t n, const struct mvcc_op *op,
        char *what)
{
    struct mvcc_txn txn = {cmps, n, op, 1, NULL, 0};
    struct sk_buf cmd = SK_BUF_INIT;

    mvcc_cmd_encode_txn(&cmd, &txn);
    store_write(o->s, cmd.data, cmd.len, on_repaired, what);
    sk_buf_release(&cmd);
}

/* The mod_revision of key (0 when absent) and its value into *val. */
static int64_t
read_mod(struct api_objects *o, const char *key, size_t len, json_t **val)
{
    struct mvcc_op_result r;
    int64_t mod = 0;

    memset(&r, 0, sizeof(r));
    if (val)
        *val = NULL;
    if (obj_read_key(o->s, key, len, &r, NULL) > 0) {
        mod = r.kvs[0].mod_rev;
        if (val)
            sk_json_parse(r.kvs[0].value, r.kvs[0].value_len, val, NULL);
    }
    mvcc_op_result_release(&r);
    return mod;
}

/* The holder a claim's value names. */
static const char *
holder_field(const json_t *holder, const char *field)
{
    const char *s = json_string_value(json_object_get(holder, field));

    return s ? s : "";
}

static void
claim_missing(struct api_objects *o, const struct mvcc_kv *svc_kv, const json_t *svc,
              const char *key, int *budget)
{
    const char *ns = api_meta_namespace(svc), *name = api_meta_name(svc);
    const char *uid = json_string_value(json_object_get(json_object_get(svc, "metadata"), "uid"));
    json_t *holder = NULL;
    struct mvcc_cmp cmps[2];
    struct mvcc_op put;
    char *value;

    if (read_mod(o, key, strlen(key), &holder) > 0) {
        if (strcmp(holder_field(holder, "namespace"), ns) ||
            strcmp(holder_field(holder, "name"), name))
            sk_warn("api",
                    "service \"%s/%s\" holds '%s', claimed by service \"%s/%s\": recreate "
                    "one of them",
                    ns, name, key + strlen("/registry/ranges/"), holder_field(holder, "namespace"),
                    holder_field(holder, "name"));
        json_decref(holder);
        return;
    }
    if (*budget <= 0)
        return;
    (*budget)--;
    holder = json_pack("{s:s,s:s,s:s,s:s}", "kind", "Service", "namespace", ns, "name", name, "uid",
                       uid ? uid : "");
    value = json_dumps(holder, JSON_COMPACT);
    json_decref(holder);
    memset(cmps, 0, sizeof(cmps));
    cmps[0] = (struct mvcc_cmp){.target = MVCC_CMP_CREATE,
                                .result = MVCC_CMP_EQUAL,
                                .key = key,
                                .key_len = (uint32_t)strlen(key)};
    cmps[1] = (struct mvcc_cmp){.target = MVCC_CMP_MOD,
                                .result = MVCC_CMP_EQUAL,
                                .key = svc_kv->key,
                                .key_len = svc_kv->key_len,
                                .num = svc_kv->mod_rev};
    put = (struct mvcc_op){.type = MVCC_OP_PUT,
                           .key = key,
                           .key_len = (uint32_t)strlen(key),
                           .value = value,
                           .value_len = (uint32_t)strlen(value)};
    propose(o, cmps, 2, &put, sk_asprintf("claimed '%s' for service \"%s/%s\"", key, ns, name));
    free(value);
}

/* Every value a Service holds has a claim. */
static void
repair_services(struct api_objects *o, int *budget)
{
    struct mvcc_op_result r;
    struct sk_buf key = SK_BUF_INIT;

    memset(&r, 0, sizeof(r));
    if (obj_range_prefix(o->s, SVC_PREFIX, strlen(SVC_PREFIX), 0, 0, &r) < 0)
        r.nkvs = 0;
    for (size_t i = 0; i < r.nkvs; i++) {
        struct api_svc_claims c;
        json_t *svc = NULL;

        if (sk_json_parse(r.kvs[i].value, r.kvs[i].value_len, &svc, NULL) < 0)
            continue;
        api_svc_claims_of(svc, &c);
        for (size_t j = 0; j <= c.nports; j++) {
            if (j == c.nports && !c.has_ip)
                break;
            sk_buf_reset(&key);
            if (j == c.nports)
                api_claim_key_ip(c.ip, &key);
            else
                api_claim_key_port(c.ports[j], &key);
            claim_missing(o, &r.kvs[i], svc, key.data, budget);
        }
        json_decref(svc);
    }
    sk_buf_release(&key);
    mvcc_op_result_release(&r);
}

static bool
holds_port(const struct api_svc_claims *c, uint32_t port)
{
    for (size_t i = 0; i < c->nports; i++)
        if (c->ports[i] == port)
            return true;
    return false;
}

/* Whether the Service that claim kv names still holds its value; the
 * Service's key and mod_revision (0: absent) are left in svc_key and
 * *svc_mod. */
static bool
claim_held(struct api_objects *o, const struct mvcc_kv *kv, bool ip, struct sk_buf *svc_key,
           int64_t *svc_mod)
{
    json_t *holder = NULL, *svc = NULL;
    struct api_svc_claims c;
    const char *uid, *suid;
    uint32_t v;
    bool held = false;

    *svc_mod = 0;
    if (api_claim_key_parse(kv->key, kv->key_len, ip, &v) < 0 ||
        sk_json_parse(kv->value, kv->value_len, &holder, NULL) < 0 ||
        api_key_build(api_kind_lookup("services"), holder_field(holder, "namespace"),
                      holder_field(holder, "name"), svc_key, NULL) < 0)
        goto out;
    *svc_mod = read_mod(o, svc_key->data, svc_key->len, &svc);
    if (!svc)
        goto out;
    uid = holder_field(holder, "uid");
    suid = json_string_value(json_object_get(json_object_get(svc, "metadata"), "uid"));
    api_svc_claims_of(svc, &c);
    held =
        (!*uid || (suid && !strcmp(uid, suid))) && (ip ? c.has_ip && c.ip == v : holds_port(&c, v));
out:
    json_decref(holder);
    json_decref(svc);
    return held;
}

/* Every claim is held by the Service it names. */
static void
repair_claims(struct api_objects *o, bool ip, int *budget)
{
    const char *prefix = ip ? API_CLAIM_IP_PREFIX : API_CLAIM_PORT_PREFIX;
    struct mvcc_op_result r;
    struct sk_buf svc_key = SK_BUF_INIT;

    memset(&r, 0, sizeof(r));
    if (obj_range_prefix(o->s, prefix, strlen(prefix), 0, 0, &r) < 0)
        r.nkvs = 0;
    for (size_t i = 0; i<r.nkvs && * budget> 0; i++) {
        struct mvcc_cmp cmps[2];
        struct mvcc_op del;
        int64_t svc_mod;

        sk_buf_reset(&svc_key);
        if (claim_held(o, &r.kvs[i], ip, &svc_key, &svc_mod))
            continue;
        (*budget)--;
        memset(cmps, 0, sizeof(cmps));
        cmps[0] = (struct mvcc_cmp){.target = MVCC_CMP_MOD,
                                    .result = MVCC_CMP_EQUAL,
                                    .key = r.kvs[i].key,
                                    .key_len = r.kvs[i].key_len,
                                    .num = r.kvs[i].mod_rev};
        /* the Service as it was read: absent, or at that revision */
        cmps[1] = (struct mvcc_cmp){.target = svc_mod ? MVCC_CMP_MOD : MVCC_CMP_CREATE,
                                    .result = MVCC_CMP_EQUAL,
                                    .key = svc_key.data,
                                    .key_len = (uint32_t)svc_key.len,
                                    .num = svc_mod};
        del = (struct mvcc_op){
            .type = MVCC_OP_DELETE, .key = r.kvs[i].key, .key_len = r.kvs[i].key_len};
        propose(o, cmps, svc_key.len ? 2 : 1, &del,
                sk_asprintf("released '%.*s', not held by the service it names",
                            (int)r.kvs[i].key_len, r.kvs[i].key));
    }
    sk_buf_release(&svc_key);
    mvcc_op_result_release(&r);
}

/* The barrier in flight: api_objects_free cuts it loose (o NULL). */
struct obj_repair_wait {
    struct api_objects *o;
};

static void repair_run(struct sk_loop *loop, void *arg);

static void
repair_after(struct api_objects *o, int budget)
{
    o->repair_timer =
        sk_loop_timer_add(o->loop, budget > 0 ? REPAIR_PERIOD_MS : REPAIR_RETRY_MS, repair_run, o);
}

static void
on_barrier(void *arg, const struct sk_err *err)
{
    struct obj_repair_wait *w = arg;
    struct api_objects *o = w->o;
    struct store_status st;
    int budget = REPAIR_MAX_OPS;

    free(w);
    if (!o)
        return;
    o->repair_wait = NULL;
    store_status(o->s, &st);
    /* only the leader writes, so members do not race each other */
    if (err || strcmp(st.role, "leader")) {
        repair_after(o, err ? 0 : budget);
        return;
    }
    repair_services(o, &budget);
    repair_claims(o, true, &budget);
    repair_claims(o, false, &budget);
    repair_after(o, budget);
}

static void
repair_run(struct sk_loop *loop, void *arg)
{
    struct api_objects *o = arg;
    struct store_status st;

    o->repair_timer = 0;
    store_status(o->s, &st);
    if (strcmp(st.role, "leader")) {
        repair_after(o, st.leader[0] ? 1 : 0);
        return;
    }
    /* a new leader applies its predecessors' entries only once an entry
     * of its own term commits (Raft §5.4.2): read what is committed */
    o->repair_wait = sk_calloc(1, sizeof(*o->repair_wait));
    o->repair_wait->o = o;
    store_read_barrier(o->s, on_barrier, o->repair_wait);
}

void
obj_repair_start(struct api_objects *o)
{
    o->repair_timer = sk_loop_timer_add(o->loop, 0, repair_run, o);
}

void
obj_repair_stop(struct api_objects *o)
{
    if (o->repair_timer)
        sk_loop_timer_cancel(o->loop, o->repair_timer);
    o->repair_timer = 0;
    if (o->repair_wait)
        o->repair_wait->o = NULL;
    o->repair_wait = NULL;
}
