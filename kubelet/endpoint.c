/* kubelet/endpoint.c: the agent's logs and exec endpoint.
 *
 * A TCP port (agent.endpoint-listen, :10250 by default, as the
 * kubelet's), one request per connection, lines as in the API's line
 * protocol (skiff-protocol(7) framing: "\n"-terminated, at most 64 KiB):
 *
 *     agent:  skiff-agent 1 NONCE              32 hex digits, fresh
 *     server: REQUEST                          see below
 *     server: mac HEX                          kl_ep_mac(node key, NONCE,
 *                                              REQUEST), endpoint_proto.c
 *
 * then, if the proof holds, one answer:
 *
 *     error CODE Reason message                and the connection closes
 *     ok N container=C                         logs: N lines of text
 *     ok stream container=C                    logs follow, exec: then
 *         1 TEXT                               a line of stdout / the log
 *         2 TEXT                               a line of stderr (exec)
 *         end                                  logs follow: the container
 *                                              stopped, or was replaced
 *         exit N                               exec: the command's status
 *                                              (128+S for signal S)
 *
 * REQUEST is `logs NS POD [container=C] [previous] [follow] [timestamps]
 * [tail=N]`, `exec NS POD [container=C] [stdin] [tty] [rows=R cols=C]
 * -- CMD [ARG...]` or `stats` (answered `ok 1 stats` and one line of
 * JSON, stats.c), words percent-encoded. An exec with `stdin` or
 * `tty` is interactive: after "ok stream" the server's frames (stdin,
 * stdin-eof, resize) come in and the output goes out as frames (stdout,
 * stderr, exit) instead of "1"/"2" lines, all base64 (exec_frame.c has
 * the format). After "exit N" of an interactive exec the agent reads
 * and drops frames until the server closes (at most 5 s): closing with
 * frames unread would reset the TCP connection.
 *
 * A wrong or missing proof gets `error 401 Unauthorized`; a peer
 * silent for 10 s before its proof is cut. Text
 * lines are the bytes the container wrote, NUL bytes dropped, a last
 * line without "\n" ended by one.
 *
 * exec runs the command in the container's namespaces and cgroup with
 * PATH set, in "/", and stdin from /dev/null, or a pipe the agent
 * writes the stdin frames to, or with `tty` a pty of the container the
 * runtime makes and sends back over a console socket (runtime/
 * console.c); the agent reads and writes its master. The child is
 * killed (SIGKILL to its process group; the terminal's session gets its
 * hangup when the master closes) when the connection goes away. Input
 * the process does not take is queued up to EP_IN_HIGH, then the
 * connection is paused; output is read only while less than
 * EP_HIGH_WATER waits for the server.
 * logs follow polls the file every 200 ms. */
#include "kubelet/agent_int.h"

#include "lib/alloc.h"
#include "lib/fdpass.h"
#include "lib/line.h"
#include "lib/log.h"
#include "lib/sock.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define EP_MAX_LINE      (64u << 10)
#define EP_MAX_CONNS     128
#define EP_AUTH_MS       10000
#define EP_FOLLOW_MS     200
#define EP_WAIT_MS       20
#define EP_HIGH_WATER    (4u << 20) /* queued output above this: stop reading the source */
#define EP_IN_HIGH       (1u << 20) /* stdin queued for the process: stop reading frames */
#define EP_IN_LOW        (256u << 10)
#define EP_LINGER_MS     5000
#define LOG_CHUNK        (8u << 20) /* kl_log_read's most per call */
#define EP_EXEC_PATH_ENV "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct kl_epc;

struct kl_ep {
    struct kl_agent *a;
    struct sk_listener *l;
    int port;
    char *key;
    struct kl_epc *conns;
    size_t nconns;
};

enum epc_state { EPC_REQUEST, EPC_MAC, EPC_SERVING };

