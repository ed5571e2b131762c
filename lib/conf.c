/* Table-driven INI configuration over inih; see conf.h for the file
 * syntax and the contract.
 *
 * Why the lines are lexed here before inih sees them: Debian's libinih
 * 55 is built with INI_ALLOW_MULTILINE (an indented line continues the
 * previous value), INI_ALLOW_INLINE_COMMENTS with ";" only (so it cuts
 * `"a ; b"` inside quotes and keeps `# x` in values), INI_MAX_LINE 200
 * (longer lines are split in two and the line count drifts), a handler
 * without line numbers (INI_HANDLER_LINENO 0) and reports only the first
 * syntax error. So inih reads through conf_read_line(), which takes one
 * physical line at a time, counts it, reports every problem in it with
 * its line number, decodes the value (quotes, comments) and hands inih a
 * short canonical line instead: "[section]\n", "key=.\n" or "\n". inih
 * keeps the section state and calls conf_on_key() for each key, which
 * takes the decoded value from the reader's state. One inih line per
 * physical line keeps both line counts equal. */
#include "conf.h"
#include "conf_int.h"
#include "alloc.h"
#include "buf.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONF_FILE_MAX (4u << 20) /* bytes */
#define CONF_LINE_MAX 4096       /* bytes, line end included */
/* inih copies section names into char[50]; keep ours well inside it and
 * inside the 200-byte line buffer it gives the reader. */
#define CONF_NAME_MAX 48

/* ---- diagnostics ---- */

void
sk_conf_diag_init(struct sk_conf_diag *diag)
{
    diag->items = NULL;
    diag->count = 0;
    diag->cap = 0;
    diag->full = false;
}

void
sk_conf_diag_release(struct sk_conf_diag *diag)
{
    size_t i;

    for (i = 0; i < diag->count; i++)
        free(diag->items[i].text);
    free(diag->items);
    sk_conf_diag_init(diag);
}

size_t
sk_conf_diag_count(const struct sk_conf_diag *diag)
{
    return diag->count;
}

const struct sk_conf_problem *
sk_conf_diag_get(const struct sk_conf_diag *diag, size_t i)
{
    if (i >= diag->count)
        SK_BUG("diag index %zu out of range (%zu)", i, diag->count);
    return &diag->items[i];
}

static void
diag_push(struct sk_conf_diag *diag, const char *file, unsigned line, const char *msg)
{
    struct sk_conf_problem *p;
    struct sk_buf text = SK_BUF_INIT;
    size_t prefix;

    if (diag->count == diag->cap) {
        diag->cap = diag->cap ? diag->cap * 2 : 8;
        diag->items = sk_reallocarray(diag->items, diag->cap, sizeof(*diag->items));
    }
    if (line)
        sk_buf_printf(&text, "%s:%u: ", file, line);
    else
        sk_buf_printf(&text, "%s: ", file);
    prefix = text.len;
    sk_buf_puts(&text, msg);
    p = &diag->items[diag->count++];
    p->text = sk_buf_detach(&text, NULL);
    p->msg = p->text + prefix;
    p->line = line;
}

void
sk_conf_diag_add(struct sk_conf_diag *diag, const char *file, unsigned line, const char *fmt, ...)
{
    struct sk_buf msg = SK_BUF_INIT;
    va_list ap;

    if (diag->full)
        return;
    if (diag->count >= SK_CONF_DIAG_MAX) {
        diag_push(diag, file, line, "too many problems; stopped here");
        diag->full = true;
        return;
    }
    va_start(ap, fmt);
    sk_buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    diag_push(diag, file, line, msg.data);
    sk_buf_release(&msg);
}

void
sk_conf_diag_print(const struct sk_conf_diag *diag, FILE *f)
{
    size_t i;

    for (i = 0; i < diag->count; i++)
        fprintf(f, "%s\n", diag->items[i].text);
}

/* ---- options and values ---- */

union conf_value {
    int64_t i;
    uint64_t u;
    bool b;
    int e;
};

