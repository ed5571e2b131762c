/* The controllers' work queue: client-go's workqueue (Type), its delaying
 * queue and DefaultControllerRateLimiter in one structure, with the time
 * passed in so tests step it.
 *
 * Each known key has one item. Its flags:
 *   dirty       queued, or added while processing (client-go's dirty set)
 *   processing  handed out by get(), not yet done()
 *   due         >= 0 while parked by add_after() (index in the heap)
 * and its failure count. An item is freed once none of them holds. The
 * FIFO is a singly linked list of dirty, not processing items; the parked
 * ones sit in a binary min-heap on due time. */

#include "ctrl/ctrl.h"
#include "lib/alloc.h"

#include <stdlib.h>
#include <string.h>

struct qitem {
    char *key;
    struct qitem *hnext; /* hash chain */
    struct qitem *next;  /* FIFO */
    int dirty;
    int processing;
    int64_t due;   /* -1 when not parked */
    size_t hindex; /* heap slot while parked */
    int failures;
};

struct ctrl_queue {
    struct qitem **buckets;
    size_t nbuckets, nitems;
    struct qitem *head, *tail;
    size_t len;
    struct qitem **heap;
    size_t nheap, capheap;
    int64_t tokens_nt; /* token bucket, in 1e-9 tokens */
    int64_t bucket_at; /* time the bucket was last filled */
};

static size_t
key_hash(const char *key)
{
    size_t h = 2166136261u;

    for (; *key; key++)
        h = (h ^ (unsigned char)*key) * 16777619u;
    return h;
}

static struct qitem *
item_find(const struct ctrl_queue *q, const char *key)
{
    struct qitem *it = q->buckets[key_hash(key) % q->nbuckets];

    while (it && strcmp(it->key, key) != 0)
        it = it->hnext;
    return it;
}

static void
table_grow(struct ctrl_queue *q)
{
    size_t n = q->nbuckets * 2, i;
    struct qitem **b = sk_calloc(n, sizeof(*b));

    for (i = 0; i < q->nbuckets; i++) {
        struct qitem *it = q->buckets[i], *next;

        for (; it; it = next) {
            size_t h = key_hash(it->key) % n;

            next = it->hnext;
            it->hnext = b[h];
            b[h] = it;
        }
    }
    free(q->buckets);
    q->buckets = b;
    q->nbuckets = n;
}

static struct qitem *
item_get(struct ctrl_queue *q, const char *key)
{
    struct qitem *it = item_find(q, key);
    size_t h;

    if (it)
        return it;
    if (q->nitems >= q->nbuckets)
        table_grow(q);
    it = sk_calloc(1, sizeof(*it));
    it->key = sk_strdup(key);
    it->due = -1;
    h = key_hash(key) % q->nbuckets;
    it->hnext = q->buckets[h];
    q->buckets[h] = it;
    q->nitems++;
    return it;
}

/* Free it when nothing refers to it any more. */
static void
item_maybe_free(struct ctrl_queue *q, struct qitem *it)
{
    struct qitem **pp;

    if (it->dirty || it->processing || it->due >= 0 || it->failures > 0)
        return;
    pp = &q->buckets[key_hash(it->key) % q->nbuckets];
    while (*pp != it)
        pp = &(*pp)->hnext;
    *pp = it->hnext;
    q->nitems--;
    free(it->key);
    free(it);
}

struct ctrl_queue *
ctrl_queue_new(int64_t now_ns)
{
    struct ctrl_queue *q = sk_calloc(1, sizeof(*q));

    q->nbuckets = 64;
    q->buckets = sk_calloc(q->nbuckets, sizeof(*q->buckets));
    q->tokens_nt = CTRL_QUEUE_BURST * 1000000000LL;
    q->bucket_at = now_ns;
    return q;
}

void
ctrl_queue_free(struct ctrl_queue *q)
{
    size_t i;

    if (!q)
        return;
    for (i = 0; i < q->nbuckets; i++) {
        struct qitem *it = q->buckets[i], *next;

        for (; it; it = next) {
            next = it->hnext;
            free(it->key);
            free(it);
        }
    }
    free(q->buckets);
    free(q->heap);
    free(q);
}

static void
fifo_push(struct ctrl_queue *q, struct qitem *it)
{
    it->next = NULL;
    if (q->tail)
        q->tail->next = it;
    else
        q->head = it;
    q->tail = it;
    q->len++;
}

void
ctrl_queue_add(struct ctrl_queue *q, const char *key)
{
    struct qitem *it = item_get(q, key);

    if (it->dirty)
        return;
    it->dirty = 1;
    if (!it->processing)
        fifo_push(q, it);
}

/* Heap on (due); ties keep no particular order, as in client-go. */
static void
heap_swap(struct ctrl_queue *q, size_t a, size_t b)
{
    struct qitem *t = q->heap[a];

    q->heap[a] = q->heap[b];
    q->heap[b] = t;
    q->heap[a]->hindex = a;
    q->heap[b]->hindex = b;
}

