/* skiff exec -i / -t: an interactive session over a relayed exec
 * stream (skiff-protocol(7), "Interactive exec"; the frames are
 * kubelet/exec_frame.c's).
 *
 * One poll loop moves the three flows at once, so none waits on
 * another: the server's frames to our stdout/stderr, our stdin to the
 * server as "stdin" frames, and SIGWINCH as "resize" frames. stdin is
 * read only while less than OUTQ_MAX is queued for the server, and
 * the server pauses our connection when the agent is behind, so
 * nothing grows without bound; the socket is always read, so the
 * process's output never waits on its input.
 *
 * With a terminal, our own is put in raw mode for the session (keys
 * go to the remote terminal unchanged, ^C included) and restored on
 * every way out: the stream's end, an error, and the signals that
 * would end us (SIGHUP, SIGINT, SIGPIPE, SIGQUIT, SIGTERM), which end
 * the session with status 128+N after the terminal is restored. */
#include "api/cli_int.h"
#include "kubelet/kubelet.h"
#include "lib/alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#define OUTQ_MAX (256u << 10)

/* The signal handler's share: the self-pipe and what came. */
static int sig_wake = -1;
static volatile sig_atomic_t got_winch, got_term;

static const int term_sigs[] = {SIGHUP, SIGINT, SIGPIPE, SIGQUIT, SIGTERM};
#define NSIGS (sizeof(term_sigs) / sizeof(term_sigs[0]))

static void
on_signal(int sig)
{
    int saved = errno;

    if (sig == SIGWINCH)
        got_winch = 1;
    else
        got_term = sig;
    if (sig_wake >= 0 && write(sig_wake, "", 1) < 0) {
        /* full: a wakeup is pending anyway */
    }
    errno = saved;
}

struct session {
    int sock;
    struct sk_linebuf *lb;
    bool tty, raw, want_stdin, in_eof, sock_eof;
    struct sk_buf outq; /* frames for the server, not yet sent */
    int wake[2];
    struct termios saved;
    struct sigaction old[NSIGS + 1];
};

