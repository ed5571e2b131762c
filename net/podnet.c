/* net/podnet.c: a pod's network (bridge, veth pair, address, routes),
 * node routes to other nodes' pods, and host checks.
 *
 * Layout on a node with podCIDR 10.244.1.0/24:
 *
 *     node netns                               pod netns
 *     skiff0 (bridge) 10.244.1.1/24
 *       +-- skf1a2b3c4d (veth) <------------> eth0 10.244.1.7/24
 *                                             default via 10.244.1.1
 *
 * The host end's name is derived from the pod id, and its alias
 * (IFLA_IFALIAS) carries the pod id itself: a setup re-run after a
 * crash recognises its own veth by the alias, and a hash collision
 * between two pods is an error instead of a stolen interface. The peer
 * is created directly inside the pod netns as eth0, with its MAC and
 * MTU, and the host end with its bridge master and up, in one
 * RTM_NEWLINK (a rename would cost an RCU grace period: dev_change_name
 * calls synchronize_net). The kernel ignores IFLA_IFALIAS in
 * RTM_NEWLINK, so the alias takes a second request; a crash between the two leaves a
 * pair without alias, which a re-run adopts when the pod netns's eth0
 * and the host end name each other as peer (IFLA_LINK both ways).
 * Earlier versions created the peer under a temporary name ("skp" +
 * the same hash) and renamed it; a pair left so by a crash is adopted
 * and renamed too.
 *
 * The requests that need no answer go out in two bursts (nl_batch_run):
 * address, lo and eth0 up and the default route on the pod's socket,
 * then alias and hairpin of the host end; one system call each instead
 * of one round trip per request. A pair found from an earlier run gets
 * the rest too (MAC, MTU, master, host end up). */
#include "net/nl_int.h"

#include "lib/buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define POD_IF "eth0"

/* Sysctls every pod netns gets, the defaults of Docker and containerd:
 * unprivileged ICMP echo sockets (ping without CAP_NET_RAW) and binding
 * ports below 1024 without CAP_NET_BIND_SERVICE, both safe inside a
 * netns of its own (moby#41030). spec->sysctls come after and win. */
static const char *const pod_default_sysctls[] = {
    "net.ipv4.ping_group_range=0 2147483647",
    "net.ipv4.ip_unprivileged_port_start=0",
    NULL,
};

/* ---- host checks ---- */

int
net_host_check(int netns_fd, struct sk_err *err)
{
    char v[16];

    if (net_sysctl_get(netns_fd, "net.ipv4.ip_forward", v, sizeof(v), err) < 0)
        return sk_err_wrap(err, "host check");
    if (strcmp(v, "1") != 0)
        return sk_err_set(err, EOPNOTSUPP,
                          "host check: IPv4 forwarding is off (net.ipv4.ip_forward = %s), so pods "
                          "cannot reach other nodes; enable it with 'sysctl -w "
                          "net.ipv4.ip_forward=1' (and in /etc/sysctl.d/ to keep it)",
                          v);
    /* The bridge driver declares MODULE_VERSION, so /sys/module/bridge
     * exists whether it is a loaded module or built in. */
    if (access("/sys/module/bridge", F_OK) < 0)
        return sk_err_set(err, EOPNOTSUPP,
                          "host check: the kernel's bridge driver is not loaded "
                          "(/sys/module/bridge is missing); load it with 'modprobe bridge' "
                          "(and list it in /etc/modules-load.d/ to keep it)");
    return 0;
}

/* ---- the node bridge ---- */

int
net_bridge_ensure(struct nl_sock *nl, const char *bridge, const struct net_cidr *podcidr,
                  struct sk_err *err)
{
    struct net_cidr gw = {.prefix = podcidr->prefix};
    struct net_ip brd;
    struct nl_link link;
    struct sk_err lerr;
    int rc;

    sk_err_init(&lerr);
    rc = nl_link_get(nl, bridge, &link, &lerr);
    if (rc == -ENODEV) {
        rc = nl_link_add_bridge(nl, bridge, err);
        if (rc == -EOPNOTSUPP)
            return sk_err_wrap(err, "the kernel has no bridge support (modprobe bridge)");
        if (rc < 0 && rc != -EEXIST) /* EEXIST: another agent was quicker */
            return rc;
    } else if (rc < 0) {
        return sk_err_copy(err, &lerr);
    } else if (strcmp(link.kind, "bridge") != 0) {
        return sk_err_set(err, EEXIST, "link '%s' exists and is a %s, not a bridge", bridge,
                          link.kind[0] ? link.kind : "plain device");
    }
    rc = net_cidr_host(podcidr, 1, &gw.ip, err);
    if (rc < 0)
        return sk_err_wrap(err, "bridge '%s'", bridge);
    brd = net_cidr_broadcast(podcidr);
    rc = nl_addr_add(nl, bridge, &gw, podcidr->ip.family == AF_INET ? &brd : NULL, NL_F_REPLACE,
                     err);
    if (rc < 0)
        return rc;
    return nl_link_set_up(nl, bridge, true, err);
}

