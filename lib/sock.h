#ifndef SK_SOCK_H
#define SK_SOCK_H

/* Socket helpers that report into struct sk_err, and a listener that
 * accepts connections on the event loop.
 *
 * Every fd returned here is CLOEXEC. Listening sockets are non-blocking;
 * connected client sockets are blocking (sk_conn_new() makes its fd
 * non-blocking itself). No function resolves a host name for listening:
 * only IP literals, "*" and "localhost" are accepted, so starting a daemon
 * never waits on DNS. */

#include "err.h"
#include "loop.h"

#include <stddef.h>
#include <sys/types.h>

#define SK_SOCK_BACKLOG 512

/* Listen on a UNIX stream socket at path with permissions mode (e.g.
 * 0660). An existing path is refused unless it is a socket nobody answers
 * on (a stale socket left by a crash), which is removed first; a live one
 * fails with EADDRINUSE "address in use", anything else (file, symlink,
 * directory) with ENOTSOCK. The socket is bound under umask 0177, so it is
 * never reachable with wider permissions, then chmod'ed to mode. Returns
 * the fd (non-blocking, backlog 512) or negative; the caller unlinks path
 * when done. */
int sk_sock_listen_unix(const char *path, mode_t mode, struct sk_err *err);

/* Listen on TCP host:port with SO_REUSEADDR. host is an IPv4 or IPv6
 * literal, "localhost" (127.0.0.1), or "*", "" or NULL for every address
 * (IPv6 dual-stack, IPv4 if IPv6 is unavailable). port 0 picks a free port:
 * read it with sk_sock_local_port(). Returns the fd (non-blocking, backlog
 * 512) or negative. */
int sk_sock_listen_tcp(const char *host, int port, struct sk_err *err);

/* The local port a TCP socket is bound to, or negative errno. */
int sk_sock_local_port(int fd);

/* Connect to a UNIX stream socket. Returns a blocking fd or negative
 * (ENOENT, ECONNREFUSED for a stale socket, ...). */
int sk_sock_connect_unix(const char *path, struct sk_err *err);

/* Connect to TCP host:port (a literal or a name; every address is tried
 * in turn), giving up after timeout_ms in total (-1: the kernel's own
 * timeout) with ETIMEDOUT. Returns a blocking fd or negative. */
int sk_sock_connect_tcp(const char *host, int port, int timeout_ms, struct sk_err *err);

/* Set O_NONBLOCK on fd. */
int sk_sock_set_nonblock(int fd, struct sk_err *err);

/* The credentials of a UNIX socket's peer (SO_PEERCRED), as they were
 * when it connected. Any of uid, gid, pid may be NULL. */
int sk_sock_peercred(int fd, uid_t *uid, gid_t *gid, pid_t *pid, struct sk_err *err);

/* Split "HOST:PORT" into host (at most hostsz - 1 bytes) and port:
 * "127.0.0.1:6443", "[::1]:6443" (brackets removed), "name:6443",
 * ":6443" (host ""). The port is decimal, 0..65535. Fails with EINVAL on
 * a missing or bad port, unbracketed IPv6, unbalanced brackets, and
 * ENAMETOOLONG if host does not fit. */
int sk_sock_parse_hostport(const char *s, char *host, size_t hostsz, int *port, struct sk_err *err);

/* A listening socket served by the loop: every connection is accepted
 * (accept4, CLOEXEC | NONBLOCK, at most a batch per wakeup so other fds get
 * their turn) and handed to accept_cb, which owns client_fd from then on.
 * When the process or system runs out of fds (EMFILE, ENFILE) or memory
 * for sockets, accepting pauses: the socket leaves epoll (so the loop does
 * not spin on a connection it cannot take) and is retried from a 100 ms
 * timer, with one warning per episode. */
struct sk_listener;
typedef void (*sk_accept_cb)(struct sk_loop *loop, int client_fd, void *arg);

/* Serve the listening socket fd, which the listener owns from here on
 * (also on failure, when fd is closed and NULL is returned with errno set;
 * the reason is logged). */
struct sk_listener *sk_listener_new(struct sk_loop *loop, int fd, sk_accept_cb accept_cb,
                                    void *arg);

/* Stop accepting and close the socket. Safe inside accept_cb. NULL is a
 * no-op. */
void sk_listener_free(struct sk_listener *l);

/* The listening fd (e.g. for sk_sock_local_port()). */
int sk_listener_fd(const struct sk_listener *l);

#endif
