/* skiff-runtime(8): thin main; the CLI lives in runtime/cli.c. */
#include "runtime/runtime.h"

int
main(int argc, char **argv, char **envp)
{
    return rt_cli_main(argc, argv, envp);
}
