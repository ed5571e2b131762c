/* kubelet/adopt.c: after an agent restart, take back what still runs,
 * and remove what belongs to no pod of this node.
 *
 * The runtime's state dir is the record: a run's id names its pod uid,
 * container and attempt (pod_worker.c), so the newest run of each
 * container is adopted as it is (running containers are not touched)
 * and older runs are deleted. lastState comes from the pod's status as
 * the API last saw it. The sandbox comes back from <pod dir>/sandbox
 * and the address from the IPAM file (the same owner gets the same
 * address).
 *
 * Orphans: once the informer has listed every pod bound here, runs and
 * pod directories of other uids are removed (containers killed, pause
 * process killed, veth and address released), and IPAM allocations
 * without a live pod are released. */
#include "kubelet/agent_int.h"

#include "lib/alloc.h"
#include "lib/log.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void
copy_str(char *dst, size_t dstsz, const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    sk_strlcpy(dst, s ? s : "", dstsz);
}

/* lastState.terminated of c from the pod's status, as the API has it. */
static void
last_from_status(const struct kl_apod *p, struct kl_actr *c)
{
    const json_t *st = json_object_get(p->obj, "status"), *v, *t;
    size_t i;

    json_array_foreach (
        json_object_get(st, c->init ? "initContainerStatuses" : "containerStatuses"), i, v) {
        if (!json_is_string(json_object_get(v, "name")) ||
            strcmp(json_string_value(json_object_get(v, "name")), c->name) != 0)
            continue;
        t = json_object_get(json_object_get(v, "lastState"), "terminated");
        if (!json_is_object(t))
            return;
        c->has_last = true;
        c->last.exit_code = (int)json_integer_value(json_object_get(t, "exitCode"));
        c->last.signal = (int)json_integer_value(json_object_get(t, "signal"));
        copy_str(c->last.reason, sizeof(c->last.reason), t, "reason");
        copy_str(c->last.started_at, sizeof(c->last.started_at), t, "startedAt");
        copy_str(c->last.finished_at, sizeof(c->last.finished_at), t, "finishedAt");
        return;
    }
}

void
kl_adopt_pod(struct kl_agent *a, struct kl_apod *p)
{
    char **ids = NULL, uid[64], name[64];
    struct sk_err err;
    size_t n = 0;
    int attempt;

    sk_err_init(&err);
    if (rt_container_list(&a->rt, &ids, &n, &err) < 0)
        return;
    for (size_t i = 0; i < n; i++) {
        if (!kl_run_id_parse(ids[i], uid, sizeof(uid), name, sizeof(name), &attempt) ||
            strcmp(uid, p->uid) != 0)
            continue;
        for (size_t j = 0; j < p->nctrs; j++) {
            struct kl_actr *c = &p->ctrs[j];

            if (strcmp(c->name, name) != 0)
                continue;
            if (attempt > c->attempt) {
                kl_ctr_remove(a, p->dir, c->id);
                c->attempt = attempt;
                sk_strlcpy(c->id, ids[i], sizeof(c->id));
            } else {
                kl_ctr_remove(a, p->dir, ids[i]);
            }
        }
    }
    for (size_t j = 0; j < p->nctrs; j++) {
        if (p->ctrs[j].id[0]) {
            sk_info("kubelet", "pod '%s/%s': adopted container '%s' (%s)", p->ns, p->name,
                    p->ctrs[j].name, p->ctrs[j].id);
            last_from_status(p, &p->ctrs[j]);
        }
    }
    if (kl_sandbox_load(p) == 0)
        sk_info("kubelet", "pod '%s/%s': adopted sandbox pid %d", p->ns, p->name,
                (int)p->sandbox_pid);
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

static bool
uid_live(struct kl_agent *a, const char *uid)
{
    struct kl_apod *p = kl_agent_pod_find(a, uid);
    return p && !p->done;
}

static void
clean_runs(struct kl_agent *a)
{
    char **ids = NULL, uid[64], name[64], dir[PATH_MAX + 80];
    struct sk_err err;
    size_t n = 0;
    int attempt;

    sk_err_init(&err);
    if (rt_container_list(&a->rt, &ids, &n, &err) < 0) {
        sk_warn("kubelet", "orphans: %s", err.msg);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (!kl_run_id_parse(ids[i], uid, sizeof(uid), name, sizeof(name), &attempt) ||
            !uid_live(a, uid)) {
            sk_info("kubelet", "removing orphaned container '%s'", ids[i]);
            sk_snprintf(dir, sizeof(dir), "%s/%s", a->pods_root, uid);
            kl_ctr_remove(a, dir, ids[i]);
        }
        free(ids[i]);
    }
    free(ids);
}

void
kl_orphans_clean(struct kl_agent *a)
{
    const char **live = sk_calloc(a->npods + 1, sizeof(*live));
    char dir[PATH_MAX + 300];
    struct dirent *de;
    struct sk_err err;
    size_t nlive = 0;
    DIR *d;

    clean_runs(a);
    if ((d = opendir(a->pods_root))) {
        while ((de = readdir(d))) {
            if (de->d_name[0] == '.' || uid_live(a, de->d_name))
                continue;
            sk_info("kubelet", "removing the sandbox of orphaned pod '%s'", de->d_name);
            sk_snprintf(dir, sizeof(dir), "%s/%s", a->pods_root, de->d_name);
            kl_sandbox_teardown(a, de->d_name, dir);
        }
        closedir(d);
    }
    for (size_t i = 0; i < a->npods; i++) {
        if (!a->pods[i]->done)
            live[nlive++] = a->pods[i]->uid;
    }
    sk_err_init(&err);
    /* not ipam_reconcile: an address is freed only once its veth is gone */
    if (a->ipam.path && kl_netgone_reconcile(a, live, nlive, &err) < 0)
        sk_warn("kubelet", "ipam: %s", err.msg);
    free(live);
}
