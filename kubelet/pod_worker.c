/* kubelet/pod_worker.c: one run of one container, through runtime/.
 *
 * A run is a runtime container with id "<pod uid>_<container>_<attempt>"
 * (so a restarted agent finds the attempt in the id), a rootfs that is
 * an overlay of the image's layers with a fresh upper directory per run
 * (a restarted container starts from the image again, as in
 * Kubernetes), its stdout/stderr in CRI format in
 * <pod dir>/logs/<container>/<attempt>.log, and the image pinned by the
 * run's id so an image gc never removes layers under it.
 *
 * There is no registry: an image missing from the node's image store is
 * the waiting reason ErrImageNeverPull, as Kubernetes reports it for
 * imagePullPolicy Never, whatever the policy says. */
#include "kubelet/agent_int.h"

#include "lib/alloc.h"
#include "lib/clock.h"
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static const json_t *
ctr_json(const struct kl_apod *p, const struct kl_actr *c)
{
    const json_t *arr =
        json_object_get(json_object_get(p->obj, "spec"), c->init ? "initContainers" : "containers");
    return json_array_get(arr, c->index);
}

static void
set_waiting(struct kl_actr *c, const char *reason, const char *msg)
{
    c->state = KL_CTR_WAITING;
    sk_strlcpy(c->reason, reason, sizeof(c->reason));
    kl_msg_set(&c->message, msg);
}

/* lowerdir=L1:L2:... (top first), a fresh upper and work dir. */
static int
mount_rootfs(const char *run, const struct rt_image_info *img, struct sk_err *err)
{
    static const char *const subs[] = {"upper", "work", "rootfs"};
    struct sk_buf opts = SK_BUF_INIT;
    char path[PATH_MAX + 16];
    int rc = 0;

    for (size_t i = 0; i < 3; i++) {
        sk_snprintf(path, sizeof(path), "%s/%s", run, subs[i]);
        if ((rc = kl_mkdir_p(path, 0755, err)) < 0)
            return rc;
    }
    sk_buf_puts(&opts, "lowerdir=");
    for (size_t i = 0; i < img->n_layers; i++)
        sk_buf_printf(&opts, "%s%s", i ? ":" : "", img->layers[i]);
    sk_buf_printf(&opts, ",upperdir=%s/upper,workdir=%s/work", run, run);
    sk_snprintf(path, sizeof(path), "%s/rootfs", run);
    if (mount("overlay", path, "overlay", MS_NODEV, opts.data) < 0)
        rc = sk_err_sys(err, errno, "mount overlay rootfs on '%s'", path);
    sk_buf_release(&opts);
    return rc;
}

static const struct kl_refs *
pod_refs(const struct kl_apod *p, struct kl_refs *r)
{
    r->configmaps = p->refs[0];
    r->secrets = p->refs[1];
    return r;
}

/* emptyDir volumes exist before the first container mounts them;
 * configMap and secret volumes are (re)projected when the objects they
 * come from changed since they were last written (a container that
 * mounts the directory sees the new ..data at once; subPath mounts keep
 * the file they were given, as in Kubernetes). */
int
kl_pod_volumes(struct kl_apod *p, struct sk_err *err)
{
    const json_t *vols = json_object_get(json_object_get(p->obj, "spec"), "volumes"), *v;
    bool project = !p->projected || p->projected_gen != p->refs_gen;
    char dir[PATH_MAX + 320], path[64];
    struct kl_refs refs;
    struct stat sb;
    size_t i;
    int rc;

    json_array_foreach ((json_t *)vols, i, v) {
        const char *name = json_string_value(json_object_get(v, "name"));
        bool cm = json_is_object(json_object_get(v, "configMap"));

        if (!name)
            continue;
        sk_snprintf(path, sizeof(path), "spec.volumes[%zu]", i);
        if (json_object_get(v, "emptyDir")) {
            sk_snprintf(dir, sizeof(dir), "%s/volumes/empty-dir/%s", p->dir, name);
            if (stat(dir, &sb) < 0 && (rc = kl_volume_emptydir(v, path, dir, err)) < 0)
                return rc;
        } else if (project && (cm || json_is_object(json_object_get(v, "secret")))) {
            sk_snprintf(dir, sizeof(dir), "%s/volumes/%s/%s", p->dir, cm ? "configmap" : "secret",
                        name);
            if ((rc = kl_volume_project(v, path, pod_refs(p, &refs), dir, err)) < 0)
                return rc;
        }
    }
    if (project) {
        p->projected = true;
        p->projected_gen = p->refs_gen;
    }
    return 0;
}

