/* skiff rollout status|history|undo of Deployments. The revisions live
 * on the ReplicaSets the deployment controller owns, in the
 * deployment.kubernetes.io/revision annotation (as in Kubernetes). */
#include "api/cli_int.h"
#include "lib/alloc.h"
#include "lib/json.h"
#include "lib/yaml_emit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REVISION_ANNOTATION "metadata.annotations[\"deployment.kubernetes.io/revision\"]"
#define CAUSE_ANNOTATION    "metadata.annotations[\"kubernetes.io/change-cause\"]"

static int64_t
int_at(const json_t *obj, const char *path, int64_t def)
{
    json_t *v = sk_json_get(obj, path);

    return json_is_integer(v) ? json_integer_value(v) : def;
}

static bool
deadline_exceeded(const json_t *d)
{
    json_t *conds = sk_json_get(d, "status.conditions"), *cond;
    size_t i;

    json_array_foreach (conds, i, cond) {
        const char *type = json_string_value(json_object_get(cond, "type"));
        const char *reason = json_string_value(json_object_get(cond, "reason"));

        if (type && reason && !strcmp(type, "Progressing") &&
            !strcmp(reason, "ProgressDeadlineExceeded"))
            return true;
    }
    return false;
}

int
cli_rollout_status_eval(const json_t *d, char *msg, size_t msgsz)
{
    const char *name = api_meta_name(d);
    int64_t gen = int_at(d, "metadata.generation", 0);
    int64_t observed = int_at(d, "status.observedGeneration", 0);
    int64_t want = int_at(d, "spec.replicas", 1);
    int64_t updated = int_at(d, "status.updatedReplicas", 0);
    int64_t total = int_at(d, "status.replicas", 0);
    int64_t avail = int_at(d, "status.availableReplicas", 0);

    if (gen > observed) {
        snprintf(msg, msgsz, "Waiting for deployment spec update to be observed...");
        return 0;
    }
    if (deadline_exceeded(d)) {
        snprintf(msg, msgsz, "deployment \"%s\" exceeded its progress deadline", name);
        return -1;
    }
    if (updated < want) {
        snprintf(msg, msgsz,
                 "Waiting for deployment \"%s\" rollout to finish: %lld out of %lld new replicas "
                 "have been updated...",
                 name, (long long)updated, (long long)want);
        return 0;
    }
    if (total > updated) {
        snprintf(msg, msgsz,
                 "Waiting for deployment \"%s\" rollout to finish: %lld old replicas are pending "
                 "termination...",
                 name, (long long)(total - updated));
        return 0;
    }
    if (avail < updated) {
        snprintf(msg, msgsz,
                 "Waiting for deployment \"%s\" rollout to finish: %lld of %lld updated replicas "
                 "are available...",
                 name, (long long)avail, (long long)updated);
        return 0;
    }
    snprintf(msg, msgsz, "deployment \"%s\" successfully rolled out", name);
    return 1;
}

int64_t
cli_rs_revision(const json_t *rs)
{
    const char *s = json_string_value(sk_json_get(rs, REVISION_ANNOTATION));
    char *end;
    long long v;

    if (!s || !*s)
        return -1;
    v = strtoll(s, &end, 10);
    return *end || v < 0 ? -1 : v;
}

static bool
controlled_by(const json_t *rs, const char *uid)
{
    json_t *refs = sk_json_get(rs, "metadata.ownerReferences"), *r;
    size_t i;

    json_array_foreach (refs, i, r) {
        const char *u = json_string_value(json_object_get(r, "uid"));

        if (u && uid && !strcmp(u, uid) && json_is_true(json_object_get(r, "controller")))
            return true;
    }
    return false;
}

static int
rev_cmp(const void *a, const void *b)
{
    int64_t x = cli_rs_revision(*(json_t *const *)a), y = cli_rs_revision(*(json_t *const *)b);

    return x < y ? -1 : x > y;
}

json_t *
cli_rs_owned(const json_t *deploy, const json_t *const *rsets, size_t n)
{
    const char *uid = json_string_value(sk_json_get(deploy, "metadata.uid"));
    json_t **sel = sk_calloc(n ? n : 1, sizeof(*sel)), *arr = json_array();
    size_t m = 0;

    for (size_t i = 0; i < n; i++)
        if (controlled_by(rsets[i], uid))
            sel[m++] = (json_t *)rsets[i];
    qsort(sel, m, sizeof(*sel), rev_cmp);
    for (size_t i = 0; i < m; i++)
        json_array_append(arr, sel[i]);
    free(sel);
    return arr;
}

