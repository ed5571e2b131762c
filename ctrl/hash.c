/* The pod template hash; the algorithm is documented in ctrl.h. */

#include "ctrl/ctrl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char safe_alphabet[] = "bcdfghjklmnpqrstvwxz2456789";

static uint32_t
fnv32a(uint32_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    size_t i;

    for (i = 0; i < len; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

int
ctrl_pod_template_hash(const json_t *template, int64_t collision_count, char out[CTRL_HASH_MAX],
                       struct sk_err *err)
{
    char *text, dec[16];
    uint32_t h;
    size_t i;

    if (!json_is_object(template))
        return sk_err_set(err, EINVAL, "spec.template: must be an object");
    text = json_dumps(template, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text)
        return sk_err_set(err, EINVAL, "spec.template: cannot be encoded");
    h = fnv32a(2166136261u, text, strlen(text));
    free(text);
    if (collision_count >= 0) {
        unsigned char le[4];
        uint32_t c = (uint32_t)collision_count;

        for (i = 0; i < 4; i++)
            le[i] = (unsigned char)(c >> (8 * i));
        h = fnv32a(h, le, sizeof(le));
    }
    snprintf(dec, sizeof(dec), "%u", h);
    for (i = 0; dec[i]; i++)
        out[i] = safe_alphabet[(unsigned char)dec[i] % (sizeof(safe_alphabet) - 1)];
    out[i] = '\0';
    return 0;
}
