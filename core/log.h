/* Logging: one line per record on stderr,
 *   2026-11-22T15:40:59.123Z INFO  http listening addr=127.0.0.1 port=8025
 * level, subsystem, a short message, then key=value fields. Values with spaces, quotes or
 * control characters are quoted and escaped, so a line is always one record. Never pass a
 * secret or a message body as a field. A log may hand its records to a sink instead
 * (`parley test` shows a journey's output under the test that ran it). */
#ifndef PARLEY_LOG_H
#define PARLEY_LOG_H
#include <stdarg.h>
#include <stddef.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

/* Takes a record in place of stderr. `fields` holds the key, value C strings of the
 * record, then NULL. */
typedef void log_sink_fn(void *ud, enum log_level lvl, const char *subsys, const char *msg, va_list fields);

struct log {
  enum log_level min; /* records below this level are dropped */
  log_sink_fn *sink;  /* NULL: records go to stderr (the daemon) */
  void *sink_ud;
};

/* fields: alternating key, value C strings, terminated by NULL. */
void log_kv(const struct log *lg, enum log_level lvl, const char *subsys, const char *msg, ...)
    __attribute__((sentinel));
/* The same with the fields in a va_list (for plugins' log calls). */
void log_vkv(const struct log *lg, enum log_level lvl, const char *subsys, const char *msg, va_list ap);
/* printf-style message, no fields. */
void log_fmt(const struct log *lg, enum log_level lvl, const char *subsys, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
const char *log_level_name(enum log_level lvl);
/* Copies v to out (cap bytes, NUL-terminated, cut short when it does not fit) with every
 * e-mail address, E.164 phone number and API token replaced by [email], [phone], [token].
 * Every value written to a log line goes through it. */
size_t log_redact(const char *v, char *out, size_t cap);
int log_level_parse(const char *s, enum log_level *out);

#endif
