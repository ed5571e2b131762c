#ifndef SK_STORE_RAFT_SIM_H
#define SK_STORE_RAFT_SIM_H

/* A deterministic simulated cluster for testing the Raft core (tests
 * only; nothing in the daemon links it). It plays the driver of every
 * node: in-memory disks, an in-memory network, and a trivial state
 * machine (a hash chain over applied entries), all stepped by one seeded
 * PRNG, so a seed reproduces a run exactly.
 *
 * Faults: message loss, duplication, reordering and delay; cut links
 * (asymmetric partitions); crashes that lose everything not made durable;
 * disk write failures in the middle of a ready (the driver then crashes
 * the node instead of advancing); persistence deferred across other
 * events (asynchronous disk writes).
 *
 * After every step (message delivery, tick, client call, disk write) the
 * checker verifies: Election Safety (one leader per term, over history),
 * Leader Append-Only, Log Matching (on durable logs), Leader Completeness,
 * State Machine Safety (one applied entry per index across nodes and
 * restarts), agreement on committed entries, commit index monotonic per
 * node lifetime, no proposal applied twice, and linearizable ReadIndex
 * results (a read registered after a write was acknowledged returns an
 * index >= that write's). A violation stops the run with a message. */

#include "store/raft.h"

#include <stdio.h>

#define RSIM_SLOTS_PER_TICK 4 /* network time resolution */
#define RSIM_MAX_NODES      8

struct rsim_config {
    unsigned voters; /* founding voters, ids 1..voters */
    unsigned spares; /* empty nodes that may join, ids voters+1.. */
    uint32_t election_ticks, heartbeat_ticks;
    uint32_t max_msg_bytes, max_inflight, snapshot_ticks;
    uint64_t trailing;
    /* network: delay in slots, loss and duplication in percent */
    unsigned min_delay, max_delay;
    unsigned loss_pct, dup_pct;
    /* disk: percent of readies persisted later than sent, how many slots
     * later at most, and percent of writes that fail */
    unsigned async_pct, max_async_slots;
    unsigned disk_fail_pct;
    /* percent of commit advances at which the leader crashes at once:
     * the worst moment, when followers may hold what it just counted */
    unsigned crash_on_commit_pct;
    int trace; /* keep a ring of recent events for rsim_trace_dump() */
};

struct rsim_stats {
    uint64_t ticks, sent, delivered, dropped, acked, reads_ok, reads_failed;
    uint64_t crashes, disk_failures, snapshots_taken, snapshots_installed;
    uint64_t elections, max_term, max_commit;
};

struct rsim;

/* Messages for which filter returns 0 are dropped on arrival, when the
 * receiver's state can be looked at (scenario tests). */
typedef int (*rsim_filter_fn)(void *ud, const struct raft_msg *m);

/* Defaults: 3 voters, no faults, delay 1..2 slots, T = 10, H = 1. */
void rsim_config_default(struct rsim_config *cfg);
struct rsim *rsim_new(uint64_t seed, const struct rsim_config *cfg);
void rsim_free(struct rsim *s);
/* Change network/disk fault settings mid-run. */
void rsim_set_faults(struct rsim *s, unsigned loss_pct, unsigned dup_pct, unsigned disk_fail_pct,
                     unsigned crash_on_commit_pct);
void rsim_set_filter(struct rsim *s, rsim_filter_fn fn, void *ud);

/* Advance time; returns -1 as soon as an invariant is violated. */
int rsim_run_ticks(struct rsim *s, unsigned ticks);
/* Run until node id is leader (or any node when id is 0), at most
 * max_ticks. Returns the leader id, 0 on timeout, -1 on violation. */
int64_t rsim_wait_leader(struct rsim *s, uint64_t id, unsigned max_ticks);
/* Deliver one message directly (bypassing the network) and process. */
int rsim_inject(struct rsim *s, const struct raft_msg *m);

/* Links: cut[from][to]. isolate cuts every link of id, both ways. */
void rsim_link(struct rsim *s, uint64_t from, uint64_t to, int up);
void rsim_isolate(struct rsim *s, uint64_t id);
void rsim_heal(struct rsim *s);
void rsim_crash(struct rsim *s, uint64_t id);
/* While held, node id sends its readies' messages but writes nothing
 * (a stalled disk); releasing lets the writes complete. */
void rsim_hold_writes(struct rsim *s, uint64_t id, int hold);
int rsim_restart(struct rsim *s, uint64_t id);

/* Client calls on node id (through the core's API, errors as the core
 * reports them; invariant violations make the next step fail). */
int rsim_propose(struct rsim *s, uint64_t id, uint64_t *prop, struct sk_err *err);
int rsim_read(struct rsim *s, uint64_t id, struct sk_err *err);
int rsim_snapshot(struct rsim *s, uint64_t id, struct sk_err *err);
int rsim_transfer(struct rsim *s, uint64_t id, uint64_t to, struct sk_err *err);
int rsim_add_learner(struct rsim *s, uint64_t id, uint64_t who, struct sk_err *err);
int rsim_promote(struct rsim *s, uint64_t id, uint64_t who, struct sk_err *err);
int rsim_remove(struct rsim *s, uint64_t id, uint64_t who, struct sk_err *err);

/* Inspection. */
unsigned rsim_nodes(const struct rsim *s);
int rsim_up(const struct rsim *s, uint64_t id);
struct raft *rsim_raft(struct rsim *s, uint64_t id); /* NULL when down */
uint64_t rsim_leader(struct rsim *s);                /* highest-term leader, or 0 */
int rsim_acked(const struct rsim *s, uint64_t prop);
uint64_t rsim_applied(const struct rsim *s, uint64_t id);
/* Term of entry index in node id's durable log (0 if absent). */
uint64_t rsim_disk_term(const struct rsim *s, uint64_t id, uint64_t index);
uint64_t rsim_disk_last(const struct rsim *s, uint64_t id);
uint64_t rsim_rand(struct rsim *s, uint64_t n); /* uniform in [0, n) */
const struct rsim_stats *rsim_stats(const struct rsim *s);
/* The violation that stopped the run, or NULL. */
const char *rsim_error(const struct rsim *s);
void rsim_tracef(struct rsim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rsim_trace_dump(const struct rsim *s, FILE *f);

#endif
