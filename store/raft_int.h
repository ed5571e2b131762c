#ifndef SK_STORE_RAFT_INT_H
#define SK_STORE_RAFT_INT_H

/* Private to the Raft core (store/raft*.c). See raft.h for the contract
 * with the driver; this header states the invariants of the internals. */

#include "store/raft.h"

/* ---- raft_log.c: the log as the core sees it ----
 *
 * The log is the stored part (read through struct raft_storage) followed
 * by the unstable part: entries (and possibly a snapshot) that were
 * appended or received but not yet confirmed durable by raft_advance().
 *
 * Invariants:
 *   - ents[k].index == offset + k; when n == 0, offset == last index + 1.
 *   - offset <= storage last index + 1 (no gap after the stored log);
 *     stored entries >= offset may be stale and are shadowed by ents.
 *   - offset <= in_progress <= offset + n: entries below in_progress were
 *     handed to the driver in the outstanding ready.
 *   - with has_snap, offset == snap.index + 1 and nothing below it is
 *     readable (the stored log is about to be replaced).
 *   - applied <= committed; committed entries are never truncated. */
struct raft_unstable {
    struct raft_entry *ents;
    size_t n, cap;
    uint64_t offset;
    uint64_t in_progress;
    int has_snap, snap_in_progress;
    struct raft_snapshot_meta snap;
    /* Payloads dropped while a ready that may point at them is out;
     * freed at raft_advance(). */
    void **grave;
    size_t n_grave, cap_grave;
    int handed; /* a ready holding pointers into ents is outstanding */
};

struct raft_log {
    const struct raft_storage *st;
    struct raft_unstable u;
    uint64_t committed, applied;
};

#define RAFT_LOG_MAX_BATCH 4096 /* entries read at once */

enum {
    RAFT_LOG_COMPACTED = -1,   /* index is behind the first available */
    RAFT_LOG_UNAVAILABLE = -2, /* index is past the last entry */
};

void raft_log_init(struct raft_log *l, const struct raft_storage *st);
void raft_log_release(struct raft_log *l);
uint64_t raft_log_first_index(const struct raft_log *l);
uint64_t raft_log_last_index(const struct raft_log *l);
int raft_log_term(const struct raft_log *l, uint64_t index, uint64_t *term);
uint64_t raft_log_term_or0(const struct raft_log *l, uint64_t index);
uint64_t raft_log_last_term(const struct raft_log *l);
int raft_log_match_term(const struct raft_log *l, uint64_t index, uint64_t term);
int raft_log_up_to_date(const struct raft_log *l, uint64_t index, uint64_t term);
uint64_t raft_log_stable_last(const struct raft_log *l);
uint64_t raft_log_find_conflict(const struct raft_log *l, const struct raft_entry *ents, size_t n);
uint64_t raft_log_conflict_hint(const struct raft_log *l, uint64_t index, uint64_t term,
                                uint64_t *hint_term);
void raft_log_append(struct raft_log *l, const struct raft_entry *ents, size_t n);
int raft_log_entries(const struct raft_log *l, uint64_t lo, uint64_t hi, uint64_t max_bytes,
                     struct raft_entry **out, size_t *n, struct sk_err *err);
void raft_log_commit_to(struct raft_log *l, uint64_t index);
void raft_log_restore(struct raft_log *l, const struct raft_snapshot_meta *meta);
size_t raft_log_take_unstable(struct raft_log *l, struct raft_entry **ents);
void raft_log_stable_to(struct raft_log *l, uint64_t index, uint64_t term);
void raft_log_stable_snap_to(struct raft_log *l, uint64_t index);
void raft_log_bury(struct raft_log *l);

void raft_entry_copy(struct raft_entry *dst, const struct raft_entry *src);
void raft_entries_free(struct raft_entry *ents, size_t n);

/* ---- progress of one peer, tracked by the leader (raft_replication.c) ----
 *
 * PROBE: next is a guess; one APPEND at a time (probe_sent) until an ack.
 * REPLICATE: next is optimistic, up to max_inflight APPENDs in flight
 * (pipelining); a reject sends the peer back to PROBE.
 * SNAPSHOT: a snapshot up to pending_snapshot was sent; nothing else is
 * sent until it is acked, reported, or snapshot_ticks pass.
 * Invariant: match < next; match only grows within a term. */
enum raft_pr_state {
    RAFT_PR_PROBE = 0,
    RAFT_PR_REPLICATE,
    RAFT_PR_SNAPSHOT,
};

struct raft_inflights {
    uint64_t *last; /* ring of the last index of each APPEND in flight */
    uint32_t start, count, cap;
};

struct raft_progress {
    uint64_t id;
    uint8_t role; /* enum raft_server_role */
    uint8_t state;
    uint8_t probe_sent;
    uint8_t recent_active; /* heard from since the last CheckQuorum */
    uint8_t was_active;    /* heard from in the round before (status) */
    uint64_t match, next;
    uint64_t pending_snapshot;
    uint32_t snapshot_elapsed;
    uint64_t read_ack; /* highest ReadIndex round acked */
    struct raft_inflights inflight;
};

struct raft_conf_hist {
    uint64_t index; /* index of the CONF entry (or snapshot) it came from */
    struct raft_conf conf;
};

struct raft_held {
    uint64_t wait; /* release once persisted_seq >= wait */
    struct raft_msg m;
};

struct raft_read_req {
    uint64_t ctx, index;
    uint64_t round; /* heartbeat round that must be acked; 0: not started */
};

struct raft_vote {
    uint64_t id;
    uint8_t granted;
};

struct raft {
    struct raft_config cfg;
    uint64_t id;
    struct raft_log log;

