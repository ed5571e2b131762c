/* api/: defaulting of real-world minimal manifests (YAML through
 * sk_manifest_parse), compared with the object Kubernetes v1.28 stores. */
#include "api/object.h"
#include "lib/err.h"
#include "lib/yaml.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

static json_t *
manifest(const char *yaml)
{
    struct sk_err err;
    json_t **docs, *obj;
    size_t n;

    sk_err_init(&err);
    ck_assert_msg(sk_manifest_parse(yaml, strlen(yaml), &docs, &n, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(n, 1);
    obj = json_incref(docs[0]);
    sk_json_docs_free(docs, n);
    return obj;
}

static void
assert_json_eq(const json_t *got, const char *want_text)
{
    json_error_t jerr;
    json_t *want = json_loads(want_text, 0, &jerr);
    char *g, *w;

    ck_assert_msg(want != NULL, "bad expected JSON: %s", jerr.text);
    if (!json_equal(got, want)) {
        g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
        w = json_dumps(want, JSON_SORT_KEYS | JSON_COMPACT);
        ck_abort_msg("defaulted object differs:\n got: %s\nwant: %s", g, w);
    }
    json_decref(want);
}

static const struct {
    const char *name;
    const char *yaml;
    const char *want;
} cases[] = {
    {"pod",
     "apiVersion: v1\n"
     "kind: Pod\n"
     "metadata:\n"
     "  name: web\n"
     "  labels:\n"
     "    app: web\n"
     "spec:\n"
     "  containers:\n"
     "  - name: web\n"
     "    image: nginx:1.25\n"
     "    ports:\n"
     "    - containerPort: 80\n"
     "    resources:\n"
     "      limits:\n"
     "        cpu: 500m\n"
     "        memory: 128Mi\n"
     "    livenessProbe:\n"
     "      httpGet:\n"
     "        path: /healthz\n"
     "        port: 80\n"
     "  - name: sidecar\n"
     "    image: busybox\n"
     "    command: [\"sh\", \"-c\", \"sleep 3600\"]\n"
     "    lifecycle:\n"
     "      preStop:\n"
     "        httpGet:\n"
     "          port: 8080\n",
     "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\",\"labels\":{\"app\":"
     "\"web\"}},\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx:1.25\",\"ports\":[{"
     "\"containerPort\":80,\"protocol\":\"TCP\"}],\"resources\":{\"limits\":{\"cpu\":\"500m\","
     "\"memory\":\"128Mi\"},\"requests\":{\"cpu\":\"500m\",\"memory\":\"128Mi\"}},"
     "\"livenessProbe\":{\"httpGet\":{\"path\":\"/healthz\",\"port\":80,\"scheme\":\"HTTP\"},"
     "\"timeoutSeconds\":1,\"periodSeconds\":10,\"successThreshold\":1,\"failureThreshold\":3},"
     "\"imagePullPolicy\":\"IfNotPresent\",\"terminationMessagePath\":\"/dev/termination-log\","
     "\"terminationMessagePolicy\":\"File\"},{\"name\":\"sidecar\",\"image\":\"busybox\","
     "\"command\":[\"sh\",\"-c\",\"sleep 3600\"],\"lifecycle\":{\"preStop\":{\"httpGet\":{"
     "\"port\":8080,\"path\":\"/"
     "\",\"scheme\":\"HTTP\"}}},\"resources\":{},\"imagePullPolicy\":\"Always\","
     "\"terminationMessagePath\":\"/dev/termination-log\",\"terminationMessagePolicy\":\"File\"}],"
     "\"restartPolicy\":\"Always\",\"terminationGracePeriodSeconds\":30,\"dnsPolicy\":"
     "\"ClusterFirst\",\"securityContext\":{},\"schedulerName\":\"default-scheduler\","
     "\"enableServiceLinks\":true}}"},
    {"deployment",
     "apiVersion: apps/v1\n"
     "kind: Deployment\n"
     "metadata:\n"
     "  name: web\n"
     "spec:\n"
     "  selector:\n"
     "    matchLabels: {app: web}\n"
     "  template:\n"
     "    metadata:\n"
     "      labels: {app: web}\n"
     "    spec:\n"
     "      containers:\n"
     "      - name: web\n"
     "        image: registry.local:5000/nginx:latest\n",
     "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\"},\"spec\":"
     "{\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"replicas\":1,\"strategy\":{\"type\":"
     "\"RollingUpdate\",\"rollingUpdate\":{\"maxUnavailable\":\"25%\",\"maxSurge\":\"25%\"}},"
     "\"revisionHistoryLimit\":10,\"progressDeadlineSeconds\":600,\"template\":{\"metadata\":{"
     "\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":"
     "\"registry.local:5000/nginx:latest\",\"resources\":{},\"imagePullPolicy\":\"Always\","
     "\"terminationMessagePath\":\"/dev/termination-log\",\"terminationMessagePolicy\":\"File\"}]"
     ",\"restartPolicy\":\"Always\",\"terminationGracePeriodSeconds\":30,\"dnsPolicy\":"
     "\"ClusterFirst\",\"securityContext\":{},\"schedulerName\":\"default-scheduler\","
     "\"enableServiceLinks\":true}}}}"},
    {"service",
     "apiVersion: v1\n"
     "kind: Service\n"
     "metadata:\n"
     "  name: web\n"
     "spec:\n"
     "  selector:\n"
     "    app: web\n"
     "  ports:\n"
     "  - name: http\n"
     "    port: 80\n"
     "    targetPort: 8080\n"
     "  - name: metrics\n"
     "    port: 9090\n",
     "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"web\"},\"spec\":{"
     "\"selector\":{\"app\":\"web\"},\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":8080,"
     "\"protocol\":\"TCP\"},{\"name\":\"metrics\",\"port\":9090,\"protocol\":\"TCP\","
     "\"targetPort\":9090}],\"type\":\"ClusterIP\",\"sessionAffinity\":\"None\","
     "\"internalTrafficPolicy\":\"Cluster\",\"ipFamilies\":[\"IPv4\"],\"ipFamilyPolicy\":"
     "\"SingleStack\"}}"},
    {"nodeport service",
     "apiVersion: v1\n"
     "kind: Service\n"
     "metadata: {name: web}\n"
     "spec:\n"
     "  type: NodePort\n"
     "  clusterIP: 10.96.0.20\n"
     "  sessionAffinity: ClientIP\n"
     "  ports: [{port: 80, targetPort: http, protocol: UDP}]\n",
     "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"web\"},\"spec\":{"
     "\"type\":\"NodePort\",\"clusterIP\":\"10.96.0.20\",\"clusterIPs\":[\"10.96.0.20\"],"
     "\"sessionAffinity\":\"ClientIP\",\"sessionAffinityConfig\":{\"clientIP\":{"
     "\"timeoutSeconds\":10800}},\"ports\":[{\"port\":80,\"targetPort\":\"http\",\"protocol\":"
     "\"UDP\"}],\"internalTrafficPolicy\":\"Cluster\",\"externalTrafficPolicy\":\"Cluster\","
     "\"ipFamilies\":[\"IPv4\"],\"ipFamilyPolicy\":\"SingleStack\"}}"},
    {"replicaset keeps what is given",
     "apiVersion: apps/v1\n"
     "kind: ReplicaSet\n"
     "metadata: {name: web}\n"
     "spec:\n"
     "  replicas: 0\n"
     "  selector: {matchLabels: {app: web}}\n"
     "  template:\n"
     "    metadata: {labels: {app: web}}\n"
     "    spec:\n"
     "      restartPolicy: Always\n"
     "      terminationGracePeriodSeconds: 5\n"
     "      containers: [{name: web, image: 'nginx@sha256:abc', imagePullPolicy: Never}]\n",
     "{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"metadata\":{\"name\":\"web\"},"
     "\"spec\":{\"replicas\":0,\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"template\":{"
     "\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"restartPolicy\":\"Always\","
     "\"terminationGracePeriodSeconds\":5,\"containers\":[{\"name\":\"web\",\"image\":"
     "\"nginx@sha256:abc\",\"imagePullPolicy\":\"Never\",\"resources\":{},"
     "\"terminationMessagePath\":\"/dev/termination-log\",\"terminationMessagePolicy\":\"File\"}"
     "],\"dnsPolicy\":\"ClusterFirst\",\"securityContext\":{},\"schedulerName\":"
     "\"default-scheduler\",\"enableServiceLinks\":true}}}}"},
    {"secret",
     "apiVersion: v1\n"
     "kind: Secret\n"
     "metadata: {name: db}\n"
     "data: {a: eA==}\n"
     "stringData: {password: hunter2, a: y}\n",
     "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"db\"},\"type\":"
     "\"Opaque\",\"data\":{\"a\":\"eQ==\",\"password\":\"aHVudGVyMg==\"}}"},
    {"namespace", "apiVersion: v1\nkind: Namespace\nmetadata: {name: prod}\n",
     "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"prod\"},\"status\":"
     "{\"phase\":\"Active\"}}"},
    {"node", "apiVersion: v1\nkind: Node\nmetadata: {name: n1}\nstatus: {capacity: {cpu: '4'}}\n",
     "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"n1\"},\"status\":{"
     "\"capacity\":{\"cpu\":\"4\"},\"allocatable\":{\"cpu\":\"4\"}}}"},
    {"rolebinding",
     "apiVersion: rbac.authorization.k8s.io/v1\n"
     "kind: RoleBinding\n"
     "metadata: {name: r}\n"
     "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}\n"
     "subjects: [{kind: User, name: alice}, {kind: ServiceAccount, name: sa, namespace: x}]\n",
     "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"RoleBinding\",\"metadata\":{"
     "\"name\":\"r\"},\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"Role\","
     "\"name\":\"reader\"},\"subjects\":[{\"kind\":\"User\",\"name\":\"alice\",\"apiGroup\":"
     "\"rbac.authorization.k8s.io\"},{\"kind\":\"ServiceAccount\",\"name\":\"sa\",\"namespace\":"
     "\"x\",\"apiGroup\":\"\"}]}"},
    {"pod volumes, env and host network",
     "apiVersion: v1\n"
     "kind: Pod\n"
     "metadata: {name: p}\n"
     "spec:\n"
     "  hostNetwork: true\n"
     "  restartPolicy: Never\n"
     "  volumes:\n"
     "  - {name: c, configMap: {name: cfg}}\n"
     "  - {name: s, secret: {secretName: s, defaultMode: 256}}\n"
     "  - {name: h, hostPath: {path: /var/log}}\n"
     "  containers:\n"
     "  - name: c\n"
     "    image: app\n"
     "    ports: [{containerPort: 8080}]\n"
     "    env: [{name: NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}]\n"
     "    readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 5}\n",
     "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"},\"spec\":{"
     "\"hostNetwork\":true,\"restartPolicy\":\"Never\",\"volumes\":[{\"name\":\"c\",\"configMap\":"
     "{\"name\":\"cfg\",\"defaultMode\":420}},{\"name\":\"s\",\"secret\":{\"secretName\":\"s\","
     "\"defaultMode\":256}},{\"name\":\"h\",\"hostPath\":{\"path\":\"/var/log\",\"type\":\"\"}}],"
     "\"containers\":[{\"name\":\"c\",\"image\":\"app\",\"ports\":[{\"containerPort\":8080,"
     "\"protocol\":\"TCP\",\"hostPort\":8080}],\"env\":[{\"name\":\"NODE\",\"valueFrom\":{"
     "\"fieldRef\":{\"fieldPath\":\"spec.nodeName\",\"apiVersion\":\"v1\"}}}],\"readinessProbe\":"
     "{\"tcpSocket\":{\"port\":8080},\"periodSeconds\":5,\"timeoutSeconds\":1,"
     "\"successThreshold\":1,\"failureThreshold\":3},\"resources\":{},\"imagePullPolicy\":"
     "\"Always\",\"terminationMessagePath\":\"/dev/termination-log\",\"terminationMessagePolicy\""
     ":\"File\"}],\"terminationGracePeriodSeconds\":30,\"dnsPolicy\":\"ClusterFirst\","
     "\"securityContext\":{},\"schedulerName\":\"default-scheduler\",\"enableServiceLinks\":true}"
     "}"},
};

START_TEST(manifests_default_like_kubernetes)
{
    json_t *obj = manifest(cases[_i].yaml);
    const struct api_kind *k;
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_eq(api_kind_of(obj, &k, &err), 0);
    api_object_default(obj, k);
    assert_json_eq(obj, cases[_i].want);
    json_decref(obj);
}
END_TEST

START_TEST(defaulting_twice_changes_nothing)
{
    json_t *obj = manifest(cases[_i].yaml), *once;
    const struct api_kind *k;

    ck_assert_int_eq(api_kind_of(obj, &k, NULL), 0);
    api_object_default(obj, k);
    once = json_deep_copy(obj);
    api_object_default(obj, k);
    ck_assert(json_equal(obj, once));
    json_decref(once);
    json_decref(obj);
}
END_TEST

START_TEST(defaulted_manifests_are_valid)
{
    json_t *obj = manifest(cases[_i].yaml);
    const struct api_kind *k;
    struct api_errors errs;
    struct api_meta_ctx ctx = {.now = 0, .uid = "u", .rev = 1};

    ck_assert_int_eq(api_kind_of(obj, &k, NULL), 0);
    api_errors_init(&errs);
    api_object_default(obj, k);
    ck_assert_int_eq(api_meta_prepare_create(obj, k, &ctx, &errs, NULL), 0);
    ck_assert_msg(api_object_validate(obj, k, &errs) == 0, "%s: %s: %s", cases[_i].name,
                  errs.items[0].field, errs.items[0].detail ? errs.items[0].detail : "");
    api_errors_release(&errs);
    json_decref(obj);
}
END_TEST

START_TEST(image_pull_policy_follows_the_tag)
{
    static const struct {
        const char *image, *policy;
    } t[] = {
        {"nginx", "Always"},
        {"nginx:latest", "Always"},
        {"nginx:1.25", "IfNotPresent"},
        {"registry:5000/nginx", "Always"},
        {"registry:5000/nginx:1", "IfNotPresent"},
        {"nginx@sha256:0123", "IfNotPresent"},
        {"", "IfNotPresent"},
    };
    const struct api_kind *k = api_kind_lookup("pod");

    for (size_t i = 0; i < N(t); i++) {
        json_t *pod = json_pack("{s:{s:[{s:s,s:s}]}}", "spec", "containers", "name", "c", "image",
                                t[i].image);

        api_object_default(pod, k);
        ck_assert_str_eq(
            json_string_value(json_object_get(
                json_array_get(json_object_get(json_object_get(pod, "spec"), "containers"), 0),
                "imagePullPolicy")),
            t[i].policy);
        json_decref(pod);
    }
}
END_TEST

START_TEST(wrong_types_are_left_for_validation)
{
    const struct api_kind *k = api_kind_lookup("deploy");
    json_t *obj = json_pack("{s:s,s:s,s:{s:s,s:[]}}", "apiVersion", "apps/v1", "kind", "Deployment",
                            "spec", "strategy", "fast", "template");
    json_t *copy = json_deep_copy(obj);

    api_object_default(obj, k);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(obj, "spec"), "strategy")),
                     "fast");
    ck_assert(json_is_array(json_object_get(json_object_get(obj, "spec"), "template")));
    json_decref(copy);
    json_decref(obj);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("api_defaults");
    TCase *tc = tcase_create("defaults");

    tcase_add_loop_test(tc, manifests_default_like_kubernetes, 0, N(cases));
    tcase_add_loop_test(tc, defaulting_twice_changes_nothing, 0, N(cases));
    tcase_add_loop_test(tc, defaulted_manifests_are_valid, 0, N(cases));
    tcase_add_test(tc, image_pull_policy_follows_the_tag);
    tcase_add_test(tc, wrong_types_are_left_for_validation);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
