#ifndef SK_LINE_H
#define SK_LINE_H

/* Line framing for the line protocol (man/skiff-protocol.7): one message
 * per line, ended by "\n"; a "\r" before it is dropped, so telnet and
 * CRLF clients work. A line holds no NUL byte and is at most max_line
 * bytes long (without the "\r\n"); the API uses 1 MiB.
 *
 * Three layers:
 *   struct sk_linebuf     pure framing, no I/O: feed bytes, take lines.
 *   struct sk_conn        a connection on the event loop: reads lines,
 *                         queues output, back-pressure, orderly close.
 *   struct sk_lineclient  a blocking client for CLIs and tests. */

#include "err.h"
#include "loop.h"

#include <stdbool.h>
#include <stddef.h>

/* --- framing core --- */

struct sk_linebuf {
    char *data;
    size_t off;  /* start of data not yet returned as lines */
    size_t len;  /* end of data */
    size_t scan; /* no "\n" in [off, scan): where the next search starts */
    size_t cap;
    size_t max_line;
    bool too_long; /* sticky: framing is lost */
    bool eof;
};

/* Set up an empty buffer (no allocation) for lines of at most max_line
 * bytes. */
void sk_linebuf_init(struct sk_linebuf *lb, size_t max_line);

/* Free the contents; the buffer is empty and usable again. */
void sk_linebuf_release(struct sk_linebuf *lb);

/* Append len bytes of input. Copies; no line is returned before next().
 * The buffer only holds what was fed and not yet taken: feed bounded
 * chunks and drain with sk_linebuf_next() in between, and it never holds
 * more than max_line + one chunk of partial line. */
void sk_linebuf_feed(struct sk_linebuf *lb, const void *data, size_t len);

/* No more input will come: next() also returns a last line that lacks
 * its "\n" (a client that sent "ping" and closed). */
void sk_linebuf_finish(struct sk_linebuf *lb);

/* Take the next complete line: returns 1 with *line pointing at it,
 * NUL-terminated, without "\n" and a trailing "\r" (*len excludes them);
 * the line lives in the buffer and may be modified, and is valid until the
 * next call on lb. Returns 0 when no complete line is buffered. Fails
 *  - with EMSGSIZE "line longer than N bytes" as soon as the line being
 *    received exceeds max_line, without waiting for its end; this is
 *    sticky (framing is lost, every later call fails the same way);
 *  - with EINVAL "line contains a NUL byte"; that line is dropped and the
 *    next call continues after it.
 * Each byte is scanned once, however the input was split. */
int sk_linebuf_next(struct sk_linebuf *lb, char **line, size_t *len, struct sk_err *err);

/* Bytes buffered and not yet returned as lines. */
size_t sk_linebuf_pending(const struct sk_linebuf *lb);

/* --- connection on the loop --- */

struct sk_conn;

struct sk_conn_ops {
    /* A complete line arrived (see sk_linebuf_next; valid during the
     * call). Lines of one connection are delivered in order, one at a
     * time; may call any sk_conn_* function on c, including close and
     * abort. */
    void (*on_line)(struct sk_conn *c, char *line, size_t len, void *arg);
    /* The connection is gone: its fd is closed and c is freed when this
     * returns. why is NULL for a clean end (peer EOF, sk_conn_close()
     * flushed), else what went wrong. Never called from inside an sk_conn_*
     * call: always later, from the loop, so code that closes or writes to a
     * connection while walking a list of them is not surprised by its own
     * on_close. */
    void (*on_close)(struct sk_conn *c, const struct sk_err *why, void *arg);
};

#define SK_CONN_HIGH_WATER (4u << 20)
#define SK_CONN_LOW_WATER  (1u << 20)
#define SK_CONN_CLOSE_MS   5000

