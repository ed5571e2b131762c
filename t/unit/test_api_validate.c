/* api/: validation of every kind, one table row per rule, each checking
 * the exact field path and message; collection of many errors; hostile
 * input (wrong types everywhere, deep and huge objects). */
#include "api/object.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Valid objects each case starts from (before defaulting). */
static const struct {
    const char *kind;
    const char *json;
} bases[] = {
    {"Pod", "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\","
            "\"namespace\":\"default\"},\"spec\":{\"containers\":[{\"name\":\"web\","
            "\"image\":\"nginx:1.25\"}]}}"},
    {"Deployment", "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":"
                   "\"web\",\"namespace\":\"default\"},\"spec\":{\"selector\":{\"matchLabels\":"
                   "{\"app\":\"web\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},"
                   "\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx\"}]}}}}"},
    {"ReplicaSet", "{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"metadata\":{\"name\":"
                   "\"web\",\"namespace\":\"default\"},\"spec\":{\"selector\":{\"matchLabels\":"
                   "{\"app\":\"web\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},"
                   "\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx\"}]}}}}"},
    {"Service", "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"web\","
                "\"namespace\":\"default\"},\"spec\":{\"selector\":{\"app\":\"web\"},"
                "\"ports\":[{\"port\":80}]}}"},
    {"ConfigMap", "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"cfg\","
                  "\"namespace\":\"default\"},\"data\":{\"a.conf\":\"x=1\"}}"},
    {"Secret", "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"s\","
               "\"namespace\":\"default\"},\"data\":{\"password\":\"aHVudGVyMg==\"}}"},
    {"Namespace",
     "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"prod\"}}"},
    {"Node", "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"node-1\"},"
             "\"spec\":{\"podCIDR\":\"10.244.1.0/24\"}}"},
    {"Event", "{\"apiVersion\":\"v1\",\"kind\":\"Event\",\"metadata\":{\"name\":\"web.1\","
              "\"namespace\":\"default\"},\"involvedObject\":{\"kind\":\"Pod\",\"name\":\"web\","
              "\"namespace\":\"default\"},\"reason\":\"Started\",\"type\":\"Normal\"}"},
    {"Endpoints", "{\"apiVersion\":\"v1\",\"kind\":\"Endpoints\",\"metadata\":{\"name\":\"web\","
                  "\"namespace\":\"default\"},\"subsets\":[{\"addresses\":[{\"ip\":\"10.244.1.5\"}"
                  "],\"ports\":[{\"port\":80}]}]}"},
    {"ServiceAccount", "{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{\"name\":"
                       "\"default\",\"namespace\":\"default\"}}"},
    {"Role", "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"Role\",\"metadata\":{"
             "\"name\":\"reader\",\"namespace\":\"default\"},\"rules\":[{\"apiGroups\":[\"\"],"
             "\"resources\":[\"pods\"],\"verbs\":[\"get\",\"list\"]}]}"},
    {"RoleBinding", "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"RoleBinding\","
                    "\"metadata\":{\"name\":\"read\",\"namespace\":\"default\"},\"roleRef\":{"
                    "\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"Role\",\"name\":"
                    "\"reader\"},\"subjects\":[{\"kind\":\"User\",\"name\":\"alice\"}]}"},
    {"ClusterRoleBinding", "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":"
                           "\"ClusterRoleBinding\",\"metadata\":{\"name\":\"admins\"},\"roleRef\":"
                           "{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\","
                           "\"name\":\"admin\"},\"subjects\":[{\"kind\":\"Group\",\"name\":"
                           "\"ops\"}]}"},
};

static json_t *
load(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);

    ck_assert_msg(v != NULL, "bad test JSON '%s': %s", text, jerr.text);
    return v;
}

/* RFC 7386 JSON merge patch: objects merge, null deletes, the rest replaces. */
static void
merge_patch(json_t *target, const json_t *patch)
{
    const char *key;
    json_t *val, *cur;

    json_object_foreach ((json_t *)patch, key, val) {
        cur = json_object_get(target, key);
        if (json_is_null(val))
            json_object_del(target, key);
        else if (json_is_object(val) && json_is_object(cur))
            merge_patch(cur, val);
        else
            json_object_set_new(target, key, json_deep_copy(val));
    }
}

static json_t *
base_object(const char *kind, const char *patch)
{
    json_t *obj = NULL, *p;

    for (size_t i = 0; i < N(bases); i++)
        if (!strcmp(bases[i].kind, kind))
            obj = load(bases[i].json);
    ck_assert_msg(obj != NULL, "no base for %s", kind);
    if (patch) {
        p = load(patch);
        if (json_is_object(p))
            merge_patch(obj, p);
        else {
            json_decref(obj);
            obj = json_incref(p);
        }
        json_decref(p);
    }
    return obj;
}

/* Every error, formatted, one per line. */
static char *
errors_text(const struct api_errors *errs)
{
    struct sk_buf out = SK_BUF_INIT;

    for (size_t i = 0; i < errs->n; i++) {
        if (i)
            sk_buf_putc(&out, '\n');
        api_field_error_format(&errs->items[i], &out);
    }
    sk_buf_puts(&out, "");
    return sk_buf_detach(&out, NULL);
}

static char *
validate_text(const char *kind, const char *patch)
{
    const struct api_kind *k = api_kind_lookup(kind);
    json_t *obj = base_object(kind, patch);
    struct api_errors errs;
    char *text;

    api_errors_init(&errs);
    api_object_default(obj, k);
    api_object_validate(obj, k, &errs);
    text = errors_text(&errs);
    api_errors_release(&errs);
    json_decref(obj);
    return text;
}

START_TEST(base_objects_are_valid)
{
    char *text = validate_text(bases[_i].kind, NULL);

    ck_assert_msg(!*text, "%s: %s", bases[_i].kind, text);
    free(text);
}
END_TEST

/* One row per rule: a merge patch onto the base object of the kind and
 * the errors expected, one per line in order (empty: valid). */
