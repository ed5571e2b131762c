#ifndef SK_QUOTE_H
#define SK_QUOTE_H

/* Quoting untrusted input for error messages.
 *
 * Parsers echo the text they reject ("quantity '12Mb': unknown suffix
 * 'Mb'"). That text comes from users and from the network, and error
 * messages travel on the one-line-per-message protocol and into logs, so a
 * raw newline or control byte in them would split or forge lines. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Longest rendering of sk_quote_input() for maxlen input bytes: every byte
 * may become "\xNN" (4 bytes), plus "..." and the NUL. */
#define SK_QUOTE_SIZE(maxlen) ((maxlen)*4 + 4)

/* Render the first len bytes of s into out (outsz bytes, always
 * terminated): printable ASCII as is except '\\' and '\'' (escaped with a
 * backslash), every other byte as \xNN. At most maxlen input bytes are
 * shown; "..." marks a cut. Never fails; returns out. */
const char *sk_quote_input(char *out, size_t outsz, const char *s, size_t len, size_t maxlen);

/* Percent escapes (skiff-protocol(7): a space, '%' or any byte outside
 * printable ASCII inside a protocol argument is written %XX). Decodes the
 * NUL-terminated s in place and terminates the result; returns its
 * length (it may hold NUL bytes when nul_ok), SK_PCT_MALFORMED for a '%'
 * not followed by two hex digits, or SK_PCT_NUL for %00 when !nul_ok
 * (a C-string argument that would be cut short). */
#define SK_PCT_MALFORMED (-1)
#define SK_PCT_NUL       (-2)
ssize_t sk_percent_decode(char *s, bool nul_ok);

#endif
