/* api/: server-managed metadata on create, update and delete:
 * generateName, namespaces, uid and timestamps, resourceVersion
 * conflicts, generation bumps, status subresource semantics, two-phase
 * deletion with finalizers and grace periods, immutable fields. */
#include "api/object.h"
#include "lib/err.h"
#include "unit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

#define NOW 1795634400 /* 2026-11-25T19:20:00Z */

static uint32_t
fixed_rand(void *arg)
{
    unsigned *n = arg;

    return (*n)++;
}

static unsigned rand_state;

static struct api_meta_ctx
ctx_at(int64_t now, uint64_t rev)
{
    struct api_meta_ctx ctx = {now, "0b7e3f2a-uid", rev, fixed_rand, &rand_state};

    rand_state = 0;
    return ctx;
}

static json_t *
load(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, 0, &jerr);

    ck_assert_msg(v != NULL, "bad test JSON: %s", jerr.text);
    return v;
}

static const char *
meta_str(const json_t *obj, const char *field)
{
    return json_string_value(json_object_get(json_object_get(obj, "metadata"), field));
}

static json_int_t
meta_int(const json_t *obj, const char *field)
{
    return json_integer_value(json_object_get(json_object_get(obj, "metadata"), field));
}

static const char pod_json[] = "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":"
                               "\"web\"},\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":"
                               "\"nginx:1.25\"}]}}";

/* A pod created at NOW with revision 5. */
static json_t *
created_pod(void)
{
    struct api_meta_ctx ctx = ctx_at(NOW, 5);
    const struct api_kind *k;
    struct api_errors errs;
    struct sk_err err;
    json_t *pod = load(pod_json);

    api_errors_init(&errs);
    sk_err_init(&err);
    ck_assert_msg(api_object_prepare_create(pod, &ctx, &k, &errs, &err) == 0, "%s", err.msg);
    api_errors_release(&errs);
    return pod;
}

START_TEST(time_is_rfc3339_utc_and_parses_back)
{
    char buf[API_TIME_LEN];
    int64_t t;

    api_time_format(NOW, buf);
    ck_assert_str_eq(buf, "2026-11-25T19:20:00Z");
    ck_assert_int_eq(api_time_parse(buf, &t, NULL), 0);
    ck_assert_int_eq(t, NOW);
    ck_assert_int_eq(api_time_parse("2026-11-25 16:40:00", &t, NULL), -EINVAL);
    ck_assert_int_eq(api_time_parse("2026-11-25T19:20:00Zjunk", &t, NULL), -EINVAL);
}
END_TEST

START_TEST(create_sets_server_fields)
{
    json_t *pod = created_pod();

    ck_assert_str_eq(meta_str(pod, "namespace"), "default");
    ck_assert_str_eq(meta_str(pod, "uid"), "0b7e3f2a-uid");
    ck_assert_str_eq(meta_str(pod, "creationTimestamp"), "2026-11-25T19:20:00Z");
    ck_assert_str_eq(meta_str(pod, "resourceVersion"), "5");
    ck_assert_int_eq(meta_int(pod, "generation"), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(pod, "status"), "phase")),
                     "Pending");
    json_decref(pod);
}
END_TEST

START_TEST(create_drops_client_server_fields)
{
    struct api_meta_ctx ctx = ctx_at(NOW, 9);
    json_t *cm = load("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\","
                      "\"namespace\":\"prod\",\"uid\":\"forged\",\"generation\":7,"
                      "\"creationTimestamp\":\"2000-01-01T00:00:00Z\",\"deletionTimestamp\":"
                      "\"2000-01-01T00:00:00Z\"}}");

    ck_assert_int_eq(api_meta_prepare_create(cm, api_kind_lookup("cm"), &ctx, NULL, NULL), 0);
    ck_assert_str_eq(meta_str(cm, "namespace"), "prod");
    ck_assert_str_eq(meta_str(cm, "uid"), "0b7e3f2a-uid");
    ck_assert_str_eq(meta_str(cm, "creationTimestamp"), "2026-11-25T19:20:00Z");
    ck_assert_ptr_null(meta_str(cm, "deletionTimestamp"));
    /* a ConfigMap has no spec, so no generation */
    ck_assert_ptr_null(json_object_get(json_object_get(cm, "metadata"), "generation"));
    json_decref(cm);
}
END_TEST

