/* The container's cgroups, per controller and per hierarchy.
 *
 * v2 first: a controller (memory, cpu, pids) is used in the v2 tree when
 * the caller's own v2 cgroup lists it in cgroup.controllers; otherwise
 * the v1 hierarchy where it is mounted enforces it (hybrid hosts). A v1
 * hierarchy is only joined for a controller with a requested limit (and
 * devices when seccomp is off: the default profile already refuses
 * device nodes), because moving a process into a v1 cgroup costs an RCU
 * grace period (see container.c); in v2 the init is born in its cgroup.
 * The
 * container's cgroup is "<own cgroup>/<cgroup root>/<id>" in every
 * hierarchy used, never directly at a hierarchy's root. A limit that no
 * hierarchy can enforce is an error, never silently dropped. The v2
 * cgroup is created even without controllers: it tracks the processes
 * and gives cgroup.kill and cpu.stat. */
#include "runtime/rt_int.h"

#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RT_CGROUP_DRAIN_MS 10000 /* longest wait for a killed cgroup to empty */

static const char *const ctrl_names[RT_CG_NCTRL] = {"memory", "cpu", "pids", "devices", "unified"};

char *
rt_cgroup_path_join(const char *mount, const char *own, const char *root, const char *name)
{
    struct sk_buf b = SK_BUF_INIT;
    const char *parts[] = {own, root, name};

    sk_buf_puts(&b, mount);
    while (b.len > 1 && b.data[b.len - 1] == '/')
        sk_buf_truncate(&b, b.len - 1);
    for (size_t i = 0; i < 3; i++) {
        const char *p = parts[i];

        while (p && *p) {
            size_t n;

            while (*p == '/')
                p++;
            n = strcspn(p, "/");
            if (n == 0)
                break;
            sk_buf_putc(&b, '/');
            sk_buf_append(&b, p, n);
            p += n;
        }
    }
    return sk_buf_detach(&b, NULL);
}

int
rt_cg_write(const char *dir, const char *file, const char *val, struct sk_err *err)
{
    char path[4096];
    int fd, rc = 0;

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return sk_err_sys(err, errno, "open '%s'", path);
    if (write(fd, val, strlen(val)) < 0)
        rc = sk_err_sys(err, errno, "write '%s' to '%s'", val, path);
    close(fd);
    return rc;
}

int
rt_cg_read(const char *dir, const char *file, char *buf, size_t bufsz)
{
    char path[4096];
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    n = read(fd, buf, bufsz - 1);
    close(fd);
    if (n < 0)
        return -errno;
    buf[n] = '\0';
    return (int)n;
}

static int
has_word(const char *list, const char *word)
{
    size_t n = strlen(word);

    for (const char *p = list; (p = strstr(p, word)); p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || !p[n]))
            return 1;
    return 0;
}

static int
mkdir_p(const char *path, struct sk_err *err)
{
    char *copy;
    int rc = 0;

    /* Usually only the last component is missing. */
    if (mkdir(path, 0755) == 0 || errno == EEXIST)
        return 0;
    copy = sk_strdup(path);
    for (char *p = copy + 1; rc == 0; p++) {
        if (*p != '/' && *p)
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(copy, 0755) < 0 && errno != EEXIST)
            rc = sk_err_sys(err, errno, "mkdir '%s'", copy);
        *p = c;
        if (!c)
            break;
    }
    free(copy);
    return rc;
}

static int
wanted_v1(int c, const struct rt_resources *r, int need_devices)
{
    switch (c) {
    case RT_CG_MEMORY:
        return r->mem_limit > 0 || r->mem_swap > 0;
    case RT_CG_CPU:
        return r->cpu_quota > 0 || r->cpu_period > 0 || r->cpu_shares > 0;
    case RT_CG_PIDS:
        return r->pids_limit > 0;
    default:
        return need_devices;
    }
}

static int
resolve(struct rt_cgroup *cg, const char *cgroot, const char *name, const struct rt_resources *r,
        int need_devices)
{
    const int u = RT_CG_UNIFIED;
    struct rt_cg_where w;
    char ctrls[512] = "";

    rt_cg_where_read(&w);
    if (w.mount[u] && w.own[u]) {
        char *own = rt_cgroup_path_join(w.mount[u], w.own[u], NULL, NULL);

        rt_cg_read(own, "cgroup.controllers", ctrls, sizeof(ctrls));
        free(own);
        cg->path[u] = rt_cgroup_path_join(w.mount[u], w.own[u], cgroot, name);
        cg->v2[u] = 1;
    }
    for (int c = 0; c < u; c++) {
        if (cg->path[u] && c != RT_CG_DEVICES && has_word(ctrls, ctrl_names[c])) {
            cg->path[c] = sk_strdup(cg->path[u]);
            cg->v2[c] = 1;
        } else if (wanted_v1(c, r, need_devices) && w.mount[c] && w.own[c]) {
            cg->path[c] = rt_cgroup_path_join(w.mount[c], w.own[c], cgroot, name);
        }
        sk_debug("runtime", "cgroup controller '%s': %s %s", ctrl_names[c],
                 cg->path[c] ? (cg->v2[c] ? "v2" : "v1") : "unused or unavailable",
                 cg->path[c] ? cg->path[c] : "");
    }
    rt_cg_where_release(&w);
    return 0;
}

