/* JSON to kubectl-style block YAML; the rules are in yaml_emit.h. */
#include "yaml_emit.h"

#include "alloc.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest key written as "key: value"; libyaml's limit is 1024. */
#define SK_YAML_EMIT_MAX_KEY 1000

enum style { STYLE_PLAIN, STYLE_SINGLE, STYLE_DOUBLE, STYLE_LITERAL };

/* Plain words a YAML 1.1 resolver reads as null or a boolean; quoting
 * them keeps them strings in every reader, not only in ours. */
static const char *const reserved_words[] = {
    "~",    "null",  "Null",  "NULL",  "true",  "True",  "TRUE",  "false", "False", "FALSE",
    "yes",  "Yes",   "YES",   "no",    "No",    "NO",    "on",    "On",    "ON",    "off",
    "Off",  "OFF",   "y",     "Y",     "n",     "N",     "=",     "<<",    ".inf",  ".Inf",
    ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan",  ".NaN",  ".NAN",
};

static bool
is_reserved(const char *s)
{
    for (size_t i = 0; i < sizeof(reserved_words) / sizeof(reserved_words[0]); i++)
        if (strcmp(s, reserved_words[i]) == 0)
            return true;
    return false;
}

/* Anything that starts like a number (optional sign, then a digit or a
 * '.' and a digit) is quoted: integers in every base, reals, and YAML
 * 1.1's sexagesimal and timestamp forms ("12:30", "2024-01-01"). This
 * quotes a few strings a resolver would leave alone ("1abc"); that is
 * harmless and keeps the rule simple. */
static bool
looks_numeric(const char *s)
{
    size_t dots = 0, i;

    /* A dotted quad ("10.244.1.5") is no number to any resolver, and
     * kubectl prints addresses plain. */
    for (i = 0; s[i] && (s[i] == '.' || (s[i] >= '0' && s[i] <= '9')); i++)
        dots += s[i] == '.';
    if (!s[i] && dots >= 2 && s[0] != '.' && s[i - 1] != '.' && !strstr(s, ".."))
        return false;
    if (*s == '+' || *s == '-')
        s++;
    if (*s == '.')
        s++;
    return *s >= '0' && *s <= '9';
}

/* Bytes that force double quotes: control characters, DEL, and the
 * Unicode line breaks NEL, LS, PS and the BOM, which YAML treats as
 * breaks or strips. */
static bool
needs_escape(const unsigned char *p)
{
    if ((*p < 0x20 && *p != '\n') || *p == 0x7f)
        return true;
    if (p[0] == 0xC2 && p[1] == 0x85)
        return true;
    if (p[0] == 0xE2 && p[1] == 0x80 && (p[2] == 0xA8 || p[2] == 0xA9))
        return true;
    return p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF;
}

/* A literal block keeps every byte of a multi-line string as long as the
 * first line fixes the indentation (no leading blank) and no line is all
 * blanks (those fold into the indentation). */
static bool
literal_ok(const char *s)
{
    const char *line = s;

    if (*s == ' ' || *s == '\n')
        return false;
    for (const char *p = s;; p++) {
        if (*p == '\n' || *p == '\0') {
            size_t len = (size_t)(p - line);

            if (len > 0 && strspn(line, " ") >= len)
                return false;
            if (*p == '\0')
                return true;
            line = p + 1;
        }
    }
}

static enum style
string_style(const char *s, bool key)
{
    size_t len = strlen(s);
    bool multiline = strchr(s, '\n') != NULL;

    for (const char *p = s; *p; p++)
        if (needs_escape((const unsigned char *)p))
            return STYLE_DOUBLE;
    if (multiline)
        return !key && literal_ok(s) ? STYLE_LITERAL : STYLE_DOUBLE;
    if (len == 0 || is_reserved(s) || looks_numeric(s))
        return STYLE_DOUBLE;
    if (s[0] == ' ' || s[len - 1] == ' ' || s[len - 1] == ':')
        return STYLE_SINGLE;
    if (strchr("?:,[]{}#&*!|>'\"%@`", s[0]) || strstr(s, ": ") || strstr(s, " #"))
        return STYLE_SINGLE;
    if (s[0] == '-' && (s[1] == ' ' || s[1] == '\0' || strncmp(s, "---", 3) == 0))
        return STYLE_SINGLE;
    if (strncmp(s, "...", 3) == 0)
        return STYLE_SINGLE;
    return STYLE_PLAIN;
}

