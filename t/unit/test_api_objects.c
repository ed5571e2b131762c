/* api/: the kind registry, store keys, field error formatting and status
 * mapping. */
#include "api/object.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "unit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
    const char *name;
    const char *kind; /* NULL: unknown */
} lookup_cases[] = {
    {"Pod", "Pod"},
    {"pods", "Pod"},
    {"pod", "Pod"},
    {"po", "Pod"},
    {"PODS", "Pod"},
    {"deploy", "Deployment"},
    {"deployments", "Deployment"},
    {"Deployment", "Deployment"},
    {"rs", "ReplicaSet"},
    {"replicaset", "ReplicaSet"},
    {"svc", "Service"},
    {"services", "Service"},
    {"ep", "Endpoints"},
    {"endpoints", "Endpoints"},
    {"no", "Node"},
    {"nodes", "Node"},
    {"ns", "Namespace"},
    {"namespace", "Namespace"},
    {"cm", "ConfigMap"},
    {"configmaps", "ConfigMap"},
    {"ev", "Event"},
    {"events", "Event"},
    {"sa", "ServiceAccount"},
    {"serviceaccount", "ServiceAccount"},
    {"secret", "Secret"},
    {"secrets", "Secret"},
    {"role", "Role"},
    {"rolebindings", "RoleBinding"},
    {"ClusterRole", "ClusterRole"},
    {"clusterrolebinding", "ClusterRoleBinding"},
    {"", NULL},
    {"p", NULL},
    {"podss", NULL},
    {"ingress", NULL},
};

START_TEST(lookup_by_kind_resource_singular_or_short_name)
{
    const struct api_kind *k = api_kind_lookup(lookup_cases[_i].name);

    if (!lookup_cases[_i].kind) {
        ck_assert_ptr_null(k);
        return;
    }
    ck_assert_msg(k != NULL, "'%s' not found", lookup_cases[_i].name);
    ck_assert_str_eq(k->kind, lookup_cases[_i].kind);
}
END_TEST

START_TEST(registry_describes_every_kind)
{
    static const struct {
        const char *kind, *version, *resource;
        bool namespaced;
    } want[] = {
        {"Namespace", "v1", "namespaces", false},
        {"Node", "v1", "nodes", false},
        {"Pod", "v1", "pods", true},
        {"ReplicaSet", "apps/v1", "replicasets", true},
        {"Deployment", "apps/v1", "deployments", true},
        {"Service", "v1", "services", true},
        {"Endpoints", "v1", "endpoints", true},
        {"ServiceAccount", "v1", "serviceaccounts", true},
        {"ConfigMap", "v1", "configmaps", true},
        {"Secret", "v1", "secrets", true},
        {"Event", "v1", "events", true},
        {"Role", "rbac.authorization.k8s.io/v1", "roles", true},
        {"RoleBinding", "rbac.authorization.k8s.io/v1", "rolebindings", true},
        {"ClusterRole", "rbac.authorization.k8s.io/v1", "clusterroles", false},
        {"ClusterRoleBinding", "rbac.authorization.k8s.io/v1", "clusterrolebindings", false},
        {"Lease", "coordination.k8s.io/v1", "leases", true},
    };
    size_t n;
    const struct api_kind *kinds = api_kinds(&n);

    ck_assert_uint_eq(n, N(want));
    for (size_t i = 0; i < n; i++) {
        ck_assert_str_eq(kinds[i].kind, want[i].kind);
        ck_assert_str_eq(kinds[i].api_version, want[i].version);
        ck_assert_str_eq(kinds[i].resource, want[i].resource);
        ck_assert_int_eq(kinds[i].namespaced, want[i].namespaced);
    }
}
END_TEST

START_TEST(subresources_are_listed)
{
    const struct api_kind *pod = api_kind_lookup("pods");

    ck_assert(api_kind_has_subresource(pod, "status"));
    ck_assert(api_kind_has_subresource(pod, "binding"));
    ck_assert(api_kind_has_subresource(pod, "log"));
    ck_assert(api_kind_has_subresource(pod, "exec"));
    ck_assert(!api_kind_has_subresource(pod, "scale"));
    ck_assert(api_kind_has_subresource(api_kind_lookup("deploy"), "scale"));
    ck_assert(api_kind_has_subresource(api_kind_lookup("rs"), "scale"));
    ck_assert(api_kind_has_subresource(api_kind_lookup("no"), "status"));
    ck_assert(!api_kind_has_subresource(api_kind_lookup("cm"), "status"));
}
END_TEST

