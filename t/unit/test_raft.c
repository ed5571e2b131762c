/* store/raft: scenario tests for the consensus core.
 *
 * Two harnesses. A lone node over a tiny in-memory log ("mnode") for
 * exact checks of what one node does with given messages, and the
 * simulated cluster of store/raft_sim.h (which also checks every safety
 * property after each step) for scenarios that need several nodes. With
 * no faults configured the cluster is deterministic. */
#include "lib/err.h"
#include "store/raft.h"
#include "store/raft_sim.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

/* ---- a lone node ---- */

#define MN_MAX 64

struct mnode {
    struct raft *r;
    struct raft_storage st;
    struct raft_entry ents[MN_MAX]; /* stored log: [first, first + n) */
    uint64_t first, base_term;
    size_t n;
    struct raft_snapshot_meta snap;
    struct raft_hard_state hs;
    struct raft_msg sent[MN_MAX]; /* headers of sent messages */
    size_t n_sent;
};

static uint64_t
mn_first(void *ud)
{
    return ((struct mnode *)ud)->first;
}

static uint64_t
mn_last(void *ud)
{
    struct mnode *m = ud;

    return m->first + m->n - 1;
}

static uint64_t
mn_term(void *ud, uint64_t i)
{
    struct mnode *m = ud;

    return i + 1 == m->first ? m->base_term : m->ents[i - m->first].term;
}

static int
mn_entries(void *ud, uint64_t lo, uint64_t hi, uint64_t max, struct raft_entry *out,
           struct sk_err *err)
{
    struct mnode *m = ud;
    uint64_t i;
    int k = 0;

    for (i = lo; i < hi; i++) {
        out[k] = m->ents[i - m->first];
        out[k].data = NULL;
        if (out[k].len) {
            out[k].data = malloc(out[k].len);
            memcpy(out[k].data, m->ents[i - m->first].data, out[k].len);
        }
        k++;
    }
    return k;
}

static int
mn_snapshot(void *ud, struct raft_snapshot_meta *meta, struct sk_err *err)
{
    *meta = ((struct mnode *)ud)->snap;
    return 0;
}

static void
mn_start(struct mnode *m, uint64_t id, const struct raft_conf *boot)
{
    struct raft_config cfg = {0};
    struct sk_err err;

    cfg.id = id;
    cfg.seed = id;
    cfg.bootstrap = boot;
    m->st = (struct raft_storage){m, mn_first, mn_last, mn_term, mn_entries, mn_snapshot};
    if (!m->first)
        m->first = 1;
    ck_assert_msg(raft_new(&cfg, &m->st, &m->hs, &m->r, &err) == 0, "%s", err.msg);
}

static void
mn_free(struct mnode *m)
{
    size_t i;

    raft_free(m->r);
    for (i = 0; i < m->n; i++)
        free(m->ents[i].data);
}

/* Write a ready as a driver would (snapshot, truncation, entries, hard
 * state), keeping the headers of its messages. */
static void
mn_write(struct mnode *m, struct raft_ready *rd)
{
    size_t i;

    if (rd->has_snapshot) {
        for (i = 0; i < m->n; i++)
            free(m->ents[i].data);
        m->n = 0;
        m->snap = rd->snapshot;
        m->first = rd->snapshot.index + 1;
        m->base_term = rd->snapshot.term;
    }
    if (rd->truncate_from)
        while (m->n && m->first + m->n - 1 >= rd->truncate_from)
            free(m->ents[--m->n].data);
    for (i = 0; i < rd->n_entries; i++) {
        ck_assert_uint_eq(rd->entries[i].index, m->first + m->n);
        ck_assert_uint_lt(m->n, MN_MAX);
        m->ents[m->n] = rd->entries[i];
        m->ents[m->n].data = NULL;
        if (rd->entries[i].len) {
            m->ents[m->n].data = malloc(rd->entries[i].len);
            memcpy(m->ents[m->n].data, rd->entries[i].data, rd->entries[i].len);
        }
        m->n++;
    }
    if (rd->hs_changed)
        m->hs = rd->hs;
    for (i = 0; i < rd->n_msgs && m->n_sent < MN_MAX; i++) {
        m->sent[m->n_sent] = rd->msgs[i];
        m->sent[m->n_sent].entries = NULL;
        m->n_sent++;
    }
}

/* Run readies until there is nothing left to do. */
static void
mn_flush(struct mnode *m)
{
    struct raft_ready rd;
    struct sk_err err;

    while (raft_has_ready(m->r)) {
        ck_assert_msg(raft_ready(m->r, &rd, &err) == 0, "%s", err.msg);
        mn_write(m, &rd);
        raft_advance(m->r, &rd);
    }
}

static void
mn_step(struct mnode *m, const struct raft_msg *msg)
{
    struct sk_err err;

    ck_assert_msg(raft_step(m->r, msg, &err) == 0, "%s", err.msg);
}

/* The last sent message of a type, or NULL. */
static const struct raft_msg *
mn_sent(const struct mnode *m, uint8_t type)
{
    size_t i = m->n_sent;

    while (i--)
        if (m->sent[i].type == type)
            return &m->sent[i];
    return NULL;
}

static struct raft_conf
conf_of(unsigned voters)
{
    struct raft_conf c = {0};
    unsigned i;

    for (i = 1; i <= voters; i++)
        c.servers[c.n++] = (struct raft_server){i, RAFT_VOTER};
    return c;
}

static struct raft_status
status(struct raft *r)
{
    struct raft_status st;

    raft_status(r, &st);
    return st;
}

/* Role of who in node id's current configuration. */
static uint8_t
role_in_conf(struct raft *r, uint64_t who)
{
    struct raft_status st = status(r);

    return raft_conf_role(&st.conf, who);
}

/* ---- a cluster ---- */

static struct rsim *
cluster(unsigned voters, unsigned spares, uint32_t max_msg_bytes)
{
    struct rsim_config cfg;

    rsim_config_default(&cfg);
    cfg.voters = voters;
    cfg.spares = spares;
    cfg.max_msg_bytes = max_msg_bytes;
    cfg.min_delay = cfg.max_delay = 1;
    cfg.trace = 1;
    return rsim_new(getenv("RAFT_TEST_SEED") ? strtoull(getenv("RAFT_TEST_SEED"), NULL, 0) : 42,
                    &cfg);
}

static void
cluster_ok(struct rsim *s)
{
    if (rsim_error(s))
        rsim_trace_dump(s, stderr);
    ck_assert_msg(rsim_error(s) == NULL, "%s", rsim_error(s));
}

