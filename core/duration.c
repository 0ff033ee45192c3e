/* Durations as marketers write them. Parsed by hand rather than with strtod so that
 * "1e3", "inf", "0x10", " 5s" and locale-dependent decimal points are refused instead of
 * silently meaning something nobody wrote. */
#include "duration.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

struct unit {
  const char *name;
  int64_t ms;
};

static const struct unit units[] = {
    {"ms", 1},          {"s", 1000},           {"m", 60 * 1000}, {"h", 3600 * 1000},
    {"d", 86400 * 1000}, {"w", 7 * 86400 * 1000}, {"", 1000}, /* plain number: seconds */
};

static const struct unit *unit_find(const char *s)
{
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
    if (strcmp(s, units[i].name) == 0)
      return &units[i];
  return NULL;
}

/* Reads "digits[.digits]"; returns the end, or NULL on overflow. frac is scaled to 1e9. */
static const char *read_number(const char *p, int64_t *whole, int64_t *frac_e9, int *ndigits)
{
  int64_t w = 0, f = 0, scale = 100000000;
  *ndigits = 0;
  for (; isdigit((unsigned char)*p); p++, (*ndigits)++) {
    if (w > (INT64_MAX - 9) / 10)
      return NULL;
    w = w * 10 + (*p - '0');
  }
  if (*p == '.' && isdigit((unsigned char)p[1])) {
    for (p++; isdigit((unsigned char)*p); p++, (*ndigits)++) {
      f += (*p - '0') * scale;
      scale /= 10;
    }
  }
  *whole = w;
  *frac_e9 = f;
  return p;
}

int duration_parse(const char *s, int64_t *ms, char *err, size_t errlen)
{
  int64_t whole, frac;
  int ndigits;
  if (s == NULL || *s == '\0') {
    snprintf(err, errlen, "empty duration (write e.g. 90s, 15m, 4h, 7d, 2w)");
    return -1;
  }
  if (*s == '-') {
    snprintf(err, errlen, "negative duration '%s'", s);
    return -1;
  }
  const char *p = read_number(s, &whole, &frac, &ndigits);
  if (p == NULL) {
    snprintf(err, errlen, "duration '%s' is too large", s);
    return -1;
  }
  if (ndigits == 0) {
    snprintf(err, errlen, "bad duration '%s' (write e.g. 500ms, 90s, 15m, 4h, 7d, 2w)", s);
    return -1;
  }
  const struct unit *u = unit_find(p);
  if (u == NULL) {
    snprintf(err, errlen, "bad duration '%s': unknown unit '%s' (use ms, s, m, h, d or w)", s,
             p);
    return -1;
  }
  if (whole > INT64_MAX / u->ms) {
    snprintf(err, errlen, "duration '%s' is too large", s);
    return -1;
  }
  /* u->ms <= 6.048e8 and frac < 1e9: the product fits comfortably in int64. */
  *ms = whole * u->ms + (frac * u->ms) / 1000000000;
  return 0;
}
