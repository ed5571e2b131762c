/* "sha256:<hex>" digest strings, and the digest of a small blob
 * (manifests, configs) through lib/sha256.c: what the node agent needs
 * to check an image's config before it runs it, without libcrypto
 * (image_put.c says why). */
#include "runtime/image_int.h"

#include "lib/sha256.h"

#include <string.h>

void
rt_image_sha256_buf(const void *data, size_t len, char out[RT_IMAGE_DIGEST_LEN])
{
    unsigned char md[SK_SHA256_LEN];

    sk_sha256(data, len, md);
    memcpy(out, "sha256:", 7);
    sk_hex(md, SK_SHA256_LEN, out + 7);
}

int
rt_image_digest_valid(const char *s)
{
    size_t i;

    if (!s || strncmp(s, "sha256:", 7) != 0 || strlen(s) != 7 + 64)
        return 0;
    for (i = 7; i < 7 + 64; i++)
        if (!strchr("0123456789abcdef", s[i]) || s[i] == '\0')
            return 0;
    return 1;
}

const char *
rt_image_digest_hex(const char *digest)
{
    return digest + 7;
}
