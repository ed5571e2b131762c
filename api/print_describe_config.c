/* describe for Secrets and ConfigMaps, after kubectl's: a Secret's
 * values are never printed, only their sizes (describe output lands in
 * terminals, tickets and CI logs); a ConfigMap's values are shown in
 * full, each under a "----" rule. */
#include "api/print_int.h"

#include "lib/alloc.h"
#include "lib/json.h"

#include <stdlib.h>
#include <string.h>

static void
dw_meta(struct sk_buf *b, const json_t *obj)
{
    pr_dw(b, 0, "Name:\t%s\n", pr_none(pr_str(obj, "metadata.name")));
    pr_dw(b, 0, "Namespace:\t%s\n", pr_none(pr_str(obj, "metadata.namespace")));
    pr_dw_map(b, 0, "Labels", pr_obj(obj, "metadata.labels"), "=");
    pr_dw_map(b, 0, "Annotations", pr_obj(obj, "metadata.annotations"), ": ");
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The keys of an object, sorted; the caller frees the array. */
static const char **
sorted_keys(const json_t *obj, size_t *n)
{
    const char **keys = sk_calloc(json_object_size(obj) + 1, sizeof(*keys)), *key;
    json_t *v;

    *n = 0;
    json_object_foreach ((json_t *)obj, key, v) {
        keys[(*n)++] = key;
    }
    qsort(keys, *n, sizeof(*keys), cmp_str);
    return keys;
}

/* Bytes that base64 text decodes to (padding and a missing pad both
 * handled); a non-string counts as 0. */
static size_t
base64_size(const json_t *v)
{
    size_t len, pad = 0;
    const char *s;

    if (!json_is_string(v))
        return 0;
    s = json_string_value(v);
    len = strlen(s);
    while (len > 0 && s[len - 1] == '=' && pad < 2) {
        len--;
        pad++;
    }
    return len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
}

void
pr_describe_secret(const json_t *secret, const json_t *events, int64_t now, struct sk_buf *b)
{
    json_t *data = pr_obj(secret, "data");
    const char **keys;
    size_t n;

    dw_meta(b, secret);
    pr_dw(b, 0, "\nType:\t%s\n\nData\n====\n", pr_none(pr_str(secret, "type")));
    keys = sorted_keys(data, &n);
    for (size_t i = 0; i < n; i++)
        pr_dw(b, 0, "%s:\t%zu bytes\n", keys[i], base64_size(json_object_get(data, keys[i])));
    free(keys);
    sk_buf_putc(b, '\n');
    pr_dw_events(b, events, now);
}

void
pr_describe_configmap(const json_t *cm, const json_t *events, int64_t now, struct sk_buf *b)
{
    json_t *data = pr_obj(cm, "data"), *bin = pr_obj(cm, "binaryData"), *v;
    const char **keys;
    size_t n;

    dw_meta(b, cm);
    pr_dw(b, 0, "\nData\n====\n");
    keys = sorted_keys(data, &n);
    for (size_t i = 0; i < n; i++) {
        v = json_object_get(data, keys[i]);
        /* values print verbatim, tabs and all, so they bypass alignment:
         * the caller's tabwriter only sees their first cell */
        pr_dw(b, 0, "%s:\n----\n", keys[i]);
        for (const char *p = json_is_string(v) ? json_string_value(v) : ""; *p; p++)
            sk_buf_putc(b, *p == '\t' ? ' ' : *p);
        sk_buf_puts(b, "\n\n");
    }
    free(keys);
    pr_dw(b, 0, "BinaryData\n====\n");
    keys = sorted_keys(bin, &n);
    for (size_t i = 0; i < n; i++)
        pr_dw(b, 0, "%s:\t%zu bytes\n", keys[i], base64_size(json_object_get(bin, keys[i])));
    free(keys);
    sk_buf_putc(b, '\n');
    pr_dw_events(b, events, now);
}
