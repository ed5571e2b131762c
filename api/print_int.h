#ifndef API_PRINT_INT_H
#define API_PRINT_INT_H

/* Private helpers of api/print*.c. */

#include "api/print.h"

/* Type-tolerant reads: a missing value or one of the wrong type gives
 * NULL / def, never an error (hostile objects print as `<none>`). */
const char *pr_str(const json_t *root, const char *path);
int64_t pr_int(const json_t *root, const char *path, int64_t def);
bool pr_bool(const json_t *root, const char *path);
json_t *pr_arr(const json_t *root, const char *path);
json_t *pr_obj(const json_t *root, const char *path);
/* s, or "<none>" when NULL or empty. */
const char *pr_none(const char *s);
/* Unix seconds of the timestamp at path, or -1. */
int64_t pr_time(const json_t *root, const char *path);

/* A table of strings, aligned as kubectl's tabwriter does (minimum
 * width 6, padding 3, the last column not padded). Row 0 is the header
 * when has_header. */
struct pr_table {
    size_t ncols;
    size_t nrows;
    size_t cap;
    char **cells; /* nrows * ncols, owned */
};

void pr_table_init(struct pr_table *t, size_t ncols);
void pr_table_release(struct pr_table *t);
/* Start a row; cells are then set with pr_table_set/printf. */
size_t pr_table_row(struct pr_table *t);
void pr_table_set(struct pr_table *t, size_t row, size_t col, const char *s);
void pr_table_printf(struct pr_table *t, size_t row, size_t col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Append aligned (tsv false) or tab-separated text; indent prefixes every
 * line (describe's nested tables). */
void pr_table_render(const struct pr_table *t, bool tsv, const char *indent, struct sk_buf *out);

/* The columns of a kind: headers (NULL-terminated, wide ones after the
 * first NULL... see print_columns.c) and a row filler. */
struct pr_columns {
    const char *const *headers;      /* NULL-terminated */
    const char *const *wide_headers; /* extra -o wide columns, NULL-terminated */
    void (*fill)(const json_t *obj, int64_t now, bool wide, struct pr_table *t, size_t row,
                 size_t col0);
};

const struct pr_columns *pr_columns_of(const struct api_kind *kind);

/* The time an event last happened: lastTimestamp, eventTime,
 * firstTimestamp, creationTimestamp, or -1. */
int64_t pr_event_time(const json_t *ev);
/* Sort a copy of objs[0..n) of events by pr_event_time, oldest first
 * (stable). The caller frees the array. */
json_t **pr_events_sorted(json_t *const *objs, size_t n);
/* "pod/web" of an event's involvedObject. */
void pr_event_object(const json_t *ev, char *out, size_t outsz);

/* api_print_jsonpath() with the results of one expression joined by
 * sep (custom columns join them with ","). */
int pr_jsonpath_eval(const char *tmpl, const json_t *root, const char *sep, struct sk_buf *out,
                     struct sk_err *err);

/* Join the labels of an object as "a=b,c=d" (sorted by key) or "<none>". */
void pr_labels(const json_t *labels, struct sk_buf *out);

/* Align text (lines with tab-separated cells) like Go's text/tabwriter
 * with the given minimum cell width and padding, appending to out. */
void pr_tabify(const char *text, size_t len, size_t minwidth, size_t padding, struct sk_buf *out);

/* ---- describe (print_describe*.c) ---- */

/* Append "  " * level, then the formatted text (cells end with '\t'). */
void pr_dw(struct sk_buf *b, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* "Title:\tk=v" then "\tk2=v2" per further entry (sorted), or
 * "Title:\t<none>"; sep is "=" for labels, ": " for annotations. */
void pr_dw_map(struct sk_buf *b, int level, const char *title, const json_t *map, const char *sep);
/* RFC 1123 with numeric zone, as kubectl describe prints times:
 * "Wed, 25 Nov 2026 19:30:00 +0000"; "<unknown>" when ts is malformed. */
void pr_time_long(const char *ts, char *out, size_t outsz);
/* The Events block of an object. */
void pr_dw_events(struct sk_buf *b, const json_t *events, int64_t now);
/* Containers of a pod spec ("Containers:" / "Init Containers:") with the
 * matching statuses (may be NULL). */
void pr_dw_containers(struct sk_buf *b, int level, const char *title, const json_t *containers,
                      const json_t *statuses, int64_t now);
/* "Volumes:" of a pod spec. */
void pr_dw_volumes(struct sk_buf *b, int level, const json_t *volumes);
/* A pod's QoS class: status.qosClass, else computed from resources. */
const char *pr_pod_qos(const json_t *pod);

void pr_describe_pod(const json_t *pod, const json_t *events, int64_t now, struct sk_buf *b);
void pr_describe_deployment(const json_t *d, const json_t *events, const json_t *related,
                            int64_t now, struct sk_buf *b);
void pr_describe_service(const json_t *svc, const json_t *events, const json_t *related,
                         int64_t now, struct sk_buf *b);
void pr_describe_secret(const json_t *secret, const json_t *events, int64_t now, struct sk_buf *b);
void pr_describe_configmap(const json_t *cm, const json_t *events, int64_t now, struct sk_buf *b);
void pr_describe_node(const json_t *node, const json_t *events, const json_t *related, int64_t now,
                      struct sk_buf *b);

#endif
