/* One plugin HTTP request as a curl easy handle: the request checked (a plugin's mistake
 * is a refusal with a reason, never a header smuggled in by a stray CR LF), the handle's
 * options (TLS verification on, no redirects, http and https only, the timeout, the body
 * cap), the response collected within its caps, and curl's result told in the ABI's
 * words (enum parley_http_error). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "plugin_http_int.h"
#include "plugin_int.h"

/* RFC 9110's token: method and header names (plugin_int.h). */
int plugin_is_token(const char *s)
{
  if (s == NULL || *s == '\0')
    return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
          strchr("!#$%&'*+-.^_`|~", *s)))
      return 0;
  return 1;
}

/* No control character (CR and LF above all) in a header value or a URL (plugin_int.h). */
int plugin_is_clean(const char *s, int allow_space)
{
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if ((*p < 0x20 && !(allow_space && *p == '\t')) || *p == 0x7f || (!allow_space && *p == ' '))
      return 0;
  return 1;
}

static int why_not(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int why_not(char *why, size_t len, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, len, fmt, ap);
  va_end(ap);
  return -1;
}

int plugin_http_check(const struct parley_http_req *req, char *why, size_t len)
{
  if (req == NULL)
    return why_not(why, len, "no request given");
  if (req->size < offsetof(struct parley_http_req, max_body_bytes) + sizeof req->max_body_bytes)
    return why_not(why, len, "the request's size is too small for ABI 1.1");
  if (req->url == NULL)
    return why_not(why, len, "no url given");
  if (strncasecmp(req->url, "http://", 7) != 0 && strncasecmp(req->url, "https://", 8) != 0)
    return why_not(why, len, "the url must start with http:// or https://");
  if (!plugin_is_clean(req->url, 0))
    return why_not(why, len, "the url holds a space or a control character");
  if (req->method && !plugin_is_token(req->method))
    return why_not(why, len, "the method '%s' is not a token", req->method);
  if (req->n_headers && req->headers == NULL)
    return why_not(why, len, "n_headers is set but headers is NULL");
  for (size_t i = 0; i < req->n_headers; i++) {
    const struct parley_http_header *h = &req->headers[i];
    if (!plugin_is_token(h->name))
      return why_not(why, len, "the header name '%s' is not a token", h->name ? h->name : "(null)");
    if (h->value == NULL || !plugin_is_clean(h->value, 1))
      return why_not(why, len, "the value of header '%s' is missing or holds a control character",
                     h->name);
  }
  if (req->body_len && req->body == NULL)
    return why_not(why, len, "body_len is set but body is NULL");
  return 0;
}

/* --- collecting the response --- */

static int buf_add(struct http_buf *b, const char *data, size_t n, size_t limit)
{
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + n + 1)
      cap *= 2;
    if (cap > limit + 1)
      cap = limit + 1;
    char *d = realloc(b->data, cap);
    if (d == NULL)
      return -1;
    b->data = d;
    b->cap = cap;
  }
  memcpy(b->data + b->len, data, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
  struct parley_http *r = ud;
  if (r->body.len + n > r->max_body) {
    r->too_large = "the response body is larger than max_body_bytes";
    return 0; /* curl stops the transfer: CURLE_WRITE_ERROR */
  }
  return buf_add(&r->body, data, n, r->max_body) == 0 ? n : 0;
}

/* One header line. A status line starts a new response (after a 100 Continue, say), so
 * only the last response's headers are kept. */
