/* One connection's primitives: its client address counted, its phase and deadline, what
 * it has to send, its close (see server_int.h). They call nothing above them: what comes
 * after an answer is the server's (on_write), reached through an event, not a call. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server_int.h"

#define LINGER_S 2.0

void http_peer_key(const struct sockaddr_storage *ss, unsigned char key[16], char *text, size_t cap)
{
  memset(key, 0, 16);
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *v4 = (const struct sockaddr_in *)ss;
    key[10] = key[11] = 0xff;
    memcpy(key + 12, &v4->sin_addr, 4);
    inet_ntop(AF_INET, &v4->sin_addr, text, (socklen_t)cap);
  } else {
    const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)ss;
    memcpy(key, &v6->sin6_addr, 16);
    inet_ntop(AF_INET6, &v6->sin6_addr, text, (socklen_t)cap);
  }
}

struct peer **http_peer_slot(struct http_server *s, const unsigned char key[16])
{
  uint32_t h = 2166136261u;
  for (int i = 0; i < 16; i++)
    h = (h ^ key[i]) * 16777619u;
  struct peer **pp = &s->peers[h % PEER_BUCKETS];
  while (*pp && memcmp((*pp)->addr, key, 16) != 0)
    pp = &(*pp)->next;
  return pp;
}

static void peer_release(struct http_server *s, struct peer *p)
{
  if (--p->count)
    return;
  struct peer **pp = http_peer_slot(s, p->addr);
  *pp = p->next;
  free(p);
}

void http_conn_phase(struct conn *c, enum conn_phase ph)
{
  const struct http_server_opts *o = &c->srv->o;
  c->phase = ph;
  ev_timer_stop(c->srv->loop, &c->timer);
  double after = ph == PH_IDLE      ? (double)o->idle_timeout_ms / 1000.0
                 : ph == PH_HEADERS ? (double)o->header_timeout_ms / 1000.0
                 : ph == PH_BODY || ph == PH_WRITING ? (double)o->body_timeout_ms / 1000.0
                 : ph == PH_LINGER  ? LINGER_S
                                    : 0.;
  if (after > 0) {
    ev_timer_set(&c->timer, after, 0.);
    ev_timer_start(c->srv->loop, &c->timer);
  }
}

void http_conn_retire(struct conn *c)
{
  struct http_server *s = c->srv;
  if (c->phase == PH_DEAD)
    return;
  c->phase = PH_DEAD;
  ev_io_stop(s->loop, &c->rio);
  ev_io_stop(s->loop, &c->wio);
  ev_timer_stop(s->loop, &c->timer);
  close(c->fd);
  peer_release(s, c->peer);
  *(c->prev ? &c->prev->next : &s->conns) = c->next;
  if (c->next)
    c->next->prev = c->prev;
  c->next = s->dead;
  s->dead = c;
  s->st.open--;
  ev_timer_start(s->loop, &s->reaper);
}

static void conn_free(struct conn *c)
{
  buf_free(&c->in);
  buf_free(&c->url);
  buf_free(&c->hdrs);
  buf_free(&c->body);
  buf_free(&c->extra);
  buf_free(&c->out);
  free(c);
}

void http_conn_reap(struct ev_loop *loop, ev_timer *w, int revents)
{
  struct http_server *s = w->data;
  while (s->dead) {
    struct conn *c = s->dead;
    s->dead = c->next;
    conn_free(c);
  }
}

/* Sends what is queued. Returns 1 when all is out, 0 when the rest waits for the socket
 * (on_write goes on), -1 when the connection died (retired). */
int http_conn_send(struct conn *c)
{
  struct ev_loop *loop = c->srv->loop;
  while (c->out_off < c->out.len) {
    ssize_t n = send(c->fd, c->out.p + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
    if (n > 0) {
      c->out_off += (size_t)n;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      ev_io_start(loop, &c->wio);
      return 0;
    } else {
      http_conn_retire(c);
      return -1;
    }
  }
  ev_io_stop(loop, &c->wio);
  return 1;
}
