/* The line-protocol server: listeners, connections, ordered responses.
 *
 * Each connection keeps its requests in a FIFO. A handler answers now or
 * later; an answer is written only once every earlier request of that
 * connection has been answered, so pipelined responses come in order. A
 * connection with API_MAX_PIPELINE requests in progress is paused (no
 * more lines read) until answers drain, so memory stays bounded whatever
 * a client sends; pipelined writes of one connection share the store's
 * group commit. Each unanswered request holds the connection
 * (sk_conn_hold), so a peer's EOF after its last request cannot close it
 * before the answers are out. A request can also become a stream (`kv
 * watch`), which then owns the connection.
 *
 * Protection: a request counts as in flight from when it is read until
 * it is answered (or its connection closes); past the global or
 * the per-connection limit a request is refused with 429 at once, as
 * kube-apiserver's --max-requests-inflight does, rather than queued
 * (watches do not count against the global limit). A
 * TCP peer that has not authenticated within auth_timeout_ms is
 * disconnected, so idle unauthenticated sockets cannot pile up. */
#include "api/server.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/line.h"
#include "lib/log.h"
#include "lib/sock.h"

#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define API_MAX_VERBS 64

struct api_verb {
    char name[32];
    api_handler_fn fn;
    void *arg;
    bool allow_unauthenticated;
    api_pipelinable_fn pipelinable;
};

struct api_conn;

struct api_req {
    struct api_conn *conn; /* NULL once the connection is gone */
    struct api_req *next;
    struct api_peer peer; /* copied so it outlives the connection */
    struct sk_buf out;
    bool done;
    bool held;                      /* holds the connection open until answered (sk_conn_hold) */
    bool pipelinable;               /* may run while earlier pipelinable ones do */
    bool serial;                    /* counted in the connection's serial tally */
    const struct api_verb *waiting; /* dispatch deferred: verb to run */
    char *waiting_args;             /* its arguments (owned) */
    bool counted;                   /* in the server's in-flight tally */
    bool stream; /* api_req_stream_begin: stays at the head, never freed by flush */
    api_stream_close_fn on_close;
    api_stream_input_fn on_input;
    void *close_arg;
};

struct api_conn {
    struct api_server *srv;
    struct sk_conn *conn;
    struct api_peer peer;
    struct api_req *head, *tail;
    unsigned inflight;       /* requests in the FIFO */
    unsigned unanswered;     /* of which not answered yet */
    unsigned serial;         /* of which unanswered and not pipelinable */
    struct api_req *waiting; /* the one request waiting to be dispatched */
    bool paused;
    bool streaming;    /* a request became a stream: ignore further lines */
    bool input_paused; /* api_req_stream_pause: the stream wants no input now */
    struct sk_loop *loop;
    uint64_t auth_timer; /* TCP peers until authenticated; 0: none */
    struct api_conn *prev, *next;
};

struct api_server {
    struct sk_loop *loop;
    struct sk_listener *unix_listener;
    struct sk_listener *tcp_listener;
    int tcp_port;
    char *socket_path;
    size_t max_line;
    struct api_verb verbs[API_MAX_VERBS];
    size_t nverbs;
    api_auth_fn auth_fn;
    void *auth_arg;
    api_local_auth_fn local_auth_fn;
    void *local_auth_arg;
    unsigned max_inflight, max_client_inflight, auth_timeout_ms;
    unsigned inflight; /* requests of every connection in handlers */
    struct api_conn *conns;
};

static void conn_on_line(struct sk_conn *c, char *line, size_t len, void *arg);
static void conn_on_close(struct sk_conn *c, const struct sk_err *why, void *arg);

static const struct sk_conn_ops conn_ops = {
    .on_line = conn_on_line,
    .on_close = conn_on_close,
};

/* --- responses --- */

static void
req_free(struct api_req *req)
{
    sk_buf_release(&req->out);
    free(req->waiting_args);
    free(req);
}

