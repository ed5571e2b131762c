/* kubelet/exec_frame.c and the exec options of endpoint_proto.c: the
 * frames of an interactive exec (stdin, stdin-eof, resize, stdout,
 * stderr, exit) and `exec ... stdin tty rows= cols=`. */
#include "kubelet/kubelet.h"
#include "lib/alloc.h"
#include "unit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Encode then parse: the bytes come back, whatever they are. */
static void
round_trip(const char *tag, const void *data, size_t len, enum kl_frame_type type)
{
    struct sk_buf line = SK_BUF_INIT;
    struct kl_frame f;
    struct sk_err err;

    kl_frame_put_data(&line, tag, data, len);
    ck_assert_uint_gt(line.len, 0);
    ck_assert_int_eq(line.data[line.len - 1], '\n');
    ck_assert_ptr_null(memchr(line.data, '\n', line.len - 1));
    ck_assert_ptr_null(memchr(line.data, '\0', line.len));
    line.data[--line.len] = '\0';
    sk_err_init(&err);
    ck_assert_msg(kl_frame_parse(line.data, &f, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(f.type, type);
    ck_assert_uint_eq(f.len, len);
    ck_assert(len == 0 || memcmp(f.data, data, len) == 0);
    sk_buf_release(&line);
}

START_TEST(data_frames_carry_any_bytes_of_any_length)
{
    unsigned char buf[KL_FRAME_CHUNK];

    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (unsigned char)(i * 7 + (i >> 8));
    for (size_t n = 0; n < 8; n++)
        round_trip("stdin", buf, n, KL_FRAME_STDIN);
    round_trip("stdout", "\0\n\r\xff", 4, KL_FRAME_STDOUT);
    round_trip("stderr", "no newline", 10, KL_FRAME_STDERR);
    round_trip("stdin", buf, sizeof(buf), KL_FRAME_STDIN);
    round_trip("stdout", buf, sizeof(buf) - 1, KL_FRAME_STDOUT);
}
END_TEST

START_TEST(frames_encode_as_the_manual_shows)
{
    struct sk_buf line = SK_BUF_INIT;

    kl_frame_put_data(&line, "stdin", "hi\n", 3);
    kl_frame_put_data(&line, "stdout", "a", 1);
    kl_frame_put_data(&line, "stdin", "", 0);
    ck_assert_str_eq(line.data, "stdin aGkK\nstdout YQ==\nstdin \n");
    sk_buf_release(&line);
}
END_TEST

static const struct {
    const char *line;
    int rc;
    enum kl_frame_type type;
    unsigned rows, cols;
    int status;
    const char *msg;
} frame_cases[] = {
    {"stdin-eof", 0, KL_FRAME_STDIN_EOF, 0, 0, 0, NULL},
    {"resize 24 80", 0, KL_FRAME_RESIZE, 24, 80, 0, NULL},
    {"resize 65535 1", 0, KL_FRAME_RESIZE, 65535, 1, 0, NULL},
    {"exit 0", 0, KL_FRAME_EXIT, 0, 0, 0, NULL},
    {"exit 137", 0, KL_FRAME_EXIT, 0, 0, 137, NULL},
    {"resize 0 80", -EBADMSG, 0, 0, 0, 0, "resize"},
    {"resize 24", -EBADMSG, 0, 0, 0, 0, "resize"},
    {"resize 24 80 1", -EBADMSG, 0, 0, 0, 0, "resize"},
    {"resize 65536 80", -EBADMSG, 0, 0, 0, 0, "resize"},
    {"resize -1 80", -EBADMSG, 0, 0, 0, 0, "resize"},
    {"resize 24 x", -EBADMSG, 0, 0, 0, 0, "resize"},
    {"exit 256", -EBADMSG, 0, 0, 0, 0, "exit"},
    {"exit", -EBADMSG, 0, 0, 0, 0, "unknown frame"},
    {"exit x", -EBADMSG, 0, 0, 0, 0, "exit"},
    {"stdin aGk", -EBADMSG, 0, 0, 0, 0, "base64"},
    {"stdin a=Gk", -EBADMSG, 0, 0, 0, 0, "base64"},
    {"stdin YQ==YQ==", -EBADMSG, 0, 0, 0, 0, "base64"},
    {"stdin ====", -EBADMSG, 0, 0, 0, 0, "base64"},
    {"stdin a*Gk", -EBADMSG, 0, 0, 0, 0, "base64"},
    {"stdin", -EBADMSG, 0, 0, 0, 0, "unknown frame"},
    {"stdinx aGkK", -EBADMSG, 0, 0, 0, 0, "unknown frame"},
    {"stdin-eof now", -EBADMSG, 0, 0, 0, 0, "unknown frame"},
    {"1 text", -EBADMSG, 0, 0, 0, 0, "unknown frame"},
    {"", -EBADMSG, 0, 0, 0, 0, "unknown frame"},
};

START_TEST(control_frames_parse_or_name_the_problem)
{
    char *line = sk_strdup(frame_cases[_i].line);
    struct kl_frame f;
    struct sk_err err;
    int rc;

    sk_err_init(&err);
    rc = kl_frame_parse(line, &f, &err);
    ck_assert_msg(rc == frame_cases[_i].rc, "case %d '%s': rc %d (%s)", _i, frame_cases[_i].line,
                  rc, err.msg);
    if (rc < 0) {
        ck_assert_msg(strstr(err.msg, frame_cases[_i].msg), "case %d: '%s'", _i, err.msg);
    } else {
        ck_assert_int_eq(f.type, frame_cases[_i].type);
        ck_assert_uint_eq(f.rows, frame_cases[_i].rows);
        ck_assert_uint_eq(f.cols, frame_cases[_i].cols);
        ck_assert_int_eq(f.status, frame_cases[_i].status);
    }
    free(line);
}
END_TEST

START_TEST(an_oversized_data_frame_is_refused)
{
    size_t n = (KL_FRAME_CHUNK + 2) / 3 * 4 + 4;
    char *line = sk_malloc(n + 8);
    struct kl_frame f;
    struct sk_err err;

    memcpy(line, "stdin ", 6);
    memset(line + 6, 'A', n);
    line[6 + n] = '\0';
    sk_err_init(&err);
    ck_assert_int_eq(kl_frame_parse(line, &f, &err), -EBADMSG);
    ck_assert(strstr(err.msg, "oversized"));
    free(line);
}
END_TEST

static const struct {
    const char *line;
    int rc;
    bool in, tty;
    unsigned rows, cols;
    const char *msg;
} opt_cases[] = {
    {"exec default web -- ls", 0, false, false, 0, 0, NULL},
    {"exec default web stdin -- cat", 0, true, false, 0, 0, NULL},
    {"exec default web stdin tty rows=24 cols=80 -- sh", 0, true, true, 24, 80, NULL},
    {"exec default web tty -- sh", 0, false, true, 0, 0, NULL},
    {"exec default web tty rows=0 -- sh", -EBADMSG, false, false, 0, 0, "rows"},
    {"exec default web tty cols=65536 -- sh", -EBADMSG, false, false, 0, 0, "cols"},
    {"exec default web tty rows=+5 -- sh", -EBADMSG, false, false, 0, 0, "rows"},
    {"exec default web tty rows= -- sh", -EBADMSG, false, false, 0, 0, "rows"},
    {"logs default web stdin", -EBADMSG, false, false, 0, 0, "unknown option 'stdin'"},
    {"logs default web tty", -EBADMSG, false, false, 0, 0, "unknown option 'tty'"},
};

START_TEST(exec_options_stdin_tty_and_size)
{
    struct kl_ep_req r;
    struct sk_err err;
    int rc;

    sk_err_init(&err);
    rc = kl_ep_req_parse(opt_cases[_i].line, &r, &err);
    ck_assert_msg(rc == opt_cases[_i].rc, "case %d '%s': rc %d (%s)", _i, opt_cases[_i].line, rc,
                  err.msg);
    if (rc < 0) {
        ck_assert_msg(strstr(err.msg, opt_cases[_i].msg), "case %d: '%s'", _i, err.msg);
    } else {
        ck_assert(r.stdin_open == opt_cases[_i].in);
        ck_assert(r.tty == opt_cases[_i].tty);
        ck_assert_uint_eq(r.rows, opt_cases[_i].rows);
        ck_assert_uint_eq(r.cols, opt_cases[_i].cols);
    }
    kl_ep_req_release(&r);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("kubelet_exec_frame");
    TCase *tc = tcase_create("frames");

    tcase_add_test(tc, data_frames_carry_any_bytes_of_any_length);
    tcase_add_test(tc, frames_encode_as_the_manual_shows);
    tcase_add_loop_test(tc, control_frames_parse_or_name_the_problem, 0,
                        (int)(sizeof(frame_cases) / sizeof(frame_cases[0])));
    tcase_add_test(tc, an_oversized_data_frame_is_refused);
    tcase_add_loop_test(tc, exec_options_stdin_tty_and_size, 0,
                        (int)(sizeof(opt_cases) / sizeof(opt_cases[0])));
    suite_add_tcase(s, tc);
    return unit_main(s);
}
