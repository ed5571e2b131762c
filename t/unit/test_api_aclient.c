/* api/aclient.h, api/informer.h, api/events.h: the event-loop client,
 * informers and event recording against a real api_server on a
 * temporary UNIX socket (or TCP) with fake verbs (aclient_fake.h). */
#include "api/aclient.h"
#include "api/events.h"
#include "api/informer.h"
#include "api/object.h"
#include "aclient_fake.h"

#include <errno.h>

static struct sk_loop *
loop_new(void)
{
    struct sk_loop *loop;
    struct sk_err err;

    ck_assert_int_eq(sk_loop_new(&loop, &err), 0);
    return loop;
}

static struct api_aclient *
client_new(struct sk_loop *loop, const char *server, uint32_t bo_initial, uint32_t bo_max)
{
    struct api_aclient_config cfg = {
        .server = server,
        .backoff_initial_ms = bo_initial,
        .backoff_max_ms = bo_max,
        .seed = 42,
    };
    struct api_aclient *c;
    struct sk_err err;

    ck_assert_msg(api_aclient_new(loop, &cfg, &c, &err) == 0, "%s", err.msg);
    return c;
}

/* ---- calls ---- */

#define REC_MAX 256

struct rec {
    struct api_aclient *c;
    int n;
    int rc[REC_MAX];
    int code[REC_MAX];
    char body[REC_MAX][64];
    char msg[REC_MAX][160];
    size_t max_inflight;
    struct api_acall *cancel; /* cancelled by the first callback */
    bool free_client;         /* the first callback frees the client */
};

static void
rec_cb(struct api_aclient *c, int rc, const struct api_resp *resp, const struct sk_err *err,
       void *arg)
{
    struct rec *r = arg;
    struct api_aclient_stats st;
    int i = r->n++;

    ck_assert_int_lt(i, REC_MAX);
    r->rc[i] = rc;
    r->code[i] = resp ? resp->code : -1;
    r->body[i][0] = r->msg[i][0] = '\0';
    if (resp && resp->nlines)
        sk_strlcpy(r->body[i], resp->lines[0], sizeof(r->body[i]));
    if (err)
        sk_strlcpy(r->msg[i], err->msg, sizeof(r->msg[i]));
    api_aclient_stats(c, &st);
    if (st.inflight > r->max_inflight)
        r->max_inflight = st.inflight;
    if (r->cancel) {
        api_acall_cancel(r->cancel);
        r->cancel = NULL;
    }
    if (r->free_client) {
        r->free_client = false;
        api_aclient_free(c);
        r->c = NULL;
    }
}

struct want_n {
    struct rec *r;
    int n;
};

static bool
rec_has(void *arg)
{
    struct want_n *w = arg;

    return w->r->n >= w->n;
}

static void
call(struct api_aclient *c, const char *line, struct rec *r)
{
    struct sk_err err;

    ck_assert_ptr_nonnull(api_aclient_call(c, line, rec_cb, r, &err));
}

static void
wait_calls(struct sk_loop *loop, struct rec *r, int n)
{
    struct want_n w = {r, n};

    ck_assert_msg(run_until(loop, rec_has, &w, 3000), "%d of %d callbacks", r->n, n);
}

START_TEST(pipelined_calls_are_answered_in_request_order)
{
    struct sk_loop *loop = loop_new();
    struct fake *f = fake_start(loop);
    struct api_aclient *c = client_new(loop, f->path, 0, 0);
    struct api_aclient_stats st;
    struct rec *r = sk_calloc(1, sizeof(*r));
    char line[64], want[16];
    int i;

    /* More than the pipeline holds, some answered late by the server. */
    for (i = 0; i < 150; i++) {
        if (i % 10 == 3)
            snprintf(line, sizeof(line), "later %d w%d", i % 7, i);
        else
            snprintf(line, sizeof(line), "echo w%d", i);
        call(c, line, r);
    }
    api_aclient_stats(c, &st);
    ck_assert_uint_eq(st.queued, 150); /* nothing is sent before the loop runs */
    wait_calls(loop, r, 150);
    for (i = 0; i < 150; i++) {
        snprintf(want, sizeof(want), "w%d", i);
        ck_assert_int_eq(r->rc[i], 0);
        ck_assert_str_eq(r->body[i], want);
    }
    ck_assert_uint_le(r->max_inflight, API_MAX_PIPELINE);
    ck_assert_uint_ge(r->max_inflight, API_MAX_PIPELINE / 2);
    api_aclient_stats(c, &st);
    ck_assert_uint_eq(st.requests, 150);
    ck_assert_uint_eq(st.connects, 1);
    api_aclient_free(c);
    fake_stop(f);
    sk_loop_free(loop);
    free(r);
}
END_TEST

START_TEST(server_errors_map_to_errno_with_the_server_message)
{
    static const struct {
        const char *line;
        int rc, code;
        const char *msg;
    } cases[] = {
        {"fail 404 NotFound", -ENOENT, 404, "failed on purpose"},
        {"fail 409 AlreadyExists", -EEXIST, 409, "failed on purpose"},
        {"fail 409 Conflict", -ESTALE, 409, "failed on purpose"},
        {"fail 422 Invalid", -EINVAL, 422, "failed on purpose"},
        {"fail 410 Gone", -ENODATA, 410, "failed on purpose"},
        {"fail 403 Forbidden", -EPERM, 403, "failed on purpose"},
        {"fail 503 Unavailable", -EAGAIN, 503, "failed on purpose"},
        {"fail 500 InternalError", -EIO, 500, "failed on purpose"},
        {"nosuchverb x", -EBADMSG, 400, "unknown verb 'nosuchverb'"},
        {"echo fine", 0, 0, ""},
    };
    struct sk_loop *loop = loop_new();
    struct fake *f = fake_start(loop);
    struct api_aclient *c = client_new(loop, f->path, 0, 0);
    struct rec *r = sk_calloc(1, sizeof(*r));
    struct sk_err err;
    size_t i, n = sizeof(cases) / sizeof(cases[0]);

    for (i = 0; i < n; i++)
        call(c, cases[i].line, r);
    wait_calls(loop, r, (int)n);
    for (i = 0; i < n; i++) {
        ck_assert_msg(r->rc[i] == cases[i].rc, "'%s': rc %d", cases[i].line, r->rc[i]);
        ck_assert_int_eq(r->code[i], cases[i].code);
        ck_assert_str_eq(r->msg[i], cases[i].msg);
    }
    /* Lines that cannot be framed never reach the server. */
    ck_assert_ptr_null(api_aclient_call(c, "echo a\necho b", rec_cb, r, &err));
    ck_assert_int_eq(err.code, EINVAL);
    ck_assert_ptr_null(api_aclient_call(c, "", rec_cb, r, &err));
    api_aclient_free(c);
    fake_stop(f);
    sk_loop_free(loop);
    free(r);
}
END_TEST

START_TEST(connection_closed_mid_response_fails_the_calls_in_flight)
{
    struct sk_loop *loop = loop_new();
    struct fake *f = fake_start(loop);
    struct api_aclient *c = client_new(loop, f->path, 5, 20);
    struct rec *r = sk_calloc(1, sizeof(*r));

    call(c, "half", r);
    call(c, "echo after", r);
    wait_calls(loop, r, 2);
    ck_assert_int_eq(r->rc[0], -ECONNRESET);
    ck_assert_int_eq(r->code[0], -1); /* a transport error: no response */
    ck_assert_ptr_nonnull(strstr(r->msg[0], "lost before the response"));
    ck_assert_int_eq(r->rc[1], -ECONNRESET);
    /* The next call gets a new connection. */
    call(c, "echo again", r);
    wait_calls(loop, r, 3);
    ck_assert_int_eq(r->rc[2], 0);
    ck_assert_str_eq(r->body[2], "again");
    /* A line that is no status line: the connection cannot be trusted. */
    call(c, "junk", r);
    call(c, "echo later", r);
    wait_calls(loop, r, 5);
    ck_assert_int_eq(r->rc[3], -EPROTO);
    ck_assert_ptr_nonnull(strstr(r->msg[3], "malformed status line 'garbage'"));
    ck_assert_int_eq(r->rc[4], -EPROTO);
    call(c, "echo fine", r);
    wait_calls(loop, r, 6);
    ck_assert_int_eq(r->rc[5], 0);
    api_aclient_free(c);
    fake_stop(f);
    sk_loop_free(loop);
    free(r);
}
END_TEST

