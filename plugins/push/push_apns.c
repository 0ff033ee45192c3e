/* One APNs request (see push.h): the message FCM would get (push_fcm.c built and checked
 * it) said as Apple wants it -- the JSON body ({"aps": {"alert": {title, body}}} and the
 * data beside "aps"), the apns-* headers -- and what APNs's answer means
 * (https://developer.apple.com/documentation/usernotifications/handling-notification-responses-from-apns). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "push.h"

/* "7200s" as seconds; 0 when it is not. */
static int64_t ttl_of(const char *t)
{
  return t ? strtoll(t, NULL, 10) : 0;
}

/* "<8>-<4>-<4>-<4>-<12>" from a message id of 32 hex digits (apns-id is a UUID). */
static void uuid_of(const char *id, char out[37])
{
  out[0] = '\0';
  if (strlen(id) != 32 || strspn(id, "0123456789abcdefABCDEF") != 32)
    return;
  snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", id, id + 8, id + 12, id + 16, id + 20);
}

int push_apns_prepare(const cJSON *fcm, const char *msg_id, int64_t now_s, struct push_apns_req *out, char *why,
                      size_t len)
{
  const cJSON *n = cJSON_GetObjectItemCaseSensitive(fcm, "notification"), *d = cJSON_GetObjectItemCaseSensitive(fcm, "data");
  const cJSON *android = cJSON_GetObjectItemCaseSensitive(fcm, "android"), *v;
  const char *collapse = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(android, "collapse_key"));
  const char *prio = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(android, "priority"));
  memset(out, 0, sizeof *out);
  if (collapse && strlen(collapse) > 64) {
    snprintf(why, len, "the collapse_key option is longer than the 64 bytes APNs takes");
    return -1;
  }
  cJSON *doc = cJSON_CreateObject(), *aps = cJSON_AddObjectToObject(doc, "aps");
  if (n) { /* an alert; else a background push, which wakes the app and shows nothing */
    cJSON *alert = cJSON_AddObjectToObject(aps, "alert");
    cJSON_ArrayForEach(v, n) if (strcmp(v->string, "image") != 0) cJSON_AddStringToObject(alert, v->string, v->valuestring);
    if (cJSON_GetObjectItemCaseSensitive(n, "image")) { /* the app's notification service extension fetches it */
      cJSON_AddNumberToObject(aps, "mutable-content", 1);
      cJSON_AddStringToObject(doc, "image", cJSON_GetObjectItemCaseSensitive(n, "image")->valuestring);
    }
  } else {
    cJSON_AddNumberToObject(aps, "content-available", 1);
  }
  cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
                          cJSON_GetObjectItemCaseSensitive(fcm, "apns"), "payload"), "aps"))
      cJSON_AddItemToObject(aps, v->string, cJSON_Duplicate(v, 1)); /* sound, badge */
  cJSON_ArrayForEach(v, d) cJSON_AddStringToObject(doc, v->string, v->valuestring);
  out->body = cJSON_PrintUnformatted(doc);
  cJSON_Delete(doc);
  out->push_type = n ? "alert" : "background";
  out->priority = n && prio && strcmp(prio, "HIGH") == 0 ? "10" : "5"; /* a background push must be 5 */
  int64_t ttl = ttl_of(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(android, "ttl")));
  snprintf(out->expiration, sizeof out->expiration, "%lld", ttl > 0 ? (long long)(now_s + ttl) : 0LL);
  snprintf(out->collapse, sizeof out->collapse, "%s", collapse ? collapse : "");
  uuid_of(msg_id, out->id);
  if (out->body == NULL) {
    snprintf(why, len, "out of memory");
    return -1;
  }
  return 0;
}

void push_apns_req_free(struct push_apns_req *r)
{
  free(r->body);
  r->body = NULL;
}

/* What a reason means, with the status it came with. */
static enum push_outcome outcome_of(int status, const char *reason)
{
  if (status == 410 || strcmp(reason, "BadDeviceToken") == 0 || strcmp(reason, "DeviceTokenNotForTopic") == 0 ||
      strcmp(reason, "Unregistered") == 0)
    return PUSH_BAD_TOKEN;
  if (strcmp(reason, "ExpiredProviderToken") == 0 || strcmp(reason, "InvalidProviderToken") == 0)
    return PUSH_AUTH;
  if (status == 429 || status >= 500 || status == 403)
    return PUSH_RETRY; /* another 403: the key or the topic, the operator's to fix; the message is kept */
  return PUSH_REJECTED;
}

void push_apns_answer(int status, const char *body, size_t body_len, const char *apns_id, const char *retry_after,
                      struct push_answer *a)
{
  memset(a, 0, sizeof *a);
  if (status == 200) {
    a->outcome = PUSH_SENT;
    snprintf(a->id, sizeof a->id, "%s", apns_id ? apns_id : "");
    return;
  }
  cJSON *doc = cJSON_ParseWithLength(body, body_len);
  const char *reason = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "reason"));
  snprintf(a->code, sizeof a->code, "%s", reason ? reason : "");
  a->outcome = outcome_of(status, a->code);
  if (a->outcome == PUSH_RETRY && retry_after && isdigit((unsigned char)retry_after[0]) && strlen(retry_after) <= 6)
    a->retry_after_ms = strtoull(retry_after, NULL, 10) * 1000;
  snprintf(a->detail, sizeof a->detail, "APNs answered HTTP %d %s", status, reason ? reason : "without a reason");
  cJSON_Delete(doc);
}
