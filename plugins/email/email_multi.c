/* libcurl's multi-socket API on the host's fd watchers and timer (ABI 1.1), the way
 * core/plugin/plugin_curlev.c does it on libev: curl keeps the sockets and the timeout,
 * the plugin only watches them and tells curl what fired. One multi handle per instance,
 * so its connection cache reuses an SMTP connection across messages. */
#include <stdlib.h>

#include "email.h"

/* One socket curl watches, kept with curl_multi_assign. */
struct sock {
  struct email_multi *m;
  parley_io *io;
  curl_socket_t fd;
};

struct email_multi {
  const struct parley_host *host;
  parley_ctx *ctx;
  CURLM *multi;
  parley_timer *timer;
  email_multi_done done;
  void *ud;
  int closing; /* the host stopped the watchers and timer: touch neither */
};

/* Every transfer that ended leaves the multi, then goes to `done`. */
static void drain(struct email_multi *m)
{
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(m->multi, &left))) {
    if (msg->msg != CURLMSG_DONE)
      continue;
    CURL *easy = msg->easy_handle;
    CURLcode rc = msg->data.result;
    curl_multi_remove_handle(m->multi, easy);
    m->done(m->ud, easy, rc);
  }
}

static void on_io(parley_ctx *ctx, int fd, unsigned revents, void *arg)
{
  struct sock *s = arg;
  struct email_multi *m = s->m;
  int action = (revents & PARLEY_IO_READ ? CURL_CSELECT_IN : 0) | (revents & PARLEY_IO_WRITE ? CURL_CSELECT_OUT : 0) |
               (revents & PARLEY_IO_ERROR ? CURL_CSELECT_ERR : 0);
  int running;
  curl_multi_socket_action(m->multi, fd, action, &running); /* may free s */
  drain(m);
}

static void on_timeout(parley_ctx *ctx, void *arg)
{
  struct email_multi *m = arg;
  int running;
  m->timer = NULL; /* the host frees it when this returns */
  curl_multi_socket_action(m->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  drain(m);
}

/* CURLMOPT_SOCKETFUNCTION: watch `fd` for what curl wants, or stop watching it. */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
  struct email_multi *m = userp;
  struct sock *s = socketp;
  if (what == CURL_POLL_REMOVE) {
    if (s && !m->closing)
      m->host->io_stop(m->ctx, s->io);
    free(s);
    return 0;
  }
  if (m->closing)
    return -1;
  unsigned events = (what & CURL_POLL_IN ? PARLEY_IO_READ : 0) | (what & CURL_POLL_OUT ? PARLEY_IO_WRITE : 0);
  if (s == NULL) {
    s = calloc(1, sizeof *s);
    if (s == NULL)
      return -1; /* curl fails the transfer: better than one never woken */
    s->m = m;
    s->fd = fd;
    s->io = m->host->io_start(m->ctx, fd, events, on_io, s);
    if (s->io == NULL) {
      free(s);
      return -1;
    }
    curl_multi_assign(m->multi, fd, s);
    return 0;
  }
  return m->host->io_modify(m->ctx, s->io, events) == PARLEY_OK ? 0 : -1;
}

/* CURLMOPT_TIMERFUNCTION: one timeout, replaced on every call; -1 means none. A zero
 * wait still goes through the loop: curl must not be called back from inside itself. */
static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
  struct email_multi *m = userp;
  if (m->closing)
    return 0;
  m->host->timer_cancel(m->ctx, m->timer);
  m->timer = NULL;
  if (timeout_ms >= 0 && (m->timer = m->host->timer_start(m->ctx, (uint64_t)timeout_ms, on_timeout, m)) == NULL)
    return -1;
  return 0;
}

struct email_multi *email_multi_open(const struct parley_host *host, parley_ctx *ctx, email_multi_done done,
                                     void *ud)
{
  struct email_multi *m = calloc(1, sizeof *m);
  if (m == NULL)
    return NULL;
  if ((m->multi = curl_multi_init()) == NULL) {
    free(m);
    return NULL;
  }
  m->host = host;
  m->ctx = ctx;
  m->done = done;
  m->ud = ud;
  curl_multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(m->multi, CURLMOPT_SOCKETDATA, m);
  curl_multi_setopt(m->multi, CURLMOPT_TIMERFUNCTION, on_timer);
  curl_multi_setopt(m->multi, CURLMOPT_TIMERDATA, m);
  return m;
}

int email_multi_add(struct email_multi *m, CURL *easy)
{
  return curl_multi_add_handle(m->multi, easy) == CURLM_OK ? 0 : -1;
}

/* Only at shutdown: from then on the watchers and the timer are the host's (gone). */
void email_multi_remove(struct email_multi *m, CURL *easy)
{
  m->closing = 1;
  curl_multi_remove_handle(m->multi, easy);
}

void email_multi_close(struct email_multi *m)
{
  if (m == NULL)
    return;
  m->closing = 1;
  curl_multi_cleanup(m->multi); /* frees the socks through CURL_POLL_REMOVE */
  free(m);
}
