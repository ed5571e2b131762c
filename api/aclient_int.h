#ifndef SK_API_ACLIENT_INT_H
#define SK_API_ACLIENT_INT_H

/* Private parts of the event-loop client (aclient.c, aclient_link.c,
 * aclient_watch.c, aclient_verbs.c, informer.c, events.c). */

#include "api/aclient.h"
#include "lib/buf.h"
#include "lib/line.h"

#include <netdb.h>

/* Responses carry whole objects on one line; the limit only guards
 * against a peer that never sends a newline. */
#define API_ACLIENT_MAX_LINE (256u << 20)

/* ---- one connection to the server (aclient_link.c) ----
 *
 * IDLE -> (start) WAIT -> timer -> CONNECTING -> (token) AUTH -> UP
 * and back to IDLE through ops->down, or through link_stop (no callback).
 * Callbacks always come from the loop, never from inside a link_*
 * call. */
enum api_link_state {
    API_LINK_IDLE,
    API_LINK_WAIT,
    API_LINK_CONNECTING,
    API_LINK_AUTH,
    API_LINK_UP,
};

struct api_link;

struct api_link_ops {
    void (*up)(struct api_link *l, void *arg);
    void (*line)(struct api_link *l, char *line, size_t len, void *arg);
    /* was_up: the connection had been established (else the attempt
     * failed). why is never NULL. */
    void (*down)(struct api_link *l, bool was_up, const struct sk_err *why, void *arg);
};

struct api_link {
    struct api_aclient *client;
    const struct api_link_ops *ops;
    void *arg;
    enum api_link_state state;
    int fd; /* while CONNECTING */
    struct sk_conn *conn;
    uint64_t timer;
    struct addrinfo *ai_list, *ai_next;
    struct sk_err last_err; /* of the current attempt's addresses */
    size_t server_idx;      /* the client's server this attempt went to */
};

/* A connection to the client's server number idx went down (never up
 * when !was_up): move to the next server when idx is still the current
 * one. True when another server is to be tried at once, false when every
 * server failed since the last connection came up (then back off). */
bool api_aclient_failover(struct api_aclient *c, size_t idx, bool was_up);

void api_link_init(struct api_link *l, struct api_aclient *c, const struct api_link_ops *ops,
                   void *arg);
/* From IDLE: connect after delay_ms. */
void api_link_start(struct api_link *l, uint64_t delay_ms);
/* Send bytes (UP or AUTH only; dropped otherwise). */
void api_link_send(struct api_link *l, const char *data, size_t len);
/* Close now, no callback; back to IDLE. */
void api_link_stop(struct api_link *l);
/* Close now and report why through ops->down from the loop. */
void api_link_fail(struct api_link *l, const struct sk_err *why);

/* ---- the client ---- */

struct api_acall {
    struct api_acall *next;
    char *line; /* with "\n" */
    size_t len;
    api_acall_fn cb;
    void *arg;
    bool sent;
    bool completing;
    uint64_t sent_ms; /* loop time it was written */
};

struct api_aclient {
    struct sk_loop *loop;
    /* The servers to try in turn (config "a:6443,b:6443"); server,
     * is_unix, host and port describe servers[cur_server]. */
    char **servers;
    size_t nservers, cur_server;
    unsigned down_in_row; /* failed attempts since a connection came up */
    const char *server;
    char *token;
    bool is_unix;
    char host[256];
    int port;
    uint32_t connect_timeout_ms;
    uint32_t call_timeout_ms;
    uint64_t call_timer;
    uint32_t backoff_initial_ms, backoff_max_ms;
    uint64_t seed;
    int64_t (*now_ns)(void *arg);
    void *now_arg;
    bool dead;

    /* requests */
    struct api_link link;
    struct api_backoff backoff;
    uint64_t next_attempt_ms; /* loop time before which no attempt starts */
    struct api_acall *sent_head, *sent_tail;
    size_t nsent;
    struct api_acall *queue_head, *queue_tail;
    size_t nqueued;
    struct api_resp cur; /* response being read */
    size_t cur_want;     /* body lines announced */
    size_t cur_cap;
    bool cur_active;
    bool proven; /* a response came on this connection */

    struct api_awatch *watches;
    struct api_aclient_stats stats;

    /* events.c's dedup cache, created on first use. */
    void *events;
    void (*events_free)(void *events);
};

/* ---- a string-keyed hash map (informer_map.c) ----
 * Chained, FNV-1a, doubling at load 1. Keys are copied; values are the
 * caller's. */
struct api_map_slot {
    char *key;
    void *val;
    struct api_map_slot *next;
};

struct api_map {
    struct api_map_slot **buckets;
    size_t nbuckets;
    size_t len;
};

void api_map_init(struct api_map *m);
/* Free the slots and keys (not the values). */
void api_map_release(struct api_map *m);
void *api_map_get(const struct api_map *m, const char *key);
/* Insert or replace; returns the value replaced, or NULL. */
void *api_map_put(struct api_map *m, const char *key, void *val);
/* Remove; returns the value removed, or NULL. */
void *api_map_del(struct api_map *m, const char *key);
/* Call fn for every entry until it returns non-zero. fn must not change
 * the map. Returns the number of calls. */
size_t api_map_each(const struct api_map *m, int (*fn)(const char *key, void *val, void *arg),
                    void *arg);

uint64_t api_aclient_seed_next(struct api_aclient *c);
int64_t api_aclient_now_ns(struct api_aclient *c);
/* Detach and free every watch of c (aclient_watch.c). */
void api_awatch_free_all(struct api_aclient *c);

#endif
