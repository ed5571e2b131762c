/* skiff(1): option parsing, server selection and the verbs. */
#include "api/cli.h"
#include "api/cli_int.h"
#include "api/client.h"
#include "lib/buf.h"
#include "lib/conf.h"
#include "lib/json.h"
#include "lib/version.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CLI_DEFAULT_SERVER "/run/skiff/api.sock"
#define CLI_TIMEOUT_MS     30000

/* ~/.config/skiff/config: the user's defaults, below flags and env. */
struct cli_file {
    char *server;
    char *token;
};

static const struct sk_conf_opt cli_file_opts[] = {
    {"default", "server", SK_CONF_STRING, offsetof(struct cli_file, server), "", NULL, 0, 0,
     "server socket path or host:port", SK_CONF_EMPTY_OK, NULL},
    {"default", "token", SK_CONF_STRING, offsetof(struct cli_file, token), "", NULL, 0, 0,
     "bearer token for TCP servers", SK_CONF_EMPTY_OK, NULL},
    {NULL, NULL, 0, 0, NULL, NULL, 0, 0, NULL, 0, NULL},
};

static void
usage(FILE *f)
{
    fprintf(f, "usage: skiff [-s SERVER] [--token TOKEN] [-n NAMESPACE] [-v] VERB [ARGS...]\n"
               "objects:\n"
               "  get TYPE[,TYPE...] [NAME...] [-l SEL] [--field-selector SEL] [-o FORMAT] [-w]\n"
               "  describe TYPE [NAME...]      events [--for TYPE/NAME]\n"
               "  apply -f FILE|DIR|-          create -f FILE|DIR|-\n"
               "  delete TYPE NAME... | -f FILE [--wait] [--grace-period S] [--timeout D]\n"
               "  edit TYPE NAME               label|annotate TYPE NAME KEY=VAL... KEY-...\n"
               "  scale TYPE NAME --replicas N rollout status|history|undo deployment/NAME\n"
               "  cordon|uncordon|drain NODE   taint nodes NODE KEY=VAL:EFFECT[-]...\n"
               "  api-resources  logs POD  exec POD -- CMD  top\n"
               "  wait --for=delete|condition=C[=V]|jsonpath=E=V TYPE/NAME... [--timeout D]\n"
               "  diff -f FILE|DIR|-           completion bash|zsh\n"
               "server:\n"
               "  version   print client and server versions\n"
               "  ping      check that the server answers\n"
               "  whoami    the user and groups the server knows this client as\n"
               "  kv        get|put|del|range|txn|watch|compact|status|members (admin)\n"
               "  cluster   status [-o json] | member list | compact REV | snapshot save FILE\n"
               "see skiff(1)\n");
}

static int
exit_for_errno(int rc)
{
    switch (-rc) {
    case ETIMEDOUT:
        return SKIFF_EXIT_TIMEOUT;
    case EACCES:
    case EPERM:
        return SKIFF_EXIT_DENIED;
    default:
        return SKIFF_EXIT_UNREACHABLE;
    }
}

/* Fill server/token from flags, then $SKIFF_SERVER/$SKIFF_TOKEN, then
 * the user's config file, then the default socket. */
static void
resolve_server(struct cli *o, struct cli_file *file)
{
    struct sk_conf_diag diag;
    const char *home = getenv("HOME");
    char path[4096];

    sk_conf_defaults(cli_file_opts, file);
    if (home && snprintf(path, sizeof(path), "%s/.config/skiff/config", home) < (int)sizeof(path) &&
        access(path, F_OK) == 0) {
        /* A broken file is worth a warning, not a refusal to work. */
        sk_conf_diag_init(&diag);
        if (sk_conf_load_file(cli_file_opts, file, path, &diag) < 0)
            sk_conf_diag_print(&diag, stderr);
        sk_conf_diag_release(&diag);
    }
    if (!o->server)
        o->server = getenv("SKIFF_SERVER");
    if (!o->server || !*o->server)
        o->server = *file->server ? file->server : CLI_DEFAULT_SERVER;
    if (!o->token)
        o->token = getenv("SKIFF_TOKEN");
    if ((!o->token || !*o->token) && *file->token)
        o->token = file->token;
}

