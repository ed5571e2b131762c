#ifndef SK_STORE_RAFT_H
#define SK_STORE_RAFT_H

/* The consensus core of skiff's store: Raft as in the extended paper
 * (Ongaro & Ousterhout 2014, "the paper") and Ongaro's thesis (2014,
 * "the thesis"). Section numbers below are the thesis' unless noted.
 *
 * The core does no I/O and reads no clock. A driver feeds it events:
 *
 *     raft_tick()      logical time (election timeout, heartbeats)
 *     raft_step()      a message received from a peer
 *     raft_propose(), raft_read_index(), raft_transfer_leadership(),
 *     raft_add_learner(), raft_promote(), raft_remove(),
 *     raft_snapshot_taken(), raft_report_*()
 *
 * and collects what to do with raft_ready(), then acknowledges it with
 * raft_advance(). The core reads stored log entries through struct
 * raft_storage (read-only; the driver writes storage while handling a
 * ready). It keeps in memory only the entries not yet stored ("unstable")
 * plus bookkeeping; a driver can therefore keep a huge log on disk.
 *
 * THE READY CONTRACT
 *
 * At most one ready is outstanding: raft_ready() may be called again only
 * after raft_advance() for the previous one. While a ready is outstanding
 * every other input (tick, step, propose, ...) may still be called; this
 * is how a driver overlaps disk writes with network traffic.
 *
 * For each ready rd the driver does, in this order where order matters:
 *
 *   1. rd->msgs: send them. They may be sent AT ONCE, before, during or
 *      after the writes of step 2: the core never puts in rd->msgs a
 *      message whose meaning depends on state that is not yet durable
 *      (a vote grant before the vote is stored, an AppendEntries ack
 *      before the entries are stored, anything carrying a term that is
 *      not stored yet). Such messages are held inside the core and
 *      released in a later ready, after the raft_advance() that confirmed
 *      the state they depend on. Messages may be lost, duplicated or
 *      reordered by the transport; the core copes.
 *   2. Make durable (fsync), in this order:
 *      a. rd->snapshot if rd->has_snapshot: install it (replace the state
 *         machine with it and discard the whole log; afterwards
 *         storage->first_index() == snapshot.index + 1 and
 *         storage->term(snapshot.index) == snapshot.term);
 *      b. if rd->truncate_from != 0: delete stored entries with index
 *         >= truncate_from; then append rd->entries (contiguous indexes);
 *      c. if rd->hs_changed: store rd->hs (term and vote must be durable;
 *         hs.commit may be stored lazily, see raft_new()).
 *      A crash in the middle of step 2 is safe provided a, b, c become
 *      durable in that order (a prefix of rd->entries may survive).
 *   3. rd->committed: apply them to the state machine in order (they are
 *      all durable locally and committed). CONF entries need no action
 *      from the state machine; raft_conf_decode() tells the new members.
 *      As they were made durable by earlier readies (never by this one),
 *      they may also be applied, and their clients answered, before the
 *      writes of step 2b and 2c (but after an install of step 2a).
 *   4. rd->reads: each is a ReadIndex result; serve the read with that
 *      ctx once the applied index reaches read.index (index 0: failed,
 *      the node lost leadership; retry elsewhere).
 *   5. rd->soft_changed: role or leader changed (run or stop the
 *      controllers, redirect clients).
 *   6. raft_advance(r, rd): tells the core that 2 and 3 are done. If the
 *      driver cannot make step 2 durable (disk error) it must NOT call
 *      raft_advance(): it must stop the node (raft_free() without
 *      advance) and restart it from what is on disk.
 *
 * All memory referenced by rd is owned by the core and valid until
 * raft_advance() (or raft_free()). After raft_advance(), messages that
 * were waiting for this ready are released: check raft_has_ready().
 *
 * Storage may change while a ready is outstanding, but only by that
 * ready's writes (and by compaction after raft_snapshot_taken()); the
 * core copes with seeing them done or not. Each storage call must see a
 * consistent state: a driver writing from another thread locks.
 *
 * The core is not thread-safe: call it from one thread (the driver's
 * event loop). It never blocks and never fails for lack of memory
 * (lib/alloc.h aborts).
 *
 * Membership: when the driver applies a CONF entry that no longer lists
 * this node, the node has been removed; it may be stopped (a removed
 * leader hands over by itself first, §4.2.2).
 *
 * Errors follow lib/err.h: negative errno-style return, message in err.
 * Codes the driver acts on:
 *     RAFT_ENOTLEADER  this node is not the leader; ticket.leader names
 *                      the known leader (0 if unknown) for a redirect
 *     EBUSY            leadership transfer or configuration change in
 *                      progress, or leader not ready yet; retry later
 *     EINVAL           bad argument or malformed message (dropped)
 *
 * Node ids are nonzero 64-bit numbers; 0 (RAFT_NONE) means "nobody". */