static const struct {
    const char *kind, *patch, *want;
} rule_cases[] = {
    {"Pod", "{\"metadata\":{\"name\":\"Web_1\"}}",
     "metadata.name: Invalid value: \"Web_1\": a lowercase RFC 1123 subdomain must consist of "
     "lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric "
     "character (e.g. 'example.com', regex used for validation is "
     "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"},
    {"Pod", "{\"metadata\":{\"name\":null}}",
     "metadata.name: Required value: name or generateName is required"},
    {"Pod", "{\"metadata\":{\"name\":null,\"generateName\":\"web-\"}}",
     "metadata.name: Required value: name or generateName is required"},
    {"Pod", "{\"metadata\":{\"name\":\"web\",\"generateName\":\"Web-\"}}",
     "metadata.generateName: Invalid value: \"Web-\": a lowercase RFC 1123 subdomain must consist "
     "of lower case alphanumeric characters, '-' or '.', and must start and end with an "
     "alphanumeric character (e.g. 'example.com', regex used for validation is "
     "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"},
    {"Pod", "{\"metadata\":{\"namespace\":null}}", "metadata.namespace: Required value"},
    {"Pod", "{\"metadata\":{\"namespace\":\"Prod\"}}",
     "metadata.namespace: Invalid value: \"Prod\": a lowercase RFC 1123 label must consist of "
     "lower case alphanumeric characters or '-', and must start and end with an alphanumeric "
     "character (e.g. 'my-name',  or '123-abc', regex used for validation is "
     "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"},
    {"Namespace", "{\"metadata\":{\"namespace\":\"default\"}}",
     "metadata.namespace: Forbidden: not allowed on this type"},
    {"Namespace", "{\"metadata\":{\"name\":\"a.b\"}}",
     "metadata.name: Invalid value: \"a.b\": a lowercase RFC 1123 label must consist of lower case "
     "alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. "
     "'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"},
    {"Namespace",
     "{\"metadata\":{\"name\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}"
     "}",
     "metadata.name: Invalid value: "
     "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\": must be no more than "
     "63 characters"},
    {"Service", "{\"metadata\":{\"name\":\"1web\"}}",
     "metadata.name: Invalid value: \"1web\": a DNS-1035 label must consist of lower case "
     "alphanumeric characters or '-', start with an alphabetic character, and end with an "
     "alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is "
     "'[a-z]([-a-z0-9]*[a-z0-9])?')"},
    {"Pod", "{\"metadata\":{\"name\":\"1web.example.com\"}}", ""},
    {"Pod", "{\"metadata\":{\"labels\":{\"app\":\"web\",\"-bad\":\"x\",\"ok\":\"bad value\"}}}",
     "metadata.labels: Invalid value: \"-bad\": label key '-bad': name part must begin and end "
     "with an alphanumeric character\n"
     "metadata.labels: Invalid value: \"bad value\": label value 'bad value': may contain only "
     "alphanumerics, '-', '_' and '.'"},
    {"Pod",
     "{\"metadata\":{\"labels\":{\"Example.com/app\":\"x\",\"/app\":\"y\",\"a/b/c\":\"z\"}}}",
     "metadata.labels: Invalid value: \"Example.com/app\": label key 'Example.com/app': prefix "
     "part must be a DNS subdomain (lowercase alphanumerics, '-' and '.', every part beginning and "
     "ending with an alphanumeric)\n"
     "metadata.labels: Invalid value: \"/app\": label key '/app': prefix part must not be empty\n"
     "metadata.labels: Invalid value: \"a/b/c\": label key 'a/b/c': may contain at most one '/'"},
    {"Pod",
     "{\"metadata\":{\"labels\":{\"app\":"
     "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}}}",
     "metadata.labels: Invalid value: "
     "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\": label value "
     "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa': must be at most 63 "
     "characters"},
    {"Pod", "{\"metadata\":{\"labels\":{\"app\":7}}}",
     "metadata.labels[app]: Invalid value: 7: must be a string"},
    {"Pod", "{\"metadata\":{\"annotations\":{\"Example.COM/Note\":\"fine\",\"bad key\":\"x\"}}}",
     "metadata.annotations: Invalid value: \"bad key\": label key 'bad key': name part may contain "
     "only alphanumerics, '-', '_' and '.'"},
    {"Pod", "{\"metadata\":{\"finalizers\":[\"example.com/cleanup\",\"kubernetes\",\"cleanup\"]}}",
     "metadata.finalizers: Invalid value: \"cleanup\": name is neither a standard finalizer name "
     "nor is it fully qualified"},
    {"Pod",
     "{\"metadata\":{\"ownerReferences\":[{\"apiVersion\":\"apps/"
     "v1\",\"kind\":\"ReplicaSet\",\"name\":\"web-1\",\"uid\":\"u1\",\"controller\":true},{"
     "\"apiVersion\":\"apps/"
     "v1\",\"kind\":\"ReplicaSet\",\"name\":\"web-2\",\"uid\":\"u2\",\"controller\":true},{"
     "\"kind\":\"X\"}]}}",
     "metadata.ownerReferences.controller: Invalid value: true: Only one reference can have "
     "Controller set to true. Found \"true\" in references for web-1 and "
     "web-2\nmetadata.ownerReferences.apiVersion: Invalid value: \"\": version must not be "
     "empty\nmetadata.ownerReferences.name: Invalid value: \"\": name must not be "
     "empty\nmetadata.ownerReferences.uid: Invalid value: \"\": uid must not be empty"},
    {"Pod", "{\"apiVersion\":\"apps/v1\",\"kind\":\"Pods\"}",
     "kind: Invalid value: \"Pods\": must be Pod\napiVersion: Invalid value: \"apps/v1\": must be "
     "v1"},
    {"Pod", "{\"spec\":{\"containers\":[]}}", "spec.containers: Required value"},
    {"Pod", "{\"spec\":null}", "spec.containers: Required value"},
    {"Pod", "{\"spec\":{\"containers\":[{\"name\":\"web\"}]}}",
     "spec.containers[0].image: Required value"},
    {"Pod", "{\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\" nginx\"}]}}",
     "spec.containers[0].image: Invalid value: \" nginx\": must not have leading or trailing "
     "whitespace"},
    {"Pod", "{\"spec\":{\"containers\":[{\"image\":\"nginx\"}]}}",
     "spec.containers[0].name: Required value"},
    {"Pod", "{\"spec\":{\"containers\":[{\"name\":\"Web\",\"image\":\"nginx\"}]}}",
     "spec.containers[0].name: Invalid value: \"Web\": a lowercase RFC 1123 label must consist of "
     "lower case alphanumeric characters or '-', and must start and end with an alphanumeric "
     "character (e.g. 'my-name',  or '123-abc', regex used for validation is "
     "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"},
    {"Pod",
     "{\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx\"},{\"name\":\"web\","
     "\"image\":\"redis\"}]}}",
     "spec.containers[1].name: Duplicate value: \"web\""},
    {"Pod", "{\"spec\":{\"initContainers\":[{\"name\":\"web\",\"image\":\"busybox\"}]}}",
     "spec.containers[0].name: Duplicate value: \"web\""},
    {"Pod",
     "{\"spec\":{\"initContainers\":[{\"name\":\"init\",\"image\":\"busybox\",\"readinessProbe\":{"
     "\"exec\":{\"command\":[\"true\"]}}}]}}",
     "spec.initContainers[0].readinessProbe: Forbidden: may not be set for init containers"},
    {"Pod",
     "{\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx\",\"imagePullPolicy\":"
     "\"Sometimes\"}]}}",
     "spec.containers[0].imagePullPolicy: Unsupported value: \"Sometimes\": supported values: "
     "\"Always\", \"IfNotPresent\", \"Never\""},
    {"Pod",
     "{\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx\",\"ports\":[{"
     "\"containerPort\":0},{\"containerPort\":70000},{\"containerPort\":80,\"protocol\":\"ICMP\"}]}"
     "]}}",
     "spec.containers[0].ports[0].containerPort: Required "
     "value\nspec.containers[0].ports[1].containerPort: Invalid value: 70000: must be between 1 "
     "and 65535, inclusive\nspec.containers[0].ports[2].protocol: Unsupported value: \"ICMP\": "
     "supported values: \"SCTP\", \"TCP\", \"UDP\""},
    {"Pod",
     "{\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx\",\"ports\":[{\"name\":"
     "\"http\",\"containerPort\":80},{\"name\":\"http\",\"containerPort\":81},{\"name\":\"HTTP-\","
     "\"containerPort\":82},{\"name\":\"123\",\"containerPort\":83},{\"name\":\"a--b\","
     "\"containerPort\":84},{\"name\":\"very-long-port-name\",\"containerPort\":85}]}]}}",
     "spec.containers[0].ports[1].name: Duplicate value: "
     "\"http\"\nspec.containers[0].ports[2].name: Invalid value: \"HTTP-\": must contain only "
     "alpha-numeric characters (a-z, 0-9), and hyphens (-)\nspec.containers[0].ports[2].name: "
     "Invalid value: \"HTTP-\": must contain at least one letter "
     "(a-z)\nspec.containers[0].ports[2].name: Invalid value: \"HTTP-\": must not begin or end "
     "with a hyphen\nspec.containers[0].ports[3].name: Invalid value: \"123\": must contain at "
     "least one letter (a-z)\nspec.containers[0].ports[4].name: Invalid value: \"a--b\": must not "
     "contain consecutive hyphens\nspec.containers[0].ports[5].name: Invalid value: "
     "\"very-long-port-name\": must be no more than 15 characters"},
    {"Pod",
     "{\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx\",\"ports\":[{"
     "\"containerPort\":80,\"hostPort\":-1}]}]}}",
     "spec.containers[0].ports[0].hostPort: Invalid value: -1: must be between 1 and 65535, "
     "inclusive"},
    {"Pod",
     "{\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx\",\"env\":[{\"name\":\"GOOD_"
     "1\",\"value\":\"x\"},{\"name\":\"1BAD\"},{\"value\":\"x\"},{\"name\":\"my.env-name\"},{"
     "\"name\":\"..\"},{\"name\":\"A\",\"value\":\"x\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":"
     "\"metadata.name\"}}}]}]}}",
     "spec.containers[0].env[1].name: Invalid value: \"1BAD\": a valid environment variable name "
     "must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a "
     "digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is "
     "'[-._a-zA-Z][-._a-zA-Z0-9]*')\nspec.containers[0].env[2].name: Required "
     "value\nspec.containers[0].env[4].name: Invalid value: \"..\": must not be "
     "'..'\nspec.containers[0].env[5].valueFrom: Invalid value: \"\": may not be specified when "
     "`value` is not empty"},
    {"Pod",
     "{\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx\",\"env\":[{\"name\":\"A\","
     "\"valueFrom\":{}},{\"name\":\"B\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"s\"}}}]}]}}",
     "spec.containers[0].env[0].valueFrom: Invalid value: \"\": must specify one of: `fieldRef`, "
     "`resourceFieldRef`, `configMapKeyRef` or "
     "`secretKeyRef`\nspec.containers[0].env[1].valueFrom.secretKeyRef.key: Required value"},
    {"Pod",
     "{\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx\",\"resources\":{\"limits\":{"
     "\"cpu\":\"500m\",\"memory\":\"1Gi\"},\"requests\":{\"cpu\":\"1\",\"memory\":\"512Mi\"}}}]}}",
     "spec.containers[0].resources.requests: Invalid value: \"1\": must be less than or equal to "
     "cpu limit of 500m"},
    {"Pod",
     "{\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx\",\"resources\":{\"limits\":{"
     "\"cpu\":\"lots\",\"gpu\":\"1\",\"example.com/gpu\":\"2\",\"memory\":\"-1\"}}}]}}",
     "spec.containers[0].resources.limits[cpu]: Invalid value: \"lots\": quantity 'lots': expected "
     "a number\n"
     "spec.containers[0].resources.limits[gpu]: Invalid value: \"gpu\": must be a standard "
     "resource for containers\n"
     "spec.containers[0].resources.limits[memory]: Invalid value: \"-1\": must be greater than or "
     "equal to 0\n"
     "spec.containers[0].resources.requests[cpu]: Invalid value: \"lots\": quantity 'lots': "
     "expected a number\n"
     "spec.containers[0].resources.requests[gpu]: Invalid value: \"gpu\": must be a standard "
     "resource for containers\n"
     "spec.containers[0].resources.requests[memory]: Invalid value: \"-1\": must be greater than "
     "or equal to 0"},
    {"Pod",
     "{\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx\",\"resources\":{\"requests\":"
     "{\"cpu\":0.5,\"memory\":\"1e3\",\"ephemeral-storage\":\"1.5Gi\"}}}]}}",
     ""},
    {"Pod",
     "{\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx\",\"volumeMounts\":[{\"name\":"
     "\"data\",\"mountPath\":\"/data\"},{\"name\":\"cfg\",\"mountPath\":\"/"
     "data\"},{\"mountPath\":\"/"
     "x\"},{\"name\":\"cfg\"}]}],\"volumes\":[{\"name\":\"cfg\",\"configMap\":{\"name\":\"cfg\"}}]}"
     "}",
     "spec.containers[0].volumeMounts[0].name: Not found: "
     "\"data\"\nspec.containers[0].volumeMounts[1].mountPath: Invalid value: \"/data\": must be "
     "unique\nspec.containers[0].volumeMounts[2].name: Required "
     "value\nspec.containers[0].volumeMounts[3].mountPath: Required value"},
    {"Pod",
     "{\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx\",\"livenessProbe\":{"
     "\"periodSeconds\":-1},\"readinessProbe\":{\"exec\":{\"command\":[\"true\"]},\"tcpSocket\":{"
     "\"port\":80}},\"startupProbe\":{\"httpGet\":{\"port\":\"web-port-name-too-long\"},"
     "\"successThreshold\":2}}]}}",
     "spec.containers[0].livenessProbe: Required value: must specify a handler "
     "type\nspec.containers[0].livenessProbe.periodSeconds: Invalid value: -1: must be greater "
     "than or equal to 0\nspec.containers[0].readinessProbe.tcpSocket: Forbidden: may not specify "
     "more than 1 handler type\nspec.containers[0].startupProbe.httpGet.port: Invalid value: "
     "\"web-port-name-too-long\": must be no more than 15 "
     "characters\nspec.containers[0].startupProbe.successThreshold: Invalid value: 2: must be 1"},
    {"Pod",
     "{\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx\",\"lifecycle\":{"
     "\"postStart\":{},\"preStop\":{\"exec\":{\"command\":[\"true\"]},\"sleep\":{"
     "\"seconds\":1}}}}]}}",
     "spec.containers[0].lifecycle.postStart: Required value: must specify a handler "
     "type\nspec.containers[0].lifecycle.preStop.sleep: Forbidden: may not specify more than 1 "
     "handler type"},
    {"Pod",
     "{\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx\",\"lifecycle\":{"
     "\"postStart\":{\"exec\":{}},\"preStop\":{\"httpGet\":{\"path\":\"/quit\"}}}}]}}",
     "spec.containers[0].lifecycle.postStart.exec.command: Required "
     "value\nspec.containers[0].lifecycle.preStop.httpGet.port: Required value"},
    {"Pod",
     "{\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx\",\"lifecycle\":{"
     "\"preStop\":{\"httpGet\":{\"path\":\"\",\"port\":80}}}}]}}",
     "spec.containers[0].lifecycle.preStop.httpGet.path: Required value"},
    {"Pod",
     "{\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx\",\"lifecycle\":{"
     "\"preStop\":{\"sleep\":{\"seconds\":-1}}}}]}}",
     "spec.containers[0].lifecycle.preStop.sleep.seconds: Invalid value: -1: must be greater than "
     "or equal to 0"},
    {"Pod",
     "{\"spec\":{\"initContainers\":[{\"name\":\"init\",\"image\":\"busybox\",\"lifecycle\":{"
     "\"preStop\":{\"exec\":{\"command\":[\"true\"]}}}}],\"containers\":[{\"name\":\"web\","
     "\"image\":\"nginx\"}]}}",
     "spec.initContainers[0].lifecycle: Forbidden: may not be set for init containers"},
    {"Pod",
     "{\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx\",\"livenessProbe\":{"
     "\"httpGet\":{\"path\":\"/healthz\",\"port\":0}},\"readinessProbe\":{\"exec\":{}}}]}}",
     "spec.containers[0].livenessProbe.httpGet.port: Invalid value: 0: must be between 1 and "
     "65535, inclusive\nspec.containers[0].readinessProbe.exec.command: Required value"},
    {"Pod",
     "{\"spec\":{\"volumes\":[{\"name\":\"a\",\"emptyDir\":{}},{\"name\":\"a\",\"emptyDir\":{}},{"
     "\"name\":\"b\"},{\"name\":\"c\",\"emptyDir\":{},\"hostPath\":{\"path\":\"/"
     "x\"}},{\"name\":\"d\",\"nfs\":{\"server\":\"x\"}},{\"emptyDir\":{}},{\"name\":\"e\","
     "\"hostPath\":{\"path\":\"/x/../"
     "etc\",\"type\":\"Weird\"}},{\"name\":\"f\",\"secret\":{\"defaultMode\":4096}},{\"name\":"
     "\"g\",\"configMap\":{\"items\":[{\"key\":\"k\",\"path\":\"/abs\"}]}}]}}",
     "spec.volumes[1].name: Duplicate value: \"a\"\nspec.volumes[2]: Required value: must specify "
     "a volume type\nspec.volumes[3].hostPath: Forbidden: may not specify more than 1 volume "
     "type\nspec.volumes[4].nfs: Forbidden: volume type not supported by skiff (supported: "
     "emptyDir, hostPath, configMap, secret)\nspec.volumes[4]: Required value: must specify a "
     "volume type\nspec.volumes[5].name: Required value\nspec.volumes[6].hostPath.path: Invalid "
     "value: \"/x/../etc\": must not contain '..'\nspec.volumes[6].hostPath.type: Unsupported "
     "value: \"Weird\": supported values: \"\", \"DirectoryOrCreate\", \"Directory\", "
     "\"FileOrCreate\", \"File\", \"Socket\", \"CharDevice\", "
     "\"BlockDevice\"\nspec.volumes[7].secret.secretName: Required "
     "value\nspec.volumes[7].secret.defaultMode: Invalid value: 4096: must be a number between 0 "
     "and 0777 (octal), both inclusive\nspec.volumes[8].configMap.name: Required "
     "value\nspec.volumes[8].configMap.items[0].path: Invalid value: \"/abs\": must be a relative "
     "path"},
    {"Pod",
     "{\"spec\":{\"restartPolicy\":\"Sometimes\",\"dnsPolicy\":\"Bogus\","
     "\"terminationGracePeriodSeconds\":-5,\"activeDeadlineSeconds\":0}}",
     "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", "
     "\"OnFailure\", \"Never\"\nspec.dnsPolicy: Unsupported value: \"Bogus\": supported values: "
     "\"ClusterFirstWithHostNet\", \"ClusterFirst\", \"Default\", "
     "\"None\"\nspec.terminationGracePeriodSeconds: Invalid value: -5: must be greater than or "
     "equal to 0\nspec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, "
     "inclusive"},
    {"Pod", "{\"spec\":{\"priority\":2147483648,\"preemptionPolicy\":\"Sometimes\"}}",
     "spec.priority: Invalid value: 2147483648: must be a 32-bit integer\n"
     "spec.preemptionPolicy: Unsupported value: \"Sometimes\": supported values: "
     "\"PreemptLowerPriority\", \"Never\""},
    {"Pod", "{\"spec\":{\"nodeSelector\":{\"disk type\":\"ssd\"},\"nodeName\":\"Node_1\"}}",
     "spec.nodeName: Invalid value: \"Node_1\": a lowercase RFC 1123 subdomain must consist of "
     "lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric "
     "character (e.g. 'example.com', regex used for validation is "
     "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')\n"
     "spec.nodeSelector: Invalid value: \"disk type\": label key 'disk type': name part may "
     "contain only alphanumerics, '-', '_' and '.'"},
    {"Pod",
     "{\"spec\":{\"tolerations\":[{\"key\":\"dedicated\",\"operator\":\"Equal\",\"value\":\"gpu\","
     "\"effect\":\"NoSchedule\"},{\"operator\":\"Exists\"},{\"operator\":\"Equal\",\"value\":\"x\"}"
     ",{\"key\":\"k\",\"operator\":\"Exists\",\"value\":\"v\"},{\"key\":\"k\",\"operator\":"
     "\"Less\"},{\"key\":\"k\",\"effect\":\"NoWhen\"},{\"key\":\"k\",\"effect\":\"NoSchedule\","
     "\"tolerationSeconds\":30}]}}",
     "spec.tolerations[2].operator: Invalid value: \"Equal\": operator must be Exists when `key` "
     "is empty, which means \"match all values and all keys\"\nspec.tolerations[3].operator: "
     "Invalid value: {\"key\":\"k\",\"operator\":\"Exists\",\"value\":\"v\"}: value must be empty "
     "when `operator` is 'Exists'\nspec.tolerations[4].operator: Unsupported value: \"Less\": "
     "supported values: \"Equal\", \"Exists\"\nspec.tolerations[5].effect: Unsupported value: "
     "\"NoWhen\": supported values: \"NoSchedule\", \"PreferNoSchedule\", "
     "\"NoExecute\"\nspec.tolerations[6].effect: Invalid value: \"NoSchedule\": effect must be "
     "'NoExecute' when `tolerationSeconds` is set"},
    {"Pod",
     "{\"spec\":{\"affinity\":{\"nodeAffinity\":{"
     "\"requiredDuringSchedulingIgnoredDuringExecution\":{\"nodeSelectorTerms\":[{"
     "\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"In\"},{\"key\":\"zone\",\"operator\":"
     "\"Exists\",\"values\":[\"a\"]},{\"key\":\"zone\",\"operator\":\"Near\",\"values\":[\"a\"]},{"
     "\"key\":\"n\",\"operator\":\"Gt\",\"values\":[\"1\",\"2\"]}]}]},"
     "\"preferredDuringSchedulingIgnoredDuringExecution\":[{\"weight\":0,\"preference\":{}}]},"
     "\"podAntiAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":[{\"labelSelector\":{"
     "\"matchLabels\":{\"app\":\"web\"}}}],\"preferredDuringSchedulingIgnoredDuringExecution\":[{"
     "\"weight\":101,\"podAffinityTerm\":{\"topologyKey\":\"zone\",\"labelSelector\":{"
     "\"matchExpressions\":[{\"key\":\"app\",\"operator\":\"Maybe\"}]}}}]}}}}",
     "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms["
     "0].matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or "
     "'NotIn'\nspec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution."
     "nodeSelectorTerms[0].matchExpressions[1].values: Forbidden: may not be specified when "
     "`operator` is 'Exists' or "
     "'DoesNotExist'\nspec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution."
     "nodeSelectorTerms[0].matchExpressions[2].operator: Unsupported value: \"Near\": supported "
     "values: \"In\", \"NotIn\", \"Exists\", \"DoesNotExist\", \"Gt\", "
     "\"Lt\"\nspec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution."
     "nodeSelectorTerms[0].matchExpressions[3].values: Required value: must be specified single "
     "value when `operator` is 'Lt' or "
     "'Gt'\nspec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight: "
     "Invalid value: 0: must be in the range "
     "1-100\nspec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]."
     "topologyKey: Required value: can not be "
     "empty\nspec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0]."
     "weight: Invalid value: 101: must be in the range "
     "1-100\nspec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0]."
     "podAffinityTerm.labelSelector.matchExpressions[0].operator: Invalid value: \"Maybe\": not a "
     "valid selector operator"},
    {"Pod",
     "{\"spec\":{\"affinity\":{\"nodeAffinity\":{"
     "\"requiredDuringSchedulingIgnoredDuringExecution\":{\"nodeSelectorTerms\":[]}}}}}",
     "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms: "
     "Required value: must have at least one node selector term"},
    {"Deployment", "{\"spec\":{\"replicas\":-1}}",
     "spec.replicas: Invalid value: -1: must be greater than or equal to 0"},
    {"Deployment", "{\"spec\":{\"selector\":null}}", "spec.selector: Required value"},
    {"Deployment", "{\"spec\":{\"selector\":{\"matchLabels\":null}}}",
     "spec.selector: Invalid value: {}: empty selector is invalid for deployment"},
    {"Deployment", "{\"spec\":{\"selector\":{\"matchLabels\":{\"app\":\"db\"}}}}",
     "spec.template.metadata.labels: Invalid value: {\"app\":\"web\"}: `selector` does not match "
     "template `labels`"},
    {"Deployment",
     "{\"spec\":{\"selector\":{\"matchExpressions\":[{\"key\":\"app\",\"operator\":\"In\","
     "\"values\":[\"web\",\"api\"]}]}}}",
     ""},
    {"Deployment",
     "{\"spec\":{\"selector\":{\"matchExpressions\":[{\"key\":\"app\",\"operator\":\"NotIn\","
     "\"values\":[\"web\"]}]}}}",
     "spec.template.metadata.labels: Invalid value: {\"app\":\"web\"}: `selector` does not match "
     "template `labels`"},
    {"Deployment",
     "{\"spec\":{\"selector\":{\"matchExpressions\":[{\"key\":\"app\",\"operator\":\"In\"}]}}}",
     "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` "
     "is 'In' or 'NotIn'"},
    {"Deployment", "{\"spec\":{\"template\":null}}", "spec.template: Required value"},
    {"Deployment",
     "{\"spec\":{\"template\":{\"spec\":{\"restartPolicy\":\"Never\",\"activeDeadlineSeconds\":10}}"
     "}}",
     "spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: "
     "\"Always\"\nspec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in "
     "ReplicaSet is not Supported"},
    {"Deployment", "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"web\"}]}}}}",
     "spec.template.spec.containers[0].image: Required value"},
    {"Deployment", "{\"spec\":{\"strategy\":{\"type\":\"BlueGreen\"}}}",
     "spec.strategy.type: Unsupported value: \"BlueGreen\": supported values: \"Recreate\", "
     "\"RollingUpdate\""},
    {"Deployment",
     "{\"spec\":{\"strategy\":{\"type\":\"Recreate\",\"rollingUpdate\":{\"maxSurge\":1}}}}",
     "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is "
     "'Recreate'"},
    {"Deployment",
     "{\"spec\":{\"strategy\":{\"rollingUpdate\":{\"maxSurge\":\"lots\",\"maxUnavailable\":\"150%"
     "\"}}}}",
     "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: \"150%\": must not be greater "
     "than 100%\nspec.strategy.rollingUpdate.maxSurge: Invalid value: \"lots\": must be an integer "
     "or percentage (e.g '5%')"},
    {"Deployment",
     "{\"spec\":{\"strategy\":{\"rollingUpdate\":{\"maxSurge\":0,\"maxUnavailable\":\"0%\"}}}}",
     "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: \"0%\": may not be 0 when "
     "`maxSurge` is 0"},
    {"Deployment", "{\"spec\":{\"strategy\":{\"rollingUpdate\":{\"maxSurge\":-1}}}}",
     "spec.strategy.rollingUpdate.maxSurge: Invalid value: -1: must be greater than or equal to 0"},
    {"Deployment", "{\"spec\":{\"revisionHistoryLimit\":-1,\"minReadySeconds\":700}}",
     "spec.revisionHistoryLimit: Invalid value: -1: must be greater than or equal to "
     "0\nspec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds"},
    {"ReplicaSet", "{\"spec\":{\"replicas\":-3,\"selector\":{\"matchLabels\":{\"tier\":\"x\"}}}}",
     "spec.replicas: Invalid value: -3: must be greater than or equal to "
     "0\nspec.template.metadata.labels: Invalid value: {\"app\":\"web\"}: `selector` does not "
     "match template `labels`"},
    {"Service", "{\"spec\":{\"ports\":[]}}", "spec.ports: Required value"},
    {"Service", "{\"spec\":{\"ports\":[],\"clusterIP\":\"None\"}}", ""},
    {"Service", "{\"spec\":{\"ports\":[{\"port\":80},{\"port\":443,\"name\":\"https\"}]}}",
     "spec.ports[0].name: Required value"},
    {"Service",
     "{\"spec\":{\"ports\":[{\"name\":\"web\",\"port\":80},{\"name\":\"web\",\"port\":0},{\"name\":"
     "\"Web\",\"port\":70000,\"protocol\":\"ICMP\"}]}}",
     "spec.ports[1].name: Duplicate value: \"web\"\nspec.ports[1].port: Invalid value: 0: must be "
     "between 1 and 65535, inclusive\nspec.ports[1].targetPort: Invalid value: 0: must be between "
     "1 and 65535, inclusive\nspec.ports[2].name: Invalid value: \"Web\": a lowercase RFC 1123 "
     "label must consist of lower case alphanumeric characters or '-', and must start and end with "
     "an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
     "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')\nspec.ports[2].port: Invalid value: 70000: must be between "
     "1 and 65535, inclusive\nspec.ports[2].protocol: Unsupported value: \"ICMP\": supported "
     "values: \"SCTP\", \"TCP\", \"UDP\"\nspec.ports[2].targetPort: Invalid value: 70000: must be "
     "between 1 and 65535, inclusive"},
    {"Service",
     "{\"spec\":{\"ports\":[{\"name\":\"a\",\"port\":80},{\"name\":\"b\",\"port\":80}]}}",
     "spec.ports[1]: Duplicate value: \"80/TCP\""},
    {"Service", "{\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":\"http\"}]}}", ""},
    {"Service", "{\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":\"HTTP_1\"}]}}",
     "spec.ports[0].targetPort: Invalid value: \"HTTP_1\": must contain only alpha-numeric "
     "characters (a-z, 0-9), and hyphens (-)\nspec.ports[0].targetPort: Invalid value: \"HTTP_1\": "
     "must contain at least one letter (a-z)"},
    {"Service", "{\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":0}]}}",
     "spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive"},
    {"Service", "{\"spec\":{\"ports\":[{\"port\":80,\"nodePort\":30080}]}}",
     "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"},
    /* the configured range is the allocator's to check (t3004) */
    {"Service", "{\"spec\":{\"type\":\"NodePort\",\"ports\":[{\"port\":80,\"nodePort\":80}]}}", ""},
    {"Service", "{\"spec\":{\"type\":\"NodePort\",\"ports\":[{\"port\":80,\"nodePort\":70000}]}}",
     "spec.ports[0].nodePort: Invalid value: 70000: must be between 1 and 65535, inclusive"},
    {"Service",
     "{\"spec\":{\"type\":\"LoadBalancer\",\"ports\":[{\"port\":80,\"nodePort\":32767}]}}", ""},
    {"Service", "{\"spec\":{\"type\":\"External\"}}",
     "spec.type: Unsupported value: \"External\": supported values: \"ClusterIP\", "
     "\"ExternalName\", \"LoadBalancer\", \"NodePort\""},
    {"Service", "{\"spec\":{\"clusterIP\":\"10.96.0.300\"}}",
     "spec.clusterIP: Invalid value: \"10.96.0.300\": must be a valid IPv4 address, (e.g. "
     "10.9.8.7); skiff services are IPv4 only"},
    {"Service", "{\"spec\":{\"clusterIP\":\"fd00::1\"}}",
     "spec.clusterIP: Invalid value: \"fd00::1\": must be a valid IPv4 address, (e.g. 10.9.8.7); "
     "skiff services are IPv4 only"},
    {"Service", "{\"spec\":{\"clusterIP\":\"10.96.0.10\",\"sessionAffinity\":\"Sticky\"}}",
     "spec.sessionAffinity: Unsupported value: \"Sticky\": supported values: \"ClientIP\", "
     "\"None\""},
    {"Service", "{\"spec\":{\"type\":\"NodePort\",\"clusterIP\":\"None\"}}",
     "spec.clusterIP: Invalid value: \"None\": may only be set to 'None' for ClusterIP services"},
    {"Service", "{\"spec\":{\"type\":\"ExternalName\",\"ports\":null}}",
     "spec.externalName: Required value"},
    {"Service", "{\"spec\":{\"selector\":{\"app\":\"we b\"}}}",
     "spec.selector: Invalid value: \"we b\": label value 'we b': may contain only alphanumerics, "
     "'-', '_' and '.'"},
    {"ConfigMap",
     "{\"data\":{\"bad "
     "key\":\"x\",\"..hidden\":\"y\",\"ok\":\"z\"},\"binaryData\":{\"ok\":\"eg==\"}}",
     "data[bad key]: Invalid value: \"bad key\": a valid config key must consist of alphanumeric "
     "characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for "
     "validation is '[-._a-zA-Z0-9]+')\ndata[..hidden]: Invalid value: \"..hidden\": must not "
     "start with '..'\ndata[ok]: Invalid value: \"ok\": duplicate of key present in binaryData"},
    {"ConfigMap", "{\"data\":{\"a\":5}}", "data[a]: Invalid value: 5: must be a string"},
    {"Secret", "{\"data\":{\"password\":\"not base64!\"}}",
     "data[password]: Invalid value: illegal base64 data at input byte 3"},
    {"Secret", "{\"data\":{\"password\":\"aGk\"}}",
     "data[password]: Invalid value: illegal base64 data at input byte 0"},
    {"Secret", "{\"type\":\"kubernetes.io/tls\",\"data\":{\"tls.crt\":\"eA==\"}}",
     "data[tls.key]: Required value"},
    {"Secret", "{\"type\":\"kubernetes.io/basic-auth\",\"data\":{\"password\":null}}",
     "data[username]: Required value\ndata[password]: Required value"},
    {"Secret", "{\"stringData\":{\"user\":\"admin\"},\"data\":{\"c.txt\":\"eA==\"}}", ""},
    {"Node", "{\"spec\":{\"podCIDR\":\"10.244.1.0/33\"}}",
     "spec.podCIDR: Invalid value: \"10.244.1.0/33\": bad prefix length in '10.244.1.0/33'"},
    {"Node",
     "{\"spec\":{\"taints\":[{\"key\":\"gpu\",\"effect\":\"NoSchedule\"},{\"key\":\"gpu\","
     "\"value\":\"x\",\"effect\":\"NoSchedule\"},{\"effect\":\"Sometimes\"}]}}",
     "spec.taints[1]: Duplicate value: "
     "{\"key\":\"gpu\",\"value\":\"x\",\"effect\":\"NoSchedule\"}: taints must be unique by key "
     "and effect pair\nspec.taints[2].key: Required value\nspec.taints[2].effect: Unsupported "
     "value: \"Sometimes\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\""},
    {"Node", "{\"status\":{\"capacity\":{\"cpu\":\"4\",\"memory\":\"8Gi\",\"pods\":\"x\"}}}",
     "status.capacity[pods]: Invalid value: \"x\": quantity 'x': expected a number\n"
     "status.allocatable[pods]: Invalid value: \"x\": quantity 'x': expected a number"},
    {"Event",
     "{\"involvedObject\":{\"kind\":null,\"namespace\":\"other\"},\"type\":\"Bad\",\"count\":-1}",
     "involvedObject.kind: Required value\ninvolvedObject.namespace: Invalid value: \"other\": "
     "does not match event.namespace\ntype: Unsupported value: \"Bad\": supported values: "
     "\"Normal\", \"Warning\"\ncount: Invalid value: -1: must be greater than or equal to 0"},
    {"Event", "{\"involvedObject\":null}", "involvedObject: Required value"},
    {"Endpoints",
     "{\"subsets\":[{\"addresses\":[{\"ip\":\"10.0.0.999\"},{}],\"ports\":[{\"port\":80},{\"port\":"
     "0,\"name\":\"b\"}]}]}",
     "subsets[0].addresses[0].ip: Invalid value: \"10.0.0.999\": must be a valid IP "
     "address\nsubsets[0].addresses[1].ip: Required value\nsubsets[0].ports[0].name: Required "
     "value\nsubsets[0].ports[1].port: Invalid value: 0: must be between 1 and 65535, inclusive"},
    {"Role",
     "{\"rules\":[{\"verbs\":[]},{\"verbs\":[\"get\"],\"nonResourceURLs\":[\"/healthz\"]}]}",
     "rules[0].verbs: Required value: verbs must contain at least one value\nrules[0].apiGroups: "
     "Required value: resource rules must supply at least one api group\nrules[0].resources: "
     "Required value: resource rules must supply at least one resource\nrules[1].nonResourceURLs: "
     "Invalid value: [\"/healthz\"]: namespaced rules cannot apply to non-resource URLs"},
    {"Role", "{\"metadata\":{\"name\":\"a/b\"}}",
     "metadata.name: Invalid value: \"a/b\": may not contain '/'"},
    {"RoleBinding",
     "{\"roleRef\":{\"kind\":\"Policy\",\"apiGroup\":\"rbac\",\"name\":\"\"},\"subjects\":[{"
     "\"kind\":\"Robot\",\"name\":\"r\"},{\"kind\":\"User\"},{\"kind\":\"ServiceAccount\",\"name\":"
     "\"sa\",\"apiGroup\":\"rbac.authorization.k8s.io\"}]}",
     "roleRef.kind: Unsupported value: \"Policy\": supported values: \"Role\", "
     "\"ClusterRole\"\nroleRef.apiGroup: Unsupported value: \"rbac\": supported values: "
     "\"rbac.authorization.k8s.io\"\nroleRef.name: Required value\nsubjects[0].kind: Unsupported "
     "value: \"Robot\": supported values: \"ServiceAccount\", \"User\", "
     "\"Group\"\nsubjects[1].name: Required value\nsubjects[2].apiGroup: Unsupported value: "
     "\"rbac.authorization.k8s.io\": supported values: \"\""},
    {"ClusterRoleBinding",
     "{\"roleRef\":{\"kind\":\"Role\"},\"subjects\":[{\"kind\":\"ServiceAccount\",\"name\":\"sa\"}]"
     "}",
     "roleRef.kind: Unsupported value: \"Role\": supported values: "
     "\"ClusterRole\"\nsubjects[0].namespace: Required value"},
    {"Pod",
     "{\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx\",\"resources\":{\"limits\":{"
     "\"example.com/gpu\":\"2\",\"hugepages-2Mi\":\"4Mi\"},\"requests\":{\"example.com/"
     "gpu\":\"1\",\"hugepages-2Mi\":\"4Mi\"}}}]}}",
     "spec.containers[0].resources.requests: Invalid value: \"1\": must be equal to "
     "example.com/gpu limit of 2"},
    {"Secret", "{\"type\":\"kubernetes.io/basic-auth\"}", ""},
    {"Pod", "{\"metadata\":\"web\"}", "metadata: Invalid value: \"web\": must be an object"},
    {"Pod", "{\"spec\":\"web\"}", "spec: Invalid value: \"web\": must be an object"},
    {"Pod", "{\"spec\":{\"containers\":\"web\"}}",
     "spec.containers: Invalid value: \"web\": must be an array"},
    {"Pod",
     "{\"spec\":{\"containers\":[5,null,{\"name\":7,\"image\":[\"x\"],\"ports\":{\"a\":1},\"env\":"
     "\"x\",\"resources\":[],\"volumeMounts\":[1],\"command\":\"sh\",\"livenessProbe\":true}]}}",
     "spec.containers[0]: Invalid value: 5: must be an object\nspec.containers[1]: Invalid value: "
     "null: must be an object\nspec.containers[2].name: Invalid value: 7: must be a "
     "string\nspec.containers[2].image: Invalid value: [\"x\"]: must be a "
     "string\nspec.containers[2].command: Invalid value: \"sh\": must be an "
     "array\nspec.containers[2].ports: Invalid value: {\"a\":1}: must be an "
     "array\nspec.containers[2].env: Invalid value: \"x\": must be an "
     "array\nspec.containers[2].resources: Invalid value: []: must be an "
     "object\nspec.containers[2].volumeMounts[0]: Invalid value: 1: must be an "
     "object\nspec.containers[2].livenessProbe: Invalid value: true: must be an object"},
    {"Pod",
     "{\"spec\":{\"restartPolicy\":1,\"terminationGracePeriodSeconds\":\"30\",\"nodeSelector\":[],"
     "\"tolerations\":{},\"volumes\":[{\"name\":\"v\",\"emptyDir\":\"yes\"}],\"affinity\":[]}}",
     "spec.volumes[0].emptyDir: Invalid value: \"yes\": must be an object\nspec.volumes[0]: "
     "Required value: must specify a volume type\nspec.restartPolicy: Invalid value: 1: must be a "
     "string\nspec.terminationGracePeriodSeconds: Invalid value: \"30\": must be an "
     "integer\nspec.nodeSelector: Invalid value: []: must be an object\nspec.tolerations: Invalid "
     "value: {}: must be an array\nspec.affinity: Invalid value: []: must be an object"},
    {"Deployment",
     "{\"spec\":{\"replicas\":\"3\",\"selector\":[],\"template\":5,\"strategy\":\"fast\"}}",
     "spec.replicas: Invalid value: \"3\": must be an integer\nspec.selector: Invalid value: []: "
     "must be an object\nspec.template: Invalid value: 5: must be an object\nspec.strategy: "
     "Invalid value: \"fast\": must be an object"},
    {"Deployment", "{\"spec\":{\"replicas\":1.5}}",
     "spec.replicas: Invalid value: 1.5: must be an integer"},
    {"Deployment", "{\"spec\":{\"replicas\":3.0}}", ""},
    {"Deployment", "{\"spec\":{\"replicas\":10000000000}}",
     "spec.replicas: Invalid value: 10000000000: must be a 32-bit integer"},
    {"Service", "{\"spec\":{\"ports\":[null,{\"port\":\"80\"}],\"selector\":{\"app\":[\"web\"]}}}",
     "spec.ports[0]: Invalid value: null: must be an object\nspec.ports[1].name: Required "
     "value\nspec.ports[1].port: Invalid value: \"80\": must be an integer\nspec.selector[app]: "
     "Invalid value: [\"web\"]: must be a string"},
    {"ConfigMap", "{\"data\":[\"a\"],\"binaryData\":\"x\"}",
     "data: Invalid value: [\"a\"]: must be an object\nbinaryData: Invalid value: \"x\": must be "
     "an object"},
    {"Role", "{\"rules\":\"all\"}", "rules: Invalid value: \"all\": must be an array"},
    {"Role", "{\"rules\":[{\"verbs\":\"get\",\"apiGroups\":[1],\"resources\":[\"pods\"]}]}",
     "rules[0].verbs: Invalid value: \"get\": must be an array\nrules[0].apiGroups[0]: Invalid "
     "value: 1: must be a string"},
};

