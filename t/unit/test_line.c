/* lib/line: line framing, connections on the loop, the blocking client. */
#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/line.h"
#include "lib/loop.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* --- framing core --- */

/* Drain every line into out as "line|" (errors as "!413|", "!NUL|"),
 * stopping at a sticky error. Returns false once framing is lost. */
static bool
drain(struct sk_linebuf *lb, struct sk_buf *out)
{
    struct sk_err err;
    char *line;
    size_t len;
    int rc;

    while ((rc = sk_linebuf_next(lb, &line, &len, &err)) != 0) {
        if (rc == -EMSGSIZE) {
            sk_buf_puts(out, "!413|");
            return false;
        }
        if (rc < 0) {
            ck_assert_int_eq(rc, -EINVAL);
            ck_assert_str_eq(err.msg, "line contains a NUL byte");
            sk_buf_puts(out, "!NUL|");
            continue;
        }
        ck_assert_uint_eq(strlen(line), len);
        sk_buf_printf(out, "%s|", line);
    }
    return true;
}

/* Feed in[0..len) cut at the given offsets (cuts[] ascending, ending with
 * len), draining after each piece. */
static void
feed_cut(struct sk_linebuf *lb, const char *in, size_t len, const size_t *cuts, size_t ncuts,
         bool eof, struct sk_buf *out)
{
    size_t i, from = 0;

    for (i = 0; i < ncuts; i++) {
        sk_linebuf_feed(lb, in + from, cuts[i] - from);
        from = cuts[i];
        if (!drain(lb, out))
            return;
    }
    if (eof) {
        sk_linebuf_finish(lb);
        drain(lb, out);
    }
}

#define IN(s) s, sizeof(s) - 1
static const struct {
    const char *in;
    size_t len;
    size_t max;
    bool eof;
    const char *want;
} framing[] = {
    {IN("a\nb\n"), 8, false, "a|b|"},
    {IN("a\r\nb\r\n"), 8, false, "a|b|"},
    {IN("\n\r\n\n"), 8, false, "|||"},
    {IN("abc"), 8, false, ""},
    {IN("abc"), 8, true, "abc|"},
    {IN("a\nb"), 8, true, "a|b|"},
    {IN("a\nb\r"), 8, true, "a|b|"},
    {IN("a\rb\n"), 8, false, "a\rb|"},
    {IN("a\r\r\n"), 8, false, "a\r|"},
    {IN(""), 8, true, ""},
    /* exactly max, with and without "\r" */
    {IN("abcd\n"), 4, false, "abcd|"},
    {IN("abcd\r\n"), 4, false, "abcd|"},
    {IN("abcd\r"), 4, false, ""},
    {IN("\n\n"), 0, false, "||"},
    /* max + 1: refused as soon as it is sure, and framing stays lost */
    {IN("abcde\n"), 4, false, "!413|"},
    {IN("abcde"), 4, false, "!413|"},
    {IN("abcd\rx"), 4, false, "!413|"},
    {IN("abcd\r\r\n"), 4, false, "!413|"},
    {IN("ab\nabcde\nc\n"), 4, false, "ab|!413|"},
    {IN("x"), 0, false, "!413|"},
    /* NUL bytes: that line is refused, the next one is fine */
    {IN("a\0b\nc\n"), 8, false, "!NUL|c|"},
    {IN("\0\n"), 8, false, "!NUL|"},
    {IN("abc\n\0"), 8, false, "abc|"},
    {IN("abc\n\0"), 8, true, "abc|!NUL|"},
};

static void
check_framing(int i, const size_t *cuts, size_t ncuts, const char *how)
{
    struct sk_linebuf lb;
    struct sk_buf out = SK_BUF_INIT;

    sk_linebuf_init(&lb, framing[i].max);
    feed_cut(&lb, framing[i].in, framing[i].len, cuts, ncuts, framing[i].eof, &out);
    sk_buf_puts(&out, "");
    ck_assert_msg(strcmp(out.data, framing[i].want) == 0, "case %d (%s): got '%s', want '%s'", i,
                  how, out.data, framing[i].want);
    sk_buf_release(&out);
    sk_linebuf_release(&lb);
}

