/* Offline dump and verify of a data directory (API in tool.h). Reuses
 * the readers of each format (meta.c, segment.c, snapshot.c) so the
 * tool and the server can never disagree on what is valid. */
#include "tool.h"
#include "lib/alloc.h"
#include "meta.h"
#include "segment.h"
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct tool {
    const char *datadir;
    FILE *out;
    int dump;   /* print records; keep going past damage */
    int failed; /* a problem was found (err holds the first) */
    struct sk_err *err;
    /* what the log holds, for the cross-checks */
    int have_log;
    uint64_t log_first;
    uint64_t log_next;
    uint64_t log_last_term;
    int have_snap;
    uint64_t snap_index;
};

/* Record a problem; returns <0 when the walk should stop. */
static int
tool_problem(struct tool *t, const char *file, struct sk_err *e)
{
    fprintf(t->out, "damaged file=%s error=%s\n", file, e->msg);
    if (!t->failed)
        sk_err_copy(t->err, e);
    t->failed = 1;
    return t->dump ? 0 : -e->code;
}

static int
tool_meta(struct tool *t)
{
    char *path = sk_asprintf("%s/meta", t->datadir);
    struct sk_err e;
    struct meta m;
    int rc;

    sk_err_init(&e);
    rc = meta_load(t->datadir, &m, &e);
    if (rc > 0)
        fprintf(t->out, "meta file=%s term=%llu vote=%s\n", path, (unsigned long long)m.term,
                m.vote[0] ? m.vote : "-");
    else if (rc == 0)
        fprintf(t->out, "meta file=%s missing (fresh node)\n", path);
    else
        rc = tool_problem(t, path, &e);
    free(path);
    return rc < 0 ? rc : 0;
}

static int
print_record(void *arg, uint64_t offset, const struct segment_entry *ent, struct sk_err *err)
{
    struct tool *t = arg;

    fprintf(t->out, "record index=%llu term=%llu type=%u len=%u offset=%llu\n",
            (unsigned long long)ent->index, (unsigned long long)ent->term, ent->type, ent->len,
            (unsigned long long)offset);
    return 0;
}

/* Scan one segment; *last_term carries terms across segments. */
static int
tool_segment(struct tool *t, const char *path, uint64_t first, int last, struct sk_err *e)
{
    struct segment_scan sc;
    int fd, rc;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sk_err_sys(e, errno, "open segment '%s'", path);
    memset(&sc, 0, sizeof(sc));
    sc.path = path;
    sc.fd = fd;
    sc.first_index = first;
    sc.min_term = t->log_last_term;
    sc.last = last;
    sc.fn = t->dump ? print_record : NULL;
    sc.arg = t;
    rc = segment_scan_file(&sc, e);
    close(fd);
    if (rc < 0)
        return sk_err_wrap(e, "segment '%s'", path);
    fprintf(t->out, "segment file=%s first=%llu records=%llu size=%llu\n", path,
            (unsigned long long)first, (unsigned long long)sc.count,
            (unsigned long long)sc.file_size);
    if (sc.torn)
        fprintf(t->out, "torn file=%s offset=%llu error=%s (start-up truncates it)\n", path,
                (unsigned long long)sc.end, sc.torn_why);
    t->log_next = first + sc.count;
    t->log_last_term = sc.last_term;
    return 0;
}

/* Check that segment first follows the previous one, then scan it. */
static int
tool_next_segment(struct tool *t, const char *path, uint64_t first, int last, int resync,
                  struct sk_err *e)
{
    if (t->have_log && !resync && first != t->log_next)
        return sk_err_set(e, EBADMSG, "segment '%s': starts at index %llu, expected %llu", path,
                          (unsigned long long)first, (unsigned long long)t->log_next);
    if (!t->have_log)
        t->log_first = first;
    t->have_log = 1;
    return tool_segment(t, path, first, last, e);
}

