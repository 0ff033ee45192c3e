/* GET /healthz and GET /metrics: liveness, and the Prometheus text of the core's and the
 * HTTP server's counters, then the plugins' own metrics (plugin_metrics.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "context.h"
#include "plugin/plugin_metrics.h"
#include "server.h"
#include "view.h"

void api_get_healthz(struct api *api, struct http_req *rq, char **args)
{
  (void)api;
  (void)args;
  http_reply_text(rq, 200, "application/json", strdup("{\"status\":\"ok\"}"));
}

static void server_metrics(FILE *f, const struct http_server_stats *s)
{
  struct {
    const char *name, *type, *help;
    uint64_t v;
  } rows[] = {
      {"parley_http_connections_accepted_total", "counter", "Connections accepted.", s->accepted},
      {"parley_http_connections_open", "gauge", "Connections open.", s->open},
      {"parley_http_connections_refused_total", "counter", "Connections refused: too many from one address.",
       s->refused_per_address},
      {"parley_http_connections_busy_total", "counter", "Connections refused: too many in all.",
       s->refused_total},
      {"parley_http_timeouts_total", "counter", "Requests or answers that ran past their deadline.", s->timed_out},
      {"parley_http_protocol_errors_total", "counter", "Requests refused as malformed HTTP.", s->protocol_errors},
      {"parley_http_requests_total", "counter", "Requests handed to a route.", s->requests},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", rows[i].name, rows[i].help, rows[i].name, rows[i].type,
            rows[i].name, (unsigned long long)rows[i].v);
}

void api_get_metrics(struct api *api, struct http_req *rq, char **args)
{
  (void)args;
  char *core_text = view_metrics(api->core), *out = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&out, &len);
  if (!f || !core_text) {
    if (f)
      fclose(f);
    free(out);
    free(core_text);
    http_reply_error(rq, 503, "out_of_memory", "out of memory", 0);
    return;
  }
  fputs(core_text, f);
  server_metrics(f, api->http_stats);
  plugin_metrics_render(api->core->plugin_metrics, f);
  api_channels_metrics(f, api);
  fclose(f);
  free(core_text);
  http_reply_text(rq, 200, "text/plain; version=0.0.4", out);
}
