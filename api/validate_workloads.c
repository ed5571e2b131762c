/* ReplicaSet and Deployment validation (Kubernetes's apps validation):
 * replicas, the selector and its match with the template's labels, the
 * template's pod spec, the Deployment strategy. */
#include "validate_int.h"

#include <stdlib.h>
#include <string.h>

/* The template (at path "template"): labels, a pod spec that restarts
 * Always and has no activeDeadlineSeconds. */
void
v_pod_template(struct vctx *v, const json_t *spec, bool workload)
{
    json_t *tmpl = v_obj(v, spec, "template"), *meta, *pspec, *empty = NULL;
    const char *rp;
    size_t mark;

    if (!tmpl) {
        if (!json_object_get(spec, "template") || json_is_null(json_object_get(spec, "template")))
            v_err(v, API_FE_REQUIRED, "template", NULL, NULL);
        return;
    }
    mark = vpath_child(v, "template");
    if ((meta = v_obj(v, tmpl, "metadata"))) {
        size_t mmark = vpath_child(v, "metadata");

        v_labels(v, meta, "labels");
        vpath_pop(v, mmark);
    }
    if (!(pspec = v_obj(v, tmpl, "spec")) && !json_object_get(tmpl, "spec"))
        pspec = empty = json_object();
    if (pspec) {
        vpath_child(v, "spec");
        v_pod_spec(v, pspec);
        rp = json_string_value(json_object_get(pspec, "restartPolicy"));
        if (workload && rp && strcmp(rp, "Always"))
            v_not_supported(v, "restartPolicy", rp, (const char *const[]){"Always", NULL});
        if (workload && json_object_get(pspec, "activeDeadlineSeconds"))
            v_err(v, API_FE_FORBIDDEN, "activeDeadlineSeconds", NULL,
                  "activeDeadlineSeconds in ReplicaSet is not Supported");
    }
    vpath_pop(v, mark);
    json_decref(empty);
}

static bool
selector_empty(const json_t *sel)
{
    return json_object_size(json_object_get(sel, "matchLabels")) == 0 &&
           json_array_size(json_object_get(sel, "matchExpressions")) == 0;
}

/* selector required, non-empty, valid, and matching template labels */
static void
v_selector_matches_template(struct vctx *v, const json_t *spec)
{
    json_t *sel = json_object_get(spec, "selector"), *labels;
    struct ext_selector *parsed;
    struct sk_err err;
    size_t before = v->errs->n + v->errs->dropped, mark;

    if (!sel || json_is_null(sel)) {
        v_err(v, API_FE_REQUIRED, "selector", NULL, NULL);
        return;
    }
    v_label_selector(v, spec, "selector");
    if (v->errs->n + v->errs->dropped != before)
        return;
    if (selector_empty(sel)) {
        v_err(v, API_FE_INVALID, "selector", sel, "empty selector is invalid for deployment");
        return;
    }
    labels =
        json_object_get(json_object_get(json_object_get(spec, "template"), "metadata"), "labels");
    if (!json_is_object(json_object_get(spec, "template")))
        return;
    sk_err_init(&err);
    mark = vpath_child(v, "selector");
    parsed = ext_selector_new(sel, vpath_str(v), &err);
    vpath_pop(v, mark);
    if (!parsed) {
        v_err(v, API_FE_INVALID, "selector", sel, "%s", err.msg);
        return;
    }
    if (!ext_selector_matches(parsed, json_is_object(labels) ? labels : NULL)) {
        mark = vpath_child(v, "template");
        vpath_child(v, "metadata");
        v_err(v, API_FE_INVALID, "labels", labels ? labels : json_null(),
              "`selector` does not match template `labels`");
        vpath_pop(v, mark);
    }
    ext_selector_free(parsed);
}

static json_t *
v_spec_begin(struct vctx *v, const json_t *obj, json_t **empty, size_t *mark)
{
    json_t *spec = v_obj(v, obj, "spec");

    *empty = NULL;
    if (!spec && json_object_get(obj, "spec") && !json_is_null(json_object_get(obj, "spec")))
        return NULL;
    if (!spec)
        spec = *empty = json_object();
    *mark = vpath_child(v, "spec");
    return spec;
}

