/* lib/notify: the sd_notify datagram, written by hand. */
#include "lib/notify.h"
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Bind a datagram socket at path (or in the abstract namespace when path
 * starts with '@') like systemd's notify socket. */
static int
bind_notify_socket(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    size_t len = strlen(path);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    ck_assert_int_ge(fd, 0);
    memcpy(addr.sun_path, path, len);
    if (path[0] == '@')
        addr.sun_path[0] = '\0';
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&addr,
                          (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)),
                     0);
    return fd;
}

static void
expect_datagram(int fd, const char *want)
{
    char buf[256];
    ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

    ck_assert_int_gt(n, 0);
    buf[n] = '\0';
    ck_assert_str_eq(buf, want);
}

START_TEST(sends_state_to_a_path_socket)
{
    char path[200];
    struct sk_err err;
    int fd;

    snprintf(path, sizeof(path), "%s/notify.sock", unit_tmpdir());
    fd = bind_notify_socket(path);
    setenv("NOTIFY_SOCKET", path, 1);
    ck_assert_int_eq(sk_notify("READY=1\nSTATUS=serving", &err), 0);
    expect_datagram(fd, "READY=1\nSTATUS=serving");
    close(fd);
    unlink(path);
}
END_TEST

START_TEST(sends_state_to_an_abstract_socket)
{
    char name[64];
    struct sk_err err;
    int fd;

    snprintf(name, sizeof(name), "@skiff-test-notify-%d", (int)getpid());
    fd = bind_notify_socket(name);
    setenv("NOTIFY_SOCKET", name, 1);
    ck_assert_int_eq(sk_notify("STOPPING=1", &err), 0);
    expect_datagram(fd, "STOPPING=1");
    close(fd);
}
END_TEST

START_TEST(does_nothing_without_systemd)
{
    unsetenv("NOTIFY_SOCKET");
    ck_assert_int_eq(sk_notify("READY=1", NULL), 0);
}
END_TEST

START_TEST(bad_socket_values_are_errors)
{
    struct sk_err err;

    setenv("NOTIFY_SOCKET", "relative/path", 1);
    ck_assert_int_eq(sk_notify("READY=1", &err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "NOTIFY_SOCKET 'relative/path'"));
    setenv("NOTIFY_SOCKET", "/nonexistent/notify.sock", 1);
    ck_assert_int_eq(sk_notify("READY=1", &err), -ENOENT);
    ck_assert_ptr_nonnull(strstr(err.msg, "notify '/nonexistent/notify.sock'"));
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("notify");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, sends_state_to_a_path_socket);
    tcase_add_test(tc, sends_state_to_an_abstract_socket);
    tcase_add_test(tc, does_nothing_without_systemd);
    tcase_add_test(tc, bad_socket_values_are_errors);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
