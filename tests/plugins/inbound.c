/* A channel that receives its provider's callbacks, as a real SMS or e-mail plugin would,
 * signed the Standard Webhooks way (headers webhook-id, webhook-timestamp and
 * webhook-signature "v1,<base64 HMAC-SHA256 of id.timestamp.body>", the secret given as
 * "whsec_<base64>"). Its routes under /v1/channels/<channel>/:
 *   POST /events      checked (timestamp, then signature); the body becomes the data of
 *                     the event "<channel>.replied" for the contact named by the query's
 *                     contact=..., id the webhook-id; 401 when not authentic
 *   GET  /status      200 "ok"
 *   GET  /bad-status  answers status 42        (the host must turn it into a 500)
 *   GET  /bad-header  a header value with CR LF (the same)
 *   GET  /silent      answers nothing          (the same)
 * init also registers POST /events a second time and a malformed path, and refuses to
 * start if either is accepted; shutdown tries to register one more route and logs what
 * the host said. The host's log lines for these are what the tests read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <parley/plugin.h>

static const struct parley_host *host;

struct inbound {
  const char *secret;   /* setting: "whsec_<base64>" */
  int64_t tolerance_s;  /* setting */
  unsigned char key[64];
  size_t key_len;
};

static const struct parley_config_spec inbound_config[] = {
    {"secret", PARLEY_CONFIG_STRING, NULL, 1, offsetof(struct inbound, secret),
     "the signing secret the provider shows, whsec_<base64>"},
    {"tolerance_s", PARLEY_CONFIG_INT, "300", 0, offsetof(struct inbound, tolerance_s),
     "how far a callback's timestamp may be from now, in seconds"},
    {NULL, 0, NULL, 0, 0, NULL},
};

static void reply(parley_ctx *ctx, const struct parley_route_req *req, int status, const char *json)
{
  struct parley_http_header h[] = {{"Content-Type", "application/json"}, {"X-Handled-By", "inbound"}};
  struct parley_route_resp resp = {.size = sizeof resp, .status = status, .headers = h, .n_headers = 2,
                                   .body = json, .body_len = strlen(json)};
  if (host->route_answer(ctx, req, &resp) != PARLEY_OK)
    host->log(ctx, PARLEY_LOG_ERROR, "answer refused", NULL);
}

/* NULL when the request is what the provider signed, now; else why not. */
static const char *not_authentic(parley_ctx *ctx, const struct inbound *in, const struct parley_route_req *req)
{
  const char *id = host->route_header(req, "webhook-id");
  const char *ts = host->route_header(req, "webhook-timestamp");
  const char *sig = host->route_header(req, "webhook-signature");
  if (id == NULL || ts == NULL || sig == NULL)
    return "unsigned";
  if (host->timestamp_check(ctx, ts, (uint32_t)in->tolerance_s) != PARLEY_OK)
    return "stale";
  struct parley_bytes parts[] = {{id, strlen(id)}, {".", 1}, {ts, strlen(ts)}, {".", 1},
                                 {req->body, req->body_len}};
  /* the header may list several signatures ("v1,a v1,b" while a secret rotates) */
  for (const char *s = sig; *s; s += strspn(s, " ")) {
    size_t len = strcspn(s, " ");
    if (len > 3 && strncmp(s, "v1,", 3) == 0 &&
        host->hmac_sha256_verify(in->key, in->key_len, parts, 5, s + 3, len - 3, PARLEY_ENC_BASE64) == PARLEY_OK)
      return NULL;
    s += len;
  }
  return "bad signature";
}

/* The contact named by the query's contact=...: letters, digits, - and _ only. */
static int query_contact(const char *query, char *out, size_t cap)
{
  const char *p = strstr(query, "contact=");
  if (p == NULL || (p != query && p[-1] != '&'))
    return -1;
  p += strlen("contact=");
  size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_");
  if (n == 0 || n >= cap || (p[n] != '\0' && p[n] != '&'))
    return -1;
  memcpy(out, p, n);
  out[n] = '\0';
  return 0;
}

