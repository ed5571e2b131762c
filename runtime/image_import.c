/* Importing images: from an OCI image layout (image-spec layout.md) as
 * a directory or a tar of one, and from a `docker save` tar.
 *
 * A tar is first unpacked into the store's tmp/ (regular files,
 * directories and symlinks only; docker save links shared layer.tar
 * files with symlinks). Every file of the source is then opened with
 * openat2(RESOLVE_IN_ROOT), so no path in a manifest and no symlink in
 * the archive reaches outside it.
 *
 * What is checked: each blob's sha256 against the descriptor that names
 * it (index.json -> manifest -> config and layers), descriptor sizes,
 * and each layer's uncompressed sha256 against the config's
 * rootfs.diff_ids. For docker save, which has no manifests, the config
 * file name (<hex>.json or blobs/sha256/<hex>) is its digest, and an OCI
 * manifest is written for the image so that the store holds one kind.
 * References are written only after every image of the archive is
 * complete, in one atomic update of the index. The store lock is held
 * shared throughout (gc cannot delete what is being written); only the
 * index update is exclusive. */
#include "runtime/image_int.h"

#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/err.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SRC_JSON_MAX  (16 * 1024 * 1024)
#define MT_OCI_INDEX  "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_LST "application/vnd.docker.distribution.manifest.list.v2+json"
#define ANN_REF_NAME  "org.opencontainers.image.ref.name"
#define ANN_CTRD_NAME "io.containerd.image.name"

#if defined(__x86_64__)
#define HOST_ARCH "amd64"
#elif defined(__aarch64__)
#define HOST_ARCH "arm64"
#elif defined(__arm__)
#define HOST_ARCH "arm"
#elif defined(__i386__)
#define HOST_ARCH "386"
#elif defined(__powerpc64__)
#define HOST_ARCH "ppc64le"
#elif defined(__s390x__)
#define HOST_ARCH "s390x"
#elif defined(__riscv)
#define HOST_ARCH "riscv64"
#else
#define HOST_ARCH "unknown"
#endif

/* Images found in the source, with the names the source gives them. */
struct pending {
    struct rt_image_index named;
    char (*unnamed)[RT_IMAGE_DIGEST_LEN];
    size_t n_unnamed;
};

static int
src_open(int src_fd, const char *rel, struct sk_err *err)
{
    struct open_how how = {
        .flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC,
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    struct stat st;
    int fd;

    fd = (int)syscall(SYS_openat2, src_fd, rel, &how, sizeof(how));
    if (fd < 0)
        return sk_err_sys(err, errno, "open '%s'", rel);
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return sk_err_set(err, EINVAL, "'%s' is not a regular file", rel);
    }
    return fd;
}

static int
src_exists(int src_fd, const char *rel)
{
    int fd = src_open(src_fd, rel, NULL);

    if (fd < 0)
        return 0;
    close(fd);
    return 1;
}

/* Read a JSON file of the source; its digest goes to got (may be NULL). */
static int
src_json(int src_fd, const char *rel, json_t **out, char *got, struct sk_err *err)
{
    struct sk_buf buf = SK_BUF_INIT;
    json_error_t jerr;
    char chunk[65536];
    ssize_t n;
    int fd, rc = -1;

    fd = src_open(src_fd, rel, err);
    if (fd < 0)
        return -1;
    while ((n = read(fd, chunk, sizeof(chunk))) > 0 && buf.len <= SRC_JSON_MAX)
        sk_buf_append(&buf, chunk, (size_t)n);
    if (n < 0)
        sk_err_sys(err, errno, "read '%s'", rel);
    else if (buf.len > SRC_JSON_MAX)
        sk_err_set(err, EFBIG, "'%s': larger than %d bytes", rel, SRC_JSON_MAX);
    else if (!(*out = json_loadb(buf.data ? buf.data : "", buf.len, 0, &jerr)))
        sk_err_set(err, EBADMSG, "'%s': bad JSON at line %d: %s", rel, jerr.line, jerr.text);
    else
        rc = 0;
    if (rc == 0 && got)
        rt_image_sha256_buf(buf.data ? buf.data : "", buf.len, got);
    sk_buf_release(&buf);
    close(fd);
    return rc;
}

