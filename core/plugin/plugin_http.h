/* The HTTP client plugins share (ABI 1.1: http_request, http_cancel, http_header): one per
 * core, on the core's loop, libcurl's multi interface underneath (plugin_curlev.c), so the
 * instances of every plugin reuse the same connections. A request belongs to the instance
 * that made it and ends with it (plugin_http.c). */
#ifndef PARLEY_PLUGIN_HTTP_H
#define PARLEY_PLUGIN_HTTP_H

struct ev_loop;
struct log;
struct plugin_http;

/* A client on `loop`, logging through `log`, trusting the certificates of the PEM file
 * `ca_file` (copied; NULL: none) besides the system's store; NULL when out of memory.
 * curl itself is set up at the first request, so a core whose plugins never ask pays
 * nothing. */
struct plugin_http *plugin_http_open(struct ev_loop *loop, const struct log *log, const char *ca_file);
/* Once every instance that could use it is closed (their requests went with them). */
void plugin_http_close(struct plugin_http *http);

#endif
