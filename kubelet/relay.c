/* kubelet/relay.c: the API server's `logs` and `exec` verbs, relayed to
 * the agent of the pod's node.
 *
 * For each request: parse it (endpoint_proto.c), authorize the caller
 * (`get` on pods/log, `create` on pods/exec, in the pod's namespace and
 * for its name, as Kubernetes's RBAC sees these subresources), get the
 * pod and its node through the server's own socket, connect to the
 * node's InternalIP at status.daemonEndpoints.kubeletEndpoint.Port,
 * prove the server's identity with the node's key and pass the agent's
 * answer on (endpoint.c describes the wire format):
 *
 *     error CODE Reason message          as the agent or the relay says
 *     ok N container=C + N lines         logs
 *     ok stream container=C              logs follow and exec: then the
 *                                        agent's "1 TEXT", "2 TEXT",
 *                                        "end" and "exit N" lines, until
 *                                        the last one or the client goes
 *
 * `stats NODE` goes to that node's agent directly (no pod lookup) and
 * passes its `ok 1 stats` answer on.
 *
 * An exec with `stdin` or `tty` is interactive (exec_frame.c): the
 * agent sends "stdout B64" / "stderr B64" frames instead of text lines,
 * and the client's lines after "ok stream" ("stdin B64", "stdin-eof",
 * "resize ROWS COLS") are passed on to the agent. Neither side buffers
 * without bound: over RELAY_HIGH_WATER queued for the client the
 * agent's connection is paused, over RELAY_INPUT_HIGH queued for the
 * agent the client's.
 *
 * A relay failure is one `error` line: 503 when the relay is off (no
 * agent key) or the agent cannot be reached, 502 when it answers
 * nonsense or goes away, 504 when it does not answer in time. A stream
 * that the agent breaks ends with `error 502 ...` so the client never
 * takes a cut stream for a complete one. */
#include "kubelet/kl_int.h"

#include "api/aclient.h"
#include "lib/alloc.h"
#include "lib/line.h"
#include "lib/log.h"

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RELAY_ANSWER_MS  10000 /* from the request to the agent's status line */
#define RELAY_HIGH_WATER (4u << 20)
#define RELAY_RESUME_MS  50
/* exec input queued for the agent above this: stop reading the client.
 * Well under the line layer's 4 MiB, past which the agent's own lines
 * (the output that lets the process go on) would no longer be read. */
#define RELAY_INPUT_HIGH (1u << 20)
#define RELAY_INPUT_MAX  (64u << 10) /* the agent's line limit */
#define RELAY_LINGER_MS  5000

struct relay_op;

struct kl_relay {
    struct sk_loop *loop;
    struct api_aclient *client;
    unsigned char *key;
    size_t keylen;
    api_authorize_fn authorize;
    void *authorize_arg;
    uint32_t connect_timeout_ms;
    struct relay_op *ops;
};

enum op_state { OP_LOOKUP, OP_CONNECT, OP_HELLO, OP_STATUS, OP_BODY, OP_STREAM };

struct relay_op {
    struct kl_relay *r;
    struct relay_op *next, *prev;
    struct api_req *req; /* NULL once answered, or the client went away */
    enum op_state state;
    char *line; /* the request, sent on to the agent as it came */
    char ns[256], pod[256], node[256], where[320];
    struct api_acall *call;
    int fd; /* while connecting */
    uint64_t timer;
    uint64_t in_timer; /* input paused: when to look again */
    bool interactive;  /* exec with stdin or tty: the client's frames go on */
    bool finished;     /* the stream's last line is out: only the client's close to come */
    struct sk_conn *conn;
    size_t body_left;
    struct sk_buf body;
};

static void
op_cancel_timer(struct relay_op *op)
{
    if (op->timer)
        sk_loop_timer_cancel(op->r->loop, op->timer);
    if (op->in_timer)
        sk_loop_timer_cancel(op->r->loop, op->in_timer);
    op->timer = op->in_timer = 0;
}

