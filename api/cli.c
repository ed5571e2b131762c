/* skiff(1): option parsing, server selection and the verbs. */
#include "api/cli.h"
#include "api/client.h"
#include "lib/conf.h"
#include "lib/json.h"
#include "lib/version.h"

#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CLI_DEFAULT_SERVER "/run/skiff/api.sock"
#define CLI_TIMEOUT_MS     30000

struct cli_opts {
    const char *server;
    const char *token;
    int verbose;
};

/* ~/.config/skiff/config: the user's defaults, below flags and env. */
struct cli_file {
    char *server;
    char *token;
};

static const struct sk_conf_opt cli_file_opts[] = {
    {"client", "server", SK_CONF_STRING, offsetof(struct cli_file, server), "", NULL, 0, 0,
     "server socket path or host:port", SK_CONF_EMPTY_OK, NULL},
    {"client", "token", SK_CONF_STRING, offsetof(struct cli_file, token), "", NULL, 0, 0,
     "bearer token for TCP servers", SK_CONF_EMPTY_OK, NULL},
    {NULL, NULL, 0, 0, NULL, NULL, 0, 0, NULL, 0, NULL},
};

static void
usage(FILE *f)
{
    fprintf(f, "usage: skiff [-s SERVER] [-v] VERB [ARGS...]\n"
               "verbs:\n"
               "  version   print client and server versions\n"
               "  ping      check that the server answers\n"
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

static int
exit_for_response(const struct api_resp *resp)
{
    switch (resp->code) {
    case 404:
        return SKIFF_EXIT_NOT_FOUND;
    case 401:
    case 403:
        return SKIFF_EXIT_DENIED;
    case 408:
    case 504:
        return SKIFF_EXIT_TIMEOUT;
    default:
        return SKIFF_EXIT_ERROR;
    }
}

/* Fill server/token from flags, then $SKIFF_SERVER/$SKIFF_TOKEN, then
 * the user's config file, then the default socket. */
static void
resolve_server(struct cli_opts *o, struct cli_file *file)
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

/* Send one request; print errors; fill resp. Returns an exit status. */
static int
call(const struct cli_opts *o, const char *line, struct api_resp *resp)
{
    struct api_client cl;
    struct sk_err err;
    int rc;

    sk_err_init(&err);
    rc = api_client_connect(&cl, o->server, o->token, CLI_TIMEOUT_MS, &err);
    if (rc < 0) {
        fprintf(stderr, "skiff: %s\n", err.msg);
        return exit_for_errno(rc);
    }
    cl.verbose = o->verbose;
    rc = api_client_call(&cl, line, resp, &err);
    api_client_close(&cl);
    if (rc < 0) {
        fprintf(stderr, "skiff: server '%s': %s\n", o->server, err.msg);
        return exit_for_errno(rc);
    }
    if (!resp->ok) {
        fprintf(stderr, "skiff: %s\n", resp->status);
        rc = exit_for_response(resp);
        api_resp_release(resp);
        return rc;
    }
    return SKIFF_EXIT_OK;
}

static int
cmd_ping(const struct cli_opts *o, int argc, char **argv)
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
cmd_version(const struct cli_opts *o, int argc, char **argv)
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

int
skiff_cli_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"server", required_argument, NULL, 's'},
        {"verbose", no_argument, NULL, 'v'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct cli_opts o = {0};
    struct cli_file file = {0};
    int c, rc;

    while ((c = getopt_long(argc, argv, "+s:vh", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            o.server = optarg;
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
    if (strcmp(argv[optind], "ping") == 0)
        rc = cmd_ping(&o, argc - optind, argv + optind);
    else if (strcmp(argv[optind], "version") == 0)
        rc = cmd_version(&o, argc - optind, argv + optind);
    else {
        fprintf(stderr, "skiff: unknown verb '%s'\n", argv[optind]);
        usage(stderr);
        rc = SKIFF_EXIT_USAGE;
    }
    sk_conf_release(cli_file_opts, &file);
    return rc;
}
