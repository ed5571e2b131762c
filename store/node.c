/* The member driver (API in store.h): runs the pure Raft core (raft.h)
 * on the event loop, on disk.
 *
 * GROUP COMMIT. Requests only call into the core (raft_propose, ...) and
 * schedule node_process() as a deferred call, which runs once per loop
 * iteration after every fd callback: all proposals that arrived in one
 * iteration therefore land in one ready, one write(2) and one
 * fdatasync. While that sync runs the loop does not read sockets;
 * requests pile up in the kernel and form the next, larger batch.
 *
 * THE READY CONTRACT (raft.h): messages, snapshot, then apply (and
 * answer) the committed entries, which earlier readies made durable,
 * then truncate + append + ONE fdatasync, then meta (term, vote) when
 * they changed, then raft_advance(). A failed write or sync stops the
 * member (node_fail): no raft_advance(), no entry of that ready
 * acknowledged, the daemon exits and recovers from disk on restart.
 *
 * TIME. One timer ticks the core every heartbeat interval; the election
 * timeout is a whole number of ticks (at least 2). The same timer
 * expires requests past their deadline. */
#include "store/node_int.h"
#include "store/io.h"
#include "store/snapshot.h"

#include "lib/alloc.h"
#include "lib/log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- storage view for the core ---- */

static uint64_t
st_first(void *ud)
{
    struct store *s = ud;

    return s->first;
}

static uint64_t
st_last(void *ud)
{
    struct store *s = ud;
    uint64_t last = segment_log_last_index(s->log);

    return last < s->first - 1 ? s->first - 1 : last;
}

static uint64_t
st_term(void *ud, uint64_t index)
{
    struct store *s = ud;
    uint64_t term = 0;

    if (index == s->first - 1)
        return s->first_term;
    if (segment_log_term(s->log, index, &term, NULL) < 0)
        SK_BUG("store: term of index %" PRIu64 " not held", index);
    return term;
}

static int
st_entries(void *ud, uint64_t lo, uint64_t hi, uint64_t max_bytes, struct raft_entry *out,
           struct sk_err *err)
{
    struct store *s = ud;
    size_t i;
    int rc;

    rc = segment_log_read(s->log, lo, hi, max_bytes, &s->batch, err);
    if (rc < 0)
        return rc;
    for (i = 0; i < s->batch.n; i++) {
        const struct segment_entry *e = &s->batch.ents[i];

        out[i].term = e->term;
        out[i].index = e->index;
        out[i].type = e->type;
        out[i].len = e->len;
        out[i].data = sk_malloc(e->len ? e->len : 1);
        memcpy(out[i].data, e->data, e->len);
    }
    return (int)s->batch.n;
}

static int
st_snapshot(void *ud, struct raft_snapshot_meta *meta, struct sk_err *err)
{
    struct store *s = ud;

    *meta = s->snap;
    return 0;
}

_Static_assert(STORE_MEMBERS_MAX == RAFT_CONF_MAX, "store.h and raft.h disagree");

/* ---- ids ---- */

uint64_t
store_member_id(const char *name)
{
    /* FNV-1a 64: stable across versions and hosts. */
    uint64_t h = 0xcbf29ce484222325ull;

    for (; *name; name++) {
        h ^= (unsigned char)*name;
        h *= 0x100000001b3ull;
    }
    return h ? h : 1;
}

/* ---- failures ---- */

void
node_fail(struct store *s, const struct sk_err *err)
{
    if (s->failed)
        return;
    s->failed = true;
    sk_err_copy(&s->fail_err, err);
    sk_strlcpy(s->last_error, err->msg, sizeof(s->last_error));
    sk_error("store", "member '%s' stops: %s", s->name, err->msg);
    node_reqs_fail_all(s, EIO, "store failed");
    sk_loop_stop(s->loop);
}

bool
store_failed(const struct store *s, struct sk_err *why)
{
    if (s->failed && why)
        sk_err_copy(why, &s->fail_err);
    return s->failed;
}

/* ---- the ready loop ---- */

