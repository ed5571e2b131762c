/* skiff(1): the flags of the object verbs, TYPE/NAME references and
 * printing objects with -o. */
#include "api/cli_int.h"
#include "lib/alloc.h"
#include "lib/conf.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    OPT_FIELDS = 256,
    OPT_NO_HEADERS,
    OPT_WATCH_ONLY,
    OPT_GRACE,
    OPT_WAIT,
    OPT_TIMEOUT,
    OPT_OVERWRITE,
    OPT_REPLICAS,
    OPT_REVISION,
    OPT_FORCE,
    OPT_IGNORE_DS,
    OPT_DELETE_EMPTYDIR,
    OPT_ALL,
    OPT_FOR,
    OPT_TAIL,
    OPT_PREVIOUS,
    OPT_IGNORE_NOT_FOUND,
    OPT_CASCADE,
    OPT_NAMESPACED,
    OPT_DRY_RUN,
    OPT_CONTAINERS,
};

/* Every flag, and the enum cli_flag bit a verb must allow for it. */
static const struct {
    struct option opt;
    unsigned bit;
} flag_table[] = {
    {{"namespace", required_argument, NULL, 'n'}, CLI_F_NS},
    {{"all-namespaces", no_argument, NULL, 'A'}, CLI_F_ALL_NS},
    {{"output", required_argument, NULL, 'o'}, CLI_F_OUTPUT},
    {{"selector", required_argument, NULL, 'l'}, CLI_F_SELECTOR},
    {{"field-selector", required_argument, NULL, OPT_FIELDS}, CLI_F_FIELDS},
    {{"no-headers", no_argument, NULL, OPT_NO_HEADERS}, CLI_F_NO_HEADERS},
    {{"watch", no_argument, NULL, 'w'}, CLI_F_WATCH},
    {{"watch-only", no_argument, NULL, OPT_WATCH_ONLY}, CLI_F_WATCH},
    {{"filename", required_argument, NULL, 'f'}, CLI_F_FILE},
    {{"grace-period", required_argument, NULL, OPT_GRACE}, CLI_F_GRACE},
    {{"wait", optional_argument, NULL, OPT_WAIT}, CLI_F_WAIT},
    {{"timeout", required_argument, NULL, OPT_TIMEOUT}, CLI_F_TIMEOUT},
    {{"overwrite", optional_argument, NULL, OPT_OVERWRITE}, CLI_F_OVERWRITE},
    {{"replicas", required_argument, NULL, OPT_REPLICAS}, CLI_F_REPLICAS},
    {{"to-revision", required_argument, NULL, OPT_REVISION}, CLI_F_REVISION},
    {{"revision", required_argument, NULL, OPT_REVISION}, CLI_F_REVISION},
    {{"force", optional_argument, NULL, OPT_FORCE}, CLI_F_FORCE},
    {{"ignore-daemonsets", optional_argument, NULL, OPT_IGNORE_DS}, CLI_F_DRAIN},
    {{"delete-emptydir-data", optional_argument, NULL, OPT_DELETE_EMPTYDIR}, CLI_F_DRAIN},
    {{"all", no_argument, NULL, OPT_ALL}, CLI_F_ALL},
    {{"for", required_argument, NULL, OPT_FOR}, CLI_F_FOR},
    {{"container", required_argument, NULL, 'c'}, CLI_F_LOGS},
    {{"follow", no_argument, NULL, 'F'}, CLI_F_LOGS},
    {{"tail", required_argument, NULL, OPT_TAIL}, CLI_F_LOGS},
    {{"previous", no_argument, NULL, OPT_PREVIOUS}, CLI_F_LOGS},
    {{"ignore-not-found", optional_argument, NULL, OPT_IGNORE_NOT_FOUND}, CLI_F_DELETE},
    {{"cascade", required_argument, NULL, OPT_CASCADE}, CLI_F_DELETE},
    {{"namespaced", required_argument, NULL, OPT_NAMESPACED}, CLI_F_NAMESPACED},
    {{"dry-run", optional_argument, NULL, OPT_DRY_RUN}, CLI_F_DRY_RUN},
    {{"containers", no_argument, NULL, OPT_CONTAINERS}, CLI_F_CONTAINERS},
};

#define NFLAGS (sizeof(flag_table) / sizeof(flag_table[0]))

static unsigned
bit_of(int val)
{
    for (size_t i = 0; i < NFLAGS; i++)
        if (flag_table[i].opt.val == val)
            return flag_table[i].bit;
    return 0;
}

static const char *
name_of(int val)
{
    for (size_t i = 0; i < NFLAGS; i++)
        if (flag_table[i].opt.val == val)
            return flag_table[i].opt.name;
    return "?";
}

