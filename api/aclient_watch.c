/* Watches of the event-loop client: one connection each, resumed from
 * the last revision delivered (see aclient.h).
 *
 * The stream (API-SPEC.md, watch):
 *
 *     ok watch rev=N                      status line
 *     ADDED {obj} | MODIFIED {obj} | DELETED {obj}
 *     BOOKMARK rev=N
 *     error 410 Gone watcher too slow, resume rev=N     then the server closes
 *
 * Where to resume: a watch that names a revision R gets every change
 * after R, so after delivering an event of revision M it can ask again
 * for rev=M and lose nothing. A watch started without a revision first
 * replays every object as ADDED with its own (older) revision, as of the
 * snapshot revision N of the status line: cut during that replay it
 * cannot resume from any of those revisions without losing the objects
 * not yet replayed, so it replays again until it has delivered an event
 * after N or a bookmark. A bookmark's N and a slow watcher's `resume
 * rev=N` count as delivered: with selectors they may be later than the
 * last event, and resuming there spares the server older history. */
#include "api/aclient_int.h"
#include "lib/alloc.h"
#include "lib/json.h"
#include "lib/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct api_awatch {
    struct api_aclient *c;
    struct api_awatch *prev, *next;
    char *resource, *ns, *selector, *fields;
    bool bookmarks;
    uint32_t idle_ms;
    uint64_t idle_timer;
    uint64_t last_rx_ms;
    uint64_t resume_rev; /* 0: replay everything */
    uint64_t header_rev; /* N of this connection's status line */
    uint64_t last_rev;   /* highest revision delivered */
    bool header_seen;
    bool stopped; /* GONE: waits for cancel */
    bool cancelled;
    struct api_link link;
    struct api_backoff backoff;
    api_awatch_fn cb;
    void *arg;
};

const char *
api_watch_type_name(enum api_watch_type t)
{
    switch (t) {
    case API_WATCH_ADDED:
        return "ADDED";
    case API_WATCH_MODIFIED:
        return "MODIFIED";
    case API_WATCH_DELETED:
        return "DELETED";
    case API_WATCH_BOOKMARK:
        return "BOOKMARK";
    case API_WATCH_GONE:
        return "GONE";
    case API_WATCH_ERROR:
        return "ERROR";
    }
    return "?";
}

static void
watch_deliver(struct api_awatch *w, enum api_watch_type type, json_t *obj, uint64_t rev,
              const struct sk_err *err)
{
    struct api_watch_event ev = {.type = type, .obj = obj, .rev = rev, .err = err};

    w->cb(w, &ev, w->arg);
}

static void
watch_idle_stop(struct api_awatch *w)
{
    if (w->idle_timer)
        sk_loop_timer_cancel(w->c->loop, w->idle_timer);
    w->idle_timer = 0;
}

/* Nothing arrived for idle_ms: the peer may be gone without a word. */
static void
watch_idle_check(struct sk_loop *loop, void *arg)
{
    struct api_awatch *w = arg;
    uint64_t now = sk_loop_now_ms(loop), due = w->last_rx_ms + w->idle_ms;
    struct sk_err err;

    w->idle_timer = 0;
    if (now < due) {
        w->idle_timer = sk_loop_timer_add(loop, due - now, watch_idle_check, w);
        return;
    }
    sk_err_set(&err, ETIMEDOUT, "watch '%s': nothing received for %u ms", w->resource,
               (unsigned)w->idle_ms);
    api_link_fail(&w->link, &err);
}

static void
watch_retry(struct api_awatch *w, bool at_once)
{
    watch_idle_stop(w);
    if (w->cancelled || w->stopped)
        return;
    api_link_stop(&w->link);
    api_link_start(&w->link, at_once ? 0 : api_backoff_next(&w->backoff));
}

static void
watch_on_up(struct api_link *l, void *arg)
{
    struct api_awatch *w = arg;
    struct sk_buf b = SK_BUF_INIT;

    w->header_seen = false;
    w->last_rx_ms = sk_loop_now_ms(w->c->loop);
    if (w->idle_ms && !w->idle_timer)
        w->idle_timer = sk_loop_timer_add(w->c->loop, w->idle_ms, watch_idle_check, w);
    sk_buf_puts(&b, "watch ");
    api_word_encode(w->resource, &b);
    if (w->ns) {
        sk_buf_putc(&b, ' ');
        api_word_encode(w->ns, &b);
    }
    if (w->resume_rev)
        sk_buf_printf(&b, " rev=%" PRIu64, w->resume_rev);
    if (w->selector) {
        sk_buf_puts(&b, " selector=");
        api_word_encode(w->selector, &b);
    }
    if (w->fields) {
        sk_buf_puts(&b, " fields=");
        api_word_encode(w->fields, &b);
    }
    if (w->bookmarks)
        sk_buf_puts(&b, " bookmarks");
    sk_buf_putc(&b, '\n');
    api_link_send(l, b.data, b.len);
    sk_buf_release(&b);
}

