/* curl's multi interface on a libev loop (see plugin_curlev.h), after libcurl's own
 * "multi_socket" design: curl keeps the sockets and timeouts, we only watch them. Each
 * socket curl asks about gets an ev_io (kept with curl_multi_assign, so no lookup), and
 * the one timeout curl wants gets the ev_timer. Whatever fires, curl is told with
 * curl_multi_socket_action, and then every transfer that ended is handed over. */
#include "plugin_curlev.h"

#include <ev.h>
#include <stdlib.h>

/* One socket curl watches. Listed so close frees any curl did not give back. */
struct sock {
  ev_io io;
  struct plugin_curlev *cl;
  curl_socket_t fd;
  struct sock *prev, *next;
};

struct plugin_curlev {
  CURLM *multi;
  struct ev_loop *loop;
  ev_timer timer;
  plugin_curlev_done done;
  void *ud;
  struct sock *socks;
};

static void sock_free(struct plugin_curlev *cl, struct sock *s)
{
  ev_io_stop(cl->loop, &s->io);
  if (s->prev)
    s->prev->next = s->next;
  else
    cl->socks = s->next;
  if (s->next)
    s->next->prev = s->prev;
  free(s);
}

/* Every transfer that ended leaves the multi, then goes to `done`. The message is read
 * before the handle is removed: curl frees it with the handle's removal. */
static void drain(struct plugin_curlev *cl)
{
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(cl->multi, &left))) {
    if (msg->msg != CURLMSG_DONE)
      continue;
    CURL *easy = msg->easy_handle;
    CURLcode rc = msg->data.result;
    curl_multi_remove_handle(cl->multi, easy);
    cl->done(cl->ud, easy, rc);
  }
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
  struct sock *s = (struct sock *)w; /* w is the first member */
  struct plugin_curlev *cl = s->cl;
  int action = (revents & EV_READ ? CURL_CSELECT_IN : 0) | (revents & EV_WRITE ? CURL_CSELECT_OUT : 0);
  int running;
  curl_multi_socket_action(cl->multi, s->fd, action, &running); /* may free s */
  drain(cl);
}

static void on_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
  struct plugin_curlev *cl = w->data;
  int running;
  curl_multi_socket_action(cl->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  drain(cl);
}

/* CURLMOPT_SOCKETFUNCTION: watch `fd` for what curl wants, or stop watching it. */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
  struct plugin_curlev *cl = userp;
  struct sock *s = socketp;
  if (what == CURL_POLL_REMOVE) {
    if (s)
      sock_free(cl, s);
    return 0;
  }
  if (s == NULL) {
    s = calloc(1, sizeof *s);
    if (s == NULL)
      return -1; /* curl fails the transfer: better than one never woken */
    s->cl = cl;
    s->fd = fd;
    ev_init(&s->io, on_io);
    s->next = cl->socks;
    if (cl->socks)
      cl->socks->prev = s;
    cl->socks = s;
    curl_multi_assign(cl->multi, fd, s);
  }
  int events = (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0);
  ev_io_stop(cl->loop, &s->io);
  ev_io_set(&s->io, fd, events);
  ev_io_start(cl->loop, &s->io);
  return 0;
}

/* CURLMOPT_TIMERFUNCTION: one timeout, replaced on every call; -1 means none. A zero
 * wait still goes through the loop: curl must not be called back from inside itself. */
static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
  struct plugin_curlev *cl = userp;
  ev_timer_stop(cl->loop, &cl->timer);
  if (timeout_ms >= 0) {
    ev_timer_set(&cl->timer, (ev_tstamp)timeout_ms / 1000.0, 0.);
    ev_timer_start(cl->loop, &cl->timer);
  }
  return 0;
}

struct plugin_curlev *plugin_curlev_open(struct ev_loop *loop, plugin_curlev_done done, void *ud)
{
  struct plugin_curlev *cl = calloc(1, sizeof *cl);
  if (cl == NULL)
    return NULL;
  cl->multi = curl_multi_init();
  if (cl->multi == NULL) {
    free(cl);
    return NULL;
  }
  cl->loop = loop;
  cl->done = done;
  cl->ud = ud;
  ev_timer_init(&cl->timer, on_timeout, 0., 0.);
  cl->timer.data = cl;
  curl_multi_setopt(cl->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(cl->multi, CURLMOPT_SOCKETDATA, cl);
  curl_multi_setopt(cl->multi, CURLMOPT_TIMERFUNCTION, on_timer);
  curl_multi_setopt(cl->multi, CURLMOPT_TIMERDATA, cl);
  return cl;
}

CURLM *plugin_curlev_multi(struct plugin_curlev *cl) { return cl->multi; }

int plugin_curlev_add(struct plugin_curlev *cl, CURL *easy)
{
  return curl_multi_add_handle(cl->multi, easy) == CURLM_OK ? 0 : -1;
}

void plugin_curlev_remove(struct plugin_curlev *cl, CURL *easy)
{
  curl_multi_remove_handle(cl->multi, easy);
}

void plugin_curlev_close(struct plugin_curlev *cl)
{
  if (cl == NULL)
    return;
  curl_multi_cleanup(cl->multi); /* closes the connections it keeps: on_socket may run */
  ev_timer_stop(cl->loop, &cl->timer);
  while (cl->socks)
    sock_free(cl, cl->socks);
  free(cl);
}
