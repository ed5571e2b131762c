/* Image references, as Docker and OCI tools write them:
 *
 *     name[:tag]            tag defaults to "latest"
 *     name@sha256:<hex>     a manifest digest
 *     sha256:<hex>          a manifest digest, any name
 *
 * name is one or more '/'-separated components of lowercase letters,
 * digits and the separators '.', '_', '-' (not first or last); the first
 * component may instead be a registry host ("localhost:5000",
 * "Registry.Example.org") when more components follow. tag is
 * [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}. Names never contain spaces or
 * newlines, which the index file relies on. */
#include "runtime/image_int.h"

#include "lib/buf.h"
#include "lib/err.h"

#include <errno.h>
#include <string.h>

static int
ref_is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* One path component of a name: alnum runs joined by single separators. */
static int
ref_component_valid(const char *s, size_t len)
{
    size_t i;

    if (len == 0 || !ref_is_lower_alnum(s[0]) || !ref_is_lower_alnum(s[len - 1]))
        return 0;
    for (i = 0; i < len; i++) {
        if (ref_is_lower_alnum(s[i]))
            continue;
        if (!strchr("._-", s[i]))
            return 0;
    }
    return 1;
}

/* A registry host: letters, digits, '.', '-', and an optional ":port". */
static int
ref_host_valid(const char *s, size_t len)
{
    size_t i;
    int port = 0;

    if (len == 0 || s[0] == '.' || s[0] == '-' || s[0] == ':')
        return 0;
    for (i = 0; i < len; i++) {
        char c = s[i];

        if (c == ':' && !port && i + 1 < len) {
            port = 1;
            continue;
        }
        if (port && !(c >= '0' && c <= '9'))
            return 0;
        if (!port && !ref_is_lower_alnum(c) && !(c >= 'A' && c <= 'Z') && c != '.' && c != '-')
            return 0;
    }
    return 1;
}

static int
ref_name_valid(const char *s)
{
    const char *p = s, *slash;
    size_t len = strlen(s);

    if (len == 0 || len > RT_IMAGE_NAME_MAX)
        return 0;
    for (;;) {
        slash = strchr(p, '/');
        len = slash ? (size_t)(slash - p) : strlen(p);
        if (!ref_component_valid(p, len) && !(p == s && slash && ref_host_valid(p, len)))
            return 0;
        if (!slash)
            return 1;
        p = slash + 1;
    }
}

static int
ref_tag_valid(const char *s)
{
    size_t i, len = strlen(s);

    if (len == 0 || len > RT_IMAGE_TAG_MAX || s[0] == '.' || s[0] == '-')
        return 0;
    for (i = 0; i < len; i++) {
        char c = s[i];

        if (!ref_is_lower_alnum(c) && !(c >= 'A' && c <= 'Z') && !strchr("_.-", c))
            return 0;
    }
    return 1;
}

int
rt_image_ref_parse(const char *s, struct rt_image_ref *out, struct sk_err *err)
{
    const char *at, *colon, *slash;
    size_t namelen;

    memset(out, 0, sizeof(*out));
    if (sk_startswith(s, "sha256:")) {
        if (!rt_image_digest_valid(s))
            return sk_err_set(err, EINVAL, "reference '%s': bad digest", s);
        sk_strlcpy(out->digest, s, sizeof(out->digest));
        return 0;
    }
    at = strchr(s, '@');
    if (at) {
        if (!rt_image_digest_valid(at + 1))
            return sk_err_set(err, EINVAL, "reference '%s': bad digest '%s'", s, at + 1);
        sk_strlcpy(out->digest, at + 1, sizeof(out->digest));
        namelen = (size_t)(at - s);
    } else {
        slash = strrchr(s, '/');
        colon = strrchr(slash ? slash : s, ':');
        namelen = colon ? (size_t)(colon - s) : strlen(s);
        if (colon && !ref_tag_valid(colon + 1))
            return sk_err_set(err, EINVAL, "reference '%s': bad tag '%s'", s, colon + 1);
        sk_strlcpy(out->tag, colon ? colon + 1 : "latest", sizeof(out->tag));
    }
    if (namelen > RT_IMAGE_NAME_MAX)
        return sk_err_set(err, EINVAL, "reference '%s': name longer than %d bytes", s,
                          RT_IMAGE_NAME_MAX);
    memcpy(out->name, s, namelen);
    out->name[namelen] = '\0';
    if (!ref_name_valid(out->name))
        return sk_err_set(err, EINVAL, "reference '%s': bad name '%s'", s, out->name);
    return 0;
}
