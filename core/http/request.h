/* One HTTP request as a route sees it, and the ways to answer it. The server (server.c)
 * reads and checks the request line, headers and body before a route runs; a route
 * answers with one of the http_reply_* calls, at once or later (after a commit): until it
 * answers, the connection reads nothing more. Every answer is JSON unless the route asks
 * for another type (/metrics). */
#ifndef PARLEY_HTTP_REQUEST_H
#define PARLEY_HTTP_REQUEST_H
#include <stddef.h>

typedef struct cJSON cJSON;

struct http_req {
  const char *method; /* "GET", "POST", ...; HEAD arrives as "GET" with head set */
  int head;           /* answer as GET, without the body */
  const char *path;   /* as sent, %-escapes kept; the query cut off */
  const char *query;  /* after '?', undecoded; "" when none */
  const char *body;   /* NUL-terminated copy; body_len bytes (may hold NULs) */
  size_t body_len;
  const char *peer;   /* the client's address, as text */
  void *conn;         /* the server's; routes do not touch it */
  void *route_data;   /* the route's, for an answer given later */
};

/* A request header (case-insensitive name); NULL when absent. */
const char *http_req_header(const struct http_req *rq, const char *name);
/* The request's headers in order: the first when `name` is NULL, else the one after
 * `name` (a pointer this function returned). Returns its name and sets *value; NULL
 * after the last. */
const char *http_req_header_next(const struct http_req *rq, const char *name, const char **value);

/* Adds a header to the answer about to be given (Allow, WWW-Authenticate, Location). */
void http_reply_header(struct http_req *rq, const char *name, const char *value);
/* Answers with `doc` (taken: freed here). */
void http_reply_json(struct http_req *rq, unsigned status, cJSON *doc);
/* Answers with `text` (taken) of the given Content-Type. */
void http_reply_text(struct http_req *rq, unsigned status, const char *type, char *text);
/* Answers with `len` bytes of `body` (copied; NULs allowed) of the given Content-Type (at
 * most 200 bytes). */
void http_reply_bytes(struct http_req *rq, unsigned status, const char *type, const char *body, size_t len);
/* The one error shape: {"error": {"code": ..., "message": ..., "line": N}} (line when > 0:
 * the NDJSON line at fault). */
void http_reply_error(struct http_req *rq, unsigned status, const char *code, const char *message,
                      size_t line);

/* Decodes the %-escapes of one path segment s[0..len) into out (room for cap bytes and a
 * NUL). Returns the decoded length (a decoded %00 counts: the caller checks), or -1 for a
 * bad escape or no room. */
long http_decode_segment(const char *s, size_t len, char *out, size_t cap);

#endif
