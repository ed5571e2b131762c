#ifndef KL_KUBELET_H
#define KL_KUBELET_H

/* skiff's node agent (`skiffd agent`), the pure core: what the sync loop
 * decides, without the API wiring. Public names carry the prefix kl_.
 *
 *   podspec.c   Pod + container + image config + sandbox -> struct rt_spec
 *   podfiles.c  the non-pure half: configMap/secret projection, the pod's
 *               /etc/hosts, /etc/resolv.conf and /etc/hostname files,
 *               subPath resolution that refuses escapes
 *   status.c    observed container states -> pod status JSON; the
 *               "significant change" test that keeps writes rare
 *   restart.c   restartPolicy and the CrashLoopBackOff schedule
 *   probe.c     liveness/readiness/startup state machines (pure)
 *   probe_exec.c tcpSocket, httpGet and exec probe executors (I/O)
 *   nodeinfo.c  capacity/allocatable, node conditions, the Node object
 *   podrefs.c   the ConfigMaps and Secrets a pod refers to (names pure;
 *               fetching them is the running agent's)
 *   endpoint_proto.c  keys, proofs and request lines of the agent's
 *               logs/exec endpoint (endpoint.c) and the server's relay
 *               (relay.c)
 *
 * Pods are Kubernetes-shaped jansson objects (already validated by the
 * API server, but every function here checks types again and reports
 * the field path, so a hostile object is an error, never a crash).
 * Fallible functions follow STYLE.md §3: int < 0 and struct sk_err. */

#include "api/server.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "runtime/image.h"
#include "runtime/runtime.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* ---- pod -> runtime spec (podspec.c) ---- */

/* Where the pod lives on this node. Host paths the translation derives
 * (relative to pod_dir, created by the sync loop / podfiles.c):
 *
 *   volumes/empty-dir/<vol>        emptyDir (tmpfs when medium Memory)
 *   volumes/configmap/<vol>        projected configMap files
 *   volumes/secret/<vol>           projected secret files
 *   etc-hosts, resolv.conf, hostname   bind-mounted per container
 *   containers/<ctr>/termination-log   terminationMessagePath
 */
struct kl_sandbox {
    const char *pod_dir;       /* absolute, e.g. /var/lib/skiff/pods/<uid> */
    const char *netns_path;    /* joined net namespace (required) */
    const char *ipcns_path;    /* sandbox's ipc ns, NULL: a new one */
    const char *utsns_path;    /* sandbox's uts ns, NULL: a new one */
    const char *pidns_path;    /* shareProcessNamespace: the pod's pid ns */
    const char *cgroup_parent; /* beneath the runtime's cgroup root */
    const char *node_name;
    const char *pod_ip, *host_ip; /* for fieldRef status.podIP/hostIP */
    long long pids_limit;         /* per container, <= 0 for none */
};

/* Objects the pod refers to (configMapKeyRef, secretKeyRef, configMap and
 * secret volumes): arrays of ConfigMap / Secret objects of the pod's
 * namespace; may be NULL. Secret data is base64 as in the API. */
struct kl_refs {
    const json_t *configmaps;
    const json_t *secrets;
};

/* Resolve subPath beneath a volume's host directory without leaving it
 * (kl_subpath_resolve is the real one); *out is malloc'd. */
typedef int (*kl_subpath_fn)(const char *root, const char *subpath, char **out, struct sk_err *err);

/* Check a hostPath volume's type (Directory, DirectoryOrCreate, File,
 * FileOrCreate, Socket, CharDevice, BlockDevice, "" for none),
 * creating it for the ...OrCreate types (kl_hostpath_check is the real
 * one). */
typedef int (*kl_hostpath_fn)(const char *path, const char *type, struct sk_err *err);

struct kl_podspec_in {
    const json_t *pod;
    int init;     /* container from spec.initContainers */
    size_t index; /* index in spec.containers / spec.initContainers */
    const struct rt_image_info *image;
    const struct kl_sandbox *sandbox;
    struct kl_refs refs;
    kl_subpath_fn subpath;   /* NULL: lexical checks only (tests) */
    kl_hostpath_fn hostpath; /* NULL: no type checks (tests) */
};

/* Translate one container of a pod into spec (initialised here from
 * rt_spec_init_default; release with rt_spec_release even on failure).
 * root_path stays the default: mounting the image layers as the rootfs
 * is the caller's. Annotations io.kubernetes.pod.{name,namespace,uid}
 * and io.kubernetes.container.name let a restarted agent re-adopt it.
 * Errors name the field path: "spec.containers[0].env[2].valueFrom.
 * configMapKeyRef: key 'x' not found in configmap 'cfg'". */
