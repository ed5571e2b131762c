/* lib/conf: the table-driven INI engine over inih. */
#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/conf.h"
#include "unit.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tconf {
    char *str, *addr, *net, *path, *even;
    int64_t i;
    uint64_t u, dur, size, bdur, bsize;
    bool b;
    int color;
};

static const char *const colors[] = {"red", "green", "blue", NULL};

static int
check_even(const char *s, struct sk_err *err)
{
    if (strlen(s) % 2)
        return sk_err_set(err, EINVAL, "odd length '%s'", s);
    return 0;
}

#define OFF(f) offsetof(struct tconf, f)

/* clang-format off */
static const struct sk_conf_opt topts[] = {
    {"a", "str", SK_CONF_STRING, OFF(str), "hello", NULL, 0, 0, "a string", 0, NULL},
    {"a", "int", SK_CONF_INT, OFF(i), "-5", NULL, -100, 100, "an integer", 0, NULL},
    {"a", "uint", SK_CONF_UINT, OFF(u), "7", NULL, 0, 0, "unbounded", 0, NULL},
    {"a", "bool", SK_CONF_BOOL, OFF(b), "false", NULL, 0, 0, "a boolean", 0, NULL},
    {"b", "dur", SK_CONF_DURATION, OFF(dur), "10s", NULL, 0, 0, "a duration", 0, NULL},
    {"b", "size", SK_CONF_SIZE, OFF(size), "1MiB", NULL, 0, 0, "a size", 0, NULL},
    {"b", "addr", SK_CONF_HOSTPORT, OFF(addr), "127.0.0.1:7000", NULL, 0, 0, "an address",
     SK_CONF_EMPTY_OK, NULL},
    {"b", "color", SK_CONF_ENUM, OFF(color), "green", colors, 0, 0, "a color", 0, NULL},
    {"c", "net", SK_CONF_CIDR, OFF(net), "10.0.0.0/8", NULL, 0, 0, "a network", 0, NULL},
    {"c", "path", SK_CONF_PATH, OFF(path), "/var/x", NULL, 0, 0, "a path", 0, NULL},
    {"c", "even", SK_CONF_STRING, OFF(even), NULL, NULL, 0, 0, "even length", SK_CONF_EMPTY_OK,
     check_even},
    {"c", "bdur", SK_CONF_DURATION, OFF(bdur), "1s", NULL, 100, 60000, "bounded", 0, NULL},
    {"c", "bsize", SK_CONF_SIZE, OFF(bsize), "1KiB", NULL, 512, 1 << 20, "bounded", 0, NULL},
    {NULL, NULL, 0, 0, NULL, NULL, 0, 0, NULL, 0, NULL},
};
/* clang-format on */

static struct tconf t;
static struct sk_conf_diag diag;

static void
setup(void)
{
    memset(&t, 0, sizeof(t));
    sk_conf_defaults(topts, &t);
    sk_conf_diag_init(&diag);
}

static void
teardown(void)
{
    sk_conf_release(topts, &t);
    sk_conf_diag_release(&diag);
}

static int
load(const char *text)
{
    return sk_conf_load_string(topts, &t, "t.conf", text, &diag);
}

static const char *
problem(size_t i)
{
    ck_assert_uint_gt(sk_conf_diag_count(&diag), i);
    return sk_conf_diag_get(&diag, i)->text;
}

/* The value of option "section.key" in file syntax; static buffer. */
static const char *
value_of(const char *name)
{
    static char out[256];
    struct sk_buf buf = SK_BUF_INIT;
    const struct sk_conf_opt *opt = sk_conf_find(topts, name);

    ck_assert_ptr_nonnull(opt);
    sk_conf_value_format(opt, &t, &buf);
    sk_strlcpy(out, buf.data, sizeof(out));
    sk_buf_release(&buf);
    return out;
}

static char *
write_tmp(const char *name, const void *data, size_t len)
{
    char *path = sk_asprintf("%s/%s", unit_tmpdir(), name);
    FILE *f = fopen(path, "wb");

    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
    return path;
}

/* ---- every type: good and bad values, through a file and --set ---- */