static uint64_t
leader_of(struct rsim *s)
{
    int64_t l = rsim_wait_leader(s, 0, 200);

    cluster_ok(s);
    ck_assert_int_gt(l, 0);
    return (uint64_t)l;
}

/* Wait for a leader other than x (x may still think it leads). */
static uint64_t
leader_besides(struct rsim *s, uint64_t x)
{
    unsigned t;

    for (t = 0; t < 200; t++) {
        uint64_t l = rsim_leader(s);

        if (l && l != x)
            return l;
        ck_assert_int_eq(rsim_run_ticks(s, 1), 0);
    }
    cluster_ok(s);
    ck_abort_msg("no leader besides %llu", (unsigned long long)x);
    return 0;
}

static uint64_t
other_than(struct rsim *s, uint64_t a, uint64_t b)
{
    uint64_t i;

    for (i = 1; i <= rsim_nodes(s); i++)
        if (i != a && i != b)
            return i;
    return 0;
}

static uint64_t
propose(struct rsim *s, uint64_t id)
{
    struct sk_err err;
    uint64_t prop = 0;

    ck_assert_msg(rsim_propose(s, id, &prop, &err) == 0, "%s", err.msg);
    return prop;
}

static uint64_t
last_index(struct rsim *s, uint64_t id)
{
    return status(rsim_raft(s, id)).last_index;
}

/* ---- message filters ---- */

struct filter {
    struct rsim *s;
    int drop_entries_from; /* drop APPENDs with entries (any sender) */
    uint64_t drop_above;   /* keep entries above it from nodes holding it */
    uint64_t mute_acks_of; /* drop APPEND_RESP and HEARTBEAT_RESP from it */
    uint64_t watch_to;     /* count APPENDs with entries to this node */
    unsigned appends_seen; /* ... here */
    uint32_t max_batch;    /* largest batch seen */
    uint64_t count_rejects_from;
    unsigned rejects;
    int drop_append_resp;
};

static int
filter_fn(void *ud, const struct raft_msg *m)
{
    struct filter *f = ud;

    if (m->type == RAFT_MSG_APPEND && m->n_entries) {
        if (f->drop_entries_from)
            return 0;
        if (f->drop_above && m->entries[m->n_entries - 1].index > f->drop_above &&
            last_index(f->s, m->to) >= f->drop_above)
            return 0;
        if (f->watch_to == m->to) {
            f->appends_seen++;
            if (m->n_entries > f->max_batch)
                f->max_batch = m->n_entries;
        }
    }
    if (m->from == f->mute_acks_of &&
        (m->type == RAFT_MSG_APPEND_RESP || m->type == RAFT_MSG_HEARTBEAT_RESP))
        return 0;
    if (m->type == RAFT_MSG_APPEND_RESP && f->drop_append_resp)
        return 0;
    if (m->type == RAFT_MSG_APPEND_RESP && m->reject && m->from == f->count_rejects_from)
        f->rejects++;
    return 1;
}

/* ---- tests ---- */

/* Paper Figure 8 / thesis Figure 3.7: an entry of an earlier term that
 * reaches a majority may still be overwritten, so a leader must not
 * commit it by counting replicas. */
START_TEST(leader_does_not_commit_previous_term_entry_by_counting)
{
    struct rsim *s = cluster(5, 0, 1); /* one entry per APPEND */
    struct filter f = {.s = s};
    uint64_t a, b, e, l, i, x_idx, t1;

    rsim_set_filter(s, filter_fn, &f);
    a = leader_of(s);
    ck_assert_int_eq(rsim_run_ticks(s, 5), 0);
    /* (a) a replicates x to b only. */
    b = other_than(s, a, 0);
    for (i = 1; i <= 5; i++)
        if (i != a && i != b)
            rsim_isolate(s, i);
    propose(s, a);
    x_idx = last_index(s, a);
    t1 = status(rsim_raft(s, a)).term;
    ck_assert_int_eq(rsim_run_ticks(s, 3), 0);
    ck_assert_uint_eq(rsim_disk_term(s, b, x_idx), t1);
    /* (b) a crashes; c, d, e elect one of them, whose entry at x_idx (its
     * no-op, of a later term) reaches nobody. */
    rsim_crash(s, a);
    rsim_heal(s);
    rsim_isolate(s, b);
    f.drop_entries_from = 1;
    e = leader_of(s);
    ck_assert(e != a && e != b);
    ck_assert_int_eq(rsim_run_ticks(s, 2), 0);
    ck_assert_uint_gt(rsim_disk_term(s, e, x_idx), t1);
    /* (c) e crashes, a comes back; a or b (the only logs holding x) leads
     * and spreads x to a majority, but its own no-op no further. */
    rsim_crash(s, e);
    rsim_heal(s);
    f.drop_entries_from = 0;
    f.drop_above = x_idx;
    ck_assert_int_eq(rsim_restart(s, a), 0);
    l = leader_of(s);
    ck_assert(l == a || l == b);
    ck_assert_int_eq(rsim_run_ticks(s, 20), 0);
    for (i = 1; i <= 5; i++) {
        if (i == e)
            continue;
        ck_assert_msg(rsim_disk_term(s, i, x_idx) == t1, "node %llu lacks x",
                      (unsigned long long)i);
    }
    ck_assert_uint_lt(status(rsim_raft(s, l)).commit, x_idx);
    /* (d) l crashes, e returns: e may win and overwrite x, which is fine
     * exactly because nobody committed it; the checker watches. */
    rsim_crash(s, l);
    f.drop_above = 0;
    ck_assert_int_eq(rsim_restart(s, e), 0);
    leader_of(s);
    ck_assert_int_eq(rsim_run_ticks(s, 30), 0);
    cluster_ok(s);
    rsim_free(s);
}
END_TEST

/* §9.6: answering a PreVote changes nothing, and a pre-candidate keeps
 * its term and vote until the PreVote succeeds. */
START_TEST(prevote_changes_neither_term_nor_vote)
{
    struct raft_conf c = conf_of(3);
    struct mnode m = {0}, p = {0};
    struct raft_msg pv = {
        .type = RAFT_MSG_PREVOTE, .from = 3, .to = 1, .term = 7, .index = 5, .log_term = 1};
    const struct raft_msg *resp;
    unsigned i;

    mn_start(&m, 1, &c);
    mn_flush(&m);
    mn_step(&m, &pv);
    mn_flush(&m);
    ck_assert_uint_eq(status(m.r).term, 1);
    ck_assert_uint_eq(status(m.r).vote, RAFT_NONE);
    ck_assert_uint_eq(m.hs.term, 1);
    resp = mn_sent(&m, RAFT_MSG_PREVOTE_RESP);
    ck_assert_ptr_nonnull(resp);
    ck_assert_int_eq(resp->reject, 0);
    ck_assert_uint_eq(resp->term, 7); /* the future term it was granted for */
    /* The pre-candidate side: an election timeout starts a PreVote. */
    mn_start(&p, 2, &c);
    mn_flush(&p);
    for (i = 0; i < 40 && status(p.r).role != RAFT_PRECANDIDATE; i++) {
        raft_tick(p.r);
        mn_flush(&p);
    }
    ck_assert_int_eq(status(p.r).role, RAFT_PRECANDIDATE);
    ck_assert_uint_eq(status(p.r).term, 1);
    ck_assert_uint_eq(status(p.r).vote, RAFT_NONE);
    ck_assert_uint_eq(mn_sent(&p, RAFT_MSG_PREVOTE)->term, 2);
    mn_free(&m);
    mn_free(&p);
}
END_TEST

