/* skiff(1): the command-line client. */
#include "api/cli.h"

int
main(int argc, char **argv)
{
    return skiff_cli_main(argc, argv);
}
