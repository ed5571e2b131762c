/* kubelet/podspec: Pod + container + image config -> runtime spec. */
#include "kubelet/kubelet.h"
#include "lib/alloc.h"
#include "unit.h"

#include <errno.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

static char *ep_default[] = {"/ep-1", NULL};
static char *cmd_default[] = {"foo", "bar", NULL};
static char *env_default[] = {"PATH=/usr/bin:/bin", "FOO=image", NULL};

static struct rt_image_info
image(void)
{
    struct rt_image_info img;

    memset(&img, 0, sizeof(img));
    img.entrypoint = ep_default;
    img.cmd = cmd_default;
    img.env = env_default;
    img.working_dir = "/app";
    return img;
}

static const struct kl_sandbox sandbox = {
    .pod_dir = "/var/lib/skiff/pods/u1",
    .netns_path = "/run/netns/p1",
    .ipcns_path = "/proc/42/ns/ipc",
    .utsns_path = "/proc/42/ns/uts",
    .pidns_path = "/proc/42/ns/pid",
    .cgroup_parent = "pods/u1",
    .node_name = "n1",
    .pod_ip = "10.244.1.5",
    .host_ip = "192.168.1.10",
    .pids_limit = 4096,
};

static json_t *
J(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);

    if (!v)
        ck_abort_msg("bad test json: %s: %s", e.text, text);
    return v;
}

/* A pod whose only container is ctr (JSON text); extra spec members. */
static json_t *
pod_with(const char *ctr, const char *spec_extra)
{
    char *t = sk_asprintf("{\"metadata\":{\"name\":\"web-abc\",\"namespace\":\"default\","
                          "\"uid\":\"u1\",\"labels\":{\"app\":\"web\"},"
                          "\"annotations\":{\"a.io/x\":\"y\"}},"
                          "\"spec\":{\"nodeName\":\"n1\",\"serviceAccountName\":\"sa\","
                          "\"containers\":[%s]%s%s}}",
                          ctr, spec_extra ? "," : "", spec_extra ? spec_extra : "");
    json_t *p = J(t);

    free(t);
    return p;
}

static int
build(const json_t *pod, const json_t *cms, const json_t *secrets, struct rt_spec *spec,
      struct sk_err *err)
{
    struct rt_image_info img = image();
    struct kl_podspec_in in = {.pod = pod, .image = &img, .sandbox = &sandbox};

    in.refs.configmaps = cms;
    in.refs.secrets = secrets;
    sk_err_init(err);
    return kl_podspec_build(&in, spec, err);
}

static char *
joined(char **v, size_t n)
{
    struct sk_buf b = SK_BUF_INIT;

    sk_buf_puts(&b, "");
    for (size_t i = 0; i < n; i++)
        sk_buf_printf(&b, "%s%s", i ? " " : "", v[i]);
    return sk_buf_detach(&b, NULL);
}

static const char *
env_get(const struct rt_spec *spec, const char *name)
{
    size_t n = strlen(name);

    for (size_t i = 0; i < spec->process.nenv; i++) {
        if (strncmp(spec->process.env[i], name, n) == 0 && spec->process.env[i][n] == '=')
            return spec->process.env[i] + n + 1;
    }
    return NULL;
}

/* Kubernetes' documented table ("Notes" in "Define a Command and
 * Arguments for a Container"): image Entrypoint [/ep-1], Cmd [foo bar]. */
