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
 * Unknown ops ('?') never return. "Not applied" needs no separate branch:
 * such an op can always be linearized after every other op, where its
 * effect is seen by nobody, so a deterministic step (apply it when it can
 * apply) covers both possibilities, and the search ends as soon as every
 * definite op is placed. Their return entries would all sit at the end of
 * the list, so they have none: unknown ops are a second list of calls,
 * tried before the definite candidates (those invoked before the first
 * pending return). Handled naively they make the search exponential -
 * each can be placed at any point, or not at all - so rules prune
 * placements that cannot matter (see pointless(), unknown_wanted() and
 * the cache notes): an unknown op that changes nothing; an unknown write
 * that nothing observes before the next blind overwrite, or that no
 * current candidate would observe right after it; identical unknown ops
 * out of invocation order. A configuration whose unknown set is a
 * superset of one already refuted with the same definite set and state
 * is refuted too. Each rule keeps at least one linearization when there
 * is any: the pruned op can go last instead, or a twin can take its
 * place. Independently of unknown ops, a read that fits is taken at
 * once with no alternative tried (fitting_read()), which removes most
 * backtracking over concurrent clients. The unit tests check all this
 * against a brute-force search on thousands of small histories.
 *
 * Ops that failed and gets that saw nothing carry no information and are
 * left out.
 *
 * The state of a key is the id of its value: 0 absent, 1..n the distinct
 * strings that appear in the key's ops, so a step is integer compares.
 * The cache hashes the linearized definite set incrementally (XOR of one
 * random word per op, Zobrist style), so a step costs O(1) plus a probe.
 *
 * Explanations come from the longest prefix found (most definite ops):
 * at that point every definite op that could come next was tried, and
 * none fits the state there. */
#include "store/lincheck.h"

#include "lib/alloc.h"
#include "lib/err.h"

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
    uint32_t bit; /* index among the definite or among the unknown ops */
    int unknown;  /* outcome '?': no return entry, own candidate list */
    int32_t twin; /* unknown: bit of the last earlier-invoked identical op, or -1 */
    size_t src;   /* index in the history */
};

/* A set of configurations seen, grouped by (linearized definite ops,
 * state); each group holds the sets of unknown ops linearized with it. */
struct cgroup {
    uint64_t hash;
    uint64_t state; /* see search_state() */
    uint32_t head;  /* first uent + 1, 0 when none */
};

struct uent {
    uint32_t next; /* next uent of the group + 1 */
    uint32_t finished;
};

