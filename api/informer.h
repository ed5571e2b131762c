#ifndef SK_API_INFORMER_H
#define SK_API_INFORMER_H

/* An informer: a local cache of one resource kept current by list +
 * watch over an event-loop client (client-go's SharedIndexInformer, in
 * small). It lists (in pages), then watches from the list's revision;
 * the watch resumes by itself after disconnects, and when the server has
 * compacted the revision it needs (410 Gone) the informer lists again
 * and reconciles the cache with the new list: objects that changed are
 * updates, objects that vanished are deletions. Handlers are therefore
 * level-triggered: they see every object's latest state, not every
 * intermediate one.
 *
 * The cache holds exactly one json_t per object (the parsed one, by
 * reference); handlers and lookups get it borrowed. An object must never
 * be modified: an update replaces it with a new one. A borrowed object
 * stays valid until control returns to the loop; incref it to keep it
 * longer.
 *
 * The scheduler's pods, for example:
 *
 *     struct api_informer_config cfg = {.resource = "pods"};
 *
 *     api_informer_new(client, &cfg, &pods, &err);
 *     api_informer_add_index(pods, "node", api_index_pod_node, &err);
 *     api_informer_add_handlers(pods, &sched_pod_handlers, sched);
 *     api_informer_start(pods);
 *     ...
 *     json_t *on_n1 = api_informer_list(pods, "node", "n1");
 *
 * Informers do their own I/O through the client: list requests share
 * its connection, each watch has one of its own. */

#include "api/aclient.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct api_informer;

struct api_informer_handlers {
    /* An object appeared (initial list, watch, relist). */
    void (*on_add)(struct api_informer *inf, const json_t *obj, void *arg);
    /* An object changed; on a resync old == new_obj. */
    void (*on_update)(struct api_informer *inf, const json_t *old, const json_t *new_obj,
                      void *arg);
    /* An object is gone: its last known state. */
    void (*on_delete)(struct api_informer *inf, const json_t *obj, void *arg);
    /* The initial list is in the cache (once). */
    void (*on_synced)(struct api_informer *inf, void *arg);
};

struct api_informer_config {
    const char *resource; /* "pods" (anything api_kind_lookup knows) */
    const char *ns;       /* NULL, "" or "*": all namespaces */
    const char *selector; /* label selector, or NULL */
    const char *fields;   /* field selector, or NULL */
    uint32_t resync_ms;   /* > 0: on_update(obj, obj) for every object this often */
    size_t page_size;     /* list limit per request; 0: 500 */
    /* NULL, or called on every object before it is cached (listed or
     * watched): it may drop what no reader of the cache needs, in place,
     * to save memory (client-go's SetTransform). It must keep
     * metadata.namespace, name and resourceVersion; handlers and
     * lookups see the transformed object. */
    void (*transform)(json_t *obj);
};

/* Index functions: store up to max values for obj into values (borrowed
 * from obj, e.g. its spec.nodeName) and return how many. */
#define API_INDEX_MAX_VALUES 16
typedef size_t (*api_index_fn)(const json_t *obj, const char **values, size_t max);

/* metadata.namespace */
size_t api_index_namespace(const json_t *obj, const char **values, size_t max);
/* spec.nodeName (unscheduled pods: none) */
size_t api_index_pod_node(const json_t *obj, const char **values, size_t max);

/* A stopped informer on client c; free it before c. */
int api_informer_new(struct api_aclient *c, const struct api_informer_config *cfg,
                     struct api_informer **out, struct sk_err *err);

/* Add a handler set (h must stay valid). Added after the cache has
 * synced, it first gets on_add for every cached object and on_synced. */
void api_informer_add_handlers(struct api_informer *inf, const struct api_informer_handlers *h,
                               void *arg);

/* Add an index named name (copied); fails with -EEXIST for a name in
 * use. May be added at any time: existing objects are indexed at once. */
int api_informer_add_index(struct api_informer *inf, const char *name, api_index_fn fn,
                           struct sk_err *err);

/* Start listing and watching. */
void api_informer_start(struct api_informer *inf);

/* Stop and free, with the cache. Safe inside the informer's handlers
 * (the objects they got stay valid until the handler returns). */
void api_informer_free(struct api_informer *inf);

bool api_informer_synced(const struct api_informer *inf);
/* The revision the cache reflects (list revision, then each event's). */
uint64_t api_informer_rev(const struct api_informer *inf);
/* Lists done so far (1 after the initial one; more after 410 Gone). */
unsigned api_informer_lists(const struct api_informer *inf);
size_t api_informer_len(const struct api_informer *inf);

/* The cached object ns/name (ns NULL or "" for cluster-scoped kinds), or
 * NULL. Borrowed. */
const json_t *api_informer_get(const struct api_informer *inf, const char *ns, const char *name);

/* Call fn for every cached object (in no particular order) until fn
 * returns non-zero; returns the number of calls. fn must not free the
 * informer. */
typedef int (*api_informer_each_fn)(const json_t *obj, void *arg);
size_t api_informer_foreach(const struct api_informer *inf, api_informer_each_fn fn, void *arg);

/* The same for the objects whose index `index` has value; 0 calls for
 * an unknown index or value. */
size_t api_informer_index_foreach(const struct api_informer *inf, const char *index,
                                  const char *value, api_informer_each_fn fn, void *arg);

/* A new JSON array of those objects (references, not copies), sorted by
 * namespace/name, e.g. the pods of a namespace for ctrl_rs_reconcile.
 * index NULL: every object. */
json_t *api_informer_list(const struct api_informer *inf, const char *index, const char *value);

#endif
