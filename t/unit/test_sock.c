/* lib/sock: UNIX and TCP helpers, HOST:PORT parsing, the loop listener. */
#include "lib/buf.h"
#include "lib/loop.h"
#include "lib/sock.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static void
tmp_path(char *buf, size_t bufsz, const char *name)
{
    ck_assert_int_eq(sk_snprintf(buf, bufsz, "%s/%s", unit_tmpdir(), name), 0);
}

START_TEST(unix_listen_connect_and_peer_credentials)
{
    struct sk_err err;
    struct stat st;
    char path[256];
    int lfd, cfd, afd;
    uid_t uid;
    gid_t gid;
    pid_t pid;

    tmp_path(path, sizeof(path), "api.sock");
    lfd = sk_sock_listen_unix(path, 0660, &err);
    ck_assert_msg(lfd >= 0, "%s", err.msg);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert(S_ISSOCK(st.st_mode));
    ck_assert_int_eq(st.st_mode & 07777, 0660);
    ck_assert(fcntl(lfd, F_GETFL) & O_NONBLOCK);
    ck_assert(fcntl(lfd, F_GETFD) & FD_CLOEXEC);
    cfd = sk_sock_connect_unix(path, &err);
    ck_assert_msg(cfd >= 0, "%s", err.msg);
    ck_assert(fcntl(cfd, F_GETFD) & FD_CLOEXEC);
    afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    ck_assert_int_ge(afd, 0);
    ck_assert_int_eq(sk_sock_peercred(afd, &uid, &gid, &pid, &err), 0);
    ck_assert_int_eq(uid, getuid());
    ck_assert_int_eq(gid, getgid());
    ck_assert_int_eq(pid, getpid());
    ck_assert_int_eq(sk_sock_peercred(afd, NULL, NULL, NULL, &err), 0);
    ck_assert_int_eq(sk_sock_set_nonblock(cfd, &err), 0);
    ck_assert(fcntl(cfd, F_GETFL) & O_NONBLOCK);
    close(afd);
    close(cfd);
    close(lfd);
    unlink(path);
}
END_TEST

START_TEST(stale_unix_socket_is_replaced)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct sk_err err;
    char path[256];
    int fd;

    /* A socket file whose server died: bound, never listening any more. */
    tmp_path(path, sizeof(path), "stale.sock");
    sk_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(fd);
    fd = sk_sock_listen_unix(path, 0600, &err);
    ck_assert_msg(fd >= 0, "%s", err.msg);
    close(fd);
    unlink(path);
}
END_TEST

START_TEST(live_unix_socket_is_refused_and_keeps_working)
{
    struct sk_err err;
    char path[256], want[300];
    int fd, fd2, cfd;

    tmp_path(path, sizeof(path), "live.sock");
    fd = sk_sock_listen_unix(path, 0600, &err);
    ck_assert_msg(fd >= 0, "%s", err.msg);
    ck_assert_int_eq(sk_sock_listen_unix(path, 0600, &err), -EADDRINUSE);
    snprintf(want, sizeof(want), "socket '%s': address in use", path);
    ck_assert_str_eq(err.msg, want);
    /* The first server still owns the path. */
    cfd = sk_sock_connect_unix(path, &err);
    ck_assert_msg(cfd >= 0, "%s", err.msg);
    close(cfd);
    close(fd);
    /* Once it is gone, the socket is stale and can be taken over. */
    fd2 = sk_sock_listen_unix(path, 0600, &err);
    ck_assert_msg(fd2 >= 0, "%s", err.msg);
    close(fd2);
    unlink(path);
}
END_TEST

START_TEST(non_socket_paths_are_refused_and_left_alone)
{
    struct sk_err err;
    char file[256], link[256], dir[256], want[300];
    struct stat st;
    int fd;

    tmp_path(file, sizeof(file), "plain");
    tmp_path(link, sizeof(link), "link.sock");
    tmp_path(dir, sizeof(dir), "dir.sock");
    fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(symlink(file, link), 0);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    ck_assert_int_eq(sk_sock_listen_unix(file, 0600, &err), -ENOTSOCK);
    snprintf(want, sizeof(want), "'%s' exists and is not a socket", file);
    ck_assert_str_eq(err.msg, want);
    ck_assert_int_eq(sk_sock_listen_unix(link, 0600, &err), -ENOTSOCK);
    ck_assert_int_eq(sk_sock_listen_unix(dir, 0600, &err), -ENOTSOCK);
    ck_assert_int_eq(stat(file, &st), 0);
    ck_assert_int_eq(lstat(link, &st), 0);
    ck_assert(S_ISLNK(st.st_mode));
    unlink(link);
    unlink(file);
    rmdir(dir);
}
END_TEST

