/* notify-listen: the receiving end of systemd's readiness protocol
 * (sd_notify(3)) for the tests, in place of systemd.
 *
 *     notify-listen PATH SECONDS
 *
 * Binds a UNIX datagram socket at PATH (removed first if it exists) and
 * prints every datagram it receives, one assignment a line, each
 * datagram followed by a line "--", flushing as it goes, until SECONDS
 * have passed or SIGTERM arrives. Exit status 0, 1 on errors, 2 on
 * usage errors. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void
on_term(int signo)
{
    (void)signo;
    stop = 1;
}

static long long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
serve(int fd, long long deadline)
{
    char buf[4096];

    while (!stop && now_ms() < deadline) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        long long left = deadline - now_ms();
        ssize_t n;
        int r = poll(&p, 1, left > 200 ? 200 : (int)(left > 0 ? left : 0));

        if (r < 0 && errno != EINTR)
            return -1;
        if (r <= 0)
            continue;
        n = recv(fd, buf, sizeof(buf) - 1, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buf[n] = '\0';
        printf("%s%s--\n", buf, n > 0 && buf[n - 1] != '\n' ? "\n" : "");
        fflush(stdout);
    }
    return 0;
}

int
main(int argc, char **argv)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    struct sigaction sa;
    int fd = -1, rc = 1;
    long secs;

    if (argc != 3 || strlen(argv[1]) >= sizeof(addr.sun_path) ||
        (secs = strtol(argv[2], NULL, 10)) <= 0) {
        fprintf(stderr, "usage: notify-listen PATH SECONDS\n");
        return 2;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    memcpy(addr.sun_path, argv[1], strlen(argv[1]));
    unlink(argv[1]);
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        fprintf(stderr, "notify-listen: %s: %s\n", argv[1], strerror(errno));
        goto out;
    }
    if (serve(fd, now_ms() + secs * 1000) < 0) {
        fprintf(stderr, "notify-listen: receive: %s\n", strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    unlink(argv[1]);
    return rc;
}
