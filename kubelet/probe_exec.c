/* kubelet/: the probe executors (tcpSocket, httpGet, exec).
 *
 * Network namespace: the agent never moves one of its long-lived
 * threads into a pod's netns. The probe socket is created inside the
 * pod's netns on the short-lived thread net_netns_run() provides, and
 * handed back; a socket stays in the namespace it was created in, so
 * connect/send/recv then run on the caller's thread, bounded by the
 * probe's timeout with poll(2). host is an IP literal (no DNS lookups
 * from the agent); the sync loop passes the pod IP when the probe names
 * no host (Kubernetes' default), 127.0.0.1 when NULL here.
 *
 * httpGet: "GET <path> HTTP/1.1" with Host "<host>:<port>" (an
 * httpHeaders "Host" entry replaces it), User-Agent skiff-probe/<ver>,
 * Connection: close; success is a status of 200-399, as Kubernetes.
 * Header names or values holding CR or LF are refused (no request
 * smuggling through a pod spec). */
#include "kubelet/kl_int.h"

#include "lib/alloc.h"
#include "lib/clock.h"
#include "lib/version.h"
#include "net/net.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

struct sock_req {
    int family;
    int fd;
};

static int
sock_open(void *arg, struct sk_err *err)
{
    struct sock_req *r = arg;

    r->fd = socket(r->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (r->fd < 0)
        return sk_err_sys(err, errno, "socket");
    return 0;
}

static int
remaining(int64_t deadline)
{
    int64_t left = deadline - sk_clock_mono_ms();

    return left < 0 ? 0 : (int)(left > 600000 ? 600000 : left);
}

/* Connected non-blocking socket to host:port before deadline, or -1
 * with the reason in msg. */
static int
connect_to(int netns_fd, const char *host, int port, int64_t deadline, struct sk_buf *msg)
{
    struct sockaddr_storage ss = {0};
    struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    struct sock_req req = {AF_INET, -1};
    struct pollfd pfd;
    struct sk_err err;
    socklen_t len = sizeof(*in4), elen = sizeof(int);
    int soerr = 0, rc;

    if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
    } else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = req.family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        len = sizeof(*in6);
    } else {
        sk_buf_printf(msg, "host '%s' is not an IP address", host);
        return -1;
    }
    sk_err_init(&err);
    rc = netns_fd >= 0 ? net_netns_run(netns_fd, sock_open, &req, &err) : sock_open(&req, &err);
    if (rc < 0) {
        sk_buf_puts(msg, err.msg);
        return -1;
    }
    if (connect(req.fd, (struct sockaddr *)&ss, len) == 0)
        return req.fd;
    if (errno != EINPROGRESS) {
        soerr = errno;
        goto out_fail;
    }
    pfd = (struct pollfd){req.fd, POLLOUT, 0};
    do {
        rc = poll(&pfd, 1, remaining(deadline));
    } while (rc < 0 && errno == EINTR);
    if (rc == 0) {
        sk_buf_printf(msg, "dial tcp %s:%d: i/o timeout", host, port);
        close(req.fd);
        return -1;
    }
    getsockopt(req.fd, SOL_SOCKET, SO_ERROR, &soerr, &elen);
    if (soerr == 0)
        return req.fd;
out_fail:
    /* Go's spelling, as in Kubernetes' events: "connect: connection refused" */
    sk_buf_printf(msg, "dial tcp %s:%d: connect: %c%s", host, port, tolower(*strerror(soerr)),
                  strerror(soerr) + 1);
    close(req.fd);
    return -1;
}

enum kl_probe_result
kl_probe_tcp(int netns_fd, const char *host, int port, int64_t timeout_ms, struct sk_buf *msg)
{
    int fd =
        connect_to(netns_fd, host ? host : "127.0.0.1", port, sk_clock_mono_ms() + timeout_ms, msg);

    if (fd < 0)
        return KL_PROBE_FAILURE;
    close(fd);
    return KL_PROBE_SUCCESS;
}

static bool
header_safe(const char *s)
{
    return strpbrk(s, "\r\n") == NULL;
}

static int
build_request(const char *host, int port, const char *path, const json_t *headers,
              struct sk_buf *req, struct sk_buf *msg)
{
    bool own_host = false;
    size_t i;
    json_t *h;

    if (!path || !*path)
        path = "/";
    if (!header_safe(path) || strchr(path, ' ')) {
        sk_buf_puts(msg, "invalid path");
        return -1;
    }
    sk_buf_printf(req, "GET %s%s HTTP/1.1\r\n", *path == '/' ? "" : "/", path);
    json_array_foreach ((json_t *)headers, i, h) {
        const char *n = json_string_value(json_object_get(h, "name"));
        const char *v = json_string_value(json_object_get(h, "value"));
        if (!n || !v || !*n || !header_safe(n) || !header_safe(v) || strchr(n, ':')) {
            sk_buf_printf(msg, "invalid header %zu", i);
            return -1;
        }
        own_host |= strcasecmp(n, "Host") == 0;
        sk_buf_printf(req, "%s: %s\r\n", n, v);
    }
    if (!own_host)
        sk_buf_printf(req, strchr(host, ':') ? "Host: [%s]:%d\r\n" : "Host: %s:%d\r\n", host, port);
    sk_buf_printf(req, "User-Agent: skiff-probe/%s\r\nAccept: */*\r\nConnection: close\r\n\r\n",
                  SKIFF_VERSION);
    return 0;
}

