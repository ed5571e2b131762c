/* store/lincheck: the linearizability checker for KV histories.
 *
 * Small classic histories with known verdicts; the parser's errors;
 * histories generated from a real sequential execution (must pass) and
 * with a provably impossible result swapped in (must fail); the fast
 * checker against a brute-force oracle on thousands of small random
 * histories; the search budget; and a 10,000-op performance check. */
#include "store/lincheck.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Parse text (which must be valid) and check it. */
static enum lincheck_verdict
verdict_of(const char *text, struct lincheck_result *res)
{
    struct lincheck_history h;
    struct sk_err err;

    sk_err_init(&err);
    lincheck_history_init(&h);
    if (lincheck_parse_string(text, "t", &h, &err) < 0)
        ck_abort_msg("parse failed: %s\n%s", err.msg, text);
    ck_assert_int_eq(lincheck_check(&h, res, &err), 0);
    lincheck_history_release(&h);
    return res->verdict;
}

/* --- classic small histories ----------------------------------------------------- */

struct classic {
    const char *name;
    const char *text;
    enum lincheck_verdict want;
    const char *explain; /* substring of the explanation, or NULL */
};

static const struct classic classics[] = {
    {"sequential history",
     "c1 0 10 put x a -> ok\nc1 20 30 get x -> a\nc1 40 50 del x -> ok\n"
     "c1 60 70 get x -> <nil>\n",
     LINCHECK_LINEARIZABLE, NULL},
    {"empty history", "# nothing\n\n", LINCHECK_LINEARIZABLE, NULL},
    {"get of a key never written sees nil", "c1 0 10 get x -> <nil>\n", LINCHECK_LINEARIZABLE,
     NULL},
    {"concurrent get may see the old value",
     "c1 0 10 put x a -> ok\nc1 20 100 put x b -> ok\nc2 30 40 get x -> a\n", LINCHECK_LINEARIZABLE,
     NULL},
    {"concurrent get may see the new value",
     "c1 0 10 put x a -> ok\nc1 20 100 put x b -> ok\nc2 30 40 get x -> b\n", LINCHECK_LINEARIZABLE,
     NULL},
    {"stale read after a completed write",
     "c1 0 10 put x a -> ok\nc1 20 30 put x b -> ok\nc2 40 50 get x -> a\n",
     LINCHECK_NOT_LINEARIZABLE, "line 3 `c2 40 50 get x -> a`: it read 'a', the value is 'b'"},
    {"read of a value never written", "c1 0 10 put x a -> ok\nc2 5 15 get x -> zz\n",
     LINCHECK_NOT_LINEARIZABLE, "(no op ever writes 'zz')"},
    {"new-old inversion between two reads",
     "c1 0 10 put x a -> ok\nc1 20 100 put x b -> ok\nc2 30 40 get x -> b\n"
     "c3 50 60 get x -> a\n",
     LINCHECK_NOT_LINEARIZABLE, "key 'x'"},
    {"old-new order of two reads is fine",
     "c1 0 10 put x a -> ok\nc1 20 100 put x b -> ok\nc2 30 40 get x -> a\n"
     "c3 50 60 get x -> b\n",
     LINCHECK_LINEARIZABLE, NULL},
    {"unknown put that later becomes visible",
     "c1 0 10 put x a -> ok\nc1 20 - put x b -> ?\nc2 500 510 get x -> b\n", LINCHECK_LINEARIZABLE,
     NULL},
    {"unknown put that becomes visible long after its client gave up",
     "c1 0 10 put x a -> ok\nc1 20 30 put x b -> ?\nc1 40 50 get x -> a\nc2 500 510 get x -> b\n",
     LINCHECK_LINEARIZABLE, NULL},
    {"unknown put that is never visible",
     "c1 0 10 put x a -> ok\nc1 20 - put x b -> ?\nc2 500 510 get x -> a\nc2 600 610 get x -> a\n",
     LINCHECK_LINEARIZABLE, NULL},
    {"unknown put cannot take effect before it was invoked",
     "c1 0 10 put x a -> ok\nc2 20 30 get x -> b\nc1 40 - put x b -> ?\n",
     LINCHECK_NOT_LINEARIZABLE, NULL},
    {"unknown put seen then unseen is not possible",
     "c1 0 10 put x a -> ok\nc1 20 - put x b -> ?\nc2 30 40 get x -> b\nc2 50 60 get x -> a\n",
     LINCHECK_NOT_LINEARIZABLE, NULL},
    {"failed put whose value becomes visible",
     "c1 0 10 put x a -> ok\nc1 20 30 put x b -> fail\nc2 40 50 get x -> b\n",
     LINCHECK_NOT_LINEARIZABLE, "no op ever writes 'b'"},
    {"failed put that stays invisible",
     "c1 0 10 put x a -> ok\nc1 20 30 put x b -> fail\n"
     "c2 40 50 get x -> a\n",
     LINCHECK_LINEARIZABLE, NULL},
    {"failed and unknown gets are ignored",
     "c1 0 10 put x a -> ok\nc2 20 30 get x -> fail\nc2 40 - get x -> ?\n", LINCHECK_LINEARIZABLE,
     NULL},
    {"cas succeeds on the expected value",
     "c1 0 10 put x a -> ok\nc1 20 30 cas x a b -> ok\nc1 40 50 get x -> b\n",
     LINCHECK_LINEARIZABLE, NULL},
    {"cas cannot succeed on another value", "c1 0 10 put x a -> ok\nc1 20 30 cas x z b -> ok\n",
     LINCHECK_NOT_LINEARIZABLE, "its compare wants 'z', the value is 'a'"},
    {"cas compare fails on another value",
     "c1 0 10 put x a -> ok\nc1 20 30 cas x z b -> cmpfail\nc1 40 50 get x -> a\n",
     LINCHECK_LINEARIZABLE, NULL},
    {"cas compare cannot fail on the expected value",
     "c1 0 10 put x a -> ok\nc1 20 30 cas x a b -> cmpfail\n", LINCHECK_NOT_LINEARIZABLE,
     "its compare failed but the value is 'a'"},
    {"cas cmpfail changes nothing",
     "c1 0 10 put x a -> ok\nc1 20 30 cas x z b -> cmpfail\nc1 40 50 get x -> b\n",
     LINCHECK_NOT_LINEARIZABLE, NULL},
    {"cas with an error changes nothing",
     "c1 0 10 put x a -> ok\nc1 20 30 cas x a b -> fail\nc1 40 50 get x -> a\n",
     LINCHECK_LINEARIZABLE, NULL},
    {"concurrent cas pair: only one may win",
     "c1 0 10 put x a -> ok\nc1 20 40 cas x a b -> ok\nc2 20 40 cas x a c -> ok\n",
     LINCHECK_NOT_LINEARIZABLE, NULL},
    {"concurrent cas pair: one wins, one sees the winner",
     "c1 0 10 put x a -> ok\nc1 20 40 cas x a b -> ok\nc2 20 40 cas x a c -> cmpfail\n"
     "c3 50 60 get x -> b\n",
     LINCHECK_LINEARIZABLE, NULL},
    {"unknown cas may have applied",
     "c1 0 10 put x a -> ok\nc1 20 - cas x a b -> ?\nc2 30 40 get x -> b\n", LINCHECK_LINEARIZABLE,
     NULL},
    {"unknown cas cannot apply against the wrong value",
     "c1 0 10 put x a -> ok\nc1 20 - cas x z b -> ?\nc2 30 40 get x -> b\n",
     LINCHECK_NOT_LINEARIZABLE, NULL},
    {"cas creates an absent key", "c1 0 10 cas x <nil> a -> ok\nc1 20 30 get x -> a\n",
     LINCHECK_LINEARIZABLE, NULL},
    {"cas to nil deletes",
     "c1 0 10 put x a -> ok\nc1 20 30 cas x a <nil> -> ok\n"
     "c1 40 50 get x -> <nil>\n",
     LINCHECK_LINEARIZABLE, NULL},
    {"del makes the key absent",
     "c1 0 10 put x a -> ok\nc1 20 30 del x -> ok\nc2 40 50 get x -> a\n",
     LINCHECK_NOT_LINEARIZABLE, "the value is <nil>"},
    {"del of an absent key is ok", "c1 0 10 del x -> ok\nc1 20 30 get x -> <nil>\n",
     LINCHECK_LINEARIZABLE, NULL},
    {"unknown del may or may not apply",
     "c1 0 10 put x a -> ok\nc1 20 - del x -> ?\nc2 30 40 get x -> a\nc2 50 60 get x -> <nil>\n",
     LINCHECK_LINEARIZABLE, NULL},
    {"init gives a key its first value", "init x 7\nc1 0 10 get x -> 7\n", LINCHECK_LINEARIZABLE,
     NULL},
    {"without init a key starts absent", "c1 0 10 get x -> 7\n", LINCHECK_NOT_LINEARIZABLE,
     "the value is <nil>"},
    {"init of another key does not matter", "init y 7\nc1 0 10 get x -> <nil>\n",
     LINCHECK_LINEARIZABLE, NULL},
    {"keys are independent",
     "c1 0 10 put x a -> ok\nc2 0 10 put y b -> ok\nc1 20 30 get y -> b\nc2 20 30 get x -> a\n",
     LINCHECK_LINEARIZABLE, NULL},
    {"violation on one key among many",
     "c1 0 10 put x a -> ok\nc2 0 10 put y b -> ok\nc1 20 30 get y -> b\nc2 20 30 get x -> b\n",
     LINCHECK_NOT_LINEARIZABLE, "key 'x'"},
    {"ops that touch in time are concurrent",
     "c1 0 10 put x a -> ok\nc1 20 30 put x b -> ok\nc2 30 40 get x -> a\n", LINCHECK_LINEARIZABLE,
     NULL},
    {"percent-encoded keys and values",
     "c1 0 10 put a%20b x%25y -> ok\nc2 20 30 get a%20b -> x%25y\n"
     "c2 40 50 put a%20b <empty> -> ok\nc2 60 70 get a%20b -> <empty>\n",
     LINCHECK_LINEARIZABLE, NULL},
    {"escaped reserved words are values",
     "c1 0 10 put x %3Cnil%3E -> ok\nc2 20 30 get x -> <nil>\n", LINCHECK_NOT_LINEARIZABLE,
     "it read <nil>, the value is '%3Cnil>'"},
    {"the op that had to come next is named first",
     "c1 0 10 put x a -> ok\nc2 5 100 get x -> zz\nc1 20 30 put x b -> ok\nc3 40 50 get x -> a\n",
     LINCHECK_NOT_LINEARIZABLE,
     "no op can come next: line 4 `c3 40 50 get x -> a`: it read 'a', the value is 'b'; "
     "line 2 `c2 5 100 get x -> zz`"},
    {"explanation names the longest prefix",
     "c1 0 10 put x a -> ok\nc1 20 30 put x b -> ok\nc1 40 50 put x c -> ok\n"
     "c2 60 70 get x -> b\n",
     LINCHECK_NOT_LINEARIZABLE,
     "after 3 of 4 ops (last: line 3 `c1 40 50 put x c -> ok`) the value is 'c'"},
};

