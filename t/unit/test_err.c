/* lib/err, lib/buf, lib/alloc: the error contract and buffers. */
#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "unit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

START_TEST(set_returns_negative_code_and_formats)
{
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_eq(sk_err_set(&err, EINVAL, "field '%s': required", "spec"), -EINVAL);
    ck_assert_int_eq(err.code, EINVAL);
    ck_assert_str_eq(err.msg, "field 'spec': required");
}
END_TEST

START_TEST(sys_appends_strerror)
{
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_eq(sk_err_sys(&err, ENOENT, "open '%s'", "/x"), -ENOENT);
    ck_assert_str_eq(err.msg, "open '/x': No such file or directory");
}
END_TEST

START_TEST(wrap_prefixes_context_outermost_first)
{
    struct sk_err err;

    sk_err_init(&err);
    sk_err_set(&err, EBADMSG, "crc mismatch");
    sk_err_wrap(&err, "record at offset %d", 8192);
    ck_assert_int_eq(sk_err_wrap(&err, "segment '%s'", "log/42.seg"), -EBADMSG);
    ck_assert_str_eq(err.msg, "segment 'log/42.seg': record at offset 8192: crc mismatch");
}
END_TEST

START_TEST(wrap_of_unset_error_uses_eio)
{
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_eq(sk_err_wrap(&err, "context"), -EIO);
    ck_assert_str_eq(err.msg, "context");
}
END_TEST

START_TEST(wrap_keeps_outer_context_when_too_long)
{
    struct sk_err err;
    char big[2 * SK_ERR_MSG_MAX];

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    sk_err_init(&err);
    sk_err_set(&err, EIO, "%s", big);
    sk_err_wrap(&err, "outer");
    ck_assert(strncmp(err.msg, "outer: xxx", 10) == 0);
    ck_assert_uint_eq(strlen(err.msg), SK_ERR_MSG_MAX - 1);
}
END_TEST

START_TEST(null_err_is_allowed)
{
    ck_assert_int_eq(sk_err_set(NULL, EPERM, "x"), -EPERM);
    ck_assert_int_eq(sk_err_wrap(NULL, "x"), -EIO);
}
END_TEST

START_TEST(buf_appends_and_stays_terminated)
{
    struct sk_buf buf = SK_BUF_INIT;
    char *s;
    size_t len;
    int i;

    for (i = 0; i < 1000; i++)
        sk_buf_printf(&buf, "%d,", i % 10);
    ck_assert_uint_eq(buf.len, 2000);
    ck_assert_int_eq(buf.data[buf.len], '\0');
    sk_buf_consume(&buf, 1990);
    ck_assert_str_eq(buf.data, "5,6,7,8,9,");
    sk_buf_truncate(&buf, 4);
    ck_assert_str_eq(buf.data, "5,6,");
    sk_buf_append(&buf, "a\0b", 3);
    ck_assert_uint_eq(buf.len, 7);
    s = sk_buf_detach(&buf, &len);
    ck_assert_uint_eq(len, 7);
    ck_assert_ptr_null(buf.data);
    free(s);
    s = sk_buf_detach(&buf, NULL);
    ck_assert_str_eq(s, "");
    free(s);
    sk_buf_release(&buf);
}
END_TEST

START_TEST(strlcpy_and_snprintf_report_truncation)
{
    char small[4];

    ck_assert_int_eq(sk_strlcpy(small, "abc", sizeof(small)), 0);
    ck_assert_int_eq(sk_strlcpy(small, "abcd", sizeof(small)), -1);
    ck_assert_str_eq(small, "abc");
    ck_assert_int_eq(sk_snprintf(small, sizeof(small), "%d", 123), 0);
    ck_assert_int_eq(sk_snprintf(small, sizeof(small), "%d", 1234), -1);
    ck_assert_str_eq(small, "123");
    ck_assert(sk_startswith("/registry/pods", "/registry/"));
    ck_assert(!sk_startswith("/reg", "/registry/"));
}
END_TEST

START_TEST(asprintf_and_strndup)
{
    char *s = sk_asprintf("%s-%d", "pod", 7);
    char *t = sk_strndup("abcdef", 3);

    ck_assert_str_eq(s, "pod-7");
    ck_assert_str_eq(t, "abc");
    free(s);
    free(t);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("err");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, set_returns_negative_code_and_formats);
    tcase_add_test(tc, sys_appends_strerror);
    tcase_add_test(tc, wrap_prefixes_context_outermost_first);
    tcase_add_test(tc, wrap_of_unset_error_uses_eio);
    tcase_add_test(tc, wrap_keeps_outer_context_when_too_long);
    tcase_add_test(tc, null_err_is_allowed);
    tcase_add_test(tc, buf_appends_and_stays_terminated);
    tcase_add_test(tc, strlcpy_and_snprintf_report_truncation);
    tcase_add_test(tc, asprintf_and_strndup);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
