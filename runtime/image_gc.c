/* Removing references and collecting what nothing reaches any more. */
#include "runtime/image_int.h"

#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/err.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static int
index_drop(struct rt_image_index *idx, const struct rt_image_ref *ref)
{
    size_t i, kept = 0;
    int dropped = 0;

    for (i = 0; i < idx->n; i++) {
        struct rt_image_index_entry *e = &idx->items[i];
        int match;

        if (ref->digest[0])
            match = strcmp(e->digest, ref->digest) == 0 &&
                    (!ref->name[0] || strcmp(e->name, ref->name) == 0);
        else
            match = strcmp(e->name, ref->name) == 0 && strcmp(e->tag, ref->tag) == 0;
        if (match)
            dropped++;
        else
            idx->items[kept++] = *e;
    }
    idx->n = kept;
    return dropped;
}

int
rt_image_remove(struct rt_image_store *s, const char *refstr, struct sk_err *err)
{
    struct rt_image_index idx;
    struct rt_image_ref ref;
    int rc;

    if (rt_image_ref_parse(refstr, &ref, err) < 0)
        return -1;
    if (rt_image_lock(s, LOCK_SH, err) < 0)
        return -1;
    rc = rt_image_index_lock(s, err);
    if (rc == 0)
        rc = rt_image_index_read(s->root_fd, &idx, err);
    if (rc == 0) {
        if (index_drop(&idx, &ref) == 0)
            rc = sk_err_set(err, ENOENT, "image '%s' not found", refstr);
        else
            rc = rt_image_index_write(s->root_fd, &idx, err);
        rt_image_index_release(&idx);
    }
    rt_image_index_unlock(s);
    rt_image_unlock(s);
    return rc;
}

/* A set of digests: append, then sort once and search. */
struct digest_set {
    char (*items)[RT_IMAGE_DIGEST_LEN];
    size_t n;
};

static void
set_add(struct digest_set *set, const char *digest)
{
    set->items = sk_reallocarray(set->items, set->n + 1, sizeof(*set->items));
    memcpy(set->items[set->n++], digest, RT_IMAGE_DIGEST_LEN);
}

static int
set_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

static int
set_has(const struct digest_set *set, const char *digest)
{
    return set->n && bsearch(digest, set->items, set->n, sizeof(*set->items), set_cmp) != NULL;
}

/* Everything one image reaches. Any doubt stops gc: deleting a blob that
 * is in use would break an image, keeping a stray one costs only space. */
static int
gc_mark(struct rt_image_store *s, const char *digest, struct digest_set *blobs,
        struct digest_set *layers, struct sk_err *err)
{
    struct rt_image_manifest m;
    char(*diffids)[RT_IMAGE_DIGEST_LEN] = NULL;
    json_t *mj = NULL, *config = NULL;
    size_t i, n = 0;
    int rc = -1;

    set_add(blobs, digest);
    if (rt_image_blob_json(s, digest, &mj, err) < 0)
        goto out;
    if (rt_image_manifest_parse(mj, &m, err) < 0)
        goto out;
    set_add(blobs, m.config);
    for (i = 0; i < m.n_layers; i++)
        set_add(blobs, m.layers[i]);
    if (rt_image_blob_json(s, m.config, &config, err) == 0 &&
        rt_image_config_diffids(config, &diffids, &n, err) == 0) {
        for (i = 0; i < n; i++)
            set_add(layers, diffids[i]);
        rc = 0;
    }
    rt_image_manifest_release(&m);
out:
    free(diffids);
    json_decref(config);
    json_decref(mj);
    return rc < 0 ? sk_err_wrap(err, "image '%s'", digest) : 0;
}

static int
gc_roots(struct rt_image_store *s, struct digest_set *blobs, struct digest_set *layers,
         struct sk_err *err)
{
    char(*pins)[RT_IMAGE_DIGEST_LEN] = NULL;
    struct rt_image_index idx;
    size_t i, n_pins = 0;
    int rc = 0;

    if (rt_image_index_read(s->root_fd, &idx, err) < 0)
        return -1;
    for (i = 0; rc == 0 && i < idx.n; i++)
        rc = gc_mark(s, idx.items[i].digest, blobs, layers, err);
    rt_image_index_release(&idx);
    if (rc == 0)
        rc = rt_image_pins_read(s, &pins, &n_pins, err);
    for (i = 0; rc == 0 && i < n_pins; i++)
        rc = gc_mark(s, pins[i], blobs, layers, err);
    free(pins);
    return rc;
}

/* Remove entries of dir that are not "sha256:"+name in keep. */
static int
gc_sweep(struct rt_image_store *s, const char *dir, const struct digest_set *keep, size_t *count,
         int64_t *bytes, struct sk_err *err)
{
    char digest[RT_IMAGE_DIGEST_LEN + 256];
    struct dirent *de;
    struct stat st;
    DIR *d;
    int fd, rc = 0;

    fd = openat(s->root_fd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || !(d = fdopendir(fd))) {
        if (fd >= 0)
            close(fd);
        return sk_err_sys(err, errno, "open '%s'", dir);
    }
    while (rc == 0 && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(digest, sizeof(digest), "sha256:%s", de->d_name);
        if (rt_image_digest_valid(digest) && set_has(keep, digest))
            continue;
        if (bytes && fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
            *bytes += st.st_size;
        rc = rt_image_rmtree(fd, de->d_name, err);
        if (rc == 0)
            (*count)++;
    }
    closedir(d);
    return rc < 0 ? sk_err_wrap(err, "'%s'", dir) : 0;
}

int
rt_image_gc(struct rt_image_store *s, struct rt_image_gc_stats *stats, struct sk_err *err)
{
    struct digest_set blobs = {NULL, 0}, layers = {NULL, 0};
    struct rt_image_gc_stats st = {0, 0, 0};
    int rc;

    if (rt_image_lock(s, LOCK_EX, err) < 0)
        return -1;
    rc = gc_roots(s, &blobs, &layers, err);
    if (rc == 0) {
        if (blobs.n)
            qsort(blobs.items, blobs.n, sizeof(*blobs.items), set_cmp);
        if (layers.n)
            qsort(layers.items, layers.n, sizeof(*layers.items), set_cmp);
        rc = gc_sweep(s, "blobs/sha256", &blobs, &st.blobs_removed, &st.bytes_freed, err);
    }
    if (rc == 0)
        rc = gc_sweep(s, "layers", &layers, &st.layers_removed, NULL, err);
    /* Nothing else holds the lock, so tmp/ holds only leftovers. */
    if (rc == 0)
        rc = rt_image_rmtree(s->root_fd, "tmp", err);
    if (rc == 0 && mkdirat(s->root_fd, "tmp", 0700) < 0 && errno != EEXIST)
        rc = sk_err_sys(err, errno, "mkdir 'tmp'");
    rt_image_unlock(s);
    free(blobs.items);
    free(layers.items);
    if (stats)
        *stats = st;
    return rc < 0 ? sk_err_wrap(err, "gc") : 0;
}