struct kl_epc {
    struct kl_ep *ep; /* NULL once the endpoint is gone */
    struct kl_epc *next, *prev;
    struct sk_conn *conn;
    enum epc_state state;
    char nonce[KL_EP_NONCE_HEX];
    char *request;
    uint64_t timer;
    /* logs follow */
    char uid[64], ctr[64], path[PATH_MAX + 200];
    int attempt;
    off_t off;
    bool timestamps;
    /* exec */
    pid_t pid;
    int fds[2]; /* stdout (with a terminal: its master), stderr; -1 when closed */
    struct sk_buf partial[2];
    bool framed, tty;    /* stdin or tty asked: frames (exec_frame.c), not lines */
    bool exited;         /* "exit N" is out: waiting for the server to close */
    int in_fd;           /* the process's stdin: a pipe, or the master again; -1 */
    struct sk_buf in;    /* stdin bytes it has not taken yet */
    bool in_eof;         /* stdin-eof came: close in_fd once in is written */
    bool in_gone;        /* no stdin (not asked, closed, or the process quit it) */
    bool in_watch;       /* in_fd is watched for room */
    bool in_paused;      /* conn paused: in is over EP_IN_HIGH */
    int csock;           /* tty: the console socket the master comes over; -1 */
    unsigned rows, cols; /* tty: the size, also one asked before the master came */
};

static struct sk_loop *
ep_loop(const struct kl_epc *c)
{
    return c->ep->a->loop;
}

/* "1 TEXT\n" for each line of text (len bytes), the rest kept in
 * partial; at eof a last unterminated line is sent too. */
static void
send_lines(struct kl_epc *c, int stream, struct sk_buf *partial, bool eof)
{
    struct sk_buf out = SK_BUF_INIT;
    size_t start = 0;

    for (size_t i = 0; i < partial->len; i++) {
        if (partial->data[i] != '\n' && !(eof && i + 1 == partial->len))
            continue;
        sk_buf_printf(&out, "%d ", stream);
        for (size_t j = start; j <= i; j++)
            if (partial->data[j] != '\0' && partial->data[j] != '\n')
                sk_buf_putc(&out, partial->data[j]);
        sk_buf_putc(&out, '\n');
        start = i + 1;
    }
    sk_buf_consume(partial, start);
    if (out.len)
        sk_conn_write(c->conn, out.data, out.len);
    sk_buf_release(&out);
}

static void
reply_error(struct kl_epc *c, int code, const char *reason, const char *msg)
{
    sk_conn_printf(c->conn, "error %d %s %s\n", code, reason, msg);
    sk_conn_close(c->conn);
}

/* ---- logs ---- */

static void follow_tick(struct sk_loop *loop, void *arg);

static void
follow_end(struct kl_epc *c)
{
    sk_conn_write(c->conn, "end\n", 4);
    sk_conn_close(c->conn);
}

/* New records since c->off; true when the run is over and all is sent. */
static bool
follow_read(struct kl_epc *c)
{
    struct kl_apod *p = kl_agent_pod_find(c->ep->a, c->uid);
    struct kl_actr *ctr = NULL;
    struct sk_buf raw = SK_BUF_INIT, text = SK_BUF_INIT;
    struct sk_err err;
    bool over, all;
    off_t end;
    size_t cut;

    for (size_t i = 0; p && i < p->nctrs; i++)
        if (strcmp(p->ctrs[i].name, c->ctr) == 0)
            ctr = &p->ctrs[i];
    /* looked at before reading, so a line written just before the exit
     * is read below and never lost */
    over = !p || p->done || !ctr || ctr->attempt != c->attempt || ctr->state != KL_CTR_RUNNING;
    sk_err_init(&err);
    if (kl_log_read(c->path, c->off, &raw, &end, &err) < 0) {
        sk_buf_release(&raw);
        return over;
    }
    /* whole records only: a record still being written waits */
    cut = raw.len;
    while (cut > 0 && raw.data[cut - 1] != '\n')
        cut--;
    c->off += (off_t)cut;
    kl_cri_log_lines_ts(raw.data ? raw.data : "", cut, -1, c->timestamps, &text);
    send_lines(c, 1, &text, false);
    all = cut == raw.len && raw.len < LOG_CHUNK;
    sk_buf_release(&raw);
    sk_buf_release(&text);
    return over && all;
}

static void
follow_tick(struct sk_loop *loop, void *arg)
{
    struct kl_epc *c = arg;

    c->timer = 0;
    if (sk_conn_pending(c->conn) < EP_HIGH_WATER && follow_read(c)) {
        follow_end(c);
        return;
    }
    c->timer = sk_loop_timer_add(loop, EP_FOLLOW_MS, follow_tick, c);
}