/* Write every answered request at the head of the FIFO, in order. */
static void
conn_flush(struct api_conn *ac)
{
    struct api_req *req;

    while ((req = ac->head) && req->done) {
        if (req->stream) {
            sk_conn_write(ac->conn, req->out.data, req->out.len);
            sk_buf_reset(&req->out);
            break;
        }
        ac->head = req->next;
        if (!ac->head)
            ac->tail = NULL;
        sk_conn_write(ac->conn, req->out.data, req->out.len);
        req_free(req);
        ac->inflight--;
    }
    if (ac->paused && !ac->waiting && !ac->input_paused &&
        (ac->inflight < API_MAX_PIPELINE / 2 || ac->streaming)) {
        ac->paused = false;
        sk_conn_resume(ac->conn);
    }
}

/* The request no longer needs the connection kept open past the peer's
 * EOF. */
static void
req_unhold(struct api_req *req)
{
    if (!req->held)
        return;
    req->held = false;
    if (req->conn)
        sk_conn_unhold(req->conn->conn);
}

static void conn_dispatch_waiting(struct api_conn *ac);

static void
req_finish(struct api_req *req)
{
    struct api_conn *ac = req->conn;

    req->done = true;
    if (!ac) {
        req_free(req);
        return;
    }
    ac->unanswered--;
    if (req->counted && ac->srv)
        ac->srv->inflight--;
    req->counted = false;
    if (req->serial)
        ac->serial--;
    /* A stream keeps its hold: a watcher that half-closed (nc -N) still
     * wants the events. */
    if (!req->stream)
        req_unhold(req);
    conn_flush(ac); /* may free req */
    conn_dispatch_waiting(ac);
}

void
api_req_reply(struct api_req *req, const char *text, size_t len)
{
    sk_buf_append(&req->out, text, len);
    req_finish(req);
}

void
api_req_ok(struct api_req *req, size_t nlines, const char *body, const char *fmt, ...)
{
    va_list ap;

    sk_buf_printf(&req->out, "ok %zu", nlines);
    if (fmt && *fmt) {
        sk_buf_putc(&req->out, ' ');
        va_start(ap, fmt);
        sk_buf_vprintf(&req->out, fmt, ap);
        va_end(ap);
    }
    sk_buf_putc(&req->out, '\n');
    if (body)
        sk_buf_puts(&req->out, body);
    req_finish(req);
}

void
api_req_error(struct api_req *req, int code, const char *reason, const char *fmt, ...)
{
    size_t start;
    va_list ap;

    sk_buf_printf(&req->out, "error %d %s ", code, reason);
    start = req->out.len;
    va_start(ap, fmt);
    sk_buf_vprintf(&req->out, fmt, ap);
    va_end(ap);
    sk_buf_truncate(&req->out, start + strcspn(req->out.data + start, "\r\n"));
    sk_buf_putc(&req->out, '\n');
    req_finish(req);
}

void
api_req_stream_begin(struct api_req *req, const char *text, size_t len,
                     api_stream_close_fn on_close, void *arg)
{
    if (!req->conn) { /* the peer is already gone */
        on_close(req, arg);
        req_free(req);
        return;
    }
    req->stream = true;
    req->on_close = on_close;
    req->close_arg = arg;
    req->conn->streaming = true;
    api_req_reply(req, text, len);
}

void
api_req_stream_write(struct api_req *req, const char *text, size_t len)
{
    sk_buf_append(&req->out, text, len);
    if (req->conn)
        conn_flush(req->conn);
}

size_t
api_req_stream_pending(const struct api_req *req)
{
    return req->out.len + (req->conn ? sk_conn_pending(req->conn->conn) : 0);
}

void
api_req_stream_end(struct api_req *req)
{
    req->on_close = NULL;
    if (!req->conn) {
        req_free(req);
        return;
    }
    req_unhold(req);
    sk_conn_close(req->conn->conn);
}

void
api_req_stream_input(struct api_req *req, api_stream_input_fn on_input)
{
    req->on_input = on_input;
}

