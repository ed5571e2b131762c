/* api/server: requests answered later (from a timer, as the object verbs
 * answer after a store read barrier) still reach a client that
 * half-closed its connection right after its last request (`nc -N`),
 * in request order, whatever the loop does in between. */
#include "api/server.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/sock.h"
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct later {
    struct api_req *req;
    char word[64];
    size_t body; /* bytes of body line, for answers larger than a socket buffer */
};

/* later MS WORD [BODY]: "ok 1 WORD" and a body line, MS ms from now. */
static void
later_fire(struct sk_loop *loop, void *arg)
{
    struct later *l = arg;
    char *body = sk_malloc(l->body + 2);

    memset(body, 'b', l->body);
    body[l->body] = '\n';
    body[l->body + 1] = '\0';
    api_req_ok(l->req, 1, body, "%s", l->word);
    free(body);
    free(l);
}

static void
verb_later(struct api_req *req, char *args, void *arg)
{
    struct sk_loop *loop = arg;
    struct later *l = sk_calloc(1, sizeof(*l));
    unsigned ms = 0;

    l->req = req;
    l->body = 1;
    if (sscanf(args, "%u %63s %zu", &ms, l->word, &l->body) < 2) {
        free(l);
        api_req_error(req, 400, "BadRequest", "later MS WORD [BODY]");
        return;
    }
    sk_loop_timer_add(loop, ms, later_fire, l);
}

/* now WORD: answered at once. */
static void
verb_now(struct api_req *req, char *args, void *arg)
{
    api_req_ok(req, 0, NULL, "%s", args);
}

struct srv {
    struct sk_loop *loop;
    struct api_server *api;
    char path[256];
};

static void
srv_start(struct srv *s)
{
    static unsigned n;
    struct api_server_config cfg = {.socket_mode = 0600};
    struct sk_err err;

    sk_log_set_level(SK_LOG_WARN);
    ck_assert_int_eq(sk_loop_new(&s->loop, &err), 0);
    snprintf(s->path, sizeof(s->path), "%s/srv-%d-%u.sock", unit_tmpdir(), (int)getpid(), ++n);
    cfg.socket_path = s->path;
    ck_assert_msg(api_server_start(s->loop, &cfg, &s->api, &err) == 0, "%s", err.msg);
    api_server_handle(s->api, "later", verb_later, s->loop, false);
    api_server_handle(s->api, "now", verb_now, NULL, false);
}

static void
srv_stop(struct srv *s)
{
    int i;

    api_server_stop(s->api);
    for (i = 0; i < 100; i++) /* let the connections finish closing */
        sk_loop_run_once(s->loop, 0, NULL);
    sk_loop_free(s->loop);
}

/* Connect, send text, shut the write side at once (as nc -N does). */
static int
client_half_closed(struct srv *s, const char *text)
{
    struct sk_err err;
    int fd = sk_sock_connect_unix(s->path, &err);

    ck_assert_msg(fd >= 0, "%s", err.msg);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
    ck_assert_int_eq(sk_sock_set_nonblock(fd, &err), 0);
    return fd;
}

