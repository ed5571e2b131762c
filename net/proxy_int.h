#ifndef SK_NET_PROXY_INT_H
#define SK_NET_PROXY_INT_H

/* Private to net/proxy*.c: the ruleset cut into one unit per service
 * port, so a sync can change only the units that differ. */

#include "net/proxy.h"

/* Everything one service port owns in the table: its elements in the
 * shared maps, its affinity sets and chains. */
struct px_unit {
    char *key;     /* "<ns>/<name>/<proto>/<port>" */
    uint64_t hash; /* of add */
    char *add;     /* nft commands that create the unit in an existing table */
    char *del;     /* nft commands that remove it again */
};

struct px_plan {
    struct px_unit *unit; /* sorted by key */
    size_t n;
};

/* net_proxy_render, also filling plan (when not NULL) with the units of
 * the script. */
int px_render(const json_t *services, const json_t *endpoints, const struct net_proxy_node *node,
              struct sk_buf *out, struct net_proxy_stats *stats, struct px_plan *plan,
              struct sk_err *err);
void px_plan_release(struct px_plan *plan);
/* Append the commands that turn the table of old into the table of new:
 * the del of every unit gone or changed, then the add of every unit new
 * or changed. Returns how many units differ (0: nothing appended). */
size_t px_plan_diff(const struct px_plan *old, const struct px_plan *new, struct sk_buf *out);

#endif
