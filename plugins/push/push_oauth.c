/* The OAuth 2.0 access token FCM wants (see push.h): a signed assertion exchanged at the
 * key file's token_uri (RFC 7523's jwt-bearer grant), used until it expires and renewed
 * from five minutes before, in the background, by the first send then (a failed renewal
 * keeps the old token while it lasts). While a request for one is in flight,
 * sends wait in a list and share its answer: a burst of messages makes one token request,
 * not one each. A refusal is logged once (never with the assertion), and the waiting
 * sends are retried by the core's policy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <sodium.h>

#include "push.h"

#define PUSH_REFRESH_EARLY_MS (5 * 60 * 1000)
#define PUSH_TOKEN_ANSWER_MAX (64u << 10)
#define PUSH_GRANT "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"

struct push_waiter {
  push_token_cb cb;
  void *arg;
  struct push_waiter *next;
};

static void wipe_token(struct push_oauth *o)
{
  if (o->token)
    sodium_memzero(o->token, strlen(o->token));
  free(o->token);
  o->token = NULL;
}

/* Calls back every waiting send with the token, or with the error. */
static void call_waiters(struct push *p, const char *error)
{
  char bearer[4096];
  struct push_waiter *w = p->oauth.waiting;
  p->oauth.waiting = p->oauth.waiting_tail = NULL;
  if (!error)
    snprintf(bearer, sizeof bearer, "Bearer %s", p->oauth.token);
  while (w) {
    struct push_waiter *next = w->next;
    w->cb(p, error ? NULL : bearer, error, w->arg);
    free(w);
    w = next;
  }
  sodium_memzero(bearer, sizeof bearer);
}

/* The token endpoint's answer: {"access_token", "expires_in", "token_type": "Bearer"}. 0,
 * or -1 and why. */
static int take_token(struct push *p, const struct parley_http_resp *r, char *why, size_t len)
{
  if (r->error != PARLEY_HTTP_OK) {
    snprintf(why, len, "the token endpoint did not answer: %s", r->error_text ? r->error_text : "no answer");
    return -1;
  }
  cJSON *doc = cJSON_ParseWithLength(r->body, r->body_len);
  const cJSON *tok = cJSON_GetObjectItemCaseSensitive(doc, "access_token");
  const cJSON *exp = cJSON_GetObjectItemCaseSensitive(doc, "expires_in");
  const cJSON *err = cJSON_GetObjectItemCaseSensitive(doc, "error");
  int rc = -1;
  if (r->status != 200)
    snprintf(why, len, "the token endpoint answered HTTP %d%s%s", r->status, cJSON_IsString(err) ? ": " : "",
             cJSON_IsString(err) ? err->valuestring : ""); /* "invalid_grant": never a secret */
  else if (!cJSON_IsString(tok) || !tok->valuestring[0] || strlen(tok->valuestring) > 2048 ||
           !cJSON_IsNumber(exp) || exp->valuedouble < 60 || exp->valuedouble > 86400)
    snprintf(why, len, "the token endpoint's answer holds no access_token and expires_in (60 s to a day)");
  else {
    wipe_token(&p->oauth);
    if ((p->oauth.token = strdup(tok->valuestring)) == NULL) {
      snprintf(why, len, "out of memory");
      goto done;
    }
    int64_t now = p->host->now_ms(p->ctx), ms = (int64_t)exp->valuedouble * 1000;
    p->oauth.expires_at_ms = now + ms;
    p->oauth.refresh_at_ms = now + (ms > 2 * PUSH_REFRESH_EARLY_MS ? ms - PUSH_REFRESH_EARLY_MS : ms / 2);
    rc = 0;
  }
done:
  if (cJSON_IsString(tok))
    sodium_memzero(tok->valuestring, strlen(tok->valuestring));
  cJSON_Delete(doc);
  return rc;
}

