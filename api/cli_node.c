/* skiff cordon, uncordon, drain and taint: node maintenance. */
#include "api/cli_int.h"
#include "lib/alloc.h"
#include "lib/json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const effects[] = {"NoSchedule", "PreferNoSchedule", "NoExecute"};

static bool
valid_effect(const char *e)
{
    for (size_t i = 0; i < sizeof(effects) / sizeof(effects[0]); i++)
        if (!strcmp(e, effects[i]))
            return true;
    return false;
}

struct taint_arg {
    char key[317];
    char value[64];
    char effect[32]; /* "" when not given (removal "key-") */
    bool has_value;
    bool remove;
};

/* "key=value:Effect", "key:Effect", "key=value:Effect-", "key:Effect-",
 * "key-". */
static int
taint_arg_parse(const char *arg, struct taint_arg *t, struct sk_err *err)
{
    char buf[512];
    char *colon, *eq;
    size_t len = strlen(arg);

    memset(t, 0, sizeof(*t));
    if (len == 0 || len >= sizeof(buf))
        return sk_err_set(err, EINVAL, "invalid taint spec '%s'", arg);
    memcpy(buf, arg, len + 1);
    if (buf[len - 1] == '-') {
        t->remove = true;
        buf[--len] = '\0';
    }
    colon = strrchr(buf, ':');
    if (colon) {
        *colon = '\0';
        snprintf(t->effect, sizeof(t->effect), "%s", colon + 1);
        if (!valid_effect(t->effect))
            return sk_err_set(err, EINVAL,
                              "invalid taint effect '%s' in '%s' (NoSchedule, PreferNoSchedule "
                              "or NoExecute)",
                              colon + 1, arg);
    } else if (!t->remove) {
        return sk_err_set(err, EINVAL, "invalid taint spec '%s' (want key=value:Effect)", arg);
    }
    if ((eq = strchr(buf, '='))) {
        *eq = '\0';
        t->has_value = true;
        if (sk_snprintf(t->value, sizeof(t->value), "%s", eq + 1) < 0)
            return sk_err_set(err, EINVAL, "taint value in '%s' is too long", arg);
    }
    if (!buf[0] || sk_snprintf(t->key, sizeof(t->key), "%s", buf) < 0)
        return sk_err_set(err, EINVAL, "invalid taint key in '%s'", arg);
    return 0;
}

static bool
taint_matches(const json_t *taint, const struct taint_arg *t)
{
    const char *k = json_string_value(json_object_get(taint, "key"));
    const char *e = json_string_value(json_object_get(taint, "effect"));

    return k && !strcmp(k, t->key) && (!t->effect[0] || (e && !strcmp(e, t->effect)));
}

static json_t *
taint_new(const struct taint_arg *t, int64_t now)
{
    json_t *o = json_pack("{s:s}", "key", t->key);
    char ts[API_TIME_LEN];

    if (t->has_value)
        json_object_set_new(o, "value", json_string(t->value));
    json_object_set_new(o, "effect", json_string(t->effect));
    if (!strcmp(t->effect, "NoExecute")) {
        api_time_format(now, ts);
        json_object_set_new(o, "timeAdded", json_string(ts));
    }
    return o;
}

/* Remove every taint matching t from arr; returns how many. */
static int
taints_remove(json_t *arr, const struct taint_arg *t)
{
    int n = 0;

    for (size_t i = 0; i < json_array_size(arr);) {
        if (taint_matches(json_array_get(arr, i), t)) {
            json_array_remove(arr, i);
            n++;
        } else {
            i++;
        }
    }
    return n;
}

int
cli_taints_apply(const json_t *taints, int nargs, char **args, bool overwrite, int64_t now,
                 json_t **out, int *added, int *removed, struct sk_err *err)
{
    json_t *arr = json_is_array(taints) ? json_deep_copy(taints) : json_array();
    struct taint_arg t;
    int rc = 0, n;

    *out = NULL;
    *added = *removed = 0;
    if (nargs < 1)
        rc = sk_err_set(err, EINVAL, "at least one taint update is required");
    for (int i = 0; rc == 0 && i < nargs; i++) {
        if ((rc = taint_arg_parse(args[i], &t, err)) < 0)
            break;
        if (t.remove) {
            if ((n = taints_remove(arr, &t)) == 0)
                rc = sk_err_set(err, ENOENT, "taint \"%s\" not found", args[i]);
            *removed += n;
            continue;
        }
        n = taints_remove(arr, &t);
        if (n > 0 && !overwrite) {
            rc = sk_err_set(err, EEXIST,
                            "node already has %s taint(s) with the same effect(s) and "
                            "--overwrite is false",
                            t.key);
            break;
        }
        json_array_append_new(arr, taint_new(&t, now));
        (*added)++;
    }
    if (rc < 0) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return 0;
}

