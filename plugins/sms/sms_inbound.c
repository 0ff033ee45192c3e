/* What the gateways' callbacks become, whichever dialect read them:
 *
 *  - an MO that is only a keyword (sms_keyword.c) acts before any journey sees it: STOP
 *    suppresses the number on the channel for every contact who has it (sms.unsubscribed,
 *    with profile.suppressed.<channel>), START lifts it (sms.resubscribed), HELP is
 *    answered; each is confirmed with exactly one text, sent by the plugin itself, even
 *    when no contact has the number (a carrier expects a STOP to be confirmed);
 *  - any other MO is sms.replied for each contact with the number; from a number no
 *    contact has, it is logged and dropped;
 *  - a delivery receipt is sms.delivered or sms.failed for its message.
 *
 * A callback that could not be recorded gets a 503, so the gateway tries again; every
 * event id is derived from the callback, so a retried one is one event. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>
#include <curl/curl.h>
#include <sodium.h>

#include "sms.h"

#define CONTACTS_MAX 64 /* one number's contacts acted on per callback */

void sms_answer(struct sms *s, const struct parley_route_req *req, int status, const char *key, const char *value)
{
  struct parley_http_header h[] = {{"Content-Type", "application/json"}};
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, key, value);
  char *json = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  struct parley_route_resp resp = {.size = sizeof resp, .status = status, .headers = h, .n_headers = 1,
                                   .body = json ? json : "{}", .body_len = json ? strlen(json) : 2};
  (void)s->host->route_answer(s->ctx, req, &resp);
  cJSON_free(json);
}

char *sms_query_raw(const char *query, const char *name, int *len)
{
  size_t n = strlen(name);
  for (const char *p = query; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
    if (strncmp(p, name, n) != 0 || p[n] != '=')
      continue;
    size_t vlen = strcspn(p + n + 1, "&");
    char *plus = strndup(p + n + 1, vlen); /* a form's '+' is a space; a '+' itself comes as %2B */
    if (plus == NULL)
      return NULL;
    for (char *c = plus; *c; c++)
      if (*c == '+')
        *c = ' ';
    char *dec = curl_easy_unescape(NULL, plus, (int)vlen, len);
    free(plus);
    return dec;
  }
  return NULL;
}

int sms_query_param(const char *query, const char *name, char *out, size_t cap)
{
  int len = 0;
  char *dec = sms_query_raw(query, name, &len);
  int ok = dec && (size_t)len < cap && memchr(dec, '\0', (size_t)len) == NULL;
  if (ok)
    memcpy(out, dec, (size_t)len + 1);
  curl_free(dec);
  return ok ? 0 : -1;
}

