/* The inbound routes of plugin instances (see plugin_route.h and route_add in
 * parley/plugin.h): registered by a plugin on its instance, served on the loop inside the
 * instance's callback guard, answered synchronously through route_answer, which copies
 * the answer and checks it first. A plugin's mistake (a bad route, a bad answer, no
 * answer) is an ERROR line naming the plugin and the route, and the request a 500; never
 * a header smuggled in by a CR LF, never a crash. */
#include "plugin_route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "plugin_int.h"
#include "util.h"

#define ROUTE_METHOD_MAX 16
#define ROUTE_PATH_MAX 200
#define ROUTE_SEGMENT_MAX 2048 /* what a "*" segment takes: a signed token with a link in it */

struct plugin_route {
  char method[ROUTE_METHOD_MAX + 1];
  char *path;
  parley_route_cb cb;
  void *arg;
  struct plugin_route *next;
};

/* The handler running now, so route_answer can tell its request from a stale one. */
struct plugin_route_call {
  const struct parley_route_req *req;
  const struct plugin_route *route;
  struct plugin_route_answer *answer;
  int answered; /* route_answer was called, well or badly: the first call decides */
};

static void route_log(const struct plugin_inst *pi, const char *msg, const char *method, const char *path,
                      const char *reason)
{
  char route[ROUTE_METHOD_MAX + ROUTE_PATH_MAX + 64];
  snprintf(route, sizeof route, "%s /v1/channels/%s%s", method ? method : "(null)", pi->channel,
           path ? path : "(null)");
  log_kv(pi->env.log, LOG_ERROR, pi->subsys, msg, "plugin", pi->desc->name, "route", route, "reason", reason,
         (char *)NULL);
}

