/* The messages an instance holds: handed to its send and not completed yet. A completion
 * names a message by the pointer the plugin passes, which may be stale (completed already),
 * another instance's, or garbage; it is looked up here by its address alone, never read,
 * before anything of it is trusted. A balanced tree from libc (tsearch), one per instance:
 * O(log n) in the messages the instance holds, which max_in_flight bounds. */
#define _GNU_SOURCE /* tdestroy */
#include <search.h>
#include <stdint.h>
#include <stdlib.h>

#include "plugin_int.h"

/* Addresses compared as numbers: the keys are never dereferenced. */
static int by_address(const void *a, const void *b)
{
  uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
  return x < y ? -1 : x > y;
}

int plugin_held_add(struct plugin_inst *pi, const struct parley_msg *msg)
{
  return tsearch(msg, &pi->held, by_address) ? 0 : -1;
}

int plugin_held_take(struct plugin_inst *pi, const struct parley_msg *msg)
{
  if (tfind(msg, &pi->held, by_address) == NULL)
    return 0;
  tdelete(msg, &pi->held, by_address);
  return 1;
}

static void keep(void *node) { (void)node; } /* the messages are the outbox's */

void plugin_held_clear(struct plugin_inst *pi)
{
  tdestroy(pi->held, keep);
  pi->held = NULL;
}
