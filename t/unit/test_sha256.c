/* lib/sha256 and lib/base64: skiffd's own SHA-256, HMAC-SHA256 and
 * base64, against the published vectors and against OpenSSL (linked
 * into the tests, no longer into skiffd). */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "lib/base64.h"
#include "lib/sha256.h"
#include "unit.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
to_hex(const unsigned char *p, size_t n, char *out)
{
    size_t i;

    for (i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", p[i]);
}

/* FIPS 180-2 appendix B and the common long vectors. */
static const struct {
    const char *in;
    const char *hex;
} sha_vectors[] = {
    {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmno"
     "pqrsmnopqrstnopqrstu",
     "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
};

START_TEST(sha256_matches_fips_vectors)
{
    unsigned char md[SK_SHA256_LEN];
    char hex[2 * SK_SHA256_LEN + 1];

    sk_sha256(sha_vectors[_i].in, strlen(sha_vectors[_i].in), md);
    to_hex(md, sizeof(md), hex);
    ck_assert_str_eq(hex, sha_vectors[_i].hex);
    memset(hex, 'x', sizeof(hex));
    sk_hex(md, sizeof(md), hex);
    ck_assert_str_eq(hex, sha_vectors[_i].hex);
}
END_TEST

START_TEST(sha256_of_a_million_a_in_odd_pieces)
{
    static const char *want = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
    struct sk_sha256 c;
    unsigned char md[SK_SHA256_LEN];
    char chunk[1000], hex[2 * SK_SHA256_LEN + 1];
    size_t done = 0, step = 1;

    memset(chunk, 'a', sizeof(chunk));
    sk_sha256_init(&c);
    while (done < 1000000) {
        size_t n = step < 1000000 - done ? step : 1000000 - done;

        sk_sha256_update(&c, chunk, n);
        done += n;
        step = step % 997 + 1;
    }
    sk_sha256_final(&c, md);
    to_hex(md, sizeof(md), hex);
    ck_assert_str_eq(hex, want);
}
END_TEST

/* Every length around the block and padding boundaries, against
 * OpenSSL. */
START_TEST(sha256_and_hmac_agree_with_openssl_at_every_length)
{
    unsigned char data[300], key[200], a[SK_SHA256_LEN], b[EVP_MAX_MD_SIZE];
    unsigned int blen;
    size_t n, i;

    for (i = 0; i < sizeof(data); i++)
        data[i] = (unsigned char)(i * 7 + 3);
    for (i = 0; i < sizeof(key); i++)
        key[i] = (unsigned char)(i * 13 + 1);
    for (n = 0; n <= sizeof(data); n++) {
        sk_sha256(data, n, a);
        SHA256(data, n, b);
        ck_assert_msg(memcmp(a, b, SK_SHA256_LEN) == 0, "sha256 of %zu bytes", n);
    }
    for (n = 0; n <= sizeof(key); n += 7) {
        sk_hmac_sha256(key, n, data, n + 11, a);
        ck_assert(HMAC(EVP_sha256(), key, (int)n, data, n + 11, b, &blen) != NULL);
        ck_assert_msg(memcmp(a, b, SK_SHA256_LEN) == 0, "hmac with a %zu-byte key", n);
    }
}
END_TEST

/* RFC 4231 test cases 1, 2 and 6 (a key longer than a block). */
START_TEST(hmac_matches_rfc4231)
{
    unsigned char key[131], md[SK_SHA256_LEN];
    char hex[2 * SK_SHA256_LEN + 1];
    const char *big = "Test Using Larger Than Block-Size Key - Hash Key First";

    memset(key, 0x0b, 20);
    sk_hmac_sha256(key, 20, "Hi There", 8, md);
    to_hex(md, sizeof(md), hex);
    ck_assert_str_eq(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    sk_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, md);
    to_hex(md, sizeof(md), hex);
    ck_assert_str_eq(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    memset(key, 0xaa, sizeof(key));
    sk_hmac_sha256(key, sizeof(key), big, strlen(big), md);
    to_hex(md, sizeof(md), hex);
    ck_assert_str_eq(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}
END_TEST

START_TEST(mem_equal_ct_compares_every_byte)
{
    ck_assert(sk_mem_equal_ct("abcdef", "abcdef", 6));
    ck_assert(!sk_mem_equal_ct("abcdef", "abcdeg", 6));
    ck_assert(!sk_mem_equal_ct("xbcdef", "abcdef", 6));
    ck_assert(sk_mem_equal_ct("a", "b", 0));
}
END_TEST

/* RFC 4648 section 10. */
static const struct {
    const char *raw, *b64;
} b64_vectors[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

START_TEST(base64_round_trips_rfc4648_vectors)
{
    const char *raw = b64_vectors[_i].raw, *b64 = b64_vectors[_i].b64;
    char enc[16];
    unsigned char dec[16];
    ssize_t n;

    sk_base64_encode(raw, strlen(raw), enc);
    ck_assert_str_eq(enc, b64);
    ck_assert_int_eq(strlen(enc), SK_BASE64_LEN(strlen(raw)));
    n = sk_base64_decode(b64, strlen(b64), dec);
    ck_assert_int_eq(n, (ssize_t)strlen(raw));
    ck_assert(memcmp(dec, raw, (size_t)n) == 0);
}
END_TEST

START_TEST(base64_agrees_with_openssl_on_binary)
{
    unsigned char data[100], dec[100];
    char a[SK_BASE64_LEN(100) + 1], b[SK_BASE64_LEN(100) + 1];
    size_t n, i;

    for (i = 0; i < sizeof(data); i++)
        data[i] = (unsigned char)(255 - i * 5);
    for (n = 0; n <= sizeof(data); n++) {
        sk_base64_encode(data, n, a);
        EVP_EncodeBlock((unsigned char *)b, data, (int)n);
        ck_assert_str_eq(a, b);
        ck_assert_int_eq(sk_base64_decode(a, strlen(a), dec), (ssize_t)n);
        ck_assert(memcmp(dec, data, n) == 0);
    }
}
END_TEST

START_TEST(base64_decode_refuses_malformed_input)
{
    static const char *bad[] = {"Zg=",  "Zg",    "Z===", "Zm=v",     "=Zm9", "Zm9v=A==",
                                "Zm 9", "Zm9\n", "Zm-_", "Zg==Zg==", "===="};
    unsigned char out[16];
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(sk_base64_decode(bad[i], strlen(bad[i]), out) < 0, "'%s' accepted", bad[i]);
}
END_TEST

/* base64url: the standard encoding with - and _ for + and /, no '='
 * (RFC 4648 section 5), checked against the standard one at every
 * length, and what it refuses. */
START_TEST(base64url_is_base64_with_its_alphabet_and_no_padding)
{
    unsigned char data[100], dec[100];
    char std[SK_BASE64_LEN(100) + 1], url[SK_BASE64URL_LEN(100) + 1];
    static const char *bad[] = {"Z", "Zg=", "Zm9v+", "Zm9/", "Zm 9", "Zm9vY"};

    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (unsigned char)(255 - i * 5);
    for (size_t n = 0; n <= sizeof(data); n++) {
        size_t k = 0;

        sk_base64_encode(data, n, std);
        sk_base64url_encode(data, n, url);
        ck_assert_int_eq(strlen(url), SK_BASE64URL_LEN(n));
        for (; url[k]; k++)
            ck_assert_int_eq(url[k], std[k] == '+' ? '-' : std[k] == '/' ? '_' : std[k]);
        ck_assert(std[k] == '\0' || std[k] == '=');
        ck_assert_int_eq(sk_base64url_decode(url, strlen(url), dec), (ssize_t)n);
        ck_assert(memcmp(dec, data, n) == 0);
    }
    sk_base64url_encode("\xfb\xff", 2, url);
    ck_assert_str_eq(url, "-_8");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(sk_base64url_decode(bad[i], strlen(bad[i]), dec) < 0, "'%s' accepted",
                      bad[i]);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("sha256");
    TCase *tc = tcase_create("core");

    tcase_add_loop_test(tc, sha256_matches_fips_vectors, 0,
                        sizeof(sha_vectors) / sizeof(sha_vectors[0]));
    tcase_add_test(tc, sha256_of_a_million_a_in_odd_pieces);
    tcase_add_test(tc, sha256_and_hmac_agree_with_openssl_at_every_length);
    tcase_add_test(tc, hmac_matches_rfc4231);
    tcase_add_test(tc, mem_equal_ct_compares_every_byte);
    tcase_add_loop_test(tc, base64_round_trips_rfc4648_vectors, 0,
                        sizeof(b64_vectors) / sizeof(b64_vectors[0]));
    tcase_add_test(tc, base64_agrees_with_openssl_on_binary);
    tcase_add_test(tc, base64_decode_refuses_malformed_input);
    tcase_add_test(tc, base64url_is_base64_with_its_alphabet_and_no_padding);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