/* Copy a source file into blobs/; want may be NULL (digest unknown). */
static int
src_blob(struct rt_image_store *s, int src_fd, const char *rel, const char *want, int64_t want_size,
         char *got, struct sk_err *err)
{
    int64_t size = -1;
    int fd, rc;

    fd = src_open(src_fd, rel, err);
    if (fd < 0)
        return -1;
    rc = rt_image_blob_put_fd(s, fd, want, got, &size, err);
    close(fd);
    if (rc < 0)
        return sk_err_wrap(err, "'%s'", rel);
    if (want_size >= 0 && size != want_size)
        return sk_err_set(err, EBADMSG, "'%s': size is %lld, descriptor says %lld", rel,
                          (long long)size, (long long)want_size);
    return 0;
}

static void
blob_rel(const char *digest, char *out, size_t outsz)
{
    snprintf(out, outsz, "blobs/sha256/%s", rt_image_digest_hex(digest));
}

/* The config of a stored image and its diff_ids, checked against n. */
static int
import_diffids(struct rt_image_store *s, const char *config, size_t n,
               char (**diffids)[RT_IMAGE_DIGEST_LEN], struct sk_err *err)
{
    json_t *cj;
    size_t got;
    int rc;

    if (rt_image_blob_json(s, config, &cj, err) < 0)
        return -1;
    rc = rt_image_config_diffids(cj, diffids, &got, err);
    json_decref(cj);
    if (rc == 0 && got != n) {
        free(*diffids);
        *diffids = NULL;
        rc = sk_err_set(err, EBADMSG, "config has %zu diff_ids for %zu layers", got, n);
    }
    return rc < 0 ? sk_err_wrap(err, "config '%s'", config) : 0;
}

/* Everything an OCI manifest (already verified, in mj) reaches. */
static int
oci_manifest_blobs(struct rt_image_store *s, int src_fd, json_t *mj, struct sk_err *err)
{
    char(*diffids)[RT_IMAGE_DIGEST_LEN] = NULL, rel[128];
    struct rt_image_manifest m;
    size_t i;
    int rc = -1;

    if (rt_image_manifest_parse(mj, &m, err) < 0)
        return -1;
    blob_rel(m.config, rel, sizeof(rel));
    if (src_blob(s, src_fd, rel, m.config, m.config_size, NULL, err) < 0 ||
        import_diffids(s, m.config, m.n_layers, &diffids, err) < 0)
        goto out;
    for (i = 0; i < m.n_layers; i++) {
        blob_rel(m.layers[i], rel, sizeof(rel));
        if (src_blob(s, src_fd, rel, m.layers[i], m.layer_sizes[i], NULL, err) < 0 ||
            rt_image_layer_put(s, m.layers[i], diffids[i], err) < 0)
            goto out;
    }
    rc = 0;
out:
    free(diffids);
    rt_image_manifest_release(&m);
    return rc;
}

static int
oci_manifest(struct rt_image_store *s, int src_fd, const char *digest, int64_t size,
             struct sk_err *err)
{
    char rel[128], got[RT_IMAGE_DIGEST_LEN];
    json_t *mj = NULL;
    int rc;

    blob_rel(digest, rel, sizeof(rel));
    if (src_json(src_fd, rel, &mj, got, err) < 0)
        return sk_err_wrap(err, "manifest '%s'", digest);
    if (strcmp(got, digest) != 0) {
        json_decref(mj);
        return sk_err_set(err, EBADMSG, "manifest '%s': digest mismatch: content is '%s'", digest,
                          got);
    }
    rc = oci_manifest_blobs(s, src_fd, mj, err);
    json_decref(mj);
    if (rc == 0)
        rc = src_blob(s, src_fd, rel, digest, size, NULL, err);
    return rc < 0 ? sk_err_wrap(err, "manifest '%s'", digest) : 0;
}

