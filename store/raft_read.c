/* ReadIndex (§6.4): linearizable reads without writing to the log.
 *
 *   1. The leader must have committed an entry of its term (the no-op of
 *      §6.4 step 1) so that its commit index is at least that of every
 *      earlier leader; reads that arrive before wait for it.
 *   2. readIndex = commit index at that point.
 *   3. The leader confirms it is still the leader: each read waits for
 *      heartbeat round R, the first round sent after it was registered,
 *      and is released once a quorum of voters echoed a round >= R. A
 *      later round implies the earlier ones, so reads release in order.
 *   4. The driver serves the read once it has applied readIndex.
 *
 * Invariant: a released read's index is >= the index of every entry that
 * was committed (hence possibly acknowledged to a client) before the
 * read was registered. A leader that loses office fails its reads
 * (index 0) instead of leaving them hanging. */
#include "lib/alloc.h"
#include "raft_int.h"

#include <string.h>

void
raft_read_out(struct raft *r, uint64_t ctx, uint64_t index)
{
    if (r->n_read_out == r->cap_read_out) {
        r->cap_read_out = r->cap_read_out ? 2 * r->cap_read_out : 8;
        r->read_out = sk_reallocarray(r->read_out, r->cap_read_out, sizeof(*r->read_out));
    }
    r->read_out[r->n_read_out].ctx = ctx;
    r->read_out[r->n_read_out++].index = index;
}

int
raft_read_index(struct raft *r, uint64_t ctx, struct raft_ticket *t, struct sk_err *err)
{
    memset(t, 0, sizeof(*t));
    t->leader = r->leader;
    if (r->role != RAFT_LEADER)
        return sk_err_set(err, RAFT_ENOTLEADER, "node %llu is not the leader (leader %llu)",
                          (unsigned long long)r->id, (unsigned long long)r->leader);
    if (r->n_reads == r->cap_reads) {
        r->cap_reads = r->cap_reads ? 2 * r->cap_reads : 8;
        r->reads = sk_reallocarray(r->reads, r->cap_reads, sizeof(*r->reads));
    }
    r->reads[r->n_reads++] = (struct raft_read_req){ctx, 0, 0};
    t->term = r->term;
    raft_reads_start(r);
    return 0;
}

/* Give waiting reads their index and heartbeat round (step 1-2). */
void
raft_reads_start(struct raft *r)
{
    size_t i;
    int started = 0;

    if (!raft_committed_in_term(r))
        return;
    for (i = 0; i < r->n_reads; i++) {
        if (r->reads[i].round)
            continue;
        r->reads[i].index = r->log.committed;
        r->reads[i].round = r->read_round + 1;
        started = 1;
    }
    if (started) {
        r->read_round_wanted = 1;
        raft_reads_ack(r); /* a single voter is its own quorum */
    }
}

static uint64_t
read_ack_of(const struct raft *r, const struct raft_progress *pr)
{
    return pr->id == r->id ? UINT64_MAX : pr->read_ack;
}

/* Release reads whose round a quorum confirmed (step 3). */
void
raft_reads_ack(struct raft *r)
{
    uint64_t confirmed = raft_quorum_index(r, read_ack_of);
    size_t k = 0;

    while (k < r->n_reads && r->reads[k].round && r->reads[k].round <= confirmed) {
        raft_read_out(r, r->reads[k].ctx, r->reads[k].index);
        k++;
    }
    memmove(r->reads, r->reads + k, (r->n_reads - k) * sizeof(*r->reads));
    r->n_reads -= k;
}

void
raft_reads_fail_all(struct raft *r)
{
    size_t i;

    for (i = 0; i < r->n_reads; i++)
        raft_read_out(r, r->reads[i].ctx, 0);
    r->n_reads = 0;
    r->read_round_wanted = 0;
}
