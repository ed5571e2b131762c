/* bench/ctrl: the controller manager end to end: a real `skiffd server`
 * (single member, fsync off, on a temporary socket and data directory,
 * controllers off) and `skiffd controllers` on its socket, the
 * controller manager as a process of its own, and this program is a fake
 * cluster acting as scheduler and node agents over its own client:
 * every new pod is bound round-robin to one of 10 fake nodes, every
 * bound pod is reported Running and Ready with an IP, and every pod
 * deleted gracefully is deleted again with grace 0 (its "containers"
 * stopped).
 *
 *     bench/ctrl [--quick] [--replicas N]
 *
 * Measures the time from creating a Deployment of N replicas (default
 * 1000, --quick 100) until all N pods are bound and the Deployment
 * reports N available, then from changing its image until the rolling
 * update (25% surge and unavailable) has finished. Prints
 * "result ctrl deploy1000_s", "result ctrl rollout1000_s" (the names
 * keep 1000 whatever N is; a "# replicas" line says N), "result ctrl
 * cpu_s" and "result ctrl rss_mb": CPU time and peak RSS of the
 * controller process, and "result ctrl server_cpu_s" and "result ctrl
 * server_rss_mb": the server's (store and API). --in-process runs the
 * controllers inside the server as before (the two rss figures are then
 * the same process). skiffd is $SKIFF_BUILD/bin/skiffd, else found next
 * to this program (../bin/skiffd). Exits 1 when a phase does not finish
 * within 120 s. */
#include "api/aclient.h"
#include "api/informer.h"
#include "lib/clock.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/loop.h"

#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NODES     10
#define PHASE_MAX 120.0

struct bench {
    struct sk_loop *loop;
    pid_t skiffd;
    pid_t ctrl; /* skiffd controllers; 0 with --in-process */
    int in_process;
    struct api_aclient *c;
    struct api_informer *pods;
    char sock[256];
    long replicas;
    int phase; /* 0 waiting for the server, 1 deploying, 2 rolling, 3 done */
    double t0, deploy_s, rollout_s;
    int failed;
};

static double
now_s(void)
{
    return (double)sk_clock_mono_ns() / 1e9;
}

static void
die(const char *what, const struct sk_err *err)
{
    fprintf(stderr, "bench ctrl: %s: %s\n", what, err ? err->msg : "failed");
    exit(1);
}

static json_t *
deployment(long replicas, const char *image)
{
    return json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:I, s:{s:{s:s}}, s:{s:{s:{s:s}}, "
                     "s:{s:[{s:s, s:s}]}}}}",
                     "apiVersion", "apps/v1", "kind", "Deployment", "metadata", "name", "big",
                     "namespace", "default", "spec", "replicas", (json_int_t)replicas, "selector",
                     "matchLabels", "app", "big", "template", "metadata", "labels", "app", "big",
                     "spec", "containers", "name", "c", "image", image);
}

/* ---- the fake cluster ---- */

static void
ready(struct bench *b, const json_t *pod)
{
    char ts[64], ip[32];
    unsigned h = 0;
    const char *name = json_string_value(sk_json_get(pod, "metadata.name"));
    json_t *patch;

    for (const char *p = name; *p; p++)
        h = h * 31 + (unsigned char)*p;
    snprintf(ip, sizeof(ip), "10.%u.%u.%u", 1 + h % 250, (h >> 8) % 250, 1 + (h >> 16) % 250);
    sk_clock_rfc3339(sk_clock_real_ns(), 0, ts, sizeof(ts));
    patch =
        json_pack("{s:{s:s, s:s, s:[{s:s, s:s, s:s}]}}", "status", "phase", "Running", "podIP", ip,
                  "conditions", "type", "Ready", "status", "True", "lastTransitionTime", ts);
    api_aclient_patch(b->c, "pods", "default", name, "status", patch, NULL, NULL);
    json_decref(patch);
}

static void
pod_changed(struct bench *b, const json_t *pod)
{
    const char *name = json_string_value(sk_json_get(pod, "metadata.name"));
    const char *node = json_string_value(sk_json_get(pod, "spec.nodeName"));
    char n[16];

    if (sk_json_get(pod, "metadata.deletionTimestamp")) {
        struct api_delete_args a = {.grace = 0};

        if (node)
            api_aclient_delete(b->c, "pods", "default", name, &a, NULL, NULL);
        return;
    }
    if (!node) {
        unsigned h = 0;

        for (const char *p = name; *p; p++)
            h = h * 31 + (unsigned char)*p;
        snprintf(n, sizeof(n), "n%u", h % NODES);
        api_aclient_bind(b->c, "default", name, n,
                         json_string_value(sk_json_get(pod, "metadata.uid")), NULL, NULL);
        return;
    }
    if (!sk_json_get(pod, "status.podIP"))
        ready(b, pod);
}

static void
on_add(struct api_informer *inf, const json_t *obj, void *arg)
{
    (void)inf;
    pod_changed(arg, obj);
}

