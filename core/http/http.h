/* The HTTP API: Parley's own HTTP/1.1 server (server.h) on the core's libev loop, the
 * routes (routes.c) and the group commit that holds a writing request's answer until its
 * batch is durable. No thread of its own: handlers run on the loop of the state machine
 * and need no locks. The routes are listed in routes.c and in the README. */
#ifndef PARLEY_HTTP_H
#define PARLEY_HTTP_H
#include <stddef.h>

struct core;
struct http;

/* Binds cfg->listen_address:listen_port (port 0 picks one). Returns NULL with err. */
struct http *http_start(struct core *core, char *err, size_t errlen);
int http_port(const struct http *h);
/* Answers what waits on a commit, then closes every connection. */
void http_stop(struct http *h);

#endif
