/* api/store_feed.c: a range of a resource's key prefix, then a watch of
 * it from that moment, decoded into objects and deletions for an
 * in-process index (see store_feed.h). */
#include "api/store_feed.h"

#include "api/object.h"
#include "lib/alloc.h"
#include "lib/log.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
feed_value(const struct api_store_feed_ops *ops, void *arg, const char *value, uint32_t len)
{
    json_error_t jerr;
    json_t *obj = json_loadb(value, len, 0, &jerr);

    if (!obj) {
        sk_warn(ops->component, "unreadable object in the store: %s", jerr.text);
        return;
    }
    ops->put(arg, obj);
    json_decref(obj);
}

/* key: /registry/<resource>/[<ns>/]<name> */
static void
feed_key_deleted(const struct api_store_feed_ops *ops, void *arg, const char *key, uint32_t len)
{
    char *copy = sk_strndup(key, len), *parts[4] = {0}, *save = NULL;
    size_t n = 0;

    for (char *p = strtok_r(copy, "/", &save); p && n < 4; p = strtok_r(NULL, "/", &save))
        parts[n++] = p;
    if (n >= 3 && !strcmp(parts[0], "registry")) {
        const struct api_kind *k = api_kind_lookup(parts[1]);

        if (k)
            ops->deleted(arg, k->kind, n == 4 ? parts[2] : "", parts[n - 1]);
    }
    free(copy);
}

static int
feed_event(void *arg, const struct mvcc_event *ev)
{
    const struct api_store_feed *f = arg;

    if (ev->type == MVCC_EVENT_PUT)
        feed_value(f->ops, f->arg, ev->kv.value, ev->kv.value_len);
    else
        feed_key_deleted(f->ops, f->arg, ev->kv.key, ev->kv.key_len);
    return 0;
}

static int
feed_load(const struct api_store_feed *f, struct store *s, const char *prefix, const char *end,
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
        feed_value(f->ops, f->arg, res.kvs[i].value, res.kvs[i].value_len);
    mvcc_op_result_release(&res);
    return 0;
}

int
api_store_feed_start(struct api_store_feed *f, struct store *s, const char *resource,
                     const struct api_store_feed_ops *ops, void *arg, struct sk_err *err)
{
    char prefix[96], end[96];
    int64_t resume = 0;

    memset(f, 0, sizeof(*f));
    f->ops = ops;
    f->arg = arg;
    snprintf(prefix, sizeof(prefix), "/registry/%s/", resource);
    snprintf(end, sizeof(end), "/registry/%s0", resource); /* '/' + 1: every key below */
    if (feed_load(f, s, prefix, end, err) < 0 ||
        store_watch_start(s, prefix, (uint32_t)strlen(prefix), end, (uint32_t)strlen(end), 0,
                          feed_event, f, &f->watch, &resume, err) < 0)
        return sk_err_wrap(err, "watch of %s for %s", resource, ops->component);
    return 0;
}

void
api_store_feed_stop(struct api_store_feed *f)
{
    if (f->watch)
        store_watch_cancel(f->watch);
    f->watch = NULL;
}
