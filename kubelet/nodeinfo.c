/* kubelet/: what the agent reports about its node.
 *
 * capacity     cpu = CPUs this process may run on (sched_getaffinity,
 *              sysconf as fallback), memory = MemTotal, pods = max_pods
 * allocatable  capacity - reserved (cpu in millicores, memory in bytes),
 *              never below zero
 * conditions   MemoryPressure: MemAvailable < mem_pressure (100Mi);
 *              DiskPressure: free space of the data dir's filesystem
 *              < disk_pressure_pct (10 %); PIDPressure: threads in use >
 *              pid_pressure_pct (90 %) of kernel.pid_max; Ready True
 *              while the agent runs (the server's lifecycle controller
 *              marks it Unknown when heartbeats stop).
 * Everything but kl_node_facts_read is pure. */
#include "kubelet/kl_int.h"

#include "lib/alloc.h"
#include "lib/version.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

void
kl_node_config_defaults(struct kl_node_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->max_pods = 110;
    cfg->mem_pressure = 100LL << 20;
    cfg->disk_pressure_pct = 10;
    cfg->pid_pressure_pct = 90;
}

/* "MemTotal:       16314248 kB" -> bytes; -1 when the key is absent. */
static int
meminfo_key(const char *text, const char *key, int64_t *out)
{
    size_t kl = strlen(key);

    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        char *end;
        long long v;
        if (strncmp(l, key, kl) != 0 || l[kl] != ':')
            continue;
        errno = 0;
        v = strtoll(l + kl + 1, &end, 10);
        if (errno || end == l + kl + 1 || v < 0 || v > INT64_MAX / 1024)
            return -EINVAL;
        while (*end == ' ' || *end == '\t')
            end++;
        *out = strncmp(end, "kB", 2) == 0 ? v * 1024 : v;
        return 0;
    }
    return -ENOENT;
}

int
kl_meminfo_parse(const char *text, int64_t *total, int64_t *available, struct sk_err *err)
{
    int rc = meminfo_key(text, "MemTotal", total);

    if (rc < 0)
        return sk_err_set(err, -rc, "meminfo: MemTotal: %s",
                          rc == -ENOENT ? "missing" : "malformed");
    rc = meminfo_key(text, "MemAvailable", available);
    if (rc == -ENOENT) {
        /* kernels before 3.14: a conservative estimate */
        int64_t f = 0, c = 0;
        meminfo_key(text, "MemFree", &f);
        meminfo_key(text, "Cached", &c);
        *available = f + c;
        return 0;
    }
    if (rc < 0)
        return sk_err_set(err, EINVAL, "meminfo: MemAvailable: malformed");
    return 0;
}

void
kl_os_release_pretty(const char *text, char *out, size_t outsz)
{
    sk_strlcpy(out, "Linux", outsz);
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        size_t n = strcspn(l, "\n");
        if (strncmp(l, "PRETTY_NAME=", 12) != 0)
            continue;
        l += 12;
        n -= 12;
        if (n >= 2 && (l[0] == '"' || l[0] == '\'') && l[n - 1] == l[0]) {
            l++;
            n -= 2;
        }
        if (n > 0 && n < outsz) {
            memcpy(out, l, n);
            out[n] = '\0';
        }
        return;
    }
}

bool
kl_node_memory_pressure(const struct kl_node_facts *f, const struct kl_node_config *c)
{
    return f->mem_available < c->mem_pressure;
}

bool
kl_node_disk_pressure(const struct kl_node_facts *f, const struct kl_node_config *c)
{
    if (f->disk_total <= 0)
        return false;
    return f->disk_avail * 100 < f->disk_total * (int64_t)c->disk_pressure_pct;
}

bool
kl_node_pid_pressure(const struct kl_node_facts *f, const struct kl_node_config *c)
{
    if (f->pid_max <= 0)
        return false;
    return f->pids * 100 > f->pid_max * (int64_t)c->pid_pressure_pct;
}

