/* The HTTP API, served by libmicrohttpd on the core's libev loop (MHD's epoll fd watched by
 * an ev_io, its timeout by an ev_timer): no thread of its own, so handlers run on the same
 * loop as the state machine and need no locks.
 *   POST /v1/events          one JSON event, or NDJSON; all-or-nothing per request
 *   GET  /v1/contacts/{id}   a contact, its conversations and history
 *   POST /v1/outbox/{id}/replay  a dead letter queued again (409 when it is not dead)
 *   GET  /healthz            liveness
 *   GET  /metrics            Prometheus text */
#ifndef PARLEY_HTTP_H
#define PARLEY_HTTP_H
#include <stddef.h>

struct core;
struct http;

/* Binds cfg->listen_address:listen_port (port 0 picks one). Returns NULL with err. */
struct http *http_start(struct core *core, char *err, size_t errlen);
int http_port(const struct http *h);
void http_stop(struct http *h);

#endif