static const struct {
    const char *name, *value;
    const char *want; /* formatted value when good, NULL when bad */
    const char *err;  /* part of the message when bad */
} values[] = {
    {"a.str", "hello world", "hello world", NULL},
    {"a.str", "", NULL, "empty value"},
    {"a.int", "42", "42", NULL},
    {"a.int", "-100", "-100", NULL},
    {"a.int", "100", "100", NULL},
    {"a.int", "101", NULL, "'101' is out of range (-100 to 100)"},
    {"a.int", "-101", NULL, "out of range"},
    {"a.int", "abc", NULL, "bad integer 'abc'"},
    {"a.int", "1.5", NULL, "bad integer"},
    {"a.int", "0x10", NULL, "bad integer"},
    {"a.int", "+5", NULL, "bad integer"},
    {"a.int", "99999999999999999999", NULL, "bad integer"},
    {"a.uint", "0", "0", NULL},
    {"a.uint", "18446744073709551615", "18446744073709551615", NULL},
    {"a.uint", "18446744073709551616", NULL, "bad unsigned integer"},
    {"a.uint", "-1", NULL, "bad unsigned integer '-1'"},
    {"a.bool", "true", "true", NULL},
    {"a.bool", "yes", "true", NULL},
    {"a.bool", "On", "true", NULL},
    {"a.bool", "1", "true", NULL},
    {"a.bool", "FALSE", "false", NULL},
    {"a.bool", "no", "false", NULL},
    {"a.bool", "off", "false", NULL},
    {"a.bool", "0", "false", NULL},
    {"a.bool", "maybe", NULL, "bad boolean 'maybe'"},
    {"a.bool", "2", NULL, "bad boolean"},
    {"a.bool", "", NULL, "empty value"},
    {"b.dur", "10s", "10s", NULL},
    {"b.dur", "500ms", "500ms", NULL},
    {"b.dur", "2m", "2m", NULL},
    {"b.dur", "1h", "1h", NULL},
    {"b.dur", "1m30s", "1m30s", NULL},
    {"b.dur", "90s", "1m30s", NULL},
    {"b.dur", "1h1ms", "1h1ms", NULL},
    {"b.dur", "0", "0s", NULL},
    {"b.dur", "10", NULL, "bad duration '10'"},
    {"b.dur", "s", NULL, "bad duration"},
    {"b.dur", "1.5s", NULL, "bad duration"},
    {"b.dur", "10x", NULL, "bad duration"},
    {"b.dur", "10us", NULL, "bad duration"},
    {"b.dur", "-1s", NULL, "bad duration"},
    {"b.dur", "10 s", NULL, "bad duration"},
    {"b.dur", "99999999999999999999h", NULL, "bad duration"},
    {"b.dur", "9999999999999999h", NULL, "bad duration"},
    {"b.size", "512", "512", NULL},
    {"b.size", "64KiB", "64KiB", NULL},
    {"b.size", "64ki", "64KiB", NULL},
    {"b.size", "1MiB", "1MiB", NULL},
    {"b.size", "2GiB", "2GiB", NULL},
    {"b.size", "1TiB", "1TiB", NULL},
    {"b.size", "1M", "1000000", NULL},
    {"b.size", "1k", "1000", NULL},
    {"b.size", "3 MB", "3000000", NULL},
    {"b.size", "2048B", "2KiB", NULL},
    {"b.size", "1X", NULL, "bad size '1X'"},
    {"b.size", "KiB", NULL, "bad size"},
    {"b.size", "-1", NULL, "bad size"},
    {"b.size", "1.5M", NULL, "bad size"},
    {"b.size", "99999999999TiB", NULL, "bad size"},
    {"b.addr", "127.0.0.1:7000", "127.0.0.1:7000", NULL},
    {"b.addr", "[::1]:7000", "[::1]:7000", NULL},
    {"b.addr", ":7000", ":7000", NULL},
    {"b.addr", "node-1.example.org:80", "node-1.example.org:80", NULL},
    {"b.addr", "", "\"\"", NULL},
    {"b.addr", "127.0.0.1:99999", NULL, "b.addr: bad port '99999'"},
    {"b.addr", "127.0.0.1:0", NULL, "bad port '0'"},
    {"b.addr", "127.0.0.1:", NULL, "bad port ''"},
    {"b.addr", "127.0.0.1:http", NULL, "bad port 'http'"},
    {"b.addr", "127.0.0.1", NULL, "missing port"},
    {"b.addr", "::1:7000", NULL, "must be in brackets"},
    {"b.addr", "[::1]7000", NULL, "missing port"},
    {"b.addr", "[::1:7000", NULL, "missing ']'"},
    {"b.addr", "[zz]:7000", NULL, "bad IPv6 address 'zz'"},
    {"b.addr", "999.1.1.1:80", NULL, "bad IPv4 address '999.1.1.1'"},
    {"b.addr", "a_b:80", NULL, "bad host name 'a_b'"},
    {"b.addr", "-a:80", NULL, "bad host name"},
    {"b.addr", "a..b:80", NULL, "bad host name"},
    {"b.color", "red", "red", NULL},
    {"b.color", "BLUE", "blue", NULL},
    {"b.color", "purple", NULL, "bad value 'purple' (one of: red, green, blue)"},
    {"b.color", "", NULL, "empty value"},
    {"c.net", "10.244.0.0/16", "10.244.0.0/16", NULL},
    {"c.net", "0.0.0.0/0", "0.0.0.0/0", NULL},
    {"c.net", "192.168.1.1/32", "192.168.1.1/32", NULL},
    {"c.net", "10.244.1.0/16", NULL, "has host bits set (the network is 10.244.0.0/16)"},
    {"c.net", "10.0.0.0", NULL, "missing prefix length"},
    {"c.net", "10.0.0.0/33", NULL, "bad prefix length"},
    {"c.net", "10.0.0.0/", NULL, "bad prefix length"},
    {"c.net", "10.0.0/8", NULL, "bad IPv4 address"},
    {"c.net", "fd00::/8", NULL, "only IPv4"},
    {"c.path", "/srv/skiff", "/srv/skiff", NULL},
    {"c.path", "relative/x", NULL, "'relative/x' is not an absolute path"},
    {"c.path", "~/x", NULL, "not an absolute path"},
    {"c.path", "", NULL, "empty value"},
    {"c.even", "ab", "ab", NULL},
    {"c.even", "", "\"\"", NULL},
    {"c.even", "abc", NULL, "c.even: odd length 'abc'"},
    {"c.bdur", "100ms", "100ms", NULL},
    {"c.bdur", "1m", "1m", NULL},
    {"c.bdur", "99ms", NULL, "'99ms' is out of range (100ms to 1m)"},
    {"c.bdur", "61s", NULL, "out of range"},
    {"c.bsize", "512", "512", NULL},
    {"c.bsize", "1MiB", "1MiB", NULL},
    {"c.bsize", "511", NULL, "'511' is out of range (512 to 1MiB)"},
    {"c.bsize", "2M", NULL, "out of range"},
};

