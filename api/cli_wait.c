/* skiff wait --for=delete|condition=NAME[=VALUE]|jsonpath=EXPR=VALUE:
 * block until every named (or selected) object meets the condition.
 *
 * A bounded poll (20 ms doubling to 500 ms) rather than a watch: the
 * condition may already hold, an object may be gone before a watch
 * starts, and one get per object answers both. The deadline is shared
 * by every object (kubectl's --timeout is per object; one bound is what
 * a script wants), 30 s by default. */
#include "api/cli_int.h"
#include "lib/alloc.h"
#include "lib/json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define WAIT_DEFAULT_MS 30000

enum wait_kind { WAIT_DELETE, WAIT_CONDITION, WAIT_JSONPATH };

struct wait_for {
    enum wait_kind kind;
    char *what;        /* condition type, or the jsonpath template */
    const char *value; /* into what's allocation */
};

/* Parse --for. EXPR of jsonpath may hold '=' inside braces ("{.a[?(@.b==
 * \"c\")]}"), so the value starts at the first '=' after its closing
 * brace. */
static int
wait_for_parse(const char *arg, struct wait_for *w, struct sk_err *err)
{
    char *eq, *end;

    memset(w, 0, sizeof(*w));
    if (!arg)
        return sk_err_set(err, EINVAL,
                          "--for is required: delete, condition=NAME[=VALUE] or "
                          "jsonpath=EXPR=VALUE");
    if (!strcmp(arg, "delete")) {
        w->kind = WAIT_DELETE;
        return 0;
    }
    if (!strncmp(arg, "condition=", 10) && arg[10]) {
        w->kind = WAIT_CONDITION;
        w->what = sk_strdup(arg + 10);
        if ((eq = strchr(w->what, '='))) {
            *eq = '\0';
            w->value = eq + 1;
        } else {
            w->value = "True";
        }
        if (*w->what && *w->value)
            return 0;
    } else if (!strncmp(arg, "jsonpath=", 9)) {
        w->kind = WAIT_JSONPATH;
        if (arg[9] == '{') {
            end = strchr(arg + 9, '}');
            eq = end ? strchr(end, '=') : NULL;
            w->what = end ? sk_asprintf("%.*s", (int)(end + 1 - (arg + 9)), arg + 9) : NULL;
        } else {
            eq = strchr(arg + 9, '=');
            w->what = eq ? sk_asprintf("{%.*s}", (int)(eq - (arg + 9)), arg + 9) : NULL;
        }
        if (w->what && eq && eq[1] && api_print_jsonpath_check(w->what, err) == 0) {
            w->value = eq + 1;
            return 0;
        }
        if (err->code)
            return -EINVAL;
    }
    free(w->what);
    w->what = NULL;
    return sk_err_set(err, EINVAL,
                      "bad --for '%s': expected delete, condition=NAME[=VALUE] or "
                      "jsonpath=EXPR=VALUE",
                      arg);
}

/* Does obj meet the condition? (delete is handled by the caller.) */
static bool
wait_met(const struct wait_for *w, const json_t *obj)
{
    struct sk_buf out = SK_BUF_INIT;
    const json_t *conds, *cnd;
    struct sk_err err;
    bool met = false;
    size_t i;

    if (w->kind == WAIT_CONDITION) {
        conds = json_object_get(json_object_get(obj, "status"), "conditions");
        json_array_foreach (conds, i, cnd) {
            const char *type = json_string_value(json_object_get(cnd, "type"));
            const char *status = json_string_value(json_object_get(cnd, "status"));

            /* kubectl compares both case-insensitively */
            if (type && status && !strcasecmp(type, w->what) && !strcasecmp(status, w->value))
                return true;
        }
        return false;
    }
    sk_err_init(&err);
    if (api_print_jsonpath(w->what, obj, &out, &err) == 0)
        met = !strcmp(out.data ? out.data : "", w->value);
    sk_buf_release(&out);
    return met;
}

/* The objects to wait on now: the named one, or those selected. 0, or
 * <0 with err; a named object that is gone is -ENOENT. */
static int
fetch(struct cli *c, const struct cli_ref *r, const char *ns, const struct cli_flags *f,
      struct cli_objs *o, struct sk_err *err)
{
    json_t *obj;
    int rc;

