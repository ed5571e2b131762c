/* Scheduling constraints of a pod spec: tolerations and affinity, as
 * Kubernetes's validateTolerations and validateAffinity check them. */
#include "validate_int.h"

#include <string.h>

static const char *const effects[] = {"NoSchedule", "PreferNoSchedule", "NoExecute", NULL};
static const char *const node_ops[] = {"In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt", NULL};

static void
v_toleration_operator(struct vctx *v, const json_t *t, const char *op, const char *value)
{
    struct sk_err err;

    sk_err_init(&err);
    if (!op || !*op || !strcmp(op, "Equal")) {
        if (value && ext_label_value_valid(value, &err) < 0)
            v_err_str(v, API_FE_INVALID, "operator", value, "%s", err.msg);
    } else if (!strcmp(op, "Exists")) {
        if (value && *value)
            v_err(v, API_FE_INVALID, "operator", t,
                  "value must be empty when `operator` is 'Exists'");
    } else {
        v_not_supported(v, "operator", op, (const char *const[]){"Equal", "Exists", NULL});
    }
}

static void
v_toleration(struct vctx *v, const json_t *t)
{
    const char *key = v_str(v, t, "key"), *op = v_str(v, t, "operator");
    const char *value = v_str(v, t, "value"), *effect;
    struct sk_err err;
    int64_t secs;

    sk_err_init(&err);
    if (key && *key && ext_label_key_valid(key, &err) < 0)
        v_err_str(v, API_FE_INVALID, "key", key, "%s", err.msg);
    if ((!key || !*key) && (!op || strcmp(op, "Exists")))
        v_err_str(v, API_FE_INVALID, "operator", op ? op : "",
                  "operator must be Exists when `key` is empty, which means \"match all values "
                  "and all keys\"");
    effect = v_enum(v, t, "effect", effects, false);
    if (v_int64(v, t, "tolerationSeconds", &secs) && (!effect || strcmp(effect, "NoExecute")))
        v_err_str(v, API_FE_INVALID, "effect", effect ? effect : "",
                  "effect must be 'NoExecute' when `tolerationSeconds` is set");
    v_toleration_operator(v, t, op, value);
}

void
v_tolerations(struct vctx *v, const json_t *spec)
{
    json_t *list = v_arr(v, spec, "tolerations"), *t;
    size_t mark = vpath_child(v, "tolerations"), imark;

    for (size_t i = 0; i < json_array_size(list); i++) {
        if (!(t = v_elem_obj(v, list, i)))
            continue;
        imark = vpath_index(v, i);
        v_toleration(v, t);
        vpath_pop(v, imark);
    }
    vpath_pop(v, mark);
}

/* ---- node affinity ---- */

static void
v_node_requirement(struct vctx *v, const json_t *req, bool field)
{
    const char *op, *key = v_str(v, req, "key");
    json_t *values = v_str_list(v, req, "values");
    size_t n = json_array_size(values);
    struct sk_err err;

    sk_err_init(&err);
    if (!key || !*key)
        v_err(v, API_FE_REQUIRED, "key", NULL, NULL);
    else if (!field && ext_label_key_valid(key, &err) < 0)
        v_err_str(v, API_FE_INVALID, "key", key, "%s", err.msg);
    op = v_enum(v, req, "operator", node_ops, true);
    if (!op)
        return;
    if ((!strcmp(op, "In") || !strcmp(op, "NotIn")) && n == 0)
        v_err(v, API_FE_REQUIRED, "values", NULL,
              "must be specified when `operator` is 'In' or 'NotIn'");
    else if ((!strcmp(op, "Exists") || !strcmp(op, "DoesNotExist")) && n > 0)
        v_err(v, API_FE_FORBIDDEN, "values", NULL,
              "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
    else if ((!strcmp(op, "Gt") || !strcmp(op, "Lt")) && n != 1)
        v_err(v, API_FE_REQUIRED, "values", NULL,
              "must be specified single value when `operator` is 'Lt' or 'Gt'");
}

static void
v_node_selector_term(struct vctx *v, const json_t *term)
{
    static const char *const lists[] = {"matchExpressions", "matchFields"};
    json_t *reqs, *req;
    size_t mark, imark;

    for (size_t l = 0; l < 2; l++) {
        reqs = v_arr(v, term, lists[l]);
        mark = vpath_child(v, lists[l]);
        for (size_t i = 0; i < json_array_size(reqs); i++) {
            if (!(req = v_elem_obj(v, reqs, i)))
                continue;
            imark = vpath_index(v, i);
            v_node_requirement(v, req, l == 1);
            vpath_pop(v, imark);
        }
        vpath_pop(v, mark);
    }
}

static void
v_weight(struct vctx *v, const json_t *pref)
{
    int64_t w;

    if (!v_int(v, pref, "weight", &w)) {
        if (!json_object_get(pref, "weight"))
            v_err_int(v, API_FE_INVALID, "weight", 0, "must be in the range 1-100");
        return;
    }
    if (w < 1 || w > 100)
        v_err_int(v, API_FE_INVALID, "weight", w, "must be in the range 1-100");
}

/* A validator of one term (a node selector term, a pod affinity term). */
typedef void v_term_fn(struct vctx *v, const json_t *term);

/* Every element of arr, at the current path, an object checked by fn. */
static void
v_each_term(struct vctx *v, const json_t *arr, v_term_fn *fn)
{
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *t = v_elem_obj(v, arr, i);
        size_t imark;

        if (!t)
            continue;
        imark = vpath_index(v, i);
        fn(v, t);
        vpath_pop(v, imark);
    }
}