void
api_req_stream_pause(struct api_req *req, bool pause)
{
    struct api_conn *ac = req->conn;

    if (!ac || ac->input_paused == pause)
        return;
    ac->input_paused = pause;
    if (pause)
        sk_conn_pause(ac->conn);
    else if (!ac->paused)
        sk_conn_resume(ac->conn);
}

void
api_req_stream_unhold(struct api_req *req)
{
    req_unhold(req);
}

const struct api_peer *
api_req_peer(const struct api_req *req)
{
    return &req->peer;
}

/* --- dispatch --- */

static const struct api_verb *
verb_find(const struct api_server *srv, const char *name)
{
    size_t i;

    for (i = 0; i < srv->nverbs; i++)
        if (strcmp(srv->verbs[i].name, name) == 0)
            return &srv->verbs[i];
    return NULL;
}

static struct api_req *
req_new(struct api_conn *ac)
{
    struct api_req *req = sk_calloc(1, sizeof(*req));

    req->conn = ac;
    req->peer = ac->peer;
    sk_buf_init(&req->out);
    if (ac->tail)
        ac->tail->next = req;
    else
        ac->head = req;
    ac->tail = req;
    ac->unanswered++;
    /* Until answered, the peer's EOF must not close the connection. */
    req->held = true;
    sk_conn_hold(ac->conn);
    if (++ac->inflight >= API_MAX_PIPELINE && !ac->paused) {
        ac->paused = true;
        sk_conn_pause(ac->conn);
    }
    return req;
}

/* Watches (`watch ...`, `kv watch ...`) hold their request for the life
 * of the connection. */
static bool
is_long_running(const char *verb, const char *args)
{
    return strcmp(verb, "watch") == 0 ||
           (strcmp(verb, "kv") == 0 && args && strncmp(args, "watch", 5) == 0 &&
            (args[5] == ' ' || args[5] == '\0'));
}

/* Refuse req with 429 when the connection or the server has too many
 * requests in flight; else count it. Watches are long-running: like
 * kube-apiserver, the global limit does not count them (a thousand
 * watchers connecting at once all wait for one read barrier), only the
 * per-connection one, and a stream owns its connection anyway. */
static bool
conn_over_limit(struct api_conn *ac, struct api_req *req, bool long_running)
{
    struct api_server *srv = ac->srv;

    if (!srv)
        return false;
    /* unanswered counts req itself */
    if (ac->unanswered > srv->max_client_inflight) {
        api_req_error(req, 429, "TooManyRequests",
                      "too many requests in flight on this connection (limit %u), "
                      "wait for answers first",
                      srv->max_client_inflight);
        return true;
    }
    if (long_running)
        return false;
    if (srv->inflight >= srv->max_inflight) {
        api_req_error(req, 429, "TooManyRequests",
                      "the server has too many requests in flight (limit %u), try again later",
                      srv->max_inflight);
        return true;
    }
    srv->inflight++;
    req->counted = true;
    return false;
}

/* Whether req (unanswered, counted in ac's tallies) must wait for earlier
 * requests: a pipelinable one for unanswered non-pipelinable ones, any
 * other for every earlier one. */
static bool
req_must_wait(const struct api_conn *ac, const struct api_req *req)
{
    return req->pipelinable ? ac->serial > 0 : ac->unanswered > 1;
}

