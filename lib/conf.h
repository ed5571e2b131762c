#ifndef SK_CONF_H
#define SK_CONF_H

/* A table-driven INI configuration engine over inih.
 *
 * A program describes its configuration as an array of struct sk_conf_opt
 * (ended by an entry with section == NULL), each naming a field of a
 * target struct by offsetof(). The engine fills defaults, loads INI files
 * or strings, applies "section.key=value" overrides and prints the
 * effective configuration. lib/config.h holds skiffd's own table.
 *
 * File syntax (see skiffd.conf(5)):
 *
 *     ; comment            # comment
 *     [section]
 *     key = value          ; inline comment
 *     key = "quoted ; value with \"escapes\" and \\ backslashes"
 *
 * Leading and trailing whitespace around keys and values is dropped; an
 * inline comment starts at a ';' or '#' that begins the value or follows
 * whitespace, outside quotes. "key: value" works as in inih. Indentation
 * means nothing (no continuation lines). CRLF line ends and a UTF-8 BOM
 * are accepted. Every key may appear once per file; a section may be
 * opened more than once.
 *
 * Field types in the target struct, per option type:
 *
 *     SK_CONF_STRING, HOSTPORT, CIDR, PATH   char *  (heap, never NULL
 *                                                     after defaults)
 *     SK_CONF_INT                            int64_t
 *     SK_CONF_UINT, DURATION (ms), SIZE      uint64_t
 *     SK_CONF_BOOL                           bool
 *     SK_CONF_ENUM                           int (index into choices)
 */

#include "err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct sk_buf;

enum sk_conf_type {
    SK_CONF_STRING,
    SK_CONF_INT,
    SK_CONF_UINT,
    SK_CONF_BOOL,     /* true/false yes/no on/off 1/0, any case */
    SK_CONF_DURATION, /* "10s", "500ms", "2m", "1h", "1m30s", "0" -> ms */
    SK_CONF_SIZE,     /* "512", "64KiB", "64Ki", "1MiB", "1M" (decimal) -> bytes */
    SK_CONF_HOSTPORT, /* "127.0.0.1:7000", "[::1]:7000", "name:7000", ":7000" */
    SK_CONF_ENUM,     /* one of choices, any case */
    SK_CONF_CIDR,     /* IPv4 "10.244.0.0/16", host bits zero */
    SK_CONF_PATH,     /* absolute path */
};

/* Option flags. */
#define SK_CONF_EMPTY_OK 0x1 /* an empty value is valid (means "none"/"off") */

struct sk_conf_opt {
    const char *section, *key;
    enum sk_conf_type type;
    size_t offset;              /* offsetof the field in the target struct */
    const char *def;            /* default in file syntax; NULL = empty (or set by caller) */
    const char *const *choices; /* SK_CONF_ENUM: NULL-terminated list */
    long long min, max;         /* INT, UINT, DURATION (ms), SIZE (bytes); 0,0 = unbounded */
    const char *help;           /* one line, for --help and the man page */
    unsigned flags;             /* SK_CONF_EMPTY_OK */
    /* Extra validation of a non-empty value that passed the type's own
     * checks (e.g. an octal mode). Returns <0 and fills err (no "key:"
     * prefix; the engine adds it). NULL = none. */
    int (*check)(const char *value, struct sk_err *err);
};

/* ---- diagnostics ---- */

/* At most this many problems are kept per diag; the next one is replaced
 * by a single "too many problems" entry and loading stops, so a garbage
 * file cannot make --check-config print megabytes. */
#define SK_CONF_DIAG_MAX 100

struct sk_conf_problem {
    char *text;      /* "FILE:LINE: message", or "FILE: message" when line is 0 */
    const char *msg; /* the message part, points into text */
    unsigned line;   /* 1-based; 0 = about the whole file */
};

struct sk_conf_diag {
    struct sk_conf_problem *items;
    size_t count, cap;
    bool full; /* SK_CONF_DIAG_MAX was reached; later problems were dropped */
};

