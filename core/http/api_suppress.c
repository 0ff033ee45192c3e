/* The operator's global suppression list (supdb.h): PUT, DELETE and GET under
 * /v1/suppressions/{channel}[/{address}], scope admin. An address is percent-encoded in
 * the path (a number's '+' may be sent as is or as %2B) and kept in its compared form
 * (suppress.h): the answers show that form. */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "context.h"
#include "supdb.h"
#include "suppress.h"
#include "text.h"
#include "timestamp.h"

#define LIST_DEFAULT 100

/* The configured channel of args[0], or NULL once a 404 is answered. */
static const struct cfg_channel *channel_or_404(struct api *api, struct http_req *rq, const char *name)
{
  const struct cfg_channel *ch = cfg_channel_find(api->core->cfg, name);
  if (!ch) {
    char msg[200];
    snprintf(msg, sizeof msg, "no channel '%.64s' is configured", name);
    http_reply_error(rq, 404, "no_channel", msg, 0);
  }
  return ch;
}

/* args[1] in its compared form into norm; 0, or -1 once a 400 is answered. */
static int address_or_400(struct http_req *rq, const struct cfg_channel *ch, const char *address, char *norm)
{
  char why[400], msg[500];
  if (suppress_norm(suppress_kind_of(ch->address_attr), address, norm, why, sizeof why) == 0)
    return 0;
  snprintf(msg, sizeof msg, "the address in the path is not one for channel %s: %s", ch->name, why);
  http_reply_error(rq, 400, "bad_address", msg, 0);
  return -1;
}

static cJSON *entry_json(const char *channel, const struct supdb_entry *e)
{
  char at[32];
  timestamp_format_ms(e->at_ms, at, sizeof at);
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "channel", channel);
  cJSON_AddStringToObject(o, "address", e->address);
  cJSON_AddStringToObject(o, "reason", e->reason);
  cJSON_AddStringToObject(o, "at", at);
  return o;
}

/* The optional body {"reason": "..."} into reason; 0, or -1 once a 400 is answered. */
static int reason_of(struct http_req *rq, char *reason)
{
  reason[0] = '\0';
  if (rq->body_len == 0)
    return 0;
  cJSON *doc = strlen(rq->body) == rq->body_len ? cJSON_ParseWithLength(rq->body, rq->body_len) : NULL;
  const cJSON *r = cJSON_GetObjectItemCaseSensitive(doc, "reason");
  int ok = cJSON_IsObject(doc) && cJSON_GetArraySize(doc) == (r ? 1 : 0) && (!r || cJSON_IsString(r));
  if (ok && r) {
    size_t n = strlen(r->valuestring);
    ok = n <= SUPDB_REASON_MAX && text_utf8_ok(r->valuestring, n) && !text_has_control(r->valuestring, n);
    if (ok)
      memcpy(reason, r->valuestring, n + 1);
  }
  cJSON_Delete(doc);
  if (!ok) {
    char msg[200];
    snprintf(msg, sizeof msg, "the body must be empty or a JSON object {\"reason\": \"...\"}, the reason text of "
                              "at most %d bytes without control characters", SUPDB_REASON_MAX);
    http_reply_error(rq, 400, "bad_body", msg, 0);
  }
  return ok ? 0 : -1;
}

/* PUT lists the address (201), or replaces its reason (200). */
void api_put_suppression(struct api *api, struct http_req *rq, char **args)
{
  char norm[SUPPRESS_ADDRESS_MAX + 1], reason[SUPDB_REASON_MAX + 1];
  const struct cfg_channel *ch = channel_or_404(api, rq, args[0]);
  if (!ch || address_or_400(rq, ch, args[1], norm) < 0 || reason_of(rq, reason) < 0)
    return;
  struct supdb_entry e = {.at_ms = clock_now_ms(&api->core->clock)};
  int was = supdb_get(api->core, ch->name, norm, &e);
  e.at_ms = clock_now_ms(&api->core->clock);
  if (was < 0 || supdb_put(api->core, ch->name, norm, reason, e.at_ms) < 0) {
    http_reply_error(rq, was < 0 ? 500 : 400, was < 0 ? "store_error" : "too_long",
                     was < 0 ? "the suppression list could not be read" : "the channel, address and reason are too long",
                     0);
    return;
  }
  snprintf(e.address, sizeof e.address, "%s", norm);
  snprintf(e.reason, sizeof e.reason, "%s", reason);
  log_kv(&api->core->log, LOG_INFO, "suppress", was ? "suppression replaced" : "address suppressed", "channel",
         ch->name, (char *)NULL);
  api_after_commit_status(api, rq, was ? 200 : 201, entry_json(ch->name, &e),
                          "the suppression could not be stored; retry later");
}

