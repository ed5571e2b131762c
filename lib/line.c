/* Line framing, connections on the loop and a blocking client: see
 * line.h.
 *
 * Wire format: bytes up to and including "\n" form a line; a "\r" right
 * before the "\n" is not part of it. A line is at most max_line bytes
 * (without "\r\n") and holds no NUL byte. At EOF a last line without "\n"
 * still counts. Nothing else is framed here: what a line means is the
 * protocol's business (api/).
 *
 * A connection's life: open -> (close) closing: no reading, output
 * flushing, at most SK_CONN_CLOSE_MS -> dead: fd closed, no more events;
 * on_close and free run from a deferred call, so a struct sk_conn stays
 * valid for the rest of the loop iteration in which it died, whatever the
 * callbacks on the stack above do with it. */
#include "line.h"
#include "alloc.h"
#include "clock.h"
#include "buf.h"
#include "sock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LINEBUF_KEEP     (64u << 10) /* larger buffers are freed once empty */
#define CONN_READ_CHUNK  (16u << 10)
#define CONN_READ_BUDGET (64u << 10) /* per wakeup, for fairness */

/* --- framing core --- */

void
sk_linebuf_init(struct sk_linebuf *lb, size_t max_line)
{
    memset(lb, 0, sizeof(*lb));
    lb->max_line = max_line;
}

void
sk_linebuf_release(struct sk_linebuf *lb)
{
    free(lb->data);
    sk_linebuf_init(lb, lb->max_line);
}

size_t
sk_linebuf_pending(const struct sk_linebuf *lb)
{
    return lb->len - lb->off;
}

/* Make room for n more bytes plus a NUL. Moving the live bytes to the
 * front without growing is only done when at least as many bytes were
 * consumed as are moved, and growing doubles: both keep feeding linear in
 * the input, however it is split. */
static void
linebuf_reserve(struct sk_linebuf *lb, size_t n)
{
    size_t live = lb->len - lb->off, cap;
    char *data;

    if (lb->len + n + 1 <= lb->cap)
        return;
    if (lb->off >= live && live + n + 1 <= lb->cap) {
        memmove(lb->data, lb->data + lb->off, live);
    } else {
        if (live + n + 1 < live)
            SK_BUG("line buffer size overflow");
        cap = lb->cap ? lb->cap : 256;
        while (cap < live + n + 1)
            cap *= 2;
        data = sk_malloc(cap);
        if (live)
            memcpy(data, lb->data + lb->off, live);
        free(lb->data);
        lb->data = data;
        lb->cap = cap;
    }
    lb->scan -= lb->off;
    lb->off = 0;
    lb->len = live;
}

void
sk_linebuf_feed(struct sk_linebuf *lb, const void *data, size_t len)
{
    if (lb->off == lb->len) {
        lb->off = lb->len = lb->scan = 0;
        if (lb->cap > LINEBUF_KEEP) {
            free(lb->data);
            lb->data = NULL;
            lb->cap = 0;
        }
    }
    if (len == 0)
        return;
    linebuf_reserve(lb, len);
    memcpy(lb->data + lb->len, data, len);
    lb->len += len;
}

void
sk_linebuf_finish(struct sk_linebuf *lb)
{
    lb->eof = true;
}

static int
linebuf_too_long(struct sk_linebuf *lb, struct sk_err *err)
{
    lb->too_long = true;
    return sk_err_set(err, EMSGSIZE, "line longer than %zu bytes", lb->max_line);
}

/* The partial line [off, len) can no longer become a valid line. One byte
 * over is still fine if it is the "\r" of a "\r\n" yet to come. */
static bool
linebuf_partial_too_long(const struct sk_linebuf *lb)
{
    size_t n = lb->len - lb->off;

    if (n <= lb->max_line)
        return false;
    return !(n == lb->max_line + 1 && lb->data[lb->len - 1] == '\r');
}

int
sk_linebuf_next(struct sk_linebuf *lb, char **line, size_t *len, struct sk_err *err)
{
    char *start, *nl = NULL;
    size_t n;

    if (lb->too_long)
        return linebuf_too_long(lb, err);
    if (lb->scan < lb->len)
        nl = memchr(lb->data + lb->scan, '\n', lb->len - lb->scan);
    if (!nl) {
        lb->scan = lb->len;
        if (linebuf_partial_too_long(lb))
            return linebuf_too_long(lb, err);
        if (!lb->eof || lb->off == lb->len)
            return 0;
        nl = lb->data + lb->len; /* last line without "\n"; cap > len */
    }
    start = lb->data + lb->off;
    n = (size_t)(nl - start);
    lb->off += n + (nl < lb->data + lb->len ? 1 : 0);
    lb->scan = lb->off;
    if (n > 0 && start[n - 1] == '\r')
        n--;
    start[n] = '\0';
    if (n > lb->max_line)
        return linebuf_too_long(lb, err);
    if (memchr(start, '\0', n))
        return sk_err_set(err, EINVAL, "line contains a NUL byte");
    *line = start;
    *len = n;
    return 1;
}

