/* kubelet/: securityContext -> the runtime's process settings.
 *
 * Pod-level fields (runAsUser, runAsGroup, runAsNonRoot, seccompProfile)
 * are defaults that the container's securityContext overrides;
 * supplementalGroups and fsGroup are pod-level only and become
 * additional groups. Deviations from Kubernetes, both on the safe side:
 *   - no seccompProfile means RuntimeDefault (Kubernetes: Unconfined
 *     unless the kubelet's SeccompDefault is on);
 *   - Localhost profiles are refused (no profile directory yet).
 * allowPrivilegeEscalation follows Kubernetes: unset allows it (setuid
 * binaries work); false sets no_new_privs. */
#include "kubelet/kl_int.h"

#include "lib/alloc.h"

#include <ctype.h>
#include <errno.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>

#define ALL_CAPS ((CAP_LAST_CAP >= 63) ? ~0ULL : ((1ULL << (CAP_LAST_CAP + 1)) - 1))

/* "NET_ADMIN" or "CAP_NET_ADMIN" (any case) -> number; "ALL" -> 64. */
static int
cap_number(const char *name)
{
    char lower[64];
    cap_value_t v;
    size_t i;

    if (strcasecmp(name, "ALL") == 0)
        return 64;
    if (sk_snprintf(lower, sizeof(lower), "%s%s", strncasecmp(name, "cap_", 4) ? "cap_" : "",
                    name) < 0)
        return -1;
    for (i = 0; lower[i]; i++)
        lower[i] = (char)tolower((unsigned char)lower[i]);
    if (cap_from_name(lower, &v) < 0 || v < 0 || v > CAP_LAST_CAP)
        return -1;
    return (int)v;
}

static int
cap_list(const json_t *caps, const char *path, const char *key, uint64_t *mask, struct sk_err *err)
{
    const json_t *arr;
    size_t i;
    json_t *s;
    int rc;

    *mask = 0;
    if ((rc = kl_opt_arr(caps, path, key, &arr, err)) < 0)
        return rc;
    json_array_foreach ((json_t *)arr, i, s) {
        int c = json_is_string(s) ? cap_number(json_string_value(s)) : -2;
        if (c == -2)
            return sk_err_set(err, EINVAL, "%s.%s[%zu]: must be a string", path, key, i);
        if (c < 0)
            return sk_err_set(err, EINVAL, "%s.%s[%zu]: unknown capability '%s'", path, key, i,
                              json_string_value(s));
        *mask |= c == 64 ? ALL_CAPS : 1ULL << c;
    }
    return 0;
}

static int
apply_caps(struct rt_spec *spec, const json_t *sc, const char *path, struct sk_err *err)
{
    const json_t *caps;
    uint64_t add, drop, set;
    char sub[512];
    int rc;

    if ((rc = kl_opt_obj(sc, path, "capabilities", &caps, err)) < 0)
        return rc;
    if (!caps)
        return 0;
    sk_snprintf(sub, sizeof(sub), "%s.capabilities", path);
    if ((rc = cap_list(caps, sub, "add", &add, err)) < 0 ||
        (rc = cap_list(caps, sub, "drop", &drop, err)) < 0)
        return rc;
    /* drop first, then add: "drop: [ALL], add: [NET_BIND_SERVICE]" keeps one */
    set = (spec->process.caps[RT_CAP_BOUNDING] & ~drop) | add;
    spec->process.caps[RT_CAP_BOUNDING] = set;
    spec->process.caps[RT_CAP_EFFECTIVE] = set;
    spec->process.caps[RT_CAP_PERMITTED] = set;
    return 0;
}

/* Drop the runtime's default seccomp filter through the public API:
 * rt_spec_release of a spec holding only the filter frees just that. */
static void
drop_seccomp(struct rt_spec *spec)
{
    struct rt_spec only = {0};

    only.seccomp = spec->seccomp;
    spec->seccomp = NULL;
    rt_spec_release(&only);
}

static int
seccomp_profile(const json_t *pod_sc, const json_t *sc, const char *path, const char **type,
                struct sk_err *err)
{
    const json_t *prof;
    int rc;

    *type = "RuntimeDefault";
    for (int level = 0; level < 2; level++) {
        const json_t *obj = level ? sc : pod_sc;
        const char *base = level ? path : "spec.securityContext";
        char sub[512];

        if ((rc = kl_opt_obj(obj, base, "seccompProfile", &prof, err)) < 0)
            return rc;
        if (!prof)
            continue;
        sk_snprintf(sub, sizeof(sub), "%s.seccompProfile", base);
        if ((rc = kl_req_str(prof, sub, "type", type, err)) < 0)
            return rc;
        if (strcmp(*type, "RuntimeDefault") && strcmp(*type, "Unconfined"))
            return sk_err_set(err, EINVAL, "%s.type: unsupported profile '%s'", sub, *type);
    }
    return 0;
}

static void
make_privileged(struct rt_spec *spec)
{
    for (int i = RT_CAP_BOUNDING; i <= RT_CAP_PERMITTED; i++)
        spec->process.caps[i] = ALL_CAPS;
    spec->process.no_new_privs = 0;
    drop_seccomp(spec);
    for (size_t i = 0; i < spec->nmasked_paths; i++)
        free(spec->masked_paths[i]);
    spec->nmasked_paths = 0;
    for (size_t i = 0; i < spec->nreadonly_paths; i++)
        free(spec->readonly_paths[i]);
    spec->nreadonly_paths = 0;
    for (size_t i = 0; i < spec->nmounts; i++) {
        if (sk_startswith(spec->mounts[i].destination, "/sys"))
            spec->mounts[i].flags &= ~(unsigned long)MS_RDONLY;
    }
}

