/* Snapshots of the member (Raft §7): restore the newest one on start,
 * take one every snapshot-every applied entries and compact the log
 * behind it.
 *
 * Taking a snapshot does not block the loop: at the snapshot point the
 * member fork()s. The child holds a copy-on-write image of the state
 * machine exactly at (applied index, term); it serializes it through
 * the snapshot writer (temporary file, fsync, rename), writes any error
 * message into a pipe and _exit()s with 0 on success. The parent keeps
 * serving and watches the child with a pidfd on the loop; when it exits
 * the parent tells the core (raft_snapshot_taken), compacts the log and
 * drops old snapshots. s->snap, which the core and InstallSnapshot
 * sending (node_net.c) read, moves only then, so a leader always sends
 * a complete, renamed file. One child at a time; a failed child loses
 * nothing (the log still holds every entry), the next threshold retries.
 *
 * Why fork() is safe here: the child only runs single-threaded library
 * code (malloc, open, write, fsync, rename). That needs no lock held by
 * another thread, and skiffd's only threads are net_netns_run's, which
 * the loop thread joins before it goes on, so none exists at fork time.
 * As a guard, the member counts its threads (/proc/self/status) and
 * takes the snapshot synchronously on the loop when there are others.
 * The child closes every inherited fd except the pipe, so it can never
 * accept on a listening socket nor touch the loop's epoll, and it never
 * returns into the loop.
 *
 * Keeping the child's I/O out of the log's way (the log's fdatasync is
 * every write's latency): the writer starts writeback chunk by chunk
 * instead of in one final fsync and writes over the oldest snapshot's
 * blocks instead of deleting one file and allocating another, and the
 * child pauses after each chunk as long as it waited for it (see
 * WRITEBACK and RECYCLING in snapshot.c); it deletes snapshots beyond
 * the kept ones itself, after its commit, so no unlink or directory
 * fsync runs on the loop. It stays in the normal I/O class on purpose:
 * in the idle class (ioprio_set(2)) its writeback could be starved by
 * any other I/O on the host while a journal commit that the log's
 * fdatasync waits for waits for those very pages (data=ordered), an
 * inversion that would make the log's tail worse, not better.
 *
 * WHEN. A snapshot is due once snapshot-every entries were applied
 * since the previous threshold. A state of more than SNAP_SMALL bytes
 * must also wait until the log written since the last snapshot reaches
 * that snapshot's size less SNAP_SMALL: rewriting a large state costs
 * more I/O than replaying its log on start, so the state is written at
 * most about as often as the log fills with as much (Raft dissertation
 * §5.1.1: snapshot when the log outgrows the snapshot). */
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
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* How long store_close waits for a running snapshot child before
 * killing it. */
#define SNAP_CHILD_WAIT_MS 2000
/* Below this size a state is snapshotted every snapshot-every entries
 * (WHEN, above): the size of one log segment. */
#define SNAP_SMALL (64ull << 20)

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
    s->snap_bytes = info->payload_len;
    s->conf = s->snap.conf;
    s->applied = info->index;
    sk_info("store", "restored snapshot '%s' (index %" PRIu64 ", revision %lld)", info->path,
            info->index, (long long)mvcc_rev(s->mvcc));
out:
    snapshot_reader_free(rd);
    return rc < 0 ? -1 : 0;
}

/* SNAPSHOT_WRITE_RECYCLE unless a leader is streaming a snapshot to a
 * follower: that may be the oldest one, which recycling writes over. */
static unsigned
snap_write_flags(const struct store *s)
{
    size_t i;

    for (i = 0; i < s->npeers; i++)
        if (s->peers[i].snap_rd)
            return 0;
    return SNAPSHOT_WRITE_RECYCLE;
}

static int
snap_write(struct store *s, uint64_t term, uint64_t index, unsigned flags, struct sk_err *err)
{
    struct snapshot_writer *w = NULL;
    uint8_t conf[RAFT_CONF_MAX_LEN];
    size_t conf_len = raft_conf_encode(&s->conf, conf);

    if (snapshot_writer_open(&w, s->data_dir, term, index, conf, conf_len, flags, err) < 0)
        return -1;
    if (mvcc_snapshot_save(s->mvcc, snapshot_writer_sink, w, err) < 0) {
        snapshot_writer_abort(w);
        return -1;
    }
    return snapshot_writer_commit(w, err);
}

/* Size of the snapshot file (term, index), 0 when unknown. */
static uint64_t
snap_file_size(const struct store *s, uint64_t term, uint64_t index)
{
    char *path = snapshot_path(s->data_dir, term, index);
    struct stat st;
    uint64_t size = stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;

    free(path);
    return size;
}

/* The snapshot is written: tell the core, compact the log behind what
 * it keeps. Old snapshots are dropped by the caller. */
