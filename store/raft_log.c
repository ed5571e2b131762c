/* The log as the Raft core sees it: the stored entries (read-only, through
 * struct raft_storage) followed by the unstable entries the core holds
 * until the driver confirms them durable. Invariants are stated on struct
 * raft_unstable in raft_int.h. Nothing here knows about terms of office,
 * roles or messages; raft.c decides what to append and when. */
#include "lib/alloc.h"
#include "raft_int.h"

#include <stdlib.h>
#include <string.h>

void
raft_entry_copy(struct raft_entry *dst, const struct raft_entry *src)
{
    *dst = *src;
    dst->data = NULL;
    if (src->len) {
        dst->data = sk_malloc(src->len);
        memcpy(dst->data, src->data, src->len);
    }
}

void
raft_entries_free(struct raft_entry *ents, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(ents[i].data);
    free(ents);
}

void
raft_log_init(struct raft_log *l, const struct raft_storage *st)
{
    memset(l, 0, sizeof(*l));
    l->st = st;
    l->u.offset = st->last_index(st->ud) + 1;
    l->u.in_progress = l->u.offset;
}

void
raft_log_release(struct raft_log *l)
{
    size_t i;

    for (i = 0; i < l->u.n; i++)
        free(l->u.ents[i].data);
    free(l->u.ents);
    l->u.handed = 0;
    raft_log_bury(l);
    free(l->u.grave);
    memset(&l->u, 0, sizeof(l->u));
}

/* Free an unstable entry's payload, or keep it until raft_advance() when
 * the outstanding ready may still point at it. */
static void
unstable_drop(struct raft_unstable *u, struct raft_entry *e)
{
    if (!e->data)
        return;
    if (!u->handed) {
        free(e->data);
    } else {
        if (u->n_grave == u->cap_grave) {
            u->cap_grave = u->cap_grave ? 2 * u->cap_grave : 16;
            u->grave = sk_reallocarray(u->grave, u->cap_grave, sizeof(*u->grave));
        }
        u->grave[u->n_grave++] = e->data;
    }
    e->data = NULL;
}

/* Free payloads dropped while a ready was outstanding. */
void
raft_log_bury(struct raft_log *l)
{
    size_t i;

    if (l->u.handed)
        return;
    for (i = 0; i < l->u.n_grave; i++)
        free(l->u.grave[i]);
    l->u.n_grave = 0;
}

/* Keep ents[0, keep) and drop the rest. */
static void
unstable_cut(struct raft_unstable *u, size_t keep)
{
    size_t i;

    for (i = keep; i < u->n; i++)
        unstable_drop(u, &u->ents[i]);
    u->n = keep;
}

uint64_t
raft_log_first_index(const struct raft_log *l)
{
    if (l->u.has_snap)
        return l->u.snap.index + 1;
    return l->st->first_index(l->st->ud);
}

uint64_t
raft_log_last_index(const struct raft_log *l)
{
    if (l->u.n)
        return l->u.offset + l->u.n - 1;
    if (l->u.has_snap)
        return l->u.snap.index;
    return l->u.offset - 1;
}

int
raft_log_term(const struct raft_log *l, uint64_t index, uint64_t *term)
{
    const struct raft_unstable *u = &l->u;

    if (index > raft_log_last_index(l))
        return RAFT_LOG_UNAVAILABLE;
    if (index >= u->offset) {
        *term = u->ents[index - u->offset].term;
        return 0;
    }
    if (u->has_snap) {
        if (index != u->snap.index)
            return RAFT_LOG_COMPACTED;
        *term = u->snap.term;
        return 0;
    }
    if (index + 1 < l->st->first_index(l->st->ud))
        return RAFT_LOG_COMPACTED;
    *term = l->st->term(l->st->ud, index);
    return 0;
}

uint64_t
raft_log_term_or0(const struct raft_log *l, uint64_t index)
{
    uint64_t term = 0;

    if (raft_log_term(l, index, &term) < 0)
        return 0;
    return term;
}

uint64_t
raft_log_last_term(const struct raft_log *l)
{
    return raft_log_term_or0(l, raft_log_last_index(l));
}

int
raft_log_match_term(const struct raft_log *l, uint64_t index, uint64_t term)
{
    uint64_t t;

    if (raft_log_term(l, index, &t) < 0)
        return 0;
    return t == term;
}