json_t *
cli_rollback_template(const json_t *deploy, const json_t *owned, int64_t to, int64_t *rev_out,
                      struct sk_err *err)
{
    int64_t cur = -1, best = -1;
    const json_t *pick = NULL;
    json_t *rs, *tmpl, *labels;
    size_t i;

    json_array_foreach (owned, i, rs)
        if (cli_rs_revision(rs) > cur)
            cur = cli_rs_revision(rs);
    json_array_foreach (owned, i, rs) {
        int64_t r = cli_rs_revision(rs);

        if ((to > 0 && r == to) || (to == 0 && r < cur && r > best)) {
            best = r;
            pick = rs;
        }
    }
    if (!pick) {
        if (to > 0)
            sk_err_set(err, ENOENT, "unable to find the specified revision %lld", (long long)to);
        else
            sk_err_set(err, ENOENT, "no rollout history found for deployment \"%s\"",
                       api_meta_name(deploy));
        return NULL;
    }
    tmpl = json_deep_copy(sk_json_get(pick, "spec.template"));
    if (!json_is_object(tmpl)) {
        json_decref(tmpl);
        sk_err_set(err, EINVAL, "replicaset \"%s\" has no pod template", api_meta_name(pick));
        return NULL;
    }
    /* The controller adds pod-template-hash to its ReplicaSets'
     * templates; the deployment's own template never carries it. */
    labels = sk_json_get(tmpl, "metadata.labels");
    if (json_is_object(labels))
        json_object_del(labels, "pod-template-hash");
    *rev_out = cli_rs_revision(pick);
    return tmpl;
}

/* ---- the verbs ---- */

static int
fetch_deploy(struct cli *c, const struct cli_flags *f, json_t **d, struct sk_err *err)
{
    struct cli_refs refs;
    int rc;

    rc = cli_refs_parse(f->nargs, f->args, &refs, err);
    if (rc < 0)
        return rc;
    if (refs.n != 1 || !refs.items[0].name || strcmp(refs.items[0].kind->kind, "Deployment")) {
        cli_refs_release(&refs);
        return sk_err_set(err, EINVAL, "rollout needs one deployment: deployment/NAME");
    }
    rc = cli_get(c, refs.items[0].kind, cli_namespace(c, f), refs.items[0].name, d, err);
    cli_refs_release(&refs);
    return rc;
}

static int
owned_sets(struct cli *c, const json_t *d, json_t **owned, struct sk_err *err)
{
    struct cli_objs o = {0};
    int rc;

    rc = cli_list(c, api_kind_lookup("replicasets"), api_meta_namespace(d), NULL, NULL, &o, err);
    if (rc < 0)
        return rc;
    *owned = cli_rs_owned(d, (const json_t *const *)o.items, o.n);
    cli_objs_release(&o);
    return 0;
}

static int
rollout_status(struct cli *c, const struct cli_flags *f)
{
    int64_t deadline = f->timeout_ms ? cli_now_ms() + (int64_t)f->timeout_ms : -1;
    int64_t pause_ms = 50;
    char msg[512], last[512] = "";
    struct sk_err err;
    json_t *d = NULL;
    int rc, done;

    sk_err_init(&err);
    /* A bounded poll of the deployment (cheap: one get), printing each
     * new state line as kubectl's watch does. */
    for (;;) {
        if ((rc = fetch_deploy(c, f, &d, &err)) < 0)
            return cli_report(rc, &err);
        done = cli_rollout_status_eval(d, msg, sizeof(msg));
        json_decref(d);
        if (strcmp(msg, last) != 0) {
            printf("%s\n", msg);
            fflush(stdout);
            snprintf(last, sizeof(last), "%s", msg);
        }
        if (done > 0)
            return SKIFF_EXIT_OK;
        if (done < 0)
            return SKIFF_EXIT_ERROR;
        if (!f->wait)
            return SKIFF_EXIT_ERROR;
        if (deadline >= 0 && cli_now_ms() >= deadline) {
            fprintf(stderr, "skiff: timed out waiting for the condition\n");
            return SKIFF_EXIT_TIMEOUT;
        }
        nanosleep(&(struct timespec){0, pause_ms * 1000000}, NULL);
        pause_ms = pause_ms * 2 > 1000 ? 1000 : pause_ms * 2;
    }
}

