/* skiffd(8): the daemon's composition root. Parses options and the
 * configuration, then wires the modules onto one event loop. Everything
 * with logic of its own lives in the modules. */
#include "api/authn.h"
#include "api/authz.h"
#include "api/basic.h"
#include "api/kv.h"
#include "api/objects.h"
#include "api/server.h"
#include "ctrl/ctrl.h"
#include "kubelet/kubelet.h"
#include "lib/alloc.h"
#include "lib/config.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/notify.h"
#include "lib/version.h"
#include "lib/sha256.h"
#include "sched/sched.h"
#include "store/store.h"
#include "store/tool.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define MAX_SETS 64

struct opts {
    const char *mode; /* "server", "agent", "controllers" or "store" */
    const char *tool; /* store: "dump", "verify" or "recover" */
    const char *tool_dir;
    const char *tool_name; /* recover: --name */
    bool dry_run;          /* recover: --dry-run */
    const char *config_path;
    bool config_given;
    bool check_config;
    bool print_config;
    bool join;            /* --join: this server joins an existing cluster */
    bool agent;           /* server --agent: run the node agent too */
    char *sets[MAX_SETS]; /* "section.key=value", in order; owned */
    int nsets;
};

struct daemon {
    struct opts opts;
    struct sk_config cfg;
    struct sk_loop *loop;
    struct api_server *api;
    struct store *store;
    struct api_kv *kv;
    struct api_objects *objects;
    struct api_authn *authn; /* who peers are: tokens, local uids */
    struct api_authz *authz; /* what they may do: RBAC, NodeRestriction */
    struct api_authz_feed *authz_feed;
    struct api_sa_tokens *sa_tokens; /* ServiceAccount tokens, fed from the store */
    struct store_leadership *lead;   /* starts and stops the leader-only parts */
    struct sched_runner *sched;
    struct ctrl_manager *ctrl;
    struct ctrl_elector *elector; /* `skiffd controllers`: who leads */
    char *ctrl_server;            /* the controllers' API server (a copy: SIGHUP) */
    char ctrl_token[512];         /* their token, "" for none */
    struct kl_agent *agent;
    struct kl_relay *relay;
    /* the agents' endpoint master key (server), this node's key (agent) */
    char agent_master[256], agent_key[KL_EP_MAC_HEX];
    int stopping; /* stop signals received */
};

static void
usage(FILE *f)
{
    fprintf(f, "usage: skiffd server [-c FILE] [--socket PATH] [--listen HOST:PORT] [--join]\n"
               "                     [--data-dir DIR] [--log-level LEVEL] [--log-format FMT]\n"
               "                     [--agent] [--set SECTION.KEY=VALUE]...\n"
               "       skiffd agent [-c FILE] [--server PATH|HOST:PORT] [--node-name NAME]\n"
               "                    [--set SECTION.KEY=VALUE]...\n"
               "       skiffd controllers --server PATH|HOST:PORT [-c FILE] [--log-level LEVEL]\n"
               "                    [--set SECTION.KEY=VALUE]...\n"
               "       skiffd store dump|verify DATADIR\n"
               "       skiffd store recover DATADIR --name NAME [--dry-run]\n"
               "       skiffd --check-config [-c FILE] [--set ...]\n"
               "       skiffd --print-config [-c FILE] [--set ...]\n"
               "       skiffd --version\n"
               "see skiffd(8) and skiffd.conf(5)\n");
}

static int
add_set(struct opts *o, const char *key, const char *value)
{
    if (o->nsets == MAX_SETS) {
        fprintf(stderr, "skiffd: too many overrides\n");
        return -1;
    }
    o->sets[o->nsets++] = key ? sk_asprintf("%s=%s", key, value) : sk_strdup(value);
    return 0;
}

/* --server is the agent's server, or in `skiffd controllers` theirs:
 * the mode is known only once every option has been read. */
static void
resolve_server_sets(struct opts *o)
{
    const char *key =
        o->mode && !strcmp(o->mode, "controllers") ? "controllers.server" : "agent.server";

    for (int i = 0; i < o->nsets; i++) {
        char *s = o->sets[i];

        if (strncmp(s, "@server=", 8))
            continue;
        o->sets[i] = sk_asprintf("%s=%s", key, s + 8);
        free(s);
    }
}