int kl_podspec_build(const struct kl_podspec_in *in, struct rt_spec *spec, struct sk_err *err);

/* Kubernetes' $(VAR) expansion (third_party/forked/golang/expansion):
 * $(NAME) is replaced by NAME's value from env ("KEY=value" strings,
 * later entries win) when defined, left as written otherwise; $$ is a
 * literal $. Returns a malloc'd string. */
char *kl_expand(const char *in, char *const *env, size_t nenv);

/* The container's effective command line: command replaces the image's
 * Entrypoint and drops its Cmd, args replaces Cmd; both expanded with
 * env. *argv is a malloc'd vector; empty -> -EINVAL. */
int kl_podspec_argv(const json_t *ctr, const char *path, const struct rt_image_info *image,
                    char *const *env, size_t nenv, char ***argv, size_t *nargv, struct sk_err *err);

/* The container's environment: image Env, then envFrom, then env in
 * order ($(VAR) references to earlier entries; a name defined again
 * replaces the earlier value in place). Service link variables
 * (FOO_SERVICE_HOST) are the sync loop's to add. *env holds malloc'd
 * "K=V" strings. */
int kl_podspec_env(const struct kl_podspec_in *in, const json_t *ctr, const char *path, char ***env,
                   size_t *nenv, struct sk_err *err);

/* /etc/resolv.conf of a pod (dnsPolicy ClusterFirst): nameserver dns
 * (no such line when dns is NULL: no cluster DNS), search
 * <ns>.svc.<domain> svc.<domain> <domain>, options ndots:5. */
void kl_resolv_conf(const char *ns, const char *dns, const char *domain, struct sk_buf *out);
/* /etc/hosts: localhost lines, then "<podIP>\t<hostname>[.<subdomain>...]". */
void kl_etc_hosts(const json_t *pod, const char *pod_ip, const char *domain, struct sk_buf *out);
/* The pod's hostname: spec.hostname or metadata.name, cut to 63 chars. */
int kl_pod_hostname(const json_t *pod, char *out, size_t outsz, struct sk_err *err);

/* The ConfigMaps and Secrets pod refers to (podrefs.c): the names in
 * its configMap/secret volumes, env[].valueFrom.configMapKeyRef/
 * secretKeyRef and envFrom[] of every container and init container,
 * appended to cms and secs (JSON arrays) once each, in first-use order.
 * Malformed entries are skipped: kl_podspec_build reports them. */
void kl_pod_ref_names(const json_t *pod, json_t *cms, json_t *secs);

/* ---- the pod's files (podfiles.c, does I/O) ---- */

/* Resolve root/subpath refusing any escape from root: no absolute path,
 * no "..", and symlinks followed only while they stay beneath root
 * (openat2 RESOLVE_IN_ROOT semantics; CVE-2017-1002101). *out is the
 * canonical host path (malloc'd). */
int kl_subpath_resolve(const char *root, const char *subpath, char **out, struct sk_err *err);

int kl_hostpath_check(const char *path, const char *type, struct sk_err *err);

/* Create the emptyDir vol (spec.volumes[i]) at dir; medium Memory mounts
 * a tmpfs there (size= sizeLimit), shared by the pod's containers. */
int kl_volume_emptydir(const json_t *vol, const char *path, const char *dir, struct sk_err *err);

/* Write the configMap or secret volume vol (spec.volumes[i]) into dir:
 * every key (or only items[]), mode defaultMode/items[].mode, written
 * into a fresh "..data_<n>" directory that is swapped in atomically by
 * renaming a "..data" symlink, as Kubernetes' AtomicWriter does. */
int kl_volume_project(const json_t *vol, const char *path, const struct kl_refs *refs,
                      const char *dir, struct sk_err *err);

/* Write pod_dir/etc-hosts, resolv.conf and hostname (mode 0644). */
int kl_pod_files_write(const json_t *pod, const struct kl_sandbox *sb, const char *dns,
                       const char *domain, struct sk_err *err);

/* ---- pod status (status.c, pure) ---- */

enum kl_ctr_state {
    KL_CTR_UNKNOWN = 0, /* not found in the runtime */
    KL_CTR_WAITING,
    KL_CTR_RUNNING,
    KL_CTR_TERMINATED,
};

