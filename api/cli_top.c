/* skiff top nodes|pods: CPU and memory as the node agents measured them
 * (kubelet/stats.c), fetched with the server's `stats NODE` relay, one
 * request per node (skiff-protocol(7)).
 *
 *   top nodes [NAME]     NAME CPU(cores) CPU% MEMORY(bytes) MEMORY%
 *                        (percent of the Node's allocatable)
 *   top pods [NAME] [-n NS|-A] [-l SEL] [--containers]
 *                        NAME CPU(cores) MEMORY(bytes); with --containers
 *                        POD NAME CPU(cores) MEMORY(bytes)
 *
 * -o json prints the agents' answers as they came ({"items": [...]},
 * one summary per node). A node that cannot be reached is a warning on
 * stderr, never a hang; its rows say <unknown>; when no node answers,
 * exit 1. CPU is usageNanoCores,
 * the rate between the agent's last two samples: "<unknown>" while it
 * has only one. */
#include "api/cli_int.h"
#include "api/print_int.h"
#include "lib/alloc.h"
#include "lib/quantity.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The summary of node (a new reference), or NULL with a warning. */
static json_t *
node_stats(struct cli *c, const char *node)
{
    struct sk_buf line = SK_BUF_INIT;
    struct api_resp resp;
    struct sk_err err;
    json_error_t jerr;
    json_t *s = NULL;
    int rc;

    sk_err_init(&err);
    sk_buf_puts(&line, "stats");
    cli_put_word(&line, node);
    rc = cli_do(c, line.data, &resp, &err);
    sk_buf_release(&line);
    if (rc < 0) {
        fprintf(stderr, "skiff: warning: node \"%s\": %s\n", node, err.msg);
        return NULL;
    }
    if (resp.nlines == 1)
        s = json_loads(resp.lines[0], 0, &jerr);
    if (!json_is_object(s)) {
        fprintf(stderr, "skiff: warning: node \"%s\": malformed stats answer\n", node);
        json_decref(s);
        s = NULL;
    }
    api_resp_release(&resp);
    return s;
}

static void
fmt_cpu(const json_t *usage, char *out, size_t outsz)
{
    const json_t *nc = json_object_get(json_object_get(usage, "cpu"), "usageNanoCores");

    if (!json_is_integer(nc))
        sk_snprintf(out, outsz, "<unknown>");
    else
        sk_snprintf(out, outsz, "%lldm", (long long)(json_integer_value(nc) / 1000000));
}

static void
fmt_mem(const json_t *usage, char *out, size_t outsz)
{
    const json_t *ws = json_object_get(json_object_get(usage, "memory"), "workingSetBytes");

    if (!json_is_integer(ws))
        sk_snprintf(out, outsz, "<unknown>");
    else
        sk_snprintf(out, outsz, "%lldMi", (long long)(json_integer_value(ws) >> 20));
}

static void
render(struct pr_table *t)
{
    struct sk_buf out = SK_BUF_INIT;

    pr_table_render(t, false, NULL, &out);
    fwrite(out.data ? out.data : "", 1, out.len, stdout);
    sk_buf_release(&out);
}

static void
header(struct pr_table *t, const struct cli_flags *f, const char *const *cols)
{
    size_t r;

    if (f->no_headers)
        return;
    r = pr_table_row(t);
    for (size_t i = 0; i < t->ncols; i++)
        pr_table_set(t, r, i, cols[i]);
}

/* value / allocatable (a quantity at key of status.allocatable) in %. */
static void
fmt_pct(const json_t *node, const char *key, double used, bool milli, char *out, size_t outsz)
{
    const json_t *q =
        json_object_get(json_object_get(json_object_get(node, "status"), "allocatable"), key);
    struct sk_quantity qv;
    struct sk_err err;
    double total;

    sk_err_init(&err);
    if (used < 0 || sk_quantity_from_json(q, &qv, &err) < 0) {
        sk_snprintf(out, outsz, "<unknown>");
        return;
    }
    total = milli ? (double)sk_quantity_milli(&qv) : (double)sk_quantity_value(&qv);
    sk_snprintf(out, outsz, "%.0f%%", total > 0 ? used * 100.0 / total : 0.0);
}

static double
num(const json_t *usage, const char *what, const char *key)
{
    const json_t *v = json_object_get(json_object_get(usage, what), key);
    return json_is_integer(v) ? (double)json_integer_value(v) : -1;
}

