/* Reading the store: resolve, list and inspect images. */
#include "runtime/image_int.h"

#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/* The manifest digest a reference names (lock held). A digest is found
 * if its manifest blob is stored; a name:tag must be in the index. */
static int
query_lookup(struct rt_image_store *s, const char *refstr, char *digest, struct sk_err *err)
{
    struct rt_image_index idx;
    struct rt_image_ref ref;
    size_t i;
    int fd, rc;

    if (rt_image_ref_parse(refstr, &ref, err) < 0)
        return -1;
    if (ref.digest[0]) {
        fd = rt_image_blob_open(s, ref.digest, NULL);
        if (fd < 0)
            return sk_err_set(err, ENOENT, "image '%s' not found", refstr);
        close(fd);
        memcpy(digest, ref.digest, RT_IMAGE_DIGEST_LEN);
        return 0;
    }
    if (rt_image_index_read(s->root_fd, &idx, err) < 0)
        return -1;
    rc = sk_err_set(err, ENOENT, "image '%s:%s' not found", ref.name, ref.tag);
    for (i = 0; i < idx.n; i++)
        if (strcmp(idx.items[i].name, ref.name) == 0 && strcmp(idx.items[i].tag, ref.tag) == 0) {
            memcpy(digest, idx.items[i].digest, RT_IMAGE_DIGEST_LEN);
            rc = 0;
            break;
        }
    rt_image_index_release(&idx);
    return rc;
}

/* Manifest and config of digest, parsed and cross-checked. */
static int
query_load(struct rt_image_store *s, const char *digest, struct rt_image_manifest *m,
           json_t **config, char (**diffids)[RT_IMAGE_DIGEST_LEN], struct sk_err *err)
{
    json_t *mj = NULL;
    size_t n;
    int rc = -1;

    *config = NULL;
    *diffids = NULL;
    if (rt_image_blob_json(s, digest, &mj, err) < 0)
        return -1;
    if (rt_image_manifest_parse(mj, m, err) < 0)
        goto out;
    if (rt_image_blob_json(s, m->config, config, err) < 0 ||
        rt_image_config_diffids(*config, diffids, &n, err) < 0)
        goto out_release;
    if (n != m->n_layers) {
        sk_err_set(err, EBADMSG, "config has %zu diff_ids, manifest %zu layers", n, m->n_layers);
        goto out_release;
    }
    rc = 0;
    goto out;
out_release:
    rt_image_manifest_release(m);
    json_decref(*config);
    *config = NULL;
    free(*diffids);
    *diffids = NULL;
out:
    json_decref(mj);
    return rc;
}

static int
query_fill(struct rt_image_store *s, const char *digest, struct rt_image_info *out,
           struct sk_err *err)
{
    char(*diffids)[RT_IMAGE_DIGEST_LEN];
    struct rt_image_manifest m;
    json_t *config;
    size_t i;
    int rc;

    if (query_load(s, digest, &m, &config, &diffids, err) < 0)
        return -1;
    memcpy(out->digest, digest, RT_IMAGE_DIGEST_LEN);
    memcpy(out->config_digest, m.config, RT_IMAGE_DIGEST_LEN);
    out->size = m.size;
    out->layers = sk_calloc(m.n_layers + 1, sizeof(char *));
    /* overlayfs takes lowerdirs top first; the manifest lists bottom first. */
    for (i = 0; i < m.n_layers; i++) {
        const char *hex = rt_image_digest_hex(diffids[m.n_layers - 1 - i]);
        char rel[128];

        snprintf(rel, sizeof(rel), "layers/%s", hex);
        out->layers[out->n_layers++] = sk_asprintf("%s/%s", s->root, rel);
        if (faccessat(s->root_fd, rel, F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
            rc = sk_err_sys(err, errno, "layer '%s'", diffids[m.n_layers - 1 - i]);
            goto out;
        }
    }
    rc = rt_image_config_fill(config, out, err);
out:
    rt_image_manifest_release(&m);
    json_decref(config);
    free(diffids);
    return rc;
}

int
rt_image_resolve(struct rt_image_store *s, const char *ref, struct rt_image_info *out,
                 struct sk_err *err)
{
    return rt_image_resolve_pinned(s, ref, NULL, out, err);
}

int
rt_image_resolve_pinned(struct rt_image_store *s, const char *ref, const char *id,
                        struct rt_image_info *out, struct sk_err *err)
{
    char digest[RT_IMAGE_DIGEST_LEN];
    int rc;