#include "lib/err.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#define RAFT_NONE         0
#define RAFT_ENOTLEADER   EREMOTE
#define RAFT_CONF_MAX     16 /* servers (voters + learners) in one cluster */
#define RAFT_CONF_MAX_LEN (2 + RAFT_CONF_MAX * 9)

enum raft_entry_type {
    RAFT_ENTRY_NORMAL = 1, /* state machine command */
    RAFT_ENTRY_NOOP = 2,   /* appended by each new leader (§3.6.2, paper §8) */
    RAFT_ENTRY_CONF = 3,   /* new configuration, raft_conf_encode() */
};

struct raft_entry {
    uint64_t term, index;
    uint8_t type; /* enum raft_entry_type */
    uint32_t len;
    void *data; /* len bytes; malloc'd when owned by the core */
};

enum raft_role {
    RAFT_FOLLOWER = 1,
    RAFT_PRECANDIDATE, /* running a PreVote round (§9.6) */
    RAFT_CANDIDATE,
    RAFT_LEADER,
};

enum raft_server_role {
    RAFT_VOTER = 1,
    RAFT_LEARNER = 2, /* receives the log, never counted in a quorum (§4.2.1) */
};

struct raft_server {
    uint64_t id;
    uint8_t role; /* enum raft_server_role */
};

/* A configuration: the full member list (§4.1). Addresses are not part
 * of it: the driver keeps id -> address itself (e.g. in the store). */
struct raft_conf {
    uint32_t n;
    struct raft_server servers[RAFT_CONF_MAX];
};

struct raft_hard_state {
    uint64_t term; /* currentTerm (Figure 3.1) */
    uint64_t vote; /* votedFor in term, or RAFT_NONE */
    uint64_t commit;
};

struct raft_snapshot_meta {
    uint64_t index, term;  /* last entry the snapshot covers; index 0: none */
    struct raft_conf conf; /* configuration as of index */
    uint64_t handle;       /* opaque to the core: names the data locally */
};

enum raft_msg_type {
    RAFT_MSG_APPEND = 1,   /* AppendEntries (§3.5) */
    RAFT_MSG_APPEND_RESP,  /* ack or reject of APPEND or SNAPSHOT */
    RAFT_MSG_VOTE,         /* RequestVote (§3.4) */
    RAFT_MSG_VOTE_RESP,    /* */
    RAFT_MSG_PREVOTE,      /* PreVote (§9.6): would you vote for me? */
    RAFT_MSG_PREVOTE_RESP, /* */
    RAFT_MSG_HEARTBEAT,    /* empty AppendEntries, carries a ReadIndex round */
    RAFT_MSG_HEARTBEAT_RESP,
    RAFT_MSG_SNAPSHOT,    /* InstallSnapshot (§5.3), one logical message */
    RAFT_MSG_TIMEOUT_NOW, /* leadership transfer: campaign now (§3.10) */
};

/* One message. Fields not listed for a type are 0.
 *
 *  APPEND        index, log_term: entry preceding entries[0] (prevLogIndex,
 *                prevLogTerm); entries; commit: leader commit
 *  APPEND_RESP   ok: index = last index known to match the leader's log;
 *                reject: index = the rejected prev index, hint = largest
 *                index that may match, log_term = its term (or 0)
 *  VOTE, PREVOTE index, log_term: candidate's last entry; transfer: set
 *                when forced by TIMEOUT_NOW (bypasses leader stickiness).
 *                PREVOTE carries the term the sender would campaign in.
 *  *VOTE_RESP    reject
 *  HEARTBEAT     commit (at most what the follower is known to have);
 *                ctx: ReadIndex round, echoed in HEARTBEAT_RESP
 *  SNAPSHOT      snapshot (metadata; the driver ships the data it names)
 *
 * The driver serializes these as it likes; raft_step() validates what it
 * is given (a malformed message is dropped with EINVAL). */
struct raft_msg {
    uint8_t type; /* enum raft_msg_type */
    uint8_t reject;
    uint8_t transfer;
    uint64_t from, to, term;
    uint64_t index, log_term, commit;
    uint64_t hint;
    uint64_t ctx;
    uint32_t n_entries;
    struct raft_entry *entries;
    struct raft_snapshot_meta snapshot;
};

