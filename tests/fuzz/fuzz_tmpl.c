/* libFuzzer target: message templates (a marketer's text). Compiling refuses bad syntax
 * with a line number; rendering with values that need escaping never crashes, and the
 * HTML form never lets a raw '<' from a value through, and the one-line (header) form
 * never holds a line break or another control character. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lua/tmpl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *lookup(void *ud, const char *key)
{
  return strlen(key) % 3 == 0 ? NULL : strlen(key) % 3 == 1 ? "<b>&\"'</b>" : "a\r\nBcc: x";
}

static int has_control(const char *s)
{
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if (*p < 0x20 || *p == 0x7f)
      return 1;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct tmpl *t;
  char err[256], *out;
  if (tmpl_compile((const char *)data, size, "fuzz.html", &t, err, sizeof err) < 0) {
    if (err[0] == '\0')
      abort();
    return 0;
  }
  if (tmpl_render(t, lookup, NULL, TMPL_HTML, &out, err, sizeof err) == 0) {
    if (strstr(out, "<b>&") && !memchr(data, '<', size))
      abort(); /* a value's markup came through unescaped */
    free(out);
  }
  if (tmpl_render(t, lookup, NULL, TMPL_TEXT, &out, err, sizeof err) == 0)
    free(out);
  if (tmpl_render(t, lookup, NULL, TMPL_LINE, &out, err, sizeof err) == 0) {
    if (has_control(out) || out[0] == ' ' || (out[0] && out[strlen(out) - 1] == ' '))
      abort(); /* a header line that is not one line */
    free(out);
  }
  tmpl_free(t);
  return 0;
}