/* One vote per term: a second candidate of the same term is refused. */
START_TEST(node_votes_once_per_term)
{
    struct raft_conf c = conf_of(3);
    struct mnode m = {0};
    struct raft_msg v = {
        .type = RAFT_MSG_VOTE, .from = 2, .to = 1, .term = 3, .index = 1, .log_term = 1};

    mn_start(&m, 1, &c);
    mn_flush(&m);
    mn_step(&m, &v);
    mn_flush(&m);
    ck_assert_int_eq(mn_sent(&m, RAFT_MSG_VOTE_RESP)->reject, 0);
    ck_assert_uint_eq(m.hs.vote, 2);
    v.from = 3;
    mn_step(&m, &v);
    mn_flush(&m);
    ck_assert_int_eq(mn_sent(&m, RAFT_MSG_VOTE_RESP)->reject, 1);
    ck_assert_uint_eq(status(m.r).vote, 2);
    mn_free(&m);
}
END_TEST

/* The ready contract: a vote grant is only handed out once the vote is
 * durable, i.e. after the ready carrying it was advanced. */
START_TEST(vote_grant_is_held_until_the_vote_is_stored)
{
    struct raft_conf c = conf_of(3);
    struct mnode m = {0};
    struct raft_msg v = {
        .type = RAFT_MSG_VOTE, .from = 2, .to = 1, .term = 3, .index = 1, .log_term = 1};
    struct raft_ready rd;
    struct sk_err err;
    size_t i;

    mn_start(&m, 1, &c);
    mn_flush(&m);
    mn_step(&m, &v);
    ck_assert_int_eq(raft_ready(m.r, &rd, &err), 0);
    ck_assert(rd.hs_changed && rd.hs.vote == 2 && rd.hs.term == 3);
    for (i = 0; i < rd.n_msgs; i++)
        ck_assert_int_ne(rd.msgs[i].type, RAFT_MSG_VOTE_RESP);
    /* Another message meanwhile is fine; readies do not overlap. */
    ck_assert_int_eq(raft_ready(m.r, &rd, &err), -EBUSY);
    mn_write(&m, &rd);
    raft_advance(m.r, &rd);
    ck_assert_int_eq(raft_ready(m.r, &rd, &err), 0);
    ck_assert_uint_eq(rd.n_msgs, 1);
    ck_assert_int_eq(rd.msgs[0].type, RAFT_MSG_VOTE_RESP);
    ck_assert_int_eq(rd.msgs[0].reject, 0);
    raft_advance(m.r, &rd);
    mn_free(&m);
}
END_TEST

/* Likewise an AppendEntries ack waits for the entries to be durable. */
START_TEST(append_ack_is_held_until_the_entries_are_stored)
{
    struct mnode m = {0};
    struct raft_entry e[2] = {{.term = 2, .index = 1, .type = RAFT_ENTRY_NOOP},
                              {.term = 2, .index = 2, .type = RAFT_ENTRY_NOOP}};
    struct raft_msg app = {.type = RAFT_MSG_APPEND,
                           .from = 1,
                           .to = 2,
                           .term = 2,
                           .n_entries = 2,
                           .entries = e,
                           .commit = 0};
    struct raft_ready rd;
    struct sk_err err;
    size_t i;

    mn_start(&m, 2, NULL);
    mn_step(&m, &app);
    ck_assert_int_eq(raft_ready(m.r, &rd, &err), 0);
    ck_assert_uint_eq(rd.n_entries, 2);
    for (i = 0; i < rd.n_msgs; i++)
        ck_assert_int_ne(rd.msgs[i].type, RAFT_MSG_APPEND_RESP);
    mn_write(&m, &rd);
    raft_advance(m.r, &rd);
    ck_assert_int_eq(raft_ready(m.r, &rd, &err), 0);
    ck_assert_uint_eq(rd.n_msgs, 1);
    ck_assert_int_eq(rd.msgs[0].type, RAFT_MSG_APPEND_RESP);
    ck_assert_uint_eq(rd.msgs[0].index, 2);
    raft_advance(m.r, &rd);
    mn_free(&m);
}
END_TEST

/* §10.2.1: the leader may write in parallel with its followers, but it
 * must not count its own copy before it is durable: with one follower
 * cut off, the leader and one follower are a quorum only once the
 * leader's write completes. */
START_TEST(leader_does_not_count_entries_it_has_not_stored)
{
    struct rsim *s = cluster(3, 0, 0);
    uint64_t l, f, g, idx;

    l = leader_of(s);
    ck_assert_int_eq(rsim_run_ticks(s, 3), 0);
    f = other_than(s, l, 0);
    g = other_than(s, l, f);
    rsim_isolate(s, g);
    rsim_hold_writes(s, l, 1);
    propose(s, l);
    idx = last_index(s, l);
    ck_assert_int_eq(rsim_run_ticks(s, 5), 0);
    ck_assert_uint_eq(rsim_disk_term(s, f, idx), status(rsim_raft(s, l)).term);
    ck_assert_uint_lt(status(rsim_raft(s, l)).commit, idx);
    rsim_hold_writes(s, l, 0);
    ck_assert_int_eq(rsim_run_ticks(s, 2), 0);
    ck_assert_uint_ge(status(rsim_raft(s, l)).commit, idx);
    cluster_ok(s);
    rsim_free(s);
}
END_TEST

/* A node that was down while the others moved through several terms
 * comes back with its old stored term: it learns the new term and the
 * missing entries from the leader and disrupts nothing. */
