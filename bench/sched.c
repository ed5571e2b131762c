/* bench/sched: scheduling throughput, first of the pure core (no API or
 * store), then end to end through a real `skiffd server`.
 *
 *     bench/sched [--quick] [--nodes N] [--pods M] [--e2e-pods M]
 *                 [--skiffd PATH] [--no-core] [--no-e2e] [--no-fsync]
 *                 [--big] [--only SCENARIO] [--keep]
 *
 * Core: N fake nodes (32 cpu, 128Gi, 110 pods, 10 zones), M pods with
 * requests (100m-400m cpu, 128Mi-512Mi), each one scheduled and assumed
 * on its node, as the scheduler loop does before it binds. Prints
 * pods_per_s for plain pods, pods_per_s_antiaffinity for pods in groups
 * of 10 with required anti-affinity on the hostname, pods_per_s_spread
 * for pods with a zone DoNotSchedule and a hostname ScheduleAnyway
 * spread constraint. Default 1000 nodes / 10,000 pods; --quick 100 /
 * 1000.
 *
 * End to end, one fresh skiffd per scenario (its scheduler runs because
 * a single server is the Raft leader; controllers off, see
 * spawn_skiffd): the Node objects are created, a pod watch started,
 * then every pod created at once (pipelined over E2E_CLIENTS
 * connections) and the clock stopped when the watch has seen every pod
 * with spec.nodeName. Each pod costs the API a create, a bind and a
 * "Scheduled" Event. Scenarios: n100, n1000, n5000 (plain pods on that
 * many nodes), n5000_antiaffinity, n5000_spread, and with --big
 * n5000_50k (5x the pods). Each prints pods_per_s_<scenario> (pods /
 * time from the first create to the last bind seen), p99_ms_<scenario>
 * (per pod, create queued in the client to bind seen), rss_mb_<scenario>
 * (the skiffd process's VmHWM, its peak resident set: API server, store
 * and scheduler together) and cpu_us_per_pod_<scenario> (skiffd's CPU
 * time over the pods: on a shared machine the rate follows the CPU share
 * skiffd gets, this does much less). With every pod created at once
 * the p99 is mostly queueing; for n5000 it is measured afterwards
 * instead, on a fifth more pods created at a third of the rate just
 * measured (the bulk figure goes in a comment). --e2e-pods sets the pods per scenario (default
 * 10,000; --quick 1000), --only runs one scenario, --no-fsync runs
 * skiffd with store.fsync=false, --keep keeps the data dirs and logs.
 * skiffd is found next to this program (../bin/skiffd) or given with
 * --skiffd PATH. */
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

#define E2E_CLIENTS 16 /* pod and node creates over this many connections */

/* One sized run: a fresh skiffd, nodes Node objects, pods pods of kind. */
struct scenario {
    const char *name; /* result line suffix */
    int nodes, pods;
    enum kind kind;
    bool paced; /* then measure latency at a sustainable rate */
};

struct e2e {
    struct sk_loop *loop;
    struct api_aclient *c, *creators[E2E_CLIENTS];
    int pending; /* responses awaited */
    int errors;
    int npods, nbound;
    int64_t *sent_ns, *lat_ns; /* per pod; lat -1 until bound */
    int64_t t_end;
};

/* What one scenario measured. */
struct e2e_out {
    double rate;        /* pods bound per second */
    double p99_ms;      /* -1 when not every pod was bound */
    double p99_bulk_ms; /* the same over the bulk pods (mostly queueing) */
    int paced;          /* pods created paced, 0 for none */
    double paced_rate;  /* at this rate */
    long hwm_kb, rss_kb;
    double cpu_s; /* skiffd's CPU time while the pods were created and bound */
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

/* Run the loop until *a == want or ms pass; returns whether it did. */
static bool
run_until(struct e2e *e, const int *a, int want, int ms)
{
    int64_t end = sk_clock_mono_ms() + ms;

    while (*a != want && sk_clock_mono_ms() < end)
        sk_loop_run_once(e->loop, 50, NULL);
    return *a == want;
}

/* The controllers stay off: these nodes have no agent to renew their
 * leases, so the node lifecycle controller would taint them all
 * unreachable after node-grace (kube-scheduler's scheduler_perf runs
 * without a controller manager for the same reason). */
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
              "controllers.enabled=false", "--set",
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
        api_aclient_create(e->creators[i % E2E_CLIENTS], n, on_resp, e);
        json_decref(n);
    }
    if (!run_until(e, &e->pending, zero, 120000) || e->errors)
        die("e2e: creating nodes failed", NULL);
}

