/* kubelet/lifecycle: parsing container.lifecycle.postStart/preStop. */
#include "kubelet/kubelet.h"
#include "unit.h"

#include <errno.h>
#include <string.h>

static json_t *
J(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);

    if (!v)
        ck_abort_msg("bad test json: %s: %s", e.text, text);
    return v;
}

START_TEST(absent_hooks_are_none)
{
    static const char *const ctrs[] = {
        "{\"name\":\"c\"}",
        "{\"lifecycle\":{}}",
        "{\"lifecycle\":null}",
        "{\"lifecycle\":{\"postStart\":{\"exec\":{\"command\":[\"true\"]}}}}",
    };
    struct kl_hook h;
    struct sk_err err;

    for (size_t i = 0; i < sizeof(ctrs) / sizeof(ctrs[0]); i++) {
        json_t *c = J(ctrs[i]);

        sk_err_init(&err);
        ck_assert_msg(kl_hook_parse(c, "spec.containers[0]", KL_HOOK_PRE_STOP, &h, &err) == 0,
                      "%s: %s", ctrs[i], err.msg);
        ck_assert_int_eq(h.handler, KL_HOOK_NONE);
        json_decref(c);
    }
}
END_TEST

START_TEST(each_handler_is_parsed)
{
    json_t *c = J("{\"ports\":[{\"name\":\"http\",\"containerPort\":8080}],\"lifecycle\":{"
                  "\"postStart\":{\"exec\":{\"command\":[\"sh\",\"-c\",\"echo hi\"]}},"
                  "\"preStop\":{\"httpGet\":{\"path\":\"/quit\",\"port\":\"http\",\"host\":"
                  "\"10.0.0.1\",\"httpHeaders\":[{\"name\":\"X\",\"value\":\"y\"}]}}}}");
    json_t *s = J("{\"lifecycle\":{\"preStop\":{\"sleep\":{\"seconds\":5}}}}");
    json_t *t = J("{\"lifecycle\":{\"preStop\":{\"tcpSocket\":{\"port\":80}}}}");
    struct kl_hook h;
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_eq(kl_hook_parse(c, "p", KL_HOOK_POST_START, &h, &err), 0);
    ck_assert_int_eq(h.handler, KL_HOOK_EXEC);
    ck_assert_uint_eq(json_array_size(h.exec_command), 3);
    ck_assert_int_eq(kl_hook_parse(c, "p", KL_HOOK_PRE_STOP, &h, &err), 0);
    ck_assert_int_eq(h.handler, KL_HOOK_HTTP);
    ck_assert_int_eq(h.port, 8080);
    ck_assert_str_eq(h.http_path, "/quit");
    ck_assert_str_eq(h.http_host, "10.0.0.1");
    ck_assert_uint_eq(json_array_size(h.http_headers), 1);
    ck_assert_int_eq(kl_hook_parse(s, "p", KL_HOOK_PRE_STOP, &h, &err), 0);
    ck_assert_int_eq(h.handler, KL_HOOK_SLEEP);
    ck_assert_int_eq(h.sleep_s, 5);
    /* tcpSocket: accepted, does nothing (as Kubernetes' kubelet) */
    ck_assert_int_eq(kl_hook_parse(t, "p", KL_HOOK_PRE_STOP, &h, &err), 0);
    ck_assert_int_eq(h.handler, KL_HOOK_NONE);
    ck_assert_str_eq(kl_hook_name(KL_HOOK_PRE_STOP), "PreStop");
    ck_assert_str_eq(kl_hook_name(KL_HOOK_POST_START), "PostStart");
    json_decref(c);
    json_decref(s);
    json_decref(t);
}
END_TEST

START_TEST(malformed_hooks_name_the_field)
{
    static const struct {
        const char *ctr, *want;
        int code;
    } t[] = {
        {"{\"lifecycle\":[]}", "spec.containers[0].lifecycle: must be an object", EINVAL},
        {"{\"lifecycle\":{\"preStop\":\"x\"}}", "spec.containers[0].lifecycle.preStop:", EINVAL},
        {"{\"lifecycle\":{\"preStop\":{}}}",
         "spec.containers[0].lifecycle.preStop: must have exactly one of", EINVAL},
        {"{\"lifecycle\":{\"preStop\":{\"exec\":{\"command\":[\"x\"]},\"sleep\":{\"seconds\":1}}}}",
         "spec.containers[0].lifecycle.preStop: must have exactly one of", EINVAL},
        {"{\"lifecycle\":{\"preStop\":{\"exec\":{}}}}",
         "spec.containers[0].lifecycle.preStop.exec.command: required", EINVAL},
        {"{\"lifecycle\":{\"preStop\":{\"exec\":{\"command\":[\"a\",2]}}}}",
         "spec.containers[0].lifecycle.preStop.exec.command[1]: must be a string", EINVAL},
        {"{\"lifecycle\":{\"preStop\":{\"httpGet\":{\"port\":\"web\"}}}}",
         "spec.containers[0].lifecycle.preStop.httpGet.port: no container port named 'web'",
         ENOENT},
        {"{\"lifecycle\":{\"preStop\":{\"httpGet\":{\"port\":0}}}}",
         "spec.containers[0].lifecycle.preStop.httpGet.port: must be 1-65535", ERANGE},
        {"{\"lifecycle\":{\"preStop\":{\"httpGet\":{\"port\":80,\"scheme\":\"HTTPS\"}}}}",
         "spec.containers[0].lifecycle.preStop.httpGet.scheme: only HTTP", ENOTSUP},
        {"{\"lifecycle\":{\"preStop\":{\"httpGet\":{\"port\":80,\"httpHeaders\":[{\"name\":1}]}}}}",
         "spec.containers[0].lifecycle.preStop.httpGet.httpHeaders[0]: needs string", EINVAL},
        {"{\"lifecycle\":{\"preStop\":{\"sleep\":{}}}}",
         "spec.containers[0].lifecycle.preStop.sleep.seconds: required", EINVAL},
        {"{\"lifecycle\":{\"preStop\":{\"sleep\":{\"seconds\":-3}}}}",
         "spec.containers[0].lifecycle.preStop.sleep.seconds: must not be negative", ERANGE},
    };
    struct kl_hook h;
    struct sk_err err;

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        json_t *c = J(t[i].ctr);

        sk_err_init(&err);
        ck_assert_msg(kl_hook_parse(c, "spec.containers[0]", KL_HOOK_PRE_STOP, &h, &err) < 0,
                      "%s: accepted", t[i].ctr);
        ck_assert_msg(strncmp(err.msg, t[i].want, strlen(t[i].want)) == 0, "%s: got '%s'", t[i].ctr,
                      err.msg);
        ck_assert_msg(err.code == t[i].code, "%s: code %d", t[i].ctr, err.code);
        ck_assert_int_eq(h.handler, KL_HOOK_NONE);
        json_decref(c);
    }
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("kubelet_lifecycle");
    TCase *tc = tcase_create("core");

    suite_add_tcase(s, tc);
    tcase_add_test(tc, absent_hooks_are_none);
    tcase_add_test(tc, each_handler_is_parsed);
    tcase_add_test(tc, malformed_hooks_name_the_field);
    return unit_main(s);
}
