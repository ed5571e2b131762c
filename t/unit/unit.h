#ifndef SK_T_UNIT_H
#define SK_T_UNIT_H

/* Shared runner for the Check suites: each t/unit/test_<module>.c builds
 * its suite and calls unit_main() from main(). */

#include <check.h>

/* Run the suite; returns the process exit status (0 when all passed). */
int unit_main(Suite *suite);

/* A temporary directory for this process, created on first use and
 * removed (recursively) at exit. */
const char *unit_tmpdir(void);

#endif
