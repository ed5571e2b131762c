/* The member's network side: Raft messages over the peer transport,
 * forwarding of writes and ReadIndex from followers to the leader,
 * InstallSnapshot streamed in chunks, and what membership changes mean
 * for the peer table.
 *
 * FORWARDING. A follower sends the leader FWD_WRITE with the command;
 * the leader proposes it and answers with the entry's (term, index) at
 * once, on its own connection to the follower, the one that also
 * carries its AppendEntries: the answer therefore arrives before the
 * entry can be committed, and the follower waits for that entry to be
 * applied LOCALLY, where it computes the result itself (mvcc_apply is
 * deterministic). Reads: FWD_READ asks the leader for a ReadIndex round
 * (Raft thesis §6.4, "followers can serve reads"); the follower serves
 * the reads once it has applied that index.
 *
 * INSTALLSNAPSHOT. When the core sends a SNAPSHOT message, the leader
 * streams the snapshot file it names as SNAP_CHUNKs while the peer's
 * queue has room, then sends the message itself. The follower writes
 * the chunks into a snapshot writer and, when the message arrives with
 * every byte received, commits the file and hands the message to its
 * core, which later asks for the install in a ready. */
#include "store/frame.h"
#include "store/io.h"
#include "store/node_int.h"
#include "store/snapshot.h"
#include "store/transport.h"

#include "lib/alloc.h"
#include "lib/log.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SNAP_CHUNK_SIZE   (1u << 20)
#define SNAP_QUEUE_TARGET (4u << 20)

/* ---- the peer table ---- */

struct node_peer *
node_peer_find(struct store *s, uint64_t id)
{
    size_t i;

    for (i = 0; i < s->npeers; i++)
        if (s->peers[i].id == id)
            return &s->peers[i];
    return NULL;
}

const char *
node_peer_name(const struct store *s, uint64_t id)
{
    size_t i;

    if (id == s->id)
        return s->name;
    for (i = 0; i < s->npeers; i++)
        if (s->peers[i].id == id)
            return s->peers[i].name;
    return "";
}

static struct node_peer *
peer_set(struct store *s, const char *name, const char *addr)
{
    uint64_t id = store_member_id(name);
    struct node_peer *p = node_peer_find(s, id);

    if (!p) {
        if (s->npeers == RAFT_CONF_MAX)
            return NULL;
        p = &s->peers[s->npeers++];
        memset(p, 0, sizeof(*p));
        p->id = id;
    }
    sk_strlcpy(p->name, name, sizeof(p->name));
    if (addr && *addr)
        sk_strlcpy(p->addr, addr, sizeof(p->addr));
    return p;
}

/* ---- snapshot streaming (leader) ---- */

static void
snap_send_stop(struct store *s, struct node_peer *p, int ok)
{
    snapshot_reader_free(p->snap_rd);
    p->snap_rd = NULL;
    p->snap_off = 0;
    if (s->r)
        raft_report_snapshot(s->r, p->id, ok);
}

