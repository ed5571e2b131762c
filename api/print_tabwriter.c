/* Elastic tabstops as Go's text/tabwriter computes them, which is what
 * gives kubectl describe its look: a tab ends a cell; a column is aligned
 * across a block of consecutive lines that all have a cell in it, so
 * "Name:" and "Namespace:" line up while a nested "  IP:" block after a
 * line without a tab starts its own alignment. The text after a line's
 * last tab is never padded. */
#include "api/print_int.h"

#include "lib/alloc.h"

#include <stdlib.h>
#include <string.h>

struct tw_line {
    const char **cells; /* into the text copy; the last is the trailing text */
    size_t *len;
    size_t n;
};

struct tw {
    struct tw_line *lines;
    size_t nlines;
    size_t widths[64];
    size_t nwidths;
    size_t minwidth, padding;
    struct sk_buf *out;
};

static size_t
cell_width(const char *s, size_t len)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

static void
write_lines(struct tw *w, size_t line0, size_t line1)
{
    for (size_t l = line0; l < line1; l++) {
        const struct tw_line *ln = &w->lines[l];

        for (size_t j = 0; j < ln->n; j++) {
            sk_buf_append(w->out, ln->cells[j], ln->len[j]);
            if (j < w->nwidths && j + 1 < ln->n)
                sk_buf_printf(w->out, "%*s",
                              (int)(w->widths[j] - cell_width(ln->cells[j], ln->len[j])), "");
        }
        sk_buf_putc(w->out, '\n');
    }
}

/* Go's Writer.format: find the blocks of lines that have a cell in the
 * current column, size the column per block, recurse for the next. */
static void
format(struct tw *w, size_t line0, size_t line1)
{
    size_t column = w->nwidths;

    for (size_t this = line0; this < line1; this ++) {
        size_t width = w->minwidth;

        if (column + 1 >= w->lines[this].n)
            continue;
        write_lines(w, line0, this);
        line0 = this;
        for (; this < line1 && column + 1 < w->lines[this].n; this ++) {
            const struct tw_line *ln = &w->lines[this];
            size_t cw = cell_width(ln->cells[column], ln->len[column]) + w->padding;

            width = cw > width ? cw : width;
        }
        if (w->nwidths < sizeof(w->widths) / sizeof(w->widths[0])) {
            w->widths[w->nwidths++] = width;
            format(w, line0, this);
            w->nwidths--;
        } else {
            write_lines(w, line0, this);
        }
        line0 = this;
        this --; /* the loop's increment revisits the line that ended the block */
    }
    write_lines(w, line0, line1);
}

static void
split_line(struct tw_line *ln, const char *s, size_t len)
{
    size_t start = 0;

    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '\t')
            continue;
        ln->cells = sk_reallocarray(ln->cells, ln->n + 1, sizeof(*ln->cells));
        ln->len = sk_reallocarray(ln->len, ln->n + 1, sizeof(*ln->len));
        ln->cells[ln->n] = s + start;
        ln->len[ln->n++] = i - start;
        start = i + 1;
    }
}

void
pr_tabify(const char *text, size_t len, size_t minwidth, size_t padding, struct sk_buf *out)
{
    struct tw w = {.minwidth = minwidth, .padding = padding, .out = out};
    size_t start = 0;

    for (size_t i = 0; i < len; i++) {
        if (text[i] != '\n')
            continue;
        w.lines = sk_reallocarray(w.lines, w.nlines + 1, sizeof(*w.lines));
        memset(&w.lines[w.nlines], 0, sizeof(w.lines[0]));
        split_line(&w.lines[w.nlines++], text + start, i - start);
        start = i + 1;
    }
    format(&w, 0, w.nlines);
    if (start < len)
        sk_buf_append(out, text + start, len - start);
    for (size_t l = 0; l < w.nlines; l++) {
        free(w.lines[l].cells);
        free(w.lines[l].len);
    }
    free(w.lines);
}
