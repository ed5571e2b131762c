/* skiff(1)'s pure argument handling: flags, TYPE/NAME references,
 * request words, status words, manifests read from files. */
#include "api/cli_int.h"
#include "lib/buf.h"
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])) - 1)

START_TEST(flags_mixed_with_arguments_in_any_order)
{
    char *argv[] = {"get",
                    "pods",
                    "-n",
                    "kube-system",
                    "web",
                    "-o",
                    "wide",
                    "--no-headers",
                    "-l",
                    "app=web",
                    "--field-selector=spec.nodeName=n1",
                    NULL};
    struct cli_flags f;
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_eq(
        cli_flags_parse(ARGC(argv), argv,
                        CLI_F_NS | CLI_F_OUTPUT | CLI_F_NO_HEADERS | CLI_F_SELECTOR | CLI_F_FIELDS,
                        &f, &err),
        0);
    ck_assert_int_eq(f.nargs, 2);
    ck_assert_str_eq(f.args[0], "pods");
    ck_assert_str_eq(f.args[1], "web");
    ck_assert_str_eq(f.ns, "kube-system");
    ck_assert_str_eq(f.output, "wide");
    ck_assert(f.no_headers);
    ck_assert_str_eq(f.selector, "app=web");
    ck_assert_str_eq(f.fields, "spec.nodeName=n1");
    ck_assert(f.given & CLI_F_NS);
    cli_flags_release(&f);
}
END_TEST

START_TEST(flags_defaults)
{
    char *argv[] = {"delete", "pod", "web", NULL};
    struct cli_flags f;

    ck_assert_int_eq(cli_flags_parse(ARGC(argv), argv, CLI_F_GRACE | CLI_F_WAIT, &f, NULL), 0);
    ck_assert_int_eq(f.grace, -1);
    ck_assert(f.wait);
    ck_assert_int_eq(f.replicas, -1);
    ck_assert_uint_eq(f.timeout_ms, 0);
    ck_assert_int_eq(f.namespaced, -1);
    cli_flags_release(&f);
}
END_TEST

START_TEST(flags_values_parsed)
{
    char *argv[] = {"delete", "--grace-period=0", "--wait=false", "--timeout", "1m30s",   "-f",
                    "a.yaml", "--filename=dir",   "-f",           "-",         "--force", NULL};
    struct cli_flags f;

    ck_assert_int_eq(
        cli_flags_parse(ARGC(argv), argv,
                        CLI_F_GRACE | CLI_F_WAIT | CLI_F_TIMEOUT | CLI_F_FILE | CLI_F_FORCE, &f,
                        NULL),
        0);
    ck_assert_int_eq(f.grace, 0);
    ck_assert(!f.wait);
    ck_assert_uint_eq(f.timeout_ms, 90000);
    ck_assert_uint_eq(f.nfiles, 3);
    ck_assert_str_eq(f.files[0], "a.yaml");
    ck_assert_str_eq(f.files[1], "dir");
    ck_assert_str_eq(f.files[2], "-");
    ck_assert(f.force);
    ck_assert_int_eq(f.nargs, 0);
    cli_flags_release(&f);
}
END_TEST

START_TEST(flags_double_dash_ends_flags)
{
    char *argv[] = {"label", "pods", "web", "--", "-x=1", NULL};
    struct cli_flags f;

    ck_assert_int_eq(cli_flags_parse(ARGC(argv), argv, CLI_F_OVERWRITE, &f, NULL), 0);
    ck_assert_int_eq(f.nargs, 3);
    ck_assert_str_eq(f.args[2], "-x=1");
    cli_flags_release(&f);
}
END_TEST

START_TEST(logs_dash_f_is_follow)
{
    char *argv[] = {"logs", "-f", "web", "-c", "app", "--tail=10", NULL};
    struct cli_flags f;

    ck_assert_int_eq(cli_flags_parse(ARGC(argv), argv, CLI_F_NS | CLI_F_LOGS, &f, NULL), 0);
    ck_assert(f.follow);
    ck_assert_str_eq(f.container, "app");
    ck_assert_int_eq(f.tail, 10);
    ck_assert_int_eq(f.nargs, 1);
    ck_assert_str_eq(f.args[0], "web");
    cli_flags_release(&f);
}
END_TEST

