/* The generic dialect's callbacks: POST /inbound, a provider's webhook for replies,
 * signed with HMAC-SHA256 under inbound_secret over the exact body (with timestamp_header,
 * over "<timestamp>.<body>", the timestamp within five minutes); and POST /status, the
 * delivery reports on the signed {{callback_url}} each text carried. The JSON fields are
 * read at the configured paths; what they say goes to sms_inbound.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cJSON.h>

#include "sms.h"

#define MO_FIELD_MAX 4096

/* The provider's signature over the exact bytes it sent (see the file's comment). */
static int authentic(struct sms *s, const struct parley_route_req *req)
{
  const char *sig = s->host->route_header(req, s->signature_header);
  const char *ts = s->timestamp_header ? s->host->route_header(req, s->timestamp_header) : NULL;
  if (sig == NULL || (s->timestamp_header && (ts == NULL || s->host->timestamp_check(s->ctx, ts, 300) != PARLEY_OK)))
    return 0;
  if (strncasecmp(sig, "sha256=", 7) == 0)
    sig += 7;
  struct parley_bytes parts[] = {{ts, ts ? strlen(ts) : 0}, {".", ts ? 1 : 0}, {req->body, req->body_len}};
  enum parley_encoding enc = strcasecmp(s->signature_encoding, "base64") == 0 ? PARLEY_ENC_BASE64 : PARLEY_ENC_HEX;
  return s->host->hmac_sha256_verify(s->inbound_secret, strlen(s->inbound_secret), parts, 3, sig, strlen(sig), enc) ==
         PARLEY_OK;
}

/* A field of the webhook's JSON, which must be text. */
static const char *field(const cJSON *doc, const char *path, char *buf, size_t cap)
{
  return path ? sms_json_path(doc, path, buf, cap) : NULL;
}

static void on_inbound(parley_ctx *ctx, const struct parley_route_req *req, void *arg)
{
  struct sms *s = arg;
  char text[MO_FIELD_MAX], from[64], to[64], id[128];
  (void)ctx;
  if (!authentic(s, req)) {
    s->host->log(s->ctx, PARLEY_LOG_WARN, "inbound text refused", "reason", "wrong or missing signature", "peer",
                 req->peer, NULL);
    sms_answer(s, req, 401, "error", "the signature is wrong or missing");
    return;
  }
  cJSON *doc = cJSON_ParseWithLength(req->body, req->body_len);
  struct sms_mo mo = {.from = field(doc, s->mo_from_path, from, sizeof from),
                      .text = field(doc, s->mo_text_path, text, sizeof text),
                      .to = field(doc, s->mo_to_path, to, sizeof to), .id = field(doc, s->mo_id_path, id, sizeof id)};
  cJSON_Delete(doc);
  struct sms_measure m;
  if (mo.from == NULL || mo.text == NULL || sms_measure(mo.text, &m) < 0 || (mo.to && sms_measure(mo.to, &m) < 0) ||
      (mo.id && sms_measure(mo.id, &m) < 0)) {
    s->host->log(s->ctx, PARLEY_LOG_WARN, "inbound text refused", "reason", "not JSON, or no sender or "
                 "UTF-8 text at the configured paths", "peer", req->peer, NULL);
    sms_answer(s, req, 400, "error", "a JSON object with the sender and the text is required");
    return;
  }
  int rc = sms_inbound_mo(s, req->channel, &mo);
  sms_answer(s, req, rc, rc == 200 ? "status" : "error", rc == 200 ? "ok" : "try again");
}

static int listed(const char *const *list, const char *v)
{
  for (size_t i = 0; list && list[i] && v; i++)
    if (strcasecmp(list[i], v) == 0)
      return 1;
  return 0;
}

static void on_status(parley_ctx *ctx, const struct parley_route_req *req, void *arg)
{
  struct sms *s = arg;
  char buf[1024], status[64], detail[256];
  const char *m, *c, *n;
  (void)ctx;
  if (sms_callback_read(s, req->query, buf, sizeof buf, &m, &c, &n) < 0) {
    s->host->log(s->ctx, PARLEY_LOG_WARN, "delivery report refused", "reason", "not signed by this channel", "peer",
                 req->peer, NULL);
    sms_answer(s, req, 401, "error", "this report's URL is not one this channel wrote");
    return;
  }
  cJSON *doc = cJSON_ParseWithLength(req->body, req->body_len);
  const char *st = doc ? sms_json_path(doc, s->status_path, status, sizeof status) : NULL;
  const char *why = doc ? sms_json_path(doc, s->error_path, detail, sizeof detail) : NULL;
  cJSON_Delete(doc);
  struct sms_measure mt;
  if (st == NULL || sms_measure(st, &mt) < 0) {
    s->host->log(s->ctx, PARLEY_LOG_WARN, "delivery report refused", "reason", "no status at status_path", "message",
                 m, NULL);
    sms_answer(s, req, 400, "error", "a JSON object with the status is required");
    return;
  }
  if (why && sms_measure(why, &mt) < 0)
    why = NULL;
  struct sms_dlr d = {.message = m, .contact = c, .number = n, .delivered = listed(s->delivered_statuses, st),
                      .failed = listed(s->failed_statuses, st), .status = st, .detail = why};
  int rc = sms_inbound_dlr(s, req->channel, &d);
  sms_answer(s, req, rc, rc == 200 ? "status" : "error", rc == 200 ? "ok" : "try again");
}

enum parley_status sms_generic_routes(struct sms *s)
{
  if (s->host->route_add(s->ctx, "POST", "/inbound", on_inbound, s) != PARLEY_OK ||
      s->host->route_add(s->ctx, "POST", "/status", on_status, s) != PARLEY_OK)
    return PARLEY_ERROR;
  return PARLEY_OK;
}