static void
op_maybe_free(struct relay_op *op)
{
    if (op->req || op->conn || op->fd >= 0 || op->call)
        return;
    op_cancel_timer(op);
    if (op->prev)
        op->prev->next = op->next;
    else
        op->r->ops = op->next;
    if (op->next)
        op->next->prev = op->prev;
    sk_buf_release(&op->body);
    free(op->line);
    free(op);
}

/* Answer with an error (before the stream began) and let go. */
static void op_fail(struct relay_op *op, int code, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void
op_fail(struct relay_op *op, int code, const char *reason, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (op->req) {
        if (op->state == OP_STREAM) {
            char *line = sk_asprintf("error %d %s %s\n", code, reason, msg);
            api_req_stream_write(op->req, line, strlen(line));
            free(line);
            api_req_stream_end(op->req);
        } else {
            api_req_error(op->req, code, reason, "%s", msg);
        }
        op->req = NULL;
    }
    op_cancel_timer(op);
    if (op->fd >= 0) {
        sk_loop_fd_del(op->r->loop, op->fd);
        close(op->fd);
        op->fd = -1;
    }
    if (op->conn)
        sk_conn_close(op->conn); /* its on_close frees op */
    op_maybe_free(op);
}

/* ---- the agent's connection ---- */

static void
on_stream_gone(struct api_req *req, void *arg)
{
    struct relay_op *op = arg;

    op->req = NULL;
    if (op->conn)
        sk_conn_abort(op->conn, NULL);
    op_maybe_free(op);
}

static void
resume_check(struct sk_loop *loop, void *arg)
{
    struct relay_op *op = arg;

    op->timer = 0;
    if (!op->req || !op->conn)
        return;
    if (api_req_stream_pending(op->req) >= RELAY_HIGH_WATER / 4) {
        op->timer = sk_loop_timer_add(loop, RELAY_RESUME_MS, resume_check, op);
        return;
    }
    sk_conn_resume(op->conn);
}

static void
input_resume_check(struct sk_loop *loop, void *arg)
{
    struct relay_op *op = arg;

    op->in_timer = 0;
    if (!op->req || !op->conn)
        return;
    if (sk_conn_pending(op->conn) >= RELAY_INPUT_HIGH / 4) {
        op->in_timer = sk_loop_timer_add(loop, RELAY_RESUME_MS, input_resume_check, op);
        return;
    }
    api_req_stream_pause(op->req, false);
}

/* A line of the client's during an interactive exec: a frame for the
 * agent (exec_frame.c), passed on as it came; the agent checks it. */
static void
relay_input(struct api_req *req, char *line, size_t len, void *arg)
{
    struct relay_op *op = arg;

    if (!op->conn || op->finished)
        return;
    if (len >= RELAY_INPUT_MAX ||
        (strncmp(line, "stdin ", 6) != 0 && strcmp(line, "stdin-eof") != 0 &&
         strncmp(line, "resize ", 7) != 0)) {
        sk_debug("kubelet", "exec relay: dropped a line that is no input frame: '%.40s'", line);
        return;
    }
    sk_conn_write(op->conn, line, len);
    sk_conn_write(op->conn, "\n", 1);
    if (sk_conn_pending(op->conn) >= RELAY_INPUT_HIGH && !op->in_timer) {
        api_req_stream_pause(req, true);
        op->in_timer = sk_loop_timer_add(op->r->loop, RELAY_RESUME_MS, input_resume_check, op);
    }
}

static void
line_status(struct relay_op *op, const char *line)
{
    char *end;
    unsigned long n;

    op_cancel_timer(op);
    if (strncmp(line, "error ", 6) == 0) {
        char *text = sk_asprintf("%s\n", line);
        api_req_reply(op->req, text, strlen(text));
        free(text);
        op->req = NULL;
        sk_conn_close(op->conn);
        return;
    }
    if (strncmp(line, "ok stream", 9) == 0 && (line[9] == ' ' || !line[9])) {
        char *text = sk_asprintf("%s\n", line);
        op->state = OP_STREAM;
        api_req_stream_begin(op->req, text, strlen(text), on_stream_gone, op);
        if (op->req && op->interactive)
            api_req_stream_input(op->req, relay_input);
        free(text);
        return;
    }
    n = strncmp(line, "ok ", 3) == 0 ? strtoul(line + 3, &end, 10) : 0;
    if (strncmp(line, "ok ", 3) != 0 || end == line + 3 || (*end && *end != ' ') ||
        n > (1u << 24)) {
        op_fail(op, 502, "BadGateway", "%s: malformed answer '%.60s'", op->where, line);
        return;
    }
    sk_buf_printf(&op->body, "%s\n", line);
    op->body_left = n;
    op->state = OP_BODY;
    if (n == 0) {
        api_req_reply(op->req, op->body.data, op->body.len);
        op->req = NULL;
        sk_conn_close(op->conn);
    }
}

static void
linger_end(struct sk_loop *loop, void *arg)
{
    struct relay_op *op = arg;

    op->timer = 0;
    if (op->req)
        api_req_stream_end(op->req);
    op->req = NULL;
    op_maybe_free(op);
}

/* The last line of an interactive stream is out. The client may still
 * be sending (keys, stdin-eof): closing now, with its lines unread,
 * would make TCP reset the connection and could lose that last line
 * on the way. Its lines are dropped until it closes, for at most
 * RELAY_LINGER_MS. */
static void
relay_linger(struct relay_op *op)
{
    op->finished = true;
    op_cancel_timer(op);
    api_req_stream_pause(op->req, false);
    api_req_stream_unhold(op->req); /* its close ends the linger */
    op->timer = sk_loop_timer_add(op->r->loop, RELAY_LINGER_MS, linger_end, op);
}

static void
relay_on_line(struct sk_conn *conn, char *line, size_t len, void *arg)
{
    struct relay_op *op = arg;
    char mac[KL_EP_MAC_HEX], key[KL_EP_MAC_HEX];

    if (!op || !op->req)
        return;
    switch (op->state) {
    case OP_HELLO:
        if (strncmp(line, "skiff-agent 1 ", 14) != 0 || strlen(line + 14) != KL_EP_NONCE_HEX - 1) {
            op_fail(op, 502, "BadGateway", "%s: not a skiff agent endpoint", op->where);
            return;
        }
        kl_ep_key_derive(op->r->key, op->r->keylen, op->node, key);
        kl_ep_mac(key, line + 14, op->line, mac);
        sk_conn_printf(conn, "%s\nmac %s\n", op->line, mac);
        op->state = OP_STATUS;
        return;
    case OP_STATUS:
        line_status(op, line);
        return;
    case OP_BODY:
        sk_buf_printf(&op->body, "%s\n", line);
        if (--op->body_left == 0) {
            api_req_reply(op->req, op->body.data, op->body.len);
            op->req = NULL;
            sk_conn_close(conn);
        }
        return;
    case OP_STREAM:
        sk_buf_reset(&op->body);
        sk_buf_printf(&op->body, "%s\n", line);
        api_req_stream_write(op->req, op->body.data, op->body.len);
        if ((strcmp(line, "end") == 0 || strncmp(line, "exit ", 5) == 0) && op->interactive) {
            relay_linger(op);
            sk_conn_close(conn);
        } else if (strcmp(line, "end") == 0 || strncmp(line, "exit ", 5) == 0) {
            api_req_stream_end(op->req);
            op->req = NULL;
            sk_conn_close(conn);
        } else if (api_req_stream_pending(op->req) >= RELAY_HIGH_WATER && !op->timer) {
            sk_conn_pause(conn);
            op->timer = sk_loop_timer_add(op->r->loop, RELAY_RESUME_MS, resume_check, op);
        }
        return;
    default:
        return;
    }
}

static void
relay_on_close(struct sk_conn *conn, const struct sk_err *why, void *arg)
{
    struct relay_op *op = arg;

    if (!op)
        return;
    op->conn = NULL;
    if (op->req && !op->finished) {
        op_fail(op, 502, "BadGateway", "%s: %s", op->where,
                why && why->code ? why->msg : "the agent closed the connection");
        return; /* op_fail let go of op */
    }
    op_maybe_free(op);
}

static const struct sk_conn_ops relay_conn_ops = {.on_line = relay_on_line,
                                                  .on_close = relay_on_close};

/* ---- connecting ---- */

static void
answer_timeout(struct sk_loop *loop, void *arg)
{
    struct relay_op *op = arg;

    op->timer = 0;
    op_fail(op, op->state == OP_CONNECT ? 503 : 504,
            op->state == OP_CONNECT ? "Unavailable" : "Timeout", "%s: no answer", op->where);
}

static void
on_connected(struct sk_loop *loop, int fd, unsigned events, void *arg)
{
    struct relay_op *op = arg;
    int soerr = 0;
    socklen_t sl = sizeof(soerr);

    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
        soerr = errno;
    if (soerr) {
        op_fail(op, 503, "Unavailable", "%s: connect: %s", op->where, strerror(soerr));
        return;
    }
    sk_loop_fd_del(loop, fd);
    op->fd = -1;
    op->state = OP_HELLO;
    op_cancel_timer(op); /* from now on: the time the agent has to answer */
    op->timer = sk_loop_timer_add(loop, RELAY_ANSWER_MS, answer_timeout, op);
    op->conn = sk_conn_new(loop, fd, API_MAX_LINE, &relay_conn_ops, op);
}

static void
relay_connect(struct relay_op *op, const char *addr, int port)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST}, *ai = NULL;
    char portstr[16];
    struct sk_err err;
    int fd;

    sk_snprintf(op->where, sizeof(op->where), "node agent '%s' at %s:%d", op->node, addr, port);
    sk_snprintf(portstr, sizeof(portstr), "%d", port);
    if (getaddrinfo(addr, portstr, &hints, &ai) != 0 || !ai) {
        op_fail(op, 503, "Unavailable", "%s: not an IP address", op->where);
        return;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS)) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        op_fail(op, 503, "Unavailable", "%s: connect: %s", op->where, strerror(e));
        return;
    }
    freeaddrinfo(ai);
    sk_err_init(&err);
    if (sk_loop_fd_add(op->r->loop, fd, SK_EV_WRITE, on_connected, op, &err) < 0) {
        close(fd);
        op_fail(op, 503, "Unavailable", "%s: %s", op->where, err.msg);
        return;
    }
    op->fd = fd;
    op->state = OP_CONNECT;
    op->timer = sk_loop_timer_add(op->r->loop, op->r->connect_timeout_ms, answer_timeout, op);
}

