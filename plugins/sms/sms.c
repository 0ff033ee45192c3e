/* sms: a two-way SMS channel. Texts go to the gateway with the host's HTTP client in one
 * of two dialects, chosen per channel: Kannel's sendsms (sms_kannel.c) or a JSON-over-
 * HTTP provider (sms_generic.c). Replies and delivery reports come back on the channel's
 * routes and become events (sms_inbound.c). A text is measured when the journey speaks
 * it (check: GSM-7 or UCS-2, segments; sms_text.c), and refused then when it is longer
 * than allowed, never cut. This file is the plugin: its settings, init (which adds the
 * dialect's routes), check, send and shutdown; the requests and the gateway's answers
 * are sms_out.c's. docs/sms.md is the operator's guide.
 *
 * The files form layers, each calling only those below it: sms.c; the routes
 * (sms_kannel_routes.c, sms_generic_routes.c); sms_inbound.c; sms_out.c; the parts
 * (sms_text.c, sms_keyword.c, sms_token.c, sms_json.c, sms_kannel.c, sms_generic.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "sms.h"

#define SMS_TIMEOUT_MAX 600000 /* ms */
#define SMS_SECRET_MIN 16      /* bytes of inbound_secret */
#define SMS_SEGMENTS_MAX 255   /* a concatenation reference counts to 255 parts */

static const struct parley_host *host;

#define STR(k, def, field, help) {k, PARLEY_CONFIG_STRING, def, 0, offsetof(struct sms, field), help}
#define LIST(k, def, field, help) {k, PARLEY_CONFIG_LIST, def, 0, offsetof(struct sms, field), help}

static const struct parley_config_spec sms_config[] = {
    STR("dialect", "kannel", dialect, "how the gateway is spoken to: \"kannel\" (sendsms) or \"generic\" (JSON over HTTP)"),
    {"url", PARLEY_CONFIG_STRING, NULL, 1, offsetof(struct sms, url),
     "Kannel's sendsms URL, or the provider's endpoint (https://, or http:// on loopback)"},
    STR("username", NULL, username, "kannel: the sendsms user"),
    {"password", PARLEY_CONFIG_SECRET, NULL, 0, offsetof(struct sms, password),
     "kannel: the sendsms password: { env = \"NAME\" } or { file = \"PATH\" }"},
    {"from", PARLEY_CONFIG_STRING, NULL, 1, offsetof(struct sms, from),
     "the sender: an E.164 number (+4915112345678) or an alphanumeric id of at most 11 characters"},
    {"public_url", PARLEY_CONFIG_STRING, NULL, 1, offsetof(struct sms, public_url),
     "the daemon's external base URL, for delivery report callbacks: https://parley.shop.example"},
    {"inbound_secret", PARLEY_CONFIG_SECRET, NULL, 1, offsetof(struct sms, inbound_secret),
     "authenticates the gateway's callbacks (and signs report URLs), at least 16 bytes"},
    {"timeout", PARLEY_CONFIG_DURATION, "10s", 0, offsetof(struct sms, timeout_ms),
     "one request to the gateway; a timeout is retried"},
    {"max_segments", PARLEY_CONFIG_INT, "3", 0, offsetof(struct sms, max_segments),
     "the most segments a text may take, unless the journey says otherwise (1 to 255)"},
    {"dlr_mask", PARLEY_CONFIG_INT, "31", 0, offsetof(struct sms, dlr_mask),
     "kannel: the delivery reports asked for (Kannel's dlr-mask; 0: none)"},
    LIST("stop_words", "STOP,STOPALL,UNSUBSCRIBE,CANCEL,END,QUIT", stop_words, "replies that opt the number out"),
    LIST("start_words", "START,UNSTOP", start_words, "replies that opt the number back in"),
    LIST("help_words", "HELP,INFO", help_words, "replies answered with help_reply"),
    STR("stop_reply", "You are unsubscribed and will get no more texts from us. Reply START to subscribe again.",
        stop_reply, "the one text confirming an opt-out"),
    STR("start_reply", "You are subscribed again. Reply STOP to unsubscribe.", start_reply,
        "the one text confirming an opt-in"),
    STR("help_reply", "Reply STOP to unsubscribe, START to subscribe again.", help_reply, "the answer to HELP"),
    {"api_key", PARLEY_CONFIG_SECRET, NULL, 0, offsetof(struct sms, api_key),
     "generic: the provider's key, written as {{api_key}} in headers or body"},
    LIST("headers", NULL, headers, "generic: 'Name: value' headers of every request"),
    STR("body",
        "{\"from\":\"{{from}}\",\"to\":\"{{to}}\",\"text\":\"{{text}}\",\"reference\":\"{{message_id}}\","
        "\"status_callback\":\"{{callback_url}}\"}",
        body, "generic: the JSON template of a request: {{to}} {{from}} {{text}} {{message_id}} {{callback_url}}"),
    STR("id_path", "id", id_path, "generic: where the answer holds the provider's id (dotted path)"),
    STR("error_path", "error", error_path, "generic: where an answer or a report holds the error"),
    STR("signature_header", "X-Signature", signature_header, "generic: the header of an inbound webhook's HMAC-SHA256"),
    STR("signature_encoding", "hex", signature_encoding, "generic: \"hex\" or \"base64\""),
    STR("timestamp_header", NULL, timestamp_header, "generic: a signed timestamp header, checked against replays"),
    STR("mo_from_path", "from", mo_from_path, "generic: the sender in an inbound webhook"),
    STR("mo_to_path", "to", mo_to_path, "generic: the receiver in an inbound webhook"),
    STR("mo_text_path", "text", mo_text_path, "generic: the text in an inbound webhook"),
    STR("mo_id_path", "id", mo_id_path, "generic: the provider's id of an inbound text"),
    STR("status_path", "status", status_path, "generic: the status in a delivery report"),
    LIST("delivered_statuses", "delivered", delivered_statuses, "generic: statuses that mean delivered"),
    LIST("failed_statuses", "failed,undelivered,rejected,expired", failed_statuses,
         "generic: statuses that mean never delivered"),
    {NULL, 0, NULL, 0, 0, NULL},
};