static size_t on_header(char *line, size_t size, size_t n, void *ud)
{
  struct parley_http *r = ud;
  if (n >= 5 && memcmp(line, "HTTP/", 5) == 0) {
    r->head.len = 0;
    r->n_head = 0;
    return n;
  }
  const char *colon = memchr(line, ':', n);
  if (colon == NULL || colon == line)
    return n; /* the blank line that ends the headers, or no header at all */
  size_t nlen = (size_t)(colon - line);
  const char *v = colon + 1, *end = line + n;
  while (v < end && (*v == ' ' || *v == '\t'))
    v++;
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
    end--;
  if (r->n_head == PLUGIN_HTTP_HEAD_LINES || r->head.len + n + 2 > PLUGIN_HTTP_HEAD_BYTES) {
    r->too_large = "the response headers are too large";
    return 0;
  }
  if (buf_add(&r->head, line, nlen, PLUGIN_HTTP_HEAD_BYTES) < 0 ||
      buf_add(&r->head, "", 1, PLUGIN_HTTP_HEAD_BYTES) < 0 ||
      buf_add(&r->head, v, (size_t)(end - v), PLUGIN_HTTP_HEAD_BYTES) < 0 ||
      buf_add(&r->head, "", 1, PLUGIN_HTTP_HEAD_BYTES) < 0)
    return 0;
  r->n_head++;
  return n;
}

/* --- the handle --- */

static CURLcode set_headers(struct parley_http *r, const struct parley_http_req *req)
{
  for (size_t i = 0; i < req->n_headers; i++) {
    const struct parley_http_header *h = &req->headers[i];
    size_t n = strlen(h->name) + strlen(h->value) + 3;
    char *line = malloc(n);
    if (line == NULL)
      return CURLE_OUT_OF_MEMORY;
    /* "Name;" is curl's way to send a header with an empty value. */
    snprintf(line, n, h->value[0] ? "%s: %s" : "%s;", h->name, h->value);
    struct curl_slist *l = curl_slist_append(r->out_headers, line);
    free(line);
    if (l == NULL)
      return CURLE_OUT_OF_MEMORY;
    r->out_headers = l;
  }
  if (req->body_len) { /* no 100-continue round trip before the body */
    struct curl_slist *l = curl_slist_append(r->out_headers, "Expect:");
    if (l == NULL)
      return CURLE_OUT_OF_MEMORY;
    r->out_headers = l;
  }
  return r->out_headers ? curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->out_headers) : CURLE_OK;
}

/* GET and HEAD as curl knows them; any other method is sent as named, with the body
 * when there is one (POST always has one, if empty). */
static CURLcode set_method(struct parley_http *r, const struct parley_http_req *req)
{
  const char *m = req->method ? req->method : "GET";
  CURL *e = r->easy;
  CURLcode rc;
  if (strcmp(m, "HEAD") == 0)
    return curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  if (strcmp(m, "GET") == 0 && req->body_len == 0)
    return curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  if (strcmp(m, "POST") != 0 && (rc = curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m)) != CURLE_OK)
    return rc;
  if (req->body_len == 0 && strcmp(m, "POST") != 0)
    return CURLE_OK;
  /* Copied: the plugin's buffer may go when http_request returns. */
  if ((rc = curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len)) != CURLE_OK)
    return rc;
  return curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, req->body_len ? req->body : "");
}

/* libcurl (OpenSSL) trusts its CA bundle file and its CA folder. ca_file takes the
 * bundle's place while the folder, the system's certificates one file each on Debian, is
 * still searched: so ca_file adds to the system's store rather than replacing it. */
static CURLcode set_trust(CURL *e, const char *ca_file)
{
  if (ca_file == NULL)
    return CURLE_OK;
  const char *capath = curl_version_info(CURLVERSION_NOW)->capath;
  CURLcode rc = curl_easy_setopt(e, CURLOPT_CAINFO, ca_file);
  if (rc == CURLE_OK && capath)
    rc = curl_easy_setopt(e, CURLOPT_CAPATH, capath);
  return rc;
}