/* §3.6.1 / paper §5.4.1: a log whose last entry has a later term is more
 * up to date; with equal last terms, the longer log is. */
int
raft_log_up_to_date(const struct raft_log *l, uint64_t index, uint64_t term)
{
    uint64_t last_term = raft_log_last_term(l);

    return term > last_term || (term == last_term && index >= raft_log_last_index(l));
}

/* Last index known durable with its current content, 0 while a received
 * snapshot is being installed. */
uint64_t
raft_log_stable_last(const struct raft_log *l)
{
    if (l->u.has_snap)
        return 0;
    return l->u.offset - 1;
}

/* Index of the first entry of ents that is new or conflicts with the log
 * (same index, other term), 0 when the log already holds all of them. */
uint64_t
raft_log_find_conflict(const struct raft_log *l, const struct raft_entry *ents, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!raft_log_match_term(l, ents[i].index, ents[i].term))
            return ents[i].index;
    return 0;
}

/* Fast backtracking (§3.5, last paragraphs): the largest index <= index
 * whose term is <= term, and that term. A follower answers a rejected
 * APPEND(prev index, prev term) with it so the leader skips every entry
 * of a conflicting term in one round trip; the leader runs it on its own
 * log with the follower's answer to find where the logs may agree. Stops
 * at the compaction point (entries there are committed, hence matching). */
uint64_t
raft_log_conflict_hint(const struct raft_log *l, uint64_t index, uint64_t term, uint64_t *hint_term)
{
    uint64_t last = raft_log_last_index(l);
    uint64_t t;

    if (index > last)
        index = last;
    for (;;) {
        if (raft_log_term(l, index, &t) < 0) {
            *hint_term = 0;
            return index;
        }
        if (t <= term || index == 0) {
            *hint_term = t;
            return index;
        }
        index--;
    }
}

static void
unstable_reserve(struct raft_unstable *u, size_t extra)
{
    if (u->n + extra <= u->cap)
        return;
    u->cap = u->cap ? u->cap : 16;
    while (u->cap < u->n + extra)
        u->cap *= 2;
    u->ents = sk_reallocarray(u->ents, u->cap, sizeof(*u->ents));
}

/* Append copies of ents (contiguous), first dropping every entry at or
 * after ents[0].index: the caller has established that they conflict
 * (§3.5: "if an existing entry conflicts with a new one, delete the
 * existing entry and all that follow it"). */
void
raft_log_append(struct raft_log *l, const struct raft_entry *ents, size_t n)
{
    struct raft_unstable *u = &l->u;
    uint64_t after;
    size_t i;

    if (!n)
        return;
    after = ents[0].index;
    if (after <= l->committed)
        SK_BUG("raft: truncating committed entry %llu (commit %llu)", (unsigned long long)after,
               (unsigned long long)l->committed);
    if (after <= u->offset) {
        /* Replace the whole unstable part; the stored suffix from after
         * on is stale and the next ready truncates it. */
        unstable_cut(u, 0);
        u->offset = after;
        u->in_progress = after;
    } else if (after <= u->offset + u->n) {
        unstable_cut(u, after - u->offset);
        if (u->in_progress > after)
            u->in_progress = after;
    } else {
        SK_BUG("raft: gap appending %llu after %llu", (unsigned long long)after,
               (unsigned long long)raft_log_last_index(l));
    }
    unstable_reserve(u, n);
    for (i = 0; i < n; i++)
        raft_entry_copy(&u->ents[u->n++], &ents[i]);
}

/* Copy [lo, hi) from storage. Returns how many were copied. */
static int
log_stored_entries(const struct raft_log *l, uint64_t lo, uint64_t hi, uint64_t max_bytes,
                   struct raft_entry *out, uint64_t *bytes, struct sk_err *err)
{
    int rc, i;

    rc = l->st->entries(l->st->ud, lo, hi, max_bytes, out, err);
    if (rc < 0)
        return rc;
    if (rc == 0 || (uint64_t)rc > hi - lo)
        return sk_err_set(err, EIO, "storage returned %d entries for [%llu, %llu)", rc,
                          (unsigned long long)lo, (unsigned long long)hi);
    for (i = 0; i < rc; i++) {
        if (out[i].index != lo + (uint64_t)i) {
            while (rc > 0)
                free(out[--rc].data);
            return sk_err_set(err, EIO, "storage returned entry %llu for %llu",
                              (unsigned long long)out[i].index,
                              (unsigned long long)(lo + (uint64_t)i));
        }
        *bytes += out[i].len;
    }
    return rc;
}