static void
snap_pump(struct store *s, struct node_peer *p)
{
    const struct snapshot_info *info;
    unsigned char hdr[41];
    struct sk_err err;
    ssize_t n;
    size_t hlen;

    while (p->snap_rd && transport_queued(s->tr, p->id) < SNAP_QUEUE_TARGET) {
        info = snapshot_reader_info(p->snap_rd);
        sk_buf_reset(&s->scratch);
        store_le64_put(hdr, info->term);
        store_le64_put(hdr + 8, info->index);
        store_le64_put(hdr + 16, info->payload_len);
        store_le64_put(hdr + 24, p->snap_off);
        hdr[32] = (unsigned char)info->conf_len;
        hlen = 33;
        sk_buf_append(&s->scratch, hdr, hlen);
        sk_buf_append(&s->scratch, info->conf, info->conf_len);
        hlen = s->scratch.len;
        sk_buf_grow(&s->scratch, SNAP_CHUNK_SIZE);
        sk_err_init(&err);
        n = snapshot_reader_pread(p->snap_rd, s->scratch.data + hlen, SNAP_CHUNK_SIZE, p->snap_off,
                                  &err);
        if (n < 0) {
            sk_warn("store", "sending snapshot to '%s': %s", p->name, err.msg);
            snap_send_stop(s, p, 0);
            return;
        }
        s->scratch.len = hlen + (size_t)n;
        if (transport_send(s->tr, p->id, FRAME_SNAP_CHUNK, s->scratch.data, s->scratch.len) < 0) {
            snap_send_stop(s, p, 0);
            return;
        }
        p->snap_off += (uint64_t)n;
        if (p->snap_off < info->payload_len && n > 0)
            continue;
        /* Every byte is queued: the message follows them on the stream. */
        sk_buf_reset(&s->scratch);
        frame_msg_encode(&s->scratch, &p->snap_msg);
        if (transport_send(s->tr, p->id, FRAME_RAFT, s->scratch.data, s->scratch.len) < 0) {
            snap_send_stop(s, p, 0);
            return;
        }
        sk_info("store", "sent snapshot %" PRIu64 " (%" PRIu64 " bytes) to '%s'", info->index,
                info->payload_len, p->name);
        snap_send_stop(s, p, 1);
        return;
    }
}

static void
snap_send_start(struct store *s, const struct raft_msg *m)
{
    struct node_peer *p = node_peer_find(s, m->to);
    struct sk_err err;
    char *path;
    int rc;

    if (!p || p->snap_rd)
        return;
    path = snapshot_path(s->data_dir, m->snapshot.term, m->snapshot.index);
    sk_err_init(&err);
    rc = snapshot_open(&p->snap_rd, path, SNAPSHOT_NO_VERIFY, &err);
    free(path);
    if (rc < 0) {
        sk_warn("store", "snapshot for '%s': %s", p->name, err.msg);
        p->snap_rd = NULL;
        raft_report_snapshot(s->r, p->id, 0);
        return;
    }
    p->snap_msg = *m;
    p->snap_msg.entries = NULL;
    p->snap_msg.n_entries = 0;
    p->snap_off = 0;
    snap_pump(s, p);
}

/* ---- snapshot receiving (follower) ---- */

static void
rx_abort(struct store *s)
{
    snapshot_writer_abort(s->rx_w);
    s->rx_w = NULL;
}

static void
rx_chunk(struct store *s, const unsigned char *p, size_t len)
{
    uint64_t term, index, total, off;
    uint8_t conf_len;
    struct sk_err err;

    if (len < 33)
        return;
    term = store_le64_get(p);
    index = store_le64_get(p + 8);
    total = store_le64_get(p + 16);
    off = store_le64_get(p + 24);
    conf_len = p[32];
    if (len < 33u + conf_len)
        return;
    sk_err_init(&err);
    if (off == 0) {
        rx_abort(s);
        /* Already applied past it (a late transfer from a deposed
         * leader, delivered once a partition healed): writing it again
         * would only replace a snapshot file; the core answers the
         * message with its commit index without the data. */
        if (index <= s->applied) {
            sk_debug("store", "ignoring snapshot %" PRIu64 ": applied %" PRIu64, index, s->applied);
            return;
        }
        if (snapshot_writer_begin(&s->rx_w, s->data_dir, term, index, p + 33, conf_len, &err) < 0) {
            sk_warn("store", "receiving snapshot %" PRIu64 ": %s", index, err.msg);
            return;
        }
        s->rx_term = term;
        s->rx_index = index;
        s->rx_total = total;
    }
    if (!s->rx_w || s->rx_term != term || s->rx_index != index ||
        snapshot_writer_size(s->rx_w) != off)
        return; /* a piece of an abandoned transfer */
    if (snapshot_writer_write(s->rx_w, p + 33 + conf_len, len - 33 - conf_len, &err) < 0) {
        sk_warn("store", "receiving snapshot %" PRIu64 ": %s", index, err.msg);
        rx_abort(s);
    }
}