START_TEST(calls_not_answered_in_time_fail_and_the_connection_is_renewed)
{
    struct sk_loop *loop = loop_new();
    struct fake *f = fake_start(loop);
    struct api_aclient_config cfg = {.server = f->path, .seed = 5, .call_timeout_ms = 60};
    struct api_aclient *c;
    struct api_aclient_stats st;
    struct rec *r = sk_calloc(1, sizeof(*r));
    struct sk_err err;

    ck_assert_int_eq(api_aclient_new(loop, &cfg, &c, &err), 0);
    call(c, "later 20 quick", r);
    call(c, "later 250 slow", r);
    call(c, "echo behind", r);
    wait_calls(loop, r, 3);
    ck_assert_int_eq(r->rc[0], 0);
    ck_assert_int_eq(r->rc[1], -ETIMEDOUT);
    ck_assert_ptr_nonnull(strstr(r->msg[1], "no response from"));
    ck_assert_int_eq(r->rc[2], -ETIMEDOUT);
    call(c, "echo next", r);
    wait_calls(loop, r, 4);
    ck_assert_int_eq(r->rc[3], 0);
    api_aclient_stats(c, &st);
    ck_assert_uint_eq(st.connects, 2);
    api_aclient_free(c);
    run_for(loop, 250); /* the fake answers into the void */
    fake_stop(f);
    sk_loop_free(loop);
    free(r);
}
END_TEST

START_TEST(unreachable_server_fails_waiting_calls_then_recovers)
{
    struct sk_loop *loop = loop_new();
    struct fake *f = fake_start(loop);
    char path[300];
    struct api_aclient *c;
    struct api_aclient_stats st;
    struct rec *r = sk_calloc(1, sizeof(*r));

    snprintf(path, sizeof(path), "%s.missing", f->path);
    c = client_new(loop, path, 5, 20);
    call(c, "echo a", r);
    call(c, "echo b", r);
    wait_calls(loop, r, 2);
    ck_assert_int_eq(r->rc[0], -ENOENT);
    ck_assert_int_eq(r->rc[1], -ENOENT);
    ck_assert_ptr_nonnull(strstr(r->msg[0], path));
    api_aclient_stats(c, &st);
    ck_assert_uint_eq(st.connects, 1);
    ck_assert_uint_eq(st.connect_failures, 1);
    api_aclient_free(c);

    /* A TCP port nobody listens on: refused, reported the same way. */
    c = client_new(loop, "127.0.0.1:1", 5, 20);
    call(c, "echo c", r);
    wait_calls(loop, r, 3);
    ck_assert_int_eq(r->rc[2], -ECONNREFUSED);
    api_aclient_free(c);
    fake_stop(f);
    sk_loop_free(loop);
    free(r);
}
END_TEST

static bool
one_inflight(void *arg)
{
    struct api_aclient_stats st;

    api_aclient_stats(arg, &st);
    return st.inflight == 1;
}

START_TEST(a_list_of_servers_fails_over_to_the_next_one)
{
    struct sk_loop *loop = loop_new();
    struct fake *f1 = fake_start(loop), *f2 = fake_start(loop);
    char list[1024];
    struct api_aclient *c;
    struct api_aclient_stats st;
    struct rec *r = sk_calloc(1, sizeof(*r));
    struct sk_err err;

    /* The first server is not there: the waiting calls go to the next
     * one at once instead of failing. */
    snprintf(list, sizeof(list), "%s.missing, %s,%s", f1->path, f1->path, f2->path);
    c = client_new(loop, list, 5, 20);
    call(c, "echo a", r);
    wait_calls(loop, r, 1);
    ck_assert_int_eq(r->rc[0], 0);
    ck_assert_str_eq(r->body[0], "a");
    ck_assert_uint_eq(json_array_size(f1->log), 1);
    /* The server in use goes away with a call in flight: that call
     * fails (it may have been carried out), the next one reaches the
     * third server. */
    call(c, "later 2000 x", r);
    ck_assert(run_until(loop, one_inflight, c, 3000));
    fake_stop(f1);
    wait_calls(loop, r, 2);
    ck_assert_int_eq(r->rc[1], -ECONNRESET);
    call(c, "echo b", r);
    wait_calls(loop, r, 3);
    ck_assert_int_eq(r->rc[2], 0);
    ck_assert_str_eq(r->body[2], "b");
    ck_assert_uint_eq(json_array_size(f2->log), 1);
    api_aclient_stats(c, &st);
    ck_assert_uint_ge(st.connect_failures, 1);
    api_aclient_free(c);

    /* Every address is checked at the start. */
    struct api_aclient_config cfg = {.server = "127.0.0.1:6443,host:notaport"};
    ck_assert_int_eq(api_aclient_new(loop, &cfg, &c, &err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "host:notaport"));
    cfg.server = " , ";
    ck_assert_int_eq(api_aclient_new(loop, &cfg, &c, &err), -EINVAL);
    fake_stop(f2);
    sk_loop_free(loop);
    free(r);
}
END_TEST

START_TEST(backoff_doubles_with_jitter_and_stays_bounded)
{
    struct api_backoff b;
    uint64_t seed;
    uint32_t d, want, i;

    for (seed = 1; seed < 50; seed++) {
        api_backoff_init(&b, 100, 1000, seed);
        for (i = 0; i < 20; i++) {
            want = i < 4 ? 100u << i : 1000;
            d = api_backoff_next(&b);
            ck_assert_msg(d >= want / 2 && d <= want, "seed %lu attempt %u: %u not in [%u, %u]",
                          (unsigned long)seed, i, d, want / 2, want);
        }
        api_backoff_reset(&b);
        d = api_backoff_next(&b);
        ck_assert(d >= 50 && d <= 100);
    }
    /* Jitter: two clients with different seeds do not retry in step. */
    {
        struct api_backoff x, y;
        int same = 0;

        api_backoff_init(&x, 100, 10000, 1);
        api_backoff_init(&y, 100, 10000, 2);
        for (i = 0; i < 10; i++)
            same += api_backoff_next(&x) == api_backoff_next(&y);
        ck_assert_int_lt(same, 5);
    }
}
END_TEST

/* ---- watches ---- */

#define WREC_MAX 128

struct wrec {
    int n;
    enum api_watch_type type[WREC_MAX];
    char name[WREC_MAX][32];
    uint64_t rev[WREC_MAX];
    uint64_t at[WREC_MAX];
    int errcode[WREC_MAX];
    struct sk_loop *loop;
    bool cancel_first;
};

static void
wrec_cb(struct api_awatch *w, const struct api_watch_event *ev, void *arg)
{
    struct wrec *r = arg;
    int i = r->n++;

    ck_assert_int_lt(i, WREC_MAX);
    r->type[i] = ev->type;
    r->rev[i] = ev->rev;
    r->at[i] = sk_loop_now_ms(r->loop);
    r->errcode[i] = ev->err ? ev->err->code : 0;
    sk_strlcpy(r->name[i], ev->obj ? api_meta_name(ev->obj) : "", sizeof(r->name[i]));
    if (r->cancel_first) {
        r->cancel_first = false;
        api_awatch_cancel(w);
    }
}

