/* The MVCC store: index, versions, reads, writes, compaction and events
 * (API in mvcc.h; commands in mvcc_cmd.c; snapshots in mvcc_snap.c).
 *
 * DATA STRUCTURE
 *
 *   keys     a skip list ordered by key bytes (memcmp, shorter first).
 *            Each node is ONE allocation: a 24-byte header, its level's
 *            next pointers (on average 4/3 of them, p = 1/4) and the key
 *            bytes. Ordered, so prefix and span scans walk level 0.
 *   versions per key an array of struct mvcc_ver (32 bytes: mod_rev,
 *            create_rev, version, value pointer), oldest first, sorted by
 *            mod_rev; a tombstone has no value. Sized to a power of two.
 *   values   one allocation per version (4-byte length + bytes); never
 *            copied: results and events point at it.
 *   history  an array of (key, rev) pairs, one per change after the
 *            compact revision, in the order the changes were made. It
 *            orders events (sub-revision order inside a txn) and tells
 *            compaction which keys can have superseded versions.
 *
 *   A key with one version of an L-byte value costs about
 *   24 + 11 + klen (node) + 48 (version array in a malloc chunk)
 *   + 16 + L (value chunk) + 16 (history, until compacted) bytes plus
 *   malloc rounding: measured 128 bytes of overhead per key at 1M keys
 *   (37-byte keys, 256-byte values; 112 after compaction), against the
 *   ~1 KB per key of etcd's bbolt pages, B-tree index and Go heap.
 *
 * COMPLEXITY (n keys, v versions of one key, m keys in a span, h history
 * records)
 *
 *   get / put / single delete   O(log n) expected + O(log v)
 *   range or delete of a span   O(log n + m); count always walks the span
 *   txn                         its ops, plus O(p log p) for p puts to check
 *                               for duplicates
 *   compact to R                O(records <= R + removed keys * log n)
 *   events since rev            O(log h + records after rev)
 *   snapshot save / restore     O(n + versions + h)
 *
 * Nothing here depends on randomness or addresses in a way visible to
 * callers: the skip list's levels come from a seeded generator and only
 * shape the index, never results. */
#include "mvcc_int.h"
#include "lib/alloc.h"

#include <stdlib.h>
#include <string.h>

/* ---- skip list ---- */

int
mvcc_key_cmp(const struct mvcc_key *k, const char *key, uint32_t len)
{
    uint32_t n = k->klen < len ? k->klen : len;
    int c = n ? memcmp(mvcc_key_bytes(k), key, n) : 0;

    if (c)
        return c;
    return k->klen < len ? -1 : k->klen > len;
}

static int
sl_random_level(struct mvcc *s)
{
    uint64_t r;
    int level = 1;

    /* xorshift64 */
    s->rng ^= s->rng << 13;
    s->rng ^= s->rng >> 7;
    s->rng ^= s->rng << 17;
    r = s->rng;
    while (level < MVCC_SL_MAX && (r & 3) == 0) {
        level++;
        r >>= 2;
    }
    return level;
}

/* First key >= key; fills update[i] with the last node before it on
 * level i when update is not NULL. */
static struct mvcc_key *
sl_seek(struct mvcc *s, const char *key, uint32_t len, struct mvcc_key **update)
{
    struct mvcc_key *x = s->head;
    int i;

    for (i = s->level - 1; i >= 0; i--) {
        while (x->next[i] && mvcc_key_cmp(x->next[i], key, len) < 0)
            x = x->next[i];
        if (update)
            update[i] = x;
    }
    return x->next[0];
}

struct mvcc_key *
mvcc_sl_find_ge(struct mvcc *s, const char *key, uint32_t len)
{
    return sl_seek(s, key, len, NULL);
}