/* Init refuses with one line for the operator (set_error), never naming a secret. */
static enum parley_status refuse(parley_ctx *ctx, const char *why)
{
  if (PARLEY_HOST_HAS(host, set_error))
    host->set_error(ctx, why);
  host->log(ctx, PARLEY_LOG_ERROR, "sms channel refused", "reason", why, NULL);
  return PARLEY_ERROR;
}

/* http:// only to this machine for a provider on the Internet; Kannel usually sits on
 * the operator's own network, so its sendsms may be plain http anywhere. */
static int url_ok(const struct sms *s, char *why, size_t len)
{
  const char *u = s->url;
  if (strncasecmp(u, "https://", 8) == 0 && u[8] != '\0')
    return 0;
  if (strncasecmp(u, "http://", 7) == 0 && u[7] != '\0' &&
      (s->kannel || strncmp(u + 7, "127.", 4) == 0 || strncmp(u + 7, "localhost", 9) == 0 ||
       strncmp(u + 7, "[::1]", 5) == 0))
    return 0;
  snprintf(why, len, "url must be https:// (http:// only to a loopback address%s)",
           s->kannel ? " or for kannel" : "");
  return -1;
}

/* A confirmation text must itself be sendable: not empty, within max_segments. */
static int reply_ok(const struct sms *s, const char *key, const char *text, char *why, size_t len)
{
  struct sms_measure m;
  if (text == NULL || sms_measure(text, &m) < 0 || m.segments == 0 || (int64_t)m.segments > s->max_segments) {
    snprintf(why, len, "%s must be UTF-8 text of 1 to max_segments segments", key);
    return -1;
  }
  return 0;
}

