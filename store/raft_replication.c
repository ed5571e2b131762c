/* Log replication (§3.5): per-peer progress with probing and pipelining,
 * batched AppendEntries, fast backtracking, heartbeats, and commitment
 * (§3.6.2). The follower side of AppendEntries lives here too.
 *
 * Invariants:
 *   - Leader Append-Only: a leader only appends (raft_propose, no-op,
 *     CONF entries), never truncates its log;
 *   - an entry is committed by counting replicas only if it is of the
 *     leader's current term (§3.6.2, paper Figure 8); earlier entries are
 *     committed with it;
 *   - a follower acks index i only when its log matches the leader's up
 *     to i AND that prefix is durable (RAFT_DEP_LOG). */
#include "lib/alloc.h"
#include "raft_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- in-flight window ---- */

static int
inflight_full(const struct raft_inflights *in)
{
    return in->count == in->cap;
}

static void
inflight_add(struct raft_inflights *in, uint64_t last)
{
    if (inflight_full(in))
        SK_BUG("raft: in-flight window overflow");
    in->last[(in->start + in->count) % in->cap] = last;
    in->count++;
}

/* An ack up to index frees every APPEND that ended at or before it. */
static void
inflight_free_to(struct raft_inflights *in, uint64_t index)
{
    while (in->count && in->last[in->start] <= index) {
        in->start = (in->start + 1) % in->cap;
        in->count--;
    }
}

static void
inflight_free_first(struct raft_inflights *in)
{
    if (in->count) {
        in->start = (in->start + 1) % in->cap;
        in->count--;
    }
}

static void
inflight_reset(struct raft_inflights *in)
{
    in->start = 0;
    in->count = 0;
}

/* ---- progress ---- */

void
raft_progress_reset(struct raft *r, struct raft_progress *pr, uint64_t id, uint8_t role)
{
    memset(pr, 0, sizeof(*pr));
    pr->id = id;
    pr->role = role;
    pr->state = RAFT_PR_PROBE;
    pr->next = raft_log_last_index(&r->log) + 1;
    pr->inflight.cap = r->cfg.max_inflight;
    pr->inflight.last = sk_calloc(pr->inflight.cap, sizeof(uint64_t));
}

void
raft_progress_release(struct raft_progress *pr)
{
    free(pr->inflight.last);
    pr->inflight.last = NULL;
}

struct raft_progress *
raft_progress_get(struct raft *r, uint64_t id)
{
    size_t i;

    for (i = 0; i < r->n_prs; i++)
        if (r->prs[i].id == id)
            return &r->prs[i];
    return NULL;
}

void
raft_progress_probe(struct raft_progress *pr)
{
    /* After a snapshot the peer has at least pending_snapshot. */
    uint64_t next = pr->match + 1;

    if (pr->state == RAFT_PR_SNAPSHOT && pr->pending_snapshot + 1 > next)
        next = pr->pending_snapshot + 1;
    pr->state = RAFT_PR_PROBE;
    pr->next = next;
    pr->probe_sent = 0;
    pr->pending_snapshot = 0;
    inflight_reset(&pr->inflight);
}

void
raft_progress_replicate(struct raft_progress *pr)
{
    pr->state = RAFT_PR_REPLICATE;
    pr->next = pr->match + 1;
    pr->pending_snapshot = 0;
    inflight_reset(&pr->inflight);
}

void
raft_progress_snapshot(struct raft_progress *pr, uint64_t index)
{
    pr->state = RAFT_PR_SNAPSHOT;
    pr->pending_snapshot = index;
    pr->snapshot_elapsed = 0;
    inflight_reset(&pr->inflight);
}

static int
progress_paused(const struct raft_progress *pr)
{
    switch (pr->state) {
    case RAFT_PR_PROBE:
        return pr->probe_sent;
    case RAFT_PR_REPLICATE:
        return inflight_full(&pr->inflight);
    default:
        return 1;
    }
}

