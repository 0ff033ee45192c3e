/* Inside the HTTP server: one connection, the server, and the floors it is built in, each
 * calling only those below: conn.c (a connection's primitives), reply.c (answers),
 * parse.c (the request, from http-parser's callbacks), server.c (listening, accepting,
 * reading, what follows an answer, deadlines). */
#ifndef PARLEY_HTTP_SERVER_INT_H
#define PARLEY_HTTP_SERVER_INT_H
#include <arpa/inet.h>
#include <http_parser.h>

#include "server.h"
#include "util.h"

/* A connection's life: IDLE between requests, HEADERS from a request's first byte, BODY
 * after its last header, HANDLING while a handler holds it (nothing is read), WRITING the
 * answer, LINGER after an answer that closes it (reading what the client still sends so
 * the answer is not lost to a reset), DEAD once closed (freed on the next loop turn). */
enum conn_phase { PH_IDLE, PH_HEADERS, PH_BODY, PH_HANDLING, PH_WRITING, PH_LINGER, PH_DEAD };

struct peer {
  unsigned char addr[16]; /* IPv4 as v4-mapped IPv6 */
  size_t count;
  struct peer *next;
};

struct conn {
  struct http_server *srv;
  int fd;
  ev_io rio, wio;
  ev_timer timer;
  enum conn_phase phase;
  struct peer *peer;
  char peer_text[INET6_ADDRSTRLEN];
  http_parser parser;
  struct buf in; /* read, not yet parsed from in_off */
  size_t in_off;
  int eof;       /* the client has closed its side */
  /* the request being read */
  struct buf url, hdrs, body; /* hdrs: name NUL value NUL, ... */
  int hdr_state;              /* 0 none yet, 1 in a name, 2 in a value */
  size_t n_headers;
  unsigned fail_status;       /* set by a callback that refuses the request */
  const char *fail_code, *fail_msg;
  char fail_buf[160];         /* fail_msg, when it names a number */
  int keep_alive;
  struct http_req req;
  /* the answer */
  struct buf extra; /* headers a route added */
  struct buf out;
  size_t out_off;
  int close_after;
  struct conn *prev, *next;
};

#define PEER_BUCKETS 1024

struct http_server {
  struct ev_loop *loop;
  const struct log *log;
  struct http_server_opts o;
  int fd, port;
  ev_io lio;
  ev_timer retry;  /* accepting again after running out of descriptors */
  ev_timer reaper; /* frees DEAD connections, outside any of their callbacks */
  http_request_fn *fn;
  void *ud;
  struct conn *conns, *dead;
  struct peer *peers[PEER_BUCKETS];
  struct http_server_stats st;
  http_parser_settings settings;
};

/* parse.c: the request; above reply.c. */
void http_parse_settings(http_parser_settings *s);
/* Forgets the last request; the parser waits for the next one. */
void http_parse_reset(struct conn *c);
/* Feeds what was read to the parser; dispatches a whole request, answers a bad one. */
void http_parse_input(struct conn *c);

/* conn.c: the bottom; calls nothing else here. */
/* The client address as a table key (IPv4 v4-mapped) and as text. */
void http_peer_key(const struct sockaddr_storage *ss, unsigned char key[16], char *text, size_t cap);
/* Where that address's entry is, or would go. */
struct peer **http_peer_slot(struct http_server *s, const unsigned char key[16]);
/* Arms the connection's deadline for its phase. */
void http_conn_phase(struct conn *c, enum conn_phase ph);
/* Closes now; the memory goes on the next loop turn (the reaper, http_conn_reap). */
void http_conn_retire(struct conn *c);
void http_conn_reap(struct ev_loop *loop, ev_timer *w, int revents);
/* Sends what is queued: 1 all out, 0 the rest waits for the socket, -1 retired. */
int http_conn_send(struct conn *c);

/* reply.c: answers; above conn.c. */
/* An answer that closes the connection: a protocol error, a timeout, a refusal. */
void http_conn_fail(struct conn *c, unsigned status, const char *code, const char *msg);
const char *http_status_reason(unsigned status);

#endif
