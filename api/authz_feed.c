/* Keeps the authorizer's RBAC objects current from the store: a range
 * of each RBAC kind's key prefix, then a watch from that moment on
 * (api/store_feed.c), in process. */
#include "api/authz.h"
#include "api/store_feed.h"
#include "lib/alloc.h"
#include "lib/log.h"

#include <stdlib.h>

static const char *const rbac_resources[] = {"roles", "clusterroles", "rolebindings",
                                             "clusterrolebindings"};
#define NRBAC (sizeof(rbac_resources) / sizeof(rbac_resources[0]))

struct api_authz_feed {
    struct api_store_feed feeds[NRBAC];
};

static void
feed_put(void *arg, const json_t *obj)
{
    struct sk_err err;

    sk_err_init(&err);
    if (api_authz_update(arg, obj, &err) < 0)
        sk_warn("authz", "RBAC object ignored: %s", err.msg);
}

static void
feed_deleted(void *arg, const char *kind, const char *ns, const char *name)
{
    api_authz_remove(arg, kind, ns, name);
}

static const struct api_store_feed_ops authz_feed_ops = {
    .put = feed_put, .deleted = feed_deleted, .component = "authz"};

struct api_authz_feed *
api_authz_feed_start(struct api_authz *a, struct store *s, struct sk_err *err)
{
    struct api_authz_feed *f = sk_calloc(1, sizeof(*f));

    for (size_t i = 0; i < NRBAC; i++) {
        if (api_store_feed_start(&f->feeds[i], s, rbac_resources[i], &authz_feed_ops, a, err) < 0) {
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
    for (size_t i = 0; i < NRBAC; i++)
        api_store_feed_stop(&f->feeds[i]);
    free(f);
}