/* The settings, checked; 0, or -1 and why. */
static int settings_check(struct sms *s, char *why, size_t len)
{
  if (strcmp(s->dialect, "kannel") != 0 && strcmp(s->dialect, "generic") != 0) {
    snprintf(why, len, "dialect must be \"kannel\" or \"generic\", not \"%.40s\"", s->dialect);
    return -1;
  }
  s->kannel = strcmp(s->dialect, "kannel") == 0;
  if (url_ok(s, why, len) < 0)
    return -1;
  if (!sms_sender_ok(s->from)) {
    snprintf(why, len, "from must be an E.164 number (+4915112345678) or 1 to 11 letters and digits");
    return -1;
  }
  if (strncmp(s->public_url, "https://", 8) != 0 && strncmp(s->public_url, "http://", 7) != 0) {
    snprintf(why, len, "public_url must be an http:// or https:// URL");
    return -1;
  }
  if (strlen(s->inbound_secret) < SMS_SECRET_MIN) {
    snprintf(why, len, "inbound_secret must be at least %d bytes (e.g. openssl rand -hex 32)", SMS_SECRET_MIN);
    return -1;
  }
  if (s->timeout_ms < 1 || s->timeout_ms > SMS_TIMEOUT_MAX) {
    snprintf(why, len, "timeout must be between 1ms and 10m");
    return -1;
  }
  if (s->max_segments < 1 || s->max_segments > SMS_SEGMENTS_MAX) {
    snprintf(why, len, "max_segments must be between 1 and %d", SMS_SEGMENTS_MAX);
    return -1;
  }
  if (s->dlr_mask < 0 || s->dlr_mask > 31) {
    snprintf(why, len, "dlr_mask must be Kannel's mask, 0 to 31");
    return -1;
  }
  if (strcasecmp(s->signature_encoding, "hex") != 0 && strcasecmp(s->signature_encoding, "base64") != 0) {
    snprintf(why, len, "signature_encoding must be \"hex\" or \"base64\"");
    return -1;
  }
  if (reply_ok(s, "stop_reply", s->stop_reply, why, len) < 0 || reply_ok(s, "start_reply", s->start_reply, why, len) < 0 ||
      reply_ok(s, "help_reply", s->help_reply, why, len) < 0)
    return -1;
  if (!s->kannel) { /* the template and headers fail now, not at the first text */
    struct parley_http_header h[SMS_HEADERS_MAX];
    char buf[4096];
    char *body = sms_generic_body(s, "+10000000000", "t", "m", "", why, len);
    free(body);
    if (body == NULL || sms_generic_headers(s, h, SMS_HEADERS_MAX, buf, sizeof buf, why, len) < 0)
      return -1;
  }
  return 0;
}

static void metrics(struct sms *s, parley_ctx *ctx)
{
  s->m_sent = host->metric_register(ctx, PARLEY_METRIC_COUNTER, "sent_total",
                                    "texts the gateway accepted", NULL, 0);
  s->m_segments = host->metric_register(ctx, PARLEY_METRIC_COUNTER, "segments_total",
                                        "segments of the texts the gateway accepted", NULL, 0);
  s->m_inbound = host->metric_register(ctx, PARLEY_METRIC_COUNTER, "inbound_total",
                                       "replies received (keywords not counted)", NULL, 0);
  s->m_optout = host->metric_register(ctx, PARLEY_METRIC_COUNTER, "keywords_total",
                                      "STOP, START and HELP replies received", NULL, 0);
}

static enum parley_status sms_init(parley_ctx *ctx, void *self)
{
  struct sms *s = self;
  char why[256];
  if (!PARLEY_HOST_HAS(host, http_request) || !PARLEY_HOST_HAS(host, route_add) ||
      !PARLEY_HOST_HAS(host, hmac_sha256_verify) || !PARLEY_HOST_HAS(host, metric_register))
    return refuse(ctx, "this Parley lacks an HTTP client or routes for plugins (plugin ABI 1.1 is needed)");
  if (sodium_init() < 0)
    return refuse(ctx, "libsodium failed to initialise");
  s->host = host;
  s->ctx = ctx;
  if (settings_check(s, why, sizeof why) < 0)
    return refuse(ctx, why);
  size_t n = strlen(s->public_url);
  while (n && s->public_url[n - 1] == '/')
    n--;
  if ((s->base = strndup(s->public_url, n)) == NULL)
    return refuse(ctx, "out of memory");
  sms_token_key(s->inbound_secret, s->dlr_key);
  if ((s->kannel ? sms_kannel_routes(s) : sms_generic_routes(s)) != PARLEY_OK) {
    free(s->base);
    sodium_memzero(s->dlr_key, sizeof s->dlr_key);
    return refuse(ctx, "the channel's routes could not be added (see the log)");
  }
  metrics(s, ctx);
  return PARLEY_OK;
}

/* The limit of one message: the journey's max_segments option, else the setting. 0,
 * or -1 and why. */
