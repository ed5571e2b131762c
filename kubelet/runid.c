/* kubelet/runid.c: names of container runs in the runtime's state dir.
 *
 * "<pod uid>_<container>_<attempt>": the uid (36 bytes) and a container
 * name (a DNS label, so no '_') fit the runtime's 128-byte ids, and an
 * agent that restarts reads pod, container and attempt back from the
 * listing alone (adopt.c). Pure. */
#include "kubelet/kl_int.h"

#include <stdlib.h>
#include <string.h>

int
kl_run_id_format(const char *uid, const char *name, int attempt, char *out, size_t outsz)
{
    return sk_snprintf(out, outsz, "%s_%s_%d", uid, name, attempt);
}

bool
kl_run_id_parse(const char *id, char *uid, size_t uidsz, char *name, size_t namesz, int *attempt)
{
    const char *u = strchr(id, '_'), *l = strrchr(id, '_');
    char *end;
    long n;

    if (!u || u == id || u == l || l == u + 1 || (size_t)(u - id) >= uidsz ||
        (size_t)(l - u - 1) >= namesz || !l[1])
        return false;
    n = strtol(l + 1, &end, 10);
    if (*end || n <= 0 || n > 1000000 || l[1] == '+' || l[1] == ' ')
        return false;
    memcpy(uid, id, (size_t)(u - id));
    uid[u - id] = '\0';
    memcpy(name, u + 1, (size_t)(l - u - 1));
    name[l - u - 1] = '\0';
    *attempt = (int)n;
    return true;
}
