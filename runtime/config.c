/* OCI runtime spec config.json -> struct rt_spec.
 *
 * Parsed with jansson directly. Every error names the JSON path of the
 * offending field ("linux.namespaces[2].type: unknown namespace 'foo'").
 * Fields skiff does not implement are rejected when they matter for
 * security or isolation (hooks, apparmor, devices, ...); absent security
 * fields get skiff's secure defaults (rt_spec_init_default), so an OCI
 * config without "linux.seccomp" still runs under the default profile.
 * The annotation "run.skiff.seccomp": "unconfined" turns seccomp off. */
#include "runtime/rt_int.h"

#include "lib/alloc.h"
#include "lib/buf.h"

#include <errno.h>
#include <jansson.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

#define P(buf, ...) sk_snprintf(buf, sizeof(buf), __VA_ARGS__)

static int
check_keys(json_t *obj, const char *path, const char *const *known, struct sk_err *err)
{
    const char *key;
    json_t *val;

    json_object_foreach (obj, key, val) {
        size_t i;

        for (i = 0; known[i]; i++)
            if (strcmp(known[i], key) == 0)
                break;
        if (!known[i])
            return sk_err_set(err, EINVAL, "%s%s%s: unsupported field", path, *path ? "." : "",
                              key);
    }
    return 0;
}

static int
want_type(json_t *v, json_type type, const char *path, const char *what, struct sk_err *err)
{
    if (json_typeof(v) != type)
        return sk_err_set(err, EINVAL, "%s: must be %s", path, what);
    return 0;
}

static int
get_string(json_t *v, const char *path, char **out, struct sk_err *err)
{
    if (want_type(v, JSON_STRING, path, "a string", err) < 0)
        return -EINVAL;
    free(*out);
    *out = sk_strdup(json_string_value(v));
    return 0;
}

static int
get_u64(json_t *v, const char *path, uint64_t *out, struct sk_err *err)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return sk_err_set(err, EINVAL, "%s: must be a non-negative integer", path);
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int
get_i64(json_t *v, const char *path, long long *out, struct sk_err *err)
{
    if (!json_is_integer(v))
        return sk_err_set(err, EINVAL, "%s: must be an integer", path);
    *out = json_integer_value(v);
    return 0;
}

static int
get_bool(json_t *v, const char *path, int *out, struct sk_err *err)
{
    if (!json_is_boolean(v))
        return sk_err_set(err, EINVAL, "%s: must be a boolean", path);
    *out = json_is_true(v);
    return 0;
}

static int
get_strv(json_t *v, const char *path, char ***out, size_t *n, struct sk_err *err)
{
    size_t i;
    json_t *e;

    if (want_type(v, JSON_ARRAY, path, "an array of strings", err) < 0)
        return -EINVAL;
    for (i = 0; i < *n; i++)
        free((*out)[i]);
    free(*out);
    *out = sk_calloc(json_array_size(v) + 1, sizeof(char *));
    *n = 0;
    json_array_foreach (v, i, e) {
        if (!json_is_string(e))
            return sk_err_set(err, EINVAL, "%s[%zu]: must be a string", path, i);
        (*out)[(*n)++] = sk_strdup(json_string_value(e));
    }
    return 0;
}

/* A field that skiff does not implement: fine when empty/false/absent. */
static int
reject_nonempty(json_t *obj, const char *key, const char *path, struct sk_err *err)
{
    json_t *v = json_object_get(obj, key);

    if (!v || json_is_null(v) || json_is_false(v))
        return 0;
    if ((json_is_string(v) && !*json_string_value(v)) ||
        (json_is_array(v) && !json_array_size(v)) || (json_is_object(v) && !json_object_size(v)))
        return 0;
    return sk_err_set(err, ENOTSUP, "%s%s%s: not supported by skiff-runtime", path,
                      *path ? "." : "", key);
}

static int
parse_user(json_t *u, struct rt_process *proc, struct sk_err *err)
{
    static const char *const keys[] = {"uid", "gid", "umask", "additionalGids", "username", NULL};
    uint64_t x = 0;
    json_t *v, *e;
    size_t i;

    if (want_type(u, JSON_OBJECT, "process.user", "an object", err) < 0 ||
        check_keys(u, "process.user", keys, err) < 0)
        return -EINVAL;
    if ((v = json_object_get(u, "uid"))) {
        if (get_u64(v, "process.user.uid", &x, err) < 0 || x > UINT32_MAX - 1)
            return sk_err_set(err, EINVAL, "process.user.uid: must be a uid");
        proc->uid = (uint32_t)x;
    }
    if ((v = json_object_get(u, "gid"))) {
        if (get_u64(v, "process.user.gid", &x, err) < 0 || x > UINT32_MAX - 1)
            return sk_err_set(err, EINVAL, "process.user.gid: must be a gid");
        proc->gid = (uint32_t)x;
    }
    if ((v = json_object_get(u, "umask"))) {
        if (get_u64(v, "process.user.umask", &x, err) < 0 || x > 0777)
            return sk_err_set(err, EINVAL, "process.user.umask: must be between 0 and 0777");
        proc->umask = (long long)x;
    }
    if ((v = json_object_get(u, "username")) &&
        get_string(v, "process.user.username", &proc->username, err) < 0)
        return -EINVAL;
    if ((v = json_object_get(u, "additionalGids"))) {
        if (want_type(v, JSON_ARRAY, "process.user.additionalGids", "an array", err) < 0)
            return -EINVAL;
        free(proc->add_gids);
        proc->add_gids = sk_calloc(json_array_size(v) + 1, sizeof(gid_t));
        proc->nadd_gids = 0;
        json_array_foreach (v, i, e) {
            char p[64];

            P(p, "process.user.additionalGids[%zu]", i);
            if (get_u64(e, p, &x, err) < 0)
                return -EINVAL;
            proc->add_gids[proc->nadd_gids++] = (gid_t)x;
        }
    }
    return 0;
}

