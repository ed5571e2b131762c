/* api/store_feed.h: keeps an in-process index current from the store:
 * the objects of one resource as they are now (a range), then every
 * change from that revision on (a watch), both on the caller's loop, so
 * no change falls between them. The store's watch delivers every change
 * in order, also after a snapshot restore. Used by the indexes the
 * server consults on every request without reading the store (RBAC
 * objects, ServiceAccount tokens). */
#ifndef SKIFF_API_STORE_FEED_H
#define SKIFF_API_STORE_FEED_H

#include "lib/err.h"
#include "lib/json.h"

struct api_kind;
struct store;
struct store_watch;

struct api_store_feed_ops {
    /* An object created or changed (or present at the start). */
    void (*put)(void *arg, const json_t *obj);
    /* An object deleted; ns is "" for a cluster-scoped kind. */
    void (*deleted)(void *arg, const char *kind, const char *ns, const char *name);
    const char *component; /* names the index in warnings */
};

/* One feed; lives as long as its watch, in its consumer's struct. */
struct api_store_feed {
    const struct api_store_feed_ops *ops;
    void *arg;
    const struct api_kind *kind; /* of the resource fed */
    size_t prefix_len;           /* of its key prefix "/registry/<resource>/" */
    struct store_watch *watch;
};

/* Feeds the objects of resource ("roles", "secrets", ...) to ops;
 * returns 0, or <0 with f stopped. */
int api_store_feed_start(struct api_store_feed *f, struct store *s, const char *resource,
                         const struct api_store_feed_ops *ops, void *arg, struct sk_err *err);

/* Ends the watch; safe on a feed never started or already stopped. */
void api_store_feed_stop(struct api_store_feed *f);

#endif