/* The object events as "ADDED a,MODIFIED b,...". */
static void
wrec_objects(const struct wrec *r, char *out, size_t outsz)
{
    int i;

    out[0] = '\0';
    for (i = 0; i < r->n; i++) {
        if (r->type[i] > API_WATCH_DELETED)
            continue;
        snprintf(out + strlen(out), outsz - strlen(out), "%s%s %s", *out ? "," : "",
                 api_watch_type_name(r->type[i]), r->name[i]);
    }
}

struct wwant {
    struct wrec *r;
    int objects;
};

static bool
wrec_has(void *arg)
{
    struct wwant *w = arg;
    int i, n = 0;

    for (i = 0; i < w->r->n; i++)
        n += w->r->type[i] <= API_WATCH_DELETED;
    return n >= w->objects;
}

static void
wait_objects(struct sk_loop *loop, struct wrec *r, int n)
{
    struct wwant w = {r, n};

    ck_assert_msg(run_until(loop, wrec_has, &w, 3000), "got %d events", r->n);
}

static bool
watch_active(void *arg)
{
    return api_awatch_active(arg);
}

START_TEST(watch_resumes_from_the_last_revision_after_a_drop)
{
    struct sk_loop *loop = loop_new();
    struct fake *f = fake_start(loop);
    struct api_aclient *c = client_new(loop, f->path, 5, 20);
    struct wrec *r = sk_calloc(1, sizeof(*r));
    struct api_watch_opts o = {.resource = "pods"};
    struct api_awatch *w;
    char got[512];

    r->loop = loop;
    fake_put(f, "ns1", "a", NULL);
    fake_put(f, "ns1", "b", NULL);
    w = api_aclient_watch(c, &o, wrec_cb, r);
    wait_objects(loop, r, 2);
    ck_assert_str_eq(fake_last(f, "watch"), "watch pods");
    fake_put(f, "ns1", "c", NULL); /* rev 3 */
    wait_objects(loop, r, 3);
    ck_assert_uint_eq(api_awatch_rev(w), 3);

    fake_drop_watches(f);
    fake_put(f, "ns1", "d", NULL); /* rev 4, while disconnected */
    fake_put(f, "ns1", "a", "n1"); /* rev 5 */
    wait_objects(loop, r, 5);
    ck_assert_str_eq(fake_last(f, "watch"), "watch pods rev=3");
    wrec_objects(r, got, sizeof(got));
    ck_assert_str_eq(got, "ADDED a,ADDED b,ADDED c,ADDED d,MODIFIED a");
    ck_assert(run_until(loop, watch_active, w, 3000));

    /* Cut off as too slow after a change it did not see (as one a
     * selector filters out): resume from the server's rev=N. */
    f->rev++; /* rev 6 */
    fake_too_slow(f);
    fake_del(f, "ns1", "b"); /* rev 7 */
    wait_objects(loop, r, 6);
    ck_assert_str_eq(fake_last(f, "watch"), "watch pods rev=6");
    ck_assert_int_eq(r->type[r->n - 1], API_WATCH_DELETED);
    ck_assert_uint_eq(r->rev[r->n - 1], 7);
    ck_assert_uint_eq(f->watches, 3);

    /* A malformed event: reported, and the stream is resumed. */
    r->n = 0;
    fake_send_raw(f, "FROB {}\n");
    fake_put(f, "ns1", "e", NULL);
    fake_send_raw(f, "ADDED {not json\n");
    fake_put(f, "ns1", "f", NULL);
    wait_objects(loop, r, 2);
    wrec_objects(r, got, sizeof(got));
    ck_assert_str_eq(got, "ADDED e,ADDED f");
    ck_assert_int_eq(r->type[0], API_WATCH_ERROR);
    ck_assert_int_eq(r->errcode[0], EPROTO);
    ck_assert_uint_eq(api_awatch_rev(w), 9);
    api_aclient_free(c);
    run_for(loop, 20);
    fake_stop(f);
    sk_loop_free(loop);
    free(r);
}
END_TEST

START_TEST(watch_cut_before_any_new_event_replays_again)
{
    struct sk_loop *loop = loop_new();
    struct fake *f = fake_start(loop);
    struct api_aclient *c = client_new(loop, f->path, 5, 20);
    struct wrec *r = sk_calloc(1, sizeof(*r));
    struct api_watch_opts o = {.resource = "pods", .ns = "ns1"};
    char got[512];

    r->loop = loop;
    fake_put(f, "ns1", "a", NULL);
    fake_put(f, "ns1", "b", NULL);
    api_aclient_watch(c, &o, wrec_cb, r);
    wait_objects(loop, r, 2);
    /* Only replayed objects (revisions <= the snapshot) were seen: no
     * revision to resume from loses nothing, so the replay starts over. */
    fake_drop_watches(f);
    wait_objects(loop, r, 4);
    ck_assert_str_eq(fake_last(f, "watch"), "watch pods ns1");
    wrec_objects(r, got, sizeof(got));
    ck_assert_str_eq(got, "ADDED a,ADDED b,ADDED a,ADDED b");

    /* A bookmark at the snapshot revision ends the replay. */
    fake_send_raw(f, "BOOKMARK rev=2\n");
    fake_drop_watches(f);
    fake_put(f, "ns1", "c", NULL);
    wait_objects(loop, r, 5);
    ck_assert_str_eq(fake_last(f, "watch"), "watch pods ns1 rev=2");
    wrec_objects(r, got, sizeof(got));
    ck_assert_str_eq(got, "ADDED a,ADDED b,ADDED a,ADDED b,ADDED c");
    api_aclient_free(c);
    fake_stop(f);
    sk_loop_free(loop);
    free(r);
}
END_TEST

static bool
wrec_any(void *arg)
{
    return ((struct wrec *)arg)->n > 0;
}

START_TEST(watch_from_a_compacted_revision_reports_gone_and_stops)
{
    struct sk_loop *loop = loop_new();
    struct fake *f = fake_start(loop);
    struct api_aclient *c = client_new(loop, f->path, 5, 20);
    struct wrec *r = sk_calloc(1, sizeof(*r));
    struct api_watch_opts o = {.resource = "pods", .rev = 1};
    struct api_awatch *w;

    r->loop = loop;
    fake_put(f, "ns1", "a", NULL);
    fake_put(f, "ns1", "b", NULL);
    fake_put(f, "ns1", "c", NULL);
    f->compact = 3;
    w = api_aclient_watch(c, &o, wrec_cb, r);
    ck_assert(run_until(loop, wrec_any, r, 3000));
    ck_assert_int_eq(r->type[0], API_WATCH_GONE);
    ck_assert_int_eq(r->errcode[0], ENODATA);
    run_for(loop, 60);
    ck_assert_int_eq(r->n, 1);
    ck_assert_uint_eq(f->watches, 1); /* no retry: relisting is the caller's */
    api_awatch_cancel(w);
    api_aclient_free(c);
    fake_stop(f);
    sk_loop_free(loop);
    free(r);
}
END_TEST

START_TEST(silent_watch_streams_are_taken_for_dead_and_resumed)
{
    struct sk_loop *loop = loop_new();
    struct fake *f = fake_start(loop);
    struct api_aclient *c = client_new(loop, f->path, 5, 20);
    struct wrec *r = sk_calloc(1, sizeof(*r));
    struct api_watch_opts o = {.resource = "pods", .rev = 0, .idle_timeout_ms = 60};
    int i, errors = 0;

    r->loop = loop;
    fake_put(f, "ns1", "a", NULL);
    o.rev = f->rev;
    api_aclient_watch(c, &o, wrec_cb, r);
    run_for(loop, 300);
    for (i = 0; i < r->n; i++)
        if (r->type[i] == API_WATCH_ERROR && r->errcode[i] == ETIMEDOUT)
            errors++;
    ck_assert_int_ge(errors, 2);
    ck_assert_uint_ge(f->watches, 3);
    ck_assert_str_eq(fake_last(f, "watch"), "watch pods rev=1");
    api_aclient_free(c);
    fake_stop(f);
    sk_loop_free(loop);
    free(r);
}
END_TEST

