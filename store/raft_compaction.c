/* Log compaction (§5): the driver snapshots the state machine and tells
 * the core, which says how much log may go; a follower that fell behind
 * the compaction point gets InstallSnapshot (§5.3) instead of entries.
 *
 * The core sends and receives ONE logical SNAPSHOT message carrying the
 * metadata (last index, term, configuration) and an opaque handle. The
 * driver's transport ships the data the handle names (in chunks, with
 * its own framing) and steps the message into the receiver's core only
 * once all of it arrived, with the handle rewritten to name the local
 * copy. The receiver installs it when a ready says so.
 *
 * Invariants: a snapshot never covers uncommitted entries (index <=
 * applied <= commit); a follower never installs a snapshot at or behind
 * its commit index (it would go back). */
#include "raft_int.h"

#include <string.h>

int
raft_send_snapshot(struct raft *r, struct raft_progress *pr)
{
    struct raft_msg m = {.type = RAFT_MSG_SNAPSHOT, .to = pr->id};
    struct raft_snapshot_meta meta;
    const struct raft_storage *st = r->log.st;

    /* Shipping a whole snapshot to a peer that may be down is costly:
     * wait until it has shown signs of life. */
    if (!pr->recent_active)
        return 0;
    memset(&meta, 0, sizeof(meta));
    if (st->snapshot(st->ud, &meta, NULL) < 0 || meta.index == 0)
        return 0; /* not ready yet: a later heartbeat answer retries */
    m.snapshot = meta;
    raft_progress_snapshot(pr, meta.index);
    raft_send(r, &m, RAFT_DEP_HS);
    return 1;
}

/* InstallSnapshot receiver. */
void
raft_handle_snapshot(struct raft *r, const struct raft_msg *m)
{
    const struct raft_snapshot_meta *s = &m->snapshot;
    struct raft_msg resp = {.type = RAFT_MSG_APPEND_RESP, .to = m->from};

    if (s->index <= r->log.committed) {
        /* Late or duplicate: we are already past it. */
        resp.index = r->log.committed;
    } else if (raft_log_match_term(&r->log, s->index, s->term)) {
        /* §5.3: "if existing log entry has same index and term as
         * snapshot's last included entry, retain log entries following
         * it". They are committed, as the snapshot is. */
        raft_log_commit_to(&r->log, s->index);
        raft_commit_advanced(r);
        resp.index = s->index;
    } else {
        /* Otherwise discard the entire log and take the snapshot. */
        raft_log_restore(&r->log, s);
        r->log_wait = r->ready_seq + 1;
        raft_conf_reset(r, &s->conf, s->index);
        resp.index = s->index;
    }
    raft_send(r, &resp, RAFT_DEP_HS | RAFT_DEP_LOG);
}

/* A peer that never acked its snapshot (lost on the way, no transport
 * report) is probed again after snapshot_ticks. */
void
raft_tick_snapshots(struct raft *r)
{
    size_t i;

    for (i = 0; i < r->n_prs; i++) {
        struct raft_progress *pr = &r->prs[i];

        if (pr->state == RAFT_PR_SNAPSHOT && ++pr->snapshot_elapsed >= r->cfg.snapshot_ticks) {
            pr->pending_snapshot = 0;
            raft_progress_probe(pr);
        }
    }
}

void
raft_report_snapshot(struct raft *r, uint64_t id, int ok)
{
    struct raft_progress *pr = r->role == RAFT_LEADER ? raft_progress_get(r, id) : NULL;

    if (!pr || pr->state != RAFT_PR_SNAPSHOT)
        return;
    if (!ok)
        pr->pending_snapshot = 0;
    raft_progress_probe(pr);
    /* Probe at the next heartbeat answer, once the peer had a chance to
     * install what it got. */
    pr->probe_sent = 1;
}

void
raft_report_unreachable(struct raft *r, uint64_t id)
{
    struct raft_progress *pr = r->role == RAFT_LEADER ? raft_progress_get(r, id) : NULL;

    if (pr && pr->state == RAFT_PR_REPLICATE)
        raft_progress_probe(pr);
}

int
raft_snapshot_taken(struct raft *r, const struct raft_snapshot_meta *meta, uint64_t *compact_to,
                    struct sk_err *err)
{
    uint64_t term, first = raft_log_first_index(&r->log);

    if (meta->index == 0 || meta->index > r->log.applied)
        return sk_err_set(err, EINVAL, "snapshot at %llu beyond applied index %llu",
                          (unsigned long long)meta->index, (unsigned long long)r->log.applied);
    if (raft_log_term(&r->log, meta->index, &term) < 0 || term != meta->term)
        return sk_err_set(err, EINVAL, "snapshot (%llu, term %llu) does not match the log",
                          (unsigned long long)meta->index, (unsigned long long)meta->term);
    if (raft_conf_validate(&meta->conf, err) < 0)
        return sk_err_wrap(err, "snapshot at %llu", (unsigned long long)meta->index);
    /* Keep some entries behind the snapshot so that a follower a little
     * behind catches up from the log instead of a whole snapshot. */
    *compact_to = meta->index > r->cfg.trailing ? meta->index - r->cfg.trailing : 0;
    if (*compact_to < first - 1)
        *compact_to = first - 1;
    return 0;
}