/* Set up an empty diag (no allocation). */
void sk_conf_diag_init(struct sk_conf_diag *diag);
/* Free every problem; diag is empty and reusable afterwards. */
void sk_conf_diag_release(struct sk_conf_diag *diag);
/* Number of problems recorded (the "too many" entry included). */
size_t sk_conf_diag_count(const struct sk_conf_diag *diag);
/* Problem i (i < count), owned by diag. */
const struct sk_conf_problem *sk_conf_diag_get(const struct sk_conf_diag *diag, size_t i);
/* Record a problem in file at line (0 = none). Messages are lowercase and
 * quote the object. The problem after SK_CONF_DIAG_MAX is recorded as
 * "too many problems; stopped here" and sets full; later ones are
 * dropped. */
void sk_conf_diag_add(struct sk_conf_diag *diag, const char *file, unsigned line, const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));
/* Write one problem per line to f. */
void sk_conf_diag_print(const struct sk_conf_diag *diag, FILE *f);

/* ---- loading ---- */

/* Free every string field of target named by opts and set it to NULL
 * (non-string fields are left alone). Safe on a target that was zeroed
 * or already released. */
void sk_conf_release(const struct sk_conf_opt *opts, void *target);

/* Set every field named by opts to its default. String fields must be
 * NULL or heap strings (they are freed first). A default that does not
 * parse is a bug in the table: SK_BUG. */
void sk_conf_defaults(const struct sk_conf_opt *opts, void *target);

/* Parse the INI file at path and store every valid value into target,
 * over what it holds (call sk_conf_defaults first). Every problem is
 * appended to diag as "PATH:LINE: message" (a file that cannot be read
 * gives one problem with line 0). Returns 0 when nothing was wrong, or
 * -EINVAL / -errno when at least one problem was recorded; target may
 * then hold a mix of old and new values, so load into a scratch struct
 * when the old configuration must survive a bad file (SIGHUP). Files
 * over 4 MiB and lines over 4095 bytes are rejected. */
int sk_conf_load_file(const struct sk_conf_opt *opts, void *target, const char *path,
                      struct sk_conf_diag *diag);

/* The same for INI text in memory; name stands for the file in messages. */
int sk_conf_load_string(const struct sk_conf_opt *opts, void *target, const char *name,
                        const char *text, struct sk_conf_diag *diag);

/* Set one option from a command-line override: name is "section.key",
 * value is in file syntax but taken literally (no quotes or comments).
 * Replaces whatever the file or an earlier override set. Fails with
 * -ENOENT for an unknown option or -EINVAL for a bad value, target
 * unchanged: "server.listen: bad port '99999'". */
int sk_conf_set(const struct sk_conf_opt *opts, void *target, const char *name, const char *value,
                struct sk_err *err);

/* The option named "section.key", or NULL. */
const struct sk_conf_opt *sk_conf_find(const struct sk_conf_opt *opts, const char *name);

/* ---- output ---- */

/* Append opt's current value in file syntax to out, quoted when needed,
 * so that parsing it back yields the same value. */
void sk_conf_value_format(const struct sk_conf_opt *opt, const void *target, struct sk_buf *out);

/* Write the effective configuration as INI (sections in table order) to
 * f; the output loads back to the same values. */
void sk_conf_print(const struct sk_conf_opt *opts, const void *target, FILE *f);

/* Write one line per option for --help: "  section.key=TYPE  help
 * (default: X)". */
void sk_conf_help(const struct sk_conf_opt *opts, FILE *f);

/* "string", "duration", ... */
const char *sk_conf_type_name(enum sk_conf_type type);

/* ---- value parsers, shared with code that reads the same syntax ---- */

/* Each returns 0, or <0 with a message naming the bad text in err. */
int sk_conf_parse_bool(const char *s, bool *out, struct sk_err *err);
int sk_conf_parse_duration(const char *s, uint64_t *ms, struct sk_err *err);
int sk_conf_parse_size(const char *s, uint64_t *bytes, struct sk_err *err);
/* "host:port" with host empty, an IPv4 address, a bracketed IPv6 address
 * or a host name; port 1-65535. */
int sk_conf_check_hostport(const char *s, struct sk_err *err);
/* IPv4 network "a.b.c.d/len" with no host bits set. */
int sk_conf_check_cidr(const char *s, struct sk_err *err);
/* Format ms / bytes the way the parsers read them back ("1m30s", "64KiB"). */
void sk_conf_format_duration(uint64_t ms, struct sk_buf *out);
void sk_conf_format_size(uint64_t bytes, struct sk_buf *out);

#endif