static void
on_update(struct api_informer *inf, const json_t *old, const json_t *obj, void *arg)
{
    (void)inf;
    if (old != obj)
        pod_changed(arg, obj);
}

static const struct api_informer_handlers pod_handlers = {on_add, on_update, NULL, NULL};

/* ---- phases ---- */

static int
count_bound(const json_t *pod, void *arg)
{
    long *n = arg;

    if (sk_json_get(pod, "spec.nodeName") && !sk_json_get(pod, "metadata.deletionTimestamp"))
        (*n)++;
    return 0;
}

static void check(struct sk_loop *loop, void *arg);

static void
got_deploy(struct api_aclient *c, int rc, const struct api_resp *resp, const struct sk_err *err,
           void *arg)
{
    struct bench *b = arg;
    json_t *d = rc == 0 ? api_resp_object(resp, 0, NULL) : NULL;
    json_t *st = sk_json_get(d, "status");
    long bound = 0, n = b->replicas;
    int done;

    (void)c;
    (void)err;
    api_informer_foreach(b->pods, count_bound, &bound);
    done = d && bound == n && json_integer_value(json_object_get(st, "replicas")) == n &&
           json_integer_value(json_object_get(st, "updatedReplicas")) == n &&
           json_integer_value(json_object_get(st, "availableReplicas")) == n &&
           json_equal(json_object_get(st, "observedGeneration"),
                      sk_json_get(d, "metadata.generation"));
    json_decref(d);
    if (now_s() - b->t0 > PHASE_MAX) {
        fprintf(stderr, "bench ctrl: phase %d did not finish in %.0f s (%ld bound)\n", b->phase,
                PHASE_MAX, bound);
        b->failed = 1;
        sk_loop_stop(b->loop);
        return;
    }
    if (done && b->phase == 1) {
        b->deploy_s = now_s() - b->t0;
        printf("# deployed: %ld pods bound and available in %.3f s\n", n, b->deploy_s);
        b->phase = 2;
        b->t0 = now_s();
        json_t *p = json_pack("{s:{s:{s:{s:[{s:s, s:s}]}}}}", "spec", "template", "spec",
                              "containers", "name", "c", "image", "nginx:2");
        api_aclient_patch(b->c, "deployments", "default", "big", NULL, p, NULL, NULL);
        json_decref(p);
    } else if (done && b->phase == 2 && now_s() - b->t0 > 0.05) {
        b->rollout_s = now_s() - b->t0;
        printf("# rolled out in %.3f s\n", b->rollout_s);
        b->phase = 3;
        sk_loop_stop(b->loop);
        return;
    }
    sk_loop_timer_add(b->loop, 20, check, b);
}

static void
check(struct sk_loop *loop, void *arg)
{
    struct bench *b = arg;

    (void)loop;
    api_aclient_get(b->c, "deployments", "default", "big", got_deploy, b);
}

static void create_deployment(struct sk_loop *loop, void *arg);

static void
created(struct api_aclient *c, int rc, const struct api_resp *resp, const struct sk_err *err,
        void *arg)
{
    struct bench *b = arg;

    (void)c;
    (void)resp;
    if (rc < 0) {
        /* the server is still starting (no socket, no leader yet) */
        if (now_s() - b->t0 > 30)
            die("create deployment", err);
        sk_loop_timer_add(b->loop, 50, create_deployment, b);
        return;
    }
    b->phase = 1;
    b->t0 = now_s();
    sk_loop_timer_add(b->loop, 20, check, b);
}

static void
create_deployment(struct sk_loop *loop, void *arg)
{
    struct bench *b = arg;
    json_t *d = deployment(b->replicas, "nginx:1");

    (void)loop;
    api_aclient_create(b->c, d, created, b);
    json_decref(d);
}

static void
start(struct bench *b)
{
    struct api_aclient_config acfg = {
        .server = b->sock, .backoff_initial_ms = 20, .backoff_max_ms = 200};
    struct api_informer_config icfg = {.resource = "pods", .ns = "default"};
    struct sk_err err;

    sk_err_init(&err);
    if (api_aclient_new(b->loop, &acfg, &b->c, &err) < 0 ||
        api_informer_new(b->c, &icfg, &b->pods, &err) < 0)
        die("fake cluster", &err);
    api_informer_add_handlers(b->pods, &pod_handlers, b);
    api_informer_start(b->pods);
    b->t0 = now_s();
    create_deployment(b->loop, b);
}

static void
skiffd_path(const char *argv0, char *out, size_t n)
{
    const char *build = getenv("SKIFF_BUILD");
    char self[512];

    if (build && *build) {
        snprintf(out, n, "%s/bin/skiffd", build);
        return;
    }
    snprintf(self, sizeof(self), "%s", argv0);
    snprintf(out, n, "%s/../bin/skiffd", dirname(self));
}