    memset(out, 0, sizeof(*out));
    if (rt_image_lock(s, LOCK_SH, err) < 0)
        return -1;
    rc = query_lookup(s, ref, digest, err);
    if (rc == 0)
        rc = query_fill(s, digest, out, err);
    if (rc == 0 && id)
        rc = rt_image_pin_write(s, id, digest, err);
    rt_image_unlock(s);
    if (rc < 0) {
        rt_image_info_release(out);
        return sk_err_wrap(err, "image '%s'", ref);
    }
    return 0;
}

/* Size and creation time of one listed image; a broken image still
 * lists (with zeros), so that it can be seen and removed. */
static void
query_list_entry(struct rt_image_store *s, struct rt_image_entry *e)
{
    struct rt_image_manifest m;
    json_t *mj = NULL, *config = NULL;

    if (rt_image_blob_json(s, e->digest, &mj, NULL) < 0)
        return;
    if (rt_image_manifest_parse(mj, &m, NULL) == 0) {
        e->size = m.size;
        if (rt_image_blob_json(s, m.config, &config, NULL) == 0)
            e->created = rt_image_time_parse(json_string_value(json_object_get(config, "created")));
        rt_image_manifest_release(&m);
    }
    json_decref(config);
    json_decref(mj);
}

int
rt_image_list(struct rt_image_store *s, struct rt_image_list *out, struct sk_err *err)
{
    struct rt_image_index idx;
    size_t i;

    out->items = NULL;
    out->n = 0;
    if (rt_image_lock(s, LOCK_SH, err) < 0)
        return -1;
    if (rt_image_index_read(s->root_fd, &idx, err) < 0) {
        rt_image_unlock(s);
        return -1;
    }
    out->items = sk_calloc(idx.n + 1, sizeof(*out->items));
    for (i = 0; i < idx.n; i++) {
        struct rt_image_entry *e = &out->items[out->n++];

        memcpy(e->name, idx.items[i].name, sizeof(e->name));
        memcpy(e->tag, idx.items[i].tag, sizeof(e->tag));
        memcpy(e->digest, idx.items[i].digest, sizeof(e->digest));
        query_list_entry(s, e);
    }
    rt_image_index_release(&idx);
    rt_image_unlock(s);
    return 0;
}

void
rt_image_list_release(struct rt_image_list *list)
{
    free(list->items);
    list->items = NULL;
    list->n = 0;
}

static json_t *
query_inspect_json(struct rt_image_store *s, const char *digest, json_t *config,
                   struct rt_image_manifest *m, char (*diffids)[RT_IMAGE_DIGEST_LEN])
{
    json_t *doc = json_object(), *tags = json_array(), *dirs = json_array(), *layers, *v;
    struct rt_image_index idx;
    size_t i;

    if (rt_image_index_read(s->root_fd, &idx, NULL) == 0) {
        for (i = 0; i < idx.n; i++)
            if (strcmp(idx.items[i].digest, digest) == 0)
                json_array_append_new(tags,
                                      json_pack("s++", idx.items[i].name, ":", idx.items[i].tag));
        rt_image_index_release(&idx);
    }
    layers = json_array();
    for (i = 0; i < m->n_layers; i++) {
        json_array_append_new(layers, json_pack("{s:s,s:s,s:I}", "digest", m->layers[i], "diffId",
                                                diffids[i], "size", (json_int_t)m->layer_sizes[i]));
        json_array_insert_new(
            dirs, 0, json_pack("s+++", s->root, "/layers/", rt_image_digest_hex(diffids[i]), ""));
    }
    json_object_set_new(doc, "Id", json_string(m->config));
    json_object_set_new(doc, "Digest", json_string(digest));
    json_object_set_new(doc, "RepoTags", tags);
    v = json_object_get(config, "created");
    json_object_set(doc, "Created", v ? v : json_null());
    v = json_object_get(config, "os");
    json_object_set(doc, "Os", v ? v : json_null());
    v = json_object_get(config, "architecture");
    json_object_set(doc, "Architecture", v ? v : json_null());
    json_object_set_new(doc, "Size", json_integer(m->size));
    v = json_object_get(config, "config");
    json_object_set(doc, "Config", v ? v : json_object());
    json_object_set_new(doc, "Layers", layers);
    json_object_set_new(doc, "LayerDirs", dirs);
    return doc;
}

int
rt_image_inspect(struct rt_image_store *s, const char *ref, char **json, struct sk_err *err)
{
    char digest[RT_IMAGE_DIGEST_LEN], (*diffids)[RT_IMAGE_DIGEST_LEN];
    struct rt_image_manifest m;
    json_t *config, *doc;
    int rc;

    *json = NULL;
    if (rt_image_lock(s, LOCK_SH, err) < 0)
        return -1;
    rc = query_lookup(s, ref, digest, err);
    if (rc == 0)
        rc = query_load(s, digest, &m, &config, &diffids, err);
    if (rc == 0) {
        doc = query_inspect_json(s, digest, config, &m, diffids);
        *json = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (!*json)
            SK_BUG("json_dumps: out of memory");
        json_decref(doc);
        json_decref(config);
        free(diffids);
        rt_image_manifest_release(&m);
    }
    rt_image_unlock(s);
    return rc < 0 ? sk_err_wrap(err, "image '%s'", ref) : 0;
}
