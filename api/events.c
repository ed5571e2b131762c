/* Event recording with Kubernetes-style deduplication (see events.h).
 *
 * Each dedup key (involved object, type, reason, message, component)
 * has an entry in an LRU list: the Event's name once created, its count
 * and when it was last seen. At most one write per entry is in flight;
 * records arriving meanwhile are counted in `unsent` and folded into the
 * next patch, so a burst of identical events costs one create and one
 * patch. Entries with a write in flight are never evicted (their
 * callbacks point at them).
 *
 * Trimming takes entries from the LRU tail. A busy one is moved to a
 * "parked" list instead of being stepped over: under bulk scheduling
 * thousands of creates are in flight at once, and stepping over them on
 * every record made recording quadratic. Every parked entry is older
 * than every entry in the LRU (it was the LRU's oldest when parked, and
 * recording an entry moves it to the LRU head), so the parked list,
 * newest first too, is the older end of one recency order: a trim first
 * evicts the parked tail once its write is done (writes finish mostly in
 * the order they were sent), then goes on with the LRU tail. Each step
 * removes an entry from a list it entered once per record, so trimming
 * costs O(1) amortized per record. The one departure from a strict LRU
 * of idle entries: an idle parked entry behind a busy older one waits
 * for that one before it can be evicted. */
#include "api/events.h"
#include "api/aclient_int.h"
#include "api/object.h"
#include "lib/alloc.h"
#include "lib/json.h"
#include "lib/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct ev_cache;
struct ev_entry;

struct ev_list {
    struct ev_entry *head, *tail;
};

struct ev_entry {
    struct ev_cache *cache;
    char *key;
    /* The Event as first built (template for a (re-)create), as compact
     * JSON text: a quarter of its jansson tree's heap, and up to
     * API_EVENT_CACHE_MAX of them plus the busy ones are kept (the
     * controllers' events name each pod: they never dedup). */
    char *event;
    char *ns;     /* its namespace, for the patches */
    char *reason; /* for the log */
    char *name;   /* the server's name; NULL until created */
    int64_t count;
    int64_t last_ns;
    int64_t unsent;
    bool busy;
    struct ev_list *list;         /* &cache->lru or &cache->parked */
    struct ev_entry *prev, *next; /* in list, most recent first */
};

struct ev_cache {
    struct api_aclient *c;
    struct api_map map;
    struct ev_list lru;    /* every entry but the parked ones */
    struct ev_list parked; /* entries a trim found busy; older than the lru's */
    struct api_event_stats stats;
};

static void ev_send(struct ev_entry *e, json_t *built);

static void
list_unlink(struct ev_entry *e)
{
    struct ev_list *l = e->list;

    if (e->prev)
        e->prev->next = e->next;
    else
        l->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        l->tail = e->prev;
    e->prev = e->next = NULL;
    e->list = NULL;
}

static void
list_push_head(struct ev_list *l, struct ev_entry *e)
{
    e->list = l;
    e->next = l->head;
    if (l->head)
        l->head->prev = e;
    l->head = e;
    if (!l->tail)
        l->tail = e;
}

/* e was just recorded: the most recent entry. */
static void
lru_touch(struct ev_cache *ec, struct ev_entry *e)
{
    if (e->list)
        list_unlink(e);
    list_push_head(&ec->lru, e);
}

static void
entry_set_busy(struct ev_entry *e, bool busy)
{
    if (e->busy == busy)
        return;
    e->busy = busy;
    if (busy)
        e->cache->stats.in_flight++;
    else
        e->cache->stats.in_flight--;
}

static void
entry_free(struct ev_entry *e)
{
    free(e->event);
    free(e->ns);
    free(e->reason);
    free(e->name);
    free(e->key);
    free(e);
}

static void
cache_free(void *arg)
{
    struct ev_cache *ec = arg;
    struct ev_entry *e, *next;

    for (e = ec->lru.head; e; e = next) {
        next = e->next;
        entry_free(e);
    }
    for (e = ec->parked.head; e; e = next) {
        next = e->next;
        entry_free(e);
    }
    api_map_release(&ec->map);
    free(ec);
}

static struct ev_cache *
cache_of(struct api_aclient *c)
{
    struct ev_cache *ec = c->events;

    if (!ec) {
        ec = sk_calloc(1, sizeof(*ec));
        ec->c = c;
        api_map_init(&ec->map);
        c->events = ec;
        c->events_free = cache_free;
    }
    return ec;
}

