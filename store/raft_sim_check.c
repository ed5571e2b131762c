/* The simulator's safety checker: the properties of Figure 3.2 of the
 * thesis (paper Figure 3), checked against everything the simulated
 * nodes do, after every step. See raft_sim.h for the list.
 *
 * What "committed" means here: an entry is taken as committed as soon as
 * any node's commit index covers it. The checker then demands that every
 * node that ever covers that index agrees on its term, that every leader
 * of that term or later holds it, and that every state machine applies
 * the same entry there. A core that committed too early (e.g. counting
 * replicas of an old-term entry, paper Figure 8) is caught when a later
 * leader lacks the entry or overwrites it. */
#include "lib/alloc.h"
#include "raft_sim_int.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int
rsim_fail(struct rsim *s, const char *fmt, ...)
{
    va_list ap;

    if (s->failed)
        return -1;
    s->failed = 1;
    va_start(ap, fmt);
    vsnprintf(s->error, sizeof(s->error), fmt, ap);
    va_end(ap);
    rsim_tracef(s, "VIOLATION: %s", s->error);
    return -1;
}

static uint64_t
mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Hash chain of a log (and of the state machine that applied it): equal
 * chains at an index mean equal prefixes, with overwhelming probability. */
uint64_t
rsim_chain(uint64_t prev, const struct raft_entry *e)
{
    uint64_t h = 0xcbf29ce484222325ull;
    const uint8_t *p = e->data;
    uint32_t i;

    for (i = 0; i < e->len; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    h = mix64(h ^ prev);
    h = mix64(h ^ e->index);
    h = mix64(h ^ (e->term << 8 | e->type));
    return h ? h : 1;
}

static struct rsim_committed *
committed_at(struct rsim *s, uint64_t index)
{
    size_t old = s->cap_committed;

    if (index >= s->cap_committed) {
        while (s->cap_committed <= index)
            s->cap_committed = s->cap_committed ? 2 * s->cap_committed : 256;
        s->committed = sk_reallocarray(s->committed, s->cap_committed, sizeof(*s->committed));
        memset(s->committed + old, 0, (s->cap_committed - old) * sizeof(*s->committed));
    }
    return &s->committed[index];
}

/* Election Safety: at most one leader per term, ever. */
static int
check_election(struct rsim *s, struct rsim_node *n)
{
    uint64_t term = n->r->term;
    size_t old = s->cap_lot;

    if (term >= s->cap_lot) {
        while (s->cap_lot <= term)
            s->cap_lot = s->cap_lot ? 2 * s->cap_lot : 64;
        s->leader_of_term = sk_reallocarray(s->leader_of_term, s->cap_lot, sizeof(uint64_t));
        memset(s->leader_of_term + old, 0, (s->cap_lot - old) * sizeof(uint64_t));
    }
    if (!s->leader_of_term[term]) {
        s->leader_of_term[term] = n->id;
        s->stats.elections++;
        rsim_tracef(s, "node %llu leader of term %llu", (unsigned long long)n->id,
                    (unsigned long long)term);
    } else if (s->leader_of_term[term] != n->id) {
        return rsim_fail(s, "election safety: nodes %llu and %llu both leaders of term %llu",
                         (unsigned long long)s->leader_of_term[term], (unsigned long long)n->id,
                         (unsigned long long)term);
    }
    return 0;
}

/* Leader Append-Only: while a node leads a term, its log only grows and
 * the entry at its previous last index keeps its term. */
static int
check_append_only(struct rsim *s, struct rsim_node *n)
{
    const struct raft_log *l = &n->r->log;
    uint64_t last = raft_log_last_index(l), t;

    if (n->lead_term == n->r->term) {
        if (last < n->lead_last)
            return rsim_fail(s, "leader append-only: node %llu log shrank from %llu to %llu",
                             (unsigned long long)n->id, (unsigned long long)n->lead_last,
                             (unsigned long long)last);
        if (raft_log_term(l, n->lead_last, &t) == 0 && t != n->lead_last_term)
            return rsim_fail(s, "leader append-only: node %llu rewrote entry %llu",
                             (unsigned long long)n->id, (unsigned long long)n->lead_last);
    } else {
        n->lead_term = n->r->term;
        n->lc_checked = 0;
    }
    n->lead_last = last;
    n->lead_last_term = raft_log_term_or0(l, last);
    return 0;
}

/* Leader Completeness: a leader holds every entry committed in its term
 * or an earlier one. Incremental: each leader is checked once per index. */
static int
check_completeness(struct rsim *s, struct rsim_node *n)
{
    const struct raft_log *l = &n->r->log;
    uint64_t i = n->lc_checked + 1, t;

    if (i < raft_log_first_index(l))
        i = raft_log_first_index(l);
    for (; i <= s->commit_max; i++) {
        const struct rsim_committed *c = committed_at(s, i);

        if (!c->term || c->commit_term > n->r->term)
            continue;
        if (raft_log_term(l, i, &t) < 0 || t != c->term)
            return rsim_fail(s,
                             "leader completeness: leader %llu of term %llu has term %llu at "
                             "%llu, committed with term %llu",
                             (unsigned long long)n->id, (unsigned long long)n->r->term,
                             (unsigned long long)raft_log_term_or0(l, i), (unsigned long long)i,
                             (unsigned long long)c->term);
    }
    n->lc_checked = s->commit_max;
    return 0;
}

/* Commit indexes never go back while a node lives, and all nodes agree
 * on the term of every committed entry. */
static int
check_commit(struct rsim *s, struct rsim_node *n)
{
    const struct raft_log *l = &n->r->log;
    uint64_t c = l->committed, i, t;

    if (c < n->commit_seen)
        return rsim_fail(s, "node %llu commit went back from %llu to %llu",
                         (unsigned long long)n->id, (unsigned long long)n->commit_seen,
                         (unsigned long long)c);
    for (i = n->commit_seen + 1; i <= c; i++) {
        struct rsim_committed *rc;

        if (raft_log_term(l, i, &t) < 0)
            continue; /* jumped over by a snapshot */
        rc = committed_at(s, i);
        if (!rc->term) {
            rc->term = t;
            rc->commit_term = n->r->term;
        } else if (rc->term != t) {
            return rsim_fail(s, "node %llu committed term %llu at %llu, others term %llu",
                             (unsigned long long)n->id, (unsigned long long)t,
                             (unsigned long long)i, (unsigned long long)rc->term);
        }
    }
    n->commit_seen = c;
    if (c > s->commit_max)
        s->commit_max = c;
    if (c > s->stats.max_commit)
        s->stats.max_commit = c;
    if (n->r->term > s->stats.max_term)
        s->stats.max_term = n->r->term;
    return 0;
}

int
rsim_check(struct rsim *s)
{
    unsigned i;

    for (i = 0; i < s->n && !s->failed; i++) {
        struct rsim_node *n = &s->nodes[i];

        if (!n->up)
            continue;
        if (check_commit(s, n) < 0)
            break;
        if (n->r->role != RAFT_LEADER)
            continue;
        if (check_election(s, n) < 0 || check_append_only(s, n) < 0)
            break;
        check_completeness(s, n);
    }
    return s->failed ? -1 : 0;
}

static void
lm_grow(struct rsim *s)
{
    struct rsim_lm *old = s->lm;
    size_t cap = s->cap_lm, i;

    s->cap_lm = cap ? 2 * cap : 1024;
    s->lm = sk_calloc(s->cap_lm, sizeof(*s->lm));
    s->n_lm = 0;
    for (i = 0; i < cap; i++) {
        size_t h;

        if (!old[i].term)
            continue;
        h = mix64(old[i].index * 31 + old[i].term) & (s->cap_lm - 1);
        while (s->lm[h].term)
            h = (h + 1) & (s->cap_lm - 1);
        s->lm[h] = old[i];
        s->n_lm++;
    }
    free(old);
}

/* Log Matching: two durable logs holding an entry with the same index
 * and term hold the same entries up to it (same chain). */
int
rsim_check_durable(struct rsim *s, struct rsim_node *n, const struct rsim_ent *e)
{
    size_t h;

    if (2 * (s->n_lm + 1) > s->cap_lm)
        lm_grow(s);
    h = mix64(e->e.index * 31 + e->e.term) & (s->cap_lm - 1);
    for (;; h = (h + 1) & (s->cap_lm - 1)) {
        struct rsim_lm *x = &s->lm[h];

        if (!x->term) {
            *x = (struct rsim_lm){e->e.index, e->e.term, e->chain};
            s->n_lm++;
            return 0;
        }
        if (x->index == e->e.index && x->term == e->e.term) {
            if (x->chain != e->chain)
                return rsim_fail(s,
                                 "log matching: node %llu entry (%llu, term %llu) has "
                                 "another prefix than in another log",
                                 (unsigned long long)n->id, (unsigned long long)e->e.index,
                                 (unsigned long long)e->e.term);
            return 0;
        }
    }
}

/* State Machine Safety: one entry per index, whichever node applies it. */
int
rsim_check_applied(struct rsim *s, struct rsim_node *n, const struct raft_entry *e, uint64_t chain)
{
    struct rsim_committed *c = committed_at(s, e->index);

    if (c->term && c->term != e->term)
        return rsim_fail(s,
                         "state machine safety: node %llu applied term %llu at %llu, "
                         "committed term %llu",
                         (unsigned long long)n->id, (unsigned long long)e->term,
                         (unsigned long long)e->index, (unsigned long long)c->term);
    if (!c->term) {
        c->term = e->term;
        c->commit_term = n->r->term;
    }
    if (!c->chain)
        c->chain = chain;
    else if (c->chain != chain)
        return rsim_fail(s, "state machine safety: node %llu applied another entry at %llu",
                         (unsigned long long)n->id, (unsigned long long)e->index);
    return 0;
}

int
rsim_check_snapshot(struct rsim *s, const struct rsim_snap *snap)
{
    struct rsim_committed *c = committed_at(s, snap->index);

    if (!c->chain)
        c->chain = snap->hash;
    else if (c->chain != snap->hash)
        return rsim_fail(s, "state machine safety: snapshot at %llu differs",
                         (unsigned long long)snap->index);
    return 0;
}

/* Linearizable reads: the index must cover every write acknowledged
 * before the read was registered. */
int
rsim_check_read(struct rsim *s, struct rsim_node *n, const struct raft_read *rd)
{
    size_t i;

    for (i = 0; i < n->n_reads; i++)
        if (n->reads[i].ctx == rd->ctx)
            break;
    if (i == n->n_reads)
        return rsim_fail(s, "node %llu: read result for unknown ctx %llu",
                         (unsigned long long)n->id, (unsigned long long)rd->ctx);
    if (rd->index == 0) {
        s->stats.reads_failed++;
    } else if (rd->index < n->reads[i].min_index) {
        return rsim_fail(s, "stale read: node %llu read at %llu, a write at %llu was acked before",
                         (unsigned long long)n->id, (unsigned long long)rd->index,
                         (unsigned long long)n->reads[i].min_index);
    } else {
        s->stats.reads_ok++;
    }
    n->reads[i] = n->reads[--n->n_reads];
    return 0;
}

void
rsim_check_release(struct rsim *s)
{
    free(s->leader_of_term);
    free(s->committed);
    free(s->lm);
}
