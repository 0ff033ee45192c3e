/* The route table: which handler answers which method and path, and the scope a token
 * needs for it. */
#ifndef PARLEY_HTTP_ROUTES_H
#define PARLEY_HTTP_ROUTES_H

struct api;
struct http_req;

/* Finds the route (404 or 405 when none), checks the caller's token, decodes the path's
 * '*' segments and calls the handler. */
void routes_dispatch(struct api *api, struct http_req *rq);

#endif
