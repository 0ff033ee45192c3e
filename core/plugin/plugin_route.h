/* Inbound HTTP routes of plugin instances (ABI 1.1: route_add, route_answer,
 * route_header): what the HTTP server needs to hand a request under
 * /v1/channels/<channel>/ to the instance serving that channel and take its answer back.
 * The routes themselves are registered by plugins and live on their instance
 * (plugin_route.c). */
#ifndef PARLEY_PLUGIN_ROUTE_H
#define PARLEY_PLUGIN_ROUTE_H
#include <stddef.h>
#include <parley/plugin.h>

struct plugin_inst;

/* What a handler answered, copied out of the plugin. With `failed` set, the handler gave
 * no answer that can be sent (the reason is logged, naming the plugin and the route):
 * the server answers 500 in JSON instead, and nothing else here is set. */
struct plugin_route_answer {
  int failed;
  int status;      /* 200..599 */
  char *type;      /* the Content-Type */
  char *headers;   /* n_headers pairs, each name NUL value NUL */
  size_t n_headers;
  char *body;      /* body_len bytes */
  size_t body_len;
};

enum plugin_route_found {
  PLUGIN_ROUTE_SERVED = 0,       /* the handler ran: see the answer */
  PLUGIN_ROUTE_NO_PATH = 1,      /* the instance has no route with that path (404) */
  PLUGIN_ROUTE_OTHER_METHOD = 2  /* it has the path with other methods only (405, Allow) */
};

/* Serves `req` (its method and its path below the channel's prefix; the host fills in
 * `size` and `channel`) with the route of `pi` that matches, inside the instance's
 * callback guard. For PLUGIN_ROUTE_OTHER_METHOD, `allow` holds the methods the path
 * answers to ("GET, HEAD, POST"). An instance that is closing has no routes. */
enum plugin_route_found plugin_route_serve(struct plugin_inst *pi, struct parley_route_req *req,
                                           struct plugin_route_answer *answer, char *allow,
                                           size_t allow_cap);
/* Frees what an answer holds. */
void plugin_route_answer_free(struct plugin_route_answer *answer);

#endif