static struct mvcc_key *
key_alloc(struct mvcc *s, const char *key, uint32_t len, int level)
{
    struct mvcc_key *k;

    k = sk_malloc(sizeof(*k) + (size_t)level * sizeof(k->next[0]) + len);
    k->vers = NULL;
    k->nvers = 0;
    k->klen = len;
    k->ord = 0;
    k->level = (uint8_t)level;
    k->flags = 0;
    memcpy((char *)(k->next + level), key, len);
    s->nkeys++;
    s->bytes += len;
    return k;
}

/* The node of key, created (without versions) if missing. */
static struct mvcc_key *
sl_insert(struct mvcc *s, const char *key, uint32_t len)
{
    struct mvcc_key *update[MVCC_SL_MAX], *k;
    int level, i;

    k = sl_seek(s, key, len, update);
    if (k && mvcc_key_cmp(k, key, len) == 0)
        return k;
    level = sl_random_level(s);
    for (i = s->level; i < level; i++)
        update[i] = s->head;
    if (level > s->level)
        s->level = level;
    k = key_alloc(s, key, len, level);
    for (i = 0; i < level; i++) {
        k->next[i] = update[i]->next[i];
        update[i]->next[i] = k;
    }
    return k;
}

struct mvcc_key *
mvcc_sl_append(struct mvcc *s, struct mvcc_key **tail, const char *key, uint32_t len)
{
    int level = sl_random_level(s), i;
    struct mvcc_key *k = key_alloc(s, key, len, level);

    if (level > s->level)
        s->level = level;
    for (i = 0; i < level; i++) {
        k->next[i] = NULL;
        tail[i]->next[i] = k;
        tail[i] = k;
    }
    return k;
}

static void
key_free(struct mvcc *s, struct mvcc_key *k)
{
    uint32_t i;

    for (i = 0; i < k->nvers; i++) {
        if (k->vers[i].val)
            s->bytes -= k->vers[i].val->len;
        free(k->vers[i].val);
    }
    s->nversions -= k->nvers;
    s->bytes -= k->klen;
    s->nkeys--;
    free(k->vers);
    free(k);
}

static void
sl_remove(struct mvcc *s, struct mvcc_key *k)
{
    struct mvcc_key *update[MVCC_SL_MAX];
    int i;

    if (sl_seek(s, mvcc_key_bytes(k), k->klen, update) != k)
        SK_BUG("mvcc: key to remove is not in the index");
    for (i = 0; i < k->level; i++)
        if (update[i]->next[i] == k)
            update[i]->next[i] = k->next[i];
    while (s->level > 1 && !s->head->next[s->level - 1])
        s->level--;
    key_free(s, k);
}

/* ---- spans ---- */

void
mvcc_span_begin(struct mvcc_span_it *it, struct mvcc *s, const char *key, uint32_t key_len,
                const char *end, uint32_t end_len)
{
    it->k = mvcc_sl_find_ge(s, key, key_len);
    it->end = end;
    it->end_len = end_len;
    it->single = end_len == 0;
    it->unbounded = end_len == 1 && end[0] == '\0';
    if (it->single && it->k && mvcc_key_cmp(it->k, key, key_len) != 0)
        it->k = NULL;
}

struct mvcc_key *
mvcc_span_next(struct mvcc_span_it *it)
{
    struct mvcc_key *k = it->k;

    if (!k)
        return NULL;
    if (!it->single && !it->unbounded && mvcc_key_cmp(k, it->end, it->end_len) >= 0) {
        it->k = NULL;
        return NULL;
    }
    it->k = it->single ? NULL : k->next[0];
    return k;
}

static int
span_match(const struct mvcc_key *k, const char *key, uint32_t key_len, const char *end,
           uint32_t end_len)
{
    if (key_len == 0)
        return 1;
    if (end_len == 0)
        return mvcc_key_cmp(k, key, key_len) == 0;
    if (mvcc_key_cmp(k, key, key_len) < 0)
        return 0;
    return (end_len == 1 && end[0] == '\0') || mvcc_key_cmp(k, end, end_len) < 0;
}

