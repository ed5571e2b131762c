/* store/recover.c: lost-quorum recovery of one survivor's data dir
 * (skiffd store recover). */
#include "lib/alloc.h"
#include "lib/err.h"
#include "lib/log.h"
#include "store/meta.h"
#include "store/raft.h"
#include "store/segment.h"
#include "store/snapshot.h"
#include "store/store.h"
#include "store/tool.h"
#include "unit.h"

#include <errno.h>
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

static size_t
conf_of(uint8_t *buf, const char *a, uint8_t ra, const char *b, uint8_t rb, const char *c,
        uint8_t rc)
{
    struct raft_conf conf = {.n = 3};

    conf.servers[0] = (struct raft_server){store_member_id(a), ra};
    conf.servers[1] = (struct raft_server){store_member_id(b), rb};
    conf.servers[2] = (struct raft_server){store_member_id(c), rc};
    return raft_conf_encode(&conf, buf);
}

/* meta term 5 (voted m1); snapshot (term 2, index snap_index) of
 * {m1, m2, m3}; log [11, 40] of terms 2..4 with, at 30, a configuration
 * where m3 is a learner. */
static char *
survivor_datadir(const char *name, uint64_t snap_index)
{
    char *dir = fresh_datadir(name);
    struct segment_log *log;
    struct segment_entry e;
    struct snapshot_writer *w;
    uint8_t conf[RAFT_CONF_MAX_LEN], conf2[RAFT_CONF_MAX_LEN];
    size_t len = conf_of(conf, "m1", RAFT_VOTER, "m2", RAFT_VOTER, "m3", RAFT_VOTER);
    size_t len2 = conf_of(conf2, "m1", RAFT_VOTER, "m2", RAFT_VOTER, "m3", RAFT_LEARNER);
    struct meta m;
    struct sk_err err;
    uint64_t i;

    sk_err_init(&err);
    memset(&m, 0, sizeof(m));
    m.term = 5;
    strcpy(m.vote, "1");
    ck_assert_int_eq(meta_store(dir, &m, &err), 0);
    ck_assert_int_eq(snapshot_writer_begin(&w, dir, 2, snap_index, conf, len, &err), 0);
    ck_assert_int_eq(snapshot_writer_write(w, "state", 5, &err), 0);
    ck_assert_int_eq(snapshot_writer_commit(w, &err), 0);
    ck_assert_int_eq(segment_log_open(&log, dir, NULL, &err), 0);
    for (i = 11; i <= 40; i++) {
        e = (struct segment_entry){2 + i / 20, i, RAFT_ENTRY_NORMAL, "cmd", 3};
        if (i == 30)
            e = (struct segment_entry){3, i, RAFT_ENTRY_CONF, conf2, (uint32_t)len2};
        ck_assert_int_eq(segment_log_append(log, &e, 1, &err), 0);
    }
    ck_assert_int_eq(segment_log_sync(log, &err), 0);
    segment_log_free(log);
    return dir;
}

static int
recover(const char *dir, const char *name, int dry_run, char **text, struct sk_err *err)
{
    size_t len;
    FILE *out = open_memstream(text, &len);
    int rc;

    ck_assert_ptr_nonnull(out);
    sk_err_init(err);
    rc = store_tool_recover(dir, name, dry_run, out, err);
    fclose(out);
    return rc;
}

/* The last entry of dir's log, its configuration decoded into conf. */
static struct segment_entry
last_entry(const char *dir, struct raft_conf *conf)
{
    struct segment_log *log;
    struct segment_batch b = SEGMENT_BATCH_INIT;
    struct segment_entry e;
    struct sk_err err;
    uint64_t last;

    sk_err_init(&err);
    ck_assert_int_eq(segment_log_open(&log, dir, NULL, &err), 0);
    last = segment_log_last_index(log);
    ck_assert_int_eq(segment_log_read(log, last, last + 1, 0, &b, &err), 0);
    e = b.ents[0];
    memset(conf, 0, sizeof(*conf));
    if (e.type == RAFT_ENTRY_CONF)
        ck_assert_int_eq(raft_conf_decode(e.data, e.len, conf, &err), 0);
    e.data = NULL;
    segment_batch_release(&b);
    segment_log_free(log);
    return e;
}