static bool
type_is_string(enum sk_conf_type type)
{
    return type == SK_CONF_STRING || type == SK_CONF_HOSTPORT || type == SK_CONF_CIDR ||
           type == SK_CONF_PATH;
}

static void *
field(const struct sk_conf_opt *opt, const void *target)
{
    return (char *)target + opt->offset;
}

static const struct sk_conf_opt *
opt_lookup(const struct sk_conf_opt *opts, const char *section, const char *key)
{
    for (; opts->section; opts++)
        if (strcmp(opts->section, section) == 0 && strcmp(opts->key, key) == 0)
            return opts;
    return NULL;
}

static bool
section_known(const struct sk_conf_opt *opts, const char *section)
{
    for (; opts->section; opts++)
        if (strcmp(opts->section, section) == 0)
            return true;
    return false;
}

const struct sk_conf_opt *
sk_conf_find(const struct sk_conf_opt *opts, const char *name)
{
    const char *dot = strchr(name, '.');
    char section[CONF_NAME_MAX + 1];

    if (!dot || (size_t)(dot - name) > CONF_NAME_MAX)
        return NULL;
    memcpy(section, name, (size_t)(dot - name));
    section[dot - name] = '\0';
    return opt_lookup(opts, section, dot + 1);
}

static int
parse_integer(const struct sk_conf_opt *opt, const char *s, union conf_value *v, struct sk_err *err)
{
    char show[SK_CONF_SHOW_MAX + 8], *end;

    /* strtoll alone would accept " 12", "+12" and "0x12". */
    if (!(s[0] >= '0' && s[0] <= '9') && !(opt->type == SK_CONF_INT && s[0] == '-'))
        goto bad;
    errno = 0;
    if (opt->type == SK_CONF_INT)
        v->i = strtoll(s, &end, 10);
    else
        v->u = strtoull(s, &end, 10);
    if (errno || *end || end == s)
        goto bad;
    return 0;
bad:
    sk_conf_show(s, show, sizeof(show));
    return sk_err_set(err, EINVAL, "bad %s '%s'",
                      opt->type == SK_CONF_INT ? "integer" : "unsigned integer", show);
}

static void
format_bound(const struct sk_conf_opt *opt, long long n, struct sk_buf *out)
{
    if (opt->type == SK_CONF_DURATION)
        sk_conf_format_duration((uint64_t)n, out);
    else if (opt->type == SK_CONF_SIZE)
        sk_conf_format_size((uint64_t)n, out);
    else
        sk_buf_printf(out, "%lld", n);
}

static int
check_range(const struct sk_conf_opt *opt, const char *s, const union conf_value *v,
            struct sk_err *err)
{
    char show[SK_CONF_SHOW_MAX + 8];
    struct sk_buf lo = SK_BUF_INIT, hi = SK_BUF_INIT;
    bool ok;
    int rc;

    if (opt->min == 0 && opt->max == 0)
        return 0;
    if (opt->type == SK_CONF_INT)
        ok = v->i >= opt->min && v->i <= opt->max;
    else
        ok = opt->min >= 0 && v->u >= (uint64_t)opt->min && v->u <= (uint64_t)opt->max;
    if (ok)
        return 0;
    format_bound(opt, opt->min, &lo);
    format_bound(opt, opt->max, &hi);
    sk_conf_show(s, show, sizeof(show));
    rc = sk_err_set(err, ERANGE, "'%s' is out of range (%s to %s)", show, lo.data, hi.data);
    sk_buf_release(&lo);
    sk_buf_release(&hi);
    return rc;
}

static int
parse_enum(const struct sk_conf_opt *opt, const char *s, union conf_value *v, struct sk_err *err)
{
    char show[SK_CONF_SHOW_MAX + 8];
    struct sk_buf list = SK_BUF_INIT;
    int i, rc;

    for (i = 0; opt->choices[i]; i++) {
        if (strcasecmp(s, opt->choices[i]) == 0) {
            v->e = i;
            return 0;
        }
    }
    for (i = 0; opt->choices[i]; i++)
        sk_buf_printf(&list, "%s%s", i ? ", " : "", opt->choices[i]);
    sk_conf_show(s, show, sizeof(show));
    rc = sk_err_set(err, EINVAL, "bad value '%s' (one of: %s)", show, list.data);
    sk_buf_release(&list);
    return rc;
}

