/* Runner shared by every unit suite. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[64];
static pid_t tmpdir_owner;

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void
remove_tmpdir(void)
{
    /* Forked Check children share the path; only the parent cleans up. */
    if (tmpdir[0] && tmpdir_owner == getpid())
        nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *
unit_tmpdir(void)
{
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/skiff-unit-XXXXXX");
        if (!mkdtemp(tmpdir)) {
            perror("mkdtemp");
            exit(2);
        }
    }
    return tmpdir;
}

int
unit_main(Suite *suite)
{
    SRunner *sr = srunner_create(suite);
    int failed;

    /* Create the scratch dir in the parent so forked tests share it and
     * the parent removes it at exit. */
    unit_tmpdir();
    tmpdir_owner = getpid();
    atexit(remove_tmpdir);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}

bool
unit_enter_private_netns(const char *test)
{
    if (geteuid() != 0) {
        fprintf(stderr, "# SKIP %s: needs root (network namespaces)\n", test);
        return false;
    }
    if (unshare(CLONE_NEWNET) < 0) {
        fprintf(stderr, "# SKIP %s: unshare(CLONE_NEWNET): %s\n", test, strerror(errno));
        return false;
    }
    return true;
}

int
unit_make_netns(void)
{
    int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC), fd;

    ck_assert_int_ge(self, 0);
    ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
    fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(setns(self, CLONE_NEWNET), 0);
    close(self);
    return fd;
}

int
unit_open_fds(void)
{
    int n = 0;

    for (int fd = 0; fd < 1024; fd++)
        if (fcntl(fd, F_GETFD) >= 0)
            n++;
    return n;
}