static void
create_pod(struct e2e *e, int i, enum kind kind)
{
    json_t *p = as_object(make_pod(i, kind), "Pod");

    json_object_set_new(json_object_get(p, "metadata"), "namespace", json_string("default"));
    e->sent_ns[i] = sk_clock_mono_ns();
    e->pending++;
    api_aclient_create(e->creators[i % E2E_CLIENTS], p, on_resp, e);
    json_decref(p);
}

/* Create pods first..first+n-1, all at once (rate 0) or rate per
 * second, and wait until all are bound; fills e->lat_ns and returns
 * pods bound per second. The watch (e->c) runs already. */
static double
e2e_pods(struct e2e *e, int first, int n, enum kind kind, double rate)
{
    int64_t t0 = sk_clock_mono_ns();
    int done = first + n;

    e->npods = done;
    for (int i = first; i < done;) {
        int due =
            rate > 0 ? first + (int)((double)(sk_clock_mono_ns() - t0) / 1e9 * rate) + 1 : done;

        for (; i < done && i < due; i++)
            create_pod(e, i, kind);
        if (i < done)
            sk_loop_run_once(e->loop, 2, NULL);
    }
    if (!run_until(e, &e->nbound, done, 600000))
        fprintf(stderr, "bench sched: e2e: only %d of %d pods bound\n", e->nbound, done);
    return (e->nbound - first) /
           ((double)((e->nbound == done ? e->t_end : sk_clock_mono_ns()) - t0) / 1e9);
}

/* The p99 of lat_ns[first..first+n-1], -1 unless every pod was bound. */
static double
p99_ms(struct e2e *e, int first, int n)
{
    if (e->nbound < first + n)
        return -1;
    qsort(e->lat_ns + first, (size_t)n, sizeof(int64_t), cmp_i64);
    return (double)e->lat_ns[first + n * 99 / 100] / 1e6;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* CPU seconds (user + system) pid has used so far, 0 when unknown. */
static double
read_cpu(pid_t pid)
{
    char path[64], buf[1024], *p;
    unsigned long long ut = 0, st = 0;
    size_t n;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "re");
    if (!f)
        return 0;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* After "pid (comm)": state is field 3, utime 14, stime 15. */
    p = strrchr(buf, ')');
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* VmHWM (peak resident set) and VmRSS of pid in kB, 0 when unknown. */
static void
read_rss(pid_t pid, long *hwm_kb, long *rss_kb)
{
    char path[64], line[256];
    FILE *f;

    *hwm_kb = *rss_kb = 0;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "re");
    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "VmHWM: %ld", hwm_kb) == 1)
            continue;
        sscanf(line, "VmRSS: %ld", rss_kb);
    }
    fclose(f);
}

static void
e2e_clients(struct e2e *e, const char *sock)
{
    struct api_aclient_config cc = {.server = sock, .backoff_max_ms = 200};
    struct sk_err err;

    if (sk_loop_new(&e->loop, &err) < 0 || api_aclient_new(e->loop, &cc, &e->c, &err) < 0)
        die("e2e client", &err);
    for (int i = 0; i < E2E_CLIENTS; i++)
        if (api_aclient_new(e->loop, &cc, &e->creators[i], &err) < 0)
            die("e2e client", &err);
}

