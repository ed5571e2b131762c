/* Parsing spec.affinity (node affinity, pod affinity and anti-affinity)
 * and spec.topologySpreadConstraints of a Pod, validated as the API
 * server's validation would, so a malformed term is an error naming its
 * field rather than a silently ignored constraint. */
#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/json.h"
#include "sched/sched_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NODE_AFF    "spec.affinity.nodeAffinity"
#define REQUIRED    "requiredDuringSchedulingIgnoredDuringExecution"
#define PREFERRED   "preferredDuringSchedulingIgnoredDuringExecution"
#define PATH_MAX_SK 512

static int
parse_op(const char *s, bool field, enum sk_selector_op *op)
{
    static const struct {
        const char *name;
        enum sk_selector_op op;
        bool field_ok;
    } ops[] = {
        {"In", SK_SELECTOR_IN, true},          {"NotIn", SK_SELECTOR_NOT_IN, true},
        {"Exists", SK_SELECTOR_EXISTS, false}, {"DoesNotExist", SK_SELECTOR_DOES_NOT_EXIST, false},
        {"Gt", SK_SELECTOR_GT, false},         {"Lt", SK_SELECTOR_LT, false},
    };

    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        if (strcmp(s, ops[i].name) == 0 && (!field || ops[i].field_ok)) {
            *op = ops[i].op;
            return 0;
        }
    }
    return -1;
}

static int
parse_values(const json_t *obj, const char *base, struct sched_node_req *r, struct sk_err *err)
{
    json_t *arr, *v;
    size_t i;

    if (sched_path_get(obj, SCHED_GET_ARRAY, NULL, &arr, err, "%s.values", base) < 0)
        return -EINVAL;
    r->nvalues = arr ? json_array_size(arr) : 0;
    r->values = r->nvalues ? sk_calloc(r->nvalues, sizeof(*r->values)) : NULL;
    json_array_foreach (arr, i, v) {
        if (!json_is_string(v))
            return sk_err_set(err, EINVAL, "%s.values[%zu]: must be a string", base, i);
        r->values[i] = json_string_value(v);
    }
    return 0;
}

/* Kubernetes' validation of a NodeSelectorRequirement's values. */
static int
check_values(const char *base, struct sched_node_req *r, struct sk_err *err)
{
    char *end;

    switch (r->op) {
    case SK_SELECTOR_IN:
    case SK_SELECTOR_NOT_IN:
        if (r->nvalues == 0)
            return sk_err_set(err, EINVAL, "%s.values: must be specified for operator In/NotIn",
                              base);
        return 0;
    case SK_SELECTOR_EXISTS:
    case SK_SELECTOR_DOES_NOT_EXIST:
        if (r->nvalues != 0)
            return sk_err_set(err, EINVAL,
                              "%s.values: may not be specified for operator Exists/DoesNotExist",
                              base);
        return 0;
    default:
        break;
    }
    if (r->nvalues != 1)
        return sk_err_set(err, EINVAL, "%s.values: must have one element for operator Gt/Lt", base);
    errno = 0;
    r->num = strtoll(r->values[0], &end, 10);
    if (errno || end == r->values[0] || *end)
        return sk_err_set(err, EINVAL, "%s.values[0]: must be an integer for operator Gt/Lt", base);
    return 0;
}

static int
parse_node_req(const json_t *obj, const char *base, bool field, struct sched_node_req *r,
               struct sk_err *err)
{
    const char *op;

    if (!json_is_object(sk_json_get(obj, base)))
        return sk_err_set(err, EINVAL, "%s: must be an object", base);
    r->field = field;
    if (sched_path_get(obj, SCHED_GET_STRING, "", &r->key, err, "%s.key", base) < 0 ||
        sched_path_get(obj, SCHED_GET_STRING, "", &op, err, "%s.operator", base) < 0 ||
        parse_values(obj, base, r, err) < 0)
        return -EINVAL;
    if (!*r->key)
        return sk_err_set(err, EINVAL, "%s.key: required", base);
    if (field && strcmp(r->key, "metadata.name") != 0)
        return sk_err_set(err, EINVAL, "%s.key: unsupported field '%s' (metadata.name)", base,
                          r->key);
    if (parse_op(op, field, &r->op) < 0)
        return sk_err_set(err, EINVAL, "%s.operator: unsupported value '%s'", base, op);
    return check_values(base, r, err);
}