static int
parse_caps(json_t *c, struct rt_process *proc, struct sk_err *err)
{
    static const char *const names[RT_CAP_NSETS] = {"bounding", "effective", "permitted",
                                                    "inheritable", "ambient"};
    static const char *const keys[] = {"bounding",    "effective", "permitted",
                                       "inheritable", "ambient",   NULL};

    if (want_type(c, JSON_OBJECT, "process.capabilities", "an object", err) < 0 ||
        check_keys(c, "process.capabilities", keys, err) < 0)
        return -EINVAL;
    for (int s = 0; s < RT_CAP_NSETS; s++) {
        json_t *arr = json_object_get(c, names[s]), *e;
        size_t i;

        proc->caps[s] = 0; /* OCI: an absent set is empty */
        if (!arr)
            continue;
        if (!json_is_array(arr))
            return sk_err_set(err, EINVAL, "process.capabilities.%s: must be an array", names[s]);
        json_array_foreach (arr, i, e) {
            int cap = json_is_string(e) ? rt_cap_from_name(json_string_value(e)) : -1;

            if (cap < 0)
                return sk_err_set(err, EINVAL,
                                  "process.capabilities.%s[%zu]: unknown capability '%s'", names[s],
                                  i, json_is_string(e) ? json_string_value(e) : "?");
            proc->caps[s] |= 1ULL << cap;
        }
    }
    return 0;
}

static const struct {
    const char *name;
    int res;
} rlimit_names[] = {
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
};

static int
parse_rlimits(json_t *arr, struct rt_process *proc, struct sk_err *err)
{
    static const char *const keys[] = {"type", "soft", "hard", NULL};
    json_t *e;
    size_t i;

    if (want_type(arr, JSON_ARRAY, "process.rlimits", "an array", err) < 0)
        return -EINVAL;
    free(proc->rlimits);
    proc->rlimits = sk_calloc(json_array_size(arr) + 1, sizeof(*proc->rlimits));
    proc->nrlimits = 0;
    json_array_foreach (arr, i, e) {
        struct rt_rlimit *rl = &proc->rlimits[proc->nrlimits];
        json_t *t = json_object_get(e, "type");
        char p[64];
        size_t k;

        P(p, "process.rlimits[%zu]", i);
        if (want_type(e, JSON_OBJECT, p, "an object", err) < 0 || check_keys(e, p, keys, err) < 0)
            return -EINVAL;
        if (!json_is_string(t))
            return sk_err_set(err, EINVAL, "%s.type: required", p);
        for (k = 0; k < sizeof(rlimit_names) / sizeof(rlimit_names[0]); k++)
            if (strcmp(rlimit_names[k].name, json_string_value(t)) == 0)
                break;
        if (k == sizeof(rlimit_names) / sizeof(rlimit_names[0]))
            return sk_err_set(err, EINVAL, "%s.type: unknown rlimit '%s'", p, json_string_value(t));
        rl->resource = rlimit_names[k].res;
        P(p, "process.rlimits[%zu].soft", i);
        if (!json_object_get(e, "soft") ||
            get_u64(json_object_get(e, "soft"), p, &rl->soft, err) < 0)
            return sk_err_set(err, EINVAL, "%s: required non-negative integer", p);
        P(p, "process.rlimits[%zu].hard", i);
        if (!json_object_get(e, "hard") ||
            get_u64(json_object_get(e, "hard"), p, &rl->hard, err) < 0)
            return sk_err_set(err, EINVAL, "%s: required non-negative integer", p);
        if (rl->soft > rl->hard)
            return sk_err_set(err, EINVAL, "process.rlimits[%zu]: soft limit above hard limit", i);
        proc->nrlimits++;
    }
    return 0;
}

static int
parse_console_size(json_t *v, struct rt_process *proc, struct sk_err *err)
{
    static const char *const keys[] = {"height", "width", NULL};
    uint64_t h = 0, w = 0;
    json_t *f;

    if (want_type(v, JSON_OBJECT, "process.consoleSize", "an object", err) < 0 ||
        check_keys(v, "process.consoleSize", keys, err) < 0)
        return -EINVAL;
    if (((f = json_object_get(v, "height")) &&
         get_u64(f, "process.consoleSize.height", &h, err) < 0) ||
        ((f = json_object_get(v, "width")) && get_u64(f, "process.consoleSize.width", &w, err) < 0))
        return -EINVAL;
    if (h > 65535 || w > 65535)
        return sk_err_set(err, EINVAL, "process.consoleSize: at most 65535 rows and columns");
    proc->console_rows = (unsigned short)h;
    proc->console_cols = (unsigned short)w;
    return 0;
}

static int
parse_process_obj(json_t *p, struct rt_process *proc, int require_args, struct sk_err *err)
{
    static const char *const keys[] = {"terminal",
                                       "consoleSize",
                                       "user",
                                       "args",
                                       "env",
                                       "cwd",
                                       "capabilities",
                                       "rlimits",
                                       "noNewPrivileges",
                                       "apparmorProfile",
                                       "oomScoreAdj",
                                       "selinuxLabel",
                                       "commandLine",
                                       NULL};
    json_t *v;

    if (want_type(p, JSON_OBJECT, "process", "an object", err) < 0 ||
        check_keys(p, "process", keys, err) < 0)
        return -EINVAL;
    if ((v = json_object_get(p, "terminal")) &&
        get_bool(v, "process.terminal", &proc->terminal, err) < 0)
        return -EINVAL;
    if ((v = json_object_get(p, "consoleSize")) && parse_console_size(v, proc, err) < 0)
        return -EINVAL;
    if (reject_nonempty(p, "apparmorProfile", "process", err) < 0 ||
        reject_nonempty(p, "selinuxLabel", "process", err) < 0 ||
        reject_nonempty(p, "commandLine", "process", err) < 0)
        return -ENOTSUP;
    v = json_object_get(p, "args");
    if (!v) {
        if (require_args)
            return sk_err_set(err, EINVAL, "process.args: required");
    } else {
        if (get_strv(v, "process.args", &proc->args, &proc->nargs, err) < 0)
            return -EINVAL;
        if (proc->nargs == 0)
            return sk_err_set(err, EINVAL, "process.args: must not be empty");
    }
    if ((v = json_object_get(p, "env")) &&
        get_strv(v, "process.env", &proc->env, &proc->nenv, err) < 0)
        return -EINVAL;
    if ((v = json_object_get(p, "cwd"))) {
        if (get_string(v, "process.cwd", &proc->cwd, err) < 0)
            return -EINVAL;
        if (proc->cwd[0] != '/')
            return sk_err_set(err, EINVAL, "process.cwd: must be an absolute path");
    }
    if ((v = json_object_get(p, "user")) && parse_user(v, proc, err) < 0)
        return -EINVAL;
    if ((v = json_object_get(p, "capabilities")) && parse_caps(v, proc, err) < 0)
        return -EINVAL;
    if ((v = json_object_get(p, "rlimits")) && parse_rlimits(v, proc, err) < 0)
        return -EINVAL;
    if ((v = json_object_get(p, "noNewPrivileges")) &&
        get_bool(v, "process.noNewPrivileges", &proc->no_new_privs, err) < 0)
        return -EINVAL;
    if ((v = json_object_get(p, "oomScoreAdj"))) {
        if (get_i64(v, "process.oomScoreAdj", &proc->oom_score, err) < 0)
            return -EINVAL;
        if (proc->oom_score < -1000 || proc->oom_score > 1000)
            return sk_err_set(err, EINVAL, "process.oomScoreAdj: must be between -1000 and 1000");
    }
    return 0;
}

