#ifndef SK_T_UNIT_H
#define SK_T_UNIT_H

/* Shared runner for the Check suites: each t/unit/test_<module>.c builds
 * its suite and calls unit_main() from main(). */

#include <check.h>
#include <stdbool.h>

/* Run the suite; returns the process exit status (0 when all passed). */
int unit_main(Suite *suite);

/* A temporary directory for this process, created on first use and
 * removed (recursively) at exit. */
const char *unit_tmpdir(void);

/* Move this test process into a network namespace of its own, so the
 * kernel tests touch nothing of the host's. false (with a "# SKIP"
 * line naming test) when not root or when the kernel refuses. */
bool unit_enter_private_netns(const char *test);

/* Another netns, held by the returned fd only (gone when it closes;
 * loopback down); the caller stays in its own. Asserts on failure. */
int unit_make_netns(void);

/* How many of fds 0..1023 are open: for tests that nothing leaks. */
int unit_open_fds(void);

#endif