START_TEST(classic_histories_have_known_verdicts)
{
    const struct classic *c = &classics[_i];
    struct lincheck_result res;

    lincheck_result_init(&res);
    if (verdict_of(c->text, &res) != c->want)
        ck_abort_msg("%s: verdict %d, want %d (%s)", c->name, res.verdict, c->want,
                     res.explain.data ? res.explain.data : "");
    if (c->explain && !strstr(res.explain.data, c->explain))
        ck_abort_msg("%s: explanation '%s' lacks '%s'", c->name, res.explain.data, c->explain);
    if (c->want == LINCHECK_NOT_LINEARIZABLE)
        ck_assert_ptr_nonnull(strstr(res.detail.data, "longest linearizable prefix"));
    lincheck_result_release(&res);
}
END_TEST

/* --- the parser ---------------------------------------------------------------------- */

struct bad_input {
    const char *text;
    const char *msg; /* the error must contain this, which names the line */
};

static const struct bad_input bad_inputs[] = {
    {"c1 0 10 put x a -> ok\nc1 20\n", "t:2: wants: CLIENT INVOKE"},
    {"c1 0 10 put x -> ok\n", "t:1: wants: CLIENT INVOKE RETURN|- put KEY VALUE"},
    {"c1 0 10 put x a b -> ok\n", "t:1: wants:"},
    {"c1 0 10 put x a ok\n", "t:1: wants:"},
    {"c1 0 10 put x a => ok\n", "t:1: wants:"},
    {"c1 0 10 get x\n", "t:1: wants:"},
    {"c1 0 10 cas x a -> ok\n", "t:1: wants: CLIENT INVOKE RETURN|- cas KEY OLD NEW"},
    {"c1 zero 10 get x -> a\n", "t:1: invoke time 'zero' is not a decimal number"},
    {"c1 -5 10 get x -> a\n", "t:1: invoke time '-5' is not a decimal number"},
    {"c1 0 1x get x -> a\n", "t:1: return time '1x' is not a decimal number"},
    {"c1 0 99999999999999999999 get x -> a\n", "t:1: return time '99999999999999999999' is out"},
    {"\n\n# c\nc1 20 10 get x -> a\n", "t:4: returns before it is invoked"},
    {"c1 0 - get x -> a\n", "t:1: only an unknown ('?') result may lack a return time"},
    {"c1 0 - put x a -> ok\n", "t:1: only an unknown"},
    {"c1 0 - put x a -> fail\n", "t:1: only an unknown"},
    {"c1 0 10 move x -> ok\n", "t:1: unknown op 'move'"},
    {"c1 0 10 put x a -> maybe\n", "t:1: result 'maybe' of put"},
    {"c1 0 10 del x -> cmpfail\n", "t:1: result 'cmpfail' of del"},
    {"c1 0 10 put x a%2 -> ok\n", "t:1: bad percent escape in 'a%2'"},
    {"c1 0 10 put x a%zz -> ok\n", "t:1: bad percent escape"},
    {"c1 0 10 put x%00 a -> ok\n", "t:1: %00 is not allowed"},
    {"c1 0 10 put x <nil> -> ok\n", "t:1: <nil> is not allowed here"},
    {"c1 0 10 put <nil> a -> ok\n", "t:1: <nil> is not allowed here"},
    {"c1 0 10 get <empty> -> a\n", "t:1: key is empty"},
    {"c1 0 10 put x a -> ok\nc1 5 20 get x -> a\n",
     "t:2: client 'c1' overlaps its own op at line 1"},
    {"c1 50 60 put x a -> ok\nc1 0 100 get x -> a\n",
     "t:1: client 'c1' overlaps its own op at line 2"},
    {"c1 0 10 put x a -> ok\ninit x b\n", "t:2: init lines must come before the first op"},
    {"init x\n", "t:1: init wants: init KEY VALUE"},
    {"init x a\ninit x b\n", "t:2: init: key 'x' already has an initial value"},
    {"c1 0 10 put x a b c d e f g -> ok\n", "t:1: too many fields"},
};

