/* The HTTP API's life: the server started from the configuration, its requests routed,
 * the group commit started and stopped with it (see http.h). */
#include "http.h"

#include <stdio.h>
#include <stdlib.h>

#include "api.h"
#include "auth.h"
#include "context.h"
#include "core.h"
#include "routes.h"
#include "server.h"

struct http {
  struct api api;
  struct http_server *srv;
};

static void on_request(void *ud, struct http_req *rq)
{
  struct http *h = ud;
  routes_dispatch(&h->api, rq);
}

/* A daemon asking for tokens when there is none answers every /v1 request 401: say how to
 * make one, at start, rather than leave the operator to guess. */
static void warn_if_no_token(struct core *core)
{
  struct auth_entry *list = NULL;
  size_t n = 0;
  char err[256];
  if (auth_list(core->cfg->data_dir, &list, &n, err, sizeof err) == 0 && n == 0)
    log_kv(&core->log, LOG_WARN, "http", "http.auth is \"tokens\" and there is no token yet: every /v1 request "
           "will be refused; make one with `parley token create --name NAME --scope SCOPE`", (char *)NULL);
  free(list);
}

struct http *http_start(struct core *core, char *err, size_t errlen)
{
  const struct cfg *cfg = core->cfg;
  struct http *h = calloc(1, sizeof *h);
  if (!h) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  struct http_server_opts o = {
      .address = cfg->listen_address,
      .port = cfg->listen_port,
      .max_connections = cfg->http.max_connections,
      .max_connections_per_address = cfg->http.max_connections_per_address,
      .header_timeout_ms = cfg->http.header_timeout_ms,
      .body_timeout_ms = cfg->http.body_timeout_ms,
      .idle_timeout_ms = cfg->http.idle_timeout_ms,
      .max_body_bytes = cfg->max_body_bytes,
  };
  h->api.core = core;
  if (!cfg->http.auth_none) {
    if (!(h->api.auth = auth_open(cfg->data_dir, err, errlen))) {
      free(h);
      return NULL;
    }
    auth_set_log(h->api.auth, &core->log);
    warn_if_no_token(core);
  }
  h->srv = http_server_start(core->loop, &o, &core->log, on_request, h, err, errlen);
  if (!h->srv) {
    auth_close(h->api.auth);
    free(h);
    return NULL;
  }
  h->api.http_stats = http_server_stats(h->srv);
  api_commit_start(&h->api);
  api_ingest_init(&h->api);
  return h;
}

int http_port(const struct http *h)
{
  return http_server_port(h->srv);
}

void http_stop(struct http *h)
{
  if (!h)
    return;
  api_ingest_stop(&h->api);
  api_commit_stop(&h->api);
  http_server_stop(h->srv);
  auth_close(h->api.auth);
  free(h->api.inbound);
  free(h);
}