/* ---- lookups ---- */

static void
lookup_failed(struct relay_op *op, int rc, const struct api_resp *resp, const struct sk_err *err)
{
    if (resp && resp->code)
        op_fail(op, resp->code, resp->reason, "%s", err->msg);
    else
        op_fail(op, 503, "Unavailable", "looking up pod \"%s\": %s", op->pod, err->msg);
}

static void
on_node(struct api_aclient *c, int rc, const struct api_resp *resp, const struct sk_err *err,
        void *arg)
{
    struct relay_op *op = arg;
    const json_t *status, *a;
    const char *addr = NULL;
    struct sk_err perr;
    json_t *node;
    size_t i;
    int port;

    op->call = NULL;
    if (!op->req) {
        op_maybe_free(op);
        return;
    }
    if (rc < 0) {
        lookup_failed(op, rc, resp, err);
        return;
    }
    sk_err_init(&perr);
    if (!(node = api_resp_object(resp, 0, &perr))) {
        op_fail(op, 500, "InternalError", "node \"%s\": %s", op->node, perr.msg);
        return;
    }
    status = json_object_get(node, "status");
    json_array_foreach (json_object_get(status, "addresses"), i, a)
        if (!addr && json_is_string(json_object_get(a, "type")) &&
            strcmp(json_string_value(json_object_get(a, "type")), "InternalIP") == 0)
            addr = json_string_value(json_object_get(a, "address"));
    port = (int)json_integer_value(json_object_get(
        json_object_get(json_object_get(status, "daemonEndpoints"), "kubeletEndpoint"), "Port"));
    if (!addr || port <= 0 || port > 65535)
        op_fail(op, 503, "Unavailable",
                "node \"%s\" has no agent endpoint (status.addresses InternalIP and "
                "status.daemonEndpoints.kubeletEndpoint.Port)",
                op->node);
    else
        relay_connect(op, addr, port);
    json_decref(node);
}

