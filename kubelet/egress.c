/* kubelet/egress.c: masquerade of the pods' traffic that leaves the
 * cluster (net/masq.c, the nftables table "ip skiff-nat").
 *
 * With agent.masquerade on, the table is applied once the podCIDR is
 * known (with the routes) and checked on every sync tick: one netlink
 * request for nf_tables' generation id, and a re-apply only when the
 * table was deleted or edited behind the agent's back. A stopped agent
 * leaves the table in place, as the proxy leaves its own: pods that
 * keep running must keep reaching the outside. With the key off, an
 * agent start removes a table an earlier run left. */
#include "kubelet/agent_int.h"

#include "lib/log.h"

#include <string.h>

#define EGRESS_LOG "egress"

/* Log msg unless it is the one logged last (a lasting failure would
 * otherwise be reported on every tick). */
static void
report(struct kl_agent *a, const char *msg)
{
    if (strcmp(a->masq_error, msg) == 0)
        return;
    sk_strlcpy(a->masq_error, msg, sizeof(a->masq_error));
    if (*msg)
        sk_error(EGRESS_LOG, "%s", msg);
}

void
kl_egress_tick(struct kl_agent *a)
{
    char c[NET_CIDR_STRLEN];
    struct sk_err err;
    int rc;

    if (!a->masq)
        return;
    sk_err_init(&err);
    rc = net_masq_sync(a->masq, &err);
    if (rc < 0) {
        report(a, err.msg);
        return;
    }
    report(a, "");
    if (rc == 1)
        sk_info(EGRESS_LOG, "masquerading traffic from %s leaving the cluster (table ip %s)",
                net_cidr_format(&a->cluster, c, sizeof(c)), NET_MASQ_TABLE);
    else if (rc == 2)
        sk_warn(EGRESS_LOG, "table '%s' changed behind the agent's back; put back", NET_MASQ_TABLE);
}

int
kl_egress_start(struct kl_agent *a, struct sk_err *err)
{
    struct net_masq_config mc = {.cluster = a->cluster, .service = a->service, .bridge = a->bridge};

    if (!a->cfg.masquerade) {
        if (net_masq_remove(-1, err) < 0)
            return sk_err_wrap(err, "agent.masquerade is off");
        return 0;
    }
    if (net_masq_new(&a->masq, -1, &mc, err) < 0)
        return -err->code;
    kl_egress_tick(a);
    return 0;
}

void
kl_egress_stop(struct kl_agent *a)
{
    /* The table stays (see the top of the file). */
    net_masq_free(a->masq);
    a->masq = NULL;
}
