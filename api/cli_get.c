/* skiff get, describe and events: reading objects and printing them. */
#include "api/cli_int.h"
#include "lib/alloc.h"
#include "lib/json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GET_FLAGS                                                                                  \
    (CLI_F_NS | CLI_F_ALL_NS | CLI_F_OUTPUT | CLI_F_SELECTOR | CLI_F_FIELDS | CLI_F_NO_HEADERS |   \
     CLI_F_WATCH)

/* Formats that print something for every object (a table, names):
 * these say "No resources found" for an empty answer; json, yaml and
 * jsonpath print an empty List instead, as kubectl does. */
static bool
prints_rows(const struct cli_flags *f)
{
    struct api_print_opts o = {0};

    if (f->output && api_print_format_parse(f->output, &o, NULL) < 0)
        return true;
    return o.format != API_PRINT_JSON && o.format != API_PRINT_YAML &&
           o.format != API_PRINT_JSONPATH;
}

static void
say_none_found(const struct api_kind *k, const char *ns)
{
    if (k && k->namespaced && ns && strcmp(ns, "*") != 0)
        fprintf(stderr, "No resources found in %s namespace.\n", ns);
    else
        fprintf(stderr, "No resources found\n");
}

/* The objects of one kind a get names: by name, or a list. Errors of
 * single names are reported and counted; the worst exit status goes to
 * *status. */
static void
fetch_kind(struct cli *c, const struct cli_refs *refs, const struct api_kind *k, const char *ns,
           const struct cli_flags *f, struct cli_objs *out, int *status)
{
    struct sk_err err;
    json_t *obj;
    int rc;

    sk_err_init(&err);
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < refs->n; i++) {
        if (refs->items[i].kind != k)
            continue;
        if (!refs->items[i].name) {
            rc = cli_list(c, k, ns, f->selector, f->fields, out, &err);
            if (rc < 0)
                *status = cli_report(rc, &err);
            return;
        }
        rc = cli_get(c, k, strcmp(ns, "*") ? ns : cli_namespace(c, f), refs->items[i].name, &obj,
                     &err);
        if (rc < 0) {
            rc = cli_report(rc, &err);
            if (*status == SKIFF_EXIT_OK || rc != SKIFF_EXIT_NOT_FOUND)
                *status = rc;
            continue;
        }
        out->items = sk_reallocarray(out->items, out->n + 1, sizeof(*out->items));
        out->items[out->n++] = obj;
    }
}

/* With several kinds in one table output, names read "pod/web" as
 * kubectl prints them, so rows of different kinds tell apart. */
static void
prefix_names(const struct api_kind *k, struct cli_objs *o)
{
    char ref[512];

    for (size_t i = 0; i < o->n; i++) {
        json_t *copy = json_deep_copy(o->items[i]);

        cli_obj_ref(k, o->items[i], ref, sizeof(ref));
        sk_json_set(copy, "metadata.name", json_string(ref), NULL);
        json_decref(o->items[i]);
        o->items[i] = copy;
    }
}

static bool
is_table(const struct cli_flags *f)
{
    struct api_print_opts o = {0};

    if (f->output && api_print_format_parse(f->output, &o, NULL) < 0)
        return false;
    return o.format == API_PRINT_TABLE || o.format == API_PRINT_WIDE || o.format == API_PRINT_TSV;
}

static int
print_kinds(const struct cli_refs *refs, struct cli_objs *per_kind, const struct api_kind **kinds,
            size_t nkinds, const struct cli_flags *f, bool all_ns)
{
    bool single = refs->n == 1 && refs->items[0].name;
    json_t **all = NULL;
    size_t n = 0, printed = 0;
    int rc = SKIFF_EXIT_OK;

    if (is_table(f)) {
        for (size_t i = 0; i < nkinds && rc == SKIFF_EXIT_OK; i++) {
            if (per_kind[i].n == 0)
                continue;
            if (nkinds > 1)
                prefix_names(kinds[i], &per_kind[i]);
            if (printed++)
                putchar('\n');
            rc = cli_print(kinds[i], per_kind[i].items, per_kind[i].n, f, false, all_ns);
        }
        return rc;
    }
    for (size_t i = 0; i < nkinds; i++)
        for (size_t j = 0; j < per_kind[i].n; j++) {
            all = sk_reallocarray(all, n + 1, sizeof(*all));
            all[n++] = per_kind[i].items[j];
        }
    if (n > 0 || !prints_rows(f))
        rc = cli_print(nkinds == 1 ? kinds[0] : NULL, all, n, f, !single, all_ns);
    free(all);
    return rc;
}

/* ---- get -w ---- */