START_TEST(restarted_node_with_stale_term_catches_up_without_disruption)
{
    struct rsim *s = cluster(3, 0, 0);
    struct sk_err err;
    uint64_t l, c, l2, term, i;

    l = leader_of(s);
    c = other_than(s, l, 0);
    rsim_crash(s, c);
    for (i = 0; i < 3; i++) {
        uint64_t o = other_than(s, l, c);

        ck_assert_int_eq(rsim_transfer(s, l, o, &err), 0);
        ck_assert_int_eq(rsim_wait_leader(s, o, 50), (int64_t)o);
        l = o;
        propose(s, l);
    }
    ck_assert_int_eq(rsim_run_ticks(s, 3), 0);
    term = status(rsim_raft(s, l)).term;
    ck_assert_int_eq(rsim_restart(s, c), 0);
    ck_assert_uint_lt(status(rsim_raft(s, c)).term, term);
    ck_assert_int_eq(rsim_run_ticks(s, 40), 0);
    l2 = rsim_leader(s);
    ck_assert_uint_eq(l2, l);
    ck_assert_uint_eq(status(rsim_raft(s, l)).term, term);
    ck_assert_uint_eq(status(rsim_raft(s, c)).term, term);
    ck_assert_uint_eq(rsim_applied(s, c), status(rsim_raft(s, l)).commit);
    cluster_ok(s);
    rsim_free(s);
}
END_TEST

/* A crash between writing entries and writing the hard state leaves
 * entries of a term newer than the stored one: the node adopts that
 * term (without a vote) instead of going back in time. */
START_TEST(node_restarted_with_entries_newer_than_its_term_adopts_their_term)
{
    struct mnode m = {0};
    struct raft_entry e = {.term = 5, .index = 1, .type = RAFT_ENTRY_NOOP};

    m.ents[0] = e;
    m.n = 1;
    m.hs = (struct raft_hard_state){.term = 3, .vote = 2};
    mn_start(&m, 1, NULL);
    ck_assert_uint_eq(status(m.r).term, 5);
    ck_assert_uint_eq(status(m.r).vote, RAFT_NONE);
    mn_flush(&m);
    ck_assert_uint_eq(m.hs.term, 5);
    mn_free(&m);
}
END_TEST

/* A snapshot overtakes AppendEntries sent before it: the late APPEND and
 * a duplicate older snapshot must neither truncate the log nor move the
 * commit index back. */
START_TEST(late_append_after_snapshot_install_changes_nothing)
{
    struct raft_entry e[3] = {{.term = 2, .index = 1, .type = RAFT_ENTRY_NOOP},
                              {.term = 2, .index = 2, .type = RAFT_ENTRY_NOOP},
                              {.term = 2, .index = 3, .type = RAFT_ENTRY_NOOP}};
    struct raft_msg app = {.type = RAFT_MSG_APPEND,
                           .from = 1,
                           .to = 2,
                           .term = 2,
                           .n_entries = 3,
                           .entries = e,
                           .commit = 2};
    struct raft_msg snap = {.type = RAFT_MSG_SNAPSHOT, .from = 1, .to = 2, .term = 2};
    struct mnode m = {0};
    const struct raft_msg *resp;

    mn_start(&m, 2, NULL);
    mn_step(&m, &app);
    mn_flush(&m);
    ck_assert_uint_eq(status(m.r).commit, 2);
    snap.snapshot.index = 10;
    snap.snapshot.term = 2;
    snap.snapshot.conf = conf_of(3);
    snap.snapshot.handle = 77;
    mn_step(&m, &snap);
    mn_flush(&m);
    ck_assert_uint_eq(m.snap.handle, 77);
    ck_assert_uint_eq(status(m.r).commit, 10);
    ck_assert_uint_eq(status(m.r).applied, 10);
    ck_assert_uint_eq(mn_sent(&m, RAFT_MSG_APPEND_RESP)->index, 10);
    /* The late APPEND (prev 1, entries 2..3, commit 3). */
    app.index = 1;
    app.log_term = 2;
    app.entries = e + 1;
    app.n_entries = 2;
    app.commit = 3;
    mn_step(&m, &app);
    mn_flush(&m);
    ck_assert_uint_eq(status(m.r).last_index, 10);
    ck_assert_uint_eq(status(m.r).commit, 10);
    resp = mn_sent(&m, RAFT_MSG_APPEND_RESP);
    ck_assert_int_eq(resp->reject, 0);
    ck_assert_uint_eq(resp->index, 10);
    /* A duplicate of an older snapshot. */
    snap.snapshot.index = 5;
    snap.snapshot.handle = 78;
    mn_step(&m, &snap);
    mn_flush(&m);
    ck_assert_uint_eq(m.snap.handle, 77);
    ck_assert_uint_eq(status(m.r).commit, 10);
    ck_assert_uint_eq(status(m.r).first_index, 11);
    mn_free(&m);
}
END_TEST

/* A follower far behind a compacted log gets a snapshot and then the
 * rest of the log. */
START_TEST(follower_behind_compaction_point_catches_up_by_snapshot)
{
    struct rsim_config cfg;
    struct sk_err err;
    struct rsim *s;
    uint64_t l, f, i;

    rsim_config_default(&cfg);
    cfg.trailing = 2;
    s = rsim_new(7, &cfg);
    l = leader_of(s);
    f = other_than(s, l, 0);
    rsim_isolate(s, f);
    for (i = 0; i < 20; i++) {
        propose(s, l);
        ck_assert_int_eq(rsim_run_ticks(s, 1), 0);
    }
    ck_assert_int_eq(rsim_snapshot(s, l, &err), 0);
    propose(s, l);
    rsim_heal(s);
    ck_assert_int_eq(rsim_run_ticks(s, 20), 0);
    ck_assert_uint_ge(rsim_stats(s)->snapshots_installed, 1);
    ck_assert_uint_eq(rsim_applied(s, f), status(rsim_raft(s, l)).commit);
    cluster_ok(s);
    rsim_free(s);
}
END_TEST

/* CheckQuorum (§6.2): an isolated leader steps down within two election
 * timeouts, so its clients go elsewhere. */
START_TEST(isolated_leader_steps_down_within_two_election_timeouts)
{
    struct rsim *s = cluster(3, 0, 0);
    uint64_t l;
    unsigned t;

    l = leader_of(s);
    ck_assert_int_eq(rsim_run_ticks(s, 3), 0);
    rsim_isolate(s, l);
    for (t = 0; t < 2 * 10 && status(rsim_raft(s, l)).role == RAFT_LEADER; t++)
        ck_assert_int_eq(rsim_run_ticks(s, 1), 0);
    ck_assert_int_eq(status(rsim_raft(s, l)).role, RAFT_FOLLOWER);
    ck_assert_uint_le(t, 20);
    cluster_ok(s);
    rsim_free(s);
}
END_TEST

/* raft_status() carries the leader's view of every server's replication
 * (kv members, skiff cluster status): match reaches the leader's last
 * index on every reachable server, an isolated one falls behind and is
 * no longer active; a follower reports no progress at all. */