static int
parse_root(json_t *r, struct rt_spec *spec, struct sk_err *err)
{
    static const char *const keys[] = {"path", "readonly", NULL};
    json_t *v;

    if (want_type(r, JSON_OBJECT, "root", "an object", err) < 0 ||
        check_keys(r, "root", keys, err) < 0)
        return -EINVAL;
    if (!(v = json_object_get(r, "path")))
        return sk_err_set(err, EINVAL, "root.path: required");
    if (get_string(v, "root.path", &spec->root_path, err) < 0)
        return -EINVAL;
    if (!*spec->root_path)
        return sk_err_set(err, EINVAL, "root.path: must not be empty");
    spec->root_readonly = 0;
    if ((v = json_object_get(r, "readonly")) &&
        get_bool(v, "root.readonly", &spec->root_readonly, err) < 0)
        return -EINVAL;
    return 0;
}

static int
parse_mount(json_t *e, const char *p, struct rt_mount *m, struct sk_err *err)
{
    static const char *const keys[] = {"destination", "type",        "source", "options",
                                       "uidMappings", "gidMappings", NULL};
    struct sk_buf data = SK_BUF_INIT;
    json_t *v, *o;
    char q[96];
    size_t i;

    if (want_type(e, JSON_OBJECT, p, "an object", err) < 0 || check_keys(e, p, keys, err) < 0 ||
        reject_nonempty(e, "uidMappings", p, err) < 0 ||
        reject_nonempty(e, "gidMappings", p, err) < 0)
        return -EINVAL;
    P(q, "%s.destination", p);
    if (!(v = json_object_get(e, "destination")))
        return sk_err_set(err, EINVAL, "%s: required", q);
    if (get_string(v, q, &m->destination, err) < 0)
        return -EINVAL;
    if (m->destination[0] != '/')
        return sk_err_set(err, EINVAL, "%s: must be an absolute path", q);
    P(q, "%s.type", p);
    m->type = sk_strdup("");
    if ((v = json_object_get(e, "type")) && get_string(v, q, &m->type, err) < 0)
        return -EINVAL;
    P(q, "%s.source", p);
    m->source = sk_strdup(m->type);
    if ((v = json_object_get(e, "source")) && get_string(v, q, &m->source, err) < 0)
        return -EINVAL;
    if ((v = json_object_get(e, "options"))) {
        P(q, "%s.options", p);
        if (want_type(v, JSON_ARRAY, q, "an array of strings", err) < 0)
            return -EINVAL;
        json_array_foreach (v, i, o) {
            char *extra = NULL;

            if (!json_is_string(o))
                return sk_err_set(err, EINVAL, "%s[%zu]: must be a string", q, i);
            if (rt_mount_options_parse(json_string_value(o), m, &extra) < 0) {
                sk_buf_release(&data);
                return sk_err_set(err, ENOTSUP, "%s[%zu]: unsupported option '%s'", q, i,
                                  json_string_value(o));
            }
            if (extra) {
                if (data.len)
                    sk_buf_putc(&data, ',');
                sk_buf_puts(&data, extra);
            }
        }
    }
    if (strcmp(m->type, "bind") == 0 && !m->bind)
        m->bind = 1;
    if (m->bind && m->source[0] != '/')
        return sk_err_set(err, EINVAL, "%s.source: bind source must be an absolute path", p),
               sk_buf_release(&data), -EINVAL;
    m->data = data.len ? sk_buf_detach(&data, NULL) : NULL;
    sk_buf_release(&data);
    if (!m->bind && strcmp(m->type, "proc") && strcmp(m->type, "tmpfs") &&
        strcmp(m->type, "sysfs") && strcmp(m->type, "devpts") && strcmp(m->type, "mqueue") &&
        strcmp(m->type, "cgroup") && strcmp(m->type, "cgroup2"))
        return sk_err_set(err, ENOTSUP, "%s.type: unsupported mount type '%s'", p, m->type);
    return 0;
}

static int
parse_mounts(json_t *arr, struct rt_spec *spec, struct sk_err *err)
{
    json_t *e;
    size_t i;

    if (want_type(arr, JSON_ARRAY, "mounts", "an array", err) < 0)
        return -EINVAL;
    for (i = 0; i < spec->nmounts; i++) {
        free(spec->mounts[i].destination);
        free(spec->mounts[i].type);
        free(spec->mounts[i].source);
        free(spec->mounts[i].data);
    }
    free(spec->mounts);
    spec->mounts = sk_calloc(json_array_size(arr) + 1, sizeof(*spec->mounts));
    spec->nmounts = 0;
    json_array_foreach (arr, i, e) {
        char p[32];

        P(p, "mounts[%zu]", i);
        spec->nmounts++;
        if (parse_mount(e, p, &spec->mounts[i], err) < 0)
            return -EINVAL;
    }
    return 0;
}

static const struct {
    const char *name;
    int flag;
} ns_names[] = {
    {"pid", CLONE_NEWPID},   {"mount", CLONE_NEWNS},    {"uts", CLONE_NEWUTS},
    {"ipc", CLONE_NEWIPC},   {"network", CLONE_NEWNET}, {"cgroup", CLONE_NEWCGROUP},
    {"user", CLONE_NEWUSER},
};

