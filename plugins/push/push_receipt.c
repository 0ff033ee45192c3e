/* Receipts from the app (see push.h): each message carries, in its data, a receipt token
 * the channel signed (data.parley_receipt: base64url of "<message id>\n<contact>", a dot,
 * base64url of its HMAC-SHA256 with receipt_secret). When the user opens or dismisses the
 * notification, the app (or its SDK) posts it back:
 *
 *     POST /v1/channels/<channel>/receipts   {"receipt": "<data.parley_receipt>", "action": "opened"}
 *
 * and the route makes it the event "<channel>.opened" (or ".dismissed") for that contact,
 * data.message_id naming the message, so a journey listens for it as for an e-mail click.
 * The token is the authentication: only the device that got the message holds it, it names
 * one message and one contact, and no secret ships in the app. The event's id is the
 * message's and the action's, so a receipt sent twice counts once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "push.h"

#define PUSH_RECEIPT_BODY_MAX 8192

static char *b64_mac(const struct push *p, const char *signed_text)
{
  unsigned char mac[PARLEY_HMAC_SHA256_BYTES];
  struct parley_bytes part = {signed_text, strlen(signed_text)};
  if (p->host->hmac_sha256(p->receipt_secret, strlen(p->receipt_secret), &part, 1, mac) != PARLEY_OK)
    return NULL;
  return push_b64url(mac, sizeof mac);
}

char *push_receipt_token(const struct push *p, const char *msg_id, const char *contact)
{
  size_t n = strlen(msg_id) + strlen(contact) + 2;
  char *text = malloc(n), *head = NULL, *mac = NULL, *out = NULL;
  if (text == NULL)
    return NULL;
  snprintf(text, n, "%s\n%s", msg_id, contact);
  head = push_b64url(text, strlen(text));
  mac = head ? b64_mac(p, text) : NULL;
  size_t m = mac ? strlen(head) + strlen(mac) + 2 : 0;
  if (m && (out = malloc(m)) != NULL)
    snprintf(out, m, "%s.%s", head, mac);
  free(text);
  free(head);
  free(mac);
  return out;
}

/* The message id and contact a token names, once its MAC is checked: "<id>\n<contact>"
 * malloc'd, or NULL (not a token of ours). */
static char *token_text(const struct push *p, const char *token)
{
  const char *dot = strchr(token, '.');
  size_t len, cap = strlen(token);
  if (dot == NULL || cap > 2048)
    return NULL;
  char *text = calloc(1, cap + 1);
  struct parley_bytes part;
  if (text == NULL || p->host->decode(token, (size_t)(dot - token), PARLEY_ENC_BASE64URL, text, cap, &len) != PARLEY_OK ||
      memchr(text, '\0', len) || !strchr(text, '\n'))
    goto bad;
  part = (struct parley_bytes){text, len};
  if (p->host->hmac_sha256_verify(p->receipt_secret, strlen(p->receipt_secret), &part, 1, dot + 1, strlen(dot + 1),
                                  PARLEY_ENC_BASE64URL) != PARLEY_OK)
    goto bad;
  return text;
bad:
  free(text);
  return NULL;
}

static void answer(const struct push *p, const struct parley_route_req *req, int status, const char *key,
                   const char *value)
{
  struct parley_http_header h[] = {{"Content-Type", "application/json"}};
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, key, value);
  char *json = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  struct parley_route_resp resp = {.size = sizeof resp, .status = status, .headers = h, .n_headers = 1,
                                   .body = json ? json : "{}", .body_len = json ? strlen(json) : 2};
  (void)p->host->route_answer(p->ctx, req, &resp);
  cJSON_free(json);
}

/* The event of one receipt: 0, or -1 when the core refused it. */
static int emit(const struct push *p, const char *channel, const char *text, const char *action)
{
  const char *nl = strchr(text, '\n');
  char id[160], type[160], msg_id[96];
  snprintf(msg_id, sizeof msg_id, "%.*s", (int)(nl - text), text);
  snprintf(id, sizeof id, "%s:%s", msg_id, action);
  snprintf(type, sizeof type, "%s.%s", channel, action);
  cJSON *ev = cJSON_CreateObject(), *data = cJSON_AddObjectToObject(ev, "data");
  cJSON_AddStringToObject(ev, "id", id);
  cJSON_AddStringToObject(ev, "type", type);
  cJSON_AddStringToObject(ev, "contact", nl + 1);
  cJSON_AddStringToObject(data, "message_id", msg_id);
  char *json = cJSON_PrintUnformatted(ev);
  cJSON_Delete(ev);
  int rc = json && p->host->emit_event(p->ctx, json, strlen(json)) == PARLEY_OK ? 0 : -1;
  free(json);
  return rc;
}

static void on_receipt(parley_ctx *ctx, const struct parley_route_req *req, void *arg)
{
  struct push *p = arg;
  (void)ctx;
  cJSON *doc = req->body_len <= PUSH_RECEIPT_BODY_MAX ? cJSON_ParseWithLength(req->body, req->body_len) : NULL;
  const cJSON *tok = cJSON_GetObjectItemCaseSensitive(doc, "receipt"), *act = cJSON_GetObjectItemCaseSensitive(doc, "action");
  if (!cJSON_IsString(tok) || !cJSON_IsString(act) ||
      (strcmp(act->valuestring, "opened") != 0 && strcmp(act->valuestring, "dismissed") != 0)) {
    answer(p, req, 400, "error", "the body must be {\"receipt\": \"<data.parley_receipt>\", \"action\": \"opened\" or "
                                 "\"dismissed\"}");
    cJSON_Delete(doc);
    return;
  }
  char *text = token_text(p, tok->valuestring);
  if (text == NULL)
    answer(p, req, 401, "error", "the receipt is not one this channel signed");
  else if (emit(p, req->channel, text, act->valuestring) < 0)
    answer(p, req, 400, "error", "the receipt could not be recorded (see the log)");
  else
    answer(p, req, 200, "status", "recorded");
  free(text);
  cJSON_Delete(doc);
}

enum parley_status push_receipt_routes(struct push *p)
{
  return p->host->route_add(p->ctx, "POST", "/receipts", on_receipt, p);
}
