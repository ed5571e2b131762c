/* Clocks and RFC 3339 timestamps: see clock.h. */
#include "clock.h"

#include <stdio.h>
#include <time.h>

static int64_t
clock_ns(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t
sk_clock_mono_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

int64_t
sk_clock_mono_ms(void)
{
    return clock_ns(CLOCK_MONOTONIC) / 1000000;
}

int64_t
sk_clock_real_ns(void)
{
    return clock_ns(CLOCK_REALTIME);
}

void
sk_clock_rfc3339(int64_t real_ns, int digits, char *out, size_t outsz)
{
    time_t secs = (time_t)(real_ns / 1000000000);
    long frac = (long)(real_ns % 1000000000);
    struct tm tm;
    size_t n;

    if (frac < 0) {
        frac += 1000000000;
        secs--;
    }
    gmtime_r(&secs, &tm);
    n = strftime(out, outsz, "%Y-%m-%dT%H:%M:%S", &tm);
    if (digits == 3)
        snprintf(out + n, outsz - n, ".%03ldZ", frac / 1000000);
    else if (digits == 9)
        snprintf(out + n, outsz - n, ".%09ldZ", frac);
    else
        snprintf(out + n, outsz - n, "Z");
}
