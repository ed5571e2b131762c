/* The caller-owned PRNG for tie breaks: xorshift64* (Vigna, "An
 * experimental exploration of Marsaglia's xorshift generators"), seeded
 * through splitmix64 so that small seeds give unrelated streams. */
#include "sched/sched.h"

void
sched_rng_seed(struct sched_rng *rng, uint64_t seed)
{
    uint64_t z = seed + 0x9e3779b97f4a7c15ULL;

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    rng->state = z ? z : 1; /* xorshift must not start at 0 */
}

static uint64_t
next(struct sched_rng *rng)
{
    uint64_t x = rng->state;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng->state = x;
    return x * 0x2545f4914f6cdd1dULL;
}

uint64_t
sched_rng_below(struct sched_rng *rng, uint64_t n)
{
    /* Rejection sampling: no modulo bias, even for large n. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;

    if (rng->state == 0)
        rng->state = 1;
    do
        x = next(rng);
    while (x >= limit);
    return x % n;
}