/* ---- pod setup ---- */

static uint32_t
fnv1a(const char *s)
{
    uint32_t h = 2166136261u;

    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

void
net_pod_ifname(const char *pod_id, char out[IF_NAMESIZE])
{
    snprintf(out, IF_NAMESIZE, "skf%08x", fnv1a(pod_id));
}

static void
pod_tmpname(const char *pod_id, char out[IF_NAMESIZE])
{
    snprintf(out, IF_NAMESIZE, "skp%08x", fnv1a(pod_id));
}

/* Everything one setup needs, so the steps stay small. */
struct pod_ctx {
    const struct net_pod_spec *spec;
    struct nl_sock *nl;  /* node netns */
    struct nl_sock *pod; /* pod netns */
    int netns_fd;
    bool own_fd;
    struct net_netns_task *task; /* writing the sysctls, until joined */
    char host_if[IF_NAMESIZE];
    char tmp_if[IF_NAMESIZE];
    struct net_cidr addr;
    struct net_ip gw;
    struct nl_link host; /* the host end as found by host_lookup */
    bool host_found;
    int bridge_index;
    int host_index; /* of the host end, once known */
    int pod_index;  /* of eth0 when this call created it (and learnt it) */
    bool new_link;  /* created by this call: removed again on failure */
    bool new_ip;
};

/* Look up name in the pod netns: 1 (filled in) if it is a veth, 0 if
 * absent, an error if it is something else. */
static int
pod_get_veth(struct pod_ctx *c, const char *name, struct nl_link *out, struct sk_err *err)
{
    struct sk_err lerr;
    int rc;

    sk_err_init(&lerr);
    rc = nl_link_get(c->pod, name, out, &lerr);
    if (rc == -ENODEV)
        return 0;
    if (rc < 0)
        return sk_err_copy(err, &lerr);
    if (strcmp(out->kind, "veth") != 0)
        return sk_err_set(err, EEXIST, "the pod netns already has a link '%s' of kind '%s'", name,
                          out->kind[0] ? out->kind : "plain device");
    return 1;
}

/* The pod side of a veth: eth0, or the temporary name before rename. */
static int
pod_side_link(struct pod_ctx *c, struct nl_link *out, struct sk_err *err)
{
    int rc = pod_get_veth(c, POD_IF, out, err);

    return rc != 0 ? rc : pod_get_veth(c, c->tmp_if, out, err);
}

/* Is the host link ours? A veth with the pod id as alias is; one with
 * no alias whose peer is this pod netns's eth0 (or, from an earlier
 * version, its temporary name), each naming the other as peer, is what
 * a crash between creating the pair and setting the alias leaves, and
 * is adopted. 1 ours, <0 someone else's. */
static int
host_link_is_ours(struct pod_ctx *c, const struct nl_link *host, struct sk_err *err)
{
    struct nl_link peer;
    int rc;

    if (!strcmp(host->kind, "veth") && !strcmp(host->alias, c->spec->pod_id))
        return 1;
    if (!strcmp(host->kind, "veth") && !host->alias[0]) {
        rc = pod_side_link(c, &peer, err);
        if (rc < 0)
            return rc;
        if (rc == 1 && peer.index == host->link && peer.link == host->index)
            return nl_link_set_alias(c->nl, c->host_if, c->spec->pod_id, err) < 0 ? -EIO : 1;
    }
    if (host->alias[0])
        return sk_err_set(err, EEXIST, "link '%s' exists and belongs to pod '%s'", c->host_if,
                          host->alias);
    return sk_err_set(err, EEXIST, "link '%s' exists and belongs to someone else", c->host_if);
}

/* Find the pod's complete veth pair (1), or clear the way for a new
 * one (0): a host end whose peer is not in this netns is left from an
 * earlier sandbox of the same pod, and a veth in the pod netns that is
 * not paired with our host end is stale; both are removed. (IFLA_LINK
 * of a veth is its peer's ifindex, in the peer's netns.) */
static int
veth_find(struct pod_ctx *c, struct sk_err *err)
{
    const struct nl_link host = c->host;
    struct nl_link peer;
    int rc;

    if (c->host_found) {
        rc = host_link_is_ours(c, &host, err);
        if (rc < 0)
            return rc;
        rc = pod_side_link(c, &peer, err);
        if (rc < 0)
            return rc;
        if (rc == 1 && peer.index == host.link) {
            c->host_index = host.index;
            return 1;
        }
        rc = nl_link_del(c->nl, c->host_if, err);
        if (rc < 0 && rc != -ENODEV)
            return rc;
        rc = pod_side_link(c, &peer, err);
    } else {
        /* A peer under the temporary name only exists with its host
         * end (the pair is made whole in one request): eth0 alone. */
        rc = pod_get_veth(c, POD_IF, &peer, err);
    }
    if (rc <= 0)
        return rc;
    rc = nl_link_del(c->pod, peer.name, err);
    return rc == -ENODEV ? 0 : rc;
}

/* A MAC derived from the IPv4 address (0a:58 + address, locally
 * administered): a reused address keeps its MAC, so neighbours' ARP
 * caches stay right. false for IPv6 (the kernel's random MAC stays). */
static bool
pod_mac(const struct pod_ctx *c, uint8_t mac[6])
{
    if (c->addr.ip.family != AF_INET)
        return false;
    mac[0] = 0x0a;
    mac[1] = 0x58;
    memcpy(mac + 2, c->addr.ip.a, 4);
    return true;
}

/* The bridge's ifindex, for the host end's master. */
static int
bridge_lookup(struct pod_ctx *c, struct sk_err *err)
{
    const char *bridge = c->spec->bridge ? c->spec->bridge : NET_BRIDGE_DEFAULT;

    c->bridge_index = nl_link_index(c->nl, bridge, err);
    if (c->bridge_index < 0)
        return sk_err_wrap(err, "link '%s': set master", c->host_if);
    return 0;
}

/* The host end, if there is one. */
static int
host_lookup(struct pod_ctx *c, struct sk_err *err)
{
    struct sk_err lerr;
    int rc;

    sk_err_init(&lerr);
    rc = nl_link_get(c->nl, c->host_if, &c->host, &lerr);
    if (rc < 0 && rc != -ENODEV)
        return sk_err_copy(err, &lerr);
    c->host_found = rc == 0;
    return 0;
}

/* The pair is born with eth0's name, MAC and MTU, the host end's
 * master, the host end up: one request where a rename, a MAC, an MTU, a
 * master and an up took one each (pod_side and host_side find them
 * right). */
static int
veth_create(struct pod_ctx *c, struct sk_err *err)
{
    struct nl_veth v = {c->host_if, POD_IF, c->netns_fd, NULL, c->spec->mtu, 0, true, NULL};
    struct nl_link host;
    uint8_t mac[6];
    int rc;

    v.master = c->bridge_index;
    v.peer_mac = pod_mac(c, mac) ? mac : NULL;
    v.echo = &host;
    rc = nl_link_add_veth_full(c->nl, &v, err);
    if (rc < 0)
        return rc;
    c->new_link = true;
    /* The echo names the host end's ifindex and its peer's (eth0's,
     * in the pod netns): no lookups afterwards. */
    if (host.index > 0 && host.link > 0) {
        c->host_index = host.index;
        c->pod_index = host.link;
    }
    return 0;
}

/* Most setups are of a new pod in a new netns: the pair is created
 * first, and what is there looked at only when a name is taken. The
 * kernel answers EEXIST before it creates anything: for the host end's
 * name in __rtnl_newlink (NLM_F_EXCL), for eth0 when registering the
 * peer, before the host end is registered (veth_newlink). */
static int
veth_ensure(struct pod_ctx *c, struct sk_err *err)
{
    struct sk_err lerr;
    int rc;

    sk_err_init(&lerr);
    rc = veth_create(c, &lerr);
    if (rc != -EEXIST)
        return rc < 0 ? sk_err_copy(err, &lerr) : 0;
    rc = host_lookup(c, err);
    if (rc >= 0)
        rc = veth_find(c, err);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    return veth_create(c, err);
}

static int
sysctl_list(const char *const *list, struct sk_err *err)
{
    char key[128];
    const char *eq;
    int rc;

    for (; list && *list; list++) {
        eq = strchr(*list, '=');
        if (!eq || (size_t)(eq - *list) >= sizeof(key))
            return sk_err_set(err, EINVAL, "sysctl '%.64s': want key=value", *list);
        memcpy(key, *list, (size_t)(eq - *list));
        key[eq - *list] = '\0';
        rc = net_sysctl_set(-1, key, eq + 1, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* On a thread inside the pod netns while the setup goes on: the
 * sysctls. The first /proc/sys/net lookup in a new netns is slow (tens
 * to hundreds of µs, growing with the netns alive on the node: every
 * one has a "net" dentry under /proc/sys, all in one hash chain, which
 * a miss walks calling proc_sys_compare on each), so it overlaps the
 * netlink work instead of preceding it. Reads only c->spec. */
static int
pod_sysctl_fn(void *arg, struct sk_err *err)
{
    const struct pod_ctx *c = arg;
    int rc;

    rc = sysctl_list(pod_default_sysctls, err);
    if (rc >= 0)
        rc = sysctl_list(c->spec->sysctls, err);
    return rc;
}

/* eth0 as found in the pod netns; a pair from an earlier version still
 * under its temporary name is renamed first. */
static int
pod_eth0(struct pod_ctx *c, struct nl_link *link, struct sk_err *err)
{
    int rc = 0;

    if (!c->new_link)
        rc = pod_get_veth(c, c->tmp_if, link, err);
    if (rc > 0)
        rc = nl_link_rename(c->pod, c->tmp_if, POD_IF, err);
    if (rc < 0)
        return rc;
    rc = nl_link_get(c->pod, POD_IF, link, err);
    if (rc < 0)
        return rc;
    /* eth0's IFLA_LINK is its peer's ifindex in the node netns
     * (veth_get_iflink): the host end. */
    if (!c->host_index)
        c->host_index = link->link;
    return 0;
}

/* The pod's side in one burst. The MAC of a veth made by an earlier run
 * (or before a crash) may still be the kernel's random one. */
static int
pod_side(struct pod_ctx *c, struct sk_err *err)
{
    struct nl_route def = {.gw = c->gw, .type = NL_ROUTE_UNICAST};
    struct net_ip brd = net_cidr_broadcast(&c->addr);
    struct nl_link link;
    uint8_t mac[6];
    int rc;

    /* eth0 this call created is known as it was born (MAC, MTU). */
    memset(&link, 0, sizeof(link));
    link.index = c->pod_index;
    if (pod_mac(c, mac))
        memcpy(link.mac, mac, link.mac_len = 6);
    link.mtu = c->spec->mtu;
    rc = c->pod_index > 0 ? 0 : pod_eth0(c, &link, err);
    if (rc < 0)
        return rc;
    def.dst.ip.family = c->gw.family;
    def.ifindex = link.index;
    sk_strlcpy(def.dev, POD_IF, sizeof(def.dev));
    nl_batch_begin(c->pod);
    if (pod_mac(c, mac) && (link.mac_len != 6 || memcmp(link.mac, mac, 6) != 0))
        rc = nl_link_set_mac(c->pod, POD_IF, mac, err);
    if (rc >= 0 && c->spec->mtu && link.mtu != c->spec->mtu)
        rc = nl_link_set_mtu(c->pod, POD_IF, c->spec->mtu, err);
    if (rc >= 0)
        rc = nl_addr_add_index(c->pod, POD_IF, link.index, &c->addr, &brd, NL_F_REPLACE, err);
    if (rc >= 0)
        rc = nl_link_set_up(c->pod, "lo", true, err);
    if (rc >= 0)
        rc = nl_link_set_up(c->pod, POD_IF, true, err);
    if (rc >= 0)
        rc = nl_route_add(c->pod, &def, NL_F_REPLACE, err);
    if (rc < 0) {
        nl_batch_cancel(c->pod);
        return rc;
    }
    return nl_batch_run(c->pod, err);
}

/* A pair this call did not create may lack the MTU and master. */
static int
host_adopted(struct pod_ctx *c, struct sk_err *err)
{
    const char *bridge = c->spec->bridge ? c->spec->bridge : NET_BRIDGE_DEFAULT;
    int rc;

    if (c->spec->mtu && (rc = nl_link_set_mtu(c->nl, c->host_if, c->spec->mtu, err)) < 0)
        return rc;
    return nl_link_set_master(c->nl, c->host_if, bridge, err);
}

/* The host end in one burst: alias (the kernel ignores it in
 * RTM_NEWLINK), hairpin, up. */
static int
host_side(struct pod_ctx *c, struct sk_err *err)
{
    int rc = 0;

    if (!c->new_link && (rc = host_adopted(c, err)) < 0)
        return rc;
    if (c->host_index <= 0 && (c->host_index = nl_link_index(c->nl, c->host_if, err)) < 0)
        return c->host_index;
    nl_batch_begin(c->nl);
    if (c->new_link)
        rc = nl_link_set_alias(c->nl, c->host_if, c->spec->pod_id, err);
    /* Hairpin: a pod's connection to its own Service is DNATed back to
     * it, and the bridge must send that frame out of the port it came
     * in by (kubelet's hairpin-veth mode). */
    if (rc >= 0)
        rc = nl_link_set_hairpin_index(c->nl, c->host_if, c->host_index, true, err);
    if (rc >= 0 && !c->new_link)
        rc = nl_link_set_up(c->nl, c->host_if, true, err);
    if (rc < 0) {
        nl_batch_cancel(c->nl);
        return rc;
    }
    return nl_batch_run(c->nl, err);
}

static int
pod_open(struct pod_ctx *c, struct sk_err *err)
{
    int rc;

    if (c->spec->netns_path) {
        c->netns_fd = net_netns_open(c->spec->netns_path, err);
        if (c->netns_fd < 0)
            return c->netns_fd;
        c->own_fd = true;
    } else if (c->spec->netns_fd < 0) {
        return sk_err_set(err, EBADF, "no network namespace given");
    } else {
        c->netns_fd = c->spec->netns_fd;
    }
    /* The pod's netlink socket, bound to the pod netns for its life. */
    rc = nl_sock_open_in(&c->pod, c->netns_fd, err);
    if (rc < 0)
        return c->spec->netns_path ? sk_err_wrap(err, "network namespace '%s'", c->spec->netns_path)
                                   : rc;
    return net_netns_spawn(&c->task, c->netns_fd, pod_sysctl_fn, c, err);
}

static int
pod_address(struct pod_ctx *c, struct ipam *ipam, struct sk_err *err)
{
    int rc = ipam_alloc(ipam, c->spec->pod_id, &c->addr.ip, err);

    if (rc < 0)
        return rc;
    c->new_ip = rc == 1;
    c->addr.prefix = ipam->pool.prefix;
    c->gw = ipam_gateway(ipam);
    return 0;
}

/* Wait for the sysctls. They used to come before everything else, so
 * their failure is the one reported when both failed. */
static int
pod_join(struct pod_ctx *c, int rc, struct sk_err *err)
{
    struct sk_err serr;
    int src;

    sk_err_init(&serr);
    src = net_netns_join(c->task, &serr);
    c->task = NULL;
    return src < 0 ? sk_err_copy(err, &serr) : rc;
}

/* Undo what this call created; errors here are logged into nothing:
 * the caller reports the original failure. */
static void
pod_rollback(struct pod_ctx *c, struct ipam *ipam)
{
    if (c->new_link)
        nl_link_del(c->nl, c->host_if, NULL);
    if (c->new_ip)
        ipam_release_owner(ipam, c->spec->pod_id, NULL);
}

int
net_pod_setup(struct nl_sock *nl, struct ipam *ipam, const struct net_pod_spec *spec,
              struct net_pod_result *res, struct sk_err *err)
{
    struct pod_ctx c;
    int rc;

    memset(&c, 0, sizeof(c));
    c.spec = spec;
    c.nl = nl;
    c.netns_fd = -1;
    net_pod_ifname(spec->pod_id, c.host_if);
    pod_tmpname(spec->pod_id, c.tmp_if);
    rc = pod_open(&c, err);
    if (rc < 0)
        goto out;
    rc = pod_address(&c, ipam, err);
    if (rc >= 0)
        rc = bridge_lookup(&c, err);
    if (rc >= 0)
        rc = veth_ensure(&c, err);
    if (rc >= 0)
        rc = pod_side(&c, err);
    if (rc >= 0)
        rc = host_side(&c, err);
    rc = pod_join(&c, rc, err);
    if (rc < 0) {
        pod_rollback(&c, ipam);
        goto out;
    }
    if (res) {
        res->addr = c.addr;
        res->gateway = c.gw;
        sk_strlcpy(res->host_if, c.host_if, sizeof(res->host_if));
    }
out:
    if (rc < 0)
        sk_err_wrap(err, "pod '%s': network setup", spec->pod_id);
    nl_sock_free(c.pod);
    if (c.own_fd)
        close(c.netns_fd);
    return rc < 0 ? rc : 0;
}

int
net_pod_teardown(struct nl_sock *nl, struct ipam *ipam, const char *pod_id, struct sk_err *err)
{
    char host_if[IF_NAMESIZE];
    struct nl_link link;
    struct sk_err lerr;
    int rc;

    net_pod_ifname(pod_id, host_if);
    sk_err_init(&lerr);
    rc = nl_link_get(nl, host_if, &link, &lerr);
    if (rc < 0 && rc != -ENODEV) {
        sk_err_copy(err, &lerr);
        goto out;
    }
    /* A link of another pod (hash collision) is left alone. */
    if (rc == 0 && !strcmp(link.alias, pod_id)) {
        rc = nl_link_del(nl, host_if, err);
        if (rc < 0 && rc != -ENODEV)
            goto out;
    }
    rc = ipam_release_owner(ipam, pod_id, err);
out:
    if (rc < 0)
        return sk_err_wrap(err, "pod '%s': network teardown", pod_id);
    return 0;
}

/* How many of the pods still have their host link; the first in *left. */
static int
pods_left(struct nl_sock *nl, const char *const *pod_ids, size_t n, size_t *left,
          struct sk_err *err)
{
    char name[IF_NAMESIZE];
    struct nl_link *links;
    size_t nl_n, i, j;
    int rc, count = 0;

    rc = nl_link_dump(nl, &links, &nl_n, err);
    if (rc < 0)
        return rc;
    for (i = 0; i < n; i++) {
        net_pod_ifname(pod_ids[i], name);
        for (j = 0; j < nl_n; j++) {
            if (!strcmp(links[j].name, name) && !strcmp(links[j].alias, pod_ids[i]))
                break;
        }
        if (j < nl_n && count++ == 0)
            *left = i;
    }
    free(links);
    return count;
}

int
net_pod_wait_gone(struct nl_sock *nl, const char *const *pod_ids, size_t n, int timeout_ms,
                  struct sk_err *err)
{
    struct timespec now, end, pause = {0, 1000000}; /* 1 ms between polls */
    size_t left = 0;
    int rc;

    clock_gettime(CLOCK_MONOTONIC, &end);
    end.tv_sec += timeout_ms / 1000;
    end.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (end.tv_nsec >= 1000000000) {
        end.tv_sec++;
        end.tv_nsec -= 1000000000;
    }
    for (;;) {
        rc = pods_left(nl, pod_ids, n, &left, err);
        if (rc <= 0)
            return rc;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec > end.tv_sec || (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
            break;
        nanosleep(&pause, NULL);
    }
    return sk_err_set(err, ETIMEDOUT,
                      "pod '%s': host link still there after %d ms (%d of %zu pods left); "
                      "something still holds its network namespace",
                      pod_ids[left], timeout_ms, rc, n);
}

/* ---- node routes ---- */

int
net_route_peer_add(struct nl_sock *nl, const struct net_cidr *podcidr, const struct net_ip *node_ip,
                   struct sk_err *err)
{
    struct nl_route r = {.dst = *podcidr, .gw = *node_ip, .type = NL_ROUTE_UNICAST};

    return nl_route_add(nl, &r, NL_F_REPLACE, err);
}

/* Deleting a route that is not there answers ESRCH: already done. */
static int
route_del_idempotent(struct nl_sock *nl, const struct nl_route *r, struct sk_err *err)
{
    struct sk_err lerr;
    int rc;

    sk_err_init(&lerr);
    rc = nl_route_del(nl, r, &lerr);
    if (rc == -ESRCH)
        return 0;
    if (rc < 0)
        return sk_err_copy(err, &lerr);
    return 0;
}

int
net_route_peer_del(struct nl_sock *nl, const struct net_cidr *podcidr, struct sk_err *err)
{
    struct nl_route r = {.dst = *podcidr, .type = NL_ROUTE_UNICAST};

    return route_del_idempotent(nl, &r, err);
}

int
net_route_unreachable_add(struct nl_sock *nl, const struct net_cidr *cidr, struct sk_err *err)
{
    struct nl_route r = {.dst = *cidr, .type = NL_ROUTE_UNREACHABLE};

    return nl_route_add(nl, &r, NL_F_REPLACE, err);
}

int
net_route_unreachable_del(struct nl_sock *nl, const struct net_cidr *cidr, struct sk_err *err)
{
    struct nl_route r = {.dst = *cidr, .type = NL_ROUTE_UNREACHABLE};

    return route_del_idempotent(nl, &r, err);
}
