#ifndef SK_STORE_NODE_INT_H
#define SK_STORE_NODE_INT_H

/* Private to store/: the member driver (node.c: open, storage, ticks,
 * the ready loop; node_req.c: proposals and reads waiting for the log;
 * node_snap.c: snapshots; watch.c: the watch hub). */

#include "store/meta.h"
#include "store/mvcc.h"
#include "store/raft.h"
#include "store/segment.h"
#include "store/store.h"

#include "lib/buf.h"

#include <sys/types.h>

/* A write or read waiting for the log. Writes wait in s->props, ordered
 * by index; reads first in s->reads_new (no ReadIndex round yet), then
 * in s->reads_wait with the round's ctx and, once known, its index. */
struct node_req {
    struct node_req *next;
    struct store *s;
    uint64_t fwd_id;   /* forwarded to the leader: our request id */
    uint64_t fwd_from; /* leader side: the follower that forwarded it */
    int conf;          /* a membership change: done when its CONF entry applies */
    uint64_t deadline_ms;
    uint64_t term, index; /* write: the proposal's entry */
    uint64_t ctx;         /* read: ReadIndex round */
    int is_read;
    store_write_cb wcb;
    store_read_cb rcb;
    void *arg;
    uint32_t len; /* parked write: the command */
    char *cmd;
};

struct node_queue {
    struct node_req *head, *tail;
};

/* A follower's `members` waiting for the leader's progress table. */
struct node_mwait {
    struct node_mwait *next;
    uint64_t id, deadline_ms;
    store_members_cb cb;
    void *arg;
};

struct watch_hub;
struct transport;
struct snapshot_reader;
struct snapshot_writer;

/* What a member knows of another: name and peer address (from the
 * configuration file, a member-add, or the peer's own hello), and the
 * state of a snapshot being streamed to it. */
struct node_peer {
    uint64_t id;
    char name[64];
    char addr[128];
    struct snapshot_reader *snap_rd; /* leader: InstallSnapshot in progress */
    uint64_t snap_off;
    struct raft_msg snap_msg;
};

struct store {
    struct sk_loop *loop;
    char *name, *data_dir;
    char self_addr[128]; /* server.peer-listen, for store_members */
    uint64_t id;
    uint64_t snapshot_every, election_ms, tick_ms, proposal_ms;
    bool fsync;

    struct raft *r;
    struct raft_storage storage;
    struct segment_log *log;
    struct mvcc *mvcc;
    struct watch_hub *hub;

    /* The stored log as the core sees it: entries [first, last], the
     * term of first - 1 is first_term (the compaction point). */
    uint64_t first, first_term;
    struct raft_snapshot_meta snap; /* newest snapshot; index 0: none */
    struct raft_conf conf;          /* configuration as of applied */
    uint64_t applied;
    uint64_t snap_next;  /* take a snapshot once applied reaches it */
    uint64_t snap_bytes; /* size of the newest snapshot (node_snap.c) */
    /* The snapshot child (node_snap.c), pid 0 when none runs. */
    pid_t snap_pid;
    int snap_pidfd, snap_rfd;
    struct raft_snapshot_meta snap_meta;
    int64_t snap_t0;
    struct meta meta; /* what is on disk */

    struct raft_soft_state soft;
    uint64_t tick_timer;
    bool process_scheduled, in_process, failed, closing;
    struct sk_err fail_err;
    char last_error[256];

    struct node_queue props;      /* proposed writes, by index */
    struct node_queue parked;     /* writes and reads waiting for a leader */
    struct node_queue reads_new;  /* reads without a ReadIndex round */
    struct node_queue reads_wait; /* reads in a round */
    uint64_t read_ctx;

    struct segment_entry *sents; /* reused: entries of one ready */
    size_t sents_cap;
    struct segment_batch batch; /* reused by storage reads */

    /* Peers (node_net.c). */
    struct transport *tr;
    struct node_peer peers[RAFT_CONF_MAX];
    size_t npeers;
    bool join;
    uint64_t fwd_seq;
    struct node_queue fwd_wait;   /* forwarded, waiting for the leader's answer */
    struct node_mwait *mwait;     /* store_members_progress, waiting */
    struct snapshot_writer *rx_w; /* follower: snapshot being received */
    uint64_t rx_term, rx_index, rx_total;
    struct sk_buf scratch;

    void (*shutdown_done)(void *arg);
    void *shutdown_arg;
    uint64_t shutdown_timer;
};

/* node.c */
void node_schedule(struct store *s);
void node_fail(struct store *s, const struct sk_err *err);

/* node_req.c */
void node_queue_push(struct node_queue *q, struct node_req *req);
struct node_req *node_queue_pop(struct node_queue *q);
void node_req_fail(struct node_req *req, int code, const char *msg);
void node_req_free(struct node_req *req);
void node_reqs_applied(struct store *s, uint64_t index, uint64_t term,
                       const struct mvcc_result *res, const struct sk_err *err);
void node_reads_issue(struct store *s);
void node_reads_result(struct store *s, const struct raft_read *rd);
void node_reads_complete(struct store *s);
void node_parked_retry(struct store *s);
void node_reqs_expire(struct store *s, uint64_t now);
void node_reqs_fail_all(struct store *s, int code, const char *msg);

/* node_net.c */
int node_net_start(struct store *s, const struct store_config *cfg, struct raft_conf *boot,
                   struct sk_err *err);
void node_net_stop(struct store *s);
void node_net_send(struct store *s, const struct raft_msg *msgs, size_t n);
struct node_peer *node_peer_find(struct store *s, uint64_t id);
const char *node_peer_name(const struct store *s, uint64_t id);
/* Forward a write or a batch of reads to the leader: 0, or <0 when the
 * leader is unknown or unreachable (park instead). */
int node_fwd_write(struct store *s, struct node_req *req, const void *cmd, size_t len);
int node_fwd_reads(struct store *s, struct node_queue *reads);
void node_fwd_read_answer(struct store *s, struct node_req *req, uint64_t index);
void node_conf_applied(struct store *s);
void node_promote_learners(struct store *s);
/* Answer waiting store_members_progress calls past their deadline (or
 * all, when all is set) with the local view. */
void node_mwait_expire(struct store *s, uint64_t now, bool all);

/* node_snap.c */
int node_snap_load(struct store *s, struct sk_err *err);
int node_snap_install(struct store *s, const struct raft_snapshot_meta *meta, struct sk_err *err);
void node_snap_maybe(struct store *s);
/* Wait (bounded) for or kill the snapshot child; at close. */
void node_snap_stop(struct store *s);

/* watch.c */
struct watch_hub *watch_hub_new(struct store *s);
void watch_hub_free(struct watch_hub *h);
void watch_hub_applied(void *arg, int64_t rev, const struct mvcc_event *evs, size_t n);
void watch_hub_restored(void *arg, int64_t rev, int64_t compact_rev);

#endif