START_TEST(each_rule_names_its_field_and_message)
{
    char *text = validate_text(rule_cases[_i].kind, rule_cases[_i].patch);

    ck_assert_msg(!strcmp(text, rule_cases[_i].want), "case %d (%s %s):\n got: %s\nwant: %s", _i,
                  rule_cases[_i].kind, rule_cases[_i].patch, text, rule_cases[_i].want);
    free(text);
}
END_TEST

/* Replace every value in the (defaulted) base objects, one at a time, by
 * each value of another type: defaulting and validation report errors
 * and never crash (run under ASan in `make unit SANITIZE=1`). */
static const char *const hostile[] = {
    "null", "\"x\"", "-7",   "1.5",          "true",
    "[]",   "{}",    "[{}]", "[\"\", null]", "{\"a\":{\"b\":[1]}}"};

static size_t
mutate_walk(const struct api_kind *k, json_t *root, json_t *node)
{
    size_t checks = 0, i;
    const char *key;
    json_t *val, *orig;

    if (json_is_object(node)) {
        json_object_foreach (node, key, val) {
            orig = json_incref(val);
            for (size_t h = 0; h < N(hostile); h++) {
                struct api_errors errs;
                json_t *copy;

                json_object_set_new(node, key, load(hostile[h]));
                copy = json_deep_copy(root);
                api_errors_init(&errs);
                api_object_default(copy, k);
                api_object_validate(copy, k, &errs);
                api_errors_release(&errs);
                json_decref(copy);
                checks++;
            }
            json_object_set_new(node, key, orig);
            checks += mutate_walk(k, root, orig);
        }
    } else if (json_is_array(node)) {
        json_array_foreach (node, i, val) {
            orig = json_incref(val);
            for (size_t h = 0; h < N(hostile); h++) {
                struct api_errors errs;
                json_t *copy;

                json_array_set_new(node, i, load(hostile[h]));
                copy = json_deep_copy(root);
                api_errors_init(&errs);
                api_object_default(copy, k);
                api_object_validate(copy, k, &errs);
                api_errors_release(&errs);
                json_decref(copy);
                checks++;
            }
            json_array_set_new(node, i, orig);
            checks += mutate_walk(k, root, orig);
        }
    }
    return checks;
}