/* The SNAPSHOT message: commit the file it needs, or drop it. */
static int
rx_finish(struct store *s, struct raft_msg *m)
{
    struct sk_err err;
    struct snapshot_writer *w = s->rx_w;

    /* Behind what we applied: the core only acknowledges it (its
     * commit index is past it) and never asks to install it. */
    if (m->snapshot.index <= s->applied && (!w || s->rx_index != m->snapshot.index))
        return 0;
    if (!w || s->rx_term != m->snapshot.term || s->rx_index != m->snapshot.index ||
        snapshot_writer_size(w) != s->rx_total)
        return -1;
    s->rx_w = NULL;
    sk_err_init(&err);
    if (snapshot_writer_commit(w, &err) < 0) {
        sk_warn("store", "receiving snapshot %" PRIu64 ": %s", m->snapshot.index, err.msg);
        return -1;
    }
    m->snapshot.handle = m->snapshot.index;
    sk_info("store", "received snapshot %" PRIu64 " (%" PRIu64 " bytes)", m->snapshot.index,
            s->rx_total);
    return 0;
}

/* ---- sending ---- */

void
node_net_send(struct store *s, const struct raft_msg *msgs, size_t n)
{
    size_t i;

    if (!s->tr)
        return;
    for (i = 0; i < n; i++) {
        if (msgs[i].type == RAFT_MSG_SNAPSHOT) {
            snap_send_start(s, &msgs[i]);
            continue;
        }
        sk_buf_reset(&s->scratch);
        frame_msg_encode(&s->scratch, &msgs[i]);
        /* A full or broken queue drops the message: Raft retries. */
        transport_send(s->tr, msgs[i].to, FRAME_RAFT, s->scratch.data, s->scratch.len);
    }
}

/* ---- forwarding ---- */

static uint64_t
leader_to_forward(struct store *s)
{
    uint64_t leader = s->soft.leader;

    if (!s->tr || !leader || leader == s->id || !transport_connected(s->tr, leader))
        return 0;
    return leader;
}

int
node_fwd_write(struct store *s, struct node_req *req, const void *cmd, size_t len)
{
    uint64_t leader = leader_to_forward(s);
    unsigned char id[8];

    if (!leader)
        return -1;
    req->fwd_id = ++s->fwd_seq;
    sk_buf_reset(&s->scratch);
    store_le64_put(id, req->fwd_id);
    sk_buf_append(&s->scratch, id, 8);
    sk_buf_append(&s->scratch, cmd, len);
    if (transport_send(s->tr, leader, FRAME_FWD_WRITE, s->scratch.data, s->scratch.len) < 0)
        return -1;
    free(req->cmd);
    req->cmd = NULL;
    node_queue_push(&s->fwd_wait, req);
    return 0;
}

int
node_fwd_reads(struct store *s, struct node_queue *reads)
{
    uint64_t leader = leader_to_forward(s), fid;
    unsigned char id[8];
    struct node_req *req;

    if (!leader)
        return -1;
    fid = ++s->fwd_seq;
    store_le64_put(id, fid);
    if (transport_send(s->tr, leader, FRAME_FWD_READ, id, 8) < 0)
        return -1;
    while ((req = node_queue_pop(reads))) {
        req->fwd_id = fid;
        node_queue_push(&s->fwd_wait, req);
    }
    return 0;
}

static void
fwd_answer(struct store *s, uint64_t to, uint8_t type, uint64_t id, int code, uint64_t term,
           uint64_t index)
{
    unsigned char b[28];

    store_le64_put(b, id);
    store_le32_put(b + 8, (uint32_t)code);
    store_le64_put(b + 12, type == FRAME_FWD_WRITE_RESP ? term : index);
    store_le64_put(b + 20, index);
    transport_send(s->tr, to, type, b, type == FRAME_FWD_WRITE_RESP ? 28 : 20);
}

void
node_fwd_read_answer(struct store *s, struct node_req *req, uint64_t index)
{
    fwd_answer(s, req->fwd_from, FRAME_FWD_READ_RESP, req->fwd_id, index ? 0 : EAGAIN, 0, index);
}