static int
parse_namespaces(json_t *arr, struct rt_spec *spec, struct sk_err *err)
{
    static const char *const keys[] = {"type", "path", NULL};
    json_t *e;
    size_t i;

    if (want_type(arr, JSON_ARRAY, "linux.namespaces", "an array", err) < 0)
        return -EINVAL;
    for (i = 0; i < spec->nnamespaces; i++)
        free(spec->namespaces[i].path);
    free(spec->namespaces);
    spec->namespaces = sk_calloc(json_array_size(arr) + 1, sizeof(*spec->namespaces));
    spec->nnamespaces = 0;
    json_array_foreach (arr, i, e) {
        struct rt_namespace *ns = &spec->namespaces[spec->nnamespaces];
        json_t *t = json_object_get(e, "type"), *v;
        char p[48];
        size_t k;

        P(p, "linux.namespaces[%zu]", i);
        if (want_type(e, JSON_OBJECT, p, "an object", err) < 0 || check_keys(e, p, keys, err) < 0)
            return -EINVAL;
        if (!json_is_string(t))
            return sk_err_set(err, EINVAL, "%s.type: required", p);
        for (k = 0; k < sizeof(ns_names) / sizeof(ns_names[0]); k++)
            if (strcmp(ns_names[k].name, json_string_value(t)) == 0)
                break;
        if (k == sizeof(ns_names) / sizeof(ns_names[0]))
            return sk_err_set(err, EINVAL, "%s.type: unknown namespace '%s'", p,
                              json_string_value(t));
        for (size_t j = 0; j < spec->nnamespaces; j++)
            if (spec->namespaces[j].type == ns_names[k].flag)
                return sk_err_set(err, EINVAL, "%s.type: duplicate namespace '%s'", p,
                                  ns_names[k].name);
        ns->type = ns_names[k].flag;
        spec->nnamespaces++;
        if ((v = json_object_get(e, "path"))) {
            char q[64];

            P(q, "%s.path", p);
            if (get_string(v, q, &ns->path, err) < 0)
                return -EINVAL;
            if (ns->path[0] != '/')
                return sk_err_set(err, EINVAL, "%s: must be an absolute path", q);
            /* The namespaces the container creates would belong to the
             * host's user namespace, not the joined one: refused. */
            if (ns->type == CLONE_NEWUSER)
                return sk_err_set(err, ENOTSUP, "%s: joining a %s namespace is not supported", q,
                                  ns_names[k].name);
        }
    }
    return 0;
}

static int
parse_idmaps(json_t *arr, const char *p, struct rt_idmap **out, size_t *n, struct sk_err *err)
{
    static const char *const keys[] = {"containerID", "hostID", "size", NULL};
    json_t *e;
    size_t i;

    if (want_type(arr, JSON_ARRAY, p, "an array", err) < 0)
        return -EINVAL;
    *out = sk_calloc(json_array_size(arr) + 1, sizeof(**out));
    *n = 0;
    json_array_foreach (arr, i, e) {
        uint64_t c = 0, h = 0, s = 0;
        char q[64];

        P(q, "%s[%zu]", p, i);
        if (want_type(e, JSON_OBJECT, q, "an object", err) < 0 || check_keys(e, q, keys, err) < 0)
            return -EINVAL;
        if (!json_object_get(e, "containerID") || !json_object_get(e, "hostID") ||
            !json_object_get(e, "size"))
            return sk_err_set(err, EINVAL, "%s: containerID, hostID and size are required", q);
        if (get_u64(json_object_get(e, "containerID"), q, &c, err) < 0 ||
            get_u64(json_object_get(e, "hostID"), q, &h, err) < 0 ||
            get_u64(json_object_get(e, "size"), q, &s, err) < 0)
            return -EINVAL;
        if (s == 0 || c + s > UINT32_MAX || h + s > UINT32_MAX)
            return sk_err_set(err, EINVAL, "%s: range out of bounds", q);
        (*out)[(*n)++] = (struct rt_idmap){(uint32_t)c, (uint32_t)h, (uint32_t)s};
    }
    return 0;
}

static int
parse_devices(json_t *arr, struct sk_err *err)
{
    json_t *e;
    size_t i;

    /* The device cgroup always denies everything but the standard nodes
     * (cgroup_v1.c); only rules that deny more are accepted. */
    if (want_type(arr, JSON_ARRAY, "linux.resources.devices", "an array", err) < 0)
        return -EINVAL;
    json_array_foreach (arr, i, e) {
        if (!json_is_object(e) || !json_is_false(json_object_get(e, "allow")))
            return sk_err_set(err, ENOTSUP,
                              "linux.resources.devices[%zu]: only deny rules are supported", i);
    }
    return 0;
}

