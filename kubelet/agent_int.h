#ifndef KL_AGENT_INT_H
#define KL_AGENT_INT_H

/* Private to the running agent (agent.c, node_status.c, sandbox.c,
 * pod_sync.c, pod_worker.c, pod_status.c, adopt.c).
 *
 * Layout under the runtime root:
 *
 *   containers/<id>          the runtime's state dir (struct rt_ctx.root);
 *                            id = "<pod uid>_<container>_<attempt>"
 *   pods/<uid>/              the pod's directory (struct kl_sandbox.pod_dir)
 *     sandbox                "PID STARTTIME\n" of the pause process whose
 *                            network namespace the pod's containers join
 *     runs/<id>/{upper,work,rootfs}   one overlay rootfs per container run
 *     logs/<container>/<attempt>.log  CRI-format stdout/stderr
 *   ipam                     net/ipam.c's allocation file for the podCIDR
 *
 * Everything the agent needs after a restart is in these files and in
 * the runtime's state: it keeps no other state on disk. */

#include "api/aclient.h"
#include "api/events.h"
#include "api/informer.h"
#include "kubelet/kl_int.h"
#include "net/dns.h"
#include "net/net.h"
#include "net/proxy.h"

#include <limits.h>
#include <sys/types.h>

#define KL_ID_MAX 128

/* One cgroup sample of a container (stats.c). */
struct kl_ctr_sample {
    int64_t at_ns;                        /* realtime; 0: none */
    uint64_t cpu_ns, mem_bytes, ws_bytes; /* usage, working set */
};

/* One sample of the node (/proc/stat, /proc/meminfo). */
struct kl_node_sample {
    int64_t at_ns;
    uint64_t cpu_ns, mem_used, mem_avail;
};

/* A run that terminated. */
struct kl_aterm {
    int exit_code, signal;
    char reason[32], finished_at[40], started_at[40], id[KL_ID_MAX];
    int64_t finished_s;
};

/* One container of a pod as the agent tracks it. */
struct kl_actr {
    char name[64];
    bool init;
    size_t index;
    int attempt;         /* runs so far (the current one's number) */
    char id[KL_ID_MAX];  /* runtime id of the current run, "" none */
    char started_at[40]; /* of the current run */
    int64_t started_s;
    enum kl_ctr_state state; /* as last observed */
    char reason[64];         /* waiting reason */
    char *message;           /* waiting message, kl_msg_set; NULL: none */
    struct kl_aterm term;    /* terminated: of the current run */
    struct kl_aterm last;    /* lastState */
    bool has_last;
    struct kl_probes probes;
    bool probes_on;
    json_t *probe_pod; /* the pod the probes borrow their strings from */
    char image_id[RT_IMAGE_DIGEST_LEN];
    /* hook_run.c: the postStart or preStop hook of this run, while it runs */
    pid_t hook_pid;            /* 0: none */
    int hook_fd;               /* its message pipe (valid while hook_pid > 0) */
    int hook_pidfd;            /* watched for its exit, or -1 (valid while hook_pid > 0) */
    struct sk_loop *hook_loop; /* where hook_pidfd is watched */
    enum kl_hook_kind hook_kind;
    int64_t hook_deadline_ms;
    bool poststart_failed; /* the run was killed for its postStart hook */
    /* stats.c: the last two cgroup samples of the current run */
    struct kl_ctr_sample stats[2];
};

struct kl_apod {
    char uid[64], ns[64], name[256];
    json_t *obj; /* latest object (a reference), NULL once gone */
    bool gone;   /* deleted from the API: tear down, no API delete */
    char *dir;   /* <pods_root>/<uid>, malloc'ed (not PATH_MAX per pod: issue 7) */
    pid_t sandbox_pid;
    unsigned long long sandbox_start;
    char ip[NET_IP_STRLEN];
    char start_time[40];
    struct kl_actr *ctrs; /* init containers first, then app containers */
    size_t nctrs;
    json_t *written;  /* last status written (or read back) */
    bool status_busy; /* a status write in flight */
    bool terminating;
    int64_t kill_at_ms; /* SIGKILL what still runs at this time */
    bool delete_sent;
    bool done;           /* torn down: free at the next sync */
    char *sandbox_error; /* kl_msg_set; NULL: none */
    bool files_written;  /* etc-hosts, resolv.conf, hostname */
    /* podrefs.c: the ConfigMaps [0] and Secrets [1] the pod refers to */
    json_t *refs[2];      /* last complete round (arrays), NULL before */
    json_t *refs_next[2]; /* the round in flight */
    struct kl_refcall **refs_calls;
    size_t nrefs_calls, refs_pending;
    bool refs_failed, refs_ready;
    int64_t refs_at_ms;     /* monotonic start of the last round */
    unsigned refs_gen;      /* moves on when a round brought changes */
    unsigned projected_gen; /* refs_gen the volumes were last written for */
    bool projected;
    char *volume_error; /* last failed volume update, reported once (kl_msg_set) */
};

