/* libFuzzer target: the HTTP server's request side (parse.c, reply.c, conn.c) on bytes
 * from a client, in pieces as they might arrive. Whatever comes, every answer the server
 * writes is whole: a status line, a Content-Length that matches its body, a JSON body;
 * and one connection never takes more than one answer per request it sent. The handler
 * answers every request at once (keep-alive goes on to the next, pipelined). */
#define _GNU_SOURCE /* memmem */
#include <ev.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cJSON.h>

#include "http/server_int.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void answer(void *ud, struct http_req *rq)
{
  (void)ud;
  http_reply_text(rq, 200, "application/json", strdup("{\"ok\":true}"));
}

/* What server.c's on_write does once an answer is out: the next request, or the end. */
static void on_write(struct ev_loop *loop, ev_io *w, int revents)
{
  struct conn *c = w->data;
  if (c->phase != PH_WRITING || http_conn_send(c) != 1)
    return;
  c->out.len = c->out_off = 0;
  if (c->close_after) {
    c->phase = PH_LINGER;
    return;
  }
  http_parse_reset(c);
  http_conn_phase(c, PH_IDLE);
  http_parse_input(c);
}

static void on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
  http_conn_retire(w->data);
}

/* Checks the answers in out[0..len): each whole, each body JSON. Aborts otherwise. */
static void check_answers(const char *out, size_t len)
{
  const char *p = out, *end = out + len;
  while (p < end) {
    unsigned status;
    if (end - p < 12 || sscanf(p, "HTTP/1.1 %3u ", &status) != 1 || status < 100)
      abort();
    const char *head_end = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
    if (status == 100 && head_end) { /* 100 Continue: no body, the answer follows */
      p = head_end + 4;
      continue;
    }
    const char *cl = memmem(p, (size_t)(end - p), "Content-Length: ", 16);
    if (!head_end || !cl || cl > head_end)
      abort();
    size_t n = strtoul(cl + 16, NULL, 10);
    const char *body = head_end + 4;
    if (body == end || (end - body >= 9 && memcmp(body, "HTTP/1.1 ", 9) == 0)) {
      p = body; /* an answer to HEAD: the length of the body it would have had, no body */
      continue;
    }
    if ((size_t)(end - body) < n)
      abort();
    cJSON *doc = cJSON_ParseWithLength(body, n);
    if (!doc)
      abort();
    cJSON_Delete(doc);
    p = body + n;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
    return 0;
  struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
  struct log lg = {.min = LOG_ERROR + 1};
  struct http_server srv = {.loop = loop, .log = &lg, .fn = answer};
  srv.o = (struct http_server_opts){.max_connections = 8, .max_connections_per_address = 8,
                                    .header_timeout_ms = 1000, .body_timeout_ms = 1000,
                                    .idle_timeout_ms = 1000, .max_body_bytes = 4096};
  http_parse_settings(&srv.settings);
  ev_timer_init(&srv.reaper, http_conn_reap, 0., 0.);
  srv.reaper.data = &srv;
  struct peer *peer = calloc(1, sizeof *peer);
  struct conn *c = calloc(1, sizeof *c);
  peer->count = 1;
  c->srv = &srv;
  c->fd = sv[0];
  c->peer = peer;
  *http_peer_slot(&srv, peer->addr) = peer; /* where closing the connection looks for it */
  srv.conns = c;
  srv.st.open = 1;
  http_parser_init(&c->parser, HTTP_REQUEST);
  c->parser.data = c;
  ev_io_init(&c->wio, on_write, sv[0], EV_WRITE);
  ev_timer_init(&c->timer, on_deadline, 0., 0.);
  c->timer.data = c;
  c->wio.data = c;
  http_parse_reset(c);
  /* the input arrives in pieces: the first byte says how large each is */
  size_t piece = size ? (size_t)data[0] % 64 + 1 : 1;
  for (size_t off = size ? 1 : 0; off < size && c->phase <= PH_BODY; off += piece) {
    size_t n = size - off < piece ? size - off : piece;
    buf_add(&c->in, data + off, n);
    http_parse_input(c);
    for (int i = 0; i < 4 && c->phase != PH_DEAD; i++)
      ev_run(loop, EVRUN_NOWAIT);
  }
  if (c->phase != PH_DEAD)
    http_conn_retire(c);
  ev_run(loop, EVRUN_NOWAIT);
  http_conn_reap(loop, &srv.reaper, 0);
  char out[1 << 16];
  ssize_t got = recv(sv[1], out, sizeof out - 1, MSG_DONTWAIT);
  out[got > 0 ? got : 0] = '\0'; /* strtoul stops here at the latest */
  close(sv[1]);
  ev_loop_destroy(loop);
  check_answers(out, got > 0 ? (size_t)got : 0);
  return 0;
}
