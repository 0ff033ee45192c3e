/* post (parley/plugin.h): the one door from a plugin's own threads into the loop. A
 * mutex-guarded FIFO per instance and an ev_async to wake the loop; the loop thread takes
 * the whole queue under the lock and runs it without, so a posting thread never waits for
 * a plugin callback. The ev_async is unref'd: waiting for posts keeps no loop alive.
 *
 * The promise: a post that returned PARLEY_OK runs exactly once, before shutdown (or is
 * dropped when init failed); once close began, post refuses and the caller keeps arg. */
#include <stdlib.h>

#include "log.h"
#include "plugin_int.h"

struct plugin_post_item {
  parley_post_fn fn;
  void *arg;
  struct plugin_post_item *next;
};

/* Takes what is queued, in order. */
static struct plugin_post_item *take_all(struct plugin_post *p)
{
  pthread_mutex_lock(&p->mu);
  struct plugin_post_item *list = p->head;
  p->head = p->tail = NULL;
  pthread_mutex_unlock(&p->mu);
  return list;
}

static void run_all(struct plugin_inst *pi, struct plugin_post_item *it, int run)
{
  while (it) {
    struct plugin_post_item *next = it->next;
    if (run) {
      pi->calls++;
      it->fn(plugin_ctx(pi), it->arg);
      pi->calls--;
    }
    free(it);
    it = next;
  }
}

static void on_wake(struct ev_loop *loop, ev_async *w, int revents)
{
  struct plugin_inst *pi = w->data;
  run_all(pi, take_all(&pi->post), 1);
}

void plugin_post_init(struct plugin_inst *pi)
{
  struct plugin_post *p = &pi->post;
  pthread_mutex_init(&p->mu, NULL);
  ev_async_init(&p->wake, on_wake);
  p->wake.data = pi;
  if (pi->env.loop) {
    ev_async_start(pi->env.loop, &p->wake);
    ev_unref(pi->env.loop);
    p->started = 1;
  }
}

/* Any thread. ev_async_send under the lock: once close has set `closed` (under the same
 * lock), no thread touches the watcher again, so close may stop it. */
enum parley_status plugin_post(parley_ctx *ctx, parley_post_fn fn, void *arg)
{
  struct plugin_inst *pi = plugin_inst_of(ctx);
  if (pi == NULL || fn == NULL)
    return PARLEY_ERROR;
  struct plugin_post_item *it = malloc(sizeof *it);
  if (it == NULL)
    return PARLEY_ERROR;
  *it = (struct plugin_post_item){fn, arg, NULL};
  struct plugin_post *p = &pi->post;
  pthread_mutex_lock(&p->mu);
  int closed = p->closed;
  if (!closed) {
    if (p->tail)
      p->tail->next = it;
    else
      p->head = it;
    p->tail = it;
    if (p->started)
      ev_async_send(pi->env.loop, &p->wake);
  }
  pthread_mutex_unlock(&p->mu);
  if (closed)
    free(it);
  return closed ? PARLEY_ERROR : PARLEY_OK;
}

/* Loop thread. Functions run here may post again: refused, the instance is closing. */
void plugin_post_close(struct plugin_inst *pi, int run)
{
  struct plugin_post *p = &pi->post;
  pthread_mutex_lock(&p->mu);
  p->closed = 1;
  pthread_mutex_unlock(&p->mu);
  run_all(pi, take_all(p), run);
}

void plugin_post_free(struct plugin_inst *pi)
{
  struct plugin_post *p = &pi->post;
  plugin_post_close(pi, 0);
  if (p->started) {
    ev_ref(pi->env.loop);
    ev_async_stop(pi->env.loop, &p->wake);
    p->started = 0;
  }
  pthread_mutex_destroy(&p->mu);
}