START_TEST(unix_path_errors)
{
    struct sk_err err;
    char longpath[200];

    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[sizeof(longpath) - 1] = '\0';
    ck_assert_int_eq(sk_sock_listen_unix(longpath, 0600, &err), -ENAMETOOLONG);
    ck_assert_int_eq(sk_sock_connect_unix(longpath, &err), -ENAMETOOLONG);
    ck_assert_int_eq(sk_sock_listen_unix("", 0600, &err), -EINVAL);
    ck_assert_int_eq(sk_sock_connect_unix("/nonexistent/skiff.sock", &err), -ENOENT);
    ck_assert_str_eq(err.msg, "connect to '/nonexistent/skiff.sock': No such file or directory");
}
END_TEST

static void
check_tcp_roundtrip(const char *listen_host, const char *connect_host)
{
    struct sk_err err;
    int lfd, cfd, afd, port;

    lfd = sk_sock_listen_tcp(listen_host, 0, &err);
    ck_assert_msg(lfd >= 0, "%s", err.msg);
    port = sk_sock_local_port(lfd);
    ck_assert_int_gt(port, 0);
    cfd = sk_sock_connect_tcp(connect_host, port, 2000, &err);
    ck_assert_msg(cfd >= 0, "%s", err.msg);
    ck_assert(!(fcntl(cfd, F_GETFL) & O_NONBLOCK));
    ck_assert_int_eq(write(cfd, "hi", 2), 2);
    afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    ck_assert_int_ge(afd, 0);
    close(afd);
    close(cfd);
    close(lfd);
}

START_TEST(tcp_loopback_on_port_zero)
{
    check_tcp_roundtrip("127.0.0.1", "127.0.0.1");
    check_tcp_roundtrip("localhost", "127.0.0.1");
    check_tcp_roundtrip("*", "127.0.0.1");
    check_tcp_roundtrip(NULL, "127.0.0.1");
}
END_TEST

START_TEST(tcp_ipv6_loopback_when_available)
{
    struct sk_err err;
    int fd = sk_sock_listen_tcp("::1", 0, &err);

    if (fd == -EADDRNOTAVAIL || fd == -EAFNOSUPPORT)
        return; /* no IPv6 loopback in this namespace */
    ck_assert_msg(fd >= 0, "%s", err.msg);
    close(fd);
    check_tcp_roundtrip("::1", "::1");
}
END_TEST