static int
persist_entries(struct store *s, const struct raft_ready *rd, struct sk_err *err)
{
    size_t i;

    if (rd->truncate_from && segment_log_truncate_suffix(s->log, rd->truncate_from - 1, err) < 0)
        return -1;
    if (rd->n_entries) {
        if (rd->n_entries > s->sents_cap) {
            s->sents_cap = rd->n_entries * 2;
            s->sents = sk_realloc(s->sents, s->sents_cap * sizeof(*s->sents));
        }
        for (i = 0; i < rd->n_entries; i++) {
            const struct raft_entry *e = &rd->entries[i];

            s->sents[i] = (struct segment_entry){e->term, e->index, e->type, e->data, e->len};
        }
        if (segment_log_append(s->log, s->sents, rd->n_entries, err) < 0)
            return -1;
    }
    if (s->fsync && segment_log_sync(s->log, err) < 0)
        return -1;
    return 0;
}

static int
persist_hard_state(struct store *s, const struct raft_ready *rd, struct sk_err *err)
{
    struct meta m;

    if (!rd->hs_changed)
        return 0;
    memset(&m, 0, sizeof(m));
    m.term = rd->hs.term;
    if (rd->hs.vote)
        snprintf(m.vote, sizeof(m.vote), "%" PRIu64, rd->hs.vote);
    if (m.term == s->meta.term && strcmp(m.vote, s->meta.vote) == 0)
        return 0; /* only commit moved: stored lazily (raft.h) */
    if (meta_store(s->data_dir, &m, err) < 0)
        return -1;
    s->meta = m;
    return 0;
}

static void
apply_entry(struct store *s, const struct raft_entry *e)
{
    struct mvcc_result res;
    struct sk_err err;
    int rc;

    sk_err_init(&err);
    if (e->type == RAFT_ENTRY_CONF) {
        if (raft_conf_decode(e->data, e->len, &s->conf, &err) < 0)
            sk_warn("store", "configuration entry %" PRIu64 ": %s", e->index, err.msg);
        else if (!raft_conf_role(&s->conf, s->id))
            sk_info("store", "member '%s' was removed from the cluster", s->name);
        node_conf_applied(s);
    }
    if (e->type != RAFT_ENTRY_NORMAL) {
        node_reqs_applied(s, e->index, e->term, NULL, NULL);
        return;
    }
    mvcc_result_init(&res);
    rc = mvcc_apply(s->mvcc, e->data, e->len, &res, &err);
    node_reqs_applied(s, e->index, e->term, rc < 0 ? NULL : &res, rc < 0 ? &err : NULL);
    mvcc_result_release(&res);
}

static void shutdown_finish(struct sk_loop *loop, void *arg);

static void
soft_changed(struct store *s, const struct raft_soft_state *soft)
{
    if (soft->leader != s->soft.leader || soft->role != s->soft.role)
        sk_info("store", "member '%s': %s, leader '%s'", s->name, raft_role_name(soft->role),
                soft->leader ? node_peer_name(s, soft->leader) : "");
    s->soft = *soft;
    /* A shutdown waiting for the leadership transfer: done. */
    if (s->closing && s->shutdown_timer && soft->role != RAFT_LEADER) {
        sk_loop_timer_cancel(s->loop, s->shutdown_timer);
        s->shutdown_timer = 0;
        sk_loop_defer(s->loop, shutdown_finish, s);
    }
}

static int
handle_ready(struct store *s, struct raft_ready *rd, struct sk_err *err)
{
    size_t i;

    /* 1. Messages: the core holds back those that depend on state not
     * yet durable, so they may leave now, overlapping the fsync (§10.2.1:
     * the leader writes its log in parallel with replicating it). */
    node_net_send(s, rd->msgs, rd->n_msgs);
    if (rd->has_snapshot && node_snap_install(s, &rd->snapshot, err) < 0)
        return -1;
    /* 2. Apply and answer before this ready's sync, not after it: the
     * committed entries were made durable here by earlier readies (the
     * core hands out none beyond its stable index) and are durable on a
     * quorum, so nothing in this ready's writes can undo them. Waiting
     * for the sync would add one fdatasync to every write's latency: the
     * acks that commit batch N arrive while batch N+1 is being synced. */
    for (i = 0; i < rd->n_committed; i++) {
        apply_entry(s, &rd->committed[i]);
        s->applied = rd->committed[i].index;
    }
    /* 3. Reads. */
    for (i = 0; i < rd->n_reads; i++)
        node_reads_result(s, &rd->reads[i]);
    /* 4. Durable: entries with one sync, then term and vote. */
    if (persist_entries(s, rd, err) < 0 || persist_hard_state(s, rd, err) < 0)
        return -1;
    if (rd->soft_changed)
        soft_changed(s, &rd->soft);
    return 0;
}