START_TEST(set_accepts_good_values_and_rejects_bad_ones)
{
    struct sk_err err;
    char before[256], prefix[64];
    int rc;

    sk_strlcpy(before, value_of(values[_i].name), sizeof(before));
    sk_err_init(&err);
    rc = sk_conf_set(topts, &t, values[_i].name, values[_i].value, &err);
    if (values[_i].want) {
        ck_assert_msg(rc == 0, "%s=%s: %s", values[_i].name, values[_i].value, err.msg);
        ck_assert_str_eq(value_of(values[_i].name), values[_i].want);
        return;
    }
    ck_assert_msg(rc == -EINVAL, "%s=%s accepted", values[_i].name, values[_i].value);
    snprintf(prefix, sizeof(prefix), "%s: ", values[_i].name);
    ck_assert_msg(sk_startswith(err.msg, prefix), "'%s' lacks '%s'", err.msg, prefix);
    ck_assert_msg(strstr(err.msg, values[_i].err), "'%s' lacks '%s'", err.msg, values[_i].err);
    /* A rejected override leaves the old value. */
    ck_assert_str_eq(value_of(values[_i].name), before);
}
END_TEST

START_TEST(file_accepts_good_values_and_reports_bad_ones_with_line)
{
    char *text, *dot = strchr(values[_i].name, '.'), want[128];
    int rc;

    text = sk_asprintf("; test\n[%.*s]\n%s = %s\n", (int)(dot - values[_i].name), values[_i].name,
                       dot + 1, values[_i].value);
    rc = load(text);
    if (values[_i].want) {
        ck_assert_msg(rc == 0, "%s", rc ? problem(0) : "");
        ck_assert_uint_eq(sk_conf_diag_count(&diag), 0);
        ck_assert_str_eq(value_of(values[_i].name), values[_i].want);
    } else {
        ck_assert_int_eq(rc, -EINVAL);
        ck_assert_uint_eq(sk_conf_diag_count(&diag), 1);
        snprintf(want, sizeof(want), "t.conf:3: %s: ", values[_i].name);
        ck_assert_msg(sk_startswith(problem(0), want), "'%s' lacks '%s'", problem(0), want);
        ck_assert_msg(strstr(problem(0), values[_i].err), "'%s'", problem(0));
        ck_assert_uint_eq(sk_conf_diag_get(&diag, 0)->line, 3);
    }
    free(text);
}
END_TEST

START_TEST(defaults_fill_every_field)
{
    ck_assert_str_eq(t.str, "hello");
    ck_assert_int_eq(t.i, -5);
    ck_assert_uint_eq(t.u, 7);
    ck_assert(!t.b);
    ck_assert_uint_eq(t.dur, 10000);
    ck_assert_uint_eq(t.size, 1 << 20);
    ck_assert_str_eq(t.addr, "127.0.0.1:7000");
    ck_assert_int_eq(t.color, 1);
    ck_assert_str_eq(t.net, "10.0.0.0/8");
    ck_assert_str_eq(t.path, "/var/x");
    ck_assert_str_eq(t.even, ""); /* NULL default: empty, never NULL */
    ck_assert_uint_eq(t.bdur, 1000);
    ck_assert_uint_eq(t.bsize, 1024);
}
END_TEST

START_TEST(parsers_are_usable_alone)
{
    uint64_t v;
    bool b;

    ck_assert_int_eq(sk_conf_parse_duration("2h3m4s5ms", &v, NULL), 0);
    ck_assert_uint_eq(v, 2 * 3600000 + 3 * 60000 + 4000 + 5);
    ck_assert_int_eq(sk_conf_parse_size("2GiB", &v, NULL), 0);
    ck_assert_uint_eq(v, 2ULL << 30);
    ck_assert_int_eq(sk_conf_parse_size("18446744073709551615", &v, NULL), 0);
    ck_assert_uint_eq(v, UINT64_MAX);
    ck_assert_int_eq(sk_conf_parse_bool("Yes", &b, NULL), 0);
    ck_assert(b);
    ck_assert_int_eq(sk_conf_check_hostport("[fe80::1]:1", NULL), 0);
    ck_assert_int_lt(sk_conf_check_cidr("10.0.0.1/31", NULL), 0);
}
END_TEST

