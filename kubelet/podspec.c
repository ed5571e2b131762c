/* kubelet/: one container of a Pod -> struct rt_spec, as Kubernetes'
 * kubelet and a CRI runtime would set it up together.
 *
 * Pure: reads the pod, the image config, the sandbox facts and the
 * referenced ConfigMaps/Secrets; writes only spec. The pieces:
 * podspec_env.c (env, command), podspec_sec.c (securityContext),
 * podspec_mounts.c (volumes and the pod's generated files), and here
 * the namespaces, hostname, resources and the runtime annotations.
 *
 * Resources, as the kubelet maps them onto cgroups:
 *   cpu limit    -> quota = limit_m * period / 1000, period 100 ms
 *                   (quota at least 1 ms, the kernel's minimum)
 *   cpu request  -> shares = request_m * 1024 / 1000, at least 2, at
 *                   most 262144 (the runtime turns shares into cpu.weight
 *                   on cgroup v2); no request but a limit: the limit (API
 *                   defaulting); neither: 2, like a BestEffort pod
 *   memory limit -> memory limit in bytes, no swap
 *   pids         -> the agent's configured per-container limit */
#include "kubelet/kl_int.h"

#include "lib/alloc.h"
#include "lib/quantity.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define CPU_PERIOD_US    100000
#define CPU_MIN_QUOTA_US 1000
#define CPU_MIN_SHARES   2
#define CPU_MAX_SHARES   262144

int
kl_pod_hostname(const json_t *pod, char *out, size_t outsz, struct sk_err *err)
{
    const char *h = NULL;
    size_t n;
    int rc;

    rc = kl_opt_str(json_object_get(pod, "spec"), "spec", "hostname", &h, err);
    if (rc < 0)
        return rc;
    if (!h || !*h) {
        rc = kl_req_str(json_object_get(pod, "metadata"), "metadata", "name", &h, err);
        if (rc < 0)
            return rc;
    }
    /* Kubernetes truncates to 63 characters and trims trailing '-' '.' */
    n = strlen(h) > 63 ? 63 : strlen(h);
    while (n > 0 && (h[n - 1] == '-' || h[n - 1] == '.'))
        n--;
    if (n == 0 || n + 1 > outsz)
        return sk_err_set(err, EINVAL, "metadata.name: no usable hostname in '%s'", h);
    memcpy(out, h, n);
    out[n] = '\0';
    return 0;
}

void
kl_resolv_conf(const char *ns, const char *dns, const char *domain, struct sk_buf *out)
{
    if (dns && *dns)
        sk_buf_printf(out, "nameserver %s\n", dns);
    sk_buf_printf(out, "search %s.svc.%s svc.%s %s\n", ns, domain, domain, domain);
    sk_buf_puts(out, "options ndots:5\n");
}

void
kl_etc_hosts(const json_t *pod, const char *pod_ip, const char *domain, struct sk_buf *out)
{
    const char *ns =
        json_string_value(json_object_get(json_object_get(pod, "metadata"), "namespace"));
    const char *sub = json_string_value(json_object_get(json_object_get(pod, "spec"), "subdomain"));
    char host[64];

    sk_buf_puts(out, "# Kubernetes-managed hosts file (skiff).\n"
                     "127.0.0.1\tlocalhost\n"
                     "::1\tlocalhost ip6-localhost ip6-loopback\n"
                     "fe00::0\tip6-localnet\n"
                     "fe00::0\tip6-mcastprefix\n"
                     "fe00::1\tip6-allnodes\n"
                     "fe00::2\tip6-allrouters\n");
    if (!pod_ip || !*pod_ip || kl_pod_hostname(pod, host, sizeof(host), NULL) < 0)
        return;
    if (sub && *sub)
        sk_buf_printf(out, "%s\t%s.%s.%s.svc.%s\t%s\n", pod_ip, host, sub, ns ? ns : "default",
                      domain, host);
    else
        sk_buf_printf(out, "%s\t%s\n", pod_ip, host);
}

static int
resource(const json_t *res, const char *path, const char *kind, const char *name,
         struct sk_quantity *q, struct sk_err *err)
{
    const json_t *map, *v;
    char sub[512];
    int rc;