static void
put_double(const char *s, struct sk_buf *out)
{
    const unsigned char *p = (const unsigned char *)s;

    sk_buf_putc(out, '"');
    for (; *p; p++) {
        if (*p == '"' || *p == '\\') {
            sk_buf_putc(out, '\\');
            sk_buf_putc(out, (char)*p);
        } else if (*p == '\n') {
            sk_buf_puts(out, "\\n");
        } else if (*p == '\t') {
            sk_buf_puts(out, "\\t");
        } else if (*p < 0x20 || *p == 0x7f) {
            sk_buf_printf(out, "\\x%02x", *p);
        } else if (p[0] == 0xC2 && p[1] == 0x85) {
            sk_buf_puts(out, "\\N");
            p++;
        } else if (p[0] == 0xE2 && p[1] == 0x80 && (p[2] == 0xA8 || p[2] == 0xA9)) {
            sk_buf_puts(out, p[2] == 0xA8 ? "\\L" : "\\P");
            p += 2;
        } else if (p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) {
            sk_buf_puts(out, "\\uFEFF");
            p += 2;
        } else {
            sk_buf_putc(out, (char)*p);
        }
    }
    sk_buf_putc(out, '"');
}

static void
put_single(const char *s, struct sk_buf *out)
{
    sk_buf_putc(out, '\'');
    for (; *s; s++) {
        if (*s == '\'')
            sk_buf_putc(out, '\'');
        sk_buf_putc(out, *s);
    }
    sk_buf_putc(out, '\'');
}

static void
put_indent(int n, struct sk_buf *out)
{
    sk_buf_printf(out, "%*s", n, "");
}

/* "|", "|-" or "|+" after the key, then each line at indent. Empty lines
 * carry no trailing blanks. */
static void
put_literal(const char *s, int indent, struct sk_buf *out)
{
    size_t len = strlen(s);
    const char *chomp = "-", *line = s, *end = s + len;

    if (len > 0 && s[len - 1] == '\n')
        chomp = len > 1 && s[len - 2] == '\n' ? "+" : "";
    sk_buf_printf(out, "|%s\n", chomp);
    if (len > 0 && s[len - 1] == '\n')
        end--; /* the last newline ends the last line */
    while (line <= end) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        size_t n = nl ? (size_t)(nl - line) : (size_t)(end - line);

        if (n > 0) {
            put_indent(indent, out);
            sk_buf_append(out, line, n);
        }
        sk_buf_putc(out, '\n');
        if (!nl)
            break;
        line = nl + 1;
    }
}

static void
put_string(const char *s, bool key, int indent, struct sk_buf *out)
{
    switch (string_style(s, key)) {
    case STYLE_PLAIN:
        sk_buf_puts(out, s);
        break;
    case STYLE_SINGLE:
        put_single(s, out);
        break;
    case STYLE_DOUBLE:
        put_double(s, out);
        break;
    case STYLE_LITERAL:
        put_literal(s, indent, out);
        return;
    }
    if (!key)
        sk_buf_putc(out, '\n');
}

/* The shortest form that reads back to the same double, marked as a real
 * ("3" would read back as an integer). */
static void
put_real(double d, struct sk_buf *out)
{
    char buf[64];

    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    sk_buf_puts(out, buf);
    if (!strpbrk(buf, ".eEn"))
        sk_buf_puts(out, ".0");
}

static void emit_node(const json_t *v, int indent, bool inline_first, struct sk_buf *out);

