/* A small string-keyed hash map with open addressing and linear probing
 * (FNV-1a hashes), for node names, pod keys and topology domains. A
 * deleted slot is refilled by moving the rest of its cluster back, so
 * there are no tombstones and lookups stay short. */
#include "lib/alloc.h"
#include "sched/sched_int.h"

#include <stdlib.h>
#include <string.h>

static uint64_t
hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

void
sched_map_init(struct sched_map *m)
{
    m->ents = NULL;
    m->cap = 0;
    m->len = 0;
}

void
sched_map_release(struct sched_map *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->ents[i].key);
    free(m->ents);
    sched_map_init(m);
}

static struct sched_map_ent *
find_slot(const struct sched_map *m, const char *key, uint64_t h)
{
    size_t i = h & (m->cap - 1);

    for (;;) {
        struct sched_map_ent *e = &m->ents[i];

        if (!e->key || (e->hash == h && strcmp(e->key, key) == 0))
            return e;
        i = (i + 1) & (m->cap - 1);
    }
}

struct sched_map_ent *
sched_map_get(const struct sched_map *m, const char *key)
{
    struct sched_map_ent *e;

    if (m->len == 0)
        return NULL;
    e = find_slot(m, key, hash_str(key));
    return e->key ? e : NULL;
}

static void
grow(struct sched_map *m)
{
    struct sched_map old = *m;

    m->cap = old.cap ? old.cap * 2 : 16;
    m->ents = sk_calloc(m->cap, sizeof(*m->ents));
    for (size_t i = 0; i < old.cap; i++) {
        if (old.ents[i].key)
            *find_slot(m, old.ents[i].key, old.ents[i].hash) = old.ents[i];
    }
    free(old.ents);
}

struct sched_map_ent *
sched_map_put(struct sched_map *m, const char *key)
{
    uint64_t h = hash_str(key);
    struct sched_map_ent *e;

    /* Keep the load under 1/2 so probes stay short. */
    if ((m->len + 1) * 2 > m->cap)
        grow(m);
    e = find_slot(m, key, h);
    if (!e->key) {
        e->key = sk_strdup(key);
        e->hash = h;
        e->ptr = NULL;
        e->num = 0;
        m->len++;
    }
    return e;
}

void *
sched_map_del(struct sched_map *m, const char *key)
{
    struct sched_map_ent *e = sched_map_get(m, key);
    size_t i, j;
    void *ptr;

    if (!e)
        return NULL;
    ptr = e->ptr;
    free(e->key);
    e->key = NULL;
    m->len--;
    /* Backward-shift deletion: re-place the following entries of the
     * cluster so none sits behind a hole it probed past. */
    i = (size_t)(e - m->ents);
    j = i;
    for (;;) {
        size_t home;

        j = (j + 1) & (m->cap - 1);
        if (!m->ents[j].key)
            break;
        home = m->ents[j].hash & (m->cap - 1);
        /* Entry j may move to i only if its home is not in (i, j]. */
        if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
            m->ents[i] = m->ents[j];
            m->ents[j].key = NULL;
            i = j;
        }
    }
    return ptr;
}

struct sched_map_ent *
sched_map_next(const struct sched_map *m, size_t *i)
{
    while (*i < m->cap) {
        struct sched_map_ent *e = &m->ents[(*i)++];

        if (e->key)
            return e;
    }
    return NULL;
}
