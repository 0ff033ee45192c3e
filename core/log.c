/* One record per line on stderr (or to the log's sink). Fields are quoted when they would
 * break the line apart, so `grep`/`awk` and log shippers can trust one line == one record. */
#include "log.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

const char *log_level_name(enum log_level lvl)
{
  return (unsigned)lvl < 4 ? level_names[lvl] : "?";
}

int log_level_parse(const char *s, enum log_level *out)
{
  for (int i = 0; i < 4; i++) {
    if (strcasecmp(s, level_names[i]) == 0) {
      *out = (enum log_level)i;
      return 0;
    }
  }
  return -1;
}

/* Timestamps are for humans reading logs, not for logic, so the real clock is right here. */
static void put_prefix(FILE *f, enum log_level lvl, const char *subsys)
{
  struct timeval tv;
  struct tm tm;
  char ts[32];
  gettimeofday(&tv, NULL);
  gmtime_r(&tv.tv_sec, &tm);
  strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
  fprintf(f, "%s.%03dZ %-5s %s ", ts, (int)(tv.tv_usec / 1000), log_level_name(lvl), subsys);
}

static int needs_quotes(const char *v)
{
  if (*v == '\0')
    return 1;
  for (const unsigned char *p = (const unsigned char *)v; *p; p++)
    if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || *p == 0x7f)
      return 1;
  return 0;
}

static int is_local(unsigned char c)
{
  return isalnum(c) || strchr("._%+-", c);
}

static int is_domain(unsigned char c)
{
  return isalnum(c) || c == '.' || c == '-';
}

/* The length of an address-like, phone-like or token-like run starting at p (0: none);
 * *label what it is replaced with. `start` is where the value begins (for the local part
 * of an address, which lies before the '@'). */
static size_t secret_run(const char *start, const char *p, size_t *back, const char **label)
{
  size_t n = 0;
  *back = 0;
  if (*p == '@' && p > start && is_local((unsigned char)p[-1])) {
    while (p - *back > start && is_local((unsigned char)p[-(long)*back - 1]))
      (*back)++;
    const char *dot = NULL;
    for (n = 1; is_domain((unsigned char)p[n]); n++)
      ;
    while (n > 1 && p[n - 1] == '.') /* a sentence's full stop is not the domain's */
      n--;
    for (size_t i = 2; i < n; i++)
      dot = p[i] == '.' ? p + i : dot;
    *label = "[email]";
    return dot && dot < p + n - 1 ? n : 0;
  }
  if (*p == '+') {
    while (isdigit((unsigned char)p[n + 1]))
      n++;
    *label = "[phone]";
    return n >= 8 && n <= 15 ? n + 1 : 0;
  }
  if (strncmp(p, "prl_", 4) == 0) {
    for (n = 4; isalnum((unsigned char)p[n]) || p[n] == '_' || p[n] == '-'; n++)
      ;
    *label = "[token]";
    return n >= 16 ? n : 0;
  }
  return 0;
}

size_t log_redact(const char *v, char *out, size_t cap)
{
  size_t o = 0;
  for (const char *p = v; *p;) {
    size_t back, n;
    const char *label;
    if ((n = secret_run(v, p, &back, &label)) > 0) {
      o = o >= back ? o - back : 0;
      for (const char *l = label; *l; l++)
        if (o + 1 < cap)
          out[o++] = *l;
      p += n;
    } else {
      if (o + 1 < cap)
        out[o++] = *p;
      p++;
    }
  }
  if (cap)
    out[o < cap ? o : cap - 1] = '\0';
  return o;
}

/* Values are written redacted: an address, a phone number or a token never reaches a log
 * line, whoever put it there (a journey's c:log or error, a plugin, a contact id that is an
 * address). */
static void put_value(FILE *f, const char *raw)
{
  char buf[2048];
  if (raw == NULL)
    raw = "(null)";
  log_redact(raw, buf, sizeof buf);
  const char *v = buf;
  if (!needs_quotes(v)) {
    fputs(v, f);
    return;
  }
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
    if (*p == '"' || *p == '\\')
      fprintf(f, "\\%c", *p);
    else if (*p == '\n')
      fputs("\\n", f);
    else if (*p < ' ' || *p == 0x7f)
      fprintf(f, "\\x%02x", *p);
    else
      fputc(*p, f);
  }
  fputc('"', f);
}

void log_kv(const struct log *lg, enum log_level lvl, const char *subsys, const char *msg, ...)
{
  va_list ap;
  va_start(ap, msg);
  log_vkv(lg, lvl, subsys, msg, ap);
  va_end(ap);
}

void log_vkv(const struct log *lg, enum log_level lvl, const char *subsys, const char *msg, va_list ap)
{
  if (lg && lvl < lg->min)
    return;
  if (lg && lg->sink) {
    lg->sink(lg->sink_ud, lvl, subsys, msg, ap);
    return;
  }
  FILE *f = stderr;
  flockfile(f);
  put_prefix(f, lvl, subsys);
  put_value(f, msg);
  for (;;) {
    const char *k = va_arg(ap, const char *);
    if (k == NULL)
      break;
    const char *v = va_arg(ap, const char *);
    fputc(' ', f);
    fputs(k, f);
    fputc('=', f);
    put_value(f, v);
  }
  fputc('\n', f);
  funlockfile(f);
}

void log_fmt(const struct log *lg, enum log_level lvl, const char *subsys, const char *fmt, ...)
{
  if (lg && lvl < lg->min)
    return;
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  log_kv(lg, lvl, subsys, buf, (char *)NULL);
}
