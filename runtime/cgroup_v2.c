/* cgroup v2 limits: memory.max, memory.swap.max, cpu.max, cpu.weight,
 * pids.max, for the controllers resolved to the v2 tree. */
#include "runtime/rt_int.h"

#include "lib/log.h"

#include <stdio.h>

/* OCI cpu.shares (2..262144, default 1024) to cpu.weight (1..10000),
 * the conversion runc and crun use. */
static unsigned long long
shares_to_weight(long long shares)
{
    if (shares <= 2)
        return 1;
    if (shares >= 262144)
        return 10000;
    return 1 + ((unsigned long long)(shares - 2) * 9999) / 262142;
}

int
rt_cgv2_apply(const struct rt_cgroup *cg, const struct rt_resources *r, struct sk_err *err)
{
    char v[64];

    if (cg->v2[RT_CG_MEMORY] && r->mem_limit > 0) {
        const char *m = cg->path[RT_CG_MEMORY];

        snprintf(v, sizeof(v), "%lld", r->mem_limit);
        if (rt_cg_write(m, "memory.max", v, err) < 0)
            return -1;
        snprintf(v, sizeof(v), "%lld", r->mem_swap > r->mem_limit ? r->mem_swap - r->mem_limit : 0);
        if (rt_cg_write(m, "memory.swap.max", v, err) < 0)
            return -1;
        sk_debug("runtime", "memory limit %lld enforced by cgroup v2", r->mem_limit);
    }
    if (cg->v2[RT_CG_CPU]) {
        const char *c = cg->path[RT_CG_CPU];

        if (r->cpu_quota > 0 || r->cpu_period > 0) {
            if (r->cpu_quota > 0)
                snprintf(v, sizeof(v), "%lld %lld", r->cpu_quota,
                         r->cpu_period > 0 ? r->cpu_period : 100000);
            else
                snprintf(v, sizeof(v), "max %lld", r->cpu_period);
            if (rt_cg_write(c, "cpu.max", v, err) < 0)
                return -1;
        }
        if (r->cpu_shares > 0) {
            snprintf(v, sizeof(v), "%llu", shares_to_weight(r->cpu_shares));
            if (rt_cg_write(c, "cpu.weight", v, err) < 0)
                return -1;
        }
        sk_debug("runtime", "cpu limits enforced by cgroup v2");
    }
    if (cg->v2[RT_CG_PIDS] && r->pids_limit > 0) {
        snprintf(v, sizeof(v), "%lld", r->pids_limit);
        if (rt_cg_write(cg->path[RT_CG_PIDS], "pids.max", v, err) < 0)
            return -1;
        sk_debug("runtime", "pids limit %lld enforced by cgroup v2", r->pids_limit);
    }
    return 0;
}