START_TEST(framing_table_whatever_the_split)
{
    size_t len = framing[_i].len, cuts[64], a, b, k;

    /* In one piece. */
    cuts[0] = len;
    check_framing(_i, cuts, 1, "whole");
    /* Cut once and twice at every boundary. */
    for (a = 0; a <= len; a++) {
        for (b = a; b <= len; b++) {
            cuts[0] = a;
            cuts[1] = b;
            cuts[2] = len;
            check_framing(_i, cuts, 3, "cut");
        }
    }
    /* One byte at a time. */
    for (k = 0; k < len; k++)
        cuts[k] = k + 1;
    check_framing(_i, cuts, len ? len : 1, "bytes");
}
END_TEST

START_TEST(line_is_valid_until_next_call_and_writable)
{
    struct sk_linebuf lb;
    char *line;
    size_t len;

    sk_linebuf_init(&lb, 16);
    sk_linebuf_feed(&lb, "get pods\nx", 10);
    ck_assert_int_eq(sk_linebuf_next(&lb, &line, &len, NULL), 1);
    line[3] = '\0'; /* parsers may cut it up in place */
    ck_assert_str_eq(line, "get");
    ck_assert_int_eq(sk_linebuf_next(&lb, &line, &len, NULL), 0);
    ck_assert_uint_eq(sk_linebuf_pending(&lb), 1);
    sk_linebuf_release(&lb);
    ck_assert_uint_eq(sk_linebuf_pending(&lb), 0);
}
END_TEST

/* A long line fed one byte at a time, asking for a line after each byte:
 * a rescan from the line's start each time would be quadratic (2^38
 * steps here) and time the test out. */
START_TEST(many_small_feeds_scan_each_byte_once)
{
    enum { LONG = 1 << 19 };
    struct sk_linebuf lb;
    char *line;
    size_t len, i;
    int n = 0;

    sk_linebuf_init(&lb, 1 << 20);
    for (i = 0; i < LONG; i++) {
        sk_linebuf_feed(&lb, "y", 1);
        ck_assert_int_eq(sk_linebuf_next(&lb, &line, &len, NULL), 0);
    }
    sk_linebuf_feed(&lb, "\n", 1);
    ck_assert_int_eq(sk_linebuf_next(&lb, &line, &len, NULL), 1);
    ck_assert_uint_eq(len, LONG);
    /* Then many short lines: consumed space is reused, the big buffer
     * is given back, memory stays small. */
    for (i = 0; i < 200000; i++) {
        sk_linebuf_feed(&lb, i % 2 ? "k\n" : "ok 1 rev=", i % 2 ? 2 : 9);
        while (sk_linebuf_next(&lb, &line, &len, NULL) == 1)
            n++;
        ck_assert_uint_le(lb.cap, 4096);
    }
    ck_assert_int_eq(n, 100000);
    ck_assert_str_eq(line, "ok 1 rev=k");
    sk_linebuf_release(&lb);
}
END_TEST

START_TEST(pipelined_chunks_keep_buffer_bounded)
{
    struct sk_linebuf lb;
    struct sk_buf in = SK_BUF_INIT;
    char *line;
    size_t len, off;
    int n = 0;

    while (in.len < (1 << 20))
        sk_buf_printf(&in, "get pods default web-%d\n", n++);
    sk_linebuf_init(&lb, 64);
    n = 0;
    for (off = 0; off < in.len; off += 4000) {
        sk_linebuf_feed(&lb, in.data + off, in.len - off < 4000 ? in.len - off : 4000);
        while (sk_linebuf_next(&lb, &line, &len, NULL) == 1)
            ck_assert_int_eq(atoi(line + sizeof("get pods default web-") - 1), n++);
        ck_assert_uint_le(lb.cap, 16384);
    }
    sk_buf_release(&in);
    sk_linebuf_release(&lb);
}
END_TEST

/* --- connections --- */

static struct sk_loop *loop;
static int client = -1; /* the test's end of the socketpair */
static struct sk_conn *conn;
static struct sk_buf got;   /* bytes the client received */
static struct sk_buf lines; /* lines the server saw, "line|" */
static bool client_eof;
static int closes, reply_seq;
static struct sk_err close_why;
static bool close_clean;

