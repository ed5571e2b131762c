/* The linearizability search (Wing & Gong 1993, with Lowe's memoization
 * as used by Porcupine).
 *
 * The history is split by key first: a key-value map is a product of
 * independent registers, and linearizability is local (Herlihy & Wing
 * 1990, Theorem 1), so the whole history is linearizable iff each key's
 * sub-history is. Keys are checked smallest first, so a violation in a
 * small key is found before a large key can exhaust the budget.
 *
 * For one key, every op becomes a call and a return entry, sorted by time
 * (at equal times calls come first: ops that touch are concurrent, which
 * can only make the checker more lenient, never raise a false alarm). The
 * entries form a doubly linked list. The search walks it: at a call entry
 * it tries to linearize that op next (the model accepts its result from
 * the current state); if so and the pair (set of linearized ops, state)
 * is new, it pushes the op, unlinks its call and return entries, and
 * starts again from the head. Reaching a return entry means that op
 * should already have been linearized: backtrack, relink the last op and
 * try the entry after it. An empty list is a linearization; backtracking
 * out of an empty stack proves there is none.
 *
 * Unknown ops ('?') return at +infinity. "Not applied" needs no separate
 * branch: such an op can always be linearized after every other op,
 * where its effect is seen by nobody, so a deterministic step (apply it
 * when it can apply) covers both possibilities. Ops that failed and gets
 * that saw nothing carry no information and are left out.
 *
 * The state of a key is the id of its value: 0 absent, 1..n the distinct
 * strings that appear in the key's ops, so a step is integer compares.
 * The cache hashes the linearized set incrementally (XOR of one random
 * word per op, Zobrist style), so a step costs O(1) plus one probe. */
#include "store/lincheck.h"

#include "lib/alloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ABSENT     0u
#define MAX_LISTED 4 /* ops named in the one-line explanation */

/* One op of one key, reduced to ints. */
struct kop {
    int64_t invoke, ret;
    enum lincheck_kind kind;
    enum lincheck_outcome outcome;
    uint32_t val; /* put/cas: value written; get: value read */
    uint32_t old; /* cas: value expected */
    size_t src;   /* index in the history */
};

struct cache_ent {
    uint64_t hash;
    uint32_t state;
};

/* Open-addressing set of (linearized bitset, state). */
struct cache {
    uint32_t *slots; /* 0 empty, else entry index + 1 */
    size_t nslots;
    struct cache_ent *ents;
    uint64_t *bits; /* words per entry each */
    size_t n, cap, words;
};

struct budget {
    const struct lincheck_opts *opts;
    uint64_t steps;
    struct timespec start;
};

/* Everything about the key being checked. */
struct keycheck {
    const struct lincheck_history *h;
    const char *key;
    struct kop *ops;
    size_t n;
    const char **vals; /* id - 1 -> string */
    size_t nvals;
    uint32_t init;
    /* entries: node 0 is the head; node 1 + i is entry i */
    int64_t *etime;
    uint32_t *eop;
    uint8_t *eret;
    int32_t *prev, *next;
    /* longest prefix reached */
    uint32_t *best;
    size_t nbest;
};

enum search_end {
    SEARCH_OK,
    SEARCH_NOT,
    SEARCH_OUT_OF_STEPS,
    SEARCH_OUT_OF_TIME,
    SEARCH_OUT_OF_MEM
};

