/* The outbox: messages a journey spoke, on their way to channel plugins.
 *
 * A message is created when a step's decision is applied and written to the store in the
 * open batch (outbox_enqueue), with its attempt number 1: the record's `attempt` counts
 * attempts begun, and each is written before its hand-over. It waits in `fresh` until that
 * batch commits, so no plugin ever sees a message a crash could still take back. Then the
 * kick that follows hands it to the plugin serving its channel when flow control allows
 * (outbox_kick); one that must wait gives its attempt back (written with attempt 0) and
 * is queued in its channel's lane (outbox_lane.h) by due time. The plugin answers at once
 * or later (outbox_send_done). A message due from a lane (a retry, one that waited, one
 * restored at start) is first claimed: attempt + 1 written in the open batch, and handed
 * over only once that batch committed, so a send that crashes the daemon is counted, and
 * a restored message whose attempts are used up is dead-lettered ("retries_exhausted")
 * instead of sent again.
 * PARLEY_RETRY backs off exponentially with jitter (or waits as long as the provider
 * asked, when that is later) until max_attempts, then the message is dead-lettered and
 * kept for `parley replay`; a permanent failure (PARLEY_ERROR, with the plugin's reason)
 * is dead-lettered at once. Every state change is written to the store, so a restart
 * hands undelivered messages over again with the same id (at least once). How each
 * message ended (delivered, or dead and why) is told to the core (`ended`), which notes it
 * in the conversation and tells the journey of a dead letter.
 *
 * Flow control: each channel's lane has a token bucket (rate, burst) on the core's clock
 * and a bound on the messages its plugin holds (max_in_flight); a claim takes its token
 * and its slot. A kick takes one message per lane in turn, so a throttled or stuck channel
 * never delays another, and hands over (or claims) at most OUTBOX_TURN_MAX messages per
 * loop turn (outbox_turn), so a backlog never stalls the loop: the rest goes next turn.
 * `parley test` (capture) has no flow control.
 *
 * Erasure (outbox_erase_contact) takes a contact's messages out at once: those of the open
 * batch are dropped with it, queued and claimed ones wait aside until the batch commits
 * (then they are freed) or is dropped (then they are queued again), and one a plugin
 * holds is forgotten when the plugin answers, never written back nor retried.
 *
 * The outbox is given everything it uses (struct outbox_env): the store, the clock, the
 * delivery policy, how to find the plugin serving a channel, and an optional capture sink
 * (`parley test`). It never applies events: a plugin's receipts are the core's business,
 * so nothing re-enters the outbox while it is delivering. */
#ifndef PARLEY_OUTBOX_H
#define PARLEY_OUTBOX_H
#include <stddef.h>
#include <stdint.h>
#include <parley/plugin.h>

#include "clock.h"
#include "log.h"
#include "outbox_lane.h"
#include "store/store.h"

struct plugin_inst;
struct plugin_result;

/* The longest wait a provider's retry-after may impose (one day): a bad value must not
 * park a message for years. */
#define OUTBOX_RETRY_AFTER_MAX_MS (24 * 3600 * 1000LL)
/* Messages handed over or claimed in one loop turn, all lanes together. */
#define OUTBOX_TURN_MAX 256
/* A queued message the store could not give back is tried again this much later. */
#define OUTBOX_REREAD_MS 60000

/* How a message's delivery ended, for the core (outbox_env's `ended`). */
struct outbox_end {
  int delivered;           /* 1: delivered; 0: dead-lettered */
  const char *provider_id; /* delivered: the provider's id, or NULL */
  const char *reason;      /* dead: "invalid_address", ..., "other", "retries_exhausted",
                              "no_plugin" */
};

/* Counters the core persists with its own (see struct core_stats). */
struct outbox_stats {
  uint64_t delivered, retried, dead;
};

struct outbox_policy {
  unsigned max_attempts; /* delivery attempts before a message is dead-lettered */
  int64_t retry_base_ms; /* first retry delay; doubles each attempt, with jitter */
  int64_t retry_max_ms;  /* the cap of that doubling */
};

struct outbox_env {
  struct store *store;
  const struct clock *clock;
  const struct log *log;
  struct outbox_policy policy;
  struct outbox_stats *stats;
  /* The plugin instance serving `channel`, or NULL when no plugin does. */
  struct plugin_inst *(*channel_plugin)(void *ud, const char *channel);
  void *ud;
  /* Optional (`parley test`): every message is handed here instead of to a plugin, and
   * counts as delivered. */
  void (*capture)(void *capture_ud, const struct parley_msg *m);
  void *capture_ud;
  /* Optional: a plugin delivered a message, or it was dead-lettered (never one of an
   * erased contact, nor a captured one), told after the store was written and before the
   * record is freed; `ud` is passed back. It must not re-enter the outbox. */
  void (*ended)(void *ud, const struct parley_msg *m, const struct outbox_end *end);
  /* The store keeps the outbox (LMDB): a queued message waits there, its parts out of
   * memory (outbox_slim.h). 0 with the memory store. */
  int slim_queue;
};

