/* The opt-out keywords carriers and regulators expect (CTIA, the UK's and Germany's
 * codes of practice): a reply that is only STOP, START or HELP, whatever its case and
 * with the white space and punctuation around it ("Stop.", " stop!"), is an instruction
 * to the sender, never a conversation. "Stop sending me offers please" is a reply. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "sms.h"

#define KEYWORD_MAX 64

/* ASCII white space and punctuation at either end of the text; the rest is kept as it is. */
static size_t trimmed(const char *text, const char **start)
{
  const unsigned char *b = (const unsigned char *)text, *e = b + strlen(text);
  while (b < e && (isspace(*b) || ispunct(*b)))
    b++;
  while (e > b && (isspace(e[-1]) || ispunct(e[-1])))
    e--;
  *start = (const char *)b;
  return (size_t)(e - b);
}

static int listed(const char *word, size_t n, const char *const *list)
{
  for (size_t i = 0; list && list[i]; i++)
    if (strlen(list[i]) == n && strncasecmp(list[i], word, n) == 0)
      return 1;
  return 0;
}

enum sms_keyword sms_keyword_of(const char *text, const char *const *stop, const char *const *start,
                                const char *const *help)
{
  const char *word;
  size_t n = text ? trimmed(text, &word) : 0;
  if (n == 0 || n > KEYWORD_MAX)
    return SMS_KW_NONE;
  if (listed(word, n, stop))
    return SMS_KW_STOP;
  if (listed(word, n, start))
    return SMS_KW_START;
  if (listed(word, n, help))
    return SMS_KW_HELP;
  return SMS_KW_NONE;
}
