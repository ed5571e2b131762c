#ifndef SK_API_ACLIENT_H
#define SK_API_ACLIENT_H

/* The event-loop client of the line protocol (skiff-protocol(7) and the
 * object verbs), used inside skiffd by the scheduler, the controllers
 * and the kubelet. Everything runs on one struct sk_loop; nothing here
 * blocks, except resolving a TCP host name that is not an IP literal.
 *
 * Requests share one connection, opened on demand: they are sent at
 * once, up to API_MAX_PIPELINE in flight, the rest queued, and each
 * callback runs when its response has arrived, in request order. A
 * request that was sent when the connection broke fails with
 * -ECONNRESET (its outcome is unknown: it is never resent); requests not
 * yet sent wait for the next connection. Connecting again follows an
 * exponential back-off (bounded, jittered); when an attempt fails, the
 * requests waiting for it fail with its error. TCP connections use
 * keep-alive.
 *
 * Watches each get their own connection (the server's watch stream owns
 * it) and resume by themselves: after a disconnect or a `410 Gone ...
 * resume` line they reconnect with back-off and watch again from the
 * last revision they delivered, so no event is lost or repeated. When
 * that revision has been compacted the watch reports API_WATCH_GONE
 * ("relist needed") and stops.
 *
 * Every callback may call any function here, including cancelling its
 * own request or watch and freeing the client. No callback is ever run
 * from inside a call to this API: always from the loop. */

#include "api/client.h"
#include "api/server.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "lib/loop.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct api_aclient;
struct api_acall;
struct api_awatch;

/* ---- back-off (pure; exposed for tests) ----
 *
 * Delay before attempt n+1 after n failures: initial * 2^n capped at
 * max, then jittered uniformly into [d/2, d] so that clients cut off
 * together do not come back together. Never above max. */
struct api_backoff {
    uint32_t initial_ms;
    uint32_t max_ms;
    uint32_t failures;
    uint64_t rng; /* xorshift64 state, never 0 */
};

void api_backoff_init(struct api_backoff *b, uint32_t initial_ms, uint32_t max_ms, uint64_t seed);
/* The delay to wait now; counts one more failure. */
uint32_t api_backoff_next(struct api_backoff *b);
/* A connection proved good: start again from initial. */
void api_backoff_reset(struct api_backoff *b);

/* ---- the client ---- */

struct api_aclient_config {
    /* UNIX socket path (contains '/') or host:port, or a comma-separated
     * list of them: tried in turn, the next one when a connection fails */
    const char *server;
    const char *token;           /* NULL or "": none; else `auth TOKEN` first */
    uint32_t backoff_initial_ms; /* 0: 100 */
    uint32_t backoff_max_ms;     /* 0: 10000 */
    uint32_t connect_timeout_ms; /* 0: 5000 (TCP) */
    /* > 0: a request not answered this long after it was sent fails with
     * -ETIMEDOUT, and so do the others in flight (answers come in order,
     * so the connection is dropped and a new one opened). 0: no limit. */
    uint32_t call_timeout_ms;
    uint64_t seed; /* jitter seed; 0: from the clock and pid */
    /* Wall clock in ns since the epoch for event timestamps and the
     * event dedup window; NULL: sk_clock_real_ns. */
    int64_t (*now_ns)(void *arg);
    void *now_arg;
};

/* Create a client on loop (no connection yet: the first request or
 * watch opens one). Fails with -EINVAL for a malformed server address. */
int api_aclient_new(struct sk_loop *loop, const struct api_aclient_config *cfg,
                    struct api_aclient **out, struct sk_err *err);

/* Close every connection and free the client, its calls and watches
 * (their callbacks are not called again). Safe inside any callback of
 * this client. NULL is a no-op. */
void api_aclient_free(struct api_aclient *c);

struct sk_loop *api_aclient_loop(const struct api_aclient *c);

/* Counters, for tests and status pages. */
struct api_aclient_stats {
    uint64_t connects;         /* connection attempts (requests and watches) */
    uint64_t connect_failures; /* attempts that failed */
    uint64_t requests;         /* request lines sent */
    size_t inflight;           /* sent, not yet answered */
    size_t queued;             /* waiting to be sent */
};
void api_aclient_stats(const struct api_aclient *c, struct api_aclient_stats *out);

/* The outcome of a request. rc is 0 for an `ok` response; otherwise rc <
 * 0 and err says why: a server error maps its code to an errno (400
 * EBADMSG, 401 EACCES, 403 EPERM, 404 ENOENT, 405 EOPNOTSUPP, 409
 * AlreadyExists EEXIST, 409 Conflict ESTALE, 410 ENODATA, 413 EMSGSIZE,
 * 422 EINVAL, 429 EBUSY, 501 ENOSYS, 503 EAGAIN, 504 ETIMEDOUT, others
 * EIO) with the server's message, and resp is set (resp->code,
 * resp->reason); a transport failure has resp NULL (-ECONNRESET,
 * -ECONNREFUSED, -ENOENT, -ETIMEDOUT, -EACCES token refused, -EPROTO
 * malformed response). resp and err are valid during the call only. */
typedef void (*api_acall_fn)(struct api_aclient *c, int rc, const struct api_resp *resp,
                             const struct sk_err *err, void *arg);

/* Send one request line (without "\n"; must not contain one: -EINVAL).
 * cb may be NULL (fire and forget). Returns a handle valid until cb has
 * run or the call is cancelled, or NULL with err set when line is
 * invalid (cb is then not called). */
struct api_acall *api_aclient_call(struct api_aclient *c, const char *line, api_acall_fn cb,
                                   void *arg, struct sk_err *err);

