/* The static token file of TCP clients (authn.h), in the format of
 * Kubernetes's --token-auth-file:
 *
 *     # comment
 *     token,user,uid
 *     token,user,uid,"group1,group2"
 *
 * One record a line, comma-separated values as in RFC 4180: a value may
 * be double-quoted (then it may hold commas, and "" stands for a quote),
 * blanks before a value are dropped, a quote inside an unquoted value is
 * an error. At least three columns; the fourth lists groups separated by
 * commas (blanks around them dropped); later columns are ignored, as
 * Kubernetes does. Blank lines and lines starting with '#' are skipped;
 * a quoted value cannot span lines. Unlike Kubernetes (which warns and
 * keeps the last), a token listed twice is an error: a copy-paste slip
 * must not hand one person's token to another.
 *
 * Tokens are kept only as SHA-256 digests, and a lookup compares the
 * digest with every entry in constant time, so neither memory dumps nor
 * response timing give a token away. Messages never quote a token. */
#include "api/authn.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TOKENS_MAX_FILE (4u << 20)
#define TOKENS_MAX_COLS 8
#define DIGEST_LEN      32

struct token_entry {
    unsigned char digest[DIGEST_LEN];
    char user[64];
    char groups[256];
    unsigned line;
};

struct api_tokens {
    struct token_entry *v;
    size_t n;
};

/* One CSV record being parsed: values are copied into buf, each
 * NUL-terminated, col[i] pointing at them. */
struct record {
    char *buf;
    char *col[TOKENS_MAX_COLS];
    size_t ncols; /* may exceed TOKENS_MAX_COLS: the rest are counted only */
};

static void
digest(const char *s, size_t len, unsigned char *out)
{
    sk_sha256(s, len, out);
}

/* Parse the record in line[0..len) into r (r->buf has room for 2 * len
 * + 1 bytes: every byte at most once, plus a NUL per column, and there
 * are at most len + 1 columns). */
static int
record_parse(const char *line, size_t len, struct record *r, struct sk_err *err)
{
    const char *p = line, *end = line + len;
    char *out = r->buf;

    r->ncols = 0;
    for (;;) {
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (r->ncols < TOKENS_MAX_COLS)
            r->col[r->ncols] = out;
        r->ncols++;
        if (p < end && *p == '"') {
            for (p++;; p++) {
                if (p == end)
                    return sk_err_set(err, EINVAL, "column %zu: quote not closed", r->ncols);
                if (*p == '"') {
                    if (p + 1 < end && p[1] == '"') {
                        *out++ = *p++;
                        continue;
                    }
                    p++;
                    break;
                }
                *out++ = *p;
            }
            if (p < end && *p != ',')
                return sk_err_set(err, EINVAL, "column %zu: text after the closing quote",
                                  r->ncols);
        } else {
            for (; p < end && *p != ','; p++) {
                if (*p == '"')
                    return sk_err_set(err, EINVAL,
                                      "column %zu: quote inside an unquoted value (quote the "
                                      "whole value and double the quote)",
                                      r->ncols);
                *out++ = *p;
            }
        }
        *out++ = '\0';
        if (p == end)
            return 0;
        p++; /* the comma */
    }
}

static bool
has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

