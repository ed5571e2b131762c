/* skiff completion bash|zsh: print the completion script.
 *
 * The script has one source, etc/bash_completion.d/skiff, which `make
 * install` puts under PREFIX/share/bash-completion/completions. Rather
 * than a second copy compiled in (which would drift), print the
 * installed file: next to the binary's PREFIX first, then the usual
 * system places, then the source tree the binary was built in. */
#include "api/cli_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Relative to the directory of the running binary. */
static const char *const rel_paths[] = {
    "../share/bash-completion/completions/skiff", /* PREFIX/bin/skiff */
    "../../etc/bash_completion.d/skiff",          /* build/bin/skiff in the tree */
    "../etc/bash_completion.d/skiff",
};

static const char *const abs_paths[] = {
    "/usr/local/share/bash-completion/completions/skiff",
    "/usr/share/bash-completion/completions/skiff",
    "/etc/bash_completion.d/skiff",
};

static int
cat_file(const char *path)
{
    char chunk[8192];
    size_t n;
    FILE *fp = fopen(path, "re");

    if (!fp)
        return -errno;
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        fwrite(chunk, 1, n, stdout);
    fclose(fp);
    return 0;
}

/* Print the bash script; 0, or -ENOENT when no copy was found. */
static int
print_bash_script(void)
{
    char exe[PATH_MAX], path[PATH_MAX + 64];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    char *slash;

    if (len > 0) {
        exe[len] = '\0';
        if ((slash = strrchr(exe, '/')))
            *slash = '\0';
        for (size_t i = 0; i < sizeof(rel_paths) / sizeof(rel_paths[0]); i++) {
            snprintf(path, sizeof(path), "%s/%s", exe, rel_paths[i]);
            if (cat_file(path) == 0)
                return 0;
        }
    }
    for (size_t i = 0; i < sizeof(abs_paths) / sizeof(abs_paths[0]); i++)
        if (cat_file(abs_paths[i]) == 0)
            return 0;
    return -ENOENT;
}

int
cli_cmd_completion(struct cli *c, int argc, char **argv)
{
    bool zsh;

    (void)c;
    if (argc != 2 || (strcmp(argv[1], "bash") && strcmp(argv[1], "zsh"))) {
        fprintf(stderr, "skiff: usage: skiff completion bash|zsh\n");
        return SKIFF_EXIT_USAGE;
    }
    zsh = !strcmp(argv[1], "zsh");
    if (zsh) /* zsh runs bash completion functions through bashcompinit */
        printf("autoload -U +X bashcompinit && bashcompinit\n");
    fflush(stdout);
    if (print_bash_script() < 0) {
        fprintf(stderr, "skiff: completion script not found: install etc/bash_completion.d/skiff "
                        "as PREFIX/share/bash-completion/completions/skiff\n");
        return SKIFF_EXIT_ERROR;
    }
    return SKIFF_EXIT_OK;
}
