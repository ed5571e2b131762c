/* Cluster membership (§4): single-server changes, learners, and the
 * configuration history of the log.
 *
 * A CONF entry carries the complete new configuration:
 *
 *     offset 0  u8   version, 1
 *     offset 1  u8   n, number of servers (<= RAFT_CONF_MAX)
 *     offset 2  n *  { u64 id (little endian, nonzero, unique) | u8 role }
 *
 * role is RAFT_VOTER (1) or RAFT_LEARNER (2). The same bytes describe the
 * configuration of a snapshot when the driver stores one.
 *
 * Rules (§4.1): a server uses the latest configuration in its log,
 * committed or not, from the moment it is appended; if that entry is
 * truncated it falls back to the previous one. A leader starts a change
 * only when the previous one is committed and it has committed an entry
 * of its own term (the fix for the single-server change bug described by
 * Ongaro on raft-dev, 2015). Each change adds, promotes or removes one
 * server, so any two consecutive configurations share a majority. */
#include "lib/alloc.h"
#include "lib/log.h"
#include "raft_int.h"

#include <stdlib.h>
#include <string.h>

size_t
raft_conf_encode(const struct raft_conf *conf, uint8_t *buf)
{
    size_t off = 2;
    uint32_t i;
    int b;

    buf[0] = 1;
    buf[1] = (uint8_t)conf->n;
    for (i = 0; i < conf->n; i++) {
        for (b = 0; b < 8; b++)
            buf[off++] = (uint8_t)(conf->servers[i].id >> (8 * b));
        buf[off++] = conf->servers[i].role;
    }
    return off;
}

int
raft_conf_validate(const struct raft_conf *conf, struct sk_err *err)
{
    uint32_t i, j;

    if (conf->n > RAFT_CONF_MAX)
        return sk_err_set(err, EINVAL, "configuration of %u servers (max %u)", conf->n,
                          RAFT_CONF_MAX);
    for (i = 0; i < conf->n; i++) {
        const struct raft_server *s = &conf->servers[i];

        if (s->id == RAFT_NONE)
            return sk_err_set(err, EINVAL, "configuration lists server id 0");
        if (s->role != RAFT_VOTER && s->role != RAFT_LEARNER)
            return sk_err_set(err, EINVAL, "server %llu has unknown role %u",
                              (unsigned long long)s->id, s->role);
        for (j = 0; j < i; j++)
            if (conf->servers[j].id == s->id)
                return sk_err_set(err, EINVAL, "server %llu listed twice",
                                  (unsigned long long)s->id);
    }
    return 0;
}

int
raft_conf_decode(const void *data, size_t len, struct raft_conf *conf, struct sk_err *err)
{
    const uint8_t *p = data;
    size_t off = 2;
    uint32_t i;
    int b;

    memset(conf, 0, sizeof(*conf));
    if (len < 2 || p[0] != 1)
        return sk_err_set(err, EINVAL, "configuration entry: bad header");
    if (p[1] > RAFT_CONF_MAX || len != 2 + (size_t)p[1] * 9)
        return sk_err_set(err, EINVAL, "configuration entry: %zu bytes for %u servers", len, p[1]);
    conf->n = p[1];
    for (i = 0; i < conf->n; i++) {
        for (b = 0; b < 8; b++)
            conf->servers[i].id |= (uint64_t)p[off++] << (8 * b);
        conf->servers[i].role = p[off++];
    }
    if (raft_conf_validate(conf, err) < 0)
        return sk_err_wrap(err, "configuration entry");
    return 0;
}

uint8_t
raft_conf_role(const struct raft_conf *conf, uint64_t id)
{
    uint32_t i;

    for (i = 0; i < conf->n; i++)
        if (conf->servers[i].id == id)
            return conf->servers[i].role;
    return 0;
}

const struct raft_conf *
raft_conf_cur(const struct raft *r)
{
    return &r->confs[r->n_confs - 1].conf;
}

uint64_t
raft_conf_index(const struct raft *r)
{
    return r->confs[r->n_confs - 1].index;
}

int
raft_is_voter(const struct raft *r, uint64_t id)
{
    return raft_conf_role(raft_conf_cur(r), id) == RAFT_VOTER;
}

/* May this node start an election? A voter of its latest configuration
 * may, and so may a voter of the configuration before it while the
 * latest is not known to be committed: "a server that is not part of its
 * own latest configuration should still start new elections, as it might
 * still be needed until the Cnew entry is committed" (§4.2.2). Its own
 * vote then does not count; it needs a quorum of the new configuration.
 * The previous one, not the last known committed one: after a restart
 * the commit index may lag far behind (it is stored lazily), while the
 * server before the latest change was committed when it was proposed.
 * A server whose removal did commit may thus campaign in vain; leader
 * stickiness makes the others ignore it (§4.2.3). */
