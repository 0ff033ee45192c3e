/* One-click unsubscribe (RFC 8058) under /v1/channels/<channel>/u/<token>. The token,
 * signed by email_token.c, names the message and the contact, so the route needs no
 * other authentication: a forged, altered or expired one is answered 400 and nothing is
 * recorded. POST (the mail client's one click, or the page's button) records
 * email.unsubscribed with the contact's consent for the channel set to false, which the
 * core's speak gate then enforces; GET only shows a page with that button, because mail
 * scanners follow links and a GET must never unsubscribe. */
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "email.h"
#include "email_token.h"

static void answer(const struct parley_host *host, parley_ctx *ctx, const struct parley_route_req *req, int status,
                   const char *html)
{
  struct parley_http_header h[] = {{"Content-Type", "text/html; charset=utf-8"}};
  struct parley_route_resp resp = {.size = sizeof resp, .status = status, .headers = h, .n_headers = 1,
                                   .body = html, .body_len = strlen(html)};
  (void)host->route_answer(ctx, req, &resp);
}

/* The token of "/u/<token>", checked; 0, or -1 (answered 400 and logged). */
static int token_of(struct email *e, parley_ctx *ctx, const struct parley_route_req *req, struct email_token *t)
{
  const char *tok = strncmp(req->path, "/u/", 3) == 0 ? req->path + 3 : "";
  const char *key = e->signing_key;
  enum email_token_rc rc = email_token_read((const unsigned char *)key, strlen(key), tok, strlen(tok),
                                            e->host->now_ms(ctx), t);
  if (rc == EMAIL_TOKEN_OK && t->kind != EMAIL_TOKEN_UNSUBSCRIBE)
    rc = EMAIL_TOKEN_FORGED; /* another kind of token: not an unsubscribe link */
  if (rc == EMAIL_TOKEN_OK)
    return 0;
  e->host->log(ctx, PARLEY_LOG_WARN, "unsubscribe link refused", "why", email_token_why(rc), "peer", req->peer,
               NULL);
  answer(e->host, ctx, req, 400,
         "<!doctype html><title>Link not valid</title><p>This unsubscribe link is not valid or has expired.</p>\n");
  return -1;
}

/* email.unsubscribed, its id made of the message's so a second click is one event. */
static int emit_unsubscribed(struct email *e, parley_ctx *ctx, const char *channel, const struct email_token *t)
{
  char id[160];
  snprintf(id, sizeof id, "%s:unsubscribed", t->message_id);
  cJSON *ev = cJSON_CreateObject();
  cJSON_AddStringToObject(ev, "id", id);
  cJSON_AddStringToObject(ev, "type", "email.unsubscribed");
  cJSON_AddStringToObject(ev, "contact", t->contact);
  cJSON *data = cJSON_AddObjectToObject(ev, "data");
  cJSON_AddStringToObject(data, "message_id", t->message_id);
  cJSON_AddStringToObject(data, "channel", channel);
  cJSON *consent = cJSON_AddObjectToObject(cJSON_AddObjectToObject(ev, "profile"), "consent");
  cJSON_AddFalseToObject(consent, channel);
  char *json = cJSON_PrintUnformatted(ev);
  cJSON_Delete(ev);
  int rc = json && e->host->emit_event(ctx, json, strlen(json)) == PARLEY_OK ? 0 : -1;
  cJSON_free(json);
  return rc;
}

static void on_post(parley_ctx *ctx, const struct parley_route_req *req, void *arg)
{
  struct email *e = arg;
  struct email_token t;
  if (token_of(e, ctx, req, &t) < 0)
    return;
  if (strstr(req->body, "List-Unsubscribe=One-Click") == NULL) {
    answer(e->host, ctx, req, 400, "<!doctype html><p>Expected List-Unsubscribe=One-Click.</p>\n");
    return;
  }
  if (emit_unsubscribed(e, ctx, req->channel, &t) < 0) {
    answer(e->host, ctx, req, 500, "<!doctype html><p>Please try again in a moment.</p>\n");
    return;
  }
  answer(e->host, ctx, req, 200,
         "<!doctype html><title>Unsubscribed</title><p>You are unsubscribed: we will not email you again.</p>\n");
}

static void on_get(parley_ctx *ctx, const struct parley_route_req *req, void *arg)
{
  struct email *e = arg;
  struct email_token t;
  if (token_of(e, ctx, req, &t) < 0)
    return;
  answer(e->host, ctx, req, 200,
         "<!doctype html><meta charset=\"utf-8\"><title>Unsubscribe</title>\n"
         "<form method=\"post\"><input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">\n"
         "<p>Stop receiving these emails?</p><button type=\"submit\">Unsubscribe</button></form>\n");
}

enum parley_status email_unsub_routes(const struct parley_host *host, parley_ctx *ctx, struct email *e)
{
  e->host = host;
  if (host->route_add(ctx, "POST", "/u/*", on_post, e) != PARLEY_OK ||
      host->route_add(ctx, "GET", "/u/*", on_get, e) != PARLEY_OK)
    return PARLEY_ERROR;
  return PARLEY_OK;
}