/* ---- structure: sections, keys, line numbers ---- */

START_TEST(unknown_section_and_key_report_their_lines)
{
    ck_assert_int_eq(load("[a]\n"
                          "str = x\n"
                          "foo = 1\n"
                          "[nope]\n"
                          "bar = 2\n"
                          "baz = 3\n"
                          "[b]\n"
                          "dur = 5s\n"),
                     -EINVAL);
    ck_assert_uint_eq(sk_conf_diag_count(&diag), 2);
    ck_assert_str_eq(problem(0), "t.conf:3: unknown key 'foo' in section [a]");
    ck_assert_str_eq(sk_conf_diag_get(&diag, 0)->msg, "unknown key 'foo' in section [a]");
    ck_assert_uint_eq(sk_conf_diag_get(&diag, 0)->line, 3);
    /* Keys of an unknown section are not reported one by one. */
    ck_assert_str_eq(problem(1), "t.conf:4: unknown section [nope]");
    /* The good lines around them still count. */
    ck_assert_str_eq(t.str, "x");
    ck_assert_uint_eq(t.dur, 5000);
}
END_TEST

START_TEST(key_before_any_section_is_an_error)
{
    ck_assert_int_eq(load("str = x\n[a]\nstr = y\n"), -EINVAL);
    ck_assert_uint_eq(sk_conf_diag_count(&diag), 1);
    ck_assert_str_eq(problem(0), "t.conf:1: key 'str' outside any section");
    ck_assert_str_eq(t.str, "y");
}
END_TEST

START_TEST(duplicate_key_is_an_error_and_the_first_value_stays)
{
    ck_assert_int_eq(load("[a]\nint = 1\n\n[b]\ndur = 1s\n[a]\nint = 2\n"), -EINVAL);
    ck_assert_uint_eq(sk_conf_diag_count(&diag), 1);
    ck_assert_str_eq(problem(0),
                     "t.conf:7: duplicate key 'int' in section [a] (first set on line 2)");
    ck_assert_int_eq(t.i, 1);
}
END_TEST

START_TEST(reopening_a_section_is_fine)
{
    ck_assert_int_eq(load("[a]\nint = 1\n[b]\ndur = 1s\n[a]\nuint = 2\n"), 0);
    ck_assert_int_eq(t.i, 1);
    ck_assert_uint_eq(t.u, 2);
}
END_TEST

START_TEST(every_problem_is_collected_in_line_order)
{
    static const char *const want[] = {
        "t.conf:2: unknown key 'nope' in section [a]",
        "t.conf:3: a.int: bad integer 'x'",
        "t.conf:4: expected 'key = value', '[section]' or a comment",
        "t.conf:5: missing ']' in section header",
        "t.conf:7: b.addr: bad port '99999'",
        "t.conf:8: unterminated quoted value",
        "t.conf:10: duplicate key 'dur' in section [b] (first set on line 9)",
        "t.conf:11: missing key name before '='",
        "t.conf:12: unknown section [zz]",
    };
    size_t i;

    ck_assert_int_eq(load("[a]\n"
                          "nope = 1\n"
                          "int = x\n"
                          "just some words\n"
                          "[b\n"
                          "[b]\n"
                          "addr = 1.2.3.4:99999\n"
                          "color = \"red\n"
                          "dur = 3s\n"
                          "dur = 4s\n"
                          "= 5\n"
                          "[zz]\n"
                          "[a]\n"
                          "uint = 9\n"),
                     -EINVAL);
    ck_assert_uint_eq(sk_conf_diag_count(&diag), sizeof(want) / sizeof(want[0]));
    for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        ck_assert_str_eq(problem(i), want[i]);
    ck_assert_uint_eq(t.u, 9);
    ck_assert_uint_eq(t.dur, 3000);
}
END_TEST

static const struct {
    const char *line, *err;
    bool bad_section; /* keys after a bad header are ignored */
} syntax[] = {
    {"garbage", "expected 'key = value', '[section]' or a comment", false},
    {"[a", "missing ']' in section header", true},
    {"[a] junk", "unexpected text after section header", true},
    {"[ ]", "empty section name", true},
    {"= 5", "missing key name before '='", false},
    {": 5", "missing key name before ':'", false},
    {"str ; = 5", "expected 'key = value'", false},
    {"str = \"abc", "unterminated quoted value", false},
    {"str = \"a\" b", "unexpected text after quoted value", false},
    {"str = \"a\\qb\"", "bad escape '\\q' in quoted value", false},
    {"\x1b[31m = 1", "unknown key '\\x1b[31m' in section [a]", false},
};

START_TEST(syntax_errors_are_reported_with_their_line)
{
    char *text = sk_asprintf("[a]\nint = 1\n%s\nuint = 3\n", syntax[_i].line);

    ck_assert_int_eq(load(text), -EINVAL);
    ck_assert_uint_eq(sk_conf_diag_count(&diag), 1);
    ck_assert_uint_eq(sk_conf_diag_get(&diag, 0)->line, 3);
    ck_assert_msg(strstr(problem(0), syntax[_i].err), "'%s' lacks '%s'", problem(0),
                  syntax[_i].err);
    /* The lines around it still count; after a bad section header no
     * section is current, so its keys go nowhere rather than to the
     * section before. */
    ck_assert_int_eq(t.i, 1);
    ck_assert_uint_eq(t.u, syntax[_i].bad_section ? 7 : 3);
    free(text);
}
END_TEST

