/* `skiff-runtime image ...`: the image store's command line.
 *
 *     image import [--name REF] FILE|DIR
 *     image list [-q] [--format table|json]
 *     image rm REF...
 *     image gc
 *     image inspect REF
 *
 * Results go to stdout; errors to stderr as one line starting
 * "skiff-runtime: ". Exit status 0 on success, 1 on any failure, usage errors
 * included (skiff-runtime(8) exits 0 or 1 only, like runc). */
#include "runtime/image.h"

#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/err.h"

#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CLI_USAGE                                                                                  \
    "usage: skiff-runtime image import [--name REF] FILE|DIR\n"                                    \
    "       skiff-runtime image list [-q] [--format table|json]\n"                                 \
    "       skiff-runtime image rm REF...\n"                                                       \
    "       skiff-runtime image gc\n"                                                              \
    "       skiff-runtime image inspect REF\n"

static int
cli_usage(const char *msg)
{
    if (msg)
        fprintf(stderr, "skiff-runtime: image: %s\n", msg);
    fputs(CLI_USAGE, stderr);
    return 1;
}

static int
cli_fail(const struct sk_err *err)
{
    fprintf(stderr, "skiff-runtime: %s\n", err->msg);
    return 1;
}

static int
cli_import(struct rt_image_store *s, int argc, char **argv)
{
    static const struct option opts[] = {{"name", required_argument, NULL, 'n'},
                                         {NULL, 0, NULL, 0}};
    struct rt_image_list out;
    struct sk_err err;
    const char *name = NULL;
    size_t i;
    int c;

    while ((c = getopt_long(argc, argv, "n:", opts, NULL)) != -1) {
        if (c != 'n')
            return cli_usage("import: unknown option");
        name = optarg;
    }
    if (optind != argc - 1)
        return cli_usage("import: want one FILE or DIR");
    sk_err_init(&err);
    if (rt_image_import(s, argv[optind], name, &out, &err) < 0)
        return cli_fail(&err);
    for (i = 0; i < out.n; i++)
        printf("imported %s:%s %s\n", out.items[i].name, out.items[i].tag, out.items[i].digest);
    rt_image_list_release(&out);
    return 0;
}

static void
cli_human_size(int64_t n, char *out, size_t outsz)
{
    static const char *const units[] = {"B", "kB", "MB", "GB", "TB"};
    double v = (double)n;
    size_t u = 0;

    while (v >= 1000 && u < 4) {
        v /= 1000;
        u++;
    }
    if (u == 0)
        snprintf(out, outsz, "%" PRId64 "B", n);
    else
        snprintf(out, outsz, "%.3g%s", v, units[u]);
}

/* Ages as kubectl prints them: 45s, 3m, 11h, 23d. */
static void
cli_human_age(int64_t created, char *out, size_t outsz)
{
    int64_t d = (int64_t)time(NULL) - created;

    if (created <= 0)
        snprintf(out, outsz, "<none>");
    else if (d < 120)
        snprintf(out, outsz, "%" PRId64 "s", d < 0 ? 0 : d);
    else if (d < 2 * 3600)
        snprintf(out, outsz, "%" PRId64 "m", d / 60);
    else if (d < 2 * 86400)
        snprintf(out, outsz, "%" PRId64 "h", d / 3600);
    else
        snprintf(out, outsz, "%" PRId64 "d", d / 86400);
}

static void
cli_list_table(const struct rt_image_list *l)
{
    int wn = (int)strlen("REPOSITORY"), wt = (int)strlen("TAG");
    char size[32], age[32];
    size_t i;

    for (i = 0; i < l->n; i++) {
        if ((int)strlen(l->items[i].name) > wn)
            wn = (int)strlen(l->items[i].name);
        if ((int)strlen(l->items[i].tag) > wt)
            wt = (int)strlen(l->items[i].tag);
    }
    printf("%-*s   %-*s   %-19s   %-8s   %s\n", wn, "REPOSITORY", wt, "TAG", "DIGEST", "SIZE",
           "CREATED");
    for (i = 0; i < l->n; i++) {
        const struct rt_image_entry *e = &l->items[i];

        cli_human_size(e->size, size, sizeof(size));
        cli_human_age(e->created, age, sizeof(age));
        printf("%-*s   %-*s   sha256:%.12s   %-8s   %s\n", wn, e->name, wt, e->tag, e->digest + 7,
               size, age);
    }
}