struct kl_term {
    int exit_code, signal;
    const char *reason; /* Completed, Error, OOMKilled, ... */
    const char *message;
    const char *started_at, *finished_at; /* RFC 3339 */
    const char *container_id;             /* runtime id, no scheme */
};

/* What the agent observed of one container. */
struct kl_ctr_obs {
    const char *name;
    enum kl_ctr_state state;
    const char *reason, *message; /* waiting */
    const char *started_at;       /* running */
    struct kl_term term;          /* terminated */
    int has_last;
    struct kl_term last; /* lastState.terminated */
    int restart_count;
    bool ready, started;
    const char *image, *image_id, *container_id;
};

struct kl_status_in {
    const json_t *pod;                  /* spec read; status.conditions kept */
    const struct kl_ctr_obs *init_ctrs; /* by name; missing = unknown */
    size_t ninit;
    const struct kl_ctr_obs *ctrs;
    size_t nctrs;
    const char *pod_ip, *host_ip, *start_time;
    const char *now; /* RFC 3339, for changed conditions */
};

/* Build the pod's status object (a new reference in *out). */
int kl_status_build(const struct kl_status_in *in, json_t **out, struct sk_err *err);
/* Phase as Kubernetes' getPhase computes it. */
const char *kl_status_phase(const struct kl_status_in *in);
/* "Guaranteed", "Burstable" or "BestEffort" for spec. */
int kl_status_qos(const json_t *pod, const char **out, struct sk_err *err);
/* True when new differs from old in anything but timestamps that mean
 * the same instant (RFC 3339 spellings) or lastProbeTime. */
bool kl_status_significant(const json_t *old_status, const json_t *new_status);

/* ---- restarts and back-off (restart.c, pure) ---- */

#define KL_BACKOFF_INITIAL_S 10
#define KL_BACKOFF_MAX_S     300
#define KL_BACKOFF_RESET_S   600

/* Should a container that exited with exit_code run again? Init
 * containers restart only on failure, and never under Never. */
bool kl_restart_wanted(const char *policy, bool init, int exit_code);

/* Back-off of one container (pod uid + container name). */
struct kl_backoff {
    char key[320];   /* "<uid>/<container>" */
    int64_t delay_s; /* current back-off, 0 before the first restart */
    int64_t last_s;  /* when it was last updated */
};

enum kl_restart_action {
    KL_RESTART_NONE = 0, /* policy says stay terminated */
    KL_RESTART_NOW,
    KL_RESTART_WAIT,
};

struct kl_restart_out {
    enum kl_restart_action action;
    int64_t wait_until_s;
    char reason[32];   /* "CrashLoopBackOff" when waiting */
    char message[512]; /* "back-off 40s restarting failed container=..." */
};

struct kl_restart_in {
    const char *policy;
    bool init;
    int exit_code;
    int64_t started_s, finished_s; /* of the run that ended */
    int64_t now_s;
    const char *pod_name, *pod_ns, *pod_uid, *container;
};

/* Decide; bo is the container's back-off state, updated when a restart
 * is due now (Kubernetes' Backoff.Next), reset when the run that ended
 * lasted KL_BACKOFF_RESET_S or more. */
void kl_restart_decide(const struct kl_restart_in *in, struct kl_backoff *bo,
                       struct kl_restart_out *out);

/* A small table of back-off entries. */
struct kl_backoff_table {
    struct kl_backoff *v;
    size_t n, cap;
};
void kl_backoff_table_init(struct kl_backoff_table *t);
void kl_backoff_table_release(struct kl_backoff_table *t);
/* Find or add the entry; the pointer is valid until the next get/gc. */
struct kl_backoff *kl_backoff_get(struct kl_backoff_table *t, const char *uid, const char *ctr);
/* Forget entries not updated for 2 * KL_BACKOFF_MAX_S (Kubernetes' GC). */
void kl_backoff_table_gc(struct kl_backoff_table *t, int64_t now_s);

/* ---- probes (probe.c pure, probe_exec.c I/O) ---- */

enum kl_probe_kind { KL_PROBE_LIVENESS = 0, KL_PROBE_READINESS, KL_PROBE_STARTUP, KL_PROBE_NKINDS };
enum kl_probe_handler { KL_PROBE_NONE = 0, KL_PROBE_EXEC, KL_PROBE_HTTP, KL_PROBE_TCP };
enum kl_probe_result { KL_PROBE_UNKNOWN = 0, KL_PROBE_SUCCESS, KL_PROBE_FAILURE };