struct kl_agent {
    struct kl_agent_config cfg;
    char *server, *token, *node_name, *address, *runtime_root, *image_root, *cgroup_root, *bridge;
    char *monitor_exe, *pause_exe;
    char ctr_root[PATH_MAX], pods_root[PATH_MAX];
    struct net_cidr cluster;
    struct sk_loop *loop;
    struct api_aclient *client;
    struct api_informer *pods_inf;
    struct api_informer *nodes_inf; /* routes.c */
    struct rt_ctx rt;
    struct rt_image_store images;
    struct kl_backoff_table backoff;
    struct nl_sock *nl;
    struct ipam ipam;
    bool net_ready;
    char pod_cidr[NET_CIDR_STRLEN];
    char host_ip[NET_IP_STRLEN]; /* the node's InternalIP, for status.hostIP */
    /* node status */
    json_t *node; /* last Node written or read */
    bool node_registered, node_busy;
    bool cidr_waiting; /* told the log we wait for node IPAM */
    int64_t node_written_ms;
    uint64_t node_timer, sync_timer;
    bool adopted; /* orphan cleanup done after the first sync */
    struct kl_apod **pods;
    size_t npods, cap;
    /* services.c: the service proxy and the cluster DNS server */
    char *dns_domain, *dns_resolv_conf;
    struct api_informer *svc_inf, *ep_inf;
    struct net_proxy *proxy;
    struct net_ip *node_ips; /* NodePort addresses */
    size_t n_node_ips;
    struct net_cidr service;    /* family 0: no service CIDR configured */
    struct dns_server *dns;     /* started after the first full sync */
    char dns_ip[NET_IP_STRLEN]; /* pods' nameserver; "" without DNS */
    uint64_t svc_timer;         /* a pending sync */
    bool svc_synced;            /* the first full sync was applied */
    bool svc_route;             /* the service CIDR routes to the bridge */
    char svc_error[256];        /* last sync error logged (not repeated) */
    struct kl_ep *ep;           /* NULL: no endpoint */
    /* egress.c: the masquerade table; NULL with agent.masquerade off */
    struct net_masq *masq;
    char masq_error[256]; /* last error logged (not repeated) */
    uint64_t hook_timer;  /* hook_run.c: watches running hooks */
    uint64_t stats_timer; /* stats.c: the periodic sample */
    struct kl_node_sample node_stats[2];
    /* netgone.c: pods whose veth is waited for before their address
     * is released */
    struct kl_netgone *gone;
    size_t ngone, gone_cap;
    uint64_t gone_timer, gone_delay_ms;
};

/* agent.c */
struct kl_apod *kl_agent_pod_find(struct kl_agent *a, const char *uid);
void kl_agent_now(char *out, size_t outsz);
int64_t kl_agent_now_s(void);

/* node_status.c: register the Node, pick the podCIDR, heartbeat. */
void kl_node_start(struct kl_agent *a);
void kl_node_tick(struct kl_agent *a);

/* sandbox.c: the pause process, its netns and the pod network. */
int kl_sandbox_ensure(struct kl_agent *a, struct kl_apod *p, struct sk_err *err);
bool kl_sandbox_alive(const struct kl_apod *p);
int kl_sandbox_load(struct kl_apod *p);
void kl_sandbox_teardown(struct kl_agent *a, const char *uid, const char *dir);
unsigned long long kl_proc_starttime(pid_t pid);
/* rm -rf --one-file-system (never crosses into a mount left behind). */
int kl_rm_rf(const char *path);

/* netgone.c: the pod's veth goes with its netns (killed sandbox); a
 * timer checks it is gone, then releases the address (RTM_DELLINK after
 * 30 s). reconcile: after a restart, every allocation whose owner is not
 * in live is waited for the same way. */
struct kl_netgone;
void kl_netgone_add(struct kl_agent *a, const char *uid);
int kl_netgone_reconcile(struct kl_agent *a, const char *const *live, size_t nlive,
                         struct sk_err *err);
void kl_netgone_free(struct kl_agent *a);

/* pod_worker.c: container runs. */
int kl_ctr_start(struct kl_agent *a, struct kl_apod *p, struct kl_actr *c, struct sk_err *err);
void kl_ctr_observe(struct kl_agent *a, struct kl_apod *p, struct kl_actr *c);
void kl_ctr_remove(struct kl_agent *a, const char *dir, const char *id);
int kl_ctr_signal(struct kl_agent *a, struct kl_actr *c, int sig);
void kl_ctr_probe(struct kl_agent *a, struct kl_apod *p, struct kl_actr *c);

