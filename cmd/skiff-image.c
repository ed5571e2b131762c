/* skiff-image: the image store's CLI (`skiff-runtime image VERB ...`
 * runs it, git-style). A program of its own so that skiff-runtime, which
 * every container start executes, does not load libarchive, libcrypto
 * and their dependencies. */
#include "runtime/image.h"

int
main(int argc, char **argv)
{
    return rt_image_cli(argc, argv, NULL);
}
