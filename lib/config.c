/* skiffd's configuration schema; see config.h and skiffd.conf(5). */
#include "config.h"
#include "conf_int.h"
#include "alloc.h"
#include "buf.h"
#include "log.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SHOW(s, buf) (sk_conf_show((s), (buf), sizeof(buf)), (buf))

/* Kubernetes node names: a lowercase RFC 1123 subdomain. */
static int
check_name(const char *s, struct sk_err *err)
{
    char show[SK_CONF_SHOW_MAX + 8];
    size_t i, len = strlen(s), label = 0;

    for (i = 0; i < len; i++) {
        if (s[i] == '.' && label > 0 && s[i - 1] != '-') {
            label = 0;
            continue;
        }
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) ||
              (s[i] == '-' && label > 0)) ||
            ++label > 63)
            goto bad;
    }
    if (len > 0 && len <= 253 && label > 0 && s[len - 1] != '-')
        return 0;
bad:
    return sk_err_set(err, EINVAL,
                      "bad name '%s' (lowercase letters, digits, '-' and '.', like a DNS name)",
                      SHOW(s, show));
}

static int
check_mode(const char *s, struct sk_err *err)
{
    char show[SK_CONF_SHOW_MAX + 8];
    size_t len = strlen(s);

    /* Only permission bits: setuid/setgid/sticky mean nothing on a socket. */
    if ((len == 3 || (len == 4 && s[0] == '0')) && strspn(s, "01234567") == len)
        return 0;
    return sk_err_set(err, EINVAL, "bad mode '%s' (octal permission bits, e.g. 0660)",
                      SHOW(s, show));
}

/* What shadow's useradd accepts, plus plain numeric gids. */
static int
check_group(const char *s, struct sk_err *err)
{
    char show[SK_CONF_SHOW_MAX + 8];
    size_t len = strlen(s), n;

    n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-");
    if (s[0] != '-' && len <= 32 && (n == len || (n == len - 1 && s[n] == '$')))
        return 0;
    return sk_err_set(err, EINVAL, "bad group name '%s'", SHOW(s, show));
}

/* A cgroup path below the daemon's own cgroup: never absolute and never
 * climbing out with "..", so the agent stays inside what systemd
 * delegated to it (Delegate=yes). */
static int
check_cgroup(const char *s, struct sk_err *err)
{
    char show[SK_CONF_SHOW_MAX + 8];
    const char *p = s, *slash, *end;

    SHOW(s, show);
    if (s[0] == '/')
        return sk_err_set(err, EINVAL, "'%s' must be relative to skiffd's own cgroup", show);
    for (;;) {
        slash = strchr(p, '/');
        end = slash ? slash : p + strlen(p);
        if (end == p || (end - p == 1 && p[0] == '.') || (end - p == 2 && strncmp(p, "..", 2) == 0))
            return sk_err_set(err, EINVAL, "bad cgroup path '%s'", show);
        for (; p < end; p++)
            if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
                return sk_err_set(err, EINVAL, "bad cgroup path '%s'", show);
        if (!slash)
            return 0;
        p = slash + 1;
    }
}

/* Linux interface names: 1-15 bytes (IFNAMSIZ - 1), no '/', ':' or
 * blanks (dev_valid_name() in net/core/dev.c). */
static int
check_ifname(const char *s, struct sk_err *err)
{
    char show[SK_CONF_SHOW_MAX + 8];
    size_t len = strlen(s), i;
    bool ok = len > 0 && len <= 15 && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;

    for (i = 0; ok && i < len; i++)
        ok = s[i] != '/' && s[i] != ':' && isgraph((unsigned char)s[i]);
    if (ok)
        return 0;
    return sk_err_set(err, EINVAL, "bad interface name '%s' (1-15 characters, no '/' or ':')",
                      SHOW(s, show));
}

/* Check one "name=host:port" item of s, len bytes, and that its name is
 * not among the names of the items before it. */
