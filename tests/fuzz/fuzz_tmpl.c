/* libFuzzer target: message templates (a marketer's text). Compiling refuses bad syntax
 * with a line number; rendering with values that need escaping, lists to loop over and
 * values formatters refuse never crashes, the HTML form never lets a raw '<' from a value
 * through (unless the template asks for it raw), and the one-line (header) form never holds
 * a line break or another control character. */
#define _GNU_SOURCE /* memmem */
#include <cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lua/tmpl.h"
#include "zones.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Names of one to three letters each find something: a string needing escapes, a header
 * injection, a number, a time, a list of maps, a list of strings, a map, false, "". */
static const char DATA[] =
    "{\"a\":\"<b>&\\\"'</b>\",\"b\":\"x\\r\\nBcc: y\",\"n\":1234.5,\"w\":\"2026-12-24T15:05:00Z\","
    "\"items\":[{\"name\":\"<i>\",\"price\":2},{\"name\":\"t\",\"price\":\"x\"}],"
    "\"l\":[\"<s>\",\"t\"],\"m\":{\"a\":\"<m>\",\"n\":0},\"f\":false,\"e\":\"\",\"raw\":\"<u>\"}";

static int has_control(const char *s)
{
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if (*p < 0x20 || *p == 0x7f)
      return 1;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static cJSON *root;
  static struct zones *zones;
  struct tmpl *t;
  struct tmpl_source src;
  struct tmpl_env env = {.locale = size % 2 ? "de-DE" : "en-US",
                         .timezone = size % 3 ? "Europe/Paris" : NULL,
                         .max_bytes = 1 << 16, .max_items = 100};
  if (zones == NULL)
    zones = zones_new();
  env.zones = zones;
  char err[256], *out;
  if (root == NULL)
    root = cJSON_Parse(DATA);
  tmpl_json_source(&src, root);
  if (tmpl_compile((const char *)data, size, "fuzz.html", &t, err, sizeof err) < 0) {
    if (err[0] == '\0')
      abort();
    return 0;
  }
  int raw = memmem(data, size, "{{{", 3) || memchr(data, '&', size) || memchr(data, '<', size);
  if (tmpl_render(t, &src, &env, TMPL_HTML, &out, err, sizeof err) == 0) {
    if ((strstr(out, "<b>") || strstr(out, "<i>") || strstr(out, "<s>")) && !raw)
      abort(); /* a value's markup came through unescaped */
    free(out);
  } else if (err[0] == '\0') {
    abort();
  }
  if (tmpl_render(t, &src, &env, TMPL_TEXT, &out, err, sizeof err) == 0)
    free(out);
  if (tmpl_render(t, &src, &env, TMPL_LINE, &out, err, sizeof err) == 0) {
    if (has_control(out) || out[0] == ' ' || (out[0] && out[strlen(out) - 1] == ' '))
      abort(); /* a header line that is not one line */
    free(out);
  }
  tmpl_free(t);
  return 0;
}
