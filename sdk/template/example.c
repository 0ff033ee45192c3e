/* example: a Parley channel plugin that delivers through a provider's HTTP API. Copy this
 * folder, rename "example" to your channel's name, and change render() and answered() to
 * your provider's format and answers. Read the README next to this file first; the
 * contract itself is documented in <parley/plugin.h> (ABI 1.1).
 *
 * What it does as shipped: POSTs each message as JSON to the setting `url`, with
 * `Authorization: Bearer <api_key>` and the message id as `Idempotency-Key`, without
 * blocking (the host's HTTP client), and says how the delivery ended:
 *   2xx          delivered; the provider's id from the `X-Message-Id` answer header is kept
 *                in the conversation's history, and with `receipts = true` a
 *                "<channel>.delivered" event tells the journey
 *   429, 5xx     retry later, after the answer's Retry-After seconds when it gives them
 *   404          failed for good: invalid_address (the core suppresses the address)
 *   other 4xx    failed for good: rejected
 *   no answer    retry (timeout, connection refused, TLS failure) */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <parley/plugin.h>

/* The host's function table, given to the entry point. The only way to call the daemon. */
static const struct parley_host *host;

struct request;

/* One instance per channel configured with `plugin = "example"`. The host allocates it
 * zeroed, and fills the fields named in the config spec below before init runs. */
struct example {
  const char *url;      /* setting (required); owned by the host, valid until shutdown */
  const char *api_key;  /* setting (required), a SECRET: from a file or the environment,
                           wiped by the host at close; never log it */
  int64_t timeout_ms;   /* setting, default 10000 */
  int receipts;         /* setting, default false */
  char auth[512];       /* "Bearer <api_key>", made once in init */
  struct request *list; /* requests in flight, so shutdown can free them */
};

/* A send in flight: what the answer needs. */
struct request {
  struct example *self;
  parley_msg *msg; /* valid until one of the send_* completions is called for it */
  struct request *prev, *next;
};

static const struct parley_config_spec example_config[] = {
    {"url", PARLEY_CONFIG_STRING, NULL, 1, offsetof(struct example, url),
     "the provider's send endpoint (https://...)"},
    {"api_key", PARLEY_CONFIG_SECRET, NULL, 1, offsetof(struct example, api_key),
     "the provider's API key: { env = \"NAME\" } or { file = \"PATH\" }"},
    {"timeout_ms", PARLEY_CONFIG_INT, "10000", 0, offsetof(struct example, timeout_ms),
     "the longest a request may take, in milliseconds"},
    {"receipts", PARLEY_CONFIG_BOOL, "false", 0, offsetof(struct example, receipts),
     "emit <channel>.delivered events"},
    {NULL, 0, NULL, 0, 0, NULL},
};

/* Check what the spec cannot (ranges, formats, the host's version); never block here: no
 * network calls. set_error's line is what `parley check` prints when init refuses. */
static enum parley_status example_init(parley_ctx *ctx, void *self)
{
  struct example *ex = self;
  if (!PARLEY_HOST_HAS(host, http_request) || !PARLEY_HOST_HAS(host, send_failed)) {
    host->log(ctx, PARLEY_LOG_ERROR, "this plugin needs a host with ABI 1.1", NULL);
    return PARLEY_ERROR; /* a 1.0 host has no set_error either */
  }
  if (strncmp(ex->url, "https://", 8) != 0 && strncmp(ex->url, "http://", 7) != 0) {
    host->set_error(ctx, "url must start with https:// (or http://)");
    return PARLEY_ERROR;
  }
  if (ex->timeout_ms < 1 || ex->timeout_ms > 600000) {
    host->set_error(ctx, "timeout_ms must be between 1 and 600000");
    return PARLEY_ERROR;
  }
  if ((size_t)snprintf(ex->auth, sizeof ex->auth, "Bearer %s", ex->api_key) >= sizeof ex->auth) {
    host->set_error(ctx, "api_key is too long");
    return PARLEY_ERROR;
  }
  host->log(ctx, PARLEY_LOG_INFO, "example channel ready", NULL); /* never log api_key */
  return PARLEY_OK;
}

/* --- the provider's format --- */

/* `s` as a JSON string's inside into out (at most cap bytes, NUL included). Returns the
 * length, or -1 when it does not fit. */
static int json_escape(const char *s, char *out, size_t cap)
{
  size_t n = 0;
  for (; s && *s; s++) {
    char esc[8];
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      snprintf(esc, sizeof esc, "\\%c", c);
    else if (c < 0x20)
      snprintf(esc, sizeof esc, "\\u%04x", c);
    else
      esc[0] = (char)c, esc[1] = '\0';
    size_t len = strlen(esc);
    if (n + len + 1 > cap)
      return -1;
    memcpy(out + n, esc, len);
    n += len;
  }
  out[n] = '\0';
  return (int)n;
}

/* The request body: {"to", "subject", "text", "html"}. Returns its length, or -1. */
static int render(const parley_msg *msg, char *body, size_t cap)
{
  static const char *const fields[] = {"to", "subject", "text", "html"};
  size_t n = 0;
  body[n++] = '{';
  for (size_t i = 0; i < 4; i++) {
    const char *v = i == 0 ? host->msg_address(msg) : host->msg_part(msg, fields[i]);
    if (v == NULL)
      continue;
    int k = snprintf(body + n, cap - n, "%s\"%s\":\"", n > 1 ? "," : "", fields[i]);
    if (k < 0 || (size_t)k >= cap - n)
      return -1;
    n += (size_t)k;
    int e = json_escape(v, body + n, cap - n);
    if (e < 0 || n + (size_t)e + 3 > cap)
      return -1;
    n += (size_t)e;
    body[n++] = '"';
  }
  body[n++] = '}';
  body[n] = '\0';
  return (int)n;
}