/* Leader: propose a follower's command and answer with its ticket. */
static void
on_fwd_write(struct store *s, uint64_t from, const unsigned char *p, size_t len)
{
    struct raft_ticket t;
    struct sk_err err;
    uint64_t id;
    int rc;

    if (len < 8)
        return;
    id = store_le64_get(p);
    sk_err_init(&err);
    rc = s->closing ? -ECANCELED : raft_propose(s->r, p + 8, (uint32_t)(len - 8), &t, &err);
    fwd_answer(s, from, FRAME_FWD_WRITE_RESP, id, rc < 0 ? EAGAIN : 0, t.term, t.index);
    if (rc == 0)
        node_schedule(s);
}

static void
on_fwd_read(struct store *s, uint64_t from, const unsigned char *p, size_t len)
{
    struct node_req *req;

    if (len != 8)
        return;
    req = sk_calloc(1, sizeof(*req));
    req->is_read = 1;
    req->fwd_from = from;
    req->fwd_id = store_le64_get(p);
    req->s = s;
    req->deadline_ms = sk_loop_now_ms(s->loop);
    if (s->soft.role != RAFT_LEADER) {
        node_fwd_read_answer(s, req, 0);
        free(req);
        return;
    }
    node_queue_push(&s->reads_new, req);
    node_schedule(s);
}

/* Insert req into the proposals, kept in index order. */
static void
props_insert(struct store *s, struct node_req *req)
{
    struct node_req **pp = &s->props.head, *prev = NULL;

    while (*pp && (*pp)->index <= req->index) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    req->next = *pp;
    *pp = req;
    if (!req->next)
        s->props.tail = req;
    (void)prev;
}

static void
on_fwd_resp(struct store *s, uint8_t type, const unsigned char *p, size_t len)
{
    struct node_req *req, **pp = &s->fwd_wait.head, *next;
    uint64_t id, term, index;
    int code;

    if (len < 20)
        return;
    id = store_le64_get(p);
    code = (int)store_le32_get(p + 8);
    term = store_le64_get(p + 12);
    index = type == FRAME_FWD_WRITE_RESP && len >= 28 ? store_le64_get(p + 20) : term;
    s->fwd_wait.tail = NULL;
    while ((req = *pp)) {
        next = req->next;
        if (req->fwd_id != id) {
            s->fwd_wait.tail = req;
            pp = &req->next;
            continue;
        }
        *pp = next;
        req->fwd_id = 0;
        if (code) {
            node_req_fail(req, code, "the leader could not take the request; retry");
        } else if (req->is_read) {
            req->index = index;
            req->ctx = 0;
            node_queue_push(&s->reads_wait, req);
        } else if (index <= s->applied) {
            node_req_fail(req, ETIMEDOUT, "outcome unknown (applied before the leader's answer)");
        } else {
            req->term = term;
            req->index = index;
            props_insert(s, req);
        }
    }
    node_reads_complete(s);
}

/* ---- receiving ---- */

static void
on_raft(struct store *s, const unsigned char *p, size_t len)
{
    struct raft_msg m;
    struct sk_err err;

    sk_err_init(&err);
    if (frame_msg_decode(p, len, &m, &err) < 0) {
        sk_warn("store", "peer message: %s", err.msg);
        return;
    }
    if (m.to != s->id || (m.type == RAFT_MSG_SNAPSHOT && rx_finish(s, &m) < 0)) {
        frame_msg_release(&m);
        return;
    }
    if (raft_step(s->r, &m, &err) < 0)
        sk_debug("store", "message from %016" PRIx64 ": %s", m.from, err.msg);
    frame_msg_release(&m);
    node_schedule(s);
}

/* ---- the leader's progress table for a follower's `members` ---- */

#define STATUS_ENTRY 26 /* u64 id | u64 match | u64 next | u8 state | u8 active */