/* A plugin's answer that came from inside send(), kept until deliver() finishes with it. */
struct outbox_answer {
  enum parley_status status;
  enum parley_fail_reason reason;
  uint64_t retry_after_ms;
  char *detail, *provider_id; /* copies */
};

/* struct parley_msg's `erased`: its contact was erased while a plugin held it. */
enum { OUTBOX_ERASING = 1, /* in the open batch */
       OUTBOX_ERASED = 2 }; /* committed */

struct outbox {
  struct outbox_env env;
  struct parley_msg *fresh;    /* spoken in the open batch: not durable yet, newest first */
  struct parley_msg *claiming; /* claimed in the open batch: handed over once it commits */
  struct parley_msg *erasing;  /* taken from the lanes by an erasure in the open batch */
  struct outbox_lane **lanes;  /* one per channel, in the order they were first seen */
  size_t n_lanes;
  size_t n_queue;              /* queued in all lanes' heaps */
  struct parley_msg *sending;  /* handed to plugins, their send_done awaited */
  size_t n_sending;
  uint64_t next_seq;
  int kicking;                 /* outbox_kick is on the stack */
  size_t turn_left;            /* hand-overs and claims left in this loop turn */
  int turn_cut;                /* a kick stopped on that bound with work left */
  struct parley_msg *in_send;  /* the message inside a plugin's send() right now */
  int in_send_done;            /* the plugin completed it before send() returned, */
  struct outbox_answer in_send_answer; /* saying this */
};

void outbox_init(struct outbox *ob, const struct outbox_env *env);
/* A configured channel's limits (before outbox_restore). Returns -1 when out of memory. A
 * channel never configured gets a lane without limits when a message names it. */
int outbox_add_channel(struct outbox *ob, const char *channel, const struct outbox_flow *flow);
/* The lane of `channel`, or NULL. */
const struct outbox_lane *outbox_lane_of(const struct outbox *ob, const char *channel);
/* A new loop turn: OUTBOX_TURN_MAX more hand-overs may follow. */
void outbox_turn(struct outbox *ob);
/* Free every message (shutdown: plugins are closed, so no send_done can follow). */
void outbox_close(struct outbox *ob);

/* A message spoken in the open batch (takes ownership): written to the store, held until
 * the batch commits. One due later (m->due_ms ahead: quiet hours) is queued unclaimed, as a
 * retry waits, and claimed when it is due. Returns the store's answer (0, or -1 when the write failed: the
 * batch will not commit; see store.h). */
int outbox_enqueue(struct outbox *ob, struct parley_msg *m);
/* Does the open batch hold messages (spoken, or taken out by an erasure)? */
int outbox_has_fresh(const struct outbox *ob);
/* The open batch committed: its messages may now reach plugins, and its erasures are for
 * good. */
void outbox_promote_fresh(struct outbox *ob);
/* The open batch was dropped: so are its messages, and its erasures are undone. */
void outbox_drop_fresh(struct outbox *ob);
/* Takes every message for `contact` out (see the top of this file); the store's records
 * are the store's business (contact_erase). Returns how many. Never while delivering. */
size_t outbox_erase_contact(struct outbox *ob, const char *contact);
/* At start: every stored message not yet delivered goes back in its lane, to be claimed
 * again; one whose attempts are all begun is dead-lettered ("retries_exhausted"). */
void outbox_restore(struct outbox *ob);

/* Hand the messages that are due to their channels' plugins, earliest first in each lane,
 * as flow control and the turn's bound allow; one due again is claimed instead, and
 * handed over after the commit. Plugins may answer inside send(); a message retried in
 * this call waits for a later one. */
void outbox_kick(struct outbox *ob);
/* A plugin finished a PARLEY_PENDING send (struct plugin_env's send_done; `ob` is the
 * outbox). */
void outbox_send_done(void *ob, struct parley_msg *m, const struct plugin_result *r);

/* When the outbox can next hand something over: the earliest due message of a lane with a
 * free slot, or its next token when later; now when a turn was cut short. 1 and *due_ms,
 * or 0 when nothing waits on time (a full lane waits for a completion). */
int outbox_next_due(const struct outbox *ob, int64_t *due_ms);
/* Messages queued, claimed or in flight. */
size_t outbox_active(const struct outbox *ob);
/* The wait before retry number `attempt` (1: the first retry). */
int64_t outbox_backoff_ms(const struct outbox_policy *p, unsigned attempt);

#endif