START_TEST(malformed_lines_are_named)
{
    const struct bad_input *b = &bad_inputs[_i];
    struct lincheck_history h;
    struct sk_err err;

    sk_err_init(&err);
    lincheck_history_init(&h);
    ck_assert_int_lt(lincheck_parse_string(b->text, "t", &h, &err), 0);
    if (!strstr(err.msg, b->msg))
        ck_abort_msg("input '%s': error '%s' lacks '%s'", b->text, err.msg, b->msg);
    lincheck_history_release(&h);
}
END_TEST

START_TEST(unknown_op_may_be_followed_by_its_client)
{
    struct lincheck_result res;

    lincheck_result_init(&res);
    /* The client gave up (with or without noting when) and moved on. */
    ck_assert_int_eq(verdict_of("c1 0 - put x a -> ?\nc1 5 20 get x -> <nil>\n", &res),
                     LINCHECK_LINEARIZABLE);
    ck_assert_int_eq(verdict_of("c1 0 10 put x a -> ?\nc1 10 20 get x -> <nil>\n"
                                "c1 30 40 get x -> a\n",
                                &res),
                     LINCHECK_LINEARIZABLE);
    lincheck_result_release(&res);
}
END_TEST

START_TEST(missing_file_is_an_error)
{
    struct lincheck_history h;
    struct sk_err err;

    sk_err_init(&err);
    lincheck_history_init(&h);
    ck_assert_int_lt(lincheck_parse_file("/nonexistent/h", &h, &err), 0);
    ck_assert_str_eq(err.msg, "open '/nonexistent/h': No such file or directory");
    lincheck_history_release(&h);
}
END_TEST

START_TEST(file_and_string_parse_alike)
{
    char path[256];
    struct lincheck_history h;
    struct lincheck_result res;
    struct sk_err err;
    FILE *f;

    snprintf(path, sizeof(path), "%s/h.txt", unit_tmpdir());
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("init x 1\nc1 0 10 get x -> 1\nc1 20 30 get x -> 2", f); /* no final newline */
    fclose(f);
    sk_err_init(&err);
    lincheck_history_init(&h);
    lincheck_result_init(&res);
    ck_assert_int_eq(lincheck_parse_file(path, &h, &err), 0);
    ck_assert_uint_eq(h.nops, 2);
    ck_assert_uint_eq(h.ninits, 1);
    ck_assert_int_eq(lincheck_check(&h, &res, &err), 0);
    ck_assert_int_eq(res.verdict, LINCHECK_NOT_LINEARIZABLE);
    ck_assert_ptr_nonnull(strstr(res.explain.data, "line 3 `c1 20 30 get x -> 2`"));
    lincheck_result_release(&res);
    lincheck_history_release(&h);
}
END_TEST

/* --- building histories in C ---------------------------------------------------------- */