/* Leader: answer with every server's progress (n 0 if we do not lead). */
static void
on_fwd_status(struct store *s, uint64_t from, const unsigned char *p, size_t len)
{
    struct raft_status st;
    unsigned char b[17 + RAFT_CONF_MAX * STATUS_ENTRY], *q = b + 17;
    uint32_t i;

    if (len != 8)
        return;
    raft_status(s->r, &st);
    memcpy(b, p, 8);
    store_le64_put(b + 8, st.last_index);
    b[16] = (unsigned char)st.n_progress;
    for (i = 0; i < st.n_progress; i++, q += STATUS_ENTRY) {
        store_le64_put(q, st.progress[i].id);
        store_le64_put(q + 8, st.progress[i].match);
        store_le64_put(q + 16, st.progress[i].next);
        q[24] = st.progress[i].state;
        q[25] = st.progress[i].active;
    }
    transport_send(s->tr, from, FRAME_FWD_STATUS_RESP, b, (size_t)(q - b));
}

static struct node_mwait *
mwait_take(struct store *s, uint64_t id)
{
    struct node_mwait **pp, *w;

    for (pp = &s->mwait; (w = *pp); pp = &w->next)
        if (w->id == id) {
            *pp = w->next;
            return w;
        }
    return NULL;
}

/* Follower: the leader's table, laid over the local member list. */
static void
on_fwd_status_resp(struct store *s, const unsigned char *p, size_t len)
{
    struct store_member m[STORE_MEMBERS_MAX];
    struct node_mwait *w;
    uint64_t last;
    size_t n, i, k, cnt;

    if (len < 17 || len != 17 + (size_t)p[16] * STATUS_ENTRY || p[16] > RAFT_CONF_MAX)
        return;
    w = mwait_take(s, store_le64_get(p));
    if (!w)
        return;
    last = store_le64_get(p + 8);
    cnt = p[16];
    n = store_members(s, m, STORE_MEMBERS_MAX);
    for (i = 0; i < n; i++)
        for (k = 0; k < cnt; k++) {
            const unsigned char *e = p + 17 + k * STATUS_ENTRY;

            if (store_le64_get(e) != m[i].id)
                continue;
            m[i].progress = true;
            m[i].match = store_le64_get(e + 8);
            m[i].next = store_le64_get(e + 16);
            m[i].lag = last > m[i].match ? last - m[i].match : 0;
            m[i].state = raft_progress_state_name(e[24]);
            m[i].active = e[25] != 0;
        }
    w->cb(w->arg, m, n);
    free(w);
}

void
node_mwait_expire(struct store *s, uint64_t now, bool all)
{
    struct store_member m[STORE_MEMBERS_MAX];
    struct node_mwait **pp = &s->mwait, *w;
    size_t n;

    while ((w = *pp)) {
        if (!all && w->deadline_ms > now) {
            pp = &w->next;
            continue;
        }
        *pp = w->next;
        n = s->r ? store_members(s, m, STORE_MEMBERS_MAX) : 0;
        w->cb(w->arg, m, n);
        free(w);
    }
}

void
store_members_progress(struct store *s, store_members_cb cb, void *arg)
{
    struct store_member m[STORE_MEMBERS_MAX];
    uint64_t leader = leader_to_forward(s);
    struct node_mwait *w;
    unsigned char id[8];

    if (leader) {
        w = sk_calloc(1, sizeof(*w));
        w->id = ++s->fwd_seq;
        store_le64_put(id, w->id);
        if (transport_send(s->tr, leader, FRAME_FWD_STATUS, id, 8) == 0) {
            w->cb = cb;
            w->arg = arg;
            w->deadline_ms = sk_loop_now_ms(s->loop) + s->election_ms;
            w->next = s->mwait;
            s->mwait = w;
            return;
        }
        free(w);
    }
    cb(arg, m, store_members(s, m, STORE_MEMBERS_MAX));
}

