/* log.h - structured, one-line-per-event logging (logfmt on stderr).
 *
 * Every line: ts=<UTC ISO 8601 ms> level=<debug|info|warn|error> event=<name> then
 * the caller's key=value pairs. Never pass bodies, tokens, email addresses or
 * postal addresses: log ids, enums, counts and sanitized paths only.
 * Thread-safe: each line is written with one write(2).
 */
#ifndef BINDAY_LOG_H
#define BINDAY_LOG_H

#include <stddef.h>

typedef enum { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR } log_level_t;

/* Lines below this level are dropped (default LOG_INFO). */
void log_set_level(log_level_t level);

/* Write one line. `fmt` formats the key=value part (may be NULL). */
void log_write(log_level_t level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(event, ...) log_write(LOG_DEBUG, event, __VA_ARGS__)
#define log_info(event, ...) log_write(LOG_INFO, event, __VA_ARGS__)
#define log_warn(event, ...) log_write(LOG_WARN, event, __VA_ARGS__)
#define log_error(event, ...) log_write(LOG_ERROR, event, __VA_ARGS__)

/* Make untrusted bytes safe as a logfmt value: printable ASCII only (others as
 * \xNN), '"' and '\\' escaped, truncated to fit; always wrapped in quotes and
 * NUL-terminated. Returns dst. dst_size must be >= 3. */
char *log_quote(char *dst, size_t dst_size, const void *src, size_t len);

#endif