/* Serve fd (a connected socket or a pipe/FIFO; made non-blocking) on the
 * loop; the conn owns fd from here on. ops must stay valid for the conn's
 * life; arg is passed to them. Never fails: if fd cannot be watched, the
 * reason reaches on_close from the loop. Writes to a socket use
 * MSG_NOSIGNAL, so a vanished peer is an EPIPE error, not SIGPIPE; for a
 * pipe, the process must ignore SIGPIPE itself.
 *
 * Reading: lines are delivered as they arrive, at most 64 KiB read per
 * wakeup so one busy peer cannot starve the others. A line longer than
 * max_line gets "error 413 RequestTooLarge line longer than N bytes", one
 * with a NUL byte "error 400 BadRequest line contains a NUL byte", and the
 * connection is closed (on_close gets the reason). At EOF (also a
 * half-close) the lines already received are still delivered, then the
 * conn closes as with sk_conn_close(): answers to them must be written
 * before that close completes, i.e. from on_line or while output is still
 * queued; writes to a closed conn are dropped. Close or abort every conn
 * before freeing the loop. */
struct sk_conn *sk_conn_new(struct sk_loop *loop, int fd, size_t max_line,
                            const struct sk_conn_ops *ops, void *arg);

/* Send data: written at once as far as the socket takes it, the rest
 * queued (copied) and written when the socket is writable; order is kept.
 * While more than the high watermark is queued, no further lines are read
 * or delivered from this peer (pipelined requests keep their order) until
 * the queue drains below the low watermark. A write error (EPIPE,
 * ECONNRESET) aborts the conn; on_close tells why. Ignored on a conn that
 * is already closed. */
void sk_conn_write(struct sk_conn *c, const void *data, size_t len);
void sk_conn_printf(struct sk_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Bytes queued, not yet written. */
size_t sk_conn_pending(const struct sk_conn *c);

/* Set the back-pressure watermarks (default 4 MiB / 1 MiB; low <= high). */
void sk_conn_set_watermarks(struct sk_conn *c, size_t high, size_t low);

/* Stop / restart reading and delivering lines. A handler that answers
 * later (a request waiting for the store) pauses its conn until it has
 * written the answer: that keeps responses in request order, and EOF is
 * only acted on after resume, so the answer is not lost to the close.
 * Lines already buffered are delivered after resume, from the loop, not
 * from inside sk_conn_resume(). */
void sk_conn_pause(struct sk_conn *c);
void sk_conn_resume(struct sk_conn *c);

/* A handler that answers later holds the connection until it has
 * answered: while held, a peer's EOF (after its last request line) does
 * not close the connection, so answers written later still reach a
 * client that half-closed (`nc -N`). Holds nest; the last unhold acts on
 * an EOF that came meanwhile. Never needed for answers written inside
 * on_line. */
void sk_conn_hold(struct sk_conn *c);
void sk_conn_unhold(struct sk_conn *c);

/* Orderly close: stop reading, flush the queued output (for at most 5 s,
 * then give up with ETIMEDOUT), close the fd, call on_close, free. Safe
 * inside on_line; the conn stays valid until on_close returns. */
void sk_conn_close(struct sk_conn *c);

/* Close now, dropping queued output; on_close gets a copy of why (NULL:
 * a clean close). */
void sk_conn_abort(struct sk_conn *c, const struct sk_err *why);

/* The fd (-1 once closed), e.g. for sk_sock_peercred(). */
int sk_conn_fd(const struct sk_conn *c);

void *sk_conn_arg(const struct sk_conn *c);
void sk_conn_set_arg(struct sk_conn *c, void *arg);

/* --- blocking client --- */

struct sk_lineclient {
    int fd;
    struct sk_linebuf lb;
};

/* Use fd (blocking or not) for line requests; the client owns fd and
 * closes it in sk_lineclient_release(). */
void sk_lineclient_init(struct sk_lineclient *lc, int fd, size_t max_line);

/* Send line followed by "\n", all of it (EINTR and short writes are
 * retried). EINVAL if line contains "\n"; EPIPE and the like if the peer
 * is gone (never SIGPIPE on a socket). */
int sk_lineclient_send(struct sk_lineclient *lc, const char *line, struct sk_err *err);

/* Receive the next line (see sk_linebuf_next; valid until the next call),
 * waiting at most timeout_ms in total (-1: forever). Returns 1, or fails
 * with ETIMEDOUT, ECONNRESET "connection closed by peer" at EOF (also in
 * the middle of a line), EMSGSIZE/EINVAL for a bad line, or read's errno. */
int sk_lineclient_recv(struct sk_lineclient *lc, char **line, size_t *len, int timeout_ms,
                       struct sk_err *err);

/* Close the fd and free the buffer. */
void sk_lineclient_release(struct sk_lineclient *lc);

#endif
