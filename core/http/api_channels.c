/* /v1/channels/<channel>/...: the routes plugins register for their provider's callbacks
 * (ABI 1.1, route_add). The request goes to the instance serving <channel>, whose
 * handler answers it (plugin/plugin_route.c). These routes are outside the API's tokens:
 * a provider cannot hold one, so each plugin authenticates its caller itself (a
 * signature or a shared secret; see route_add in parley/plugin.h). The server's limits
 * (headers, body size, timeouts) hold as for every route. Answers are counted per
 * channel and status for /metrics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "context.h"
#include "plugin/plugin_route.h"

#define MAX_HEADERS 100 /* the server refuses more (parse.c) */

/* The channel's index in core->channels; -1 when none. */
static long channel_index(const struct core *core, const char *name)
{
  for (size_t i = 0; i < core->n_channels; i++)
    if (strcmp(core->channels[i].cfg->name, name) == 0)
      return (long)i;
  return -1;
}

/* One more answer of `status` on channel `ch`; a counter lost to no memory is not worth
 * failing the request for. */
static void count(struct api *api, size_t ch, unsigned status)
{
  for (size_t i = 0; i < api->n_inbound; i++)
    if (api->inbound[i].channel == ch && api->inbound[i].status == status) {
      api->inbound[i].n++;
      return;
    }
  struct api_inbound_count *grown = realloc(api->inbound, (api->n_inbound + 1) * sizeof *grown);
  if (grown == NULL)
    return;
  api->inbound = grown;
  api->inbound[api->n_inbound++] = (struct api_inbound_count){ch, status, 1};
}

/* The plugin's answer, copied and checked by plugin_route.c, as the server sends it. */
static unsigned send_answer(struct http_req *rq, struct plugin_route_answer *a)
{
  if (a->failed) {
    http_reply_error(rq, 500, "plugin_error",
                     "the channel's plugin gave no valid answer (the daemon's log says why)", 0);
    return 500;
  }
  const char *name = a->headers;
  for (size_t i = 0; i < a->n_headers; i++) {
    const char *value = name + strlen(name) + 1;
    http_reply_header(rq, name, value);
    name = value + strlen(value) + 1;
  }
  http_reply_bytes(rq, (unsigned)a->status, a->type, a->body, a->body_len);
  return (unsigned)a->status;
}

/* Serves the request with the instance's route; returns the status answered. */
static unsigned serve(struct plugin_inst *inst, struct http_req *rq, const char *sub)
{
  struct parley_http_header hdrs[MAX_HEADERS];
  size_t n = 0;
  const char *value = NULL;
  for (const char *name = http_req_header_next(rq, NULL, &value); name && n < MAX_HEADERS;
       name = http_req_header_next(rq, name, &value))
    hdrs[n++] = (struct parley_http_header){name, value};
  struct parley_route_req req = {.method = rq->method, .path = sub, .query = rq->query, .headers = hdrs,
                                 .n_headers = n, .body = rq->body, .body_len = rq->body_len, .peer = rq->peer};
  struct plugin_route_answer a;
  char allow[256], msg[320];
  switch (plugin_route_serve(inst, &req, &a, allow, sizeof allow)) {
  case PLUGIN_ROUTE_SERVED: {
    unsigned status = send_answer(rq, &a);
    plugin_route_answer_free(&a);
    return status;
  }
  case PLUGIN_ROUTE_OTHER_METHOD:
    snprintf(msg, sizeof msg, "use %s", allow);
    http_reply_header(rq, "Allow", allow);
    http_reply_error(rq, 405, "method_not_allowed", msg, 0);
    return 405;
  case PLUGIN_ROUTE_NO_PATH:
    break;
  }
  http_reply_error(rq, 404, "not_found", "the channel's plugin has no route at this path", 0);
  return 404;
}

void api_channel_request(struct api *api, struct http_req *rq, const char *channel, const char *sub)
{
  long ch = channel_index(api->core, channel);
  struct plugin_inst *inst = ch >= 0 ? api->core->channels[ch].inst : NULL;
  if (inst == NULL) {
    http_reply_error(rq, 404, "not_found", "no channel of that name is served here", 0);
    return;
  }
  unsigned status;
  if (sub[0] != '/') { /* /v1/channels/sms: the prefix alone is no route */
    http_reply_error(rq, 404, "not_found", "the channel's plugin has no route at this path", 0);
    status = 404;
  } else {
    status = serve(inst, rq, sub);
  }
  count(api, (size_t)ch, status);
}

/* Prometheus wants \, " and newline escaped in a label's value; a channel's name is the
 * operator's, so it may hold them. */
static void label_value(FILE *f, const char *s)
{
  for (; *s; s++) {
    if (*s == '\\' || *s == '"')
      fputc('\\', f);
    if (*s == '\n')
      fputs("\\n", f);
    else
      fputc(*s, f);
  }
}

void api_channels_metrics(FILE *f, const struct api *api)
{
  fputs("# HELP parley_channel_requests_total Requests to channels' plugin routes (/v1/channels/...), "
        "by channel and answer.\n# TYPE parley_channel_requests_total counter\n",
        f);
  for (size_t i = 0; i < api->n_inbound; i++) {
    const struct api_inbound_count *c = &api->inbound[i];
    fputs("parley_channel_requests_total{channel=\"", f);
    label_value(f, api->core->channels[c->channel].cfg->name);
    fprintf(f, "\",status=\"%u\"} %llu\n", c->status, (unsigned long long)c->n);
  }
}
