/* The listening socket, connections and their deadlines, and the limits on how many a
 * client may hold (see server.h). */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "server_int.h"

#define READ_CHUNK 16384

/* ---- connections ---- */

/* The answer is out. A closing answer lingers: the client may still be sending (a body
 * refused unread), and closing with unread data would reset the connection and lose the
 * answer on its way. Otherwise the next request, perhaps already read. */
static void conn_written(struct conn *c)
{
  struct ev_loop *loop = c->srv->loop;
  if (c->close_after) {
    shutdown(c->fd, SHUT_WR);
    http_conn_phase(c, PH_LINGER);
    ev_io_start(loop, &c->rio);
    return;
  }
  http_parse_reset(c);
  http_conn_phase(c, PH_IDLE);
  ev_io_start(loop, &c->rio);
  if (c->in_off < c->in.len)
    ev_feed_event(loop, &c->rio, EV_READ); /* a pipelined request: parsed on this turn */
}

/* Reads what is there (a few chunks at most, so one client cannot hog the turn). Returns
 * -1 on a read error (the connection is retired). */
static int read_some(struct conn *c)
{
  if (c->in_off == c->in.len)
    c->in.len = c->in_off = 0;
  for (int i = 0; i < 4 && !c->eof; i++) {
    char chunk[READ_CHUNK];
    ssize_t n = recv(c->fd, chunk, sizeof chunk, 0);
    if (n > 0 && c->phase != PH_LINGER && buf_add(&c->in, chunk, (size_t)n) < 0)
      n = -1, errno = ENOMEM;
    if (n == 0)
      c->eof = 1;
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      break;
    if (n < 0) {
      http_conn_retire(c);
      return -1;
    }
    if ((size_t)n < sizeof chunk)
      break;
  }
  return 0;
}

static void on_read(struct ev_loop *loop, ev_io *w, int revents)
{
  struct conn *c = w->data;
  if (read_some(c) < 0)
    return;
  if (c->phase == PH_LINGER) {
    if (c->eof)
      http_conn_retire(c);
    return;
  }
  http_parse_input(c);
  if (c->phase == PH_DEAD)
    return;
  if (c->phase >= PH_HANDLING) {
    ev_io_stop(loop, &c->rio); /* nothing more until this request is answered */
    return;
  }
  if (c->eof) /* closed between requests, or in the middle of one: no one to answer */
    http_conn_retire(c);
}

/* The answer is being written; once all of it is out, what follows it. */
static void on_write(struct ev_loop *loop, ev_io *w, int revents)
{
  struct conn *c = w->data;
  if (c->phase == PH_WRITING && http_conn_send(c) == 1) {
    c->out.len = c->out_off = 0;
    conn_written(c);
  }
}

static void on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
  struct conn *c = w->data;
  if (c->phase == PH_HEADERS || c->phase == PH_BODY) {
    c->srv->st.timed_out++;
    http_conn_fail(c, 408, "request_timeout",
                   c->phase == PH_HEADERS ? "the request's headers did not arrive in time (http.header_timeout)"
                                          : "the request's body did not arrive in time (http.body_timeout)");
    return;
  }
  if (c->phase == PH_WRITING)
    c->srv->st.timed_out++;
  http_conn_retire(c); /* idle, a client not reading its answer, or done lingering */
}

/* ---- accepting ---- */

/* A connection over a limit gets its answer at once and is closed: the answer is small
 * enough for a new socket's buffer, so nothing waits on this client. */
static void refuse_conn(int fd, unsigned status, const char *code, const char *msg)
{
  char body[256], text[640];
  snprintf(body, sizeof body, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}", code, msg);
  int n = snprintf(text, sizeof text,
                   "HTTP/1.1 %u %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                   "Connection: close\r\n\r\n%s",
                   status, http_status_reason(status), strlen(body), body);
  (void)!send(fd, text, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
  shutdown(fd, SHUT_WR);
  close(fd);
}

static void admit(struct http_server *s, int fd, const struct sockaddr_storage *ss)
{
  unsigned char key[16];
  char text[INET6_ADDRSTRLEN] = "";
  http_peer_key(ss, key, text, sizeof text);
  struct peer **pp = http_peer_slot(s, key);
  if (s->st.open >= s->o.max_connections) {
    s->st.refused_total++;
    refuse_conn(fd, 503, "server_busy", "too many open connections; retry later");
    return;
  }
  if (*pp && (*pp)->count >= s->o.max_connections_per_address) {
    s->st.refused_per_address++;
    refuse_conn(fd, 429, "too_many_connections",
                "too many open connections from this address (http.max_connections_per_address)");
    return;
  }
  struct conn *c = calloc(1, sizeof *c);
  if (!c || (!*pp && !(*pp = calloc(1, sizeof **pp)))) {
    free(c);
    refuse_conn(fd, 503, "out_of_memory", "out of memory");
    return;
  }
  memcpy((*pp)->addr, key, 16);
  (*pp)->count++;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c->srv = s;
  c->fd = fd;
  c->peer = *pp;
  memcpy(c->peer_text, text, sizeof text);
  http_parser_init(&c->parser, HTTP_REQUEST);
  c->parser.data = c;
  ev_io_init(&c->rio, on_read, fd, EV_READ);
  ev_io_init(&c->wio, on_write, fd, EV_WRITE);
  ev_timer_init(&c->timer, on_deadline, 0., 0.);
  c->rio.data = c->wio.data = c->timer.data = c;
  c->next = s->conns;
  if (s->conns)
    s->conns->prev = c;
  s->conns = c;
  s->st.accepted++;
  s->st.open++;
  http_parse_reset(c);
  http_conn_phase(c, PH_IDLE);
  ev_io_start(s->loop, &c->rio);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
  struct http_server *s = w->data;
  for (int i = 0; i < 64; i++) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int fd = accept4(s->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      admit(s, fd, &ss);
      continue;
    }
    if (errno == EINTR || errno == ECONNABORTED)
      continue;
    if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
      log_kv(s->log, LOG_WARN, "http", "out of file descriptors: accepting again in 100 ms",
             (char *)NULL);
      ev_io_stop(loop, &s->lio);
      ev_timer_start(loop, &s->retry);
    }
    return;
  }
}

