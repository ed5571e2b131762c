/* The event-loop client: requests with callbacks, pipelined on one
 * connection (see aclient.h).
 *
 * Calls move through two FIFOs: queue (not sent yet) and sent (written,
 * waiting for their response). The server answers in request order, so
 * a status line belongs to the head of sent; its body lines follow. At
 * most API_MAX_PIPELINE calls are in sent: the server stops reading a
 * connection with that many in progress, and a client that kept writing
 * would only fill socket buffers.
 *
 * Freeing from inside callbacks: api_aclient_free() tears everything
 * down at once but releases the struct itself from a deferred call, so
 * the code that ran the callback can still look at c->dead. */
#include "api/aclient_int.h"
#include "lib/alloc.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/sock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- back-off ---- */

static uint64_t
xorshift64(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

void
api_backoff_init(struct api_backoff *b, uint32_t initial_ms, uint32_t max_ms, uint64_t seed)
{
    b->initial_ms = initial_ms ? initial_ms : 1;
    b->max_ms = max_ms >= b->initial_ms ? max_ms : b->initial_ms;
    b->failures = 0;
    b->rng = seed ? seed : 0x9e3779b97f4a7c15ULL;
}

uint32_t
api_backoff_next(struct api_backoff *b)
{
    uint64_t d = b->initial_ms;
    uint32_t i, half;

    for (i = 0; i < b->failures && d < b->max_ms; i++)
        d *= 2;
    if (d > b->max_ms)
        d = b->max_ms;
    if (b->failures < 64)
        b->failures++;
    half = (uint32_t)(d / 2);
    return half + (uint32_t)(xorshift64(&b->rng) % ((uint64_t)(d - half) + 1));
}

void
api_backoff_reset(struct api_backoff *b)
{
    b->failures = 0;
}

/* ---- status mapping ---- */

int
api_errno_of_status(int code, const char *reason)
{
    switch (code) {
    case 400:
        return EBADMSG;
    case 401:
        return EACCES;
    case 403:
        return EPERM;
    case 404:
        return ENOENT;
    case 405:
        return EOPNOTSUPP;
    case 409:
        return reason && strcmp(reason, "AlreadyExists") == 0 ? EEXIST : ESTALE;
    case 410:
        return ENODATA;
    case 413:
        return EMSGSIZE;
    case 422:
        return EINVAL;
    case 429:
        return EBUSY;
    case 501:
        return ENOSYS;
    case 503:
        return EAGAIN;
    case 504:
        return ETIMEDOUT;
    default:
        return EIO;
    }
}

/* ---- calls ---- */

static void client_pump(struct api_aclient *c);

static void
call_free(struct api_acall *call)
{
    free(call->line);
    free(call);
}

/* Run call's callback and free it. The call is off every list. */
static void
call_complete(struct api_aclient *c, struct api_acall *call, int rc, const struct api_resp *resp,
              const struct sk_err *err)
{
    call->completing = true;
    if (call->cb)
        call->cb(c, rc, resp, err, call->arg);
    call_free(call);
}

/* Fail every call of a detached list (callbacks may add new calls). */
static void
calls_fail(struct api_aclient *c, struct api_acall *list, const struct sk_err *why)
{
    struct api_acall *call;

    while ((call = list)) {
        list = call->next;
        if (c->dead)
            call_free(call);
        else
            call_complete(c, call, -why->code, NULL, why);
    }
}

struct api_acall *
api_aclient_call(struct api_aclient *c, const char *line, api_acall_fn cb, void *arg,
                 struct sk_err *err)
{
    struct api_acall *call;
    size_t len = strlen(line);

    if (strpbrk(line, "\r\n")) {
        sk_err_set(err, EINVAL, "request line contains a newline");
        return NULL;
    }
    if (len == 0 || len > API_MAX_LINE) {
        sk_err_set(err, EINVAL, "request line of %zu bytes", len);
        return NULL;
    }
    if (c->dead) {
        sk_err_set(err, ESHUTDOWN, "client is being freed");
        return NULL;
    }
    call = sk_calloc(1, sizeof(*call));
    call->line = sk_malloc(len + 2);
    memcpy(call->line, line, len);
    call->line[len] = '\n';
    call->line[len + 1] = '\0';
    call->len = len + 1;
    call->cb = cb;
    call->arg = arg;
    if (c->queue_tail)
        c->queue_tail->next = call;
    else
        c->queue_head = call;
    c->queue_tail = call;
    c->nqueued++;
    client_pump(c);
    return call;
}

void
api_acall_cancel(struct api_acall *call)
{
    /* A queued call could be unlinked, but the handle does not know its
     * client; sending it and dropping the answer keeps one rule. */
    if (call)
        call->cb = NULL;
}

/* The head of sent has waited too long: the connection is stuck. */
static void
client_call_timer(struct sk_loop *loop, void *arg)
{
    struct api_aclient *c = arg;
    uint64_t now = sk_loop_now_ms(loop), due;
    struct sk_err err;

    c->call_timer = 0;
    if (!c->sent_head)
        return;
    due = c->sent_head->sent_ms + c->call_timeout_ms;
    if (now < due) {
        c->call_timer = sk_loop_timer_add(loop, due - now, client_call_timer, c);
        return;
    }
    sk_err_set(&err, ETIMEDOUT, "no response from '%s' within %u ms", c->server,
               (unsigned)c->call_timeout_ms);
    api_link_fail(&c->link, &err);
}

static void
client_arm_call_timer(struct api_aclient *c)
{
    if (c->call_timeout_ms && c->sent_head && !c->call_timer)
        c->call_timer = sk_loop_timer_add(c->loop, c->call_timeout_ms, client_call_timer, c);
}

/* Send what the pipeline allows, or get a connection. */
static void
client_pump(struct api_aclient *c)
{
    struct api_acall *call;
    uint64_t now, delay = 0;

    if (c->dead || !c->queue_head)
        return;
    if (c->link.state == API_LINK_IDLE) {
        now = sk_loop_now_ms(c->loop);
        if (c->next_attempt_ms > now)
            delay = c->next_attempt_ms - now;
        c->proven = false;
        api_link_start(&c->link, delay);
        return;
    }
    if (c->link.state != API_LINK_UP)
        return;
    while ((call = c->queue_head) && c->nsent < API_MAX_PIPELINE) {
        c->queue_head = call->next;
        if (!c->queue_head)
            c->queue_tail = NULL;
        c->nqueued--;
        call->next = NULL;
        call->sent = true;
        if (c->sent_tail)
            c->sent_tail->next = call;
        else
            c->sent_head = call;
        c->sent_tail = call;
        c->nsent++;
        c->stats.requests++;
        call->sent_ms = sk_loop_now_ms(c->loop);
        api_link_send(&c->link, call->line, call->len);
    }
    client_arm_call_timer(c);
}

static void
cur_release(struct api_aclient *c)
{
    api_resp_release(&c->cur);
    c->cur_active = false;
    c->cur_want = 0;
    c->cur_cap = 0;
}

/* The response to the head of sent is complete. */
static void
client_finish(struct api_aclient *c)
{
    struct api_acall *call = c->sent_head;
    struct sk_err err;
    int rc = 0;

    c->sent_head = call->next;
    if (!c->sent_head)
        c->sent_tail = NULL;
    c->nsent--;
    if (!c->proven) {
        c->proven = true;
        api_backoff_reset(&c->backoff);
    }
    sk_err_init(&err);
    if (!c->cur.ok) {
        rc = -api_errno_of_status(c->cur.code, c->cur.reason);
        sk_err_set(&err, -rc, "%s", c->cur.status ? c->cur.status : "");
    }
    call_complete(c, call, rc, &c->cur, rc < 0 ? &err : NULL);
    if (c->dead)
        return;
    cur_release(c);
    client_pump(c);
}

static void
client_on_line(struct api_link *l, char *line, size_t len, void *arg)
{
    struct api_aclient *c = arg;
    struct sk_err err;
    int n;

    if (!c->cur_active) {
        if (!c->sent_head) {
            sk_err_set(&err, EPROTO, "unexpected line from '%s': '%.80s'", c->server, line);
            api_link_fail(l, &err);
            return;
        }
        n = api_resp_parse_status(line, &c->cur, &err);
        if (n < 0) {
            api_resp_release(&c->cur);
            sk_err_wrap(&err, "response from '%s'", c->server);
            api_link_fail(l, &err);
            return;
        }
        c->cur_active = true;
        c->cur_want = (size_t)n;
        c->cur.lines = sk_calloc(1, sizeof(char *));
    } else {
        if (c->cur.nlines + 1 >= c->cur_cap) {
            c->cur_cap = c->cur_cap ? c->cur_cap * 2 : 8;
            c->cur.lines = sk_reallocarray(c->cur.lines, c->cur_cap + 1, sizeof(char *));
        }
        c->cur.lines[c->cur.nlines++] = sk_strndup(line, len);
        c->cur.lines[c->cur.nlines] = NULL;
    }
    if (c->cur.nlines == c->cur_want)
        client_finish(c);
}

static void
client_on_up(struct api_link *l, void *arg)
{
    struct api_aclient *c = arg;

    c->down_in_row = 0;
    client_pump(c);
}

static void
client_on_down(struct api_link *l, bool was_up, const struct sk_err *why, void *arg)
{
    struct api_aclient *c = arg;
    struct api_acall *sent = c->sent_head, *queued = NULL;
    struct sk_err err;
    bool retry_now;

    c->sent_head = c->sent_tail = NULL;
    c->nsent = 0;
    cur_release(c);
    if (c->call_timer)
        sk_loop_timer_cancel(c->loop, c->call_timer);
    c->call_timer = 0;
    sk_debug("aclient", "connection to '%s' down: %s", c->servers[l->server_idx], why->msg);
    sk_err_copy(&err, why);
    if (was_up && err.code != EPROTO && err.code != ETIMEDOUT)
        sk_err_set(&err, ECONNRESET, "connection to '%s' lost before the response: %s",
                   c->servers[l->server_idx], why->msg);
    /* with another server to try, at once and keeping the waiting calls */
    retry_now = api_aclient_failover(c, l->server_idx, was_up);
    c->next_attempt_ms = sk_loop_now_ms(c->loop) + (retry_now ? 0 : api_backoff_next(&c->backoff));
    if (!was_up && !retry_now) {
        /* Nobody is there: the waiting calls learn it now rather than
         * after an unbounded series of attempts. */
        queued = c->queue_head;
        c->queue_head = c->queue_tail = NULL;
        c->nqueued = 0;
    }
    calls_fail(c, sent, &err);
    calls_fail(c, queued, why);
    client_pump(c);
}

static const struct api_link_ops client_link_ops = {
    .up = client_on_up,
    .line = client_on_line,
    .down = client_on_down,
};

/* ---- lifecycle ---- */

/* Point server, is_unix, host and port at servers[i]. */
static int
client_use_server(struct api_aclient *c, size_t i, struct sk_err *err)
{
    const char *server = c->servers[i];

    c->cur_server = i;
    c->server = server;
    c->is_unix = strchr(server, '/') != NULL;
    c->host[0] = 0;
    c->port = 0;
    if (c->is_unix)
        return 0;
    if (sk_sock_parse_hostport(server, c->host, sizeof(c->host), &c->port, err) < 0)
        return sk_err_wrap(err, "server '%s'", server);
    if (!c->host[0])
        sk_strlcpy(c->host, "127.0.0.1", sizeof(c->host));
    return 0;
}

static void
client_free_servers(struct api_aclient *c)
{
    for (size_t i = 0; i < c->nservers; i++)
        free(c->servers[i]);
    free(c->servers);
    c->servers = NULL;
    c->nservers = 0;
    c->server = NULL;
}

/* "a:6443, b:6443": every address checked now, so a typo in the third
 * one is reported at start, not when the first two are down. */
static int
client_parse_servers(struct api_aclient *c, const char *list, struct sk_err *err)
{
    char *copy, *tok, *save = NULL;
    int rc = 0;

    if (!list || !*list)
        return sk_err_set(err, EINVAL, "no server address");
    copy = sk_strdup(list);
    for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        tok += strspn(tok, " \t");
        tok[strcspn(tok, " \t")] = 0;
        if (!*tok)
            continue;
        c->servers = sk_realloc(c->servers, (c->nservers + 1) * sizeof(*c->servers));
        c->servers[c->nservers++] = sk_strdup(tok);
    }
    free(copy);
    if (!c->nservers)
        return sk_err_set(err, EINVAL, "no server address in '%s'", list);
    for (size_t i = c->nservers; i-- > 0 && rc == 0;)
        rc = client_use_server(c, i, err);
    return rc;
}

