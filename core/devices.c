/* The devices a contact can be pushed to (see devices.h). */
#include "devices.h"

#include <cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "text.h"
#include "timestamp.h"

static const char *const PLATFORMS[] = {"ios", "android", "web"};

const char *devices_token_problem(const char *token)
{
  size_t len = strlen(token);
  if (len == 0)
    return "is empty";
  if (len > DEVICES_TOKEN_MAX)
    return "is longer than 1024 bytes";
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)token[i] <= 0x20 || (unsigned char)token[i] >= 0x7f)
      return "holds a space, a control or a non-ASCII character";
  return NULL;
}

static int platform_ok(const cJSON *p)
{
  for (size_t i = 0; cJSON_IsString(p) && i < sizeof PLATFORMS / sizeof PLATFORMS[0]; i++)
    if (strcmp(p->valuestring, PLATFORMS[i]) == 0)
      return 1;
  return 0;
}

/* What is wrong with one device's fields, or NULL. */
static const char *device_problem(const cJSON *d, const char **field)
{
  int64_t ms;
  *field = "";
  if (!cJSON_IsObject(d))
    return "must be an object such as {\"platform\": \"android\", \"app_id\": \"com.example.shop\"}, or null";
  for (const cJSON *f = d->child; f; f = f->next) {
    *field = f->string;
    if (strcmp(f->string, "platform") == 0 && !platform_ok(f))
      return "must be \"ios\", \"android\" or \"web\"";
    if (strcmp(f->string, "app_id") == 0 &&
        (!cJSON_IsString(f) || strlen(f->valuestring) > DEVICES_APP_ID_MAX || !f->valuestring[0]))
      return "must be a string of 1-255 bytes";
    if (strcmp(f->string, "last_seen") == 0 && (!cJSON_IsString(f) || timestamp_parse(f->valuestring, &ms) < 0))
      return "must be an RFC 3339 date-time such as \"2026-11-18T09:30:00Z\"";
    if (strcmp(f->string, "platform") != 0 && strcmp(f->string, "app_id") != 0 && strcmp(f->string, "last_seen") != 0)
      return "is not a device field (platform, app_id, last_seen)";
  }
  *field = "platform";
  return cJSON_GetObjectItemCaseSensitive(d, "platform") ? NULL : "is missing (\"ios\", \"android\" or \"web\")";
}

int devices_check(const cJSON *v, char *err, size_t errlen)
{
  if (!cJSON_IsObject(v)) {
    snprintf(err, errlen, "field 'profile.devices' must be an object of push token: device, such as "
                          "{\"<token>\": {\"platform\": \"android\"}}");
    return -1;
  }
  size_t n = 0;
  for (const cJSON *d = v->child; d; d = d->next, n++) {
    const char *why = devices_token_problem(d->string), *field = NULL;
    if (why) {
      snprintf(err, errlen, "field 'profile.devices' has a key that is not a push token (it %s): '%.*s'", why,
               text_clip(d->string, 40), d->string);
      return -1;
    }
    if (!cJSON_IsNull(d) && (why = device_problem(d, &field)) != NULL) {
      snprintf(err, errlen, "field 'profile.devices.%.*s%s%s' %s", text_clip(d->string, 40), d->string,
               field[0] ? "." : "", field, why);
      return -1;
    }
  }
  if (n > DEVICES_MAX) {
    snprintf(err, errlen, "field 'profile.devices' names %zu devices, more than the %d a contact keeps", n,
             DEVICES_MAX);
    return -1;
  }
  return 0;
}

static int64_t seen_ms(const cJSON *d)
{
  const cJSON *s = cJSON_GetObjectItemCaseSensitive(d, "last_seen");
  int64_t ms;
  return cJSON_IsString(s) && timestamp_parse(s->valuestring, &ms) == 0 ? ms : INT64_MIN;
}

size_t devices_trim(cJSON *devices)
{
  size_t gone = 0;
  while (cJSON_IsObject(devices) && cJSON_GetArraySize(devices) > DEVICES_MAX) {
    cJSON *oldest = devices->child;
    for (cJSON *d = devices->child; d; d = d->next)
      if (seen_ms(d) < seen_ms(oldest))
        oldest = d;
    cJSON_Delete(cJSON_DetachItemViaPointer(devices, oldest));
    gone++;
  }
  return gone;
}
