/* sha256 of blobs and layers while they are imported, through OpenSSL's
 * EVP interface: its SHA extensions / AVX2 code hashes a layer several
 * times faster than lib/sha256.c. Linked only by the importers
 * (image_put.c, image_layer.c); the small digests and the digest
 * strings are in image_digest_text.c. */
#include "runtime/image_int.h"

#include "lib/sha256.h"

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
    unsigned int mdlen = 0;

    if (EVP_DigestFinal_ex(h->ctx, md, &mdlen) != 1 || mdlen != 32)
        SK_BUG("sha256: EVP_DigestFinal_ex failed");
    memcpy(out, "sha256:", 7);
    sk_hex(md, mdlen, out + 7);
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