static void
v_workload_common(struct vctx *v, const json_t *spec)
{
    v_nonneg(v, spec, "replicas");
    v_nonneg(v, spec, "minReadySeconds");
    v_selector_matches_template(v, spec);
    v_pod_template(v, spec, true);
}

void
v_replicaset(struct vctx *v, const json_t *obj)
{
    json_t *empty, *spec;
    size_t mark;

    if (!(spec = v_spec_begin(v, obj, &empty, &mark)))
        return;
    v_workload_common(v, spec);
    vpath_pop(v, mark);
    json_decref(empty);
}

/* ---- Deployment strategy ---- */

/* An intOrString that is a non-negative int or "N%" (ValidatePositive
 * IntOrPercent, IsNotMoreThan100Percent). Stores the value (percent or
 * count) in *n; returns false when absent or invalid. */
static bool
v_int_or_percent(struct vctx *v, const json_t *obj, const char *field, int64_t *n)
{
    json_t *j = json_object_get(obj, field);
    const char *s;
    char *end;

    if (!j || json_is_null(j))
        return false;
    if (!json_is_string(j)) {
        if (!v_int(v, obj, field, n))
            return false;
        if (*n < 0)
            v_err_int(v, API_FE_INVALID, field, *n, "must be greater than or equal to 0");
        return *n >= 0;
    }
    s = json_string_value(j);
    *n = strtoll(s, &end, 10);
    if (!*s || !(*s >= '0' && *s <= '9') || strcmp(end, "%") || *n > 1000000) {
        v_err(v, API_FE_INVALID, field, j, "must be an integer or percentage (e.g '5%%')");
        return false;
    }
    if (*n > 100) {
        v_err(v, API_FE_INVALID, field, j, "must not be greater than 100%%");
        return false;
    }
    return true;
}

static void
v_rolling_update(struct vctx *v, const json_t *ru)
{
    int64_t unavail = -1, surge = -1;
    bool u_ok, s_ok;

    u_ok = v_int_or_percent(v, ru, "maxUnavailable", &unavail);
    s_ok = v_int_or_percent(v, ru, "maxSurge", &surge);
    if (u_ok && s_ok && unavail == 0 && surge == 0)
        v_err(v, API_FE_INVALID, "maxUnavailable", json_object_get(ru, "maxUnavailable"),
              "may not be 0 when `maxSurge` is 0");
}

static void
v_strategy(struct vctx *v, const json_t *spec)
{
    static const char *const types[] = {"Recreate", "RollingUpdate", NULL};
    json_t *st = v_obj(v, spec, "strategy"), *ru;
    const char *type;
    size_t mark;

    if (!st)
        return;
    mark = vpath_child(v, "strategy");
    type = v_enum(v, st, "type", types, true);
    ru = v_obj(v, st, "rollingUpdate");
    if (type && !strcmp(type, "Recreate") && ru)
        v_err(v, API_FE_FORBIDDEN, "rollingUpdate", NULL,
              "may not be specified when strategy `type` is 'Recreate'");
    else if (ru) {
        vpath_child(v, "rollingUpdate");
        v_rolling_update(v, ru);
    }
    vpath_pop(v, mark);
}

void
v_deployment(struct vctx *v, const json_t *obj)
{
    json_t *empty, *spec, *mrs;
    int64_t deadline, min_ready = 0;
    size_t mark;
    bool paused;

    if (!(spec = v_spec_begin(v, obj, &empty, &mark)))
        return;
    v_workload_common(v, spec);
    v_strategy(v, spec);
    v_nonneg(v, spec, "revisionHistoryLimit");
    v_bool(v, spec, "paused", &paused);
    mrs = json_object_get(spec, "minReadySeconds");
    if (json_is_integer(mrs))
        min_ready = json_integer_value(mrs);
    if (v_int(v, spec, "progressDeadlineSeconds", &deadline)) {
        if (deadline < 0)
            v_err_int(v, API_FE_INVALID, "progressDeadlineSeconds", deadline,
                      "must be greater than or equal to 0");
        else if (deadline <= min_ready)
            v_err_int(v, API_FE_INVALID, "progressDeadlineSeconds", deadline,
                      "must be greater than minReadySeconds");
    }
    vpath_pop(v, mark);
    json_decref(empty);
}