/* Returns 0 to go on, or an exit status + 1000 to stop now. */
static int
parse_opts(struct opts *o, int argc, char **argv)
{
    enum {
        OPT_CHECK = 256,
        OPT_PRINT,
        OPT_SOCKET,
        OPT_LISTEN,
        OPT_DATA,
        OPT_LEVEL,
        OPT_FORMAT,
        OPT_SET,
        OPT_VERSION,
        OPT_JOIN,
        OPT_NAME,
        OPT_DRY_RUN,
        OPT_SERVER,
        OPT_NODE,
        OPT_AGENT
    };
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check-config", no_argument, NULL, OPT_CHECK},
        {"print-config", no_argument, NULL, OPT_PRINT},
        {"socket", required_argument, NULL, OPT_SOCKET},
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"data-dir", required_argument, NULL, OPT_DATA},
        {"log-level", required_argument, NULL, OPT_LEVEL},
        {"log-format", required_argument, NULL, OPT_FORMAT},
        {"set", required_argument, NULL, OPT_SET},
        {"version", no_argument, NULL, OPT_VERSION},
        {"join", no_argument, NULL, OPT_JOIN},
        {"name", required_argument, NULL, OPT_NAME},
        {"dry-run", no_argument, NULL, OPT_DRY_RUN},
        {"agent", no_argument, NULL, OPT_AGENT},
        {"server", required_argument, NULL, OPT_SERVER},
        {"node-name", required_argument, NULL, OPT_NODE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static const char *const keys[] = {
        [OPT_SOCKET - OPT_SOCKET] = "server.socket", [OPT_LISTEN - OPT_SOCKET] = "server.listen",
        [OPT_DATA - OPT_SOCKET] = "server.data-dir", [OPT_LEVEL - OPT_SOCKET] = "log.level",
        [OPT_FORMAT - OPT_SOCKET] = "log.format",    [OPT_SERVER - OPT_SOCKET] = "@server",
        [OPT_NODE - OPT_SOCKET] = "agent.node-name",
    };
    int c;

    /* $SKIFFD_CONFIG names the file when -c does not (tests and side-by-side
     * installs keep away from /etc that way). */
    o->config_path = getenv("SKIFFD_CONFIG");
    if (o->config_path && *o->config_path)
        o->config_given = true;
    else
        o->config_path = SK_CONFIG_PATH;
    while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            o->config_path = optarg;
            o->config_given = true;
            break;
        case OPT_CHECK:
            o->check_config = true;
            break;
        case OPT_PRINT:
            o->print_config = true;
            break;
        case OPT_SOCKET:
        case OPT_LISTEN:
        case OPT_DATA:
        case OPT_LEVEL:
        case OPT_FORMAT:
        case OPT_SERVER:
        case OPT_NODE:
            if (add_set(o, keys[c - OPT_SOCKET], optarg) < 0)
                return 1000 + 2;
            break;
        case OPT_SET:
            if (add_set(o, NULL, optarg) < 0)
                return 1000 + 2;
            break;
        case OPT_JOIN:
            o->join = true;
            break;
        case OPT_NAME:
            o->tool_name = optarg;
            break;
        case OPT_DRY_RUN:
            o->dry_run = true;
            break;
        case OPT_AGENT:
            o->agent = true;
            break;
        case OPT_VERSION:
            printf("skiffd %s (protocol %d)\n", SKIFF_VERSION, SKIFF_PROTOCOL_VERSION);
            return 1000 + 0;
        case 'h':
            usage(stdout);
            return 1000 + 0;
        default:
            usage(stderr);
            return 1000 + 2;
        }
    }
    if (optind < argc)
        o->mode = argv[optind++];
    if (o->mode && strcmp(o->mode, "store") == 0 && argc - optind == 2 &&
        (strcmp(argv[optind], "dump") == 0 || strcmp(argv[optind], "verify") == 0 ||
         strcmp(argv[optind], "recover") == 0)) {
        o->tool = argv[optind];
        o->tool_dir = argv[optind + 1];
        if ((strcmp(o->tool, "recover") == 0) != (o->tool_name != NULL) ||
            (o->dry_run && strcmp(o->tool, "recover") != 0)) {
            fprintf(stderr, "skiffd: store recover needs --name NAME; --name and --dry-run "
                            "go with store recover only\n");
            usage(stderr);
            return 1000 + 2;
        }
        return 0;
    }
    if (o->tool_name || o->dry_run) {
        fprintf(stderr, "skiffd: --name and --dry-run go with store recover only\n");
        usage(stderr);
        return 1000 + 2;
    }
    if (optind < argc || (!o->mode && !o->check_config && !o->print_config) ||
        (o->mode && strcmp(o->mode, "server") != 0 && strcmp(o->mode, "agent") != 0 &&
         strcmp(o->mode, "controllers") != 0 && strcmp(o->mode, "_pause") != 0)) {
        if (o->mode && strcmp(o->mode, "server") != 0 && strcmp(o->mode, "store") != 0)
            fprintf(stderr, "skiffd: unknown mode '%s'\n", o->mode);
        usage(stderr);
        return 1000 + 2;
    }
    resolve_server_sets(o);
    return 0;
}