START_TEST(create_starts_namespaces_active)
{
    struct api_meta_ctx ctx = ctx_at(NOW, 9);
    json_t *ns = load("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":"
                      "\"team\"},\"status\":{\"phase\":\"Terminating\"}}");

    ck_assert_int_eq(api_meta_prepare_create(ns, api_kind_lookup("ns"), &ctx, NULL, NULL), 0);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(ns, "status"), "phase")),
                     "Active");
    json_decref(ns);
}
END_TEST

START_TEST(generate_name_appends_five_random_characters)
{
    struct api_meta_ctx ctx = ctx_at(NOW, 1);
    json_t *pod = load("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"generateName\":"
                       "\"web-\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}");
    const char *name;

    ck_assert_int_eq(api_meta_prepare_create(pod, api_kind_lookup("po"), &ctx, NULL, NULL), 0);
    name = meta_str(pod, "name");
    /* rand returns 0,1,2,3,4: the first five letters of the alphabet */
    ck_assert_str_eq(name, "web-bcdfg");
    json_decref(pod);
}
END_TEST

START_TEST(generate_name_is_cut_to_58_bytes)
{
    struct api_meta_ctx ctx = ctx_at(NOW, 1);
    json_t *pod = json_pack(
        "{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "Pod", "metadata", "generateName",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-");

    ck_assert_int_eq(api_meta_prepare_create(pod, api_kind_lookup("po"), &ctx, NULL, NULL), 0);
    ck_assert_uint_eq(strlen(meta_str(pod, "name")), 63);
    json_decref(pod);
}
END_TEST

static const struct {
    const char *json;
    const char *msg;
} create_fail_cases[] = {
    {"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{}}",
     "Pod \"\" is invalid: metadata.name: Required value: name or generateName is required"},
    {"{\"apiVersion\":\"v1\",\"kind\":\"Pod\"}",
     "Pod \"\" is invalid: metadata.name: Required value: name or generateName is required"},
    {"{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"n\",\"namespace\":\"x\"}}",
     "Node \"n\" is invalid: metadata.namespace: Forbidden: not allowed on this type"},
    {"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"resourceVersion\":"
     "\"3\"}}",
     "Pod \"p\" is invalid: metadata.resourceVersion: Invalid value: resourceVersion should not "
     "be set on objects to be created"},
    {"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":[]}",
     "Pod \"\" is invalid: metadata: Invalid value: must be an object"},
};

START_TEST(create_refuses_bad_metadata)
{
    struct api_meta_ctx ctx = ctx_at(NOW, 1);
    json_t *obj = load(create_fail_cases[_i].json);
    const struct api_kind *k;
    struct api_errors errs;
    struct sk_err err;

    api_errors_init(&errs);
    sk_err_init(&err);
    ck_assert_int_eq(api_kind_of(obj, &k, NULL), 0);
    ck_assert_int_eq(api_meta_prepare_create(obj, k, &ctx, &errs, &err), -EINVAL);
    ck_assert_str_eq(err.msg, create_fail_cases[_i].msg);
    ck_assert_uint_eq(errs.n, 1);
    api_errors_release(&errs);
    json_decref(obj);
}
END_TEST