static const struct {
    const char *args[6];
    unsigned allowed;
    const char *msg;
} bad_flags[] = {
    {{"get", "--frob", NULL}, CLI_F_NS, "unknown flag '--frob' for 'get'"},
    {{"get", "-x", NULL}, CLI_F_NS, "unknown flag '-x' for 'get'"},
    {{"get", "-w", NULL}, CLI_F_NS, "unknown flag '-w' for 'get'"},
    {{"get", "-n", NULL}, CLI_F_NS, "flag '-n' needs a value"},
    {{"delete", "--grace-period=soon", NULL},
     CLI_F_GRACE,
     "flag '--grace-period' needs an integer"},
    {{"delete", "--grace-period=-5", NULL}, CLI_F_GRACE, "flag '--grace-period' needs an integer"},
    {{"scale", "--replicas=-1", NULL}, CLI_F_REPLICAS, "flag '--replicas' needs an integer >= 0"},
    {{"delete", "--wait=maybe", NULL}, CLI_F_WAIT, "flag '--wait' takes true or false"},
    {{"delete", "--timeout=forever", NULL}, CLI_F_TIMEOUT, "flag '--timeout': bad duration"},
    {{"delete", "--cascade=sideways", NULL}, CLI_F_DELETE, "flag '--cascade' must be"},
};

START_TEST(flags_malformed_are_usage_errors)
{
    char *argv[6];
    struct cli_flags f;
    struct sk_err err;
    int argc = 0;

    memset(argv, 0, sizeof(argv));
    while (bad_flags[_i].args[argc]) {
        argv[argc] = (char *)bad_flags[_i].args[argc];
        argc++;
    }
    sk_err_init(&err);
    ck_assert_int_eq(cli_flags_parse(argc, argv, bad_flags[_i].allowed, &f, &err), -EINVAL);
    ck_assert_msg(strstr(err.msg, bad_flags[_i].msg), "got '%s'", err.msg);
}
END_TEST

START_TEST(namespace_precedence)
{
    struct cli c = {0};
    struct cli_flags f = {0};

    ck_assert_str_eq(cli_namespace(&c, &f), "default");
    c.ns = "outer";
    ck_assert_str_eq(cli_namespace(&c, &f), "outer");
    f.ns = "inner";
    ck_assert_str_eq(cli_namespace(&c, &f), "inner");
}
END_TEST

/* ---- references ---- */

static void
refs_of(const char *line, struct cli_refs *refs, int want_rc)
{
    char buf[256], *args[16];
    int n = 0;
    struct sk_err err;

    snprintf(buf, sizeof(buf), "%s", line);
    for (char *t = strtok(buf, " "); t && n < 16; t = strtok(NULL, " "))
        args[n++] = t;
    sk_err_init(&err);
    /* Only for forms without names: names would point into buf. */
    ck_assert_int_eq(cli_refs_parse(n, args, refs, &err), want_rc);
}

START_TEST(refs_type_alone_lists)
{
    struct cli_refs r;

    refs_of("po", &r, 0);
    ck_assert_uint_eq(r.n, 1);
    ck_assert_str_eq(r.items[0].kind->kind, "Pod");
    ck_assert_ptr_null(r.items[0].name);
    ck_assert_uint_eq(r.nkinds, 1);
    cli_refs_release(&r);
}
END_TEST

START_TEST(refs_several_types_and_names)
{
    char a0[] = "pods,svc", a1[] = "web", a2[] = "db";
    char *args[] = {a0, a1, a2};
    struct cli_refs r;

    ck_assert_int_eq(cli_refs_parse(3, args, &r, NULL), 0);
    ck_assert_uint_eq(r.n, 4);
    ck_assert_uint_eq(r.nkinds, 2);
    ck_assert_str_eq(r.items[0].kind->resource, "pods");
    ck_assert_str_eq(r.items[0].name, "web");
    ck_assert_str_eq(r.items[1].name, "db");
    ck_assert_str_eq(r.items[2].kind->resource, "services");
    ck_assert_str_eq(r.items[3].name, "db");
    cli_refs_release(&r);
}
END_TEST

