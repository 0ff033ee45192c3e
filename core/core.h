/* The core's context: everything the daemon holds, in one struct (no global mutable state
 * elsewhere). Built by core_open from a configuration; the HTTP server, the CLI and the
 * tests all drive the same core. */
#ifndef PARLEY_CORE_H
#define PARLEY_CORE_H
#include <ev.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "clock.h"
#include "event.h"
#include "log.h"
#include "registry.h"
#include "store/store.h"

struct journey;
struct plugin_inst;
struct parley_msg;

struct channel {
  const struct cfg_channel *cfg;
  struct plugin_inst *inst;
};

struct core_stats {
  uint64_t events, duplicates, conv_started, conv_done, conv_failed, goals;
  uint64_t spoken, refused, delivered, retried, dead;
};

/* Events emitted by plugins while the core is busy wait here (see core_settle). */
struct pending_event {
  struct event ev;
  struct pending_event *next;
};

/* What a journey did that the daemon only records (history, counters, log): a conversation
 * that failed (a Lua error, a broken budget, a failed migration) or a speak the gate
 * refused. `parley test` fails a test on these unless the test expects them. */
struct core_incident {
  const struct conv *conv;             /* its contact, journey, and the step that ran */
  const char *channel, *template_name; /* a refused speak; NULL for a failure */
  const char *why;                     /* the error, or the gate's reason */
};

struct core {
  struct log log;
  struct clock clock;
  struct ev_loop *loop;
  struct cfg *cfg;
  struct store *store;
  struct jslot *slots; /* journey versions: current ones and those still draining */
  size_t n_slots;
  struct channel *channels;
  size_t n_channels;
  struct {
    struct parley_msg *fresh;       /* spoken in the open batch: not durable yet */
    struct parley_msg *head, *tail; /* queued, sending or waiting for a retry */
    size_t n_active;
    struct parley_msg *in_send; /* the message inside a plugin's send() right now */
    int in_send_status;         /* its status, when send_done came before send returned */
    char *in_send_detail;
  } outbox;
  struct pending_event *pending, *pending_tail;
  int settling;
  struct core_stats stats;
  ev_timer deadline_timer; /* armed on the earliest deadline only */
  ev_timer retry_timer;    /* armed on the earliest delivery retry */
  ev_prepare flusher;      /* commits each loop iteration's batch before the loop blocks */
  ev_timer ack_timer;      /* commits delivery acknowledgements that nothing else carried */
  int must_commit;         /* the batch holds state changes (not only acknowledgements) */
  int commit_failing;      /* the last commit failed (logged once per episode) */
  /* `parley test`: every message is handed here instead of to a plugin, and counts as
   * delivered. */
  void (*capture)(void *ud, const struct parley_msg *m);
  void *capture_ud;
  /* `parley test`: told of every incident when it is recorded. NULL in the daemon. */
  void (*incident)(void *ud, const struct core_incident *in);
  void *incident_ud;
};

/* Loads plugins (one instance per channel), journeys and the store. On failure returns -1
 * and err names what is wrong; nothing stays open. `loop` may be a private loop (tests). */
int core_open(struct cfg *cfg, struct ev_loop *loop, struct core **out, char *err, size_t errlen);
/* Shuts plugins down, closes journeys and the store; frees cfg too. */
void core_close(struct core *core);

/* Run everything that became due or pending: events emitted by plugins, passed
 * deadlines, due retries. Re-entrant calls return at once. Does not commit. */
void core_settle(struct core *core);
/* Commit the open batch (group commit); on success hand the messages it spoke to their
 * plugins. Returns 0, or -1 (logged) when the batch was dropped. */
int core_commit(struct core *core);
/* Settle and commit until nothing is left to do, then arm the loop timers. Runs before
 * the loop blocks (an ev_prepare watcher); tests on a virtual clock call it by hand. */
void core_flush(struct core *core);

struct channel *core_channel_find(const struct core *core, const char *name);
/* Accept an event from a plugin (a receipt). Returns 0, or -1 with err. */
int core_emit_event(struct core *core, const char *json, size_t len, char *err, size_t errlen);

#endif
