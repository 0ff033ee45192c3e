/* One FCM HTTP v1 message (see push.h): what the journey spoke, as FCM's "message" object
 * (notification, data, android options, the iOS sound and badge), and what FCM's answer to it means. FCM's
 * errors are read from the answer's details (google.firebase.fcm.v1.FcmError's errorCode,
 * google.rpc.BadRequest's fieldViolations), as its documentation lists them:
 * https://firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "push.h"

#define PUSH_TTL_MAX_S (28 * 86400) /* FCM keeps a message four weeks at most */

/* A ttl option: seconds ("3600"), or a number with a unit s, m, h, d ("30m"). -1 when it
 * is none, or past FCM's four weeks. */
static int64_t ttl_seconds(const char *t)
{
  char *end;
  long long v = strtoll(t, &end, 10);
  static const struct { char unit; int64_t s; } units[] = {{'\0', 1}, {'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}};
  if (end == t || v < 0 || !isdigit((unsigned char)t[0]))
    return -1;
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
    if (*end == units[i].unit && (units[i].unit == '\0' || end[1] == '\0'))
      return v <= PUSH_TTL_MAX_S / units[i].s ? v * units[i].s : -1;
  return -1;
}

/* FCM refuses these data keys (they are its own). */
static int reserved_key(const char *k)
{
  return strcmp(k, "from") == 0 || strcmp(k, "notification") == 0 || strcmp(k, "message_type") == 0 ||
         strncmp(k, "google.", 7) == 0 || strncmp(k, "gcm.", 4) == 0 || strncmp(k, "parley_", 7) == 0;
}

/* The journey's data option (a JSON object of text values) into `data`. 0, or -1 and why. */
static int add_data(cJSON *data, const char *opt, char *why, size_t len)
{
  cJSON *d = cJSON_Parse(opt);
  const char *bad = cJSON_IsObject(d) ? NULL : "the data option must be a JSON object of text values, such as "
                                               "'{\"order\":\"42\"}'";
  for (const cJSON *v = bad ? NULL : d->child; v && !bad; v = v->next) {
    if (!cJSON_IsString(v))
      bad = "the data option's values must all be text (FCM carries strings only)";
    else if (reserved_key(v->string))
      bad = "the data option uses a key FCM or Parley reserves (from, notification, message_type, google.*, "
            "gcm.*, parley_*)";
    else
      cJSON_AddStringToObject(data, v->string, v->valuestring);
  }
  cJSON_Delete(d);
  if (bad)
    snprintf(why, len, "%s", bad);
  return bad ? -1 : 0;
}

static const char *option(const parley_msg *msg, const struct push *p, const char *key)
{
  return PARLEY_HOST_HAS(p->host, msg_option) ? p->host->msg_option(msg, key) : NULL;
}

/* message.android: priority, ttl, collapse_key, from the options or the settings. */
static int add_android(const struct push *p, const parley_msg *msg, cJSON *m, char *why, size_t len)
{
  const char *prio = option(msg, p, "priority"), *ttl = option(msg, p, "ttl");
  const char *collapse = option(msg, p, "collapse_key");
  int64_t ttl_s = ttl ? ttl_seconds(ttl) : p->ttl_ms / 1000;
  char ttl_text[32];
  if (!prio)
    prio = p->priority;
  if (strcmp(prio, "high") != 0 && strcmp(prio, "normal") != 0) {
    snprintf(why, len, "the priority option must be \"high\" or \"normal\", not '%.20s'", prio);
    return -1;
  }
  if (ttl_s < 0) {
    snprintf(why, len, "the ttl option must be seconds or a duration such as \"30m\", \"4h\", \"2d\" (at most 28 days)");
    return -1;
  }
  cJSON *a = cJSON_AddObjectToObject(m, "android");
  cJSON_AddStringToObject(a, "priority", strcmp(prio, "high") == 0 ? "HIGH" : "NORMAL");
  snprintf(ttl_text, sizeof ttl_text, "%llds", (long long)ttl_s);
  cJSON_AddStringToObject(a, "ttl", ttl_text);
  if (collapse)
    cJSON_AddStringToObject(a, "collapse_key", collapse);
  return 0;
}

/* The sound and badge options: android.notification.sound, and for iOS (through FCM, and
 * read back by push_apns.c) apns.payload.aps.sound and .badge. 0, or -1 and why. */
static int add_sound_badge(const struct push *p, const parley_msg *msg, cJSON *m, char *why, size_t len)
{
  const char *sound = option(msg, p, "sound"), *badge = option(msg, p, "badge");
  char *end = NULL;
  long b = badge ? strtol(badge, &end, 10) : 0;
  if (sound && (!sound[0] || strlen(sound) > 64 || strpbrk(sound, "/\\"))) {
    snprintf(why, len, "the sound option must name a sound file of the app (1-64 bytes, no '/'), or \"default\"");
    return -1;
  }
  if (badge && (end == badge || *end || b < 0 || b > 99999)) {
    snprintf(why, len, "the badge option must be a whole number from 0 to 99999 (0 clears it)");
    return -1;
  }
  if (!sound && !badge)
    return 0;
  cJSON *aps = cJSON_AddObjectToObject(cJSON_AddObjectToObject(cJSON_AddObjectToObject(m, "apns"), "payload"), "aps");
  if (sound) {
    cJSON_AddStringToObject(cJSON_AddObjectToObject(cJSON_GetObjectItemCaseSensitive(m, "android"), "notification"),
                            "sound", sound);
    cJSON_AddStringToObject(aps, "sound", sound);
  }
  if (badge)
    cJSON_AddNumberToObject(aps, "badge", (double)b);
  return 0;
}

/* A part as the notification shows it: without the white space a template file ends with
 * (its last newline, most often). */
static void add_trimmed(cJSON *n, const char *name, const char *text)
{
  size_t len = text ? strlen(text) : 0;
  while (len && isspace((unsigned char)text[len - 1]))
    len--;
  char *t = len ? strndup(text, len) : NULL;
  if (t)
    cJSON_AddStringToObject(n, name, t);
  free(t);
}

cJSON *push_fcm_message(const struct push *p, const parley_msg *msg, char *why, size_t len)
{
  const char *title = p->host->msg_part(msg, "subject"), *body = p->host->msg_part(msg, "text");
  const char *image = option(msg, p, "image"), *link = option(msg, p, "link"), *data = option(msg, p, "data");
  cJSON *m = cJSON_CreateObject(), *n = cJSON_CreateObject(), *d = cJSON_AddObjectToObject(m, "data");
  add_trimmed(n, "title", title);
  add_trimmed(n, "body", body);
  if (image && strncmp(image, "https://", 8) != 0) {
    snprintf(why, len, "the image option must be an https:// URL");
    goto fail;
  }
  if (image)
    cJSON_AddStringToObject(n, "image", image);
  if ((data && add_data(d, data, why, len) < 0) || add_android(p, msg, m, why, len) < 0 ||
      add_sound_badge(p, msg, m, why, len) < 0)
    goto fail;
  if (!n->child && !d->child) {
    snprintf(why, len, "the message has no title (template .subject), body (.txt) nor data to send");
    goto fail;
  }
  if (n->child)
    cJSON_AddItemToObject(m, "notification", n);
  else
    cJSON_Delete(n);
  if (link) { /* the app opens it; a browser too, for a web push */
    cJSON_AddStringToObject(d, "link", link);
    if (strncmp(link, "https://", 8) == 0)
      cJSON_AddStringToObject(cJSON_AddObjectToObject(cJSON_AddObjectToObject(m, "webpush"), "fcm_options"), "link",
                              link);
  }
  cJSON_AddStringToObject(d, "parley_message_id", p->host->msg_id(msg)); /* for the app's receipts */
  if (p->receipt_secret) {
    char *r = push_receipt_token(p, p->host->msg_id(msg), p->host->msg_contact(msg));
    if (r == NULL) {
      snprintf(why, len, "out of memory");
      goto fail_m;
    }
    cJSON_AddStringToObject(d, "parley_receipt", r);
    free(r);
  }
  return m;
fail_m:
  cJSON_Delete(m);
  return NULL;
fail:
  cJSON_Delete(n);
  cJSON_Delete(m);
  return NULL;
}

size_t push_fcm_payload_size(const cJSON *message)
{
  size_t total = 0;
  static const char *const parts[] = {"notification", "data"};
  for (size_t i = 0; i < 2; i++) {
    char *t = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(message, parts[i]));
    total += t ? strlen(t) : 0;
    free(t);
  }
  return total;
}

char *push_fcm_body(const cJSON *message, const char *token, const char *platform)
{
  cJSON *doc = cJSON_CreateObject(), *m = cJSON_Duplicate(message, 1);
  (void)platform; /* FCM reads each platform's part and ignores the others' */
  cJSON_AddStringToObject(m, "token", token);
  cJSON_AddItemToObject(doc, "message", m);
  char *out = cJSON_PrintUnformatted(doc);
  cJSON_Delete(doc);
  return out;
}

/* FCM's errorCode in the details, else the error's status ("NOT_FOUND"); "" when none. */
static const char *error_code(const cJSON *err, int *on_token)
{
  const cJSON *det, *status = cJSON_GetObjectItemCaseSensitive(err, "status"), *found = NULL;
  *on_token = 0;
  cJSON_ArrayForEach(det, cJSON_GetObjectItemCaseSensitive(err, "details"))
  {
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(det, "@type"), *v;
    const char *t = cJSON_IsString(type) ? type->valuestring : "";
    if (strstr(t, "google.firebase.fcm.v1.FcmError") && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(det, "errorCode")))
      found = cJSON_GetObjectItemCaseSensitive(det, "errorCode");
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(det, "fieldViolations"))
    {
      const cJSON *f = cJSON_GetObjectItemCaseSensitive(v, "field");
      *on_token |= cJSON_IsString(f) && strcmp(f->valuestring, "message.token") == 0;
    }
  }
  if (found)
    return found->valuestring;
  return cJSON_IsString(status) ? status->valuestring : "";
}