/* The peer acked index. Returns 1 if that is news. */
static int
progress_update(struct raft_progress *pr, uint64_t index)
{
    int updated = 0;

    if (pr->match < index) {
        pr->match = index;
        pr->probe_sent = 0;
        updated = 1;
    }
    if (pr->next < index + 1)
        pr->next = index + 1;
    return updated;
}

/* The peer rejected an APPEND after rejected; hint is where our logs may
 * agree. Returns 0 for a stale reject (an answer to an older probe). */
static int
progress_decrease(struct raft_progress *pr, uint64_t rejected, uint64_t hint)
{
    if (pr->state == RAFT_PR_REPLICATE) {
        if (rejected <= pr->match)
            return 0;
        pr->next = pr->match + 1;
        return 1;
    }
    if (pr->next - 1 != rejected)
        return 0;
    pr->next = rejected < hint + 1 ? rejected : hint + 1;
    if (pr->next < pr->match + 1)
        pr->next = pr->match + 1;
    pr->probe_sent = 0;
    return 1;
}

/* ---- leader: sending ---- */

static int
append_prepare(struct raft *r, struct raft_progress *pr, struct raft_msg *m, int allow_empty)
{
    uint64_t last = raft_log_last_index(&r->log), prev = pr->next - 1;
    struct raft_entry *ents = NULL;
    size_t n = 0;
    int rc;

    rc = raft_log_term(&r->log, prev, &m->log_term);
    if (rc == RAFT_LOG_COMPACTED)
        return 2; /* the peer needs a snapshot */
    if (rc < 0) {
        pr->next = last + 1; /* acked past our log: cannot happen; resync */
        return 0;
    }
    if (pr->next <= last) {
        rc = raft_log_entries(&r->log, pr->next, last + 1, r->cfg.max_msg_bytes, &ents, &n, NULL);
        if (rc < 0)
            return 0; /* storage trouble: the next heartbeat retries */
    }
    if (!n && !allow_empty) {
        free(ents);
        return 0;
    }
    m->type = RAFT_MSG_APPEND;
    m->to = pr->id;
    m->index = prev;
    m->commit = r->log.committed;
    m->entries = ents;
    m->n_entries = (uint32_t)n;
    if (!n) {
        free(ents);
        m->entries = NULL;
    }
    return 1;
}

/* Send the peer what it lacks, at most max_msg_bytes of it (batching).
 * In REPLICATE the next index moves on optimistically (pipelining) until
 * the in-flight window is full. Returns 1 if something was sent. */
int
raft_send_append(struct raft *r, struct raft_progress *pr, int allow_empty)
{
    struct raft_msg m = {0};
    int rc;

    if (pr->id == r->id || progress_paused(pr))
        return 0;
    rc = append_prepare(r, pr, &m, allow_empty);
    if (rc == 2)
        return raft_send_snapshot(r, pr);
    if (rc == 0)
        return 0;
    if (pr->state == RAFT_PR_REPLICATE && m.n_entries) {
        uint64_t last = m.entries[m.n_entries - 1].index;

        pr->next = last + 1;
        inflight_add(&pr->inflight, last);
    } else if (pr->state == RAFT_PR_PROBE) {
        pr->probe_sent = 1;
    }
    raft_send(r, &m, RAFT_DEP_HS);
    return 1;
}

/* Called when building a ready: one pass over the peers sends every new
 * entry and the commit index in as few messages as the limits allow. */
void
raft_flush_appends(struct raft *r)
{
    size_t i;

    if (r->read_round_wanted)
        raft_bcast_heartbeat(r);
    if (!r->bcast_append)
        return;
    r->bcast_append = 0;
    for (i = 0; i < r->n_prs; i++) {
        struct raft_progress *pr = &r->prs[i];
        /* An empty APPEND carries the commit index; only worth it when
         * nothing is in flight (it would overtake the entries). */
        int allow_empty = pr->state != RAFT_PR_REPLICATE || pr->inflight.count == 0;

        if (!raft_send_append(r, pr, allow_empty))
            continue;
        while (pr->state == RAFT_PR_REPLICATE && raft_send_append(r, pr, 0))
            ;
    }
}