    sk_snprintf(sub, sizeof(sub), "%s.resources", path);
    if ((rc = kl_opt_obj(res, sub, kind, &map, err)) < 0)
        return rc;
    v = json_object_get(map, name);
    if (!v || json_is_null(v))
        return 1;
    if (sk_quantity_from_json(v, q, err) < 0)
        return sk_err_wrap(err, "%s.%s.%s", sub, kind, name);
    if (sk_quantity_sign(q) < 0)
        return sk_err_set(err, EINVAL, "%s.%s.%s: must not be negative", sub, kind, name);
    return 0;
}

static int
apply_resources(const struct kl_podspec_in *in, const json_t *ctr, const char *path,
                struct rt_spec *spec, struct sk_err *err)
{
    struct sk_quantity cpu_lim, cpu_req, mem_lim;
    const json_t *res;
    int has_lim, has_req, has_mem;
    int64_t req_m, shares;
    int rc;

    if ((rc = kl_opt_obj(ctr, path, "resources", &res, err)) < 0)
        return rc;
    if ((has_lim = resource(res, path, "limits", "cpu", &cpu_lim, err)) < 0 ||
        (has_req = resource(res, path, "requests", "cpu", &cpu_req, err)) < 0 ||
        (has_mem = resource(res, path, "limits", "memory", &mem_lim, err)) < 0)
        return -err->code;
    if (has_lim == 0) {
        int64_t q = sk_quantity_milli(&cpu_lim) * CPU_PERIOD_US / 1000;
        spec->resources.cpu_period = CPU_PERIOD_US;
        spec->resources.cpu_quota = q < CPU_MIN_QUOTA_US ? CPU_MIN_QUOTA_US : q;
    }
    req_m = has_req == 0 ? sk_quantity_milli(&cpu_req)
                         : (has_lim == 0 ? sk_quantity_milli(&cpu_lim) : 0);
    shares = req_m > INT64_MAX / 1024 ? CPU_MAX_SHARES : req_m * 1024 / 1000;
    if (shares < CPU_MIN_SHARES)
        shares = CPU_MIN_SHARES;
    if (shares > CPU_MAX_SHARES)
        shares = CPU_MAX_SHARES;
    spec->resources.cpu_shares = shares;
    if (has_mem == 0)
        spec->resources.mem_limit = sk_quantity_value(&mem_lim);
    spec->resources.pids_limit = in->sandbox->pids_limit > 0 ? in->sandbox->pids_limit : RT_UNSET;
    return 0;
}

/* net, ipc and uts are the sandbox's; pid only with shareProcessNamespace. */
static int
apply_namespaces(const struct kl_podspec_in *in, struct rt_spec *spec, struct sk_err *err)
{
    const json_t *ps = json_object_get(in->pod, "spec");
    const struct kl_sandbox *sb = in->sandbox;
    int share, host;
    int rc;

    if ((rc = kl_opt_bool(ps, "spec", "shareProcessNamespace", 0, &share, err)) < 0)
        return rc;
    static const char *const hostns[] = {"hostNetwork", "hostPID", "hostIPC"};
    for (size_t i = 0; i < 3; i++) {
        if ((rc = kl_opt_bool(ps, "spec", hostns[i], 0, &host, err)) < 0)
            return rc;
        if (host)
            return sk_err_set(err, ENOTSUP, "spec.%s: not supported by skiff", hostns[i]);
    }
    if (!sb->netns_path)
        return sk_err_set(err, EINVAL, "sandbox: no network namespace");
    if (share && !sb->pidns_path)
        return sk_err_set(err, EINVAL,
                          "spec.shareProcessNamespace: sandbox has no pid "
                          "namespace");
    for (size_t i = 0; i < spec->nnamespaces; i++) {
        struct rt_namespace *n = &spec->namespaces[i];
        const char *p = NULL;

        if (n->type == CLONE_NEWNET)
            p = sb->netns_path;
        else if (n->type == CLONE_NEWIPC)
            p = sb->ipcns_path;
        else if (n->type == CLONE_NEWUTS)
            p = sb->utsns_path;
        else if (n->type == CLONE_NEWPID && share)
            p = sb->pidns_path;
        if (p) {
            free(n->path);
            n->path = sk_strdup(p);
        }
    }
    return 0;
}