/* runAsUser/runAsGroup: container over pod; unset user: the image's
 * User ("uid[:gid]" numeric, else a name the runtime resolves). */
static int
apply_user(struct rt_spec *spec, const struct kl_podspec_in *in, const json_t *pod_sc,
           const json_t *sc, const char *path, struct sk_err *err)
{
    int64_t uid = -1, gid = -1, v;
    int nonroot = 0, b, rc;

    for (int level = 0; level < 2; level++) {
        const json_t *obj = level ? sc : pod_sc;
        const char *base = level ? path : "spec.securityContext";

        if ((rc = kl_opt_int(obj, base, "runAsUser", -1, &v, err)) < 0)
            return rc;
        if (rc == 0)
            uid = v;
        if ((rc = kl_opt_int(obj, base, "runAsGroup", -1, &v, err)) < 0)
            return rc;
        if (rc == 0)
            gid = v;
        if ((rc = kl_opt_bool(obj, base, "runAsNonRoot", 0, &b, err)) < 0)
            return rc;
        if (rc == 0)
            nonroot = b;
        if (uid > UINT32_MAX || gid > UINT32_MAX || (uid < -1) || (gid < -1))
            return sk_err_set(err, ERANGE, "%s: runAsUser/runAsGroup out of range", base);
    }
    if (uid < 0 && in->image && in->image->user && *in->image->user) {
        char *end;
        unsigned long long u = strtoull(in->image->user, &end, 10);
        if (end != in->image->user && (*end == '\0' || *end == ':') && u <= UINT32_MAX) {
            uid = (int64_t)u;
            if (*end == ':' && gid < 0) {
                unsigned long long g = strtoull(end + 1, &end, 10);
                if (*end == '\0' && g <= UINT32_MAX)
                    gid = (int64_t)g;
            }
        } else {
            if (nonroot)
                return sk_err_set(err, EPERM,
                                  "%s: image has non-numeric user '%s', cannot verify user is "
                                  "non-root (runAsNonRoot)",
                                  path, in->image->user);
            spec->process.username = sk_strdup(in->image->user);
        }
    }
    if (nonroot && uid <= 0 && !spec->process.username)
        return sk_err_set(err, EPERM, "%s: container would run as root (runAsNonRoot)", path);
    spec->process.uid = uid < 0 ? 0 : (uint32_t)uid;
    spec->process.gid = gid < 0 ? 0 : (uint32_t)gid;
    return 0;
}

static int
apply_groups(struct rt_spec *spec, const json_t *pod_sc, struct sk_err *err)
{
    const char *base = "spec.securityContext";
    const json_t *arr;
    int64_t fsgroup;
    size_t i;
    json_t *g;
    int rc;

    if ((rc = kl_opt_arr(pod_sc, base, "supplementalGroups", &arr, err)) < 0 ||
        (rc = kl_opt_int(pod_sc, base, "fsGroup", -1, &fsgroup, err)) < 0)
        return rc;
    spec->process.add_gids = sk_calloc(json_array_size(arr) + 1, sizeof(gid_t));
    json_array_foreach ((json_t *)arr, i, g) {
        if (!json_is_integer(g) || json_integer_value(g) < 0 || json_integer_value(g) > UINT32_MAX)
            return sk_err_set(err, EINVAL, "%s.supplementalGroups[%zu]: must be a group id", base,
                              i);
        spec->process.add_gids[spec->process.nadd_gids++] = (gid_t)json_integer_value(g);
    }
    if (fsgroup > UINT32_MAX)
        return sk_err_set(err, ERANGE, "%s.fsGroup: out of range", base);
    if (fsgroup >= 0)
        spec->process.add_gids[spec->process.nadd_gids++] = (gid_t)fsgroup;
    return 0;
}

int
kl_podspec_security(const struct kl_podspec_in *in, const json_t *ctr, const char *path,
                    struct rt_spec *spec, int *privileged, struct sk_err *err)
{
    const json_t *pod_sc = NULL, *sc = NULL;
    const char *seccomp;
    char sub[512];
    int priv, ro, ape, rc;

    sk_snprintf(sub, sizeof(sub), "%s.securityContext", path);
    if ((rc = kl_opt_obj(json_object_get(in->pod, "spec"), "spec", "securityContext", &pod_sc,
                         err)) < 0 ||
        (rc = kl_opt_obj(ctr, path, "securityContext", &sc, err)) < 0)
        return rc;
    if ((rc = apply_user(spec, in, pod_sc, sc, sub, err)) < 0 ||
        (rc = apply_groups(spec, pod_sc, err)) < 0)
        return rc;
    if ((rc = kl_opt_bool(sc, sub, "privileged", 0, &priv, err)) < 0 ||
        (rc = kl_opt_bool(sc, sub, "readOnlyRootFilesystem", 0, &ro, err)) < 0 ||
        (rc = kl_opt_bool(sc, sub, "allowPrivilegeEscalation", -1, &ape, err)) < 0)
        return rc;
    if (ape == 0 && priv)
        return sk_err_set(err, EINVAL, "%s: allowPrivilegeEscalation false with privileged", sub);
    spec->root_readonly = ro;
    spec->process.no_new_privs = ape == 0;
    if ((rc = apply_caps(spec, sc, sub, err)) < 0 ||
        (rc = seccomp_profile(pod_sc, sc, sub, &seccomp, err)) < 0)
        return rc;
    if (ape == 0 && (spec->process.caps[RT_CAP_BOUNDING] & (1ULL << CAP_SYS_ADMIN)))
        return sk_err_set(err, EINVAL, "%s: allowPrivilegeEscalation false with CAP_SYS_ADMIN",
                          sub);
    if (strcmp(seccomp, "Unconfined") == 0)
        drop_seccomp(spec);
    if (priv)
        make_privileged(spec);
    *privileged = priv;
    return 0;
}