static void
watch_print(const struct api_kind *k, json_t *obj, const struct cli_flags *f, bool all_ns,
            bool *headers_done)
{
    struct cli_flags g = *f;
    struct api_print_opts o = {0};

    if (f->output)
        api_print_format_parse(f->output, &o, NULL);
    if (o.format == API_PRINT_YAML && *headers_done)
        fputs("---\n", stdout);
    g.no_headers = f->no_headers || *headers_done;
    cli_print(k, &obj, 1, &g, false, all_ns);
    *headers_done = true;
    fflush(stdout);
}

static uint64_t
object_rev(const json_t *obj)
{
    const char *rv = json_string_value(sk_json_get(obj, "metadata.resourceVersion"));

    return rv ? strtoull(rv, NULL, 10) : 0;
}

static int
watch_loop(struct cli *c, const struct api_kind *k, const char *ns, const char *fields,
           const struct cli_flags *f, uint64_t rev, bool all_ns, bool headers_done)
{
    struct cli_watch w;
    struct sk_err err;
    char type[16];
    json_t *obj;
    uint64_t resume;
    int rc;

    sk_err_init(&err);
    for (;;) {
        struct sk_buf line = SK_BUF_INIT;

        sk_buf_puts(&line, "watch");
        cli_put_target(&line, k, ns);
        sk_buf_printf(&line, " rev=%llu", (unsigned long long)rev);
        if (f->selector && *f->selector)
            cli_put_opt(&line, "selector", f->selector);
        if (fields && *fields)
            cli_put_opt(&line, "fields", fields);
        rc = cli_watch_start(c, line.data, &w, &err);
        sk_buf_release(&line);
        if (rc < 0)
            return cli_report(rc, &err);
        while ((rc = cli_watch_next(&w, -1, type, &obj, &resume, &err)) > 0) {
            rev = object_rev(obj) > rev ? object_rev(obj) : rev;
            watch_print(k, obj, f, all_ns, &headers_done);
            json_decref(obj);
        }
        cli_watch_close(&w);
        /* A slow reader is cut off with where to resume: go on from
         * there; anything else ends the watch. */
        if (rc == -ESTALE && resume > 0) {
            rev = resume;
            continue;
        }
        if (rc == -ECONNRESET)
            sk_err_set(&err, ECONNRESET, "the server closed the watch");
        return cli_report(rc, &err);
    }
}

static int
get_watch(struct cli *c, const struct cli_refs *refs, const struct cli_flags *f, const char *ns)
{
    const struct api_kind *k = refs->items[0].kind;
    const char *name = refs->items[0].name;
    struct sk_buf fields = SK_BUF_INIT;
    struct cli_objs o = {0};
    struct sk_err err;
    bool all_ns = strcmp(ns, "*") == 0 && k->namespaced;
    int rc;

    sk_err_init(&err);
    if (refs->nkinds != 1 || refs->n > 1) {
        fprintf(stderr,
                "skiff: watch is only supported on individual resources and resource "
                "collections, but %zu resources were found\n",
                refs->n);
        return SKIFF_EXIT_USAGE;
    }
    if (name)
        sk_buf_printf(&fields, "metadata.name=%s", name);
    if (f->fields && *f->fields)
        sk_buf_printf(&fields, "%s%s", fields.len ? "," : "", f->fields);
    rc = cli_list(c, k, ns, f->selector, fields.data, &o, &err);
    if (rc < 0) {
        sk_buf_release(&fields);
        return cli_report(rc, &err);
    }
    if (!f->watch_only && o.n > 0) {
        cli_print(k, o.items, o.n, f, false, all_ns);
        fflush(stdout);
    }
    rc = watch_loop(c, k, ns, fields.data, f, o.rev, all_ns, !f->watch_only && o.n > 0);
    cli_objs_release(&o);
    sk_buf_release(&fields);
    return rc;
}

static int
check_output(const struct cli_flags *f)
{
    struct api_print_opts o = {0};
    struct sk_err err;

    sk_err_init(&err);
    if (f->output && api_print_format_parse(f->output, &o, &err) < 0)
        return cli_report(-EINVAL, &err);
    return SKIFF_EXIT_OK;
}

