#ifndef SK_CONFIG_H
#define SK_CONFIG_H

/* The schema of /etc/skiff/skiffd.conf: the one configuration loader of
 * skiffd (server and agent). skiffd.conf(5) documents every key, and
 * t/unit/test_config.c checks that the man page and etc/skiffd.conf
 * name every option of the table below, so adding a key means adding it
 * to config.c, the struct, the man page and the example file.
 *
 * Order of precedence: built-in defaults, then the file, then
 * command-line flags (sk_config_set) in the order given. A daemon that
 * reloads on SIGHUP loads into a fresh struct and keeps the old one
 * when the new file has problems.
 *
 * String fields are heap strings owned by the struct, never NULL after
 * sk_config_init(); "" means the feature is off where the key allows an
 * empty value. */

#include "conf.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define SK_CONFIG_PATH "/etc/skiff/skiffd.conf"

struct sk_config {
    struct {
        char *name;                     /* member name (default: host name) */
        char *data_dir;                 /* absolute path */
        char *socket;                   /* API UNIX socket path */
        char *socket_mode;              /* octal, validated: strtoul(s, NULL, 8) is safe */
        char *socket_group;             /* group name; "" = keep the daemon's group */
        char *listen;                   /* TCP API host:port; "" = no TCP */
        char *peer_listen;              /* Raft peer host:port; "" = single server */
        char *peers;                    /* "name=host:port,..." validated; "" = none */
        char *cluster_secret_file;      /* absolute path or "" */
        char *token_file;               /* absolute path or "" */
        char *agent_key_file;           /* absolute path or "": logs/exec relay off */
        uint64_t max_requests_inflight; /* over all connections */
        uint64_t max_client_requests;   /* per connection */
        uint64_t auth_timeout_ms;       /* unauthenticated TCP peers */
        char *service_cidr;             /* IPv4 network, /12 to /30: ClusterIPs handed out */
        char *node_port_range;          /* "LO-HI", validated: sk_config_port_range_parse */
    } server;
    struct {
        char *local_users;  /* "ID=USER[/GROUP,...] ..." validated; "" = none */
        char *local_groups; /* "ID=GROUP[,GROUP...] ..." validated; "" = none */
    } auth;
    struct {
        uint64_t snapshot_every;        /* log entries between snapshots */
        uint64_t election_timeout_ms;   /* Raft election timeout */
        uint64_t heartbeat_interval_ms; /* Raft leader heartbeat */
        bool fsync;
    } store;
    struct {
        char *node_name;    /* default: host name */
        char *runtime_root; /* absolute path */
        char *cgroup_root;  /* relative to the daemon's own cgroup */
        char *cluster_cidr; /* IPv4 network, pod addresses */
        char *service_cidr; /* IPv4 network, ClusterIPs */
        char *bridge;       /* interface name, at most 15 bytes */
        bool masquerade;    /* pods' traffic leaving the cluster gets the node's address */
        uint64_t heartbeat_interval_ms;
        char *server;     /* UNIX socket path or host:port; "" = server.socket */
        char *token_file; /* absolute path or "" */
        char *image_root; /* absolute path */
        char *address;    /* InternalIP or "" (detected) */
        uint64_t max_pods;
        uint64_t reserved_cpu_m;  /* millicores */
        uint64_t reserved_memory; /* bytes */
        char *endpoint_listen;    /* host:port of the logs/exec endpoint; "" = off */
        char *endpoint_key_file;  /* absolute path or "" */
        bool pod_cidr_claim;      /* claim a podCIDR through ConfigMaps (no node IPAM) */
    } agent;
    struct {
        bool enabled;               /* the agent runs the cluster DNS server */
        uint64_t port;              /* on the node's pod gateway address */
        char *domain;               /* cluster domain, a DNS name */
        uint64_t ttl_ms;            /* of every record */
        char *upstream_resolv_conf; /* nameservers for other names; "" = REFUSED */
        uint64_t upstream_timeout_ms;
        uint64_t cache_size; /* forwarded answers kept */
    } dns;
    struct {
        bool enabled;                    /* run the scheduler on the store's leader */
        uint64_t backoff_initial_ms;     /* first retry delay of a pod that did not fit */
        uint64_t backoff_max_ms;         /* cap of the doubled delay */
        uint64_t unschedulable_retry_ms; /* retry a parked pod after this anyway */
        uint64_t weights[6];             /* score weights, enum sched_score order */
    } scheduler;
    struct {
        bool enabled;                 /* run the controller manager on the store's leader */
        uint64_t workers;             /* reconciles in flight per controller */
        uint64_t resync_ms;           /* full resync of every informer */
        uint64_t node_grace_ms;       /* silence before a node is marked Unknown */
        uint64_t node_cidr_mask_size; /* prefix length of each node's podCIDR */
        char *server;                 /* `skiffd controllers`: the API server */
        char *token_file;             /* absolute path or "" */
        uint64_t lease_ms;            /* leader election lease duration */
    } controllers;
    struct {
        int level;   /* enum sk_log_level */
        int format;  /* enum sk_log_format */
        bool syslog; /* syslog(3) instead of stderr */
    } log;
};