int
raft_promotable(const struct raft *r)
{
    return raft_is_voter(r, r->id) ||
           (r->n_confs > 1 && raft_conf_role(&r->confs[r->n_confs - 2].conf, r->id) == RAFT_VOTER);
}

uint32_t
raft_voter_count(const struct raft *r)
{
    const struct raft_conf *conf = raft_conf_cur(r);
    uint32_t i, n = 0;

    for (i = 0; i < conf->n; i++)
        n += conf->servers[i].role == RAFT_VOTER;
    return n;
}

/* Leader: one progress per server of the current configuration, keeping
 * what we know of servers that stay. */
void
raft_progress_sync(struct raft *r)
{
    const struct raft_conf *conf = raft_conf_cur(r);
    struct raft_progress *prs;
    size_t i, n = 0;
    uint32_t k;

    if (r->role != RAFT_LEADER)
        return;
    prs = sk_calloc(conf->n ? conf->n : 1, sizeof(*prs));
    for (k = 0; k < conf->n; k++) {
        struct raft_progress *old = raft_progress_get(r, conf->servers[k].id);

        if (old) {
            prs[n] = *old;
            prs[n].role = conf->servers[k].role;
            old->inflight.last = NULL; /* moved */
        } else {
            raft_progress_reset(r, &prs[n], conf->servers[k].id, conf->servers[k].role);
        }
        n++;
    }
    for (i = 0; i < r->n_prs; i++)
        raft_progress_release(&r->prs[i]);
    free(r->prs);
    r->prs = prs;
    r->n_prs = n;
}

static void
hist_push(struct raft *r, uint64_t index, const struct raft_conf *conf)
{
    if (r->n_confs == r->cap_confs) {
        r->cap_confs = r->cap_confs ? 2 * r->cap_confs : 4;
        r->confs = sk_reallocarray(r->confs, r->cap_confs, sizeof(*r->confs));
    }
    r->confs[r->n_confs].index = index;
    r->confs[r->n_confs++].conf = *conf;
}

void
raft_conf_reset(struct raft *r, const struct raft_conf *conf, uint64_t index)
{
    r->n_confs = 0;
    hist_push(r, index, conf);
    raft_progress_sync(r);
}

void
raft_conf_appended(struct raft *r, const struct raft_entry *e)
{
    struct raft_conf conf;
    struct sk_err err;

    /* Every server sees the same bytes, so ignoring a bad entry keeps
     * them in agreement; the leader never writes one. */
    if (raft_conf_decode(e->data, e->len, &conf, &err) < 0) {
        sk_warn("store", "raft node %llu: entry %llu ignored: %s", (unsigned long long)r->id,
                (unsigned long long)e->index, err.msg);
        return;
    }
    hist_push(r, e->index, &conf);
    raft_progress_sync(r);
}

/* Entries from index `from` on are being replaced. */
void
raft_conf_truncated(struct raft *r, uint64_t from)
{
    size_t n = r->n_confs;

    while (r->n_confs > 1 && r->confs[r->n_confs - 1].index >= from)
        r->n_confs--;
    if (n != r->n_confs)
        raft_progress_sync(r);
}

/* The leader hands off once the configuration that removed it commits
 * (§4.2.2): it tells the most up-to-date voter to campaign at once, so
 * the cluster does not wait an election timeout. */
static void
removed_leader_steps_down(struct raft *r)
{
    struct raft_progress *best = NULL;
    struct raft_msg m = {.type = RAFT_MSG_TIMEOUT_NOW};
    size_t i;

    for (i = 0; i < r->n_prs; i++) {
        struct raft_progress *pr = &r->prs[i];

        if (pr->role == RAFT_VOTER && pr->id != r->id && (!best || pr->match > best->match))
            best = pr;
    }
    if (best && best->match == raft_log_last_index(&r->log)) {
        m.to = best->id;
        raft_send(r, &m, RAFT_DEP_HS);
    }
    raft_become_follower(r, r->term, RAFT_NONE);
}

/* The commit index moved: configurations at or below it are committed;
 * only the latest of those is kept as confs[0]. */
void
raft_conf_committed(struct raft *r)
{
    size_t k = 0;

    while (k + 1 < r->n_confs && r->confs[k + 1].index <= r->log.committed)
        k++;
    if (k) {
        memmove(r->confs, r->confs + k, (r->n_confs - k) * sizeof(*r->confs));
        r->n_confs -= k;
    }
    if (r->role == RAFT_LEADER && r->n_confs == 1 && !raft_is_voter(r, r->id))
        removed_leader_steps_down(r);
}

