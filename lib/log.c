/* Process-wide logger: see log.h. */
#include "log.h"
#include "buf.h"
#include "clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 4096

static enum sk_log_level log_level = SK_LOG_INFO;
static enum sk_log_format log_format = SK_LOG_TEXT;
static int log_syslog;
static int log_timestamps = -1; /* -1: decide from $JOURNAL_STREAM */

static const char *const level_names[] = {"error", "warn", "info", "debug"};
static const int level_syslog[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};

int
sk_log_level_parse(const char *s, enum sk_log_level *out)
{
    size_t i;

    if (strcasecmp(s, "warning") == 0) {
        *out = SK_LOG_WARN;
        return 0;
    }
    for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (enum sk_log_level)i;
            return 0;
        }
    }
    return -1;
}

int
sk_log_format_parse(const char *s, enum sk_log_format *out)
{
    if (strcasecmp(s, "text") == 0)
        *out = SK_LOG_TEXT;
    else if (strcasecmp(s, "json") == 0)
        *out = SK_LOG_JSON;
    else
        return -1;
    return 0;
}

const char *
sk_log_level_name(enum sk_log_level level)
{
    if ((unsigned)level > SK_LOG_DEBUG)
        return "?";
    return level_names[level];
}

void
sk_log_set_level(enum sk_log_level level)
{
    log_level = level;
}

enum sk_log_level
sk_log_get_level(void)
{
    return log_level;
}

void
sk_log_set_format(enum sk_log_format format)
{
    log_format = format;
}

void
sk_log_use_syslog(const char *ident)
{
    if (log_syslog)
        closelog();
    log_syslog = ident != NULL;
    if (ident)
        openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
sk_log_set_timestamps(int on)
{
    log_timestamps = on;
}

int
sk_log_enabled(enum sk_log_level level)
{
    return level <= log_level;
}

static int
want_timestamps(void)
{
    if (log_timestamps >= 0)
        return log_timestamps;
    return getenv("JOURNAL_STREAM") == NULL;
}

static void
format_time(char *out, size_t outsz)
{
    sk_clock_rfc3339(sk_clock_real_ns(), 3, out, outsz);
}

/* JSON string escaping for the json format; kept here so logging has no
 * dependency on the JSON library. */
static void
put_json_string(struct sk_buf *out, const char *s)
{
    const unsigned char *p;

    sk_buf_putc(out, '"');
    for (p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            sk_buf_printf(out, "\\%c", *p);
        else if (*p < 0x20)
            sk_buf_printf(out, "\\u%04x", *p);
        else
            sk_buf_putc(out, (char)*p);
    }
    sk_buf_putc(out, '"');
}

static void
format_line(struct sk_buf *out, enum sk_log_level level, const char *component, const char *msg)
{
    char ts[40];
    int stamp = want_timestamps();

    if (stamp)
        format_time(ts, sizeof(ts));
    if (log_format == SK_LOG_JSON) {
        sk_buf_putc(out, '{');
        if (stamp)
            sk_buf_printf(out, "\"ts\":\"%s\",", ts);
        sk_buf_printf(out, "\"level\":\"%s\",\"component\":", level_names[level]);
        put_json_string(out, component ? component : "");
        sk_buf_puts(out, ",\"msg\":");
        put_json_string(out, msg);
        sk_buf_puts(out, "}\n");
        return;
    }
    if (stamp)
        sk_buf_printf(out, "%s ", ts);
    sk_buf_printf(out, "%-5s ", level_names[level]);
    if (component && *component)
        sk_buf_printf(out, "%s: ", component);
    sk_buf_printf(out, "%s\n", msg);
}

void
sk_logv(enum sk_log_level level, const char *component, const char *fmt, va_list ap)
{
    char msg[LOG_LINE_MAX];
    struct sk_buf line;
    int saved = errno;
    int n;

    if (!sk_log_enabled(level))
        return;
    n = vsnprintf(msg, sizeof(msg), fmt, ap);
    if (n >= (int)sizeof(msg))
        memcpy(msg + sizeof(msg) - 4, "...", 4);
    if (log_syslog) {
        syslog(level_syslog[level], "%s%s%s", component ? component : "", component ? ": " : "",
               msg);
        errno = saved;
        return;
    }
    sk_buf_init(&line);
    format_line(&line, level, component, msg);
    /* One write(2) per line so lines of concurrent processes never mix. */
    if (write(STDERR_FILENO, line.data, line.len) < 0) {
        /* nowhere left to report it */
    }
    sk_buf_release(&line);
    errno = saved;
}

void
sk_log(enum sk_log_level level, const char *component, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    sk_logv(level, component, fmt, ap);
    va_end(ap);
}