START_TEST(wrong_types_anywhere_give_errors_not_crashes)
{
    const struct api_kind *k = api_kind_lookup(bases[_i].kind);
    json_t *obj = base_object(bases[_i].kind, NULL);

    api_object_default(obj, k);
    ck_assert_uint_gt(mutate_walk(k, obj, obj), 0);
    json_decref(obj);
}
END_TEST

START_TEST(non_objects_are_refused)
{
    static const char *const texts[] = {"[]", "\"Pod\"", "0", "null"};
    const struct api_kind *k = api_kind_lookup("pods");
    struct api_errors errs;
    char *text;

    for (size_t i = 0; i < N(texts); i++) {
        json_t *v = load(texts[i]);

        api_errors_init(&errs);
        api_object_default(v, k);
        ck_assert_uint_eq(api_object_validate(v, k, &errs), 1);
        text = errors_text(&errs);
        ck_assert(sk_startswith(text, "<object>: Invalid value: "));
        ck_assert(strstr(text, ": must be an object") != NULL);
        free(text);
        api_errors_release(&errs);
        json_decref(v);
    }
}
END_TEST

START_TEST(all_errors_are_collected_into_one_line)
{
    const struct api_kind *k = api_kind_lookup("pods");
    json_t *obj = base_object("Pod", "{\"metadata\":{\"name\":\"Web_1\"},\"spec\":{"
                                     "\"restartPolicy\":\"Sometimes\",\"containers\":[{"
                                     "\"name\":\"web\"}]}}");
    struct api_errors errs;
    struct sk_err err;

    api_errors_init(&errs);
    api_object_default(obj, k);
    ck_assert_uint_eq(api_object_validate(obj, k, &errs), 3);
    sk_err_init(&err);
    ck_assert_int_eq(api_errors_to_err(&errs, "Pod", "Web_1", &err), -EINVAL);
    ck_assert_str_eq(err.msg,
                     "Pod \"Web_1\" is invalid: [metadata.name: Invalid value: \"Web_1\": a "
                     "lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                     "characters, '-' or '.', and must start and end with an alphanumeric "
                     "character (e.g. 'example.com', regex used for validation is "
                     "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*'), "
                     "spec.containers[0].image: Required value, spec.restartPolicy: Unsupported "
                     "value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", "
                     "\"Never\"]");
    api_errors_release(&errs);
    json_decref(obj);
}
END_TEST

