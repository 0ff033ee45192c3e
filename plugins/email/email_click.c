/* Click and open tracking. At send, email_click_html gives each tracked link of the HTML
 * part (email_links.h says which) the URL <public_url>/v1/channels/<channel>/c/<token>,
 * the token signed by email_token.c and carrying the message, the contact, the link's
 * name and its target; with track_opens, a 1x1 image of .../o/<token> is added too.
 * GET /c/<token> checks the token, records email.clicked for its contact and redirects
 * to the target; GET /o/<token> records email.opened and answers a transparent GIF.
 * A forged, altered or expired token is answered 400 with no redirect (the route must
 * never send a browser somewhere a token did not name: an open redirector is how
 * phishing borrows a trusted domain) and nothing is recorded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cJSON.h>

#include "email.h"
#include "email_links.h"
#include "email_token.h"

/* The smallest transparent GIF: 1x1, one colour, 43 bytes. */
static const unsigned char pixel_gif[] = {
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00,
    0x00, 0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b};

/* What the rewrite's callbacks need to make a token. */
struct click_ctx {
  struct email *e;
  const char *channel, *message_id, *contact;
  int64_t expires_ms;
};

/* "<public_url>/v1/channels/<channel>/<kind>/<token>", malloc'd; NULL when the token
 * cannot be made (a target too long for it: the link is then kept as it was). */
static char *tracked_url(struct click_ctx *c, char kind, const char *name, const char *target)
{
  const char *key = c->e->signing_key;
  char tok[EMAIL_TOKEN_MAX];
  struct email_token t = {.kind = kind, .message_id = c->message_id, .contact = c->contact, .name = name,
                          .target = target, .expires_ms = c->expires_ms};
  if (email_token_make((const unsigned char *)key, strlen(key), &t, tok, sizeof tok) < 0)
    return NULL;
  size_t base = strlen(c->e->public_url);
  while (base && c->e->public_url[base - 1] == '/')
    base--;
  size_t n = base + strlen(c->channel) + strlen(tok) + 32;
  char *url = malloc(n);
  if (url)
    snprintf(url, n, "%.*s/v1/channels/%s/%c/%s", (int)base, c->e->public_url, c->channel, kind, tok);
  return url;
}

static char *link_url(void *ud, const char *name, const char *target)
{
  return tracked_url(ud, EMAIL_TOKEN_CLICK, name, target);
}

static char *pixel_url(void *ud)
{
  return tracked_url(ud, EMAIL_TOKEN_OPEN, NULL, NULL);
}

char *email_click_html(struct email *e, const char *channel, const char *message_id, const char *contact,
                       const char *html, int64_t now_ms, char *why, size_t len)
{
  struct click_ctx c = {.e = e, .channel = channel, .message_id = message_id, .contact = contact,
                        .expires_ms = now_ms + e->click_ttl_ms};
  struct email_links_opts opts = {.link_url = e->track_clicks ? link_url : NULL,
                                  .pixel_url = e->track_opens ? pixel_url : NULL, .ud = &c};
  return email_links_rewrite(html, &opts, why, len);
}

static void answer(struct email *e, parley_ctx *ctx, const struct parley_route_req *req, int status,
                   const struct parley_http_header *h, size_t n_h, const void *body, size_t body_len)
{
  struct parley_route_resp resp = {.size = sizeof resp, .status = status, .headers = h, .n_headers = n_h,
                                   .body = body, .body_len = body_len};
  (void)e->host->route_answer(ctx, req, &resp);
}

static void refuse(struct email *e, parley_ctx *ctx, const struct parley_route_req *req, const char *what,
                   const char *why)
{
  static const char page[] = "<!doctype html><title>Link not valid</title><p>This link is not valid or has expired.</p>\n";
  struct parley_http_header h[] = {{"Content-Type", "text/html; charset=utf-8"}};
  e->host->log(ctx, PARLEY_LOG_WARN, what, "why", why, "peer", req->peer, NULL);
  answer(e, ctx, req, 400, h, 1, page, strlen(page));
}