/* Send one request on the session; print errors; fill resp. Returns an
 * exit status (resp holds an ok answer when it is SKIFF_EXIT_OK). */
static int
call(struct cli *o, const char *line, struct api_resp *resp)
{
    struct sk_err err;
    int rc;

    sk_err_init(&err);
    rc = cli_do(o, line, resp, &err);
    return rc < 0 ? cli_report(rc, &err) : SKIFF_EXIT_OK;
}

static int
cmd_ping(struct cli *o, int argc, char **argv)
{
    struct api_resp resp;
    int rc;

    if (argc != 1) {
        usage(stderr);
        return SKIFF_EXIT_USAGE;
    }
    rc = call(o, "ping", &resp);
    if (rc != SKIFF_EXIT_OK)
        return rc;
    printf("%s\n", resp.status);
    api_resp_release(&resp);
    return SKIFF_EXIT_OK;
}

static void
print_server_version(const struct api_resp *resp)
{
    json_t *v = NULL;
    const char *version = "unknown";
    json_int_t proto = 0;

    if (resp->nlines != 1 || sk_json_parse(resp->lines[0], strlen(resp->lines[0]), &v, NULL) < 0 ||
        json_unpack(v, "{s:s, s:I}", "version", &version, "protocol", &proto) < 0) {
        printf("Server Version: unknown (malformed answer)\n");
    } else {
        printf("Server Version: %s (protocol %lld)%s\n", version, (long long)proto,
               proto != SKIFF_PROTOCOL_VERSION ? " (protocol differs from the client's)" : "");
    }
    json_decref(v);
}

/* Print the client's version, then the server's; the client line comes
 * even when the server is unreachable, so scripts can see the skew. */
static int
cmd_version(struct cli *o, int argc, char **argv)
{
    struct api_resp resp;
    int rc;

    if (argc != 1) {
        usage(stderr);
        return SKIFF_EXIT_USAGE;
    }
    printf("Client Version: %s (protocol %d)\n", SKIFF_VERSION, SKIFF_PROTOCOL_VERSION);
    fflush(stdout);
    rc = call(o, "version", &resp);
    if (rc != SKIFF_EXIT_OK)
        return rc;
    print_server_version(&resp);
    api_resp_release(&resp);
    return SKIFF_EXIT_OK;
}

/* `skiff whoami [-o json]`: who the server takes this client for (the
 * token's user, a ServiceAccount, or the UNIX peer's mapping), as
 * `kubectl auth whoami` prints it. */
static int
cmd_whoami(struct cli *o, int argc, char **argv)
{
    bool as_json = argc == 3 && !strcmp(argv[1], "-o") && !strcmp(argv[2], "json");
    struct api_resp resp;
    json_t *v = NULL, *g;
    size_t i;
    int rc;

    if (argc != 1 && !as_json) {
        usage(stderr);
        return SKIFF_EXIT_USAGE;
    }
    rc = call(o, "whoami", &resp);
    if (rc != SKIFF_EXIT_OK)
        return rc;
    if (resp.nlines != 1 || sk_json_parse(resp.lines[0], strlen(resp.lines[0]), &v, NULL) < 0) {
        fprintf(stderr, "skiff: whoami: malformed answer from the server\n");
        api_resp_release(&resp);
        return SKIFF_EXIT_ERROR;
    }
    if (as_json) {
        printf("%s\n", resp.lines[0]);
    } else {
        printf("ATTRIBUTE   VALUE\nUsername    %s\nGroups      [",
               json_string_value(json_object_get(v, "user")));
        json_array_foreach (json_object_get(v, "groups"), i, g)
            printf("%s%s", i ? " " : "", json_string_value(g));
        printf("]\n");
    }
    json_decref(v);
    api_resp_release(&resp);
    return SKIFF_EXIT_OK;
}

/* ---- kv and cluster (the store's raw verbs, skiff-protocol(7)) ---- */

