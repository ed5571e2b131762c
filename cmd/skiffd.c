/* skiffd: placeholder main until its module lands. */
#include "lib/version.h"

#include <stdio.h>
#include <string.h>

int
main(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0)) {
        printf("skiffd %s\n", SKIFF_VERSION);
        return 0;
    }
    return 0;
}
