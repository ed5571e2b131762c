#ifndef SK_FDPASS_H
#define SK_FDPASS_H

/* Passing one file descriptor over a UNIX socket (SCM_RIGHTS), as the
 * runtime's console socket (runc's --console-socket protocol), the
 * network namespace handed from the runtime's thread to its monitor and
 * the agent's exec relay do. */

#include <stddef.h>
#include <sys/types.h>

/* Send data (len >= 1 bytes) in one message, with fd attached unless it
 * is negative. EINTR is retried; no SIGPIPE. 0 or -errno. */
int sk_fd_send(int sock, int fd, const void *data, size_t len);

/* Receive one message of at most len bytes into data. *fd is the fd it
 * carried (close-on-exec) or -1 when it carried none. flags go to
 * recvmsg(2) (MSG_DONTWAIT...). EINTR is retried. Returns the bytes of
 * data (0: end of file) or -errno. */
ssize_t sk_fd_recv(int sock, int *fd, void *data, size_t len, int flags);

#endif