/* --- connection on the loop --- */

struct sk_conn {
    struct sk_loop *loop;
    int fd;
    bool is_sock;
    const struct sk_conn_ops *ops;
    void *arg;
    struct sk_linebuf in;
    struct sk_buf out; /* queued output is out.data[out_off .. out.len) */
    size_t out_off;
    size_t high, low;
    unsigned watched; /* events asked from the loop */
    bool paused;      /* sk_conn_pause() */
    bool throttled;   /* output went over the high watermark */
    bool eof;         /* the peer will send nothing more */
    bool closing;     /* flushing before close */
    unsigned holds;   /* sk_conn_hold(): answers still to come, EOF waits */
    bool linger;      /* after a framing error: discard input until EOF */
    bool draining_in; /* output done, write side shut, reading to EOF */
    bool dead;        /* fd closed; on_close and free are deferred */
    bool drain_queued;
    bool flush_queued; /* output waits for the end of the loop iteration */
    bool has_why;
    uint64_t close_timer;
    struct sk_err why;
};

static void conn_read(struct sk_conn *c);

size_t
sk_conn_pending(const struct sk_conn *c)
{
    return c->out.len - c->out_off;
}

static bool
conn_can_read(const struct sk_conn *c)
{
    return !c->dead && !c->closing && !c->paused && !c->throttled;
}

static void
conn_finalize(struct sk_loop *loop, void *arg)
{
    struct sk_conn *c = arg;

    c->ops->on_close(c, c->has_why ? &c->why : NULL, c->arg);
    sk_linebuf_release(&c->in);
    sk_buf_release(&c->out);
    free(c);
}

/* Close the fd now; on_close and free follow from the loop. */
static void
conn_kill(struct sk_conn *c, const struct sk_err *why)
{
    if (c->dead)
        return;
    if (why) {
        sk_err_copy(&c->why, why);
        c->has_why = true;
    }
    c->dead = true;
    if (c->close_timer)
        sk_loop_timer_cancel(c->loop, c->close_timer);
    sk_loop_fd_del(c->loop, c->fd);
    close(c->fd);
    c->fd = -1;
    sk_loop_defer(c->loop, conn_finalize, c);
}

/* Ask the loop for exactly the events the state calls for. Nothing at all
 * when neither reading nor writing, so a hang-up cannot spin the loop. */
static void
conn_update(struct sk_conn *c)
{
    unsigned want = 0;
    struct sk_err err;

    if (c->dead)
        return;
    if ((conn_can_read(c) || c->draining_in) && !c->eof)
        want |= SK_EV_READ;
    if (sk_conn_pending(c) && !c->flush_queued)
        want |= SK_EV_WRITE;
    if (want == c->watched)
        return;
    if (sk_loop_fd_mod(c->loop, c->fd, want, &err) < 0) {
        conn_kill(c, &err);
        return;
    }
    c->watched = want;
}

static void
conn_drain(struct sk_loop *loop, void *arg)
{
    struct sk_conn *c = arg;

    c->drain_queued = false;
    if (c->dead)
        return;
    conn_read(c);
    conn_update(c);
}

/* Deliver buffered lines later, from the loop: callers such as
 * sk_conn_resume() may be running inside this conn's on_line. */
static void
conn_schedule_drain(struct sk_conn *c)
{
    if (c->dead || c->drain_queued)
        return;
    c->drain_queued = true;
    sk_loop_defer(c->loop, conn_drain, c);
}

static void
conn_close_timeout(struct sk_loop *loop, void *arg)
{
    struct sk_conn *c = arg;
    struct sk_err err;

    c->close_timer = 0;
    sk_err_set(&err, ETIMEDOUT, "output not flushed within %d ms of closing", SK_CONN_CLOSE_MS);
    conn_kill(c, &err);
}

/* The output is flushed: close now, or, after a framing error on a
 * socket, shut the write side and read the peer's remaining input to EOF
 * first. Closing with unread input makes the kernel send a reset, which
 * can destroy the error response before the peer reads it. */