START_TEST(ops_from_c_are_checked_and_named_by_number)
{
    struct lincheck_op op = {.client = "c1",
                             .invoke = 0,
                             .ret = 10,
                             .kind = LINCHECK_PUT,
                             .outcome = LINCHECK_OK,
                             .key = "x",
                             .value = "a"};
    struct lincheck_history h;
    struct lincheck_result res;
    struct sk_err err;

    sk_err_init(&err);
    lincheck_history_init(&h);
    lincheck_result_init(&res);
    ck_assert_int_eq(lincheck_history_add(&h, &op, &err), 0);
    op.value = NULL;
    ck_assert_int_lt(lincheck_history_add(&h, &op, &err), 0);
    ck_assert_str_eq(err.msg, "op #2: put needs a value (use del to remove a key)");
    op.kind = LINCHECK_GET;
    op.outcome = LINCHECK_CMPFAIL;
    ck_assert_int_lt(lincheck_history_add(&h, &op, &err), 0);
    ck_assert_str_eq(err.msg, "op #2: only a cas can fail its compare");
    op.outcome = LINCHECK_OK;
    op.invoke = 5;
    op.ret = 20;
    ck_assert_int_eq(lincheck_history_add(&h, &op, &err), 0);
    ck_assert_int_lt(lincheck_check(&h, &res, &err), 0);
    ck_assert_str_eq(err.msg, "op #2: client 'c1' overlaps its own op at op #1");
    ck_assert_int_lt(lincheck_history_set_init(&h, "", "v", 0, &err), 0);
    lincheck_result_release(&res);
    lincheck_history_release(&h);
}
END_TEST

/* Random bytes survive lincheck_op_format() and the parser. */
START_TEST(formatted_ops_parse_back)
{
    static const char *const awkward[] = {"<nil>", "<empty>", "fail", "?",   "->", "ok",  "cmpfail",
                                          "#x",    "-",       "init", "a b", "%",  "\t\n"};
    uint64_t seed = 12345;
    int round;

    for (round = 0; round < 300; round++) {
        char key[12], val[12];
        struct lincheck_op op = {.client = "c",
                                 .invoke = round,
                                 .ret = round + 5,
                                 .kind = LINCHECK_PUT,
                                 .outcome = LINCHECK_OK};
        struct lincheck_history h;
        struct sk_buf line = SK_BUF_INIT;
        struct sk_err err;
        size_t i;

        for (i = 0; i + 1 < sizeof(key); i++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            key[i] = (char)(1 + (seed >> 33) % 255);
            val[i] = (char)(1 + (seed >> 41) % 255);
        }
        key[i] = val[i] = '\0';
        op.key = round % 2 ? key : awkward[round % 13];
        op.value = round % 3 ? val : awkward[(round / 3) % 13];
        if (round % 5 == 0) {
            op.kind = LINCHECK_GET;
            op.value = round % 10 ? NULL : "";
        }
        lincheck_op_format(&op, &line);
        sk_buf_putc(&line, '\n');
        sk_err_init(&err);
        lincheck_history_init(&h);
        if (lincheck_parse_string(line.data, "t", &h, &err) < 0)
            ck_abort_msg("'%s': %s", line.data, err.msg);
        ck_assert_uint_eq(h.nops, 1);
        ck_assert_str_eq(h.ops[0].key, op.key);
        if (op.value)
            ck_assert_str_eq(h.ops[0].value, op.value);
        else
            ck_assert_ptr_null(h.ops[0].value);
        ck_assert_int_eq(h.ops[0].kind, op.kind);
        lincheck_history_release(&h);
        sk_buf_release(&line);
    }
}
END_TEST

/* --- generated histories --------------------------------------------------------------- */

static uint64_t
rnd(uint64_t *s)
{
    /* xorshift64*: fast, and plenty for picking test shapes. */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545f4914f6cdd1dULL;
}

static uint64_t
below(uint64_t *s, uint64_t n)
{
    return rnd(s) % n;
}

struct gen_params {
    int nops, nclients, nkeys;
    int nvalues;   /* 0: every write a fresh value; else values from a pool */
    int p_unknown; /* percent of ops with outcome '?' */
    int p_fail;    /* percent of ops with outcome 'fail' */
    int max_gap, max_dur;
};

/* One generated op with storage for its strings. */
struct gop {
    struct lincheck_op op;
    int64_t lin; /* when it took effect in the true execution */
    int applies; /* 0: a '?' or 'fail' op that never took effect */
    char client[8], key[8], value[16], old[16];
    int has_value, has_old;
};

struct gen {
    struct gop *ops;
    int n, nkeys;
    char init[64][16];
    int has_init[64];
};

static int
cmp_gop_lin(const void *a, const void *b)
{
    const struct gop *x = a, *y = b;

    if (x->lin != y->lin)
        return x->lin < y->lin ? -1 : 1;
    return x->op.invoke < y->op.invoke ? -1 : x->op.invoke > y->op.invoke;
}

/* Times and outcomes: clients issue ops one after another; each op takes
 * effect at a point inside its window (an unknown one possibly long after
 * its client gave up, or never). */
static void
gen_schedule(struct gen *g, const struct gen_params *p, uint64_t *s)
{
    int64_t clock[64] = {0};
    int i;

    for (i = 0; i < p->nops; i++) {
        struct gop *o = &g->ops[i];
        int c = (int)below(s, (uint64_t)p->nclients);
        int64_t dur = (int64_t)below(s, (uint64_t)p->max_dur + 1);
        int r = (int)below(s, 100);

        memset(o, 0, sizeof(*o));
        snprintf(o->client, sizeof(o->client), "c%d", c);
        snprintf(o->key, sizeof(o->key), "k%d", (int)below(s, (uint64_t)p->nkeys));
        o->op.invoke = clock[c] + (int64_t)below(s, (uint64_t)p->max_gap + 1);
        o->op.ret = o->op.invoke + dur;
        o->op.kind = (enum lincheck_kind)below(s, 4);
        o->op.outcome = r < p->p_unknown               ? LINCHECK_UNKNOWN
                        : r < p->p_unknown + p->p_fail ? LINCHECK_FAIL
                                                       : LINCHECK_OK;
        o->lin = o->op.invoke + (int64_t)below(s, (uint64_t)dur + 1);
        o->applies =
            o->op.outcome == LINCHECK_OK || (o->op.outcome == LINCHECK_UNKNOWN && below(s, 2));
        if (o->op.outcome == LINCHECK_UNKNOWN) {
            o->lin = o->op.invoke + (int64_t)below(s, 3 * (uint64_t)dur + 1);
            if (below(s, 2))
                o->op.ret = LINCHECK_NO_RETURN; /* else: when the client gave up */
        }
        clock[c] = o->op.ret == LINCHECK_NO_RETURN ? o->op.invoke + dur : o->op.ret;
    }
}

