#ifndef KL_INT_H
#define KL_INT_H

/* Private helpers of kubelet/: string vectors and typed field access
 * that names the full field path in errors ("spec.containers[0].env[1].
 * name: must be a string"). JSON null counts as missing, as in the API. */

#include "kubelet/kubelet.h"

#include <sys/types.h>

struct kl_strv {
    char **v;
    size_t n, cap;
};

void kl_strv_push(struct kl_strv *s, char *owned);

/* The per-pod and per-container messages (a waiting reason's message,
 * the last sandbox or volume error): allocated to size rather than a
 * 512-byte array each, three per one-container pod (issue 7). *dst
 * becomes a copy of the first KL_MSG_MAX - 1 bytes of src, NULL when
 * src is NULL or empty; kl_msg reads one ("" for NULL). */
#define KL_MSG_MAX 512
void kl_msg_set(char **dst, const char *src);
const char *kl_msg(const char *msg);
void kl_strv_release(struct kl_strv *s);

/* Optional member key of obj (obj itself at path base): 1 and *out NULL
 * when missing/null, 0 when present, <0 on a wrong type. */
int kl_opt_str(const json_t *obj, const char *base, const char *key, const char **out,
               struct sk_err *err);
int kl_opt_int(const json_t *obj, const char *base, const char *key, int64_t def, int64_t *out,
               struct sk_err *err);
int kl_opt_bool(const json_t *obj, const char *base, const char *key, int def, int *out,
                struct sk_err *err);
int kl_opt_obj(const json_t *obj, const char *base, const char *key, const json_t **out,
               struct sk_err *err);
int kl_opt_arr(const json_t *obj, const char *base, const char *key, const json_t **out,
               struct sk_err *err);
/* Required string: missing is "<base>.<key>: required". */
int kl_req_str(const json_t *obj, const char *base, const char *key, const char **out,
               struct sk_err *err);

/* The container object spec.containers[i] (or initContainers) and its
 * path; -ENOENT/-EINVAL with the path when missing or not an object. */
int kl_pod_container(const json_t *pod, int init, size_t index, const json_t **ctr, char *path,
                     size_t pathsz, struct sk_err *err);

/* A probe's or hook's port v (a number, or a name looked up in the
 * container's ports) into *port; errors name path.port. */
int kl_port_resolve(const json_t *ctr, const json_t *v, const char *path, int *port,
                    struct sk_err *err);

/* Find the object named name in an array of API objects (NULL: none). */
const json_t *kl_find_named(const json_t *arr, const char *name);

/* Decode base64 (standard alphabet, padding optional); malloc'd, NUL-
 * terminated, length in *len. -EINVAL on bad input. */
int kl_base64_decode(const char *in, char **out, size_t *len);

/* podspec_sec.c: securityContext onto spec; *privileged is set. */
int kl_podspec_security(const struct kl_podspec_in *in, const json_t *ctr, const char *path,
                        struct rt_spec *spec, int *privileged, struct sk_err *err);
/* podspec_mounts.c: volumeMounts and the pod's generated files. */
int kl_podspec_mounts(const struct kl_podspec_in *in, const json_t *ctr, const char *path,
                      int privileged, struct rt_spec *spec, struct sk_err *err);
void kl_spec_add_mount(struct rt_spec *spec, const char *dest, const char *type, const char *src,
                       unsigned long flags, const char *data, int bind, unsigned long prop);
/* True if the path is absolute-or-relative as asked and has no ".."
 * component (and no empty name). */
bool kl_path_clean(const char *p, bool absolute);

/* podfiles.c: mkdir -p; write a file atomically (tmp + rename). */
int kl_mkdir_p(const char *path, mode_t mode, struct sk_err *err);
int kl_write_file(const char *path, const void *data, size_t len, mode_t mode, struct sk_err *err);

#endif