/* "<seq> " then n bytes of a pattern then "\n", in three writes. */
static void
reply_big(struct sk_conn *c, size_t n)
{
    char *p = sk_malloc(n);
    size_t i;

    for (i = 0; i < n; i++)
        p[i] = (char)('a' + i % 26);
    sk_conn_printf(c, "%d ", reply_seq++);
    sk_conn_write(c, p, n);
    sk_conn_write(c, "\n", 1);
    free(p);
}

/* "later MS [BIG]": hold the conn and answer from a timer MS ms later,
 * as a handler waiting for the store does; BIG bytes of answer, more
 * than the socket takes at once. */
struct later {
    struct sk_conn *c;
    size_t big;
};

static int lates_pending;

static void
later_fire(struct sk_loop *l, void *arg)
{
    struct later *lt = arg;

    if (lt->big)
        reply_big(lt->c, lt->big);
    else
        sk_conn_printf(lt->c, "late %d\n", reply_seq++);
    sk_conn_unhold(lt->c);
    lates_pending--;
    free(lt);
}

static void
later_start(struct sk_conn *c, const char *args)
{
    struct later *lt = sk_calloc(1, sizeof(*lt));
    unsigned ms = 0;

    lt->c = c;
    sscanf(args, "%u %zu", &ms, &lt->big);
    sk_conn_hold(c);
    lates_pending++;
    sk_loop_timer_add(loop, ms, later_fire, lt);
}

static bool peek_empty;

static void
on_line(struct sk_conn *c, char *line, size_t len, void *arg)
{
    struct sk_err why;

    ck_assert_ptr_eq(arg, &got);
    sk_buf_printf(&lines, "%s|", line);
    if (strcmp(line, "quit") == 0) {
        sk_conn_write(c, "bye\n", 4);
        sk_conn_close(c);
        sk_conn_close(c); /* twice is harmless */
    } else if (strcmp(line, "abort") == 0) {
        sk_err_set(&why, ECONNABORTED, "aborted by test");
        sk_conn_abort(c, &why);
        sk_conn_write(c, "lost\n", 5); /* dropped */
        sk_conn_close(c);
    } else if (strcmp(line, "peek") == 0) {
        char b;

        sk_conn_printf(c, "peeked\n");
        /* Inside the iteration the answer is queued, not sent. */
        peek_empty = recv(client, &b, 1, MSG_PEEK | MSG_DONTWAIT) < 0 && errno == EAGAIN;
    } else if (strcmp(line, "pause") == 0) {
        sk_conn_pause(c);
        sk_conn_printf(c, "paused\n");
    } else if (strncmp(line, "big ", 4) == 0) {
        reply_big(c, (size_t)atol(line + 4));
    } else if (strncmp(line, "later ", 6) == 0) {
        later_start(c, line + 6);
    } else {
        sk_conn_printf(c, "ok %s\n", line);
    }
}

static void
on_close(struct sk_conn *c, const struct sk_err *why, void *arg)
{
    ck_assert_ptr_eq(c, conn);
    ck_assert_int_eq(sk_conn_fd(c), -1);
    closes++;
    close_clean = why == NULL;
    if (why)
        close_why = *why;
    sk_conn_write(c, "late\n", 5); /* dropped, not a crash */
    conn = NULL;
}

static const struct sk_conn_ops ops = {on_line, on_close};

static void
conn_setup_max(size_t max_line)
{
    int sv[2];

    ck_assert_int_eq(sk_loop_new(&loop, NULL), 0);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    client = sv[1];
    ck_assert_int_eq(fcntl(client, F_SETFL, O_NONBLOCK), 0);
    sk_buf_init(&got);
    sk_buf_init(&lines);
    client_eof = false;
    closes = 0;
    lates_pending = 0;
    reply_seq = 0;
    conn = sk_conn_new(loop, sv[0], max_line, &ops, &got);
    ck_assert_ptr_eq(sk_conn_arg(conn), &got);
}

static void
conn_setup(void)
{
    conn_setup_max(1024);
}