void api_delete_suppression(struct api *api, struct http_req *rq, char **args)
{
  char norm[SUPPRESS_ADDRESS_MAX + 1];
  const struct cfg_channel *ch = channel_or_404(api, rq, args[0]);
  if (!ch || address_or_400(rq, ch, args[1], norm) < 0)
    return;
  int r = supdb_del(api->core, ch->name, norm);
  if (r <= 0) {
    http_reply_error(rq, r < 0 ? 500 : 404, r < 0 ? "store_error" : "not_found",
                     r < 0 ? "the suppression list could not be read" : "the address is not on the API's suppression "
                                                                          "list for that channel", 0);
    return;
  }
  log_kv(&api->core->log, LOG_INFO, "suppress", "suppression lifted", "channel", ch->name, (char *)NULL);
  cJSON *doc = cJSON_CreateObject();
  cJSON_AddStringToObject(doc, "channel", ch->name);
  cJSON_AddStringToObject(doc, "removed", norm);
  api_after_commit(api, rq, doc, "the removal could not be stored; retry later");
}

static int hex(char c)
{
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* s[0..len) with its %-escapes decoded into out (cap bytes); -1 for a bad escape, a NUL or
 * no room. (Decoded here, not by routes.c's helper: routes.c calls this file.) */
static int decode(const char *s, size_t len, char *out, size_t cap)
{
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    int c = (unsigned char)s[i];
    if (c == '%') {
      int hi = i + 2 < len ? hex(s[i + 1]) : -1, lo = hi >= 0 ? hex(s[i + 2]) : -1;
      if (lo < 0)
        return -1;
      c = hi * 16 + lo;
      i += 2;
    }
    if (c == 0 || n + 1 >= cap)
      return -1;
    out[n++] = (char)c;
  }
  out[n] = '\0';
  return 0;
}

/* The query's `name` value, %-decoded, into out (cap bytes); 1 found, 0 absent, -1 bad. */
static int query_value(const char *query, const char *name, char *out, size_t cap)
{
  size_t n = strlen(name);
  for (const char *p = query; *p; p += strcspn(p, "&"), p += *p == '&') {
    if (strncmp(p, name, n) != 0 || p[n] != '=')
      continue;
    return decode(p + n + 1, strcspn(p + n + 1, "&"), out, cap) == 0 ? 1 : -1;
  }
  return 0;
}

/* GET /v1/suppressions/{channel}?limit=N&after=ADDRESS: a page in address order, and
 * `next` (the `after` of the next page) while there is more. */
void api_get_suppressions(struct api *api, struct http_req *rq, char **args)
{
  char after[SUPPRESS_ADDRESS_MAX + 1] = "", limit_text[16] = "";
  const struct cfg_channel *ch = channel_or_404(api, rq, args[0]);
  if (!ch)
    return;
  char *end = NULL;
  int has_limit = query_value(rq->query, "limit", limit_text, sizeof limit_text);
  long limit = has_limit == 1 ? strtol(limit_text, &end, 10) : LIST_DEFAULT;
  if (query_value(rq->query, "after", after, sizeof after) < 0 || has_limit < 0 ||
      (has_limit == 1 && (!*limit_text || *end || limit < 1 || limit > SUPDB_LIST_MAX))) {
    http_reply_error(rq, 400, "bad_query", "the query takes limit (1 to 1000, default 100) and after (an address "
                                           "from a previous page's next, percent-encoded)", 0);
    return;
  }
  struct supdb_entry *page = calloc((size_t)limit + 1, sizeof *page);
  int n = page ? supdb_list(api->core, ch->name, after, page, (size_t)limit + 1) : -1;
  if (n < 0) {
    free(page);
    http_reply_error(rq, 500, "store_error", "the suppression list could not be read", 0);
    return;
  }
  cJSON *doc = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(doc, "suppressions");
  cJSON_AddStringToObject(doc, "channel", ch->name);
  for (int i = 0; i < n && i < limit; i++)
    cJSON_AddItemToArray(list, entry_json(ch->name, &page[i]));
  if (n > limit)
    cJSON_AddStringToObject(doc, "next", page[limit - 1].address);
  else
    cJSON_AddNullToObject(doc, "next");
  free(page);
  http_reply_json(rq, 200, doc);
}
