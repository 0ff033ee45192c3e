/* The Lua host: loads journeys into sandboxed Lua states (one lua_State per journey
 * version), runs one step of a conversation, and returns the step's decision as plain C
 * data. It owns the journey-facing API (c:speak, c:listen, c:finish, c.memory, c.contact,
 * c:now, c:can_speak, c:history, c:record_offer), the entry condition, templates, and the msgpack form of
 * conversation memory. It knows
 * nothing of storage, HTTP or plugins: the core applies the decision. */
#ifndef PARLEY_LHOST_H
#define PARLEY_LHOST_H
#include <stddef.h>
#include <stdint.h>

struct log;
typedef struct cJSON cJSON;
typedef struct lua_State lua_State;

struct lhost_limits {
  int64_t step_instructions; /* Lua VM instructions per step; 0: unlimited */
  int64_t step_ms;           /* wall time per step, monotonic; 0: unlimited */
  size_t memory_bytes;       /* allocation cap per Lua state; 0: unlimited */
  /* What one step may make outside the Lua state (0: unlimited): */
  size_t step_speaks;        /* c:speak calls */
  size_t message_bytes;      /* one message's rendered subject, text and HTML together */
  size_t conversation_memory_bytes; /* c.memory, encoded */
};

struct lhost_config {
  struct lhost_limits limits;
  const char *sdk_dir;      /* holds parley/journey.lua ("require 'parley.journey'") */
  const char *journeys_dir; /* journeys may also require modules from here */
  const cJSON *params;      /* config overrides: { journey_name = { param = value } } */
  const struct log *log;
  uint64_t random_salt;     /* mixed into every step's math.random seed (0: reproducible) */
  /* When set: a stored version to run rather than the file. A bundle
   * (lhost_journey_bundle) gives the journey, its modules and its templates, and nothing
   * is read from disk; bare journey text (what stores written before bundles hold) is run
   * as the journey, its modules and templates read from disk as for a file. `path` still
   * names it. */
  const char *source;
  size_t source_len;
};

struct journey; /* one loaded journey version */

/* A journey's own fatigue cap (caps = { { max = 1, per = "1d", channel = "sms" } }),
 * checked with the configuration's when this journey speaks. */
struct lhost_cap {
  const char *channel; /* NULL: every channel */
  int64_t max;
  int64_t per_ms;
};

/* What the journey table declares, read once at load. Owned by the journey. */
struct journey_info {
  const char *name;
  const char *path;
  const char *entry_event;  /* NULL: the journey is never entered automatically */
  int64_t reenter_after_ms; /* -1: a contact enters at most once */
  const char **goal_events; /* end the conversation, counted as a conversion */
  size_t n_goal;
  const char **exit_events; /* end the conversation, not counted */
  size_t n_exit;
  int migrate;              /* opts in to moving in-flight conversations on reload */
  struct lhost_cap *caps;   /* the journey's caps */
  size_t n_caps;
  const char *first_step;   /* "start" */
};

/* Load and check one journey file. Refuses (returns -1, err says file, line and what) a
 * syntax error, a file that does not return a journey, an entry without `start`, a step
 * that is not a function, a malformed duration. Modules of the journeys folder are loaded
 * only while the file loads (a step may not require one not loaded yet), so what the load
 * read is every file the version runs. Errors, here and from steps, name files relative to
 * their folder ("welcome.lua:12:", "lib/util.lua:3:", "parley/journey.lua:40:",
 * "welcome/welcome.html line 3:"), never by a path of the machine: they are stored on
 * conversations and shown by the API. */
int lhost_journey_load(const struct lhost_config *cfg, const char *path, struct journey **out,
                       char *err, size_t errlen);
void lhost_journey_free(struct journey *j);
/* Every file this version runs -- the journey, the modules it required from the journeys
 * folder, its templates; not the SDK's -- as one value, for the store to pin it and to tell
 * whether a reload changed anything. The same files always make the same bytes. */
const char *lhost_journey_bundle(const struct journey *j, size_t *len);
/* The journey file's text alone. */
const char *lhost_journey_source(const struct journey *j, size_t *len);
/* 1 when a stored value is a bundle, 0 when it is bare journey text (a store written
 * before bundles). */
int lhost_is_bundle(const char *bytes, size_t len);
const struct journey_info *lhost_journey_info(const struct journey *j);
int lhost_journey_has_step(const struct journey *j, const char *step);
size_t lhost_journey_memory_used(const struct journey *j);

/* The event that wakes a step; NULL in lhost_step_in when the deadline passed. */
struct lhost_event {
  const char *id;
  const char *type;
  int64_t time_ms;   /* 0: it happened at now_ms */
  const cJSON *data; /* object or NULL */
};

/* The entry condition: asks the journey's entry.when(contact, ev) whether this contact
 * enters on this event, before any conversation exists (so a "no" records nothing). It
 * runs in the journey's sandbox under the step budget, with `contact` a read-only view of
 * the profile (may be NULL) and `ev` the event as a step sees it. Returns 1 to enter (also
 * when the journey has no condition), 0 not to, or -1 with err (a script error with
 * file:line, a broken budget, an answer that is not true or false): do not enter. */
int lhost_entry_allows(struct journey *j, const char *contact_id, const cJSON *profile,
                       const struct lhost_event *ev, int64_t now_ms, char *err, size_t errlen);

struct lhost_speak;

/* The contact's history as the core keeps it (histline.h): the i-th line counting from the
 * newest (0), with the time it was written in *at_ms; NULL past the oldest. */
typedef const char *(*lhost_history_fn)(void *ud, size_t i, int64_t *at_ms);