START_TEST(leader_status_reports_progress_of_every_server)
{
    struct rsim *s = cluster(3, 0, 0);
    struct raft_status st;
    uint64_t l, f;
    uint32_t i;

    l = leader_of(s);
    f = other_than(s, l, 0);
    propose(s, l);
    ck_assert_int_eq(rsim_run_ticks(s, 5), 0);
    st = status(rsim_raft(s, l));
    ck_assert_uint_eq(st.n_progress, 3);
    for (i = 0; i < st.n_progress; i++) {
        ck_assert_uint_eq(st.progress[i].match, st.last_index);
        ck_assert_uint_eq(st.progress[i].next, st.last_index + 1);
        ck_assert_str_eq(raft_progress_state_name(st.progress[i].state), "replicate");
        ck_assert_int_eq(st.progress[i].active, 1);
        ck_assert_uint_eq(st.progress[i].role, RAFT_VOTER);
    }
    ck_assert_uint_eq(status(rsim_raft(s, f)).n_progress, 0);
    rsim_isolate(s, f);
    propose(s, l);
    propose(s, l);
    ck_assert_int_eq(rsim_run_ticks(s, 25), 0);
    ck_assert_uint_eq(rsim_leader(s), l);
    st = status(rsim_raft(s, l));
    for (i = 0; i < st.n_progress; i++) {
        if (st.progress[i].id == f) {
            ck_assert_uint_le(st.progress[i].match + 2, st.last_index);
            ck_assert_int_eq(st.progress[i].active, 0);
        } else {
            ck_assert_uint_eq(st.progress[i].match, st.last_index);
            ck_assert_int_eq(st.progress[i].active, 1);
        }
    }
    ck_assert_str_eq(raft_progress_state_name(99), "unknown");
    cluster_ok(s);
    rsim_free(s);
}
END_TEST

/* PreVote (§9.6): a node cut off for many election timeouts does not
 * inflate its term, so when it rejoins the stable leader keeps going. */
START_TEST(partitioned_node_rejoining_does_not_disrupt_stable_leader)
{
    struct rsim *s = cluster(3, 0, 0);
    uint64_t l, f, term;

    l = leader_of(s);
    ck_assert_int_eq(rsim_run_ticks(s, 3), 0);
    term = status(rsim_raft(s, l)).term;
    f = other_than(s, l, 0);
    rsim_isolate(s, f);
    ck_assert_int_eq(rsim_run_ticks(s, 200), 0);
    ck_assert_uint_eq(status(rsim_raft(s, f)).term, term);
    rsim_heal(s);
    ck_assert_int_eq(rsim_run_ticks(s, 50), 0);
    ck_assert_uint_eq(rsim_leader(s), l);
    ck_assert_uint_eq(status(rsim_raft(s, l)).term, term);
    cluster_ok(s);
    rsim_free(s);
}
END_TEST

/* Leader stickiness (§4.2.3): a follower that hears from its leader
 * ignores a vote request of a higher term (e.g. from a removed or
 * partitioned server whose term did grow), unless the leader itself
 * ordered the election (transfer). */
START_TEST(follower_in_lease_ignores_higher_term_vote_request)
{
    struct rsim *s = cluster(3, 0, 0);
    struct raft_msg v = {.type = RAFT_MSG_VOTE};
    uint64_t l, f, g, term, vote;

    l = leader_of(s);
    ck_assert_int_eq(rsim_run_ticks(s, 3), 0);
    f = other_than(s, l, 0);
    g = other_than(s, l, f);
    term = status(rsim_raft(s, l)).term;
    vote = status(rsim_raft(s, f)).vote;
    v.from = g;
    v.to = f;
    v.term = term + 5;
    v.index = 1000;
    v.log_term = term + 4;
    ck_assert_int_eq(rsim_inject(s, &v), 0);
    ck_assert_uint_eq(status(rsim_raft(s, f)).term, term);
    ck_assert_uint_eq(status(rsim_raft(s, f)).vote, vote);
    ck_assert_int_eq(rsim_run_ticks(s, 5), 0);
    ck_assert_uint_eq(rsim_leader(s), l);
    ck_assert_uint_eq(status(rsim_raft(s, l)).term, term);
    cluster_ok(s);
    rsim_free(s);
}
END_TEST

/* §3.10: a transfer brings the target up to date, then it wins at once;
 * proposals are refused while the transfer runs. */
START_TEST(leadership_transfer_completes_even_to_a_lagging_follower)
{
    struct rsim *s = cluster(3, 0, 0);
    struct raft_ticket t;
    struct sk_err err;
    uint64_t l, f, i, last;

    l = leader_of(s);
    f = other_than(s, l, 0);
    rsim_isolate(s, f);
    for (i = 0; i < 5; i++)
        propose(s, l);
    ck_assert_int_eq(rsim_run_ticks(s, 3), 0);
    last = last_index(s, l);
    rsim_heal(s);
    ck_assert_int_eq(rsim_transfer(s, l, f, &err), 0);
    ck_assert_int_eq(raft_propose(rsim_raft(s, l), "x", 1, &t, &err), -EBUSY);
    ck_assert_int_eq(rsim_wait_leader(s, f, 30), (int64_t)f);
    ck_assert_int_eq(status(rsim_raft(s, l)).role, RAFT_FOLLOWER);
    ck_assert_uint_gt(last_index(s, f), last);
    propose(s, f);
    cluster_ok(s);
    rsim_free(s);
}
END_TEST

/* §4.2.2: a leader may remove itself; it keeps leading (without
 * counting itself) until the change commits, then steps down, and the
 * others carry on without it. */
START_TEST(leader_removing_itself_steps_down_and_cluster_carries_on)
{
    struct rsim *s = cluster(3, 0, 0);
    struct sk_err err;
    uint64_t l, l2, prop;

    l = leader_of(s);
    ck_assert_int_eq(rsim_run_ticks(s, 3), 0);
    ck_assert_int_eq(rsim_remove(s, l, l, &err), 0);
    ck_assert_int_eq(rsim_run_ticks(s, 5), 0);
    ck_assert_int_ne(status(rsim_raft(s, l)).role, RAFT_LEADER);
    ck_assert_int_eq(role_in_conf(rsim_raft(s, l), l), 0);
    l2 = leader_of(s);
    ck_assert_uint_ne(l2, l);
    prop = propose(s, l2);
    ck_assert_int_eq(rsim_run_ticks(s, 100), 0);
    ck_assert(rsim_acked(s, prop));
    ck_assert_int_ne(status(rsim_raft(s, l)).role, RAFT_LEADER);
    ck_assert_int_ne(status(rsim_raft(s, l)).role, RAFT_CANDIDATE);
    cluster_ok(s);
    rsim_free(s);
}
END_TEST

