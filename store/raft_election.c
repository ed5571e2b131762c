/* Leader election (§3.4) with PreVote (§9.6), CheckQuorum and leader
 * stickiness (§4.2.3, §6.2), and leadership transfer (§3.10).
 *
 * Invariants:
 *   - Election Safety: a node grants at most one vote per term, and the
 *     grant is announced only once stored (RAFT_DEP_HS);
 *   - a PreVote round changes neither term nor vote, on either side;
 *   - only voters campaign (raft_promotable()); learners and servers
 *     whose removal is committed never do. */
#include "lib/log.h"
#include "raft_int.h"

#include <string.h>

static void
reset_timers(struct raft *r)
{
    r->election_elapsed = 0;
    r->heartbeat_elapsed = 0;
    /* §3.4: randomized in [T, 2T) so that split votes are rare. */
    r->timeout = r->cfg.election_ticks + (uint32_t)(raft_rand(r) % r->cfg.election_ticks);
}

/* Drop everything that belongs to a term of office. */
static void
leave_office(struct raft *r)
{
    size_t i;

    if (r->role == RAFT_LEADER)
        raft_reads_fail_all(r);
    for (i = 0; i < r->n_prs; i++)
        raft_progress_release(&r->prs[i]);
    r->n_prs = 0;
    r->bcast_append = 0;
    r->transferee = RAFT_NONE;
    r->n_votes = 0;
}

void
raft_become_follower(struct raft *r, uint64_t term, uint64_t leader)
{
    leave_office(r);
    if (term != r->term) {
        raft_set_term(r, term);
        raft_set_vote(r, RAFT_NONE);
    }
    r->role = RAFT_FOLLOWER;
    r->leader = leader;
    reset_timers(r);
}

static void
become_precandidate(struct raft *r)
{
    /* §9.6: nothing persistent changes until the PreVote succeeds. */
    leave_office(r);
    r->role = RAFT_PRECANDIDATE;
    r->leader = RAFT_NONE;
    reset_timers(r);
}

static void
become_candidate(struct raft *r)
{
    leave_office(r);
    raft_set_term(r, r->term + 1);
    raft_set_vote(r, r->id);
    r->role = RAFT_CANDIDATE;
    r->leader = RAFT_NONE;
    reset_timers(r);
}

static void
become_leader(struct raft *r)
{
    struct raft_entry noop = {.term = r->term, .type = RAFT_ENTRY_NOOP};

    leave_office(r);
    r->role = RAFT_LEADER;
    r->leader = r->id;
    reset_timers(r);
    raft_progress_sync(r);
    raft_self_progress(r);
    /* §3.6.2 and paper §5.4.2: entries of earlier terms are committed
     * only indirectly, by committing one of our own term; the no-op gets
     * one committed quickly (and ReadIndex waits for it, §6.4). */
    noop.index = raft_log_last_index(&r->log) + 1;
    raft_append(r, &noop, 1);
    sk_debug("store", "raft node %llu: leader of term %llu", (unsigned long long)r->id,
             (unsigned long long)r->term);
}

static void
record_vote(struct raft *r, uint64_t id, int granted)
{
    uint32_t i;

    if (!raft_is_voter(r, id))
        return; /* a learner's answer never counts */
    for (i = 0; i < r->n_votes; i++)
        if (r->votes[i].id == id)
            return; /* first answer wins; duplicates are ignored */
    if (r->n_votes < RAFT_CONF_MAX)
        r->votes[r->n_votes++] = (struct raft_vote){id, (uint8_t)granted};
}

/* 1: won, -1: lost, 0: undecided. */
static int
tally(const struct raft *r)
{
    uint32_t voters = raft_voter_count(r), quorum = voters / 2 + 1, yes = 0, no = 0, i;

    for (i = 0; i < r->n_votes; i++) {
        if (!raft_is_voter(r, r->votes[i].id))
            continue;
        if (r->votes[i].granted)
            yes++;
        else
            no++;
    }
    if (yes >= quorum)
        return 1;
    if (no > voters - quorum)
        return -1;
    return 0;
}

static void
request_votes(struct raft *r, int pre, int transfer)
{
    const struct raft_conf *conf = raft_conf_cur(r);
    uint32_t i;

    for (i = 0; i < conf->n; i++) {
        struct raft_msg m = {.type = pre ? RAFT_MSG_PREVOTE : RAFT_MSG_VOTE};

        if (conf->servers[i].role != RAFT_VOTER || conf->servers[i].id == r->id)
            continue;
        m.to = conf->servers[i].id;
        m.term = pre ? r->term + 1 : r->term;
        m.index = raft_log_last_index(&r->log);
        m.log_term = raft_log_last_term(&r->log);
        m.transfer = (uint8_t)transfer;
        /* The request states our term, vote and log: all must be stored
         * before anyone can act on it. */
        raft_send(r, &m, RAFT_DEP_HS | RAFT_DEP_LOG);
    }
}

/* Start a PreVote round (pre) or a real election. transfer marks a
 * campaign ordered by the leader (§3.10), which skips PreVote and is not
 * subject to leader stickiness. */
void
raft_campaign(struct raft *r, int pre, int transfer)
{
    if (!raft_promotable(r))
        return;
    if (pre)
        become_precandidate(r);
    else
        become_candidate(r);
    record_vote(r, r->id, 1);
    if (tally(r) == 1) {
        if (pre)
            raft_campaign(r, 0, transfer);
        else
            become_leader(r);
        return;
    }
    request_votes(r, pre, transfer);
}

/* RequestVote receiver (Figure 3.1), also for PreVote. Term rules were
 * applied by raft_step(): here m->term >= r->term. */