static void
gen_value(struct gen *g, const struct gen_params *p, uint64_t *s, char *out, int *counter)
{
    if (p->nvalues)
        snprintf(out, 16, "v%d", (int)below(s, (uint64_t)p->nvalues));
    else
        snprintf(out, 16, "w%d", (*counter)++);
}

/* Run one op against the true state of its key (NULL: absent). */
static void
gen_apply(struct gen *g, const struct gen_params *p, uint64_t *s, struct gop *o, char *state,
          int *absent, int *counter)
{
    switch (o->op.kind) {
    case LINCHECK_GET:
        if (o->op.outcome != LINCHECK_OK)
            return;
        o->has_value = !*absent;
        strcpy(o->value, state);
        return;
    case LINCHECK_PUT:
        gen_value(g, p, s, o->value, counter);
        o->has_value = 1;
        if (o->applies) {
            strcpy(state, o->value);
            *absent = 0;
        }
        return;
    case LINCHECK_DEL:
        if (o->applies)
            *absent = 1;
        return;
    case LINCHECK_CAS:
        /* Expect the current value most of the time, so cas succeeds. */
        o->has_old = below(s, 4) ? !*absent : (int)below(s, 2);
        if (below(s, 4) && !*absent)
            strcpy(o->old, state);
        else
            gen_value(g, p, s, o->old, counter);
        o->has_value = (int)below(s, 8) != 0;
        gen_value(g, p, s, o->value, counter);
        if (!o->applies)
            return;
        if (o->has_old == !*absent && (*absent || strcmp(o->old, state) == 0)) {
            *absent = !o->has_value;
            strcpy(state, o->value);
        } else if (o->op.outcome == LINCHECK_OK) {
            o->op.outcome = LINCHECK_CMPFAIL;
        }
        return;
    }
}

static void
gen_history(struct gen *g, const struct gen_params *p, uint64_t seed)
{
    char state[64][16];
    int absent[64], counter = 0, i;
    uint64_t s = seed * 0x9e3779b97f4a7c15ULL + 1;

    g->n = p->nops;
    g->nkeys = p->nkeys;
    g->ops = sk_calloc((size_t)p->nops, sizeof(*g->ops));
    for (i = 0; i < p->nkeys && i < 64; i++) {
        g->has_init[i] = below(&s, 4) == 0;
        snprintf(g->init[i], sizeof(g->init[i]), "i%d", i);
        absent[i] = !g->has_init[i];
        strcpy(state[i], g->init[i]);
    }
    gen_schedule(g, p, &s);
    qsort(g->ops, (size_t)g->n, sizeof(*g->ops), cmp_gop_lin);
    for (i = 0; i < g->n; i++) {
        int k = atoi(g->ops[i].key + 1) % 64;

        gen_apply(g, p, &s, &g->ops[i], state[k], &absent[k], &counter);
    }
}

/* Pointers into the gops, valid once the array no longer moves. */
static void
gen_to_history(struct gen *g, struct lincheck_history *h)
{
    struct sk_err err;
    int i;

    lincheck_history_init(h);
    for (i = 0; i < g->nkeys && i < 64; i++) {
        char key[8];

        snprintf(key, sizeof(key), "k%d", i);
        if (g->has_init[i])
            ck_assert_int_eq(lincheck_history_set_init(h, key, g->init[i], 0, &err), 0);
    }
    for (i = 0; i < g->n; i++) {
        struct gop *o = &g->ops[i];

        o->op.client = o->client;
        o->op.key = o->key;
        o->op.value = o->has_value ? o->value : NULL;
        o->op.old = o->has_old ? o->old : NULL;
        if (lincheck_history_add(h, &o->op, &err) < 0)
            ck_abort_msg("generated op: %s", err.msg);
    }
}

static void
gen_release(struct gen *g)
{
    free(g->ops);
}

/* --- the brute-force oracle -------------------------------------------------------------
 *
 * Independent of the checker on purpose: the whole history at once (no
 * per-key split), unknown ops either applied at some point after their
 * invocation or skipped outright, and every order of the ops tried. */

struct oracle {
    const struct lincheck_history *h;
    const char *keys[16];
    const char *vals[16]; /* NULL: absent */
    int key_of[16];
    int placed[16];
    size_t nkeys;
};

static int
same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Every op that must precede o in real time is placed. */
static int
oracle_ready(const struct oracle * or, size_t o)
{
    const struct lincheck_op *ops = or->h->ops;
    size_t i;

    for (i = 0; i < or->h->nops; i++) {
        if (! or->placed[i] && ops[i].outcome != LINCHECK_UNKNOWN && ops[i].ret < ops[o].invoke)
            return 0;
    }
    return 1;
}

static int oracle_search(struct oracle * or);

/* Apply op o if its result fits, recurse, undo. */
static int
oracle_try(struct oracle * or, size_t o)
{
    const struct lincheck_op *op = & or->h->ops[o];
    const char **v = & or->vals[or->key_of[o]];
    const char *saved = *v;
    int ok = 1;

    switch (op->kind) {
    case LINCHECK_GET:
        ok = same(*v, op->value);
        break;
    case LINCHECK_PUT:
        *v = op->value;
        break;
    case LINCHECK_DEL:
        *v = NULL;
        break;
    case LINCHECK_CAS:
        if (op->outcome == LINCHECK_CMPFAIL)
            ok = !same(*v, op->old);
        else if (same(*v, op->old))
            *v = op->value;
        else
            ok = op->outcome == LINCHECK_UNKNOWN;
        break;
    }
    or->placed[o] = 1;
    ok = ok && oracle_search(or);
    or->placed[o] = 0;
    *v = saved;
    return ok;
}

static int
oracle_search(struct oracle * or)
{
    size_t o, left = 0;

    for (o = 0; o < or->h->nops; o++)
        left += ! or->placed[o] && or->h->ops[o].outcome != LINCHECK_UNKNOWN;
    /* Unknown ops still unplaced never took effect. */
    if (left == 0)
        return 1;
    for (o = 0; o < or->h->nops; o++) {
        if (! or->placed[o] && oracle_ready(or, o) && oracle_try(or, o))
            return 1;
    }
    return 0;
}