    /* Persistent state (Figure 3.1) */
    uint64_t term, vote;

    uint8_t role;
    uint64_t leader;

    /* Membership (raft_membership.c): confs[0] is the latest committed
     * configuration, confs[1..] the uncommitted ones in log order; the
     * node always uses the last one (§4.1). */
    struct raft_conf_hist *confs;
    size_t n_confs, cap_confs;

    /* Leader: one progress per server of the configuration. */
    struct raft_progress *prs;
    size_t n_prs;
    int bcast_append; /* new entries or commit to send at the next ready */

    /* Election (raft_election.c) */
    struct raft_vote votes[RAFT_CONF_MAX];
    uint32_t n_votes;
    uint32_t election_elapsed, heartbeat_elapsed, timeout;
    uint64_t prng;

    /* Leadership transfer (raft_election.c, §3.10) */
    uint64_t transferee;
    uint32_t transfer_elapsed;

    /* ReadIndex (raft_read.c, §6.4) */
    struct raft_read_req *reads;
    size_t n_reads, cap_reads;
    uint64_t read_round;
    int read_round_wanted;
    struct raft_read *read_out;
    size_t n_read_out, cap_read_out;

    /* Output (raft.c). Messages whose meaning depends on state not yet
     * durable wait in held until the ready carrying that state is
     * advanced: hs_wait / log_wait are the seq of the ready that carries
     * the latest term/vote change / log change. */
    struct raft_msg *out;
    size_t n_out, cap_out;
    struct raft_held *held;
    size_t n_held, cap_held;
    uint64_t ready_seq, persisted_seq, hs_wait, log_wait;
    struct raft_hard_state hs_sent;
    struct raft_soft_state soft_sent;
    int ready_out;
    struct raft_ready rd; /* the outstanding ready's memory */
};

/* ---- raft.c ---- */
enum raft_dep {
    RAFT_DEP_HS = 1,  /* carries our term: needs term/vote durable */
    RAFT_DEP_LOG = 2, /* acknowledges our log: needs it durable too */
};
/* Queue m for sending; takes ownership of m->entries. */
void raft_send(struct raft *r, struct raft_msg *m, int deps);
void raft_set_term(struct raft *r, uint64_t term);
void raft_set_vote(struct raft *r, uint64_t vote);
void raft_append(struct raft *r, const struct raft_entry *ents, size_t n);
int raft_committed_in_term(const struct raft *r);
uint64_t raft_rand(struct raft *r);

/* ---- raft_election.c ---- */
void raft_become_follower(struct raft *r, uint64_t term, uint64_t leader);
void raft_campaign(struct raft *r, int pre, int transfer);
void raft_tick_election(struct raft *r);
void raft_tick_leader(struct raft *r);
int raft_in_lease(const struct raft *r);
void raft_handle_vote(struct raft *r, const struct raft_msg *m);
void raft_handle_vote_resp(struct raft *r, const struct raft_msg *m);
void raft_handle_timeout_now(struct raft *r, const struct raft_msg *m);
void raft_transfer_check(struct raft *r, struct raft_progress *pr);
void raft_transfer_abort(struct raft *r);

/* ---- raft_replication.c ---- */
void raft_progress_reset(struct raft *r, struct raft_progress *pr, uint64_t id, uint8_t role);
void raft_progress_release(struct raft_progress *pr);
struct raft_progress *raft_progress_get(struct raft *r, uint64_t id);
void raft_progress_probe(struct raft_progress *pr);
void raft_progress_replicate(struct raft_progress *pr);
void raft_progress_snapshot(struct raft_progress *pr, uint64_t index);
int raft_send_append(struct raft *r, struct raft_progress *pr, int allow_empty);
void raft_flush_appends(struct raft *r);
void raft_bcast_heartbeat(struct raft *r);
int raft_maybe_commit(struct raft *r);
void raft_commit_advanced(struct raft *r);
void raft_self_progress(struct raft *r);
void raft_handle_append(struct raft *r, const struct raft_msg *m);
void raft_handle_append_resp(struct raft *r, const struct raft_msg *m);
void raft_handle_heartbeat(struct raft *r, const struct raft_msg *m);
void raft_handle_heartbeat_resp(struct raft *r, const struct raft_msg *m);
uint64_t raft_quorum_index(struct raft *r,
                           uint64_t (*value)(const struct raft *r, const struct raft_progress *pr));

/* ---- raft_compaction.c ---- */
int raft_send_snapshot(struct raft *r, struct raft_progress *pr);
void raft_handle_snapshot(struct raft *r, const struct raft_msg *m);
void raft_tick_snapshots(struct raft *r);

/* ---- raft_membership.c ---- */
const struct raft_conf *raft_conf_cur(const struct raft *r);
uint64_t raft_conf_index(const struct raft *r);
int raft_is_voter(const struct raft *r, uint64_t id);
int raft_promotable(const struct raft *r);
uint32_t raft_voter_count(const struct raft *r);
int raft_conf_validate(const struct raft_conf *conf, struct sk_err *err);
void raft_conf_reset(struct raft *r, const struct raft_conf *conf, uint64_t index);
void raft_conf_appended(struct raft *r, const struct raft_entry *e);
void raft_conf_truncated(struct raft *r, uint64_t from);
void raft_conf_committed(struct raft *r);
int raft_conf_load(struct raft *r, struct sk_err *err);
void raft_progress_sync(struct raft *r);

/* ---- raft_read.c ---- */
void raft_reads_fail_all(struct raft *r);
void raft_reads_start(struct raft *r);
void raft_reads_ack(struct raft *r);
void raft_read_out(struct raft *r, uint64_t ctx, uint64_t index);

#endif