/* preferredDuringSchedulingIgnoredDuringExecution: each element a weight
 * and the term under key, checked by fn. */
static void
v_weighted_terms(struct vctx *v, const json_t *prefs, const char *key, v_term_fn *fn)
{
    size_t mark = vpath_child(v, "preferredDuringSchedulingIgnoredDuringExecution");

    for (size_t i = 0; i < json_array_size(prefs); i++) {
        const json_t *t = v_elem_obj(v, prefs, i), *term;
        size_t imark;

        if (!t)
            continue;
        imark = vpath_index(v, i);
        v_weight(v, t);
        if (!(term = v_obj(v, t, key)))
            v_err(v, API_FE_REQUIRED, key, NULL, NULL);
        vpath_child(v, key);
        if (term)
            fn(v, term);
        vpath_pop(v, imark);
    }
    vpath_pop(v, mark);
}

static void
v_node_affinity(struct vctx *v, const json_t *na)
{
    json_t *req = v_obj(v, na, "requiredDuringSchedulingIgnoredDuringExecution");
    json_t *terms, *prefs = v_arr(v, na, "preferredDuringSchedulingIgnoredDuringExecution");
    size_t mark;

    if (req) {
        mark = vpath_child(v, "requiredDuringSchedulingIgnoredDuringExecution");
        terms = v_arr(v, req, "nodeSelectorTerms");
        if (json_array_size(terms) == 0)
            v_err(v, API_FE_REQUIRED, "nodeSelectorTerms", NULL,
                  "must have at least one node selector term");
        vpath_child(v, "nodeSelectorTerms");
        v_each_term(v, terms, v_node_selector_term);
        vpath_pop(v, mark);
    }
    v_weighted_terms(v, prefs, "preference", v_node_selector_term);
}

/* ---- pod (anti-)affinity ---- */

static void
v_pod_affinity_term(struct vctx *v, const json_t *term)
{
    const char *tk = v_str(v, term, "topologyKey");
    struct sk_err err;

    sk_err_init(&err);
    if (!tk || !*tk)
        v_err(v, API_FE_REQUIRED, "topologyKey", NULL, "can not be empty");
    else if (ext_label_key_valid(tk, &err) < 0)
        v_err_str(v, API_FE_INVALID, "topologyKey", tk, "%s", err.msg);
    v_label_selector(v, term, "labelSelector");
    v_label_selector(v, term, "namespaceSelector");
    v_str_list(v, term, "namespaces");
}

static void
v_pod_affinity(struct vctx *v, const json_t *pa)
{
    json_t *req = v_arr(v, pa, "requiredDuringSchedulingIgnoredDuringExecution");
    json_t *prefs = v_arr(v, pa, "preferredDuringSchedulingIgnoredDuringExecution");
    size_t mark = vpath_child(v, "requiredDuringSchedulingIgnoredDuringExecution");

    v_each_term(v, req, v_pod_affinity_term);
    vpath_pop(v, mark);
    v_weighted_terms(v, prefs, "podAffinityTerm", v_pod_affinity_term);
}

void
v_affinity(struct vctx *v, const json_t *spec)
{
    json_t *aff = v_obj(v, spec, "affinity"), *part;
    size_t mark, pmark;

    if (!aff)
        return;
    mark = vpath_child(v, "affinity");
    if ((part = v_obj(v, aff, "nodeAffinity"))) {
        pmark = vpath_child(v, "nodeAffinity");
        v_node_affinity(v, part);
        vpath_pop(v, pmark);
    }
    if ((part = v_obj(v, aff, "podAffinity"))) {
        pmark = vpath_child(v, "podAffinity");
        v_pod_affinity(v, part);
        vpath_pop(v, pmark);
    }
    if ((part = v_obj(v, aff, "podAntiAffinity"))) {
        pmark = vpath_child(v, "podAntiAffinity");
        v_pod_affinity(v, part);
        vpath_pop(v, pmark);
    }
    vpath_pop(v, mark);
}
