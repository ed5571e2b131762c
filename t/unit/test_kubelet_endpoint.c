/* kubelet/endpoint_proto.c and logs.c: the agent endpoint's keys,
 * proofs and request lines, and log text with timestamps. */
#include "kubelet/kubelet.h"
#include "lib/alloc.h"
#include "unit.h"

#include <errno.h>
#include <string.h>

/* Vectors from openssl(1), as skiffd.conf(5) tells operators to make
 * the node keys:
 *   printf 'skiff-agent-endpoint:%s' n1 | openssl dgst -sha256 -hmac master-key */
#define N1_KEY "3cfddd67610a07c169928d9de75ca04cf3c0399dbdcc8a384cb2565b57be7ed5"
#define NONCE  "00112233445566778899aabbccddeeff"
#define MAC    "f654014a7bbeb40124132c3e8fc9401a6d2ed520ccbfcf278b82b6d6f728671a"

START_TEST(node_keys_and_proofs_match_openssl)
{
    char key[KL_EP_MAC_HEX], mac[KL_EP_MAC_HEX];

    kl_ep_key_derive("master-key", 10, "n1", key);
    ck_assert_str_eq(key, N1_KEY);
    kl_ep_mac(key, NONCE, "logs default web", mac);
    ck_assert_str_eq(mac, MAC);
}
END_TEST

START_TEST(a_proof_holds_only_for_its_key_nonce_and_request)
{
    char other[KL_EP_MAC_HEX];

    ck_assert(kl_ep_mac_ok(N1_KEY, NONCE, "logs default web", MAC));
    kl_ep_key_derive("master-key", 10, "n2", other);
    ck_assert(!kl_ep_mac_ok(other, NONCE, "logs default web", MAC));
    ck_assert(!kl_ep_mac_ok(N1_KEY, "00112233445566778899aabbccddeef0", "logs default web", MAC));
    ck_assert(!kl_ep_mac_ok(N1_KEY, NONCE, "exec default web -- sh", MAC));
    ck_assert(!kl_ep_mac_ok(N1_KEY, NONCE, "logs default web", "f654"));
    ck_assert(!kl_ep_mac_ok(N1_KEY, NONCE, "logs default web", ""));
    ck_assert(!kl_ep_mac_ok(N1_KEY, NONCE, "logs default web", NULL));
    ck_assert(!kl_ep_mac_ok("", NONCE, "logs default web", MAC));
    ck_assert(!kl_ep_mac_ok(NULL, NONCE, "logs default web", MAC));
}
END_TEST

START_TEST(nonces_are_fresh_hex)
{
    char a[KL_EP_NONCE_HEX], b[KL_EP_NONCE_HEX];
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_eq(kl_ep_nonce(a, &err), 0);
    ck_assert_int_eq(kl_ep_nonce(b, &err), 0);
    ck_assert_uint_eq(strlen(a), 32);
    ck_assert_uint_eq(strspn(a, "0123456789abcdef"), 32);
    ck_assert_str_ne(a, b);
}
END_TEST

static const struct {
    const char *line;
    int rc;
    const char *ns, *pod, *ctr;
    bool previous, follow, timestamps;
    int64_t tail;
    const char *argv; /* joined by '|' */
    const char *msg;
} req_cases[] = {
    {"logs default web", 0, "default", "web", NULL, false, false, false, -1, NULL, NULL},
    {"logs kube-system dns container=c previous tail=10 timestamps", 0, "kube-system", "dns", "c",
     true, false, true, 10, NULL, NULL},
    {"logs default web follow tail=0", 0, "default", "web", NULL, false, true, false, 0, NULL,
     NULL},
    {"exec default web -- sh -c echo%20hi", 0, "default", "web", NULL, false, false, false, -1,
     "sh|-c|echo hi", NULL},
    {"exec default web container=side -- ls", 0, "default", "web", "side", false, false, false, -1,
     "ls", NULL},
    {"exec default web -- a -- b", 0, "default", "web", NULL, false, false, false, -1, "a|--|b",
     NULL},
    {"logs default", -EBADMSG, NULL, NULL, NULL, false, false, false, -1, NULL, "usage: logs"},
    {"logs", -EBADMSG, NULL, NULL, NULL, false, false, false, -1, NULL, "usage: logs"},
    {"logs default web tail=-1", -EBADMSG, NULL, NULL, NULL, false, false, false, -1, NULL,
     "not a count"},
    {"logs default web tail=x", -EBADMSG, NULL, NULL, NULL, false, false, false, -1, NULL,
     "not a count"},
    {"logs default web tail=99999999999999999999", -EBADMSG, NULL, NULL, NULL, false, false, false,
     -1, NULL, "not a count"},
    {"logs default web bogus", -EBADMSG, NULL, NULL, NULL, false, false, false, -1, NULL,
     "unknown option 'bogus'"},
    {"logs default web -- ls", -EBADMSG, NULL, NULL, NULL, false, false, false, -1, NULL,
     "unknown option '--'"},
    {"exec default web", -EBADMSG, NULL, NULL, NULL, false, false, false, -1, NULL, "usage: exec"},
    {"exec default web --", -EBADMSG, NULL, NULL, NULL, false, false, false, -1, NULL,
     "usage: exec"},
    {"exec default web follow -- ls", -EBADMSG, NULL, NULL, NULL, false, false, false, -1, NULL,
     "unknown option 'follow'"},
    {"exec default web -- ls%zz", -EBADMSG, NULL, NULL, NULL, false, false, false, -1, NULL,
     "malformed"},
    {"attach default web", -EBADMSG, NULL, NULL, NULL, false, false, false, -1, NULL,
     "unknown request"},
    {"", -EBADMSG, NULL, NULL, NULL, false, false, false, -1, NULL, "unknown request"},
};