START_TEST(tcp_errors_are_reported)
{
    struct sk_err err;
    int fd, port;

    ck_assert_int_eq(sk_sock_listen_tcp("example.org", 0, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "listen on 'example.org:0': 'example.org' is not an IP address");
    ck_assert_int_eq(sk_sock_listen_tcp("127.0.0.1", 65536, &err), -EINVAL);
    ck_assert_int_eq(sk_sock_listen_tcp("127.0.0.1", -1, &err), -EINVAL);
    ck_assert_int_eq(sk_sock_connect_tcp("127.0.0.1", 0, 100, &err), -EINVAL);
    /* A port nobody listens on any more: refused. */
    fd = sk_sock_listen_tcp("127.0.0.1", 0, &err);
    ck_assert_int_ge(fd, 0);
    port = sk_sock_local_port(fd);
    close(fd);
    ck_assert_int_eq(sk_sock_connect_tcp("127.0.0.1", port, 1000, &err), -ECONNREFUSED);
    /* The port is taken while someone listens on it. */
    fd = sk_sock_listen_tcp("127.0.0.1", 0, &err);
    port = sk_sock_local_port(fd);
    ck_assert_int_eq(sk_sock_listen_tcp("127.0.0.1", port, &err), -EADDRINUSE);
    close(fd);
    ck_assert_int_lt(sk_sock_local_port(-1), 0);
}
END_TEST

static const struct {
    const char *in;
    int rc;
    const char *host;
    int port;
    const char *msg;
} hostports[] = {
    {"127.0.0.1:6443", 0, "127.0.0.1", 6443, NULL},
    {"[::1]:6443", 0, "::1", 6443, NULL},
    {"[fe80::1%eth0]:1", 0, "fe80::1%eth0", 1, NULL},
    {":6443", 0, "", 6443, NULL},
    {"*:0", 0, "*", 0, NULL},
    {"node-1.example:65535", 0, "node-1.example", 65535, NULL},
    {"127.0.0.1", -EINVAL, NULL, 0, "address '127.0.0.1': missing ':PORT'"},
    {"", -EINVAL, NULL, 0, "address '': missing ':PORT'"},
    {"127.0.0.1:", -EINVAL, NULL, 0, "address '127.0.0.1:': missing port"},
    {"127.0.0.1:65536", -EINVAL, NULL, 0, "address '127.0.0.1:65536': port 65536 out of range"},
    {"127.0.0.1:123456", -EINVAL, NULL, 0, "address '127.0.0.1:123456': bad port '123456'"},
    {"127.0.0.1:-1", -EINVAL, NULL, 0, "address '127.0.0.1:-1': bad port '-1'"},
    {"127.0.0.1:+1", -EINVAL, NULL, 0, "address '127.0.0.1:+1': bad port '+1'"},
    {"127.0.0.1: 1", -EINVAL, NULL, 0, "address '127.0.0.1: 1': bad port ' 1'"},
    {"127.0.0.1:0x10", -EINVAL, NULL, 0, "address '127.0.0.1:0x10': bad port '0x10'"},
    {"::1:6443", -EINVAL, NULL, 0, "address '::1:6443': IPv6 address must be in brackets"},
    {"[::1:6443", -EINVAL, NULL, 0, "address '[::1:6443': missing ']'"},
    {"[::1]6443", -EINVAL, NULL, 0, "address '[::1]6443': expected ':PORT' after ']'"},
    {"[::1]", -EINVAL, NULL, 0, "address '[::1]': expected ':PORT' after ']'"},
    {"[]:1", -EINVAL, NULL, 0, "address '[]:1': empty host in brackets"},
    {"a]:1", -EINVAL, NULL, 0, "address 'a]:1': bad character in host"},
    {"a b:1", -EINVAL, NULL, 0, "address 'a b:1': bad character in host"},
    {"[::1]:1:2", -EINVAL, NULL, 0, "address '[::1]:1:2': bad port '1:2'"},
    {"averyveryverylonghostname:1", -ENAMETOOLONG, NULL, 0,
     "address 'averyveryverylonghostname:1': host longer than 15 bytes"},
};

START_TEST(hostport_parsing_table)
{
    struct sk_err err;
    char host[16];
    int port, rc;

    sk_err_init(&err);
    strcpy(host, "untouched");
    port = -7;
    rc = sk_sock_parse_hostport(hostports[_i].in, host, sizeof(host), &port, &err);
    ck_assert_msg(rc == hostports[_i].rc, "'%s': rc %d (%s)", hostports[_i].in, rc, err.msg);
    if (rc == 0) {
        ck_assert_str_eq(host, hostports[_i].host);
        ck_assert_int_eq(port, hostports[_i].port);
    } else {
        ck_assert_str_eq(err.msg, hostports[_i].msg);
        ck_assert_str_eq(host, "untouched");
        ck_assert_int_eq(port, -7);
    }
}
END_TEST

/* --- listener --- */

struct accepted {
    int fds[8];
    int n;
    struct sk_listener *free_me;
};

static void
on_accept(struct sk_loop *loop, int fd, void *arg)
{
    struct accepted *a = arg;

    ck_assert(fcntl(fd, F_GETFL) & O_NONBLOCK);
    ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    a->fds[a->n++] = fd;
    if (a->free_me) {
        sk_listener_free(a->free_me);
        a->free_me = NULL;
    }
}

static int
run_until_accepted(struct sk_loop *loop, struct accepted *a, int n)
{
    int i;

    for (i = 0; i < 100 && a->n < n; i++)
        ck_assert_int_ge(sk_loop_run_once(loop, 1000, NULL), 0);
    return a->n;
}

START_TEST(listener_hands_over_every_connection)
{
    struct accepted a = {0};
    struct sk_loop *loop;
    struct sk_listener *l;
    struct sk_err err;
    char path[256];
    int c[3], i;

    ck_assert_int_eq(sk_loop_new(&loop, &err), 0);
    tmp_path(path, sizeof(path), "listener.sock");
    l = sk_listener_new(loop, sk_sock_listen_unix(path, 0600, &err), on_accept, &a);
    ck_assert_ptr_nonnull(l);
    for (i = 0; i < 3; i++)
        c[i] = sk_sock_connect_unix(path, &err);
    ck_assert_int_eq(run_until_accepted(loop, &a, 3), 3);
    for (i = 0; i < 3; i++) {
        close(c[i]);
        close(a.fds[i]);
    }
    sk_listener_free(l);
    sk_listener_free(NULL);
    sk_loop_free(loop);
    unlink(path);
}
END_TEST

START_TEST(listener_freed_inside_accept_callback)
{
    struct accepted a = {0};
    struct sk_loop *loop;
    struct sk_err err;
    char path[256];
    int c[2];

    ck_assert_int_eq(sk_loop_new(&loop, &err), 0);
    tmp_path(path, sizeof(path), "free.sock");
    a.free_me = sk_listener_new(loop, sk_sock_listen_unix(path, 0600, &err), on_accept, &a);
    c[0] = sk_sock_connect_unix(path, &err);
    c[1] = sk_sock_connect_unix(path, &err);
    ck_assert_int_eq(run_until_accepted(loop, &a, 1), 1);
    /* Freed after the first: the second connection is never accepted. */
    ck_assert_int_eq(sk_loop_run_once(loop, 0, NULL), 0);
    ck_assert_int_eq(a.n, 1);
    close(a.fds[0]);
    close(c[0]);
    close(c[1]);
    sk_loop_free(loop);
    unlink(path);
}
END_TEST

START_TEST(listener_pauses_on_emfile_and_resumes)
{
    struct accepted a = {0};
    struct sk_loop *loop;
    struct sk_listener *l;
    struct rlimit old, lim;
    struct sk_err err;
    char path[256];
    int cfd, filler[64], nfill = 0, i;

    ck_assert_int_eq(sk_loop_new(&loop, &err), 0);
    tmp_path(path, sizeof(path), "emfile.sock");
    l = sk_listener_new(loop, sk_sock_listen_unix(path, 0600, &err), on_accept, &a);
    ck_assert_ptr_nonnull(l);
    cfd = sk_sock_connect_unix(path, &err);
    ck_assert_int_ge(cfd, 0);
    /* Fill the fd table under a small limit so accept4 fails EMFILE. */
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)cfd + 40;
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &lim), 0);
    while (nfill < 64 && (filler[nfill] = dup(cfd)) >= 0)
        nfill++;
    ck_assert_int_eq(errno, EMFILE);
    ck_assert_int_eq(sk_loop_run_once(loop, 1000, NULL), 1); /* accept fails, pauses */
    ck_assert_int_eq(a.n, 0);
    /* Paused: the pending connection does not make the loop spin. */
    ck_assert_int_eq(sk_loop_run_once(loop, 0, NULL), 0);
    close(filler[--nfill]);
    ck_assert_int_eq(run_until_accepted(loop, &a, 1), 1);
    for (i = 0; i < nfill; i++)
        close(filler[i]);
    setrlimit(RLIMIT_NOFILE, &old);
    close(a.fds[0]);
    close(cfd);
    sk_listener_free(l);
    sk_loop_free(loop);
    unlink(path);
}
END_TEST