static void
cache_evict(struct ev_cache *ec, struct ev_entry *e)
{
    list_unlink(e);
    api_map_del(&ec->map, e->key);
    entry_free(e);
    ec->stats.evicted++;
}

/* Drop least recently used idle entries beyond the bound; park the busy
 * ones met on the way (see the top of the file). */
static void
cache_trim(struct ev_cache *ec)
{
    struct ev_entry *e;

    while (ec->map.len > API_EVENT_CACHE_MAX) {
        e = ec->parked.tail;
        if (e && !e->busy) {
            ec->stats.trim_visits++;
            cache_evict(ec, e);
            continue;
        }
        e = ec->lru.tail;
        if (!e)
            break;
        ec->stats.trim_visits++;
        if (!e->busy) {
            cache_evict(ec, e);
            continue;
        }
        list_unlink(e);
        list_push_head(&ec->parked, e);
    }
}

static void
stamp(int64_t now_ns, char *out)
{
    api_time_format(now_ns / 1000000000LL, out);
}

static void
ev_on_create(struct api_aclient *c, int rc, const struct api_resp *resp, const struct sk_err *err,
             void *arg)
{
    struct ev_entry *e = arg;
    json_t *obj;

    if (rc < 0) {
        sk_warn("events", "event '%s' not recorded: %s", e->reason, err->msg);
        entry_set_busy(e, false);
        return;
    }
    obj = api_resp_object(resp, 0, NULL);
    free(e->name);
    e->name = obj ? sk_strdup(api_meta_name(obj)) : NULL;
    json_decref(obj);
    if (e->unsent)
        ev_send(e, NULL);
    else
        entry_set_busy(e, false);
}

static void
ev_on_patch(struct api_aclient *c, int rc, const struct api_resp *resp, const struct sk_err *err,
            void *arg)
{
    struct ev_entry *e = arg;

    if (rc == -ENOENT) {
        /* Deleted meanwhile (TTL, an admin): the next record creates a
         * new Event that carries the count on. */
        free(e->name);
        e->name = NULL;
        ev_send(e, NULL);
        return;
    }
    if (rc < 0)
        sk_warn("events", "event '%s' not updated: %s", e->name, err->msg);
    if (e->unsent)
        ev_send(e, NULL);
    else
        entry_set_busy(e, false);
}

/* Send what the entry owes the server: a create when it has no Event
 * yet, else a patch of count and lastTimestamp. built: the Event just
 * built for a new entry (spares parsing its text back), else NULL. */
static void
ev_send(struct ev_entry *e, json_t *built)
{
    struct api_aclient *c = e->cache->c;
    char ts[API_TIME_LEN];
    json_t *patch, *ev;

    e->count += e->unsent;
    e->unsent = 0;
    stamp(e->last_ns, ts);
    entry_set_busy(e, true);
    if (!e->name) {
        ev = built ? json_incref(built) : json_loads(e->event, 0, NULL);
        if (!ev)
            SK_BUG("event template");
        json_object_set_new(ev, "count", json_integer(e->count));
        json_object_set_new(ev, "lastTimestamp", json_string(ts));
        if (!api_aclient_create(c, ev, ev_on_create, e))
            entry_set_busy(e, false);
        json_decref(ev);
        return;
    }
    patch = json_pack("{s:I,s:s}", "count", (json_int_t)e->count, "lastTimestamp", ts);
    if (!api_aclient_patch(c, "events", e->ns, e->name, NULL, patch, ev_on_patch, e))
        entry_set_busy(e, false);
    json_decref(patch);
}

static json_t *
involved_ref(const json_t *inv)
{
    static const char *const meta[] = {"name", "namespace", "uid", "resourceVersion"};
    const json_t *md = json_object_get(inv, "metadata");
    json_t *ref = json_object(), *v;
    size_t i;

    json_object_set(ref, "apiVersion", json_object_get(inv, "apiVersion"));
    json_object_set(ref, "kind", json_object_get(inv, "kind"));
    for (i = 0; i < sizeof(meta) / sizeof(meta[0]); i++) {
        v = json_object_get(md, meta[i]);
        if (json_is_string(v) && *json_string_value(v))
            json_object_set(ref, meta[i], v);
    }
    if (!json_object_get(ref, "apiVersion"))
        json_object_del(ref, "apiVersion");
    return ref;
}