static void
run_e2e(const char *skiffd, const struct scenario *sc, bool fsync, bool keep, struct e2e_out *out)
{
    char dir[] = "/tmp/skiff-bench-sched.XXXXXX", sock[512];
    struct api_watch_opts wo = {.resource = "pods", .ns = "default"};
    struct e2e e = {.npods = sc->pods};
    int total = sc->pods + (sc->paced ? sc->pods / 5 : 0);
    struct api_awatch *w;
    pid_t pid;
    int status;

    if (!mkdtemp(dir))
        die("mkdtemp", NULL);
    snprintf(sock, sizeof(sock), "%s/api.sock", dir);
    pid = spawn_skiffd(skiffd, dir, sock, fsync);
    e2e_clients(&e, sock);
    e.sent_ns = calloc((size_t)total, sizeof(int64_t));
    e.lat_ns = malloc((size_t)total * sizeof(int64_t));
    for (int i = 0; i < total; i++)
        e.lat_ns[i] = -1;
    e2e_setup(&e, sc->nodes);
    w = api_aclient_watch(e.c, &wo, on_pod_event, &e);
    for (int tries = 0; !api_awatch_active(w) && tries < 200; tries++)
        sk_loop_run_once(e.loop, 50, NULL);
    out->cpu_s = read_cpu(pid);
    out->rate = e2e_pods(&e, 0, sc->pods, sc->kind, 0);
    out->cpu_s = read_cpu(pid) - out->cpu_s;
    out->p99_bulk_ms = out->p99_ms = p99_ms(&e, 0, sc->pods);
    out->paced = total - sc->pods;
    if (out->paced && out->p99_ms >= 0) {
        /* Per-pod latency means something only below saturation: a
         * fifth more pods at a third of the rate just measured. */
        out->paced_rate = out->rate / 3;
        e2e_pods(&e, sc->pods, out->paced, sc->kind, out->paced_rate);
        out->p99_ms = p99_ms(&e, sc->pods, out->paced);
    }
    read_rss(pid, &out->hwm_kb, &out->rss_kb);
    api_awatch_cancel(w);
    api_aclient_free(e.c);
    for (int i = 0; i < E2E_CLIENTS; i++)
        api_aclient_free(e.creators[i]);
    sk_loop_free(e.loop);
    kill(pid, SIGTERM);
    waitpid(pid, &status, 0);
    if (keep)
        fprintf(stderr, "bench sched: %s: kept %s\n", sc->name, dir);
    else
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(e.sent_ns);
    free(e.lat_ns);
}

static void
print_e2e(const struct scenario *sc, const struct e2e_out *o)
{
    printf("# %s: %d nodes, %d pods%s; skiffd VmHWM %.0f MB, VmRSS %.0f MB at the end\n", sc->name,
           sc->nodes, sc->pods,
           sc->kind == ANTI     ? " with anti-affinity"
           : sc->kind == SPREAD ? " with spread constraints"
                                : "",
           o->hwm_kb / 1024.0, o->rss_kb / 1024.0);
    printf("result sched pods_per_s_%s %.0f pods/s\n", sc->name, o->rate);
    if (o->paced)
        printf("# p99 below: %d more pods created at %.0f pods/s, create sent to bind seen; "
               "over the bulk pods (queueing) it was %.1f ms\n",
               o->paced, o->paced_rate, o->p99_bulk_ms);
    if (o->p99_ms >= 0)
        printf("result sched p99_ms_%s %.1f ms\n", sc->name, o->p99_ms);
    printf("result sched rss_mb_%s %.0f MB\n", sc->name, o->hwm_kb / 1024.0);
    printf("result sched cpu_us_per_pod_%s %.0f us\n", sc->name, o->cpu_s * 1e6 / sc->pods);
    fflush(stdout);
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

struct opts {
    int nodes, pods, e2e_pods;
    bool core, e2e, fsync, big, keep;
    const char *only;
    char *skiffd;
};

static void
usage(void)
{
    fprintf(stderr, "usage: bench/sched [--quick] [--nodes N] [--pods M] [--e2e-pods M] "
                    "[--skiffd PATH] [--no-core] [--no-e2e] [--no-fsync] [--big] "
                    "[--only SCENARIO] [--keep]\n");
    exit(2);
}

static void
parse_opts(int argc, char **argv, struct opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(a, "--quick") == 0) {
            o->nodes = 100;
            o->pods = 1000;
            o->e2e_pods = 1000;
        } else if (strcmp(a, "--nodes") == 0 && v) {
            o->nodes = atoi(argv[++i]);
        } else if (strcmp(a, "--pods") == 0 && v) {
            o->pods = atoi(argv[++i]);
        } else if (strcmp(a, "--e2e-pods") == 0 && v) {
            o->e2e_pods = atoi(argv[++i]);
        } else if (strcmp(a, "--skiffd") == 0 && v) {
            free(o->skiffd);
            o->skiffd = strdup(argv[++i]);
        } else if (strcmp(a, "--only") == 0 && v) {
            o->only = argv[++i];
        } else if (strcmp(a, "--no-fsync") == 0) {
            o->fsync = false;
        } else if (strcmp(a, "--no-core") == 0) {
            o->core = false;
        } else if (strcmp(a, "--no-e2e") == 0) {
            o->e2e = false;
        } else if (strcmp(a, "--big") == 0) {
            o->big = true;
        } else if (strcmp(a, "--keep") == 0) {
            o->keep = true;
        } else {
            usage();
        }
    }
    if (o->nodes < 1 || o->pods < 1 || o->e2e_pods < 1) {
        fprintf(stderr, "bench sched: --nodes and --pods must be positive\n");
        exit(2);
    }
}

