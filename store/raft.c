/* Raft core: lifecycle, message dispatch, proposals, and the ready /
 * advance cycle that hands work to the driver (contract in raft.h).
 *
 * Invariants kept here:
 *   - a message whose meaning depends on state not yet durable is never
 *     handed out: raft_send() parks it in r->held until the ready that
 *     carries that state has been advanced (hs_wait, log_wait);
 *   - the leader counts its own log towards commitment only up to what
 *     is durable (raft_self_progress() after each advance), so a crash
 *     of the leader cannot un-store an entry it counted (§10.2.1 lets
 *     the leader write in parallel, provided it is not counted early);
 *   - term and commit never go back while the node lives. */
#include "lib/alloc.h"
#include "lib/log.h"
#include "raft_int.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_ELECTION_TICKS 10
#define DEFAULT_MAX_MSG_BYTES  (1u << 20)
#define DEFAULT_MAX_INFLIGHT   64
#define DEFAULT_APPLY_BYTES    (4u << 20)
#define DEFAULT_TRAILING       1024

/* splitmix64: small, fast, and good enough to spread election timeouts. */
uint64_t
raft_rand(struct raft *r)
{
    uint64_t z = (r->prng += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

const char *
raft_role_name(uint8_t role)
{
    switch (role) {
    case RAFT_FOLLOWER:
        return "follower";
    case RAFT_PRECANDIDATE:
        return "pre-candidate";
    case RAFT_CANDIDATE:
        return "candidate";
    case RAFT_LEADER:
        return "leader";
    }
    return "unknown";
}

static int
config_check(struct raft_config *c, const struct raft_storage *st, struct sk_err *err)
{
    if (c->id == RAFT_NONE)
        return sk_err_set(err, EINVAL, "node id 0 is reserved");
    if (!st || !st->first_index || !st->last_index || !st->term || !st->entries || !st->snapshot)
        return sk_err_set(err, EINVAL, "storage interface incomplete");
    if (!c->election_ticks)
        c->election_ticks = DEFAULT_ELECTION_TICKS;
    if (!c->heartbeat_ticks)
        c->heartbeat_ticks = 1;
    if (c->heartbeat_ticks >= c->election_ticks)
        return sk_err_set(err, EINVAL, "heartbeat ticks %u not below election ticks %u",
                          c->heartbeat_ticks, c->election_ticks);
    if (!c->max_msg_bytes)
        c->max_msg_bytes = DEFAULT_MAX_MSG_BYTES;
    if (!c->max_inflight)
        c->max_inflight = DEFAULT_MAX_INFLIGHT;
    if (!c->max_apply_bytes)
        c->max_apply_bytes = DEFAULT_APPLY_BYTES;
    if (!c->snapshot_ticks)
        c->snapshot_ticks = 10 * c->election_ticks;
    if (!c->trailing)
        c->trailing = DEFAULT_TRAILING;
    return 0;
}

/* A new cluster: the founding configuration is entry 1 of term 1 on every
 * founding member, so their logs agree on it before any election. */
static int
bootstrap(struct raft *r, const struct raft_conf *conf, struct sk_err *err)
{
    uint8_t buf[RAFT_CONF_MAX_LEN];
    struct raft_entry e = {.term = 1, .index = 1, .type = RAFT_ENTRY_CONF};

    if (raft_conf_validate(conf, err) < 0)
        return sk_err_wrap(err, "bootstrap configuration");
    if (!raft_conf_role(conf, r->id))
        return sk_err_set(err, EINVAL, "bootstrap configuration lacks node %llu",
                          (unsigned long long)r->id);
    e.len = (uint32_t)raft_conf_encode(conf, buf);
    e.data = buf;
    raft_append(r, &e, 1);
    raft_set_term(r, 1);
    return 0;
}

/* Restore commit, applied and term from what is stored. */
static int
restore_state(struct raft *r, const struct raft_hard_state *hs, uint64_t snap_index,
              struct sk_err *err)
{
    struct raft_log *l = &r->log;
    uint64_t last = raft_log_last_index(l), applied = r->cfg.applied;

    if (applied < snap_index)
        applied = snap_index;
    if (applied > last || applied + 1 < raft_log_first_index(l))
        return sk_err_set(err, EINVAL, "applied index %llu outside the log [%llu, %llu]",
                          (unsigned long long)applied, (unsigned long long)raft_log_first_index(l),
                          (unsigned long long)last);
    l->applied = applied;
    l->committed = hs->commit > applied ? hs->commit : applied;
    if (l->committed > last)
        l->committed = last;
    r->term = hs->term;
    r->vote = hs->vote;
    r->hs_sent = (struct raft_hard_state){hs->term, hs->vote, hs->commit};
    /* Entries of a later term than the stored one: the term write was
     * lost in a crash. No vote of ours can exist in those terms (a vote
     * is only announced once stored), so adopt the term, unvoted. */
    if (raft_log_last_term(l) > r->term) {
        raft_set_term(r, raft_log_last_term(l));
        raft_set_vote(r, RAFT_NONE);
    }
    return 0;
}

int
raft_new(const struct raft_config *cfg, const struct raft_storage *storage,
         const struct raft_hard_state *hs, struct raft **out, struct sk_err *err)
{
    struct raft_hard_state zero = {0, 0, 0};
    struct raft_snapshot_meta snap;
    struct raft *r = sk_calloc(1, sizeof(*r));
    int rc;

    r->cfg = *cfg;
    rc = config_check(&r->cfg, storage, err);
    if (rc < 0)
        goto out_free;
    r->cfg.bootstrap = NULL;
    r->id = cfg->id;
    r->prng = cfg->seed ^ (cfg->id * 0x2545f4914f6cdd1dull);
    r->role = RAFT_FOLLOWER;
    r->soft_sent.role = RAFT_FOLLOWER;
    raft_log_init(&r->log, storage);
    memset(&snap, 0, sizeof(snap));
    rc = storage->snapshot(storage->ud, &snap, err);
    if (rc < 0)
        goto out_wrap;
    rc = restore_state(r, hs ? hs : &zero, snap.index, err);
    if (rc < 0)
        goto out_wrap;
    raft_conf_reset(r, &snap.conf, snap.index);
    rc = raft_conf_load(r, err);
    if (rc < 0)
        goto out_wrap;
    if (cfg->bootstrap && raft_log_last_index(&r->log) == 0) {
        rc = bootstrap(r, cfg->bootstrap, err);
        if (rc < 0)
            goto out_free;
    }
    raft_become_follower(r, r->term, RAFT_NONE);
    *out = r;
    return 0;
out_wrap:
    sk_err_wrap(err, "raft node %llu", (unsigned long long)cfg->id);
out_free:
    raft_free(r);
    return rc;
}

static void
msgs_free(struct raft_msg *msgs, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        raft_entries_free(msgs[i].entries, msgs[i].n_entries);
    free(msgs);
}

/* Free what the outstanding ready owns. */
static void
ready_release(struct raft *r)
{
    struct raft_ready *rd = &r->rd;

    msgs_free(rd->msgs, rd->n_msgs);
    raft_entries_free(rd->committed, rd->n_committed);
    free(rd->entries); /* pointers into the unstable log */
    free(rd->reads);
    memset(rd, 0, sizeof(*rd));
    r->ready_out = 0;
    r->log.u.handed = 0;
    raft_log_bury(&r->log);
}

void
raft_free(struct raft *r)
{
    size_t i;

    if (!r)
        return;
    ready_release(r);
    msgs_free(r->out, r->n_out);
    for (i = 0; i < r->n_held; i++)
        raft_entries_free(r->held[i].m.entries, r->held[i].m.n_entries);
    free(r->held);
    for (i = 0; i < r->n_prs; i++)
        raft_progress_release(&r->prs[i]);
    free(r->prs);
    free(r->confs);
    free(r->reads);
    free(r->read_out);
    raft_log_release(&r->log);
    free(r);
}

void
raft_set_term(struct raft *r, uint64_t term)
{
    if (term == r->term)
        return;
    if (term < r->term)
        SK_BUG("raft: term going back from %llu to %llu", (unsigned long long)r->term,
               (unsigned long long)term);
    r->term = term;
    r->hs_wait = r->ready_seq + 1;
}

void
raft_set_vote(struct raft *r, uint64_t vote)
{
    if (vote == r->vote)
        return;
    r->vote = vote;
    r->hs_wait = r->ready_seq + 1;
}

int
raft_committed_in_term(const struct raft *r)
{
    return raft_log_term_or0(&r->log, r->log.committed) == r->term;
}

static void
out_push(struct raft *r, const struct raft_msg *m)
{
    if (r->n_out == r->cap_out) {
        r->cap_out = r->cap_out ? 2 * r->cap_out : 16;
        r->out = sk_reallocarray(r->out, r->cap_out, sizeof(*r->out));
    }
    r->out[r->n_out++] = *m;
}

void
raft_send(struct raft *r, struct raft_msg *m, int deps)
{
    uint64_t wait = 0;

    m->from = r->id;
    if (!m->term)
        m->term = r->term;
    if (deps & RAFT_DEP_HS)
        wait = r->hs_wait;
    if ((deps & RAFT_DEP_LOG) && r->log_wait > wait)
        wait = r->log_wait;
    if (wait <= r->persisted_seq) {
        out_push(r, m);
        return;
    }
    if (r->n_held == r->cap_held) {
        r->cap_held = r->cap_held ? 2 * r->cap_held : 16;
        r->held = sk_reallocarray(r->held, r->cap_held, sizeof(*r->held));
    }
    r->held[r->n_held].wait = wait;
    r->held[r->n_held++].m = *m;
}

/* Messages parked until now-durable state: keep their order. */
static void
release_held(struct raft *r)
{
    size_t i, k = 0;

    for (i = 0; i < r->n_held; i++) {
        if (r->held[i].wait <= r->persisted_seq)
            out_push(r, &r->held[i].m);
        else
            r->held[k++] = r->held[i];
    }
    r->n_held = k;
}

/* Append to the log, tracking configuration entries (which take effect
 * when appended, §4.1) and the durability of the log. */
void
raft_append(struct raft *r, const struct raft_entry *ents, size_t n)
{
    size_t i;

    if (!n)
        return;
    raft_conf_truncated(r, ents[0].index);
    raft_log_append(&r->log, ents, n);
    r->log_wait = r->ready_seq + 1;
    for (i = 0; i < n; i++)
        if (ents[i].type == RAFT_ENTRY_CONF)
            raft_conf_appended(r, &ents[i]);
    if (r->role == RAFT_LEADER)
        r->bcast_append = 1;
}

int
raft_propose(struct raft *r, const void *data, uint32_t len, struct raft_ticket *t,
             struct sk_err *err)
{
    struct raft_entry e = {.term = r->term, .type = RAFT_ENTRY_NORMAL, .len = len};

    memset(t, 0, sizeof(*t));
    t->leader = r->leader;
    if (r->role != RAFT_LEADER)
        return sk_err_set(err, RAFT_ENOTLEADER, "node %llu is not the leader (leader %llu)",
                          (unsigned long long)r->id, (unsigned long long)r->leader);
    if (r->transferee)
        return sk_err_set(err, EBUSY, "leadership transfer to %llu in progress",
                          (unsigned long long)r->transferee);
    e.index = raft_log_last_index(&r->log) + 1;
    e.data = (void *)data;
    raft_append(r, &e, 1);
    t->term = e.term;
    t->index = e.index;
    return 0;
}

void
raft_tick(struct raft *r)
{
    if (r->role == RAFT_LEADER)
        raft_tick_leader(r);
    else
        raft_tick_election(r);
}

static int
entries_check(const struct raft_msg *m, struct sk_err *err)
{
    uint64_t prev_term = m->log_term;
    uint32_t i;

    if (m->n_entries && !m->entries)
        return sk_err_set(err, EINVAL, "%u entries missing", m->n_entries);
    for (i = 0; i < m->n_entries; i++) {
        const struct raft_entry *e = &m->entries[i];

        if (e->index != m->index + 1 + i || e->term < prev_term || e->term > m->term)
            return sk_err_set(err, EINVAL, "entry %u (index %llu term %llu) out of order", i,
                              (unsigned long long)e->index, (unsigned long long)e->term);
        if (e->type < RAFT_ENTRY_NORMAL || e->type > RAFT_ENTRY_CONF || (e->len && !e->data))
            return sk_err_set(err, EINVAL, "entry %llu malformed", (unsigned long long)e->index);
        prev_term = e->term;
    }
    return 0;
}

/* Reject what would break an invariant if believed; the network and the
 * decoder in front of us are not trusted. */
static int
msg_check(const struct raft *r, const struct raft_msg *m, struct sk_err *err)
{
    if (m->type < RAFT_MSG_APPEND || m->type > RAFT_MSG_TIMEOUT_NOW)
        return sk_err_set(err, EINVAL, "unknown type %u", m->type);
    if (m->from == RAFT_NONE || m->from == r->id || m->to != r->id)
        return sk_err_set(err, EINVAL, "bad route %llu -> %llu", (unsigned long long)m->from,
                          (unsigned long long)m->to);
    if (m->term == 0)
        return sk_err_set(err, EINVAL, "term 0");
    if (m->type == RAFT_MSG_APPEND)
        return entries_check(m, err);
    if (m->n_entries)
        return sk_err_set(err, EINVAL, "entries on a %u message", m->type);
    if (m->type == RAFT_MSG_SNAPSHOT) {
        if (m->snapshot.index == 0 || m->snapshot.term == 0 || m->snapshot.term > m->term)
            return sk_err_set(err, EINVAL, "snapshot (%llu, %llu) invalid",
                              (unsigned long long)m->snapshot.index,
                              (unsigned long long)m->snapshot.term);
        return raft_conf_validate(&m->snapshot.conf, err);
    }
    return 0;
}

static int
from_leader(const struct raft_msg *m)
{
    return m->type == RAFT_MSG_APPEND || m->type == RAFT_MSG_HEARTBEAT ||
           m->type == RAFT_MSG_SNAPSHOT;
}

/* A message from an older term. A stale leader is told our term so it
 * steps down (needed with CheckQuorum/PreVote, where a node can be ahead
 * without disrupting anyone); a stale pre-candidate is refused. */
static void
step_stale(struct raft *r, const struct raft_msg *m)
{
    struct raft_msg resp = {.to = m->from, .reject = 1};

    if (from_leader(m)) {
        resp.type = RAFT_MSG_APPEND_RESP;
        raft_send(r, &resp, RAFT_DEP_HS);
    } else if (m->type == RAFT_MSG_PREVOTE) {
        resp.type = RAFT_MSG_PREVOTE_RESP;
        raft_send(r, &resp, RAFT_DEP_HS);
    }
}

/* §3.3 "if RPC request or response contains term T > currentTerm: set
 * currentTerm = T, convert to follower", with the PreVote (§9.6) and
 * leader stickiness (§4.2.3) exceptions. Returns 0 to drop m. */
static int
step_term(struct raft *r, const struct raft_msg *m)
{
    int vote = m->type == RAFT_MSG_VOTE || m->type == RAFT_MSG_PREVOTE;

    if (m->term < r->term) {
        step_stale(r, m);
        return 0;
    }
    if (m->term == r->term)
        return 1;
    /* A server that heard from a leader within the minimum election
     * timeout ignores (pre)votes: they come from a server that is
     * partitioned or removed, and must not depose a working leader. A
     * transfer-forced campaign was started by the leader itself. */
    if (vote && !m->transfer && raft_in_lease(r))
        return 0;
    /* A PreVote does not change our term; a granted PreVote answer
     * carries the term the sender would campaign in, not a real one. */
    if (m->type == RAFT_MSG_PREVOTE || (m->type == RAFT_MSG_PREVOTE_RESP && !m->reject))
        return 1;
    raft_become_follower(r, m->term, from_leader(m) ? m->from : RAFT_NONE);
    return 1;
}

static void
step_leader(struct raft *r, const struct raft_msg *m)
{
    struct raft_progress *pr = raft_progress_get(r, m->from);

    if (pr)
        pr->recent_active = 1; /* CheckQuorum */
    if (m->type == RAFT_MSG_APPEND_RESP)
        raft_handle_append_resp(r, m);
    else if (m->type == RAFT_MSG_HEARTBEAT_RESP)
        raft_handle_heartbeat_resp(r, m);
}

static void
step_non_leader(struct raft *r, const struct raft_msg *m)
{
    if (from_leader(m)) {
        /* §3.4: a candidate that hears from a leader of its term yields. */
        if (r->role != RAFT_FOLLOWER || r->leader != m->from)
            raft_become_follower(r, m->term, m->from);
        r->election_elapsed = 0;
    }
    switch (m->type) {
    case RAFT_MSG_APPEND:
        raft_handle_append(r, m);
        break;
    case RAFT_MSG_HEARTBEAT:
        raft_handle_heartbeat(r, m);
        break;
    case RAFT_MSG_SNAPSHOT:
        raft_handle_snapshot(r, m);
        break;
    case RAFT_MSG_VOTE_RESP:
    case RAFT_MSG_PREVOTE_RESP:
        raft_handle_vote_resp(r, m);
        break;
    case RAFT_MSG_TIMEOUT_NOW:
        raft_handle_timeout_now(r, m);
        break;
    default:
        break;
    }
}

int
raft_step(struct raft *r, const struct raft_msg *m, struct sk_err *err)
{
    int rc = msg_check(r, m, err);

    if (rc < 0)
        return sk_err_wrap(err, "raft node %llu: message from %llu dropped",
                           (unsigned long long)r->id, (unsigned long long)m->from);
    if (!step_term(r, m))
        return 0;
    if (m->type == RAFT_MSG_VOTE || m->type == RAFT_MSG_PREVOTE)
        raft_handle_vote(r, m);
    else if (r->role == RAFT_LEADER)
        step_leader(r, m);
    else
        step_non_leader(r, m);
    return 0;
}

/* Committed entries that are durable locally and not yet applied. */
static void
apply_range(const struct raft *r, uint64_t *lo, uint64_t *hi)
{
    uint64_t stable = raft_log_stable_last(&r->log);
    uint64_t top = r->log.committed < stable ? r->log.committed : stable;

    *lo = r->log.applied + 1;
    *hi = r->log.u.has_snap ? *lo : top + 1;
    if (*hi < *lo)
        *hi = *lo;
}

static int
soft_changed(const struct raft *r)
{
    return r->soft_sent.leader != r->leader || r->soft_sent.role != r->role;
}

int
raft_has_ready(const struct raft *r)
{
    const struct raft_unstable *u = &r->log.u;
    uint64_t lo, hi;

    if (r->ready_out)
        return 0;
    apply_range(r, &lo, &hi);
    return r->n_out || r->n_read_out || r->bcast_append || r->read_round_wanted || lo < hi ||
           r->hs_sent.term != r->term || r->hs_sent.vote != r->vote ||
           u->in_progress < u->offset + u->n || (u->has_snap && !u->snap_in_progress) ||
           soft_changed(r);
}

static int
ready_committed(struct raft *r, struct raft_ready *rd, struct sk_err *err)
{
    uint64_t lo, hi;
    int rc;

    apply_range(r, &lo, &hi);
    if (lo >= hi)
        return 0;
    rc = raft_log_entries(&r->log, lo, hi, r->cfg.max_apply_bytes, &rd->committed, &rd->n_committed,
                          err);
    if (rc < 0)
        return sk_err_wrap(err, "raft node %llu: reading committed entries %llu..%llu",
                           (unsigned long long)r->id, (unsigned long long)lo,
                           (unsigned long long)(hi - 1));
    return 0;
}

static void
ready_log(struct raft *r, struct raft_ready *rd)
{
    struct raft_unstable *u = &r->log.u;
    struct raft_entry *ents;
    uint64_t stored_last;

    if (u->has_snap && !u->snap_in_progress) {
        rd->has_snapshot = 1;
        rd->snapshot = u->snap;
        u->snap_in_progress = 1;
    }
    rd->n_entries = raft_log_take_unstable(&r->log, &ents);
    if (!rd->n_entries)
        return;
    rd->entries = sk_reallocarray(NULL, rd->n_entries, sizeof(*ents));
    memcpy(rd->entries, ents, rd->n_entries * sizeof(*ents));
    u->handed = 1;
    stored_last = r->log.st->last_index(r->log.st->ud);
    if (!rd->has_snapshot && !u->has_snap && rd->entries[0].index <= stored_last)
        rd->truncate_from = rd->entries[0].index;
}

int
raft_ready(struct raft *r, struct raft_ready *rd, struct sk_err *err)
{
    int rc;

    if (r->ready_out)
        return sk_err_set(err, EBUSY, "raft node %llu: ready %llu not advanced",
                          (unsigned long long)r->id, (unsigned long long)r->ready_seq);
    if (r->role == RAFT_LEADER)
        raft_flush_appends(r);
    memset(&r->rd, 0, sizeof(r->rd));
    rc = ready_committed(r, &r->rd, err);
    if (rc < 0)
        return rc;
    r->rd.seq = ++r->ready_seq;
    r->rd.hs = (struct raft_hard_state){r->term, r->vote, r->log.committed};
    r->rd.hs_changed = r->hs_sent.term != r->term || r->hs_sent.vote != r->vote;
    r->hs_sent = r->rd.hs;
    ready_log(r, &r->rd);
    r->rd.msgs = r->out;
    r->rd.n_msgs = r->n_out;
    r->out = NULL;
    r->n_out = r->cap_out = 0;
    r->rd.reads = r->read_out;
    r->rd.n_reads = r->n_read_out;
    r->read_out = NULL;
    r->n_read_out = r->cap_read_out = 0;
    r->rd.soft_changed = soft_changed(r);
    r->rd.soft = (struct raft_soft_state){r->leader, r->role};
    r->soft_sent = r->rd.soft;
    r->ready_out = 1;
    *rd = r->rd;
    return 0;
}

void
raft_advance(struct raft *r, struct raft_ready *rd)
{
    struct raft_log *l = &r->log;

    if (!r->ready_out || rd->seq != r->rd.seq)
        SK_BUG("raft: advance of ready %llu, outstanding %llu", (unsigned long long)rd->seq,
               (unsigned long long)(r->ready_out ? r->rd.seq : 0));
    r->persisted_seq = r->rd.seq;
    if (r->rd.has_snapshot) {
        raft_log_stable_snap_to(l, r->rd.snapshot.index);
        if (l->applied < r->rd.snapshot.index)
            l->applied = r->rd.snapshot.index;
    }
    if (r->rd.n_entries) {
        const struct raft_entry *e = &r->rd.entries[r->rd.n_entries - 1];

        raft_log_stable_to(l, e->index, e->term);
    }
    if (r->rd.n_committed)
        l->applied = r->rd.committed[r->rd.n_committed - 1].index;
    ready_release(r);
    memset(rd, 0, sizeof(*rd));
    release_held(r);
    if (r->role == RAFT_LEADER)
        raft_self_progress(r);
}

void
raft_status(const struct raft *r, struct raft_status *st)
{
    size_t i;

    memset(st, 0, sizeof(*st));
    st->id = r->id;
    st->term = r->term;
    st->vote = r->vote;
    st->leader = r->leader;
    st->role = r->role;
    st->commit = r->log.committed;
    st->applied = r->log.applied;
    st->first_index = raft_log_first_index(&r->log);
    st->last_index = raft_log_last_index(&r->log);
    st->transferee = r->transferee;
    st->conf = *raft_conf_cur(r);
    st->conf_index = raft_conf_index(r);
    if (r->role != RAFT_LEADER)
        return;
    for (i = 0; i < r->n_prs && i < RAFT_CONF_MAX; i++) {
        const struct raft_progress *pr = &r->prs[i];

        struct raft_progress_status *ps = &st->progress[i];

        ps->id = pr->id;
        ps->role = pr->role;
        /* The leader's own entry never leaves PROBE (nothing is sent to
         * it), yet it is always up to date with itself. */
        ps->state = pr->id == r->id ? RAFT_PR_REPLICATE : pr->state;
        ps->active = pr->id == r->id || pr->recent_active || pr->was_active;
        ps->match = pr->match;
        ps->next = pr->next;
    }
    st->n_progress = (uint32_t)i;
}

const char *
raft_progress_state_name(uint8_t state)
{
    switch (state) {
    case RAFT_PR_PROBE:
        return "probe";
    case RAFT_PR_REPLICATE:
        return "replicate";
    case RAFT_PR_SNAPSHOT:
        return "snapshot";
    }
    return "unknown";
}
