/* store/crc32c: CRC-32C vectors, hardware/portable agreement, combine. */
#include "store/crc32c.h"
#include "unit.h"

#include <stdint.h>
#include <string.h>

static const struct {
    const char *name;
    unsigned char data[48];
    size_t len;
    uint32_t crc;
} vectors[] = {
    {"empty", {0}, 0, 0x00000000},
    {"check string", "123456789", 9, 0xE3069283},
    {"single a", "a", 1, 0xC1D04330},
    {"32 zero bytes (rfc 3720)", {0}, 32, 0x8A9136AA},
    {"32 bytes 0xff (rfc 3720)",
     {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
     32,
     0x62A8AB43},
    {"32 ascending bytes (rfc 3720)",
     {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
      16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31},
     32,
     0x46DD794E},
    {"32 descending bytes (rfc 3720)",
     {31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16,
      15, 14, 13, 12, 11, 10, 9,  8,  7,  6,  5,  4,  3,  2,  1,  0},
     32,
     0x113FDB5C},
};

START_TEST(known_vectors_match_both_implementations)
{
    size_t i = (size_t)_i;

    ck_assert_msg(crc32c(vectors[i].data, vectors[i].len) == vectors[i].crc, "%s: dispatched",
                  vectors[i].name);
    ck_assert_msg(crc32c_extend_portable(0, vectors[i].data, vectors[i].len) == vectors[i].crc,
                  "%s: portable", vectors[i].name);
}
END_TEST

static void
fill_pseudo_random(unsigned char *p, size_t len, uint64_t seed)
{
    size_t i;

    for (i = 0; i < len; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        p[i] = (unsigned char)(seed >> 56);
    }
}

START_TEST(hardware_and_portable_agree_on_every_length_and_alignment)
{
    static unsigned char buf[4096 + 16];
    size_t off, len;

    fill_pseudo_random(buf, sizeof(buf), 42);
    for (off = 0; off < 16; off++)
        for (len = 0; len < 300; len++)
            ck_assert_uint_eq(crc32c(buf + off, len), crc32c_extend_portable(0, buf + off, len));
    ck_assert_uint_eq(crc32c(buf, 4096), crc32c_extend_portable(0, buf, 4096));
    /* Not an assertion about the machine, only that the query works. */
    ck_assert(crc32c_hw_available() == 0 || crc32c_hw_available() == 1);
}
END_TEST

START_TEST(extend_equals_crc_of_concatenation)
{
    static unsigned char buf[1000];
    size_t cut;

    fill_pseudo_random(buf, sizeof(buf), 7);
    for (cut = 0; cut <= sizeof(buf); cut += 37)
        ck_assert_uint_eq(crc32c_extend(crc32c(buf, cut), buf + cut, sizeof(buf) - cut),
                          crc32c(buf, sizeof(buf)));
    ck_assert_uint_eq(crc32c_extend(0, "123456789", 9), 0xE3069283);
}
END_TEST

START_TEST(combine_equals_crc_of_concatenation)
{
    static unsigned char buf[5000];
    size_t cut;
    uint32_t a, b;

    fill_pseudo_random(buf, sizeof(buf), 99);
    for (cut = 0; cut <= sizeof(buf); cut += 113) {
        a = crc32c(buf, cut);
        b = crc32c(buf + cut, sizeof(buf) - cut);
        ck_assert_uint_eq(crc32c_combine(a, b, sizeof(buf) - cut), crc32c(buf, sizeof(buf)));
    }
    ck_assert_uint_eq(crc32c_combine(crc32c("1234", 4), crc32c("56789", 5), 5), 0xE3069283);
    ck_assert_uint_eq(crc32c_combine(0x12345678, 0, 0), 0x12345678);
}
END_TEST

START_TEST(single_bit_flips_change_the_crc)
{
    unsigned char buf[64];
    uint32_t base;
    size_t bit;

    fill_pseudo_random(buf, sizeof(buf), 1);
    base = crc32c(buf, sizeof(buf));
    for (bit = 0; bit < sizeof(buf) * 8; bit++) {
        buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        ck_assert_uint_ne(crc32c(buf, sizeof(buf)), base);
        buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    }
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("crc32c");
    TCase *tc = tcase_create("core");

    tcase_add_loop_test(tc, known_vectors_match_both_implementations, 0,
                        (int)(sizeof(vectors) / sizeof(vectors[0])));
    tcase_add_test(tc, hardware_and_portable_agree_on_every_length_and_alignment);
    tcase_add_test(tc, extend_equals_crc_of_concatenation);
    tcase_add_test(tc, combine_equals_crc_of_concatenation);
    tcase_add_test(tc, single_bit_flips_change_the_crc);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
