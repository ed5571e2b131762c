/* skiff edit: the object as YAML (or JSON) in $SKIFF_EDITOR / $EDITOR,
 * then an update that carries the resourceVersion it was read at, so a
 * change made meanwhile by someone else is a conflict, not lost. */
#include "api/cli_int.h"
#include "lib/alloc.h"
#include "lib/json.h"
#include "lib/yaml.h"
#include "lib/yaml_emit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define EDIT_HEADER                                                                                \
    "# Please edit the object below. Lines beginning with a '#' will be ignored,\n"                \
    "# and an empty file will abort the edit. If an error occurs while saving this file will "     \
    "be\n# reopened with the relevant failures.\n#\n"

/* "# skiff: error: MSG" with every line of MSG commented, then "#". */
static void
put_error_comment(struct sk_buf *b, const char *msg)
{
    sk_buf_puts(b, "# skiff: error: ");
    for (; *msg; msg++) {
        sk_buf_putc(b, *msg);
        if (*msg == '\n')
            sk_buf_puts(b, "# ");
    }
    sk_buf_puts(b, "\n#\n");
}

static int
put_file(const char *path, const struct sk_buf *b, struct sk_err *err)
{
    FILE *fp;

    if (!(fp = fopen(path, "we")))
        return sk_err_sys(err, errno, "open '%s'", path);
    if (fwrite(b->data, 1, b->len, fp) != b->len) {
        fclose(fp);
        return sk_err_sys(err, EIO, "write '%s'", path);
    }
    if (fclose(fp) != 0)
        return sk_err_sys(err, EIO, "write '%s'", path);
    return 0;
}

static int
write_file(const char *path, const char *errmsg, const json_t *obj, bool json, struct sk_err *err)
{
    struct sk_buf b = SK_BUF_INIT;
    int rc;

    if (errmsg)
        put_error_comment(&b, errmsg);
    else
        sk_buf_puts(&b, EDIT_HEADER);
    if (json)
        sk_json_dump_pretty(obj, &b);
    else
        sk_yaml_emit(obj, &b);
    rc = put_file(path, &b, err);
    sk_buf_release(&b);
    return rc;
}

/* The file's text without a leading "# skiff: error:" block (ours, from
 * an earlier round): what the user wrote. NULL when unreadable. */
static char *
user_text(const char *path)
{
    struct sk_buf b = SK_BUF_INIT;
    char chunk[8192], *p, *out;
    size_t n;
    FILE *fp = fopen(path, "re");

    if (!fp)
        return NULL;
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        sk_buf_append(&b, chunk, n);
    fclose(fp);
    p = b.data ? b.data : "";
    if (!strncmp(p, "# skiff: error: ", 16)) {
        /* up to and including the lone "#" line that ends the block */
        char *end = strstr(p, "\n#\n");

        p = end ? end + 3 : p;
    }
    out = sk_strdup(p);
    sk_buf_release(&b);
    return out;
}

/* A file that does not parse: put the error on top of what the user
 * wrote, keeping the text as it is (re-emitting it would lose it). */
static int
reopen_text(const char *path, const char *text, const char *errmsg, struct sk_err *err)
{
    struct sk_buf b = SK_BUF_INIT;
    int rc;

    put_error_comment(&b, errmsg);
    sk_buf_puts(&b, text);
    rc = put_file(path, &b, err);
    sk_buf_release(&b);
    return rc;
}

/* Run the editor on path: "$SKIFF_EDITOR path", else $EDITOR, else vi.
 * As git does, the editor text is shell syntax ("code --wait", "sed -i
 * 's/a/b/'"): it is put in front of "$1" and run by sh. */
static int
run_editor(const char *path, struct sk_err *err)
{
    const char *editor = getenv("SKIFF_EDITOR");
    char *cmd;
    int status;
    pid_t pid;

    if (!editor || !*editor)
        editor = getenv("EDITOR");
    if (!editor || !*editor)
        editor = "vi";
    cmd = sk_asprintf("%s \"$1\"", editor);
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        free(cmd);
        return sk_err_sys(err, errno, "fork");
    }
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, "sh", path, (char *)NULL);
        _exit(127);
    }
    free(cmd);
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return sk_err_sys(err, errno, "wait for the editor");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return sk_err_set(err, ECHILD, "the editor '%s' failed (status %d); nothing was changed",
                          editor, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    return 0;
}

/* Read the edited file back: *obj NULL when it is empty (cancel). */
static int
read_back(const char *path, json_t **obj, struct sk_err *err)
{
    struct cli_objs docs = {0};
    int rc;

    *obj = NULL;
    rc = cli_manifest_read(path, &docs, err);
    if (rc < 0)
        return rc;
    if (docs.n > 1) {
        cli_objs_release(&docs);
        return sk_err_set(err, EINVAL, "the edited file holds %zu objects, not one", docs.n);
    }
    if (docs.n == 1) {
        *obj = docs.items[0];
        docs.items[0] = NULL;
    }
    cli_objs_release(&docs);
    return 0;
}

static int
send_update(struct cli *c, json_t *obj, struct sk_err *err)
{
    struct sk_buf line = SK_BUF_INIT;
    struct api_resp resp;
    int rc;

    sk_buf_puts(&line, "update");
    rc = cli_put_json(&line, obj, err);
    if (rc == 0)
        rc = cli_do(c, line.data, &resp, err);
    if (rc == 0)
        api_resp_release(&resp);
    sk_buf_release(&line);
    return rc;
}

