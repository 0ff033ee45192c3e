/* Bounces and complaints, received: POST /v1/channels/<channel>/bounces takes the raw
 * report an MTA pipes or a provider posts (the envelope recipient, when the caller knows
 * it, in ?to=), authenticated by the shared secret bounce_secret (Authorization: Bearer,
 * compared in constant time). email_dsn.c reads it; the message and the contact come from
 * the original Message-ID, which carries the recipient sealed (email_token_seal), and the
 * VERP address, when the report gives it, must name the same message. Then:
 *
 *   hard bounce  -> email.bounced {kind: "hard"} and the address suppressed ("bounced")
 *   soft bounce  -> email.bounced {kind: "soft"}, nothing suppressed
 *   complaint    -> email.complained and the address suppressed ("complaint")
 *
 * Bad input is never a 5xx (providers retry those): 400 for what is no report, 422 for a
 * report about no message of ours, each with a log line saying why, and nothing emitted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cJSON.h>
#include <curl/curl.h>
#include <sodium.h>

#include "email.h"
#include "email_dsn.h"
#include "email_token.h"

/* Who a report is about, from its original Message-ID. */
struct origin {
  char message_id[64];
  const char *contact, *address; /* in buf */
  char buf[EMAIL_SEAL_MAX];
};

static void answer(struct email *e, parley_ctx *ctx, const struct parley_route_req *req, int status,
                   const char *key, const char *value)
{
  struct parley_http_header h[] = {{"Content-Type", "application/json"}};
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, key, value);
  char *json = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  struct parley_route_resp resp = {.size = sizeof resp, .status = status, .headers = h, .n_headers = 1,
                                   .body = json ? json : "{}", .body_len = json ? strlen(json) : 2};
  (void)e->host->route_answer(ctx, req, &resp);
  cJSON_free(json);
}

/* Authorization: Bearer <bounce_secret>. Both sides are hashed first, so the comparison
 * takes the same time whatever the lengths. */
static int authorized(struct email *e, const struct parley_route_req *req)
{
  const char *h = e->host->route_header(req, "Authorization");
  unsigned char want[32], got[32];
  if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
    return 0;
  crypto_generichash(want, sizeof want, (const unsigned char *)e->bounce_secret, strlen(e->bounce_secret), NULL, 0);
  crypto_generichash(got, sizeof got, (const unsigned char *)h + 7, strlen(h + 7), NULL, 0);
  return sodium_memcmp(want, got, sizeof want) == 0;
}

/* The value of `name` in the query string, %-decoded, into out; 0, or -1 when absent. */
static int query_param(const char *query, const char *name, char *out, size_t cap)
{
  size_t n = strlen(name);
  for (const char *p = query; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
    if (strncmp(p, name, n) != 0 || p[n] != '=')
      continue;
    int len = 0;
    const char *v = p + n + 1;
    char *dec = curl_easy_unescape(NULL, v, (int)strcspn(v, "&"), &len);
    int ok = dec && len > 0 && (size_t)len < cap && memchr(dec, '\0', (size_t)len) == NULL;
    if (ok)
      memcpy(out, dec, (size_t)len + 1);
    curl_free(dec);
    return ok ? 0 : -1;
  }
  return -1;
}

/* The report's original Message-ID, "<id>.<sealed>.parley@<from domain>", opened; and
 * its VERP address, when it has one, checked to name the same message. 0, or -1 and why. */