/* §4.2.1: a learner receives the log but never campaigns, and its acks
 * and votes never make a quorum. */
START_TEST(learner_never_campaigns_nor_counts)
{
    struct rsim *s = cluster(3, 2, 0);
    struct raft_msg grant = {.type = RAFT_MSG_VOTE_RESP};
    struct sk_err err;
    uint64_t l, f, g, idx, k;
    unsigned t;

    l = leader_of(s);
    ck_assert_int_eq(rsim_run_ticks(s, 3), 0);
    ck_assert_int_eq(rsim_add_learner(s, l, 4, &err), 0);
    ck_assert_int_eq(rsim_run_ticks(s, 3), 0);
    ck_assert_int_eq(rsim_add_learner(s, l, 5, &err), 0);
    ck_assert_int_eq(rsim_run_ticks(s, 10), 0);
    ck_assert_uint_eq(rsim_applied(s, 4), status(rsim_raft(s, l)).commit);
    ck_assert_uint_eq(rsim_applied(s, 5), status(rsim_raft(s, l)).commit);
    /* Acks: the leader and two learners would be 3 of 5, but only the
     * leader is a voter among them. */
    f = other_than(s, l, 4); /* the two voters besides the leader */
    g = other_than(s, l, f);
    rsim_isolate(s, f);
    rsim_isolate(s, g);
    for (k = 4; k <= 5; k++) {
        rsim_link(s, l, k, 1);
        rsim_link(s, k, l, 1);
    }
    propose(s, l);
    idx = last_index(s, l);
    ck_assert_int_eq(rsim_run_ticks(s, 5), 0);
    ck_assert_uint_eq(rsim_disk_term(s, 4, idx), status(rsim_raft(s, l)).term);
    ck_assert_uint_eq(rsim_disk_term(s, 5, idx), status(rsim_raft(s, l)).term);
    ck_assert_uint_lt(status(rsim_raft(s, l)).commit, idx);
    /* Campaigns: the learner alone, for a long time. */
    rsim_isolate(s, 4);
    for (t = 0; t < 200; t++) {
        ck_assert_int_eq(rsim_run_ticks(s, 1), 0);
        ck_assert_int_eq(status(rsim_raft(s, 4)).role, RAFT_FOLLOWER);
    }
    /* Votes: a learner's grant does not elect a pre-candidate. */
    rsim_heal(s);
    rsim_isolate(s, f);
    rsim_link(s, f, 4, 1);
    rsim_link(s, 4, f, 1);
    for (t = 0; t < 100 && status(rsim_raft(s, f)).role != RAFT_PRECANDIDATE; t++)
        ck_assert_int_eq(rsim_run_ticks(s, 1), 0);
    ck_assert_int_eq(status(rsim_raft(s, f)).role, RAFT_PRECANDIDATE);
    grant.from = 4;
    grant.to = f;
    grant.term = status(rsim_raft(s, f)).term + 1;
    grant.type = RAFT_MSG_PREVOTE_RESP;
    ck_assert_int_eq(rsim_inject(s, &grant), 0);
    ck_assert_int_eq(status(rsim_raft(s, f)).role, RAFT_PRECANDIDATE);
    cluster_ok(s);
    rsim_free(s);
}
END_TEST

/* §4.1: one change at a time; a learner joins only once caught up. */
START_TEST(membership_changes_one_at_a_time)
{
    struct rsim *s = cluster(3, 2, 0);
    struct sk_err err;
    uint64_t l;

    l = leader_of(s);
    ck_assert_int_eq(rsim_run_ticks(s, 3), 0);
    rsim_isolate(s, 5);
    ck_assert_int_eq(rsim_add_learner(s, l, 5, &err), 0);
    ck_assert_int_eq(rsim_add_learner(s, l, 4, &err), -EBUSY);
    ck_assert_int_eq(rsim_run_ticks(s, 3), 0);
    ck_assert_int_eq(rsim_promote(s, l, 5, &err), -EBUSY); /* not caught up */
    ck_assert_int_eq(rsim_add_learner(s, l, 4, &err), 0);
    ck_assert_int_eq(rsim_run_ticks(s, 5), 0);
    ck_assert_int_eq(rsim_promote(s, l, 4, &err), 0);
    ck_assert_int_eq(rsim_run_ticks(s, 3), 0);
    ck_assert_uint_eq(role_in_conf(rsim_raft(s, l), 4), RAFT_VOTER);
    ck_assert_int_eq(rsim_remove(s, l, 99, &err), -EINVAL);
    ck_assert_int_eq(rsim_add_learner(s, other_than(s, l, 0), 6, &err), -RAFT_ENOTLEADER);
    cluster_ok(s);
    rsim_free(s);
}
END_TEST

START_TEST(follower_refuses_proposals_and_reads_naming_the_leader)
{
    struct rsim *s = cluster(3, 0, 0);
    struct raft_ticket t;
    struct sk_err err;
    uint64_t l, f;

    l = leader_of(s);
    ck_assert_int_eq(rsim_run_ticks(s, 2), 0);
    f = other_than(s, l, 0);
    ck_assert_int_eq(raft_propose(rsim_raft(s, f), "x", 1, &t, &err), -RAFT_ENOTLEADER);
    ck_assert_uint_eq(t.leader, l);
    ck_assert_int_eq(raft_read_index(rsim_raft(s, f), 1, &t, &err), -RAFT_ENOTLEADER);
    ck_assert_uint_eq(t.leader, l);
    rsim_free(s);
}
END_TEST

/* §6.4: a new leader answers reads only once it has committed an entry
 * of its term, and only after a quorum confirmed its leadership. */
START_TEST(read_index_waits_for_commit_in_term_and_quorum)
{
    struct rsim *s = cluster(3, 0, 0);
    struct filter f = {0};
    struct sk_err err;
    uint64_t l, l2;

    l = leader_of(s);
    ck_assert_int_eq(rsim_run_ticks(s, 3), 0);
    ck_assert_int_eq(rsim_read(s, l, &err), 0);
    ck_assert_int_eq(rsim_run_ticks(s, 2), 0);
    ck_assert_uint_eq(rsim_stats(s)->reads_ok, 1);
    /* A new leader whose no-op cannot commit yet. */
    rsim_set_filter(s, filter_fn, &f);
    f.drop_append_resp = 1;
    rsim_crash(s, l);
    l2 = leader_of(s);
    ck_assert_int_eq(rsim_read(s, l2, &err), 0);
    ck_assert_int_eq(rsim_run_ticks(s, 5), 0);
    ck_assert_uint_eq(rsim_stats(s)->reads_ok, 1);
    f.drop_append_resp = 0;
    ck_assert_int_eq(rsim_run_ticks(s, 5), 0);
    ck_assert_uint_eq(rsim_stats(s)->reads_ok, 2);
    /* Without a quorum the read never completes; losing office fails it. */
    rsim_isolate(s, l2);
    ck_assert_int_eq(rsim_read(s, l2, &err), 0);
    ck_assert_int_eq(rsim_run_ticks(s, 30), 0);
    ck_assert_uint_eq(rsim_stats(s)->reads_ok, 2);
    ck_assert_uint_eq(rsim_stats(s)->reads_failed, 1);
    cluster_ok(s);
    rsim_free(s);
}
END_TEST

