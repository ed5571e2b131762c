/* Value syntax of configuration files: booleans, durations, sizes,
 * host:port, IPv4 networks. The rules are the ones skiffd.conf(5)
 * documents; the formatters write what the parsers read back. */
#include "conf.h"
#include "conf_int.h"
#include "buf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#define MS_PER_S 1000ULL
#define MS_PER_M (60 * MS_PER_S)
#define MS_PER_H (60 * MS_PER_M)

void
sk_conf_show(const char *s, char *out, size_t outsz)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0, n = 0;
    unsigned char c;

    for (; *s && o + 8 < outsz; s++, n++) {
        c = (unsigned char)*s;
        if (n == SK_CONF_SHOW_MAX) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (c < 0x20 || c == 0x7f) {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
}

#define SHOW(s, buf) (sk_conf_show((s), (buf), sizeof(buf)), (buf))

int
sk_conf_parse_bool(const char *s, bool *out, struct sk_err *err)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    char show[SK_CONF_SHOW_MAX + 8];
    size_t i;

    for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return sk_err_set(err, EINVAL, "bad boolean '%s' (use true/false, yes/no, on/off or 1/0)",
                      SHOW(s, show));
}

/* Read decimal digits at *s into *out; fails on no digits or overflow. */
static int
parse_digits(const char **s, uint64_t *out)
{
    const char *p = *s;
    uint64_t v = 0;

    if (!isdigit((unsigned char)*p))
        return -1;
    for (; isdigit((unsigned char)*p); p++) {
        if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    *s = p;
    *out = v;
    return 0;
}

static int
mul_add(uint64_t *acc, uint64_t n, uint64_t unit)
{
    if (unit && n > UINT64_MAX / unit)
        return -1;
    if (*acc > UINT64_MAX - n * unit)
        return -1;
    *acc += n * unit;
    return 0;
}

static uint64_t
duration_unit(const char *u, size_t len)
{
    if (len == 2 && strncmp(u, "ms", 2) == 0)
        return 1;
    if (len != 1)
        return 0;
    switch (*u) {
    case 's':
        return MS_PER_S;
    case 'm':
        return MS_PER_M;
    case 'h':
        return MS_PER_H;
    }
    return 0;
}

/* "1m30s": number+unit pairs, summed (like Go's time.ParseDuration, but
 * whole numbers only and millisecond resolution). A bare "0" is allowed
 * since zero needs no unit. */
int
sk_conf_parse_duration(const char *s, uint64_t *ms, struct sk_err *err)
{
    char show[SK_CONF_SHOW_MAX + 8];
    const char *p = s, *u;
    uint64_t total = 0, n, unit;

    if (strcmp(s, "0") == 0) {
        *ms = 0;
        return 0;
    }
    if (!*p)
        goto bad;
    while (*p) {
        if (parse_digits(&p, &n) < 0)
            goto bad;
        for (u = p; isalpha((unsigned char)*p); p++)
            ;
        unit = duration_unit(u, (size_t)(p - u));
        if (!unit || mul_add(&total, n, unit) < 0)
            goto bad;
    }
    *ms = total;
    return 0;
bad:
    return sk_err_set(err, EINVAL, "bad duration '%s' (use e.g. 500ms, 10s, 2m, 1h or 1m30s)",
                      SHOW(s, show));
}

static const struct {
    const char *name;
    uint64_t mult;
} size_units[] = {
    {"", 1},
    {"b", 1},
    {"k", 1000ULL},
    {"kb", 1000ULL},
    {"m", 1000000ULL},
    {"mb", 1000000ULL},
    {"g", 1000000000ULL},
    {"gb", 1000000000ULL},
    {"t", 1000000000000ULL},
    {"tb", 1000000000000ULL},
    {"ki", 1ULL << 10},
    {"kib", 1ULL << 10},
    {"mi", 1ULL << 20},
    {"mib", 1ULL << 20},
    {"gi", 1ULL << 30},
    {"gib", 1ULL << 30},
    {"ti", 1ULL << 40},
    {"tib", 1ULL << 40},
};

/* "64KiB" / "64Ki" are powers of 1024, "64K" / "64KB" powers of 1000
 * (IEC 80000-13; "Ki" is what Kubernetes quantities use). Unit letters
 * are case-insensitive; blanks between number and unit are allowed. */
int
sk_conf_parse_size(const char *s, uint64_t *bytes, struct sk_err *err)
{
    char show[SK_CONF_SHOW_MAX + 8];
    const char *p = s;
    uint64_t n, v = 0;
    size_t i;

    if (parse_digits(&p, &n) < 0)
        goto bad;
    while (*p == ' ' || *p == '\t')
        p++;
    for (i = 0; i < sizeof(size_units) / sizeof(size_units[0]); i++) {
        if (strcasecmp(p, size_units[i].name) == 0) {
            if (mul_add(&v, n, size_units[i].mult) < 0)
                goto bad;
            *bytes = v;
            return 0;
        }
    }
bad:
    return sk_err_set(err, EINVAL, "bad size '%s' (use e.g. 512, 64KiB, 1MiB, 2GiB or 1M)",
                      SHOW(s, show));
}

/* RFC 1123 host name: dot-separated labels of letters, digits and '-',
 * 1-63 characters, not starting or ending with '-'; 253 at most. */
static bool
hostname_valid(const char *h, size_t len)
{
    size_t i, label = 0;

    if (len == 0 || len > 253)
        return false;
    for (i = 0; i < len; i++) {
        if (h[i] == '.') {
            if (label == 0 || h[i - 1] == '-')
                return false;
            label = 0;
            continue;
        }
        if (!isalnum((unsigned char)h[i]) && h[i] != '-')
            return false;
        if (h[i] == '-' && label == 0)
            return false;
        if (++label > 63)
            return false;
    }
    return label > 0 && h[len - 1] != '-';
}

static bool
all_digits_and_dots(const char *h, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++)
        if (!isdigit((unsigned char)h[i]) && h[i] != '.')
            return false;
    return true;
}

