/* Answers: what a route sends (request.h) and what the server sends for a request it
 * refuses, in one shape: JSON (or the type a route names), a Content-Length, no caching
 * (answers hold personal data), and Connection: close when the connection ends with it. */
#include <assert.h>
#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "server_int.h"

const char *http_status_reason(unsigned status)
{
  switch (status) {
  case 100: return "Continue";
  case 200: return "OK";
  case 201: return "Created";
  case 202: return "Accepted";
  case 204: return "No Content";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 304: return "Not Modified";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 409: return "Conflict";
  case 413: return "Content Too Large";
  case 414: return "URI Too Long";
  case 415: return "Unsupported Media Type";
  case 417: return "Expectation Failed";
  case 422: return "Unprocessable Content";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 503: return "Service Unavailable";
  case 505: return "HTTP Version Not Supported";
  default: return "Unknown";
  }
}

const char *http_req_header(const struct http_req *rq, const char *name)
{
  const struct conn *c = rq->conn;
  if (!c->hdrs.p) /* no header at all */
    return NULL;
  for (const char *k = c->hdrs.p, *end = c->hdrs.p + c->hdrs.len; k < end;) {
    const char *v = k + strlen(k) + 1;
    if (strcasecmp(k, name) == 0)
      return v;
    k = v + strlen(v) + 1;
  }
  return NULL;
}

const char *http_req_header_next(const struct http_req *rq, const char *name, const char **value)
{
  const struct conn *c = rq->conn;
  const char *k = c->hdrs.p;
  if (name) { /* past its value */
    k = name + strlen(name) + 1;
    k += strlen(k) + 1;
  }
  if (k == NULL || k >= c->hdrs.p + c->hdrs.len)
    return NULL;
  *value = k + strlen(k) + 1;
  return k;
}

void http_reply_header(struct http_req *rq, const char *name, const char *value)
{
  struct conn *c = rq->conn;
  if (buf_add(&c->extra, name, strlen(name)) < 0 || buf_add(&c->extra, ": ", 2) < 0 ||
      buf_add(&c->extra, value, strlen(value)) < 0 || buf_add(&c->extra, "\r\n", 2) < 0)
    c->extra.len = 0; /* out of memory: the answer goes without it */
}

/* Queues status line, headers and (unless HEAD) body, then writes what the socket takes. */
static void send_answer(struct conn *c, unsigned status, const char *type, const char *body, size_t len)
{
  char head[512], date[64];
  time_t now = time(NULL);
  struct tm tm;
  strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", gmtime_r(&now, &tm));
  const char *conn_hdr = c->close_after ? "Connection: close\r\n"
                         : c->parser.http_minor == 0 ? "Connection: keep-alive\r\n"
                                                     : "";
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 %u %s\r\nDate: %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                   "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n%s",
                   status, http_status_reason(status), date, type, len, conn_hdr);
  c->out.len = 0;
  c->out_off = 0;
  if (buf_add(&c->out, head, (size_t)n) < 0 || buf_add(&c->out, c->extra.p ? c->extra.p : "", c->extra.len) < 0 ||
      buf_add(&c->out, "\r\n", 2) < 0 || (!c->req.head && buf_add(&c->out, body, len) < 0)) {
    http_conn_retire(c);
    return;
  }
  http_conn_phase(c, PH_WRITING);
  if (http_conn_send(c) == 1)
    ev_feed_event(c->srv->loop, &c->wio, EV_WRITE); /* the server's on_write takes it from here */
}

static char *error_text(const char *code, const char *message, size_t line)
{
  cJSON *doc = cJSON_CreateObject();
  cJSON *e = cJSON_AddObjectToObject(doc, "error");
  cJSON_AddStringToObject(e, "code", code);
  cJSON_AddStringToObject(e, "message", message);
  if (line)
    cJSON_AddNumberToObject(e, "line", (double)line);
  char *text = cJSON_PrintUnformatted(doc);
  cJSON_Delete(doc);
  return text;
}

void http_reply_bytes(struct http_req *rq, unsigned status, const char *type, const char *body, size_t len)
{
  struct conn *c = rq->conn;
  assert(c->phase == PH_HANDLING);
  assert(strlen(type) <= 200); /* the status line and the server's headers fit in 512 bytes */
  if (!c->keep_alive || c->eof)
    c->close_after = 1;
  send_answer(c, status, type, body, len);
}

void http_reply_text(struct http_req *rq, unsigned status, const char *type, char *text)
{
  http_reply_bytes(rq, status, type, text ? text : "", text ? strlen(text) : 0);
  free(text);
}

void http_reply_json(struct http_req *rq, unsigned status, cJSON *doc)
{
  char *text = cJSON_PrintUnformatted(doc);
  cJSON_Delete(doc);
  http_reply_text(rq, status, "application/json", text);
}

void http_reply_error(struct http_req *rq, unsigned status, const char *code, const char *message,
                      size_t line)
{
  http_reply_text(rq, status, "application/json", error_text(code, message, line));
}

void http_conn_fail(struct conn *c, unsigned status, const char *code, const char *msg)
{
  char *text = error_text(code, msg, 0);
  c->close_after = 1;
  c->extra.len = 0;
  c->req.head = 0;
  send_answer(c, status, "application/json", text ? text : "", text ? strlen(text) : 0);
  free(text);
}
