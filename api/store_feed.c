/* api/store_feed.c: a range of a resource's key prefix, then a watch of
 * it from that moment, decoded into objects and deletions for an
 * in-process index (see store_feed.h). */
#include "api/store_feed.h"

#include "api/object.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "store/mvcc.h"
#include "store/store.h"

#include <errno.h>
#include <string.h>

/* Kubernetes' longest names: a DNS label for namespaces, a DNS subdomain
 * for objects; longer keys are not the API's and are skipped. */
#define FEED_NS_MAX   63
#define FEED_NAME_MAX 253

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

/* key: the feed's prefix, then [<ns>/]<name> */
static void
feed_key_deleted(const struct api_store_feed *f, const char *key, uint32_t len)
{
    char ns[FEED_NS_MAX + 1] = "", name[FEED_NAME_MAX + 1];
    const char *rest = key + f->prefix_len, *end = key + len, *slash = rest;

    if (len <= f->prefix_len)
        return;
    if (f->kind->namespaced) {
        slash = memchr(rest, '/', (size_t)(end - rest));
        if (!slash || (size_t)(slash - rest) > FEED_NS_MAX)
            return;
        memcpy(ns, rest, (size_t)(slash - rest));
        ns[slash - rest] = '\0';
        slash++;
    }
    if ((size_t)(end - slash) > FEED_NAME_MAX)
        return;
    memcpy(name, slash, (size_t)(end - slash));
    name[end - slash] = '\0';
    f->ops->deleted(f->arg, f->kind->kind, ns, name);
}

static int
feed_event(void *arg, const struct mvcc_event *ev)
{
    const struct api_store_feed *f = arg;

    if (ev->type == MVCC_EVENT_PUT)
        feed_value(f->ops, f->arg, ev->kv.value, ev->kv.value_len);
    else
        feed_key_deleted(f, ev->kv.key, ev->kv.key_len);
    return 0;
}

static int
feed_load(const struct api_store_feed *f, struct store *s, const char *prefix, const char *end,
          uint32_t end_len, struct sk_err *err)
{
    struct mvcc_op op = {.type = MVCC_OP_RANGE,
                         .key = prefix,
                         .key_len = (uint32_t)strlen(prefix),
                         .end = end,
                         .end_len = end_len};
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
    struct sk_buf prefix = SK_BUF_INIT;
    char end[96];
    uint32_t end_len;
    int64_t resume = 0;
    int rc = 0;

    memset(f, 0, sizeof(*f));
    f->ops = ops;
    f->arg = arg;
    if (!(f->kind = api_kind_lookup(resource)))
        return sk_err_set(err, EINVAL, "store feed: unknown resource '%s'", resource);
    api_key_prefix(f->kind, NULL, &prefix);
    f->prefix_len = prefix.len;
    if (prefix.len > sizeof(end))
        SK_BUG("store feed: key prefix too long");
    end_len = mvcc_prefix_end(prefix.data, (uint32_t)prefix.len, end);
    if (feed_load(f, s, prefix.data, end, end_len, err) < 0 ||
        store_watch_start(s, prefix.data, (uint32_t)prefix.len, end, end_len, 0, feed_event, f,
                          &f->watch, &resume, err) < 0)
        rc = sk_err_wrap(err, "watch of %s for %s", resource, ops->component);
    sk_buf_release(&prefix);
    return rc;
}

void
api_store_feed_stop(struct api_store_feed *f)
{
    if (f->watch)
        store_watch_cancel(f->watch);
    f->watch = NULL;
}