static bool
has_owner(const json_t *pod, const char *kind)
{
    json_t *refs = sk_json_get(pod, "metadata.ownerReferences"), *r;
    size_t i;

    json_array_foreach (refs, i, r) {
        const char *k = json_string_value(json_object_get(r, "kind"));

        if (!json_is_true(json_object_get(r, "controller")))
            continue;
        if (!kind || (k && !strcmp(k, kind)))
            return true;
    }
    return false;
}

static bool
has_emptydir(const json_t *pod)
{
    json_t *vols = sk_json_get(pod, "spec.volumes"), *v;
    size_t i;

    json_array_foreach (vols, i, v)
        if (json_object_get(v, "emptyDir"))
            return true;
    return false;
}

enum cli_drain_action
cli_drain_classify(const json_t *pod, bool force, bool ignore_daemonsets, bool delete_emptydir,
                   char *reason, size_t reasonsz)
{
    const char *phase = json_string_value(sk_json_get(pod, "status.phase"));

    reason[0] = '\0';
    if (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed")))
        return CLI_DRAIN_DELETE;
    if (sk_json_get(pod, "metadata.annotations[\"kubernetes.io/config.mirror\"]")) {
        snprintf(reason, reasonsz, "ignoring mirror pods");
        return CLI_DRAIN_SKIP;
    }
    if (has_owner(pod, "DaemonSet")) {
        snprintf(reason, reasonsz,
                 ignore_daemonsets ? "ignoring DaemonSet-managed Pods"
                                   : "cannot delete DaemonSet-managed Pods (use "
                                     "--ignore-daemonsets to ignore)");
        return ignore_daemonsets ? CLI_DRAIN_SKIP : CLI_DRAIN_REFUSE;
    }
    if (!has_owner(pod, NULL)) {
        snprintf(reason, reasonsz,
                 force ? "deleting Pods that declare no controller"
                       : "cannot delete Pods that declare no controller (use "
                         "--force to override)");
        return force ? CLI_DRAIN_WARN_DEL : CLI_DRAIN_REFUSE;
    }
    if (has_emptydir(pod)) {
        snprintf(reason, reasonsz,
                 delete_emptydir ? "deleting Pods with local storage"
                                 : "cannot delete Pods with local storage (use "
                                   "--delete-emptydir-data to override)");
        return delete_emptydir ? CLI_DRAIN_WARN_DEL : CLI_DRAIN_REFUSE;
    }
    return CLI_DRAIN_DELETE;
}

/* ---- verbs ---- */

static int
node_patch(struct cli *c, const char *name, const json_t *patch, struct sk_err *err)
{
    struct sk_buf line = SK_BUF_INIT;
    struct api_resp resp;
    int rc;

    sk_buf_puts(&line, "patch nodes");
    cli_put_word(&line, name);
    rc = cli_put_json(&line, patch, err);
    if (rc == 0 && (rc = cli_do(c, line.data, &resp, err)) == 0)
        api_resp_release(&resp);
    sk_buf_release(&line);
    return rc;
}

/* The node names of "NAME...", "node NAME...", "node/NAME...". */
static int
node_names(const struct cli_flags *f, struct cli_refs *refs, struct sk_err *err)
{
    const struct api_kind *node = api_kind_lookup("nodes");
    int rc;

    memset(refs, 0, sizeof(*refs));
    if (f->nargs > 0 && (strchr(f->args[0], '/') || api_kind_lookup(f->args[0]) == node))
        rc = cli_refs_parse(f->nargs, f->args, refs, err);
    else {
        refs->items = sk_calloc((size_t)f->nargs + 1, sizeof(*refs->items));
        for (int i = 0; i < f->nargs; i++)
            refs->items[refs->n++] = (struct cli_ref){node, f->args[i]};
        rc = 0;
    }
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < refs->n; i++)
        if (refs->items[i].kind != node || !refs->items[i].name) {
            cli_refs_release(refs);
            return sk_err_set(err, EINVAL, "expected node names");
        }
    if (refs->n == 0) {
        cli_refs_release(refs);
        return sk_err_set(err, EINVAL, "expected at least one node name");
    }
    return 0;
}