static int limit_of(const struct sms *s, const parley_msg *msg, int64_t *limit, char *why, size_t len)
{
  const char *opt = PARLEY_HOST_HAS(host, msg_option) ? host->msg_option(msg, "max_segments") : NULL;
  *limit = s->max_segments;
  if (opt == NULL)
    return 0;
  char *end;
  long v = strtol(opt, &end, 10);
  if (end == opt || *end != '\0' || v < 1 || v > SMS_SEGMENTS_MAX) {
    snprintf(why, len, "the max_segments option must be a whole number from 1 to %d, not '%.20s'",
             SMS_SEGMENTS_MAX, opt);
    return -1;
  }
  *limit = v;
  return 0;
}

/* The text measured against its limit: 0, or -1 and why in plain words. */
static int measure_msg(const struct sms *s, const parley_msg *msg, struct sms_measure *m, char *why, size_t len)
{
  const char *text = host->msg_part(msg, "text");
  int64_t limit;
  if (text == NULL || sms_measure(text, m) < 0 || m->segments == 0) {
    snprintf(why, len, text == NULL || text[0] == '\0' ? "the text is empty" : "the text is not valid UTF-8");
    return -1;
  }
  if (limit_of(s, msg, &limit, why, len) < 0)
    return -1;
  if ((int64_t)m->segments > limit) {
    snprintf(why, len, "the text needs %zu segments (%zu characters in %s), more than the %lld allowed", m->segments,
             m->characters, sms_encoding_name(m->encoding), (long long)limit);
    return -1;
  }
  return 0;
}

/* At speak time: measured, or refused for good. */
static enum parley_status sms_check(parley_ctx *ctx, void *self, const parley_msg *msg, char *info, size_t info_len)
{
  struct sms_measure m;
  (void)ctx;
  if (measure_msg(self, msg, &m, info, info_len) < 0)
    return PARLEY_ERROR;
  snprintf(info, info_len, "{\"segments\":%zu,\"encoding\":\"%s\",\"characters\":%zu}", m.segments,
           sms_encoding_name(m.encoding), m.characters);
  return PARLEY_OK;
}

static enum parley_status sms_send(parley_ctx *ctx, void *self, parley_msg *msg)
{
  struct sms *s = self;
  struct sms_measure m;
  char why[256];
  const char *to = host->msg_address(msg);
  if (!sms_is_e164(to)) {
    host->send_failed(ctx, msg, PARLEY_FAIL_INVALID_ADDRESS, "the number is not E.164 ('+' and 8 to 15 digits)");
    return PARLEY_PENDING;
  }
  if (measure_msg(s, msg, &m, why, sizeof why) < 0) { /* check refuses these at speak time */
    host->send_failed(ctx, msg, PARLEY_FAIL_REJECTED, why);
    return PARLEY_PENDING;
  }
  const char *channel = host->msg_channel(msg);
  char *dlr = sms_callback_url(s, channel, s->kannel ? "/kannel/dlr" : "/status", host->msg_id(msg),
                               host->msg_contact(msg), to, s->kannel ? "&status=%d&answer=%A" : "");
  int rc = dlr ? sms_out_message(s, msg, to, host->msg_part(msg, "text"), m.encoding, dlr, why, sizeof why) : -1;
  if (dlr == NULL)
    snprintf(why, sizeof why, "out of memory");
  free(dlr);
  if (rc < 0) {
    host->log(ctx, PARLEY_LOG_WARN, "text not sent now", "reason", why, NULL);
    return PARLEY_RETRY;
  }
  return PARLEY_PENDING;
}

/* The host cancelled the requests still in flight, without calling back. */
static void sms_shutdown(parley_ctx *ctx, void *self)
{
  struct sms *s = self;
  (void)ctx;
  sms_out_forget(s);
  free(s->base);
  sodium_memzero(s->dlr_key, sizeof s->dlr_key);
}

static const struct parley_plugin sms_plugin = {
    .abi_major = PARLEY_ABI_MAJOR,
    .abi_minor = PARLEY_ABI_MINOR,
    .size = sizeof(struct parley_plugin),
    .name = "sms",
    .version = "1.0",
    .description = "two-way SMS through Kannel or a JSON HTTP provider: segments, replies, receipts, STOP/START/HELP",
    .capabilities = PARLEY_CAP_SEND | PARLEY_CAP_RECEIPTS,
    .instance_size = sizeof(struct sms),
    .config = sms_config,
    .init = sms_init,
    .send = sms_send,
    .shutdown = sms_shutdown,
    .config_spec_size = sizeof(struct parley_config_spec),
    .check = sms_check,
};

PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h);
PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h)
{
  host = h;
  return &sms_plugin;
}