static int
parse_int(int val, const char *s, int64_t min, int64_t *out, struct sk_err *err)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s ? s : "", &end, 10);
    if (!s || !*s || *end || errno || v < min)
        return sk_err_set(err, EINVAL, "flag '--%s' needs an integer >= %lld, not '%s'",
                          name_of(val), (long long)min, s ? s : "");
    *out = v;
    return 0;
}

static int
parse_bool_arg(int val, const char *s, bool *out, struct sk_err *err)
{
    if (!s) {
        *out = true;
        return 0;
    }
    if (sk_conf_parse_bool(s, out, NULL) < 0)
        return sk_err_set(err, EINVAL, "flag '--%s' takes true or false, not '%s'", name_of(val),
                          s);
    return 0;
}

/* -f may be given several times (kubectl: -f a.yaml -f dir/). */
static void
add_file(struct cli_flags *f, const char *path)
{
    f->files = sk_reallocarray(f->files, f->nfiles + 1, sizeof(*f->files));
    f->files[f->nfiles++] = path;
}

static int
set_flag(struct cli_flags *f, int c, const char *arg, struct sk_err *err)
{
    uint64_t ms;
    bool b;

    switch (c) {
    case 'n':
        f->ns = arg;
        return 0;
    case 'A':
        f->all_ns = true;
        return 0;
    case 'o':
        f->output = arg;
        return 0;
    case 'l':
        f->selector = arg;
        return 0;
    case OPT_FIELDS:
        f->fields = arg;
        return 0;
    case OPT_NO_HEADERS:
        f->no_headers = true;
        return 0;
    case 'w':
        f->watch = true;
        return 0;
    case OPT_WATCH_ONLY:
        f->watch = f->watch_only = true;
        return 0;
    case 'f':
        add_file(f, arg);
        return 0;
    case OPT_GRACE:
        return parse_int(c, arg, -1, &f->grace, err);
    case OPT_WAIT:
        return parse_bool_arg(c, arg, &f->wait, err);
    case OPT_TIMEOUT:
        if (sk_conf_parse_duration(arg, &ms, err) < 0)
            return sk_err_wrap(err, "flag '--timeout'");
        f->timeout_ms = ms;
        return 0;
    case OPT_OVERWRITE:
        return parse_bool_arg(c, arg, &f->overwrite, err);
    case OPT_REPLICAS:
        return parse_int(c, arg, 0, &f->replicas, err);
    case OPT_REVISION:
        return parse_int(c, arg, 0, &f->revision, err);
    case OPT_FORCE:
        return parse_bool_arg(c, arg, &f->force, err);
    case OPT_IGNORE_DS:
        return parse_bool_arg(c, arg, &f->ignore_daemonsets, err);
    case OPT_DELETE_EMPTYDIR:
        return parse_bool_arg(c, arg, &f->delete_emptydir, err);
    case OPT_ALL:
        f->all = true;
        return 0;
    case OPT_FOR:
        f->for_obj = arg;
        return 0;
    case 'c':
        f->container = arg;
        return 0;
    case 'F':
        f->follow = true;
        return 0;
    case OPT_TAIL:
        return parse_int(c, arg, -1, &f->tail, err);
    case OPT_PREVIOUS:
        f->previous = true;
        return 0;
    case OPT_IGNORE_NOT_FOUND:
        return parse_bool_arg(c, arg, &f->ignore_not_found, err);
    case OPT_CASCADE:
        if (strcmp(arg, "background") && strcmp(arg, "foreground") && strcmp(arg, "orphan"))
            return sk_err_set(err, EINVAL,
                              "flag '--cascade' must be background, foreground or orphan, not "
                              "'%s'",
                              arg);
        f->cascade = arg;
        return 0;
    case OPT_NAMESPACED:
        if (parse_bool_arg(c, arg, &b, err) < 0)
            return -EINVAL;
        f->namespaced = b;
        return 0;
    case OPT_DRY_RUN:
        /* a bare --dry-run is kubectl's old spelling of client */
        if (!arg)
            arg = "client";
        if (strcmp(arg, "none") && strcmp(arg, "client") && strcmp(arg, "server"))
            return sk_err_set(err, EINVAL,
                              "flag '--dry-run' must be \"none\", \"server\", or \"client\", "
                              "not '%s'",
                              arg);
        f->dry_run = strcmp(arg, "none") ? arg : NULL;
        return 0;
    case OPT_CONTAINERS:
        f->containers = true;
        return 0;
    default:
        return sk_err_set(err, EINVAL, "unknown flag");
    }
}

