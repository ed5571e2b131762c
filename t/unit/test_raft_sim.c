/* store/raft: randomized deterministic simulation of whole clusters.
 *
 * Each seed picks a cluster (3 or 5 voters, sometimes spare servers that
 * join and members that leave) and fault rates, then runs a chaos phase
 * (lossy, duplicating, reordering network; partitions incl. asymmetric
 * ones and leader isolation; crashes; failing and asynchronous disks;
 * proposals, ReadIndex reads, snapshots and compaction, leadership
 * transfers, membership changes) while the simulator checks the safety
 * properties after every step (store/raft_sim.h). Then every fault is
 * healed and the cluster must elect a leader and commit a new proposal
 * within a bounded number of ticks (liveness).
 *
 *   RAFT_SIM_SEEDS=N   seeds per test (default below)
 *   RAFT_SIM_SEED=S    run only seed S (its trace is printed if it fails,
 *                      or always with RAFT_SIM_TRACE=1)
 *
 * A failure prints the seed, the violation and the last events. */
#include "lib/err.h"
#include "store/raft_sim.h"
#include "unit.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHAOS_TICKS    200
#define LIVENESS_TICKS 400 /* after healing, 40 election timeouts at most */
/* Seeds per kind: 9000 runs take about 6 s of CPU; under ASan/UBSan,
 * several times slower, a fifth of them. */
#if defined(__SANITIZE_ADDRESS__)
#define DEFAULT_SEEDS 600
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DEFAULT_SEEDS 600
#endif
#endif
#ifndef DEFAULT_SEEDS
#define DEFAULT_SEEDS 3000
#endif

enum sim_kind {
    SIM_THREE = 0,
    SIM_FIVE,
    SIM_MEMBERSHIP,
};

struct chaos {
    uint64_t rng;
    uint64_t removed; /* bit per node id: never added back */
    unsigned partition_pm, crash_pm, restart_pct, snapshot_pct, transfer_pm, member_pm;
};