static int
write_all(int fd, const char *p, size_t n, struct sk_err *err)
{
    while (n) {
        ssize_t w = write(fd, p, n);

        if (w < 0 && errno == EINTR && !got_term)
            continue;
        if (w < 0)
            return sk_err_sys(err, errno, "write the command's output");
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void
queue_resize(struct session *s)
{
    struct winsize ws;

    if (s->tty && ioctl(0, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
        sk_buf_printf(&s->outq, "resize %u %u\n", ws.ws_row, ws.ws_col);
}

/* Terminal and signals for the session; undone by session_end. */
static void
session_begin(struct session *s)
{
    struct sigaction sa;
    struct termios raw;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* no SA_RESTART: a blocked write returns */
    sigemptyset(&sa.sa_mask);
    got_winch = got_term = 0;
    if (pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) == 0)
        sig_wake = s->wake[1];
    if (s->tty)
        sigaction(SIGWINCH, &sa, &s->old[NSIGS]);
    if (!s->raw)
        return;
    for (size_t i = 0; i < NSIGS; i++)
        sigaction(term_sigs[i], &sa, &s->old[i]);
    if (tcgetattr(0, &s->saved) < 0) {
        s->raw = false;
        return;
    }
    raw = s->saved;
    cfmakeraw(&raw);
    if (tcsetattr(0, TCSADRAIN, &raw) < 0)
        s->raw = false;
}

static void
session_end(struct session *s)
{
    if (s->raw)
        tcsetattr(0, TCSADRAIN, &s->saved);
    if (s->raw)
        for (size_t i = 0; i < NSIGS; i++)
            sigaction(term_sigs[i], &s->old[i], NULL);
    if (s->tty)
        sigaction(SIGWINCH, &s->old[NSIGS], NULL);
    sig_wake = -1;
    for (int i = 0; i < 2; i++)
        if (s->wake[i] >= 0)
            close(s->wake[i]);
    sk_buf_release(&s->outq);
}

/* One line of the stream: 1 on, 0 at "exit N" (*status), <0 error. */
static int
session_line(char *l, int *status, struct sk_err *err)
{
    struct api_resp resp;
    struct kl_frame f;
    int rc;

    if (strncmp(l, "error ", 6) == 0) {
        if (api_resp_parse_status(l, &resp, err) < 0)
            return sk_err_set(err, EPROTO, "malformed stream line '%.80s'", l);
        rc = cli_resp_error(&resp, err);
        api_resp_release(&resp);
        return rc;
    }
    if (kl_frame_parse(l, &f, err) < 0)
        return sk_err_wrap(err, "the server's stream");
    if (f.type == KL_FRAME_EXIT) {
        *status = f.status;
        return 0;
    }
    if (f.type == KL_FRAME_STDOUT || f.type == KL_FRAME_STDERR)
        return write_all(f.type == KL_FRAME_STDOUT ? 1 : 2, f.data, f.len, err) < 0 ? -EIO : 1;
    return sk_err_set(err, EPROTO, "the server sent an input frame '%.20s'", l);
}

/* Wait for something to do, then do it: read the socket, send what is
 * queued, read stdin. <0 with err on a broken connection. */
static int
session_step(struct session *s, struct sk_err *err)
{
    struct pollfd p[3] = {{s->sock, POLLIN, 0}, {s->wake[0], POLLIN, 0}, {0, 0, 0}};
    char buf[KL_FRAME_CHUNK];
    nfds_t n = 2;
    ssize_t r;

    if (s->outq.len)
        p[0].events |= POLLOUT;
    if (s->want_stdin && !s->in_eof && s->outq.len < OUTQ_MAX) {
        p[2] = (struct pollfd){0, POLLIN, 0};
        n = 3;
    }
    if (poll(p, n, -1) < 0)
        return errno == EINTR ? 0 : sk_err_sys(err, errno, "poll");
    while (p[1].revents && read(s->wake[0], buf, sizeof(buf)) > 0)
        ;
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
        r = recv(s->sock, buf, sizeof(buf), MSG_DONTWAIT);
        if (r < 0 && errno != EAGAIN && errno != EINTR)
            return sk_err_sys(err, errno, "read from the server");
        if (r > 0)
            sk_linebuf_feed(s->lb, buf, (size_t)r);
        if (r == 0) {
            sk_linebuf_finish(s->lb);
            s->sock_eof = true;
        }
    }
    if (s->outq.len && (p[0].revents & POLLOUT)) {
        r = send(s->sock, s->outq.data, s->outq.len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (r < 0 && errno != EAGAIN && errno != EINTR)
            return sk_err_sys(err, errno, "write to the server");
        if (r > 0)
            sk_buf_consume(&s->outq, (size_t)r);
    }
    if (n == 3 && p[2].revents) {
        r = read(0, buf, sizeof(buf));
        if (r > 0)
            kl_frame_put_data(&s->outq, "stdin", buf, (size_t)r);
        else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
            sk_buf_puts(&s->outq, "stdin-eof\n");
            s->in_eof = true;
        }
    }
    return 0;
}

int
cli_exec_session(int sock, struct sk_linebuf *lb, bool want_stdin, bool tty, struct sk_err *err)
{
    struct session s = {.sock = sock,
                        .lb = lb,
                        .tty = tty,
                        .want_stdin = want_stdin,
                        .raw = tty && want_stdin && isatty(0),
                        .wake = {-1, -1}};
    int rc = 0, status = -1;
    size_t len;
    char *l;

    sk_buf_init(&s.outq);
    session_begin(&s);
    while (rc >= 0 && status < 0) {
        while (status < 0 && (rc = sk_linebuf_next(lb, &l, &len, err)) == 1)
            if ((rc = session_line(l, &status, err)) <= 0)
                break;
        if (rc < 0 || status >= 0)
            break;
        if (got_term) {
            status = 128 + got_term;
            break;
        }
        if (s.sock_eof) {
            rc = sk_err_set(err, ECONNRESET, "the server ended the stream before its end");
            break;
        }
        if (got_winch) {
            got_winch = 0;
            queue_resize(&s);
        }
        rc = session_step(&s, err);
    }
    session_end(&s);
    return rc < 0 ? rc : status;
}
