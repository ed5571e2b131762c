/* MVCC snapshots: the whole state as a stream (API in mvcc.h).
 *
 * WHAT IS SAVED: every retained version of every key (tombstones too),
 * the revision, the compact revision and the history order. So a store
 * restored from a snapshot answers reads at any revision >= the compact
 * revision and mvcc_events_since(rev >= compact revision) exactly as the
 * original did; a watcher older than that gets "compacted" as usual.
 * (Saving only the latest view would be smaller but would turn every
 * restart into a compaction at the snapshot's revision.)
 *
 * FORMAT (little-endian; written in order, read as a stream)
 *
 *   magic "SKFMVCC\0" | u32 format (1) | u32 reserved (0)
 *   i64 rev | i64 compact_rev | u64 nkeys
 *   nkeys times, keys strictly ascending (memcmp order, shorter first):
 *     u32 klen | key | u32 nvers
 *     nvers times, mod_rev strictly ascending:
 *       i64 mod_rev | i64 create_rev | i64 version
 *       | u8 kind: 0 tombstone (create_rev and version 0), 1 value
 *       | for kind 1: u32 vlen | value
 *   u64 nhist
 *   nhist times, the changes after compact_rev in the order they were
 *   made: u32 key ordinal (position in the key list) | i64 rev
 *   u32 crc32c of every byte before it
 *
 * VALIDITY (checked while reading, before the live state is touched):
 * limits (key and value sizes), ordering, 0 < mod_rev <= rev, only a
 * key's oldest version may be at or below compact_rev and it must then
 * be live, every history record names an existing version, each version
 * after compact_rev is named exactly once, history revisions do not go
 * down, the crc, and nothing after the crc. */
#include "crc32c.h"
#include "io.h"
#include "lib/alloc.h"
#include "mvcc_int.h"

#include <stdlib.h>
#include <string.h>

#define SNAP_MAGIC  "SKFMVCC" /* with its NUL: 8 bytes */
#define SNAP_FORMAT 1
#define SNAP_BUF    (64u << 10)

/* ---- save ---- */

struct snap_out {
    mvcc_sink_fn sink;
    void *arg;
    struct sk_err *err;
    int rc;
    uint32_t crc;
    size_t len;
    unsigned char buf[SNAP_BUF];
};

static void
out_flush(struct snap_out *o)
{
    if (o->rc == 0 && o->len)
        o->rc = o->sink(o->arg, o->buf, o->len, o->err);
    o->len = 0;
}

static void
out_put(struct snap_out *o, const void *p, size_t n)
{
    if (o->rc < 0)
        return;
    o->crc = crc32c_extend(o->crc, p, n);
    if (o->len + n > SNAP_BUF) {
        out_flush(o);
        if (n > SNAP_BUF) {
            if (o->rc == 0)
                o->rc = o->sink(o->arg, p, n, o->err);
            return;
        }
    }
    memcpy(o->buf + o->len, p, n);
    o->len += n;
}

static void
out_u32(struct snap_out *o, uint32_t v)
{
    unsigned char p[4];

    store_le32_put(p, v);
    out_put(o, p, 4);
}

static void
out_u64(struct snap_out *o, uint64_t v)
{
    unsigned char p[8];

    store_le64_put(p, v);
    out_put(o, p, 8);
}

static void
save_key(struct snap_out *o, const struct mvcc_key *k)
{
    const struct mvcc_ver *v;
    unsigned char kind;
    uint32_t i;

    out_u32(o, k->klen);
    out_put(o, mvcc_key_bytes(k), k->klen);
    out_u32(o, k->nvers);
    for (i = 0; i < k->nvers; i++) {
        v = &k->vers[i];
        out_u64(o, (uint64_t)v->mod_rev);
        out_u64(o, (uint64_t)v->create_rev);
        out_u64(o, (uint64_t)v->version);
        kind = v->val ? 1 : 0;
        out_put(o, &kind, 1);
        if (v->val) {
            out_u32(o, v->val->len);
            out_put(o, v->val->data, v->val->len);
        }
    }
}

