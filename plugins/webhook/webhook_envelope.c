/* The body of each POST: one JSON object, the same shape for every message, so a
 * receiver can parse it without looking at the channel (docs/webhook.md):
 *
 *   {"type": "message.send", "timestamp": "2026-12-02T10:48:50.123Z",
 *    "data": {"id", "channel", "contact", "address", "journey", "template",
 *             "subject", "text", "html", "attempt"}}
 *
 * "type", "timestamp" and "data" are Standard Webhooks' recommended payload; a part or
 * field the message lacks is null, never left out. */
#include <stdio.h>
#include <time.h>

#include <cJSON.h>

#include "webhook.h"

#define ENVELOPE_TYPE "message.send"

/* RFC 3339 in UTC to the millisecond, from the host's clock (never time()). */
static void rfc3339(int64_t ms, char *out, size_t cap)
{
  time_t s = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&s, &tm);
  char day[32];
  strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, cap, "%s.%03dZ", day, (int)(ms % 1000));
}

/* NULL becomes null; values are referenced, not copied: the object lives only while the
 * body is printed, and the message outlives it. */
static void add_str(cJSON *o, const char *key, const char *value)
{
  cJSON_AddItemToObject(o, key, value ? cJSON_CreateStringReference(value) : cJSON_CreateNull());
}

char *webhook_envelope(const struct parley_host *host, const parley_msg *msg, int64_t now_ms)
{
  char when[40];
  cJSON *env = cJSON_CreateObject(), *data = cJSON_CreateObject();
  if (env == NULL || data == NULL) {
    cJSON_Delete(env);
    cJSON_Delete(data);
    return NULL;
  }
  rfc3339(now_ms, when, sizeof when);
  cJSON_AddStringToObject(env, "type", ENVELOPE_TYPE);
  cJSON_AddStringToObject(env, "timestamp", when);
  cJSON_AddItemToObject(env, "data", data);
  add_str(data, "id", host->msg_id(msg));
  add_str(data, "channel", host->msg_channel(msg));
  add_str(data, "contact", host->msg_contact(msg));
  add_str(data, "address", host->msg_address(msg));
  add_str(data, "journey", host->msg_journey(msg));
  add_str(data, "template", host->msg_template(msg));
  add_str(data, "subject", host->msg_part(msg, "subject"));
  add_str(data, "text", host->msg_part(msg, "text"));
  add_str(data, "html", host->msg_part(msg, "html"));
  cJSON_AddNumberToObject(data, "attempt", host->msg_attempt(msg));
  char *body = cJSON_PrintUnformatted(env);
  cJSON_Delete(env);
  return body;
}
