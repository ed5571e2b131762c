/* Every process of a container's cgroup, and the v2 freezer: for kill
 * --all, pause, resume and ps (control.c). Apart from cgroup.c, whose
 * code the monitor links: the monitor needs none of this, and every
 * page of its binary counts in its private memory. */
#include "runtime/rt_int.h"

#include "lib/alloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* "frozen 1" in cgroup.events */
static int
events_frozen(const char *text)
{
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, "frozen ", 7) == 0)
            return p[7] == '1';
    return -1;
}

/* Pure: the pids in the text of a cgroup.procs file, one a line.
 * Returns the number parsed, or -EINVAL on anything but digits and
 * newlines (the kernel writes nothing else). */
int
rt_cgroup_parse_procs(const char *text, pid_t **pids, size_t *n)
{
    const char *p = text;

    *pids = NULL;
    *n = 0;
    while (*p) {
        char *end;
        long v;

        if (*p == '\n') {
            p++;
            continue;
        }
        if (*p < '0' || *p > '9')
            goto bad;
        v = strtol(p, &end, 10);
        if (v <= 0 || v > 0x7fffffffL || (*end && *end != '\n'))
            goto bad;
        *pids = sk_reallocarray(*pids, *n + 1, sizeof(pid_t));
        (*pids)[(*n)++] = (pid_t)v;
        p = end;
    }
    return (int)*n;
bad:
    free(*pids);
    *pids = NULL;
    *n = 0;
    return -EINVAL;
}

/* The v2 cgroup holds every process of the container (the init is born
 * there and exec joins it); without one, the first v1 cgroup does. */
static const char *
procs_dir(const struct rt_cgroup *cg)
{
    if (cg->path[RT_CG_UNIFIED])
        return cg->path[RT_CG_UNIFIED];
    for (int c = 0; c < RT_CG_NCTRL; c++)
        if (cg->path[c])
            return cg->path[c];
    return NULL;
}

int
rt_cgroup_pids(const struct rt_cgroup *cg, pid_t **pids, size_t *n, struct sk_err *err)
{
    const char *dir = procs_dir(cg);
    char path[4200], *text = NULL;
    size_t len;
    int rc;

    *pids = NULL;
    *n = 0;
    if (!dir)
        return sk_err_set(err, ENOENT, "the container has no cgroup");
    snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
    if ((rc = rt_read_file(path, &text, &len, err)) < 0)
        return rc;
    rc = 0;
    if (rt_cgroup_parse_procs(text, pids, n) < 0)
        rc = sk_err_set(err, EINVAL, "'%s': not a list of pids", path);
    free(text);
    return rc;
}

/* cgroup.freeze exists in every non-root v2 cgroup (kernel 5.2), with no
 * controller to enable: hybrid hosts have it too. Freezing is
 * asynchronous: cgroup.events says "frozen 1" once every task stopped
 * (bounded wait, ~2 s). */
int
rt_cgroup_freeze(const struct rt_cgroup *cg, int on, struct sk_err *err)
{
    const char *dir = cg->path[RT_CG_UNIFIED];
    char buf[256];

    if (!dir)
        return sk_err_set(err, ENOTSUP, "no cgroup v2 freezer for the container");
    if (rt_cg_write(dir, "cgroup.freeze", on ? "1" : "0", err) < 0)
        return -1;
    for (int i = 0; i < 2000; i++) {
        struct timespec ts = {0, 1000000};

        if (rt_cg_read(dir, "cgroup.events", buf, sizeof(buf)) > 0 &&
            events_frozen(buf) == (on != 0))
            return 0;
        nanosleep(&ts, NULL);
    }
    return sk_err_set(err, ETIMEDOUT, "cgroup '%s': not %s after 2 s", dir,
                      on ? "frozen" : "thawed");
}

int
rt_cgroup_frozen(const struct rt_cgroup *cg)
{
    char buf[8];

    return cg->path[RT_CG_UNIFIED] &&
           rt_cg_read(cg->path[RT_CG_UNIFIED], "cgroup.freeze", buf, sizeof(buf)) > 0 &&
           buf[0] == '1';
}