struct kl_probe {
    enum kl_probe_handler handler;
    int64_t initial_delay_s, period_s, timeout_s, success_threshold, failure_threshold;
    /* handler arguments, borrowed from the pod */
    const json_t *exec_command;
    const char *http_path, *http_host, *http_scheme;
    const json_t *http_headers;
    int port; /* resolved (named ports through the container's ports) */
};

/* Parse container.<livenessProbe|readinessProbe|startupProbe> (defaults
 * 0/10/1/1/3); probe->handler is KL_PROBE_NONE when absent. */
int kl_probe_parse(const json_t *ctr, const char *path, enum kl_probe_kind kind,
                   struct kl_probe *probe, struct sk_err *err);

struct kl_probe_state {
    enum kl_probe_result result;
    int64_t successes, failures;
    int64_t next_ms; /* when the next probe is due, 0: not scheduled */
};

/* The probes of one running container. */
struct kl_probes {
    struct kl_probe spec[KL_PROBE_NKINDS];
    struct kl_probe_state st[KL_PROBE_NKINDS];
    int64_t started_ms; /* container start, monotonic */
};

enum kl_probe_action {
    KL_PROBE_ACT_NONE = 0,
    KL_PROBE_ACT_RESTART,      /* liveness or startup failed: kill, restart */
    KL_PROBE_ACT_READY_CHANGED /* readiness flipped */
};

/* Reset for a container that started at started_ms: readiness starts
 * failed, liveness successful, startup unknown (gating the others). */
void kl_probes_start(struct kl_probes *p, int64_t started_ms);
/* Which probe is due at now_ms (or -1); *wake_ms: when to ask again. */
int kl_probes_due(const struct kl_probes *p, int64_t now_ms, int64_t *wake_ms);
/* Record the outcome of probe kind at now_ms; returns the action.
 * out_reason/out_message get "Unhealthy" / "Liveness probe failed: ..."
 * for a restart. */
enum kl_probe_action kl_probes_record(struct kl_probes *p, enum kl_probe_kind kind,
                                      enum kl_probe_result r, const char *output, int64_t now_ms,
                                      char *out_message, size_t msgsz);
/* Container ready/started as the status reports it. */
bool kl_probes_ready(const struct kl_probes *p);
bool kl_probes_started(const struct kl_probes *p);

/* Executors. netns_fd: the pod's network namespace (-1: the caller's).
 * The socket is created inside the netns on a short-lived thread
 * (net_netns_run) and used from the caller's thread: a socket keeps the
 * namespace it was created in, so no thread of the agent stays in a pod
 * netns. Output (a failure reason) goes to msg. */
enum kl_probe_result kl_probe_tcp(int netns_fd, const char *host, int port, int64_t timeout_ms,
                                  struct sk_buf *msg);
enum kl_probe_result kl_probe_http(int netns_fd, const char *host, int port, const char *path,
                                   const json_t *headers, int64_t timeout_ms, struct sk_buf *msg);
/* command (a JSON array of strings) through rt_container_exec with the
 * container's process settings base (env, user, cwd), in a child process
 * in its own process group that is killed at the timeout; exit 0 is
 * success; the output (first 1 KiB) is kept in msg. */
enum kl_probe_result kl_probe_exec(const struct rt_ctx *ctx, const char *id,
                                   const struct rt_process *base, const json_t *command,
                                   int64_t timeout_ms, struct sk_buf *msg);

/* ---- lifecycle hooks (lifecycle.c pure, hook_run.c I/O) ----
 *
 * container.lifecycle.postStart runs right after the container started
 * (it is not ready before the hook is done; a failed hook kills the run,
 * event FailedPostStartHook); lifecycle.preStop runs when the pod is
 * deleted, before the container's SIGTERM, inside the grace period: the
 * SIGKILL at the end of the grace period comes whatever the hook does
 * (event FailedPreStopHook for a failed or cut hook). */

enum kl_hook_kind { KL_HOOK_POST_START = 0, KL_HOOK_PRE_STOP };
enum kl_hook_handler { KL_HOOK_NONE = 0, KL_HOOK_EXEC, KL_HOOK_HTTP, KL_HOOK_SLEEP };

