/* skiff api-resources, logs and exec (top: cli_top.c). logs and exec are relayed by
 * the server to the node agent of the pod (skiff-protocol(7)); -f and
 * exec read a stream until its last line; exec -i/-t hand the stream
 * to cli_exec.c. */
#include "api/cli_int.h"
#include "api/print_int.h"
#include "lib/alloc.h"
#include "lib/json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static void
join_strings(const json_t *arr, struct sk_buf *out)
{
    json_t *v;
    size_t i;

    json_array_foreach (arr, i, v)
        if (json_is_string(v))
            sk_buf_printf(out, "%s%s", out->len ? "," : "", json_string_value(v));
}

/* One row per kind, kubectl's columns; -o wide adds VERBS, -o name the
 * resource names only. The table is drawn by the print layer's
 * tabwriter so it aligns like every other table. */
static void
print_resources(json_t **rows, size_t n, const struct cli_flags *f, bool wide, bool names)
{
    struct sk_buf out = SK_BUF_INIT, cell = SK_BUF_INIT;
    struct pr_table t;
    size_t r;

    if (names) {
        for (size_t i = 0; i < n; i++)
            printf("%s\n", pr_none(pr_str(rows[i], "name")));
        return;
    }
    pr_table_init(&t, wide ? 6 : 5);
    if (!f->no_headers) {
        static const char *const hdr[] = {"NAME",       "SHORTNAMES", "APIVERSION",
                                          "NAMESPACED", "KIND",       "VERBS"};

        r = pr_table_row(&t);
        for (size_t c = 0; c < t.ncols; c++)
            pr_table_set(&t, r, c, hdr[c]);
    }
    for (size_t i = 0; i < n; i++) {
        r = pr_table_row(&t);
        pr_table_set(&t, r, 0, pr_str(rows[i], "name"));
        sk_buf_reset(&cell);
        join_strings(pr_arr(rows[i], "shortNames"), &cell);
        pr_table_set(&t, r, 1, cell.data ? cell.data : "");
        pr_table_set(&t, r, 2, pr_str(rows[i], "apiVersion"));
        pr_table_set(&t, r, 3, pr_bool(rows[i], "namespaced") ? "true" : "false");
        pr_table_set(&t, r, 4, pr_str(rows[i], "kind"));
        if (wide) {
            sk_buf_reset(&cell);
            join_strings(pr_arr(rows[i], "verbs"), &cell);
            pr_table_printf(&t, r, 5, "[%s]", cell.data ? cell.data : "");
        }
    }
    pr_table_render(&t, false, NULL, &out);
    fwrite(out.data ? out.data : "", 1, out.len, stdout);
    pr_table_release(&t);
    sk_buf_release(&cell);
    sk_buf_release(&out);
}

int
cli_cmd_api_resources(struct cli *c, int argc, char **argv)
{
    struct cli_objs o = {0};
    struct api_resp resp;
    struct cli_flags f;
    struct sk_err err;
    json_t **rows;
    size_t n = 0;
    int rc;

    sk_err_init(&err);
    if (cli_flags_parse(argc, argv, CLI_F_OUTPUT | CLI_F_NO_HEADERS | CLI_F_NAMESPACED, &f, &err) <
        0)
        return cli_report(-EINVAL, &err);
    if (f.nargs || (f.output && strcmp(f.output, "wide") && strcmp(f.output, "name"))) {
        fprintf(stderr, "skiff: api-resources takes no arguments; -o wide or -o name\n");
        cli_flags_release(&f);
        return SKIFF_EXIT_USAGE;
    }
    if ((rc = cli_do(c, "api-resources", &resp, &err)) < 0 ||
        (rc = cli_objs_from_resp(&resp, &o, &err)) < 0) {
        if (resp.lines)
            api_resp_release(&resp);
        cli_flags_release(&f);
        return cli_report(rc, &err);
    }
    api_resp_release(&resp);
    rows = sk_calloc(o.n + 1, sizeof(*rows));
    for (size_t i = 0; i < o.n; i++)
        if (f.namespaced < 0 || pr_bool(o.items[i], "namespaced") == (f.namespaced == 1))
            rows[n++] = o.items[i];
    print_resources(rows, n, &f, f.output && !strcmp(f.output, "wide"),
                    f.output && !strcmp(f.output, "name"));
    free(rows);
    cli_objs_release(&o);
    cli_flags_release(&f);
    return SKIFF_EXIT_OK;
}

/* logs without -f: one answer, "ok N container=C" and the lines. */
static int
relay(struct cli *c, struct sk_buf *line)
{
    struct api_resp resp;
    struct sk_err err;
    int rc;

    sk_err_init(&err);
    rc = cli_do(c, line->data, &resp, &err);
    sk_buf_release(line);
    if (rc < 0)
        return cli_report(rc, &err);
    for (size_t i = 0; i < resp.nlines; i++)
        printf("%s\n", resp.lines[i]);
    api_resp_release(&resp);
    return SKIFF_EXIT_OK;
}

#define STREAM_CONNECT_MS 30000

