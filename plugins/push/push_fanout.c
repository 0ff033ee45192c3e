/* One message to every device of its contact (see push.h): the devices read from the
 * profile (profile.devices: token -> platform), one APNs request per iOS device (with an
 * APNs key), the access token fetched (or waited for) and one FCM request per other
 * device, and the outcome gathered once every device has answered:
 *  - one device took it: delivered (a retry would push it again to that one);
 *  - else one can be retried (busy, down, our token refused): retried, after the longest
 *    Retry-After FCM gave;
 *  - else FCM refused the content: failed, "rejected";
 *  - else every token was dead: failed, "invalid_address".
 * A dead token (UNREGISTERED, INVALID_ARGUMENT on the token, SENDER_ID_MISMATCH) is removed
 * at once, whatever the others did: an event "<channel>.token_removed" whose profile
 * change drops that token only ({"devices": {"<token>": null}}), recorded in the contact's
 * history, so the next message goes to the devices left or is refused "no device". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <sodium.h>

#include "push.h"

#define PUSH_ANSWER_MAX (64u << 10)

struct push_dev {
  struct push_send *s;
  char *token;
  char platform[8];
  char *topic;    /* APNs: the device's app, or NULL (the apns_topic setting) */
  int apns;       /* through APNs (an iOS device, with an APNs key), else FCM */
  parley_http *h; /* in flight, or NULL */
};

struct push_send {
  struct push *p;
  parley_msg *msg;
  cJSON *message; /* FCM's message, without a token */
  struct push_apns_req apns; /* the same for APNs, when a device goes there */
  struct push_dev *devs;
  size_t n_devs, pending, n_apns;
  int waiting_bearer; /* FCM's devices wait for the access token */
  size_t sent, retry, bad, rejected;
  uint64_t retry_after_ms;
  char id[129], detail[256];
  struct push_send *prev, *next;
};

static void unlist(struct push_send *s)
{
  if (s->prev)
    s->prev->next = s->next;
  else
    s->p->list = s->next;
  if (s->next)
    s->next->prev = s->prev;
}

static void send_free(struct push_send *s)
{
  for (size_t i = 0; i < s->n_devs; i++) {
    free(s->devs[i].token);
    free(s->devs[i].topic);
  }
  free(s->devs);
  cJSON_Delete(s->message);
  push_apns_req_free(&s->apns);
  free(s);
}

/* Which way a device goes: 1 APNs (an iOS device, with an APNs key), 0 FCM (with a
 * service account), -1 none (an Android or web device on a channel without FCM). */
static int route_of(const struct push *p, const char *platform)
{
  if (p->apns && platform && strcmp(platform, "ios") == 0)
    return 1;
  return p->key ? 0 : -1;
}

size_t push_fanout_reachable(const struct push *p, const parley_msg *msg)
{
  const char *json = p->host->msg_contact_attr(msg, "devices");
  cJSON *map = json ? cJSON_Parse(json) : NULL;
  size_t n = 0;
  for (const cJSON *d = cJSON_IsObject(map) ? map->child : NULL; d; d = d->next)
    n += route_of(p, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "platform"))) >= 0;
  cJSON_Delete(map);
  return n;
}

/* The contact's devices this channel reaches, from profile.devices (route_of). 0 when
 * there is none (or they cannot be read). */
static size_t read_devices(struct push_send *s)
{
  const struct push *p = s->p;
  const char *json = p->host->msg_contact_attr(s->msg, "devices");
  cJSON *map = json ? cJSON_Parse(json) : NULL;
  int n = cJSON_IsObject(map) ? cJSON_GetArraySize(map) : 0;
  s->devs = n > 0 ? calloc((size_t)n, sizeof *s->devs) : NULL;
  for (const cJSON *d = s->devs ? map->child : NULL; d; d = d->next) {
    const char *pf = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "platform"));
    const char *app = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "app_id"));
    int apns = route_of(p, pf);
    if (apns < 0)
      continue;
    struct push_dev *v = &s->devs[s->n_devs];
    if ((v->token = strdup(d->string)) == NULL || (app && (v->topic = strdup(app)) == NULL)) {
      free(v->token);
      break;
    }
    v->s = s;
    v->apns = apns;
    s->n_apns += (size_t)apns;
    snprintf(v->platform, sizeof v->platform, "%s", pf ? pf : "?");
    s->n_devs++;
  }
  cJSON_Delete(map);
  return s->n_devs;
}