uint32_t
mvcc_prefix_end(const char *prefix, uint32_t prefix_len, char *end)
{
    uint32_t i = prefix_len;

    while (i > 0 && (unsigned char)prefix[i - 1] == 0xff)
        i--;
    if (i == 0) {
        end[0] = '\0';
        return 1;
    }
    memcpy(end, prefix, i);
    end[i - 1] = (char)((unsigned char)end[i - 1] + 1);
    return i;
}

/* ---- versions ---- */

const struct mvcc_ver *
mvcc_ver_at(const struct mvcc_key *k, int64_t rev)
{
    uint32_t lo = 0, hi = k->nvers, mid;

    if (!k->nvers || k->vers[0].mod_rev > rev)
        return NULL;
    if (k->vers[k->nvers - 1].mod_rev <= rev)
        return &k->vers[k->nvers - 1];
    /* vers[lo].mod_rev <= rev < vers[hi].mod_rev */
    hi = k->nvers - 1;
    while (hi - lo > 1) {
        mid = lo + (hi - lo) / 2;
        if (k->vers[mid].mod_rev <= rev)
            lo = mid;
        else
            hi = mid;
    }
    return &k->vers[lo];
}

static const struct mvcc_ver *
live_at(const struct mvcc_key *k, int64_t rev)
{
    const struct mvcc_ver *v = mvcc_ver_at(k, rev);

    return v && v->val ? v : NULL;
}

void
mvcc_kv_fill(struct mvcc_kv *kv, const struct mvcc_key *k, const struct mvcc_ver *v, int with_value)
{
    kv->key = mvcc_key_bytes(k);
    kv->key_len = k->klen;
    kv->value = v->val && with_value ? v->val->data : NULL;
    kv->value_len = v->val && with_value ? v->val->len : 0;
    kv->create_rev = v->create_rev;
    kv->mod_rev = v->mod_rev;
    kv->version = v->version;
}

static size_t
pow2_at_least(uint32_t n)
{
    size_t c = 1;

    while (c < n)
        c <<= 1;
    return c;
}

void
mvcc_hist_push(struct mvcc *s, struct mvcc_key *k, int64_t rev)
{
    if (s->nhist == s->caphist) {
        s->caphist = s->caphist ? s->caphist * 2 : 1024;
        s->hist = sk_reallocarray(s->hist, s->caphist, sizeof(*s->hist));
    }
    s->hist[s->nhist].k = k;
    s->hist[s->nhist].rev = rev;
    s->nhist++;
}

static void
ver_append(struct mvcc *s, struct mvcc_key *k, const struct mvcc_ver *v)
{
    if (k->nvers && k->vers[k->nvers - 1].mod_rev >= v->mod_rev)
        SK_BUG("mvcc: two changes to one key in revision %lld", (long long)v->mod_rev);
    if ((k->nvers & (k->nvers - 1)) == 0)
        k->vers = sk_reallocarray(k->vers, k->nvers ? 2 * (size_t)k->nvers : 1, sizeof(*k->vers));
    k->vers[k->nvers++] = *v;
    s->nversions++;
    if (v->val)
        s->bytes += v->val->len;
    mvcc_hist_push(s, k, v->mod_rev);
}

static void
result_push_kv(struct mvcc_op_result *r, const struct mvcc_key *k, const struct mvcc_ver *v,
               int with_value)
{
    /* Grow by doubling: nkvs hits each power of two once. */
    if ((r->nkvs & (r->nkvs - 1)) == 0)
        r->kvs = sk_reallocarray(r->kvs, r->nkvs ? 2 * r->nkvs : 1, sizeof(*r->kvs));
    mvcc_kv_fill(&r->kvs[r->nkvs++], k, v, with_value);
}

/* ---- writes and reads ---- */