/* One line of a relayed stream (skiff-protocol(7), logs and exec):
 * 1 when the stream goes on, 0 at its end with *status set, <0 for an
 * error line (err set). */
static int
stream_line(const char *l, int *status, struct sk_err *err)
{
    struct api_resp resp;
    int rc;

    if ((l[0] == '1' || l[0] == '2') && l[1] == ' ') {
        FILE *f = l[0] == '1' ? stdout : stderr;
        fputs(l + 2, f);
        fputc('\n', f);
        fflush(f);
        return 1;
    }
    if (strcmp(l, "end") == 0) {
        *status = SKIFF_EXIT_OK;
        return 0;
    }
    if (strncmp(l, "exit ", 5) == 0) {
        *status = atoi(l + 5) & 0xff;
        return 0;
    }
    if (api_resp_parse_status(l, &resp, err) < 0)
        return sk_err_set(err, EPROTO, "malformed stream line '%.80s'", l);
    rc = resp.ok ? sk_err_set(err, EPROTO, "unexpected line '%.80s'", l)
                 : cli_resp_error(&resp, err);
    api_resp_release(&resp);
    return rc;
}

/* How an exec stream is carried (0 for logs -f and a plain exec). */
struct stream_mode {
    bool interactive; /* frames, cli_exec.c */
    bool want_stdin, tty;
};

/* logs -f and exec: a connection of their own that carries the stream
 * until its last line ("end", "exit N"); stdout and stderr lines go to
 * ours. Returns the exit status (exec: the command's). */
static int
stream(struct cli *c, struct sk_buf *line, const struct stream_mode *m)
{
    struct api_client cl;
    struct api_resp resp;
    struct sk_err err;
    int rc, status = SKIFF_EXIT_ERROR;
    size_t len;
    char *l;

    sk_err_init(&err);
    rc = api_client_connect(&cl, c->server, c->token, STREAM_CONNECT_MS, &err);
    if (rc < 0) {
        sk_buf_release(line);
        if (rc != -EACCES && rc != -ETIMEDOUT) {
            sk_err_wrap(&err, "server '%s'", c->server);
            rc = -EHOSTUNREACH;
        }
        return cli_report(rc, &err);
    }
    if (c->verbose)
        fprintf(stderr, "> %s\n", line->data);
    rc = sk_lineclient_send(&cl.lc, line->data, &err);
    sk_buf_release(line);
    if (rc >= 0)
        rc = sk_lineclient_recv(&cl.lc, &l, &len, STREAM_CONNECT_MS, &err);
    if (rc >= 0 && c->verbose)
        fprintf(stderr, "< %s\n", l);
    if (rc >= 0 && strncmp(l, "ok stream", 9) != 0) {
        /* an error, or a whole answer ("ok N") */
        if ((rc = api_resp_parse_status(l, &resp, &err)) < 0)
            goto out_close;
        if (!resp.ok) {
            rc = cli_resp_error(&resp, &err);
        } else {
            for (int n = rc; n > 0 && rc >= 0; n--)
                if ((rc = sk_lineclient_recv(&cl.lc, &l, &len, STREAM_CONNECT_MS, &err)) >= 0)
                    printf("%s\n", l);
            status = SKIFF_EXIT_OK;
        }
        api_resp_release(&resp);
        goto out_close;
    }
    if (rc >= 0 && m->interactive) {
        if ((rc = cli_exec_session(cl.lc.fd, &cl.lc.lb, m->want_stdin, m->tty, &err)) >= 0)
            status = rc;
        goto out_close;
    }
    while (rc >= 0 && (rc = sk_lineclient_recv(&cl.lc, &l, &len, -1, &err)) >= 0) {
        if (c->verbose && l[0] != '1' && l[0] != '2')
            fprintf(stderr, "< %s\n", l);
        if ((rc = stream_line(l, &status, &err)) == 0)
            break;
    }
    if (rc == -ECONNRESET)
        sk_err_set(&err, ECONNRESET, "the server ended the stream before its end");
out_close:
    api_client_close(&cl);
    return rc < 0 ? cli_report(rc, &err) : status;
}

static bool
kind_is_pod(const char *s, const char *slash)
{
    char kind[64];

    snprintf(kind, sizeof(kind), "%.*s", (int)(slash - s), s);
    return api_kind_lookup(kind) == api_kind_lookup("pods");
}

/* "POD", "pod/POD" or "pods POD": the pod's name. */
static const char *
pod_arg(const struct cli_flags *f, int *used)
{
    const struct api_kind *pod = api_kind_lookup("pods");
    const char *slash;

    *used = 0;
    if (f->nargs < 1)
        return NULL;
    slash = strchr(f->args[0], '/');
    if (slash) {
        *used = 1;
        return kind_is_pod(f->args[0], slash) ? slash + 1 : NULL;
    }
    if (f->nargs >= 2 && api_kind_lookup(f->args[0]) == pod) {
        *used = 2;
        return f->args[1];
    }
    *used = 1;
    return f->args[0];
}

/* --timestamps is logs' own flag: taken out of argv (in place) before
 * the common flags are parsed. */