static void
pending_add(struct pending *p, const char *refname, const char *digest)
{
    struct rt_image_ref ref;

    if (refname && rt_image_ref_parse(refname, &ref, NULL) == 0 && !ref.digest[0]) {
        rt_image_index_set(&p->named, ref.name, ref.tag, digest);
        return;
    }
    p->unnamed = sk_reallocarray(p->unnamed, p->n_unnamed + 1, sizeof(*p->unnamed));
    memcpy(p->unnamed[p->n_unnamed++], digest, RT_IMAGE_DIGEST_LEN);
}

/* The reference a descriptor's annotations give: containerd's full
 * name, or org.opencontainers.image.ref.name when it is a full
 * reference (the spec allows a bare tag there, which names nothing). */
static const char *
oci_desc_name(json_t *desc)
{
    json_t *ann = json_object_get(desc, "annotations");
    const char *full = json_string_value(json_object_get(ann, ANN_CTRD_NAME));
    const char *ref = json_string_value(json_object_get(ann, ANN_REF_NAME));

    if (full)
        return full;
    if (ref && (strchr(ref, ':') || strchr(ref, '/')))
        return ref;
    return NULL;
}

static int oci_desc(struct rt_image_store *s, int src_fd, json_t *desc, const char *name, int depth,
                    struct pending *p, struct sk_err *err);

/* A nested index (multi-platform image): take the host's platform. */
static int
oci_nested_index(struct rt_image_store *s, int src_fd, const char *digest, const char *name,
                 int depth, struct pending *p, struct sk_err *err)
{
    char rel[128], got[RT_IMAGE_DIGEST_LEN];
    json_t *ij = NULL, *d;
    size_t i;
    int rc;

    blob_rel(digest, rel, sizeof(rel));
    if (depth > 2)
        return sk_err_set(err, EBADMSG, "index '%s': nested too deep", digest);
    if (src_json(src_fd, rel, &ij, got, err) < 0)
        return sk_err_wrap(err, "index '%s'", digest);
    rc = sk_err_set(err, ENOENT, "index '%s': no manifest for linux/%s", digest, HOST_ARCH);
    if (strcmp(got, digest) != 0)
        rc = sk_err_set(err, EBADMSG, "index '%s': digest mismatch: content is '%s'", digest, got);
    else
        json_array_foreach (json_object_get(ij, "manifests"), i, d) {
            json_t *plat = json_object_get(d, "platform");
            const char *os = json_string_value(json_object_get(plat, "os"));
            const char *arch = json_string_value(json_object_get(plat, "architecture"));

            if (os && arch && strcmp(os, "linux") == 0 && strcmp(arch, HOST_ARCH) == 0) {
                rc = oci_desc(s, src_fd, d, name, depth + 1, p, err);
                break;
            }
        }
    json_decref(ij);
    return rc;
}

static int
oci_desc(struct rt_image_store *s, int src_fd, json_t *desc, const char *name, int depth,
         struct pending *p, struct sk_err *err)
{
    const char *mt = json_string_value(json_object_get(desc, "mediaType"));
    const char *digest = json_string_value(json_object_get(desc, "digest"));
    json_t *size = json_object_get(desc, "size");

    if (!rt_image_digest_valid(digest))
        return sk_err_set(err, EBADMSG, "descriptor with a missing or unsupported digest");
    if (!json_is_integer(size) || json_integer_value(size) < 0)
        return sk_err_set(err, EBADMSG, "descriptor '%s': missing or bad size", digest);
    if (mt && (strcmp(mt, MT_OCI_INDEX) == 0 || strcmp(mt, MT_DOCKER_LST) == 0))
        return oci_nested_index(s, src_fd, digest, name, depth, p, err);
    if (oci_manifest(s, src_fd, digest, json_integer_value(size), err) < 0)
        return -1;
    pending_add(p, name, digest);
    return 0;
}

