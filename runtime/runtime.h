#ifndef RT_RUNTIME_H
#define RT_RUNTIME_H

/* skiff's container runtime (replaces containerd + runc).
 *
 * The node agent links this module as a library; skiff-runtime(8) is a
 * thin OCI-runtime-style CLI over the same functions. A container is
 * described by struct rt_spec, filled either from an OCI config.json
 * (rt_spec_load_config) or directly by the agent. Containers live in a
 * state directory (struct rt_ctx.root, one directory per id, format in
 * state.c), are supervised by a small per-container monitor process and
 * survive the process that created them.
 *
 * Every fallible function returns a negative errno-style value and fills
 * struct sk_err; messages name the operation, the object and the errno
 * text ("mount 'proc' on 'rootfs/proc': Operation not permitted"). */

#include "lib/err.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define RT_DEFAULT_ROOT        "/run/skiff-runtime"
#define RT_DEFAULT_CGROUP_ROOT "skiff"
#define RT_UNSET               (-1LL)

/* Capability sets (bit N = capability N, see capability.h). */
enum rt_capset {
    RT_CAP_BOUNDING = 0,
    RT_CAP_EFFECTIVE,
    RT_CAP_PERMITTED,
    RT_CAP_INHERITABLE,
    RT_CAP_AMBIENT,
    RT_CAP_NSETS,
};

struct rt_mount {
    char *destination;
    char *type;
    char *source;
    char *data;                /* options the kernel parses (size=, mode=) */
    unsigned long flags;       /* MS_* set */
    unsigned long propagation; /* MS_PRIVATE/MS_SHARED/... (| MS_REC) or 0 */
    int bind;                  /* 1 bind, 2 rbind */
};

struct rt_namespace {
    int type;   /* CLONE_NEW* */
    char *path; /* join this namespace instead of creating one */
};

struct rt_idmap {
    uint32_t container_id, host_id, size;
};

struct rt_rlimit {
    int resource;
    uint64_t soft, hard;
};

struct rt_seccomp_arg {
    unsigned index;
    uint64_t value, value_two;
    int op; /* enum scmp_compare */
};

struct rt_seccomp_rule {
    char **names;
    size_t nnames;
    uint32_t action; /* SCMP_ACT_* (errno included) */
    struct rt_seccomp_arg *args;
    size_t nargs;
};

struct rt_seccomp {
    uint32_t default_action;
    uint32_t *arches; /* SCMP_ARCH_* */
    size_t narches;
    struct rt_seccomp_rule *rules;
    size_t nrules;
};

struct rt_kv {
    char *key, *value;
};

struct rt_process {
    char **args;
    size_t nargs;
    char **env;
    size_t nenv;
    char *cwd;
    uint32_t uid, gid;
    char *username; /* resolved in the container's /etc/passwd when set */
    gid_t *add_gids;
    size_t nadd_gids;
    struct rt_rlimit *rlimits;
    size_t nrlimits;
    int no_new_privs;
    long long umask;     /* RT_UNSET: keep 022 */
    long long oom_score; /* RT_UNSET: inherit */
    uint64_t caps[RT_CAP_NSETS];
    int terminal;                              /* stdio is a new pty of the container's devpts */
    unsigned short console_rows, console_cols; /* 0: the kernel's default */
};

/* OCI hooks, in the order of a container's life. */
enum rt_hook_kind {
    RT_HOOK_PRESTART = 0, /* deprecated alias of createRuntime's moment */
    RT_HOOK_CREATE_RUNTIME,
    RT_HOOK_CREATE_CONTAINER,
    RT_HOOK_START_CONTAINER,
    RT_HOOK_POSTSTART,
    RT_HOOK_POSTSTOP,
    RT_HOOK_NKINDS,
};

struct rt_hook {
    char *path; /* absolute */
    char **args;
    size_t nargs;
    char **env;
    size_t nenv;
    int timeout; /* seconds, 0: none */
};

struct rt_hooks {
    struct rt_hook *list[RT_HOOK_NKINDS];
    size_t n[RT_HOOK_NKINDS];
};

struct rt_resources {
    long long mem_limit; /* bytes, RT_UNSET for none */
    long long mem_swap;  /* memory+swap bytes (OCI), RT_UNSET: no swap */
    long long cpu_shares, cpu_quota, cpu_period;
    long long pids_limit;
};