static void
on_frame(void *arg, uint64_t from, uint8_t type, const unsigned char *p, size_t len)
{
    struct store *s = arg;

    if (s->failed)
        return;
    switch (type) {
    case FRAME_RAFT:
        on_raft(s, p, len);
        break;
    case FRAME_FWD_WRITE:
        on_fwd_write(s, from, p, len);
        break;
    case FRAME_FWD_READ:
        on_fwd_read(s, from, p, len);
        break;
    case FRAME_FWD_WRITE_RESP:
    case FRAME_FWD_READ_RESP:
        on_fwd_resp(s, type, p, len);
        break;
    case FRAME_SNAP_CHUNK:
        rx_chunk(s, p, len);
        break;
    case FRAME_FWD_STATUS:
        on_fwd_status(s, from, p, len);
        break;
    case FRAME_FWD_STATUS_RESP:
        on_fwd_status_resp(s, p, len);
        break;
    }
}

static void
on_peer_hello(void *arg, uint64_t id, const char *name, const char *addr)
{
    struct store *s = arg;
    struct node_peer *p;

    if (store_member_id(name) != id || id == s->id)
        return;
    p = peer_set(s, name, addr);
    if (p && *p->addr && !transport_connected(s->tr, id))
        transport_add_peer(s->tr, id, p->addr);
}

static void
on_peer_down(void *arg, uint64_t id)
{
    struct store *s = arg;
    struct node_peer *p = node_peer_find(s, id);

    if (p && p->snap_rd)
        snap_send_stop(s, p, 0);
    if (s->r)
        raft_report_unreachable(s->r, id);
}

static void
on_drain(void *arg, uint64_t id)
{
    struct store *s = arg;
    struct node_peer *p = node_peer_find(s, id);

    if (p && p->snap_rd)
        snap_pump(s, p);
}

/* ---- membership ---- */

/* A CONF entry was applied: dial the members we know an address for. */
void
node_conf_applied(struct store *s)
{
    struct node_peer *p;
    uint32_t i;

    if (!s->tr)
        return;
    for (i = 0; i < s->conf.n; i++) {
        p = node_peer_find(s, s->conf.servers[i].id);
        if (p && *p->addr && s->conf.servers[i].id != s->id)
            transport_add_peer(s->tr, p->id, p->addr);
    }
}

/* Leader: promote learners that caught up (§4.2.1); the core refuses
 * (EBUSY) those that have not, and one change at a time. */
void
node_promote_learners(struct store *s)
{
    struct raft_status st;
    struct raft_ticket t;
    uint32_t i;

    if (s->soft.role != RAFT_LEADER)
        return;
    raft_status(s->r, &st);
    for (i = 0; i < st.conf.n; i++) {
        if (st.conf.servers[i].role != RAFT_LEARNER)
            continue;
        if (raft_promote(s->r, st.conf.servers[i].id, &t, NULL) == 0) {
            sk_info("store", "promoting learner '%s'", node_peer_name(s, st.conf.servers[i].id));
            node_schedule(s);
            return;
        }
    }
}

static int
member_op(struct store *s, int op, const char *name, const char *addr, struct raft_ticket *t,
          struct sk_err *err)
{
    uint64_t id = store_member_id(name);

    if (op == 1) {
        if (!peer_set(s, name, addr))
            return sk_err_set(err, ENOSPC, "too many members");
        if (s->tr)
            transport_add_peer(s->tr, id, addr);
        return raft_add_learner(s->r, id, t, err);
    }
    if (op == 2)
        return raft_promote(s->r, id, t, err);
    return raft_remove(s->r, id, t, err);
}

void
store_member_change(struct store *s, const char *op, const char *name, const char *addr,
                    store_write_cb cb, void *arg)
{
    struct node_req *req = sk_calloc(1, sizeof(*req));
    struct raft_ticket t;
    struct sk_err err;
    int code = strcmp(op, "add") == 0 ? 1 : strcmp(op, "promote") == 0 ? 2 : 3;

    req->wcb = cb;
    req->arg = arg;
    req->conf = 1;
    req->s = s;
    req->deadline_ms = sk_loop_now_ms(s->loop);
    sk_err_init(&err);
    if (!s->tr) {
        node_req_fail(req, EINVAL,
                      "this member runs without a peer transport: restart it with "
                      "server.peers (and server.peer-listen) to add members");
        return;
    }
    if (s->soft.role != RAFT_LEADER) {
        sk_err_set(&err, EAGAIN, "not the leader; ask '%s'", node_peer_name(s, s->soft.leader));
        node_req_fail(req, EAGAIN, err.msg);
        return;
    }
    if (member_op(s, code, name, addr, &t, &err) < 0) {
        node_req_fail(req, err.code == EBUSY ? EAGAIN : EINVAL, err.msg);
        return;
    }
    req->term = t.term;
    req->index = t.index;
    node_queue_push(&s->props, req);
    node_schedule(s);
}

