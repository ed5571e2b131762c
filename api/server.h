#ifndef SK_API_SERVER_H
#define SK_API_SERVER_H

/* The line-protocol server (skiff-protocol(7)): listens on a UNIX socket
 * and optionally TCP, reads one request per line, dispatches on the first
 * word (the verb) and writes responses in request order, also when
 * handlers answer later (pipelining).
 *
 * A response is the status line plus the lines it announces:
 *
 *     ok <count> [word...]        followed by <count> lines
 *     error <code> <Reason> <message>
 *
 * Peers on the UNIX socket are identified by SO_PEERCRED; TCP peers may
 * only `ping` and `auth` until an authenticator accepted their token. */

#include "lib/err.h"
#include "lib/loop.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define API_MAX_LINE (1u << 20)
/* Requests of one connection in progress at once. Today the server
 * stops reading a connection as soon as one request waits for a late
 * answer (see server.c), so the bound is never reached; kept for the
 * clients that size their pipelines by it. */
#define API_MAX_PIPELINE 64

struct api_server;
struct api_req;
struct api_kind;

/* Who sent a request. */
struct api_peer {
    bool local;         /* UNIX socket */
    bool authenticated; /* local peers always; TCP after `auth` */
    uid_t uid;          /* local peers */
    gid_t gid;
    pid_t pid;
    char user[64];    /* "uid:0" locally, or the token's user */
    char groups[256]; /* comma-separated group names */
};

/* may peer do verb (get list watch create update patch delete bind
 * scale) on resource (e.g. "pods"), subresource ("" or "status",
 * "binding", "scale"), in ns ("" for cluster-scoped or all-namespaces
 * list/watch), name ("" for list/watch/create-with-generateName)?
 * 0 or -EPERM with err set to Kubernetes's message:
 * pods "web" is forbidden: User "alice" cannot delete resource "pods"
 * in API group "" in the namespace "default" */
typedef int (*api_authorize_fn)(void *arg, const struct api_peer *peer, const char *verb,
                                const char *resource, const char *subresource, const char *ns,
                                const char *name, struct sk_err *err);
/* admission (NodeRestriction and the like): old (NULL on create) and
 * new_obj (NULL on delete) are the stored and the proposed object.
 * 0 or -EPERM. */
typedef int (*api_admit_fn)(void *arg, const struct api_peer *peer, const char *verb,
                            const struct api_kind *k, const json_t *old, const json_t *new_obj,
                            struct sk_err *err);

/* A verb handler. args is the rest of the line after the verb and one
 * space ("" if none); the handler may modify it in place. It must
 * answer exactly once, now or later, with api_req_reply/_ok/_error. */
typedef void (*api_handler_fn)(struct api_req *req, char *args, void *arg);

/* Decides a TCP peer's `auth <token>` (the token percent-decoded):
 * fill peer->user and peer->groups and return 0, or return <0 to
 * refuse. */
typedef int (*api_auth_fn)(const char *token, struct api_peer *peer, void *arg);

/* Names a local peer from peer->uid and peer->gid: fill peer->user and
 * peer->groups. Without one, local peers are "uid:N" without groups. */
typedef void (*api_local_auth_fn)(struct api_peer *peer, void *arg);

/* Defaults of the protection limits (skiffd.conf(5), [server]). */
#define API_DEFAULT_MAX_INFLIGHT        400
#define API_DEFAULT_MAX_CLIENT_INFLIGHT API_MAX_PIPELINE
#define API_DEFAULT_AUTH_TIMEOUT_MS     10000

struct api_server_config {
    const char *socket_path;  /* required */
    mode_t socket_mode;       /* e.g. 0660 */
    const char *socket_group; /* "" or NULL: leave as is */
    const char *listen;       /* TCP host:port; "" or NULL: none */
    size_t max_line;          /* 0: API_MAX_LINE */
    /* Requests handed to handlers and not answered yet, over all
     * connections and per connection; one more gets `error 429
     * TooManyRequests`. 0: the defaults above. A connection is also
     * paused at API_MAX_PIPELINE requests in progress, so a per-client
     * limit above that is never reached. */
    unsigned max_inflight;
    unsigned max_client_inflight;
    /* A TCP peer not authenticated this long after connecting is
     * disconnected. 0: the default. */
    unsigned auth_timeout_ms;
};

/* Open the listeners and serve on loop. A group that does not exist is a
 * warning, not an error. Fails when a socket cannot be bound. */