static void
spawn(struct bench *b, const char *skiffd, const char *dir)
{
    char data[300];

    snprintf(b->sock, sizeof(b->sock), "%s/api.sock", dir);
    snprintf(data, sizeof(data), "%s/data", dir);
    b->skiffd = fork();
    if (b->skiffd < 0)
        die("fork", NULL);
    if (b->skiffd == 0) {
        execl(skiffd, "skiffd", "server", "--socket", b->sock, "--listen", "", "--data-dir", data,
              "--set", "server.name=bench", "--set", "store.fsync=false", "--log-level", "error",
              "--set", b->in_process ? "controllers.enabled=true" : "controllers.enabled=false",
              (char *)NULL);
        fprintf(stderr, "bench ctrl: exec '%s': %m\n", skiffd);
        _exit(127);
    }
    if (b->in_process)
        return;
    /* Started once the socket is there (it would retry, but log that). */
    for (int i = 0; i < 3000 && access(b->sock, F_OK) < 0; i++)
        usleep(10000);
    b->ctrl = fork();
    if (b->ctrl < 0)
        die("fork", NULL);
    if (b->ctrl == 0) {
        execl(skiffd, "skiffd", "controllers", "--server", b->sock, "--log-level", "error",
              (char *)NULL);
        fprintf(stderr, "bench ctrl: exec '%s': %m\n", skiffd);
        _exit(127);
    }
}

/* CPU seconds and peak RSS (MB) of pid, from /proc. */
static void
usage_of(pid_t pid, double *cpu_s, double *rss_mb)
{
    char path[64], line[256];
    unsigned long ut = 0, st = 0;
    FILE *f;

    *cpu_s = *rss_mb = -1;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if ((f = fopen(path, "re"))) {
        /* fields 14 and 15; comm (field 2) has no spaces here */
        if (fscanf(f, "%*d %*s %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2)
            *cpu_s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
        fclose(f);
    }
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if ((f = fopen(path, "re"))) {
        while (fgets(line, sizeof(line), f))
            if (!strncmp(line, "VmHWM:", 6))
                *rss_mb = strtod(line + 6, NULL) / 1024.0;
        fclose(f);
    }
}

static void
teardown(struct bench *b, const char *dir)
{
    char cmd[300];

    api_informer_free(b->pods);
    api_aclient_free(b->c);
    sk_loop_free(b->loop);
    if (b->ctrl > 0) {
        /* TERM: it releases the lease (at most 2 s) and exits */
        kill(b->ctrl, SIGTERM);
        waitpid(b->ctrl, NULL, 0);
    }
    if (b->skiffd > 0) {
        kill(b->skiffd, SIGKILL);
        waitpid(b->skiffd, NULL, 0);
    }
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench ctrl: could not remove %s\n", dir);
}

int
main(int argc, char **argv)
{
    struct bench b = {.replicas = 1000};
    char dir[] = "/tmp/skiff-bench-ctrl.XXXXXX", skiffd[600];
    double cpu_s, rss_mb, server_cpu_s, server_rss_mb;
    struct sk_err err;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            b.replicas = 100;
        else if (!strcmp(argv[i], "--in-process"))
            b.in_process = 1;
        else if (!strcmp(argv[i], "--replicas") && i + 1 < argc)
            b.replicas = strtol(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: bench/ctrl [--quick] [--replicas N] [--in-process]\n");
            return 2;
        }
    }
    skiffd_path(argv[0], skiffd, sizeof(skiffd));
    if (b.replicas < 1 || access(skiffd, X_OK) < 0 || !mkdtemp(dir))
        die("setup (skiffd binary, temporary directory)", NULL);
    sk_log_set_level(SK_LOG_ERROR);
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    printf("# replicas %ld, %d fake nodes, %s, controllers %s\n", b.replicas, NODES, skiffd,
           b.in_process ? "in the server" : "in a process of their own");
    sk_err_init(&err);
    if (sk_loop_new(&b.loop, &err) < 0)
        die("loop", &err);
    spawn(&b, skiffd, dir);
    start(&b);
    sk_loop_run(b.loop, &err);
    usage_of(b.skiffd, &server_cpu_s, &server_rss_mb);
    if (b.ctrl > 0)
        usage_of(b.ctrl, &cpu_s, &rss_mb);
    else
        cpu_s = server_cpu_s, rss_mb = server_rss_mb;
    teardown(&b, dir);
    if (b.failed)
        return 1;
    printf("result ctrl deploy1000_s %.3f s\n", b.deploy_s);
    printf("result ctrl rollout1000_s %.3f s\n", b.rollout_s);
    printf("result ctrl cpu_s %.2f s\n", cpu_s);
    printf("result ctrl rss_mb %.1f MB\n", rss_mb);
    printf("result ctrl server_cpu_s %.2f s\n", server_cpu_s);
    printf("result ctrl server_rss_mb %.1f MB\n", server_rss_mb);
    return 0;
}