static int origin_of(struct email *e, const struct email_dsn *d, struct origin *o, char *why, size_t len)
{
  const unsigned char *key = (const unsigned char *)e->signing_key;
  size_t key_len = strlen(e->signing_key);
  char local[EMAIL_SEAL_MAX + 128], verp[96];
  const char *at = d->message_id ? strrchr(d->message_id, '@') : NULL;
  if (at == NULL || strcasecmp(at + 1, e->from_domain) != 0 || (size_t)(at - d->message_id) >= sizeof local) {
    snprintf(why, len, "the report names no message of ours (Message-ID %s)", d->message_id ? d->message_id : "absent");
    return -1;
  }
  snprintf(local, sizeof local, "%.*s", (int)(at - d->message_id), d->message_id);
  char *dot1 = strchr(local, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
  if (dot1 == NULL || dot2 == NULL || strcmp(dot2, ".parley") != 0 || (size_t)(dot1 - local) >= sizeof o->message_id) {
    snprintf(why, len, "the report's Message-ID is not one this channel wrote");
    return -1;
  }
  *dot1 = *dot2 = '\0';
  memcpy(o->message_id, local, (size_t)(dot1 - local) + 1);
  if (email_token_unseal(key, key_len, o->message_id, dot1 + 1, o->buf, sizeof o->buf, &o->contact, &o->address) < 0) {
    snprintf(why, len, "the report's Message-ID is forged or altered");
    return -1;
  }
  if (d->envelope_to && strncasecmp(d->envelope_to, "bounces+", 8) == 0 &&
      (email_token_verp(key, key_len, o->message_id, verp, sizeof verp) < 0 ||
       strncmp(d->envelope_to, verp, strlen(verp)) != 0 || d->envelope_to[strlen(verp)] != '@')) {
    snprintf(why, len, "the report's bounce address (%s) does not name its message", d->envelope_to_header);
    return -1;
  }
  return 0;
}

/* profile.suppressed.<channel> for the address the message went to. */
static void suppress(cJSON *ev, struct email *e, parley_ctx *ctx, const char *channel, const struct origin *o,
                     const char *reason)
{
  char at[32];
  time_t t = (time_t)(e->host->now_ms(ctx) / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
  cJSON *sup = cJSON_AddObjectToObject(cJSON_AddObjectToObject(cJSON_AddObjectToObject(ev, "profile"), "suppressed"),
                                       channel);
  cJSON_AddStringToObject(sup, "address", o->address);
  cJSON_AddStringToObject(sup, "reason", reason);
  cJSON_AddStringToObject(sup, "at", at);
}

static void add_str(cJSON *o, const char *key, const char *value)
{
  if (value)
    cJSON_AddStringToObject(o, key, value);
}

/* The event for one report: email.bounced (the first hard recipient, else the first) or
 * email.complained. Its id is the message's and the kind's, so a report posted twice is
 * one event. malloc'd JSON, or NULL when the report lists no failure. */
static char *event_of(struct email *e, parley_ctx *ctx, const char *channel, const struct email_dsn *d,
                      const struct origin *o)
{
  const struct email_dsn_rcpt *r = d->n_rcpt ? &d->rcpt[0] : NULL;
  for (size_t i = 0; i < d->n_rcpt; i++)
    if (d->rcpt[i].severity == EMAIL_DSN_HARD && r->severity != EMAIL_DSN_HARD)
      r = &d->rcpt[i];
  if (d->kind == EMAIL_DSN_DELIVERY && r == NULL)
    return NULL;
  int complaint = d->kind == EMAIL_DSN_COMPLAINT, hard = !complaint && r->severity == EMAIL_DSN_HARD;
  char id[128];
  snprintf(id, sizeof id, "%s:%s", o->message_id, complaint ? "complained" : hard ? "bounced:hard" : "bounced:soft");
  cJSON *ev = cJSON_CreateObject();
  cJSON_AddStringToObject(ev, "id", id);
  cJSON_AddStringToObject(ev, "type", complaint ? "email.complained" : "email.bounced");
  cJSON_AddStringToObject(ev, "contact", o->contact);
  cJSON *data = cJSON_AddObjectToObject(ev, "data");
  cJSON_AddStringToObject(data, "message_id", o->message_id);
  if (complaint) {
    add_str(data, "feedback_type", d->feedback_type);
    add_str(data, "user_agent", d->user_agent);
  } else {
    cJSON_AddStringToObject(data, "kind", hard ? "hard" : "soft");
    add_str(data, "status", r->status);
    add_str(data, "diagnostic", r->diagnostic);
    add_str(data, "recipient", r->final_recipient ? r->final_recipient : r->original_recipient);
  }
  if (complaint || hard)
    suppress(ev, e, ctx, channel, o, complaint ? "complaint" : "bounced");
  char *json = cJSON_PrintUnformatted(ev);
  cJSON_Delete(ev);
  return json;
}

/* The report read and tied to its message; what it says fed to Parley. */
static void on_report(struct email *e, parley_ctx *ctx, const struct parley_route_req *req, struct email_dsn *d)
{
  struct origin o;
  char why[320];
  if (d->kind == EMAIL_DSN_NONE) {
    e->host->log(ctx, PARLEY_LOG_WARN, "bounce report not read", "reason", d->why, "peer", req->peer, NULL);
    snprintf(why, sizeof why, "not a bounce or complaint report: %s", d->why);
    answer(e, ctx, req, 400, "error", why);
    return;
  }
  if (origin_of(e, d, &o, why, sizeof why) < 0) {
    e->host->log(ctx, PARLEY_LOG_WARN, "bounce report refused", "reason", why, "peer", req->peer, NULL);
    answer(e, ctx, req, 422, "error", why);
    return;
  }
  char *json = event_of(e, ctx, req->channel, d, &o);
  if (json == NULL) {
    answer(e, ctx, req, 200, "ignored", "the report lists no failed or delayed recipient");
    return;
  }
  if (e->host->emit_event(ctx, json, strlen(json)) != PARLEY_OK)
    answer(e, ctx, req, 503, "error", "the report could not be recorded; try again");
  else
    answer(e, ctx, req, 200, "recorded", d->kind == EMAIL_DSN_COMPLAINT ? "email.complained" : "email.bounced");
  cJSON_free(json);
}

static void on_bounces(parley_ctx *ctx, const struct parley_route_req *req, void *arg)
{
  struct email *e = arg;
  char to[320];
  if (!authorized(e, req)) {
    e->host->log(ctx, PARLEY_LOG_WARN, "bounce report refused", "reason", "wrong or missing Authorization", "peer",
                 req->peer, NULL);
    answer(e, ctx, req, 401, "error", "Authorization: Bearer <bounce_secret> is required");
    return;
  }
  struct email_dsn d;
  email_dsn_parse(req->body, req->body_len, query_param(req->query, "to", to, sizeof to) == 0 ? to : NULL, &d);
  on_report(e, ctx, req, &d);
  email_dsn_free(&d);
}

enum parley_status email_bounce_routes(const struct parley_host *host, parley_ctx *ctx, struct email *e)
{
  if (e->bounce_secret == NULL)
    return PARLEY_OK; /* no secret, no route: nobody could be told apart from a forger */
  return host->route_add(ctx, "POST", "/bounces", on_bounces, e);
}