static uint64_t
mix64(uint64_t x)
{
    /* splitmix64's finalizer: good avalanche for consecutive inputs. */
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* --- the sequential model ----------------------------------------------------- */

/* Can op take effect in state? Sets *next to the state after it. */
static int
model_step(const struct kop *op, uint32_t state, uint32_t *next)
{
    *next = state;
    switch (op->kind) {
    case LINCHECK_GET:
        return op->val == state;
    case LINCHECK_PUT:
        *next = op->val;
        return 1;
    case LINCHECK_DEL:
        *next = ABSENT;
        return 1;
    case LINCHECK_CAS:
        if (op->outcome == LINCHECK_CMPFAIL)
            return state != op->old;
        if (state == op->old)
            *next = op->val;
        /* An unknown cas may also have found a different value. */
        return op->outcome == LINCHECK_UNKNOWN || state == op->old;
    }
    return 0;
}

/* --- the cache ----------------------------------------------------------------- */

static void
cache_init(struct cache *c, size_t words)
{
    memset(c, 0, sizeof(*c));
    c->words = words;
}

static void
cache_release(struct cache *c)
{
    free(c->slots);
    free(c->ents);
    free(c->bits);
}

static size_t
cache_bytes(const struct cache *c)
{
    return c->nslots * sizeof(*c->slots) + c->cap * (sizeof(*c->ents) + c->words * 8);
}

static uint64_t
slot_hash(uint64_t hash, uint32_t state)
{
    return mix64(hash ^ ((uint64_t)state << 32 | state));
}

static void
cache_rehash(struct cache *c)
{
    size_t i;

    free(c->slots);
    c->nslots = c->nslots ? 2 * c->nslots : 1024;
    c->slots = sk_calloc(c->nslots, sizeof(*c->slots));
    for (i = 0; i < c->n; i++) {
        size_t s = slot_hash(c->ents[i].hash, c->ents[i].state) & (c->nslots - 1);

        while (c->slots[s])
            s = (s + 1) & (c->nslots - 1);
        c->slots[s] = (uint32_t)(i + 1);
    }
}

/* Add (bits, state) unless present: 1 added, 0 present. */
static int
cache_add(struct cache *c, uint64_t hash, uint32_t state, const uint64_t *bits)
{
    size_t s, i;

    if (2 * (c->n + 1) > c->nslots)
        cache_rehash(c);
    s = slot_hash(hash, state) & (c->nslots - 1);
    for (; c->slots[s]; s = (s + 1) & (c->nslots - 1)) {
        const struct cache_ent *e = &c->ents[c->slots[s] - 1];

        if (e->hash == hash && e->state == state &&
            memcmp(&c->bits[(size_t)(c->slots[s] - 1) * c->words], bits, c->words * 8) == 0)
            return 0;
    }
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 512;
        c->ents = sk_reallocarray(c->ents, c->cap, sizeof(*c->ents));
        c->bits = sk_reallocarray(c->bits, c->cap, c->words * 8);
    }
    i = c->n++;
    c->ents[i].hash = hash;
    c->ents[i].state = state;
    memcpy(&c->bits[i * c->words], bits, c->words * 8);
    c->slots[s] = (uint32_t)(i + 1);
    return 1;
}

/* --- building one key's problem ------------------------------------------------- */

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static uint32_t
value_id(const struct keycheck *kc, const char *s)
{
    const char **found;

    if (!s)
        return ABSENT;
    found = bsearch(&s, kc->vals, kc->nvals, sizeof(*kc->vals), cmp_str);
    if (!found)
        SK_BUG("lincheck: value '%s' was not interned", s);
    return (uint32_t)(found - kc->vals) + 1;
}

static void
push_val(const char **vals, size_t *n, const char *s)
{
    if (s)
        vals[(*n)++] = s;
}

/* Distinct strings of the key's ops (and its initial value), sorted. */
static void
intern_values(struct keycheck *kc, const size_t *idx, const char *init)
{
    size_t i, n = 0, u = 0;

    kc->vals = sk_reallocarray(NULL, 2 * kc->n + 1, sizeof(*kc->vals));
    push_val(kc->vals, &n, init);
    for (i = 0; i < kc->n; i++) {
        const struct lincheck_op *op = &kc->h->ops[idx[i]];

        push_val(kc->vals, &n, op->value);
        push_val(kc->vals, &n, op->old);
    }
    qsort(kc->vals, n, sizeof(*kc->vals), cmp_str);
    for (i = 0; i < n; i++) {
        if (u == 0 || strcmp(kc->vals[u - 1], kc->vals[i]) != 0)
            kc->vals[u++] = kc->vals[i];
    }
    kc->nvals = u;
}