static void
node_process(struct sk_loop *loop, void *arg)
{
    struct store *s = arg;
    struct raft_ready rd;
    struct sk_err err;
    bool was_leader;

    s->process_scheduled = false;
    if (s->failed || !s->r)
        return;
    s->in_process = true;
    node_reads_issue(s);
    while (!s->failed && raft_has_ready(s->r)) {
        sk_err_init(&err);
        if (raft_ready(s->r, &rd, &err) < 0) {
            if (err.code != EBUSY)
                sk_warn("store", "%s", err.msg);
            break;
        }
        was_leader = s->soft.role == RAFT_LEADER;
        if (handle_ready(s, &rd, &err) < 0) {
            node_fail(s, &err);
            break;
        }
        raft_advance(s->r, &rd);
        if (!was_leader && s->soft.role == RAFT_LEADER)
            node_parked_retry(s);
        node_reads_issue(s);
    }
    s->in_process = false;
    if (s->failed)
        return;
    node_reads_complete(s);
    node_snap_maybe(s);
    if (s->soft.role == RAFT_LEADER || s->soft.leader)
        node_parked_retry(s);
}

void
node_schedule(struct store *s)
{
    if (s->process_scheduled || s->in_process)
        return;
    s->process_scheduled = true;
    sk_loop_defer(s->loop, node_process, s);
}

static void
on_tick(struct sk_loop *loop, void *arg)
{
    struct store *s = arg;

    s->tick_timer = sk_loop_timer_add(loop, s->tick_ms, on_tick, s);
    if (s->failed)
        return;
    raft_tick(s->r);
    node_reqs_expire(s, sk_loop_now_ms(loop));
    node_mwait_expire(s, sk_loop_now_ms(loop), false);
    node_promote_learners(s);
    node_schedule(s);
}

/* ---- open ---- */

static int
open_log(struct store *s, struct sk_err *err)
{
    uint64_t seg_first, seg_last, term = 0;

    if (segment_log_open(&s->log, s->data_dir, NULL, err) < 0)
        return -1;
    seg_first = segment_log_first_index(s->log);
    seg_last = segment_log_last_index(s->log);
    if (!s->snap.index) {
        s->first = seg_first;
        s->first_term = 0;
        if (seg_first != 1 && seg_last >= seg_first)
            return sk_err_set(err, EINVAL,
                              "data dir '%s': log starts at %" PRIu64 " but there is no snapshot",
                              s->data_dir, seg_first);
        if (seg_last < seg_first)
            s->first = 1;
        return 0;
    }
    if (seg_first > s->snap.index + 1 && seg_last >= seg_first)
        return sk_err_set(
            err, EINVAL, "data dir '%s': log starts at %" PRIu64 ", after snapshot %" PRIu64 " + 1",
            s->data_dir, seg_first, s->snap.index);
    /* A log that does not reach the snapshot, or disagrees with it, is
     * older than the snapshot (a crash between installing a snapshot and
     * resetting the log, §5.3): the snapshot wins. */
    if (seg_last < s->snap.index ||
        (segment_log_term(s->log, s->snap.index, &term, NULL) == 0 && term != s->snap.term) ||
        seg_first > s->snap.index + 1) {
        if (segment_log_reset(s->log, s->snap.index + 1, err) < 0)
            return -1;
    }
    s->first = s->snap.index + 1;
    s->first_term = s->snap.term;
    return 0;
}

static int
load_meta(struct store *s, struct raft_hard_state *hs, struct sk_err *err)
{
    char *end;

    memset(hs, 0, sizeof(*hs));
    if (meta_load(s->data_dir, &s->meta, err) < 0)
        return -1;
    hs->term = s->meta.term;
    if (s->meta.vote[0]) {
        hs->vote = strtoull(s->meta.vote, &end, 10);
        if (*end || !hs->vote)
            return sk_err_set(err, EINVAL, "meta of '%s': vote '%s' is not a member id",
                              s->data_dir, s->meta.vote);
    }
    return 0;
}

