/* libmicrohttpd on the libev loop, and the routes of the HTTP API. */
#include "http.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <cJSON.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conv.h"
#include "core.h"
#include "util.h"
#include "outbox.h"
#include "view.h"

struct req;

struct http {
  struct core *core;
  struct MHD_Daemon *mhd;
  ev_io io;
  ev_timer timer;
  int port;
  struct req *waiting; /* suspended until their events are committed */
};

/* One request: its body as it arrives, then (POST /v1/events) its answer, held back
 * until the batch holding its events is committed. */
struct req {
  struct buf body;
  int too_big;
  enum { REQ_RECEIVING, REQ_COMMITTING, REQ_ANSWERED } state;
  unsigned status;
  char *answer;
  const char *unstored; /* the 503 message when the commit fails */
  struct MHD_Connection *conn;
  struct req *next;
};

static enum MHD_Result send_text(struct MHD_Connection *conn, unsigned status, char *text,
                                 const char *type)
{
  struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
  enum MHD_Result ret = MHD_queue_response(conn, status, r);
  MHD_destroy_response(r);
  return ret;
}

static enum MHD_Result send_json(struct MHD_Connection *conn, unsigned status, cJSON *doc)
{
  char *text = cJSON_PrintUnformatted(doc);
  cJSON_Delete(doc);
  return send_text(conn, status, text, "application/json");
}

/* Every error has the same shape: {"error": {"code": "...", "message": "..."}}, plus the
 * NDJSON line when one line of a batch was at fault. */
static enum MHD_Result send_error(struct MHD_Connection *conn, unsigned status, const char *code,
                                  const char *message, size_t line)
{
  cJSON *doc = cJSON_CreateObject();
  cJSON *e = cJSON_AddObjectToObject(doc, "error");
  cJSON_AddStringToObject(e, "code", code);
  cJSON_AddStringToObject(e, "message", message);
  if (line)
    cJSON_AddNumberToObject(e, "line", (double)line);
  return send_json(conn, status, doc);
}

/* The answer waits for the commit of every request of this loop turn (group commit):
 * release_waiting sends `doc` once durable, or 503 with `unstored` when the batch was
 * dropped. */
static enum MHD_Result answer_after_commit(struct http *h, struct MHD_Connection *conn, struct req *rq,
                                           cJSON *doc, const char *unstored)
{
  rq->answer = cJSON_PrintUnformatted(doc);
  rq->status = MHD_HTTP_OK;
  rq->unstored = unstored;
  cJSON_Delete(doc);
  rq->state = REQ_COMMITTING;
  rq->conn = conn;
  rq->next = h->waiting;
  h->waiting = rq;
  MHD_suspend_connection(conn);
  return MHD_YES;
}

static enum MHD_Result post_events(struct http *h, struct MHD_Connection *conn, struct req *rq)
{
  struct core *core = h->core;
  if (rq->too_big) {
    char msg[128];
    snprintf(msg, sizeof msg, "the body is larger than %zu bytes", core->cfg->max_body_bytes);
    return send_error(conn, 413, "body_too_large", msg, 0);
  }
  struct event_limits lim = {core->cfg->max_event_bytes, core->cfg->max_batch_events,
                            clock_now_ms(&core->clock)};
  struct event *evs;
  size_t n, bad_line;
  char err[512];
  if (event_parse_body(rq->body.p ? rq->body.p : "", rq->body.len, &lim, &evs, &n, &bad_line, err, sizeof err) < 0)
    return send_error(conn, MHD_HTTP_BAD_REQUEST, "bad_event", err, bad_line);
  size_t dups = 0;
  for (size_t i = 0; i < n; i++)
    dups += (size_t)conv_apply_event(core, &evs[i]);
  event_free_array(evs, n);
  cJSON *doc = cJSON_CreateObject();
  cJSON_AddNumberToObject(doc, "accepted", (double)n);
  cJSON_AddNumberToObject(doc, "applied", (double)(n - dups));
  cJSON_AddNumberToObject(doc, "duplicates", (double)dups);
  return answer_after_commit(h, conn, rq, doc,
                             "the events could not be stored; nothing was applied, retry later");
}

/* POST /v1/outbox/{id}/replay: a dead letter goes back in the outbox as new (attempt 0,
 * due now) with its id unchanged, so a provider that did receive an earlier attempt can
 * still de-duplicate it. Only dead letters: replaying a message still being retried would
 * deliver it twice. The answer, like an ingest's, waits until the replay is committed. */
