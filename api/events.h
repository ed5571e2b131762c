#ifndef SK_API_EVENTS_H
#define SK_API_EVENTS_H

/* Recording Events (core/v1) about objects, as the scheduler, the
 * controllers and the kubelet do ("Scheduled", "FailedCreate",
 * "BackOff"...), deduplicated like Kubernetes's event correlator: the
 * same involved object, type, reason, message and component again within
 * API_EVENT_DEDUP_NS bumps count and lastTimestamp of the Event already
 * created (one merge patch) instead of creating another. The dedup keys
 * live in a small LRU inside the client (API_EVENT_CACHE_MAX entries).
 *
 * Writes are asynchronous and best effort: a failure is logged, never
 * reported to the caller, since no component should stop over an Event
 * it could not record. */

#include "api/aclient.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define API_EVENT_NORMAL    "Normal"
#define API_EVENT_WARNING   "Warning"
#define API_EVENT_DEDUP_NS  (10LL * 60 * 1000 * 1000 * 1000)
#define API_EVENT_CACHE_MAX 512

/* Record an event about involved (any object with apiVersion, kind,
 * metadata.name and, when namespaced, metadata.namespace; its uid and
 * resourceVersion are copied when present). The Event goes to the
 * object's namespace ("default" for cluster-scoped objects), named by
 * generateName "<involved name>-" (Kubernetes's "<name>.<hex time>"
 * names cannot be generated: a prefix may not end in a dot). type is
 * API_EVENT_NORMAL or API_EVENT_WARNING. Fails at once with -EINVAL for a bad type, a
 * missing kind or name, or an empty reason; 0 when a create or patch was
 * sent (or folded into one in flight). */
int api_event_record(struct api_aclient *c, const json_t *involved, const char *type,
                     const char *reason, const char *message, const char *component,
                     struct sk_err *err);

/* What the dedup cache of c holds and has done (tests, debugging). */
struct api_event_stats {
    size_t entries;       /* dedup keys cached */
    size_t in_flight;     /* of which with a create or patch in flight */
    uint64_t trim_visits; /* entries the trims looked at, in total */
    uint64_t evicted;     /* entries dropped for the bound */
};

void api_event_stats(struct api_aclient *c, struct api_event_stats *out);

#endif
