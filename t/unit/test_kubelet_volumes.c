/* kubelet: configMap/secret volumes and references (podrefs.c,
 * podfiles_project.c, podspec_env.c): which objects a pod needs, how
 * they are projected and updated, and the errors for missing ones. */
#include "kubelet/kubelet.h"
#include "lib/alloc.h"
#include "unit.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static json_t *
J(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);

    if (!v)
        ck_abort_msg("bad test json: %s: %s", e.text, text);
    return v;
}

static char *
slurp(const char *dir, const char *name)
{
    char *path = sk_asprintf("%s/%s", dir, name), buf[4096];
    FILE *f = fopen(path, "r");
    size_t n;

    free(path);
    if (!f)
        return NULL;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return sk_strdup(buf);
}

static bool
exists(const char *dir, const char *name)
{
    char *path = sk_asprintf("%s/%s", dir, name);
    struct stat st;
    bool r = lstat(path, &st) == 0;

    free(path);
    return r;
}

static const struct {
    const char *pod, *cms, *secs;
} ref_cases[] = {
    {"{}", "[]", "[]"},
    {"{\"spec\":{\"volumes\":[{\"name\":\"a\",\"configMap\":{\"name\":\"cfg\"}},"
     "{\"name\":\"b\",\"secret\":{\"secretName\":\"tls\"}},{\"name\":\"c\",\"emptyDir\":{}}]}}",
     "[\"cfg\"]", "[\"tls\"]"},
    /* every source, each name once, init containers too */
    {"{\"spec\":{\"initContainers\":[{\"name\":\"i\",\"envFrom\":[{\"secretRef\":{\"name\":\"s1\"}}"
     "]}],"
     "\"containers\":[{\"name\":\"c\",\"env\":[{\"name\":\"A\",\"valueFrom\":{\"configMapKeyRef\":"
     "{\"name\":\"cfg\",\"key\":\"k\"}}},{\"name\":\"B\",\"valueFrom\":{\"secretKeyRef\":"
     "{\"name\":\"s1\",\"key\":\"k\"}}},{\"name\":\"C\",\"value\":\"x\"}],"
     "\"envFrom\":[{\"configMapRef\":{\"name\":\"cfg\"}},{\"configMapRef\":{\"name\":\"more\"}}]}],"
     "\"volumes\":[{\"name\":\"v\",\"configMap\":{\"name\":\"cfg\"}}]}}",
     "[\"cfg\",\"more\"]", "[\"s1\"]"},
    /* malformed entries are skipped, never a crash */
    {"{\"spec\":{\"volumes\":[{\"configMap\":{\"name\":7}},{\"secret\":\"x\"},3,"
     "{\"configMap\":{\"name\":\"\"}}],\"containers\":[{\"env\":[{\"valueFrom\":[]}],"
     "\"envFrom\":{\"configMapRef\":1}},\"bad\"]}}",
     "[]", "[]"},
    {"[1,2]", "[]", "[]"},
};

START_TEST(ref_names_collect_every_source_once)
{
    json_t *pod = J(ref_cases[_i].pod), *cms = json_array(), *secs = json_array();
    json_t *want_cms = J(ref_cases[_i].cms), *want_secs = J(ref_cases[_i].secs);

    kl_pod_ref_names(pod, cms, secs);
    ck_assert_msg(json_equal(cms, want_cms), "case %d: configmaps", _i);
    ck_assert_msg(json_equal(secs, want_secs), "case %d: secrets", _i);
    json_decref(pod);
    json_decref(cms);
    json_decref(secs);
    json_decref(want_cms);
    json_decref(want_secs);
}
END_TEST

static int
project(const char *vol, const char *cms, const char *dir, struct sk_err *err)
{
    json_t *v = J(vol), *c = J(cms),
           *s = J("[{\"metadata\":{\"name\":\"s\"},"
                  "\"data\":{\"pw\":\"c2VjcmV0\",\"bad\":\"!!\"}}]");
    struct kl_refs refs = {c, s};
    int rc;

    sk_err_init(err);
    rc = kl_volume_project(v, "spec.volumes[0]", &refs, dir, err);
    json_decref(v);
    json_decref(c);
    json_decref(s);
    return rc;
}

START_TEST(an_update_swaps_data_and_drops_removed_keys)
{
    char *dir = sk_asprintf("%s/upd", unit_tmpdir()), *s, link1[PATH_MAX], link2[PATH_MAX];
    const char *vol = "{\"name\":\"v\",\"configMap\":{\"name\":\"cfg\"}}";
    struct sk_err err;
    ssize_t n;

    ck_assert_int_eq(project(vol,
                             "[{\"metadata\":{\"name\":\"cfg\"},\"data\":{\"a\":\"1\","
                             "\"b\":\"2\"}}]",
                             dir, &err),
                     0);
    s = slurp(dir, "a");
    ck_assert_str_eq(s, "1");
    free(s);
    s = sk_asprintf("%s/..data", dir);
    n = readlink(s, link1, sizeof(link1) - 1);
    ck_assert_int_gt(n, 0);
    link1[n] = '\0';
    ck_assert_int_eq(project(vol,
                             "[{\"metadata\":{\"name\":\"cfg\"},\"data\":{\"a\":\"new\","
                             "\"c\":\"3\"}}]",
                             dir, &err),
                     0);
    n = readlink(s, link2, sizeof(link2) - 1);
    ck_assert_int_gt(n, 0);
    link2[n] = '\0';
    free(s);
    ck_assert_str_ne(link1, link2);
    ck_assert(!exists(dir, link1)); /* the old version is gone */
    s = slurp(dir, "a");
    ck_assert_str_eq(s, "new");
    free(s);
    s = slurp(dir, "c");
    ck_assert_str_eq(s, "3");
    free(s);
    ck_assert(!exists(dir, "b")); /* no dangling link for a removed key */
    ck_assert(!exists(dir, "..data_tmp"));
    free(dir);
}
END_TEST