/* Upper-case letters, not HEAD (a GET route answers it). */
static const char *method_fault(const char *m)
{
  size_t n = m ? strlen(m) : 0;
  if (n == 0 || n > ROUTE_METHOD_MAX || strspn(m, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != n)
    return "the method must be 1 to 16 upper-case letters";
  return strcmp(m, "HEAD") == 0 ? "HEAD is answered by the GET route; register GET" : NULL;
}

static const char unreserved[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";

/* A registered path whose last segment is "*" takes any one last segment there (a token
 * in a link). */
static int is_wildcard(const char *p)
{
  size_t n = strlen(p);
  return n >= 2 && p[n - 1] == '*' && p[n - 2] == '/';
}

/* "/seg[/seg...]" of unreserved characters: nothing that a client could spell two ways
 * (%-escapes, dot segments, a trailing slash), so an exact match is the only match. The
 * last segment may be "*": one segment of the same characters, whatever it is. */
static const char *path_fault(const char *p)
{
  char fixed[ROUTE_PATH_MAX + 1];
  size_t n = p ? strlen(p) : 0;
  if (n >= 2 && n <= ROUTE_PATH_MAX && is_wildcard(p)) { /* a last segment "*": checked as "x" */
    memcpy(fixed, p, n);
    fixed[n - 1] = 'x';
    fixed[n] = '\0';
    p = fixed;
  }
  if (n < 2 || n > ROUTE_PATH_MAX || p[0] != '/')
    return "the path must start with '/', name at least one segment and be at most 200 bytes";
  for (const char *seg = p + 1;; seg++) {
    size_t len = strspn(seg, unreserved);
    if (seg[len] != '\0' && seg[len] != '/')
      return "the path may hold only A-Z a-z 0-9 - . _ ~ and '/' between segments";
    if (len == 0 || (len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
      return "the path has an empty, '.' or '..' segment, or ends with '/'";
    seg += len;
    if (*seg == '\0')
      return NULL;
  }
}

/* An exact match, or for a last segment "*" any one segment there (one of unreserved characters, at
 * most 2048 of them, nothing a client could spell another way). */
static int path_matches(const char *route, const char *path)
{
  if (strcmp(route, path) == 0)
    return 1;
  if (!is_wildcard(route))
    return 0;
  size_t prefix = strlen(route) - 1, rest;
  if (strncmp(route, path, prefix) != 0)
    return 0;
  rest = strlen(path + prefix);
  return rest > 0 && rest <= ROUTE_SEGMENT_MAX && strspn(path + prefix, unreserved) == rest &&
         strcmp(path + prefix, ".") != 0 && strcmp(path + prefix, "..") != 0;
}

/* The route for method and path (any method: NULL); an exact path first, then a "*". */
static struct plugin_route *route_find(struct plugin_inst *pi, const char *method, const char *path)
{
  for (int exact = 1; exact >= 0; exact--)
    for (struct plugin_route *r = pi->routes; r; r = r->next)
      if ((exact ? strcmp(r->path, path) == 0 : path_matches(r->path, path)) &&
          (method == NULL || strcmp(r->method, method) == 0))
        return r;
  return NULL;
}

/* The same method and path, as written (a "*" segment is not the "x" it would take). */
static int route_registered(const struct plugin_inst *pi, const char *method, const char *path)
{
  for (const struct plugin_route *r = pi->routes; r; r = r->next)
    if (strcmp(r->path, path) == 0 && strcmp(r->method, method) == 0)
      return 1;
  return 0;
}

enum parley_status plugin_route_add(parley_ctx *ctx, const char *method, const char *path, parley_route_cb cb,
                                    void *arg)
{
  struct plugin_inst *pi = plugin_inst_of(ctx);
  if (pi == NULL)
    return PARLEY_ERROR;
  const char *why = pi->closing ? "the instance is shutting down" : method_fault(method);
  if (why == NULL)
    why = path_fault(path);
  if (why == NULL && cb == NULL)
    why = "no handler given";
  if (why == NULL && route_registered(pi, method, path))
    why = "this method and path are registered already";
  struct plugin_route *r = why ? NULL : calloc(1, sizeof *r);
  if (why == NULL && (r == NULL || (r->path = strdup(path)) == NULL)) {
    free(r);
    why = "out of memory";
  }
  if (why) {
    route_log(pi, "route refused", method, path, why);
    return PARLEY_ERROR;
  }
  snprintf(r->method, sizeof r->method, "%s", method);
  r->cb = cb;
  r->arg = arg;
  r->next = pi->routes;
  pi->routes = r;
  log_kv(pi->env.log, LOG_DEBUG, pi->subsys, "route added", "plugin", pi->desc->name, "method", method, "path",
         path, (char *)NULL);
  return PARLEY_OK;
}

void plugin_routes_free(struct plugin_inst *pi)
{
  while (pi->routes) {
    struct plugin_route *r = pi->routes;
    pi->routes = r->next;
    free(r->path);
    free(r);
  }
}

const char *plugin_route_header(const struct parley_route_req *req, const char *name)
{
  if (req == NULL || name == NULL ||
      req->size < offsetof(struct parley_route_req, n_headers) + sizeof req->n_headers)
    return NULL;
  for (size_t i = 0; i < req->n_headers; i++)
    if (strcasecmp(req->headers[i].name, name) == 0)
      return req->headers[i].value;
  return NULL;
}

/* --- answers --- */

/* The headers the server writes itself; a second copy from a plugin would contradict it. */
static int host_header(const char *name)
{
  static const char *const own[] = {"Content-Length", "Transfer-Encoding", "Connection", "Date",
                                    "Cache-Control", "X-Content-Type-Options"};
  for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
    if (strcasecmp(name, own[i]) == 0)
      return 1;
  return 0;
}

/* Why `resp` cannot be sent as it is, or NULL; `why` has room for a name. */
static const char *resp_fault(const struct parley_route_resp *resp, char *why, size_t cap)
{
  if (resp == NULL || resp->size < offsetof(struct parley_route_resp, body_len) + sizeof resp->body_len)
    return "no answer, or its size is too small";
  if (resp->status < 200 || resp->status > 599) {
    snprintf(why, cap, "status %d is not an answer (200..599)", resp->status);
    return why;
  }
  if (resp->body_len && resp->body == NULL)
    return "body_len is set and body is NULL";
  if (resp->n_headers && resp->headers == NULL)
    return "n_headers is set and headers is NULL";
  for (size_t i = 0; i < resp->n_headers; i++) {
    const struct parley_http_header *h = &resp->headers[i];
    if (!plugin_is_token(h->name))
      return "a header name is not a token";
    if (h->value == NULL || !plugin_is_clean(h->value, 1)) {
      snprintf(why, cap, "the value of header '%.64s' holds CR, LF or another control character", h->name);
      return why;
    }
    if (strcasecmp(h->name, "Content-Type") == 0 && strlen(h->value) > 200)
      return "the Content-Type is longer than 200 bytes";
    if (host_header(h->name)) {
      snprintf(why, cap, "header '%.64s' is the server's to send", h->name);
      return why;
    }
  }
  return NULL;
}

/* Copies a checked answer; -1 out of memory. */
static int answer_copy(struct plugin_route_answer *a, const struct parley_route_resp *resp)
{
  struct buf hdrs = {0};
  const char *type = "text/plain; charset=utf-8";
  for (size_t i = 0; i < resp->n_headers; i++) {
    const struct parley_http_header *h = &resp->headers[i];
    if (strcasecmp(h->name, "Content-Type") == 0) {
      type = h->value;
      continue;
    }
    if (buf_add(&hdrs, h->name, strlen(h->name) + 1) < 0 || buf_add(&hdrs, h->value, strlen(h->value) + 1) < 0) {
      buf_free(&hdrs);
      return -1;
    }
    a->n_headers++;
  }
  a->headers = hdrs.p;
  a->type = strdup(type);
  a->body = malloc(resp->body_len ? resp->body_len : 1);
  if (a->type == NULL || a->body == NULL)
    return -1;
  if (resp->body_len)
    memcpy(a->body, resp->body, resp->body_len);
  a->body_len = resp->body_len;
  a->status = resp->status;
  return 0;
}

static void answer_fail(struct plugin_route_answer *a)
{
  plugin_route_answer_free(a);
  a->failed = 1;
}

enum parley_status plugin_route_answer(parley_ctx *ctx, const struct parley_route_req *req,
                                       const struct parley_route_resp *resp)
{
  struct plugin_inst *pi = plugin_inst_of(ctx);
  char why[160];
  if (pi == NULL)
    return PARLEY_ERROR;
  struct plugin_route_call *call = pi->route_call;
  if (call == NULL || call->req != req) { /* `req` may be gone: nothing of it is read */
    log_kv(pi->env.log, LOG_ERROR, pi->subsys, "route answer ignored", "plugin", pi->desc->name, "reason",
           "not the request of the running handler: answer from inside the handler", (char *)NULL);
    return PARLEY_ERROR;
  }
  const struct plugin_route *r = call->route;
  if (call->answered) {
    route_log(pi, "route answer ignored", r->method, r->path, "answered twice: the first answer stands");
    return PARLEY_ERROR;
  }
  call->answered = 1;
  const char *fault = resp_fault(resp, why, sizeof why);
  if (fault == NULL && answer_copy(call->answer, resp) < 0)
    fault = "out of memory";
  if (fault == NULL)
    return PARLEY_OK;
  answer_fail(call->answer);
  route_log(pi, "route answer refused, the client gets 500", r->method, r->path, fault);
  return PARLEY_ERROR;
}

void plugin_route_answer_free(struct plugin_route_answer *a)
{
  free(a->type);
  free(a->headers);
  free(a->body);
  memset(a, 0, sizeof *a);
}

/* "GET, HEAD, POST": the methods `path` answers to. */
static void route_allow(struct plugin_inst *pi, const char *path, char *allow, size_t cap)
{
  size_t used = 0;
  allow[0] = '\0';
  for (const struct plugin_route *r = pi->routes; r && used < cap; r = r->next) {
    if (!path_matches(r->path, path))
      continue;
    int n = snprintf(allow + used, cap - used, "%s%s%s", used ? ", " : "", r->method,
                     strcmp(r->method, "GET") == 0 ? ", HEAD" : "");
    used = n < 0 ? cap : used + (size_t)n;
  }
}

enum plugin_route_found plugin_route_serve(struct plugin_inst *pi, struct parley_route_req *req,
                                           struct plugin_route_answer *answer, char *allow, size_t allow_cap)
{
  memset(answer, 0, sizeof *answer);
  if (pi->closing || route_find(pi, NULL, req->path) == NULL)
    return PLUGIN_ROUTE_NO_PATH;
  const struct plugin_route *r = route_find(pi, req->method, req->path);
  if (r == NULL) {
    route_allow(pi, req->path, allow, allow_cap);
    return PLUGIN_ROUTE_OTHER_METHOD;
  }
  req->size = sizeof *req;
  req->channel = pi->channel;
  struct plugin_route_call call = {.req = req, .route = r, .answer = answer};
  struct plugin_route_call *outer = pi->route_call;
  pi->route_call = &call;
  pi->calls++;
  r->cb(plugin_ctx(pi), req, r->arg);
  pi->calls--;
  pi->route_call = outer;
  if (!call.answered) {
    answer_fail(answer);
    route_log(pi, "route handler returned without an answer, the client gets 500", r->method, r->path,
              "route_answer was not called");
  }
  return PLUGIN_ROUTE_SERVED;
}
