#ifndef SK_STORE_MVCC_H
#define SK_STORE_MVCC_H

/* The MVCC key-value state machine behind the Raft log, with etcd v3
 * semantics.
 *
 * REVISIONS. The store has one global revision, 1 when empty (as in
 * etcd). Every command that changes something (a put, a delete that
 * deletes at least one key, a txn whose chosen branch does either)
 * increments it by exactly one, and all its changes carry that revision;
 * a command that changes nothing leaves it alone. Each live key has
 * create_rev (revision of the put that created it), mod_rev (of its last
 * change) and version (1 at creation, +1 per put). A delete leaves a
 * tombstone; a later put creates the key anew (version 1, new
 * create_rev).
 *
 * HISTORY. Old versions are kept, so reads can be made at a past
 * revision and watchers can replay every change, until mvcc_compact(R)
 * drops versions superseded at or before R (the latest version of each
 * live key is always kept). Reads at a revision below R fail with
 * MVCC_ECOMPACTED.
 *
 * COMMANDS. Writes arrive as Raft entry payloads built by the
 * mvcc_cmd_encode_* functions (format at the top of mvcc_cmd.c) and are
 * executed by mvcc_apply, which is deterministic: no clock, no
 * randomness, no dependence on memory layout, so every member that
 * applies the same log reaches the same state. A payload that does not
 * decode is refused with EBADMSG, an invalid request with EINVAL,
 * MVCC_ECOMPACTED or MVCC_EFUTURE; on any error the store is unchanged
 * (and the same error happens on every member).
 *
 * LIFETIMES. The kvs in results and events point into the store. They
 * stay valid until the next mvcc_compact (or compact command),
 * mvcc_snapshot_restore or mvcc_free; applying other commands never
 * frees anything.
 *
 * Not thread-safe: one thread applies and reads. Complexity of each
 * operation is documented at the top of mvcc.c. */

#include "lib/buf.h"
#include "lib/err.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Error codes (err->code; functions return them negated). */
#define MVCC_ECOMPACTED ESTALE /* revision compacted; resume from the compact revision */
#define MVCC_EFUTURE    ERANGE /* revision not reached yet */

#define MVCC_KEY_MAX     (64u << 10)
#define MVCC_VALUE_MAX   (32u << 20)
#define MVCC_TXN_MAX_OPS 10000

struct mvcc;

struct mvcc_kv {
    const char *key;
    const char *value; /* NULL with MVCC_KEYS_ONLY and in delete events */
    uint32_t key_len;
    uint32_t value_len;
    int64_t create_rev;
    int64_t mod_rev;
    int64_t version;
};

enum mvcc_op_type {
    MVCC_OP_RANGE = 1,
    MVCC_OP_PUT = 2,
    MVCC_OP_DELETE = 3,
    MVCC_OP_TXN = 4,
    MVCC_OP_COMPACT = 5,
};

/* mvcc_op.flags */
enum {
    MVCC_PREV_KV = 1,    /* put, delete: return the previous kv(s) */
    MVCC_COUNT_ONLY = 2, /* range: only count */
    MVCC_KEYS_ONLY = 4,  /* range: kvs without values */
};

/* A put, delete or range request. The bytes are borrowed.
 *
 * Key spans, as in etcd: end_len 0 means the single key; end "\0"
 * (end_len 1) means every key >= key; otherwise [key, end). For a
 * prefix, end = mvcc_prefix_end(prefix). */
struct mvcc_op {
    enum mvcc_op_type type; /* RANGE, PUT or DELETE */
    const char *key;
    uint32_t key_len;
    const char *end;
    uint32_t end_len;
    const char *value; /* put */
    uint32_t value_len;
    int64_t rev;   /* range: read at this revision; 0 = latest */
    int64_t limit; /* range: at most this many kvs; 0 = no limit */
    unsigned flags;
};

enum mvcc_cmp_target {
    MVCC_CMP_VERSION = 1,
    MVCC_CMP_CREATE = 2, /* create_rev; "= 0" tests that the key does not exist */
    MVCC_CMP_MOD = 3,
    MVCC_CMP_VALUE = 4,
};

enum mvcc_cmp_result {
    MVCC_CMP_EQUAL = 1,
    MVCC_CMP_NOT_EQUAL = 2,
    MVCC_CMP_LESS = 3,
    MVCC_CMP_GREATER = 4,
};

/* A txn compare, evaluated at the current revision. Over a span every
 * key must satisfy it. A missing key compares as version, create_rev and
 * mod_rev 0 (so existence is "create_rev > 0"), and fails every VALUE
 * compare, as in etcd. */
struct mvcc_cmp {
    enum mvcc_cmp_target target;
    enum mvcc_cmp_result result;
    const char *key;
    uint32_t key_len;
    const char *end;
    uint32_t end_len;
    int64_t num;       /* operand of VERSION, CREATE, MOD */
    const char *value; /* operand of VALUE */
    uint32_t value_len;
};

/* If all cmps hold, run `then`, else `els`; atomically, under at most
 * one new revision. Later ops see the writes of earlier ones. Within a
 * branch a key may be put at most once and not also be deleted. */
struct mvcc_txn {
    const struct mvcc_cmp *cmps;
    size_t ncmps;
    const struct mvcc_op *then;
    size_t nthen;
    const struct mvcc_op *els;
    size_t nels;
};

struct mvcc_op_result {
    enum mvcc_op_type type;
    struct mvcc_kv *kvs; /* range: the kvs; put/delete with PREV_KV: previous kvs */
    size_t nkvs;
    int64_t count; /* range: keys in the span (before limit); delete: keys deleted */
    int more;      /* range: keys beyond the limit exist; continue from the
                    * last key with a 0 byte appended */
};