struct entry {
    int64_t time;
    uint32_t is_ret;
    uint32_t op;
};

static int
cmp_entry(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;

    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    if (x->is_ret != y->is_ret)
        return x->is_ret ? 1 : -1; /* calls first: touching ops overlap */
    return x->op < y->op ? -1 : x->op > y->op;
}

static void
build_entries(struct keycheck *kc)
{
    size_t i, ne = 2 * kc->n;
    struct entry *e = sk_reallocarray(NULL, ne, sizeof(*e));

    for (i = 0; i < kc->n; i++) {
        e[2 * i] = (struct entry){kc->ops[i].invoke, 0, (uint32_t)i};
        e[2 * i + 1] = (struct entry){kc->ops[i].ret, 1, (uint32_t)i};
    }
    qsort(e, ne, sizeof(*e), cmp_entry);
    kc->etime = sk_reallocarray(NULL, ne + 1, sizeof(*kc->etime));
    kc->eop = sk_reallocarray(NULL, ne + 1, sizeof(*kc->eop));
    kc->eret = sk_reallocarray(NULL, ne + 1, sizeof(*kc->eret));
    kc->prev = sk_reallocarray(NULL, ne + 1, sizeof(*kc->prev));
    kc->next = sk_reallocarray(NULL, ne + 1, sizeof(*kc->next));
    for (i = 0; i <= ne; i++) {
        kc->prev[i] = (int32_t)i - 1;
        kc->next[i] = i == ne ? -1 : (int32_t)i + 1;
        if (i == 0)
            continue;
        kc->etime[i] = e[i - 1].time;
        kc->eop[i] = e[i - 1].op;
        kc->eret[i] = (uint8_t)e[i - 1].is_ret;
    }
    free(e);
}

/* Reduce the key's ops (indices idx into the history) to ints. */
static void
keycheck_build(struct keycheck *kc, const size_t *idx, size_t n, const char *init)
{
    size_t i;

    kc->n = n;
    intern_values(kc, idx, init);
    kc->init = value_id(kc, init);
    kc->ops = sk_reallocarray(NULL, n ? n : 1, sizeof(*kc->ops));
    for (i = 0; i < n; i++) {
        const struct lincheck_op *op = &kc->h->ops[idx[i]];
        struct kop *k = &kc->ops[i];

        k->invoke = op->invoke;
        k->ret = op->outcome == LINCHECK_UNKNOWN ? LINCHECK_NO_RETURN : op->ret;
        k->kind = op->kind;
        k->outcome = op->outcome;
        k->val = value_id(kc, op->value);
        k->old = value_id(kc, op->old);
        k->src = idx[i];
    }
    build_entries(kc);
    kc->best = sk_reallocarray(NULL, n ? n : 1, sizeof(*kc->best));
    kc->nbest = 0;
}

static void
keycheck_release(struct keycheck *kc)
{
    free(kc->vals);
    free(kc->ops);
    free(kc->etime);
    free(kc->eop);
    free(kc->eret);
    free(kc->prev);
    free(kc->next);
    free(kc->best);
}

/* --- the search ------------------------------------------------------------------ */

/* Unlink a call entry and its return entry (dancing links: the removed
 * nodes keep their pointers, so relinking in reverse order restores). */
static void
lift(struct keycheck *kc, int32_t call, int32_t ret)
{
    kc->next[kc->prev[call]] = kc->next[call];
    kc->prev[kc->next[call]] = kc->prev[call];
    kc->next[kc->prev[ret]] = kc->next[ret];
    if (kc->next[ret] >= 0)
        kc->prev[kc->next[ret]] = kc->prev[ret];
}

