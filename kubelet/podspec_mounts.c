/* kubelet/: volumeMounts and the per-pod files -> runtime mounts.
 *
 * Every volume is a directory (or file) on the host, bind-mounted into
 * the container (rbind, MS_RDONLY when readOnly; configMap and secret
 * always read-only, as in Kubernetes). Host paths are derived from the
 * sandbox's pod_dir (see kubelet.h), so a volume name becomes a path
 * component: names must be DNS labels, which the API server checks and
 * which is checked again here.
 *
 * subPath: a path beneath the volume; absolute paths and ".." are
 * refused here, and the in->subpath resolver refuses symlinks that lead
 * out of the volume (CVE-2017-1002101: a container could plant a
 * symlink in an emptyDir that a later subPath mount followed onto the
 * host). */
#include "kubelet/kl_int.h"

#include "lib/alloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

void
kl_spec_add_mount(struct rt_spec *spec, const char *dest, const char *type, const char *src,
                  unsigned long flags, const char *data, int bind, unsigned long prop)
{
    struct rt_mount *m;

    spec->mounts = sk_reallocarray(spec->mounts, spec->nmounts + 1, sizeof(*spec->mounts));
    m = &spec->mounts[spec->nmounts++];
    memset(m, 0, sizeof(*m));
    m->destination = sk_strdup(dest);
    m->type = sk_strdup(type);
    m->source = sk_strdup(src);
    m->data = data ? sk_strdup(data) : NULL;
    /* For a bind mount the runtime binds first, then remounts with the
     * remaining flags: MS_BIND there would turn into a remount asking
     * for nothing, which the kernel refuses (EINVAL) on some mounts. */
    m->flags = bind ? flags & ~(unsigned long)(MS_BIND | MS_REC) : flags;
    m->bind = bind;
    /* A private bind is left at the default: the container's mounts are
     * private already (rootfs propagation), and runtime/mount.c sets
     * propagation through the O_PATH fd of the mount point, which still
     * names the covered inode rather than the new mount (EINVAL). */
    m->propagation = bind && prop == (MS_REC | MS_PRIVATE) ? 0 : prop;
}

bool
kl_path_clean(const char *p, bool absolute)
{
    const char *s = p;

    if (*p == '\0' || (*p == '/') != absolute)
        return false;
    while (*s) {
        const char *e = strchrnul(s, '/');
        if (e - s == 2 && s[0] == '.' && s[1] == '.')
            return false;
        s = *e ? e + 1 : e;
    }
    return true;
}

static bool
dns_label(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return false;
    }
    return true;
}

static const json_t *
find_volume(const json_t *pod, const char *name)
{
    const json_t *vols = json_object_get(json_object_get(pod, "spec"), "volumes");
    size_t i;
    json_t *v;

    json_array_foreach ((json_t *)vols, i, v) {
        const char *n = json_string_value(json_object_get(v, "name"));
        if (n && strcmp(n, name) == 0)
            return v;
    }
    return NULL;
}

/* The host source of volume vol and whether it is forced read-only. */
static int
volume_source(const struct kl_podspec_in *in, const json_t *vol, const char *path, char **src,
              int *force_ro, struct sk_err *err)
{
    const char *name = json_string_value(json_object_get(vol, "name"));
    const char *dir = in->sandbox->pod_dir, *hp, *type;
    const json_t *o;
    int rc;

    *force_ro = 0;
    if (!name || !dns_label(name))
        return sk_err_set(err, EINVAL, "%s: volume name '%s' is not a DNS label", path,
                          name ? name : "");
    if (json_is_object(json_object_get(vol, "emptyDir"))) {
        *src = sk_asprintf("%s/volumes/empty-dir/%s", dir, name);
        return 0;
    }
    if (json_is_object(json_object_get(vol, "configMap")) ||
        json_is_object(json_object_get(vol, "secret"))) {
        int cm = json_is_object(json_object_get(vol, "configMap"));
        *src = sk_asprintf("%s/volumes/%s/%s", dir, cm ? "configmap" : "secret", name);
        *force_ro = 1;
        return 0;
    }
    if ((rc = kl_opt_obj(vol, "volume", "hostPath", &o, err)) < 0)
        return rc;
    if (!o)
        return sk_err_set(err, EINVAL, "%s: volume '%s': unsupported volume type", path, name);
    if ((rc = kl_req_str(o, "hostPath", "path", &hp, err)) < 0 ||
        (rc = kl_opt_str(o, "hostPath", "type", &type, err)) < 0)
        return sk_err_wrap(err, "%s: volume '%s'", path, name);
    if (!kl_path_clean(hp, true))
        return sk_err_set(err, EINVAL,
                          "%s: volume '%s': hostPath '%s' must be absolute without "
                          "'..'",
                          path, name, hp);
    if (in->hostpath && (rc = in->hostpath(hp, type ? type : "", err)) < 0)
        return sk_err_wrap(err, "%s: volume '%s'", path, name);
    *src = sk_strdup(hp);
    return 0;
}

static int
propagation(const char *mp, int privileged, const char *path, unsigned long *prop,
            struct sk_err *err)
{
    if (!mp || strcmp(mp, "None") == 0)
        *prop = MS_REC | MS_PRIVATE;
    else if (strcmp(mp, "HostToContainer") == 0)
        *prop = MS_REC | MS_SLAVE;
    else if (strcmp(mp, "Bidirectional") == 0 && privileged)
        *prop = MS_REC | MS_SHARED;
    else if (strcmp(mp, "Bidirectional") == 0)
        return sk_err_set(err, EPERM,
                          "%s.mountPropagation: Bidirectional needs a privileged "
                          "container",
                          path);
    else
        return sk_err_set(err, EINVAL, "%s.mountPropagation: unknown mode '%s'", path, mp);
    return 0;
}