/* Append word percent-encoded (space, %, and bytes outside printable
 * ASCII become %XX), after a space. "%00" stays as is: a range end
 * meaning "every key from KEY on" (a NUL cannot be in argv). */
static void
put_word(struct sk_buf *line, const char *word)
{
    const unsigned char *p = (const unsigned char *)word;

    sk_buf_putc(line, ' ');
    if (strcmp(word, "%00") == 0) { /* the "every key from KEY on" end */
        sk_buf_puts(line, word);
        return;
    }
    for (; *p; p++) {
        if (*p > 0x20 && *p < 0x7f && *p != '%')
            sk_buf_putc(line, (char)*p);
        else
            sk_buf_printf(line, "%%%02X", *p);
    }
}

/* `skiff kv watch ...`: print every line of the stream until the server
 * closes it; a 410 line ends it with status 1. */
static int
kv_watch_stream(const struct cli *o, const char *line)
{
    struct api_client cl;
    struct sk_err err;
    char *l;
    size_t len;
    int rc;

    sk_err_init(&err);
    rc = api_client_connect(&cl, o->server, o->token, CLI_TIMEOUT_MS, &err);
    if (rc < 0) {
        fprintf(stderr, "skiff: %s\n", err.msg);
        return exit_for_errno(rc);
    }
    rc = sk_lineclient_send(&cl.lc, line, &err);
    while (rc >= 0 && (rc = sk_lineclient_recv(&cl.lc, &l, &len, -1, &err)) > 0) {
        if (strncmp(l, "error ", 6) == 0) {
            fprintf(stderr, "skiff: %s\n", l + 6);
            api_client_close(&cl);
            return strncmp(l, "error 404", 9) == 0 ? SKIFF_EXIT_NOT_FOUND : SKIFF_EXIT_ERROR;
        }
        if (strncmp(l, "ok ", 3) == 0)
            continue;
        printf("%s\n", l);
        fflush(stdout);
    }
    api_client_close(&cl);
    return err.code == ECONNRESET ? SKIFF_EXIT_OK : exit_for_errno(-err.code);
}

static int
cmd_kv(struct cli *o, int argc, char **argv)
{
    struct sk_buf line = SK_BUF_INIT;
    struct api_resp resp;
    bool value_only, json = false;
    size_t i;
    int a, rc;

    if (argc < 2) {
        usage(stderr);
        return SKIFF_EXIT_USAGE;
    }
    sk_buf_puts(&line, "kv");
    for (a = 1; a < argc; a++) {
        if (strcmp(argv[a], "-o") == 0 && a + 1 < argc && strcmp(argv[a + 1], "json") == 0) {
            json = true;
            a++;
            continue;
        }
        put_word(&line, argv[a]);
    }
    if (strcmp(argv[1], "watch") == 0) {
        rc = kv_watch_stream(o, line.data);
        sk_buf_release(&line);
        return rc;
    }
    rc = call(o, line.data, &resp);
    sk_buf_release(&line);
    if (rc != SKIFF_EXIT_OK)
        return rc;
    /* `kv get` prints the value, like etcdctl --print-value-only; -o json
     * (and every other verb) prints the status words and the JSON lines. */
    value_only = strcmp(argv[1], "get") == 0 && !json && resp.nlines == 1;
    if (value_only) {
        json_t *v = NULL;

        if (sk_json_parse(resp.lines[0], strlen(resp.lines[0]), &v, NULL) == 0 &&
            json_is_string(json_object_get(v, "value")))
            printf("%s\n", json_string_value(json_object_get(v, "value")));
        json_decref(v);
    } else {
        if (resp.status && *resp.status)
            printf("%s\n", resp.status);
        for (i = 0; i < resp.nlines; i++)
            printf("%s\n", resp.lines[i]);
    }
    api_resp_release(&resp);
    return SKIFF_EXIT_OK;
}