static void
node_row(struct pr_table *t, const json_t *node, const json_t *s)
{
    const json_t *u = json_object_get(s, "node");
    size_t r = pr_table_row(t);
    char cell[64];

    pr_table_set(t, r, 0, cli_str(node, "metadata.name"));
    fmt_cpu(u, cell, sizeof(cell));
    pr_table_set(t, r, 1, s ? cell : "<unknown>");
    fmt_pct(node, "cpu", num(u, "cpu", "usageNanoCores") / 1e6, true, cell, sizeof(cell));
    pr_table_set(t, r, 2, s ? cell : "<unknown>");
    fmt_mem(u, cell, sizeof(cell));
    pr_table_set(t, r, 3, s ? cell : "<unknown>");
    fmt_pct(node, "memory", num(u, "memory", "workingSetBytes"), false, cell, sizeof(cell));
    pr_table_set(t, r, 4, s ? cell : "<unknown>");
}

/* The common end of both commands: no agent answered although asked
 * ones exist, the summaries as JSON, or the table. */
static int
top_output(struct pr_table *t, const struct cli_flags *f, json_t *items, size_t asked, size_t shown)
{
    if (asked && json_array_size(items) == 0) {
        fprintf(stderr, "skiff: no node agent answered: no metrics available\n");
        return SKIFF_EXIT_ERROR;
    }
    if (f->output) {
        json_t *root = json_pack("{s:O}", "items", items);
        char *text = json_dumps(root, JSON_INDENT(4));

        printf("%s\n", text ? text : "{}");
        free(text);
        json_decref(root);
    } else if (!shown) {
        fprintf(stderr, "No resources found\n");
    } else {
        render(t);
    }
    return SKIFF_EXIT_OK;
}

static int
top_nodes(struct cli *c, const struct cli_flags *f)
{
    static const char *const cols[] = {"NAME", "CPU(cores)", "CPU%", "MEMORY(bytes)", "MEMORY%"};
    const struct api_kind *k = api_kind_lookup("nodes");
    struct cli_objs o = {0};
    json_t *items = json_array(), *s;
    struct pr_table t;
    struct sk_err err;
    size_t shown = 0;
    int rc;

    sk_err_init(&err);
    if ((rc = cli_list(c, k, NULL, f->selector, NULL, &o, &err)) < 0) {
        json_decref(items);
        return cli_report(rc, &err);
    }
    pr_table_init(&t, 5);
    header(&t, f, cols);
    for (size_t i = 0; i < o.n; i++) {
        const char *name = cli_str(o.items[i], "metadata.name");

        if (f->nargs && strcmp(name, f->args[0]) != 0)
            continue;
        s = node_stats(c, name);
        node_row(&t, o.items[i], s);
        shown++;
        if (s)
            json_array_append_new(items, s);
    }
    if (f->nargs && !shown) {
        fprintf(stderr, "skiff: nodes \"%s\" not found\n", f->args[0]);
        rc = SKIFF_EXIT_NOT_FOUND;
    } else {
        rc = top_output(&t, f, items, shown, shown);
    }
    pr_table_release(&t);
    json_decref(items);
    cli_objs_release(&o);
    return rc;
}

/* The stats entry of pod uid in the summaries, or NULL. */
static const json_t *
find_pod(const json_t *items, const char *uid)
{
    const json_t *s, *p;
    size_t i, j;

    json_array_foreach (items, i, s)
        json_array_foreach (json_object_get(s, "pods"), j, p)
            if (strcmp(cli_str(p, "podRef.uid"), uid) == 0)
                return p;
    return NULL;
}

static void
pod_rows(struct pr_table *t, const struct cli_flags *f, const json_t *pod, const json_t *st)
{
    size_t r, col;
    const json_t *ct;
    char cpu[64], mem[64];
    size_t i;

    if (!f->containers) {
        r = pr_table_row(t);
        col = 0;
        if (f->all_ns)
            pr_table_set(t, r, col++, cli_str(pod, "metadata.namespace"));
        fmt_cpu(st, cpu, sizeof(cpu));
        fmt_mem(st, mem, sizeof(mem));
        pr_table_set(t, r, col++, cli_str(pod, "metadata.name"));
        pr_table_set(t, r, col++, st ? cpu : "<unknown>");
        pr_table_set(t, r, col, st ? mem : "<unknown>");
        return;
    }
    json_array_foreach (json_object_get(st, "containers"), i, ct) {
        r = pr_table_row(t);
        col = 0;
        if (f->all_ns)
            pr_table_set(t, r, col++, cli_str(pod, "metadata.namespace"));
        fmt_cpu(ct, cpu, sizeof(cpu));
        fmt_mem(ct, mem, sizeof(mem));
        pr_table_set(t, r, col++, cli_str(pod, "metadata.name"));
        pr_table_set(t, r, col++, cli_str(ct, "name"));
        pr_table_set(t, r, col++, cpu);
        pr_table_set(t, r, col, mem);
    }
}