/* Load the file (a missing default file is fine), then apply overrides.
 * Every problem is printed; returns 0 or -1. */
static int
load_config(const struct opts *o, struct sk_config *cfg)
{
    struct sk_conf_diag diag;
    struct sk_err err;
    int i, bad = 0;

    sk_config_init(cfg);
    sk_conf_diag_init(&diag);
    if ((o->config_given || access(o->config_path, F_OK) == 0) &&
        sk_config_load(cfg, o->config_path, &diag) < 0) {
        sk_conf_diag_print(&diag, stderr);
        bad = 1;
    }
    sk_conf_diag_release(&diag);
    for (i = 0; i < o->nsets; i++) {
        char name[128];
        const char *eq = strchr(o->sets[i], '=');

        sk_err_init(&err);
        if (!eq || (size_t)(eq - o->sets[i]) >= sizeof(name)) {
            fprintf(stderr, "skiffd: --set '%s': expected SECTION.KEY=VALUE\n", o->sets[i]);
            bad = 1;
            continue;
        }
        memcpy(name, o->sets[i], (size_t)(eq - o->sets[i]));
        name[eq - o->sets[i]] = '\0';
        if (sk_config_set(cfg, name, eq + 1, &err) < 0) {
            fprintf(stderr, "skiffd: --set '%s': %s\n", o->sets[i], err.msg);
            bad = 1;
        }
    }
    sk_err_init(&err);
    if (!bad && sk_config_validate(cfg, &err) < 0) {
        fprintf(stderr, "skiffd: %s\n", err.msg);
        bad = 1;
    }
    return bad ? -1 : 0;
}

static void
apply_logging(const struct sk_config *cfg)
{
    sk_log_set_level((enum sk_log_level)cfg->log.level);
    sk_log_set_format((enum sk_log_format)cfg->log.format);
    sk_log_use_syslog(cfg->log.syslog ? "skiffd" : NULL);
}

static void
on_store_stopped(void *arg)
{
    struct daemon *d = arg;

    sk_loop_stop(d->loop);
}

static void
on_lease_released(void *arg)
{
    struct daemon *d = arg;

    sk_loop_stop(d->loop);
}

/* SIGTERM: a leader hands over first (bounded), so a rolling restart
 * costs no election timeout; a second signal stops at once. */
static void
on_stop_signal(struct sk_loop *loop, int signo, void *arg)
{
    struct daemon *d = arg;

    sk_info("skiffd", "%s: shutting down", strsignal(signo));
    sk_notify("STOPPING=1", NULL);
    if (d->elector && !d->stopping++) {
        /* controllers: stop acting, then hand the lease over */
        ctrl_manager_free(d->ctrl);
        d->ctrl = NULL;
        ctrl_elector_release(d->elector, on_lease_released, d);
        return;
    }
    if (!d->store || d->stopping++) {
        sk_loop_stop(loop);
        return;
    }
    store_shutdown(d->store, on_store_stopped, d);
}

/* (Re)read server.token-file into the authenticator. A missing file
 * means no tokens (TCP clients cannot authenticate), with a warning; a
 * broken one fails, and the tokens in use stay. */
