/* Tables: cells collected row by row, then aligned the way kubectl's
 * tabwriter (text/tabwriter, minwidth 6, padding 3, blanks) aligns them,
 * so scripts written against kubectl's column positions keep working.
 * A column's width counts UTF-8 characters, not bytes. */
#include "api/print_int.h"

#include "lib/alloc.h"
#include "lib/json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAB_MIN_WIDTH 6
#define TAB_PADDING   3

void
pr_table_init(struct pr_table *t, size_t ncols)
{
    memset(t, 0, sizeof(*t));
    t->ncols = ncols;
}

void
pr_table_release(struct pr_table *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof(*t));
}

size_t
pr_table_row(struct pr_table *t)
{
    if (t->nrows == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->cells = sk_realloc(t->cells, t->cap * t->ncols * sizeof(char *));
    }
    memset(&t->cells[t->nrows * t->ncols], 0, t->ncols * sizeof(char *));
    return t->nrows++;
}

/* Cells are one line each: a newline or tab inside a value (a hostile
 * name, a multi-line message) would break the alignment and the
 * one-row-per-object promise of -o tsv, so they become spaces. */
static char *
cell_dup(const char *s)
{
    char *c = sk_strdup(s ? s : "");

    for (char *p = c; *p; p++)
        if (*p == '\n' || *p == '\t' || *p == '\r')
            *p = ' ';
    return c;
}

void
pr_table_set(struct pr_table *t, size_t row, size_t col, const char *s)
{
    char **cell;

    if (col >= t->ncols || row >= t->nrows)
        return;
    cell = &t->cells[row * t->ncols + col];
    free(*cell);
    *cell = cell_dup(s);
}

void
pr_table_printf(struct pr_table *t, size_t row, size_t col, const char *fmt, ...)
{
    struct sk_buf b = SK_BUF_INIT;
    va_list ap;

    va_start(ap, fmt);
    sk_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    pr_table_set(t, row, col, b.data ? b.data : "");
    sk_buf_release(&b);
}

static size_t
utf8_width(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

void
pr_table_render(const struct pr_table *t, bool tsv, const char *indent, struct sk_buf *out)
{
    size_t *w = sk_calloc(t->ncols ? t->ncols : 1, sizeof(size_t));

    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c < t->ncols; c++) {
            const char *s = t->cells[r * t->ncols + c];
            size_t cw = utf8_width(s ? s : "") + TAB_PADDING;

            if (cw > w[c])
                w[c] = cw < TAB_MIN_WIDTH ? TAB_MIN_WIDTH : cw;
        }
    for (size_t r = 0; r < t->nrows; r++) {
        sk_buf_puts(out, indent ? indent : "");
        for (size_t c = 0; c < t->ncols; c++) {
            const char *s = t->cells[r * t->ncols + c];

            s = s ? s : "";
            sk_buf_puts(out, s);
            if (c + 1 == t->ncols)
                break;
            if (tsv)
                sk_buf_putc(out, '\t');
            else
                sk_buf_printf(out, "%*s", (int)(w[c] - utf8_width(s)), "");
        }
        sk_buf_putc(out, '\n');
    }
    free(w);
}

int64_t
pr_event_time(const json_t *ev)
{
    static const char *const fields[] = {"lastTimestamp", "eventTime", "firstTimestamp",
                                         "metadata.creationTimestamp"};
    int64_t t;

    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if ((t = pr_time(ev, fields[i])) >= 0)
            return t;
    return -1;
}

struct ev_key {
    json_t *ev;
    int64_t t;
    size_t idx;
};

static int
ev_cmp(const void *a, const void *b)
{
    const struct ev_key *x = a, *y = b;

    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

json_t **
pr_events_sorted(json_t *const *objs, size_t n)
{
    struct ev_key *keys = sk_calloc(n ? n : 1, sizeof(*keys));
    json_t **sorted = sk_calloc(n ? n : 1, sizeof(*sorted));

    for (size_t i = 0; i < n; i++)
        keys[i] = (struct ev_key){objs[i], pr_event_time(objs[i]), i};
    qsort(keys, n, sizeof(*keys), ev_cmp);
    for (size_t i = 0; i < n; i++)
        sorted[i] = keys[i].ev;
    free(keys);
    return sorted;
}

static void
lower_kind(const char *kind, char *out, size_t outsz)
{
    size_t i;

    for (i = 0; kind && kind[i] && i + 1 < outsz; i++)
        out[i] = (char)((kind[i] >= 'A' && kind[i] <= 'Z') ? kind[i] - 'A' + 'a' : kind[i]);
    out[i] = '\0';
}

void
pr_event_object(const json_t *ev, char *out, size_t outsz)
{
    char kind[64];

    lower_kind(pr_str(ev, "involvedObject.kind"), kind, sizeof(kind));
    snprintf(out, outsz, "%s/%s", kind, pr_none(pr_str(ev, "involvedObject.name")));
}

void
api_print_names(json_t **objs, size_t n, struct sk_buf *out)
{
    char kind[64];

    for (size_t i = 0; i < n; i++) {
        const struct api_kind *k = api_kind_lookup(pr_str(objs[i], "kind"));

        if (k)
            sk_strlcpy(kind, k->singular, sizeof(kind));
        else
            lower_kind(pr_str(objs[i], "kind"), kind, sizeof(kind));
        sk_buf_printf(out, "%s/%s\n", kind[0] ? kind : "unknown",
                      pr_none(pr_str(objs[i], "metadata.name")));
    }
}

static size_t
count_headers(const char *const *h)
{
    size_t n = 0;

    while (h && h[n])
        n++;
    return n;
}

static void
add_header(struct pr_table *t, const struct pr_columns *cols, bool ns, bool wide)
{
    size_t row = pr_table_row(t), col = 0;

    if (ns)
        pr_table_set(t, row, col++, "NAMESPACE");
    for (size_t i = 0; cols->headers[i]; i++)
        pr_table_set(t, row, col++, cols->headers[i]);
    for (size_t i = 0; wide && cols->wide_headers && cols->wide_headers[i]; i++)
        pr_table_set(t, row, col++, cols->wide_headers[i]);
}

void
api_print_table(const struct api_kind *kind, json_t **objs, size_t n,
                const struct api_print_opts *o, struct sk_buf *out)
{
    const struct pr_columns *cols = pr_columns_of(kind);
    bool wide = o->format == API_PRINT_WIDE, ns = o->all_namespaces;
    size_t ncols = count_headers(cols->headers) + (wide ? count_headers(cols->wide_headers) : 0);
    json_t **rows = NULL;
    struct pr_table t;

    if (kind && strcmp(kind->kind, "Event") == 0)
        rows = pr_events_sorted(objs, n);
    pr_table_init(&t, ncols + ns);
    if (!o->no_headers)
        add_header(&t, cols, ns, wide);
    for (size_t i = 0; i < n; i++) {
        json_t *obj = rows ? rows[i] : objs[i];
        size_t row = pr_table_row(&t);

        if (ns)
            pr_table_set(&t, row, 0, pr_none(pr_str(obj, "metadata.namespace")));
        cols->fill(obj, o->now, wide, &t, row, ns);
    }
    pr_table_render(&t, o->format == API_PRINT_TSV, NULL, out);
    pr_table_release(&t);
    free(rows);
}
