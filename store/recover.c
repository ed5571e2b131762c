/* Lost-quorum recovery (API in tool.h): turn one survivor's data
 * directory into a single-member cluster, offline.
 *
 * When a majority of the voters is gone for good, Raft can commit
 * nothing more: no configuration change either, since that needs a
 * quorum of the old configuration (Raft thesis §4.1). The only way on is
 * to step outside the protocol, as etcd's --force-new-cluster does: the
 * survivor's log is taken as the truth, and a configuration entry
 * listing the survivor alone is appended to it, in a term above every
 * term it has seen:
 *
 *     log:  ... | entries the survivor holds (committed or not) | CONF {self}
 *     meta: term = max(meta term, last log term) + 1, no vote
 *
 * A server uses the latest configuration in its log as soon as it is
 * appended (§4.1), so on its next start the member is the only voter,
 * elects itself, commits a no-op of its new term and with it every
 * entry before it. Nothing it holds is dropped (etcd drops what is past
 * the stored commit index; skiff does not store the commit index, and a
 * follower learns it one heartbeat after the leader acknowledged a
 * write, so dropping "uncommitted" entries would drop acknowledged
 * writes). The price, documented in skiffd(8) DISASTER RECOVERY:
 *   - writes the survivor never received are lost, though the old
 *     majority may have acknowledged them (pick the survivor with the
 *     highest last term, then the highest last index: --dry-run prints
 *     both);
 *   - writes the survivor holds but that were never committed take
 *     effect (their clients got a timeout: "outcome unknown");
 *   - the old members must never come back with their old data: they
 *     hold a configuration that still counts the survivor and each
 *     other. Wipe them and add them again (--join, member-add).
 *
 * Order on disk: the entry is appended and fsynced before meta is
 * replaced, so a crash in between leaves a log whose last term is above
 * meta's, which the core adopts on start (raft.c restore_state), and
 * running the recovery again is harmless: a configuration of this
 * member alone is left as it is. */
#include "lib/alloc.h"
#include "meta.h"
#include "raft.h"
#include "segment.h"
#include "snapshot.h"
#include "store.h"
#include "tool.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

struct recover {
    const char *datadir;
    FILE *out;
    int dry_run;
    struct meta meta;
    struct segment_log *log;
    uint64_t snap_index, snap_term;
    uint64_t last, last_term;
    struct raft_conf conf; /* latest configuration (snapshot or log) */
    uint64_t conf_index;
};

/* The newest snapshot, if any: its index, term and configuration. */
static int
recover_snapshot(struct recover *rc, struct sk_err *err)
{
    struct snapshot_reader *rd = NULL;
    const struct snapshot_info *info;
    int r;

    r = snapshot_open_newest(&rd, rc->datadir, 0, err);
    if (r <= 0)
        return r;
    info = snapshot_reader_info(rd);
    r = raft_conf_decode(info->conf, info->conf_len, &rc->conf, err);
    if (r < 0)
        sk_err_wrap(err, "snapshot '%s': configuration", info->path);
    rc->snap_index = rc->conf_index = info->index;
    rc->snap_term = info->term;
    snapshot_reader_free(rd);
    return r < 0 ? -1 : 0;
}

/* Where the log the server would use ends: a log that does not reach
 * the snapshot or disagrees with it is discarded on start in favour of
 * the snapshot (node.c open_log); do the same here. */
static int
recover_log_end(struct recover *rc, struct sk_err *err)
{
    uint64_t first = segment_log_first_index(rc->log), last = segment_log_last_index(rc->log);
    uint64_t term = 0;

    if (!rc->snap_index) {
        if (last >= first && first != 1)
            return sk_err_set(err, EINVAL, "log starts at %" PRIu64 " but there is no snapshot",
                              first);
        rc->last = last >= first ? last : 0;
        rc->last_term = segment_log_last_term(rc->log);
        return 0;
    }
    if (last < rc->snap_index || first > rc->snap_index + 1 ||
        (segment_log_term(rc->log, rc->snap_index, &term, NULL) == 0 && term != rc->snap_term)) {
        if (!rc->dry_run && segment_log_reset(rc->log, rc->snap_index + 1, err) < 0)
            return -1;
        last = rc->snap_index;
    }
    rc->last = last;
    rc->last_term = last > rc->snap_index ? segment_log_last_term(rc->log) : rc->snap_term;
    return 0;
}

