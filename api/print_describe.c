/* `skiff describe`: the shared pieces (labels, times, the Events table),
 * the generic describer for kinds without their own, and the dispatch.
 * Describers write lines whose cells end in tabs; the result is aligned
 * at the end as kubectl's describe aligns it (tabwriter, padding 2). */
#include "api/print_int.h"

#include "lib/alloc.h"
#include "lib/json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DESCRIBE_PADDING 2

void
pr_dw(struct sk_buf *b, int level, const char *fmt, ...)
{
    va_list ap;

    sk_buf_printf(b, "%*s", level * 2, "");
    va_start(ap, fmt);
    sk_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Values are printed on one line each: embedded newlines would break
 * the block structure (kubectl shows them raw; a multi-line annotation
 * then looks like several keys). */
static void
put_oneline(struct sk_buf *b, const char *s)
{
    for (; *s; s++)
        sk_buf_putc(b, *s == '\n' || *s == '\t' || *s == '\r' ? ' ' : *s);
}

void
pr_dw_map(struct sk_buf *b, int level, const char *title, const json_t *map, const char *sep)
{
    const char *key, **keys;
    size_t n = 0;
    json_t *v;

    if (!json_is_object(map) || json_object_size(map) == 0) {
        pr_dw(b, level, "%s:\t<none>\n", title);
        return;
    }
    keys = sk_calloc(json_object_size(map), sizeof(*keys));
    json_object_foreach ((json_t *)map, key, v) {
        keys[n++] = key;
    }
    qsort(keys, n, sizeof(*keys), cmp_str);
    for (size_t i = 0; i < n; i++) {
        v = json_object_get(map, keys[i]);
        if (i == 0)
            pr_dw(b, level, "%s:\t", title);
        else
            pr_dw(b, level, "\t");
        put_oneline(b, keys[i]);
        sk_buf_puts(b, sep);
        put_oneline(b, json_is_string(v) ? json_string_value(v) : "");
        sk_buf_putc(b, '\n');
    }
    free(keys);
}

void
pr_time_long(const char *ts, char *out, size_t outsz)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    int64_t t;
    time_t tt;
    struct tm tm;

    if (api_print_time_parse(ts, &t) < 0) {
        snprintf(out, outsz, "<unknown>");
        return;
    }
    tt = (time_t)t;
    gmtime_r(&tt, &tm);
    snprintf(out, outsz, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
             months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* kubectl's describe Age column: "5m", or "5m (x3 over 10m)". */
static void
event_age(const json_t *ev, int64_t now, char *out, size_t outsz)
{
    int64_t last = pr_event_time(ev), first = pr_time(ev, "firstTimestamp");
    int64_t count = pr_int(ev, "count", 1);
    char a[32], f[32];

    if (last < 0) {
        snprintf(out, outsz, "<unknown>");
        return;
    }
    api_print_duration(now - last, a, sizeof(a));
    if (count <= 1 || first < 0) {
        snprintf(out, outsz, "%s", a);
        return;
    }
    api_print_duration(now - first, f, sizeof(f));
    snprintf(out, outsz, "%s (x%lld over %s)", a, (long long)count, f);
}

static const char *
event_source(const json_t *ev)
{
    const char *s = pr_str(ev, "source.component");

    if (!s || !*s)
        s = pr_str(ev, "reportingComponent");
    return s && *s ? s : "";
}

void
pr_dw_events(struct sk_buf *b, const json_t *events, int64_t now)
{
    size_t n = json_is_array(events) ? json_array_size(events) : 0;
    json_t **items, **sorted;
    char age[96];

    if (n == 0) {
        sk_buf_puts(b, "Events:\t<none>\n");
        return;
    }
    items = sk_calloc(n, sizeof(*items));
    for (size_t i = 0; i < n; i++)
        items[i] = json_array_get(events, i);
    sorted = pr_events_sorted(items, n);
    sk_buf_puts(b, "Events:\n");
    pr_dw(b, 1, "Type\tReason\tAge\tFrom\tMessage\n");
    pr_dw(b, 1, "----\t------\t----\t----\t-------\n");
    for (size_t i = 0; i < n; i++) {
        event_age(sorted[i], now, age, sizeof(age));
        pr_dw(b, 1, "%s", "");
        put_oneline(b, pr_str(sorted[i], "type") ? pr_str(sorted[i], "type") : "");
        sk_buf_putc(b, '\t');
        put_oneline(b, pr_str(sorted[i], "reason") ? pr_str(sorted[i], "reason") : "");
        sk_buf_printf(b, "\t%s\t", age);
        put_oneline(b, event_source(sorted[i]));
        sk_buf_putc(b, '\t');
        put_oneline(b, pr_str(sorted[i], "message") ? pr_str(sorted[i], "message") : "");
        sk_buf_putc(b, '\n');
    }
    free(sorted);
    free(items);
}

/* ---- generic ---- */

static void generic_value(struct sk_buf *b, int level, const char *key, const json_t *v);

static void
generic_scalar(struct sk_buf *b, const json_t *v)
{
    char *s;

    if (json_is_string(v)) {
        put_oneline(b, json_string_value(v));
        return;
    }
    s = sk_json_dump_line(v);
    sk_buf_puts(b, s ? s : "<none>");
    free(s);
}

static void
generic_children(struct sk_buf *b, int level, const json_t *v)
{
    const char *key;
    json_t *child;
    size_t i;
    char idx[32];

    json_object_foreach ((json_t *)(json_is_object(v) ? v : NULL), key, child) {
        generic_value(b, level, key, child);
    }
    json_array_foreach (json_is_array(v) ? v : NULL, i, child) {
        snprintf(idx, sizeof(idx), "[%zu]", i);
        generic_value(b, level, idx, child);
    }
}

/* kubectl's generic describer walks the object; fields print as
 * "Key:  value", nested objects and lists indented under their key. */
static void
generic_value(struct sk_buf *b, int level, const char *key, const json_t *v)
{
    bool nested = (json_is_object(v) && json_object_size(v) > 0) ||
                  (json_is_array(v) && json_array_size(v) > 0);

    pr_dw(b, level, "%s", "");
    put_oneline(b, key);
    if (nested) {
        sk_buf_puts(b, ":\n");
        if (level < 32)
            generic_children(b, level + 1, v);
        return;
    }
    sk_buf_puts(b, ":\t");
    if (json_is_object(v) || json_is_array(v) || json_is_null(v))
        sk_buf_puts(b, "<none>");
    else
        generic_scalar(b, v);
    sk_buf_putc(b, '\n');
}

static void
describe_generic(const json_t *obj, const json_t *events, int64_t now, struct sk_buf *b)
{
    const char *key, *ns = pr_str(obj, "metadata.namespace");
    char t[64];
    json_t *v;

    pr_dw(b, 0, "Name:\t%s\n", pr_none(pr_str(obj, "metadata.name")));
    if (ns)
        pr_dw(b, 0, "Namespace:\t%s\n", ns);
    pr_dw_map(b, 0, "Labels", pr_obj(obj, "metadata.labels"), "=");
    pr_dw_map(b, 0, "Annotations", pr_obj(obj, "metadata.annotations"), ": ");
    pr_time_long(pr_str(obj, "metadata.creationTimestamp"), t, sizeof(t));
    pr_dw(b, 0, "CreationTimestamp:\t%s\n", t);
    json_object_foreach ((json_t *)(json_is_object(obj) ? obj : NULL), key, v) {
        char title[128];

        if (!strcmp(key, "apiVersion") || !strcmp(key, "kind") || !strcmp(key, "metadata"))
            continue;
        snprintf(title, sizeof(title), "%s", key);
        if (title[0] >= 'a' && title[0] <= 'z')
            title[0] = (char)(title[0] - 'a' + 'A');
        generic_value(b, 0, title, v);
    }
    pr_dw_events(b, events, now);
}

void
api_print_describe_related(const struct api_kind *kind, const json_t *obj, const json_t *events,
                           const json_t *related, int64_t now, struct sk_buf *out)
{
    struct sk_buf b = SK_BUF_INIT;
    const char *k = kind ? kind->kind : "";

    if (!strcmp(k, "Pod"))
        pr_describe_pod(obj, events, now, &b);
    else if (!strcmp(k, "Deployment"))
        pr_describe_deployment(obj, events, related, now, &b);
    else if (!strcmp(k, "Service"))
        pr_describe_service(obj, events, related, now, &b);
    else if (!strcmp(k, "Node"))
        pr_describe_node(obj, events, related, now, &b);
    else if (!strcmp(k, "Secret"))
        pr_describe_secret(obj, events, now, &b);
    else if (!strcmp(k, "ConfigMap"))
        pr_describe_configmap(obj, events, now, &b);
    else
        describe_generic(obj, events, now, &b);
    pr_tabify(b.data ? b.data : "", b.len, 0, DESCRIBE_PADDING, out);
    sk_buf_release(&b);
}

void
api_print_describe(const struct api_kind *kind, const json_t *obj, const json_t *events,
                   int64_t now, struct sk_buf *out)
{
    api_print_describe_related(kind, obj, events, NULL, now, out);
}
