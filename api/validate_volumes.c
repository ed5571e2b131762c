/* Pod volumes: the sources skiff's kubelet implements (emptyDir,
 * hostPath, configMap, secret), as Kubernetes's validateVolumes checks
 * them. Other Kubernetes volume types are refused by name rather than
 * accepted and silently not mounted. */
#include "validate_int.h"

#include <string.h>

static const char *const supported_sources[] = {"emptyDir", "hostPath", "configMap", "secret"};
static const char *const other_sources[] = {"persistentVolumeClaim",
                                            "nfs",
                                            "iscsi",
                                            "glusterfs",
                                            "rbd",
                                            "cephfs",
                                            "cinder",
                                            "flocker",
                                            "downwardAPI",
                                            "fc",
                                            "azureFile",
                                            "azureDisk",
                                            "vsphereVolume",
                                            "quobyte",
                                            "photonPersistentDisk",
                                            "projected",
                                            "portworxVolume",
                                            "scaleIO",
                                            "storageos",
                                            "csi",
                                            "ephemeral",
                                            "gcePersistentDisk",
                                            "awsElasticBlockStore",
                                            "gitRepo",
                                            "flexVolume"};

static const char *const hostpath_types[] = {
    "",           "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket",
    "CharDevice", "BlockDevice",       NULL};

/* No ".." element (validatePathNoBacksteps). */
static void
v_no_backsteps(struct vctx *v, const char *child, const char *path)
{
    const char *p = path;

    for (;;) {
        if (!strncmp(p, "..", 2) && (p[2] == '/' || p[2] == '\0')) {
            v_err_str(v, API_FE_INVALID, child, path, "must not contain '..'");
            return;
        }
        p = strchr(p, '/');
        if (!p)
            return;
        p++;
    }
}

static void
v_key_to_path_items(struct vctx *v, const json_t *src)
{
    json_t *items = v_arr(v, src, "items"), *it;
    const char *s;
    size_t mark = vpath_child(v, "items"), imark;

    for (size_t i = 0; i < json_array_size(items); i++) {
        if (!(it = v_elem_obj(v, items, i)))
            continue;
        imark = vpath_index(v, i);
        if (!(s = v_str(v, it, "key")) || !*s)
            v_err(v, API_FE_REQUIRED, "key", NULL, NULL);
        if (!(s = v_str(v, it, "path")) || !*s)
            v_err(v, API_FE_REQUIRED, "path", NULL, NULL);
        else if (s[0] == '/')
            v_err_str(v, API_FE_INVALID, "path", s, "must be a relative path");
        else
            v_no_backsteps(v, "path", s);
        vpath_pop(v, imark);
    }
    vpath_pop(v, mark);
}

static void
v_default_mode(struct vctx *v, const json_t *src)
{
    int64_t mode;

    if (v_int(v, src, "defaultMode", &mode) && (mode < 0 || mode > 0777))
        v_err_int(v, API_FE_INVALID, "defaultMode", mode,
                  "must be a number between 0 and 0777 (octal), both inclusive");
}

static void
v_source(struct vctx *v, const char *type, const json_t *src)
{
    const char *s;
    json_t *q;
    int64_t milli;
    struct sk_err err;

    if (!strcmp(type, "hostPath")) {
        if (!(s = v_str(v, src, "path")) || !*s)
            v_err(v, API_FE_REQUIRED, "path", NULL, NULL);
        else
            v_no_backsteps(v, "path", s);
        v_enum(v, src, "type", hostpath_types, false);
    } else if (!strcmp(type, "emptyDir")) {
        v_enum(v, src, "medium", (const char *const[]){"", "Memory", NULL}, false);
        sk_err_init(&err);
        if ((q = json_object_get(src, "sizeLimit")) && !json_is_null(q) &&
            ext_quantity_milli(q, &milli, &err) < 0)
            v_err(v, API_FE_INVALID, "sizeLimit", q, "%s", err.msg);
    } else {
        s = v_str(v, src, !strcmp(type, "secret") ? "secretName" : "name");
        if (!s || !*s)
            v_err(v, API_FE_REQUIRED, !strcmp(type, "secret") ? "secretName" : "name", NULL, NULL);
        v_default_mode(v, src);
        v_bool(v, src, "optional", &(bool){false});
        v_key_to_path_items(v, src);
    }
}

static void
v_volume_source(struct vctx *v, const json_t *vol)
{
    const char *type = NULL;
    json_t *src, *first = NULL;
    size_t mark;

    for (size_t i = 0; i < sizeof(supported_sources) / sizeof(supported_sources[0]); i++) {
        if (!(src = v_obj(v, vol, supported_sources[i])))
            continue;
        if (first) {
            v_err(v, API_FE_FORBIDDEN, supported_sources[i], NULL,
                  "may not specify more than 1 volume type");
            continue;
        }
        first = src, type = supported_sources[i];
    }
    for (size_t i = 0; i < sizeof(other_sources) / sizeof(other_sources[0]); i++)
        if (json_object_get(vol, other_sources[i]))
            v_err(v, API_FE_FORBIDDEN, other_sources[i], NULL,
                  "volume type not supported by skiff (supported: emptyDir, hostPath, "
                  "configMap, secret)");
    if (!first) {
        v_err(v, API_FE_REQUIRED, NULL, NULL, "must specify a volume type");
        return;
    }
    mark = vpath_child(v, type);
    v_source(v, type, first);
    vpath_pop(v, mark);
}

void
v_volumes(struct vctx *v, const json_t *spec, json_t *names)
{
    json_t *vols = v_arr(v, spec, "volumes"), *vol;
    const char *name;
    size_t mark = vpath_child(v, "volumes"), imark;

    for (size_t i = 0; i < json_array_size(vols); i++) {
        if (!(vol = v_elem_obj(v, vols, i)))
            continue;
        imark = vpath_index(v, i);
        name = v_str(v, vol, "name");
        if (!name || !*name) {
            v_err(v, API_FE_REQUIRED, "name", NULL, NULL);
        } else if (!v_dns1123_label(v, "name", name)) {
            if (json_object_get(names, name))
                v_err_str(v, API_FE_DUPLICATE, "name", name, NULL);
            json_object_set_new(names, name, json_true());
        }
        v_volume_source(v, vol);
        vpath_pop(v, imark);
    }
    vpath_pop(v, mark);
}