static const struct {
    const char *text;
    const char *kind; /* NULL: error */
    const char *msg;
} kind_of_cases[] = {
    {"{\"apiVersion\":\"v1\",\"kind\":\"Pod\"}", "Pod", NULL},
    {"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\"}", "Deployment", NULL},
    {"{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"Role\"}", "Role", NULL},
    {"{\"apiVersion\":\"apps/v1\",\"kind\":\"Pod\"}", NULL,
     "no kind \"Pod\" is registered for version \"apps/v1\""},
    {"{\"apiVersion\":\"v1\",\"kind\":\"pod\"}", NULL,
     "no kind \"pod\" is registered for version \"v1\""},
    {"{\"apiVersion\":\"v1\"}", NULL, "object 'kind' is missing"},
    {"{\"kind\":\"Pod\"}", NULL, "object 'apiVersion' is missing"},
    {"{\"apiVersion\":1,\"kind\":\"Pod\"}", NULL, "object 'apiVersion' is missing"},
    {"[1]", NULL, "object must be a JSON object"},
    {"\"Pod\"", NULL, "object must be a JSON object"},
};

START_TEST(kind_of_reads_api_version_and_kind_exactly)
{
    const struct api_kind *k;
    struct sk_err err;
    json_t *obj = json_loads(kind_of_cases[_i].text, JSON_DECODE_ANY, NULL);
    int rc;

    sk_err_init(&err);
    rc = api_kind_of(obj, &k, &err);
    if (kind_of_cases[_i].kind) {
        ck_assert_int_eq(rc, 0);
        ck_assert_str_eq(k->kind, kind_of_cases[_i].kind);
    } else {
        ck_assert_int_eq(rc, -EBADMSG);
        ck_assert_ptr_null(k);
        ck_assert_str_eq(err.msg, kind_of_cases[_i].msg);
    }
    json_decref(obj);
}
END_TEST

static const struct {
    const char *kind, *ns, *name;
    const char *key; /* NULL: error */
    const char *msg;
} key_cases[] = {
    {"pods", "default", "web", "/registry/pods/default/web", NULL},
    {"deploy", "kube-system", "dns", "/registry/deployments/kube-system/dns", NULL},
    {"nodes", NULL, "node-1", "/registry/nodes/node-1", NULL},
    {"ns", "", "prod", "/registry/namespaces/prod", NULL},
    {"clusterroles", NULL, "system:node", "/registry/clusterroles/system:node", NULL},
    {"nodes", "default", "n", NULL,
     "store key: nodes are cluster-scoped, namespace 'default' given"},
    {"pods", NULL, "web", NULL, "store key: namespace must not be empty"},
    {"pods", "default", "", NULL, "store key: name must not be empty"},
    {"pods", "default", "a/b", NULL, "store key: name 'a/b' is not a path segment"},
    {"pods", "..", "web", NULL, "store key: namespace '..' is not a path segment"},
    {"pods", "default", ".", NULL, "store key: name '.' is not a path segment"},
};

START_TEST(store_keys_are_built_per_scope)
{
    struct sk_buf out = SK_BUF_INIT;
    struct sk_err err;
    int rc;

    sk_err_init(&err);
    rc = api_key_build(api_kind_lookup(key_cases[_i].kind), key_cases[_i].ns, key_cases[_i].name,
                       &out, &err);
    if (key_cases[_i].key) {
        ck_assert_int_eq(rc, 0);
        ck_assert_str_eq(out.data, key_cases[_i].key);
    } else {
        ck_assert_int_eq(rc, -EINVAL);
        ck_assert_uint_eq(out.len, 0);
        ck_assert_str_eq(err.msg, key_cases[_i].msg);
    }
    sk_buf_release(&out);
}
END_TEST