bool
api_aclient_failover(struct api_aclient *c, size_t idx, bool was_up)
{
    struct sk_err err;
    const char *from = c->server;

    if (was_up)
        c->down_in_row = 0;
    else
        c->down_in_row++;
    if (c->nservers < 2)
        return false;
    if (idx == c->cur_server) {
        sk_err_init(&err);
        /* every address parsed at start: this cannot fail */
        (void)client_use_server(c, (idx + 1) % c->nservers, &err);
        sk_info("aclient", "server '%s' %s: now '%s'", from, was_up ? "lost" : "unreachable",
                c->server);
    }
    return c->down_in_row < c->nservers;
}

int
api_aclient_new(struct sk_loop *loop, const struct api_aclient_config *cfg,
                struct api_aclient **out, struct sk_err *err)
{
    struct api_aclient *c = sk_calloc(1, sizeof(*c));
    int rc;

    c->loop = loop;
    rc = client_parse_servers(c, cfg->server, err);
    if (rc < 0) {
        client_free_servers(c);
        free(c);
        return rc;
    }
    if (cfg->token && strpbrk(cfg->token, " \t\r\n")) {
        client_free_servers(c);
        free(c);
        return sk_err_set(err, EINVAL, "token contains white space");
    }
    if (cfg->token && *cfg->token)
        c->token = sk_strdup(cfg->token);
    c->connect_timeout_ms = cfg->connect_timeout_ms ? cfg->connect_timeout_ms : 5000;
    c->call_timeout_ms = cfg->call_timeout_ms;
    c->backoff_initial_ms = cfg->backoff_initial_ms ? cfg->backoff_initial_ms : 100;
    c->backoff_max_ms = cfg->backoff_max_ms ? cfg->backoff_max_ms : 10000;
    c->seed = cfg->seed ? cfg->seed : (uint64_t)sk_clock_mono_ns() ^ ((uint64_t)getpid() << 32);
    c->now_ns = cfg->now_ns;
    c->now_arg = cfg->now_arg;
    api_backoff_init(&c->backoff, c->backoff_initial_ms, c->backoff_max_ms,
                     api_aclient_seed_next(c));
    api_link_init(&c->link, c, &client_link_ops, c);
    *out = c;
    return 0;
}

