/* GET /v1/journeys/{name}/stats[?from=&to=]: a journey's stats (stats.h) for the hourly
 * buckets in a range of RFC 3339 times, read from the store's counters, never from the
 * contacts. */
#include <cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "context.h"
#include "stats.h"
#include "timestamp.h"

/* A query value %-decoded into out (a time needs no more than "%2B" and "%3A"); -1 when
 * an escape is bad, a NUL, or it does not fit. */
static int unescape(const char *s, size_t len, char *out, size_t cap)
{
  size_t n = 0;
  for (size_t i = 0; i < len; i++, n++) {
    unsigned byte = (unsigned char)s[i];
    if (n + 1 >= cap || (byte == '%' && (len - i < 3 || !isxdigit((unsigned char)s[i + 1]) ||
                                         !isxdigit((unsigned char)s[i + 2]) || sscanf(s + i + 1, "%2x", &byte) != 1 ||
                                         byte == 0)))
      return -1;
    i += s[i] == '%' ? 2 : 0;
    out[n] = (char)byte;
  }
  out[n] = '\0';
  return 0;
}

/* The query's `name` as a time: 1 and *ms, 0 absent, -1 not an RFC 3339 time. */
static int query_time(const char *query, const char *name, int64_t *ms)
{
  size_t n = strlen(name);
  char text[64];
  for (const char *p = query; *p; p += strcspn(p, "&"), p += *p == '&') {
    if (strncmp(p, name, n) != 0 || p[n] != '=')
      continue;
    if (unescape(p + n + 1, strcspn(p + n + 1, "&"), text, sizeof text) < 0)
      return -1;
    return timestamp_parse(text, ms) == 0 && *ms > 0 ? 1 : -1;
  }
  return 0;
}

void api_get_journey_stats(struct api *api, struct http_req *rq, char **args)
{
  struct core *core = api->core;
  int64_t from = 0, to = 0;
  if (!registry_current(&core->registry, args[0])) {
    http_reply_error(rq, 404, "not_found", "no such journey", 0);
    return;
  }
  int has_from = query_time(rq->query, "from", &from), has_to = query_time(rq->query, "to", &to);
  if (has_from < 0 || has_to < 0) {
    http_reply_error(rq, 400, "bad_query", "from and to must be RFC 3339 times, such as 2026-11-18T09:00:00Z "
                                           "(percent-encode a '+' offset as %2B)", 0);
    return;
  }
  if (has_from == 1 && has_to == 1 && to <= from) {
    http_reply_error(rq, 400, "bad_query", "to must be later than from", 0);
    return;
  }
  cJSON *doc = stats_view(core->store, args[0], from, to, core->cfg->attribution_window_ms);
  if (!doc) {
    http_reply_error(rq, 500, "store_error", "the journey's stats could not be read", 0);
    return;
  }
  http_reply_json(rq, 200, doc);
}