static void
conn_finish_close(struct sk_conn *c)
{
    if (!c->linger || !c->is_sock || c->eof) {
        conn_kill(c, NULL);
        return;
    }
    if (c->draining_in)
        return;
    c->draining_in = true;
    shutdown(c->fd, SHUT_WR);
    if (!c->close_timer)
        c->close_timer = sk_loop_timer_add(c->loop, SK_CONN_CLOSE_MS, conn_close_timeout, c);
}

/* Read and drop input until EOF (see conn_finish_close). */
static void
conn_discard_input(struct sk_conn *c)
{
    char buf[CONN_READ_CHUNK];
    size_t budget = CONN_READ_BUDGET;
    ssize_t n;

    while (budget) {
        n = read(c->fd, buf, sizeof(buf));
        if (n > 0) {
            budget -= (size_t)n < budget ? (size_t)n : budget;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        c->eof = true;
        conn_kill(c, NULL);
        return;
    }
}

static void
conn_close_with(struct sk_conn *c, const struct sk_err *why)
{
    if (c->dead || c->closing)
        return;
    c->closing = true;
    if (why) {
        sk_err_copy(&c->why, why);
        c->has_why = true;
    }
    c->close_timer = sk_loop_timer_add(c->loop, SK_CONN_CLOSE_MS, conn_close_timeout, c);
    if (sk_conn_pending(c) == 0) {
        conn_finish_close(c);
        if (c->dead)
            return;
    }
    conn_update(c);
}

/* Write what the kernel takes now: bytes written, or -1 with errno
 * (never EAGAIN or EINTR, which count as 0 written). */
static ssize_t
conn_syswrite(struct sk_conn *c, const void *data, size_t len)
{
    ssize_t n;

    do {
        /* MSG_NOSIGNAL: a vanished peer is EPIPE, not a SIGPIPE that
         * kills the daemon. send() works on sockets only. */
        if (c->is_sock)
            n = send(c->fd, data, len, MSG_NOSIGNAL);
        else
            n = write(c->fd, data, len);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return 0;
    return n;
}

static void
conn_write_failed(struct sk_conn *c, int e)
{
    struct sk_err err;

    sk_err_sys(&err, e, "write");
    conn_kill(c, &err);
}

/* Write queued output until the socket is full; then lift back-pressure
 * and finish a close if the queue allows. */
static void
conn_flush(struct sk_conn *c)
{
    ssize_t n;

    while (sk_conn_pending(c)) {
        n = conn_syswrite(c, c->out.data + c->out_off, sk_conn_pending(c));
        if (n < 0) {
            conn_write_failed(c, errno);
            return;
        }
        if (n == 0)
            break;
        c->out_off += (size_t)n;
    }
    if (sk_conn_pending(c) == 0) {
        c->out_off = 0;
        if (c->out.cap > LINEBUF_KEEP)
            sk_buf_release(&c->out);
        else
            sk_buf_reset(&c->out);
    }
    if (c->throttled && sk_conn_pending(c) <= c->low) {
        c->throttled = false;
        conn_schedule_drain(c);
    }
    if (c->closing && sk_conn_pending(c) == 0)
        conn_finish_close(c);
}

/* A framing error: tell the peer in the protocol's words, then close. */
static void
conn_reject(struct sk_conn *c, const struct sk_err *why)
{
    if (why->code == EMSGSIZE)
        sk_conn_printf(c, "error 413 RequestTooLarge %s\n", why->msg);
    else
        sk_conn_printf(c, "error 400 BadRequest %s\n", why->msg);
    c->linger = true;
    conn_close_with(c, why);
}

/* Hand buffered lines to on_line while the conn may take them. */
static void
conn_deliver(struct sk_conn *c)
{
    struct sk_err err;
    char *line;
    size_t len;
    int rc;

    while (conn_can_read(c)) {
        rc = sk_linebuf_next(&c->in, &line, &len, &err);
        if (rc == 0) {
            /* Every line the peer sent before EOF was handed over; close
             * once nobody holds the connection for a later answer. */
            if (c->eof && c->holds == 0)
                conn_close_with(c, NULL);
            return;
        }
        if (rc < 0) {
            conn_reject(c, &err);
            return;
        }
        c->ops->on_line(c, line, len, c->arg);
    }
}

static void
conn_read(struct sk_conn *c)
{
    char buf[CONN_READ_CHUNK];
    size_t budget = CONN_READ_BUDGET;
    struct sk_err err;
    ssize_t n;

    conn_deliver(c);
    while (budget && conn_can_read(c) && !c->eof) {
        n = read(c->fd, buf, budget < sizeof(buf) ? budget : sizeof(buf));
        if (n > 0) {
            sk_linebuf_feed(&c->in, buf, (size_t)n);
            budget -= (size_t)n;
        } else if (n == 0) {
            c->eof = true;
            sk_linebuf_finish(&c->in);
        } else if (errno == EINTR) {
            continue;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return;
        } else {
            sk_err_sys(&err, errno, "read");
            conn_kill(c, &err);
            return;
        }
        conn_deliver(c);
    }
}

static void
conn_on_event(struct sk_loop *loop, int fd, unsigned events, void *arg)
{
    struct sk_conn *c = arg;

    /* On SK_EV_ERROR, the write or read below fetches the actual error
     * (or the data and EOF still to be read before it). */
    if ((events & (SK_EV_WRITE | SK_EV_ERROR)) && sk_conn_pending(c))
        conn_flush(c);
    if ((events & (SK_EV_READ | SK_EV_ERROR)) && conn_can_read(c) && !c->eof)
        conn_read(c);
    else if ((events & (SK_EV_READ | SK_EV_ERROR)) && c->draining_in && !c->dead)
        conn_discard_input(c);
    conn_update(c);
}

struct sk_conn *
sk_conn_new(struct sk_loop *loop, int fd, size_t max_line, const struct sk_conn_ops *ops, void *arg)
{
    struct sk_conn *c = sk_calloc(1, sizeof(*c));
    struct sk_err err;
    struct stat st;

    c->loop = loop;
    c->fd = fd;
    c->ops = ops;
    c->arg = arg;
    c->high = SK_CONN_HIGH_WATER;
    c->low = SK_CONN_LOW_WATER;
    c->is_sock = fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
    sk_linebuf_init(&c->in, max_line);
    sk_buf_init(&c->out);
    if (sk_sock_set_nonblock(fd, &err) < 0 ||
        sk_loop_fd_add(loop, fd, SK_EV_READ, conn_on_event, c, &err) < 0) {
        conn_kill(c, &err);
        return c;
    }
    c->watched = SK_EV_READ;
    return c;
}

/* The end of the iteration in which output was queued (sk_conn_write). */
static void
conn_flush_at_end(struct sk_loop *loop, void *arg)
{
    struct sk_conn *c = arg;

    c->flush_queued = false;
    if (c->dead)
        return; /* freed by a deferred call of a later iteration */
    conn_flush(c);
    conn_update(c);
}

/* Inside a loop iteration the output only queues, and goes out in one
 * write at the iteration's end: an API server answering a batch of
 * pipelined requests and sending the watch events of one store commit
 * made one send(2) (and one wakeup of the peer) per line before. The
 * conn cannot be freed before that: conn_finalize runs from a deferred
 * call, which is queued for the next iteration at the earliest. */
void
sk_conn_write(struct sk_conn *c, const void *data, size_t len)
{
    const char *p = data;
    ssize_t n;

    if (c->dead || len == 0)
        return;
    if (!c->flush_queued && sk_conn_pending(c) == 0 &&
        sk_loop_at_end(c->loop, conn_flush_at_end, c))
        c->flush_queued = true;
    if (sk_conn_pending(c) == 0 && !c->flush_queued) {
        n = conn_syswrite(c, p, len);
        if (n < 0) {
            conn_write_failed(c, errno);
            return;
        }
        p += n;
        len -= (size_t)n;
    }
    if (len) {
        /* Move the queue to the front only once that frees at least as
         * much as it moves. */
        if (c->out_off && c->out_off >= sk_conn_pending(c)) {
            memmove(c->out.data, c->out.data + c->out_off, sk_conn_pending(c));
            sk_buf_truncate(&c->out, sk_conn_pending(c));
            c->out_off = 0;
        }
        sk_buf_append(&c->out, p, len);
    }
    if (sk_conn_pending(c) > c->high)
        c->throttled = true;
    conn_update(c);
}

void
sk_conn_printf(struct sk_conn *c, const char *fmt, ...)
{
    char small[512], *big;
    va_list ap, cp;
    int n;

    va_start(ap, fmt);
    va_copy(cp, ap);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        SK_BUG("bad format string '%s'", fmt);
    if ((size_t)n < sizeof(small)) {
        sk_conn_write(c, small, (size_t)n);
    } else {
        big = sk_malloc((size_t)n + 1);
        vsnprintf(big, (size_t)n + 1, fmt, cp);
        sk_conn_write(c, big, (size_t)n);
        free(big);
    }
    va_end(cp);
}

void
sk_conn_set_watermarks(struct sk_conn *c, size_t high, size_t low)
{
    c->high = high;
    c->low = low <= high ? low : high;
    if (sk_conn_pending(c) > c->high) {
        c->throttled = true;
    } else if (c->throttled && sk_conn_pending(c) <= c->low) {
        c->throttled = false;
        conn_schedule_drain(c);
    }
    conn_update(c);
}

void
sk_conn_pause(struct sk_conn *c)
{
    c->paused = true;
    conn_update(c);
}

void
sk_conn_resume(struct sk_conn *c)
{
    if (!c->paused)
        return;
    c->paused = false;
    conn_schedule_drain(c);
    conn_update(c);
}

void
sk_conn_hold(struct sk_conn *c)
{
    c->holds++;
}

void
sk_conn_unhold(struct sk_conn *c)
{
    if (c->holds == 0)
        SK_BUG("sk_conn_unhold without sk_conn_hold");
    if (--c->holds == 0 && c->eof)
        conn_schedule_drain(c);
}

void
sk_conn_close(struct sk_conn *c)
{
    conn_close_with(c, NULL);
}

void
sk_conn_abort(struct sk_conn *c, const struct sk_err *why)
{
    conn_kill(c, why);
}

int
sk_conn_fd(const struct sk_conn *c)
{
    return c->fd;
}

void *
sk_conn_arg(const struct sk_conn *c)
{
    return c->arg;
}

void
sk_conn_set_arg(struct sk_conn *c, void *arg)
{
    c->arg = arg;
}

/* --- blocking client --- */

void
sk_lineclient_init(struct sk_lineclient *lc, int fd, size_t max_line)
{
    lc->fd = fd;
    sk_linebuf_init(&lc->lb, max_line);
}

void
sk_lineclient_release(struct sk_lineclient *lc)
{
    if (lc->fd >= 0)
        close(lc->fd);
    lc->fd = -1;
    sk_linebuf_release(&lc->lb);
}

/* Wait until fd is ready for events or the deadline (-1: none) passes.
 * Returns 1, 0 on timeout, or -errno. */
static int
wait_fd(int fd, short events, int64_t deadline)
{
    struct pollfd pfd = {.fd = fd, .events = events};
    int n, wait;

    do {
        wait = -1;
        if (deadline >= 0) {
            int64_t left = deadline - sk_clock_mono_ms();

            wait = left <= 0 ? 0 : (left > 1000000 ? 1000000 : (int)left);
        }
        n = poll(&pfd, 1, wait);
    } while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : n;
}

static int
write_all(int fd, const char *p, size_t len, struct sk_err *err)
{
    ssize_t n;
    int rc;

    while (len) {
        n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == ENOTSOCK)
            n = write(fd, p, len);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            rc = wait_fd(fd, POLLOUT, -1);
            if (rc < 0)
                return sk_err_sys(err, -rc, "poll");
        } else if (n < 0 && errno != EINTR) {
            return sk_err_sys(err, errno, "send");
        }
    }
    return 0;
}

