/* CRC-32C: portable slicing-by-8 plus the SSE4.2 instruction, chosen at
 * run time (see crc32c.h).
 *
 * Slicing-by-8 keeps eight 256-entry tables: table[k][b] is the CRC
 * register contribution of byte b followed by k zero bytes, so eight input
 * bytes fold into the register with eight independent lookups instead of
 * eight dependent ones. The tables (8 KiB) are computed once on first use.
 *
 * crc32c_combine works in GF(2)[x] modulo the CRC polynomial, in the
 * reflected bit order the register uses (bit 31 is the x^0 coefficient).
 * Appending n zero bytes to a message multiplies its register by x^(8n),
 * and for the standard pre/post inversion:
 *
 *     crc(a || b) = crc(a) * x^(8 * len(b)) mod P  xor  crc(b)
 *
 * x^(8n) is built from a table of x^(2^k) by square-and-multiply. */
#include "crc32c.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CRC32C_HAVE_X86 1
#include <nmmintrin.h>
#else
#define CRC32C_HAVE_X86 0
#endif

#define CRC32C_POLY 0x82F63B78u

typedef uint32_t (*crc32c_fn)(uint32_t crc, const unsigned char *p, size_t len);

static uint32_t crc_table[8][256];
static uint32_t crc_x2n[67]; /* x^(2^k) mod P; k up to 3 + 63 for any u64 byte count */
static crc32c_fn crc_impl;
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static uint32_t
crc_portable(uint32_t crc, const unsigned char *p, size_t len)
{
    uint32_t lo, hi;

    crc = ~crc;
    while (len >= 8) {
        /* Assembled byte by byte so it is endian-independent; compilers
         * turn this into one load on little-endian machines. */
        lo = crc ^
             ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
        crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
              crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^ crc_table[3][hi & 0xff] ^
              crc_table[2][(hi >> 8) & 0xff] ^ crc_table[1][(hi >> 16) & 0xff] ^
              crc_table[0][hi >> 24];
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

#if CRC32C_HAVE_X86
/* The target attribute lets this one function use SSE4.2 while the rest
 * of the tree is built for the baseline ISA; it is only called after
 * __builtin_cpu_supports("sse4.2") said yes. */
__attribute__((target("sse4.2"))) static uint32_t
crc_sse42(uint32_t crc, const unsigned char *p, size_t len)
{
    uint64_t c;
    uint64_t w;

    crc = ~crc;
    while (len && ((uintptr_t)p & 7)) {
        crc = _mm_crc32_u8(crc, *p++);
        len--;
    }
    c = crc;
    while (len >= 8) {
        memcpy(&w, p, 8);
        c = _mm_crc32_u64(c, w);
        p += 8;
        len -= 8;
    }
    crc = (uint32_t)c;
    while (len--)
        crc = _mm_crc32_u8(crc, *p++);
    return ~crc;
}
#endif

/* a * b mod P, both in reflected order. */
static uint32_t
crc_mulmod(uint32_t a, uint32_t b)
{
    uint32_t m, p = 0;

    for (m = 1u << 31; m; m >>= 1) {
        if (a & m)
            p ^= b;
        b = (b & 1) ? (b >> 1) ^ CRC32C_POLY : b >> 1;
    }
    return p;
}

static void
crc_init(void)
{
    uint32_t c;
    int n, k;

    for (n = 0; n < 256; n++) {
        c = (uint32_t)n;
        for (k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ CRC32C_POLY : c >> 1;
        crc_table[0][n] = c;
    }
    for (n = 0; n < 256; n++) {
        c = crc_table[0][n];
        for (k = 1; k < 8; k++) {
            c = crc_table[0][c & 0xff] ^ (c >> 8);
            crc_table[k][n] = c;
        }
    }
    crc_x2n[0] = 1u << 30; /* x^1 */
    for (k = 1; k < 67; k++)
        crc_x2n[k] = crc_mulmod(crc_x2n[k - 1], crc_x2n[k - 1]);
    crc_impl = crc_portable;
#if CRC32C_HAVE_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("sse4.2"))
        crc_impl = crc_sse42;
#endif
}

static void
crc_ensure_init(void)
{
    pthread_once(&crc_once, crc_init);
}

uint32_t
crc32c_extend(uint32_t crc, const void *buf, size_t len)
{
    crc_ensure_init();
    return crc_impl(crc, buf, len);
}

uint32_t
crc32c(const void *buf, size_t len)
{
    return crc32c_extend(0, buf, len);
}

uint32_t
crc32c_extend_portable(uint32_t crc, const void *buf, size_t len)
{
    crc_ensure_init();
    return crc_portable(crc, buf, len);
}

int
crc32c_hw_available(void)
{
    crc_ensure_init();
    return crc_impl != crc_portable;
}

uint32_t
crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b)
{
    uint32_t xn = 1u << 31; /* x^0 */
    int k = 3;              /* x^(2^3) = x^8: one byte */

    crc_ensure_init();
    while (len_b) {
        if (len_b & 1)
            xn = crc_mulmod(crc_x2n[k], xn);
        len_b >>= 1;
        k++;
    }
    return crc_mulmod(xn, crc_a) ^ crc_b;
}