static void
serve_logs(struct kl_epc *c, const struct kl_ep_req *r, struct kl_apod *p, struct kl_actr *ctr)
{
    struct sk_buf raw = SK_BUF_INIT, body = SK_BUF_INIT;
    int attempt = r->previous ? ctr->attempt - 1 : ctr->attempt;
    char msg[600];
    struct sk_err err;
    off_t end = 0;
    size_t n;

    if (attempt < 1) {
        sk_snprintf(msg, sizeof(msg),
                    r->previous ? "previous terminated container \"%s\" in pod \"%s\" not found"
                                : "container \"%s\" in pod \"%s\" is waiting to start",
                    ctr->name, p->name);
        reply_error(c, 400, "BadRequest", msg);
        return;
    }
    sk_snprintf(c->path, sizeof(c->path), "%s/logs/%s/%d.log", p->dir, ctr->name, attempt);
    sk_err_init(&err);
    if (kl_log_read(c->path, -1, &raw, &end, &err) < 0 && err.code != ENOENT) {
        reply_error(c, 500, "InternalError", err.msg);
        goto out_release;
    }
    n = kl_cri_log_lines_ts(raw.data ? raw.data : "", raw.len, r->tail, r->timestamps, &body);
    if (!r->follow || r->previous) {
        sk_conn_printf(c->conn, "ok %zu container=%s\n", n, ctr->name);
        if (body.len)
            sk_conn_write(c->conn, body.data, body.len);
        sk_conn_close(c->conn);
        goto out_release;
    }
    sk_conn_printf(c->conn, "ok stream container=%s\n", ctr->name);
    send_lines(c, 1, &body, false);
    sk_strlcpy(c->uid, p->uid, sizeof(c->uid));
    sk_strlcpy(c->ctr, ctr->name, sizeof(c->ctr));
    c->attempt = attempt;
    c->off = end;
    c->timestamps = r->timestamps;
    c->timer = sk_loop_timer_add(ep_loop(c), EP_FOLLOW_MS, follow_tick, c);
out_release:
    sk_buf_release(&raw);
    sk_buf_release(&body);
}

/* ---- exec ---- */

static void exec_wait(struct sk_loop *loop, void *arg);
static void in_flush(struct kl_epc *c);

static void
exec_close_fd(struct kl_epc *c, int i)
{
    if (c->fds[i] < 0)
        return;
    sk_loop_fd_del(ep_loop(c), c->fds[i]);
    close(c->fds[i]);
    c->fds[i] = -1;
}

/* The process's stdin is gone for good: what is queued for it is
 * dropped, and later stdin frames too. */
static void
in_close(struct kl_epc *c)
{
    if (c->in_fd >= 0) {
        if (c->in_watch)
            sk_loop_fd_del(ep_loop(c), c->in_fd);
        close(c->in_fd);
    }
    c->in_fd = -1;
    c->in_watch = false;
    c->in_gone = true;
    sk_buf_reset(&c->in);
}

static void
console_close(struct kl_epc *c)
{
    if (c->csock < 0)
        return;
    sk_loop_fd_del(ep_loop(c), c->csock);
    close(c->csock);
    c->csock = -1;
}

/* Stop (events 0) or restart reading the command's output. */
static void
exec_watch(struct kl_epc *c, unsigned events)
{
    struct sk_err err;

    for (int i = 0; i < 2; i++) {
        sk_err_init(&err);
        if (c->fds[i] >= 0 && sk_loop_fd_mod(ep_loop(c), c->fds[i], events, &err) < 0)
            sk_warn("kubelet", "exec: %s", err.msg);
    }
}

static void
exec_throttle(struct sk_loop *loop, void *arg)
{
    struct kl_epc *c = arg;

    c->timer = 0;
    if (sk_conn_pending(c->conn) >= EP_HIGH_WATER) {
        c->timer = sk_loop_timer_add(loop, EP_FOLLOW_MS, exec_throttle, c);
        return;
    }
    exec_watch(c, SK_EV_READ);
}

/* n bytes of output of stream i (0 stdout or the terminal, 1 stderr):
 * lines for a plain exec, data frames for an interactive one. */