static void
on_pod(struct api_aclient *c, int rc, const struct api_resp *resp, const struct sk_err *err,
       void *arg)
{
    struct relay_op *op = arg;
    struct sk_err perr;
    const char *node;
    json_t *pod;

    op->call = NULL;
    if (!op->req) {
        op_maybe_free(op);
        return;
    }
    if (rc < 0) {
        lookup_failed(op, rc, resp, err);
        return;
    }
    sk_err_init(&perr);
    if (!(pod = api_resp_object(resp, 0, &perr))) {
        op_fail(op, 500, "InternalError", "pod \"%s\": %s", op->pod, perr.msg);
        return;
    }
    node = json_string_value(json_object_get(json_object_get(pod, "spec"), "nodeName"));
    if (!node || !*node) {
        op_fail(op, 400, "BadRequest", "pod %s does not have a host assigned", op->pod);
    } else {
        sk_strlcpy(op->node, node, sizeof(op->node));
        op->call = api_aclient_get(op->r->client, "nodes", NULL, op->node, on_node, op);
        if (!op->call)
            op_fail(op, 500, "InternalError", "node name \"%s\" cannot be asked for", op->node);
    }
    json_decref(pod);
}

/* ---- the verbs ---- */

static int
authorize(struct kl_relay *r, struct api_req *req, const struct kl_ep_req *q)
{
    struct sk_err err;
    const char *verb = q->verb == KL_EP_LOGS ? "get" : "create";
    const char *sub = q->verb == KL_EP_LOGS ? "log" : "exec";

    if (!r->authorize)
        return 0;
    sk_err_init(&err);
    if (r->authorize(r->authorize_arg, api_req_peer(req), verb, "pods", sub, q->ns, q->pod, &err) ==
        0)
        return 0;
    if (!*err.msg)
        sk_err_set(&err, EPERM,
                   "pods \"%s\" is forbidden: User \"%s\" cannot %s resource \"pods/%s\" in API "
                   "group \"\" in the namespace \"%s\"",
                   q->pod, api_req_peer(req)->user, verb, sub, q->ns);
    api_req_error(req, 403, "Forbidden", "%s", err.msg);
    return -1;
}