static int
check_peer(const char *s, const char *item, size_t len, struct sk_err *err)
{
    char show[SK_CONF_SHOW_MAX + 8], *copy = sk_strndup(item, len), *eq, *start, *end;
    const char *p;
    size_t nlen;
    int rc = -EINVAL;

    for (start = copy; isspace((unsigned char)*start); start++)
        ;
    for (end = start + strlen(start); end > start && isspace((unsigned char)end[-1]); end--)
        *(end - 1) = '\0';
    eq = strchr(start, '=');
    if (!eq) {
        sk_err_set(err, EINVAL, "peer '%s': expected name=host:port", SHOW(start, show));
        goto out_free;
    }
    *eq = '\0';
    if (check_name(start, err) < 0 || sk_conf_check_hostport(eq + 1, err) < 0) {
        sk_err_wrap(err, "peer '%s'", SHOW(start, show));
        goto out_free;
    }
    nlen = strlen(start);
    for (p = s; p < item; p = strchr(p, ',') + 1) {
        while (isspace((unsigned char)*p))
            p++;
        if (strncmp(p, start, nlen) == 0 && (p[nlen] == '=' || isspace((unsigned char)p[nlen]))) {
            sk_err_set(err, EINVAL, "peer '%s' is listed twice", SHOW(start, show));
            goto out_free;
        }
    }
    rc = 0;
out_free:
    free(copy);
    return rc;
}

static int
check_peers(const char *s, struct sk_err *err)
{
    const char *item = s, *comma;
    size_t len;

    for (;;) {
        comma = strchr(item, ',');
        len = comma ? (size_t)(comma - item) : strlen(item);
        if (check_peer(s, item, len, err) < 0)
            return -EINVAL;
        if (!comma)
            return 0;
        item = comma + 1;
    }
}

/* Kubernetes user and group names: any printable text; here without
 * blanks (they separate entries), ',' (separates groups), '/' and '='. */
static bool
idmap_name_ok(const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++)
        if (!isgraph((unsigned char)s[i]) || s[i] == ',' || s[i] == '/' || s[i] == '=')
            return false;
    return len > 0;
}

static int
idmap_groups(const char *s, size_t len, struct sk_config_idmap *e, struct sk_err *err)
{
    const char *p = s, *end = s + len, *comma;

    if (len >= sizeof(e->groups))
        return sk_err_set(err, EINVAL, "groups longer than %zu bytes", sizeof(e->groups) - 1);
    if (len == 0)
        return sk_err_set(err, EINVAL, "bad group name ''");
    while (p < end) {
        comma = memchr(p, ',', (size_t)(end - p));
        if (!comma)
            comma = end;
        if (!idmap_name_ok(p, (size_t)(comma - p)))
            return sk_err_set(err, EINVAL, "bad group name '%.*s'", (int)(comma - p), p);
        p = comma + 1;
    }
    memcpy(e->groups, s, len);
    e->groups[len] = '\0';
    return 0;
}