static void
annotate(struct rt_spec *spec, const json_t *pod, const char *ctr_name)
{
    static const char *const keys[] = {"io.kubernetes.pod.name", "io.kubernetes.pod.namespace",
                                       "io.kubernetes.pod.uid", "io.kubernetes.container.name"};
    const json_t *meta = json_object_get(pod, "metadata");
    const char *vals[4] = {json_string_value(json_object_get(meta, "name")),
                           json_string_value(json_object_get(meta, "namespace")),
                           json_string_value(json_object_get(meta, "uid")), ctr_name};

    spec->annotations =
        sk_reallocarray(spec->annotations, spec->nannotations + 4, sizeof(struct rt_kv));
    for (size_t i = 0; i < 4; i++) {
        spec->annotations[spec->nannotations].key = sk_strdup(keys[i]);
        spec->annotations[spec->nannotations++].value = sk_strdup(vals[i] ? vals[i] : "");
    }
}

/* containerd's 1048576 open files, but never above the agent's own hard
 * limit: raising it needs CAP_SYS_RESOURCE, which a confined agent (or a
 * host that dropped it from the bounding set) does not have. */
static uint64_t
nofile_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY && rl.rlim_max < 1048576)
        return rl.rlim_max;
    return 1048576;
}

static int
process_basics(const struct kl_podspec_in *in, const json_t *ctr, const char *path,
               struct rt_spec *spec, struct sk_err *err)
{
    const char *wd;
    int rc;

    rt_process_release(&spec->process);
    spec->process.umask = RT_UNSET;
    spec->process.oom_score = RT_UNSET;
    spec->process.rlimits = sk_calloc(1, sizeof(struct rt_rlimit));
    spec->process.rlimits[0] = (struct rt_rlimit){RLIMIT_NOFILE, nofile_limit(), nofile_limit()};
    spec->process.nrlimits = 1;
    if ((rc = kl_podspec_env(in, ctr, path, &spec->process.env, &spec->process.nenv, err)) < 0)
        return rc;
    if ((rc = kl_podspec_argv(ctr, path, in->image, spec->process.env, spec->process.nenv,
                              &spec->process.args, &spec->process.nargs, err)) < 0)
        return rc;
    if ((rc = kl_opt_str(ctr, path, "workingDir", &wd, err)) < 0)
        return rc;
    if (!wd || !*wd)
        wd = in->image && in->image->working_dir && *in->image->working_dir ? in->image->working_dir
                                                                            : "/";
    if (*wd != '/')
        return sk_err_set(err, EINVAL, "%s.workingDir: '%s' must be absolute", path, wd);
    spec->process.cwd = sk_strdup(wd);
    return 0;
}

int
kl_podspec_build(const struct kl_podspec_in *in, struct rt_spec *spec, struct sk_err *err)
{
    const json_t *ctr;
    char path[128], host[64];
    const char *name;
    int priv = 0, rc;
    uint64_t caps[RT_CAP_NSETS];

    rt_spec_init_default(spec);
    memcpy(caps, spec->process.caps, sizeof(caps));
    if ((rc = kl_pod_container(in->pod, in->init, in->index, &ctr, path, sizeof(path), err)) < 0)
        return rc;
    if ((rc = kl_req_str(ctr, path, "name", &name, err)) < 0)
        return rc;
    if ((rc = process_basics(in, ctr, path, spec, err)) < 0)
        return rc;
    memcpy(spec->process.caps, caps, sizeof(caps));
    if ((rc = kl_pod_hostname(in->pod, host, sizeof(host), err)) < 0)
        return rc;
    free(spec->hostname);
    spec->hostname = sk_strdup(host);
    if ((rc = apply_namespaces(in, spec, err)) < 0 ||
        (rc = kl_podspec_security(in, ctr, path, spec, &priv, err)) < 0 ||
        (rc = apply_resources(in, ctr, path, spec, err)) < 0 ||
        (rc = kl_podspec_mounts(in, ctr, path, priv, spec, err)) < 0)
        return rc;
    free(spec->cgroups_path);
    spec->cgroups_path = sk_asprintf(
        "%s/%s", in->sandbox->cgroup_parent ? in->sandbox->cgroup_parent : "pods", name);
    annotate(spec, in->pod, name);
    return 0;
}