struct kl_hook {
    enum kl_hook_handler handler;
    /* borrowed from the pod, as struct kl_probe's */
    const json_t *exec_command;
    const char *http_path, *http_host;
    const json_t *http_headers;
    int port;
    int64_t sleep_s;
};

/* Parse container.lifecycle.<postStart|preStop>; handler KL_HOOK_NONE
 * when absent, and for tcpSocket (deprecated: Kubernetes' kubelet does
 * nothing for it either). HTTPS is refused (-ENOTSUP). */
int kl_hook_parse(const json_t *ctr, const char *path, enum kl_hook_kind kind, struct kl_hook *hook,
                  struct sk_err *err);
/* "PostStart" or "PreStop", for messages. */
const char *kl_hook_name(enum kl_hook_kind kind);

/* ---- the node (nodeinfo.c) ---- */

struct kl_node_facts {
    int64_t mem_total, mem_available; /* bytes */
    int64_t ncpu;
    int64_t disk_total, disk_avail; /* bytes of the data dir's filesystem */
    int64_t pid_max, pids;
    char kernel[128], os_image[256], arch[32], hostname[256];
};

struct kl_node_config {
    const char *name;       /* NULL: facts.hostname */
    const char *address;    /* InternalIP, may be NULL */
    int64_t max_pods;       /* default 110 */
    int64_t reserved_cpu_m; /* millicores */
    int64_t reserved_mem;   /* bytes */
    int64_t mem_pressure;   /* MemAvailable below: pressure (100Mi) */
    int disk_pressure_pct;  /* free below: pressure (10) */
    int pid_pressure_pct;   /* used above: pressure (90) */
    int endpoint_port;      /* status.daemonEndpoints.kubeletEndpoint.Port; <= 0: none */
    /* The pod network is not set up (no podCIDR yet): Ready is False,
     * as a kubelet whose network plugin is not ready reports it. */
    bool network_not_ready;
};

void kl_node_config_defaults(struct kl_node_config *cfg);
/* Parse /proc/meminfo text: MemTotal and MemAvailable in bytes. */
int kl_meminfo_parse(const char *text, int64_t *total, int64_t *available, struct sk_err *err);
/* PRETTY_NAME of an os-release text ("Linux" when missing). */
void kl_os_release_pretty(const char *text, char *out, size_t outsz);
/* Read the facts of this host (data_dir: for DiskPressure). */
int kl_node_facts_read(const char *data_dir, struct kl_node_facts *f, struct sk_err *err);

/* Conditions: 1 under pressure, 0 not. */
bool kl_node_memory_pressure(const struct kl_node_facts *f, const struct kl_node_config *c);
bool kl_node_disk_pressure(const struct kl_node_facts *f, const struct kl_node_config *c);
bool kl_node_pid_pressure(const struct kl_node_facts *f, const struct kl_node_config *c);
/* Capacity and allocatable (allocatable = capacity - reserved, >= 0). */
void kl_node_allocatable(const struct kl_node_facts *f, const struct kl_node_config *c,
                         int64_t *cpu_m, int64_t *mem, int64_t *pods);
/* The Node object (metadata, status.capacity/allocatable/conditions/
 * nodeInfo/addresses); prev: the last written object or NULL, whose
 * condition transition times are kept when a status did not change. */
json_t *kl_node_build(const struct kl_node_facts *f, const struct kl_node_config *c,
                      const json_t *prev, const char *now);

/* ---- pure pieces of the running agent ---- */

/* The runtime id of a container run (runid.c):
 * "<pod uid>_<container>_<attempt>", attempt >= 1. Returns -1 when it
 * did not fit. parse: false for an id of another shape. */
int kl_run_id_format(const char *uid, const char *name, int attempt, char *out, size_t outsz);
bool kl_run_id_parse(const char *id, char *uid, size_t uidsz, char *name, size_t namesz,
                     int *attempt);
/* The grace period of a pod being deleted, in ms: metadata.
 * deletionGracePeriodSeconds, else spec.terminationGracePeriodSeconds,
 * else 30 s (pod_sync.c). */
int64_t kl_pod_grace_ms(const json_t *pod);
/* True when a condition of new_node has another status than in old
 * (or the set of types differs): the node's status must be written
 * before the heartbeat is due (node_status.c). */
bool kl_node_conditions_changed(const json_t *old, const json_t *new_node);