static void
exec_output(struct kl_epc *c, int i, const char *buf, size_t n)
{
    struct sk_buf out = SK_BUF_INIT;

    if (!c->framed) {
        sk_buf_append(&c->partial[i], buf, n);
        send_lines(c, i + 1, &c->partial[i], false);
        return;
    }
    kl_frame_put_data(&out, i ? "stderr" : "stdout", buf, n);
    sk_conn_write(c->conn, out.data, out.len);
    sk_buf_release(&out);
}

/* The process has exited (its runtime's stderr reached eof): what it
 * wrote to the terminal is still in the pty (a master reads it until
 * EIO, or EAGAIN when a child of it keeps the terminal open). */
static void
tty_drain(struct kl_epc *c)
{
    char buf[16384];
    ssize_t n;

    for (int k = 0; c->fds[0] >= 0 && k < 64; k++) {
        n = read(c->fds[0], buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        exec_output(c, 0, buf, (size_t)n);
    }
    exec_close_fd(c, 0);
}

static void console_take(struct kl_epc *c);

static void
exec_on_fd(struct sk_loop *loop, int fd, unsigned events, void *arg)
{
    struct kl_epc *c = arg;
    int i = fd == c->fds[1];
    char buf[16384];
    ssize_t n = read(fd, buf, sizeof(buf));

    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n > 0) {
        exec_output(c, i, buf, (size_t)n);
        if (sk_conn_pending(c->conn) >= EP_HIGH_WATER && !c->timer) {
            exec_watch(c, 0);
            c->timer = sk_loop_timer_add(loop, EP_FOLLOW_MS, exec_throttle, c);
        }
        return;
    }
    /* eof, or EIO: a pty master once its slave is closed everywhere */
    if (!c->framed)
        send_lines(c, i + 1, &c->partial[i], true);
    exec_close_fd(c, i);
    if (i == 1 && c->tty) {
        if (c->csock >= 0) /* sent before the runtime exited, if at all */
            console_take(c);
        tty_drain(c);
    }
    if (c->fds[0] < 0 && c->fds[1] < 0) {
        in_close(c);
        if (c->timer) /* a throttle: nothing is left to read */
            sk_loop_timer_cancel(loop, c->timer);
        c->timer = sk_loop_timer_add(loop, 0, exec_wait, c);
    }
}

static void
exec_linger_end(struct sk_loop *loop, void *arg)
{
    struct kl_epc *c = arg;

    c->timer = 0;
    sk_conn_close(c->conn);
}

static void
exec_wait(struct sk_loop *loop, void *arg)
{
    struct kl_epc *c = arg;
    int status = 0;
    pid_t r;

    c->timer = 0;
    r = waitpid(c->pid, &status, WNOHANG);
    if (r == 0) {
        c->timer = sk_loop_timer_add(loop, EP_WAIT_MS, exec_wait, c);
        return;
    }
    c->pid = 0;
    sk_conn_printf(c->conn, "exit %d\n",
                   r < 0                 ? 255
                   : WIFEXITED(status)   ? WEXITSTATUS(status)
                   : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                         : 255);
    if (!c->framed) {
        sk_conn_close(c->conn);
        return;
    }
    /* The server may still be sending frames: closing with them unread
     * would make TCP reset the connection, and the reset can overtake
     * the exit line. The server closes once it has that line. */
    c->exited = true;
    c->timer = sk_loop_timer_add(loop, EP_LINGER_MS, exec_linger_end, c);
}

/* ---- exec: stdin and the terminal ---- */

static void
in_on_fd(struct sk_loop *loop, int fd, unsigned events, void *arg)
{
    in_flush(arg);
}

/* Write what is queued for the process's stdin as far as it takes it;
 * watch for room when it does not take it all. Back-pressure: over
 * EP_IN_HIGH queued, the server's connection is paused (its frames
 * wait in the socket, then in the server, which pauses its client in
 * turn), resumed under EP_IN_LOW. */
