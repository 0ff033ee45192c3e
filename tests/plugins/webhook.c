/* A channel that delivers by HTTP, as a plugin for a real provider would, with the host's
 * HTTP client (ABI 1.1): each message is POSTed as JSON to the setting `url` with the
 * message id as Idempotency-Key, and the answer says how the delivery ended (ABI 1.1):
 *   2xx              delivered (send_delivered, the provider id "hook-<X-Conn>"), and
 *                    confirmed back into Parley as a "<channel>.delivered" receipt
 *   429, 5xx         retry (send_retry), after the answer's Retry-After seconds if any
 *   404, 410         failed for good: invalid_address, unsubscribed (send_failed)
 *   403              blocked; any other status: rejected
 *   no answer        retry, without a wait of its own
 * The request of a send still pending when the instance closes is cancelled by the host;
 * shutdown frees what the plugin kept for it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <parley/plugin.h>

static const struct parley_host *host;

struct webhook;

struct sending {
  struct webhook *self;
  parley_msg *msg;
  struct sending *prev, *next;
};

struct webhook {
  const char *url;    /* setting, required */
  int64_t timeout_ms; /* setting */
  struct sending *list;
};

static const struct parley_config_spec webhook_config[] = {
    {"url", PARLEY_CONFIG_STRING, NULL, 1, offsetof(struct webhook, url), "where to POST"},
    {"timeout_ms", PARLEY_CONFIG_INT, "5000", 0, offsetof(struct webhook, timeout_ms),
     "the whole request's timeout"},
    {NULL, 0, NULL, 0, 0, NULL},
};

static void unlink_sending(struct sending *s)
{
  if (s->prev)
    s->prev->next = s->next;
  else
    s->self->list = s->next;
  if (s->next)
    s->next->prev = s->prev;
}

static void emit_receipt(parley_ctx *ctx, parley_msg *msg)
{
  char json[512];
  snprintf(json, sizeof json,
           "{\"id\":\"%s:delivered\",\"type\":\"%s.delivered\",\"contact\":\"%s\","
           "\"data\":{\"message_id\":\"%s\"}}",
           host->msg_id(msg), host->msg_channel(msg), host->msg_contact(msg), host->msg_id(msg));
  if (host->emit_event(ctx, json, strlen(json)) != PARLEY_OK)
    host->log(ctx, PARLEY_LOG_ERROR, "receipt refused", "message_id", host->msg_id(msg), NULL);
}

static enum parley_fail_reason reason_of(int status)
{
  switch (status) {
  case 404: return PARLEY_FAIL_INVALID_ADDRESS;
  case 410: return PARLEY_FAIL_UNSUBSCRIBED;
  case 403: return PARLEY_FAIL_BLOCKED;
  default: return PARLEY_FAIL_REJECTED;
  }
}

static void on_answer(parley_ctx *ctx, const struct parley_http_resp *r, void *arg)
{
  struct sending *s = arg;
  char text[128];
  unlink_sending(s);
  if (r->error != PARLEY_HTTP_OK) {
    host->send_retry(ctx, s->msg, 0, r->error_text);
  } else if (r->status >= 200 && r->status < 300) {
    emit_receipt(ctx, s->msg);
    const char *conn = host->http_header(r, "X-Conn");
    snprintf(text, sizeof text, "hook-%s", conn ? conn : "?");
    host->send_delivered(ctx, s->msg, text);
  } else if (r->status == 429 || r->status >= 500) {
    const char *after = host->http_header(r, "Retry-After");
    snprintf(text, sizeof text, "HTTP %d", r->status);
    host->send_retry(ctx, s->msg, after ? strtoull(after, NULL, 10) * 1000 : 0, text);
  } else {
    snprintf(text, sizeof text, "HTTP %d", r->status);
    host->send_failed(ctx, s->msg, reason_of(r->status), text);
  }
  free(s);
}

static enum parley_status webhook_init(parley_ctx *ctx, void *self)
{
  if (!PARLEY_HOST_HAS(host, http_request) || !PARLEY_HOST_HAS(host, send_failed)) {
    host->log(ctx, PARLEY_LOG_ERROR, "this Parley has no HTTP client (ABI 1.1 needed)", NULL);
    return PARLEY_ERROR;
  }
  return PARLEY_OK;
}

static enum parley_status webhook_send(parley_ctx *ctx, void *self, parley_msg *msg)
{
  struct webhook *w = self;
  char body[1024];
  const char *text = host->msg_part(msg, "text");
  snprintf(body, sizeof body, "{\"id\":\"%s\",\"contact\":\"%s\",\"text_bytes\":%zu}",
           host->msg_id(msg), host->msg_contact(msg), text ? strlen(text) : 0);
  struct parley_http_header headers[] = {{"Content-Type", "application/json"},
                                         {"Idempotency-Key", host->msg_id(msg)}};
  struct parley_http_req req = {.size = sizeof req, .method = "POST", .url = w->url,
                                .headers = headers, .n_headers = 2,
                                .body = body, .body_len = strlen(body),
                                .timeout_ms = (uint32_t)w->timeout_ms};
  struct sending *s = calloc(1, sizeof *s);
  if (s == NULL)
    return PARLEY_RETRY;
  s->self = w;
  s->msg = msg;
  if (host->http_request(ctx, &req, on_answer, s) == NULL) {
    free(s);
    return PARLEY_RETRY;
  }
  s->next = w->list;
  if (w->list)
    w->list->prev = s;
  w->list = s;
  return PARLEY_PENDING;
}

static void webhook_shutdown(parley_ctx *ctx, void *self)
{
  struct webhook *w = self;
  while (w->list) {
    struct sending *s = w->list;
    w->list = s->next;
    free(s);
  }
}

static const struct parley_plugin webhook_plugin = {
    .abi_major = PARLEY_ABI_MAJOR,
    .abi_minor = PARLEY_ABI_MINOR,
    .size = sizeof(struct parley_plugin),
    .name = "webhook",
    .version = "0",
    .description = "POSTs each message as JSON",
    .capabilities = PARLEY_CAP_SEND | PARLEY_CAP_RECEIPTS,
    .instance_size = sizeof(struct webhook),
    .config = webhook_config,
    .init = webhook_init,
    .send = webhook_send,
    .shutdown = webhook_shutdown,
};

PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h);
PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h)
{
  host = h;
  return &webhook_plugin;
}