static void
client_free_deferred(struct sk_loop *loop, void *arg)
{
    struct api_aclient *c = arg;

    api_resp_release(&c->cur);
    client_free_servers(c);
    free(c->token);
    free(c);
}

void
api_aclient_free(struct api_aclient *c)
{
    struct api_acall *list;

    if (!c || c->dead)
        return;
    c->dead = true;
    api_link_stop(&c->link);
    if (c->call_timer)
        sk_loop_timer_cancel(c->loop, c->call_timer);
    c->call_timer = 0;
    api_awatch_free_all(c);
    if (c->events_free)
        c->events_free(c->events);
    c->events = NULL;
    list = c->sent_head;
    c->sent_head = c->sent_tail = NULL;
    calls_fail(c, list, NULL);
    list = c->queue_head;
    c->queue_head = c->queue_tail = NULL;
    calls_fail(c, list, NULL);
    /* c->cur may belong to the callback running now: released last. */
    sk_loop_defer(c->loop, client_free_deferred, c);
}

struct sk_loop *
api_aclient_loop(const struct api_aclient *c)
{
    return c->loop;
}

void
api_aclient_stats(const struct api_aclient *c, struct api_aclient_stats *out)
{
    *out = c->stats;
    out->inflight = c->nsent;
    out->queued = c->nqueued;
}

uint64_t
api_aclient_seed_next(struct api_aclient *c)
{
    /* splitmix64: distinct, well-mixed seeds for every back-off. */
    uint64_t z = (c->seed += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return z ? z : 1;
}

int64_t
api_aclient_now_ns(struct api_aclient *c)
{
    return c->now_ns ? c->now_ns(c->now_arg) : sk_clock_real_ns();
}
