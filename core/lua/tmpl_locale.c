/* The locales and currencies templates know: how a number, an amount and a date are
 * written for a contact's `locale`. A small table rather than libc's locales, which a
 * server rarely has installed (a Debian container has only C and C.UTF-8) and which are
 * process-wide. The forms are CLDR's short numeric ones, with two deliberate changes: plain
 * spaces where CLDR puts no-break spaces (U+00A0, U+202F), because an SMS holding one of
 * those leaves the GSM alphabet and costs twice as many parts; and numeric dates only, so
 * no month names need translating. */
#include <string.h>
#include <strings.h>

#include "tmpl_locale.h"

/* Date and time patterns: d/j day (2 digits / as is), m/n month, Y year; H hour 00-23,
 * g hour 1-12, i minutes, A AM/PM. Anything else is written as it is. */
static const struct tmpl_locale LOCALES[] = {
    {"en-US", ",", ".", CUR_BEFORE, "n/j/Y", "g:i A", 0},
    {"en-GB", ",", ".", CUR_BEFORE, "d/m/Y", "H:i", 0},
    {"en-IE", ",", ".", CUR_BEFORE, "d/m/Y", "H:i", 0},
    {"en-CA", ",", ".", CUR_BEFORE, "Y-m-d", "g:i A", 0},
    {"en-AU", ",", ".", CUR_BEFORE, "d/m/Y", "g:i A", 0},
    {"de-DE", ".", ",", CUR_AFTER, "d.m.Y", "H:i", 0},
    {"de-AT", ".", ",", CUR_BEFORE_SPACE, "d.m.Y", "H:i", 0},
    {"de-CH", "'", ".", CUR_BEFORE_SPACE, "d.m.Y", "H:i", 0},
    {"fr-FR", " ", ",", CUR_AFTER, "d/m/Y", "H:i", 1},
    {"fr-BE", " ", ",", CUR_AFTER, "d/m/Y", "H:i", 1},
    {"fr-CH", " ", ",", CUR_AFTER, "d.m.Y", "H:i", 1},
    {"es-ES", ".", ",", CUR_AFTER, "j/n/Y", "H:i", 0},
    {"it-IT", ".", ",", CUR_AFTER, "d/m/Y", "H:i", 0},
    {"nl-NL", ".", ",", CUR_BEFORE_SPACE, "d-m-Y", "H:i", 0},
    {"nl-BE", ".", ",", CUR_BEFORE_SPACE, "d/m/Y", "H:i", 0},
    {"pt-PT", " ", ",", CUR_AFTER, "d/m/Y", "H:i", 0},
    {"pt-BR", ".", ",", CUR_BEFORE_SPACE, "d/m/Y", "H:i", 1},
    {"sv-SE", " ", ",", CUR_AFTER, "Y-m-d", "H:i", 0},
    {"da-DK", ".", ",", CUR_AFTER, "d.m.Y", "H.i", 0},
    {"nb-NO", " ", ",", CUR_AFTER, "d.m.Y", "H:i", 0},
    {"fi-FI", " ", ",", CUR_AFTER, "j.n.Y", "H.i", 0},
    {"pl-PL", " ", ",", CUR_AFTER, "d.m.Y", "H:i", 0},
    {"ja-JP", ",", ".", CUR_BEFORE, "Y/m/d", "H:i", 0},
};

static const struct tmpl_currency CURRENCIES[] = {
    {"AUD", "A$", 2},  {"BRL", "R$", 2}, {"CAD", "CA$", 2}, {"CHF", "CHF", 2},
    {"CNY", "CN\xc2\xa5", 2}, {"DKK", "kr.", 2}, {"EUR", "\xe2\x82\xac", 2},
    {"GBP", "\xc2\xa3", 2}, {"INR", "\xe2\x82\xb9", 2}, {"JPY", "\xc2\xa5", 0},
    {"NOK", "kr", 2}, {"PLN", "z\xc5\x82", 2}, {"SEK", "kr", 2}, {"USD", "$", 2},
};

#define COUNT(a) (sizeof(a) / sizeof(a)[0])

/* "de-DE", "de_DE" and "de-de" are the same locale; a language alone ("de", or "de-LU",
 * which the table lacks) takes the language's first entry; anything else en-US. */
const struct tmpl_locale *tmpl_locale_find(const char *tag)
{
  size_t n = tag ? strlen(tag) : 0;
  if (n == 0)
    return &LOCALES[0];
  for (size_t i = 0; i < COUNT(LOCALES); i++) {
    const char *t = LOCALES[i].tag;
    if (n == 5 && strncasecmp(tag, t, 2) == 0 && (tag[2] == '-' || tag[2] == '_') &&
        strncasecmp(tag + 3, t + 3, 2) == 0)
      return &LOCALES[i];
  }
  size_t lang = strcspn(tag, "-_");
  for (size_t i = 0; i < COUNT(LOCALES); i++)
    if (lang == 2 && strncasecmp(tag, LOCALES[i].tag, 2) == 0)
      return &LOCALES[i];
  return &LOCALES[0];
}

/* A code the table lacks is written as its symbol, with two decimals. */
void tmpl_currency_find(const char *code, struct tmpl_currency *out)
{
  for (size_t i = 0; i < COUNT(CURRENCIES); i++)
    if (strcmp(CURRENCIES[i].code, code) == 0) {
      *out = CURRENCIES[i];
      return;
    }
  out->code = code;
  out->symbol = code;
  out->decimals = 2;
}
