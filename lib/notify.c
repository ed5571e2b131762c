/* sd_notify by hand: see notify.h. */
#include "notify.h"
#include "buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int
sk_notify(const char *state, struct sk_err *err)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    socklen_t addrlen;
    size_t plen;
    int fd, rc = 0;

    if (!path || !*path)
        return 0;
    plen = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || plen >= sizeof(addr.sun_path))
        return sk_err_set(err, EINVAL, "NOTIFY_SOCKET '%s': not a socket path", path);
    memcpy(addr.sun_path, path, plen);
    if (path[0] == '@')
        addr.sun_path[0] = '\0';
    addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return sk_err_sys(err, errno, "notify socket");
    if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&addr, addrlen) < 0)
        rc = sk_err_sys(err, errno, "notify '%s'", path);
    close(fd);
    return rc;
}