static int
start_raft(struct store *s, const struct store_config *cfg, struct sk_err *err)
{
    struct raft_config rc;
    struct raft_hard_state hs;
    struct raft_conf boot;
    uint64_t eticks;

    if (load_meta(s, &hs, err) < 0 || node_net_start(s, cfg, &boot, err) < 0)
        return -1;
    eticks = cfg->election_timeout_ms / s->tick_ms;
    memset(&rc, 0, sizeof(rc));
    rc.id = s->id;
    rc.election_ticks = (uint32_t)(eticks < 2 ? 2 : eticks);
    rc.heartbeat_ticks = 1;
    rc.seed = s->id ^ sk_loop_now_ms(s->loop);
    rc.applied = s->applied;
    rc.bootstrap = cfg->join ? NULL : &boot;
    s->storage = (struct raft_storage){s, st_first, st_last, st_term, st_entries, st_snapshot};
    if (raft_new(&rc, &s->storage, &hs, &s->r, err) < 0)
        return sk_err_wrap(err, "data dir '%s'", s->data_dir);
    return 0;
}

/* A single voter need not wait out an election timeout: tick it through
 * one so the store serves right after start. */
static void
campaign_alone(struct store *s)
{
    struct raft_status st;
    uint32_t i;

    raft_status(s->r, &st);
    if (st.conf.n != 1 || st.conf.servers[0].id != s->id)
        return;
    for (i = 0; i < 2 * (s->election_ms / s->tick_ms + 2) && st.role != RAFT_LEADER; i++) {
        raft_tick(s->r);
        raft_status(s->r, &st);
    }
}

int
store_open(struct sk_loop *loop, const struct store_config *cfg, struct store **out,
           struct sk_err *err)
{
    struct store *s = sk_calloc(1, sizeof(*s));

    s->loop = loop;
    s->name = sk_strdup(cfg->name);
    s->data_dir = sk_strdup(cfg->data_dir);
    if (cfg->peer_listen)
        sk_strlcpy(s->self_addr, cfg->peer_listen, sizeof(s->self_addr));
    s->snap_pidfd = s->snap_rfd = -1;
    s->id = store_member_id(cfg->name);
    s->snapshot_every = cfg->snapshot_every ? cfg->snapshot_every : 100000;
    s->tick_ms = cfg->heartbeat_interval_ms ? cfg->heartbeat_interval_ms : 100;
    s->election_ms =
        cfg->election_timeout_ms > s->tick_ms ? cfg->election_timeout_ms : 10 * s->tick_ms;
    s->proposal_ms = 5 * s->election_ms < 5000 ? 5000 : 5 * s->election_ms;
    s->fsync = cfg->fsync;
    s->join = cfg->join;
    s->mvcc = mvcc_new();
    s->hub = watch_hub_new(s);
    if (store_io_mkdir(s->data_dir, err) < 0 || node_snap_load(s, err) < 0 ||
        open_log(s, err) < 0 || start_raft(s, cfg, err) < 0)
        goto out_fail;
    s->snap_next = s->snap.index + s->snapshot_every;
    mvcc_set_hooks(s->mvcc, &(struct mvcc_hooks){watch_hub_applied, watch_hub_restored, s->hub});
    campaign_alone(s);
    s->tick_timer = sk_loop_timer_add(loop, s->tick_ms, on_tick, s);
    sk_info("store",
            "member '%s' (id %" PRIx64 ") opened '%s': snapshot %" PRIu64 ", log %" PRIu64
            "..%" PRIu64 ", term %" PRIu64,
            s->name, s->id, s->data_dir, s->snap.index, s->first, st_last(s), s->meta.term);
    node_schedule(s);
    *out = s;
    return 0;
out_fail:
    s->failed = true;
    store_close(s);
    return -1;
}

void
store_close(struct store *s)
{
    if (!s)
        return;
    node_reqs_fail_all(s, ECANCELED, "store is shutting down");
    node_mwait_expire(s, 0, true);
    if (s->tick_timer)
        sk_loop_timer_cancel(s->loop, s->tick_timer);
    if (s->shutdown_timer)
        sk_loop_timer_cancel(s->loop, s->shutdown_timer);
    node_net_stop(s);
    node_snap_stop(s);
    raft_free(s->r);
    s->r = NULL;
    watch_hub_free(s->hub);
    mvcc_free(s->mvcc);
    segment_log_free(s->log);
    segment_batch_release(&s->batch);
    free(s->sents);
    free(s->name);
    free(s->data_dir);
    free(s);
}

static void
shutdown_finish(struct sk_loop *loop, void *arg)
{
    struct store *s = arg;
    void (*done)(void *) = s->shutdown_done;

    s->shutdown_timer = 0;
    s->shutdown_done = NULL;
    node_reqs_fail_all(s, ECANCELED, "store is shutting down");
    if (done)
        done(s->shutdown_arg);
}