/* The latest configuration entry after the snapshot, if any. */
static int
recover_conf(struct recover *rc, struct sk_err *err)
{
    struct segment_batch b = SEGMENT_BATCH_INIT;
    uint64_t lo = rc->snap_index + 1;
    size_t i;
    int r = 0;

    if (lo < segment_log_first_index(rc->log))
        lo = segment_log_first_index(rc->log);
    if (rc->last > segment_log_last_index(rc->log))
        return 0; /* dry run: the log behind the snapshot is not used */
    while (lo <= rc->last) {
        r = segment_log_read(rc->log, lo, rc->last + 1, 16u << 20, &b, err);
        if (r < 0)
            break;
        for (i = 0; i < b.n; i++) {
            if (b.ents[i].type != RAFT_ENTRY_CONF)
                continue;
            r = raft_conf_decode(b.ents[i].data, b.ents[i].len, &rc->conf, err);
            if (r < 0) {
                sk_err_wrap(err, "log entry %" PRIu64, b.ents[i].index);
                goto out;
            }
            rc->conf_index = b.ents[i].index;
        }
        lo += b.n;
    }
out:
    segment_batch_release(&b);
    return r < 0 ? -1 : 0;
}

static void
recover_print_conf(const struct recover *rc, uint64_t self)
{
    uint32_t i;

    fprintf(rc->out, "configuration index=%" PRIu64 " members=%u\n", rc->conf_index, rc->conf.n);
    for (i = 0; i < rc->conf.n; i++)
        fprintf(rc->out, "member id=%016" PRIx64 " role=%s%s\n", rc->conf.servers[i].id,
                rc->conf.servers[i].role == RAFT_VOTER ? "voter" : "learner",
                rc->conf.servers[i].id == self ? " self" : "");
}

/* Append CONF {self} in a new term, fsync, then raise meta's term. */
static int
recover_write(struct recover *rc, uint64_t self, struct sk_err *err)
{
    struct raft_conf conf = {.n = 1, .servers = {{self, RAFT_VOTER}}};
    uint8_t buf[RAFT_CONF_MAX_LEN];
    struct segment_entry e;
    struct meta m;
    uint64_t term = (rc->meta.term > rc->last_term ? rc->meta.term : rc->last_term) + 1;

    e = (struct segment_entry){term, rc->last + 1, RAFT_ENTRY_CONF, buf,
                               (uint32_t)raft_conf_encode(&conf, buf)};
    if (segment_log_append(rc->log, &e, 1, err) < 0 || segment_log_sync(rc->log, err) < 0)
        return -1;
    memset(&m, 0, sizeof(m));
    m.term = term;
    if (meta_store(rc->datadir, &m, err) < 0)
        return -1;
    fprintf(rc->out, "appended configuration index=%" PRIu64 " term=%" PRIu64 " members=1\n",
            e.index, term);
    fprintf(rc->out, "meta term=%" PRIu64 " vote=-\n", term);
    return 0;
}

int
store_tool_recover(const char *datadir, const char *name, int dry_run, FILE *out,
                   struct sk_err *err)
{
    struct recover rc;
    uint64_t self = store_member_id(name);
    int r;

    memset(&rc, 0, sizeof(rc));
    rc.datadir = datadir;
    rc.out = out;
    rc.dry_run = dry_run;
    r = meta_load(datadir, &rc.meta, err);
    if (r == 0)
        return sk_err_set(err, ENOENT, "data dir '%s' has no meta: nothing to recover", datadir);
    if (r < 0 || recover_snapshot(&rc, err) < 0)
        return -1;
    /* Takes the log's flock: refused while the server runs. */
    if (segment_log_open(&rc.log, datadir, NULL, err) < 0)
        return -1;
    r = -1;
    if (recover_log_end(&rc, err) < 0 || recover_conf(&rc, err) < 0)
        goto out;
    fprintf(out, "member name=%s id=%016" PRIx64 " term=%" PRIu64 "\n", name, self, rc.meta.term);
    fprintf(out, "log snapshot=%" PRIu64 " last_index=%" PRIu64 " last_term=%" PRIu64 "\n",
            rc.snap_index, rc.last, rc.last_term);
    recover_print_conf(&rc, self);
    if (raft_conf_role(&rc.conf, self) != RAFT_VOTER) {
        sk_err_set(err, EINVAL,
                   "member '%s' (id %016" PRIx64 ") is not a voter of the latest configuration "
                   "(index %" PRIu64 "): wrong --name, or not a survivor to recover from",
                   name, self, rc.conf_index);
        goto out;
    }
    if (rc.conf.n == 1) {
        fprintf(out, "recover: already a cluster of this member alone; nothing to do\n");
        r = 0;
        goto out;
    }
    if (dry_run) {
        fprintf(out, "recover: dry run, nothing written\n");
        r = 0;
        goto out;
    }
    r = recover_write(&rc, self, err);
    if (r == 0)
        fprintf(out, "recover ok: start the server; it is the only member\n");
out:
    segment_log_free(rc.log);
    return r;
}
