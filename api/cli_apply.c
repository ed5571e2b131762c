/* skiff apply -f and create -f: manifests from files, directories or
 * standard input, sent one object per request. */
#include "api/cli_int.h"
#include "lib/alloc.h"
#include "lib/json.h"
#include "lib/yaml.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Manifests larger than this are refused: a typo'd -f /dev/zero
 * should not eat memory. */
#define CLI_MANIFEST_MAX (64u << 20)

static int
read_stream(FILE *fp, const char *name, struct sk_buf *out, struct sk_err *err)
{
    char chunk[65536];
    size_t n;

    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
        if (out->len + n > CLI_MANIFEST_MAX)
            return sk_err_set(err, EFBIG, "'%s': larger than %u MiB", name, CLI_MANIFEST_MAX >> 20);
        sk_buf_append(out, chunk, n);
    }
    if (ferror(fp))
        return sk_err_sys(err, EIO, "read '%s'", name);
    return 0;
}

static int
read_one(const char *path, struct cli_objs *docs, struct sk_err *err)
{
    struct sk_buf text = SK_BUF_INIT;
    json_t **d = NULL;
    size_t nd = 0;
    FILE *fp;
    int rc;

    if (strcmp(path, "-") == 0) {
        rc = read_stream(stdin, "<stdin>", &text, err);
    } else {
        if (!(fp = fopen(path, "re")))
            return sk_err_sys(err, errno, "open '%s'", path);
        rc = read_stream(fp, path, &text, err);
        fclose(fp);
    }
    if (rc == 0 && sk_manifest_parse(text.data ? text.data : "", text.len, &d, &nd, err) < 0)
        rc = sk_err_wrap(err, "'%s'", strcmp(path, "-") ? path : "<stdin>");
    if (rc == 0) {
        docs->items = sk_reallocarray(docs->items, docs->n + nd + 1, sizeof(*docs->items));
        for (size_t i = 0; i < nd; i++)
            docs->items[docs->n++] = d[i];
        free(d);
    }
    sk_buf_release(&text);
    return rc;
}

static bool
manifest_name(const char *name)
{
    size_t len = strlen(name);

    if (name[0] == '.')
        return false;
    return (len > 5 && !strcmp(name + len - 5, ".yaml")) ||
           (len > 4 && !strcmp(name + len - 4, ".yml")) ||
           (len > 5 && !strcmp(name + len - 5, ".json"));
}