/* A receipt is an ordinary event for the same contact. Its id is derived from the
 * message id, so a message delivered twice (delivery is at least once) yields one event. */
static void emit_delivered(parley_ctx *ctx, parley_msg *msg)
{
  char json[512];
  /* Ids and channel names are plain tokens (no quote to escape). */
  int n = snprintf(json, sizeof json,
                   "{\"id\":\"%s:delivered\",\"type\":\"%s.delivered\",\"contact\":\"%s\","
                   "\"data\":{\"message_id\":\"%s\"}}",
                   host->msg_id(msg), host->msg_channel(msg), host->msg_contact(msg),
                   host->msg_id(msg));
  if (n > 0 && (size_t)n < sizeof json)
    host->emit_event(ctx, json, (size_t)n);
}

/* --- requests in flight --- */

static void list_add(struct example *ex, struct request *q)
{
  q->next = ex->list;
  if (ex->list)
    ex->list->prev = q;
  ex->list = q;
}

static void list_remove(struct request *q)
{
  if (q->prev)
    q->prev->next = q->next;
  else
    q->self->list = q->next;
  if (q->next)
    q->next->prev = q->prev;
}

/* Retry-After in seconds ("120"); an HTTP date or nothing: no wait of the provider's. */
static uint64_t retry_after_ms(const char *v)
{
  char *end;
  unsigned long s = v ? strtoul(v, &end, 10) : 0;
  return v && end != v && *end == '\0' ? (uint64_t)s * 1000 : 0;
}

/* The provider answered (or could not): one completion for the message, exactly once. */
static void answered(parley_ctx *ctx, const struct parley_http_resp *r, void *arg)
{
  struct request *q = arg;
  list_remove(q);
  if (r->error != PARLEY_HTTP_OK) {
    host->send_retry(ctx, q->msg, 0, r->error_text);
  } else if (r->status / 100 == 2) {
    if (q->self->receipts)
      emit_delivered(ctx, q->msg); /* before the completion: the msg handle dies with it */
    host->send_delivered(ctx, q->msg, host->http_header(r, "X-Message-Id"));
  } else if (r->status == 429 || r->status >= 500) {
    host->send_retry(ctx, q->msg, retry_after_ms(host->http_header(r, "Retry-After")), "provider busy");
  } else {
    host->send_failed(ctx, q->msg, r->status == 404 ? PARLEY_FAIL_INVALID_ADDRESS : PARLEY_FAIL_REJECTED,
                      r->body_len ? r->body : "refused");
  }
  free(q);
}

/* Called on the loop for each message: start the request and return at once. */
static enum parley_status example_send(parley_ctx *ctx, void *self, parley_msg *msg)
{
  struct example *ex = self;
  if (host->msg_address(msg) == NULL)
    return PARLEY_ERROR; /* permanent: no address for this channel, retrying cannot help */
  char body[65536];
  int n = render(msg, body, sizeof body);
  if (n < 0) {
    host->send_failed(ctx, msg, PARLEY_FAIL_REJECTED, "the message is larger than 64 KiB");
    return PARLEY_PENDING; /* completed just above */
  }
  struct request *q = calloc(1, sizeof *q);
  if (q == NULL)
    return PARLEY_RETRY;
  q->self = ex;
  q->msg = msg;
  struct parley_http_header h[] = {{"Authorization", ex->auth},
                                   {"Idempotency-Key", host->msg_id(msg)},
                                   {"Content-Type", "application/json"}};
  struct parley_http_req req = {.size = sizeof req, .method = "POST", .url = ex->url,
                                .headers = h, .n_headers = 3, .body = body,
                                .body_len = (size_t)n, .timeout_ms = (uint32_t)ex->timeout_ms};
  if (host->http_request(ctx, &req, answered, q) == NULL) {
    free(q); /* no callback follows a NULL */
    return PARLEY_RETRY;
  }
  list_add(ex, q);
  return PARLEY_PENDING;
}

/* Free what init and send made. The host has already cancelled our requests without
 * calling back; messages still pending are abandoned (the core hands them over again at
 * the next start), so no completion is called here. */
static void example_shutdown(parley_ctx *ctx, void *self)
{
  struct example *ex = self;
  while (ex->list) {
    struct request *q = ex->list;
    ex->list = q->next;
    free(q);
  }
}

static const struct parley_plugin example_plugin = {
    .abi_major = PARLEY_ABI_MAJOR,
    .abi_minor = PARLEY_ABI_MINOR,
    .size = sizeof(struct parley_plugin),
    .name = "example",
    .version = "0.2.0",
    .description = "an HTTP API channel: JSON POST, outcomes by status, receipts",
    .capabilities = PARLEY_CAP_SEND | PARLEY_CAP_RECEIPTS,
    .instance_size = sizeof(struct example),
    .config = example_config,
    .init = example_init,
    .send = example_send,
    .shutdown = example_shutdown,
    .config_spec_size = sizeof(struct parley_config_spec), /* 1.1: the spec may grow */
};

/* The one exported symbol. Store the host table and return the descriptor; nothing else
 * (it runs once per instance, before any setting is known). */
PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h);
PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h)
{
  host = h;
  return &example_plugin;
}