static int
rollout_history(struct cli *c, const struct cli_flags *f)
{
    struct sk_err err;
    json_t *d = NULL, *owned = NULL, *rs;
    size_t i;
    int rc;

    sk_err_init(&err);
    if ((rc = fetch_deploy(c, f, &d, &err)) < 0 || (rc = owned_sets(c, d, &owned, &err)) < 0) {
        json_decref(d);
        return cli_report(rc, &err);
    }
    if (f->revision > 0) {
        json_array_foreach (owned, i, rs) {
            struct sk_buf b = SK_BUF_INIT;

            if (cli_rs_revision(rs) != f->revision)
                continue;
            sk_yaml_emit(sk_json_get(rs, "spec.template"), &b);
            printf("deployment/%s with revision #%lld\nPod Template:\n%s", api_meta_name(d),
                   (long long)f->revision, b.data ? b.data : "");
            sk_buf_release(&b);
            goto out;
        }
        rc = sk_err_set(&err, ENOENT, "unable to find the specified revision %lld",
                        (long long)f->revision);
        goto out;
    }
    printf("deployment/%s\nREVISION  CHANGE-CAUSE\n", api_meta_name(d));
    json_array_foreach (owned, i, rs) {
        const char *cause = json_string_value(sk_json_get(rs, CAUSE_ANNOTATION));

        if (cli_rs_revision(rs) >= 0)
            printf("%-8lld  %s\n", (long long)cli_rs_revision(rs), cause ? cause : "<none>");
    }
out:
    json_decref(owned);
    json_decref(d);
    return rc < 0 ? cli_report(rc, &err) : SKIFF_EXIT_OK;
}

static int
rollout_undo(struct cli *c, const struct cli_flags *f)
{
    struct sk_buf line = SK_BUF_INIT;
    struct api_resp resp;
    struct sk_err err;
    json_t *d = NULL, *owned = NULL, *tmpl = NULL, *patch = NULL;
    int64_t rev = 0;
    int rc;

    sk_err_init(&err);
    if ((rc = fetch_deploy(c, f, &d, &err)) < 0 || (rc = owned_sets(c, d, &owned, &err)) < 0)
        goto out;
    if (!(tmpl = cli_rollback_template(d, owned, f->revision, &rev, &err))) {
        rc = -ENOENT;
        goto out;
    }
    if (json_equal(tmpl, sk_json_get(d, "spec.template"))) {
        printf("deployment/%s skipped rollback (current template already matches revision "
               "%lld)\n",
               api_meta_name(d), (long long)rev);
        goto out;
    }
    /* A merge patch of the template (nulls remove what the old
     * revision did not have), conditional on the version read. */
    patch = json_pack("{s:{s:o}, s:{s:O}}", "spec", "template",
                      cli_merge_patch_diff(sk_json_get(d, "spec.template"), tmpl), "metadata",
                      "resourceVersion", sk_json_get(d, "metadata.resourceVersion"));
    sk_buf_puts(&line, "patch");
    cli_put_target(&line, api_kind_lookup("deployments"), api_meta_namespace(d));
    cli_put_word(&line, api_meta_name(d));
    if ((rc = cli_put_json(&line, patch, &err)) == 0 &&
        (rc = cli_do(c, line.data, &resp, &err)) == 0) {
        api_resp_release(&resp);
        printf("deployment/%s rolled back\n", api_meta_name(d));
    }
out:
    sk_buf_release(&line);
    json_decref(patch);
    json_decref(tmpl);
    json_decref(owned);
    json_decref(d);
    return rc < 0 ? cli_report(rc, &err) : SKIFF_EXIT_OK;
}

int
cli_cmd_rollout(struct cli *c, int argc, char **argv)
{
    struct cli_flags f;
    struct sk_err err;
    const char *sub = argc > 1 ? argv[1] : "";
    int rc;

    sk_err_init(&err);
    if (strcmp(sub, "status") && strcmp(sub, "history") && strcmp(sub, "undo")) {
        fprintf(stderr, "skiff: rollout needs status, history or undo\n");
        return SKIFF_EXIT_USAGE;
    }
    if (cli_flags_parse(argc - 1, argv + 1, CLI_F_NS | CLI_F_TIMEOUT | CLI_F_REVISION | CLI_F_WAIT,
                        &f, &err) < 0)
        return cli_report(-EINVAL, &err);
    if (!strcmp(sub, "status"))
        rc = rollout_status(c, &f);
    else if (!strcmp(sub, "history"))
        rc = rollout_history(c, &f);
    else
        rc = rollout_undo(c, &f);
    cli_flags_release(&f);
    return rc;
}