static int
parse_resources(json_t *r, struct rt_resources *res, struct sk_err *err)
{
    static const char *const keys[] = {"memory",         "cpu",     "pids", "devices", "blockIO",
                                       "hugepageLimits", "network", "rdma", "unified", NULL};
    static const char *const mkeys[] = {"limit",
                                        "swap",
                                        "reservation",
                                        "kernel",
                                        "kernelTCP",
                                        "swappiness",
                                        "disableOOMKiller",
                                        "useHierarchy",
                                        "checkBeforeUpdate",
                                        NULL};
    static const char *const ckeys[] = {"shares",         "quota", "period", "realtimeRuntime",
                                        "realtimePeriod", "cpus",  "mems",   "idle",
                                        "burst",          NULL};
    json_t *m, *c, *p, *v;

    if (want_type(r, JSON_OBJECT, "linux.resources", "an object", err) < 0 ||
        check_keys(r, "linux.resources", keys, err) < 0)
        return -EINVAL;
    if (reject_nonempty(r, "blockIO", "linux.resources", err) < 0 ||
        reject_nonempty(r, "hugepageLimits", "linux.resources", err) < 0 ||
        reject_nonempty(r, "network", "linux.resources", err) < 0 ||
        reject_nonempty(r, "rdma", "linux.resources", err) < 0 ||
        reject_nonempty(r, "unified", "linux.resources", err) < 0)
        return -ENOTSUP;
    if ((v = json_object_get(r, "devices")) && parse_devices(v, err) < 0)
        return -ENOTSUP;
    if ((m = json_object_get(r, "memory"))) {
        if (want_type(m, JSON_OBJECT, "linux.resources.memory", "an object", err) < 0 ||
            check_keys(m, "linux.resources.memory", mkeys, err) < 0)
            return -EINVAL;
        for (int i = 2; mkeys[i]; i++)
            if (reject_nonempty(m, mkeys[i], "linux.resources.memory", err) < 0)
                return -ENOTSUP;
        if ((v = json_object_get(m, "limit")) &&
            get_i64(v, "linux.resources.memory.limit", &res->mem_limit, err) < 0)
            return -EINVAL;
        if ((v = json_object_get(m, "swap")) &&
            get_i64(v, "linux.resources.memory.swap", &res->mem_swap, err) < 0)
            return -EINVAL;
        if (res->mem_limit == 0 || res->mem_limit < -1)
            return sk_err_set(err, EINVAL, "linux.resources.memory.limit: must be positive");
        if (res->mem_swap != RT_UNSET && res->mem_limit > 0 && res->mem_swap < res->mem_limit)
            return sk_err_set(err, EINVAL,
                              "linux.resources.memory.swap: must be at least memory.limit");
    }
    if ((c = json_object_get(r, "cpu"))) {
        if (want_type(c, JSON_OBJECT, "linux.resources.cpu", "an object", err) < 0 ||
            check_keys(c, "linux.resources.cpu", ckeys, err) < 0)
            return -EINVAL;
        for (int i = 3; ckeys[i]; i++)
            if (reject_nonempty(c, ckeys[i], "linux.resources.cpu", err) < 0)
                return -ENOTSUP;
        if ((v = json_object_get(c, "shares")) &&
            get_i64(v, "linux.resources.cpu.shares", &res->cpu_shares, err) < 0)
            return -EINVAL;
        if ((v = json_object_get(c, "quota")) &&
            get_i64(v, "linux.resources.cpu.quota", &res->cpu_quota, err) < 0)
            return -EINVAL;
        if ((v = json_object_get(c, "period")) &&
            get_i64(v, "linux.resources.cpu.period", &res->cpu_period, err) < 0)
            return -EINVAL;
    }
    if ((p = json_object_get(r, "pids"))) {
        static const char *const pkeys[] = {"limit", NULL};

        if (want_type(p, JSON_OBJECT, "linux.resources.pids", "an object", err) < 0 ||
            check_keys(p, "linux.resources.pids", pkeys, err) < 0)
            return -EINVAL;
        if ((v = json_object_get(p, "limit")) &&
            get_i64(v, "linux.resources.pids.limit", &res->pids_limit, err) < 0)
            return -EINVAL;
    }
    return 0;
}

static int
parse_seccomp_rule(json_t *e, const char *p, struct rt_seccomp_rule *rule, struct sk_err *err)
{
    static const char *const keys[] = {"names",   "action",   "errnoRet", "args",
                                       "comment", "includes", "excludes", NULL};
    static const char *const akeys[] = {"index", "value", "valueTwo", "op", NULL};
    json_t *v, *a;
    uint64_t eret = EPERM;
    char q[96];
    size_t i;

    if (want_type(e, JSON_OBJECT, p, "an object", err) < 0 || check_keys(e, p, keys, err) < 0)
        return -EINVAL;
    P(q, "%s.names", p);
    if (!(v = json_object_get(e, "names")))
        return sk_err_set(err, EINVAL, "%s: required", q);
    if (get_strv(v, q, &rule->names, &rule->nnames, err) < 0)
        return -EINVAL;
    P(q, "%s.errnoRet", p);
    if ((v = json_object_get(e, "errnoRet")) && get_u64(v, q, &eret, err) < 0)
        return -EINVAL;
    v = json_object_get(e, "action");
    if (!json_is_string(v) ||
        rt_seccomp_action_parse(json_string_value(v), (uint32_t)eret, &rule->action) < 0)
        return sk_err_set(err, EINVAL, "%s.action: unknown or unsupported action '%s'", p,
                          json_is_string(v) ? json_string_value(v) : "");
    if (!(v = json_object_get(e, "args")))
        return 0;
    P(q, "%s.args", p);
    if (want_type(v, JSON_ARRAY, q, "an array", err) < 0)
        return -EINVAL;
    rule->args = sk_calloc(json_array_size(v) + 1, sizeof(*rule->args));
    json_array_foreach (v, i, a) {
        struct rt_seccomp_arg *arg = &rule->args[i];
        uint64_t idx = 0;
        json_t *op;

        P(q, "%s.args[%zu]", p, i);
        if (want_type(a, JSON_OBJECT, q, "an object", err) < 0 || check_keys(a, q, akeys, err) < 0)
            return -EINVAL;
        if (!json_object_get(a, "index") ||
            get_u64(json_object_get(a, "index"), q, &idx, err) < 0 || idx > 5)
            return sk_err_set(err, EINVAL, "%s.index: required, 0 to 5", q);
        arg->index = (unsigned)idx;
        if (json_object_get(a, "value") &&
            get_u64(json_object_get(a, "value"), q, &arg->value, err) < 0)
            return -EINVAL;
        if (json_object_get(a, "valueTwo") &&
            get_u64(json_object_get(a, "valueTwo"), q, &arg->value_two, err) < 0)
            return -EINVAL;
        op = json_object_get(a, "op");
        if (!json_is_string(op) || rt_seccomp_op_parse(json_string_value(op), &arg->op) < 0)
            return sk_err_set(err, EINVAL, "%s.op: unknown operator", q);
        rule->nargs++;
    }
    return 0;
}

