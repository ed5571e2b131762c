/* Arguments of the object verbs (skiff-protocol(7), OBJECT VERBS).
 *
 * Grammar of one request's argument text:
 *
 *     WORD* [JSON]
 *
 * WORDs are separated by spaces and percent-decoded; a WORD holding '='
 * is an option key=value (or a bare flag such as `bookmarks`), the
 * others are positionals. The JSON body starts at the first word that
 * begins with '{' and runs to the end of the line, taken raw (compact
 * JSON has spaces only inside strings, and percent-decoding it would
 * break a '%' in a string). Pure: no I/O. */
#include "api/objects.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORDS 16

static const char *const usages[] = {
    [API_OBJ_GET] = "get RESOURCE [NAMESPACE] NAME [rev=0]",
    [API_OBJ_LIST] = "list RESOURCE [NAMESPACE|*] [selector=S] [fields=F] [limit=N] "
                     "[continue=T] [rev=0]",
    [API_OBJ_WATCH] = "watch RESOURCE [NAMESPACE|*] [rev=R] [selector=S] [fields=F] [bookmarks]",
    [API_OBJ_CREATE] = "create [dry-run] JSON",
    [API_OBJ_APPLY] = "apply [dry-run] JSON",
    [API_OBJ_UPDATE] = "update [dry-run] JSON",
    [API_OBJ_STATUS] = "status JSON",
    [API_OBJ_PATCH] = "patch RESOURCE [NAMESPACE] NAME [subresource=status] [dry-run] JSON",
    [API_OBJ_BIND] = "bind NAMESPACE NAME NODE [uid=UID]",
    [API_OBJ_SCALE] = "scale RESOURCE NAMESPACE NAME REPLICAS [rev=R]",
    [API_OBJ_DELETE] = "delete RESOURCE [NAMESPACE] NAME [grace=S] "
                       "[propagation=Background|Foreground|Orphan] [uid=UID] [rev=R]",
};

static int
usage(enum api_obj_verb verb, struct sk_err *err)
{
    return sk_err_set(err, EBADMSG, "usage: %s", usages[verb]);
}

static int
parse_int(const char *key, const char *s, int64_t min, int64_t *out, struct sk_err *err)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < min)
        return sk_err_set(err, EBADMSG, "bad %s '%.64s': expected an integer >= %lld", key, s,
                          (long long)min);
    *out = v;
    return 0;
}

/* Which options each verb takes. */
static bool
option_ok(enum api_obj_verb verb, const char *key)
{
    static const struct {
        const char *key;
        unsigned verbs;
    } opts[] = {
        {"rev", 1u << API_OBJ_GET | 1u << API_OBJ_LIST | 1u << API_OBJ_WATCH | 1u << API_OBJ_SCALE |
                    1u << API_OBJ_DELETE},
        {"selector", 1u << API_OBJ_LIST | 1u << API_OBJ_WATCH},
        {"fields", 1u << API_OBJ_LIST | 1u << API_OBJ_WATCH},
        {"limit", 1u << API_OBJ_LIST},
        {"continue", 1u << API_OBJ_LIST},
        {"bookmarks", 1u << API_OBJ_WATCH},
        {"dry-run",
         1u << API_OBJ_CREATE | 1u << API_OBJ_APPLY | 1u << API_OBJ_UPDATE | 1u << API_OBJ_PATCH},
        {"subresource", 1u << API_OBJ_PATCH},
        {"uid", 1u << API_OBJ_BIND | 1u << API_OBJ_DELETE},
        {"grace", 1u << API_OBJ_DELETE},
        {"propagation", 1u << API_OBJ_DELETE},
    };

    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
        if (!strcmp(opts[i].key, key))
            return opts[i].verbs & (1u << verb);
    return false;
}

static int
parse_propagation(const char *v, enum api_propagation *out, struct sk_err *err)
{
    if (!strcmp(v, "Background"))
        *out = API_PROPAGATE_BACKGROUND;
    else if (!strcmp(v, "Foreground"))
        *out = API_PROPAGATE_FOREGROUND;
    else if (!strcmp(v, "Orphan"))
        *out = API_PROPAGATE_ORPHAN;
    else
        return sk_err_set(err, EBADMSG,
                          "bad propagation '%.64s': expected Background, Foreground or Orphan", v);
    return 0;
}

