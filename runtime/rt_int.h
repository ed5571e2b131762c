#ifndef RT_INT_H
#define RT_INT_H

/* Private interfaces between the files of runtime/. */

#include "runtime/runtime.h"

#include <pthread.h>
#include <stdint.h>

/* caps.c */
extern const uint64_t rt_caps_default;
int rt_cap_from_name(const char *name);
const char *rt_cap_name(int cap);
int rt_caps_drop_bounding(const struct rt_process *proc, struct sk_err *err);
int rt_caps_apply(const struct rt_process *proc, struct sk_err *err);

/* seccomp.c */
struct rt_seccomp *rt_seccomp_default(uint64_t bounding_caps);
void rt_seccomp_free(struct rt_seccomp *sc);
/* A compiled filter (struct sock_filter array). */
struct rt_bpf {
    void *prog;
    size_t len;
};
uint64_t rt_seccomp_hash(const struct rt_seccomp *sc);
/* Compile (or read from the cache in cache_dir, may be NULL); sc NULL
 * gives an empty program. */
int rt_seccomp_compile(const struct rt_seccomp *sc, const char *cache_dir, struct rt_bpf *out,
                       struct sk_err *err);
/* Install into the calling thread (no-op for an empty program). */
int rt_seccomp_install(const struct rt_bpf *bpf, struct sk_err *err);
/* Compile only (tests): returns the number of rules added. */
int rt_seccomp_check(const struct rt_seccomp *sc, struct sk_err *err);
int rt_seccomp_action_parse(const char *name, uint32_t errno_ret, uint32_t *out);
int rt_seccomp_op_parse(const char *name, int *out);
int rt_seccomp_arch_parse(const char *name, uint32_t *out);

/* mount.c */
int rt_mount_options_parse(const char *opt, struct rt_mount *m, char **data);
int rt_rootfs_setup(const struct rt_spec *spec, const char *rootfs, int userns, struct sk_err *err);
/* pivot_root into rootfs (after rt_rootfs_setup and the hooks before it). */
int rt_rootfs_pivot(const char *rootfs, struct sk_err *err);
int rt_rootfs_finish(const struct rt_spec *spec, struct sk_err *err);

/* dev.c */
int rt_dev_setup(const char *rootfs, int userns, struct sk_err *err);

/* cgroup.c */
enum rt_cg_ctrl {
    RT_CG_MEMORY = 0,
    RT_CG_CPU,
    RT_CG_PIDS,
    RT_CG_DEVICES,
    RT_CG_UNIFIED, /* the v2 cgroup of the container (membership, kill) */
    RT_CG_NCTRL,
};
struct rt_cgroup {
    char *path[RT_CG_NCTRL]; /* absolute dirs, NULL when unused */
    int v2[RT_CG_NCTRL];     /* 1 if enforced in the v2 tree */
};
/* The caller's own cgroups: per controller (RT_CG_UNIFIED: cgroup2) the
 * hierarchy's mount point and the caller's path in it, NULL if none. */
struct rt_cg_where {
    char *mount[RT_CG_NCTRL];
    char *own[RT_CG_NCTRL];
};
/* Pure: parses (and modifies) the texts of /proc/self/cgroup and
 * /proc/self/mountinfo; either may be NULL. */
void rt_cg_where_parse(struct rt_cg_where *w, char *cgroup_text, char *mountinfo_text);
void rt_cg_where_read(struct rt_cg_where *w);
void rt_cg_where_release(struct rt_cg_where *w);
/* Pure: "<mount><own>/<root>/<name>" with slashes normalised. */
char *rt_cgroup_path_join(const char *mount, const char *own, const char *root, const char *name);
/* v1 hierarchies are used only for controllers with a requested limit
 * (devices: when need_devices); see cgroup.c. */
int rt_cgroup_create(struct rt_cgroup *cg, const char *cgroot, const char *name,
                     const struct rt_resources *res, int need_devices, struct sk_err *err);
/* Move pid into the v1 cgroups, and into the v2 one when with_v2. */
int rt_cgroup_enter(const struct rt_cgroup *cg, pid_t pid, int with_v2, struct sk_err *err);
void rt_cgroup_kill(const struct rt_cgroup *cg);
int rt_cgroup_destroy(const struct rt_cgroup *cg, struct sk_err *err);
void rt_cgroup_release(struct rt_cgroup *cg);
int rt_cgroup_oom_killed(const struct rt_cgroup *cg);
int rt_cgroup_stats(const struct rt_cgroup *cg, struct rt_stats *st);
/* Pure: parse a cgroup.procs text (malloc'd array); -EINVAL if malformed. */
int rt_cgroup_parse_procs(const char *text, pid_t **pids, size_t *n);
/* Every process of the container (v2 cgroup, else the first v1 one). */
int rt_cgroup_pids(const struct rt_cgroup *cg, pid_t **pids, size_t *n, struct sk_err *err);
/* Freeze (on) or thaw the v2 cgroup and wait until the kernel says so. */
int rt_cgroup_freeze(const struct rt_cgroup *cg, int on, struct sk_err *err);
int rt_cgroup_frozen(const struct rt_cgroup *cg);
char *rt_cgroup_to_json(const struct rt_cgroup *cg);
int rt_cgroup_from_json(struct rt_cgroup *cg, const char *json);
/* cgroup_v1.c / cgroup_v2.c */
int rt_cgv1_apply(const struct rt_cgroup *cg, const struct rt_resources *res, struct sk_err *err);
int rt_cgv2_apply(const struct rt_cgroup *cg, const struct rt_resources *res, struct sk_err *err);
int rt_cg_write(const char *dir, const char *file, const char *val, struct sk_err *err);
int rt_cg_read(const char *dir, const char *file, char *buf, size_t bufsz);

