/* Blocking line-protocol client. */
#include "api/client.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/sock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Responses announcing more body lines than this are treated as broken
 * rather than trusted with memory. */
#define API_CLIENT_MAX_LINES 10000000

static int
open_socket(const char *server, int timeout_ms, struct sk_err *err)
{
    char host[256];
    int port;

    if (strchr(server, '/'))
        return sk_sock_connect_unix(server, err);
    if (sk_sock_parse_hostport(server, host, sizeof(host), &port, err) < 0)
        return sk_err_wrap(err, "server '%s'", server);
    return sk_sock_connect_tcp(host[0] ? host : "127.0.0.1", port, timeout_ms, err);
}

int
api_client_connect(struct api_client *cl, const char *server, const char *token, int timeout_ms,
                   struct sk_err *err)
{
    struct api_resp resp;
    struct sk_buf line = SK_BUF_INIT;
    int fd, rc;

    memset(cl, 0, sizeof(*cl));
    cl->timeout_ms = timeout_ms;
    fd = open_socket(server, timeout_ms, err);
    if (fd < 0)
        return fd;
    sk_lineclient_init(&cl->lc, fd, 1u << 30);
    if (!token || !*token || strchr(server, '/'))
        return 0;
    sk_buf_printf(&line, "auth %s", token);
    rc = api_client_call(cl, line.data, &resp, err);
    sk_buf_release(&line);
    if (rc < 0)
        goto out_close;
    if (!resp.ok)
        rc = sk_err_set(err, EACCES, "server '%s' refused the token: %s", server, resp.status);
    api_resp_release(&resp);
    if (rc < 0)
        goto out_close;
    return 0;
out_close:
    api_client_close(cl);
    return rc;
}

int
api_resp_parse_status(const char *line, struct api_resp *resp, struct sk_err *err)
{
    unsigned long long n;
    char *end;
    int code;

    memset(resp, 0, sizeof(*resp));
    if (strncmp(line, "ok ", 3) == 0) {
        errno = 0;
        n = strtoull(line + 3, &end, 10);
        if (errno || end == line + 3 || (*end && *end != ' ') || n > API_CLIENT_MAX_LINES)
            return sk_err_set(err, EPROTO, "malformed status line '%.80s'", line);
        resp->ok = true;
        resp->status = sk_strdup(*end ? end + 1 : "");
        return (int)n;
    }
    if (strncmp(line, "error ", 6) == 0 && sscanf(line + 6, "%3d %63s", &code, resp->reason) == 2) {
        const char *msg = line + 6;

        resp->code = code;
        msg += strcspn(msg, " ");
        msg += strspn(msg, " ");
        msg += strcspn(msg, " ");
        msg += strspn(msg, " ");
        resp->status = sk_strdup(msg);
        return 0;
    }
    return sk_err_set(err, EPROTO, "malformed status line '%.80s'", line);
}

int
api_client_call(struct api_client *cl, const char *line, struct api_resp *resp, struct sk_err *err)
{
    char *got;
    size_t len;
    int n, i, rc;

    memset(resp, 0, sizeof(*resp));
    if (cl->verbose)
        fprintf(stderr, "> %s\n", line);
    rc = sk_lineclient_send(&cl->lc, line, err);
    if (rc < 0)
        return rc;
    rc = sk_lineclient_recv(&cl->lc, &got, &len, cl->timeout_ms, err);
    if (rc < 0)
        return rc;
    if (cl->verbose)
        fprintf(stderr, "< %s\n", got);
    n = api_resp_parse_status(got, resp, err);
    if (n < 0)
        return n;
    resp->lines = sk_calloc((size_t)n + 1, sizeof(char *));
    for (i = 0; i < n; i++) {
        rc = sk_lineclient_recv(&cl->lc, &got, &len, cl->timeout_ms, err);
        if (rc < 0) {
            api_resp_release(resp);
            return sk_err_wrap(err, "response body line %d of %d", i + 1, n);
        }
        if (cl->verbose)
            fprintf(stderr, "< %s\n", got);
        resp->lines[i] = sk_strndup(got, len);
        resp->nlines++;
    }
    return 0;
}

void
api_resp_release(struct api_resp *resp)
{
    size_t i;

    for (i = 0; i < resp->nlines; i++)
        free(resp->lines[i]);
    free(resp->lines);
    free(resp->status);
    memset(resp, 0, sizeof(*resp));
}

void
api_client_close(struct api_client *cl)
{
    sk_lineclient_release(&cl->lc);
}