static int
check_host(const char *host, size_t len, bool bracketed, struct sk_err *err)
{
    char show[SK_CONF_SHOW_MAX + 8], addr[256];
    unsigned char bin[16];

    if (len >= sizeof(addr))
        return sk_err_set(err, EINVAL, "host name too long");
    memcpy(addr, host, len);
    addr[len] = '\0';
    if (bracketed) {
        if (inet_pton(AF_INET6, addr, bin) != 1)
            return sk_err_set(err, EINVAL, "bad IPv6 address '%s'", SHOW(addr, show));
        return 0;
    }
    if (len == 0)
        return 0;
    if (memchr(addr, ':', len))
        return sk_err_set(err, EINVAL, "IPv6 address '%s' must be in brackets: [%s]:port",
                          SHOW(addr, show), show);
    if (all_digits_and_dots(addr, len)) {
        if (inet_pton(AF_INET, addr, bin) != 1)
            return sk_err_set(err, EINVAL, "bad IPv4 address '%s'", SHOW(addr, show));
        return 0;
    }
    if (!hostname_valid(addr, len))
        return sk_err_set(err, EINVAL, "bad host name '%s'", SHOW(addr, show));
    return 0;
}

static int
check_port(const char *port, struct sk_err *err)
{
    char show[SK_CONF_SHOW_MAX + 8];
    const char *p = port;
    uint64_t n;

    if (parse_digits(&p, &n) < 0 || *p || n < 1 || n > 65535)
        return sk_err_set(err, EINVAL, "bad port '%s'", SHOW(port, show));
    return 0;
}