static uint64_t
chaos_rand(struct chaos *c, uint64_t n)
{
    uint64_t z = (c->rng += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return n ? z % n : 0;
}

/* Everything about a run follows from its seed. */
static void
chaos_setup(uint64_t seed, enum sim_kind kind, struct rsim_config *cfg, struct chaos *c)
{
    static const uint32_t msg_bytes[] = {0, 1, 40, 400};
    static const uint32_t inflight[] = {1, 2, 4, 64};
    static const uint64_t trailing[] = {1, 3, 10, 100};

    memset(c, 0, sizeof(*c));
    c->rng = seed * 0x9e3779b97f4a7c15ull + (uint64_t)kind;
    rsim_config_default(cfg);
    cfg->voters = kind == SIM_FIVE ? 5 : 3;
    cfg->spares = kind == SIM_MEMBERSHIP ? 3 : 0;
    cfg->heartbeat_ticks = 1 + (uint32_t)chaos_rand(c, 3);
    cfg->max_msg_bytes = msg_bytes[chaos_rand(c, 4)];
    cfg->max_inflight = inflight[chaos_rand(c, 4)];
    cfg->trailing = trailing[chaos_rand(c, 4)];
    cfg->snapshot_ticks = chaos_rand(c, 2) ? 30 : 0;
    cfg->min_delay = 1;
    cfg->max_delay = 1 + (unsigned)chaos_rand(c, 8);
    cfg->loss_pct = (unsigned)chaos_rand(c, 20);
    cfg->dup_pct = (unsigned)chaos_rand(c, 10);
    cfg->async_pct = (unsigned)chaos_rand(c, 60);
    cfg->max_async_slots = 1 + (unsigned)chaos_rand(c, 8);
    cfg->disk_fail_pct = (unsigned)chaos_rand(c, 4);
    cfg->crash_on_commit_pct = (unsigned)chaos_rand(c, 4);
    c->partition_pm = (unsigned)chaos_rand(c, 40);
    c->crash_pm = (unsigned)chaos_rand(c, 25);
    c->restart_pct = 2 + (unsigned)chaos_rand(c, 40);
    c->snapshot_pct = (unsigned)chaos_rand(c, 15);
    c->transfer_pm = (unsigned)chaos_rand(c, 20);
    c->member_pm = kind == SIM_MEMBERSHIP ? 10 + (unsigned)chaos_rand(c, 40) : 0;
}

static uint64_t
random_node(struct rsim *s, struct chaos *c)
{
    return 1 + chaos_rand(c, rsim_nodes(s));
}

static void
chaos_partition(struct rsim *s, struct chaos *c)
{
    unsigned n = rsim_nodes(s), i;
    uint64_t a = random_node(s, c), b = random_node(s, c), leader = rsim_leader(s);

    switch (chaos_rand(c, 4)) {
    case 0: /* leader isolation */
        rsim_isolate(s, leader ? leader : a);
        break;
    case 1:
        rsim_isolate(s, a);
        break;
    case 2: /* asymmetric: a no longer hears b */
        if (a != b)
            rsim_link(s, b, a, 0);
        break;
    default: /* split in two */
        for (i = 1; i <= n; i++) {
            uint64_t j;

            for (j = i + 1; j <= n; j++) {
                if (((a >> i) & 1) != ((a >> j) & 1)) {
                    rsim_link(s, i, j, 0);
                    rsim_link(s, j, i, 0);
                }
            }
        }
    }
}

/* One server at a time: add a spare as learner, promote a caught-up
 * learner, or remove a member (maybe the leader itself). */
static void
chaos_membership(struct rsim *s, struct chaos *c, uint64_t leader)
{
    struct raft_status st;
    struct sk_err err;
    uint64_t who = random_node(s, c);
    uint8_t role;

    raft_status(rsim_raft(s, leader), &st);
    role = raft_conf_role(&st.conf, who);
    if (!role && !(c->removed >> who & 1)) {
        rsim_add_learner(s, leader, who, &err);
    } else if (role == RAFT_LEARNER && chaos_rand(c, 3)) {
        rsim_promote(s, leader, who, &err);
    } else if (role && chaos_rand(c, 4) == 0) {
        if (rsim_remove(s, leader, who, &err) == 0)
            c->removed |= 1ull << who;
    }
}

static void
chaos_tick(struct rsim *s, struct chaos *c)
{
    uint64_t leader = rsim_leader(s), id;
    struct sk_err err;
    unsigned i;

    /* Clients write to every node that believes it leads: a deposed
     * leader's log then diverges, which is what Figure 8 is made of. */
    for (i = 1; i <= rsim_nodes(s); i++) {
        struct raft *r = rsim_raft(s, i);
        struct raft_status st;

        if (!r)
            continue;
        raft_status(r, &st);
        if (st.role == RAFT_LEADER && chaos_rand(c, 100) < 40)
            rsim_propose(s, i, NULL, &err);
    }
    if (leader && chaos_rand(c, 100) < 15)
        rsim_read(s, leader, &err);
    /* Also at whoever believes it leads: a deposed leader must not
     * answer a read with a stale index. */
    if (chaos_rand(c, 100) < 15)
        rsim_read(s, random_node(s, c), &err);
    if (chaos_rand(c, 1000) < c->crash_pm) {
        /* Leader churn is what makes logs diverge: aim at it half the time. */
        id = leader && chaos_rand(c, 2) ? leader : random_node(s, c);
        rsim_crash(s, id);
        if (chaos_rand(c, 2)) /* a supervisor restarts it at once */
            rsim_restart(s, id);
    }
    for (i = 1; i <= rsim_nodes(s); i++)
        if (!rsim_up(s, i) && chaos_rand(c, 100) < c->restart_pct)
            rsim_restart(s, i);
    if (chaos_rand(c, 1000) < c->partition_pm)
        chaos_partition(s, c);
    if (chaos_rand(c, 100) < 4)
        rsim_heal(s);
    if (chaos_rand(c, 100) < c->snapshot_pct)
        rsim_snapshot(s, random_node(s, c), &err);
    if (leader && chaos_rand(c, 100) < c->snapshot_pct)
        rsim_snapshot(s, leader, &err); /* lagging peers then need it */
    id = random_node(s, c);
    if (leader && chaos_rand(c, 1000) < c->transfer_pm)
        rsim_transfer(s, leader, id, &err);
    if (leader && rsim_up(s, leader) && chaos_rand(c, 1000) < c->member_pm)
        chaos_membership(s, c, leader);
}

/* After healing: a leader must emerge and commit a fresh proposal. */
static int
liveness(struct rsim *s, char *why, size_t whysz)
{
    uint64_t prop = 0, since = 0, t, leader;
    struct sk_err err;
    unsigned i;

    rsim_heal(s);
    rsim_set_faults(s, 0, 0, 0, 0);
    for (i = 1; i <= rsim_nodes(s); i++)
        rsim_restart(s, i);
    for (t = 0; t < LIVENESS_TICKS; t++) {
        if (prop && rsim_acked(s, prop))
            return 0;
        leader = rsim_leader(s);
        if (leader && (!prop || t - since > 20)) {
            if (rsim_propose(s, leader, &prop, &err) == 0)
                since = t;
        }
        if (rsim_run_ticks(s, 1) < 0)
            return -1;
    }
    snprintf(why, whysz,
             "liveness: no proposal committed within %d ticks after healing (leader %llu)",
             LIVENESS_TICKS, (unsigned long long)rsim_leader(s));
    return -1;
}

static int
run_seed(uint64_t seed, enum sim_kind kind, int trace, char *why, size_t whysz,
         struct rsim_stats *total)
{
    struct rsim_config cfg;
    struct chaos c;
    struct rsim *s;
    unsigned t;
    int rc = 0;

    chaos_setup(seed, kind, &cfg, &c);
    cfg.trace = trace;
    s = rsim_new(seed, &cfg);
    for (t = 0; t < CHAOS_TICKS && rc == 0; t++) {
        chaos_tick(s, &c);
        rc = rsim_run_ticks(s, 1);
    }
    if (rc == 0)
        rc = liveness(s, why, whysz);
    if (rc < 0 && rsim_error(s))
        snprintf(why, whysz, "%s", rsim_error(s));
    if (trace && (rc < 0 || getenv("RAFT_SIM_TRACE")))
        rsim_trace_dump(s, stderr);
    if (total) {
        const struct rsim_stats *st = rsim_stats(s);

        total->elections += st->elections;
        total->acked += st->acked;
        total->reads_ok += st->reads_ok;
        total->crashes += st->crashes;
        total->disk_failures += st->disk_failures;
        total->snapshots_installed += st->snapshots_installed;
        total->delivered += st->delivered;
    }
    rsim_free(s);
    return rc;
}

static uint64_t
env_u64(const char *name, uint64_t def)
{
    const char *v = getenv(name);

    return v && *v ? strtoull(v, NULL, 0) : def;
}

static void
run_kind(enum sim_kind kind, const char *name)
{
    uint64_t n = env_u64("RAFT_SIM_SEEDS", DEFAULT_SEEDS), seed, first = 1;
    struct rsim_stats total = {0};
    char why[1200];

    if (getenv("RAFT_SIM_SEED")) {
        first = env_u64("RAFT_SIM_SEED", 1);
        n = 1;
    }
    for (seed = first; seed < first + n; seed++) {
        why[0] = '\0';
        if (run_seed(seed, kind, n == 1, why, sizeof(why), &total) == 0)
            continue;
        fprintf(stderr, "raft sim %s: seed %" PRIu64 " failed: %s\n", name, seed, why);
        if (n > 1) {
            fprintf(stderr, "last events (rerun with RAFT_SIM_SEED=%" PRIu64 "):\n", seed);
            run_seed(seed, kind, 1, why, sizeof(why), NULL);
        }
        ck_abort_msg("raft sim %s: seed %" PRIu64 ": %s", name, seed, why);
    }
    fprintf(stderr,
            "raft sim %s: %" PRIu64 " seeds ok: %" PRIu64 " elections, %" PRIu64
            " writes acked, %" PRIu64 " reads, %" PRIu64 " crashes (%" PRIu64
            " disk failures), %" PRIu64 " snapshots installed, %" PRIu64 " messages\n",
            name, n, total.elections, total.acked, total.reads_ok, total.crashes,
            total.disk_failures, total.snapshots_installed, total.delivered);
}

START_TEST(three_node_clusters_stay_safe_and_live_under_chaos)
{
    run_kind(SIM_THREE, "3 nodes");
}
END_TEST

START_TEST(five_node_clusters_stay_safe_and_live_under_chaos)
{
    run_kind(SIM_FIVE, "5 nodes");
}
END_TEST

START_TEST(clusters_changing_membership_stay_safe_and_live_under_chaos)
{
    run_kind(SIM_MEMBERSHIP, "membership");
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("raft_sim");
    TCase *tc = tcase_create("chaos");

    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, three_node_clusters_stay_safe_and_live_under_chaos);
    tcase_add_test(tc, five_node_clusters_stay_safe_and_live_under_chaos);
    tcase_add_test(tc, clusters_changing_membership_stay_safe_and_live_under_chaos);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