struct rt_spec {
    struct rt_process process;
    char *root_path; /* relative to the bundle unless absolute */
    int root_readonly;
    char *hostname;
    struct rt_mount *mounts;
    size_t nmounts;
    struct rt_namespace *namespaces;
    size_t nnamespaces;
    struct rt_idmap *uid_maps, *gid_maps;
    size_t nuid_maps, ngid_maps;
    struct rt_resources resources;
    struct rt_seccomp *seccomp; /* NULL: unconfined */
    char **masked_paths;
    size_t nmasked_paths;
    char **readonly_paths;
    size_t nreadonly_paths;
    struct rt_kv *sysctl;
    size_t nsysctl;
    struct rt_kv *annotations;
    size_t nannotations;
    char *cgroups_path; /* beneath the runtime's cgroup root */
    unsigned long rootfs_propagation;
    struct rt_hooks hooks;
};

/* Fill spec with skiff's secure defaults (14 capabilities, no_new_privs,
 * default seccomp profile, masked and read-only paths, all namespaces
 * but user, the standard mounts). Release with rt_spec_release. */
void rt_spec_init_default(struct rt_spec *spec);
void rt_spec_release(struct rt_spec *spec);
void rt_process_release(struct rt_process *proc);

/* Parse an OCI config.json text into spec. Errors name the JSON path:
 * "process.args: required". Security-relevant fields that skiff does not
 * support are errors, never ignored. */
int rt_spec_parse_config(const char *json, size_t len, struct rt_spec *spec, struct sk_err *err);
int rt_spec_load_config(const char *path, struct rt_spec *spec, struct sk_err *err);
/* Parse an OCI "process" object (exec --process FILE); defaults are taken
 * from base (the container's process). */
int rt_process_parse(const char *json, size_t len, const struct rt_process *base,
                     struct rt_process *proc, struct sk_err *err);
/* The default config.json (`skiff-runtime spec`), malloc'd. */
char *rt_spec_default_json(void);

/* Runtime-wide settings. */
struct rt_ctx {
    const char *root;        /* state directory */
    const char *cgroup_root; /* name beneath the caller's own cgroups */
    /* A skiff-runtime binary the monitor re-executes as (hidden verb
     * "_monitor"), so it does not keep the caller's memory (nor the
     * read-only view of the CLI's binary) alive; NULL: it stays a fork. */
    const char *monitor_exe;
};

struct rt_netns_prefetch;

struct rt_create_opts {
    const char *bundle;
    const char *pid_file; /* may be NULL */
    int stdio[3];         /* fds given to the container (-1: /dev/null) */
    const char *cri_log;  /* CRI-format log file instead of stdio */
    long long cri_log_max;
    const char *config_json; /* stored for exec; NULL: defaults */
    int exit_fd; /* run: monitor writes "code signal oom removed\n" here at exit, -1 none */
    /* With exit_fd: the monitor removes the container (cgroups, state
     * dir) when its process exited, before it reports ("removed" 1).
     * Not with poststop hooks: rt_container_delete runs those. */
    int remove;
    /* With process.terminal (then required, else ignored): a connected
     * UNIX socket; the container's pty master is sent over it (runc's
     * console socket protocol, see console.c). stdio is then unused. */
    int console_fd;
    /* A network namespace already being made by rt_netns_prefetch_begin
     * (the CLI starts it before reading config.json), or NULL. Create
     * owns it from then on: uses it if the spec wants a new network
     * namespace, else drops it, and ends it in every case. */
    struct rt_netns_prefetch *netns_early;
    /* Start at once (create + start, as `run` does): no exec.fifo, the
     * process runs as soon as it is set up, and the state says running.
     * Ignored when the spec has startContainer or poststart hooks: those
     * need rt_container_start (rt_container_starts_at_once tells). */
    int start;
};

enum rt_status {
    RT_CREATING = 0,
    RT_CREATED,
    RT_RUNNING,
    RT_STOPPED,
    RT_PAUSED, /* running, its cgroup frozen */
};

struct rt_exit {
    int exited; /* 1 once the exit status is known */
    int code;   /* exit code, or 128+signal */
    int signal; /* 0 if it exited normally */
    int oom_killed;
    char finished[40];
};

struct rt_state {
    char id[128];
    enum rt_status status;
    pid_t pid;
    unsigned long long pid_start; /* /proc/PID/stat field 22 */
    pid_t monitor_pid;
    char bundle[4096];
    char rootfs[4096];
    char created[40];
    uid_t owner;
    struct rt_kv *annotations;
    size_t nannotations;
    char *cgroup_paths; /* JSON object text, malloc'd */
    int hooks;          /* config.json has poststart/poststop hooks */
    struct rt_exit exit;
};

void rt_state_release(struct rt_state *st);
const char *rt_status_name(enum rt_status status);

