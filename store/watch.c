/* The watch hub (API in store.h): watchers of key spans, fed after each
 * apply from the mvcc hooks.
 *
 * ORDER AND COMPLETENESS. store_watch_start() delivers the history
 * (mvcc_events_since) synchronously, and live events come from the
 * applied hook; both run on the loop thread, so no apply can slip in
 * between: every event after the start revision is delivered exactly
 * once, in revision order. Each watcher remembers the last revision it
 * was given; after a snapshot restore (the whole state replaced) it is
 * caught up again from there with mvcc_events_since.
 *
 * A watcher may be cancelled from inside its own callback: the hub then
 * only marks it and unlinks it once the walk is over. */
#include "store/node_int.h"

#include "lib/alloc.h"
#include "lib/log.h"

#include <stdlib.h>
#include <string.h>

struct store_watch {
    struct watch_hub *hub;
    struct store_watch *next;
    char *key, *end;
    uint32_t key_len, end_len;
    int64_t last_rev; /* every event up to it was delivered */
    store_watch_fn fn;
    void *arg;
    bool dead, stopped;
};

struct watch_hub {
    struct store *s;
    struct store_watch *list;
    int walking;
};

struct watch_hub *
watch_hub_new(struct store *s)
{
    struct watch_hub *h = sk_calloc(1, sizeof(*h));

    h->s = s;
    return h;
}

static void
watch_free(struct store_watch *w)
{
    free(w->key);
    free(w->end);
    free(w);
}

/* Unlink and free the dead watchers (not while walking the list). */
static void
hub_sweep(struct watch_hub *h)
{
    struct store_watch *w, **pp = &h->list;

    if (h->walking)
        return;
    while ((w = *pp)) {
        if (w->dead) {
            *pp = w->next;
            watch_free(w);
            continue;
        }
        pp = &w->next;
    }
}

void
watch_hub_free(struct watch_hub *h)
{
    struct store_watch *w, *next;

    if (!h)
        return;
    for (w = h->list; w; w = next) {
        next = w->next;
        watch_free(w);
    }
    free(h);
}

static int
bytes_cmp(const char *a, uint32_t alen, const char *b, uint32_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);

    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/* Is key in the watcher's span (struct mvcc_op's span rules)? */
static bool
span_has(const struct store_watch *w, const char *key, uint32_t len)
{
    if (!w->key_len)
        return true;
    if (!w->end_len)
        return bytes_cmp(key, len, w->key, w->key_len) == 0;
    if (bytes_cmp(key, len, w->key, w->key_len) < 0)
        return false;
    if (w->end_len == 1 && w->end[0] == '\0')
        return true;
    return bytes_cmp(key, len, w->end, w->end_len) < 0;
}

static int
deliver(void *arg, const struct mvcc_event *ev)
{
    struct store_watch *w = arg;

    if (w->dead || w->stopped || ev->rev <= w->last_rev)
        return w->dead || w->stopped;
    w->last_rev = ev->rev;
    if (w->fn(w->arg, ev) != 0)
        w->stopped = true;
    return w->dead || w->stopped;
}

void
watch_hub_applied(void *arg, int64_t rev, const struct mvcc_event *evs, size_t n)
{
    struct watch_hub *h = arg;
    struct store_watch *w;
    size_t i;

    h->walking++;
    for (w = h->list; w; w = w->next) {
        for (i = 0; i < n && !w->dead && !w->stopped; i++) {
            if (span_has(w, evs[i].kv.key, evs[i].kv.key_len)) {
                /* Several events share a revision (a txn): deliver
                 * them all, then mark the revision done. */
                if (w->fn(w->arg, &evs[i]) != 0)
                    w->stopped = true;
            }
        }
        if (!w->dead && w->last_rev < rev)
            w->last_rev = rev;
    }
    h->walking--;
    hub_sweep(h);
}

void
watch_hub_restored(void *arg, int64_t rev, int64_t compact_rev)
{
    struct watch_hub *h = arg;
    struct store_watch *w;
    struct sk_err err;

    h->walking++;
    for (w = h->list; w; w = w->next) {
        if (w->dead || w->stopped)
            continue;
        sk_err_init(&err);
        if (mvcc_events_since(h->s->mvcc, w->last_rev, w->key, w->key_len, w->end, w->end_len,
                              deliver, w, NULL, &err) < 0) {
            sk_warn("store", "watch: catching up after a snapshot: %s", err.msg);
            w->stopped = true;
        }
    }
    h->walking--;
    hub_sweep(h);
}

int
store_watch_start(struct store *s, const char *key, uint32_t key_len, const char *end,
                  uint32_t end_len, int64_t start_rev, store_watch_fn fn, void *arg,
                  struct store_watch **out, int64_t *resume_rev, struct sk_err *err)
{
    struct watch_hub *h = s->hub;
    struct store_watch *w = sk_calloc(1, sizeof(*w));
    int64_t compact = 0;
    int rc;

    w->hub = h;
    w->key = sk_malloc(key_len + 1);
    memcpy(w->key, key, key_len);
    w->key_len = key_len;
    w->end = sk_malloc(end_len + 1);
    memcpy(w->end, end, end_len);
    w->end_len = end_len;
    w->fn = fn;
    w->arg = arg;
    w->last_rev = start_rev > 0 ? start_rev - 1 : mvcc_rev(s->mvcc);
    *out = w;
    if (start_rev > 0 && start_rev - 1 < mvcc_rev(s->mvcc)) {
        h->walking++;
        rc = mvcc_events_since(s->mvcc, start_rev - 1, key, key_len, end, end_len, deliver, w,
                               &compact, err);
        h->walking--;
        if (rc < 0) {
            if (resume_rev)
                *resume_rev = compact + 1;
            watch_free(w);
            *out = NULL;
            return rc;
        }
        if (w->last_rev < mvcc_rev(s->mvcc))
            w->last_rev = mvcc_rev(s->mvcc);
    }
    w->next = h->list;
    h->list = w;
    return 0;
}

void
store_watch_cancel(struct store_watch *w)
{
    if (!w)
        return;
    w->dead = true;
    hub_sweep(w->hub);
}
