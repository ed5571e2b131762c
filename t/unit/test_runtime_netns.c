/* runtime: the network namespace made beside create (netns.c): only
 * when the spec asks for a new one and no user namespace, handed over
 * as an fd of a new network namespace, or nothing (the clone makes
 * it), never a leaked thread or descriptor. */
#include "runtime/rt_int.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static char netpath[] = "/proc/self/ns/net";

static const struct {
    const char *name;
    struct rt_namespace ns[3];
    size_t n;
    int want; /* started */
} cases[] = {
    {"no namespaces", {{0, NULL}}, 0, 0},
    {"pid and mount only", {{CLONE_NEWPID, NULL}, {CLONE_NEWNS, NULL}}, 2, 0},
    {"network joined by path", {{CLONE_NEWNS, NULL}, {CLONE_NEWNET, netpath}}, 2, 0},
    {"network with a user namespace", {{CLONE_NEWUSER, NULL}, {CLONE_NEWNET, NULL}}, 2, 0},
    {"user namespace after network", {{CLONE_NEWNET, NULL}, {CLONE_NEWUSER, NULL}}, 2, 0},
    {"a new network namespace", {{CLONE_NEWNS, NULL}, {CLONE_NEWNET, NULL}}, 2, 1},
};

START_TEST(prefetch_only_for_a_new_netns_without_userns)
{
    struct rt_spec spec;
    struct rt_netns_prefetch p;
    int before = unit_open_fds(), fd;
    struct stat own, b;

    ck_assert_int_eq(stat(netpath, &own), 0);
    memset(&spec, 0, sizeof(spec));
    spec.namespaces = (struct rt_namespace *)cases[_i].ns;
    spec.nnamespaces = cases[_i].n;
    rt_netns_prefetch_start(&p, &spec);
    ck_assert_msg(p.started == cases[_i].want, "%s: started %d", cases[_i].name, p.started);
    fd = rt_netns_prefetch_take(&p);
    if (!cases[_i].want) {
        ck_assert_int_eq(fd, -1);
    } else if (fd >= 0) { /* root: a new network namespace, not ours */
        struct stat a;

        ck_assert_int_eq(ioctl(fd, NS_GET_NSTYPE), CLONE_NEWNET);
        ck_assert_int_eq(fstat(fd, &a), 0);
        ck_assert_msg(a.st_ino != own.st_ino, "%s: the caller's own namespace", cases[_i].name);
        ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
        close(fd);
    }
    rt_netns_prefetch_end(&p);
    /* only the thread moved: the caller stays where it was */
    ck_assert_int_eq(stat(netpath, &b), 0);
    ck_assert_int_eq(b.st_ino, own.st_ino);
    ck_assert_int_eq(p.started, 0);
    ck_assert_int_eq(unit_open_fds(), before);
}
END_TEST

START_TEST(unclaimed_namespace_is_dropped_with_the_sockets)
{
    struct rt_namespace ns[] = {{CLONE_NEWNET, NULL}};
    struct rt_spec spec;
    struct rt_netns_prefetch p;
    int before = unit_open_fds();

    memset(&spec, 0, sizeof(spec));
    spec.namespaces = ns;
    spec.nnamespaces = 1;
    rt_netns_prefetch_start(&p, &spec);
    rt_netns_prefetch_end(&p); /* the monitor never took it */
    ck_assert_int_eq(unit_open_fds(), before);
    ck_assert_int_eq(rt_netns_prefetch_take(&p), -1);
}
END_TEST

START_TEST(take_without_sender_sees_eof)
{
    struct rt_netns_prefetch p = {{-1, -1}, 0, 0};
    int sv[2];

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    p.sock[0] = sv[0];
    p.sock[1] = sv[1];
    rt_netns_prefetch_forked(&p); /* as the monitor: closes the sender */
    ck_assert_int_eq(p.sock[1], -1);
    ck_assert_int_eq(rt_netns_prefetch_take(&p), -1);
    ck_assert_int_eq(p.sock[0], -1);
    rt_netns_prefetch_end(&p);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("runtime_netns");
    TCase *tc = tcase_create("netns");

    tcase_add_loop_test(tc, prefetch_only_for_a_new_netns_without_userns, 0,
                        (int)(sizeof(cases) / sizeof(cases[0])));
    tcase_add_test(tc, unclaimed_namespace_is_dropped_with_the_sockets);
    tcase_add_test(tc, take_without_sender_sees_eof);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