static void
relay_verb(struct api_req *req, char *args, void *arg, const char *verb)
{
    struct kl_relay *r = arg;
    char *line = sk_asprintf("%s %s", verb, args);
    struct relay_op *op;
    struct kl_ep_req q;
    struct sk_err err;

    sk_err_init(&err);
    if (kl_ep_req_parse(line, &q, &err) < 0) {
        api_req_error(req, 400, "BadRequest", "%s", err.msg);
        goto out_fail;
    }
    if (authorize(r, req, &q) < 0)
        goto out_fail;
    if (!r->key) {
        api_req_error(req, 503, "Unavailable",
                      "%s is not relayed: the server has no agent key (server.agent-key-file)",
                      verb);
        goto out_fail;
    }
    op = sk_calloc(1, sizeof(*op));
    op->r = r;
    op->req = req;
    op->fd = -1;
    op->line = line;
    sk_strlcpy(op->ns, q.ns, sizeof(op->ns));
    sk_strlcpy(op->pod, q.pod, sizeof(op->pod));
    op->interactive = q.stdin_open || q.tty;
    kl_ep_req_release(&q);
    op->next = r->ops;
    if (r->ops)
        r->ops->prev = op;
    r->ops = op;
    op->call = api_aclient_get(r->client, "pods", op->ns, op->pod, on_pod, op);
    if (!op->call)
        op_fail(op, 400, "BadRequest", "pod name \"%s\" cannot be asked for", op->pod);
    return;
out_fail:
    kl_ep_req_release(&q);
    free(line);
}

