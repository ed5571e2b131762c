/* store/tool: offline dump and verify of a data directory. */
#include "lib/alloc.h"
#include "lib/err.h"
#include "lib/log.h"
#include "store/meta.h"
#include "store/segment.h"
#include "store/snapshot.h"
#include "store/tool.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *
fresh_datadir(const char *name)
{
    static int seq;
    char *dir = sk_asprintf("%s/%s-%d-%d", unit_tmpdir(), name, (int)getpid(), seq++);

    ck_assert_int_eq(mkdir(dir, 0700), 0);
    return dir;
}

/* A healthy data dir: meta (term 3), log [11, 60] in several segments,
 * snapshot at index 10. */
static char *
healthy_datadir(const char *name)
{
    char *dir = fresh_datadir(name);
    struct segment_log_opts opts = {400};
    struct segment_log *log;
    struct segment_entry e;
    struct snapshot_writer *w;
    struct meta m;
    struct sk_err err;
    uint64_t i;

    sk_err_init(&err);
    memset(&m, 0, sizeof(m));
    m.term = 3;
    strcpy(m.vote, "node-b");
    ck_assert_int_eq(meta_store(dir, &m, &err), 0);
    ck_assert_int_eq(snapshot_writer_begin(&w, dir, 1, 10, "conf", 4, &err), 0);
    ck_assert_int_eq(snapshot_writer_write(w, "state", 5, &err), 0);
    ck_assert_int_eq(snapshot_writer_commit(w, &err), 0);
    ck_assert_int_eq(segment_log_open(&log, dir, &opts, &err), 0);
    for (i = 11; i <= 60; i++) {
        e = (struct segment_entry){1 + i / 30, i, 2, "payload-bytes", 13};
        ck_assert_int_eq(segment_log_append(log, &e, 1, &err), 0);
    }
    ck_assert_int_eq(segment_log_sync(log, &err), 0);
    ck_assert_uint_gt(segment_log_nsegments(log), 2);
    segment_log_free(log);
    return dir;
}

static int
run(int (*fn)(const char *, FILE *, struct sk_err *), const char *dir, char **text,
    struct sk_err *err)
{
    size_t len;
    FILE *out = open_memstream(text, &len);
    int rc;

    ck_assert_ptr_nonnull(out);
    sk_err_init(err);
    rc = fn(dir, out, err);
    fclose(out);
    return rc;
}

START_TEST(dump_prints_meta_records_and_snapshots)
{
    char *dir = healthy_datadir("dump"), *text;
    struct sk_err err;

    ck_assert_int_eq(run(store_tool_dump, dir, &text, &err), 0);
    ck_assert_ptr_nonnull(strstr(text, "meta file="));
    ck_assert_ptr_nonnull(strstr(text, " term=3 vote=node-b\n"));
    ck_assert_ptr_nonnull(strstr(text, "/log/00000000000000000011.seg first=11 records="));
    ck_assert_ptr_nonnull(strstr(text, "record index=11 term=1 type=2 len=13 offset=32\n"));
    ck_assert_ptr_nonnull(strstr(text, "record index=60 term=3 type=2 len=13 offset="));
    ck_assert_ptr_nonnull(strstr(text, "snapshot file="));
    ck_assert_ptr_nonnull(strstr(text, " term=1 index=10 conf_len=4 payload_len=5\n"));
    ck_assert_ptr_nonnull(strstr(text, "dump ok\n"));
    free(text);
    free(dir);
}
END_TEST

START_TEST(verify_accepts_a_healthy_datadir_and_an_empty_one)
{
    char *dir = healthy_datadir("verify"), *empty = fresh_datadir("empty"), *text;
    struct sk_err err;

    ck_assert_int_eq(run(store_tool_verify, dir, &text, &err), 0);
    ck_assert_ptr_nonnull(strstr(text, "verify ok\n"));
    ck_assert_ptr_null(strstr(text, "record index="));
    free(text);
    ck_assert_int_eq(run(store_tool_verify, empty, &text, &err), 0);
    ck_assert_ptr_nonnull(strstr(text, "missing (fresh node)"));
    free(text);
    free(empty);
    free(dir);
}
END_TEST

static void
flip_byte(const char *path, off_t off)
{
    unsigned char c;
    int fd = open(path, O_RDWR | O_CLOEXEC);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, &c, 1, off), 1);
    c ^= 0x10;
    ck_assert_int_eq(pwrite(fd, &c, 1, off), 1);
    close(fd);
}

START_TEST(verify_names_file_and_offset_of_a_bad_record)
{
    char *dir = healthy_datadir("badrec"), *text;
    char *seg = sk_asprintf("%s/log/00000000000000000011.seg", dir);
    struct sk_err err;

    flip_byte(seg, 32 + 38 + 30); /* inside the second record */
    ck_assert_int_eq(run(store_tool_verify, dir, &text, &err), -EBADMSG);
    ck_assert_msg(strstr(err.msg, "00000000000000000011.seg': record at offset 70: crc mismatch") !=
                      NULL,
                  "%s", err.msg);
    ck_assert_ptr_nonnull(strstr(text, "verify FAILED\n"));
    free(text);
    /* dump shows what it can and still fails. */
    ck_assert_int_eq(run(store_tool_dump, dir, &text, &err), -EBADMSG);
    ck_assert_ptr_nonnull(strstr(text, "damaged file="));
    ck_assert_ptr_nonnull(strstr(text, "snapshot file="));
    free(text);
    free(seg);
    free(dir);
}
END_TEST

