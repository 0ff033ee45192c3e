/* The store interface: contacts, conversations, the event-id dedupe window and the
 * deadline index. Kept narrow so that a backend is one file: store_mem.c (in memory) now,
 * LMDB next, a distributed engine later.
 *
 * Records returned by a backend are owned by it and stay valid until the store is closed;
 * the caller changes them in place and calls *_put so a durable backend knows what to write
 * at the next commit. Lists hold conversation ids, not pointers, so a backend may evict. */
#ifndef PARLEY_STORE_H
#define PARLEY_STORE_H
#include <stddef.h>
#include <stdint.h>

typedef struct cJSON cJSON;

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

struct contact {
  char *id;
  cJSON *profile; /* object */
  int64_t created_ms;
  uint64_t *convs; /* every conversation of this contact, oldest first */
  size_t n_convs, cap_convs;
  struct history history;
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
};

struct store;
struct store_ops {
  struct contact *(*contact_get)(struct store *s, const char *id);
  struct contact *(*contact_create)(struct store *s, const char *id, int64_t now_ms);
  int (*contact_put)(struct store *s, struct contact *c);
  /* 1 when the id was seen within the window; else remembers it and returns 0. */
  int (*event_seen)(struct store *s, const char *event_id);
  struct conv *(*conv_create)(struct store *s, struct contact *c, const char *journey,
                              uint32_t version, int64_t now_ms);
  struct conv *(*conv_get)(struct store *s, uint64_t id);
  int (*conv_put)(struct store *s, struct conv *cv); /* also (re)indexes its deadline */
  /* The earliest deadline of a listening conversation: 1 and its values, 0 if none. */
  int (*deadline_next)(struct store *s, int64_t *due_ms, uint64_t *conv_id);
  void (*close)(struct store *s);
};

struct store {
  const struct store_ops *ops;
};

struct store *store_mem_open(size_t dedupe_window);

const char *conv_status_name(enum conv_status st);
void history_add(struct history *h, size_t limit, int64_t at_ms, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void history_free(struct history *h);
/* i-th entry, oldest first. */
const struct hist_entry *history_at(const struct history *h, size_t i);
void conv_record_free(struct conv *cv);
void contact_record_free(struct contact *c);

#endif