static void
verb_logs(struct api_req *req, char *args, void *arg)
{
    relay_verb(req, args, arg, "logs");
}

static void
verb_exec(struct api_req *req, char *args, void *arg)
{
    relay_verb(req, args, arg, "exec");
}

/* `stats NODE`: the node agent's `stats` answer (stats.c), for `skiff
 * top`; authorized as Kubernetes authorizes the kubelet's summary API,
 * `get` on nodes/stats. The op starts at the node lookup. */
static void
verb_stats(struct api_req *req, char *args, void *arg)
{
    struct kl_relay *r = arg;
    struct sk_err err;
    struct relay_op *op;
    char *words[2];
    int n = args ? api_args_split(args, words, 2) : 0;

    if (n != 1 || !*words[0]) {
        api_req_error(req, 400, "BadRequest", "usage: stats NODE");
        return;
    }
    sk_err_init(&err);
    if (r->authorize && r->authorize(r->authorize_arg, api_req_peer(req), "get", "nodes", "stats",
                                     NULL, words[0], &err) < 0) {
        api_req_error(req, 403, "Forbidden", "%s", *err.msg ? err.msg : "nodes/stats is forbidden");
        return;
    }
    if (!r->key) {
        api_req_error(req, 503, "Unavailable",
                      "stats is not relayed: the server has no agent key (server.agent-key-file)");
        return;
    }
    op = sk_calloc(1, sizeof(*op));
    op->r = r;
    op->req = req;
    op->fd = -1;
    op->line = sk_strdup("stats");
    sk_strlcpy(op->node, words[0], sizeof(op->node));
    op->next = r->ops;
    if (r->ops)
        r->ops->prev = op;
    r->ops = op;
    op->call = api_aclient_get(r->client, "nodes", NULL, op->node, on_node, op);
    if (!op->call)
        op_fail(op, 400, "BadRequest", "node name \"%s\" cannot be asked for", op->node);
}

int
kl_relay_start(struct sk_loop *loop, struct api_server *srv, const struct kl_relay_config *cfg,
               struct kl_relay **out, struct sk_err *err)
{
    struct api_aclient_config ccfg = {.server = cfg->server, .call_timeout_ms = RELAY_ANSWER_MS};
    struct kl_relay *r = sk_calloc(1, sizeof(*r));

    r->loop = loop;
    r->authorize = cfg->authorize;
    r->authorize_arg = cfg->authorize_arg;
    r->connect_timeout_ms = cfg->connect_timeout_ms ? cfg->connect_timeout_ms : 5000;
    if (cfg->key && cfg->keylen) {
        r->key = sk_malloc(cfg->keylen);
        memcpy(r->key, cfg->key, cfg->keylen);
        r->keylen = cfg->keylen;
    }
    if (api_aclient_new(loop, &ccfg, &r->client, err) < 0) {
        free(r->key);
        free(r);
        return sk_err_wrap(err, "logs/exec relay");
    }
    api_server_handle(srv, "logs", verb_logs, r, false);
    api_server_handle(srv, "exec", verb_exec, r, false);
    api_server_handle(srv, "stats", verb_stats, r, false);
    *out = r;
    return 0;
}

void
kl_relay_free(struct kl_relay *r)
{
    if (!r)
        return;
    while (r->ops) {
        struct relay_op *op = r->ops;

        if (op->call)
            api_acall_cancel(op->call);
        op->call = NULL;
        if (op->conn) {
            sk_conn_set_arg(op->conn, NULL);
            sk_conn_abort(op->conn, NULL);
            op->conn = NULL;
        }
        if (op->req)
            op_fail(op, 503, "Unavailable", "the server is stopping");
        else
            op_fail(op, 0, "", "%s", ""); /* frees: nothing is left to answer */
    }
    api_aclient_free(r->client);
    if (r->key)
        explicit_bzero(r->key, r->keylen);
    free(r->key);
    free(r);
}
