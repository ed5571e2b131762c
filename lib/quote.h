#ifndef SK_QUOTE_H
#define SK_QUOTE_H

/* Quoting untrusted input for error messages.
 *
 * Parsers echo the text they reject ("quantity '12Mb': unknown suffix
 * 'Mb'"). That text comes from users and from the network, and error
 * messages travel on the one-line-per-message protocol and into logs, so a
 * raw newline or control byte in them would split or forge lines. */

#include <stddef.h>

/* Longest rendering of sk_quote_input() for maxlen input bytes: every byte
 * may become "\xNN" (4 bytes), plus "..." and the NUL. */
#define SK_QUOTE_SIZE(maxlen) ((maxlen)*4 + 4)

/* Render the first len bytes of s into out (outsz bytes, always
 * terminated): printable ASCII as is except '\\' and '\'' (escaped with a
 * backslash), every other byte as \xNN. At most maxlen input bytes are
 * shown; "..." marks a cut. Never fails; returns out. */
const char *sk_quote_input(char *out, size_t outsz, const char *s, size_t len, size_t maxlen);

#endif