/* The groups column (may be NULL) plus system:authenticated into out. */
static int
groups_build(const char *col, char *out, size_t outsz, struct sk_err *err)
{
    struct sk_buf b = SK_BUF_INIT;
    const char *p = col ? col : "", *comma, *s, *e;
    bool authed = false;
    int rc = 0;

    while (*p) {
        comma = strchr(p, ',');
        e = comma ? comma : p + strlen(p);
        for (s = p; s < e && (*s == ' ' || *s == '\t'); s++)
            ;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e > s) {
            if (b.len)
                sk_buf_putc(&b, ',');
            sk_buf_append(&b, s, (size_t)(e - s));
            authed |= (size_t)(e - s) == strlen(API_GROUP_AUTHED) &&
                      strncmp(s, API_GROUP_AUTHED, (size_t)(e - s)) == 0;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    if (!authed)
        sk_buf_printf(&b, "%s%s", b.len ? "," : "", API_GROUP_AUTHED);
    if (b.len >= outsz)
        rc = sk_err_set(err, EINVAL, "groups longer than %zu bytes (with %s)", outsz - 1,
                        API_GROUP_AUTHED);
    else if (has_control(b.data))
        rc = sk_err_set(err, EINVAL, "groups contain a control character");
    else
        memcpy(out, b.data, b.len + 1);
    sk_buf_release(&b);
    return rc;
}

/* Check one record and fill e from it. */
static int
entry_from_record(const struct record *r, struct token_entry *e, struct sk_err *err)
{
    const char *token = r->col[0], *user = r->col[1];
    size_t tlen = strlen(token);
    size_t i;

    if (r->ncols < 3)
        return sk_err_set(err, EINVAL, "expected at least 3 columns (token,user,uid), found %zu",
                          r->ncols);
    if (tlen == 0)
        return sk_err_set(err, EINVAL, "empty token");
    if (tlen > API_TOKEN_MAX)
        return sk_err_set(err, EINVAL, "token longer than %d bytes", API_TOKEN_MAX);
    for (i = 0; i < tlen; i++)
        if ((unsigned char)token[i] <= 0x20 || token[i] == 0x7f)
            return sk_err_set(err, EINVAL, "token contains a blank or a control character");
    if (!*user)
        return sk_err_set(err, EINVAL, "empty user name");
    if (has_control(user))
        return sk_err_set(err, EINVAL, "user name contains a control character");
    if (sk_strlcpy(e->user, user, sizeof(e->user)) < 0)
        return sk_err_set(err, EINVAL, "user name longer than %zu bytes", sizeof(e->user) - 1);
    if (groups_build(r->ncols > 3 ? r->col[3] : NULL, e->groups, sizeof(e->groups), err) < 0)
        return -EINVAL;
    digest(token, tlen, e->digest);
    return 0;
}

static int
check_duplicate(const struct api_tokens *t, const struct token_entry *e, struct sk_err *err)
{
    size_t i;

    for (i = 0; i < t->n; i++)
        if (memcmp(t->v[i].digest, e->digest, DIGEST_LEN) == 0)
            return sk_err_set(err, EINVAL, "duplicate token (also on line %u)", t->v[i].line);
    return 0;
}

/* One line (without its newline); comments and blank lines add nothing. */
static int
parse_line(struct api_tokens *t, const char *line, size_t len, unsigned lineno, struct sk_err *err)
{
    struct record r = {0};
    struct token_entry e = {0};
    size_t skip = 0;
    int rc = 0;

    if (len && line[len - 1] == '\r')
        len--;
    while (skip < len && (line[skip] == ' ' || line[skip] == '\t'))
        skip++;
    if (skip == len || line[skip] == '#')
        return 0;
    if (memchr(line, '\0', len))
        return sk_err_set(err, EINVAL, "line contains a NUL byte");
    r.buf = sk_malloc(2 * len + 1);
    rc = record_parse(line, len, &r, err);
    if (rc == 0)
        rc = entry_from_record(&r, &e, err);
    if (rc == 0)
        rc = check_duplicate(t, &e, err);
    if (rc == 0) {
        e.line = lineno;
        t->v = sk_reallocarray(t->v, t->n + 1, sizeof(*t->v));
        t->v[t->n++] = e;
    }
    free(r.buf);
    return rc;
}

int
api_tokens_parse(const char *name, const char *text, size_t len, struct api_tokens **out,
                 struct sk_err *err)
{
    struct api_tokens *t = sk_calloc(1, sizeof(*t));
    const char *p = text, *end = text + len, *nl;
    unsigned lineno = 0;

    while (p < end) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            nl = end;
        lineno++;
        if (parse_line(t, p, (size_t)(nl - p), lineno, err) < 0) {
            sk_err_wrap(err, "%s:%u", name, lineno);
            api_tokens_free(t);
            return -EINVAL;
        }
        p = nl + 1;
    }
    *out = t;
    return 0;
}

bool
api_tokens_file_exposed(mode_t mode, uid_t owner, uid_t self)
{
    return (mode & (S_IRWXG | S_IRWXO)) != 0 || owner != self;
}

int
api_tokens_load(const char *path, struct api_tokens **out, struct sk_err *err)
{
    struct sk_buf text = SK_BUF_INIT;
    struct stat st;
    char chunk[8192];
    ssize_t n;
    int fd, rc;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return sk_err_sys(err, errno, "token file '%s'", path);
    if (fstat(fd, &st) < 0) {
        rc = sk_err_sys(err, errno, "token file '%s': stat", path);
        goto out_close;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = sk_err_set(err, EINVAL, "token file '%s' is not a regular file", path);
        goto out_close;
    }
    if (api_tokens_file_exposed(st.st_mode, st.st_uid, geteuid()))
        sk_warn("api",
                "token file '%s' (mode %04o, owner uid %u) may be read or changed by others "
                "than skiffd's user; chmod 600 and chown it",
                path, (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid);
    while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = sk_err_sys(err, errno, "token file '%s': read", path);
            goto out_release;
        }
        if (text.len + (size_t)n > TOKENS_MAX_FILE) {
            rc = sk_err_set(err, EFBIG, "token file '%s' is larger than 4 MiB", path);
            goto out_release;
        }
        sk_buf_append(&text, chunk, (size_t)n);
    }
    rc = api_tokens_parse(path, text.data ? text.data : "", text.len, out, err);
out_release:
    if (text.data)
        explicit_bzero(text.data, text.cap);
    sk_buf_release(&text);
out_close:
    close(fd);
    return rc;
}

void
api_tokens_free(struct api_tokens *t)
{
    if (!t)
        return;
    free(t->v);
    free(t);
}

size_t
api_tokens_count(const struct api_tokens *t)
{
    return t ? t->n : 0;
}

int
api_tokens_lookup(const struct api_tokens *t, const char *token, struct api_peer *peer)
{
    unsigned char d[DIGEST_LEN];
    const struct token_entry *found = NULL;
    size_t i, len = strlen(token);

    if (!t || len == 0 || len > API_TOKEN_MAX)
        return -ENOENT;
    digest(token, len, d);
    /* No early exit: the time taken does not depend on which entry (if
     * any) matches. */
    for (i = 0; i < t->n; i++)
        if (sk_mem_equal_ct(t->v[i].digest, d, DIGEST_LEN))
            found = &t->v[i];
    if (!found)
        return -ENOENT;
    sk_strlcpy(peer->user, found->user, sizeof(peer->user));
    sk_strlcpy(peer->groups, found->groups, sizeof(peer->groups));
    return 0;
}