START_TEST(create_pipeline_reports_all_validation_errors)
{
    struct api_meta_ctx ctx = ctx_at(NOW, 1);
    json_t *pod = load("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\"},"
                       "\"spec\":{\"restartPolicy\":\"x\",\"containers\":[{\"name\":\"c\"}]}}");
    const struct api_kind *k;
    struct api_errors errs;
    struct sk_err err;

    api_errors_init(&errs);
    sk_err_init(&err);
    ck_assert_int_eq(api_object_prepare_create(pod, &ctx, &k, &errs, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "Pod \"web\" is invalid: [spec.containers[0].image: Required value, "
                              "spec.restartPolicy: Unsupported value: \"x\": supported values: "
                              "\"Always\", \"OnFailure\", \"Never\"]");
    ck_assert_uint_eq(errs.n, 2);
    api_errors_release(&errs);
    json_decref(pod);
    pod = load("{\"apiVersion\":\"apps/v1\",\"kind\":\"Pod\"}");
    ck_assert_int_eq(api_object_prepare_create(pod, &ctx, &k, &errs, &err), -EBADMSG);
    ck_assert_ptr_null(k);
    json_decref(pod);
}
END_TEST

/* ---- update ---- */

static int
update(const json_t *old, json_t *obj, enum api_update_mode mode, uint64_t rev, struct sk_err *err)
{
    struct api_meta_ctx ctx = ctx_at(NOW + 60, rev);
    struct api_errors errs;
    int rc;

    api_errors_init(&errs);
    rc = api_object_prepare_update(old, obj, mode, &ctx, &errs, err);
    api_errors_release(&errs);
    return rc;
}

START_TEST(stale_resource_version_conflicts)
{
    json_t *old = created_pod(), *new = json_deep_copy(old);
    struct sk_err err;
    const char *reason;
    int rc;

    json_object_set_new(json_object_get(new, "metadata"), "resourceVersion", json_string("4"));
    sk_err_init(&err);
    rc = update(old, new, API_UPDATE_MAIN, 6, &err);
    ck_assert_int_eq(rc, -ESTALE);
    ck_assert_int_eq(api_status_of(rc, &reason), 409);
    ck_assert_str_eq(reason, "Conflict");
    ck_assert_str_eq(err.msg, "Operation cannot be fulfilled on pods \"web\": the object has been "
                              "modified; please apply your changes to the latest version and try "
                              "again");
    json_decref(old);
    json_decref(new);
}
END_TEST

START_TEST(update_without_resource_version_is_unconditional)
{
    json_t *old = created_pod(), *new = json_deep_copy(old);

    json_object_del(json_object_get(new, "metadata"), "resourceVersion");
    json_object_set_new(json_object_get(new, "metadata"), "labels", json_pack("{s:s}", "a", "b"));
    ck_assert_int_eq(update(old, new, API_UPDATE_MAIN, 6, NULL), 0);
    ck_assert_str_eq(meta_str(new, "resourceVersion"), "6");
    /* metadata-only change: no generation bump */
    ck_assert_int_eq(meta_int(new, "generation"), 1);
    json_decref(old);
    json_decref(new);
}
END_TEST

START_TEST(update_keeps_server_fields_and_bumps_generation_on_spec_change)
{
    json_t *old = created_pod(), *new = json_deep_copy(old), *ctr;

    json_object_set_new(json_object_get(new, "metadata"), "uid", json_string("forged"));
    json_object_set_new(json_object_get(new, "metadata"), "creationTimestamp",
                        json_string("1999-01-01T00:00:00Z"));
    json_object_set_new(json_object_get(new, "metadata"), "generation", json_integer(42));
    ctr = json_array_get(json_object_get(json_object_get(new, "spec"), "containers"), 0);
    json_object_set_new(ctr, "image", json_string("nginx:1.26"));
    ck_assert_int_eq(update(old, new, API_UPDATE_MAIN, 6, NULL), 0);
    ck_assert_str_eq(meta_str(new, "uid"), "0b7e3f2a-uid");
    ck_assert_str_eq(meta_str(new, "creationTimestamp"), "2026-11-25T19:20:00Z");
    ck_assert_int_eq(meta_int(new, "generation"), 2);
    ck_assert_str_eq(meta_str(new, "resourceVersion"), "6");
    json_decref(old);
    json_decref(new);
}
END_TEST

START_TEST(main_update_ignores_status)
{
    json_t *old = created_pod(), *new = json_deep_copy(old);

    json_object_set_new(new, "status", json_pack("{s:s}", "phase", "Running"));
    ck_assert_int_eq(update(old, new, API_UPDATE_MAIN, 6, NULL), 0);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(new, "status"), "phase")),
                     "Pending");
    ck_assert_int_eq(meta_int(new, "generation"), 1);
    json_decref(old);
    json_decref(new);
}
END_TEST