static int
oci_import(struct rt_image_store *s, int src_fd, struct pending *p, struct sk_err *err)
{
    json_t *layout = NULL, *index = NULL, *d;
    const char *ver;
    size_t i;
    int rc = -1;

    if (src_json(src_fd, "oci-layout", &layout, NULL, err) < 0)
        return -1;
    ver = json_string_value(json_object_get(layout, "imageLayoutVersion"));
    if (!ver || !sk_startswith(ver, "1.")) {
        sk_err_set(err, EBADMSG, "oci-layout: unsupported imageLayoutVersion '%s'", ver ? ver : "");
        goto out;
    }
    if (src_json(src_fd, "index.json", &index, NULL, err) < 0)
        goto out;
    if (!json_is_array(json_object_get(index, "manifests"))) {
        sk_err_set(err, EBADMSG, "index.json: no 'manifests' array");
        goto out;
    }
    json_array_foreach (json_object_get(index, "manifests"), i, d) {
        if (oci_desc(s, src_fd, d, oci_desc_name(d), 0, p, err) < 0) {
            sk_err_wrap(err, "index.json: manifests[%zu]", i);
            goto out;
        }
    }
    rc = 0;
out:
    json_decref(index);
    json_decref(layout);
    return rc;
}

/* docker save names a file after its digest: "<hex>.json", "<hex>",
 * "blobs/sha256/<hex>". Anything else ("<id>/layer.tar") says nothing. */
static int
docker_name_digest(const char *rel, char *out)
{
    const char *base = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
    size_t len = strcspn(base, ".");

    if (len != 64 || (base[len] && strcmp(base + len, ".json") != 0))
        return 0;
    snprintf(out, RT_IMAGE_DIGEST_LEN, "sha256:%.64s", base);
    return rt_image_digest_valid(out);
}

static int
docker_layers(struct rt_image_store *s, int src_fd, json_t *layers,
              char (*diffids)[RT_IMAGE_DIGEST_LEN], json_t *descs, struct sk_err *err)
{
    char want[RT_IMAGE_DIGEST_LEN], got[RT_IMAGE_DIGEST_LEN];
    int64_t size = 0;
    json_t *l;
    size_t i;
    int fd, rc;

    json_array_foreach (layers, i, l) {
        const char *rel = json_string_value(l);

        if (!rel)
            return sk_err_set(err, EBADMSG, "Layers[%zu] is not a string", i);
        fd = src_open(src_fd, rel, err);
        if (fd < 0)
            return -1;
        rc = rt_image_blob_put_fd(s, fd, docker_name_digest(rel, want) ? want : NULL, got, &size,
                                  err);
        close(fd);
        if (rc < 0 || rt_image_layer_put(s, got, diffids[i], err) < 0)
            return sk_err_wrap(err, "'%s'", rel);
        json_array_append_new(descs, json_pack("{s:s,s:s,s:I}", "mediaType",
                                               "application/vnd.oci.image.layer.v1.tar", "digest",
                                               got, "size", (json_int_t)size));
    }
    return 0;
}