static int
tool_segments(struct tool *t)
{
    char *logdir = sk_asprintf("%s/log", t->datadir), *path;
    uint64_t *firsts = NULL;
    int rc = 0, resync = 0;
    struct sk_err e;
    struct stat st;
    size_t n = 0, i;

    sk_err_init(&e);
    if (stat(logdir, &st) < 0 && errno == ENOENT) {
        fprintf(t->out, "log dir=%s missing\n", logdir);
        free(logdir);
        return 0;
    }
    if (segment_dir_list(logdir, &firsts, &n, &e) < 0)
        rc = tool_problem(t, logdir, &e);
    for (i = 0; rc == 0 && firsts && i < n; i++) {
        path = segment_path(logdir, firsts[i]);
        /* After damage (dump keeps going) continuity is checked afresh. */
        resync = tool_next_segment(t, path, firsts[i], i + 1 == n, resync, &e) < 0;
        if (resync) {
            rc = tool_problem(t, path, &e);
            sk_err_init(&e);
        }
        free(path);
    }
    free(firsts);
    free(logdir);
    return rc;
}

static int
tool_snapshots(struct tool *t)
{
    unsigned flags = t->dump ? SNAPSHOT_NO_VERIFY : 0;
    const struct snapshot_info *info;
    struct snapshot_reader *r;
    struct snapshot_id *ids;
    struct sk_err e;
    size_t n, i;
    char *path;
    int rc;

    sk_err_init(&e);
    rc = snapshot_list(t->datadir, &ids, &n, &e);
    if (rc < 0)
        return tool_problem(t, t->datadir, &e);
    for (i = 0; rc == 0 && i < n; i++) {
        path = snapshot_path(t->datadir, ids[i].term, ids[i].index);
        if (snapshot_open(&r, path, flags, &e) < 0) {
            rc = tool_problem(t, path, &e);
            free(path);
            continue;
        }
        info = snapshot_reader_info(r);
        fprintf(t->out, "snapshot file=%s term=%llu index=%llu conf_len=%u payload_len=%llu\n",
                path, (unsigned long long)info->term, (unsigned long long)info->index,
                info->conf_len, (unsigned long long)info->payload_len);
        t->have_snap = 1;
        t->snap_index = info->index;
        snapshot_reader_free(r);
        free(path);
    }
    free(ids);
    return rc;
}

/* Raft invariants across files: the log continues from the newest
 * snapshot (§7), and no entry has a term above the current term (§5.1). */
static int
tool_cross_check(struct tool *t)
{
    char *logdir = sk_asprintf("%s/log", t->datadir);
    struct sk_err e;
    struct meta m;
    int rc = 0;

    sk_err_init(&e);
    if (t->have_log && t->log_first > (t->have_snap ? t->snap_index : 0) + 1) {
        sk_err_set(&e, EBADMSG, "log starts at index %llu but the newest snapshot ends at %llu",
                   (unsigned long long)t->log_first,
                   (unsigned long long)(t->have_snap ? t->snap_index : 0));
        rc = tool_problem(t, logdir, &e);
    }
    if (rc == 0 && t->have_log && meta_load(t->datadir, &m, &e) > 0 && m.term < t->log_last_term) {
        sk_err_set(&e, EBADMSG, "meta term %llu is below the log's last term %llu",
                   (unsigned long long)m.term, (unsigned long long)t->log_last_term);
        rc = tool_problem(t, "meta", &e);
    }
    free(logdir);
    return rc;
}

static int
tool_run(const char *datadir, FILE *out, int dump, struct sk_err *err)
{
    struct tool t;
    int rc;

    memset(&t, 0, sizeof(t));
    t.datadir = datadir;
    t.out = out;
    t.dump = dump;
    t.err = err;
    rc = tool_meta(&t);
    if (rc == 0)
        rc = tool_segments(&t);
    if (rc == 0)
        rc = tool_snapshots(&t);
    if (rc == 0 && !t.failed)
        rc = tool_cross_check(&t);
    if (t.failed) {
        fprintf(out, "%s FAILED\n", dump ? "dump" : "verify");
        return -(err && err->code ? err->code : EBADMSG);
    }
    fprintf(out, "%s ok\n", dump ? "dump" : "verify");
    return 0;
}

int
store_tool_dump(const char *datadir, FILE *out, struct sk_err *err)
{
    return tool_run(datadir, out, 1, err);
}

int
store_tool_verify(const char *datadir, FILE *out, struct sk_err *err)
{
    return tool_run(datadir, out, 0, err);
}
