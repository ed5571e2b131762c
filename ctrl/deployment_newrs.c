/* The new ReplicaSet of a Deployment (Kubernetes' getNewReplicaSet in
 * pkg/controller/deployment/sync.go): the oldest ReplicaSet whose
 * template equals the Deployment's (ignoring the hash label), or a new
 * one named "<deployment>-<pod-template-hash>" with revision max+1. */

#include "ctrl/deployment_int.h"
#include "lib/alloc.h"
#include "lib/json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const no_copy_annotations[] = {
    "kubectl.kubernetes.io/last-applied-configuration",
    CTRL_ANN_REVISION,
    "deployment.kubernetes.io/revision-history",
    CTRL_ANN_DESIRED,
    CTRL_ANN_MAX,
    "deprecated.deployment.rollback.to",
};

static json_t *
annotations_of(json_t *obj)
{
    json_t *meta = json_object_get(obj, "metadata"), *ann;

    ann = json_object_get(meta, "annotations");
    if (!json_is_object(ann)) {
        ann = json_object();
        json_object_set_new(meta, "annotations", ann);
    }
    return ann;
}

/* Set key to the decimal value; 1 if it changed. */
static int
ann_set_int(json_t *ann, const char *key, int64_t v)
{
    char buf[32];
    const char *cur = json_string_value(json_object_get(ann, key));

    snprintf(buf, sizeof(buf), "%lld", (long long)v);
    if (cur && strcmp(cur, buf) == 0)
        return 0;
    json_object_set_new(ann, key, json_string(buf));
    return 1;
}

static int
replicas_annotations(struct dctx *c, struct drs *r)
{
    json_t *ann = annotations_of(r->obj);
    int changed = ann_set_int(ann, CTRL_ANN_DESIRED, c->replicas);

    return ann_set_int(ann, CTRL_ANN_MAX, c->replicas + dctx_max_surge(c)) || changed;
}

int
drs_scale(struct dctx *c, struct drs *r, int64_t replicas, int always_annotate)
{
    int changed;

    if (!always_annotate && r->replicas == replicas)
        return 0;
    changed = replicas_annotations(c, r);
    if (r->replicas != replicas) {
        json_object_set_new(json_object_get(r->obj, "spec"), "replicas", json_integer(replicas));
        r->replicas = replicas;
        changed = 1;
    }
    if (changed && !r->create)
        r->update = 1;
    return changed;
}

/* Drop the hash label, and labels left empty by that: Kubernetes'
 * semantic equality holds an empty map equal to none. */
static void
drop_hash_label(json_t *tmpl)
{
    json_t *meta = json_object_get(tmpl, "metadata");
    json_t *l = json_object_get(meta, "labels");

    json_object_del(l, CTRL_LABEL_HASH);
    if (json_is_object(l) && json_object_size(l) == 0)
        json_object_del(meta, "labels");
}

int
ctrl_template_equal(const json_t *a, const json_t *b)
{
    json_t *x = json_deep_copy(a), *y = json_deep_copy(b);
    int eq;

    drop_hash_label(x);
    drop_hash_label(y);
    eq = json_equal(x, y);
    json_decref(x);
    json_decref(y);
    return eq;
}

static int
age_cmp(const struct drs *a, const struct drs *b)
{
    if (a->created != b->created)
        return a->created < b->created ? -1 : 1;
    return strcmp(a->name ? a->name : "", b->name ? b->name : "");
}

void
dctx_sort_by_age(struct dctx *c, size_t *idx, size_t n)
{
    size_t i, j;

    /* Insertion sort: a Deployment has a handful of ReplicaSets. */
    for (i = 1; i < n; i++) {
        size_t v = idx[i];

        for (j = i; j > 0 && age_cmp(&c->rs[idx[j - 1]], &c->rs[v]) > 0; j--)
            idx[j] = idx[j - 1];
        idx[j] = v;
    }
}

/* Kubernetes' SetNewReplicaSetAnnotations: copy the Deployment's own
 * annotations, raise the revision, and on creation the replica counts. */
static int
new_rs_annotations(struct dctx *c, struct drs *r, int64_t revision, int exists)
{
    json_t *ann = annotations_of(r->obj), *v;
    const char *k;
    int changed = 0;
    size_t i;

    json_object_foreach (c->annotations, k, v) {
        for (i = 0; i < sizeof(no_copy_annotations) / sizeof(*no_copy_annotations); i++)
            if (strcmp(k, no_copy_annotations[i]) == 0)
                break;
        if (i < sizeof(no_copy_annotations) / sizeof(*no_copy_annotations) ||
            json_equal(json_object_get(ann, k), v))
            continue;
        json_object_set(ann, k, v);
        changed = 1;
    }
    if (r->revision < revision) {
        ann_set_int(ann, CTRL_ANN_REVISION, revision);
        r->revision = revision;
        changed = 1;
    }
    if (!exists)
        changed = replicas_annotations(c, r) || changed;
    return changed;
}

int64_t
dctx_new_rs_replicas(struct dctx *c, struct drs *r)
{
    int64_t total, up;

    if (c->recreate)
        return c->replicas;
    total = c->replicas + dctx_max_surge(c);
    if (drs_sum(c, SUM_SPEC, 1) >= total)
        return r->replicas;
    up = total - drs_sum(c, SUM_SPEC, 1);
    if (up > c->replicas - r->replicas)
        up = c->replicas - r->replicas;
    return r->replicas + up;
}

