/* See httpd.h. Blocking sockets and a thread per connection keep it short: it serves the
 * tests of a non-blocking client, which must not share its loop. */
#define _GNU_SOURCE /* memmem */
#include "httpd.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HEAD_MAX 65536

struct conn {
  struct httpd *d;
  int fd; /* -1 once the thread closed it */
  unsigned serial;
  pthread_t th;
  struct conn *next;
};

struct httpd {
  int fd, port;
  pthread_t acceptor;
  pthread_mutex_t mu;
  struct conn *conns;
  unsigned accepted;
  atomic_int stopping;
};

struct request {
  char method[16], path[256];
  char test[256]; /* X-Test */
  char *body;
  size_t body_len;
  int close; /* Connection: close */
};

/* Sleeps `ms`, or less when the server stops. */
static void nap(struct httpd *d, long ms)
{
  for (long slept = 0; slept < ms && !atomic_load(&d->stopping); slept += 10) {
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
}

static int write_all(int fd, const char *p, size_t n)
{
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0)
      return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int reply(struct conn *c, int status, const char *extra, const char *body, size_t len)
{
  char head[1024];
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 %d Test\r\nContent-Length: %zu\r\nContent-Type: text/plain\r\n"
                   "X-Conn: %u\r\n%s\r\n",
                   status, len, c->serial, extra);
  if (write_all(c->fd, head, (size_t)n) < 0)
    return -1;
  return write_all(c->fd, body, len);
}

static int route(struct conn *c, const struct request *rq)
{
  char extra[512];
  const char *p = rq->path;
  if (strcmp(p, "/echo") == 0) {
    snprintf(extra, sizeof extra, "X-Method: %s\r\nX-Echo-Test: %s\r\n", rq->method, rq->test);
    return reply(c, 200, extra, rq->body ? rq->body : "", rq->body_len);
  }
  if (strncmp(p, "/status/", 8) == 0) {
    int status = atoi(p + 8);
    const char *ra = strstr(p, "?retry_after=");
    char body[32];
    snprintf(extra, sizeof extra, "%s%s%s", ra ? "Retry-After: " : "", ra ? ra + 13 : "",
             ra ? "\r\n" : "");
    snprintf(body, sizeof body, "status %d", status);
    return reply(c, status, extra, body, strlen(body));
  }
  if (strncmp(p, "/slow/", 6) == 0) {
    nap(c->d, atol(p + 6));
    return reply(c, 200, "", "slow", 4);
  }
  if (strncmp(p, "/big/", 5) == 0) {
    size_t n = (size_t)atol(p + 5);
    char *big = malloc(n + 1);
    memset(big, 'x', n);
    int rc = reply(c, 200, "", big, n);
    free(big);
    return rc;
  }
  return reply(c, 404, "", "not found", 9);
}

/* Reads one request into rq (the head is in buf, which may hold the next one's start:
 * *have bytes; what follows this request is moved to the front). 0, or -1 at the end. */
static int read_request(struct conn *c, char *buf, size_t *have, struct request *rq)
{
  char *end;
  while ((end = memmem(buf, *have, "\r\n\r\n", 4)) == NULL) {
    if (*have == HEAD_MAX)
      return -1;
    ssize_t n = recv(c->fd, buf + *have, HEAD_MAX - *have, 0);
    if (n <= 0)
      return -1;
    *have += (size_t)n;
  }
  *end = '\0';
  memset(rq, 0, sizeof *rq);
  if (sscanf(buf, "%15s %255s", rq->method, rq->path) != 2)
    return -1;
  size_t clen = 0;
  for (char *line = strstr(buf, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
    char *h = line + 2;
    if (strncasecmp(h, "Content-Length:", 15) == 0)
      clen = (size_t)atol(h + 15);
    else if (strncasecmp(h, "X-Test:", 7) == 0)
      sscanf(h + 7, " %255[^\r]", rq->test);
    else if (strncasecmp(h, "Connection: close", 17) == 0)
      rq->close = 1;
  }
  size_t head = (size_t)(end - buf) + 4, got = *have - head;
  rq->body = malloc(clen + 1);
  memcpy(rq->body, buf + head, got < clen ? got : clen);
  for (size_t at = got; at < clen;) {
    ssize_t n = recv(c->fd, rq->body + at, clen - at, 0);
    if (n <= 0) {
      free(rq->body);
      return -1;
    }
    at += (size_t)n;
  }
  rq->body_len = clen;
  size_t rest = got > clen ? got - clen : 0;
  memmove(buf, buf + head + clen, rest);
  *have = rest;
  return 0;
}

static void *serve(void *arg)
{
  struct conn *c = arg;
  char *buf = malloc(HEAD_MAX);
  size_t have = 0;
  struct request rq;
  while (!atomic_load(&c->d->stopping) && read_request(c, buf, &have, &rq) == 0) {
    int rc = route(c, &rq);
    free(rq.body);
    if (rc < 0 || rq.close)
      break;
  }
  free(buf);
  pthread_mutex_lock(&c->d->mu);
  close(c->fd);
  c->fd = -1;
  pthread_mutex_unlock(&c->d->mu);
  return NULL;
}

static void *accept_loop(void *arg)
{
  struct httpd *d = arg;
  for (;;) {
    int fd = accept(d->fd, NULL, NULL);
    if (fd < 0)
      return NULL; /* the listening socket was shut down */
    struct conn *c = calloc(1, sizeof *c);
    c->d = d;
    c->fd = fd;
    pthread_mutex_lock(&d->mu);
    c->serial = ++d->accepted;
    c->next = d->conns;
    d->conns = c;
    pthread_create(&c->th, NULL, serve, c);
    pthread_mutex_unlock(&d->mu);
  }
}

struct httpd *httpd_start(void)
{
  struct httpd *d = calloc(1, sizeof *d);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  d->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (d->fd < 0 || bind(d->fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(d->fd, 128) < 0 ||
      getsockname(d->fd, (struct sockaddr *)&a, &len) < 0) {
    if (d->fd >= 0)
      close(d->fd);
    free(d);
    return NULL;
  }
  d->port = ntohs(a.sin_port);
  pthread_mutex_init(&d->mu, NULL);
  pthread_create(&d->acceptor, NULL, accept_loop, d);
  return d;
}

int httpd_port(const struct httpd *d) { return d->port; }

unsigned httpd_accepted(struct httpd *d)
{
  pthread_mutex_lock(&d->mu);
  unsigned n = d->accepted;
  pthread_mutex_unlock(&d->mu);
  return n;
}

void httpd_stop(struct httpd *d)
{
  atomic_store(&d->stopping, 1);
  shutdown(d->fd, SHUT_RDWR);
  pthread_join(d->acceptor, NULL);
  close(d->fd);
  pthread_mutex_lock(&d->mu);
  for (struct conn *c = d->conns; c; c = c->next)
    if (c->fd >= 0)
      shutdown(c->fd, SHUT_RDWR);
  pthread_mutex_unlock(&d->mu);
  while (d->conns) {
    struct conn *c = d->conns;
    d->conns = c->next;
    pthread_join(c->th, NULL);
    free(c);
  }
  pthread_mutex_destroy(&d->mu);
  free(d);
}
