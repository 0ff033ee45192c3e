/* libFuzzer target: message templates (a marketer's text). Compiling refuses bad syntax
 * with a line number; rendering with values that need escaping never crashes, and the
 * HTML form never lets a raw '<' from a value through. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lua/tmpl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *lookup(void *ud, const char *key)
{
  return strlen(key) % 3 == 0 ? NULL : "<b>&\"'</b>";
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
  if (tmpl_render(t, lookup, NULL, 1, &out, err, sizeof err) == 0) {
    if (strstr(out, "<b>&") && !memchr(data, '<', size))
      abort(); /* a value's markup came through unescaped */
    free(out);
  }
  if (tmpl_render(t, lookup, NULL, 0, &out, err, sizeof err) == 0)
    free(out);
  tmpl_free(t);
  return 0;
}