START_TEST(status_update_changes_only_status)
{
    json_t *old = created_pod(), *new = json_deep_copy(old), *ctr;

    json_object_set_new(new, "status",
                        json_pack("{s:s,s:s}", "phase", "Running", "podIP", "10.244.1.5"));
    ctr = json_array_get(json_object_get(json_object_get(new, "spec"), "containers"), 0);
    json_object_set_new(ctr, "image", json_string("evil"));
    json_object_set_new(json_object_get(new, "metadata"), "labels", json_pack("{s:s}", "a", "b"));
    ck_assert_int_eq(update(old, new, API_UPDATE_STATUS, 7, NULL), 0);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(new, "status"), "podIP")),
                     "10.244.1.5");
    ck_assert(json_equal(json_object_get(new, "spec"), json_object_get(old, "spec")));
    ck_assert_ptr_null(json_object_get(json_object_get(new, "metadata"), "labels"));
    ck_assert_int_eq(meta_int(new, "generation"), 1);
    ck_assert_str_eq(meta_str(new, "resourceVersion"), "7");
    json_decref(old);
    json_decref(new);
}
END_TEST

START_TEST(configmap_update_has_no_generation)
{
    struct api_meta_ctx ctx = ctx_at(NOW, 2);
    json_t *old = load("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
                       "\"c\"},\"data\":{\"a\":\"1\"}}");
    json_t *new;

    ck_assert_int_eq(api_meta_prepare_create(old, api_kind_lookup("cm"), &ctx, NULL, NULL), 0);
    new = json_deep_copy(old);
    json_object_set_new(new, "data", json_pack("{s:s}", "a", "2"));
    ck_assert_int_eq(update(old, new, API_UPDATE_MAIN, 3, NULL), 0);
    ck_assert_ptr_null(json_object_get(json_object_get(new, "metadata"), "generation"));
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(new, "data"), "a")), "2");
    /* and it has no status subresource */
    ck_assert_int_eq(update(old, new, API_UPDATE_STATUS, 4, NULL), -EBADMSG);
    json_decref(old);
    json_decref(new);
}
END_TEST

/* ---- immutable fields ---- */

