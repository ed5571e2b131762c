/* runtime/config.c: OCI config.json -> struct rt_spec, errors by path. */
#include "runtime/rt_int.h"
#include "unit.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

#define MIN_PROC                                                                                   \
    "\"process\": {\"args\": [\"sh\"], \"cwd\": \"/\"}, \"root\": {\"path\": \"rootfs\"}"

static int
parse(const char *json, struct rt_spec *spec, struct sk_err *err)
{
    sk_err_init(err);
    return rt_spec_parse_config(json, strlen(json), spec, err);
}

static const struct {
    const char *name;
    const char *json;
    const char *want; /* substring of the error message */
} bad[] = {
    {"truncated", "{\"process\": {\"args\": [\"sh\"", "line 1"},
    {"not an object", "[1, 2]", "config: must be an object"},
    {"empty", "", "line"},
    {"missing process", "{\"root\": {\"path\": \"r\"}}", "process: required"},
    {"missing args", "{\"process\": {\"cwd\": \"/\"}, \"root\": {\"path\": \"r\"}}",
     "process.args: required"},
    {"empty args", "{\"process\": {\"args\": []}, \"root\": {\"path\": \"r\"}}",
     "process.args: must not be empty"},
    {"args not strings", "{\"process\": {\"args\": [1]}, \"root\": {\"path\": \"r\"}}",
     "process.args[0]: must be a string"},
    {"missing root", "{\"process\": {\"args\": [\"sh\"]}}", "root: required"},
    {"relative cwd",
     "{\"process\": {\"args\": [\"sh\"], \"cwd\": \"tmp\"}, \"root\": {\"path\": \"r\"}}",
     "process.cwd: must be an absolute path"},
    {"terminal not a boolean",
     "{\"process\": {\"args\": [\"sh\"], \"terminal\": 1}, \"root\": {\"path\": \"r\"}}",
     "process.terminal: must be a boolean"},
    {"console size not an object",
     "{\"process\": {\"args\": [\"sh\"], \"consoleSize\": 3}, \"root\": {\"path\": \"r\"}}",
     "process.consoleSize: must be an object"},
    {"console size unknown field",
     "{\"process\": {\"args\": [\"sh\"], \"consoleSize\": {\"depth\": 3}}, "
     "\"root\": {\"path\": \"r\"}}",
     "process.consoleSize.depth: unsupported field"},
    {"console size too large",
     "{\"process\": {\"args\": [\"sh\"], \"consoleSize\": {\"height\": 70000}}, "
     "\"root\": {\"path\": \"r\"}}",
     "process.consoleSize: at most 65535"},
    {"unknown top-level field", "{" MIN_PROC ", \"bogus\": 1}", "bogus: unsupported field"},
    {"unknown process field",
     "{\"process\": {\"args\": [\"sh\"], \"evil\": 1}, \"root\": {\"path\": \"r\"}}",
     "process.evil: unsupported field"},
    {"apparmor",
     "{\"process\": {\"args\": [\"sh\"], \"apparmorProfile\": \"x\"}, \"root\": {\"path\": \"r\"}}",
     "process.apparmorProfile: not supported"},
    {"hooks not an object", "{" MIN_PROC ", \"hooks\": []}", "hooks: must be an object"},
    {"unknown hook kind", "{" MIN_PROC ", \"hooks\": {\"onBoot\": []}}",
     "hooks.onBoot: unsupported field"},
    {"hook list not an array", "{" MIN_PROC ", \"hooks\": {\"poststop\": {}}}",
     "hooks.poststop: must be an array"},
    {"hook without path", "{" MIN_PROC ", \"hooks\": {\"prestart\": [{\"args\": [\"x\"]}]}}",
     "hooks.prestart[0].path: required"},
    {"hook relative path", "{" MIN_PROC ", \"hooks\": {\"prestart\": [{\"path\": \"bin/x\"}]}}",
     "hooks.prestart[0].path: must be an absolute path"},
    {"hook bad timeout",
     "{" MIN_PROC ", \"hooks\": {\"poststart\": [{\"path\": \"/x\"}, {\"path\": \"/x\", "
     "\"timeout\": -1}]}}",
     "hooks.poststart[1].timeout: must be between 1 and 86400 seconds"},
    {"hook unknown field",
     "{" MIN_PROC ", \"hooks\": {\"poststart\": [{\"path\": \"/x\", \"user\": 0}]}}",
     "hooks.poststart[0].user: unsupported field"},
    {"hook args not strings",
     "{" MIN_PROC ", \"hooks\": {\"poststart\": [{\"path\": \"/x\", \"args\": [1]}]}}",
     "hooks.poststart[0].args[0]: must be a string"},
    {"unknown namespace",
     "{" MIN_PROC ", \"linux\": {\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"mount\"}, "
     "{\"type\": \"foo\"}]}}",
     "linux.namespaces[2].type: unknown namespace 'foo'"},
    {"duplicate namespace",
     "{" MIN_PROC ", \"linux\": {\"namespaces\": [{\"type\": \"mount\"}, {\"type\": \"mount\"}]}}",
     "linux.namespaces[1].type: duplicate namespace 'mount'"},
    {"no mount namespace", "{" MIN_PROC ", \"linux\": {\"namespaces\": [{\"type\": \"pid\"}]}}",
     "a mount namespace is required"},
    {"join user namespace",
     "{" MIN_PROC ", \"linux\": {\"namespaces\": [{\"type\": \"mount\"}, {\"type\": \"user\", "
     "\"path\": \"/proc/1/ns/user\"}]}}",
     "linux.namespaces[1].path: joining a user namespace is not supported"},
    {"unknown capability",
     "{\"process\": {\"args\": [\"sh\"], \"capabilities\": {\"bounding\": [\"CAP_FLY\"]}}, "
     "\"root\": {\"path\": \"r\"}}",
     "process.capabilities.bounding[0]: unknown capability 'CAP_FLY'"},
    {"unknown rlimit",
     "{\"process\": {\"args\": [\"sh\"], \"rlimits\": [{\"type\": \"RLIMIT_X\", \"soft\": 1, "
     "\"hard\": 1}]}, \"root\": {\"path\": \"r\"}}",
     "process.rlimits[0].type: unknown rlimit 'RLIMIT_X'"},
    {"rlimit soft above hard",
     "{\"process\": {\"args\": [\"sh\"], \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"soft\": 9, "
     "\"hard\": 1}]}, \"root\": {\"path\": \"r\"}}",
     "soft limit above hard limit"},
    {"mount without destination", "{" MIN_PROC ", \"mounts\": [{\"type\": \"tmpfs\"}]}",
     "mounts[0].destination: required"},
    {"mount relative destination",
     "{" MIN_PROC ", \"mounts\": [{\"destination\": \"tmp\", \"type\": \"tmpfs\"}]}",
     "mounts[0].destination: must be an absolute path"},
    {"mount unknown type",
     "{" MIN_PROC ", \"mounts\": [{\"destination\": \"/x\", \"type\": \"nfs\"}]}",
     "mounts[0].type: unsupported mount type 'nfs'"},
    {"mount tmpcopyup",
     "{" MIN_PROC ", \"mounts\": [{\"destination\": \"/x\", \"type\": \"tmpfs\", \"options\": "
     "[\"tmpcopyup\"]}]}",
     "mounts[0].options[0]: unsupported option 'tmpcopyup'"},
    {"relative bind source",
     "{" MIN_PROC
     ", \"mounts\": [{\"destination\": \"/x\", \"type\": \"bind\", \"source\": \"a\"}]}",
     "mounts[0].source: bind source must be an absolute path"},
    {"devices allow rule",
     "{" MIN_PROC
     ", \"linux\": {\"resources\": {\"devices\": [{\"allow\": true, \"access\": \"rwm\"}]}}}",
     "linux.resources.devices[0]: only deny rules are supported"},
    {"blockIO", "{" MIN_PROC ", \"linux\": {\"resources\": {\"blockIO\": {\"weight\": 10}}}}",
     "linux.resources.blockIO: not supported"},
    {"memory reservation",
     "{" MIN_PROC ", \"linux\": {\"resources\": {\"memory\": {\"reservation\": 10}}}}",
     "linux.resources.memory.reservation: not supported"},
    {"memory limit not a number",
     "{" MIN_PROC ", \"linux\": {\"resources\": {\"memory\": {\"limit\": \"1G\"}}}}",
     "linux.resources.memory.limit: must be an integer"},
    {"swap below limit",
     "{" MIN_PROC ", \"linux\": {\"resources\": {\"memory\": {\"limit\": 100, \"swap\": 10}}}}",
     "linux.resources.memory.swap: must be at least memory.limit"},
    {"cpuset", "{" MIN_PROC ", \"linux\": {\"resources\": {\"cpu\": {\"cpus\": \"0-1\"}}}}",
     "linux.resources.cpu.cpus: not supported"},
    {"seccomp unknown action",
     "{" MIN_PROC ", \"linux\": {\"seccomp\": {\"defaultAction\": \"SCMP_ACT_MAYBE\"}}}",
     "linux.seccomp.defaultAction"},
    {"seccomp rule without names",
     "{" MIN_PROC ", \"linux\": {\"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\", "
     "\"syscalls\": [{\"action\": \"SCMP_ACT_ERRNO\"}]}}}",
     "linux.seccomp.syscalls[0].names: required"},
    {"seccomp bad operator",
     "{" MIN_PROC ", \"linux\": {\"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\", "
     "\"syscalls\": [{\"names\": [\"kill\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": "
     "[{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_ISH\"}]}]}}}",
     "linux.seccomp.syscalls[0].args[0].op: unknown operator"},
    {"seccomp listener",
     "{" MIN_PROC ", \"linux\": {\"seccomp\": {\"defaultAction\": "
     "\"SCMP_ACT_ALLOW\", \"listenerPath\": \"/run/x.sock\"}}}",
     "linux.seccomp.listenerPath: not supported"},
    {"uid mappings without userns",
     "{" MIN_PROC ", \"linux\": {\"uidMappings\": [{\"containerID\": 0, \"hostID\": 1000, "
     "\"size\": 1}]}}",
     "linux.uidMappings: requires a user namespace"},
    {"hostname without uts",
     "{" MIN_PROC ", \"hostname\": \"h\", \"linux\": {\"namespaces\": [{\"type\": \"mount\"}]}}",
     "hostname: requires a new uts namespace"},
    {"duplicate key", "{" MIN_PROC ", \"hostname\": \"a\", \"hostname\": \"b\"}", "duplicate"},
    {"bad propagation", "{" MIN_PROC ", \"linux\": {\"rootfsPropagation\": \"sideways\"}}",
     "linux.rootfsPropagation: unknown propagation"},
    {"apparmor in linux", "{" MIN_PROC ", \"linux\": {\"mountLabel\": \"x\"}}",
     "linux.mountLabel: not supported"},
};