struct lhost_step_in {
  uint64_t conv_id;
  const char *contact_id;
  const cJSON *profile; /* the contact's profile, read-only to the script; may be NULL */
  const char *step;     /* handler to run */
  const char *memory;   /* msgpack map; NULL/0: empty memory */
  size_t memory_len;
  const struct lhost_event *event; /* NULL: woken by the deadline */
  int64_t now_ms;
  /* The core's gate (channel configured, not unsubscribed, consent for the topic, address
   * known and not suppressed), asked by c:speak and c:can_speak; `topic` NULL: the
   * default. Returns 0 when allowed; a positive code (the core's, kept with the refusal)
   * with `reason` when refused; -1 with `reason` when the call is the journey's mistake
   * (an undeclared topic), which the step raises as its error. */
  int (*can_speak)(void *ud, const char *channel, const char *topic, char *reason, size_t reasonlen);
  /* Optional: the channel's word on a rendered message that passed the gate (its plugin's
   * check). Returns 0 with `info` a JSON object of what was measured (or ""), or a
   * positive code with `info` the reason it can never go. May set sp->msg_id. */
  int (*check)(void *ud, struct lhost_speak *sp, char *info, size_t infolen);
  /* Optional: the contact's history, read by c:history (NULL: an empty history). */
  lhost_history_fn history;
  /* Optional: c:experiment_record -- the core keeps `arm` of `experiment` (holdout: the
   * group that gets nothing) with this conversation. Writes the arm it keeps into `out`
   * (the one recorded before, or one a test forced, may win) and returns 0, or -1 with
   * `out` the reason, raised as the step's error. */
  int (*arm)(void *ud, const char *experiment, const char *arm, int holdout, char *out, size_t outlen);
  void *ud;
};

struct lhost_speak {
  char *channel;
  char *template_name;
  char *subject, *text, *html; /* rendered parts; NULL when the template lacks one */
  char *options; /* c:speak's options as a JSON object of text values; NULL: none */
  char *topic;   /* options.topic, read once here; NULL: the default */
  char *info;    /* what the channel's check measured, a JSON object; NULL: nothing */
  char msg_id[40]; /* the id the core gave the message at check time; "" when none yet */
};

struct lhost_refusal {
  char *channel;
  char *template_name;
  char *reason;
  int code; /* the gate's or the check's (lhost_step_in) */
};

/* An offer the step recorded as made to the contact (c:record_offer): the core writes it
 * in the contact's history, where per-offer caps count it. */
struct lhost_offered {
  char *offer;
  char *channel, *template_name; /* NULL when not given */
};

enum lhost_next { LHOST_LISTEN = 1, LHOST_FINISH = 2 };

struct lhost_decision {
  enum lhost_next next;
  char **events;     /* LISTEN: event types that wake the conversation */
  size_t n_events;
  int64_t timeout_ms; /* LISTEN: -1 means no deadline */
  char *next_step;   /* LISTEN: handler to run on wake */
  char *memory;      /* new memory, msgpack */
  size_t memory_len;
  struct lhost_speak *speaks; /* in the order spoken */
  size_t n_speaks;
  struct lhost_refusal *refused; /* speaks the gate refused */
  size_t n_refused;
  struct lhost_offered *offered; /* c:record_offer, in order */
  size_t n_offered;
};

/* Run one step. Returns 0 with the decision, or -1 with err explaining (script error with
 * file:line, exceeded instruction budget or time, memory cap, a value memory cannot keep,
 * a step that returned no decision). On -1 nothing of the step is kept: the caller parks
 * the conversation as failed with err. The Lua state stays usable for other conversations. */
int lhost_run_step(struct journey *j, const struct lhost_step_in *in, struct lhost_decision *out,
                   char *err, size_t errlen);
void lhost_decision_free(struct lhost_decision *d);

/* Answers a history query as c:history does (the query table at query_idx, see
 * lhost_history.c), over the lines `at` gives, newest first: pushes the list of entries
 * onto L, any Lua state (`parley test` asks it with t:history). A bad query raises a Lua
 * error that starts with `method` ("t:history"). */
void lhost_history_push(lua_State *L, int query_idx, lhost_history_fn at, void *ud, int64_t now_ms,
                        const char *method);

/* A channel a journey names as a string literal: c:speak("email", ...), c:can_speak('sms'). */
struct lhost_channel_use {
  char *channel;
  int line; /* in the journey file */
};

/* A static look at the journey's source, for `parley check`: every channel named as a
 * literal first argument of a :speak( or :can_speak( call, in the order they appear,
 * comments and other strings skipped. A channel held in a variable, or spoken by a module
 * the journey requires, is not seen. Returns 0 with *out (free it with
 * lhost_channel_uses_free; NULL when *n is 0), or -1 when out of memory. */
int lhost_journey_channels(const struct journey *j, struct lhost_channel_use **out, size_t *n);
void lhost_channel_uses_free(struct lhost_channel_use *uses, size_t n);

/* Conversation memory as JSON, for inspection (parley inspect, GET /v1/contacts/ID).
 * Returns a new cJSON (an empty object for empty memory) or NULL when malformed. */
cJSON *lhost_memory_to_json(const char *memory, size_t len);
/* The same as Lua values, exactly as a step sees c.memory (integer keys, floats and byte
 * strings kept), pushed onto L, any Lua state (`parley test` gives it to a test). Returns 0
 * with one table pushed, or -1 with nothing pushed and err saying why (malformed memory,
 * out of memory). */
int lhost_memory_to_lua(lua_State *L, const char *memory, size_t len, char *err, size_t errlen);

#endif