/* Store one docker save image and write the OCI manifest it lacks. */
static int
docker_image(struct rt_image_store *s, int src_fd, json_t *item, char *digest, struct sk_err *err)
{
    const char *crel = json_string_value(json_object_get(item, "Config"));
    json_t *layers = json_object_get(item, "Layers"), *descs = json_array(), *m;
    char want[RT_IMAGE_DIGEST_LEN], config[RT_IMAGE_DIGEST_LEN];
    char(*diffids)[RT_IMAGE_DIGEST_LEN] = NULL;
    struct stat st;
    char *text = NULL;
    int fd, rc = -1;

    if (!crel || !json_is_array(layers)) {
        sk_err_set(err, EBADMSG, "no 'Config' or 'Layers'");
        goto out;
    }
    if (src_blob(s, src_fd, crel, docker_name_digest(crel, want) ? want : NULL, -1, config, err) <
            0 ||
        import_diffids(s, config, json_array_size(layers), &diffids, err) < 0 ||
        docker_layers(s, src_fd, layers, diffids, descs, err) < 0)
        goto out;
    fd = rt_image_blob_open(s, config, err);
    if (fd < 0 || fstat(fd, &st) < 0) {
        if (fd >= 0)
            close(fd);
        goto out;
    }
    close(fd);
    m = json_pack("{s:i,s:s,s:{s:s,s:s,s:I},s:O}", "schemaVersion", 2, "mediaType",
                  "application/vnd.oci.image.manifest.v1+json", "config", "mediaType",
                  "application/vnd.oci.image.config.v1+json", "digest", config, "size",
                  (json_int_t)st.st_size, "layers", descs);
    text = json_dumps(m, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(m);
    if (!text)
        SK_BUG("json_dumps: out of memory");
    rc = rt_image_blob_put_buf(s, text, strlen(text), digest, err);
out:
    free(text);
    free(diffids);
    json_decref(descs);
    return rc;
}

static int
docker_import(struct rt_image_store *s, int src_fd, struct pending *p, struct sk_err *err)
{
    char digest[RT_IMAGE_DIGEST_LEN];
    json_t *manifest = NULL, *item, *tag;
    size_t i, j;
    int rc = -1;

    if (src_json(src_fd, "manifest.json", &manifest, NULL, err) < 0)
        return -1;
    if (!json_is_array(manifest)) {
        sk_err_set(err, EBADMSG, "manifest.json: not an array");
        goto out;
    }
    json_array_foreach (manifest, i, item) {
        json_t *tags = json_object_get(item, "RepoTags");

        if (docker_image(s, src_fd, item, digest, err) < 0) {
            sk_err_wrap(err, "manifest.json: image %zu", i);
            goto out;
        }
        if (json_array_size(tags) == 0)
            pending_add(p, NULL, digest);
        json_array_foreach (tags, j, tag)
            pending_add(p, json_string_value(tag), digest);
    }
    rc = 0;
out:
    json_decref(manifest);
    return rc;
}

/* Open the source as a directory: as it is, or a tar unpacked into a
 * staging directory under tmp/ (its name goes to stage). */
static int
import_open_source(struct rt_image_store *s, const char *path, char *stage, size_t stagesz,
                   struct sk_err *err)
{
    struct stat st;
    int fd, dfd = -1, rc;

    stage[0] = '\0';
    if (stat(path, &st) < 0)
        return sk_err_sys(err, errno, "'%s'", path);
    if (S_ISDIR(st.st_mode)) {
        fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? sk_err_sys(err, errno, "open '%s'", path) : fd;
    }
    if (!S_ISREG(st.st_mode))
        return sk_err_set(err, EINVAL, "'%s' is neither a directory nor a file", path);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sk_err_sys(err, errno, "open '%s'", path);
    rc = rt_image_tmpdir(s, "import", stage, stagesz, err);
    if (rc == 0) {
        dfd = openat(s->root_fd, stage, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
            rc = sk_err_sys(err, errno, "open '%s'", stage);
    }
    if (rc == 0)
        rc = rt_image_unpack(fd, dfd, 0, NULL, err);
    close(fd);
    if (rc < 0) {
        if (dfd >= 0)
            close(dfd);
        return sk_err_wrap(err, "unpack '%s'", path);
    }
    return dfd;
}

/* Give the images their final names: the caller's name (one image
 * only), else the archive's; an image without any name is an error,
 * since gc would remove it at once. */
static int
import_names(struct pending *p, const char *name, struct sk_err *err)
{
    char keep[RT_IMAGE_DIGEST_LEN];
    struct rt_image_ref ref;
    const char *digest;
    size_t i;

    if (!name) {
        if (p->n_unnamed > 0)
            return sk_err_set(err, EINVAL, "image '%s' has no name; give one with --name",
                              p->unnamed[0]);
        return 0;
    }
    if (rt_image_ref_parse(name, &ref, err) < 0)
        return -1;
    if (ref.digest[0])
        return sk_err_set(err, EINVAL, "name '%s': a digest cannot name an image", name);
    digest = p->n_unnamed ? p->unnamed[0] : p->named.n ? p->named.items[0].digest : NULL;
    if (!digest)
        return sk_err_set(err, EINVAL, "no image found");
    for (i = 0; i < p->n_unnamed; i++)
        if (strcmp(p->unnamed[i], digest) != 0)
            goto many;
    for (i = 0; i < p->named.n; i++)
        if (strcmp(p->named.items[i].digest, digest) != 0)
            goto many;
    sk_strlcpy(keep, digest, sizeof(keep));
    rt_image_index_release(&p->named);
    rt_image_index_set(&p->named, ref.name, ref.tag, keep);
    return 0;
many:
    return sk_err_set(err, EINVAL, "the archive holds several images; --name needs exactly one");
}

static int
import_commit(struct rt_image_store *s, struct pending *p, struct rt_image_list *out,
              struct sk_err *err)
{
    struct rt_image_index idx;
    size_t i;
    int rc;

    if (rt_image_index_lock(s, err) < 0)
        return -1;
    rc = rt_image_index_read(s->root_fd, &idx, err);
    for (i = 0; rc == 0 && i < p->named.n; i++)
        rt_image_index_set(&idx, p->named.items[i].name, p->named.items[i].tag,
                           p->named.items[i].digest);
    if (rc == 0)
        rc = rt_image_index_write(s->root_fd, &idx, err);
    rt_image_index_unlock(s);
    rt_image_index_release(&idx);
    if (rc < 0 || !out)
        return rc;
    out->items = sk_calloc(p->named.n + 1, sizeof(*out->items));
    for (i = 0; i < p->named.n; i++) {
        struct rt_image_entry *e = &out->items[out->n++];

        memcpy(e->name, p->named.items[i].name, sizeof(e->name));
        memcpy(e->tag, p->named.items[i].tag, sizeof(e->tag));
        memcpy(e->digest, p->named.items[i].digest, sizeof(e->digest));
    }
    return 0;
}

int
rt_image_import(struct rt_image_store *s, const char *path, const char *name,
                struct rt_image_list *out, struct sk_err *err)
{
    struct pending p = {{NULL, 0}, NULL, 0};
    char stage[256];
    struct sk_err ignore;
    int src_fd, rc;

    if (out) {
        out->items = NULL;
        out->n = 0;
    }
    /* Shared: other imports and container starts go on; gc waits. */
    if (rt_image_lock(s, LOCK_SH, err) < 0)
        return -1;
    src_fd = import_open_source(s, path, stage, sizeof(stage), err);
    if (src_fd < 0) {
        rc = -1;
        goto out_unlock;
    }
    if (src_exists(src_fd, "manifest.json"))
        rc = docker_import(s, src_fd, &p, err);
    else if (src_exists(src_fd, "oci-layout"))
        rc = oci_import(s, src_fd, &p, err);
    else
        rc = sk_err_set(err, EINVAL, "neither an OCI image layout nor a docker save archive");
    if (rc == 0)
        rc = import_names(&p, name, err);
    if (rc == 0)
        rc = import_commit(s, &p, out, err);
    close(src_fd);
out_unlock:
    if (stage[0])
        rt_image_rmtree(s->root_fd, stage, &ignore);
    rt_image_unlock(s);
    rt_image_index_release(&p.named);
    free(p.unnamed);
    return rc < 0 ? sk_err_wrap(err, "import '%s'", path) : 0;
}
