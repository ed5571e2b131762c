/* sha256 digests of blobs and layers, through OpenSSL's EVP interface. */
#include "runtime/image_int.h"

#include "lib/alloc.h"
#include "lib/err.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

struct rt_image_sha256 {
    EVP_MD_CTX *ctx;
};

struct rt_image_sha256 *
rt_image_sha256_new(void)
{
    struct rt_image_sha256 *h = sk_malloc(sizeof(*h));

    h->ctx = EVP_MD_CTX_new();
    if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1)
        SK_BUG("sha256: cannot initialise an EVP digest context");
    return h;
}

void
rt_image_sha256_update(struct rt_image_sha256 *h, const void *data, size_t len)
{
    if (len > 0 && EVP_DigestUpdate(h->ctx, data, len) != 1)
        SK_BUG("sha256: EVP_DigestUpdate failed");
}

void
rt_image_sha256_final(struct rt_image_sha256 *h, char out[RT_IMAGE_DIGEST_LEN])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0, i;

    if (EVP_DigestFinal_ex(h->ctx, md, &mdlen) != 1 || mdlen != 32)
        SK_BUG("sha256: EVP_DigestFinal_ex failed");
    memcpy(out, "sha256:", 7);
    for (i = 0; i < mdlen; i++)
        snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
    rt_image_sha256_free(h);
}

void
rt_image_sha256_free(struct rt_image_sha256 *h)
{
    if (!h)
        return;
    EVP_MD_CTX_free(h->ctx);
    free(h);
}

void
rt_image_sha256_buf(const void *data, size_t len, char out[RT_IMAGE_DIGEST_LEN])
{
    struct rt_image_sha256 *h = rt_image_sha256_new();

    rt_image_sha256_update(h, data, len);
    rt_image_sha256_final(h, out);
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