void
mvcc_do_put(struct mvcc *s, const struct mvcc_op *op, int64_t wrev, struct mvcc_op_result *r)
{
    struct mvcc_key *k = sl_insert(s, op->key, op->key_len);
    const struct mvcc_ver *last = k->nvers ? &k->vers[k->nvers - 1] : NULL;
    struct mvcc_ver v;

    v.mod_rev = wrev;
    if (last && last->val) {
        if (op->flags & MVCC_PREV_KV)
            result_push_kv(r, k, last, 1);
        v.create_rev = last->create_rev;
        v.version = last->version + 1;
    } else {
        v.create_rev = wrev;
        v.version = 1;
        s->nlive++;
    }
    v.val = sk_malloc(sizeof(*v.val) + op->value_len);
    v.val->len = op->value_len;
    if (op->value_len)
        memcpy(v.val->data, op->value, op->value_len);
    ver_append(s, k, &v);
}

int64_t
mvcc_do_delete(struct mvcc *s, const struct mvcc_op *op, int64_t wrev, struct mvcc_op_result *r)
{
    struct mvcc_ver tomb = {wrev, 0, 0, NULL};
    struct mvcc_span_it it;
    struct mvcc_key *k;
    int64_t n = 0;

    mvcc_span_begin(&it, s, op->key, op->key_len, op->end, op->end_len);
    while ((k = mvcc_span_next(&it))) {
        if (!k->nvers || !k->vers[k->nvers - 1].val)
            continue;
        if (op->flags & MVCC_PREV_KV)
            result_push_kv(r, k, &k->vers[k->nvers - 1], 1);
        ver_append(s, k, &tomb);
        s->nlive--;
        n++;
    }
    r->count = n;
    return n;
}

void
mvcc_do_range(struct mvcc *s, const struct mvcc_op *op, int64_t rev, struct mvcc_op_result *r)
{
    int count_only = (op->flags & MVCC_COUNT_ONLY) != 0;
    const struct mvcc_ver *v;
    struct mvcc_span_it it;
    struct mvcc_key *k;

    mvcc_span_begin(&it, s, op->key, op->key_len, op->end, op->end_len);
    while ((k = mvcc_span_next(&it))) {
        v = live_at(k, rev);
        if (!v)
            continue;
        r->count++;
        if (!count_only && (!op->limit || r->nkvs < (uint64_t)op->limit))
            result_push_kv(r, k, v, !(op->flags & MVCC_KEYS_ONLY));
    }
    r->more = !count_only && op->limit && r->count > (int64_t)r->nkvs;
}

int
mvcc_check_read_rev(const struct mvcc *s, int64_t rev, struct sk_err *err)
{
    if (rev < 0)
        return sk_err_set(err, EINVAL, "negative revision %lld", (long long)rev);
    if (rev && rev < s->compact_rev)
        return sk_err_set(err, MVCC_ECOMPACTED, "revision %lld is compacted, resume from %lld",
                          (long long)rev, (long long)s->compact_rev);
    if (rev > s->rev)
        return sk_err_set(err, MVCC_EFUTURE, "revision %lld is in the future (current %lld)",
                          (long long)rev, (long long)s->rev);
    return 0;
}

int
mvcc_check_key(const char *what, uint32_t key_len, uint32_t end_len, struct sk_err *err)
{
    if (key_len == 0 || key_len > MVCC_KEY_MAX)
        return sk_err_set(err, EINVAL, "%s: key of %u bytes not in [1, %u]", what, key_len,
                          MVCC_KEY_MAX);
    if (end_len > MVCC_KEY_MAX)
        return sk_err_set(err, EINVAL, "%s: range end of %u bytes exceeds %u", what, end_len,
                          MVCC_KEY_MAX);
    return 0;
}

int
mvcc_range(struct mvcc *s, const struct mvcc_op *req, struct mvcc_op_result *out,
           struct sk_err *err)
{
    int rc;

    mvcc_op_result_release(out);
    out->type = MVCC_OP_RANGE;
    rc = mvcc_check_key("range", req->key_len, req->end_len, err);
    if (rc < 0)
        return rc;
    if (req->limit < 0)
        return sk_err_set(err, EINVAL, "range: negative limit");
    rc = mvcc_check_read_rev(s, req->rev, err);
    if (rc < 0)
        return rc;
    mvcc_do_range(s, req, req->rev ? req->rev : s->rev, out);
    return 0;
}