static int
oracle_key(struct oracle * or, const char *key)
{
    size_t i;

    for (i = 0; i < or->nkeys; i++) {
        if (strcmp(or->keys[i], key) == 0)
            return (int)i;
    }
    or->keys[or->nkeys] = key;
    or->vals[or->nkeys] = NULL;
    for (i = 0; i < or->h->ninits; i++) {
        if (strcmp(or->h->inits[i].key, key) == 0)
            or->vals[or->nkeys] = or->h->inits[i].value;
    }
    return (int) or->nkeys++;
}

static int
oracle_linearizable(const struct lincheck_history *h)
{
    struct oracle or ;
    size_t i;

    ck_assert_uint_le(h->nops, 16);
    memset(& or, 0, sizeof(or));
    or.h = h;
    for (i = 0; i < h->nops; i++) {
        or.key_of[i] = oracle_key(& or, h->ops[i].key);
        /* Failed ops never happened; failed or unknown gets saw nothing. */
        or.placed[i] = h->ops[i].outcome == LINCHECK_FAIL ||
                       (h->ops[i].kind == LINCHECK_GET && h->ops[i].outcome != LINCHECK_OK);
    }
    return oracle_search(& or);
}

START_TEST(oracle_agrees_with_classics)
{
    const struct classic *c = &classics[_i];
    struct lincheck_history h;
    struct sk_err err;

    lincheck_history_init(&h);
    ck_assert_int_eq(lincheck_parse_string(c->text, "t", &h, &err), 0);
    if (oracle_linearizable(&h) != (c->want == LINCHECK_LINEARIZABLE))
        ck_abort_msg("%s: the oracle disagrees with the table", c->name);
    lincheck_history_release(&h);
}
END_TEST

static const struct lincheck_opts test_opts = {.max_steps = 20000000, .max_ms = 20000};

static enum lincheck_verdict
check_gen(struct gen *g, struct lincheck_result *res)
{
    struct lincheck_history h;
    struct sk_err err;

    gen_to_history(g, &h);
    if (lincheck_check_opts(&h, &test_opts, res, &err) < 0)
        ck_abort_msg("check: %s", err.msg);
    lincheck_history_release(&h);
    return res->verdict;
}

static void
dump_gen(struct gen *g)
{
    struct lincheck_history h;
    struct sk_buf buf = SK_BUF_INIT;
    size_t i;

    gen_to_history(g, &h);
    for (i = 0; i < h.ninits; i++) {
        sk_buf_puts(&buf, "init ");
        lincheck_token_format(h.inits[i].key, &buf);
        sk_buf_putc(&buf, ' ');
        lincheck_token_format(h.inits[i].value, &buf);
        sk_buf_putc(&buf, '\n');
    }
    for (i = 0; i < h.nops; i++) {
        lincheck_op_format(&h.ops[i], &buf);
        sk_buf_putc(&buf, '\n');
    }
    fprintf(stderr, "%s", buf.data ? buf.data : "");
    sk_buf_release(&buf);
    lincheck_history_release(&h);
}

static void
random_params(struct gen_params *p, uint64_t *s, int max_ops)
{
    p->nops = 1 + (int)below(s, (uint64_t)max_ops);
    p->nclients = 1 + (int)below(s, 6);
    p->nkeys = 1 + (int)below(s, 3);
    p->nvalues = below(s, 3) ? 2 + (int)below(s, 3) : 0;
    p->p_unknown = (int)below(s, 25);
    p->p_fail = (int)below(s, 15);
    p->max_gap = 1 + (int)below(s, 30);
    p->max_dur = (int)below(s, 60);
}

START_TEST(histories_of_real_executions_are_linearizable)
{
    struct lincheck_result res;
    uint64_t seed, s = 99;

    lincheck_result_init(&res);
    for (seed = 1; seed <= 3000; seed++) {
        struct gen_params p;
        struct gen g;

        random_params(&p, &s, seed % 10 ? 40 : 300);
        gen_history(&g, &p, seed);
        if (check_gen(&g, &res) != LINCHECK_LINEARIZABLE) {
            dump_gen(&g);
            ck_abort_msg("seed %llu: %s", (unsigned long long)seed, res.explain.data);
        }
        gen_release(&g);
    }
    lincheck_result_release(&res);
}
END_TEST

/* With every write a fresh value, a get that returns the value of put P1
 * although a later put P2 completed after P1 and before the get began
 * reads a value that provably can no longer be there. */
static int
make_stale(struct gen *g)
{
    int i, j, k;

    for (k = g->n - 1; k >= 0; k--) {
        struct gop *get = &g->ops[k];

        if (get->op.kind != LINCHECK_GET || get->op.outcome != LINCHECK_OK)
            continue;
        for (j = 0; j < g->n; j++) {
            struct gop *p2 = &g->ops[j];

            if (p2->op.kind != LINCHECK_PUT || p2->op.outcome != LINCHECK_OK ||
                strcmp(p2->key, get->key) != 0 || p2->op.ret >= get->op.invoke)
                continue;
            for (i = 0; i < g->n; i++) {
                struct gop *p1 = &g->ops[i];

                if (p1->op.kind != LINCHECK_PUT || p1->op.outcome != LINCHECK_OK ||
                    strcmp(p1->key, get->key) != 0 || p1->op.ret >= p2->op.invoke)
                    continue;
                strcpy(get->value, p1->value);
                get->has_value = 1;
                return 1;
            }
        }
    }
    return 0;
}

START_TEST(provably_stale_reads_are_caught)
{
    struct lincheck_result res;
    uint64_t seed, s = 7;
    int mutated = 0;

    lincheck_result_init(&res);
    for (seed = 1; seed <= 1500; seed++) {
        struct gen_params p;
        struct gen g;

        random_params(&p, &s, 200);
        p.nvalues = 0;
        gen_history(&g, &p, seed);
        if (make_stale(&g)) {
            mutated++;
            if (check_gen(&g, &res) != LINCHECK_NOT_LINEARIZABLE) {
                dump_gen(&g);
                ck_abort_msg("seed %llu: stale read not caught: %d %s", (unsigned long long)seed,
                             res.verdict, res.explain.data);
            }
        }
        gen_release(&g);
    }
    ck_assert_int_gt(mutated, 300);
    lincheck_result_release(&res);
}
END_TEST