START_TEST(huge_objects_stay_bounded)
{
    const struct api_kind *k = api_kind_lookup("pods");
    json_t *obj = base_object("Pod", NULL), *labels = json_object(), *ctrs = json_array();
    struct api_errors errs;
    char key[32];

    for (int i = 0; i < 50000; i++) {
        snprintf(key, sizeof(key), "-bad%d", i);
        json_object_set_new(labels, key, json_string("v"));
    }
    for (int i = 0; i < 20000; i++) {
        snprintf(key, sizeof(key), "c%d", i);
        json_array_append_new(ctrs, json_pack("{s:s,s:s}", "name", key, "image", "x"));
    }
    json_object_set_new(json_object_get(obj, "metadata"), "labels", labels);
    json_object_set_new(json_object_get(obj, "spec"), "containers", ctrs);
    api_errors_init(&errs);
    api_object_default(obj, k);
    api_object_validate(obj, k, &errs);
    ck_assert_uint_eq(errs.n, API_ERRORS_MAX);
    ck_assert_uint_eq(errs.dropped, 50000 - API_ERRORS_MAX);
    api_errors_release(&errs);
    json_decref(obj);
}
END_TEST

START_TEST(deep_objects_are_fine)
{
    const struct api_kind *k = api_kind_lookup("pods");
    json_t *obj = base_object("Pod", NULL), *deep = json_object(), *cur = deep;
    struct api_errors errs;

    /* unknown fields are kept verbatim and never walked; known ones have
     * a fixed depth, so nesting cannot recurse the validator */
    for (int i = 0; i < 1500; i++) {
        json_t *next = json_object();

        json_object_set_new(cur, "x", next);
        cur = next;
    }
    json_object_set_new(json_object_get(obj, "spec"), "unknownField", deep);
    json_object_set_new(json_object_get(obj, "spec"), "affinity", json_deep_copy(deep));
    api_errors_init(&errs);
    api_object_default(obj, k);
    ck_assert_uint_eq(api_object_validate(obj, k, &errs), 0);
    ck_assert_ptr_nonnull(json_object_get(json_object_get(obj, "spec"), "unknownField"));
    api_errors_release(&errs);
    json_decref(obj);
}
END_TEST

