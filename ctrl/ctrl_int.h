#ifndef SKIFF_CTRL_INT_H
#define SKIFF_CTRL_INT_H

/* ctrl's private helpers shared between its files. */

#include "ctrl/ctrl.h"

#include <stddef.h>

/* "namespace/name" of obj into key (size n); errors name the field. */
int ctrl_obj_key(const json_t *obj, char *key, size_t n, struct sk_err *err);

/* 1 when metadata.deletionTimestamp is set. */
int ctrl_obj_deleting(const json_t *obj);

/* The condition of type in conditions (array or NULL), or NULL. */
json_t *ctrl_cond_find(const json_t *conds, const char *type);

/* Set a condition in the conditions array the way Kubernetes'
 * SetDeploymentCondition / SetCondition do: nothing changes when status
 * and reason are the same; lastTransitionTime is kept when only the
 * reason changes; otherwise the old one is replaced (moved to the end)
 * with both times now. with_update adds lastUpdateTime (Deployments). */
void ctrl_cond_set(json_t *conds, const char *type, const char *status, const char *reason,
                   const char *message, int64_t now_ns, int with_update);
void ctrl_cond_remove(json_t *conds, const char *type);

/* RFC 3339 at second precision, as metav1.Time serialises. */
json_t *ctrl_time_json(int64_t now_ns);

/* Integer at path or def when missing, checked to be >= 0. */
int ctrl_get_count(const json_t *obj, const char *path, int64_t def, int64_t *out,
                   struct sk_err *err);

/* The non-negative decimal string at path (an annotation), or def when
 * missing or not such a number. */
int64_t ctrl_ann_int(const json_t *obj, const char *path, int64_t def);

#endif