/* A member's field as text: "-" when absent or null (unknown there). */
static const char *
field_text(const json_t *obj, const char *key, char *buf, size_t len)
{
    const json_t *v = json_object_get(obj, key);

    if (json_is_integer(v))
        snprintf(buf, len, "%lld", (long long)json_integer_value(v));
    else if (json_is_string(v) && *json_string_value(v))
        snprintf(buf, len, "%s", json_string_value(v));
    else if (json_is_boolean(v))
        snprintf(buf, len, "%s", json_is_true(v) ? "yes" : "no");
    else
        snprintf(buf, len, "-");
    return buf;
}

/* One row per member: its place in the configuration, the leader's view
 * of its replication (MATCH, LAG, STATE), and, for the member answering,
 * its own Raft status. */
static void
member_row(const json_t *m, const json_t *st)
{
    const char *name = json_string_value(json_object_get(m, "name"));
    const char *self = json_string_value(json_object_get(st, "name"));
    int local = name && self && strcmp(name, self) == 0;
    char b[9][64];

    field_text(m, "peer", b[0], sizeof(b[0]));
    printf("%-12s %-21s %-5s %-6s %-8s %-6s %-9s %-6s %-8s %-8s %-9s %s\n", name ? name : "?",
           strcmp(b[0], "-") == 0 && local ? "local" : b[0],
           json_is_true(json_object_get(m, "voter")) ? "yes" : "no",
           json_is_true(json_object_get(m, "leader")) ? "yes" : "no",
           field_text(m, "match", b[1], 64), field_text(m, "lag", b[2], 64),
           field_text(m, "state", b[3], 64), local ? field_text(st, "term", b[4], 64) : "-",
           local ? field_text(st, "commit", b[5], 64) : "-",
           local ? field_text(st, "applied", b[6], 64) : "-",
           local ? field_text(st, "db_size", b[7], 64) : "-",
           local ? field_text(st, "last_error", b[8], 64) : "-");
}

static void
cluster_table(const json_t *st, const json_t *members)
{
    const char *leader = json_string_value(json_object_get(st, "leader"));
    size_t i;
    int known = 0;

    printf("%-12s %-21s %-5s %-6s %-8s %-6s %-9s %-6s %-8s %-8s %-9s %s\n", "NAME", "ADDRESS",
           "VOTER", "LEADER", "MATCH", "LAG", "STATE", "TERM", "COMMIT", "APPLIED", "SIZE",
           "LAST-ERROR");
    for (i = 0; i < json_array_size(members); i++) {
        member_row(json_array_get(members, i), st);
        known |= json_is_integer(json_object_get(json_array_get(members, i), "lag"));
    }
    if (!known)
        fprintf(stderr, "skiff: replication progress unknown: no answer from a leader (%s)\n",
                leader && *leader ? leader : "none now");
}

/* kv members' lines as a JSON array. */
static json_t *
members_array(const struct api_resp *resp)
{
    json_t *arr = json_array(), *m;
    size_t i;

    for (i = 0; i < resp->nlines; i++)
        if (sk_json_parse(resp->lines[i], strlen(resp->lines[i]), &m, NULL) == 0)
            json_array_append_new(arr, m);
    return arr;
}

static int
cluster_status(struct cli *o, int json)
{
    struct api_resp resp, mresp;
    json_t *st = NULL, *members, *all;
    char *text;
    int rc;

    rc = call(o, "kv status", &resp);
    if (rc != SKIFF_EXIT_OK)
        return rc;
    rc = call(o, "kv members", &mresp);
    if (rc != SKIFF_EXIT_OK) {
        api_resp_release(&resp);
        return rc;
    }
    if (!resp.nlines || sk_json_parse(resp.lines[0], strlen(resp.lines[0]), &st, NULL) < 0)
        st = json_object();
    members = members_array(&mresp);
    if (json) {
        all = json_pack("{s:O,s:O}", "status", st, "members", members);
        text = json_dumps(all, JSON_COMPACT);
        if (text)
            printf("%s\n", text);
        free(text);
        json_decref(all);
    } else {
        cluster_table(st, members);
    }
    json_decref(members);
    json_decref(st);
    api_resp_release(&mresp);
    api_resp_release(&resp);
    return SKIFF_EXIT_OK;
}