    memset(o, 0, sizeof(*o));
    if (!r->name)
        return cli_list(c, r->kind, ns, f->selector, f->fields, o, err);
    if ((rc = cli_get(c, r->kind, ns, r->name, &obj, err)) < 0)
        return rc;
    o->items = sk_calloc(1, sizeof(*o->items));
    o->items[o->n++] = obj;
    return 0;
}

/* Wait for one reference until deadline; prints "pod/web condition met"
 * per object. 0, or <0 with err. */
static int
wait_ref(struct cli *c, const struct cli_ref *r, const char *ns, const struct cli_flags *f,
         const struct wait_for *w, int64_t deadline, struct sk_err *err)
{
    int64_t pause_ms = 20;
    struct cli_objs o;
    char ref[512];
    bool all, seen = false;
    int rc;

    for (;;) {
        rc = fetch(c, r, ns, f, &o, err);
        if (rc == -ENOENT && w->kind == WAIT_DELETE) {
            printf("%s/%s deleted\n", r->kind->singular, r->name);
            return 0;
        }
        if (rc < 0)
            return rc;
        all = true;
        for (size_t i = 0; i < o.n; i++)
            all = all && w->kind != WAIT_DELETE && wait_met(w, o.items[i]);
        if (o.n == 0 && w->kind == WAIT_DELETE && (seen || !r->name)) {
            cli_objs_release(&o);
            return 0;
        }
        if (o.n == 0 && !seen) {
            cli_objs_release(&o);
            return sk_err_set(err, ENOENT, "no matching %s found", r->kind->resource);
        }
        seen = true;
        if (o.n > 0 && all) {
            for (size_t i = 0; i < o.n; i++) {
                cli_obj_ref(r->kind, o.items[i], ref, sizeof(ref));
                printf("%s condition met\n", ref);
            }
            cli_objs_release(&o);
            return 0;
        }
        cli_objs_release(&o);
        if (cli_now_ms() >= deadline)
            return sk_err_set(err, ETIMEDOUT, "timed out waiting for the condition on %s%s%s",
                              r->kind->resource, r->name ? "/" : "", r->name ? r->name : "");
        nanosleep(&(struct timespec){0, pause_ms * 1000000}, NULL);
        pause_ms = pause_ms * 2 > 500 ? 500 : pause_ms * 2;
    }
}

int
cli_cmd_wait(struct cli *c, int argc, char **argv)
{
    struct cli_refs refs = {0};
    struct wait_for w = {0};
    struct cli_flags f;
    struct sk_err err;
    int64_t deadline;
    const char *ns;
    int status = SKIFF_EXIT_OK, rc;

    sk_err_init(&err);
    if (cli_flags_parse(argc, argv,
                        CLI_F_NS | CLI_F_ALL_NS | CLI_F_SELECTOR | CLI_F_FIELDS | CLI_F_FOR |
                            CLI_F_TIMEOUT | CLI_F_ALL,
                        &f, &err) < 0)
        return cli_report(-EINVAL, &err);
    if ((rc = wait_for_parse(f.for_obj, &w, &err)) < 0 ||
        (rc = cli_refs_parse(f.nargs, f.args, &refs, &err)) < 0) {
        status = cli_report(-EINVAL, &err);
        goto out;
    }
    for (size_t i = 0; i < refs.n; i++)
        if (!refs.items[i].name && !f.selector && !f.fields && !f.all) {
            fprintf(stderr, "skiff: wait: name the objects, or select them with -l, "
                            "--field-selector or --all\n");
            status = SKIFF_EXIT_USAGE;
            goto out;
        }
    ns = f.all_ns ? "*" : cli_namespace(c, &f);
    deadline = cli_now_ms() + (int64_t)((f.given & CLI_F_TIMEOUT) ? f.timeout_ms : WAIT_DEFAULT_MS);
    for (size_t i = 0; i < refs.n; i++) {
        rc = wait_ref(c, &refs.items[i], ns, &f, &w, deadline, &err);
        fflush(stdout);
        if (rc < 0) {
            status = cli_report(rc, &err);
            sk_err_init(&err);
            if (rc == -EHOSTUNREACH)
                break;
        }
    }
out:
    free(w.what);
    cli_refs_release(&refs);
    cli_flags_release(&f);
    return status;
}