static void on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
  struct http_server *s = w->data;
  ev_io_start(loop, &s->lio);
}

/* ---- the server ---- */

/* Connections are file descriptors: the soft limit (often 1024) is raised toward the
 * hard one so max_connections can be honoured; when it cannot, fewer are allowed, and
 * said. */
static void fit_fd_limit(struct http_server *s)
{
  struct rlimit rl;
  rlim_t want = (rlim_t)s->o.max_connections + 128;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return;
  if (rl.rlim_cur < want) {
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  if (rl.rlim_cur < want) {
    size_t fit = rl.rlim_cur > 256 ? (size_t)rl.rlim_cur - 128 : 128;
    char n[32];
    snprintf(n, sizeof n, "%zu", fit);
    log_kv(s->log, LOG_WARN, "http", "the file descriptor limit lowers http.max_connections", "max_connections",
           n, (char *)NULL);
    s->o.max_connections = fit;
  }
}

static int listen_on(struct http_server *s, char *err, size_t errlen)
{
  struct sockaddr_storage ss = {0};
  struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
  socklen_t len;
  if (inet_pton(AF_INET, s->o.address, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)s->o.port);
    len = sizeof *v4;
  } else if (inet_pton(AF_INET6, s->o.address, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)s->o.port);
    len = sizeof *v6;
  } else {
    snprintf(err, errlen, "listen.address '%s' is not an IPv4 or IPv6 address", s->o.address);
    return -1;
  }
  int one = 1;
  s->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s->fd < 0 || setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
      (ss.ss_family == AF_INET6 && setsockopt(s->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0) ||
      bind(s->fd, (struct sockaddr *)&ss, len) < 0 || listen(s->fd, 1024) < 0 ||
      getsockname(s->fd, (struct sockaddr *)&ss, &len) < 0) {
    snprintf(err, errlen, "cannot listen on %s port %d: %s", s->o.address, s->o.port, strerror(errno));
    if (s->fd >= 0)
      close(s->fd);
    return -1;
  }
  s->port = ntohs(ss.ss_family == AF_INET ? v4->sin_port : v6->sin6_port);
  return 0;
}

struct http_server *http_server_start(struct ev_loop *loop, const struct http_server_opts *o,
                                      const struct log *log, http_request_fn *fn, void *ud, char *err,
                                      size_t errlen)
{
  struct http_server *s = calloc(1, sizeof *s);
  if (!s) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  s->loop = loop;
  s->log = log;
  s->o = *o;
  s->fn = fn;
  s->ud = ud;
  http_parse_settings(&s->settings);
  if (listen_on(s, err, errlen) < 0) {
    free(s);
    return NULL;
  }
  fit_fd_limit(s);
  ev_io_init(&s->lio, on_accept, s->fd, EV_READ);
  ev_timer_init(&s->retry, on_retry, 0.1, 0.);
  ev_timer_init(&s->reaper, http_conn_reap, 0., 0.);
  s->lio.data = s->retry.data = s->reaper.data = s;
  ev_io_start(loop, &s->lio);
  return s;
}

int http_server_port(const struct http_server *s)
{
  return s->port;
}

const struct http_server_stats *http_server_stats(const struct http_server *s)
{
  return &s->st;
}

void http_server_stop(struct http_server *s)
{
  if (!s)
    return;
  while (s->conns)
    http_conn_retire(s->conns);
  http_conn_reap(s->loop, &s->reaper, 0);
  ev_timer_stop(s->loop, &s->reaper);
  ev_timer_stop(s->loop, &s->retry);
  ev_io_stop(s->loop, &s->lio);
  close(s->fd);
  free(s);
}
