#ifndef SK_STORE_STORE_H
#define SK_STORE_STORE_H

/* The store of skiff: the Raft-replicated MVCC key-value store that runs
 * inside `skiffd server` (skiff-store(5)). This is the module's one
 * public header; everything else in store/ is private.
 *
 * A struct store is one member: the Raft core (raft.h) driven on the
 * caller's event loop, the log segments, meta and snapshots in the data
 * directory, and the MVCC state machine. The data types of requests and
 * results are the state machine's (mvcc.h, included below): commands are
 * built with mvcc_cmd_encode_*, results are struct mvcc_result.
 *
 * WRITES. store_write() proposes one command. Proposals arriving within
 * one loop iteration share one Raft batch and one fdatasync (group
 * commit). The callback runs once the command is durable on a quorum and
 * applied here, with its result; or with an error:
 *     EAGAIN     no leader within the election timeout (503)
 *     ETIMEDOUT  not applied within the proposal timeout; the outcome is
 *                unknown (504)
 *     ECANCELED  the store is shutting down (503)
 *     EINVAL, MVCC_ECOMPACTED, MVCC_EFUTURE  the command was refused by
 *                the state machine (same on every member)
 *
 * READS. store_read_barrier() waits until a linearizable read may be
 * served from the local state machine (ReadIndex, Raft thesis §6.4;
 * concurrent barriers share one round); then read with store_range().
 * Serializable reads call store_range() directly.
 *
 * WATCHES. store_watch_start() delivers every event of a key span from a
 * revision on, first the history (mvcc_events_since) then live events
 * after each apply, in order, none missing or duplicated.
 *
 * Callbacks run on the loop, never from inside the call that registered
 * them unless stated. Not thread-safe. */

#include "lib/err.h"
#include "lib/loop.h"
#include "store/mvcc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;
struct store_watch;

struct store_config {
    const char *name;     /* this member's name (unique in the cluster) */
    const char *data_dir; /* created if missing */
    const char *peer_listen;
    const char *peers; /* "name=host:port,..."; "" for a single member */
    const char *secret_file;
    uint64_t snapshot_every; /* applied entries between snapshots */
    uint64_t election_timeout_ms;
    uint64_t heartbeat_interval_ms;
    bool fsync; /* false only for tests: writes are then not durable */
    bool join;  /* joining an existing cluster: wait for the leader's log
                 * instead of founding one with the members in peers */
};

/* Open the data directory (recovering meta, the newest snapshot and the
 * log behind it; damage stops here with an error naming the file and
 * offset) and start the member on loop. */
int store_open(struct sk_loop *loop, const struct store_config *cfg, struct store **out,
               struct sk_err *err);

/* Graceful stop (SIGTERM): hand leadership to another voter if this
 * member leads (bounded by an election timeout), fail pending requests
 * with ECANCELED, then call done. done may run before this returns. */
void store_shutdown(struct store *s, void (*done)(void *arg), void *arg);

/* Free everything. Pending requests are failed with ECANCELED first.
 * NULL is allowed. */
void store_close(struct store *s);

/* True once the store hit an error it cannot go on from (a failed disk
 * write: Raft forbids acknowledging anything after it); the daemon must
 * exit and be restarted. */
bool store_failed(const struct store *s, struct sk_err *why);

typedef void (*store_write_cb)(void *arg, const struct mvcc_result *res, const struct sk_err *err);
typedef void (*store_read_cb)(void *arg, const struct sk_err *err);

/* Propose one mvcc command (copied). cb runs exactly once; see WRITES. */
void store_write(struct store *s, const void *cmd, size_t len, store_write_cb cb, void *arg);

/* Call cb once a linearizable read may be served locally; see READS. */
void store_read_barrier(struct store *s, store_read_cb cb, void *arg);

/* Read from the local state machine (mvcc_range). */
int store_range(struct store *s, const struct mvcc_op *op, struct mvcc_op_result *out,
                struct sk_err *err);
int64_t store_rev(const struct store *s);

struct store_status {
    char name[64];
    uint64_t id;
    char leader[64]; /* "" when unknown */
    uint64_t term, commit, applied;
    int64_t revision, compact_revision;
    uint64_t db_size; /* bytes of keys and values held */
    uint64_t log_first, log_last;
    const char *role; /* "leader", "follower", "candidate", "learner" */
    char last_error[256];
};

void store_status(const struct store *s, struct store_status *st);

/* Most members a cluster can have (the Raft core's RAFT_CONF_MAX). */
#define STORE_MEMBERS_MAX 16

struct store_member {
    char name[64];
    uint64_t id;
    char peer[128]; /* host:port, "" if unknown */
    bool voter, leader;
    uint64_t match;
};

/* The members of the current configuration; returns how many were
 * written (at most max). */
size_t store_members(const struct store *s, struct store_member *out, size_t max);

/* Membership change (Raft thesis §4.1, one server at a time), on the
 * leader: op "add" (NAME joins as a learner at ADDR, promoted by the
 * leader once caught up), "promote" or "remove". cb runs when the
 * configuration entry is applied (res NULL), or with an error (EAGAIN:
 * not the leader, or a change is in progress). */
void store_member_change(struct store *s, const char *op, const char *name, const char *addr,
                         store_write_cb cb, void *arg);

/* Write a consistent copy of the state machine (every retained version,
 * the mvcc snapshot format of skiff-store(5)'s payload) to path on this
 * server: written to path.tmp, fsynced, renamed. Returns the revision
 * saved, or <0. For backups and disaster recovery. */
int64_t store_snapshot_save(struct store *s, const char *path, struct sk_err *err);

/* A member's id: derived from its name (stable, nonzero), so every
 * member computes the same ids without coordination. */
uint64_t store_member_id(const char *name);

/* ---- watches ---- */

/* Called with each event in order. Return 0 to go on; nonzero stops
 * delivery to this watcher (it stays registered until cancelled). */
typedef int (*store_watch_fn)(void *arg, const struct mvcc_event *ev);

/* Watch the span (as in struct mvcc_op; key_len 0: every key) from
 * start_rev (every event with revision >= start_rev; 0: from now on).
 * History is delivered from inside this call. Fails with
 * MVCC_ECOMPACTED when start_rev is compacted: *resume_rev is then the
 * first revision that can be watched. */
int store_watch_start(struct store *s, const char *key, uint32_t key_len, const char *end,
                      uint32_t end_len, int64_t start_rev, store_watch_fn fn, void *arg,
                      struct store_watch **out, int64_t *resume_rev, struct sk_err *err);

/* Stop a watcher; safe from inside its own fn. */
void store_watch_cancel(struct store_watch *w);

/* ---- leadership ---- */

/* Components that run only on the leader (scheduler, controllers) learn
 * of role changes here: fn(arg, true) once this member leads, fn(arg,
 * false) when it stops leading; never twice the same value in a row.
 * Polled every interval_ms (0: 200 ms), so a change is seen up to that
 * late: such components must write only through compare-and-swap. The
 * first poll runs on the loop right after this call. */
struct store_leadership;
typedef void (*store_leadership_fn)(void *arg, bool leader);
struct store_leadership *store_leadership_watch(struct sk_loop *loop, struct store *s,
                                                uint64_t interval_ms, store_leadership_fn fn,
                                                void *arg);
bool store_leadership_is_leader(const struct store_leadership *l);
/* Stop watching (fn is not called again); NULL is fine. */
void store_leadership_stop(struct store_leadership *l);

#endif