/* The short options string and long table of the allowed flags. A
 * flag's letter is only allowed when its bit is: "-f" is --filename for
 * apply and --follow (as -f) for logs, resolved here. */
static void
build_options(unsigned allowed, char *shorts, size_t shortsz, struct option *longs)
{
    size_t ns = 0, nl = 0;

    shorts[ns++] = ':';
    for (size_t i = 0; i < NFLAGS; i++) {
        const struct option *o = &flag_table[i].opt;

        if (!(allowed & flag_table[i].bit))
            continue;
        longs[nl++] = *o;
        if (o->val < 256 && o->val != 'F' && ns + 3 < shortsz) {
            shorts[ns++] = (char)o->val;
            if (o->has_arg == required_argument)
                shorts[ns++] = ':';
        }
    }
    /* logs: -f is --follow (kubectl logs -f), there is no -f FILE. */
    if ((allowed & CLI_F_LOGS) && !(allowed & CLI_F_FILE) && ns + 2 < shortsz)
        shorts[ns++] = 'f';
    shorts[ns] = '\0';
    memset(&longs[nl], 0, sizeof(longs[nl]));
}

int
cli_flags_parse(int argc, char **argv, unsigned allowed, struct cli_flags *f, struct sk_err *err)
{
    struct option longs[NFLAGS + 1];
    char shorts[2 * NFLAGS + 4];
    int c, idx, rc = 0;

    memset(f, 0, sizeof(*f));
    f->grace = -1;
    f->wait = true;
    f->replicas = -1;
    f->tail = -1;
    f->namespaced = -1;
    build_options(allowed, shorts, sizeof(shorts), longs);
    optind = 0; /* GNU getopt: start over, permuting argv */
    opterr = 0;
    while ((c = getopt_long(argc, argv, shorts, longs, &idx)) != -1) {
        if (c == '?' || c == ':') {
            const char *bad = argv[optind - 1];

            if (c == ':')
                rc = sk_err_set(err, EINVAL, "flag '%s' needs a value", bad);
            else if (optopt && optopt < 256)
                rc = sk_err_set(err, EINVAL, "unknown flag '-%c' for '%s'", optopt, argv[0]);
            else
                rc = sk_err_set(err, EINVAL, "unknown flag '%s' for '%s'", bad, argv[0]);
            break;
        }
        if (c == 'f' && !(allowed & CLI_F_FILE))
            c = 'F';
        f->given |= bit_of(c);
        rc = set_flag(f, c, optarg, err);
        if (rc < 0)
            break;
    }
    if (rc < 0) {
        cli_flags_release(f);
        return rc;
    }
    f->nargs = argc - optind;
    f->args = argv + optind;
    return 0;
}

void
cli_flags_release(struct cli_flags *f)
{
    free(f->files);
    f->files = NULL;
    f->nfiles = 0;
}

const char *
cli_namespace(const struct cli *c, const struct cli_flags *f)
{
    if (f && f->ns && *f->ns)
        return f->ns;
    if (c && c->ns && *c->ns)
        return c->ns;
    return "default";
}

/* ---- TYPE NAME... ---- */

static int
refs_add(struct cli_refs *refs, const struct api_kind *k, const char *name)
{
    refs->items = sk_reallocarray(refs->items, refs->n + 1, sizeof(*refs->items));
    refs->items[refs->n++] = (struct cli_ref){k, name};
    return 0;
}

static const struct api_kind *
lookup_kind(const char *s, size_t len, struct sk_err *err)
{
    char name[128];
    const struct api_kind *k;

    snprintf(name, sizeof(name), "%.*s", (int)len, s);
    /* kubectl accepts "deployments.apps", "deploy.apps/v1": the group
     * part names nothing more here, kinds are unique without it. */
    name[strcspn(name, ".")] = '\0';
    k = api_kind_lookup(name);
    if (!k)
        sk_err_set(err, EINVAL, "the server doesn't have a resource type \"%.*s\"", (int)len, s);
    return k;
}

/* "pods,svc" (or "all") into kinds[]; returns the count or <0. */
static int
parse_types(const char *arg, const struct api_kind **kinds, int max, struct sk_err *err)
{
    static const char *const all[] = {"pods", "services", "deployments", "replicasets"};
    const char *p = arg;
    int n = 0;

    do {
        size_t len = strcspn(p, ",");

        if (len == 3 && strncmp(p, "all", 3) == 0) {
            for (size_t i = 0; i < 4 && n < max; i++)
                kinds[n++] = api_kind_lookup(all[i]);
        } else if (len == 0) {
            return sk_err_set(err, EINVAL, "empty resource type in '%s'", arg);
        } else {
            if (n == max)
                return sk_err_set(err, EINVAL, "too many resource types in '%s'", arg);
            if (!(kinds[n++] = lookup_kind(p, len, err)))
                return -EINVAL;
        }
        p += len;
    } while (*p++ == ',');
    return n;
}

