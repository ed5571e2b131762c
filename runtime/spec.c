/* struct rt_spec: secure defaults and release. */
#include "runtime/rt_int.h"

#include "lib/alloc.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

static const char *const default_masked[] = {
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
};
static const char *const default_readonly[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

static char **
strv_dup(const char *const *v, size_t n)
{
    char **out = sk_calloc(n ? n : 1, sizeof(*out));

    for (size_t i = 0; i < n; i++)
        out[i] = sk_strdup(v[i]);
    return out;
}

static void
strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void
add_mount(struct rt_spec *spec, const char *dest, const char *type, const char *src,
          unsigned long flags, const char *data)
{
    struct rt_mount *m;

    spec->mounts = sk_reallocarray(spec->mounts, spec->nmounts + 1, sizeof(*m));
    m = &spec->mounts[spec->nmounts++];
    memset(m, 0, sizeof(*m));
    m->destination = sk_strdup(dest);
    m->type = sk_strdup(type);
    m->source = sk_strdup(src);
    m->flags = flags;
    m->data = data ? sk_strdup(data) : NULL;
}

void
rt_spec_init_default(struct rt_spec *spec)
{
    static const int ns[] = {CLONE_NEWPID, CLONE_NEWNS,  CLONE_NEWUTS,
                             CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWCGROUP};
    static const char *const env[] = {
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};

    memset(spec, 0, sizeof(*spec));
    spec->process.args = strv_dup((const char *const[]){"sh"}, 1);
    spec->process.nargs = 1;
    spec->process.env = strv_dup(env, 1);
    spec->process.nenv = 1;
    spec->process.cwd = sk_strdup("/");
    spec->process.no_new_privs = 1;
    spec->process.umask = RT_UNSET;
    spec->process.oom_score = RT_UNSET;
    for (int i = 0; i < RT_CAP_NSETS; i++)
        spec->process.caps[i] =
            i == RT_CAP_INHERITABLE || i == RT_CAP_AMBIENT ? 0 : rt_caps_default;
    spec->process.rlimits = sk_calloc(1, sizeof(struct rt_rlimit));
    spec->process.rlimits[0] = (struct rt_rlimit){RLIMIT_NOFILE, 1024, 1024};
    spec->process.nrlimits = 1;
    spec->root_path = sk_strdup("rootfs");
    spec->root_readonly = 1;
    spec->hostname = sk_strdup("skiff");
    spec->namespaces = sk_calloc(6, sizeof(*spec->namespaces));
    for (size_t i = 0; i < 6; i++)
        spec->namespaces[i].type = ns[i];
    spec->nnamespaces = 6;
    add_mount(spec, "/proc", "proc", "proc", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL);
    add_mount(spec, "/dev", "tmpfs", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
    add_mount(spec, "/dev/pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC,
              "newinstance,ptmxmode=0666,mode=0620,gid=5");
    add_mount(spec, "/dev/shm", "tmpfs", "shm", MS_NOSUID | MS_NOEXEC | MS_NODEV,
              "mode=1777,size=65536k");
    add_mount(spec, "/dev/mqueue", "mqueue", "mqueue", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL);
    add_mount(spec, "/sys", "sysfs", "sysfs", MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY, NULL);
    add_mount(spec, "/sys/fs/cgroup", "cgroup", "cgroup",
              MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME | MS_RDONLY, NULL);
    spec->resources =
        (struct rt_resources){RT_UNSET, RT_UNSET, RT_UNSET, RT_UNSET, RT_UNSET, RT_UNSET};
    spec->seccomp = rt_seccomp_default(rt_caps_default);
    spec->masked_paths = strv_dup(default_masked, sizeof(default_masked) / sizeof(char *));
    spec->nmasked_paths = sizeof(default_masked) / sizeof(char *);
    spec->readonly_paths = strv_dup(default_readonly, sizeof(default_readonly) / sizeof(char *));
    spec->nreadonly_paths = sizeof(default_readonly) / sizeof(char *);
    spec->rootfs_propagation = MS_REC | MS_PRIVATE;
}

void
rt_process_release(struct rt_process *proc)
{
    strv_free(proc->args, proc->nargs);
    strv_free(proc->env, proc->nenv);
    free(proc->cwd);
    free(proc->username);
    free(proc->add_gids);
    free(proc->rlimits);
    memset(proc, 0, sizeof(*proc));
}

static void
kv_free(struct rt_kv *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(kv[i].key);
        free(kv[i].value);
    }
    free(kv);
}

void
rt_spec_release(struct rt_spec *spec)
{
    rt_process_release(&spec->process);
    free(spec->root_path);
    free(spec->hostname);
    for (size_t i = 0; i < spec->nmounts; i++) {
        free(spec->mounts[i].destination);
        free(spec->mounts[i].type);
        free(spec->mounts[i].source);
        free(spec->mounts[i].data);
    }
    free(spec->mounts);
    for (size_t i = 0; i < spec->nnamespaces; i++)
        free(spec->namespaces[i].path);
    free(spec->namespaces);
    free(spec->uid_maps);
    free(spec->gid_maps);
    rt_seccomp_free(spec->seccomp);
    strv_free(spec->masked_paths, spec->nmasked_paths);
    strv_free(spec->readonly_paths, spec->nreadonly_paths);
    kv_free(spec->sysctl, spec->nsysctl);
    kv_free(spec->annotations, spec->nannotations);
    free(spec->cgroups_path);
    rt_hooks_release(&spec->hooks);
    memset(spec, 0, sizeof(*spec));
}