/* Retry-After in seconds ("120"); an HTTP date or anything else is no wait of FCM's. */
static uint64_t retry_after(const char *v)
{
  if (v == NULL || !isdigit((unsigned char)v[0]) || strspn(v, "0123456789") != strlen(v) || strlen(v) > 6)
    return 0;
  return strtoull(v, NULL, 10) * 1000;
}

/* What an error code means, whatever the HTTP status. */
static enum push_outcome outcome_of(int status, const char *code, int on_token)
{
  if (strcmp(code, "UNREGISTERED") == 0 || strcmp(code, "SENDER_ID_MISMATCH") == 0 ||
      (strcmp(code, "INVALID_ARGUMENT") == 0 && on_token))
    return PUSH_BAD_TOKEN;
  if (status == 401 && strcmp(code, "THIRD_PARTY_AUTH_ERROR") != 0)
    return PUSH_AUTH;
  if (status == 429 || status >= 500 || status == 401 || status == 403 || strcmp(code, "QUOTA_EXCEEDED") == 0 ||
      strcmp(code, "UNAVAILABLE") == 0 || strcmp(code, "INTERNAL") == 0)
    return PUSH_RETRY; /* 401/403 of the project's set-up: the operator's to fix, the message kept */
  return PUSH_REJECTED;
}

