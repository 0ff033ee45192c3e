/* A request, from http-parser's callbacks: its limits are checked as it arrives (URL,
 * header bytes and count, body), and what HTTP/1.1 requires of it once its headers are
 * in (Host, one Content-Length, a version we speak, a known Expect). */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "server_int.h"

#define MAX_URL_BYTES 8192
#define MAX_HEADER_BYTES 16384 /* names and values together */
#define MAX_HEADERS 100

static struct conn *conn_of(http_parser *p)
{
  return p->data;
}

/* Refuses the request from inside a callback: http-parser stops with HPE_CB_*, and
 * http_parse_input answers with this status. */
static int refuse(struct conn *c, unsigned status, const char *code, const char *msg)
{
  c->fail_status = status;
  c->fail_code = code;
  c->fail_msg = msg;
  return 1;
}

static int refuse_big(struct conn *c)
{
  snprintf(c->fail_buf, sizeof c->fail_buf, "the body is larger than %zu bytes (limits.body_bytes)",
           c->srv->o.max_body_bytes);
  return refuse(c, 413, "body_too_large", c->fail_buf);
}

static int on_begin(http_parser *p)
{
  struct conn *c = conn_of(p);
  http_conn_phase(c, PH_HEADERS); /* the header deadline runs from the first byte */
  return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
  struct conn *c = conn_of(p);
  if (c->url.len + n > MAX_URL_BYTES)
    return refuse(c, 414, "uri_too_long", "the request target is longer than 8192 bytes");
  return buf_add(&c->url, at, n) < 0 ? refuse(c, 503, "out_of_memory", "out of memory") : 0;
}

static int header_bytes(struct conn *c, const char *at, size_t n)
{
  if (c->hdrs.len + n > MAX_HEADER_BYTES)
    return refuse(c, 431, "headers_too_large", "the request's headers are larger than 16384 bytes");
  return buf_add(&c->hdrs, at, n) < 0 ? refuse(c, 503, "out_of_memory", "out of memory") : 0;
}

/* A name or value may come in pieces; a NUL closes each, so hdrs reads name, value, ... */
static int on_field(http_parser *p, const char *at, size_t n)
{
  struct conn *c = conn_of(p);
  if (c->hdr_state != 1) {
    if (c->hdr_state == 2 && header_bytes(c, "", 1))
      return 1;
    if (++c->n_headers > MAX_HEADERS)
      return refuse(c, 431, "headers_too_large", "the request has more than 100 headers");
    c->hdr_state = 1;
  }
  return header_bytes(c, at, n);
}

static int on_value(http_parser *p, const char *at, size_t n)
{
  struct conn *c = conn_of(p);
  if (c->hdr_state == 1 && header_bytes(c, "", 1))
    return 1;
  c->hdr_state = 2;
  return header_bytes(c, at, n);
}

static size_t header_count(const struct conn *c, const char *name)
{
  size_t n = 0;
  if (!c->hdrs.p) /* no header at all */
    return 0;
  for (const char *k = c->hdrs.p, *end = c->hdrs.p + c->hdrs.len; k < end;) {
    const char *v = k + strlen(k) + 1;
    n += strcasecmp(k, name) == 0;
    k = v + strlen(v) + 1;
  }
  return n;
}

/* What HTTP/1.1 asks of a request beyond its syntax, checked before any of its body is
 * read: an over-size body is refused before it is sent (with Expect: 100-continue) or
 * read. */
static int check_headers(struct conn *c)
{
  http_parser *p = &c->parser;
  if (p->http_major != 1)
    return refuse(c, 505, "http_version_not_supported", "only HTTP/1.0 and HTTP/1.1 are spoken here");
  size_t hosts = header_count(c, "Host");
  if (p->http_minor == 1 && hosts == 0)
    return refuse(c, 400, "bad_request", "an HTTP/1.1 request must carry a Host header");
  if (hosts > 1)
    return refuse(c, 400, "bad_request", "more than one Host header");
  if (header_count(c, "Content-Length") > 1)
    return refuse(c, 400, "bad_request", "more than one Content-Length header");
  if (p->content_length != ULLONG_MAX && p->content_length > c->srv->o.max_body_bytes)
    return refuse_big(c);
  const char *expect = http_req_header(&c->req, "Expect");
  if (expect && strcasecmp(expect, "100-continue") != 0)
    return refuse(c, 417, "expectation_failed", "the only Expect understood is 100-continue");
  if (expect && p->http_minor == 1) {
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    (void)!send(c->fd, cont, sizeof cont - 1, MSG_NOSIGNAL); /* small: fits a fresh socket buffer */
  }
  return 0;
}

/* http-parser reads 0 as "go on", 1 and 2 as "no body follows"; anything else stops it
 * with HPE_CB_headers_complete. */
#define HEADERS_REFUSED (-1)

