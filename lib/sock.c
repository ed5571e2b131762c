/* Socket helpers and the loop listener: see sock.h. */
#include "sock.h"
#include "alloc.h"
#include "clock.h"
#include "buf.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define ACCEPT_BATCH    64
#define ACCEPT_RETRY_MS 100

/* --- UNIX sockets --- */

static int
unix_addr(struct sockaddr_un *sa, const char *path, struct sk_err *err)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (!path || !*path)
        return sk_err_set(err, EINVAL, "socket path is empty");
    if (sk_strlcpy(sa->sun_path, path, sizeof(sa->sun_path)) < 0)
        return sk_err_set(err, ENAMETOOLONG, "socket path '%s' is longer than %zu bytes", path,
                          sizeof(sa->sun_path) - 1);
    return 0;
}

/* Make room for a new socket at path: nothing there is fine; a socket
 * that refuses connections is a leftover of a dead process and goes; a
 * socket that answers belongs to a running server and must not be stolen;
 * anything else was not ours to remove. */
static int
unix_remove_stale(const char *path, const struct sockaddr_un *sa, struct sk_err *err)
{
    struct stat st;
    int fd, rc, e;

    if (lstat(path, &st) < 0) {
        if (errno == ENOENT)
            return 0;
        return sk_err_sys(err, errno, "stat '%s'", path);
    }
    if (!S_ISSOCK(st.st_mode))
        return sk_err_set(err, ENOTSOCK, "'%s' exists and is not a socket", path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return sk_err_sys(err, errno, "socket");
    rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
    e = errno;
    close(fd);
    /* EAGAIN: a live listener whose backlog is full. */
    if (rc == 0 || e == EAGAIN)
        return sk_err_set(err, EADDRINUSE, "socket '%s': address in use", path);
    if (e == ENOENT)
        return 0;
    if (e != ECONNREFUSED)
        return sk_err_sys(err, e, "probe socket '%s'", path);
    if (unlink(path) < 0 && errno != ENOENT)
        return sk_err_sys(err, errno, "remove stale socket '%s'", path);
    return 0;
}

int
sk_sock_listen_unix(const char *path, mode_t mode, struct sk_err *err)
{
    struct sockaddr_un sa;
    mode_t old_umask;
    int fd, rc, e;

    rc = unix_addr(&sa, path, err);
    if (rc < 0)
        return rc;
    rc = unix_remove_stale(path, &sa, err);
    if (rc < 0)
        return rc;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return sk_err_sys(err, errno, "socket for '%s'", path);
    /* bind() creates the file with 0777 & ~umask: keep it private until
     * chmod() sets the real mode, so nobody connects in between. */
    old_umask = umask(0177);
    rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    e = errno;
    umask(old_umask);
    if (rc < 0) {
        rc = sk_err_sys(err, e, "bind '%s'", path);
        goto out_close_fd;
    }
    if (chmod(path, mode) < 0) {
        rc = sk_err_sys(err, errno, "chmod '%s'", path);
        goto out_unlink;
    }
    if (listen(fd, SK_SOCK_BACKLOG) < 0) {
        rc = sk_err_sys(err, errno, "listen on '%s'", path);
        goto out_unlink;
    }
    return fd;
out_unlink:
    unlink(path);
out_close_fd:
    close(fd);
    return rc;
}

int
sk_sock_connect_unix(const char *path, struct sk_err *err)
{
    struct sockaddr_un sa;
    int fd, rc;

    rc = unix_addr(&sa, path, err);
    if (rc < 0)
        return rc;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return sk_err_sys(err, errno, "socket");
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        rc = sk_err_sys(err, errno, "connect to '%s'", path);
        close(fd);
        return rc;
    }
    return fd;
}

int
sk_sock_peercred(int fd, uid_t *uid, gid_t *gid, pid_t *pid, struct sk_err *err)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
        return sk_err_sys(err, errno, "peer credentials of fd %d", fd);
    if (uid)
        *uid = cred.uid;
    if (gid)
        *gid = cred.gid;
    if (pid)
        *pid = cred.pid;
    return 0;
}

