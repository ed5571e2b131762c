/* JSON merge patch, RFC 7386 section 2 (the `patch` verb). Pure. */
#include "api/objects.h"

json_t *
api_merge_patch(const json_t *target, const json_t *patch)
{
    json_t *out, *v;
    const char *key;

    if (!json_is_object(patch))
        return json_deep_copy(patch);
    out = json_is_object(target) ? json_deep_copy(target) : json_object();
    json_object_foreach ((json_t *)patch, key, v) {
        if (json_is_null(v)) {
            json_object_del(out, key);
            continue;
        }
        json_object_set_new(out, key, api_merge_patch(json_object_get(out, key), v));
    }
    return out;
}