int
sk_conf_check_hostport(const char *s, struct sk_err *err)
{
    char show[SK_CONF_SHOW_MAX + 8];
    const char *colon, *close;

    if (s[0] == '[') {
        close = strchr(s, ']');
        if (!close)
            return sk_err_set(err, EINVAL, "missing ']' in '%s'", SHOW(s, show));
        if (close[1] != ':')
            return sk_err_set(err, EINVAL, "missing port in '%s' (use [address]:port)",
                              SHOW(s, show));
        if (check_host(s + 1, (size_t)(close - s - 1), true, err) < 0)
            return -EINVAL;
        return check_port(close + 2, err);
    }
    colon = strrchr(s, ':');
    if (!colon)
        return sk_err_set(err, EINVAL, "missing port in '%s' (use host:port)", SHOW(s, show));
    if (check_host(s, (size_t)(colon - s), false, err) < 0)
        return -EINVAL;
    return check_port(colon + 1, err);
}

int
sk_conf_check_cidr(const char *s, struct sk_err *err)
{
    char show[SK_CONF_SHOW_MAX + 8], addr[INET_ADDRSTRLEN], net[INET_ADDRSTRLEN];
    const char *slash = strchr(s, '/'), *p;
    struct in_addr in;
    uint64_t len;
    uint32_t host, mask;

    if (strchr(s, ':'))
        return sk_err_set(err, EINVAL, "'%s': only IPv4 networks are supported", SHOW(s, show));
    if (!slash)
        return sk_err_set(err, EINVAL, "missing prefix length in '%s' (use e.g. 10.244.0.0/16)",
                          SHOW(s, show));
    if ((size_t)(slash - s) >= sizeof(addr))
        return sk_err_set(err, EINVAL, "bad IPv4 network '%s'", SHOW(s, show));
    memcpy(addr, s, (size_t)(slash - s));
    addr[slash - s] = '\0';
    if (inet_pton(AF_INET, addr, &in) != 1)
        return sk_err_set(err, EINVAL, "bad IPv4 address in '%s'", SHOW(s, show));
    p = slash + 1;
    if (parse_digits(&p, &len) < 0 || *p || len > 32 || p - slash > 3)
        return sk_err_set(err, EINVAL, "bad prefix length in '%s'", SHOW(s, show));
    mask = len == 0 ? 0 : ~0U << (32 - len);
    host = ntohl(in.s_addr);
    if (host & ~mask) {
        in.s_addr = htonl(host & mask);
        inet_ntop(AF_INET, &in, net, sizeof(net));
        return sk_err_set(err, EINVAL, "'%s' has host bits set (the network is %s/%u)",
                          SHOW(s, show), net, (unsigned)len);
    }
    return 0;
}

void
sk_conf_format_duration(uint64_t ms, struct sk_buf *out)
{
    static const struct {
        uint64_t ms;
        const char *unit;
    } units[] = {{MS_PER_H, "h"}, {MS_PER_M, "m"}, {MS_PER_S, "s"}, {1, "ms"}};
    size_t i;

    if (ms == 0) {
        sk_buf_puts(out, "0s");
        return;
    }
    for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (ms >= units[i].ms) {
            sk_buf_printf(out, "%llu%s", (unsigned long long)(ms / units[i].ms), units[i].unit);
            ms %= units[i].ms;
        }
    }
}

void
sk_conf_format_size(uint64_t bytes, struct sk_buf *out)
{
    static const struct {
        unsigned shift;
        const char *unit;
    } units[] = {{40, "TiB"}, {30, "GiB"}, {20, "MiB"}, {10, "KiB"}};
    size_t i;

    for (i = 0; bytes && i < sizeof(units) / sizeof(units[0]); i++) {
        if (bytes % (1ULL << units[i].shift) == 0) {
            sk_buf_printf(out, "%llu%s", (unsigned long long)(bytes >> units[i].shift),
                          units[i].unit);
            return;
        }
    }
    sk_buf_printf(out, "%llu", (unsigned long long)bytes);
}
