/* The simulated cluster: one driver per node over an in-memory disk, and
 * the network between them. See raft_sim.h.
 *
 * The driver follows raft.h's ready contract to the letter, and uses its
 * freedom: it sends a ready's messages BEFORE making the ready durable
 * (the core promises they do not depend on it), and with async_pct it
 * defers the writes while other events reach the node. A crash loses
 * everything not yet written; a disk failure stops the writes at a random
 * point (snapshot, truncation, a prefix of the entries, hard state) and
 * crashes the node without raft_advance(). Hard state commit is stored
 * lazily (only with a term or vote change), as a real driver may.
 *
 * Durable logs: entry i of a disk is kept with the hash chain of the log
 * up to i; the state machine is that same chain over applied entries, so
 * a snapshot is just (index, term, chain, configuration). */
#include "lib/alloc.h"
#include "raft_sim_int.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static uint64_t
sim_rand64(struct rsim *s)
{
    uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t
rsim_rand(struct rsim *s, uint64_t n)
{
    return n ? sim_rand64(s) % n : 0;
}

void
rsim_tracef(struct rsim *s, const char *fmt, ...)
{
    va_list ap;
    char *line;
    int off;

    if (!s->trace)
        return;
    line = s->trace[s->trace_pos];
    off = snprintf(line, RSIM_TRACE_WIDTH, "%5llu.%llu ",
                   (unsigned long long)(s->now / RSIM_SLOTS_PER_TICK),
                   (unsigned long long)(s->now % RSIM_SLOTS_PER_TICK));
    va_start(ap, fmt);
    vsnprintf(line + off, RSIM_TRACE_WIDTH - (size_t)off, fmt, ap);
    va_end(ap);
    s->trace_pos = (s->trace_pos + 1) % RSIM_TRACE_LINES;
    if (s->trace_n < RSIM_TRACE_LINES)
        s->trace_n++;
}

void
rsim_trace_dump(const struct rsim *s, FILE *f)
{
    unsigned i, start = (s->trace_pos + RSIM_TRACE_LINES - s->trace_n) % RSIM_TRACE_LINES;

    for (i = 0; i < s->trace_n; i++)
        fprintf(f, "  %s\n", s->trace[(start + i) % RSIM_TRACE_LINES]);
}

static struct rsim_node *
node_of(struct rsim *s, uint64_t id)
{
    return id >= 1 && id <= s->n ? &s->nodes[id - 1] : NULL;
}

/* ---- the disk, and the storage interface the core reads it through ---- */

static uint64_t
disk_last(const struct rsim_disk *d)
{
    return d->first + d->n - 1;
}

static uint64_t
st_first(void *ud)
{
    return ((struct rsim_node *)ud)->disk.first;
}

static uint64_t
st_last(void *ud)
{
    return disk_last(&((struct rsim_node *)ud)->disk);
}

static uint64_t
st_term(void *ud, uint64_t index)
{
    struct rsim_node *n = ud;
    const struct rsim_disk *d = &n->disk;

    if (index + 1 == d->first)
        return d->base_term;
    if (index < d->first || index > disk_last(d)) {
        rsim_fail(n->s, "node %llu: core asked term of %llu outside stored [%llu, %llu]",
                  (unsigned long long)n->id, (unsigned long long)index,
                  (unsigned long long)d->first, (unsigned long long)disk_last(d));
        return 0;
    }
    return d->ents[index - d->first].e.term;
}

static int
st_entries(void *ud, uint64_t lo, uint64_t hi, uint64_t max_bytes, struct raft_entry *out,
           struct sk_err *err)
{
    struct rsim_node *n = ud;
    const struct rsim_disk *d = &n->disk;
    uint64_t bytes = 0, i;
    int k = 0;

    if (lo < d->first || hi > disk_last(d) + 1 || lo >= hi) {
        rsim_fail(n->s, "node %llu: core asked entries [%llu, %llu) outside stored [%llu, %llu]",
                  (unsigned long long)n->id, (unsigned long long)lo, (unsigned long long)hi,
                  (unsigned long long)d->first, (unsigned long long)disk_last(d));
        return sk_err_set(err, ERANGE, "entries out of range");
    }
    for (i = lo; i < hi; i++) {
        const struct raft_entry *e = &d->ents[i - d->first].e;

        if (k && bytes + e->len > max_bytes)
            break;
        raft_entry_copy(&out[k++], e);
        bytes += e->len;
    }
    return k;
}

static int
st_snapshot(void *ud, struct raft_snapshot_meta *meta, struct sk_err *err)
{
    struct rsim_node *n = ud;
    const struct rsim_snap *sn;

    memset(meta, 0, sizeof(*meta));
    if (!n->disk.snap)
        return 0;
    sn = &n->s->snaps[n->disk.snap - 1];
    meta->index = sn->index;
    meta->term = sn->term;
    meta->conf = sn->conf;
    meta->handle = n->disk.snap;
    return 0;
}

static void
disk_truncate(struct rsim_disk *d, uint64_t from)
{
    while (d->n && disk_last(d) >= from)
        free(d->ents[--d->n].e.data);
}

static int
disk_append(struct rsim *s, struct rsim_node *n, const struct raft_entry *e)
{
    struct rsim_disk *d = &n->disk;
    struct rsim_ent *x;

    if (e->index != disk_last(d) + 1)
        return rsim_fail(s, "node %llu: ready appends %llu after stored %llu",
                         (unsigned long long)n->id, (unsigned long long)e->index,
                         (unsigned long long)disk_last(d));
    if (d->n == d->cap) {
        d->cap = d->cap ? 2 * d->cap : 64;
        d->ents = sk_reallocarray(d->ents, d->cap, sizeof(*d->ents));
    }
    x = &d->ents[d->n];
    raft_entry_copy(&x->e, e);
    x->chain = rsim_chain(d->n ? d->ents[d->n - 1].chain : d->base_chain, e);
    d->n++;
    return rsim_check_durable(s, n, x);
}

static void
disk_install(struct rsim_disk *d, uint64_t handle, const struct rsim_snap *sn)
{
    disk_truncate(d, 0);
    d->first = sn->index + 1;
    d->base_term = sn->term;
    d->base_chain = sn->hash;
    d->snap = handle;
}

static void
disk_compact(struct rsim_disk *d, uint64_t to)
{
    size_t k, i;

    if (to < d->first)
        return;
    k = to - d->first + 1;
    d->base_term = d->ents[k - 1].e.term;
    d->base_chain = d->ents[k - 1].chain;
    for (i = 0; i < k; i++)
        free(d->ents[i].e.data);
    memmove(d->ents, d->ents + k, (d->n - k) * sizeof(*d->ents));
    d->n -= k;
    d->first = to + 1;
}

/* ---- the network ---- */

static const char *
msg_name(uint8_t type)
{
    static const char *names[] = {"?",         "APPEND",   "APPEND_RESP",  "VOTE",
                                  "VOTE_RESP", "PREVOTE",  "PREVOTE_RESP", "HEARTBEAT",
                                  "HB_RESP",   "SNAPSHOT", "TIMEOUT_NOW"};

    return type <= RAFT_MSG_TIMEOUT_NOW ? names[type] : "?";
}

static void
msg_trace(struct rsim *s, const char *what, const struct raft_msg *m)
{
    if (!s->trace)
        return;
    rsim_tracef(s, "%s %llu->%llu %s t%llu idx=%llu lt=%llu n=%u c=%llu rej=%u hint=%llu%s", what,
                (unsigned long long)m->from, (unsigned long long)m->to, msg_name(m->type),
                (unsigned long long)m->term, (unsigned long long)m->index,
                (unsigned long long)m->log_term, m->n_entries, (unsigned long long)m->commit,
                m->reject, (unsigned long long)m->hint, m->transfer ? " transfer" : "");
}

static void
net_push(struct rsim *s, const struct raft_msg *m, uint64_t delay)
{
    struct rsim_msg *x;
    uint32_t i;

    if (s->n_net == s->cap_net) {
        s->cap_net = s->cap_net ? 2 * s->cap_net : 256;
        s->net = sk_reallocarray(s->net, s->cap_net, sizeof(*s->net));
    }
    x = &s->net[s->n_net++];
    x->due = s->now + delay;
    x->m = *m;
    if (m->n_entries) {
        x->m.entries = sk_calloc(m->n_entries, sizeof(*m->entries));
        for (i = 0; i < m->n_entries; i++)
            raft_entry_copy(&x->m.entries[i], &m->entries[i]);
    }
}

static int node_process(struct rsim *s, struct rsim_node *n);

/* A lost snapshot is usually noticed by the transport (a broken
 * stream); sometimes not, and the leader must time out on its own. */
static int
snapshot_lost(struct rsim *s, const struct raft_msg *m)
{
    struct rsim_node *from = node_of(s, m->from);

    if (m->type != RAFT_MSG_SNAPSHOT || !from || !from->up || rsim_rand(s, 2))
        return 0;
    raft_report_snapshot(from->r, m->to, 0);
    return node_process(s, from);
}

static int
net_send(struct rsim *s, const struct raft_msg *m)
{
    unsigned span = s->cfg.max_delay - s->cfg.min_delay + 1, copies = 1, i;

    s->stats.sent++;
    if (rsim_rand(s, 100) < s->cfg.loss_pct) {
        s->stats.dropped++;
        msg_trace(s, "lost", m);
        return snapshot_lost(s, m);
    }
    if (rsim_rand(s, 100) < s->cfg.dup_pct)
        copies = 2;
    for (i = 0; i < copies; i++)
        net_push(s, m, s->cfg.min_delay + rsim_rand(s, span));
    return 0;
}

/* ---- the driver of one node ---- */

static uint64_t
le64(const void *p)
{
    const uint8_t *b = p;
    uint64_t v = 0;
    int i;

    for (i = 7; i >= 0; i--)
        v = v << 8 | b[i];
    return v;
}

/* A write is acknowledged to its client once its node applied it with
 * the term it was proposed in (no retries: an id is applied at most
 * once, anywhere). */
static int
apply_proposal(struct rsim *s, struct rsim_node *n, const struct raft_entry *e)
{
    struct rsim_prop *p;
    uint64_t id;

    if (e->len < 8)
        return rsim_fail(s, "node %llu applied a %u-byte entry at %llu", (unsigned long long)n->id,
                         e->len, (unsigned long long)e->index);
    id = le64(e->data);
    if (id == 0 || id > s->n_props)
        return rsim_fail(s, "node %llu applied unknown proposal %llu", (unsigned long long)n->id,
                         (unsigned long long)id);
    p = &s->props[id - 1];
    if (p->applied_at && p->applied_at != e->index)
        return rsim_fail(s, "proposal %llu applied at %llu and at %llu", (unsigned long long)id,
                         (unsigned long long)p->applied_at, (unsigned long long)e->index);
    p->applied_at = e->index;
    if (!p->acked && p->node == n->id && p->epoch == n->epoch && p->term == e->term &&
        p->index == e->index) {
        p->acked = 1;
        s->stats.acked++;
        if (e->index > s->ack_max)
            s->ack_max = e->index;
    }
    return 0;
}

static int
apply_entry(struct rsim *s, struct rsim_node *n, const struct raft_entry *e)
{
    uint64_t chain = rsim_chain(n->sm_hash, e);

    if (e->index != n->sm_index + 1)
        return rsim_fail(s, "node %llu applied %llu after %llu", (unsigned long long)n->id,
                         (unsigned long long)e->index, (unsigned long long)n->sm_index);
    if (rsim_check_applied(s, n, e, chain) < 0)
        return -1;
    n->sm_index = e->index;
    n->sm_term = e->term;
    n->sm_hash = chain;
    if (e->type == RAFT_ENTRY_CONF)
        raft_conf_decode(e->data, e->len, &n->sm_conf, NULL);
    else if (e->type == RAFT_ENTRY_NORMAL)
        return apply_proposal(s, n, e);
    return 0;
}

static void
node_crash(struct rsim *s, struct rsim_node *n, const char *why)
{
    if (!n->up)
        return;
    raft_free(n->r); /* also drops an outstanding ready, unwritten */
    n->r = NULL;
    n->up = 0;
    n->rd_out = 0;
    memset(&n->rd, 0, sizeof(n->rd));
    n->n_reads = 0;
    s->stats.crashes++;
    rsim_tracef(s, "node %llu crashes (%s)", (unsigned long long)n->id, why);
}

/* Write the ready in the contract's order. Returns 0, or 1 if an
 * injected disk failure crashed the node, or -1 on a violation. */
static int
ready_write(struct rsim *s, struct rsim_node *n)
{
    const struct raft_ready *rd = &n->rd;
    int fail = rsim_rand(s, 100) < s->cfg.disk_fail_pct ? (int)rsim_rand(s, 4) : -1;
    size_t i, cnt = rd->n_entries;

    if (rd->has_snapshot) {
        if (fail == 0)
            goto out_crash;
        disk_install(&n->disk, rd->snapshot.handle, &s->snaps[rd->snapshot.handle - 1]);
        s->stats.snapshots_installed++;
    }
    if (rd->truncate_from)
        disk_truncate(&n->disk, rd->truncate_from);
    if (fail == 1)
        cnt = rsim_rand(s, cnt + 1); /* a torn batch: only a prefix made it */
    for (i = 0; i < cnt; i++)
        if (disk_append(s, n, &rd->entries[i]) < 0)
            return -1;
    if (fail == 1 || fail == 2)
        goto out_crash;
    if (rd->hs_changed)
        n->disk.hs = rd->hs;
    if (fail == 3)
        goto out_crash;
    return 0;
out_crash:
    s->stats.disk_failures++;
    node_crash(s, n, "disk write failed");
    return 1;
}

static int
ready_apply(struct rsim *s, struct rsim_node *n)
{
    const struct raft_ready *rd = &n->rd;
    size_t i;

    if (rd->has_snapshot) {
        const struct rsim_snap *sn = &s->snaps[rd->snapshot.handle - 1];

        if (rsim_check_snapshot(s, sn) < 0)
            return -1;
        n->sm_index = sn->index;
        n->sm_term = sn->term;
        n->sm_hash = sn->hash;
        n->sm_conf = sn->conf;
    }
    for (i = 0; i < rd->n_committed; i++)
        if (apply_entry(s, n, &rd->committed[i]) < 0)
            return -1;
    for (i = 0; i < rd->n_reads; i++)
        if (rsim_check_read(s, n, &rd->reads[i]) < 0)
            return -1;
    raft_advance(n->r, &n->rd);
    n->rd_out = 0;
    return 0;
}

static int
ready_finish(struct rsim *s, struct rsim_node *n)
{
    int rc = ready_write(s, n);

    if (rc)
        return rc < 0 ? -1 : 0;
    if (ready_apply(s, n) < 0)
        return -1;
    return rsim_check(s);
}

static void
ready_trace(struct rsim *s, struct rsim_node *n)
{
    const struct raft_ready *rd = &n->rd;

    if (!s->trace)
        return;
    rsim_tracef(s,
                "node %llu ready %llu: hs%s t%llu v%llu c%llu, snap %llu, trunc %llu, "
                "%zu ents from %llu, %zu msgs, %zu committed, %zu reads, %s leader %llu",
                (unsigned long long)n->id, (unsigned long long)rd->seq, rd->hs_changed ? "*" : "",
                (unsigned long long)rd->hs.term, (unsigned long long)rd->hs.vote,
                (unsigned long long)rd->hs.commit,
                (unsigned long long)(rd->has_snapshot ? rd->snapshot.index : 0),
                (unsigned long long)rd->truncate_from, rd->n_entries,
                (unsigned long long)(rd->n_entries ? rd->entries[0].index : 0), rd->n_msgs,
                rd->n_committed, rd->n_reads, raft_role_name(rd->soft.role),
                (unsigned long long)rd->soft.leader);
}

/* The adversary: a leader whose commit index moved may crash at once,
 * before telling anyone (checked first, so the commit is on record). */
static int
crash_on_commit(struct rsim *s, struct rsim_node *n)
{
    uint64_t commit = n->up ? n->r->log.committed : 0;

    if (!n->up || commit == n->crash_commit)
        return 0;
    n->crash_commit = commit;
    if (n->r->role != RAFT_LEADER || rsim_rand(s, 100) >= s->cfg.crash_on_commit_pct)
        return 0;
    node_crash(s, n, "at commit");
    return 1;
}

static int
node_process(struct rsim *s, struct rsim_node *n)
{
    struct sk_err err;
    size_t i;

    if (rsim_check(s) < 0 || crash_on_commit(s, n))
        return rsim_check(s);
    while (n->up && !n->rd_out && raft_has_ready(n->r)) {
        if (raft_ready(n->r, &n->rd, &err) < 0)
            return rsim_fail(s, "node %llu: ready: %s", (unsigned long long)n->id, err.msg);
        n->rd_out = 1;
        ready_trace(s, n);
        /* Sending may report a lost snapshot back to n, which may then
         * crash: stop using rd at once if so. */
        for (i = 0; i < n->rd.n_msgs && n->up; i++)
            if (net_send(s, &n->rd.msgs[i]) < 0)
                return -1;
        if (!n->up)
            return rsim_check(s);
        if (n->hold) {
            n->rd_due = UINT64_MAX;
            break;
        }
        if (rsim_rand(s, 100) < s->cfg.async_pct) {
            n->rd_due = s->now + 1 + rsim_rand(s, s->cfg.max_async_slots + 1);
            break;
        }
        if (ready_finish(s, n) < 0)
            return -1;
    }
    return rsim_check(s);
}

static int
node_start(struct rsim *s, struct rsim_node *n)
{
    struct raft_config cfg = {0};
    struct raft_conf boot = {0};
    struct sk_err err;
    unsigned i;

    n->sm_index = n->sm_term = n->sm_hash = 0;
    memset(&n->sm_conf, 0, sizeof(n->sm_conf));
    if (n->disk.snap) {
        const struct rsim_snap *sn = &s->snaps[n->disk.snap - 1];

        n->sm_index = sn->index;
        n->sm_term = sn->term;
        n->sm_hash = sn->hash;
        n->sm_conf = sn->conf;
    }
    for (i = 0; i < s->cfg.voters; i++)
        boot.servers[boot.n++] = (struct raft_server){i + 1, RAFT_VOTER};
    cfg.id = n->id;
    cfg.election_ticks = s->cfg.election_ticks;
    cfg.heartbeat_ticks = s->cfg.heartbeat_ticks;
    cfg.max_msg_bytes = s->cfg.max_msg_bytes;
    cfg.max_inflight = s->cfg.max_inflight;
    cfg.snapshot_ticks = s->cfg.snapshot_ticks;
    cfg.trailing = s->cfg.trailing;
    cfg.max_apply_bytes = 256;
    cfg.seed = sim_rand64(s);
    cfg.applied = n->sm_index;
    cfg.bootstrap = n->founder ? &boot : NULL;
    if (raft_new(&cfg, &n->st, &n->disk.hs, &n->r, &err) < 0)
        return rsim_fail(s, "node %llu: start: %s", (unsigned long long)n->id, err.msg);
    n->up = 1;
    n->epoch++;
    n->commit_seen = n->r->log.committed;
    n->crash_commit = n->r->log.committed;
    n->lead_term = 0;
    n->lc_checked = 0;
    rsim_tracef(s, "node %llu starts: term %llu vote %llu commit %llu log [%llu, %llu]",
                (unsigned long long)n->id, (unsigned long long)n->r->term,
                (unsigned long long)n->r->vote, (unsigned long long)n->r->log.committed,
                (unsigned long long)n->disk.first, (unsigned long long)disk_last(&n->disk));
    return node_process(s, n);
}

/* ---- life cycle ---- */

void
rsim_config_default(struct rsim_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->voters = 3;
    cfg->election_ticks = 10;
    cfg->heartbeat_ticks = 1;
    cfg->min_delay = 1;
    cfg->max_delay = 2;
}

struct rsim *
rsim_new(uint64_t seed, const struct rsim_config *cfg)
{
    struct rsim *s = sk_calloc(1, sizeof(*s));
    unsigned i;

    s->cfg = *cfg;
    if (s->cfg.max_delay < s->cfg.min_delay)
        s->cfg.max_delay = s->cfg.min_delay;
    s->rng = seed;
    s->n = cfg->voters + cfg->spares;
    if (s->n > RSIM_MAX_NODES || !cfg->voters)
        SK_BUG("rsim: %u nodes", s->n);
    if (cfg->trace)
        s->trace = sk_calloc(RSIM_TRACE_LINES, sizeof(*s->trace));
    for (i = 0; i < s->n; i++) {
        struct rsim_node *n = &s->nodes[i];

        n->s = s;
        n->id = i + 1;
        n->founder = i < cfg->voters;
        n->st = (struct raft_storage){n, st_first, st_last, st_term, st_entries, st_snapshot};
        n->disk.first = 1;
    }
    for (i = 0; i < s->n && !s->failed; i++)
        node_start(s, &s->nodes[i]);
    return s;
}

void
rsim_free(struct rsim *s)
{
    unsigned i;
    size_t k;

    if (!s)
        return;
    for (i = 0; i < s->n; i++) {
        struct rsim_node *n = &s->nodes[i];

        raft_free(n->r);
        disk_truncate(&n->disk, 0);
        free(n->disk.ents);
        free(n->reads);
    }
    for (k = 0; k < s->n_net; k++)
        raft_entries_free(s->net[k].m.entries, s->net[k].m.n_entries);
    free(s->net);
    free(s->snaps);
    free(s->props);
    free(s->trace);
    rsim_check_release(s);
    free(s);
}

void
rsim_set_faults(struct rsim *s, unsigned loss_pct, unsigned dup_pct, unsigned disk_fail_pct,
                unsigned crash_on_commit_pct)
{
    s->cfg.crash_on_commit_pct = crash_on_commit_pct;
    s->cfg.loss_pct = loss_pct;
    s->cfg.dup_pct = dup_pct;
    s->cfg.disk_fail_pct = disk_fail_pct;
}

void
rsim_set_filter(struct rsim *s, rsim_filter_fn fn, void *ud)
{
    s->filter = fn;
    s->filter_ud = ud;
}

/* ---- time ---- */

static int
deliver(struct rsim *s, struct raft_msg *m)
{
    struct rsim_node *to = node_of(s, m->to);
    struct sk_err err;

    if (!to || !to->up || s->cut[m->from][m->to] || (s->filter && !s->filter(s->filter_ud, m))) {
        s->stats.dropped++;
        msg_trace(s, "drop", m);
        return snapshot_lost(s, m);
    }
    s->stats.delivered++;
    msg_trace(s, "recv", m);
    if (raft_step(to->r, m, &err) < 0)
        return rsim_fail(s, "node %llu refused a message: %s", (unsigned long long)to->id, err.msg);
    if (node_process(s, to) < 0)
        return -1;
    if (m->type == RAFT_MSG_SNAPSHOT && rsim_rand(s, 2)) {
        struct rsim_node *from = node_of(s, m->from);

        if (from && from->up) {
            raft_report_snapshot(from->r, m->to, 1);
            return node_process(s, from);
        }
    }
    return 0;
}

/* Deliver what is due, in random order. */
static int
deliver_due(struct rsim *s)
{
    struct rsim_msg *due = NULL;
    size_t n = 0, i = 0, k;
    int rc = 0;

    while (i < s->n_net) {
        if (s->net[i].due > s->now) {
            i++;
            continue;
        }
        if (!due)
            due = sk_calloc(s->n_net, sizeof(*due));
        due[n++] = s->net[i];
        s->net[i] = s->net[--s->n_net];
    }
    for (k = n; k > 1; k--) {
        size_t j = rsim_rand(s, k);
        struct rsim_msg t = due[k - 1];

        due[k - 1] = due[j];
        due[j] = t;
    }
    for (k = 0; k < n; k++) {
        if (!rc)
            rc = deliver(s, &due[k].m);
        raft_entries_free(due[k].m.entries, due[k].m.n_entries);
    }
    free(due);
    return rc;
}

static int
slot(struct rsim *s)
{
    unsigned i;

    s->now++;
    if (deliver_due(s) < 0)
        return -1;
    for (i = 0; i < s->n; i++) {
        struct rsim_node *n = &s->nodes[i];

        if (n->up && n->rd_out && n->rd_due <= s->now)
            if (ready_finish(s, n) < 0 || node_process(s, n) < 0)
                return -1;
    }
    if (s->now % RSIM_SLOTS_PER_TICK)
        return 0;
    s->stats.ticks++;
    for (i = 0; i < s->n; i++) {
        struct rsim_node *n = &s->nodes[i];

        if (!n->up)
            continue;
        raft_tick(n->r);
        if (node_process(s, n) < 0)
            return -1;
    }
    return 0;
}

int
rsim_run_ticks(struct rsim *s, unsigned ticks)
{
    unsigned i;

    if (s->failed)
        return -1;
    for (i = 0; i < ticks * RSIM_SLOTS_PER_TICK; i++)
        if (slot(s) < 0)
            return -1;
    return 0;
}

int64_t
rsim_wait_leader(struct rsim *s, uint64_t id, unsigned max_ticks)
{
    unsigned t;

    for (t = 0; t <= max_ticks; t++) {
        uint64_t l = rsim_leader(s);

        if (l && (!id || l == id))
            return (int64_t)l;
        if (rsim_run_ticks(s, 1) < 0)
            return -1;
    }
    return 0;
}

int
rsim_inject(struct rsim *s, const struct raft_msg *m)
{
    struct rsim_node *to = node_of(s, m->to);
    struct sk_err err;

    if (!to || !to->up)
        return -1;
    msg_trace(s, "inject", m);
    if (raft_step(to->r, m, &err) < 0)
        return -1;
    return node_process(s, to);
}

/* ---- faults ---- */

void
rsim_link(struct rsim *s, uint64_t from, uint64_t to, int up)
{
    if (from && to && from <= s->n && to <= s->n)
        s->cut[from][to] = (uint8_t)!up;
    rsim_tracef(s, "link %llu->%llu %s", (unsigned long long)from, (unsigned long long)to,
                up ? "up" : "cut");
}

void
rsim_isolate(struct rsim *s, uint64_t id)
{
    unsigned j;

    for (j = 1; j <= s->n; j++) {
        if (j == id || id > s->n)
            continue;
        s->cut[id][j] = 1;
        s->cut[j][id] = 1;
    }
    rsim_tracef(s, "node %llu isolated", (unsigned long long)id);
}

void
rsim_heal(struct rsim *s)
{
    memset(s->cut, 0, sizeof(s->cut));
    rsim_tracef(s, "network healed");
}

void
rsim_crash(struct rsim *s, uint64_t id)
{
    struct rsim_node *n = node_of(s, id);

    if (n)
        node_crash(s, n, "killed");
}

void
rsim_hold_writes(struct rsim *s, uint64_t id, int hold)
{
    struct rsim_node *n = node_of(s, id);

    if (!n)
        return;
    n->hold = hold;
    if (!hold && n->rd_out)
        n->rd_due = s->now + 1;
    rsim_tracef(s, "node %llu disk %s", (unsigned long long)id, hold ? "stalls" : "resumes");
}

int
rsim_restart(struct rsim *s, uint64_t id)
{
    struct rsim_node *n = node_of(s, id);

    if (!n || n->up)
        return 0;
    return node_start(s, n);
}

/* ---- clients ---- */

static struct rsim_node *
client_node(struct rsim *s, uint64_t id, struct sk_err *err)
{
    struct rsim_node *n = node_of(s, id);

    if (!n || !n->up) {
        sk_err_set(err, ENODEV, "node %llu is down", (unsigned long long)id);
        return NULL;
    }
    return n;
}

int
rsim_propose(struct rsim *s, uint64_t id, uint64_t *prop, struct sk_err *err)
{
    struct rsim_node *n = client_node(s, id, err);
    uint8_t data[40];
    uint64_t pid = s->n_props + 1;
    uint32_t len = 8 + (uint32_t)rsim_rand(s, 33);
    struct raft_ticket t;
    int i, rc;

    if (!n)
        return -ENODEV;
    memset(data, 0, sizeof(data));
    for (i = 0; i < 8; i++)
        data[i] = (uint8_t)(pid >> (8 * i));
    for (i = 8; i < (int)len; i++)
        data[i] = (uint8_t)rsim_rand(s, 256);
    rc = raft_propose(n->r, data, len, &t, err);
    if (rc < 0)
        return rc;
    if (s->n_props == s->cap_props) {
        s->cap_props = s->cap_props ? 2 * s->cap_props : 256;
        s->props = sk_reallocarray(s->props, s->cap_props, sizeof(*s->props));
    }
    s->props[s->n_props++] = (struct rsim_prop){id, n->epoch, t.term, t.index, 0, 0};
    if (prop)
        *prop = pid;
    rsim_tracef(s, "node %llu proposes %llu at (%llu, t%llu)", (unsigned long long)id,
                (unsigned long long)pid, (unsigned long long)t.index, (unsigned long long)t.term);
    return node_process(s, n);
}

int
rsim_read(struct rsim *s, uint64_t id, struct sk_err *err)
{
    struct rsim_node *n = client_node(s, id, err);
    struct raft_ticket t;
    uint64_t ctx = s->read_ctx + 1;
    int rc;

    if (!n)
        return -ENODEV;
    rc = raft_read_index(n->r, ctx, &t, err);
    if (rc < 0)
        return rc;
    s->read_ctx = ctx;
    if (n->n_reads == n->cap_reads) {
        n->cap_reads = n->cap_reads ? 2 * n->cap_reads : 16;
        n->reads = sk_reallocarray(n->reads, n->cap_reads, sizeof(*n->reads));
    }
    n->reads[n->n_reads++] = (struct rsim_pending_read){ctx, s->ack_max};
    rsim_tracef(s, "node %llu read %llu (acked up to %llu)", (unsigned long long)id,
                (unsigned long long)ctx, (unsigned long long)s->ack_max);
    return node_process(s, n);
}

int
rsim_snapshot(struct rsim *s, uint64_t id, struct sk_err *err)
{
    struct rsim_node *n = client_node(s, id, err);
    struct raft_snapshot_meta meta = {0};
    uint64_t compact_to;
    int rc;

    if (!n)
        return -ENODEV;
    if (!n->sm_index || (n->disk.snap && s->snaps[n->disk.snap - 1].index >= n->sm_index))
        return 0;
    if (s->n_snaps == s->cap_snaps) {
        s->cap_snaps = s->cap_snaps ? 2 * s->cap_snaps : 64;
        s->snaps = sk_reallocarray(s->snaps, s->cap_snaps, sizeof(*s->snaps));
    }
    s->snaps[s->n_snaps] = (struct rsim_snap){n->sm_index, n->sm_term, n->sm_hash, n->sm_conf};
    meta = (struct raft_snapshot_meta){n->sm_index, n->sm_term, n->sm_conf, s->n_snaps + 1};
    rc = raft_snapshot_taken(n->r, &meta, &compact_to, err);
    if (rc < 0)
        return rc;
    s->n_snaps++;
    n->disk.snap = meta.handle;
    if (compact_to > disk_last(&n->disk))
        return rsim_fail(s, "node %llu: compact to %llu past stored %llu",
                         (unsigned long long)n->id, (unsigned long long)compact_to,
                         (unsigned long long)disk_last(&n->disk));
    disk_compact(&n->disk, compact_to);
    s->stats.snapshots_taken++;
    rsim_tracef(s, "node %llu snapshot at %llu, log compacted to %llu", (unsigned long long)id,
                (unsigned long long)meta.index, (unsigned long long)compact_to);
    return node_process(s, n);
}

#define CLIENT_CALL(call, what)                                                                    \
    do {                                                                                           \
        struct rsim_node *n = client_node(s, id, err);                                             \
        int rc;                                                                                    \
                                                                                                   \
        if (!n)                                                                                    \
            return -ENODEV;                                                                        \
        rc = call;                                                                                 \
        if (rc < 0)                                                                                \
            return rc;                                                                             \
        rsim_tracef(s, "node %llu: %s %llu", (unsigned long long)id, what,                         \
                    (unsigned long long)who);                                                      \
        return node_process(s, n);                                                                 \
    } while (0)

int
rsim_transfer(struct rsim *s, uint64_t id, uint64_t who, struct sk_err *err)
{
    CLIENT_CALL(raft_transfer_leadership(n->r, who, err), "transfer leadership to");
}

int
rsim_add_learner(struct rsim *s, uint64_t id, uint64_t who, struct sk_err *err)
{
    struct raft_ticket t;

    CLIENT_CALL(raft_add_learner(n->r, who, &t, err), "add learner");
}

int
rsim_promote(struct rsim *s, uint64_t id, uint64_t who, struct sk_err *err)
{
    struct raft_ticket t;

    CLIENT_CALL(raft_promote(n->r, who, &t, err), "promote");
}

int
rsim_remove(struct rsim *s, uint64_t id, uint64_t who, struct sk_err *err)
{
    struct raft_ticket t;

    CLIENT_CALL(raft_remove(n->r, who, &t, err), "remove");
}

/* ---- inspection ---- */

unsigned
rsim_nodes(const struct rsim *s)
{
    return s->n;
}

int
rsim_up(const struct rsim *s, uint64_t id)
{
    return id >= 1 && id <= s->n && s->nodes[id - 1].up;
}

struct raft *
rsim_raft(struct rsim *s, uint64_t id)
{
    struct rsim_node *n = node_of(s, id);

    return n && n->up ? n->r : NULL;
}

uint64_t
rsim_leader(struct rsim *s)
{
    uint64_t best = 0, term = 0;
    unsigned i;

    for (i = 0; i < s->n; i++) {
        struct rsim_node *n = &s->nodes[i];

        if (n->up && n->r->role == RAFT_LEADER && n->r->term >= term) {
            best = n->id;
            term = n->r->term;
        }
    }
    return best;
}

int
rsim_acked(const struct rsim *s, uint64_t prop)
{
    return prop >= 1 && prop <= s->n_props && s->props[prop - 1].acked;
}

uint64_t
rsim_applied(const struct rsim *s, uint64_t id)
{
    return id >= 1 && id <= s->n ? s->nodes[id - 1].sm_index : 0;
}

uint64_t
rsim_disk_term(const struct rsim *s, uint64_t id, uint64_t index)
{
    const struct rsim_disk *d;

    if (id < 1 || id > s->n)
        return 0;
    d = &s->nodes[id - 1].disk;
    if (index < d->first || index > disk_last(d))
        return 0;
    return d->ents[index - d->first].e.term;
}

uint64_t
rsim_disk_last(const struct rsim *s, uint64_t id)
{
    return id >= 1 && id <= s->n ? disk_last(&s->nodes[id - 1].disk) : 0;
}

const struct rsim_stats *
rsim_stats(const struct rsim *s)
{
    return &s->stats;
}

const char *
rsim_error(const struct rsim *s)
{
    return s->failed ? s->error : NULL;
}