START_TEST(reads_of_values_never_written_are_caught)
{
    struct lincheck_result res;
    uint64_t seed, s = 8;

    lincheck_result_init(&res);
    for (seed = 1; seed <= 1000; seed++) {
        struct gen_params p;
        struct gen g;
        int k;

        random_params(&p, &s, 200);
        gen_history(&g, &p, seed);
        for (k = 0; k < g.n; k++) {
            if (g.ops[k].op.kind == LINCHECK_GET && g.ops[k].op.outcome == LINCHECK_OK)
                break;
        }
        if (k < g.n) {
            strcpy(g.ops[k].value, "never");
            g.ops[k].has_value = 1;
            ck_assert_int_eq(check_gen(&g, &res), LINCHECK_NOT_LINEARIZABLE);
            ck_assert_ptr_nonnull(strstr(res.explain.data, "(no op ever writes 'never')"));
        }
        gen_release(&g);
    }
    lincheck_result_release(&res);
}
END_TEST

/* Change one observation at random; the result may or may not still be
 * linearizable, which is what the oracle is for. */
static void
mutate(struct gen *g, uint64_t *s)
{
    struct gop *o = &g->ops[below(s, (uint64_t)g->n)];

    switch (o->op.kind) {
    case LINCHECK_GET:
        if (o->op.ret != LINCHECK_NO_RETURN)
            o->op.outcome = LINCHECK_OK;
        o->has_value = below(s, 4) != 0;
        snprintf(o->value, sizeof(o->value), "v%d", (int)below(s, 3));
        break;
    case LINCHECK_PUT:
        if (below(s, 2))
            snprintf(o->value, sizeof(o->value), "v%d", (int)below(s, 3));
        else if (o->op.ret != LINCHECK_NO_RETURN)
            o->op.outcome = o->op.outcome == LINCHECK_OK ? LINCHECK_FAIL : LINCHECK_OK;
        break;
    case LINCHECK_DEL:
        if (o->op.ret != LINCHECK_NO_RETURN)
            o->op.outcome = o->op.outcome == LINCHECK_OK ? LINCHECK_FAIL : LINCHECK_OK;
        break;
    case LINCHECK_CAS:
        if (o->op.outcome == LINCHECK_OK)
            o->op.outcome = LINCHECK_CMPFAIL;
        else if (o->op.outcome == LINCHECK_CMPFAIL)
            o->op.outcome = LINCHECK_OK;
        else
            o->has_old = !o->has_old;
        break;
    }
}

START_TEST(fast_checker_agrees_with_brute_force)
{
    struct lincheck_result res;
    uint64_t seed, s = 2024;
    int verdicts[2] = {0, 0};

    lincheck_result_init(&res);
    for (seed = 1; seed <= 10000; seed++) {
        struct gen_params p;
        struct gen g;
        struct lincheck_history h;
        int fast, slow;

        random_params(&p, &s, 8);
        p.nvalues = 2 + (int)below(&s, 2);
        p.max_dur = (int)below(&s, 40);
        p.p_unknown = (int)below(&s, 45);
        gen_history(&g, &p, seed);
        if (below(&s, 3))
            mutate(&g, &s);
        fast = check_gen(&g, &res) == LINCHECK_LINEARIZABLE;
        ck_assert_int_ne(res.verdict, LINCHECK_UNDECIDED);
        gen_to_history(&g, &h);
        slow = oracle_linearizable(&h);
        lincheck_history_release(&h);
        if (fast != slow) {
            dump_gen(&g);
            ck_abort_msg("seed %llu: checker says %d, brute force %d (%s)",
                         (unsigned long long)seed, fast, slow, res.explain.data);
        }
        verdicts[fast]++;
        gen_release(&g);
    }
    fprintf(stderr, "lincheck cross-check: %d linearizable, %d not\n", verdicts[1], verdicts[0]);
    /* Both answers must be well represented, or the comparison says little. */
    ck_assert_int_gt(verdicts[0], 1000);
    ck_assert_int_gt(verdicts[1], 1000);
    lincheck_result_release(&res);
}
END_TEST

/* --- budgets and performance ----------------------------------------------------------- */

/* n concurrent puts, a read of each value and a read of a value nobody
 * wrote, all at once: to say NOT the search must try a good part of the
 * orders of the others, which memoization cannot make polynomial. */
static void
pathological(struct lincheck_history *h, int n)
{
    struct lincheck_op op = {.invoke = 0, .ret = 100, .outcome = LINCHECK_OK, .key = "x"};
    char client[16], value[16];
    struct sk_err err;
    int i;

    lincheck_history_init(h);
    for (i = 0; i < 2 * n + 1; i++) {
        snprintf(client, sizeof(client), "c%d", i);
        snprintf(value, sizeof(value), "v%d", i / 2);
        op.client = client;
        op.kind = i % 2 || i == 2 * n ? LINCHECK_GET : LINCHECK_PUT;
        op.value = i == 2 * n ? "nobody" : value;
        ck_assert_int_eq(lincheck_history_add(h, &op, &err), 0);
    }
}

START_TEST(exhausted_budgets_give_undecided)
{
    static const struct {
        struct lincheck_opts opts;
        const char *msg;
    } budgets[] = {
        {{.max_steps = 100000}, "key 'x' (61 ops): gave up after 100000 search steps"},
        {{.max_ms = 50}, "key 'x' (61 ops): gave up after 50 ms"},
        {{.max_mem = 1 << 20}, "key 'x' (61 ops): gave up when the search cache passed 1048576"},
    };
    struct lincheck_history h;
    struct lincheck_result res;
    struct sk_err err;

    pathological(&h, 30);
    lincheck_result_init(&res);
    ck_assert_int_eq(lincheck_check_opts(&h, &budgets[_i].opts, &res, &err), 0);
    ck_assert_int_eq(res.verdict, LINCHECK_UNDECIDED);
    ck_assert_str_eq(res.key, "x");
    if (!strstr(res.explain.data, budgets[_i].msg))
        ck_abort_msg("'%s' lacks '%s'", res.explain.data, budgets[_i].msg);
    lincheck_result_release(&res);
    lincheck_history_release(&h);
}
END_TEST