/* Copies of entries [lo, hi), at least one, then more while the payload
 * stays <= max_bytes (and at most RAFT_LOG_MAX_BATCH, so that a peer far
 * behind does not make us allocate for its whole gap). Requires
 * first_index <= lo < hi <= last + 1. The caller frees *out with
 * raft_entries_free(). */
int
raft_log_entries(const struct raft_log *l, uint64_t lo, uint64_t hi, uint64_t max_bytes,
                 struct raft_entry **out, size_t *n, struct sk_err *err)
{
    const struct raft_unstable *u = &l->u;
    struct raft_entry *ents;
    uint64_t bytes = 0, i;
    size_t k = 0;
    int rc;

    if (hi - lo > RAFT_LOG_MAX_BATCH)
        hi = lo + RAFT_LOG_MAX_BATCH;
    ents = sk_calloc(hi - lo, sizeof(*ents));

    if (lo < u->offset) {
        uint64_t shi = hi < u->offset ? hi : u->offset;

        rc = log_stored_entries(l, lo, shi, max_bytes, ents, &bytes, err);
        if (rc < 0) {
            free(ents);
            return rc;
        }
        k = (size_t)rc;
        if (lo + k < shi)
            hi = lo + k; /* storage stopped at max_bytes */
    }
    for (i = lo + k; i < hi; i++) {
        const struct raft_entry *e = &u->ents[i - u->offset];

        if (k && bytes + e->len > max_bytes)
            break;
        raft_entry_copy(&ents[k++], e);
        bytes += e->len;
    }
    *out = ents;
    *n = k;
    return 0;
}

void
raft_log_commit_to(struct raft_log *l, uint64_t index)
{
    if (index <= l->committed)
        return; /* never goes back */
    if (index > raft_log_last_index(l))
        SK_BUG("raft: commit %llu past last index %llu", (unsigned long long)index,
               (unsigned long long)raft_log_last_index(l));
    l->committed = index;
}

/* Replace the log by a snapshot received from the leader (§5.3): every
 * entry is dropped and the next ready asks the driver to install it. */
void
raft_log_restore(struct raft_log *l, const struct raft_snapshot_meta *meta)
{
    struct raft_unstable *u = &l->u;

    unstable_cut(u, 0);
    u->offset = meta->index + 1;
    u->in_progress = u->offset;
    u->has_snap = 1;
    u->snap_in_progress = 0;
    u->snap = *meta;
    l->committed = meta->index;
}

/* Hand the entries not yet given to the driver (pointers stay owned by
 * the log). */
size_t
raft_log_take_unstable(struct raft_log *l, struct raft_entry **ents)
{
    struct raft_unstable *u = &l->u;
    size_t from = u->in_progress - u->offset;

    *ents = u->ents + from;
    u->in_progress = u->offset + u->n;
    return u->n - from;
}

/* The driver made entries up to (index, term) durable. If the unstable
 * entry at index has another term it was replaced meanwhile and its
 * replacement is still unstable: nothing is marked stable. */
void
raft_log_stable_to(struct raft_log *l, uint64_t index, uint64_t term)
{
    struct raft_unstable *u = &l->u;
    size_t k, i;

    if (u->has_snap || index < u->offset || index >= u->offset + u->n)
        return;
    k = index - u->offset + 1;
    if (u->ents[k - 1].term != term)
        return;
    for (i = 0; i < k; i++)
        unstable_drop(u, &u->ents[i]);
    memmove(u->ents, u->ents + k, (u->n - k) * sizeof(*u->ents));
    u->n -= k;
    u->offset = index + 1;
    if (u->in_progress < u->offset)
        u->in_progress = u->offset;
}

void
raft_log_stable_snap_to(struct raft_log *l, uint64_t index)
{
    if (l->u.has_snap && l->u.snap.index == index) {
        l->u.has_snap = 0;
        l->u.snap_in_progress = 0;
    }
}