/* skiff cluster status [-o json] | member list | compact REV */
static int
cmd_cluster(struct cli *o, int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "member") == 0 && strcmp(argv[2], "list") == 0)
        return cmd_kv(o, 2, (char *[]){"kv", "members", NULL});
    if (argc == 4 && strcmp(argv[1], "snapshot") == 0 && strcmp(argv[2], "save") == 0) {
        char cwd[4096], path[8192];

        /* The server writes the file: give it an absolute path. */
        if (argv[3][0] == '/')
            snprintf(path, sizeof(path), "%s", argv[3]);
        else if (getcwd(cwd, sizeof(cwd)))
            snprintf(path, sizeof(path), "%s/%s", cwd, argv[3]);
        else
            return SKIFF_EXIT_ERROR;
        return cmd_kv(o, 3, (char *[]){"kv", "snapshot-save", path, NULL});
    }
    if (argc == 3 && strcmp(argv[1], "compact") == 0)
        return cmd_kv(o, 3, (char *[]){"kv", "compact", argv[2], NULL});
    if (argc == 2 && strcmp(argv[1], "status") == 0)
        return cluster_status(o, 0);
    if (argc == 4 && strcmp(argv[1], "status") == 0 && strcmp(argv[2], "-o") == 0 &&
        strcmp(argv[3], "json") == 0)
        return cluster_status(o, 1);
    usage(stderr);
    return SKIFF_EXIT_USAGE;
}

static const struct {
    const char *name;
    int (*fn)(struct cli *c, int argc, char **argv);
} verbs[] = {
    {"ping", cmd_ping},
    {"version", cmd_version},
    {"whoami", cmd_whoami},
    {"kv", cmd_kv},
    {"cluster", cmd_cluster},
    {"get", cli_cmd_get},
    {"describe", cli_cmd_describe},
    {"events", cli_cmd_events},
    {"apply", cli_cmd_apply},
    {"create", cli_cmd_create},
    {"delete", cli_cmd_delete},
    {"edit", cli_cmd_edit},
    {"label", cli_cmd_label},
    {"annotate", cli_cmd_annotate},
    {"scale", cli_cmd_scale},
    {"rollout", cli_cmd_rollout},
    {"cordon", cli_cmd_cordon},
    {"uncordon", cli_cmd_uncordon},
    {"drain", cli_cmd_drain},
    {"taint", cli_cmd_taint},
    {"api-resources", cli_cmd_api_resources},
    {"logs", cli_cmd_logs},
    {"exec", cli_cmd_exec},
    {"top", cli_cmd_top},
    {"completion", cli_cmd_completion},
    {"wait", cli_cmd_wait},
    {"diff", cli_cmd_diff},
};

static int
run_verb(struct cli *c, int argc, char **argv)
{
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
        if (strcmp(argv[0], verbs[i].name) == 0)
            return verbs[i].fn(c, argc, argv);
    fprintf(stderr, "skiff: unknown verb '%s'\n", argv[0]);
    usage(stderr);
    return SKIFF_EXIT_USAGE;
}

int
skiff_cli_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"server", required_argument, NULL, 's'},
        {"token", required_argument, NULL, 'T'},
        {"namespace", required_argument, NULL, 'n'},
        {"verbose", no_argument, NULL, 'v'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct cli o = {0};
    struct cli_file file = {0};
    int c, rc;

    while ((c = getopt_long(argc, argv, "+s:n:vh", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            o.server = optarg;
            break;
        case 'T':
            o.token = optarg;
            break;
        case 'n':
            o.ns = optarg;
            break;
        case 'v':
            o.verbose = 1;
            break;
        case 'V':
            printf("skiff %s (protocol %d)\n", SKIFF_VERSION, SKIFF_PROTOCOL_VERSION);
            return SKIFF_EXIT_OK;
        case 'h':
            usage(stdout);
            return SKIFF_EXIT_OK;
        default:
            usage(stderr);
            return SKIFF_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return SKIFF_EXIT_USAGE;
    }
    resolve_server(&o, &file);
    rc = run_verb(&o, argc - optind, argv + optind);
    cli_close(&o);
    sk_conf_release(cli_file_opts, &file);
    return rc;
}