int
mvcc_snapshot_save(struct mvcc *s, mvcc_sink_fn sink, void *arg, struct sk_err *err)
{
    struct snap_out *o = sk_calloc(1, sizeof(*o));
    struct mvcc_key *k;
    unsigned char t[4];
    uint32_t ord = 0;
    size_t i;
    int rc;

    o->sink = sink;
    o->arg = arg;
    o->err = err;
    out_put(o, SNAP_MAGIC, 8);
    out_u32(o, SNAP_FORMAT);
    out_u32(o, 0);
    out_u64(o, (uint64_t)s->rev);
    out_u64(o, (uint64_t)s->compact_rev);
    out_u64(o, s->nkeys);
    for (k = s->head->next[0]; k; k = k->next[0]) {
        k->ord = ord++;
        save_key(o, k);
    }
    out_u64(o, s->nhist);
    for (i = 0; i < s->nhist; i++) {
        out_u32(o, s->hist[i].k->ord);
        out_u64(o, (uint64_t)s->hist[i].rev);
    }
    store_le32_put(t, o->crc);
    out_put(o, t, 4);
    out_flush(o);
    rc = o->rc;
    free(o);
    return rc;
}

/* ---- restore ---- */

struct snap_in {
    mvcc_source_fn source;
    void *arg;
    struct sk_err *err;
    uint64_t off; /* stream offset, for messages */
    uint32_t crc;
    size_t pos;
    size_t len;
    unsigned char buf[SNAP_BUF];
};

static int
in_bad(struct snap_in *in, const char *what)
{
    return sk_err_set(in->err, EBADMSG, "mvcc snapshot at offset %llu: %s",
                      (unsigned long long)in->off, what);
}

/* Read exactly n bytes (0 with *eof set if the stream ended first). */
static int
in_raw(struct snap_in *in, void *p, size_t n, int *eof)
{
    unsigned char *dst = p;
    size_t take;
    ssize_t got;

    *eof = 0;
    while (n) {
        if (in->pos == in->len) {
            got = in->source(in->arg, in->buf, SNAP_BUF, in->err);
            if (got < 0)
                return (int)got;
            if (got == 0) {
                *eof = 1;
                return 0;
            }
            in->pos = 0;
            in->len = (size_t)got;
        }
        take = in->len - in->pos < n ? in->len - in->pos : n;
        memcpy(dst, in->buf + in->pos, take);
        in->pos += take;
        in->off += take;
        dst += take;
        n -= take;
    }
    return 0;
}

static int
in_get(struct snap_in *in, void *p, size_t n)
{
    int eof, rc = in_raw(in, p, n, &eof);

    if (rc == 0 && eof)
        return in_bad(in, "truncated");
    if (rc == 0)
        in->crc = crc32c_extend(in->crc, p, n);
    return rc;
}

static int
in_u32(struct snap_in *in, uint32_t *v)
{
    unsigned char p[4];
    int rc = in_get(in, p, 4);

    *v = rc == 0 ? store_le32_get(p) : 0;
    return rc;
}

static int
in_u64(struct snap_in *in, uint64_t *v)
{
    unsigned char p[8];
    int rc = in_get(in, p, 8);

    *v = rc == 0 ? store_le64_get(p) : 0;
    return rc;
}

static int
in_i64(struct snap_in *in, int64_t *v)
{
    uint64_t u;
    int rc = in_u64(in, &u);

    *v = (int64_t)u;
    return rc;
}

/* Restore state under construction. */
struct restore {
    struct mvcc *s; /* the new store */
    struct snap_in *in;
    struct mvcc_key *tail[MVCC_SL_MAX];
    struct mvcc_key **keys; /* by ordinal */
    uint64_t nkeys;
    uint64_t after_compact; /* versions with mod_rev > compact_rev */
};