/* ---- compaction ---- */

/* First history record with rev > rev. */
static size_t
hist_upper(const struct mvcc *s, int64_t rev)
{
    size_t lo = 0, hi = s->nhist, mid;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        if (s->hist[mid].rev <= rev)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Drop the versions of k superseded at or before rev: all before the
 * latest one <= rev, and that one too if it is a tombstone. */
static void
key_compact(struct mvcc *s, struct mvcc_key *k, int64_t rev)
{
    const struct mvcc_ver *v = mvcc_ver_at(k, rev);
    uint32_t drop, i;

    if (!v)
        return;
    drop = (uint32_t)(v - k->vers) + (v->val ? 0 : 1);
    if (!drop)
        return;
    for (i = 0; i < drop; i++) {
        if (k->vers[i].val)
            s->bytes -= k->vers[i].val->len;
        free(k->vers[i].val);
    }
    s->nversions -= drop;
    k->nvers -= drop;
    if (!k->nvers) {
        free(k->vers);
        k->vers = NULL;
        return;
    }
    memmove(k->vers, k->vers + drop, k->nvers * sizeof(*k->vers));
    k->vers = sk_reallocarray(k->vers, pow2_at_least(k->nvers), sizeof(*k->vers));
}

int
mvcc_compact(struct mvcc *s, int64_t rev, struct sk_err *err)
{
    struct mvcc_key **dead = NULL, *k;
    size_t end, i, ndead = 0;

    if (rev <= s->compact_rev)
        return sk_err_set(err, MVCC_ECOMPACTED, "revision %lld is already compacted (at %lld)",
                          (long long)rev, (long long)s->compact_rev);
    if (rev > s->rev)
        return sk_err_set(err, MVCC_EFUTURE, "revision %lld is in the future (current %lld)",
                          (long long)rev, (long long)s->rev);
    /* Only keys changed after the previous compaction can hold versions
     * superseded by now: the history names exactly those. Keys left
     * without versions are freed after the pass, since later records of
     * the pass may still name them. */
    end = hist_upper(s, rev);
    for (i = 0; i < end; i++) {
        k = s->hist[i].k;
        key_compact(s, k, rev);
        if (k->nvers || (k->flags & MVCC_KEY_DEAD))
            continue;
        k->flags |= MVCC_KEY_DEAD;
        if ((ndead & (ndead - 1)) == 0)
            dead = sk_reallocarray(dead, ndead ? 2 * ndead : 1, sizeof(*dead));
        dead[ndead++] = k;
    }
    memmove(s->hist, s->hist + end, (s->nhist - end) * sizeof(*s->hist));
    s->nhist -= end;
    /* Give memory back after a big compaction (hysteresis: quarter full). */
    if (s->caphist > 1024 && s->nhist < s->caphist / 4) {
        s->caphist = s->nhist * 2 > 1024 ? s->nhist * 2 : 1024;
        s->hist = sk_reallocarray(s->hist, s->caphist, sizeof(*s->hist));
    }
    for (i = 0; i < ndead; i++)
        sl_remove(s, dead[i]);
    free(dead);
    s->compact_rev = rev;
    return 0;
}

/* ---- events ---- */

void
mvcc_event_build(const struct mvcc_hist *h, uint32_t sub, struct mvcc_event *ev)
{
    const struct mvcc_key *k = h->k;
    const struct mvcc_ver *v = mvcc_ver_at(k, h->rev);
    size_t i;

    if (!v || v->mod_rev != h->rev)
        SK_BUG("mvcc: history names a missing version %lld", (long long)h->rev);
    i = (size_t)(v - k->vers);
    memset(ev, 0, sizeof(*ev));
    ev->type = v->val ? MVCC_EVENT_PUT : MVCC_EVENT_DELETE;
    ev->rev = h->rev;
    ev->sub = sub;
    mvcc_kv_fill(&ev->kv, k, v, 1);
    if (i > 0 && k->vers[i - 1].val) {
        ev->has_prev = 1;
        mvcc_kv_fill(&ev->prev, k, &k->vers[i - 1], 1);
    }
}

int
mvcc_events_since(struct mvcc *s, int64_t rev, const char *key, uint32_t key_len, const char *end,
                  uint32_t end_len, mvcc_event_fn fn, void *arg, int64_t *compact_rev,
                  struct sk_err *err)
{
    struct mvcc_event ev;
    uint32_t sub = 0;
    size_t i;
    int n = 0, rc;

    if (compact_rev)
        *compact_rev = s->compact_rev;
    if (rev < s->compact_rev)
        return sk_err_set(err, MVCC_ECOMPACTED, "revision %lld: compacted, resume from %lld",
                          (long long)rev, (long long)s->compact_rev);
    /* The first record after rev starts its revision, so sub starts at 0. */
    for (i = hist_upper(s, rev); i < s->nhist; i++) {
        sub = i > 0 && s->hist[i - 1].rev == s->hist[i].rev ? sub + 1 : 0;
        if (!span_match(s->hist[i].k, key, key_len, end, end_len))
            continue;
        mvcc_event_build(&s->hist[i], sub, &ev);
        rc = fn(arg, &ev);
        if (rc < 0)
            return rc;
        n++;
        if (rc > 0)
            break;
    }
    return n;
}

/* ---- lifecycle ---- */

void
mvcc_init_empty(struct mvcc *s)
{
    memset(s, 0, sizeof(*s));
    s->head = sk_calloc(1, sizeof(*s->head) + MVCC_SL_MAX * sizeof(s->head->next[0]));
    s->head->level = MVCC_SL_MAX;
    s->level = 1;
    s->rng = 0x9E3779B97F4A7C15ull;
    s->rev = 1;
}

void
mvcc_release_state(struct mvcc *s)
{
    struct mvcc_key *k, *next;

    if (!s->head)
        return;
    for (k = s->head->next[0]; k; k = next) {
        next = k->next[0];
        key_free(s, k);
    }
    free(s->head);
    free(s->hist);
    s->head = NULL;
    s->hist = NULL;
}

void
mvcc_swap_state(struct mvcc *a, struct mvcc *b)
{
    struct mvcc tmp = *a;
    struct mvcc_hooks ha = a->hooks, hb = b->hooks;

    *a = *b;
    *b = tmp;
    a->hooks = ha;
    b->hooks = hb;
}

struct mvcc *
mvcc_new(void)
{
    struct mvcc *s = sk_malloc(sizeof(*s));

    mvcc_init_empty(s);
    return s;
}

void
mvcc_free(struct mvcc *s)
{
    if (!s)
        return;
    mvcc_release_state(s);
    free(s);
}

int64_t
mvcc_rev(const struct mvcc *s)
{
    return s->rev;
}

int64_t
mvcc_compact_rev(const struct mvcc *s)
{
    return s->compact_rev;
}

void
mvcc_stats(const struct mvcc *s, struct mvcc_stats *st)
{
    st->keys = s->nkeys;
    st->live_keys = s->nlive;
    st->versions = s->nversions;
    st->history = s->nhist;
    st->bytes = s->bytes;
}

void
mvcc_set_hooks(struct mvcc *s, const struct mvcc_hooks *hooks)
{
    if (hooks)
        s->hooks = *hooks;
    else
        memset(&s->hooks, 0, sizeof(s->hooks));
}

void
mvcc_op_result_release(struct mvcc_op_result *r)
{
    free(r->kvs);
    memset(r, 0, sizeof(*r));
}

void
mvcc_result_init(struct mvcc_result *res)
{
    memset(res, 0, sizeof(*res));
}

void
mvcc_result_release(struct mvcc_result *res)
{
    size_t i;

    for (i = 0; i < res->nops; i++)
        mvcc_op_result_release(&res->ops[i]);
    free(res->ops);
    mvcc_result_init(res);
}