static void
conn_on_line(struct sk_conn *c, char *line, size_t len, void *arg)
{
    struct api_conn *ac = arg;
    const struct api_verb *verb;
    struct api_req *req;
    char *args;

    if (ac->streaming) {
        req = ac->head; /* the stream, kept at the head */
        if (req && req->stream && req->on_input)
            req->on_input(req, line, len, req->close_arg);
        return;
    }
    if (len == 0)
        return; /* blank lines are ignored, as a courtesy to nc users */
    args = line + strcspn(line, " ");
    if (*args)
        *args++ = '\0';
    req = req_new(ac);
    verb = verb_find(ac->srv, line);
    /* Unauthenticated peers learn nothing, not even which verbs exist. */
    if (!ac->peer.authenticated && (!verb || !verb->allow_unauthenticated)) {
        api_req_error(req, 401, "Unauthorized", "authenticate with 'auth <token>' first");
        return;
    }
    if (!verb) {
        api_req_error(req, 400, "BadRequest", "unknown verb '%.64s'", line);
        return;
    }
    if (conn_over_limit(ac, req, is_long_running(line, args)))
        return;
    req->pipelinable = verb->pipelinable && verb->pipelinable(args);
    if (!req->pipelinable) {
        req->serial = true;
        ac->serial++;
    }
    if (req_must_wait(ac, req)) {
        /* Earlier requests must take effect first: park this one and
         * read nothing more until it is dispatched. */
        req->waiting = verb;
        req->waiting_args = sk_strdup(args);
        ac->waiting = req;
        if (!ac->paused) {
            ac->paused = true;
            sk_conn_pause(ac->conn);
        }
        return;
    }
    verb->fn(req, args, verb->arg);
}

/* Run the parked request once everything before it has been answered
 * (or, for a pipelinable one, everything non-pipelinable before it). */
static void
conn_dispatch_waiting(struct api_conn *ac)
{
    struct api_req *req = ac->waiting;
    const struct api_verb *verb;
    char *args;

    if (!req)
        return;
    if (req_must_wait(ac, req))
        return;
    ac->waiting = NULL;
    verb = req->waiting;
    args = req->waiting_args;
    req->waiting = NULL;
    req->waiting_args = NULL;
    if (ac->paused && ac->inflight < API_MAX_PIPELINE) {
        ac->paused = false;
        sk_conn_resume(ac->conn);
    }
    verb->fn(req, args, verb->arg);
    free(args);
}

static void
conn_on_close(struct sk_conn *c, const struct sk_err *why, void *arg)
{
    struct api_conn *ac = arg;
    struct api_req *req, *next;

    if (why)
        sk_debug("api", "connection of '%s' closed: %s", ac->peer.user, why->msg);
    if (ac->auth_timer)
        sk_loop_timer_cancel(ac->loop, ac->auth_timer);
    /* Requests still owned by handlers are freed when answered; they no
     * longer count as in flight (their answers go nowhere). */
    for (req = ac->head; req; req = next) {
        next = req->next;
        req->conn = NULL;
        if (req->counted && ac->srv)
            ac->srv->inflight--;
        req->counted = false;
        if (req->stream && req->on_close)
            req->on_close(req, req->close_arg);
        /* Parked requests were never handed to a handler. */
        if (req->done || req->waiting)
            req_free(req);
    }
    if (ac->prev)
        ac->prev->next = ac->next;
    else if (ac->srv)
        ac->srv->conns = ac->next;
    if (ac->next)
        ac->next->prev = ac->prev;
    free(ac);
}

/* --- built-in verbs --- */

static void
verb_auth(struct api_req *req, char *args, void *arg)
{
    struct api_server *srv = arg;
    struct api_conn *ac = req->conn;
    struct api_peer peer;
    char *token;

    if (!ac) {
        api_req_error(req, 500, "InternalError", "connection gone");
        return;
    }
    if (ac->peer.local) {
        api_req_ok(req, 0, NULL, "user=%s", ac->peer.user);
        return;
    }
    peer = ac->peer;
    peer.groups[0] = '\0';
    if (!srv->auth_fn || api_args_split(args, &token, 1) != 1 ||
        srv->auth_fn(token, &peer, srv->auth_arg) < 0) {
        api_req_error(req, 401, "Unauthorized", "invalid token");
        return;
    }
    peer.authenticated = true;
    ac->peer = peer;
    if (ac->auth_timer) {
        sk_loop_timer_cancel(ac->loop, ac->auth_timer);
        ac->auth_timer = 0;
    }
    sk_debug("api", "tcp peer authenticated as '%s'", peer.user);
    api_req_ok(req, 0, NULL, "user=%s", peer.user);
}

/* --- listeners --- */

