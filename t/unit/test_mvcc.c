/* store/mvcc: etcd v3 semantics of the MVCC state machine, its command
 * encoding, compaction, events and snapshots. */
#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "store/mvcc.h"
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

#define S(str) (str), (uint32_t)strlen(str)

static int
apply_buf(struct mvcc *s, struct sk_buf *cmd, struct mvcc_result *res, struct sk_err *err)
{
    int rc;

    sk_err_init(err);
    rc = mvcc_apply(s, cmd->data, cmd->len, res, err);
    sk_buf_release(cmd);
    return rc;
}

/* Put key=value; returns the new revision. */
static int64_t
put(struct mvcc *s, const char *key, const char *value)
{
    struct sk_buf cmd = SK_BUF_INIT;
    struct mvcc_result res;
    struct sk_err err;
    int64_t rev;

    mvcc_result_init(&res);
    mvcc_cmd_encode_put(&cmd, S(key), S(value), 0);
    ck_assert_msg(apply_buf(s, &cmd, &res, &err) == 0, "put %s: %s", key, err.msg);
    rev = res.rev;
    mvcc_result_release(&res);
    return rev;
}

/* Delete [key, end) (end NULL: the single key); returns keys deleted. */
static int64_t
del(struct mvcc *s, const char *key, const char *end)
{
    struct sk_buf cmd = SK_BUF_INIT;
    struct mvcc_result res;
    struct sk_err err;
    int64_t n;

    mvcc_result_init(&res);
    mvcc_cmd_encode_delete(&cmd, S(key), end, end ? (uint32_t)strlen(end) : 0, 0);
    ck_assert_msg(apply_buf(s, &cmd, &res, &err) == 0, "delete %s: %s", key, err.msg);
    ck_assert_uint_eq(res.nops, 1);
    n = res.ops[0].count;
    mvcc_result_release(&res);
    return n;
}

/* Get key at rev: 1 and *kv when it exists, 0 when not, <0 on error. */
static int
get(struct mvcc *s, const char *key, int64_t rev, struct mvcc_kv *kv, struct sk_err *err)
{
    struct mvcc_op op = {MVCC_OP_RANGE, S(key), NULL, 0, NULL, 0, rev, 0, 0};
    struct mvcc_op_result r;
    int rc;

    memset(&r, 0, sizeof(r));
    sk_err_init(err);
    rc = mvcc_range(s, &op, &r, err);
    if (rc == 0 && r.nkvs) {
        *kv = r.kvs[0];
        rc = 1;
    }
    mvcc_op_result_release(&r);
    return rc;
}

static void
check_kv(struct mvcc *s, const char *key, int64_t rev, const char *value, int64_t create,
         int64_t mod, int64_t version)
{
    struct mvcc_kv kv;
    struct sk_err err;

    ck_assert_msg(get(s, key, rev, &kv, &err) == 1, "get %s@%lld: %s", key, (long long)rev,
                  err.msg);
    ck_assert_uint_eq(kv.value_len, strlen(value));
    ck_assert(memcmp(kv.value, value, kv.value_len) == 0);
    ck_assert_int_eq(kv.create_rev, create);
    ck_assert_int_eq(kv.mod_rev, mod);
    ck_assert_int_eq(kv.version, version);
}

static void
check_absent(struct mvcc *s, const char *key, int64_t rev)
{
    struct mvcc_kv kv;
    struct sk_err err;

    ck_assert_int_eq(get(s, key, rev, &kv, &err), 0);
}

/* Events collected by events_since and the hook. */
struct evlog {
    struct sk_buf text; /* "rev.sub TYPE key=value prev=value;" */
    int n;
    int stop_after;
};

static void
evlog_add(struct evlog *l, const struct mvcc_event *ev)
{
    sk_buf_printf(&l->text, "%lld.%u %s %.*s=%.*s", (long long)ev->rev, ev->sub,
                  ev->type == MVCC_EVENT_PUT ? "PUT" : "DEL", (int)ev->kv.key_len, ev->kv.key,
                  (int)ev->kv.value_len, ev->kv.value ? ev->kv.value : "");
    if (ev->type == MVCC_EVENT_PUT)
        sk_buf_printf(&l->text, " v%lld c%lld", (long long)ev->kv.version,
                      (long long)ev->kv.create_rev);
    if (ev->has_prev)
        sk_buf_printf(&l->text, " prev=%.*s@%lld", (int)ev->prev.value_len, ev->prev.value,
                      (long long)ev->prev.mod_rev);
    sk_buf_puts(&l->text, ";");
    l->n++;
}

static int
evlog_fn(void *arg, const struct mvcc_event *ev)
{
    struct evlog *l = arg;

    evlog_add(l, ev);
    return l->stop_after && l->n >= l->stop_after ? 1 : 0;
}

static char *
events_text(struct mvcc *s, int64_t rev, const char *key, const char *end, int *rc_out)
{
    struct evlog l;
    struct sk_err err;
    int64_t crev;

    memset(&l, 0, sizeof(l));
    sk_buf_init(&l.text);
    sk_buf_puts(&l.text, "");
    sk_err_init(&err);
    *rc_out = mvcc_events_since(s, rev, key, key ? (uint32_t)strlen(key) : 0, end,
                                end ? (uint32_t)strlen(end) : 0, evlog_fn, &l, &crev, &err);
    return sk_buf_detach(&l.text, NULL);
}

/* ---- revisions and versions ---- */

START_TEST(empty_store_is_at_revision_one_and_puts_count_versions)
{
    struct mvcc *s = mvcc_new();

    ck_assert_int_eq(mvcc_rev(s), 1);
    ck_assert_int_eq(mvcc_compact_rev(s), 0);
    check_absent(s, "a", 0);
    ck_assert_int_eq(put(s, "a", "1"), 2);
    check_kv(s, "a", 0, "1", 2, 2, 1);
    ck_assert_int_eq(put(s, "b", "x"), 3);
    ck_assert_int_eq(put(s, "a", "2"), 4);
    check_kv(s, "a", 0, "2", 2, 4, 2);
    ck_assert_int_eq(put(s, "a", ""), 5);
    check_kv(s, "a", 0, "", 2, 5, 3);
    /* Reads at a past revision see the version of that time. */
    check_kv(s, "a", 2, "1", 2, 2, 1);
    check_kv(s, "a", 3, "1", 2, 2, 1);
    check_kv(s, "a", 4, "2", 2, 4, 2);
    check_absent(s, "b", 2);
    check_kv(s, "b", 3, "x", 3, 3, 1);
    mvcc_free(s);
}
END_TEST

START_TEST(delete_bumps_revision_only_when_something_is_deleted)
{
    struct mvcc *s = mvcc_new();

    put(s, "a", "1");
    put(s, "a", "2");
    ck_assert_int_eq(mvcc_rev(s), 3);
    ck_assert_int_eq(del(s, "nope", NULL), 0);
    ck_assert_int_eq(mvcc_rev(s), 3);
    ck_assert_int_eq(del(s, "a", NULL), 1);
    ck_assert_int_eq(mvcc_rev(s), 4);
    check_absent(s, "a", 0);
    check_kv(s, "a", 3, "2", 2, 3, 2);
    ck_assert_int_eq(del(s, "a", NULL), 0);
    ck_assert_int_eq(mvcc_rev(s), 4);
    /* Recreating starts a new life: version 1, new create_rev. */
    ck_assert_int_eq(put(s, "a", "3"), 5);
    check_kv(s, "a", 0, "3", 5, 5, 1);
    check_absent(s, "a", 4);
    mvcc_free(s);
}
END_TEST

START_TEST(range_delete_is_one_revision_for_all_keys)
{
    struct mvcc *s = mvcc_new();
    char *ev;
    int rc;

    put(s, "/p/a", "1");
    put(s, "/p/b", "2");
    put(s, "/q", "3");
    put(s, "/p/c", "4");
    ck_assert_int_eq(del(s, "/p/", "/p0"), 3);
    ck_assert_int_eq(mvcc_rev(s), 6);
    check_absent(s, "/p/b", 0);
    check_kv(s, "/q", 0, "3", 4, 4, 1);
    ev = events_text(s, 5, "", NULL, &rc);
    ck_assert_int_eq(rc, 3);
    ck_assert_str_eq(ev, "6.0 DEL /p/a= prev=1@2;6.1 DEL /p/b= prev=2@3;6.2 DEL /p/c= prev=4@5;");
    free(ev);
    mvcc_free(s);
}
END_TEST

