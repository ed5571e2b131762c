/* lib/log: levels, formats and the journald rule. */
#include "lib/log.h"
#include "unit.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Run fn with stderr redirected to a file; return what it wrote. */
static char *
capture_stderr(void (*fn)(void))
{
    char path[256];
    static char out[8192];
    int saved, fd;
    ssize_t n;

    snprintf(path, sizeof(path), "%s/stderr.%d", unit_tmpdir(), (int)getpid());
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ck_assert_int_ge(fd, 0);
    saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    fn();
    dup2(saved, STDERR_FILENO);
    close(saved);
    n = pread(fd, out, sizeof(out) - 1, 0);
    ck_assert_int_ge(n, 0);
    out[n] = '\0';
    close(fd);
    unlink(path);
    return out;
}

static void
log_three_levels(void)
{
    sk_error("store", "segment '%s': crc mismatch", "log/1.seg");
    sk_info("api", "listening on %s", "/run/skiff/api.sock");
    sk_debug("sched", "hidden at info level");
}

START_TEST(text_lines_carry_level_and_component)
{
    char *out;

    sk_log_set_level(SK_LOG_INFO);
    sk_log_set_format(SK_LOG_TEXT);
    sk_log_set_timestamps(0);
    out = capture_stderr(log_three_levels);
    ck_assert_str_eq(out, "error store: segment 'log/1.seg': crc mismatch\n"
                          "info  api: listening on /run/skiff/api.sock\n");
}
END_TEST

START_TEST(debug_level_shows_debug)
{
    char *out;

    sk_log_set_level(SK_LOG_DEBUG);
    sk_log_set_timestamps(0);
    out = capture_stderr(log_three_levels);
    ck_assert_ptr_nonnull(strstr(out, "debug sched: hidden at info level\n"));
}
END_TEST

START_TEST(timestamps_are_rfc3339_utc)
{
    char *out;

    sk_log_set_level(SK_LOG_INFO);
    sk_log_set_timestamps(1);
    out = capture_stderr(log_three_levels);
    /* 2026-11-25T19:30:00.123Z error store: ... */
    ck_assert_int_eq(out[4], '-');
    ck_assert_int_eq(out[10], 'T');
    ck_assert_int_eq(out[23], 'Z');
    ck_assert(strncmp(out + 24, " error store:", 13) == 0);
}
END_TEST

START_TEST(journal_stream_suppresses_timestamps)
{
    char *out;

    sk_log_set_level(SK_LOG_INFO);
    sk_log_set_timestamps(-1);
    setenv("JOURNAL_STREAM", "8:1234", 1);
    out = capture_stderr(log_three_levels);
    unsetenv("JOURNAL_STREAM");
    ck_assert(strncmp(out, "error store:", 12) == 0);
}
END_TEST

static void
log_quotes(void)
{
    sk_warn("kubelet", "pod \"web\"\tfailed\n");
}

START_TEST(json_format_escapes)
{
    char *out;

    sk_log_set_level(SK_LOG_INFO);
    sk_log_set_format(SK_LOG_JSON);
    sk_log_set_timestamps(0);
    out = capture_stderr(log_quotes);
    sk_log_set_format(SK_LOG_TEXT);
    ck_assert_str_eq(out, "{\"level\":\"warn\",\"component\":\"kubelet\","
                          "\"msg\":\"pod \\\"web\\\"\\u0009failed\\u000a\"}\n");
}
END_TEST

static void
log_huge(void)
{
    static char big[10000];

    memset(big, 'a', sizeof(big) - 1);
    sk_info("x", "%s", big);
}

START_TEST(long_messages_are_cut_not_overflowed)
{
    char *out;

    sk_log_set_level(SK_LOG_INFO);
    sk_log_set_timestamps(0);
    out = capture_stderr(log_huge);
    ck_assert_ptr_nonnull(strstr(out, "aaa...\n"));
    ck_assert_uint_lt(strlen(out), 4200);
}
END_TEST

START_TEST(level_and_format_names_parse)
{
    static const struct {
        const char *in;
        int ok;
        enum sk_log_level want;
    } cases[] = {
        {"error", 1, SK_LOG_ERROR}, {"warn", 1, SK_LOG_WARN},   {"WARNING", 1, SK_LOG_WARN},
        {"info", 1, SK_LOG_INFO},   {"debug", 1, SK_LOG_DEBUG}, {"trace", 0, SK_LOG_INFO},
        {"", 0, SK_LOG_INFO},
    };
    enum sk_log_format fmt;
    enum sk_log_level level;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        level = SK_LOG_INFO;
        ck_assert_int_eq(sk_log_level_parse(cases[i].in, &level) == 0, cases[i].ok);
        ck_assert_int_eq(level, cases[i].want);
    }
    ck_assert_int_eq(sk_log_format_parse("json", &fmt), 0);
    ck_assert_int_eq(fmt, SK_LOG_JSON);
    ck_assert_int_eq(sk_log_format_parse("xml", &fmt), -1);
    ck_assert_str_eq(sk_log_level_name(SK_LOG_WARN), "warn");
}
END_TEST

/* In a private mount namespace with a tmpfs over /dev, bind a datagram
 * socket at /dev/log (syslog(3)'s socket) and check what arrives. Needs
 * root; the host's /dev is never touched. */
static int
syslog_child(void)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    char buf[512];
    ssize_t n;
    int fd;

    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount("tmpfs", "/dev", "tmpfs", 0, "size=64k") < 0)
        return 2;
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    strcpy(addr.sun_path, "/dev/log");
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
        return 3;
    sk_log_set_level(SK_LOG_INFO);
    sk_log_use_syslog("skiff-test");
    sk_info("store", "hello %d", 42);
    sk_log_use_syslog(NULL);
    n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
    if (n <= 0)
        return 4;
    buf[n] = '\0';
    /* "<30>Nov 25 21:40:00 skiff-test[123]: store: hello 42" (daemon.info) */
    return strncmp(buf, "<30>", 4) == 0 && strstr(buf, "skiff-test[") &&
                   strstr(buf, "]: store: hello 42")
               ? 0
               : 5;
}

START_TEST(syslog_gets_ident_component_and_message)
{
    pid_t pid;
    int status;

    if (geteuid() != 0) {
        printf("# SKIP syslog_gets_ident_component_and_message: needs root\n");
        return;
    }
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(syslog_child());
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, text_lines_carry_level_and_component);
    tcase_add_test(tc, debug_level_shows_debug);
    tcase_add_test(tc, timestamps_are_rfc3339_utc);
    tcase_add_test(tc, journal_stream_suppresses_timestamps);
    tcase_add_test(tc, json_format_escapes);
    tcase_add_test(tc, long_messages_are_cut_not_overflowed);
    tcase_add_test(tc, level_and_format_names_parse);
    tcase_add_test(tc, syslog_gets_ident_component_and_message);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