START_TEST(recover_appends_a_configuration_of_the_survivor_alone_in_a_new_term)
{
    char *dir = survivor_datadir("recover", 10), *text;
    struct raft_conf conf;
    struct segment_entry e;
    struct sk_err err;
    struct meta m;

    ck_assert_int_eq(recover(dir, "m2", 0, &text, &err), 0);
    ck_assert_ptr_nonnull(strstr(text, "log snapshot=10 last_index=40 last_term=4\n"));
    ck_assert_ptr_nonnull(strstr(text, "configuration index=30 members=3\n"));
    ck_assert_ptr_nonnull(strstr(text, " role=learner\n"));
    ck_assert_ptr_nonnull(strstr(text, "appended configuration index=41 term=6 members=1\n"));
    free(text);
    e = last_entry(dir, &conf);
    ck_assert_uint_eq(e.index, 41);
    ck_assert_uint_eq(e.term, 6);
    ck_assert_uint_eq(e.type, RAFT_ENTRY_CONF);
    ck_assert_uint_eq(conf.n, 1);
    ck_assert_uint_eq(conf.servers[0].id, store_member_id("m2"));
    ck_assert_uint_eq(conf.servers[0].role, RAFT_VOTER);
    ck_assert_int_eq(meta_load(dir, &m, &err), 1);
    ck_assert_uint_eq(m.term, 6);
    ck_assert_str_eq(m.vote, "");
    /* Again: nothing to do, nothing written. */
    ck_assert_int_eq(recover(dir, "m2", 0, &text, &err), 0);
    ck_assert_ptr_nonnull(strstr(text, "nothing to do"));
    free(text);
    ck_assert_uint_eq(last_entry(dir, &conf).index, 41);
    free(dir);
}
END_TEST

START_TEST(recover_refuses_a_learner_a_stranger_and_an_empty_dir)
{
    char *dir = survivor_datadir("refuse", 10), *empty = fresh_datadir("empty"), *text;
    static const char *const names[] = {"m3", "m4", ""};
    struct raft_conf conf;
    struct sk_err err;
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        ck_assert_int_lt(recover(dir, names[i], 0, &text, &err), 0);
        ck_assert_int_eq(err.code, EINVAL);
        ck_assert_ptr_nonnull(strstr(err.msg, "not a voter of the latest configuration"));
        free(text);
    }
    ck_assert_uint_eq(last_entry(dir, &conf).index, 40);
    ck_assert_int_lt(recover(empty, "m1", 0, &text, &err), 0);
    ck_assert_int_eq(err.code, ENOENT);
    ck_assert_ptr_nonnull(strstr(err.msg, "nothing to recover"));
    free(text);
    free(empty);
    free(dir);
}
END_TEST

START_TEST(recover_refuses_a_dir_whose_server_runs)
{
    char *dir = survivor_datadir("locked", 10), *text;
    struct segment_log *held;
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_eq(segment_log_open(&held, dir, NULL, &err), 0);
    ck_assert_int_lt(recover(dir, "m1", 0, &text, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "in use"));
    free(text);
    segment_log_free(held);
    free(dir);
}
END_TEST

START_TEST(a_dry_run_writes_nothing)
{
    char *dir = survivor_datadir("dry", 10), *text;
    struct raft_conf conf;
    struct sk_err err;
    struct meta m;

    ck_assert_int_eq(recover(dir, "m1", 1, &text, &err), 0);
    ck_assert_ptr_nonnull(strstr(text, "dry run, nothing written"));
    ck_assert_ptr_null(strstr(text, "appended"));
    free(text);
    ck_assert_uint_eq(last_entry(dir, &conf).index, 40);
    ck_assert_int_eq(meta_load(dir, &m, &err), 1);
    ck_assert_uint_eq(m.term, 5);
    free(dir);
}
END_TEST

/* A log that ends before the snapshot (a crash while installing one) is
 * replaced by it, as on a normal start: the entry follows the snapshot,
 * whose configuration is the latest. */
START_TEST(recover_continues_after_a_snapshot_newer_than_the_log)
{
    char *dir = survivor_datadir("newer", 100), *text;
    FILE *null;
    struct raft_conf conf;
    struct segment_entry e;
    struct sk_err err;

    ck_assert_int_eq(recover(dir, "m3", 1, &text, &err), 0);
    ck_assert_ptr_nonnull(strstr(text, "log snapshot=100 last_index=100 last_term=2\n"));
    free(text);
    ck_assert_int_eq(recover(dir, "m3", 0, &text, &err), 0);
    ck_assert_ptr_nonnull(strstr(text, "configuration index=100 members=3\n"));
    ck_assert_ptr_nonnull(strstr(text, "appended configuration index=101 term=6 members=1\n"));
    free(text);
    e = last_entry(dir, &conf);
    ck_assert_uint_eq(e.index, 101);
    ck_assert_uint_eq(conf.servers[0].id, store_member_id("m3"));
    null = fopen("/dev/null", "we");
    ck_assert_int_eq(store_tool_verify(dir, null, &err), 0);
    fclose(null);
    free(dir);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("store_recover");
    TCase *tc = tcase_create("core");

    sk_log_set_level(SK_LOG_ERROR);
    tcase_add_test(tc, recover_appends_a_configuration_of_the_survivor_alone_in_a_new_term);
    tcase_add_test(tc, recover_refuses_a_learner_a_stranger_and_an_empty_dir);
    tcase_add_test(tc, recover_refuses_a_dir_whose_server_runs);
    tcase_add_test(tc, a_dry_run_writes_nothing);
    tcase_add_test(tc, recover_continues_after_a_snapshot_newer_than_the_log);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
