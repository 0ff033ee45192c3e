/* RFC 3339 date-time text (see timestamp.h). */
#include "timestamp.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* s[0..n) read as a decimal number, or -1 when one of them is not a digit. */
static int digits(const char *s, int n)
{
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

/* The fraction after a '.', cut to milliseconds; moves *p past it. -1 when no digit. */
static int fraction_ms(const char **p)
{
  size_t n = strspn(*p, "0123456789");
  int ms = 0;
  for (size_t i = 0; i < 3; i++)
    ms = ms * 10 + (i < n ? (*p)[i] - '0' : 0);
  *p += n;
  return n ? ms : -1;
}

/* The offset ('Z', or +hh:mm / -hh:mm) in seconds east of UTC; 1 on success, 0 else. */
static int offset_s(const char *p, long *off)
{
  if ((p[0] == 'Z' || p[0] == 'z') && !p[1]) {
    *off = 0;
    return 1;
  }
  if (strlen(p) != 6 || (p[0] != '+' && p[0] != '-') || p[3] != ':')
    return 0;
  int h = digits(p + 1, 2), m = digits(p + 4, 2);
  if (h < 0 || h > 23 || m < 0 || m > 59)
    return 0;
  *off = (p[0] == '-' ? -1 : 1) * (h * 3600L + m * 60L);
  return 1;
}

/* Each field is read at its fixed place, then timegm (glibc) does the calendar: a date or
 * time it had to carry into the next field (Feb 30th becomes Mar 2nd, 24:00 the next day)
 * did not exist, which comparing its fields with what was read finds. */
int timestamp_parse(const char *s, int64_t *ms)
{
  if (strlen(s) < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
      s[16] != ':')
    return -1;
  int year = digits(s, 4), mon = digits(s + 5, 2), day = digits(s + 8, 2), hour = digits(s + 11, 2),
      min = digits(s + 14, 2), sec = digits(s + 17, 2), frac = 0;
  if (year < 0 || mon < 0 || day < 0 || hour < 0 || min < 0 || sec < 0)
    return -1;
  const char *p = s + 19;
  if (*p == '.') {
    p++;
    if ((frac = fraction_ms(&p)) < 0)
      return -1;
  }
  long off;
  if (!offset_s(p, &off))
    return -1;
  int leap = sec == 60;
  struct tm tm = {.tm_year = year - 1900, .tm_mon = mon - 1, .tm_mday = day, .tm_hour = hour, .tm_min = min,
                  .tm_sec = leap ? 59 : sec};
  time_t t = timegm(&tm);
  if (tm.tm_year != year - 1900 || tm.tm_mon != mon - 1 || tm.tm_mday != day || tm.tm_hour != hour ||
      tm.tm_min != min || tm.tm_sec != (leap ? 59 : sec))
    return -1;
  *ms = ((int64_t)t + leap - off) * 1000 + frac;
  return 0;
}

/* The seconds and the milliseconds of ms, the milliseconds in 0..999 also before 1970. */
static time_t split_ms(int64_t ms, int *milli)
{
  int64_t s = ms / 1000, r = ms % 1000;
  if (r < 0) {
    s--;
    r += 1000;
  }
  *milli = (int)r;
  return (time_t)s;
}

void timestamp_format(int64_t ms, char *buf, size_t len)
{
  int milli;
  time_t t = split_ms(ms, &milli);
  struct tm tm;
  if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
    snprintf(buf, len, "%lld ms", (long long)ms);
}

void timestamp_format_ms(int64_t ms, char *buf, size_t len)
{
  int milli;
  time_t t = split_ms(ms, &milli);
  struct tm tm;
  char sec[24];
  if (!gmtime_r(&t, &tm) || !strftime(sec, sizeof sec, "%Y-%m-%dT%H:%M:%S", &tm))
    snprintf(buf, len, "%lld ms", (long long)ms);
  else
    snprintf(buf, len, "%s.%03dZ", sec, milli);
}
