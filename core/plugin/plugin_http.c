/* The life of a plugin's HTTP requests (see plugin_http.h and http_request in
 * parley/plugin.h): started on the shared multi handle, listed on their instance, and
 * ended exactly once, by their callback or by a cancel (the plugin's, or the host's when
 * the instance closes), never both. What a request is for curl is plugin_http_easy.c's;
 * how curl runs on the loop, plugin_curlev.c's. */
#include "plugin_http.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "plugin_curlev.h"
#include "plugin_http_int.h"
#include "plugin_int.h"

#define HOST_CONNECTIONS 8L   /* to one host at a time: more requests wait for a free one */
#define TOTAL_CONNECTIONS 64L /* open at once, every host together */

struct plugin_http {
  struct ev_loop *loop;
  const struct log *log;
  struct plugin_curlev *cl; /* made at the first request */
  int h2;                   /* libcurl speaks HTTP/2 */
  char *ca_file;            /* trusted besides the system's store, or NULL */
  size_t active;            /* requests started and not ended, every instance's */
};

static void on_done(void *ud, CURL *easy, CURLcode rc);

struct plugin_http *plugin_http_open(struct ev_loop *loop, const struct log *log, const char *ca_file)
{
  struct plugin_http *h = calloc(1, sizeof *h);
  if (h == NULL)
    return NULL;
  h->loop = loop;
  h->log = log;
  if (ca_file && (h->ca_file = strdup(ca_file)) == NULL) {
    free(h);
    return NULL;
  }
  return h;
}

/* curl's global set-up (its TLS library's) and the multi handle, at the first request. */
static int start(struct plugin_http *h)
{
  if (h->cl)
    return 0;
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return -1;
  h->cl = plugin_curlev_open(h->loop, on_done, h);
  if (h->cl == NULL) {
    curl_global_cleanup();
    return -1;
  }
  CURLM *m = plugin_curlev_multi(h->cl);
  curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, HOST_CONNECTIONS);
  curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, TOTAL_CONNECTIONS);
  curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, TOTAL_CONNECTIONS);
  curl_multi_setopt(m, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
  const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
  h->h2 = (v->features & CURL_VERSION_HTTP2) != 0;
  if (h->ca_file && v->capath == NULL) /* plugin_http_easy_setup: nothing else is searched */
    log_kv(h->log, LOG_WARN, "plugin", "http_client.ca_file replaces the system's certificates: this "
           "libcurl has no CA folder to search besides it", "ca_file", h->ca_file, (char *)NULL);
  return 0;
}

void plugin_http_close(struct plugin_http *h)
{
  if (h == NULL)
    return;
  if (h->active) /* a core bug: instances cancel their requests when they close */
    log_kv(h->log, LOG_ERROR, "plugin", "HTTP client closed with requests in flight", (char *)NULL);
  if (h->cl) {
    plugin_curlev_close(h->cl);
    curl_global_cleanup();
  }
  free(h->ca_file);
  free(h);
}

static void req_link(struct plugin_inst *pi, struct parley_http *r)
{
  r->prev = NULL;
  r->next = pi->http_reqs;
  if (pi->http_reqs)
    pi->http_reqs->prev = r;
  pi->http_reqs = r;
  r->eng->active++;
}

static void req_unlink(struct parley_http *r)
{
  if (r->prev)
    r->prev->next = r->next;
  else
    r->pi->http_reqs = r->next;
  if (r->next)
    r->next->prev = r->prev;
  r->prev = r->next = NULL;
  r->eng->active--;
}

static void req_free(struct parley_http *r)
{
  plugin_http_easy_free(r);
  free(r);
}

/* The URL is not logged: it may carry a key in its query. */
static parley_http *refuse(struct plugin_inst *pi, const char *why)
{
  log_kv(pi->env.log, LOG_WARN, pi->subsys, "HTTP request refused", "plugin", pi->desc->name,
         "reason", why, (char *)NULL);
  return NULL;
}

parley_http *plugin_http_request(parley_ctx *ctx, const struct parley_http_req *req,
                                 parley_http_cb cb, void *arg)
{
  struct plugin_inst *pi = plugin_inst_of(ctx);
  char why[256];
  if (pi == NULL)
    return NULL;
  struct plugin_http *h = pi->env.http;
  if (h == NULL)
    return refuse(pi, "this host has no HTTP client");
  if (cb == NULL)
    return refuse(pi, "no callback given");
  if (plugin_http_check(req, why, sizeof why) < 0)
    return refuse(pi, why);
  if (start(h) < 0)
    return refuse(pi, "the HTTP client could not start");
  struct parley_http *r = calloc(1, sizeof *r);
  if (r == NULL)
    return refuse(pi, "out of memory");
  r->eng = h;
  r->pi = pi;
  r->cb = cb;
  r->arg = arg;
  if (plugin_http_easy_setup(r, req, h->h2, h->ca_file, why, sizeof why) < 0) {
    req_free(r);
    return refuse(pi, why);
  }
  if (plugin_curlev_add(h->cl, r->easy) < 0) {
    req_free(r);
    return refuse(pi, "curl refused the request");
  }
  req_link(pi, r);
  return r;
}

/* A transfer ended: the plugin hears of it once, then the request is gone. It is off its
 * instance's list before the callback runs, so a cancel from inside finds nothing to do. */
static void on_done(void *ud, CURL *easy, CURLcode rc)
{
  void *priv = NULL;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
  struct parley_http *r = priv;
  struct plugin_inst *pi = r->pi;
  struct parley_http_header hdrs[PLUGIN_HTTP_HEAD_LINES];
  struct parley_http_resp resp;
  req_unlink(r);
  plugin_http_response(r, rc, hdrs, &resp);
  r->firing = 1;
  pi->calls++;
  r->cb(plugin_ctx(pi), &resp, r->arg);
  pi->calls--;
  req_free(r);
}

void plugin_http_cancel(parley_ctx *ctx, parley_http *r)
{
  struct plugin_inst *pi = plugin_inst_of(ctx);
  if (pi == NULL || r == NULL || r->firing)
    return;
  if (r->pi != pi) { /* a plugin bug: freeing another instance's request would corrupt its list */
    log_kv(pi->env.log, LOG_ERROR, pi->subsys, "http_cancel of another instance's request, ignored",
           "plugin", pi->desc->name, (char *)NULL);
    return;
  }
  plugin_curlev_remove(r->eng->cl, r->easy);
  req_unlink(r);
  req_free(r);
}

void plugin_http_cancel_all(struct plugin_inst *pi)
{
  while (pi->http_reqs)
    plugin_http_cancel(plugin_ctx(pi), pi->http_reqs);
}

const char *plugin_http_header(const struct parley_http_resp *resp, const char *name)
{
  if (resp == NULL || name == NULL ||
      resp->size < offsetof(struct parley_http_resp, n_headers) + sizeof resp->n_headers)
    return NULL;
  for (size_t i = 0; i < resp->n_headers; i++)
    if (strcasecmp(resp->headers[i].name, name) == 0)
      return resp->headers[i].value;
  return NULL;
}