START_TEST(refs_slash_form)
{
    char a0[] = "deploy/web", a1[] = "Service/front", a2[] = "deployments.apps/x";
    char *args[] = {a0, a1, a2};
    struct cli_refs r;

    ck_assert_int_eq(cli_refs_parse(3, args, &r, NULL), 0);
    ck_assert_uint_eq(r.n, 3);
    ck_assert_str_eq(r.items[0].kind->kind, "Deployment");
    ck_assert_str_eq(r.items[0].name, "web");
    ck_assert_str_eq(r.items[1].kind->kind, "Service");
    ck_assert_str_eq(r.items[2].kind->kind, "Deployment");
    ck_assert_str_eq(r.items[2].name, "x");
    ck_assert_uint_eq(r.nkinds, 2);
    cli_refs_release(&r);
}
END_TEST

START_TEST(refs_all_expands)
{
    struct cli_refs r;

    refs_of("all", &r, 0);
    ck_assert_uint_eq(r.n, 4);
    ck_assert_str_eq(r.items[0].kind->resource, "pods");
    ck_assert_str_eq(r.items[3].kind->resource, "replicasets");
    cli_refs_release(&r);
}
END_TEST

static const struct {
    const char *line;
    int rc;
    const char *msg;
} bad_refs[] = {
    {"", -EINVAL, "you must specify the type of resource"},
    {"frobs", -EINVAL, "the server doesn't have a resource type \"frobs\""},
    {"pods,frobs web", -EINVAL, "resource type \"frobs\""},
    {"pods,", -EINVAL, "empty resource type"},
    {"pod/web db", -EINVAL, "no need to specify a resource type"},
    {"pods pod/web", -EINVAL, "single resource and name"},
    {"pod/", -EINVAL, "a name is needed"},
    {"frob/x", -EINVAL, "resource type \"frob\""},
};

START_TEST(refs_malformed)
{
    char buf[256], *args[16];
    struct cli_refs r;
    struct sk_err err;
    int n = 0;

    snprintf(buf, sizeof(buf), "%s", bad_refs[_i].line);
    for (char *t = strtok(buf, " "); t && n < 16; t = strtok(NULL, " "))
        args[n++] = t;
    sk_err_init(&err);
    ck_assert_int_eq(cli_refs_parse(n, args, &r, &err), bad_refs[_i].rc);
    ck_assert_msg(strstr(err.msg, bad_refs[_i].msg), "got '%s'", err.msg);
    ck_assert_ptr_null(r.items);
}
END_TEST

/* ---- words ---- */

START_TEST(words_are_percent_encoded)
{
    struct sk_buf b = SK_BUF_INIT;

    sk_buf_puts(&b, "list");
    cli_put_target(&b, api_kind_lookup("pods"), "default");
    cli_put_opt(&b, "selector", "env in (a,b),app=web");
    cli_put_word(&b, "50%");
    cli_put_word(&b, "caf\xc3\xa9");
    ck_assert_str_eq(b.data, "list pods default selector=env%20in%20(a,b),app=web 50%25 caf%C3%A9");
    sk_buf_reset(&b);
    cli_put_target(&b, api_kind_lookup("nodes"), "default");
    cli_put_target(&b, api_kind_lookup("pods"), NULL);
    cli_put_target(&b, api_kind_lookup("pods"), "*");
    ck_assert_str_eq(b.data, " nodes pods * pods *");
    sk_buf_release(&b);
}
END_TEST

START_TEST(json_word_is_raw_compact)
{
    struct sk_buf b = SK_BUF_INIT;
    json_t *v = json_pack("{s:s}", "a", "x y");

    sk_buf_puts(&b, "create");
    ck_assert_int_eq(cli_put_json(&b, v, NULL), 0);
    ck_assert_str_eq(b.data, "create {\"a\":\"x y\"}");
    json_decref(v);
    sk_buf_release(&b);
}
END_TEST