static char *
big_string(size_t n, char c)
{
    char *s = malloc(n + 1);

    memset(s, c, n);
    s[n] = '\0';
    return s;
}

static char *
validate_obj_text(const char *kind, json_t *obj)
{
    const struct api_kind *k = api_kind_lookup(kind);
    struct api_errors errs;
    char *text;

    api_errors_init(&errs);
    api_object_default(obj, k);
    api_object_validate(obj, k, &errs);
    text = errors_text(&errs);
    api_errors_release(&errs);
    return text;
}

START_TEST(annotations_are_limited_to_256_kib_in_total)
{
    json_t *obj = base_object("Pod", NULL), *ann = json_object();
    char *value = big_string(128 * 1024, 'x'), *text;

    json_object_set_new(ann, "a", json_string(value));
    json_object_set_new(ann, "b", json_string(value));
    json_object_set_new(json_object_get(obj, "metadata"), "annotations", ann);
    text = validate_obj_text("Pod", obj);
    ck_assert_str_eq(text, "metadata.annotations: Too long: must have at most 262144 bytes");
    free(text);
    /* exactly at the limit is fine: 2 keys of 1 byte plus the values */
    value[128 * 1024 - 1] = '\0';
    json_object_set_new(ann, "a", json_string(value));
    json_object_set_new(ann, "b", json_string(value));
    text = validate_obj_text("Pod", obj);
    ck_assert_str_eq(text, "");
    free(text);
    free(value);
    json_decref(obj);
}
END_TEST

