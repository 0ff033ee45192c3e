/* What a text costs on the air (3GPP TS 23.038 and 23.040): GSM-7 when every character is
 * in the default alphabet or its extension table (an extension character is sent as ESC
 * and itself, two septets), else UCS-2 (UTF-16 units: a character beyond the BMP is a
 * surrogate pair, two units). One segment holds 160 septets or 70 units; a longer text
 * is concatenated, and the 6-byte user data header leaves 153 septets or 67 units per
 * part. A part never ends between ESC and its character, nor between two surrogates. And
 * which numbers and senders the channel accepts. */
#include <string.h>

#include "sms.h"

#define GSM7_SINGLE 160
#define GSM7_PART 153
#define UCS2_SINGLE 70
#define UCS2_PART 67

/* GSM 03.38's default alphabet, as Unicode code points, in its septet order. */
static const uint16_t gsm7_basic[128] = {
    '@',    0xA3,   '$',    0xA5,   0xE8,   0xE9,   0xF9,   0xEC,   0xF2,   0xC7,   '\n',   0xD8,   0xF8,
    '\r',   0xC5,   0xE5,   0x394,  '_',    0x3A6,  0x393,  0x39B,  0x3A9,  0x3A0,  0x3A8,  0x3A3,  0x398,
    0x39E,  0xFFFF, 0xC6,   0xE6,   0xDF,   0xC9,   ' ',    '!',    '"',    '#',    0xA4,   '%',    '&',
    '\'',   '(',    ')',    '*',    '+',    ',',    '-',    '.',    '/',    '0',    '1',    '2',    '3',
    '4',    '5',    '6',    '7',    '8',    '9',    ':',    ';',    '<',    '=',    '>',    '?',    0xA1,
    'A',    'B',    'C',    'D',    'E',    'F',    'G',    'H',    'I',    'J',    'K',    'L',    'M',
    'N',    'O',    'P',    'Q',    'R',    'S',    'T',    'U',    'V',    'W',    'X',    'Y',    'Z',
    0xC4,   0xD6,   0xD1,   0xDC,   0xA7,   0xBF,   'a',    'b',    'c',    'd',    'e',    'f',    'g',
    'h',    'i',    'j',    'k',    'l',    'm',    'n',    'o',    'p',    'q',    'r',    's',    't',
    'u',    'v',    'w',    'x',    'y',    'z',    0xE4,   0xF6,   0xF1,   0xFC,   0xE0};

/* The extension table's characters (each ESC + one septet). */
static const uint16_t gsm7_ext[] = {0x0C, '^', '{', '}', '\\', '[', '~', ']', '|', 0x20AC};

/* Septets `cp` takes in GSM-7: 1, 2 (extension), or 0 when it has none. */
static int gsm7_septets(uint32_t cp)
{
  if (cp >= 0xFFFF)
    return 0;
  for (size_t i = 0; i < sizeof gsm7_basic / sizeof gsm7_basic[0]; i++)
    if (gsm7_basic[i] == cp)
      return 1;
  for (size_t i = 0; i < sizeof gsm7_ext / sizeof gsm7_ext[0]; i++)
    if (gsm7_ext[i] == cp)
      return 2;
  return 0;
}

/* The next code point of UTF-8 `s` at *i (advanced), or -1 when the bytes are not UTF-8
 * (overlong forms, surrogates and values past U+10FFFF included). */
static int32_t next_cp(const unsigned char *s, size_t *i)
{
  unsigned char c = s[*i];
  int n = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : -1;
  if (n < 0)
    return -1;
  uint32_t cp = n == 0 ? c : n == 1 ? (c & 0x1Fu) : n == 2 ? (c & 0x0Fu) : (c & 0x07u);
  for (int k = 1; k <= n; k++) {
    if ((s[*i + (size_t)k] & 0xC0) != 0x80)
      return -1;
    cp = (cp << 6) | (s[*i + (size_t)k] & 0x3Fu);
  }
  static const uint32_t least[] = {0, 0x80, 0x800, 0x10000};
  if (cp < least[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return -1;
  *i += (size_t)n + 1;
  return (int32_t)cp;
}

/* Parts of `part` units: a second walk of the (valid) text, a character never
 * straddling two parts. */
static size_t parts_of(const unsigned char *s, size_t len, int gsm, size_t part)
{
  size_t parts = 1, used = 0, i = 0;
  while (i < len) {
    int32_t cp = next_cp(s, &i);
    size_t w = gsm ? (size_t)gsm7_septets((uint32_t)cp) : cp > 0xFFFF ? 2 : 1;
    if (used + w > part) {
      parts++;
      used = 0;
    }
    used += w;
  }
  return parts;
}

int sms_measure(const char *text, struct sms_measure *m)
{
  const unsigned char *s = (const unsigned char *)text;
  size_t len = strlen(text), i = 0, septets = 0, units = 0, chars = 0;
  int gsm = 1;
  memset(m, 0, sizeof *m);
  while (i < len) {
    int32_t cp = next_cp(s, &i);
    if (cp < 0)
      return -1;
    int w = gsm7_septets((uint32_t)cp);
    if (w == 0)
      gsm = 0;
    septets += (size_t)w;
    units += cp > 0xFFFF ? 2 : 1;
    chars++;
  }
  m->characters = chars;
  m->encoding = gsm ? SMS_GSM7 : SMS_UCS2;
  m->units = gsm ? septets : units;
  if (chars == 0)
    m->segments = 0;
  else if (m->units <= (gsm ? GSM7_SINGLE : UCS2_SINGLE))
    m->segments = 1;
  else
    m->segments = parts_of(s, len, gsm, gsm ? GSM7_PART : UCS2_PART);
  return 0;
}

const char *sms_encoding_name(enum sms_encoding e)
{
  return e == SMS_GSM7 ? "GSM-7" : "UCS-2";
}

/* ITU-T E.164: at most 15 digits, the country code never starting with 0; fewer than 8
 * digits is no subscriber number the profiles accept (core/profile.c). */
int sms_is_e164(const char *number)
{
  if (number == NULL || number[0] != '+' || number[1] < '1' || number[1] > '9')
    return 0;
  size_t n = strlen(number + 1);
  return n >= 8 && n <= 15 && strspn(number + 1, "0123456789") == n;
}

/* An alphanumeric sender id is at most 11 GSM characters (TS 23.040's TP-OA); one of
 * letters only is read as such by every network, a number without '+' is not. */
int sms_sender_ok(const char *from)
{
  if (sms_is_e164(from))
    return 1;
  size_t n = from ? strlen(from) : 0, letters = 0;
  if (n == 0 || n > 11)
    return 0;
  for (size_t i = 0; i < n; i++) {
    char c = from[i];
    int letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!letter && !(c >= '0' && c <= '9') && c != ' ')
      return 0;
    letters += (size_t)letter;
  }
  return letters > 0;
}