static void
unlift(struct keycheck *kc, int32_t call, int32_t ret)
{
    kc->next[kc->prev[ret]] = ret;
    if (kc->next[ret] >= 0)
        kc->prev[kc->next[ret]] = ret;
    kc->next[kc->prev[call]] = call;
    kc->prev[kc->next[call]] = call;
}

static uint64_t
elapsed_ms(const struct timespec *start)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)(now.tv_sec - start->tv_sec) * 1000 +
           (uint64_t)((now.tv_nsec - start->tv_nsec) / 1000000);
}

static enum search_end
budget_spend(struct budget *b, const struct cache *c)
{
    const struct lincheck_opts *o = b->opts;

    b->steps++;
    if (o->max_steps && b->steps > o->max_steps)
        return SEARCH_OUT_OF_STEPS;
    if ((b->steps & 1023) == 0) {
        if (o->max_ms && elapsed_ms(&b->start) > o->max_ms)
            return SEARCH_OUT_OF_TIME;
        if (o->max_mem && cache_bytes(c) > o->max_mem)
            return SEARCH_OUT_OF_MEM;
    }
    return SEARCH_OK;
}

struct frame {
    int32_t call, ret;
    uint32_t state;
};

struct search {
    struct cache cache;
    uint64_t *bits;
    uint64_t *zobrist;
    struct frame *stack;
    int32_t *ret_node; /* op -> its return entry */
    size_t depth;
    uint64_t hash;
};

static void
search_init(struct search *s, const struct keycheck *kc)
{
    size_t words = kc->n / 64 + 1, i;

    cache_init(&s->cache, words);
    s->bits = sk_calloc(words, sizeof(*s->bits));
    s->zobrist = sk_reallocarray(NULL, kc->n + 1, sizeof(*s->zobrist));
    s->stack = sk_reallocarray(NULL, kc->n + 1, sizeof(*s->stack));
    s->ret_node = sk_reallocarray(NULL, kc->n + 1, sizeof(*s->ret_node));
    for (i = 0; i < kc->n; i++)
        s->zobrist[i] = mix64(i * 0x2545f4914f6cdd1dULL + 1);
    for (i = 1; i <= 2 * kc->n; i++) {
        if (kc->eret[i])
            s->ret_node[kc->eop[i]] = (int32_t)i;
    }
    s->depth = 0;
    s->hash = 0;
}

static void
search_release(struct search *s)
{
    cache_release(&s->cache);
    free(s->bits);
    free(s->zobrist);
    free(s->stack);
    free(s->ret_node);
}

static void
toggle(struct search *s, uint32_t op)
{
    s->bits[op / 64] ^= 1ULL << (op % 64);
    s->hash ^= s->zobrist[op];
}

/* Try to linearize the op of call entry node from state: 1 when it was
 * pushed (and *state updated), 0 when it does not fit or was seen. */
static int
try_linearize(struct keycheck *kc, struct search *s, int32_t node, uint32_t *state)
{
    uint32_t op = kc->eop[node], next;

    if (!model_step(&kc->ops[op], *state, &next))
        return 0;
    toggle(s, op);
    if (!cache_add(&s->cache, s->hash, next, s->bits)) {
        toggle(s, op);
        return 0;
    }
    s->stack[s->depth++] = (struct frame){node, s->ret_node[op], *state};
    lift(kc, node, s->ret_node[op]);
    *state = next;
    if (s->depth > kc->nbest) {
        size_t i;

        /* The whole prefix: below nbest it may differ from the last one. */
        for (i = 0; i < s->depth; i++)
            kc->best[i] = kc->eop[s->stack[i].call];
        kc->nbest = s->depth;
    }
    return 1;
}