/* ---- the agent: `skiffd agent` (agent.c and the files it names) ----
 *
 * The running node agent on one event loop: registers the Node and
 * keeps its status (node_status.c), watches the pods bound to it and
 * converges each one (pod_sync.c: sandbox.c for the network namespace
 * and pod network, pod_worker.c for containers, pod_status.c for the
 * status writes), re-adopts what the runtime still runs after a restart
 * and removes what belongs to no pod of this node (adopt.c). */

struct sk_loop;
struct kl_agent;

struct kl_agent_config {
    const char *server;       /* UNIX socket path or host:port */
    const char *token;        /* NULL or "": none */
    const char *node_name;    /* required */
    const char *address;      /* InternalIP; NULL or "": detected */
    const char *runtime_root; /* containers/, pods/, ipam */
    const char *image_root;
    const char *cgroup_root;  /* beneath the agent's own cgroups */
    const char *cluster_cidr; /* podCIDRs are parts of it */
    /* Without spec.podCIDR from node IPAM, claim a /24 of cluster_cidr
     * through ConfigMaps (node_status.c); false: wait for node IPAM. */
    bool pod_cidr_claim;
    const char *service_cidr; /* gets an unreachable route; NULL: none */
    const char *bridge;
    bool masquerade; /* egress.c: table ip skiff-nat; false removes it */
    uint64_t heartbeat_ms;
    int64_t max_pods, reserved_cpu_m, reserved_mem;
    const char *monitor_exe; /* skiff-runtime for the monitors, or NULL */
    const char *pause_exe;   /* run as `<pause_exe> _pause` in each sandbox */
    uint32_t sync_ms;        /* periodic convergence; 0: 1000 */
    /* The cluster DNS server (services.c), on the pod gateway address. */
    bool dns_enabled;
    unsigned dns_port;                    /* 0: 53 */
    const char *dns_domain;               /* NULL or "": cluster.local */
    uint32_t dns_ttl_s;                   /* 0: 30 */
    const char *dns_upstream_resolv_conf; /* nameservers for other names; NULL or "": REFUSED */
    int dns_upstream_timeout_ms;          /* 0: 2000 */
    size_t dns_cache_size;
    /* The logs/exec endpoint (endpoint.c): "HOST:PORT" (":10250" every
     * address; port 0 picks one), "" or NULL: none. key: this node's
     * key (kl_ep_key_derive); without one the endpoint stays off. */
    const char *endpoint_listen;
    const char *endpoint_key;
};

/* Start the agent on loop (it connects, registers and syncs from the
 * loop's callbacks). Fails for a bad configuration or a host that
 * cannot run pods (no image store, IPv4 forwarding off). */
int kl_agent_start(struct sk_loop *loop, const struct kl_agent_config *cfg, struct kl_agent **out,
                   struct sk_err *err);
/* Stop watching and free; the pods' containers keep running. */
void kl_agent_free(struct kl_agent *a);

/* The service proxy's figures (net/proxy.h); false while the proxy
 * has not started (the podCIDR is not known yet). */
struct net_proxy_metrics;
bool kl_agent_proxy_metrics(const struct kl_agent *a, struct net_proxy_metrics *out);

/* The nameserver addresses of a resolv.conf text ("nameserver ADDR"
 * lines, IPv4 or IPv6 literals, in order; others and bad addresses are
 * skipped), at most max of them, each copied into out[i] (64 bytes).
 * Returns how many. */
size_t kl_resolv_conf_nameservers(const char *text, char (*out)[64], size_t max);

/* The endpoint's bound TCP port, or -1 when it is off. */
int kl_agent_endpoint_port(const struct kl_agent *a);

/* The text of CRI log records (`<time> <stream> <F|P> <text>` lines):
 * full lines appended to out, each ending in "\n", partial records
 * joined; malformed records skipped; only the last tail lines when
 * tail >= 0. Returns the number of lines appended. */
size_t kl_cri_log_lines(const char *text, size_t len, int64_t tail, struct sk_buf *out);
/* The same; with timestamps each line starts with its record's time and
 * a space (kubectl logs --timestamps). */
size_t kl_cri_log_lines_ts(const char *text, size_t len, int64_t tail, bool timestamps,
                           struct sk_buf *out);

/* ---- the agent endpoint and the API server's relay ----
 *
 * The agent serves container logs and exec on a TCP port of its own
 * (endpoint.c; the wire format is described there), recorded in its
 * Node as status.daemonEndpoints.kubeletEndpoint.Port. Only the API
 * server is served: it proves, per request, that it holds the node's
 * key (endpoint_proto.c). The server's `logs` and `exec` verbs
 * (relay.c) authorize the caller, find the pod's node and relay. */

