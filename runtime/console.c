/* Terminals: process.terminal, `run --tty`, `exec --tty`.
 *
 * The pty is made inside the container, from its own devpts instance
 * (/dev/ptmx -> pts/ptmx, mounted newinstance), after pivot_root and
 * before the process drops its privileges: the slave then belongs to
 * the container's devpts, so the process cannot reach the host's ptys
 * through /dev/pts. The process becomes a session leader with the slave
 * as its controlling terminal and stdio. The master goes out over a
 * UNIX socket, as runc's --console-socket protocol has it: one message
 * whose payload is the slave's name ("/dev/pts/0") and whose
 * SCM_RIGHTS control message carries the master's fd. Whoever holds
 * the master (a caller's console socket, or skiff-runtime itself for a
 * foreground `run` or `exec`) copies between it and the user. */
#include "runtime/rt_int.h"

#include "lib/fdpass.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

int
rt_console_send(int sock, int fd, const char *name, struct sk_err *err)
{
    int rc = sk_fd_send(sock, fd, name, strlen(name));

    return rc < 0 ? sk_err_sys(err, -rc, "send the console to the console socket") : 0;
}

int
rt_console_recv(int sock, int *fd, struct sk_err *err)
{
    char name[256];
    ssize_t n = sk_fd_recv(sock, fd, name, sizeof(name), 0);

    if (n < 0)
        return sk_err_sys(err, (int)-n, "receive the console");
    if (n == 0 || *fd < 0) {
        if (*fd >= 0)
            close(*fd);
        *fd = -1;
        return sk_err_set(err, EIO, "receive the console: no terminal came back");
    }
    return 0;
}

int
rt_console_connect(const char *path, int *fd, struct sk_err *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};

    *fd = -1;
    if (strlen(path) >= sizeof(sa.sun_path))
        return sk_err_set(err, ENAMETOOLONG, "console socket '%s': path too long", path);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    *fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (*fd < 0)
        return sk_err_sys(err, errno, "console socket '%s': socket", path);
    if (connect(*fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;

        close(*fd);
        *fd = -1;
        return sk_err_sys(err, e, "console socket '%s': connect", path);
    }
    return 0;
}

/* Open the slave through the master (TIOCGPTPEER, Linux 4.13): no path
 * lookup in /dev/pts that the container could have swapped. */
static int
open_slave(int master, char *name, size_t namesz, struct sk_err *err)
{
    int fd;

    if (unlockpt(master) < 0)
        return sk_err_sys(err, errno, "unlockpt");
    if (ptsname_r(master, name, namesz) != 0)
        return sk_err_sys(err, errno, "ptsname");
    fd = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0 && (errno == EINVAL || errno == ENOTTY))
        fd = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return sk_err_sys(err, errno, "open the pty slave '%s'", name);
    return fd;
}

int
rt_console_setup(const struct rt_process *proc, int sock, struct sk_err *err)
{
    struct winsize ws = {proc->console_rows, proc->console_cols, 0, 0};
    char name[64];
    int master, slave = -1, rc = -1;

    master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0)
        return sk_err_sys(err, errno, "open '/dev/ptmx'");
    if ((slave = open_slave(master, name, sizeof(name), err)) < 0)
        goto out;
    if ((ws.ws_row || ws.ws_col) && ioctl(slave, TIOCSWINSZ, &ws) < 0) {
        sk_err_sys(err, errno, "set the console size");
        goto out;
    }
    /* The process owns its terminal, as login(1) would arrange; with a
     * username the uid is only known later, and root keeps it. */
    if (!proc->username && fchown(slave, proc->uid, (gid_t)-1) < 0) {
        sk_err_sys(err, errno, "chown '%s'", name);
        goto out;
    }
    if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0) {
        sk_err_sys(err, errno, "make '%s' the controlling terminal", name);
        goto out;
    }
    for (int i = 0; i < 3; i++)
        if (dup2(slave, i) < 0) {
            sk_err_sys(err, errno, "dup2 the console to %d", i);
            goto out;
        }
    rc = rt_console_send(sock, master, name, err);
out:
    if (slave >= 0)
        close(slave);
    close(master);
    return rc;
}

void
rt_console_copy_size(int from, int master)
{
    struct winsize ws;

    if (ioctl(from, TIOCGWINSZ, &ws) == 0)
        ioctl(master, TIOCSWINSZ, &ws);
}

/* Copy what is readable on from to to; 0 at eof or error of from. */
static int
pump(int from, int to)
{
    char buf[4096];
    ssize_t n = read(from, buf, sizeof(buf));

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 1;
    if (n <= 0)
        return 0;
    rt_write_all(to, buf, (size_t)n);
    return 1;
}

/* After the process exited: what it wrote is still in the pty's buffer
 * (a master reads it before EIO). */
static void
drain(int master, int out)
{
    int fl = fcntl(master, F_GETFL);

    fcntl(master, F_SETFL, fl | O_NONBLOCK);
    for (int i = 0; i < 4096; i++) {
        char buf[4096];
        ssize_t n = read(master, buf, sizeof(buf));

        if (n <= 0)
            break;
        rt_write_all(out, buf, (size_t)n);
    }
    fcntl(master, F_SETFL, fl);
}

int
rt_console_proxy(int master, int in, int out, int done_fd, void (*on_intr)(void *arg), void *arg)
{
    struct termios saved, raw;
    int is_tty = isatty(in), in_open = 1, master_open = 1;

    if (is_tty && tcgetattr(in, &saved) == 0) {
        raw = saved;
        cfmakeraw(&raw);
        tcsetattr(in, TCSANOW, &raw);
        rt_console_copy_size(in, master);
    } else {
        is_tty = 0;
    }
    for (;;) {
        struct pollfd p[3] = {{in_open ? in : -1, POLLIN, 0},
                              {master_open ? master : -1, POLLIN, 0},
                              {done_fd, POLLIN, 0}};

        if (poll(p, 3, -1) < 0) {
            if (errno == EINTR && on_intr)
                on_intr(arg);
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[1].revents && !pump(master, out))
            master_open = 0;
        if (p[0].revents && !pump(in, master))
            in_open = 0;
        if (p[2].revents)
            break;
    }
    if (master_open)
        drain(master, out);
    if (is_tty)
        tcsetattr(in, TCSANOW, &saved);
    return 0;
}
