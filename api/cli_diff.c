/* skiff diff -f FILE: what apply would change, as a unified diff.
 *
 * As kubectl diff: every object of the manifests is written twice as
 * YAML, as it is live (absent when it does not exist) and as apply would
 * make it (the server's answer to `apply dry-run`, skiff-protocol(7)),
 * one file per object named VERSION.KIND.NAMESPACE.NAME in two temporary
 * directories LIVE and MERGED, and `diff -u -N LIVE MERGED` compares
 * them ($SKIFF_EXTERNAL_DIFF replaces the command, as
 * $KUBECTL_EXTERNAL_DIFF does). The exit status is diff(1)'s: 0 same, 1
 * different, above 1 an error. */
#include "api/cli_int.h"
#include "lib/alloc.h"
#include "lib/json.h"
#include "lib/yaml_emit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define DIFF_MAX_ARGS 32

struct diff_dirs {
    char *root, *live, *merged;
    char **files; /* written, removed at the end */
    size_t nfiles;
};

static int
dirs_make(struct diff_dirs *d, struct sk_err *err)
{
    const char *tmp = getenv("TMPDIR");

    memset(d, 0, sizeof(*d));
    d->root = sk_asprintf("%s/skiff-diff-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(d->root))
        return sk_err_sys(err, errno, "create '%s'", d->root);
    d->live = sk_asprintf("%s/LIVE", d->root);
    d->merged = sk_asprintf("%s/MERGED", d->root);
    if (mkdir(d->live, 0700) < 0 || mkdir(d->merged, 0700) < 0)
        return sk_err_sys(err, errno, "create '%s'", d->live);
    return 0;
}

static void
dirs_remove(struct diff_dirs *d)
{
    for (size_t i = 0; i < d->nfiles; i++) {
        unlink(d->files[i]);
        free(d->files[i]);
    }
    free(d->files);
    if (d->live)
        rmdir(d->live);
    if (d->merged)
        rmdir(d->merged);
    if (d->root)
        rmdir(d->root);
    free(d->live);
    free(d->merged);
    free(d->root);
}

/* Write obj as YAML to DIR/NAME. */
static int
write_yaml(struct diff_dirs *d, const char *dir, const char *name, const json_t *obj,
           struct sk_err *err)
{
    struct sk_buf b = SK_BUF_INIT;
    char *path = sk_asprintf("%s/%s", dir, name);
    FILE *fp;
    int rc = 0;

    sk_yaml_emit(obj, &b);
    d->files = sk_reallocarray(d->files, d->nfiles + 1, sizeof(*d->files));
    d->files[d->nfiles++] = path;
    if (!(fp = fopen(path, "we")))
        rc = sk_err_sys(err, errno, "open '%s'", path);
    else if (fwrite(b.data, 1, b.len, fp) != b.len || fclose(fp) != 0)
        rc = sk_err_sys(err, EIO, "write '%s'", path);
    sk_buf_release(&b);
    return rc;
}

/* What apply would make of obj: the server's dry run. */
static int
dry_apply(struct cli *c, const json_t *obj, json_t **out, struct sk_err *err)
{
    struct sk_buf line = SK_BUF_INIT;
    struct cli_objs got = {0};
    struct api_resp resp;
    int rc;

    *out = NULL;
    sk_buf_puts(&line, "apply dry-run");
    rc = cli_put_json(&line, obj, err);
    if (rc == 0)
        rc = cli_do(c, line.data, &resp, err);
    sk_buf_release(&line);
    if (rc < 0)
        return rc;
    rc = cli_objs_from_resp(&resp, &got, err);
    api_resp_release(&resp);
    if (rc == 0 && got.n != 1)
        rc = sk_err_set(err, EPROTO, "the server's dry run answered %zu objects, not one", got.n);
    if (rc == 0) {
        *out = got.items[0];
        got.items[0] = NULL;
    }
    cli_objs_release(&got);
    return rc;
}

/* Both files of one manifest object. */
static int
diff_one(struct cli *c, struct diff_dirs *d, json_t *obj, const char *ns, bool explicit_ns,
         struct sk_err *err)
{
    const struct api_kind *k = NULL;
    json_t *live = NULL, *merged = NULL;
    char name[768];
    const char *objns;
    int rc;

    if ((rc = cli_manifest_namespace(obj, ns, explicit_ns, &k, err)) < 0)
        return rc;
    objns = cli_str(obj, "metadata.namespace");
    /* "/" cannot be in a file name; apiVersion "apps/v1" becomes "apps.v1" */
    snprintf(name, sizeof(name), "%s.%s.%s.%s", cli_str(obj, "apiVersion"), k->kind,
             *objns ? objns : "_", cli_str(obj, "metadata.name"));
    for (char *p = name; *p; p++)
        if (*p == '/')
            *p = '.';
    rc = cli_get(c, k, objns, cli_str(obj, "metadata.name"), &live, err);
    if (rc == -ENOENT) {
        rc = 0;
        sk_err_init(err);
    }
    if (rc == 0)
        rc = dry_apply(c, obj, &merged, err);
    if (rc == 0 && live)
        rc = write_yaml(d, d->live, name, live, err);
    if (rc == 0)
        rc = write_yaml(d, d->merged, name, merged, err);
    json_decref(live);
    json_decref(merged);
    return rc;
}

/* Run the diff command; its exit status, or <0 with err. */
static int
run_diff(const struct diff_dirs *d, struct sk_err *err)
{
    const char *ext = getenv("SKIFF_EXTERNAL_DIFF");
    char *argv[DIFF_MAX_ARGS + 3], *copy = NULL, *save = NULL, *w;
    int argc = 0, status;
    pid_t pid;

    if (ext && *ext) {
        /* split on spaces, as kubectl splits KUBECTL_EXTERNAL_DIFF */
        copy = sk_strdup(ext);
        for (w = strtok_r(copy, " ", &save); w && argc < DIFF_MAX_ARGS;
             w = strtok_r(NULL, " ", &save))
            argv[argc++] = w;
    } else {
        argv[argc++] = "diff";
        argv[argc++] = "-u";
        argv[argc++] = "-N";
    }
    argv[argc++] = d->live;
    argv[argc++] = d->merged;
    argv[argc] = NULL;
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        free(copy);
        return sk_err_sys(err, errno, "fork");
    }
    if (pid == 0) {
        execvp(argv[0], argv);
        fprintf(stderr, "skiff: run '%s': %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    free(copy);
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return sk_err_sys(err, errno, "wait for diff");
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* An error's exit status, kept above 1 (1 means "different"). */
static int
diff_error(int rc, const struct sk_err *err)
{
    int status = cli_report(rc, err);

    return status == SKIFF_EXIT_ERROR ? SKIFF_EXIT_USAGE : status;
}

int
cli_cmd_diff(struct cli *c, int argc, char **argv)
{
    bool explicit_ns;
    struct cli_objs docs = {0};
    struct diff_dirs d = {0};
    struct cli_flags f;
    struct sk_err err;
    const char *ns;
    int rc = 0, status;

    sk_err_init(&err);
    if (cli_flags_parse(argc, argv, CLI_F_NS | CLI_F_FILE, &f, &err) < 0)
        return diff_error(-EINVAL, &err);
    if (f.nargs > 0 || f.nfiles == 0) {
        fprintf(stderr, "skiff: usage: skiff diff -f FILE|DIR|- ...\n");
        cli_flags_release(&f);
        return SKIFF_EXIT_USAGE;
    }
    for (size_t i = 0; i < f.nfiles && rc == 0; i++)
        if ((rc = cli_manifest_read(f.files[i], &docs, &err)) < 0)
            rc = -EIO;
    ns = cli_namespace(c, &f);
    explicit_ns = (f.ns && *f.ns) || (c->ns && *c->ns);
    if (rc == 0)
        rc = dirs_make(&d, &err);
    for (size_t i = 0; i < docs.n && rc == 0; i++)
        rc = diff_one(c, &d, docs.items[i], ns, explicit_ns, &err);
    if (rc == 0)
        rc = run_diff(&d, &err);
    status = rc < 0 ? diff_error(rc, &err) : rc;
    dirs_remove(&d);
    cli_objs_release(&docs);
    cli_flags_release(&f);
    return status;
}
