/* fd watchers for sockets a plugin owns (io_start, io_modify, io_stop in parley/plugin.h):
 * an ev_io on the core's loop per watcher, listed on the instance so close can stop them
 * all before the plugin's code goes away. The host never closes a plugin's fd. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "plugin_int.h"

#define IO_EVENTS (PARLEY_IO_READ | PARLEY_IO_WRITE)

static int ev_events(unsigned events)
{
  return ((events & PARLEY_IO_READ) ? EV_READ : 0) | ((events & PARLEY_IO_WRITE) ? EV_WRITE : 0);
}

static void io_refused(struct plugin_inst *pi, const char *what, const char *why, int fd)
{
  char n[24];
  snprintf(n, sizeof n, "%d", fd);
  log_kv(pi->env.log, LOG_ERROR, pi->subsys, what, "plugin", pi->desc->name, "fd", n, "reason", why,
         (char *)NULL);
}

static void io_unlink(struct parley_io *io)
{
  if (io->prev)
    io->prev->next = io->next;
  else
    io->pi->ios = io->next;
  if (io->next)
    io->next->prev = io->prev;
  io->prev = io->next = NULL;
}

/* libev reports EV_ERROR after stopping the watcher itself (a closed fd); the plugin is
 * told, and the handle stays its own to stop. */
static void io_ready(struct ev_loop *loop, ev_io *w, int revents)
{
  struct parley_io *io = (struct parley_io *)w; /* w is the first member */
  struct plugin_inst *pi = io->pi;
  unsigned r = ((revents & EV_READ) ? PARLEY_IO_READ : 0) | ((revents & EV_WRITE) ? PARLEY_IO_WRITE : 0);
  if (revents & EV_ERROR) {
    ev_io_stop(loop, w);
    r |= PARLEY_IO_ERROR;
  }
  io->firing = 1;
  pi->calls++;
  io->cb(plugin_ctx(pi), w->fd, r, io->arg);
  pi->calls--;
  io->firing = 0;
  if (io->stopped) /* io_stop from inside the callback */
    free(io);
}

parley_io *plugin_io_start(parley_ctx *ctx, int fd, unsigned events, parley_io_cb cb, void *arg)
{
  struct plugin_inst *pi = plugin_inst_of(ctx);
  if (pi == NULL)
    return NULL;
  const char *why = NULL;
  if (fd < 0 || fcntl(fd, F_GETFD) == -1)
    why = "not an open file descriptor";
  else if (events & ~IO_EVENTS)
    why = "unknown event bits (PARLEY_IO_READ and PARLEY_IO_WRITE only)";
  else if (cb == NULL)
    why = "no callback";
  else if (pi->env.loop == NULL)
    why = "no event loop in this host";
  struct parley_io *io = why ? NULL : calloc(1, sizeof *io);
  if (io == NULL) {
    io_refused(pi, "io_start refused", why ? why : "out of memory", fd);
    return NULL;
  }
  io->pi = pi;
  io->cb = cb;
  io->arg = arg;
  ev_io_init(&io->w, io_ready, fd, ev_events(events));
  if (events)
    ev_io_start(pi->env.loop, &io->w);
  io->next = pi->ios;
  if (pi->ios)
    pi->ios->prev = io;
  pi->ios = io;
  return io;
}

/* ev_io_set is only allowed on a stopped watcher: stop, set, start again. */
enum parley_status plugin_io_modify(parley_ctx *ctx, parley_io *io, unsigned events)
{
  struct plugin_inst *pi = plugin_inst_of(ctx);
  if (pi == NULL)
    return PARLEY_ERROR;
  if (io == NULL || io->stopped || (events & ~IO_EVENTS)) {
    io_refused(pi, "io_modify refused", io ? "unknown event bits" : "no watcher", io ? io->w.fd : -1);
    return PARLEY_ERROR;
  }
  ev_io_stop(pi->env.loop, &io->w);
  ev_io_set(&io->w, io->w.fd, ev_events(events));
  if (events)
    ev_io_start(pi->env.loop, &io->w);
  return PARLEY_OK;
}

void plugin_io_stop(parley_ctx *ctx, parley_io *io)
{
  struct plugin_inst *pi = plugin_inst_of(ctx);
  if (pi == NULL || io == NULL || io->stopped)
    return;
  ev_io_stop(pi->env.loop, &io->w);
  io_unlink(io);
  if (io->firing)
    io->stopped = 1; /* io_ready frees it when the callback returns */
  else
    free(io);
}

void plugin_io_stop_all(struct plugin_inst *pi)
{
  while (pi->ios)
    plugin_io_stop(plugin_ctx(pi), pi->ios);
}