/* Never call cb for this request (the response is still read and
 * dropped). Safe inside callbacks; the handle is invalid afterwards. */
void api_acall_cancel(struct api_acall *call);

/* Map a server error code and reason to an errno (see api_acall_fn). */
int api_errno_of_status(int code, const char *reason);

/* ---- the verbs (API-SPEC.md), building safe request lines ----
 *
 * Arguments are percent-encoded (spaces, '%', '=' in positionals,
 * non-printable bytes); NULL or "" namespaces are left out (cluster
 * scoped kinds). JSON bodies go last, compact. On a successful call the
 * object is resp->lines[0]; api_resp_object() parses it. */

/* Percent-encode s as one protocol word into out (appended): every
 * byte outside printable ASCII, space, '%' and '=' (so a positional
 * never reads as an option, and a value never splits its option). */
void api_word_encode(const char *s, struct sk_buf *out);

struct api_acall *api_aclient_get(struct api_aclient *c, const char *resource, const char *ns,
                                  const char *name, api_acall_fn cb, void *arg);
/* ns NULL, "" or "*": all namespaces (no NS word is sent). selector, fields NULL or "": none;
 * limit 0: none; cont NULL: none. */
struct api_acall *api_aclient_list(struct api_aclient *c, const char *resource, const char *ns,
                                   const char *selector, const char *fields, size_t limit,
                                   const char *cont, api_acall_fn cb, void *arg);
struct api_acall *api_aclient_create(struct api_aclient *c, const json_t *obj, api_acall_fn cb,
                                     void *arg);
struct api_acall *api_aclient_update(struct api_aclient *c, const json_t *obj, api_acall_fn cb,
                                     void *arg);
struct api_acall *api_aclient_status(struct api_aclient *c, const json_t *obj, api_acall_fn cb,
                                     void *arg);
/* subresource NULL or "": the main resource. */
struct api_acall *api_aclient_patch(struct api_aclient *c, const char *resource, const char *ns,
                                    const char *name, const char *subresource, const json_t *patch,
                                    api_acall_fn cb, void *arg);
/* uid NULL or "": no precondition. */
struct api_acall *api_aclient_bind(struct api_aclient *c, const char *ns, const char *name,
                                   const char *node, const char *uid, api_acall_fn cb, void *arg);
struct api_delete_args {
    int64_t grace;           /* < 0: the default */
    const char *propagation; /* NULL or Background|Foreground|Orphan */
    const char *uid;         /* precondition, or NULL */
    const char *rev;         /* precondition, or NULL */
};
/* opts NULL: defaults. */
struct api_acall *api_aclient_delete(struct api_aclient *c, const char *resource, const char *ns,
                                     const char *name, const struct api_delete_args *opts,
                                     api_acall_fn cb, void *arg);

/* Parse body line i of resp as a JSON object: a new reference, or NULL
 * with err (-EPROTO) when missing or malformed. */
json_t *api_resp_object(const struct api_resp *resp, size_t i, struct sk_err *err);
/* The value of "rev=N" among resp's status words, or 0 when absent. */
uint64_t api_resp_rev(const struct api_resp *resp);
/* The value of word "key=VALUE" in a space-separated status, into out;
 * -ENOENT when absent. */
int api_status_word(const char *status, const char *key, char *out, size_t outsz);

/* ---- watches ---- */

enum api_watch_type {
    API_WATCH_ADDED,
    API_WATCH_MODIFIED,
    API_WATCH_DELETED,
    API_WATCH_BOOKMARK,
    /* The revision to resume from was compacted (`410 Gone too old`):
     * events were lost, the caller must list again and watch from the
     * list's revision. The watch has stopped; cancel it. */
    API_WATCH_GONE,
    /* The stream broke or the server refused the watch (err says why);
     * the watch retries by itself after a back-off. Informational. */
    API_WATCH_ERROR,
};

const char *api_watch_type_name(enum api_watch_type t);

struct api_watch_event {
    enum api_watch_type type;
    json_t *obj;              /* ADDED/MODIFIED/DELETED: borrowed; incref to keep */
    uint64_t rev;             /* the object's resourceVersion, or the bookmark's */
    const struct sk_err *err; /* GONE, ERROR */
};

typedef void (*api_awatch_fn)(struct api_awatch *w, const struct api_watch_event *ev, void *arg);

struct api_watch_opts {
    const char *resource; /* required */
    const char *ns;       /* NULL or "*": all namespaces */
    const char *selector; /* label selector, or NULL */
    const char *fields;   /* field selector, or NULL */
    uint64_t rev;         /* events after rev; 0: ADDED for every object first */
    bool bookmarks;
    /* > 0: a stream silent this long is taken for dead (a peer gone
     * without a FIN) and resumed on a new connection; use with bookmarks
     * (every 5 s when idle), e.g. 15000. 0: never. */
    uint32_t idle_timeout_ms;
};

/* Start watching on a connection of its own. Returns the watch (never
 * NULL: connection problems are reported as API_WATCH_ERROR events and
 * retried). */
struct api_awatch *api_aclient_watch(struct api_aclient *c, const struct api_watch_opts *opts,
                                     api_awatch_fn cb, void *arg);
/* Stop and free the watch; its callback is not called again. Safe
 * inside its own callback. */
void api_awatch_cancel(struct api_awatch *w);
/* The last revision delivered (0 if none yet). */
uint64_t api_awatch_rev(const struct api_awatch *w);
/* True once the stream is established (status line received). */
bool api_awatch_active(const struct api_awatch *w);

#endif
