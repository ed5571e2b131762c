/* bench/sched: scheduling throughput of the pure core, no API or store:
 * N fake nodes (32 cpu, 128Gi, 110 pods, 10 zones), M pods with requests
 * (100m-400m cpu, 128Mi-512Mi), each one scheduled (filters + scores over
 * every node) and assumed on its node, as the scheduler loop will do
 * before it binds.
 *
 *     bench/sched [--quick] [--nodes N] [--pods M] [--skiffd PATH] [--no-e2e]
 *                 [--no-fsync]
 *
 * Prints "result sched <name> <value> pods/s" lines: pods_per_s for
 * plain pods, pods_per_s_antiaffinity for pods in groups of 10 with
 * required anti-affinity on the hostname, pods_per_s_spread for pods with
 * a zone DoNotSchedule and a hostname ScheduleAnyway spread constraint.
 * --quick: 100 nodes, 1000 pods. Default: 1000 nodes, 10000 pods.
 *
 * Then the same end to end through a real `skiffd server` (its scheduler
 * runs because a single server is the Raft leader): the Node objects are
 * created, a pod watch started, then every pod created (pipelined over
 * one connection) and the clock stopped when the watch has seen every
 * pod with spec.nodeName. Each pod costs the API a create, a bind and a
 * "Scheduled" Event. Prints e2e_pods_per_s (pods / time from the first
 * create to the last bind seen) and e2e_p99_ms (create sent to bind
 * seen, per pod). skiffd is found next to this program
 * (../bin/skiffd) or given with --skiffd PATH; --no-e2e skips it, and
 * --no-fsync runs it with store.fsync=false (the store's commit latency
 * then no longer bounds the rate: what is left is CPU). */
#include "api/aclient.h"
#include "lib/clock.h"
#include "lib/loop.h"
#include "sched/sched.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

/* ---- end to end through skiffd ---- */

#define E2E_CLIENTS 8 /* pod creates over this many connections */

struct e2e {
    struct sk_loop *loop;
    struct api_aclient *c, *creators[E2E_CLIENTS];
    int pending; /* responses awaited */
    int errors;
    int npods, nbound;
    int64_t *sent_ns, *lat_ns; /* per pod; lat -1 until bound */
    int64_t t_end;
};

static void
on_resp(struct api_aclient *c, int rc, const struct api_resp *resp, const struct sk_err *err,
        void *arg)
{
    struct e2e *e = arg;

    (void)c;
    (void)resp;
    e->pending--;
    if (rc < 0 && e->errors++ < 5)
        fprintf(stderr, "bench sched: e2e: %s\n", err->msg);
}

static void
on_pod_event(struct api_awatch *w, const struct api_watch_event *ev, void *arg)
{
    struct e2e *e = arg;
    const char *name, *node;
    int i;

    (void)w;
    if (ev->type != API_WATCH_ADDED && ev->type != API_WATCH_MODIFIED)
        return;
    name = json_string_value(json_object_get(json_object_get(ev->obj, "metadata"), "name"));
    node = json_string_value(json_object_get(json_object_get(ev->obj, "spec"), "nodeName"));
    if (!name || !node || sscanf(name, "pod-%d", &i) != 1 || i < 0 || i >= e->npods ||
        e->lat_ns[i] >= 0)
        return;
    e->lat_ns[i] = sk_clock_mono_ns() - e->sent_ns[i];
    if (++e->nbound == e->npods)
        e->t_end = sk_clock_mono_ns();
}

static void
on_ready(struct api_aclient *c, int rc, const struct api_resp *resp, const struct sk_err *err,
         void *arg)
{
    int *ready = arg;

    (void)c;
    (void)err;
    *ready = rc == 0 && resp->nlines >= 4 ? 1 : -1;
}

/* Run the loop until *flag says so or ms pass; returns whether it did. */
static bool
run_until(struct e2e *e, const int *a, int want, int ms)
{
    int64_t end = sk_clock_mono_ms() + ms;

    while (*a != want && sk_clock_mono_ms() < end)
        sk_loop_run_once(e->loop, 50, NULL);
    return *a == want;
}