static enum MHD_Result post_replay(struct http *h, struct MHD_Connection *conn, struct req *rq, const char *id)
{
  struct core *core = h->core;
  struct parley_msg *m = NULL;
  int found = core->store->ops->msg_get(core->store, id, &m);
  if (found < 0)
    return send_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "store_error", "the message could not be read",
                      0);
  if (found == 0)
    return send_error(conn, MHD_HTTP_NOT_FOUND, "not_found", "no such message in the outbox", 0);
  if (m->state != MSG_DEAD) {
    msg_record_free(m);
    return send_error(conn, MHD_HTTP_CONFLICT, "not_dead",
                      "the message is not a dead letter: it is still queued for delivery", 0);
  }
  m->attempt = 0;
  m->due_ms = clock_now_ms(&core->clock);
  free(m->last_error);
  m->last_error = NULL;
  log_kv(&core->log, LOG_INFO, "outbox", "dead letter replayed", "id", m->id, "channel", m->channel,
         (char *)NULL);
  cJSON *doc = cJSON_CreateObject();
  cJSON_AddStringToObject(doc, "id", m->id);
  cJSON_AddStringToObject(doc, "channel", m->channel);
  cJSON_AddStringToObject(doc, "state", "queued");
  outbox_enqueue(&core->outbox, m); /* written in the open batch; reaches the plugin after its commit */
  return answer_after_commit(h, conn, rq, doc, "the replay could not be stored; retry later");
}

/* Commits what the requests of this turn applied, then lets their answers go: 200 once
 * durable, 503 when the commit failed (and nothing of theirs was kept). */
static void release_waiting(struct http *h)
{
  for (int round = 0; h->waiting && round < 8; round++) {
    core_settle(h->core);
    int rc = core_commit(h->core);
    struct req *rq = h->waiting;
    h->waiting = NULL;
    while (rq) {
      struct req *next = rq->next;
      if (rc < 0) {
        cJSON *doc = cJSON_CreateObject();
        cJSON *e = cJSON_AddObjectToObject(doc, "error");
        cJSON_AddStringToObject(e, "code", "store_unavailable");
        cJSON_AddStringToObject(e, "message", rq->unstored);
        free(rq->answer);
        rq->answer = cJSON_PrintUnformatted(doc);
        cJSON_Delete(doc);
        rq->status = MHD_HTTP_SERVICE_UNAVAILABLE;
      }
      rq->state = REQ_ANSWERED;
      rq->next = NULL;
      MHD_resume_connection(rq->conn);
      rq = next;
    }
    MHD_run(h->mhd); /* answers the resumed requests; may take in new ones */
  }
}

/* MHD would decode the %-escapes of the whole path before a route sees it, so a contact
 * id "a/b", sent as "a%2Fb", would arrive as two segments and never be found. The path is
 * kept as sent instead; each route splits it at '/' and decodes its segments with
 * decode_segment. (No route reads query arguments, which this leaves undecoded too.) */
static size_t keep_escapes(void *cls, struct MHD_Connection *conn, char *s)
{
  (void)cls;
  (void)conn;
  return strlen(s);
}

/* Decodes the %-escapes of one path segment s[0..len) into out (room for cap bytes and a
 * NUL). Returns the decoded length, which may count 0 bytes (a decoded %00: the caller
 * checks), or -1 for a bad escape or no room. */
static long decode_segment(const char *s, size_t len, char *out, size_t cap)
{
  size_t n = 0, one;
  for (size_t i = 0; i < len; i++, n++) {
    if (n == cap)
      return -1;
    if (s[i] != '%') {
      out[n] = s[i];
      continue;
    }
    if (len - i < 3 || sodium_hex2bin((unsigned char *)out + n, 1, s + i + 1, 2, NULL, &one, NULL) != 0 ||
        one != 1)
      return -1;
    i += 2;
  }
  out[n] = '\0';
  return (long)n;
}

/* GET /v1/contacts/{id}: `seg` is the id as sent, percent-encoded. An id no event could
 * have been accepted with (event_contact_problem) is a bad request, not an unknown contact. */
