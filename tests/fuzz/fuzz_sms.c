/* libFuzzer target: what the sms channel reads from outside (plugins/sms): a text's
 * measure (sms_text.c), the keyword of a reply (sms_keyword.c), a provider's JSON at a
 * path and the body template (sms_json.c), a reply in the charset Kannel names
 * (sms_kannel.c), a provider's answer (sms_generic.c). Byte 0 picks the charset; the rest
 * is split at the first NUL into a text and a JSON document. Invariants: a measured text
 * is valid UTF-8 whose segments hold its units (160/70 alone, 153/67 a part, each part
 * but the last at least one unit short of full), a converted text is valid UTF-8, a rendered
 * template of any text is JSON whose value is the text. Aborts otherwise. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "sms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void measure_holds(const char *text)
{
  struct sms_measure m;
  if (sms_measure(text, &m) < 0)
    return;
  size_t single = m.encoding == SMS_GSM7 ? 160 : 70, part = m.encoding == SMS_GSM7 ? 153 : 67;
  if (m.characters == 0 ? m.segments != 0 : m.segments == 0)
    abort();
  /* every part but the last holds at least part - 1 units (a pair may not fit the last one) */
  if (m.units <= single ? m.segments > 1 : (m.segments * part < m.units || m.segments > (m.units - 1) / (part - 1) + 1))
    abort();
  if (m.units < m.characters || m.units > 2 * m.characters)
    abort();
}

static void template_holds(const char *text)
{
  struct sms_measure m;
  char why[128];
  if (sms_measure(text, &m) < 0)
    return; /* cJSON keeps bytes; the core takes only UTF-8 texts */
  const char *vars[] = {"text", text, NULL};
  char *out = sms_json_render("{\"t\":\"{{text}}\"}", vars, why, sizeof why);
  if (out == NULL)
    abort();
  cJSON *doc = cJSON_Parse(out);
  const cJSON *t = cJSON_GetObjectItem(doc, "t");
  if (!cJSON_IsString(t) || strcmp(t->valuestring, text) != 0)
    abort();
  cJSON_Delete(doc);
  free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const char *const charsets[] = {"UTF-8", "UTF-16BE", "UCS-2", "ISO-8859-1", "WINDOWS-1252", ""};
  static const char *const stop[] = {"STOP", "QUIT", NULL}, *const start[] = {"START", NULL}, *const help[] = {"HELP", NULL};
  if (size < 1)
    return 0;
  char *buf = malloc(size);
  memcpy(buf, data + 1, size - 1);
  buf[size - 1] = '\0';
  const char *text = buf, *json = memchr(buf, '\0', size - 1) ? buf + strlen(buf) + 1 : "";
  if (json > buf + size - 1)
    json = "";
  measure_holds(text);
  template_holds(text);
  (void)sms_keyword_of(text, stop, start, help);
  char out[4096];
  struct sms_measure m;
  if (sms_charset_utf8(text, strlen(text), charsets[data[0] % 6], out, sizeof out) == 0 && sms_measure(out, &m) < 0 &&
      data[0] % 6 != 0 && data[0] % 6 != 5)
    abort(); /* a conversion gives UTF-8 */
  cJSON *doc = cJSON_Parse(json);
  char val[64];
  (void)sms_json_path(doc, text, val, sizeof val);
  cJSON_Delete(doc);
  struct sms s = {.id_path = "messages.0.id", .error_path = "error.message"};
  char id[64], detail[128];
  enum parley_fail_reason r;
  (void)sms_generic_outcome(&s, 200 + data[0], json, strlen(json), id, sizeof id, detail, sizeof detail, &r);
  (void)sms_kannel_outcome(200 + data[0], text, &r);
  free(buf);
  return 0;
}