static pid_t
spawn_skiffd(const char *bin, const char *dir, const char *sock, bool fsync)
{
    char data[512], log[512];
    pid_t pid;

    snprintf(data, sizeof(data), "%s/data", dir);
    snprintf(log, sizeof(log), "%s/skiffd.log", dir);
    pid = fork();
    if (pid < 0)
        die("fork", NULL);
    if (pid == 0) {
        sigset_t all;

        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        if (!freopen(log, "w", stderr))
            _exit(127);
        execl(bin, "skiffd", "server", "--socket", sock, "--listen", "", "--data-dir", data,
              "--set", "server.name=bench", "--log-level", "warn", "--set",
              fsync ? "store.fsync=true" : "store.fsync=false", (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

static json_t *
as_object(json_t *obj, const char *kind)
{
    json_object_set_new(obj, "apiVersion", json_string("v1"));
    json_object_set_new(obj, "kind", json_string(kind));
    return obj;
}

/* Wait for skiffd to serve, then create the nodes. */
static void
e2e_setup(struct e2e *e, int nodes)
{
    int ready = 0, zero = 0;

    for (int tries = 0; ready != 1 && tries < 100; tries++) {
        ready = 0;
        api_aclient_call(e->c, "list namespaces", on_ready, &ready, NULL);
        run_until(e, &ready, 1, 200);
        if (ready != 1)
            usleep(100 * 1000);
    }
    if (ready != 1)
        die("e2e: skiffd did not come up (see its log)", NULL);
    for (int i = 0; i < nodes; i++) {
        json_t *n = as_object(make_node(i), "Node");

        e->pending++;
        api_aclient_create(e->c, n, on_resp, e);
        json_decref(n);
    }
    if (!run_until(e, &e->pending, zero, 60000) || e->errors)
        die("e2e: creating nodes failed", NULL);
}

/* Create the pods and wait until all are bound; fills e->lat_ns. */
static double
e2e_pods(struct e2e *e, int pods)
{
    struct api_watch_opts wo = {.resource = "pods", .ns = "default"};
    struct api_awatch *w = api_aclient_watch(e->c, &wo, on_pod_event, e);
    int64_t t0;

    for (int tries = 0; !api_awatch_active(w) && tries < 200; tries++)
        sk_loop_run_once(e->loop, 50, NULL);
    t0 = sk_clock_mono_ns();
    for (int i = 0; i < pods; i++) {
        json_t *p = as_object(make_pod(i, PLAIN), "Pod");

        json_object_set_new(json_object_get(p, "metadata"), "namespace", json_string("default"));
        e->sent_ns[i] = sk_clock_mono_ns();
        e->pending++;
        api_aclient_create(e->creators[i % E2E_CLIENTS], p, on_resp, e);
        json_decref(p);
    }
    if (!run_until(e, &e->nbound, pods, 300000))
        fprintf(stderr, "bench sched: e2e: only %d of %d pods bound\n", e->nbound, pods);
    api_awatch_cancel(w);
    return e->nbound / ((double)((e->nbound == pods ? e->t_end : sk_clock_mono_ns()) - t0) / 1e9);
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void
run_e2e(const char *skiffd, int nodes, int pods, bool fsync)
{
    char dir[] = "/tmp/skiff-bench-sched.XXXXXX", sock[512];
    struct api_aclient_config cc = {.server = sock, .backoff_max_ms = 200};
    struct e2e e = {.npods = pods};
    struct sk_err err;
    double rate;
    pid_t pid;
    int status;

    if (!mkdtemp(dir))
        die("mkdtemp", NULL);
    snprintf(sock, sizeof(sock), "%s/api.sock", dir);
    pid = spawn_skiffd(skiffd, dir, sock, fsync);
    if (sk_loop_new(&e.loop, &err) < 0 || api_aclient_new(e.loop, &cc, &e.c, &err) < 0)
        die("e2e client", &err);
    for (int i = 0; i < E2E_CLIENTS; i++)
        if (api_aclient_new(e.loop, &cc, &e.creators[i], &err) < 0)
            die("e2e client", &err);
    e.sent_ns = calloc((size_t)pods, sizeof(int64_t));
    e.lat_ns = malloc((size_t)pods * sizeof(int64_t));
    for (int i = 0; i < pods; i++)
        e.lat_ns[i] = -1;
    e2e_setup(&e, nodes);
    rate = e2e_pods(&e, pods);
    printf("# e2e through skiffd: %d nodes, %d pods%s\n", nodes, pods,
           fsync ? "" : ", store.fsync=false");
    printf("result sched e2e_pods_per_s %.0f pods/s\n", rate);
    qsort(e.lat_ns, (size_t)pods, sizeof(int64_t), cmp_i64);
    if (e.nbound == pods)
        printf("result sched e2e_p99_ms %.1f ms\n", (double)e.lat_ns[pods * 99 / 100] / 1e6);
    api_aclient_free(e.c);
    for (int i = 0; i < E2E_CLIENTS; i++)
        api_aclient_free(e.creators[i]);
    sk_loop_free(e.loop);
    kill(pid, SIGTERM);
    waitpid(pid, &status, 0);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(e.sent_ns);
    free(e.lat_ns);
}

/* skiffd next to this program: BUILD/bench/sched -> BUILD/bin/skiffd. */
static char *
default_skiffd(const char *argv0)
{
    const char *slash = strrchr(argv0, '/');
    char *path = malloc(strlen(argv0) + 32);

    sprintf(path, "%.*s../bin/skiffd", slash ? (int)(slash - argv0 + 1) : 0, argv0);
    return path;
}

int
main(int argc, char **argv)
{
    int nodes = 1000, pods = 10000, e2e = 1;
    bool fsync = true;
    char *skiffd = default_skiffd(argv[0]);

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            nodes = 100;
            pods = 1000;
        } else if (strcmp(argv[i], "--nodes") == 0 && i + 1 < argc) {
            nodes = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--pods") == 0 && i + 1 < argc) {
            pods = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--skiffd") == 0 && i + 1 < argc) {
            free(skiffd);
            skiffd = strdup(argv[++i]);
        } else if (strcmp(argv[i], "--no-fsync") == 0) {
            fsync = false;
        } else if (strcmp(argv[i], "--no-e2e") == 0) {
            e2e = 0;
        } else {
            fprintf(stderr, "usage: bench/sched [--quick] [--nodes N] [--pods M] [--skiffd PATH] "
                            "[--no-e2e] [--no-fsync]\n");
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
    fflush(stdout);
    if (e2e && access(skiffd, X_OK) == 0)
        run_e2e(skiffd, nodes, pods, fsync);
    else if (e2e)
        fprintf(stderr, "bench sched: no skiffd at '%s': end-to-end figures skipped\n", skiffd);
    free(skiffd);
    return 0;
}
