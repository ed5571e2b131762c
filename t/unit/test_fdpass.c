/* lib/fdpass: one fd over a UNIX socket, with or without one, and a
 * peer that packs in more than one. */
#include "lib/fdpass.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

START_TEST(an_fd_and_its_data_arrive)
{
    int sv[2], fd = -1, p[2];
    struct stat a, b;
    char buf[16];

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(sk_fd_send(sv[0], p[1], "tty", 3), 0);
    ck_assert_int_eq(sk_fd_recv(sv[1], &fd, buf, sizeof(buf), 0), 3);
    ck_assert_mem_eq(buf, "tty", 3);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
    ck_assert_int_eq(fstat(fd, &a), 0);
    ck_assert_int_eq(fstat(p[1], &b), 0);
    ck_assert(a.st_ino == b.st_ino);
    for (int i = 0; i < 2; i++) {
        close(sv[i]);
        close(p[i]);
    }
    close(fd);
}
END_TEST

START_TEST(no_fd_no_data_and_errors)
{
    int sv[2], fd = 7;
    char buf[4];

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
    ck_assert_int_eq(sk_fd_send(sv[0], -1, "-", 1), 0);
    ck_assert_int_eq(sk_fd_recv(sv[1], &fd, buf, sizeof(buf), 0), 1);
    ck_assert_int_eq(fd, -1);
    ck_assert_int_eq(sk_fd_recv(sv[1], &fd, buf, sizeof(buf), MSG_DONTWAIT), -EAGAIN);
    close(sv[0]);
    ck_assert_int_eq(sk_fd_recv(sv[1], &fd, buf, sizeof(buf), 0), 0); /* end of file */
    ck_assert_int_eq(fd, -1);
    ck_assert_int_eq(sk_fd_send(sv[1], -1, "x", 1), -EPIPE); /* and no SIGPIPE */
    close(sv[1]);
    ck_assert_int_eq(sk_fd_send(sv[1], -1, "x", 1), -EBADF);
}
END_TEST

/* Three fds in one message: the first is kept, the others closed. */
START_TEST(extra_fds_are_closed)
{
    int sv[2], fds[3], fd, before;
    union {
        char buf[CMSG_SPACE(sizeof(fds))];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = {(void *)"m", 1};
    struct msghdr msg = {.msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = ctl.buf,
                         .msg_controllen = sizeof(ctl.buf)};
    struct cmsghdr *c;
    char buf[4];

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
    for (int i = 0; i < 3; i++)
        fds[i] = open("/dev/null", O_RDONLY);
    memset(&ctl, 0, sizeof(ctl));
    c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(fds));
    memcpy(CMSG_DATA(c), fds, sizeof(fds));
    ck_assert_int_eq(sendmsg(sv[0], &msg, 0), 1);
    for (int i = 0; i < 3; i++)
        close(fds[i]);
    before = unit_open_fds();
    ck_assert_int_eq(sk_fd_recv(sv[1], &fd, buf, sizeof(buf), 0), 1);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(unit_open_fds(), before + 1);
    close(fd);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("fdpass");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, an_fd_and_its_data_arrive);
    tcase_add_test(tc, no_fd_no_data_and_errors);
    tcase_add_test(tc, extra_fds_are_closed);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