void
store_shutdown(struct store *s, void (*done)(void *arg), void *arg)
{
    struct raft_status st;
    struct sk_err err;
    uint32_t i;

    s->closing = true;
    s->shutdown_done = done;
    s->shutdown_arg = arg;
    raft_status(s->r, &st);
    /* Hand leadership to the first other voter (§3.10); a lone member
     * has nobody to hand it to. The transfer is bounded by one election
     * timeout. */
    for (i = 0; st.role == RAFT_LEADER && i < st.conf.n; i++) {
        if (st.conf.servers[i].id == s->id || st.conf.servers[i].role != RAFT_VOTER)
            continue;
        sk_err_init(&err);
        if (raft_transfer_leadership(s->r, st.conf.servers[i].id, &err) == 0) {
            node_schedule(s);
            s->shutdown_timer = sk_loop_timer_add(s->loop, s->election_ms, shutdown_finish, s);
            return;
        }
    }
    sk_loop_defer(s->loop, shutdown_finish, s);
}

/* ---- reads and status ---- */

int
store_range(struct store *s, const struct mvcc_op *op, struct mvcc_op_result *out,
            struct sk_err *err)
{
    return mvcc_range(s->mvcc, op, out, err);
}

int64_t
store_rev(const struct store *s)
{
    return mvcc_rev(s->mvcc);
}

static const char *
member_name(const struct store *s, uint64_t id)
{
    return node_peer_name(s, id);
}

void
store_status(const struct store *s, struct store_status *st)
{
    struct raft_status rs;
    struct mvcc_stats ms;

    raft_status(s->r, &rs);
    mvcc_stats(s->mvcc, &ms);
    memset(st, 0, sizeof(*st));
    sk_strlcpy(st->name, s->name, sizeof(st->name));
    st->id = s->id;
    if (rs.leader)
        snprintf(st->leader, sizeof(st->leader), "%s",
                 *member_name(s, rs.leader) ? member_name(s, rs.leader) : "?");
    st->term = rs.term;
    st->commit = rs.commit;
    st->applied = rs.applied;
    st->revision = mvcc_rev(s->mvcc);
    st->compact_revision = mvcc_compact_rev(s->mvcc);
    st->db_size = ms.bytes;
    st->log_first = s->first;
    st->log_last = st_last((void *)s);
    if (raft_conf_role(&rs.conf, s->id) == RAFT_LEARNER)
        st->role = "learner";
    else if (rs.role == RAFT_LEADER)
        st->role = "leader";
    else if (rs.role == RAFT_FOLLOWER)
        st->role = "follower";
    else
        st->role = "candidate";
    sk_strlcpy(st->last_error, s->last_error, sizeof(st->last_error));
}

/* The leader's view of m's replication (raft_status has it on the
 * leader only). */
static void
member_progress(const struct raft_status *rs, struct store_member *m)
{
    uint32_t k;

    for (k = 0; k < rs->n_progress; k++) {
        const struct raft_progress_status *p = &rs->progress[k];

        if (p->id != m->id)
            continue;
        m->progress = true;
        m->active = p->active;
        m->match = p->match;
        m->next = p->next;
        m->lag = rs->last_index > p->match ? rs->last_index - p->match : 0;
        m->state = raft_progress_state_name(p->state);
    }
}

size_t
store_members(const struct store *s, struct store_member *out, size_t max)
{
    struct raft_status rs;
    size_t i, n = 0;

    raft_status(s->r, &rs);
    for (i = 0; i < rs.conf.n && n < max; i++, n++) {
        memset(&out[n], 0, sizeof(out[n]));
        out[n].id = rs.conf.servers[i].id;
        snprintf(out[n].name, sizeof(out[n].name), "%s",
                 *member_name(s, out[n].id) ? member_name(s, out[n].id) : "?");
        out[n].voter = rs.conf.servers[i].role == RAFT_VOTER;
        out[n].leader = rs.leader == out[n].id;
        out[n].match = out[n].id == s->id ? rs.last_index : 0;
        out[n].state = "";
        member_progress(&rs, &out[n]);
        if (out[n].id == s->id && s->tr)
            sk_strlcpy(out[n].peer, s->self_addr, sizeof(out[n].peer));
        for (size_t k = 0; k < s->npeers; k++)
            if (s->peers[k].id == out[n].id)
                sk_strlcpy(out[n].peer, s->peers[k].addr, sizeof(out[n].peer));
    }
    return n;
}