static void
in_flush(struct kl_epc *c)
{
    struct sk_err err;
    bool want;
    ssize_t n;

    while (c->in_fd >= 0 && c->in.len) {
        n = write(c->in_fd, c->in.data, c->in.len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n <= 0) { /* EPIPE: the process closed its stdin */
            in_close(c);
            break;
        }
        sk_buf_consume(&c->in, (size_t)n);
    }
    if (c->in_fd >= 0 && !c->in.len && c->in_eof)
        in_close(c); /* a pipe's reader sees eof; a pty got its VEOF */
    want = c->in_fd >= 0 && c->in.len;
    sk_err_init(&err);
    if (want && !c->in_watch &&
        sk_loop_fd_add(ep_loop(c), c->in_fd, SK_EV_WRITE, in_on_fd, c, &err) < 0) {
        sk_warn("kubelet", "exec: stdin: %s", err.msg);
        in_close(c);
    } else if (want != c->in_watch) {
        if (!want)
            sk_loop_fd_del(ep_loop(c), c->in_fd);
        c->in_watch = want;
    }
    if (!c->in_paused && c->in.len >= EP_IN_HIGH) {
        c->in_paused = true;
        sk_conn_pause(c->conn);
    } else if (c->in_paused && c->in.len <= EP_IN_LOW) {
        c->in_paused = false;
        sk_conn_resume(c->conn);
    }
}

static void
tty_resize(struct kl_epc *c)
{
    struct winsize ws = {.ws_row = (unsigned short)c->rows, .ws_col = (unsigned short)c->cols};

    /* the kernel sends SIGWINCH to the terminal's foreground group */
    if (c->tty && c->fds[0] >= 0 && c->rows && ioctl(c->fds[0], TIOCSWINSZ, &ws) < 0)
        sk_debug("kubelet", "exec: resize: %s", strerror(errno));
}

/* One frame from the server (exec_frame.c); a bad one is dropped. */
static void
exec_input(struct kl_epc *c, char *line)
{
    struct kl_frame f;
    struct sk_err err;

    if (c->exited)
        return;
    sk_err_init(&err);
    if (kl_frame_parse(line, &f, &err) < 0) {
        sk_debug("kubelet", "exec: %s", err.msg);
        return;
    }
    switch (f.type) {
    case KL_FRAME_STDIN:
        if (!c->in_gone && !c->in_eof)
            sk_buf_append(&c->in, f.data, f.len);
        break;
    case KL_FRAME_STDIN_EOF:
        /* a terminal has no eof of its own: VEOF (^D), which a shell
         * reading a line takes for the end of its input */
        if (c->tty && !c->in_gone && !c->in_eof)
            sk_buf_putc(&c->in, 4);
        c->in_eof = true;
        break;
    case KL_FRAME_RESIZE:
        c->rows = f.rows;
        c->cols = f.cols;
        tty_resize(c);
        return;
    default:
        sk_debug("kubelet", "exec: a frame that only the agent sends came from the server");
        return;
    }
    in_flush(c);
}

/* The runtime's console message: the pty master's fd in SCM_RIGHTS
 * (runc's --console-socket protocol, runtime/console.c); -1 when none
 * is there. */