static enum search_end
search_key(struct keycheck *kc, struct budget *b)
{
    struct search s;
    uint32_t state = kc->init;
    int32_t node;
    enum search_end end = SEARCH_OK;

    search_init(&s, kc);
    node = kc->next[0];
    while (kc->next[0] >= 0) {
        end = budget_spend(b, &s.cache);
        if (end != SEARCH_OK)
            break;
        if (!kc->eret[node]) {
            node = try_linearize(kc, &s, node, &state) ? kc->next[0] : kc->next[node];
            continue;
        }
        /* A return entry: its op had to be linearized by now. */
        if (s.depth == 0) {
            end = SEARCH_NOT;
            break;
        }
        s.depth--;
        state = s.stack[s.depth].state;
        toggle(&s, kc->eop[s.stack[s.depth].call]);
        unlift(kc, s.stack[s.depth].call, s.stack[s.depth].ret);
        node = kc->next[s.stack[s.depth].call];
    }
    search_release(&s);
    return end;
}

/* --- explaining a verdict ---------------------------------------------------------- */

static void
show_value(const struct keycheck *kc, uint32_t id, struct sk_buf *buf)
{
    if (id == ABSENT) {
        sk_buf_puts(buf, "<nil>");
        return;
    }
    sk_buf_putc(buf, '\'');
    lincheck_token_format(kc->vals[id - 1], buf);
    sk_buf_putc(buf, '\'');
}

static void
show_op(const struct keycheck *kc, uint32_t op, struct sk_buf *buf)
{
    const struct lincheck_op *o = &kc->h->ops[kc->ops[op].src];

    if (o->line)
        sk_buf_printf(buf, "line %u `", o->line);
    else
        sk_buf_printf(buf, "op #%zu `", kc->ops[op].src + 1);
    lincheck_op_format(o, buf);
    sk_buf_putc(buf, '`');
}

static int
written_by_some_op(const struct keycheck *kc, uint32_t id)
{
    size_t i;

    if (id == ABSENT || id == kc->init)
        return 1;
    for (i = 0; i < kc->n; i++) {
        const struct kop *k = &kc->ops[i];

        if ((k->kind == LINCHECK_PUT || k->kind == LINCHECK_CAS) && k->val == id)
            return 1;
    }
    return 0;
}

/* Why op cannot take effect in state. */
static void
show_misfit(const struct keycheck *kc, uint32_t op, uint32_t state, struct sk_buf *buf)
{
    const struct kop *k = &kc->ops[op];
    uint32_t wanted = k->kind == LINCHECK_GET ? k->val : k->old;

    if (k->kind == LINCHECK_GET)
        sk_buf_puts(buf, "it read ");
    else if (k->outcome == LINCHECK_CMPFAIL)
        sk_buf_puts(buf, "its compare failed but ");
    else
        sk_buf_puts(buf, "its compare wants ");
    if (k->outcome != LINCHECK_CMPFAIL) {
        show_value(kc, wanted, buf);
        sk_buf_puts(buf, ", ");
    }
    sk_buf_puts(buf, "the value is ");
    show_value(kc, state, buf);
    if (k->outcome != LINCHECK_CMPFAIL && !written_by_some_op(kc, wanted)) {
        sk_buf_puts(buf, " (no op ever writes ");
        show_value(kc, wanted, buf);
        sk_buf_putc(buf, ')');
    }
}

/* The ops that could come after the longest prefix: calls before the
 * first return entry of an op outside it. Returns how many. */
static size_t
next_candidates(const struct keycheck *kc, const uint8_t *done, uint32_t *cand)
{
    size_t i, n = 0;

    for (i = 1; i <= 2 * kc->n; i++) {
        uint32_t op = kc->eop[i];

        if (done[op])
            continue;
        if (kc->eret[i])
            break;
        cand[n++] = op;
    }
    return n;
}

static void
explain_prefix(const struct keycheck *kc, uint8_t *done, uint32_t *state,
               struct lincheck_result *res)
{
    size_t i;