void
kl_node_allocatable(const struct kl_node_facts *f, const struct kl_node_config *c, int64_t *cpu_m,
                    int64_t *mem, int64_t *pods)
{
    *cpu_m = f->ncpu * 1000 - c->reserved_cpu_m;
    *mem = f->mem_total - c->reserved_mem;
    *pods = c->max_pods;
    if (*cpu_m < 0)
        *cpu_m = 0;
    if (*mem < 0)
        *mem = 0;
}

static json_t *
resources(int64_t cpu_m, int64_t mem, int64_t pods)
{
    char cpu[32], m[32];

    if (cpu_m % 1000 == 0)
        snprintf(cpu, sizeof(cpu), "%lld", (long long)(cpu_m / 1000));
    else
        snprintf(cpu, sizeof(cpu), "%lldm", (long long)cpu_m);
    if (mem % 1024 == 0)
        snprintf(m, sizeof(m), "%lldKi", (long long)(mem / 1024));
    else
        snprintf(m, sizeof(m), "%lld", (long long)mem);
    return json_pack("{ss ss sI}", "cpu", cpu, "memory", m, "pods", (json_int_t)pods);
}

static json_t *
node_condition(const json_t *prev, const char *type, bool status, const char *reason,
               const char *msg, const char *now)
{
    const json_t *conds = json_object_get(json_object_get(prev, "status"), "conditions");
    const char *st = status ? "True" : "False", *ltt = now;
    size_t i;
    json_t *c;

    json_array_foreach ((json_t *)conds, i, c) {
        const char *t = json_string_value(json_object_get(c, "type"));
        const char *s = json_string_value(json_object_get(c, "status"));
        const char *l = json_string_value(json_object_get(c, "lastTransitionTime"));
        if (t && s && l && strcmp(t, type) == 0 && strcmp(s, st) == 0)
            ltt = l;
    }
    return json_pack("{ss ss ss ss ss ss}", "type", type, "status", st, "lastHeartbeatTime", now,
                     "lastTransitionTime", ltt, "reason", reason, "message", msg);
}

static json_t *
node_conditions(const struct kl_node_facts *f, const struct kl_node_config *c, const json_t *prev,
                const char *now)
{
    bool mp = kl_node_memory_pressure(f, c), dp = kl_node_disk_pressure(f, c),
         pp = kl_node_pid_pressure(f, c);
    json_t *a = json_array();

    json_array_append_new(
        a, node_condition(prev, "MemoryPressure", mp,
                          mp ? "KubeletHasInsufficientMemory" : "KubeletHasSufficientMemory",
                          mp ? "kubelet has insufficient memory available"
                             : "kubelet has sufficient memory available",
                          now));
    json_array_append_new(
        a, node_condition(prev, "DiskPressure", dp,
                          dp ? "KubeletHasDiskPressure" : "KubeletHasNoDiskPressure",
                          dp ? "kubelet has disk pressure" : "kubelet has no disk pressure", now));
    json_array_append_new(
        a, node_condition(prev, "PIDPressure", pp,
                          pp ? "KubeletHasInsufficientPID" : "KubeletHasSufficientPID",
                          pp ? "kubelet has insufficient PID available"
                             : "kubelet has sufficient PID available",
                          now));
    if (c->network_not_ready)
        json_array_append_new(a, node_condition(prev, "Ready", false, "KubeletNotReady",
                                                "container runtime network not ready: "
                                                "NetworkReady=false reason:NetworkPluginNotReady "
                                                "message:no podCIDR assigned yet",
                                                now));
    else
        json_array_append_new(a, node_condition(prev, "Ready", true, "KubeletReady",
                                                "kubelet is posting ready status", now));
    return a;
}

static const char *
go_arch(const char *machine)
{
    if (strcmp(machine, "x86_64") == 0)
        return "amd64";
    if (strcmp(machine, "aarch64") == 0)
        return "arm64";
    if (strncmp(machine, "armv", 4) == 0)
        return "arm";
    if (strcmp(machine, "i686") == 0 || strcmp(machine, "i386") == 0)
        return "386";
    return machine;
}

