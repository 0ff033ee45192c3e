/* The routes of the HTTP API (see routes.h), and the way to the routes plugins register
 * under /v1/channels/ (api_channels.c). A pattern's '*' stands for one path segment;
 * segments are %-decoded before the handler sees them, and one that decodes to a NUL or
 * does not decode is refused here, once, for every route. */
#include "routes.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "auth.h"
#include "context.h"

#define MAX_ARGS 4
#define MAX_SEGMENT 1024

struct route {
  const char *method;
  const char *pattern;
  const char *scope; /* NULL: open (or as configured, for health and metrics) */
  api_handler *handler;
};

static const struct route routes[] = {
    {"POST", "/v1/events", "events:write", api_post_events},
    {"GET", "/v1/contacts/*", "contacts:read", api_get_contact},
    {"DELETE", "/v1/contacts/*", "contacts:write", api_delete_contact},
    {"PUT", "/v1/contacts/*", "contacts:write", api_put_contact},
    {"PATCH", "/v1/contacts/*", "contacts:write", api_patch_contact},
    {"POST", "/v1/contacts/*/devices", "contacts:write", api_post_device},
    {"DELETE", "/v1/contacts/*/devices/*", "contacts:write", api_delete_device},
    {"GET", "/v1/journeys", "metrics:read", api_get_journeys},
    {"GET", "/v1/journeys/*/stats", "metrics:read", api_get_journey_stats},
    {"POST", "/v1/admin/reload", "admin", api_post_reload},
    {"POST", "/v1/outbox/*/replay", "admin", api_post_replay},
    {"PUT", "/v1/suppressions/*/*", "admin", api_put_suppression},
    {"DELETE", "/v1/suppressions/*/*", "admin", api_delete_suppression},
    {"GET", "/v1/suppressions/*", "admin", api_get_suppressions},
    {"GET", "/healthz", "metrics:read", api_get_healthz},
    {"GET", "/metrics", "metrics:read", api_get_metrics},
};

long http_decode_segment(const char *s, size_t len, char *out, size_t cap)
{
  size_t n = 0;
  for (size_t i = 0; i < len; i++, n++) {
    if (n == cap)
      return -1;
    if (s[i] != '%') {
      out[n] = s[i];
      continue;
    }
    size_t one;
    if (len - i < 3 || sodium_hex2bin((unsigned char *)out + n, 1, s + i + 1, 2, NULL, &one, NULL) != 0 ||
        one != 1)
      return -1;
    i += 2;
  }
  out[n] = '\0';
  return (long)n;
}

/* Matches `path` against `pattern`; on a match, the raw '*' segments (pointers into path,
 * with their lengths). Returns the number of segments, or -1. */
static int match(const char *pattern, const char *path, const char **seg, size_t *seglen)
{
  int n = 0;
  while (*pattern && *path) {
    if (*pattern == '*') {
      size_t len = strcspn(path, "/");
      if (len == 0 || n == MAX_ARGS)
        return -1;
      seg[n] = path;
      seglen[n++] = len;
      path += len;
      pattern++;
    } else if (*pattern++ != *path++) {
      return -1;
    }
  }
  return *pattern || *path ? -1 : n;
}

/* Decodes the segments into args (NULL-terminated). Returns 0, or -1 when one does not
 * decode, holds a NUL or is too long: the request has been answered. */
static int decode_args(struct http_req *rq, const char **seg, const size_t *seglen, int n, char **args)
{
  for (int i = 0; i < n; i++) {
    long len = http_decode_segment(seg[i], seglen[i], args[i], MAX_SEGMENT);
    if (len < 0 || strlen(args[i]) != (size_t)len) {
      http_reply_error(rq, 400, "bad_path",
                       "a path segment has a bad %-escape, decodes to a NUL, or is longer than 1024 bytes", 0);
      return -1;
    }
  }
  args[n] = NULL;
  return 0;
}

/* The methods `path` does answer to, for 405's Allow; 0 when no route has that path. */
static size_t allowed(const char *path, char *allow, size_t cap)
{
  const char *seg[MAX_ARGS];
  size_t seglen[MAX_ARGS], found = 0;
  allow[0] = '\0';
  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
    if (match(routes[i].pattern, path, seg, seglen) < 0)
      continue;
    size_t used = strlen(allow);
    snprintf(allow + used, cap - used, "%s%s%s", found ? ", " : "", routes[i].method,
             strcmp(routes[i].method, "GET") == 0 ? ", HEAD" : "");
    found++;
  }
  return found;
}

/* 1 when the caller may use the route; otherwise the 401 or 403 has been answered. With
 * http.auth = "none" (loopback only) everyone may; /healthz and /metrics are open unless
 * the configuration closes them. */
static int authorised(struct api *api, struct http_req *rq, const struct route *r)
{
  const struct cfg_http *c = &api->core->cfg->http;
  if (!api->auth || (r->handler == api_get_healthz && c->public_healthz) ||
      (r->handler == api_get_metrics && c->public_metrics))
    return 1;
  enum auth_result res = auth_check(api->auth, http_req_header(rq, "Authorization"), r->scope, NULL);
  if (res == AUTH_OK)
    return 1;
  if (res != AUTH_FORBIDDEN)
    http_reply_header(rq, "WWW-Authenticate", "Bearer realm=\"parley\"");
  http_reply_error(rq, auth_http_status(res), auth_error_code(res), auth_message(res), 0);
  return 0;
}

void routes_dispatch(struct api *api, struct http_req *rq)
{
  const char *seg[MAX_ARGS];
  size_t seglen[MAX_ARGS];
  /* Plugins' routes, for their providers: no token here (a provider cannot hold one);
   * the plugin checks its provider's signature (api_channels.c). */
  if (strncmp(rq->path, API_CHANNELS_PREFIX, strlen(API_CHANNELS_PREFIX)) == 0) {
    char name[MAX_SEGMENT + 1], *args[2] = {name, NULL};
    seg[0] = rq->path + strlen(API_CHANNELS_PREFIX);
    seglen[0] = strcspn(seg[0], "/");
    if (decode_args(rq, seg, seglen, 1, args) == 0)
      api_channel_request(api, rq, name, seg[0] + seglen[0]);
    return;
  }
  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
    const struct route *r = &routes[i];
    int n = match(r->pattern, rq->path, seg, seglen);
    if (n < 0 || strcmp(r->method, rq->method) != 0)
      continue;
    if (!authorised(api, rq, r))
      return;
    char bufs[MAX_ARGS][MAX_SEGMENT + 1], *args[MAX_ARGS + 1];
    for (int k = 0; k < MAX_ARGS; k++)
      args[k] = bufs[k];
    if (decode_args(rq, seg, seglen, n, args) == 0)
      r->handler(api, rq, args);
    return;
  }
  char allow[128], msg[160];
  if (!allowed(rq->path, allow, sizeof allow)) {
    http_reply_error(rq, 404, "not_found", "no such endpoint", 0);
    return;
  }
  snprintf(msg, sizeof msg, "use %s", allow);
  http_reply_header(rq, "Allow", allow);
  http_reply_error(rq, 405, "method_not_allowed", msg, 0);
}
