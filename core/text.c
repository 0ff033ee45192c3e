/* UTF-8, control characters and NULs in JSON text (see text.h). */
#include "text.h"

#include <stdint.h>
#include <string.h>

/* The length of the well-formed UTF-8 sequence at s (n > 0 bytes left) and its code point
 * in *cp, or 0 when it is ill-formed. The byte ranges are those of Unicode's table 3-7
 * ("Well-Formed UTF-8 Byte Sequences"), which leave out overlong forms (C0, C1, E0 80-9F,
 * F0 80-8F), surrogates (ED A0-BF) and code points above U+10FFFF (F4 90-BF, F5-FF).
 * Written here because glibc decodes UTF-8 only through the process locale (mbrtowc,
 * global state) or iconv (a descriptor per call), and cJSON copies bytes unchecked. */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
  unsigned char b = s[0], lo = 0x80, hi = 0xBF;
  size_t len;
  if (b < 0x80) {
    *cp = b;
    return 1;
  }
  if (b >= 0xC2 && b <= 0xDF) {
    len = 2;
    *cp = b & 0x1F;
  } else if (b >= 0xE0 && b <= 0xEF) {
    len = 3;
    *cp = b & 0x0F;
    lo = b == 0xE0 ? 0xA0 : 0x80;
    hi = b == 0xED ? 0x9F : 0xBF;
  } else if (b >= 0xF0 && b <= 0xF4) {
    len = 4;
    *cp = b & 0x07;
    lo = b == 0xF0 ? 0x90 : 0x80;
    hi = b == 0xF4 ? 0x8F : 0xBF;
  } else {
    return 0;
  }
  if (n < len)
    return 0;
  for (size_t i = 1; i < len; i++) {
    unsigned char c = s[i];
    if (c < (i == 1 ? lo : 0x80) || c > (i == 1 ? hi : 0xBF))
      return 0;
    *cp = (*cp << 6) | (c & 0x3F);
  }
  return len;
}

int text_utf8_ok(const char *s, size_t len)
{
  const unsigned char *p = (const unsigned char *)s;
  uint32_t cp;
  for (size_t i = 0, n; i < len; i += n)
    if (!(n = utf8_seq(p + i, len - i, &cp)))
      return 0;
  return 1;
}

int text_has_control(const char *s, size_t len)
{
  const unsigned char *p = (const unsigned char *)s;
  uint32_t cp;
  for (size_t i = 0, n; i < len; i += n) {
    if (!(n = utf8_seq(p + i, len - i, &cp)))
      n = 1;
    else if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
      return 1;
  }
  return 0;
}

int text_clip(const char *s, size_t max)
{
  const unsigned char *p = (const unsigned char *)s;
  size_t len = strlen(s), i = 0, n;
  uint32_t cp;
  while (i < len && (n = utf8_seq(p + i, len - i, &cp)) && i + n <= max)
    i += n;
  return (int)i;
}

/* How an escaped NUL is found: cJSON (1.7.15, Debian 12) decodes \u0000 to a 0 byte and
 * hands back a C string that ends there ("bob\u0000evil" reads "bob"); it keeps neither
 * the decoded length nor where a value stood in the text, so comparing lengths would need
 * a walk of the text all the same. This walk finds the NUL itself. A plain search for
 * "\u0000" would misread "\\u0000" (an escaped backslash, then text), so escapes are
 * stepped over one by one. In JSON a parser has accepted, quotes appear only around
 * strings and backslashes only inside them, so each quote opens or closes a string, and
 * strings come in the same order as a depth-first walk of the parsed tree meets them. A raw
 * 0 byte inside a string (cJSON copies it) counts too. */
long text_json_nul_string(const char *json, size_t len)
{
  long index = -1;
  for (size_t i = 0; i < len; i++) {
    if (json[i] != '"')
      continue;
    index++;
    for (i++; i < len && json[i] != '"'; i++) {
      if (json[i] == '\0')
        return index;
      if (json[i] != '\\')
        continue;
      i++;
      if (i + 4 < len && json[i] == 'u' && memcmp(json + i + 1, "0000", 4) == 0)
        return index;
    }
  }
  return -1;
}
