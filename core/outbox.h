/* The outbox: messages a journey spoke, on their way to channel plugins. A message is
 * created when a step's decision is applied, handed to the plugin serving its channel, and
 * retried with exponential backoff and jitter on PARLEY_RETRY until it dead-letters.
 * Every state change is written to the store's outbox, so a restart hands undelivered
 * messages over again with the same id (at least once). */
#ifndef PARLEY_OUTBOX_H
#define PARLEY_OUTBOX_H
#include <stdint.h>
#include <parley/plugin.h>

struct core;
struct plugin_inst;
typedef struct cJSON cJSON;

enum msg_state { MSG_QUEUED, MSG_SENDING, MSG_SENT, MSG_DEAD };

/* The core's side of the opaque parley_msg handle that plugins read through accessors. */
struct parley_msg {
  char id[40];           /* stable id, idempotency key for providers */
  char *channel;
  char *contact;
  char *address;         /* NULL when the contact has none for this channel */
  char *journey;
  char *template_name;
  char *subject, *text, *html; /* rendered parts, NULL when absent */
  char *profile_json;    /* the contact's profile as JSON text, taken at speak time */
  cJSON *profile;        /* parsed from profile_json when a plugin first asks for an attribute */
  char *attr_text;       /* scratch for msg_contact_attr of non-string attributes */
  uint64_t conv_id;
  unsigned attempt;      /* 1 on first delivery */
  enum msg_state state;
  int64_t due_ms;        /* when the next attempt may run */
  char *last_error;
  struct plugin_inst *inst;
  struct parley_msg *next;
};

void outbox_msg_free(struct parley_msg *m);
/* Queue a message for delivery (takes ownership). */
void outbox_enqueue(struct core *core, struct parley_msg *m);
/* The open batch committed: its messages may now reach plugins. */
void outbox_promote_fresh(struct core *core);
/* The open batch was dropped: so are its messages. */
void outbox_drop_fresh(struct core *core);
/* At start: every stored message not yet delivered goes back in the queue. */
void outbox_restore(struct core *core);
/* Hand every due queued message to its channel's plugin. */
void outbox_kick(struct core *core);
struct cfg;
/* The wait before retry number `attempt` (1: the first retry). */
int64_t outbox_backoff_ms(const struct cfg *cfg, unsigned attempt);
/* A plugin finished a PARLEY_PENDING send (plugin_env.send_done). */
void outbox_send_done(void *core, struct parley_msg *m, enum parley_status st, const char *detail);
/* When the earliest waiting retry is due: 1 and *due_ms, or 0 when none waits. */
int outbox_next_due(const struct core *core, int64_t *due_ms);
/* Free every message (shutdown; in-flight sends must have completed or been abandoned). */
void outbox_close(struct core *core);

#endif