/* The summaries of every node that runs one of the pods (only the pod
 * named name, when given: the others' nodes are not asked). */
static json_t *
pods_stats(struct cli *c, const struct cli_objs *o, const char *name, size_t *nasked)
{
    json_t *items = json_array(), *asked = json_object(), *s;

    *nasked = 0;
    for (size_t i = 0; i < o->n; i++) {
        const char *node = cli_str(o->items[i], "spec.nodeName");

        if (name && strcmp(cli_str(o->items[i], "metadata.name"), name) != 0)
            continue;
        if (!*node || json_object_get(asked, node))
            continue;
        json_object_set_new(asked, node, json_true());
        ++*nasked;
        if ((s = node_stats(c, node)))
            json_array_append_new(items, s);
    }
    json_decref(asked);
    return items;
}

static int
top_pods(struct cli *c, const struct cli_flags *f)
{
    static const char *const cols[] = {"NAMESPACE", "POD", "NAME", "CPU(cores)", "MEMORY(bytes)"};
    const struct api_kind *k = api_kind_lookup("pods");
    const char *ns = f->all_ns ? "*" : cli_namespace(c, f);
    struct cli_objs o = {0};
    struct pr_table t;
    struct sk_err err;
    json_t *items;
    size_t shown = 0, asked = 0, unscheduled = 0,
           ncols = (f->all_ns ? 1 : 0) + (f->containers ? 4 : 3);
    const char *hdr[5];
    int rc;

    sk_err_init(&err);
    if ((rc = cli_list(c, k, ns, f->selector, NULL, &o, &err)) < 0)
        return cli_report(rc, &err);
    items = pods_stats(c, &o, f->nargs ? f->args[0] : NULL, &asked);
    for (size_t i = 0, n = 0; i < 5; i++) {
        if ((i == 0 && !f->all_ns) || (i == 1 && !f->containers))
            continue;
        hdr[n++] = i == 2 && !f->containers ? "NAME" : cols[i];
    }
    pr_table_init(&t, ncols);
    header(&t, f, hdr);
    for (size_t i = 0; i < o.n; i++) {
        const json_t *pod = o.items[i];

        if (f->nargs && strcmp(cli_str(pod, "metadata.name"), f->args[0]) != 0)
            continue;
        if (!*cli_str(pod, "spec.nodeName")) {
            unscheduled++; /* nothing to measure */
            continue;
        }
        pod_rows(&t, f, pod, find_pod(items, cli_str(pod, "metadata.uid")));
        shown++;
    }
    if (f->nargs && !shown && unscheduled) {
        fprintf(stderr, "skiff: pods \"%s\": no metrics: not scheduled on a node\n", f->args[0]);
        rc = SKIFF_EXIT_ERROR;
    } else if (f->nargs && !shown) {
        fprintf(stderr, "skiff: pods \"%s\" not found\n", f->args[0]);
        rc = SKIFF_EXIT_NOT_FOUND;
    } else {
        rc = top_output(&t, f, items, asked, shown);
    }
    pr_table_release(&t);
    json_decref(items);
    cli_objs_release(&o);
    return rc;
}

int
cli_cmd_top(struct cli *c, int argc, char **argv)
{
    struct cli_flags f;
    struct sk_err err;
    const char *what = argc > 1 ? argv[1] : "";
    bool nodes = !strcmp(what, "nodes") || !strcmp(what, "node") || !strcmp(what, "no");
    bool pods = !strcmp(what, "pods") || !strcmp(what, "pod") || !strcmp(what, "po");
    int rc;

    if (!nodes && !pods) {
        fprintf(stderr, "skiff: usage: skiff top nodes|pods [NAME] [flags]\n");
        return SKIFF_EXIT_USAGE;
    }
    sk_err_init(&err);
    if (cli_flags_parse(argc - 1, argv + 1,
                        CLI_F_OUTPUT | CLI_F_NO_HEADERS | CLI_F_SELECTOR |
                            (pods ? CLI_F_NS | CLI_F_ALL_NS | CLI_F_CONTAINERS : 0),
                        &f, &err) < 0)
        return cli_report(-EINVAL, &err);
    if (f.nargs > 1 || (f.output && strcmp(f.output, "json") != 0)) {
        fprintf(stderr, "skiff: top takes at most one NAME; -o json only\n");
        cli_flags_release(&f);
        return SKIFF_EXIT_USAGE;
    }
    rc = nodes ? top_nodes(c, &f) : top_pods(c, &f);
    cli_flags_release(&f);
    return rc;
}