void push_fcm_answer(int status, const char *body, size_t body_len, const char *retry, struct push_answer *a)
{
  memset(a, 0, sizeof *a);
  cJSON *doc = cJSON_ParseWithLength(body, body_len);
  if (status / 100 == 2) { /* FCM answers 200 with the message's name */
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(doc, "name");
    a->outcome = PUSH_SENT;
    if (cJSON_IsString(name))
      snprintf(a->id, sizeof a->id, "%s", name->valuestring);
    cJSON_Delete(doc);
    return;
  }
  const cJSON *err = cJSON_GetObjectItemCaseSensitive(doc, "error"), *msg = cJSON_GetObjectItemCaseSensitive(err, "message");
  int on_token;
  snprintf(a->code, sizeof a->code, "%s", error_code(err, &on_token));
  a->outcome = outcome_of(status, a->code, on_token);
  a->retry_after_ms = a->outcome == PUSH_RETRY ? retry_after(retry) : 0;
  if (doc == NULL)
    snprintf(a->detail, sizeof a->detail, "FCM answered HTTP %d without a JSON error", status);
  else
    snprintf(a->detail, sizeof a->detail, "FCM answered HTTP %d %s%s%.160s", status, a->code[0] ? a->code : "(no code)",
             cJSON_IsString(msg) ? ": " : "", cJSON_IsString(msg) ? msg->valuestring : "");
  cJSON_Delete(doc);
}