    sk_buf_printf(&res->detail, "longest linearizable prefix (%zu of %zu ops):\n", kc->nbest,
                  kc->n);
    *state = kc->init;
    for (i = 0; i < kc->nbest; i++) {
        uint32_t next;

        model_step(&kc->ops[kc->best[i]], *state, &next);
        *state = next;
        done[kc->best[i]] = 1;
        sk_buf_puts(&res->detail, "  ");
        show_op(kc, kc->best[i], &res->detail);
        sk_buf_puts(&res->detail, " => ");
        show_value(kc, *state, &res->detail);
        sk_buf_putc(&res->detail, '\n');
    }
}

static void
explain_not(const struct keycheck *kc, struct lincheck_result *res)
{
    uint8_t *done = sk_calloc(kc->n + 1, 1);
    uint32_t *cand = sk_reallocarray(NULL, kc->n + 1, sizeof(*cand));
    uint32_t state;
    size_t i, ncand;

    explain_prefix(kc, done, &state, res);
    ncand = next_candidates(kc, done, cand);
    sk_buf_printf(&res->explain, "key '%s': after %zu of %zu ops", kc->key, kc->nbest, kc->n);
    if (kc->nbest) {
        sk_buf_puts(&res->explain, " (last: ");
        show_op(kc, kc->best[kc->nbest - 1], &res->explain);
        sk_buf_putc(&res->explain, ')');
    }
    sk_buf_puts(&res->explain, " the value is ");
    show_value(kc, state, &res->explain);
    sk_buf_puts(&res->explain, " and no op can come next");
    sk_buf_printf(&res->detail, "ops that could come next, none fits (value ");
    show_value(kc, state, &res->detail);
    sk_buf_puts(&res->detail, "):\n");
    for (i = 0; i < ncand; i++) {
        struct sk_buf *why = i < MAX_LISTED ? &res->explain : NULL;

        sk_buf_puts(&res->detail, "  ");
        show_op(kc, cand[i], &res->detail);
        sk_buf_puts(&res->detail, ": ");
        show_misfit(kc, cand[i], state, &res->detail);
        sk_buf_putc(&res->detail, '\n');
        if (!why)
            continue;
        sk_buf_puts(why, i ? "; " : ": ");
        show_op(kc, cand[i], why);
        sk_buf_puts(why, ": ");
        show_misfit(kc, cand[i], state, why);
    }
    if (ncand > MAX_LISTED)
        sk_buf_printf(&res->explain, "; and %zu more", ncand - MAX_LISTED);
    free(cand);
    free(done);
}

static void
explain_undecided(const struct keycheck *kc, enum search_end end, const struct budget *b,
                  struct lincheck_result *res)
{
    const struct lincheck_opts *o = b->opts;

    sk_buf_printf(&res->explain, "key '%s' (%zu ops): ", kc->key, kc->n);
    if (end == SEARCH_OUT_OF_STEPS)
        sk_buf_printf(&res->explain, "gave up after %llu search steps",
                      (unsigned long long)o->max_steps);
    else if (end == SEARCH_OUT_OF_TIME)
        sk_buf_printf(&res->explain, "gave up after %llu ms", (unsigned long long)o->max_ms);
    else
        sk_buf_printf(&res->explain, "gave up when the search cache passed %zu bytes", o->max_mem);
    sk_buf_printf(&res->explain, " (longest linearizable prefix so far: %zu ops)", kc->nbest);
}

/* --- the whole history ---------------------------------------------------------------- */

void
lincheck_result_init(struct lincheck_result *res)
{
    memset(res, 0, sizeof(*res));
    sk_buf_init(&res->explain);
    sk_buf_init(&res->detail);
}

void
lincheck_result_release(struct lincheck_result *res)
{
    free(res->key);
    sk_buf_release(&res->explain);
    sk_buf_release(&res->detail);
    lincheck_result_init(res);
}

/* Ops that constrain the order: failed ops were never applied and failed
 * or unknown gets observed nothing. */
static int
op_matters(const struct lincheck_op *op)
{
    if (op->outcome == LINCHECK_FAIL)
        return 0;
    return !(op->kind == LINCHECK_GET && op->outcome == LINCHECK_UNKNOWN);
}

