/* cgroup v1 limits, for controllers the v2 tree does not have (hybrid
 * hosts): memory.limit_in_bytes (+ memsw), cpu.cfs_*, cpu.shares,
 * pids.max, and the device allow-list. */
#include "runtime/rt_int.h"

#include "lib/log.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

/* Nodes a container may use: the ones dev.c creates plus pts. Anything
 * else (disks...) stays out of reach even with CAP_MKNOD. */
static const char *const allowed_devices[] = {
    "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm",   "c 1:8 rwm", "c 1:9 rwm",
    "c 5:0 rwm", "c 5:2 rwm", "c 136:* rwm", "c *:* m",   "b *:* m",
};

static int
apply_memory(const char *m, const struct rt_resources *r, struct sk_err *err)
{
    char v[64], path[4096];
    long long memsw = r->mem_swap > 0 ? r->mem_swap : r->mem_limit;

    snprintf(v, sizeof(v), "%lld", r->mem_limit);
    if (rt_cg_write(m, "memory.limit_in_bytes", v, err) < 0)
        return -1;
    snprintf(path, sizeof(path), "%s/memory.memsw.limit_in_bytes", m);
    if (access(path, F_OK) == 0) {
        snprintf(v, sizeof(v), "%lld", memsw);
        if (rt_cg_write(m, "memory.memsw.limit_in_bytes", v, err) < 0)
            return -1;
    } else if (r->mem_swap != RT_UNSET && r->mem_swap != r->mem_limit) {
        return sk_err_set(err, ENOTSUP, "memory.swap: swap accounting is off on this host");
    } else {
        sk_warn("runtime", "swap accounting is off: the container may use swap beyond its limit");
    }
    sk_debug("runtime", "memory limit %lld enforced by cgroup v1 '%s'", r->mem_limit, m);
    return 0;
}

static int
apply_cpu(const char *c, const struct rt_resources *r, struct sk_err *err)
{
    char v[64];

    if (r->cpu_period > 0) {
        snprintf(v, sizeof(v), "%lld", r->cpu_period);
        if (rt_cg_write(c, "cpu.cfs_period_us", v, err) < 0)
            return -1;
    }
    if (r->cpu_quota > 0) {
        snprintf(v, sizeof(v), "%lld", r->cpu_quota);
        if (rt_cg_write(c, "cpu.cfs_quota_us", v, err) < 0)
            return -1;
    }
    if (r->cpu_shares > 0) {
        snprintf(v, sizeof(v), "%lld", r->cpu_shares);
        if (rt_cg_write(c, "cpu.shares", v, err) < 0)
            return -1;
    }
    sk_debug("runtime", "cpu limits enforced by cgroup v1 '%s'", c);
    return 0;
}

int
rt_cgv1_apply(const struct rt_cgroup *cg, const struct rt_resources *r, struct sk_err *err)
{
    char v[64];

    if (cg->path[RT_CG_MEMORY] && !cg->v2[RT_CG_MEMORY] && r->mem_limit > 0 &&
        apply_memory(cg->path[RT_CG_MEMORY], r, err) < 0)
        return -1;
    if (cg->path[RT_CG_CPU] && !cg->v2[RT_CG_CPU] &&
        (r->cpu_quota > 0 || r->cpu_period > 0 || r->cpu_shares > 0) &&
        apply_cpu(cg->path[RT_CG_CPU], r, err) < 0)
        return -1;
    if (cg->path[RT_CG_PIDS] && !cg->v2[RT_CG_PIDS] && r->pids_limit > 0) {
        snprintf(v, sizeof(v), "%lld", r->pids_limit);
        if (rt_cg_write(cg->path[RT_CG_PIDS], "pids.max", v, err) < 0)
            return -1;
        sk_debug("runtime", "pids limit %lld enforced by cgroup v1", r->pids_limit);
    }
    if (cg->path[RT_CG_DEVICES]) {
        if (rt_cg_write(cg->path[RT_CG_DEVICES], "devices.deny", "a", err) < 0)
            return -1;
        for (size_t i = 0; i < sizeof(allowed_devices) / sizeof(allowed_devices[0]); i++)
            if (rt_cg_write(cg->path[RT_CG_DEVICES], "devices.allow", allowed_devices[i], err) < 0)
                return -1;
    }
    return 0;
}