int
main(int argc, char **argv)
{
    struct opts o = {.nodes = 1000,
                     .pods = 10000,
                     .e2e_pods = 10000,
                     .core = true,
                     .e2e = true,
                     .fsync = true,
                     .skiffd = default_skiffd(argv[0])};
    struct scenario sc[6];
    struct e2e_out out;
    size_t n = 0;

    parse_opts(argc, argv, &o);
    sc[n++] = (struct scenario){"n100", 100, o.e2e_pods, PLAIN, false};
    sc[n++] = (struct scenario){"n1000", 1000, o.e2e_pods, PLAIN, false};
    sc[n++] = (struct scenario){"n5000", 5000, o.e2e_pods, PLAIN, true};
    sc[n++] = (struct scenario){"n5000_antiaffinity", 5000, o.e2e_pods, ANTI, false};
    sc[n++] = (struct scenario){"n5000_spread", 5000, o.e2e_pods, SPREAD, false};
    if (o.big)
        sc[n++] = (struct scenario){"n5000_50k", 5000, 5 * o.e2e_pods, PLAIN, false};
    if (o.core) {
        printf("# core: %d nodes, %d pods\n", o.nodes, o.pods);
        printf("result sched pods_per_s %.0f pods/s\n", run(o.nodes, o.pods, PLAIN));
        printf("result sched pods_per_s_antiaffinity %.0f pods/s\n", run(o.nodes, o.pods, ANTI));
        printf("result sched pods_per_s_spread %.0f pods/s\n", run(o.nodes, o.pods, SPREAD));
        fflush(stdout);
    }
    if (o.e2e && access(o.skiffd, X_OK) != 0)
        fprintf(stderr, "bench sched: no skiffd at '%s': end-to-end figures skipped\n", o.skiffd);
    else if (o.e2e) {
        double load[3] = {0, 0, 0};

        getloadavg(load, 3);
        printf("# e2e through skiffd, store.fsync=%s, controllers off; load average %.1f\n"
               "# pods %d\n",
               o.fsync ? "true" : "false", load[0], o.e2e_pods);
        for (size_t i = 0; i < n; i++) {
            if (o.only && strcmp(o.only, sc[i].name) != 0)
                continue;
            run_e2e(o.skiffd, &sc[i], o.fsync, o.keep, &out);
            print_e2e(&sc[i], &out);
        }
    }
    free(o.skiffd);
    return 0;
}