static int
console_recv(int sock)
{
    char name[256];
    int fd;

    if (sk_fd_recv(sock, &fd, name, sizeof(name), MSG_DONTWAIT) <= 0 && fd >= 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static void
console_take(struct kl_epc *c)
{
    int master = console_recv(c->csock);
    struct sk_err err;

    console_close(c);
    if (master < 0)
        return; /* the runtime failed: its message comes on stderr */
    sk_err_init(&err);
    if (sk_sock_set_nonblock(master, &err) < 0 ||
        sk_loop_fd_add(ep_loop(c), master, SK_EV_READ, exec_on_fd, c, &err) < 0) {
        sk_warn("kubelet", "exec: terminal: %s", err.msg);
        close(master);
        return;
    }
    c->fds[0] = master;
    tty_resize(c);
    /* a second fd of the master for writing: epoll watches it apart */
    if (!c->in_gone && (c->in_fd = fcntl(master, F_DUPFD_CLOEXEC, 0)) < 0)
        in_close(c);
    if (sk_conn_pending(c->conn) >= EP_HIGH_WATER && c->timer)
        exec_watch(c, 0); /* throttled meanwhile */
    in_flush(c);
}

static void
console_on_fd(struct sk_loop *loop, int fd, unsigned events, void *arg)
{
    console_take(arg);
}

/* ---- exec: the process ---- */

struct exec_fds {
    int in, out, err, console; /* -1: /dev/null, -, -, no terminal */
    int agent_in;              /* the agent's end of stdin: closed in the child */
};

static void
exec_child(const struct rt_ctx *rt, const char *id, const struct kl_ep_req *r,
           const struct exec_fds *f)
{
    char *env[] = {EP_EXEC_PATH_ENV, "TERM=xterm"};
    struct rt_process proc;
    struct sk_err err;
    int in = f->in >= 0 ? f->in : open("/dev/null", O_RDONLY | O_CLOEXEC), rc;

    setpgid(0, 0);
    /* O_CLOEXEC does not act before the command's own execve: the
     * runtime's processes in between would keep stdin's writer open and
     * the command would never see its eof */
    if (f->agent_in >= 0)
        close(f->agent_in);
    if (in >= 0)
        dup2(in, 0);
    dup2(f->out, 1);
    dup2(f->err, 2);
    memset(&proc, 0, sizeof(proc));
    proc.args = r->argv;
    proc.nargs = r->argc;
    proc.env = env;
    proc.nenv = r->tty ? 2 : 1;
    proc.cwd = "/";
    proc.umask = RT_UNSET;
    proc.oom_score = RT_UNSET;
    proc.terminal = r->tty;
    proc.console_rows = (unsigned short)r->rows;
    proc.console_cols = (unsigned short)r->cols;
    sk_err_init(&err);
    rc = rt_container_exec_console(rt, id, &proc, f->console, &err);
    if (rc < 0) {
        dprintf(2, "exec: %s\n", err.msg);
        _exit(126);
    }
    _exit(rc & 0xff);
}

/* pipes for stdin (-i without a terminal), stdout and stderr, or a
 * console socket pair (-t); [0] the agent's end, [1] the child's. */
static int
exec_open(const struct kl_ep_req *r, int in[2], int out[2], int errp[2], int sv[2])
{
    if (r->stdin_open && !r->tty && pipe2(in, O_CLOEXEC) < 0)
        return -1;
    if (r->tty && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -1;
    /* with a terminal, stderr alone carries the runtime's own words */
    if ((!r->tty && pipe2(out, O_CLOEXEC) < 0) || pipe2(errp, O_CLOEXEC) < 0)
        return -1;
    /* the agent writes stdin's end, the child reads the other */
    if (in[0] >= 0) {
        int t = in[0];
        in[0] = in[1];
        in[1] = t;
    }
    return 0;
}

static void
close_pairs(int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

static void
exec_watch_add(struct kl_epc *c)
{
    struct sk_err err;

    for (int i = 0; i < 2; i++) {
        sk_err_init(&err);
        if (c->fds[i] >= 0 &&
            (sk_sock_set_nonblock(c->fds[i], &err) < 0 ||
             sk_loop_fd_add(ep_loop(c), c->fds[i], SK_EV_READ, exec_on_fd, c, &err) < 0)) {
            sk_warn("kubelet", "exec: %s", err.msg);
            exec_close_fd(c, i);
        }
    }
    sk_err_init(&err);
    if (c->in_fd >= 0 && sk_sock_set_nonblock(c->in_fd, &err) < 0)
        in_close(c);
    if (c->csock >= 0 &&
        (sk_sock_set_nonblock(c->csock, &err) < 0 ||
         sk_loop_fd_add(ep_loop(c), c->csock, SK_EV_READ, console_on_fd, c, &err) < 0)) {
        sk_warn("kubelet", "exec: terminal: %s", err.msg);
        console_close(c);
    }
}

static void
serve_exec(struct kl_epc *c, const struct kl_ep_req *r, struct kl_apod *p, struct kl_actr *ctr)
{
    int in[2] = {-1, -1}, out[2] = {-1, -1}, errp[2] = {-1, -1}, sv[2] = {-1, -1};
    struct exec_fds f;
    char msg[300];

    if (!ctr->id[0] || ctr->state != KL_CTR_RUNNING) {
        sk_snprintf(msg, sizeof(msg), "container %s in pod %s is not running", ctr->name, p->name);
        reply_error(c, 400, "BadRequest", msg);
        return;
    }
    if (exec_open(r, in, out, errp, sv) < 0) {
        sk_snprintf(msg, sizeof(msg), "pipe: %s", strerror(errno));
        goto out_fail;
    }
    f = (struct exec_fds){in[1], r->tty ? errp[1] : out[1], errp[1], sv[1], in[0]};
    c->pid = fork();
    if (c->pid == 0)
        exec_child(&c->ep->a->rt, ctr->id, r, &f);
    if (c->pid < 0) {
        c->pid = 0;
        sk_snprintf(msg, sizeof(msg), "fork: %s", strerror(errno));
        goto out_fail;
    }
    setpgid(c->pid, c->pid); /* both sides, so the kill on close never misses */
    close_pairs((int[]){in[1], out[1], errp[1], sv[1]}, 4);
    c->fds[0] = out[0];
    c->fds[1] = errp[0];
    c->in_fd = in[0];
    c->csock = sv[0];
    c->framed = r->stdin_open || r->tty;
    c->tty = r->tty;
    c->in_gone = !r->stdin_open;
    c->rows = r->rows;
    c->cols = r->cols;
    sk_conn_printf(c->conn, "ok stream container=%s\n", ctr->name);
    sk_info("kubelet", "exec in pod '%s/%s' container '%s'%s%s: %s", p->ns, p->name, ctr->name,
            r->stdin_open ? " with stdin" : "", r->tty ? " on a terminal" : "", r->argv[0]);
    exec_watch_add(c);
    if (c->fds[0] < 0 && c->fds[1] < 0 && c->csock < 0)
        c->timer = sk_loop_timer_add(ep_loop(c), 0, exec_wait, c);
    return;
out_fail:
    close_pairs(in, 2);
    close_pairs(out, 2);
    close_pairs(errp, 2);
    close_pairs(sv, 2);
    reply_error(c, 500, "InternalError", msg);
}

/* ---- stats (stats.c) ---- */

static void
serve_stats(struct kl_epc *c)
{
    struct sk_buf out = SK_BUF_INIT;

    kl_stats_reply(c->ep->a, &out);
    sk_conn_write(c->conn, out.data, out.len);
    sk_conn_close(c->conn);
    sk_buf_release(&out);
}

/* ---- connections ---- */

static void
dispatch(struct kl_epc *c)
{
    struct kl_ep_req r;
    struct kl_apod *p;
    struct kl_actr *ctr;
    struct sk_err err;
    char msg[600];

    sk_err_init(&err);
    if (kl_ep_req_parse(c->request, &r, &err) < 0) {
        reply_error(c, 400, "BadRequest", err.msg);
        goto out_release;
    }
    if (!(p = kl_agent_pod_by_name(c->ep->a, r.ns, r.pod))) {
        sk_snprintf(msg, sizeof(msg), "pods \"%s\" not found on node \"%s\"", r.pod,
                    c->ep->a->node_name);
        reply_error(c, 404, "NotFound", msg);
        goto out_release;
    }
    if (!(ctr = kl_pod_pick_ctr(p, r.container, msg, sizeof(msg)))) {
        reply_error(c, 400, "BadRequest", msg);
        goto out_release;
    }
    if (r.verb == KL_EP_LOGS)
        serve_logs(c, &r, p, ctr);
    else
        serve_exec(c, &r, p, ctr);
out_release:
    kl_ep_req_release(&r);
}

static void
on_line(struct sk_conn *conn, char *line, size_t len, void *arg)
{
    struct kl_epc *c = arg;

    if (!c->ep)
        return;
    if (c->state == EPC_SERVING) {
        if (c->framed) /* else nothing is read after the request */
            exec_input(c, line);
        return;
    }
    if (c->state == EPC_REQUEST) {
        c->request = sk_strdup(line);
        c->state = EPC_MAC;
        return;
    }
    c->state = EPC_SERVING;
    if (c->timer)
        sk_loop_timer_cancel(ep_loop(c), c->timer);
    c->timer = 0;
    if (strncmp(line, "mac ", 4) != 0 ||
        !kl_ep_mac_ok(c->ep->key, c->nonce, c->request, line + 4)) {
        sk_warn("kubelet", "endpoint: a peer failed to authenticate (request '%.60s')", c->request);
        reply_error(c, 401, "Unauthorized", "bad credentials");
        return;
    }
    if (strcmp(c->request, "stats") == 0) {
        serve_stats(c);
        return;
    }
    dispatch(c);
}

static void
epc_detach(struct kl_epc *c)
{
    struct sk_loop *loop;
    int status;

    if (!c->ep)
        return;
    loop = ep_loop(c);
    if (c->timer)
        sk_loop_timer_cancel(loop, c->timer);
    c->timer = 0;
    for (int i = 0; i < 2; i++)
        exec_close_fd(c, i);
    in_close(c);
    console_close(c);
    if (c->pid > 0) {
        kill(-c->pid, SIGKILL);
        while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
            ;
        c->pid = 0;
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        c->ep->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->ep->nconns--;
    c->ep = NULL;
}

static void
on_close(struct sk_conn *conn, const struct sk_err *why, void *arg)
{
    struct kl_epc *c = arg;

    epc_detach(c);
    for (int i = 0; i < 2; i++)
        sk_buf_release(&c->partial[i]);
    sk_buf_release(&c->in);
    free(c->request);
    free(c);
}

static const struct sk_conn_ops epc_ops = {.on_line = on_line, .on_close = on_close};

static void
auth_timeout(struct sk_loop *loop, void *arg)
{
    struct kl_epc *c = arg;
    struct sk_err why;

    c->timer = 0;
    sk_err_init(&why);
    sk_err_set(&why, ETIMEDOUT, "no credentials within %d ms", EP_AUTH_MS);
    sk_conn_abort(c->conn, &why);
}

static void
on_accept(struct sk_loop *loop, int fd, void *arg)
{
    struct kl_ep *ep = arg;
    struct kl_epc *c;
    struct sk_err err;

    if (ep->nconns >= EP_MAX_CONNS) {
        close(fd);
        return;
    }
    c = sk_calloc(1, sizeof(*c));
    c->ep = ep;
    c->fds[0] = c->fds[1] = c->in_fd = c->csock = -1;
    sk_err_init(&err);
    if (kl_ep_nonce(c->nonce, &err) < 0) {
        sk_warn("kubelet", "endpoint: %s", err.msg);
        close(fd);
        free(c);
        return;
    }
    c->next = ep->conns;
    if (ep->conns)
        ep->conns->prev = c;
    ep->conns = c;
    ep->nconns++;
    c->conn = sk_conn_new(loop, fd, EP_MAX_LINE, &epc_ops, c);
    sk_conn_printf(c->conn, "skiff-agent 1 %s\n", c->nonce);
    c->timer = sk_loop_timer_add(loop, EP_AUTH_MS, auth_timeout, c);
}

int
kl_ep_start(struct kl_agent *a, const char *listen, const char *key, struct kl_ep **out,
            struct sk_err *err)
{
    char host[256];
    int port, fd;
    struct kl_ep *ep;

    if (sk_sock_parse_hostport(listen, host, sizeof(host), &port, err) < 0)
        return sk_err_wrap(err, "endpoint '%s'", listen);
    if ((fd = sk_sock_listen_tcp(*host ? host : NULL, port, err)) < 0)
        return sk_err_wrap(err, "endpoint '%s'", listen);
    ep = sk_calloc(1, sizeof(*ep));
    ep->a = a;
    ep->key = sk_strdup(key);
    ep->port = sk_sock_local_port(fd);
    ep->l = sk_listener_new(a->loop, fd, on_accept, ep);
    if (!ep->l) {
        free(ep->key);
        free(ep);
        return sk_err_sys(err, errno, "endpoint '%s'", listen);
    }
    sk_info("kubelet", "logs/exec endpoint on %s port %d", *host ? host : "*", ep->port);
    *out = ep;
    return 0;
}

int
kl_ep_port(const struct kl_ep *ep)
{
    return ep ? ep->port : -1;
}

/* Connections still open are cut; their memory goes with their
 * on_close, which no longer looks at the endpoint. */
void
kl_ep_free(struct kl_ep *ep)
{
    if (!ep)
        return;
    sk_listener_free(ep->l);
    while (ep->conns) {
        struct kl_epc *c = ep->conns;
        struct sk_conn *conn = c->conn;

        epc_detach(c);
        sk_conn_abort(conn, NULL);
    }
    free(ep->key);
    free(ep);
}
