/* Selectors on objects, continue tokens, watch event decisions and the
 * rendering of stored objects. Pure.
 *
 * Continue token format: base64url (RFC 4648 section 5, no padding) of
 * "<rev>:<key relative to the list's prefix>", where rev is the
 * revision the first page was read at; the next page starts after that
 * key and is read at the same revision. */
#include "api/objects.h"
#include "lib/alloc.h"
#include "lib/base64.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- field selectors ---- */

/* Copy one field selector value up to the next unescaped ',' into out;
 * returns the position after it. */
static const char *
field_value(const char *p, struct sk_buf *out)
{
    while (*p && *p != ',') {
        if (*p == '\\' && p[1])
            p++;
        sk_buf_putc(out, *p++);
    }
    return p;
}

static int
field_term(struct api_obj_filter *f, const char **pp, struct sk_err *err)
{
    const char *p = *pp, *op = p + strcspn(p, "=!,");
    struct api_field_term *t;
    struct sk_buf val = SK_BUF_INIT;
    char probe[8];
    size_t oplen;
    json_t *empty;
    int rc;

    if (*op != '=' && !(op[0] == '!' && op[1] == '='))
        return sk_err_set(err, EBADMSG,
                          "field selector '%.128s': expected key=value, key==value "
                          "or key!=value",
                          p);
    f->terms = sk_realloc(f->terms, (f->nterms + 1) * sizeof(*f->terms));
    t = &f->terms[f->nterms++];
    t->label = sk_strndup(p, (size_t)(op - p));
    t->negate = op[0] == '!';
    oplen = op[0] == '!' || op[1] == '=' ? 2 : 1;
    *pp = field_value(op + oplen, &val);
    t->value = sk_buf_detach(&val, NULL);
    if (!t->value)
        t->value = sk_strdup("");
    empty = json_object();
    rc = api_field_label_value(empty, f->kind, t->label, probe, sizeof(probe), err);
    json_decref(empty);
    return rc < 0 ? -EBADMSG : 0;
}

static int
fields_parse(struct api_obj_filter *f, const char *s, struct sk_err *err)
{
    const char *p = s;

    while (p && *p) {
        if (field_term(f, &p, err) < 0)
            return -EBADMSG;
        if (*p == ',')
            p++;
    }
    return 0;
}

int
api_obj_filter_parse(struct api_obj_filter *f, const struct api_kind *k, const char *labels,
                     const char *fields, struct sk_err *err)
{
    memset(f, 0, sizeof(*f));
    f->kind = k;
    sk_selector_init(&f->labels);
    if ((labels && *labels && sk_selector_parse(labels, &f->labels, err) < 0) ||
        fields_parse(f, fields, err) < 0) {
        if (err)
            err->code = EBADMSG;
        return -EBADMSG;
    }
    return 0;
}

void
api_obj_filter_release(struct api_obj_filter *f)
{
    sk_selector_release(&f->labels);
    for (size_t i = 0; i < f->nterms; i++) {
        free(f->terms[i].label);
        free(f->terms[i].value);
    }
    free(f->terms);
    f->terms = NULL;
    f->nterms = 0;
}

bool
api_obj_filter_all(const struct api_obj_filter *f)
{
    return sk_selector_empty(&f->labels) && f->nterms == 0;
}

bool
api_obj_filter_match(const struct api_obj_filter *f, const json_t *obj)
{
    json_t *labels = json_object_get(json_object_get(obj, "metadata"), "labels");
    char val[512];

    if (!sk_selector_matches_json(&f->labels, labels))
        return false;
    for (size_t i = 0; i < f->nterms; i++) {
        const struct api_field_term *t = &f->terms[i];

        if (api_field_label_value(obj, f->kind, t->label, val, sizeof(val), NULL) < 0)
            return false;
        if (!strcmp(val, t->value) == t->negate)
            return false;
    }
    return true;
}

/* ---- continue tokens ---- */

void
api_obj_continue_encode(int64_t rev, const char *rel_key, size_t len, struct sk_buf *out)
{
    struct sk_buf raw = SK_BUF_INIT;

    sk_buf_printf(&raw, "%" PRId64 ":", rev);
    sk_buf_append(&raw, rel_key, len);
    sk_buf_grow(out, SK_BASE64URL_LEN(raw.len) + 1);
    sk_base64url_encode(raw.data, raw.len, out->data + out->len);
    out->len += SK_BASE64URL_LEN(raw.len);
    sk_buf_release(&raw);
}

int
api_obj_continue_decode(const char *token, int64_t *rev, struct sk_buf *rel_key, struct sk_err *err)
{
    struct sk_buf raw = SK_BUF_INIT;
    char *colon, *end;
    ssize_t n;
    int rc = 0;

    if (!*token || strlen(token) > 4096)
        goto bad;
    sk_buf_grow(&raw, strlen(token) * 3 / 4 + 1);
    if ((n = sk_base64url_decode(token, strlen(token), (unsigned char *)raw.data)) <= 0)
        goto bad;
    raw.len = (size_t)n;
    colon = memchr(raw.data, ':', raw.len);
    if (!colon || colon == raw.data)
        goto bad;
    *colon = '\0';
    errno = 0;
    *rev = strtoll(raw.data, &end, 10);
    if (errno || *end || *rev <= 0 ||
        memchr(colon + 1, '\0', raw.len - (size_t)(colon + 1 - raw.data)))
        goto bad;
    sk_buf_append(rel_key, colon + 1, raw.len - (size_t)(colon + 1 - raw.data));
    goto out;
bad:
    rc = sk_err_set(err, EBADMSG, "continue token '%.64s' is malformed", token);
out:
    sk_buf_release(&raw);
    return rc;
}

/* ---- watch events ---- */

enum api_watch_event
api_watch_event_type(bool deleted, bool had_prev, bool prev_match, bool cur_match)
{
    bool before = had_prev && prev_match;

    if (deleted)
        return before ? API_WATCH_DELETED : API_WATCH_NONE;
    if (cur_match)
        return before ? API_WATCH_MODIFIED : API_WATCH_ADDED;
    return before ? API_WATCH_DELETED : API_WATCH_NONE;
}

const char *
api_watch_event_name(enum api_watch_event t)
{
    switch (t) {
    case API_WATCH_ADDED:
        return "ADDED";
    case API_WATCH_MODIFIED:
        return "MODIFIED";
    case API_WATCH_DELETED:
        return "DELETED";
    default:
        return "NONE";
    }
}

/* ---- rendering ---- */

/* Offset just after the '{' of the top-level "metadata" member of a
 * compact JSON object, or 0 when there is none. Tracks strings and depth
 * so a "metadata" key nested deeper (a pod template's) is not taken. */
static size_t
metadata_open(const char *s, size_t len)
{
    static const char key[] = "\"metadata\":{";
    int depth = 0;
    bool str = false;

    for (size_t i = 0; i < len; i++) {
        char c = s[i];

        if (str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                str = false;
            continue;
        }
        if (c == '"') {
            if (depth == 1 && len - i >= sizeof(key) - 1 && !memcmp(s + i, key, sizeof(key) - 1))
                return i + sizeof(key) - 1;
            str = true;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return 0;
}

int
api_obj_render(const char *json, size_t len, int64_t rev, struct sk_buf *out)
{
    size_t at = metadata_open(json, len);

    if (!at)
        return -EBADMSG;
    sk_buf_append(out, json, at);
    sk_buf_printf(out, "\"resourceVersion\":\"%" PRId64 "\"%s", rev, json[at] == '}' ? "" : ",");
    sk_buf_append(out, json + at, len - at);
    return 0;
}