static int on_headers_complete(http_parser *p)
{
  struct conn *c = conn_of(p);
  /* close the last header: a name without a value gets an empty one */
  if ((c->hdr_state == 1 && header_bytes(c, "", 1)) || (c->hdr_state && header_bytes(c, "", 1)))
    return HEADERS_REFUSED;
  c->hdr_state = 0;
  c->req.conn = c; /* http_req_header reads hdrs through it */
  if (check_headers(c))
    return HEADERS_REFUSED;
  http_conn_phase(c, PH_BODY); /* the body deadline runs from the last header */
  return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
  struct conn *c = conn_of(p);
  if (c->body.len + n > c->srv->o.max_body_bytes)
    return refuse_big(c);
  return buf_add(&c->body, at, n) < 0 ? refuse(c, 503, "out_of_memory", "out of memory") : 0;
}

/* A whole request: the parser pauses here so that the next request on the connection
 * (pipelined) waits until this one is answered. */
static int on_complete(http_parser *p)
{
  struct conn *c = conn_of(p);
  c->keep_alive = http_should_keep_alive(p);
  http_parser_pause(p, 1);
  return 0;
}

void http_parse_settings(http_parser_settings *s)
{
  memset(s, 0, sizeof *s);
  s->on_message_begin = on_begin;
  s->on_url = on_url;
  s->on_header_field = on_field;
  s->on_header_value = on_value;
  s->on_headers_complete = on_headers_complete;
  s->on_body = on_body;
  s->on_message_complete = on_complete;
}

void http_parse_reset(struct conn *c)
{
  c->url.len = c->hdrs.len = c->body.len = c->extra.len = 0;
  c->hdr_state = 0;
  c->n_headers = 0;
  c->fail_status = 0;
  memset(&c->req, 0, sizeof c->req);
  c->req.conn = c;
  c->req.peer = c->peer_text;
  if (HTTP_PARSER_ERRNO(&c->parser) == HPE_PAUSED)
    http_parser_pause(&c->parser, 0);
}

/* The request as a route sees it: the path apart from the query, HEAD as GET. */
static void dispatch(struct conn *c)
{
  struct http_req *rq = &c->req;
  static const char empty[] = "";
  if (buf_add(&c->url, "", 0) < 0 || buf_add(&c->body, "", 0) < 0) {
    http_conn_fail(c, 503, "out_of_memory", "out of memory");
    return;
  }
  char *q = strchr(c->url.p, '?');
  if (q)
    *q++ = '\0';
  rq->path = c->url.p;
  rq->query = q ? q : empty;
  rq->head = c->parser.method == HTTP_HEAD;
  rq->method = rq->head ? "GET" : http_method_str((enum http_method)c->parser.method);
  rq->body = c->body.p;
  rq->body_len = c->body.len;
  rq->peer = c->peer_text;
  rq->conn = c;
  if (rq->path[0] != '/') {
    http_conn_fail(c, 400, "bad_request", "the request target must be a path starting with '/'");
    return;
  }
  http_conn_phase(c, PH_HANDLING);
  c->srv->st.requests++;
  c->srv->fn(c->srv->ud, rq);
}

/* The answer to what http-parser refused, by its error. */
static void refuse_syntax(struct conn *c, enum http_errno e)
{
  char msg[160];
  c->srv->st.protocol_errors++;
  if (c->fail_status) {
    http_conn_fail(c, c->fail_status, c->fail_code, c->fail_msg);
    return;
  }
  if (e == HPE_INVALID_METHOD) {
    http_conn_fail(c, 501, "not_implemented", "unknown request method");
    return;
  }
  if (e == HPE_INVALID_VERSION) {
    http_conn_fail(c, 505, "http_version_not_supported", "only HTTP/1.0 and HTTP/1.1 are spoken here");
    return;
  }
  if (e == HPE_UNEXPECTED_CONTENT_LENGTH) {
    http_conn_fail(c, 400, "bad_request",
                   "more than one Content-Length header, or one beside Transfer-Encoding: chunked");
    return;
  }
  if (e == HPE_HEADER_OVERFLOW) {
    http_conn_fail(c, 431, "headers_too_large", "the request's headers are too large");
    return;
  }
  snprintf(msg, sizeof msg, "malformed request: %s", http_errno_description(e));
  http_conn_fail(c, 400, "bad_request", msg);
}

void http_parse_input(struct conn *c)
{
  while (c->phase <= PH_BODY && c->in_off < c->in.len) {
    size_t n = http_parser_execute(&c->parser, &c->srv->settings, c->in.p + c->in_off,
                                   c->in.len - c->in_off);
    c->in_off += n;
    enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
    if (e == HPE_PAUSED) {
      dispatch(c);
      return;
    }
    if (e != HPE_OK) {
      refuse_syntax(c, e);
      return;
    }
  }
}
