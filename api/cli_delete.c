/* skiff delete: by TYPE NAME..., TYPE/NAME, -f manifests, -l or --all;
 * --wait polls until each object is gone. */
#include "api/cli_int.h"
#include "lib/alloc.h"
#include "lib/json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct del_target {
    const struct api_kind *kind;
    char *ns;
    char *name;
};

struct del_list {
    struct del_target *items;
    size_t n;
};

static void
del_add(struct del_list *l, const struct api_kind *k, const char *ns, const char *name)
{
    l->items = sk_reallocarray(l->items, l->n + 1, sizeof(*l->items));
    l->items[l->n++] = (struct del_target){k, sk_strdup(k->namespaced ? ns : ""), sk_strdup(name)};
}

static void
del_list_release(struct del_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].ns);
        free(l->items[i].name);
    }
    free(l->items);
}

static const char *
propagation_of(const char *cascade)
{
    if (!cascade)
        return NULL;
    if (!strcmp(cascade, "foreground"))
        return "Foreground";
    if (!strcmp(cascade, "orphan"))
        return "Orphan";
    return "Background";
}

static int
delete_one(struct cli *c, const struct del_target *t, const struct cli_flags *f, bool *gone,
           char *uid, size_t uidsz, struct sk_err *err)
{
    struct sk_buf line = SK_BUF_INIT;
    struct api_resp resp;
    const char *prop = propagation_of(f->cascade);
    int rc;

    sk_buf_puts(&line, "delete");
    cli_put_target(&line, t->kind, t->ns);
    cli_put_word(&line, t->name);
    /* --force without a grace period means now, as kubectl's
     * --force --grace-period=0. */
    if (f->grace >= 0 || f->force)
        sk_buf_printf(&line, " grace=%lld", (long long)(f->grace >= 0 ? f->grace : 0));
    if (prop)
        sk_buf_printf(&line, " propagation=%s", prop);
    rc = cli_do(c, line.data, &resp, err);
    sk_buf_release(&line);
    if (rc < 0)
        return rc;
    *gone = strcmp(cli_status_last(resp.status), "deleted") == 0;
    uid[0] = '\0';
    if (resp.nlines == 1) {
        struct cli_objs o = {0};

        if (cli_objs_from_resp(&resp, &o, NULL) == 0 && o.n == 1)
            snprintf(uid, uidsz, "%s", cli_str(o.items[0], "metadata.uid"));
        cli_objs_release(&o);
    }
    api_resp_release(&resp);
    return 0;
}

/* The objects a delete names, resolved to (kind, namespace, name). */
static int
collect(struct cli *c, const struct cli_flags *f, struct del_list *l, int *status)
{
    const char *ns = cli_namespace(c, f);
    struct cli_refs refs;
    struct cli_objs o = {0};
    struct sk_err err;
    int rc;

    sk_err_init(&err);
    for (size_t i = 0; i < f->nfiles; i++) {
        rc = cli_manifest_read(f->files[i], &o, &err);
        if (rc < 0)
            return cli_report(-EIO, &err);
    }
    for (size_t i = 0; i < o.n; i++) {
        const struct api_kind *k;

        if (cli_manifest_namespace(o.items[i], ns, false, &k, &err) < 0) {
            *status = cli_report(-EBADMSG, &err);
            continue;
        }
        del_add(l, k, api_meta_namespace(o.items[i]), api_meta_name(o.items[i]));
    }
    cli_objs_release(&o);
    if (f->nargs == 0)
        return SKIFF_EXIT_OK;
    if ((rc = cli_refs_parse(f->nargs, f->args, &refs, &err)) < 0)
        return cli_report(rc, &err);
    for (size_t i = 0; i < refs.n; i++) {
        const struct api_kind *k = refs.items[i].kind;

        if (refs.items[i].name) {
            del_add(l, k, ns, refs.items[i].name);
            continue;
        }
        if (!f->all && !(f->selector && *f->selector)) {
            cli_refs_release(&refs);
            fprintf(stderr, "skiff: resource(s) were provided, but no name was specified (use "
                            "a name, -l SELECTOR or --all)\n");
            return SKIFF_EXIT_USAGE;
        }
        rc = cli_list(c, k, f->all_ns ? "*" : ns, f->selector, f->fields, &o, &err);
        if (rc < 0) {
            cli_refs_release(&refs);
            return cli_report(rc, &err);
        }
        for (size_t j = 0; j < o.n; j++)
            del_add(l, k, api_meta_namespace(o.items[j]), api_meta_name(o.items[j]));
        cli_objs_release(&o);
    }
    cli_refs_release(&refs);
    return SKIFF_EXIT_OK;
}

int
cli_cmd_delete(struct cli *c, int argc, char **argv)
{
    struct del_list l = {0};
    struct cli_flags f;
    struct sk_err err;
    int rc, status = SKIFF_EXIT_OK;
    char uid[128];
    bool gone;

    sk_err_init(&err);
    if (cli_flags_parse(argc, argv,
                        CLI_F_NS | CLI_F_ALL_NS | CLI_F_FILE | CLI_F_SELECTOR | CLI_F_FIELDS |
                            CLI_F_GRACE | CLI_F_WAIT | CLI_F_TIMEOUT | CLI_F_FORCE | CLI_F_ALL |
                            CLI_F_DELETE,
                        &f, &err) < 0)
        return cli_report(-EINVAL, &err);
    if (f.nargs == 0 && f.nfiles == 0) {
        fprintf(stderr, "skiff: you must provide one or more resources by argument or filename "
                        "(-f)\n");
        cli_flags_release(&f);
        return SKIFF_EXIT_USAGE;
    }
    rc = collect(c, &f, &l, &status);
    if (rc != SKIFF_EXIT_OK)
        goto out;
    if (l.n == 0 && (f.all || f.selector))
        fprintf(stderr, "No resources found\n");
    for (size_t i = 0; i < l.n; i++) {
        const struct del_target *t = &l.items[i];

        rc = delete_one(c, t, &f, &gone, uid, sizeof(uid), &err);
        if (rc == -ENOENT && f.ignore_not_found)
            continue;
        if (rc < 0) {
            status = cli_report(rc, &err);
            if (rc == -EHOSTUNREACH)
                break;
            continue;
        }
        printf("%s \"%s\" deleted\n", t->kind->singular, t->name);
        fflush(stdout);
        if (gone || !f.wait)
            continue;
        rc = cli_wait_deleted(c, t->kind, t->ns, t->name, uid, f.timeout_ms, &err);
        if (rc < 0)
            status = cli_report(rc, &err);
    }
    rc = status;
out:
    del_list_release(&l);
    cli_flags_release(&f);
    return rc;
}