START_TEST(bad_config_is_rejected_naming_the_field)
{
    struct rt_spec spec;
    struct sk_err err;

    ck_assert_msg(parse(bad[_i].json, &spec, &err) < 0, "%s: accepted", bad[_i].name);
    ck_assert_msg(strstr(err.msg, bad[_i].want) != NULL, "%s: got '%s', want '%s'", bad[_i].name,
                  err.msg, bad[_i].want);
}
END_TEST

START_TEST(minimal_config_gets_secure_defaults)
{
    struct rt_spec spec;
    struct sk_err err;

    ck_assert_int_eq(parse("{" MIN_PROC "}", &spec, &err), 0);
    ck_assert_str_eq(spec.process.args[0], "sh");
    ck_assert(spec.process.no_new_privs);
    ck_assert(spec.seccomp != NULL);
    ck_assert_uint_eq(spec.process.caps[RT_CAP_EFFECTIVE], rt_caps_default);
    ck_assert_uint_eq(spec.process.caps[RT_CAP_INHERITABLE], 0);
    ck_assert_uint_gt(spec.nmasked_paths, 0);
    ck_assert_uint_gt(spec.nreadonly_paths, 0);
    ck_assert_uint_eq(spec.nnamespaces, 6);
    rt_spec_release(&spec);
}
END_TEST