START_TEST(reconnect_backoff_is_bounded_and_resets_once_connected)
{
    struct sk_loop *loop = loop_new();
    struct fake *f = fake_start(loop);
    char path[300];
    struct api_aclient *c;
    struct wrec *r = sk_calloc(1, sizeof(*r));
    struct api_watch_opts o = {.resource = "pods"};
    struct api_server_config cfg = {.socket_mode = 0600};
    struct api_server *srv2;
    struct api_awatch *w;
    struct sk_err err;
    int i, errors = 0;

    r->loop = loop;
    snprintf(path, sizeof(path), "%s.later", f->path);
    c = client_new(loop, path, 4, 32);
    w = api_aclient_watch(c, &o, wrec_cb, r);
    run_for(loop, 400);
    for (i = 0; i < r->n; i++) {
        ck_assert_int_eq(r->type[i], API_WATCH_ERROR);
        ck_assert_int_eq(r->errcode[i], ENOENT);
        errors++;
        if (i == 0)
            continue;
        /* Never longer than the bound (plus slack for a loaded machine). */
        ck_assert_msg(r->at[i] - r->at[i - 1] <= 32 + 48, "gap %d: %lu ms", i,
                      (unsigned long)(r->at[i] - r->at[i - 1]));
        /* Once grown to the bound, at least half of it (jitter). */
        if (i >= 5)
            ck_assert_msg(r->at[i] - r->at[i - 1] >= 16, "gap %d: %lu ms", i,
                          (unsigned long)(r->at[i] - r->at[i - 1]));
    }
    ck_assert_int_ge(errors, 8);
    ck_assert_int_le(errors, 400 / 2 + 1);

    /* The server appears: the watch connects by itself. */
    cfg.socket_path = path;
    ck_assert_int_eq(api_server_start(loop, &cfg, &srv2, &err), 0);
    api_server_handle(srv2, "watch", fv_watch, f, false);
    ck_assert(run_until(loop, watch_active, w, 3000));
    api_aclient_free(c);
    run_for(loop, 10);
    api_server_stop(srv2);
    fake_stop(f);
    sk_loop_free(loop);
    free(r);
}
END_TEST

START_TEST(callbacks_may_cancel_calls_watches_and_free_the_client)
{
    struct sk_loop *loop = loop_new();
    struct fake *f = fake_start(loop);
    struct api_aclient *c = client_new(loop, f->path, 5, 20);
    struct rec *r = sk_calloc(1, sizeof(*r));
    struct wrec *wr = sk_calloc(1, sizeof(*wr));
    struct api_watch_opts o = {.resource = "pods"};
    struct sk_err err;

    /* The first answer cancels the second call: only the third runs. */
    call(c, "echo one", r);
    r->cancel = api_aclient_call(c, "echo two", rec_cb, r, &err);
    call(c, "echo three", r);
    wait_calls(loop, r, 2);
    run_for(loop, 20);
    ck_assert_int_eq(r->n, 2);
    ck_assert_str_eq(r->body[1], "three");

    /* A watch that cancels itself on its first event. */
    wr->loop = loop;
    wr->cancel_first = true;
    fake_put(f, "ns1", "a", NULL);
    fake_put(f, "ns1", "b", NULL);
    api_aclient_watch(c, &o, wrec_cb, wr);
    ck_assert(run_until(loop, wrec_any, wr, 3000));
    run_for(loop, 30);
    ck_assert_int_eq(wr->n, 1);

    /* The first answer frees the client with calls still queued. */
    r->n = 0;
    r->free_client = true;
    r->c = c;
    call(c, "echo x", r);
    call(c, "later 50 y", r);
    call(c, "echo z", r);
    api_aclient_watch(c, &o, wrec_cb, wr);
    run_for(loop, 100);
    ck_assert_int_eq(r->n, 1);
    ck_assert_ptr_null(r->c);
    fake_stop(f);
    sk_loop_free(loop);
    free(r);
    free(wr);
}
END_TEST

/* ---- request lines ---- */

static void
fv_logok(struct api_req *req, char *args, void *arg)
{
    fake_log(arg, "-", args);
    api_req_ok(req, 0, NULL, "rev=1");
}

START_TEST(request_lines_are_percent_encoded_with_json_last)
{
    static const struct {
        const char *in;
        const char *out;
    } words[] = {
        {"web", "web"},
        {"a b", "a%20b"},
        {"100%", "100%25"},
        {"k=v", "k%3Dv"},
        {"tab\there", "tab%09here"},
        {"caf\xc3\xa9", "caf%C3%A9"},
        {"app in (a,b),!x", "app%20in%20(a,b),!x"},
    };
    struct sk_loop *loop = loop_new();
    struct fake *f = fake_start(loop);
    struct api_aclient *c = client_new(loop, f->path, 0, 0);
    struct rec *r = sk_calloc(1, sizeof(*r));
    struct api_delete_args del = {.grace = 0, .propagation = "Foreground", .uid = "u 1"};
    json_t *obj = json_pack("{s:s,s:s,s:{s:s,s:s}}", "apiVersion", "v1", "kind", "Pod", "metadata",
                            "name", "p q", "namespace", "ns1");
    size_t i;

    for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        struct sk_buf b = SK_BUF_INIT;

        api_word_encode(words[i].in, &b);
        ck_assert_str_eq(b.data, words[i].out);
        sk_buf_release(&b);
    }
    api_server_handle(f->srv, "bind", fv_logok, f, false);
    api_server_handle(f->srv, "delete", fv_logok, f, false);
    api_server_handle(f->srv, "update", fv_logok, f, false);
    api_server_handle(f->srv, "status", fv_logok, f, false);
    ck_assert_ptr_nonnull(api_aclient_get(c, "pods", "ns1", "a b%", rec_cb, r));
    ck_assert_ptr_nonnull(api_aclient_list(c, "pods", NULL, "app=web,tier in (a,b)",
                                           "spec.nodeName=n1", 5, "x y", rec_cb, r));
    ck_assert_ptr_nonnull(api_aclient_list(c, "nodes", "", NULL, NULL, 0, NULL, rec_cb, r));
    ck_assert_ptr_nonnull(api_aclient_bind(c, "ns1", "web", "node 1", "uid-1", rec_cb, r));
    ck_assert_ptr_nonnull(api_aclient_delete(c, "pods", "ns1", "web", &del, rec_cb, r));
    ck_assert_ptr_nonnull(api_aclient_delete(c, "nodes", NULL, "n1", NULL, rec_cb, r));
    ck_assert_ptr_nonnull(api_aclient_update(c, obj, rec_cb, r));
    ck_assert_ptr_nonnull(api_aclient_status(c, obj, rec_cb, r));
    wait_calls(loop, r, 8);
    ck_assert_str_eq(json_string_value(json_array_get(f->log, 0)), "get pods ns1 a%20b%25");
    ck_assert_str_eq(json_string_value(json_array_get(f->log, 1)),
                     "list pods selector=app%3Dweb,tier%20in%20(a,b) "
                     "fields=spec.nodeName%3Dn1 limit=5 continue=x%20y");
    ck_assert_str_eq(json_string_value(json_array_get(f->log, 2)), "list nodes");
    ck_assert_str_eq(json_string_value(json_array_get(f->log, 3)), "- ns1 web node%201 uid=uid-1");
    ck_assert_str_eq(json_string_value(json_array_get(f->log, 4)),
                     "- pods ns1 web grace=0 propagation=Foreground uid=u%201");
    ck_assert_str_eq(json_string_value(json_array_get(f->log, 5)), "- nodes n1");
    ck_assert_str_eq(json_string_value(json_array_get(f->log, 6)),
                     "- {\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p q\","
                     "\"namespace\":\"ns1\"}}");
    ck_assert_int_eq(r->rc[0], -ENOENT);
    ck_assert_int_eq(r->rc[7], 0);
    json_decref(obj);
    api_aclient_free(c);
    fake_stop(f);
    sk_loop_free(loop);
    free(r);
}
END_TEST

