/* Template formatters: numbers, amounts, dates and times, plurals, written the way the
 * contact's locale writes them (tmpl_locale.c), times in the contact's time zone.
 *
 * Time zones are GLib's GTimeZone, which reads the system's zoneinfo (the same files a
 * profile's `timezone` is checked against) and is safe to use from any thread. The libc way,
 * setting TZ and calling localtime_r, changes the whole process's zone under every other
 * thread (plugins have their own), and parsing TZif files ourselves is a database's worth
 * of rules to get wrong. A zone is read when a template formats a time, not otherwise. */
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tmpl_int.h"
#include "tmpl_locale.h"
#include "zones.h"

#define MAX_AMOUNT 1e15 /* beyond, a double no longer holds every cent */
static const char *const NAMES[] = {
    [FMT_NUMBER] = "number", [FMT_CURRENCY] = "currency", [FMT_DATE] = "date",
    [FMT_TIME] = "time",     [FMT_DATETIME] = "datetime", [FMT_PLURAL] = "plural",
};

static int why(char *err, size_t errlen, const char *text)
{
  snprintf(err, errlen, "%s", text);
  return -1;
}

static int parse_word(const char **s, const char *end, char **out, char *err, size_t errlen)
{
  const char *w = *s, *stop = memchr(w, ':', (size_t)(end - w));
  size_t n = (size_t)((stop ? stop : end) - w);
  if (n == 0 || n > TMPL_MAX_WORD)
    return why(err, errlen, "plural needs two words of 1 to 100 bytes, such as plural:item:items");
  if ((*out = strndup(w, n)) == NULL)
    return why(err, errlen, "out of memory");
  *s = stop ? stop + 1 : end;
  return 0;
}

