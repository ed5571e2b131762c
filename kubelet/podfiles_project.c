/* kubelet/: configMap and secret volumes projected as files (layout in
 * podfiles.c), and the pod's /etc files. */
#include "kubelet/kl_int.h"

#include "lib/alloc.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct proj_file {
    char *path;
    char *data;
    size_t len;
    mode_t mode;
};

struct proj {
    struct proj_file *v;
    size_t n;
};

static void
proj_release(struct proj *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].path);
        free(p->v[i].data);
    }
    free(p->v);
}

static int
proj_value(const json_t *obj, bool secret, const char *key, char **data, size_t *len)
{
    const json_t *v = json_object_get(json_object_get(obj, "data"), key);
    bool b64 = secret;

    if (!json_is_string(v) && !secret) {
        v = json_object_get(json_object_get(obj, "binaryData"), key);
        b64 = true;
    }
    if (!json_is_string(v))
        return 1;
    if (!b64) {
        *data = sk_strdup(json_string_value(v));
        *len = strlen(*data);
        return 0;
    }
    return kl_base64_decode(json_string_value(v), data, len);
}

static int
proj_add(struct proj *p, const json_t *obj, bool secret, const char *key, const char *path,
         int64_t mode, const char *where, struct sk_err *err)
{
    struct proj_file f = {0};
    int rc;

    if (!kl_path_clean(path, false) || sk_startswith(path, ".."))
        return sk_err_set(err, EINVAL, "%s: path '%s' must be relative without '..'", where, path);
    if (mode < 0 || mode > 0777)
        return sk_err_set(err, ERANGE, "%s: mode %lld out of range", where, (long long)mode);
    rc = proj_value(obj, secret, key, &f.data, &f.len);
    if (rc < 0)
        return sk_err_set(err, EINVAL, "%s: key '%s': bad base64", where, key);
    if (rc == 1)
        return 1;
    f.path = sk_strdup(path);
    f.mode = (mode_t)mode;
    p->v = sk_reallocarray(p->v, p->n + 1, sizeof(*p->v));
    p->v[p->n++] = f;
    return 0;
}

/* The files of source src (configMap or secret) of volume at path. */
static int
proj_collect(const json_t *src, bool secret, const char *path, const struct kl_refs *refs,
             struct proj *p, struct sk_err *err)
{
    const char *name, *k;
    const json_t *items, *obj;
    int64_t defmode;
    int optional, rc;
    char where[512];
    json_t *it, *v;
    size_t i;