static int
build_spec(struct kl_agent *a, struct kl_apod *p, struct kl_actr *c,
           const struct rt_image_info *img, const char *run, struct rt_spec *spec,
           struct sk_err *err)
{
    char nspath[64];
    struct kl_sandbox sb = {.pod_dir = p->dir,
                            .netns_path = nspath,
                            .node_name = a->node_name,
                            .pod_ip = p->ip,
                            .host_ip = a->address};
    struct kl_podspec_in in = {.pod = p->obj,
                               .init = c->init,
                               .index = c->index,
                               .image = img,
                               .sandbox = &sb,
                               .refs = {p->refs[0], p->refs[1]},
                               .subpath = kl_subpath_resolve,
                               .hostpath = kl_hostpath_check};
    int rc;

    sk_snprintf(nspath, sizeof(nspath), "/proc/%d/ns/net", (int)p->sandbox_pid);
    if ((rc = kl_podspec_build(&in, spec, err)) < 0)
        return rc;
    free(spec->root_path);
    spec->root_path = sk_asprintf("%s/rootfs", run);
    /* One cgroup per run, flat beneath the cgroup root: the runtime
     * removes it with the container. */
    free(spec->cgroups_path);
    spec->cgroups_path = sk_strdup(c->id);
    return 0;
}

static int
create_run(struct kl_agent *a, struct kl_apod *p, struct kl_actr *c,
           const struct rt_image_info *img, struct sk_err *err)
{
    char run[PATH_MAX + 200], log[PATH_MAX + 200];
    struct rt_create_opts opts = {.stdio = {-1, -1, -1}, .exit_fd = -1, .cri_log_max = 0};
    struct rt_spec spec;
    pid_t pid;
    int rc;

    sk_snprintf(run, sizeof(run), "%s/runs/%s", p->dir, c->id);
    sk_snprintf(log, sizeof(log), "%s/logs/%s", p->dir, c->name);
    if ((rc = kl_mkdir_p(log, 0700, err)) < 0)
        return rc;
    /* terminationMessagePath's host file (podspec_mounts.c binds it) */
    sk_snprintf(log, sizeof(log), "%s/containers/%s", p->dir, c->name);
    if ((rc = kl_mkdir_p(log, 0755, err)) < 0)
        return rc;
    sk_snprintf(log, sizeof(log), "%s/containers/%s/termination-log", p->dir, c->name);
    if (access(log, F_OK) < 0 && (rc = kl_write_file(log, "", 0, 0666, err)) < 0)
        return rc;
    sk_snprintf(log, sizeof(log), "%s/logs/%s/%d.log", p->dir, c->name, c->attempt);
    if ((rc = build_spec(a, p, c, img, run, &spec, err)) < 0) {
        rt_spec_release(&spec);
        return rc;
    }
    if ((rc = mount_rootfs(run, img, err)) < 0) {
        rt_spec_release(&spec);
        return rc;
    }
    opts.bundle = run;
    opts.cri_log = log;
    rc = rt_container_create(&a->rt, c->id, &spec, &opts, &pid, err);
    if (rc == 0)
        rc = rt_container_start(&a->rt, c->id, err);
    rt_spec_release(&spec);
    return rc;
}

static void
probes_setup(struct kl_apod *p, struct kl_actr *c)
{
    const json_t *ctr = ctr_json(p, c);
    struct sk_err err;
    char path[64];

    memset(&c->probes, 0, sizeof(c->probes));
    c->probes_on = false;
    /* kl_probe_parse borrows path, host and command from the pod: keep
     * that version alive while the probes run */
    json_decref(c->probe_pod);
    c->probe_pod = json_incref(p->obj);
    if (c->init)
        return;
    sk_snprintf(path, sizeof(path), "spec.containers[%zu]", c->index);
    for (int k = 0; k < KL_PROBE_NKINDS; k++) {
        sk_err_init(&err);
        if (kl_probe_parse(ctr, path, (enum kl_probe_kind)k, &c->probes.spec[k], &err) < 0) {
            sk_warn("kubelet", "pod '%s/%s': %s", p->ns, p->name, err.msg);
            c->probes.spec[k].handler = KL_PROBE_NONE;
        }
        if (c->probes.spec[k].handler != KL_PROBE_NONE)
            c->probes_on = true;
    }
    kl_probes_start(&c->probes, sk_clock_mono_ms());
}

/* Start the next run of c. On failure c is waiting with the reason
 * (ErrImageNeverPull, CreateContainerConfigError, CreateContainerError)
 * and nothing of the run is left. */
