/* Kannel's callbacks: the get-url of an sms-service (GET /kannel/mo, authenticated by
 * the shared secret in its query, compared in constant time) and the dlr-url each text
 * carries (GET /kannel/dlr, authenticated by its signed r and t). What they say goes to
 * sms_inbound.c; sms_kannel.c says what Kannel's words mean. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "sms.h"

#define MO_TEXT_MAX 8192 /* a concatenated text of 255 parts fits, in UTF-8 */

static void on_mo(parley_ctx *ctx, const struct parley_route_req *req, void *arg)
{
  struct sms *s = arg;
  char secret[256], from[32], to[32], id[128], charset[32], text[MO_TEXT_MAX];
  (void)ctx;
  if (sms_query_param(req->query, "secret", secret, sizeof secret) < 0 || !sms_secret_equal(s->inbound_secret, secret)) {
    s->host->log(s->ctx, PARLEY_LOG_WARN, "inbound text refused", "reason", "wrong or missing secret", "peer",
                 req->peer, NULL);
    sms_answer(s, req, 401, "error", "the secret is wrong or missing");
    return;
  }
  int raw_len = 0;
  char *raw = sms_query_raw(req->query, "text", &raw_len);
  if (sms_query_param(req->query, "charset", charset, sizeof charset) < 0)
    charset[0] = '\0';
  struct sms_measure m;
  int bad = sms_query_param(req->query, "from", from, sizeof from) < 0 || raw == NULL ||
            memchr(raw, '\0', (size_t)raw_len) != NULL ||
            sms_charset_utf8(raw, (size_t)raw_len, charset, text, sizeof text) < 0 || sms_measure(text, &m) < 0;
  curl_free(raw);
  if (bad) {
    s->host->log(s->ctx, PARLEY_LOG_WARN, "inbound text refused", "reason",
                 "no sender, no text, or a text that is not in its charset", "peer", req->peer, NULL);
    sms_answer(s, req, 400, "error", "from and text are required, the text in the charset given");
    return;
  }
  struct sms_mo mo = {.from = from, .text = text};
  if (sms_query_param(req->query, "to", to, sizeof to) == 0 && sms_measure(to, &m) == 0)
    mo.to = to;
  if (sms_query_param(req->query, "id", id, sizeof id) == 0 && sms_measure(id, &m) == 0)
    mo.id = id;
  int status = sms_inbound_mo(s, req->channel, &mo);
  sms_answer(s, req, status, status == 200 ? "status" : "error", status == 200 ? "ok" : "try again");
}

/* Kannel's %d: 1 and 2 are final (the phone's), 16 too (the SMSC refused it); 4 and 8
 * only say where the message is. */
static void on_dlr(parley_ctx *ctx, const struct parley_route_req *req, void *arg)
{
  struct sms *s = arg;
  char buf[1024], status[16], answer[256];
  const char *m, *c, *n;
  (void)ctx;
  if (sms_callback_read(s, req->query, buf, sizeof buf, &m, &c, &n) < 0) {
    s->host->log(s->ctx, PARLEY_LOG_WARN, "delivery report refused", "reason", "not signed by this channel",
                 "peer", req->peer, NULL);
    sms_answer(s, req, 401, "error", "this report's URL is not one this channel wrote");
    return;
  }
  char *end = NULL;
  long code = sms_query_param(req->query, "status", status, sizeof status) == 0 ? strtol(status, &end, 10) : -1;
  if (end == NULL || *end != '\0' || code < 0) {
    s->host->log(s->ctx, PARLEY_LOG_WARN, "delivery report refused", "reason", "no numeric status", "message", m,
                 NULL);
    sms_answer(s, req, 400, "error", "status must be Kannel's %d");
    return;
  }
  if (sms_query_param(req->query, "answer", answer, sizeof answer) < 0)
    answer[0] = '\0';
  struct sms_dlr d = {.message = m, .contact = c, .number = n, .delivered = code == 1,
                      .failed = code == 2 || code == 16, .status = status, .detail = answer};
  int rc = sms_inbound_dlr(s, req->channel, &d);
  sms_answer(s, req, rc, rc == 200 ? "status" : "error", rc == 200 ? "ok" : "try again");
}

enum parley_status sms_kannel_routes(struct sms *s)
{
  if (s->host->route_add(s->ctx, "GET", "/kannel/mo", on_mo, s) != PARLEY_OK ||
      s->host->route_add(s->ctx, "GET", "/kannel/dlr", on_dlr, s) != PARLEY_OK)
    return PARLEY_ERROR;
  return PARLEY_OK;
}