static int
load_tokens(struct daemon *d, struct sk_err *err)
{
    const char *path = d->cfg.server.token_file;
    struct api_tokens *t = NULL;

    if (!*path) {
        api_authn_set_tokens(d->authn, NULL);
        return 0;
    }
    if (api_tokens_load(path, &t, err) < 0) {
        if (err->code != ENOENT)
            return -err->code;
        sk_warn("skiffd", "%s; TCP clients cannot authenticate", err->msg);
        sk_err_init(err);
    }
    if (t)
        sk_info("skiffd", "%zu API tokens from '%s'", api_tokens_count(t), path);
    api_authn_set_tokens(d->authn, t);
    return 0;
}

/* SIGHUP: parse and validate the new configuration first; keep the old
 * one when it is bad. Only settings that can change live are applied:
 * logging, the local user mappings and the token file (read again even
 * when the configuration did not change). */
static void
on_reload_signal(struct sk_loop *loop, int signo, void *arg)
{
    struct daemon *d = arg;
    struct sk_config fresh;
    struct sk_err err;

    sk_notify("RELOADING=1", NULL);
    if (load_config(&d->opts, &fresh) < 0) {
        sk_error("skiffd", "reload: configuration has problems; keeping the running one");
        sk_config_release(&fresh);
    } else {
        sk_config_release(&d->cfg);
        d->cfg = fresh;
        apply_logging(&d->cfg);
        sk_info("skiffd", "reload: configuration re-read");
    }
    sk_err_init(&err);
    if (d->authn &&
        api_authn_set_local(d->authn, d->cfg.auth.local_users, d->cfg.auth.local_groups, &err) < 0)
        sk_error("skiffd", "reload: %s; keeping the local users in use", err.msg);
    sk_err_init(&err);
    if (d->authn && load_tokens(d, &err) < 0)
        sk_error("skiffd", "reload: %s; keeping the tokens in use", err.msg);
    sk_notify(d->store     ? "READY=1\nSTATUS=serving"
              : d->elector ? "READY=1\nSTATUS=controllers running"
                           : "READY=1\nSTATUS=agent running",
              NULL);
}

/* The scheduler runs on the store's Raft leader only (skiff-scheduler(8)):
 * started when this member leads, stopped when it no longer does. It
 * talks to this server's own UNIX socket like any client. */
static void
sched_lead(struct daemon *d, bool leader)
{
    const struct sk_config *c = &d->cfg;
    struct sched_runner_config rc = {
        .server = c->server.socket,
        .queue = {.backoff_initial_ms = (int64_t)c->scheduler.backoff_initial_ms,
                  .backoff_max_ms = (int64_t)c->scheduler.backoff_max_ms,
                  .unschedulable_max_ms = (int64_t)c->scheduler.unschedulable_retry_ms},
    };
    struct sk_err err;

    sched_runner_stop(d->sched);
    d->sched = NULL;
    if (!leader) {
        sk_info("skiffd", "not the leader: scheduler stopped");
        return;
    }
    for (int i = 0; i < SCHED_SCORE_COUNT; i++)
        rc.weights[i] = (int)c->scheduler.weights[i];
    sk_err_init(&err);
    if (sched_runner_start(d->loop, &rc, &d->sched, &err) < 0)
        sk_error("skiffd", "%s", err.msg);
    else
        sk_info("skiffd", "leader: scheduler started");
}

/* The controller manager likewise (skiff-controllers(8)); requests in
 * flight are abandoned when it stops. */
static void
ctrl_lead(struct daemon *d, bool leader)
{
    const struct sk_config *c = &d->cfg;
    struct ctrl_manager_config cfg = {
        .server = *c->server.socket ? c->server.socket : c->server.listen,
        .token = d->ctrl_token,
        .resync_ms = (uint32_t)c->controllers.resync_ms,
        .workers = (unsigned)c->controllers.workers,
        .node_grace_ms = (uint32_t)c->controllers.node_grace_ms,
        .cluster_cidr = c->agent.cluster_cidr,
        .node_cidr_mask = (unsigned)c->controllers.node_cidr_mask_size,
    };
    struct sk_err err;

    if (d->ctrl_server) /* skiffd controllers */
        cfg.server = d->ctrl_server;
    ctrl_manager_free(d->ctrl);
    d->ctrl = NULL;
    if (!leader) {
        sk_info("skiffd", "not leading: controller manager stopped");
        return;
    }
    sk_err_init(&err);
    if (ctrl_manager_start(d->loop, &cfg, &d->ctrl, &err) < 0)
        sk_error("skiffd", "%s", err.msg);
}