static int
restore_header(struct restore *r, uint64_t *nkeys)
{
    unsigned char magic[8];
    uint32_t format, reserved;
    int rc;

    rc = in_get(r->in, magic, 8);
    if (rc == 0 && memcmp(magic, SNAP_MAGIC, 8) != 0)
        return in_bad(r->in, "bad magic, not an mvcc snapshot");
    if (rc == 0)
        rc = in_u32(r->in, &format);
    if (rc == 0 && format != SNAP_FORMAT)
        return in_bad(r->in, "unsupported format");
    if (rc == 0)
        rc = in_u32(r->in, &reserved);
    if (rc == 0)
        rc = in_i64(r->in, &r->s->rev);
    if (rc == 0)
        rc = in_i64(r->in, &r->s->compact_rev);
    if (rc == 0)
        rc = in_u64(r->in, nkeys);
    if (rc < 0)
        return rc;
    if (r->s->rev < 1 || r->s->compact_rev < 0 || r->s->compact_rev > r->s->rev)
        return in_bad(r->in, "impossible revision or compact revision");
    return 0;
}

static int
restore_check_ver(struct restore *r, const struct mvcc_key *k, const struct mvcc_ver *v, int live)
{
    const struct mvcc *s = r->s;

    if (v->mod_rev < 1 || v->mod_rev > s->rev)
        return in_bad(r->in, "version revision out of range");
    if (k->nvers && v->mod_rev <= k->vers[k->nvers - 1].mod_rev)
        return in_bad(r->in, "version revisions not ascending");
    if (live ? v->version < 1 || v->create_rev < 1 || v->create_rev > v->mod_rev
             : v->version != 0 || v->create_rev != 0)
        return in_bad(r->in, "inconsistent version or create revision");
    /* Compaction keeps at most the newest version at or below it. */
    if (v->mod_rev <= s->compact_rev && (k->nvers || !live))
        return in_bad(r->in, "version at or below the compact revision");
    return 0;
}

static int
restore_ver(struct restore *r, struct mvcc_key *k)
{
    struct mvcc_ver v = {0, 0, 0, NULL};
    unsigned char kind = 0;
    uint32_t vlen = 0;
    int rc;

    rc = in_i64(r->in, &v.mod_rev);
    if (rc == 0)
        rc = in_i64(r->in, &v.create_rev);
    if (rc == 0)
        rc = in_i64(r->in, &v.version);
    if (rc == 0)
        rc = in_get(r->in, &kind, 1);
    if (rc == 0 && kind > 1)
        return in_bad(r->in, "unknown version kind");
    if (rc == 0)
        rc = restore_check_ver(r, k, &v, kind);
    if (rc == 0 && kind)
        rc = in_u32(r->in, &vlen);
    if (rc == 0 && vlen > MVCC_VALUE_MAX)
        return in_bad(r->in, "value too large");
    if (rc < 0)
        return rc;
    if (kind) {
        v.val = sk_malloc(sizeof(*v.val) + vlen);
        v.val->len = vlen;
        rc = in_get(r->in, v.val->data, vlen);
    }
    /* Same capacity rule as the write path: powers of two. */
    if ((k->nvers & (k->nvers - 1)) == 0)
        k->vers = sk_reallocarray(k->vers, k->nvers ? 2 * (size_t)k->nvers : 1, sizeof(*k->vers));
    k->vers[k->nvers++] = v;
    r->s->nversions++;
    r->s->bytes += vlen;
    if (v.mod_rev > r->s->compact_rev)
        r->after_compact++;
    return rc;
}

static int
restore_key(struct restore *r, struct mvcc_key *prev)
{
    uint32_t klen = 0, nvers = 0, i;
    struct mvcc_key *k;
    char *key;
    int rc;

    rc = in_u32(r->in, &klen);
    if (rc == 0 && (klen == 0 || klen > MVCC_KEY_MAX))
        return in_bad(r->in, "key length out of range");
    if (rc < 0)
        return rc;
    key = sk_malloc(klen);
    rc = in_get(r->in, key, klen);
    if (rc == 0 && prev && mvcc_key_cmp(prev, key, klen) >= 0)
        rc = in_bad(r->in, "keys not strictly ascending");
    if (rc == 0)
        rc = in_u32(r->in, &nvers);
    if (rc == 0 && nvers == 0)
        rc = in_bad(r->in, "key without versions");
    if (rc < 0) {
        free(key);
        return rc;
    }
    k = mvcc_sl_append(r->s, r->tail, key, klen);
    free(key);
    if ((r->nkeys & (r->nkeys - 1)) == 0)
        r->keys = sk_reallocarray(r->keys, r->nkeys ? 2 * r->nkeys : 1, sizeof(*r->keys));
    r->keys[r->nkeys++] = k;
    for (i = 0; rc == 0 && i < nvers; i++)
        rc = restore_ver(r, k);
    if (rc == 0 && k->vers[k->nvers - 1].val)
        r->s->nlive++;
    return rc;
}