/* v2: controllers must be enabled in every ancestor's subtree_control
 * from the caller's own cgroup down to the container's parent. */
static int
enable_v2(const struct rt_cgroup *cg, struct sk_err *err)
{
    char *parent, *grand, val[64] = "";

    for (int c = 0; c < RT_CG_UNIFIED; c++)
        if (cg->v2[c] && c != RT_CG_DEVICES)
            sk_snprintf(val + strlen(val), sizeof(val) - strlen(val), "%s+%s", *val ? " " : "",
                        ctrl_names[c]);
    if (!*val)
        return 0;
    parent = sk_strdup(cg->path[RT_CG_UNIFIED]);
    *strrchr(parent, '/') = '\0';
    grand = sk_strdup(parent);
    *strrchr(grand, '/') = '\0';
    if (rt_cg_write(grand, "cgroup.subtree_control", val, err) < 0 ||
        rt_cg_write(parent, "cgroup.subtree_control", val, err) < 0) {
        free(parent);
        free(grand);
        return -EBUSY;
    }
    free(parent);
    free(grand);
    return 0;
}

static int
check_enforceable(const struct rt_cgroup *cg, const struct rt_resources *r, struct sk_err *err)
{
    if ((r->mem_limit > 0 || r->mem_swap > 0) && !cg->path[RT_CG_MEMORY])
        return sk_err_set(err, ENOTSUP,
                          "memory limit: no cgroup hierarchy has the memory controller");
    if ((r->cpu_quota > 0 || r->cpu_shares > 0) && !cg->path[RT_CG_CPU])
        return sk_err_set(err, ENOTSUP, "cpu limit: no cgroup hierarchy has the cpu controller");
    if (r->pids_limit > 0 && !cg->path[RT_CG_PIDS])
        return sk_err_set(err, ENOTSUP, "pids limit: no cgroup hierarchy has the pids controller");
    return 0;
}

int
rt_cgroup_create(struct rt_cgroup *cg, const char *cgroot, const char *name,
                 const struct rt_resources *res, int need_devices, struct sk_err *err)
{
    int rc;

    memset(cg, 0, sizeof(*cg));
    resolve(cg, cgroot, name, res, need_devices);
    rc = check_enforceable(cg, res, err);
    if (rc < 0)
        goto out_release;
    for (int c = 0; c < RT_CG_NCTRL; c++) {
        if (cg->path[c] && mkdir_p(cg->path[c], err) < 0) {
            rc = -errno;
            goto out_destroy;
        }
    }
    if (cg->path[RT_CG_UNIFIED] && (rc = enable_v2(cg, err)) < 0)
        goto out_destroy;
    if ((rc = rt_cgv2_apply(cg, res, err)) < 0 || (rc = rt_cgv1_apply(cg, res, err)) < 0)
        goto out_destroy;
    return 0;
out_destroy:
    rt_cgroup_destroy(cg, NULL);
out_release:
    rt_cgroup_release(cg);
    return sk_err_wrap(err, "cgroup '%s/%s'", cgroot, name);
}

int
rt_cgroup_enter(const struct rt_cgroup *cg, pid_t pid, int with_v2, struct sk_err *err)
{
    char val[32];

    snprintf(val, sizeof(val), "%d", (int)pid);
    for (int c = 0; c < RT_CG_NCTRL; c++) {
        if (!cg->path[c] || (cg->v2[c] && c != RT_CG_UNIFIED) || (c == RT_CG_UNIFIED && !with_v2))
            continue;
        if (rt_cg_write(cg->path[c], "cgroup.procs", val, err) < 0)
            return -EIO;
    }
    return 0;
}

static int
kill_procs(const char *dir)
{
    char buf[8192], *p, *end;
    int n = 0;

    if (rt_cg_read(dir, "cgroup.procs", buf, sizeof(buf)) <= 0)
        return 0;
    for (p = buf; *p; p = end) {
        long pid = strtol(p, &end, 10);

        if (end == p)
            break;
        if (pid > 0 && kill((pid_t)pid, SIGKILL) == 0)
            n++;
    }
    return n;
}

void
rt_cgroup_kill(const struct rt_cgroup *cg)
{
    if (cg->path[RT_CG_UNIFIED] &&
        rt_cg_write(cg->path[RT_CG_UNIFIED], "cgroup.kill", "1", NULL) == 0)
        return;
    for (int c = 0; c < RT_CG_NCTRL; c++)
        if (cg->path[c])
            kill_procs(cg->path[c]);
}