/* Read what fd has; true once the server closed it (EOF or reset). */
static bool
client_read(int fd, struct sk_buf *got)
{
    char buf[65536];
    ssize_t n;

    for (;;) {
        n = read(fd, buf, sizeof(buf));
        if (n > 0) {
            sk_buf_append(got, buf, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        return !(n < 0 && errno == EAGAIN);
    }
}

/* Serve until every client saw its connection end (bounded). */
static void
serve_until_closed(struct srv *s, int *fds, struct sk_buf *got, size_t n)
{
    size_t open = n, i;
    int iter;

    for (iter = 0; iter < 5000 && open; iter++) {
        sk_loop_run_once(s->loop, 5, NULL);
        for (i = 0; i < n; i++) {
            if (fds[i] >= 0 && client_read(fds[i], &got[i])) {
                close(fds[i]);
                fds[i] = -1;
                open--;
            }
        }
    }
    ck_assert_msg(open == 0, "%zu connections still open", open);
}

static const struct {
    const char *send;
    const char *answer; /* status lines, body lines dropped */
} half_closed[] = {
    {"later 20 a\n", "ok 1 a\n"},
    {"later 0 a\n", "ok 1 a\n"},
    {"later 20 a", "ok 1 a\n"}, /* the last line without "\n" */
    {"later 30 a\nnow b\nlater 10 c\n\nlater 0 d\n", "ok 1 a\nok 0 b\nok 1 c\nok 1 d\n"},
    {"now a\nlater 15 b\n", "ok 0 a\nok 1 b\n"},
    {"bogus\nlater 5 a\n", "error 400 BadRequest unknown verb 'bogus'\nok 1 a\n"},
    /* Larger than the socket buffers: written in parts after EOF. */
    {"later 10 a 3000000\nnow b\n", "ok 1 a\nok 0 b\n"},
};

/* Status lines of got, in order (body lines are the "b..." ones). */
static void
status_lines(const struct sk_buf *got, struct sk_buf *out)
{
    const char *p = got->data ? got->data : "", *nl;

    while (*p) {
        nl = strchr(p, '\n');
        if (!nl)
            nl = p + strlen(p);
        if (*p != 'b')
            sk_buf_append(out, p, (size_t)(nl - p + (*nl ? 1 : 0)));
        p = *nl ? nl + 1 : nl;
    }
    if (!out->data)
        sk_buf_puts(out, "");
}

START_TEST(late_answers_reach_a_client_that_half_closed)
{
    struct srv s;
    struct sk_buf got = SK_BUF_INIT, st = SK_BUF_INIT;
    int fd;

    srv_start(&s);
    fd = client_half_closed(&s, half_closed[_i].send);
    serve_until_closed(&s, &fd, &got, 1);
    status_lines(&got, &st);
    ck_assert_str_eq(st.data, half_closed[_i].answer);
    sk_buf_release(&got);
    sk_buf_release(&st);
    srv_stop(&s);
}
END_TEST

/* Many clients at once, each half-closed right after one request that is
 * answered later, in any order: every one gets its answer. */
START_TEST(every_half_closed_client_of_many_gets_its_answer)
{
    enum { N = 200 };
    struct srv s;
    struct sk_buf got[N];
    int fds[N], i;
    char line[64], want[64];

    srv_start(&s);
    for (i = 0; i < N; i++) {
        sk_buf_init(&got[i]);
        snprintf(line, sizeof(line), "later %d w%d\n", (i * 7) % 13, i);
        fds[i] = client_half_closed(&s, line);
        /* Interleave: some answers are due before later clients connect. */
        if (i % 10 == 9)
            sk_loop_run_once(s.loop, 1, NULL);
    }
    serve_until_closed(&s, fds, got, N);
    for (i = 0; i < N; i++) {
        snprintf(want, sizeof(want), "ok 1 w%d\nb\n", i);
        ck_assert_str_eq(got[i].data ? got[i].data : "", want);
        sk_buf_release(&got[i]);
    }
    srv_stop(&s);
}
END_TEST

/* A full pipeline of late requests, then EOF: the server pauses the
 * connection on the way and still answers every request, in order. */
START_TEST(pipeline_of_late_requests_then_eof_is_answered_in_order)
{
    struct srv s;
    struct sk_buf req = SK_BUF_INIT, want = SK_BUF_INIT, got = SK_BUF_INIT;
    int fd, i;

    srv_start(&s);
    for (i = 0; i < 3 * API_MAX_PIPELINE; i++) {
        sk_buf_printf(&req, "later %d r%d\n", i % 3, i);
        sk_buf_printf(&want, "ok 1 r%d\nb\n", i);
    }
    fd = client_half_closed(&s, req.data);
    serve_until_closed(&s, &fd, &got, 1);
    ck_assert_str_eq(got.data, want.data);
    sk_buf_release(&req);
    sk_buf_release(&want);
    sk_buf_release(&got);
    srv_stop(&s);
}
END_TEST

/* A client that went away entirely (not half-closed) before its late
 * answer: nothing breaks, and the server serves the next client. */
START_TEST(late_answer_to_a_vanished_client_is_dropped)
{
    struct srv s;
    struct sk_buf got = SK_BUF_INIT;
    int fd, i;

    srv_start(&s);
    fd = client_half_closed(&s, "later 20 gone\n");
    for (i = 0; i < 3; i++)
        sk_loop_run_once(s.loop, 0, NULL);
    close(fd);
    for (i = 0; i < 10; i++)
        sk_loop_run_once(s.loop, 5, NULL);
    fd = client_half_closed(&s, "later 5 next\n");
    serve_until_closed(&s, &fd, &got, 1);
    ck_assert_str_eq(got.data, "ok 1 next\nb\n");
    sk_buf_release(&got);
    srv_stop(&s);
}
END_TEST

/* ---- streams that take input (exec -i through the relay) ---- */

struct talk {
    struct sk_loop *loop;
    struct api_req *req;
    bool gone;
};

static void
talk_resume(struct sk_loop *loop, void *arg)
{
    struct talk *t = arg;

    if (t->gone)
        return;
    api_req_stream_write(t->req, "resumed\n", 8);
    api_req_stream_pause(t->req, false);
}

/* each line: "got LINE"; "pause": no lines for 20 ms; "fin": the last
 * word, then the peer's close ends it; "end": ended here */
static void
talk_input(struct api_req *req, char *line, size_t len, void *arg)
{
    struct talk *t = arg;
    struct sk_buf out = SK_BUF_INIT;

    sk_buf_printf(&out, "got %s\n", line);
    api_req_stream_write(req, out.data, out.len);
    sk_buf_release(&out);
    if (strcmp(line, "pause") == 0) {
        api_req_stream_pause(req, true);
        sk_loop_timer_add(t->loop, 20, talk_resume, t);
    } else if (strcmp(line, "fin") == 0) {
        api_req_stream_unhold(req);
    } else if (strcmp(line, "end") == 0) {
        t->gone = true;
        api_req_stream_end(req);
    }
}

static void
talk_close(struct api_req *req, void *arg)
{
    ((struct talk *)arg)->gone = true;
}

static struct talk talk_state;

static void
verb_talk(struct api_req *req, char *args, void *arg)
{
    talk_state = (struct talk){.loop = arg, .req = req};
    api_req_stream_begin(req, "ok stream\n", 10, talk_close, &talk_state);
    if (strcmp(args, "deaf") != 0)
        api_req_stream_input(req, talk_input);
}

static const struct {
    const char *send;
    const char *answer;
} talks[] = {
    {"talk\na\nb\nend\nc\n", "ok stream\ngot a\ngot b\ngot end\n"},
    /* lines that came while paused wait, in order */
    {"talk\npause\nx\ny\nend\n", "ok stream\ngot pause\nresumed\ngot x\ngot y\ngot end\n"},
    /* after unhold the client's half-close ends the stream */
    {"talk\nfin\n", "ok stream\ngot fin\n"},
    /* without an input handler later lines are ignored, as before */
    {"talk deaf\nnow a\nend\n", "ok stream\n"},
};

START_TEST(a_stream_takes_its_connection_s_later_lines)
{
    struct srv s;
    struct sk_buf got = SK_BUF_INIT;
    int fd;

    srv_start(&s);
    api_server_handle(s.api, "talk", verb_talk, s.loop, false);
    fd = client_half_closed(&s, talks[_i].send);
    if (_i == 3) { /* a deaf stream holds on: read what came, then go */
        for (int i = 0; i < 50; i++)
            sk_loop_run_once(s.loop, 2, NULL);
        client_read(fd, &got);
        close(fd);
    } else {
        serve_until_closed(&s, &fd, &got, 1);
    }
    ck_assert_str_eq(got.data ? got.data : "", talks[_i].answer);
    sk_buf_release(&got);
    srv_stop(&s);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("api_server");
    TCase *tc = tcase_create("half-close");

    tcase_set_timeout(tc, 20);
    tcase_add_loop_test(tc, late_answers_reach_a_client_that_half_closed, 0,
                        sizeof(half_closed) / sizeof(half_closed[0]));
    tcase_add_test(tc, every_half_closed_client_of_many_gets_its_answer);
    tcase_add_test(tc, pipeline_of_late_requests_then_eof_is_answered_in_order);
    tcase_add_test(tc, late_answer_to_a_vanished_client_is_dropped);
    tcase_add_loop_test(tc, a_stream_takes_its_connection_s_later_lines, 0,
                        sizeof(talks) / sizeof(talks[0]));
    suite_add_tcase(s, tc);
    return unit_main(s);
}