static int
parse_seccomp(json_t *s, struct rt_seccomp **out, struct sk_err *err)
{
    static const char *const keys[] = {
        "defaultAction", "defaultErrnoRet",  "architectures", "flags",
        "listenerPath",  "listenerMetadata", "syscalls",      NULL};
    struct rt_seccomp *sc;
    uint64_t eret = EPERM;
    json_t *v, *e;
    size_t i;

    if (want_type(s, JSON_OBJECT, "linux.seccomp", "an object", err) < 0 ||
        check_keys(s, "linux.seccomp", keys, err) < 0 ||
        reject_nonempty(s, "flags", "linux.seccomp", err) < 0 ||
        reject_nonempty(s, "listenerPath", "linux.seccomp", err) < 0)
        return -EINVAL;
    rt_seccomp_free(*out);
    *out = sc = sk_calloc(1, sizeof(*sc));
    if ((v = json_object_get(s, "defaultErrnoRet")) &&
        get_u64(v, "linux.seccomp.defaultErrnoRet", &eret, err) < 0)
        return -EINVAL;
    v = json_object_get(s, "defaultAction");
    if (!json_is_string(v) ||
        rt_seccomp_action_parse(json_string_value(v), (uint32_t)eret, &sc->default_action) < 0)
        return sk_err_set(err, EINVAL, "linux.seccomp.defaultAction: unknown or missing action");
    if ((v = json_object_get(s, "architectures"))) {
        if (want_type(v, JSON_ARRAY, "linux.seccomp.architectures", "an array", err) < 0)
            return -EINVAL;
        sc->arches = sk_calloc(json_array_size(v) + 1, sizeof(uint32_t));
        json_array_foreach (v, i, e) {
            if (!json_is_string(e) ||
                rt_seccomp_arch_parse(json_string_value(e), &sc->arches[i]) < 0)
                return sk_err_set(err, EINVAL,
                                  "linux.seccomp.architectures[%zu]: unknown architecture", i);
            sc->narches++;
        }
    }
    if (!(v = json_object_get(s, "syscalls")))
        return 0;
    if (want_type(v, JSON_ARRAY, "linux.seccomp.syscalls", "an array", err) < 0)
        return -EINVAL;
    sc->rules = sk_calloc(json_array_size(v) + 1, sizeof(*sc->rules));
    json_array_foreach (v, i, e) {
        char p[48];

        P(p, "linux.seccomp.syscalls[%zu]", i);
        sc->nrules++;
        if (parse_seccomp_rule(e, p, &sc->rules[i], err) < 0)
            return -EINVAL;
    }
    return 0;
}

static int
parse_kv(json_t *o, const char *p, struct rt_kv **out, size_t *n, struct sk_err *err)
{
    const char *key;
    json_t *v;

    if (want_type(o, JSON_OBJECT, p, "an object", err) < 0)
        return -EINVAL;
    *out = sk_calloc(json_object_size(o) + 1, sizeof(**out));
    *n = 0;
    json_object_foreach (o, key, v) {
        if (!json_is_string(v))
            return sk_err_set(err, EINVAL, "%s.%s: must be a string", p, key);
        (*out)[*n].key = sk_strdup(key);
        (*out)[(*n)++].value = sk_strdup(json_string_value(v));
    }
    return 0;
}

static int
parse_propagation(const char *s, unsigned long *out)
{
    struct rt_mount m = {0};
    char *extra = NULL;

    if (rt_mount_options_parse(s, &m, &extra) < 0 || extra || !m.propagation)
        return -1;
    *out = m.propagation;
    return 0;
}

static int
parse_linux(json_t *l, struct rt_spec *spec, struct sk_err *err)
{
    static const char *const keys[] = {
        "namespaces",  "uidMappings",       "gidMappings", "resources",
        "cgroupsPath", "seccomp",           "maskedPaths", "readonlyPaths",
        "sysctl",      "rootfsPropagation", "devices",     "mountLabel",
        "intelRdt",    "personality",       "timeOffsets", NULL};
    json_t *v;

    if (want_type(l, JSON_OBJECT, "linux", "an object", err) < 0 ||
        check_keys(l, "linux", keys, err) < 0)
        return -EINVAL;
    if (reject_nonempty(l, "devices", "linux", err) < 0 ||
        reject_nonempty(l, "mountLabel", "linux", err) < 0 ||
        reject_nonempty(l, "intelRdt", "linux", err) < 0 ||
        reject_nonempty(l, "personality", "linux", err) < 0 ||
        reject_nonempty(l, "timeOffsets", "linux", err) < 0)
        return -ENOTSUP;
    if ((v = json_object_get(l, "namespaces")) && parse_namespaces(v, spec, err) < 0)
        return -EINVAL;
    if ((v = json_object_get(l, "uidMappings")) &&
        parse_idmaps(v, "linux.uidMappings", &spec->uid_maps, &spec->nuid_maps, err) < 0)
        return -EINVAL;
    if ((v = json_object_get(l, "gidMappings")) &&
        parse_idmaps(v, "linux.gidMappings", &spec->gid_maps, &spec->ngid_maps, err) < 0)
        return -EINVAL;
    if ((v = json_object_get(l, "resources")) && parse_resources(v, &spec->resources, err) < 0)
        return -EINVAL;
    if ((v = json_object_get(l, "cgroupsPath")) &&
        get_string(v, "linux.cgroupsPath", &spec->cgroups_path, err) < 0)
        return -EINVAL;
    if (spec->cgroups_path && strstr(spec->cgroups_path, ".."))
        return sk_err_set(err, EINVAL, "linux.cgroupsPath: must not contain '..'");
    if ((v = json_object_get(l, "seccomp")) && parse_seccomp(v, &spec->seccomp, err) < 0)
        return -EINVAL;
    if ((v = json_object_get(l, "maskedPaths")) &&
        get_strv(v, "linux.maskedPaths", &spec->masked_paths, &spec->nmasked_paths, err) < 0)
        return -EINVAL;
    if ((v = json_object_get(l, "readonlyPaths")) &&
        get_strv(v, "linux.readonlyPaths", &spec->readonly_paths, &spec->nreadonly_paths, err) < 0)
        return -EINVAL;
    if ((v = json_object_get(l, "sysctl")) &&
        parse_kv(v, "linux.sysctl", &spec->sysctl, &spec->nsysctl, err) < 0)
        return -EINVAL;
    if ((v = json_object_get(l, "rootfsPropagation"))) {
        if (!json_is_string(v) ||
            parse_propagation(json_string_value(v), &spec->rootfs_propagation) < 0)
            return sk_err_set(err, EINVAL, "linux.rootfsPropagation: unknown propagation");
    }
    return 0;
}

static int
has_ns(const struct rt_spec *spec, int type)
{
    for (size_t i = 0; i < spec->nnamespaces; i++)
        if (spec->namespaces[i].type == type)
            return 1;
    return 0;
}