static void on_token(parley_ctx *ctx, const struct parley_http_resp *r, void *arg)
{
  struct push *p = arg;
  char why[300];
  p->oauth.asking = NULL;
  if (take_token(p, r, why, sizeof why) < 0) { /* a token still valid is kept meanwhile */
    p->host->log(ctx, PARLEY_LOG_ERROR, "no FCM access token", "reason", why, NULL);
    call_waiters(p, why);
    return;
  }
  p->host->log(ctx, PARLEY_LOG_INFO, "FCM access token obtained", NULL);
  call_waiters(p, NULL);
}

/* Starts the token request; 0, or -1 and why. */
static int ask(struct push *p, char *why, size_t len)
{
  char *jwt = push_key_assertion(p->key, PUSH_SCOPE, p->host->now_ms(p->ctx) / 1000);
  size_t n = jwt ? strlen(jwt) + sizeof "grant_type=" PUSH_GRANT "&assertion=" : 0;
  char *body = n ? malloc(n) : NULL;
  if (body == NULL) {
    free(jwt);
    snprintf(why, len, "the assertion could not be signed (out of memory, or the key)");
    return -1;
  }
  snprintf(body, n, "grant_type=%s&assertion=%s", PUSH_GRANT, jwt); /* base64url: nothing to escape */
  struct parley_http_header h[] = {{"Content-Type", "application/x-www-form-urlencoded"},
                                   {"Accept", "application/json"}};
  struct parley_http_req req = {.size = sizeof req, .method = "POST", .url = push_key_token_uri(p->key),
                                .headers = h, .n_headers = 2, .body = body, .body_len = strlen(body),
                                .timeout_ms = (uint32_t)p->timeout_ms, .max_body_bytes = PUSH_TOKEN_ANSWER_MAX};
  p->oauth.asking = p->host->http_request(p->ctx, &req, on_token, p);
  sodium_memzero(body, strlen(body));
  free(body);
  free(jwt);
  if (p->oauth.asking == NULL) {
    snprintf(why, len, "the token request could not start (see the log)");
    return -1;
  }
  return 0;
}

int push_oauth_get(struct push *p, push_token_cb cb, void *arg)
{
  int64_t now = p->host->now_ms(p->ctx);
  struct push_oauth *o = &p->oauth;
  if (o->token && now < o->expires_at_ms) {
    char bearer[4096], why[256];
    if (now >= o->refresh_at_ms && !o->asking && ask(p, why, sizeof why) < 0) /* renewed ahead, in the background */
      p->host->log(p->ctx, PARLEY_LOG_WARN, "FCM access token not renewed", "reason", why, NULL);
    snprintf(bearer, sizeof bearer, "Bearer %s", o->token);
    cb(p, bearer, NULL, arg);
    sodium_memzero(bearer, sizeof bearer);
    return 0;
  }
  struct push_waiter *w = calloc(1, sizeof *w);
  if (w == NULL)
    return -1;
  w->cb = cb;
  w->arg = arg;
  if (o->waiting_tail)
    o->waiting_tail->next = w;
  else
    o->waiting = w;
  o->waiting_tail = w;
  char why[256];
  if (!o->asking && ask(p, why, sizeof why) < 0) {
    p->host->log(p->ctx, PARLEY_LOG_ERROR, "no FCM access token", "reason", why, NULL);
    call_waiters(p, why);
  }
  return 0;
}

void push_oauth_drop(struct push *p)
{
  wipe_token(&p->oauth);
}

void push_oauth_forget(struct push *p, void *arg)
{
  struct push_waiter **w = &p->oauth.waiting, *prev = NULL;
  while (*w && (*w)->arg != arg) {
    prev = *w;
    w = &(*w)->next;
  }
  if (*w == NULL)
    return;
  struct push_waiter *gone = *w;
  *w = gone->next;
  if (p->oauth.waiting_tail == gone)
    p->oauth.waiting_tail = prev;
  free(gone);
}

void push_oauth_free(struct push *p)
{
  while (p->oauth.waiting) {
    struct push_waiter *w = p->oauth.waiting;
    p->oauth.waiting = w->next;
    free(w);
  }
  p->oauth.waiting_tail = NULL;
  p->oauth.asking = NULL;
  wipe_token(&p->oauth);
}