START_TEST(prev_kv_is_returned_by_put_and_delete)
{
    struct mvcc *s = mvcc_new();
    struct sk_buf cmd = SK_BUF_INIT;
    struct mvcc_result res;
    struct sk_err err;

    mvcc_result_init(&res);
    mvcc_cmd_encode_put(&cmd, S("k"), S("v1"), MVCC_PREV_KV);
    ck_assert_int_eq(apply_buf(s, &cmd, &res, &err), 0);
    ck_assert_uint_eq(res.ops[0].nkvs, 0);
    mvcc_cmd_encode_put(&cmd, S("k"), S("v2"), MVCC_PREV_KV);
    ck_assert_int_eq(apply_buf(s, &cmd, &res, &err), 0);
    ck_assert_uint_eq(res.ops[0].nkvs, 1);
    ck_assert_int_eq(res.ops[0].kvs[0].mod_rev, 2);
    ck_assert(memcmp(res.ops[0].kvs[0].value, "v1", 2) == 0);
    put(s, "k2", "x");
    mvcc_cmd_encode_delete(&cmd, S("k"), S("k3"), MVCC_PREV_KV);
    ck_assert_int_eq(apply_buf(s, &cmd, &res, &err), 0);
    ck_assert_int_eq(res.ops[0].count, 2);
    ck_assert_uint_eq(res.ops[0].nkvs, 2);
    ck_assert(memcmp(res.ops[0].kvs[0].value, "v2", 2) == 0);
    ck_assert(memcmp(res.ops[0].kvs[1].key, "k2", 2) == 0);
    ck_assert_int_eq(res.rev, 5);
    mvcc_result_release(&res);
    mvcc_free(s);
}
END_TEST

/* ---- ranges ---- */

static struct mvcc *
ranged_store(void)
{
    static const char *const keys[] = {"/a", "/b/1", "/b/2", "/b/3", "/b0", "/c", "/c\xff"};
    struct mvcc *s = mvcc_new();
    size_t i;

    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        put(s, keys[i], keys[i]);
    del(s, "/b/2", NULL);
    return s;
}

static const struct {
    const char *name;
    const char *key;
    const char *end; /* NULL: single key; "" stands for "\0" */
    int64_t limit;
    unsigned flags;
    const char *want; /* keys, comma-separated */
    int64_t count;
    int more;
} range_cases[] = {
    {"single key", "/a", NULL, 0, 0, "/a", 1, 0},
    {"single missing key", "/zz", NULL, 0, 0, "", 0, 0},
    {"single deleted key", "/b/2", NULL, 0, 0, "", 0, 0},
    {"half-open span", "/a", "/b0", 0, 0, "/a,/b/1,/b/3", 3, 0},
    {"prefix /b/", "/b/", "/b0", 0, 0, "/b/1,/b/3", 2, 0},
    {"everything from /b0", "/b0", "", 0, 0, "/b0,/c,/c\xff", 3, 0},
    {"all keys", "\x01", "", 0, 0, "/a,/b/1,/b/3,/b0,/c,/c\xff", 6, 0},
    {"limit", "/", "", 2, 0, "/a,/b/1", 6, 1},
    {"limit equal to count", "/b/", "/b0", 2, 0, "/b/1,/b/3", 2, 0},
    {"count only", "/", "", 0, MVCC_COUNT_ONLY, "", 6, 0},
    {"keys only", "/b/", "/b0", 0, MVCC_KEYS_ONLY, "/b/1,/b/3", 2, 0},
    {"empty span (end before key)", "/c", "/a", 0, 0, "", 0, 0},
};

START_TEST(range_table)
{
    struct mvcc *s = ranged_store();
    struct mvcc_op op = {MVCC_OP_RANGE, S(range_cases[_i].key), NULL, 0, NULL, 0, 0, 0, 0};
    struct mvcc_op_result r;
    struct sk_buf got = SK_BUF_INIT;
    struct sk_err err;
    size_t i;

    if (range_cases[_i].end) {
        op.end = range_cases[_i].end[0] ? range_cases[_i].end : "";
        op.end_len = range_cases[_i].end[0] ? (uint32_t)strlen(range_cases[_i].end) : 1;
    }
    op.limit = range_cases[_i].limit;
    op.flags = range_cases[_i].flags;
    memset(&r, 0, sizeof(r));
    sk_err_init(&err);
    ck_assert_int_eq(mvcc_range(s, &op, &r, &err), 0);
    sk_buf_puts(&got, "");
    for (i = 0; i < r.nkvs; i++) {
        sk_buf_printf(&got, "%s%.*s", i ? "," : "", (int)r.kvs[i].key_len, r.kvs[i].key);
        if (op.flags & MVCC_KEYS_ONLY)
            ck_assert_ptr_null(r.kvs[i].value);
        else
            ck_assert(r.kvs[i].value_len == r.kvs[i].key_len);
    }
    ck_assert_msg(strcmp(got.data, range_cases[_i].want) == 0, "%s: got %s", range_cases[_i].name,
                  got.data);
    ck_assert_int_eq(r.count, range_cases[_i].count);
    ck_assert_int_eq(r.more, range_cases[_i].more);
    mvcc_op_result_release(&r);
    sk_buf_release(&got);
    mvcc_free(s);
}
END_TEST

START_TEST(paging_with_limit_and_continuation_visits_every_key_once)
{
    struct mvcc *s = mvcc_new();
    struct mvcc_op_result r;
    struct sk_err err;
    char key[32], start[64], end[32];
    uint32_t start_len, end_len;
    int i, seen = 0, pages = 0;

    for (i = 0; i < 250; i++) {
        snprintf(key, sizeof(key), "/registry/pods/p%03d", i);
        put(s, key, "x");
    }
    put(s, "/registry/podsz", "outside");
    end_len = mvcc_prefix_end(S("/registry/pods/"), end);
    start_len = (uint32_t)snprintf(start, sizeof(start), "/registry/pods/");
    memset(&r, 0, sizeof(r));
    sk_err_init(&err);
    for (;;) {
        struct mvcc_op op = {MVCC_OP_RANGE, start, start_len, end, end_len, NULL, 0, 0, 40, 0};

        ck_assert_int_eq(mvcc_range(s, &op, &r, &err), 0);
        for (i = 0; i < (int)r.nkvs; i++) {
            snprintf(key, sizeof(key), "/registry/pods/p%03d", seen + i);
            ck_assert(r.kvs[i].key_len == strlen(key) &&
                      memcmp(r.kvs[i].key, key, strlen(key)) == 0);
        }
        seen += (int)r.nkvs;
        pages++;
        if (!r.more)
            break;
        /* Continue after the last key: the key with a 0 byte appended. */
        memcpy(start, r.kvs[r.nkvs - 1].key, r.kvs[r.nkvs - 1].key_len);
        start[r.kvs[r.nkvs - 1].key_len] = '\0';
        start_len = r.kvs[r.nkvs - 1].key_len + 1;
    }
    ck_assert_int_eq(seen, 250);
    ck_assert_int_eq(pages, 7);
    mvcc_op_result_release(&r);
    mvcc_free(s);
}
END_TEST

START_TEST(prefix_end_increments_the_last_byte_below_0xff)
{
    char end[8];

    ck_assert_uint_eq(mvcc_prefix_end(S("/a/"), end), 3);
    ck_assert(memcmp(end, "/a0", 3) == 0);
    ck_assert_uint_eq(mvcc_prefix_end("a\xff\xff", 3, end), 1);
    ck_assert_int_eq(end[0], 'b');
    ck_assert_uint_eq(mvcc_prefix_end("\xff\xff", 2, end), 1);
    ck_assert_int_eq(end[0], '\0');
}
END_TEST