START_TEST(status_words)
{
    char v[64];

    ck_assert_int_eq(cli_status_value("rev=12 continue=abc%20d", "continue", v, sizeof(v)), 1);
    ck_assert_str_eq(v, "abc%20d");
    ck_assert_int_eq(cli_status_value("rev=12 created", "rev", v, sizeof(v)), 1);
    ck_assert_str_eq(v, "12");
    ck_assert_int_eq(cli_status_value("revision=1", "rev", v, sizeof(v)), 0);
    ck_assert_int_eq(cli_status_value(NULL, "rev", v, sizeof(v)), 0);
    ck_assert_str_eq(cli_status_last("rev=12 unchanged"), "unchanged");
    ck_assert_str_eq(cli_status_last("created"), "created");
    ck_assert_str_eq(cli_status_last(NULL), "");
}
END_TEST

START_TEST(exit_statuses)
{
    ck_assert_int_eq(cli_exit_of(0), 0);
    ck_assert_int_eq(cli_exit_of(-ENOENT), 3);
    ck_assert_int_eq(cli_exit_of(-EHOSTUNREACH), 4);
    ck_assert_int_eq(cli_exit_of(-EACCES), 5);
    ck_assert_int_eq(cli_exit_of(-ETIMEDOUT), 6);
    ck_assert_int_eq(cli_exit_of(-EINVAL), 2);
    ck_assert_int_eq(cli_exit_of(-EEXIST), 1);
    ck_assert_int_eq(cli_exit_of(-EBADMSG), 1);
}
END_TEST

START_TEST(server_errors_map_to_codes)
{
    static const struct {
        int code;
        int rc;
    } map[] = {{404, -ENOENT},  {403, -EACCES}, {409, -EEXIST},   {410, -ESTALE},
               {422, -EBADMSG}, {501, -ENOSYS}, {500, -EREMOTEIO}};
    struct api_resp resp;
    struct sk_err err;

    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        char line[128];

        snprintf(line, sizeof(line), "error %d Reason pods \"web\" said no", map[i].code);
        ck_assert_int_eq(api_resp_parse_status(line, &resp, NULL), 0);
        sk_err_init(&err);
        ck_assert_int_eq(cli_resp_error(&resp, &err), map[i].rc);
        ck_assert_str_eq(err.msg, "pods \"web\" said no");
        api_resp_release(&resp);
    }
}
END_TEST

/* ---- manifests ---- */

static char *
write_tmp(const char *dir, const char *name, const char *text)
{
    char *path = NULL;
    FILE *fp;

    ck_assert_int_ge(asprintf(&path, "%s/%s", dir, name), 0);
    fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs(text, fp);
    fclose(fp);
    return path;
}

START_TEST(manifest_directory_in_name_order_multi_doc_and_json)
{
    char *dir = NULL, *p1, *p2, *p3, *p4;
    struct cli_objs docs = {0};
    struct sk_err err;

    ck_assert_int_ge(asprintf(&dir, "%s/m1", unit_tmpdir()), 0);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    p1 = write_tmp(dir, "b.yaml",
                   "apiVersion: v1\nkind: Pod\nmetadata: {name: b1}\n---\n"
                   "apiVersion: v1\nkind: Pod\nmetadata: {name: b2}\n");
    p2 = write_tmp(dir, "a.json",
                   "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
                   "\"metadata\":{\"name\":\"a\"}}");
    p3 = write_tmp(dir, "c.txt", "not a manifest");
    p4 = write_tmp(dir, "d.yml",
                   "kind: List\napiVersion: v1\nitems:\n- {apiVersion: v1, kind: "
                   "Secret, metadata: {name: d}}\n");
    sk_err_init(&err);
    ck_assert_int_eq(cli_manifest_read(dir, &docs, &err), 0);
    ck_assert_uint_eq(docs.n, 4);
    ck_assert_str_eq(api_meta_name(docs.items[0]), "a");
    ck_assert_str_eq(api_meta_name(docs.items[1]), "b1");
    ck_assert_str_eq(api_meta_name(docs.items[2]), "b2");
    ck_assert_str_eq(api_meta_name(docs.items[3]), "d");
    cli_objs_release(&docs);
    free(p1), free(p2), free(p3), free(p4), free(dir);
}
END_TEST

