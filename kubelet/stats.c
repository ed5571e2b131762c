/* kubelet/stats.c: CPU and memory of the node, its pods and their
 * containers, kept for `skiff top` and the metrics API to come.
 *
 * Every KL_STATS_PERIOD_MS the agent samples each running container's
 * cgroups (rt_container_stats: cpu.stat usage_usec of the unified
 * hierarchy, which every cgroup v2 has, or v1 cpuacct.usage; memory
 * from whichever hierarchy holds the container's memory controller,
 * none when that controller is not set up for it) and the node
 * (/proc/stat, /proc/meminfo). Two samples are kept per container: the
 * rate usageNanoCores is their difference over the time between them,
 * as cAdvisor computes it. A `stats` request whose newest sample is
 * older than a second samples again first, so an answer is never more
 * than a second stale and an idle agent does no work between periods.
 *
 * The answer (endpoint.c serves it: `ok 1 stats` and one JSON line) is
 * shaped like the kubelet's /stats/summary:
 *
 *   {"node": {"nodeName", "cpu": {"time", "usageNanoCores",
 *             "usageCoreNanoSeconds"}, "memory": {"time",
 *             "availableBytes", "usageBytes", "workingSetBytes"}},
 *    "pods": [{"podRef": {"name", "namespace", "uid"}, "startTime",
 *              "cpu": {...}, "memory": {...},      sums of the containers
 *              "containers": [{"name", "startTime", "cpu", "memory"}]}]}
 *
 * usageNanoCores is absent until two samples exist. A container's
 * usageBytes is its memory cgroup's usage and workingSetBytes that less
 * the inactive file pages, as Kubernetes reports them; a container
 * without a memory cgroup reports the sum of its processes' RSS as
 * both. */
#include "kubelet/agent_int.h"

#include "lib/clock.h"
#include "lib/log.h"
#include "lib/loop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STATS_FRESH_NS 1000000000LL

static void
shift(struct kl_ctr_sample s[2], int64_t now, uint64_t cpu, uint64_t mem, uint64_t ws)
{
    s[0] = s[1];
    s[1].at_ns = now;
    s[1].cpu_ns = cpu;
    s[1].mem_bytes = mem;
    s[1].ws_bytes = ws;
}

static void
sample_node(struct kl_agent *a, int64_t now)
{
    unsigned long long v[8] = {0}, total = 0, kb, mem_total = 0, mem_avail = 0;
    long hz = sysconf(_SC_CLK_TCK);
    char line[256];
    FILE *f;

    a->node_stats[0] = a->node_stats[1];
    a->node_stats[1].at_ns = now;
    if ((f = fopen("/proc/stat", "re"))) {
        if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7]) == 8) {
            for (int i = 0; i < 8; i++)
                total += i == 3 || i == 4 ? 0 : v[i]; /* not idle, not iowait */
        }
        fclose(f);
    }
    a->node_stats[1].cpu_ns = hz > 0 ? total * (1000000000ULL / (unsigned long long)hz) : 0;
    if ((f = fopen("/proc/meminfo", "re"))) {
        while (fgets(line, sizeof(line), f)) {
            if (sscanf(line, "MemTotal: %llu kB", &kb) == 1)
                mem_total = kb * 1024;
            else if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
                mem_avail = kb * 1024;
        }
        fclose(f);
    }
    a->node_stats[1].mem_used = mem_total > mem_avail ? mem_total - mem_avail : 0;
    a->node_stats[1].mem_avail = mem_avail;
}

/* Without a memory cgroup of its own (no limit set, on a host whose
 * memory controller is in a v1 hierarchy) a container's memory is the
 * sum of its processes' resident sets: a few /proc reads. */
static uint64_t
rss_of(struct kl_agent *a, const char *id)
{
    unsigned long long size, resident;
    uint64_t sum = 0, page = (uint64_t)sysconf(_SC_PAGESIZE);
    struct sk_err err;
    pid_t *pids = NULL;
    size_t n = 0;
    char path[64];
    FILE *f;

    sk_err_init(&err);
    if (rt_container_pids(&a->rt, id, &pids, &n, &err) < 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        sk_snprintf(path, sizeof(path), "/proc/%d/statm", (int)pids[i]);
        if (!(f = fopen(path, "re")))
            continue;
        if (fscanf(f, "%llu %llu", &size, &resident) == 2)
            sum += resident * page;
        fclose(f);
    }
    free(pids);
    return sum;
}

static void
sample_all(struct kl_agent *a)
{
    int64_t now = sk_clock_real_ns();
    struct rt_stats st;
    struct sk_err err;

    sample_node(a, now);
    for (size_t i = 0; i < a->npods; i++) {
        struct kl_apod *p = a->pods[i];

        for (size_t j = 0; j < p->nctrs; j++) {
            struct kl_actr *c = &p->ctrs[j];

            if (!c->id[0] || c->state != KL_CTR_RUNNING)
                continue;
            sk_err_init(&err);
            if (rt_container_stats(&a->rt, c->id, &st, &err) < 0)
                continue;
            if (st.mem_current) {
                /* Kubernetes' working set: the usage less the inactive
                 * file pages (page cache the kernel reclaims first) */
                shift(c->stats, now, st.cpu_usage_ns, st.mem_current,
                      st.mem_inactive_file < st.mem_current ? st.mem_current - st.mem_inactive_file
                                                            : 0);
            } else {
                uint64_t rss = rss_of(a, c->id);
                shift(c->stats, now, st.cpu_usage_ns, rss, rss);
            }
        }
    }
}

