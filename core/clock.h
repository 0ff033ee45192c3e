/* The one clock interface. No code calls time() directly: `parley serve` reads the libev
 * loop's clock, unit tests and `parley test` a virtual clock they move by hand, so a journey
 * that waits 30 days is tested in microseconds. Times are wall-clock milliseconds since the
 * Unix epoch (deadlines are stored as absolute wall-clock times). */
#ifndef PARLEY_CLOCK_H
#define PARLEY_CLOCK_H
#include <stdint.h>

struct ev_loop;

struct clock {
  int64_t (*now_ms)(const struct clock *c);
  struct ev_loop *loop; /* loop clock */
  int64_t virtual_ms;   /* virtual clock */
};

void clock_init_loop(struct clock *c, struct ev_loop *loop);
void clock_init_virtual(struct clock *c, int64_t start_ms);
static inline int64_t clock_now_ms(const struct clock *c) { return c->now_ms(c); }
/* The wall time now, for a command with no loop of its own (the CLI): read as the daemon
 * reads it, from a loop clock, made for the purpose. 0 when no loop can be made. */
int64_t clock_wall_now_ms(void);
/* Monotonic milliseconds, for measuring durations only (step budgets), never stored. */
int64_t clock_monotonic_ms(void);

#endif