/* Set spec.unschedulable; prints "node/n1 cordoned" or "already". */
static int
set_cordon(struct cli *c, const char *name, bool on, struct sk_err *err)
{
    const struct api_kind *node = api_kind_lookup("nodes");
    json_t *obj = NULL, *patch;
    bool now;
    int rc;

    if ((rc = cli_get(c, node, NULL, name, &obj, err)) < 0)
        return rc;
    now = json_is_true(sk_json_get(obj, "spec.unschedulable"));
    json_decref(obj);
    if (now == on) {
        printf("node/%s already %s\n", name, on ? "cordoned" : "uncordoned");
        return 0;
    }
    patch = json_pack("{s:{s:o}}", "spec", "unschedulable", on ? json_true() : json_null());
    rc = node_patch(c, name, patch, err);
    json_decref(patch);
    if (rc == 0)
        printf("node/%s %s\n", name, on ? "cordoned" : "uncordoned");
    return rc;
}

static int
cordon_cmd(struct cli *c, int argc, char **argv, bool on)
{
    struct cli_flags f;
    struct cli_refs refs;
    struct sk_err err;
    int rc, status = SKIFF_EXIT_OK;

    sk_err_init(&err);
    if (cli_flags_parse(argc, argv, 0, &f, &err) < 0)
        return cli_report(-EINVAL, &err);
    if ((rc = node_names(&f, &refs, &err)) < 0) {
        cli_flags_release(&f);
        return cli_report(rc, &err);
    }
    for (size_t i = 0; i < refs.n; i++)
        if ((rc = set_cordon(c, refs.items[i].name, on, &err)) < 0)
            status = cli_report(rc, &err);
    cli_refs_release(&refs);
    cli_flags_release(&f);
    return status;
}

int
cli_cmd_cordon(struct cli *c, int argc, char **argv)
{
    return cordon_cmd(c, argc, argv, true);
}

int
cli_cmd_uncordon(struct cli *c, int argc, char **argv)
{
    return cordon_cmd(c, argc, argv, false);
}

int
cli_cmd_taint(struct cli *c, int argc, char **argv)
{
    const struct api_kind *node = api_kind_lookup("nodes");
    struct cli_flags f;
    struct sk_err err;
    json_t *obj = NULL, *taints = NULL, *patch;
    char *name;
    int added, removed, skip, rc;

    sk_err_init(&err);
    if (cli_flags_parse(argc, argv, CLI_F_OVERWRITE, &f, &err) < 0)
        return cli_report(-EINVAL, &err);
    /* taint nodes NAME SPEC... | taint node/NAME SPEC... */
    skip = f.nargs > 0 && strchr(f.args[0], '/') ? 1 : 2;
    if (f.nargs <= skip || (skip == 2 && api_kind_lookup(f.args[0]) != node) ||
        (skip == 1 && strncmp(f.args[0], "node", 4) != 0)) {
        fprintf(stderr, "skiff: usage: skiff taint nodes NAME KEY[=VALUE]:EFFECT[-]...\n");
        cli_flags_release(&f);
        return SKIFF_EXIT_USAGE;
    }
    name = skip == 1 ? strchr(f.args[0], '/') + 1 : f.args[1];
    if ((rc = cli_get(c, node, NULL, name, &obj, &err)) < 0)
        goto out;
    rc = cli_taints_apply(sk_json_get(obj, "spec.taints"), f.nargs - skip, f.args + skip,
                          f.overwrite, time(NULL), &taints, &added, &removed, &err);
    if (rc < 0)
        goto out;
    patch = json_pack("{s:{s:O}, s:{s:O}}", "spec", "taints", taints, "metadata", "resourceVersion",
                      sk_json_get(obj, "metadata.resourceVersion"));
    rc = node_patch(c, name, patch, &err);
    json_decref(patch);
    if (rc == 0)
        printf("node/%s %s\n", name,
               added && removed ? "modified"
               : added          ? "tainted"
                                : "untainted");
out:
    json_decref(taints);
    json_decref(obj);
    cli_flags_release(&f);
    return rc < 0 ? cli_report(rc, &err) : SKIFF_EXIT_OK;
}

/* ---- drain ---- */

struct drain_pod {
    char *ns;
    char *name;
    char *uid;
};

/* Pick the pods to delete; refusals are printed and make it fail
 * before anything is deleted, as kubectl does. */