int
kl_ctr_start(struct kl_agent *a, struct kl_apod *p, struct kl_actr *c, struct sk_err *err)
{
    const char *image = json_string_value(json_object_get(ctr_json(p, c), "image"));
    struct rt_image_info img;
    char msg[600];
    int rc;

    memset(&img, 0, sizeof(img));
    kl_hook_abandon(c); /* a hook of the run before, if it still runs */
    if ((rc = kl_pod_volumes(p, err)) < 0) {
        set_waiting(c, "CreateContainerConfigError", err->msg);
        return rc;
    }
    kl_run_id_format(p->uid, c->name, c->attempt + 1, c->id, sizeof(c->id));
    rc = rt_image_resolve_pinned(&a->images, image ? image : "", c->id, &img, err);
    if (rc < 0) {
        if (rc == -ENOENT)
            sk_snprintf(msg, sizeof(msg),
                        "container image \"%s\" is not present in the node's image store "
                        "(skiff has no registry: import it with skiff-runtime image import)",
                        image ? image : "");
        else
            sk_snprintf(msg, sizeof(msg), "image \"%s\": %s", image ? image : "", err->msg);
        set_waiting(c, rc == -ENOENT ? "ErrImageNeverPull" : "InvalidImageName", msg);
        c->id[0] = '\0';
        return rc;
    }
    sk_strlcpy(c->image_id, img.config_digest, sizeof(c->image_id));
    c->attempt++;
    rc = create_run(a, p, c, &img, err);
    rt_image_info_release(&img);
    if (rc < 0) {
        set_waiting(c,
                    rc == -EINVAL || rc == -ENOENT ? "CreateContainerConfigError"
                                                   : "CreateContainerError",
                    err->msg);
        kl_ctr_remove(a, p->dir, c->id);
        c->attempt--;
        c->id[0] = '\0';
        return rc;
    }
    c->state = KL_CTR_RUNNING;
    c->reason[0] = '\0';
    kl_msg_set(&c->message, NULL);
    kl_agent_now(c->started_at, sizeof(c->started_at));
    c->started_s = kl_agent_now_s();
    c->poststart_failed = false;
    memset(c->stats, 0, sizeof(c->stats));
    probes_setup(p, c);
    kl_hook_start(a, p, c, KL_HOOK_POST_START, sk_clock_mono_ms() + KL_POSTSTART_MAX_MS);
    return 0;
}

/* Refresh c's state from the runtime. A run the runtime lost is
 * reported terminated with ContainerStatusUnknown (never guessed). */
void
kl_ctr_observe(struct kl_agent *a, struct kl_apod *p, struct kl_actr *c)
{
    struct rt_state st;
    struct sk_err err;
    int rc;

    if (!c->id[0])
        return;
    memset(&st, 0, sizeof(st));
    sk_err_init(&err);
    rc = rt_container_state(&a->rt, c->id, &st, &err);
    if (rc == 0 && st.status != RT_STOPPED) {
        if (c->state != KL_CTR_RUNNING) {
            c->state = KL_CTR_RUNNING;
            sk_strlcpy(c->started_at, st.created, sizeof(c->started_at));
            probes_setup(p, c);
        }
        if (!c->started_at[0])
            sk_strlcpy(c->started_at, st.created, sizeof(c->started_at));
        rt_state_release(&st);
        return;
    }
    /* Stopped, but the monitor has not recorded the exit status yet:
     * look again at the next sync rather than report a guess. */
    if (rc == 0 && !st.exit.exited && st.monitor_pid > 0 && kill(st.monitor_pid, 0) == 0) {
        rt_state_release(&st);
        return;
    }
    if (c->state != KL_CTR_TERMINATED) {
        memset(&c->term, 0, sizeof(c->term));
        sk_strlcpy(c->term.id, c->id, sizeof(c->term.id));
        sk_strlcpy(c->term.started_at, c->started_at, sizeof(c->term.started_at));
        if (rc == 0 && st.exit.exited) {
            c->term.exit_code = st.exit.code;
            c->term.signal = st.exit.signal;
            sk_strlcpy(c->term.reason,
                       st.exit.oom_killed    ? "OOMKilled"
                       : c->poststart_failed ? "PostStartHookError"
                       : st.exit.code == 0   ? "Completed"
                                             : "Error",
                       sizeof(c->term.reason));
            sk_strlcpy(c->term.finished_at, st.exit.finished, sizeof(c->term.finished_at));
        } else {
            c->term.exit_code = 137;
            sk_strlcpy(c->term.reason, "ContainerStatusUnknown", sizeof(c->term.reason));
        }
        if (!c->term.finished_at[0])
            kl_agent_now(c->term.finished_at, sizeof(c->term.finished_at));
        c->term.finished_s = kl_agent_now_s();
        c->state = KL_CTR_TERMINATED;
        c->probes_on = false;
    }
    if (rc == 0)
        rt_state_release(&st);
}

int
kl_ctr_signal(struct kl_agent *a, struct kl_actr *c, int sig)
{
    struct sk_err err;

    sk_err_init(&err);
    if (!c->id[0])
        return 0;
    return rt_container_kill(&a->rt, c->id, sig, &err);
}

