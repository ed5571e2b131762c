/* console-recv: the receiving end of a console socket (runc's
 * --console-socket protocol), for the skiff-runtime terminal tests.
 *
 *     console-recv SOCKET [INPUT]
 *
 * Listens on the UNIX socket SOCKET, accepts one connection and
 * receives one message: the pty's name as payload, its master as an
 * SCM_RIGHTS fd. Prints "console NAME" on a line of its own, writes
 * INPUT (with a newline) to the master, then copies the master to
 * stdout until the pty hangs up (every slave closed: the container's
 * process exited). Every wait is bounded (10 s). Exit status 0 when a
 * console came and hung up, 1 otherwise. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int
wait_in(int fd, int ms)
{
    struct pollfd p = {fd, POLLIN, 0};

    return poll(&p, 1, ms) > 0;
}

static int
recv_master(int conn, char *name, size_t namesz)
{
    char ctl[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {name, namesz - 1};
    struct msghdr msg = {0};
    struct cmsghdr *c;
    ssize_t n;
    int fd;

    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctl;
    msg.msg_controllen = sizeof(ctl);
    if (!wait_in(conn, 10000) || (n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC)) <= 0)
        return -1;
    name[n] = '\0';
    c = CMSG_FIRSTHDR(&msg);
    if (!c || c->cmsg_type != SCM_RIGHTS)
        return -1;
    memcpy(&fd, CMSG_DATA(c), sizeof(int));
    return fd;
}

int
main(int argc, char **argv)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char name[256], buf[4096];
    int ls, conn, master;
    ssize_t n;

    if (argc < 2 || argc > 3 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "usage: console-recv SOCKET [INPUT]\n");
        return 2;
    }
    strcpy(sa.sun_path, argv[1]);
    ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 1) < 0) {
        perror("console-recv: listen");
        return 1;
    }
    if (!wait_in(ls, 10000) || (conn = accept4(ls, NULL, NULL, SOCK_CLOEXEC)) < 0) {
        fprintf(stderr, "console-recv: no connection\n");
        return 1;
    }
    if ((master = recv_master(conn, name, sizeof(name))) < 0) {
        fprintf(stderr, "console-recv: no console received\n");
        return 1;
    }
    printf("console %s\n", name);
    fflush(stdout);
    if (argc == 3 && (write(master, argv[2], strlen(argv[2])) < 0 || write(master, "\n", 1) < 0))
        perror("console-recv: write");
    while (wait_in(master, 10000)) {
        n = read(master, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return errno == EIO || n == 0 ? 0 : 1; /* EIO: the last slave closed */
        if (write(1, buf, (size_t)n) < 0)
            return 1;
    }
    fprintf(stderr, "console-recv: no hangup within 10 s\n");
    return 1;
}