START_TEST(key_prefixes_for_list_and_watch)
{
    struct sk_buf out = SK_BUF_INIT;

    api_key_prefix(api_kind_lookup("pods"), "default", &out);
    ck_assert_str_eq(out.data, "/registry/pods/default/");
    sk_buf_reset(&out);
    api_key_prefix(api_kind_lookup("pods"), "*", &out);
    ck_assert_str_eq(out.data, "/registry/pods/");
    sk_buf_reset(&out);
    api_key_prefix(api_kind_lookup("pods"), NULL, &out);
    ck_assert_str_eq(out.data, "/registry/pods/");
    sk_buf_reset(&out);
    api_key_prefix(api_kind_lookup("nodes"), "default", &out);
    ck_assert_str_eq(out.data, "/registry/nodes/");
    sk_buf_release(&out);
}
END_TEST

START_TEST(field_errors_format_like_kubernetes)
{
    struct api_errors errs;
    struct sk_buf out = SK_BUF_INIT;
    json_t *neg = json_integer(-1), *str = json_string("Sometimes");

    api_errors_init(&errs);
    api_errors_add(&errs, API_FE_REQUIRED, "spec.containers[0].image", NULL, NULL);
    api_errors_format(&errs, "Pod", "web", &out);
    ck_assert_str_eq(out.data, "Pod \"web\" is invalid: spec.containers[0].image: Required value");
    api_errors_add(&errs, API_FE_INVALID, "spec.replicas", neg,
                   "must be greater than or equal to 0");
    api_errors_add(&errs, API_FE_NOT_SUPPORTED, "spec.restartPolicy", str,
                   "supported values: \"Always\", \"OnFailure\", \"Never\"");
    api_errors_add(&errs, API_FE_FORBIDDEN, "spec", str, "no");
    sk_buf_reset(&out);
    api_errors_format(&errs, "Pod", "web", &out);
    ck_assert_str_eq(out.data,
                     "Pod \"web\" is invalid: [spec.containers[0].image: Required value, "
                     "spec.replicas: Invalid value: -1: must be greater than or equal to 0, "
                     "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: "
                     "\"Always\", \"OnFailure\", \"Never\", spec: Forbidden: no]");
    sk_buf_release(&out);
    api_errors_release(&errs);
    json_decref(neg);
    json_decref(str);
}
END_TEST

START_TEST(error_list_is_bounded_and_values_are_cut)
{
    struct api_errors errs;
    struct sk_buf out = SK_BUF_INIT;
    struct sk_err err;
    char big[1000];
    json_t *v;

    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    v = json_string(big);
    api_errors_init(&errs);
    for (int i = 0; i < API_ERRORS_MAX + 5; i++)
        api_errors_add(&errs, API_FE_INVALID, "x", v, "bad");
    ck_assert_uint_eq(errs.n, API_ERRORS_MAX);
    ck_assert_uint_eq(errs.dropped, 5);
    ck_assert_uint_lt(strlen(errs.items[0].value), 300);
    api_errors_format(&errs, "Pod", "p", &out);
    ck_assert(strstr(out.data, ", and 5 more errors]") != NULL);
    sk_err_init(&err);
    ck_assert_int_eq(api_errors_to_err(&errs, "Pod", "p", &err), -EINVAL);
    ck_assert(sk_startswith(err.msg, "Pod \"p\" is invalid: [x: Invalid value: \"aaa"));
    sk_buf_release(&out);
    api_errors_release(&errs);
    json_decref(v);
}
END_TEST

START_TEST(status_codes_and_reasons)
{
    const char *reason;

    ck_assert_int_eq(api_status_of(-EINVAL, &reason), 422);
    ck_assert_str_eq(reason, "Invalid");
    ck_assert_int_eq(api_status_of(-EBADMSG, &reason), 400);
    ck_assert_str_eq(reason, "BadRequest");
    ck_assert_int_eq(api_status_of(-ESTALE, &reason), 409);
    ck_assert_str_eq(reason, "Conflict");
    ck_assert_int_eq(api_status_of(-EPERM, &reason), 403);
    ck_assert_str_eq(reason, "Forbidden");
    ck_assert_int_eq(api_status_of(-EIO, &reason), 500);
    ck_assert_str_eq(reason, "InternalError");
}
END_TEST

static const struct {
    const char *kind, *label, *want; /* want NULL: unsupported */
} label_cases[] = {
    {"pods", "metadata.name", "web"},
    {"pods", "metadata.namespace", "default"},
    {"pods", "spec.nodeName", "node-1"},
    {"pods", "status.phase", "Running"},
    {"pods", "status.podIP", ""},
    {"pods", "spec.containers", NULL},
    {"nodes", "spec.unschedulable", "false"},
    {"events", "involvedObject.name", "web"},
    {"events", "source", "kubelet"},
    {"events", "metadata.name", "web"},
    {"configmaps", "data", NULL},
};