int
rt_cgroup_destroy(const struct rt_cgroup *cg, struct sk_err *err)
{
    int rc = 0;

    /* Processes leave their cgroup only once they are reaped, and a
     * container killed while it forked has many to reap: a loaded host
     * takes seconds for that, so EBUSY is retried for a bounded time. */
    int64_t deadline = sk_clock_mono_ms() + RT_CGROUP_DRAIN_MS;

    for (int c = 0; c < RT_CG_NCTRL; c++) {
        if (!cg->path[c] || (cg->v2[c] && c != RT_CG_UNIFIED))
            continue;
        while (rmdir(cg->path[c]) < 0 && errno != ENOENT) {
            struct timespec ts = {0, 2000000};

            if (errno != EBUSY || sk_clock_mono_ms() > deadline) {
                rc = sk_err_sys(err, errno, "rmdir '%s'", cg->path[c]);
                break;
            }
            rt_cgroup_kill(cg);
            nanosleep(&ts, NULL);
        }
    }
    return rc;
}

void
rt_cgroup_release(struct rt_cgroup *cg)
{
    for (int c = 0; c < RT_CG_NCTRL; c++)
        free(cg->path[c]);
    memset(cg, 0, sizeof(*cg));
}

static unsigned long long
field(const char *text, const char *key)
{
    const char *p = text;
    size_t n = strlen(key);

    while (p && *p) {
        if (strncmp(p, key, n) == 0 && p[n] == ' ')
            return strtoull(p + n + 1, NULL, 10);
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return 0;
}

int
rt_cgroup_oom_killed(const struct rt_cgroup *cg)
{
    char buf[1024];
    const char *m = cg->path[RT_CG_MEMORY];

    if (!m)
        return 0;
    if (cg->v2[RT_CG_MEMORY])
        return rt_cg_read(m, "memory.events", buf, sizeof(buf)) > 0 && field(buf, "oom_kill") > 0;
    return rt_cg_read(m, "memory.oom_control", buf, sizeof(buf)) > 0 && field(buf, "oom_kill") > 0;
}

static unsigned long long
read_ull(const char *dir, const char *file)
{
    char buf[64];

    return dir && rt_cg_read(dir, file, buf, sizeof(buf)) > 0 ? strtoull(buf, NULL, 10) : 0;
}

/* A field of dir/memory.stat, 0 if absent. */
static unsigned long long
stat_field(const char *dir, const char *name)
{
    char buf[8192];

    return rt_cg_read(dir, "memory.stat", buf, sizeof(buf)) > 0 ? field(buf, name) : 0;
}

int
rt_cgroup_stats(const struct rt_cgroup *cg, struct rt_stats *st)
{
    char buf[1024];
    const char *m = cg->path[RT_CG_MEMORY];

    memset(st, 0, sizeof(*st));
    if (cg->path[RT_CG_UNIFIED] &&
        rt_cg_read(cg->path[RT_CG_UNIFIED], "cpu.stat", buf, sizeof(buf)) > 0)
        st->cpu_usage_ns = field(buf, "usage_usec") * 1000;
    else if (cg->path[RT_CG_CPU])
        st->cpu_usage_ns = read_ull(cg->path[RT_CG_CPU], "cpuacct.usage");
    if (m && cg->v2[RT_CG_MEMORY]) {
        st->mem_current = read_ull(m, "memory.current");
        st->mem_peak = read_ull(m, "memory.peak");
        st->mem_inactive_file = stat_field(m, "inactive_file");
    } else if (m) {
        st->mem_current = read_ull(m, "memory.usage_in_bytes");
        st->mem_peak = read_ull(m, "memory.max_usage_in_bytes");
        st->mem_inactive_file = stat_field(m, "total_inactive_file");
    }
    st->pids_current = read_ull(cg->path[RT_CG_PIDS], "pids.current");
    return 0;
}

char *
rt_cgroup_to_json(const struct rt_cgroup *cg)
{
    json_t *o = json_object();
    char *s;

    for (int c = 0; c < RT_CG_NCTRL; c++)
        if (cg->path[c]) {
            json_t *e = json_object();

            json_object_set_new(e, "path", json_string(cg->path[c]));
            json_object_set_new(e, "v2", json_boolean(cg->v2[c]));
            json_object_set_new(o, ctrl_names[c], e);
        }
    s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!s)
        SK_BUG("out of memory");
    return s;
}

int
rt_cgroup_from_json(struct rt_cgroup *cg, const char *text)
{
    json_t *o = json_loads(text ? text : "", 0, NULL);

    memset(cg, 0, sizeof(*cg));
    if (!json_is_object(o)) {
        json_decref(o);
        return -EINVAL;
    }
    for (int c = 0; c < RT_CG_NCTRL; c++) {
        json_t *e = json_object_get(o, ctrl_names[c]);

        if (!json_is_string(json_object_get(e, "path")))
            continue;
        cg->path[c] = sk_strdup(json_string_value(json_object_get(e, "path")));
        cg->v2[c] = json_is_true(json_object_get(e, "v2"));
    }
    json_decref(o);
    return 0;
}