static int
check_path(const char *s, struct sk_err *err)
{
    char show[SK_CONF_SHOW_MAX + 8];

    sk_conf_show(s, show, sizeof(show));
    if (s[0] != '/')
        return sk_err_set(err, EINVAL, "'%s' is not an absolute path", show);
    if (strlen(s) >= 4096)
        return sk_err_set(err, ENAMETOOLONG, "path '%s' is too long", show);
    return 0;
}

/* Parse s by opt's type into v (string types are only validated).
 * Messages carry no option name; conf_value_parse() adds it. */
static int
parse_typed(const struct sk_conf_opt *opt, const char *s, union conf_value *v, struct sk_err *err)
{
    switch (opt->type) {
    case SK_CONF_STRING:
        return 0;
    case SK_CONF_INT:
    case SK_CONF_UINT:
        if (parse_integer(opt, s, v, err) < 0)
            return -EINVAL;
        return check_range(opt, s, v, err);
    case SK_CONF_BOOL:
        return sk_conf_parse_bool(s, &v->b, err);
    case SK_CONF_DURATION:
        if (sk_conf_parse_duration(s, &v->u, err) < 0)
            return -EINVAL;
        return check_range(opt, s, v, err);
    case SK_CONF_SIZE:
        if (sk_conf_parse_size(s, &v->u, err) < 0)
            return -EINVAL;
        return check_range(opt, s, v, err);
    case SK_CONF_HOSTPORT:
        return sk_conf_check_hostport(s, err);
    case SK_CONF_ENUM:
        return parse_enum(opt, s, v, err);
    case SK_CONF_CIDR:
        return sk_conf_check_cidr(s, err);
    case SK_CONF_PATH:
        return check_path(s, err);
    }
    SK_BUG("option '%s.%s' has unknown type %d", opt->section, opt->key, (int)opt->type);
}

static int
conf_value_parse(const struct sk_conf_opt *opt, const char *s, union conf_value *v,
                 struct sk_err *err)
{
    int rc = 0;

    memset(v, 0, sizeof(*v));
    if (!*s) {
        if (!(opt->flags & SK_CONF_EMPTY_OK))
            rc = sk_err_set(err, EINVAL, "empty value");
    } else {
        rc = parse_typed(opt, s, v, err);
        if (rc >= 0 && opt->check)
            rc = opt->check(s, err);
    }
    if (rc < 0)
        sk_err_wrap(err, "%s.%s", opt->section, opt->key);
    return rc;
}

static void
conf_value_store(const struct sk_conf_opt *opt, void *target, const char *s,
                 const union conf_value *v)
{
    void *f = field(opt, target);

    if (type_is_string(opt->type)) {
        free(*(char **)f);
        *(char **)f = sk_strdup(s);
        return;
    }
    switch (opt->type) {
    case SK_CONF_INT:
        *(int64_t *)f = v->i;
        break;
    case SK_CONF_BOOL:
        *(bool *)f = v->b;
        break;
    case SK_CONF_ENUM:
        *(int *)f = v->e;
        break;
    default:
        *(uint64_t *)f = v->u;
        break;
    }
}

void
sk_conf_release(const struct sk_conf_opt *opts, void *target)
{
    char **s;

    for (; opts->section; opts++) {
        if (!type_is_string(opts->type))
            continue;
        s = field(opts, target);
        free(*s);
        *s = NULL;
    }
}

