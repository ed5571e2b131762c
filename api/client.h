#ifndef SK_API_CLIENT_H
#define SK_API_CLIENT_H

/* A blocking client of the line protocol (skiff-protocol(7)), used by the
 * CLI and by tests. The scheduler, controllers and kubelet will use an
 * event-loop client with the same framing. */

#include "lib/err.h"
#include "lib/line.h"

#include <stdbool.h>
#include <stddef.h>

struct api_client {
    struct sk_lineclient lc;
    int timeout_ms;
    bool verbose; /* echo request and response lines on stderr */
};

/* One response: status line and body. */
struct api_resp {
    bool ok;
    int code;        /* error code, 0 when ok */
    char reason[64]; /* error reason, "" when ok */
    char *status;    /* the words after "ok N", or the error message */
    size_t nlines;
    char **lines; /* body lines, each NUL-terminated */
};

/* Connect to server: a UNIX socket path (anything containing '/') or
 * host:port for TCP. With a token, send `auth` first (TCP only). Fails
 * with -ECONNREFUSED, -ENOENT, -ETIMEDOUT... (the CLI's "unreachable")
 * or -EACCES when the token is refused. */
int api_client_connect(struct api_client *cl, const char *server, const char *token, int timeout_ms,
                       struct sk_err *err);

/* Send one request line and read its whole response into resp (release
 * it with api_resp_release). Returns 0 when a response was read, whether
 * ok or error; <0 when the connection failed (-ETIMEDOUT, -ECONNRESET,
 * -EPROTO for a malformed response). */
int api_client_call(struct api_client *cl, const char *line, struct api_resp *resp,
                    struct sk_err *err);

void api_resp_release(struct api_resp *resp);
void api_client_close(struct api_client *cl);

/* Parse a status line into resp (pure; for tests). Returns the number of
 * body lines announced, or <0 with err when malformed. */
int api_resp_parse_status(const char *line, struct api_resp *resp, struct sk_err *err);

#endif