static void
on_leadership(void *arg, bool leader)
{
    struct daemon *d = arg;

    if (d->cfg.scheduler.enabled)
        sched_lead(d, leader);
    if (d->cfg.controllers.enabled)
        ctrl_lead(d, leader);
}

/* A key file: its text without trailing blanks, not empty. */
static int
read_key_file(const char *path, const char *what, char *out, size_t outsz, struct sk_err *err)
{
    FILE *f = fopen(path, "re");
    size_t n;

    if (!f)
        return sk_err_sys(err, errno, "%s '%s'", what, path);
    n = fread(out, 1, outsz - 1, f);
    fclose(f);
    while (n > 0 &&
           (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' ' || out[n - 1] == '\t'))
        n--;
    out[n] = '\0';
    if (n == 0)
        return sk_err_set(err, EINVAL, "%s '%s': empty", what, path);
    return 0;
}

/* The server's master key for the agents' endpoints. With --agent and no
 * key file, one is made up for this run: the in-process agent is then
 * the only one the relay reaches, which is all such a server needs. */
static int
load_agent_master(struct daemon *d, struct sk_err *err)
{
    unsigned char raw[32];

    if (*d->cfg.server.agent_key_file)
        return read_key_file(d->cfg.server.agent_key_file, "server.agent-key-file", d->agent_master,
                             sizeof(d->agent_master), err);
    if (!d->opts.agent)
        return 0;
    sk_random_bytes(raw, sizeof(raw));
    sk_hex(raw, sizeof(raw), d->agent_master);
    return 0;
}

/* The node agent on d->loop: `skiffd agent`, or `server --agent` with
 * the agent talking to this server's own socket. The monitors run as
 * skiff-runtime when it sits next to skiffd, the sandboxes as
 * `skiffd _pause`. */
static int
start_agent(struct daemon *d, struct sk_err *err)
{
    char self[PATH_MAX], rt[PATH_MAX + 16], token[512] = "", *slash;
    const struct sk_config *c = &d->cfg;
    struct kl_agent_config kcfg = {
        .server = *c->agent.server ? c->agent.server : c->server.socket,
        .token = token,
        .node_name = c->agent.node_name,
        .address = c->agent.address,
        .runtime_root = c->agent.runtime_root,
        .image_root = c->agent.image_root,
        .cgroup_root = c->agent.cgroup_root,
        .cluster_cidr = c->agent.cluster_cidr,
        .pod_cidr_claim = c->agent.pod_cidr_claim,
        .service_cidr = c->agent.service_cidr,
        .bridge = c->agent.bridge,
        .masquerade = c->agent.masquerade,
        .heartbeat_ms = c->agent.heartbeat_interval_ms,
        .max_pods = (int64_t)c->agent.max_pods,
        .reserved_cpu_m = (int64_t)c->agent.reserved_cpu_m,
        .reserved_mem = (int64_t)c->agent.reserved_memory,
        .pause_exe = self,
        .monitor_exe = rt,
        .dns_enabled = c->dns.enabled,
        .dns_port = (unsigned)c->dns.port,
        .dns_domain = c->dns.domain,
        .dns_ttl_s = (uint32_t)(c->dns.ttl_ms / 1000),
        .dns_upstream_resolv_conf = c->dns.upstream_resolv_conf,
        .dns_upstream_timeout_ms = (int)c->dns.upstream_timeout_ms,
        .dns_cache_size = (size_t)c->dns.cache_size,
        .endpoint_listen = c->agent.endpoint_listen,
        .endpoint_key = d->agent_key,
    };
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    FILE *f;

    if (n <= 0)
        return sk_err_sys(err, errno, "readlink /proc/self/exe");
    self[n] = '\0';
    sk_strlcpy(rt, self, sizeof(rt));
    if ((slash = strrchr(rt, '/')))
        sk_strlcpy(slash + 1, "skiff-runtime", sizeof(rt) - (size_t)(slash + 1 - rt));
    if (access(rt, X_OK) < 0)
        rt[0] = '\0';
    if (*c->agent.token_file) {
        if (!(f = fopen(c->agent.token_file, "re")))
            return sk_err_sys(err, errno, "agent.token-file '%s'", c->agent.token_file);
        if (!fgets(token, sizeof(token), f))
            token[0] = '\0';
        fclose(f);
        token[strcspn(token, "\r\n")] = '\0';
    }
    if (*c->agent.endpoint_key_file) {
        if (read_key_file(c->agent.endpoint_key_file, "agent.endpoint-key-file", d->agent_key,
                          sizeof(d->agent_key), err) < 0)
            return -err->code;
    } else if (d->agent_master[0]) { /* server --agent */
        kl_ep_key_derive(d->agent_master, strlen(d->agent_master), kcfg.node_name, d->agent_key);
    }
    return kl_agent_start(d->loop, &kcfg, &d->agent, err);
}

