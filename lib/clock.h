#ifndef SK_CLOCK_H
#define SK_CLOCK_H

/* Clocks and timestamps shared by every module. */

#include <stddef.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in milliseconds / nanoseconds: for timeouts and
 * durations, never for timestamps shown to people. */
int64_t sk_clock_mono_ms(void);
int64_t sk_clock_mono_ns(void);

/* Wall-clock time in nanoseconds since the epoch. */
int64_t sk_clock_real_ns(void);

/* Format ns-since-epoch as RFC 3339 in UTC: "2026-11-25T19:30:00Z"
 * (digits 0), "...:00.123Z" (3) or "...:00.123456789Z" (9, RFC3339Nano).
 * out must hold SK_CLOCK_RFC3339_MAX bytes. */
#define SK_CLOCK_RFC3339_MAX 40
void sk_clock_rfc3339(int64_t real_ns, int digits, char *out, size_t outsz);

/* Parse an RFC 3339 date-time, "2006-01-02T15:04:05[.frac](Z|+hh:mm|-hh:mm)"
 * ('t' and 'z' too; fraction digits beyond nanoseconds are dropped),
 * into ns since the epoch. The whole string must be the timestamp and
 * every field in range. 0, or -EINVAL. */
int sk_clock_rfc3339_parse(const char *s, int64_t *real_ns);

#endif