START_TEST(reads_outside_the_retained_history_are_refused)
{
    struct mvcc *s = mvcc_new();
    struct mvcc_kv kv;
    struct sk_err err;

    put(s, "a", "1");
    put(s, "a", "2");
    ck_assert_int_eq(get(s, "a", 4, &kv, &err), -MVCC_EFUTURE);
    ck_assert_int_eq(get(s, "a", -1, &kv, &err), -EINVAL);
    ck_assert_int_eq(mvcc_compact(s, 3, &err), 0);
    ck_assert_int_eq(get(s, "a", 2, &kv, &err), -MVCC_ECOMPACTED);
    ck_assert_str_eq(err.msg, "revision 2 is compacted, resume from 3");
    ck_assert_int_eq(get(s, "a", 3, &kv, &err), 1);
    mvcc_free(s);
}
END_TEST

/* ---- txn ---- */

/* k: put "a" at 2, "b" at 3 (create 2, mod 3, version 2); r1 v1; r2 v2. */
static struct mvcc *
txn_store(void)
{
    struct mvcc *s = mvcc_new();

    put(s, "k", "a");
    put(s, "k", "b");
    put(s, "r1", "x");
    put(s, "r2", "x");
    put(s, "r2", "y");
    return s;
}

static const struct {
    const char *name;
    enum mvcc_cmp_target target;
    enum mvcc_cmp_result result;
    const char *key;
    const char *end;
    int64_t num;
    const char *value;
    int want;
} cmp_cases[] = {
    {"version = 2", MVCC_CMP_VERSION, MVCC_CMP_EQUAL, "k", NULL, 2, NULL, 1},
    {"version = 1", MVCC_CMP_VERSION, MVCC_CMP_EQUAL, "k", NULL, 1, NULL, 0},
    {"version > 1", MVCC_CMP_VERSION, MVCC_CMP_GREATER, "k", NULL, 1, NULL, 1},
    {"version < 2", MVCC_CMP_VERSION, MVCC_CMP_LESS, "k", NULL, 2, NULL, 0},
    {"version != 2", MVCC_CMP_VERSION, MVCC_CMP_NOT_EQUAL, "k", NULL, 2, NULL, 0},
    {"create = 2", MVCC_CMP_CREATE, MVCC_CMP_EQUAL, "k", NULL, 2, NULL, 1},
    {"create < 3", MVCC_CMP_CREATE, MVCC_CMP_LESS, "k", NULL, 3, NULL, 1},
    {"create > 2", MVCC_CMP_CREATE, MVCC_CMP_GREATER, "k", NULL, 2, NULL, 0},
    {"create != 0 (exists)", MVCC_CMP_CREATE, MVCC_CMP_NOT_EQUAL, "k", NULL, 0, NULL, 1},
    {"mod = 3", MVCC_CMP_MOD, MVCC_CMP_EQUAL, "k", NULL, 3, NULL, 1},
    {"mod != 3", MVCC_CMP_MOD, MVCC_CMP_NOT_EQUAL, "k", NULL, 3, NULL, 0},
    {"mod > 3", MVCC_CMP_MOD, MVCC_CMP_GREATER, "k", NULL, 3, NULL, 0},
    {"mod < 4", MVCC_CMP_MOD, MVCC_CMP_LESS, "k", NULL, 4, NULL, 1},
    {"value = b", MVCC_CMP_VALUE, MVCC_CMP_EQUAL, "k", NULL, 0, "b", 1},
    {"value = a", MVCC_CMP_VALUE, MVCC_CMP_EQUAL, "k", NULL, 0, "a", 0},
    {"value > a", MVCC_CMP_VALUE, MVCC_CMP_GREATER, "k", NULL, 0, "a", 1},
    {"value < ba", MVCC_CMP_VALUE, MVCC_CMP_LESS, "k", NULL, 0, "ba", 1},
    {"value != b", MVCC_CMP_VALUE, MVCC_CMP_NOT_EQUAL, "k", NULL, 0, "b", 0},
    {"missing: create = 0", MVCC_CMP_CREATE, MVCC_CMP_EQUAL, "nope", NULL, 0, NULL, 1},
    {"missing: version = 0", MVCC_CMP_VERSION, MVCC_CMP_EQUAL, "nope", NULL, 0, NULL, 1},
    {"missing: version > 0", MVCC_CMP_VERSION, MVCC_CMP_GREATER, "nope", NULL, 0, NULL, 0},
    {"missing: mod < 1", MVCC_CMP_MOD, MVCC_CMP_LESS, "nope", NULL, 1, NULL, 1},
    {"missing: value = empty", MVCC_CMP_VALUE, MVCC_CMP_EQUAL, "nope", NULL, 0, "", 0},
    {"missing: value != x", MVCC_CMP_VALUE, MVCC_CMP_NOT_EQUAL, "nope", NULL, 0, "x", 0},
    {"span: all versions > 0", MVCC_CMP_VERSION, MVCC_CMP_GREATER, "r", "s", 0, NULL, 1},
    {"span: all versions = 1", MVCC_CMP_VERSION, MVCC_CMP_EQUAL, "r", "s", 1, NULL, 0},
    {"span: all values < z", MVCC_CMP_VALUE, MVCC_CMP_LESS, "r", "s", 0, "z", 1},
    {"empty span: create = 0", MVCC_CMP_CREATE, MVCC_CMP_EQUAL, "x", "y", 0, NULL, 1},
    {"empty span: value = x", MVCC_CMP_VALUE, MVCC_CMP_EQUAL, "x", "y", 0, "x", 0},
};

START_TEST(txn_compare_matrix)
{
    struct mvcc *s = txn_store();
    struct mvcc_cmp c = {cmp_cases[_i].target,
                         cmp_cases[_i].result,
                         S(cmp_cases[_i].key),
                         NULL,
                         0,
                         cmp_cases[_i].num,
                         NULL,
                         0};
    struct mvcc_op then = {MVCC_OP_PUT, S("then"), NULL, 0, S("1"), 0, 0, 0};
    struct mvcc_op els = {MVCC_OP_PUT, S("else"), NULL, 0, S("1"), 0, 0, 0};
    struct mvcc_txn txn = {&c, 1, &then, 1, &els, 1};
    struct sk_buf cmd = SK_BUF_INIT;
    struct mvcc_result res;
    struct sk_err err;
    struct mvcc_kv kv;

    if (cmp_cases[_i].end) {
        c.end = cmp_cases[_i].end;
        c.end_len = (uint32_t)strlen(c.end);
    }
    if (cmp_cases[_i].value) {
        c.value = cmp_cases[_i].value;
        c.value_len = (uint32_t)strlen(c.value);
    }
    mvcc_result_init(&res);
    mvcc_cmd_encode_txn(&cmd, &txn);
    ck_assert_int_eq(apply_buf(s, &cmd, &res, &err), 0);
    ck_assert_msg(res.succeeded == cmp_cases[_i].want, "%s", cmp_cases[_i].name);
    ck_assert_int_eq(res.rev, 7);
    ck_assert_int_eq(get(s, cmp_cases[_i].want ? "then" : "else", 0, &kv, &err), 1);
    ck_assert_int_eq(get(s, cmp_cases[_i].want ? "else" : "then", 0, &kv, &err), 0);
    mvcc_result_release(&res);
    mvcc_free(s);
}
END_TEST