START_TEST(default_mode_and_item_modes_apply)
{
    char *dir = sk_asprintf("%s/modes", unit_tmpdir()), *p;
    struct stat st;
    struct sk_err err;

    ck_assert_int_eq(
        project(
            "{\"name\":\"v\",\"configMap\":{\"name\":\"cfg\",\"defaultMode\":256,"
            "\"items\":[{\"key\":\"a\",\"path\":\"x/a\"},{\"key\":\"b\",\"path\":\"b\","
            "\"mode\":493}]}}",
            "[{\"metadata\":{\"name\":\"cfg\"},\"data\":{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\"}}]",
            dir, &err),
        0);
    p = sk_asprintf("%s/x/a", dir);
    ck_assert_int_eq(stat(p, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0400);
    free(p);
    p = sk_asprintf("%s/b", dir);
    ck_assert_int_eq(stat(p, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0755);
    free(p);
    ck_assert(!exists(dir, "c")); /* items select keys */
    free(dir);
}
END_TEST

static const struct {
    const char *vol, *cms;
    int rc; /* 0, or -errno */
    const char *msg;
} missing_cases[] = {
    {"{\"name\":\"v\",\"configMap\":{\"name\":\"nope\"}}", "[]", -ENOENT,
     "spec.volumes[0].configMap: configmap 'nope' not found"},
    {"{\"name\":\"v\",\"configMap\":{\"name\":\"nope\",\"optional\":true}}", "[]", 0, NULL},
    {"{\"name\":\"v\",\"secret\":{\"secretName\":\"nope\"}}", "[]", -ENOENT,
     "spec.volumes[0].secret: secret 'nope' not found"},
    {"{\"name\":\"v\",\"configMap\":{\"name\":\"cfg\",\"items\":[{\"key\":\"zz\",\"path\":\"z\"}]}"
     "}",
     "[{\"metadata\":{\"name\":\"cfg\"},\"data\":{}}]", -ENOENT,
     "spec.volumes[0].configMap.items[0]: key 'zz' not found in configmap 'cfg'"},
    {"{\"name\":\"v\",\"configMap\":{\"name\":\"cfg\",\"optional\":true,\"items\":[{\"key\":\"zz\","
     "\"path\":\"z\"}]}}",
     "[{\"metadata\":{\"name\":\"cfg\"},\"data\":{}}]", 0, NULL},
    {"{\"name\":\"v\",\"secret\":{\"secretName\":\"s\",\"items\":[{\"key\":\"bad\",\"path\":\"b\"}]"
     "}}",
     "[]", -EINVAL, "key 'bad': bad base64"},
    {"{\"name\":\"v\",\"configMap\":{\"name\":\"cfg\",\"defaultMode\":4096}}",
     "[{\"metadata\":{\"name\":\"cfg\"},\"data\":{\"a\":\"1\"}}]", -ERANGE,
     "mode 4096 out of range"},
    {"{\"name\":\"v\",\"configMap\":{\"name\":\"cfg\",\"items\":[{\"key\":\"a\",\"path\":\"/etc/"
     "x\"}]}}",
     "[{\"metadata\":{\"name\":\"cfg\"},\"data\":{\"a\":\"1\"}}]", -EINVAL, "must be relative"},
    {"{\"name\":\"v\",\"configMap\":{\"name\":\"cfg\",\"items\":[{\"key\":\"a\",\"path\":\".."
     "data\"}]}}",
     "[{\"metadata\":{\"name\":\"cfg\"},\"data\":{\"a\":\"1\"}}]", -EINVAL, "must be relative"},
    {"{\"name\":\"v\",\"configMap\":\"cfg\"}", "[]", -EINVAL, "not a configMap or secret volume"},
};

START_TEST(missing_and_bad_sources_name_the_field)
{
    char *dir = sk_asprintf("%s/miss%d", unit_tmpdir(), _i);
    struct sk_err err;
    int rc = project(missing_cases[_i].vol, missing_cases[_i].cms, dir, &err);

    ck_assert_msg(rc == missing_cases[_i].rc, "case %d: rc %d (%s)", _i, rc, err.msg);
    if (missing_cases[_i].msg)
        ck_assert_msg(strstr(err.msg, missing_cases[_i].msg), "case %d: '%s'", _i, err.msg);
    if (rc == 0) /* optional: an empty volume */
        ck_assert(exists(dir, "..data"));
    free(dir);
}
END_TEST

START_TEST(secret_volume_values_are_decoded)
{
    char *dir = sk_asprintf("%s/sec", unit_tmpdir()), *s;
    struct sk_err err;

    ck_assert_int_eq(project("{\"name\":\"v\",\"secret\":{\"secretName\":\"s\",\"items\":[{\"key\":"
                             "\"pw\",\"path\":\"password\"}]}}",
                             "[]", dir, &err),
                     0);
    s = slurp(dir, "password");
    ck_assert_str_eq(s, "secret");
    free(s);
    free(dir);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("kubelet_volumes");
    TCase *tc = tcase_create("core");

    tcase_add_loop_test(tc, ref_names_collect_every_source_once, 0,
                        (int)(sizeof(ref_cases) / sizeof(ref_cases[0])));
    tcase_add_test(tc, an_update_swaps_data_and_drops_removed_keys);
    tcase_add_test(tc, default_mode_and_item_modes_apply);
    tcase_add_loop_test(tc, missing_and_bad_sources_name_the_field, 0,
                        (int)(sizeof(missing_cases) / sizeof(missing_cases[0])));
    tcase_add_test(tc, secret_volume_values_are_decoded);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