static uint64_t
parse_rev(const char *s)
{
    unsigned long long v;
    char *end;

    if (!s || !*s)
        return 0;
    errno = 0;
    v = strtoull(s, &end, 10);
    return errno || *end ? 0 : v;
}

/* An error line, as status line or inside the stream. */
static void
watch_on_error_line(struct api_awatch *w, const char *line)
{
    struct api_resp resp;
    struct sk_err err;
    char rev[32];
    bool resume;

    if (api_resp_parse_status(line, &resp, &err) < 0 || resp.ok) {
        api_resp_release(&resp);
        sk_err_set(&err, EPROTO, "watch '%s': malformed line '%.80s'", w->resource, line);
        api_link_fail(&w->link, &err);
        return;
    }
    resume = strstr(resp.status, "resume") != NULL;
    sk_err_set(&err, api_errno_of_status(resp.code, resp.reason), "watch '%s': %d %s %s",
               w->resource, resp.code, resp.reason, resp.status);
    if (resp.code == 410 && !resume) {
        /* The revision is compacted: only a new list can fill the gap. */
        w->stopped = true;
        watch_idle_stop(w);
        api_link_stop(&w->link);
        api_resp_release(&resp);
        watch_deliver(w, API_WATCH_GONE, NULL, w->resume_rev, &err);
        return;
    }
    /* `resume rev=N`: every change up to N was sent (the lines before
     * this one), also those a selector filtered out, so N is a safe and
     * possibly later place to resume than the last event delivered. */
    if (resp.code == 410 && api_status_word(resp.status, "rev", rev, sizeof(rev)) == 0 &&
        parse_rev(rev) > w->resume_rev)
        w->resume_rev = parse_rev(rev);
    api_resp_release(&resp);
    watch_deliver(w, API_WATCH_ERROR, NULL, w->last_rev, &err);
    watch_retry(w, false);
}

static void
watch_on_header(struct api_awatch *w, const char *line)
{
    char rev[32];

    if (strncmp(line, "ok ", 3) != 0) {
        watch_on_error_line(w, line);
        return;
    }
    w->header_seen = true;
    w->c->down_in_row = 0;
    api_backoff_reset(&w->backoff);
    w->header_rev = api_status_word(line, "rev", rev, sizeof(rev)) == 0 ? parse_rev(rev) : 0;
}

static int
watch_type_of(const char *word, size_t len, enum api_watch_type *type)
{
    static const struct {
        const char *name;
        enum api_watch_type type;
    } types[] = {
        {"ADDED", API_WATCH_ADDED},
        {"MODIFIED", API_WATCH_MODIFIED},
        {"DELETED", API_WATCH_DELETED},
        {"BOOKMARK", API_WATCH_BOOKMARK},
    };
    size_t i;

    for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (strlen(types[i].name) == len && memcmp(types[i].name, word, len) == 0) {
            *type = types[i].type;
            return 0;
        }
    return -1;
}

/* Remember where to resume after delivering rev (see the top). A
 * bookmark comes after the replay, so even one at the snapshot
 * revision ends it. */
static void
watch_advance(struct api_awatch *w, uint64_t rev, bool bookmark)
{
    bool replay_over = w->resume_rev || rev > w->header_rev || (bookmark && rev);

    if (rev > w->last_rev)
        w->last_rev = rev;
    if (replay_over && rev > w->resume_rev)
        w->resume_rev = rev;
}