/* Checks across fields, after everything was parsed. */
static int
validate(struct rt_spec *spec, struct sk_err *err)
{
    if (!has_ns(spec, CLONE_NEWNS))
        return sk_err_set(err, EINVAL, "linux.namespaces: a mount namespace is required");
    if (spec->hostname && *spec->hostname && !has_ns(spec, CLONE_NEWUTS))
        return sk_err_set(err, EINVAL, "hostname: requires a new uts namespace");
    if ((spec->nuid_maps || spec->ngid_maps) && !has_ns(spec, CLONE_NEWUSER))
        return sk_err_set(err, EINVAL, "linux.uidMappings: requires a user namespace");
    if (has_ns(spec, CLONE_NEWUSER) && (!spec->nuid_maps || !spec->ngid_maps))
        return sk_err_set(err, EINVAL,
                          "linux.uidMappings: required with a user namespace (and gidMappings)");
    for (size_t i = 0; i < spec->nannotations; i++)
        if (strcmp(spec->annotations[i].key, "run.skiff.seccomp") == 0) {
            if (strcmp(spec->annotations[i].value, "unconfined") != 0)
                return sk_err_set(err, EINVAL, "annotations.run.skiff.seccomp: only 'unconfined'");
            rt_seccomp_free(spec->seccomp);
            spec->seccomp = NULL;
        }
    return 0;
}

static const char *const hook_names[RT_HOOK_NKINDS + 1] = {
    "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop",
    NULL};

static int
parse_hook(json_t *e, const char *p, struct rt_hook *h, struct sk_err *err)
{
    static const char *const keys[] = {"path", "args", "env", "timeout", NULL};
    char q[80];
    json_t *v;

    if (want_type(e, JSON_OBJECT, p, "an object", err) < 0 || check_keys(e, p, keys, err) < 0)
        return -EINVAL;
    P(q, "%s.path", p);
    if (!(v = json_object_get(e, "path")))
        return sk_err_set(err, EINVAL, "%s: required", q);
    if (get_string(v, q, &h->path, err) < 0)
        return -EINVAL;
    if (h->path[0] != '/')
        return sk_err_set(err, EINVAL, "%s: must be an absolute path", q);
    P(q, "%s.args", p);
    if ((v = json_object_get(e, "args")) && get_strv(v, q, &h->args, &h->nargs, err) < 0)
        return -EINVAL;
    P(q, "%s.env", p);
    if ((v = json_object_get(e, "env")) && get_strv(v, q, &h->env, &h->nenv, err) < 0)
        return -EINVAL;
    P(q, "%s.timeout", p);
    if ((v = json_object_get(e, "timeout"))) {
        long long t = 0;

        if (get_i64(v, q, &t, err) < 0)
            return -EINVAL;
        if (t <= 0 || t > 86400)
            return sk_err_set(err, EINVAL, "%s: must be between 1 and 86400 seconds", q);
        h->timeout = (int)t;
    }
    return 0;
}

static int
parse_hooks(json_t *o, struct rt_hooks *hooks, struct sk_err *err)
{
    if (want_type(o, JSON_OBJECT, "hooks", "an object", err) < 0 ||
        check_keys(o, "hooks", hook_names, err) < 0)
        return -EINVAL;
    rt_hooks_release(hooks);
    for (int k = 0; k < RT_HOOK_NKINDS; k++) {
        json_t *arr = json_object_get(o, hook_names[k]), *e;
        char p[64];
        size_t i;

        if (!arr)
            continue;
        P(p, "hooks.%s", hook_names[k]);
        if (want_type(arr, JSON_ARRAY, p, "an array", err) < 0)
            return -EINVAL;
        hooks->list[k] = sk_calloc(json_array_size(arr) + 1, sizeof(struct rt_hook));
        json_array_foreach (arr, i, e) {
            P(p, "hooks.%s[%zu]", hook_names[k], i);
            hooks->n[k]++;
            if (parse_hook(e, p, &hooks->list[k][i], err) < 0)
                return -EINVAL;
        }
    }
    return 0;
}

static int
parse_top(json_t *root, struct rt_spec *spec, struct sk_err *err)
{
    static const char *const keys[] = {"ociVersion", "process", "root",  "hostname",
                                       "domainname", "mounts",  "linux", "annotations",
                                       "hooks",      NULL};
    json_t *v;

    if (want_type(root, JSON_OBJECT, "config", "an object", err) < 0 ||
        check_keys(root, "", keys, err) < 0 || reject_nonempty(root, "domainname", "", err) < 0)
        return -EINVAL;
    if ((v = json_object_get(root, "ociVersion")) && !json_is_string(v))
        return sk_err_set(err, EINVAL, "ociVersion: must be a string");
    if (!(v = json_object_get(root, "process")))
        return sk_err_set(err, EINVAL, "process: required");
    spec->process.caps[RT_CAP_AMBIENT] = 0;
    if (parse_process_obj(v, &spec->process, 1, err) < 0)
        return -EINVAL;
    if (!(v = json_object_get(root, "root")))
        return sk_err_set(err, EINVAL, "root: required");
    if (parse_root(v, spec, err) < 0)
        return -EINVAL;
    free(spec->hostname);
    spec->hostname = NULL;
    if ((v = json_object_get(root, "hostname")) &&
        get_string(v, "hostname", &spec->hostname, err) < 0)
        return -EINVAL;
    if ((v = json_object_get(root, "mounts")) && parse_mounts(v, spec, err) < 0)
        return -EINVAL;
    if ((v = json_object_get(root, "annotations")) &&
        parse_kv(v, "annotations", &spec->annotations, &spec->nannotations, err) < 0)
        return -EINVAL;
    if ((v = json_object_get(root, "linux")) && parse_linux(v, spec, err) < 0)
        return -EINVAL;
    if ((v = json_object_get(root, "hooks")) && parse_hooks(v, &spec->hooks, err) < 0)
        return -EINVAL;
    return validate(spec, err);
}

int
rt_spec_parse_config(const char *text, size_t len, struct rt_spec *spec, struct sk_err *err)
{
    json_error_t jerr;
    json_t *root;
    int rc;

    rt_spec_init_default(spec);
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        rt_spec_release(spec);
        return sk_err_set(err, EINVAL, "line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
    }
    rc = parse_top(root, spec, err);
    json_decref(root);
    if (rc < 0)
        rt_spec_release(spec);
    return rc;
}

int
rt_spec_load_config(const char *path, struct rt_spec *spec, struct sk_err *err)
{
    size_t len;
    char *text;
    int rc;

    rc = rt_read_file(path, &text, &len, err);
    if (rc < 0)
        return rc;
    rc = rt_spec_parse_config(text, len, spec, err);
    free(text);
    if (rc < 0)
        sk_err_wrap(err, "config '%s'", path);
    return rc;
}