/* Clear the SEEN marks of the records [from, to) of one revision. */
static void
hist_unmark(struct mvcc *s, size_t from, size_t to)
{
    for (; from < to; from++)
        s->hist[from].k->flags &= (uint8_t)~MVCC_KEY_SEEN;
}

static int
restore_hist_record(struct restore *r, size_t *run_start)
{
    struct mvcc *s = r->s;
    const struct mvcc_ver *v;
    struct mvcc_key *k;
    uint32_t ord = 0;
    int64_t rev = 0;
    int rc;

    rc = in_u32(r->in, &ord);
    if (rc == 0)
        rc = in_i64(r->in, &rev);
    if (rc < 0)
        return rc;
    if (ord >= r->nkeys)
        return in_bad(r->in, "history names a key that does not exist");
    if (rev <= s->compact_rev || (s->nhist && rev < s->hist[s->nhist - 1].rev))
        return in_bad(r->in, "history revisions out of order");
    k = r->keys[ord];
    v = mvcc_ver_at(k, rev);
    if (!v || v->mod_rev != rev)
        return in_bad(r->in, "history names a version that does not exist");
    if (s->nhist && rev != s->hist[s->nhist - 1].rev) {
        hist_unmark(s, *run_start, s->nhist);
        *run_start = s->nhist;
    }
    if (k->flags & MVCC_KEY_SEEN)
        return in_bad(r->in, "history names one version twice");
    k->flags |= MVCC_KEY_SEEN;
    mvcc_hist_push(s, k, rev);
    return 0;
}

static int
restore_body(struct restore *r)
{
    uint64_t nkeys, nhist, i;
    size_t run_start = 0;
    int rc, eof;
    uint32_t crc;
    unsigned char t[4], extra;

    rc = restore_header(r, &nkeys);
    for (i = 0; rc == 0 && i < nkeys; i++)
        rc = restore_key(r, i ? r->keys[i - 1] : NULL);
    if (rc == 0)
        rc = in_u64(r->in, &nhist);
    if (rc == 0 && nhist != r->after_compact)
        return in_bad(r->in, "history does not cover every version after the compact revision");
    for (i = 0; rc == 0 && i < nhist; i++)
        rc = restore_hist_record(r, &run_start);
    hist_unmark(r->s, run_start, r->s->nhist);
    if (rc < 0)
        return rc;
    crc = r->in->crc;
    rc = in_raw(r->in, t, 4, &eof);
    if (rc == 0 && eof)
        return in_bad(r->in, "truncated before the crc");
    if (rc == 0 && store_le32_get(t) != crc)
        return in_bad(r->in, "crc mismatch");
    if (rc == 0)
        rc = in_raw(r->in, &extra, 1, &eof);
    if (rc == 0 && !eof)
        return in_bad(r->in, "trailing bytes after the crc");
    return rc;
}

int
mvcc_snapshot_restore(struct mvcc *s, mvcc_source_fn source, void *arg, struct sk_err *err)
{
    struct snap_in *in = sk_calloc(1, sizeof(*in));
    struct mvcc fresh;
    struct restore r;
    int i, rc;

    in->source = source;
    in->arg = arg;
    in->err = err;
    mvcc_init_empty(&fresh);
    memset(&r, 0, sizeof(r));
    r.s = &fresh;
    r.in = in;
    for (i = 0; i < MVCC_SL_MAX; i++)
        r.tail[i] = fresh.head;
    rc = restore_body(&r);
    if (rc == 0) {
        mvcc_swap_state(s, &fresh);
        if (s->hooks.restored)
            s->hooks.restored(s->hooks.arg, s->rev, s->compact_rev);
    }
    mvcc_release_state(&fresh);
    free(r.keys);
    free(in);
    return rc;
}