/* Read-only view of the stored log (like etcd's raft.Storage). The
 * stored log holds entries [first_index(), last_index()], possibly empty
 * (last_index() == first_index() - 1), behind an optional snapshot. */
struct raft_storage {
    void *ud;
    /* Index of the first stored entry (1 when nothing was compacted). */
    uint64_t (*first_index)(void *ud);
    /* Index of the last stored entry (first_index() - 1 when empty). */
    uint64_t (*last_index)(void *ud);
    /* Term of entry index; only called for first_index() - 1 <= index <=
     * last_index(), and must then succeed (keep terms in memory). For
     * first_index() - 1 it is the term of the compaction point (0 if
     * nothing was ever compacted). */
    uint64_t (*term)(void *ud, uint64_t index);
    /* Copy entries [lo, hi) into out (room for hi - lo): at least one,
     * then more while their total payload stays <= max_bytes. Each
     * out[i].data is malloc'd and becomes the core's. Returns the count
     * or a negative error. Only called with first_index() <= lo < hi <=
     * last_index() + 1. */
    int (*entries)(void *ud, uint64_t lo, uint64_t hi, uint64_t max_bytes, struct raft_entry *out,
                   struct sk_err *err);
    /* Metadata of the latest snapshot (index 0 if none). A negative
     * return means "not available now" (the core retries later). */
    int (*snapshot)(void *ud, struct raft_snapshot_meta *meta, struct sk_err *err);
};

struct raft_config {
    uint64_t id;
    uint32_t election_ticks;  /* T: election timeout random in [T, 2T); 10 */
    uint32_t heartbeat_ticks; /* H: leader heartbeat period (< T); 1 */
    uint32_t max_msg_bytes;   /* payload bound of one APPEND; 1 MiB */
    uint32_t max_inflight;    /* pipelined APPENDs per peer; 64 */
    uint32_t max_apply_bytes; /* payload bound of rd->committed; 4 MiB */
    uint32_t snapshot_ticks;  /* give up a silent snapshot send; 10 T */
    uint64_t trailing;        /* entries kept behind a snapshot; 1024 */
    uint64_t seed;            /* seeds this node's timeout PRNG */
    uint64_t applied;         /* index the state machine has applied */
    /* When storage is empty (new cluster), append this configuration as
     * entry 1 (term 1). All founding members must pass the same one; a
     * server joining an existing cluster passes NULL and waits for the
     * leader to send it the log. */
    const struct raft_conf *bootstrap;
};

struct raft_soft_state {
    uint64_t leader; /* RAFT_NONE if unknown */
    uint8_t role;    /* enum raft_role */
};

/* ReadIndex result (§6.4): the read with this ctx is linearizable once
 * the state machine has applied index. index 0: the read failed. */
struct raft_read {
    uint64_t ctx, index;
};

struct raft_ready {
    uint64_t seq; /* identifies this ready for raft_advance() */
    int hs_changed;
    struct raft_hard_state hs;
    int has_snapshot;
    struct raft_snapshot_meta snapshot;
    uint64_t truncate_from;
    struct raft_entry *entries;
    size_t n_entries;
    struct raft_msg *msgs;
    size_t n_msgs;
    struct raft_entry *committed;
    size_t n_committed;
    struct raft_read *reads;
    size_t n_reads;
    int soft_changed;
    struct raft_soft_state soft;
};

/* What a proposal became: the entry (term, index), or on RAFT_ENOTLEADER
 * the known leader. A proposal committed iff an entry with this index
 * AND term is applied; another term at that index means it was lost. */
struct raft_ticket {
    uint64_t term, index, leader;
};

/* Replication progress of one server as the leader tracks it (§3.5):
 * match is the highest index known to be stored on the server (for the
 * leader itself: durable in its own log), next the next index to send.
 * state is how the leader sends to it (raft_progress_state_name()). */
struct raft_progress_status {
    uint64_t id;
    uint8_t role;   /* enum raft_server_role */
    uint8_t state;  /* probe, replicate or snapshot */
    uint8_t active; /* heard from since the last CheckQuorum round */
    uint64_t match, next;
};

struct raft_status {
    uint64_t id, term, vote, leader;
    uint8_t role;
    uint64_t commit, applied, first_index, last_index;
    uint64_t transferee;
    struct raft_conf conf;
    uint64_t conf_index;
    /* Leader only (n_progress 0 otherwise): one per server of conf. */
    uint32_t n_progress;
    struct raft_progress_status progress[RAFT_CONF_MAX];
};

