#ifndef SK_STORE_MVCC_INT_H
#define SK_STORE_MVCC_INT_H

/* Private to store/: the MVCC store's data structure, shared by mvcc.c
 * (index, reads, writes, compaction, events), mvcc_cmd.c (command
 * encoding and apply) and mvcc_snap.c (snapshots). Layout and
 * complexity are described at the top of mvcc.c. */

#include "mvcc.h"

#include <stdint.h>

#define MVCC_SL_MAX 24 /* skip list levels: enough for 4^24 keys */

/* A value, stored once per version. */
struct mvcc_val {
    uint32_t len;
    char data[];
};

/* One version of a key; val NULL marks a tombstone (then version and
 * create_rev are 0). */
struct mvcc_ver {
    int64_t mod_rev;
    int64_t create_rev;
    int64_t version;
    struct mvcc_val *val;
};

enum {
    MVCC_KEY_DEAD = 1, /* compaction: no versions left, to be freed */
    MVCC_KEY_SEEN = 2, /* snapshot restore: scratch mark */
};

/* A key: a skip list node with its versions, oldest first. One
 * allocation: this header, `level` next pointers, then the key bytes.
 * The array vers has room for the next power of two >= nvers. */
struct mvcc_key {
    struct mvcc_ver *vers;
    uint32_t nvers;
    uint32_t klen;
    uint32_t ord; /* scratch: position in key order while snapshotting */
    uint8_t level;
    uint8_t flags;
    struct mvcc_key *next[];
};

/* One change, in the order changes were made. */
struct mvcc_hist {
    struct mvcc_key *k;
    int64_t rev;
};

struct mvcc {
    struct mvcc_key *head; /* sentinel with MVCC_SL_MAX levels */
    int level;             /* levels in use */
    uint64_t rng;          /* for skip list levels only; results never depend on it */
    int64_t rev;
    int64_t compact_rev;
    uint64_t nkeys;
    uint64_t nlive;
    uint64_t nversions;
    uint64_t bytes;
    struct mvcc_hist *hist; /* changes with rev > compact_rev, in order */
    size_t nhist;
    size_t caphist;
    struct mvcc_hooks hooks;
};

static inline const char *
mvcc_key_bytes(const struct mvcc_key *k)
{
    return (const char *)(k->next + k->level);
}

/* Order of k against key: <0, 0, >0 (bytewise, shorter first on ties). */
int mvcc_key_cmp(const struct mvcc_key *k, const char *key, uint32_t len);
/* First key >= key, or NULL. */
struct mvcc_key *mvcc_sl_find_ge(struct mvcc *s, const char *key, uint32_t len);
/* Version visible at rev (may be a tombstone), or NULL. */
const struct mvcc_ver *mvcc_ver_at(const struct mvcc_key *k, int64_t rev);
void mvcc_kv_fill(struct mvcc_kv *kv, const struct mvcc_key *k, const struct mvcc_ver *v,
                  int with_value);

/* Iteration over the keys of a span (see struct mvcc_op). */
struct mvcc_span_it {
    struct mvcc_key *k;
    const char *end;
    uint32_t end_len;
    int single;
    int unbounded;
};

void mvcc_span_begin(struct mvcc_span_it *it, struct mvcc *s, const char *key, uint32_t key_len,
                     const char *end, uint32_t end_len);
struct mvcc_key *mvcc_span_next(struct mvcc_span_it *it);

/* EINVAL unless 1 <= key_len <= MVCC_KEY_MAX and end_len <= MVCC_KEY_MAX;
 * what names the operation in the message. */
int mvcc_check_key(const char *what, uint32_t key_len, uint32_t end_len, struct sk_err *err);
/* MVCC_ECOMPACTED / MVCC_EFUTURE for a read revision (0 = latest is ok). */
int mvcc_check_read_rev(const struct mvcc *s, int64_t rev, struct sk_err *err);

/* Writes at revision wrev (the caller bumps s->rev afterwards). They
 * record the change in the history and fill r (prev kvs, count). put
 * returns nothing useful; delete returns the number of keys deleted. */
void mvcc_do_put(struct mvcc *s, const struct mvcc_op *op, int64_t wrev, struct mvcc_op_result *r);
int64_t mvcc_do_delete(struct mvcc *s, const struct mvcc_op *op, int64_t wrev,
                       struct mvcc_op_result *r);
/* Range at revision rev (already checked). */
void mvcc_do_range(struct mvcc *s, const struct mvcc_op *op, int64_t rev, struct mvcc_op_result *r);

/* Build the event of history record h; sub is its position within its
 * revision. */
void mvcc_event_build(const struct mvcc_hist *h, uint32_t sub, struct mvcc_event *ev);

/* Restore support: an empty store, adding a key (keys must come in
 * strictly increasing order: it is appended at the end), swapping two
 * stores' contents (hooks stay). */
void mvcc_init_empty(struct mvcc *s);
void mvcc_release_state(struct mvcc *s);
struct mvcc_key *mvcc_sl_append(struct mvcc *s, struct mvcc_key **tail, const char *key,
                                uint32_t len);
void mvcc_swap_state(struct mvcc *a, struct mvcc *b);
void mvcc_hist_push(struct mvcc *s, struct mvcc_key *k, int64_t rev);

#endif