struct group {
    const char *key;
    size_t first, n; /* a run in the sorted index array */
};

static int
cmp_op_key(const void *a, const void *b, void *arg)
{
    const struct lincheck_op *ops = arg;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    int c = strcmp(ops[x].key, ops[y].key);

    return c ? c : (x < y ? -1 : x > y);
}

static int
cmp_group(const void *a, const void *b)
{
    const struct group *x = a, *y = b;

    if (x->n != y->n)
        return x->n < y->n ? -1 : 1;
    return strcmp(x->key, y->key);
}

/* Sort the relevant ops by key into idx and return the runs, smallest
 * first. */
static struct group *
group_by_key(const struct lincheck_history *h, size_t *idx, size_t *ngroups)
{
    struct group *g;
    size_t i, n = 0, ng = 0;

    for (i = 0; i < h->nops; i++) {
        if (op_matters(&h->ops[i]))
            idx[n++] = i;
    }
    qsort_r(idx, n, sizeof(*idx), cmp_op_key, h->ops);
    g = sk_reallocarray(NULL, n + 1, sizeof(*g));
    for (i = 0; i < n; i++) {
        if (ng && strcmp(g[ng - 1].key, h->ops[idx[i]].key) == 0) {
            g[ng - 1].n++;
            continue;
        }
        g[ng++] = (struct group){h->ops[idx[i]].key, i, 1};
    }
    qsort(g, ng, sizeof(*g), cmp_group);
    *ngroups = ng;
    return g;
}

static const char *
init_value(const struct lincheck_history *h, const char *key)
{
    size_t i;

    /* Few init lines are expected; a linear scan per key is fine. */
    for (i = 0; i < h->ninits; i++) {
        if (strcmp(h->inits[i].key, key) == 0)
            return h->inits[i].value;
    }
    return NULL;
}

/* Check one key; 1 when the verdict is final for the history. */
static int
check_key(const struct lincheck_history *h, const struct group *g, const size_t *idx,
          struct budget *b, struct lincheck_result *res)
{
    struct keycheck kc = {.h = h, .key = g->key};
    enum search_end end;

    keycheck_build(&kc, idx + g->first, g->n, init_value(h, g->key));
    end = search_key(&kc, b);
    res->nkeys++;
    if (end != SEARCH_OK) {
        res->key = sk_strdup(g->key);
        if (end == SEARCH_NOT) {
            res->verdict = LINCHECK_NOT_LINEARIZABLE;
            explain_not(&kc, res);
        } else {
            res->verdict = LINCHECK_UNDECIDED;
            explain_undecided(&kc, end, b, res);
        }
    }
    keycheck_release(&kc);
    return end != SEARCH_OK;
}

int
lincheck_check_opts(const struct lincheck_history *h, const struct lincheck_opts *opts,
                    struct lincheck_result *res, struct sk_err *err)
{
    struct budget b = {.opts = opts};
    struct group *groups;
    size_t *idx, ng, i;
    int rc;

    lincheck_result_release(res);
    rc = lincheck_history_validate(h, err);
    if (rc < 0)
        return rc;
    clock_gettime(CLOCK_MONOTONIC, &b.start);
    idx = sk_reallocarray(NULL, h->nops + 1, sizeof(*idx));
    groups = group_by_key(h, idx, &ng);
    res->verdict = LINCHECK_LINEARIZABLE;
    for (i = 0; i < ng; i++) {
        if (check_key(h, &groups[i], idx, &b, res))
            break;
    }
    res->steps = b.steps;
    free(groups);
    free(idx);
    return 0;
}

int
lincheck_check(const struct lincheck_history *h, struct lincheck_result *res, struct sk_err *err)
{
    const struct lincheck_opts defaults = {
        .max_steps = 0,
        .max_ms = LINCHECK_DEFAULT_MAX_MS,
        .max_mem = LINCHECK_DEFAULT_MAX_MEM,
    };

    return lincheck_check_opts(h, &defaults, res, err);
}