#define KL_EP_DEFAULT_PORT 10250
#define KL_EP_MAC_HEX      65 /* 64 hex digits and a NUL */
#define KL_EP_NONCE_HEX    33
#define KL_EP_MAX_WORDS    256

/* The key of node from the server's master key (hex, NUL-terminated). */
void kl_ep_key_derive(const void *master, size_t len, const char *node, char out[KL_EP_MAC_HEX]);
/* The proof for request (the full request line) under key and nonce. */
void kl_ep_mac(const char *key, const char *nonce, const char *request, char out[KL_EP_MAC_HEX]);
/* Constant-time check of a proof; false for an empty key. */
bool kl_ep_mac_ok(const char *key, const char *nonce, const char *request, const char *mac);
/* A fresh random nonce (hex). */
int kl_ep_nonce(char out[KL_EP_NONCE_HEX], struct sk_err *err);

enum kl_ep_verb { KL_EP_LOGS = 0, KL_EP_EXEC };

/* One request: `logs NS POD [container=C] [previous] [follow]
 * [timestamps] [tail=N]` or `exec NS POD [container=C] [stdin] [tty]
 * [rows=N cols=N] -- CMD [ARG...]`, words percent-encoded as in
 * skiff-protocol(7). Strings point into buf. */
struct kl_ep_req {
    enum kl_ep_verb verb;
    const char *ns, *pod, *container; /* container NULL: the only one */
    bool previous, follow, timestamps;
    bool stdin_open, tty; /* exec: a framed stream (exec_frame.c) */
    unsigned rows, cols;  /* tty: its first size; 0: the kernel's */
    int64_t tail;         /* -1: all */
    char **argv;          /* exec: NULL-terminated */
    size_t argc;
    char *buf;
    char *words[KL_EP_MAX_WORDS + 1];
};
/* Parse line into r (release r even after a failure); -EBADMSG with a
 * usage message. */
int kl_ep_req_parse(const char *line, struct kl_ep_req *r, struct sk_err *err);
void kl_ep_req_release(struct kl_ep_req *r);

/* ---- interactive exec frames (exec_frame.c; the format is there) ---- */

#define KL_FRAME_CHUNK (32u << 10) /* payload bytes of one data frame at most */

enum kl_frame_type {
    KL_FRAME_STDIN,
    KL_FRAME_STDIN_EOF,
    KL_FRAME_RESIZE,
    KL_FRAME_STDOUT,
    KL_FRAME_STDERR,
    KL_FRAME_EXIT,
};
struct kl_frame {
    enum kl_frame_type type;
    char *data; /* stdin, stdout, stderr: the decoded bytes, inside the line */
    size_t len;
    unsigned rows, cols; /* resize */
    int status;          /* exit */
};
/* Append "TAG BASE64\n" for len bytes (len <= KL_FRAME_CHUNK). */
void kl_frame_put_data(struct sk_buf *out, const char *tag, const void *data, size_t len);
/* Parse one frame line (without its "\n"); data frames are decoded in
 * place, so f->data points into line. -EBADMSG for an unknown frame,
 * bad base64, a payload over KL_FRAME_CHUNK, or a size out of range. */
int kl_frame_parse(char *line, struct kl_frame *f, struct sk_err *err);

/* The API server's side: registers `logs` and `exec` on srv (replacing
 * the objects module's 501 answers). Lookups of pods and nodes go
 * through an API client of server (the server's own socket); authorize
 * (may be NULL: allow) checks `get pods/log` and `create pods/exec`.
 * Without a master key every request is answered 503. */
struct kl_relay;
struct kl_relay_config {
    const char *server;
    const void *key; /* master key, or NULL */
    size_t keylen;
    api_authorize_fn authorize;
    void *authorize_arg;
    uint32_t connect_timeout_ms; /* 0: 5000 */
};
int kl_relay_start(struct sk_loop *loop, struct api_server *srv, const struct kl_relay_config *cfg,
                   struct kl_relay **out, struct sk_err *err);
/* Ends the relayed requests in flight (503 or the end of their
 * stream) and frees. NULL is a no-op. */
void kl_relay_free(struct kl_relay *r);

/* The sandbox process (`skiffd _pause`): holds the pod's network
 * namespace until killed. Returns an exit status. */
int kl_pause_main(void);

#endif
