/* skiff label, annotate and scale: small changes sent as merge patches
 * (RFC 7386) or through the scale verb. */
#include "api/cli_int.h"
#include "lib/alloc.h"
#include "lib/json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *
cli_merge_patch_diff(const json_t *from, const json_t *to)
{
    json_t *patch, *fv, *tv;
    const char *key;

    if (!json_is_object(from) || !json_is_object(to))
        return json_deep_copy(to);
    patch = json_object();
    json_object_foreach ((json_t *)from, key, fv) {
        if (!json_object_get(to, key))
            json_object_set_new(patch, key, json_null());
    }
    json_object_foreach ((json_t *)to, key, tv) {
        fv = json_object_get(from, key);
        if (fv && json_is_object(fv) && json_is_object(tv)) {
            json_t *sub = cli_merge_patch_diff(fv, tv);

            if (json_object_size(sub) > 0)
                json_object_set_new(patch, key, sub);
            else
                json_decref(sub);
        } else if (!fv || !json_equal(fv, tv)) {
            json_object_set_new(patch, key, json_deep_copy(tv));
        }
    }
    return patch;
}

/* One argument: "key=value" (value set) or "key-" (value NULL). */
static int
meta_arg_parse(const char *arg, const char *what, char *key, size_t keysz, const char **value,
               struct sk_err *err)
{
    const char *eq = strchr(arg, '=');
    size_t len = strlen(arg);

    if (eq) {
        len = (size_t)(eq - arg);
        *value = eq + 1;
    } else if (len > 1 && arg[len - 1] == '-') {
        len--;
        *value = NULL;
    } else {
        return sk_err_set(err, EINVAL, "invalid %s spec '%s' (want key=value or key-)", what, arg);
    }
    if (len == 0 || len >= keysz)
        return sk_err_set(err, EINVAL, "invalid %s spec '%s': bad key", what, arg);
    memcpy(key, arg, len);
    key[len] = '\0';
    return 0;
}

int
cli_meta_patch_build(const json_t *obj, const char *field, int nargs, char **args, bool overwrite,
                     json_t **patch, bool *changed, struct sk_buf *warn, struct sk_err *err)
{
    const char *what = strcmp(field, "labels") == 0 ? "label" : "annotation";
    json_t *have = json_object_get(json_object_get(obj, "metadata"), field), *set;
    char key[512];
    const char *value = NULL;

    *patch = NULL;
    *changed = false;
    if (nargs < 1)
        return sk_err_set(err, EINVAL, "at least one %s update is required", what);
    set = json_object();
    for (int i = 0; i < nargs; i++) {
        json_t *cur;

        if (meta_arg_parse(args[i], what, key, sizeof(key), &value, err) < 0) {
            json_decref(set);
            return -EINVAL;
        }
        cur = json_is_object(have) ? json_object_get(have, key) : NULL;
        if (!value) {
            if (cur) {
                json_object_set_new(set, key, json_null());
                *changed = true;
            } else if (warn) {
                sk_buf_printf(warn, "%s \"%s\" not found.\n", what, key);
            }
            continue;
        }
        if (cur && json_is_string(cur) && strcmp(json_string_value(cur), value) == 0)
            continue;
        if (cur && !overwrite) {
            json_decref(set);
            return sk_err_set(err, EEXIST,
                              "'%s' already has a value (%s), and --overwrite is false", key,
                              json_is_string(cur) ? json_string_value(cur) : "?");
        }
        json_object_set_new(set, key, json_string(value));
        *changed = true;
    }
    *patch = json_pack("{s:{s:o}}", "metadata", field, set);
    return 0;
}

/* Resource arguments come first, then the key=value / key- ones. */
static int
split_meta_args(const struct cli_flags *f)
{
    int i;

    for (i = 0; i < f->nargs; i++) {
        const char *a = f->args[i];
        size_t len = strlen(a);

        if (strchr(a, '=') || (len > 1 && a[len - 1] == '-'))
            break;
    }
    return i;
}

static int
patch_send(struct cli *c, const struct api_kind *k, const json_t *obj, const json_t *patch,
           struct sk_err *err)
{
    struct sk_buf line = SK_BUF_INIT;
    struct api_resp resp;
    int rc;

    sk_buf_puts(&line, "patch");
    cli_put_target(&line, k, api_meta_namespace(obj));
    cli_put_word(&line, api_meta_name(obj));
    rc = cli_put_json(&line, patch, err);
    if (rc == 0)
        rc = cli_do(c, line.data, &resp, err);
    if (rc == 0)
        api_resp_release(&resp);
    sk_buf_release(&line);
    return rc;
}

/* The objects named by refs (and -l / --all for bare types). */
static int
resolve_objects(struct cli *c, const struct cli_flags *f, const struct cli_refs *refs,
                struct cli_objs *out, const struct api_kind ***kinds, struct sk_err *err)
{
    const char *ns = cli_namespace(c, f);
    int rc;

