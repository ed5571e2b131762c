/* bench/sched: scheduling throughput of the pure core, no API or store:
 * N fake nodes (32 cpu, 128Gi, 110 pods, 10 zones), M pods with requests
 * (100m-400m cpu, 128Mi-512Mi), each one scheduled (filters + scores over
 * every node) and assumed on its node, as the scheduler loop will do
 * before it binds.
 *
 *     bench/sched [--quick] [--nodes N] [--pods M]
 *
 * Prints "result sched <name> <value> pods/s" lines: pods_per_s for
 * plain pods, pods_per_s_antiaffinity for pods in groups of 10 with
 * required anti-affinity on the hostname, pods_per_s_spread for pods with
 * a zone DoNotSchedule and a hostname ScheduleAnyway spread constraint.
 * --quick: 100 nodes, 1000 pods. Default: 1000 nodes, 10000 pods. */
#include "sched/sched.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum kind { PLAIN, ANTI, SPREAD };

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what, const struct sk_err *err)
{
    fprintf(stderr, "bench sched: %s: %s\n", what, err ? err->msg : "failed");
    exit(1);
}

static json_t *
make_node(int i)
{
    char name[32], zone[16];

    snprintf(name, sizeof(name), "node-%05d", i);
    snprintf(zone, sizeof(zone), "zone-%d", i % 10);
    return json_pack("{s:{s:s,s:{s:s,s:s}},s:{},s:{s:{s:s,s:s,s:s,s:s},s:[{s:s,s:s}]}}", "metadata",
                     "name", name, "labels", "kubernetes.io/hostname", name,
                     "topology.kubernetes.io/zone", zone, "spec", "status", "allocatable", "cpu",
                     "32", "memory", "128Gi", "pods", "110", "ephemeral-storage", "500Gi",
                     "conditions", "type", "Ready", "status", "True");
}

static json_t *
anti_affinity(const char *app)
{
    return json_pack("{s:{s:[{s:{s:{s:s}},s:s}]}}", "podAntiAffinity",
                     "requiredDuringSchedulingIgnoredDuringExecution", "labelSelector",
                     "matchLabels", "app", app, "topologyKey", "kubernetes.io/hostname");
}

static json_t *
spread(const char *app)
{
    return json_pack("[{s:i,s:s,s:s,s:{s:{s:s}}},{s:i,s:s,s:s,s:{s:{s:s}}}]", "maxSkew", 1,
                     "topologyKey", "topology.kubernetes.io/zone", "whenUnsatisfiable",
                     "DoNotSchedule", "labelSelector", "matchLabels", "app", app, "maxSkew", 1,
                     "topologyKey", "kubernetes.io/hostname", "whenUnsatisfiable", "ScheduleAnyway",
                     "labelSelector", "matchLabels", "app", app);
}

static json_t *
make_pod(int i, enum kind kind)
{
    char name[32], app[32], cpu[16], mem[16];
    json_t *pod, *spec;

    snprintf(name, sizeof(name), "pod-%06d", i);
    snprintf(app, sizeof(app), "app-%d", i / 10);
    snprintf(cpu, sizeof(cpu), "%dm", 100 * (1 + i % 4));
    snprintf(mem, sizeof(mem), "%dMi", 128 * (1 + i % 4));
    pod = json_pack("{s:{s:s,s:s,s:{s:s}},s:{s:[{s:s,s:s,s:{s:{s:s,s:s}}}]}}", "metadata", "name",
                    name, "namespace", "bench", "labels", "app", app, "spec", "containers", "name",
                    "c", "image", "busybox", "resources", "requests", "cpu", cpu, "memory", mem);
    spec = json_object_get(pod, "spec");
    if (kind == ANTI)
        json_object_set_new(spec, "affinity", anti_affinity(app));
    else if (kind == SPREAD)
        json_object_set_new(spec, "topologySpreadConstraints", spread(app));
    return pod;
}

/* Schedule and assume every pod; returns pods per second. */
static double
run(int nodes, int pods, enum kind kind)
{
    struct sched_cache *cache = sched_cache_new(30000);
    json_t **objs = calloc((size_t)pods, sizeof(*objs));
    struct sched_result res;
    struct sched_rng rng;
    struct sk_err err;
    int placed = 0;
    double t0, t;

    for (int i = 0; i < nodes; i++) {
        json_t *n = make_node(i);

        if (!n || sched_cache_node_set(cache, n, &err) < 0)
            die("node", &err);
        json_decref(n);
    }
    for (int i = 0; i < pods; i++) {
        objs[i] = make_pod(i, kind);
        if (!objs[i])
            die("pod", NULL);
    }
    sched_rng_seed(&rng, 1);
    sched_result_init(&res);
    t0 = now_s();
    for (int i = 0; i < pods; i++) {
        int rc = sched_schedule_one(cache, objs[i], &rng, &res, &err);

        if (rc < 0)
            die("schedule", &err);
        if (rc == 0 && sched_cache_assume(cache, objs[i], res.node, 0, &err) < 0)
            die("assume", &err);
        placed += rc == 0;
    }
    t = now_s() - t0;
    if (placed < pods)
        fprintf(stderr, "bench sched: %d of %d pods found no node\n", pods - placed, pods);
    sched_result_release(&res);
    for (int i = 0; i < pods; i++)
        json_decref(objs[i]);
    free(objs);
    sched_cache_free(cache);
    return pods / t;
}

int
main(int argc, char **argv)
{
    int nodes = 1000, pods = 10000;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            nodes = 100;
            pods = 1000;
        } else if (strcmp(argv[i], "--nodes") == 0 && i + 1 < argc) {
            nodes = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--pods") == 0 && i + 1 < argc) {
            pods = atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: bench/sched [--quick] [--nodes N] [--pods M]\n");
            return 2;
        }
    }
    if (nodes < 1 || pods < 1) {
        fprintf(stderr, "bench sched: --nodes and --pods must be positive\n");
        return 2;
    }
    printf("# %d nodes, %d pods\n", nodes, pods);
    printf("result sched pods_per_s %.0f pods/s\n", run(nodes, pods, PLAIN));
    printf("result sched pods_per_s_antiaffinity %.0f pods/s\n", run(nodes, pods, ANTI));
    printf("result sched pods_per_s_spread %.0f pods/s\n", run(nodes, pods, SPREAD));
    return 0;
}