/* ---- start and stop ---- */

static int
read_secret(const char *path, unsigned char *buf, size_t max, size_t *len, struct sk_err *err)
{
    ssize_t n;
    int fd = -1;

    if (!path || !*path)
        return sk_err_set(err, EINVAL, "a cluster needs server.cluster-secret-file");
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sk_err_sys(err, errno, "cluster secret file '%s'", path);
    n = read(fd, buf, max);
    close(fd);
    if (n < 0)
        return sk_err_sys(err, errno, "cluster secret file '%s'", path);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    if (n < 16)
        return sk_err_set(err, EINVAL, "cluster secret file '%s': at least 16 bytes needed", path);
    *len = (size_t)n;
    return 0;
}

/* "name=host:port,..." into the peer table. */
static int
parse_peers(struct store *s, const char *peers, struct sk_err *err)
{
    char *copy = sk_strdup(peers), *save = NULL, *item, *eq;
    int rc = 0;

    for (item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        while (*item == ' ')
            item++;
        eq = strchr(item, '=');
        if (!eq || eq == item || !eq[1]) {
            rc = sk_err_set(err, EINVAL, "peers: '%s' is not name=host:port", item);
            break;
        }
        *eq = '\0';
        if (strcmp(item, s->name) == 0)
            continue; /* tolerate listing oneself */
        if (!peer_set(s, item, eq + 1)) {
            rc = sk_err_set(err, EINVAL, "peers: more than %d members", RAFT_CONF_MAX);
            break;
        }
    }
    free(copy);
    return rc;
}

static int
conf_cmp(const void *a, const void *b)
{
    const struct raft_server *x = a, *y = b;

    return x->id < y->id ? -1 : x->id > y->id;
}

int
node_net_start(struct store *s, const struct store_config *cfg, struct raft_conf *boot,
               struct sk_err *err)
{
    static const struct transport_ops ops = {on_frame, on_peer_hello, on_peer_down, on_drain};
    unsigned char secret[4096];
    size_t secret_len = 0, i;

    memset(boot, 0, sizeof(*boot));
    boot->n = 1;
    boot->servers[0] = (struct raft_server){s->id, RAFT_VOTER};
    if ((!cfg->peers || !*cfg->peers) && !cfg->join)
        return 0; /* a single member: no network at all */
    if (parse_peers(s, cfg->peers ? cfg->peers : "", err) < 0 ||
        read_secret(cfg->secret_file, secret, sizeof(secret), &secret_len, err) < 0)
        return -1;
    if (!cfg->peer_listen || !*cfg->peer_listen)
        return sk_err_set(err, EINVAL, "a cluster needs server.peer-listen");
    if (transport_new(s->loop, s->id, s->name, cfg->peer_listen, secret, secret_len, &ops, s,
                      &s->tr, err) < 0)
        return -1;
    memset(secret, 0, sizeof(secret));
    for (i = 0; i < s->npeers; i++) {
        transport_add_peer(s->tr, s->peers[i].id, s->peers[i].addr);
        boot->servers[boot->n++] = (struct raft_server){s->peers[i].id, RAFT_VOTER};
    }
    qsort(boot->servers, boot->n, sizeof(boot->servers[0]), conf_cmp);
    return 0;
}

void
node_net_stop(struct store *s)
{
    size_t i;

    for (i = 0; i < s->npeers; i++) {
        snapshot_reader_free(s->peers[i].snap_rd);
        s->peers[i].snap_rd = NULL;
    }
    rx_abort(s);
    transport_free(s->tr);
    s->tr = NULL;
    sk_buf_release(&s->scratch);
}