    memset(out, 0, sizeof(*out));
    *kinds = NULL;
    for (size_t i = 0; i < refs->n; i++) {
        const struct api_kind *k = refs->items[i].kind;
        struct cli_objs o = {0};
        json_t *obj;

        if (refs->items[i].name) {
            if ((rc = cli_get(c, k, ns, refs->items[i].name, &obj, err)) < 0)
                return rc;
            o.items = sk_calloc(1, sizeof(*o.items));
            o.items[o.n++] = obj;
        } else if (f->all || (f->selector && *f->selector)) {
            if ((rc = cli_list(c, k, f->all_ns ? "*" : ns, f->selector, NULL, &o, err)) < 0)
                return rc;
        } else {
            return sk_err_set(err, EINVAL,
                              "resource(s) were provided, but no name was "
                              "specified (use a name, -l SELECTOR or --all)");
        }
        out->items = sk_reallocarray(out->items, out->n + o.n + 1, sizeof(*out->items));
        *kinds = sk_reallocarray(*kinds, out->n + o.n + 1, sizeof(**kinds));
        for (size_t j = 0; j < o.n; j++) {
            (*kinds)[out->n] = k;
            out->items[out->n++] = o.items[j];
        }
        free(o.items);
    }
    return 0;
}

static int
meta_cmd(struct cli *c, const char *field, const char *done, int argc, char **argv)
{
    struct sk_buf warn = SK_BUF_INIT;
    const struct api_kind **kinds = NULL;
    struct cli_objs objs = {0};
    struct cli_flags f;
    struct cli_refs refs;
    struct sk_err err;
    int nres, rc, status = SKIFF_EXIT_OK;

    sk_err_init(&err);
    if (cli_flags_parse(argc, argv,
                        CLI_F_NS | CLI_F_ALL_NS | CLI_F_SELECTOR | CLI_F_OVERWRITE | CLI_F_ALL, &f,
                        &err) < 0)
        return cli_report(-EINVAL, &err);
    nres = split_meta_args(&f);
    if ((rc = cli_refs_parse(nres, f.args, &refs, &err)) < 0) {
        cli_flags_release(&f);
        return cli_report(rc, &err);
    }
    rc = resolve_objects(c, &f, &refs, &objs, &kinds, &err);
    for (size_t i = 0; rc == 0 && i < objs.n; i++) {
        json_t *patch;
        bool changed;
        char ref[512];

        sk_buf_reset(&warn);
        rc = cli_meta_patch_build(objs.items[i], field, f.nargs - nres, f.args + nres, f.overwrite,
                                  &patch, &changed, &warn, &err);
        if (rc < 0)
            break;
        if (warn.len)
            fputs(warn.data, stderr);
        cli_obj_ref(kinds[i], objs.items[i], ref, sizeof(ref));
        if (changed) {
            /* Conditional on what the --overwrite check saw. */
            sk_json_set(patch, "metadata.resourceVersion",
                        json_deep_copy(sk_json_get(objs.items[i], "metadata.resourceVersion")),
                        NULL);
            rc = patch_send(c, kinds[i], objs.items[i], patch, &err);
        }
        json_decref(patch);
        if (rc < 0) {
            status = cli_report(rc, &err);
            rc = 0;
            continue;
        }
        printf("%s %s%s\n", ref, changed ? "" : "not ", done);
    }
    if (rc < 0)
        status = cli_report(rc, &err);
    free(kinds);
    cli_objs_release(&objs);
    sk_buf_release(&warn);
    cli_refs_release(&refs);
    cli_flags_release(&f);
    return status;
}

int
cli_cmd_label(struct cli *c, int argc, char **argv)
{
    return meta_cmd(c, "labels", "labeled", argc, argv);
}

int
cli_cmd_annotate(struct cli *c, int argc, char **argv)
{
    return meta_cmd(c, "annotations", "annotated", argc, argv);
}

/* ---- scale ---- */

int
cli_cmd_scale(struct cli *c, int argc, char **argv)
{
    struct cli_flags f;
    struct cli_refs refs;
    struct sk_err err;
    int rc, status = SKIFF_EXIT_OK;

    sk_err_init(&err);
    if (cli_flags_parse(argc, argv, CLI_F_NS | CLI_F_REPLICAS, &f, &err) < 0)
        return cli_report(-EINVAL, &err);
    if (f.replicas < 0) {
        fprintf(stderr, "skiff: --replicas=COUNT is required\n");
        cli_flags_release(&f);
        return SKIFF_EXIT_USAGE;
    }
    if ((rc = cli_refs_parse(f.nargs, f.args, &refs, &err)) < 0) {
        cli_flags_release(&f);
        return cli_report(rc, &err);
    }
    for (size_t i = 0; i < refs.n; i++) {
        const struct api_kind *k = refs.items[i].kind;
        struct sk_buf line = SK_BUF_INIT;
        struct api_resp resp;

        if (!api_kind_has_subresource(k, "scale") || !refs.items[i].name) {
            fprintf(stderr, "skiff: cannot scale %s%s (deployments and replicasets by name)\n",
                    k->resource, refs.items[i].name ? "" : " without a name");
            status = SKIFF_EXIT_USAGE;
            continue;
        }
        sk_buf_puts(&line, "scale");
        cli_put_target(&line, k, cli_namespace(c, &f));
        cli_put_word(&line, refs.items[i].name);
        sk_buf_printf(&line, " %lld", (long long)f.replicas);
        rc = cli_do(c, line.data, &resp, &err);
        sk_buf_release(&line);
        if (rc < 0) {
            status = cli_report(rc, &err);
            continue;
        }
        api_resp_release(&resp);
        printf("%s/%s scaled\n", k->singular, refs.items[i].name);
    }
    cli_refs_release(&refs);
    cli_flags_release(&f);
    return status;
}
