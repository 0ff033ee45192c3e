/* The retention sweep (README, "Retention"): ended conversations older than
 * retention.conversations (from their end) and history entries older than
 * retention.history (from when they were written) are removed a little at a time. Each
 * tick walks at most a bounded number of records on from where the last one stopped (the
 * store keeps the walks' positions, store.h) and deletes, in the open batch, what is past
 * retention; a full pass over the store takes as many ticks as it needs, never a
 * stop-the-world walk. Times are the core's clock: virtual under `parley test` and the
 * unit tests, which tick by hand. A running conversation is never removed, only its
 * history trimmed; a contact's profile and its last start per journey (the re-entry
 * rule) are kept. */
#ifndef PARLEY_SWEEP_H
#define PARLEY_SWEEP_H
#include <stddef.h>

struct core;

/* Records one tick of the daemon looks at, at most, and how often it ticks. */
#define SWEEP_TICK_RECORDS 512
#define SWEEP_EVERY_S 1.0

/* One tick: reads at most `budget` records (at least 2 to get anywhere), removes what is
 * past retention in the open batch (counted in the core's stats) and returns how many
 * records it read. Never while the core settles. */
size_t sweep_tick(struct core *core, size_t budget);

#endif
