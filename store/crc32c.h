#ifndef SK_STORE_CRC32C_H
#define SK_STORE_CRC32C_H

/* CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of
 * every store file (segments, meta, snapshots). It is the iSCSI/ext4/
 * btrfs CRC: init ~0, final xor ~0, so crc32c("123456789") == 0xE3069283.
 *
 * On x86_64 CPUs with SSE4.2 the `crc32` instruction is used (chosen once
 * at run time); everywhere else a portable slicing-by-8 table. Both give
 * identical results. Thread-safe. */

#include <stddef.h>
#include <stdint.h>

/* CRC of buf[0..len). */
uint32_t crc32c(const void *buf, size_t len);

/* Continue a CRC: crc32c_extend(crc32c(a), b) == crc32c(a || b), and
 * crc32c_extend(0, b) == crc32c(b). */
uint32_t crc32c_extend(uint32_t crc, const void *buf, size_t len);

/* CRC of a || b from crc_a = crc32c(a), crc_b = crc32c(b) and len_b =
 * length of b, without the bytes: O(log len_b). Lets a writer checksum a
 * header it only fills in after streaming the payload. */
uint32_t crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);

/* The portable table-driven implementation, whatever the CPU (tests and
 * benchmarks compare it with the dispatched one). */
uint32_t crc32c_extend_portable(uint32_t crc, const void *buf, size_t len);

/* 1 if the hardware instruction path is in use, else 0. */
int crc32c_hw_available(void);

#endif
