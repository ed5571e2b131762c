#ifndef RT_IMAGE_INT_H
#define RT_IMAGE_INT_H

/* Private to the image store (runtime/image_*.c) and its unit tests. */

#include "runtime/image.h"

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

/* --- digests (image_digest.c) ---------------------------------------- */

struct rt_image_sha256; /* wraps an OpenSSL EVP_MD_CTX */

struct rt_image_sha256 *rt_image_sha256_new(void);
void rt_image_sha256_update(struct rt_image_sha256 *h, const void *data, size_t len);
/* Write "sha256:<hex>" into out and free h. */
void rt_image_sha256_final(struct rt_image_sha256 *h, char out[RT_IMAGE_DIGEST_LEN]);
void rt_image_sha256_free(struct rt_image_sha256 *h);
void rt_image_sha256_buf(const void *data, size_t len, char out[RT_IMAGE_DIGEST_LEN]);

/* True if s is "sha256:" and 64 lowercase hex digits. Other algorithms
 * are refused: the store names everything by sha256. */
int rt_image_digest_valid(const char *s);
/* The hex part of a valid digest. */
const char *rt_image_digest_hex(const char *digest);

/* --- layers (image_layer.c) ------------------------------------------ */

enum {
    /* Convert OCI whiteouts to overlayfs form and allow 0:0 char devices;
     * keep ownership and xattrs. Without it (staging an outer image
     * archive) only directories, regular files and symlinks are taken. */
    RT_IMAGE_UNPACK_LAYER = 1 << 0,
};

/* Check one archive entry path: relative, no ".." component, not empty.
 * Writes the cleaned path (no "./" prefix, no empty components, no
 * trailing "/"; "." for the root) into out. */
int rt_image_path_clean(const char *path, char *out, size_t outsz, struct sk_err *err);

/* What an entry named base (the last path component) becomes in an
 * overlayfs lowerdir: RT_WH_NONE (itself), RT_WH_FILE (".wh.<name>":
 * a 0:0 char device called <name>, written to name_out), RT_WH_OPAQUE
 * (".wh..wh..opq": mark the parent opaque), RT_WH_SKIP (other
 * ".wh..wh." entries, aufs bookkeeping). Fails on ".wh." alone. */
enum rt_image_whiteout { RT_WH_NONE, RT_WH_FILE, RT_WH_OPAQUE, RT_WH_SKIP };
int rt_image_whiteout_kind(const char *base, const char **name_out, struct sk_err *err);

/* Unpack the tar stream read from fd (any compression libarchive knows)
 * into the empty directory dest_fd. The sha256 of the uncompressed
 * stream is written to diffid (may be NULL). On failure the error names
 * the entry; the caller removes the directory. */
int rt_image_unpack(int fd, int dest_fd, unsigned flags, char *diffid, struct sk_err *err);

/* --- store internals (image_store.c) --------------------------------- */

/* Take the store lock (LOCK_SH or LOCK_EX) / drop it. */
int rt_image_lock(struct rt_image_store *s, int how, struct sk_err *err);
void rt_image_unlock(struct rt_image_store *s);
/* Serialise read-modify-write of the index (store lock held). */
int rt_image_index_lock(struct rt_image_store *s, struct sk_err *err);
void rt_image_index_unlock(struct rt_image_store *s);
/* Write pins/<id> (store lock held; id and digest checked). */
int rt_image_pin_write(struct rt_image_store *s, const char *id, const char *digest,
                       struct sk_err *err);

/* Make a fresh directory under <root>/tmp; its name (relative to root)
 * goes to out. */
int rt_image_tmpdir(struct rt_image_store *s, const char *prefix, char *out, size_t outsz,
                    struct sk_err *err);
/* Remove path (relative to dirfd) and everything below it. */
int rt_image_rmtree(int dirfd, const char *path, struct sk_err *err);

/* Copy the file src_fd into blobs/ while hashing it; fails with EBADMSG
 * when its digest is not want (want NULL: any digest, returned in got).
 * A blob already present is not copied again. */
int rt_image_blob_put_fd(struct rt_image_store *s, int src_fd, const char *want, char *got,
                         int64_t *size, struct sk_err *err);
int rt_image_blob_put_buf(struct rt_image_store *s, const void *data, size_t len, char *got,
                          struct sk_err *err);
/* Open a stored blob read-only. */
int rt_image_blob_open(struct rt_image_store *s, const char *digest, struct sk_err *err);
/* Read a stored JSON blob (checking its digest again). */
int rt_image_blob_json(struct rt_image_store *s, const char *digest, json_t **out,
                       struct sk_err *err);

/* blobs/sha256/<hex> of a digest; whether that blob is stored. */
void rt_image_blob_path(const char *digest, char *out, size_t outsz);
int rt_image_blob_exists(struct rt_image_store *s, const char *digest);
/* fsync(2) the directory dir below root_fd. */
int rt_image_fsync_dir_at(int root_fd, const char *dir, struct sk_err *err);

/* Unpack the stored layer blob into layers/<diffid hex>/ unless it is
 * already there. The uncompressed digest must equal diffid. */
int rt_image_layer_put(struct rt_image_store *s, const char *blob, const char *diffid,
                       struct sk_err *err);

/* The digests named by pins/ (for gc); free(*out). */
int rt_image_pins_read(struct rt_image_store *s, char (**out)[RT_IMAGE_DIGEST_LEN], size_t *n,
                       struct sk_err *err);

/* The reference index (<root>/index): "name:tag digest" lines. */
struct rt_image_index_entry {
    char name[RT_IMAGE_NAME_MAX + 1];
    char tag[RT_IMAGE_TAG_MAX + 1];
    char digest[RT_IMAGE_DIGEST_LEN];
};
struct rt_image_index {
    struct rt_image_index_entry *items;
    size_t n;
};
int rt_image_index_read(int root_fd, struct rt_image_index *idx, struct sk_err *err);
/* Sort, then replace the file atomically (temp + fsync + rename + fsync
 * of the directory). */
int rt_image_index_write(int root_fd, struct rt_image_index *idx, struct sk_err *err);
void rt_image_index_release(struct rt_image_index *idx);
/* Point name:tag at digest (adding or replacing the entry). */
void rt_image_index_set(struct rt_image_index *idx, const char *name, const char *tag,
                        const char *digest);

/* --- manifests and configs (image_config.c) -------------------------- */

/* A validated image manifest: config and layer blob digests. */
struct rt_image_manifest {
    char config[RT_IMAGE_DIGEST_LEN];
    int64_t config_size;
    char (*layers)[RT_IMAGE_DIGEST_LEN];
    int64_t *layer_sizes;
    size_t n_layers;
    int64_t size;
};
int rt_image_manifest_parse(json_t *m, struct rt_image_manifest *out, struct sk_err *err);
void rt_image_manifest_release(struct rt_image_manifest *m);
/* The rootfs.diff_ids of a config, checked (layer diff ids, n of them). */
int rt_image_config_diffids(json_t *config, char (**out)[RT_IMAGE_DIGEST_LEN], size_t *n,
                            struct sk_err *err);
/* Fill the config fields of info from an image config. */
int rt_image_config_fill(json_t *config, struct rt_image_info *info, struct sk_err *err);
/* Parse an RFC 3339 time into unix seconds (0 when unparsable). */
int64_t rt_image_time_parse(const char *s);

#endif