void
raft_bcast_heartbeat(struct raft *r)
{
    size_t i;

    /* A heartbeat sent after a read was registered confirms it (§6.4). */
    if (r->read_round_wanted) {
        r->read_round++;
        r->read_round_wanted = 0;
    }
    for (i = 0; i < r->n_prs; i++) {
        struct raft_progress *pr = &r->prs[i];
        struct raft_msg m = {.type = RAFT_MSG_HEARTBEAT, .to = pr->id};

        if (pr->id == r->id)
            continue;
        /* Never tell a peer to commit beyond what it is known to hold:
         * its log past match may still differ from ours. */
        m.commit = pr->match < r->log.committed ? pr->match : r->log.committed;
        m.ctx = r->read_round;
        raft_send(r, &m, RAFT_DEP_HS);
    }
}

/* ---- leader: commitment ---- */

static int
cmp_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? 1 : x > y ? -1 : 0;
}

/* The largest value held by a quorum of voters. */
uint64_t
raft_quorum_index(struct raft *r,
                  uint64_t (*value)(const struct raft *r, const struct raft_progress *pr))
{
    uint64_t vals[RAFT_CONF_MAX];
    size_t i, n = 0;

    for (i = 0; i < r->n_prs && n < RAFT_CONF_MAX; i++)
        if (r->prs[i].role == RAFT_VOTER)
            vals[n++] = value(r, &r->prs[i]);
    if (!n)
        return 0;
    qsort(vals, n, sizeof(vals[0]), cmp_desc);
    return vals[n / 2];
}

static uint64_t
match_of(const struct raft *r, const struct raft_progress *pr)
{
    return pr->match;
}

/* §3.6.2: advance commit to the largest index stored on a quorum, but
 * only if that entry is of the current term (Figure 3.7 / paper Figure 8
 * shows a previous-term entry on a quorum being overwritten). */
int
raft_maybe_commit(struct raft *r)
{
    uint64_t index = raft_quorum_index(r, match_of);

    if (index <= r->log.committed || raft_log_term_or0(&r->log, index) != r->term)
        return 0;
    raft_log_commit_to(&r->log, index);
    raft_commit_advanced(r);
    return 1;
}

/* Everything that depends on the commit index moving forward. May make
 * the leader step down (it removed itself, §4.2.2). */
void
raft_commit_advanced(struct raft *r)
{
    if (r->role == RAFT_LEADER) {
        r->bcast_append = 1;
        raft_reads_start(r);
    }
    raft_conf_committed(r);
}

/* The leader's own log counts only once durable (see raft.c). */
void
raft_self_progress(struct raft *r)
{
    struct raft_progress *pr = raft_progress_get(r, r->id);

    if (!pr)
        return; /* being removed: not counted at all */
    progress_update(pr, raft_log_stable_last(&r->log));
    raft_maybe_commit(r);
}

/* ---- leader: answers ---- */

static void
append_rejected(struct raft *r, struct raft_progress *pr, const struct raft_msg *m)
{
    uint64_t hint = m->hint, t;

    /* Skip our entries of any term the follower cannot match. */
    if (m->log_term)
        hint = raft_log_conflict_hint(&r->log, m->hint, m->log_term, &t);
    if (!progress_decrease(pr, m->index, hint))
        return;
    if (pr->state == RAFT_PR_REPLICATE)
        raft_progress_probe(pr);
    raft_send_append(r, pr, 1);
}