static int parse_args(const char *a, const char *end, struct tmpl_fmt *f, char *err, size_t errlen)
{
  size_t n = (size_t)(end - a);
  switch (f->kind) {
  case FMT_NUMBER:
    f->digits = -1;
    if (a == NULL)
      return 1;
    if (n != 1 || *a < '0' || *a > '6')
      return why(err, errlen, "number takes a count of decimals from 0 to 6, such as number:2");
    f->digits = *a - '0';
    return 1;
  case FMT_CURRENCY:
    if (a == NULL || n != 3 || strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") < 3)
      return why(err, errlen, "currency needs an ISO 4217 code, such as currency:EUR");
    memcpy(f->code, a, 3);
    return 1;
  case FMT_PLURAL:
    if (a == NULL || parse_word(&a, end, &f->one, err, errlen) < 0 ||
        a == end || parse_word(&a, end, &f->other, err, errlen) < 0 || a != end)
      return why(err, errlen, "plural needs two words of 1 to 100 bytes, such as plural:item:items");
    return 1;
  default:
    return a ? why(err, errlen, "date, time and datetime take no argument") : 1;
  }
}

int tmpl_fmt_parse(const char *s, size_t n, struct tmpl_fmt *f, char *err, size_t errlen)
{
  const char *colon = memchr(s, ':', n), *end = s + n;
  size_t name_n = (size_t)((colon ? colon : end) - s);
  for (int k = FMT_NUMBER; k <= FMT_PLURAL; k++)
    if (strlen(NAMES[k]) == name_n && memcmp(NAMES[k], s, name_n) == 0) {
      f->kind = (enum tmpl_fmt_kind)k;
      int rc = parse_args(colon ? colon + 1 : NULL, end, f, err, errlen);
      if (rc < 0)
        tmpl_fmt_free(f);
      return rc;
    }
  return 0;
}

void tmpl_fmt_free(struct tmpl_fmt *f)
{
  free(f->one);
  free(f->other);
  memset(f, 0, sizeof *f);
}

const char *tmpl_scalar_text(const struct tmpl_val *v, char *num, size_t numlen, size_t *len)
{
  switch (v->kind) {
  case TMPL_STR: *len = v->len; return v->s;
  case TMPL_BOOL: *len = v->b ? 4 : 5; return v->b ? "true" : "false";
  case TMPL_NUM:
    if (v->is_int)
      snprintf(num, numlen, "%lld", v->inum);
    else if (isfinite(v->num) && v->num == floor(v->num) && fabs(v->num) < 1e15)
      snprintf(num, numlen, "%.0f", v->num); /* 3.0 reads "3" */
    else
      snprintf(num, numlen, "%.14g", v->num);
    *len = strlen(num);
    return num;
  default: return NULL;
  }
}

/* A number, or a string that is one whole ("12.50"): profile attributes often are text. */
static int to_number(const struct tmpl_val *v, double *d)
{
  if (v->kind == TMPL_NUM) {
    *d = v->is_int ? (double)v->inum : v->num;
    return isfinite(*d);
  }
  if (v->kind != TMPL_STR || v->len == 0 || v->len > 40)
    return 0;
  char tmp[48], *end;
  memcpy(tmp, v->s, v->len);
  tmp[v->len] = '\0';
  if (strchr("+-.0123456789", tmp[0]) == NULL || strpbrk(tmp, "xXnN") != NULL)
    return 0; /* no blanks, hex, inf or nan: a decimal number as people write it */
  *d = strtod(tmp, &end);
  return *end == '\0' && isfinite(*d);
}

/* |d| with `digits` decimals (-1: as many as it has, up to 6), grouped by the locale. */
static void write_number(double d, int digits, const struct tmpl_locale *loc, char *out, size_t outlen)
{
  char raw[64], *w = out, *stop = out + outlen - 1;
  snprintf(raw, sizeof raw, "%.*f", digits < 0 ? 6 : digits, fabs(d));
  char *dot = strchr(raw, '.');
  if (digits < 0 && dot) { /* trim 2.500000 to 2.5, 3.000000 to 3 */
    char *z = raw + strlen(raw);
    while (z[-1] == '0')
      *--z = '\0';
    if (z[-1] == '.')
      *--z = '\0', dot = NULL;
  }
  size_t int_n = dot ? (size_t)(dot - raw) : strlen(raw);
  for (size_t i = 0; i < int_n && w < stop; i++) {
    if (i > 0 && (int_n - i) % 3 == 0)
      for (const char *g = loc->group; *g && w < stop; g++)
        *w++ = *g;
    *w++ = raw[i];
  }
  if (dot)
    for (const char *p = loc->decimal; *p && w < stop; p++)
      *w++ = *p;
  if (dot)
    for (const char *p = dot + 1; *p && w < stop; p++)
      *w++ = *p;
  *w = '\0';
}

static int fmt_currency(const struct tmpl_fmt *f, double d, const struct tmpl_locale *loc, char *out)
{
  struct tmpl_currency c;
  char digits[80];
  tmpl_currency_find(f->code, &c);
  write_number(d, c.decimals, loc, digits, sizeof digits);
  const char *minus = d < 0 && strspn(digits, "0,.' ") < strlen(digits) ? "-" : "";
  size_t sl = strlen(c.symbol);
  int wordy = sl > 0 && ((c.symbol[sl - 1] >= 'A' && c.symbol[sl - 1] <= 'Z') ||
                         (c.symbol[sl - 1] >= 'a' && c.symbol[sl - 1] <= 'z') || c.symbol[sl - 1] == '.');
  if (loc->cur_pos == CUR_AFTER)
    return snprintf(out, TMPL_MAX_FORMATTED, "%s%s %s", minus, digits, c.symbol);
  if (loc->cur_pos == CUR_BEFORE_SPACE)
    return snprintf(out, TMPL_MAX_FORMATTED, "%s %s%s", c.symbol, minus, digits);
  return snprintf(out, TMPL_MAX_FORMATTED, "%s%s%s%s", minus, c.symbol, wordy ? " " : "", digits);
}

static int fmt_plural(const struct tmpl_fmt *f, double d, const struct tmpl_locale *loc, char *out,
                      char *err, size_t errlen)
{
  char digits[80];
  if (d != floor(d))
    return why(err, errlen, "is not a whole number (plural counts things)");
  write_number(d, 0, loc, digits, sizeof digits);
  int one = d == 1 || (loc->zero_is_one && d == 0);
  return snprintf(out, TMPL_MAX_FORMATTED, "%s%s %s", d < 0 ? "-" : "", digits, one ? f->one : f->other);
}

/* Writes a date or time pattern (tmpl_locale.c) of y-m-d h:mi. */
static int write_pattern(const char *pat, int y, int m, int d, int h, int mi, char *out, size_t outlen)
{
  size_t w = 0;
  for (; *pat && w + 8 < outlen; pat++) {
    int n;
    switch (*pat) {
    case 'd': n = snprintf(out + w, outlen - w, "%02d", d); break;
    case 'j': n = snprintf(out + w, outlen - w, "%d", d); break;
    case 'm': n = snprintf(out + w, outlen - w, "%02d", m); break;
    case 'n': n = snprintf(out + w, outlen - w, "%d", m); break;
    case 'Y': n = snprintf(out + w, outlen - w, "%04d", y); break;
    case 'H': n = snprintf(out + w, outlen - w, "%02d", h); break;
    case 'g': n = snprintf(out + w, outlen - w, "%d", h % 12 ? h % 12 : 12); break;
    case 'i': n = snprintf(out + w, outlen - w, "%02d", mi); break;
    case 'A': n = snprintf(out + w, outlen - w, "%s", h < 12 ? "AM" : "PM"); break;
    default: out[w] = *pat, n = 1;
    }
    w += (size_t)n;
  }
  out[w] = '\0';
  return (int)w;
}


/* The value as a moment: seconds since the epoch (a number or digits), or RFC 3339 text
 * with its offset ("2026-12-24T15:05:00Z"). NULL when it is neither. */
static GDateTime *to_moment(const struct tmpl_val *v)
{
  double secs;
  if (to_number(v, &secs))
    return fabs(secs) < 253402300800.0 ? g_date_time_new_from_unix_utc((gint64)floor(secs)) : NULL;
  if (v->kind != TMPL_STR || v->len < 20 || v->len > 40 || memchr(v->s, '\0', v->len))
    return NULL;
  char tmp[48];
  memcpy(tmp, v->s, v->len);
  tmp[v->len] = '\0';
  return g_date_time_new_from_iso8601(tmp, NULL); /* NULL without an offset */
}

static int fmt_time(const struct tmpl_fmt *f, const struct tmpl_val *v, const struct tmpl_env *env,
                    const struct tmpl_locale *loc, char *out, char *err, size_t errlen)
{
  const char *zone = env && env->timezone && env->timezone[0] ? env->timezone : NULL;
  GTimeZone *tz = zones_get(env ? env->zones : NULL, zone);
  if (tz == NULL) {
    snprintf(err, errlen, "cannot be shown in time zone '%.64s', which the system does not know", zone);
    return -1;
  }
  GDateTime *utc = to_moment(v), *local = utc ? g_date_time_to_timezone(utc, tz) : NULL;
  g_time_zone_unref(tz);
  if (utc)
    g_date_time_unref(utc);
  if (local == NULL)
    return why(err, errlen, "is not a time: seconds since 1970 or RFC 3339 text with an offset "
                            "(such as 2026-12-24T15:05:00Z)");
  int y, m, d, h = g_date_time_get_hour(local), mi = g_date_time_get_minute(local);
  g_date_time_get_ymd(local, &y, &m, &d);
  g_date_time_unref(local);
  int n = 0;
  if (f->kind != FMT_TIME)
    n = write_pattern(loc->date, y, m, d, h, mi, out, TMPL_MAX_FORMATTED);
  if (f->kind == FMT_DATETIME)
    out[n++] = ' ';
  if (f->kind != FMT_DATE)
    n += write_pattern(loc->time, y, m, d, h, mi, out + n, TMPL_MAX_FORMATTED - (size_t)n);
  return n;
}

static int format(const struct tmpl_fmt *f, const struct tmpl_val *v, const struct tmpl_env *env,
                  char *out, char *err, size_t errlen)
{
  const struct tmpl_locale *loc = tmpl_locale_find(env ? env->locale : NULL);
  double d;
  if (f->kind == FMT_DATE || f->kind == FMT_TIME || f->kind == FMT_DATETIME)
    return fmt_time(f, v, env, loc, out, err, errlen);
  if (!to_number(v, &d))
    return why(err, errlen, "is not a number");
  if (fabs(d) >= MAX_AMOUNT)
    return why(err, errlen, "is too large a number to format (1e15 or more)");
  if (f->kind == FMT_CURRENCY)
    return fmt_currency(f, d, loc, out);
  if (f->kind == FMT_PLURAL)
    return fmt_plural(f, d, loc, out, err, errlen);
  char digits[80];
  write_number(d, f->digits, loc, digits, sizeof digits);
  int zero = strspn(digits, "0,.' ") == strlen(digits);
  return snprintf(out, TMPL_MAX_FORMATTED, "%s%s", d < 0 && !zero ? "-" : "", digits);
}

int tmpl_format(const struct tmpl_fmt *f, const struct tmpl_val *v, const struct tmpl_env *env,
                char *out, char *err, size_t errlen)
{
  int n = format(f, v, env, out, err, errlen);
  return n >= TMPL_MAX_FORMATTED ? TMPL_MAX_FORMATTED - 1 : n;
}
