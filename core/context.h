/* struct core: the context every part of the state machine shares (no global mutable
 * state elsewhere). Built and driven by core.c; conv.c, erase.c, sweep.c, registry.c and
 * the HTTP views read and change it. Data only: the functions that run the core are in
 * core.h. */
#ifndef PARLEY_CONTEXT_H
#define PARLEY_CONTEXT_H
#include <ev.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "clock.h"
#include "event.h"
#include "gate.h"
#include "log.h"
#include "outbox.h"
#include "registry.h"
#include "store/store.h"

struct plugin_inst;
struct syncer;
struct plugin_http;
struct plugin_metrics;
struct smap;

/* One configured channel and the plugin instance serving it (NULL under `parley test`). */
struct channel {
  const struct cfg_channel *cfg;
  struct plugin_inst *inst;
};

/* The metrics; kept across restarts in the store's counters, in this order (new ones go
 * at the end). */
struct core_stats {
  uint64_t events, duplicates, conv_started, conv_done, conv_failed, goals;
  uint64_t spoken, refused;
  struct outbox_stats delivery; /* delivered, retried, dead */
  uint64_t erased;              /* contacts erased (erase.c) */
  uint64_t swept_convs, swept_history; /* removed by the retention sweep (sweep.c) */
  uint64_t refused_by[GATE_REASONS];   /* refused speaks per reason (gate.h) */
  uint64_t held;                       /* messages held for quiet hours (quiet.h) */
};

/* Events emitted by plugins wait here until the core applies them (core_settle): never
 * inside the plugin callback that emitted them. */
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
  struct registry registry; /* the journeys: current versions and those still draining */
  struct channel *channels;
  size_t n_channels;
  struct plugin_http *http; /* the HTTP client the channels' plugins share (ABI 1.1) */
  struct plugin_metrics *plugin_metrics; /* the plugins' metrics, shown in /metrics (ABI 1.1) */
  struct zones *zones;                   /* the contacts' time zones met (quiet hours) */
  struct outbox outbox;
  struct pending_event *pending, *pending_tail;
  int settling; /* core_settle is on the stack */
  struct core_stats stats;
  ev_timer deadline_timer; /* armed on the earliest deadline only */
  ev_timer retry_timer;    /* armed on the earliest delivery retry */
  ev_prepare flusher;      /* commits each loop iteration's batch before the loop blocks */
  ev_timer ack_timer;      /* commits delivery acknowledgements that nothing else carried */
  ev_timer sweep_timer;    /* a retention tick every so often (loop clock only) */
  int must_commit;         /* the batch holds state changes (not only acknowledgements) */
  int commit_failing;      /* the last commit failed (logged once per episode) */
  int draining;            /* stopping: no message is handed to a plugin any more (core_drain) */
  int commit_held;         /* > 0: a request is being applied over several loop turns; the
                              batch is not committed until it is whole (core_hold) */
  struct syncer *syncer;   /* the daemon's store flusher (NULL: each commit is flushed) */
  int flush_failing;       /* the last flush failed (logged once per episode) */
  /* Told on the loop when more commits are durable, or a flush failed (the HTTP API's
   * held answers); set by whoever waits on core_durable_mark. */
  void (*durable)(void *ud, int failed);
  void *durable_ud;
  /* `parley test`: told of every incident when it is recorded. NULL in the daemon. */
  void (*incident)(void *ud, const struct core_incident *in);
  void *incident_ud;
  /* `parley test`: arms forced per contact and experiment ("contact\x1fexperiment" -> arm,
   * arms.h). NULL in the daemon. */
  struct smap *forced_arms;
};

#endif
