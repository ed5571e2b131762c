/* Snapshots of the member (Raft §7): restore the newest one on start,
 * take one every snapshot-every applied entries and compact the log
 * behind it.
 *
 * Taking a snapshot is synchronous on the loop for now: the state
 * machine is serialized straight into a snapshot writer (which fsyncs
 * it). The pause grows with the data; it is logged at info level with
 * its duration so operators can see it. A fork()- or copy-on-write-based
 * background snapshot is the follow-up. */
#include "store/node_int.h"
#include "store/snapshot.h"

#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/log.h"

#include "store/io.h"

#include "lib/alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

int
node_snap_load(struct store *s, struct sk_err *err)
{
    struct snapshot_reader *rd = NULL;
    const struct snapshot_info *info;
    int rc;

    if (snapshot_remove_tmp(s->data_dir, err) < 0)
        return -1;
    rc = snapshot_open_newest(&rd, s->data_dir, 0, err);
    if (rc <= 0)
        return rc;
    info = snapshot_reader_info(rd);
    rc = raft_conf_decode(info->conf, info->conf_len, &s->snap.conf, err);
    if (rc < 0) {
        sk_err_wrap(err, "snapshot '%s': configuration", info->path);
        goto out;
    }
    rc = mvcc_snapshot_restore(s->mvcc, snapshot_reader_source, rd, err);
    if (rc < 0) {
        sk_err_wrap(err, "snapshot '%s'", info->path);
        goto out;
    }
    s->snap.index = info->index;
    s->snap.term = info->term;
    s->snap.handle = info->index;
    s->conf = s->snap.conf;
    s->applied = info->index;
    sk_info("store", "restored snapshot '%s' (index %" PRIu64 ", revision %lld)", info->path,
            info->index, (long long)mvcc_rev(s->mvcc));
out:
    snapshot_reader_free(rd);
    return rc < 0 ? -1 : 0;
}

static int
snap_write(struct store *s, uint64_t term, uint64_t index, struct sk_err *err)
{
    struct snapshot_writer *w = NULL;
    uint8_t conf[RAFT_CONF_MAX_LEN];
    size_t conf_len = raft_conf_encode(&s->conf, conf);

    if (snapshot_writer_begin(&w, s->data_dir, term, index, conf, conf_len, err) < 0)
        return -1;
    if (mvcc_snapshot_save(s->mvcc, snapshot_writer_sink, w, err) < 0) {
        snapshot_writer_abort(w);
        return -1;
    }
    return snapshot_writer_commit(w, err);
}

static int
snap_take(struct store *s, struct sk_err *err)
{
    struct raft_snapshot_meta meta;
    uint64_t term, compact_to = 0;
    int64_t t0 = sk_clock_mono_ms();

    if (segment_log_term(s->log, s->applied, &term, err) < 0)
        return -1;
    if (snap_write(s, term, s->applied, err) < 0)
        return -1;
    memset(&meta, 0, sizeof(meta));
    meta.index = s->applied;
    meta.term = term;
    meta.conf = s->conf;
    meta.handle = s->applied;
    s->snap = meta;
    if (raft_snapshot_taken(s->r, &meta, &compact_to, err) < 0)
        return -1;
    if (compact_to >= s->first) {
        if (segment_log_term(s->log, compact_to, &s->first_term, err) < 0)
            return -1;
        s->first = compact_to + 1;
        if (segment_log_drop_prefix(s->log, s->first, err) < 0)
            return -1;
    }
    if (snapshot_retain(s->data_dir, 0, err) < 0)
        return -1;
    sk_info("store", "snapshot at index %" PRIu64 " (revision %lld) took %lld ms", meta.index,
            (long long)mvcc_rev(s->mvcc), (long long)(sk_clock_mono_ms() - t0));
    return 0;
}

void
node_snap_maybe(struct store *s)
{
    struct sk_err err;

    if (s->applied < s->snap_next)
        return;
    s->snap_next = s->applied + s->snapshot_every;
    sk_err_init(&err);
    if (snap_take(s, &err) < 0) {
        /* A failed snapshot loses nothing (the log still holds every
         * entry); only a failed log write is fatal. Retry later. */
        sk_warn("store", "snapshot at index %" PRIu64 ": %s", s->applied, err.msg);
        sk_strlcpy(s->last_error, err.msg, sizeof(s->last_error));
    }
}

/* Install a snapshot received from the leader (ready step 2a): replace
 * the state machine, then discard the whole log (§5.3, InstallSnapshot
 * step 7). A crash in between is repaired at start (open_log). */
int
node_snap_install(struct store *s, const struct raft_snapshot_meta *meta, struct sk_err *err)
{
    struct snapshot_reader *rd = NULL;
    char *path = snapshot_path(s->data_dir, meta->term, meta->index);
    int rc;

    rc = snapshot_open(&rd, path, 0, err);
    free(path);
    if (rc < 0)
        return -1;
    rc = mvcc_snapshot_restore(s->mvcc, snapshot_reader_source, rd, err);
    snapshot_reader_free(rd);
    if (rc < 0 || segment_log_reset(s->log, meta->index + 1, err) < 0)
        return -1;
    s->first = meta->index + 1;
    s->first_term = meta->term;
    s->snap = *meta;
    s->snap.handle = meta->index;
    s->conf = meta->conf;
    s->applied = meta->index;
    s->snap_next = meta->index + s->snapshot_every;
    node_reqs_applied(s, meta->index, 0, NULL, NULL);
    node_conf_applied(s);
    sk_info("store", "installed snapshot %" PRIu64 " from the leader (revision %lld)", meta->index,
            (long long)mvcc_rev(s->mvcc));
    if (snapshot_retain(s->data_dir, 0, err) < 0)
        sk_warn("store", "%s", err->msg);
    return 0;
}

static int
fd_sink(void *arg, const void *buf, size_t len, struct sk_err *err)
{
    int *fd = arg;
    const char *p = buf;
    ssize_t n;

    while (len) {
        n = write(*fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return sk_err_sys(err, errno, "write");
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int64_t
store_snapshot_save(struct store *s, const char *path, struct sk_err *err)
{
    char *tmp = sk_asprintf("%s.tmp", path);
    int64_t rev = mvcc_rev(s->mvcc);
    int fd, rc = -1;

    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        sk_err_sys(err, errno, "snapshot '%s'", tmp);
        goto out;
    }
    if (mvcc_snapshot_save(s->mvcc, fd_sink, &fd, err) < 0 || store_io_fsync(fd, tmp, err) < 0) {
        sk_err_wrap(err, "snapshot '%s'", path);
        goto out_unlink;
    }
    if (rename(tmp, path) < 0) {
        sk_err_sys(err, errno, "snapshot: rename '%s' to '%s'", tmp, path);
        goto out_unlink;
    }
    rc = 0;
    goto out_close;
out_unlink:
    unlink(tmp);
out_close:
    close(fd);
out:
    free(tmp);
    return rc < 0 ? rc : rev;
}
