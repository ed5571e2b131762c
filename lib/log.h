#ifndef SK_LOG_H
#define SK_LOG_H

/* Logging for the daemons and tools.
 *
 * One line per message on stderr (or syslog), with level and component:
 *
 *     2026-11-25T19:30:00.123Z info  store: elected leader term=3
 *     {"ts":"...","level":"info","component":"store","msg":"..."}
 *
 * When $JOURNAL_STREAM is set (started by systemd) no timestamp is written,
 * since journald adds its own. The configuration is process-wide and lives
 * in log.c only. Messages are never longer than 4 KiB (cut with "..."). */

#include <stdarg.h>

enum sk_log_level {
    SK_LOG_ERROR = 0,
    SK_LOG_WARN,
    SK_LOG_INFO,
    SK_LOG_DEBUG,
};

enum sk_log_format {
    SK_LOG_TEXT = 0,
    SK_LOG_JSON,
};

/* Parse "error", "warn"/"warning", "info", "debug". Returns 0 or -1. */
int sk_log_level_parse(const char *s, enum sk_log_level *out);
/* Parse "text" or "json". Returns 0 or -1. */
int sk_log_format_parse(const char *s, enum sk_log_format *out);
const char *sk_log_level_name(enum sk_log_level level);

void sk_log_set_level(enum sk_log_level level);
enum sk_log_level sk_log_get_level(void);
void sk_log_set_format(enum sk_log_format format);
/* Send messages to syslog(3) as ident instead of stderr (ident NULL turns
 * it off again). */
void sk_log_use_syslog(const char *ident);
/* Force timestamps on (1) or off (0); -1 restores the $JOURNAL_STREAM
 * default. */
void sk_log_set_timestamps(int on);
/* True if a message of this level would be written. */
int sk_log_enabled(enum sk_log_level level);

void sk_log(enum sk_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void sk_logv(enum sk_log_level level, const char *component, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#define sk_error(comp, ...) sk_log(SK_LOG_ERROR, comp, __VA_ARGS__)
#define sk_warn(comp, ...)  sk_log(SK_LOG_WARN, comp, __VA_ARGS__)
#define sk_info(comp, ...)  sk_log(SK_LOG_INFO, comp, __VA_ARGS__)
#define sk_debug(comp, ...)                                                                        \
    do {                                                                                           \
        if (sk_log_enabled(SK_LOG_DEBUG))                                                          \
            sk_log(SK_LOG_DEBUG, comp, __VA_ARGS__);                                               \
    } while (0)

#endif