START_TEST(full_config_fields_are_parsed)
{
    static const char json[] =
        "{\"ociVersion\": \"1.0.2\", \"process\": {\"args\": [\"/bin/app\", \"-x\"], "
        "\"env\": [\"A=1\"], \"cwd\": \"/srv\", \"terminal\": true, "
        "\"consoleSize\": {\"height\": 40, \"width\": 120}, \"user\": {\"uid\": 1000, \"gid\": "
        "100, "
        "\"additionalGids\": [5, 6], \"umask\": 63}, \"noNewPrivileges\": false, "
        "\"capabilities\": {\"bounding\": [\"CAP_KILL\"], \"effective\": [\"KILL\"]}, "
        "\"rlimits\": [{\"type\": \"RLIMIT_NPROC\", \"soft\": 10, \"hard\": 20}]}, "
        "\"root\": {\"path\": \"/r\", \"readonly\": true}, \"hostname\": \"box\", "
        "\"mounts\": [{\"destination\": \"/data\", \"type\": \"bind\", \"source\": \"/srv/d\", "
        "\"options\": [\"rbind\", \"ro\", \"nosuid\", \"rprivate\"]}, {\"destination\": \"/t\", "
        "\"type\": \"tmpfs\", \"source\": \"tmpfs\", \"options\": [\"size=1m\", \"noexec\", "
        "\"mode=755\"]}], \"annotations\": {\"k\": \"v\"}, "
        "\"linux\": {\"namespaces\": [{\"type\": \"mount\"}, {\"type\": \"network\", \"path\": "
        "\"/run/netns/pod\"}, {\"type\": \"uts\"}, {\"type\": \"user\"}], "
        "\"uidMappings\": [{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536}], "
        "\"gidMappings\": [{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536}], "
        "\"resources\": {\"memory\": {\"limit\": 1048576, \"swap\": 2097152}, \"cpu\": "
        "{\"shares\": 512, \"quota\": 50000, \"period\": 100000}, \"pids\": {\"limit\": 64}}, "
        "\"cgroupsPath\": \"pod1/app\", \"sysctl\": {\"net.ipv4.ip_forward\": \"1\"}, "
        "\"maskedPaths\": [\"/proc/kcore\"], \"readonlyPaths\": [], "
        "\"seccomp\": {\"defaultAction\": \"SCMP_ACT_ERRNO\", \"architectures\": "
        "[\"SCMP_ARCH_X86_64\"], \"syscalls\": [{\"names\": [\"read\", \"write\"], \"action\": "
        "\"SCMP_ACT_ALLOW\"}, {\"names\": [\"kill\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": "
        "[{\"index\": 1, \"value\": 0, \"op\": \"SCMP_CMP_EQ\"}]}]}}}";
    struct rt_spec spec;
    struct sk_err err;

    ck_assert_msg(parse(json, &spec, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(spec.process.nargs, 2);
    ck_assert_str_eq(spec.process.cwd, "/srv");
    ck_assert_uint_eq(spec.process.uid, 1000);
    ck_assert_uint_eq(spec.process.gid, 100);
    ck_assert_uint_eq(spec.process.nadd_gids, 2);
    ck_assert_int_eq(spec.process.umask, 63);
    ck_assert(!spec.process.no_new_privs);
    ck_assert(spec.process.terminal);
    ck_assert_uint_eq(spec.process.console_rows, 40);
    ck_assert_uint_eq(spec.process.console_cols, 120);
    ck_assert_uint_eq(spec.process.caps[RT_CAP_BOUNDING], 1ULL << 5);
    ck_assert_uint_eq(spec.process.caps[RT_CAP_PERMITTED], 0);
    ck_assert_int_eq(spec.process.rlimits[0].resource, RLIMIT_NPROC);
    ck_assert(spec.root_readonly);
    ck_assert_str_eq(spec.hostname, "box");
    ck_assert_uint_eq(spec.nmounts, 2);
    ck_assert_int_eq(spec.mounts[0].bind, 2);
    ck_assert(spec.mounts[0].flags & MS_RDONLY);
    ck_assert(spec.mounts[0].flags & MS_NOSUID);
    ck_assert_uint_eq(spec.mounts[0].propagation, MS_PRIVATE | MS_REC);
    ck_assert_str_eq(spec.mounts[1].data, "size=1m,mode=755");
    ck_assert(spec.mounts[1].flags & MS_NOEXEC);
    ck_assert_str_eq(spec.namespaces[1].path, "/run/netns/pod");
    ck_assert_int_eq(spec.namespaces[3].type, CLONE_NEWUSER);
    ck_assert_uint_eq(spec.uid_maps[0].host_id, 100000);
    ck_assert_int_eq(spec.resources.mem_limit, 1048576);
    ck_assert_int_eq(spec.resources.cpu_quota, 50000);
    ck_assert_int_eq(spec.resources.pids_limit, 64);
    ck_assert_str_eq(spec.cgroups_path, "pod1/app");
    ck_assert_str_eq(spec.sysctl[0].key, "net.ipv4.ip_forward");
    ck_assert_str_eq(spec.annotations[0].value, "v");
    ck_assert_uint_eq(spec.nmasked_paths, 1);
    ck_assert_uint_eq(spec.nreadonly_paths, 0);
    ck_assert_uint_eq(spec.seccomp->nrules, 2);
    ck_assert_uint_eq(spec.seccomp->rules[1].nargs, 1);
    ck_assert_int_gt(rt_seccomp_check(spec.seccomp, &err), 0);
    rt_spec_release(&spec);
}
END_TEST

START_TEST(unconfined_annotation_turns_seccomp_off)
{
    struct rt_spec spec;
    struct sk_err err;

    ck_assert_int_eq(parse("{" MIN_PROC
                           ", \"annotations\": {\"run.skiff.seccomp\": \"unconfined\"}}",
                           &spec, &err),
                     0);
    ck_assert(spec.seccomp == NULL);
    rt_spec_release(&spec);
}
END_TEST

START_TEST(hooks_are_parsed_in_their_kinds)
{
    struct rt_spec spec;
    struct sk_err err;

    ck_assert_msg(parse("{" MIN_PROC ", \"hooks\": {\"createRuntime\": [{\"path\": \"/a\", "
                        "\"args\": [\"a\", \"-x\"], \"env\": [\"K=V\"], \"timeout\": 5}, "
                        "{\"path\": \"/b\"}], \"poststop\": [{\"path\": \"/c\"}]}}",
                        &spec, &err) == 0,
                  "%s", err.msg);
    ck_assert_uint_eq(spec.hooks.n[RT_HOOK_CREATE_RUNTIME], 2);
    ck_assert_uint_eq(spec.hooks.n[RT_HOOK_POSTSTOP], 1);
    ck_assert_uint_eq(spec.hooks.n[RT_HOOK_PRESTART], 0);
    ck_assert_str_eq(spec.hooks.list[RT_HOOK_CREATE_RUNTIME][0].args[1], "-x");
    ck_assert_str_eq(spec.hooks.list[RT_HOOK_CREATE_RUNTIME][0].env[0], "K=V");
    ck_assert_int_eq(spec.hooks.list[RT_HOOK_CREATE_RUNTIME][0].timeout, 5);
    ck_assert_int_eq(spec.hooks.list[RT_HOOK_CREATE_RUNTIME][1].timeout, 0);
    ck_assert_str_eq(spec.hooks.list[RT_HOOK_POSTSTOP][0].path, "/c");
    ck_assert_str_eq(rt_hook_kind_name(RT_HOOK_START_CONTAINER), "startContainer");
    rt_spec_release(&spec);
}
END_TEST

START_TEST(default_spec_json_parses_to_the_defaults)
{
    char *json = rt_spec_default_json();
    struct rt_spec spec;
    struct sk_err err;

    ck_assert_msg(parse(json, &spec, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(spec.process.caps[RT_CAP_BOUNDING], rt_caps_default);
    ck_assert(spec.root_readonly);
    ck_assert_uint_eq(spec.nmounts, 7);
    rt_spec_release(&spec);
    free(json);
}
END_TEST

START_TEST(exec_process_inherits_and_overrides)
{
    static const char json[] = "{\"args\": [\"ls\"], \"env\": [\"X=1\"], \"user\": {\"uid\": 7}}";
    struct rt_spec spec;
    struct rt_process proc;
    struct sk_err err;

    rt_spec_init_default(&spec);
    sk_err_init(&err);
    ck_assert_int_eq(rt_process_parse(json, strlen(json), &spec.process, &proc, &err), 0);
    ck_assert_str_eq(proc.args[0], "ls");
    ck_assert_uint_eq(proc.uid, 7);
    ck_assert_str_eq(proc.cwd, "/");
    ck_assert(proc.no_new_privs);
    rt_process_release(&proc);
    ck_assert_int_lt(rt_process_parse("{\"env\": []}", 11, &spec.process, &proc, &err), 0);
    ck_assert_str_eq(err.msg, "process.args: required");
    rt_spec_release(&spec);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("runtime_config");
    TCase *tc = tcase_create("config");

    tcase_add_loop_test(tc, bad_config_is_rejected_naming_the_field, 0,
                        (int)(sizeof(bad) / sizeof(bad[0])));
    tcase_add_test(tc, minimal_config_gets_secure_defaults);
    tcase_add_test(tc, full_config_fields_are_parsed);
    tcase_add_test(tc, unconfined_annotation_turns_seccomp_off);
    tcase_add_test(tc, hooks_are_parsed_in_their_kinds);
    tcase_add_test(tc, default_spec_json_parses_to_the_defaults);
    tcase_add_test(tc, exec_process_inherits_and_overrides);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
