#ifndef SK_QUANTITY_H
#define SK_QUANTITY_H

/* Resource quantities: "250m", "128Mi", "1.5Gi", "1e3", with the semantics
 * of Kubernetes' resource.Quantity (k8s.io/apimachinery/pkg/api/resource).
 *
 * Grammar (a whole string, no surrounding or inner whitespace):
 *
 *     quantity = [sign] number suffix
 *     sign     = "+" | "-"
 *     number   = digits | digits "." [digits] | "." digits
 *     suffix   = ""                                   (plain number)
 *              | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei"   (binary, 2^10n)
 *              | "n" | "u" | "m" | "k" | "M" | "G" | "T" | "P" | "E"
 *              | ("e" | "E") [sign] digits            (decimal exponent)
 *
 * The suffix picks the quantity's format (binary, decimal SI or decimal
 * exponent), which only decides how it is printed again.
 *
 * Representation: exact fixed point with a resolution of 10^-9 (one "n"),
 * which is the resolution Kubernetes keeps too: a finer value is rounded
 * away from zero to the next nano when parsed ("0.0000000001" is "1n",
 * "3.001n" is "4n"), so that asking for a tiny amount of a resource never
 * yields zero. Everything else is exact: "0.1" + "0.2" == "0.3", "1.5Gi" is
 * 1610612736, whatever the number of digits written.
 *
 * Range: every quantity lies in [INT64_MIN, INT64_MAX] (as a real number),
 * so sk_quantity_value() always fits an int64_t. Parsing anything outside
 * fails with "too large", and so do sums and differences.
 *
 * Deviations from Kubernetes, all on inputs nobody means to write:
 *   - Kubernetes keeps decimal quantities beyond int64 (it falls back to an
 *     arbitrary precision decimal, "12E" parses) and silently caps binary
 *     ones at 2^63-1 ("8Ei" becomes 9223372036854775807). skiff rejects
 *     both with "too large", as Value() could not represent them anyway.
 *   - Kubernetes accepts a number without digits as zero ("Gi", "-", "+",
 *     ".", "-.Ki"); skiff rejects them with "expected a number".
 *   - Kubernetes truncates a decimal exponent to 32 bits ("1e4294967296"
 *     is 1) and rejects exponents beyond int64; skiff uses the exponent's
 *     real value (a huge one is "too large", a hugely negative one rounds
 *     to 1n like any tiny value).
 *   - Kubernetes' String() hands back the input text itself when a quick
 *     test guesses it is canonical already; the test lets a few other
 *     spellings through ("+1", "01", "1.500", "1E3", "1E-3" stay as
 *     written). skiff always prints the computed canonical form ("1", "1",
 *     "1500m", "1e3", "1e-3"), which is what Kubernetes prints for every
 *     other input and for every value it computes.
 *
 * All functions are pure: no allocation, no global state. */

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"

/* How a quantity prints; set from the suffix it was parsed with. */
enum sk_quantity_fmt {
    SK_QUANTITY_DECIMAL_SI = 0, /* "", n u m k M G T P E */
    SK_QUANTITY_BINARY_SI,      /* Ki Mi Gi Ti Pi Ei */
    SK_QUANTITY_DECIMAL_EXP,    /* e3, E-6, ... */
};

/* The value is units + nanos * 10^-9. units is truncated toward zero and
 * nanos has the same sign, |nanos| < 10^9; units == INT64_MAX or INT64_MIN
 * imply nanos == 0. Use the functions below rather than the fields; they
 * are public so the struct can live on the stack and in other structs. A
 * zeroed struct is the quantity "0". */
struct sk_quantity {
    int64_t units;
    int32_t nanos;
    enum sk_quantity_fmt fmt;
};

/* Longest string sk_quantity_format() produces, with its NUL. */
#define SK_QUANTITY_STR_MAX 40

/* Parse s (grammar above) into *q. On failure returns -EINVAL (syntax) or
 * -ERANGE (beyond int64), leaves *q untouched and sets err to a message
 * that quotes the input: "quantity '12Mb': unknown suffix 'Mb'",
 * "quantity '1 Gi': unexpected ' ' at position 1", "quantity '8Ei': too
 * large". */