int
sk_sock_set_nonblock(int fd, struct sk_err *err)
{
    int flags = fcntl(fd, F_GETFL);

    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return sk_err_sys(err, errno, "set fd %d non-blocking", fd);
    return 0;
}

/* --- TCP --- */

/* "host:port" for messages, IPv6 in brackets. */
static void
hostport_format(char *buf, size_t bufsz, const char *host, int port)
{
    if (strchr(host, ':'))
        snprintf(buf, bufsz, "[%s]:%d", host, port);
    else
        snprintf(buf, bufsz, "%s:%d", host, port);
}

static int
tcp_listen_on(const struct sockaddr *sa, socklen_t salen, const char *what, struct sk_err *err)
{
    int fd, rc, on = 1, off = 0;

    fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return sk_err_sys(err, errno, "listen on '%s': socket", what);
    /* A restarted daemon must be able to bind while old connections
     * linger in TIME_WAIT. */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0) {
        rc = sk_err_sys(err, errno, "listen on '%s': SO_REUSEADDR", what);
        goto out_close_fd;
    }
    /* "*" on IPv6 also takes IPv4 (mapped addresses), whatever the
     * net.ipv6.bindv6only sysctl says. */
    if (sa->sa_family == AF_INET6 &&
        IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)sa)->sin6_addr) &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) < 0) {
        rc = sk_err_sys(err, errno, "listen on '%s': IPV6_V6ONLY", what);
        goto out_close_fd;
    }
    if (bind(fd, sa, salen) < 0) {
        rc = sk_err_sys(err, errno, "listen on '%s': bind", what);
        goto out_close_fd;
    }
    if (listen(fd, SK_SOCK_BACKLOG) < 0) {
        rc = sk_err_sys(err, errno, "listen on '%s'", what);
        goto out_close_fd;
    }
    return fd;
out_close_fd:
    close(fd);
    return rc;
}

static int
tcp_listen_any(int port, struct sk_err *err)
{
    struct sockaddr_in6 sa6 = {0};
    struct sockaddr_in sa4 = {0};
    char what[32];
    int rc;

    sa6.sin6_family = AF_INET6;
    sa6.sin6_addr = in6addr_any;
    sa6.sin6_port = htons((uint16_t)port);
    snprintf(what, sizeof(what), "*:%d", port);
    rc = tcp_listen_on((struct sockaddr *)&sa6, sizeof(sa6), what, err);
    if (rc != -EAFNOSUPPORT)
        return rc;
    sa4.sin_family = AF_INET;
    sa4.sin_addr.s_addr = htonl(INADDR_ANY);
    sa4.sin_port = htons((uint16_t)port);
    return tcp_listen_on((struct sockaddr *)&sa4, sizeof(sa4), what, err);
}

int
sk_sock_listen_tcp(const char *host, int port, struct sk_err *err)
{
    struct addrinfo hints = {0}, *ai;
    char what[128];
    int rc;

    if (port < 0 || port > 65535)
        return sk_err_set(err, EINVAL, "listen: port %d out of range", port);
    if (!host || !*host || strcmp(host, "*") == 0)
        return tcp_listen_any(port, err);
    if (strcmp(host, "localhost") == 0)
        host = "127.0.0.1";
    hostport_format(what, sizeof(what), host, port);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
    if (getaddrinfo(host, NULL, &hints, &ai) != 0)
        return sk_err_set(err, EINVAL, "listen on '%s': '%s' is not an IP address", what, host);
    if (ai->ai_family == AF_INET6)
        ((struct sockaddr_in6 *)ai->ai_addr)->sin6_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in *)ai->ai_addr)->sin_port = htons((uint16_t)port);
    rc = tcp_listen_on(ai->ai_addr, ai->ai_addrlen, what, err);
    freeaddrinfo(ai);
    return rc;
}

int
sk_sock_local_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return -errno;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return -EAFNOSUPPORT;
}

/* Clear O_NONBLOCK; returns 0 or a positive errno. */
static int
fd_set_blocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);

    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
        return errno;
    return 0;
}

