/* skiff-monitor: the per-container monitor (see runtime/monitor.c), a
 * binary of its own so that it maps only what it needs: skiff-runtime
 * and skiffd link libraries (libarchive, libcrypto, ...) whose pages
 * would otherwise count against every running container. */
#include "runtime/runtime.h"

#include <string.h>

int
main(int argc, char **argv)
{
    if (argc == 9 && strcmp(argv[1], "_monitor") == 0)
        return rt_monitor_exec_main(argc - 1, argv + 1);
    return 1;
}