static int
snap_done(struct store *s, const struct raft_snapshot_meta *meta, struct sk_err *err)
{
    uint64_t compact_to = 0;

    /* A newer snapshot was installed from the leader meanwhile. */
    if (meta->index <= s->snap.index)
        return 0;
    s->snap = *meta;
    s->snap_bytes = snap_file_size(s, meta->term, meta->index);
    if (raft_snapshot_taken(s->r, meta, &compact_to, err) < 0)
        return -1;
    if (compact_to >= s->first) {
        if (segment_log_term(s->log, compact_to, &s->first_term, err) < 0)
            return -1;
        s->first = compact_to + 1;
        if (segment_log_drop_prefix(s->log, s->first, err) < 0)
            return -1;
    }
    return 0;
}

static void
snap_warn(struct store *s, uint64_t index, const char *msg)
{
    /* A failed snapshot loses nothing (the log still holds every
     * entry); only a failed log write is fatal. Retry later. */
    sk_warn("store", "snapshot at index %" PRIu64 ": %s", index, msg);
    sk_strlcpy(s->last_error, msg, sizeof(s->last_error));
}

/* Threads of this process, from /proc/self/status; 0 when unknown. */
static long
snap_threads(void)
{
    char line[128];
    long n = 0;
    FILE *f = fopen("/proc/self/status", "re");

    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "Threads: %ld", &n) == 1)
            break;
    fclose(f);
    return n;
}

static int
snap_take_sync(struct store *s, const struct raft_snapshot_meta *meta, struct sk_err *err)
{
    int64_t t0 = sk_clock_mono_ms();

    if (snap_write(s, meta->term, meta->index, snap_write_flags(s), err) < 0 ||
        snap_done(s, meta, err) < 0 || snapshot_retain(s->data_dir, 0, err) < 0)
        return -1;
    sk_info("store", "snapshot at index %" PRIu64 " (revision %lld) took %lld ms on the loop",
            meta->index, (long long)mvcc_rev(s->mvcc), (long long)(sk_clock_mono_ms() - t0));
    return 0;
}

/* In the child: write the snapshot, drop the old ones, report, never
 * return. */
static _Noreturn void
snap_child(struct store *s, const struct raft_snapshot_meta *meta, unsigned flags, pid_t parent,
           int wfd)
{
    struct sk_err err;
    ssize_t n;

    /* Die with the member: a child outliving a kill -9 would rename its
     * snapshot into a data dir a restarted member already uses. The
     * getppid check closes the race with a parent gone before prctl. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
        _exit(2);
    /* Drop every inherited fd but the pipe: listening sockets, peers,
     * the loop's epoll and signalfd, the log's segments. */
    if (wfd > 3)
        syscall(SYS_close_range, 3, (unsigned)wfd - 1, 0);
    syscall(SYS_close_range, (unsigned)wfd + 1, ~0U, 0);
    sk_err_init(&err);
    /* The old snapshots go once the new one is durable under its name:
     * from here a failure to delete them is only worth a line. */
    if (snap_write(s, meta->term, meta->index, flags | SNAPSHOT_WRITE_PACED, &err) == 0) {
        if (snapshot_retain(s->data_dir, 0, &err) == 0)
            _exit(0);
        n = write(wfd, err.msg, strnlen(err.msg, sizeof(err.msg)));
        (void)n;
        _exit(3);
    }
    n = write(wfd, err.msg, strnlen(err.msg, sizeof(err.msg)));
    (void)n;
    _exit(1);
}

/* Reap the child: 0 when it wrote the snapshot, <0 with the reason. */
static int
snap_child_reap(struct store *s, struct sk_err *err)
{
    siginfo_t si;
    char msg[sizeof(err->msg)];
    ssize_t n;
    int rc;

    memset(&si, 0, sizeof(si));
    do
        rc = waitid(P_PID, (id_t)s->snap_pid, &si, WEXITED);
    while (rc < 0 && errno == EINTR);
    n = read(s->snap_rfd, msg, sizeof(msg) - 1);
    msg[n > 0 ? n : 0] = '\0';
    if (rc < 0)
        return sk_err_sys(err, errno, "snapshot writer (pid %d)", (int)s->snap_pid);
    if (si.si_code == CLD_EXITED && si.si_status == 0)
        return 0;
    if (si.si_code == CLD_EXITED && si.si_status == 3) {
        /* Written, only the old ones not dropped: the next one retries. */
        sk_warn("store", "snapshot writer: %s", msg);
        return 0;
    }
    if (si.si_code == CLD_EXITED)
        return sk_err_set(err, EIO, "%s", msg[0] ? msg : "snapshot writer failed");
    return sk_err_set(err, EINTR, "snapshot writer (pid %d) killed by signal %d", (int)s->snap_pid,
                      si.si_status);
}

static void
snap_child_clear(struct store *s)
{
    sk_loop_fd_del(s->loop, s->snap_pidfd);
    close(s->snap_pidfd);
    close(s->snap_rfd);
    s->snap_pidfd = s->snap_rfd = -1;
    s->snap_pid = 0;
}