/* §3.5: a follower with a long divergent suffix is repaired in a few
 * round trips, not one per entry. */
START_TEST(divergent_follower_is_repaired_in_few_round_trips)
{
    struct rsim *s = cluster(3, 0, 0);
    struct filter f = {0};
    uint64_t l, l2, i;

    rsim_set_filter(s, filter_fn, &f);
    l = leader_of(s);
    ck_assert_int_eq(rsim_run_ticks(s, 3), 0);
    rsim_isolate(s, l);
    for (i = 0; i < 40; i++)
        propose(s, l); /* never committed */
    l2 = leader_besides(s, l);
    ck_assert_uint_ne(l2, l);
    for (i = 0; i < 5; i++)
        propose(s, l2);
    ck_assert_int_eq(rsim_run_ticks(s, 3), 0);
    f.count_rejects_from = l;
    rsim_heal(s);
    ck_assert_int_eq(rsim_run_ticks(s, 20), 0);
    ck_assert_uint_eq(last_index(s, l), last_index(s, l2));
    ck_assert_uint_le(f.rejects, 3);
    cluster_ok(s);
    rsim_free(s);
}
END_TEST

/* Batching and pipelining: many proposals go out in one APPEND, and a
 * follower that stops acking has at most max_inflight APPENDs in flight. */
START_TEST(appends_are_batched_and_pipelined_within_the_window)
{
    struct rsim_config cfg;
    struct filter f = {0};
    struct rsim *s;
    uint64_t l, p, i;

    rsim_config_default(&cfg);
    cfg.max_inflight = 2;
    cfg.max_msg_bytes = 4096;
    cfg.heartbeat_ticks = 5;
    s = rsim_new(3, &cfg);
    rsim_set_filter(s, filter_fn, &f);
    l = leader_of(s);
    ck_assert_int_eq(rsim_run_ticks(s, 6), 0);
    p = other_than(s, l, 0);
    f.watch_to = p;
    for (i = 0; i < 20; i++)
        propose(s, l);
    ck_assert_int_eq(rsim_run_ticks(s, 1), 0);
    /* The first two fill the window; the other 18 wait and go together. */
    ck_assert_uint_le(f.appends_seen, 3);
    ck_assert_uint_ge(f.max_batch, 18);
    /* Now p's answers are lost: one APPEND per proposal, at most 2. */
    ck_assert_int_eq(rsim_run_ticks(s, 3), 0);
    f.mute_acks_of = p;
    f.appends_seen = 0;
    for (i = 0; i < 10; i++)
        propose(s, l); /* each goes out at once, in its own APPEND */
    ck_assert_int_eq(rsim_run_ticks(s, 1), 0);
    ck_assert_uint_eq(f.appends_seen, 2);
    f.mute_acks_of = 0;
    ck_assert_int_eq(rsim_run_ticks(s, 20), 0);
    ck_assert_uint_eq(rsim_applied(s, p), status(rsim_raft(s, l)).commit);
    cluster_ok(s);
    rsim_free(s);
}
END_TEST

START_TEST(single_voter_elects_itself_and_commits)
{
    struct raft_conf c = conf_of(1);
    struct mnode m = {0};
    struct raft_ticket t;
    struct sk_err err;
    unsigned i;

    mn_start(&m, 1, &c);
    for (i = 0; i < 30 && status(m.r).role != RAFT_LEADER; i++) {
        raft_tick(m.r);
        mn_flush(&m);
    }
    ck_assert_int_eq(status(m.r).role, RAFT_LEADER);
    ck_assert_int_eq(raft_propose(m.r, "abc", 3, &t, &err), 0);
    mn_flush(&m);
    ck_assert_uint_eq(status(m.r).commit, t.index);
    ck_assert_uint_eq(status(m.r).applied, t.index);
    mn_free(&m);
}
END_TEST

/* Nothing from the network is trusted. */
START_TEST(malformed_messages_are_rejected_and_change_nothing)
{
    struct raft_entry gap = {.term = 1, .index = 9, .type = RAFT_ENTRY_NOOP};
    struct raft_entry bad_type = {.term = 1, .index = 2, .type = 9};
    struct raft_entry future = {.term = 9, .index = 2, .type = RAFT_ENTRY_NOOP};
    const struct {
        const char *what;
        struct raft_msg m;
    } cases[] = {
        {"unknown type", {.type = 99, .from = 2, .to = 1, .term = 5}},
        {"from nobody", {.type = RAFT_MSG_HEARTBEAT, .from = 0, .to = 1, .term = 5}},
        {"from itself", {.type = RAFT_MSG_HEARTBEAT, .from = 1, .to = 1, .term = 5}},
        {"to another node", {.type = RAFT_MSG_HEARTBEAT, .from = 2, .to = 3, .term = 5}},
        {"term 0", {.type = RAFT_MSG_HEARTBEAT, .from = 2, .to = 1, .term = 0}},
        {"entries missing",
         {.type = RAFT_MSG_APPEND, .from = 2, .to = 1, .term = 5, .index = 1, .n_entries = 3}},
        {"entry index gap",
         {.type = RAFT_MSG_APPEND,
          .from = 2,
          .to = 1,
          .term = 5,
          .index = 1,
          .n_entries = 1,
          .entries = &gap}},
        {"entry type unknown",
         {.type = RAFT_MSG_APPEND,
          .from = 2,
          .to = 1,
          .term = 5,
          .index = 1,
          .n_entries = 1,
          .entries = &bad_type}},
        {"entry from the future",
         {.type = RAFT_MSG_APPEND,
          .from = 2,
          .to = 1,
          .term = 5,
          .index = 1,
          .n_entries = 1,
          .entries = &future}},
        {"entries on a vote",
         {.type = RAFT_MSG_VOTE, .from = 2, .to = 1, .term = 5, .n_entries = 1, .entries = &gap}},
        {"snapshot without index", {.type = RAFT_MSG_SNAPSHOT, .from = 2, .to = 1, .term = 5}},
    };
    struct raft_conf c = conf_of(3);
    struct raft_msg bad_conf = {.type = RAFT_MSG_SNAPSHOT, .from = 2, .to = 1, .term = 5};
    struct mnode m = {0};
    struct sk_err err;
    size_t i;

    mn_start(&m, 1, &c);
    mn_flush(&m);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_msg(raft_step(m.r, &cases[i].m, &err) == -EINVAL, "%s accepted", cases[i].what);
        ck_assert_uint_eq(status(m.r).term, 1);
        ck_assert(!raft_has_ready(m.r));
    }
    bad_conf.snapshot.index = 4;
    bad_conf.snapshot.term = 2;
    bad_conf.snapshot.conf.n = 2;
    bad_conf.snapshot.conf.servers[0] = (struct raft_server){2, RAFT_VOTER};
    bad_conf.snapshot.conf.servers[1] = (struct raft_server){2, RAFT_LEARNER};
    ck_assert_int_eq(raft_step(m.r, &bad_conf, &err), -EINVAL);
    ck_assert(strstr(err.msg, "listed twice") != NULL);
    mn_free(&m);
}
END_TEST