static void on_events(parley_ctx *ctx, const struct parley_route_req *req, void *arg)
{
  struct inbound *in = arg;
  char contact[128], json[8192];
  const char *why = not_authentic(ctx, in, req);
  if (why) {
    char body[96];
    snprintf(body, sizeof body, "{\"error\":\"%s\"}", why);
    reply(ctx, req, 401, body);
    return;
  }
  int n = -1;
  if (query_contact(req->query, contact, sizeof contact) == 0)
    n = snprintf(json, sizeof json, "{\"id\":\"%s\",\"type\":\"%s.replied\",\"contact\":\"%s\",\"data\":%.*s}",
                 host->route_header(req, "webhook-id"), req->channel, contact, (int)req->body_len, req->body);
  if (n < 0 || (size_t)n >= sizeof json || host->emit_event(ctx, json, (size_t)n) != PARLEY_OK) {
    reply(ctx, req, 400, "{\"error\":\"not an event\"}");
    return;
  }
  reply(ctx, req, 200, "{\"ok\":true}");
}

static void on_status(parley_ctx *ctx, const struct parley_route_req *req, void *arg)
{
  reply(ctx, req, 200, "\"ok\"");
}

static void on_bad_status(parley_ctx *ctx, const struct parley_route_req *req, void *arg)
{
  reply(ctx, req, 42, "{}");
}

static void on_bad_header(parley_ctx *ctx, const struct parley_route_req *req, void *arg)
{
  struct parley_http_header h[] = {{"X-Evil", "a\r\nSet-Cookie: stolen=1"}};
  struct parley_route_resp resp = {.size = sizeof resp, .status = 200, .headers = h, .n_headers = 1};
  if (host->route_answer(ctx, req, &resp) == PARLEY_OK)
    host->log(ctx, PARLEY_LOG_ERROR, "a header with CR LF was accepted", NULL);
}

static void on_silent(parley_ctx *ctx, const struct parley_route_req *req, void *arg)
{
}

static enum parley_status inbound_init(parley_ctx *ctx, void *self)
{
  struct inbound *in = self;
  const char *b64 = strncmp(in->secret, "whsec_", 6) == 0 ? in->secret + 6 : NULL;
  if (b64 == NULL || host->decode(b64, strlen(b64), PARLEY_ENC_BASE64, in->key, sizeof in->key, &in->key_len) !=
                         PARLEY_OK || in->key_len == 0) {
    host->set_error(ctx, "secret must be whsec_ followed by base64");
    return PARLEY_ERROR;
  }
  if (host->route_add(ctx, "POST", "/events", on_events, in) != PARLEY_OK ||
      host->route_add(ctx, "GET", "/status", on_status, in) != PARLEY_OK ||
      host->route_add(ctx, "GET", "/bad-status", on_bad_status, in) != PARLEY_OK ||
      host->route_add(ctx, "GET", "/bad-header", on_bad_header, in) != PARLEY_OK ||
      host->route_add(ctx, "GET", "/silent", on_silent, in) != PARLEY_OK) {
    host->set_error(ctx, "a route was refused");
    return PARLEY_ERROR;
  }
  /* both must be refused, with the host's ERROR line */
  if (host->route_add(ctx, "POST", "/events", on_events, in) == PARLEY_OK ||
      host->route_add(ctx, "POST", "/../etc", on_events, in) == PARLEY_OK) {
    host->set_error(ctx, "a duplicate or malformed route was accepted");
    return PARLEY_ERROR;
  }
  return PARLEY_OK;
}

static void inbound_shutdown(parley_ctx *ctx, void *self)
{
  enum parley_status st = host->route_add(ctx, "GET", "/late", on_status, self);
  host->log(ctx, PARLEY_LOG_INFO, st == PARLEY_OK ? "late route accepted" : "late route refused", NULL);
}

static const struct parley_plugin inbound_plugin = {
    .abi_major = PARLEY_ABI_MAJOR,
    .abi_minor = PARLEY_ABI_MINOR,
    .size = sizeof(struct parley_plugin),
    .name = "inbound",
    .version = "1.0",
    .description = "receives signed provider callbacks on its routes",
    .capabilities = PARLEY_CAP_RECEIPTS,
    .instance_size = sizeof(struct inbound),
    .config = inbound_config,
    .init = inbound_init,
    .shutdown = inbound_shutdown,
};

PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h);
PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h)
{
  host = h;
  return &inbound_plugin;
}