int
cli_cmd_get(struct cli *c, int argc, char **argv)
{
    struct cli_flags f;
    struct cli_refs refs;
    struct cli_objs per_kind[32];
    const struct api_kind *kinds[32];
    struct sk_err err;
    size_t nkinds = 0, total = 0;
    const char *ns;
    int rc, status = SKIFF_EXIT_OK;

    sk_err_init(&err);
    if (cli_flags_parse(argc, argv, GET_FLAGS, &f, &err) < 0)
        return cli_report(-EINVAL, &err);
    if (f.nargs == 0) {
        fprintf(stderr, "skiff: you must specify the type of resource to get (see 'skiff "
                        "api-resources')\n");
        cli_flags_release(&f);
        return SKIFF_EXIT_USAGE;
    }
    if ((rc = check_output(&f)) != SKIFF_EXIT_OK ||
        (rc = cli_refs_parse(f.nargs, f.args, &refs, &err)) < 0) {
        cli_flags_release(&f);
        return rc < 0 ? cli_report(rc, &err) : rc;
    }
    ns = f.all_ns ? "*" : cli_namespace(c, &f);
    if (f.watch) {
        rc = get_watch(c, &refs, &f, ns);
        goto out;
    }
    for (size_t i = 0; i < refs.n && nkinds < 32; i++) {
        size_t j;

        for (j = 0; j < nkinds && kinds[j] != refs.items[i].kind; j++)
            ;
        if (j < nkinds)
            continue;
        kinds[nkinds] = refs.items[i].kind;
        fetch_kind(c, &refs, kinds[nkinds], ns, &f, &per_kind[nkinds], &status);
        total += per_kind[nkinds++].n;
    }
    if (total > 0 || status == SKIFF_EXIT_OK)
        rc = print_kinds(&refs, per_kind, kinds, nkinds, &f, f.all_ns);
    if (total == 0 && status == SKIFF_EXIT_OK && prints_rows(&f)) {
        const struct api_kind *k = kinds[0];

        /* "in NS namespace" when any of the kinds lives in namespaces. */
        for (size_t i = 1; i < nkinds && !k->namespaced; i++)
            k = kinds[i];
        say_none_found(k, ns);
    }
    for (size_t i = 0; i < nkinds; i++)
        cli_objs_release(&per_kind[i]);
    if (status != SKIFF_EXIT_OK)
        rc = status;
out:
    cli_refs_release(&refs);
    cli_flags_release(&f);
    return rc;
}

/* ---- describe ---- */

/* The Events of obj: the server filters by involvedObject fields. */
static json_t *
events_of(struct cli *c, const struct api_kind *k, const json_t *obj)
{
    const struct api_kind *ev = api_kind_lookup("events");
    struct sk_buf fields = SK_BUF_INIT;
    struct cli_objs o = {0};
    const char *ns = api_meta_namespace(obj);
    json_t *arr = json_array();
    struct sk_err err;

    sk_buf_printf(&fields, "involvedObject.kind=%s,involvedObject.name=%s", k->kind,
                  api_meta_name(obj));
    if (k->namespaced)
        sk_buf_printf(&fields, ",involvedObject.namespace=%s", ns);
    if (cli_list(c, ev, k->namespaced ? ns : "*", NULL, fields.data, &o, &err) == 0)
        for (size_t i = 0; i < o.n; i++)
            json_array_append(arr, o.items[i]);
    cli_objs_release(&o);
    sk_buf_release(&fields);
    return arr;
}

static void
append_all(json_t *arr, struct cli_objs *o)
{
    for (size_t i = 0; i < o->n; i++)
        json_array_append(arr, o->items[i]);
}

/* What describe shows beside the object: a Deployment's ReplicaSets, a
 * Service's Endpoints, the Pods on a Node. Failures only leave lines
 * "<none>": describe still shows the object. */
static json_t *
related_of(struct cli *c, const struct api_kind *k, const json_t *obj)
{
    const char *ns = api_meta_namespace(obj), *name = api_meta_name(obj);
    struct sk_buf fields = SK_BUF_INIT;
    struct cli_objs o = {0};
    json_t *arr = json_array(), *ep = NULL;
    struct sk_err err;

    if (!strcmp(k->kind, "Deployment")) {
        if (cli_list(c, api_kind_lookup("replicasets"), ns, NULL, NULL, &o, &err) == 0)
            append_all(arr, &o);
    } else if (!strcmp(k->kind, "Service")) {
        if (cli_get(c, api_kind_lookup("endpoints"), ns, name, &ep, &err) == 0)
            json_array_append_new(arr, ep);
    } else if (!strcmp(k->kind, "Node")) {
        sk_buf_printf(&fields, "spec.nodeName=%s", name);
        if (cli_list(c, api_kind_lookup("pods"), "*", NULL, fields.data, &o, &err) == 0)
            append_all(arr, &o);
    }
    cli_objs_release(&o);
    sk_buf_release(&fields);
    return arr;
}

static void
describe_one(struct cli *c, const struct api_kind *k, const json_t *obj, bool first)
{
    struct sk_buf out = SK_BUF_INIT;
    json_t *events = events_of(c, k, obj), *related = related_of(c, k, obj);

    api_print_describe_related(k, obj, events, related, time(NULL), &out);
    if (!first)
        putchar('\n');
    fwrite(out.data ? out.data : "", 1, out.len, stdout);
    json_decref(events);
    json_decref(related);
    sk_buf_release(&out);
}