int plugin_http_easy_setup(struct parley_http *r, const struct parley_http_req *req, int h2,
                           const char *ca_file, char *why, size_t len)
{
  CURL *e = r->easy = curl_easy_init();
  if (e == NULL)
    return why_not(why, len, "out of memory");
  r->max_body = req->max_body_bytes == 0 ? PLUGIN_HTTP_BODY_DEFAULT
                : req->max_body_bytes > PLUGIN_HTTP_BODY_MAX ? PLUGIN_HTTP_BODY_MAX
                                                              : req->max_body_bytes;
  long timeout = req->timeout_ms ? (long)req->timeout_ms : PLUGIN_HTTP_TIMEOUT_MS;
  int https = strncasecmp(req->url, "https://", 8) == 0;
  CURLcode rc = CURLE_OK;
  /* Each setopt below can fail only for an unknown option or out of memory. */
#define SET(opt, val) if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val)
  SET(CURLOPT_URL, req->url);
#if LIBCURL_VERSION_NUM >= 0x075500
  SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
  SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  SET(CURLOPT_FOLLOWLOCATION, 0L);
  SET(CURLOPT_SSL_VERIFYPEER, 1L);
  SET(CURLOPT_SSL_VERIFYHOST, 2L);
  SET(CURLOPT_NOSIGNAL, 1L);
  SET(CURLOPT_TIMEOUT_MS, timeout);
  SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)r->max_body);
  SET(CURLOPT_ERRORBUFFER, r->errbuf);
  SET(CURLOPT_PRIVATE, r);
  SET(CURLOPT_WRITEFUNCTION, on_body);
  SET(CURLOPT_WRITEDATA, r);
  SET(CURLOPT_HEADERFUNCTION, on_header);
  SET(CURLOPT_HEADERDATA, r);
  SET(CURLOPT_USERAGENT, "parley/" PACKAGE_VERSION);
  if (h2) {
    SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    if (https) /* wait for a connection that may multiplex rather than open another */
      SET(CURLOPT_PIPEWAIT, 1L);
  }
#undef SET
  if (rc == CURLE_OK)
    rc = set_trust(e, ca_file);
  if (rc == CURLE_OK)
    rc = set_method(r, req);
  if (rc == CURLE_OK)
    rc = set_headers(r, req);
  if (rc != CURLE_OK)
    return why_not(why, len, "%s", curl_easy_strerror(rc));
  return 0;
}

/* --- the outcome --- */

static enum parley_http_error classify(CURLcode rc, const char *too_large)
{
  switch (rc) {
  case CURLE_OK: return PARLEY_HTTP_OK;
  case CURLE_OPERATION_TIMEDOUT: return PARLEY_HTTP_TIMEOUT;
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
  case CURLE_COULDNT_CONNECT: return PARLEY_HTTP_CONNECT;
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
  case CURLE_SSL_INVALIDCERTSTATUS: return PARLEY_HTTP_TLS;
  case CURLE_FILESIZE_EXCEEDED: return PARLEY_HTTP_TOO_LARGE;
  case CURLE_WRITE_ERROR: return too_large ? PARLEY_HTTP_TOO_LARGE : PARLEY_HTTP_FAILED;
  default: return PARLEY_HTTP_FAILED;
  }
}

void plugin_http_response(struct parley_http *r, CURLcode rc, struct parley_http_header *hdrs,
                          struct parley_http_resp *out)
{
  memset(out, 0, sizeof *out);
  out->size = sizeof *out;
  out->error = classify(rc, r->too_large);
  if (out->error != PARLEY_HTTP_OK) {
    out->error_text = out->error == PARLEY_HTTP_TOO_LARGE && r->too_large ? r->too_large
                      : rc == CURLE_FILESIZE_EXCEEDED ? "the response body is larger than max_body_bytes"
                      : r->errbuf[0]                  ? r->errbuf
                                                      : curl_easy_strerror(rc);
    out->body = "";
    return;
  }
  long status = 0;
  curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
  out->status = (int)status;
  const char *p = r->head.data;
  for (size_t i = 0; i < r->n_head; i++) {
    hdrs[i].name = p;
    p += strlen(p) + 1;
    hdrs[i].value = p;
    p += strlen(p) + 1;
  }
  out->headers = hdrs;
  out->n_headers = r->n_head;
  out->body = r->body.data ? r->body.data : "";
  out->body_len = r->body.len;
}

void plugin_http_easy_free(struct parley_http *r)
{
  if (r->easy)
    curl_easy_cleanup(r->easy);
  curl_slist_free_all(r->out_headers);
  free(r->body.data);
  free(r->head.data);
  r->easy = NULL;
  r->out_headers = NULL;
  r->body = r->head = (struct http_buf){0};
}