/* ---- lexing: quotes, comments, blanks, line ends ---- */

static const struct {
    const char *line, *want;
} lexing[] = {
    {"str = plain", "plain"},
    {"str=tight", "tight"},
    {"str:colon", "colon"},
    {"  str   =   spaced out   ", "spaced out"},
    {"str = x ; comment", "x"},
    {"str = x # comment", "x"},
    {"str = x\t# comment after a tab", "x"},
    {"str = x;y", "x;y"},
    {"str = x#y", "x#y"},
    {"str = \"a ; b # c\" ; comment", "a ; b # c"},
    {"str = \"  padded  \"", "  padded  "},
    {"str = \"say \\\"hi\\\" \\\\o/\"", "say \"hi\" \\o/"},
    {"str = \"\"\"", NULL},
    {"str = a = b", "a = b"},
    {"str = http://x:1/", "http://x:1/"},
    {"str = \xc3\xa9t\xc3\xa9", "\xc3\xa9t\xc3\xa9"},
};

START_TEST(values_are_unquoted_and_comments_dropped)
{
    char *text = sk_asprintf("[a]\n%s\n", lexing[_i].line);
    int rc = load(text);

    if (lexing[_i].want) {
        ck_assert_msg(rc == 0, "%s: %s", lexing[_i].line, rc ? problem(0) : "");
        ck_assert_str_eq(t.str, lexing[_i].want);
    } else {
        ck_assert_int_eq(rc, -EINVAL);
    }
    free(text);
}
END_TEST

START_TEST(comment_lines_blank_lines_and_indentation_mean_nothing)
{
    ck_assert_int_eq(load("; comment\n"
                          "# comment\n"
                          "\n"
                          "   \t\n"
                          "  [a]  ; section comment\n"
                          "str = first\n"
                          "    int = 12\n" /* inih would take this as a continuation */
                          "\t; indented comment\n"
                          "  # indented comment\n"
                          "[b] # other comment style\n"
                          "addr = ; nothing but a comment: empty value\n"),
                     0);
    ck_assert_str_eq(t.str, "first");
    ck_assert_int_eq(t.i, 12);
    ck_assert_str_eq(t.addr, "");
}
END_TEST

START_TEST(crlf_lines_parse_and_keep_line_numbers)
{
    ck_assert_int_eq(load("[a]\r\nstr = \"q\" \r\nint = 5\r\n\r\nnope = 1\r\n"), -EINVAL);
    ck_assert_str_eq(t.str, "q");
    ck_assert_int_eq(t.i, 5);
    ck_assert_uint_eq(sk_conf_diag_count(&diag), 1);
    ck_assert_str_eq(problem(0), "t.conf:5: unknown key 'nope' in section [a]");
}
END_TEST

START_TEST(utf8_bom_is_skipped_and_last_line_needs_no_newline)
{
    ck_assert_int_eq(load("\xEF\xBB\xBF[a]\nint = 3"), 0);
    ck_assert_int_eq(t.i, 3);
}
END_TEST

START_TEST(empty_and_comment_only_files_keep_the_defaults)
{
    ck_assert_int_eq(load(""), 0);
    ck_assert_int_eq(load("\n\n; nothing here\n[a]\n[b]\n"), 0);
    ck_assert_uint_eq(sk_conf_diag_count(&diag), 0);
    ck_assert_str_eq(t.str, "hello");
    ck_assert_int_eq(t.i, -5);
}
END_TEST

START_TEST(lines_longer_than_inih_buffer_work_and_keep_numbering)
{
    struct sk_buf text = SK_BUF_INIT;
    size_t i;

    /* inih 55 reads 200 bytes at a time; a 1000-byte value must come
     * through whole and the next line keep its number. */
    sk_buf_puts(&text, "[c]\npath = /");
    for (i = 0; i < 1000; i++)
        sk_buf_putc(&text, 'a' + (char)(i % 26));
    sk_buf_puts(&text, "\n[a]\nnope = 1\n");
    ck_assert_int_eq(load(text.data), -EINVAL);
    ck_assert_uint_eq(strlen(t.path), 1001);
    ck_assert_str_eq(problem(0), "t.conf:4: unknown key 'nope' in section [a]");
    sk_buf_release(&text);
}
END_TEST

START_TEST(too_long_line_is_an_error_not_a_split)
{
    struct sk_buf text = SK_BUF_INIT;
    size_t i;

    sk_buf_puts(&text, "[a]\nstr = ");
    for (i = 0; i < 5000; i++)
        sk_buf_putc(&text, 'x');
    sk_buf_puts(&text, "\nint = 8\n");
    ck_assert_int_eq(load(text.data), -EINVAL);
    ck_assert_uint_eq(sk_conf_diag_count(&diag), 1);
    ck_assert_str_eq(problem(0), "t.conf:2: line is longer than 4095 bytes");
    ck_assert_str_eq(t.str, "hello");
    ck_assert_int_eq(t.i, 8);
    sk_buf_release(&text);
}
END_TEST

