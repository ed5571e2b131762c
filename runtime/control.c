/* Verbs on every process of a container, through its cgroup: kill
 * --all, pause, resume, ps.
 *
 * The v2 cgroup holds every process of the container: the init is born
 * there (CLONE_INTO_CGROUP) and exec joins it before it forks. The
 * freezer is the v2 one (cgroup.freeze, in every non-root cgroup since
 * Linux 5.2, with no controller to enable), so it works on hybrid hosts
 * whose v2 tree has no controllers. Paused is the freezer's state, read
 * back by rt_container_state, never stored. */
#include "runtime/rt_int.h"

#include "lib/alloc.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

/* Load id's state and cgroups; fails unless its status is one of ok
 * (a bit mask of 1 << status). */
static int
load(const struct rt_ctx *ctx, const char *id, unsigned ok, struct rt_state *st,
     struct rt_cgroup *cg, struct sk_err *err)
{
    int rc;

    memset(cg, 0, sizeof(*cg));
    if ((rc = rt_container_state(ctx, id, st, err)) < 0)
        return rc;
    if (!(ok & (1U << st->status))) {
        rc = sk_err_set(err, st->status == RT_STOPPED ? ESRCH : EINVAL, "container '%s' is %s", id,
                        rt_status_name(st->status));
        rt_state_release(st);
        return rc;
    }
    rt_cgroup_from_json(cg, st->cgroup_paths);
    return 0;
}

static int
signal_pids(const struct rt_cgroup *cg, int sig, struct sk_err *err)
{
    pid_t *pids;
    size_t n;
    int rc;

    if ((rc = rt_cgroup_pids(cg, &pids, &n, err)) < 0)
        return rc;
    /* ESRCH: it exited since the list was read (and was reaped). */
    for (size_t i = 0; i < n && rc == 0; i++)
        if (kill(pids[i], sig) < 0 && errno != ESRCH)
            rc = sk_err_sys(err, errno, "kill %d", (int)pids[i]);
    free(pids);
    return rc;
}

int
rt_container_kill_all(const struct rt_ctx *ctx, const char *id, int sig, struct sk_err *err)
{
    const unsigned ok = 1U << RT_CREATED | 1U << RT_RUNNING | 1U << RT_PAUSED | 1U << RT_STOPPED;
    struct rt_cgroup cg;
    struct rt_state st;
    int rc, was_frozen;

    if ((rc = load(ctx, id, ok, &st, &cg, err)) < 0)
        goto out;
    /* cgroup.kill (Linux 5.14) kills atomically, forks included. */
    if (sig == SIGKILL && cg.path[RT_CG_UNIFIED] &&
        rt_cg_write(cg.path[RT_CG_UNIFIED], "cgroup.kill", "1", NULL) == 0)
        goto out_release;
    /* A stopped container's processes outlive its init only without a
     * pid namespace; none left means there is nothing to signal. */
    was_frozen = rt_cgroup_frozen(&cg);
    if (!was_frozen && cg.path[RT_CG_UNIFIED] && (rc = rt_cgroup_freeze(&cg, 1, err)) < 0)
        goto out_release;
    rc = signal_pids(&cg, sig, err);
    if (!was_frozen && cg.path[RT_CG_UNIFIED] && rt_cgroup_freeze(&cg, 0, rc < 0 ? NULL : err) < 0)
        rc = -1;
out_release:
    rt_cgroup_release(&cg);
    rt_state_release(&st);
out:
    if (rc < 0)
        sk_err_wrap(err, "kill --all '%s'", id);
    return rc;
}

static int
set_frozen(const struct rt_ctx *ctx, const char *id, int on, struct sk_err *err)
{
    struct rt_cgroup cg;
    struct rt_state st;
    int rc;

    rc = load(ctx, id, on ? 1U << RT_RUNNING : 1U << RT_PAUSED, &st, &cg, err);
    if (rc < 0)
        goto out;
    rc = rt_cgroup_freeze(&cg, on, err);
    rt_cgroup_release(&cg);
    rt_state_release(&st);
out:
    if (rc < 0)
        sk_err_wrap(err, "%s '%s'", on ? "pause" : "resume", id);
    return rc;
}

int
rt_container_pause(const struct rt_ctx *ctx, const char *id, struct sk_err *err)
{
    return set_frozen(ctx, id, 1, err);
}

int
rt_container_resume(const struct rt_ctx *ctx, const char *id, struct sk_err *err)
{
    return set_frozen(ctx, id, 0, err);
}

int
rt_container_pids(const struct rt_ctx *ctx, const char *id, pid_t **pids, size_t *n,
                  struct sk_err *err)
{
    const unsigned ok = 1U << RT_CREATED | 1U << RT_RUNNING | 1U << RT_PAUSED | 1U << RT_STOPPED;
    struct rt_cgroup cg;
    struct rt_state st;
    int rc;

    *pids = NULL;
    *n = 0;
    if ((rc = load(ctx, id, ok, &st, &cg, err)) < 0)
        return rc;
    rc = rt_cgroup_pids(&cg, pids, n, err);
    rt_cgroup_release(&cg);
    rt_state_release(&st);
    if (rc < 0)
        sk_err_wrap(err, "ps '%s'", id);
    return rc;
}