START_TEST(txn_applies_all_writes_under_one_revision)
{
    struct mvcc *s = txn_store();
    struct mvcc_cmp c = {MVCC_CMP_MOD, MVCC_CMP_EQUAL, S("k"), NULL, 0, 3, NULL, 0};
    struct mvcc_op ops[] = {
        {MVCC_OP_PUT, S("n1"), NULL, 0, S("v1"), 0, 0, 0},
        {MVCC_OP_RANGE, S("n1"), NULL, 0, NULL, 0, 0, 0, 0},
        {MVCC_OP_PUT, S("k"), NULL, 0, S("c"), 0, 0, MVCC_PREV_KV},
        {MVCC_OP_DELETE, S("r"), S("s"), NULL, 0, 0, 0, MVCC_PREV_KV},
        {MVCC_OP_RANGE, S("r"), S("s"), NULL, 0, 0, 0, MVCC_COUNT_ONLY},
    };
    struct mvcc_txn txn = {&c, 1, ops, 5, NULL, 0};
    struct sk_buf cmd = SK_BUF_INIT;
    struct mvcc_result res;
    struct sk_err err;
    char *ev;
    int rc;

    mvcc_result_init(&res);
    mvcc_cmd_encode_txn(&cmd, &txn);
    ck_assert_int_eq(apply_buf(s, &cmd, &res, &err), 0);
    ck_assert_int_eq(res.succeeded, 1);
    ck_assert_int_eq(res.rev, 7);
    ck_assert_uint_eq(res.nops, 5);
    /* The range after the put sees it, at the txn's revision. */
    ck_assert_uint_eq(res.ops[1].nkvs, 1);
    ck_assert_int_eq(res.ops[1].kvs[0].mod_rev, 7);
    ck_assert_uint_eq(res.ops[2].nkvs, 1);
    ck_assert_int_eq(res.ops[2].kvs[0].mod_rev, 3);
    ck_assert_int_eq(res.ops[3].count, 2);
    ck_assert_int_eq(res.ops[4].count, 0);
    check_kv(s, "n1", 0, "v1", 7, 7, 1);
    check_kv(s, "k", 0, "c", 2, 7, 3);
    ev = events_text(s, 6, "", NULL, &rc);
    ck_assert_int_eq(rc, 4);
    ck_assert_str_eq(ev, "7.0 PUT n1=v1 v1 c7;7.1 PUT k=c v3 c2 prev=b@3;"
                         "7.2 DEL r1= prev=x@4;7.3 DEL r2= prev=y@6;");
    free(ev);
    mvcc_result_release(&res);
    mvcc_free(s);
}
END_TEST

START_TEST(txn_without_writes_keeps_the_revision)
{
    struct mvcc *s = txn_store();
    struct mvcc_cmp c = {MVCC_CMP_VERSION, MVCC_CMP_EQUAL, S("k"), NULL, 0, 99, NULL, 0};
    struct mvcc_op then = {MVCC_OP_PUT, S("x"), NULL, 0, S("1"), 0, 0, 0};
    struct mvcc_op els[] = {
        {MVCC_OP_RANGE, S("k"), NULL, 0, NULL, 0, 2, 0, 0},
        {MVCC_OP_DELETE, S("nope"), NULL, 0, NULL, 0, 0, 0, 0},
    };
    struct mvcc_txn txn = {&c, 1, &then, 1, els, 2};
    struct sk_buf cmd = SK_BUF_INIT;
    struct mvcc_result res;
    struct sk_err err;

    mvcc_result_init(&res);
    mvcc_cmd_encode_txn(&cmd, &txn);
    ck_assert_int_eq(apply_buf(s, &cmd, &res, &err), 0);
    ck_assert_int_eq(res.succeeded, 0);
    ck_assert_int_eq(res.rev, 6);
    ck_assert_int_eq(mvcc_rev(s), 6);
    ck_assert_uint_eq(res.ops[0].nkvs, 1);
    ck_assert(memcmp(res.ops[0].kvs[0].value, "a", 1) == 0);
    mvcc_result_release(&res);
    mvcc_free(s);
}
END_TEST

static const struct {
    const char *name;
    struct mvcc_op ops[2];
    size_t n;
    int code;
    const char *msg;
} bad_txn_cases[] = {
    {"same key put twice",
     {{MVCC_OP_PUT, "a", 1, NULL, 0, "1", 1, 0, 0, 0},
      {MVCC_OP_PUT, "a", 1, NULL, 0, "2", 1, 0, 0, 0}},
     2,
     EINVAL,
     "duplicate key given in txn request"},
    {"put inside a delete span",
     {{MVCC_OP_DELETE, "a", 1, "c", 1, NULL, 0, 0, 0, 0},
      {MVCC_OP_PUT, "b", 1, NULL, 0, "2", 1, 0, 0, 0}},
     2,
     EINVAL,
     "duplicate key given in txn request"},
    {"put and delete of one key",
     {{MVCC_OP_PUT, "k", 1, NULL, 0, "2", 1, 0, 0, 0},
      {MVCC_OP_DELETE, "k", 1, NULL, 0, NULL, 0, 0, 0, 0}},
     2,
     EINVAL,
     "duplicate key given in txn request"},
    {"empty key",
     {{MVCC_OP_PUT, "", 0, NULL, 0, "2", 1, 0, 0, 0}},
     1,
     EINVAL,
     "put: key of 0 bytes"},
    {"range in the future",
     {{MVCC_OP_RANGE, "k", 1, NULL, 0, NULL, 0, 99, 0, 0}},
     1,
     MVCC_EFUTURE,
     "revision 99 is in the future"},
    {"negative limit",
     {{MVCC_OP_RANGE, "k", 1, NULL, 0, NULL, 0, 0, -1, 0}},
     1,
     EINVAL,
     "range: negative limit"},
};

START_TEST(invalid_txn_is_refused_and_changes_nothing)
{
    struct mvcc *s = txn_store();
    struct mvcc_op ok = {MVCC_OP_PUT, S("fine"), NULL, 0, S("1"), 0, 0, 0};
    /* The bad ops sit in the branch that would NOT run: both are checked. */
    struct mvcc_txn txn = {NULL, 0, &ok, 1, bad_txn_cases[_i].ops, bad_txn_cases[_i].n};
    struct sk_buf cmd = SK_BUF_INIT;
    struct mvcc_result res;
    struct sk_err err;
    struct mvcc_kv kv;

    mvcc_result_init(&res);
    mvcc_cmd_encode_txn(&cmd, &txn);
    ck_assert_int_eq(apply_buf(s, &cmd, &res, &err), -bad_txn_cases[_i].code);
    ck_assert_msg(strstr(err.msg, bad_txn_cases[_i].msg) != NULL, "%s: %s", bad_txn_cases[_i].name,
                  err.msg);
    ck_assert_int_eq(mvcc_rev(s), 6);
    ck_assert_int_eq(res.rev, 6);
    ck_assert_int_eq(get(s, "fine", 0, &kv, &err), 0);
    mvcc_result_release(&res);
    mvcc_free(s);
}
END_TEST

/* ---- compaction ---- */

START_TEST(compaction_keeps_latest_of_live_keys_and_drops_the_rest)
{
    struct mvcc *s = mvcc_new();
    struct mvcc_stats st;
    struct mvcc_kv kv;
    struct sk_err err;
    char *ev;
    int rc;

    put(s, "a", "1");  /* 2 */
    put(s, "a", "2");  /* 3 */
    put(s, "b", "1");  /* 4 */
    del(s, "b", NULL); /* 5 */
    put(s, "c", "1");  /* 6 */
    put(s, "a", "3");  /* 7 */
    del(s, "c", NULL); /* 8 */
    mvcc_stats(s, &st);
    ck_assert_uint_eq(st.keys, 3);
    ck_assert_uint_eq(st.versions, 7);
    ck_assert_uint_eq(st.live_keys, 1);
    sk_err_init(&err);
    ck_assert_int_eq(mvcc_compact(s, 6, &err), 0);
    mvcc_stats(s, &st);
    /* a: 3 (latest <= 6) and 7; b: gone (deleted at 5); c: 6 and its
     * tombstone at 8. */
    ck_assert_uint_eq(st.keys, 2);
    ck_assert_uint_eq(st.versions, 4);
    ck_assert_uint_eq(st.history, 2);
    check_kv(s, "a", 6, "2", 2, 3, 2);
    check_kv(s, "a", 0, "3", 2, 7, 3);
    check_kv(s, "c", 6, "1", 6, 6, 1);
    check_absent(s, "b", 6);
    ck_assert_int_eq(get(s, "a", 5, &kv, &err), -MVCC_ECOMPACTED);
    ev = events_text(s, 6, "", NULL, &rc);
    ck_assert_int_eq(rc, 2);
    ck_assert_str_eq(ev, "7.0 PUT a=3 v3 c2 prev=2@3;8.0 DEL c= prev=1@6;");
    free(ev);
    ck_assert_int_eq(mvcc_compact(s, 6, &err), -MVCC_ECOMPACTED);
    ck_assert_int_eq(mvcc_compact(s, 9, &err), -MVCC_EFUTURE);
    ck_assert_int_eq(mvcc_compact(s, 8, &err), 0);
    mvcc_stats(s, &st);
    ck_assert_uint_eq(st.keys, 1);
    ck_assert_uint_eq(st.versions, 1);
    ck_assert_uint_eq(st.history, 0);
    check_kv(s, "a", 8, "3", 2, 7, 3);
    /* Writing after compaction works as usual. */
    ck_assert_int_eq(put(s, "c", "again"), 9);
    check_kv(s, "c", 0, "again", 9, 9, 1);
    mvcc_free(s);
}
END_TEST