/* The token of "/<kind>/<token>", checked for its kind too; 0, or -1 (answered 400). */
static int token_of(struct email *e, parley_ctx *ctx, const struct parley_route_req *req, char kind,
                    struct email_token *t)
{
  const char *tok = req->path + 3; /* after "/c/" or "/o/" */
  const char *key = e->signing_key;
  enum email_token_rc rc = email_token_read((const unsigned char *)key, strlen(key), tok, strlen(tok),
                                            e->host->now_ms(ctx), t);
  if (rc == EMAIL_TOKEN_OK && t->kind != kind)
    rc = EMAIL_TOKEN_FORGED; /* another kind of token (an unsubscribe link's...) */
  if (rc == EMAIL_TOKEN_OK && kind == EMAIL_TOKEN_CLICK && strncasecmp(t->target, "http://", 7) != 0 &&
      strncasecmp(t->target, "https://", 8) != 0)
    rc = EMAIL_TOKEN_MALFORMED; /* never made so: only http(s) links are tracked */
  if (rc == EMAIL_TOKEN_OK)
    return 0;
  refuse(e, ctx, req, kind == EMAIL_TOKEN_CLICK ? "tracked link refused" : "open pixel refused",
         email_token_why(rc));
  return -1;
}

/* email.clicked or email.opened for the token's contact. The id is made of the message's
 * (and the link's name), so following the same link twice is one event. */
static int emit(struct email *e, parley_ctx *ctx, const char *type, const struct email_token *t)
{
  char id[600];
  if (t->kind == EMAIL_TOKEN_CLICK)
    snprintf(id, sizeof id, "%s:clicked:%s", t->message_id, t->name);
  else
    snprintf(id, sizeof id, "%s:opened", t->message_id);
  cJSON *ev = cJSON_CreateObject();
  cJSON_AddStringToObject(ev, "id", id);
  cJSON_AddStringToObject(ev, "type", type);
  cJSON_AddStringToObject(ev, "contact", t->contact);
  cJSON *data = cJSON_AddObjectToObject(ev, "data");
  cJSON_AddStringToObject(data, "message_id", t->message_id);
  if (t->kind == EMAIL_TOKEN_CLICK) {
    cJSON_AddStringToObject(data, "link", t->name);
    cJSON_AddStringToObject(data, "url", t->target);
  }
  char *json = cJSON_PrintUnformatted(ev);
  cJSON_Delete(ev);
  int rc = json && e->host->emit_event(ctx, json, strlen(json)) == PARLEY_OK ? 0 : -1;
  cJSON_free(json);
  return rc;
}

static void on_click(parley_ctx *ctx, const struct parley_route_req *req, void *arg)
{
  struct email *e = arg;
  struct email_token t;
  if (token_of(e, ctx, req, EMAIL_TOKEN_CLICK, &t) < 0)
    return;
  /* a click not recorded still goes where the reader wanted: the link is genuine */
  if (emit(e, ctx, "email.clicked", &t) < 0)
    e->host->log(ctx, PARLEY_LOG_ERROR, "click not recorded", "message", t.message_id, NULL);
  struct parley_http_header h[] = {{"Location", t.target}, {"Content-Type", "text/plain"}};
  answer(e, ctx, req, 302, h, 2, "Redirecting\n", 12);
}

static void on_open(parley_ctx *ctx, const struct parley_route_req *req, void *arg)
{
  struct email *e = arg;
  struct email_token t;
  if (token_of(e, ctx, req, EMAIL_TOKEN_OPEN, &t) < 0)
    return;
  if (emit(e, ctx, "email.opened", &t) < 0)
    e->host->log(ctx, PARLEY_LOG_ERROR, "open not recorded", "message", t.message_id, NULL);
  struct parley_http_header h[] = {{"Content-Type", "image/gif"}};
  answer(e, ctx, req, 200, h, 1, pixel_gif, sizeof pixel_gif);
}

enum parley_status email_click_routes(const struct parley_host *host, parley_ctx *ctx, struct email *e)
{
  if (host->route_add(ctx, "GET", "/c/*", on_click, e) != PARLEY_OK ||
      host->route_add(ctx, "GET", "/o/*", on_open, e) != PARLEY_OK)
    return PARLEY_ERROR;
  return PARLEY_OK;
}