/* Create a container: monitor forked (own session), namespaces, rootfs,
 * cgroups and security settings applied; the process waits for
 * rt_container_start. Nothing is left behind on failure. */
int rt_container_create(const struct rt_ctx *ctx, const char *id, struct rt_spec *spec,
                        const struct rt_create_opts *opts, pid_t *pid, struct sk_err *err);
int rt_container_start(const struct rt_ctx *ctx, const char *id, struct sk_err *err);
/* Whether create with opts->start set starts the process itself. */
int rt_container_starts_at_once(const struct rt_spec *spec, const struct rt_create_opts *opts);
/* Load the state of id, status derived from the live process. -ENOENT if
 * no such container. */
int rt_container_state(const struct rt_ctx *ctx, const char *id, struct rt_state *st,
                       struct sk_err *err);
/* The OCI state JSON of st (malloc'd). */
char *rt_state_to_json(const struct rt_state *st);
int rt_container_kill(const struct rt_ctx *ctx, const char *id, int sig, struct sk_err *err);
/* Signal every process of the container's cgroup (runc kill --all):
 * the cgroup is frozen meanwhile so that no process forks past the
 * signal; SIGKILL uses cgroup.kill. */
int rt_container_kill_all(const struct rt_ctx *ctx, const char *id, int sig, struct sk_err *err);
/* Freeze / thaw every process of a running container (cgroup v2
 * freezer); state then says "paused". */
int rt_container_pause(const struct rt_ctx *ctx, const char *id, struct sk_err *err);
int rt_container_resume(const struct rt_ctx *ctx, const char *id, struct sk_err *err);
/* The host pids of the container's processes (malloc'd array). */
int rt_container_pids(const struct rt_ctx *ctx, const char *id, pid_t **pids, size_t *n,
                      struct sk_err *err);
/* Remove a container (cgroups, state). A running one needs force (it is
 * killed). -ENOENT if it does not exist. */
int rt_container_delete(const struct rt_ctx *ctx, const char *id, int force, struct sk_err *err);
/* Wait until the container exited; fills ex. */
int rt_container_wait(const struct rt_ctx *ctx, const char *id, struct rt_exit *ex,
                      struct sk_err *err);
/* Run proc inside the running container id (its namespaces, cgroups and
 * security settings) with the caller's stdio; returns the exit status
 * (128+N for a signal) or <0. */
int rt_container_exec(const struct rt_ctx *ctx, const char *id, const struct rt_process *proc,
                      struct sk_err *err);
/* The same; with proc->terminal, the process gets a new pty of the
 * container and its master is sent over console_fd (a connected UNIX
 * socket), or with console_fd -1 copied to and from the caller's
 * stdin/stdout until the process exits. */
int rt_container_exec_console(const struct rt_ctx *ctx, const char *id,
                              const struct rt_process *proc, int console_fd, struct sk_err *err);
/* The ids in the state dir (malloc'd array of malloc'd strings). */
int rt_container_list(const struct rt_ctx *ctx, char ***ids, size_t *n, struct sk_err *err);

struct rt_stats {
    unsigned long long cpu_usage_ns;
    unsigned long long mem_current, mem_peak;
    /* memory.stat inactive_file (v1: total_inactive_file): page cache
     * the kernel reclaims first; Kubernetes' working set is
     * mem_current less it */
    unsigned long long mem_inactive_file;
    unsigned long long pids_current;
};
int rt_container_stats(const struct rt_ctx *ctx, const char *id, struct rt_stats *stats,
                       struct sk_err *err);

/* CVE-2019-5736: make sure this process runs from a read-only view of
 * its binary (a detached read-only bind mount, or a sealed memfd copy
 * where that is not possible), re-executing itself if not (argv/envp as
 * given to main). Returns 0 when already protected; does not return on
 * success otherwise. */
int rt_selfexe_protect(char **argv, char **envp, struct sk_err *err);

/* Signal by name ("KILL", "SIGTERM", "term") or number; -1 if unknown. */
int rt_signal_parse(const char *s);

/* CRI log line ("<RFC3339Nano> stdout F line\n") for one chunk; partial
 * is set for a line cut at the buffer size (tag P). Returns the length
 * written into out (outsz must be >= len + 64). */
size_t rt_cri_format(char *out, size_t outsz, const struct timespec *ts, const char *stream,
                     int partial, const char *line, size_t len);

/* The "_monitor" verb: argv as built by rt_container_create. */
int rt_monitor_exec_main(int argc, char **argv);

/* CLI entry point of skiff-runtime(8). */
int rt_cli_main(int argc, char **argv, char **envp);

#endif
