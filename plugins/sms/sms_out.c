/* The channel's way out: one HTTP request to the gateway per text, in the channel's
 * dialect (Kannel's GET, or the provider's POST), and what its answer means for the
 * message. Every request (a message's, or a confirmation the plugin sends itself) has its
 * state (struct sms_send) listed in the instance until its answer comes, so shutdown
 * frees what the host cancelled. sms.c sends messages through here, sms_inbound.c its
 * confirmations; this file calls neither. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sms.h"

#define SMS_ANSWER_MAX (64u << 10)

struct sms_send {
  struct sms *self;
  parley_msg *msg; /* NULL: a confirmation the plugin sends itself */
  char ref[SMS_EVENT_ID_SIZE];
  struct sms_send *prev, *next;
};

static void unlist(struct sms_send *q)
{
  if (q->prev)
    q->prev->next = q->next;
  else
    q->self->list = q->next;
  if (q->next)
    q->next->prev = q->prev;
}

static struct sms_send *listed(struct sms *s, parley_msg *msg)
{
  struct sms_send *q = calloc(1, sizeof *q);
  if (q == NULL)
    return NULL;
  q->self = s;
  q->msg = msg;
  q->next = s->list;
  if (s->list)
    s->list->prev = q;
  s->list = q;
  return q;
}

/* The start of a refusal's body, printable, for the dead letter's detail. */
static void body_detail(const struct parley_http_resp *r, char *out, size_t cap)
{
  int n = snprintf(out, cap, "HTTP %d: ", r->status);
  size_t i = 0;
  for (; n >= 0 && (size_t)n + i + 1 < cap && i < r->body_len && i < 160; i++)
    out[(size_t)n + i] = (unsigned char)r->body[i] < 0x20 || r->body[i] == 0x7f ? ' ' : r->body[i];
  if (n >= 0 && (size_t)n + i < cap)
    out[(size_t)n + i] = '\0';
}

/* What one answer means, for a message or a confirmation. */
static enum sms_outcome outcome_of(struct sms *s, const struct parley_http_resp *r, char *id, size_t id_cap,
                                   char *detail, size_t cap, enum parley_fail_reason *reason)
{
  id[0] = '\0';
  if (r->error != PARLEY_HTTP_OK) {
    snprintf(detail, cap, "the gateway did not answer: %s", r->error_text ? r->error_text : "no answer");
    return SMS_RETRY;
  }
  if (!s->kannel)
    return sms_generic_outcome(s, r->status, r->body, r->body_len, id, id_cap, detail, cap, reason);
  body_detail(r, detail, cap);
  return sms_kannel_outcome(r->status, r->body, reason);
}

static void on_answer(parley_ctx *ctx, const struct parley_http_resp *r, void *arg)
{
  struct sms_send *q = arg;
  struct sms *s = q->self;
  char id[129], detail[300];
  enum parley_fail_reason reason = PARLEY_FAIL_OTHER;
  enum sms_outcome o = outcome_of(s, r, id, sizeof id, detail, sizeof detail, &reason);
  unlist(q);
  if (o == SMS_CONFIG)
    s->host->log(ctx, PARLEY_LOG_ERROR, "the gateway refused our credentials: check username, password or api_key",
                 "detail", detail, NULL);
  else if (o != SMS_ACCEPTED)
    s->host->log(ctx, PARLEY_LOG_WARN, q->msg ? "text not accepted by the gateway" : "confirmation text not sent",
                 "outcome", o == SMS_FAILED ? "failed" : "retry", "detail", detail, "message",
                 q->msg ? s->host->msg_id(q->msg) : q->ref, NULL);
  if (q->msg == NULL) {
    free(q);
    return;
  }
  if (o == SMS_ACCEPTED) {
    struct sms_measure m;
    const char *text = s->host->msg_part(q->msg, "text");
    if (text && sms_measure(text, &m) == 0) /* before the handle goes */
      s->host->metric_add(ctx, s->m_segments, (double)m.segments);
    s->host->metric_add(ctx, s->m_sent, 1);
    s->host->send_delivered(ctx, q->msg, id[0] ? id : NULL);
  } else if (o == SMS_FAILED) {
    s->host->send_failed(ctx, q->msg, reason, detail);
  } else {
    s->host->send_retry(ctx, q->msg, 0, detail);
  }
  free(q);
}

/* One request to the gateway for `text` to `to`: Kannel's GET, or the provider's POST.
 * `dlr` is the receipt URL (NULL: none). The request, or NULL (out of memory, or a
 * template that does not render: *why set). */
static parley_http *request(struct sms *s, struct sms_send *q, const char *to, const char *text,
                            enum sms_encoding enc, const char *id, const char *dlr, char *why, size_t len)
{
  parley_http *h = NULL;
  struct parley_http_req req = {.size = sizeof req, .timeout_ms = (uint32_t)s->timeout_ms,
                                .max_body_bytes = SMS_ANSWER_MAX};
  snprintf(why, len, "out of memory");
  if (s->kannel) {
    char *url = sms_kannel_url(s, to, text, enc, dlr);
    req.method = "GET";
    req.url = url;
    if (url)
      h = s->host->http_request(s->ctx, &req, on_answer, q);
    free(url);
    return h;
  }
  struct parley_http_header hdrs[2 + SMS_HEADERS_MAX] = {{"Content-Type", "application/json"},
                                                         {"Idempotency-Key", id}};
  char buf[4096];
  int n = sms_generic_headers(s, hdrs + 2, SMS_HEADERS_MAX, buf, sizeof buf, why, len);
  char *body = n < 0 ? NULL : sms_generic_body(s, to, text, id, dlr, why, len);
  if (body == NULL)
    return NULL;
  req.method = "POST";
  req.url = s->url;
  req.headers = hdrs;
  req.n_headers = 2 + (size_t)n;
  req.body = body;
  req.body_len = strlen(body);
  h = s->host->http_request(s->ctx, &req, on_answer, q);
  free(body);
  return h;
}


int sms_out_message(struct sms *s, parley_msg *msg, const char *to, const char *text, enum sms_encoding enc,
                    const char *dlr, char *why, size_t len)
{
  struct sms_send *q = listed(s, msg);
  if (q == NULL) {
    snprintf(why, len, "out of memory");
    return -1;
  }
  if (request(s, q, to, text, enc, s->host->msg_id(msg), dlr, why, len) == NULL) {
    unlist(q);
    free(q);
    return -1;
  }
  return 0;
}

void sms_direct_send(struct sms *s, const char *channel, const char *to, const char *text, const char *ref)
{
  struct sms_measure m;
  char why[256];
  (void)channel;
  struct sms_send *q = sms_measure(text, &m) == 0 ? listed(s, NULL) : NULL;
  if (q == NULL) {
    s->host->log(s->ctx, PARLEY_LOG_ERROR, "confirmation text not sent", "reason", "out of memory", NULL);
    return;
  }
  snprintf(q->ref, sizeof q->ref, "%s", ref ? ref : "");
  if (request(s, q, to, text, m.encoding, q->ref, NULL, why, sizeof why) == NULL) {
    unlist(q);
    free(q);
    s->host->log(s->ctx, PARLEY_LOG_ERROR, "confirmation text not sent", "reason", why, NULL);
  }
}


void sms_out_forget(struct sms *s)
{
  while (s->list) {
    struct sms_send *q = s->list;
    s->list = q->next;
    free(q);
  }
}