json_t *
kl_node_build(const struct kl_node_facts *f, const struct kl_node_config *c, const json_t *prev,
              const char *now)
{
    const char *name = c->name && *c->name ? c->name : f->hostname;
    const char *arch = go_arch(f->arch);
    int64_t cpu_m, mem, pods;
    json_t *node, *status, *addrs;

    kl_node_allocatable(f, c, &cpu_m, &mem, &pods);
    node = json_pack("{ss ss s{ss s{ss ss ss}}}", "apiVersion", "v1", "kind", "Node", "metadata",
                     "name", name, "labels", "kubernetes.io/hostname", name, "kubernetes.io/os",
                     "linux", "kubernetes.io/arch", arch);
    status = json_object();
    json_object_set_new(status, "capacity", resources(f->ncpu * 1000, f->mem_total, c->max_pods));
    json_object_set_new(status, "allocatable", resources(cpu_m, mem, pods));
    json_object_set_new(status, "conditions", node_conditions(f, c, prev, now));
    addrs = json_array();
    if (c->address && *c->address)
        json_array_append_new(addrs,
                              json_pack("{ss ss}", "type", "InternalIP", "address", c->address));
    json_array_append_new(addrs, json_pack("{ss ss}", "type", "Hostname", "address", name));
    json_object_set_new(status, "addresses", addrs);
    json_object_set_new(status, "nodeInfo",
                        json_pack("{ss ss ss ss ss ss}", "kernelVersion", f->kernel, "osImage",
                                  f->os_image, "operatingSystem", "linux", "architecture", arch,
                                  "containerRuntimeVersion", "skiff://" SKIFF_VERSION,
                                  "kubeletVersion", SKIFF_VERSION));
    if (c->endpoint_port > 0) /* where the API server relays logs and exec */
        json_object_set_new(status, "daemonEndpoints",
                            json_pack("{s{si}}", "kubeletEndpoint", "Port", c->endpoint_port));
    json_object_set_new(node, "status", status);
    return node;
}

/* Read a small file into buf; returns bytes or -1. */
static ssize_t
slurp(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n, len = 0;

    if (fd < 0)
        return -1;
    while (len < (ssize_t)size - 1 && (n = read(fd, buf + len, size - 1 - (size_t)len)) > 0)
        len += n;
    close(fd);
    buf[len] = '\0';
    return len;
}

int
kl_node_facts_read(const char *data_dir, struct kl_node_facts *f, struct sk_err *err)
{
    char buf[8192];
    struct utsname u;
    struct statvfs sv;
    cpu_set_t set;
    long long running, total;

    memset(f, 0, sizeof(*f));
    if (slurp("/proc/meminfo", buf, sizeof(buf)) < 0)
        return sk_err_sys(err, errno, "read '/proc/meminfo'");
    if (kl_meminfo_parse(buf, &f->mem_total, &f->mem_available, err) < 0)
        return -err->code;
    f->ncpu = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set)
                                                           : sysconf(_SC_NPROCESSORS_ONLN);
    if (f->ncpu < 1)
        f->ncpu = 1;
    if (uname(&u) == 0) {
        sk_strlcpy(f->kernel, u.release, sizeof(f->kernel));
        sk_strlcpy(f->arch, u.machine, sizeof(f->arch));
        sk_strlcpy(f->hostname, u.nodename, sizeof(f->hostname));
    }
    if (slurp("/etc/os-release", buf, sizeof(buf)) < 0 &&
        slurp("/usr/lib/os-release", buf, sizeof(buf)) < 0)
        buf[0] = '\0';
    kl_os_release_pretty(buf, f->os_image, sizeof(f->os_image));
    if (data_dir && statvfs(data_dir, &sv) == 0) {
        f->disk_total = (int64_t)sv.f_blocks * (int64_t)sv.f_frsize;
        f->disk_avail = (int64_t)sv.f_bavail * (int64_t)sv.f_frsize;
    }
    if (slurp("/proc/sys/kernel/pid_max", buf, sizeof(buf)) > 0)
        f->pid_max = strtoll(buf, NULL, 10);
    /* the 4th field of loadavg counts every task (threads use pids too) */
    if (slurp("/proc/loadavg", buf, sizeof(buf)) > 0 &&
        sscanf(buf, "%*s %*s %*s %lld/%lld", &running, &total) == 2)
        f->pids = total;
    return 0;
}
