/* One connection of the event-loop client: a non-blocking connect (UNIX
 * or TCP, every address of the host in turn, bounded by the connect
 * timeout), `auth TOKEN` when the client has a token, then lines up and
 * bytes down through struct sk_conn. See aclient_int.h for the states.
 *
 * Nothing is reported from inside a link_* call: a connect that fails at
 * once still reaches ops->down from the loop (a timer), so callers never
 * see their own callbacks re-entered. */
#include "api/aclient_int.h"
#include "lib/alloc.h"
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void link_on_line(struct sk_conn *conn, char *line, size_t len, void *arg);
static void link_on_close(struct sk_conn *conn, const struct sk_err *why, void *arg);

static const struct sk_conn_ops link_conn_ops = {
    .on_line = link_on_line,
    .on_close = link_on_close,
};

void
api_link_init(struct api_link *l, struct api_aclient *c, const struct api_link_ops *ops, void *arg)
{
    memset(l, 0, sizeof(*l));
    l->client = c;
    l->ops = ops;
    l->arg = arg;
    l->fd = -1;
}

static void
link_cancel_timer(struct api_link *l)
{
    if (l->timer)
        sk_loop_timer_cancel(l->client->loop, l->timer);
    l->timer = 0;
}

static void
link_close_fd(struct api_link *l)
{
    if (l->fd < 0)
        return;
    sk_loop_fd_del(l->client->loop, l->fd);
    close(l->fd);
    l->fd = -1;
}

static void
link_free_addrs(struct api_link *l)
{
    if (l->ai_list)
        freeaddrinfo(l->ai_list);
    l->ai_list = l->ai_next = NULL;
}

void
api_link_stop(struct api_link *l)
{
    link_cancel_timer(l);
    link_close_fd(l);
    link_free_addrs(l);
    if (l->conn) {
        /* on_close comes later from the loop: it must not find us. */
        sk_conn_set_arg(l->conn, NULL);
        sk_conn_abort(l->conn, NULL);
        l->conn = NULL;
    }
    l->state = API_LINK_IDLE;
}

static void
link_report_down(struct api_link *l, bool was_up, const struct sk_err *why)
{
    struct sk_err copy;

    sk_err_copy(&copy, why);
    api_link_stop(l);
    l->ops->down(l, was_up, &copy, l->arg);
}

static void
link_fail_timer(struct sk_loop *loop, void *arg)
{
    struct api_link *l = arg;

    l->timer = 0;
    link_report_down(l, false, &l->last_err);
}

/* The attempt failed: tell the owner from a timer. */
static void
link_fail_later(struct api_link *l)
{
    link_cancel_timer(l);
    link_close_fd(l);
    link_free_addrs(l);
    l->client->stats.connect_failures++;
    l->state = API_LINK_CONNECTING;
    l->timer = sk_loop_timer_add(l->client->loop, 0, link_fail_timer, l);
}

static void
link_established(struct api_link *l, int fd)
{
    struct sk_buf line = SK_BUF_INIT;
    struct api_aclient *c = l->client;

    link_cancel_timer(l);
    link_free_addrs(l);
    l->conn = sk_conn_new(c->loop, fd, API_ACLIENT_MAX_LINE, &link_conn_ops, l);
    if (!c->token) {
        l->state = API_LINK_UP;
        l->ops->up(l, l->arg);
        return;
    }
    l->state = API_LINK_AUTH;
    /* The server takes the token raw (base64 '=' included). */
    sk_buf_printf(&line, "auth %s\n", c->token);
    sk_conn_write(l->conn, line.data, line.len);
    sk_buf_release(&line);
}

static int
link_connect_unix(struct api_link *l, struct sk_err *err)
{
    struct sockaddr_un sa;
    int fd;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (sk_strlcpy(sa.sun_path, l->client->server, sizeof(sa.sun_path)) < 0)
        return sk_err_set(err, ENAMETOOLONG, "socket path '%s' too long", l->client->server);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return sk_err_sys(err, errno, "socket");
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        /* A full backlog gives EAGAIN on a non-blocking UNIX connect:
         * the back-off retries it. */
        int e = errno;

        close(fd);
        return sk_err_sys(err, e, "connect to '%s'", l->client->server);
    }
    return fd;
}

static void link_try_next(struct api_link *l);

static void
link_connect_timeout(struct sk_loop *loop, void *arg)
{
    struct api_link *l = arg;

    l->timer = 0;
    sk_err_set(&l->last_err, ETIMEDOUT, "connect to '%s': timed out after %u ms", l->client->server,
               (unsigned)l->client->connect_timeout_ms);
    link_fail_later(l);
}