struct mvcc_result {
    int64_t rev;                /* store revision after the command */
    int succeeded;              /* txn: the compares held (1 for other commands) */
    struct mvcc_op_result *ops; /* one per op run: put/delete/range 1, txn its branch's */
    size_t nops;
};

enum mvcc_event_type {
    MVCC_EVENT_PUT = 1,
    MVCC_EVENT_DELETE = 2,
};

struct mvcc_event {
    enum mvcc_event_type type;
    int64_t rev;         /* revision of the change */
    uint32_t sub;        /* position among the changes of that revision */
    struct mvcc_kv kv;   /* DELETE: key and mod_rev only */
    struct mvcc_kv prev; /* the kv before the change, when has_prev */
    int has_prev;
};

/* Called with each event; return 0 to go on, >0 to stop, <0 to fail
 * (that value is returned). */
typedef int (*mvcc_event_fn)(void *arg, const struct mvcc_event *ev);

/* Notifications for a watch hub. applied: after each command that made a
 * new revision, with all its events in order (valid during the call).
 * restored: after mvcc_snapshot_restore replaced the whole state; a hub
 * should resynchronize its watchers with mvcc_events_since. */
struct mvcc_hooks {
    void (*applied)(void *arg, int64_t rev, const struct mvcc_event *evs, size_t n);
    void (*restored)(void *arg, int64_t rev, int64_t compact_rev);
    void *arg;
};

/* Snapshot streams. A sink takes all len bytes or fails; a source
 * returns bytes read (0 at the end) or <0. */
typedef int (*mvcc_sink_fn)(void *arg, const void *buf, size_t len, struct sk_err *err);
typedef ssize_t (*mvcc_source_fn)(void *arg, void *buf, size_t len, struct sk_err *err);

struct mvcc_stats {
    uint64_t keys;      /* in the index, tombstoned ones included */
    uint64_t live_keys; /* visible at the current revision */
    uint64_t versions;  /* retained versions, tombstones included */
    uint64_t history;   /* changes after the compact revision */
    uint64_t bytes;     /* key and value bytes held */
};

/* ---- the store ---- */

struct mvcc *mvcc_new(void);
void mvcc_free(struct mvcc *s);
int64_t mvcc_rev(const struct mvcc *s);
int64_t mvcc_compact_rev(const struct mvcc *s);
void mvcc_stats(const struct mvcc *s, struct mvcc_stats *st);
void mvcc_set_hooks(struct mvcc *s, const struct mvcc_hooks *hooks);

/* Decode and execute one command (a Raft entry payload). res (released
 * first) gets the outcome. See COMMANDS above for errors. */
int mvcc_apply(struct mvcc *s, const void *payload, size_t len, struct mvcc_result *res,
               struct sk_err *err);

/* A range read outside the log (serializable, or after a ReadIndex).
 * out is released first. */
int mvcc_range(struct mvcc *s, const struct mvcc_op *req, struct mvcc_op_result *out,
               struct sk_err *err);

/* Drop history at or before rev (see HISTORY). MVCC_ECOMPACTED when rev
 * <= the compact revision, MVCC_EFUTURE when rev > the current one. The
 * compact command does the same through the log. */
int mvcc_compact(struct mvcc *s, int64_t rev, struct sk_err *err);

/* Every change with revision > rev to keys in the span, in order: the
 * span is as in struct mvcc_op, and key_len 0 means every key. Returns
 * the number of events delivered, fn's negative return, or
 * -MVCC_ECOMPACTED ("compacted, resume from N") when changes after rev
 * were already compacted; then *compact_rev (if not NULL) is N, and
 * watching from N works. */
int mvcc_events_since(struct mvcc *s, int64_t rev, const char *key, uint32_t key_len,
                      const char *end, uint32_t end_len, mvcc_event_fn fn, void *arg,
                      int64_t *compact_rev, struct sk_err *err);

/* Serialize the whole state, every retained version and the history
 * order included, so a restored store answers the same reads and
 * mvcc_events_since calls (format at the top of mvcc_snap.c). */
int mvcc_snapshot_save(struct mvcc *s, mvcc_sink_fn sink, void *arg, struct sk_err *err);
/* Replace the state with a serialized one. The stream is fully checked
 * (crc, order, limits, consistency) before anything is replaced; on
 * error the store is unchanged. Calls the restored hook. */
int mvcc_snapshot_restore(struct mvcc *s, mvcc_source_fn source, void *arg, struct sk_err *err);

/* ---- results ---- */

void mvcc_result_init(struct mvcc_result *res);
void mvcc_result_release(struct mvcc_result *res);
void mvcc_op_result_release(struct mvcc_op_result *r);

/* ---- commands ----
 *
 * Each encoder appends one complete command (a Raft entry payload) to
 * out. They cannot fail; limits are checked when the command is applied,
 * so every member rejects the same commands. */

void mvcc_cmd_encode_put(struct sk_buf *out, const char *key, uint32_t key_len, const char *value,
                         uint32_t value_len, unsigned flags);
void mvcc_cmd_encode_delete(struct sk_buf *out, const char *key, uint32_t key_len, const char *end,
                            uint32_t end_len, unsigned flags);
/* A range, put or delete. */
void mvcc_cmd_encode_op(struct sk_buf *out, const struct mvcc_op *op);
void mvcc_cmd_encode_txn(struct sk_buf *out, const struct mvcc_txn *txn);
void mvcc_cmd_encode_compact(struct sk_buf *out, int64_t rev);

/* The end of the span of keys starting with prefix: prefix with its last
 * byte below 0xff incremented and the rest dropped, or "\0" (every key)
 * when there is none. end must hold prefix_len (at least 1) bytes.
 * Returns the end length. */
uint32_t mvcc_prefix_end(const char *prefix, uint32_t prefix_len, char *end);

#endif