START_TEST(listener_on_bad_fd_fails_cleanly)
{
    struct sk_loop *loop;
    struct sk_err err;

    ck_assert_int_eq(sk_loop_new(&loop, &err), 0);
    errno = 0;
    ck_assert_ptr_null(sk_listener_new(loop, -1, on_accept, NULL));
    ck_assert_int_eq(errno, EBADF);
    sk_loop_free(loop);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("sock");
    TCase *tc = tcase_create("sockets");
    TCase *hp = tcase_create("hostport");
    TCase *ls = tcase_create("listener");

    tcase_add_test(tc, unix_listen_connect_and_peer_credentials);
    tcase_add_test(tc, stale_unix_socket_is_replaced);
    tcase_add_test(tc, live_unix_socket_is_refused_and_keeps_working);
    tcase_add_test(tc, non_socket_paths_are_refused_and_left_alone);
    tcase_add_test(tc, unix_path_errors);
    tcase_add_test(tc, tcp_loopback_on_port_zero);
    tcase_add_test(tc, tcp_ipv6_loopback_when_available);
    tcase_add_test(tc, tcp_errors_are_reported);
    suite_add_tcase(s, tc);
    tcase_add_loop_test(hp, hostport_parsing_table, 0, sizeof(hostports) / sizeof(hostports[0]));
    suite_add_tcase(s, hp);
    tcase_add_test(ls, listener_hands_over_every_connection);
    tcase_add_test(ls, listener_freed_inside_accept_callback);
    tcase_add_test(ls, listener_pauses_on_emfile_and_resumes);
    tcase_add_test(ls, listener_on_bad_fd_fails_cleanly);
    suite_add_tcase(s, ls);
    return unit_main(s);
}