int
sk_lineclient_send(struct sk_lineclient *lc, const char *line, struct sk_err *err)
{
    size_t len = strlen(line);
    int rc;

    if (memchr(line, '\n', len))
        return sk_err_set(err, EINVAL, "request contains a newline");
    rc = write_all(lc->fd, line, len, err);
    if (rc == 0)
        rc = write_all(lc->fd, "\n", 1, err);
    return rc;
}

int
sk_lineclient_recv(struct sk_lineclient *lc, char **line, size_t *len, int timeout_ms,
                   struct sk_err *err)
{
    int64_t deadline = timeout_ms < 0 ? -1 : sk_clock_mono_ms() + timeout_ms;
    char buf[CONN_READ_CHUNK];
    ssize_t n;
    int rc;

    for (;;) {
        rc = sk_linebuf_next(&lc->lb, line, len, err);
        if (rc != 0)
            return rc;
        rc = wait_fd(lc->fd, POLLIN, deadline);
        if (rc < 0)
            return sk_err_sys(err, -rc, "poll");
        if (rc == 0)
            return sk_err_set(err, ETIMEDOUT, "no answer within %d ms", timeout_ms);
        n = read(lc->fd, buf, sizeof(buf));
        if (n > 0)
            sk_linebuf_feed(&lc->lb, buf, (size_t)n);
        else if (n == 0)
            return sk_err_set(err, ECONNRESET, "connection closed by peer");
        else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
            return sk_err_sys(err, errno, "read");
    }
}