static size_t
count_distinct(const struct cli_refs *refs)
{
    size_t n = 0;

    for (size_t i = 0; i < refs->n; i++) {
        size_t j;

        for (j = 0; j < i && refs->items[j].kind != refs->items[i].kind; j++)
            ;
        n += j == i;
    }
    return n;
}

static int
parse_slash_refs(int nargs, char **args, struct cli_refs *refs, struct sk_err *err)
{
    for (int i = 0; i < nargs; i++) {
        const char *slash = strchr(args[i], '/');
        const struct api_kind *k;

        if (!slash)
            return sk_err_set(err, EINVAL,
                              "there is no need to specify a resource type as a separate "
                              "argument when passing arguments in resource/name form (e.g. "
                              "'skiff get resource/<resource_name>' instead of 'skiff get "
                              "resource resource/<resource_name>'");
        if (!slash[1])
            return sk_err_set(err, EINVAL, "'%s': a name is needed after the '/'", args[i]);
        if (!(k = lookup_kind(args[i], (size_t)(slash - args[i]), err)))
            return -EINVAL;
        refs_add(refs, k, slash + 1);
    }
    return 0;
}

int
cli_refs_parse(int nargs, char **args, struct cli_refs *refs, struct sk_err *err)
{
    const struct api_kind *kinds[32];
    int nk, rc;

    memset(refs, 0, sizeof(*refs));
    if (nargs < 1)
        return sk_err_set(err, EINVAL, "you must specify the type of resource");
    if (strchr(args[0], '/')) {
        rc = parse_slash_refs(nargs, args, refs, err);
        goto out;
    }
    rc = nk = parse_types(args[0], kinds, 32, err);
    if (rc < 0)
        goto out;
    for (int i = 1; i < nargs; i++)
        if (strchr(args[i], '/')) {
            rc = sk_err_set(err, EINVAL,
                            "arguments in resource/name form must have a single "
                            "resource and name");
            goto out;
        }
    for (int t = 0; t < nk; t++) {
        if (nargs == 1)
            refs_add(refs, kinds[t], NULL);
        for (int i = 1; i < nargs; i++)
            refs_add(refs, kinds[t], args[i]);
    }
    rc = 0;
out:
    if (rc < 0) {
        cli_refs_release(refs);
        return rc;
    }
    refs->nkinds = count_distinct(refs);
    return 0;
}

void
cli_refs_release(struct cli_refs *refs)
{
    free(refs->items);
    memset(refs, 0, sizeof(*refs));
}

/* ---- printing ---- */

static int
read_text_file(const char *path, struct sk_buf *out, struct sk_err *err)
{
    FILE *fp = fopen(path, "re");
    char chunk[4096];
    size_t n;

    if (!fp)
        return sk_err_sys(err, errno, "open '%s'", path);
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        sk_buf_append(out, chunk, n);
    if (ferror(fp)) {
        fclose(fp);
        return sk_err_sys(err, EIO, "read '%s'", path);
    }
    fclose(fp);
    return 0;
}

int
cli_print(const struct api_kind *k, json_t **objs, size_t n, const struct cli_flags *f,
          bool as_list, bool all_ns)
{
    struct api_print_opts o = {0};
    struct sk_buf out = SK_BUF_INIT, spec = SK_BUF_INIT, text = SK_BUF_INIT;
    struct sk_err err;
    int rc = 0;

    sk_err_init(&err);
    if (f->output && api_print_format_parse(f->output, &o, &err) < 0)
        return cli_report(-EINVAL, &err);
    if (o.format == API_PRINT_CUSTOM_FILE) {
        rc = read_text_file(o.tmpl, &text, &err);
        if (rc == 0)
            rc = api_print_custom_columns_file(text.data ? text.data : "", &spec, &err);
        if (rc < 0)
            goto out;
        o.format = API_PRINT_CUSTOM;
        o.tmpl = spec.data;
    }
    o.no_headers = f->no_headers;
    o.all_namespaces = all_ns;
    o.as_list = as_list;
    o.now = time(NULL);
    rc = api_print_objects(k, objs, n, &o, &out, &err);
    if (rc == 0 && out.len)
        fwrite(out.data, 1, out.len, stdout);
out:
    sk_buf_release(&out);
    sk_buf_release(&spec);
    sk_buf_release(&text);
    if (rc < 0)
        return cli_report(-EINVAL, &err);
    return SKIFF_EXIT_OK;
}
