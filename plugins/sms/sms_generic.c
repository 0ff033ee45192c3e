/* A JSON-over-HTTP provider (most cloud SMS APIs): each text is one POST of the `body`
 * template to `url`, with the configured headers ({{api_key}} in them from the SECRET
 * setting); the provider's message id and error are read from its JSON answer at
 * `id_path` and `error_path`. The message id goes as Idempotency-Key, so a retry after
 * an answer that was lost or unreadable is one text at a provider that honours it.
 *
 * Callbacks: POST /inbound takes the provider's webhook for replies, signed with HMAC-
 * SHA256 over the exact body (and, with timestamp_header, "<timestamp>.<body>", the
 * timestamp checked against replays) under inbound_secret; POST /status takes the
 * receipts on the signed {{callback_url}} the body template handed the provider (both
 * in sms_generic_routes.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cJSON.h>

#include "sms.h"

enum sms_outcome sms_generic_outcome(const struct sms *s, int status, const char *body, size_t body_len,
                                     char *id, size_t id_cap, char *detail, size_t detail_cap,
                                     enum parley_fail_reason *reason)
{
  cJSON *doc = cJSON_ParseWithLength(body, body_len);
  char buf[256];
  int json = doc != NULL;
  const char *err = doc ? sms_json_path(doc, s->error_path, buf, sizeof buf) : NULL;
  const char *pid = doc ? sms_json_path(doc, s->id_path, id, id_cap) : NULL;
  *reason = PARLEY_FAIL_REJECTED;
  if (pid == NULL && id_cap)
    id[0] = '\0';
  snprintf(detail, detail_cap, "HTTP %d%s%s", status, err ? ": " : json ? "" : " (not JSON)", err ? err : "");
  cJSON_Delete(doc);
  if (status >= 200 && status < 300 && !json)
    return SMS_RETRY; /* a 2xx without its JSON is no yes (a proxy's page): Idempotency-Key guards the retry */
  if (status >= 200 && status < 300)
    return err ? SMS_FAILED : SMS_ACCEPTED; /* some providers refuse with a 200 and an error */
  if (status == 401 || status == 403)
    return SMS_CONFIG;
  if (status == 408 || status == 429 || status >= 500)
    return SMS_RETRY;
  if (status == 404 || status == 410)
    *reason = PARLEY_FAIL_INVALID_ADDRESS;
  return status >= 400 ? SMS_FAILED : SMS_RETRY;
}

char *sms_generic_body(const struct sms *s, const char *to, const char *text, const char *message_id,
                       const char *callback_url, char *why, size_t len)
{
  const char *vars[] = {"to", to, "from", s->from, "text", text, "message_id", message_id,
                        "callback_url", callback_url ? callback_url : "", "api_key", s->api_key ? s->api_key : "",
                        NULL};
  return sms_json_render(s->body, vars, why, len);
}

/* One "Name: value" of the setting into h, {{api_key}} replaced; the strings into buf at
 * *used. 0, or -1 and why. */
static int header_of(const struct sms *s, const char *line, struct parley_http_header *h, char *buf, size_t cap,
                     size_t *used, char *why, size_t len)
{
  const char *colon = strchr(line, ':');
  size_t nlen = colon ? (size_t)(colon - line) : 0;
  if (nlen == 0 || strcspn(line, " \t") < nlen) {
    snprintf(why, len, "headers: '%.60s' is not 'Name: value'", line);
    return -1;
  }
  const char *v = colon + 1 + strspn(colon + 1, " \t");
  const char *key = strstr(v, "{{api_key}}");
  const char *api = key && s->api_key ? s->api_key : "";
  int n = key ? snprintf(buf + *used, cap - *used, "%.*s%c%.*s%s%s", (int)nlen, line, 0, (int)(key - v), v, api,
                         key + 11)
              : snprintf(buf + *used, cap - *used, "%.*s%c%s", (int)nlen, line, 0, v);
  if (n < 0 || (size_t)n >= cap - *used) {
    snprintf(why, len, "headers: too long");
    return -1;
  }
  h->name = buf + *used;
  h->value = buf + *used + nlen + 1;
  for (const unsigned char *p = (const unsigned char *)h->value; *p; p++)
    if (*p < 0x20 || *p == 0x7f) {
      snprintf(why, len, "headers: the value of '%s' holds a control character", h->name);
      return -1;
    }
  *used += (size_t)n + 1;
  return 0;
}

int sms_generic_headers(const struct sms *s, struct parley_http_header *h, size_t n, char *buf, size_t cap,
                        char *why, size_t len)
{
  size_t count = 0, used = 0;
  for (size_t i = 0; s->headers && s->headers[i]; i++) {
    if (count == n) {
      snprintf(why, len, "headers: more than %zu", n);
      return -1;
    }
    if (header_of(s, s->headers[i], &h[count], buf, cap, &used, why, len) < 0)
      return -1;
    count++;
  }
  return (int)count;
}