static const struct {
    const char *kind;
    const char *old, *new; /* whole objects, before defaulting */
    const char *want;      /* the error message, or NULL: allowed */
} immutable_cases[] = {
    {"Pod",
     "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"a\"}]"
     "}}",
     "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"b\"}]"
     ",\"activeDeadlineSeconds\":30,\"tolerations\":[{\"operator\":\"Exists\"}]}}",
     NULL},
    {"Pod",
     "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"a\"}]"
     "}}",
     "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"a\","
     "\"command\":[\"sh\"]}]}}",
     "Pod \"web\" is invalid: spec: Forbidden: pod updates may not change fields other than "
     "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
     "`spec.tolerations` (only additions to existing tolerations),"
     "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously "
     "negative)"},
    {"Pod",
     "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"a\"}]"
     "}}",
     "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"a\"},"
     "{\"name\":\"d\",\"image\":\"a\"}]}}",
     "Pod \"web\" is invalid: spec.containers: Forbidden: pod updates may not add or remove "
     "containers"},
    {"Pod",
     "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"activeDeadlineSeconds\":30,\"tolerations\":[{"
     "\"key\":\"a\",\"operator\":\"Exists\"}],\"containers\":[{\"name\":\"c\",\"image\":\"a\"}]}}",
     "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"activeDeadlineSeconds\":60,\"tolerations\":[{"
     "\"key\":\"b\",\"operator\":\"Exists\"}],\"containers\":[{\"name\":\"c\",\"image\":\"a\"}]}}",
     "Pod \"web\" is invalid: [spec.activeDeadlineSeconds: Invalid value: 60: must be less than "
     "or equal to previous value, spec.tolerations: Forbidden: existing toleration can not be "
     "modified except its tolerationSeconds]"},
    {"Pod",
     "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"a\"}]"
     "}}",
     "{\"metadata\":{\"name\":\"web\",\"namespace\":\"other\"},\"spec\":{\"containers\":[{\"name\""
     ":\"c\",\"image\":\"a\"}]}}",
     "Pod \"web\" is invalid: metadata.namespace: Invalid value: \"other\": field is immutable"},
    {"Deployment",
     "{\"metadata\":{\"name\":\"d\"},\"spec\":{\"selector\":{\"matchLabels\":{\"app\":\"a\"}},"
     "\"template\":{\"metadata\":{\"labels\":{\"app\":\"a\",\"v\":\"1\"}},\"spec\":{"
     "\"containers\":[{\"name\":\"c\",\"image\":\"a\"}]}}}}",
     "{\"metadata\":{\"name\":\"d\"},\"spec\":{\"selector\":{\"matchLabels\":{\"app\":\"a\",\"v\":"
     "\"1\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"a\",\"v\":\"1\"}},\"spec\":{"
     "\"containers\":[{\"name\":\"c\",\"image\":\"a\"}]}}}}",
     "Deployment \"d\" is invalid: spec.selector: Invalid value: {\"matchLabels\":{\"app\":\"a\","
     "\"v\":\"1\"}}: field is immutable"},
    {"Deployment",
     "{\"metadata\":{\"name\":\"d\"},\"spec\":{\"selector\":{\"matchLabels\":{\"app\":\"a\"}},"
     "\"template\":{\"metadata\":{\"labels\":{\"app\":\"a\"}},\"spec\":{\"containers\":[{\"name\":"
     "\"c\",\"image\":\"a\"}]}}}}",
     "{\"metadata\":{\"name\":\"d\"},\"spec\":{\"replicas\":5,\"selector\":{\"matchLabels\":{"
     "\"app\":\"a\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"a\"}},\"spec\":{"
     "\"containers\":[{\"name\":\"c\",\"image\":\"b\",\"args\":[\"-v\"]}]}}}}",
     NULL},
    {"Service",
     "{\"metadata\":{\"name\":\"s\"},\"spec\":{\"clusterIP\":\"10.96.0.5\",\"ports\":[{\"port\":80}"
     "]}}",
     "{\"metadata\":{\"name\":\"s\"},\"spec\":{\"clusterIP\":\"10.96.0.6\",\"ports\":[{\"port\":80}"
     "]}}",
     "Service \"s\" is invalid: spec.clusterIP: Invalid value: \"10.96.0.6\": field is immutable"},
    {"Service", "{\"metadata\":{\"name\":\"s\"},\"spec\":{\"ports\":[{\"port\":80}]}}",
     "{\"metadata\":{\"name\":\"s\"},\"spec\":{\"clusterIP\":\"10.96.0.6\",\"ports\":[{\"port\":80}"
     "]}}",
     NULL},
    {"Secret", "{\"metadata\":{\"name\":\"s\"},\"type\":\"Opaque\"}",
     "{\"metadata\":{\"name\":\"s\"},\"type\":\"kubernetes.io/ssh-auth\",\"data\":{"
     "\"ssh-privatekey\":\"eA==\"}}",
     "Secret \"s\" is invalid: type: Invalid value: \"kubernetes.io/ssh-auth\": field is "
     "immutable"},
    {"ConfigMap", "{\"metadata\":{\"name\":\"c\"},\"immutable\":true,\"data\":{\"a\":\"1\"}}",
     "{\"metadata\":{\"name\":\"c\"},\"immutable\":false,\"data\":{\"a\":\"2\"}}",
     "ConfigMap \"c\" is invalid: [immutable: Forbidden: field is immutable when `immutable` is "
     "set, data: Forbidden: field is immutable when `immutable` is set]"},
    {"ConfigMap", "{\"metadata\":{\"name\":\"c\"},\"immutable\":true,\"data\":{\"a\":\"1\"}}",
     "{\"metadata\":{\"name\":\"c\",\"labels\":{\"x\":\"y\"}},\"immutable\":true,\"data\":{\"a\":"
     "\"1\"}}",
     NULL},
    {"Secret", "{\"metadata\":{\"name\":\"s\"},\"immutable\":true,\"data\":{\"a\":\"eA==\"}}",
     "{\"metadata\":{\"name\":\"s\"},\"immutable\":true,\"data\":{\"a\":\"eQ==\"}}",
     "Secret \"s\" is invalid: data: Forbidden: field is immutable when `immutable` is set"},
    {"RoleBinding",
     "{\"metadata\":{\"name\":\"r\"},\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\","
     "\"kind\":\"Role\",\"name\":\"a\"}}",
     "{\"metadata\":{\"name\":\"r\"},\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\","
     "\"kind\":\"Role\",\"name\":\"b\"}}",
     "RoleBinding \"r\" is invalid: roleRef: Invalid value: {\"apiGroup\":"
     "\"rbac.authorization.k8s.io\",\"kind\":\"Role\",\"name\":\"b\"}: cannot change roleRef"},
    {"Node", "{\"metadata\":{\"name\":\"n\"},\"spec\":{}}",
     "{\"metadata\":{\"name\":\"n\"},\"spec\":{\"podCIDR\":\"10.244.1.0/24\"}}", NULL},
    {"Node", "{\"metadata\":{\"name\":\"n\"},\"spec\":{\"podCIDR\":\"10.244.1.0/24\"}}",
     "{\"metadata\":{\"name\":\"n\"},\"spec\":{\"podCIDR\":\"10.244.2.0/24\"}}",
     "Node \"n\" is invalid: spec.podCIDR: Forbidden: node updates may not change podCIDR except "
     "from \"\" to valid"},
};

