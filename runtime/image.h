#ifndef RT_IMAGE_H
#define RT_IMAGE_H

/* The image store of the container runtime: a content-addressed store of
 * OCI images under one root directory (default /var/lib/skiff/images).
 *
 * Images come in from an OCI image layout (a directory or a tar of one)
 * or from a `docker save` tar; every digest is checked on the way in.
 * Each layer is unpacked once into its own directory, already in
 * overlayfs form (whiteouts as 0:0 character devices, opaque directories
 * marked with trusted.overlay.opaque=y), so a container's rootfs is an
 * overlay mount whose lowerdirs are the layer directories that
 * rt_image_resolve() returns, top first. The on-disk layout is described
 * at the top of runtime/image_store.c and in skiff-runtime(8).
 *
 * Concurrency: every call takes a shared flock on <root>/lock except
 * rt_image_gc(), the only one that deletes anything, which takes it
 * exclusively; so imports, container starts and listings run side by
 * side, and gc waits for them. Updates of the reference index are
 * serialised by a second lock, <root>/index.lock. A layer directory
 * stays while an image references it or a pin names it (see
 * rt_image_pin()). */

#include "lib/err.h"

#include <stddef.h>
#include <stdint.h>

#define RT_IMAGE_ROOT_DEFAULT "/var/lib/skiff/images"

/* "sha256:" + 64 hex digits + NUL */
#define RT_IMAGE_DIGEST_LEN 72
#define RT_IMAGE_NAME_MAX   256
#define RT_IMAGE_TAG_MAX    128

struct rt_image_store {
    char *root;        /* absolute path of the store root */
    int root_fd;       /* O_PATH|O_DIRECTORY fd on root, -1 when closed */
    int lock_fd;       /* <root>/lock, -1 when closed */
    int index_lock_fd; /* <root>/index.lock, -1 when closed */
};

/* A parsed image reference: "name[:tag]" or "name@sha256:<hex>", or a
 * bare "sha256:<hex>" (name empty). A missing tag means "latest". */
struct rt_image_ref {
    char name[RT_IMAGE_NAME_MAX + 1];
    char tag[RT_IMAGE_TAG_MAX + 1];   /* empty when digest is set */
    char digest[RT_IMAGE_DIGEST_LEN]; /* empty unless given by digest */
};

struct rt_image_label {
    char *key;
    char *value;
};

/* Everything a container needs from an image. String arrays are
 * NULL-terminated; an array pointer is NULL when the image config does
 * not set the field (Entrypoint unset is not the same as Entrypoint []). */
struct rt_image_info {
    char digest[RT_IMAGE_DIGEST_LEN];        /* manifest digest */
    char config_digest[RT_IMAGE_DIGEST_LEN]; /* the image ID */
    char **layers;                           /* absolute layer dirs, top first */
    size_t n_layers;
    char **entrypoint;
    char **cmd;
    char **env;           /* "KEY=value" */
    char *working_dir;    /* NULL when unset */
    char *user;           /* NULL when unset */
    char **exposed_ports; /* "80/tcp" */
    struct rt_image_label *labels;
    size_t n_labels;
    char *created; /* RFC 3339 from the config, NULL when unset */
    char *os;
    char *architecture;
    int64_t size; /* bytes of the manifest's config and layer blobs */
};

/* One row of rt_image_list(). */
struct rt_image_entry {
    char name[RT_IMAGE_NAME_MAX + 1];
    char tag[RT_IMAGE_TAG_MAX + 1];
    char digest[RT_IMAGE_DIGEST_LEN]; /* manifest digest */
    int64_t size;
    int64_t created; /* unix seconds from the config's "created", 0 if none */
};

struct rt_image_list {
    struct rt_image_entry *items;
    size_t n;
};

struct rt_image_gc_stats {
    size_t blobs_removed;
    size_t layers_removed;
    int64_t bytes_freed; /* blob bytes; layer dirs are not counted */
};

/* Parse a reference (see struct rt_image_ref). Fails with EINVAL and a
 * message naming the bad part. */
int rt_image_ref_parse(const char *s, struct rt_image_ref *out, struct sk_err *err);

/* Open (creating if needed) the store at root. Removes leftovers of
 * interrupted imports (<root>/tmp) the first time it can take the lock
 * exclusively. */
int rt_image_store_open(struct rt_image_store *s, const char *root, struct sk_err *err);
void rt_image_store_release(struct rt_image_store *s);

/* Import every image found at path: an OCI layout directory, a tar of
 * one, or a `docker save` tar. name (may be NULL) overrides the names in
 * the archive; it is then only allowed when the archive holds one image.
 * The references given to the imported images (name:tag) are returned in
 * *out when out is not NULL (release with rt_image_list_release()). On
 * any failure nothing becomes visible: no reference is written, and a
 * partly unpacked layer is removed. */
int rt_image_import(struct rt_image_store *s, const char *path, const char *name,
                    struct rt_image_list *out, struct sk_err *err);

/* Look ref up and fill out (release with rt_image_info_release()).
 * ENOENT when the reference is unknown. */
int rt_image_resolve(struct rt_image_store *s, const char *ref, struct rt_image_info *out,
                     struct sk_err *err);
void rt_image_info_release(struct rt_image_info *info);

/* All references, sorted by name then tag. */
int rt_image_list(struct rt_image_store *s, struct rt_image_list *out, struct sk_err *err);
void rt_image_list_release(struct rt_image_list *list);

/* Remove a reference ("name:tag"), or every reference to a digest
 * ("sha256:<hex>" or "name@sha256:<hex>"). Blobs and layers stay until
 * rt_image_gc(). ENOENT when nothing matched. */
int rt_image_remove(struct rt_image_store *s, const char *ref, struct sk_err *err);

/* Delete blobs and layer directories that no reference and no pin reach.
 * stats may be NULL. */
int rt_image_gc(struct rt_image_store *s, struct rt_image_gc_stats *stats, struct sk_err *err);

/* rt_image_resolve() and rt_image_pin(id) in one step, so that no gc can
 * run between them: what a runtime calls before mounting a rootfs. A
 * NULL id resolves without pinning (that is rt_image_resolve()). */
int rt_image_resolve_pinned(struct rt_image_store *s, const char *ref, const char *id,
                            struct rt_image_info *out, struct sk_err *err);

/* Keep the image with manifest digest alive for a user (a container id,
 * [A-Za-z0-9_.-]+) even if its reference is removed, so gc never deletes
 * layers under a mounted rootfs. Unpin when the container is deleted;
 * unpinning an unknown id is not an error. */
int rt_image_pin(struct rt_image_store *s, const char *id, const char *digest, struct sk_err *err);
int rt_image_unpin(struct rt_image_store *s, const char *id, struct sk_err *err);

/* The inspect document of ref as a JSON string (free() it). */
int rt_image_inspect(struct rt_image_store *s, const char *ref, char **json, struct sk_err *err);

/* `skiff-runtime image ...`: argv[0] is "image", argv[1] the verb
 * (import, list, rm, gc, inspect). root is the store root (NULL: the
 * $SKIFF_IMAGE_ROOT environment variable, else RT_IMAGE_ROOT_DEFAULT).
 * Prints results on stdout, errors on stderr ("skiff-runtime: ...").
 * Returns the exit status: 0 success, 1 failure (usage errors too). */
int rt_image_cli(int argc, char **argv, const char *root);

#endif