static enum MHD_Result get_contact(struct http *h, struct MHD_Connection *conn, const char *seg)
{
  char id[1024], msg[200];
  long len = decode_segment(seg, strlen(seg), id, sizeof id - 1);
  const char *why =
      len < 0 ? "has a bad %-escape, or is far too long" : event_contact_problem(id, (size_t)len);
  if (why) {
    snprintf(msg, sizeof msg, "the contact id in the path %s (percent-encode the id, RFC 3986)", why);
    return send_error(conn, MHD_HTTP_BAD_REQUEST, "bad_contact_id", msg, 0);
  }
  struct contact *ct = h->core->store->ops->contact_get(h->core->store, id);
  if (!ct)
    return send_error(conn, MHD_HTTP_NOT_FOUND, "not_found", "no such contact", 0);
  return send_json(conn, MHD_HTTP_OK, view_contact(h->core->store, ct));
}

/* "/v1/outbox/{id}/replay": 1 and the decoded id in `id`, 0 when the url is not that route
 * (an id too long to be one of ours, or holding a NUL, is not). */
static int replay_id(const char *url, char *id, size_t cap)
{
  static const char prefix[] = "/v1/outbox/", suffix[] = "/replay";
  size_t n = strlen(url), np = sizeof prefix - 1, ns = sizeof suffix - 1;
  if (n <= np + ns || strncmp(url, prefix, np) != 0 || strcmp(url + n - ns, suffix) != 0 ||
      memchr(url + np, '/', n - np - ns))
    return 0;
  long len = decode_segment(url + np, n - np - ns, id, cap - 1);
  return len > 0 && strlen(id) == (size_t)len;
}

static enum MHD_Result count_length(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
  (void)kind;
  (void)value;
  if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
    (*(int *)cls)++;
  return MHD_YES;
}

/* Two Content-Length headers are how requests are smuggled past a proxy that reads the
 * other one: such a request is refused, whatever the two say. */
static int content_length_repeated(struct MHD_Connection *conn)
{
  int n = 0;
  MHD_get_connection_values(conn, MHD_HEADER_KIND, count_length, &n);
  return n > 1;
}

static enum MHD_Result route(struct http *h, struct MHD_Connection *conn, const char *url,
                             const char *method, struct req *rq)
{
  /* HEAD is GET without the body: libmicrohttpd leaves the body out of a HEAD answer. */
  int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
  int post = strcmp(method, "POST") == 0;
  if (strcmp(url, "/v1/events") == 0)
    return post ? post_events(h, conn, rq)
                : send_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed", "use POST", 0);
  if (strncmp(url, "/v1/contacts/", 13) == 0 && url[13] && !strchr(url + 13, '/'))
    return get ? get_contact(h, conn, url + 13)
               : send_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed", "use GET", 0);
  char id[64];
  if (replay_id(url, id, sizeof id))
    return post ? post_replay(h, conn, rq, id)
                : send_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed", "use POST", 0);
  if (strcmp(url, "/healthz") == 0 && get)
    return send_text(conn, MHD_HTTP_OK, strdup("{\"status\":\"ok\"}"), "application/json");
  if (strcmp(url, "/metrics") == 0 && get) {
    char *text = view_metrics(h->core);
    return send_text(conn, MHD_HTTP_OK, text ? text : strdup(""), "text/plain; version=0.0.4");
  }
  return send_error(conn, MHD_HTTP_NOT_FOUND, "not_found", "no such endpoint", 0);
}

static int append(struct req *rq, const char *data, size_t n, size_t max)
{
  if (rq->too_big || rq->body.len + n > max) {
    rq->too_big = 1;
    return 0;
  }
  return buf_add(&rq->body, data, n);
}