static json_t *
typed(const char *kind, const char *text)
{
    const struct api_kind *k = api_kind_lookup(kind);
    json_t *obj = load(text);

    json_object_set_new(obj, "apiVersion", json_string(k->api_version));
    json_object_set_new(obj, "kind", json_string(k->kind));
    return obj;
}

START_TEST(immutable_fields_refuse_changes)
{
    struct api_meta_ctx ctx = ctx_at(NOW, 2);
    json_t *old = typed(immutable_cases[_i].kind, immutable_cases[_i].old);
    json_t *new = typed(immutable_cases[_i].kind, immutable_cases[_i].new);
    const struct api_kind *k;
    struct api_errors errs;
    struct sk_err err;
    int rc;

    api_errors_init(&errs);
    sk_err_init(&err);
    ck_assert_msg(api_object_prepare_create(old, &ctx, &k, &errs, &err) == 0, "%s", err.msg);
    rc = update(old, new, API_UPDATE_MAIN, 3, &err);
    if (immutable_cases[_i].want) {
        ck_assert_int_eq(rc, -EINVAL);
        ck_assert_str_eq(err.msg, immutable_cases[_i].want);
    } else {
        ck_assert_msg(rc == 0, "case %d: %s", _i, err.msg);
    }
    api_errors_release(&errs);
    json_decref(old);
    json_decref(new);
}
END_TEST

/* ---- delete, finalizers ---- */

static const struct api_delete_opts default_delete = {-1, API_PROPAGATE_DEFAULT, NULL, NULL};

START_TEST(delete_without_finalizers_is_immediate)
{
    struct api_meta_ctx ctx = ctx_at(NOW + 10, 8);
    json_t *pod = created_pod();

    /* never scheduled: nothing to stop, no grace period */
    ck_assert_int_eq(
        api_meta_prepare_delete(pod, api_kind_lookup("po"), &default_delete, &ctx, NULL),
        API_DELETE_NOW);
    json_decref(pod);
}
END_TEST

START_TEST(delete_of_bound_pod_is_graceful)
{
    struct api_meta_ctx ctx = ctx_at(NOW + 10, 8);
    const struct api_kind *k = api_kind_lookup("po");
    struct api_delete_opts opts = default_delete;
    json_t *pod = created_pod();

    json_object_set_new(json_object_get(pod, "spec"), "nodeName", json_string("node-1"));
    ck_assert_int_eq(api_meta_prepare_delete(pod, k, &opts, &ctx, NULL), API_DELETE_DEFERRED);
    ck_assert_str_eq(meta_str(pod, "deletionTimestamp"), "2026-11-25T19:20:40Z");
    ck_assert_int_eq(meta_int(pod, "deletionGracePeriodSeconds"), 30);
    ck_assert(!api_meta_should_remove(pod));
    /* a second delete may shorten the period, never lengthen it */
    opts.grace_seconds = 60;
    ck_assert_int_eq(api_meta_prepare_delete(pod, k, &opts, &ctx, NULL), API_DELETE_DEFERRED);
    ck_assert_int_eq(meta_int(pod, "deletionGracePeriodSeconds"), 30);
    opts.grace_seconds = 5;
    ck_assert_int_eq(api_meta_prepare_delete(pod, k, &opts, &ctx, NULL), API_DELETE_DEFERRED);
    ck_assert_int_eq(meta_int(pod, "deletionGracePeriodSeconds"), 5);
    ck_assert_str_eq(meta_str(pod, "deletionTimestamp"), "2026-11-25T19:20:15Z");
    /* the kubelet's final delete once the containers stopped */
    opts.grace_seconds = 0;
    ck_assert_int_eq(api_meta_prepare_delete(pod, k, &opts, &ctx, NULL), API_DELETE_NOW);
    json_decref(pod);
}
END_TEST