/* The option table (ended by an entry with section == NULL), in the
 * order the man page and example file list the keys. */
const struct sk_conf_opt *sk_config_options(void);

/* Set every field to its default; server.name and agent.node-name get
 * the host name (lower-cased; "localhost" if gethostname fails).
 * Allocates: call sk_config_release(). */
void sk_config_init(struct sk_config *cfg);

/* Free the strings; cfg can be re-initialized afterwards. */
void sk_config_release(struct sk_config *cfg);

/* Load the file at path over cfg (call sk_config_init first), then run
 * the checks of sk_config_validate(), all of them even after bad lines.
 * Every problem goes to diag as "PATH:LINE: message" ("PATH: message"
 * for the cross checks). Returns 0, or <0 if any problem was found (cfg
 * may then be partly updated). */
int sk_config_load(struct sk_config *cfg, const char *path, struct sk_conf_diag *diag);

/* The same for text in memory; name stands for the file in messages. */
int sk_config_load_string(struct sk_config *cfg, const char *name, const char *text,
                          struct sk_conf_diag *diag);

/* Apply a command-line override, name = "section.key". Fails with
 * -ENOENT (unknown option) or -EINVAL (bad value), cfg unchanged. Call
 * sk_config_validate() once all overrides are applied. */
int sk_config_set(struct sk_config *cfg, const char *name, const char *value, struct sk_err *err);

/* Checks that involve more than one key or a computed default: the Raft
 * election timeout must exceed the heartbeat interval, the cluster and
 * service networks must not overlap, and server.name and agent.node-name
 * (the host name unless set) must be valid names. Returns 0 or -EINVAL
 * with the first problem in err. */
int sk_config_validate(const struct sk_config *cfg, struct sk_err *err);

/* One entry of auth.local-users ("ID=USER[/GROUP,...]") or
 * auth.local-groups ("ID=GROUP[,GROUP...]"). Entries are separated by
 * blanks; ID is a decimal uid/gid or a user/group name. */
struct sk_config_idmap {
    char id[33];      /* as written */
    char user[64];    /* local-users: the Kubernetes user name */
    char groups[200]; /* comma-separated Kubernetes groups, maybe "" */
};

/* Parse such a list (users: local-users syntax, else local-groups).
 * *out (free() it; NULL when *n is 0) receives *n entries. Fails with
 * -EINVAL naming the bad entry: malformed, too long, an ID listed twice. */
int sk_config_idmap_parse(const char *s, bool users, struct sk_config_idmap **out, size_t *n,
                          struct sk_err *err);

/* Parse a port range "LO-HI" (inclusive, 1 <= LO <= HI <= 65535, as
 * kube-apiserver's --service-node-port-range; "LO+N" means LO-(LO+N)).
 * Fails with -EINVAL naming the value. */
int sk_config_port_range_parse(const char *s, unsigned *lo, unsigned *hi, struct sk_err *err);

/* Write the effective configuration in INI form (--print-config). */
void sk_config_print(const struct sk_config *cfg, FILE *f);

#endif