/* The event that removes a dead token, and says so in the contact's history. */
static void remove_token(struct push_send *s, const struct push_dev *v, const char *code)
{
  struct push *p = s->p;
  unsigned char h[16];
  char hex[33], id[128], type[160];
  crypto_generichash(h, sizeof h, (const unsigned char *)v->token, strlen(v->token), NULL, 0);
  sodium_bin2hex(hex, sizeof hex, h, sizeof h);
  snprintf(id, sizeof id, "%s:token_removed:%s", p->host->msg_id(s->msg), hex);
  snprintf(type, sizeof type, "%s.token_removed", p->host->msg_channel(s->msg));
  cJSON *ev = cJSON_CreateObject(), *data = cJSON_AddObjectToObject(ev, "data");
  cJSON_AddStringToObject(ev, "id", id);
  cJSON_AddStringToObject(ev, "type", type);
  cJSON_AddStringToObject(ev, "contact", p->host->msg_contact(s->msg));
  cJSON_AddStringToObject(data, "message_id", p->host->msg_id(s->msg));
  cJSON_AddStringToObject(data, "platform", v->platform);
  cJSON_AddStringToObject(data, "reason", code);
  cJSON_AddNullToObject(cJSON_AddObjectToObject(cJSON_AddObjectToObject(ev, "profile"), "devices"), v->token);
  char *json = cJSON_PrintUnformatted(ev);
  cJSON_Delete(ev);
  if (json == NULL || p->host->emit_event(p->ctx, json, strlen(json)) != PARLEY_OK)
    p->host->log(p->ctx, PARLEY_LOG_ERROR, "a dead device token could not be removed", "message",
                 p->host->msg_id(s->msg), "reason", code, NULL);
  else
    p->host->metric_add(p->ctx, p->m_removed, 1);
  free(json);
}

/* Every device answered: the message's one outcome (see the top of this file). */
static void finish(struct push_send *s)
{
  struct push *p = s->p;
  unlist(s);
  if (s->sent) {
    p->host->send_delivered(p->ctx, s->msg, s->id[0] ? s->id : NULL);
  } else if (s->retry) {
    p->host->send_retry(p->ctx, s->msg, s->retry_after_ms, s->detail);
  } else {
    p->host->metric_add(p->ctx, p->m_failed, 1);
    if (s->rejected)
      p->host->send_failed(p->ctx, s->msg, PARLEY_FAIL_REJECTED, s->detail);
    else
      p->host->send_failed(p->ctx, s->msg, PARLEY_FAIL_INVALID_ADDRESS, "every device token was refused as dead");
  }
  send_free(s);
}

/* One device's answer, counted. */
static void tally(struct push_send *s, struct push_dev *v, const struct push_answer *a)
{
  struct push *p = s->p;
  switch (a->outcome) {
  case PUSH_SENT:
    if (!s->sent++)
      snprintf(s->id, sizeof s->id, "%s", a->id);
    p->host->metric_add(p->ctx, p->m_sent, 1);
    return;
  case PUSH_BAD_TOKEN: s->bad++; remove_token(s, v, a->code); break;
  case PUSH_REJECTED: s->rejected++; break;
  case PUSH_AUTH:
  case PUSH_RETRY:
    if (a->outcome == PUSH_AUTH && v->apns) /* retried with a new token */
      push_apns_jwt_refused(p->apns, p->host->now_ms(p->ctx) / 1000);
    else if (a->outcome == PUSH_AUTH)
      push_oauth_drop(p);
    s->retry++;
    s->retry_after_ms = a->retry_after_ms > s->retry_after_ms ? a->retry_after_ms : s->retry_after_ms;
    break;
  }
  if (!s->detail[0] || a->outcome == PUSH_RETRY || a->outcome == PUSH_AUTH)
    snprintf(s->detail, sizeof s->detail, "%s", a->detail);
  /* dead tokens are everyday life (apps uninstalled): INFO; the rest wants a look: WARN */
  p->host->log(p->ctx, a->outcome == PUSH_BAD_TOKEN ? PARLEY_LOG_INFO : PARLEY_LOG_WARN,
               a->outcome == PUSH_BAD_TOKEN ? "dead device token removed" : "push not taken for a device", "platform",
               v->platform, "message", p->host->msg_id(s->msg), "detail", a->detail, NULL);
}

static void on_device(parley_ctx *ctx, const struct parley_http_resp *r, void *arg)
{
  struct push_dev *v = arg;
  struct push_send *s = v->s;
  struct push_answer a;
  (void)ctx;
  v->h = NULL;
  const struct parley_host *host = s->p->host;
  if (r->error != PARLEY_HTTP_OK) {
    memset(&a, 0, sizeof a);
    a.outcome = PUSH_RETRY;
    snprintf(a.detail, sizeof a.detail, "%s did not answer: %s", v->apns ? "APNs" : "FCM",
             r->error_text ? r->error_text : "no answer");
  } else if (v->apns) {
    push_apns_answer(r->status, r->body, r->body_len, host->http_header(r, "apns-id"),
                     host->http_header(r, "Retry-After"), &a);
  } else {
    push_fcm_answer(r->status, r->body, r->body_len, host->http_header(r, "Retry-After"), &a);
  }
  tally(s, v, &a);
  if (--s->pending == 0 && !s->waiting_bearer)
    finish(s);
}

/* One iOS device's request to APNs (HTTP/2: the host's client multiplexes them on one
 * connection); NULL when it could not start. */