static int
parse_node_term(const json_t *obj, const char *base, struct sched_node_term *t, struct sk_err *err)
{
    static const char *const lists[] = {"matchExpressions", "matchFields"};

    if (!json_is_object(sk_json_get(obj, base)))
        return sk_err_set(err, EINVAL, "%s: must be an object", base);
    for (size_t l = 0; l < 2; l++) {
        json_t *arr;
        size_t n;

        if (sched_path_get(obj, SCHED_GET_ARRAY, NULL, &arr, err, "%s.%s", base, lists[l]) < 0)
            return -EINVAL;
        n = arr ? json_array_size(arr) : 0;
        if (n == 0)
            continue;
        t->reqs = sk_reallocarray(t->reqs, t->nreqs + n, sizeof(*t->reqs));
        memset(t->reqs + t->nreqs, 0, n * sizeof(*t->reqs));
        for (size_t i = 0; i < n; i++) {
            char path[PATH_MAX_SK];

            sk_snprintf(path, sizeof(path), "%s.%s[%zu]", base, lists[l], i);
            t->nreqs++;
            if (parse_node_req(obj, path, l == 1, &t->reqs[t->nreqs - 1], err) < 0)
                return -EINVAL;
        }
    }
    return 0;
}

static void
release_node_term(struct sched_node_term *t)
{
    for (size_t i = 0; i < t->nreqs; i++)
        free(t->reqs[i].values);
    free(t->reqs);
}

static int
parse_required_node(struct sched_pod *p, struct sk_err *err)
{
    json_t *req, *terms;
    size_t n;

    if (sched_path_get(p->obj, SCHED_GET_OBJECT, NULL, &req, err, NODE_AFF "." REQUIRED) < 0)
        return -EINVAL;
    if (!req)
        return 0;
    p->has_required_node_affinity = true;
    if (sched_path_get(p->obj, SCHED_GET_ARRAY, NULL, &terms, err,
                       NODE_AFF "." REQUIRED ".nodeSelectorTerms") < 0)
        return -EINVAL;
    n = terms ? json_array_size(terms) : 0;
    p->required.terms = n ? sk_calloc(n, sizeof(*p->required.terms)) : NULL;
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX_SK];

        sk_snprintf(path, sizeof(path), NODE_AFF "." REQUIRED ".nodeSelectorTerms[%zu]", i);
        p->required.nterms++;
        if (parse_node_term(p->obj, path, &p->required.terms[i], err) < 0)
            return -EINVAL;
    }
    return 0;
}

static int
parse_weight(const json_t *obj, const char *base, int64_t *w, struct sk_err *err)
{
    if (sched_path_get(obj, SCHED_GET_INT, NULL, w, err, "%s.weight", base) < 0)
        return -EINVAL;
    if (*w < 1 || *w > 100)
        return sk_err_set(err, EINVAL, "%s.weight: must be in the range 1-100", base);
    return 0;
}

static int
parse_preferred_node(struct sched_pod *p, struct sk_err *err)
{
    json_t *arr;
    size_t n;

    if (sched_path_get(p->obj, SCHED_GET_ARRAY, NULL, &arr, err, NODE_AFF "." PREFERRED) < 0)
        return -EINVAL;
    n = arr ? json_array_size(arr) : 0;
    if (n == 0)
        return 0;
    p->preferred = sk_calloc(n, sizeof(*p->preferred));
    p->preferred_weights = sk_calloc(n, sizeof(*p->preferred_weights));
    for (size_t i = 0; i < n; i++) {
        char base[PATH_MAX_SK], path[PATH_MAX_SK];

        sk_snprintf(base, sizeof(base), NODE_AFF "." PREFERRED "[%zu]", i);
        sk_snprintf(path, sizeof(path), "%s.preference", base);
        p->npreferred++;
        if (!json_is_object(sk_json_get(p->obj, base)))
            return sk_err_set(err, EINVAL, "%s: must be an object", base);
        if (parse_weight(p->obj, base, &p->preferred_weights[i], err) < 0 ||
            parse_node_term(p->obj, path, &p->preferred[i], err) < 0)
            return -EINVAL;
    }
    return 0;
}

