#ifndef SK_API_CLI_H
#define SK_API_CLI_H

/* skiff(1): the command-line client. cmd/skiff.c only calls this. */

/* Exit statuses, the same for every verb (skiff(1), EXIT STATUS). */
enum skiff_exit {
    SKIFF_EXIT_OK = 0,
    SKIFF_EXIT_ERROR = 1,
    SKIFF_EXIT_USAGE = 2,
    SKIFF_EXIT_NOT_FOUND = 3,
    SKIFF_EXIT_UNREACHABLE = 4,
    SKIFF_EXIT_DENIED = 5,
    SKIFF_EXIT_TIMEOUT = 6,
};

int skiff_cli_main(int argc, char **argv);

#endif