START_TEST(long_names_are_reported_not_truncated)
{
    char *text = sk_asprintf("[%060d]\nint = 1\n[a]\n%060d = 2\n", 0, 0);

    ck_assert_int_eq(load(text), -EINVAL);
    ck_assert_uint_eq(sk_conf_diag_count(&diag), 2);
    ck_assert(sk_startswith(problem(0), "t.conf:1: unknown section [000"));
    ck_assert(sk_startswith(problem(1), "t.conf:4: unknown key '000"));
    ck_assert_int_eq(t.i, -5);
    free(text);
}
END_TEST

/* ---- files ---- */

START_TEST(missing_file_is_one_problem)
{
    ck_assert_int_eq(sk_conf_load_file(topts, &t, "/nonexistent/x.conf", &diag), -ENOENT);
    ck_assert_uint_eq(sk_conf_diag_count(&diag), 1);
    ck_assert_str_eq(problem(0), "/nonexistent/x.conf: cannot open '/nonexistent/x.conf': No "
                                 "such file or directory");
    ck_assert_uint_eq(sk_conf_diag_get(&diag, 0)->line, 0);
}
END_TEST

START_TEST(directory_is_not_a_file)
{
    ck_assert_int_eq(sk_conf_load_file(topts, &t, unit_tmpdir(), &diag), -EISDIR);
    ck_assert_uint_eq(sk_conf_diag_count(&diag), 1);
    ck_assert(strstr(problem(0), "Is a directory"));
}
END_TEST

START_TEST(file_loads_like_a_string)
{
    static const char text[] = "[a]\nint = 77\nbad = 1\n";
    char *path = write_tmp("good.conf", text, sizeof(text) - 1);
    char *want = sk_asprintf("%s:3: unknown key 'bad' in section [a]", path);

    ck_assert_int_eq(sk_conf_load_file(topts, &t, path, &diag), -EINVAL);
    ck_assert_int_eq(t.i, 77);
    ck_assert_str_eq(problem(0), want);
    free(want);
    free(path);
}
END_TEST

START_TEST(nul_byte_is_reported_on_its_line)
{
    static const char text[] = "[a]\nstr = x\0y\nint = 3\n";
    char *path = write_tmp("nul.conf", text, sizeof(text) - 1);

    ck_assert_int_eq(sk_conf_load_file(topts, &t, path, &diag), -EINVAL);
    ck_assert_uint_eq(sk_conf_diag_count(&diag), 1);
    ck_assert_uint_eq(sk_conf_diag_get(&diag, 0)->line, 2);
    ck_assert(strstr(problem(0), "NUL byte"));
    ck_assert_str_eq(t.str, "hello");
    ck_assert_int_eq(t.i, 3);
    free(path);
}
END_TEST

/* xorshift: reproducible garbage without touching rand()'s state. */
static uint64_t
next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void
load_garbage(const char *name, bool binary)
{
    static const char alphabet[] = "[]=:;#\"\\ \t\nabcxyz0123456789.-/\r";
    size_t len = 1 << 20, i;
    char *data = sk_malloc(len), *path;
    uint64_t seed = binary ? 0x9e3779b97f4a7c15ULL : 0x2545f4914f6cdd1dULL;

    for (i = 0; i < len; i++) {
        uint64_t r = next_rand(&seed);
        data[i] = binary ? (char)(r & 0xff) : alphabet[r % (sizeof(alphabet) - 1)];
    }
    path = write_tmp(name, data, len);
    ck_assert_int_lt(sk_conf_load_file(topts, &t, path, &diag), 0);
    ck_assert_uint_ge(sk_conf_diag_count(&diag), 1);
    ck_assert_uint_le(sk_conf_diag_count(&diag), SK_CONF_DIAG_MAX + 1);
    /* Every message stays printable. */
    for (i = 0; i < sk_conf_diag_count(&diag); i++) {
        const char *p;

        for (p = problem(i); *p; p++)
            ck_assert_msg((unsigned char)*p >= 0x20 && *p != 0x7f, "control byte in '%s'",
                          problem(i));
    }
    free(path);
    free(data);
}

START_TEST(megabyte_of_text_garbage_gives_errors_not_a_crash)
{
    load_garbage("garbage.conf", false);
}
END_TEST

START_TEST(megabyte_of_binary_garbage_gives_errors_not_a_crash)
{
    load_garbage("binary.conf", true);
}
END_TEST

START_TEST(file_over_the_size_limit_is_refused)
{
    size_t len = (4u << 20) + 1;
    char *data = sk_malloc(len), *path;

    memset(data, '\n', len);
    path = write_tmp("huge.conf", data, len);
    ck_assert_int_eq(sk_conf_load_file(topts, &t, path, &diag), -EFBIG);
    ck_assert_uint_eq(sk_conf_diag_count(&diag), 1);
    ck_assert(strstr(problem(0), "file is larger than 4 MiB"));
    free(path);
    free(data);
}
END_TEST