/* Connect a non-blocking socket and wait for the handshake until
 * deadline_ms (-1: no deadline). Returns 0 or a positive errno. */
static int
tcp_connect_wait(int fd, const struct addrinfo *ai, int64_t deadline_ms)
{
    struct pollfd pfd = {.fd = fd, .events = POLLOUT};
    socklen_t len = sizeof(int);
    int e = 0, n, wait;

    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return 0;
    if (errno != EINPROGRESS)
        return errno;
    do {
        wait = -1;
        if (deadline_ms >= 0) {
            int64_t left = deadline_ms - sk_clock_mono_ms();

            wait = left <= 0 ? 0 : (left > 1000000 ? 1000000 : (int)left);
        }
        n = poll(&pfd, 1, wait);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno;
    if (n == 0)
        return ETIMEDOUT;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
        return errno;
    return e;
}

int
sk_sock_connect_tcp(const char *host, int port, int timeout_ms, struct sk_err *err)
{
    struct addrinfo hints = {0}, *res, *ai;
    int64_t deadline = timeout_ms < 0 ? -1 : sk_clock_mono_ms() + timeout_ms;
    char portstr[8], what[300];
    int fd = -1, e = EADDRNOTAVAIL, gai;

    if (port <= 0 || port > 65535)
        return sk_err_set(err, EINVAL, "connect: port %d out of range", port);
    hostport_format(what, sizeof(what), host, port);
    snprintf(portstr, sizeof(portstr), "%d", port);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    gai = getaddrinfo(host, portstr, &hints, &res);
    if (gai != 0)
        return sk_err_set(err, EHOSTUNREACH, "connect to '%s': %s", what, gai_strerror(gai));
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            e = errno;
            continue;
        }
        e = tcp_connect_wait(fd, ai, deadline);
        if (e == 0)
            e = fd_set_blocking(fd);
        if (e == 0)
            break;
        close(fd);
        fd = -1;
        if (e == ETIMEDOUT)
            break;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return sk_err_sys(err, e, "connect to '%s'", what);
    return fd;
}

/* --- HOST:PORT --- */

static int
parse_port(const char *s, const char *whole, int *port, struct sk_err *err)
{
    long v = 0;
    size_t i;

    if (!*s)
        return sk_err_set(err, EINVAL, "address '%s': missing port", whole);
    for (i = 0; s[i]; i++) {
        if (s[i] < '0' || s[i] > '9' || i >= 5)
            return sk_err_set(err, EINVAL, "address '%s': bad port '%s'", whole, s);
        v = v * 10 + (s[i] - '0');
    }
    if (v > 65535)
        return sk_err_set(err, EINVAL, "address '%s': port %ld out of range", whole, v);
    *port = (int)v;
    return 0;
}

int
sk_sock_parse_hostport(const char *s, char *host, size_t hostsz, int *port, struct sk_err *err)
{
    const char *h, *end, *colon;
    size_t i, len;

    if (s[0] == '[') {
        h = s + 1;
        end = strchr(h, ']');
        if (!end)
            return sk_err_set(err, EINVAL, "address '%s': missing ']'", s);
        if (end == h)
            return sk_err_set(err, EINVAL, "address '%s': empty host in brackets", s);
        colon = end + 1;
        if (*colon != ':')
            return sk_err_set(err, EINVAL, "address '%s': expected ':PORT' after ']'", s);
    } else {
        h = s;
        colon = strrchr(s, ':');
        if (!colon)
            return sk_err_set(err, EINVAL, "address '%s': missing ':PORT'", s);
        end = colon;
        if (memchr(s, ':', (size_t)(colon - s)))
            return sk_err_set(err, EINVAL, "address '%s': IPv6 address must be in brackets", s);
    }
    len = (size_t)(end - h);
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)h[i];

        if (c <= ' ' || c >= 0x7f || c == '[' || c == ']' || c == '/')
            return sk_err_set(err, EINVAL, "address '%s': bad character in host", s);
    }
    if (len >= hostsz)
        return sk_err_set(err, ENAMETOOLONG, "address '%s': host longer than %zu bytes", s,
                          hostsz ? hostsz - 1 : 0);
    if (parse_port(colon + 1, s, port, err) < 0)
        return -EINVAL;
    memcpy(host, h, len);
    host[len] = '\0';
    return 0;
}