static parley_http *apns_request(struct push_send *s, struct push_dev *v)
{
  struct push *p = s->p;
  const char *jwt = push_apns_jwt(p->apns, p->host->now_ms(p->ctx) / 1000);
  size_t n = strlen(p->apns_url) + strlen(v->token) + 16;
  char *url = malloc(n), auth[512];
  if (jwt == NULL || url == NULL || strlen(jwt) + 8 > sizeof auth) {
    free(url);
    return NULL;
  }
  snprintf(url, n, "%s/3/device/%s", p->apns_url, v->token);
  snprintf(auth, sizeof auth, "bearer %s", jwt);
  struct parley_http_header h[8] = {{"authorization", auth},
                                    {"apns-topic", v->topic ? v->topic : p->apns_topic},
                                    {"apns-push-type", s->apns.push_type},
                                    {"apns-priority", s->apns.priority},
                                    {"apns-expiration", s->apns.expiration},
                                    {"content-type", "application/json"}};
  size_t nh = 6;
  if (s->apns.collapse[0])
    h[nh++] = (struct parley_http_header){"apns-collapse-id", s->apns.collapse};
  if (s->apns.id[0])
    h[nh++] = (struct parley_http_header){"apns-id", s->apns.id};
  struct parley_http_req req = {.size = sizeof req, .method = "POST", .url = url, .headers = h, .n_headers = nh,
                                .body = s->apns.body, .body_len = strlen(s->apns.body),
                                .timeout_ms = (uint32_t)p->timeout_ms, .max_body_bytes = PUSH_ANSWER_MAX};
  parley_http *r = p->host->http_request(p->ctx, &req, on_device, v);
  free(url);
  return r;
}

/* One device's request; NULL when it could not start. */
static parley_http *request(struct push_send *s, struct push_dev *v, const char *bearer)
{
  struct push *p = s->p;
  char *body = push_fcm_body(s->message, v->token, v->platform);
  if (body == NULL)
    return NULL;
  struct parley_http_header h[] = {{"Authorization", bearer}, {"Content-Type", "application/json; charset=UTF-8"}};
  struct parley_http_req req = {.size = sizeof req, .method = "POST", .url = p->send_url, .headers = h,
                                .n_headers = 2, .body = body, .body_len = strlen(body),
                                .timeout_ms = (uint32_t)p->timeout_ms, .max_body_bytes = PUSH_ANSWER_MAX};
  parley_http *r = p->host->http_request(p->ctx, &req, on_device, v);
  free(body);
  return r;
}

/* The requests of the devices of one provider (APNs: apns set; FCM: with `bearer`). */
static void start(struct push_send *s, int apns, const char *bearer)
{
  for (size_t i = 0; i < s->n_devs; i++) {
    struct push_dev *v = &s->devs[i];
    if (v->apns != apns)
      continue;
    if ((v->h = apns ? apns_request(s, v) : request(s, v, bearer)) != NULL) {
      s->pending++;
      continue;
    }
    s->retry++;
    snprintf(s->detail, sizeof s->detail, "a request to %s could not start (see the log)", apns ? "APNs" : "FCM");
  }
}

/* The access token is here (or will not come): one request per FCM device. */
static void on_bearer(struct push *p, const char *bearer, const char *error, void *arg)
{
  struct push_send *s = arg;
  (void)p;
  s->waiting_bearer = 0;
  if (error) {
    s->retry++;
    snprintf(s->detail, sizeof s->detail, "no FCM access token: %s", error);
  } else {
    start(s, 0, bearer);
  }
  if (s->pending == 0)
    finish(s);
}

enum parley_status push_fanout_send(struct push *p, parley_msg *msg)
{
  char why[256];
  struct push_send *s = calloc(1, sizeof *s);
  if (s == NULL)
    return PARLEY_RETRY;
  s->p = p;
  s->msg = msg;
  if (read_devices(s) == 0) {
    send_free(s);
    p->host->send_failed(p->ctx, msg, PARLEY_FAIL_INVALID_ADDRESS, "the contact has no device this channel reaches");
    return PARLEY_PENDING;
  }
  /* check refused these at speak time */
  if ((s->message = push_fcm_message(p, msg, why, sizeof why)) == NULL ||
      (s->n_apns && push_apns_prepare(s->message, p->host->msg_id(msg), p->host->now_ms(p->ctx) / 1000, &s->apns,
                                      why, sizeof why) < 0)) {
    send_free(s);
    p->host->send_failed(p->ctx, msg, PARLEY_FAIL_REJECTED, why);
    return PARLEY_PENDING;
  }
  s->next = p->list;
  if (p->list)
    p->list->prev = s;
  p->list = s;
  if (s->n_apns)
    start(s, 1, NULL);
  if (s->n_apns < s->n_devs) {
    s->waiting_bearer = 1;
    if (push_oauth_get(p, on_bearer, s) == 0)
      return PARLEY_PENDING; /* on_bearer may have run, and finished: s may be gone */
    s->waiting_bearer = 0; /* out of memory, on_bearer not called */
    s->retry++;
    snprintf(s->detail, sizeof s->detail, "out of memory");
  }
  if (s->pending == 0)
    finish(s);
  return PARLEY_PENDING;
}

void push_fanout_forget(struct push *p)
{
  while (p->list) {
    struct push_send *s = p->list;
    p->list = s->next;
    send_free(s);
  }
}