START_TEST(request_lines_parse_or_name_the_problem)
{
    struct kl_ep_req r;
    struct sk_err err;
    int rc;

    sk_err_init(&err);
    rc = kl_ep_req_parse(req_cases[_i].line, &r, &err);
    ck_assert_msg(rc == req_cases[_i].rc, "case %d '%s': rc %d (%s)", _i, req_cases[_i].line, rc,
                  err.msg);
    if (rc < 0) {
        ck_assert_msg(strstr(err.msg, req_cases[_i].msg), "case %d: '%s'", _i, err.msg);
        kl_ep_req_release(&r);
        return;
    }
    ck_assert_str_eq(r.ns, req_cases[_i].ns);
    ck_assert_str_eq(r.pod, req_cases[_i].pod);
    if (req_cases[_i].ctr)
        ck_assert_str_eq(r.container, req_cases[_i].ctr);
    else
        ck_assert_ptr_null(r.container);
    ck_assert(r.previous == req_cases[_i].previous);
    ck_assert(r.follow == req_cases[_i].follow);
    ck_assert(r.timestamps == req_cases[_i].timestamps);
    ck_assert_int_eq(r.tail, req_cases[_i].tail);
    if (req_cases[_i].argv) {
        struct sk_buf joined = SK_BUF_INIT;

        for (size_t k = 0; k < r.argc; k++)
            sk_buf_printf(&joined, "%s%s", k ? "|" : "", r.argv[k]);
        ck_assert_str_eq(joined.data, req_cases[_i].argv);
        ck_assert_ptr_null(r.argv[r.argc]);
        sk_buf_release(&joined);
    } else {
        ck_assert_ptr_null(r.argv);
    }
    kl_ep_req_release(&r);
}
END_TEST

START_TEST(too_many_words_are_refused)
{
    struct sk_buf line = SK_BUF_INIT;
    struct kl_ep_req r;
    struct sk_err err;

    sk_buf_puts(&line, "exec default web --");
    for (int i = 0; i < KL_EP_MAX_WORDS + 5; i++)
        sk_buf_puts(&line, " x");
    sk_err_init(&err);
    ck_assert_int_eq(kl_ep_req_parse(line.data, &r, &err), -EBADMSG);
    kl_ep_req_release(&r);
    sk_buf_release(&line);
}
END_TEST

START_TEST(log_lines_with_timestamps_take_the_first_record_time)
{
    static const char text[] = "2026-01-01T00:00:00.1Z stdout F one\n"
                               "2026-01-01T00:00:01.2Z stdout P par\n"
                               "2026-01-01T00:00:01.3Z stdout F tial\n"
                               "garbage\n"
                               "2026-01-01T00:00:02.4Z stderr F two\n";
    struct sk_buf out = SK_BUF_INIT;

    ck_assert_uint_eq(kl_cri_log_lines_ts(text, sizeof(text) - 1, -1, true, &out), 3);
    ck_assert_str_eq(out.data, "2026-01-01T00:00:00.1Z one\n"
                               "2026-01-01T00:00:01.2Z partial\n"
                               "2026-01-01T00:00:02.4Z two\n");
    sk_buf_reset(&out);
    ck_assert_uint_eq(kl_cri_log_lines_ts(text, sizeof(text) - 1, 1, false, &out), 1);
    ck_assert_str_eq(out.data, "two\n");
    sk_buf_release(&out);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("kubelet_endpoint");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, node_keys_and_proofs_match_openssl);
    tcase_add_test(tc, a_proof_holds_only_for_its_key_nonce_and_request);
    tcase_add_test(tc, nonces_are_fresh_hex);
    tcase_add_loop_test(tc, request_lines_parse_or_name_the_problem, 0,
                        (int)(sizeof(req_cases) / sizeof(req_cases[0])));
    tcase_add_test(tc, too_many_words_are_refused);
    tcase_add_test(tc, log_lines_with_timestamps_take_the_first_record_time);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
