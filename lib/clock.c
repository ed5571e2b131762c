/* Clocks and RFC 3339 timestamps: see clock.h. */
#include "clock.h"

#include <errno.h>
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

/* n decimal digits at s, or -1. */
static int
digits(const char *s, int n)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* The zone: "Z", or +hh:mm / -hh:mm as seconds east of UTC. */
static int
parse_zone(const char *p, int64_t *east)
{
    int hh, mm;

    *east = 0;
    if ((p[0] == 'Z' || p[0] == 'z') && p[1] == '\0')
        return 0;
    if ((p[0] != '+' && p[0] != '-') || (hh = digits(p + 1, 2)) < 0 || hh > 23 || p[3] != ':' ||
        (mm = digits(p + 4, 2)) < 0 || mm > 59 || p[6] != '\0')
        return -EINVAL;
    *east = (p[0] == '+' ? 1 : -1) * (int64_t)(hh * 3600 + mm * 60);
    return 0;
}

int
sk_clock_rfc3339_parse(const char *s, int64_t *real_ns)
{
    struct tm tm = {0};
    int64_t frac = 0, scale = 100000000, east;
    const char *p;
    int v[6];
    static const int at[6] = {0, 5, 8, 11, 14, 17}, len[6] = {4, 2, 2, 2, 2, 2};
    static const int lo[6] = {0, 1, 1, 0, 0, 0}, hi[6] = {9999, 12, 31, 23, 59, 60};

    if (!s)
        return -EINVAL;
    for (size_t i = 0; i < 19; i++)
        if (!s[i])
            return -EINVAL;
    if (s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
        s[16] != ':')
        return -EINVAL;
    for (int i = 0; i < 6; i++)
        if ((v[i] = digits(s + at[i], len[i])) < lo[i] || v[i] > hi[i])
            return -EINVAL;
    p = s + 19;
    if (*p == '.') {
        if (*++p < '0' || *p > '9')
            return -EINVAL;
        for (; *p >= '0' && *p <= '9'; p++, scale /= 10)
            frac += (*p - '0') * scale;
    }
    if (parse_zone(p, &east) < 0)
        return -EINVAL;
    tm.tm_year = v[0] - 1900;
    tm.tm_mon = v[1] - 1;
    tm.tm_mday = v[2];
    tm.tm_hour = v[3];
    tm.tm_min = v[4];
    tm.tm_sec = v[5];
    *real_ns = ((int64_t)timegm(&tm) - east) * 1000000000 + frac;
    return 0;
}
