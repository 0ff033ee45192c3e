/* webhook: POSTs each message as JSON to the channel's `url`, signed the Standard Webhooks
 * way (https://www.standardwebhooks.com), with the host's HTTP client (ABI 1.1). The
 * envelope is webhook_envelope.c's, the signature webhook_sign.c's, the static headers
 * webhook_headers.c's, what an answer means webhook_answer.c's; this file is the plugin: its settings, init, send, the answer's
 * callback and shutdown. docs/webhook.md is the receiving side's guide.
 *
 * Every send is one request; its state (struct sending) is listed in the instance, so
 * shutdown frees what the host cancelled without calling back. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "webhook.h"

#define WEBHOOK_ANSWER_MAX (64u << 10) /* a receiver's answer is read, not kept */
#define WEBHOOK_DETAIL_BODY 200        /* bytes of a refusal's body kept in its detail */
#define WEBHOOK_TIMEOUT_MAX 600000

static const struct parley_host *host;

struct webhook;

struct sending {
  struct webhook *self;
  parley_msg *msg;
  struct sending *prev, *next;
};

struct webhook {
  const char *url;                /* setting, required */
  const char *secret;             /* setting, required: "whsec_<base64>" */
  int64_t timeout_ms;             /* setting */
  const char *provider_id_header; /* setting: the answer's header naming the receiver's id */
  const char *headers;            /* setting: "Name: value" lines */
  struct webhook_key key;
  struct webhook_headers extra;   /* `headers`, parsed */
  struct sending *list;           /* requests in flight */
};

/* `secret` is a SECRET: read from a file or the environment, never from the configuration
 * file itself, and never logged by the host. */
static const struct parley_config_spec webhook_config[] = {
    {"url", PARLEY_CONFIG_STRING, NULL, 1, offsetof(struct webhook, url),
     "where to POST: https://, or http:// to a loopback address"},
    {"secret", PARLEY_CONFIG_SECRET, NULL, 1, offsetof(struct webhook, secret),
     "the signing secret, whsec_<base64 of 24 to 64 bytes>: { env = \"NAME\" } or { file = \"PATH\" }"},
    {"timeout_ms", PARLEY_CONFIG_INT, "10000", 0, offsetof(struct webhook, timeout_ms),
     "one request, connection to last byte, in milliseconds; a timeout is retried"},
    {"provider_id_header", PARLEY_CONFIG_STRING, NULL, 0, offsetof(struct webhook, provider_id_header),
     "a header of the receiver's 2xx answer whose value is kept as the provider's id"},
    {"headers", PARLEY_CONFIG_STRING, NULL, 0, offsetof(struct webhook, headers),
     "static headers sent with every POST, one 'Name: value' per line"},
    {NULL, 0, NULL, 0, 0, NULL},
};

/* Init refuses with one line for the operator (set_error), never naming the secret. */
static enum parley_status refuse(parley_ctx *ctx, const char *why)
{
  if (PARLEY_HOST_HAS(host, set_error))
    host->set_error(ctx, why);
  host->log(ctx, PARLEY_LOG_ERROR, "webhook channel refused", "reason", why, NULL);
  return PARLEY_ERROR;
}

static enum parley_status webhook_init(parley_ctx *ctx, void *self)
{
  struct webhook *w = self;
  char why[256];
  if (!PARLEY_HOST_HAS(host, http_request) || !PARLEY_HOST_HAS(host, send_failed))
    return refuse(ctx, "this Parley has no HTTP client for plugins (plugin ABI 1.1 is needed)");
  if (sodium_init() < 0)
    return refuse(ctx, "libsodium failed to initialise");
  if (w->timeout_ms < 1 || w->timeout_ms > WEBHOOK_TIMEOUT_MAX) {
    snprintf(why, sizeof why, "timeout_ms must be between 1 and %d", WEBHOOK_TIMEOUT_MAX);
    return refuse(ctx, why);
  }
  if (webhook_url_allowed(w->url, why, sizeof why) < 0 ||
      webhook_key_parse(w->secret, &w->key, why, sizeof why) < 0 ||
      webhook_headers_parse(w->headers, &w->extra, why, sizeof why) < 0) {
    sodium_memzero(&w->key, sizeof w->key);
    return refuse(ctx, why);
  }
  return PARLEY_OK;
}

static void unlist(struct sending *s)
{
  if (s->prev)
    s->prev->next = s->next;
  else
    s->self->list = s->next;
  if (s->next)
    s->next->prev = s->prev;
}

/* "HTTP 400: <the start of the body>", printable only: it becomes the dead letter's
 * last error, which parley inspect prints on a terminal. */