/* An unauthenticated TCP peer's time is up. */
static void
on_auth_timeout(struct sk_loop *loop, void *arg)
{
    struct api_conn *ac = arg;

    ac->auth_timer = 0;
    sk_debug("api", "closing a tcp peer that did not authenticate in time");
    sk_conn_close(ac->conn);
}

static void
on_accept(struct sk_loop *loop, int fd, void *arg, bool local)
{
    struct api_server *srv = arg;
    struct api_conn *ac = sk_calloc(1, sizeof(*ac));
    struct sk_err err;

    ac->srv = srv;
    ac->loop = loop;
    ac->peer.local = local;
    if (local) {
        if (sk_sock_peercred(fd, &ac->peer.uid, &ac->peer.gid, &ac->peer.pid, &err) < 0) {
            sk_warn("api", "refusing local peer: %s", err.msg);
            close(fd);
            free(ac);
            return;
        }
        /* Local peers are always authenticated, if only as anonymous:
         * what they may do is the authorizer's business. */
        ac->peer.authenticated = true;
        snprintf(ac->peer.user, sizeof(ac->peer.user), "uid:%u", (unsigned)ac->peer.uid);
        if (srv->local_auth_fn)
            srv->local_auth_fn(&ac->peer, srv->local_auth_arg);
    } else {
        sk_strlcpy(ac->peer.user, "system:anonymous", sizeof(ac->peer.user));
        sk_strlcpy(ac->peer.groups, "system:unauthenticated", sizeof(ac->peer.groups));
    }
    ac->conn = sk_conn_new(loop, fd, srv->max_line, &conn_ops, ac);
    if (!ac->conn) {
        free(ac);
        return;
    }
    if (!local)
        ac->auth_timer = sk_loop_timer_add(loop, srv->auth_timeout_ms, on_auth_timeout, ac);
    ac->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = ac;
    srv->conns = ac;
}

static void
on_accept_unix(struct sk_loop *loop, int fd, void *arg)
{
    on_accept(loop, fd, arg, true);
}

static void
on_accept_tcp(struct sk_loop *loop, int fd, void *arg)
{
    on_accept(loop, fd, arg, false);
}

static void
socket_set_group(const char *path, const char *group)
{
    struct group *gr;

    if (!group || !*group)
        return;
    gr = getgrnam(group);
    if (!gr) {
        sk_warn("api", "socket '%s': group '%s' does not exist; keeping the daemon's group", path,
                group);
        return;
    }
    if (chown(path, (uid_t)-1, gr->gr_gid) < 0)
        sk_warn("api", "socket '%s': chown to group '%s': %s", path, group, strerror(errno));
}

static int
listen_tcp(struct api_server *srv, const char *listen, struct sk_err *err)
{
    char host[256];
    int port, fd;

    if (sk_sock_parse_hostport(listen, host, sizeof(host), &port, err) < 0)
        return sk_err_wrap(err, "listen address '%s'", listen);
    fd = sk_sock_listen_tcp(host[0] ? host : "*", port, err);
    if (fd < 0)
        return fd;
    srv->tcp_port = sk_sock_local_port(fd);
    srv->tcp_listener = sk_listener_new(srv->loop, fd, on_accept_tcp, srv);
    if (!srv->tcp_listener)
        return sk_err_sys(err, errno, "listen on '%s'", listen);
    sk_info("api", "listening on tcp %s (port %d)", listen, srv->tcp_port);
    return 0;
}

int
api_server_start(struct sk_loop *loop, const struct api_server_config *cfg, struct api_server **out,
                 struct sk_err *err)
{
    struct api_server *srv = sk_calloc(1, sizeof(*srv));
    int fd, rc;