START_TEST(finished_pods_are_deleted_at_once)
{
    struct api_meta_ctx ctx = ctx_at(NOW, 8);
    json_t *pod = created_pod();

    json_object_set_new(json_object_get(pod, "spec"), "nodeName", json_string("node-1"));
    json_object_set_new(pod, "status", json_pack("{s:s}", "phase", "Succeeded"));
    ck_assert_int_eq(
        api_meta_prepare_delete(pod, api_kind_lookup("po"), &default_delete, &ctx, NULL),
        API_DELETE_NOW);
    json_decref(pod);
}
END_TEST

START_TEST(finalizers_make_deletion_two_phase)
{
    struct api_meta_ctx ctx = ctx_at(NOW + 10, 8);
    const struct api_kind *k = api_kind_lookup("cm");
    json_t *cm = load("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\","
                      "\"finalizers\":[\"example.com/a\",\"example.com/b\"]}}");
    json_t *upd;

    ck_assert_int_eq(api_meta_prepare_create(cm, k, &ctx, NULL, NULL), 0);
    ck_assert_int_eq(api_meta_prepare_delete(cm, k, &default_delete, &ctx, NULL),
                     API_DELETE_DEFERRED);
    ck_assert_str_eq(meta_str(cm, "deletionTimestamp"), "2026-11-25T19:20:10Z");
    ck_assert_int_eq(meta_int(cm, "deletionGracePeriodSeconds"), 0);
    /* deleting again changes nothing while finalizers remain */
    ck_assert_int_eq(api_meta_prepare_delete(cm, k, &default_delete, &ctx, NULL),
                     API_DELETE_DEFERRED);
    /* a controller removes its finalizer: still there */
    upd = json_deep_copy(cm);
    ck_assert_int_eq(api_meta_finalizer_remove(upd, "example.com/a"), 1);
    ck_assert_int_eq(api_meta_finalizer_remove(upd, "example.com/a"), 0);
    ck_assert_int_eq(update(cm, upd, API_UPDATE_MAIN, 9, NULL), 0);
    json_decref(cm);
    cm = upd;
    /* adding a finalizer while deleting is refused */
    upd = json_deep_copy(cm);
    ck_assert_int_eq(api_meta_finalizer_add(upd, "example.com/c"), 1);
    ck_assert_int_eq(api_meta_finalizer_add(upd, "example.com/c"), 0);
    ck_assert_int_eq(update(cm, upd, API_UPDATE_MAIN, 10, NULL), -EINVAL);
    json_decref(upd);
    /* the last finalizer goes: the update says "remove now" */
    upd = json_deep_copy(cm);
    api_meta_finalizer_remove(upd, "example.com/b");
    ck_assert_ptr_null(json_object_get(json_object_get(upd, "metadata"), "finalizers"));
    ck_assert_int_eq(update(cm, upd, API_UPDATE_MAIN, 11, NULL), 1);
    ck_assert(api_meta_should_remove(upd));
    json_decref(upd);
    json_decref(cm);
}
END_TEST