/* hook_run.c: start c's hook of kind (1: started, 0: c has none, <0:
 * it could not start, reported as a failed hook). kl_hook_done is true
 * once no hook of c runs (reaping and reporting the one that ended, or
 * killing it a little after its deadline); kl_hook_abandon kills and
 * reaps it unreported. */
/* Kubernetes puts no bound on a postStart hook; skiff gives up (and
 * kills the run, as for a failed hook) after this long. */
#define KL_POSTSTART_MAX_MS 120000
int kl_hook_start(struct kl_agent *a, struct kl_apod *p, struct kl_actr *c, enum kl_hook_kind kind,
                  int64_t deadline_ms);
bool kl_hook_done(struct kl_agent *a, struct kl_apod *p, struct kl_actr *c);
void kl_hook_abandon(struct kl_actr *c);
void kl_hooks_stop(struct kl_agent *a);

/* stats.c: sample every container's cgroup every KL_STATS_PERIOD_MS
 * (and on demand when the last sample is older than a second); the
 * endpoint's `stats` answer. */
#define KL_STATS_PERIOD_MS 10000
void kl_stats_start(struct kl_agent *a);
void kl_stats_stop(struct kl_agent *a);
/* "ok 1 stats\n" and the summary JSON line, appended to out. */
void kl_stats_reply(struct kl_agent *a, struct sk_buf *out);

/* routes.c: host-gw routes to the other nodes' podCIDRs. */
int kl_routes_start(struct kl_agent *a, struct sk_err *err);

/* egress.c: the masquerade table (agent.masquerade): applied with the
 * routes, checked for drift every sync tick, left in place at stop. */
int kl_egress_start(struct kl_agent *a, struct sk_err *err);
void kl_egress_tick(struct kl_agent *a);
void kl_egress_stop(struct kl_agent *a);

/* services.c: informers on Services and Endpoints driving the service
 * proxy and the DNS server; start once the podCIDR is known, tick on
 * every sync (drift repair), stop in kl_agent_free. */
int kl_services_start(struct kl_agent *a, struct sk_err *err);
void kl_services_tick(struct kl_agent *a);
void kl_services_stop(struct kl_agent *a);

/* pod_sync.c */
void kl_pod_sync(struct kl_agent *a, struct kl_apod *p);
void kl_pod_free(struct kl_apod *p);
int kl_pod_setup_ctrs(struct kl_apod *p, struct sk_err *err);

/* podrefs.c: fetch (again) the ConfigMaps and Secrets the pod refers
 * to, at most every KL_REFS_REFRESH_MS; release cancels what is in
 * flight and drops the copies. */
#define KL_REFS_REFRESH_MS 5000
struct kl_refcall;
void kl_pod_refs_sync(struct kl_agent *a, struct kl_apod *p);
void kl_pod_refs_release(struct kl_apod *p);

/* pod_worker.c: emptyDir volumes (created once) and configMap/secret
 * volumes (projected again when p->refs_gen moved on). */
int kl_pod_volumes(struct kl_apod *p, struct sk_err *err);

/* logs.c: a log file from offset from (< 0: its newest 8 MiB, the cut
 * first line dropped) to EOF (at most 8 MiB), *end the offset reached;
 * the pod of this node by name; its container by name or the only app
 * container (NULL with the message for the caller). */
int kl_log_read(const char *path, off_t from, struct sk_buf *out, off_t *end, struct sk_err *err);
struct kl_apod *kl_agent_pod_by_name(struct kl_agent *a, const char *ns, const char *name);
struct kl_actr *kl_pod_pick_ctr(struct kl_apod *p, const char *name, char *msg, size_t msgsz);

/* endpoint.c: the logs/exec endpoint. */
struct kl_ep;
int kl_ep_start(struct kl_agent *a, const char *listen, const char *key, struct kl_ep **out,
                struct sk_err *err);
int kl_ep_port(const struct kl_ep *ep);
void kl_ep_free(struct kl_ep *ep);

/* pod_status.c */
void kl_pod_status_write(struct kl_agent *a, struct kl_apod *p);
void kl_pod_event(struct kl_agent *a, struct kl_apod *p, const char *type, const char *reason,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* adopt.c: runtime containers and pod dirs after a restart. */
void kl_adopt_pod(struct kl_agent *a, struct kl_apod *p);
void kl_orphans_clean(struct kl_agent *a);

#endif