static int
parse_namespaces(const json_t *obj, const char *base, struct sched_pod_term *t, struct sk_err *err)
{
    json_t *arr, *v, *nssel;
    size_t i;

    if (sched_path_get(obj, SCHED_GET_ARRAY, NULL, &arr, err, "%s.namespaces", base) < 0 ||
        sched_path_get(obj, SCHED_GET_OBJECT, NULL, &nssel, err, "%s.namespaceSelector", base) < 0)
        return -EINVAL;
    t->nnamespaces = arr ? json_array_size(arr) : 0;
    t->namespaces = t->nnamespaces ? sk_calloc(t->nnamespaces, sizeof(char *)) : NULL;
    json_array_foreach (arr, i, v) {
        if (!json_is_string(v))
            return sk_err_set(err, EINVAL, "%s.namespaces[%zu]: must be a string", base, i);
        t->namespaces[i] = json_string_value(v);
    }
    if (nssel) {
        struct sk_selector sel;
        char path[PATH_MAX_SK];
        int rc;

        /* Namespace labels are not known to the pure core: {} selects
         * every namespace, a non-empty selector none beyond the list. */
        sk_snprintf(path, sizeof(path), "%s.namespaceSelector", base);
        rc = sk_selector_from_json(nssel, &sel, path, err);
        t->ns_selector = true;
        t->all_namespaces = rc == 0 && sk_selector_empty(&sel);
        sk_selector_release(&sel);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int
parse_pod_term(const json_t *obj, const char *base, struct sched_pod_term *t, struct sk_err *err)
{
    char path[PATH_MAX_SK];
    json_t *sel;

    sk_selector_init(&t->sel);
    t->weight = 1;
    if (!json_is_object(sk_json_get(obj, base)))
        return sk_err_set(err, EINVAL, "%s: must be an object", base);
    if (sched_path_get(obj, SCHED_GET_STRING, "", &t->topology_key, err, "%s.topologyKey", base) <
            0 ||
        sched_path_get(obj, SCHED_GET_OBJECT, NULL, &sel, err, "%s.labelSelector", base) < 0)
        return -EINVAL;
    if (!*t->topology_key)
        return sk_err_set(err, EINVAL, "%s.topologyKey: required", base);
    sk_snprintf(path, sizeof(path), "%s.labelSelector", base);
    if (sk_selector_from_json(sel, &t->sel, path, err) < 0)
        return -EINVAL;
    return parse_namespaces(obj, base, t, err);
}

/* One list of spec.affinity.<kind>.<when>: required terms are
 * PodAffinityTerms, preferred ones {weight, podAffinityTerm}. */
static int
parse_pod_terms(struct sched_pod *p, const char *kind, bool preferred, struct sched_pod_term **out,
                size_t *nout, struct sk_err *err)
{
    const char *when = preferred ? PREFERRED : REQUIRED;
    json_t *arr;
    size_t n;

    if (sched_path_get(p->obj, SCHED_GET_ARRAY, NULL, &arr, err, "spec.affinity.%s.%s", kind,
                       when) < 0)
        return -EINVAL;
    n = arr ? json_array_size(arr) : 0;
    *out = n ? sk_calloc(n, sizeof(**out)) : NULL;
    for (size_t i = 0; i < n; i++) {
        char base[PATH_MAX_SK], path[PATH_MAX_SK];
        int64_t w = 1;

        sk_snprintf(base, sizeof(base), "spec.affinity.%s.%s[%zu]", kind, when, i);
        sk_snprintf(path, sizeof(path), "%s%s", base, preferred ? ".podAffinityTerm" : "");
        (*nout)++;
        if (preferred && !json_is_object(sk_json_get(p->obj, base)))
            return sk_err_set(err, EINVAL, "%s: must be an object", base);
        if ((preferred && parse_weight(p->obj, base, &w, err) < 0) ||
            parse_pod_term(p->obj, path, &(*out)[i], err) < 0)
            return -EINVAL;
        (*out)[i].weight = w;
    }
    return 0;
}

int
sched_pod_parse_affinity(struct sched_pod *p, struct sk_err *err)
{
    json_t *aff;

    if (sched_path_get(p->obj, SCHED_GET_OBJECT, NULL, &aff, err, "spec.affinity") < 0)
        return -EINVAL;
    if (!aff)
        return 0;
    if (parse_required_node(p, err) < 0 || parse_preferred_node(p, err) < 0 ||
        parse_pod_terms(p, "podAffinity", false, &p->aff_req, &p->naff_req, err) < 0 ||
        parse_pod_terms(p, "podAffinity", true, &p->aff_pref, &p->naff_pref, err) < 0 ||
        parse_pod_terms(p, "podAntiAffinity", false, &p->anti_req, &p->nanti_req, err) < 0 ||
        parse_pod_terms(p, "podAntiAffinity", true, &p->anti_pref, &p->nanti_pref, err) < 0)
        return -EINVAL;
    return 0;
}

static int
parse_spread_one(struct sched_pod *p, size_t i, struct sched_spread *c, struct sk_err *err)
{
    static const int64_t zero = 0;
    char base[PATH_MAX_SK], path[PATH_MAX_SK];
    const char *when;
    json_t *sel;

    sk_snprintf(base, sizeof(base), "spec.topologySpreadConstraints[%zu]", i);
    if (!json_is_object(sk_json_get(p->obj, base)))
        return sk_err_set(err, EINVAL, "%s: must be an object", base);
    if (sched_path_get(p->obj, SCHED_GET_INT, NULL, &c->max_skew, err, "%s.maxSkew", base) < 0 ||
        sched_path_get(p->obj, SCHED_GET_STRING, "", &c->topology_key, err, "%s.topologyKey",
                       base) < 0 ||
        sched_path_get(p->obj, SCHED_GET_STRING, "", &when, err, "%s.whenUnsatisfiable", base) <
            0 ||
        sched_path_get(p->obj, SCHED_GET_INT, &zero, &c->min_domains, err, "%s.minDomains", base) <
            0 ||
        sched_path_get(p->obj, SCHED_GET_OBJECT, NULL, &sel, err, "%s.labelSelector", base) < 0)
        return -EINVAL;
    if (c->max_skew < 1)
        return sk_err_set(err, EINVAL, "%s.maxSkew: must be greater than zero", base);
    if (!*c->topology_key)
        return sk_err_set(err, EINVAL, "%s.topologyKey: required", base);
    if (strcmp(when, "DoNotSchedule") == 0)
        c->do_not_schedule = true;
    else if (strcmp(when, "ScheduleAnyway") != 0)
        return sk_err_set(err, EINVAL,
                          "%s.whenUnsatisfiable: unsupported value '%s' (DoNotSchedule, "
                          "ScheduleAnyway)",
                          base, when);
    if (c->min_domains < 0 || (c->min_domains > 0 && !c->do_not_schedule))
        return sk_err_set(err, EINVAL,
                          "%s.minDomains: must be positive and only with DoNotSchedule", base);
    sk_snprintf(path, sizeof(path), "%s.labelSelector", base);
    return sk_selector_from_json(sel, &c->sel, path, err);
}

int
sched_pod_parse_spread(struct sched_pod *p, struct sk_err *err)
{
    json_t *arr;
    size_t n;

    if (sched_path_get(p->obj, SCHED_GET_ARRAY, NULL, &arr, err, "spec.topologySpreadConstraints") <
        0)
        return -EINVAL;
    n = arr ? json_array_size(arr) : 0;
    p->spread = n ? sk_calloc(n, sizeof(*p->spread)) : NULL;
    for (size_t i = 0; i < n; i++) {
        sk_selector_init(&p->spread[i].sel);
        p->nspread++;
        if (parse_spread_one(p, i, &p->spread[i], err) < 0)
            return -EINVAL;
    }
    return 0;
}

static void
release_pod_terms(struct sched_pod_term *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        sk_selector_release(&t[i].sel);
        free(t[i].namespaces);
    }
    free(t);
}

void
sched_pod_release_affinity(struct sched_pod *p)
{
    for (size_t i = 0; i < p->required.nterms; i++)
        release_node_term(&p->required.terms[i]);
    free(p->required.terms);
    for (size_t i = 0; i < p->npreferred; i++)
        release_node_term(&p->preferred[i]);
    free(p->preferred);
    free(p->preferred_weights);
    release_pod_terms(p->aff_req, p->naff_req);
    release_pod_terms(p->aff_pref, p->naff_pref);
    release_pod_terms(p->anti_req, p->nanti_req);
    release_pod_terms(p->anti_pref, p->nanti_pref);
    for (size_t i = 0; i < p->nspread; i++)
        sk_selector_release(&p->spread[i].sel);
    free(p->spread);
}