static void
on_stats_timer(struct sk_loop *loop, void *arg)
{
    struct kl_agent *a = arg;

    a->stats_timer = 0;
    sample_all(a);
    a->stats_timer = sk_loop_timer_add(loop, KL_STATS_PERIOD_MS, on_stats_timer, a);
}

void
kl_stats_start(struct kl_agent *a)
{
    if (!a->stats_timer)
        a->stats_timer = sk_loop_timer_add(a->loop, KL_STATS_PERIOD_MS, on_stats_timer, a);
}

void
kl_stats_stop(struct kl_agent *a)
{
    if (a->stats_timer)
        sk_loop_timer_cancel(a->loop, a->stats_timer);
    a->stats_timer = 0;
}

static void
rfc3339(int64_t ns, char *out, size_t outsz)
{
    sk_clock_rfc3339(ns, 0, out, outsz);
}

/* "cpu": {...} of two samples (s[1] the newest). */
static json_t *
cpu_json(int64_t at0, uint64_t cpu0, int64_t at1, uint64_t cpu1)
{
    json_t *o = json_object();
    char t[40];

    rfc3339(at1, t, sizeof(t));
    json_object_set_new(o, "time", json_string(t));
    if (at0 > 0 && at1 > at0 && cpu1 >= cpu0)
        json_object_set_new(
            o, "usageNanoCores",
            json_integer((json_int_t)((double)(cpu1 - cpu0) * 1e9 / (double)(at1 - at0))));
    json_object_set_new(o, "usageCoreNanoSeconds", json_integer((json_int_t)cpu1));
    return o;
}

static json_t *
mem_json(int64_t at, uint64_t used, uint64_t ws, uint64_t avail, bool has_avail)
{
    json_t *o = json_object();
    char t[40];

    rfc3339(at, t, sizeof(t));
    json_object_set_new(o, "time", json_string(t));
    if (has_avail)
        json_object_set_new(o, "availableBytes", json_integer((json_int_t)avail));
    json_object_set_new(o, "usageBytes", json_integer((json_int_t)used));
    json_object_set_new(o, "workingSetBytes", json_integer((json_int_t)ws));
    return o;
}

/* One pod: its containers with a sample, the sums; NULL when none. */
static json_t *
pod_json(const struct kl_apod *p)
{
    struct kl_ctr_sample sum[2] = {{0}};
    json_t *ctrs = json_array(), *o, *ref;
    bool rate = true;

    for (size_t j = 0; j < p->nctrs; j++) {
        const struct kl_actr *c = &p->ctrs[j];
        const struct kl_ctr_sample *s = c->stats;

        if (!c->id[0] || c->state != KL_CTR_RUNNING || !s[1].at_ns)
            continue;
        o = json_object();
        json_object_set_new(o, "name", json_string(c->name));
        if (c->started_at[0])
            json_object_set_new(o, "startTime", json_string(c->started_at));
        json_object_set_new(o, "cpu", cpu_json(s[0].at_ns, s[0].cpu_ns, s[1].at_ns, s[1].cpu_ns));
        json_object_set_new(o, "memory",
                            mem_json(s[1].at_ns, s[1].mem_bytes, s[1].ws_bytes, 0, false));
        json_array_append_new(ctrs, o);
        rate = rate && s[0].at_ns;
        for (int k = 0; k < 2; k++) {
            sum[k].at_ns = s[k].at_ns > sum[k].at_ns ? s[k].at_ns : sum[k].at_ns;
            sum[k].cpu_ns += s[k].cpu_ns;
        }
        sum[1].mem_bytes += s[1].mem_bytes;
        sum[1].ws_bytes += s[1].ws_bytes;
    }
    if (json_array_size(ctrs) == 0) {
        json_decref(ctrs);
        return NULL;
    }
    o = json_object();
    ref = json_object();
    json_object_set_new(ref, "name", json_string(p->name));
    json_object_set_new(ref, "namespace", json_string(p->ns));
    json_object_set_new(ref, "uid", json_string(p->uid));
    json_object_set_new(o, "podRef", ref);
    if (p->start_time[0])
        json_object_set_new(o, "startTime", json_string(p->start_time));
    json_object_set_new(o, "containers", ctrs);
    json_object_set_new(
        o, "cpu", cpu_json(rate ? sum[0].at_ns : 0, sum[0].cpu_ns, sum[1].at_ns, sum[1].cpu_ns));
    json_object_set_new(o, "memory",
                        mem_json(sum[1].at_ns, sum[1].mem_bytes, sum[1].ws_bytes, 0, false));
    return o;
}

static json_t *
node_json(const struct kl_agent *a)
{
    const struct kl_node_sample *s = a->node_stats;
    json_t *o = json_object();

    json_object_set_new(o, "nodeName", json_string(a->node_name));
    json_object_set_new(o, "cpu", cpu_json(s[0].at_ns, s[0].cpu_ns, s[1].at_ns, s[1].cpu_ns));
    json_object_set_new(o, "memory",
                        mem_json(s[1].at_ns, s[1].mem_used, s[1].mem_used, s[1].mem_avail, true));
    return o;
}

void
kl_stats_reply(struct kl_agent *a, struct sk_buf *out)
{
    json_t *root = json_object(), *pods = json_array(), *pj;
    char *text;

    if (sk_clock_real_ns() - a->node_stats[1].at_ns > STATS_FRESH_NS)
        sample_all(a);
    json_object_set_new(root, "node", node_json(a));
    for (size_t i = 0; i < a->npods; i++)
        if (!a->pods[i]->done && (pj = pod_json(a->pods[i])))
            json_array_append_new(pods, pj);
    json_object_set_new(root, "pods", pods);
    text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (!text)
        SK_BUG("out of memory");
    sk_buf_printf(out, "ok 1 stats\n%s\n", text);
    free(text);
}