/* state.c */
int rt_state_dir(const struct rt_ctx *ctx, const char *id, char *out, size_t outsz,
                 struct sk_err *err);
/* state.json in two steps: staged (written under a temporary name)
 * while the init still sets the container up, committed (renamed) once
 * it is ready; until then the status stays "creating". */
int rt_state_stage(const char *dir, const struct rt_state *st, struct sk_err *err);
int rt_state_commit(const char *dir, struct sk_err *err);
int rt_state_read(const char *dir, struct rt_state *st, struct sk_err *err);
int rt_exit_write(const char *dir, const struct rt_exit *ex);
int rt_exit_read(const char *dir, struct rt_exit *ex);
unsigned long long rt_proc_start_time(pid_t pid);
void rt_time_rfc3339(char *out, size_t outsz, const struct timespec *ts);
int rt_id_valid(const char *id);
int rt_rmtree(const char *path);

/* monitor.c */
struct rt_monitor_args {
    const char *dir;
    const struct rt_cgroup *cg;
    pid_t child;
    int out_fd, err_fd; /* pipes to copy into the CRI log, or -1 */
    const char *cri_log;
    long long cri_log_max;
    int exit_fd;
    int mntns_fd; /* the container's mount namespace, held until the exit
                     is reported (see container.c), or -1 */
    int remove;   /* remove the container before reporting to exit_fd */
};
_Noreturn void rt_monitor_run(const struct rt_monitor_args *a);

/* hooks.c */
const char *rt_hook_kind_name(enum rt_hook_kind kind);
void rt_hooks_release(struct rt_hooks *hooks);
/* Run one hook with state_json on its stdin; fails on a non-zero exit,
 * a signal or the timeout, with the hook's output in the message. */
int rt_hook_run(const struct rt_hook *h, const char *state_json, struct sk_err *err);
/* Run the hooks of kind in order; poststart and poststop failures are
 * logged and skipped, the others stop at the first failure. */
int rt_hooks_run(const struct rt_hooks *hooks, enum rt_hook_kind kind, const char *state_json,
                 struct sk_err *err);

/* console.c */
/* In the container (after pivot_root, before the identity switch): a
 * new pty of its devpts becomes the controlling terminal and stdio; the
 * master is sent over sock. */
int rt_console_setup(const struct rt_process *proc, int sock, struct sk_err *err);
int rt_console_send(int sock, int fd, const char *name, struct sk_err *err);
int rt_console_recv(int sock, int *fd, struct sk_err *err);
/* Connect to a console socket (runc's --console-socket). */
int rt_console_connect(const char *path, int *fd, struct sk_err *err);
void rt_console_copy_size(int from, int master);
/* Copy in -> master and master -> out (in in raw mode if a terminal)
 * until done_fd is readable, then drain the master; on_intr runs when
 * a signal interrupts the wait. */
int rt_console_proxy(int master, int in, int out, int done_fd, void (*on_intr)(void *arg),
                     void *arg);

/* process.c: the last steps before execve, shared by create and exec */
int rt_process_prepare(const struct rt_bpf *bpf, const struct rt_process *proc, char *exe,
                       size_t exesz, struct sk_err *err);
void rt_signals_reset(void);
/* NULL-terminated copies for execve (malloc'd). */
char **rt_strv_nul(char **v, size_t n);
int rt_process_lookup_user(const char *name, uint32_t *uid, uint32_t *gid, struct sk_err *err);
int rt_find_exec(const char *file, char **env, size_t nenv, char *out, size_t outsz,
                 struct sk_err *err);
int rt_write_all(int fd, const void *buf, size_t len);
int rt_read_file(const char *path, char **out, size_t *len, struct sk_err *err);

/* netns.c: the new network namespace made by a thread of the caller
 * while create goes on, handed to the monitor (see the file). */
struct rt_netns_prefetch {
    int sock[2]; /* [0] the monitor receives, [1] the thread sends */
    int started;
    pthread_t thread;
};
/* A new network namespace only without a user namespace (netns.c). */
int rt_netns_prefetch_wanted(const struct rt_spec *spec);
/* begin: unconditionally; start: if the spec wants it. */
void rt_netns_prefetch_begin(struct rt_netns_prefetch *p);
void rt_netns_prefetch_start(struct rt_netns_prefetch *p, const struct rt_spec *spec);
void rt_netns_prefetch_forked(struct rt_netns_prefetch *p);
/* An fd of the namespace, or -1: clone3 then makes one. */
int rt_netns_prefetch_take(struct rt_netns_prefetch *p);
void rt_netns_prefetch_end(struct rt_netns_prefetch *p);

#endif