START_TEST(too_many_problems_stop_the_load)
{
    struct sk_buf text = SK_BUF_INIT;
    int i;

    sk_buf_puts(&text, "[a]\n");
    for (i = 0; i < 500; i++)
        sk_buf_puts(&text, "junk\n");
    sk_buf_puts(&text, "int = 9\n");
    ck_assert_int_eq(load(text.data), -EINVAL);
    ck_assert_uint_eq(sk_conf_diag_count(&diag), SK_CONF_DIAG_MAX + 1);
    ck_assert(diag.full);
    ck_assert_str_eq(problem(SK_CONF_DIAG_MAX), "t.conf:102: too many problems; stopped here");
    ck_assert_int_eq(t.i, -5);
    sk_buf_release(&text);
}
END_TEST

START_TEST(load_fails_even_when_diag_is_already_full)
{
    int i;

    for (i = 0; i <= SK_CONF_DIAG_MAX; i++)
        sk_conf_diag_add(&diag, "x", 1, "filler %d", i);
    ck_assert(diag.full);
    ck_assert_int_eq(load("[a]\nint = bad\n"), -EINVAL);
}
END_TEST

/* ---- overrides, printing, ownership ---- */

START_TEST(overrides_win_over_the_file)
{
    struct sk_err err;

    ck_assert_int_eq(load("[a]\nint = 5\nstr = from-file\n[b]\naddr = 1.2.3.4:1\n"), 0);
    sk_err_init(&err);
    ck_assert_int_eq(sk_conf_set(topts, &t, "a.int", "7", &err), 0);
    ck_assert_int_eq(sk_conf_set(topts, &t, "b.addr", "", &err), 0);
    ck_assert_int_eq(sk_conf_set(topts, &t, "a.str", "x ; not a comment", &err), 0);
    ck_assert_int_eq(t.i, 7);
    ck_assert_str_eq(t.addr, "");
    ck_assert_str_eq(t.str, "x ; not a comment");
}
END_TEST

START_TEST(set_rejects_unknown_options)
{
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_eq(sk_conf_set(topts, &t, "a.nope", "1", &err), -ENOENT);
    ck_assert_str_eq(err.msg, "unknown option 'a.nope' (use section.key)");
    ck_assert_int_eq(sk_conf_set(topts, &t, "int", "1", &err), -ENOENT);
    ck_assert_int_eq(sk_conf_set(topts, &t, "z.int", "1", &err), -ENOENT);
    ck_assert_int_eq(sk_conf_set(topts, &t, ".", "1", &err), -ENOENT);
    ck_assert_ptr_null(sk_conf_find(topts, "a."));
    ck_assert_ptr_nonnull(sk_conf_find(topts, "c.bsize"));
}
END_TEST

static char *
print_to_string(const struct tconf *c)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);

    ck_assert_ptr_nonnull(f);
    sk_conf_print(topts, c, f);
    fclose(f);
    return out;
}

START_TEST(print_shows_sections_in_table_order)
{
    char *out = print_to_string(&t);

    ck_assert_str_eq(out, "[a]\nstr = hello\nint = -5\nuint = 7\nbool = false\n"
                          "\n[b]\ndur = 10s\nsize = 1MiB\naddr = 127.0.0.1:7000\ncolor = green\n"
                          "\n[c]\nnet = 10.0.0.0/8\npath = /var/x\neven = \"\"\nbdur = 1s\n"
                          "bsize = 1KiB\n");
    free(out);
}
END_TEST

START_TEST(printed_config_loads_back_to_the_same_values)
{
    static const char *const sets[][2] = {
        {"a.str", " lead ; \"quoted\" # \\ trail "},
        {"a.int", "-99"},
        {"a.bool", "on"},
        {"b.dur", "1h2m3s4ms"},
        {"b.size", "12345"},
        {"b.addr", ""},
        {"b.color", "blue"},
        {"c.even", "#;"},
    };
    struct tconf u;
    char *first, *second;
    size_t i;

    for (i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
        ck_assert_int_eq(sk_conf_set(topts, &t, sets[i][0], sets[i][1], NULL), 0);
    first = print_to_string(&t);
    memset(&u, 0, sizeof(u));
    sk_conf_defaults(topts, &u);
    ck_assert_int_eq(sk_conf_load_string(topts, &u, "printed", first, &diag), 0);
    second = print_to_string(&u);
    ck_assert_str_eq(first, second);
    ck_assert_str_eq(u.str, " lead ; \"quoted\" # \\ trail ");
    sk_conf_release(topts, &u);
    free(first);
    free(second);
}
END_TEST

START_TEST(release_frees_every_string_and_is_idempotent)
{
    int i;

    /* Under ASan (make unit SANITIZE=1) any string left behind by
     * replacing values is reported as a leak. */
    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(load("[a]\nstr = one\n[b]\naddr = :1\n[c]\nnet = 10.1.0.0/16\n"
                              "path = /p\neven = ab\n"),
                         0);
        ck_assert_int_eq(sk_conf_set(topts, &t, "a.str", "two", NULL), 0);
        sk_conf_defaults(topts, &t);
    }
    sk_conf_release(topts, &t);
    ck_assert_ptr_null(t.str);
    ck_assert_ptr_null(t.addr);
    ck_assert_ptr_null(t.net);
    ck_assert_ptr_null(t.path);
    ck_assert_ptr_null(t.even);
    sk_conf_release(topts, &t);
}
END_TEST

