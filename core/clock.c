/* The clock (see clock.h): the libev loop's wall time, or a virtual time moved by hand. */
#include "clock.h"

#include <ev.h>
#include <time.h>

/* ev_now is the loop's cached wall time: cheap, and the same for every event handled in
 * one loop iteration, which keeps a batch's timestamps consistent. */
static int64_t loop_now(const struct clock *c)
{
  return (int64_t)(ev_now(c->loop) * 1000.0);
}

static int64_t virtual_now(const struct clock *c)
{
  return c->virtual_ms;
}

void clock_init_loop(struct clock *c, struct ev_loop *loop)
{
  c->now_ms = loop_now;
  c->loop = loop;
  c->virtual_ms = 0;
}

void clock_init_virtual(struct clock *c, int64_t start_ms)
{
  c->now_ms = virtual_now;
  c->loop = NULL;
  c->virtual_ms = start_ms;
}

int64_t clock_monotonic_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_wall_now_ms(void)
{
  struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
  struct clock clk;
  if (!loop)
    return 0;
  clock_init_loop(&clk, loop);
  int64_t now = clock_now_ms(&clk);
  ev_loop_destroy(loop);
  return now;
}