static bool
take_timestamps(int *argc, char **argv)
{
    bool found = false;
    int n = 0;

    for (int i = 0; i < *argc; i++) {
        if (i > 0 && strcmp(argv[i], "--timestamps") == 0) {
            found = true;
            continue;
        }
        argv[n++] = argv[i];
    }
    *argc = n;
    return found;
}

int
cli_cmd_logs(struct cli *c, int argc, char **argv)
{
    struct sk_buf line = SK_BUF_INIT;
    struct cli_flags f;
    struct sk_err err;
    const char *pod;
    bool timestamps = take_timestamps(&argc, argv);
    int used;

    sk_err_init(&err);
    if (cli_flags_parse(argc, argv, CLI_F_NS | CLI_F_LOGS, &f, &err) < 0)
        return cli_report(-EINVAL, &err);
    pod = pod_arg(&f, &used);
    if (!pod || used != f.nargs) {
        fprintf(stderr, "skiff: usage: skiff logs [-f] [-c CONTAINER] [--tail=N] [--previous] "
                        "[--timestamps] POD\n");
        cli_flags_release(&f);
        return SKIFF_EXIT_USAGE;
    }
    sk_buf_puts(&line, "logs");
    cli_put_word(&line, cli_namespace(c, &f));
    cli_put_word(&line, pod);
    if (f.container)
        cli_put_opt(&line, "container", f.container);
    if (f.previous)
        sk_buf_puts(&line, " previous");
    if (f.follow && !f.previous) /* a terminated run has nothing more to come */
        sk_buf_puts(&line, " follow");
    if (f.tail >= 0)
        sk_buf_printf(&line, " tail=%lld", (long long)f.tail);
    if (timestamps)
        sk_buf_puts(&line, " timestamps");
    if (f.follow && !f.previous) {
        struct stream_mode plain = {0};

        cli_flags_release(&f);
        return stream(c, &line, &plain);
    }
    cli_flags_release(&f);
    return relay(c, &line);
}

/* -i/--stdin and -t/--tty (also -it, -ti) before "--": taken out of
 * argv in place, as take_timestamps does. */
static void
take_exec_flags(int *argc, char **argv, struct stream_mode *m)
{
    int n = 0, i;

    for (i = 0; i < *argc && strcmp(argv[i], "--") != 0; i++) {
        const char *a = argv[i];

        if (i > 0 && (strcmp(a, "-i") == 0 || strcmp(a, "--stdin") == 0)) {
            m->want_stdin = true;
        } else if (i > 0 && (strcmp(a, "-t") == 0 || strcmp(a, "--tty") == 0)) {
            m->tty = true;
        } else if (i > 0 && (strcmp(a, "-it") == 0 || strcmp(a, "-ti") == 0)) {
            m->want_stdin = m->tty = true;
        } else {
            argv[n++] = argv[i];
        }
    }
    for (; i < *argc; i++)
        argv[n++] = argv[i];
    *argc = n;
}

/* kubectl's rule: a terminal only when our stdin is one to give it. */
static void
exec_mode(struct stream_mode *m, struct sk_buf *line)
{
    struct winsize ws;

    if (m->tty && (!m->want_stdin || !isatty(0))) {
        fprintf(stderr, "Unable to use a TTY - input is not a terminal or the right kind of "
                        "file\n");
        m->tty = false;
    }
    m->interactive = m->want_stdin || m->tty;
    if (m->want_stdin)
        sk_buf_puts(line, " stdin");
    if (m->tty)
        sk_buf_puts(line, " tty");
    if (m->tty && ioctl(0, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
        sk_buf_printf(line, " rows=%u cols=%u", ws.ws_row, ws.ws_col);
}

int
cli_cmd_exec(struct cli *c, int argc, char **argv)
{
    static const char usage[] =
        "skiff: usage: skiff exec [-i] [-t] [-c CONTAINER] POD -- COMMAND [ARGS...]\n";
    struct stream_mode m = {0};
    struct sk_buf line = SK_BUF_INIT;
    struct cli_flags f;
    struct sk_err err;
    const char *pod;
    int dash, used;

    sk_err_init(&err);
    take_exec_flags(&argc, argv, &m);
    for (dash = 1; dash < argc && strcmp(argv[dash], "--") != 0; dash++)
        ;
    if (dash >= argc - 1) {
        fputs(usage, stderr);
        return SKIFF_EXIT_USAGE;
    }
    if (cli_flags_parse(dash, argv, CLI_F_NS | CLI_F_LOGS, &f, &err) < 0)
        return cli_report(-EINVAL, &err);
    pod = pod_arg(&f, &used);
    if (!pod || used != f.nargs) {
        fputs(usage, stderr);
        cli_flags_release(&f);
        return SKIFF_EXIT_USAGE;
    }
    sk_buf_puts(&line, "exec");
    cli_put_word(&line, cli_namespace(c, &f));
    cli_put_word(&line, pod);
    if (f.container)
        cli_put_opt(&line, "container", f.container);
    exec_mode(&m, &line);
    sk_buf_puts(&line, " --");
    for (int i = dash + 1; i < argc; i++)
        cli_put_word(&line, argv[i]);
    cli_flags_release(&f);
    return stream(c, &line, &m);
}