    if ((rc = kl_req_str(src, path, secret ? "secretName" : "name", &name, err)) < 0 ||
        (rc = kl_opt_bool(src, path, "optional", 0, &optional, err)) < 0 ||
        (rc = kl_opt_int(src, path, "defaultMode", 0644, &defmode, err)) < 0 ||
        (rc = kl_opt_arr(src, path, "items", &items, err)) < 0)
        return rc;
    obj = kl_find_named(secret ? refs->secrets : refs->configmaps, name);
    if (!obj)
        return optional ? 0
                        : sk_err_set(err, ENOENT, "%s: %s '%s' not found", path,
                                     secret ? "secret" : "configmap", name);
    if (!items) {
        json_object_foreach (json_object_get(obj, "data"), k, v) {
            if ((rc = proj_add(p, obj, secret, k, k, defmode, path, err)) < 0)
                return rc;
        }
        if (!secret)
            json_object_foreach (json_object_get(obj, "binaryData"), k, v) {
                if ((rc = proj_add(p, obj, secret, k, k, defmode, path, err)) < 0)
                    return rc;
            }
        return 0;
    }
    json_array_foreach ((json_t *)items, i, it) {
        const char *key, *ipath;
        int64_t mode;

        sk_snprintf(where, sizeof(where), "%s.items[%zu]", path, i);
        if ((rc = kl_req_str(it, where, "key", &key, err)) < 0 ||
            (rc = kl_req_str(it, where, "path", &ipath, err)) < 0 ||
            (rc = kl_opt_int(it, where, "mode", defmode, &mode, err)) < 0)
            return rc;
        rc = proj_add(p, obj, secret, key, ipath, mode, where, err);
        if (rc == 1 && !optional)
            return sk_err_set(err, ENOENT, "%s: key '%s' not found in %s '%s'", where, key,
                              secret ? "secret" : "configmap", name);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int
write_version(const struct proj *p, const char *vdir, struct sk_err *err)
{
    for (size_t i = 0; i < p->n; i++) {
        char *f = sk_asprintf("%s/%s", vdir, p->v[i].path), *slash = strrchr(f, '/');
        int rc;

        *slash = '\0';
        rc = kl_mkdir_p(f, 0755, err);
        *slash = '/';
        if (rc == 0)
            rc = kl_write_file(f, p->v[i].data, p->v[i].len, p->v[i].mode, err);
        free(f);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static void
remove_tree(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *de;

    while (d && (de = readdir(d))) {
        char *c;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        c = sk_asprintf("%s/%s", path, de->d_name);
        if (de->d_type == DT_DIR)
            remove_tree(c);
        else
            unlink(c);
        free(c);
    }
    if (d)
        closedir(d);
    rmdir(path);
}

static bool
proj_has_top(const struct proj *p, const char *name)
{
    size_t len = strlen(name);

    for (size_t i = 0; i < p->n; i++)
        if (strncmp(p->v[i].path, name, len) == 0 &&
            (p->v[i].path[len] == '\0' || p->v[i].path[len] == '/'))
            return true;
    return false;
}

/* A key removed from the object: its top-level link would dangle into
 * the new ..data; remove it (only links of ours: "..data/<name>"). */
static void
remove_stale_links(const struct proj *p, const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;

    while (d && (de = readdir(d))) {
        char *lnk, target[PATH_MAX];
        ssize_t n;

        if (sk_startswith(de->d_name, "..") || strcmp(de->d_name, ".") == 0 ||
            proj_has_top(p, de->d_name))
            continue;
        lnk = sk_asprintf("%s/%s", dir, de->d_name);
        n = readlink(lnk, target, sizeof(target) - 1);
        if (n > 0) {
            target[n] = '\0';
            if (sk_startswith(target, "..data/"))
                unlink(lnk);
        }
        free(lnk);
    }
    if (d)
        closedir(d);
}

/* Point ..data at the new version and a link per top-level name at it. */
static int
swap_in(const struct proj *p, const char *dir, const char *vname, struct sk_err *err)
{
    char *tmp = sk_asprintf("%s/..data_tmp", dir), *data = sk_asprintf("%s/..data", dir);
    char old[256] = "";
    ssize_t n = readlink(data, old, sizeof(old) - 1);
    int rc = 0;

    if (n > 0)
        old[n] = '\0';
    unlink(tmp);
    if (symlink(vname, tmp) < 0 || rename(tmp, data) < 0) {
        rc = sk_err_sys(err, errno, "swap '%s'", data);
        goto out_free;
    }
    for (size_t i = 0; i < p->n; i++) {
        char *top = sk_strndup(p->v[i].path, strcspn(p->v[i].path, "/"));
        char *lnk = sk_asprintf("%s/%s", dir, top), *target = sk_asprintf("..data/%s", top);
        struct stat st;
        if (lstat(lnk, &st) < 0 && symlink(target, lnk) < 0 && errno != EEXIST)
            rc = sk_err_sys(err, errno, "symlink '%s'", lnk);
        free(top);
        free(lnk);
        free(target);
        if (rc < 0)
            goto out_free;
    }
    remove_stale_links(p, dir);
    if (n > 0 && strcmp(old, vname) != 0) {
        char *o = sk_asprintf("%s/%s", dir, old);
        remove_tree(o);
        free(o);
    }
out_free:
    free(tmp);
    free(data);
    return rc;
}

int
kl_volume_project(const json_t *vol, const char *path, const struct kl_refs *refs, const char *dir,
                  struct sk_err *err)
{
    const json_t *cm = json_object_get(vol, "configMap"), *sec = json_object_get(vol, "secret");
    struct proj p = {0};
    char sub[512], *vdir = NULL;
    char vname[64];
    int rc;

    if (!json_is_object(cm) && !json_is_object(sec))
        return sk_err_set(err, EINVAL, "%s: not a configMap or secret volume", path);
    sk_snprintf(sub, sizeof(sub), "%s.%s", path, json_is_object(cm) ? "configMap" : "secret");
    if ((rc = proj_collect(json_is_object(cm) ? cm : sec, !json_is_object(cm), sub, refs, &p,
                           err)) < 0)
        goto out_release;
    if ((rc = kl_mkdir_p(dir, 0755, err)) < 0)
        goto out_release;
    vdir = sk_asprintf("%s/..data_XXXXXX", dir);
    if (!mkdtemp(vdir)) {
        rc = sk_err_sys(err, errno, "mkdtemp in '%s'", dir);
        goto out_release;
    }
    chmod(vdir, 0755);
    sk_strlcpy(vname, strrchr(vdir, '/') + 1, sizeof(vname));
    if ((rc = write_version(&p, vdir, err)) < 0 || (rc = swap_in(&p, dir, vname, err)) < 0)
        remove_tree(vdir);
out_release:
    free(vdir);
    proj_release(&p);
    return rc;
}

static int
termination_logs(const json_t *pod, const char *pod_dir, struct sk_err *err)
{
    static const char *const lists[] = {"initContainers", "containers"};

    for (int l = 0; l < 2; l++) {
        const json_t *arr = json_object_get(json_object_get(pod, "spec"), lists[l]);
        size_t i;
        json_t *c;

        json_array_foreach ((json_t *)arr, i, c) {
            const char *name = json_string_value(json_object_get(c, "name"));
            char *d, *f;
            int rc;

            if (!name || !kl_path_clean(name, false) || strchr(name, '/'))
                return sk_err_set(err, EINVAL, "spec.%s[%zu].name: invalid", lists[l], i);
            d = sk_asprintf("%s/containers/%s", pod_dir, name);
            f = sk_asprintf("%s/termination-log", d);
            rc = kl_mkdir_p(d, 0755, err);
            if (rc == 0 && access(f, F_OK) < 0)
                rc = kl_write_file(f, "", 0, 0666, err); /* any container user writes it */
            free(d);
            free(f);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

int
kl_pod_files_write(const json_t *pod, const struct kl_sandbox *sb, const char *dns,
                   const char *domain, struct sk_err *err)
{
    const char *ns =
        json_string_value(json_object_get(json_object_get(pod, "metadata"), "namespace"));
    struct sk_buf b = SK_BUF_INIT;
    char host[64], *f;
    int rc;

    if ((rc = kl_pod_hostname(pod, host, sizeof(host), err)) < 0 ||
        (rc = kl_mkdir_p(sb->pod_dir, 0755, err)) < 0)
        return rc;
    kl_etc_hosts(pod, sb->pod_ip, domain, &b);
    f = sk_asprintf("%s/etc-hosts", sb->pod_dir);
    rc = kl_write_file(f, b.data, b.len, 0644, err);
    free(f);
    sk_buf_reset(&b);
    if (rc == 0) {
        kl_resolv_conf(ns ? ns : "default", dns, domain, &b);
        f = sk_asprintf("%s/resolv.conf", sb->pod_dir);
        rc = kl_write_file(f, b.data, b.len, 0644, err);
        free(f);
        sk_buf_reset(&b);
    }
    if (rc == 0) {
        sk_buf_printf(&b, "%s\n", host);
        f = sk_asprintf("%s/hostname", sb->pod_dir);
        rc = kl_write_file(f, b.data, b.len, 0644, err);
        free(f);
    }
    sk_buf_release(&b);
    return rc < 0 ? rc : termination_logs(pod, sb->pod_dir, err);
}