START_TEST(configmap_and_secret_data_are_limited_to_1_mib)
{
    json_t *cm = base_object("ConfigMap", NULL), *secret = base_object("Secret", NULL);
    char *value = big_string(1024 * 1024, 'A'), *text;

    json_object_set_new(json_object_get(cm, "data"), "big", json_string(value));
    text = validate_obj_text("ConfigMap", cm);
    ck_assert_str_eq(text, "data: Too long: must have at most 1048576 bytes");
    free(text);
    /* base64 of 1 MiB + 3 bytes decodes past the limit */
    free(value);
    value = big_string((1024 * 1024 / 3 + 1) * 4, 'A');
    json_object_set_new(json_object_get(secret, "data"), "big", json_string(value));
    text = validate_obj_text("Secret", secret);
    ck_assert_str_eq(text, "data: Too long: must have at most 1048576 bytes");
    free(text);
    free(value);
    json_decref(cm);
    json_decref(secret);
}
END_TEST

START_TEST(names_at_their_length_limits)
{
    json_t *pod = base_object("Pod", NULL), *svc = base_object("Service", NULL);
    char *name = big_string(253, 'a'), *text;

    json_object_set_new(json_object_get(pod, "metadata"), "name", json_string(name));
    text = validate_obj_text("Pod", pod);
    ck_assert_str_eq(text, "");
    free(text);
    free(name);
    name = big_string(254, 'a');
    json_object_set_new(json_object_get(pod, "metadata"), "name", json_string(name));
    text = validate_obj_text("Pod", pod);
    ck_assert(sk_startswith(text, "metadata.name: Invalid value: \"aaaa"));
    ck_assert_msg(strstr(text, "aa\": must be no more than 253 characters") != NULL, "%s", text);
    free(text);
    free(name);
    name = big_string(63, 'a');
    json_object_set_new(json_object_get(svc, "metadata"), "name", json_string(name));
    text = validate_obj_text("Service", svc);
    ck_assert_str_eq(text, "");
    free(text);
    free(name);
    json_decref(pod);
    json_decref(svc);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("api_validate");
    TCase *tc = tcase_create("rules");

    tcase_add_loop_test(tc, base_objects_are_valid, 0, N(bases));
    tcase_add_loop_test(tc, each_rule_names_its_field_and_message, 0, N(rule_cases));
    suite_add_tcase(s, tc);
    tc = tcase_create("hostile");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, wrong_types_anywhere_give_errors_not_crashes, 0, N(bases));
    tcase_add_test(tc, non_objects_are_refused);
    tcase_add_test(tc, all_errors_are_collected_into_one_line);
    tcase_add_test(tc, huge_objects_stay_bounded);
    tcase_add_test(tc, deep_objects_are_fine);
    tcase_add_test(tc, annotations_are_limited_to_256_kib_in_total);
    tcase_add_test(tc, configmap_and_secret_data_are_limited_to_1_mib);
    tcase_add_test(tc, names_at_their_length_limits);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