/* --- listener --- */

struct sk_listener {
    struct sk_loop *loop;
    int fd;
    sk_accept_cb cb;
    void *arg;
    uint64_t retry_timer;
    bool warned;    /* a pause was logged, the backlog not drained since */
    bool accepting; /* inside listener_on_read: free must wait */
    bool dead;
};

static void listener_on_read(struct sk_loop *loop, int fd, unsigned events, void *arg);

static void
listener_retry(struct sk_loop *loop, void *arg)
{
    struct sk_listener *l = arg;

    l->retry_timer = 0;
    sk_loop_fd_mod(loop, l->fd, SK_EV_READ, NULL);
}

/* Out of fds or socket memory: the pending connection stays in the
 * backlog and keeps the socket readable, so polling it would spin. Take
 * the socket out of epoll and look again in a while (OpenBSD control.c
 * does the same). */
static void
listener_pause(struct sk_listener *l, int e)
{
    if (!l->warned)
        sk_warn("sock", "accept on fd %d: %s; pausing for %d ms", l->fd, strerror(e),
                ACCEPT_RETRY_MS);
    l->warned = true;
    if (sk_loop_fd_mod(l->loop, l->fd, 0, NULL) == 0 && !l->retry_timer)
        l->retry_timer = sk_loop_timer_add(l->loop, ACCEPT_RETRY_MS, listener_retry, l);
}

/* Errors accept4(2) returns for a connection that died in the backlog, or
 * that Linux passes on from the network: skip it, accept the next one. */
static bool
accept_error_is_transient(int e)
{
    switch (e) {
    case EINTR:
    case ECONNABORTED:
    case EPROTO:
    case EPERM:
    case ENETDOWN:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case EOPNOTSUPP:
    case ENETUNREACH:
        return true;
    default:
        return false;
    }
}

static void
listener_on_read(struct sk_loop *loop, int fd, unsigned events, void *arg)
{
    struct sk_listener *l = arg;
    int i, cfd;

    l->accepting = true;
    for (i = 0; i < ACCEPT_BATCH && !l->dead; i++) {
        cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (cfd >= 0) {
            l->cb(loop, cfd, l->arg);
            continue;
        }
        /* Linux checks for a free fd before looking at the backlog, so
         * taking the last fd makes the next accept4 fail EMFILE even with
         * nobody waiting: only a drained backlog ends the episode. */
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            l->warned = false;
            break;
        }
        if (accept_error_is_transient(errno))
            continue;
        listener_pause(l, errno);
        break;
    }
    l->accepting = false;
    if (l->dead)
        free(l);
}

struct sk_listener *
sk_listener_new(struct sk_loop *loop, int fd, sk_accept_cb accept_cb, void *arg)
{
    struct sk_listener *l = sk_calloc(1, sizeof(*l));
    struct sk_err err;
    int rc;

    l->loop = loop;
    l->fd = fd;
    l->cb = accept_cb;
    l->arg = arg;
    rc = sk_loop_fd_add(loop, fd, SK_EV_READ, listener_on_read, l, &err);
    if (rc < 0) {
        sk_error("sock", "listener: %s", err.msg);
        if (fd >= 0)
            close(fd);
        free(l);
        errno = -rc;
        return NULL;
    }
    return l;
}

void
sk_listener_free(struct sk_listener *l)
{
    if (!l || l->dead)
        return;
    if (l->retry_timer)
        sk_loop_timer_cancel(l->loop, l->retry_timer);
    sk_loop_fd_del(l->loop, l->fd);
    close(l->fd);
    l->fd = -1;
    l->dead = true;
    if (!l->accepting)
        free(l);
}

int
sk_listener_fd(const struct sk_listener *l)
{
    return l->fd;
}
