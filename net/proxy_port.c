/* net/proxy_port.c: what names a service port's nftables objects and
 * whether its nodePort is served, for the full render (proxy_rules.c)
 * and the incremental diff (proxy_diff.c), which must agree to the byte
 * on every chain, set and map name. */
#include "net/proxy_int.h"

#include <stdio.h>

const char *const px_proto_name[3] = {"tcp", "udp", "sctp"};

size_t
px_n_local(const struct px_port *p)
{
    size_t n = 0;

    for (size_t i = 0; i < p->n_ep; i++)
        n += p->ep[i].local;
    return n;
}

bool
px_nodeport_served(const struct px_port *p)
{
    return p && p->node_port && (p->local ? px_n_local(p) > 0 : p->n_ep > 0);
}

int
px_port_id(char *out, size_t outsz, const char *prefix, const struct px_port *p,
           const struct px_ep *e)
{
    char ip[NET_IP_STRLEN];
    int n = snprintf(out, outsz, "%s%s/%s/%s/%u", prefix, p->ns, p->name, px_proto_name[p->proto],
                     p->port);

    if (e && n >= 0 && (size_t)n < outsz)
        n += snprintf(out + n, outsz - (size_t)n, "/%s/%u", net_ip_format(&e->ip, ip, sizeof(ip)),
                      e->port);
    return n;
}