/* Wait for fd to be ready for events before deadline: 1 ready, 0 timeout. */
static int
wait_fd(int fd, short events, int64_t deadline)
{
    struct pollfd pfd = {fd, events, 0};
    int rc;

    do {
        rc = poll(&pfd, 1, remaining(deadline));
    } while (rc < 0 && errno == EINTR);
    return rc > 0;
}

static int
send_all(int fd, const struct sk_buf *req, int64_t deadline)
{
    size_t off = 0;

    while (off < req->len) {
        ssize_t n = send(fd, req->data + off, req->len - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return -1;
        if (!wait_fd(fd, POLLOUT, deadline))
            return -1;
    }
    return 0;
}

/* Read until the status line is complete: its code, or -1. */
static int
read_status(int fd, int64_t deadline, struct sk_buf *msg)
{
    char buf[512];
    size_t len = 0;
    int code;

    while (len < sizeof(buf) - 1 && !memchr(buf, '\n', len)) {
        ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
        if (n > 0) {
            len += (size_t)n;
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EINTR))
            break;
        if (!wait_fd(fd, POLLIN, deadline)) {
            sk_buf_puts(msg, "context deadline exceeded (Client.Timeout exceeded while "
                             "awaiting headers)");
            return -1;
        }
    }
    buf[len] = '\0';
    if (sscanf(buf, "HTTP/1.%*1[01] %3d", &code) != 1 || code < 100 || code > 999) {
        sk_buf_puts(msg, "malformed HTTP response");
        return -1;
    }
    return code;
}

enum kl_probe_result
kl_probe_http(int netns_fd, const char *host, int port, const char *path, const json_t *headers,
              int64_t timeout_ms, struct sk_buf *msg)
{
    int64_t deadline = sk_clock_mono_ms() + timeout_ms;
    struct sk_buf req = SK_BUF_INIT;
    enum kl_probe_result res = KL_PROBE_FAILURE;
    int fd, code;

    if (!host)
        host = "127.0.0.1";
    if (build_request(host, port, path, headers, &req, msg) < 0)
        goto out_release;
    fd = connect_to(netns_fd, host, port, deadline, msg);
    if (fd < 0)
        goto out_release;
    if (send_all(fd, &req, deadline) < 0) {
        sk_buf_printf(msg, "write to %s:%d failed", host, port);
        goto out_close;
    }
    code = read_status(fd, deadline, msg);
    if (code < 0)
        goto out_close;
    if (code >= 200 && code < 400)
        res = KL_PROBE_SUCCESS;
    else
        sk_buf_printf(msg, "HTTP probe failed with statuscode: %d", code);
out_close:
    close(fd);
out_release:
    sk_buf_release(&req);
    return res;
}

static void
exec_child(const struct rt_ctx *ctx, const char *id, const struct rt_process *proc, int out)
{
    struct sk_err err;
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC), rc;

    setpgid(0, 0);
    if (devnull >= 0)
        dup2(devnull, 0);
    dup2(out, 1);
    dup2(out, 2);
    sk_err_init(&err);
    rc = rt_container_exec(ctx, id, proc, &err);
    if (rc < 0) {
        dprintf(2, "%s", err.msg);
        _exit(126);
    }
    _exit(rc & 0xff);
}

/* Read the child's output until EOF or the deadline: 0 EOF, -1 timeout. */
static int
drain(int fd, int64_t deadline, struct sk_buf *out)
{
    char buf[1024];

    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n > 0) {
            if (out->len < 1024)
                sk_buf_append(out, buf, (size_t)n > 1024 - out->len ? 1024 - out->len : (size_t)n);
            continue;
        }
        if (n == 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            return 0;
        if (!wait_fd(fd, POLLIN, deadline))
            return -1;
    }
}

enum kl_probe_result
kl_probe_exec(const struct rt_ctx *ctx, const char *id, const struct rt_process *base,
              const json_t *command, int64_t timeout_ms, struct sk_buf *msg)
{
    int64_t deadline = sk_clock_mono_ms() + timeout_ms;
    struct rt_process proc = *base;
    struct kl_strv argv = {0};
    int pfd[2] = {-1, -1}, status = 0, timed_out;
    pid_t pid;
    size_t i;
    json_t *s;

    json_array_foreach ((json_t *)command, i, s)
        kl_strv_push(&argv, sk_strdup(json_string_value(s) ? json_string_value(s) : ""));
    proc.args = argv.v;
    proc.nargs = argv.n;
    if (argv.n == 0 || pipe2(pfd, O_CLOEXEC | O_NONBLOCK) < 0) {
        sk_buf_puts(msg, argv.n == 0 ? "no command" : "pipe failed");
        kl_strv_release(&argv);
        return KL_PROBE_FAILURE;
    }
    pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        exec_child(ctx, id, &proc, pfd[1]);
    }
    close(pfd[1]);
    if (pid < 0) {
        sk_buf_printf(msg, "fork: %s", strerror(errno));
        close(pfd[0]);
        kl_strv_release(&argv);
        return KL_PROBE_FAILURE;
    }
    setpgid(pid, pid); /* both sides, so the kill below never misses */
    timed_out = drain(pfd[0], deadline, msg) < 0;
    if (timed_out)
        kill(-pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    close(pfd[0]);
    kl_strv_release(&argv);
    if (timed_out) {
        sk_buf_reset(msg);
        sk_buf_printf(msg, "command timed out after %llds", (long long)(timeout_ms / 1000));
        return KL_PROBE_FAILURE;
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? KL_PROBE_SUCCESS : KL_PROBE_FAILURE;
}
