/* Running the core: building it from a configuration, and the turn of the loop that
 * settles what became due (events emitted by plugins, passed deadlines, due retries) and
 * commits it as one batch (group commit). The HTTP server, the CLI and the tests all drive
 * the same core; its state is struct core (context.h). */
#ifndef PARLEY_CORE_H
#define PARLEY_CORE_H
#include <stddef.h>

#include "context.h"

/* Loads plugins (one instance per channel), journeys and the store. On failure returns -1
 * and err names what is wrong; nothing stays open. `loop` may be a private loop (tests).
 * Takes cfg (freed by core_close, or here on failure). */
int core_open(struct cfg *cfg, struct ev_loop *loop, struct core **out, char *err, size_t errlen);
/* Shuts plugins down, closes journeys and the store; frees cfg too. */
void core_close(struct core *core);
/* The first half of a stop: from now on no message is handed to a plugin (they wait,
 * durable, for the next start), while the sends plugins still hold may end and be
 * recorded as usual. `parley serve` then waits, up to delivery.shutdown_grace, for
 * core_in_flight to reach 0 before core_close. */
void core_drain(struct core *core);
/* Messages handed to plugins whose outcome is not known yet. */
size_t core_in_flight(const struct core *core);

/* Run everything that became due or pending: events emitted by plugins, passed
 * deadlines, due retries. Re-entrant calls return at once. Does not commit. */
void core_settle(struct core *core);
/* Commit the open batch (group commit); on success hand the messages it spoke to their
 * plugins. Returns 0, -1 (logged) when the batch was dropped, or 1 when it is held
 * (core_hold) and was not committed: nothing in it is durable yet. */
int core_commit(struct core *core);
/* Durability of commits (the daemon flushes on a thread of its own, syncer.h). The mark an
 * answer given now must wait for: the last commit that wrote, or 0 when nothing is to wait
 * for (no flusher, or store.sync = "interval", where answers go at commit). */
uint64_t core_durable_mark(const struct core *core);
/* Is every commit up to `mark` on disk? core->durable is told when more are. */
int core_is_durable(const struct core *core, uint64_t mark);
/* Blocks until `mark` is on disk (stopping only): 0, or -1 when a flush failed. */
int core_wait_durable(struct core *core, uint64_t mark);
/* Holds (+1) or releases (-1) the open batch: while held, no commit happens, so a request
 * applied over several loop turns (to let other requests be answered between its parts)
 * is committed whole or not at all. */
void core_hold(struct core *core, int delta);
/* Settle and commit until nothing is left to do, then arm the loop timers. Runs before
 * the loop blocks (an ev_prepare watcher); tests on a virtual clock call it by hand. */
void core_flush(struct core *core);

/* Load the journeys folder again (SIGHUP, POST /v1/admin/reload): a changed file becomes a
 * new current version, pinned in the open batch; a file that fails to load is refused and
 * its running version keeps serving (registry_reload). What each file came to is in
 * core->registry.outcomes. `by` names who asked, for the log. Returns how many journeys
 * were refused. */
int core_reload(struct core *core, const char *by);

/* Accept an event from a plugin (a receipt): parsed and queued now, applied by the next
 * core_settle, never from inside the caller. Returns 0, or -1 with err. */
int core_emit_event(struct core *core, const char *json, size_t len, char *err, size_t errlen);

#endif