static void
progressing_found(struct dctx *c, const char *reason, const char *verb, const char *name)
{
    json_t *conds = json_object_get(c->status, "conditions");
    char msg[300];

    if (c->deadline < 0)
        return;
    if (strcmp(reason, "FoundNewReplicaSet") == 0 && ctrl_cond_find(conds, "Progressing"))
        return;
    snprintf(msg, sizeof(msg), "%s new replica set \"%s\"", verb, name);
    ctrl_cond_set(conds, "Progressing", "True", reason, msg, c->now, 1);
}

static int64_t
max_old_revision(struct dctx *c)
{
    int64_t max = 0;
    size_t i;

    for (i = 0; i < c->nrs; i++)
        if ((long)i != c->newi && c->rs[i].revision > max)
            max = c->rs[i].revision;
    return max;
}

static void
existing_new_rs(struct dctx *c)
{
    struct drs *r = &c->rs[c->newi];
    int64_t mrs = 0;
    int changed = new_rs_annotations(c, r, max_old_revision(c) + 1, 1);

    sk_json_opt_int(r->obj, "spec.minReadySeconds", 0, &mrs, NULL);
    if (mrs != c->min_ready) {
        json_object_set_new(json_object_get(r->obj, "spec"), "minReadySeconds",
                            json_integer(c->min_ready));
        changed = 1;
    }
    if (changed)
        r->update = 1;
    ann_set_int(c->annotations, CTRL_ANN_REVISION, r->revision);
    progressing_found(c, "FoundNewReplicaSet", "Found", r->name);
}

/* The new ReplicaSet's object: the template with the hash label, the
 * selector narrowed by it, owned by the Deployment, 0 replicas. */
static int
build_rs(struct dctx *c, const char *hash, json_t **out, struct sk_err *err)
{
    const char *dname = json_string_value(sk_json_get(c->deploy, "metadata.name"));
    const char *ns = json_string_value(sk_json_get(c->deploy, "metadata.namespace"));
    json_t *tmpl = json_deep_copy(c->tmpl), *sel, *ref, *labels;
    int rc;

    rc = ctrl_owner_ref_build(c->deploy, "apps/v1", "Deployment", &ref, err);
    if (rc < 0) {
        json_decref(tmpl);
        return rc;
    }
    sk_json_set(tmpl, "metadata.labels[\"" CTRL_LABEL_HASH "\"]", json_string(hash), NULL);
    sel = json_deep_copy(sk_json_get(c->deploy, "spec.selector"));
    sk_json_set(sel, "matchLabels[\"" CTRL_LABEL_HASH "\"]", json_string(hash), NULL);
    labels = json_deep_copy(sk_json_get(tmpl, "metadata.labels"));
    *out = json_pack("{s:s, s:s, s:{s:s++, s:s, s:o, s:o}, s:{s:i, s:I, s:o, s:o}}", "apiVersion",
                     "apps/v1", "kind", "ReplicaSet", "metadata", "name", dname, "-", hash,
                     "namespace", ns ? ns : "default", "labels", labels, "ownerReferences",
                     json_pack("[o]", ref), "spec", "replicas", 0, "minReadySeconds",
                     (json_int_t)c->min_ready, "selector", sel, "template", tmpl);
    return 0;
}

/* Another ReplicaSet already has the name: Kubernetes bumps
 * status.collisionCount so the next hash differs. */
static int
name_taken(struct dctx *c, const char *name)
{
    json_t *rs;
    size_t i;

    json_array_foreach (c->rss, i, rs) {
        const char *n = json_string_value(sk_json_get(rs, "metadata.name"));

        if (n && strcmp(n, name) == 0)
            return 1;
    }
    return 0;
}

static int
create_new_rs(struct dctx *c, struct sk_err *err)
{
    char hash[CTRL_HASH_MAX];
    struct drs *r;
    json_t *obj;
    int64_t rev = max_old_revision(c) + 1;
    int rc;

    rc = ctrl_pod_template_hash(c->tmpl, c->collision, hash, err);
    if (rc >= 0)
        rc = build_rs(c, hash, &obj, err);
    if (rc < 0)
        return rc;
    if (name_taken(c, json_string_value(sk_json_get(obj, "metadata.name")))) {
        c->collision = c->collision < 0 ? 1 : c->collision + 1;
        json_object_set_new(c->status, "collisionCount", json_integer(c->collision));
        json_decref(obj);
        return 0;
    }
    r = &c->rs[c->nrs];
    memset(r, 0, sizeof(*r));
    r->obj = obj;
    r->name = json_string_value(sk_json_get(obj, "metadata.name"));
    r->created = c->now;
    r->create = 1;
    c->newi = (long)c->nrs++;
    new_rs_annotations(c, r, rev, 0);
    drs_scale(c, r, dctx_new_rs_replicas(c, r), 1);
    ann_set_int(c->annotations, CTRL_ANN_REVISION, rev);
    progressing_found(c, "NewReplicaSetCreated", "Created", r->name);
    return 0;
}

int
dctx_new_rs(struct dctx *c, int create, struct sk_err *err)
{
    size_t *idx = sk_calloc(c->nrs + 1, sizeof(*idx)), n = 0, i;

    for (i = 0; i < c->nrs; i++)
        if (!c->rs[i].del)
            idx[n++] = i;
    dctx_sort_by_age(c, idx, n);
    c->newi = -1;
    for (i = 0; i < n && c->newi < 0; i++)
        if (ctrl_template_equal(sk_json_get(c->rs[idx[i]].obj, "spec.template"), c->tmpl))
            c->newi = (long)idx[i];
    free(idx);
    if (c->newi >= 0) {
        existing_new_rs(c);
        return 0;
    }
    return create ? create_new_rs(c, err) : 0;
}