static void
cli_list_json(const struct rt_image_list *l)
{
    json_t *a = json_array();
    char created[32];
    size_t i;

    for (i = 0; i < l->n; i++) {
        const struct rt_image_entry *e = &l->items[i];
        time_t t = (time_t)e->created;
        struct tm tm;

        created[0] = '\0';
        if (e->created > 0 && gmtime_r(&t, &tm))
            strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
        json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:I,s:s?}", "repository", e->name, "tag",
                                           e->tag, "digest", e->digest, "size", (json_int_t)e->size,
                                           "created", created[0] ? created : NULL));
    }
    json_dumpf(a, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    putchar('\n');
    json_decref(a);
}

static int
cli_list(struct rt_image_store *s, int argc, char **argv)
{
    static const struct option opts[] = {{"quiet", no_argument, NULL, 'q'},
                                         {"format", required_argument, NULL, 'f'},
                                         {NULL, 0, NULL, 0}};
    struct rt_image_list l;
    struct sk_err err;
    int c, quiet = 0, json = 0;
    size_t i;

    while ((c = getopt_long(argc, argv, "qf:", opts, NULL)) != -1) {
        if (c == 'q')
            quiet = 1;
        else if (c == 'f' && (strcmp(optarg, "table") == 0 || strcmp(optarg, "json") == 0))
            json = strcmp(optarg, "json") == 0;
        else
            return cli_usage("list: bad option");
    }
    if (optind != argc)
        return cli_usage("list: takes no arguments");
    sk_err_init(&err);
    if (rt_image_list(s, &l, &err) < 0)
        return cli_fail(&err);
    if (quiet)
        for (i = 0; i < l.n; i++)
            printf("%s:%s\n", l.items[i].name, l.items[i].tag);
    else if (json)
        cli_list_json(&l);
    else
        cli_list_table(&l);
    rt_image_list_release(&l);
    return 0;
}

static int
cli_rm(struct rt_image_store *s, int argc, char **argv)
{
    struct sk_err err;
    int i, rc = 0;

    if (argc < 2)
        return cli_usage("rm: want at least one REF");
    for (i = 1; i < argc; i++) {
        sk_err_init(&err);
        if (rt_image_remove(s, argv[i], &err) < 0)
            rc = cli_fail(&err);
        else
            printf("removed %s\n", argv[i]);
    }
    return rc;
}

static int
cli_gc(struct rt_image_store *s, int argc, char **argv)
{
    struct rt_image_gc_stats st;
    struct sk_err err;

    if (argc != 1)
        return cli_usage("gc: takes no arguments");
    sk_err_init(&err);
    if (rt_image_gc(s, &st, &err) < 0)
        return cli_fail(&err);
    printf("removed %zu blobs (%" PRId64 " bytes) and %zu layers\n", st.blobs_removed,
           st.bytes_freed, st.layers_removed);
    return 0;
}

static int
cli_inspect(struct rt_image_store *s, int argc, char **argv)
{
    struct sk_err err;
    char *json;

    if (argc != 2)
        return cli_usage("inspect: want one REF");
    sk_err_init(&err);
    if (rt_image_inspect(s, argv[1], &json, &err) < 0)
        return cli_fail(&err);
    printf("%s\n", json);
    free(json);
    return 0;
}

int
rt_image_cli(int argc, char **argv, const char *root)
{
    static const struct {
        const char *verb;
        int (*fn)(struct rt_image_store *, int, char **);
    } verbs[] = {{"import", cli_import}, {"list", cli_list}, {"ls", cli_list},
                 {"rm", cli_rm},         {"gc", cli_gc},     {"inspect", cli_inspect}};
    struct rt_image_store s;
    struct sk_err err;
    size_t i;
    int rc;

    if (argc < 2)
        return cli_usage(NULL);
    if (!root)
        root = getenv("SKIFF_IMAGE_ROOT");
    if (!root || !*root)
        root = RT_IMAGE_ROOT_DEFAULT;
    for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
        if (strcmp(argv[1], verbs[i].verb) != 0)
            continue;
        sk_err_init(&err);
        if (rt_image_store_open(&s, root, &err) < 0)
            return cli_fail(&err);
        /* Each verb parses its own options from a fresh getopt state. */
        optind = 0;
        opterr = 0;
        rc = verbs[i].fn(&s, argc - 1, argv + 1);
        fflush(stdout);
        rt_image_store_release(&s);
        return rc;
    }
    fprintf(stderr, "skiff-runtime: image: unknown command '%s'\n", argv[1]);
    fputs(CLI_USAGE, stderr);
    return 1;
}