    srv->loop = loop;
    srv->tcp_port = -1;
    srv->max_line = cfg->max_line ? cfg->max_line : API_MAX_LINE;
    srv->max_inflight = cfg->max_inflight ? cfg->max_inflight : API_DEFAULT_MAX_INFLIGHT;
    srv->max_client_inflight =
        cfg->max_client_inflight ? cfg->max_client_inflight : API_DEFAULT_MAX_CLIENT_INFLIGHT;
    srv->auth_timeout_ms =
        cfg->auth_timeout_ms ? cfg->auth_timeout_ms : API_DEFAULT_AUTH_TIMEOUT_MS;
    api_server_handle(srv, "auth", verb_auth, srv, true);
    fd = sk_sock_listen_unix(cfg->socket_path, cfg->socket_mode, err);
    if (fd < 0) {
        rc = fd;
        goto out_free;
    }
    srv->socket_path = sk_strdup(cfg->socket_path);
    socket_set_group(cfg->socket_path, cfg->socket_group);
    srv->unix_listener = sk_listener_new(loop, fd, on_accept_unix, srv);
    if (!srv->unix_listener) {
        rc = sk_err_sys(err, errno, "listen on '%s'", cfg->socket_path);
        goto out_stop;
    }
    sk_info("api", "listening on unix %s", cfg->socket_path);
    if (cfg->listen && *cfg->listen) {
        rc = listen_tcp(srv, cfg->listen, err);
        if (rc < 0)
            goto out_stop;
    }
    *out = srv;
    return 0;
out_stop:
    api_server_stop(srv);
    return rc;
out_free:
    free(srv);
    return rc;
}

void
api_server_stop(struct api_server *srv)
{
    struct api_conn *ac, *next;

    if (!srv)
        return;
    if (srv->unix_listener)
        sk_listener_free(srv->unix_listener);
    if (srv->tcp_listener)
        sk_listener_free(srv->tcp_listener);
    if (srv->socket_path) {
        unlink(srv->socket_path);
        free(srv->socket_path);
    }
    /* Connections finish closing later, from the loop: detach them from
     * the server and from each other first. */
    for (ac = srv->conns; ac; ac = next) {
        next = ac->next;
        ac->srv = NULL;
        if (ac->auth_timer) {
            sk_loop_timer_cancel(ac->loop, ac->auth_timer);
            ac->auth_timer = 0;
        }
        ac->prev = ac->next = NULL;
        sk_conn_close(ac->conn);
    }
    free(srv);
}

int
api_server_tcp_port(const struct api_server *srv)
{
    return srv->tcp_port;
}

void
api_server_handle(struct api_server *srv, const char *verb, api_handler_fn fn, void *arg,
                  bool allow_unauthenticated)
{
    struct api_verb *v = (struct api_verb *)verb_find(srv, verb);

    if (!v) {
        if (srv->nverbs == API_MAX_VERBS)
            SK_BUG("too many verbs registered");
        v = &srv->verbs[srv->nverbs++];
        if (sk_strlcpy(v->name, verb, sizeof(v->name)) < 0)
            SK_BUG("verb name '%s' too long", verb);
    }
    v->fn = fn;
    v->arg = arg;
    v->allow_unauthenticated = allow_unauthenticated;
}

void
api_server_set_pipelinable(struct api_server *srv, const char *verb, api_pipelinable_fn fn)
{
    struct api_verb *v = (struct api_verb *)verb_find(srv, verb);

    if (!v)
        SK_BUG("set_pipelinable for unknown verb '%s'", verb);
    v->pipelinable = fn;
}

void
api_server_set_auth(struct api_server *srv, api_auth_fn fn, void *arg)
{
    srv->auth_fn = fn;
    srv->auth_arg = arg;
}

void
api_server_set_local_auth(struct api_server *srv, api_local_auth_fn fn, void *arg)
{
    srv->local_auth_fn = fn;
    srv->local_auth_arg = arg;
}

bool
api_peer_in_group(const struct api_peer *peer, const char *group)
{
    size_t n = strlen(group);
    const char *p = peer->groups;

    if (!n)
        return false;
    for (;;) {
        if (strncmp(p, group, n) == 0 && (p[n] == ',' || p[n] == '\0'))
            return true;
        p = strchr(p, ',');
        if (!p)
            return false;
        p++;
    }
}