int api_server_start(struct sk_loop *loop, const struct api_server_config *cfg,
                     struct api_server **out, struct sk_err *err);

/* Close listeners and connections, remove the socket file, free. Requests
 * still owned by handlers stay valid until answered (answers go nowhere). */
void api_server_stop(struct api_server *srv);

/* The TCP port bound (useful with port 0), or -1 without TCP. */
int api_server_tcp_port(const struct api_server *srv);

/* Register a verb. allow_unauthenticated: TCP peers may use it before
 * `auth` (only ping and auth should). Re-registering replaces. */
void api_server_handle(struct api_server *srv, const char *verb, api_handler_fn fn, void *arg,
                       bool allow_unauthenticated);

void api_server_set_auth(struct api_server *srv, api_auth_fn fn, void *arg);
/* Applies to connections accepted from now on. */
void api_server_set_local_auth(struct api_server *srv, api_local_auth_fn fn, void *arg);

/* Requests of one connection take effect in the order they were sent.
 * By default a request is dispatched only once every earlier request of
 * its connection has been answered. A verb may declare some requests
 * "pipelinable" (writes that the store applies in submission order):
 * those are dispatched while earlier pipelinable requests are still in
 * flight, so one connection's pipelined writes share a group commit. A
 * non-pipelinable request (a read) still waits for everything before it,
 * and everything after it waits for it. args is the text after the verb
 * (not yet split). */
typedef bool (*api_pipelinable_fn)(const char *args);
void api_server_set_pipelinable(struct api_server *srv, const char *verb, api_pipelinable_fn fn);

/* The peer of a request (valid until the request is answered). */
const struct api_peer *api_req_peer(const struct api_req *req);

/* True when group is one of peer->groups. */
bool api_peer_in_group(const struct api_peer *peer, const char *group);

/* Answer with complete response text (status line and body lines, each
 * ending in "\n"). Ends the request. */
void api_req_reply(struct api_req *req, const char *text, size_t len);

/* Answer "ok <nlines> <status words>" followed by nlines body lines taken
 * from body (already "\n"-terminated; may be NULL when nlines is 0). */
void api_req_ok(struct api_req *req, size_t nlines, const char *body, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Answer "error <code> <reason> <message>"; the message is cut at the
 * first newline so a response never breaks framing. */
void api_req_error(struct api_req *req, int code, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- streaming responses (`kv watch`) ----
 *
 * A handler may turn its request into a stream instead of answering:
 * the status line goes out in request order like any answer, then
 * api_req_stream_write() adds lines for as long as the connection lives.
 * A streaming connection serves nothing else: later request lines are
 * ignored. on_close runs once when the connection goes away (the peer
 * closed it, or an error); req is invalid after it returns. */
typedef void (*api_stream_close_fn)(struct api_req *req, void *arg);

/* Start the stream with text (the status line, "\n"-terminated). When
 * the peer is already gone, on_close runs from inside this call. */
void api_req_stream_begin(struct api_req *req, const char *text, size_t len,
                          api_stream_close_fn on_close, void *arg);
/* Add text (complete lines) to the stream. */
void api_req_stream_write(struct api_req *req, const char *text, size_t len);
/* Bytes of the stream not yet taken by the peer's socket. */
size_t api_req_stream_pending(const struct api_req *req);
/* End the stream from the server side: flush what is queued, close the
 * connection, free req; on_close is not called. */
void api_req_stream_end(struct api_req *req);
/* A stream that takes input (`exec -i`): the connection's later lines
 * go to on_input (arg as given to api_req_stream_begin) instead of
 * being ignored. Call right after api_req_stream_begin. */
typedef void (*api_stream_input_fn)(struct api_req *req, char *line, size_t len, void *arg);
void api_req_stream_input(struct api_req *req, api_stream_input_fn on_input);
/* Stop (pause true) or restart reading the peer's lines, for a stream
 * whose input cannot be passed on as fast as it comes. */
void api_req_stream_pause(struct api_req *req, bool pause);
/* The stream has said its last line but is not ended yet (it lets the
 * peer close first): from now on the peer's EOF closes the connection
 * and on_close runs, as for a request that was answered. */
void api_req_stream_unhold(struct api_req *req);

/* Split args in place on runs of spaces into at most max words,
 * percent-decoding each ("app%3Dweb" -> "app=web"). Returns the number of
 * words, or -1 when there are more than max or an escape is malformed. */
int api_args_split(char *args, char **argv, int max);

#endif