void
sk_conf_defaults(const struct sk_conf_opt *opts, void *target)
{
    union conf_value v;
    struct sk_err err;

    for (; opts->section; opts++) {
        sk_err_init(&err);
        memset(&v, 0, sizeof(v));
        /* A NULL default is "" or 0 whatever the flags: the caller fills
         * such fields itself (e.g. the host name). */
        if (opts->def && conf_value_parse(opts, opts->def, &v, &err) < 0)
            SK_BUG("bad default in option table: %s", err.msg);
        conf_value_store(opts, target, opts->def ? opts->def : "", &v);
    }
}

int
sk_conf_set(const struct sk_conf_opt *opts, void *target, const char *name, const char *value,
            struct sk_err *err)
{
    const struct sk_conf_opt *opt = sk_conf_find(opts, name);
    char show[SK_CONF_SHOW_MAX + 8];
    union conf_value v;

    if (!opt) {
        sk_conf_show(name, show, sizeof(show));
        return sk_err_set(err, ENOENT, "unknown option '%s' (use section.key)", show);
    }
    if (conf_value_parse(opt, value, &v, err) < 0)
        return -EINVAL;
    conf_value_store(opt, target, value, &v);
    return 0;
}

/* ---- loading ---- */

struct conf_load {
    const struct sk_conf_opt *opts;
    void *target;
    const char *name; /* file name for messages */
    const char *pos, *end;
    unsigned lineno;   /* physical line last handed to inih */
    bool skip_section; /* current section is unknown or bad: ignore its keys */
    char section[CONF_NAME_MAX + 1];
    struct sk_buf line; /* the current line, NUL-terminated */
    struct sk_buf value;
    unsigned *seen; /* per option: line that set it, 0 = not yet */
    struct sk_conf_diag *diag;
    unsigned problems;
};

__attribute__((format(printf, 2, 3))) static void
load_problem(struct conf_load *st, const char *fmt, ...)
{
    struct sk_buf msg = SK_BUF_INIT;
    va_list ap;

    va_start(ap, fmt);
    sk_buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    sk_conf_diag_add(st->diag, st->name, st->lineno, "%s", msg.data);
    sk_buf_release(&msg);
    st->problems++;
}

static bool
is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static char *
skip_blanks(char *p)
{
    while (is_blank(*p))
        p++;
    return p;
}

/* An inline comment starts at ';' or '#' that begins the text or
 * follows a blank. */
static bool
starts_comment(const char *p, const char *text_start)
{
    return (*p == ';' || *p == '#') && (p == text_start || is_blank(p[-1]));
}

static char *
trim_end(char *start, char *end)
{
    while (end > start && is_blank(end[-1]))
        end--;
    *end = '\0';
    return start;
}

/* Decode a quoted value at p (just past the opening quote) into
 * st->value; only blanks and a comment may follow the closing quote. */
static int
lex_quoted(struct conf_load *st, const char *p)
{
    for (; *p && *p != '"'; p++) {
        if (*p == '\\') {
            if (p[1] != '"' && p[1] != '\\') {
                load_problem(st, "bad escape '\\%c' in quoted value (only \\\" and \\\\)",
                             p[1] >= 0x20 && p[1] != 0x7f ? p[1] : '?');
                return -1;
            }
            p++;
        }
        sk_buf_putc(&st->value, *p);
    }
    if (*p != '"') {
        load_problem(st, "unterminated quoted value");
        return -1;
    }
    p = skip_blanks((char *)p + 1);
    if (*p && *p != ';' && *p != '#') {
        load_problem(st, "unexpected text after quoted value");
        return -1;
    }
    return 0;
}

static int
lex_value(struct conf_load *st, char *p)
{
    char *start;

    sk_buf_reset(&st->value);
    sk_buf_puts(&st->value, "");
    p = skip_blanks(p);
    if (*p == '"')
        return lex_quoted(st, p + 1);
    for (start = p; *p && !starts_comment(p, start); p++)
        ;
    sk_buf_puts(&st->value, trim_end(start, p));
    return 0;
}

