/* Parley's HTTP/1.1 server on the core's libev loop. Requests are parsed with
 * http-parser (Debian's libhttp-parser); connections, limits and deadlines are ours, so
 * that every answer is JSON (protocol errors included) and no client can hold the server:
 * a connection limit per client address and in all, an absolute deadline for a request's
 * headers and one for its body (counted from their first byte, never reset by a byte),
 * and an idle timeout between requests. A whole request, checked, goes to the handler;
 * the connection reads nothing more until the handler has answered (request.h). */
#ifndef PARLEY_HTTP_SERVER_H
#define PARLEY_HTTP_SERVER_H
#include <ev.h>
#include <stddef.h>
#include <stdint.h>

#include "request.h"

struct log;
struct http_server;

struct http_server_opts {
  const char *address; /* IPv4 or IPv6 literal */
  int port;            /* 0: any free port */
  size_t max_connections, max_connections_per_address;
  int64_t header_timeout_ms, body_timeout_ms, idle_timeout_ms;
  size_t max_body_bytes;
};

/* Called once per whole request; answers with http_reply_*, now or later. */
typedef void http_request_fn(void *ud, struct http_req *rq);

/* What the server has seen, for /metrics. */
struct http_server_stats {
  uint64_t accepted, open, refused_per_address, refused_total, timed_out, protocol_errors, requests;
};

struct http_server *http_server_start(struct ev_loop *loop, const struct http_server_opts *o,
                                      const struct log *log, http_request_fn *fn, void *ud, char *err,
                                      size_t errlen);
int http_server_port(const struct http_server *s);
const struct http_server_stats *http_server_stats(const struct http_server *s);
/* Closes every connection (a request still held by its handler is answered first by the
 * caller) and the listening socket. */
void http_server_stop(struct http_server *s);

#endif