static int
drain_plan(const struct cli_objs *pods, const struct cli_flags *f, struct drain_pod **plan,
           size_t *n)
{
    char reason[160];
    int refused = 0;

    *plan = sk_calloc(pods->n + 1, sizeof(**plan));
    *n = 0;
    for (size_t i = 0; i < pods->n; i++) {
        const json_t *p = pods->items[i];
        enum cli_drain_action a = cli_drain_classify(p, f->force, f->ignore_daemonsets,
                                                     f->delete_emptydir, reason, sizeof(reason));

        if (a == CLI_DRAIN_REFUSE) {
            fprintf(stderr, "skiff: %s: %s/%s\n", reason, api_meta_namespace(p), api_meta_name(p));
            refused++;
            continue;
        }
        if (a != CLI_DRAIN_DELETE)
            fprintf(stderr, "Warning: %s: %s/%s\n", reason, api_meta_namespace(p),
                    api_meta_name(p));
        if (a == CLI_DRAIN_SKIP)
            continue;
        (*plan)[(*n)++] =
            (struct drain_pod){sk_strdup(api_meta_namespace(p)), sk_strdup(api_meta_name(p)),
                               sk_strdup(cli_str(p, "metadata.uid"))};
    }
    return refused ? -1 : 0;
}

static void
drain_plan_free(struct drain_pod *plan, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(plan[i].ns);
        free(plan[i].name);
        free(plan[i].uid);
    }
    free(plan);
}

static int
drain_pods(struct cli *c, struct drain_pod *plan, size_t n, const struct cli_flags *f,
           int64_t deadline, struct sk_err *err)
{
    const struct api_kind *pods = api_kind_lookup("pods");
    int rc;

    for (size_t i = 0; i < n; i++) {
        struct sk_buf line = SK_BUF_INIT;
        struct api_resp resp;

        printf("evicting pod %s/%s\n", plan[i].ns, plan[i].name);
        fflush(stdout);
        sk_buf_puts(&line, "delete pods");
        cli_put_word(&line, plan[i].ns);
        cli_put_word(&line, plan[i].name);
        if (f->grace >= 0)
            sk_buf_printf(&line, " grace=%lld", (long long)f->grace);
        rc = cli_do(c, line.data, &resp, err);
        sk_buf_release(&line);
        if (rc == -ENOENT)
            continue;
        if (rc < 0)
            return rc;
        api_resp_release(&resp);
    }
    for (size_t i = 0; i < n; i++) {
        int64_t left = deadline < 0 ? 0 : deadline - cli_now_ms();

        if (deadline >= 0 && left <= 0)
            left = 1;
        rc = cli_wait_deleted(c, pods, plan[i].ns, plan[i].name, plan[i].uid, (uint64_t)left, err);
        if (rc < 0)
            return rc;
        printf("pod/%s evicted\n", plan[i].name);
    }
    return 0;
}

int
cli_cmd_drain(struct cli *c, int argc, char **argv)
{
    int64_t deadline;
    struct cli_flags f;
    struct cli_refs refs;
    struct cli_objs pods = {0};
    struct drain_pod *plan = NULL;
    struct sk_buf fields = SK_BUF_INIT;
    struct sk_err err;
    size_t n = 0;
    int rc;

    sk_err_init(&err);
    if (cli_flags_parse(argc, argv, CLI_F_GRACE | CLI_F_TIMEOUT | CLI_F_FORCE | CLI_F_DRAIN, &f,
                        &err) < 0)
        return cli_report(-EINVAL, &err);
    if ((rc = node_names(&f, &refs, &err)) < 0 || refs.n != 1) {
        if (rc == 0)
            cli_refs_release(&refs);
        fprintf(stderr, "skiff: drain needs one node name\n");
        cli_flags_release(&f);
        return SKIFF_EXIT_USAGE;
    }
    deadline = f.timeout_ms ? cli_now_ms() + (int64_t)f.timeout_ms : -1;
    if ((rc = set_cordon(c, refs.items[0].name, true, &err)) < 0)
        goto out_report;
    sk_buf_printf(&fields, "spec.nodeName=%s", refs.items[0].name);
    if ((rc = cli_list(c, api_kind_lookup("pods"), "*", NULL, fields.data, &pods, &err)) < 0)
        goto out_report;
    if (drain_plan(&pods, &f, &plan, &n) < 0) {
        fprintf(stderr, "skiff: unable to drain node \"%s\"; it stays cordoned\n",
                refs.items[0].name);
        rc = SKIFF_EXIT_ERROR;
        goto out;
    }
    if ((rc = drain_pods(c, plan, n, &f, deadline, &err)) < 0)
        goto out_report;
    printf("node/%s drained\n", refs.items[0].name);
    rc = SKIFF_EXIT_OK;
    goto out;
out_report:
    rc = cli_report(rc, &err);
out:
    drain_plan_free(plan, n);
    cli_objs_release(&pods);
    sk_buf_release(&fields);
    cli_refs_release(&refs);
    cli_flags_release(&f);
    return rc;
}