static void
watch_on_event(struct api_awatch *w, char *line, size_t len)
{
    enum api_watch_type type;
    size_t wl = strcspn(line, " ");
    const char *rv;
    struct sk_err err;
    json_t *obj = NULL;
    uint64_t rev;

    if (watch_type_of(line, wl, &type) < 0 || !line[wl]) {
        sk_err_set(&err, EPROTO, "watch '%s': malformed event '%.80s'", w->resource, line);
        api_link_fail(&w->link, &err);
        return;
    }
    if (type == API_WATCH_BOOKMARK) {
        char buf[32];

        rev = api_status_word(line + wl, "rev", buf, sizeof(buf)) == 0 ? parse_rev(buf) : 0;
        watch_advance(w, rev, true);
        watch_deliver(w, type, NULL, rev, NULL);
        return;
    }
    if (sk_json_parse(line + wl + 1, len - wl - 1, &obj, &err) < 0 || !json_is_object(obj)) {
        json_decref(obj);
        sk_err_set(&err, EPROTO, "watch '%s': malformed %.*s object", w->resource, (int)wl, line);
        api_link_fail(&w->link, &err);
        return;
    }
    rv = json_string_value(sk_json_get(obj, "metadata.resourceVersion"));
    rev = parse_rev(rv);
    watch_advance(w, rev, false);
    watch_deliver(w, type, obj, rev, NULL);
    json_decref(obj);
}

static void
watch_on_line(struct api_link *l, char *line, size_t len, void *arg)
{
    struct api_awatch *w = arg;

    if (w->cancelled || w->stopped)
        return;
    w->last_rx_ms = sk_loop_now_ms(w->c->loop);
    if (!w->header_seen)
        watch_on_header(w, line);
    else if (strncmp(line, "error ", 6) == 0)
        watch_on_error_line(w, line);
    else
        watch_on_event(w, line, len);
}

static void
watch_on_down(struct api_link *l, bool was_up, const struct sk_err *why, void *arg)
{
    struct api_awatch *w = arg;

    watch_idle_stop(w);
    if (w->cancelled || w->stopped)
        return;
    watch_deliver(w, API_WATCH_ERROR, NULL, w->last_rev, why);
    /* another server of the client's list, at once */
    watch_retry(w, api_aclient_failover(w->c, l->server_idx, was_up));
}

static const struct api_link_ops watch_link_ops = {
    .up = watch_on_up,
    .line = watch_on_line,
    .down = watch_on_down,
};

static char *
dup_opt(const char *s)
{
    return s && *s && strcmp(s, "*") != 0 ? sk_strdup(s) : NULL;
}

struct api_awatch *
api_aclient_watch(struct api_aclient *c, const struct api_watch_opts *opts, api_awatch_fn cb,
                  void *arg)
{
    struct api_awatch *w = sk_calloc(1, sizeof(*w));

    w->c = c;
    w->resource = sk_strdup(opts->resource);
    w->ns = dup_opt(opts->ns);
    w->selector = dup_opt(opts->selector);
    w->fields = dup_opt(opts->fields);
    w->bookmarks = opts->bookmarks;
    w->idle_ms = opts->idle_timeout_ms;
    w->resume_rev = opts->rev;
    w->last_rev = opts->rev;
    w->cb = cb;
    w->arg = arg;
    api_backoff_init(&w->backoff, c->backoff_initial_ms, c->backoff_max_ms,
                     api_aclient_seed_next(c));
    api_link_init(&w->link, c, &watch_link_ops, w);
    w->next = c->watches;
    if (c->watches)
        c->watches->prev = w;
    c->watches = w;
    if (!c->dead)
        api_link_start(&w->link, 0);
    return w;
}

static void
watch_free_deferred(struct sk_loop *loop, void *arg)
{
    struct api_awatch *w = arg;

    free(w->resource);
    free(w->ns);
    free(w->selector);
    free(w->fields);
    free(w);
}

void
api_awatch_cancel(struct api_awatch *w)
{
    struct api_aclient *c;

    if (!w || w->cancelled)
        return;
    c = w->c;
    w->cancelled = true;
    watch_idle_stop(w);
    api_link_stop(&w->link);
    if (w->prev)
        w->prev->next = w->next;
    else
        c->watches = w->next;
    if (w->next)
        w->next->prev = w->prev;
    /* The callback that cancelled may still be on the stack. */
    sk_loop_defer(c->loop, watch_free_deferred, w);
}

void
api_awatch_free_all(struct api_aclient *c)
{
    while (c->watches)
        api_awatch_cancel(c->watches);
}

uint64_t
api_awatch_rev(const struct api_awatch *w)
{
    return w->last_rev;
}

bool
api_awatch_active(const struct api_awatch *w)
{
    return w->link.state == API_LINK_UP && w->header_seen;
}