struct raft;

/* Create a node from what storage holds and the stored hard state hs
 * (NULL or zeroes for a fresh node). hs->commit may be stale or 0: the
 * node learns the commit index again from the leader. Fails with EINVAL
 * on a bad configuration or inconsistent storage. */
int raft_new(const struct raft_config *cfg, const struct raft_storage *storage,
             const struct raft_hard_state *hs, struct raft **out, struct sk_err *err);
/* Free the node, including an outstanding ready. */
void raft_free(struct raft *r);

/* Advance logical time by one tick. */
void raft_tick(struct raft *r);
/* Handle a message from a peer; the caller keeps ownership of m. Returns
 * -EINVAL for a malformed message (dropped, nothing changed). */
int raft_step(struct raft *r, const struct raft_msg *m, struct sk_err *err);

/* Append a NORMAL entry with a copy of data (leader only). On success t
 * names the entry. Fails with RAFT_ENOTLEADER (t->leader set) or EBUSY
 * during a leadership transfer. */
int raft_propose(struct raft *r, const void *data, uint32_t len, struct raft_ticket *t,
                 struct sk_err *err);
/* Ask for a linearizable read point (§6.4). The result, tagged ctx,
 * comes in a later rd->reads once a quorum confirmed this leadership and
 * the leader has committed an entry of its term. Leader only. */
int raft_read_index(struct raft *r, uint64_t ctx, struct raft_ticket *t, struct sk_err *err);
/* Hand leadership to voter to (§3.10): bring it up to date, then tell it
 * to campaign. Proposals fail with EBUSY meanwhile; the attempt is
 * abandoned after an election timeout. */
int raft_transfer_leadership(struct raft *r, uint64_t to, struct sk_err *err);

/* Membership changes, one server at a time (§4.1): each appends a CONF
 * entry that takes effect as soon as it is appended. Leader only; EBUSY
 * while an earlier change is uncommitted or before the leader committed
 * an entry of its term. raft_promote() requires the learner to have
 * caught up with the commit index (§4.2.1). Removing the leader is
 * allowed: it steps down once the change commits (§4.2.2). */
int raft_add_learner(struct raft *r, uint64_t id, struct raft_ticket *t, struct sk_err *err);
int raft_promote(struct raft *r, uint64_t id, struct raft_ticket *t, struct sk_err *err);
int raft_remove(struct raft *r, uint64_t id, struct raft_ticket *t, struct sk_err *err);

/* The driver saved a state machine snapshot meta (index <= applied,
 * conf as of index). *compact_to is set to the index up to which the
 * driver may now discard stored entries (keeping cfg.trailing entries
 * for followers a little behind); storage->snapshot() must return this
 * snapshot from now on. */
int raft_snapshot_taken(struct raft *r, const struct raft_snapshot_meta *meta, uint64_t *compact_to,
                        struct sk_err *err);
/* Transport feedback (leader): the snapshot sent to id was delivered
 * (ok) or failed; a peer is unreachable. Both resume normal sending. */
void raft_report_snapshot(struct raft *r, uint64_t id, int ok);
void raft_report_unreachable(struct raft *r, uint64_t id);

/* True when raft_ready() would return something to do (and no ready is
 * outstanding). */
int raft_has_ready(const struct raft *r);
/* Fill rd (see THE READY CONTRACT). Fails with EBUSY while a ready is
 * outstanding, or with the storage error when committed entries could
 * not be read (nothing was handed out; retry later). */
int raft_ready(struct raft *r, struct raft_ready *rd, struct sk_err *err);
/* Everything in rd is durable and applied; frees rd's memory. */
void raft_advance(struct raft *r, struct raft_ready *rd);

void raft_status(const struct raft *r, struct raft_status *st);
const char *raft_role_name(uint8_t role);
/* "probe", "replicate" or "snapshot" (struct raft_progress_status). */
const char *raft_progress_state_name(uint8_t state);

/* Configuration entries. Format (little endian):
 *     u8 version (1) | u8 n | n * { u64 id | u8 role }
 * Encode returns the length written (buf holds RAFT_CONF_MAX_LEN). */
size_t raft_conf_encode(const struct raft_conf *conf, uint8_t *buf);
int raft_conf_decode(const void *data, size_t len, struct raft_conf *conf, struct sk_err *err);
/* Role of id in conf, or 0 when it is not a member. */
uint8_t raft_conf_role(const struct raft_conf *conf, uint64_t id);

#endif