struct cache {
    uint32_t *slots; /* 0 empty, else group index + 1 */
    size_t nslots;
    struct cgroup *groups;
    uint64_t *dbits; /* wd words per group */
    size_t ng, gcap, wd;
    struct uent *uents;
    uint64_t *ubits; /* wu words per uent */
    size_t nu, ucap, wu;
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
    size_t n, nd, nu;  /* all ops, definite ones, unknown ones */
    const char **vals; /* id - 1 -> string */
    size_t nvals;
    uint32_t init;
    /* definite ops' entries: node 0 is the head; node 1 + i is entry i */
    int64_t *etime;
    uint32_t *eop; /* entry -> kop */
    uint8_t *eret;
    int32_t *prev, *next;
    /* unknown ops by invocation: node 0 is the head, node 1 + i op i */
    uint32_t *uop;
    int32_t *uprev, *unext;
    /* longest prefix reached (most definite ops) */
    uint32_t *best;
    size_t nbest, best_def;
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

/* --- the cache -------------------------------------------------------------------
 *
 * Exact memoization would keep every subset of unknown ops apart, and
 * unknown ops stay candidates to the end of the history: 2^k sets for k
 * of them. But a configuration (D, s, U) - definite ops D and unknown ops
 * U linearized, state s - can do everything (D, s, U') can when U is a
 * subset of U': the ops of U' \ U may still be placed later, or last
 * where nobody sees them, and they block nothing (no return entry). So
 * once (D, s, U) has been explored to the end without success, every
 * (D, s, U') with U' a superset fails too and is pruned. Only finished
 * entries prune that way; an entry still on the stack prunes only its
 * exact twin, which cannot occur on one path. */

static void
cache_init(struct cache *c, size_t wd, size_t wu)
{
    memset(c, 0, sizeof(*c));
    c->wd = wd;
    c->wu = wu;
}

static void
cache_release(struct cache *c)
{
    free(c->slots);
    free(c->groups);
    free(c->dbits);
    free(c->uents);
    free(c->ubits);
}

static size_t
cache_bytes(const struct cache *c)
{
    return c->nslots * sizeof(*c->slots) + c->gcap * (sizeof(*c->groups) + c->wd * 8) +
           c->ucap * (sizeof(*c->uents) + c->wu * 8);
}

static uint64_t
slot_hash(uint64_t hash, uint64_t state)
{
    return mix64(hash ^ mix64(state));
}

static void
cache_rehash(struct cache *c)
{
    size_t i;

    free(c->slots);
    c->nslots = c->nslots ? 2 * c->nslots : 1024;
    c->slots = sk_calloc(c->nslots, sizeof(*c->slots));
    for (i = 0; i < c->ng; i++) {
        size_t s = slot_hash(c->groups[i].hash, c->groups[i].state) & (c->nslots - 1);

        while (c->slots[s])
            s = (s + 1) & (c->nslots - 1);
        c->slots[s] = (uint32_t)(i + 1);
    }
}

/* The group of (dbits, state), created when missing. */
static size_t
cache_group(struct cache *c, uint64_t hash, uint64_t state, const uint64_t *dbits)
{
    size_t s, g;

    if (2 * (c->ng + 1) > c->nslots)
        cache_rehash(c);
    s = slot_hash(hash, state) & (c->nslots - 1);
    for (; c->slots[s]; s = (s + 1) & (c->nslots - 1)) {
        g = c->slots[s] - 1;
        if (c->groups[g].hash == hash && c->groups[g].state == state &&
            memcmp(&c->dbits[g * c->wd], dbits, c->wd * 8) == 0)
            return g;
    }
    if (c->ng == c->gcap) {
        c->gcap = c->gcap ? 2 * c->gcap : 512;
        c->groups = sk_reallocarray(c->groups, c->gcap, sizeof(*c->groups));
        c->dbits = sk_reallocarray(c->dbits, c->gcap, c->wd * 8);
    }
    g = c->ng++;
    c->groups[g] = (struct cgroup){hash, state, 0};
    memcpy(&c->dbits[g * c->wd], dbits, c->wd * 8);
    c->slots[s] = (uint32_t)(g + 1);
    return g;
}

/* Does the stored set a prune the new set u (see above)? */
static int
prunes(const struct cache *c, const struct uent *e, const uint64_t *a, const uint64_t *u)
{
    size_t i;

    for (i = 0; i < c->wu; i++) {
        if (e->finished ? (a[i] & ~u[i]) != 0 : a[i] != u[i])
            return 0;
    }
    return 1;
}

/* Record the configuration unless pruned: its uent + 1, or 0. */
static uint32_t
cache_visit(struct cache *c, uint64_t hash, uint64_t state, const uint64_t *dbits,
            const uint64_t *ubits)
{
    size_t g = cache_group(c, hash, state, dbits), e;
    uint32_t i;

    for (i = c->groups[g].head; i; i = c->uents[i - 1].next) {
        if (prunes(c, &c->uents[i - 1], &c->ubits[(i - 1) * c->wu], ubits))
            return 0;
    }
    if (c->nu == c->ucap) {
        c->ucap = c->ucap ? 2 * c->ucap : 512;
        c->uents = sk_reallocarray(c->uents, c->ucap, sizeof(*c->uents));
        c->ubits = sk_reallocarray(c->ubits, c->ucap, c->wu * 8);
    }
    e = c->nu++;
    c->uents[e] = (struct uent){c->groups[g].head, 0};
    memcpy(&c->ubits[e * c->wu], ubits, c->wu * 8);
    c->groups[g].head = (uint32_t)(e + 1);
    return (uint32_t)(e + 1);
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
links_init(int32_t *prev, int32_t *next, size_t nodes)
{
    size_t i;

    for (i = 0; i < nodes; i++) {
        prev[i] = (int32_t)i - 1;
        next[i] = i + 1 == nodes ? -1 : (int32_t)i + 1;
    }
}

static int
same_effect(const struct kop *a, const struct kop *b)
{
    return a->kind == b->kind && a->val == b->val && a->old == b->old;
}

/* Link each unknown op to the previous identical one by invocation:
 * the search applies identical unknown ops only in that order (swapping
 * two of them in a linearization keeps it valid, as the earlier-invoked
 * one may take the other's place), which cuts their 2^k subsets to k+1
 * prefixes. */
static void
find_twins(struct keycheck *kc)
{
    size_t i, j;

    for (i = 1; i <= kc->nu; i++) {
        struct kop *k = &kc->ops[kc->uop[i]];

        k->twin = -1;
        for (j = i - 1; j >= 1; j--) {
            if (same_effect(k, &kc->ops[kc->uop[j]])) {
                k->twin = (int32_t)kc->ops[kc->uop[j]].bit;
                break;
            }
        }
    }
}

/* The call and return entries of the definite ops, and the unknown ops
 * (calls only) in a list of their own, both in time order. */
static void
build_entries(struct keycheck *kc)
{
    size_t i, ne = 0, nu = 0;
    struct entry *e = sk_reallocarray(NULL, 2 * kc->n + 1, sizeof(*e));
    struct entry *u = sk_reallocarray(NULL, kc->n + 1, sizeof(*u));

    for (i = 0; i < kc->n; i++) {
        if (kc->ops[i].unknown) {
            u[nu++] = (struct entry){kc->ops[i].invoke, 0, (uint32_t)i};
            continue;
        }
        e[ne++] = (struct entry){kc->ops[i].invoke, 0, (uint32_t)i};
        e[ne++] = (struct entry){kc->ops[i].ret, 1, (uint32_t)i};
    }
    qsort(e, ne, sizeof(*e), cmp_entry);
    qsort(u, nu, sizeof(*u), cmp_entry);
    kc->etime = sk_reallocarray(NULL, ne + 1, sizeof(*kc->etime));
    kc->eop = sk_reallocarray(NULL, ne + 1, sizeof(*kc->eop));
    kc->eret = sk_reallocarray(NULL, ne + 1, sizeof(*kc->eret));
    kc->prev = sk_reallocarray(NULL, ne + 1, sizeof(*kc->prev));
    kc->next = sk_reallocarray(NULL, ne + 1, sizeof(*kc->next));
    links_init(kc->prev, kc->next, ne + 1);
    for (i = 0; i < ne; i++) {
        kc->etime[i + 1] = e[i].time;
        kc->eop[i + 1] = e[i].op;
        kc->eret[i + 1] = (uint8_t)e[i].is_ret;
    }
    kc->uop = sk_reallocarray(NULL, nu + 1, sizeof(*kc->uop));
    kc->uprev = sk_reallocarray(NULL, nu + 1, sizeof(*kc->uprev));
    kc->unext = sk_reallocarray(NULL, nu + 1, sizeof(*kc->unext));
    links_init(kc->uprev, kc->unext, nu + 1);
    for (i = 0; i < nu; i++)
        kc->uop[i + 1] = u[i].op;
    find_twins(kc);
    free(u);
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
    kc->ops = sk_reallocarray(NULL, n + 1, sizeof(*kc->ops));
    for (i = 0; i < n; i++) {
        const struct lincheck_op *op = &kc->h->ops[idx[i]];
        struct kop *k = &kc->ops[i];

        k->invoke = op->invoke;
        k->unknown = op->outcome == LINCHECK_UNKNOWN;
        k->ret = k->unknown ? LINCHECK_NO_RETURN : op->ret;
        k->kind = op->kind;
        k->outcome = op->outcome;
        k->val = value_id(kc, op->value);
        k->old = value_id(kc, op->old);
        k->bit = (uint32_t)(k->unknown ? kc->nu++ : kc->nd++);
        k->src = idx[i];
    }
    build_entries(kc);
    kc->best = sk_reallocarray(NULL, n + 1, sizeof(*kc->best));
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
    free(kc->uop);
    free(kc->uprev);
    free(kc->unext);
    free(kc->best);
}

/* --- the search ------------------------------------------------------------------ */

/* Dancing links: an unlinked node keeps its pointers, so relinking in
 * reverse order restores the list. */
static void
unlink_node(int32_t *prev, int32_t *next, int32_t node)
{
    next[prev[node]] = next[node];
    if (next[node] >= 0)
        prev[next[node]] = prev[node];
}

static void
relink_node(int32_t *prev, int32_t *next, int32_t node)
{
    next[prev[node]] = node;
    if (next[node] >= 0)
        prev[next[node]] = node;
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

/* Where the scan for the next op is: pass 0 walks the definite ops'
 * calls up to the first return entry (whose time is limit), pass 1 the
 * unknown ops invoked by then. */
struct scan {
    int pass;
    int32_t node;
    int64_t limit;
    uint32_t gen;  /* pass 1: the search's gen when wanted[] was filled */
    int anychange; /* pass 1: a candidate cmpfail needs the value to change */
};

struct frame {
    struct scan at; /* the candidate that was taken */
    uint32_t state; /* before it */
    int unseen;     /* s->unseen and s->pre before it */
    uint32_t pre;
    uint32_t uent; /* its cache entry, finished when popped */
    int forced;    /* a read taken without trying anything else */
};

struct search {
    struct cache cache;
    uint64_t *dbits, *ubits;
    uint64_t *zobrist; /* per definite op */
    struct frame *stack;
    int32_t *ret_node; /* definite op bit -> its return entry */
    size_t depth, ndef;
    uint64_t hash;
    uint32_t state;
    uint32_t *wanted; /* value -> gen when a candidate would observe it */
    uint32_t gen;
    int unseen;   /* an unknown write nobody has seen yet is in effect */
    uint32_t pre; /* if unseen: the value before that write */
};

static void
search_init(struct search *s, const struct keycheck *kc)
{
    size_t wd = kc->nd / 64 + 1, wu = kc->nu / 64 + 1, i;

    memset(s, 0, sizeof(*s));
    cache_init(&s->cache, wd, wu);
    s->dbits = sk_calloc(wd, sizeof(*s->dbits));
    s->ubits = sk_calloc(wu, sizeof(*s->ubits));
    s->zobrist = sk_reallocarray(NULL, kc->nd + 1, sizeof(*s->zobrist));
    s->stack = sk_reallocarray(NULL, kc->n + 1, sizeof(*s->stack));
    s->ret_node = sk_reallocarray(NULL, kc->nd + 1, sizeof(*s->ret_node));
    s->wanted = sk_calloc(kc->nvals + 1, sizeof(*s->wanted));
    s->gen = 1; /* a scan's gen 0 is never current */
    for (i = 0; i < kc->nd; i++)
        s->zobrist[i] = mix64(i * 0x2545f4914f6cdd1dULL + 1);
    for (i = 1; i <= 2 * kc->nd; i++) {
        if (kc->eret[i])
            s->ret_node[kc->ops[kc->eop[i]].bit] = (int32_t)i;
    }
    s->state = kc->init;
}

static void
search_release(struct search *s)
{
    cache_release(&s->cache);
    free(s->dbits);
    free(s->ubits);
    free(s->zobrist);
    free(s->stack);
    free(s->ret_node);
    free(s->wanted);
}

static uint32_t
scan_op(const struct keycheck *kc, const struct scan *at)
{
    return at->pass == 0 ? kc->eop[at->node] : kc->uop[at->node];
}

static void
toggle(struct search *s, const struct kop *k)
{
    if (k->unknown) {
        s->ubits[k->bit / 64] ^= 1ULL << (k->bit % 64);
        return;
    }
    s->dbits[k->bit / 64] ^= 1ULL << (k->bit % 64);
    s->hash ^= s->zobrist[k->bit];
}

/* Take the op out of the lists (call and return entry, or the unknown
 * op's node), or put it back. */
static void
lift(struct keycheck *kc, struct search *s, const struct scan *at, int back)
{
    const struct kop *k = &kc->ops[scan_op(kc, at)];

    if (at->pass == 1) {
        (back ? relink_node : unlink_node)(kc->uprev, kc->unext, at->node);
    } else if (!back) {
        unlink_node(kc->prev, kc->next, at->node);
        unlink_node(kc->prev, kc->next, s->ret_node[k->bit]);
    } else {
        relink_node(kc->prev, kc->next, s->ret_node[k->bit]);
        relink_node(kc->prev, kc->next, at->node);
    }
}

static void
note_best(struct keycheck *kc, const struct search *s)
{
    size_t i;

    if (s->ndef <= kc->best_def && kc->nbest)
        return;
    for (i = 0; i < s->depth; i++)
        kc->best[i] = scan_op(kc, &s->stack[i].at);
    kc->nbest = s->depth;
    kc->best_def = s->ndef;
}

/* Blind writes set the value whatever it was. */
static int
blind_write(const struct kop *k)
{
    return k->kind == LINCHECK_PUT || k->kind == LINCHECK_DEL;
}

/* Placements of unknown ops that can never help: an unknown op that
 * changes nothing, and a blind overwrite of an unknown write that nobody
 * has seen (no get read it, no cas compared equal to it, no cmpfail cas
 * needed it to differ from the value before it). Either way the unknown
 * op can instead go last, where nobody sees it, which the search tries
 * anyway; so every linearization has a counterpart that avoids these.
 * Without this rule k unknown writes give 2^k useless combinations. */
static int
pointless(const struct search *s, const struct kop *k, uint32_t next)
{
    if (k->unknown && next == s->state)
        return 1;
    if (k->unknown && k->twin >= 0 && !(s->ubits[k->twin / 64] & 1ULL << (k->twin % 64)))
        return 1;
    return s->unseen && blind_write(k);
}

/* Whether an unknown write stays unseen after op k. */
static void
note_seen(struct search *s, const struct kop *k)
{
    if (k->unknown) {
        s->unseen = 1;
        s->pre = s->state;
        return;
    }
    /* A cmpfail that would also have failed against the older value
     * does not need the unknown write. */
    if (s->unseen && k->outcome == LINCHECK_CMPFAIL && s->pre != k->old)
        return;
    s->unseen = 0;
    s->pre = 0;
}

/* What the cache tells apart: the value and the unseen write, as the
 * choices after them differ. */
static uint64_t
search_state(const struct search *s)
{
    return (uint64_t)(s->unseen ? s->pre + 1 : 0) << 32 | s->state;
}

/* Try to linearize the candidate at at: 1 when it was pushed, 0 when it
 * does not fit or its configuration is known to lead nowhere. */
static int
try_linearize(struct keycheck *kc, struct search *s, const struct scan *at)
{
    const struct kop *k = &kc->ops[scan_op(kc, at)];
    struct frame f = {*at, s->state, s->unseen, s->pre, 0, 0};
    uint32_t next;

    if (!model_step(k, s->state, &next) || pointless(s, k, next))
        return 0;
    toggle(s, k);
    note_seen(s, k);
    s->state = next;
    f.uent = cache_visit(&s->cache, s->hash, search_state(s), s->dbits, s->ubits);
    if (!f.uent) {
        toggle(s, k);
        s->state = f.state;
        s->unseen = f.unseen;
        s->pre = f.pre;
        return 0;
    }
    s->stack[s->depth++] = f;
    s->ndef += !k->unknown;
    lift(kc, s, at, 0);
    note_best(kc, s);
    return 1;
}

/* Undo the last push; returns the scan position after it. */
static struct scan
backtrack(struct keycheck *kc, struct search *s, int *forced)
{
    struct frame *f = &s->stack[--s->depth];
    const struct kop *k = &kc->ops[scan_op(kc, &f->at)];
    struct scan at = f->at;

    s->state = f->state;
    s->unseen = f->unseen;
    s->pre = f->pre;
    s->ndef -= !k->unknown;
    toggle(s, k);
    lift(kc, s, &f->at, 1);
    s->cache.uents[f->uent - 1].finished = 1;
    *forced = f->forced;
    at.node = at.pass == 0 ? kc->next[at.node] : kc->unext[at.node];
    return at;
}

/* Where the scan for the next op starts: a read that fits, if any (pass
 * 2); else the unknown ops invoked before the first pending return (pass
 * 1), then the definite calls before it (pass 0). Unknown ops go before
 * definite ones because one that a read needs is otherwise found only
 * after every order of the concurrent definite ops failed; one that is
 * not needed dies at the next step (see pointless()). */
static struct scan
scan_start(const struct keycheck *kc)
{
    int32_t node = kc->next[0];

    while (!kc->eret[node])
        node = kc->next[node];
    return (struct scan){2, 0, kc->etime[node], 0, 0};
}

/* A read that fits now may be taken now, and nothing else need be tried
 * in its place: in any linearization from here it can be moved to the
 * front (it is a candidate, so every op that must precede it is placed;
 * it changes nothing, so the others see the same values). A cas whose
 * compare fails is a read too. Returns its call entry, or -1. */
static int32_t
fitting_read(const struct keycheck *kc, const struct search *s)
{
    int32_t node;
    uint32_t next;

    for (node = kc->next[0]; !kc->eret[node]; node = kc->next[node]) {
        const struct kop *k = &kc->ops[kc->eop[node]];

        if ((k->kind == LINCHECK_GET || k->outcome == LINCHECK_CMPFAIL) &&
            model_step(k, s->state, &next))
            return node;
    }
    return -1;
}

/* Which values the candidates here would observe right after an
 * unknown write: reads and compares of them, or any change at all when
 * a cmpfail needs the value to differ from the current one. */
static void
note_wanted(const struct keycheck *kc, struct search *s, struct scan *at)
{
    int32_t node;

    at->gen = ++s->gen;
    at->anychange = 0;
    for (node = kc->next[0]; !kc->eret[node]; node = kc->next[node]) {
        const struct kop *k = &kc->ops[kc->eop[node]];

        if (k->kind == LINCHECK_GET)
            s->wanted[k->val] = at->gen;
        else if (k->outcome == LINCHECK_OK && k->kind == LINCHECK_CAS)
            s->wanted[k->old] = at->gen;
        else if (k->outcome == LINCHECK_CMPFAIL && k->old == s->state)
            at->anychange = 1;
    }
    for (node = kc->unext[0]; node >= 0 && kc->ops[kc->uop[node]].invoke <= at->limit;
         node = kc->unext[node]) {
        const struct kop *k = &kc->ops[kc->uop[node]];

        if (k->kind == LINCHECK_CAS)
            s->wanted[k->old] = at->gen;
    }
}

/* Pass 1 comes after pass 2 found no read that fits, so whatever comes
 * right after an unknown write u must observe it (or u is pointless),
 * and it must be one of the candidates here: u has no return entry, so
 * placing it changes no other op's candidacy. Skip u when none would. */
static int
unknown_wanted(const struct keycheck *kc, const struct search *s, const struct scan *at)
{
    const struct kop *k = &kc->ops[kc->uop[at->node]];

    return at->anychange || s->wanted[k->kind == LINCHECK_DEL ? ABSENT : k->val] == at->gen;
}

/* The candidate at at, or the next one (at may be past the unknown ops
 * or on a return entry): 1 with at set, 0 when there is none left. */
static int
next_candidate(const struct keycheck *kc, struct search *s, struct scan *at)
{
    if (at->pass == 1) {
        if (at->gen != s->gen)
            note_wanted(kc, s, at);
        while (at->node >= 0 && kc->ops[kc->uop[at->node]].invoke <= at->limit) {
            if (unknown_wanted(kc, s, at))
                return 1;
            at->node = kc->unext[at->node];
        }
        at->pass = 0;
        at->node = kc->next[0];
    }
    return !kc->eret[at->node];
}

/* Pass 2: take a fitting read (1), or go on to the other candidates (0);
 * -1 when the read's configuration is known to fail, and so this one. */
static int
take_read(struct keycheck *kc, struct search *s, struct scan *at)
{
    struct scan rs = {0, fitting_read(kc, s), 0, 0, 0};

    if (rs.node < 0) {
        *at = (struct scan){1, kc->unext[0], at->limit, 0, 0};
        return 0;
    }
    if (!try_linearize(kc, s, &rs))
        return -1;
    s->stack[s->depth - 1].forced = 1;
    return 1;
}

static enum search_end
search_key(struct keycheck *kc, struct budget *b)
{
    struct search s;
    struct scan at = {0, 0, 0, 0, 0};
    enum search_end end = SEARCH_OK;
    int forced = 0, rc;

    search_init(&s, kc);
    if (kc->next[0] >= 0)
        at = scan_start(kc);
    while (kc->next[0] >= 0) {
        end = budget_spend(b, &s.cache);
        if (end != SEARCH_OK)
            break;
        rc = at.pass == 2 ? take_read(kc, &s, &at) : next_candidate(kc, &s, &at) ? 2 : -1;
        if (rc == 1 || (rc == 2 && try_linearize(kc, &s, &at))) {
            if (kc->next[0] >= 0)
                at = scan_start(kc);
            continue;
        }
        if (rc == 2) {
            at.node = at.pass == 0 ? kc->next[at.node] : kc->unext[at.node];
            continue;
        }
        if (rc == 0)
            continue;
        /* No candidate left here (or the op of the first return entry
         * cannot be placed): back to the last choice that was a choice. */
        do {
            if (s.depth == 0) {
                end = SEARCH_NOT;
                goto out;
            }
            at = backtrack(kc, &s, &forced);
        } while (forced);
    }
out:
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
    uint32_t wanted = k->kind == LINCHECK_GET ? k->val : k->old, next;

    if (model_step(k, state, &next)) {
        /* Not expected at the longest prefix; say so rather than guess. */
        sk_buf_puts(buf, "it fits, but no order of the ops after it does");
        return;
    }
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
 * first return entry of an op outside it. That op, which had to come
 * next at the latest, is listed first. Returns how many. */
static size_t
next_candidates(const struct keycheck *kc, const uint8_t *done, uint32_t *cand)
{
    size_t i, j, n = 0;

    for (i = 1; i <= 2 * kc->nd; i++) {
        uint32_t op = kc->eop[i];

        if (done[op])
            continue;
        if (!kc->eret[i]) {
            cand[n++] = op;
            continue;
        }
        for (j = 0; j < n && cand[j] != op; j++)
            ;
        for (; j > 0 && j < n; j--)
            cand[j] = cand[j - 1];
        cand[0] = op;
        break;
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
