/* kubelet/netgone.c: a removed pod's network goes with its netns, and
 * its address is freed once the host side of the veth is gone.
 *
 * Deleting the host veth with RTM_DELLINK (net_pod_teardown) blocks the
 * caller while the kernel waits for RCU grace periods (synchronize_net,
 * rcu_barrier in the unregister path): 30-40 ms per pod, the agent's one
 * event loop stalled that long for every deleted pod. Instead the
 * sandbox's pause process is killed: with its last process gone (and no
 * fd on it left) the netns is destroyed by the kernel's cleanup_net
 * worker, which unregisters every device of every dying netns in one
 * batch, the veth pair with it. The agent only checks, from a timer on
 * its loop, that the host end is gone (one RTM_GETLINK per pod).
 *
 * The pod's address stays allocated until then. The MAC of a pod's eth0
 * is derived from its address (net/podnet.c), so an old veth still on
 * the bridge and a new pod given the same address would carry the same
 * MAC on two bridge ports: the bridge's FDB would send the new pod's
 * frames to whichever port it learned last, and the old netns could
 * still answer ARP for the address. Holding the address until the host
 * end is gone rules that out.
 *
 * A veth still there after KL_NETGONE_BOUND_MS (something else holds the
 * netns: a process that joined it, a bind mount) is logged by name and
 * deleted with RTM_DELLINK after all. The list is not kept on disk: after
 * a restart kl_netgone_reconcile puts every address whose owner is not a
 * live pod back on it. */
#include "kubelet/agent_int.h"

#include "lib/alloc.h"
#include "lib/clock.h"
#include "lib/log.h"

#include <errno.h>
#include <string.h>

#define KL_NETGONE_BOUND_MS 30000
#define KL_NETGONE_FIRST_MS 20 /* cleanup_net usually runs within this */
#define KL_NETGONE_MAX_MS   1000

struct kl_netgone {
    char uid[64];
    int64_t since_ms;
};

static void on_timer(struct sk_loop *loop, void *arg);

static void
arm(struct kl_agent *a, uint64_t delay_ms)
{
    if (a->gone_timer)
        sk_loop_timer_cancel(a->loop, a->gone_timer);
    a->gone_delay_ms = delay_ms;
    a->gone_timer = sk_loop_timer_add(a->loop, delay_ms, on_timer, a);
}

/* 1: the pod's host veth is gone (or is another pod's: a hash
 * collision), 0: still there, < 0: the lookup failed. */
static int
veth_gone(struct kl_agent *a, const char *uid, char ifname[IF_NAMESIZE])
{
    struct nl_link link;
    struct sk_err err;
    int rc;

    net_pod_ifname(uid, ifname);
    sk_err_init(&err);
    rc = nl_link_get(a->nl, ifname, &link, &err);
    if (rc == -ENODEV)
        return 1;
    if (rc < 0) {
        sk_warn("kubelet", "pod '%s': looking up veth '%s': %s", uid, ifname, err.msg);
        return rc;
    }
    return strcmp(link.alias, uid) != 0;
}

/* Done with one entry: 1 to drop it from the list. */
static int
check_one(struct kl_agent *a, const struct kl_netgone *g, int64_t now)
{
    char ifname[IF_NAMESIZE];
    struct sk_err err;
    int rc = veth_gone(a, g->uid, ifname);

    sk_err_init(&err);
    if (rc == 1) {
        if (ipam_release_owner(&a->ipam, g->uid, &err) < 0) {
            sk_warn("kubelet", "pod '%s': releasing its address: %s", g->uid, err.msg);
            return 0;
        }
        sk_debug("kubelet", "pod '%s': veth '%s' gone after %lld ms", g->uid, ifname,
                 (long long)(now - g->since_ms));
        return 1;
    }
    if (now - g->since_ms < KL_NETGONE_BOUND_MS)
        return 0;
    sk_warn("kubelet",
            "pod '%s': veth '%s' still there %d s after its sandbox was killed (something "
            "holds the pod's network namespace); deleting it",
            g->uid, ifname, KL_NETGONE_BOUND_MS / 1000);
    if (net_pod_teardown(a->nl, &a->ipam, g->uid, &err) < 0) {
        sk_warn("kubelet", "%s", err.msg);
        return 0;
    }
    return 1;
}

static void
on_timer(struct sk_loop *loop, void *arg)
{
    struct kl_agent *a = arg;
    int64_t now = sk_clock_mono_ms();
    size_t i = 0;

    (void)loop;
    a->gone_timer = 0;
    while (i < a->ngone) {
        if (check_one(a, &a->gone[i], now) == 1)
            a->gone[i] = a->gone[--a->ngone];
        else
            i++;
    }
    if (a->ngone)
        arm(a, a->gone_delay_ms * 2 < KL_NETGONE_MAX_MS ? a->gone_delay_ms * 2 : KL_NETGONE_MAX_MS);
}

void
kl_netgone_add(struct kl_agent *a, const char *uid)
{
    for (size_t i = 0; i < a->ngone; i++) {
        if (!strcmp(a->gone[i].uid, uid))
            return;
    }
    if (a->ngone == a->gone_cap) {
        a->gone_cap = a->gone_cap ? 2 * a->gone_cap : 16;
        a->gone = sk_reallocarray(a->gone, a->gone_cap, sizeof(*a->gone));
    }
    sk_strlcpy(a->gone[a->ngone].uid, uid, sizeof(a->gone[a->ngone].uid));
    a->gone[a->ngone++].since_ms = sk_clock_mono_ms();
    /* a new entry is checked soon, even when older ones backed off */
    if (!a->gone_timer || a->gone_delay_ms > KL_NETGONE_FIRST_MS)
        arm(a, KL_NETGONE_FIRST_MS);
}

int
kl_netgone_reconcile(struct kl_agent *a, const char *const *live, size_t nlive, struct sk_err *err)
{
    struct ipam_entry *e;
    size_t n, j;

    if (ipam_list(&a->ipam, &e, &n, err) < 0)
        return -err->code;
    for (size_t i = 0; i < n; i++) {
        for (j = 0; j < nlive && strcmp(e[i].owner, live[j]); j++)
            ;
        if (j == nlive)
            kl_netgone_add(a, e[i].owner);
    }
    ipam_entries_free(e, n);
    return 0;
}

void
kl_netgone_free(struct kl_agent *a)
{
    if (a->gone_timer)
        sk_loop_timer_cancel(a->loop, a->gone_timer);
    a->gone_timer = 0;
    free(a->gone);
    a->gone = NULL;
    a->ngone = a->gone_cap = 0;
}