/* At start: replay the configuration entries stored after the snapshot. */
int
raft_conf_load(struct raft *r, struct sk_err *err)
{
    uint64_t lo = r->confs[0].index + 1, hi = raft_log_last_index(&r->log) + 1;
    struct raft_entry *ents;
    size_t n, i;
    int rc;

    if (lo < raft_log_first_index(&r->log))
        return sk_err_set(err, EINVAL, "log starts at %llu, after the snapshot at %llu",
                          (unsigned long long)raft_log_first_index(&r->log),
                          (unsigned long long)(lo - 1));
    while (lo < hi) {
        rc = raft_log_entries(&r->log, lo, hi, r->cfg.max_apply_bytes, &ents, &n, err);
        if (rc < 0)
            return sk_err_wrap(err, "reading configuration entries");
        for (i = 0; i < n; i++)
            if (ents[i].type == RAFT_ENTRY_CONF)
                raft_conf_appended(r, &ents[i]);
        lo += n;
        raft_entries_free(ents, n);
    }
    raft_conf_committed(r);
    return 0;
}

/* ---- changes (leader) ---- */

static int
change_allowed(struct raft *r, struct raft_ticket *t, struct sk_err *err)
{
    memset(t, 0, sizeof(*t));
    t->leader = r->leader;
    if (r->role != RAFT_LEADER)
        return sk_err_set(err, RAFT_ENOTLEADER, "node %llu is not the leader (leader %llu)",
                          (unsigned long long)r->id, (unsigned long long)r->leader);
    if (r->transferee)
        return sk_err_set(err, EBUSY, "leadership transfer in progress");
    if (raft_conf_index(r) > r->log.committed)
        return sk_err_set(err, EBUSY, "configuration change at %llu not committed yet",
                          (unsigned long long)raft_conf_index(r));
    if (!raft_committed_in_term(r))
        return sk_err_set(err, EBUSY, "leader has not committed an entry of term %llu yet",
                          (unsigned long long)r->term);
    return 0;
}

static void
change_append(struct raft *r, const struct raft_conf *conf, struct raft_ticket *t)
{
    uint8_t buf[RAFT_CONF_MAX_LEN];
    struct raft_entry e = {.term = r->term, .type = RAFT_ENTRY_CONF};

    e.index = raft_log_last_index(&r->log) + 1;
    e.len = (uint32_t)raft_conf_encode(conf, buf);
    e.data = buf;
    raft_append(r, &e, 1);
    t->term = e.term;
    t->index = e.index;
}

int
raft_add_learner(struct raft *r, uint64_t id, struct raft_ticket *t, struct sk_err *err)
{
    struct raft_conf conf;
    int rc = change_allowed(r, t, err);

    if (rc < 0)
        return rc;
    conf = *raft_conf_cur(r);
    if (id == RAFT_NONE || raft_conf_role(&conf, id))
        return sk_err_set(err, EINVAL, "server %llu already a member or invalid",
                          (unsigned long long)id);
    if (conf.n == RAFT_CONF_MAX)
        return sk_err_set(err, ENOSPC, "configuration full (%u servers)", RAFT_CONF_MAX);
    conf.servers[conf.n++] = (struct raft_server){id, RAFT_LEARNER};
    change_append(r, &conf, t);
    return 0;
}

int
raft_promote(struct raft *r, uint64_t id, struct raft_ticket *t, struct sk_err *err)
{
    struct raft_conf conf;
    struct raft_progress *pr;
    uint32_t i;
    int rc = change_allowed(r, t, err);

    if (rc < 0)
        return rc;
    conf = *raft_conf_cur(r);
    if (raft_conf_role(&conf, id) != RAFT_LEARNER)
        return sk_err_set(err, EINVAL, "server %llu is not a learner", (unsigned long long)id);
    /* §4.2.1: a server that is far behind would stall commitment while
     * it catches up; it must first hold everything committed. */
    pr = raft_progress_get(r, id);
    if (!pr || pr->match < r->log.committed)
        return sk_err_set(err, EBUSY, "learner %llu has not caught up (%llu of %llu)",
                          (unsigned long long)id, (unsigned long long)(pr ? pr->match : 0),
                          (unsigned long long)r->log.committed);
    for (i = 0; i < conf.n; i++)
        if (conf.servers[i].id == id)
            conf.servers[i].role = RAFT_VOTER;
    change_append(r, &conf, t);
    return 0;
}

int
raft_remove(struct raft *r, uint64_t id, struct raft_ticket *t, struct sk_err *err)
{
    struct raft_conf conf;
    uint32_t i, k = 0;
    int rc = change_allowed(r, t, err);

    if (rc < 0)
        return rc;
    conf = *raft_conf_cur(r);
    if (!raft_conf_role(&conf, id))
        return sk_err_set(err, EINVAL, "server %llu is not a member", (unsigned long long)id);
    if (raft_conf_role(&conf, id) == RAFT_VOTER && raft_voter_count(r) == 1)
        return sk_err_set(err, EINVAL, "cannot remove the last voter %llu", (unsigned long long)id);
    for (i = 0; i < conf.n; i++)
        if (conf.servers[i].id != id)
            conf.servers[k++] = conf.servers[i];
    conf.n = k;
    change_append(r, &conf, t);
    return 0;
}