/* A scalar or empty collection, written after "key: " or "- ". */
static void
put_scalar(const json_t *v, int indent, struct sk_buf *out)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        put_string(json_string_value(v), false, indent, out);
        return;
    case JSON_INTEGER:
        sk_buf_printf(out, "%lld", (long long)json_integer_value(v));
        break;
    case JSON_REAL:
        put_real(json_real_value(v), out);
        break;
    case JSON_TRUE:
        sk_buf_puts(out, "true");
        break;
    case JSON_FALSE:
        sk_buf_puts(out, "false");
        break;
    case JSON_OBJECT:
        sk_buf_puts(out, "{}");
        break;
    case JSON_ARRAY:
        sk_buf_puts(out, "[]");
        break;
    default:
        sk_buf_puts(out, "null");
        break;
    }
    sk_buf_putc(out, '\n');
}

static bool
is_collection(const json_t *v)
{
    return (json_is_object(v) && json_object_size(v) > 0) ||
           (json_is_array(v) && json_array_size(v) > 0);
}

static int
cmp_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* YAML readers (libyaml among them) refuse an implicit key longer than
 * 1024 characters (YAML 1.2 §7.4.1), so a longer one is written as an
 * explicit "? key" / ": value" pair, the value placed like a sequence
 * item's. Returns true when it did that. */
static bool
emit_long_key(const char *key, const json_t *v, int indent, struct sk_buf *out)
{
    struct sk_buf k = SK_BUF_INIT;
    bool is_long;

    put_string(key, true, indent, &k);
    is_long = k.len > SK_YAML_EMIT_MAX_KEY;
    if (is_long) {
        sk_buf_puts(out, "? ");
        sk_buf_append(out, k.data, k.len);
        sk_buf_putc(out, '\n');
        put_indent(indent, out);
        sk_buf_puts(out, ": ");
        if (is_collection(v))
            emit_node(v, indent + 2, true, out);
        else
            put_scalar(v, indent + 2, out);
    }
    sk_buf_release(&k);
    return is_long;
}

static void
emit_map(const json_t *obj, int indent, bool inline_first, struct sk_buf *out)
{
    size_t n = 0, cap = json_object_size(obj);
    const char **keys = sk_calloc(cap, sizeof(*keys)), *key;
    json_t *v;

    json_object_foreach ((json_t *)obj, key, v) {
        keys[n++] = key;
    }
    qsort(keys, n, sizeof(*keys), cmp_key);
    for (size_t i = 0; i < n; i++) {
        v = json_object_get(obj, keys[i]);
        if (i > 0 || !inline_first)
            put_indent(indent, out);
        if (emit_long_key(keys[i], v, indent, out))
            continue;
        put_string(keys[i], true, indent, out);
        if (json_is_object(v) && json_object_size(v) > 0) {
            sk_buf_puts(out, ":\n");
            emit_node(v, indent + 2, false, out);
        } else if (json_is_array(v) && json_array_size(v) > 0) {
            sk_buf_puts(out, ":\n");
            emit_node(v, indent, false, out);
        } else {
            sk_buf_puts(out, ": ");
            put_scalar(v, indent + 2, out);
        }
    }
    free(keys);
}

/* Items of a sequence start with "- " at indent; what follows the dash
 * sits at indent + 2, its first line on the dash's line. */
static void
emit_seq(const json_t *arr, int indent, bool inline_first, struct sk_buf *out)
{
    size_t i;
    json_t *v;

    json_array_foreach (arr, i, v) {
        if (i > 0 || !inline_first)
            put_indent(indent, out);
        sk_buf_puts(out, "- ");
        if (is_collection(v))
            emit_node(v, indent + 2, true, out);
        else
            put_scalar(v, indent + 2, out);
    }
}

static void
emit_node(const json_t *v, int indent, bool inline_first, struct sk_buf *out)
{
    if (json_is_object(v) && json_object_size(v) > 0)
        emit_map(v, indent, inline_first, out);
    else if (json_is_array(v) && json_array_size(v) > 0)
        emit_seq(v, indent, inline_first, out);
    else
        put_scalar(v, indent + 2, out);
}

void
sk_yaml_emit(const json_t *v, struct sk_buf *out)
{
    if (!v) {
        sk_buf_puts(out, "null\n");
        return;
    }
    emit_node(v, 0, false, out);
}