static void
link_on_writable(struct sk_loop *loop, int fd, unsigned events, void *arg)
{
    struct api_link *l = arg;
    socklen_t sl = sizeof(int);
    int soerr = 0;

    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
        soerr = errno;
    if (soerr) {
        sk_err_sys(&l->last_err, soerr, "connect to '%s'", l->client->server);
        link_close_fd(l);
        link_try_next(l);
        return;
    }
    sk_loop_fd_del(loop, fd);
    l->fd = -1;
    link_established(l, fd);
}

/* Start connecting to the next address of the host; on an immediate
 * failure go on with the one after. */
static void
link_try_next(struct api_link *l)
{
    struct sk_err err;
    struct addrinfo *ai;
    int fd;

    while ((ai = l->ai_next)) {
        l->ai_next = ai->ai_next;
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
            sk_err_sys(&l->last_err, errno, "socket");
            continue;
        }
        /* A peer host that dies sends no FIN: keep-alive notices. */
        (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &(int){1}, sizeof(int));
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            link_established(l, fd);
            return;
        }
        if (errno != EINPROGRESS) {
            sk_err_sys(&l->last_err, errno, "connect to '%s'", l->client->server);
            close(fd);
            continue;
        }
        if (sk_loop_fd_add(l->client->loop, fd, SK_EV_WRITE, link_on_writable, l, &err) < 0) {
            sk_err_copy(&l->last_err, &err);
            close(fd);
            continue;
        }
        l->fd = fd;
        return;
    }
    link_fail_later(l);
}

static int
link_resolve(struct api_link *l, struct sk_err *err)
{
    struct addrinfo hints;
    char port[16];
    int rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    snprintf(port, sizeof(port), "%d", l->client->port);
    rc = getaddrinfo(l->client->host, port, &hints, &l->ai_list);
    if (rc != 0)
        return sk_err_set(err, rc == EAI_SYSTEM ? errno : EHOSTUNREACH, "resolve '%s': %s",
                          l->client->host, gai_strerror(rc));
    l->ai_next = l->ai_list;
    return 0;
}

static void
link_attempt(struct sk_loop *loop, void *arg)
{
    struct api_link *l = arg;
    struct api_aclient *c = l->client;
    int fd;

    l->timer = 0;
    l->state = API_LINK_CONNECTING;
    l->server_idx = c->cur_server;
    c->stats.connects++;
    sk_err_init(&l->last_err);
    if (c->is_unix) {
        fd = link_connect_unix(l, &l->last_err);
        if (fd < 0)
            link_fail_later(l);
        else
            link_established(l, fd);
        return;
    }
    if (link_resolve(l, &l->last_err) < 0) {
        link_fail_later(l);
        return;
    }
    sk_err_set(&l->last_err, EHOSTUNREACH, "no address for '%s'", c->host);
    l->timer = sk_loop_timer_add(loop, c->connect_timeout_ms, link_connect_timeout, l);
    link_try_next(l);
}

void
api_link_start(struct api_link *l, uint64_t delay_ms)
{
    if (l->state != API_LINK_IDLE)
        return;
    l->state = API_LINK_WAIT;
    l->timer = sk_loop_timer_add(l->client->loop, delay_ms, link_attempt, l);
}

void
api_link_send(struct api_link *l, const char *data, size_t len)
{
    if (l->conn && (l->state == API_LINK_UP || l->state == API_LINK_AUTH))
        sk_conn_write(l->conn, data, len);
}

void
api_link_fail(struct api_link *l, const struct sk_err *why)
{
    if (!l->conn) {
        sk_err_copy(&l->last_err, why);
        link_fail_later(l);
        return;
    }
    /* Keep the reason; the conn's on_close reports it. */
    sk_err_copy(&l->last_err, why);
    sk_conn_abort(l->conn, why);
}

static void
link_auth_answer(struct api_link *l, const char *line)
{
    struct sk_err err;

    if (strncmp(line, "ok ", 3) == 0 || strcmp(line, "ok") == 0) {
        l->state = API_LINK_UP;
        l->ops->up(l, l->arg);
        return;
    }
    sk_err_set(&err, EACCES, "server '%s' refused the token: %.200s", l->client->server, line);
    api_link_fail(l, &err);
}

static void
link_on_line(struct sk_conn *conn, char *line, size_t len, void *arg)
{
    struct api_link *l = arg;

    if (!l)
        return;
    if (l->state == API_LINK_AUTH) {
        link_auth_answer(l, line);
        return;
    }
    if (l->state == API_LINK_UP)
        l->ops->line(l, line, len, l->arg);
}

static void
link_on_close(struct sk_conn *conn, const struct sk_err *why, void *arg)
{
    struct api_link *l = arg;
    struct sk_err err;
    bool was_up;

    if (!l)
        return;
    was_up = l->state == API_LINK_UP;
    l->conn = NULL;
    if (why)
        sk_err_copy(&err, why);
    else
        sk_err_set(&err, ECONNRESET, "connection to '%s' closed by the server", l->client->server);
    if (!was_up)
        l->client->stats.connect_failures++;
    link_report_down(l, was_up, &err);
}