/* Edit until saved, cancelled, or an error the user saved unchanged. */
static int
edit_loop(struct cli *c, const struct api_kind *k, const json_t *orig, const char *path, bool json)
{
    json_t *edited = NULL, *last = NULL;
    char *last_text = NULL;
    bool reopened;
    struct sk_err err;
    char ref[512];
    int rc;

    sk_err_init(&err);
    cli_obj_ref(k, orig, ref, sizeof(ref));
    for (;;) {
        if ((rc = run_editor(path, &err)) < 0)
            break;
        /* A file that does not parse is reopened as the user wrote it,
         * the error on top; saved again unchanged, it is given up. */
        if ((rc = read_back(path, &edited, &err)) < 0) {
            char *text = user_text(path);

            if (!text || (last_text && !strcmp(text, last_text))) {
                char msg[sizeof(err.msg)];

                free(text);
                snprintf(msg, sizeof(msg), "%s", err.msg);
                rc = sk_err_set(&err, ECANCELED, "%s: edit abandoned after an error: %s", ref, msg);
                break;
            }
            fprintf(stderr, "skiff: %s\n", err.msg);
            free(last_text);
            last_text = text;
            rc = reopen_text(path, text, err.msg, &err);
            sk_err_init(&err);
            if (rc < 0)
                break;
            continue;
        }
        if ((!edited || json_equal(edited, orig))) {
            printf("Edit cancelled, no changes made.\n");
            break;
        }
        if (last && json_equal(edited, last)) {
            rc = sk_err_set(&err, ECANCELED, "%s: edit abandoned after an error", ref);
            break;
        }
        if (!sk_json_get(edited, "metadata.resourceVersion"))
            sk_json_set(edited, "metadata.resourceVersion",
                        json_deep_copy(sk_json_get(orig, "metadata.resourceVersion")), NULL);
        rc = send_update(c, edited, &err);
        if (rc == 0) {
            printf("%s edited\n", ref);
            break;
        }
        if (rc == -EHOSTUNREACH || rc == -EACCES)
            break;
        /* Re-open with the error on top, as kubectl does. */
        fprintf(stderr, "skiff: %s\n", err.msg);
        json_decref(last);
        last = json_incref(edited);
        rc = write_file(path, err.msg, edited, json, &err);
        json_decref(edited);
        edited = NULL;
        if (rc < 0)
            break;
    }
    reopened = last || last_text;
    json_decref(edited);
    json_decref(last);
    free(last_text);
    if (rc == -ECHILD && !reopened) {
        unlink(path);
        return cli_report(rc, &err);
    }
    if (rc < 0) {
        fprintf(stderr, "skiff: %s\n", err.msg);
        fprintf(stderr, "skiff: a copy of your changes is in '%s'\n", path);
        return rc == -ECANCELED || rc == -ECHILD ? SKIFF_EXIT_ERROR : cli_exit_of(rc);
    }
    unlink(path);
    return SKIFF_EXIT_OK;
}

static int
edit_one(struct cli *c, const struct api_kind *k, const char *ns, const char *name, bool json)
{
    const char *tmp = getenv("TMPDIR");
    struct sk_err err;
    json_t *obj = NULL;
    char *path;
    int fd, rc;

    sk_err_init(&err);
    if ((rc = cli_get(c, k, ns, name, &obj, &err)) < 0)
        return cli_report(rc, &err);
    path =
        sk_asprintf("%s/skiff-edit-XXXXXX.%s", tmp && *tmp ? tmp : "/tmp", json ? "json" : "yaml");
    fd = mkostemps(path, 5, O_CLOEXEC);
    if (fd < 0) {
        rc = cli_report(sk_err_sys(&err, errno, "create '%s'", path), &err);
        goto out;
    }
    close(fd);
    if ((rc = write_file(path, NULL, obj, json, &err)) < 0) {
        unlink(path);
        rc = cli_report(rc, &err);
        goto out;
    }
    rc = edit_loop(c, k, obj, path, json);
out:
    free(path);
    json_decref(obj);
    return rc;
}

int
cli_cmd_edit(struct cli *c, int argc, char **argv)
{
    struct cli_flags f;
    struct cli_refs refs;
    struct sk_err err;
    bool json;
    int rc, status = SKIFF_EXIT_OK;

    sk_err_init(&err);
    if (cli_flags_parse(argc, argv, CLI_F_NS | CLI_F_OUTPUT, &f, &err) < 0)
        return cli_report(-EINVAL, &err);
    if (f.output && strcmp(f.output, "yaml") && strcmp(f.output, "json")) {
        fprintf(stderr, "skiff: edit: -o must be yaml or json\n");
        cli_flags_release(&f);
        return SKIFF_EXIT_USAGE;
    }
    json = f.output && !strcmp(f.output, "json");
    if ((rc = cli_refs_parse(f.nargs, f.args, &refs, &err)) < 0) {
        cli_flags_release(&f);
        return cli_report(rc, &err);
    }
    for (size_t i = 0; i < refs.n; i++) {
        if (!refs.items[i].name) {
            fprintf(stderr, "skiff: edit needs TYPE NAME or TYPE/NAME\n");
            status = SKIFF_EXIT_USAGE;
            break;
        }
        rc = edit_one(c, refs.items[i].kind, cli_namespace(c, &f), refs.items[i].name, json);
        if (rc != SKIFF_EXIT_OK)
            status = rc;
    }
    cli_refs_release(&refs);
    cli_flags_release(&f);
    return status;
}