static json_t *
event_build(const json_t *inv, const char *type, const char *reason, const char *message,
            const char *component, int64_t now_ns)
{
    const char *ns = api_meta_namespace(inv);
    char ts[API_TIME_LEN], gen[320];
    json_t *ev;

    stamp(now_ns, ts);
    snprintf(gen, sizeof(gen), "%.250s-", api_meta_name(inv));
    ev = json_pack("{s:s,s:s,s:{s:s,s:s},s:o,s:s,s:s,s:s,s:I,s:s,s:s,s:{s:s},s:s}", "apiVersion",
                   "v1", "kind", "Event", "metadata", "generateName", gen, "namespace",
                   *ns ? ns : "default", "involvedObject", involved_ref(inv), "reason", reason,
                   "message", message ? message : "", "type", type, "count", (json_int_t)1,
                   "firstTimestamp", ts, "lastTimestamp", ts, "source", "component",
                   component ? component : "", "reportingComponent", component ? component : "");
    if (!ev)
        SK_BUG("event template");
    return ev;
}

static void
entry_set_event(struct ev_entry *e, json_t *ev)
{
    free(e->event);
    free(e->ns);
    free(e->reason);
    e->event = sk_json_dump_line(ev);
    if (!e->event)
        SK_BUG("event template");
    e->ns = sk_strdup(api_meta_namespace(ev));
    e->reason = sk_strdup(json_string_value(json_object_get(ev, "reason")));
}

static void
dedup_key(const json_t *inv, const char *type, const char *reason, const char *message,
          const char *component, struct sk_buf *out)
{
    const char *uid = json_string_value(sk_json_get(inv, "metadata.uid"));

    sk_buf_printf(out, "%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s",
                  json_string_value(json_object_get(inv, "kind")), api_meta_namespace(inv),
                  api_meta_name(inv), uid ? uid : "", type, reason, message ? message : "",
                  component ? component : "");
}

static int
check_args(const json_t *inv, const char *type, const char *reason, struct sk_err *err)
{
    if (!type || (strcmp(type, API_EVENT_NORMAL) != 0 && strcmp(type, API_EVENT_WARNING) != 0))
        return sk_err_set(err, EINVAL, "event type '%s' is not Normal or Warning",
                          type ? type : "");
    if (!reason || !*reason)
        return sk_err_set(err, EINVAL, "event needs a reason");
    if (!json_is_object(inv) || !json_is_string(json_object_get(inv, "kind")) ||
        !*api_meta_name(inv))
        return sk_err_set(err, EINVAL, "involved object needs a kind and a name");
    return 0;
}

int
api_event_record(struct api_aclient *c, const json_t *involved, const char *type,
                 const char *reason, const char *message, const char *component, struct sk_err *err)
{
    struct sk_buf key = SK_BUF_INIT;
    struct ev_cache *ec;
    struct ev_entry *e;
    json_t *ev;
    int64_t now = api_aclient_now_ns(c);

    if (check_args(involved, type, reason, err) < 0)
        return -EINVAL;
    ec = cache_of(c);
    dedup_key(involved, type, reason, message, component, &key);
    e = api_map_get(&ec->map, key.data);
    if (e && now - e->last_ns < API_EVENT_DEDUP_NS) {
        lru_touch(ec, e);
        e->last_ns = now;
        e->unsent++;
        if (!e->busy)
            ev_send(e, NULL);
        sk_buf_release(&key);
        return 0;
    }
    if (!e) {
        e = sk_calloc(1, sizeof(*e));
        e->cache = ec;
        e->key = sk_strdup(key.data);
        api_map_put(&ec->map, key.data, e);
    }
    lru_touch(ec, e);
    /* A new Event: an old one for the key is left to expire. */
    ev = event_build(involved, type, reason, message, component, now);
    entry_set_event(e, ev);
    free(e->name);
    e->name = NULL;
    e->count = 0;
    e->unsent = 1;
    e->last_ns = now;
    if (!e->busy)
        ev_send(e, ev);
    json_decref(ev);
    cache_trim(ec);
    sk_buf_release(&key);
    return 0;
}

void
api_event_stats(struct api_aclient *c, struct api_event_stats *out)
{
    struct ev_cache *ec = c->events;

    memset(out, 0, sizeof(*out));
    if (!ec)
        return;
    *out = ec->stats;
    out->entries = ec->map.len;
}
