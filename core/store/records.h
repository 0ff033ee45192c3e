/* The records every store backend keeps: contacts, conversations, outbox messages, and
 * their bounded histories, with constructors and destructors (records.c). Plain data: a
 * record knows nothing of where it is stored. */
#ifndef PARLEY_RECORDS_H
#define PARLEY_RECORDS_H
#include <stddef.h>
#include <stdint.h>

typedef struct cJSON cJSON;
struct plugin_inst;

enum conv_status { CONV_LISTENING, CONV_DECIDING, CONV_SPEAKING, CONV_DONE, CONV_FAILED };

/* A bounded history: the oldest entries fall off past `limit` (unbounded logs are how
 * peers of ours grind to a halt at a million contacts). */
struct hist_entry {
  int64_t at_ms;
  char *what;
};
struct history {
  struct hist_entry *items; /* ring buffer */
  size_t start, n, cap;
};

struct journey_start {
  char *journey;
  int64_t at_ms;
};

/* A message spoken to the contact: it counts against the fatigue caps (gate.h) unless its
 * topic is exempt, and a goal reached within the attribution window is credited to it
 * (attrib.h); an outcome event naming its id (data.message_id) is counted for its journey. */
struct touch {
  int64_t at_ms;
  char *channel;
  char *journey;       /* NULL in records written before attribution */
  char *template_name; /* NULL as well */
  char msg_id[40];     /* "" as well */
  int capped;          /* counts against the caps */
};

struct contact {
  char *id;
  cJSON *profile; /* object */
  int64_t created_ms;
  uint64_t *convs; /* every conversation of this contact, oldest first (for inspection) */
  size_t n_convs, cap_convs;
  /* The conversations not ended yet, and the last start per journey (the re-entry rule):
   * an event reads only these, never a contact's whole past. */
  uint64_t *active;
  size_t n_active, cap_active;
  struct journey_start *starts;
  size_t n_starts;
  struct history history;
  /* Counted messages within the longest cap window, oldest first: caps are counted from
   * the contact's own record, so a restart never resets them. */
  struct touch *touches;
  size_t n_touches;
};

/* An experiment's arm this conversation was assigned (arms.h): kept with it, so the
 * conversation's conversion is counted for that arm. */
struct conv_arm {
  char *experiment;
  char *arm;
  int holdout;
};

struct conv {
  uint64_t id;
  char *contact;
  char *journey;
  uint32_t journey_version;
  char *step;         /* handler to run when woken */
  char *memory;       /* msgpack map */
  size_t memory_len;
  char **listening_for;
  size_t n_listen;
  int64_t deadline_ms; /* 0: none */
  enum conv_status status;
  char *outcome;       /* when done: "goal:<event>", "exit:<event>", "finished" */
  char *error;         /* when failed */
  int64_t started_ms, updated_ms;
  struct history history;
  struct conv_arm *arms; /* assigned in its steps, first first */
  size_t n_arms;
};

enum msg_state { MSG_QUEUED, MSG_SENDING, MSG_SENT, MSG_DEAD };

/* An outbox message: what a journey spoke, on its way to a channel plugin. It is the
 * core's side of the opaque parley_msg handle that plugins read through accessors
 * (plugin/plugin_host.c); the outbox (outbox.c) moves it from state to state. */
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
  char *options_json;    /* the journey's options (c:speak's fifth argument), a JSON object
                            of text values; NULL when none. Kept in memory when slim (small) */
  cJSON *options;        /* parsed from options_json when a plugin first asks (msg_option) */
  uint64_t conv_id;
  unsigned attempt;      /* attempts begun: written before each hand-over (outbox.h) */
  int claimed;           /* the outbox's: `attempt` is stored and not handed over yet */
  int slim;              /* the outbox's: queued, its parts and profile in the store only
                            (outbox_slim.h) */
  int64_t created_ms;    /* when it was spoken */
  enum msg_state state;
  int64_t due_ms;        /* when the next attempt may run */
  char *last_error;
  struct plugin_inst *inst; /* the instance a pending send was handed to */
  uint64_t seq;          /* the outbox's arrival order: equal due times go first-come */
  int erased;            /* the outbox's: its contact was erased while a plugin held it
                            (outbox.h: OUTBOX_ERASING in the open batch, OUTBOX_ERASED once committed) */
  struct parley_msg *next, *prev; /* the outbox's lists: the open batch, and sends in flight */
};

const char *conv_status_name(enum conv_status st);
void history_add(struct history *h, size_t limit, int64_t at_ms, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void history_free(struct history *h);
/* i-th entry, oldest first. */
const struct hist_entry *history_at(const struct history *h, size_t i);
/* Retention: drops every entry written before `before_ms`, keeping the others in order.
 * Returns how many were dropped. */
size_t history_forget_before(struct history *h, int64_t before_ms);
/* A new conversation record for contact `c`: its id goes in the contact's lists and the
 * journey's last start is now. */
struct conv *conv_record_new(struct contact *c, uint64_t id, const char *journey, uint32_t version,
                             int64_t now_ms);
void conv_record_free(struct conv *cv);
/* Conversation `id` of contact `c` ended: it leaves the active list. */
void contact_conv_ended(struct contact *c, uint64_t id);
/* Conversation `id` of contact `c` is deleted (retention): it leaves both lists. The last
 * start per journey stays, so the re-entry rule still holds. */
void contact_conv_forget(struct contact *c, uint64_t id);
/* When `c` last entered `journey`: 1 and *at_ms, or 0 never. */
int contact_last_start(const struct contact *c, const char *journey, int64_t *at_ms);
/* Appends an id to a growable array; -1 when out of memory. */
int ids_push(uint64_t **ids, size_t *n, size_t *cap, uint64_t id);
/* Frees what a touch holds (not the touch). */
void touch_clear(struct touch *t);
void contact_record_free(struct contact *c);

void msg_record_free(struct parley_msg *m);

#endif