static int
parse_option(enum api_obj_verb verb, char *word, struct api_obj_args *a, struct sk_err *err)
{
    char *eq = strchr(word, '=');
    const char *v = eq ? eq + 1 : "";

    if (eq)
        *eq = '\0';
    if (!option_ok(verb, word) || (!eq) != (!strcmp(word, "bookmarks") || !strcmp(word, "dry-run")))
        return sk_err_set(err, EBADMSG, "unknown option '%.64s' (usage: %s)", word, usages[verb]);
    if (!strcmp(word, "rev"))
        return parse_int("rev", v, 0, &a->rev, err);
    if (!strcmp(word, "limit"))
        return parse_int("limit", v, 0, &a->limit, err);
    if (!strcmp(word, "grace"))
        return parse_int("grace", v, 0, &a->grace, err);
    if (!strcmp(word, "propagation"))
        return parse_propagation(v, &a->propagation, err);
    if (!strcmp(word, "bookmarks"))
        a->bookmarks = true;
    else if (!strcmp(word, "dry-run"))
        a->dry_run = true;
    else if (!strcmp(word, "selector"))
        a->selector = v;
    else if (!strcmp(word, "fields"))
        a->fields = v;
    else if (!strcmp(word, "continue"))
        a->cont = v;
    else if (!strcmp(word, "uid"))
        a->uid = v;
    else if (!strcmp(word, "subresource")) {
        if (strcmp(v, "status"))
            return sk_err_set(err, EBADMSG, "bad subresource '%.64s': only status", v);
        a->subresource = v;
    }
    return 0;
}

/* Cut the body off: the first word starting with '{'. */
static void
split_body(char *args, struct api_obj_args *a)
{
    char *p = args;

    for (;;) {
        while (*p == ' ')
            p++;
        if (!*p)
            return;
        if (*p == '{') {
            size_t n = strlen(p);

            while (n > 0 && p[n - 1] == ' ')
                n--;
            a->body = p;
            a->body_len = n;
            p[n] = '\0';
            if (p > args)
                p[-1] = '\0';
            return;
        }
        p += strcspn(p, " ");
    }
}

static int
kind_of(const char *name, struct api_obj_args *a, struct sk_err *err)
{
    a->kind = api_kind_lookup(name);
    if (!a->kind)
        return sk_err_set(err, ENOENT, "the server doesn't have a resource type \"%.64s\"", name);
    return 0;
}

/* Assign the positionals of the verbs that name a resource. */
static int
positionals(enum api_obj_verb verb, char **pos, int npos, struct api_obj_args *a,
            struct sk_err *err)
{
    bool ns_ok;
    int i = 1;

    if (verb == API_OBJ_BIND) {
        if (npos != 3)
            return usage(verb, err);
        a->kind = api_kind_lookup("pods");
        a->ns = pos[0];
        a->name = pos[1];
        a->node = pos[2];
        return 0;
    }
    if (npos < 1)
        return usage(verb, err);
    if (kind_of(pos[0], a, err) < 0)
        return -ENOENT;
    ns_ok = a->kind->namespaced;
    if (verb == API_OBJ_LIST || verb == API_OBJ_WATCH) {
        if (npos > 2 || (npos == 2 && !ns_ok && strcmp(pos[1], "*")))
            return usage(verb, err);
        a->ns = npos == 2 && strcmp(pos[1], "*") ? pos[1] : "";
        return 0;
    }
    if (ns_ok)
        a->ns = i < npos ? pos[i++] : "";
    a->name = i < npos ? pos[i++] : "";
    if (verb == API_OBJ_SCALE) {
        if (i >= npos)
            return usage(verb, err);
        if (parse_int("replicas", pos[i++], 0, &a->replicas, err) < 0)
            return -EBADMSG;
    }
    if (i != npos || !*a->name || (ns_ok && !*a->ns))
        return usage(verb, err);
    return 0;
}

int
api_obj_args_parse(enum api_obj_verb verb, char *args, struct api_obj_args *a, struct sk_err *err)
{
    char *words[MAX_WORDS], *pos[MAX_WORDS];
    int n, npos = 0;
    bool body_verb = verb == API_OBJ_CREATE || verb == API_OBJ_APPLY || verb == API_OBJ_UPDATE ||
                     verb == API_OBJ_STATUS;

    memset(a, 0, sizeof(*a));
    a->verb = verb;
    a->ns = a->name = a->selector = a->fields = a->cont = a->subresource = "";
    a->rev = -1;
    a->grace = -1;
    split_body(args, a);
    if ((body_verb || verb == API_OBJ_PATCH) != (a->body != NULL))
        return a->body ? sk_err_set(err, EBADMSG, "unexpected JSON (usage: %s)", usages[verb])
                       : usage(verb, err);
    n = a->body == args ? 0 : api_args_split(args, words, MAX_WORDS);
    if (n < 0)
        return sk_err_set(err, EBADMSG, "too many arguments or a malformed percent escape");
    for (int i = 0; i < n; i++) {
        if (body_verb && strcmp(words[i], "dry-run"))
            return usage(verb, err);
        if (strchr(words[i], '=') || !strcmp(words[i], "bookmarks") ||
            !strcmp(words[i], "dry-run")) {
            if (parse_option(verb, words[i], a, err) < 0)
                return -EBADMSG;
        } else {
            pos[npos++] = words[i];
        }
    }
    return body_verb ? 0 : positionals(verb, pos, npos, a, err);
}