START_TEST(manifest_errors_name_the_file)
{
    char *p = write_tmp(unit_tmpdir(), "bad.yaml", "kind: Pod\n  bad: [\n");
    struct cli_objs docs = {0};
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_lt(cli_manifest_read(p, &docs, &err), 0);
    ck_assert_msg(strstr(err.msg, "bad.yaml") && strstr(err.msg, "line"), "got '%s'", err.msg);
    ck_assert_uint_eq(docs.n, 0);
    sk_err_init(&err);
    ck_assert_int_eq(cli_manifest_read("/nonexistent/x.yaml", &docs, &err), -ENOENT);
    ck_assert_msg(strstr(err.msg, "open '/nonexistent/x.yaml'"), "got '%s'", err.msg);
    free(p);
}
END_TEST

START_TEST(manifest_namespace_defaults_and_conflicts)
{
    json_t *pod = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "Pod", "metadata",
                            "name", "web");
    json_t *node = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "Node", "metadata",
                             "name", "n1");
    json_t *bad = json_pack("{s:s,s:s}", "apiVersion", "v1", "kind", "Frob");
    const struct api_kind *k;
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_eq(cli_manifest_namespace(pod, "dev", false, &k, &err), 0);
    ck_assert_str_eq(api_meta_namespace(pod), "dev");
    ck_assert_int_eq(cli_manifest_namespace(pod, "prod", false, &k, &err), 0);
    ck_assert_str_eq(api_meta_namespace(pod), "dev");
    ck_assert_int_eq(cli_manifest_namespace(pod, "prod", true, &k, &err), -EINVAL);
    ck_assert_msg(strstr(err.msg, "does not match the namespace \"prod\""), "got '%s'", err.msg);
    ck_assert_int_eq(cli_manifest_namespace(node, "dev", true, &k, &err), 0);
    ck_assert_str_eq(api_meta_namespace(node), "");
    ck_assert_str_eq(k->kind, "Node");
    ck_assert_int_eq(cli_manifest_namespace(bad, "dev", false, &k, &err), -EBADMSG);
    json_decref(pod);
    json_decref(node);
    json_decref(bad);
}
END_TEST

static Suite *
suite(void)
{
    Suite *s = suite_create("cli_args");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, flags_mixed_with_arguments_in_any_order);
    tcase_add_test(tc, flags_defaults);
    tcase_add_test(tc, flags_values_parsed);
    tcase_add_test(tc, flags_double_dash_ends_flags);
    tcase_add_test(tc, logs_dash_f_is_follow);
    tcase_add_loop_test(tc, flags_malformed_are_usage_errors, 0,
                        sizeof(bad_flags) / sizeof(bad_flags[0]));
    tcase_add_test(tc, namespace_precedence);
    tcase_add_test(tc, refs_type_alone_lists);
    tcase_add_test(tc, refs_several_types_and_names);
    tcase_add_test(tc, refs_slash_form);
    tcase_add_test(tc, refs_all_expands);
    tcase_add_loop_test(tc, refs_malformed, 0, sizeof(bad_refs) / sizeof(bad_refs[0]));
    tcase_add_test(tc, words_are_percent_encoded);
    tcase_add_test(tc, json_word_is_raw_compact);
    tcase_add_test(tc, status_words);
    tcase_add_test(tc, exit_statuses);
    tcase_add_test(tc, server_errors_map_to_codes);
    tcase_add_test(tc, manifest_directory_in_name_order_multi_doc_and_json);
    tcase_add_test(tc, manifest_errors_name_the_file);
    tcase_add_test(tc, manifest_namespace_defaults_and_conflicts);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return unit_main(suite());
}