START_TEST(verify_reports_a_torn_tail_without_failing_or_repairing)
{
    char *dir = healthy_datadir("torn"), *text, *logdir = NULL, *last;
    uint64_t *firsts;
    struct sk_err err;
    struct stat st;
    off_t cut;
    size_t n;

    logdir = sk_asprintf("%s/log", dir);
    ck_assert_int_eq(segment_dir_list(logdir, &firsts, &n, &err), 0);
    last = segment_path(logdir, firsts[n - 1]);
    ck_assert_int_eq(stat(last, &st), 0);
    cut = st.st_size - 3;
    ck_assert_int_eq(truncate(last, cut), 0);
    ck_assert_int_eq(run(store_tool_verify, dir, &text, &err), 0);
    ck_assert_ptr_nonnull(strstr(text, "torn file="));
    ck_assert_ptr_nonnull(strstr(text, "verify ok\n"));
    /* Read-only: the torn bytes are still there. */
    ck_assert_int_eq(stat(last, &st), 0);
    ck_assert_int_eq(st.st_size, cut);
    free(text);
    free(last);
    free(firsts);
    free(logdir);
    free(dir);
}
END_TEST

START_TEST(verify_finds_a_damaged_snapshot)
{
    char *dir = healthy_datadir("badsnap"), *text;
    char *snap = snapshot_path(dir, 1, 10);
    struct sk_err err;

    flip_byte(snap, 53);
    ck_assert_int_eq(run(store_tool_verify, dir, &text, &err), -EBADMSG);
    ck_assert_ptr_nonnull(strstr(err.msg, "crc mismatch"));
    ck_assert_ptr_nonnull(strstr(err.msg, "00000000000000000001-00000000000000000010.snap"));
    free(text);
    free(snap);
    free(dir);
}
END_TEST

START_TEST(verify_finds_a_missing_segment_and_a_log_gap_after_the_snapshot)
{
    char *dir = healthy_datadir("gap"), *text, *logdir, *victim;
    uint64_t *firsts;
    struct sk_err err;
    size_t n;

    logdir = sk_asprintf("%s/log", dir);
    ck_assert_int_eq(segment_dir_list(logdir, &firsts, &n, &err), 0);
    victim = segment_path(logdir, firsts[1]);
    ck_assert_int_eq(unlink(victim), 0);
    ck_assert_int_eq(run(store_tool_verify, dir, &text, &err), -EBADMSG);
    ck_assert_ptr_nonnull(strstr(err.msg, "expected"));
    free(text);
    free(victim);
    /* Keep only the third segment: the log no longer follows the
     * snapshot at index 10. */
    victim = segment_path(logdir, firsts[0]);
    ck_assert_int_eq(unlink(victim), 0);
    for (size_t i = 2; i < n; i++) {
        char *p = segment_path(logdir, firsts[i]);

        if (i > 2)
            ck_assert_int_eq(unlink(p), 0);
        free(p);
    }
    ck_assert_int_eq(run(store_tool_verify, dir, &text, &err), -EBADMSG);
    ck_assert_msg(strstr(err.msg, "but the newest snapshot ends at 10") != NULL, "%s", err.msg);
    free(text);
    free(victim);
    free(firsts);
    free(logdir);
    free(dir);
}
END_TEST

START_TEST(verify_finds_meta_term_below_the_log)
{
    char *dir = healthy_datadir("metaterm"), *text;
    struct meta m;
    struct sk_err err;

    memset(&m, 0, sizeof(m));
    m.term = 2;
    sk_err_init(&err);
    ck_assert_int_eq(meta_store(dir, &m, &err), 0);
    ck_assert_int_eq(run(store_tool_verify, dir, &text, &err), -EBADMSG);
    ck_assert_ptr_nonnull(strstr(err.msg, "meta term 2 is below the log's last term 3"));
    free(text);
    free(dir);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("tool");
    TCase *tc = tcase_create("core");

    sk_log_set_level(SK_LOG_ERROR);
    tcase_add_test(tc, dump_prints_meta_records_and_snapshots);
    tcase_add_test(tc, verify_accepts_a_healthy_datadir_and_an_empty_one);
    tcase_add_test(tc, verify_names_file_and_offset_of_a_bad_record);
    tcase_add_test(tc, verify_reports_a_torn_tail_without_failing_or_repairing);
    tcase_add_test(tc, verify_finds_a_damaged_snapshot);
    tcase_add_test(tc, verify_finds_a_missing_segment_and_a_log_gap_after_the_snapshot);
    tcase_add_test(tc, verify_finds_meta_term_below_the_log);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