int
cli_cmd_describe(struct cli *c, int argc, char **argv)
{
    struct cli_flags f;
    struct cli_refs refs;
    struct sk_err err;
    const char *ns;
    size_t shown = 0;
    int rc, status = SKIFF_EXIT_OK;

    sk_err_init(&err);
    if (cli_flags_parse(argc, argv, CLI_F_NS | CLI_F_ALL_NS | CLI_F_SELECTOR | CLI_F_FIELDS, &f,
                        &err) < 0)
        return cli_report(-EINVAL, &err);
    if ((rc = cli_refs_parse(f.nargs, f.args, &refs, &err)) < 0) {
        cli_flags_release(&f);
        return cli_report(rc, &err);
    }
    ns = f.all_ns ? "*" : cli_namespace(c, &f);
    for (size_t i = 0; i < refs.n; i++) {
        const struct api_kind *k = refs.items[i].kind;
        struct cli_objs o = {0};
        json_t *obj;

        if (refs.items[i].name) {
            rc = cli_get(c, k, cli_namespace(c, &f), refs.items[i].name, &obj, &err);
            if (rc == 0) {
                o.items = sk_calloc(1, sizeof(*o.items));
                o.items[o.n++] = obj;
            }
        } else {
            rc = cli_list(c, k, ns, f.selector, f.fields, &o, &err);
        }
        if (rc < 0) {
            status = cli_report(rc, &err);
            continue;
        }
        for (size_t j = 0; j < o.n; j++)
            describe_one(c, k, o.items[j], shown++ == 0);
        if (o.n == 0 && !refs.items[i].name)
            say_none_found(k, ns);
        cli_objs_release(&o);
    }
    cli_refs_release(&refs);
    cli_flags_release(&f);
    return status;
}

/* ---- events ---- */

/* --for KIND/NAME: the field selector of that object's events. */
static int
for_fields(const char *arg, struct sk_buf *fields, struct sk_err *err)
{
    char *args[1] = {(char *)arg};
    struct cli_refs refs;
    int rc;

    rc = cli_refs_parse(1, args, &refs, err);
    if (rc == 0 && (refs.n != 1 || !refs.items[0].name))
        rc = sk_err_set(err, EINVAL, "--for needs KIND/NAME, not '%s'", arg);
    if (rc == 0)
        sk_buf_printf(fields, "involvedObject.kind=%s,involvedObject.name=%s",
                      refs.items[0].kind->kind, refs.items[0].name);
    cli_refs_release(&refs);
    return rc;
}

int
cli_cmd_events(struct cli *c, int argc, char **argv)
{
    const struct api_kind *ev = api_kind_lookup("events");
    struct sk_buf fields = SK_BUF_INIT;
    struct cli_flags f;
    struct cli_objs o = {0};
    struct sk_err err;
    const char *ns;
    int rc;

    sk_err_init(&err);
    if (cli_flags_parse(argc, argv,
                        CLI_F_NS | CLI_F_ALL_NS | CLI_F_OUTPUT | CLI_F_NO_HEADERS | CLI_F_WATCH |
                            CLI_F_FOR | CLI_F_FIELDS,
                        &f, &err) < 0)
        return cli_report(-EINVAL, &err);
    if (f.nargs != 0 || (rc = check_output(&f)) != SKIFF_EXIT_OK) {
        if (f.nargs != 0)
            fprintf(stderr, "skiff: events takes no arguments (use --for KIND/NAME)\n");
        cli_flags_release(&f);
        return SKIFF_EXIT_USAGE;
    }
    ns = f.all_ns ? "*" : cli_namespace(c, &f);
    if (f.for_obj && (rc = for_fields(f.for_obj, &fields, &err)) < 0)
        goto out_report;
    if (f.fields && *f.fields)
        sk_buf_printf(&fields, "%s%s", fields.len ? "," : "", f.fields);
    rc = cli_list(c, ev, ns, NULL, fields.data, &o, &err);
    if (rc < 0)
        goto out_report;
    if (o.n > 0 || !prints_rows(&f))
        rc = cli_print(ev, o.items, o.n, &f, true, f.all_ns);
    else if (!f.watch)
        say_none_found(ev, ns);
    if (f.watch) {
        fflush(stdout);
        rc = watch_loop(c, ev, ns, fields.data, &f, o.rev, f.all_ns, o.n > 0);
    }
    goto out;
out_report:
    rc = cli_report(rc, &err);
out:
    cli_objs_release(&o);
    sk_buf_release(&fields);
    cli_flags_release(&f);
    return rc;
}