void
raft_handle_vote(struct raft *r, const struct raft_msg *m)
{
    int pre = m->type == RAFT_MSG_PREVOTE;
    struct raft_msg resp = {.to = m->from};
    int can_vote, grant;

    resp.type = pre ? RAFT_MSG_PREVOTE_RESP : RAFT_MSG_VOTE_RESP;
    /* One vote per term; no vote in a term whose leader we know. A
     * PreVote for a later term is answered as that term's vote would
     * be, without casting it. */
    can_vote = r->vote == m->from || (r->vote == RAFT_NONE && r->leader == RAFT_NONE) ||
               (pre && m->term > r->term);
    /* §3.6.1: only for a candidate whose log is at least as up to date. */
    grant = can_vote && raft_log_up_to_date(&r->log, m->index, m->log_term);
    resp.reject = (uint8_t)!grant;
    if (grant && pre)
        resp.term = m->term;
    if (grant && !pre) {
        raft_set_vote(r, m->from);
        r->election_elapsed = 0;
    }
    raft_send(r, &resp, RAFT_DEP_HS);
}

void
raft_handle_vote_resp(struct raft *r, const struct raft_msg *m)
{
    int pre = m->type == RAFT_MSG_PREVOTE_RESP;
    int result;

    if (pre ? r->role != RAFT_PRECANDIDATE : r->role != RAFT_CANDIDATE)
        return;
    /* A granted PreVote names the term it was granted for: an answer to
     * an earlier round must not count towards this one. */
    if (pre && !m->reject && m->term != r->term + 1)
        return;
    record_vote(r, m->from, !m->reject);
    result = tally(r);
    if (result == 1) {
        if (pre)
            raft_campaign(r, 0, 0);
        else
            become_leader(r);
    } else if (result == -1) {
        raft_become_follower(r, r->term, RAFT_NONE);
    }
}

/* Leader stickiness: a node that heard from a leader less than the
 * minimum election timeout ago ignores (pre)votes of a later term. For
 * the leader itself, CheckQuorum restarts election_elapsed every
 * timeout, so a working leader is always in its lease. */
int
raft_in_lease(const struct raft *r)
{
    return r->leader != RAFT_NONE && r->election_elapsed < r->cfg.election_ticks;
}

void
raft_tick_election(struct raft *r)
{
    r->election_elapsed++;
    if (r->election_elapsed >= r->timeout && raft_promotable(r)) {
        r->election_elapsed = 0;
        raft_campaign(r, 1, 0);
    }
}

/* CheckQuorum (§6.2): the leader steps down if a quorum of voters was
 * not heard from during the last election timeout, so a partitioned
 * leader stops serving stale reads and clients look elsewhere. */
static int
quorum_active(struct raft *r)
{
    uint32_t quorum = raft_voter_count(r) / 2 + 1, active = 0;
    size_t i;

    for (i = 0; i < r->n_prs; i++) {
        struct raft_progress *pr = &r->prs[i];

        if (pr->role == RAFT_VOTER && (pr->id == r->id || pr->recent_active))
            active++;
        pr->was_active = pr->recent_active;
        pr->recent_active = 0;
    }
    return active >= quorum;
}

void
raft_tick_leader(struct raft *r)
{
    r->heartbeat_elapsed++;
    r->election_elapsed++;
    if (r->election_elapsed >= r->cfg.election_ticks) {
        r->election_elapsed = 0;
        if (!quorum_active(r)) {
            sk_debug("store", "raft node %llu: no quorum heard, stepping down",
                     (unsigned long long)r->id);
            raft_become_follower(r, r->term, RAFT_NONE);
            return;
        }
    }
    if (r->transferee && ++r->transfer_elapsed >= r->cfg.election_ticks)
        raft_transfer_abort(r);
    raft_tick_snapshots(r);
    if (r->heartbeat_elapsed >= r->cfg.heartbeat_ticks) {
        r->heartbeat_elapsed = 0;
        raft_bcast_heartbeat(r);
    }
}

/* Term rules already made sure m comes from the leader of our term. */
void
raft_handle_timeout_now(struct raft *r, const struct raft_msg *m)
{
    raft_campaign(r, 0, 1);
}

/* §3.10 step 2-3: once the target's log matches ours, tell it to start an
 * election at once; until then keep replicating to it. */
void
raft_transfer_check(struct raft *r, struct raft_progress *pr)
{
    struct raft_msg m = {.type = RAFT_MSG_TIMEOUT_NOW};

    if (!r->transferee || pr->id != r->transferee)
        return;
    if (pr->match == raft_log_last_index(&r->log)) {
        m.to = pr->id;
        raft_send(r, &m, RAFT_DEP_HS);
    } else {
        raft_send_append(r, pr, 1);
    }
}

void
raft_transfer_abort(struct raft *r)
{
    r->transferee = RAFT_NONE;
    r->transfer_elapsed = 0;
}

int
raft_transfer_leadership(struct raft *r, uint64_t to, struct sk_err *err)
{
    struct raft_progress *pr;

    if (r->role != RAFT_LEADER)
        return sk_err_set(err, RAFT_ENOTLEADER, "node %llu is not the leader (leader %llu)",
                          (unsigned long long)r->id, (unsigned long long)r->leader);
    if (to == r->id)
        return 0;
    pr = raft_progress_get(r, to);
    if (!pr || pr->role != RAFT_VOTER)
        return sk_err_set(err, EINVAL, "transfer target %llu is not a voter",
                          (unsigned long long)to);
    if (r->transferee == to)
        return 0;
    r->transferee = to;
    r->transfer_elapsed = 0;
    raft_transfer_check(r, pr);
    return 0;
}