static void refusal_detail(const struct parley_http_resp *r, char *out, size_t cap)
{
  int n = snprintf(out, cap, "HTTP %d", r->status);
  if (r->body_len == 0 || n < 0 || (size_t)n + 3 >= cap)
    return;
  size_t room = cap - (size_t)n - 3, take = r->body_len < WEBHOOK_DETAIL_BODY ? r->body_len : WEBHOOK_DETAIL_BODY;
  if (take > room)
    take = room;
  char *p = out + n;
  *p++ = ':';
  *p++ = ' ';
  for (size_t i = 0; i < take; i++)
    *p++ = (unsigned char)r->body[i] < 0x20 || r->body[i] == 0x7f ? ' ' : r->body[i];
  *p = '\0';
}

static void on_answer(parley_ctx *ctx, const struct parley_http_resp *r, void *arg)
{
  struct sending *s = arg;
  struct webhook *w = s->self;
  enum parley_fail_reason reason;
  char detail[256];
  unlist(s);
  if (r->error != PARLEY_HTTP_OK) { /* timeout, refused, cut: the receiver may be back soon */
    host->send_retry(ctx, s->msg, 0, r->error_text);
  } else {
    switch (webhook_outcome_of(r->status, &reason)) {
    case WEBHOOK_DELIVERED:
      host->send_delivered(ctx, s->msg, w->provider_id_header ? host->http_header(r, w->provider_id_header) : NULL);
      break;
    case WEBHOOK_RETRY:
      snprintf(detail, sizeof detail, "HTTP %d", r->status);
      host->send_retry(ctx, s->msg, webhook_retry_after_ms(host->http_header(r, "Retry-After"), host->now_ms(ctx)),
                       detail);
      break;
    case WEBHOOK_FAILED:
      refusal_detail(r, detail, sizeof detail);
      host->send_failed(ctx, s->msg, reason, detail);
      break;
    }
  }
  free(s);
}

/* The request, signed: webhook-id is the message id (the same on every attempt, so a
 * receiver can drop a repeat), webhook-timestamp this attempt's time. */
static parley_http *post(parley_ctx *ctx, struct webhook *w, parley_msg *msg, struct sending *s)
{
  int64_t now_ms = host->now_ms(ctx);
  char ts[24], sig[WEBHOOK_SIGNATURE_SIZE];
  char *body = webhook_envelope(host, msg, now_ms);
  if (body == NULL)
    return NULL;
  size_t len = strlen(body);
  snprintf(ts, sizeof ts, "%" PRId64, now_ms / 1000);
  parley_http *h = NULL;
  if (webhook_sign(&w->key, host->msg_id(msg), now_ms / 1000, body, len, sig) == 0) {
    struct parley_http_header hdrs[4 + WEBHOOK_EXTRA_HEADERS] = {{"Content-Type", "application/json"},
                                                                 {"webhook-id", host->msg_id(msg)},
                                                                 {"webhook-timestamp", ts},
                                                                 {"webhook-signature", sig}};
    memcpy(hdrs + 4, w->extra.h, w->extra.n * sizeof w->extra.h[0]);
    struct parley_http_req req = {.size = sizeof req, .method = "POST", .url = w->url,
                                  .headers = hdrs, .n_headers = 4 + w->extra.n,
                                  .body = body, .body_len = len,
                                  .timeout_ms = (uint32_t)w->timeout_ms,
                                  .max_body_bytes = WEBHOOK_ANSWER_MAX};
    h = host->http_request(ctx, &req, on_answer, s);
  }
  free(body);
  return h;
}

static enum parley_status webhook_send(parley_ctx *ctx, void *self, parley_msg *msg)
{
  struct webhook *w = self;
  struct sending *s = calloc(1, sizeof *s);
  if (s == NULL)
    return PARLEY_RETRY;
  s->self = w;
  s->msg = msg;
  if (post(ctx, w, msg, s) == NULL) { /* out of memory, or refused: logged by the host */
    free(s);
    return PARLEY_RETRY;
  }
  s->next = w->list;
  if (w->list)
    w->list->prev = s;
  w->list = s;
  return PARLEY_PENDING;
}

/* The host cancelled the requests still in flight, without calling back. */
static void webhook_shutdown(parley_ctx *ctx, void *self)
{
  struct webhook *w = self;
  while (w->list) {
    struct sending *s = w->list;
    w->list = s->next;
    free(s);
  }
  sodium_memzero(&w->key, sizeof w->key);
  webhook_headers_free(&w->extra);
}

static const struct parley_plugin webhook_plugin = {
    .abi_major = PARLEY_ABI_MAJOR,
    .abi_minor = PARLEY_ABI_MINOR,
    .size = sizeof(struct parley_plugin),
    .name = "webhook",
    .version = "1.0",
    .description = "POSTs each message as signed JSON (Standard Webhooks)",
    .capabilities = PARLEY_CAP_SEND,
    .instance_size = sizeof(struct webhook),
    .config = webhook_config,
    .init = webhook_init,
    .send = webhook_send,
    .shutdown = webhook_shutdown,
    .config_spec_size = sizeof(struct parley_config_spec),
};

PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h);
PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h)
{
  host = h;
  return &webhook_plugin;
}
