/* Namespace lifecycle: a namespace that still holds objects is not
 * removed by its delete but marked (deletionTimestamp, status.phase
 * Terminating); from then on it refuses new objects (objects_write.c),
 * and a sweep on the loop deletes what it holds (each object as a
 * client's delete would: bound pods gracefully, finalizers respected)
 * and removes the namespace once it is empty. This is Kubernetes's
 * namespace controller, kept in the API server because skiff has no
 * separate controller for it. Only the leader deletes; the deletes are
 * conditional store txns, so a duplicate after a change of leader only
 * costs a conflict. */
#include "api/objects_int.h"
#include "lib/alloc.h"
#include "lib/json.h"

#include <string.h>
#include <time.h>

#define SWEEP_MS        1000
#define SWEEP_MAX_OPS   256 /* deletes started per sweep */
#define NS_PREFIX       "/registry/namespaces/"
#define RANGE_KEY_LIMIT 512

int
obj_range_prefix(struct store *s, const char *prefix, size_t len, int64_t limit, unsigned flags,
                 struct mvcc_op_result *r)
{
    char end[RANGE_KEY_LIMIT];
    struct mvcc_op op;

    memset(&op, 0, sizeof(op));
    op.type = MVCC_OP_RANGE;
    op.key = prefix;
    op.key_len = (uint32_t)len;
    op.end = end;
    op.end_len = mvcc_prefix_end(prefix, (uint32_t)len, end);
    op.limit = limit;
    op.flags = flags;
    return store_range(s, &op, r, NULL);
}

bool
obj_ns_has_content(struct api_objects *o, const char *ns)
{
    size_t n;
    const struct api_kind *k = api_kinds(&n);
    struct sk_buf prefix = SK_BUF_INIT;
    bool found = false;

    for (size_t i = 0; i < n && !found; i++) {
        struct mvcc_op_result r;

        if (!k[i].namespaced)
            continue;
        memset(&r, 0, sizeof(r));
        sk_buf_reset(&prefix);
        api_key_prefix(&k[i], ns, &prefix);
        if (obj_range_prefix(o->s, prefix.data, prefix.len, 1, MVCC_COUNT_ONLY, &r) == 0)
            found = r.count > 0;
        mvcc_op_result_release(&r);
    }
    sk_buf_release(&prefix);
    return found;
}

void
obj_ns_mark_terminating(json_t *ns, int64_t now)
{
    json_t *meta = json_object_get(ns, "metadata"), *status = json_object_get(ns, "status");
    char ts[API_TIME_LEN];

    if (!json_object_get(meta, "deletionTimestamp")) {
        api_time_format(now, ts);
        json_object_set_new(meta, "deletionTimestamp", json_string(ts));
        json_object_set_new(meta, "deletionGracePeriodSeconds", json_integer(0));
    }
    if (!json_is_object(status))
        json_object_set_new(ns, "status", status = json_object());
    json_object_set_new(status, "phase", json_string("Terminating"));
}

/* Delete what namespace ns holds; returns whether it held anything. */
static bool
sweep_content(struct api_objects *o, const char *ns, int *budget)
{
    size_t n;
    const struct api_kind *k = api_kinds(&n);
    struct sk_buf prefix = SK_BUF_INIT;
    bool content = false;

    for (size_t i = 0; i < n; i++) {
        struct mvcc_op_result r;

        if (!k[i].namespaced)
            continue;
        memset(&r, 0, sizeof(r));
        sk_buf_reset(&prefix);
        api_key_prefix(&k[i], ns, &prefix);
        if (obj_range_prefix(o->s, prefix.data, prefix.len, SWEEP_MAX_OPS, 0, &r) < 0)
            r.nkvs = 0;
        for (size_t j = 0; j < r.nkvs; j++) {
            json_t *obj = NULL;

            content = true;
            if (sk_json_parse(r.kvs[j].value, r.kvs[j].value_len, &obj, NULL) == 0 &&
                !json_object_get(json_object_get(obj, "metadata"), "deletionTimestamp") &&
                *budget > 0) {
                (*budget)--;
                obj_delete_internal(o, &k[i], ns, api_meta_name(obj));
            }
            json_decref(obj);
        }
        mvcc_op_result_release(&r);
    }
    sk_buf_release(&prefix);
    return content;
}

static void
ns_sweep(struct sk_loop *loop, void *arg)
{
    struct api_objects *o = arg;
    const struct api_kind *nsk = api_kind_lookup("namespaces");
    struct mvcc_op_result r;
    struct store_status st;
    bool pending = false;
    int budget = SWEEP_MAX_OPS;

    o->ns_timer = 0;
    /* only the leader deletes, so members do not propose the same
     * deletes; the others keep looking in case they become leader */
    store_status(o->s, &st);
    if (strcmp(st.role, "leader"))
        budget = 0;
    memset(&r, 0, sizeof(r));
    if (obj_range_prefix(o->s, NS_PREFIX, strlen(NS_PREFIX), 0, 0, &r) < 0)
        r.nkvs = 0;
    for (size_t i = 0; i < r.nkvs; i++) {
        json_t *ns = NULL;

        if (sk_json_parse(r.kvs[i].value, r.kvs[i].value_len, &ns, NULL) == 0 &&
            json_object_get(json_object_get(ns, "metadata"), "deletionTimestamp")) {
            pending = true;
            if (!sweep_content(o, api_meta_name(ns), &budget) && budget > 0)
                obj_delete_internal(o, nsk, "", api_meta_name(ns));
        }
        json_decref(ns);
    }
    mvcc_op_result_release(&r);
    if (pending)
        o->ns_timer = sk_loop_timer_add(o->loop, SWEEP_MS, ns_sweep, o);
}

void
obj_ns_sweep_soon(struct api_objects *o)
{
    if (!o->ns_timer)
        o->ns_timer = sk_loop_timer_add(o->loop, 0, ns_sweep, o);
}