char *sms_callback_url(const struct sms *s, const char *channel, const char *path, const char *message,
                       const char *contact, const char *number, const char *tail)
{
  char tok[SMS_TOKEN_SIZE], raw[512];
  int n = snprintf(raw, sizeof raw, "%s\n%s\n%s", message, contact, number);
  if (n < 0 || (size_t)n >= sizeof raw || sms_token_make(s->dlr_key, message, contact, number, tok) < 0)
    return NULL;
  size_t b64_len = sodium_base64_ENCODED_LEN((size_t)n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  size_t cap = strlen(s->base) + strlen(channel) + strlen(path) + b64_len + sizeof tok + strlen(tail) + 40;
  char *b64 = malloc(b64_len), *url = malloc(cap);
  if (b64 && url) {
    sodium_bin2base64(b64, b64_len, (const unsigned char *)raw, (size_t)n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    snprintf(url, cap, "%s/v1/channels/%s%s?r=%s&t=%s%s", s->base, channel, path, b64, tok, tail);
  } else {
    free(url);
    url = NULL;
  }
  free(b64);
  return url;
}

int sms_callback_read(const struct sms *s, const char *query, char *buf, size_t cap, const char **message,
                      const char **contact, const char **number)
{
  char r[800], t[SMS_TOKEN_SIZE + 8];
  size_t n = 0;
  if (sms_query_param(query, "r", r, sizeof r) < 0 || sms_query_param(query, "t", t, sizeof t) < 0 ||
      sodium_base642bin((unsigned char *)buf, cap - 1, r, strlen(r), NULL, &n, NULL,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
    return -1;
  buf[n] = '\0';
  char *nl1 = memchr(buf, '\n', n), *nl2 = nl1 ? strchr(nl1 + 1, '\n') : NULL;
  if (nl2 == NULL || strlen(buf) != n)
    return -1;
  *nl1 = *nl2 = '\0';
  *message = buf;
  *contact = nl1 + 1;
  *number = nl2 + 1;
  return sms_token_ok(s->dlr_key, *message, *contact, *number, t) ? 0 : -1;
}

/* The contacts of one number, copied (contacts_find's ids live only in its callback). */
struct found {
  char *ids[CONTACTS_MAX];
  size_t n, more;
};

static void on_found(parley_ctx *ctx, const char *contact_id, void *arg)
{
  struct found *f = arg;
  (void)ctx;
  if (f->n < CONTACTS_MAX && (f->ids[f->n] = strdup(contact_id)) != NULL)
    f->n++;
  else
    f->more++;
}

static void found_free(struct found *f)
{
  for (size_t i = 0; i < f->n; i++)
    free(f->ids[i]);
}

/* The contacts whose phone is `number`; -1 when the host cannot say (logged). */
static int contacts_of(struct sms *s, const char *number, struct found *f)
{
  memset(f, 0, sizeof *f);
  if (!PARLEY_HOST_HAS(s->host, contacts_find)) {
    s->host->log(s->ctx, PARLEY_LOG_ERROR, "inbound text kept waiting",
                 "reason", "this Parley cannot find contacts by number (plugin ABI 1.2 is needed)", NULL);
    return -1;
  }
  int rc = s->host->contacts_find(s->ctx, "phone", number, on_found, f);
  if (rc < 0)
    found_free(f);
  return rc < 0 ? -1 : 0;
}

static int emit(struct sms *s, cJSON *ev)
{
  char *json = cJSON_PrintUnformatted(ev);
  int rc = json && s->host->emit_event(s->ctx, json, strlen(json)) == PARLEY_OK ? 0 : -1;
  cJSON_free(json);
  return rc;
}

/* A number as the profiles keep it: Kannel and SMSCs give "+4915...", "004915..." or
 * "4915..."; all mean the same international number. 0, or -1 when it is none. */
static int normalized(const char *in, char *out, size_t cap)
{
  const char *digits = in[0] == '+' ? in + 1 : strncmp(in, "00", 2) == 0 ? in + 2 : in;
  snprintf(out, cap, "+%s", digits);
  return sms_is_e164(out) ? 0 : -1;
}

/* One event for one contact: id from the MO and the contact, data from the MO. */
static cJSON *mo_event(const char *type, const char *kind, const char *contact, const struct sms_mo *mo,
                       const char *from)
{
  char id[SMS_EVENT_ID_SIZE];
  sms_event_id(kind, mo->id, contact, from, id);
  cJSON *ev = cJSON_CreateObject();
  cJSON_AddStringToObject(ev, "id", id);
  cJSON_AddStringToObject(ev, "type", type);
  cJSON_AddStringToObject(ev, "contact", contact);
  cJSON *data = cJSON_AddObjectToObject(ev, "data");
  cJSON_AddStringToObject(data, "text", mo->text);
  cJSON_AddStringToObject(data, "from", from);
  if (mo->to)
    cJSON_AddStringToObject(data, "to", mo->to);
  if (mo->id)
    cJSON_AddStringToObject(data, "provider_id", mo->id);
  return ev;
}

/* profile.suppressed.<channel>: set for STOP, null (lifted) for START. */
static void suppression(struct sms *s, cJSON *ev, const char *channel, const char *number, int stop)
{
  cJSON *sup = cJSON_AddObjectToObject(cJSON_AddObjectToObject(ev, "profile"), "suppressed");
  if (!stop) {
    cJSON_AddNullToObject(sup, channel);
    return;
  }
  char at[32];
  time_t t = (time_t)(s->host->now_ms(s->ctx) / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
  cJSON *o = cJSON_AddObjectToObject(sup, channel);
  cJSON_AddStringToObject(o, "address", number);
  cJSON_AddStringToObject(o, "reason", "unsubscribed");
  cJSON_AddStringToObject(o, "at", at);
}

/* The events of one MO, one per contact; -1 when one could not be recorded. */
static int mo_events(struct sms *s, const char *channel, const struct sms_mo *mo, const char *from,
                     enum sms_keyword kw, const struct found *f)
{
  static const char *const type[] = {"sms.replied", "sms.unsubscribed", "sms.resubscribed", NULL};
  static const char *const kind[] = {"sms-mo", "sms-stop", "sms-start", NULL};
  if (kw == SMS_KW_HELP)
    return 0; /* answered, nothing to record */
  for (size_t i = 0; i < f->n; i++) {
    cJSON *ev = mo_event(type[kw], kind[kw], f->ids[i], mo, from);
    if (kw != SMS_KW_NONE)
      suppression(s, ev, channel, from, kw == SMS_KW_STOP);
    int rc = emit(s, ev);
    cJSON_Delete(ev);
    if (rc < 0)
      return -1;
  }
  return 0;
}

int sms_inbound_mo(struct sms *s, const char *channel, const struct sms_mo *mo)
{
  char from[24], id[SMS_EVENT_ID_SIZE];
  static const char *const what[] = {"inbound text", "opt-out", "opt-in", "help asked"};
  struct found f;
  if (normalized(mo->from, from, sizeof from) < 0) {
    s->host->log(s->ctx, PARLEY_LOG_WARN, "inbound text dropped", "reason", "the sender is not an E.164 number",
                 NULL);
    return 200; /* nothing the gateway can do better by sending it again */
  }
  struct sms_mo m = *mo;
  if (m.id == NULL) { /* a stable id from what the gateway sent, for a repeat to dedupe on */
    sms_event_id("mo", from, mo->to, mo->text, id);
    m.id = id;
  }
  enum sms_keyword kw = sms_keyword_of(mo->text, s->stop_words, s->start_words, s->help_words);
  if (contacts_of(s, from, &f) < 0)
    return 503;
  int rc = mo_events(s, channel, &m, from, kw, &f);
  char count[24];
  snprintf(count, sizeof count, "%zu", f.n + f.more);
  found_free(&f);
  if (rc < 0)
    return 503;
  s->host->metric_add(s->ctx, kw == SMS_KW_NONE ? s->m_inbound : s->m_optout, 1);
  if (kw == SMS_KW_NONE && f.n == 0) {
    s->host->log(s->ctx, PARLEY_LOG_WARN, "inbound text dropped", "reason", "no contact has this number", NULL);
    return 200;
  }
  s->host->log(s->ctx, PARLEY_LOG_INFO, what[kw], "contacts", count, "provider_id", mo->id ? mo->id : "-", NULL);
  if (kw != SMS_KW_NONE)
    sms_direct_send(s, channel, from,
                    kw == SMS_KW_STOP ? s->stop_reply : kw == SMS_KW_START ? s->start_reply : s->help_reply, m.id);
  return 200;
}

/* 1 when `contact` still has `number` (or the host cannot say): a receipt for a contact
 * since erased, or whose number changed, is not recorded, so it creates no one. */
static int still_theirs(struct sms *s, const char *contact, const char *number)
{
  struct found f;
  if (!PARLEY_HOST_HAS(s->host, contacts_find))
    return 1;
  if (contacts_of(s, number, &f) < 0)
    return 0;
  int yes = 0;
  for (size_t i = 0; i < f.n; i++)
    yes |= strcmp(f.ids[i], contact) == 0;
  found_free(&f);
  return yes;
}

int sms_inbound_dlr(struct sms *s, const char *channel, const struct sms_dlr *d)
{
  char id[160];
  (void)channel;
  if (!d->delivered && !d->failed)
    return 200; /* on its way (queued, at the SMSC): the final report follows */
  if (!still_theirs(s, d->contact, d->number)) {
    s->host->log(s->ctx, PARLEY_LOG_WARN, "delivery report dropped", "reason",
                 "no contact has this message's number any more", "message", d->message, NULL);
    return 200;
  }
  snprintf(id, sizeof id, "%.120s:%s", d->message, d->delivered ? "delivered" : "dlr-failed");
  cJSON *ev = cJSON_CreateObject();
  cJSON_AddStringToObject(ev, "id", id);
  cJSON_AddStringToObject(ev, "type", d->delivered ? "sms.delivered" : "sms.failed");
  cJSON_AddStringToObject(ev, "contact", d->contact);
  cJSON *data = cJSON_AddObjectToObject(ev, "data");
  cJSON_AddStringToObject(data, "message_id", d->message);
  cJSON_AddStringToObject(data, "status", d->status ? d->status : "");
  if (d->failed)
    cJSON_AddStringToObject(data, "reason", "undelivered");
  struct sms_measure m;
  if (d->detail && d->detail[0] && sms_measure(d->detail, &m) == 0) /* UTF-8 only: the event would be refused */
    cJSON_AddStringToObject(data, "detail", d->detail);
  int rc = emit(s, ev);
  cJSON_Delete(ev);
  return rc < 0 ? 503 : 200;
}