START_TEST(configuration_encoding_round_trips_and_rejects_garbage)
{
    struct raft_conf c = conf_of(3), d;
    uint8_t buf[RAFT_CONF_MAX_LEN];
    struct sk_err err;
    size_t len;
    const struct {
        const char *what;
        const uint8_t *data;
        size_t len;
    } bad[] = {
        {"empty", buf, 0},
        {"wrong version", (const uint8_t *)"\x02\x00", 2},
        {"truncated", buf, 10},
        {"zero id", (const uint8_t *)"\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x01", 11},
        {"unknown role", (const uint8_t *)"\x01\x01\x05\x00\x00\x00\x00\x00\x00\x00\x07", 11},
        {"too many", (const uint8_t *)"\x01\x11", 2},
    };
    size_t i;

    c.servers[c.n++] = (struct raft_server){0x0102030405060708ull, RAFT_LEARNER};
    len = raft_conf_encode(&c, buf);
    ck_assert_uint_eq(len, 2 + 4 * 9);
    ck_assert_int_eq(raft_conf_decode(buf, len, &d, &err), 0);
    ck_assert_int_eq(memcmp(&c, &d, sizeof(c)), 0);
    ck_assert_uint_eq(raft_conf_role(&d, 0x0102030405060708ull), RAFT_LEARNER);
    ck_assert_uint_eq(raft_conf_role(&d, 9), 0);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(raft_conf_decode(bad[i].data, bad[i].len, &d, &err) == -EINVAL, "%s accepted",
                      bad[i].what);
}
END_TEST

START_TEST(bad_node_configuration_is_refused)
{
    struct mnode m = {0};
    struct raft_config cfg = {0};
    struct raft_conf c = conf_of(3), notme = conf_of(3);
    struct raft *r;
    struct sk_err err;

    m.first = 1;
    m.st = (struct raft_storage){&m, mn_first, mn_last, mn_term, mn_entries, mn_snapshot};
    ck_assert_int_eq(raft_new(&cfg, &m.st, NULL, &r, &err), -EINVAL);
    cfg.id = 1;
    cfg.election_ticks = 5;
    cfg.heartbeat_ticks = 5;
    ck_assert_int_eq(raft_new(&cfg, &m.st, NULL, &r, &err), -EINVAL);
    cfg.heartbeat_ticks = 1;
    cfg.id = 4;
    cfg.bootstrap = &notme;
    ck_assert_int_eq(raft_new(&cfg, &m.st, NULL, &r, &err), -EINVAL);
    ck_assert(strstr(err.msg, "lacks node 4") != NULL);
    cfg.id = 1;
    cfg.bootstrap = &c;
    cfg.applied = 5;
    ck_assert_int_eq(raft_new(&cfg, &m.st, NULL, &r, &err), -EINVAL);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("raft");
    TCase *safety = tcase_create("safety");
    TCase *election = tcase_create("election");
    TCase *replication = tcase_create("replication");
    TCase *membership = tcase_create("membership");
    TCase *input = tcase_create("input");

    tcase_add_test(safety, leader_does_not_commit_previous_term_entry_by_counting);
    tcase_add_test(safety, vote_grant_is_held_until_the_vote_is_stored);
    tcase_add_test(safety, append_ack_is_held_until_the_entries_are_stored);
    tcase_add_test(safety, leader_does_not_count_entries_it_has_not_stored);
    tcase_add_test(safety, node_restarted_with_entries_newer_than_its_term_adopts_their_term);
    tcase_add_test(safety, late_append_after_snapshot_install_changes_nothing);
    tcase_add_test(election, prevote_changes_neither_term_nor_vote);
    tcase_add_test(election, node_votes_once_per_term);
    tcase_add_test(election, restarted_node_with_stale_term_catches_up_without_disruption);
    tcase_add_test(election, isolated_leader_steps_down_within_two_election_timeouts);
    tcase_add_test(election, partitioned_node_rejoining_does_not_disrupt_stable_leader);
    tcase_add_test(election, follower_in_lease_ignores_higher_term_vote_request);
    tcase_add_test(election, leadership_transfer_completes_even_to_a_lagging_follower);
    tcase_add_test(election, single_voter_elects_itself_and_commits);
    tcase_add_test(replication, follower_behind_compaction_point_catches_up_by_snapshot);
    tcase_add_test(replication, follower_refuses_proposals_and_reads_naming_the_leader);
    tcase_add_test(replication, read_index_waits_for_commit_in_term_and_quorum);
    tcase_add_test(replication, divergent_follower_is_repaired_in_few_round_trips);
    tcase_add_test(replication, appends_are_batched_and_pipelined_within_the_window);
    tcase_add_test(replication, leader_status_reports_progress_of_every_server);
    tcase_add_test(membership, leader_removing_itself_steps_down_and_cluster_carries_on);
    tcase_add_test(membership, learner_never_campaigns_nor_counts);
    tcase_add_test(membership, membership_changes_one_at_a_time);
    tcase_add_test(input, malformed_messages_are_rejected_and_change_nothing);
    tcase_add_test(input, configuration_encoding_round_trips_and_rejects_garbage);
    tcase_add_test(input, bad_node_configuration_is_refused);
    suite_add_tcase(s, safety);
    suite_add_tcase(s, election);
    suite_add_tcase(s, replication);
    suite_add_tcase(s, membership);
    suite_add_tcase(s, input);
    return unit_main(s);
}
