/* Private to the HTTP client of plugins (plugin_http.c, the requests' life; plugin_http_easy.c,
 * one request as a curl easy handle): what a parley_http really is. */
#ifndef PARLEY_PLUGIN_HTTP_INT_H
#define PARLEY_PLUGIN_HTTP_INT_H
#include <curl/curl.h>
#include <stddef.h>
#include <parley/plugin.h>

struct plugin_http;
struct plugin_inst;

#define PLUGIN_HTTP_TIMEOUT_MS 30000             /* a request's timeout_ms of 0 */
#define PLUGIN_HTTP_BODY_DEFAULT (1u << 20)      /* max_body_bytes of 0: 1 MiB */
#define PLUGIN_HTTP_BODY_MAX (64u << 20)         /* max_body_bytes beyond it count as this */
#define PLUGIN_HTTP_HEAD_BYTES (64u << 10)       /* a response's headers, all together */
#define PLUGIN_HTTP_HEAD_LINES 100

struct http_buf {
  char *data;
  size_t len, cap;
};

/* One request in flight; the plugin holds it as an opaque parley_http *. */
struct parley_http {
  struct plugin_http *eng;
  struct plugin_inst *pi;
  CURL *easy;
  struct curl_slist *out_headers;
  parley_http_cb cb;
  void *arg;
  size_t max_body;
  struct http_buf body;
  struct http_buf head;  /* the last response's headers: name NUL value NUL, n_head times */
  size_t n_head;
  const char *too_large; /* which cap the response passed, or NULL */
  int firing;            /* its callback is running: cancel is a no-op */
  char errbuf[CURL_ERROR_SIZE];
  struct parley_http *prev, *next; /* the instance's requests */
};

/* 0 when `req` can be sent, else -1 and why (for the log). */
int plugin_http_check(const struct parley_http_req *req, char *why, size_t len);
/* A curl easy handle for `req` in r->easy, with every option set and the response
 * collected into r. `h2`: libcurl speaks HTTP/2; `ca_file`: trusted besides the system's
 * store (NULL: none). 0, or -1 and why. */
int plugin_http_easy_setup(struct parley_http *r, const struct parley_http_req *req, int h2,
                           const char *ca_file, char *why, size_t len);
/* The plugin's view of the transfer that ended with `rc`: points into r and into `hdrs`
 * (room for PLUGIN_HTTP_HEAD_LINES), valid while both are. */
void plugin_http_response(struct parley_http *r, CURLcode rc, struct parley_http_header *hdrs,
                          struct parley_http_resp *out);
/* Frees the handle, the request's headers and the response's buffers (not r). */
void plugin_http_easy_free(struct parley_http *r);

#endif