static void
conn_setup_small(void)
{
    conn_setup_max(16);
}

static void
conn_teardown(void)
{
    if (conn)
        sk_conn_abort(conn, NULL);
    sk_loop_free(loop);
    ck_assert_int_eq(closes, 1);
    if (client >= 0)
        close(client);
    client = -1;
    sk_buf_release(&got);
    sk_buf_release(&lines);
}

static void
client_send(const void *data, size_t len)
{
    ck_assert_int_eq(write(client, data, len), (ssize_t)len);
}

/* One round: run the loop once, then read what the client can. */
static int
pump(int timeout_ms)
{
    char buf[4096];
    ssize_t n = -1;
    int ran = sk_loop_run_once(loop, timeout_ms, NULL);

    ck_assert_int_ge(ran, 0);
    while (!client_eof && (n = read(client, buf, sizeof(buf))) != 0) {
        if (n < 0) {
            ck_assert_int_eq(errno, EAGAIN);
            break;
        }
        sk_buf_append(&got, buf, (size_t)n);
        ran++;
    }
    if (n == 0)
        client_eof = true;
    return ran;
}

#define PUMP_UNTIL(cond)                                                                           \
    do {                                                                                           \
        int iter_;                                                                                 \
        for (iter_ = 0; iter_ < 300 && !(cond); iter_++)                                           \
            pump(10);                                                                              \
        ck_assert_msg((cond), "condition never held: %s", #cond);                                  \
    } while (0)

/* Run until nothing happens any more (bounded). */
static void
pump_idle(void)
{
    int i, quiet = 0;

    for (i = 0; i < 2000 && quiet < 3; i++)
        quiet = pump(0) ? 0 : quiet + 1;
    ck_assert_int_eq(quiet, 3);
}

START_TEST(pipelined_requests_are_answered_in_order)
{
    client_send("get a\r\nget b\n\nget c\n", 20);
    PUMP_UNTIL(got.len >= 31);
    ck_assert_str_eq(got.data, "ok get a\nok get b\nok \nok get c\n");
    ck_assert_int_eq(closes, 0);
}
END_TEST

START_TEST(answers_go_out_at_the_end_of_the_iteration)
{
    peek_empty = false;
    client_send("peek\nget a\n", 11);
    PUMP_UNTIL(got.len >= 16);
    ck_assert(peek_empty);
    ck_assert_str_eq(got.data, "peeked\nok get a\n");
}
END_TEST

START_TEST(eof_after_pipelined_lines_answers_them_then_closes)
{
    client_send("a\nb\nc", 5);
    ck_assert_int_eq(shutdown(client, SHUT_WR), 0);
    PUMP_UNTIL(client_eof && closes == 1);
    ck_assert_str_eq(got.data, "ok a\nok b\nok c\n");
    ck_assert(close_clean);
}
END_TEST

/* nc -N: the request, then at once the half-close. The answer comes
 * from a timer, after the conn has read EOF: the hold keeps it open. */
START_TEST(held_conn_answers_a_peer_that_half_closed_from_a_timer)
{
    client_send("later 20\n", 9);
    ck_assert_int_eq(shutdown(client, SHUT_WR), 0);
    PUMP_UNTIL(client_eof && closes == 1);
    ck_assert_str_eq(got.data, "late 0\n");
    ck_assert(close_clean);
    ck_assert_int_eq(lates_pending, 0);
}
END_TEST

/* Several holds, answered out of order, one of them larger than the
 * socket buffer: every answer is flushed before the close. */
START_TEST(eof_waits_for_every_hold_and_the_flush_of_their_answers)
{
    int sndbuf = 4096;

    setsockopt(sk_conn_fd(conn), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    client_send("later 30\nlater 0 200000\nnow\nlater 10\n", 37);
    ck_assert_int_eq(shutdown(client, SHUT_WR), 0);
    PUMP_UNTIL(client_eof && closes == 1);
    ck_assert(close_clean);
    ck_assert_int_eq(lates_pending, 0);
    ck_assert_uint_eq(got.len, strlen("ok now\n") + 2 + 200000 + 1 + 2 * strlen("late 1\n"));
    ck_assert(strncmp(got.data, "ok now\n0 ", 9) == 0);
    ck_assert(strcmp(got.data + got.len - 14, "late 1\nlate 2\n") == 0);
}
END_TEST

START_TEST(close_inside_on_line_flushes_and_stops_reading)
{
    client_send("x\nquit\nafter\n", 13);
    PUMP_UNTIL(client_eof && closes == 1);
    ck_assert_str_eq(got.data, "ok x\nbye\n");
    ck_assert_str_eq(lines.data, "x|quit|");
    ck_assert(close_clean);
}
END_TEST

START_TEST(abort_inside_on_line_drops_output_and_reports_why)
{
    client_send("abort\nafter\n", 12);
    PUMP_UNTIL(client_eof && closes == 1);
    ck_assert_uint_eq(got.len, 0);
    ck_assert_str_eq(lines.data, "abort|");
    ck_assert(!close_clean);
    ck_assert_int_eq(close_why.code, ECONNABORTED);
    ck_assert_str_eq(close_why.msg, "aborted by test");
}
END_TEST

START_TEST(on_close_runs_from_the_loop_not_inside_abort)
{
    sk_conn_abort(conn, NULL);
    ck_assert_int_eq(closes, 0);
    ck_assert_int_eq(sk_conn_fd(conn), -1);
    sk_conn_write(conn, "x", 1); /* still valid memory, ignored */
    pump(0);
    ck_assert_int_eq(closes, 1);
    ck_assert(close_clean);
}
END_TEST

/* After a framing error the server answers, shuts its write side and
 * reads to the peer's EOF before closing, so the answer is not lost to a
 * reset. */
static void
check_rejected(const char *send, size_t len, const char *answer, int code)
{
    client_send(send, len);
    PUMP_UNTIL(client_eof);
    ck_assert_int_eq(closes, 0);
    ck_assert_int_eq(shutdown(client, SHUT_WR), 0);
    PUMP_UNTIL(closes == 1);
    ck_assert_str_eq(got.data, answer);
    ck_assert(!close_clean);
    ck_assert_int_eq(close_why.code, code);
}

START_TEST(overlong_line_gets_413_before_its_end)
{
    char spam[40];

    memcpy(spam, "ok\n", 3);
    memset(spam + 3, 'A', sizeof(spam) - 3);
    /* No "\n" ever comes: the server must not wait for one. */
    check_rejected(spam, sizeof(spam),
                   "ok ok\nerror 413 RequestTooLarge line longer than 16 bytes\n", EMSGSIZE);
    ck_assert_str_eq(close_why.msg, "line longer than 16 bytes");
}
END_TEST

START_TEST(line_with_nul_gets_400)
{
    check_rejected("a\0b\nc\n", 6, "error 400 BadRequest line contains a NUL byte\n", EINVAL);
}
END_TEST

/* The peer sends many requests whose answers it does not read: the
 * server answers until its queue passes the high watermark, then stops
 * taking requests; once the peer reads, the rest are answered in order. */
START_TEST(backpressure_stops_reading_until_peer_catches_up)
{
    struct sk_linebuf lb;
    struct sk_err err;
    char req[64 * 10 + 1] = "", seq[16], *line;
    int i, n, sndbuf = 4096;
    size_t len;

    for (i = 0; i < 64; i++)
        strcat(req, "big 30000\n");
    sk_conn_set_watermarks(conn, 100000, 20000);
    setsockopt(sk_conn_fd(conn), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    client_send(req, strlen(req));
    /* Read nothing: only a few requests may be served. */
    client_eof = true; /* stops pump() from reading */
    pump_idle();
    n = reply_seq;
    ck_assert_int_gt(n, 0);
    ck_assert_int_lt(n, 10);
    ck_assert_uint_gt(sk_conn_pending(conn), 100000);
    /* The peer reads: everything gets answered, in order. */
    client_eof = false;
    PUMP_UNTIL(got.len >= 64 * 30001u);
    ck_assert_int_eq(reply_seq, 64);
    sk_linebuf_init(&lb, 40000);
    sk_linebuf_feed(&lb, got.data, got.len);
    for (i = 0; i < 64; i++) {
        ck_assert_int_eq(sk_linebuf_next(&lb, &line, &len, &err), 1);
        snprintf(seq, sizeof(seq), "%d ", i);
        ck_assert(strncmp(line, seq, strlen(seq)) == 0);
        ck_assert_uint_eq(len, 30000 + strlen(seq));
        ck_assert_int_eq(line[len - 1], 'a' + 29999 % 26);
    }
    sk_linebuf_release(&lb);
    ck_assert_uint_eq(sk_conn_pending(conn), 0);
}
END_TEST

/* One answer much larger than the socket buffer, read in small pieces:
 * it arrives whole and intact. */
START_TEST(partial_writes_deliver_everything_intact)
{
    int size = 1000000, sndbuf = 4096;
    size_t i;

    ck_assert_int_eq(setsockopt(sk_conn_fd(conn), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)),
                     0);
    client_send("big 1000000\n", 12);
    PUMP_UNTIL(sk_conn_pending(conn) > 0);
    PUMP_UNTIL(got.len == (size_t)size + 3);
    ck_assert(strncmp(got.data, "0 ", 2) == 0);
    for (i = 0; i < (size_t)size; i++)
        if (got.data[2 + i] != 'a' + (char)(i % 26))
            ck_abort_msg("byte %zu corrupted", i);
    ck_assert_int_eq(got.data[got.len - 1], '\n');
    ck_assert_uint_eq(sk_conn_pending(conn), 0);
}
END_TEST

START_TEST(peer_gone_while_writing_is_reported)
{
    int sndbuf = 4096;

    setsockopt(sk_conn_fd(conn), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    client_send("big 1000000\n", 12);
    PUMP_UNTIL(sk_conn_pending(conn) > 0);
    close(client);
    client = -1;
    client_eof = true;
    PUMP_UNTIL(closes == 1);
    ck_assert(!close_clean);
    ck_assert_msg(close_why.code == EPIPE || close_why.code == ECONNRESET, "%s", close_why.msg);
}
END_TEST

START_TEST(pause_holds_lines_and_resume_delivers_them)
{
    client_send("pause\nb\nc\n", 10);
    PUMP_UNTIL(got.len == 7);
    pump_idle();
    ck_assert_str_eq(lines.data, "pause|");
    /* EOF while paused: acted on only after resume. */
    shutdown(client, SHUT_WR);
    pump_idle();
    ck_assert_int_eq(closes, 0);
    sk_conn_resume(conn);
    sk_conn_resume(conn);
    ck_assert_str_eq(lines.data, "pause|"); /* not from inside resume */
    PUMP_UNTIL(client_eof && closes == 1);
    ck_assert_str_eq(lines.data, "pause|b|c|");
    ck_assert_str_eq(got.data, "paused\nok b\nok c\n");
}
END_TEST

START_TEST(conn_on_unwatchable_fd_reports_through_on_close)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    struct sk_conn *old = conn;

    /* /dev/null cannot be polled by epoll (EPERM). */
    sk_conn_abort(old, NULL);
    pump(0);
    ck_assert_int_eq(closes, 1);
    closes = 0;
    conn = sk_conn_new(loop, fd, 16, &ops, &got);
    ck_assert_int_eq(closes, 0);
    pump(0);
    ck_assert_int_eq(closes, 1);
    ck_assert_int_eq(close_why.code, EPERM);
}
END_TEST

/* --- blocking client --- */

START_TEST(lineclient_sends_and_receives)
{
    struct sk_lineclient lc;
    struct sk_err err;
    char buf[64], *line;
    size_t len;
    int sv[2];

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    sk_lineclient_init(&lc, sv[1], 64);
    ck_assert_int_eq(sk_lineclient_send(&lc, "ping", &err), 0);
    ck_assert_int_eq(read(sv[0], buf, sizeof(buf)), 5);
    ck_assert(memcmp(buf, "ping\n", 5) == 0);
    ck_assert_int_eq(sk_lineclient_send(&lc, "a\nb", &err), -EINVAL);
    ck_assert_int_eq(write(sv[0], "ok 1\r\nwor", 9), 9);
    ck_assert_int_eq(sk_lineclient_recv(&lc, &line, &len, 1000, &err), 1);
    ck_assert_str_eq(line, "ok 1");
    /* Half a line is not a line: the wait times out. */
    ck_assert_int_eq(sk_lineclient_recv(&lc, &line, &len, 20, &err), -ETIMEDOUT);
    ck_assert_int_eq(write(sv[0], "ld\n", 3), 3);
    ck_assert_int_eq(sk_lineclient_recv(&lc, &line, &len, -1, &err), 1);
    ck_assert_str_eq(line, "world");
    ck_assert_int_eq(write(sv[0], "cut", 3), 3);
    close(sv[0]);
    ck_assert_int_eq(sk_lineclient_recv(&lc, &line, &len, 1000, &err), -ECONNRESET);
    ck_assert_str_eq(err.msg, "connection closed by peer");
    /* The peer is gone: EPIPE, and no SIGPIPE kills us. */
    ck_assert_int_eq(sk_lineclient_send(&lc, "ping", &err), -EPIPE);
    sk_lineclient_release(&lc);
    ck_assert_int_eq(lc.fd, -1);
    sk_lineclient_release(&lc);
}
END_TEST

START_TEST(lineclient_reports_overlong_answer)
{
    struct sk_lineclient lc;
    struct sk_err err;
    char *line;
    size_t len;
    int sv[2];

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    sk_lineclient_init(&lc, sv[1], 4);
    ck_assert_int_eq(write(sv[0], "abcdef", 6), 6);
    ck_assert_int_eq(sk_lineclient_recv(&lc, &line, &len, 1000, &err), -EMSGSIZE);
    close(sv[0]);
    sk_lineclient_release(&lc);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("line");
    TCase *fr = tcase_create("framing");
    TCase *cn = tcase_create("conn");
    TCase *cl = tcase_create("client");

    tcase_add_loop_test(fr, framing_table_whatever_the_split, 0,
                        sizeof(framing) / sizeof(framing[0]));
    tcase_add_test(fr, line_is_valid_until_next_call_and_writable);
    tcase_add_test(fr, many_small_feeds_scan_each_byte_once);
    tcase_add_test(fr, pipelined_chunks_keep_buffer_bounded);
    suite_add_tcase(s, fr);

    tcase_add_checked_fixture(cn, conn_setup, conn_teardown);
    tcase_add_test(cn, pipelined_requests_are_answered_in_order);
    tcase_add_test(cn, answers_go_out_at_the_end_of_the_iteration);
    tcase_add_test(cn, eof_after_pipelined_lines_answers_them_then_closes);
    tcase_add_test(cn, held_conn_answers_a_peer_that_half_closed_from_a_timer);
    tcase_add_test(cn, eof_waits_for_every_hold_and_the_flush_of_their_answers);
    tcase_add_test(cn, close_inside_on_line_flushes_and_stops_reading);
    tcase_add_test(cn, abort_inside_on_line_drops_output_and_reports_why);
    tcase_add_test(cn, on_close_runs_from_the_loop_not_inside_abort);
    tcase_add_test(cn, line_with_nul_gets_400);
    tcase_add_test(cn, backpressure_stops_reading_until_peer_catches_up);
    tcase_add_test(cn, partial_writes_deliver_everything_intact);
    tcase_add_test(cn, peer_gone_while_writing_is_reported);
    tcase_add_test(cn, pause_holds_lines_and_resume_delivers_them);
    tcase_add_test(cn, conn_on_unwatchable_fd_reports_through_on_close);
    suite_add_tcase(s, cn);

    /* The 413 case needs a small max_line. */
    {
        TCase *small = tcase_create("conn-small");

        tcase_add_checked_fixture(small, conn_setup_small, conn_teardown);
        tcase_add_test(small, overlong_line_gets_413_before_its_end);
        suite_add_tcase(s, small);
    }

    tcase_add_test(cl, lineclient_sends_and_receives);
    tcase_add_test(cl, lineclient_reports_overlong_answer);
    suite_add_tcase(s, cl);
    return unit_main(s);
}
