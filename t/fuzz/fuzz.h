#ifndef SK_T_FUZZ_H
#define SK_T_FUZZ_H

/* Every fuzz target defines the libFuzzer entry point. Built two ways
 * (Makefile): with clang -fsanitize=fuzzer for `make fuzz`, and linked
 * with t/fuzz/replay.c by every build so `make check` runs the saved
 * corpus through the targets (under ASan/UBSan with SANITIZE=1). A
 * target must never crash, hang, leak or trip a sanitizer, whatever the
 * bytes. */

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