/* MHD calls this first with no body (we set up the request, refusing an announced
 * over-size body at once), then once per body chunk, then a last time with none. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *data_size, void **con_cls)
{
  struct http *h = cls;
  struct req *rq = *con_cls;
  if (!rq) {
    if (!(rq = calloc(1, sizeof *rq)))
      return MHD_NO;
    *con_cls = rq;
    if (strcmp(version, MHD_HTTP_VERSION_1_1) == 0 &&
        !MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST))
      return send_error(conn, MHD_HTTP_BAD_REQUEST, "bad_request",
                        "an HTTP/1.1 request must carry a Host header", 0);
    if (content_length_repeated(conn))
      return send_error(conn, MHD_HTTP_BAD_REQUEST, "bad_request",
                        "more than one Content-Length header", 0);
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > h->core->cfg->max_body_bytes) {
      rq->too_big = 1;
      return post_events(h, conn, rq);
    }
    return MHD_YES;
  }
  if (*data_size) {
    if (append(rq, data, *data_size, h->core->cfg->max_body_bytes) < 0)
      return MHD_NO;
    *data_size = 0;
    return MHD_YES;
  }
  if (rq->state == REQ_ANSWERED) {
    char *answer = rq->answer;
    rq->answer = NULL;
    return send_text(conn, rq->status, answer, "application/json");
  }
  return route(h, conn, url, method, rq);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
  struct http *h = cls;
  struct req *rq = *con_cls;
  if (!rq)
    return;
  for (struct req **pp = &h->waiting; *pp; pp = &(*pp)->next) {
    if (*pp == rq) {
      *pp = rq->next;
      break;
    }
  }
  buf_free(&rq->body);
  free(rq->answer);
  free(rq);
  *con_cls = NULL;
}

static void rearm(struct http *h)
{
  MHD_UNSIGNED_LONG_LONG ms;
  ev_timer_stop(h->core->loop, &h->timer);
  if (h->waiting) { /* more than release_waiting's rounds: finish on the next turn */
    ev_timer_set(&h->timer, 0., 0.);
    ev_timer_start(h->core->loop, &h->timer);
  } else if (MHD_get_timeout(h->mhd, &ms) == MHD_YES) {
    ev_timer_set(&h->timer, (double)ms / 1000.0, 0.);
    ev_timer_start(h->core->loop, &h->timer);
  }
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
  struct http *h = w->data;
  MHD_run(h->mhd);
  release_waiting(h);
  rearm(h);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
  struct http *h = w->data;
  MHD_run(h->mhd);
  release_waiting(h);
  rearm(h);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
  struct http *h = cls;
  char buf[512];
  vsnprintf(buf, sizeof buf, fmt, ap);
  buf[strcspn(buf, "\n")] = '\0';
  log_kv(&h->core->log, LOG_WARN, "http", buf, (char *)NULL);
}

static int parse_addr(const char *addr, int port, struct sockaddr_storage *ss)
{
  memset(ss, 0, sizeof *ss);
  struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
  if (inet_pton(AF_INET, addr, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    return AF_INET;
  }
  if (inet_pton(AF_INET6, addr, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
    return AF_INET6;
  }
  return -1;
}

struct http *http_start(struct core *core, char *err, size_t errlen)
{
  struct sockaddr_storage ss;
  const struct cfg *cfg = core->cfg;
  int family = parse_addr(cfg->listen_address, cfg->listen_port, &ss);
  if (family < 0) {
    snprintf(err, errlen, "listen.address '%s' is not an IPv4 or IPv6 address", cfg->listen_address);
    return NULL;
  }
  struct http *h = calloc(1, sizeof *h);
  h->core = core;
  unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME |
                   (family == AF_INET6 ? MHD_USE_IPv6 : 0);
  h->mhd = MHD_start_daemon(flags, (uint16_t)cfg->listen_port, NULL, NULL, on_request, h,
                            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h, MHD_OPTION_SOCK_ADDR,
                            (struct sockaddr *)&ss, MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                            MHD_OPTION_UNESCAPE_CALLBACK, keep_escapes, NULL,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_CONNECTION_LIMIT,
                            (unsigned)4096, MHD_OPTION_END);
  if (!h->mhd) {
    snprintf(err, errlen, "cannot listen on %s port %d (in use, or not an address of this machine)",
             cfg->listen_address, cfg->listen_port);
    free(h);
    return NULL;
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT);
  h->port = info ? info->port : cfg->listen_port;
  info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
  ev_io_init(&h->io, on_io, info->epoll_fd, EV_READ);
  ev_timer_init(&h->timer, on_timer, 0., 0.);
  h->io.data = h->timer.data = h;
  ev_io_start(core->loop, &h->io);
  rearm(h);
  return h;
}

int http_port(const struct http *h)
{
  return h->port;
}

void http_stop(struct http *h)
{
  if (!h)
    return;
  ev_io_stop(h->core->loop, &h->io);
  ev_timer_stop(h->core->loop, &h->timer);
  if (h->waiting)
    release_waiting(h);
  MHD_stop_daemon(h->mhd);
  free(h);
}