/* One entry, the len bytes at s, into e. */
static int
idmap_entry(const char *s, size_t len, bool users, struct sk_config_idmap *e, struct sk_err *err)
{
    static const char id_chars[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
    const char *eq = memchr(s, '=', len), *end = s + len, *slash;
    size_t idlen, ulen;

    memset(e, 0, sizeof(*e));
    if (!eq)
        return sk_err_set(err, EINVAL, "expected %s",
                          users ? "ID=USER[/GROUP,...]" : "ID=GROUP[,GROUP...]");
    idlen = (size_t)(eq - s);
    if (idlen == 0 || idlen >= sizeof(e->id) || s[0] == '-' || strspn(s, id_chars) < idlen)
        return sk_err_set(err, EINVAL, "bad id '%.*s' (a number, or a user or group name)",
                          (int)(idlen < 32 ? idlen : 32), s);
    memcpy(e->id, s, idlen);
    if (!users)
        return idmap_groups(eq + 1, (size_t)(end - eq - 1), e, err);
    slash = memchr(eq + 1, '/', (size_t)(end - eq - 1));
    if (!slash)
        slash = end;
    ulen = (size_t)(slash - eq - 1);
    if (ulen >= sizeof(e->user) || !idmap_name_ok(eq + 1, ulen))
        return sk_err_set(err, EINVAL,
                          "bad user name (1 to %zu printable bytes without ',' '/' '=')",
                          sizeof(e->user) - 1);
    memcpy(e->user, eq + 1, ulen);
    if (slash == end)
        return 0;
    return idmap_groups(slash + 1, (size_t)(end - slash - 1), e, err);
}

int
sk_config_idmap_parse(const char *s, bool users, struct sk_config_idmap **out, size_t *n,
                      struct sk_err *err)
{
    struct sk_config_idmap *v = NULL;
    char show[SK_CONF_SHOW_MAX + 8], *item;
    size_t count = 0, len = 0, i;

    for (;;) {
        s += strspn(s, " \t");
        if (!*s)
            break;
        len = strcspn(s, " \t");
        v = sk_reallocarray(v, count + 1, sizeof(*v));
        if (idmap_entry(s, len, users, &v[count], err) < 0)
            goto bad;
        for (i = 0; i < count; i++) {
            if (strcmp(v[i].id, v[count].id) == 0) {
                sk_err_set(err, EINVAL, "'%s' is listed twice", v[i].id);
                goto bad;
            }
        }
        count++;
        s += len;
    }
    *out = v;
    *n = count;
    return 0;
bad:
    item = sk_strndup(s, len);
    sk_err_wrap(err, "entry '%s'", SHOW(item, show));
    free(item);
    free(v);
    return -EINVAL;
}

static int
check_idmap(const char *s, bool users, struct sk_err *err)
{
    struct sk_config_idmap *v;
    size_t n;

    if (sk_config_idmap_parse(s, users, &v, &n, err) < 0)
        return -EINVAL;
    free(v);
    return 0;
}

static int
check_local_users(const char *s, struct sk_err *err)
{
    return check_idmap(s, true, err);
}

static int
check_local_groups(const char *s, struct sk_err *err)
{
    return check_idmap(s, false, err);
}

/* The service network: kube-apiserver refuses more than 20 host bits
 * (its allocator is a bitmap of the whole range); /31 and /32 leave no
 * address once the network, broadcast and kubernetes service addresses
 * are set aside. */
static int
check_service_cidr(const char *s, struct sk_err *err)
{
    char show[SK_CONF_SHOW_MAX + 8];
    const char *slash = strchr(s, '/');
    long len = slash ? strtol(slash + 1, NULL, 10) : -1;

    if (len >= 12 && len <= 30)
        return 0;
    return sk_err_set(err, EINVAL, "service network '%s' must be a /12 to /30", SHOW(s, show));
}

static int
parse_port(const char **p, unsigned *out)
{
    unsigned v = 0;
    size_t n = 0;

    for (; isdigit((unsigned char)(*p)[n]) && n < 6; n++)
        v = v * 10 + (unsigned)((*p)[n] - '0');
    if (n == 0 || n > 5 || v > 65535)
        return -1;
    *p += n;
    *out = v;
    return 0;
}

int
sk_config_port_range_parse(const char *s, unsigned *lo, unsigned *hi, struct sk_err *err)
{
    char show[SK_CONF_SHOW_MAX + 8];
    const char *p = s;
    unsigned a, b;
    char sep;

    if (parse_port(&p, &a) < 0 || (*p != '-' && *p != '+'))
        goto bad;
    sep = *p++;
    if (parse_port(&p, &b) < 0 || *p)
        goto bad;
    if (sep == '+')
        b += a;
    if (a < 1 || b < a || b > 65535)
        goto bad;
    *lo = a;
    *hi = b;
    return 0;
bad:
    return sk_err_set(err, EINVAL,
                      "bad port range '%s' (LO-HI, 1 <= LO <= HI <= 65535, e.g. 30000-32767)",
                      SHOW(s, show));
}

static int
check_port_range(const char *s, struct sk_err *err)
{
    unsigned lo, hi;

    return sk_config_port_range_parse(s, &lo, &hi, err);
}

static const char *const log_levels[] = {"error", "warn", "info", "debug", NULL};
static const char *const log_formats[] = {"text", "json", NULL};

#define OFF(f) offsetof(struct sk_config, f)

/* clang-format off */
static const struct sk_conf_opt options[] = {
    {"server", "name", SK_CONF_STRING, OFF(server.name), NULL, NULL, 0, 0,
     "name of this server, unique in the cluster (default: the host name)", 0, check_name},
    {"server", "data-dir", SK_CONF_PATH, OFF(server.data_dir), "/var/lib/skiff", NULL, 0, 0,
     "directory of the store (Raft log, snapshots) and other state", 0, NULL},
    {"server", "socket", SK_CONF_PATH, OFF(server.socket), "/run/skiff/api.sock", NULL, 0, 0,
     "UNIX socket of the API", 0, NULL},
    {"server", "socket-mode", SK_CONF_STRING, OFF(server.socket_mode), "0660", NULL, 0, 0,
     "permissions of the API socket, octal", 0, check_mode},
    {"server", "socket-group", SK_CONF_STRING, OFF(server.socket_group), "skiff", NULL, 0, 0,
     "group owning the API socket; empty keeps skiffd's group", SK_CONF_EMPTY_OK, check_group},
    {"server", "listen", SK_CONF_HOSTPORT, OFF(server.listen), "127.0.0.1:6443", NULL, 0, 0,
     "TCP address of the API; empty turns TCP off", SK_CONF_EMPTY_OK, NULL},
    {"server", "peer-listen", SK_CONF_HOSTPORT, OFF(server.peer_listen), "127.0.0.1:2380", NULL,
     0, 0, "TCP address for Raft traffic from the other servers; empty turns it off",
     SK_CONF_EMPTY_OK, NULL},
    {"server", "peers", SK_CONF_STRING, OFF(server.peers), "", NULL, 0, 0,
     "the other servers, as name=host:port,...; empty for a single server",
     SK_CONF_EMPTY_OK, check_peers},
    {"server", "cluster-secret-file", SK_CONF_PATH, OFF(server.cluster_secret_file),
     "/etc/skiff/cluster-secret", NULL, 0, 0,
     "file holding the secret that servers and agents share; empty for none",
     SK_CONF_EMPTY_OK, NULL},
    {"server", "token-file", SK_CONF_PATH, OFF(server.token_file), "/etc/skiff/tokens.csv",
     NULL, 0, 0, "API tokens of TCP clients, one token,user,uid,\"groups\" a line; empty for none",
     SK_CONF_EMPTY_OK, NULL},
    {"server", "agent-key-file", SK_CONF_PATH, OFF(server.agent_key_file), NULL, NULL, 0, 0,
     "master key the agents' logs/exec endpoint keys derive from; empty: pod logs and exec "
     "are not relayed", SK_CONF_EMPTY_OK, NULL},
    {"server", "max-requests-inflight", SK_CONF_UINT, OFF(server.max_requests_inflight), "400",
     NULL, 1, 100000, "API requests in progress at once; more get 429 TooManyRequests", 0, NULL},
    {"server", "max-client-requests", SK_CONF_UINT, OFF(server.max_client_requests), "64", NULL,
     1, 64, "API requests in progress at once on one connection; more get 429", 0, NULL},
    {"server", "auth-timeout", SK_CONF_DURATION, OFF(server.auth_timeout_ms), "10s", NULL, 100,
     3600000, "TCP clients that have not authenticated by then are disconnected", 0, NULL},
    {"server", "service-cidr", SK_CONF_CIDR, OFF(server.service_cidr), "10.96.0.0/12", NULL, 0,
     0, "IPv4 network the Service cluster IPs are allocated from, /12 to /30", 0,
     check_service_cidr},
    {"server", "service-node-port-range", SK_CONF_STRING, OFF(server.node_port_range),
     "30000-32767", NULL, 0, 0, "ports the Service node ports are allocated from, as LO-HI", 0,
     check_port_range},

    {"auth", "local-users", SK_CONF_STRING, OFF(auth.local_users), "", NULL, 0, 0,
     "API identities of local users, as UID=USER[/GROUP,...] separated by blanks",
     SK_CONF_EMPTY_OK, check_local_users},
    {"auth", "local-groups", SK_CONF_STRING, OFF(auth.local_groups), "", NULL, 0, 0,
     "API groups of local users by primary group, as GID=GROUP[,GROUP...] separated by blanks",
     SK_CONF_EMPTY_OK, check_local_groups},

    {"store", "snapshot-every", SK_CONF_UINT, OFF(store.snapshot_every), "100000", NULL,
     1, 1000000000, "log entries between two snapshots", 0, NULL},
    {"store", "election-timeout", SK_CONF_DURATION, OFF(store.election_timeout_ms), "1s", NULL,
     10, 600000, "Raft election timeout (randomized between it and twice it)", 0, NULL},
    {"store", "heartbeat-interval", SK_CONF_DURATION, OFF(store.heartbeat_interval_ms), "100ms",
     NULL, 1, 60000, "interval of the Raft leader's heartbeats", 0, NULL},
    {"store", "fsync", SK_CONF_BOOL, OFF(store.fsync), "true", NULL, 0, 0,
     "fsync the log before acknowledging a write; turn off only for tests", 0, NULL},

    {"agent", "node-name", SK_CONF_STRING, OFF(agent.node_name), NULL, NULL, 0, 0,
     "name of this node's Node object (default: the host name)", 0, check_name},
    {"agent", "runtime-root", SK_CONF_PATH, OFF(agent.runtime_root), "/var/lib/skiff/runtime",
     NULL, 0, 0, "state of the containers: bundles, exit statuses, logs", 0, NULL},
    {"agent", "cgroup-root", SK_CONF_STRING, OFF(agent.cgroup_root), "skiff", NULL, 0, 0,
     "cgroup of the pods, relative to skiffd's own cgroup", 0, check_cgroup},
    {"agent", "cluster-cidr", SK_CONF_CIDR, OFF(agent.cluster_cidr), "10.244.0.0/16", NULL, 0, 0,
     "IPv4 network of pod addresses; each node gets a part of it", 0, NULL},
    {"agent", "service-cidr", SK_CONF_CIDR, OFF(agent.service_cidr), "10.96.0.0/12", NULL, 0, 0,
     "IPv4 network of Service cluster IPs", 0, NULL},
    {"agent", "bridge", SK_CONF_STRING, OFF(agent.bridge), "skiff0", NULL, 0, 0,
     "bridge device that pods are attached to", 0, check_ifname},
    {"agent", "masquerade", SK_CONF_BOOL, OFF(agent.masquerade), "true", NULL, 0, 0,
     "masquerade pods' traffic to addresses outside the cluster and service networks", 0, NULL},
    {"agent", "heartbeat-interval", SK_CONF_DURATION, OFF(agent.heartbeat_interval_ms), "10s",
     NULL, 1000, 3600000, "interval of the node's status updates to the API", 0, NULL},
    {"agent", "server", SK_CONF_STRING, OFF(agent.server), NULL, NULL, 0, 0,
     "API server of the agent: a UNIX socket path or host:port, or a comma-separated list "
     "of them tried in turn; empty: server.socket", SK_CONF_EMPTY_OK,
     NULL},
    {"agent", "token-file", SK_CONF_PATH, OFF(agent.token_file), NULL, NULL, 0, 0,
     "file holding the agent's API token; empty for none", SK_CONF_EMPTY_OK, NULL},
    {"agent", "image-root", SK_CONF_PATH, OFF(agent.image_root), "/var/lib/skiff/images", NULL, 0,
     0, "image store the pods' images are taken from", 0, NULL},
    {"agent", "address", SK_CONF_STRING, OFF(agent.address), NULL, NULL, 0, 0,
     "the node's InternalIP; empty: the first IPv4 address of a non-loopback link",
     SK_CONF_EMPTY_OK, NULL},
    {"agent", "max-pods", SK_CONF_UINT, OFF(agent.max_pods), "110", NULL, 1, 10000,
     "pods this node accepts (its pods capacity)", 0, NULL},
    {"agent", "reserved-cpu", SK_CONF_UINT, OFF(agent.reserved_cpu_m), "0", NULL, 0, 1000000,
     "millicores kept from allocatable for the system", 0, NULL},
    {"agent", "reserved-memory", SK_CONF_SIZE, OFF(agent.reserved_memory), "0", NULL, 0, 0,
     "memory kept from allocatable for the system", 0, NULL},
    {"agent", "endpoint-listen", SK_CONF_HOSTPORT, OFF(agent.endpoint_listen), ":10250", NULL, 0,
     0, "TCP address of the logs/exec endpoint (host empty: every address); empty turns it off",
     SK_CONF_EMPTY_OK, NULL},
    {"agent", "endpoint-key-file", SK_CONF_PATH, OFF(agent.endpoint_key_file), NULL, NULL, 0, 0,
     "file holding this node's endpoint key (skiffd.conf(5)); empty: endpoint off, except "
     "in server --agent", SK_CONF_EMPTY_OK, NULL},
    {"agent", "pod-cidr-claim", SK_CONF_BOOL, OFF(agent.pod_cidr_claim), "false", NULL, 0, 0,
     "without a podCIDR from node IPAM, claim a /24 through ConfigMaps (clusters without "
     "controllers or RBAC)", 0, NULL},

    {"dns", "enabled", SK_CONF_BOOL, OFF(dns.enabled), "true", NULL, 0, 0,
     "run the cluster DNS server in the agent and point pods at it", 0, NULL},
    {"dns", "port", SK_CONF_UINT, OFF(dns.port), "53", NULL, 1, 65535,
     "port of the DNS server on the node's pod gateway address, UDP and TCP", 0, NULL},
    {"dns", "domain", SK_CONF_STRING, OFF(dns.domain), "cluster.local", NULL, 0, 0,
     "the cluster domain", 0, check_name},
    {"dns", "ttl", SK_CONF_DURATION, OFF(dns.ttl_ms), "30s", NULL, 1000, 3600000,
     "TTL of the cluster's records", 0, NULL},
    {"dns", "upstream-resolv-conf", SK_CONF_PATH, OFF(dns.upstream_resolv_conf), NULL, NULL, 0, 0,
     "resolv.conf whose nameservers get names outside the cluster; empty: they are REFUSED",
     SK_CONF_EMPTY_OK, NULL},
    {"dns", "upstream-timeout", SK_CONF_DURATION, OFF(dns.upstream_timeout_ms), "2s", NULL, 100,
     60000, "wait for one upstream before trying the next", 0, NULL},
    {"dns", "cache-size", SK_CONF_UINT, OFF(dns.cache_size), "1024", NULL, 0, 1000000,
     "forwarded answers kept; 0 turns the cache off", 0, NULL},

    {"scheduler", "enabled", SK_CONF_BOOL, OFF(scheduler.enabled), "true", NULL, 0, 0,
     "run the scheduler (on the store's Raft leader only)", 0, NULL},
    {"scheduler", "backoff-initial", SK_CONF_DURATION, OFF(scheduler.backoff_initial_ms), "1s",
     NULL, 1, 3600000, "delay before a pod that did not fit is tried again", 0, NULL},
    {"scheduler", "backoff-max", SK_CONF_DURATION, OFF(scheduler.backoff_max_ms), "10s", NULL,
     1, 3600000, "cap of the delay, doubled after each failed attempt", 0, NULL},
    {"scheduler", "unschedulable-retry", SK_CONF_DURATION,
     OFF(scheduler.unschedulable_retry_ms), "60s", NULL, 1000, 86400000,
     "retry a pod that fits nowhere after this long even if nothing changed", 0, NULL},
    {"scheduler", "weight-least-allocated", SK_CONF_UINT, OFF(scheduler.weights[0]), "1", NULL,
     0, 100, "score weight: prefer nodes with the most cpu and memory left", 0, NULL},
    {"scheduler", "weight-balanced-allocation", SK_CONF_UINT, OFF(scheduler.weights[1]), "1",
     NULL, 0, 100, "score weight: prefer cpu and memory used in the same proportion", 0, NULL},
    {"scheduler", "weight-node-affinity", SK_CONF_UINT, OFF(scheduler.weights[2]), "2", NULL,
     0, 100, "score weight: preferred node affinity", 0, NULL},
    {"scheduler", "weight-inter-pod-affinity", SK_CONF_UINT, OFF(scheduler.weights[3]), "2",
     NULL, 0, 100, "score weight: preferred pod affinity and anti-affinity", 0, NULL},
    {"scheduler", "weight-topology-spread", SK_CONF_UINT, OFF(scheduler.weights[4]), "2", NULL,
     0, 100, "score weight: ScheduleAnyway topology spread constraints", 0, NULL},
    {"scheduler", "weight-taint-toleration", SK_CONF_UINT, OFF(scheduler.weights[5]), "3", NULL,
     0, 100, "score weight: fewest untolerated PreferNoSchedule taints", 0, NULL},

    {"controllers", "enabled", SK_CONF_BOOL, OFF(controllers.enabled), "true", NULL, 0, 0,
     "run the controller manager (on the store's Raft leader only)", 0, NULL},
    {"controllers", "workers", SK_CONF_UINT, OFF(controllers.workers), "5", NULL, 1, 64,
     "reconciles in flight at once per controller", 0, NULL},
    {"controllers", "resync", SK_CONF_DURATION, OFF(controllers.resync_ms), "30s", NULL, 1000,
     86400000, "every object is reconciled again at this interval", 0, NULL},
    {"controllers", "node-grace", SK_CONF_DURATION, OFF(controllers.node_grace_ms), "40s", NULL,
     1000, 3600000, "a node silent this long is marked Ready=Unknown and tainted", 0, NULL},
    {"controllers", "node-cidr-mask-size", SK_CONF_UINT, OFF(controllers.node_cidr_mask_size),
     "24", NULL, 1, 30, "prefix length of the podCIDR node IPAM gives each node out of "
     "agent.cluster-cidr", 0, NULL},
    {"controllers", "server", SK_CONF_STRING, OFF(controllers.server), NULL, NULL, 0, 0,
     "API server of `skiffd controllers`: a UNIX socket path or host:port, or a "
     "comma-separated list of them tried in turn", SK_CONF_EMPTY_OK, NULL},
    {"controllers", "token-file", SK_CONF_PATH, OFF(controllers.token_file), NULL, NULL, 0, 0,
     "file holding the API token of `skiffd controllers`; empty for none", SK_CONF_EMPTY_OK,
     NULL},
    {"controllers", "lease-duration", SK_CONF_DURATION, OFF(controllers.lease_ms), "15s", NULL,
     1000, 3600000, "`skiffd controllers` leader election: a leader silent this long is "
     "replaced", 0, NULL},

    {"log", "level", SK_CONF_ENUM, OFF(log.level), "info", log_levels, 0, 0,
     "least severe messages logged", 0, NULL},
    {"log", "format", SK_CONF_ENUM, OFF(log.format), "text", log_formats, 0, 0,
     "text lines or one JSON object a line", 0, NULL},
    {"log", "syslog", SK_CONF_BOOL, OFF(log.syslog), "false", NULL, 0, 0,
     "send messages to syslog(3) instead of standard error", 0, NULL},

    {NULL, NULL, 0, 0, NULL, NULL, 0, 0, NULL, 0, NULL},
};
/* clang-format on */

/* The enum fields hold enum sk_log_* values by index. */
_Static_assert(SK_LOG_ERROR == 0 && SK_LOG_WARN == 1 && SK_LOG_INFO == 2 && SK_LOG_DEBUG == 3,
               "log.level choices follow enum sk_log_level");
_Static_assert(SK_LOG_TEXT == 0 && SK_LOG_JSON == 1, "log.format choices follow sk_log_format");

const struct sk_conf_opt *
sk_config_options(void)
{
    return options;
}

static char *
host_name(void)
{
    char buf[256];
    size_t i;

    if (gethostname(buf, sizeof(buf)) < 0 || !buf[0])
        return sk_strdup("localhost");
    buf[sizeof(buf) - 1] = '\0';
    for (i = 0; buf[i]; i++)
        buf[i] = (char)tolower((unsigned char)buf[i]);
    return sk_strdup(buf);
}

void
sk_config_init(struct sk_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    sk_conf_defaults(options, cfg);
    free(cfg->server.name);
    cfg->server.name = host_name();
    free(cfg->agent.node_name);
    cfg->agent.node_name = sk_strdup(cfg->server.name);
}

void
sk_config_release(struct sk_config *cfg)
{
    sk_conf_release(options, cfg);
}

static int
cidr_parse(const char *s, uint32_t *net, uint32_t *mask)
{
    char addr[INET_ADDRSTRLEN];
    const char *slash = strchr(s, '/');
    struct in_addr in;
    unsigned len;

    if (!slash || (size_t)(slash - s) >= sizeof(addr))
        return -1;
    memcpy(addr, s, (size_t)(slash - s));
    addr[slash - s] = '\0';
    if (inet_pton(AF_INET, addr, &in) != 1)
        return -1;
    len = (unsigned)atoi(slash + 1);
    *mask = len == 0 ? 0 : ~0U << (32 - (len > 32 ? 32 : len));
    *net = ntohl(in.s_addr) & *mask;
    return 0;
}

static int
check_timeouts(const struct sk_config *cfg, struct sk_err *err)
{
    /* Raft §5.6: broadcast time << election timeout; followers must hear
     * heartbeats within an election timeout or they start needless
     * elections. */
    if (cfg->store.election_timeout_ms > cfg->store.heartbeat_interval_ms)
        return 0;
    return sk_err_set(err, EINVAL,
                      "store.election-timeout (%llums) must be longer than "
                      "store.heartbeat-interval (%llums)",
                      (unsigned long long)cfg->store.election_timeout_ms,
                      (unsigned long long)cfg->store.heartbeat_interval_ms);
}

static int
check_networks(const struct sk_config *cfg, struct sk_err *err)
{
    char a[SK_CONF_SHOW_MAX + 8], b[SK_CONF_SHOW_MAX + 8];
    uint32_t n1, m1, n2, m2;

    /* Two prefixes either nest or are disjoint: they overlap when they
     * agree on the shorter one. */
    if (cidr_parse(cfg->agent.cluster_cidr, &n1, &m1) < 0 ||
        cidr_parse(cfg->agent.service_cidr, &n2, &m2) < 0 || (n1 & m1 & m2) != (n2 & m1 & m2))
        return 0;
    return sk_err_set(err, EINVAL, "agent.cluster-cidr %s and agent.service-cidr %s overlap",
                      SHOW(cfg->agent.cluster_cidr, a), SHOW(cfg->agent.service_cidr, b));
}

/* The API server hands out cluster IPs from server.service-cidr: pods
 * must not get those addresses. */
static int
check_server_networks(const struct sk_config *cfg, struct sk_err *err)
{
    char a[SK_CONF_SHOW_MAX + 8], b[SK_CONF_SHOW_MAX + 8];
    uint32_t n1, m1, n2, m2;

    if (cidr_parse(cfg->agent.cluster_cidr, &n1, &m1) < 0 ||
        cidr_parse(cfg->server.service_cidr, &n2, &m2) < 0 || (n1 & m1 & m2) != (n2 & m1 & m2))
        return 0;
    return sk_err_set(err, EINVAL, "agent.cluster-cidr %s and server.service-cidr %s overlap",
                      SHOW(cfg->agent.cluster_cidr, a), SHOW(cfg->server.service_cidr, b));
}

static int
check_server_name(const struct sk_config *cfg, struct sk_err *err)
{
    if (check_name(cfg->server.name, err) < 0)
        return sk_err_wrap(err, "server.name (the host name unless set)");
    return 0;
}

static int
check_node_name(const struct sk_config *cfg, struct sk_err *err)
{
    if (check_name(cfg->agent.node_name, err) < 0)
        return sk_err_wrap(err, "agent.node-name (the host name unless set)");
    return 0;
}

static int
check_backoff(const struct sk_config *cfg, struct sk_err *err)
{
    if (cfg->scheduler.backoff_initial_ms <= cfg->scheduler.backoff_max_ms)
        return 0;
    return sk_err_set(err, EINVAL,
                      "scheduler.backoff-initial (%llums) must not be longer than "
                      "scheduler.backoff-max (%llums)",
                      (unsigned long long)cfg->scheduler.backoff_initial_ms,
                      (unsigned long long)cfg->scheduler.backoff_max_ms);
}

/* Node IPAM cuts agent.cluster-cidr into node-cidr-mask-size subnets:
 * at least one, at most 65536 (ctrl/nodeipam.c's bound). */
static int
check_node_cidr_mask(const struct sk_config *cfg, struct sk_err *err)
{
    char a[SK_CONF_SHOW_MAX + 8];
    uint32_t net, mask;
    unsigned len = 0, size = (unsigned)cfg->controllers.node_cidr_mask_size;

    if (cidr_parse(cfg->agent.cluster_cidr, &net, &mask) < 0)
        return 0;
    while (len < 32 && (mask & (0x80000000u >> len)))
        len++;
    if (size >= len && size - len <= 16)
        return 0;
    return sk_err_set(err, EINVAL,
                      "controllers.node-cidr-mask-size /%u: must be from /%u (agent.cluster-cidr "
                      "%s) to /%u",
                      size, len, SHOW(cfg->agent.cluster_cidr, a), len + 16 > 30 ? 30 : len + 16);
}

static int (*const cross_checks[])(const struct sk_config *, struct sk_err *) = {
    check_timeouts,    check_backoff,   check_networks,       check_server_networks,
    check_server_name, check_node_name, check_node_cidr_mask,
};

/* Run every cross check; each problem goes to diag (if not NULL) as a
 * whole-file problem of file, the first one to first. */
static int
validate(const struct sk_config *cfg, const char *file, struct sk_conf_diag *diag,
         struct sk_err *first)
{
    struct sk_err err;
    size_t i;
    int rc = 0;

    for (i = 0; i < sizeof(cross_checks) / sizeof(cross_checks[0]); i++) {
        sk_err_init(&err);
        if (cross_checks[i](cfg, &err) >= 0)
            continue;
        if (rc == 0)
            sk_err_copy(first, &err);
        if (diag)
            sk_conf_diag_add(diag, file, 0, "%s", err.msg);
        rc = -EINVAL;
    }
    return rc;
}

int
sk_config_validate(const struct sk_config *cfg, struct sk_err *err)
{
    return validate(cfg, NULL, NULL, err);
}

/* The cross checks run even after a bad line so that --check-config
 * shows every problem at once. */
static int
finish_load(struct sk_config *cfg, const char *name, int rc, struct sk_conf_diag *diag)
{
    int vrc = validate(cfg, name, diag, NULL);

    return rc < 0 ? rc : vrc;
}

int
sk_config_load(struct sk_config *cfg, const char *path, struct sk_conf_diag *diag)
{
    return finish_load(cfg, path, sk_conf_load_file(options, cfg, path, diag), diag);
}

int
sk_config_load_string(struct sk_config *cfg, const char *name, const char *text,
                      struct sk_conf_diag *diag)
{
    return finish_load(cfg, name, sk_conf_load_string(options, cfg, name, text, diag), diag);
}

int
sk_config_set(struct sk_config *cfg, const char *name, const char *value, struct sk_err *err)
{
    return sk_conf_set(options, cfg, name, value, err);
}

void
sk_config_print(const struct sk_config *cfg, FILE *f)
{
    sk_conf_print(options, cfg, f);
}