static void
append_acked(struct raft *r, struct raft_progress *pr, const struct raft_msg *m)
{
    if (m->index > raft_log_last_index(&r->log))
        return; /* acks something we never sent */
    if (!progress_update(pr, m->index) && !(pr->state == RAFT_PR_PROBE && pr->match == m->index))
        return;
    if (pr->state == RAFT_PR_PROBE) {
        raft_progress_replicate(pr);
    } else if (pr->state == RAFT_PR_SNAPSHOT) {
        if (pr->match + 1 >= raft_log_first_index(&r->log))
            raft_progress_replicate(pr);
    } else {
        inflight_free_to(&pr->inflight, m->index);
    }
    if (raft_maybe_commit(r) && r->role != RAFT_LEADER)
        return;
    pr = raft_progress_get(r, m->from); /* commit may have changed prs */
    if (!pr)
        return;
    while (raft_send_append(r, pr, 0) && pr->state == RAFT_PR_REPLICATE)
        ;
    raft_transfer_check(r, pr);
}

void
raft_handle_append_resp(struct raft *r, const struct raft_msg *m)
{
    struct raft_progress *pr = raft_progress_get(r, m->from);

    if (!pr)
        return;
    if (m->reject)
        append_rejected(r, pr, m);
    else
        append_acked(r, pr, m);
}

void
raft_handle_heartbeat_resp(struct raft *r, const struct raft_msg *m)
{
    struct raft_progress *pr = raft_progress_get(r, m->from);

    if (!pr)
        return;
    pr->probe_sent = 0;
    /* All APPENDs in flight may be lost: let one more go so the peer can
     * reject it and we fall back to probing. */
    if (pr->state == RAFT_PR_REPLICATE && inflight_full(&pr->inflight))
        inflight_free_first(&pr->inflight);
    if (pr->match < raft_log_last_index(&r->log))
        raft_send_append(r, pr, 1);
    if (m->ctx > pr->read_ack) {
        pr->read_ack = m->ctx;
        raft_reads_ack(r);
    }
}

/* ---- follower ---- */

static void
append_reply(struct raft *r, const struct raft_msg *m, uint64_t index)
{
    struct raft_msg resp = {.type = RAFT_MSG_APPEND_RESP, .to = m->from, .index = index};

    raft_send(r, &resp, RAFT_DEP_HS | RAFT_DEP_LOG);
}

static void
append_reject(struct raft *r, const struct raft_msg *m)
{
    struct raft_msg resp = {.type = RAFT_MSG_APPEND_RESP, .to = m->from, .reject = 1};

    resp.index = m->index;
    resp.hint = raft_log_conflict_hint(&r->log, m->index, m->log_term, &resp.log_term);
    raft_send(r, &resp, RAFT_DEP_HS);
}

/* AppendEntries receiver (Figure 3.1). */
void
raft_handle_append(struct raft *r, const struct raft_msg *m)
{
    uint64_t last_new = m->index + m->n_entries, ci, commit;

    if (m->index < r->log.committed) {
        /* Old news: everything up to our commit matches the leader. */
        append_reply(r, m, r->log.committed);
        return;
    }
    /* "Reply false if log doesn't contain an entry at prevLogIndex whose
     * term matches prevLogTerm." */
    if (!raft_log_match_term(&r->log, m->index, m->log_term)) {
        append_reject(r, m);
        return;
    }
    /* Append only from the first new or conflicting entry: a late or
     * duplicated APPEND must not cut entries that came after it. */
    ci = raft_log_find_conflict(&r->log, m->entries, m->n_entries);
    if (ci)
        raft_append(r, m->entries + (ci - m->index - 1), m->n_entries - (ci - m->index - 1));
    commit = m->commit < last_new ? m->commit : last_new;
    if (commit > r->log.committed) {
        raft_log_commit_to(&r->log, commit);
        raft_commit_advanced(r);
    }
    append_reply(r, m, last_new);
}

void
raft_handle_heartbeat(struct raft *r, const struct raft_msg *m)
{
    struct raft_msg resp = {.type = RAFT_MSG_HEARTBEAT_RESP, .to = m->from, .ctx = m->ctx};
    uint64_t last = raft_log_last_index(&r->log);
    uint64_t commit = m->commit < last ? m->commit : last;

    if (commit > r->log.committed) {
        raft_log_commit_to(&r->log, commit);
        raft_commit_advanced(r);
    }
    raft_send(r, &resp, RAFT_DEP_HS);
}