START_TEST(diag_prints_one_problem_a_line)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f;

    load("[a]\nx = 1\n[q]\n");
    sk_conf_diag_add(&diag, "other.conf", 0, "whole-file problem %d", 1);
    f = open_memstream(&out, &len);
    sk_conf_diag_print(&diag, f);
    fclose(f);
    ck_assert_str_eq(out, "t.conf:2: unknown key 'x' in section [a]\n"
                          "t.conf:3: unknown section [q]\n"
                          "other.conf: whole-file problem 1\n");
    free(out);
    sk_conf_diag_release(&diag);
    ck_assert_uint_eq(sk_conf_diag_count(&diag), 0);
}
END_TEST

START_TEST(help_lists_every_option_with_type_and_default)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);

    sk_conf_help(topts, f);
    fclose(f);
    ck_assert(strstr(out, "  a.int=integer"));
    ck_assert(strstr(out, "an integer (default: -5)\n"));
    ck_assert(strstr(out, "  b.color=red|green|blue"));
    ck_assert(strstr(out, "  b.addr=host:port"));
    free(out);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("conf");
    TCase *tv = tcase_create("values");
    TCase *ts = tcase_create("structure");
    TCase *tf = tcase_create("files");
    TCase *to = tcase_create("output");
    size_t nvalues = sizeof(values) / sizeof(values[0]);

    tcase_add_checked_fixture(tv, setup, teardown);
    tcase_add_loop_test(tv, set_accepts_good_values_and_rejects_bad_ones, 0, (int)nvalues);
    tcase_add_loop_test(tv, file_accepts_good_values_and_reports_bad_ones_with_line, 0,
                        (int)nvalues);
    tcase_add_test(tv, defaults_fill_every_field);
    tcase_add_test(tv, parsers_are_usable_alone);
    suite_add_tcase(s, tv);

    tcase_add_checked_fixture(ts, setup, teardown);
    tcase_add_test(ts, unknown_section_and_key_report_their_lines);
    tcase_add_test(ts, key_before_any_section_is_an_error);
    tcase_add_test(ts, duplicate_key_is_an_error_and_the_first_value_stays);
    tcase_add_test(ts, reopening_a_section_is_fine);
    tcase_add_test(ts, every_problem_is_collected_in_line_order);
    tcase_add_loop_test(ts, syntax_errors_are_reported_with_their_line, 0,
                        (int)(sizeof(syntax) / sizeof(syntax[0])));
    tcase_add_loop_test(ts, values_are_unquoted_and_comments_dropped, 0,
                        (int)(sizeof(lexing) / sizeof(lexing[0])));
    tcase_add_test(ts, comment_lines_blank_lines_and_indentation_mean_nothing);
    tcase_add_test(ts, crlf_lines_parse_and_keep_line_numbers);
    tcase_add_test(ts, utf8_bom_is_skipped_and_last_line_needs_no_newline);
    tcase_add_test(ts, empty_and_comment_only_files_keep_the_defaults);
    tcase_add_test(ts, lines_longer_than_inih_buffer_work_and_keep_numbering);
    tcase_add_test(ts, too_long_line_is_an_error_not_a_split);
    tcase_add_test(ts, long_names_are_reported_not_truncated);
    suite_add_tcase(s, ts);

    tcase_add_checked_fixture(tf, setup, teardown);
    tcase_add_test(tf, missing_file_is_one_problem);
    tcase_add_test(tf, directory_is_not_a_file);
    tcase_add_test(tf, file_loads_like_a_string);
    tcase_add_test(tf, nul_byte_is_reported_on_its_line);
    tcase_add_test(tf, megabyte_of_text_garbage_gives_errors_not_a_crash);
    tcase_add_test(tf, megabyte_of_binary_garbage_gives_errors_not_a_crash);
    tcase_add_test(tf, file_over_the_size_limit_is_refused);
    tcase_add_test(tf, too_many_problems_stop_the_load);
    tcase_add_test(tf, load_fails_even_when_diag_is_already_full);
    tcase_set_timeout(tf, 20);
    suite_add_tcase(s, tf);

    tcase_add_checked_fixture(to, setup, teardown);
    tcase_add_test(to, overrides_win_over_the_file);
    tcase_add_test(to, set_rejects_unknown_options);
    tcase_add_test(to, print_shows_sections_in_table_order);
    tcase_add_test(to, printed_config_loads_back_to_the_same_values);
    tcase_add_test(to, release_frees_every_string_and_is_idempotent);
    tcase_add_test(to, diag_prints_one_problem_a_line);
    tcase_add_test(to, help_lists_every_option_with_type_and_default);
    suite_add_tcase(s, to);
    return unit_main(s);
}
