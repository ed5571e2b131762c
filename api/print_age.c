/* Human ages (kubectl's duration.HumanDuration), RFC 3339 parsing, and
 * the type-tolerant field readers every printer uses. */
#include "api/print_int.h"

#include "lib/clock.h"
#include "lib/json.h"

#include <stdio.h>
#include <string.h>

/* The thresholds are kubectl's: precision drops as the age grows, so a
 * column stays short ("3m20s" early on, "23d" later). A clock skew of up
 * to one second reads as "0s"; more is "<invalid>". */
void
api_print_duration(int64_t secs, char *out, size_t outsz)
{
    int64_t min = secs / 60, hours = secs / 3600, days = hours / 24;

    if (secs < -1)
        snprintf(out, outsz, "<invalid>");
    else if (secs < 0)
        snprintf(out, outsz, "0s");
    else if (secs < 120)
        snprintf(out, outsz, "%llds", (long long)secs);
    else if (min < 10 && secs % 60)
        snprintf(out, outsz, "%lldm%llds", (long long)min, (long long)(secs % 60));
    else if (min < 180)
        snprintf(out, outsz, "%lldm", (long long)min);
    else if (hours < 8 && min % 60)
        snprintf(out, outsz, "%lldh%lldm", (long long)hours, (long long)(min % 60));
    else if (hours < 48)
        snprintf(out, outsz, "%lldh", (long long)hours);
    else if (hours < 24 * 8 && hours % 24)
        snprintf(out, outsz, "%lldd%lldh", (long long)days, (long long)(hours % 24));
    else if (hours < 24 * 365 * 2)
        snprintf(out, outsz, "%lldd", (long long)days);
    else if (hours < 24 * 365 * 8 && days % 365)
        snprintf(out, outsz, "%lldy%lldd", (long long)(days / 365), (long long)(days % 365));
    else
        snprintf(out, outsz, "%lldy", (long long)(days / 365));
}

int
api_print_time_parse(const char *s, int64_t *t)
{
    int64_t ns;

    if (sk_clock_rfc3339_parse(s, &ns) < 0)
        return -1;
    /* whole seconds, rounded down also before the epoch */
    *t = ns / 1000000000 - (ns % 1000000000 < 0);
    return 0;
}

void
api_print_age(const json_t *ts, int64_t now, char *out, size_t outsz)
{
    int64_t t;

    if (!json_is_string(ts) || api_print_time_parse(json_string_value(ts), &t) < 0) {
        snprintf(out, outsz, "<unknown>");
        return;
    }
    api_print_duration(now - t, out, outsz);
}

const char *
pr_str(const json_t *root, const char *path)
{
    json_t *v = sk_json_get(root, path);

    return json_is_string(v) ? json_string_value(v) : NULL;
}

int64_t
pr_int(const json_t *root, const char *path, int64_t def)
{
    json_t *v = sk_json_get(root, path);

    if (json_is_integer(v))
        return json_integer_value(v);
    return def;
}

bool
pr_bool(const json_t *root, const char *path)
{
    return json_is_true(sk_json_get(root, path));
}

json_t *
pr_arr(const json_t *root, const char *path)
{
    json_t *v = sk_json_get(root, path);

    return json_is_array(v) ? v : NULL;
}

json_t *
pr_obj(const json_t *root, const char *path)
{
    json_t *v = sk_json_get(root, path);

    return json_is_object(v) ? v : NULL;
}

const char *
pr_none(const char *s)
{
    return s && *s ? s : "<none>";
}

int64_t
pr_time(const json_t *root, const char *path)
{
    int64_t t;

    if (api_print_time_parse(pr_str(root, path), &t) < 0)
        return -1;
    return t;
}