START_TEST(command_and_args_follow_the_kubernetes_table)
{
    static const struct {
        const char *ctr, *want;
    } t[] = {
        {"{\"name\":\"c\"}", "/ep-1 foo bar"},
        {"{\"name\":\"c\",\"command\":[\"/ep-2\"]}", "/ep-2"},
        {"{\"name\":\"c\",\"args\":[\"zoo\",\"boo\"]}", "/ep-1 zoo boo"},
        {"{\"name\":\"c\",\"command\":[\"/ep-2\"],\"args\":[\"zoo\",\"boo\"]}", "/ep-2 zoo boo"},
        {"{\"name\":\"c\",\"command\":[\"echo\",\"$(FOO)\",\"$$(FOO)\"]}", "echo image $(FOO)"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        json_t *pod = pod_with(t[i].ctr, NULL);
        struct rt_spec spec;
        struct sk_err err;
        char *got;

        ck_assert_int_eq(build(pod, NULL, NULL, &spec, &err), 0);
        got = joined(spec.process.args, spec.process.nargs);
        ck_assert_str_eq(got, t[i].want);
        free(got);
        rt_spec_release(&spec);
        json_decref(pod);
    }
}
END_TEST

START_TEST(expansion_matches_kubernetes_cases)
{
    char *env[] = {"VAR_A=A", "VAR_B=B", "VAR_C=C", "VAR_REF=$(VAR_A)", "VAR_EMPTY="};
    static const struct {
        const char *in, *want;
    } t[] = {
        {"$(VAR_A)", "A"},
        {"___$(VAR_B)___", "___B___"},
        {"$(VAR_A)-$(VAR_A)", "A-A"},
        {"$(VAR_A)$(VAR_B)$(VAR_C)", "ABC"},
        {"$$(VAR_B)", "$(VAR_B)"},
        {"$$$(VAR_A)", "$A"},
        {"$$$$$$(BIG_MONEY)", "$$$(BIG_MONEY)"},
        {"$(VAR_UNDEF)", "$(VAR_UNDEF)"},
        {"$(VAR_EMPTY)", ""},
        {"$(VAR_REF)", "$(VAR_A)"},
        {"$VAR_A", "$VAR_A"},
        {"$(VAR_A", "$(VAR_A"},
        {"$()", "$()"},
        {"$", "$"},
        {"$$", "$"},
        {"foo$", "foo$"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        char *got = kl_expand(t[i].in, env, 5);
        ck_assert_msg(strcmp(got, t[i].want) == 0, "%s -> %s, want %s", t[i].in, got, t[i].want);
        free(got);
    }
}
END_TEST

START_TEST(env_orders_image_then_container_with_references)
{
    json_t *pod = pod_with("{\"name\":\"c\",\"env\":["
                           "{\"name\":\"FOO\",\"value\":\"override\"},"
                           "{\"name\":\"BAR\",\"value\":\"$(FOO)-x-$(LATER)\"},"
                           "{\"name\":\"LATER\",\"value\":\"l\"},"
                           "{\"name\":\"POD\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":"
                           "\"metadata.name\"}}},"
                           "{\"name\":\"NS\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":"
                           "\"metadata.namespace\"}}},"
                           "{\"name\":\"UID\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":"
                           "\"metadata.uid\"}}},"
                           "{\"name\":\"APP\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":"
                           "\"metadata.labels['app']\"}}},"
                           "{\"name\":\"ANN\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":"
                           "\"metadata.annotations['a.io/x']\"}}},"
                           "{\"name\":\"NODE\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":"
                           "\"spec.nodeName\"}}},"
                           "{\"name\":\"SA\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":"
                           "\"spec.serviceAccountName\"}}},"
                           "{\"name\":\"IP\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":"
                           "\"status.podIP\"}}},"
                           "{\"name\":\"HIP\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":"
                           "\"status.hostIP\"}}}]}",
                           NULL);
    struct rt_spec spec;
    struct sk_err err;

    ck_assert_int_eq(build(pod, NULL, NULL, &spec, &err), 0);
    ck_assert_str_eq(spec.process.env[0], "PATH=/usr/bin:/bin");
    ck_assert_str_eq(spec.process.env[1], "FOO=override"); /* replaced in place */
    ck_assert_str_eq(env_get(&spec, "BAR"), "override-x-$(LATER)");
    ck_assert_str_eq(env_get(&spec, "POD"), "web-abc");
    ck_assert_str_eq(env_get(&spec, "NS"), "default");
    ck_assert_str_eq(env_get(&spec, "UID"), "u1");
    ck_assert_str_eq(env_get(&spec, "APP"), "web");
    ck_assert_str_eq(env_get(&spec, "ANN"), "y");
    ck_assert_str_eq(env_get(&spec, "NODE"), "n1");
    ck_assert_str_eq(env_get(&spec, "SA"), "sa");
    ck_assert_str_eq(env_get(&spec, "IP"), "10.244.1.5");
    ck_assert_str_eq(env_get(&spec, "HIP"), "192.168.1.10");
    ck_assert_str_eq(spec.process.cwd, "/app");
    ck_assert_str_eq(spec.hostname, "web-abc");
    rt_spec_release(&spec);
    json_decref(pod);
}
END_TEST

START_TEST(env_from_configmap_and_secret_keys)
{
    json_t *cms = J("[{\"metadata\":{\"name\":\"cfg\"},\"data\":{\"mode\":\"fast\"}}]");
    json_t *secs = J("[{\"metadata\":{\"name\":\"db\"},\"data\":{\"pw\":\"czNjcjN0\"}}]");
    json_t *pod = pod_with(
        "{\"name\":\"c\",\"envFrom\":[{\"prefix\":\"CFG_\",\"configMapRef\":{\"name\":\"cfg\"}}],"
        "\"env\":[{\"name\":\"MODE\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"cfg\","
        "\"key\":\"mode\"}}},"
        "{\"name\":\"PW\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"db\",\"key\":\"pw\"}}},"
        "{\"name\":\"OPT\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"cfg\",\"key\":\"nope\","
        "\"optional\":true}}}]}",
        NULL);
    struct rt_spec spec;
    struct sk_err err;

    ck_assert_int_eq(build(pod, cms, secs, &spec, &err), 0);
    ck_assert_str_eq(env_get(&spec, "MODE"), "fast");
    ck_assert_str_eq(env_get(&spec, "CFG_mode"), "fast");
    ck_assert_str_eq(env_get(&spec, "PW"), "s3cr3t");
    ck_assert_ptr_null(env_get(&spec, "OPT"));
    rt_spec_release(&spec);
    json_decref(pod);
    json_decref(cms);
    json_decref(secs);
}
END_TEST

START_TEST(missing_required_key_names_the_field)
{
    json_t *cms = J("[{\"metadata\":{\"name\":\"cfg\"},\"data\":{\"mode\":\"fast\"}}]");
    json_t *pod = pod_with("{\"name\":\"c\",\"env\":[{\"name\":\"A\",\"value\":\"1\"},"
                           "{\"name\":\"X\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"cfg\","
                           "\"key\":\"nope\"}}}]}",
                           NULL);
    struct rt_spec spec;
    struct sk_err err;

    ck_assert_int_eq(build(pod, cms, NULL, &spec, &err), -ENOENT);
    ck_assert_str_eq(err.msg, "spec.containers[0].env[1].valueFrom.configMapKeyRef: key 'nope' "
                              "not found in configmap 'cfg'");
    rt_spec_release(&spec);
    ck_assert_int_eq(build(pod, NULL, NULL, &spec, &err), -ENOENT);
    ck_assert_str_eq(err.msg, "spec.containers[0].env[1].valueFrom.configMapKeyRef: configmap "
                              "'cfg' not found");
    rt_spec_release(&spec);
    json_decref(pod);
    json_decref(cms);
}
END_TEST

START_TEST(security_context_maps_onto_the_process)
{
    json_t *pod = pod_with("{\"name\":\"c\",\"securityContext\":{\"runAsUser\":2000,"
                           "\"allowPrivilegeEscalation\":false,\"readOnlyRootFilesystem\":true,"
                           "\"capabilities\":{\"drop\":[\"ALL\"],\"add\":[\"NET_BIND_SERVICE\"]},"
                           "\"seccompProfile\":{\"type\":\"Unconfined\"}}}",
                           "\"securityContext\":{\"runAsUser\":1000,\"runAsGroup\":3000,"
                           "\"supplementalGroups\":[4000],\"fsGroup\":5000}");
    struct rt_spec spec;
    struct sk_err err;

    ck_assert_int_eq(build(pod, NULL, NULL, &spec, &err), 0);
    ck_assert_uint_eq(spec.process.uid, 2000);
    ck_assert_uint_eq(spec.process.gid, 3000);
    ck_assert_uint_eq(spec.process.nadd_gids, 2);
    ck_assert_uint_eq(spec.process.add_gids[0], 4000);
    ck_assert_uint_eq(spec.process.add_gids[1], 5000);
    ck_assert_int_eq(spec.process.no_new_privs, 1);
    ck_assert_int_eq(spec.root_readonly, 1);
    ck_assert_uint_eq(spec.process.caps[RT_CAP_BOUNDING], 1ULL << CAP_NET_BIND_SERVICE);
    ck_assert_uint_eq(spec.process.caps[RT_CAP_EFFECTIVE], 1ULL << CAP_NET_BIND_SERVICE);
    ck_assert_ptr_null(spec.seccomp);
    rt_spec_release(&spec);
    json_decref(pod);
}
END_TEST

START_TEST(defaults_keep_runtime_default_seccomp_and_escalation)
{
    json_t *pod = pod_with("{\"name\":\"c\"}", NULL);
    struct rt_spec spec;
    struct sk_err err;

    ck_assert_int_eq(build(pod, NULL, NULL, &spec, &err), 0);
    ck_assert_ptr_nonnull(spec.seccomp);
    ck_assert_int_eq(spec.process.no_new_privs, 0);
    ck_assert_int_eq(spec.root_readonly, 0);
    ck_assert_uint_eq(spec.process.uid, 0);
    ck_assert_ptr_null(spec.process.username);
    for (size_t i = 0; i < spec.nnamespaces; i++) {
        if (spec.namespaces[i].type == CLONE_NEWNET)
            ck_assert_str_eq(spec.namespaces[i].path, "/run/netns/p1");
        if (spec.namespaces[i].type == CLONE_NEWPID)
            ck_assert_ptr_null(spec.namespaces[i].path); /* not shared by default */
    }
    ck_assert_str_eq(spec.cgroups_path, "pods/u1/c");
    rt_spec_release(&spec);
    json_decref(pod);
}
END_TEST

START_TEST(privileged_gets_all_caps_and_no_filter)
{
    json_t *pod = pod_with("{\"name\":\"c\",\"securityContext\":{\"privileged\":true}}",
                           "\"shareProcessNamespace\":true");
    struct rt_spec spec;
    struct sk_err err;

    ck_assert_int_eq(build(pod, NULL, NULL, &spec, &err), 0);
    ck_assert(spec.process.caps[RT_CAP_BOUNDING] & (1ULL << CAP_SYS_ADMIN));
    ck_assert_ptr_null(spec.seccomp);
    ck_assert_uint_eq(spec.nmasked_paths, 0);
    for (size_t i = 0; i < spec.nnamespaces; i++) {
        if (spec.namespaces[i].type == CLONE_NEWPID)
            ck_assert_str_eq(spec.namespaces[i].path, "/proc/42/ns/pid");
    }
    rt_spec_release(&spec);
    json_decref(pod);
}
END_TEST

START_TEST(run_as_non_root_refuses_root_and_names)
{
    static const char *const ctrs[] = {
        "{\"name\":\"c\",\"securityContext\":{\"runAsNonRoot\":true}}",
        "{\"name\":\"c\",\"securityContext\":{\"runAsNonRoot\":true,\"runAsUser\":0}}",
    };
    for (size_t i = 0; i < 2; i++) {
        json_t *pod = pod_with(ctrs[i], NULL);
        struct rt_spec spec;
        struct sk_err err;

        ck_assert_int_eq(build(pod, NULL, NULL, &spec, &err), -EPERM);
        ck_assert_ptr_nonnull(strstr(err.msg, "runAsNonRoot"));
        rt_spec_release(&spec);
        json_decref(pod);
    }
}
END_TEST

START_TEST(resources_become_cgroup_limits)
{
    static const struct {
        const char *res;
        long long quota, period, shares, mem;
    } t[] = {
        {"{}", RT_UNSET, RT_UNSET, 2, RT_UNSET},
        {"{\"limits\":{\"cpu\":\"500m\",\"memory\":\"128Mi\"}}", 50000, 100000, 512, 134217728},
        {"{\"requests\":{\"cpu\":\"250m\"}}", RT_UNSET, RT_UNSET, 256, RT_UNSET},
        {"{\"requests\":{\"cpu\":\"1m\"},\"limits\":{\"cpu\":\"1m\"}}", 1000, 100000, 2, RT_UNSET},
        {"{\"requests\":{\"cpu\":2},\"limits\":{\"cpu\":\"4\"}}", 400000, 100000, 2048, RT_UNSET},
        {"{\"limits\":{\"memory\":\"1G\"}}", RT_UNSET, RT_UNSET, 2, 1000000000},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        char *c = sk_asprintf("{\"name\":\"c\",\"resources\":%s}", t[i].res);
        json_t *pod = pod_with(c, NULL);
        struct rt_spec spec;
        struct sk_err err;

        ck_assert_int_eq(build(pod, NULL, NULL, &spec, &err), 0);
        ck_assert_int_eq(spec.resources.cpu_quota, t[i].quota);
        ck_assert_int_eq(spec.resources.cpu_period, t[i].period);
        ck_assert_int_eq(spec.resources.cpu_shares, t[i].shares);
        ck_assert_int_eq(spec.resources.mem_limit, t[i].mem);
        ck_assert_int_eq(spec.resources.pids_limit, 4096);
        rt_spec_release(&spec);
        json_decref(pod);
        free(c);
    }
}
END_TEST

static const struct rt_mount *
find_mount(const struct rt_spec *spec, const char *dest)
{
    for (size_t i = 0; i < spec->nmounts; i++) {
        if (strcmp(spec->mounts[i].destination, dest) == 0)
            return &spec->mounts[i];
    }
    return NULL;
}

START_TEST(volume_mounts_map_to_host_dirs)
{
    json_t *pod =
        pod_with("{\"name\":\"c\",\"volumeMounts\":[{\"name\":\"data\",\"mountPath\":\"/data\"},"
                 "{\"name\":\"cfg\",\"mountPath\":\"/etc/cfg\"},"
                 "{\"name\":\"host\",\"mountPath\":\"/h\",\"readOnly\":true,"
                 "\"mountPropagation\":\"HostToContainer\"},"
                 "{\"name\":\"data\",\"mountPath\":\"/sub\",\"subPath\":\"a/b\"}],"
                 "\"terminationMessagePath\":\"/tmp/term\"}",
                 "\"volumes\":[{\"name\":\"data\",\"emptyDir\":{}},"
                 "{\"name\":\"cfg\",\"configMap\":{\"name\":\"cfg\"}},"
                 "{\"name\":\"host\",\"hostPath\":{\"path\":\"/srv\"}}]");
    const struct rt_mount *m;
    struct rt_spec spec;
    struct sk_err err;

    ck_assert_int_eq(build(pod, NULL, NULL, &spec, &err), 0);
    m = find_mount(&spec, "/data");
    ck_assert_str_eq(m->source, "/var/lib/skiff/pods/u1/volumes/empty-dir/data");
    ck_assert(!(m->flags & MS_RDONLY));
    m = find_mount(&spec, "/etc/cfg");
    ck_assert_str_eq(m->source, "/var/lib/skiff/pods/u1/volumes/configmap/cfg");
    ck_assert(m->flags & MS_RDONLY);
    m = find_mount(&spec, "/h");
    ck_assert_str_eq(m->source, "/srv");
    ck_assert(m->flags & MS_RDONLY);
    ck_assert_uint_eq(m->propagation, MS_REC | MS_SLAVE);
    m = find_mount(&spec, "/sub");
    ck_assert_str_eq(m->source, "/var/lib/skiff/pods/u1/volumes/empty-dir/data/a/b");
    ck_assert_str_eq(find_mount(&spec, "/etc/resolv.conf")->source,
                     "/var/lib/skiff/pods/u1/resolv.conf");
    ck_assert_str_eq(find_mount(&spec, "/etc/hosts")->source, "/var/lib/skiff/pods/u1/etc-hosts");
    ck_assert_str_eq(find_mount(&spec, "/etc/hostname")->source, "/var/lib/skiff/pods/u1/hostname");
    ck_assert_str_eq(find_mount(&spec, "/tmp/term")->source,
                     "/var/lib/skiff/pods/u1/containers/c/termination-log");
    rt_spec_release(&spec);
    json_decref(pod);
}
END_TEST

/* Hostile pods: every wrong type is an error naming the field path. */
START_TEST(hostile_pods_are_errors_naming_the_field)
{
    static const struct {
        const char *ctr, *spec_extra, *want;
    } t[] = {
        {"{\"name\":7}", NULL, "spec.containers[0].name: must be a string"},
        {"{\"name\":\"c\",\"command\":\"ls\"}", NULL,
         "spec.containers[0].command: must be an array"},
        {"{\"name\":\"c\",\"args\":[1]}", NULL, "spec.containers[0].args[0]: must be a string"},
        {"{\"name\":\"c\",\"env\":{}}", NULL, "spec.containers[0].env: must be an array"},
        {"{\"name\":\"c\",\"env\":[\"A=1\"]}", NULL,
         "spec.containers[0].env[0]: must be an object"},
        {"{\"name\":\"c\",\"env\":[{\"name\":1}]}", NULL,
         "spec.containers[0].env[0].name: must be a string"},
        {"{\"name\":\"c\",\"env\":[{\"name\":\"A\",\"value\":1}]}", NULL,
         "spec.containers[0].env[0].value: must be a string"},
        {"{\"name\":\"c\",\"env\":[{\"name\":\"A\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":"
         "\"spec.x\"}}}]}",
         NULL,
         "spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: unsupported field 'spec.x'"},
        {"{\"name\":\"c\",\"workingDir\":[]}", NULL,
         "spec.containers[0].workingDir: must be a string"},
        {"{\"name\":\"c\",\"workingDir\":\"rel\"}", NULL,
         "spec.containers[0].workingDir: 'rel' must be absolute"},
        {"{\"name\":\"c\",\"securityContext\":\"x\"}", NULL,
         "spec.containers[0].securityContext: must be an object"},
        {"{\"name\":\"c\",\"securityContext\":{\"runAsUser\":\"0\"}}", NULL,
         "spec.containers[0].securityContext.runAsUser: must be an integer"},
        {"{\"name\":\"c\",\"securityContext\":{\"privileged\":1}}", NULL,
         "spec.containers[0].securityContext.privileged: must be a boolean"},
        {"{\"name\":\"c\",\"securityContext\":{\"capabilities\":{\"add\":[\"FLY\"]}}}", NULL,
         "spec.containers[0].securityContext.capabilities.add[0]: unknown capability 'FLY'"},
        {"{\"name\":\"c\",\"securityContext\":{\"seccompProfile\":{\"type\":\"Localhost\"}}}", NULL,
         "spec.containers[0].securityContext.seccompProfile.type: unsupported profile 'Localhost'"},
        {"{\"name\":\"c\",\"resources\":{\"limits\":{\"cpu\":\"lots\"}}}", NULL,
         "spec.containers[0].resources.limits.cpu: quantity 'lots'"},
        {"{\"name\":\"c\",\"resources\":{\"limits\":[]}}", NULL,
         "spec.containers[0].resources.limits: must be an object"},
        {"{\"name\":\"c\",\"volumeMounts\":[\"x\"]}", NULL,
         "spec.containers[0].volumeMounts[0]: must be an object"},
        {"{\"name\":\"c\",\"volumeMounts\":[{\"name\":\"v\",\"mountPath\":\"/v\"}]}", NULL,
         "spec.containers[0].volumeMounts[0].name: no volume named 'v'"},
        {"{\"name\":\"c\",\"volumeMounts\":[{\"name\":\"v\",\"mountPath\":\"v\"}]}", NULL,
         "spec.containers[0].volumeMounts[0].mountPath: 'v' must be absolute without '..'"},
        {"{\"name\":\"c\",\"volumeMounts\":[{\"name\":\"v\",\"mountPath\":\"/v\",\"subPath\":\"../"
         "../etc\"}]}",
         "\"volumes\":[{\"name\":\"v\",\"emptyDir\":{}}]",
         "spec.containers[0].volumeMounts[0].subPath: '../../etc' must be a relative path without "
         "'..'"},
        {"{\"name\":\"c\",\"volumeMounts\":[{\"name\":\"v\",\"mountPath\":\"/v\",\"subPath\":\"/"
         "etc\"}]}",
         "\"volumes\":[{\"name\":\"v\",\"emptyDir\":{}}]",
         "spec.containers[0].volumeMounts[0].subPath: '/etc' must be a relative path without '..'"},
        {"{\"name\":\"c\",\"volumeMounts\":[{\"name\":\"v\",\"mountPath\":\"/"
         "v\",\"mountPropagation\":\"Bidirectional\"}]}",
         "\"volumes\":[{\"name\":\"v\",\"emptyDir\":{}}]",
         "spec.containers[0].volumeMounts[0].mountPropagation: Bidirectional needs a privileged "
         "container"},
        {"{\"name\":\"c\",\"volumeMounts\":[{\"name\":\"v\",\"mountPath\":\"/v\"}]}",
         "\"volumes\":[{\"name\":\"v\",\"hostPath\":{\"path\":\"/a/../etc\"}}]",
         "spec.containers[0].volumeMounts[0]: volume 'v': hostPath '/a/../etc' must be absolute "
         "without '..'"},
        {"{\"name\":\"c\",\"volumeMounts\":[{\"name\":\"v\",\"mountPath\":\"/v\"}]}",
         "\"volumes\":[{\"name\":\"v\",\"nfs\":{}}]",
         "spec.containers[0].volumeMounts[0]: volume 'v': unsupported volume type"},
        {"{\"name\":\"c\"}", "\"hostNetwork\":true", "spec.hostNetwork: not supported by skiff"},
        {"{\"name\":\"c\"}", "\"shareProcessNamespace\":\"yes\"",
         "spec.shareProcessNamespace: must be a boolean"},
        {"{\"name\":\"c\"}", "\"securityContext\":{\"supplementalGroups\":[\"x\"]}",
         "spec.securityContext.supplementalGroups[0]: must be a group id"},
        {"7", NULL, "spec.containers[0]: must be an object"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        json_t *pod = pod_with(t[i].ctr, t[i].spec_extra);
        struct rt_spec spec;
        struct sk_err err;

        ck_assert_int_lt(build(pod, NULL, NULL, &spec, &err), 0);
        ck_assert_msg(strncmp(err.msg, t[i].want, strlen(t[i].want)) == 0, "case %zu: got '%s'", i,
                      err.msg);
        rt_spec_release(&spec);
        json_decref(pod);
    }
}
END_TEST

START_TEST(non_object_pods_do_not_crash)
{
    static const char *const pods[] = {"[]",
                                       "{}",
                                       "{\"spec\":[]}",
                                       "{\"spec\":{\"containers\":{}}}",
                                       "{\"spec\":{\"containers\":[]}}",
                                       "null"};
    for (size_t i = 0; i < sizeof(pods) / sizeof(pods[0]); i++) {
        json_t *pod = json_loads(pods[i], JSON_DECODE_ANY, NULL);
        struct rt_spec spec;
        struct sk_err err;

        ck_assert_int_lt(build(pod, NULL, NULL, &spec, &err), 0);
        rt_spec_release(&spec);
        json_decref(pod);
    }
}
END_TEST

START_TEST(subpath_symlink_escape_is_refused)
{
    char *root = sk_asprintf("%s/vol", unit_tmpdir()), *p, *out = NULL;
    struct sk_err err;

    ck_assert_int_eq(mkdir(root, 0755), 0);
    p = sk_asprintf("%s/sub", root);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    free(p);
    p = sk_asprintf("%s/evil", root);
    ck_assert_int_eq(symlink("/etc", p), 0);
    free(p);
    p = sk_asprintf("%s/up", root);
    ck_assert_int_eq(symlink("../..", p), 0);
    free(p);
    p = sk_asprintf("%s/inside", root);
    ck_assert_int_eq(symlink("sub", p), 0);
    free(p);
    sk_err_init(&err);
    ck_assert_int_lt(kl_subpath_resolve(root, "evil/passwd", &out, &err), 0);
    ck_assert_int_lt(kl_subpath_resolve(root, "evil", &out, &err), 0);
    ck_assert_int_lt(kl_subpath_resolve(root, "up", &out, &err), 0);
    ck_assert_int_lt(kl_subpath_resolve(root, "../vol", &out, &err), 0);
    ck_assert_int_lt(kl_subpath_resolve(root, "/etc", &out, &err), 0);
    ck_assert_int_eq(kl_subpath_resolve(root, "inside", &out, &err), 0);
    p = sk_asprintf("%s/sub", root);
    ck_assert_str_eq(out, p);
    free(p);
    free(out);
    free(root);
}
END_TEST

START_TEST(subpath_resolver_is_used_by_the_build)
{
    char *root = sk_asprintf("%s/pod", unit_tmpdir()), *vol;
    struct kl_sandbox sb = sandbox;
    struct rt_image_info img = image();
    json_t *pod = pod_with("{\"name\":\"c\",\"volumeMounts\":[{\"name\":\"v\",\"mountPath\":\"/v\","
                           "\"subPath\":\"evil\"}]}",
                           "\"volumes\":[{\"name\":\"v\",\"emptyDir\":{}}]");
    struct kl_podspec_in in = {
        .pod = pod, .image = &img, .sandbox = &sb, .subpath = kl_subpath_resolve};
    struct rt_spec spec;
    struct sk_err err;

    sb.pod_dir = root;
    vol = sk_asprintf("%s/volumes/empty-dir/v", root);
    sk_err_init(&err);
    ck_assert_int_eq(kl_hostpath_check(vol, "DirectoryOrCreate", &err), 0);
    free(vol);
    vol = sk_asprintf("%s/volumes/empty-dir/v/evil", root);
    ck_assert_int_eq(symlink("/", vol), 0);
    ck_assert_int_lt(kl_podspec_build(&in, &spec, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "spec.containers[0].volumeMounts[0].subPath"));
    ck_assert_ptr_nonnull(strstr(err.msg, "outside the volume"));
    rt_spec_release(&spec);
    json_decref(pod);
    free(vol);
    free(root);
}
END_TEST

START_TEST(hostpath_types_are_checked)
{
    char *d = sk_asprintf("%s/hp/dir", unit_tmpdir()),
         *f = sk_asprintf("%s/hp/file", unit_tmpdir());
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_lt(kl_hostpath_check(d, "Directory", &err), 0);
    ck_assert_int_eq(kl_hostpath_check(d, "DirectoryOrCreate", &err), 0);
    ck_assert_int_eq(kl_hostpath_check(d, "Directory", &err), 0);
    ck_assert_int_eq(kl_hostpath_check(f, "FileOrCreate", &err), 0);
    ck_assert_int_eq(kl_hostpath_check(f, "File", &err), 0);
    ck_assert_int_lt(kl_hostpath_check(f, "Directory", &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "is not a directory"));
    ck_assert_int_lt(kl_hostpath_check(d, "Socket", &err), 0);
    ck_assert_int_lt(kl_hostpath_check(d, "Bogus", &err), 0);
    ck_assert_int_eq(kl_hostpath_check("/nonexistent", "", &err), 0);
    free(d);
    free(f);
}
END_TEST

static char *
slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char buf[4096];
    size_t n;

    if (!f)
        return NULL;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return sk_strdup(buf);
}

START_TEST(resolv_conf_and_hosts_content)
{
    struct sk_buf b = SK_BUF_INIT;
    json_t *pod = pod_with("{\"name\":\"c\"}", "\"hostname\":\"h1\",\"subdomain\":\"sub\"");
    char host[64];

    kl_resolv_conf("prod", "10.96.0.10", "cluster.local", &b);
    ck_assert_str_eq(b.data, "nameserver 10.96.0.10\n"
                             "search prod.svc.cluster.local svc.cluster.local cluster.local\n"
                             "options ndots:5\n");
    sk_buf_reset(&b);
    kl_etc_hosts(pod, "10.244.1.5", "cluster.local", &b);
    ck_assert_ptr_nonnull(strstr(b.data, "127.0.0.1\tlocalhost\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "10.244.1.5\th1.sub.default.svc.cluster.local\th1\n"));
    ck_assert_int_eq(kl_pod_hostname(pod, host, sizeof(host), NULL), 0);
    ck_assert_str_eq(host, "h1");
    sk_buf_release(&b);
    json_decref(pod);
}
END_TEST

START_TEST(resolv_conf_without_cluster_dns_has_no_nameserver)
{
    struct sk_buf b = SK_BUF_INIT;

    kl_resolv_conf("prod", NULL, "k.test", &b);
    ck_assert_str_eq(b.data, "search prod.svc.k.test svc.k.test k.test\noptions ndots:5\n");
    sk_buf_release(&b);
}
END_TEST

/* Upstreams come from the nameserver lines only, in order, bad ones
 * skipped, never more than asked for. */
START_TEST(resolv_conf_nameservers_are_read_in_order)
{
    static const struct {
        const char *text;
        size_t max, n;
        const char *first, *last;
    } cases[] = {
        {"nameserver 192.168.91.53\n", 4, 1, "192.168.91.53", "192.168.91.53"},
        {"# c\nsearch x\nnameserver 10.0.0.1\n  nameserver\tfd00::1  \nnameserver 10.0.0.3", 4, 3,
         "10.0.0.1", "10.0.0.3"},
        {"nameserver bogus\nnameserver 300.1.1.1\nnameserver 10.0.0.9\n", 4, 1, "10.0.0.9",
         "10.0.0.9"},
        {"nameserver 1.1.1.1\nnameserver 1.1.1.2\nnameserver 1.1.1.3\n", 2, 2, "1.1.1.1",
         "1.1.1.2"},
        {"options ndots:5\nnameservers 1.2.3.4\n", 4, 0, NULL, NULL},
        {"", 4, 0, NULL, NULL},
        {NULL, 4, 0, NULL, NULL},
    };
    char out[4][64];
    size_t i, n;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        n = kl_resolv_conf_nameservers(cases[i].text, out, cases[i].max);
        ck_assert_msg(n == cases[i].n, "case %zu: %zu nameservers", i, n);
        if (n) {
            ck_assert_str_eq(out[0], cases[i].first);
            ck_assert_str_eq(out[n - 1], cases[i].last);
        }
    }
    /* A line longer than any buffer is cut, not overflowed. */
    char *longline = sk_malloc(10000);
    memset(longline, 'x', 9999);
    longline[9999] = '\0';
    memcpy(longline, "nameserver ", 11);
    ck_assert_uint_eq(kl_resolv_conf_nameservers(longline, out, 4), 0);
    free(longline);
}
END_TEST

START_TEST(pod_files_are_written)
{
    struct kl_sandbox sb = sandbox;
    json_t *pod = pod_with("{\"name\":\"c\"}", NULL);
    char *dir = sk_asprintf("%s/pfiles", unit_tmpdir()), *p, *s;
    struct sk_err err;

    sb.pod_dir = dir;
    sk_err_init(&err);
    ck_assert_int_eq(kl_pod_files_write(pod, &sb, "10.96.0.10", "cluster.local", &err), 0);
    p = sk_asprintf("%s/hostname", dir);
    s = slurp(p);
    ck_assert_str_eq(s, "web-abc\n");
    free(s);
    free(p);
    p = sk_asprintf("%s/resolv.conf", dir);
    s = slurp(p);
    ck_assert_ptr_nonnull(strstr(s, "search default.svc.cluster.local"));
    free(s);
    free(p);
    p = sk_asprintf("%s/containers/c/termination-log", dir);
    ck_assert_int_eq(access(p, F_OK), 0);
    free(p);
    free(dir);
    json_decref(pod);
}
END_TEST

START_TEST(configmap_and_secret_volumes_are_projected_atomically)
{
    json_t *cms = J("[{\"metadata\":{\"name\":\"cfg\"},\"data\":{\"a\":\"1\",\"b\":\"2\"}}]");
    json_t *secs = J("[{\"metadata\":{\"name\":\"s\"},\"data\":{\"k\":\"aGk=\"}}]");
    json_t *v1 = J("{\"name\":\"v\",\"configMap\":{\"name\":\"cfg\",\"defaultMode\":420,"
                   "\"items\":[{\"key\":\"a\",\"path\":\"dir/a.txt\",\"mode\":384}]}}");
    json_t *v2 = J("{\"name\":\"s\",\"secret\":{\"secretName\":\"s\"}}");
    json_t *bad = J("{\"name\":\"v\",\"configMap\":{\"name\":\"cfg\",\"items\":[{\"key\":\"a\","
                    "\"path\":\"../x\"}]}}");
    struct kl_refs refs = {cms, secs};
    char *dir = sk_asprintf("%s/proj", unit_tmpdir()), *p, *s;
    struct stat st;
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_eq(kl_volume_project(v1, "spec.volumes[0]", &refs, dir, &err), 0);
    p = sk_asprintf("%s/dir/a.txt", dir);
    s = slurp(p);
    ck_assert_str_eq(s, "1");
    ck_assert_int_eq(stat(p, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0600);
    free(s);
    free(p);
    /* a second projection swaps ..data */
    ck_assert_int_eq(kl_volume_project(v1, "spec.volumes[0]", &refs, dir, &err), 0);
    p = sk_asprintf("%s/dir/a.txt", dir);
    ck_assert_int_eq(access(p, F_OK), 0);
    free(p);
    free(dir);
    dir = sk_asprintf("%s/projs", unit_tmpdir());
    ck_assert_int_eq(kl_volume_project(v2, "spec.volumes[1]", &refs, dir, &err), 0);
    p = sk_asprintf("%s/k", dir);
    s = slurp(p);
    ck_assert_str_eq(s, "hi");
    free(s);
    free(p);
    ck_assert_int_lt(kl_volume_project(bad, "spec.volumes[2]", &refs, dir, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "spec.volumes[2].configMap.items[0]"));
    free(dir);
    json_decref(cms);
    json_decref(secs);
    json_decref(v1);
    json_decref(v2);
    json_decref(bad);
}
END_TEST

static const char full_pod[] =
    "{\"metadata\":{\"name\":\"web-abc\",\"namespace\":\"default\",\"uid\":\"u1\","
    "\"labels\":{\"app\":\"web\"}},"
    "\"spec\":{\"restartPolicy\":\"Always\",\"hostname\":\"h\",\"subdomain\":\"s\","
    "\"securityContext\":{\"runAsUser\":1,\"runAsGroup\":2,\"supplementalGroups\":[3],"
    "\"fsGroup\":4,\"seccompProfile\":{\"type\":\"RuntimeDefault\"}},"
    "\"volumes\":[{\"name\":\"d\",\"emptyDir\":{\"medium\":\"\"}},"
    "{\"name\":\"h\",\"hostPath\":{\"path\":\"/srv\",\"type\":\"\"}},"
    "{\"name\":\"c\",\"configMap\":{\"name\":\"cfg\",\"items\":[{\"key\":\"mode\","
    "\"path\":\"m\"}]}}],"
    "\"initContainers\":[{\"name\":\"i\",\"image\":\"x\",\"command\":[\"true\"]}],"
    "\"containers\":[{\"name\":\"c\",\"image\":\"x\",\"command\":[\"a\",\"$(X)\"],"
    "\"args\":[\"b\"],\"workingDir\":\"/w\",\"ports\":[{\"name\":\"http\",\"containerPort\":80}],"
    "\"env\":[{\"name\":\"X\",\"value\":\"1\"},{\"name\":\"Y\",\"valueFrom\":{\"fieldRef\":"
    "{\"fieldPath\":\"metadata.name\"}}},{\"name\":\"Z\",\"valueFrom\":{\"configMapKeyRef\":"
    "{\"name\":\"cfg\",\"key\":\"mode\"}}}],"
    "\"envFrom\":[{\"configMapRef\":{\"name\":\"cfg\"}}],"
    "\"securityContext\":{\"capabilities\":{\"add\":[\"NET_ADMIN\"],\"drop\":[\"MKNOD\"]},"
    "\"readOnlyRootFilesystem\":true,\"allowPrivilegeEscalation\":false},"
    "\"resources\":{\"limits\":{\"cpu\":\"1\",\"memory\":\"1Gi\"},\"requests\":{\"cpu\":\"1\"}},"
    "\"livenessProbe\":{\"httpGet\":{\"path\":\"/\",\"port\":\"http\",\"httpHeaders\":"
    "[{\"name\":\"a\",\"value\":\"b\"}]},\"periodSeconds\":5},"
    "\"volumeMounts\":[{\"name\":\"d\",\"mountPath\":\"/d\",\"subPath\":\"x\"},"
    "{\"name\":\"c\",\"mountPath\":\"/c\",\"readOnly\":true}]}]}}";

/* Run every pure entry point on pod; whatever it says, it must not
 * crash, and a failure must carry a message. */
static void
exercise(const json_t *pod, const json_t *cms)
{
    struct rt_spec spec;
    struct sk_err err;
    const json_t *ctr;
    struct kl_probe pr;
    int rc;

    for (int init = 0; init < 2; init++) {
        struct rt_image_info img = image();
        struct kl_podspec_in in = {.pod = pod, .init = init, .image = &img, .sandbox = &sandbox};
        in.refs.configmaps = cms;
        sk_err_init(&err);
        rc = kl_podspec_build(&in, &spec, &err);
        ck_assert(rc == 0 || err.msg[0] != '\0');
        rt_spec_release(&spec);
    }
    ctr = json_array_get(json_object_get(json_object_get(pod, "spec"), "containers"), 0);
    for (int k = 0; k < KL_PROBE_NKINDS; k++) {
        sk_err_init(&err);
        rc = kl_probe_parse(ctr, "spec.containers[0]", (enum kl_probe_kind)k, &pr, &err);
        ck_assert(rc == 0 || err.msg[0] != '\0');
    }
    {
        struct kl_ctr_obs obs = {.name = "c", .state = KL_CTR_RUNNING};
        struct kl_status_in sin = {.pod = pod, .ctrs = &obs, .nctrs = 1, .now = "t"};
        json_t *st = NULL;
        sk_err_init(&err);
        rc = kl_status_build(&sin, &st, &err);
        ck_assert(rc == 0 || err.msg[0] != '\0');
        json_decref(st);
    }
}

/* Replace the node at each position in turn by each JSON type. */
static size_t
mutate_walk(json_t *root, json_t *node, const json_t *cms)
{
    size_t count = 0;

    if (json_is_object(node)) {
        const char *k;
        json_t *v;
        void *tmp;
        json_object_foreach_safe (node, tmp, k, v) {
            json_t *keep = json_incref(v);
            json_t *repl[] = {json_integer(7), json_string("x"), json_array(),  json_object(),
                              json_true(),     json_null(),      json_real(1.5)};
            for (size_t r = 0; r < sizeof(repl) / sizeof(repl[0]); r++) {
                json_object_set_new(node, k, repl[r]);
                exercise(root, cms);
                count++;
            }
            json_object_set_new(node, k, keep);
            count += mutate_walk(root, keep, cms);
        }
    } else if (json_is_array(node)) {
        for (size_t i = 0; i < json_array_size(node); i++) {
            json_t *keep = json_incref(json_array_get(node, i));
            json_t *repl[] = {json_integer(-1), json_string(""), json_array(), json_object(),
                              json_null()};
            for (size_t r = 0; r < sizeof(repl) / sizeof(repl[0]); r++) {
                json_array_set_new(node, i, repl[r]);
                exercise(root, cms);
                count++;
            }
            json_array_set_new(node, i, keep);
            count += mutate_walk(root, keep, cms);
        }
    }
    return count;
}

START_TEST(every_field_of_a_full_pod_mutated_to_every_type_never_crashes)
{
    json_t *cms = J("[{\"metadata\":{\"name\":\"cfg\"},\"data\":{\"mode\":\"fast\"}}]");
    json_t *pod = J(full_pod);
    struct rt_spec spec;
    struct sk_err err;

    /* the unmutated pod is valid */
    ck_assert_msg(build(pod, cms, NULL, &spec, &err) == 0, "%s", err.msg);
    rt_spec_release(&spec);
    ck_assert_uint_gt(mutate_walk(pod, pod, cms), 200);
    json_decref(pod);
    json_decref(cms);
}
END_TEST

START_TEST(init_container_and_image_user)
{
    static char *user_num = "1000:2000", *user_name = "nginx";
    json_t *pod = J(full_pod);
    struct rt_image_info img = image();
    struct kl_podspec_in in = {.pod = pod, .init = 1, .image = &img, .sandbox = &sandbox};
    struct rt_spec spec;
    struct sk_err err;
    json_t *ps = json_object_get(pod, "spec");

    json_object_del(ps, "securityContext");
    sk_err_init(&err);
    img.user = user_num;
    ck_assert_int_eq(kl_podspec_build(&in, &spec, &err), 0);
    ck_assert_str_eq(spec.process.args[0], "true");
    ck_assert_str_eq(spec.cgroups_path, "pods/u1/i");
    ck_assert_uint_eq(spec.process.uid, 1000);
    ck_assert_uint_eq(spec.process.gid, 2000);
    rt_spec_release(&spec);
    img.user = user_name;
    ck_assert_int_eq(kl_podspec_build(&in, &spec, &err), 0);
    ck_assert_str_eq(spec.process.username, "nginx");
    rt_spec_release(&spec);
    json_decref(pod);
}
END_TEST

/* In a child with its own mount namespace, so no mount outlives it. */
static int
emptydir_memory_child(const char *dir)
{
    json_t *vol = J("{\"name\":\"m\",\"emptyDir\":{\"medium\":\"Memory\",\"sizeLimit\":\"1Mi\"}}");
    struct statfs sfs;
    int rc;

    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return 77;
    rc = kl_volume_emptydir(vol, "spec.volumes[0]", dir, NULL);
    json_decref(vol);
    if (rc < 0)
        return 1;
    if (statfs(dir, &sfs) < 0 || sfs.f_type != TMPFS_MAGIC || sfs.f_blocks * sfs.f_bsize != 1 << 20)
        return 2;
    umount2(dir, MNT_DETACH);
    return 0;
}

START_TEST(empty_dirs_are_created_and_memory_ones_are_tmpfs)
{
    json_t *vol = J("{\"name\":\"d\",\"emptyDir\":{}}");
    json_t *bad = J("{\"name\":\"d\",\"emptyDir\":{\"medium\":\"HugePages\"}}");
    char *dir = sk_asprintf("%s/ed/d", unit_tmpdir()),
         *mdir = sk_asprintf("%s/ed/m", unit_tmpdir());
    struct sk_err err;
    struct stat st;
    int status;
    pid_t pid;

    sk_err_init(&err);
    ck_assert_int_eq(kl_volume_emptydir(vol, "spec.volumes[0]", dir, &err), 0);
    ck_assert_int_eq(stat(dir, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0777);
    ck_assert_int_lt(kl_volume_emptydir(bad, "spec.volumes[1]", dir, &err), 0);
    ck_assert_str_eq(err.msg, "spec.volumes[1].emptyDir.medium: unsupported 'HugePages'");
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(emptydir_memory_child(mdir));
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    if (WEXITSTATUS(status) != 77) /* 77: no privilege for mounts here */
        ck_assert_int_eq(WEXITSTATUS(status), 0);
    json_decref(vol);
    json_decref(bad);
    free(dir);
    free(mdir);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("kubelet_podspec");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, command_and_args_follow_the_kubernetes_table);
    tcase_add_test(tc, expansion_matches_kubernetes_cases);
    tcase_add_test(tc, env_orders_image_then_container_with_references);
    tcase_add_test(tc, env_from_configmap_and_secret_keys);
    tcase_add_test(tc, missing_required_key_names_the_field);
    tcase_add_test(tc, security_context_maps_onto_the_process);
    tcase_add_test(tc, defaults_keep_runtime_default_seccomp_and_escalation);
    tcase_add_test(tc, privileged_gets_all_caps_and_no_filter);
    tcase_add_test(tc, run_as_non_root_refuses_root_and_names);
    tcase_add_test(tc, resources_become_cgroup_limits);
    tcase_add_test(tc, volume_mounts_map_to_host_dirs);
    tcase_add_test(tc, hostile_pods_are_errors_naming_the_field);
    tcase_add_test(tc, non_object_pods_do_not_crash);
    tcase_add_test(tc, subpath_symlink_escape_is_refused);
    tcase_add_test(tc, subpath_resolver_is_used_by_the_build);
    tcase_add_test(tc, hostpath_types_are_checked);
    tcase_add_test(tc, resolv_conf_and_hosts_content);
    tcase_add_test(tc, pod_files_are_written);
    tcase_add_test(tc, configmap_and_secret_volumes_are_projected_atomically);
    tcase_add_test(tc, every_field_of_a_full_pod_mutated_to_every_type_never_crashes);
    tcase_add_test(tc, init_container_and_image_user);
    tcase_add_test(tc, resolv_conf_without_cluster_dns_has_no_nameserver);
    tcase_add_test(tc, resolv_conf_nameservers_are_read_in_order);
    tcase_add_test(tc, empty_dirs_are_created_and_memory_ones_are_tmpfs);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