START_TEST(propagation_policies_add_their_finalizer)
{
    struct api_meta_ctx ctx = ctx_at(NOW, 8);
    const struct api_kind *k = api_kind_lookup("deploy");
    struct api_delete_opts opts = default_delete;
    json_t *d = json_pack("{s:s,s:s,s:{s:s,s:s}}", "apiVersion", "apps/v1", "kind", "Deployment",
                          "metadata", "name", "d", "namespace", "default");

    opts.propagation = API_PROPAGATE_FOREGROUND;
    ck_assert_int_eq(api_meta_prepare_delete(d, k, &opts, &ctx, NULL), API_DELETE_DEFERRED);
    ck_assert_str_eq(json_string_value(json_array_get(
                         json_object_get(json_object_get(d, "metadata"), "finalizers"), 0)),
                     "foregroundDeletion");
    json_decref(d);
    d = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "apps/v1", "kind", "Deployment", "metadata",
                  "name", "d");
    opts.propagation = API_PROPAGATE_ORPHAN;
    ck_assert_int_eq(api_meta_prepare_delete(d, k, &opts, &ctx, NULL), API_DELETE_DEFERRED);
    ck_assert_str_eq(json_string_value(json_array_get(
                         json_object_get(json_object_get(d, "metadata"), "finalizers"), 0)),
                     "orphan");
    json_decref(d);
}
END_TEST

START_TEST(delete_preconditions_conflict)
{
    struct api_meta_ctx ctx = ctx_at(NOW, 8);
    struct api_delete_opts opts = default_delete;
    json_t *pod = created_pod();
    struct sk_err err;

    sk_err_init(&err);
    opts.precondition_uid = "other";
    ck_assert_int_eq(api_meta_prepare_delete(pod, api_kind_lookup("po"), &opts, &ctx, &err),
                     -ESTALE);
    ck_assert_str_eq(err.msg, "Operation cannot be fulfilled on pods \"web\": Precondition failed: "
                              "UID in precondition: other, UID in object meta: 0b7e3f2a-uid");
    opts.precondition_uid = "0b7e3f2a-uid";
    opts.precondition_version = "4";
    ck_assert_int_eq(api_meta_prepare_delete(pod, api_kind_lookup("po"), &opts, &ctx, &err),
                     -ESTALE);
    opts.precondition_version = "5";
    ck_assert_int_eq(api_meta_prepare_delete(pod, api_kind_lookup("po"), &opts, &ctx, &err),
                     API_DELETE_NOW);
    json_decref(pod);
}
END_TEST

START_TEST(update_of_another_kind_is_refused)
{
    json_t *old = created_pod();
    json_t *new = load("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
                       "\"web\"}}");
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_eq(update(old, new, API_UPDATE_MAIN, 9, &err), -EBADMSG);
    ck_assert_str_eq(err.msg, "cannot change the kind of Pod \"web\" to ConfigMap");
    json_decref(old);
    json_decref(new);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("api_meta");
    TCase *tc = tcase_create("create");

    tcase_add_test(tc, time_is_rfc3339_utc_and_parses_back);
    tcase_add_test(tc, create_sets_server_fields);
    tcase_add_test(tc, create_drops_client_server_fields);
    tcase_add_test(tc, create_starts_namespaces_active);
    tcase_add_test(tc, generate_name_appends_five_random_characters);
    tcase_add_test(tc, generate_name_is_cut_to_58_bytes);
    tcase_add_loop_test(tc, create_refuses_bad_metadata, 0, N(create_fail_cases));
    tcase_add_test(tc, create_pipeline_reports_all_validation_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("update");
    tcase_add_test(tc, stale_resource_version_conflicts);
    tcase_add_test(tc, update_without_resource_version_is_unconditional);
    tcase_add_test(tc, update_keeps_server_fields_and_bumps_generation_on_spec_change);
    tcase_add_test(tc, main_update_ignores_status);
    tcase_add_test(tc, status_update_changes_only_status);
    tcase_add_test(tc, configmap_update_has_no_generation);
    tcase_add_loop_test(tc, immutable_fields_refuse_changes, 0, N(immutable_cases));
    tcase_add_test(tc, update_of_another_kind_is_refused);
    suite_add_tcase(s, tc);
    tc = tcase_create("delete");
    tcase_add_test(tc, delete_without_finalizers_is_immediate);
    tcase_add_test(tc, delete_of_bound_pod_is_graceful);
    tcase_add_test(tc, finished_pods_are_deleted_at_once);
    tcase_add_test(tc, finalizers_make_deletion_two_phase);
    tcase_add_test(tc, propagation_policies_add_their_finalizer);
    tcase_add_test(tc, delete_preconditions_conflict);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