START_TEST(compact_command_goes_through_apply)
{
    struct mvcc *s = mvcc_new();
    struct sk_buf cmd = SK_BUF_INIT;
    struct mvcc_result res;
    struct sk_err err;

    mvcc_result_init(&res);
    put(s, "a", "1");
    put(s, "a", "2");
    mvcc_cmd_encode_compact(&cmd, 3);
    ck_assert_int_eq(apply_buf(s, &cmd, &res, &err), 0);
    ck_assert_int_eq(mvcc_compact_rev(s), 3);
    ck_assert_int_eq(res.rev, 3);
    mvcc_cmd_encode_compact(&cmd, 2);
    ck_assert_int_eq(apply_buf(s, &cmd, &res, &err), -MVCC_ECOMPACTED);
    mvcc_cmd_encode_compact(&cmd, 10);
    ck_assert_int_eq(apply_buf(s, &cmd, &res, &err), -MVCC_EFUTURE);
    ck_assert_int_eq(mvcc_compact_rev(s), 3);
    mvcc_result_release(&res);
    mvcc_free(s);
}
END_TEST

/* ---- events ---- */

START_TEST(events_since_returns_changes_in_order_filtered_by_span)
{
    struct mvcc *s = mvcc_new();
    struct evlog l;
    struct sk_err err;
    char *ev;
    int rc;

    put(s, "/pods/a", "1");  /* 2 */
    put(s, "/nodes/n", "1"); /* 3 */
    put(s, "/pods/b", "1");  /* 4 */
    put(s, "/pods/a", "2");  /* 5 */
    del(s, "/pods/b", NULL); /* 6 */
    ev = events_text(s, 1, "", NULL, &rc);
    ck_assert_int_eq(rc, 5);
    ck_assert_str_eq(ev, "2.0 PUT /pods/a=1 v1 c2;3.0 PUT /nodes/n=1 v1 c3;4.0 PUT /pods/b=1 v1 c4;"
                         "5.0 PUT /pods/a=2 v2 c2 prev=1@2;6.0 DEL /pods/b= prev=1@4;");
    free(ev);
    ev = events_text(s, 3, "/pods/", "/pods0", &rc);
    ck_assert_int_eq(rc, 3);
    ck_assert_str_eq(ev, "4.0 PUT /pods/b=1 v1 c4;5.0 PUT /pods/a=2 v2 c2 prev=1@2;"
                         "6.0 DEL /pods/b= prev=1@4;");
    free(ev);
    ev = events_text(s, 1, "/pods/a", NULL, &rc);
    ck_assert_int_eq(rc, 2);
    free(ev);
    ev = events_text(s, 6, "", NULL, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(ev, "");
    free(ev);
    /* A callback returning > 0 stops after that event. */
    memset(&l, 0, sizeof(l));
    l.stop_after = 2;
    sk_err_init(&err);
    ck_assert_int_eq(mvcc_events_since(s, 0, "", 0, NULL, 0, evlog_fn, &l, NULL, &err), 2);
    sk_buf_release(&l.text);
    mvcc_free(s);
}
END_TEST

START_TEST(events_since_a_compacted_revision_says_where_to_resume)
{
    struct mvcc *s = mvcc_new();
    struct evlog l;
    struct sk_err err;
    int64_t crev = 0;
    int i;

    for (i = 0; i < 10; i++)
        put(s, "k", "v");
    ck_assert_int_eq(mvcc_compact(s, 8, &err), 0);
    memset(&l, 0, sizeof(l));
    sk_err_init(&err);
    ck_assert_int_eq(mvcc_events_since(s, 5, "", 0, NULL, 0, evlog_fn, &l, &crev, &err),
                     -MVCC_ECOMPACTED);
    ck_assert_int_eq(crev, 8);
    ck_assert_str_eq(err.msg, "revision 5: compacted, resume from 8");
    ck_assert_int_eq(l.n, 0);
    ck_assert_int_eq(mvcc_events_since(s, 8, "", 0, NULL, 0, evlog_fn, &l, &crev, &err), 3);
    sk_buf_release(&l.text);
    mvcc_free(s);
}
END_TEST

struct hooklog {
    struct evlog ev;
    int applied;
    int restored;
    int64_t last_rev;
};

static void
hook_applied(void *arg, int64_t rev, const struct mvcc_event *evs, size_t n)
{
    struct hooklog *h = arg;
    size_t i;

    h->applied++;
    h->last_rev = rev;
    for (i = 0; i < n; i++)
        evlog_add(&h->ev, &evs[i]);
}

static void
hook_restored(void *arg, int64_t rev, int64_t compact_rev)
{
    struct hooklog *h = arg;

    h->restored++;
    h->last_rev = rev;
}

static int
buf_sink(void *arg, const void *p, size_t n, struct sk_err *err)
{
    sk_buf_append(arg, p, n);
    return 0;
}

struct memsrc {
    const char *p;
    size_t len;
    size_t pos;
    size_t chunk;
};

static ssize_t
mem_source(void *arg, void *buf, size_t n, struct sk_err *err)
{
    struct memsrc *m = arg;
    size_t take = m->len - m->pos;

    if (take > n)
        take = n;
    if (m->chunk && take > m->chunk)
        take = m->chunk;
    memcpy(buf, m->p + m->pos, take);
    m->pos += take;
    return (ssize_t)take;
}

START_TEST(hooks_see_each_new_revision_and_restores)
{
    struct mvcc *s = mvcc_new(), *t = mvcc_new();
    struct hooklog h;
    struct mvcc_hooks hooks = {hook_applied, hook_restored, &h};
    struct sk_buf snap = SK_BUF_INIT;
    struct memsrc src;
    struct sk_err err;

    memset(&h, 0, sizeof(h));
    mvcc_set_hooks(s, &hooks);
    put(s, "a", "1");
    put(s, "b", "1");
    del(s, "zzz", NULL); /* nothing deleted: no revision, no call */
    del(s, "a", "c");
    ck_assert_int_eq(h.applied, 3);
    ck_assert_int_eq(h.last_rev, 4);
    ck_assert_str_eq(h.ev.text.data, "2.0 PUT a=1 v1 c2;3.0 PUT b=1 v1 c3;"
                                     "4.0 DEL a= prev=1@2;4.1 DEL b= prev=1@3;");
    sk_err_init(&err);
    put(t, "x", "1");
    ck_assert_int_eq(mvcc_snapshot_save(t, buf_sink, &snap, &err), 0);
    src = (struct memsrc){snap.data, snap.len, 0, 0};
    ck_assert_int_eq(mvcc_snapshot_restore(s, mem_source, &src, &err), 0);
    ck_assert_int_eq(h.restored, 1);
    ck_assert_int_eq(h.last_rev, 2);
    /* The hooks stay with the store across the restore. */
    put(s, "y", "1");
    ck_assert_int_eq(h.applied, 4);
    sk_buf_release(&h.ev.text);
    sk_buf_release(&snap);
    mvcc_free(s);
    mvcc_free(t);
}
END_TEST

/* ---- malformed commands ---- */

static const struct {
    const char *name;
    const char *bytes;
    size_t len;
    const char *msg;
} malformed_cases[] = {
    {"empty", "", 0, "offset 0: truncated"},
    {"unknown format", "\x02\x02", 2, "offset 1: unknown format"},
    {"unknown opcode", "\x01\x09", 2, "unknown opcode"},
    {"put truncated in key length", "\x01\x02\x05\x00", 4, "truncated"},
    {"put key longer than payload", "\x01\x02\xff\xff\x00\x00k", 7, "length runs past the end"},
    {"put missing flags", "\x01\x02\x01\x00\x00\x00k\x01\x00\x00\x00v", 12, "truncated"},
    {"put unknown flag", "\x01\x02\x01\x00\x00\x00k\x01\x00\x00\x00v\x80", 13, "unknown flag bits"},
    {"put trailing bytes", "\x01\x02\x01\x00\x00\x00k\x01\x00\x00\x00v\x00\x00", 14,
     "trailing bytes"},
    {"range with write flag",
     "\x01\x01\x01\x00\x00\x00k\x00\x00\x00\x00"
     "\0\0\0\0\0\0\0\0"
     "\0\0\0\0\0\0\0\0\x01",
     32, "unknown flag bits"},
    {"txn with huge compare count", "\x01\x04\xff\xff\xff\xff", 6, "count larger than the payload"},
    {"txn nested",
     "\x01\x04\x00\x00\x00\x00\x01\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00"
     "\x00\x00\x00\x00",
     23, "nested txn"},
    {"txn bad compare target",
     "\x01\x04\x01\x00\x00\x00\x09\x01\x00\x00\x00\x00\x00\x00\x00\x00"
     "\0\0\0\0\0\0\0\0",
     24, "unknown compare target"},
    {"compact truncated", "\x01\x05\x01\x02", 4, "truncated"},
};

START_TEST(malformed_commands_are_refused_without_change)
{
    struct mvcc *s = txn_store();
    struct mvcc_result res;
    struct sk_err err;

    mvcc_result_init(&res);
    sk_err_init(&err);
    ck_assert_int_eq(mvcc_apply(s, malformed_cases[_i].bytes, malformed_cases[_i].len, &res, &err),
                     -EBADMSG);
    ck_assert_msg(strstr(err.msg, malformed_cases[_i].msg) != NULL, "%s: %s",
                  malformed_cases[_i].name, err.msg);
    ck_assert_ptr_nonnull(strstr(err.msg, "malformed command at offset"));
    ck_assert_int_eq(mvcc_rev(s), 6);
    ck_assert_int_eq(res.rev, 6);
    mvcc_result_release(&res);
    mvcc_free(s);
}
END_TEST

/* Every strict prefix of a valid txn is refused; random byte damage is
 * refused or applied, but never crashes (run under ASan/UBSan). */
START_TEST(truncated_and_mutated_commands_never_crash)
{
    struct mvcc *s = txn_store();
    struct mvcc_cmp c = {MVCC_CMP_VALUE, MVCC_CMP_EQUAL, S("k"), S("l"), 0, S("b")};
    struct mvcc_op ops[] = {
        {MVCC_OP_PUT, S("n1"), NULL, 0, S("v1"), 0, 0, MVCC_PREV_KV},
        {MVCC_OP_RANGE, S("a"), S("z"), NULL, 0, 0, 5, MVCC_KEYS_ONLY},
        {MVCC_OP_DELETE, S("r"), S("s"), NULL, 0, 0, 0, 0},
    };
    struct mvcc_txn txn = {&c, 1, ops, 3, ops, 1};
    struct sk_buf cmd = SK_BUF_INIT;
    struct mvcc_result res;
    struct sk_err err;
    unsigned char *bad;
    uint64_t seed = 12345;
    size_t cut, i;
    int round;

    mvcc_result_init(&res);
    mvcc_cmd_encode_txn(&cmd, &txn);
    for (cut = 0; cut < cmd.len; cut++) {
        sk_err_init(&err);
        ck_assert_int_eq(mvcc_apply(s, cmd.data, cut, &res, &err), -EBADMSG);
    }
    ck_assert_int_eq(mvcc_rev(s), 6);
    bad = sk_malloc(cmd.len);
    for (round = 0; round < 5000; round++) {
        memcpy(bad, cmd.data, cmd.len);
        for (i = 0; i < 3; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            bad[(seed >> 33) % cmd.len] ^= (unsigned char)(seed >> 20);
        }
        sk_err_init(&err);
        mvcc_apply(s, bad, cmd.len, &res, &err);
    }
    free(bad);
    sk_buf_release(&cmd);
    mvcc_result_release(&res);
    mvcc_free(s);
}
END_TEST

/* ---- snapshots ---- */

/* The whole observable state as text: revisions, every key at every
 * retained revision, and every retained event. */
static char *
state_text(struct mvcc *s)
{
    struct mvcc_op op = {MVCC_OP_RANGE, "\x01", 1, "", 1, NULL, 0, 0, 0, 0};
    struct mvcc_op_result r;
    struct sk_buf out = SK_BUF_INIT;
    struct mvcc_stats st;
    struct sk_err err;
    int64_t rev;
    size_t i;
    char *ev;
    int rc;

    mvcc_stats(s, &st);
    sk_buf_printf(&out,
                  "rev=%lld compact=%lld keys=%llu live=%llu versions=%llu history=%llu "
                  "bytes=%llu\n",
                  (long long)mvcc_rev(s), (long long)mvcc_compact_rev(s),
                  (unsigned long long)st.keys, (unsigned long long)st.live_keys,
                  (unsigned long long)st.versions, (unsigned long long)st.history,
                  (unsigned long long)st.bytes);
    memset(&r, 0, sizeof(r));
    sk_err_init(&err);
    for (rev = mvcc_compact_rev(s) ? mvcc_compact_rev(s) : 1; rev <= mvcc_rev(s); rev++) {
        op.rev = rev;
        ck_assert_int_eq(mvcc_range(s, &op, &r, &err), 0);
        sk_buf_printf(&out, "@%lld:", (long long)rev);
        for (i = 0; i < r.nkvs; i++)
            sk_buf_printf(&out, " %.*s=%.*s/%lld/%lld/%lld", (int)r.kvs[i].key_len, r.kvs[i].key,
                          (int)r.kvs[i].value_len, r.kvs[i].value, (long long)r.kvs[i].create_rev,
                          (long long)r.kvs[i].mod_rev, (long long)r.kvs[i].version);
        sk_buf_puts(&out, "\n");
    }
    ev = events_text(s, mvcc_compact_rev(s), "", NULL, &rc);
    ck_assert_int_ge(rc, 0);
    sk_buf_puts(&out, ev);
    free(ev);
    mvcc_op_result_release(&r);
    return sk_buf_detach(&out, NULL);
}

static uint64_t
rnd(uint64_t *seed)
{
    *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
    return *seed >> 33;
}

/* A store with history: puts, deletes, txns and one compaction. */
static struct mvcc *
busy_store(uint64_t seed, int nops)
{
    struct mvcc *s = mvcc_new();
    struct sk_err err;
    char key[16], val[32];
    int i;

    for (i = 0; i < nops; i++) {
        snprintf(key, sizeof(key), "/k/%02d", (int)(rnd(&seed) % 40));
        snprintf(val, sizeof(val), "v%d-%d", i, (int)(rnd(&seed) % 1000));
        if (rnd(&seed) % 5 == 0)
            del(s, key, rnd(&seed) % 3 == 0 ? "/k/3" : NULL);
        else
            put(s, key, val);
        if (i == nops / 2 && mvcc_rev(s) > 21) {
            sk_err_init(&err);
            ck_assert_int_eq(mvcc_compact(s, mvcc_rev(s) - 20, &err), 0);
        }
    }
    return s;
}

START_TEST(snapshot_restore_reproduces_reads_and_events)
{
    struct mvcc *s = busy_store(7, 400), *t = mvcc_new();
    struct sk_buf snap = SK_BUF_INIT;
    struct memsrc src;
    struct sk_err err;
    char *a, *b;

    sk_err_init(&err);
    put(t, "old", "state"); /* replaced entirely */
    ck_assert_int_eq(mvcc_snapshot_save(s, buf_sink, &snap, &err), 0);
    src = (struct memsrc){snap.data, snap.len, 0, 7}; /* tiny reads */
    ck_assert_msg(mvcc_snapshot_restore(t, mem_source, &src, &err) == 0, "%s", err.msg);
    a = state_text(s);
    b = state_text(t);
    ck_assert_str_eq(a, b);
    free(a);
    free(b);
    /* Both continue identically. */
    ck_assert_int_eq(put(s, "/k/new", "x"), put(t, "/k/new", "x"));
    del(s, "/k/", "/k0");
    del(t, "/k/", "/k0");
    a = state_text(s);
    b = state_text(t);
    ck_assert_str_eq(a, b);
    free(a);
    free(b);
    sk_buf_release(&snap);
    mvcc_free(s);
    mvcc_free(t);
}
END_TEST

START_TEST(empty_store_snapshot_round_trips)
{
    struct mvcc *s = mvcc_new(), *t = busy_store(3, 50);
    struct sk_buf snap = SK_BUF_INIT;
    struct memsrc src;
    struct sk_err err;
    char *a, *b;

    sk_err_init(&err);
    ck_assert_int_eq(mvcc_snapshot_save(s, buf_sink, &snap, &err), 0);
    src = (struct memsrc){snap.data, snap.len, 0, 0};
    ck_assert_int_eq(mvcc_snapshot_restore(t, mem_source, &src, &err), 0);
    a = state_text(s);
    b = state_text(t);
    ck_assert_str_eq(a, b);
    ck_assert_int_eq(mvcc_rev(t), 1);
    free(a);
    free(b);
    sk_buf_release(&snap);
    mvcc_free(s);
    mvcc_free(t);
}
END_TEST

/* Every truncation and many single-byte changes are refused, and the
 * target store is left exactly as it was. */
START_TEST(damaged_snapshot_is_refused_and_leaves_the_store_alone)
{
    struct mvcc *s = busy_store(11, 120), *t = busy_store(5, 30);
    struct sk_buf snap = SK_BUF_INIT;
    struct memsrc src;
    struct sk_err err;
    char *before, *after, *bad;
    size_t cut, off;

    sk_err_init(&err);
    ck_assert_int_eq(mvcc_snapshot_save(s, buf_sink, &snap, &err), 0);
    before = state_text(t);
    for (cut = 0; cut < snap.len; cut += 1 + cut / 16) {
        src = (struct memsrc){snap.data, cut, 0, 0};
        sk_err_init(&err);
        ck_assert_int_eq(mvcc_snapshot_restore(t, mem_source, &src, &err), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(err.msg, "mvcc snapshot at offset"));
    }
    bad = sk_malloc(snap.len + 1);
    for (off = 0; off < snap.len; off += 1 + off / 32) {
        memcpy(bad, snap.data, snap.len);
        bad[off] ^= 0x41;
        src = (struct memsrc){bad, snap.len, 0, 0};
        ck_assert_int_eq(mvcc_snapshot_restore(t, mem_source, &src, &err), -EBADMSG);
    }
    memcpy(bad, snap.data, snap.len);
    bad[snap.len] = 'x';
    src = (struct memsrc){bad, snap.len + 1, 0, 0};
    ck_assert_int_eq(mvcc_snapshot_restore(t, mem_source, &src, &err), -EBADMSG);
    ck_assert_ptr_nonnull(strstr(err.msg, "trailing bytes"));
    after = state_text(t);
    ck_assert_str_eq(before, after);
    free(bad);
    free(before);
    free(after);
    sk_buf_release(&snap);
    mvcc_free(s);
    mvcc_free(t);
}
END_TEST

/* ---- random operations against a reference model ---- */

#define MODEL_KEYS 48
#define MODEL_OPS  100000

struct mver {
    int64_t rev;
    int64_t create;
    int64_t version; /* 0: tombstone */
    char value[24];
};

struct mkey {
    struct mver *v;
    size_t n;
    size_t cap;
};

struct mevent {
    int64_t rev;
    int key;
    int del;
};

struct model {
    struct mkey keys[MODEL_KEYS];
    struct mevent *ev;
    size_t nev;
    size_t capev;
    int64_t rev;
    int64_t compact;
};

static void
mkey_name(int i, char *buf, size_t sz)
{
    snprintf(buf, sz, "/m/%c%02d", 'a' + i % 4, i);
}

static const struct mver *
model_at(const struct model *m, int key, int64_t rev)
{
    const struct mkey *k = &m->keys[key];
    size_t i;

    for (i = k->n; i > 0; i--)
        if (k->v[i - 1].rev <= rev)
            return k->v[i - 1].version ? &k->v[i - 1] : NULL;
    return NULL;
}

static void
model_push(struct model *m, int key, int64_t rev, const char *value)
{
    struct mkey *k = &m->keys[key];
    const struct mver *live = model_at(m, key, rev - 1);
    struct mver v;

    memset(&v, 0, sizeof(v));
    v.rev = rev;
    if (value) {
        v.create = live ? live->create : rev;
        v.version = live ? live->version + 1 : 1;
        snprintf(v.value, sizeof(v.value), "%s", value);
    }
    if (k->n == k->cap) {
        k->cap = k->cap ? 2 * k->cap : 8;
        k->v = sk_reallocarray(k->v, k->cap, sizeof(*k->v));
    }
    k->v[k->n++] = v;
    if (m->nev == m->capev) {
        m->capev = m->capev ? 2 * m->capev : 1024;
        m->ev = sk_reallocarray(m->ev, m->capev, sizeof(*m->ev));
    }
    m->ev[m->nev++] = (struct mevent){rev, key, value == NULL};
}

static void
model_check_get(struct mvcc *s, const struct model *m, int key, int64_t rev)
{
    const struct mver *want = model_at(m, key, rev ? rev : m->rev);
    struct mvcc_kv kv;
    struct sk_err err;
    char name[16];
    int rc;

    mkey_name(key, name, sizeof(name));
    rc = get(s, name, rev, &kv, &err);
    if (rev && rev < m->compact) {
        ck_assert_int_eq(rc, -MVCC_ECOMPACTED);
        return;
    }
    ck_assert_msg(rc == (want ? 1 : 0), "get %s@%lld: rc %d: %s", name, (long long)rev, rc,
                  err.msg);
    if (!want)
        return;
    ck_assert_int_eq(kv.mod_rev, want->rev);
    ck_assert_int_eq(kv.create_rev, want->create);
    ck_assert_int_eq(kv.version, want->version);
    ck_assert(kv.value_len == strlen(want->value) &&
              memcmp(kv.value, want->value, kv.value_len) == 0);
}

struct evcheck {
    const struct model *m;
    size_t next; /* index into m->ev */
};

static int
evcheck_fn(void *arg, const struct mvcc_event *ev)
{
    struct evcheck *c = arg;
    const struct mevent *want = &c->m->ev[c->next++];
    char name[16];

    mkey_name(want->key, name, sizeof(name));
    ck_assert_int_eq(ev->rev, want->rev);
    ck_assert_int_eq(ev->type, want->del ? MVCC_EVENT_DELETE : MVCC_EVENT_PUT);
    ck_assert(ev->kv.key_len == strlen(name) && memcmp(ev->kv.key, name, ev->kv.key_len) == 0);
    return 0;
}

static void
model_check_events(struct mvcc *s, const struct model *m, int64_t since)
{
    struct evcheck c = {m, 0};
    struct sk_err err;
    int rc;

    while (c.next < m->nev && m->ev[c.next].rev <= since)
        c.next++;
    sk_err_init(&err);
    rc = mvcc_events_since(s, since, "", 0, NULL, 0, evcheck_fn, &c, NULL, &err);
    if (since < m->compact) {
        ck_assert_int_eq(rc, -MVCC_ECOMPACTED);
        return;
    }
    ck_assert_int_ge(rc, 0);
    ck_assert_uint_eq(c.next, m->nev);
}

/* A txn: if key a has mod_rev == guess then put b else delete c. */
static void
model_txn(struct mvcc *s, struct model *m, int a, int b, int c, int64_t guess, const char *val)
{
    char na[16], nb[16], nc[16];
    struct mvcc_cmp cmp = {MVCC_CMP_MOD, MVCC_CMP_EQUAL, na, 0, NULL, 0, guess, NULL, 0};
    struct mvcc_op then = {MVCC_OP_PUT, nb, 0, NULL, 0, val, (uint32_t)strlen(val), 0, 0, 0};
    struct mvcc_op els = {MVCC_OP_DELETE, nc, 0, NULL, 0, NULL, 0, 0, 0, 0};
    struct mvcc_txn txn = {&cmp, 1, &then, 1, &els, 1};
    const struct mver *va = model_at(m, a, m->rev);
    int ok = (va ? va->rev : 0) == guess;
    struct sk_buf cmd = SK_BUF_INIT;
    struct mvcc_result res;
    struct sk_err err;

    mkey_name(a, na, sizeof(na));
    mkey_name(b, nb, sizeof(nb));
    mkey_name(c, nc, sizeof(nc));
    cmp.key_len = (uint32_t)strlen(na);
    then.key_len = (uint32_t)strlen(nb);
    els.key_len = (uint32_t)strlen(nc);
    mvcc_result_init(&res);
    mvcc_cmd_encode_txn(&cmd, &txn);
    ck_assert_int_eq(apply_buf(s, &cmd, &res, &err), 0);
    ck_assert_int_eq(res.succeeded, ok);
    if (ok) {
        model_push(m, b, ++m->rev, val);
    } else if (model_at(m, c, m->rev)) {
        model_push(m, c, ++m->rev, NULL);
    }
    ck_assert_int_eq(mvcc_rev(s), m->rev);
    mvcc_result_release(&res);
}

static void
model_range(struct mvcc *s, const struct model *m, int64_t limit)
{
    struct mvcc_op op = {MVCC_OP_RANGE, "/m/b", 4, "/m/d", 4, NULL, 0, 0, limit, 0};
    struct mvcc_op_result r;
    struct sk_err err;
    int64_t count = 0;
    int i;

    memset(&r, 0, sizeof(r));
    sk_err_init(&err);
    ck_assert_int_eq(mvcc_range(s, &op, &r, &err), 0);
    for (i = 0; i < MODEL_KEYS; i++)
        if ((i % 4 == 1 || i % 4 == 2) && model_at(m, i, m->rev))
            count++;
    ck_assert_int_eq(r.count, count);
    ck_assert_uint_eq(r.nkvs, limit && limit < count ? (size_t)limit : (size_t)count);
    for (i = 1; i < (int)r.nkvs; i++)
        ck_assert(memcmp(r.kvs[i - 1].key, r.kvs[i].key, 6) < 0);
    mvcc_op_result_release(&r);
}

START_TEST(random_operations_match_a_reference_model)
{
    struct mvcc *s = mvcc_new();
    struct model m;
    struct sk_err err;
    uint64_t seed = 20240601;
    char name[16], val[24];
    int op, key, i;
    int64_t target;

    memset(&m, 0, sizeof(m));
    m.rev = 1;
    for (i = 0; i < MODEL_OPS; i++) {
        op = (int)(rnd(&seed) % 100);
        key = (int)(rnd(&seed) % MODEL_KEYS);
        mkey_name(key, name, sizeof(name));
        if (op < 40) {
            snprintf(val, sizeof(val), "v%d", i);
            ck_assert_int_eq(put(s, name, val), m.rev + 1);
            model_push(&m, key, ++m.rev, val);
        } else if (op < 50) {
            int live = model_at(&m, key, m.rev) != NULL;

            ck_assert_int_eq(del(s, name, NULL), live);
            if (live)
                model_push(&m, key, ++m.rev, NULL);
        } else if (op < 60) {
            const struct mver *cur = model_at(&m, key, m.rev);

            snprintf(val, sizeof(val), "t%d", i);
            model_txn(s, &m, key, (int)(rnd(&seed) % MODEL_KEYS), (int)(rnd(&seed) % MODEL_KEYS),
                      rnd(&seed) % 2 && cur ? cur->rev : (int64_t)(rnd(&seed) % 5), val);
        } else if (op < 85) {
            target = (int64_t)(rnd(&seed) % (uint64_t)m.rev) + 1;
            model_check_get(s, &m, key, rnd(&seed) % 3 ? 0 : target);
        } else if (op < 93) {
            model_range(s, &m, (int64_t)(rnd(&seed) % 4) * 3);
        } else if (op < 99) {
            target = m.rev - (int64_t)(rnd(&seed) % 30);
            model_check_events(s, &m, target < 0 ? 0 : target);
        } else if (m.rev - 200 > m.compact) {
            target = m.rev - 200;
            sk_err_init(&err);
            ck_assert_int_eq(mvcc_compact(s, target, &err), 0);
            m.compact = target;
        }
        ck_assert_int_eq(mvcc_rev(s), m.rev);
    }
    for (i = 0; i < MODEL_KEYS; i++)
        free(m.keys[i].v);
    free(m.ev);
    mvcc_free(s);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("mvcc");
    TCase *rev = tcase_create("revisions");
    TCase *range = tcase_create("range");
    TCase *txn = tcase_create("txn");
    TCase *hist = tcase_create("history");
    TCase *cmd = tcase_create("commands");
    TCase *snap = tcase_create("snapshot");
    TCase *model = tcase_create("model");

    tcase_add_test(rev, empty_store_is_at_revision_one_and_puts_count_versions);
    tcase_add_test(rev, delete_bumps_revision_only_when_something_is_deleted);
    tcase_add_test(rev, range_delete_is_one_revision_for_all_keys);
    tcase_add_test(rev, prev_kv_is_returned_by_put_and_delete);
    suite_add_tcase(s, rev);

    tcase_add_loop_test(range, range_table, 0, (int)(sizeof(range_cases) / sizeof(range_cases[0])));
    tcase_add_test(range, paging_with_limit_and_continuation_visits_every_key_once);
    tcase_add_test(range, prefix_end_increments_the_last_byte_below_0xff);
    tcase_add_test(range, reads_outside_the_retained_history_are_refused);
    suite_add_tcase(s, range);

    tcase_add_loop_test(txn, txn_compare_matrix, 0,
                        (int)(sizeof(cmp_cases) / sizeof(cmp_cases[0])));
    tcase_add_test(txn, txn_applies_all_writes_under_one_revision);
    tcase_add_test(txn, txn_without_writes_keeps_the_revision);
    tcase_add_loop_test(txn, invalid_txn_is_refused_and_changes_nothing, 0,
                        (int)(sizeof(bad_txn_cases) / sizeof(bad_txn_cases[0])));
    suite_add_tcase(s, txn);

    tcase_add_test(hist, compaction_keeps_latest_of_live_keys_and_drops_the_rest);
    tcase_add_test(hist, compact_command_goes_through_apply);
    tcase_add_test(hist, events_since_returns_changes_in_order_filtered_by_span);
    tcase_add_test(hist, events_since_a_compacted_revision_says_where_to_resume);
    tcase_add_test(hist, hooks_see_each_new_revision_and_restores);
    suite_add_tcase(s, hist);

    tcase_add_loop_test(cmd, malformed_commands_are_refused_without_change, 0,
                        (int)(sizeof(malformed_cases) / sizeof(malformed_cases[0])));
    tcase_add_test(cmd, truncated_and_mutated_commands_never_crash);
    suite_add_tcase(s, cmd);

    tcase_add_test(snap, snapshot_restore_reproduces_reads_and_events);
    tcase_add_test(snap, empty_store_snapshot_round_trips);
    tcase_add_test(snap, damaged_snapshot_is_refused_and_leaves_the_store_alone);
    suite_add_tcase(s, snap);

    tcase_set_timeout(model, 60);
    tcase_add_test(model, random_operations_match_a_reference_model);
    suite_add_tcase(s, model);
    return unit_main(s);
}
