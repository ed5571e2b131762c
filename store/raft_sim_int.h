#ifndef SK_STORE_RAFT_SIM_INT_H
#define SK_STORE_RAFT_SIM_INT_H

/* Private to store/raft_sim_*.c: the simulated nodes and the checker. */

#include "store/raft_int.h"
#include "store/raft_sim.h"

/* A durable log entry and the hash chain of the log up to it. */
struct rsim_ent {
    struct raft_entry e;
    uint64_t chain;
};

/* A state machine snapshot; handles index rsim.snaps (1-based). */
struct rsim_snap {
    uint64_t index, term, hash;
    struct raft_conf conf;
};

/* What survives a crash. Entries [first, first + n) follow the base
 * (the compaction point first - 1: its term and chain). */
struct rsim_disk {
    struct raft_hard_state hs;
    uint64_t snap; /* handle of the stored snapshot, 0 if none */
    uint64_t first, base_term, base_chain;
    struct rsim_ent *ents;
    size_t n, cap;
};

struct rsim_pending_read {
    uint64_t ctx, min_index;
};

struct rsim_node {
    struct rsim *s;
    uint64_t id;
    int up, founder;
    uint64_t epoch; /* incarnation: client calls die with a crash */
    struct raft *r;
    struct raft_storage st;
    struct rsim_disk disk;
    struct raft_ready rd;
    int rd_out, hold;
    uint64_t rd_due;
    /* state machine (volatile: rebuilt from the snapshot on restart) */
    uint64_t sm_index, sm_term, sm_hash;
    struct raft_conf sm_conf;
    struct rsim_pending_read *reads;
    size_t n_reads, cap_reads;
    /* checker */
    uint64_t commit_seen, lead_term, lead_last, lead_last_term, lc_checked;
    uint64_t crash_commit;
};

struct rsim_msg {
    uint64_t due;
    struct raft_msg m;
};

struct rsim_prop {
    uint64_t node, epoch, term, index;
    uint64_t applied_at; /* index it was applied at, 0 if not yet */
    int acked;
};

struct rsim_committed {
    uint64_t term, commit_term, chain;
};

struct rsim_lm {
    uint64_t index, term, chain;
};

#define RSIM_TRACE_LINES 600
#define RSIM_TRACE_WIDTH 200

struct rsim {
    struct rsim_config cfg;
    uint64_t rng, now;
    struct rsim_node nodes[RSIM_MAX_NODES];
    unsigned n;
    uint8_t cut[RSIM_MAX_NODES + 1][RSIM_MAX_NODES + 1];
    struct rsim_msg *net;
    size_t n_net, cap_net;
    struct rsim_snap *snaps;
    size_t n_snaps, cap_snaps;
    rsim_filter_fn filter;
    void *filter_ud;
    struct rsim_prop *props;
    size_t n_props, cap_props;
    uint64_t read_ctx, ack_max;
    /* checker state */
    uint64_t *leader_of_term;
    size_t cap_lot;
    struct rsim_committed *committed;
    size_t cap_committed;
    uint64_t commit_max;
    struct rsim_lm *lm;
    size_t n_lm, cap_lm;
    int failed;
    char error[1024];
    struct rsim_stats stats;
    char (*trace)[RSIM_TRACE_WIDTH];
    unsigned trace_pos, trace_n;
};

/* raft_sim_check.c */
int rsim_fail(struct rsim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
uint64_t rsim_chain(uint64_t prev, const struct raft_entry *e);
int rsim_check(struct rsim *s);
int rsim_check_durable(struct rsim *s, struct rsim_node *n, const struct rsim_ent *e);
int rsim_check_applied(struct rsim *s, struct rsim_node *n, const struct raft_entry *e,
                       uint64_t chain);
int rsim_check_snapshot(struct rsim *s, const struct rsim_snap *snap);
int rsim_check_read(struct rsim *s, struct rsim_node *n, const struct raft_read *rd);
void rsim_check_release(struct rsim *s);

#endif