int sk_quantity_parse(const char *s, struct sk_quantity *q, struct sk_err *err);

/* Parse a quantity as it appears in a JSON object: a string (parsed as
 * above) or a number, as Kubernetes accepts `cpu: 2` and `cpu: 0.5` in a
 * manifest. A real is read as the shortest decimal that converts back to
 * the same double, so 0.1 is "0.1", not 0.1000000000000000055, and gets
 * the format Kubernetes gives the text Go prints for it (decimal SI from
 * 1e-6 to 1e21: 129e6 is "129M"; decimal exponent outside). Fails with
 * -EINVAL for any other JSON type, like sk_quantity_parse() otherwise. */
int sk_quantity_from_json(const json_t *v, struct sk_quantity *q, struct sk_err *err);

/* The quantity "value" (format decimal SI, or binary SI when binary is
 * non-zero). Every int64_t is in range, so these cannot fail. */
struct sk_quantity sk_quantity_from_value(int64_t value, int binary);

/* The quantity milli / 1000 (format decimal SI), e.g. 250 -> "250m". */
struct sk_quantity sk_quantity_from_milli(int64_t milli);

/* The value as an integer, rounded away from zero like Kubernetes'
 * Value(): "1.5" -> 2, "100m" -> 1, "-1.5" -> -2. Always fits. */
int64_t sk_quantity_value(const struct sk_quantity *q);

/* The value in thousandths, rounded away from zero like Kubernetes'
 * MilliValue(): "250m" -> 250, "1.5" -> 1500, "0.0001" -> 1. Quantities
 * beyond +-9223372036854775.807 do not fit: the result then saturates at
 * INT64_MAX or INT64_MIN (Kubernetes returns garbage there). */
int64_t sk_quantity_milli(const struct sk_quantity *q);

/* -1, 0 or 1 as q is negative, zero or positive. */
int sk_quantity_sign(const struct sk_quantity *q);

/* Compare values, whatever their formats: < 0, 0 or > 0 as a < b, a == b,
 * a > b ("1000m" == "1", "1Gi" > "1G"). */
int sk_quantity_cmp(const struct sk_quantity *a, const struct sk_quantity *b);

/* q += y and q -= y. The result keeps q's format, or takes y's when q is
 * zero (as Kubernetes' Add/Sub). When the result is outside the range, q
 * is left unchanged and -ERANGE returned: "quantity '7Ei' + '2Ei': too
 * large". */
int sk_quantity_add(struct sk_quantity *q, const struct sk_quantity *y, struct sk_err *err);
int sk_quantity_sub(struct sk_quantity *q, const struct sk_quantity *y, struct sk_err *err);

/* Write the Kubernetes canonical form of q into out (Quantity.String(),
 * CanonicalizeBytes):
 *   - zero is "0";
 *   - binary SI: a whole number of at least 1024 in magnitude prints with
 *     the largest binary suffix that divides it exactly ("1536Mi" and
 *     "1.5Gi" -> "1536Mi", "1024Mi" -> "1Gi", "1025Ki" -> "1025Ki");
 *     anything else ("512", "0.5Ki", "100.5Ki") prints as decimal SI;
 *   - decimal SI and decimal exponent: trailing zeros are moved into the
 *     exponent, which is then lowered to a multiple of three ("1000m" ->
 *     "1", "0.5" -> "500m", "1500000" -> "1500k", "1.5e3" -> "1500");
 *     decimal SI names the exponent with its suffix, decimal exponent as
 *     "e<N>" ("1e3" -> "1e3", "12e6" -> "12e6", "1E-3" -> "1e-3"), just as
 *     Kubernetes keeps the exponent form of an input written that way.
 * The result parses back to an equal value (in the format its suffix
 * names, which for the cases above is not always q's format).
 * Returns the length written, or -1 when outsz is too small (out is then
 * terminated but incomplete); SK_QUANTITY_STR_MAX always suffices. */
int sk_quantity_format(const struct sk_quantity *q, char *out, size_t outsz);

#endif
