/* Keeps the authorizer's RBAC objects current from the store: a range
 * of each RBAC kind's key prefix, then a watch from that moment on (both
 * on the loop, so no change falls between them), in process (the store's watch delivers every
 * change in order, also after a snapshot restore). */
#include "api/authz.h"
#include "api/object.h"
#include "lib/alloc.h"
#include "lib/log.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

static const char *const rbac_resources[] = {"roles", "clusterroles", "rolebindings",
                                             "clusterrolebindings"};
#define NRBAC (sizeof(rbac_resources) / sizeof(rbac_resources[0]))

struct api_authz_feed {
    struct api_authz *authz;
    struct store_watch *watches[NRBAC];
};

static void
feed_put(struct api_authz *a, const char *value, uint32_t len)
{
    struct sk_err err;
    json_error_t jerr;
    json_t *obj = json_loadb(value, len, 0, &jerr);

    sk_err_init(&err);
    if (!obj) {
        sk_warn("authz", "unreadable RBAC object in the store: %s", jerr.text);
        return;
    }
    if (api_authz_update(a, obj, &err) < 0)
        sk_warn("authz", "RBAC object ignored: %s", err.msg);
    json_decref(obj);
}

/* key: /registry/<resource>/[<ns>/]<name> */
static void
feed_delete(struct api_authz *a, const char *key, uint32_t len)
{
    char *copy = sk_strndup(key, len);
    char *parts[4] = {0};
    size_t n = 0;
    char *save = NULL;

    for (char *p = strtok_r(copy, "/", &save); p && n < 4; p = strtok_r(NULL, "/", &save))
        parts[n++] = p;
    if (n >= 3 && strcmp(parts[0], "registry") == 0) {
        const struct api_kind *k = api_kind_lookup(parts[1]);

        if (k)
            api_authz_remove(a, k->kind, n == 4 ? parts[2] : "", parts[n - 1]);
    }
    free(copy);
}

static int
feed_event(void *arg, const struct mvcc_event *ev)
{
    struct api_authz *a = arg;

    if (ev->type == MVCC_EVENT_PUT)
        feed_put(a, ev->kv.value, ev->kv.value_len);
    else
        feed_delete(a, ev->kv.key, ev->kv.key_len);
    return 0;
}

/* Load the current objects of one resource; returns 0 or <0. */
static int
feed_load(struct api_authz *a, struct store *s, const char *prefix, const char *end,
          struct sk_err *err)
{
    struct mvcc_op op = {.type = MVCC_OP_RANGE,
                         .key = prefix,
                         .key_len = (uint32_t)strlen(prefix),
                         .end = end,
                         .end_len = (uint32_t)strlen(end)};
    struct mvcc_op_result res;

    memset(&res, 0, sizeof(res));
    if (store_range(s, &op, &res, err) < 0)
        return -1;
    for (size_t i = 0; i < res.nkvs; i++)
        feed_put(a, res.kvs[i].value, res.kvs[i].value_len);
    mvcc_op_result_release(&res);
    return 0;
}

struct api_authz_feed *
api_authz_feed_start(struct api_authz *a, struct store *s, struct sk_err *err)
{
    struct api_authz_feed *f = sk_calloc(1, sizeof(*f));

    f->authz = a;
    for (size_t i = 0; i < NRBAC; i++) {
        char prefix[64], end[64];
        int64_t resume = 0;

        snprintf(prefix, sizeof(prefix), "/registry/%s/", rbac_resources[i]);
        snprintf(end, sizeof(end), "/registry/%s0", rbac_resources[i]); /* '/' + 1 */
        if (feed_load(a, s, prefix, end, err) < 0 ||
            store_watch_start(s, prefix, (uint32_t)strlen(prefix), end, (uint32_t)strlen(end), 0,
                              feed_event, a, &f->watches[i], &resume, err) < 0) {
            sk_err_wrap(err, "watch of %s for the authorizer", rbac_resources[i]);
            api_authz_feed_stop(f);
            return NULL;
        }
    }
    return f;
}

void
api_authz_feed_stop(struct api_authz_feed *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < NRBAC; i++) {
        if (f->watches[i])
            store_watch_cancel(f->watches[i]);
    }
    free(f);
}