/* The event loop every role runs, with the signals they all take:
 * TERM and INT stop; HUP (systemd's ExecReload), whose default action
 * would kill the daemon, re-reads the logging settings only, the
 * others take a restart; SIGPIPE is ignored (peers that went away). */
static int
daemon_loop_open(struct daemon *d, struct sk_err *err)
{
    if (sk_loop_new(&d->loop, err) < 0)
        return -1;
    if (sk_loop_signal_add(d->loop, SIGTERM, on_stop_signal, d, err) < 0 ||
        sk_loop_signal_add(d->loop, SIGINT, on_stop_signal, d, err) < 0 ||
        sk_loop_signal_add(d->loop, SIGHUP, on_reload_signal, d, err) < 0) {
        sk_loop_free(d->loop);
        d->loop = NULL;
        return -1;
    }
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

/* Tell systemd the role is up (a failure to is only a warning), then run
 * until stopped: 0, or 1 if the loop failed. */
static int
daemon_serve(struct daemon *d, const char *status, struct sk_err *err)
{
    if (sk_notify(status, err) < 0) {
        sk_warn("skiffd", "%s", err->msg);
        sk_err_init(err);
    }
    return sk_loop_run(d->loop, err) < 0 ? 1 : 0;
}

static int
run_agent(struct daemon *d)
{
    struct sk_err err;
    int rc = 1;

    sk_err_init(&err);
    if (daemon_loop_open(d, &err) < 0)
        goto out;
    if (start_agent(d, &err) < 0)
        goto out_free_loop;
    rc = daemon_serve(d, "READY=1\nSTATUS=agent running", &err);
    kl_agent_free(d->agent);
out_free_loop:
    sk_loop_free(d->loop);
out:
    if (err.code)
        sk_error("skiffd", "%s", err.msg);
    return err.code ? 1 : rc;
}

static void
on_ctrl_leading(void *arg, int leading)
{
    ctrl_lead(arg, leading != 0);
}

/* The elector of `skiffd controllers`: "host_pid" names this candidate
 * (unique while it runs, telling the log which process leads). */
static int
start_elector(struct daemon *d, struct sk_err *err)
{
    const struct sk_config *c = &d->cfg;
    char host[128] = "", identity[160];
    struct ctrl_elector_config ecfg = {
        .server = c->controllers.server,
        .token = d->ctrl_token,
        .identity = identity,
        .lease_ms = (uint32_t)c->controllers.lease_ms,
        .on_change = on_ctrl_leading,
        .arg = d,
    };

    if (*c->controllers.token_file &&
        read_key_file(c->controllers.token_file, "controllers.token-file", d->ctrl_token,
                      sizeof(d->ctrl_token), err) < 0)
        return -err->code;
    gethostname(host, sizeof(host) - 1);
    snprintf(identity, sizeof(identity), "%s_%ld", *host ? host : "skiffd", (long)getpid());
    d->ctrl_server = sk_strdup(c->controllers.server);
    return ctrl_elector_start(d->loop, &ecfg, &d->elector, err);
}

/* skiffd controllers: the controller manager as a process of its own
 * (kube-controller-manager), one of several candidates of which the
 * Lease's holder runs the controllers. */
static int
run_controllers(struct daemon *d)
{
    struct sk_err err;
    int rc = 1;

    if (!*d->cfg.controllers.server) {
        fprintf(stderr, "skiffd controllers: no API server: give --server PATH|HOST:PORT "
                        "(or controllers.server)\n");
        return 2;
    }
    sk_err_init(&err);
    if (daemon_loop_open(d, &err) < 0)
        goto out;
    if (start_elector(d, &err) < 0)
        goto out_free_loop;
    rc = daemon_serve(d, "READY=1\nSTATUS=controllers running", &err);
    ctrl_manager_free(d->ctrl);
    ctrl_elector_free(d->elector);
out_free_loop:
    free(d->ctrl_server);
    sk_loop_free(d->loop);
out:
    if (err.code)
        sk_error("skiffd", "%s", err.msg);
    return err.code ? 1 : rc;
}

static int
run_server(struct daemon *d)
{
    struct api_server_config acfg = {
        .socket_path = d->cfg.server.socket,
        .socket_mode = (mode_t)strtoul(d->cfg.server.socket_mode, NULL, 8),
        .socket_group = d->cfg.server.socket_group,
        .listen = d->cfg.server.listen,
        .max_inflight = (unsigned)d->cfg.server.max_requests_inflight,
        .max_client_inflight = (unsigned)d->cfg.server.max_client_requests,
        .auth_timeout_ms = (unsigned)d->cfg.server.auth_timeout_ms,
    };
    struct store_config scfg = {
        .name = d->cfg.server.name,
        .data_dir = d->cfg.server.data_dir,
        .peer_listen = d->cfg.server.peer_listen,
        .peers = d->cfg.server.peers,
        .secret_file = d->cfg.server.cluster_secret_file,
        .snapshot_every = d->cfg.store.snapshot_every,
        .election_timeout_ms = d->cfg.store.election_timeout_ms,
        .heartbeat_interval_ms = d->cfg.store.heartbeat_interval_ms,
        .fsync = d->cfg.store.fsync,
        .join = d->opts.join,
    };
    struct api_objects_config ocfg = {0};
    struct kl_relay_config rcfg = {0};
    struct sk_err err;
    int rc = 1;

    sk_err_init(&err);
    if (daemon_loop_open(d, &err) < 0)
        goto out;
    /* Identities before listening: no peer is ever served unnamed. */
    d->authn = api_authn_new(geteuid());
    if (api_authn_set_local(d->authn, d->cfg.auth.local_users, d->cfg.auth.local_groups, &err) <
            0 ||
        load_tokens(d, &err) < 0)
        goto out_free_loop;
    d->authz = api_authz_new();
    ocfg.authorize = api_authz_authorize;
    ocfg.authorize_arg = d->authz;
    ocfg.admit = api_authz_admit;
    ocfg.admit_arg = d->authz;
    if (api_alloc_ip_range_parse(d->cfg.server.service_cidr, &ocfg.service_ips, &err) < 0 ||
        api_alloc_port_range_parse(d->cfg.server.node_port_range, &ocfg.node_ports, &err) < 0)
        goto out_free_loop;
    /* Listeners first: a second server on the same socket is refused
     * before it touches (and flock()s) the data directory. */
    if (api_server_start(d->loop, &acfg, &d->api, &err) < 0)
        goto out_free_loop;
    api_authn_attach(d->authn, d->api);
    api_basic_register(d->api);
    if (store_open(d->loop, &scfg, &d->store, &err) < 0)
        goto out_stop_api;
    d->kv = api_kv_register(d->api, d->loop, d->store);
    d->authz_feed = api_authz_feed_start(d->authz, d->store, &err);
    if (!d->authz_feed)
        goto out_stop_api;
    d->sa_tokens = api_sa_tokens_new();
    if (api_sa_tokens_watch(d->sa_tokens, d->store, &err) < 0)
        goto out_stop_api;
    api_authn_set_sa_tokens(d->authn, d->sa_tokens);
    d->objects = api_objects_register(d->api, d->loop, d->store, &ocfg);
    d->lead = store_leadership_watch(d->loop, d->store, 0, on_leadership, d);
    if (load_agent_master(d, &err) < 0)
        goto out_stop_api;
    rcfg.server = d->cfg.server.socket;
    rcfg.key = d->agent_master[0] ? d->agent_master : NULL;
    rcfg.keylen = strlen(d->agent_master);
    rcfg.authorize = api_authz_authorize;
    rcfg.authorize_arg = d->authz;
    if (kl_relay_start(d->loop, d->api, &rcfg, &d->relay, &err) < 0)
        goto out_stop_api;
    if (d->opts.agent && start_agent(d, &err) < 0)
        goto out_stop_api;
    sk_info("skiffd", "skiffd %s server '%s' ready", SKIFF_VERSION, d->cfg.server.name);
    rc = daemon_serve(d, "READY=1\nSTATUS=serving", &err);
    if (store_failed(d->store, &err))
        rc = 1;
out_stop_api:
    store_leadership_stop(d->lead);
    sched_runner_stop(d->sched);
    ctrl_manager_free(d->ctrl);
    kl_agent_free(d->agent);
    kl_relay_free(d->relay);
    api_server_stop(d->api);
    /* Let closing connections finish their last callbacks. */
    sk_loop_run_once(d->loop, 0, NULL);
    api_objects_free(d->objects);
    api_kv_free(d->kv);
    api_authz_feed_stop(d->authz_feed);
    api_authn_set_sa_tokens(d->authn, NULL);
    api_sa_tokens_free(d->sa_tokens);
    d->sa_tokens = NULL;
    store_close(d->store);
out_free_loop:
    sk_loop_free(d->loop);
    api_authz_free(d->authz);
    api_authn_free(d->authn);
    d->authz = NULL;
    d->authn = NULL;
out:
    if (err.code)
        sk_error("skiffd", "%s", err.msg);
    return err.code ? 1 : rc;
}

static void
opts_release(struct opts *o)
{
    while (o->nsets > 0)
        free(o->sets[--o->nsets]);
}

/* skiffd store dump|verify|recover DATADIR: offline, no configuration
 * needed. */
static int
run_store_tool(const struct opts *o)
{
    struct sk_err err;
    int rc;

    sk_err_init(&err);
    if (strcmp(o->tool, "dump") == 0)
        rc = store_tool_dump(o->tool_dir, stdout, &err);
    else if (strcmp(o->tool, "recover") == 0)
        rc = store_tool_recover(o->tool_dir, o->tool_name, o->dry_run, stdout, &err);
    else
        rc = store_tool_verify(o->tool_dir, stdout, &err);
    fflush(stdout);
    if (rc < 0) {
        fprintf(stderr, "skiffd: store %s: %s\n", o->tool, err.msg);
        return 1;
    }
    return 0;
}

static int
run(struct daemon *d)
{
    if (d->opts.tool)
        return run_store_tool(&d->opts);
    if (load_config(&d->opts, &d->cfg) < 0)
        return 1;
    if (d->opts.check_config || d->opts.print_config) {
        if (d->opts.print_config)
            sk_config_print(&d->cfg, stdout);
        return 0;
    }
    apply_logging(&d->cfg);
    if (strcmp(d->opts.mode, "agent") == 0)
        return run_agent(d);
    if (strcmp(d->opts.mode, "controllers") == 0)
        return run_controllers(d);
    return run_server(d);
}

/* A long-running daemon's malloc settings (issue 7, bench/agent-rss):
 * - M_ARENA_MAX 1: the only threads are net/netns.c's short-lived
 *   setns workers; each would otherwise make glibc create a second
 *   arena (a 64 MiB reservation, its touched pages kept resident) for
 *   a handful of allocations. One arena, its lock uncontended.
 * - M_MMAP_THRESHOLD and M_TRIM_THRESHOLD fixed (128 KiB, glibc's
 *   initial values): setting them turns off glibc's dynamic threshold,
 *   which after one large buffer (a 2 MiB list response) is freed
 *   raises the mmap threshold to its size and the trim threshold to
 *   twice that, so later large buffers land in the heap and up to 4 MiB
 *   of free heap top stays resident. */
static void
malloc_tune(void)
{
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    mallopt(M_TRIM_THRESHOLD, 128 * 1024);
}

int
main(int argc, char **argv)
{
    struct daemon d;
    int rc;

    memset(&d, 0, sizeof(d));
    if (argc == 2 && strcmp(argv[1], "_pause") == 0)
        return kl_pause_main();
    malloc_tune();
    rc = parse_opts(&d.opts, argc, argv);
    if (rc >= 1000) {
        rc -= 1000;
        goto out;
    }
    rc = run(&d);
    sk_config_release(&d.cfg);
out:
    opts_release(&d.opts);
    return rc;
}
