/* The pure side of leader election (ctrl.h "Leader election"): what a
 * candidate does with the Lease it read, and the Lease it writes.
 *
 * Expiry is judged by the reader's own monotonic clock, from when it
 * last saw the record change (client-go's observedTime), never by
 * comparing renewTime with the local wall clock: the holder's clock may
 * be off by more than a lease duration. */

#include "ctrl/ctrl.h"

#include "lib/clock.h"
#include "lib/json.h"

#include <string.h>

enum ctrl_lease_step
ctrl_lease_decide(const json_t *lease, const char *identity, int64_t observed_ns, int64_t now_ns,
                  int64_t default_ns)
{
    const json_t *spec = json_object_get(lease, "spec");
    const char *holder = json_string_value(json_object_get(spec, "holderIdentity"));
    json_int_t secs = json_integer_value(json_object_get(spec, "leaseDurationSeconds"));
    int64_t duration_ns = secs > 0 ? (int64_t)secs * 1000000000LL : default_ns;

    if (!lease)
        return CTRL_LEASE_CREATE;
    if (!holder || !*holder)
        return CTRL_LEASE_TAKE; /* released by its last holder */
    if (!strcmp(holder, identity))
        return CTRL_LEASE_RENEW;
    if (now_ns - observed_ns >= duration_ns)
        return CTRL_LEASE_TAKE;
    return CTRL_LEASE_WAIT;
}

json_t *
ctrl_lease_build(const json_t *lease, enum ctrl_lease_step step, const char *identity,
                 int64_t duration_s, int64_t real_ns)
{
    json_t *out, *spec;
    const char *holder;
    char ts[SK_CLOCK_RFC3339_MAX];

    if (lease && step != CTRL_LEASE_CREATE) {
        out = json_deep_copy(lease);
    } else {
        out = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "coordination.k8s.io/v1", "kind",
                        "Lease", "metadata", "namespace", CTRL_LEASE_NAMESPACE, "name",
                        CTRL_LEASE_NAME);
    }
    spec = json_object_get(out, "spec");
    if (!json_is_object(spec)) {
        spec = json_object();
        json_object_set_new(out, "spec", spec);
    }
    holder = json_string_value(json_object_get(spec, "holderIdentity"));
    sk_clock_rfc3339(real_ns, 3, ts, sizeof(ts));
    if (!holder || strcmp(holder, identity)) {
        json_int_t n = json_integer_value(json_object_get(spec, "leaseTransitions"));

        if (step != CTRL_LEASE_CREATE && holder && *holder)
            n++;
        json_object_set_new(spec, "leaseTransitions", json_integer(n));
        json_object_set_new(spec, "acquireTime", json_string(ts));
    }
    json_object_set_new(spec, "holderIdentity", json_string(identity));
    json_object_set_new(spec, "leaseDurationSeconds", json_integer(duration_s));
    json_object_set_new(spec, "renewTime", json_string(ts));
    return out;
}