static void
snap_child_exited(struct sk_loop *loop, int fd, unsigned events, void *arg)
{
    struct store *s = arg;
    struct raft_snapshot_meta meta = s->snap_meta;
    struct sk_err err;
    int rc;

    (void)loop, (void)fd, (void)events;
    sk_err_init(&err);
    rc = snap_child_reap(s, &err);
    snap_child_clear(s);
    if (rc == 0 && !s->failed && s->r)
        rc = snap_done(s, &meta, &err);
    if (rc < 0)
        snap_warn(s, meta.index, err.msg);
    else
        sk_info("store", "snapshot at index %" PRIu64 " written in the background in %lld ms",
                meta.index, (long long)(sk_clock_mono_ms() - s->snap_t0));
    /* A threshold passed while the child was running. */
    node_snap_maybe(s);
}

/* Fork the child; 1 when it runs, 0 when the caller should take the
 * snapshot synchronously, <0 on failure. */
static int
snap_fork(struct store *s, const struct raft_snapshot_meta *meta, struct sk_err *err)
{
    struct sk_err tmp_err;
    unsigned flags = snap_write_flags(s);
    int p[2], pidfd = -1;
    pid_t pid, parent = getpid();

    if (snap_threads() != 1)
        return 0;
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
        return sk_err_sys(err, errno, "snapshot: pipe");
    pid = fork();
    if (pid < 0) {
        sk_err_sys(err, errno, "snapshot: fork");
        goto out_pipe;
    }
    if (pid == 0) {
        close(p[0]);
        snap_child(s, meta, flags, parent, p[1]);
    }
    close(p[1]);
    p[1] = -1;
    pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0 || fcntl(pidfd, F_SETFD, FD_CLOEXEC) < 0) {
        sk_err_sys(err, errno, "snapshot: pidfd_open");
        goto out_kill;
    }
    if (sk_loop_fd_add(s->loop, pidfd, SK_EV_READ, snap_child_exited, s, err) < 0)
        goto out_kill;
    s->snap_pid = pid;
    s->snap_pidfd = pidfd;
    s->snap_rfd = p[0];
    s->snap_meta = *meta;
    s->snap_t0 = sk_clock_mono_ms();
    sk_info("store",
            "snapshot at index %" PRIu64 " (revision %lld): writing in the background (pid %d)",
            meta->index, (long long)mvcc_rev(s->mvcc), (int)pid);
    return 1;
out_kill:
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    if (pidfd >= 0)
        close(pidfd);
    sk_err_init(&tmp_err);
    snapshot_remove_tmp(s->data_dir, &tmp_err);
out_pipe:
    close(p[0]);
    if (p[1] >= 0)
        close(p[1]);
    return -1;
}

static int
snap_take(struct store *s, struct sk_err *err)
{
    struct raft_snapshot_meta meta;
    uint64_t term;
    int rc;

    if (segment_log_term(s->log, s->applied, &term, err) < 0)
        return -1;
    memset(&meta, 0, sizeof(meta));
    meta.index = s->applied;
    meta.term = term;
    meta.conf = s->conf;
    meta.handle = s->applied;
    rc = snap_fork(s, &meta, err);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    return snap_take_sync(s, &meta, err);
}

/* WHEN (above): a state above SNAP_SMALL waits for as much log. */
static bool
snap_log_enough(const struct store *s)
{
    uint64_t log;

    if (s->snap_bytes <= SNAP_SMALL)
        return true;
    log = segment_log_bytes(s->log, s->snap.index + 1, s->applied + 1);
    return log >= s->snap_bytes - SNAP_SMALL;
}

void
node_snap_maybe(struct store *s)
{
    struct sk_err err;

    if (s->applied < s->snap_next || s->snap_pid || s->failed || !s->r || !snap_log_enough(s))
        return;
    /* The next threshold on the same grid, past applied: thresholds
     * passed while a child was running are not made up for, but they do
     * not push the following ones back either. */
    s->snap_next += s->snapshot_every * ((s->applied - s->snap_next) / s->snapshot_every + 1);
    sk_err_init(&err);
    if (snap_take(s, &err) < 0)
        snap_warn(s, s->applied, err.msg);
}

/* Closing: give a running child a bounded time to finish, then kill it
 * and remove what it left behind. Its snapshot, if done, is only kept
 * on disk (the next start restores the newest one). */
void
node_snap_stop(struct store *s)
{
    struct pollfd pfd;
    struct sk_err err;

    if (!s->snap_pid)
        return;
    pfd.fd = s->snap_pidfd;
    pfd.events = POLLIN;
    if (poll(&pfd, 1, SNAP_CHILD_WAIT_MS) <= 0)
        kill(s->snap_pid, SIGKILL);
    sk_err_init(&err);
    if (snap_child_reap(s, &err) < 0)
        sk_warn("store", "snapshot at index %" PRIu64 " abandoned at close: %s", s->snap_meta.index,
                err.msg);
    snap_child_clear(s);
    sk_err_init(&err);
    if (snapshot_remove_tmp(s->data_dir, &err) < 0)
        sk_warn("store", "%s", err.msg);
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
    s->snap_bytes = snapshot_reader_info(rd)->payload_len;
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