static void
lex_section(struct conf_load *st, char *p, char *out, int num)
{
    char show[SK_CONF_SHOW_MAX + 8], *close = strchr(p, ']'), *name, *rest;

    st->skip_section = true;
    if (!close) {
        load_problem(st, "missing ']' in section header");
        return;
    }
    rest = skip_blanks(close + 1);
    if (*rest && *rest != ';' && *rest != '#') {
        load_problem(st, "unexpected text after section header");
        return;
    }
    name = trim_end(skip_blanks(p + 1), close);
    sk_conf_show(name, show, sizeof(show));
    if (!*name) {
        load_problem(st, "empty section name");
    } else if (strlen(name) > CONF_NAME_MAX || !section_known(st->opts, name)) {
        load_problem(st, "unknown section [%s]", show);
    } else {
        st->skip_section = false;
        memcpy(st->section, name, strlen(name) + 1);
        snprintf(out, (size_t)num, "[%s]\n", name);
    }
}

static void
lex_key(struct conf_load *st, char *p, char *out, int num)
{
    char show[SK_CONF_SHOW_MAX + 8], *sep, *name, sepc;

    for (sep = p; *sep && *sep != '=' && *sep != ':'; sep++)
        if (starts_comment(sep, p))
            break;
    if (*sep != '=' && *sep != ':') {
        load_problem(st, "expected 'key = value', '[section]' or a comment");
        return;
    }
    sepc = *sep;
    name = trim_end(p, sep);
    sk_conf_show(name, show, sizeof(show));
    if (!*name) {
        load_problem(st, "missing key name before '%c'", sepc);
        return;
    }
    if (strlen(name) > CONF_NAME_MAX) {
        if (!st->skip_section && st->section[0])
            load_problem(st, "unknown key '%s' in section [%s]", show, st->section);
        else if (!st->skip_section)
            load_problem(st, "key '%s' outside any section", show);
        return;
    }
    if (lex_value(st, sep + 1) < 0)
        return;
    snprintf(out, (size_t)num, "%s=.\n", name);
}

/* Find the next physical line; false at the end of input. */
static bool
next_line(struct conf_load *st)
{
    const char *nl;
    size_t len;

    if (st->pos >= st->end)
        return false;
    nl = memchr(st->pos, '\n', (size_t)(st->end - st->pos));
    len = nl ? (size_t)(nl - st->pos) : (size_t)(st->end - st->pos);
    sk_buf_reset(&st->line);
    sk_buf_append(&st->line, st->pos, len);
    st->pos += len + (nl ? 1 : 0);
    st->lineno++;
    return true;
}

/* inih's reader: see the comment at the top of the file. */
static char *
conf_read_line(char *out, int num, void *stream)
{
    struct conf_load *st = stream;
    char *p;

    /* Canonical lines are at most CONF_NAME_MAX + 4 bytes. */
    if (num < CONF_NAME_MAX + 8)
        SK_BUG("inih line buffer of %d bytes is too small", num);
    /* Stop at the first problem this load could not record. */
    if ((st->diag->full && st->problems) || !next_line(st))
        return NULL;
    memcpy(out, "\n", 2);
    p = st->line.data;
    if (st->lineno == 1 && sk_startswith(p, "\xEF\xBB\xBF"))
        p += 3;
    if (st->line.len >= CONF_LINE_MAX) {
        load_problem(st, "line is longer than %d bytes", CONF_LINE_MAX - 1);
        return out;
    }
    if (strlen(st->line.data) != st->line.len) {
        load_problem(st, "line contains a NUL byte (binary file?)");
        return out;
    }
    p = skip_blanks(p);
    if (*p == '\0' || *p == ';' || *p == '#')
        return out;
    if (*p == '[')
        lex_section(st, p, out, num);
    else
        lex_key(st, p, out, num);
    return out;
}

/* inih's handler. value is the reader's placeholder; the decoded value
 * is in st->value. Always returns 1: problems go to the diag, not to
 * inih's first-error line number. */
