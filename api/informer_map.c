/* A small string-keyed hash map for the informer's cache and indexes
 * (see aclient_int.h). */
#include "api/aclient_int.h"
#include "lib/alloc.h"

#include <stdlib.h>
#include <string.h>

static uint64_t
map_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

void
api_map_init(struct api_map *m)
{
    memset(m, 0, sizeof(*m));
}

void
api_map_release(struct api_map *m)
{
    struct api_map_slot *s, *next;
    size_t i;

    for (i = 0; i < m->nbuckets; i++)
        for (s = m->buckets[i]; s; s = next) {
            next = s->next;
            free(s->key);
            free(s);
        }
    free(m->buckets);
    api_map_init(m);
}

static struct api_map_slot **
map_find(const struct api_map *m, const char *key)
{
    struct api_map_slot **sp;

    if (!m->nbuckets)
        return NULL;
    for (sp = &m->buckets[map_hash(key) & (m->nbuckets - 1)]; *sp; sp = &(*sp)->next)
        if (strcmp((*sp)->key, key) == 0)
            return sp;
    return NULL;
}

void *
api_map_get(const struct api_map *m, const char *key)
{
    struct api_map_slot **sp = map_find(m, key);

    return sp ? (*sp)->val : NULL;
}

static void
map_grow(struct api_map *m)
{
    size_t nb = m->nbuckets ? m->nbuckets * 2 : 16, i;
    struct api_map_slot **b = sk_calloc(nb, sizeof(*b)), *s, *next;

    for (i = 0; i < m->nbuckets; i++)
        for (s = m->buckets[i]; s; s = next) {
            next = s->next;
            s->next = b[map_hash(s->key) & (nb - 1)];
            b[map_hash(s->key) & (nb - 1)] = s;
        }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = nb;
}

void *
api_map_put(struct api_map *m, const char *key, void *val)
{
    struct api_map_slot **sp = map_find(m, key), *s;
    void *old;

    if (sp) {
        old = (*sp)->val;
        (*sp)->val = val;
        return old;
    }
    if (m->len >= m->nbuckets)
        map_grow(m);
    s = sk_calloc(1, sizeof(*s));
    s->key = sk_strdup(key);
    s->val = val;
    sp = &m->buckets[map_hash(key) & (m->nbuckets - 1)];
    s->next = *sp;
    *sp = s;
    m->len++;
    return NULL;
}

void *
api_map_del(struct api_map *m, const char *key)
{
    struct api_map_slot **sp = map_find(m, key), *s;
    void *val;

    if (!sp)
        return NULL;
    s = *sp;
    *sp = s->next;
    val = s->val;
    free(s->key);
    free(s);
    m->len--;
    return val;
}

size_t
api_map_each(const struct api_map *m, int (*fn)(const char *key, void *val, void *arg), void *arg)
{
    struct api_map_slot *s;
    size_t i, n = 0;

    for (i = 0; i < m->nbuckets; i++)
        for (s = m->buckets[i]; s; s = s->next) {
            n++;
            if (fn(s->key, s->val, arg))
                return n;
        }
    return n;
}