START_TEST(field_labels_read_the_object)
{
    json_t *pod = json_loads("{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},"
                             "\"spec\":{\"nodeName\":\"node-1\"},\"status\":{\"phase\":"
                             "\"Running\"}}",
                             0, NULL);
    json_t *ev = json_loads("{\"metadata\":{\"name\":\"web\"},\"involvedObject\":{\"name\":"
                            "\"web\"},\"source\":{\"component\":\"kubelet\"}}",
                            0, NULL);
    const struct api_kind *k = api_kind_lookup(label_cases[_i].kind);
    char out[64];
    struct sk_err err;
    int rc;

    sk_err_init(&err);
    rc = api_field_label_value(!strcmp(k->kind, "Event") ? ev : pod, k, label_cases[_i].label, out,
                               sizeof(out), &err);
    if (label_cases[_i].want) {
        ck_assert_int_eq(rc, 0);
        ck_assert_str_eq(out, label_cases[_i].want);
    } else {
        ck_assert_int_eq(rc, -EINVAL);
        ck_assert(sk_startswith(err.msg, "field label not supported: "));
    }
    json_decref(pod);
    json_decref(ev);
}
END_TEST

START_TEST(binding_sets_node_name_once)
{
    json_t *pod = json_loads("{\"metadata\":{\"name\":\"web\"},\"spec\":{}}", 0, NULL);
    json_t *b1 = json_loads("{\"target\":{\"kind\":\"Node\",\"name\":\"node-1\"}}", 0, NULL);
    json_t *b2 = json_loads("{\"target\":{\"name\":\"node-2\"}}", 0, NULL);
    json_t *bad = json_loads("{\"target\":{\"kind\":\"Pod\",\"name\":\"x\"}}", 0, NULL);
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_eq(api_pod_bind(pod, bad, 1764100000, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "Binding \"web\" is invalid: target.kind: Unsupported value: "
                              "\"Pod\": supported values: \"Node\"");
    ck_assert_int_eq(api_pod_bind(pod, json_object_get(bad, "nothing"), 1764100000, &err), -EINVAL);
    ck_assert_int_eq(api_pod_bind(pod, b1, 1764100000, &err), 0);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(pod, "spec"), "nodeName")),
                     "node-1");
    {
        json_t *c =
            json_array_get(json_object_get(json_object_get(pod, "status"), "conditions"), 0);

        ck_assert_str_eq(json_string_value(json_object_get(c, "type")), "PodScheduled");
        ck_assert_str_eq(json_string_value(json_object_get(c, "status")), "True");
        ck_assert_str_eq(json_string_value(json_object_get(c, "lastTransitionTime")),
                         "2025-11-25T19:46:40Z");
    }
    ck_assert_int_eq(api_pod_bind(pod, b2, 1764100000, &err), -ESTALE);
    ck_assert_str_eq(err.msg, "Operation cannot be fulfilled on pods/binding \"web\": pod web is "
                              "already assigned to node \"node-1\"");
    json_decref(pod);
    json_decref(b1);
    json_decref(b2);
    json_decref(bad);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("api_objects");
    TCase *tc = tcase_create("registry");

    tcase_add_loop_test(tc, lookup_by_kind_resource_singular_or_short_name, 0, N(lookup_cases));
    tcase_add_test(tc, registry_describes_every_kind);
    tcase_add_test(tc, subresources_are_listed);
    tcase_add_loop_test(tc, kind_of_reads_api_version_and_kind_exactly, 0, N(kind_of_cases));
    tcase_add_loop_test(tc, store_keys_are_built_per_scope, 0, N(key_cases));
    tcase_add_test(tc, key_prefixes_for_list_and_watch);
    tcase_add_test(tc, field_errors_format_like_kubernetes);
    tcase_add_test(tc, error_list_is_bounded_and_values_are_cut);
    tcase_add_test(tc, status_codes_and_reasons);
    tcase_add_loop_test(tc, field_labels_read_the_object, 0, N(label_cases));
    tcase_add_test(tc, binding_sets_node_name_once);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