static int
conf_on_key(void *user, const char *section, const char *name, const char *value)
{
    struct conf_load *st = user;
    char show[SK_CONF_SHOW_MAX + 8];
    const struct sk_conf_opt *opt;
    union conf_value v;
    struct sk_err err;
    size_t i;

    sk_conf_show(name, show, sizeof(show));
    if (st->skip_section)
        return 1;
    if (!*section) {
        load_problem(st, "key '%s' outside any section", show);
        return 1;
    }
    opt = opt_lookup(st->opts, section, name);
    if (!opt) {
        load_problem(st, "unknown key '%s' in section [%s]", show, section);
        return 1;
    }
    i = (size_t)(opt - st->opts);
    if (st->seen[i]) {
        load_problem(st, "duplicate key '%s' in section [%s] (first set on line %u)", show, section,
                     st->seen[i]);
        return 1;
    }
    st->seen[i] = st->lineno;
    sk_err_init(&err);
    if (conf_value_parse(opt, st->value.data, &v, &err) < 0)
        load_problem(st, "%s", err.msg);
    else
        conf_value_store(opt, st->target, st->value.data, &v);
    return 1;
}

static int
load_buffer(const struct sk_conf_opt *opts, void *target, const char *name, const char *data,
            size_t len, struct sk_conf_diag *diag)
{
    struct conf_load st = {.opts = opts, .target = target, .name = name, .diag = diag};
    size_t n = 0;
    int rc;

    while (opts[n].section)
        n++;
    st.seen = sk_calloc(n ? n : 1, sizeof(*st.seen));
    st.pos = data;
    st.end = data + len;
    sk_buf_init(&st.line);
    sk_buf_init(&st.value);
    rc = ini_parse_stream(conf_read_line, &st, conf_on_key, &st);
    if (rc == -2)
        SK_BUG("out of memory in inih");
    if (rc > 0) {
        /* Every line inih sees is canonical, so this means the reader
         * and inih disagree; never accept the file silently. */
        st.lineno = (unsigned)rc;
        load_problem(&st, "line not accepted by the INI parser");
    }
    sk_buf_release(&st.line);
    sk_buf_release(&st.value);
    free(st.seen);
    return st.problems ? -EINVAL : 0;
}

int
sk_conf_load_string(const struct sk_conf_opt *opts, void *target, const char *name,
                    const char *text, struct sk_conf_diag *diag)
{
    return load_buffer(opts, target, name, text, strlen(text), diag);
}

/* Read all of fd into buf, at most CONF_FILE_MAX bytes. */
static int
read_capped(int fd, struct sk_buf *buf, struct sk_err *err)
{
    ssize_t n;

    for (;;) {
        sk_buf_grow(buf, 65536);
        n = read(fd, buf->data + buf->len, 65536);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return sk_err_sys(err, errno, "read error");
        if (n == 0)
            return 0;
        buf->len += (size_t)n;
        if (buf->len > CONF_FILE_MAX)
            return sk_err_set(err, EFBIG, "file is larger than %u MiB", CONF_FILE_MAX >> 20);
    }
}

int
sk_conf_load_file(const struct sk_conf_opt *opts, void *target, const char *path,
                  struct sk_conf_diag *diag)
{
    struct sk_buf buf = SK_BUF_INIT;
    struct sk_err err;
    struct stat st;
    int fd, rc;

    sk_err_init(&err);
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        rc = sk_err_sys(&err, errno, "cannot open '%s'", path);
        goto out_report;
    }
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        rc = sk_err_sys(&err, EISDIR, "cannot read '%s'", path);
        goto out_close_fd;
    }
    rc = read_capped(fd, &buf, &err);
    if (rc < 0) {
        sk_err_wrap(&err, "cannot read '%s'", path);
        goto out_close_fd;
    }
    rc = load_buffer(opts, target, path, buf.data ? buf.data : "", buf.len, diag);
out_close_fd:
    close(fd);
out_report:
    if (err.code)
        sk_conf_diag_add(diag, path, 0, "%s", err.msg);
    sk_buf_release(&buf);
    return rc;
}

/* ---- output ---- */