static void
heap_up(struct ctrl_queue *q, size_t i)
{
    while (i > 0 && q->heap[(i - 1) / 2]->due > q->heap[i]->due) {
        heap_swap(q, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void
heap_down(struct ctrl_queue *q, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;

        if (l < q->nheap && q->heap[l]->due < q->heap[m]->due)
            m = l;
        if (r < q->nheap && q->heap[r]->due < q->heap[m]->due)
            m = r;
        if (m == i)
            return;
        heap_swap(q, i, m);
        i = m;
    }
}

static struct qitem *
heap_pop(struct ctrl_queue *q)
{
    struct qitem *it = q->heap[0];

    q->nheap--;
    if (q->nheap > 0) {
        q->heap[0] = q->heap[q->nheap];
        q->heap[0]->hindex = 0;
        heap_down(q, 0);
    }
    it->due = -1;
    return it;
}

void
ctrl_queue_add_after(struct ctrl_queue *q, const char *key, int64_t delay_ns, int64_t now_ns)
{
    struct qitem *it;
    int64_t due;

    if (delay_ns <= 0) {
        ctrl_queue_add(q, key);
        return;
    }
    due = now_ns + delay_ns;
    it = item_get(q, key);
    if (it->due >= 0) {
        /* client-go keeps the earlier of two ready times. */
        if (due < it->due) {
            it->due = due;
            heap_up(q, it->hindex);
        }
        return;
    }
    if (q->nheap == q->capheap) {
        q->capheap = q->capheap ? 2 * q->capheap : 16;
        q->heap = sk_reallocarray(q->heap, q->capheap, sizeof(*q->heap));
    }
    it->due = due;
    it->hindex = q->nheap;
    q->heap[q->nheap++] = it;
    heap_up(q, it->hindex);
}

/* golang.org/x/time/rate reservation: refill by elapsed time up to the
 * burst, take one token, wait until the balance is non-negative. */
static int64_t
bucket_delay(struct ctrl_queue *q, int64_t now_ns)
{
    const int64_t full = CTRL_QUEUE_BURST * 1000000000LL;
    int64_t elapsed = now_ns - q->bucket_at;

    if (elapsed > 0) {
        if (elapsed > full / CTRL_QUEUE_QPS)
            elapsed = full / CTRL_QUEUE_QPS;
        q->tokens_nt += elapsed * CTRL_QUEUE_QPS;
        if (q->tokens_nt > full)
            q->tokens_nt = full;
        q->bucket_at = now_ns;
    }
    q->tokens_nt -= 1000000000LL;
    if (q->tokens_nt >= 0)
        return 0;
    return (-q->tokens_nt + CTRL_QUEUE_QPS - 1) / CTRL_QUEUE_QPS;
}

int64_t
ctrl_queue_add_rate_limited(struct ctrl_queue *q, const char *key, int64_t now_ns)
{
    struct qitem *it = item_get(q, key);
    int64_t item = CTRL_QUEUE_BASE_DELAY_NS, bucket;
    int i;

    for (i = 0; i < it->failures && item < CTRL_QUEUE_MAX_DELAY_NS; i++)
        item *= 2;
    if (item > CTRL_QUEUE_MAX_DELAY_NS)
        item = CTRL_QUEUE_MAX_DELAY_NS;
    if (it->failures < 1000000)
        it->failures++;
    bucket = bucket_delay(q, now_ns);
    if (bucket > item)
        item = bucket;
    ctrl_queue_add_after(q, key, item, now_ns);
    return item;
}

static void
move_due(struct ctrl_queue *q, int64_t now_ns)
{
    while (q->nheap > 0 && q->heap[0]->due <= now_ns) {
        struct qitem *it = heap_pop(q);

        ctrl_queue_add(q, it->key);
    }
}

int
ctrl_queue_get(struct ctrl_queue *q, int64_t now_ns, const char **key)
{
    struct qitem *it;

    move_due(q, now_ns);
    it = q->head;
    if (!it)
        return 0;
    q->head = it->next;
    if (!q->head)
        q->tail = NULL;
    q->len--;
    it->next = NULL;
    it->dirty = 0;
    it->processing = 1;
    *key = it->key;
    return 1;
}

void
ctrl_queue_done(struct ctrl_queue *q, const char *key)
{
    struct qitem *it = item_find(q, key);

    if (!it || !it->processing)
        return;
    it->processing = 0;
    if (it->dirty)
        fifo_push(q, it);
    else
        item_maybe_free(q, it);
}

void
ctrl_queue_forget(struct ctrl_queue *q, const char *key)
{
    struct qitem *it = item_find(q, key);

    if (!it)
        return;
    it->failures = 0;
    item_maybe_free(q, it);
}

int
ctrl_queue_num_requeues(const struct ctrl_queue *q, const char *key)
{
    const struct qitem *it = item_find(q, key);

    return it ? it->failures : 0;
}

size_t
ctrl_queue_len(const struct ctrl_queue *q)
{
    return q->len;
}

int64_t
ctrl_queue_next_due(const struct ctrl_queue *q)
{
    return q->nheap > 0 ? q->heap[0]->due : -1;
}