/* Delete the run id of the pod in dir: container, rootfs, pin. */
void
kl_ctr_remove(struct kl_agent *a, const char *dir, const char *id)
{
    char run[PATH_MAX + 200];
    struct sk_err err;

    if (!id[0])
        return;
    sk_err_init(&err);
    if (rt_container_delete(&a->rt, id, 1, &err) < 0 && err.code != ENOENT)
        sk_warn("kubelet", "container '%s': %s", id, err.msg);
    sk_snprintf(run, sizeof(run), "%s/runs/%s/rootfs", dir, id);
    /* EINVAL: not mounted in this mount namespace (mounted by an earlier
     * agent in another one, whose mount went away with the container). */
    umount2(run, MNT_DETACH);
    sk_snprintf(run, sizeof(run), "%s/runs/%s", dir, id);
    sk_err_init(&err);
    rt_image_unpin(&a->images, id, &err);
    if (kl_rm_rf(run) < 0)
        sk_warn("kubelet", "container '%s': removing '%s' failed", id, run);
}

static enum kl_probe_result
probe_run(struct kl_agent *a, struct kl_apod *p, struct kl_actr *c, const struct kl_probe *pr,
          struct sk_buf *msg)
{
    char nspath[64];
    const char *host = pr->http_host && *pr->http_host ? pr->http_host : p->ip;
    struct rt_process base;
    struct sk_err err;
    enum kl_probe_result r;
    int fd;

    if (pr->handler == KL_PROBE_EXEC) {
        char *env[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
        memset(&base, 0, sizeof(base));
        base.env = env;
        base.nenv = 1;
        base.cwd = "/";
        base.umask = RT_UNSET;
        base.oom_score = RT_UNSET;
        return kl_probe_exec(&a->rt, c->id, &base, pr->exec_command, pr->timeout_s * 1000, msg);
    }
    sk_snprintf(nspath, sizeof(nspath), "/proc/%d/ns/net", (int)p->sandbox_pid);
    sk_err_init(&err);
    if ((fd = net_netns_open(nspath, &err)) < 0) {
        sk_buf_puts(msg, err.msg);
        return KL_PROBE_FAILURE;
    }
    if (pr->handler == KL_PROBE_TCP)
        r = kl_probe_tcp(fd, host, pr->port, pr->timeout_s * 1000, msg);
    else
        r = kl_probe_http(fd, host, pr->port, pr->http_path ? pr->http_path : "/", pr->http_headers,
                          pr->timeout_s * 1000, msg);
    close(fd);
    return r;
}

/* A failed liveness or startup probe kills the run (the restart policy
 * decides what comes next). */
static void probe_one(struct kl_agent *a, struct kl_apod *p, struct kl_actr *c, int k);

/* Every probe that is due now (each kind at most once). */
void
kl_ctr_probe(struct kl_agent *a, struct kl_apod *p, struct kl_actr *c)
{
    bool done[KL_PROBE_NKINDS] = {false};
    int64_t wake;
    int k;

    while (c->probes_on && c->state == KL_CTR_RUNNING &&
           (k = kl_probes_due(&c->probes, sk_clock_mono_ms(), &wake)) >= 0 && !done[k]) {
        done[k] = true;
        probe_one(a, p, c, k);
    }
}

static void
probe_one(struct kl_agent *a, struct kl_apod *p, struct kl_actr *c, int k)
{
    static const char *const names[] = {"Liveness", "Readiness", "Startup"};
    struct sk_buf msg = SK_BUF_INIT;
    enum kl_probe_action act;
    enum kl_probe_result r;
    char out[600];

    r = probe_run(a, p, c, &c->probes.spec[k], &msg);
    out[0] = '\0';
    act = kl_probes_record(&c->probes, (enum kl_probe_kind)k, r, (msg.data ? msg.data : ""),
                           sk_clock_mono_ms(), out, sizeof(out));
    if (r == KL_PROBE_FAILURE)
        kl_pod_event(a, p, API_EVENT_WARNING, "Unhealthy", "%s probe failed: %s", names[k],
                     (msg.data ? msg.data : ""));
    if (act == KL_PROBE_ACT_RESTART) {
        sk_info("kubelet", "pod '%s/%s' container '%s': %s", p->ns, p->name, c->name, out);
        kl_pod_event(a, p, API_EVENT_NORMAL, "Killing",
                     "Container %s failed %s probe, will be restarted", c->name,
                     k == KL_PROBE_STARTUP ? "startup" : "liveness");
        kl_ctr_signal(a, c, SIGKILL);
        c->probes_on = false;
    }
    sk_buf_release(&msg);
}