static bool
needs_quotes(const char *s)
{
    return !*s || is_blank(s[0]) || is_blank(s[strlen(s) - 1]) || s[0] == '"' ||
           strpbrk(s, ";#\\") != NULL;
}

void
sk_conf_value_format(const struct sk_conf_opt *opt, const void *target, struct sk_buf *out)
{
    const void *f = field(opt, target);
    const char *s;

    switch (opt->type) {
    case SK_CONF_INT:
        sk_buf_printf(out, "%lld", (long long)*(const int64_t *)f);
        return;
    case SK_CONF_UINT:
        sk_buf_printf(out, "%llu", (unsigned long long)*(const uint64_t *)f);
        return;
    case SK_CONF_BOOL:
        sk_buf_puts(out, *(const bool *)f ? "true" : "false");
        return;
    case SK_CONF_DURATION:
        sk_conf_format_duration(*(const uint64_t *)f, out);
        return;
    case SK_CONF_SIZE:
        sk_conf_format_size(*(const uint64_t *)f, out);
        return;
    case SK_CONF_ENUM:
        sk_buf_puts(out, opt->choices[*(const int *)f]);
        return;
    default:
        break;
    }
    s = *(char *const *)f ? *(char *const *)f : "";
    if (!needs_quotes(s)) {
        sk_buf_puts(out, s);
        return;
    }
    sk_buf_putc(out, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            sk_buf_putc(out, '\\');
        sk_buf_putc(out, *s);
    }
    sk_buf_putc(out, '"');
}

/* True if an earlier option than opt is in the same section. */
static bool
section_seen_before(const struct sk_conf_opt *opts, const struct sk_conf_opt *opt)
{
    for (; opts < opt; opts++)
        if (strcmp(opts->section, opt->section) == 0)
            return true;
    return false;
}

void
sk_conf_print(const struct sk_conf_opt *opts, const void *target, FILE *f)
{
    struct sk_buf val = SK_BUF_INIT;
    const struct sk_conf_opt *sec, *o;

    for (sec = opts; sec->section; sec++) {
        if (section_seen_before(opts, sec))
            continue;
        fprintf(f, "%s[%s]\n", sec == opts ? "" : "\n", sec->section);
        for (o = sec; o->section; o++) {
            if (strcmp(o->section, sec->section) != 0)
                continue;
            sk_buf_reset(&val);
            sk_conf_value_format(o, target, &val);
            fprintf(f, "%s = %s\n", o->key, val.data);
        }
    }
    sk_buf_release(&val);
}

const char *
sk_conf_type_name(enum sk_conf_type type)
{
    switch (type) {
    case SK_CONF_STRING:
        return "string";
    case SK_CONF_INT:
        return "integer";
    case SK_CONF_UINT:
        return "unsigned";
    case SK_CONF_BOOL:
        return "boolean";
    case SK_CONF_DURATION:
        return "duration";
    case SK_CONF_SIZE:
        return "size";
    case SK_CONF_HOSTPORT:
        return "host:port";
    case SK_CONF_ENUM:
        return "enum";
    case SK_CONF_CIDR:
        return "cidr";
    case SK_CONF_PATH:
        return "path";
    }
    return "?";
}

void
sk_conf_help(const struct sk_conf_opt *opts, FILE *f)
{
    struct sk_buf name = SK_BUF_INIT;
    int i;

    for (; opts->section; opts++) {
        sk_buf_reset(&name);
        sk_buf_printf(&name, "%s.%s=", opts->section, opts->key);
        if (opts->type == SK_CONF_ENUM) {
            for (i = 0; opts->choices[i]; i++)
                sk_buf_printf(&name, "%s%s", i ? "|" : "", opts->choices[i]);
        } else {
            sk_buf_puts(&name, sk_conf_type_name(opts->type));
        }
        fprintf(f, "  %-40s %s", name.data, opts->help ? opts->help : "");
        if (opts->def && *opts->def)
            fprintf(f, " (default: %s)", opts->def);
        fputc('\n', f);
    }
    sk_buf_release(&name);
}