static void
copy_process(struct rt_process *dst, const struct rt_process *src)
{
    *dst = *src;
    dst->args = sk_calloc(src->nargs + 1, sizeof(char *));
    for (size_t i = 0; i < src->nargs; i++)
        dst->args[i] = sk_strdup(src->args[i]);
    dst->env = sk_calloc(src->nenv + 1, sizeof(char *));
    for (size_t i = 0; i < src->nenv; i++)
        dst->env[i] = sk_strdup(src->env[i]);
    dst->cwd = src->cwd ? sk_strdup(src->cwd) : NULL;
    dst->username = src->username ? sk_strdup(src->username) : NULL;
    dst->add_gids = sk_calloc(src->nadd_gids + 1, sizeof(gid_t));
    if (src->nadd_gids)
        memcpy(dst->add_gids, src->add_gids, src->nadd_gids * sizeof(gid_t));
    dst->rlimits = sk_calloc(src->nrlimits + 1, sizeof(struct rt_rlimit));
    if (src->nrlimits)
        memcpy(dst->rlimits, src->rlimits, src->nrlimits * sizeof(struct rt_rlimit));
}

int
rt_process_parse(const char *text, size_t len, const struct rt_process *base,
                 struct rt_process *proc, struct sk_err *err)
{
    json_error_t jerr;
    json_t *root;
    int rc;

    copy_process(proc, base);
    if (!text)
        return 0;
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        rt_process_release(proc);
        return sk_err_set(err, EINVAL, "line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
    }
    rc = parse_process_obj(root, proc, 1, err);
    json_decref(root);
    if (rc < 0)
        rt_process_release(proc);
    return rc;
}

/* `skiff-runtime spec`: the same defaults as rt_spec_init_default, in
 * the OCI format. */
char *
rt_spec_default_json(void)
{
    static const char text[] =
        "{\n"
        "  \"ociVersion\": \"1.0.2\",\n"
        "  \"process\": {\n"
        "    \"terminal\": false,\n"
        "    \"user\": {\"uid\": 0, \"gid\": 0},\n"
        "    \"args\": [\"sh\"],\n"
        "    \"env\": [\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"],\n"
        "    \"cwd\": \"/\",\n"
        "    \"capabilities\": {\n"
        "      \"bounding\": [CAPS],\n"
        "      \"effective\": [CAPS],\n"
        "      \"permitted\": [CAPS]\n"
        "    },\n"
        "    \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"hard\": 1024, \"soft\": 1024}],\n"
        "    \"noNewPrivileges\": true\n"
        "  },\n"
        "  \"root\": {\"path\": \"rootfs\", \"readonly\": true},\n"
        "  \"hostname\": \"skiff\",\n"
        "  \"mounts\": [\n"
        "    {\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},\n"
        "    {\"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\",\n"
        "     \"options\": [\"nosuid\", \"strictatime\", \"mode=755\", \"size=65536k\"]},\n"
        "    {\"destination\": \"/dev/pts\", \"type\": \"devpts\", \"source\": \"devpts\",\n"
        "     \"options\": [\"nosuid\", \"noexec\", \"newinstance\", \"ptmxmode=0666\", "
        "\"mode=0620\", \"gid=5\"]},\n"
        "    {\"destination\": \"/dev/shm\", \"type\": \"tmpfs\", \"source\": \"shm\",\n"
        "     \"options\": [\"nosuid\", \"noexec\", \"nodev\", \"mode=1777\", \"size=65536k\"]},\n"
        "    {\"destination\": \"/dev/mqueue\", \"type\": \"mqueue\", \"source\": \"mqueue\",\n"
        "     \"options\": [\"nosuid\", \"noexec\", \"nodev\"]},\n"
        "    {\"destination\": \"/sys\", \"type\": \"sysfs\", \"source\": \"sysfs\",\n"
        "     \"options\": [\"nosuid\", \"noexec\", \"nodev\", \"ro\"]},\n"
        "    {\"destination\": \"/sys/fs/cgroup\", \"type\": \"cgroup\", \"source\": \"cgroup\",\n"
        "     \"options\": [\"nosuid\", \"noexec\", \"nodev\", \"relatime\", \"ro\"]}\n"
        "  ],\n"
        "  \"linux\": {\n"
        "    \"resources\": {\"devices\": [{\"allow\": false, \"access\": \"rwm\"}]},\n"
        "    \"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"network\"}, {\"type\": \"ipc\"},\n"
        "                   {\"type\": \"uts\"}, {\"type\": \"mount\"}, {\"type\": \"cgroup\"}],\n"
        "    \"maskedPaths\": [\"/proc/acpi\", \"/proc/asound\", \"/proc/kcore\", \"/proc/keys\",\n"
        "      \"/proc/latency_stats\", \"/proc/timer_list\", \"/proc/timer_stats\",\n"
        "      \"/proc/sched_debug\", \"/proc/scsi\", \"/sys/firmware\",\n"
        "      \"/sys/devices/virtual/powercap\"],\n"
        "    \"readonlyPaths\": [\"/proc/bus\", \"/proc/fs\", \"/proc/irq\", \"/proc/sys\",\n"
        "      \"/proc/sysrq-trigger\"]\n"
        "  }\n"
        "}\n";
    static const char caps[] =
        "\"CAP_CHOWN\", \"CAP_DAC_OVERRIDE\", \"CAP_FSETID\", \"CAP_FOWNER\", \"CAP_MKNOD\", "
        "\"CAP_NET_RAW\", \"CAP_SETGID\", \"CAP_SETUID\", \"CAP_SETFCAP\", \"CAP_SETPCAP\", "
        "\"CAP_NET_BIND_SERVICE\", \"CAP_SYS_CHROOT\", \"CAP_KILL\", \"CAP_AUDIT_WRITE\"";
    struct sk_buf b = SK_BUF_INIT;

    for (const char *p = text; *p;) {
        const char *q = strstr(p, "CAPS");

        if (!q) {
            sk_buf_puts(&b, p);
            break;
        }
        sk_buf_append(&b, p, (size_t)(q - p));
        sk_buf_puts(&b, caps);
        p = q + 4;
    }
    return sk_buf_detach(&b, NULL);
}