static int
subpath_apply(const struct kl_podspec_in *in, const struct rt_spec *spec, const json_t *m,
              const char *path, char **src, struct sk_err *err)
{
    const char *sp, *spe;
    char *expanded = NULL, *res = NULL;
    int rc;

    if ((rc = kl_opt_str(m, path, "subPath", &sp, err)) < 0 ||
        (rc = kl_opt_str(m, path, "subPathExpr", &spe, err)) < 0)
        return rc;
    if (spe && *spe) {
        expanded = kl_expand(spe, spec->process.env, spec->process.nenv);
        sp = expanded;
    }
    if (!sp || !*sp)
        goto out_free;
    if (!kl_path_clean(sp, false)) {
        rc = sk_err_set(err, EINVAL, "%s.subPath: '%s' must be a relative path without '..'", path,
                        sp);
        goto out_free;
    }
    if (in->subpath) {
        rc = in->subpath(*src, sp, &res, err);
        if (rc < 0) {
            sk_err_wrap(err, "%s.subPath", path);
            goto out_free;
        }
    } else {
        res = sk_asprintf("%s/%s", *src, sp);
    }
    free(*src);
    *src = res;
out_free:
    free(expanded);
    return rc < 0 ? rc : 0;
}

static int
mount_one(const struct kl_podspec_in *in, const json_t *m, const char *path, int privileged,
          struct rt_spec *spec, struct sk_err *err)
{
    const char *name, *dest, *mp;
    const json_t *vol;
    unsigned long prop = 0;
    char *src = NULL;
    int ro, force_ro, rc;

    if (!json_is_object(m))
        return sk_err_set(err, EINVAL, "%s: must be an object", path);
    if ((rc = kl_req_str(m, path, "name", &name, err)) < 0 ||
        (rc = kl_req_str(m, path, "mountPath", &dest, err)) < 0 ||
        (rc = kl_opt_bool(m, path, "readOnly", 0, &ro, err)) < 0 ||
        (rc = kl_opt_str(m, path, "mountPropagation", &mp, err)) < 0)
        return rc;
    if (!kl_path_clean(dest, true))
        return sk_err_set(err, EINVAL, "%s.mountPath: '%s' must be absolute without '..'", path,
                          dest);
    if ((rc = propagation(mp, privileged, path, &prop, err)) < 0)
        return rc;
    vol = find_volume(in->pod, name);
    if (!vol)
        return sk_err_set(err, ENOENT, "%s.name: no volume named '%s'", path, name);
    if ((rc = volume_source(in, vol, path, &src, &force_ro, err)) < 0)
        return rc;
    if ((rc = subpath_apply(in, spec, m, path, &src, err)) < 0)
        goto out_free;
    kl_spec_add_mount(spec, dest, "bind", src,
                      MS_BIND | MS_REC | ((ro || force_ro) ? MS_RDONLY : 0), NULL, 2, prop);
out_free:
    free(src);
    return rc;
}

static bool
has_mount(const struct rt_spec *spec, const char *dest)
{
    for (size_t i = 0; i < spec->nmounts; i++) {
        if (strcmp(spec->mounts[i].destination, dest) == 0)
            return true;
    }
    return false;
}

static int
generated_files(const struct kl_podspec_in *in, const json_t *ctr, const char *path,
                struct rt_spec *spec, struct sk_err *err)
{
    static const char *const files[][2] = {
        {"/etc/hosts", "etc-hosts"},
        {"/etc/resolv.conf", "resolv.conf"},
        {"/etc/hostname", "hostname"},
    };
    const char *dir = in->sandbox->pod_dir, *tmp, *name;
    char *src;
    int rc;

    for (size_t i = 0; i < 3; i++) {
        if (has_mount(spec, files[i][0]))
            continue; /* the user's volume wins, as in Kubernetes */
        src = sk_asprintf("%s/%s", dir, files[i][1]);
        kl_spec_add_mount(spec, files[i][0], "bind", src, MS_BIND, NULL, 1, MS_REC | MS_PRIVATE);
        free(src);
    }
    if ((rc = kl_req_str(ctr, path, "name", &name, err)) < 0 ||
        (rc = kl_opt_str(ctr, path, "terminationMessagePath", &tmp, err)) < 0)
        return rc;
    if (!dns_label(name))
        return sk_err_set(err, EINVAL, "%s.name: '%s' is not a DNS label", path, name);
    if (!tmp)
        tmp = "/dev/termination-log";
    if (!kl_path_clean(tmp, true))
        return sk_err_set(err, EINVAL,
                          "%s.terminationMessagePath: '%s' must be absolute "
                          "without '..'",
                          path, tmp);
    if (!has_mount(spec, tmp)) {
        src = sk_asprintf("%s/containers/%s/termination-log", dir, name);
        kl_spec_add_mount(spec, tmp, "bind", src, MS_BIND, NULL, 1, MS_REC | MS_PRIVATE);
        free(src);
    }
    return 0;
}

int
kl_podspec_mounts(const struct kl_podspec_in *in, const json_t *ctr, const char *path,
                  int privileged, struct rt_spec *spec, struct sk_err *err)
{
    const json_t *arr;
    char sub[512];
    size_t i;
    json_t *m;
    int rc;

    if ((rc = kl_opt_arr(ctr, path, "volumeMounts", &arr, err)) < 0)
        return rc;
    json_array_foreach ((json_t *)arr, i, m) {
        sk_snprintf(sub, sizeof(sub), "%s.volumeMounts[%zu]", path, i);
        if ((rc = mount_one(in, m, sub, privileged, spec, err)) < 0)
            return rc;
    }
    return generated_files(in, ctr, path, spec, err);
}