static int
name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
read_dir(const char *dir, struct cli_objs *docs, struct sk_err *err)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL;
    size_t n = 0;
    int rc = 0;

    if (!d)
        return sk_err_sys(err, errno, "open directory '%s'", dir);
    while ((de = readdir(d))) {
        if (!manifest_name(de->d_name))
            continue;
        names = sk_reallocarray(names, n + 1, sizeof(*names));
        names[n++] = sk_asprintf("%s/%s", dir, de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(*names), name_cmp);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = read_one(names[i], docs, err);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

int
cli_manifest_read(const char *path, struct cli_objs *docs, struct sk_err *err)
{
    struct stat st;

    if (strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return read_dir(path, docs, err);
    return read_one(path, docs, err);
}

int
cli_manifest_namespace(json_t *obj, const char *ns, bool ns_explicit, const struct api_kind **kind,
                       struct sk_err *err)
{
    const char *have;
    json_t *meta;

    if (api_kind_of(obj, kind, err) < 0)
        return -EBADMSG;
    if (!(*kind)->namespaced)
        return 0;
    meta = json_object_get(obj, "metadata");
    if (!json_is_object(meta)) {
        meta = json_object();
        json_object_set_new(obj, "metadata", meta);
    }
    have = json_string_value(json_object_get(meta, "namespace"));
    if (!have || !*have) {
        json_object_set_new(meta, "namespace", json_string(ns));
        return 0;
    }
    if (ns_explicit && strcmp(have, ns) != 0)
        return sk_err_set(err, EINVAL,
                          "the namespace from the provided object \"%s\" does not match the "
                          "namespace \"%s\"; you must pass '--namespace=%s' to perform this "
                          "operation",
                          have, ns, have);
    return 0;
}

/* Read every -f into docs; errors are reported, returns an exit status. */
static int
read_manifests(const char *verb, const struct cli_flags *f, struct cli_objs *docs)
{
    struct sk_err err;
    int rc;

    sk_err_init(&err);
    memset(docs, 0, sizeof(*docs));
    if (f->nfiles == 0) {
        fprintf(stderr, "skiff: must specify -f FILE, a directory or '-' for standard input\n");
        return SKIFF_EXIT_USAGE;
    }
    for (size_t i = 0; i < f->nfiles; i++) {
        rc = cli_manifest_read(f->files[i], docs, &err);
        if (rc < 0) {
            cli_objs_release(docs);
            return cli_report(-EIO, &err);
        }
    }
    if (docs->n == 0) {
        cli_objs_release(docs);
        fprintf(stderr, "skiff: no objects passed to %s\n", verb);
        return SKIFF_EXIT_USAGE;
    }
    return SKIFF_EXIT_OK;
}

/* --dry-run=client: print what would be sent (YAML unless -o says). */
static void
print_client_dry_run(const struct api_kind *k, json_t *obj, const struct cli_flags *f, size_t i)
{
    struct cli_flags pf = *f;

    if (!pf.output)
        pf.output = "yaml";
    if (i > 0 && !strcmp(pf.output, "yaml"))
        printf("---\n");
    cli_print(k, &obj, 1, &pf, false, false);
}

/* Send `verb [dry-run] JSON` for every document; print "pod/web
 * created" (or the result in -o format). */
static int
send_all(struct cli *c, const char *verb, const struct cli_flags *f, struct cli_objs *docs)
{
    const char *ns = cli_namespace(c, f);
    bool explicit_ns = (f->ns && *f->ns) || (c->ns && *c->ns);
    bool server_dry = f->dry_run && !strcmp(f->dry_run, "server");
    int status = SKIFF_EXIT_OK, rc;
    struct sk_err err;

    sk_err_init(&err);
    for (size_t i = 0; i < docs->n; i++) {
        struct sk_buf line = SK_BUF_INIT;
        const struct api_kind *k = NULL;
        struct cli_objs got = {0};
        struct api_resp resp;
        char ref[512];

        rc = cli_manifest_namespace(docs->items[i], ns, explicit_ns, &k, &err);
        if (rc == 0 && f->dry_run && !server_dry) {
            print_client_dry_run(k, docs->items[i], f, i);
            continue;
        }
        if (rc == 0) {
            sk_buf_puts(&line, verb);
            if (server_dry)
                sk_buf_puts(&line, " dry-run");
            rc = cli_put_json(&line, docs->items[i], &err);
        }
        if (rc == 0)
            rc = cli_do(c, line.data, &resp, &err);
        sk_buf_release(&line);
        if (rc < 0) {
            status = cli_report(rc, &err);
            if (rc == -EHOSTUNREACH)
                return status;
            continue;
        }
        cli_objs_from_resp(&resp, &got, &err);
        if (f->output && got.n == 1) {
            cli_print(k, got.items, 1, f, false, false);
        } else {
            cli_obj_ref(k, docs->items[i], ref, sizeof(ref));
            printf("%s %s%s\n", ref,
                   !strcmp(verb, "create") ? "created" : cli_status_last(resp.status),
                   server_dry ? " (server dry run)" : "");
        }
        cli_objs_release(&got);
        api_resp_release(&resp);
    }
    return status;
}

static int
manifest_cmd(struct cli *c, const char *verb, int argc, char **argv)
{
    struct cli_flags f;
    struct cli_objs docs;
    struct sk_err err;
    int rc;

    sk_err_init(&err);
    if (cli_flags_parse(argc, argv, CLI_F_NS | CLI_F_FILE | CLI_F_OUTPUT | CLI_F_DRY_RUN, &f,
                        &err) < 0)
        return cli_report(-EINVAL, &err);
    if (f.nargs > 0) {
        fprintf(stderr, "skiff: %s takes no arguments, only -f FILE\n", verb);
        cli_flags_release(&f);
        return SKIFF_EXIT_USAGE;
    }
    rc = read_manifests(verb, &f, &docs);
    if (rc == SKIFF_EXIT_OK) {
        rc = send_all(c, verb, &f, &docs);
        cli_objs_release(&docs);
    }
    cli_flags_release(&f);
    return rc;
}

int
cli_cmd_apply(struct cli *c, int argc, char **argv)
{
    return manifest_cmd(c, "apply", argc, argv);
}

int
cli_cmd_create(struct cli *c, int argc, char **argv)
{
    return manifest_cmd(c, "create", argc, argv);
}
