/* lincheck: decide whether recorded key-value histories are linearizable.
 *
 *     lincheck [-v] [-s STEPS] [-t MS] FILE...
 *
 * Each FILE ("-" for stdin) is one history in the format described in
 * store/lincheck.h and store/lincheck.c, checked on its own. Prints, per
 * file (prefixed "FILE: " when there are several):
 *
 *     linearizable
 *     NOT linearizable: key 'k': <what could be linearized, what not>
 *     undecided: key 'k': gave up after ...
 *
 * -v adds the longest linearizable prefix and the ops that could not
 * come next, and the effort spent. -s and -t bound the search (steps over
 * all keys, wall-clock ms; defaults: no step limit, 10000 ms).
 *
 * Exit status: 0 every history is linearizable; 1 one is not, or the
 * search gave up (undecided must fail a test); 2 usage error or a file
 * that cannot be read or parsed (named with its line on stderr). */
#include "store/lincheck.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void
usage(void)
{
    fprintf(stderr, "usage: lincheck [-v] [-s STEPS] [-t MS] FILE...\n");
}

static int
parse_count(const char *s, uint64_t *out)
{
    char *end;

    errno = 0;
    *out = strtoull(s, &end, 10);
    return errno || end == s || *end || s[0] == '-' ? -1 : 0;
}

static double
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* 0 linearizable, 1 not or undecided, 2 bad input. */
static int
check_file(const char *path, const struct lincheck_opts *opts, int verbose, int prefix)
{
    struct lincheck_history h;
    struct lincheck_result res;
    struct sk_err err;
    const char *pre = prefix ? path : "";
    const char *sep = prefix ? ": " : "";
    double start = now_ms();
    int rc = 2;

    sk_err_init(&err);
    lincheck_history_init(&h);
    lincheck_result_init(&res);
    if (lincheck_parse_file(path, &h, &err) < 0 || lincheck_check_opts(&h, opts, &res, &err) < 0) {
        fprintf(stderr, "lincheck: %s\n", err.msg);
        goto out;
    }
    switch (res.verdict) {
    case LINCHECK_LINEARIZABLE:
        printf("%s%slinearizable\n", pre, sep);
        rc = 0;
        break;
    case LINCHECK_NOT_LINEARIZABLE:
        printf("%s%sNOT linearizable: %s\n", pre, sep, res.explain.data);
        rc = 1;
        break;
    case LINCHECK_UNDECIDED:
        printf("%s%sundecided: %s\n", pre, sep, res.explain.data);
        rc = 1;
        break;
    }
    if (verbose) {
        if (res.detail.len)
            fputs(res.detail.data, stdout);
        printf("# %zu ops, %zu keys checked, %llu search steps, %.1f ms\n", h.nops, res.nkeys,
               (unsigned long long)res.steps, now_ms() - start);
    }
out:
    lincheck_result_release(&res);
    lincheck_history_release(&h);
    return rc;
}

int
main(int argc, char **argv)
{
    struct lincheck_opts opts = {0, LINCHECK_DEFAULT_MAX_MS, LINCHECK_DEFAULT_MAX_MEM};
    int verbose = 0, worst = 0, c, i;

    while ((c = getopt(argc, argv, "vs:t:h")) != -1) {
        switch (c) {
        case 'v':
            verbose = 1;
            break;
        case 's':
            if (parse_count(optarg, &opts.max_steps) < 0) {
                fprintf(stderr, "lincheck: -s '%s': not a number of steps\n", optarg);
                return 2;
            }
            break;
        case 't':
            if (parse_count(optarg, &opts.max_ms) < 0) {
                fprintf(stderr, "lincheck: -t '%s': not a number of milliseconds\n", optarg);
                return 2;
            }
            break;
        default:
            usage();
            return 2;
        }
    }
    if (optind == argc) {
        usage();
        return 2;
    }
    for (i = optind; i < argc; i++) {
        int rc = check_file(argv[i], &opts, verbose, argc - optind > 1);

        if (rc > worst)
            worst = rc;
        fflush(stdout);
    }
    return worst;
}