START_TEST(status_words_and_objects_are_read_from_responses)
{
    struct api_resp resp;
    struct sk_err err;
    char buf[16];
    char *lines[] = {"{\"a\":1}", "[1]", "{bad", NULL};
    json_t *obj;

    ck_assert_int_eq(api_resp_parse_status("ok 3 rev=42 continue=k%201", &resp, &err), 3);
    ck_assert_uint_eq(api_resp_rev(&resp), 42);
    ck_assert_int_eq(api_status_word(resp.status, "continue", buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "k%201");
    ck_assert_int_eq(api_status_word(resp.status, "re", buf, sizeof(buf)), -ENOENT);
    ck_assert_int_eq(api_status_word("revision=1", "rev", buf, sizeof(buf)), -ENOENT);
    resp.lines = lines;
    resp.nlines = 3;
    obj = api_resp_object(&resp, 0, &err);
    ck_assert_int_eq(json_integer_value(json_object_get(obj, "a")), 1);
    json_decref(obj);
    ck_assert_ptr_null(api_resp_object(&resp, 1, &err));
    ck_assert_int_eq(err.code, EPROTO);
    ck_assert_ptr_null(api_resp_object(&resp, 2, &err));
    ck_assert_int_eq(err.code, EPROTO);
    ck_assert_ptr_null(api_resp_object(&resp, 3, &err));
    resp.lines = NULL;
    resp.nlines = 0;
    api_resp_release(&resp);
    ck_assert_int_eq(api_resp_parse_status("ok 0", &resp, &err), 0);
    ck_assert_uint_eq(api_resp_rev(&resp), 0);
    api_resp_release(&resp);
}
END_TEST

static int
auth_fn(const char *token, struct api_peer *peer, void *arg)
{
    if (strcmp(token, "s3cret==") != 0)
        return -1;
    sk_strlcpy(peer->user, "tester", sizeof(peer->user));
    return 0;
}

START_TEST(tcp_clients_authenticate_with_their_token)
{
    struct sk_loop *loop = loop_new();
    struct fake *f = fake_start(loop);
    struct api_server_config cfg = {.socket_mode = 0600, .listen = "127.0.0.1:0"};
    struct api_aclient_config ccfg = {.token = "s3cret==", .seed = 1};
    struct api_server *srv;
    struct api_aclient *c;
    struct rec *r = sk_calloc(1, sizeof(*r));
    struct sk_err err;
    char path[300], addr[64];

    snprintf(path, sizeof(path), "%s.tcp", f->path);
    cfg.socket_path = path;
    ck_assert_int_eq(api_server_start(loop, &cfg, &srv, &err), 0);
    api_server_set_auth(srv, auth_fn, NULL);
    api_server_handle(srv, "echo", fv_echo, f, false);
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", api_server_tcp_port(srv));
    ccfg.server = addr;
    ck_assert_int_eq(api_aclient_new(loop, &ccfg, &c, &err), 0);
    call(c, "echo hi", r);
    wait_calls(loop, r, 1);
    ck_assert_int_eq(r->rc[0], 0);
    ck_assert_str_eq(r->body[0], "hi");
    api_aclient_free(c);

    ccfg.token = "wrong";
    ck_assert_int_eq(api_aclient_new(loop, &ccfg, &c, &err), 0);
    call(c, "echo hi", r);
    wait_calls(loop, r, 2);
    ck_assert_int_eq(r->rc[1], -EACCES);
    ck_assert_ptr_nonnull(strstr(r->msg[1], "refused the token"));
    api_aclient_free(c);

    ccfg.token = "two words";
    ck_assert_int_eq(api_aclient_new(loop, &ccfg, &c, &err), -EINVAL);
    ccfg.server = "localhost:notaport";
    ccfg.token = NULL;
    ck_assert_int_eq(api_aclient_new(loop, &ccfg, &c, &err), -EINVAL);
    run_for(loop, 10);
    api_server_stop(srv);
    fake_stop(f);
    sk_loop_free(loop);
    free(r);
}
END_TEST

/* ---- informers ---- */

struct ilog {
    struct api_informer *inf;
    json_t *lines;
    int synced;
    int resyncs;
    bool free_on_add;
};

static void
ilog_add(struct api_informer *inf, const json_t *obj, void *arg)
{
    struct ilog *l = arg;
    char *s = sk_asprintf("add %s/%s", api_meta_namespace(obj), api_meta_name(obj));

    json_array_append_new(l->lines, json_string(s));
    free(s);
    if (l->free_on_add) {
        l->free_on_add = false;
        api_informer_free(inf);
        l->inf = NULL;
    }
}

static const char *
node_of(const json_t *obj)
{
    const char *n = json_string_value(sk_json_get(obj, "spec.nodeName"));

    return n ? n : "-";
}

static void
ilog_update(struct api_informer *inf, const json_t *old, const json_t *obj, void *arg)
{
    struct ilog *l = arg;
    char *s;

    if (old == obj) {
        l->resyncs++;
        return;
    }
    s = sk_asprintf("update %s/%s %s->%s", api_meta_namespace(obj), api_meta_name(obj),
                    node_of(old), node_of(obj));
    json_array_append_new(l->lines, json_string(s));
    free(s);
}

static void
ilog_delete(struct api_informer *inf, const json_t *obj, void *arg)
{
    struct ilog *l = arg;
    char *s = sk_asprintf("delete %s/%s", api_meta_namespace(obj), api_meta_name(obj));

    json_array_append_new(l->lines, json_string(s));
    free(s);
}

static void
ilog_synced(struct api_informer *inf, void *arg)
{
    struct ilog *l = arg;

    l->synced++;
    json_array_append_new(l->lines, json_string("synced"));
}

static const struct api_informer_handlers ilog_handlers = {
    .on_add = ilog_add,
    .on_update = ilog_update,
    .on_delete = ilog_delete,
    .on_synced = ilog_synced,
};

/* The log lines so far, joined by ", ", then cleared. */
static char *
ilog_take(struct ilog *l)
{
    struct sk_buf b = SK_BUF_INIT;
    size_t i;

    sk_buf_puts(&b, "");
    for (i = 0; i < json_array_size(l->lines); i++)
        sk_buf_printf(&b, "%s%s", i ? ", " : "", json_string_value(json_array_get(l->lines, i)));
    json_array_clear(l->lines);
    return sk_buf_detach(&b, NULL);
}

static void
assert_log(struct ilog *l, const char *want)
{
    char *got = ilog_take(l);

    ck_assert_str_eq(got, want);
    free(got);
}

struct iwant {
    struct ilog *l;
    size_t n;
};

static bool
ilog_has(void *arg)
{
    struct iwant *w = arg;

    return json_array_size(w->l->lines) >= w->n;
}

static void
wait_log(struct sk_loop *loop, struct ilog *l, size_t n)
{
    struct iwant w = {l, n};

    ck_assert_msg(run_until(loop, ilog_has, &w, 3000), "log has %zu of %zu lines",
                  json_array_size(l->lines), n);
}

static int
collect_name(const json_t *obj, void *arg)
{
    char *buf = arg;

    snprintf(buf + strlen(buf), 256 - strlen(buf), "%s%s", *buf ? "," : "", api_meta_name(obj));
    return 0;
}

/* Names of the objects with index value, sorted. */
static void
index_names(struct api_informer *inf, const char *index, const char *value, char *out)
{
    json_t *arr = api_informer_list(inf, index, value), *o;
    size_t i;

    out[0] = '\0';
    json_array_foreach (arr, i, o)
        collect_name(o, out);
    json_decref(arr);
}

static struct api_informer *
informer_new(struct api_aclient *c, const char *ns, size_t page, uint32_t resync, struct ilog *l)
{
    struct api_informer_config cfg = {
        .resource = "pods", .ns = ns, .page_size = page, .resync_ms = resync};
    struct api_informer *inf;
    struct sk_err err;

    ck_assert_int_eq(api_informer_new(c, &cfg, &inf, &err), 0);
    ck_assert_int_eq(api_informer_add_index(inf, "node", api_index_pod_node, &err), 0);
    ck_assert_int_eq(api_informer_add_index(inf, "node", api_index_pod_node, &err), -EEXIST);
    api_informer_add_handlers(inf, &ilog_handlers, l);
    l->inf = inf;
    l->lines = json_array();
    return inf;
}

START_TEST(informer_cache_follows_the_events_with_old_and_new_objects)
{
    struct sk_loop *loop = loop_new();
    struct fake *f = fake_start(loop);
    struct api_aclient *c = client_new(loop, f->path, 5, 20);
    struct ilog l = {0};
    struct api_informer *inf;
    struct sk_err err;
    const json_t *a_before;
    char names[256];

    fake_put(f, "ns1", "a", "n1");
    fake_put(f, "ns1", "b", "n1");
    fake_put(f, "ns2", "c", "n2");
    inf = informer_new(c, NULL, 0, 0, &l);
    ck_assert_int_eq(api_informer_add_index(inf, "ns", api_index_namespace, &err), 0);
    api_informer_start(inf);
    wait_log(loop, &l, 4);
    assert_log(&l, "add ns1/a, add ns1/b, add ns2/c, synced");
    ck_assert(api_informer_synced(inf));
    ck_assert_uint_eq(api_informer_len(inf), 3);
    ck_assert_uint_eq(api_informer_rev(inf), 3);
    ck_assert_str_eq(fake_last(f, "list"), "list pods limit=500");
    index_names(inf, "node", "n1", names);
    ck_assert_str_eq(names, "a,b");

    /* The watch starts from the list's revision. */
    a_before = api_informer_get(inf, "ns1", "a");
    ck_assert_ptr_nonnull(a_before);
    json_incref((json_t *)a_before);
    fake_put(f, "ns1", "a", "n2");
    wait_log(loop, &l, 1);
    ck_assert_str_eq(fake_last(f, "watch"), "watch pods rev=3 bookmarks");
    assert_log(&l, "update ns1/a n1->n2");
    ck_assert_ptr_ne(api_informer_get(inf, "ns1", "a"), a_before);
    ck_assert_str_eq(node_of(a_before), "n1"); /* the old object is never modified */
    json_decref((json_t *)a_before);
    index_names(inf, "node", "n1", names);
    ck_assert_str_eq(names, "b");
    index_names(inf, "node", "n2", names);
    ck_assert_str_eq(names, "a,c");

    fake_del(f, "ns1", "b");
    fake_put(f, "ns2", "d", NULL);
    wait_log(loop, &l, 2);
    assert_log(&l, "delete ns1/b, add ns2/d");
    ck_assert_ptr_null(api_informer_get(inf, "ns1", "b"));
    ck_assert_uint_eq(api_informer_len(inf), 3);
    index_names(inf, "node", "n1", names);
    ck_assert_str_eq(names, "");
    index_names(inf, "ns", "ns2", names);
    ck_assert_str_eq(names, "c,d");
    index_names(inf, NULL, NULL, names);
    ck_assert_str_eq(names, "a,c,d");
    names[0] = '\0';
    ck_assert_uint_eq(api_informer_index_foreach(inf, "node", "n2", collect_name, names), 2);
    ck_assert_uint_eq(api_informer_index_foreach(inf, "nosuch", "n2", collect_name, names), 0);
    ck_assert_uint_eq(api_informer_rev(inf), 6);
    ck_assert_uint_eq(api_informer_lists(inf), 1);

    /* A late subscriber catches up. */
    {
        struct ilog late = {0};

        late.lines = json_array();
        api_informer_add_handlers(inf, &ilog_handlers, &late);
        ck_assert_uint_eq(json_array_size(late.lines), 4);
        ck_assert_int_eq(late.synced, 1);
        api_informer_free(inf);
        json_decref(late.lines);
    }
    api_aclient_free(c);
    fake_stop(f);
    sk_loop_free(loop);
    json_decref(l.lines);
}
END_TEST

START_TEST(informer_relists_when_its_revision_is_compacted)
{
    struct sk_loop *loop = loop_new();
    struct fake *f = fake_start(loop);
    struct api_aclient *c = client_new(loop, f->path, 5, 20);
    struct ilog l = {0};
    struct api_informer *inf;
    char names[256];

    fake_put(f, "ns1", "a", "n1");
    fake_put(f, "ns1", "b", "n1");
    fake_put(f, "ns1", "c", "n1");
    inf = informer_new(c, "ns1", 0, 0, &l);
    api_informer_start(inf);
    wait_log(loop, &l, 4);
    assert_log(&l, "add ns1/a, add ns1/b, add ns1/c, synced");

    /* Cut off; changes happen and the history is compacted. */
    fake_drop_watches(f);
    fake_del(f, "ns1", "a");
    fake_put(f, "ns1", "b", "n2");
    fake_put(f, "ns1", "d", NULL);
    f->compact = f->rev;
    wait_log(loop, &l, 3);
    assert_log(&l, "update ns1/b n1->n2, add ns1/d, delete ns1/a");
    ck_assert_uint_eq(api_informer_lists(inf), 2);
    ck_assert_str_eq(fake_last(f, "list"), "list pods ns1 limit=500");
    index_names(inf, NULL, NULL, names);
    ck_assert_str_eq(names, "b,c,d");
    index_names(inf, "node", "n1", names);
    ck_assert_str_eq(names, "c");
    ck_assert_uint_eq(api_informer_rev(inf), 6);
    ck_assert_int_eq(l.synced, 1); /* synced is said once */

    /* And it watches again from the new list. */
    fake_put(f, "ns1", "e", NULL);
    wait_log(loop, &l, 1);
    assert_log(&l, "add ns1/e");
    ck_assert_str_eq(fake_last(f, "watch"), "watch pods ns1 rev=6 bookmarks");
    api_informer_free(inf);
    api_aclient_free(c);
    fake_stop(f);
    sk_loop_free(loop);
    json_decref(l.lines);
}
END_TEST

START_TEST(informer_lists_in_pages_and_resyncs)
{
    struct sk_loop *loop = loop_new();
    struct fake *f = fake_start(loop);
    struct api_aclient *c = client_new(loop, f->path, 5, 20);
    struct ilog l = {0};
    struct api_informer *inf;
    char name[8];
    int i;

    for (i = 0; i < 5; i++) {
        snprintf(name, sizeof(name), "p%d", i);
        fake_put(f, "ns1", name, NULL);
    }
    inf = informer_new(c, NULL, 2, 40, &l);
    api_informer_start(inf);
    wait_log(loop, &l, 6);
    ck_assert_uint_eq(f->lists, 3);
    ck_assert_uint_eq(fake_count(f, "list pods limit=2 continue="), 2);
    ck_assert_uint_eq(api_informer_len(inf), 5);
    run_for(loop, 150);
    /* Every 40 ms every object comes again as an update (old == new). */
    ck_assert_int_ge(l.resyncs, 10);
    ck_assert_int_eq(l.resyncs % 5, 0);
    api_informer_free(inf);
    api_aclient_free(c);
    fake_stop(f);
    sk_loop_free(loop);
    json_decref(l.lines);
}
END_TEST

START_TEST(informer_retries_a_failed_list_and_sends_its_selectors)
{
    struct sk_loop *loop = loop_new();
    struct fake *f = fake_start(loop);
    struct api_aclient *c = client_new(loop, f->path, 5, 20);
    struct api_informer_config cfg = {
        .resource = "pods", .ns = "ns1", .selector = "app=web", .fields = "spec.nodeName=n1"};
    struct api_informer *inf;
    struct ilog l = {0};
    struct sk_err err;

    l.lines = json_array();
    fake_put(f, "ns1", "a", "n1");
    f->fail_lists = 2;
    ck_assert_int_eq(api_informer_new(c, &cfg, &inf, &err), 0);
    api_informer_add_handlers(inf, &ilog_handlers, &l);
    api_informer_start(inf);
    wait_log(loop, &l, 2);
    assert_log(&l, "add ns1/a, synced");
    ck_assert_uint_eq(f->lists, 3);
    ck_assert_str_eq(fake_last(f, "list"),
                     "list pods ns1 selector=app%3Dweb fields=spec.nodeName%3Dn1 limit=500");
    fake_put(f, "ns1", "b", "n1");
    wait_log(loop, &l, 1);
    ck_assert_str_eq(fake_last(f, "watch"),
                     "watch pods ns1 rev=1 selector=app%3Dweb fields=spec.nodeName%3Dn1 bookmarks");
    api_informer_free(inf);
    cfg.resource = NULL;
    ck_assert_int_eq(api_informer_new(c, &cfg, &inf, &err), -EINVAL);
    api_aclient_free(c);
    fake_stop(f);
    sk_loop_free(loop);
    json_decref(l.lines);
}
END_TEST

/* The transform drops what the cache need not keep, before the object
 * is cached, indexed or handed to a handler: listed and watched alike. */
static void
drop_node(json_t *obj)
{
    json_object_del(json_object_get(obj, "spec"), "nodeName");
}

START_TEST(informer_transform_runs_before_caching_and_indexing)
{
    struct sk_loop *loop = loop_new();
    struct fake *f = fake_start(loop);
    struct api_aclient *c = client_new(loop, f->path, 5, 20);
    struct api_informer_config cfg = {.resource = "pods", .transform = drop_node};
    struct ilog l = {0};
    struct api_informer *inf;
    struct sk_err err;
    char names[256];

    fake_put(f, "ns1", "a", "n1");
    ck_assert_int_eq(api_informer_new(c, &cfg, &inf, &err), 0);
    ck_assert_int_eq(api_informer_add_index(inf, "node", api_index_pod_node, &err), 0);
    api_informer_add_handlers(inf, &ilog_handlers, &l);
    l.inf = inf;
    l.lines = json_array();
    api_informer_start(inf);
    wait_log(loop, &l, 2);
    assert_log(&l, "add ns1/a, synced");
    ck_assert_str_eq(node_of(api_informer_get(inf, "ns1", "a")), "-");
    ck_assert_ptr_nonnull(sk_json_get(api_informer_get(inf, "ns1", "a"), "metadata.namespace"));
    index_names(inf, "node", "n1", names);
    ck_assert_str_eq(names, "");

    fake_put(f, "ns1", "b", "n2");
    wait_log(loop, &l, 1);
    assert_log(&l, "add ns1/b");
    ck_assert_str_eq(node_of(api_informer_get(inf, "ns1", "b")), "-");
    index_names(inf, "node", "n2", names);
    ck_assert_str_eq(names, "");
    index_names(inf, NULL, NULL, names);
    ck_assert_str_eq(names, "a,b");

    api_informer_free(inf);
    api_aclient_free(c);
    fake_stop(f);
    sk_loop_free(loop);
    json_decref(l.lines);
}
END_TEST

START_TEST(informer_may_be_freed_from_its_handler)
{
    struct sk_loop *loop = loop_new();
    struct fake *f = fake_start(loop);
    struct api_aclient *c = client_new(loop, f->path, 5, 20);
    struct ilog l = {0};

    fake_put(f, "ns1", "a", NULL);
    fake_put(f, "ns1", "b", NULL);
    informer_new(c, NULL, 0, 0, &l);
    l.free_on_add = true;
    api_informer_start(l.inf);
    wait_log(loop, &l, 1);
    run_for(loop, 30);
    assert_log(&l, "add ns1/a");
    ck_assert_ptr_null(l.inf);
    ck_assert_uint_eq(f->watches, 0);
    api_aclient_free(c);
    fake_stop(f);
    sk_loop_free(loop);
    json_decref(l.lines);
}
END_TEST

/* ---- events ---- */

static int64_t fake_now;

static int64_t
fake_clock(void *arg)
{
    return fake_now;
}

static const json_t *
event_named(struct fake *f, const char *name)
{
    char key[128];

    snprintf(key, sizeof(key), "ns1/%s", name);
    return json_object_get(f->objs, key);
}

static bool
log_has_n(void *arg)
{
    void **a = arg;

    return fake_count(a[0], a[1]) >= (size_t)(uintptr_t)a[2];
}

static void
wait_requests(struct sk_loop *loop, struct fake *f, const char *prefix, size_t n)
{
    void *a[3] = {f, (void *)prefix, (void *)(uintptr_t)n};

    ck_assert_msg(run_until(loop, log_has_n, a, 3000), "%zu '%s' requests", fake_count(f, prefix),
                  prefix);
}

START_TEST(repeated_events_patch_the_count_instead_of_creating)
{
    struct sk_loop *loop = loop_new();
    struct fake *f = fake_start(loop);
    struct api_aclient_config cfg = {.server = f->path, .seed = 3, .now_ns = fake_clock};
    struct api_aclient *c;
    struct sk_err err;
    const json_t *ev;
    json_t *pod = json_pack("{s:s,s:s,s:{s:s,s:s,s:s}}", "apiVersion", "v1", "kind", "Pod",
                            "metadata", "name", "web", "namespace", "ns1", "uid", "u-1");
    int i;

    fake_now = 1764100000LL * 1000000000LL;
    ck_assert_int_eq(api_aclient_new(loop, &cfg, &c, &err), 0);
    /* A burst: one create, the rest folded into one patch. */
    for (i = 0; i < 3; i++)
        ck_assert_int_eq(api_event_record(c, pod, API_EVENT_WARNING, "BackOff",
                                          "Back-off restarting failed container", "kubelet", &err),
                         0);
    wait_requests(loop, f, "patch", 1);
    run_for(loop, 20);
    ck_assert_uint_eq(fake_count(f, "create"), 1);
    ck_assert_uint_eq(fake_count(f, "patch"), 1);
    ck_assert_str_eq(
        fake_last(f, "patch"),
        "patch events ns1 web-x1 {\"count\":3,\"lastTimestamp\":\"2025-11-25T19:46:40Z\"}");
    ev = event_named(f, "web-x1");
    ck_assert_ptr_nonnull(ev);
    ck_assert_int_eq(json_integer_value(json_object_get(ev, "count")), 3);
    ck_assert_str_eq(json_string_value(sk_json_get(ev, "metadata.generateName")), "web-");
    ck_assert_str_eq(json_string_value(sk_json_get(ev, "involvedObject.uid")), "u-1");
    ck_assert_str_eq(json_string_value(sk_json_get(ev, "involvedObject.kind")), "Pod");
    ck_assert_str_eq(json_string_value(sk_json_get(ev, "source.component")), "kubelet");
    ck_assert_str_eq(json_string_value(json_object_get(ev, "type")), "Warning");

    /* Nine minutes later: still the same Event. */
    fake_now += 9LL * 60 * 1000000000LL;
    api_event_record(c, pod, API_EVENT_WARNING, "BackOff", "Back-off restarting failed container",
                     "kubelet", &err);
    wait_requests(loop, f, "patch", 2);
    run_for(loop, 20); /* and its answer */
    ck_assert_int_eq(json_integer_value(json_object_get(event_named(f, "web-x1"), "count")), 4);

    /* Eleven minutes after that: a new Event. Another message: another. */
    fake_now += 11LL * 60 * 1000000000LL;
    api_event_record(c, pod, API_EVENT_WARNING, "BackOff", "Back-off restarting failed container",
                     "kubelet", &err);
    api_event_record(c, pod, API_EVENT_NORMAL, "Pulled", "image pulled", "kubelet", &err);
    wait_requests(loop, f, "create", 3);
    ck_assert_str_eq(json_string_value(json_object_get(event_named(f, "web-x2"), "reason")),
                     "BackOff");
    ck_assert_str_eq(json_string_value(json_object_get(event_named(f, "web-x3"), "reason")),
                     "Pulled");
    ck_assert_int_eq(json_integer_value(json_object_get(event_named(f, "web-x2"), "count")), 1);

    /* The Event vanished (TTL): the next record creates it again. */
    fake_del(f, "ns1", "web-x3");
    api_event_record(c, pod, API_EVENT_NORMAL, "Pulled", "image pulled", "kubelet", &err);
    wait_requests(loop, f, "create", 4);
    ck_assert_int_eq(json_integer_value(json_object_get(event_named(f, "web-x4"), "count")), 2);

    ck_assert_int_eq(api_event_record(c, pod, "Info", "X", "m", "k", &err), -EINVAL);
    ck_assert_int_eq(api_event_record(c, pod, API_EVENT_NORMAL, "", "m", "k", &err), -EINVAL);
    ck_assert_int_eq(api_event_record(c, json_object_get(pod, "metadata"), API_EVENT_NORMAL, "X",
                                      "m", "k", &err),
                     -EINVAL);
    json_decref(pod);
    api_aclient_free(c);
    fake_stop(f);
    sk_loop_free(loop);
}
END_TEST

static bool
events_settled(void *arg)
{
    struct api_event_stats st;

    api_event_stats(arg, &st);
    return st.in_flight == 0;
}

static void
record_for(struct api_aclient *c, const char *name)
{
    json_t *pod = json_pack("{s:s,s:s,s:{s:s,s:s}}", "apiVersion", "v1", "kind", "Pod", "metadata",
                            "name", name, "namespace", "ns1");
    struct sk_err err;

    ck_assert_int_eq(api_event_record(c, pod, API_EVENT_NORMAL, "Scheduled",
                                      "Successfully assigned", "default-scheduler", &err),
                     0);
    json_decref(pod);
}

/* Bulk scheduling: thousands of Events recorded before any create is
 * answered. Every record trims the cache past its bound; the busy
 * entries must not be stepped over again on each record (that was
 * quadratic: about N * N / 2 steps here). Counted in steps, not time. */
START_TEST(bulk_records_with_creates_in_flight_trim_in_linear_steps)
{
    enum { N = 4 * API_EVENT_CACHE_MAX };
    struct sk_loop *loop = loop_new();
    struct fake *f = fake_start(loop);
    struct api_aclient_config cfg = {.server = f->path, .seed = 3, .now_ns = fake_clock};
    struct api_event_stats st;
    struct api_aclient *c;
    struct sk_err err;
    char name[32], want[64];
    int i;

    fake_now = 1764100000LL * 1000000000LL;
    ck_assert_int_eq(api_aclient_new(loop, &cfg, &c, &err), 0);
    for (i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "p%d", i);
        record_for(c, name);
    }
    api_event_stats(c, &st);
    ck_assert_uint_eq(st.in_flight, N);
    ck_assert_uint_eq(st.entries, N); /* in flight: nothing to evict */
    ck_assert_uint_eq(st.evicted, 0);
    ck_assert_uint_le(st.trim_visits, N);

    /* The creates are answered; the next new key trims the cache to its
     * bound, oldest first, in as many steps as entries go. */
    wait_requests(loop, f, "create", N);
    ck_assert(run_until(loop, events_settled, c, 3000));
    record_for(c, "q");
    api_event_stats(c, &st);
    ck_assert_uint_eq(st.entries, API_EVENT_CACHE_MAX);
    ck_assert_uint_eq(st.evicted, N + 1 - API_EVENT_CACHE_MAX);
    ck_assert_uint_le(st.trim_visits, 2 * N);

    /* Still cached: the newest; a repeat is a patch. Evicted: the
     * oldest; a repeat creates a new Event. */
    i = N - API_EVENT_CACHE_MAX + 1;
    snprintf(name, sizeof(name), "p%d", i);
    record_for(c, name);
    wait_requests(loop, f, "patch", 1);
    snprintf(want, sizeof(want), "patch events ns1 p%d-x%d {\"count\":2,", i, i + 1);
    ck_assert_msg(strncmp(fake_last(f, "patch"), want, strlen(want)) == 0, "%s",
                  fake_last(f, "patch"));
    record_for(c, "p0");
    wait_requests(loop, f, "create", N + 2);
    ck_assert(run_until(loop, events_settled, c, 3000));
    ck_assert_uint_eq(fake_count(f, "create"), N + 2);
    ck_assert_uint_eq(fake_count(f, "patch"), 1);
    ck_assert_ptr_nonnull(strstr(fake_last(f, "create"), "\"generateName\":\"p0-\""));
    api_aclient_free(c);
    fake_stop(f);
    sk_loop_free(loop);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("api_aclient");
    TCase *tc = tcase_create("client");
    TCase *ti = tcase_create("informer");

    tcase_set_timeout(tc, 20);
    tcase_set_timeout(ti, 20);
    tcase_add_test(tc, pipelined_calls_are_answered_in_request_order);
    tcase_add_test(tc, server_errors_map_to_errno_with_the_server_message);
    tcase_add_test(tc, connection_closed_mid_response_fails_the_calls_in_flight);
    tcase_add_test(tc, calls_not_answered_in_time_fail_and_the_connection_is_renewed);
    tcase_add_test(tc, unreachable_server_fails_waiting_calls_then_recovers);
    tcase_add_test(tc, a_list_of_servers_fails_over_to_the_next_one);
    tcase_add_test(tc, backoff_doubles_with_jitter_and_stays_bounded);
    tcase_add_test(tc, watch_resumes_from_the_last_revision_after_a_drop);
    tcase_add_test(tc, watch_cut_before_any_new_event_replays_again);
    tcase_add_test(tc, watch_from_a_compacted_revision_reports_gone_and_stops);
    tcase_add_test(tc, silent_watch_streams_are_taken_for_dead_and_resumed);
    tcase_add_test(tc, reconnect_backoff_is_bounded_and_resets_once_connected);
    tcase_add_test(tc, callbacks_may_cancel_calls_watches_and_free_the_client);
    tcase_add_test(tc, request_lines_are_percent_encoded_with_json_last);
    tcase_add_test(tc, status_words_and_objects_are_read_from_responses);
    tcase_add_test(tc, tcp_clients_authenticate_with_their_token);
    tcase_add_test(ti, informer_cache_follows_the_events_with_old_and_new_objects);
    tcase_add_test(ti, informer_relists_when_its_revision_is_compacted);
    tcase_add_test(ti, informer_lists_in_pages_and_resyncs);
    tcase_add_test(ti, informer_retries_a_failed_list_and_sends_its_selectors);
    tcase_add_test(ti, informer_may_be_freed_from_its_handler);
    tcase_add_test(ti, informer_transform_runs_before_caching_and_indexing);
    tcase_add_test(ti, repeated_events_patch_the_count_instead_of_creating);
    tcase_add_test(ti, bulk_records_with_creates_in_flight_trim_in_linear_steps);
    suite_add_tcase(s, tc);
    suite_add_tcase(s, ti);
    return unit_main(s);
}