START_TEST(small_pathological_history_is_decided)
{
    struct lincheck_history h;
    struct lincheck_result res;
    struct sk_err err;

    pathological(&h, 10);
    lincheck_result_init(&res);
    ck_assert_int_eq(lincheck_check(&h, &res, &err), 0);
    ck_assert_int_eq(res.verdict, LINCHECK_NOT_LINEARIZABLE);
    lincheck_result_release(&res);
    lincheck_history_release(&h);
}
END_TEST

/* A violation in a small key is found even when a big key would exhaust
 * the budget: keys are checked smallest first. */
START_TEST(small_keys_are_checked_first)
{
    struct lincheck_op op = {.client = "z",
                             .invoke = 100,
                             .ret = 110,
                             .kind = LINCHECK_GET,
                             .outcome = LINCHECK_OK,
                             .key = "y",
                             .value = "ghost"};
    struct lincheck_opts opts = {.max_steps = 100000};
    struct lincheck_history h;
    struct lincheck_result res;
    struct sk_err err;

    pathological(&h, 30);
    ck_assert_int_eq(lincheck_history_add(&h, &op, &err), 0);
    lincheck_result_init(&res);
    ck_assert_int_eq(lincheck_check_opts(&h, &opts, &res, &err), 0);
    ck_assert_int_eq(res.verdict, LINCHECK_NOT_LINEARIZABLE);
    ck_assert_str_eq(res.key, "y");
    lincheck_result_release(&res);
    lincheck_history_release(&h);
}
END_TEST

/* CPU time: the bound is on the work done, which a loaded machine does
 * not stretch */
static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

START_TEST(ten_thousand_ops_check_quickly)
{
    struct gen_params p = {.nops = 10000,
                           .nclients = 16,
                           .nkeys = 50,
                           .nvalues = 0,
                           .p_unknown = 5,
                           .p_fail = 3,
                           .max_gap = 20,
                           .max_dur = 100};
    struct lincheck_result res;
    struct gen g;
    double start, secs;

    lincheck_result_init(&res);
    gen_history(&g, &p, 4242);
    start = now_s();
    ck_assert_int_eq(check_gen(&g, &res), LINCHECK_LINEARIZABLE);
    secs = now_s() - start;
    fprintf(stderr, "lincheck: 10000 ops, 50 keys, 16 clients: %.3f s, %llu steps\n", secs,
            (unsigned long long)res.steps);
    ck_assert_uint_eq(res.nkeys, 50);
    ck_assert(secs < 10.0);
    /* The same history with one provably stale read. */
    ck_assert(make_stale(&g));
    start = now_s();
    ck_assert_int_eq(check_gen(&g, &res), LINCHECK_NOT_LINEARIZABLE);
    fprintf(stderr, "lincheck: with a stale read: %.3f s\n", now_s() - start);
    gen_release(&g);
    lincheck_result_release(&res);
}
END_TEST

/* One hot key (a counter-like workload) with timeouts: the checker must
 * still find the linearization without exhausting its budget. */
START_TEST(one_hot_key_with_timeouts_is_decided)
{
    struct gen_params p = {.nops = 2000,
                           .nclients = 8,
                           .nkeys = 1,
                           .nvalues = 0,
                           .p_unknown = 5,
                           .p_fail = 3,
                           .max_gap = 20,
                           .max_dur = 100};
    struct lincheck_result res;
    uint64_t seed;

    lincheck_result_init(&res);
    for (seed = 1; seed <= 3; seed++) {
        struct gen g;
        double start = now_s();

        gen_history(&g, &p, seed);
        if (check_gen(&g, &res) != LINCHECK_LINEARIZABLE)
            ck_abort_msg("seed %llu: %s", (unsigned long long)seed, res.explain.data);
        fprintf(stderr, "lincheck: 2000 ops on one key, 8 clients: %.3f s, %llu steps\n",
                now_s() - start, (unsigned long long)res.steps);
        gen_release(&g);
    }
    lincheck_result_release(&res);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("lincheck");
    TCase *tc = tcase_create("core");
    TCase *rnd_tc = tcase_create("randomized");

    tcase_add_loop_test(tc, classic_histories_have_known_verdicts, 0,
                        (int)(sizeof(classics) / sizeof(classics[0])));
    tcase_add_loop_test(tc, oracle_agrees_with_classics, 0,
                        (int)(sizeof(classics) / sizeof(classics[0])));
    tcase_add_loop_test(tc, malformed_lines_are_named, 0,
                        (int)(sizeof(bad_inputs) / sizeof(bad_inputs[0])));
    tcase_add_test(tc, unknown_op_may_be_followed_by_its_client);
    tcase_add_test(tc, missing_file_is_an_error);
    tcase_add_test(tc, file_and_string_parse_alike);
    tcase_add_test(tc, ops_from_c_are_checked_and_named_by_number);
    tcase_add_test(tc, formatted_ops_parse_back);
    tcase_add_loop_test(tc, exhausted_budgets_give_undecided, 0, 3);
    tcase_add_test(tc, small_pathological_history_is_decided);
    tcase_add_test(tc, small_keys_are_checked_first);
    suite_add_tcase(s, tc);
    tcase_set_timeout(rnd_tc, 120);
    tcase_add_test(rnd_tc, histories_of_real_executions_are_linearizable);
    tcase_add_test(rnd_tc, provably_stale_reads_are_caught);
    tcase_add_test(rnd_tc, reads_of_values_never_written_are_caught);
    tcase_add_test(rnd_tc, fast_checker_agrees_with_brute_force);
    tcase_add_test(rnd_tc, ten_thousand_ops_check_quickly);
    tcase_add_test(rnd_tc, one_hot_key_with_timeouts_is_decided);
    suite_add_tcase(s, rnd_tc);
    return unit_main(s);
}
